"""The REML criterion of the clustered model (:mod:`analysis.clustered`) and its optimiser.

Why written by hand: the marginal covariance ``V = sigma^2 (I + sum_k theta_k^2 Z_k Z_k')`` is
block-diagonal per participant apart from the few group and site columns. Its inverse and
determinant follow from the participant blocks in closed form (as in :mod:`analysis.lmm`)
and a Woodbury step over the group and site columns, whose cross-product is an "arrow": the
groups' block is diagonal (a participant is in one group), the sites' block is small and dense.
One evaluation of the REML criterion costs ``O(G p^2 + K_g K_s^2 + K_s^3)`` for ``G``
participants, ``K_g`` groups and ``K_s`` sites.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import linalg, optimize, sparse

from analysis.lmm import _row_kinds

__all__ = ["StructureError"]


class StructureError(ValueError):
    """A participant in two therapy groups or two sites."""


@dataclass(frozen=True)
class _Structure:
    """Per-participant sums (for the inference after the fit) and their pooled form (for the
    REML criterion): participants with the same design sums, group and site contribute
    identically apart from their outcome sums, so they are stored once with a count."""

    n: np.ndarray  # rows per participant (G,)
    sx: np.ndarray  # column sums of [X, y] per participant (G, p + 1)
    k: np.ndarray  # sum of z per participant (G,)
    kk: np.ndarray  # sum of z^2 per participant (G,)
    sxz: np.ndarray  # sum of z [X, y] per participant (G, p + 1)
    gi: np.ndarray  # therapy group of each participant, -1 for none (G,)
    si: np.ndarray  # site of each participant, -1 for none (G,)
    kg: int
    ks: int
    xtx: np.ndarray  # [X, y]' [X, y]
    n_obs: int
    p: int
    terms: tuple[str, ...]  # random terms: participant [, therapy_group] [, site]
    pool: dict  # the pooled arrays, see _pooled


def _membership(codes: np.ndarray, pid: np.ndarray, g: int, what: str) -> np.ndarray:
    """The one level of ``codes`` (-1: none) each participant belongs to."""
    use = codes >= 0
    member = np.full(g, -1)
    first = np.full(g, -1)
    member[pid[use]] = codes[use]
    first[pid[use][::-1]] = codes[use][::-1]
    if np.any(member != first):
        raise StructureError(f"a participant belongs to two levels of {what}")
    return member


def _indicator(codes: np.ndarray, levels: int, weights: np.ndarray | None = None):
    """Sparse (levels x len(codes)) membership matrix; code -1 belongs nowhere."""
    keep = codes >= 0
    values = np.ones(int(keep.sum())) if weights is None else weights[keep]
    return sparse.csr_matrix((values, (codes[keep], np.flatnonzero(keep))),
                             shape=(levels, len(codes)))


def _pooled(n, sx, k, kk, sxz, gi, si, kg, ks, p) -> dict:
    key = np.column_stack([n, sx[:, :p], k, kk, sxz[:, :p], gi, si])
    kind, first = _row_kinds(key)
    m = len(first)
    c = np.bincount(kind, minlength=m).astype(float)

    def total(v):
        return np.bincount(kind, weights=v, minlength=m)

    return {
        "n": n[first], "sx": sx[first, :p], "k": k[first], "kk": kk[first],
        "sxz": sxz[first, :p], "c": c, "t": total(sx[:, p]), "tz": total(sxz[:, p]),
        "q": total(sx[:, p] ** 2),
        "g": _indicator(gi[first], kg), "s": _indicator(si[first], ks),
        "pair": np.where((gi[first] >= 0) & (si[first] >= 0), gi[first] * ks + si[first], -1),
    }


def _structure(y, x, participant, group=None, z=None, site=None) -> _Structure:
    pid, _ = pd.factorize(np.asarray(participant))
    g = int(pid.max()) + 1
    xy = np.column_stack([x, y])
    n = np.bincount(pid, minlength=g).astype(float)
    sx = np.column_stack([np.bincount(pid, weights=c, minlength=g) for c in xy.T])
    terms = ["participant"]
    if group is not None:
        z = np.asarray(z, dtype=float)
        labels = pd.Series(np.asarray(group, dtype=object)).where(z != 0)
        gcodes, glevels = pd.factorize(labels)
        gi = _membership(np.asarray(gcodes), pid, g, "therapy_group")
        kg = len(glevels)
        terms.append("therapy_group")
    else:
        z = np.zeros(len(y))
        gi, kg = np.full(g, -1), 0
    if site is not None:
        scodes, slevels = pd.factorize(np.asarray(site))
        si = _membership(np.asarray(scodes), pid, g, "site")
        ks = len(slevels)
        terms.append("site")
    else:
        si, ks = np.full(g, -1), 0
    k = np.bincount(pid, weights=z, minlength=g)
    kk = np.bincount(pid, weights=z**2, minlength=g)
    sxz = np.column_stack([np.bincount(pid, weights=c * z, minlength=g) for c in xy.T])
    p = x.shape[1]
    return _Structure(
        n=n, sx=sx, k=k, kk=kk, sxz=sxz, gi=gi, si=si, kg=kg, ks=ks, xtx=xy.T @ xy,
        n_obs=len(y), p=p, terms=tuple(terms),
        pool=_pooled(n, sx, k, kk, sxz, gi, si, kg, ks, p),
    )


def _gammas(st: _Structure, theta: np.ndarray) -> tuple[float, float, float]:
    """(participant, group, site) relative variances from lme4's theta."""
    it = iter(np.asarray(theta, dtype=float) ** 2)
    gp = next(it)
    gg = next(it) if "therapy_group" in st.terms else 0.0
    gs = next(it) if "site" in st.terms else 0.0
    return gp, gg, gs


