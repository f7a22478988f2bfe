"""No page or session text of any language mentions a helpline without showing it.

Every section of the course content (sessions, practices, event pages; English, Japanese and
Chinese) that tells someone to call a helpline, a crisis line or an emergency number holds the
``[[crisis-contacts]]`` placeholder, which the page fills with the cohort country's numbers; no
text names an emergency number of its own (119 in Japanese, 120 in Chinese: a reader of
Chinese in Japan would dial the wrong one). Templates that mention help include the contacts.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONTENT = ROOT / "program" / "courses" / "content"
TEMPLATES = ROOT / "templates"
PLACEHOLDER = "[[crisis-contacts]]"
#: words that send someone to a phone line, per language
HELPLINE = {
    "en": re.compile(r"helpline|hotline|crisis line|emergency number|call one of these",
                     re.IGNORECASE),
    "ja": re.compile(r"相談窓口|緊急通報|ホットライン|いのちの電話|番号に電話|119番|110番"),
    "zh": re.compile(r"热线|急救电话|求助电话|拨打|（(?:如 )?12[0-9]）"),
}
#: a bare emergency number in running text (numbers belong to the contacts, by country)
BARE_NUMBER = re.compile(r"(?<![0-9:.-])(?:119|110|120|999|911|112)(?:番)?(?![0-9:.])")


def _language(path: Path) -> str:
    parts = path.relative_to(CONTENT).parts
    return parts[parts.index("i18n") + 1] if "i18n" in parts else "en"


def _sections(path: Path) -> list[tuple[str, str]]:
    body = path.read_text(encoding="utf-8").split("\n---\n", 1)[-1]
    return [(chunk.splitlines()[0] if chunk else "", chunk)
            for chunk in re.split(r"^## ", body, flags=re.MULTILINE)]


CONTENT_FILES = sorted(CONTENT.rglob("*.md"))


def test_the_content_of_all_three_languages_is_scanned():
    assert {_language(p) for p in CONTENT_FILES} == {"en", "ja", "zh"}
    assert len(CONTENT_FILES) > 100


@pytest.mark.parametrize("path", CONTENT_FILES, ids=lambda p: str(p.relative_to(CONTENT)))
def test_a_section_that_mentions_a_helpline_shows_the_contacts(path):
    words = HELPLINE[_language(path)]
    for heading, text in _sections(path):
        if words.search(text):
            assert PLACEHOLDER in text, f"{heading!r} mentions a helpline without showing it"
        prose = re.sub(r"^\w+:.*$|\d+ ?(?:minutes?|分|分钟)", "", text, flags=re.MULTILINE)
        assert not BARE_NUMBER.search(prose), f"{heading!r} names an emergency number itself"


@pytest.mark.parametrize("path", [p for p in CONTENT_FILES if _language(p) != "en"],
                         ids=lambda p: str(p.relative_to(CONTENT)))
def test_a_translation_keeps_every_crisis_contacts_placeholder(path):
    parts = path.relative_to(CONTENT).parts
    english = CONTENT / parts[0] / path.name
    assert path.read_text(encoding="utf-8").count(PLACEHOLDER) == \
        english.read_text(encoding="utf-8").count(PLACEHOLDER)


def test_no_content_sends_people_to_a_helpline_the_study_team_lists():
    text = "\n".join(p.read_text(encoding="utf-8") for p in CONTENT_FILES)
    for phrase in ("helpline listed by", "研究チームが案内している相談窓口", "研究团队提供的"):
        assert phrase not in text


def test_the_chinese_text_names_the_treating_doctor_or_a_hospital_department():
    for path in (p for p in CONTENT_FILES if _language(p) == "zh"):
        for heading, text in _sections(path):
            if PLACEHOLDER in text and "医生" in text:
                assert "主治医生" in text and "精神科/心理科" in text, (path.name, heading)


@pytest.mark.parametrize("name", ["questionnaires/help_now.html", "base.html",
                                  "participant/practice_form.html"])
def test_pages_that_mention_help_include_the_contacts(name):
    assert '{% include "participant/_crisis_contacts.html" %}' in \
        (TEMPLATES / name).read_text(encoding="utf-8")


@pytest.mark.parametrize("language", ["ja", "zh"])
def test_no_interface_translation_names_an_emergency_number(language):
    """Numbers follow the cohort's country, not the language: 120 is no ambulance in Japan."""
    from babel.messages.pofile import read_po

    path = ROOT / "translations" / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as f:
        catalog = read_po(f, locale=language)
    named = [m.id for m in catalog if m.id and any(
        BARE_NUMBER.search(s or "") for s in (m.string if isinstance(m.string, tuple)
                                               else (m.string,)))]
    assert named == []
