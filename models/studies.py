"""Studies, their arms and staff, and participants as pseudonymous study records."""

from __future__ import annotations

from datetime import date, datetime

from flask_babel import lazy_pgettext
from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models._types import Vocabulary, one_of
from models.base import UTCDateTime, db, utcnow


class Design(Vocabulary):
    """A randomised trial or a single-arm study."""

    RCT = "rct", lazy_pgettext("study design", "randomised controlled trial")
    SINGLE_ARM = "single_arm", lazy_pgettext("study design", "single arm")


class ProgramKey(Vocabulary):
    """The programs Hearth ships."""

    CFT = "cft"
    MSC = "msc"


class RandomisationMethod(Vocabulary):
    """How a study allocates its participants to arms."""

    NONE = "none", lazy_pgettext("randomisation method", "none")
    SIMPLE = "simple", lazy_pgettext("randomisation method", "simple")
    BLOCKS = "blocks", lazy_pgettext("randomisation method", "blocks")
    STRATIFIED_BLOCKS = ("stratified_blocks",
                         lazy_pgettext("randomisation method", "stratified blocks"))
    MINIMISATION = "minimisation", lazy_pgettext("randomisation method", "minimisation")


class ParticipantStatus(Vocabulary):
    """Where a participant is in the study (applied, screened, ... completed)."""

    APPLIED = "applied", lazy_pgettext("participant status", "applied")
    SCREENED = "screened", lazy_pgettext("participant status", "screened")
    INELIGIBLE = "ineligible", lazy_pgettext("participant status", "ineligible")
    CONSENTED = "consented", lazy_pgettext("participant status", "consented")
    RANDOMISED = "randomised", lazy_pgettext("participant status", "randomised")
    ACTIVE = "active", lazy_pgettext("participant status", "active")
    COMPLETED = "completed", lazy_pgettext("participant status", "completed")
    WITHDRAWN = "withdrawn", lazy_pgettext("participant status", "withdrawn")
    LOST = "lost", lazy_pgettext("participant status", "lost")


class WithdrawalKind(Vocabulary):
    """Withdrawal is three things: stop sessions, stop contact, leave the study (in that order)."""

    STOP_SESSIONS = "stop_sessions"
    STOP_CONTACT = "stop_contact"
    LEAVE_STUDY = "leave_study"



