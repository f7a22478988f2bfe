"""Two-factor sign-in: enrolment, the second sign-in step, replay, recovery codes, expiry of the
half-signed-in state, rate limits, the "required" staff policy and the admin's reset."""

from __future__ import annotations

import html
import logging
import re
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
import time_machine
from sqlalchemy import func, select

from models import AuditEntry, RecoveryCode, SignInSession, User, db
from program.accounts import two_factor
from program.trial.removal import remove_participant_data
from tests.conftest import PASSWORD, post_form, sign_in
from tests.factories import gen_participant, gen_staff, gen_study, gen_user

NOW = datetime(2026, 11, 23, 9, 0, 10, tzinfo=UTC)  # 10 s into a 30 s time step
_KEY = re.compile(r'<code id="two-factor-key">([A-Z2-7 ]+)</code>')
_CODES = re.compile(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>")


def code_at(secret: str, when: datetime) -> str:
    return pyotp.TOTP(secret).generate_otp(int(when.timestamp()) // 30)


def enrol(client, when: datetime = NOW) -> tuple[str, list[str]]:
    """Turn two-factor sign-in on through the settings pages; returns the secret and the codes."""
    assert post_form(client, "/settings/two-factor/start",
                     token_from="/settings/two-factor").status_code == 302
    page = client.get("/settings/two-factor").get_data(as_text=True)
    secret = _KEY.search(page).group(1).replace(" ", "")
    response = post_form(client, "/settings/two-factor/confirm",
                         {"code": code_at(secret, when)}, token_from="/settings/two-factor")
    assert response.status_code == 200
    codes = _CODES.findall(response.get_data(as_text=True))
    return secret, codes


def enrolled_user(role: str = "participant", when: datetime = NOW, **fields):
    """A user with two-factor sign-in on (secret set directly); returns (user, secret, codes)."""
    user = gen_user(role, **fields)
    secret = two_factor.new_secret()
    user.two_factor_secret = two_factor.encrypt_secret(secret)
    user.two_factor_enabled_at = when - timedelta(days=1)
    codes = two_factor.replace_recovery_codes(user)
    db.session.commit()
    return user, secret, codes


def password_step(client, user, next_url: str | None = None):
    path = "/auth/sign-in" + (f"?next={next_url}" if next_url else "")
    data = {"email": user.email, "password": PASSWORD}
    if next_url:
        data["next"] = next_url
    return post_form(client, path, data)


def code_step(client, code: str):
    return post_form(client, "/auth/two-factor", {"code": code}, token_from="/auth/two-factor")


def signed_in(client) -> bool:
    return client.get("/settings/").status_code == 200


def audit_actions(user) -> list[str]:
    return list(db.session.scalars(select(AuditEntry.action).where(
        AuditEntry.object_type == "User", AuditEntry.object_id == user.id)
        .order_by(AuditEntry.id)))


# --- enrolment ------------------------------------------------------------------------------

def test_enrolment_shows_a_qr_code_and_the_key_then_needs_a_current_code(client):
    user = gen_user("researcher")
    with time_machine.travel(NOW, tick=False):
        sign_in(client, user)
        page = client.get("/settings/").get_data(as_text=True)
        assert "/settings/two-factor" in page
        post_form(client, "/settings/two-factor/start", token_from="/settings/two-factor")
        page = client.get("/settings/two-factor").get_data(as_text=True)
        assert 'src="data:image/svg+xml' in page
        secret = _KEY.search(page).group(1).replace(" ", "")
        assert len(secret) == 32
        db.session.refresh(user)
        assert secret not in (user.two_factor_secret or "")  # stored encrypted
        assert user.two_factor_enabled_at is None

        wrong = post_form(client, "/settings/two-factor/confirm", {"code": "000000"},
                          token_from="/settings/two-factor")
        assert wrong.status_code == 200 and "not right" in wrong.get_data(as_text=True)
        assert not db.session.get(User, user.id).two_factor_enabled

        response = post_form(client, "/settings/two-factor/confirm",
                             {"code": code_at(secret, NOW)}, token_from="/settings/two-factor")
        codes = _CODES.findall(response.get_data(as_text=True))
        # Never shown again: neither the key nor the codes.
        page = client.get("/settings/two-factor").get_data(as_text=True)
    assert len(codes) == 10 and len(set(codes)) == 10
    user = db.session.get(User, user.id)
    assert user.two_factor_enabled
    hashes = set(db.session.scalars(select(RecoveryCode.code_hash)
                                     .where(RecoveryCode.user_id == user.id)))
    assert len(hashes) == 10 and not hashes & set(codes)  # only keyed hashes are stored
    assert secret not in page.replace(" ", "") and "data:image/svg+xml" not in page
    assert not any(code in page for code in codes)
    assert "10 unused recovery codes left" in page
    assert "auth.two_factor_enabled" in audit_actions(user)


def test_the_secret_is_encrypted_with_the_configured_key(app):
    stored = two_factor.encrypt_secret("JBSWY3DPEHPK3PXP")
    assert "JBSWY3DPEHPK3PXP" not in stored
    assert two_factor.decrypt_secret(stored) == "JBSWY3DPEHPK3PXP"
    app.config["TWO_FACTOR_KEY"] = "another key"
    assert two_factor.decrypt_secret(stored) is None  # a changed key fails closed


@pytest.mark.parametrize("code", ["\u0661\u0662\u0663\u0664\u0665\u0666", "１２３４５６", "12345",
                                  "1234567", "", "x" * 32, "abcde-fghjk"])
def test_odd_codes_are_simply_wrong(client, code):
    """Digits of other scripts match \\d but not a code (compare_digest refuses non-ASCII)."""
    user, _secret, _codes = enrolled_user()
    password_step(client, user)
    response = code_step(client, code)
    assert response.status_code == 200
    assert not signed_in(client)


def test_starting_again_replaces_an_unfinished_secret(client):
    user = gen_user("participant")
    sign_in(client, user)
    post_form(client, "/settings/two-factor/start", token_from="/settings/two-factor")
    first = _KEY.search(client.get("/settings/two-factor").get_data(as_text=True)).group(1)
    post_form(client, "/settings/two-factor/start", token_from="/settings/two-factor")
    second = _KEY.search(client.get("/settings/two-factor").get_data(as_text=True)).group(1)
    assert first != second


# --- signing in -----------------------------------------------------------------------------

def test_sign_in_needs_the_code_after_the_password(client):
    user, secret, _codes = enrolled_user("researcher")
    with time_machine.travel(NOW, tick=False):
        response = password_step(client, user)
        assert response.status_code == 302
        assert response.headers["Location"] == "/auth/two-factor"
        # Half signed in: no sign-in session, no page.
        assert db.session.scalar(select(func.count()).select_from(SignInSession)) == 0
        assert client.get("/research/").headers["Location"].startswith("/auth/sign-in")
        assert "Two-factor sign-in" in client.get("/auth/two-factor").get_data(as_text=True)
        response = code_step(client, code_at(secret, NOW))
        assert response.status_code == 302 and response.headers["Location"] == "/research/"
        assert client.get("/research/").status_code == 200
        with client.session_transaction() as session:
            assert two_factor.PENDING_KEY not in session
    assert db.session.scalar(select(func.count()).select_from(SignInSession)) == 1
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "auth.sign_in"))
    assert entry.details == {"second_factor": "totp"}


