"""Random-intercept linear mixed model fitted by REML, with Satterthwaite degrees of freedom.

The model is ``y = X beta + b[participant] + e`` with ``b ~ N(0, sigma_b^2)`` and
``e ~ N(0, sigma^2)``, i.e. R's ``lmer(y ~ X + (1 | participant), REML = TRUE)``.

Why written by hand: with one random intercept the marginal covariance of a participant's
``n_i`` observations is ``sigma^2 (I + gamma J)`` with ``gamma = sigma_b^2 / sigma^2``, whose
inverse and determinant have closed forms. Every quantity the REML criterion needs therefore
reduces to per-participant sums (of the design rows, of the outcome), so one evaluation costs
``O(G p^2)`` for ``G`` participants and ``p`` fixed effects, and the criterion profiled over
``sigma`` is a smooth function of the single ratio ``gamma``. The Satterthwaite degrees of
freedom follow lmerTest exactly: the variance parameters are ``(theta, sigma)`` with
``theta = sigma_b / sigma`` (lme4's relative Cholesky factor), their asymptotic covariance is
``2 H^{-1}`` with ``H`` the Hessian of the REML deviance, and the gradient of a contrast's
variance is taken with respect to the same parameters. Here both are analytic instead of
numerical.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, stats

__all__ = ["RandomInterceptFit", "fit_random_intercept"]


@dataclass(frozen=True)
class _Sums:
    """Per-participant sums that the REML criterion depends on, pooled over participants
    who share them.

    Participants with the same number of observations and the same column sums of ``X`` (the
    same arm and the same timepoints attended, when covariates are categorical) contribute
    identically apart from their outcome sums, so they are stored once with a count ``c``,
    the total ``t`` and the total of squares ``q`` of their outcome sums.
    """

    n: np.ndarray  # observations per participant, shape (K,)
    s: np.ndarray  # column sums of X per participant, shape (K, p)
    c: np.ndarray  # participants sharing (n, s), shape (K,)
    t: np.ndarray  # sum over those participants of their sum of y, shape (K,)
    q: np.ndarray  # sum over those participants of (their sum of y)^2, shape (K,)
    xtx: np.ndarray
    xty: np.ndarray
    yty: float
    n_obs: int
    n_groups: int
    p: int


@dataclass(frozen=True)
class _Terms:
    """The REML building blocks at one value of gamma, with first and second derivatives."""

    a: np.ndarray  # X' V^-1 X * sigma^2
    a_inv: np.ndarray
    beta: np.ndarray
    rss: float  # r' V^-1 r * sigma^2 at the GLS estimate
    f: float  # sum log(1 + n gamma) + log|A|
    rss_g: float
    rss_gg: float
    f_g: float
    f_gg: float
    a_g: np.ndarray  # dA/dgamma


def _row_kinds(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Label identical rows (exact, hash-based) and give the first row of each label."""
    kind = np.zeros(len(rows), dtype=np.int64)
    for column in rows.T:
        codes, uniques = pd.factorize(column)
        # Re-factorising the combined key keeps it below the number of rows: exact, no overflow.
        kind = pd.factorize(kind * len(uniques) + codes)[0]
    first = np.full(kind.max() + 1, -1)
    first[kind[::-1]] = np.arange(len(kind))[::-1]
    return kind, first


def _sums(y: np.ndarray, x: np.ndarray, groups: np.ndarray) -> _Sums:
    inverse, codes = pd.factorize(groups)
    g = len(codes)
    n = np.bincount(inverse, minlength=g).astype(float)
    s = np.column_stack([np.bincount(inverse, weights=col, minlength=g) for col in x.T])
    t = np.bincount(inverse, weights=y, minlength=g)
    kind, first = _row_kinds(np.column_stack([n, s]))
    k = len(first)
    return _Sums(
        n=n[first],
        s=s[first],
        c=np.bincount(kind, minlength=k).astype(float),
        t=np.bincount(kind, weights=t, minlength=k),
        q=np.bincount(kind, weights=t**2, minlength=k),
        xtx=x.T @ x,
        xty=x.T @ y,
        yty=float(y @ y),
        n_obs=y.size,
        n_groups=g,
        p=x.shape[1],
    )


