"""The cohort roster as facilitators read it: attendance, practice and material opened, and
who is falling behind (missed the last two registered meetings, or no practice this week)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select

from models import Attendance, Cohort, Meeting, Participant, PracticeLog, SessionProgress, db
from models.meetings import ATTENDED
from program.courses.calendar import current_session
from program.courses.delivery import RosterPerson, cohort_calendar, cohort_roster
from program.courses.register import counts_for, first_attended


@dataclass
class RosterRow:
    person: RosterPerson
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


def _marks(cohort: Cohort, past: list[int]) -> dict[int, dict[int, bool]]:
    """The registers of the past meetings that have one: by session number, each marked
    participant's id and whether they attended (one query, the statuses only)."""
    marks: dict[int, dict[int, bool]] = {}
    for number, participant_id, status in db.session.execute(
            select(Meeting.session_number, Attendance.participant_id, Attendance.status)
            .join(Attendance, Attendance.meeting_id == Meeting.id)
            .where(Meeting.cohort_id == cohort.id, Meeting.session_number.in_(past))):
        marks.setdefault(number, {})[participant_id] = status in ATTENDED
    return marks


def cohort_progress(cohort: Cohort, now: datetime) -> Roster:
    """Each participant's attendance, last practice and sessions opened, and who is behind."""
    calendar = cohort_calendar(cohort)
    people = cohort_roster(cohort)
    past = [m.session_number for m in calendar.meetings
            if m.actual_start is not None and m.actual_start <= now]
    marks = _marks(cohort, past)
    registered = [n for n in past if n in marks]  # a meeting without a register does not count
    last_practice = dict(db.session.execute(
        select(PracticeLog.participant_id, func.max(PracticeLog.practised_on))
        .join(Participant, Participant.id == PracticeLog.participant_id)
        .where(Participant.cohort_id == cohort.id).group_by(PracticeLog.participant_id)).all())
    opened = dict(db.session.execute(
        select(SessionProgress.participant_id, func.count())
        .join(Participant, Participant.id == SessionProgress.participant_id)
        .where(Participant.cohort_id == cohort.id, SessionProgress.opened_at.is_not(None))
        .group_by(SessionProgress.participant_id)).all())
    this_week = current_session(calendar, now)
    week_start = (calendar.local(this_week.actual_start or this_week.planned_start).date()
                  if this_week else None)
    first = first_attended(cohort.id)
    rows = []
    for person in people:
        # meetings before a late joiner's first one are not theirs to miss
        counted = [n for n in registered
                   if counts_for(first.get(person.id), n, person.id in marks[n])]
        last_two = counted[-2:]
        attended = [n for n in counted if marks[n].get(person.id)]
        last = last_practice.get(person.id)
        rows.append(RosterRow(
            person=person, attended=len(attended), of=len(counted),
            last_practice=last, opened=opened.get(person.id, 0),
            missed_two=len(counted) >= 2 and not set(last_two) & set(attended),
            no_practice=week_start is not None and (last is None or last < week_start)))
    released = sum(1 for m in calendar.meetings if m.release_at <= now)
    return Roster(rows=rows, released=released, week_start=week_start)
