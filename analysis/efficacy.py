"""The efficacy report: descriptives and model effects per measure, as the data contract's JSON.

Two designs, chosen by the number of arms:

``rct``
    ``score ~ time * arm + (1 | participant)``, REML, all available observations
    (intent-to-treat), the papers' model (:mod:`analysis.lmm`). The effects are the
    time x arm interaction terms. With ``model="mmrm"`` the same fixed effects are fitted with
    an unstructured covariance across timepoints instead (:mod:`analysis.mmrm`).
    The data contract's clustered designs and sensitivity analyses add to the random-intercept
    model (:mod:`analysis.clustered`): a site random intercept (``random``), the partially
    nested therapy-group term (``therapy_group``), Kenward–Roger df (``ddf``), type III F
    tests of each term (``tests``, as lmerTest's ``anova()``), each arm's difference from the
    reference arm at every timepoint (``contrasts``, as emmeans), a baseline-adjusted ANCOVA
    per later timepoint (``ancova``, :mod:`analysis.ancova`) and a per-protocol population.
``single_arm``
    ``score ~ time [+ covariates]`` with an unstructured covariance across timepoints, REML
    (the MSC paper's SAS PROC MIXED model). The effects are the time terms and covariates.

"Completers" are participants with a score at every requested timepoint of the measure.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analysis.ancova import ancova as fit_ancova
from analysis.clustered import StructureError, fit_clustered
from analysis.descriptives import describe
from analysis.design import build_design, model_terms, r_sorted
from analysis.inference import type3_contrasts
from analysis.lmm import fit_random_intercept
from analysis.mmrm import fit_unstructured
from analysis.notes import note
from analysis.numbers import finite as _num
from analysis.options import DF_METHODS, SESSIONS_ATTENDED
from analysis.options import model_options as check_model_options

__all__ = ["DF_METHODS", "efficacy_report", "formula", "sign_convention"]


WALD_Z = float(stats.norm.ppf(0.975))



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


@dataclass(frozen=True)
class _Options:
    """The model options of one report (see :func:`efficacy_report`)."""

    model: str = "lmm"
    random: str | None = None
    therapy_group: str | None = None
    ddf: str = "satterthwaite"

    @property
    def clustered(self) -> bool:
        return (self.random is not None or self.therapy_group is not None
                or self.ddf != "satterthwaite")


def _fit_lmm(data, design, groups, timepoints, options: _Options):
    """The random-intercept model, with the clustering terms when asked for."""
    y = data["score"].to_numpy(dtype=float)
    if not options.clustered:
        return fit_random_intercept(y, design.x, groups, design.names)
    kwargs = {}
    if options.therapy_group is not None:
        label = data[options.therapy_group].astype(object)
        grouped = label.notna() & (label.astype(str) != "")
        later = (data["timepoint"].astype(str) != timepoints[0]).to_numpy()
        kwargs["therapy_group"] = label.where(grouped, "").astype(str).to_numpy()
        kwargs["grouped_post"] = (grouped.to_numpy() & later).astype(float)
    if options.random is not None:
        kwargs["site"] = data[options.random].astype(str).to_numpy()
    return fit_clustered(y, design.x, groups, design.names, **kwargs)


def _contrast(fit, weights, ddf: str) -> dict:
    if hasattr(fit, "kenward_roger"):
        return fit.contrast(weights, ddf)
    return fit.contrast(weights)


def _f_test(fit, lmat, ddf: str) -> dict:
    if hasattr(fit, "kenward_roger"):
        return fit.f_test(lmat, ddf)
    return fit.f_test(lmat)


def _fit_effects(
    data: pd.DataFrame,
    timepoints: list[str],
    arms: list[str] | None,
    covariates: tuple[str, ...],
    options: _Options,
) -> tuple[list[dict], dict | None, list[str], list[dict] | None, list[dict] | None]:
    """Fit one measure; return effect rows, variance components, warnings, type III tests
    and per-timepoint contrasts (the last two for the random-intercept model of an RCT)."""
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
    lmm = options.model == "lmm" and arms is not None
    if np.ptp(y) == 0:
        notes.append(note("constant_scores"))
    elif y.size <= len(design.names):
        notes.append(note("too_few_observations"))
    elif lmm:
        if (n_per > 1).sum() == 0:
            notes.append(note("no_repeated_observation"))
        else:
            fit = _fit_lmm(data, design, groups, timepoints, options)
            if fit.sigma2 <= 1e-10 * float(np.var(y)):
                notes.append(note("zero_residual"))
                fit = None
            elif not np.isfinite(fit.varpar_cov).all():
                notes.append(note("singular_hessian"))
            if fit is not None:
                singular = (["participant"] if fit.sigma2_participant == 0 else []) if (
                    not hasattr(fit, "singular")) else fit.singular
                for term in singular:
                    if term == "participant":
                        notes.append(note("boundary_fit"))
                    else:
                        name = options.random if term == "site" else term
                        notes.append(note("boundary_term", term=name))
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

    d_warning = note("d_clustered") if (
        lmm and options.therapy_group is not None) else None
    rows = []
    for term in wanted:
        if fit is None:
            rows.append(_effect_row(term, None, arms is not None, "; ".join(notes) or None))
        elif term in design.aliased:
            rows.append(_effect_row(term, None, arms is not None,
                                    note("aliased", term=term)))
        else:
            weights = np.zeros(len(design.names))
            weights[design.names.index(term)] = 1.0
            rows.append(_effect_row(term, _contrast(fit, weights, options.ddf),
                                    arms is not None, d_warning))
    variance = None
    if fit is not None:
        if hasattr(fit, "variances"):
            variance = {"participant": _num(fit.variances["participant"]),
                        "residual": _num(fit.variances["residual"])}
            if "therapy_group" in fit.variances:
                variance["therapy_group"] = _num(fit.variances["therapy_group"])
            if "site" in fit.variances:
                variance[options.random] = _num(fit.variances["site"])
        elif hasattr(fit, "sigma2_participant"):
            variance = {"participant": _num(fit.sigma2_participant), "residual": _num(fit.sigma2)}
        else:
            variance = {}
            for i, ti in enumerate(timepoints):
                variance[ti] = _num(fit.sigma[i, i])
                for j in range(i):
                    variance[f"{timepoints[j]}:{ti}"] = _num(fit.sigma[j, i])
    tests = contrasts = None
    if lmm:
        tests = _tests(fit, data, design, timepoints, arms, covariates, options.ddf,
                       "; ".join(notes) or None)
        contrasts = _contrasts(fit, design, timepoints, arms, options.ddf,
                               "; ".join(notes) or None)
    return rows, variance, notes, tests, contrasts


def _tests(fit, data, design, timepoints, arms, covariates, ddf, why) -> list[dict]:
    """Type III F tests of every term, as lmerTest's ``anova()`` with the same df method."""
    terms = model_terms(data, timepoints, arms, covariates, design)
    rows = []
    matrices = type3_contrasts(design.x, terms) if fit is not None else {}
    for term in terms:
        lmat = matrices.get(term.name)
        if fit is None or lmat is None or not len(lmat):
            rows.append({"term": term.name, "f": None, "num_df": None, "den_df": None,
                         "p": None, "warning": why or note("not_estimable")})
            continue
        out = _f_test(fit, lmat, ddf)
        rows.append({"term": term.name, "f": _num(out["f"]), "num_df": int(out["num_df"]),
                     "den_df": _num(out["den_df"]), "p": _num(out["p"])})
    return rows