def _terms(gamma: float, su: _Sums, derivatives: bool = True) -> _Terms:
    one = 1.0 + su.n * gamma
    w = gamma / one  # V_i^-1 = (I - w_i J) / sigma^2
    cs = su.s * su.c[:, None]
    a = su.xtx - su.s.T @ (cs * w[:, None])
    b = su.xty - su.s.T @ (w * su.t)
    a_inv = np.linalg.inv(a)
    beta = a_inv @ b
    rss = su.yty - float(w @ su.q) - float(b @ beta)
    sign, logdet = np.linalg.slogdet(a)
    f = float(su.c @ np.log(one)) + logdet
    if not derivatives:
        return _Terms(a, a_inv, beta, rss, f, *(np.nan,) * 4, np.empty(0))
    w_g = 1.0 / one**2
    w_gg = -2.0 * su.n / one**3
    a_g = -su.s.T @ (cs * w_g[:, None])
    a_gg = -su.s.T @ (cs * w_gg[:, None])
    b_g = -su.s.T @ (w_g * su.t)
    b_gg = -su.s.T @ (w_gg * su.t)
    beta_g = a_inv @ (b_g - a_g @ beta)
    q_g = 2 * b_g @ beta - beta @ a_g @ beta  # d(b' A^-1 b)/dgamma
    q_gg = 2 * b_gg @ beta + 2 * b_g @ beta_g - 2 * beta @ a_g @ beta_g - beta @ a_gg @ beta
    rss_g = -float(w_g @ su.q) - q_g
    rss_gg = -float(w_gg @ su.q) - q_gg
    ai_ag = a_inv @ a_g
    f_g = float(su.c @ (su.n / one)) + np.trace(ai_ag)
    f_gg = (-float(su.c @ (su.n**2 / one**2)) + np.trace(a_inv @ a_gg)
            - np.trace(ai_ag @ ai_ag))
    return _Terms(a, a_inv, beta, rss, f, rss_g, rss_gg, f_g, f_gg, a_g)


def _profile_slope(gamma: float, su: _Sums) -> float:
    """d/dgamma of the REML deviance profiled over sigma."""
    tm = _terms(gamma, su)
    return (su.n_obs - su.p) * tm.rss_g / tm.rss + tm.f_g


def _profile_deviance(gamma: float, su: _Sums) -> float:
    tm = _terms(gamma, su, derivatives=False)
    m = su.n_obs - su.p
    return m * np.log(tm.rss / m) + tm.f


def _optimise_gamma(su: _Sums) -> float:
    """Find the REML variance ratio: the root of the profiled slope, or 0 on the boundary."""
    if _profile_slope(0.0, su) >= 0:
        return 0.0
    hi = 1.0
    while _profile_slope(hi, su) < 0:
        hi *= 4.0
        if hi > 1e12:
            return hi
    lo = hi / 4.0 if hi > 1.0 else 0.0
    root = optimize.brentq(_profile_slope, lo, hi, args=(su,), xtol=1e-14, rtol=1e-13)
    # A single variance ratio rarely gives several stationary points; guard against it anyway.
    if _profile_deviance(root, su) > _profile_deviance(0.0, su):
        return 0.0
    return float(root)


@dataclass(frozen=True)
class RandomInterceptFit:
    """A fitted random-intercept model.

    Attributes
    ----------
    names : list of str
        Fixed-effect names, in the columns' order.
    beta : ndarray
        REML (GLS) estimates of the fixed effects.
    vcov : ndarray
        Their covariance matrix, ``sigma^2 A^-1``.
    sigma2, sigma2_participant : float
        Residual and random-intercept variances.
    n_obs, n_groups : int
    varpar_cov : ndarray
        Asymptotic covariance of ``(theta, sigma)`` (lmerTest's ``vcov_varpar``).
    """

    names: list[str]
    beta: np.ndarray
    vcov: np.ndarray
    sigma2: float
    sigma2_participant: float
    n_obs: int
    n_groups: int
    varpar_cov: np.ndarray
    _vcov_grad: tuple[np.ndarray, np.ndarray]

    def contrast(self, weights: np.ndarray) -> dict[str, float]:
        """Estimate, SE, Satterthwaite df, t and p for the contrast ``weights @ beta``.

        Parameters
        ----------
        weights : array_like
            Contrast vector of length ``len(beta)``.

        Returns
        -------
        dict
            ``estimate, se, df, t, p`` (two-sided).

        References
        ----------
        Kuznetsova, A., Brockhoff, P. B., & Christensen, R. H. B. (2017). lmerTest package:
        tests in linear mixed effects models. Journal of Statistical Software, 82(13).
        """
        l_ = np.asarray(weights, dtype=float)
        var = float(l_ @ self.vcov @ l_)
        grad = np.array([float(l_ @ d @ l_) for d in self._vcov_grad])
        denom = float(grad @ self.varpar_cov @ grad)
        df = 2 * var**2 / denom if denom > 0 else np.inf
        est = float(l_ @ self.beta)
        se = np.sqrt(var)
        t = est / se
        p = 2 * stats.t.sf(abs(t), df)
        return {"estimate": est, "se": se, "df": df, "t": t, "p": float(p)}

    def coef(self, name: str) -> dict[str, float]:
        """The contrast picking out one fixed effect by name."""
        l_ = np.zeros(len(self.names))
        l_[self.names.index(name)] = 1.0
        return self.contrast(l_)

    def f_test(self, contrast: np.ndarray) -> dict[str, float]:
        """F test of ``L beta = 0`` with Satterthwaite denominator df (lmerTest's
        ``contestMD``, as its ``anova()`` uses it)."""
        from analysis.inference import satterthwaite_f

        return satterthwaite_f(contrast, self.beta, self.vcov, list(self._vcov_grad),
                               self.varpar_cov)


