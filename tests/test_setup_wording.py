"""Licensed item wording uploaded per instrument and language through the set-up page, kept in
the database; without it (or with a wording file that is gone) the neutral placeholders."""

from __future__ import annotations

import io
from datetime import date

import pytest
import time_machine
from sqlalchemy import func, select

from models import AuditEntry, InstrumentWording, Timepoint, db
from tests.conftest import post_form, sign_in
from tests.factories import (
    gen_cohort,
    gen_participant,
    gen_staff,
    gen_study,
    gen_timepoint,
    gen_user,
)

START = date(2026, 3, 2)


@pytest.fixture
def setting(app):
    with time_machine.travel("2026-02-25 09:00Z", tick=False):
        study = gen_study("rct", "cft")
        cohort = gen_cohort(study, start_date=START)
        gen_timepoint(study, "pre", 1, ["BDI-II"], -14, 0)
        researcher = gen_user("researcher")
        gen_staff(study, researcher)
        person = gen_participant(study, arm="UC", cohort=cohort, status="randomised")
        yield study, researcher, person


def _questionnaire(app, person) -> str:
    tp = db.session.scalar(select(Timepoint).where(Timepoint.study_id == person.study_id))
    client = app.test_client()
    sign_in(client, person.user)
    response = client.get(f"/q/{tp.id}/BDI-II")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_a_missing_wording_file_shows_the_placeholders_not_an_error(app, setting):
    study, _researcher, person = setting
    study.instrument_settings = {"BDI-II": {"wording": "/nonexistent/bdi-ii-wording.yaml"}}
    db.session.commit()
    assert "BDI-II item 4" in _questionnaire(app, person)


def test_wording_uploaded_per_language_is_what_readers_of_that_language_see(
        app, setting, as_user):
    study, researcher, person = setting
    client = as_user(researcher)
    page = f"/research/studies/{study.id}/wording"
    assert "BDI-II" in client.get(page).get_data(as_text=True)
    response = post_form(client, page, {"instrument": "BDI-II", "language": "en",
                                        "wording_text": "items:\n  4: Licensed item four\n"})
    assert response.status_code == 302
    assert "Licensed item four" in _questionnaire(app, person)

    # a Japanese reader has no Japanese wording yet: placeholders, not the English
    person.user.locale = "ja"
    db.session.commit()
    assert "Licensed item four" not in _questionnaire(app, person)
    assert post_form(client, page, {"instrument": "BDI-II", "language": "ja",
                                    "wording_text": "items: {4: 許諾された第4項目}"}
                     ).status_code == 302
    assert "許諾された第4項目" in _questionnaire(app, person)
    assert db.session.scalar(select(func.count()).select_from(InstrumentWording)) == 2
    # the English reader still sees the English wording
    person.user.locale = "en"
    db.session.commit()
    assert "Licensed item four" in _questionnaire(app, person)


def test_bad_wording_is_refused_and_nothing_is_written(app, setting, as_user):
    study, researcher, _person = setting
    client = as_user(researcher)
    page = f"/research/studies/{study.id}/wording"
    before = (db.session.scalar(select(func.count()).select_from(InstrumentWording)),
              db.session.scalar(select(func.count()).select_from(AuditEntry)))
    for bad in ({"instrument": "BDI-II", "language": "en", "wording_text": "items: {99: x}"},
                {"instrument": "BDI-II", "language": "en", "wording_text": "items: [unclosed"},
                {"instrument": "BDI-II", "language": "en", "wording_text": "just text"},
                {"instrument": "BDI-II", "language": "en", "wording_text": ""},
                {"instrument": "NOPE", "language": "en", "wording_text": "items: {1: x}"},
                {"instrument": "BDI-II", "language": "fr", "wording_text": "items: {1: x}"}):
        response = post_form(client, page, bad)
        assert response.status_code == 200, bad
        assert "error" in response.get_data(as_text=True), bad
    after = (db.session.scalar(select(func.count()).select_from(InstrumentWording)),
             db.session.scalar(select(func.count()).select_from(AuditEntry)))
    assert after == before


def test_uploaded_files_that_are_not_wording_or_too_big_are_refused(app, setting, as_user):
    study, researcher, _person = setting
    client = as_user(researcher)
    page = f"/research/studies/{study.id}/wording"
    before = db.session.scalar(select(func.count()).select_from(InstrumentWording))
    for content in (b"\xff\xfe\x00binary", b"items: {1: x}" + b" " * (600 * 1024), b"",
                    b"- a\n- list\n"):
        response = post_form(client, page, {"instrument": "BDI-II", "language": "en",
                                            "wording_file": (io.BytesIO(content), "w.yaml")},
                             content_type="multipart/form-data")
        assert response.status_code == 200, content[:20]
        assert "error" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(InstrumentWording)) == before
    good = post_form(client, page, {"instrument": "BDI-II", "language": "zh",
                                    "wording_file": (io.BytesIO("items: {2: 第二项}".encode()),
                                                     "bdi-zh.yaml")},
                     content_type="multipart/form-data")
    assert good.status_code == 302
    assert db.session.scalar(select(InstrumentWording.language)) == "zh"