def _contrasts(fit, design, timepoints, arms, ddf, why) -> list[dict]:
    """Each non-reference arm minus the reference arm at every timepoint, as
    ``emmeans(fit, ~ arm | time)`` with ``trt.vs.ctrl`` contrasts, ``adjust = "none"``."""
    rows = []
    for tp in timepoints:
        for arm in arms[1:]:
            row = {"timepoint": tp, "contrast": f"{arm} - {arms[0]}"}
            needed = [f"arm[{arm}]"] + ([f"time[{tp}]:arm[{arm}]"] if tp != timepoints[0] else [])
            keys = ["estimate", "se", "df", "t", "p", "ci_low", "ci_high"]
            if fit is None or any(n not in design.names for n in needed):
                row.update(dict.fromkeys(keys))
                row["warning"] = why or note("not_estimable")
                rows.append(row)
                continue
            weights = np.zeros(len(design.names))
            for n in needed:
                weights[design.names.index(n)] = 1.0
            c = _contrast(fit, weights, ddf)
            full = _effect_row("", c, False)
            row.update({k: full[k] for k in keys})
            rows.append(row)
    return rows


def _ancova_rows(data, timepoints, arms, covariates) -> list[dict]:
    rows = []
    for r in fit_ancova(data, timepoints, arms, covariates):
        c = None if r["estimate"] is None else r
        row = _effect_row(r["term"], c, True, None if c else note("not_estimable"))
        rows.append({"term": row.pop("term"), "model": "ancova", "n": r["n"], **row})
    return rows


