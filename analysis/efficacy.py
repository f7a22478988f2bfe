"""The efficacy report: descriptives and model effects per measure, as the data contract's JSON.

Two designs, chosen by the number of arms:

``rct``
    ``score ~ time * arm + (1 | participant)``, REML, all available observations
    (intent-to-treat), the papers' model (:mod:`analysis.lmm`). The effects are the
    time x arm interaction terms. With ``model="mmrm"`` the same fixed effects are fitted with
    an unstructured covariance across timepoints instead (:mod:`analysis.mmrm`).
``single_arm``
    ``score ~ time [+ covariates]`` with an unstructured covariance across timepoints, REML
    (the MSC paper's SAS PROC MIXED model). The effects are the time terms and covariates.

"Completers" are participants with a score at every requested timepoint of the measure.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from analysis.descriptives import describe
from analysis.design import build_design, r_sorted
from analysis.lmm import fit_random_intercept
from analysis.mmrm import fit_unstructured
from analysis.notes import note

__all__ = ["efficacy_report", "sign_convention"]

WALD_Z = float(stats.norm.ppf(0.975))


def _num(value) -> float | None:
    """A plain JSON number, or None for NaN / infinity."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _effect_row(term: str, c: dict | None, with_d: bool, warning: str | None = None) -> dict:
    keys = ["estimate", "se", "df", "t", "p", "ci_low", "ci_high", "wald_ci_low", "wald_ci_high"]
    if with_d:
        keys.append("d")
    row: dict = {"term": term}
    if c is None:
        row.update(dict.fromkeys(keys))
        row["warning"] = warning or note("not_estimable")
        return row
    est, se, df, t = c["estimate"], c["se"], c["df"], c["t"]
    q = stats.t.ppf(0.975, df) if math.isfinite(df) else WALD_Z
    row.update(
        estimate=_num(est),
        se=_num(se),
        df=_num(df),
        t=_num(t),
        p=_num(c["p"]),
        ci_low=_num(est - q * se),
        ci_high=_num(est + q * se),
        wald_ci_low=_num(est - WALD_Z * se),
        wald_ci_high=_num(est + WALD_Z * se),
    )
    if with_d:
        row["d"] = _num(2 * t / math.sqrt(df)) if math.isfinite(df) and df > 0 else None
    if warning:
        row["warning"] = warning
    return row


def sign_convention(timepoints: Sequence[str], arms: Sequence[str], reference_arm: str) -> str:
    """State in words which way the interaction estimates run."""
    others = [a for a in arms if a != reference_arm]
    other = others[0] if len(others) == 1 else "each other arm"
    return (
        f"Each time[t]:arm[{other}] estimate is the change from {timepoints[0]} to t in {other} "
        f"minus the same change in {reference_arm} (the reference arm): a positive value means "
        f"scores rose more, or fell less, in {other} than in {reference_arm}."
    )


def _data_warnings(data: pd.DataFrame, timepoints: Sequence[str], arms: Sequence[str]) -> list:
    notes = []
    for arm in arms:
        for tp in timepoints:
            cell = data.loc[(data["arm"] == arm) & (data["timepoint"] == tp), "score"]
            if cell.empty:
                notes.append(note("arm_no_scores", arm=arm, timepoint=tp))
            elif len(cell) > 1 and cell.nunique() == 1:
                notes.append(note("constant_in_arm", timepoint=tp, arm=arm))
    per_participant = data.groupby("participant_id", observed=True).size()
    single = int((per_participant == 1).sum())
    if single:
        notes.append(note("single_observation", n=single))
    return notes


def _fit_effects(
    data: pd.DataFrame,
    timepoints: list[str],
    arms: list[str] | None,
    covariates: tuple[str, ...],
    model: str,
) -> tuple[list[dict], dict | None, list[str]]:
    """Fit one measure; return effect rows, variance components and warnings."""
    notes: list[str] = []
    design = build_design(data, timepoints, arms, covariates)
    if arms is not None:
        wanted = [f"time[{t}]:arm[{a}]" for t in timepoints[1:] for a in arms[1:]]
    else:
        wanted = [n for n in design.names if n != "(Intercept)"] + design.aliased
    y = data["score"].to_numpy(dtype=float)
    ids = data["participant_id"]
    groups = ids.cat.codes.to_numpy() if isinstance(ids.dtype, pd.CategoricalDtype) else ids
    groups = np.asarray(groups)
    n_per = data.groupby("participant_id", observed=True).size()
    fit = None
    if np.ptp(y) == 0:
        notes.append(note("constant_scores"))
    elif y.size <= len(design.names):
        notes.append(note("too_few_observations"))
    elif model == "lmm" and arms is not None:
        if (n_per > 1).sum() == 0:
            notes.append(note("no_repeated_observation"))
        else:
            fit = fit_random_intercept(y, design.x, groups, design.names)
            if fit.sigma2 <= 1e-10 * float(np.var(y)):
                notes.append(note("zero_residual"))
                fit = None
            elif not np.isfinite(fit.varpar_cov).all():
                notes.append(note("singular_hessian"))
            if fit is not None and fit.sigma2_participant == 0:
                notes.append(note("boundary_fit"))
    else:
        time_index = data["timepoint"].map({t: i for i, t in enumerate(timepoints)}).to_numpy()
        constant = [
            t for t in timepoints
            if data.loc[data["timepoint"] == t, "score"].nunique() <= 1
        ]
        if constant:
            notes.append(note("unstructured_constant", timepoints=", ".join(constant)))
        else:
            fit = fit_unstructured(y, design.x, groups, time_index, len(timepoints), design.names)
            if not fit.converged:
                notes.append(fit.warning or note("unstructured_not_converged"))
                fit = None

    rows = []
    for term in wanted:
        if fit is None:
            rows.append(_effect_row(term, None, arms is not None, "; ".join(notes) or None))
        elif term in design.aliased:
            rows.append(_effect_row(term, None, arms is not None,
                                    note("aliased", term=term)))
        else:
            rows.append(_effect_row(term, fit.coef(term), arms is not None))
    variance = None
    if fit is not None:
        if hasattr(fit, "sigma2_participant"):
            variance = {"participant": _num(fit.sigma2_participant), "residual": _num(fit.sigma2)}
        else:
            variance = {}
            for i, ti in enumerate(timepoints):
                variance[ti] = _num(fit.sigma[i, i])
                for j in range(i):
                    variance[f"{timepoints[j]}:{ti}"] = _num(fit.sigma[j, i])
    return rows, variance, notes


