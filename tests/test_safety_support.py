"""A practice note that sounds like its author may be at risk: the author is shown where to
get help now, on the page the note leads to (the facilitators are alerted as before)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models import SafetyAlert, db
from tests.conftest import sign_in
from tests.factories import gen_participant, gen_user
from tests.factories_delivery import utc
from tests.fixtures_delivery import frozen_clock, long_sign_in_config  # noqa: F401
from tests.test_delivery_participant import _log_form
from tests.test_delivery_participant import course as course  # noqa: PLC0414 - the fixture

HELP = "If you need help now:"


@pytest.fixture
def clock_start():
    return utc(2026, 10, 16, 8)


def test_a_risk_note_shows_its_author_where_to_get_help_and_nobody_else(clock, course, app,
                                                                         as_user):
    client = as_user(course.user)
    calm = client.post("/me/practice/new", data=_log_form(client, note="A calm ten minutes."),
                       follow_redirects=True)
    assert calm.status_code == 200 and HELP not in calm.get_data(as_text=True)
    page = client.post("/me/practice/new",
                       data=_log_form(client, note="Some days I want to die."),
                       follow_redirects=True).get_data(as_text=True)
    assert HELP in page and "emergency" in page
    assert db.session.scalar(select(SafetyAlert.source_kind)) == "practice_log"

    neighbour = gen_participant(course.study, cohort=course.cohort, user=gen_user("participant"))
    other = app.test_client()
    sign_in(other, db.session.get(type(course.user), neighbour.user_id))
    assert HELP not in other.get("/me/practice").get_data(as_text=True)
