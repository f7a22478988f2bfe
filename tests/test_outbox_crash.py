"""What the outbox promises when a dispatcher dies: every message carries one Message-ID, made
before the mail server is contacted and committed; after a crash, messages that were only
claimed are sent once, and the one that was being sent is sent again with the same Message-ID.

The crash here is an exception that no ``except Exception`` catches, raised by the transport
after it recorded the message (the server had it); ``test_scheduler_stop.py`` does the same
with SIGKILL, a real scheduler process and a real SMTP server.
"""

from __future__ import annotations

import smtplib
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

from models import OutboxMessage, db, write_transaction
from program.core import mail
from program.messaging import sending
from program.messaging.jobs import LEASE, dispatch
from program.messaging.outbox import enqueue
from tests.factories import gen_user
from tests.factories_delivery import utc

NOW = utc(2026, 10, 21, 12)


class Crash(BaseException):
    """The process dying: nothing in the dispatcher catches it."""


@pytest.fixture
def app_config(database_url, tmp_path):
    """A database file, so a second connection sees only what was committed."""
    if database_url.startswith("sqlite"):
        return {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'crash.db'}"}
    return {}


def _queue(count: int, kind: str = "group_digest", due_at=NOW) -> list[int]:
    users = [gen_user("participant") for _ in range(count)]
    with write_transaction():
        for user in users:
            enqueue(f"crash:{user.id}", user.id, kind, f"Hello {user.id}", "Body", due_at=due_at)
    return list(db.session.scalars(select(OutboxMessage.id).order_by(OutboxMessage.id)))


def _sent(app) -> list[dict]:
    return app.extensions.setdefault("sent_mail", [])


def test_the_message_id_and_the_attempt_are_committed_before_the_server_is_contacted(
        app, monkeypatch):
    [row_id] = _queue(1)
    seen = []
    real = mail.send_email

    def look_then_send(*args, message_id, **kwargs):
        with db.engine.connect() as connection:  # another connection: committed data only
            seen.append(connection.execute(
                select(OutboxMessage.status, OutboxMessage.message_id,
                       OutboxMessage.attempt_started_at).where(OutboxMessage.id == row_id)).one())
        real(*args, message_id=message_id, **kwargs)

    monkeypatch.setattr(mail, "send_email", look_then_send)
    assert dispatch(NOW, 10).sent == 1
    [(status, header, started)] = seen
    assert status == "sending" and started is not None
    assert header.startswith("<") and header.endswith("@hearth.invalid>")
    row = db.session.get(OutboxMessage, row_id)
    db.session.refresh(row)
    assert (row.status, row.message_id, row.attempt_started_at) == ("sent", header, None)
    assert _sent(app)[0]["message_id"] == header


def test_after_a_crash_mid_send_only_that_message_is_resent_with_the_same_message_id(
        app, monkeypatch):
    ids = _queue(3)
    real = mail.send_email

    def accepted_then_crash(*args, **kwargs):
        real(*args, **kwargs)  # the server has it ...
        raise Crash  # ... and the process dies before marking it sent

    assert sending.claim(NOW, 10) == ids
    monkeypatch.setattr(mail, "send_email", accepted_then_crash)
    with pytest.raises(Crash):
        sending.send_claimed(ids[0], NOW)
    db.session.rollback()
    monkeypatch.setattr(mail, "send_email", real)

    assert dispatch(NOW + timedelta(seconds=30), 10).sent == 0  # still leased: nobody sends
    result = dispatch(NOW + LEASE + timedelta(seconds=1), 10)
    assert (result.released_leases, result.in_doubt, result.sent) == (3, 1, 3)

    copies = Counter(m["message_id"] for m in _sent(app))
    rows = {r.id: r for r in db.session.scalars(select(OutboxMessage))}
    assert copies == {rows[ids[0]].message_id: 2, rows[ids[1]].message_id: 1,
                      rows[ids[2]].message_id: 1}
    assert [rows[i].resent_in_doubt for i in ids] == [1, 0, 0]
    assert {r.status for r in rows.values()} == {"sent"}
    assert dispatch(NOW + LEASE * 3, 10).sent == 0 and len(_sent(app)) == 4


def test_a_retry_after_a_transport_error_keeps_the_message_id(app, monkeypatch):
    [row_id] = _queue(1)
    headers = []
    real = mail.send_email

    def refuse_once(*args, message_id, **kwargs):
        headers.append(message_id)
        if len(headers) == 1:
            raise smtplib.SMTPServerDisconnected("gone")
        real(*args, message_id=message_id, **kwargs)

    monkeypatch.setattr(mail, "send_email", refuse_once)
    first = dispatch(NOW, 10)
    assert (first.sent, first.retried) == (0, 1)
    row = db.session.get(OutboxMessage, row_id)
    db.session.refresh(row)
    assert (row.status, row.attempt_started_at, row.resent_in_doubt) == ("pending", None, 0)
    assert dispatch(NOW + timedelta(minutes=1), 10).sent == 1
    assert headers[0] == headers[1] == row.message_id


def test_one_given_message_is_claimed_and_sent_at_once(app):
    """The API an urgent message uses to go out without waiting for the dispatcher."""
    [row_id] = _queue(1, kind="safety_alert", due_at=NOW + timedelta(hours=1))
    assert sending.claim_message(row_id, NOW) is True
    assert sending.claim_message(row_id, NOW) is False  # already claimed: nobody else sends it
    assert sending.claim(NOW + timedelta(hours=2), 10) == []
    assert sending.send_claimed(row_id, NOW) == sending.SENT
    assert sending.send_claimed(row_id, NOW) == sending.LOST  # not claimed any more: not sent
    row = db.session.get(OutboxMessage, row_id)
    db.session.refresh(row)
    assert row.status == "sent" and [m["message_id"] for m in _sent(app)] == [row.message_id]
