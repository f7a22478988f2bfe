"""Instrument library and scoring, checked against hand-worked examples.

Every expected number below is worked out by hand in the comment beside it, from the keys in
/work/shared/instruments.md, not produced by the code under test.
"""

import copy
import re
import shutil

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from program.instruments.library import LIBRARY_ROOT, build_instrument, load_library, with_overrides
from program.instruments.model import InstrumentError, RiskRule, ScoringError
from program.instruments.scoring import measure_keys, risk_flags, score
from program.instruments.wording import with_wording

LIBRARY = load_library()


def answers_from(values):
    """Answers for items 1..n from a list of values."""
    return {n: v for n, v in enumerate(values, start=1)}


def by_subscale(instrument, value_of):
    """Answers giving every item of each subscale the value ``value_of[subscale]``."""
    answers = {}
    for subscale in instrument.subscales:
        for n in subscale.items:
            answers[n] = value_of[subscale.key]
    return answers


# --------------------------------------------------------------------------- the library


def test_library_ships_every_instrument_of_both_studies():
    assert set(LIBRARY) == {
        "BDI-II", "GRID-HAMD", "CEAS-self", "CEAS-for-others", "CEAS-from-others",
        "FCS-for-others", "FCS-from-others", "FCS-self", "SCS-SF", "SCS", "CS", "DASS-21",
        "SWLS", "SHS", "CAMS-R", "CSQ-8",
    }  # fmt: skip
    item_counts = {key: len(instrument.items) for key, instrument in LIBRARY.items()}
    assert item_counts == {
        "BDI-II": 21, "GRID-HAMD": 17, "CEAS-self": 13, "CEAS-for-others": 13,
        "CEAS-from-others": 13, "FCS-for-others": 10, "FCS-from-others": 13, "FCS-self": 15,
        "SCS-SF": 12, "SCS": 26, "CS": 24, "DASS-21": 21, "SWLS": 5, "SHS": 4, "CAMS-R": 12,
        "CSQ-8": 8,
    }  # fmt: skip


def test_no_item_wording_is_shipped():
    # Licensed wording must never be in the repository, and free wording is not shipped until
    # it has been checked against the published form: every item carries a placeholder.
    for key, instrument in LIBRARY.items():
        for item in instrument.items:
            assert item.text == f"{key} item {item.number}"
            assert all(option.text == "" for option in item.options)


def test_only_the_grid_hamd_is_clinician_rated():
    clinician = {key for key, instrument in LIBRARY.items() if instrument.rater == "clinician"}
    assert clinician == {"GRID-HAMD"}


def test_unverified_facts_are_flagged_in_the_files():
    assert any("grid" in note.lower() for note in LIBRARY["GRID-HAMD"].unverified)
    assert any("FCS-J" in note for note in LIBRARY["FCS-self"].unverified)
    assert LIBRARY["CS"].subscale("common_humanity").unverified
    assert all(s.unverified for s in LIBRARY["FCS-from-others"].subscales)


def test_measure_keys_used_in_exports():
    assert measure_keys(LIBRARY["BDI-II"]) == ["BDI-II"]
    assert measure_keys(LIBRARY["GRID-HAMD"]) == ["GRID-HAMD"]
    assert measure_keys(LIBRARY["CEAS-self"]) == [
        "CEAS-self.total",
        "CEAS-self.engagement",
        "CEAS-self.action",
    ]
    assert "SCS.total" in measure_keys(LIBRARY["SCS"])
    assert "DASS-21.stress" in measure_keys(LIBRARY["DASS-21"])
    # A metric other than the instrument's default is named in the key.
    assert "DASS-21.stress@sum" in measure_keys(LIBRARY["DASS-21"], "sum")
    assert measure_keys(LIBRARY["SCS-SF"], "sum") == ["SCS-SF@sum"]
    # Unconfigured FCS-J subscales and unrecommended SCS-SF subscales are not exported.
    assert measure_keys(LIBRARY["FCS-self"]) == ["FCS-self"]
    assert measure_keys(LIBRARY["SCS-SF"]) == ["SCS-SF"]


def test_unknown_metric_is_an_error():
    with pytest.raises(ScoringError, match="unknown metric 'median'"):
        score(LIBRARY["SWLS"], answers_from([4] * 5), metric="median")


# --------------------------------------------------------------------------- BDI-II


def bdi_with_total(total):
    """BDI-II answers (items 16 and 18 answered 0) adding up to ``total``."""
    answers = {n: 0 for n in range(1, 22)}
    for n in [n for n in range(1, 22) if n not in (16, 18)]:
        answers[n] = min(3, total)
        total -= answers[n]
    assert total == 0
    return answers


def test_bdi_ii_sum_with_seven_option_items():
    # Items 16 and 18 store the option code 0-6 (0, 1a, 1b, 2a, 2b, 3a, 3b -> 0,1,1,2,2,3,3).
    # 19 items at 1 = 19; item 16 code 6 (3b) = 3; item 18 code 2 (1b) = 1. 19 + 3 + 1 = 23.
    answers = {n: 1 for n in range(1, 22)}
    answers[16], answers[18] = 6, 2
    result = score(LIBRARY["BDI-II"], answers)
    assert result.total == 23
    assert result.band == "moderate"
    assert result.measures == {"BDI-II": 23}
    assert not result.prorated and result.missing == 0
    # Code 3 is option 2a: 19 + 2 + 1 = 22.
    answers[16] = 3
    assert score(LIBRARY["BDI-II"], answers).total == 22


