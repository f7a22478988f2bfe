"""A cohort's calendar: meeting times across time zones, overrides, and release visibility."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import time_machine
from hypothesis import given
from hypothesis import strategies as st

from program.courses.calendar import (
    CohortPlan,
    MeetingOverride,
    MeetingStatus,
    build_calendar,
    current_session,
    first_meeting_date,
    is_released,
    next_meeting,
)
from program.courses.content import ExtraEvent

LONDON = "Europe/London"
SECOND = timedelta(seconds=1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def london_plan(**changes) -> CohortPlan:
    """A Thursday 18:00 London cohort whose weeks cross the end of summer time (25 Oct 2026)."""
    settings = dict(
        start_date=date(2026, 10, 12),  # a Monday; the first Thursday is the 15th
        meeting_weekday=3,
        meeting_time=time(18, 0),
        timezone=LONDON,
        session_count=4,
        cadence_days=7,
        meeting_minutes=90,
    )
    settings.update(changes)
    return CohortPlan(**settings)


# --- time zones and daylight saving ----------------------------------------------------------


def test_london_meetings_keep_local_time_when_summer_time_ends():
    calendar = build_calendar(london_plan())
    starts = [m.planned_start for m in calendar.meetings]

    assert starts == [
        utc(2026, 10, 15, 17, 0),  # BST, UTC+1
        utc(2026, 10, 22, 17, 0),
        utc(2026, 10, 29, 18, 0),  # GMT from the last Sunday of October
        utc(2026, 11, 5, 18, 0),
    ]
    assert {calendar.local(s).time() for s in starts} == {time(18, 0)}
    assert all(s.tzinfo is UTC for s in starts)


def test_a_meeting_on_the_night_clocks_go_back_is_the_first_of_the_two_times():
    # 01:30 happens twice in London on 25 Oct 2026: first in BST (00:30 UTC), then in GMT.
    plan = london_plan(start_date=date(2026, 10, 25), meeting_weekday=6, meeting_time=time(1, 30))
    assert build_calendar(plan).meeting(1).planned_start == utc(2026, 10, 25, 0, 30)


def test_a_meeting_in_the_spring_gap_moves_forward_by_the_gap():
    # 01:30 does not exist in London on 29 Mar 2026; the meeting happens at 02:30 BST.
    plan = london_plan(start_date=date(2026, 3, 29), meeting_weekday=6, meeting_time=time(1, 30))
    start = build_calendar(plan).meeting(1).planned_start
    assert start == utc(2026, 3, 29, 1, 30)
    assert start.astimezone(ZoneInfo(LONDON)).time() == time(2, 30)


def test_tokyo_has_no_daylight_saving_so_utc_time_never_moves():
    plan = CohortPlan(
        start_date=date(2026, 10, 1),
        meeting_weekday=2,  # Wednesday
        meeting_time=time(19, 0),
        timezone="Asia/Tokyo",
        session_count=12,
    )
    calendar = build_calendar(plan)
    starts = [m.planned_start for m in calendar.meetings]
    assert starts[0] == utc(2026, 10, 7, 10, 0)
    assert starts[-1] == utc(2026, 12, 23, 10, 0)  # 11 weeks on, past Europe and US changes
    assert {s.time() for s in starts} == {time(10, 0)}


def test_new_york_evening_meeting_moves_to_the_next_utc_day_in_winter():
    # Tuesday 19:00 in New York; daylight saving ends on Sunday 1 Nov 2026.
    plan = CohortPlan(
        start_date=date(2026, 10, 20),
        meeting_weekday=1,
        meeting_time=time(19, 0),
        timezone="America/New_York",
        session_count=3,
    )
    calendar = build_calendar(plan)
    assert [m.planned_start for m in calendar.meetings] == [
        utc(2026, 10, 20, 23, 0),  # EDT, UTC-4
        utc(2026, 10, 27, 23, 0),
        utc(2026, 11, 4, 0, 0),  # EST, UTC-5: still Tuesday 3 Nov locally
    ]
    assert calendar.local(calendar.meeting(3).planned_start).date() == date(2026, 11, 3)


@given(
    zone=st.sampled_from(
        ["Europe/London", "America/New_York", "Asia/Tokyo", "Australia/Sydney", "Asia/Kolkata"]
    ),
    start=st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31)),
    weekday=st.integers(0, 6),
    hour=st.integers(6, 22),  # clear of the small-hours daylight-saving transitions
    cadence=st.sampled_from([7, 14]),
)
def test_every_meeting_is_on_the_weekday_and_wall_clock_time_asked_for(
    zone, start, weekday, hour, cadence
):
    plan = CohortPlan(
        start_date=start,
        meeting_weekday=weekday,
        meeting_time=time(hour, 15),
        timezone=zone,
        session_count=8,
        cadence_days=cadence,
    )
    calendar = build_calendar(plan)
    local = [calendar.local(m.planned_start) for m in calendar.meetings]
    assert local[0].date() >= start and (local[0].date() - start).days < 7
    assert all(dt.weekday() == weekday and dt.time() == time(hour, 15) for dt in local)
    assert all((b.date() - a.date()).days == cadence for a, b in pairwise(local))


@pytest.mark.parametrize(
    ("start", "weekday", "first"),
    [
        (date(2026, 10, 15), 3, date(2026, 10, 15)),  # start on a Thursday: that same day
        (date(2026, 10, 16), 3, date(2026, 10, 22)),  # Friday start: the next Thursday
        (date(2026, 12, 28), 0, date(2026, 12, 28)),
        (date(2026, 12, 29), 0, date(2027, 1, 4)),  # across the new year
    ],
)
def test_first_meeting_is_the_first_matching_weekday_on_or_after_the_start(start, weekday, first):
    assert first_meeting_date(start, weekday) == first


# --- postponement and cancellation -----------------------------------------------------------


def test_postponed_meeting_moves_its_release_and_leaves_later_meetings_alone():
    plan = london_plan(
        overrides=(MeetingOverride(2, postponed_to=datetime(2026, 10, 24, 10, 0)),)  # local Sat
    )
    calendar = build_calendar(plan)
    second = calendar.meeting(2)

    assert second.status is MeetingStatus.POSTPONED
    assert second.planned_start == utc(2026, 10, 22, 17, 0)
    assert second.actual_start == utc(2026, 10, 24, 9, 0)
    assert second.release_at == second.actual_start
    assert calendar.meeting(3).planned_start == calendar.meeting(3).actual_start
    assert calendar.meeting(3).status is MeetingStatus.SCHEDULED
    assert calendar.meeting(3).release_at == utc(2026, 10, 29, 18, 0)

    assert not is_released(2, calendar, second.planned_start)
    assert not is_released(2, calendar, second.actual_start - SECOND)
    assert is_released(2, calendar, second.actual_start)


def test_postponement_given_as_an_aware_datetime_is_kept_as_that_instant():
    new_start = datetime(2026, 10, 23, 9, 0, tzinfo=ZoneInfo("America/New_York"))
    calendar = build_calendar(london_plan(overrides=(MeetingOverride(2, postponed_to=new_start),)))
    assert calendar.meeting(2).actual_start == utc(2026, 10, 23, 13, 0)


def test_postponement_into_winter_time_uses_the_new_local_offset():
    # Session 2 pushed from Thu 22 Oct (BST) to Mon 26 Oct 18:00, after the clocks went back.
    plan = london_plan(overrides=(MeetingOverride(2, postponed_to=datetime(2026, 10, 26, 18)),))
    assert build_calendar(plan).meeting(2).actual_start == utc(2026, 10, 26, 18, 0)


def test_cancelled_meeting_still_releases_its_material_at_the_planned_time():
    calendar = build_calendar(london_plan(overrides=(MeetingOverride(2, cancelled=True),)))
    second = calendar.meeting(2)

    assert second.status is MeetingStatus.CANCELLED
    assert second.actual_start is None and second.actual_end is None
    assert second.release_at == second.planned_start == utc(2026, 10, 22, 17, 0)
    assert is_released(2, calendar, utc(2026, 10, 22, 17, 0))
    # Nobody is sent to a cancelled meeting: the next live one is session 3.
    assert next_meeting(calendar, utc(2026, 10, 20, 12, 0)).session_number == 3


@pytest.mark.parametrize(
    "overrides",
    [
        (MeetingOverride(5, cancelled=True),),
        (MeetingOverride(0, cancelled=True),),
        (MeetingOverride(2, cancelled=True), MeetingOverride(2, cancelled=True)),
        (MeetingOverride(2),),
        (MeetingOverride(2, cancelled=True, postponed_to=datetime(2026, 10, 24, 10)),),
    ],
    ids=["after-last", "zero", "twice", "neither", "both"],
)
def test_impossible_overrides_are_refused(overrides):
    with pytest.raises(ValueError, match="session 5|session 0|session 2"):
        build_calendar(london_plan(overrides=overrides))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"timezone": "Mars/Olympus_Mons"}, "unknown time zone"),
        ({"meeting_weekday": 7}, "meeting_weekday"),
        ({"cadence_days": 0}, "cadence_days"),
        ({"session_count": 0}, "session_count"),
        ({"release_lead": timedelta(hours=-1)}, "release_lead"),
    ],
)
def test_impossible_plans_are_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        build_calendar(london_plan(**changes))


# --- release and visibility ------------------------------------------------------------------


def test_material_is_hidden_one_second_before_release_and_visible_at_it():
    calendar = build_calendar(london_plan())
    release = calendar.meeting(3).release_at
    assert release == utc(2026, 10, 29, 18, 0)
    assert not is_released(3, calendar, release - SECOND)
    assert is_released(3, calendar, release)


def test_lead_time_releases_material_before_the_meeting():
    calendar = build_calendar(london_plan(release_lead=timedelta(days=2)))
    third = calendar.meeting(3)
    assert third.release_at == utc(2026, 10, 27, 18, 0)
    assert not is_released(3, calendar, third.release_at - SECOND)
    assert is_released(3, calendar, third.release_at)
    assert third.actual_start == utc(2026, 10, 29, 18, 0)


def test_all_material_stays_visible_after_the_course_ends():
    calendar = build_calendar(london_plan())
    years_later = utc(2031, 1, 1)
    assert all(is_released(n, calendar, years_later) for n in range(1, 5))
    assert current_session(calendar, years_later).session_number == 4
    assert next_meeting(calendar, years_later) is None


def test_visibility_follows_the_frozen_clock():
    calendar = build_calendar(london_plan())
    with time_machine.travel(utc(2026, 10, 22, 16, 59, 59), tick=False):
        assert current_session(calendar, datetime.now(UTC)).session_number == 1
        assert not is_released(2, calendar, datetime.now(UTC))
    with time_machine.travel(utc(2026, 10, 22, 17, 0, 0), tick=False):
        assert current_session(calendar, datetime.now(UTC)).session_number == 2
        assert is_released(2, calendar, datetime.now(UTC))


def test_naive_now_is_refused_rather_than_guessed():
    calendar = build_calendar(london_plan())
    with pytest.raises(ValueError, match="aware"):
        is_released(1, calendar, datetime(2026, 10, 15, 18, 0))


def test_unknown_session_number_is_an_error():
    with pytest.raises(KeyError):
        is_released(5, build_calendar(london_plan()), utc(2026, 10, 1))


def test_current_session_is_none_before_the_first_release():
    calendar = build_calendar(london_plan())
    first = calendar.meeting(1).release_at
    assert current_session(calendar, first - SECOND) is None
    assert current_session(calendar, first).session_number == 1


def test_current_session_is_the_most_recently_released_when_a_meeting_moves_past_the_next():
    # Session 2 postponed beyond session 3's meeting: between the two, session 3 is this week's.
    plan = london_plan(overrides=(MeetingOverride(2, postponed_to=datetime(2026, 10, 31, 10)),))
    calendar = build_calendar(plan)
    assert current_session(calendar, utc(2026, 10, 30, 12, 0)).session_number == 3
    assert not is_released(2, calendar, utc(2026, 10, 30, 12, 0))
    assert current_session(calendar, utc(2026, 10, 31, 10, 0)).session_number == 2


def test_next_meeting_includes_one_in_progress_until_it_ends():
    calendar = build_calendar(london_plan())
    start = calendar.meeting(2).actual_start
    assert next_meeting(calendar, start - timedelta(days=3)).session_number == 2
    assert next_meeting(calendar, start + timedelta(minutes=89)).session_number == 2
    assert next_meeting(calendar, start + timedelta(minutes=90)).session_number == 3


def test_next_meeting_follows_a_postponed_meeting_to_its_new_time():
    plan = london_plan(overrides=(MeetingOverride(2, postponed_to=datetime(2026, 10, 24, 10)),))
    calendar = build_calendar(plan)
    after_planned = utc(2026, 10, 22, 20, 0)
    assert next_meeting(calendar, after_planned).actual_start == utc(2026, 10, 24, 9, 0)


# --- extra events and other inputs -----------------------------------------------------------


def test_msc_retreat_falls_between_weeks_six_and_seven():
    retreat = ExtraEvent(
        key="retreat",
        title="Half-day retreat",
        after_session=6,
        offset_days=3,
        minutes=240,
        description="A quiet half-day of practice.",
    )
    plan = CohortPlan(
        start_date=date(2026, 9, 1),
        meeting_weekday=2,  # Wednesdays; session 6 is on 7 Oct
        meeting_time=time(19, 30),
        timezone="Asia/Taipei",
        session_count=8,
        meeting_minutes=120,
    )
    calendar = build_calendar(plan, [retreat])
    (event,) = calendar.events
    assert calendar.local(calendar.meeting(6).planned_start).date() == date(2026, 10, 7)
    assert event.date == date(2026, 10, 10)  # the Saturday
    assert (event.key, event.minutes, event.description) == (
        "retreat",
        240,
        "A quiet half-day of practice.",
    )


def test_retreat_stays_put_when_the_sixth_meeting_is_postponed():
    retreat = ExtraEvent("retreat", "Retreat", 6, 3, 240, "")
    moved = (MeetingOverride(6, postponed_to=datetime(2026, 10, 9, 19, 30)),)
    plan = CohortPlan(
        start_date=date(2026, 9, 1),
        meeting_weekday=2,
        meeting_time=time(19, 30),
        timezone="Asia/Taipei",
        session_count=8,
        overrides=moved,
    )
    assert build_calendar(plan, [retreat]).events[0].date == date(2026, 10, 10)


def test_an_event_after_a_session_that_does_not_exist_is_refused():
    with pytest.raises(ValueError, match="retreat"):
        build_calendar(london_plan(), [ExtraEvent("retreat", "Retreat", 6, 3, 240, "")])


def test_any_object_with_the_cohort_attributes_can_be_scheduled():
    # e.g. the ORM Cohort with its meeting overrides as related rows
    cohort = SimpleNamespace(
        start_date=date(2026, 10, 12),
        meeting_weekday=3,
        meeting_time=time(18, 0),
        timezone=LONDON,
        session_count=4,
        cadence_days=7,
        meeting_minutes=90,
        release_lead=timedelta(0),
        overrides=[SimpleNamespace(session_number=4, cancelled=True, postponed_to=None)],
    )
    calendar = build_calendar(cohort)
    assert calendar == build_calendar(london_plan(overrides=(MeetingOverride(4, cancelled=True),)))
    assert calendar.meeting(4).status is MeetingStatus.CANCELLED
