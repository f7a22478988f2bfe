"""Linear model with an unstructured covariance across timepoints (MMRM), REML, Satterthwaite df.

The model is ``y_i = X_i beta + e_i`` with ``e_i ~ N(0, Sigma[o_i, o_i])``: each participant's
observations at the timepoints ``o_i`` they attended share one unrestricted ``T x T`` covariance
``Sigma``. This is R's ``mmrm(y ~ X + us(time | participant), reml = TRUE)`` and
``nlme::gls(y ~ X, correlation = corSymm(), weights = varIdent(~ 1 | time))``, and SAS PROC
MIXED's ``repeated / type = un``.

Why it is fast: participants who attended the same set of timepoints share the inverse of
their covariance block, and the REML criterion is linear in that inverse. Cross-product tensors
are summed once per missingness pattern, after which an evaluation of the criterion costs
nothing that grows with the number of participants.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, stats

from analysis.notes import note

__all__ = ["UnstructuredFit", "fit_unstructured"]


@dataclass(frozen=True)
class _Pattern:
    idx: np.ndarray  # timepoints observed
    m: int  # participants with this pattern
    xx: np.ndarray  # (k, k, p, p)
    xy: np.ndarray  # (k, k, p)
    yy: np.ndarray  # (k, k)


def _patterns(y, x, groups, time_index, n_times) -> list[_Pattern]:
    g, _ = pd.factorize(groups)
    order = np.lexsort((time_index, g))
    g, t, y, x = g[order], time_index[order], y[order], x[order]
    n_groups = g.max() + 1
    p = x.shape[1]
    observed = np.zeros((n_groups, n_times), dtype=bool)
    observed[g, t] = True
    y_full = np.zeros((n_groups, n_times))
    x_full = np.zeros((n_groups, n_times, p))
    y_full[g, t] = y
    x_full[g, t] = x
    keys = observed @ (1 << np.arange(n_times))
    out = []
    for key in np.unique(keys):
        rows = keys == key
        idx = np.flatnonzero(observed[np.argmax(rows)])
        xs = x_full[rows][:, idx]
        ys = y_full[rows][:, idx]
        out.append(
            _Pattern(
                idx=idx,
                m=int(rows.sum()),
                xx=np.einsum("map,mbq->abpq", xs, xs),
                xy=np.einsum("map,mb->abp", xs, ys),
                yy=ys.T @ ys,
            )
        )
    return out


def _low(par: np.ndarray, n_times: int) -> np.ndarray:
    """The Cholesky factor of ``Sigma``: log diagonal first, then the lower triangle."""
    low = np.zeros((n_times, n_times))
    low[np.diag_indices(n_times)] = np.exp(par[:n_times])
    low[np.tril_indices(n_times, -1)] = par[n_times:]
    return low


def _sigma(par: np.ndarray, n_times: int) -> np.ndarray:
    """Covariance from its Cholesky factor (see :func:`_low`)."""
    low = _low(par, n_times)
    return low @ low.T


class _Criterion:
    def __init__(self, patterns: list[_Pattern], n_obs: int, p: int, n_times: int):
        self.patterns, self.n_obs, self.p, self.n_times = patterns, n_obs, p, n_times

    def gls(self, sigma: np.ndarray):
        p = self.p
        a = np.zeros((p, p))
        b = np.zeros(p)
        yvy = 0.0
        logdet_v = 0.0
        for pat in self.patterns:
            block = sigma[np.ix_(pat.idx, pat.idx)]
            sign, ld = np.linalg.slogdet(block)
            if not (sign > 0 and np.isfinite(ld)):
                return None
            try:
                inv = np.linalg.inv(block)
            except np.linalg.LinAlgError:
                return None
            a += np.einsum("ab,abpq->pq", inv, pat.xx)
            b += np.einsum("ab,abp->p", inv, pat.xy)
            yvy += float((inv * pat.yy).sum())
            logdet_v += pat.m * ld
        return a, b, yvy, logdet_v

    def deviance(self, par: np.ndarray) -> float:
        """REML deviance (-2 log restricted likelihood, without the 2 pi constant)."""
        parts = self.gls(_sigma(par, self.n_times))
        if parts is None:
            return np.inf
        a, b, yvy, logdet_v = parts
        sign, ld_a = np.linalg.slogdet(a)
        if not (sign > 0 and np.isfinite(ld_a)):
            return np.inf
        try:
            value = logdet_v + ld_a + yvy - float(b @ np.linalg.solve(a, b))
        except np.linalg.LinAlgError:
            return np.inf
        return value if np.isfinite(value) else np.inf

    def gradient(self, par: np.ndarray) -> np.ndarray:
        """Analytic gradient of :meth:`deviance` with respect to the Cholesky parameters.

        ``dD = tr(G dSigma)`` with ``G = sum_i E_i' (M_i - M_i X_i C X_i' M_i - u_i u_i') E_i``,
        ``M_i`` the inverse of participant i's covariance block, ``C = (X'V^-1 X)^-1`` and
        ``u_i = M_i r_i`` the GLS residuals scaled by ``M_i``; all sums run per pattern.
        """
        n = self.n_times
        # The factor comes from the parameters: re-factorising Sigma = L L' fails once Sigma
        # is numerically singular, which the optimiser may well probe on degenerate data.
        low = _low(par, n)
        sigma = low @ low.T
        parts = self.gls(sigma)
        if parts is None:
            return np.full(par.size, np.nan)
        a, b, *_ = parts
        try:
            c = np.linalg.inv(a)
        except np.linalg.LinAlgError:
            return np.full(par.size, np.nan)
        beta = c @ b
        g = np.zeros((n, n))
        for pat in self.patterns:
            m = np.linalg.inv(sigma[np.ix_(pat.idx, pat.idx)])
            xcx = np.einsum("abpq,pq->ab", pat.xx, c)
            xb = pat.xy @ beta  # [a, b] = sum_i (x_ia beta) y_ib
            rr = pat.yy - xb - xb.T + np.einsum("abpq,p,q->ab", pat.xx, beta, beta)
            g[np.ix_(pat.idx, pat.idx)] += pat.m * m - m @ (xcx + rr) @ m
        d_low = 2 * g @ low  # dD/dL for Sigma = L L' (G symmetric)
        grad_diag = np.diag(d_low) * np.diag(low)  # log-diagonal parameters
        return np.concatenate([grad_diag, d_low[np.tril_indices(n, -1)]])

    def vcov(self, par: np.ndarray) -> np.ndarray:
        a, *_ = self.gls(_sigma(par, self.n_times))
        return np.linalg.inv(a)


def _jacobian(fun, x0: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Central-difference Jacobian of a vector function (the Hessian from a gradient)."""
    eye = np.eye(x0.size) * h
    cols = [(fun(x0 + e) - fun(x0 - e)) / (2 * h) for e in eye]
    jac = np.column_stack(cols)
    return (jac + jac.T) / 2


