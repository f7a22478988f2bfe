"""The console mail backend (``make run``'s) logs every message it sends, under gunicorn and
the Flask development server alike: a message sent at once while serving a request (as an
urgent one is) appears in the server's log with its subject, Message-ID and request id."""

from __future__ import annotations

import subprocess
import urllib.request
from pathlib import Path

import pytest

from benchmarks._server import FLASK, GUNICORN, ROOT, free_port, server_env, stop, wait_until_up

pytestmark = pytest.mark.slow

#: an app with one extra page that queues a message and sends it at once, as the safety path
#: does; nothing else is changed
PROBE = '''
from app import create_app
from models import OutboxMessage, db, utcnow, write_transaction
from program.messaging import sending
from program.messaging.outbox import enqueue
from views.access import public

app = create_app()
with app.app_context():
    db.create_all()


@app.get("/probe/send")
@public
def send_now():
    with write_transaction():
        enqueue(f"probe:{utcnow().timestamp()}", None, "probe", "Probe notice", "Hello.",
                recipient_email="probe@example.org")
    row = db.session.query(OutboxMessage).order_by(OutboxMessage.id.desc()).first()
    sending.claim_message(row.id, utcnow())
    return {"outcome": sending.send_claimed(row.id, utcnow())}
'''


def _serve(command: list[str], tmp_path: Path, port: int) -> tuple[str, str]:
    (tmp_path / "probe_app.py").write_text(PROBE)
    log = tmp_path / "server.log"
    env = server_env(f"sqlite:///{tmp_path / 'probe.db'}", PYTHONPATH=f"{tmp_path}:{ROOT}")
    env.pop("HEARTH_BENCH")
    with log.open("ab") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out,
                                   start_new_session=True)
    try:
        wait_until_up("127.0.0.1", port, seconds=60)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/probe/send", timeout=30) as answer:
            body, request_id = answer.read().decode(), answer.headers["X-Request-Id"]
    finally:
        stop(process)
    assert '"outcome":"sent"' in body.replace(" ", ""), log.read_text()[-2000:]
    return log.read_text(), request_id


def _assert_logged(text: str, request_id: str) -> None:
    line = next((x for x in text.splitlines() if "email to probe@example.org" in x), None)
    assert line is not None, text[-2000:]
    assert "hearth.mail" in line and "Probe notice (Message-ID <" in line
    record = text[text.index(line):].split("\n127.0.0.1")[0]  # the body follows the line
    assert "Hello." in record and f"request_id={request_id}" in record


def test_gunicorn_logs_the_console_mail(tmp_path):
    port = free_port()
    text, request_id = _serve([GUNICORN, "--workers", "1", "--bind", f"127.0.0.1:{port}",
                               "probe_app:app"], tmp_path, port)
    _assert_logged(text, request_id)


def test_the_development_server_logs_the_console_mail(tmp_path):
    port = free_port()
    text, request_id = _serve([FLASK, "--app", "probe_app:app", "run", "--port", str(port)],
                              tmp_path, port)
    _assert_logged(text, request_id)
