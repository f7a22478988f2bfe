"""The risk detector against its labelled evaluation set, and each shipped pattern's examples.

The floors are what ``benchmarks/risk_detection.py`` reached when the patterns were last
changed: a change that loses recall, or raises a false alarm the set did not have, fails here.
Raise a floor when the benchmark improves; never lower one without a clinician's say-so.
"""

from __future__ import annotations

import importlib.util
import re
import statistics
import sys
import time
from pathlib import Path

import pytest

from models.safety import RiskFamily, RiskLevel
from program.safety import detector
from program.safety.detector import FAMILIES, LEVELS, PatternFileError, detect, rules

_spec = importlib.util.spec_from_file_location(
    "risk_benchmark", Path(__file__).resolve().parents[1] / "benchmarks" / "risk_detection.py")
benchmark = importlib.util.module_from_spec(_spec)
sys.modules["risk_benchmark"] = benchmark
_spec.loader.exec_module(benchmark)

LANGUAGES = ("en", "ja", "zh")
#: (recall at least, false alarms at most, urgent statements found as urgent at least) on the
#: evaluation set the patterns were written with
FLOORS = {"en": (533 / 546, 0.0, 203 / 216), "ja": (516 / 534, 0.0, 199 / 219),
          "zh": (519 / 532, 0.0, 200 / 216)}
#: (recall at least, false alarms at most) on the held-out set, written before the last round
#: of pattern changes and never tuned on: what the detector does with statements it has not
#: seen (the figure to quote). When the held-out set is used to improve the patterns, fold it
#: into the evaluation set and write a new one first. Set 7, scored once after round 7: far
#: below the 90 % aim (see tests/data/risk_eval/README.md).
HELD_OUT_FLOORS = {"en": (11 / 60, 2 / 60), "ja": (9 / 60, 3 / 60), "zh": (17 / 60, 1 / 60)}


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_evaluation_set_is_big_enough_and_labelled(language):
    statements = benchmark.load_set(language)
    risk = [s for s in statements if s.risk]
    assert len(risk) >= 200 and len(statements) - len(risk) >= 200
    assert {s.family for s in risk} == set(FAMILIES)
    assert all(s.level in LEVELS for s in risk)
    assert any(s.family == "hyperbole" for s in statements)


@pytest.mark.parametrize("language", LANGUAGES)
def test_recall_and_false_alarms_hold_the_floor_the_benchmark_reached(language):
    result = benchmark.evaluate(language)
    recall, alarms, urgent = FLOORS[language]
    assert result.recall >= recall - 1e-9, result.misses
    assert result.false_alarm_rate <= alarms + 1e-9, result.false_alarms
    assert result.urgent[0] / result.urgent[1] >= urgent - 1e-9


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_held_out_set_is_big_enough_to_quote(language):
    statements = benchmark.load_set(language, held_out=True)
    risk = [s for s in statements if s.risk]
    assert len(risk) >= 60 and len(statements) - len(risk) >= 60
    assert {s.family for s in risk} == set(FAMILIES)
    development = {s.text for s in benchmark.load_set(language)}
    assert not development & {s.text for s in statements}  # none of it tuned on


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_held_out_set_holds_its_floor(language):
    result = benchmark.evaluate(language, held_out=True)
    # plain numbers only, so that a failure never lists the held-out statements
    recall, alarms = result.recall, result.false_alarm_rate
    del result
    floor_recall, ceiling_alarms = HELD_OUT_FLOORS[language]
    assert recall >= floor_recall - 1e-9
    assert alarms <= ceiling_alarms + 1e-9


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_shipped_pattern_finds_each_of_its_examples(language):
    shipped = (*rules(language).patterns, *rules(language).compositions)
    assert rules(language).compositions, "compositions over concepts, not only whole phrases"
    for pattern in shipped:
        assert pattern.examples, pattern.id
        for example in pattern.examples:
            found = {m.pattern for m in rules(language).matches(detector.normalise(example))}
            assert f"{language}:{pattern.id}" in found, (pattern.id, example, found)


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_shipped_pattern_fires_on_an_everyday_idiom(language):
    for statement in benchmark.load_set(language):
        if statement.family == "hyperbole":
            assert detect(statement.text) == [], statement.text


@pytest.mark.parametrize("text", [
    # the misses
    "I wish I could go to sleep and never wake up", "everyone would be better off without me",
    "I've been stockpiling my medication", "i wanna kms", "生まれてこなければよかった",
    "朝が来なければいいのに", "遺書を書いた", "没有我大家会更好", "好想一睡不醒",
    "我已经计划好怎么结束了",
    # and the variants it lists
    "しにたい", "タヒにたい", "死のう", "首つり", "OD", "練炭", "飛び降りたい",
    "想不开", "寻死", "烧炭", "了结自己", "活着好累",
])
def test_the_statements_the_phrase_lists_missed_are_found(text):
    if text == "OD":
        text = "昨日ODした"  # "OD" alone is also an abbreviation of other things
    assert detect(text), text