def test_bdi_ii_option_codes_beyond_the_map_are_rejected():
    answers = {n: 0 for n in range(1, 22)}
    answers[18] = 7
    with pytest.raises(ScoringError, match="item 18"):
        score(LIBRARY["BDI-II"], answers)
    answers[18] = 0
    answers[3] = 4  # ordinary items stop at 3
    with pytest.raises(ScoringError, match="item 3"):
        score(LIBRARY["BDI-II"], answers)


@pytest.mark.parametrize(
    ("total", "band"),
    [(0, "minimal"), (13, "minimal"), (14, "mild"), (19, "mild"), (20, "moderate"),
     (28, "moderate"), (29, "severe"), (57, "severe")],
)  # fmt: skip
def test_bdi_ii_bands_at_their_boundaries(total, band):
    result = score(LIBRARY["BDI-II"], bdi_with_total(total))
    assert (result.total, result.band) == (total, band)


def test_bdi_ii_prorates_two_missing_items_but_not_three():
    # 19 items scored 2 = 38, items 1 and 2 missing: 38 / 19 * 21 = 42. (Items 16 and 18 take
    # code 3, option 2a, to score 2; their code 2 would be option 1b and score 1.)
    answers = {n: 2 for n in range(3, 22)}
    answers[16] = answers[18] = 3
    result = score(LIBRARY["BDI-II"], answers)
    assert result.total == pytest.approx(42)
    assert result.prorated and result.missing == 2
    assert result.band == "severe"
    # None counts as missing just like an absent key; a third gap means no score.
    answers.update({1: None, 2: None, 3: None})
    result = score(LIBRARY["BDI-II"], answers)
    assert result.total is None and result.band is None
    assert result.missing == 3
    assert result.measures == {"BDI-II": None}
    assert any("too many items missing" in w for w in result.warnings)


def test_bdi_ii_item_9_at_two_or_more_raises_a_safety_alert():
    bdi = LIBRARY["BDI-II"]
    answers = {n: 0 for n in range(1, 22)}
    assert risk_flags(bdi, answers) == []
    answers[9] = 1
    assert risk_flags(bdi, answers) == []
    answers[9] = 2
    assert [rule.id for rule in risk_flags(bdi, answers)] == ["bdi-ii-item-9"]
    answers[9] = 3
    assert [rule.id for rule in risk_flags(bdi, answers)] == ["bdi-ii-item-9"]


def test_a_study_adds_its_own_risk_rules():
    bdi = LIBRARY["BDI-II"]
    answers = {n: 0 for n in range(1, 22)}
    answers[2] = 3  # pessimism at its highest
    hopeless = {"id": "study-hopelessness", "item": 2, "op": ">=", "value": 3}
    assert [r.id for r in risk_flags(bdi, answers, extra_rules=[hopeless])] == [
        "study-hopelessness"
    ]
    assert risk_flags(bdi, answers, extra_rules=[RiskRule("x", 2, "==", 2)]) == []
    # A rule on an unanswered item never fires.
    del answers[2]
    assert risk_flags(bdi, answers, extra_rules=[hopeless]) == []
    with pytest.raises(ScoringError, match="item"):
        risk_flags(bdi, answers, extra_rules=[{"id": "bad", "item": 40, "op": ">=", "value": 1}])


# --------------------------------------------------------------------------- GRID-HAMD


def test_grid_hamd_item_ranges_differ():
    hamd = LIBRARY["GRID-HAMD"]
    # Nine items 0-4 at their maximum (36) and eight items 0-2 at theirs (16): 52.
    answers = {n: hamd.item(n).max for n in range(1, 18)}
    result = score(hamd, answers)
    assert result.total == 52
    assert result.band == "very severe"
    # Insomnia item 4 is a 0-2 item: 3 is out of range, while item 1 accepts 4.
    answers[4] = 3
    with pytest.raises(ScoringError, match="item 4"):
        score(hamd, answers)


@pytest.mark.parametrize(
    ("total", "band"),
    [(7, "none"), (8, "mild"), (13, "mild"), (14, "moderate"), (19, "moderate"),
     (20, "severe"), (25, "severe"), (26, "very severe")],
)  # fmt: skip
def test_grid_hamd_bands_at_their_boundaries(total, band):
    answers = {n: 0 for n in range(1, 18)}
    for n in range(1, 18):  # fill items in order, each up to its own maximum
        answers[n] = min(LIBRARY["GRID-HAMD"].item(n).max, total)
        total -= answers[n]
    result = score(LIBRARY["GRID-HAMD"], answers)
    assert result.band == band


def test_grid_hamd_rating_with_a_gap_is_not_scored():
    answers = {n: 1 for n in range(1, 17)}  # item 17 not rated
    assert score(LIBRARY["GRID-HAMD"], answers).total is None