def test_a_code_from_the_previous_step_is_accepted_for_clock_drift(client):
    user, secret, _codes = enrolled_user()
    with time_machine.travel(NOW, tick=False):
        password_step(client, user)
        assert code_step(client, code_at(secret, NOW - timedelta(seconds=30))).status_code == 302


def test_a_wrong_code_is_refused_and_audited_without_the_code(client, caplog):
    user, secret, _codes = enrolled_user()
    caplog.set_level(logging.DEBUG)
    right = code_at(secret, NOW)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    with time_machine.travel(NOW, tick=False):
        password_step(client, user)
        response = code_step(client, wrong)
        assert response.status_code == 200
        assert "not right" in response.get_data(as_text=True)
        assert not signed_in(client)
        old = code_at(secret, NOW - timedelta(minutes=2))  # outside the drift window
        assert code_step(client, old).status_code == 200
        assert code_step(client, right).status_code == 302
    assert audit_actions(user).count("auth.second_factor_failed") == 2
    details = [e.details for e in db.session.scalars(select(AuditEntry))]
    assert all(wrong not in repr(d) and right not in repr(d) for d in details)
    assert wrong not in caplog.text and right not in caplog.text


def test_a_code_is_accepted_only_once(client, app):
    user, secret, _codes = enrolled_user()
    with time_machine.travel(NOW, tick=False) as clock:
        code = code_at(secret, NOW)
        password_step(client, user)
        assert code_step(client, code).status_code == 302
        post_form(client, "/auth/sign-out", token_from="/settings/")
        # Someone who saw the code replays it within its window: refused.
        other = app.test_client()
        password_step(other, user)
        assert code_step(other, code).status_code == 200
        assert not signed_in(other)
        # An older code than the last one accepted is refused too.
        assert code_step(other, code_at(secret, NOW - timedelta(seconds=30))).status_code == 200
        clock.shift(timedelta(seconds=30))
        assert code_step(other, code_at(secret, NOW + timedelta(seconds=30))).status_code == 302
    assert db.session.get(User, user.id).two_factor_last_step == int(NOW.timestamp()) // 30 + 1


