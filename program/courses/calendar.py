"""A cohort's calendar: when each session meets and when its material is released.

Pure functions over plain values: no database, no Flask, no clock. Callers pass ``now``, so
visibility is decided at request time from the calendar and no release can be lost.

Rules
-----
- Meetings fall every ``cadence_days`` from the first ``meeting_weekday`` on or after
  ``start_date``, at ``meeting_time`` on the cohort's LOCAL wall clock in its IANA time zone, so
  a meeting stays at 18:00 local across a daylight-saving change (its UTC instant moves).
  An ambiguous local time (clocks going back) means its first occurrence; a local time that does
  not exist (clocks going forward) moves forward by the size of the gap.
- A postponed meeting moves to its new local date and time, and its session's release moves with
  it, so material is never released before the meeting it belongs to.
- A cancelled meeting's material is still released at the planned time: participants still need
  that week's material.
- Later meetings keep their dates unless they are themselves overridden.
- Release is ``release_lead`` before the meeting (by default at its start) and lasts for good,
  so material stays visible after the course ends.
- Extra events (the MSC half-day retreat) fall ``offset_days`` after the PLANNED meeting of
  session ``after_session``; moving one weekly meeting does not move an event organised for
  the whole cohort. They are whole-day events on the cohort's local calendar.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class MeetingStatus(StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"
    POSTPONED = "postponed"


class OverrideLike(Protocol):
    """A change to one meeting; an ORM row with these attributes will do."""

    @property
    def session_number(self) -> int: ...

    @property
    def cancelled(self) -> bool: ...

    #: The new start: naive means the cohort's local wall clock; aware is converted.
    @property
    def postponed_to(self) -> datetime | None: ...


class ExtraEventLike(Protocol):
    """An event outside the weekly meetings; :class:`program.courses.content.ExtraEvent` fits."""

    @property
    def key(self) -> str: ...

    @property
    def title(self) -> str: ...

    @property
    def after_session(self) -> int: ...

    @property
    def offset_days(self) -> int: ...

    @property
    def minutes(self) -> int: ...


class CohortPlanLike(Protocol):
    """What the calendar needs to know about a cohort; the ORM ``Cohort`` can provide it."""

    @property
    def start_date(self) -> date: ...

    #: Monday is 0, Sunday is 6 (``date.weekday()``).
    @property
    def meeting_weekday(self) -> int: ...

    @property
    def meeting_time(self) -> time: ...

    #: IANA name, e.g. ``Europe/London``.
    @property
    def timezone(self) -> str: ...

    @property
    def cadence_days(self) -> int: ...

    @property
    def session_count(self) -> int: ...

    @property
    def meeting_minutes(self) -> int: ...

    @property
    def release_lead(self) -> timedelta: ...

    @property
    def overrides(self) -> Iterable[OverrideLike]: ...


@dataclass(frozen=True)
class MeetingOverride:
    """One meeting cancelled, or postponed to a new start (naive = cohort-local wall clock)."""

    session_number: int
    cancelled: bool = False
    postponed_to: datetime | None = None


@dataclass(frozen=True)
class CohortPlan:
    """A cohort's schedule settings, as a plain value."""

    start_date: date
    meeting_weekday: int
    meeting_time: time
    timezone: str
    session_count: int
    cadence_days: int = 7
    meeting_minutes: int = 90
    release_lead: timedelta = timedelta(0)
    overrides: tuple[MeetingOverride, ...] = field(default=())


@dataclass(frozen=True)
class PlannedMeeting:
    """Session ``session_number``'s live meeting; all instants are aware UTC datetimes."""

    session_number: int
    planned_start: datetime
    #: When it actually meets: the planned start, the postponed start, or None if cancelled.
    actual_start: datetime | None
    status: MeetingStatus
    minutes: int
    #: From this instant (inclusive) the session's material is visible.
    release_at: datetime

    @property
    def actual_end(self) -> datetime | None:
        if self.actual_start is None:
            return None
        return self.actual_start + timedelta(minutes=self.minutes)


@dataclass(frozen=True)
class CalendarEvent:
    """An extra event on a local calendar day, such as the MSC retreat."""

    key: str
    title: str
    date: date
    minutes: int
    after_session: int
    description: str = ""


@dataclass(frozen=True)
class CohortCalendar:
    """Every meeting of a cohort in session order, plus its extra events."""

    zone: ZoneInfo
    meetings: tuple[PlannedMeeting, ...]
    events: tuple[CalendarEvent, ...] = ()

    def meeting(self, session_number: int) -> PlannedMeeting:
        if not 1 <= session_number <= len(self.meetings):
            raise KeyError(f"no session {session_number} in this calendar")
        return self.meetings[session_number - 1]

    def local(self, instant: datetime) -> datetime:
        """Show an aware instant on the cohort's wall clock."""
        return instant.astimezone(self.zone)