# --------------------------------------------------------------------------- CEAS


CEAS_EXAMPLE = {1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 7: 7, 8: 8, 9: 9, 10: 10, 11: 5, 12: 6, 13: 7}


@pytest.mark.parametrize("key", ["CEAS-self", "CEAS-for-others", "CEAS-from-others"])
def test_ceas_sums_without_the_filler_items(key):
    # Engagement 1, 2, 4, 5, 6, 8: 1 + 2 + 4 + 5 + 6 + 8 = 26.
    # Action 9, 10, 12, 13: 9 + 10 + 6 + 7 = 32. Total 26 + 32 = 58 (fillers 3, 7, 11 ignored).
    result = score(LIBRARY[key], CEAS_EXAMPLE)
    assert result.subscales == {"engagement": 26, "action": 32}
    assert result.total == 58
    assert result.measures[f"{key}.total"] == 58
    # Changing or leaving out a filler changes nothing and does not count as missing.
    changed = {**CEAS_EXAMPLE, 3: 10, 7: 1}
    del changed[11]
    assert score(LIBRARY[key], changed).total == 58
    assert score(LIBRARY[key], changed).missing == 0


def test_ceas_filler_answers_are_still_range_checked():
    with pytest.raises(ScoringError, match="item 11"):
        score(LIBRARY["CEAS-self"], {**CEAS_EXAMPLE, 11: 11})
    with pytest.raises(ScoringError, match="item 1"):
        score(LIBRARY["CEAS-self"], {**CEAS_EXAMPLE, 1: 0})  # the scale starts at 1


def test_ceas_prorates_a_missing_engagement_item():
    # Item 1 missing. Engagement: 2 + 4 + 5 + 6 + 8 = 25 over 5 items -> 25 / 5 * 6 = 30.
    # Total: 25 + 32 = 57 over 9 of 10 scored items -> 57 / 9 * 10 = 63.33...
    answers = dict(CEAS_EXAMPLE)
    del answers[1]
    result = score(LIBRARY["CEAS-self"], answers)
    assert result.subscales["engagement"] == pytest.approx(30)
    assert result.subscales["action"] == 32
    assert result.total == pytest.approx(570 / 9)
    assert result.prorated and result.missing == 1
    # Two engagement items missing: no engagement score and no total (limit 1 each).
    del answers[2]
    result = score(LIBRARY["CEAS-self"], answers)
    assert result.subscales["engagement"] is None and result.total is None
    assert result.subscales["action"] == 32


# --------------------------------------------------------------------------- FCS


def test_fcs_for_others_sum_and_mean():
    # 10 items: 0, 1, 2, 3, 4, 0, 1, 2, 3, 4 = 20; mean 20 / 10 = 2.0.
    answers = answers_from([0, 1, 2, 3, 4, 0, 1, 2, 3, 4])
    assert score(LIBRARY["FCS-for-others"], answers).total == 20
    assert score(LIBRARY["FCS-for-others"], answers, "mean").total == pytest.approx(2.0)
    with pytest.raises(ScoringError, match="item 10"):
        score(LIBRARY["FCS-for-others"], {**answers, 10: 5})


def test_fcs_english_scales_score_their_totals():
    # From others, 13 items at 3 = 39; for self, 15 items at 1 = 15.
    assert score(LIBRARY["FCS-from-others"], {n: 3 for n in range(1, 14)}).total == 39
    assert score(LIBRARY["FCS-self"], {n: 1 for n in range(1, 16)}).total == 15


# A study's FCS-J configuration. The item membership here is an example for the test, not the
# published FCS-J key (which is UNVERIFIED and must come from Asano et al. 2017).
FCS_J_SELF = {
    "items": {"count": 13},
    "metrics": {"sum": {"range": [0, 52]}, "mean": {"range": [0, 4]}},
    "subscales": {
        "miserable": {"items": [1, 3, 5, 7, 9]},
        "demerit": {"items": [2, 4, 6, 8, 10, 11, 12, 13]},
    },
}


def test_fcs_self_language_version_subscales_by_override():
    fcs_j = with_overrides(LIBRARY["FCS-self"], FCS_J_SELF)
    assert len(fcs_j.items) == 13
    # Odd items 1-9 at 4 and the rest at 1: miserable 5 x 4 = 20; demerit 8 x 1 = 8; total 28.
    answers = {n: 4 if n in (1, 3, 5, 7, 9) else 1 for n in range(1, 14)}
    result = score(fcs_j, answers)
    assert result.subscales == {"miserable": 20, "demerit": 8}
    assert result.total == 28
    assert result.measures == {
        "FCS-self.total": 28,
        "FCS-self.miserable": 20,
        "FCS-self.demerit": 8,
    }
    # Membership is still flagged as UNVERIFIED until the study says otherwise.
    assert any("miserable" in w and "UNVERIFIED" in w for w in result.warnings)
    verified = with_overrides(fcs_j, {"subscales": {"miserable": {"unverified": False}}})
    assert not any("miserable" in w for w in score(verified, answers).warnings)
    # Mean metric: miserable 20 / 5 = 4.0, demerit 8 / 8 = 1.0, total 28 / 13.
    result = score(fcs_j, answers, "mean")
    assert result.subscales == {"miserable": 4.0, "demerit": 1.0}
    assert result.total == pytest.approx(28 / 13)
    # The original 15-item definition is untouched.
    assert len(LIBRARY["FCS-self"].items) == 15