def test_a_recovery_code_signs_in_once(client, app):
    user, _secret, codes = enrolled_user()
    password_step(client, user)
    response = code_step(client, codes[0].upper().replace("-", " "))  # typed loosely
    assert response.status_code == 302
    assert "9 are left" in client.get("/me/").get_data(as_text=True)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "auth.sign_in"))
    assert entry.details == {"second_factor": "recovery_code"}
    other = app.test_client()
    password_step(other, user)
    assert code_step(other, codes[0]).status_code == 200  # spent
    assert code_step(other, codes[1]).status_code == 302
    assert two_factor.recovery_codes_left(user) == 8


def test_the_half_signed_in_state_expires_after_5_minutes(client):
    user, secret, _codes = enrolled_user()
    with time_machine.travel(NOW, tick=False) as clock:
        password_step(client, user)
        clock.shift(timedelta(minutes=5, seconds=1))
        later = NOW + timedelta(minutes=5, seconds=1)
        response = post_form(client, "/auth/two-factor", {"code": code_at(secret, later)},
                             token_from="/auth/sign-in")
        assert response.status_code == 302
        assert response.headers["Location"] == "/auth/sign-in"
        assert not signed_in(client)
        with client.session_transaction() as session:
            assert two_factor.PENDING_KEY not in session
        assert client.get("/auth/two-factor").headers["Location"] == "/auth/sign-in"


def test_the_half_state_of_one_account_does_not_sign_in_after_a_password_change(client):
    user, secret, _codes = enrolled_user()
    with time_machine.travel(NOW, tick=False):
        password_step(client, user)
        user.session_version += 1  # e.g. the password was reset meanwhile
        db.session.commit()
        response = post_form(client, "/auth/two-factor", {"code": code_at(secret, NOW)},
                             token_from="/auth/sign-in")
        assert response.status_code == 302
        assert not signed_in(client)


def test_next_survives_the_second_step_but_never_leaves_the_site(client, app):
    user, secret, codes = enrolled_user()
    with time_machine.travel(NOW, tick=False):
        password_step(client, user, "/settings/")
        response = code_step(client, code_at(secret, NOW))
    assert response.headers["Location"] == "/settings/"
    other = app.test_client()
    password_step(other, user, "//evil.example/")
    response = code_step(other, codes[0])
    assert response.headers["Location"] == "/me/"


def test_accounts_without_two_factor_sign_in_with_the_password_alone(client):
    user = gen_user("researcher")
    response = sign_in(client, user)
    assert response.headers["Location"] == "/research/"


