"""Live session meetings of a cohort, their outcome and the attendance register."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_pgettext
from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models._types import Vocabulary, one_of
from models.base import UTCDateTime, db, utcnow


class MeetingOutcome(Vocabulary):
    """How a meeting went, as its facilitator recorded it."""

    SCHEDULED = "scheduled", lazy_pgettext("meeting outcome", "scheduled")
    HELD = "held", lazy_pgettext("meeting outcome", "held")
    CANCELLED = "cancelled", lazy_pgettext("meeting outcome", "cancelled")
    TRUNCATED = "truncated", lazy_pgettext("meeting outcome", "truncated")
    POSTPONED = "postponed", lazy_pgettext("meeting outcome", "postponed")


class AttendanceStatus(Vocabulary):
    """A participant's attendance at a meeting."""

    PRESENT = "present"
    ABSENT = "absent"
    LATE = "late"


class AttendanceSource(Vocabulary):
    """Where an attendance mark came from."""

    REGISTER = "register"
    IMPORT = "import"



class Meeting(db.Model):
    """The record of session N's live meeting; rows exist once something was recorded.

    The calendar is derived from the cohort; a row here overrides it (postponed_to,
    cancelled) and holds what happened.
    """

    __tablename__ = "meetings"
    __table_args__ = (
        UniqueConstraint("cohort_id", "session_number"),
        one_of("outcome", MeetingOutcome),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    session_number: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(12), default="scheduled")
    postponed_to: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: a make-up meeting for this cancelled one
    makeup_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: this meeting and every later one moved by this many minutes (on the cohort's wall clock)
    shift_minutes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: how many times the rest of the course was shifted from this meeting
    shift_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: how many times this meeting itself was moved, cancelled or given a make-up
    revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    actual_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    actual_minutes: Mapped[int | None] = mapped_column(Integer)
    notes: Mapped[str | None] = mapped_column(Text)
    #: adherence checklist items from the session's facilitator guide that were done
    checklist_done: Mapped[list] = mapped_column(JSON, default=list)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    cohort = relationship("Cohort")
    attendance: Mapped[list[Attendance]] = relationship(
        back_populates="meeting", cascade="all, delete-orphan"
    )


#: the statuses that count as having been at a meeting (attendance rates, "started", roster)
ATTENDED = (AttendanceStatus.PRESENT, AttendanceStatus.LATE)


class Attendance(db.Model):
    __tablename__ = "attendance"
    __table_args__ = (
        UniqueConstraint("meeting_id", "participant_id"),
        one_of("status", AttendanceStatus),
        one_of("source", AttendanceSource, "source_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(10))
    minutes_attended: Mapped[int | None] = mapped_column(Integer)  #: dose, when known
    source: Mapped[str] = mapped_column(String(10), default="register")
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    meeting: Mapped[Meeting] = relationship(back_populates="attendance")
    participant = relationship("Participant")

    @hybrid_property
    def attended(self) -> bool:
        """Whether the participant was at the meeting (see :data:`ATTENDED`)."""
        return self.status in ATTENDED

    @attended.inplace.expression
    @classmethod
    def _attended_expression(cls):
        return cls.status.in_(ATTENDED)
