"""Account operations: passwords, sign-in checks, reset tokens, sign-in sessions."""

from __future__ import annotations

import hashlib
import os
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy import delete, or_, select, update

from models import PasswordResetToken, SignInSession, User, db, utcnow, write_transaction
from views import audit
from views.extensions import login_manager

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


#: how stale a sign-in session's last-seen time may get before it is written again
LAST_SEEN_WRITE = timedelta(minutes=5)
#: longer than any token ``start_session`` makes; anything longer is not looked up
_MAX_TOKEN = 100


@login_manager.user_loader
def load_user(token: str) -> User | None:
    """This browser's user, in one query joining its sign-in session and the account.

    Nobody when the session was ended (signed out in this browser), the account's session
    version moved on (signed out everywhere, password changed) or the account is disabled.
    The session's last-seen time is written at most every ``LAST_SEEN_WRITE``.
    """
    if not token or len(token) > _MAX_TOKEN:
        return None
    digest = _token_hash(token)
    found = db.session.execute(
        select(User, SignInSession.last_seen_at)
        .join(SignInSession, SignInSession.user_id == User.id)
        .where(SignInSession.token_hash == digest, SignInSession.ended_at.is_(None),
               SignInSession.session_version == User.session_version, User.active.is_(True))
    ).first()
    if found is None:
        return None
    user, last_seen = found
    user.sign_in_token = token
    now = utcnow()
    if now - last_seen >= LAST_SEEN_WRITE:
        with write_transaction():
            db.session.execute(update(SignInSession).where(SignInSession.token_hash == digest)
                               .values(last_seen_at=now))
    return user


def start_session(user: User) -> str:
    """Open a sign-in session for this browser (inside a write transaction).

    Returns the token for the cookie (also set as ``user.sign_in_token``, which Flask-Login's
    ``login_user`` stores); the table keeps only its hash.
    """
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db.session.add(SignInSession(token_hash=_token_hash(token), user_id=user.id,
                                 session_version=user.session_version or 1,
                                 created_at=now, last_seen_at=now))
    user.sign_in_token = token
    return token


def end_session(token: str | None) -> None:
    """End one browser's sign-in session for good (inside a write transaction)."""
    if token:
        db.session.execute(update(SignInSession)
                           .where(SignInSession.token_hash == _token_hash(token),
                                  SignInSession.ended_at.is_(None))
                           .values(ended_at=utcnow()))


def purge_sign_in_sessions(now=None) -> int:
    """Delete sign-in sessions that can no longer sign anyone in: ended a week ago, or opened
    longer ago than the absolute session limit plus a week. Run by the scheduler's tick."""
    now = now or utcnow()
    week = timedelta(days=7)
    oldest = now - timedelta(hours=current_app.config["SESSION_ABSOLUTE_HOURS"]) - week
    with write_transaction():
        return db.session.execute(
            delete(SignInSession).where(or_(SignInSession.ended_at < now - week,
                                            SignInSession.created_at < oldest))
            .execution_options(synchronize_session=False)).rowcount


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


def record_sign_in(user: User, password: str | None, **details) -> str:
    """Record a successful sign-in and open this browser's session; returns its token.

    ``password`` (when the sign-in ends with it) upgrades an outdated hash; ``details`` go to
    the audit entry (the second factor used)."""
    with write_transaction():
        row = db.session.get(User, user.id)
        row.last_sign_in_at = utcnow()
        if password is not None:
            _rehash_if_needed(row, password)
        token = start_session(row)
        audit.record("auth.sign_in", row, actor=row, **details)
    user.sign_in_token = token
    return token


def _rehash_if_needed(row: User, password: str) -> None:
    if _hasher.check_needs_rehash(row.password_hash):
        row.password_hash = hash_password(password)


def record_password_step(user: User, password: str) -> None:
    """The password was right and a second factor comes next: upgrade an outdated hash now,
    while the password is at hand (nobody is signed in yet)."""
    if _hasher.check_needs_rehash(user.password_hash):
        with write_transaction():
            _rehash_if_needed(db.session.get(User, user.id), password)


def end_all_sessions(user: User, reason: str) -> None:
    """Sign the user out everywhere (must run inside a write transaction)."""
    user.session_version = (user.session_version or 0) + 1
    db.session.execute(update(SignInSession)
                       .where(SignInSession.user_id == user.id, SignInSession.ended_at.is_(None))
                       .values(ended_at=utcnow()))
    audit.record("auth.sessions_ended", user, reason=reason)


def change_password(user: User, new_password: str) -> str:
    """Set a new password and end every session; returns the token of a new session for the
    browser that changed it."""
    with write_transaction():
        row = db.session.get(User, user.id)
        row.password_hash = hash_password(new_password)
        end_all_sessions(row, "password_changed")
        token = start_session(row)
    user.sign_in_token = token
    return token


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_password_reset(email: str) -> str | None:
    """Create a reset token for the account, if there is one; returns the token to email."""
    user = find_user(email)
    if user is None or not user.active:
        return None
    token = secrets.token_urlsafe(32)
    hours = current_app.config["PASSWORD_RESET_HOURS"]
    with write_transaction():
        db.session.add(
            PasswordResetToken(
                user_id=user.id,
                token_hash=_token_hash(token),
                expires_at=utcnow() + timedelta(hours=hours),
            )
        )
        audit.record("auth.reset_requested", user, actor=user)
    return token


def valid_reset_token(token: str) -> PasswordResetToken | None:
    row = db.session.scalar(
        select(PasswordResetToken).where(PasswordResetToken.token_hash == _token_hash(token))
    )
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        return None
    return row


def complete_password_reset(token: str, new_password: str) -> User | None:
    """Set the new password once; the token is spent and every session ends."""
    with write_transaction():
        row = valid_reset_token(token)
        if row is None:
            return None
        row.used_at = utcnow()
        user = db.session.get(User, row.user_id)
        user.password_hash = hash_password(new_password)
        end_all_sessions(user, "password_reset")
        audit.record("auth.password_reset", user, actor=user)
    return user


def set_active(user: User, active: bool) -> None:
    """Disable or enable an account; disabling ends its sessions at once."""
    with write_transaction():
        user = db.session.get(User, user.id)
        user.active = active
        if not active:
            end_all_sessions(user, "account_disabled")
        audit.record("admin.account_enabled" if active else "admin.account_disabled", user)
