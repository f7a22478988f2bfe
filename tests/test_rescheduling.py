"""Postponing and cancelling meetings: move one, shift the rest, or add a make-up, and
everything that follows (releases, reminders, join link, iCal, assessment windows, emails)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from models import AuditEntry, Meeting, OutboxMessage, db
from program.assessments.questionnaires import window
from program.core.dates import for_recipient
from program.courses.calendar import (
    MeetingOverride,
    MeetingStatus,
    build_calendar,
    course_end_shift,
    next_meeting,
)
from program.courses.catalogue import get_catalogue
from program.courses.delivery import cohort_calendar
from program.courses.week import participant_week
from program.messaging.jobs import tick
from tests.conftest import post_form
from tests.factories import gen_timepoint
from tests.factories_delivery import gen_course, utc
from tests.fixtures_delivery import frozen_clock, long_sign_in_config  # noqa: F401
from tests.test_schedule import london_plan

WEEK = timedelta(days=7)


@pytest.fixture
def clock_start():
    return utc(2026, 10, 20, 9)  # a Tuesday; session 3 meets Thu 29 Oct 18:00 (UTC = London)


@pytest.fixture
def course(app, clock):
    return gen_course("cft", release_lead_minutes=60)


def _reschedule(client, course, number, change, new_start=""):
    return post_form(client, f"/facilitate/cohorts/{course.cohort.id}/meetings/{number}/reschedule",
                     {"change": change, "new_start": new_start})


def _calendar(course):
    db.session.expire_all()
    return cohort_calendar(course.cohort)


def _mail(kind="schedule_change"):
    return db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)
                              .order_by(OutboxMessage.recipient_id)).all()


def _actions():
    return [e.action for e in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def _feed(client, user):
    response = client.get(f"/calendar/{user.calendar_token}.ics")
    return {str(e["uid"]).split("@")[0].split("-", 2)[2]: e
            for e in Calendar.from_ical(response.get_data()).walk("VEVENT")}


# --- move only this one --------------------------------------------------------------------------


def test_moving_one_meeting_moves_its_release_only_and_tells_everyone(course, as_user):
    client = as_user(course.facilitator)
    response = _reschedule(client, course, 3, "move", "2026-10-31T10:00")
    assert response.status_code == 302
    calendar = _calendar(course)
    assert calendar.meeting(3).actual_start == utc(2026, 10, 31, 10)
    assert calendar.meeting(3).release_at == utc(2026, 10, 31, 9)  # an hour before
    assert calendar.meeting(4).actual_start == utc(2026, 11, 5, 18)  # stays put
    assert _actions()[-1] == "meeting.moved"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "meeting.moved"))
    assert entry.details["session"] == 3
    assert entry.actor_id == course.facilitator.id
    assert {m.recipient_id for m in _mail()} == {course.user.id, course.facilitator.id}
    body = _mail()[0].body_text
    assert "moves from" in body and "The other meetings stay as they were." in body


def test_a_move_onto_another_meetings_day_is_refused_and_changes_nothing(course, as_user):
    client = as_user(course.facilitator)
    response = _reschedule(client, course, 3, "move", "2026-11-05T09:00")  # session 4's day
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "This would clash with the meeting of session 4 on Thu 05 Nov 2026 18:00" in page
    assert db.session.scalar(select(func.count()).select_from(Meeting)) == 0
    assert _mail() == [] and "meeting.moved" not in _actions()


def test_a_make_up_overlapping_another_meeting_is_refused(course, as_user):
    client = as_user(course.facilitator)
    response = _reschedule(client, course, 3, "makeup", "2026-11-05T19:00")
    assert response.status_code == 200
    assert "clash with the meeting of session 4" in response.get_data(as_text=True)
    assert _calendar(course).meeting(3).status == MeetingStatus.SCHEDULED


@pytest.mark.parametrize("when", ["2026-10-19T10:00", "0001-01-01T10:00", "0001-01-01T00:00"])
@pytest.mark.parametrize("change", ["move", "shift", "makeup"])
def test_postponing_into_the_past_or_to_year_one_is_a_form_error(app, clock, as_user, when,
                                                                  change):
    course = gen_course("cft", timezone="Asia/Tokyo")  # east of Greenwich: year 1 overflowed
    response = _reschedule(as_user(course.facilitator), course, 3, change, when)
    assert response.status_code == 200
    assert "The new time has passed. Choose a time from now on." in response.get_data(
        as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Meeting)) == 0


@pytest.mark.parametrize("fields", [
    {"outcome": "postponed", "postponed_to": "0001-01-01T10:00"},
    {"outcome": "postponed", "postponed_to": "2026-10-01T10:00"},
    {"outcome": "held", "actual_start": "0001-01-01T10:00"},
])
def test_the_meeting_record_refuses_year_one_and_the_past_too(app, clock, as_user, fields):
    course = gen_course("cft", timezone="Asia/Tokyo")
    response = post_form(as_user(course.facilitator),
                         f"/facilitate/cohorts/{course.cohort.id}/meetings/3", fields)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert any(message in page for message in
               ("has passed", "actually started", "Enter a date between 1900 and 2200"))
    assert db.session.scalar(select(func.count()).select_from(Meeting)) == 0


def test_postponing_in_the_meeting_record_is_checked_and_announced_as_a_move(course, as_user):
    client = as_user(course.facilitator)
    path = f"/facilitate/cohorts/{course.cohort.id}/meetings/3"
    clash = post_form(client, path, {"outcome": "postponed", "postponed_to": "2026-11-05T10:00"})
    assert "clash with the meeting of session 4" in clash.get_data(as_text=True)
    ok = post_form(client, path, {"outcome": "postponed", "postponed_to": "2026-10-31T10:00",
                                  "notes": "Therapist unwell"})
    assert ok.status_code == 302
    assert _calendar(course).meeting(3).actual_start == utc(2026, 10, 31, 10)
    assert "meeting.moved" in _actions() and len(_mail()) == 2
    # Saving the record again without changing the time is not another change.
    post_form(client, path, {"outcome": "held", "postponed_to": "2026-10-31T10:00"})
    assert len(_mail()) == 2 and _calendar(course).meeting(3).sequence == 1


# --- shift the rest ------------------------------------------------------------------------------


def test_shifting_moves_every_later_meeting_release_and_the_post_course_window(
        course, as_user, client):
    baseline = gen_timepoint(course.study, "pre", 1, opens_day=-14, closes_day=0)
    post = gen_timepoint(course.study, "post", 2, opens_day=77, closes_day=98)
    before = {tp.key: window(tp, course.cohort) for tp in (baseline, post)}
    uids_before = set(_feed(client, course.user))
    response = _reschedule(as_user(course.facilitator), course, 3, "shift", "2026-11-05T18:00")
    assert response.status_code == 302
    calendar = _calendar(course)
    assert calendar.meeting(2).actual_start == utc(2026, 10, 22, 17)  # before: unchanged
    for number in range(3, 13):
        meeting = calendar.meeting(number)
        assert meeting.actual_start == meeting.planned_start + WEEK, number
        assert meeting.release_at == meeting.actual_start - timedelta(hours=1)
    assert window(baseline, course.cohort) == before["pre"]
    assert window(post, course.cohort) == tuple(t + WEEK for t in before["post"])
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "meeting.shifted"))
    assert (entry.details["session"], entry.details["minutes"]) == (3, 7 * 24 * 60)
    events = _feed(client, course.user)
    assert set(events) == uids_before and len(events) == 12  # same UIDs, no duplicates
    assert [int(events[f"session{n}"]["sequence"]) for n in (2, 3, 12)] == [0, 1, 1]
    assert events["session12"].decoded("dtstart") == utc(2026, 12, 31, 18) + WEEK
    assert "Every later meeting moves by the same interval." in _mail()[0].body_text


def test_a_second_shift_raises_the_sequence_again_and_adds_up(course, as_user, client):
    staff = as_user(course.facilitator)
    _reschedule(staff, course, 3, "shift", "2026-11-05T18:00")
    assert _reschedule(staff, course, 6, "shift", "2026-12-03T18:00").status_code == 302
    calendar = _calendar(course)
    assert calendar.meeting(5).actual_start == utc(2026, 11, 12, 18) + WEEK
    assert calendar.meeting(6).actual_start == utc(2026, 12, 3, 18)
    assert calendar.meeting(12).actual_start == utc(2026, 12, 31, 18) + 2 * WEEK
    events = _feed(client, course.user)
    assert [int(events[f"session{n}"]["sequence"]) for n in (3, 5, 6, 12)] == [1, 1, 2, 2]


def test_shifting_backwards_is_refused(course, as_user):
    response = _reschedule(as_user(course.facilitator), course, 3, "shift", "2026-10-28T18:00")
    assert "choose a time after the current one" in response.get_data(as_text=True)


def test_the_retreat_moves_with_a_shift_that_starts_before_it(app, clock, as_user, client):
    course = gen_course("msc")
    (retreat,) = _calendar(course).events
    assert retreat.date == date(2026, 11, 22)
    staff = as_user(course.facilitator)
    _reschedule(staff, course, 7, "shift", "2026-12-03T18:00")  # session 7 is after it
    assert _calendar(course).events[0].date == date(2026, 11, 22)
    _reschedule(staff, course, 3, "shift", "2026-11-05T18:00")
    assert _calendar(course).events[0].date == date(2026, 11, 29)
    assert int(_feed(client, course.user)["event-retreat"]["sequence"]) == 1


# --- cancel with a make-up ---------------------------------------------------------------------


def test_a_make_up_meeting_gets_reminders_the_join_link_and_its_own_event(
        course, as_user, client, clock):
    response = _reschedule(as_user(course.facilitator), course, 3, "makeup", "2026-10-31T10:00")
    assert response.status_code == 302
    calendar = _calendar(course)
    assert calendar.meeting(3).status == MeetingStatus.CANCELLED
    assert calendar.meeting(3).release_at == utc(2026, 10, 29, 17)  # material as planned
    assert [m.actual_start for m in calendar.makeups] == [utc(2026, 10, 31, 10)]
    assert "meeting.makeup" in _actions()
    assert "A make-up meeting takes place on" in _mail()[0].body_text
    events = _feed(client, course.user)
    assert str(events["session3"]["status"]) == "CANCELLED"
    assert events["session3-makeup"].decoded("dtstart") == utc(2026, 10, 31, 10)
    clock.move_to(utc(2026, 10, 31, 9, 50))
    tick(utc(2026, 10, 31, 9, 50))
    reminders = [m for m in _mail("meeting_reminder") if "20261031T1000Z" in m.dedup_key]
    assert {m.recipient_id for m in reminders} == {course.user.id, course.facilitator.id}
    db.session.expire_all()
    week = participant_week(course.participant, utc(2026, 10, 31, 9, 50), date(2026, 10, 31),
                            "en")
    assert week.upcoming.status == MeetingStatus.MAKEUP and week.join_open


def test_cancelling_without_a_make_up_is_announced(course, as_user):
    response = _reschedule(as_user(course.facilitator), course, 3, "cancel")
    assert response.status_code == 302
    assert _calendar(course).meeting(3).status == MeetingStatus.CANCELLED
    assert "meeting.cancelled" in _actions()
    assert "released as planned" in _mail()[0].body_text


# --- reminders and emails ------------------------------------------------------------------------


def test_a_reminder_queued_for_the_old_time_is_withdrawn(course, as_user, clock):
    clock.move_to(utc(2026, 10, 29, 17, 10))
    tick(utc(2026, 10, 29, 17, 10))  # the 1 h reminder for 18:00
    (queued,) = {m.dedup_key for m in _mail("meeting_reminder") if m.recipient_id ==
                 course.user.id and ":3:" in m.dedup_key}
    _reschedule(as_user(course.facilitator), course, 3, "move", "2026-10-31T10:00")
    db.session.expire_all()
    stale = db.session.scalar(select(OutboxMessage).where(OutboxMessage.dedup_key == queued))
    assert stale.status == "cancelled"
    clock.move_to(utc(2026, 10, 30, 10, 0))
    tick(utc(2026, 10, 30, 10, 0))
    assert any("20261031T1000Z:24h" in m.dedup_key for m in _mail("meeting_reminder"))


@pytest.mark.parametrize(("locale", "zone", "subject", "title"), [
    ("ja", "Asia/Tokyo", "Hearth：第3回のミーティングの日時が変わりました", "「"),
    ("zh", "Asia/Shanghai", "Hearth：第3次课的聚会时间已更改", "“"),
])
def test_each_person_is_told_in_their_language_and_time_zone(course, as_user, locale, zone,
                                                             subject, title):
    course.user.locale, course.user.timezone = locale, zone
    db.session.commit()
    _reschedule(as_user(course.facilitator), course, 3, "move", "2026-10-31T10:00")
    mail = {m.recipient_id: m for m in _mail()}
    participant, staff = mail[course.user.id], mail[course.facilitator.id]
    assert participant.subject == subject
    session = get_catalogue(locale).session("cft", 3).title
    assert f"{title}{session}" in participant.body_text
    assert for_recipient(utc(2026, 10, 31, 10), locale, zone) in participant.body_text
    assert staff.subject == "Hearth: session 3's meeting has moved"
    assert for_recipient(utc(2026, 10, 31, 10), None, None) in staff.body_text


def test_attendance_after_a_shift_starts_the_participant_on_the_shifted_day(course, as_user):
    client = as_user(course.facilitator)
    _reschedule(client, course, 2, "shift", "2026-10-29T18:00")
    post_form(client, f"/facilitate/cohorts/{course.cohort.id}/meetings/4/register",
              {f"status-{course.participant.id}": "present"})
    db.session.expire_all()
    assert course.participant.started_on == date(2026, 11, 12)  # planned for 5 November


# --- the pure calendar ---------------------------------------------------------------------------


def test_a_shift_keeps_the_wall_clock_across_the_change_of_summer_time():
    calendar = build_calendar(london_plan(overrides=(MeetingOverride(2, shift=WEEK, shifts=1),)))
    assert calendar.meeting(1).actual_start == utc(2026, 10, 15, 17)  # BST, unchanged
    assert calendar.meeting(2).actual_start == utc(2026, 10, 29, 18)  # 18:00 GMT, not 17:00
    assert calendar.meeting(2).status == MeetingStatus.SCHEDULED
    assert [m.sequence for m in calendar.meetings[:3]] == [0, 1, 1]
    assert course_end_shift(calendar) == 7


def test_a_make_up_is_the_next_meeting_and_the_cancelled_session_keeps_its_release():
    makeup = datetime(2026, 10, 24, 10)  # local Saturday
    calendar = build_calendar(london_plan(
        overrides=(MeetingOverride(2, cancelled=True, revision=1, makeup_start=makeup),)))
    assert calendar.meeting(2).release_at == utc(2026, 10, 22, 17)
    upcoming = next_meeting(calendar, utc(2026, 10, 23))
    assert (upcoming.status, upcoming.actual_start) == (MeetingStatus.MAKEUP,
                                                        utc(2026, 10, 24, 9))
    assert course_end_shift(calendar) == 0


def test_a_make_up_for_a_meeting_that_is_not_cancelled_is_refused():
    with pytest.raises(ValueError, match="make-up"):
        build_calendar(london_plan(overrides=(
            MeetingOverride(2, revision=1, makeup_start=datetime(2026, 10, 24, 10)),)))


def test_an_open_invitation_lasts_until_the_moved_post_course_window_closes(course, as_user,
                                                                           clock):
    from models import AssessmentInvitation
    from program.assessments.questionnaires import materialise_invitations

    gen_timepoint(course.study, "post", 2, opens_day=77, closes_day=98)
    clock.move_to(utc(2026, 12, 31, 9))  # the post window opened at midnight
    materialise_invitations(utc(2026, 12, 31, 9))
    invitation = db.session.scalar(select(AssessmentInvitation))
    assert invitation.expires_at == utc(2027, 1, 22)  # the end of day 98, London
    _reschedule(as_user(course.facilitator), course, 12, "shift", "2027-01-07T18:00")
    materialise_invitations(utc(2027, 1, 8, 9))
    db.session.expire_all()
    assert db.session.scalar(select(AssessmentInvitation)).expires_at == utc(2027, 1, 29)


def test_a_time_typed_with_another_outcome_is_checked_as_a_move(app, clock, as_user):
    course = gen_course("cft", timezone="Asia/Tokyo")
    path = f"/facilitate/cohorts/{course.cohort.id}/meetings/3"
    client = as_user(course.facilitator)
    response = post_form(client, path, {"outcome": "held", "postponed_to": "0001-01-01T10:00"})
    assert "Enter a date between 1900 and 2200" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Meeting)) == 0
    response = post_form(client, path, {"outcome": "held", "postponed_to": "2026-10-01T10:00"})
    assert "has passed" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Meeting)) == 0
    post_form(client, path, {"outcome": "postponed", "postponed_to": "2026-10-31T10:00"})
    post_form(client, path, {"outcome": "held", "postponed_to": ""})  # held at the new time
    assert _calendar(course).meeting(3).actual_start == utc(2026, 10, 31, 1)  # 10:00 Tokyo
    assert len(_mail()) == 2
