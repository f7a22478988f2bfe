"""Live links are made at sending time: the outbox never holds a questionnaire or reset link,
and a sent message keeps only what the contact log needs. Mail goes through a real SMTP
server (aiosmtpd) to show the received message still carries a working link."""

from __future__ import annotations

import re
import socket
from datetime import date
from email import message_from_bytes, policy

import pytest
import time_machine
from aiosmtpd.controller import Controller
from sqlalchemy import select

from models import AssessmentInvitation, OutboxMessage, db, utcnow
from program.assessments import questionnaires as assessments
from program.messaging.jobs import dispatch
from tests.factories import gen_cohort, gen_participant, gen_study, gen_timepoint


class _Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, _server, _session, envelope):  # noqa: N802 - aiosmtpd's name
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


PORT = _free_port()


@pytest.fixture
def inbox():
    handler = _Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=PORT)
    controller.start()
    yield handler.messages
    controller.stop()


@pytest.fixture
def app_config():
    return {"MAIL_BACKEND": "smtp", "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": PORT,
            "MAIL_USE_TLS": False}


def _text_part(message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            return part.get_content()
    raise AssertionError("no text part")


def test_no_outbox_row_holds_a_questionnaire_link_and_the_mail_still_works(client, inbox):
    with time_machine.travel("2026-02-25 09:00Z", tick=False):
        study = gen_study("rct", "cft")
        cohort = gen_cohort(study, start_date=date(2026, 3, 2))
        gen_timepoint(study, "pre", 1, ["BDI-II", "SCS-SF"], -14, 0)
        person = gen_participant(study, arm="UC", cohort=cohort, status="randomised")
        assert assessments.materialise_invitations() == 1
        queued = db.session.scalar(select(OutboxMessage))
        assert "/q/t/" not in queued.body_text + queued.body_html  # not while waiting
        assert dispatch(utcnow()).sent == 1
        db.session.expire_all()
        rows = db.session.scalars(select(OutboxMessage)).all()
        assert not any("/q/t/" in f"{r.subject}{r.body_text}{r.body_html}" for r in rows)
        (sent,) = rows
        assert sent.status == "sent" and sent.sent_at is not None
        assert sent.recipient_id == person.user_id and sent.kind == "assessment_invitation"
        assert sent.body_text == "" and sent.body_html is None
        (mail,) = inbox
        link = re.search(r"http://hearth\.test(/q/t/[0-9a-f]+)", _text_part(mail)).group(1)
        page = client.get(link, follow_redirects=True)
    assert page.status_code == 200
    assert "Beck Depression Inventory" in page.get_data(as_text=True)
    assert "hearth-link" not in mail.as_string()


def test_a_message_whose_invitation_is_gone_is_cancelled_not_sent(app, inbox):
    with time_machine.travel("2026-02-25 09:00Z", tick=False):
        study = gen_study("rct", "cft")
        cohort = gen_cohort(study, start_date=date(2026, 3, 2))
        gen_timepoint(study, "pre", 1, ["BDI-II"], -14, 0)
        gen_participant(study, arm="UC", cohort=cohort, status="randomised")
        assessments.materialise_invitations()
        db.session.execute(AssessmentInvitation.__table__.delete())
        db.session.commit()
        result = dispatch(utcnow())
    assert result.cancelled == 1 and result.sent == 0 and inbox == []
