"""Questionnaire pages: reached signed in or by the personal link, saved, submitted once."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from models import OutboxMessage, Response, SafetyAlert, Score, User, db, utcnow
from program.assessments import questionnaires as assessments
from program.core.mail import sent_mail
from program.messaging.jobs import dispatch
from tests.conftest import post_form
from tests.factories import gen_cohort, gen_participant, gen_study, gen_timepoint, gen_user

START = date(2026, 3, 2)
DURING = "2026-02-25 09:00Z"


@pytest.fixture
def frozen():
    with time_machine.travel(DURING, tick=False):
        yield


@pytest.fixture
def person(app, frozen):
    study = gen_study("rct", "cft")
    cohort = gen_cohort(study, start_date=START)
    gen_timepoint(study, "pre", 1, ["BDI-II", "SCS-SF", "GRID-HAMD"], -14, 0)
    return gen_participant(study, arm="UC", cohort=cohort, status="randomised")


def _tp(person):
    from models import Timepoint
    return db.session.scalar(select(Timepoint).where(Timepoint.study_id == person.study_id))


def _link(person) -> str:
    """The link of the invitation email, as received (the outbox holds no live link)."""
    assessments.materialise_invitations()
    dispatch(utcnow())
    user = db.session.get(User, person.user_id)
    body = next(m["body"] for m in sent_mail() if m["to"] == user.email)
    return re.search(r"http://hearth\.test(/q/t/\S+)", body).group(1)


def test_the_emailed_link_opens_the_questionnaires_without_a_password(client, person):
    page = client.get(_link(person), follow_redirects=True)
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Beck Depression Inventory" in text and "GRID-HAMD" not in text
    form = client.get(f"/q/{_tp(person).id}/BDI-II").get_data(as_text=True)
    assert "BDI-II item 4" in form  # licensed wording is never shipped


def test_a_wrong_or_expired_link_opens_nothing(client, person):
    link = _link(person)
    assert client.get("/q/t/" + "0" * 40).status_code == 404
    with time_machine.travel("2026-03-10 00:00Z"):
        assert client.get(link).status_code == 404
    assert client.get(f"/q/{_tp(person).id}").status_code == 302  # to sign-in


def test_a_link_holder_cannot_open_another_studys_questionnaires(client, person):
    other = gen_study()
    other_tp = gen_timepoint(other, "pre", 1, ["BDI-II"], -14, 0)
    client.get(_link(person))
    assert client.get(f"/q/{other_tp.id}").status_code == 404
    assert client.get(f"/q/{other_tp.id}/BDI-II").status_code == 404
    assert client.get(f"/q/{_tp(person).id}/DASS-21").status_code == 404
    assert client.get(f"/q/{_tp(person).id}/GRID-HAMD").status_code == 404


def test_saving_halfway_and_resuming_keeps_the_answers(as_user, person):
    client = as_user(person.user)
    path = f"/q/{_tp(person).id}/BDI-II"
    saved = post_form(client, path, {f"item-{n}": "1" for n in range(1, 11)} | {"action": "save"})
    assert saved.status_code == 302
    page = client.get(path).get_data(as_text=True)
    assert page.count("checked") == 10
    assert client.get("/q/").get_data(as_text=True).count("0 of 2 done") == 1


def test_submit_requires_every_answer_and_counts_once(as_user, person):
    client = as_user(person.user)
    tp = _tp(person)
    path = f"/q/{tp.id}/BDI-II"
    incomplete = post_form(client, path, {f"item-{n}": "2" for n in range(1, 21)}
                           | {"item-9": "0", "action": "submit"})
    assert incomplete.status_code == 200
    assert "question 21" in incomplete.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Score)) == 0
    done = post_form(client, path, {"item-21": "2", "action": "submit"})
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/q/{tp.id}/SCS-SF")
    # 18 items at 2, item 9 at 0, items 16 and 18 at option code 2 ("1b", scored 1)
    assert db.session.scalar(select(Score.value)) == 38.0
    again = post_form(client, path, {"item-1": "0", "action": "submit"}, token_from="/q/")
    assert again.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Score)) == 1
    assert db.session.scalar(select(Score.value)) == 38.0


def test_a_risk_answer_shows_where_to_get_help_and_raises_an_alert(as_user, person):
    client = as_user(person.user)
    path = f"/q/{_tp(person).id}/BDI-II"
    page = post_form(client, path, {f"item-{n}": "0" for n in range(1, 22)}
                     | {"item-9": "3", "action": "submit"})
    assert page.status_code == 200
    assert "emergency" in page.get_data(as_text=True)
    assert db.session.scalar(select(SafetyAlert.rule)) == "bdi-ii-item-9"


def test_each_answer_is_saved_as_it_is_given(as_user, person):
    client = as_user(person.user)
    path = f"/q/{_tp(person).id}/SCS-SF/answer"
    ok = post_form(client, path, {"item": "3", "value": "5"}, token_from="/q/")
    assert ok.status_code == 200 and ok.get_json() == {"saved": True}
    assert post_form(client, path, {"item": "3", "value": "9"}, token_from="/q/").status_code == 400
    assert post_form(client, path, {"item": "99", "value": "1"},
                     token_from="/q/").status_code == 400
    assert db.session.scalar(select(Response.answers)) == {"3": 5}


def test_closed_windows_and_staff_are_refused(as_user, person, client):
    tp = _tp(person)
    with time_machine.travel(DURING) as traveller:
        traveller.shift(timedelta(days=30))
        assert as_user(person.user).get(f"/q/{tp.id}/BDI-II").status_code == 403
    staff_client = client
    post_form(staff_client, "/auth/sign-out", token_from="/auth/sign-in")
    staff = gen_user("researcher")
    assert as_user(staff).get(f"/q/{tp.id}").status_code == 403


def test_a_study_can_load_licensed_wording_from_its_own_file(as_user, person, tmp_path):
    wording = tmp_path / "bdi.yaml"
    wording.write_text('instrument: BDI-II\nlanguage: en\nitems:\n  4: "Our licensed item four"\n')
    study = person.study
    study.instrument_settings = {"BDI-II": {"wording": str(wording)}}
    db.session.commit()
    page = as_user(person.user).get(f"/q/{_tp(person).id}/BDI-II").get_data(as_text=True)
    assert "Our licensed item four" in page and "BDI-II item 5" in page


SELF_REPORT = sorted(k for k, i in assessments.library().items() if i.rater == "self")


@pytest.mark.parametrize("key", SELF_REPORT)
def test_every_self_report_instrument_is_scored_through_its_page(app, as_user, frozen, key):
    import random

    from program.instruments.scoring import score

    study = gen_study("single_arm", "msc")
    cohort = gen_cohort(study, start_date=START)
    tp = gen_timepoint(study, "baseline", 1, [key], -14, 0)
    person = gen_participant(study, cohort=cohort, status="active")
    instrument = assessments.library()[key]
    rng = random.Random(key)
    answers = {item.number: rng.choice(item.codes) for item in instrument.items}
    client = as_user(person.user)
    page = post_form(client, f"/q/{tp.id}/{key}",
                     {f"item-{n}": str(v) for n, v in answers.items()} | {"action": "submit"})
    assert page.status_code in (200, 302)
    expected = score(instrument, answers).measures
    stored = dict(db.session.execute(select(Score.measure, Score.value)).all())
    assert stored == pytest.approx(dict(expected))
    assert db.session.scalar(select(Response.status)) == "submitted"


def test_the_invitation_gives_the_closing_time_in_the_recipients_language_and_zone(app, person):
    from models import User
    from tests.test_i18n_catalogues import ensure_compiled

    ensure_compiled()
    user = db.session.get(User, person.user_id)
    user.locale, user.timezone = "ja", "Asia/Tokyo"
    db.session.commit()
    assessments.materialise_invitations()
    message = db.session.scalar(select(OutboxMessage).where(
        OutboxMessage.recipient_id == person.user_id))
    # The window closes at the end of 2 March in the cohort's zone (London, 00:00 UTC on
    # 3 March), which is 09:00 on 3 March in Tokyo.
    assert "2026年3月3日火曜日 09:00 日本標準時" in message.body_text, message.body_text
    assert "UTC" not in message.body_text and "研究の質問票" in message.body_text
