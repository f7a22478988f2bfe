"""Report options checked against the data: one set of checks for every front end.

The report pages, ``flask report`` and ``python -m analysis`` offer the same options
(timepoints, measures, covariates, reference arm, the efficacy model and its clustering terms,
df method, ANCOVA and per-protocol population, reliability, norms, cutoff). The checks here
decide what fits the data; a failed check raises :class:`OptionError`, which names the
problem and its values so each front end can word it its own way: the pages in the reader's
language, ``python -m analysis`` with the file, row and column (:mod:`analysis.io`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

__all__ = [
    "DF_METHODS",
    "MODELS",
    "OptionError",
    "PROBLEMS",
    "complete_measures",
    "covariate_columns",
    "covariates",
    "cutoff",
    "measures",
    "missing_timepoint",
    "model_options",
    "norms",
    "reference_arm",
    "reliability",
    "timepoints",
]

#: problem -> its English sentence (``str.format`` fields are the error's values)
PROBLEMS = {
    "unknown_timepoint": "unknown timepoint {timepoint!r}",
    "too_few_timepoints": "choose at least two timepoints",
    "incomplete_measure": "measure {measure!r} has no scores at timepoint {timepoint!r}",
    "no_complete_measure": "no measure has scores at every chosen timepoint",
    "unknown_covariate": "unknown covariate {covariate!r}",
    "empty_covariate": "covariate {covariate!r} has no values",
    "unknown_arm": "unknown arm {arm!r} (arms: {arms})",
    "reliability": "the reliability must lie strictly between 0 and 1",
    "norms": "give both the normative mean and SD, or neither",
    "norm_sd": "the normative SD must be above 0",
    "cutoff": "expected a, b, c or a number",
    "unknown_df": "unknown df method {ddf!r} (one of {methods})",
    "unknown_model": "unknown model {model!r}",
    "random_needs_lmm": ("{option} belongs to the random-intercept model of a randomised trial"
                         " (--model lmm); in the unstructured model enter a site as a"
                         " covariate"),
    "kenward_roger_needs_lmm": ("Kenward-Roger df are available for the random-intercept model"
                                " of a randomised trial (--model lmm)"),
    "ancova_needs_rct": "the ANCOVA compares arms: it needs a randomised trial",
    "per_protocol_negative": "the per-protocol minimum of sessions cannot be negative",
    "missing_column": "participants need a {column!r} column",
    "no_therapy_groups": "no participant has a therapy group in column {column!r}",
}

#: participant columns that are not covariates: identifiers, outcomes of the allocation and
#: of the course (a therapy group or the sessions attended would adjust away the effect)
NOT_COVARIATES = ("participant_id", "arm", "status", "randomised_on", "therapy_group",
                  "sessions_attended", "due", "start_meeting", "cohort")
#: the denominator df methods (lmerTest's ``ddf`` argument, lower case)
DF_METHODS = ("satterthwaite", "kenward-roger")
#: the efficacy models of a randomised trial: random intercept, unstructured covariance
MODELS = ("lmm", "mmrm")
#: participants column of the sessions attended (per-protocol population)
SESSIONS_ATTENDED = "sessions_attended"


class OptionError(ValueError):
    """A report option that does not fit the data: ``problem`` (a key of :data:`PROBLEMS`)
    and ``values`` say which and about what."""

    def __init__(self, problem: str, **values) -> None:
        super().__init__(PROBLEMS[problem].format(**values))
        self.problem, self.values = problem, values


def timepoints(chosen: Sequence[str], schedule: Sequence[str], at_least: int = 2) -> list[str]:
    """The chosen timepoints in schedule order; each must be in the schedule."""
    for tp in chosen:
        if tp not in schedule:
            raise OptionError("unknown_timepoint", timepoint=tp)
    if len(chosen) < at_least:
        raise OptionError("too_few_timepoints")
    return [tp for tp in schedule if tp in chosen]


def missing_timepoint(scores: pd.DataFrame, measure: str, timepoints: Sequence[str]
                      ) -> str | None:
    """The first of ``timepoints`` at which ``measure`` has no score, or None."""
    rows = scores[(scores["measure"] == measure) & scores["score"].notna()]
    seen = set(rows["timepoint"])
    return next((tp for tp in timepoints if tp not in seen), None)


def complete_measures(scores: pd.DataFrame, timepoints: Sequence[str]) -> list[str]:
    """Measures with at least one score at every one of the timepoints, sorted."""
    present = scores.dropna(subset=["score"])
    seen = present.groupby("measure")["timepoint"].agg(set)
    return sorted(m for m, tps in seen.items() if set(timepoints) <= tps)


def measures(scores: pd.DataFrame, timepoints: Sequence[str],
             chosen: Sequence[str] | None = None) -> list[str]:
    """The chosen measures, each with scores at every timepoint; without a choice, every
    measure that has them (at least one)."""
    if chosen:
        for measure in chosen:
            missing = missing_timepoint(scores, measure, timepoints)
            if missing is not None:
                raise OptionError("incomplete_measure", measure=measure, timepoint=missing)
        return list(chosen)
    complete = complete_measures(scores, timepoints)
    if not complete:
        raise OptionError("no_complete_measure")
    return complete


def covariate_columns(participants: pd.DataFrame) -> list[str]:
    """The participant columns a model can adjust for (gender, age, baseline variables)."""
    return [c for c in participants.columns if c not in NOT_COVARIATES]


def covariates(participants: pd.DataFrame, chosen: Sequence[str]) -> None:
    """Each chosen covariate is a covariate column with at least one value."""
    for covariate in chosen:
        if covariate not in covariate_columns(participants):
            raise OptionError("unknown_covariate", covariate=covariate)
        if participants[covariate].isna().all():
            raise OptionError("empty_covariate", covariate=covariate)


def reference_arm(scores: pd.DataFrame, arm: str) -> None:
    """A reference arm must be one of the scored arms (unless there is only one arm)."""
    arms = sorted(scores["arm"].unique())
    if len(arms) > 1 and arm not in arms:
        raise OptionError("unknown_arm", arm=arm, arms=", ".join(arms))


def reliability(value: float) -> None:
    if not 0 < value < 1:
        raise OptionError("reliability")


def norms(mean: float | None, sd: float | None) -> None:
    """The normative mean and SD come together, the SD above 0."""
    if (mean is None) != (sd is None):
        raise OptionError("norms")
    if sd is not None and sd <= 0:
        raise OptionError("norm_sd")


def cutoff(text: str) -> str | float:
    """The Jacobson–Truax cutoff: ``a``, ``b``, ``c`` or a finite number."""
    if text in ("a", "b", "c"):
        return text
    try:
        value = float(text)
    except ValueError:
        raise OptionError("cutoff") from None
    if not math.isfinite(value):
        raise OptionError("cutoff")
    return value


def model_options(design: str, participants: pd.DataFrame | None, *, model: str = "lmm",
                  random: str | None = None, therapy_group: str | None = None,
                  ddf: str = "satterthwaite", ancova: bool = False,
                  per_protocol: int | None = None) -> None:
    """The efficacy model's options fit the design (``rct`` or ``single_arm``) and the
    participants table has the columns they name: a site (``random``) and a therapy group
    belong to the random-intercept model of a randomised trial, as Kenward–Roger df do; the
    ANCOVA compares arms; the per-protocol population needs ``sessions_attended``."""
    if ddf not in DF_METHODS:
        raise OptionError("unknown_df", ddf=ddf, methods=", ".join(DF_METHODS))
    if model not in MODELS:
        raise OptionError("unknown_model", model=model)
    random_intercept = design == "rct" and model == "lmm"
    for option, value in (("--random", random), ("--therapy-group", therapy_group)):
        if value is not None and not random_intercept:
            raise OptionError("random_needs_lmm", option=option)
    if ddf != "satterthwaite" and not random_intercept:
        raise OptionError("kenward_roger_needs_lmm")
    if ancova and design != "rct":
        raise OptionError("ancova_needs_rct")
    needed = [c for c in (random, therapy_group) if c is not None]
    if per_protocol is not None:
        needed.append(SESSIONS_ATTENDED)
        if per_protocol < 0:
            raise OptionError("per_protocol_negative")
    for column in needed:
        if participants is None or column not in participants.columns:
            raise OptionError("missing_column", column=column)
    if therapy_group is not None:
        groups = participants[therapy_group]
        if not (groups.notna() & (groups.astype(str) != "")).any():
            raise OptionError("no_therapy_groups", column=therapy_group)
