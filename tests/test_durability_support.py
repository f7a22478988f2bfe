"""Helpers for the durability tests: scratch databases, a counting SMTP sink, a load of writes.

(The file holds no tests; it sits beside them so that they share one set of helpers.)
"""

from __future__ import annotations

import os
import secrets
import socketserver
import threading
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from email.parser import BytesParser
from email.policy import default as default_policy

from sqlalchemy.engine import make_url

from app import create_app
from benchmarks._http import Browser
from benchmarks._seed import PASSWORD, seed
from benchmarks._server import create_database, drop_database
from models import db


def suite_postgres_url() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql")) else None


@contextmanager
def scratch_database(tmp_path, name: str):
    """A database of this test's own on the suite's backend (SQLite file or PostgreSQL)."""
    base = suite_postgres_url()
    if base is None:
        yield f"sqlite:///{tmp_path / f'{name}.db'}"
        return
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    url = make_url(base.replace("postgres://", "postgresql://", 1))
    url = url.set(database=f"{url.database}_{name}_{worker}").render_as_string(
        hide_password=False)
    create_database(url)
    try:
        yield url
    finally:
        drop_database(url)


def seeded_app(url: str, participants: int, facilitators: int = 2, **config):
    """An app on ``url`` with the schema built and the load-test cohort seeded."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "durability",
                      "MAIL_BACKEND": "memory", "TESTING": True, **config})
    with app.app_context():
        db.create_all()
        seeded = seed(participants, facilitators)
        db.session.remove()
    return app, seeded


# --- the writes ------------------------------------------------------------------------------


@dataclass
class Writes:
    """What the clients sent and what the server acknowledged (a redirect after the POST)."""

    acknowledged: set[tuple[str, str]] = field(default_factory=set)  #: (kind, token)
    statuses: Counter = field(default_factory=Counter)
    retry_after: set[str] = field(default_factory=set)
    bodies: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, kind: str, token: str, status: int, headers: dict[str, str], body: str
             ) -> None:
        with self.lock:
            self.statuses[status] += 1
            if status == 302:
                self.acknowledged.add((kind, token))
            elif status == 503:
                self.retry_after.add(headers.get("retry-after", ""))
            elif len(self.bodies) < 5:
                self.bodies.append(body[:300])


def write_one(browser: Browser, group_id: int, kind: str, token: str, writes: Writes) -> int:
    """One practice log or one post, identified by its one-time token; returns the status."""
    if kind == "practice":
        answer = browser.post("/me/practice/new", {
            "practice_key": "soothing-touch", "practised_on": date.today().isoformat(),
            "minutes": "10", "helpfulness": "6", "note": "", "token": token})
    else:
        answer = browser.post(f"/groups/{group_id}/posts", {
            "title": "", "body": f"Checking in ({token[:6]}).", "submission_token": token})
    writes.note(kind, token, answer.status, answer.headers, answer.body)
    return answer.status


def signed_in(port: int, email: str) -> Browser:
    browser = Browser("127.0.0.1", port, timeout=60)
    _form, answer = browser.sign_in(email, PASSWORD)
    assert answer.status == 302, answer.status
    return browser


def token() -> str:
    return secrets.token_urlsafe(18)


# --- a counting SMTP server ------------------------------------------------------------------


class SmtpSink(socketserver.ThreadingTCPServer):
    """Accepts mail on loopback and keeps (to, subject) of every message it accepted.

    ``hold_after`` makes it stop answering after that many messages, so a test can kill the
    sender while a message is in flight (not accepted, hence not delivered).
    """

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, hold_after: int | None = None):
        super().__init__(("127.0.0.1", 0), _SmtpHandler)
        self.messages: list[tuple[str, str]] = []
        self.hold_after = hold_after
        self.holding = threading.Event()
        self.released = threading.Event()
        self.lock = threading.Lock()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return self.server_address[1]

    def accept(self, to: str, data: bytes) -> bool:
        message = BytesParser(policy=default_policy).parsebytes(data[:-5])
        subject = str(message["Subject"] or "")
        with self.lock:
            if self.hold_after is not None and len(self.messages) >= self.hold_after:
                held = True
            else:
                self.messages.append((to, subject))
                held = False
        if held:
            self.holding.set()
            self.released.wait(60)
            return False
        return True

    def close(self) -> None:
        self.released.set()
        self.shutdown()
        self.server_close()


class _SmtpHandler(socketserver.StreamRequestHandler):
    def reply(self, line: str) -> None:
        self.wfile.write(f"{line}\r\n".encode())
        self.wfile.flush()

    def handle(self) -> None:
        self.reply("220 sink ready")
        to = ""
        while True:
            line = self.rfile.readline()
            if not line:
                return
            command = line.decode("ascii", "replace").strip().upper()
            if command.startswith(("EHLO", "HELO")):
                self.reply("250 sink")
            elif command.startswith("RCPT TO:"):
                to = line.decode().strip()[8:].strip("<> ").lower()
                self.reply("250 ok")
            elif command == "DATA":
                self.reply("354 go on")
                data = b""
                while not data.endswith(b"\r\n.\r\n"):
                    chunk = self.rfile.readline()
                    if not chunk:
                        return
                    data += chunk
                if not self.server.accept(to, data):
                    return  # held, then dropped: the sender never hears "250"
                self.reply("250 accepted")
            elif command == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 ok")
