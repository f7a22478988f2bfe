"""In Chromium: the demo MSC participant's week in Japanese and in Chinese, with no English left.

The visible text of the dashboard, this week's session page, the list of sessions and the
practice log form is compared with every English message of the interface catalogue and every
sentence of the English course material; any other Latin word is a string that skipped gettext.
Ignored: names and codes (the product name, the person's name, the study and cohort names a
researcher typed, participant codes, time zone ids, language names in the language menu),
numbers and what participants wrote.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from program.courses.catalogue import get_catalogue
from tests.browser.conftest import sign_in
from tests.test_i18n_catalogues import TRANSLATIONS, ensure_compiled

PLACEHOLDER = re.compile(r"%\(\w+\)[sdf]|%[sdf]|\{\w*\}")
TAGS = re.compile(r"<[^>]+>")
WORD = re.compile(r"[A-Za-z]{3,}")
#: Proper nouns and identifiers that stay as they are in every language.
NAMES_AND_CODES = [
    re.compile(r"\bHearth\b"),
    re.compile(r"\b[A-Z]-\d{3,}\b"),  # participant codes
    re.compile(r"\b[A-Z][a-z]+/[A-Za-z_]+\b|\bUTC\b"),  # time zone ids
    re.compile(r"https?://\S+"),
    re.compile(r"\bEnglish\b"),  # the language menu names each language in itself
    re.compile(r"\b(?:MSC|CFT)\b"),  # the programs' acronyms, given after their local names
]


def _english_fragments() -> set[str]:
    """English text that must not be visible: catalogue messages and course sentences."""
    with (Path(TRANSLATIONS) / "messages.pot").open("rb") as handle:
        template = read_po(handle)
    fragments: set[str] = set()
    for message in template:
        for msgid in (message.id if isinstance(message.id, tuple) else (message.id,)):
            for piece in PLACEHOLDER.split(msgid or ""):
                fragments.add(piece)
    catalogue = get_catalogue()
    program = catalogue.program("msc")
    texts = [program.name, program.description]
    texts += [t for e in program.extra_events for t in (e.title, e.description)]
    for session in program.sessions:
        texts += [session.title, *(s.heading for s in session.sections)]
        texts += [TAGS.sub(" ", s.html) for s in session.sections]
    for practice in catalogue.practices.values():
        texts += [practice.title, practice.summary]
        texts += [TAGS.sub(" ", s.html) for s in practice.sections]
        texts += [s.heading for s in practice.sections]
    for text in texts:
        fragments.update(re.split(r"(?<=[.!?:;])\s+|\n+", text))
    return {" ".join(f.split()).strip(" .,:;()·—-") for f in fragments} - {""}


ENGLISH = sorted((f for f in _english_fragments() if WORD.search(f)), key=len, reverse=True)


def _visible_text(page, ignore: list[str]) -> str:
    text = page.locator("body").inner_text()
    # a practice's published source stays as cited, marked as English (lang="en")
    ignore = [*ignore, *page.locator('[lang="en"] cite, cite[lang="en"]').all_inner_texts()]
    for literal in sorted(ignore, key=len, reverse=True):
        text = text.replace(literal, " ")
    for pattern in NAMES_AND_CODES:
        text = pattern.sub(" ", text)
    return text


def _english_left(text: str) -> list[str]:
    found = [f for f in ENGLISH if re.search(rf"(?<![A-Za-z]){re.escape(f)}(?![A-Za-z])", text)]
    # Anything Latin that the catalogue and the material do not know is a hard-coded string.
    found += [word for word in WORD.findall(text) if not any(word in f for f in found)]
    return found


@pytest.fixture
def demo_data_names(app):
    """What a researcher typed for the demo participant's study, cohort and timepoints (the
    questionnaire waiting on the dashboard), and their name."""
    from sqlalchemy import select

    from models import Participant, Timepoint, User, db

    with app.app_context():
        user = db.session.scalar(select(User).where(
            User.email == "msc.participant@hearth.example"))
        participant = db.session.scalar(select(Participant).where(Participant.user_id == user.id))
        labels = db.session.scalars(select(Timepoint.label).where(
            Timepoint.study_id == participant.study_id)).all()
        return [user.display_name, participant.study.title, participant.cohort.name,
                participant.code, *labels]


@pytest.mark.parametrize(("locale", "script"), [("ja", "ぁ-んァ-ン一-龥"), ("zh", "一-龥")])
def test_msc_participant_week_has_no_english_left(page, demo_data_names, locale, script):
    ensure_compiled()
    sign_in(page, "msc.participant@hearth.example")
    page.locator("#locale").select_option(locale)
    page.locator("form.language button").click()
    page.wait_for_load_state()
    page.goto("/me/")
    assert page.locator("html").get_attribute("lang") == locale

    dashboard = _visible_text(page, demo_data_names)
    assert re.search(f"[{script}]", dashboard)
    assert _english_left(dashboard) == [], "dashboard"

    page.locator("#this-week").locator("xpath=..").get_by_role("link").first.click()
    page.wait_for_load_state()
    assert re.search(r"/me/sessions/\d+$", page.url)
    session = _visible_text(page, demo_data_names)
    number = int(page.url.rsplit("/", 1)[1])
    assert get_catalogue(locale).session("msc", number).title in session
    assert _english_left(session) == [], "session page"

    for path in ("/me/sessions", "/me/practice/new"):  # the course and the practice log form
        page.goto(path)
        assert _english_left(_visible_text(page, demo_data_names)) == [], path


@pytest.mark.parametrize(("locale", "font"), [("ja", "Noto Sans CJK JP"),
                                              ("zh", "Noto Sans CJK SC")])
def test_cjk_text_is_drawn_with_the_languages_own_font(page, locale, font):
    """Han characters differ between Japanese and Chinese; each page uses its language's font.

    Needs Debian's fonts-noto-cjk (``make browser`` installs it), as phones have their own.
    """
    page.context.set_extra_http_headers({"Accept-Language": locale})
    page.goto("/auth/sign-in")
    assert page.locator("html").get_attribute("lang") == locale
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    heading = cdp.send("DOM.querySelector", {"nodeId": root, "selector": "h1"})["nodeId"]
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": heading})["fonts"]
    assert [f["familyName"] for f in fonts] == [font]
