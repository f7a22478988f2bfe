"""Each role reaches only its own area; signed-out visitors are sent to sign in."""

from __future__ import annotations

import pytest

from tests.conftest import sign_in
from tests.factories import gen_user
from views.access import public  # noqa: F401  (the marker this test reads)

AREAS = {
    "participant": "/me/",
    "facilitator": "/facilitate/",
    "rater": "/rate/",
    "researcher": "/research/",
    "admin": "/admin/",
}


@pytest.mark.parametrize("role", sorted(AREAS))
def test_each_role_reaches_only_its_own_area(client, role):
    sign_in(client, gen_user(role))
    for area_role, path in AREAS.items():
        status = client.get(path).status_code
        assert status == (200 if area_role == role else 403), (role, path, status)


@pytest.mark.parametrize("path", sorted(AREAS.values()))
def test_signed_out_visitors_are_sent_to_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/sign-in")


def test_root_sends_each_role_home(client):
    assert client.get("/").headers["Location"] == "/auth/sign-in"
    sign_in(client, gen_user("researcher"))
    assert client.get("/").headers["Location"] == "/research/"


def test_403_page_is_friendly(client):
    sign_in(client, gen_user("participant"))
    response = client.get("/admin/")
    assert "does not have access" in response.get_data(as_text=True)


def test_every_route_declares_who_may_use_it(app):
    """A new view without role_required or public fails here."""
    undeclared = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        and not getattr(app.view_functions[rule.endpoint], "allowed_roles", None)
    ]
    assert undeclared == []


def test_security_headers_on_every_response(client):
    for path in ("/auth/sign-in", "/no-such-page", "/healthz"):
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
        assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff"


def test_signed_in_pages_are_not_cached(client):
    sign_in(client, gen_user("participant"))
    assert client.get("/me/").headers["Cache-Control"] == "no-store"


def test_session_cookie_is_httponly_and_samesite(client):
    user = gen_user("participant")
    response = sign_in(client, user)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


@pytest.mark.parametrize("app_config", [{"SESSION_COOKIE_SECURE": True,
                                         "SESSION_COOKIE_NAME": "__Host-hearth",
                                         "HSTS": True}])
def test_behind_tls_cookies_are_secure_and_hsts_is_sent(client):
    response = client.get("/auth/sign-in", base_url="https://hearth.test")
    assert "Strict-Transport-Security" in response.headers
    assert "__Host-hearth=" in response.headers["Set-Cookie"]
    assert "Secure" in response.headers["Set-Cookie"]
