"""Fixed-effects design matrices named the way the efficacy report names its terms.

Treatment coding with the first level as reference, as R's default contrasts: the baseline
timepoint, the reference arm, and the first level (alphabetically) of a categorical covariate.
Columns that add nothing to the rank (an arm without post scores makes its interaction column
all zeros) are dropped in order, as lme4 drops aliased columns, and reported as aliased.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.inference import Term

__all__ = ["Design", "build_design", "model_terms", "r_sorted"]


def r_sorted(values) -> list[str]:
    """Levels in the order R's ``factor()`` gives them in an English locale.

    R sorts factor levels with the locale's collation, which ignores case at first (``cft``
    comes before ``UC``); Python's plain ``sorted`` would put every capital first. The
    reference level (first) must match R's so published signs are reproduced.
    """
    return sorted({str(v) for v in values}, key=lambda s: (s.casefold(), s.swapcase()))


@dataclass(frozen=True)
class Design:
    """A full-rank design matrix and the names of the columns kept and dropped."""

    x: np.ndarray
    names: list[str]
    aliased: list[str]


def _covariate_columns(values: pd.Series, name: str) -> tuple[list[str], list[np.ndarray]]:
    if pd.api.types.is_numeric_dtype(values):
        return [name], [values.to_numpy(dtype=float)]
    levels = r_sorted(values.astype(str).unique())
    text = values.astype(str).to_numpy()
    return (
        [f"{name}[{lvl}]" for lvl in levels[1:]],
        [(text == lvl).astype(float) for lvl in levels[1:]],
    )


def build_design(
    data: pd.DataFrame,
    timepoints: list[str],
    arms: list[str] | None = None,
    covariates: tuple[str, ...] = (),
) -> Design:
    """Build ``score ~ time [* arm] [+ covariates]``.

    Parameters
    ----------
    data : DataFrame
        Rows with ``timepoint``, and ``arm`` when ``arms`` is given, plus the covariates.
    timepoints : list of str
        Timepoint levels; the first is the reference (baseline).
    arms : list of str, optional
        Arm levels with the reference first; omit for a single-arm design.
    covariates : tuple of str
        Participant-level columns of ``data``; text columns become indicator columns.

    Returns
    -------
    Design
    """
    names = ["(Intercept)"]
    cols = [np.ones(len(data))]
    tp = data["timepoint"].to_numpy()
    time_cols = {t: (tp == t).astype(float) for t in timepoints[1:]}
    for t, col in time_cols.items():
        names.append(f"time[{t}]")
        cols.append(col)
    if arms is not None:
        arm = data["arm"].to_numpy()
        arm_cols = {a: (arm == a).astype(float) for a in arms[1:]}
        for a, col in arm_cols.items():
            names.append(f"arm[{a}]")
            cols.append(col)
        for t, tcol in time_cols.items():
            for a, acol in arm_cols.items():
                names.append(f"time[{t}]:arm[{a}]")
                cols.append(tcol * acol)
    for cov in covariates:
        cov_names, cov_cols = _covariate_columns(data[cov], cov)
        names += cov_names
        cols += cov_cols
    x = np.column_stack(cols)
    # Rank on the (small) cross-product matrix rather than on the long design matrix.
    gram = x.T @ x
    tol = 1e-10 * max(float(np.abs(gram).max()), 1.0)
    kept: list[int] = []
    aliased: list[str] = []
    rank = 0
    for j in range(x.shape[1]):
        trial = kept + [j]
        sub = gram[np.ix_(trial, trial)]
        new_rank = int((np.linalg.eigvalsh(sub) > tol).sum()) if gram[j, j] > 0 else rank
        if new_rank > rank:
            kept, rank = trial, new_rank
        else:
            aliased.append(names[j])
    return Design(x[:, kept], [names[j] for j in kept], aliased)


def model_terms(data: pd.DataFrame, timepoints: list[str], arms: list[str],
                covariates: tuple[str, ...], design: Design) -> list[Term]:
    """The fixed terms of ``score ~ time * arm [+ covariates]`` for type III tests, in the
    order of R's ``anova()`` (main effects, covariates, then ``time:arm``).

    With two timepoints ``time`` is numeric (0/1), so the ``arm`` term tests the arms at
    baseline, as lmerTest does for that model; with three or more it is a factor.
    """
    tp = pd.Categorical(data["timepoint"], categories=timepoints).codes
    arm = pd.Categorical(data["arm"], categories=arms).codes
    numeric_time = len(timepoints) == 2
    index = {name: i for i, name in enumerate(design.names)}

    def cols(names):
        return [index[n] for n in names if n in index]

    time_ind = (tp[:, None] == np.arange(len(timepoints))).astype(float)
    arm_ind = (arm[:, None] == np.arange(len(arms))).astype(float)
    time_numeric = {"time"} if numeric_time else set()
    terms = [
        Term("time", frozenset({"time"}), frozenset(time_numeric),
             cols([f"time[{t}]" for t in timepoints[1:]]),
             time_ind[:, 1:] if numeric_time else time_ind),
        Term("arm", frozenset({"arm"}), frozenset(), cols([f"arm[{a}]" for a in arms[1:]]),
             arm_ind),
    ]
    for cov in covariates:
        values = data[cov]
        if pd.api.types.is_numeric_dtype(values):
            terms.append(Term(cov, frozenset({cov}), frozenset({cov}), cols([cov]),
                              values.to_numpy(dtype=float)[:, None]))
        else:
            levels = r_sorted(values.astype(str).unique())
            text = values.astype(str).to_numpy()
            terms.append(Term(cov, frozenset({cov}), frozenset(),
                              cols([f"{cov}[{lvl}]" for lvl in levels[1:]]),
                              np.column_stack([(text == lvl).astype(float) for lvl in levels])))
    if numeric_time:
        cells = time_ind[:, 1:2] * arm_ind
    else:
        cells = np.column_stack([time_ind[:, i] * arm_ind[:, j]
                                 for j in range(len(arms)) for i in range(len(timepoints))])
    terms.append(Term("time:arm", frozenset({"time", "arm"}), frozenset(time_numeric),
                      cols([f"time[{t}]:arm[{a}]" for t in timepoints[1:] for a in arms[1:]]),
                      cells))
    return terms
