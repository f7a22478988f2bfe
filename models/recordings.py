"""Guided-practice recordings a study uploads (licensed audio, never shipped), per practice and
language, kept in the database so every app server can serve them without a shared disk."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, deferred, mapped_column

from models.base import UTCDateTime, db, utcnow


class PracticeRecording(db.Model):
    __tablename__ = "practice_recordings"
    __table_args__ = (UniqueConstraint("study_id", "practice_key", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"))
    practice_key: Mapped[str] = mapped_column(String(80))
    language: Mapped[str] = mapped_column(String(10))
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    #: a digest of the bytes: the ETag, so a phone revalidates instead of downloading again
    sha256: Mapped[str] = mapped_column(String(64))
    #: the audio itself, loaded only when it is served
    data: Mapped[bytes] = deferred(mapped_column(LargeBinary, nullable=False))
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