def test_wrong_codes_are_rate_limited_per_account(client, app):
    user, secret, _codes = enrolled_user()
    with time_machine.travel(NOW, tick=False):
        password_step(client, user)
        for _ in range(5):
            assert code_step(client, "000000").status_code == 200
        # Even the right code is refused once the limit is reached, in a new browser too.
        assert code_step(client, code_at(secret, NOW)).status_code == 429
        other = app.test_client()
        password_step(other, user)
        assert code_step(other, code_at(secret, NOW)).status_code == 429
        # Another account is not affected.
        someone, their_secret, _ = enrolled_user()
        third = app.test_client()
        password_step(third, someone)
        assert code_step(third, code_at(their_secret, NOW)).status_code == 302


def test_right_codes_do_not_count_towards_the_limit(client, app):
    user, secret, _codes = enrolled_user()
    with time_machine.travel(NOW, tick=False) as clock:
        for i in range(7):
            browser = app.test_client()
            password_step(browser, user)
            assert code_step(browser, code_at(secret, NOW + timedelta(seconds=30 * i))
                             ).status_code == 302
            clock.shift(timedelta(seconds=30))


# --- turning off, new codes -----------------------------------------------------------------

def test_turning_off_needs_a_current_code_or_the_password(client):
    user, secret, _codes = enrolled_user()
    with time_machine.travel(NOW, tick=False) as clock:
        password_step(client, user)
        code_step(client, code_at(secret, NOW))
        response = post_form(client, "/settings/two-factor/disable", {"password": "wrong one"},
                             token_from="/settings/two-factor")
        assert response.status_code == 200
        assert db.session.get(User, user.id).two_factor_enabled
        clock.shift(timedelta(seconds=30))
        response = post_form(client, "/settings/two-factor/disable",
                             {"code": code_at(secret, NOW + timedelta(seconds=30))},
                             token_from="/settings/two-factor")
    assert response.status_code == 302
    user = db.session.get(User, user.id)
    assert not user.two_factor_enabled and user.two_factor_secret is None
    assert db.session.scalar(select(func.count()).select_from(RecoveryCode)) == 0
    assert "auth.two_factor_disabled" in audit_actions(user)
    # The next sign-in needs the password alone.
    assert sign_in(client.application.test_client(), user).headers["Location"] == "/me/"


def test_new_recovery_codes_replace_the_old_ones(client, app):
    user, secret, old_codes = enrolled_user()
    password_step(client, user)
    code_step(client, old_codes[0])
    response = post_form(client, "/settings/two-factor/recovery-codes", {"password": PASSWORD},
                         token_from="/settings/two-factor")
    assert response.status_code == 200
    new_codes = _CODES.findall(response.get_data(as_text=True))
    assert len(new_codes) == 10 and not set(new_codes) & set(old_codes)
    other = app.test_client()
    password_step(other, user)
    assert code_step(other, old_codes[1]).status_code == 200
    assert code_step(other, new_codes[0]).status_code == 302
    assert "auth.recovery_codes_replaced" in audit_actions(user)


# --- the "required" policy ------------------------------------------------------------------

class TestRequiredPolicy:
    @pytest.fixture
    def app_config(self):
        return {"STAFF_TWO_FACTOR": "required"}

    def test_staff_without_two_factor_are_sent_to_enrol_and_reach_nothing_else(self, client):
        user = gen_user("researcher")
        with time_machine.travel(NOW, tick=False):
            response = sign_in(client, user)
            assert response.headers["Location"] == "/research/"
            for path in ("/research/", "/settings/", "/alerts/", "/auth/password"):
                response = client.get(path)
                assert response.status_code == 302, path
                assert response.headers["Location"] == "/settings/two-factor"
            page = client.get("/settings/two-factor").get_data(as_text=True)
            assert "must use two-factor sign-in" in page
            _secret, codes = enrol(client)
            assert len(codes) == 10
            assert client.get("/research/").status_code == 200
        # Signing out stays possible while gated (checked with a new account).
        admin = gen_user("admin")
        other = client.application.test_client()
        sign_in(other, admin)
        assert post_form(other, "/auth/sign-out",
                         token_from="/settings/two-factor").status_code == 302

    def test_clinician_facilitators_must_enrol_other_facilitators_and_participants_need_not(
            self, client, app):
        study = gen_study()
        clinician = gen_user("facilitator")
        gen_staff(study, clinician, clinician=True)
        sign_in(client, clinician)
        assert client.get("/facilitate/").headers["Location"] == "/settings/two-factor"
        for role in ("facilitator", "rater", "participant"):
            other = app.test_client()
            user = gen_user(role)
            sign_in(other, user)
            home = {"facilitator": "/facilitate/", "rater": "/rate/", "participant": "/me/"}
            assert other.get(home[role]).status_code == 200, role
            assert other.get("/settings/two-factor").status_code == 200

    def test_enrolled_staff_sign_in_with_a_code_and_are_not_gated(self, client):
        user, secret, _codes = enrolled_user("admin")
        with time_machine.travel(NOW, tick=False):
            password_step(client, user)
            assert code_step(client, code_at(secret, NOW)).status_code == 302
            assert client.get("/admin/").status_code == 200


