"""Changing a password: signed in, or through an emailed reset link.

A reset request does the same work whether or not an account uses the address: one outbox row
(with no recipient when there is no active account, so the dispatcher cancels it) and one audit
entry, and nothing is sent while the request waits. The link itself is made when the
dispatcher sends the message (:func:`issue_reset_link`), so the outbox never holds a live
token. Using any link, or changing the password, spends every outstanding link.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select, update

from models import PasswordResetToken, User, db, utcnow, write_transaction
from program.accounts.passwords import find_user, hash_password, password_matches
from program.accounts.sessions import end_all_sessions, start_session
from program.core import audit
from program.core.audit import AuditAction
from program.core.tokens import token_hash
from program.messaging import emails
from program.messaging.outbox import enqueue

#: stands for the reset link in a queued message; the dispatcher puts a fresh link in its place
RESET_LINK_PLACEHOLDER = "hearth-link:password-reset"


def change_password(user: User, new_password: str, *, current: str | None = None) -> str | None:
    """Set a new password and end every session; returns the token of a new session for the
    browser that changed it. With ``current``, None when that is not the password now: it is
    checked again under a lock of the account's row, so of two clicks at once one changes it."""
    with write_transaction():
        row = db.session.scalar(select(User).where(User.id == user.id).with_for_update()
                                .execution_options(populate_existing=True))
        if current is not None and not password_matches(row, current):
            return None
        row.password_hash = hash_password(new_password)
        spend_reset_links(row.id)
        end_all_sessions(row, "password_changed")
        token = start_session(row)
    user.sign_in_token = token
    return token


def spend_reset_links(user_id: int) -> int:
    """Mark every unused reset link of the account used; returns how many were outstanding."""
    return db.session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.user_id == user_id, PasswordResetToken.used_at.is_(None))
        .values(used_at=utcnow())).rowcount


def request_password_reset(email: str) -> None:
    """Queue a reset email for the account that uses ``email``, if any.

    Both answers do the same work (find, render, one outbox row, one audit entry), so neither
    the time taken nor anything else tells whether the address has an account here.
    """
    user = find_user(email)
    account = user if user is not None and user.active else None
    message = emails.render("password_reset", account,
                            hours=current_app.config["PASSWORD_RESET_HOURS"],
                            link=RESET_LINK_PLACEHOLDER)
    with write_transaction():
        enqueue(f"password-reset:{secrets.token_hex(16)}", account.id if account else None,
                "password_reset", message.subject, message.text, body_html=message.html)
        audit.record(AuditAction.RESET_REQUESTED, account, actor=account)


def issue_reset_link(user: User) -> str:
    """A new single-use reset link for ``user`` (made when its email is sent)."""
    token = secrets.token_urlsafe(32)
    hours = current_app.config["PASSWORD_RESET_HOURS"]
    with write_transaction():
        db.session.add(PasswordResetToken(user_id=user.id, token_hash=token_hash(token),
                                          expires_at=utcnow() + timedelta(hours=hours)))
    return f"{emails.base_url()}/auth/reset/{token}"


def valid_reset_token(token: str) -> PasswordResetToken | None:
    row = db.session.scalar(
        select(PasswordResetToken).where(PasswordResetToken.token_hash == token_hash(token))
    )
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        return None
    return row


def spent_reset_token(token: str) -> bool:
    """The account's newest link, used: the form of the link just used, sent again (an older
    link spent by a newer one is simply no longer valid)."""
    row = db.session.scalar(select(PasswordResetToken).where(
        PasswordResetToken.token_hash == token_hash(token),
        PasswordResetToken.used_at.is_not(None)))
    return row is not None and row.id == db.session.scalar(
        select(func.max(PasswordResetToken.id)).where(PasswordResetToken.user_id == row.user_id))


def complete_password_reset(token: str, new_password: str) -> User | None:
    """Set the new password once; the token is spent and every session ends."""
    with write_transaction():
        row = valid_reset_token(token)
        if row is None:
            return None
        claimed = db.session.execute(  # this link, once: a second click finds it spent
            update(PasswordResetToken)
            .where(PasswordResetToken.id == row.id, PasswordResetToken.used_at.is_(None))
            .values(used_at=utcnow())).rowcount
        if claimed != 1:
            return None
        spend_reset_links(row.user_id)  # every other outstanding link
        user = db.session.get(User, row.user_id)
        user.password_hash = hash_password(new_password)
        end_all_sessions(user, "password_reset")
        audit.record(AuditAction.PASSWORD_RESET, user, actor=user)
    return user


