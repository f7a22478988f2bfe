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


def _sigma(par: np.ndarray, n_times: int) -> np.ndarray:
    """Covariance from its Cholesky factor: log diagonal first, then the lower triangle."""
    low = np.zeros((n_times, n_times))
    low[np.diag_indices(n_times)] = np.exp(par[:n_times])
    low[np.tril_indices(n_times, -1)] = par[n_times:]
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
            if sign <= 0:
                return None
            inv = np.linalg.inv(block)
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
        if sign <= 0:
            return np.inf
        return logdet_v + ld_a + yvy - float(b @ np.linalg.solve(a, b))

    def gradient(self, par: np.ndarray) -> np.ndarray:
        """Analytic gradient of :meth:`deviance` with respect to the Cholesky parameters.

        ``dD = tr(G dSigma)`` with ``G = sum_i E_i' (M_i - M_i X_i C X_i' M_i - u_i u_i') E_i``,
        ``M_i`` the inverse of participant i's covariance block, ``C = (X'V^-1 X)^-1`` and
        ``u_i = M_i r_i`` the GLS residuals scaled by ``M_i``; all sums run per pattern.
        """
        n = self.n_times
        sigma = _sigma(par, n)
        parts = self.gls(sigma)
        if parts is None:
            return np.full(par.size, np.nan)
        a, b, *_ = parts
        c = np.linalg.inv(a)
        beta = c @ b
        g = np.zeros((n, n))
        for pat in self.patterns:
            m = np.linalg.inv(sigma[np.ix_(pat.idx, pat.idx)])
            xcx = np.einsum("abpq,pq->ab", pat.xx, c)
            xb = pat.xy @ beta  # [a, b] = sum_i (x_ia beta) y_ib
            rr = pat.yy - xb - xb.T + np.einsum("abpq,p,q->ab", pat.xx, beta, beta)
            g[np.ix_(pat.idx, pat.idx)] += pat.m * m - m @ (xcx + rr) @ m
        low = np.linalg.cholesky(sigma)
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
    """

    names: list[str]
    beta: np.ndarray
    vcov: np.ndarray
    sigma: np.ndarray
    n_obs: int
    n_groups: int
    converged: bool
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
        grad = _gradient(lambda q: float(l_ @ self._criterion.vcov(q) @ l_), self._par)
        denom = float(grad @ self._par_cov @ grad)
        df = 2 * var**2 / denom if denom > 0 else np.inf
        est = float(l_ @ self.beta)
        se = np.sqrt(var)
        t = est / se
        return {"estimate": est, "se": se, "df": df, "t": t, "p": float(2 * stats.t.sf(abs(t), df))}

    def coef(self, name: str) -> dict[str, float]:
        """The contrast picking out one fixed effect by name."""
        l_ = np.zeros(len(self.names))
        l_[self.names.index(name)] = 1.0
        return self.contrast(l_)


def _start(y, x, groups, time_index, n_times) -> np.ndarray:
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ beta
    var = np.array([resid[time_index == t].var() if (time_index == t).sum() > 1 else 1.0
                    for t in range(n_times)])
    var = np.where(var > 0, var, max(float(resid.var()), 1e-8))
    return np.concatenate([0.5 * np.log(var), np.zeros(n_times * (n_times - 1) // 2)])


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

    Notes
    -----
    ``Sigma`` is parametrised by its Cholesky factor (log diagonal, free lower triangle), as
    mmrm does, and the REML deviance is minimised with its analytic gradient. Satterthwaite df
    use the numerical gradient of the contrast variance and ``2 H^-1`` with ``H`` the Hessian
    of the REML deviance (differences of the analytic gradient); at the optimum the result
    does not depend on the parametrisation.

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
    crit = _Criterion(_patterns(y, x, groups, time_index, n_times), y.size, x.shape[1], n_times)
    start = _start(y, x, groups, time_index, n_times)
    res = optimize.minimize(
        crit.deviance, start, jac=crit.gradient, method="BFGS", options={"gtol": 1e-6}
    )
    par = res.x
    converged = bool(np.isfinite(res.fun))
    # Newton polish on the analytic gradient: BFGS stops short of full precision.
    for _ in range(8):
        hess = _jacobian(crit.gradient, par)
        try:
            step = np.linalg.solve(hess, crit.gradient(par))
        except np.linalg.LinAlgError:
            converged = False
            break
        if not np.all(np.isfinite(step)):
            break
        trial = par - step
        if not crit.deviance(trial) <= crit.deviance(par) + 1e-9:
            break
        par = trial
        if np.max(np.abs(step)) < 1e-9:
            break
    hess = _jacobian(crit.gradient, par)
    try:
        par_cov = 2 * np.linalg.inv(hess)
        converged = converged and bool(np.all(np.linalg.eigvalsh(hess) > 0))
    except np.linalg.LinAlgError:
        par_cov = np.full_like(hess, np.nan)
        converged = False
    sigma = _sigma(par, n_times)
    a, b, *_ = crit.gls(sigma)
    vcov = np.linalg.inv(a)
    return UnstructuredFit(
        names=list(names) if names is not None else [f"x{i}" for i in range(x.shape[1])],
        beta=vcov @ b,
        vcov=vcov,
        sigma=sigma,
        n_obs=y.size,
        n_groups=int(pd.unique(groups).size),
        converged=converged,
        _par=par,
        _par_cov=par_cov,
        _criterion=crit,
    )
