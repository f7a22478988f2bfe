"""The gunicorn access log (gunicorn.conf.py) never holds a bearer token."""

from __future__ import annotations

import runpy
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from gunicorn.config import Config

CONF = runpy.run_path(str(Path(__file__).resolve().parents[1] / "gunicorn.conf.py"))


def _logged(path: str, referer: str = "-") -> str:
    config = Config()
    config.set("logger_class", CONF["logger_class"])
    logger = CONF["logger_class"](config)
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": path, "PATH_INFO": path.split("?")[0],
               "QUERY_STRING": "", "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "192.0.2.1",
               "HTTP_REFERER": referer}
    request = SimpleNamespace(headers=[("REFERER", referer)])
    response = SimpleNamespace(status="302 FOUND", sent=10, headers=[("Location", path)])
    atoms = logger.atoms(response, request, environ, timedelta(milliseconds=5))
    return " ".join(str(v) for v in atoms.values())


@pytest.mark.parametrize("path, token", [
    ("/q/t/3f2a9c0d1e4b5a6f7a8b9c0d1e2f3a4b5c6d7e8f", "3f2a9c0d1e4b5a6f7a8b9c0d1e2f3a4b5c6d7e8f"),
    ("/auth/reset/Zm9vYmFyLXJlc2V0LXRva2VuLXZhbHVl", "Zm9vYmFyLXJlc2V0LXRva2VuLXZhbHVl"),
    ("/calendar/cal-token-0123456789abcdef.ics", "cal-token-0123456789abcdef"),
])
def test_tokens_are_redacted_from_every_field(path, token):
    line = _logged(path, referer=f"https://hearth.example{path}")
    assert token not in line
    assert "[token]" in line and "192.0.2.1" in line


def test_other_paths_are_logged_as_they_are():
    assert "/groups/3/posts/9" in _logged("/groups/3/posts/9")


def test_gunicorn_uses_the_redacting_logger():
    assert CONF["logger_class"].__name__ == "RedactingLogger"
