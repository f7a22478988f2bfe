"""Every stored vocabulary by the name pages use: ``{{ code|label("participant_status") }}``."""

from __future__ import annotations

from models._types import Vocabulary
from models.cohorts import CohortStatus, FacilitatorRole
from models.contacts import ContactKind
from models.groups import GroupKind, MembershipRole
from models.meetings import MeetingOutcome
from models.outbox import OutboxStatus
from models.people import Role
from models.safety import (
    AeOutcome,
    AeRelatedness,
    AeSeverity,
    AlertSource,
    AlertStatus,
    RiskFamily,
    RiskLevel,
)
from models.studies import Design, ParticipantStatus, RandomisationMethod

VOCABULARIES: dict[str, type[Vocabulary]] = {
    "participant_status": ParticipantStatus,
    "design": Design,
    "randomisation_method": RandomisationMethod,
    "cohort_status": CohortStatus,
    "facilitator_role": FacilitatorRole,
    "meeting_outcome": MeetingOutcome,
    "group_kind": GroupKind,
    "membership_role": MembershipRole,
    "role": Role,
    "alert_status": AlertStatus,
    "alert_source": AlertSource,
    "risk_level": RiskLevel,
    "risk_family": RiskFamily,
    "ae_severity": AeSeverity,
    "ae_relatedness": AeRelatedness,
    "ae_outcome": AeOutcome,
    "contact_kind": ContactKind,
    "outbox_status": OutboxStatus,
}


def label(code: str | None, vocabulary: str) -> str:
    """The translated label of a stored code (the code itself when it is not known)."""
    return VOCABULARIES[vocabulary].label_of(code)
