"""The scheduler as operators run it: real ``flask scheduler run`` processes, a real SMTP server
(aiosmtpd) that takes a while per message, and the suite's database (SQLite file or
PostgreSQL with DATABASE_URL).

- SIGTERM (a deploy): the message on its way is finished, the rest of the batch is handed back
  at once, the process exits, and the next scheduler sends the rest, each message once.
- A crash (SIGKILL): the claims expire after the lease (60 s in production, shortened here)
  and the next scheduler sends what the dead one held, each message once.
- A crash (SIGKILL) after the SMTP server accepted a message and before it was marked sent:
  that one message is sent again with the same Message-ID (what the README promises); the rest
  of the batch, claimed but never attempted, is sent once.
- A safety alert queued behind hundreds of notices goes out within a fraction of a second.

Each test prints its timings.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import threading
import time
from collections import Counter
from datetime import timedelta
from email import message_from_bytes
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from app import create_app
from benchmarks._server import FLASK, ROOT, free_port, server_env
from models import OutboxMessage, db, utcnow, write_transaction
from program.messaging import jobs
from program.messaging.outbox import enqueue
from tests.factories import gen_user
from tests.test_durability_support import scratch_database

pytestmark = pytest.mark.slow


class SlowSmtp:
    """An aiosmtpd handler that takes ``delay`` seconds per message and records each one."""

    def __init__(self, delay: float):
        self.delay = delay
        self.received: list[tuple[str, str, float]] = []
        self.message_ids: list[str] = []
        self.lock = threading.Lock()
        #: when set, the first message is taken, then ``accepted`` is set and the "250" reply
        #: waits until ``reply`` is set (the test kills the dispatcher in between)
        self.hold_first = False
        self.accepted = threading.Event()
        self.reply = threading.Event()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        await asyncio.sleep(self.delay)
        message = message_from_bytes(envelope.content)
        with self.lock:
            self.received.append((envelope.rcpt_tos[0].lower(), str(message["Subject"] or ""),
                                  time.monotonic()))
            self.message_ids.append(str(message["Message-ID"]))
            holding = self.hold_first and not self.accepted.is_set()
        if holding:  # the message is stored: the server has accepted it
            self.accepted.set()
            while not self.reply.is_set():
                await asyncio.sleep(0.02)
        return "250 OK"

    def count(self) -> int:
        with self.lock:
            return len(self.received)


@pytest.fixture
def smtp():
    handler = SlowSmtp(delay=0.1)
    handler.port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=handler.port)
    controller.start()
    yield handler
    controller.stop()


@pytest.fixture
def outbox_db(tmp_path):
    with scratch_database(tmp_path, "scheduler_stop") as url:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "scheduler",
                          "MAIL_BACKEND": "memory", "TESTING": True})
        with app.app_context():
            db.create_all()
            db.session.remove()
        yield app, url
        with app.app_context():
            db.engine.dispose()


def _queue(app, count: int, kind: str = "group_digest", prefix: str = "notice") -> list[str]:
    with app.app_context():
        users = [gen_user("participant") for _ in range(count)]
        emails = [u.email for u in users]
        now = utcnow()
        with write_transaction():
            for i, user in enumerate(users):
                enqueue(f"{prefix}:{user.id}", user.id, kind, f"{prefix} {i}", "Body",
                        due_at=now - timedelta(seconds=count - i))
        db.session.remove()
    return emails


def _statuses(app) -> Counter:
    with app.app_context():
        found = Counter(dict(db.session.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        ).tuples().all()))
        db.session.remove()
    return found


def _scheduler(url: str, smtp_port: int, log: Path, **env) -> subprocess.Popen:
    environment = server_env(url, MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1",
                             MAIL_PORT=str(smtp_port), MAIL_USE_TLS="0", **env)
    return subprocess.Popen(
        [FLASK, "--app", "app", "scheduler", "run", "--tick-seconds", "3600",
         "--dispatch-seconds", "1"],
        cwd=ROOT, env=environment, stdout=log.open("ab"), stderr=subprocess.STDOUT,
        start_new_session=True)


def _wait(condition, seconds: float, what: str) -> float:
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > seconds:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
    return time.monotonic() - start


def _end(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


def test_sigterm_hands_back_the_batch_and_the_next_scheduler_sends_it(outbox_db, smtp,
                                                                      tmp_path):
    app, url = outbox_db
    emails = _queue(app, 60)
    log = tmp_path / "scheduler.log"
    first = _scheduler(url, smtp.port, log)
    try:
        _wait(lambda: smtp.count() >= 10, 60, "the first messages")
        stopped_at = time.monotonic()
        first.send_signal(signal.SIGTERM)
        first.wait(20)
        exit_seconds = time.monotonic() - stopped_at
    finally:
        _end(first)
    assert first.returncode == 0, log.read_text()[-2000:]
    before_restart = smtp.count()
    statuses = _statuses(app)
    assert statuses["sending"] == 0, statuses  # nothing left to wait out a lease
    assert statuses["sent"] == before_restart
    assert statuses["pending"] == 60 - before_restart > 0
    handed_back = statuses["pending"]

    restarted_at = time.monotonic()
    second = _scheduler(url, smtp.port, log)
    try:
        first_new = _wait(lambda: smtp.count() > before_restart, 30, "the restarted scheduler")
        _wait(lambda: _statuses(app)["sent"] == 60, 60, "every message")
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(20)
        _end(second)
    all_sent = time.monotonic() - restarted_at
    assert Counter(to for to, _s, _t in smtp.received) == Counter(emails)  # each once
    text = log.read_text()
    assert "handing back claimed messages and stopping" in text
    assert "dispatch: claimed" in text and "handed back" in text
    print(f"\ntimings: SIGTERM to exit {exit_seconds:.2f} s with {handed_back} of 60 messages "
          f"handed back (0 left claimed); restarted scheduler sent the first of them after "
          f"{first_new:.2f} s and all after {all_sent:.2f} s, each once")


def test_claims_of_a_crashed_scheduler_expire_after_the_lease(outbox_db, smtp, tmp_path):
    assert jobs.LEASE == timedelta(seconds=60)  # production: about a minute, not 15
    lease = 8
    app, url = outbox_db
    emails = _queue(app, 60)
    log = tmp_path / "scheduler.log"
    first = _scheduler(url, smtp.port, log, OUTBOX_LEASE_SECONDS=str(lease))
    try:
        _wait(lambda: smtp.count() >= 10, 60, "the first messages")
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(10)
    killed_at = time.monotonic()
    stranded = _statuses(app)["sending"]
    assert stranded > 0
    before = smtp.count()
    second = _scheduler(url, smtp.port, log, OUTBOX_LEASE_SECONDS=str(lease))
    try:
        _wait(lambda: smtp.count() > before, lease + 20, "the stranded messages")
        recovered = time.monotonic() - killed_at
        _wait(lambda: _statuses(app)["sent"] == 60, 60, "every message")
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(20)
        _end(second)
    sent = Counter(to for to, _s, _t in smtp.received)
    # at most the one message in flight at the kill may have reached the server twice
    assert set(sent) == set(emails) and sum(sent.values()) - 60 <= 1
    assert lease / 2 <= recovered <= lease + 6  # the lease ran from the claim, before the kill
    assert "were stranded by a dispatcher that stopped without finishing" in log.read_text()
    print(f"\ntimings: crash with {stranded} messages claimed; sending resumed "
          f"{recovered:.2f} s after the kill with a {lease} s lease (production lease "
          f"{int(jobs.LEASE.total_seconds())} s)")


def test_a_safety_alert_goes_ahead_of_queued_notices(outbox_db, smtp, tmp_path):
    smtp.delay = 0.05
    app, url = outbox_db
    _queue(app, 240)
    log = tmp_path / "scheduler.log"
    process = _scheduler(url, smtp.port, log)
    try:
        _wait(lambda: smtp.count() >= 20, 60, "the first notices")
        [alert_to] = _queue(app, 1, kind="safety_alert", prefix="alert")
        queued_at = time.monotonic()
        waited = _wait(lambda: any(to == alert_to for to, _s, _t in list(smtp.received)), 30,
                       "the safety alert")
        behind = 240 - smtp.count() + 1
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(20)
        _end(process)
    assert waited < 3, f"the alert waited {waited:.2f} s"
    assert behind > 100  # it overtook most of the queue
    print(f"\ntimings: safety alert delivered {waited:.2f} s after it was queued, ahead of "
          f"{behind} older notices (SMTP {smtp.delay * 1000:.0f} ms per message); "
          f"queued at t={queued_at:.0f}")


def _rows(app) -> list[OutboxMessage]:
    with app.app_context():
        rows = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        db.session.remove()
    return rows


def test_a_message_the_server_accepted_before_the_crash_is_resent_with_its_message_id(
        outbox_db, smtp, tmp_path):
    """SIGKILL between the server's acceptance and "sent": the README's promise, exactly."""
    lease = 4
    app, url = outbox_db
    emails = _queue(app, 5)
    smtp.delay, smtp.hold_first = 0.0, True
    log = tmp_path / "scheduler.log"
    first = _scheduler(url, smtp.port, log, OUTBOX_LEASE_SECONDS=str(lease))
    try:
        assert smtp.accepted.wait(60), log.read_text()[-2000:]
        os.killpg(first.pid, signal.SIGKILL)  # the server has the message; no reply came back
        first.wait(10)
    finally:
        smtp.reply.set()
        _end(first)
    [in_flight] = smtp.message_ids
    at_crash = _rows(app)
    attempted = [r for r in at_crash if r.attempt_started_at is not None]
    assert [r.message_id for r in attempted] == [in_flight]  # stored before the conversation
    assert {(r.status, r.attempt_started_at is None) for r in at_crash
            if r not in attempted} == {("sending", True)}  # claimed, never attempted
    assert attempted[0].status == "sending"

    second = _scheduler(url, smtp.port, log, OUTBOX_LEASE_SECONDS=str(lease))
    try:
        _wait(lambda: _statuses(app)["sent"] == 5, lease + 30, "every message")
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(20)
        _end(second)
    rows = _rows(app)
    copies = Counter(smtp.message_ids)
    assert copies[in_flight] == 2  # the one in doubt: sent again, with the same Message-ID
    assert set(copies) == {r.message_id for r in rows} and len(copies) == 5
    assert sum(copies.values()) == 6  # the other four once each
    twice = emails[[r.message_id for r in rows].index(in_flight)]  # rows in queueing order
    assert Counter(to for to, _s, _t in smtp.received) == Counter(emails) + Counter([twice])
    assert [r.resent_in_doubt for r in rows] == [int(r.message_id == in_flight) for r in rows]
    text = log.read_text()
    assert f"sending it again with the same Message-ID {in_flight}" in text
    print(f"\nafter SIGKILL: 1 message in doubt ({in_flight}) delivered twice with that "
          f"Message-ID, 4 claimed-but-unsent messages once each")
