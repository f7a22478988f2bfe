"""Signing in and out, rate limits, password reset, revocable sessions, CSRF."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from models import AuditEntry, PasswordResetToken, User, db, utcnow
from program.core.mail import sent_mail
from program.messaging.jobs import dispatch
from tests.conftest import PASSWORD, csrf_token, post_form, sign_in
from tests.factories import gen_user


def _audit_count(action: str) -> int:
    return db.session.scalar(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action))


def test_sign_in_lands_on_role_home_and_is_audited(client):
    user = gen_user("facilitator")
    response = sign_in(client, user)
    assert response.headers["Location"] == "/facilitate/"
    assert client.get("/facilitate/").status_code == 200
    assert _audit_count("auth.sign_in") == 1


def test_wrong_password_rerenders_form_and_writes_nothing(client):
    user = gen_user("participant")
    response = post_form(client, "/auth/sign-in", {"email": user.email, "password": "nope nope"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "do not match an active account" in page
    assert f'value="{user.email}"' in page  # what the person typed is kept
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 0
    assert db.session.get(User, user.id).last_sign_in_at is None


def test_malformed_email_shows_field_error(client):
    response = post_form(client, "/auth/sign-in", {"email": "not-an-email", "password": "x"})
    assert response.status_code == 200
    assert "Invalid email address" in response.get_data(as_text=True)


def test_unknown_account_gets_the_same_message(client):
    response = post_form(client, "/auth/sign-in",
                         {"email": "nobody@example.org", "password": "whatever pass"})
    assert "do not match an active account" in response.get_data(as_text=True)


def test_disabled_account_cannot_sign_in(client):
    user = gen_user("participant", active=False)
    response = post_form(client, "/auth/sign-in", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 200
    assert "do not match an active account" in response.get_data(as_text=True)


def test_post_without_csrf_token_is_rejected_and_writes_nothing(client):
    user = gen_user("participant")
    response = client.post("/auth/sign-in", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert "Form expired" in response.get_data(as_text=True)
    assert _audit_count("auth.sign_in") == 0


def test_post_with_forged_csrf_token_is_rejected(client):
    user = gen_user("participant")
    csrf_token(client)
    response = client.post("/auth/sign-in", data={"email": user.email, "password": PASSWORD,
                                                  "csrf_token": "forged.token.value"})
    assert response.status_code == 400


def test_rate_limit_per_account_and_address(client, app):
    user = gen_user("participant")
    for _ in range(3):
        post_form(client, "/auth/sign-in", {"email": user.email, "password": "wrong guess 1"})
    # Even the right password is refused from this address once the pair's limit is reached ...
    response = post_form(client, "/auth/sign-in", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many attempts" in response.get_data(as_text=True)
    # ... while another account from the same address can still sign in.
    other = gen_user("participant")
    assert sign_in(client, other).status_code == 302


@pytest.fixture
def tight_address_limit():
    return {"LOGIN_LIMIT_PER_ADDRESS": "3 per 15 minutes"}


@pytest.mark.parametrize("app_config", [{"LOGIN_LIMIT_PER_ADDRESS": "3 per 15 minutes"}])
def test_rate_limit_per_address(client):
    for n in range(3):
        post_form(client, "/auth/sign-in",
                  {"email": f"guess{n}@example.org", "password": "wrong guess"})
    user = gen_user("participant")
    response = post_form(client, "/auth/sign-in", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 429


def test_successful_sign_ins_do_not_count_towards_the_limit(client):
    user = gen_user("participant")
    for _ in range(7):
        sign_in(client, user)
        post_form(client, "/auth/sign-out", token_from="/me/")


def test_open_redirect_is_refused(client):
    user = gen_user("participant")
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        response = post_form(client, "/auth/sign-in",
                             {"email": user.email, "password": PASSWORD, "next": target})
        assert response.headers["Location"] == "/me/"
        post_form(client, "/auth/sign-out", token_from="/me/")


def test_next_path_on_this_site_is_followed(client):
    user = gen_user("participant")
    response = post_form(client, "/auth/sign-in",
                         {"email": user.email, "password": PASSWORD, "next": "/me/?tab=1"})
    assert response.headers["Location"] == "/me/?tab=1"


def test_session_is_renewed_at_sign_in(client):
    user = gen_user("participant")
    client.get("/auth/sign-in")
    with client.session_transaction() as s:
        s["planted"] = "by an attacker"
    sign_in(client, user)
    with client.session_transaction() as s:
        assert "planted" not in s


def test_sign_out(client):
    user = gen_user("participant")
    sign_in(client, user)
    response = post_form(client, "/auth/sign-out", token_from="/me/")
    assert response.status_code == 302
    assert client.get("/me/").status_code == 302


def _second_browser(app, user):
    other = app.test_client()
    sign_in(other, user)
    assert other.get("/me/").status_code == 200
    return other


def test_sign_out_everywhere_ends_other_sessions(client, app):
    user = gen_user("participant")
    other = _second_browser(app, user)
    sign_in(client, user)
    post_form(client, "/auth/sign-out-everywhere", token_from="/me/")
    assert other.get("/me/").status_code == 302
    assert client.get("/me/").status_code == 302


def test_password_change_ends_other_sessions_but_keeps_this_one(client, app):
    user = gen_user("participant")
    other = _second_browser(app, user)
    sign_in(client, user)
    response = post_form(client, "/auth/password", {
        "current": PASSWORD, "password": "a brand new passphrase", "confirm":
        "a brand new passphrase"})
    assert response.status_code == 302
    assert client.get("/me/").status_code == 200
    assert other.get("/me/").status_code == 302
    post_form(client, "/auth/sign-out", token_from="/me/")
    assert sign_in(client, user, "a brand new passphrase").status_code == 302


def test_password_change_with_wrong_current_password_changes_nothing(client):
    user = gen_user("participant")
    old_hash = user.password_hash
    sign_in(client, user)
    response = post_form(client, "/auth/password", {
        "current": "not my password", "password": "a brand new passphrase",
        "confirm": "a brand new passphrase"})
    assert response.status_code == 200
    assert "not your current password" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user.id).password_hash == old_hash


def test_disabling_an_account_ends_its_sessions(client, app):
    user = gen_user("participant")
    other = _second_browser(app, user)
    admin = gen_user("admin")
    sign_in(client, admin)
    post_form(client, f"/admin/users/{user.id}/active", {"active": "0"}, token_from="/admin/")
    assert other.get("/me/").status_code == 302
    assert _audit_count("admin.account_disabled") == 1


def _request_reset(client, email):
    """Ask for a reset link, and let the dispatcher send what was queued."""
    response = post_form(client, "/auth/reset", {"email": email})
    dispatch(utcnow())
    return response


def _reset_link(app) -> str:
    body = sent_mail()[-1]["body"]
    return re.search(r"http://hearth\.test(/auth/reset/\S+)", body).group(1)


def test_password_reset_is_single_use(client, app):
    user = gen_user("participant")
    _request_reset(client, user.email)
    assert sent_mail()[-1]["to"] == user.email
    link = _reset_link(app)
    data = {"password": "fresh passphrase here", "confirm": "fresh passphrase here"}
    assert post_form(client, link, data).status_code == 302
    assert sign_in(client, user, "fresh passphrase here").status_code == 302
    post_form(client, "/auth/sign-out", token_from="/me/")
    # The same link a second time
    assert client.get(link).status_code == 400
    assert "no longer valid" in client.get(link).get_data(as_text=True)


def test_password_reset_link_expires(client, app):
    user = gen_user("participant")
    with time_machine.travel("2026-11-23 09:00:00+00:00", tick=False) as clock:
        _request_reset(client, user.email)
        link = _reset_link(app)
        clock.shift(timedelta(hours=2, seconds=1))
        response = client.get(link)
    assert response.status_code == 400


def test_reset_for_unknown_address_looks_the_same_and_sends_nothing(client):
    response = _request_reset(client, "nobody@example.org")
    assert response.status_code == 302
    assert sent_mail() == []
    assert db.session.scalar(select(func.count()).select_from(PasswordResetToken)) == 0


def test_reset_form_with_bad_input_rerenders_and_keeps_the_token(client, app):
    user = gen_user("participant")
    _request_reset(client, user.email)
    link = _reset_link(app)
    response = post_form(client, link, {"password": "short", "confirm": "short"})
    assert response.status_code == 200
    assert "at least 8 characters" in response.get_data(as_text=True)
    response = post_form(client, link, {"password": "long enough one", "confirm": "different"})
    assert "The passwords differ" in response.get_data(as_text=True)
    row = db.session.scalar(select(PasswordResetToken))
    assert row.used_at is None


def test_reset_request_with_bad_email_rerenders(client):
    response = _request_reset(client, "bad address")
    assert response.status_code == 200
    assert "Invalid email address" in response.get_data(as_text=True)


def test_idle_session_times_out(client):
    user = gen_user("participant")
    with time_machine.travel("2026-11-23 09:00:00+00:00", tick=False) as clock:
        sign_in(client, user)
        assert client.get("/me/").status_code == 200
        clock.shift(timedelta(minutes=61))
        assert client.get("/me/").status_code == 302


def test_language_choice_is_saved_on_the_account(client):
    user = gen_user("participant")
    sign_in(client, user)
    post_form(client, "/auth/language", {"locale": "ja", "next": "/me/"}, token_from="/me/")
    db.session.expire_all()
    assert db.session.get(User, user.id).locale == "ja"
    page = client.get("/me/").get_data(as_text=True)
    assert page.startswith('<!doctype html>\n<html lang="ja"')


def test_unknown_language_is_refused(client):
    response = post_form(client, "/auth/language", {"locale": "xx"})
    assert response.status_code == 400
