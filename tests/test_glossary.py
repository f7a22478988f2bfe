"""One term per concept: the glossaries flag variant terms in the course text and the catalogues."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from flask_babel import force_locale, pgettext

from program.courses.catalogue import CONTENT_ROOT, TRANSLATED_LOCALES, load_catalogue
from program.courses.glossary import (
    TRANSLATIONS_ROOT,
    Term,
    glossary_problems,
    load_glossary,
    preferred_terms,
    text_problems,
)
from tests.test_i18n_catalogues import ensure_compiled


@pytest.fixture
def content(tmp_path) -> Path:
    root = tmp_path / "content"
    shutil.copytree(CONTENT_ROOT, root)
    return root


@pytest.fixture
def translations(tmp_path) -> Path:
    root = tmp_path / "translations"
    shutil.copytree(TRANSLATIONS_ROOT, root, ignore=shutil.ignore_patterns("*.mo"))
    return root


@pytest.mark.parametrize("locale", TRANSLATED_LOCALES)
def test_the_shipped_course_text_and_catalogue_use_the_glossarys_terms(locale):
    problems = glossary_problems(load_catalogue(), [locale])
    assert [str(p) for p in problems] == []


def test_the_published_chinese_msc_terms_are_the_preferred_ones():
    terms = preferred_terms("zh")
    assert terms["Mindful Self-Compassion (the MSC program)"] == "静观自我关怀"
    assert terms["loving-kindness (MSC)"] == "慈爱"
    assert terms["living deeply (MSC session 5)"] == "深刻地生活"
    msc = load_catalogue().program("msc")
    assert msc.name == "Mindful Self-Compassion"
    from program.courses.catalogue import get_catalogue
    zh = get_catalogue("zh").program("msc")
    assert zh.name == "静观自我关怀"
    assert zh.session(5).title == "深刻地生活"


def test_a_variant_in_a_session_is_flagged_with_its_line(content):
    path = content / "msc/i18n/zh/03-practising-loving-kindness.md"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[-1] += "愿你被慈心环绕。"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (problem,) = glossary_problems(load_catalogue(content), ["zh"])
    assert problem.place == f"msc/i18n/zh/03-practising-loving-kindness.md:{len(lines)}"
    assert (problem.found, problem.preferred) == ("慈心", "慈爱")


def test_a_program_rule_applies_to_its_own_text_and_the_practice_cards_it_assigns(content):
    # 慈悲 is CFT's published word (慈悲聚焦疗法), but MSC says 关怀: on a card MSC assigns
    # (affectionate breathing) it is flagged; in a CFT session it is not.
    card = content / "practices/i18n/zh/affectionate-breathing.md"
    card.write_text(card.read_text(encoding="utf-8") + "\n带着慈悲呼吸。\n", encoding="utf-8")
    cft = content / "cft/i18n/zh/02-three-circles.md"
    cft.write_text(cft.read_text(encoding="utf-8") + "\n慈悲的自己。\n", encoding="utf-8")
    problems = glossary_problems(load_catalogue(content), ["zh"])
    assert [(p.place.split(":")[0], p.found) for p in problems] == [
        ("practices/i18n/zh/affectionate-breathing.md", "慈悲")]


def test_katakana_is_given_once_at_first_mention_and_a_bare_katakana_term_is_flagged():
    terms = [t for t in load_glossary("ja") if t.concept == "compassion"]
    first = ("このコースのテーマは「思いやり（コンパッション）」です。"
             "セルフ・コンパッションも学びます。")
    assert text_problems(first, terms, "ja", "x") == []
    again = first + "\n思いやり（コンパッション）は力です。\nコンパッションには強さが要ります。"
    assert sorted(p.found for p in text_problems(again, terms, "ja", "x")) == [
        "コンパッション", "思いやり（コンパッション） (more than once)"]


def test_a_variant_in_the_catalogue_is_flagged_by_message(translations):
    po = translations / "ja/LC_MESSAGES/messages.po"
    text = po.read_text(encoding="utf-8")
    po.write_text(text.replace('msgid "Your study"\nmsgstr "参加している研究"',
                               'msgid "Your study"\nmsgstr "あなたの研究"'), encoding="utf-8")
    (problem,) = glossary_problems(load_catalogue(), ["ja"], translations)
    assert problem.place == "msgid 'Your study'"
    assert problem.found == "あなたの研究"


def test_setup_and_settings_read_differently_in_japanese(translations):
    rules = {t.concept: t for t in load_glossary("ja")}
    setup, settings = rules["study setup (researcher pages)"], rules[
        "settings (a person's preferences)"]
    assert setup.applies_to_message("Change setup", None)
    assert not setup.applies_to_message("Settings saved.", None)
    assert setup.preferred != settings.preferred
    po = translations / "ja/LC_MESSAGES/messages.po"
    text = po.read_text(encoding="utf-8")
    po.write_text(text.replace('msgid "Setup"\nmsgstr "研究の構成"',
                               'msgid "Setup"\nmsgstr "研究の設定"'), encoding="utf-8")
    (problem,) = glossary_problems(load_catalogue(), ["ja"], translations)
    assert (problem.place, problem.found) == ("msgid 'Setup'", "設定")


def test_chinese_staff_pages_use_one_name_per_role(translations):
    po = translations / "zh/LC_MESSAGES/messages.po"
    text = po.read_text(encoding="utf-8")
    po.write_text(text.replace('msgstr "编辑班级"', 'msgstr "编辑队列"'), encoding="utf-8")
    (problem,) = glossary_problems(load_catalogue(), ["zh"], translations)
    assert (problem.found, problem.preferred) == ("队列", "班级")


def test_the_audit_logs_action_and_the_adverse_events_action_are_two_words(app):
    ensure_compiled()
    with app.test_request_context():
        for locale, audit, adverse in (("ja", "操作", "処置"), ("zh", "操作", "措施")):
            with force_locale(locale):
                assert pgettext("audit log", "Action") == audit
                assert pgettext("adverse event", "Action") == adverse


def test_a_malformed_glossary_is_reported(translations):
    path = translations / "glossary/zh.yaml"
    path.write_text("terms:\n  - concept: leader\n    preferred: 组长\n    where: [web]\n",
                    encoding="utf-8")
    from program.courses.content import CatalogueError
    with pytest.raises(CatalogueError, match="where"):
        load_glossary("zh", translations)


def test_content_check_lists_glossary_terms_and_exits_1(runner, content, translations):
    path = content / "cft/i18n/ja/07-compassionate-thinking.md"
    path.write_text(path.read_text(encoding="utf-8") + "\n「思いやりの自分」に戻ります。\n",
                    encoding="utf-8")
    args = ["content", "check", "--root", str(content), "--translations", str(translations)]
    result = runner.invoke(args=args)
    assert result.exit_code == 1
    assert re.search(r"ja: glossary: cft/i18n/ja/07-compassionate-thinking.md:\d+: "
                     r"'思いやりの自分' for 'compassionate self', use '思いやりのある自分'",
                     result.output)
    only_zh = runner.invoke(args=[*args, "--locale", "zh"])
    assert only_zh.exit_code == 0, only_zh.output


def test_terms_have_a_preferred_word_that_is_not_also_a_variant():
    for locale in TRANSLATED_LOCALES:
        for term in load_glossary(locale):
            assert isinstance(term, Term)
            assert term.preferred not in term.variants, (locale, term.concept)


def test_fix_glossary_replaces_known_variants_in_place_and_nothing_else(runner, translations):
    zh = translations / "zh/LC_MESSAGES/messages.po"
    before = zh.read_text(encoding="utf-8")
    broken = (before.replace('msgstr "编辑班级"', 'msgstr "编辑队列"')
              .replace('msgstr "%(name)s 的组长和助教"', 'msgstr "%(name)s 的带领者和助理"'))
    zh.write_text(broken, encoding="utf-8")
    ja = translations / "ja/LC_MESSAGES/messages.po"
    ja.write_text(ja.read_text(encoding="utf-8").replace('msgid "Setup"\nmsgstr "研究の構成"',
                                                         'msgid "Setup"\nmsgstr "研究の設定"'),
                  encoding="utf-8")
    assert len(glossary_problems(load_catalogue(), ["ja", "zh"], translations)) == 4
    result = runner.invoke(args=["content", "fix-glossary", "--translations", str(translations)])
    assert result.exit_code == 0, result.output
    assert "ja: 1 message(s) fixed." in result.output and "zh: 2 message(s) fixed." in result.output
    assert zh.read_text(encoding="utf-8") == before  # every other line exactly as it was
    assert glossary_problems(load_catalogue(), ["ja", "zh"], translations) == []
    # facilitators stay 带领者: the leader rule leaves a message about facilitators alone
    rule = next(t for t in load_glossary("zh") if t.concept == "group leader")
    assert not rule.applies_to_message("each gets a leader from the facilitators", None)