def fit_random_intercept(
    y: np.ndarray, x: np.ndarray, groups: np.ndarray, names: list[str] | None = None
) -> RandomInterceptFit:
    """Fit ``y ~ X + (1 | group)`` by REML.

    Parameters
    ----------
    y : ndarray, shape (N,)
        Outcome, no missing values.
    x : ndarray, shape (N, p)
        Full-rank fixed-effects design matrix (intercept included).
    groups : array_like, shape (N,)
        Participant of each row.
    names : list of str, optional
        Column names of ``x``.

    Returns
    -------
    RandomInterceptFit

    Notes
    -----
    The REML deviance is ``(N - p) log sigma^2 + sum_i log(1 + n_i gamma) + log|A| + RSS /
    sigma^2`` with ``A = sigma^2 X' V^-1 X`` and ``RSS = sigma^2 r' V^-1 r``; it is profiled over
    ``sigma^2 = RSS / (N - p)`` and minimised over ``gamma = theta^2`` by finding the root of
    its analytic derivative. When ``gamma`` lies on the boundary (0) the fit is singular, as
    lme4 reports it.

    Examples
    --------
    lme4's sleepstudy (R: ``summary(lmer(Reaction ~ Days + (1 | Subject), sleepstudy))``:
    Days 10.4672860, SE 0.8042214, 161.0 df; ``VarCorr``: 1378.179 and 960.457):

    >>> from pathlib import Path
    >>> import pandas as pd
    >>> folder = Path(__file__).parents[1] / "tests" / "analysis" / "data"
    >>> s = pd.read_csv(folder / "sleepstudy.csv")
    >>> x = np.column_stack([np.ones(len(s)), s["Days"]])
    >>> fit = fit_random_intercept(s["Reaction"], x, s["Subject"], ["(Intercept)", "Days"])
    >>> days = fit.coef("Days")
    >>> round(days["estimate"], 7), round(float(days["se"]), 7), round(days["df"], 1)
    (10.467286, 0.8042214, 161.0)
    >>> round(fit.sigma2_participant, 3), round(fit.sigma2, 3)
    (1378.179, 960.457)

    References
    ----------
    Bates, D., Mächler, M., Bolker, B., & Walker, S. (2015). Fitting linear mixed-effects
    models using lme4. Journal of Statistical Software, 67(1).
    """
    y = np.asarray(y, dtype=float)
    x = np.asarray(x, dtype=float)
    su = _sums(y, x, np.asarray(groups))
    gamma = _optimise_gamma(su)
    tm = _terms(gamma, su)
    m = su.n_obs - su.p
    s2 = tm.rss / m
    sigma = np.sqrt(s2)
    theta = np.sqrt(gamma)

    # Hessian of the (unprofiled) REML deviance in lmerTest's (theta, sigma) parameters.
    # D = m log sigma^2 + f(gamma) + RSS(gamma) / sigma^2, gamma = theta^2.
    d_g = tm.f_g + tm.rss_g / s2
    d_gg = tm.f_gg + tm.rss_gg / s2
    h_tt = 4 * gamma * d_gg + 2 * d_g
    h_ts = -2 * (2 * theta * tm.rss_g) / sigma**3
    h_ss = -2 * m / s2 + 6 * tm.rss / s2**2
    hess = np.array([[h_tt, h_ts], [h_ts, h_ss]])
    try:
        varpar_cov = 2 * np.linalg.inv(hess)
    except np.linalg.LinAlgError:
        varpar_cov = np.full((2, 2), np.nan)

    vcov = s2 * tm.a_inv
    d_theta = -s2 * tm.a_inv @ (2 * theta * tm.a_g) @ tm.a_inv
    d_sigma = 2 * sigma * tm.a_inv
    return RandomInterceptFit(
        names=list(names) if names is not None else [f"x{i}" for i in range(su.p)],
        beta=tm.beta,
        vcov=vcov,
        sigma2=s2,
        sigma2_participant=gamma * s2,
        n_obs=su.n_obs,
        n_groups=su.n_groups,
        varpar_cov=varpar_cov,
        _vcov_grad=(d_theta, d_sigma),
    )
