"""The MSC half-day retreat as a page: schedule, practices, silence, contacts and guide."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from program.courses.catalogue import (
    CONTENT_ROOT,
    get_catalogue,
    load_catalogue,
    translation_problems,
)
from program.courses.content import CatalogueError
from program.courses.event_pages import fill_placeholders, placeholders_in

RETREAT_PRACTICES = ("affectionate-breathing", "compassionate-walking", "soothing-touch",
                     "self-compassion-break", "compassionate-friend", "savouring-and-gratitude",
                     "loving-kindness-for-ourselves")


@pytest.fixture
def content(tmp_path) -> Path:
    root = tmp_path / "content"
    shutil.copytree(CONTENT_ROOT, root)
    return root


def _retreat(locale: str):
    (event,) = get_catalogue(locale).program("msc").extra_events
    return event


@pytest.mark.parametrize("locale", ["en", "ja", "zh"])
def test_the_retreat_is_written_as_a_session_in_every_language(locale):
    retreat = _retreat(locale)
    assert retreat.locale == locale
    keys = [section.key or section.heading for section in retreat.sections]
    assert keys == ["About the retreat", "Schedule", "Practices", "What silence means",
                    "On the day", "If you need help", "Facilitator guide"]
    assert sorted(placeholders_in(retreat.sections)) == ["crisis-contacts", "on-the-day-contact"]
    # four hours, from settling in to closing, and the guide keeps the same timings
    assert "0:00–0:15" in retreat.section("Schedule").markdown
    assert "3:50–4:00" in retreat.section("Schedule").markdown
    assert retreat.section("Facilitator guide").markdown.count("\n- ") >= 12


@pytest.mark.parametrize("locale", ["en", "ja", "zh"])
def test_the_retreats_practices_are_the_courses_own_by_their_titles(locale):
    practices = _retreat(locale).section("Practices").markdown.casefold()
    catalogue = get_catalogue(locale)
    missing = [key for key in RETREAT_PRACTICES
               if catalogue.practice(key).title.casefold() not in practices]
    assert missing == []


def test_a_translation_that_drops_the_crisis_contacts_falls_back_to_english(content):
    path = content / "msc/i18n/zh/retreat.md"
    path.write_text(path.read_text(encoding="utf-8").replace("[[crisis-contacts]]", "请拨打120。"),
                    encoding="utf-8")
    problems = [f"{p.item}: {p.problem}" for p in translation_problems(content, ["zh"])]
    assert len(problems) == 1 and problems[0].startswith("msc event retreat: placeholders")
    from program.courses.translation import localize
    (event,) = localize(load_catalogue(content), "zh")[0].program("msc").extra_events
    assert event.locale == "en" and event.title == "半日静修"


def test_an_english_page_without_a_schedule_or_with_an_unknown_placeholder_stops_loading(
        content):
    path = content / "msc/retreat.md"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("## Schedule", "## Timetable"), encoding="utf-8")
    with pytest.raises(CatalogueError, match="## Schedule"):
        load_catalogue(content)
    path.write_text(text.replace("[[on-the-day-contact]]", "[[phone-number]]"), encoding="utf-8")
    with pytest.raises(CatalogueError, match="phone-number"):
        load_catalogue(content)


def test_placeholders_are_filled_and_an_unfilled_one_is_never_shown():
    html = "<p>Call:</p>\n<p>[[crisis-contacts]]</p>\n<p>[[on-the-day-contact]]</p>\n"
    filled = fill_placeholders(html, {"crisis-contacts": "<ul><li>119</li></ul>"})
    assert filled == "<p>Call:</p>\n<ul><li>119</li></ul>"
