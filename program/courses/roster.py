"""The cohort roster as facilitators read it: attendance, practice and material opened, and
who is falling behind (missed the last two registered meetings, or no practice this week)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select

from models import Cohort, Meeting, Participant, PracticeLog, SessionProgress, User, db
from program.courses.calendar import current_session
from program.courses.delivery import cohort_calendar, cohort_roster
from program.courses.register import counts_for, first_attended


@dataclass
class RosterRow:
    participant: Participant
    user: User
    attended: int
    #: registered meetings so far (a meeting without a register does not count)
    of: int
    last_practice: date | None
    opened: int
    missed_two: bool
    no_practice: bool

    @property
    def falling_behind(self) -> bool:
        return self.missed_two or self.no_practice


@dataclass
class Roster:
    rows: list[RosterRow]
    #: sessions released so far
    released: int
    #: the local day this week's meeting was held (practice since then counts as this week)
    week_start: date | None


def _registered_meetings(cohort: Cohort, past: list[int]) -> list[Meeting]:
    rows = {m.session_number: m for m in db.session.scalars(
        select(Meeting).where(Meeting.cohort_id == cohort.id))}
    return [rows[n] for n in past if n in rows and rows[n].attendance]


def cohort_progress(cohort: Cohort, now: datetime) -> Roster:
    """Each participant's attendance, last practice and sessions opened, and who is behind."""
    calendar = cohort_calendar(cohort)
    people = cohort_roster(cohort)
    ids = [p.id for p, _u in people]
    past = [m.session_number for m in calendar.meetings
            if m.actual_start is not None and m.actual_start <= now]
    registered = _registered_meetings(cohort, past)
    attended_at = {(a.participant_id, m.session_number) for m in registered
                   for a in m.attendance if a.attended}
    marked_at = {(a.participant_id, m.session_number) for m in registered for a in m.attendance}
    last_practice = dict(db.session.execute(
        select(PracticeLog.participant_id, func.max(PracticeLog.practised_on))
        .where(PracticeLog.participant_id.in_(ids)).group_by(PracticeLog.participant_id)).all())
    opened = dict(db.session.execute(
        select(SessionProgress.participant_id, func.count())
        .where(SessionProgress.participant_id.in_(ids), SessionProgress.opened_at.is_not(None))
        .group_by(SessionProgress.participant_id)).all())
    this_week = current_session(calendar, now)
    week_start = (calendar.local(this_week.actual_start or this_week.planned_start).date()
                  if this_week else None)
    first = first_attended(cohort.id)
    rows = []
    for participant, user in people:
        # meetings before a late joiner's first one are not theirs to miss
        counted = [m.session_number for m in registered
                   if counts_for(first.get(participant.id), m.session_number,
                                 (participant.id, m.session_number) in marked_at)]
        last_two = counted[-2:]
        attended = [n for n in counted if (participant.id, n) in attended_at]
        last = last_practice.get(participant.id)
        rows.append(RosterRow(
            participant=participant, user=user, attended=len(attended), of=len(counted),
            last_practice=last, opened=opened.get(participant.id, 0),
            missed_two=len(counted) >= 2 and not set(last_two) & set(attended),
            no_practice=week_start is not None and (last is None or last < week_start)))
    released = sum(1 for m in calendar.meetings if m.release_at <= now)
    return Roster(rows=rows, released=released, week_start=week_start)
