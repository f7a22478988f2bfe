"""Homework practice logs and per-session progress of a participant."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import UTCDateTime, db, utcnow


class PracticeLog(db.Model):
    __tablename__ = "practice_logs"
    __table_args__ = (
        CheckConstraint("minutes >= 1 AND minutes <= 600", name="minutes_range"),
        CheckConstraint("helpfulness >= 0 AND helpfulness <= 10", name="helpfulness_range"),
        #: the form's one-time token: a double-submitted form creates one entry
        UniqueConstraint("participant_id", "submission_token"),
        Index("ix_practice_logs_participant_date", "participant_id", "practised_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"))
    practice_key: Mapped[str] = mapped_column(String(80))
    practised_on: Mapped[date] = mapped_column(Date)
    minutes: Mapped[int] = mapped_column(Integer)
    helpfulness: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    submission_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    participant = relationship("Participant")


class SessionProgress(db.Model):
    __tablename__ = "session_progress"
    __table_args__ = (UniqueConstraint("participant_id", "session_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"))
    session_number: Mapped[int] = mapped_column(Integer)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
