"""The efficacy report: JSON shape, agreement with lmerTest / nlme, and its edge cases.

R calls are written beside each reference number (R 4.2.2, lme4 1.1-31, lmerTest 3.1-3,
nlme 3.1-162); ``d`` is the data set of the named CSV file restricted to the measure.
"""

import json

import numpy as np
import pandas as pd
import pytest

from analysis import efficacy_report

EFFECT_KEYS = {"term", "estimate", "se", "df", "t", "p", "ci_low", "ci_high", "wald_ci_low",
               "wald_ci_high", "d"}


def rel(x):
    return pytest.approx(x, rel=5e-5)


def test_rct_report_has_the_contract_keys_and_is_plain_json(cft_scores, cft_participants):
    report = efficacy_report(cft_scores, cft_participants, ["pre", "post"])
    assert report["design"] == "rct"
    assert report["reference_arm"] == "CFT"
    assert report["timepoints"] == ["pre", "post"]
    entry = report["measures"]["BDI-II"]
    assert {"descriptives", "n_participants", "n_observations", "variance",
            "effects"} <= set(entry)
    assert set(entry["effects"][0]) == EFFECT_KEYS
    assert set(entry["descriptives"][0]) == {"arm", "timepoint", "n", "mean", "sd"}
    assert set(entry["variance"]) == {"participant", "residual"}
    json.dumps(report, allow_nan=False)  # no NaN anywhere


def test_every_bdi_number_agrees_with_lmertest(cft_scores, cft_participants):
    entry = efficacy_report(cft_scores, cft_participants, ["pre", "post"])["measures"]["BDI-II"]
    effect = entry["effects"][0]
    assert effect["term"] == "time[post]:arm[UC]"
    # R: m <- lmer(score ~ time * arm + (1 | participant_id), d); summary(m)
    assert effect["estimate"] == rel(8.200702455)
    assert effect["se"] == rel(5.114994133)
    assert effect["df"] == rel(14.62233985)
    assert effect["t"] == rel(1.6032672261)
    assert effect["p"] == rel(1.302520447e-01)
    # R: confint(m, method = "Wald")["timepost:armUC", ]
    assert effect["wald_ci_low"] == rel(-1.824501826)
    assert effect["wald_ci_high"] == rel(18.225906736)
    # R: 8.200702455 + c(-1, 1) * qt(0.975, 14.62233985) * 5.114994133
    assert effect["ci_low"] == rel(-2.72622570726)
    assert effect["ci_high"] == rel(19.12763061726)
    # R: EMAtools::lme.dscore(m, d, "lme4"): d = 2 t / sqrt(df)
    assert effect["d"] == rel(2 * 1.6032672261 / np.sqrt(14.62233985))
    # R: as.data.frame(VarCorr(m))$vcov
    assert entry["variance"]["participant"] == rel(40.32028875)
    assert entry["variance"]["residual"] == rel(53.23637864)
    # R: nobs(m); ngrps(m)
    assert entry["n_observations"] == 34
    assert entry["n_participants"] == 18


def test_reference_arm_flips_the_sign_and_says_so(cft_scores, cft_participants):
    report = efficacy_report(cft_scores, cft_participants, ["pre", "post"], reference_arm="UC",
                             measures=["BDI-II"])
    effect = report["measures"]["BDI-II"]["effects"][0]
    assert effect["term"] == "time[post]:arm[CFT]"
    # R: d$arm <- relevel(factor(d$arm), "UC"); summary(lmer(score ~ time * arm + (1|pid), d))
    assert effect["estimate"] == rel(-8.200702427)
    assert effect["df"] == rel(14.62233954)
    assert "minus the same change in UC" in report["sign_convention"]
    assert "positive value means scores rose more, or fell less, in CFT" in (
        report["sign_convention"]
    )


def test_three_timepoints_give_one_interaction_per_later_timepoint(cft3_scores):
    report = efficacy_report(cft3_scores, None, ["pre", "post", "follow"])
    effects = report["measures"]["BDI-II"]["effects"]
    assert [e["term"] for e in effects] == ["time[post]:arm[UC]", "time[follow]:arm[UC]"]
    # R: summary(lmer(score ~ time * arm + (1 | participant_id), d)), cft3_scores.csv
    assert effects[1]["estimate"] == rel(6.510219649)
    assert effects[1]["df"] == rel(75.38324567)
    # R: confint(m, method = "Wald")
    assert effects[1]["wald_ci_low"] == rel(0.9385845637)
    assert effects[0]["wald_ci_high"] == rel(4.48555250987)