def formula(design: str, covariates: Sequence[str] = (), model: str = "lmm",
            random: str | None = None, therapy_group: str | None = None) -> str:
    """The fitted model in R's syntax (lme4's for the random-intercept model, mmrm's for the
    unstructured one), e.g. ``score ~ time * arm + (1 | participant_id)``."""
    fixed = "score ~ time" + (" * arm" if design == "rct" else "")
    fixed += "".join(f" + {c}" for c in covariates)
    if design == "rct" and model == "lmm":
        out = fixed + " + (1 | participant_id)"
        if random is not None:
            out += f" + (1 | {random})"
        if therapy_group is not None:
            out += f" + (0 + grouped_post | {therapy_group})"
        return out
    return fixed + " + us(time | participant_id)"


def _completers(data: pd.DataFrame, timepoints: Sequence[str]) -> pd.DataFrame:
    counts = data.groupby("participant_id", observed=True)["timepoint"].nunique()
    keep = counts.index[counts == len(timepoints)]
    return data[data["participant_id"].isin(keep)]


def _per_protocol(data: pd.DataFrame, participants: pd.DataFrame, minimum: int
                  ) -> tuple[pd.DataFrame, int]:
    """Keep participants of session-delivering arms (those with any ``sessions_attended``)
    who attended at least ``minimum`` sessions, and every participant of the other arms."""
    attended = pd.to_numeric(participants[SESSIONS_ATTENDED], errors="coerce")
    delivering = set(participants.loc[attended.notna(), "arm"].astype(str))
    out = participants.loc[participants["arm"].astype(str).isin(delivering)
                           & ~(attended >= minimum), "participant_id"]
    excluded = set(out.astype(str))
    ids = data["participant_id"].astype(str)
    dropped = int(ids[ids.isin(excluded)].nunique())
    return data[~ids.isin(excluded)], dropped


