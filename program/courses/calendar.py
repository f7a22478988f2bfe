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
- Later meetings keep their dates unless they are themselves overridden, or a meeting before
  them carries a ``shift``: then that meeting and every later one move by the shift on the
  cohort's wall clock (shifts add up), and so does an extra event on or after the shifted
  meeting's day (by as many days as that meeting moved).
- A cancelled meeting may have a make-up meeting (``makeup_start``): a live meeting of its own
  (``CohortCalendar.makeups``) with the cancelled session's number; it does not move the
  session's release.
- Each meeting counts the changes that moved it (``sequence``: its own revisions plus every
  shift that covered it), for the iCalendar SEQUENCE of its event.
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
    MAKEUP = "makeup"


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
    #: this meeting and every later one move by this much (wall clock); added to other shifts
    shift: timedelta = timedelta(0)
    #: how many shifts started at this meeting (each raises the SEQUENCE of the later ones)
    shifts: int = 0
    #: how many times this meeting itself was moved, cancelled or given a make-up
    revision: int = 0
    #: a make-up meeting for a cancelled one (naive = cohort-local wall clock)
    makeup_start: datetime | None = None


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
    #: how many changes moved this meeting (the iCalendar SEQUENCE of its event)
    sequence: int = 0
    #: the planned start moved by the shifts of the course (before its own postponement)
    scheduled_start: datetime | None = None

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
    #: how many shifts of the course moved this event
    sequence: int = 0


@dataclass(frozen=True)
class CohortCalendar:
    """Every meeting of a cohort in session order, plus its extra events."""

    zone: ZoneInfo
    meetings: tuple[PlannedMeeting, ...]
    events: tuple[CalendarEvent, ...] = ()
    #: make-up meetings of cancelled sessions, in time order
    makeups: tuple[PlannedMeeting, ...] = ()

    def live_meetings(self) -> list[PlannedMeeting]:
        """Every meeting that takes place (not cancelled), make-ups included, in time order."""
        live = [m for m in self.meetings + self.makeups if m.actual_start is not None]
        return sorted(live, key=lambda m: (m.actual_start, m.session_number))

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
    meetings, makeups, moves = [], [], []
    shift, shifts = timedelta(0), 0
    for number in range(1, plan.session_count + 1):
        day = first + timedelta(days=(number - 1) * plan.cadence_days)
        local = datetime.combine(day, plan.meeting_time)
        planned = _to_utc(local, zone)
        override = overrides.get(number)
        if override is not None and override.shift:
            before = (local + shift).date()
            shift += override.shift
            moves.append((before, (local + shift).date() - before))
        shifts += override.shifts if override is not None else 0
        scheduled = _to_utc(local + shift, zone) if shift else planned
        sequence = shifts + (override.revision if override is not None else 0)
        if override is None or not (override.cancelled or override.postponed_to):
            status, actual = MeetingStatus.SCHEDULED, scheduled
        elif override.cancelled:
            status, actual = MeetingStatus.CANCELLED, None
        else:
            status, actual = MeetingStatus.POSTPONED, _to_utc(override.postponed_to, zone)
        release_at = (actual or scheduled) - plan.release_lead
        meetings.append(PlannedMeeting(number, planned, actual, status, plan.meeting_minutes,
                                       release_at, sequence, scheduled))
        if override is not None and override.cancelled and override.makeup_start is not None:
            makeups.append(PlannedMeeting(number, planned, _to_utc(override.makeup_start, zone),
                                          MeetingStatus.MAKEUP, plan.meeting_minutes,
                                          release_at, sequence, scheduled))

    events = _extra_events(extra_events, meetings, moves, plan.session_count, zone)
    makeups.sort(key=lambda m: m.actual_start)
    return CohortCalendar(zone=zone, meetings=tuple(meetings), events=tuple(events),
                          makeups=tuple(makeups))


def course_end_shift(calendar: CohortCalendar) -> int:
    """How many days the course's last meeting moved (its make-up, if it was cancelled)."""
    last = calendar.meetings[-1]
    makeup = [m for m in calendar.makeups if m.session_number == last.session_number]
    moved = last.actual_start or (makeup[0].actual_start if makeup else last.scheduled_start)
    if moved is None:
        return 0
    return (calendar.local(moved).date() - calendar.local(last.planned_start).date()).days


def course_end_day(calendar: CohortCalendar, start_date: date) -> int:
    """The planned last meeting's day, counted from the cohort's start date."""
    return (calendar.local(calendar.meetings[-1].planned_start).date() - start_date).days


def _extra_events(extra_events: Iterable[ExtraEventLike], meetings: list[PlannedMeeting],
                  moves: list[tuple[date, timedelta]], session_count: int, zone: ZoneInfo
                  ) -> list[CalendarEvent]:
    """Extra events on their planned day, moved by each shift that starts on or before it."""
    events = []
    for event in extra_events:
        if not 1 <= event.after_session <= session_count:
            raise ValueError(f"event {event.key!r} follows a session that does not exist")
        anchor = meetings[event.after_session - 1].planned_start.astimezone(zone).date()
        on, moved = anchor + timedelta(days=event.offset_days), 0
        for since, by in moves:
            if on >= since and by:
                on, moved = on + by, moved + 1
        events.append(
            CalendarEvent(
                key=event.key,
                title=event.title,
                date=on,
                minutes=event.minutes,
                after_session=event.after_session,
                description=getattr(event, "description", ""),
                sequence=moved,
            )
        )
    return events


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

    Cancelled meetings are skipped and make-up meetings count; None once the last is over.
    """
    now = _aware(now)
    upcoming = [m for m in calendar.live_meetings() if m.actual_end > now]
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
) -> dict[int, MeetingOverride]:
    by_session: dict[int, MeetingOverride] = {}
    for given in overrides:
        override = given if isinstance(given, MeetingOverride) else MeetingOverride(
            given.session_number, given.cancelled, given.postponed_to,
            *(getattr(given, name, default) for name, default in (
                ("shift", timedelta(0)), ("shifts", 0), ("revision", 0), ("makeup_start", None))))
        number = override.session_number
        if not 1 <= number <= session_count:
            raise ValueError(f"override for session {number}, outside 1..{session_count}")
        if number in by_session:
            raise ValueError(f"two overrides for session {number}")
        changes = (override.cancelled, override.postponed_to, override.shift, override.revision)
        if (override.cancelled and override.postponed_to is not None) or not any(changes):
            raise ValueError(
                f"override for session {number} must either cancel or postpone the meeting"
            )
        if override.makeup_start is not None and not override.cancelled:
            raise ValueError(f"a make-up meeting for session {number}, which is not cancelled")
        by_session[number] = override
    return by_session
