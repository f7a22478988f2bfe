"""The notifications outbox: every message is a row with a unique dedup key."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models._types import Vocabulary, one_of
from models.base import UTCDateTime, db, utcnow


class OutboxStatus(Vocabulary):
    """Where a message is on its way out."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    CANCELLED = "cancelled"
    FAILED = "failed"



class OutboxMessage(db.Model):
    """A message to one recipient about one event.

    ``dedup_key`` (e.g. ``reminder:{participant}:{meeting}:{kind}``) is UNIQUE, so a restarted
    or second scheduler inserting the same message again is a no-op; the dispatcher claims rows
    with a lease, sends, and marks them sent.
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