def _gradient(fun, x0: np.ndarray, h: float = 1e-5) -> np.ndarray:
    eye = np.eye(x0.size) * h
    return np.array([(fun(x0 + e) - fun(x0 - e)) / (2 * h) for e in eye])


@dataclass(frozen=True)
class UnstructuredFit:
    """A fitted unstructured-covariance model.

    Attributes
    ----------
    names : list of str
    beta, vcov : ndarray
        GLS estimates of the fixed effects and their covariance at the REML ``Sigma``.
    sigma : ndarray
        The estimated ``T x T`` covariance across timepoints.
    n_obs, n_groups : int
    converged : bool
        The REML criterion reached a proper interior optimum (zero gradient, positive
        definite Hessian). When False, ``warning`` says why and no estimate should be reported.
    warning : str or None
    """

    names: list[str]
    beta: np.ndarray
    vcov: np.ndarray
    sigma: np.ndarray
    n_obs: int
    n_groups: int
    converged: bool
    warning: str | None
    _par: np.ndarray
    _par_cov: np.ndarray
    _criterion: _Criterion

    def contrast(self, weights: np.ndarray) -> dict[str, float]:
        """Estimate, SE, Satterthwaite df, t and p for ``weights @ beta``.

        References
        ----------
        Satterthwaite, F. E. (1946). An approximate distribution of estimates of variance
        components. Biometrics Bulletin, 2(6), 110-114.
        Christensen, R. H. B. (2018). Satterthwaite's method for degrees of freedom in linear
        mixed models (the mmrm package's vignette follows the same construction).
        """
        l_ = np.asarray(weights, dtype=float)
        var = float(l_ @ self.vcov @ l_)
        # The df are a ratio of variances, computed on the standardised scale the criterion
        # works in (so they cannot depend on the units of the scores).
        var_std = float(l_ @ self._criterion.vcov(self._par) @ l_)
        grad = _gradient(lambda q: float(l_ @ self._criterion.vcov(q) @ l_), self._par)
        denom = float(grad @ self._par_cov @ grad)
        df = 2 * var_std**2 / denom if denom > 0 else np.inf
        est = float(l_ @ self.beta)
        se = np.sqrt(var)
        t = est / se
        return {"estimate": est, "se": se, "df": df, "t": t, "p": float(2 * stats.t.sf(abs(t), df))}

    def coef(self, name: str) -> dict[str, float]:
        """The contrast picking out one fixed effect by name."""
        l_ = np.zeros(len(self.names))
        l_[self.names.index(name)] = 1.0
        return self.contrast(l_)


