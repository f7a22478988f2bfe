"""Safety alerts raised by risk language or questionnaire risk items, and adverse events."""

from __future__ import annotations

from datetime import date, datetime, time

from flask_babel import lazy_pgettext
from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models._types import Vocabulary, one_of
from models.base import UTCDateTime, db, utcnow


class AlertSource(Vocabulary):
    """What raised a safety alert."""

    POST = "post", lazy_pgettext("alert source", "a group post")
    PRACTICE_LOG = "practice_log", lazy_pgettext("alert source", "a practice note")
    RESPONSE = "response", lazy_pgettext("alert source", "a questionnaire answer")


class AlertStatus(Vocabulary):
    """Where a safety alert is in its handling."""

    OPEN = "open", lazy_pgettext("alert status", "open")
    ACKNOWLEDGED = "acknowledged", lazy_pgettext("alert status", "acknowledged")
    CLOSED = "closed", lazy_pgettext("alert status", "closed")


class RiskLevel(Vocabulary):
    """How pressing a risk statement is: urgent ones (plans, farewells, acts) come first."""

    CONCERN = "concern", lazy_pgettext("risk level", "concern")
    URGENT = "urgent", lazy_pgettext("risk level", "urgent")


class RiskFamily(Vocabulary):
    """The kinds of risk statement clinicians screen for (program.safety.detector)."""

    PLAN_PREPARATION = "plan_preparation", lazy_pgettext("risk family", "plans or preparation")
    FAREWELL = "farewell", lazy_pgettext("risk family", "farewell")
    SELF_HARM = "self_harm", lazy_pgettext("risk family", "self-harm")
    SUICIDAL_THOUGHTS = "suicidal_thoughts", lazy_pgettext("risk family", "suicidal thoughts")
    WISH_TO_BE_DEAD = "wish_to_be_dead", lazy_pgettext("risk family", "wish to be dead")
    HOPELESSNESS_BURDEN = ("hopelessness_burden",
                           lazy_pgettext("risk family", "hopelessness or feeling a burden"))


class AeSeverity(Vocabulary):
    """Severity of an adverse event."""

    MILD = "mild", lazy_pgettext("adverse event severity", "mild")
    MODERATE = "moderate", lazy_pgettext("adverse event severity", "moderate")
    SEVERE = "severe", lazy_pgettext("adverse event severity", "severe")


class AeRelatedness(Vocabulary):
    """How likely an adverse event is related to the intervention."""

    UNRELATED = "unrelated", lazy_pgettext("adverse event relatedness", "unrelated")
    UNLIKELY = "unlikely", lazy_pgettext("adverse event relatedness", "unlikely")
    POSSIBLE = "possible", lazy_pgettext("adverse event relatedness", "possible")
    PROBABLE = "probable", lazy_pgettext("adverse event relatedness", "probable")
    DEFINITE = "definite", lazy_pgettext("adverse event relatedness", "definite")


class AeOutcome(Vocabulary):
    """Outcome of an adverse event."""

    RECOVERED = "recovered", lazy_pgettext("adverse event outcome", "recovered")
    RECOVERING = "recovering", lazy_pgettext("adverse event outcome", "recovering")
    NOT_RECOVERED = "not_recovered", lazy_pgettext("adverse event outcome", "not recovered")
    RECOVERED_WITH_SEQUELAE = ("recovered_with_sequelae",
                               lazy_pgettext("adverse event outcome", "recovered with sequelae"))
    FATAL = "fatal", lazy_pgettext("adverse event outcome", "fatal")
    UNKNOWN = "unknown", lazy_pgettext("adverse event outcome", "unknown")