def test_fcs_from_others_concern_and_avoidance_by_override():
    fcs_j = with_overrides(
        LIBRARY["FCS-from-others"],
        {
            "items": {"count": 8},
            "metrics": {"sum": {"range": [0, 32]}},
            "subscales": {"concern": {"items": [1, 2, 3, 4]}, "avoidance": {"items": [5, 6, 7, 8]}},
        },
    )
    # 1 + 2 + 3 + 4 = 10 concern; 4 x 0 = 0 avoidance; total 10.
    result = score(fcs_j, answers_from([1, 2, 3, 4, 0, 0, 0, 0]))
    assert result.subscales == {"concern": 10, "avoidance": 0}
    assert result.total == 10


def test_a_stale_range_in_an_override_is_caught():
    # Shrinking the item count without restating the range is an error naming the field.
    with pytest.raises(InstrumentError, match=r"overrides: metrics\.sum\.range"):
        with_overrides(LIBRARY["FCS-self"], {"items": {"count": 13}})


# --------------------------------------------------------------------------- SCS-SF


SCS_SF_EXAMPLE = answers_from([5, 4, 3, 2, 1, 5, 4, 3, 2, 1, 5, 4])


def test_scs_sf_reverses_and_averages():
    # Reverse items 1, 4, 8, 9, 11, 12 as 6 - x: 5->1, 2->4, 3->3, 2->4, 5->1, 4->2.
    # Keyed: 1, 4, 3, 4, 1, 5, 4, 3, 4, 1, 1, 2 = 33; mean 33 / 12 = 2.75.
    result = score(LIBRARY["SCS-SF"], SCS_SF_EXAMPLE)
    assert result.total == pytest.approx(2.75)
    assert result.measures == {"SCS-SF": pytest.approx(2.75)}
    assert score(LIBRARY["SCS-SF"], SCS_SF_EXAMPLE, "sum").total == 33
    # Subscales are available on request; self-judgment (11, 12) keeps its own direction:
    # (5 + 4) / 2 = 4.5, and self-kindness (2, 6) = (4 + 5) / 2 = 4.5.
    assert result.subscales["self_judgment"] == pytest.approx(4.5)
    assert result.subscales["self_kindness"] == pytest.approx(4.5)


def test_a_study_reports_the_scs_sf_as_a_sum():
    # The CFT trial reports the SCS-SF as a sum (range 12-60).
    scs_sf = with_overrides(LIBRARY["SCS-SF"], {"default_metric": "sum"})
    result = score(scs_sf, SCS_SF_EXAMPLE)
    assert (result.metric, result.total) == ("sum", 33)
    assert scs_sf.valid_range() == (12, 60)


def test_scs_sf_prorates_one_missing_item():
    # Item 5 (answered 1) missing: keyed sum 33 - 1 = 32 over 11 items; mean 32 / 11.
    answers = {**SCS_SF_EXAMPLE, 5: None}
    result = score(LIBRARY["SCS-SF"], answers)
    assert result.total == pytest.approx(32 / 11)
    assert result.prorated
    assert score(LIBRARY["SCS-SF"], {**answers, 6: None}).total is None


# --------------------------------------------------------------------------- SCS


def test_scs_total_is_the_mean_of_subscale_means():
    scs = LIBRARY["SCS"]
    # Raw answers per subscale: SK 5, SJ 1, CH 3, IS 3, MI 2, OI 4.
    answers = by_subscale(
        scs,
        {"self_kindness": 5, "self_judgment": 1, "common_humanity": 3, "isolation": 3,
         "mindfulness": 2, "over_identification": 4},
    )  # fmt: skip
    result = score(scs, answers)
    # Subscales are reported unreversed: SJ 1, IS 3, OI 4.
    assert result.subscales == {
        "self_kindness": 5, "self_judgment": 1, "common_humanity": 3, "isolation": 3,
        "mindfulness": 2, "over_identification": 4,
    }  # fmt: skip
    # Keyed means for the total: SK 5, SJ 6-1 = 5, CH 3, IS 6-3 = 3, MI 2, OI 6-4 = 2.
    # (5 + 5 + 3 + 3 + 2 + 2) / 6 = 20 / 6 = 3.333...
    assert result.total == pytest.approx(20 / 6)
    assert result.band == "moderate"
    # Item mean instead: (5*5 + 5*5 + 4*3 + 4*3 + 4*2 + 4*2) / 26 = 90 / 26 = 3.4615...
    assert score(scs, answers, "item_mean").total == pytest.approx(90 / 26)


def scs_from_keyed(keyed_by_subscale):
    """SCS answers whose keyed (reversed where needed) item scores are the given values."""
    scs = LIBRARY["SCS"]
    answers = {}
    for key, keyed in keyed_by_subscale.items():
        for n, value in zip(scs.subscale(key).items, keyed, strict=True):
            answers[n] = 6 - value if scs.item(n).reverse else value
    return answers


