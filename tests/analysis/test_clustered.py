"""Clustered designs, Kenward–Roger df, type III tests, per-timepoint contrasts, ANCOVA and the
per-protocol population, against lme4 + lmerTest + pbkrtest + emmeans.

Every reference number was printed by ``data/reference_clustered.R`` (R 4.2.2, lme4 1.1-31,
lmerTest 3.1-3, pbkrtest 0.5.2, emmeans 1.8.4-1, Debian bookworm) with default settings; the
R call is written beside each. ``d`` is the data set's scores joined to its participants,
``grouped_post`` 1 on the post-baseline rows of participants in a therapy group, ``time``
numeric (0/1) with two timepoints and a factor with three. The data sets are written by
``data/make_clustered.py``.
"""

import json

import pandas as pd
import pytest

from analysis import efficacy_report


def rel(x):
    """The issue's agreement: 1e-4 relative."""
    return pytest.approx(x, rel=1e-4)


def load(data_dir, name):
    return (pd.read_csv(data_dir / f"{name}_scores.csv"),
            pd.read_csv(data_dir / f"{name}_participants.csv"))


def report(data_dir, name, timepoints=("pre", "post"), **options):
    scores, participants = load(data_dir, name)
    return efficacy_report(scores, participants, list(timepoints), **options)


def by(rows, key="term"):
    return {r[key]: r for r in rows}


# --------------------------------------------------------------------------- a real group effect


def test_partially_nested_therapy_groups_match_lmertest(data_dir):
    out = report(data_dir, "groups", therapy_group="therapy_group")
    assert out["formula"] == ("score ~ time * arm + (1 | participant_id)"
                              " + (0 + grouped_post | therapy_group)")
    entry = out["measures"]["BDI-II"]
    # R: m <- lmer(score ~ time * arm + (1 | participant_id) + (0 + grouped_post |
    #    therapy_group), d); as.data.frame(VarCorr(m))
    assert entry["variance"] == {"participant": rel(20.40480127),
                                 "therapy_group": rel(22.30456158),
                                 "residual": rel(18.53187120)}
    effect = entry["effects"][0]
    assert effect["term"] == "time[post]:arm[UC]"
    # R: coef(summary(m))["time:armUC", ]
    assert effect["estimate"] == rel(3.5430628833)
    assert effect["se"] == rel(2.3454405870)
    assert effect["df"] == rel(7.972425009)
    assert effect["t"] == rel(1.5106171961)
    assert effect["p"] == rel(1.694591791e-01)
    # R: cf <- coef(summary(m))["time:armUC", ]
    #    cf[["Estimate"]] + c(-1, 1) * qt(0.975, cf[["df"]]) * cf[["Std. Error"]]
    assert effect["ci_low"] == rel(-1.868790784)
    assert effect["ci_high"] == rel(8.954916551)
    # the df fall to about the number of groups: d = 2t/sqrt(df) is inflated, and says so
    assert effect["d"] == rel(2 * 1.5106171961 / 7.972425009**0.5)
    assert "inflated" in effect["warning"]
    json.dumps(out, allow_nan=False)


def test_ignoring_the_therapy_groups_makes_the_interaction_s_se_too_small(data_dir):
    plain = report(data_dir, "groups")["measures"]["BDI-II"]["effects"][0]
    grouped = report(data_dir, "groups", therapy_group="therapy_group")
    grouped = grouped["measures"]["BDI-II"]["effects"][0]
    # R: coef(summary(lmer(score ~ time * arm + (1 | participant_id), d)))["time:armUC", ]
    assert plain["se"] == rel(1.5171259034)
    assert plain["df"] == rel(84.69892568)
    assert plain["p"] == rel(2.146147551e-02)  # "significant" only without the groups
    assert grouped["se"] / plain["se"] > 1.5
    assert "warning" not in plain