# Bounds on the log-diagonal of the Cholesky factor (standardised scores, so unit-free): a
# conditional SD below e^-10 (about 5e-5 of the scores' SD) means the data pin one timepoint
# down exactly from the others, i.e. the REML criterion has no interior optimum.
_LOG_SD_BOUNDS = (-10.0, 10.0)
_GRAD_TOL = 1e-4  # largest |gradient| of the REML deviance accepted as an optimum


def _start(y, x, groups, time_index, n_times) -> np.ndarray:
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ beta
    var = np.array([resid[time_index == t].var() if (time_index == t).sum() > 1 else 1.0
                    for t in range(n_times)])
    var = np.where(var > 1e-8, var, max(float(resid.var()), 1e-8))
    start = 0.5 * np.log(var)
    start = np.clip(start, _LOG_SD_BOUNDS[0] + 1, _LOG_SD_BOUNDS[1] - 1)
    return np.concatenate([start, np.zeros(n_times * (n_times - 1) // 2)])


def _standardise(y: np.ndarray, x: np.ndarray) -> tuple[float, float, np.ndarray]:
    """Centre and scale of the scores, and ``gamma`` with ``x @ gamma == 1`` (or zeros).

    The model is fitted to ``(y - centre) / scale``; with an intercept in the span of ``x``
    the estimates map back exactly (``beta = scale * beta_std + centre * gamma``), so the fit
    is invariant to the location and units of the scores, and the optimiser's tolerances and
    the finite-difference steps mean the same thing on every scale.
    """
    ones = np.ones(y.size)
    gamma, *_ = np.linalg.lstsq(x, ones, rcond=None)
    if np.max(np.abs(x @ gamma - ones)) < 1e-8:
        centre = float(np.mean(y))
    else:
        gamma, centre = np.zeros(x.shape[1]), 0.0
    scale = float(np.std(y - centre))
    if not (np.isfinite(scale) and scale > 0):
        scale = 1.0
    return centre, scale, gamma


def _failed(names, x, y, groups, n_times, crit, par, warning) -> UnstructuredFit:
    p = x.shape[1]
    return UnstructuredFit(
        names=names,
        beta=np.full(p, np.nan),
        vcov=np.full((p, p), np.nan),
        sigma=np.full((n_times, n_times), np.nan),
        n_obs=y.size,
        n_groups=int(pd.unique(groups).size),
        converged=False,
        warning=warning,
        _par=par,
        _par_cov=np.full((par.size, par.size), np.nan),
        _criterion=crit,
    )


def fit_unstructured(
    y: np.ndarray,
    x: np.ndarray,
    groups: np.ndarray,
    time_index: np.ndarray,
    n_times: int,
    names: list[str] | None = None,
) -> UnstructuredFit:
    """Fit a linear model with unstructured covariance across timepoints by REML.

    Parameters
    ----------
    y : ndarray, shape (N,)
    x : ndarray, shape (N, p)
        Full-rank design matrix.
    groups : array_like, shape (N,)
        Participant of each row; at most one row per participant and timepoint.
    time_index : ndarray of int, shape (N,)
        Timepoint of each row, ``0 .. n_times - 1``.
    n_times : int
    names : list of str, optional

    Returns
    -------
    UnstructuredFit
        Never raises on data that cannot be fitted: ``converged`` is False and ``warning``
        says why (for instance a REML criterion that keeps falling as ``Sigma`` becomes
        singular, which happens when too few participants attended several timepoints to
        estimate a ``T x T`` covariance beyond the cell means; R's ``gls`` then stops with
        "false convergence").

    Notes
    -----
    The scores are standardised first (see :func:`_standardise`). ``Sigma`` is parametrised
    by its Cholesky factor (log diagonal, free lower triangle), as mmrm does, and the REML
    deviance is minimised with its analytic gradient (L-BFGS-B, the log diagonal bounded so
    that no trial step leaves the positive definite matrices numerically), then polished by
    Newton steps. Satterthwaite df use the numerical gradient of the contrast variance and
    ``2 H^-1`` with ``H`` the Hessian of the REML deviance (differences of the analytic
    gradient); at the optimum the result does not depend on the parametrisation.

    Examples
    --------
    The ``cft3`` test data's BDI-II over three timepoints (R: ``summary(gls(score ~ time *
    arm, d, correlation = corSymm(form = ~ t | participant_id), weights = varIdent(form =
    ~ 1 | time), method = "REML"))$tTable``: follow x UC 6.308800, SE 2.967187):

    >>> from pathlib import Path
    >>> import pandas as pd
    >>> from analysis.design import build_design
    >>> folder = Path(__file__).parents[1] / "tests" / "analysis" / "data"
    >>> d = pd.read_csv(folder / "cft3_scores.csv").query("measure == 'BDI-II'").dropna()
    >>> tps = ["pre", "post", "follow"]
    >>> design = build_design(d, tps, ["CFT", "UC"])
    >>> fit = fit_unstructured(d["score"], design.x, d["participant_id"],
    ...                        d["timepoint"].map(tps.index), 3, design.names)
    >>> row = fit.coef("time[follow]:arm[UC]")
    >>> round(row["estimate"], 4), round(float(row["se"]), 5)
    (6.3088, 2.96719)

    References
    ----------
    Mallinckrodt, C. H., et al. (2008). Recommendations for the primary analysis of continuous
    endpoints in longitudinal clinical trials. Drug Information Journal, 42, 303-319.
    Sabanes Bove, D., et al. (2024). mmrm: Mixed Models for Repeated Measures. R package.
    """
    y = np.asarray(y, dtype=float)
    x = np.asarray(x, dtype=float)
    time_index = np.asarray(time_index, dtype=int)
    groups = np.asarray(groups)
    names = list(names) if names is not None else [f"x{i}" for i in range(x.shape[1])]
    centre, scale, gamma = _standardise(y, x)
    y_std = (y - centre) / scale
    crit = _Criterion(
        _patterns(y_std, x, groups, time_index, n_times), y.size, x.shape[1], n_times
    )
    start = _start(y_std, x, groups, time_index, n_times)
    n_off = n_times * (n_times - 1) // 2
    bounds = [_LOG_SD_BOUNDS] * n_times + [(None, None)] * n_off
    lower = _LOG_SD_BOUNDS[0]

    def fail(par, why):
        # A run that stalls with one timepoint (almost) a linear function of the others is
        # the degenerate case: the criterion falls without bound towards a singular Sigma.
        low = _low(par, n_times)
        with np.errstate(all="ignore"):
            ratio = np.diag(low) ** 2 / np.sum(low**2, axis=1)
        if not np.all(ratio > 1e-4):
            why = singular
        return _failed(names, x, y, groups, n_times, crit, par, why)

    singular = note("unstructured_singular")
    if not np.isfinite(crit.deviance(start)):
        return fail(start, note("unstructured_not_evaluable"))
    # L-BFGS-B can stop on a stalled line search far from the optimum; restarting it (fresh
    # curvature memory) from where it stopped continues while the deviance still improves.
    par, value = start, crit.deviance(start)
    for _ in range(6):
        with np.errstate(all="ignore"):
            res = optimize.minimize(
                crit.deviance, par, jac=crit.gradient, method="L-BFGS-B", bounds=bounds,
                options={"maxiter": 100, "ftol": 1e-14, "gtol": 1e-8},
            )
        if not res.fun < value:
            break
        improvement = value - res.fun
        par, value = res.x, res.fun
        if np.max(np.abs(crit.gradient(par))) < _GRAD_TOL or improvement < 1e-10:
            break
    if not np.isfinite(crit.deviance(par)):
        return fail(par, note("unstructured_not_converged"))
    # Newton polish on the analytic gradient: quasi-Newton methods stop short of full precision.
    for _ in range(8):
        if np.any(par[:n_times] <= lower + 1e-6):
            break
        try:
            hess = _jacobian(crit.gradient, par)
            step = np.linalg.solve(hess, crit.gradient(par))
        except np.linalg.LinAlgError:
            break
        if not np.all(np.isfinite(step)):
            break
        trial = par - step
        if np.any(trial[:n_times] < lower) or not crit.deviance(trial) <= crit.deviance(par) + 1e-9:
            break
        par = trial
        if np.max(np.abs(step)) < 1e-9:
            break
    if np.any(par[:n_times] <= lower + 1e-3):
        return fail(par, singular)
    grad = crit.gradient(par)
    hess = _jacobian(crit.gradient, par)
    if not (np.all(np.isfinite(grad)) and np.all(np.isfinite(hess))):
        return fail(par, note("unstructured_not_converged"))
    try:
        eig = np.linalg.eigvalsh(hess)
        par_cov = 2 * np.linalg.inv(hess)
    except np.linalg.LinAlgError:
        return fail(par, note("unstructured_singular_hessian"))
    if np.max(np.abs(grad)) > _GRAD_TOL or not np.all(eig > 0):
        return fail(par, note("unstructured_not_converged"))
    parts = crit.gls(_sigma(par, n_times))
    if parts is None:
        return fail(par, note("unstructured_not_converged"))
    a, b, *_ = parts
    try:
        vcov_std = np.linalg.inv(a)
    except np.linalg.LinAlgError:
        return fail(par, note("fixed_not_estimable"))
    return UnstructuredFit(
        names=names,
        beta=scale * (vcov_std @ b) + centre * gamma,
        vcov=scale**2 * vcov_std,
        sigma=scale**2 * _sigma(par, n_times),
        n_obs=y.size,
        n_groups=int(pd.unique(groups).size),
        converged=True,
        warning=None,
        _par=par,
        _par_cov=par_cov,
        _criterion=crit,
    )
