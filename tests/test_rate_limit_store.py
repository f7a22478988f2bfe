"""The app says at start-up which store holds the rate limits and whether it was reachable."""

from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import time

import pytest

from tests.conftest import make_app


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _started(caplog, uri: str) -> list[logging.LogRecord]:
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="hearth"):
        make_app("sqlite://", RATELIMIT_STORAGE_URI=uri)
    return [r for r in caplog.records if r.getMessage().startswith("rate limits:")]


def test_memory_store_is_named(caplog):
    [record] = _started(caplog, "memory://")
    assert "in-memory" in record.getMessage()
    assert record.levelno == logging.INFO


def test_unreachable_redis_is_a_warning_without_the_password(caplog):
    port = _free_port()  # nothing listens there
    [record] = _started(caplog, f"redis://:s3cret@127.0.0.1:{port}/0")
    assert record.levelno == logging.WARNING
    assert f"redis://127.0.0.1:{port} NOT reachable" in record.getMessage()
    assert "s3cret" not in record.getMessage()


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs Debian's redis-server")
def test_reachable_redis_is_named(caplog, tmp_path):
    port = _free_port()
    server = subprocess.Popen(["redis-server", "--port", str(port), "--save", "",
                               "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
    try:
        for _ in range(50):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        [record] = _started(caplog, f"redis://127.0.0.1:{port}/0")
        assert record.getMessage() == f"rate limits: store redis://127.0.0.1:{port} reachable"
    finally:
        server.terminate()
        server.wait(timeout=10)