@pytest.mark.parametrize(
    ("keyed", "total", "band"),
    [
        # SK 12/5 = 2.4, SJ 13/5 = 2.6, four 4-item subscales at 2.5:
        # (2.4 + 2.6 + 4 * 2.5) / 6 = 15 / 6 = 2.5 -> moderate (2.5 starts the band).
        ({"self_kindness": [2, 2, 2, 3, 3], "self_judgment": [3, 3, 3, 2, 2],
          "common_humanity": [2, 3, 2, 3], "isolation": [2, 3, 2, 3],
          "mindfulness": [2, 3, 2, 3], "over_identification": [2, 3, 2, 3]}, 2.5, "moderate"),
        # As above with SK 11/5 = 2.2: (2.2 + 2.6 + 10) / 6 = 14.8 / 6 = 2.4667 -> low.
        ({"self_kindness": [2, 2, 2, 2, 3], "self_judgment": [3, 3, 3, 2, 2],
          "common_humanity": [2, 3, 2, 3], "isolation": [2, 3, 2, 3],
          "mindfulness": [2, 3, 2, 3], "over_identification": [2, 3, 2, 3]}, 14.8 / 6, "low"),
        # SK 17/5 = 3.4, SJ 18/5 = 3.6, four at 3.5: (3.4 + 3.6 + 14) / 6 = 3.5 -> high.
        ({"self_kindness": [3, 3, 3, 4, 4], "self_judgment": [4, 4, 4, 3, 3],
          "common_humanity": [3, 4, 3, 4], "isolation": [3, 4, 3, 4],
          "mindfulness": [3, 4, 3, 4], "over_identification": [3, 4, 3, 4]}, 3.5, "high"),
        # SK 16/5 = 3.2: (3.2 + 3.6 + 14) / 6 = 20.8 / 6 = 3.4667 -> moderate.
        ({"self_kindness": [3, 3, 3, 3, 4], "self_judgment": [4, 4, 4, 3, 3],
          "common_humanity": [3, 4, 3, 4], "isolation": [3, 4, 3, 4],
          "mindfulness": [3, 4, 3, 4], "over_identification": [3, 4, 3, 4]}, 20.8 / 6,
         "moderate"),
    ],
)  # fmt: skip
def test_scs_bands_at_their_boundaries(keyed, total, band):
    result = score(LIBRARY["SCS"], scs_from_keyed(keyed))
    assert result.total == pytest.approx(total)
    assert result.band == band


def test_scs_subscale_missing_rules():
    scs = LIBRARY["SCS"]
    answers = {n: 3 for n in range(1, 27)}
    # One missing item per subscale is prorated; the total still has all six subscales.
    del answers[5], answers[3]
    result = score(scs, answers)
    assert result.total == pytest.approx(3.0)
    assert result.prorated and result.missing == 2
    # Two missing in common humanity (3, 7): that subscale and hence the total are not scored.
    del answers[7]
    result = score(scs, answers)
    assert result.subscales["common_humanity"] is None
    assert result.total is None
    assert result.measures["SCS.common_humanity"] is None


# --------------------------------------------------------------------------- Compassion Scale


def test_compassion_scale_reverses_the_negative_subscales_for_the_total():
    cs = LIBRARY["CS"]
    answers = by_subscale(
        cs,
        {"kindness": 5, "indifference": 1, "common_humanity": 4, "separation": 2,
         "mindfulness": 3, "disengagement": 3},
    )  # fmt: skip
    result = score(cs, answers)
    # Keyed means: 5, 6-1 = 5, 4, 6-2 = 4, 3, 6-3 = 3; (5+5+4+4+3+3) / 6 = 4.0.
    assert result.total == pytest.approx(4.0)
    assert result.subscales["indifference"] == 1  # reported in its own direction
    assert result.subscales["separation"] == 2
    assert any("common_humanity" in w and "UNVERIFIED" in w for w in result.warnings)
    assert len(measure_keys(cs)) == 7


# --------------------------------------------------------------------------- DASS-21


def dass_answers(depression, anxiety, stress):
    dass = LIBRARY["DASS-21"]
    return by_subscale(dass, {"depression": depression, "anxiety": anxiety, "stress": stress})


def test_dass_21_doubled_and_raw_metrics():
    # Depression 7 x 2 = 14 -> x2: 28 (extremely severe starts at 28).
    # Anxiety 7 x 1 = 7 -> x2: 14 (moderate is 10-14). Stress 7 x 1 = 7 -> x2: 14 (normal 0-14).
    result = score(LIBRARY["DASS-21"], dass_answers(2, 1, 1))
    assert result.subscales == {"depression": 28, "anxiety": 14, "stress": 14}
    assert result.total == 56  # (14 + 7 + 7) x 2
    assert result.subscale_bands == {
        "depression": "extremely severe",
        "anxiety": "moderate",
        "stress": "normal",
    }
    assert result.measures["DASS-21.stress"] == 14
    # The raw sums, as the MSC study reports them, with the un-doubled bands:
    # depression 14 (14+ extremely severe), anxiety 7 (6-7 moderate), stress 7 (0-7 normal).
    raw = score(LIBRARY["DASS-21"], dass_answers(2, 1, 1), "sum")
    assert raw.subscales == {"depression": 14, "anxiety": 7, "stress": 7}
    assert raw.subscale_bands == result.subscale_bands
    assert raw.measures["DASS-21.stress@sum"] == 7


