"""The facilitator's pages: meeting records, the register, the import, the roster, scoping."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from sqlalchemy import select

from models import Attendance, AuditEntry, Meeting, Participant, PracticeLog, db
from program.courses.delivery import cohort_calendar
from tests.conftest import csrf_token, post_form
from tests.factories import gen_participant, gen_user
from tests.factories_delivery import gen_course, utc
from tests.fixtures_delivery import frozen_clock, long_sign_in_config  # noqa: F401


@pytest.fixture
def clock_start():
    return utc(2026, 10, 30, 9)


@pytest.fixture
def course(app, clock):
    return gen_course("cft")


def _path(course, tail=""):
    return f"/facilitate/cohorts/{course.cohort.id}{tail}"


def test_cohort_page_shows_planned_and_actual_dates(course, as_user):
    db.session.add(Meeting(cohort_id=course.cohort.id, session_number=4, outcome="postponed",
                           postponed_to=utc(2026, 11, 7, 10), checklist_done=[]))
    db.session.add(Meeting(cohort_id=course.cohort.id, session_number=5, outcome="cancelled",
                           checklist_done=[]))
    db.session.commit()
    page = as_user(course.facilitator).get(_path(course)).get_data(as_text=True)
    assert "Thu 05 Nov 2026 18:00" in page  # planned, London time
    assert "postponed</span> Sat 07 Nov 2026 10:00" in page
    assert "cancelled</span>" in page


def test_an_msc_cohort_page_holds_the_retreats_facilitator_guide(app, as_user):
    msc = gen_course("msc")
    page = as_user(msc.facilitator).get(_path(msc)).get_data(as_text=True)
    assert "Half-day retreat" in page and "Holding the silence" in page


def test_a_cft_cohort_page_has_no_retreat_guide(course, as_user):
    page = as_user(course.facilitator).get(_path(course)).get_data(as_text=True)
    assert "Holding the silence" not in page


def test_recording_a_postponement_moves_the_session_release(course, as_user):
    client = as_user(course.facilitator)
    path = _path(course, "/meetings/3")
    items = [re.sub(r"&#3[49];", "'", m) for m in re.findall(
        r'name="checklist" type="checkbox" value="([^"]+)"', client.get(path).get_data(
            as_text=True))]
    assert len(items) >= 3
    response = post_form(client, path, {
        "outcome": "postponed", "postponed_to": "2026-10-31T10:00", "actual_start": "",
        "actual_minutes": "", "notes": "Therapist unwell", "checklist": items[:2]})
    assert response.status_code == 302
    meeting = db.session.scalar(select(Meeting).where(Meeting.session_number == 3))
    assert meeting.postponed_to == utc(2026, 10, 31, 10)  # London winter time = UTC
    assert meeting.checklist_done == items[:2]
    assert cohort_calendar(course.cohort).meeting(3).release_at == utc(2026, 10, 31, 10)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "meeting.record"))
    assert "Therapist" not in str(entry.details)


def test_postponed_without_a_new_date_is_refused(course, as_user):
    client = as_user(course.facilitator)
    response = post_form(client, _path(course, "/meetings/3"),
                         {"outcome": "postponed", "postponed_to": ""})
    assert response.status_code == 200
    assert "Give the new date and time." in response.get_data(as_text=True)
    assert db.session.scalar(select(Meeting)) is None


def test_register_upserts_one_row_per_participant_and_meeting(course, as_user):
    second = gen_participant(course.study, cohort=course.cohort, arm="CFT")
    control = gen_participant(course.study, cohort=course.cohort, arm="UC")
    client = as_user(course.facilitator)
    path = _path(course, "/meetings/2/register")
    page = client.get(path).get_data(as_text=True)
    assert f"status-{course.participant.id}" in page
    assert f"status-{control.id}" not in page  # usual care is not on the register
    post_form(client, path, {f"status-{course.participant.id}": "present",
                             f"status-{second.id}": "absent"})
    post_form(client, path, {f"status-{course.participant.id}": "late",
                             f"minutes-{course.participant.id}": "70",
                             f"status-{second.id}": "absent"})
    rows = {a.participant_id: a for a in db.session.scalars(select(Attendance))}
    assert len(rows) == 2
    assert (rows[course.participant.id].status, rows[course.participant.id].minutes_attended
            ) == ("late", 70)
    assert 'value="late" checked' in client.get(path).get_data(as_text=True)


def test_register_can_mark_everyone_not_marked_as_present(course, as_user):
    others = [gen_participant(course.study, cohort=course.cohort, arm="CFT") for _ in range(3)]
    client = as_user(course.facilitator)
    post_form(client, _path(course, "/meetings/1/register"),
              {f"status-{others[0].id}": "absent", "fill": "present"})
    rows = {a.participant_id: a.status for a in db.session.scalars(select(Attendance))}
    assert rows == {course.participant.id: "present", others[0].id: "absent",
                    others[1].id: "present", others[2].id: "present"}


def test_register_rejects_bad_input_and_writes_nothing(course, as_user):
    client = as_user(course.facilitator)
    path = _path(course, "/meetings/2/register")
    response = post_form(client, path, {f"status-{course.participant.id}": "asleep"})
    assert response.status_code == 200 and "error-summary" in response.get_data(as_text=True)
    response = post_form(client, path, {f"status-{course.participant.id}": "present",
                                        f"minutes-{course.participant.id}": "lots"})
    assert response.status_code == 200
    assert db.session.scalar(select(Attendance)) is None


def _started_on(participant_id):
    db.session.expire_all()
    return db.session.get(Participant, participant_id).started_on


def test_first_meeting_attended_sets_started_on_and_nothing_moves_it(course, as_user):
    late = gen_participant(course.study, cohort=course.cohort, arm="CFT")
    away = gen_participant(course.study, cohort=course.cohort, arm="CFT")
    client = as_user(course.facilitator)
    post_form(client, _path(course, "/meetings/2/register"),
              {f"status-{course.participant.id}": "present", f"status-{late.id}": "late",
               f"status-{away.id}": "absent"})
    # Session 2 of a cohort meeting Thursdays from 15 October.
    assert _started_on(course.participant.id) == date(2026, 10, 22)
    assert _started_on(late.id) == date(2026, 10, 22)
    assert _started_on(away.id) is None
    post_form(client, _path(course, "/meetings/3/register"),
              {f"status-{course.participant.id}": "present", f"status-{away.id}": "present"})
    assert _started_on(course.participant.id) == date(2026, 10, 22)  # never later
    assert _started_on(away.id) == date(2026, 10, 29)
    post_form(client, _path(course, "/meetings/2/register"),
              {f"status-{course.participant.id}": "absent", f"status-{late.id}": "absent"})
    assert _started_on(course.participant.id) == date(2026, 10, 22)  # un-marking keeps it
    assert _started_on(late.id) == date(2026, 10, 22)


def test_a_register_filled_in_late_for_an_earlier_meeting_moves_started_on_earlier(
        course, as_user):
    client = as_user(course.facilitator)
    post_form(client, _path(course, "/meetings/3/register"),
              {f"status-{course.participant.id}": "present"})
    assert _started_on(course.participant.id) == date(2026, 10, 29)
    post_form(client, _path(course, "/meetings/2/register"),
              {f"status-{course.participant.id}": "late"})
    assert _started_on(course.participant.id) == date(2026, 10, 22)  # the first one attended


def test_started_on_is_the_day_a_postponed_meeting_took_place(course, as_user):
    db.session.add(Meeting(cohort_id=course.cohort.id, session_number=2, outcome="postponed",
                           postponed_to=utc(2026, 10, 24, 23, 30), checklist_done=[]))
    db.session.commit()
    client = as_user(course.facilitator)
    post_form(client, _path(course, "/meetings/2/register"),
              {f"status-{course.participant.id}": "present"})
    # 23:30 UTC on the 24th is 00:30 on the 25th in London (summer time).
    assert _started_on(course.participant.id) == date(2026, 10, 25)


def test_import_matches_email_then_confirmed_name_and_keeps_minutes(course, as_user):
    course.user.display_name = "Aiko Tanaka"
    late_user = gen_user("participant", display_name="Benjamin Okafor")
    late = gen_participant(course.study, cohort=course.cohort, user=late_user, arm="CFT")
    missing = gen_participant(course.study, cohort=course.cohort, arm="CFT")
    db.session.commit()
    csv_text = ("Name (original name),User Email,Join time,Leave time,Duration (minutes)\n"
                f"Aiko T,{course.user.email.upper()},,,50\n"
                f"Aiko T,{course.user.email},,,35\n"
                "Ben Okafor,,,,30\n"
                "Someone Else,,,,90\n")
    client = as_user(course.facilitator)
    path = _path(course, "/meetings/2/import")
    review = client.post(path, data={"csrf_token": csrf_token(client, path),
                                     "report": (io.BytesIO(csv_text.encode()), "report.csv")},
                         content_type="multipart/form-data")
    text = review.get_data(as_text=True)
    assert "email match" in text and "name match" in text
    form = {"rows": "3", "participant-0": str(course.participant.id), "minutes-0": "85",
            "confirm-0": "1", "participant-1": str(late.id), "minutes-1": "30",
            "confirm-1": "1", "participant-2": "", "minutes-2": "90"}
    response = post_form(client, _path(course, "/meetings/2/import/confirm"), form,
                         token_from=path)
    assert response.status_code == 302
    rows = {a.participant_id: a for a in db.session.scalars(select(Attendance))}
    assert (rows[course.participant.id].status, rows[course.participant.id].minutes_attended
            ) == ("present", 85)
    # 30 minutes is under the cohort's 60-minute rule: absent, with the dose kept.
    assert (rows[late.id].status, rows[late.id].minutes_attended) == ("absent", 30)
    assert (rows[missing.id].status, rows[missing.id].minutes_attended) == ("absent", 0)
    assert {r.source for r in rows.values()} == {"import"}
    assert _started_on(course.participant.id) == date(2026, 10, 22)
    assert _started_on(late.id) is None and _started_on(missing.id) is None


def test_import_refuses_participants_of_another_cohort(course, as_user):
    other = gen_course("cft")
    client = as_user(course.facilitator)
    response = post_form(client, _path(course, "/meetings/2/import/confirm"),
                         {"rows": "1", "participant-0": str(other.participant.id),
                          "minutes-0": "90", "confirm-0": "1"}, token_from=_path(course))
    assert response.status_code == 400
    response = post_form(client, _path(course, "/meetings/2/import/confirm"),
                         {"rows": "many"}, token_from=_path(course))
    assert response.status_code == 400
    assert db.session.scalar(select(Attendance)) is None


def test_unreadable_report_is_explained(course, as_user):
    client = as_user(course.facilitator)
    path = _path(course, "/meetings/2/import")
    response = client.post(path, data={"csrf_token": csrf_token(client, path),
                                       "report": (io.BytesIO(b"colour,shape\nred,round\n"),
                                                  "x.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 200
    assert "This file cannot be read" in response.get_data(as_text=True)


def test_roster_highlights_who_is_falling_behind(course, as_user, clock):
    steady = gen_participant(course.study, cohort=course.cohort, arm="CFT")
    cohort = course.cohort
    for number in (1, 2):
        meeting = Meeting(cohort_id=cohort.id, session_number=number, outcome="held",
                          checklist_done=[])
        db.session.add(meeting)
        db.session.flush()
        db.session.add(Attendance(meeting_id=meeting.id, participant_id=steady.id,
                                  status="present"))
        db.session.add(Attendance(meeting_id=meeting.id, participant_id=course.participant.id,
                                  status="absent"))
    db.session.add(PracticeLog(participant_id=steady.id, practice_key="mindfulness-of-sound",
                               practised_on=date(2026, 10, 29), minutes=10,
                               submission_token="steady-token-0001"))
    db.session.commit()
    clock.move_to(utc(2026, 10, 30, 9))
    page = as_user(course.facilitator).get(_path(course, "/roster")).get_data(as_text=True)
    rows = re.findall(r"<tr( class=\"warn behind\")?>\s*<td>([^<]+)<", page)
    flagged = {name.strip() for cls, name in rows if cls}
    assert course.user.display_name in flagged
    assert steady.user.display_name not in flagged
    assert "missed two meetings in a row" in page and "no practice this week" in page


@pytest.mark.parametrize("tail", ["", "/roster", "/meetings/1", "/meetings/1/register",
                                  "/meetings/1/import"])
def test_facilitator_pages_refuse_other_cohorts_and_roles(course, client, tail):
    from tests.conftest import sign_in

    other_facilitator = gen_user("facilitator")
    sign_in(client, other_facilitator)
    assert client.get(_path(course, tail)).status_code == 404
    client.get("/auth/sign-in")
    post_form(client, "/auth/sign-out", token_from="/facilitate/")
    sign_in(client, course.user)
    assert client.get(_path(course, tail)).status_code == 403


def test_writes_to_another_cohort_are_refused(course, as_user):
    other = gen_course("cft")
    client = as_user(course.facilitator)
    target = f"/facilitate/cohorts/{other.cohort.id}/meetings/1"
    assert post_form(client, target, {"outcome": "cancelled"},
                     token_from=_path(course)).status_code == 404
    assert post_form(client, target + "/register",
                     {f"status-{other.participant.id}": "present"},
                     token_from=_path(course)).status_code == 404
    assert db.session.scalar(select(Meeting)) is None
    assert client.get(_path(course, "/meetings/13")).status_code == 404
