"""Nothing lost when processes die: the scheduler killed and doubled, PostgreSQL restarted.

The scheduler test runs real ``flask scheduler run`` processes against a database of its own on
the suite's backend and counts what a loopback SMTP server receives. The PostgreSQL test runs
a private PostgreSQL cluster (never the shared server other tests use) and restarts it under
load.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections import Counter
from datetime import timedelta
from http.client import HTTPException
from pathlib import Path

import pytest
from sqlalchemy import func, select

from benchmarks._server import (
    FLASK,
    ROOT,
    create_database,
    free_port,
    server_env,
    start_gunicorn,
    stop,
)
from models import OutboxMessage, Post, PracticeLog, User, db, utcnow
from tests.test_durability_support import (
    SmtpSink,
    Writes,
    scratch_database,
    seeded_app,
    signed_in,
    token,
    write_one,
)

# --- the scheduler ---------------------------------------------------------------------------


def _scheduler(url: str, sink: SmtpSink, log: Path) -> subprocess.Popen:
    env = server_env(url, MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1",
                     MAIL_PORT=str(sink.port), MAIL_USE_TLS="0")
    return subprocess.Popen(
        [FLASK, "--app", "app", "scheduler", "run", "--tick-seconds", "1",
         "--dispatch-seconds", "1"],
        cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
        start_new_session=True)


def _outbox(app) -> Counter:
    with app.app_context():
        statuses = Counter(dict(db.session.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        ).tuples().all()))
        db.session.remove()
    return statuses


def _wait(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


@pytest.mark.slow
def test_scheduler_killed_restarted_and_doubled_sends_each_notice_once(tmp_path):
    sink = SmtpSink(hold_after=25)
    log = tmp_path / "scheduler.log"
    try:
        with scratch_database(tmp_path, "scheduler") as url:
            app, seeded = seeded_app(url, participants=150, MAIL_BACKEND="smtp",
                                     MAIL_SERVER="127.0.0.1", MAIL_PORT=sink.port,
                                     MAIL_USE_TLS=False)
            first = _scheduler(url, sink, log)
            try:
                # Killed in the release window, while a notice is on its way to the mail server.
                assert sink.holding.wait(90), log.read_text()[-2000:]
            finally:
                stop(first, signal.SIGKILL)
            sink.hold_after = None
            sink.released.set()
            assert len(sink.messages) == 25
            # Restarted, and by mistake twice: two schedulers tick and dispatch side by side.
            # (The killed one had claimed a batch of 100; the rest is left to these two.)
            again = [_scheduler(url, sink, log), _scheduler(url, sink, log)]
            try:
                _wait(lambda: _outbox(app)["pending"] == 0 and _outbox(app)["sent"] > 25, 90,
                      "the restarted schedulers to send what was pending")
                time.sleep(3)  # a few more ticks: nothing new may be queued or sent
            finally:
                for process in again:
                    stop(process)
            # What the killed scheduler had claimed goes out once its lease has run out.
            with app.app_context():
                from program.messaging.jobs import LEASE, dispatch

                late = dispatch(utcnow() + LEASE + timedelta(minutes=1), limit=1000)
                rows = db.session.execute(
                    select(User.email, OutboxMessage.subject, OutboxMessage.kind,
                           OutboxMessage.status)
                    .join(User, User.id == OutboxMessage.recipient_id)).all()
                participants = {email for email, _group in seeded.participants}
                db.session.remove()
    finally:
        sink.close()
    assert late.sent > 0  # the claimed-but-unsent rows of the killed process
    assert {status for *_rest, status in rows} == {"sent"}
    # Every queued message reached the mail server exactly once, and nothing else did.
    assert Counter(sink.messages) == Counter((email, subject) for email, subject, *_ in rows)
    notices = Counter(email for email, _s, kind, _st in rows if kind == "release_notice")
    assert set(notices) == participants and set(notices.values()) == {1}
    print(f"\nfigures: {len(rows)} messages queued, {len(sink.messages)} delivered, each once "
          f"(25 before the kill, {late.sent} after the killed scheduler's lease ran out); "
          f"{len(notices)} release notices for {len(participants)} participants")


# --- PostgreSQL restarted under load ---------------------------------------------------------


def _postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


def _postgres_user() -> bool:
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return False
    return shutil.which("runuser") is not None


PG_BIN = _postgres_bin()


class PrivateCluster:
    """A throwaway PostgreSQL cluster on a free loopback port, run as the postgres OS user."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="hearth-pg-"))
        shutil.chown(self.root, "postgres", "postgres")
        self.data = self.root / "data"
        self.port = free_port()
        self._as_postgres("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust",
                          "--no-sync", "-E", "UTF8")
        self.start()

    def _as_postgres(self, tool: str, *args: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", str(PG_BIN / tool), *args],
                       check=True, capture_output=True, timeout=120)

    def _ctl(self, action: str, *extra: str) -> None:
        self._as_postgres("pg_ctl", action, "-D", str(self.data), "-w", "-t", "60",
                          "-l", str(self.root / "server.log"), "-o",
                          f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1",
                          *extra)

    def start(self) -> None:
        self._ctl("start")

    def restart(self) -> None:
        self._ctl("restart", "-m", "fast")

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def destroy(self) -> None:
        try:
            self._as_postgres("pg_ctl", "stop", "-D", str(self.data), "-m", "immediate", "-w")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.root, ignore_errors=True)