def test_type_iii_tests_and_contrasts_with_therapy_groups(data_dir):
    entry = report(data_dir, "groups", therapy_group="therapy_group")["measures"]["BDI-II"]
    tests = by(entry["tests"])
    assert list(tests) == ["time", "arm", "time:arm"]
    # R: anova(m)  (time numeric: arm tests the arms at baseline, time the mean slope)
    assert tests["time"]["f"] == rel(11.64282)
    assert tests["time"]["den_df"] == rel(7.972425)
    assert tests["time"]["p"] == rel(0.0092415)
    assert tests["arm"]["f"] == rel(0.41283)
    assert tests["arm"]["den_df"] == rel(130.002041)
    assert tests["time:arm"] == {"term": "time:arm", "f": rel(2.28196), "num_df": 1,
                                 "den_df": rel(7.972425), "p": rel(0.1694592)}
    # R: contrast(emmeans(m, ~ arm | time, at = list(time = c(0, 1)),
    #    lmer.df = "satterthwaite"), "trt.vs.ctrl", ref = 1, adjust = "none"), infer = TRUE
    pre, post = entry["contrasts"]
    assert (pre["timepoint"], pre["contrast"]) == ("pre", "UC - CFT")
    assert pre["estimate"] == rel(-0.8583333333)
    assert pre["se"] == rel(1.335888277)
    assert pre["df"] == rel(130.002041156)
    assert post["timepoint"] == "post"
    assert post["estimate"] == rel(2.6847295499)
    assert post["se"] == rel(2.363669642)
    assert post["df"] == rel(8.203279736)
    assert post["t"] == rel(1.1358311257)
    assert post["p"] == rel(0.2881198808)
    assert post["ci_low"] == rel(-2.742481226)
    assert post["ci_high"] == rel(8.111940326)


def test_kenward_roger_with_therapy_groups_matches_pbkrtest(data_dir):
    out = report(data_dir, "groups", therapy_group="therapy_group", ddf="kenward-roger")
    assert out["df_method"] == "kenward-roger"
    entry = out["measures"]["BDI-II"]
    effect = entry["effects"][0]
    # R: coef(summary(m, ddf = "Kenward-Roger"))["time:armUC", ]
    assert effect["estimate"] == rel(3.5430628833)
    assert effect["se"] == rel(2.3458399127)  # pbkrtest::vcovAdj(m)
    assert effect["df"] == rel(8.00920540)
    assert effect["t"] == rel(1.5103600480)
    assert effect["p"] == rel(1.693515591e-01)
    assert effect["d"] == rel(2 * 1.5103600480 / 8.00920540**0.5)
    # R: anova(m, ddf = "Kenward-Roger")
    tests = by(entry["tests"])
    assert tests["time"]["f"] == rel(11.63886)
    assert tests["time"]["den_df"] == rel(8.009205)
    assert tests["arm"]["den_df"] == rel(129.423861)
    assert tests["time:arm"]["p"] == rel(0.1693516)
    # R: emmeans(m, ~ arm | time, at = list(time = c(0, 1)), lmer.df = "kenward-roger")
    post = entry["contrasts"][1]
    assert post["se"] == rel(2.364065888)
    assert post["df"] == rel(8.26885607)
    assert post["ci_low"] == rel(-2.736116429)


def test_site_random_intercept_with_therapy_groups(data_dir):
    out = report(data_dir, "groups", random="site", therapy_group="therapy_group")
    assert out["formula"] == ("score ~ time * arm + (1 | participant_id) + (1 | site)"
                              " + (0 + grouped_post | therapy_group)")
    entry = out["measures"]["BDI-II"]
    # R: m <- lmer(score ~ time * arm + (1 | site) + (1 | participant_id) + (0 +
    #    grouped_post | therapy_group), d, control = tight)  (three sites leave the criterion
    #    flat in the site variance: lme4's default tolerances stop 3e-8 short of this optimum,
    #    at a site variance of 2.66041); as.data.frame(VarCorr(m)); coef(summary(m))
    assert entry["variance"] == {"participant": rel(18.451854529),
                                 "therapy_group": rel(23.168303386), "site": rel(2.660843802),
                                 "residual": rel(18.585149136)}
    effect = entry["effects"][0]
    assert effect["estimate"] == rel(3.5219366579)
    assert effect["se"] == rel(2.376715755)
    assert effect["df"] == rel(7.881052950)
    # R: anova(m)
    assert by(entry["tests"])["time"]["den_df"] == rel(7.881002)
    assert by(entry["tests"])["time"]["f"] == rel(11.33311)


# ------------------------------------------------------------------ three timepoints, sites


