"""In Chromium: a researcher turns on two-factor sign-in and signs in again with a code."""

from __future__ import annotations

import time

import pyotp

from tests.browser.conftest import sign_in


def test_researcher_enrols_and_signs_in_with_a_code(page):
    sign_in(page, "researcher@hearth.example")
    page.goto("/settings/")
    page.get_by_role("link", name="Manage two-factor sign-in").click()
    page.get_by_role("button", name="Set up two-factor sign-in").click()
    assert page.get_by_role("img", name="QR code for your authenticator app").is_visible()
    totp = pyotp.TOTP(page.locator("#two-factor-key").inner_text().replace(" ", ""))
    page.get_by_label("Code from the app").fill(totp.now())
    page.get_by_role("button", name="Turn on two-factor sign-in").click()
    assert page.locator("h1").inner_text() == "Your recovery codes"
    assert page.locator("ol.recovery-codes li").count() == 10
    page.get_by_role("link", name="I have saved my recovery codes").click()
    assert "10 unused recovery codes left" in page.locator("main").inner_text()

    page.get_by_role("button", name="Sign out").click()
    sign_in(page, "researcher@hearth.example")
    assert page.url.endswith("/auth/two-factor")
    # The code just used is spent: the app's next one (within the drift window) signs in.
    page.get_by_label("Verification code").fill(totp.at(time.time() + 30))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    assert page.url.endswith("/research/")
    assert "Studies" in page.locator("h1").first.inner_text()
