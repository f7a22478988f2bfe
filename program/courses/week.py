"""A participant's week at a glance: this week's session and homework, the next meeting and
whether its join link is open, the days practised this week, and the retreat ahead."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from models import Cohort, Participant, PracticeLog, SessionProgress, User, db
from program.courses.calendar import PlannedMeeting, current_session, next_meeting
from program.courses.catalogue import get_catalogue
from program.courses.content import ExtraEvent
from program.courses.delivery import cohort_calendar

#: the join link shows this long before a meeting starts, and until it ends
JOIN_LINK_LEAD = timedelta(minutes=15)


@dataclass
class Week:
    this_week: PlannedMeeting | None = None
    session: object | None = None
    upcoming: PlannedMeeting | None = None
    join_open: bool = False
    #: this week's practices, each with whether it was logged since the week's meeting
    homework: list[tuple[object, bool]] = field(default_factory=list)
    #: days with any practice logged this week (never a "streak": a missed day is not a loss)
    days_practised: int = 0
    retreat: list = field(default_factory=list)
    #: the course so far: sessions the participant marked done, of the course's sessions
    sessions_done: int = 0
    sessions_total: int = 0
    #: minutes of practice logged this week (the same week as ``days_practised``)
    minutes_this_week: int = 0


def join_open(meeting: PlannedMeeting | None, video_link: str | None, now: datetime) -> bool:
    """Whether the meeting's join link is shown: from ``JOIN_LINK_LEAD`` before until its end."""
    return bool(meeting and video_link
                and meeting.actual_start - JOIN_LINK_LEAD <= now < meeting.actual_end)


def week_start(meeting_day: date | None, today: date) -> date:
    """The first day of "this week": the day of this week's meeting, at most six days ago."""
    earliest = today - timedelta(days=6)
    return max(meeting_day, earliest) if meeting_day is not None else earliest


def days_practised(days: set[date], start: date, today: date) -> int:
    """How many distinct days from ``start`` to ``today`` have any practice logged."""
    return sum(1 for day in days if start <= day <= today)


def participant_week(participant: Participant, now: datetime, today: date, locale) -> Week:
    """The dashboard's week for a participant who sees the course material."""
    calendar = cohort_calendar(participant.cohort)
    this_week = current_session(calendar, now)
    upcoming = next_meeting(calendar, now)
    session = (get_catalogue(locale).session(participant.cohort.program, this_week.session_number)
               if this_week else None)
    since = (this_week.actual_start or this_week.planned_start) if this_week else None
    since_day = calendar.local(since).date() if since is not None else None
    logged, days, minutes = set(), set(), 0
    # One read of the recent log serves this week's checklist, days and minutes practised.
    start = week_start(since_day, today)
    earliest = min(filter(None, (since_day, start)))
    for key, day, length in db.session.execute(
            select(PracticeLog.practice_key, PracticeLog.practised_on, PracticeLog.minutes)
            .where(PracticeLog.participant_id == participant.id,
                   PracticeLog.practised_on >= earliest)):
        days.add(day)
        if start <= day <= today:
            minutes += length
        if since_day is not None and day >= since_day:
            logged.add(key)
    return Week(
        this_week=this_week, session=session, upcoming=upcoming,
        join_open=join_open(upcoming, participant.cohort.video_link, now),
        homework=[(p, p.key in logged) for p in (session.practices if session else ())],
        days_practised=days_practised(days, start, today),
        retreat=[e for e in calendar.events if e.date >= calendar.local(now).date()],
        sessions_done=sessions_done(participant),
        sessions_total=get_catalogue(locale).program(participant.cohort.program).session_count,
        minutes_this_week=minutes)


def sessions_done(participant: Participant) -> int:
    """How many of the course's sessions the participant has marked done."""
    return db.session.scalar(select(func.count()).select_from(SessionProgress).where(
        SessionProgress.participant_id == participant.id,
        SessionProgress.completed_at.is_not(None))) or 0


def event_page(participant: Participant, key: str, locale) -> ExtraEvent | None:
    """The participant's course event ``key`` (the retreat) in ``locale``, if it has a page."""
    program = get_catalogue(locale).program(participant.cohort.program)
    return next((e for e in program.extra_events if e.key == key and e.page is not None), None)


def day_contacts(cohort: Cohort) -> list[User]:
    """Who participants contact on the day of an event: the cohort's lead facilitators (all of
    its facilitators when none is marked lead)."""
    facilitators = sorted(cohort.facilitators, key=lambda f: (not f.is_lead, f.id))
    leads = [f for f in facilitators if f.is_lead] or facilitators
    return [f.user for f in leads]