def test_three_timepoints_and_sites(data_dir):
    out = report(data_dir, "sites3", ("pre", "post", "follow"), random="site",
                 therapy_group="therapy_group")
    entry = out["measures"]["BDI-II"]
    # R: m <- lmer(score ~ time * arm + (1 | site) + (1 | participant_id) + (0 + grouped_post
    #    | therapy_group), d3)   (time a factor: pre, post, follow)
    assert entry["variance"] == {"participant": rel(15.3239712037),
                                 "therapy_group": rel(0.1581495596),
                                 "site": rel(32.1184384868), "residual": rel(18.4350577801)}
    post, follow = entry["effects"]
    assert (post["term"], follow["term"]) == ("time[post]:arm[UC]", "time[follow]:arm[UC]")
    # R: coef(summary(m))
    assert post["estimate"] == rel(4.1024469854)
    assert post["se"] == rel(1.2167652618)
    assert post["df"] == rel(71.419399816)
    assert follow["estimate"] == rel(10.2681261463)
    assert follow["df"] == rel(72.373082653)
    # R: anova(m): time and time:arm have 2 numerator df; arm averages over time
    tests = by(entry["tests"])
    assert tests["time"]["num_df"] == 2 and tests["time:arm"]["num_df"] == 2
    assert tests["time"]["f"] == rel(118.23487)
    assert tests["time"]["den_df"] == rel(71.651701)
    assert tests["arm"]["f"] == rel(28.65304)
    assert tests["arm"]["den_df"] == rel(62.190775)
    assert tests["time:arm"]["f"] == rel(35.37666)
    assert tests["time:arm"]["den_df"] == rel(71.674418)
    assert tests["time:arm"]["p"] == rel(2.0524e-11)
    # R: contrast(emmeans(m, ~ arm | time, lmer.df = "satterthwaite"), "trt.vs.ctrl",
    #    ref = 1, adjust = "none")
    contrasts = by(entry["contrasts"], "timepoint")
    assert list(contrasts) == ["pre", "post", "follow"]
    assert contrasts["post"]["estimate"] == rel(4.2615615058)
    assert contrasts["post"]["df"] == rel(61.70875756)
    assert contrasts["follow"]["se"] == rel(1.190612480)
    assert contrasts["follow"]["df"] == rel(62.56693351)


def test_three_timepoints_and_sites_kenward_roger(data_dir):
    out = report(data_dir, "sites3", ("pre", "post", "follow"), random="site",
                 therapy_group="therapy_group", ddf="kenward-roger")
    entry = out["measures"]["BDI-II"]
    post, follow = entry["effects"]
    # R: coef(summary(m, ddf = "Kenward-Roger"))
    assert post["se"] == rel(1.2173903995)
    assert post["df"] == rel(69.657388603)
    assert follow["se"] == rel(1.2258539248)
    assert follow["df"] == rel(70.574900830)
    # R: anova(m, ddf = "Kenward-Roger")  (pbkrtest's scaled F)
    tests = by(entry["tests"])
    assert tests["time"]["f"] == rel(117.43618)
    assert tests["time"]["den_df"] == rel(86.979073)
    assert tests["arm"]["f"] == rel(28.58945)
    assert tests["arm"]["den_df"] == rel(68.542844)
    assert tests["time:arm"]["f"] == rel(35.13492)
    assert tests["time:arm"]["den_df"] == rel(87.014063)
    # R: emmeans(m, ~ arm | time, lmer.df = "kenward-roger")
    contrasts = by(entry["contrasts"], "timepoint")
    assert contrasts["post"]["se"] == rel(1.183709002)
    assert contrasts["post"]["df"] == rel(67.08294329)
    assert contrasts["follow"]["df"] == rel(67.95849102)


def test_site_only_with_a_covariate(data_dir):
    out = report(data_dir, "sites3", ("pre", "post", "follow"), random="site",
                 covariates=["gender"])
    entry = out["measures"]["BDI-II"]
    # R: m <- lmer(score ~ time * arm + gender + (1 | site) + (1 | participant_id), d3)
    assert entry["variance"] == {"participant": rel(15.48503856), "site": rel(31.87637947),
                                 "residual": rel(18.47727235)}
    assert entry["effects"][0]["df"] == rel(198.639898882)
    # R: anova(m): the covariate has its own row, before the interaction
    tests = by(entry["tests"])
    assert list(tests) == ["time", "arm", "gender", "time:arm"]
    assert tests["gender"]["f"] == rel(0.16528)
    assert tests["gender"]["den_df"] == rel(105.38384)
    assert tests["arm"]["den_df"] == rel(105.86799)
    assert tests["time"]["den_df"] == rel(199.60153)
    # R: contrast(emmeans(m, ~ arm | time, lmer.df = "satterthwaite"), ...): the covariate
    # cancels in the difference of arms
    assert by(entry["contrasts"], "timepoint")["follow"]["df"] == rel(227.2648648)