def build_calendar(
    plan: CohortPlanLike, extra_events: Iterable[ExtraEventLike] = ()
) -> CohortCalendar:
    """Compute a cohort's meetings, release times and extra events.

    Raises
    ------
    ValueError
        For an unknown time zone, an impossible weekday, cadence or session count, or an override
        naming a session that does not exist or both cancelling and postponing a meeting.
    """
    zone = _zone(plan.timezone)
    if not 0 <= plan.meeting_weekday <= 6:
        raise ValueError(f"meeting_weekday must be 0 (Monday) to 6, got {plan.meeting_weekday}")
    if plan.cadence_days < 1:
        raise ValueError(f"cadence_days must be at least 1, got {plan.cadence_days}")
    if plan.session_count < 1:
        raise ValueError(f"session_count must be at least 1, got {plan.session_count}")
    if plan.release_lead < timedelta(0):
        raise ValueError("release_lead must not be negative")

    overrides = _overrides_by_session(plan.overrides, plan.session_count)
    first = first_meeting_date(plan.start_date, plan.meeting_weekday)
    meetings = []
    for number in range(1, plan.session_count + 1):
        day = first + timedelta(days=(number - 1) * plan.cadence_days)
        planned = _to_utc(datetime.combine(day, plan.meeting_time), zone)
        override = overrides.get(number)
        if override is None:
            status, actual = MeetingStatus.SCHEDULED, planned
        elif override.cancelled:
            status, actual = MeetingStatus.CANCELLED, None
        else:
            assert override.postponed_to is not None
            status, actual = MeetingStatus.POSTPONED, _to_utc(override.postponed_to, zone)
        meetings.append(
            PlannedMeeting(
                session_number=number,
                planned_start=planned,
                actual_start=actual,
                status=status,
                minutes=plan.meeting_minutes,
                release_at=(actual or planned) - plan.release_lead,
            )
        )

    events = []
    for event in extra_events:
        if not 1 <= event.after_session <= plan.session_count:
            raise ValueError(f"event {event.key!r} follows a session that does not exist")
        anchor = meetings[event.after_session - 1].planned_start.astimezone(zone).date()
        events.append(
            CalendarEvent(
                key=event.key,
                title=event.title,
                date=anchor + timedelta(days=event.offset_days),
                minutes=event.minutes,
                after_session=event.after_session,
                description=getattr(event, "description", ""),
            )
        )
    return CohortCalendar(zone=zone, meetings=tuple(meetings), events=tuple(events))


def first_meeting_date(start_date: date, meeting_weekday: int) -> date:
    """The first date on or after ``start_date`` that falls on ``meeting_weekday``."""
    return start_date + timedelta(days=(meeting_weekday - start_date.weekday()) % 7)


def is_released(session_number: int, calendar: CohortCalendar, now: datetime) -> bool:
    """Whether the session's material is visible at ``now`` (from its release instant on)."""
    return _aware(now) >= calendar.meeting(session_number).release_at


def current_session(calendar: CohortCalendar, now: datetime) -> PlannedMeeting | None:
    """The most recently released session ("this week's"), or None before the first release.

    Most recent by release time, so a meeting postponed past the next one does not hide the
    later session that has already been released.
    """
    now = _aware(now)
    released = [m for m in calendar.meetings if m.release_at <= now]
    if not released:
        return None
    return max(released, key=lambda m: (m.release_at, m.session_number))


def next_meeting(calendar: CohortCalendar, now: datetime) -> PlannedMeeting | None:
    """The next live meeting that has not yet ended (so one in progress counts), if any.

    Cancelled meetings are skipped; None once the last meeting is over.
    """
    now = _aware(now)
    upcoming = [
        m
        for m in calendar.meetings
        if m.actual_start is not None and m.actual_end is not None and m.actual_end > now
    ]
    return min(upcoming, key=lambda m: (m.actual_start, m.session_number), default=None)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None


def _to_utc(moment: datetime, zone: ZoneInfo) -> datetime:
    # A naive datetime is a reading of the cohort's wall clock. fold=0 picks the first of an
    # ambiguous pair; zoneinfo maps a non-existent time forward by the gap.
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone, fold=0)
    return moment.astimezone(UTC)


def _aware(now: datetime) -> datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime (use datetime.now(UTC))")
    return now


def _overrides_by_session(
    overrides: Iterable[OverrideLike], session_count: int
) -> dict[int, OverrideLike]:
    by_session: dict[int, OverrideLike] = {}
    for override in overrides:
        number = override.session_number
        if not 1 <= number <= session_count:
            raise ValueError(f"override for session {number}, outside 1..{session_count}")
        if number in by_session:
            raise ValueError(f"two overrides for session {number}")
        if override.cancelled == (override.postponed_to is not None):
            raise ValueError(
                f"override for session {number} must either cancel or postpone the meeting"
            )
        by_session[number] = override
    return by_session
