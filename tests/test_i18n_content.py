"""Course material in Japanese and Simplified Chinese: loading, per-session fallback, the check."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from program.courses.catalogue import (
    CONTENT_ROOT,
    TRANSLATED_LOCALES,
    content_locale,
    get_catalogue,
    load_catalogue,
    translation_problems,
)
from program.courses.translation import localize


@pytest.fixture
def content(tmp_path) -> Path:
    """A copy of the shipped content that a test may break."""
    root = tmp_path / "content"
    shutil.copytree(CONTENT_ROOT, root)
    return root


def _problems(root: Path, locale: str) -> list[str]:
    return [f"{p.item}: {p.problem}" for p in translation_problems(root, [locale])]


def test_every_session_and_practice_has_ja_and_zh_content():
    assert [str(problem) for problem in translation_problems()] == []
    english = get_catalogue()
    for locale in TRANSLATED_LOCALES:
        localized = get_catalogue(locale)
        for key, program in english.programs.items():
            assert localized.program(key).locale == locale
            for session in program.sessions:
                assert localized.session(key, session.number).locale == locale
        for key in english.practices:
            assert localized.practice(key).locale == locale


@pytest.mark.parametrize("locale", TRANSLATED_LOCALES)
def test_translated_session_keeps_the_english_structure(locale):
    english = get_catalogue().session("msc", 2)
    session = get_catalogue(locale).session("msc", 2)
    assert session.title != english.title
    # Sections are found by their English heading although the heading shown is translated.
    assert session.aims.heading != "Aims"
    assert session.aims is session.sections[0]
    assert session.facilitator_guide is session.sections[-1]
    assert len(session.checklist) == len(english.checklist)
    assert len(session.timings) == len(english.timings)
    assert session.timings[0].startswith("0:00")
    # What is not words comes from English: numbers, timing and the practices assigned.
    assert (session.number, session.week_offset, session.estimated_minutes) == (
        english.number, english.week_offset, english.estimated_minutes)
    assert session.practice_keys == english.practice_keys
    assert [p.locale for p in session.practices] == [locale] * len(session.practices)
    assert session.practices[0].minutes == english.practices[0].minutes


def test_program_words_and_retreat_are_translated():
    for locale in TRANSLATED_LOCALES:
        program = get_catalogue(locale).program("msc")
        english = get_catalogue().program("msc")
        assert program.name != english.name
        (retreat,) = program.extra_events
        assert retreat.title != english.extra_events[0].title
        assert (retreat.after_session, retreat.offset_days) == (6, 3)


@pytest.mark.parametrize(("given", "expected"), [
    ("ja", "ja"), ("zh", "zh"), ("zh_Hans_CN", "zh"), ("ja-JP", "ja"), ("en", "en"),
    ("fr", "en"), (None, "en"), ("", "en"),
])
def test_content_locale_follows_the_interface_language(given, expected):
    assert content_locale(given) == expected


def test_english_is_the_default_and_unknown_languages_get_english():
    assert get_catalogue("fr") is get_catalogue()
    assert get_catalogue().session("msc", 1).title == "Discovering mindful self-compassion"


def test_a_missing_session_falls_back_to_english_on_its_own(content):
    (content / "msc/i18n/ja/03-practising-loving-kindness.md").unlink()
    localized, problems = localize(load_catalogue(content), "ja")
    assert localized.session("msc", 3).locale == "en"
    assert localized.session("msc", 3).title == "Practising loving-kindness"
    # its practices are still shown in Japanese, and the neighbouring sessions are unaffected
    assert {p.locale for p in localized.session("msc", 3).practices} == {"ja"}
    assert localized.session("msc", 2).locale == "ja"
    assert localized.session("msc", 4).locale == "ja"
    assert [f"{p.item}: {p.problem}" for p in problems] == [
        "msc session 3: translation missing"]
    assert _problems(content, "zh") == []


def test_a_missing_practice_falls_back_to_english(content):
    (content / "practices/i18n/zh/soothing-touch.md").unlink()
    localized, _ = localize(load_catalogue(content), "zh")
    assert localized.practice("soothing-touch").title == "Soothing touch"
    session = localized.session("msc", 2)
    assert session.locale == "zh"
    assert [p.title for p in session.practices][-1] == "Soothing touch"
    assert _problems(content, "zh") == ["practice soothing-touch: translation missing"]


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_a_dropped_section_is_reported_and_the_session_shown_in_english(content):
    path = content / "cft/i18n/zh/01-the-tricky-brain.md"
    text = path.read_text(encoding="utf-8")
    sections = text.split("\n## ")
    path.write_text("\n## ".join(sections[:2] + sections[3:]), encoding="utf-8")
    (problem,) = _problems(content, "zh")
    assert problem.startswith("cft session 1: ## sections: 3, but the English file has 4")
    localized, _ = localize(load_catalogue(content), "zh")
    assert localized.session("cft", 1).locale == "en"


def test_a_missing_checklist_item_is_reported(content):
    path = content / "msc/i18n/ja/02-practising-mindfulness.md"
    _edit(path, '  - "日常のマインドフルネスのエクササイズを進める"\n', "")
    assert _problems(content, "ja") == [
        "msc session 2: checklist: 6 items, but the English file has 7"]


def test_a_missing_timing_is_reported(content):
    path = content / "msc/i18n/ja/02-practising-mindfulness.md"
    _edit(path, "- 1:00–1:10 休憩\n", "")
    (problem,) = _problems(content, "ja")
    assert "timings" in problem and "7" in problem and "8" in problem


def test_a_missing_practice_step_is_reported(content):
    path = content / "practices/i18n/zh/soothing-touch.md"
    text = path.read_text(encoding="utf-8")
    lines = [line for line in text.splitlines(keepends=True) if not line.startswith("9. ")]
    path.write_text("".join(lines), encoding="utf-8")
    (problem,) = _problems(content, "zh")
    assert problem.startswith("practice soothing-touch: ## 步骤: 8 numbered steps")


def test_wrong_front_matter_is_reported(content):
    _edit(content / "msc/i18n/zh/05-living-deeply.md", "number: 5", "number: 6")
    _edit(content / "practices/i18n/ja/soothing-touch.md", "title:", "minutes: 3\ntitle:")
    problems = _problems(content, "zh") + _problems(content, "ja")
    assert problems == ["msc session 5: number: 6, but the English file is 5",
                        "practice soothing-touch: minutes: unknown field (misspelt?)"]


def test_a_retreat_without_translation_is_reported(content):
    path = content / "msc/i18n/ja/program.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.split("extra_events:")[0], encoding="utf-8")
    (problem,) = _problems(content, "ja")
    assert problem.startswith("program msc: extra_events: keys [] differ from English")
    assert localize(load_catalogue(content), "ja")[0].program("msc").locale == "en"


def test_content_check_command_lists_problems_and_exits_1(runner, content):
    (content / "cft/i18n/ja/12-looking-ahead.md").unlink()
    result = runner.invoke(args=["content", "check", "--root", str(content)])
    assert result.exit_code == 1
    assert "ja: cft session 12: translation missing" in result.output
    assert "zh:" not in result.output
    only_zh = runner.invoke(args=["content", "check", "--root", str(content), "--locale", "zh"])
    assert only_zh.exit_code == 0, only_zh.output


def test_content_check_command_passes_on_the_shipped_material(runner):
    result = runner.invoke(args=["content", "check"])
    assert result.exit_code == 0, result.output
    assert "ja, zh" in result.output
