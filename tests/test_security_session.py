"""Sessions and redirects: a new session at sign-in, no open redirect, headers on errors too."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
import time_machine
from sqlalchemy import select

from tests.conftest import PASSWORD, csrf_token, post_form, sign_in
from tests.factories import gen_user

#: ways of writing "somewhere else" that browsers follow off-site
OFFSITE = [
    "//evil.example/", "///evil.example", "https://evil.example/", "http:evil.example",
    "/\\evil.example", "\\\\evil.example", "/\t/evil.example", "/\n/evil.example",
    "/\r/evil.example", "javascript:alert(1)", "data:text/html,<script>alert(1)</script>",
    " //evil.example", "https:/evil.example", "/\r\nSet-Cookie: x=1",
]


def _stays_on_site(location: str) -> bool:
    parts = urlsplit(location)
    return (not parts.scheme and not parts.netloc and location.startswith("/")
            and not location.startswith(("//", "/\\")) and "\r" not in location
            and "\n" not in location)


def test_sign_in_starts_a_new_session(client):
    """A session cookie planted before sign-in does not carry over (no fixation)."""
    user = gen_user("participant")
    client.get("/auth/sign-in")
    with client.session_transaction() as planted:
        planted["planted"] = "by someone else"
    before = client.get_cookie("hearth", domain="hearth.test").value
    sign_in(client, user)
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session.get("_user_id")
    after = client.get_cookie("hearth", domain="hearth.test").value
    assert after != before

    # the cookie an attacker captured before sign-in gives no access afterwards
    attacker = client.application.test_client()
    attacker.set_cookie("hearth", before, domain="hearth.test")
    response = attacker.get("/me/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/sign-in")


def test_changing_the_password_ends_other_sessions(client):
    user = gen_user("participant")
    sign_in(client, user)
    other = client.application.test_client()
    sign_in(other, user)
    response = post_form(client, "/auth/password", {
        "current": PASSWORD, "password": "a new long passphrase", "confirm":
        "a new long passphrase"})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    assert client.get("/me/").status_code == 200  # this browser stays signed in
    assert other.get("/me/").headers["Location"].startswith("/auth/sign-in")


@pytest.mark.parametrize("target", OFFSITE)
def test_sign_in_never_redirects_off_site(client, target):
    user = gen_user("researcher")
    response = post_form(client, "/auth/sign-in",
                         {"email": user.email, "password": PASSWORD, "next": target})
    assert response.status_code == 302
    assert _stays_on_site(response.headers["Location"]), response.headers["Location"]
    assert response.headers["Location"] == "/research/"


def test_sign_in_follows_a_same_site_next(client):
    user = gen_user("participant")
    response = post_form(client, "/auth/sign-in",
                         {"email": user.email, "password": PASSWORD, "next": "/settings/?x=1"})
    assert response.headers["Location"] == "/settings/?x=1"


def test_signed_out_visitor_is_sent_to_sign_in_with_the_page_as_next(client):
    response = client.get("/me/practice")
    location = response.headers["Location"]
    assert location.startswith("/auth/sign-in")
    assert "next=%2Fme%2Fpractice" in location


@pytest.mark.parametrize("target", OFFSITE)
@pytest.mark.parametrize("signed_in", [False, True])
def test_language_switch_never_redirects_off_site(client, target, signed_in):
    if signed_in:
        sign_in(client, gen_user("participant"))
    response = post_form(client, "/auth/language", {"locale": "ja", "next": target},
                         token_from="/settings/" if signed_in else "/auth/sign-in")
    assert response.status_code == 302
    assert _stays_on_site(response.headers["Location"]), response.headers["Location"]


def test_language_switch_refuses_an_unknown_locale(client):
    response = post_form(client, "/auth/language", {"locale": "../../etc", "next": "/"},
                         token_from="/auth/sign-in")
    assert response.status_code == 400


def test_language_switch_without_csrf_token_is_refused(client):
    response = client.post("/auth/language", data={"locale": "ja", "next": "/"})
    assert response.status_code == 400
    with client.session_transaction() as session:
        assert "locale" not in session


def test_post_without_csrf_token_is_refused_and_writes_nothing(client):
    user = gen_user("participant")
    sign_in(client, user)
    response = client.post("/settings/", data={"timezone": "Asia/Tokyo", "locale": "ja",
                                               "notify_replies": "none",
                                               "notify_announcements": "none"})
    assert response.status_code == 400
    assert "Form expired" in response.get_data(as_text=True)
    from models import User, db

    assert db.session.get(User, user.id).timezone == "UTC"


@pytest.mark.parametrize("path", ["/auth/sign-in", "/no-such-page", "/healthz", "/me/"])
def test_headers_on_pages_redirects_and_errors(client, path):
    response = client.get(path)
    headers = response.headers
    assert "'unsafe-inline'" not in headers["Content-Security-Policy"]
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in headers  # plain HTTP: no HSTS


def test_method_not_allowed_and_csrf_errors_carry_headers(client):
    for response in (client.delete("/auth/sign-in"), client.post("/auth/sign-in", data={})):
        assert response.status_code in (400, 405)
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


@pytest.mark.parametrize("app_config", [{"HSTS": True, "SESSION_COOKIE_SECURE": True}])
@pytest.mark.parametrize("path", ["/auth/sign-in", "/no-such-page", "/healthz", "/me/"])
def test_behind_tls_every_response_has_hsts(client, path):
    response = client.get(path, base_url="https://hearth.test")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_signed_in_error_pages_are_not_cached(client):
    sign_in(client, gen_user("participant"))
    for path in ("/no-such-page", "/admin/"):
        assert client.get(path).headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("huge", [2**31, 2**63])  # past a PostgreSQL and a SQLite integer
def test_ids_no_database_holds_are_not_found(app, client, huge):
    """Huge numbers in a URL are a 404 on every route that takes an id, never a 5xx."""
    sign_in(client, gen_user("researcher"))
    token = csrf_token(client, "/settings/")
    checked = 0
    for rule in app.url_map.iter_rules():
        ints = [name for name, conv in rule._converters.items()
                if type(conv).__name__ == "IdConverter"]
        if not ints:
            continue
        path = rule.rule
        for name, conv in rule._converters.items():
            value = str(huge) if name in ints else getattr(conv, "items", ["x"])
            value = value if isinstance(value, str) else sorted(value)[0]
            path = re.sub(rf"<[^>]*\b{name}>", value, path)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            data = {"csrf_token": token} if method == "POST" else None
            response = client.open(path, method=method, data=data)
            assert response.status_code == 404, (method, path, response.status_code)
            checked += 1
    assert checked > 40


def test_nul_characters_are_refused_before_they_reach_the_database(client):
    """PostgreSQL cannot store NUL in text; such a request is a 400, not a 503."""
    response = post_form(client, "/auth/sign-in", {"email": "a\x00@example.org",
                                                    "password": "x"})
    assert response.status_code == 400
    assert client.get("/calendar/" + "a" * 10 + "%00" + "b" * 10 + ".ics").status_code == 400
    assert client.get("/auth/sign-in?next=/me/%00").status_code == 400


def _cookie(client) -> str:
    return client.get_cookie("hearth", domain="hearth.test").value


def _replay(app, cookie: str):
    thief = app.test_client()
    thief.set_cookie("hearth", cookie, domain="hearth.test")
    return thief.get("/me/")


def test_a_cookie_copied_while_signed_in_is_dead_after_signing_out(app, client):
    user = gen_user("participant")
    sign_in(client, user)
    copied = _cookie(client)
    assert _replay(app, copied).status_code == 200  # the copy works while signed in...
    other = app.test_client()
    sign_in(other, user)
    assert post_form(client, "/auth/sign-out", token_from="/me/").status_code == 302
    response = _replay(app, copied)  # ... and not after a plain sign-out
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/sign-in")
    assert other.get("/me/").status_code == 200  # the other browser stays signed in


def test_sign_in_sessions_keep_only_a_hash_and_end_at_sign_out(app, client):
    from models import SignInSession, db

    user = gen_user("participant")
    sign_in(client, user)
    with client.session_transaction() as session:
        token = session["_user_id"]
    rows = db.session.scalars(select(SignInSession)).all()
    assert len(rows) == 1 and rows[0].user_id == user.id and rows[0].ended_at is None
    dump = " ".join(str(tuple(row)) for row in db.session.execute(
        SignInSession.__table__.select()).all())
    assert token not in dump and ":" not in token  # not the old "id:version"
    post_form(client, "/auth/sign-out", token_from="/me/")
    assert db.session.scalar(select(SignInSession)).ended_at is not None
    sign_in(client, user)
    assert len(db.session.scalars(select(SignInSession)).all()) == 2  # a new one per sign-in


def test_sign_out_everywhere_ends_every_sign_in_session(app, client):
    from models import SignInSession, db

    user = gen_user("participant")
    other = app.test_client()
    sign_in(other, user)
    copied = _cookie(other)
    sign_in(client, user)
    post_form(client, "/auth/sign-out-everywhere", token_from="/me/")
    assert _replay(app, copied).status_code == 302
    assert other.get("/me/").status_code == 302
    assert all(row.ended_at is not None for row in db.session.scalars(select(SignInSession)))


def test_the_signed_in_user_is_one_query_and_last_seen_is_written_every_few_minutes(app, client):
    from sqlalchemy import event

    from models import SignInSession, db
    from program.accounts.sessions import LAST_SEEN_WRITE

    user = gen_user("participant")
    start = datetime(2026, 3, 2, 9, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as clock:
        sign_in(client, user)
        statements = []

        def before(conn, cursor, statement, *args):
            statements.append(" ".join(statement.split()).lower())

        event.listen(db.engine, "before_cursor_execute", before)
        try:
            clock.move_to(start + LAST_SEEN_WRITE - timedelta(seconds=1))
            assert client.get("/settings/").status_code == 200
            loads = [s for s in statements if "sign_in_sessions" in s]
            assert len(loads) == 1 and loads[0].startswith("select") and " join " in loads[0]
            assert not [s for s in statements if s.startswith("select")
                        and "from users" in s and "sign_in_sessions" not in s]
            assert db.session.scalar(select(SignInSession)).last_seen_at == start
            statements.clear()
            clock.move_to(start + LAST_SEEN_WRITE)
            assert client.get("/settings/").status_code == 200
            writes = [s for s in statements if s.startswith("update sign_in_sessions")]
            assert len(writes) == 1
        finally:
            event.remove(db.engine, "before_cursor_execute", before)
        assert db.session.scalar(select(SignInSession)).last_seen_at == start + LAST_SEEN_WRITE


def test_an_old_style_cookie_signs_no_one_in(app, client):
    user = gen_user("participant")
    with client.session_transaction() as session:
        session["_user_id"] = f"{user.id}:{user.session_version}"
        session["_fresh"] = True
    assert client.get("/me/").status_code == 302


def test_an_idle_timeout_ends_the_sign_in_session_for_good(app, client):
    from models import SignInSession, db

    user = gen_user("participant")
    with time_machine.travel("2026-11-23 09:00:00+00:00", tick=False) as clock:
        sign_in(client, user)
        copied = _cookie(client)
        clock.shift(timedelta(minutes=61))
        assert client.get("/me/").status_code == 302  # timed out
        assert db.session.scalar(select(SignInSession)).ended_at is not None
        assert _replay(app, copied).status_code == 302


def test_the_scheduler_purges_sign_in_sessions_that_can_no_longer_be_used(app):
    from models import SignInSession, db
    from program.messaging.jobs import tick

    user = gen_user("participant")
    now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    rows = {"live": (now - timedelta(hours=1), None),
            "ended yesterday": (now - timedelta(days=2), now - timedelta(days=1)),
            "ended long ago": (now - timedelta(days=30), now - timedelta(days=20)),
            "abandoned": (now - timedelta(days=30), None)}
    for name, (created, ended) in rows.items():
        db.session.add(SignInSession(token_hash=name.ljust(64, "x")[:64], user_id=user.id,
                                     session_version=1, created_at=created,
                                     last_seen_at=created, ended_at=ended))
    db.session.commit()
    tick(now)
    db.session.expire_all()
    left = {row.token_hash.rstrip("x") for row in db.session.scalars(select(SignInSession))}
    assert left == {"live", "ended yesterday"}