def test_mmrm_alternative_matches_gls_unstructured(cft3_scores):
    report = efficacy_report(cft3_scores, None, ["pre", "post", "follow"], model="mmrm")
    entry = report["measures"]["BDI-II"]
    post, follow = entry["effects"]
    # R: gls(score ~ time * arm, d, correlation = corSymm(form = ~ t | participant_id),
    #        weights = varIdent(form = ~ 1 | time), method = "REML"); summary(g)$tTable
    assert post["estimate"] == rel(-1.072082907)
    assert post["se"] == rel(2.547364634)
    assert follow["estimate"] == rel(6.308800354)
    assert follow["se"] == rel(2.967186935)
    # R: getVarCov(g)
    # (printed to 5 significant digits)
    assert entry["variance"]["pre"] == rel(51.006)
    assert entry["variance"]["post:follow"] == rel(22.924)
    assert entry["variance"]["follow"] == rel(87.202)
    # R: emmeans(g, ~ time * arm, mode = "appx-satterthwaite") interaction contrasts give
    # df 41.54 and 37.88 with an approximate method (no exact R reference without mmrm);
    # the exact Satterthwaite df lie close to them.
    assert post["df"] == pytest.approx(41.54, rel=0.01)
    assert follow["df"] == pytest.approx(37.88, rel=0.01)


def test_single_arm_unstructured_with_covariate_matches_gls(cft3_scores, cft3_participants):
    scores = cft3_scores[cft3_scores["arm"] == "CFT"]
    report = efficacy_report(scores, cft3_participants, ["pre", "post", "follow"],
                             covariates=["gender"])
    assert report["design"] == "single_arm"
    assert "reference_arm" not in report
    effects = {e["term"]: e for e in report["measures"]["BDI-II"]["effects"]}
    assert set(effects) == {"time[post]", "time[follow]", "gender[male]"}
    # R: gls(score ~ time + gender, subset(d, arm == "CFT"), correlation = corSymm(form =
    #        ~ t | participant_id), weights = varIdent(form = ~ 1 | time), method = "REML")
    assert effects["time[post]"]["estimate"] == rel(-4.011415817)
    assert effects["time[post]"]["se"] == rel(1.781037777)
    assert effects["time[follow]"]["estimate"] == rel(-9.124390217)
    assert effects["time[follow]"]["se"] == rel(1.987228083)
    assert effects["gender[male]"]["estimate"] == rel(3.285068990)
    assert effects["gender[male]"]["se"] == rel(2.103260395)


def test_single_arm_complete_pairs_reduce_to_the_paired_t_test():
    # With complete pre/post pairs the unstructured model's time effect is the mean change,
    # its SE sd(diff)/sqrt(n) and its Satterthwaite df n - 1: R's t.test(post, pre, paired=TRUE).
    rng = np.random.default_rng(11)
    pre = rng.normal(20, 5, 30)
    post = pre - 3 + rng.normal(0, 3, 30)
    ids = [f"M{i:03d}" for i in range(30)]
    scores = pd.DataFrame({
        "participant_id": ids * 2, "arm": "MSC", "timepoint": ["pre"] * 30 + ["post"] * 30,
        "measure": "SCS", "score": np.concatenate([pre, post]),
    })
    report = efficacy_report(scores, None, ["pre", "post"])
    effect = report["measures"]["SCS"]["effects"][0]
    diff = post - pre
    assert effect["estimate"] == rel(diff.mean())
    assert effect["se"] == rel(diff.std(ddof=1) / np.sqrt(30))
    assert effect["df"] == pytest.approx(29, rel=1e-4)
    assert "d" not in effect


def test_completers_only_drops_participants_missing_a_timepoint(cft_scores, cft_participants):
    report = efficacy_report(cft_scores, cft_participants, ["pre", "post"],
                             completers_only=True, measures=["BDI-II"])
    entry = report["measures"]["BDI-II"]
    assert entry["n_participants"] == 16
    assert entry["n_observations"] == 32
    # P003 (CFT) and P012 (UC) have no BDI-II post score
    assert {d["n"] for d in entry["descriptives"] if d["arm"] == "CFT"} == {9}
    assert {d["n"] for d in entry["descriptives"] if d["arm"] == "UC"} == {7}


