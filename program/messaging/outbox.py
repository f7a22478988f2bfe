"""Putting messages in the outbox: one row per recipient and event, never twice.

Claiming and sending rows is ``program.messaging.sending`` (the dispatcher in ``jobs``); this
module only inserts.
Call it inside the write transaction of the change that causes the message, so the message
exists exactly when the change does.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from models import OutboxMessage, User, db, utcnow
from program.messaging import emails


def enqueue(
    dedup_key: str,
    recipient_id: int | None,
    kind: str,
    subject: str,
    body_text: str,
    due_at: datetime | None = None,
    body_html: str | None = None,
    recipient_email: str | None = None,
    channel: str = "email",
) -> bool:
    """Insert a message unless one with ``dedup_key`` exists; True when it was inserted.

    ``dedup_key`` names the recipient and the event, e.g. ``reminder:{user}:{meeting}:24h``.
    """
    values = {
        "dedup_key": dedup_key,
        "recipient_id": recipient_id,
        "recipient_email": recipient_email,
        "kind": kind,
        "channel": channel,
        "subject": subject[:200],
        "body_text": body_text,
        "body_html": body_html,
        "status": "pending",
        "due_at": due_at or utcnow(),
        "attempts": 0,
        "created_at": utcnow(),
    }
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(OutboxMessage)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["dedup_key"])
        .returning(OutboxMessage.id)
    )
    # rowcount is not reliable through the ORM on every driver; RETURNING says what happened.
    return db.session.execute(statement).scalar() is not None


def enqueue_email(user: User, dedup_key: str, kind: str, template: str, *,
                  due_at: datetime | None = None, **context) -> bool:
    """Queue email ``template`` (``templates/email/<template>.txt``) to ``user``, written in
    their language (see :mod:`program.messaging.emails`).

    Kinds people route themselves (``NoticeKind``) go by email, push, both or neither, as they
    chose; True when the email was queued.
    """
    from program.messaging import notices

    wanted = notices.channels(user, kind)
    if "push" in wanted:
        notices.queue_push(user, dedup_key, kind, template, due_at=due_at, **context)
    if "email" not in wanted:
        return False
    email = emails.render(template, user, **context)
    return enqueue(dedup_key, user.id, kind, email.subject, email.text, due_at=due_at,
                   body_html=email.html)


def enqueue_email_to(address: str, locale: str, dedup_key: str, kind: str, template: str,
                     **context) -> bool:
    """Queue email ``template`` to an address that has no account yet (an invitation), in
    ``locale``."""
    email = emails.render(template, None, locale=locale, **context)
    return enqueue(dedup_key, None, kind, email.subject, email.text, body_html=email.html,
                   recipient_email=address)


def enqueue_notice(key_prefix: str, user_ids, kind: str, template: str, **context) -> None:
    """Queue email ``template`` to each user (dedup key ``{key_prefix}:{user id}``), each in
    that user's language."""
    ids = sorted(set(user_ids))
    if not ids:
        return
    for user in db.session.scalars(select(User).where(User.id.in_(ids)).order_by(User.id)):
        enqueue_email(user, f"{key_prefix}:{user.id}", kind, template, **context)
