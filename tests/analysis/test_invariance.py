"""Properties any correct mixed-model fit has, checked on generated CFT-shaped data sets.

Shifting every score leaves the interaction unchanged; scaling scores by c scales estimate,
SE and CI by c and leaves t, df, p and d unchanged; the order of rows and the participants'
codes do not matter.
"""

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
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
# Found by hypothesis: only three participants have a post score, so the unstructured REML
# criterion has no optimum (it falls without bound towards a singular covariance). The fit
# used to crash on the shifted copy (Cholesky of a numerically singular Sigma in the gradient).
@example((8, 8, 0.2), 34.49897385160499, 1.0, "mmrm")
@example((8, 8, 0.2), 0.0, 1.0, "mmrm")
@example((8, 8, 0.2), -20.0, 0.1, "mmrm")
# Found by hypothesis: 8 people, 5 post scores, six covariance parameters. The REML criterion is
# nearly flat, so its inverse Hessian (and the Satterthwaite df built on it, here 1.81) carries
# about four significant digits: estimate and SE agree to 1e-10, the df to 1.6e-4, and at
# 1.8 df the t quantile turns that into 2.4e-4 on the CI bound.
@example((2920, 8, 0.2), 0.0, 0.109375, "mmrm")
def test_location_and_scale(case, shift, scale, model):
    scores = make(*case)
    base = effects(scores, model)
    moved = effects(scores.assign(score=scores["score"] * scale + shift), model)
    for b, m in zip(base, moved, strict=True):
        if b["estimate"] is None:
            # A data set the model cannot fit stays unfittable, with a reason, on any scale.
            assert m["estimate"] is None
            assert b["warning"] and m["warning"]
            continue
        assert m["estimate"] == pytest.approx(b["estimate"] * scale, rel=1e-5, abs=1e-8)
        assert m["se"] == pytest.approx(b["se"] * scale, rel=1e-5)
        # Estimates, SEs and t are exact up to rounding; the df (and so CI bounds and p) and d
        # (the fitted SDs) are as precise as the covariance parameters of the REML optimum,
        # which are ill-determined on the smallest generated sets (see the example above).
        assert m["t"] == pytest.approx(b["t"], rel=1e-5, abs=1e-8)
        assert m["ci_low"] == pytest.approx(b["ci_low"] * scale, rel=1e-3, abs=1e-8)
        for key in ("df", "p", "d"):
            assert m[key] == pytest.approx(b[key], rel=1e-3, abs=1e-8)


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


# make(8, 8, 0.2) rounded: participants P000, P003 and P005 alone have a post score.
DEGENERATE = pd.DataFrame(
    [
        ("P000", "UC", "pre", 16.36), ("P000", "UC", "post", 21.29),
        ("P000", "UC", "follow", 22.10),
        ("P001", "CFT", "pre", 30.64), ("P001", "CFT", "follow", 24.01),
        ("P002", "UC", "pre", 34.09), ("P002", "UC", "follow", 32.84),
        ("P003", "CFT", "pre", 37.03), ("P003", "CFT", "post", 25.32),
        ("P003", "CFT", "follow", 25.12),
        ("P004", "UC", "pre", 25.24),
        ("P005", "CFT", "pre", 30.47), ("P005", "CFT", "post", 34.14),
        ("P005", "CFT", "follow", 12.17),
        ("P006", "UC", "pre", 36.96), ("P006", "UC", "follow", 37.46),
        ("P007", "CFT", "pre", 14.22), ("P007", "CFT", "follow", 16.47),
    ],
    columns=["participant_id", "arm", "timepoint", "score"],
).assign(measure="BDI-II")


@pytest.mark.parametrize(("shift", "scale"), [(0.0, 1.0), (34.49897385160499, 1.0), (-20.0, 0.1),
                                              (1e4, 1e3)])
def test_mmrm_without_an_optimum_gives_null_with_a_warning(shift, scale):
    # R's gls(..., corSymm, varIdent, method = "REML") stops with "false convergence (8)" here:
    # three participants with a post score cannot carry a post row of the 3 x 3 covariance on
    # top of the two post cell means, so the REML criterion has no optimum.
    scores = DEGENERATE.assign(score=DEGENERATE["score"] * scale + shift)
    entry = efficacy_report(scores, None, TIMEPOINTS, model="mmrm")["measures"]["BDI-II"]
    assert entry["variance"] is None
    for row in entry["effects"]:
        assert all(row[k] is None for k in ("estimate", "se", "df", "t", "p", "ci_low", "d"))
        assert "singular" in row["warning"]
    assert "singular" in entry["warning"]


@pytest.mark.parametrize(("shift", "scale"), [(-1e4, 1e-3), (1e5, 1e4), (0.0, 1e-6)])
def test_mmrm_is_invariant_to_extreme_units(cft3_scores, shift, scale):
    base = effects(cft3_scores, "mmrm")
    moved = effects(cft3_scores.assign(score=cft3_scores["score"] * scale + shift), "mmrm")
    for b, m in zip(base, moved, strict=True):
        assert m["estimate"] == pytest.approx(b["estimate"] * scale, rel=1e-7)
        assert m["se"] == pytest.approx(b["se"] * scale, rel=1e-7)
        for key in ("t", "df", "p", "d"):
            assert m[key] == pytest.approx(b[key], rel=1e-6)