@pytest.mark.parametrize(
    ("stress_values", "x2", "band"),
    [
        ([3, 3, 2, 0, 0, 0, 0], 16, "mild"),  # 8 x 2 = 16 (15-18)
        ([3, 3, 3, 0, 0, 0, 0], 18, "mild"),  # 9 x 2 = 18, top of mild
        ([3, 3, 3, 1, 0, 0, 0], 20, "moderate"),  # 10 x 2 = 20 (19-25)
        ([3, 3, 3, 3, 1, 0, 0], 26, "severe"),  # 13 x 2 = 26 (26-33)
        ([3, 3, 3, 3, 3, 2, 0], 34, "extremely severe"),  # 17 x 2 = 34 (34+)
    ],
)
def test_dass_21_stress_bands(stress_values, x2, band):
    dass = LIBRARY["DASS-21"]
    answers = dass_answers(0, 0, 0)
    answers.update(zip(dass.subscale("stress").items, stress_values, strict=True))
    result = score(dass, answers)
    assert (result.subscales["stress"], result.subscale_bands["stress"]) == (x2, band)


def test_dass_21_prorates_one_missing_item_per_subscale():
    dass = LIBRARY["DASS-21"]
    answers = dass_answers(2, 1, 1)
    del answers[dass.subscale("stress").items[0]]
    # Stress: 6 answered at 1 = 6 -> 6 / 6 * 7 = 7 -> x2 = 14.
    result = score(dass, answers)
    assert result.subscales["stress"] == pytest.approx(14)
    assert result.prorated
    del answers[dass.subscale("stress").items[1]]
    result = score(dass, answers)
    assert result.subscales["stress"] is None
    assert result.subscale_bands["stress"] is None
    assert result.subscales["depression"] == 28
    # Total: 19 answered items sum 14 + 7 + 5 = 26 -> 26 / 19 * 21 x 2.
    assert result.total == pytest.approx(26 / 19 * 21 * 2)


# --------------------------------------------------------------------------- SWLS


@pytest.mark.parametrize(
    ("values", "total", "band"),
    [
        ([1, 1, 1, 1, 1], 5, "extremely dissatisfied"),
        ([2, 2, 2, 2, 1], 9, "extremely dissatisfied"),
        ([2, 2, 2, 2, 2], 10, "dissatisfied"),
        ([4, 4, 4, 4, 3], 19, "slightly dissatisfied"),
        ([4, 4, 4, 4, 4], 20, "neutral"),
        ([5, 4, 4, 4, 4], 21, "slightly satisfied"),
        ([6, 6, 6, 6, 6], 30, "satisfied"),
        ([7, 6, 6, 6, 6], 31, "extremely satisfied"),
        ([7, 7, 7, 7, 7], 35, "extremely satisfied"),
    ],
)
def test_swls_sum_and_bands(values, total, band):
    result = score(LIBRARY["SWLS"], answers_from(values))
    assert (result.total, result.band) == (total, band)
    # Item mean, as the MSC study reports it.
    assert score(LIBRARY["SWLS"], answers_from(values), "mean").total == pytest.approx(total / 5)


def test_swls_prorates_one_missing_item():
    # 4 answered items 5 + 5 + 6 + 6 = 22 -> 22 / 4 * 5 = 27.5 -> satisfied.
    result = score(LIBRARY["SWLS"], {1: 5, 2: 5, 3: 6, 4: 6})
    assert result.total == pytest.approx(27.5)
    assert result.band == "satisfied"
    assert score(LIBRARY["SWLS"], {1: 5, 2: 5, 3: 6}).total is None
    with pytest.raises(ScoringError, match="item 2"):
        score(LIBRARY["SWLS"], {1: 5, 2: 8, 3: 6, 4: 6, 5: 6})


# --------------------------------------------------------------------------- SHS


def test_shs_reverses_item_4_and_averages():
    # 5, 6, 4 and item 4 = 2 reversed as 8 - 2 = 6: (5 + 6 + 4 + 6) / 4 = 5.25.
    result = score(LIBRARY["SHS"], answers_from([5, 6, 4, 2]))
    assert result.total == pytest.approx(5.25)
    assert result.measures == {"SHS": pytest.approx(5.25)}
    assert score(LIBRARY["SHS"], {1: 5, 2: 6, 3: 4}).total is None  # no prorating


# --------------------------------------------------------------------------- CAMS-R


