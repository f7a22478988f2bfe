"""A participant's progress page for the cohort's facilitators: sessions opened, practice per
week (chart with a table), their notes, attendance, questionnaires done; linked from the
roster's falling-behind list; other cohorts' staff and other cohorts' participants refused."""

from __future__ import annotations

import re
from datetime import date

import pytest

from models import Response, SessionProgress, db
from tests.factories import gen_participant, gen_timepoint
from tests.factories_delivery import gen_course, utc
from tests.factories_reports import gen_meeting, gen_practice
from tests.fixtures_delivery import frozen_clock, long_sign_in_config  # noqa: F401


@pytest.fixture
def clock_start():
    return utc(2026, 11, 6, 9)  # gen_course starts Thu 15 Oct 2026: week 4


@pytest.fixture
def course(app, clock):
    return gen_course("cft")


def _path(course, participant):
    return f"/facilitate/cohorts/{course.cohort.id}/participants/{participant.id}"


def _progress_world(course):
    me = course.participant
    gen_practice(me, date(2026, 10, 16), 20, note="The breathing helped before work")
    gen_practice(me, date(2026, 10, 18), 15)
    gen_practice(me, date(2026, 10, 28), 30, note="Hard week, kept going")
    db.session.add(SessionProgress(participant_id=me.id, session_number=1,
                                   opened_at=utc(2026, 10, 15, 19)))
    gen_meeting(course.cohort, 1, register=[(me, "present", 90)])
    gen_meeting(course.cohort, 2, register=[(me, "absent", 0)])
    tp = gen_timepoint(course.study, "pre", 1, ["BDI-II", "DASS-21"], -14, 0)
    db.session.add(Response(participant_id=me.id, timepoint_id=tp.id, instrument_key="BDI-II",
                            status="submitted", answers={"1": 3}))
    db.session.commit()


def test_the_progress_page_shows_practice_notes_attendance_and_questionnaires(course, as_user):
    _progress_world(course)
    page = as_user(course.facilitator).get(_path(course, course.participant))
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    weeks = dict(re.findall(r'<tr><th scope="row">(\d+)</th><td>[^<]*</td><td>(\d+)</td>',
                            text))
    assert weeks == {"1": "35", "2": "30", "3": "0", "4": "0"}  # minutes per course week
    assert text.count("<rect ") == 4 and 'role="img"' in text
    assert "The breathing helped before work" in text and "Hard week, kept going" in text
    assert "not on the register" not in text and "absent" in text
    assert "1 of 2 (BDI-II)" in text
    assert "not opened" in text  # session 2 released, never opened


def test_the_falling_behind_list_links_to_the_progress_page(course, as_user):
    _progress_world(course)
    page = as_user(course.facilitator).get(
        f"/facilitate/cohorts/{course.cohort.id}/roster").get_data(as_text=True)
    assert f'See how {course.user.display_name} is doing' in page
    assert _path(course, course.participant) in page


def test_a_late_joiner_is_shown_as_joining_later_not_absent(course, as_user):
    late = gen_participant(course.study, cohort=course.cohort, arm="CFT")
    gen_meeting(course.cohort, 1, register=[(course.participant, "present", 90)])
    gen_meeting(course.cohort, 2, register=[(late, "present", 90)])
    text = as_user(course.facilitator).get(_path(course, late)).get_data(as_text=True)
    assert "before joining the cohort" in text


def test_other_cohorts_and_usual_care_are_refused(course, as_user):
    other = gen_course("cft")
    control = gen_participant(course.study, cohort=course.cohort, arm="UC")
    client = as_user(course.facilitator)
    assert client.get(_path(course, other.participant)).status_code == 404
    assert client.get(_path(course, control)).status_code == 404
    # a facilitator of another cohort: the authorisation matrix (other_facilitator, 404)
