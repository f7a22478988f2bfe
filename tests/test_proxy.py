"""Slow clients do not stall other users behind the production front: Debian's nginx with the
repository's proxy settings (docs/deploy/hearth-proxy.conf) in front of gunicorn's sync workers.

Six slow connections (three trickling their headers, three their form body, a byte every half
second) are opened at once; meanwhile another user loads the sign-in page over and over. Straight
to a 2-worker gunicorn the slow connections hold both workers and the user waits; through nginx,
which reads each request whole before passing it on, the user is served at once. Timings are
printed.
"""

from __future__ import annotations

import http.client
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from benchmarks._server import (
    free_port,
    nginx_available,
    start_gunicorn,
    start_nginx,
    stop,
)
from tests.test_durability_support import scratch_database

pytestmark = pytest.mark.slow

SLOW_CLIENTS = 6
WINDOW = 6.0  # seconds the slow clients keep trickling


def _nginx(prefix: Path, listen: int, upstream: int) -> subprocess.Popen:
    if not nginx_available():
        pytest.fail("nginx not found: install Debian's nginx-light (`make proxy`)")
    return start_nginx(prefix, listen, upstream)


def _trickle(port: int, part: str, stop_at: float) -> None:
    """One slow client: the request (or its body) a byte every half second."""
    body = "email=slow%40example.org&password=" + "x" * 200
    head = ("POST /auth/sign-in HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    fast, slow = (head, body) if part == "body" else ("", head + body)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
            conn.sendall(fast.encode())
            for char in slow:
                if time.monotonic() >= stop_at:
                    return
                conn.sendall(char.encode())
                time.sleep(0.5)
    except OSError:
        return


def _user_waits(port: int, start_at: float, stop_at: float) -> list[float]:
    """Another user loading the sign-in page while the slow clients trickle."""
    while time.monotonic() < start_at:
        time.sleep(0.01)
    waits = []
    while time.monotonic() < stop_at:
        began = time.monotonic()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=WINDOW + 5)
        try:
            conn.request("GET", "/auth/sign-in")
            response = conn.getresponse()
            response.read()
            assert response.status == 200
        except (OSError, http.client.HTTPException):
            pass
        finally:
            conn.close()
        waits.append(time.monotonic() - began)
        time.sleep(0.1)
    return waits


def _slow_clients_against(port: int) -> list[float]:
    start_at = time.monotonic() + 0.3
    stop_at = start_at + WINDOW
    slow = [threading.Thread(target=_trickle, args=(port, part, stop_at), daemon=True)
            for part in ["head", "body"] * (SLOW_CLIENTS // 2)]
    for thread in slow:
        thread.start()
    waits = _user_waits(port, start_at + 0.5, stop_at - 0.5)
    for thread in slow:
        thread.join(WINDOW + 10)
    return waits


def test_slow_clients_through_nginx_do_not_stall_other_users(tmp_path):
    with scratch_database(tmp_path, "proxy") as url:
        from app import create_app
        from models import db

        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "proxy"})
        with app.app_context():
            db.create_all()
            db.engine.dispose()
        app_port, proxy_port = free_port(), free_port()
        gunicorn = start_gunicorn(url, app_port, workers=2, log_path=tmp_path / "gunicorn.log")
        nginx = None
        try:
            direct = _slow_clients_against(app_port)
            nginx = _nginx(tmp_path / "nginx", proxy_port, app_port)
            proxied = _slow_clients_against(proxy_port)
        finally:
            if nginx is not None:
                stop(nginx)
            stop(gunicorn)
    print(f"\ntimings: with {SLOW_CLIENTS} slow clients on a 2-worker gunicorn, another user "
          f"waited up to {max(direct):.2f} s straight to gunicorn ({len(direct)} pages in "
          f"{WINDOW - 1:.0f} s) and up to {max(proxied):.3f} s through nginx "
          f"({len(proxied)} pages)")
    assert max(direct) > 2  # the stall the proxy exists to prevent
    assert len(proxied) >= 10
    assert max(proxied) < 1.0, proxied


def test_behind_one_trusted_proxy_the_client_address_is_the_forwarded_one():
    """Behind nginx every request comes from 127.0.0.1: with HEARTH_TRUSTED_PROXIES=1 the
    sign-in limits and the audit log see the client's address from X-Forwarded-For."""
    from flask import request

    from tests.conftest import make_app

    seen = []
    for proxies in (0, 1):
        app = make_app("sqlite://", TRUSTED_PROXIES=proxies)

        @app.get("/_test/address")
        def address():
            seen.append((request.remote_addr, request.scheme))
            return "ok"

        app.test_client().get("/_test/address", environ_base={"REMOTE_ADDR": "127.0.0.1"},
                              headers={"X-Forwarded-For": "203.0.113.7",
                                       "X-Forwarded-Proto": "https"})
    assert seen == [("127.0.0.1", "http"), ("203.0.113.7", "https")]
