"""The researcher's pages: a person from application to allocation, scoped to own studies."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from models import AdverseEvent, AllocationSlot, OutboxMessage, Participant, Screening, Study, db
from program.safety.alerts import raise_alert
from program.trial import studies as trial_studies
from program.trial.setup import SetupError
from tests.conftest import post_form
from tests.factories import gen_staff, gen_user
from tests.factories_trial import gen_applicant, gen_trial

SEED = 987654321
ANSWERS = {"age": "44", "bdi_ii": "33", "diagnosis": "yes", "ssri_failures": "2",
           "psychosis": "no", "suicidality": "no", "organic": "no", "substance": "no",
           "antisocial": "no", "other_severe": "no"}


def _researcher(study):
    user = gen_user("researcher")
    gen_staff(study, user)
    return user


def test_from_application_to_allocation_through_the_pages(app, as_user):
    study = gen_trial("blocks", seed=SEED)
    client = as_user(_researcher(study))
    assert post_form(client, f"/research/studies/{study.id}/allocation-list",
                     token_from=f"/research/studies/{study.id}").status_code == 302
    post_form(client, f"/research/studies/{study.id}/applicants",
              token_from=f"/research/studies/{study.id}")
    person = db.session.scalar(select(Participant))
    page = f"/research/participants/{person.id}"
    assert "Age in years" in client.get(page).get_data(as_text=True)

    post_form(client, f"{page}/screening", ANSWERS, token_from=page)
    post_form(client, f"{page}/consent", {"version": "v1.0", "on": "2026-03-01"}, token_from=page)
    done = post_form(client, f"{page}/randomise", token_from=page, follow_redirects=True)
    text = done.get_data(as_text=True)
    assert "Allocated to" in text
    db.session.expire_all()
    stored = db.session.get(Participant, person.id)
    assert stored.status == "randomised" and stored.arm_id is not None
    for path in (page, f"/research/studies/{study.id}", f"/research/studies/{study.id}/setup"):
        assert str(SEED) not in client.get(path).get_data(as_text=True)


def test_screening_records_reasons_and_an_incomplete_form_writes_nothing(app, as_user):
    study = gen_trial()
    client = as_user(_researcher(study))
    person = gen_applicant(study)
    page = f"/research/participants/{person.id}"
    incomplete = post_form(client, f"{page}/screening", {"age": "44"}, token_from=page)
    assert incomplete.status_code == 400
    assert db.session.scalar(select(Screening)) is None
    post_form(client, f"{page}/screening", ANSWERS | {"age": "65", "psychosis": "yes"},
              token_from=page)
    db.session.expire_all()
    assert db.session.get(Participant, person.id).exclusion_reasons == ["age", "psychosis"]
    flow = client.get(f"/research/studies/{study.id}").get_data(as_text=True)
    assert "Age in years (18-60) 1" in flow and "Psychosis 1" in flow


def test_another_studys_records_are_not_found(app, as_user):
    mine, theirs = gen_trial(), gen_trial()
    client = as_user(_researcher(mine))
    stranger = gen_applicant(theirs)
    assert client.get(f"/research/studies/{theirs.id}").status_code == 404
    assert client.get(f"/research/participants/{stranger.id}").status_code == 404
    assert post_form(client, f"/research/participants/{stranger.id}/screening", ANSWERS,
                     token_from="/research/").status_code == 404
    assert theirs.title not in client.get("/research/").get_data(as_text=True)


def test_a_safety_alert_becomes_an_adverse_event_from_the_form(app, as_user):
    study = gen_trial(seed=SEED)
    clinician = gen_user("facilitator")
    gen_staff(study, clinician, clinician=True)
    client = as_user(_researcher(study))
    person = gen_applicant(study)
    person.arm_id = study.arms[0].id
    db.session.commit()
    alert = raise_alert("response", 1, "bdi-ii-item-9", study_id=study.id,
                        participant_id=person.id)
    db.session.commit()
    page = f"/research/participants/{person.id}"
    response = post_form(client, f"{page}/adverse-events", {
        "alert_id": str(alert.id), "description": "Overdose, admitted", "onset_on": "2026-03-03",
        "severity": "severe", "serious": "y", "relatedness": "unlikely", "outcome": "recovering",
    }, token_from=page)
    assert response.status_code == 302
    event = db.session.scalar(select(AdverseEvent))
    assert event.alert_id == alert.id and event.serious
    assert db.session.scalar(select(OutboxMessage.recipient_id).where(
        OutboxMessage.kind == "serious_adverse_event")) == clinician.id
    register = client.get(f"/research/studies/{study.id}/adverse-events").get_data(as_text=True)
    assert "Overdose, admitted" in register


def test_the_old_setup_address_leads_to_the_checklist_and_broken_rules_are_refused(
        app, as_user):
    study = gen_trial("simple", seed=SEED)
    client = as_user(_researcher(study))
    response = client.get(f"/research/studies/{study.id}/setup")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/research/studies/{study.id}/checklist")
    rules = list(study.eligibility_rules)
    with app.test_request_context(), pytest.raises(SetupError, match="inclusion or exclusion"):
        trial_studies.save_eligibility(study.id, [{"key": "age", "label": "Age"}])
    db.session.expire_all()
    assert db.session.get(Study, study.id).eligibility_rules == rules


def test_the_command_line_generates_the_list_and_prints_the_flow(app, runner):
    study = gen_trial("blocks", seed=SEED)
    result = runner.invoke(args=["trial", "allocation-list", study.key])
    slots = db.session.scalar(select(func.count()).select_from(AllocationSlot))
    assert result.exit_code == 0 and f"{slots} allocation slots" in result.output
    assert slots >= 60  # whole blocks covering the list length
    assert str(SEED) not in result.output
    again = runner.invoke(args=["trial", "allocation-list", study.key])
    assert again.exit_code == 1 and "already" in again.output
    gen_applicant(study)
    flow = runner.invoke(args=["trial", "flow", study.key])
    assert flow.exit_code == 0 and '"applied": 1' in flow.output
    assert runner.invoke(args=["trial", "flow", "nope"]).exit_code == 1
    assert "0 messages queued" in runner.invoke(args=["trial", "invite"]).output


def test_a_removal_request_needs_its_confirmation_and_without_it_changes_nothing(app, as_user):
    study = gen_trial("blocks", seed=SEED)
    client = as_user(_researcher(study))
    person = gen_applicant(study)
    page = f"/research/participants/{person.id}"
    refused = post_form(client, f"{page}/removal-request", token_from=page,
                        follow_redirects=True).get_data(as_text=True)
    assert "Tick the box to confirm" in refused
    db.session.expire_all()
    assert db.session.get(Participant, person.id).data_removal_requested_at is None
    post_form(client, f"{page}/removal-request", {"confirm": "yes"}, token_from=page)
    db.session.expire_all()
    stored = db.session.get(Participant, person.id)
    assert stored.data_removal_requested_at is not None and stored.status == "withdrawn"