@dataclass
class _Eval:
    """Everything at one theta, on the scale of ``V / sigma^2``: the participant blocks
    ``R = I + gamma_p Z_p Z_p'`` and the Woodbury step over the outer (group, site) columns
    with ``M = I + Gamma^1/2 C Gamma^1/2``, ``C = Z_o' R^-1 Z_o``."""

    st: _Structure
    gp: float
    gg: float
    gs: float
    a: np.ndarray  # Z_o' R^-1 [X y]  (K, p + 1)
    cg: np.ndarray  # diagonal of the groups' block of C
    cs: np.ndarray  # diagonal of the sites' block
    cgs: np.ndarray  # groups x sites block
    mg: np.ndarray  # diagonal of M's groups' block
    h: np.ndarray  # M_gg^-1 M_gs
    s_chol: tuple | None  # Cholesky of the Schur complement on the sites
    logdet_m: float
    w: np.ndarray  # M^-1 Gamma^1/2 A  (K, p + 1)
    xvx: np.ndarray  # [X y]' V^-1 [X y] (sigma^2 units)
    logdet_v: float
    ok: bool = True
    beta: np.ndarray = field(default=None)
    rss: float = np.nan
    logdet_xvx: float = np.nan

    @property
    def root(self) -> np.ndarray:
        """Gamma^1/2 on the outer columns."""
        return np.concatenate([np.full(self.st.kg, np.sqrt(self.gg)),
                               np.full(self.st.ks, np.sqrt(self.gs))])

    def solve_m(self, u: np.ndarray) -> np.ndarray:
        """M^-1 u (the arrow structure: diagonal groups' block, Schur complement on sites)."""
        kg = self.st.kg
        ug, us = u[:kg], u[kg:]
        e = np.sqrt(self.gg * self.gs) * self.cgs
        shape = (-1,) + (1,) * (u.ndim - 1)
        if self.st.ks:
            vs = linalg.cho_solve(self.s_chol, us - self.h.T @ ug)
            vg = (ug - e @ vs) / self.mg.reshape(shape)
        else:
            vs = us
            vg = ug / self.mg.reshape(shape)
        return np.concatenate([vg, vs])


def _evaluate(st: _Structure, theta: np.ndarray) -> _Eval:
    gp, gg, gs = _gammas(st, theta)
    pl = st.pool
    p, kg, ks = st.p, st.kg, st.ks
    c = pl["c"]
    d = 1.0 + pl["n"] * gp
    w = gp / d
    xrx = st.xtx.copy()
    xrx[:p, :p] -= (pl["sx"] * (w * c)[:, None]).T @ pl["sx"]
    xrx[:p, p] -= pl["sx"].T @ (w * pl["t"])
    xrx[p, :p] = xrx[:p, p]
    xrx[p, p] -= float(w @ pl["q"])
    # Z_o' R^-1 [X y] from each pool's contribution, summed per group and per site
    per_g = np.column_stack([(pl["sxz"] - (w * pl["k"])[:, None] * pl["sx"]) * c[:, None],
                             pl["tz"] - w * pl["k"] * pl["t"]])
    per_s = np.column_stack([pl["sx"] * (c / d)[:, None], pl["t"] / d])
    a = np.vstack([pl["g"] @ per_g, pl["s"] @ per_s])
    cg = pl["g"] @ (c * (pl["kk"] - w * pl["k"] ** 2))
    cs = pl["s"] @ (c * pl["n"] / d)
    pair = pl["pair"]
    cgs = np.bincount(pair[pair >= 0], weights=(c * pl["k"] / d)[pair >= 0],
                      minlength=kg * ks).reshape(kg, ks)
    mg = 1.0 + gg * cg
    ms = 1.0 + gs * cs
    e = np.sqrt(gg * gs) * cgs
    h = e / mg[:, None] if kg else np.zeros((0, ks))
    s_chol = None
    logdet_m = float(np.sum(np.log(mg)))
    if ks:
        s_chol = linalg.cho_factor(np.diag(ms) - e.T @ h, lower=True)
        logdet_m += 2 * float(np.sum(np.log(np.diag(s_chol[0]))))
    ev = _Eval(st, gp, gg, gs, a, cg, cs, cgs, mg, h, s_chol, logdet_m,
               np.zeros_like(a), xrx, 0.0)
    f = ev.root[:, None] * a
    if len(f):
        ev.w = ev.solve_m(f)
        ev.xvx = xrx - f.T @ ev.w
    ev.logdet_v = float(c @ np.log(d)) + logdet_m
    xvx = ev.xvx[:p, :p]
    try:
        chol = linalg.cho_factor(xvx, lower=True)
    except linalg.LinAlgError:
        ev.ok = False
        return ev
    ev.beta = linalg.cho_solve(chol, ev.xvx[:p, p])
    ev.rss = float(ev.xvx[p, p] - ev.xvx[:p, p] @ ev.beta)
    ev.logdet_xvx = 2 * float(np.sum(np.log(np.diag(chol[0]))))
    return ev


