"""The assessment schedule: windows, invitations with expiring links, reminders, answers,
submit once, scoring into tidy rows, and risk alerts."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select

from models import (
    AssessmentInvitation,
    OutboxMessage,
    Response,
    SafetyAlert,
    Score,
    Study,
    db,
    utcnow,
    write_transaction,
)
from program.assessments import questionnaires as assessments
from program.assessments.questionnaires import AnswerError
from program.core.mail import sent_mail
from program.messaging.jobs import dispatch
from program.trial import withdrawal
from tests.factories import (
    gen_cohort,
    gen_participant,
    gen_staff,
    gen_study,
    gen_timepoint,
    gen_user,
)

START = date(2026, 3, 2)  # a Monday; the cohort meets in Tokyo
NOW = datetime(2026, 2, 20, 3, 0, tzinfo=UTC)


@pytest.fixture
def setup(app):
    study = gen_study("rct", "cft")
    cohort = gen_cohort(study, start_date=START, timezone="Asia/Tokyo")
    pre = gen_timepoint(study, "pre", 1, ["BDI-II", "GRID-HAMD", "SCS-SF"], -14, 0)
    post = gen_timepoint(study, "post", 2, ["BDI-II"], 77, 98)
    person = gen_participant(study, arm="UC", cohort=cohort, status="randomised")
    return study, cohort, pre, post, person


def test_windows_are_whole_days_in_the_cohorts_time_zone(setup):
    _study, cohort, pre, post, _ = setup
    opens, closes = assessments.window(pre, cohort)
    assert opens == datetime(2026, 2, 15, 15, 0, tzinfo=UTC)  # 16 Feb 00:00 in Tokyo
    assert closes == datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # end of the start day
    assert assessments.window(post, cohort)[0] == datetime(2026, 5, 17, 15, 0, tzinfo=UTC)


def test_an_invitation_goes_out_once_with_a_link_whose_token_is_not_stored(setup):
    _study, _cohort, pre, _post, person = setup
    assert assessments.materialise_invitations(NOW) == 1
    assert assessments.materialise_invitations(NOW + timedelta(hours=1)) == 0
    message = db.session.scalar(select(OutboxMessage))
    assert message.recipient_id == person.user_id and message.kind == "assessment_invitation"
    assert "/q/t/" not in message.body_text + message.body_html  # the outbox opens nothing
    dispatch(utcnow())
    token = re.search(r"/q/t/([0-9a-f]+)", sent_mail()[-1]["body"]).group(1)
    invitation = db.session.scalar(select(AssessmentInvitation))
    assert invitation.timepoint_id == pre.id and token not in invitation.token_hash
    assert invitation.expires_at == datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    assert assessments.invitation_for_token(token, NOW).id == invitation.id
    assert assessments.invitation_for_token(token, invitation.expires_at) is None
    assert assessments.invitation_for_token("0" * 40, NOW) is None


def test_reminders_every_three_days_until_done_or_closed(setup):
    _study, _cohort, pre, _post, person = setup
    assessments.materialise_invitations(NOW)
    assert assessments.materialise_invitations(NOW + timedelta(days=2)) == 0
    assert assessments.materialise_invitations(NOW + timedelta(days=3)) == 1
    assert assessments.materialise_invitations(NOW + timedelta(days=4)) == 0
    assert assessments.materialise_invitations(NOW + timedelta(days=6)) == 1
    # the window closed: no more reminders
    assert assessments.materialise_invitations(datetime(2026, 3, 3, tzinfo=UTC)) == 0
    kinds = db.session.scalars(select(OutboxMessage.kind).order_by(OutboxMessage.id)).all()
    assert kinds == ["assessment_invitation", "assessment_reminder", "assessment_reminder"]


def test_no_reminder_once_the_questionnaires_are_done(setup):
    _study, _cohort, pre, _post, person = setup
    assessments.materialise_invitations(NOW)
    for key in ("BDI-II", "SCS-SF"):
        instrument = assessments.study_instrument(person.study, key)
        assessments.save_answers(person.id, pre.id, key,
                                 {i.number: i.codes[0] for i in instrument.items})
        assessments.submit(person.id, pre.id, key, now=NOW)
    assert db.session.scalar(select(AssessmentInvitation.completed_at)) is not None
    assert assessments.materialise_invitations(NOW + timedelta(days=3)) == 0
    assert assessments.open_questionnaires(person, NOW) == []


def test_people_who_stopped_contact_are_not_invited(setup):
    _study, _cohort, _pre, _post, person = setup
    withdrawal.withdraw(person.id, "stop_contact", reason="", on=START)
    assert assessments.materialise_invitations(NOW) == 0
    assert assessments.open_questionnaires(person, NOW) == []


def test_dashboard_lists_open_self_report_questionnaires_with_their_deadline(setup):
    _study, _cohort, pre, _post, person = setup
    assert assessments.open_questionnaires(person, NOW - timedelta(days=10)) == []
    (q,) = assessments.open_questionnaires(person, NOW)
    assert q.timepoint.id == pre.id and q.instruments == ["BDI-II", "SCS-SF"]  # no GRID-HAMD
    assert q.closes_at == datetime(2026, 3, 2, 15, 0, tzinfo=UTC) and q.done == 0


def test_progress_is_saved_and_submit_requires_every_item_and_happens_once(setup):
    _study, _cohort, pre, _post, person = setup
    assessments.save_answers(person.id, pre.id, "BDI-II", {n: 1 for n in range(1, 11)})
    assessments.save_answers(person.id, pre.id, "BDI-II", {10: None, 11: 2})
    saved = assessments.find_response(person.id, pre.id, "BDI-II")
    assert len(saved.answers) == 10 and saved.status == "in_progress"
    result = assessments.submit(person.id, pre.id, "BDI-II", now=NOW)
    assert not result.submitted and result.missing[0] == 10 and len(result.missing) == 11
    assert db.session.scalar(select(func.count()).select_from(Score)) == 0

    assessments.save_answers(person.id, pre.id, "BDI-II", {n: 1 for n in range(1, 22)})
    result = assessments.submit(person.id, pre.id, "BDI-II", now=NOW)
    assert result.submitted and not result.already
    assert result.response.scores == {"BDI-II": 21.0}
    again = assessments.submit(person.id, pre.id, "BDI-II", now=NOW + timedelta(hours=1))
    assert again.already
    assessments.save_answers(person.id, pre.id, "BDI-II", {1: 3})  # ignored once submitted
    rows = db.session.execute(select(Score.measure, Score.value)).all()
    assert rows == [("BDI-II", 21.0)]
    assert assessments.find_response(person.id, pre.id, "BDI-II").answers["1"] == 1


def test_answers_outside_the_response_codes_are_refused(setup):
    _study, _cohort, pre, _post, person = setup
    with pytest.raises(AnswerError):
        assessments.save_answers(person.id, pre.id, "BDI-II", {1: 4})
    with pytest.raises(AnswerError):
        assessments.save_answers(person.id, pre.id, "BDI-II", {22: 0})
    with pytest.raises(LookupError):
        assessments.save_answers(person.id, pre.id, "DASS-21", {1: 0})


def test_bdi_item_9_raises_a_safety_alert_to_the_clinician_at_once(setup):
    study, _cohort, pre, _post, person = setup
    clinician = gen_user("facilitator")
    gen_staff(study, clinician, clinician=True)
    answers = {n: 0 for n in range(1, 22)} | {9: 2}
    assessments.save_answers(person.id, pre.id, "BDI-II", answers)
    result = assessments.submit(person.id, pre.id, "BDI-II", now=NOW)
    assert [r.id for r in result.risks] == ["bdi-ii-item-9"]
    alert = db.session.scalar(select(SafetyAlert))
    assert (alert.source_kind, alert.source_id, alert.rule) == (
        "response", result.response.id, "bdi-ii-item-9")
    assert alert.participant_id == person.id
    assert db.session.scalar(select(OutboxMessage.recipient_id)
                             .where(OutboxMessage.kind == "safety_alert")) == clinician.id


def test_risk_language_in_free_text_answers_raises_an_alert_naming_level_and_family(setup):
    study, _cohort, pre, _post, person = setup
    clinician = gen_user("facilitator")
    gen_staff(study, clinician, clinician=True)
    assessments.save_answers(person.id, pre.id, "BDI-II", {n: 0 for n in range(1, 22)})
    response = assessments.find_response(person.id, pre.id, "BDI-II")
    with write_transaction():
        db.session.merge(response).free_text = {"comment": "もう疲れた。遺書を書いた。"}
    result = assessments.submit(person.id, pre.id, "BDI-II", now=NOW)
    assert result.risks == []
    alert = db.session.scalar(select(SafetyAlert))
    assert (alert.source_kind, alert.source_id, alert.level, alert.families) == (
        "response", result.response.id, "urgent", "plan_preparation")
    assert "遺書" not in alert.rule
    assert db.session.scalar(select(OutboxMessage.recipient_id)
                             .where(OutboxMessage.kind == "safety_alert")) == clinician.id


def test_ordinary_free_text_answers_raise_no_alert(setup):
    _study, _cohort, pre, _post, person = setup
    assessments.save_answers(person.id, pre.id, "BDI-II", {n: 0 for n in range(1, 22)})
    response = assessments.find_response(person.id, pre.id, "BDI-II")
    with write_transaction():
        db.session.merge(response).free_text = {"comment": "I'm dead tired but sleeping better."}
    assessments.submit(person.id, pre.id, "BDI-II", now=NOW)
    assert db.session.scalar(select(SafetyAlert)) is None


def test_a_studys_own_risk_rule_also_raises_an_alert(app):
    study = gen_study("single_arm", "msc", instrument_settings={
        "DASS-21": {"risk_rules": [{"id": "dass-item-21", "item": 21, "op": ">=", "value": 3}]}})
    cohort = gen_cohort(study, start_date=START)
    tp = gen_timepoint(study, "baseline", 1, ["DASS-21"], -14, 0)
    person = gen_participant(study, cohort=cohort)
    assessments.save_answers(person.id, tp.id, "DASS-21", {n: 0 for n in range(1, 21)} | {21: 3})
    assert [r.id for r in assessments.submit(person.id, tp.id, "DASS-21").risks] == [
        "dass-item-21"]
    assert db.session.scalar(select(SafetyAlert.rule)) == "dass-item-21"


def test_a_study_metric_choice_is_used_for_the_stored_scores(app):
    study = gen_study(instrument_settings={"SCS-SF": {"metric": "sum"}})
    tp = gen_timepoint(study, "pre", 1, ["SCS-SF"])
    person = gen_participant(study)
    assessments.save_answers(person.id, tp.id, "SCS-SF", {n: 3 for n in range(1, 13)})
    assert assessments.submit(person.id, tp.id, "SCS-SF").response.scores == {"SCS-SF@sum": 36.0}




@st.composite
def answer_sets(draw):
    key = draw(st.sampled_from(sorted(assessments.library())))
    instrument = assessments.library()[key]
    return key, {item.number: draw(st.sampled_from(item.codes)) for item in instrument.items}


@given(answer_sets())
@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_no_answer_set_crashes_scoring_through_submit_or_leaves_the_valid_range(app, drawn):
    key, answers = drawn
    study = db.session.scalar(select(Study).where(Study.key == "property"))
    if study is None:
        study = gen_study(key="property")
        gen_timepoint(study, "pre", 1, sorted(assessments.library()))
        gen_participant(study)
    tp, person = study_tp_and_person(study)
    assessments.save_answers(person.id, tp.id, key, answers)
    with time_machine.travel(NOW):
        result = assessments.submit(person.id, tp.id, key)
    assert result.submitted
    instrument = assessments.study_instrument(study, key)
    for measure, value in result.response.scores.items():
        scale = measure.split("@")[0].partition(".")[2] or "total"
        lo, hi = instrument.valid_range(None, scale)
        assert value is not None and lo - 1e-9 <= value <= hi + 1e-9, (measure, value)
    db.session.execute(delete(Response).where(Response.participant_id == person.id))
    db.session.commit()


def study_tp_and_person(study):
    from models import Participant, Timepoint

    tp = db.session.scalar(select(Timepoint).where(Timepoint.study_id == study.id))
    person = db.session.scalar(select(Participant).where(Participant.study_id == study.id))
    return tp, person
