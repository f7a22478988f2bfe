"""A participant listens to a guided recording to its end and logs the practice with its minutes."""

from __future__ import annotations

import re

from playwright.sync_api import expect
from sqlalchemy import select

from models import Study, User, db
from program.courses import recordings
from program.courses.catalogue import get_catalogue
from tests.browser.conftest import sign_in
from tests.test_recordings import wav


def test_playing_a_recording_to_its_end_fills_in_the_practice_log(page, app):
    with app.app_context():
        study = db.session.scalar(select(Study).where(Study.key == "msc-demo"))
        researcher = db.session.scalar(select(User).where(
            User.email == "researcher@hearth.example"))
        practice = get_catalogue().program("msc").session(1).practices[0]
        recordings.save(study, practice.key, "en", wav(2.0), researcher)
    sign_in(page, "msc.participant@hearth.example")
    page.goto("/me/sessions/1")
    card = page.locator(f"#practice-{practice.key}")
    audio = card.locator("audio")
    expect(audio).to_have_attribute("src", f"/me/practices/{practice.key}/recording")
    page.locator("html[data-recording-ready]").wait_for(state="attached")
    card.locator("h3").click()  # a user gesture: the page may start playing
    audio.evaluate("a => { a.muted = true; return a.play(); }")
    expect(card.locator("[data-listened-for]")).to_contain_text("Listened: about 1 min.",
                                                               timeout=20_000)
    link = card.get_by_role("link", name="Log this practice")
    expect(link).to_have_attribute(
        "href", re.compile(rf"/me/practice/new\?practice={practice.key}&minutes=1$"))
    link.click()
    expect(page.locator("h1")).to_have_text("Log a practice")
    expect(page.get_by_label("Minutes")).to_have_value("1")
    expect(page.get_by_label("Practice")).to_have_value(practice.key)
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".flashes")).to_contain_text("Practice logged")
