"""The contact log: researchers log calls, emails and messages with a participant; invitations
and reminders Hearth sent are listed with them; the study's log exports with codes only."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from models import AuditEntry, Invitation, OutboxMessage, db
from models.contacts import ContactLogEntry
from tests.conftest import post_form
from tests.factories import gen_participant, gen_staff, gen_study, gen_user
from tests.factories_delivery import utc
from tests.fixtures_delivery import frozen_clock, long_sign_in_config  # noqa: F401


@pytest.fixture
def clock_start():
    return utc(2026, 11, 10, 12)


@pytest.fixture
def trial(app, clock):
    study = gen_study("rct", "cft")
    participant = gen_participant(study, arm="CFT", code="P-0007")
    researcher = gen_user("researcher", timezone="Asia/Tokyo", display_name="Rina Research")
    gen_staff(study, researcher, blind=False)
    return study, participant, researcher


def _path(participant):
    return f"/research/participants/{participant.id}/contacts"


def _sent(dedup_key, kind, subject, *, recipient=None, email=None, status="sent"):
    db.session.add(OutboxMessage(dedup_key=dedup_key, recipient_id=recipient,
                                 recipient_email=email, kind=kind, subject=subject,
                                 body_text="...", status=status, sent_at=utc(2026, 11, 3, 8)))
    db.session.commit()


def test_a_researcher_logs_a_call_in_their_time_zone(trial, as_user):
    study, participant, researcher = trial
    client = as_user(researcher)
    assert "Contact log" in client.get(f"/research/participants/{participant.id}").get_data(
        as_text=True)
    response = post_form(client, _path(participant), {
        "kind": "call", "contacted_at": "2026-11-10T09:30", "outcome": "Reached, doing well",
        "next_step": "Call again after session 4"})
    assert response.status_code == 302
    entry = db.session.scalar(select(ContactLogEntry))
    assert entry.contacted_at == utc(2026, 11, 10, 0, 30)  # 09:30 in Tokyo
    assert entry.by_id == researcher.id and entry.kind == "call"
    audit = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "contact.logged"))
    assert audit.details == {"participant": "P-0007", "kind": "call"}  # no free text
    page = client.get(_path(participant)).get_data(as_text=True)
    assert "Reached, doing well" in page and "Call again after session 4" in page
    assert "Rina Research" in page


@pytest.mark.parametrize("fields, message", [
    ({"kind": "fax", "contacted_at": "2026-11-10T09:30", "outcome": "x"}, "Not a valid choice"),
    ({"kind": "call", "contacted_at": "2026-11-10T09:30", "outcome": ""}, "This field is"),
    ({"kind": "call", "contacted_at": "0001-01-01T09:30", "outcome": "x"}, "not in the future"),
    ({"kind": "call", "contacted_at": "2027-01-01T09:30", "outcome": "x"}, "not in the future"),
    ({"kind": "call", "contacted_at": "9999-12-31T23:59", "outcome": "x"}, "not in the future"),
    ({"kind": "call", "contacted_at": "2026-11-10T09:30", "outcome": "x" * 201},
     "200 characters"),
])
def test_bad_contacts_are_refused_and_nothing_is_logged(trial, as_user, fields, message):
    _study, participant, researcher = trial
    response = post_form(as_user(researcher), _path(participant), fields)
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert db.session.scalar(select(ContactLogEntry)) is None


def test_sent_invitations_and_reminders_are_listed_with_the_logged_contacts(trial, as_user):
    study, participant, researcher = trial
    invitation = Invitation(token_hash="h" * 64, email="p7@example.org", role="participant",
                            participant_id=participant.id, expires_at=utc(2026, 12, 1))
    db.session.add(invitation)
    db.session.commit()
    _sent(f"invitation:{invitation.id}:abc", "invitation", "Join the Hearth study",
          email="p7@example.org")
    _sent(f"assessment-reminder:{participant.id}:1:1", "assessment_reminder",
          "Your questionnaires are waiting", recipient=participant.user_id)
    _sent("digest:1", "daily_digest", "What happened in your group",
          recipient=participant.user_id)
    _sent("assessment-reminder:x", "assessment_reminder", "Not yet sent",
          recipient=participant.user_id, status="pending")
    other = gen_participant(study, arm="CFT")
    _sent("assessment-reminder:other", "assessment_reminder", "Someone else's",
          recipient=other.user_id)
    page = as_user(researcher).get(_path(participant)).get_data(as_text=True)
    assert "Join the Hearth study" in page and "Your questionnaires are waiting" in page
    assert "What happened in your group" not in page and "Not yet sent" not in page
    assert "Someone else" not in page
    assert page.count("sent by Hearth") == 2


def test_the_export_has_codes_and_no_names_or_addresses(trial, as_user):
    study, participant, researcher = trial
    client = as_user(researcher)
    post_form(client, _path(participant), {"kind": "email", "contacted_at": "2026-11-09T10:00",
                                           "outcome": "=HYPERLINK(\"x\")", "next_step": ""})
    _sent("assessment-invite:1:1", "assessment_invitation", "Questionnaires",
          recipient=participant.user_id)
    response = client.get(f"/research/studies/{study.id}/contacts.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    text = response.get_data().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["participant_id"], r["source"], r["kind"]) for r in rows] == [
        ("P-0007", "sent", "assessment_invitation"), ("P-0007", "logged", "email")]
    assert rows[1]["outcome"].startswith("'=")  # a spreadsheet shows it, never runs it
    assert rows[1]["staff_id"] == str(researcher.id)
    for secret in (participant.user.email, participant.user.display_name, "Rina Research",
                   "Questionnaires"):
        assert secret not in text
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "contact.exported"))


def test_researchers_of_other_studies_cannot_see_or_log(trial, as_user):
    _study, participant, _researcher = trial
    outsider = gen_user("researcher")
    gen_staff(gen_study(), outsider)
    client = as_user(outsider)
    assert client.get(_path(participant)).status_code == 404
    assert post_form(client, _path(participant), {"kind": "call", "outcome": "x",
                                                   "contacted_at": "2026-11-10T09:30"},
                     token_from="/research/").status_code == 404
    assert db.session.scalar(select(ContactLogEntry)) is None
