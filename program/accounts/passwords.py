"""Passwords: argon2id hashing, checking a sign-in's password, creating accounts."""

from __future__ import annotations

import os

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select

from models import User, db, write_transaction

# argon2id with OWASP's recommended parameters (19 MiB, 2 passes, 1 lane): the library's
# default (64 MiB, 3 passes, 4 lanes) cost 0.65 s of a 2-core server per sign-in and made the
# 500 sign-ins after a release notice the bottleneck. Older hashes still verify (the
# parameters are stored in each hash). The test suite opts into cheap ones.
_hasher = (
    PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    if os.environ.get("HEARTH_FAST_PASSWORD_HASHES") == "1"
    else PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
)
# A real hash to verify against when the account does not exist, so timing does not tell.
_DUMMY_HASH = _hasher.hash("not-a-real-password")

MIN_PASSWORD_LENGTH = 8


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(user: User | None, password: str) -> bool:
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False
    return user is not None


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email.strip().lower()))


def create_user(email: str, display_name: str, role: str, password: str, **fields) -> User:
    user = User(
        email=email.strip().lower(),
        display_name=display_name,
        role=role,
        password_hash=hash_password(password),
        **fields,
    )
    db.session.add(user)
    return user


def rehash_if_needed(row: User, password: str) -> None:
    if _hasher.check_needs_rehash(row.password_hash):
        row.password_hash = hash_password(password)


def record_password_step(user: User, password: str) -> None:
    """The password was right and a second factor comes next: upgrade an outdated hash now,
    while the password is at hand (nobody is signed in yet)."""
    if _hasher.check_needs_rehash(user.password_hash):
        with write_transaction():
            rehash_if_needed(db.session.get(User, user.id), password)