def _reml_criterion(ev: _Eval) -> float:
    """lme4's REML criterion (``REMLcrit``), profiled over sigma."""
    m = ev.st.n_obs - ev.st.p
    if not ev.ok or not ev.rss > 0:
        return np.inf
    return ev.logdet_v + ev.logdet_xvx + m * (1 + np.log(2 * np.pi * ev.rss / m))


def _optimise(st: _Structure, start: np.ndarray) -> np.ndarray:
    """Minimise the profiled REML criterion over theta >= 0.

    L-BFGS-B on central-difference gradients (one-sided at the boundary), then Newton steps
    on the interior parameters with a finite-difference Hessian; a parameter the optimiser
    leaves a hair above 0 goes to 0 when that is no worse (lme4's boundary fit).
    """

    def crit(theta):
        try:
            return _reml_criterion(_evaluate(st, np.maximum(theta, 0.0)))
        except (linalg.LinAlgError, FloatingPointError, ValueError):
            return np.inf

    def steps(theta, h):
        return h * np.maximum(1.0, np.abs(theta))

    def grad(theta, h=1e-6):
        out = np.empty_like(theta)
        hs = steps(theta, h)
        for i in range(theta.size):
            up, down = theta.copy(), theta.copy()
            up[i] += hs[i]
            if theta[i] - hs[i] < 0:  # one-sided at the boundary
                out[i] = (crit(up) - crit(theta)) / hs[i]
            else:
                down[i] -= hs[i]
                out[i] = (crit(up) - crit(down)) / (2 * hs[i])
        return out

    bounds = [(0.0, None)] * start.size
    theta, value = start.astype(float), crit(start)
    for _ in range(4):
        with np.errstate(all="ignore"):
            res = optimize.minimize(crit, theta, jac=grad, method="L-BFGS-B", bounds=bounds,
                                    options={"maxiter": 200, "ftol": 1e-11, "gtol": 1e-6})
        if not res.fun < value - 1e-10:
            break
        theta, value = np.maximum(res.x, 0.0), res.fun
    for i in range(theta.size):
        if 0 < theta[i] < 1e-3:
            trial = theta.copy()
            trial[i] = 0.0
            if crit(trial) <= value + 1e-10:
                theta, value = trial, crit(trial)
    for _ in range(6):  # Newton on the interior parameters
        idx = np.flatnonzero(theta > 0)
        if not idx.size:
            break
        hs = steps(theta, 1e-4)
        f0 = crit(theta)
        hess = np.empty((idx.size, idx.size))
        g = np.empty(idx.size)
        for a, i in enumerate(idx):
            ei = np.zeros_like(theta)
            ei[i] = hs[i]
            fp, fm = crit(theta + ei), crit(theta - ei)
            g[a] = (fp - fm) / (2 * hs[i])
            hess[a, a] = (fp - 2 * f0 + fm) / hs[i] ** 2
            for b_ in range(a):
                j = idx[b_]
                ej = np.zeros_like(theta)
                ej[j] = hs[j]
                hess[a, b_] = hess[b_, a] = (
                    crit(theta + ei + ej) - crit(theta + ei - ej) - crit(theta - ei + ej)
                    + crit(theta - ei - ej)) / (4 * hs[i] * hs[j])
        try:
            step = np.linalg.solve(hess, g)
        except np.linalg.LinAlgError:
            break
        trial = theta.copy()
        trial[idx] = np.maximum(theta[idx] - step, 0.0)
        if not crit(trial) <= f0 + 1e-12:
            break
        theta = trial
        if np.max(np.abs(step) / np.maximum(1.0, theta[idx])) < 1e-9:
            break
    return theta