# --------------------------------------------------------------------------- a singular fit


def test_singular_fit_reports_a_zero_group_variance_as_r_does(data_dir):
    out = report(data_dir, "singular", therapy_group="therapy_group")
    entry = out["measures"]["BDI-II"]
    # R: m <- lmer(score ~ time * arm + (1 | participant_id) + (0 + grouped_post |
    #    therapy_group), ds)  says "boundary (singular) fit: see help('isSingular')";
    #    isSingular(m) is TRUE; as.data.frame(VarCorr(m))
    assert entry["variance"]["therapy_group"] == 0.0
    assert entry["variance"]["participant"] == rel(16.63016471)
    assert entry["variance"]["residual"] == rel(20.47155494)
    assert "boundary (singular) fit: the therapy_group variance is estimated as 0" in (
        entry["warning"])
    effect = entry["effects"][0]
    # R: coef(summary(m))["time:armUC", ]: the zero variance drops out of Satterthwaite's df
    assert effect["estimate"] == rel(4.23798909904)
    assert effect["se"] == rel(1.708513628)
    assert effect["df"] == rel(55.10824148)
    # R: anova(m)
    assert by(entry["tests"])["time"]["f"] == rel(37.86646)
    # R: emmeans(m, ~ arm | time, at = list(time = c(0, 1)), lmer.df = "satterthwaite")
    assert entry["contrasts"][1]["df"] == rel(97.25435530)


def test_singular_fit_kenward_roger_keeps_the_zero_variance_term(data_dir):
    entry = report(data_dir, "singular", therapy_group="therapy_group",
                   ddf="kenward-roger")["measures"]["BDI-II"]
    effect = entry["effects"][0]
    # R: coef(summary(m, ddf = "Kenward-Roger"))["time:armUC", ]: pbkrtest still counts the
    # group term, so the df fall from 55.1 to 19.4
    assert effect["se"] == rel(1.711639370)
    assert effect["df"] == rel(19.388935018)
    assert by(entry["tests"])["time"]["den_df"] == rel(19.388935)
    assert entry["contrasts"][1]["df"] == rel(17.92655011)


# --------------------------------------------------------------------------- ANCOVA, per protocol


def test_ancova_per_later_timepoint(data_dir):
    out = report(data_dir, "groups", ancova=True)
    assert out["ancova_formula"] == "score[t] ~ score[pre] + arm"
    rows = [e for e in out["measures"]["BDI-II"]["effects"] if e.get("model") == "ancova"]
    assert len(rows) == 1
    row = rows[0]
    assert row["term"] == "arm[UC]@post"
    # R: a <- lm(post ~ pre + arm, w); coef(summary(a))["armUC", ]; confint(a); nobs(a)
    assert row["n"] == 83
    assert row["estimate"] == rel(3.1637092412)
    assert row["se"] == rel(1.4019089100)
    assert row["df"] == 80
    assert row["t"] == rel(2.256715268)
    assert row["p"] == rel(0.0267538325706)
    assert row["ci_low"] == rel(0.3738215994)
    assert row["ci_high"] == rel(5.9535968830)


def test_ancova_with_three_timepoints_and_a_covariate(data_dir):
    out = report(data_dir, "sites3", ("pre", "post", "follow"), ancova=True,
                 covariates=["gender"])
    rows = by(e for e in out["measures"]["BDI-II"]["effects"] if e.get("model") == "ancova")
    # R: lm(post ~ pre + arm + gender, w3); lm(follow ~ pre + arm + gender, w3)
    assert rows["arm[UC]@post"]["estimate"] == rel(4.2654835932)
    assert rows["arm[UC]@post"]["se"] == rel(1.03168620009)
    assert (rows["arm[UC]@post"]["n"], rows["arm[UC]@post"]["df"]) == (100, 96)
    assert rows["arm[UC]@follow"]["estimate"] == rel(10.0231119403)
    assert rows["arm[UC]@follow"]["ci_high"] == rel(12.3792488910)
    assert rows["arm[UC]@follow"]["n"] == 97