def test_table3_descriptives_reproduce_the_published_means_and_sds(data_dir):
    scores = pd.read_csv(data_dir / "table3_scores.csv")
    report = efficacy_report(scores, None, ["pre", "post"])
    published = {  # brief.md, Table 3: mean (SD); CFT post n = 9, UC n = 7
        ("BDI-II", "CFT", "pre"): (34.90, 5.20, 10), ("BDI-II", "CFT", "post"): (22.22, 6.42, 9),
        ("BDI-II", "UC", "pre"): (39.29, 8.01, 7), ("BDI-II", "UC", "post"): (38.86, 13.22, 7),
        ("GRID-HAMD", "CFT", "pre"): (16.20, 3.01, 10),
        ("GRID-HAMD", "CFT", "post"): (10.00, 5.45, 9),
        ("GRID-HAMD", "UC", "pre"): (16.43, 7.55, 7), ("GRID-HAMD", "UC", "post"): (15.50, 8.78, 7),
        ("CEAS.self", "CFT", "pre"): (53.20, 12.44, 10),
        ("CEAS.self", "CFT", "post"): (67.89, 12.47, 9),
        ("CEAS.self", "UC", "pre"): (47.00, 14.90, 7),
        ("CEAS.self", "UC", "post"): (42.43, 20.18, 7),
        ("SCS-SF", "CFT", "pre"): (33.90, 2.77, 10), ("SCS-SF", "CFT", "post"): (36.22, 2.44, 9),
        ("SCS-SF", "UC", "pre"): (35.71, 3.50, 7), ("SCS-SF", "UC", "post"): (35.14, 3.72, 7),
    }
    seen = 0
    for measure, entry in report["measures"].items():
        for d in entry["descriptives"]:
            mean, sd, n = published[(measure, d["arm"], d["timepoint"])]
            assert d["n"] == n
            assert f"{d['mean']:.2f}" == f"{mean:.2f}"
            assert f"{d['sd']:.2f}" == f"{sd:.2f}"
            seen += 1
    assert seen == 16
    effect = report["measures"]["BDI-II"]["effects"][0]
    # R: summary(lmer(score ~ time * arm + (1 | participant_id), subset(t3, measure=="BDI-II")))
    assert effect["estimate"] == rel(11.90375129)
    assert effect["se"] == rel(4.857157045)
    assert effect["df"] == rel(14.15531528)


# Edge cases: a warning string and nulls, never a crash or a wrong number.


def test_arm_without_post_data_gives_null_interaction_with_warning(cft_scores):
    scores = cft_scores[~((cft_scores["arm"] == "UC") & (cft_scores["timepoint"] == "post"))]
    entry = efficacy_report(scores, None, ["pre", "post"])["measures"]["BDI-II"]
    effect = entry["effects"][0]
    assert effect["estimate"] is None and effect["df"] is None and effect["d"] is None
    assert "not estimable" in effect["warning"]
    assert "arm UC has no scores at post" in entry["warning"]
    uc_post = [d for d in entry["descriptives"] if d["arm"] == "UC" and d["timepoint"] == "post"]
    assert uc_post == [{"arm": "UC", "timepoint": "post", "n": 0, "mean": None, "sd": None}]


def test_measure_constant_at_one_timepoint_warns(cft_scores):
    scores = cft_scores.copy()
    scores.loc[(scores["timepoint"] == "pre") & (scores["arm"] == "CFT"), "score"] = 30
    entry = efficacy_report(scores, None, ["pre", "post"])["measures"]["BDI-II"]
    assert "constant at pre in arm CFT" in entry["warning"]
    assert entry["effects"][0]["estimate"] is not None


def test_single_arm_constant_timepoint_gives_null_not_nonsense():
    scores = pd.DataFrame({
        "participant_id": [f"M{i}" for i in range(6)] * 2, "arm": "MSC",
        "timepoint": ["pre"] * 6 + ["post"] * 6, "measure": "SWLS",
        "score": [3.0] * 6 + [3.2, 3.4, 2.9, 3.8, 3.1, 3.5],
    })
    entry = efficacy_report(scores, None, ["pre", "post"])["measures"]["SWLS"]
    assert entry["effects"][0]["estimate"] is None
    assert "constant" in entry["effects"][0]["warning"]
    json.dumps(entry, allow_nan=False)


