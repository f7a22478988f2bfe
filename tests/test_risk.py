"""Risk phrase screening in English, Japanese and Simplified Chinese."""

from __future__ import annotations

import pytest

from program.safety.scanning import read_phrases, scan_for_risk, shipped_languages


def test_at_least_english_japanese_and_chinese_ship():
    assert {"en", "ja", "zh"} <= set(shipped_languages())


@pytest.mark.parametrize("language", ["en", "ja", "zh"])
def test_every_listed_phrase_is_found_in_a_sentence(language):
    for phrase in read_phrases(language):
        sentence = f"Today {phrase} again." if language == "en" else f"今日は{phrase}。"
        assert scan_for_risk(sentence, [language]) == f"risk-phrases:{language}", phrase


@pytest.mark.parametrize("text, rule", [
    ("Sometimes I want to KILL   myself", "risk-phrases:en"),
    ("thinking about self-harm", "risk-phrases:en"),
    ("thinking about selfharm", "risk-phrases:en"),
    ("ｋｉｌｌ　ｍｙｓｅｌｆ", "risk-phrases:en"),  # full-width letters and space
    ("I can’t go on like this", "risk-phrases:en"),  # typographic apostrophe
    ("もう死にたいです", "risk-phrases:ja"),
    ("死 に た い", "risk-phrases:ja"),
    ("ﾘｽﾄｶｯﾄ してしまった", "risk-phrases:ja"),  # half-width katakana
    ("我真的不想活了", "risk-phrases:zh"),
    ("有时候 想 死", "risk-phrases:zh"),
])
def test_risk_language_is_found_whatever_the_case_width_or_spacing(text, rule):
    assert scan_for_risk(text) == rule


@pytest.mark.parametrize("text", [
    "The breathing practice went well today.",
    "I need to build my skill myself, slowly.",  # "kill myself" only as whole words
    "今日は呼吸の練習がよくできました。",
    "今天的练习很顺利。",
    "",
    None,
])
def test_ordinary_text_raises_nothing(text):
    assert scan_for_risk(text) is None


def test_languages_limit_the_lists_used():
    assert scan_for_risk("死にたい", ["en"]) is None
    assert scan_for_risk("死にたい", ["en", "ja"]) == "risk-phrases:ja"
