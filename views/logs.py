"""Hearth's log: a request id on every request and in every line logged while serving it, the
signed-in user's id, and JSON lines when ``LOG_FORMAT=json``.

Log lines name ids and kinds, never form values, answers or post text (health data): callers
log ``type(exc).__name__`` and ids, and this module adds nothing from the request but its id,
method and path.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from datetime import UTC, datetime

from flask import Flask, g, has_request_context, request
from sqlalchemy import inspect

#: a request id from the proxy (nginx's $request_id) is kept when it looks like one
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s%(context)s"


def request_context() -> dict[str, object]:
    """The request id and the signed-in user's id, when logging inside a request."""
    if not has_request_context():
        return {}
    context: dict[str, object] = {}
    if getattr(g, "request_id", None):
        context["request_id"] = g.request_id
    user = g.get("_login_user")  # only a user already loaded: logging never queries
    state = inspect(user, raiseerr=False) if user is not None else None
    if state is not None and state.identity:
        context["user_id"] = state.identity[0]
    return context


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request and user ids."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **request_context(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """The plain line, with ``[request=… user=…]`` appended inside a request."""

    def __init__(self):
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        context = request_context()
        record.context = (" [" + " ".join(f"{k}={v}" for k, v in context.items()) + "]"
                          if context else "")
        return super().format(record)


_handler: logging.Handler | None = None


def init_logging(app: Flask) -> None:
    """Give every request an id (``X-Request-Id`` in and out) and send Hearth's own loggers to
    stderr at INFO, as text or JSON (``LOG_FORMAT``), unless the deployment configured logging
    itself (a handler on the root or ``hearth`` logger)."""
    global _handler
    hearth = logging.getLogger("hearth")
    formatter = JsonFormatter() if app.config.get("LOG_FORMAT") == "json" else TextFormatter()
    if _handler is not None:
        _handler.setFormatter(formatter)
    elif not hearth.handlers and not logging.getLogger().handlers:
        _handler = logging.StreamHandler()
        _handler.setFormatter(formatter)
        hearth.addHandler(_handler)
        hearth.setLevel(logging.INFO)

    @app.before_request
    def assign_request_id():
        given = request.headers.get("X-Request-Id", "")
        g.request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex

    @app.after_request
    def echo_request_id(response):
        if getattr(g, "request_id", None):
            response.headers["X-Request-Id"] = g.request_id
        return response