def _completers(data: pd.DataFrame, timepoints: Sequence[str]) -> pd.DataFrame:
    counts = data.groupby("participant_id", observed=True)["timepoint"].nunique()
    keep = counts.index[counts == len(timepoints)]
    return data[data["participant_id"].isin(keep)]


def efficacy_report(
    scores: pd.DataFrame,
    participants: pd.DataFrame | None,
    timepoints: Sequence[str],
    reference_arm: str | None = None,
    covariates: Iterable[str] = (),
    completers_only: bool = False,
    measures: Iterable[str] | None = None,
    model: str = "lmm",
) -> dict:
    """Descriptives and model effects for every measure.

    Parameters
    ----------
    scores : DataFrame
        Tidy scores (``participant_id, arm, timepoint, measure, score``); rows with an empty
        score are ignored.
    participants : DataFrame or None
        ``participant_id`` plus the covariate columns; needed only for covariates.
    timepoints : sequence of str
        Timepoints in schedule order; the first is the baseline. Rows at other timepoints
        are left out.
    reference_arm : str, optional
        Reference arm of an RCT; defaults to the first arm alphabetically (R's choice).
    covariates : iterable of str
        Participant-level covariates (columns of ``participants``).
    completers_only : bool
        Analyse only participants with a score at every timepoint (per measure).
    measures : iterable of str, optional
        Measures to report; all by default, in order of first appearance.
    model : {"lmm", "mmrm"}
        For an RCT, the random-intercept model (default, the papers' model) or the
        unstructured-covariance MMRM. A single-arm study always uses the unstructured model.

    Returns
    -------
    dict
        The data contract's efficacy JSON: ``design``, ``reference_arm`` (RCT),
        ``timepoints``, ``measures`` (``descriptives``, ``n_participants``,
        ``n_observations``, ``variance``, ``effects``), with ``null`` and a ``warning`` string
        where a value cannot be estimated, and ``sign_convention`` in words.

    References
    ----------
    Kuznetsova, A., Brockhoff, P. B., & Christensen, R. H. B. (2017). lmerTest package:
    tests in linear mixed effects models. Journal of Statistical Software, 82(13).
    Kleiman, E. (2017). EMAtools: lme.dscore (d = 2t / sqrt(df)).
    """
    timepoints = list(timepoints)
    covariates = tuple(covariates)
    if model not in ("lmm", "mmrm"):
        raise ValueError(f"unknown model {model!r}")
    data = scores[scores["timepoint"].isin(timepoints)].copy()
    arms = r_sorted(data["arm"].dropna().astype(str).unique())
    report: dict = {"design": "rct" if len(arms) > 1 else "single_arm"}
    top_notes = []
    if report["design"] == "rct":
        if reference_arm is None:
            reference_arm = arms[0]
        elif reference_arm not in arms:
            raise ValueError(f"unknown reference arm {reference_arm!r} (arms: {', '.join(arms)})")
        model_arms = [reference_arm] + [a for a in arms if a != reference_arm]
        report["reference_arm"] = reference_arm
        report["sign_convention"] = sign_convention(timepoints, model_arms, reference_arm)
    else:
        model_arms = None
        if reference_arm is not None:
            top_notes.append(note("reference_arm_ignored", arm=reference_arm))
    report["timepoints"] = timepoints
    if top_notes:
        report["warning"] = "; ".join(top_notes)
    if covariates:
        if participants is None:
            raise ValueError("covariates need the participants table")
        data = data.merge(
            participants[["participant_id", *covariates]], on="participant_id", how="left"
        )
    if measures is None:
        measures = list(pd.unique(data["measure"]))
    report["measures"] = {}
    # Categorical identifiers make the per-measure grouping and comparisons cheap.
    data = data.dropna(subset=["score", *covariates]).astype(
        {"participant_id": "category", "arm": "category", "timepoint": "category"}
    )
    by_measure = dict(tuple(data.groupby("measure", sort=False)))
    for measure in measures:
        m_data = by_measure.get(measure, data.iloc[0:0])
        if completers_only:
            m_data = _completers(m_data, timepoints)
        m_data = m_data.reset_index(drop=True)
        table = describe(m_data, timepoints, model_arms or arms)
        notes = _data_warnings(m_data, timepoints, model_arms or arms)
        effects, variance, fit_notes = _fit_effects(
            m_data, timepoints, model_arms, covariates, model
        )
        entry = {
            "descriptives": [
                {
                    "arm": r.arm,
                    "timepoint": r.timepoint,
                    "n": int(r.n),
                    "mean": _num(r.mean),
                    "sd": _num(r.sd),
                }
                for r in table.itertuples()
            ],
            "n_participants": int(m_data["participant_id"].nunique()),
            "n_observations": len(m_data),
            "variance": variance,
            "effects": effects,
        }
        all_notes = notes + [n for n in fit_notes if n not in notes]
        if all_notes:
            entry["warning"] = "; ".join(all_notes)
        report["measures"][measure] = entry
    return report
