"""Mixed models for clustered trials: participant, therapy group and site random intercepts.

The model is R's

``lmer(score ~ X + (1 | participant) + (0 + grouped_post | therapy_group) + (1 | site))``

with either clustering term optional: ``y = X beta + Z_p b_p + Z_g b_g + Z_s b_s + e`` where
``Z_g`` carries ``grouped_post`` (1 on the post-baseline rows of participants treated in a
group, else 0: a partially nested design, Bauer et al. 2008) and every participant belongs to
at most one therapy group and one site. Fitted by REML, with lme4's parameters: the relative
standard deviations ``theta = (sigma_p, sigma_g, sigma_s) / sigma``.

Why written by hand: the marginal covariance ``V = sigma^2 (I + sum_k theta_k^2 Z_k Z_k')`` is
block-diagonal per participant apart from the few group and site columns. Its inverse and
determinant follow from the participant blocks in closed form (as in :mod:`analysis.lmm`)
and a Woodbury step over the group and site columns, whose cross-product is an "arrow": the
groups' block is diagonal (a participant is in one group), the sites' block is small and dense.
One evaluation of the REML criterion costs ``O(G p^2 + K_g K_s^2 + K_s^3)`` for ``G``
participants, ``K_g`` groups and ``K_s`` sites.

The inference after the fit is analytic: lmerTest's Satterthwaite df need the Hessian of the
REML deviance in ``(theta, sigma)`` and the derivatives of ``vcov(beta)``; pbkrtest's
Kenward–Roger adjustment needs ``tr(P G_r P G_s)`` and ``X' Sigma^-1 G_r Sigma^-1 (G_s
Sigma^-1) X`` for every pair of variance components. All of them are sums over the blocks of
``Z' Sigma^-1 Z`` and ``Z' Sigma^-1 X``, computed here from the same structure (the residual's
terms from the identity ``Sigma^-1 Sigma = I``) without forming an ``N x N`` matrix.

References
----------
Bates, D., Mächler, M., Bolker, B., & Walker, S. (2015). Fitting linear mixed-effects models
using lme4. Journal of Statistical Software, 67(1).
Bauer, D. J., Sterba, S. K., & Hallfors, D. D. (2008). Evaluating group-based interventions
when control participants are ungrouped. Multivariate Behavioral Research, 43(2), 210-236.
Kuznetsova, A., Brockhoff, P. B., & Christensen, R. H. B. (2017). lmerTest package. J Stat
Softw, 82(13). Halekoh, U., & Højsgaard, S. (2014). pbkrtest. J Stat Softw, 59(9).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import linalg, optimize, sparse

from analysis.inference import (
    KenwardRoger,
    satterthwaite_f,
    satterthwaite_t,
    varpar_covariance,
)
from analysis.lmm import _optimise_gamma, _row_kinds, _sums

__all__ = ["ClusteredFit", "fit_clustered"]


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


@dataclass
class ClusteredFit:
    """A fitted clustered model.

    Attributes
    ----------
    names : list of str
    beta, vcov : ndarray
        REML (GLS) estimates and their covariance.
    variances : dict
        ``participant``, ``therapy_group``, ``site`` (the terms in the model) and ``residual``.
    theta : ndarray
        lme4's relative standard deviations, in the order of ``terms``.
    terms : tuple of str
    singular : list of str
        Random terms whose variance is estimated as 0 (lme4: "boundary (singular) fit").
    reml_criterion : float
        lme4's ``REMLcrit``.
    n_obs, n_groups : int
        Observations and participants.
    n_clusters : dict
        Levels of each clustering term (therapy groups with grouped rows; sites).
    """

    names: list[str]
    beta: np.ndarray
    vcov: np.ndarray
    variances: dict[str, float]
    theta: np.ndarray
    terms: tuple[str, ...]
    singular: list[str]
    reml_criterion: float
    n_obs: int
    n_groups: int
    n_clusters: dict[str, int]
    varpar_cov: np.ndarray
    jac: list[np.ndarray]
    _kr: KenwardRoger | None = None
    _kr_parts: tuple | None = None

    @property
    def sigma2(self) -> float:
        return self.variances["residual"]

    def contrast(self, weights, ddf: str = "satterthwaite") -> dict[str, float]:
        """Estimate, SE, df, t and p of ``weights @ beta`` (Satterthwaite, as lmerTest's
        ``contest1D``, or Kenward–Roger, as with ``ddf = "Kenward-Roger"``)."""
        if ddf == "kenward-roger":
            return self.kenward_roger.t(weights, self.beta)
        return satterthwaite_t(weights, self.beta, self.vcov, self.jac, self.varpar_cov)

    def coef(self, name: str, ddf: str = "satterthwaite") -> dict[str, float]:
        l_ = np.zeros(len(self.names))
        l_[self.names.index(name)] = 1.0
        return self.contrast(l_, ddf)

    def f_test(self, contrast: np.ndarray, ddf: str = "satterthwaite") -> dict[str, float]:
        """F test of ``L beta = 0`` (lmerTest's ``contestMD``; KR: pbkrtest's scaled F)."""
        if ddf == "kenward-roger":
            return self.kenward_roger.f(contrast, self.beta)
        return satterthwaite_f(contrast, self.beta, self.vcov, self.jac, self.varpar_cov)

    @property
    def kenward_roger(self) -> KenwardRoger:
        if self._kr is None:
            phi, p_mats, q_mats, info = self._kr_parts
            self._kr = KenwardRoger(phi, p_mats, q_mats, info)
        return self._kr


def _information(ev: _Eval, sigma2: float):
    """The derivative quantities of Satterthwaite and Kenward–Roger at the estimates.

    Returns the Hessian of lmerTest's deviance in (theta, sigma), the derivatives of
    vcov(beta) in the same parameters, and pbkrtest's (Phi, P_r, Q_rs, IE2), the variance
    components ordered as ``st.terms`` then the residual.
    """
    st = ev.st
    p, kg, ks = st.p, st.kg, st.ks
    k = kg + ks
    root = ev.root
    gam = {"participant": ev.gp, "therapy_group": ev.gg, "site": ev.gs}
    # --- participant-level blocks (V~ units; divided by sigma^2 for Sigma below)
    d_p = 1.0 + st.n * ev.gp
    dvec = st.n / d_p  # Z_p' R^-1 Z_p (diagonal)
    rows = np.arange(len(st.n))
    bcols, brows, bvals = [], [], []
    has_g, has_s = st.gi >= 0, st.si >= 0
    bcols += list(st.gi[has_g])
    brows += list(rows[has_g])
    bvals += list((st.k / d_p)[has_g])
    bcols += list(kg + st.si[has_s])
    brows += list(rows[has_s])
    bvals += list(dvec[has_s])
    b = sparse.csr_matrix((bvals, (brows, bcols)), shape=(len(st.n), k))  # Z_p' R^-1 Z_o
    # the outer blocks: C sparse (an arrow), M^-1 dense (K x K)
    c = sparse.bmat([[sparse.diags(ev.cg), sparse.csr_matrix(ev.cgs)],
                     [sparse.csr_matrix(ev.cgs.T), sparse.diags(ev.cs)]], format="csr") if k else (
        sparse.csr_matrix((0, 0)))
    minv = ev.solve_m(np.eye(k)) if k else np.zeros((0, 0))
    gm = root[:, None] * minv * root[None, :]  # Gamma^1/2 M^-1 Gamma^1/2
    t_mat = np.eye(k) - np.asarray(c @ gm).T  # N_po = B T, N_oo = C T (gm C = (C gm)')
    n_oo = np.asarray(c @ t_mat)
    btb = (b.T @ b).tocsr()
    btdb = (b.T @ sparse.diags(dvec) @ b).tocsr()
    gm_btb = np.asarray(btb @ gm).T  # gm B'B
    # Z_r' V~^-1 [X y]
    m_p = st.sx / d_p[:, None] - (b @ (gm @ ev.a) if k else 0.0)
    m_o = ev.a - c @ (gm @ ev.a) if k else np.zeros((0, p + 1))
    # pieces per random term: 'participant' -> participant rows; others -> outer column slices
    slices = {"therapy_group": slice(0, kg), "site": slice(kg, k)}
    terms = st.terms
    n_terms = len(terms)
    beta_t = np.append(ev.beta, -1.0)  # M [beta; -1] = -(Z' V^-1 (y - X beta)) = -Z'P y

    def m_of(r):
        return m_p if r == "participant" else m_o[slices[r]]

    def frob_and_q(r, s):
        """(||N_rs||_F^2, Q~_rs = M_r' N_rs M_s over [X y], trace N_rr if r == s)."""
        mr, ms = m_of(r), m_of(s)
        if r == "participant" and s == "participant":
            frob = (float(dvec @ dvec) - 2 * float(btdb.multiply(gm).sum())
                    + float(np.sum(gm_btb * gm_btb.T)))
            bm = b.T @ mr if k else np.zeros((0, p + 1))
            q = mr.T @ (dvec[:, None] * ms) - bm.T @ gm @ (b.T @ ms if k else bm)
            tr = float(dvec.sum() - btb.multiply(gm).sum())
            return frob, q, tr
        if r == "participant" or s == "participant":
            other = s if r == "participant" else r
            tq = t_mat[:, slices[other]]
            frob = float(np.sum(tq * np.asarray(btb @ tq)))
            q_ps = (b.T @ m_p).T @ tq @ m_of(other)  # M_p' B T_q M_q
            q = q_ps if r == "participant" else q_ps.T
            return frob, q, None
        block = n_oo[slices[r], slices[s]]
        frob = float(np.sum(block**2))
        q = mr.T @ block @ ms
        return frob, q, (float(np.trace(block)) if r == s else None)

    # Sigma units: N/s2, M/s2, Q/s2^3 ; Phi = s2 * XVX^-1
    s2 = sigma2
    xvx_inv = np.linalg.inv(ev.xvx[:p, :p])
    phi = s2 * xvx_inv
    tau = np.array([s2 * gam[r] for r in terms])  # absolute variances of the random terms
    kmat = np.zeros((n_terms, n_terms))
    qfull: dict[tuple[int, int], np.ndarray] = {}
    tr_n = np.zeros(n_terms)
    for i, r in enumerate(terms):
        for j in range(i, n_terms):
            frob, q, tr = frob_and_q(r, terms[j])
            kmat[i, j] = kmat[j, i] = frob / s2**2
            qfull[(i, j)] = q / s2**3
            if i == j:
                tr_n[i] = tr / s2
    mx = [m_of(r)[:, :p] / s2 for r in terms]  # Z_r' Sigma^-1 X
    q_x = {key: val[:p, :p] for key, val in qfull.items()}
    p_mats = [-(m.T @ m) for m in mx]
    xsx = ev.xvx[:p, :p] / s2  # X' Sigma^-1 X
    # the residual's terms from Sigma^-1 Sigma = I
    res = n_terms
    xs2x = (xsx - sum(t * (m.T @ m) for t, m in zip(tau, mx, strict=True))) / s2
    p_mats.append(-xs2x)

    def qx(i, j):
        return q_x[(i, j)] if i <= j else q_x[(j, i)].T

    for i in range(n_terms):
        mm = mx[i].T @ mx[i]
        q_x[(i, res)] = (mm - sum(tau[l_] * qx(i, l_) for l_ in range(n_terms))) / s2
    q_x[(res, res)] = (xs2x - sum(tau[l_] * q_x[(l_, res)].T for l_ in range(n_terms))) / s2
    ktr = np.zeros((n_terms + 1, n_terms + 1))
    ktr[:n_terms, :n_terms] = kmat
    tr_sinv = (st.n_obs - float(tau @ tr_n)) / s2
    for i in range(n_terms):
        ktr[i, res] = ktr[res, i] = (tr_n[i] - float(tau @ kmat[i])) / s2
    ktr[res, res] = (tr_sinv - float(tau @ ktr[:n_terms, res])) / s2
    n_comp = n_terms + 1
    ie2 = np.zeros((n_comp, n_comp))
    for i in range(n_comp):
        for j in range(i, n_comp):
            ie2[i, j] = ie2[j, i] = (ktr[i, j] - 2 * float(np.sum(phi * q_x[(i, j)]))
                                     + float(np.sum((phi @ p_mats[i]) * (p_mats[j] @ phi))))
    # --- Satterthwaite: gradient and Hessian of the REML deviance in tau, then (theta, sigma)
    # e_r = Z_r' P y (Sigma units); Z_r' P Z_s applied to vectors
    e = [-(m_of(r) @ beta_t) / s2 for r in terms]

    def zpz(r, s, v):
        """Z_r' P Z_s v (Sigma units)."""
        if r == "participant" and s == "participant":
            nv = dvec * v - (b @ (gm @ (b.T @ v)) if k else 0.0)
        elif r == "participant":
            nv = b @ (t_mat[:, slices[s]] @ v)
        elif s == "participant":
            nv = t_mat[:, slices[r]].T @ (b.T @ v)
        else:
            nv = n_oo[slices[r], slices[s]] @ v
        mr, ms = m_of(r)[:, :p], m_of(s)[:, :p]
        return nv / s2 - (mr / s2) @ (phi @ ((ms / s2).T @ v))

    trp = np.array([tr_n[i] - float(np.sum(phi * (mx[i].T @ mx[i]))) for i in range(n_terms)])
    tr_p = tr_sinv - float(np.sum(phi * xs2x))
    ypy = ev.rss / s2
    ee = np.array([float(v @ v) for v in e])
    grad_tau = np.append(trp - ee, 0.0)
    yp2y = (ypy - float(tau @ ee)) / s2
    grad_tau[res] = tr_p - yp2y
    zpze = [[zpz(r, s, e[j]) for j, s in enumerate(terms)] for r in terms]
    hess_tau = -ie2.copy()
    for i in range(n_terms):
        for j in range(n_terms):
            hess_tau[i, j] += 2 * float(e[i] @ zpze[i][j])
        zpa = (e[i] - sum(tau[l_] * zpze[i][l_] for l_ in range(n_terms))) / s2  # Z_i' P P y
        hess_tau[i, res] = hess_tau[res, i] = -ie2[i, res] + 2 * float(e[i] @ zpa)
    apa = (yp2y - sum(tau[l_] * float(e[l_] @ ((e[l_] - sum(
        tau[m] * zpze[l_][m] for m in range(n_terms))) / s2)) for l_ in range(n_terms))) / s2
    hess_tau[res, res] += 2 * apa
    theta = np.sqrt([gam[r] for r in terms])
    sigma = np.sqrt(s2)
    n_par = n_terms + 1
    jac = np.zeros((n_comp, n_par))  # d tau / d (theta..., sigma)
    second = np.zeros((n_comp, n_par, n_par))
    for i in range(n_terms):
        jac[i, i] = 2 * s2 * theta[i]
        jac[i, -1] = 2 * sigma * theta[i] ** 2
        second[i, i, i] = 2 * s2
        second[i, i, -1] = second[i, -1, i] = 4 * sigma * theta[i]
        second[i, -1, -1] = 2 * theta[i] ** 2
    jac[res, -1] = 2 * sigma
    second[res, -1, -1] = 2.0
    hessian = jac.T @ hess_tau @ jac + np.einsum("m,mab->ab", grad_tau, second)
    dphi_tau = [phi @ (-pm) @ phi for pm in p_mats]  # d Phi / d tau_m
    dphi = [sum(jac[m, a] * dphi_tau[m] for m in range(n_comp)) for a in range(n_par)]
    return hessian, dphi, (phi, p_mats, q_x, ie2)


def fit_clustered(
    y: np.ndarray,
    x: np.ndarray,
    participant: np.ndarray,
    names: list[str] | None = None,
    therapy_group: np.ndarray | None = None,
    grouped_post: np.ndarray | None = None,
    site: np.ndarray | None = None,
) -> ClusteredFit:
    """Fit ``y ~ X + (1 | participant) [+ (0 + grouped_post | therapy_group)] [+ (1 | site)]``
    by REML.

    Parameters
    ----------
    y : ndarray, shape (N,)
    x : ndarray, shape (N, p)
        Full-rank fixed-effects design (intercept included).
    participant : array_like, shape (N,)
    names : list of str, optional
    therapy_group : array_like, shape (N,), optional
        The therapy group of each row's participant (anything for people in no group: their
        ``grouped_post`` is 0 on every row).
    grouped_post : array_like, shape (N,), optional
        1 on post-baseline rows of participants treated in a group, else 0 (needed with
        ``therapy_group``).
    site : array_like, shape (N,), optional

    Returns
    -------
    ClusteredFit

    Raises
    ------
    StructureError
        A participant in two therapy groups or at two sites.

    Examples
    --------
    The ``groups`` test data set: CFT delivered in six therapy groups, usual care in none
    (R: ``summary(lmer(score ~ time * arm + (1 | participant_id) + (0 + grouped_post |
    therapy_group), d))``: the interaction 3.543063, SE 2.345441, df 7.972425).

    >>> from pathlib import Path
    >>> import pandas as pd
    >>> folder = Path(__file__).parents[1] / "tests" / "analysis" / "data"
    >>> d = pd.read_csv(folder / "groups_scores.csv").merge(
    ...     pd.read_csv(folder / "groups_participants.csv").drop(columns="arm"))
    >>> time, uc = (d["timepoint"] == "post") * 1.0, (d["arm"] == "UC") * 1.0
    >>> x = np.column_stack([np.ones(len(d)), time, uc, time * uc])
    >>> fit = fit_clustered(d["score"], x, d["participant_id"],
    ...                     therapy_group=d["therapy_group"].fillna(""),
    ...                     grouped_post=time * d["therapy_group"].notna())
    >>> row = fit.contrast([0, 0, 0, 1])
    >>> round(row["estimate"], 4), round(row["se"], 4), round(row["df"], 3)
    (3.5431, 2.3454, 7.972)
    """
    y = np.asarray(y, dtype=float)
    x = np.asarray(x, dtype=float)
    names = list(names) if names is not None else [f"x{i}" for i in range(x.shape[1])]
    if therapy_group is not None and grouped_post is None:
        raise ValueError("therapy_group needs grouped_post")
    st = _structure(y, x, participant, therapy_group, grouped_post, site)
    if st.terms == ("participant",):
        # one variance ratio: the random-intercept model's own root finder (analysis.lmm)
        theta = np.sqrt([_optimise_gamma(_sums(y, x, np.asarray(participant)))])
    else:
        theta = _optimise(st, np.ones(len(st.terms)))
    ev = _evaluate(st, theta)
    s2 = ev.rss / (st.n_obs - st.p)
    gam = {"participant": ev.gp, "therapy_group": ev.gg, "site": ev.gs}
    variances = {r: float(gam[r] * s2) for r in st.terms}
    variances["residual"] = float(s2)
    hessian, dphi, kr_parts = _information(ev, s2)
    return ClusteredFit(
        names=names,
        beta=ev.beta,
        vcov=kr_parts[0],
        variances=variances,
        theta=theta,
        terms=st.terms,
        singular=[r for r, t in zip(st.terms, theta, strict=True) if t == 0],
        reml_criterion=_reml_criterion(ev),
        n_obs=st.n_obs,
        n_groups=len(st.n),
        n_clusters={"therapy_group": st.kg, "site": st.ks},
        varpar_cov=varpar_covariance(hessian),
        jac=dphi,
        _kr_parts=kr_parts,
    )
