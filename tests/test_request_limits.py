"""Requests the app must refuse cleanly: bodies and forms over the limits (413), a text field
sent as a file, and values that parse but make no sense (a 400 or the form with an error, never
a 500)."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from models import Meeting, PracticeLog, db
from tests.conftest import csrf_token, post_form, sign_in
from tests.factories_world import gen_world


@pytest.fixture
def world(app):
    return gen_world()


def _as(app, user):
    client = app.test_client()
    sign_in(client, user)
    return client


def test_a_large_anonymous_body_is_refused_before_it_is_read(client):
    token = csrf_token(client)
    many = {f"f{n}": "x" for n in range(5000)}
    response = client.post("/auth/sign-in", data={"csrf_token": token, **many})
    assert response.status_code == 413
    big = client.post("/auth/sign-in", data={"csrf_token": token, "email": "a" * 2_000_000})
    assert big.status_code == 413
    assert "too large" in big.get_data(as_text=True).lower()


def test_uploads_may_be_larger_than_forms(app, world):
    client = _as(app, world.home.facilitator)
    path = f"/facilitate/cohorts/{world.home.cohort.id}/meetings/1/import"
    report = io.BytesIO(b"Name,Email,Duration (Minutes)\n" + b"x,y@example.org,5\n" * 40000)
    response = post_form(client, path, {"report": (report, "report.csv")},
                         content_type="multipart/form-data")
    assert response.status_code == 200  # over the form limit, under the upload limit


@pytest.mark.parametrize("path, field", [
    ("/auth/sign-in", "email"),
    ("/auth/reset", "email"),
])
def test_a_text_field_sent_as_a_file_is_a_400(client, path, field):
    data = {"csrf_token": csrf_token(client, path), field: (io.BytesIO(b"x@y.org"), "a.txt")}
    response = client.post(path, data=data, content_type="multipart/form-data")
    assert response.status_code == 400


def test_a_text_field_sent_as_a_file_to_a_signed_in_form_is_a_400(app, world):
    client = _as(app, world.home.member)
    data = {"csrf_token": csrf_token(client, "/me/practice/new"),
            "note": (io.BytesIO(b"a note"), "note.txt")}
    response = client.post("/me/practice/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 400


def test_superscript_minutes_in_the_register_are_a_form_error(app, world):
    client = _as(app, world.home.facilitator)
    path = f"/facilitate/cohorts/{world.home.cohort.id}/meetings/1/register"
    pid = world.home.participant.id
    response = post_form(client, path, {f"status-{pid}": "present", f"minutes-{pid}": "²"})
    assert response.status_code == 200
    assert "whole number up to 600" in response.get_data(as_text=True)


@pytest.mark.parametrize("field", ["postponed_to", "actual_start"])
def test_a_meeting_moved_to_year_one_is_a_form_error(app, world, field):
    client = _as(app, world.home.facilitator)
    path = f"/facilitate/cohorts/{world.home.cohort.id}/meetings/1"
    response = post_form(client, path, {"outcome": "postponed", field: "0001-01-01T00:30",
                                        "postponed_to": "0001-01-01T00:30"})
    assert response.status_code == 200
    assert "between 1900 and 2200" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Meeting)) == 0


def test_practice_logged_for_year_one_is_a_form_error(app, world):
    client = _as(app, world.home.member)
    response = post_form(client, "/me/practice/new", {
        "practice_key": world.log.practice_key, "practised_on": "0001-01-01", "minutes": "10",
        "token": "a-fresh-token-000000001"})
    assert response.status_code == 200
    assert "between 1900 and 2200" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(PracticeLog)) == 1  # the world's


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "NaN", "1e999"])
def test_a_report_threshold_that_is_not_a_number_is_a_form_error(app, world, value):
    from program.reports import criteria

    client = _as(app, world.home.researcher)
    study = world.home.study.id
    query = "&".join(f"{c['metric']}_{band}={value}" for c in criteria()
                     for band in ("green", "amber"))
    for suffix in ("", ".json", ".xlsx"):
        page = client.get(f"/research/reports/{study}/feasibility{suffix}?{query}")
        assert page.status_code in (200, 400), suffix
    efficacy = client.get(f"/research/reports/{study}/efficacy?rc_reliability={value}"
                          f"&rc_norm_sd={value}&rc_norm_mean={value}&rc_cutoff={value}")
    assert efficacy.status_code in (200, 400)
