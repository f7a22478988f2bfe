"""Screening free text for risk: what a post, note or comment raises, whatever its spelling."""

from __future__ import annotations

import pytest

from program.safety.scanning import scan_for_risk


@pytest.mark.parametrize("text, level, families", [
    ("Sometimes I want to KILL   myself", "concern", ("suicidal_thoughts",)),
    ("thinking about self-harm", "concern", ("self_harm",)),
    ("thinking about selfharm", "concern", ("self_harm",)),
    ("ｋｉｌｌ　ｍｙｓｅｌｆ", "concern", ("suicidal_thoughts",)),  # full-width letters and space
    ("I can’t go on like this", "concern", ("hopelessness_burden",)),  # typographic apostrophe
    ("もう死にたいです", "concern", ("wish_to_be_dead",)),
    ("死 に た い", "concern", ("wish_to_be_dead",)),
    ("ﾘｽﾄｶｯﾄ してしまった", "urgent", ("self_harm",)),  # half-width katakana
    ("我真的不想活了", "concern", ("wish_to_be_dead",)),
    ("有时候 想 死", "concern", ("wish_to_be_dead",)),
    ("I've been stockpiling my medication. Goodbye everyone.", "urgent",
     ("plan_preparation", "farewell")),
])
def test_risk_language_is_found_whatever_the_case_width_or_spacing(text, level, families):
    finding = scan_for_risk(text)
    assert (finding.level, finding.families) == (level, families)
    assert finding.rule == f"risk:{level}:{','.join(families)}"


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


def test_languages_limit_the_patterns_used():
    assert scan_for_risk("死にたい", ["en"]) is None
    assert scan_for_risk("死にたい", ["en", "ja"]).families == ("wish_to_be_dead",)


def test_a_finding_never_carries_the_text():
    finding = scan_for_risk("I wrote my suicide note for my family")
    assert "note" not in repr(finding) and "note" not in finding.rule