class Study(db.Model):
    __tablename__ = "studies"
    __table_args__ = (
        one_of("design", Design),
        one_of("program", ProgramKey),
        one_of("randomisation_method", RandomisationMethod, "randomisation_method_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)  #: short slug used in URLs/exports
    title: Mapped[str] = mapped_column(String(200))
    design: Mapped[str] = mapped_column(String(20))
    program: Mapped[str] = mapped_column(String(10))
    registration_id: Mapped[str | None] = mapped_column(String(80))
    randomisation_method: Mapped[str] = mapped_column(String(30), default="none")
    #: settings of the method (block sizes, strata factors, minimisation weights); the seed
    #: lives here too and is never shown to people who enrol participants
    randomisation_settings: Mapped[dict] = mapped_column(JSON, default=dict)
    #: inclusion/exclusion rules the screening form is built from
    eligibility_rules: Mapped[list] = mapped_column(JSON, default=list)
    consent_version: Mapped[str | None] = mapped_column(String(40))
    #: the public application page takes applications (views.apply)
    accepts_applications: Mapped[bool] = mapped_column(Boolean, default=False,
                                                       server_default=false())
    #: instrument scoring choices and overrides of this study (metric per instrument, subscales)
    instrument_settings: Mapped[dict] = mapped_column(JSON, default=dict)
    code_prefix: Mapped[str] = mapped_column(String(8), default="P")
    #: the baseline characteristics collected once per participant: a list of definitions
    #: ``{key, label, type (number, choice, yes_no), choices}`` (see program.trial.characteristics)
    baseline_characteristics: Mapped[list | None] = mapped_column(JSON, default=list)
    #: a post that matches a risk rule stays visible to the group while it is reviewed
    #: (False: it is held, seen only by its author and the group's staff, until reviewed)
    risk_posts_visible: Mapped[bool] = mapped_column(Boolean, default=False,
                                                     server_default=false())
    #: minutes an open safety alert waits for someone to acknowledge it before it escalates
    #: (to the next clinician, then to every clinician of the study)
    alert_escalation_minutes: Mapped[int] = mapped_column(Integer, default=30,
                                                          server_default="30")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    arms: Mapped[list[Arm]] = relationship(
        back_populates="study", order_by="Arm.key", cascade="all, delete-orphan"
    )


class Arm(db.Model):
    __tablename__ = "arms"
    __table_args__ = (UniqueConstraint("study_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(20))  #: the label in exports, e.g. CFT, UC, MSC
    name: Mapped[str] = mapped_column(String(120))
    #: False for usual care: its participants see no program material, only questionnaires
    receives_program: Mapped[bool] = mapped_column(Boolean, default=True)
    allocation_ratio: Mapped[int] = mapped_column(Integer, default=1)

    study: Mapped[Study] = relationship(back_populates="arms")


class StudyStaff(db.Model):
    """A staff account's part in a study; clinicians receive safety alerts."""

    __tablename__ = "study_staff"
    __table_args__ = (UniqueConstraint("study_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    is_clinician: Mapped[bool] = mapped_column(Boolean, default=False)
    #: a rater kept blind to allocation never sees arm or group
    blind_to_arm: Mapped[bool] = mapped_column(Boolean, default=True)


class ConsentVersion(db.Model):
    """One version of a study's information sheet: its text or an uploaded file."""

    __tablename__ = "consent_versions"
    __table_args__ = (UniqueConstraint("study_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"))
    version: Mapped[str] = mapped_column(String(40))
    sheet_text: Mapped[str | None] = mapped_column(Text)
    file_name: Mapped[str | None] = mapped_column(String(200))
    file_type: Mapped[str | None] = mapped_column(String(100))
    file_data: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InstrumentWording(db.Model):
    """Licensed item wording of one instrument in one language, loaded by a study (YAML text in
    the format of program.instruments.wording.with_wording); never shipped in the repository."""

    __tablename__ = "instrument_wordings"
    __table_args__ = (UniqueConstraint("study_id", "instrument", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"))
    instrument: Mapped[str] = mapped_column(String(40))
    language: Mapped[str] = mapped_column(String(10))
    wording: Mapped[str] = mapped_column(Text)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Participant(db.Model):
    """A person's pseudonymous record in one study; identity lives only on the linked account."""

    __tablename__ = "participants"
    __table_args__ = (
        UniqueConstraint("study_id", "code"),
        UniqueConstraint("study_id", "submission_token"),
        one_of("status", ParticipantStatus),
        one_of("withdrawal_kind", WithdrawalKind, "withdrawal_kind_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(20))  #: pseudonymous code such as P-0007
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), unique=True
    )
    arm_id: Mapped[int | None] = mapped_column(ForeignKey("arms.id", ondelete="RESTRICT"))
    cohort_id: Mapped[int | None] = mapped_column(
        ForeignKey("cohorts.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(20), default="applied")
    gender: Mapped[str | None] = mapped_column(String(20))
    birth_year: Mapped[int | None] = mapped_column(Integer)
    #: strata and other baseline covariates used by randomisation and analyses
    baseline: Mapped[dict] = mapped_column(JSON, default=dict)
    applied_on: Mapped[date | None] = mapped_column(Date)
    screened_on: Mapped[date | None] = mapped_column(Date)
    eligible: Mapped[bool | None] = mapped_column(Boolean)
    #: the rule keys that excluded this person (for the flow diagram)
    exclusion_reasons: Mapped[list] = mapped_column(JSON, default=list)
    consented_on: Mapped[date | None] = mapped_column(Date)
    consent_version: Mapped[str | None] = mapped_column(String(40))
    randomised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_on: Mapped[date | None] = mapped_column(Date)
    withdrawal_kind: Mapped[str | None] = mapped_column(String(20))
    withdrawn_on: Mapped[date | None] = mapped_column(Date)
    withdrawal_reason: Mapped[str | None] = mapped_column(Text)
    data_removal_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    data_removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: the "add an applicant" form that created the record (a double click adds one)
    submission_token: Mapped[str | None] = mapped_column(String(64))

    study: Mapped[Study] = relationship()
    arm: Mapped[Arm | None] = relationship()
    user = relationship("User", foreign_keys=[user_id])
    cohort = relationship("Cohort", foreign_keys=[cohort_id])

    @property
    def sees_program(self) -> bool:
        """Usual-care participants and those who stopped sessions see no material."""
        if self.arm is None or not self.arm.receives_program:
            return False
        return self.withdrawal_kind is None and self.status not in ("withdrawn", "ineligible")


class AllocationSlot(db.Model):
    """One concealed position of a pre-generated randomisation list.

    Taking the next free slot under a row lock (or BEGIN IMMEDIATE) means two concurrent
    randomisations can never take the same slot: the unique participant_id enforces it.
    """

    __tablename__ = "allocation_slots"
    __table_args__ = (UniqueConstraint("study_id", "stratum", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"))
    stratum: Mapped[str] = mapped_column(String(120), default="")
    position: Mapped[int] = mapped_column(Integer)
    arm_id: Mapped[int] = mapped_column(ForeignKey("arms.id", ondelete="CASCADE"))
    block: Mapped[int | None] = mapped_column(Integer)
    participant_id: Mapped[int | None] = mapped_column(
        ForeignKey("participants.id", ondelete="SET NULL"), unique=True
    )
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
