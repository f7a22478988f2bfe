"""A participant completes a baseline questionnaire on a phone, closing the page halfway."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import delete, select

from models import Participant, Response, Study, Timepoint, User, db
from tests.browser.conftest import sign_in

EMAIL = "msc.participant@hearth.example"


def _open_baseline() -> int:
    """Reopen the demo MSC baseline (two short instruments) for the demo participant."""
    study = db.session.scalar(select(Study).where(Study.key == "msc-demo"))
    baseline = db.session.scalar(select(Timepoint).where(Timepoint.study_id == study.id,
                                                         Timepoint.key == "baseline"))
    baseline.opens_day, baseline.closes_day = -60, 60
    baseline.instruments = ["SWLS", "SHS"]
    person = db.session.scalar(select(Participant).join(User, Participant.user_id == User.id)
                               .where(User.email == EMAIL))
    db.session.execute(delete(Response).where(Response.participant_id == person.id))
    db.session.commit()
    return person.id


def _answer(page, item: int, value: int) -> None:
    """Choose an answer and wait until the page has saved it.

    The saving script is deferred: a click before it runs would save nothing until a button
    is pressed, so wait for it to say it is listening.
    """
    page.locator("form[data-autosave-ready]").wait_for(state="attached")
    with page.expect_response(lambda r: r.url.endswith("/answer") and r.ok, timeout=30_000):
        page.locator(f'input[name="item-{item}"][value="{value}"]').check()


def test_baseline_on_a_phone_survives_closing_the_page_halfway(phone):
    participant_id = _open_baseline()
    sign_in(phone, EMAIL)
    phone.goto("/q/")
    phone.get_by_role("link", name="Baseline").click()
    phone.get_by_role("link", name="Satisfaction With Life Scale").click()
    expect(phone.locator("h1")).to_have_text("Satisfaction With Life Scale")
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    for item, value in ((1, 5), (2, 6), (3, 4)):
        _answer(phone, item, value)

    context = phone.context
    phone.close()  # halfway: no button pressed
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto("/q/")
    page.get_by_role("link", name="Baseline").click()
    expect(page.locator("main")).to_contain_text("Started")
    page.get_by_role("link", name="Satisfaction With Life Scale").click()
    expect(page.locator("h1")).to_have_text("Satisfaction With Life Scale")
    for item, value in ((1, 5), (2, 6), (3, 4)):
        assert page.locator(f'input[name="item-{item}"][value="{value}"]').is_checked()
    for item, value in ((4, 7), (5, 3)):
        _answer(page, item, value)
    page.get_by_role("button", name="Send my answers").click()

    expect(page.locator("h1")).to_have_text("Subjective Happiness Scale")
    page.get_by_role("button", name="Send my answers").click()  # nothing answered yet
    expect(page.locator(".error-summary")).to_contain_text("4 questions still need an answer")
    for item in (1, 2, 3, 4):
        page.locator(f'input[name="item-{item}"][value="5"]').check()
    page.get_by_role("button", name="Send my answers").click()
    expect(page.locator(".flashes")).to_contain_text("all questionnaires for now are done")

    db.session.expire_all()
    scores = dict(db.session.execute(
        select(Response.instrument_key, Response.scores)
        .where(Response.participant_id == participant_id, Response.status == "submitted")).all())
    assert scores == {"SWLS": {"SWLS": 25.0}, "SHS": {"SHS": 4.5}}