def efficacy_report(
    scores: pd.DataFrame,
    participants: pd.DataFrame | None,
    timepoints: Sequence[str],
    reference_arm: str | None = None,
    covariates: Iterable[str] = (),
    completers_only: bool = False,
    measures: Iterable[str] | None = None,
    model: str = "lmm",
    *,
    random: str | None = None,
    therapy_group: str | None = None,
    ddf: str = "satterthwaite",
    ancova: bool = False,
    per_protocol: int | None = None,
) -> dict:
    """Descriptives and model effects for every measure.

    Parameters
    ----------
    scores : DataFrame
        Tidy scores (``participant_id, arm, timepoint, measure, score``); rows with an empty
        score are ignored.
    participants : DataFrame or None
        ``participant_id`` plus the covariate, site, therapy-group and sessions-attended
        columns the options name; needed only for those.
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
    random : str, optional
        A participants column (e.g. ``site``) whose levels get a random intercept:
        ``+ (1 | site)``; its variance is reported under the column's name.
    therapy_group : str, optional
        A participants column naming the therapy group each participant was treated in
        (empty: none, e.g. usual care): the partially nested term ``+ (0 + grouped_post |
        therapy_group)``, ``grouped_post`` being 1 on the post-baseline rows of grouped
        participants. The effects' ``d`` then carry a warning: their df fall to about the
        number of groups, which inflates ``d = 2t / sqrt(df)``.
    ddf : {"satterthwaite", "kenward-roger"}
        Denominator df of effects, tests and contrasts; Kenward–Roger also uses pbkrtest's
        adjusted covariance for the SE, t, p, CIs and ``d``.
    ancova : bool
        Add, per later timepoint, ``lm(score_t ~ score_baseline + arm [+ covariates])`` over
        the participants with both scores: effect rows with ``"model": "ancova"`` and term
        ``arm[UC]@post``.
    per_protocol : int, optional
        Keep only participants of session-delivering arms (those with any
        ``sessions_attended``) who attended at least this many sessions, and the other arms
        whole; the report says ``"population": "per_protocol"`` and how many were
        ``"excluded"``.

    Returns
    -------
    dict
        The data contract's efficacy JSON: ``design``, ``reference_arm`` (RCT),
        ``timepoints``, ``df_method``, ``formula`` (and ``ancova_formula``),
        ``reference_levels`` of text covariates, ``measures``
        (``descriptives``, ``n_participants``, ``n_observations``, ``variance``,
        ``effects``, and for the random-intercept model of an RCT ``tests`` and
        ``contrasts``), with ``null`` and a ``warning`` string where a value cannot be
        estimated, and ``sign_convention`` in words.

    Raises
    ------
    ValueError
        Unknown reference arm, model or df method; an option the design does not support;
        a column an option needs missing from ``participants`` (the last three an
        :class:`analysis.options.OptionError`).

    Examples
    --------
    The ``cft`` test data (R: ``summary(lmer(score ~ time * arm + (1 | participant_id),
    d))`` gives 8.200702 with 14.62 Satterthwaite df for the BDI-II interaction):

    >>> from pathlib import Path
    >>> import pandas as pd
    >>> folder = Path(__file__).parents[1] / "tests" / "analysis" / "data"
    >>> scores = pd.read_csv(folder / "cft_scores.csv")
    >>> report = efficacy_report(scores, None, ["pre", "post"], measures=["BDI-II"])
    >>> effect = report["measures"]["BDI-II"]["effects"][0]
    >>> effect["term"], round(effect["estimate"], 4), round(effect["df"], 2)
    ('time[post]:arm[UC]', 8.2007, 14.62)

    Its type III tests (R: ``anova(m)``: F 8.84471, 0.53313 and 2.57047):

    >>> [(t["term"], round(t["f"], 4)) for t in report["measures"]["BDI-II"]["tests"]]
    [('time', 8.8447), ('arm', 0.5331), ('time:arm', 2.5705)]

    References
    ----------
    Kuznetsova, A., Brockhoff, P. B., & Christensen, R. H. B. (2017). lmerTest package:
    tests in linear mixed effects models. Journal of Statistical Software, 82(13).
    Kleiman, E. (2017). EMAtools: lme.dscore (d = 2t / sqrt(df)).
    Lenth, R. V. (2023). emmeans: Estimated Marginal Means. R package.
    """
    timepoints = list(timepoints)
    covariates = tuple(covariates)
    options = _Options(model, random, therapy_group, ddf)
    data = scores[scores["timepoint"].isin(timepoints)].copy()
    arms = r_sorted(data["arm"].dropna().astype(str).unique())
    report: dict = {"design": "rct" if len(arms) > 1 else "single_arm"}
    check_model_options(report["design"], participants, model=model, random=random,
                        therapy_group=therapy_group, ddf=ddf, ancova=ancova,
                        per_protocol=per_protocol)
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
    report["df_method"] = ddf
    report["formula"] = formula(report["design"], covariates, model, random, therapy_group)
    if ancova:
        report["ancova_formula"] = (f"score[t] ~ score[{timepoints[0]}] + arm"
                                    + "".join(f" + {c}" for c in covariates))
    if per_protocol is not None:
        data, excluded = _per_protocol(data, participants, per_protocol)
        report["population"] = "per_protocol"
        report["per_protocol_min_sessions"] = per_protocol
        report["excluded"] = excluded
    if top_notes:
        report["warning"] = "; ".join(top_notes)
    extra = list(dict.fromkeys(c for c in (*covariates, random, therapy_group) if c))
    if extra:
        if participants is None:
            raise ValueError("covariates need the participants table")
        data = data.merge(participants[["participant_id", *extra]], on="participant_id",
                          how="left")
    levels = {c: r_sorted(data[c].dropna().astype(str).unique())[0] for c in covariates
              if not pd.api.types.is_numeric_dtype(data[c]) and data[c].notna().any()}
    if levels:
        report["reference_levels"] = levels  # of text covariates: R's first factor level
    if measures is None:
        measures = list(pd.unique(data["measure"]))
    report["measures"] = {}
    required = [c for c in (*covariates, random) if c]
    # Categorical identifiers make the per-measure grouping and comparisons cheap.
    data = data.dropna(subset=["score", *required]).astype(
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
        try:
            effects, variance, fit_notes, tests, contrasts = _fit_effects(
                m_data, timepoints, model_arms, covariates, options)
        except StructureError as exc:
            raise ValueError(str(exc)) from None
        if ancova:
            effects += _ancova_rows(m_data, timepoints, model_arms, covariates)
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
        if tests is not None:
            entry["tests"] = tests
            entry["contrasts"] = contrasts
        all_notes = notes + [n for n in fit_notes if n not in notes]
        if all_notes:
            entry["warning"] = "; ".join(all_notes)
        report["measures"][measure] = entry
    return report
