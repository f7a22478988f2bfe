"""The random-intercept REML fit against lme4 + lmerTest.

Reference numbers were printed by R 4.2.2, lme4 1.1-31, lmerTest 3.1-3 (Debian bookworm) with
``options(digits = 10)``; the call is written beside each. The data sets are bundled in
``data/`` (sleepstudy exported with ``write.csv(lme4::sleepstudy)``).
"""

import numpy as np
import pandas as pd
import pytest

from analysis.design import build_design
from analysis.lmm import fit_random_intercept


def rel(x):
    """Agreement to 4 significant digits (and a bit better)."""
    return pytest.approx(x, rel=5e-5)


@pytest.fixture
def sleepstudy(data_dir):
    return pd.read_csv(data_dir / "sleepstudy.csv")


def test_sleepstudy_random_intercept_matches_lmertest(sleepstudy):
    x = np.column_stack([np.ones(len(sleepstudy)), sleepstudy["Days"]])
    fit = fit_random_intercept(
        sleepstudy["Reaction"].to_numpy(), x, sleepstudy["Subject"].to_numpy(),
        ["(Intercept)", "Days"],
    )
    # R: summary(lmer(Reaction ~ Days + (1 | Subject), sleepstudy))
    intercept = fit.coef("(Intercept)")
    days = fit.coef("Days")
    assert intercept["estimate"] == rel(251.4051048485)
    assert intercept["se"] == rel(9.7467162692)
    assert intercept["df"] == rel(22.8101989553)
    assert days["estimate"] == rel(10.4672859596)
    assert days["se"] == rel(0.8042214289)
    assert days["df"] == rel(161.0000000546)
    assert days["t"] == rel(13.01543)
    # R: VarCorr(m): Subject (Intercept) 1378.1785138, Residual 960.4565786
    assert fit.sigma2_participant == rel(1378.1785138)
    assert fit.sigma2 == rel(960.4565786)
    # lmerTest prints df to 2 decimals: 22.81 and 161.00
    assert round(intercept["df"], 2) == 22.81
    assert round(days["df"], 2) == 161.00


def _fit(scores, measure, timepoints, arms, covariates=(), participants=None):
    data = scores[(scores["measure"] == measure) & scores["score"].notna()]
    if covariates:
        data = data.merge(participants, on=["participant_id", "arm"])
    data = data.reset_index(drop=True)
    design = build_design(data, timepoints, arms, covariates)
    return fit_random_intercept(
        data["score"].to_numpy(), design.x, data["participant_id"].to_numpy(), design.names
    )


def test_cft_two_timepoints_with_missing_post(cft_scores):
    fit = _fit(cft_scores, "BDI-II", ["pre", "post"], ["CFT", "UC"])
    # R: d <- subset(read.csv("cft_scores.csv"), measure == "BDI-II")
    #    summary(lmer(score ~ time * arm + (1 | participant_id), d))   (time levels pre, post)
    inter = fit.coef("time[post]:arm[UC]")
    assert inter["estimate"] == rel(8.200702455)
    assert inter["se"] == rel(5.114994133)
    assert inter["df"] == rel(14.62233985)
    assert inter["t"] == rel(1.6032672261)
    assert inter["p"] == rel(1.302520447e-01)
    time = fit.coef("time[post]")
    assert time["estimate"] == rel(-11.706362907)
    assert time["df"] == rel(14.52954877)
    arm = fit.coef("arm[UC]")
    assert arm["se"] == rel(4.588055161)
    assert arm["df"] == rel(25.49057897)
    # R: as.data.frame(VarCorr(m))
    assert fit.sigma2_participant == rel(40.32028875)
    assert fit.sigma2 == rel(53.23637864)


def test_three_timepoints(cft3_scores):
    fit = _fit(cft3_scores, "BDI-II", ["pre", "post", "follow"], ["CFT", "UC"])
    # R: summary(lmer(score ~ time * arm + (1 | participant_id), d)),
    #    d <- read.csv("cft3_scores.csv"), time levels pre, post, follow
    post = fit.coef("time[post]:arm[UC]")
    follow = fit.coef("time[follow]:arm[UC]")
    assert post["estimate"] == rel(-1.048703412)
    assert post["se"] == rel(2.823651845)
    assert post["df"] == rel(75.07525353)
    assert follow["estimate"] == rel(6.510219649)
    assert follow["se"] == rel(2.842723198)
    assert follow["df"] == rel(75.38324567)
    assert follow["p"] == rel(2.481164619e-02)
    assert fit.coef("time[follow]")["df"] == rel(76.89903320)
    assert fit.sigma2_participant == rel(21.59032257)
    assert fit.sigma2 == rel(41.20311794)