def test_per_protocol_population(data_dir):
    out = report(data_dir, "groups", therapy_group="therapy_group", per_protocol=8)
    # R: CFT participants with sessions_attended >= 8 and every UC participant:
    #    length(setdiff(unique(d$participant_id), keep)) is 21
    assert (out["population"], out["excluded"]) == ("per_protocol", 21)
    entry = out["measures"]["BDI-II"]
    assert entry["n_participants"] == 88 - 21
    # R: coef(summary(lmer(score ~ time * arm + (1 | participant_id) + (0 + grouped_post |
    #    therapy_group), d[d$participant_id %in% keep, ])))["time:armUC", ]
    effect = entry["effects"][0]
    assert effect["estimate"] == rel(4.476140320)
    assert effect["se"] == rel(2.273182246)
    assert effect["df"] == rel(8.354362819)
    assert entry["variance"]["therapy_group"] == rel(16.89044987)


# ------------------------------------------------------------------ options that do not fit


@pytest.mark.parametrize(("options", "message"), [
    ({"random": "site", "model": "mmrm"}, "random-intercept model"),
    ({"therapy_group": "therapy_group", "model": "mmrm"}, "random-intercept model"),
    ({"ddf": "kenward-roger", "model": "mmrm"}, "Kenward-Roger"),
    ({"ddf": "containment"}, "unknown df method"),
    ({"random": "clinic"}, "'clinic' column"),
    ({"per_protocol": 4, "participants": None}, "'sessions_attended' column"),
])
def test_options_the_design_does_not_support(data_dir, options, message):
    scores, participants = load(data_dir, "groups")
    options.setdefault("participants", participants)
    with pytest.raises(ValueError, match=message):
        efficacy_report(scores, options.pop("participants"), ["pre", "post"], **options)


def test_single_arm_has_no_random_terms_or_ancova(data_dir):
    scores, participants = load(data_dir, "groups")
    cft = scores[scores["arm"] == "CFT"]
    for options in ({"random": "site"}, {"ancova": True}, {"ddf": "kenward-roger"}):
        with pytest.raises(ValueError):
            efficacy_report(cft, participants, ["pre", "post"], **options)
    single = efficacy_report(cft, participants, ["pre", "post"], covariates=["site"])
    assert single["formula"] == "score ~ time + site + us(time | participant_id)"
    assert "tests" not in single["measures"]["BDI-II"]


# ------------------------------------------------------------------ the papers' model


def test_random_intercept_model_tests_contrasts_and_kenward_roger(cft_scores):
    out = efficacy_report(cft_scores, None, ["pre", "post"], measures=["BDI-II"])
    entry = out["measures"]["BDI-II"]
    assert out["df_method"] == "satterthwaite"
    assert out["formula"] == "score ~ time * arm + (1 | participant_id)"
    # R: m <- lmer(score ~ time * arm + (1 | participant_id), dc); anova(m)
    tests = by(entry["tests"])
    assert tests["time"]["f"] == rel(8.84471)
    assert tests["time"]["den_df"] == rel(14.622340)
    assert tests["arm"]["den_df"] == rel(25.490579)
    assert tests["time:arm"]["p"] == rel(0.1302520)
    # R: contrast(emmeans(m, ~ arm | time, at = list(time = c(0, 1)), lmer.df =
    #    "satterthwaite"), "trt.vs.ctrl", ref = 1, adjust = "none")
    post = entry["contrasts"][1]
    assert post["estimate"] == rel(4.850702455)
    assert post["se"] == rel(4.822555832)
    assert post["df"] == rel(26.97165053)
    kr = efficacy_report(cft_scores, None, ["pre", "post"], measures=["BDI-II"],
                         ddf="kenward-roger")["measures"]["BDI-II"]
    # R: coef(summary(m, ddf = "Kenward-Roger"))["time:armUC", ]
    effect = kr["effects"][0]
    assert effect["se"] == rel(5.139720512)
    assert effect["df"] == rel(14.86664352)
    assert effect["p"] == rel(1.316220515e-01)
    # R: anova(m, ddf = "Kenward-Roger"); emmeans(..., lmer.df = "kenward-roger")
    assert by(kr["tests"])["time"]["f"] == rel(8.75982)
    assert kr["contrasts"][1]["se"] == rel(4.848773734)
    assert kr["contrasts"][1]["df"] == rel(27.05921968)
    # the variance components do not depend on the df method
    assert kr["variance"] == {"participant": rel(40.32028875), "residual": rel(53.23637864)}