@pytest.mark.parametrize("text", ["I'm dead tired", "死ぬほど疲れた", "累死了", "笑死我了",
                                  "I don't want to die", "我不想死", "死にたくない",
                                  # "rsk" (リスカ) and "od" are words of their own, not inside
                                  "I gave my old bike to my neighbour's kid", "good food"])
def test_everyday_idioms_and_not_wanting_to_die_raise_nothing(text):
    assert detect(text) == []


@pytest.mark.parametrize("text", [
    "i want to d1e", "i wanna diiiiie", "k1ll mys3lf", "シニタイ", "ジサツしたい",
    "我想自殺", "活著好累，想一了百了",
])
def test_leetspeak_repeated_letters_katakana_and_traditional_characters_are_read(text):
    assert detect(text), text


@pytest.mark.parametrize("text", [
    "wish i could just fade out and never come back",   # desire + death, words apart
    "some days I pray my heart stops",
    "I keep a stash of tablets put aside",              # means + preparation
    "my family would all be so much happier without me",  # burden + others
    "いっそ消えてしまいたい", "大切な本は全部友達に譲った",
    "我只想一切都永远停下来", "我觉得自己就是个包袱",
])
def test_compositions_find_a_thought_put_in_words_no_phrase_lists(text):
    composed = {f"{language}:{c.id}"
                for language in LANGUAGES for c in rules(language).compositions}
    found = {m.pattern for language in LANGUAGES
             for m in rules(language).matches(detector.normalise(text))}
    assert found & composed, (text, found)


def test_a_negated_statement_still_alerts_but_only_as_a_concern():
    (never,) = detect("I would never kill myself")
    assert (never.family, never.level) == ("suicidal_thoughts", "concern")
    (plan,) = detect("I'm going to kill myself tonight")
    assert (plan.family, plan.level) == ("plan_preparation", "urgent")
    (not_going,) = detect("I'm not going to kill myself tonight")
    assert not_going.level == "concern"


def test_matches_name_family_level_and_pattern_never_the_words():
    matches = detect("I've been hoarding my sleeping pills. Thank you all, I won't be around long.")
    assert [(m.family, m.level) for m in matches] == [
        ("plan_preparation", "urgent"), ("farewell", "urgent")]
    assert all("hoard" not in repr(m) and "thank" not in repr(m) for m in matches)


def test_the_families_and_levels_are_the_stored_vocabularies():
    assert set(FAMILIES) == set(RiskFamily.codes())
    assert set(LEVELS) == set(RiskLevel.codes())


def test_screening_a_2000_character_post_takes_well_under_5_ms():
    post = "".join(benchmark.post_of(language, 700) for language in LANGUAGES)[:2000]
    detect(post)
    times = []
    for _ in range(30):
        start = time.process_time()
        detect(post)
        times.append(time.process_time() - start)
    assert statistics.median(times) < 0.005


def test_a_pattern_file_with_an_unknown_family_is_refused(tmp_path, monkeypatch):
    (tmp_path / "xx.yaml").write_text(
        "triggers: [a]\npatterns:\n  - {id: p, family: sadness, level: urgent, regex: a}\n",
        encoding="utf-8")
    monkeypatch.setattr(detector, "PATTERNS_DIR", tmp_path)
    detector.rules.cache_clear()
    try:
        with pytest.raises(PatternFileError, match="unknown family"):
            rules("xx")
    finally:
        detector.rules.cache_clear()


def test_a_composition_over_an_unknown_concept_is_refused(tmp_path, monkeypatch):
    (tmp_path / "xx.yaml").write_text(
        "triggers: [a]\npatterns:\n  - {id: p, family: farewell, level: urgent, regex: a}\n"
        "concepts: {want: want}\ncompositions:\n"
        "  - {id: c, family: farewell, level: urgent, concepts: [want, die]}\n",
        encoding="utf-8")
    monkeypatch.setattr(detector, "PATTERNS_DIR", tmp_path)
    detector.rules.cache_clear()
    try:
        with pytest.raises(PatternFileError, match="known concepts"):
            rules("xx")
    finally:
        detector.rules.cache_clear()


def test_every_pattern_compiles_on_its_own():
    for language in LANGUAGES:
        for pattern in rules(language).patterns:
            re.compile(pattern.regex)


def test_researchers_review_the_patterns_by_language_and_family(app, as_user):
    from tests.factories import gen_staff, gen_user
    from tests.factories_trial import gen_trial

    study = gen_trial("blocks", seed=7)
    researcher = gen_user("researcher")
    gen_staff(study, researcher)
    client = as_user(researcher)
    assert f"/research/studies/{study.id}/risk-patterns" in client.get(
        f"/research/studies/{study.id}").get_data(as_text=True)
    page = client.get(f"/research/studies/{study.id}/risk-patterns").get_data(as_text=True)
    assert page.count("<h1>") == 1 and 'id="patterns-ja"' in page
    for label in ("plans or preparation", "farewell", "self-harm", "wish to be dead"):
        assert f"<h3>{label}</h3>" in page
    assert "stockpiling" in page and "遺書を書いた" in page and "想不开" in page
    assert "<code>program/safety/risk_patterns/</code>" in page
