"""Sign-in throttling: growing delays per account and address, no lock-out of the owner's
usual device, and the client's real address behind a configured number of proxies."""

from __future__ import annotations

import pytest
import time_machine
from sqlalchemy import select

from models import AuditEntry, db
from tests.conftest import PASSWORD, post_form
from tests.factories import gen_user

WRONG = "not the password"


def _attempt(client, user, password, address="198.51.100.7"):
    return post_form(client, "/auth/sign-in", {"email": user.email, "password": password},
                     environ_base={"REMOTE_ADDR": address})


def test_each_run_of_failures_from_an_address_waits_longer(client):
    user = gen_user("participant")
    with time_machine.travel("2026-11-23 09:00:00+00:00", tick=False) as clock:
        for _ in range(3):
            assert _attempt(client, user, WRONG).status_code == 200
        assert _attempt(client, user, PASSWORD).status_code == 429
        clock.shift(61)  # the first wait is a minute
        for _ in range(3):
            assert _attempt(client, user, WRONG).status_code == 200
        clock.shift(61)  # after six failures a minute is no longer enough ...
        assert _attempt(client, user, PASSWORD).status_code == 429
        clock.shift(15 * 60)  # ... the wait is a quarter of an hour
        assert _attempt(client, user, PASSWORD).status_code == 302


def test_failures_elsewhere_do_not_lock_the_owner_out_of_their_usual_device(client, app):
    owner = gen_user("facilitator")
    assert _attempt(client, owner, PASSWORD, "192.0.2.10").status_code == 302
    post_form(client, "/auth/sign-out", token_from="/facilitate/")
    attacker = app.test_client()
    for n in range(12):  # from many addresses, beyond the account-wide limit
        _attempt(attacker, owner, WRONG, f"203.0.113.{n + 1}")
    assert _attempt(attacker, owner, PASSWORD, "203.0.113.99").status_code == 429
    fresh_browser = app.test_client()
    assert _attempt(fresh_browser, owner, PASSWORD, "192.0.2.10").status_code == 429
    # The browser the owner signed in from before carries the device cookie.
    assert _attempt(client, owner, PASSWORD, "192.0.2.10").status_code == 302


def test_a_forged_device_cookie_does_not_exempt(client, app):
    owner = gen_user("participant")
    for n in range(10):
        _attempt(client, owner, WRONG, f"203.0.113.{n + 1}")
    client.set_cookie("hearth_device", "forged.value.here", path="/auth/")
    assert _attempt(client, owner, PASSWORD, "192.0.2.10").status_code == 429


def _audited_address() -> str:
    return db.session.scalars(select(AuditEntry.ip).where(
        AuditEntry.action == "auth.sign_in")).all()[-1]


@pytest.mark.parametrize("app_config", [{"TRUSTED_PROXIES": 1}])
def test_behind_a_trusted_proxy_the_real_address_is_limited_and_audited(client, app):
    user = gen_user("participant")
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    for n in range(3):  # three different people behind the same proxy fail once each
        post_form(client, "/auth/sign-in", {"email": user.email, "password": WRONG},
                  environ_base=proxy, headers={"X-Forwarded-For": f"198.51.100.{n + 1}"})
    response = post_form(client, "/auth/sign-in", {"email": user.email, "password": PASSWORD},
                         environ_base=proxy, headers={"X-Forwarded-For": "198.51.100.50"})
    assert response.status_code == 302
    assert _audited_address() == "198.51.100.50"


def test_without_trusted_proxies_a_forwarded_header_is_ignored(client):
    user = gen_user("participant")
    response = post_form(client, "/auth/sign-in", {"email": user.email, "password": PASSWORD},
                         headers={"X-Forwarded-For": "198.51.100.50"})
    assert response.status_code == 302
    assert _audited_address() == "127.0.0.1"


@pytest.mark.parametrize("path", ["/auth/sign-in", "/auth/reset", "/auth/reset/not-a-token"])
def test_sign_in_and_reset_pages_are_never_stored(client, path):
    assert client.get(path).headers.get("Cache-Control") == "no-store"
