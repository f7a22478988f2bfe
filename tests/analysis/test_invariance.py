"""Properties any correct mixed-model fit has, checked on generated CFT-shaped data sets.

Shifting every score leaves the interaction unchanged; scaling scores by c scales estimate,
SE and CI by c and leaves t, df, p and d unchanged; the order of rows and the participants'
codes do not matter.
"""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import efficacy_report

TIMEPOINTS = ["pre", "post", "follow"]


def make(seed: int, n: int, missing: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        arm = "CFT" if i % 2 else "UC"
        intercept = rng.normal(0, 4)
        for j, tp in enumerate(TIMEPOINTS):
            if j and rng.random() < missing:
                continue
            score = 30 + intercept - 3 * j * (arm == "CFT") + rng.normal(0, 5)
            rows.append({"participant_id": f"P{i:03d}", "arm": arm, "timepoint": tp,
                         "measure": "BDI-II", "score": score})
    return pd.DataFrame(rows)


def effects(scores, model="lmm"):
    return efficacy_report(scores, None, TIMEPOINTS, model=model)["measures"]["BDI-II"]["effects"]


data_sets = st.tuples(st.integers(0, 10_000), st.integers(8, 40), st.sampled_from([0, 0.2]))


@settings(max_examples=15, deadline=None)
@given(data_sets, st.floats(-50, 50), st.floats(0.1, 20), st.sampled_from(["lmm", "mmrm"]))
def test_location_and_scale(case, shift, scale, model):
    scores = make(*case)
    base = effects(scores, model)
    moved = effects(scores.assign(score=scores["score"] * scale + shift), model)
    for b, m in zip(base, moved, strict=True):
        assert m["estimate"] == pytest.approx(b["estimate"] * scale, rel=1e-5, abs=1e-8)
        assert m["se"] == pytest.approx(b["se"] * scale, rel=1e-5)
        assert m["ci_low"] == pytest.approx(b["ci_low"] * scale, rel=1e-5, abs=1e-8)
        for key in ("t", "df", "p", "d"):
            assert m[key] == pytest.approx(b[key], rel=1e-4, abs=1e-8)


@settings(max_examples=10, deadline=None)
@given(data_sets, st.integers(0, 1000))
def test_row_order_and_codes_do_not_matter(case, seed):
    scores = make(*case)
    rng = np.random.default_rng(seed)
    codes = {p: f"X{k}" for k, p in enumerate(rng.permutation(scores["participant_id"].unique()))}
    shuffled = scores.sample(frac=1, random_state=seed).assign(
        participant_id=lambda d: d["participant_id"].map(codes))
    for b, m in zip(effects(scores), effects(shuffled), strict=True):
        for key in ("estimate", "se", "df", "p"):
            assert m[key] == pytest.approx(b[key], rel=1e-6)