def test_participant_level_covariate(cft_scores, cft_participants):
    fit = _fit(cft_scores, "SCS-SF", ["pre", "post"], ["CFT", "UC"], ("gender",),
               cft_participants[["participant_id", "arm", "gender"]])
    # R: d <- merge(d, p[, c("participant_id", "gender")])
    #    summary(lmer(score ~ time * arm + gender + (1 | participant_id), d))
    assert fit.coef("gender[male]")["estimate"] == rel(0.3778949989)
    assert fit.coef("gender[male]")["df"] == rel(13.75410232)
    inter = fit.coef("time[post]:arm[UC]")
    assert inter["estimate"] == rel(-1.3249198877)
    assert inter["df"] == rel(13.01035286)
    assert fit.sigma2_participant == rel(5.744527698)


def test_boundary_fit_gives_zero_participant_variance_and_residual_df():
    # Within-participant scores vary more than participants do: REML puts sigma_b^2 at 0,
    # where the model is ordinary least squares and lmerTest's df are N - p.
    rng = np.random.default_rng(7)
    groups = np.repeat(np.arange(30), 2)
    y = rng.normal(size=60)
    y[::2] += 3 * (groups[::2] % 2)  # an offset unrelated to participants' pairs
    y[1::2] -= 3 * (groups[1::2] % 2)
    x = np.column_stack([np.ones(60), np.tile([0.0, 1.0], 30)])
    fit = fit_random_intercept(y, x, groups, ["(Intercept)", "time"])
    assert fit.sigma2_participant == 0
    ols_beta, res, *_ = np.linalg.lstsq(x, y, rcond=None)
    assert fit.coef("time")["estimate"] == rel(ols_beta[1])
    # R: summary(lmer(y ~ time + (1 | g), d)) -> boundary (singular) fit, time df = 58,
    #    estimate -2.822793935, SE 0.4583206400 (d written from this generator)
    assert fit.coef("time")["df"] == pytest.approx(58, rel=1e-6)
    assert fit.coef("time")["estimate"] == rel(-2.822793935)
    assert fit.coef("time")["se"] == rel(0.4583206400)


def test_flat_likelihood_reaches_the_reml_optimum_lme4_reaches_with_tight_tolerances(data_dir):
    # Near the boundary the REML criterion is flat: lme4 with default tolerances stops at
    # participant variance 0.69981273 (df 50.40616676); with tight tolerances it reaches the
    # optimum computed here.
    scores = pd.read_csv(data_dir / "flat_reml.csv")
    fit = _fit(scores, "m", ["pre", "post"], ["A", "b"])
    # R: m <- lmer(score ~ time * arm + (1 | participant_id), d, control = lmerControl(
    #        optCtrl = list(ftol_abs = 1e-15, xtol_abs = 1e-15, ftol_rel = 1e-15,
    #                       xtol_rel = 1e-15)))
    #    as.data.frame(VarCorr(m))$vcov: 0.6994399346 72.0760490869
    #    coef(summary(m))["timepost:armb", ]: -1.0598180692 3.7981605123 50.3998044354
    assert fit.sigma2_participant == pytest.approx(0.6994399346, rel=1e-5)
    assert fit.sigma2 == rel(72.0760490869)
    inter = fit.coef("time[post]:arm[b]")
    assert inter["estimate"] == rel(-1.0598180692)
    assert inter["se"] == rel(3.7981605123)
    assert inter["df"] == rel(50.3998044354)


def test_numeric_covariate_makes_every_participant_distinct(cft3_scores, cft3_participants):
    fit = _fit(cft3_scores, "BDI-II", ["pre", "post", "follow"], ["CFT", "UC"], ("age",),
               cft3_participants[["participant_id", "arm", "age"]])
    # R: d <- merge(subset(read.csv("cft3_scores.csv"), measure == "BDI-II"), p[, c(
    #        "participant_id", "age")]); summary(lmer(score ~ time * arm + age +
    #        (1 | participant_id), d))
    assert fit.coef("age")["estimate"] == rel(0.08800622084)
    assert fit.coef("age")["se"] == rel(0.0695342624)
    assert fit.coef("age")["df"] == rel(40.55493455)
    inter = fit.coef("time[follow]:arm[UC]")
    assert inter["estimate"] == rel(6.47034094752)
    assert inter["df"] == rel(75.51449907)
    # R: as.data.frame(VarCorr(m))$vcov
    assert fit.sigma2_participant == rel(21.18036461)
    assert fit.sigma2 == rel(41.15469764)
