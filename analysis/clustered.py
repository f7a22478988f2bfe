"""Mixed models for clustered trials: participant, therapy group and site random intercepts.

The model is R's

``lmer(score ~ X + (1 | participant) + (0 + grouped_post | therapy_group) + (1 | site))``

with either clustering term optional: ``y = X beta + Z_p b_p + Z_g b_g + Z_s b_s + e`` where
``Z_g`` carries ``grouped_post`` (1 on the post-baseline rows of participants treated in a
group, else 0: a partially nested design, Bauer et al. 2008) and every participant belongs to
at most one therapy group and one site. Fitted by REML, with lme4's parameters: the relative
standard deviations ``theta = (sigma_p, sigma_g, sigma_s) / sigma``.

The REML criterion and its optimiser live in :mod:`analysis.clustered_reml`.

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

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from analysis.clustered_reml import (
    StructureError,
    _Eval,
    _evaluate,
    _optimise,
    _reml_criterion,
    _structure,
)
from analysis.inference import (
    KenwardRoger,
    satterthwaite_f,
    satterthwaite_t,
    varpar_covariance,
)
from analysis.lmm import _optimise_gamma, _sums

__all__ = ["ClusteredFit", "StructureError", "fit_clustered"]


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
