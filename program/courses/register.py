"""The attendance register's rules: which minutes contradict a mark, and which meetings count
for a participant who joined the cohort late.

A participant's course starts at the first of their cohort's meetings they attended (the same
meeting that sets ``Participant.started_on``). A meeting before it counts only when the
participant is on that meeting's register (marked absent while they were in the cohort):
someone placed in a running cohort was on no register before they joined, and is not counted
absent from those meetings. Someone who never attended is counted absent from every meeting.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select

from models import Attendance, Meeting, db
from models.meetings import ATTENDED


def contradiction(status: str, minutes: int | None, min_minutes_present: int) -> str | None:
    """Why a mark's minutes contradict its status, or None: ``"absent_with_minutes"`` (absent
    yet minutes attended) or ``"present_without_minutes"`` (present or late with 0 minutes where
    the cohort counts presence by minutes)."""
    if minutes is None:
        return None
    if status == "absent" and minutes > 0:
        return "absent_with_minutes"
    if status in ATTENDED and minutes == 0 and min_minutes_present > 0:
        return "present_without_minutes"
    return None


def first_attended(cohort_id: int, participant_ids: Iterable[int] | None = None
                   ) -> dict[int, int]:
    """The session number of the first meeting each participant attended, by participant id
    (participants who have attended none are left out)."""
    statement = (
        select(Attendance.participant_id, func.min(Meeting.session_number))
        .join(Meeting, Meeting.id == Attendance.meeting_id)
        .where(Meeting.cohort_id == cohort_id, Attendance.attended)
        .group_by(Attendance.participant_id))
    if participant_ids is not None:
        statement = statement.where(Attendance.participant_id.in_(list(participant_ids)))
    return dict(db.session.execute(statement).all())


def counts_for(first: int | None, session_number: int, on_register: bool = False) -> bool:
    """Whether a meeting counts in a participant's attendance (absent or present), given the
    first meeting they attended and whether they are on this meeting's register."""
    return on_register or first is None or session_number >= first
