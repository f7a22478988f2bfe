"""Sign-in sessions: one row per signed-in browser, so any of them can be ended for good."""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, or_, select, update

from models import SignInSession, User, db, utcnow, write_transaction
from program.accounts.passwords import rehash_if_needed
from program.core import audit
from program.core.audit import AuditAction
from program.core.tokens import token_hash

#: how stale a sign-in session's last-seen time may get before it is written again
LAST_SEEN_WRITE = timedelta(minutes=5)
#: longer than any token ``start_session`` makes; anything longer is not looked up
_MAX_TOKEN = 100


def load_user(token: str) -> User | None:
    """This browser's user, in one query joining its sign-in session and the account.

    Nobody when the session was ended (signed out in this browser), the account's session
    version moved on (signed out everywhere, password changed) or the account is disabled.
    The session's last-seen time is written at most every ``LAST_SEEN_WRITE``.
    """
    if not token or len(token) > _MAX_TOKEN:
        return None
    digest = token_hash(token)
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
    db.session.add(SignInSession(token_hash=token_hash(token), user_id=user.id,
                                 session_version=user.session_version or 1,
                                 created_at=now, last_seen_at=now))
    user.sign_in_token = token
    return token


def end_session(token: str | None) -> None:
    """End one browser's sign-in session for good (inside a write transaction)."""
    if token:
        db.session.execute(update(SignInSession)
                           .where(SignInSession.token_hash == token_hash(token),
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


def record_sign_in(user: User, password: str | None, **details) -> str:
    """Record a successful sign-in and open this browser's session; returns its token.

    ``password`` (when the sign-in ends with it) upgrades an outdated hash; ``details`` go to
    the audit entry (the second factor used)."""
    with write_transaction():
        row = db.session.get(User, user.id)
        row.last_sign_in_at = utcnow()
        if password is not None:
            rehash_if_needed(row, password)
        token = start_session(row)
        audit.record(AuditAction.SIGN_IN, row, actor=row, **details)
    user.sign_in_token = token
    return token


def end_all_sessions(user: User, reason: str) -> None:
    """Sign the user out everywhere (must run inside a write transaction)."""
    user.session_version = (user.session_version or 0) + 1
    db.session.execute(update(SignInSession)
                       .where(SignInSession.user_id == user.id, SignInSession.ended_at.is_(None))
                       .values(ended_at=utcnow()))
    audit.record(AuditAction.SESSIONS_ENDED, user, reason=reason)


def set_active(user: User, active: bool) -> None:
    """Disable or enable an account; disabling ends its sessions at once."""
    with write_transaction():
        user = db.session.get(User, user.id, with_for_update=True, populate_existing=True)
        if user.active == active:
            return  # already so (a repeated click)
        user.active = active
        if not active:
            end_all_sessions(user, "account_disabled")
        audit.record(AuditAction.ACCOUNT_ENABLED if active else AuditAction.ACCOUNT_DISABLED, user)