def test_the_optional_policy_lets_staff_in_without_two_factor(client):
    user = gen_user("admin")
    sign_in(client, user)
    assert client.get("/admin/").status_code == 200


def test_an_unknown_policy_stops_the_app():
    from tests.conftest import make_app

    with pytest.raises(ValueError, match="STAFF_TWO_FACTOR"):
        make_app("sqlite://", STAFF_TWO_FACTOR="sometimes")


# --- the admin's reset ----------------------------------------------------------------------

def test_an_admin_resets_two_factor_for_a_lost_phone(client, app):
    user, secret, codes = enrolled_user("researcher")
    phone = app.test_client()
    password_step(phone, user)
    code_step(phone, codes[0])
    admin = gen_user("admin")
    sign_in(client, admin)
    page = client.get("/admin/").get_data(as_text=True)
    assert f"/admin/users/{user.id}/two-factor/reset" in page
    response = post_form(client, f"/admin/users/{user.id}/two-factor/reset", token_from="/admin/")
    assert response.status_code == 302
    user = db.session.get(User, user.id)
    assert not user.two_factor_enabled and user.two_factor_secret is None
    assert db.session.scalar(select(func.count()).select_from(RecoveryCode)) == 0
    assert not signed_in(phone)  # their sessions ended
    entry = db.session.scalar(select(AuditEntry).where(
        AuditEntry.action == "admin.two_factor_reset"))
    assert entry.actor_id == admin.id and entry.object_id == user.id
    assert entry.details == {"was_enabled": True}
    # They sign in with the password again (and, under "required", enrol at once).
    assert sign_in(app.test_client(), user).headers["Location"] == "/research/"


def test_an_admin_cannot_reset_their_own_two_factor(client):
    admin, _secret, codes = enrolled_user("admin")
    password_step(client, admin)
    code_step(client, codes[0])
    response = post_form(client, f"/admin/users/{admin.id}/two-factor/reset",
                         token_from="/admin/")
    assert response.status_code == 302
    assert db.session.get(User, admin.id).two_factor_enabled
    assert "another administrator" in html.unescape(client.get("/admin/").get_data(as_text=True))


def test_only_admins_reset_two_factor(client):
    user, _secret, _codes = enrolled_user("participant")
    researcher = gen_user("researcher")
    sign_in(client, researcher)
    response = post_form(client, f"/admin/users/{user.id}/two-factor/reset",
                         token_from="/research/")
    assert response.status_code == 403
    assert db.session.get(User, user.id).two_factor_enabled


# --- data removal ---------------------------------------------------------------------------

def test_data_removal_erases_a_participants_two_factor_data(app):
    study = gen_study()
    participant = gen_participant(study)
    user_id = participant.user_id
    user = db.session.get(User, user_id)
    user.two_factor_secret = two_factor.encrypt_secret(two_factor.new_secret())
    user.two_factor_enabled_at = NOW
    user.two_factor_last_step = 1
    two_factor.replace_recovery_codes(user)
    db.session.commit()
    assert remove_participant_data(participant.id)
    user = db.session.get(User, user_id)
    assert (user.two_factor_secret, user.two_factor_enabled_at, user.two_factor_last_step) == (
        None, None, None)
    assert db.session.scalar(select(func.count()).select_from(RecoveryCode)) == 0
