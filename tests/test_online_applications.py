"""Online applications through the pages: the researcher opens the study's public page, people
apply, answer the screening questionnaire and give consent online on the current information
sheet, with a downloadable copy. The applicant's address is kept only beside the record."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from models import (
    AuditEntry,
    OnlineApplication,
    OutboxMessage,
    Participant,
    Screening,
    db,
    utcnow,
)
from program.messaging.jobs import dispatch
from program.trial import applications, removal
from tests.conftest import post_form
from tests.factories import gen_staff, gen_study, gen_user

RULES = [
    {"key": "age", "label": "Age in years", "type": "inclusion", "kind": "number", "min": 18,
     "max": 70},
    {"key": "practice", "label": "Able to practise 30 minutes a day", "type": "inclusion",
     "kind": "yes_no"},
    {"key": "psychosis", "label": "Psychosis", "type": "exclusion", "kind": "yes_no"},
]


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _msc_study():
    study = gen_study("single_arm", "msc", key="msc-online", code_prefix="M",
                      eligibility_rules=RULES, consent_version="v2.1")
    researcher = gen_user("researcher")
    gen_staff(study, researcher)
    return study, researcher


def _open(client, study):
    page = f"/research/studies/{study.id}/applications"
    assert "closed" in client.get(page).get_data(as_text=True)
    assert post_form(client, page, {"accepting": "y"}).status_code == 302
    db.session.refresh(study)
    assert study.accepts_applications


def _apply(app, email: str):
    """Apply on the public page as a new visitor; returns the visitor and their link."""
    visitor = app.test_client()
    response = post_form(visitor, "/apply/msc-online", {"email": email, "contact": "y"})
    assert response.status_code == 302, response.get_data(as_text=True)[:400]
    return visitor, response.headers["Location"]


def test_the_public_page_opens_only_when_the_study_accepts_applications(app, as_user):
    study, researcher = _msc_study()
    assert app.test_client().get("/apply/msc-online").status_code == 404
    client = as_user(researcher)
    _open(client, study)
    visitor = app.test_client()
    page = visitor.get("/apply/msc-online").get_data(as_text=True)
    assert study.title in page and 'name="email"' in page
    assert 'id="locale"' in page  # the language selector
    # in the visitor's language
    visitor.post("/auth/language", data={"locale": "ja", "next": "/apply/msc-online",
                                         "csrf_token": re.search(
                                             r'name="csrf_token" value="([^"]+)"',
                                             page).group(1)})
    assert "応募" in visitor.get("/apply/msc-online").get_data(as_text=True)

    before = (_count(Participant), _count(AuditEntry))
    for bad in ({"email": "not an address", "contact": "y"}, {"email": "a@example.org"},
                {"email": "", "contact": "y"}):
        response = post_form(app.test_client(), "/apply/msc-online", bad)
        assert response.status_code == 200 and 'class="error' in response.get_data(
            as_text=True), bad
    assert (_count(Participant), _count(AuditEntry)) == before

    post_form(client, f"/research/studies/{study.id}/applications", {})  # closes
    assert app.test_client().get("/apply/msc-online").status_code == 404


def test_an_applicant_is_screened_and_consents_online(app, as_user):
    study, researcher = _msc_study()
    client = as_user(researcher)
    _open(client, study)
    visitor, link = _apply(app, "Mei.Applicant@Example.org ")
    participant = db.session.scalar(select(Participant).where(Participant.study_id == study.id))
    application = db.session.scalar(select(OnlineApplication))
    assert (participant.code, participant.status) == ("M-0001", "applied")
    assert application.email == "mei.applicant@example.org"
    assert application.token_hash not in link  # only the hash is stored
    status = visitor.get(link).get_data(as_text=True)
    assert "M-0001" in status and "screening" in status

    # the same address cannot apply twice
    again = post_form(app.test_client(), "/apply/msc-online",
                      {"email": "mei.applicant@example.org", "contact": "y"})
    assert again.status_code == 200 and "already applied" in again.get_data(as_text=True)
    assert _count(Participant) == 1

    screening = f"{link}/screening"
    page = visitor.get(screening).get_data(as_text=True)
    assert "Able to practise 30 minutes a day" in page
    for bad in ({"age": "forty", "practice": "yes", "psychosis": "no"},
                {"age": "40", "practice": "maybe", "psychosis": "no"}, {"age": "40"}):
        response = post_form(visitor, screening, bad)
        assert response.status_code == 400 and 'class="error' in response.get_data(
            as_text=True)
    assert _count(Screening) == 0
    assert post_form(visitor, screening, {"age": "40", "practice": "yes", "psychosis": "no"}
                     ).status_code == 302
    db.session.refresh(participant)
    assert (participant.status, participant.eligible) == ("screened", True)
    assert visitor.get(screening).status_code == 302  # answered once

    consent = f"{link}/consent"
    assert "v2.1" in visitor.get(consent).get_data(as_text=True)
    assert post_form(visitor, consent, {}).status_code == 400
    assert post_form(visitor, consent, {"agree": "y"}).status_code == 302
    db.session.refresh(participant)
    db.session.refresh(application)
    assert (participant.status, participant.consent_version) == ("consented", "v2.1")
    assert application.consented_at is not None and application.consent_version == "v2.1"

    copy = visitor.get(f"{link}/consent-copy.html")
    assert copy.status_code == 200 and copy.mimetype == "text/html"
    assert "attachment" in copy.headers["Content-Disposition"]
    text = copy.get_data(as_text=True)
    assert "M-0001" in text and "v2.1" in text and "Consent given on" in text
    actions = set(db.session.scalars(select(AuditEntry.action)))
    assert {"participant.applied_online", "participant.screened_online",
            "participant.consented_online", "study.applications_toggled"} <= actions

    # the researcher sees the application with its contact address
    listing = client.get(f"/research/studies/{study.id}/applications").get_data(as_text=True)
    assert "mei.applicant@example.org" in listing and "M-0001" in listing


def test_an_ineligible_applicant_is_told_kindly_and_cannot_consent(app, as_user):
    study, researcher = _msc_study()
    _open(as_user(researcher), study)
    visitor, link = _apply(app, "young@example.org")
    post_form(visitor, f"{link}/screening", {"age": "16", "practice": "yes", "psychosis": "no"})
    participant = db.session.scalar(select(Participant))
    assert (participant.status, participant.exclusion_reasons) == ("ineligible", ["age"])
    assert "not the right one for you" in visitor.get(link).get_data(as_text=True)
    assert visitor.get(f"{link}/consent").status_code == 302
    assert visitor.get(f"{link}/consent-copy.html").status_code == 404


def test_unknown_expired_and_removed_links_open_nothing(app, as_user):
    study, researcher = _msc_study()
    _open(as_user(researcher), study)
    visitor, link = _apply(app, "gone@example.org")
    assert app.test_client().get("/apply/continue/not-a-token").status_code == 404
    application = db.session.scalar(select(OnlineApplication))
    application.expires_at = application.created_at - timedelta(seconds=1)
    db.session.commit()
    assert visitor.get(link).status_code == 404
    application.expires_at = application.created_at + timedelta(days=1)
    db.session.commit()
    assert visitor.get(link).status_code == 200
    removal.remove_participant_data(application.participant_id)
    assert _count(OnlineApplication) == 0  # the address goes with the data
    assert visitor.get(link).status_code == 404


@pytest.mark.parametrize("app_config", [{"APPLY_LIMIT_PER_ADDRESS": "2 per hour"}])
def test_applications_from_one_address_are_rate_limited(app, as_user):
    study, researcher = _msc_study()
    _open(as_user(researcher), study)
    _apply(app, "one@example.org")
    # refused submissions (a bad address) do not count towards the limit
    assert post_form(app.test_client(), "/apply/msc-online", {"email": "bad"}).status_code == 200
    _visitor, link = _apply(app, "two@example.org")
    third = post_form(app.test_client(), "/apply/msc-online",
                      {"email": "three@example.org", "contact": "y"})
    assert third.status_code == 429
    assert _count(OnlineApplication) == 2
    participant_id = db.session.scalar(select(OnlineApplication.participant_id)
                                       .where(OnlineApplication.email == "two@example.org"))
    assert applications.applicant_contact(participant_id) == ("two@example.org", "en")


def test_the_information_sheet_written_on_the_consent_step_is_what_applicants_read(
        app, as_user):
    study, researcher = _msc_study()
    client = as_user(researcher)
    assert post_form(client, f"/research/studies/{study.id}/consent",
                     {"version": "v3", "sheet_text": "You may stop at any time, no reason needed.",
                      "current": "y"}).status_code == 302
    _open(client, study)
    visitor, link = _apply(app, "reader@example.org")
    assert post_form(visitor, f"{link}/screening",
                     {"age": "40", "practice": "yes", "psychosis": "no"}).status_code == 302
    page = visitor.get(f"{link}/consent").get_data(as_text=True)
    assert "You may stop at any time, no reason needed." in page and "v3" in page
    assert post_form(visitor, f"{link}/consent", {"agree": "y"}).status_code == 302
    copy = visitor.get(f"{link}/consent-copy.html").get_data(as_text=True)
    assert "You may stop at any time, no reason needed." in copy and "v3" in copy


def test_the_link_also_goes_by_email_and_its_body_is_emptied_once_sent(app, as_user):
    study, researcher = _msc_study()
    _open(as_user(researcher), study)
    _visitor, link = _apply(app, "Applicant@Example.org")
    message = db.session.scalar(select(OutboxMessage).where(
        OutboxMessage.kind == "application_link"))
    assert message.recipient_email == "applicant@example.org"
    assert message.recipient_id is None
    assert link.split("/apply/continue/")[1] in message.body_text
    assert dispatch(utcnow()).sent == 1
    sent = app.extensions["sent_mail"][-1]
    assert link.split("/apply/continue/")[1] in str(sent)
    db.session.refresh(message)
    assert message.status == "sent" and message.body_text == ""


def test_an_online_applicants_invitation_is_filled_in_with_the_address_they_gave(app, as_user):
    """Enrolled, the applicant is invited at the address they applied with (and in the
    language of the page they applied on): the researcher need not copy it."""
    study, researcher = _msc_study()
    client = as_user(researcher)
    _open(client, study)
    visitor, link = _apply(app, "kaito@example.org")
    post_form(visitor, f"{link}/screening", {"age": "40", "practice": "yes", "psychosis": "no"})
    post_form(visitor, f"{link}/consent", {"agree": "y"})
    participant = db.session.scalar(select(Participant).where(Participant.study_id == study.id))
    page = f"/research/participants/{participant.id}"
    assert post_form(client, f"{page}/randomise", token_from=page).status_code == 302
    html = client.get(page).get_data(as_text=True)
    assert 'value="kaito@example.org"' in html
    # someone who applied to the team in person has no address to fill in
    other = post_form(client, f"/research/studies/{study.id}/applicants", token_from=page)
    assert 'value="kaito@example.org"' not in client.get(other.headers["Location"]).get_data(
        as_text=True)
