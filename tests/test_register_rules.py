"""The attendance register's rules: contradictory minutes are refused, and a participant who
joined the cohort late is not counted absent from the meetings before they joined."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from analysis import data as study_data
from analysis.feasibility import attendance_summary
from models import Attendance, db
from tests.conftest import post_form
from tests.factories import gen_participant
from tests.factories_delivery import gen_course, utc
from tests.factories_reports import gen_allocated, gen_meeting
from tests.fixtures_delivery import frozen_clock, long_sign_in_config  # noqa: F401


@pytest.fixture
def clock_start():
    return utc(2026, 11, 20, 9)


@pytest.fixture
def course(app, clock):
    return gen_course("cft")


def _register(course, number):
    return f"/facilitate/cohorts/{course.cohort.id}/meetings/{number}/register"


def test_absent_with_minutes_is_refused_and_nothing_is_saved(course, as_user):
    other = gen_participant(course.study, cohort=course.cohort, arm="CFT")
    client = as_user(course.facilitator)
    response = post_form(client, _register(course, 1), {
        f"status-{course.participant.id}": "absent", f"minutes-{course.participant.id}": "45",
        f"status-{other.id}": "present", f"minutes-{other.id}": "90"})
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and "error-summary" in text
    assert "is marked absent but attended 45 minutes" in text
    assert db.session.scalar(select(Attendance)) is None  # the good row was not saved either


def test_present_with_no_minutes_is_refused_when_minutes_are_required(course, as_user):
    client = as_user(course.facilitator)
    response = post_form(client, _register(course, 1), {
        f"status-{course.participant.id}": "late", f"minutes-{course.participant.id}": "0"})
    assert "is marked present with 0 minutes" in response.get_data(as_text=True)
    assert db.session.scalar(select(Attendance)) is None
    course.cohort.min_minutes_present = 0  # this cohort counts presence without minutes
    db.session.commit()
    response = post_form(client, _register(course, 1), {
        f"status-{course.participant.id}": "present", f"minutes-{course.participant.id}": "0"})
    assert response.status_code == 302
    assert db.session.scalar(select(Attendance.status)) == "present"


def test_consistent_marks_and_an_imported_dose_are_saved(course, as_user):
    other = gen_participant(course.study, cohort=course.cohort, arm="CFT")
    # the import keeps 30 minutes under the cohort's 60-minute rule as an absence with a dose
    gen_meeting(course.cohort, 1, register=[(other, "absent", 30)])
    client = as_user(course.facilitator)
    response = post_form(client, _register(course, 1), {
        f"status-{course.participant.id}": "present", f"minutes-{course.participant.id}": "85",
        f"status-{other.id}": "absent", f"minutes-{other.id}": "30"})
    assert response.status_code == 302
    rows = {a.participant_id: (a.status, a.minutes_attended)
            for a in db.session.scalars(select(Attendance))}
    assert rows == {course.participant.id: ("present", 85), other.id: ("absent", 30)}


def _late_joiner_cohort(course):
    """Five meetings held; ``late`` joined at meeting 3 and came to 3 and 5; ``never`` was
    in the cohort from the start and came to none."""
    late = gen_allocated(course.study, "CFT", course.cohort)
    never = gen_allocated(course.study, "CFT", course.cohort)
    course.participant.eligible = True
    course.participant.randomised_at = late.randomised_at
    course.participant.consented_on = late.consented_on
    for number in range(1, 6):
        register = [(course.participant, "present", 90)]
        if number in (3, 5):
            register.append((late, "present", 90))
        gen_meeting(course.cohort, number, register=register)
    return late, never


def test_the_roster_does_not_count_a_late_joiner_absent_before_they_joined(course, as_user):
    late, never = _late_joiner_cohort(course)
    page = as_user(course.facilitator).get(
        f"/facilitate/cohorts/{course.cohort.id}/roster").get_data(as_text=True)
    counts = dict(re.findall(r'<span class="small">(P-\d+)</span>.*?</td>\s*<td>(\d+ / \d+)</td>',
                             page, re.S))
    assert counts[late.code] == "2 / 3"  # meetings 3, 4, 5 only
    assert counts[never.code] == "0 / 5"
    assert counts[course.participant.code] == "5 / 5"


def test_the_register_shows_a_late_joiner_and_does_not_fill_them_in(course, as_user):
    late, never = _late_joiner_cohort(course)
    client = as_user(course.facilitator)
    page = client.get(_register(course, 2)).get_data(as_text=True)
    assert page.count("joined the cohort later") == 1
    response = post_form(client, _register(course, 2), {"fill": "present"})
    assert response.status_code == 302
    marked = {a.participant_id for a in db.session.scalars(select(Attendance).join(
        Attendance.meeting).where(Attendance.meeting.has(session_number=2)))}
    assert late.id not in marked and never.id in marked


def test_the_attendance_export_and_mean_attendance_skip_meetings_before_joining(course):
    late, never = _late_joiner_cohort(course)
    table = study_data.attendance(db.session, course.study.id)
    meetings = {code: sorted(rows["meeting"]) for code, rows in table.groupby("participant_id")}
    assert meetings[late.code] == [3, 4, 5]
    assert meetings[never.code] == [1, 2, 3, 4, 5]
    rates = {p["participant_id"]: p["rate_pct"]
             for p in attendance_summary(table)["participants"]}
    assert rates[late.code] == pytest.approx(66.7, abs=0.1)
    assert rates[course.participant.code] == 100.0 and rates[never.code] == 0.0


def test_an_import_for_an_earlier_meeting_does_not_mark_a_late_joiner_absent(course, as_user):
    late = gen_participant(course.study, cohort=course.cohort, arm="CFT")
    never = gen_participant(course.study, cohort=course.cohort, arm="CFT")
    gen_meeting(course.cohort, 3, register=[(late, "present", 90)])
    client = as_user(course.facilitator)
    response = post_form(client, f"/facilitate/cohorts/{course.cohort.id}/meetings/1/import"
                                 "/confirm",
                         {"rows": "1", "participant-0": str(course.participant.id),
                          "minutes-0": "85", "confirm-0": "1"}, token_from=_register(course, 1))
    assert response.status_code == 302
    marks = {a.participant_id: a.status for a in db.session.scalars(
        select(Attendance).where(Attendance.meeting.has(session_number=1)))}
    assert marks == {course.participant.id: "present", never.id: "absent"}


def test_an_absence_on_the_register_before_the_first_attendance_still_counts(course, as_user):
    """Someone in the cohort from the start who missed meeting 1 did not join late."""
    skipped_first = gen_allocated(course.study, "CFT", course.cohort)
    gen_meeting(course.cohort, 1, register=[(skipped_first, "absent", 0)])
    gen_meeting(course.cohort, 2, register=[(skipped_first, "present", 90)])
    table = study_data.attendance(db.session, course.study.id)
    mine = table[table["participant_id"] == skipped_first.code]
    assert sorted(mine["meeting"]) == [1, 2] and list(mine.sort_values("meeting")["present"]) == [
        0, 1]
    client = as_user(course.facilitator)
    page = client.get(f"/facilitate/cohorts/{course.cohort.id}/roster").get_data(as_text=True)
    counts = dict(re.findall(r'<span class="small">(P-\d+)</span>.*?</td>\s*<td>(\d+ / \d+)</td>',
                             page, re.S))
    assert counts[skipped_first.code] == "1 / 2"
    assert "joined the cohort later" not in client.get(_register(course, 1)).get_data(
        as_text=True)
