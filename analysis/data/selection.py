"""Who is in the analysis tables (allocated, data not removed), and the tables' columns."""

from __future__ import annotations

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from models import (
    Arm,
    Participant,
)

SCORE_COLUMNS = ["participant_id", "arm", "timepoint", "measure", "score"]
PARTICIPANT_COLUMNS = ["participant_id", "arm", "status", "gender", "age", "randomised_on",
                       "therapy_group", "sessions_attended"]
ATTENDANCE_COLUMNS = ["participant_id", "arm", "cohort", "meeting", "present", "minutes"]
PRACTICE_COLUMNS = ["participant_id", "arm", "cohort", "week", "practised_on", "practice",
                    "minutes", "helpfulness"]
SESSION_COLUMNS = ["cohort", "meeting", "status", "adherence"]
ENGAGEMENT_COLUMNS = ["participant_id", "arm", "week", "materials_opened", "practice_minutes",
                      "posts"]
FLOW_COLUMNS = ["participant_id", "stage", "arm", "reason"]
CSQ_ITEMS = [f"csq_{i}" for i in range(1, 9)]

#: meeting outcomes after which the meeting took place (a postponed one happened later)
TOOK_PLACE = ("held", "truncated", "postponed")
REMOVAL_REASON = "asked for data removal"
DAYS_PER_MONTH = 365.25 / 12




def _allocated(study_id: int):
    return and_(Participant.study_id == study_id, Participant.arm_id.is_not(None),
                Participant.randomised_at.is_not(None))


def _not_removed():
    return and_(Participant.data_removed_at.is_(None),
                Participant.data_removal_requested_at.is_(None))


def _analysable(session: Session, study_id: int) -> list[tuple[Participant, Arm]]:
    """Allocated participants whose data may be analysed, in code order, with their arm."""
    return list(session.execute(
        select(Participant, Arm).join(Arm, Participant.arm_id == Arm.id)
        .where(_allocated(study_id), _not_removed())
        .order_by(Participant.code)).tuples())
