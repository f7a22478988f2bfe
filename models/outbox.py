"""The notifications outbox: every message is a row with a unique dedup key."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_pgettext
from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models._types import Vocabulary, one_of
from models.base import UTCDateTime, db, utcnow


class OutboxStatus(Vocabulary):
    """Where a message is on its way out."""

    PENDING = "pending", lazy_pgettext("outbox status", "waiting")
    SENDING = "sending", lazy_pgettext("outbox status", "being sent")
    SENT = "sent", lazy_pgettext("outbox status", "sent")
    CANCELLED = "cancelled", lazy_pgettext("outbox status", "cancelled")
    FAILED = "failed", lazy_pgettext("outbox status", "failed")



class OutboxMessage(db.Model):
    """A message to one recipient about one event.

    ``dedup_key`` (e.g. ``reminder:{participant}:{meeting}:{kind}``) is UNIQUE, so a restarted
    or second scheduler inserting the same message again is a no-op; the dispatcher claims rows
    with a lease (status ``sending``), marks each one just before talking to the mail server
    (``attempt_started_at`` and its ``message_id``, committed), sends, and marks it sent. See
    :mod:`program.messaging.sending` for what happens after a crash.
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (
        one_of("status", OutboxStatus),
        Index("ix_outbox_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)
    recipient_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    #: the address of a recipient who has no account yet (an invitation); None otherwise
    recipient_email: Mapped[str | None] = mapped_column(String(254))
    kind: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(10), default="email")
    subject: Mapped[str] = mapped_column(String(200))
    body_text: Mapped[str] = mapped_column(Text)
    #: the same message laid out as HTML (messages queued before it existed have none)
    body_html: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: the Message-ID header, made once before the first attempt and used on every attempt
    message_id: Mapped[str | None] = mapped_column(String(200), unique=True, index=True)
    #: set (and committed) just before the mail server is contacted; cleared when that attempt
    #: ends. Still set after a crash: the server may have accepted the message.
    attempt_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: times a crashed attempt left it unknown whether the server had the message (each was
    #: followed by sending again with the same Message-ID)
    resent_in_doubt: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