def test_cams_r_reverses_items_2_6_7():
    # Nine items at 3 = 27; items 2, 6, 7 at 1 reversed as 5 - 1 = 4: 12. Sum 39, mean 3.25.
    answers = {n: 1 if n in (2, 6, 7) else 3 for n in range(1, 13)}
    result = score(LIBRARY["CAMS-R"], answers)
    assert result.total == 39
    assert score(LIBRARY["CAMS-R"], answers, "mean").total == pytest.approx(3.25)
    assert result.measures == {"CAMS-R": 39}  # facets are UNVERIFIED and not exported
    with pytest.raises(ScoringError, match="item 12"):
        score(LIBRARY["CAMS-R"], {**answers, 12: 5})


# --------------------------------------------------------------------------- CSQ-8


def test_csq_8_sums_printed_values():
    # 4 + 3 + 4 + 3 + 4 + 3 + 4 + 3 = 28.
    result = score(LIBRARY["CSQ-8"], answers_from([4, 3, 4, 3, 4, 3, 4, 3]))
    assert result.total == 28
    with pytest.raises(ScoringError, match="item 8"):
        score(LIBRARY["CSQ-8"], answers_from([4, 3, 4, 3, 4, 3, 4, 0]))


# --------------------------------------------------------------------------- bad answers


@pytest.mark.parametrize("bad", [2.5, "2", True, -1])
def test_answers_that_are_not_response_codes_are_rejected(bad):
    with pytest.raises(ScoringError, match="item 5"):
        score(LIBRARY["SWLS"], {1: 4, 2: 4, 3: 4, 4: 4, 5: bad})


def test_an_unknown_item_is_rejected():
    with pytest.raises(ScoringError, match="no item 6"):
        score(LIBRARY["SWLS"], {1: 4, 2: 4, 3: 4, 4: 4, 5: 4, 6: 4})


# --------------------------------------------------------------------------- broken files


def broken_copy(tmp_path, name, edit):
    shutil.copy(LIBRARY_ROOT / name, tmp_path / name)
    data = yaml.safe_load((tmp_path / name).read_text())
    edit(data)
    (tmp_path / name).write_text(yaml.safe_dump(data, allow_unicode=True))
    return tmp_path


@pytest.mark.parametrize(
    ("name", "edit", "field"),
    [
        ("swls.yaml", lambda d: d.pop("rater"), "rater"),
        ("swls.yaml", lambda d: d.update(rater="parent"), "rater"),
        ("dass-21.yaml", lambda d: d["subscales"]["stress"]["items"].append(22),
         "subscales.stress.items"),
        ("dass-21.yaml", lambda d: d["subscales"]["anxiety"]["items"].append(2),
         "subscales.anxiety.items"),
        ("scs-sf.yaml", lambda d: d["metrics"]["sum"].update(range=[12, 50]), "metrics.sum.range"),
        ("scs-sf.yaml", lambda d: d.update(reverse_items=[1]), "reverse_items"),
        ("ceas-self.yaml", lambda d: d["subscales"]["action"]["items"].append(11),
         "subscales.action.items"),
        ("bdi-ii.yaml", lambda d: d["bands"][0]["levels"].pop(0), r"bands\[0\]\.levels"),
        ("bdi-ii.yaml", lambda d: d["risk_rules"][0].update(item=30), r"risk_rules\[0\]\.item"),
        ("bdi-ii.yaml", lambda d: d.update(default_metric="mean"), "default_metric"),
        ("grid-hamd.yaml", lambda d: d["items"]["per_item"].update({18: {"max": 2}}),
         "items.per_item.18"),
    ],
)  # fmt: skip
def test_a_broken_file_names_the_file_and_the_field(tmp_path, name, edit, field):
    # Validate the edited copy beside a whole library, so the error must point at the file.
    for other in LIBRARY_ROOT.glob("*.yaml"):
        shutil.copy(other, tmp_path / other.name)
    broken_copy(tmp_path, name, edit)
    with pytest.raises(InstrumentError, match=rf"^{re.escape(name)}: {field}"):
        load_library(tmp_path)


def test_two_files_with_one_key_are_rejected(tmp_path):
    shutil.copy(LIBRARY_ROOT / "swls.yaml", tmp_path / "a.yaml")
    shutil.copy(LIBRARY_ROOT / "swls.yaml", tmp_path / "b.yaml")
    with pytest.raises(InstrumentError, match="b.yaml: key: 'SWLS' is also defined in a.yaml"):
        load_library(tmp_path)


def test_overrides_can_remove_and_are_validated():
    scs_sf = with_overrides(LIBRARY["SCS-SF"], {"metrics": {"sum": None}})
    assert set(scs_sf.metrics) == {"mean"}
    with pytest.raises(InstrumentError, match="overrides: default_metric"):
        with_overrides(LIBRARY["SCS-SF"], {"metrics": {"mean": None}})
    # A study turning on the SCS-SF subscales gets them exported.
    on = {"subscales": {s.key: {"report": True} for s in LIBRARY["SCS-SF"].subscales}}
    assert "SCS-SF.self_kindness" in measure_keys(with_overrides(LIBRARY["SCS-SF"], on))


# --------------------------------------------------------------------------- licensed wording


