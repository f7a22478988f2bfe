"""The contact log: researchers' and research assistants' calls, emails and messages with a
participant, each with its outcome and the next step."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_pgettext
from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models._types import Vocabulary, one_of
from models.base import UTCDateTime, db, utcnow


class ContactKind(Vocabulary):
    """How the study team was in touch with a participant."""

    CALL = "call", lazy_pgettext("contact kind", "call")
    EMAIL = "email", lazy_pgettext("contact kind", "email")
    MESSAGE = "message", lazy_pgettext("contact kind", "message")
    OTHER = "other", lazy_pgettext("contact kind", "other")


class ContactLogEntry(db.Model):
    """One contact with a participant, as the staff member who made it recorded it."""

    __tablename__ = "contact_log_entries"
    __table_args__ = (
        one_of("kind", ContactKind),
        Index("ix_contact_log_participant_when", "participant_id", "contacted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))
    contacted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(200))
    next_step: Mapped[str | None] = mapped_column(String(200))
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    by = relationship("User")
