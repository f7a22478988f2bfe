"""A facilitator's calendar: the meetings and extra events of every cohort they facilitate,
laid out as a month (weeks of seven days, Monday first) or as one week, on the facilitator's
own wall clock. The cohorts' calendars come from ``delivery.cohort_calendar``; whether a
meeting was held comes from its record."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from models import Cohort, CohortFacilitator, Meeting, User, db
from program.courses.delivery import cohort_calendar

#: outcomes of a meeting that took place (its actual time is a fact, not a plan)
HELD = ("held", "truncated")


@dataclass(frozen=True)
class CalendarEntry:
    cohort: Cohort
    #: the session number of a meeting; None for an extra event (the retreat)
    session_number: int | None
    #: the start on the viewer's wall clock; None for a whole-day event
    starts: datetime | None
    #: "scheduled", "postponed", "cancelled" or "held"
    status: str
    title: str = ""


@dataclass
class CalendarDay:
    day: date
    in_period: bool
    today: bool
    entries: list[CalendarEntry] = field(default_factory=list)


@dataclass
class CalendarPage:
    view: str  #: "month" or "week"
    first: date  #: the first day of the month or week shown
    weeks: list[list[CalendarDay]]
    previous: date
    next: date
    #: the day the week view opens on from this page: today when it is shown, else the first
    week_link: date

    @property
    def days(self) -> list[CalendarDay]:
        return [day for week in self.weeks for day in week]


def facilitated_cohorts(user: User) -> list[Cohort]:
    return list(db.session.scalars(
        select(Cohort).join(CohortFacilitator).where(CohortFacilitator.user_id == user.id)
        .order_by(Cohort.start_date, Cohort.id)))


def _entries(cohorts: list[Cohort], zone: ZoneInfo) -> dict[date, list[CalendarEntry]]:
    records = {(m.cohort_id, m.session_number): m.outcome for m in db.session.scalars(
        select(Meeting).where(Meeting.cohort_id.in_([c.id for c in cohorts])))}
    by_day: dict[date, list[CalendarEntry]] = {}
    for cohort in cohorts:
        calendar = cohort_calendar(cohort)
        for meeting in calendar.meetings:
            outcome = records.get((cohort.id, meeting.session_number))
            status = "held" if outcome in HELD else str(meeting.status)
            starts = (meeting.actual_start or meeting.planned_start).astimezone(zone)
            by_day.setdefault(starts.date(), []).append(
                CalendarEntry(cohort, meeting.session_number, starts, status))
        for event in calendar.events:
            by_day.setdefault(event.date, []).append(
                CalendarEntry(cohort, None, None, "scheduled", event.title))
    for entries in by_day.values():
        entries.sort(key=lambda e: (e.starts is not None,
                                    e.starts.timestamp() if e.starts else 0, e.cohort.name))
    return by_day


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def calendar_page(user: User, view: str, around: date, now: datetime) -> CalendarPage:
    """The month or week containing ``around``, with every entry of the user's cohorts."""
    zone = ZoneInfo(user.timezone or "UTC")
    today = now.astimezone(zone).date()
    if view == "week":
        first = around - timedelta(days=around.weekday())
        start, end = first, first + timedelta(days=7)
        previous, following = first - timedelta(days=7), first + timedelta(days=7)
    else:
        first = _month_start(around)
        following = _add_months(first, 1)
        previous = _add_months(first, -1)
        start = first - timedelta(days=first.weekday())
        end = following + timedelta(days=(7 - following.weekday()) % 7)
    by_day = _entries(facilitated_cohorts(user), zone)
    days = []
    day = start
    while day < end:
        in_period = view == "week" or day.month == first.month
        days.append(CalendarDay(day, in_period, day == today, by_day.get(day, [])))
        day += timedelta(days=1)
    weeks = [days[i:i + 7] for i in range(0, len(days), 7)]
    shown = any(d.today and d.in_period for d in days)
    return CalendarPage(view, first, weeks, previous, following, today if shown else first)