def test_licensed_wording_is_loaded_from_a_study_file(tmp_path):
    wording = tmp_path / "bdi-ii.ja.yaml"
    wording.write_text(
        yaml.safe_dump(
            {
                "instrument": "BDI-II",
                "items": {4: "Study wording for item 4"},
                "options": {16: {2: "Study wording for option 1b"}},
                "anchors": {0: "lowest"},
            },
            allow_unicode=True,
        )
    )
    bdi = with_wording(LIBRARY["BDI-II"], wording)
    assert bdi.item(4).text == "Study wording for item 4"
    assert bdi.item(5).text == "BDI-II item 5"
    assert bdi.item(16).options[2].text == "Study wording for option 1b"
    assert bdi.item(1).anchors[0] == "lowest"
    # Scoring is unchanged and the shipped definition keeps its placeholders.
    assert score(bdi, bdi_with_total(20)).total == 20
    assert LIBRARY["BDI-II"].item(4).text == "BDI-II item 4"
    # A study override applied afterwards keeps the loaded wording.
    stricter = with_overrides(bdi, {"missing": {"total": 0}})
    assert stricter.item(4).text == "Study wording for item 4"
    assert stricter.item(16).options[2].text == "Study wording for option 1b"
    assert stricter.item(18).options[2].text == ""


def test_a_wording_file_for_the_wrong_items_is_rejected(tmp_path):
    with pytest.raises(InstrumentError, match="no item 22"):
        with_wording(LIBRARY["BDI-II"], {"items": {22: "x"}})
    with pytest.raises(InstrumentError, match="options.16: no option code"):
        with_wording(LIBRARY["BDI-II"], {"options": {16: {9: "x"}}})
    with pytest.raises(InstrumentError, match="not 'BDI-II'"):
        with_wording(LIBRARY["BDI-II"], {"instrument": "DASS-21"})


# --------------------------------------------------------------------------- any answer set


# The shipped library plus study variants built by override (FCS-J, SCS-SF subscales on).
INSTRUMENTS_UNDER_TEST = sorted(LIBRARY.values(), key=lambda i: i.key) + [
    with_overrides(LIBRARY["FCS-self"], FCS_J_SELF),
    with_overrides(
        LIBRARY["SCS-SF"],
        {"subscales": {s.key: {"report": True} for s in LIBRARY["SCS-SF"].subscales}},
    ),
]


@st.composite
def instrument_answers(draw):
    """An instrument, one of its metrics, and answers with any items left out."""
    instrument = draw(st.sampled_from(INSTRUMENTS_UNDER_TEST))
    metric = draw(st.sampled_from(sorted(instrument.metrics)))
    answers = {}
    for item in instrument.items:
        code = draw(st.one_of(st.none(), st.sampled_from(item.codes), st.just("absent")))
        if code != "absent":
            answers[item.number] = code
    return instrument, metric, answers


@settings(max_examples=800, deadline=None)
@given(instrument_answers())
def test_no_valid_answer_set_crashes_or_leaves_the_valid_range(case):
    instrument, metric, answers = case
    result = score(instrument, answers, metric)
    scales = {"total": result.total, **result.subscales}
    for scale, value in scales.items():
        if value is None:
            continue
        lo, hi = instrument.valid_range(metric, scale)
        assert lo - 1e-9 <= value <= hi + 1e-9, (instrument.key, metric, scale, value)
    answered = {n for n, code in answers.items() if code is not None}
    scored = {item.number for item in instrument.scored_items}
    assert result.missing == len(scored - answered)
    if not scored - answered:  # a complete answer set always gets a total, never prorated
        assert result.total is not None and not result.prorated
    if result.total is not None:
        assert result.missing <= instrument.max_missing_total
    assert set(result.measures) == set(measure_keys(instrument, metric))
    risk_flags(instrument, answers)


def _paths(value, prefix=()):
    """Every key path inside a parsed definition."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield (*prefix, key)
            yield from _paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            yield (*prefix, i)
            yield from _paths(inner, (*prefix, i))


JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 200),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=5),
    st.lists(st.integers(-1, 30), max_size=4),
    st.dictionaries(st.integers(0, 30), st.integers(-1, 5), max_size=3),
)


@st.composite
def damaged_definitions(draw):
    instrument = draw(st.sampled_from(INSTRUMENTS_UNDER_TEST))
    definition = copy.deepcopy(dict(instrument.definition))
    path = draw(st.sampled_from(sorted(_paths(definition), key=repr)))
    target = definition
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = draw(JUNK)
    return definition


@settings(max_examples=800, deadline=None)
@given(damaged_definitions())
def test_a_damaged_definition_fails_with_an_instrument_error_or_still_loads(definition):
    # Whatever field is broken, loading says which file and field, never a bare TypeError.
    try:
        instrument = build_instrument(definition, source="damaged.yaml")
    except InstrumentError as exc:
        assert str(exc).startswith("damaged.yaml: ")
        return
    # If it still loads, it still scores a complete answer set within its range.
    answers = {item.number: item.codes[len(item.codes) // 2] for item in instrument.items}
    for metric in instrument.metrics:
        result = score(instrument, answers, metric)
        if result.total is not None:
            lo, hi = instrument.valid_range(metric)
            assert lo - 1e-9 <= result.total <= hi + 1e-9