def _keep_writing(port, email, group_id, writes: Writes, halt: threading.Event) -> None:
    """Write until told to stop; a 503 means "try again": the same form is sent again."""
    browser = signed_in(port, email)
    n = 0
    while not halt.is_set():
        kind = "practice" if n % 2 == 0 else "post"
        sent = token()
        while not halt.is_set():
            try:
                status = write_one(browser, group_id, kind, sent, writes)
            except (OSError, HTTPException):
                status = 0
            if status == 302:
                break
            time.sleep(0.2)  # the page says to wait Retry-After seconds; a test waits less
        n += 1


@pytest.mark.slow
@pytest.mark.skipif(PG_BIN is None or not _postgres_user() or os.geteuid() != 0,
                    reason="needs PostgreSQL's server binaries (initdb, pg_ctl), the postgres "
                           "OS user and root to run a private cluster")
def test_postgres_restart_mid_load_fails_cleanly_and_recovers(tmp_path):
    cluster = PrivateCluster()
    try:
        url = cluster.url("hearth_restart")
        create_database(url)
        app, seeded = seeded_app(url, participants=30)
        port = free_port()
        server = start_gunicorn(url, port, log_path=tmp_path / "gunicorn.log")
        writes, halt = Writes(), threading.Event()
        clients = [threading.Thread(target=_keep_writing, args=(port, email, group, writes,
                                                                halt))
                   for email, group in seeded.participants]
        try:
            for client in clients:
                client.start()
            _wait(lambda: len(writes.acknowledged) >= 60, 60, "writes before the restart")
            restarted = time.monotonic()
            cluster.restart()
            before = len(writes.acknowledged)
            _wait(lambda: len(writes.acknowledged) > before, 60,
                  "a write after the restart (the app must recover by itself)")
            recovered = time.monotonic() - restarted
            _wait(lambda: len(writes.acknowledged) >= before + 60, 60,
                  "writes after the restart")
        finally:
            halt.set()
            for client in clients:
                client.join(30)
            stop(server)
        with app.app_context():
            logs = db.session.scalars(select(PracticeLog.submission_token).where(
                PracticeLog.submission_token.not_like("seed-%"))).all()
            posts = db.session.scalars(select(Post.submission_token).where(
                Post.submission_token.is_not(None))).all()
            db.session.remove()
            db.engine.dispose()
    finally:
        cluster.destroy()
    assert set(writes.statuses) <= {302, 503}, (writes.statuses, writes.bodies)
    assert writes.statuses[503] > 0, "the restart was not noticed: no retry page was served"
    assert writes.retry_after == {"5"}
    written = {("practice", t) for t in logs} | {("post", t) for t in posts}
    assert writes.acknowledged <= written
    assert len(logs) == len(set(logs)) and len(posts) == len(set(posts))
    print(f"\nfigures: {len(writes.acknowledged)} writes acknowledged, "
          f"{writes.statuses[503]} answers were the 503 retry page (Retry-After 5), no other "
          f"status; writing again {recovered:.1f} s after the restart began, no app restart; "
          f"every acknowledged write stored once")
