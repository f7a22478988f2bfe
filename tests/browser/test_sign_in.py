"""Every demo login signs in through a real browser and lands on its role's page."""

import pytest

from tests.browser.conftest import sign_in

LANDING = {
    "admin@hearth.example": ("/admin/", "Administration"),
    "researcher@hearth.example": ("/research/", "Studies"),
    "rater@hearth.example": ("/rate/", "Clinician ratings"),
    "therapist@hearth.example": ("/facilitate/", "Your cohorts"),
    "msc.participant@hearth.example": ("/me/", "Hello, Mina (MSC)"),
}


@pytest.mark.parametrize("email", sorted(LANDING))
def test_demo_login_lands_on_role_page(page, email):
    path, heading = LANDING[email]
    sign_in(page, email)
    assert page.url.endswith(path)
    assert heading in page.locator("h1").first.inner_text()


def test_wrong_password_shows_message(page):
    sign_in(page, "admin@hearth.example", "wrong password here")
    assert "/auth/sign-in" in page.url
    assert "do not match" in page.locator(".error-summary").inner_text()
