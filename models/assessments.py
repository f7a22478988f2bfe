"""The assessment schedule (timepoints), invitations, questionnaire responses and screening."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models._types import Vocabulary, one_of
from models.base import UTCDateTime, db, utcnow


class ResponseStatus(Vocabulary):
    """A questionnaire response: being answered, or submitted for good."""

    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"



class Timepoint(db.Model):
    __tablename__ = "timepoints"
    __table_args__ = (UniqueConstraint("study_id", "key"), UniqueConstraint("study_id", "position"))

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(30))  #: label in exports: pre, post, baseline, week8
    label: Mapped[str] = mapped_column(String(80))
    position: Mapped[int] = mapped_column(Integer)  #: order; the first is the baseline
    #: window relative to the cohort's start date, in days (negative = before the start)
    opens_day: Mapped[int] = mapped_column(Integer)
    closes_day: Mapped[int] = mapped_column(Integer)
    instruments: Mapped[list] = mapped_column(JSON, default=list)  #: instrument keys

    study = relationship("Study")


class AssessmentInvitation(db.Model):
    """A personal, expiring link to a timepoint's questionnaires; only the hash is stored."""

    __tablename__ = "assessment_invitations"
    __table_args__ = (UniqueConstraint("participant_id", "timepoint_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"))
    timepoint_id: Mapped[int] = mapped_column(ForeignKey("timepoints.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Response(db.Model):
    """One participant's answers to one instrument at one timepoint, and its scores."""

    __tablename__ = "responses"
    __table_args__ = (
        UniqueConstraint("participant_id", "instrument_key", "timepoint_id"),
        one_of("status", ResponseStatus),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"))
    timepoint_id: Mapped[int] = mapped_column(ForeignKey("timepoints.id", ondelete="CASCADE"))
    instrument_key: Mapped[str] = mapped_column(String(40))
    answers: Mapped[dict] = mapped_column(JSON, default=dict)  #: item number -> value
    free_text: Mapped[dict] = mapped_column(JSON, default=dict)
    #: measure key -> score, e.g. {"BDI-II": 31}; filled on submit
    scores: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(12), default="in_progress")
    #: the rater account for clinician-rated instruments
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    participant = relationship("Participant")
    timepoint = relationship("Timepoint")


class Score(db.Model):
    """A tidy scored value (one row of scores.csv) kept beside the response that produced it."""

    __tablename__ = "scores"
    __table_args__ = (UniqueConstraint("response_id", "measure"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id", ondelete="CASCADE"))
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), index=True
    )
    timepoint_id: Mapped[int] = mapped_column(ForeignKey("timepoints.id", ondelete="CASCADE"))
    measure: Mapped[str] = mapped_column(String(60))
    value: Mapped[float | None] = mapped_column(Float)
    prorated: Mapped[bool] = mapped_column(Boolean, default=False)


class Screening(db.Model):
    """The screening record: answers to the study's eligibility rules and which rules failed."""

    __tablename__ = "screenings"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), unique=True
    )
    screened_on: Mapped[date] = mapped_column(Date)
    answers: Mapped[dict] = mapped_column(JSON, default=dict)
    eligible: Mapped[bool] = mapped_column(Boolean)
    failed_rules: Mapped[list] = mapped_column(JSON, default=list)
    screened_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
