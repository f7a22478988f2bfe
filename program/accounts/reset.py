"""Changing a password: signed in, or through an emailed reset link."""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from models import PasswordResetToken, User, db, utcnow, write_transaction
from program.accounts.passwords import find_user, hash_password
from program.accounts.sessions import end_all_sessions, start_session
from program.core import audit
from program.core.audit import AuditAction
from program.core.tokens import token_hash


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
                token_hash=token_hash(token),
                expires_at=utcnow() + timedelta(hours=hours),
            )
        )
        audit.record(AuditAction.RESET_REQUESTED, user, actor=user)
    return token


def valid_reset_token(token: str) -> PasswordResetToken | None:
    row = db.session.scalar(
        select(PasswordResetToken).where(PasswordResetToken.token_hash == token_hash(token))
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
        audit.record(AuditAction.PASSWORD_RESET, user, actor=user)
    return user


