"""The cohort calendar built from the database: meeting records override the plan."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from models import Meeting, db
from program.courses.calendar import MeetingStatus, is_released
from program.courses.delivery import cohort_calendar
from tests.factories_delivery import gen_course, utc


def _meeting(cohort, number, **fields):
    db.session.add(Meeting(cohort_id=cohort.id, session_number=number, checklist_done=[],
                           **fields))
    db.session.commit()


def test_meetings_keep_local_time_across_the_end_of_summer_time(app):
    course = gen_course("msc")
    starts = [m.planned_start for m in cohort_calendar(course.cohort).meetings[:3]]
    # 18:00 in London is 17:00 UTC in summer time and 18:00 UTC after 25 October.
    assert starts == [utc(2026, 10, 15, 17), utc(2026, 10, 22, 17), utc(2026, 10, 29, 18)]


def test_msc_meetings_last_two_hours_and_the_retreat_falls_between_weeks_6_and_7(app):
    calendar = cohort_calendar(gen_course("msc").cohort)
    assert len(calendar.meetings) == 8
    assert calendar.meetings[0].actual_end - calendar.meetings[0].actual_start == timedelta(
        hours=2)
    (retreat,) = calendar.events
    assert date(2026, 11, 19) < retreat.date < date(2026, 11, 26)  # sessions 6 and 7


def test_cft_cohort_has_twelve_ninety_minute_meetings_and_no_retreat(app):
    calendar = cohort_calendar(gen_course("cft", timezone="Asia/Tokyo").cohort)
    assert len(calendar.meetings) == 12
    assert calendar.meetings[0].minutes == 90
    assert calendar.meetings[0].planned_start == utc(2026, 10, 15, 9)  # 18:00 JST
    assert calendar.events == ()


def test_postponed_meeting_moves_its_release_and_keeps_the_planned_date(app):
    course = gen_course("msc")
    new_start = utc(2026, 10, 31, 10)
    _meeting(course.cohort, 3, outcome="postponed", postponed_to=new_start)
    meeting = cohort_calendar(course.cohort).meeting(3)
    assert meeting.status == MeetingStatus.POSTPONED
    assert meeting.planned_start == utc(2026, 10, 29, 18)
    assert meeting.actual_start == new_start
    assert meeting.release_at == new_start
    calendar = cohort_calendar(course.cohort)
    assert not is_released(3, calendar, utc(2026, 10, 29, 18, 30))
    assert is_released(3, calendar, new_start)


def test_cancelled_meeting_still_releases_its_material_at_the_planned_time(app):
    course = gen_course("msc")
    _meeting(course.cohort, 2, outcome="cancelled")
    meeting = cohort_calendar(course.cohort).meeting(2)
    assert meeting.status == MeetingStatus.CANCELLED and meeting.actual_start is None
    assert meeting.release_at == utc(2026, 10, 22, 17)


def test_held_and_truncated_records_do_not_move_the_calendar(app):
    course = gen_course("msc")
    _meeting(course.cohort, 1, outcome="held", actual_start=utc(2026, 10, 15, 17, 10),
             actual_minutes=110)
    _meeting(course.cohort, 2, outcome="truncated", actual_minutes=60)
    calendar = cohort_calendar(course.cohort)
    assert [m.status for m in calendar.meetings[:2]] == [MeetingStatus.SCHEDULED] * 2
    assert calendar.meeting(1).release_at == utc(2026, 10, 15, 17)


def test_release_lead_minutes_open_material_before_the_meeting(app):
    course = gen_course("msc", release_lead_minutes=24 * 60)
    assert cohort_calendar(course.cohort).meeting(1).release_at == utc(2026, 10, 14, 17)


def test_new_york_cohort_in_the_week_us_clocks_change(app):
    # US summer time ends on 1 November 2026, a week after Europe's.
    course = gen_course("msc", start=date(2026, 10, 27), timezone="America/New_York",
                        meeting_time=time(19, 30))
    starts = [m.planned_start for m in cohort_calendar(course.cohort).meetings[:2]]
    assert starts == [utc(2026, 10, 27, 23, 30), utc(2026, 11, 4, 0, 30)]
    local = [cohort_calendar(course.cohort).local(s).time() for s in starts]
    assert local == [time(19, 30), time(19, 30)]
    assert isinstance(starts[0], datetime)
