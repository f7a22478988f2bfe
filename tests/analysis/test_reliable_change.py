"""Jacobson–Truax reliable change on data checked by hand against the data contract's formulas.

Six participants, lower is better, reliability 0.8, norms 8.9 (6.5):

    pre  = 30, 32, 22 | 35, 40, 25      (arm A | arm B)
    post = 10, 23, 19 | 34, 49, 12

baseline mean = 184 / 6 = 30.6667; squared deviations sum to 215.3333, so
SD = sqrt(215.3333 / 5) = 6.56252; S_E = 6.56252 * sqrt(0.2) = 2.93485;
S_diff = sqrt(2) * 2.93485 = 4.15050;
a = 30.6667 - 2 * 6.56252 = 17.5416; b = 8.9 + 2 * 6.5 = 21.9;
c = (6.56252 * 8.9 + 6.5 * 30.6667) / (6.56252 + 6.5) = 257.740 / 13.0625 = 19.7312.
RCI = (post - pre) / 4.15050: -4.8187, -2.1684, -0.7228 | -0.2409, 2.1684, -3.1322.
Categories with cutoff c: recovered (10 <= c), improved (23 > c), non-reliably recovered
(19 <= c, |RCI| < 1.96) | unchanged, deteriorated, recovered.
"""

import pandas as pd
import pytest

from analysis import reliable_change

PRE = {"P1": 30, "P2": 32, "P3": 22, "P4": 35, "P5": 40, "P6": 25}
POST = {"P1": 10, "P2": 23, "P3": 19, "P4": 34, "P5": 49, "P6": 12}
ARM = {"P1": "A", "P2": "A", "P3": "A", "P4": "B", "P5": "B", "P6": "B"}


@pytest.fixture
def scores():
    rows = [{"participant_id": p, "arm": ARM[p], "timepoint": "pre", "measure": "BDI-II",
             "score": v} for p, v in PRE.items()]
    rows += [{"participant_id": p, "arm": ARM[p], "timepoint": "post", "measure": "BDI-II",
              "score": v} for p, v in POST.items()]
    # a seventh participant with a baseline score only: left out, with a warning
    rows.append({"participant_id": "P7", "arm": "B", "timepoint": "pre", "measure": "BDI-II",
                 "score": 50})
    return pd.DataFrame(rows)


def approx(x):
    return pytest.approx(x, abs=5e-4)


def test_hand_checked_numbers(scores):
    r = reliable_change(scores, "BDI-II", ["pre", "post"], 0.8, norm_mean=8.9, norm_sd=6.5,
                        lower_is_better=True)
    assert r["direction"] == "lower_is_better"
    assert r["baseline_mean"] == approx(30.6667)
    assert r["baseline_sd"] == approx(6.56252)
    assert r["s_e"] == approx(2.93485)
    assert r["s_diff"] == approx(4.15050)
    assert r["cutoffs"] == {"a": approx(17.5416), "b": approx(21.9), "c": approx(19.7312)}
    assert r["cutoff_used"] == {"kind": "c", "value": approx(19.7312)}
    by_id = {p["participant_id"]: p for p in r["participants"]}
    assert by_id["P1"]["rci"] == approx(-4.8187)
    assert by_id["P5"]["rci"] == approx(2.1684)
    assert [by_id[p]["category"] for p in ["P1", "P2", "P3", "P4", "P5", "P6"]] == [
        "recovered", "improved", "non_reliably_recovered", "unchanged", "deteriorated",
        "recovered",
    ]
    assert r["counts"]["A"] == {"recovered": 1, "improved": 1, "non_reliably_recovered": 1,
                                "unchanged": 0, "deteriorated": 0}
    assert r["counts"]["all"]["recovered"] == 2
    assert "P7" not in by_id
    assert "1 participant(s) without both pre and post scores left out" in r["warning"]


def test_number_cutoff_and_cutoff_a(scores):
    # With the published BDI-II recovery cutoff (10), only P1 (post 10) has crossed.
    r = reliable_change(scores, "BDI-II", ["pre", "post"], 0.8, cutoff=10.0,
                        lower_is_better=True)
    cats = {p["participant_id"]: p["category"] for p in r["participants"]}
    assert cats["P1"] == "recovered" and cats["P6"] == "improved" and cats["P3"] == "unchanged"
    assert r["cutoff_used"] == {"kind": "number", "value": 10.0}
    r = reliable_change(scores, "BDI-II", ["pre", "post"], 0.8, cutoff="a", lower_is_better=True)
    assert r["cutoff_used"]["value"] == approx(17.5416)


def test_cutoff_c_without_norms_falls_back_to_a_with_warning(scores):
    r = reliable_change(scores, "BDI-II", ["pre", "post"], 0.8, lower_is_better=True)
    assert r["cutoff_used"]["kind"] == "a"
    assert r["cutoffs"]["b"] is None and r["cutoffs"]["c"] is None
    assert "cutoff c needs the normative mean and SD" in r["warning"]


def test_higher_is_better_mirrors_lower_is_better(scores):
    flipped = scores.assign(score=-scores["score"])
    low = reliable_change(scores, "BDI-II", ["pre", "post"], 0.8, norm_mean=8.9, norm_sd=6.5,
                          lower_is_better=True)
    high = reliable_change(flipped, "BDI-II", ["pre", "post"], 0.8, norm_mean=-8.9,
                           norm_sd=6.5, lower_is_better=False)
    assert high["direction"] == "higher_is_better"
    assert high["cutoffs"]["c"] == approx(-low["cutoffs"]["c"])
    assert [p["category"] for p in high["participants"]] == [
        p["category"] for p in low["participants"]
    ]


def test_no_baseline_variance_warns_instead_of_dividing_by_zero():
    scores = pd.DataFrame({
        "participant_id": ["A", "B", "A", "B"], "arm": "X", "timepoint": ["pre", "pre", "post",
                                                                          "post"],
        "measure": "m", "score": [20, 20, 10, 25],
    })
    r = reliable_change(scores, "m", ["pre", "post"], 0.9, lower_is_better=True)
    assert r["s_diff"] is None or r["s_diff"] == 0
    assert all(p["category"] is None for p in r["participants"])
    assert "cannot be computed" in r["warning"]