def test_participant_with_one_observation_is_kept_with_a_note(cft_scores):
    entry = efficacy_report(cft_scores, None, ["pre", "post"])["measures"]["BDI-II"]
    assert "2 participant(s) have a score at one timepoint only" in entry["warning"]
    assert entry["n_participants"] == 18


def test_no_participant_with_two_observations_cannot_fit():
    scores = pd.DataFrame({
        "participant_id": ["A", "B", "C", "D", "E", "F"], "arm": ["X", "X", "X", "Y", "Y", "Y"],
        "timepoint": ["pre", "post", "pre", "post", "pre", "post"], "measure": "m",
        "score": [1.0, 2.0, 3.0, 5.0, 4.0, 8.0],
    })
    effect = efficacy_report(scores, None, ["pre", "post"])["measures"]["m"]["effects"][0]
    assert effect["estimate"] is None
    assert "more than one observation" in effect["warning"]


def test_single_arm_study_given_reference_arm_warns(cft3_scores):
    scores = cft3_scores[cft3_scores["arm"] == "UC"]
    report = efficacy_report(scores, None, ["pre", "post", "follow"], reference_arm="CFT")
    assert report["design"] == "single_arm"
    assert report["warning"] == "reference arm CFT ignored: this is a single-arm study"


def test_unknown_reference_arm_is_an_error(cft_scores):
    with pytest.raises(ValueError, match="unknown reference arm 'CBT'"):
        efficacy_report(cft_scores, None, ["pre", "post"], reference_arm="CBT")


def test_default_reference_arm_is_rs_first_level():
    from analysis.design import r_sorted

    # R: levels(factor(c("UC", "cft", "Cft", "CFT", "control", "a", "B")))
    assert r_sorted(["UC", "cft", "Cft", "CFT", "control", "a", "B"]) == [
        "a", "B", "cft", "Cft", "CFT", "control", "UC"]
    scores = pd.DataFrame({
        "participant_id": ["A", "A", "B", "B", "C", "C", "D", "D"],
        "arm": ["usual care"] * 4 + ["CFT"] * 4, "timepoint": ["pre", "post"] * 4,
        "measure": "m", "score": [1.0, 2.0, 2.0, 2.5, 3.0, 1.0, 4.0, 3.0],
    })
    assert efficacy_report(scores, None, ["pre", "post"])["reference_arm"] == "CFT"


def test_rct_unstructured_complete_pairs_reduce_to_the_two_sample_t_test_on_change():
    # Complete pre/post data: the MMRM interaction is the difference in mean change, with the
    # pooled-variance SE and n1 + n2 - 2 df of R's t.test(change ~ arm, var.equal = TRUE).
    from scipy import stats

    rng = np.random.default_rng(12)
    n1, n2 = 14, 11
    ids = [f"P{i:02d}" for i in range(n1 + n2)]
    arm = ["A"] * n1 + ["B"] * n2
    pre = rng.normal(30, 6, n1 + n2)
    post = pre - 4 + 3 * (np.array(arm) == "B") + rng.normal(0, 4, n1 + n2)
    scores = pd.DataFrame({"participant_id": ids * 2, "arm": arm * 2,
                           "timepoint": ["pre"] * (n1 + n2) + ["post"] * (n1 + n2),
                           "measure": "m", "score": np.concatenate([pre, post])})
    effect = efficacy_report(scores, None, ["pre", "post"], model="mmrm")["measures"]["m"][
        "effects"][0]
    change = post - pre
    test = stats.ttest_ind(change[n1:], change[:n1], equal_var=True)
    assert effect["estimate"] == rel(change[n1:].mean() - change[:n1].mean())
    assert effect["t"] == rel(test.statistic)
    assert effect["df"] == pytest.approx(n1 + n2 - 2, rel=1e-4)
    assert effect["p"] == rel(test.pvalue)


def test_identical_change_for_everyone_is_not_tested():
    scores = pd.DataFrame({
        "participant_id": ["A", "A", "B", "B", "C", "C", "D", "D"],
        "arm": ["X"] * 4 + ["Y"] * 4, "timepoint": ["pre", "post"] * 4, "measure": "m",
        "score": [10.0, 8.0, 14.0, 12.0, 11.0, 10.0, 15.0, 14.0],
    })
    entry = efficacy_report(scores, None, ["pre", "post"])["measures"]["m"]
    assert entry["effects"][0]["estimate"] is None
    assert "residual variance is estimated as 0" in entry["warning"]