class SafetyAlert(db.Model):
    """One alert per source object; it names the rule that fired, never the text itself."""

    __tablename__ = "safety_alerts"
    __table_args__ = (
        UniqueConstraint("source_kind", "source_id"),
        one_of("source_kind", AlertSource, "source_kind_valid"),
        one_of("status", AlertStatus),
        one_of("level", RiskLevel, "level_valid"),
        #: the navigation counts a staff member's open alerts on every page
        Index("ix_safety_alerts_status", "status", "study_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int | None] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"))
    participant_id: Mapped[int | None] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), index=True
    )
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id", ondelete="SET NULL"))
    source_kind: Mapped[str] = mapped_column(String(20))
    source_id: Mapped[int] = mapped_column(Integer)
    rule: Mapped[str] = mapped_column(String(120))  #: e.g. risk:urgent:farewell or BDI-II.item9>=2
    #: for risk language: its level (RiskLevel) and families (RiskFamily codes, most pressing
    #: first, comma-separated); never the words that were written
    level: Mapped[str | None] = mapped_column(String(10))
    families: Mapped[str | None] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(15), default="open")
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: how far an unacknowledged alert has gone: 0 first recipients, 1 the next clinician,
    #: 2 every clinician of the study (program.safety.escalation)
    escalation_step: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    participant = relationship("Participant")
    owner = relationship("User", foreign_keys=[owner_id])

    @property
    def questionnaire_items(self) -> list[str]:
        """The questionnaire risk items that raised the alert (``BDI-II.item9>=2``), without
        the text detector's rule names, which staff read as the level and kind of statement."""
        return [r for r in (self.rule or "").split(",") if r and not r.startswith("risk")]


class AdverseEvent(db.Model):
    __tablename__ = "adverse_events"
    __table_args__ = (
        one_of("severity", AeSeverity),
        one_of("relatedness", AeRelatedness, "relatedness_valid"),
        one_of("outcome", AeOutcome, "outcome_valid"),
        # a double-submitted form records one event
        UniqueConstraint("participant_id", "submission_token"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"))
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), index=True
    )
    alert_id: Mapped[int | None] = mapped_column(
        ForeignKey("safety_alerts.id", ondelete="SET NULL"), unique=True
    )
    description: Mapped[str] = mapped_column(Text)
    onset_on: Mapped[date] = mapped_column(Date)
    severity: Mapped[str] = mapped_column(String(10))
    serious: Mapped[bool] = mapped_column(Boolean, default=False)
    relatedness: Mapped[str] = mapped_column(String(12))
    action_taken: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(30), default="unknown")
    reported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submission_token: Mapped[str | None] = mapped_column(String(64))


class CrisisContactKind(Vocabulary):
    """What a crisis contact is; the label is shown in the reader's language beside its name."""

    EMERGENCY = "emergency", lazy_pgettext("crisis contact", "emergency services")
    AMBULANCE = "ambulance", lazy_pgettext("crisis contact", "ambulance")
    POLICE = "police", lazy_pgettext("crisis contact", "police")
    CRISIS_LINE = "crisis_line", lazy_pgettext("crisis contact", "crisis line")
    MENTAL_HEALTH_LINE = ("mental_health_line",
                          lazy_pgettext("crisis contact", "mental health line"))


class CrisisContact(db.Model):
    """A number a participant can call in a crisis, for the cohorts of one country.

    A study confirms the shipped defaults of a country (``program.safety.crisis_contacts``)
    or enters its own; participants see those of their cohort's country.
    """

    __tablename__ = "crisis_contacts"
    __table_args__ = (UniqueConstraint("study_id", "country", "number"),
                      one_of("kind", CrisisContactKind, "crisis_contact_kind_valid"))

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"),
                                          index=True)
    #: ISO 3166 code, or "ZZ" for the set shown in any other country
    country: Mapped[str] = mapped_column(String(2))
    position: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(20))
    #: the service's own name ('' for the emergency services, named by their kind)
    name: Mapped[str] = mapped_column(String(120), default="")
    number: Mapped[str] = mapped_column(String(40))
    always_open: Mapped[bool] = mapped_column(Boolean, default=False)
    #: daily opening hours, local time (both empty when not known or not every day)
    opens_at: Mapped[time | None] = mapped_column(Time)
    closes_at: Mapped[time | None] = mapped_column(Time)
    #: language codes answered in, comma separated ("ja,en")
    languages: Mapped[str] = mapped_column(String(60), default="")
    #: free to call (None: not known)
    free: Mapped[bool | None] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
