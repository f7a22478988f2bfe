"""Tests of fixed-effect contrasts in a REML fit: Satterthwaite and Kenward–Roger df.

Given a fit's estimates ``beta``, their covariance ``vcov`` and the variance parameters'
information, these functions compute what R reports for the same model:

- :func:`satterthwaite_t` and :func:`satterthwaite_f`: lmerTest's ``contest1D`` and
  ``contestMD`` (Kuznetsova et al., 2017): the df of a contrast from the gradient of its
  variance with respect to the variance parameters (``jac``: one matrix d vcov / d parameter)
  and their asymptotic covariance ``varpar_cov``; an F test of several rows combines the df of
  its eigen-contrasts as lmerTest's ``get_Fstat_ddf`` does.
- :class:`KenwardRoger`: pbkrtest's ``vcovAdj`` (the adjusted covariance of Kenward & Roger,
  1997, with the Kackar–Harville correction and the bias term), ``Lb_ddf`` (t tests) and
  ``KRmodcomp`` (F tests, scaled F), from the derivative matrices of the marginal covariance
  that the model supplies (:attr:`KenwardRoger.p_mats`, ``q_mats``, ``info``).
- :func:`type3_contrasts`: the contrast matrix of every model term for lmerTest's type III
  ``anova()`` (treatment coding; containment orthogonalisation as ``extract_contrasts_type3``).

References
----------
Kuznetsova, A., Brockhoff, P. B., & Christensen, R. H. B. (2017). lmerTest package: tests in
linear mixed effects models. Journal of Statistical Software, 82(13).
Kenward, M. G., & Roger, J. H. (1997). Small sample inference for fixed effects from
restricted maximum likelihood. Biometrics, 53(3), 983-997.
Halekoh, U., & Højsgaard, S. (2014). A Kenward-Roger approximation and parametric bootstrap
methods for tests in linear mixed models - the R package pbkrtest. J Stat Softw, 59(9).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

__all__ = [
    "KenwardRoger",
    "Term",
    "satterthwaite_f",
    "satterthwaite_t",
    "type3_contrasts",
    "varpar_covariance",
]


def varpar_covariance(hessian: np.ndarray, tol: float = 1e-8) -> np.ndarray:
    """``2 H^+``: the asymptotic covariance of the variance parameters from the Hessian of the
    REML deviance, with the Moore–Penrose inverse over eigenvalues above ``tol`` (lmerTest's
    ``as_lmerModLT``; a zero eigenvalue on a boundary fit is left out, not inverted)."""
    values, vectors = np.linalg.eigh((hessian + hessian.T) / 2)
    keep = values > tol
    inverse = (vectors[:, keep] / values[keep]) @ vectors[:, keep].T
    return 2 * inverse


def _t_row(estimate: float, var: float, df: float) -> dict[str, float]:
    se = float(np.sqrt(var))
    t = estimate / se if se > 0 else np.nan
    p = float(2 * stats.t.sf(abs(t), df)) if np.isfinite(t) and np.isfinite(df) else np.nan
    return {"estimate": float(estimate), "se": se, "df": float(df), "t": float(t), "p": p}


def satterthwaite_t(weights, beta: np.ndarray, vcov: np.ndarray, jac: Sequence[np.ndarray],
                    varpar_cov: np.ndarray) -> dict[str, float]:
    """Estimate, SE, Satterthwaite df, t and p of ``weights @ beta`` (lmerTest ``contest1D``).

    ``df = 2 var^2 / (g' A g)``, ``var = l' V l``, ``g_k = l' (dV / d varpar_k) l`` and
    ``A = varpar_cov``.
    """
    l_ = np.asarray(weights, dtype=float)
    var = float(l_ @ vcov @ l_)
    grad = np.array([float(l_ @ j @ l_) for j in jac])
    denom = float(grad @ varpar_cov @ grad)
    df = 2 * var**2 / denom if denom > 0 else np.inf
    return _t_row(float(l_ @ beta), var, df)


def _fstat_ddf(nu: np.ndarray, tol: float = 1e-8) -> float:
    """lmerTest's ``get_Fstat_ddf``: the df of an F built from independent t statistics."""
    if nu.size == 1:
        return float(nu[0])
    if np.all(np.abs(np.diff(nu)) < tol):
        return float(np.mean(nu))
    if np.any(nu <= 2):
        return 2.0
    e = float(np.sum(nu / (nu - 2)))
    return 2 * e / (e - nu.size)


def _f_row(f: float, num_df: int, den_df: float) -> dict[str, float]:
    p = float(stats.f.sf(f, num_df, den_df)) if np.isfinite(f) and np.isfinite(den_df) else np.nan
    return {"f": float(f), "num_df": int(num_df), "den_df": float(den_df), "p": p}


def satterthwaite_f(contrast: np.ndarray, beta: np.ndarray, vcov: np.ndarray,
                    jac: Sequence[np.ndarray], varpar_cov: np.ndarray,
                    eps: float = float(np.sqrt(np.finfo(float).eps))) -> dict[str, float]:
    """F test of ``L beta = 0`` with Satterthwaite denominator df (lmerTest ``contestMD``).

    ``L`` is decomposed along the eigenvectors of ``L V L'``; rows with a (numerically) zero
    eigenvalue are dropped, so the numerator df is the rank of ``L V L'``.
    """
    lmat = np.atleast_2d(np.asarray(contrast, dtype=float))
    if lmat.shape[0] == 1:
        row = satterthwaite_t(lmat[0], beta, vcov, jac, varpar_cov)
        return _f_row(row["t"] ** 2, 1, row["df"])
    values, vectors = np.linalg.eigh(lmat @ vcov @ lmat.T)
    order = np.argsort(values)[::-1]  # R's eigen(): decreasing
    values, vectors = values[order], vectors[:, order]
    q = int(np.sum(values > max(eps * values[0], 0)))
    ptl = (vectors.T @ lmat)[:q]
    if q == 1:
        row = satterthwaite_t(ptl[0], beta, vcov, jac, varpar_cov)
        return _f_row(row["t"] ** 2, 1, row["df"])
    t2 = (ptl @ beta) ** 2 / values[:q]
    nu = np.empty(q)
    for m in range(q):
        grad = np.array([float(ptl[m] @ j @ ptl[m]) for j in jac])
        nu[m] = 2 * values[m] ** 2 / float(grad @ varpar_cov @ grad)
    return _f_row(float(t2.sum() / q), q, _fstat_ddf(nu))


@dataclass
class KenwardRoger:
    """The Kenward–Roger adjustment of a REML fit, as pbkrtest computes it.

    The marginal covariance is ``Sigma = sum_r gamma_r G_r`` over the variance components
    (each random-effect term, then the residual). The model supplies, with ``Sigma^-1`` and
    ``Phi = (X' Sigma^-1 X)^-1`` at the REML estimates:

    ``p_mats[r] = -X' Sigma^-1 G_r Sigma^-1 X``, ``q_mats[(r, s)] = X' Sigma^-1 G_r Sigma^-1
    G_s Sigma^-1 X`` (r <= s) and ``info[r, s] = tr(P G_r P G_s)`` with ``P`` the REML
    projection (pbkrtest's ``IE2``).

    Attributes
    ----------
    vcov_adjusted : ndarray
        ``Phi_A = Phi + 2 Phi U Phi`` (pbkrtest ``vcovAdj``).
    """

    phi: np.ndarray
    p_mats: list[np.ndarray]
    q_mats: dict[tuple[int, int], np.ndarray]
    info: np.ndarray
    w: np.ndarray = field(init=False)
    vcov_adjusted: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        info = (self.info + self.info.T) / 2
        condition = float(np.min(np.abs(np.linalg.eigvalsh(info))))
        self.w = 2 * (np.linalg.inv(info) if condition > 1e-10 else np.linalg.pinv(info))
        n = len(self.p_mats)
        phi = self.phi
        u = np.zeros_like(phi)
        for i in range(n - 1):
            for j in range(i + 1, n):
                u += self.w[i, j] * (self.q_mats[(i, j)] - self.p_mats[i] @ phi @ self.p_mats[j])
        u = u + u.T
        for i in range(n):
            u += self.w[i, i] * (self.q_mats[(i, i)] - self.p_mats[i] @ phi @ self.p_mats[i])
        self.vcov_adjusted = phi + 2 * phi @ u @ phi

    def _a1_a2(self, lmat: np.ndarray) -> tuple[float, float]:
        phi = self.phi
        theta = lmat.T @ np.linalg.solve(lmat @ phi @ lmat.T, lmat)
        theta_phi = theta @ phi
        us = [theta_phi @ pm @ phi for pm in self.p_mats]
        a1 = a2 = 0.0
        n = len(us)
        for i in range(n):
            for j in range(i, n):
                e = 1.0 if i == j else 2.0
                a1 += e * self.w[i, j] * np.trace(us[i]) * np.trace(us[j])
                a2 += e * self.w[i, j] * float(np.sum(us[i] * us[j].T))
        return a1, a2

    def _ddf(self, lmat: np.ndarray) -> tuple[float, float, float]:
        """pbkrtest's df2 and F scaling for the rows of ``lmat`` (``Lb_ddf``, ``.KR_adjust``)."""
        q = lmat.shape[0]
        a1, a2 = self._a1_a2(lmat)
        b = (a1 + 6 * a2) / (2 * q)
        g = ((q + 1) * a1 - (q + 4) * a2) / ((q + 2) * a2)
        c1 = g / (3 * q + 2 * (1 - g))
        c2 = (q - g) / (3 * q + 2 * (1 - g))
        c3 = (q + 2 - g) / (3 * q + 2 * (1 - g))
        v0 = 1 + c1 * b
        v0 = 0.0 if abs(v0) < 1e-10 else v0
        v1 = 1 - c2 * b
        v2 = 1 - c3 * b
        x = 1 - a2 / q
        ratio = 1.0 if (abs(x) < 1e-14 and abs(v1) < 1e-14) else x / v1
        rho = ratio**2 * v0 / v2 / q
        df2 = 4 + (q + 2) / (q * rho - 1)
        scaling = 1.0 if abs(df2 - 2) < 1e-2 else df2 * (1 - a2 / q) / (df2 - 2)
        return df2, scaling, a2

    def t(self, weights, beta: np.ndarray) -> dict[str, float]:
        """Estimate, adjusted SE, KR df, t and p of ``weights @ beta`` (lmerTest's
        ``contest1D(ddf = "Kenward-Roger")``: pbkrtest ``vcovAdj`` and ``Lb_ddf``)."""
        l_ = np.asarray(weights, dtype=float)
        df, _, _ = self._ddf(l_[None, :])
        return _t_row(float(l_ @ beta), float(l_ @ self.vcov_adjusted @ l_), df)

    def f(self, contrast: np.ndarray, beta: np.ndarray) -> dict[str, float]:
        """Scaled F test of ``L beta = 0`` (pbkrtest ``KRmodcomp``, as lmerTest's
        ``anova(ddf = "Kenward-Roger")`` reports it)."""
        lmat = np.atleast_2d(np.asarray(contrast, dtype=float))
        q = int(np.linalg.matrix_rank(lmat))
        df2, scaling, _ = self._ddf(lmat)
        diff = lmat @ beta
        wald = float(diff @ np.linalg.solve(lmat @ self.vcov_adjusted @ lmat.T, diff))
        return _f_row(scaling * wald / q, q, df2)


# --------------------------------------------------------------------------- type III


@dataclass(frozen=True)
class Term:
    """A model term: its name (``time:arm``), its variables, which of them are numeric, the
    columns of the design matrix that belong to it and the columns of the rank-deficient
    complete coding (every level of every factor) that R's ``model.matrix(~ 0 + term)``
    gives, as a matrix over the observations."""

    name: str
    variables: frozenset[str]
    numeric: frozenset[str]
    columns: list[int]
    complete: np.ndarray


def _zapsmall(x: np.ndarray, digits: int = 7) -> np.ndarray:
    big = float(np.max(np.abs(x))) if x.size else 0.0
    if big == 0:
        return x
    return np.round(x, max(0, digits - int(np.ceil(np.log10(big)))))


def type3_contrasts(x: np.ndarray, terms: Sequence[Term]) -> dict[str, np.ndarray]:
    """Each term's contrast matrix for a type III test, as lmerTest's ``anova(type = 3)``.

    The complete coding of every term is expressed in the columns of ``x``
    (``L = ginv(X) rdX``); a term's columns are then made orthogonal (over the rows of ``L``)
    to those of every term containing it (same numeric variables, more factors), higher-order
    terms first; the rows of the term's own columns, without all-zero rows, are its contrast.

    Parameters
    ----------
    x : ndarray, shape (N, p)
        The full-rank design (treatment coding), intercept in column 0.
    terms : sequence of Term
        The model's terms (not the intercept).
    """
    rdx = np.column_stack([np.ones(x.shape[0])] + [t.complete for t in terms])
    # Everything below needs only the cross-products of [X, rdX]: one pass over the rows.
    # X has full column rank, so ginv(X) rdX = (X'X)^-1 X' rdX.
    both = np.column_stack([x, rdx])
    gram = both.T @ both
    p = x.shape[1]
    xtx, xtr, rtr = gram[:p, :p], gram[:p, p:], gram[p:, p:]
    lmat = _zapsmall(np.linalg.solve(xtx, xtr).T)  # rows: complete columns; cols: x columns
    contained = {
        t.name: [u for u in terms
                 if t.variables < u.variables and t.numeric == u.numeric]
        for t in terms
    }
    order = sorted(terms, key=lambda t: len(t.variables), reverse=True)
    for term in order:
        containers = contained[term.name]
        if not containers:
            continue
        cols = [c for u in containers for c in u.columns]
        basis = lmat[:, cols]
        coef, *_ = np.linalg.lstsq(basis, lmat[:, term.columns], rcond=None)
        lmat[:, term.columns] = _zapsmall(lmat[:, term.columns] - basis @ coef)
    # keep the rows of L that stand for x's own columns: the complete coding's columns that
    # equal a column of x (R matches them by name)
    keep = []
    for j in range(p):
        # |r_i - x_j|^2 = r_i'r_i + x_j'x_j - 2 r_i'x_j, zero for the same column
        dist = np.diag(rtr) + xtx[j, j] - 2 * xtr[j]
        scale = np.diag(rtr) + xtx[j, j]
        hits = np.flatnonzero(np.abs(dist) <= 1e-10 * np.maximum(scale, 1.0))
        keep.append(int(hits[0]) if hits.size else None)
    square = np.array([lmat[i] if i is not None else np.zeros(p) for i in keep])
    out = {}
    for term in terms:
        # R: t(L[colnames(X), term columns]): one row per column of the term, over beta
        rows = square[:, term.columns].T
        rows = rows[np.sum(np.abs(rows), axis=1) > 1e-8] if rows.size else rows
        out[term.name] = rows
    return out
