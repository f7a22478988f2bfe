"""The app's log: a request id on every request (kept from the proxy, else made), the signed-in
user's id in lines logged while serving them, JSON when configured, and no form values."""

from __future__ import annotations

import io
import json
import logging

from flask import current_app

from tests.conftest import PASSWORD, make_app, post_form, sign_in
from tests.factories import gen_user
from views.logs import JsonFormatter, TextFormatter


def _capture(formatter) -> tuple[logging.Handler, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    logging.getLogger("hearth").addHandler(handler)
    return handler, stream


def test_every_response_carries_a_request_id(client):
    made = client.get("/healthz").headers["X-Request-Id"]
    assert len(made) == 32
    assert client.get("/healthz").headers["X-Request-Id"] != made
    kept = client.get("/healthz", headers={"X-Request-Id": "nginx-0123456789abcdef"})
    assert kept.headers["X-Request-Id"] == "nginx-0123456789abcdef"
    forged = client.get("/healthz", headers={"X-Request-Id": "<script>alert(1)</script>"})
    assert len(forged.headers["X-Request-Id"]) == 32  # replaced, not echoed


def test_json_lines_name_the_request_and_the_user_but_no_form_values(app, client):
    @app.post("/_test/log")
    def log_something():
        logging.getLogger("hearth.test").warning("something happened to %s", "a post")
        return "ok"

    user = gen_user("participant")
    sign_in(client, user)

    handler, stream = _capture(JsonFormatter())
    try:
        response = post_form(client, "/_test/log", {"body": "I feel hopeless"},
                             token_from="/settings/",
                             headers={"X-Request-Id": "req-0000000000000001"})
    finally:
        logging.getLogger("hearth").removeHandler(handler)
    assert response.status_code == 200
    [line] = [json.loads(text) for text in stream.getvalue().splitlines()]
    assert line["message"] == "something happened to a post"
    assert line["level"] == "WARNING" and line["logger"] == "hearth.test"
    assert line["request_id"] == "req-0000000000000001"
    assert line["user_id"] == user.id
    assert "hopeless" not in stream.getvalue() and PASSWORD not in stream.getvalue()


def test_text_lines_outside_a_request_have_no_context():
    app = make_app("sqlite://")
    handler, stream = _capture(TextFormatter())
    try:
        with app.app_context():
            logging.getLogger("hearth.jobs").warning("dispatch: claimed 0")
            assert current_app.config["LOG_FORMAT"] == "text"
    finally:
        logging.getLogger("hearth").removeHandler(handler)
    assert stream.getvalue().rstrip().endswith("WARNING hearth.jobs: dispatch: claimed 0")
