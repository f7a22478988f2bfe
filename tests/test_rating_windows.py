"""Raters are kept to assessment windows: a rating outside its timepoint's window is refused
with a clear message and nothing is saved."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from models import Response, db
from tests.conftest import post_form
from tests.factories import (
    gen_cohort,
    gen_participant,
    gen_staff,
    gen_study,
    gen_timepoint,
    gen_user,
)
from tests.factories_delivery import utc
from tests.fixtures_delivery import frozen_clock, long_sign_in_config  # noqa: F401

START = date(2026, 10, 1)  # a Thursday; the course runs eight weeks
ANSWERS = {f"item-{n}": "1" for n in range(1, 18)} | {"action": "submit"}


@pytest.fixture
def clock_start():
    return utc(2026, 11, 2, 12)  # week 5 of the course


@pytest.fixture
def trial(app, clock):
    study = gen_study("rct", "cft")
    cohort = gen_cohort(study, start_date=START, timezone="Europe/London")
    pre = gen_timepoint(study, "pre", 1, ["GRID-HAMD"], -14, 0)
    post = gen_timepoint(study, "post", 2, ["GRID-HAMD"], 56, 70)
    participant = gen_participant(study, arm="CFT", cohort=cohort, code="P-0001")
    rater = gen_user("rater")
    gen_staff(study, rater)
    return study, pre, post, participant, rater


def _path(study, participant, timepoint):
    return f"/rate/{study.id}/{participant.id}/{timepoint.id}/GRID-HAMD"


def test_a_post_course_rating_cannot_be_entered_in_week_five(trial, as_user):
    study, _pre, post, participant, rater = trial
    client = as_user(rater)
    page = client.get(_path(study, participant, post))
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "cannot be entered yet: its window opens on" in text and "26 Nov 2026" in text
    assert 'name="item-1"' not in text  # no form to fill in
    refused = post_form(client, _path(study, participant, post), ANSWERS,
                        token_from="/rate/")
    assert refused.status_code == 400
    assert "cannot be entered yet" in refused.get_data(as_text=True)
    assert db.session.scalar(select(Response)) is None
    assert "window not open" in client.get("/rate/").get_data(as_text=True)


def test_a_baseline_rating_cannot_be_entered_after_its_window_closed(trial, as_user):
    study, pre, _post, participant, rater = trial
    client = as_user(rater)
    refused = post_form(client, _path(study, participant, pre), ANSWERS, token_from="/rate/")
    assert refused.status_code == 400
    assert "can no longer be entered: its window closed on" in refused.get_data(as_text=True)
    assert db.session.scalar(select(Response)) is None


def test_a_rating_inside_its_window_is_entered(trial, as_user, clock):
    study, _pre, post, participant, rater = trial
    clock.move_to(utc(2026, 11, 27, 9))  # day 57: the post-course window is open
    client = as_user(rater)
    done = post_form(client, _path(study, participant, post), ANSWERS, token_from="/rate/")
    assert done.status_code == 302
    assert db.session.scalar(select(Response.status)) == "submitted"


def test_without_a_cohort_the_window_is_unknown_and_nothing_is_entered(trial, as_user):
    study, pre, _post, participant, rater = trial
    participant.cohort_id = None
    db.session.commit()
    refused = post_form(as_user(rater), _path(study, participant, pre), ANSWERS,
                        token_from="/rate/")
    assert refused.status_code == 400 and "not in a cohort yet" in refused.get_data(
        as_text=True)
