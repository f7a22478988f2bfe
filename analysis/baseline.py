"""The baseline characteristics table: each characteristic summarised per group (arm, or
completers and non-completers) with the test that suits it.

Numbers: mean and SD per group; Student's t when the groups' variances may be taken as equal
(Brown-Forsythe test, i.e. Levene's centred on the median as R's ``car::leveneTest`` default,
p >= 0.05), otherwise Welch's t; with more than two groups one-way ANOVA or Welch's ANOVA on
the same rule. Categories: n and % per group; Pearson's chi-square (no continuity correction,
R's ``chisq.test(correct = FALSE)``) when every expected count is at least 5 (Cochran's rule),
otherwise Fisher's exact test. Missing values are left out of each characteristic's test.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from analysis.design import r_sorted

__all__ = ["compare_numbers", "compare_categories", "baseline_table", "completion_groups"]

#: below this p of the Brown-Forsythe test the variances are taken as unequal (Welch)
EQUAL_VARIANCE_ALPHA = 0.05


def _num(value) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def compare_numbers(samples: Sequence[Sequence[float]]) -> dict:
    """The test of a number characteristic between groups.

    Parameters
    ----------
    samples : sequence of sequences of float
        The values of each group (at least two groups, two values each).

    Returns
    -------
    dict
        ``test`` (``Student t``, ``Welch t``, ``ANOVA`` or ``Welch ANOVA``), ``statistic``,
        ``df`` (for t), ``p`` and ``equal_variance_p`` (the Brown-Forsythe test's p).

    Examples
    --------
    Equal spreads give Student's t: t = -2 on 8 df, p = 0.0805 (mean difference -2, pooled
    variance 2.5, SE sqrt(2.5 * 2/5) = 1; R: ``t.test(a, b, var.equal = TRUE)``):

    >>> r = compare_numbers([[1, 2, 3, 4, 5], [3, 4, 5, 6, 7]])
    >>> r["test"], r["statistic"], r["df"], round(r["p"], 4)
    ('Student t', -2.0, 8.0, 0.0805)

    Variances of 3.5 and 1400 give Welch's t: SE sqrt(3.5/6 + 1400/6) = 15.294, t = -37.5 /
    15.294 = -2.4519 on Welch-Satterthwaite df 5.025 (R: ``t.test(a, b)``):

    >>> r = compare_numbers([[10, 11, 12, 13, 14, 15], [0, 20, 40, 60, 80, 100]])
    >>> r["test"], round(r["statistic"], 4), round(r["df"], 3), round(r["p"], 4)
    ('Welch t', -2.4519, 5.025, 0.0576)
    """
    groups = [np.asarray(s, dtype=float) for s in samples]
    if len(groups) < 2 or any(len(g) < 2 for g in groups):
        return {"test": None, "statistic": None, "df": None, "p": None,
                "equal_variance_p": None}
    spread = stats.levene(*groups, center="median")
    equal = not (_num(spread.pvalue) is not None and spread.pvalue < EQUAL_VARIANCE_ALPHA)
    if len(groups) == 2:
        result = stats.ttest_ind(groups[0], groups[1], equal_var=equal)
        name, df = ("Student t" if equal else "Welch t"), _num(result.df)
    else:
        result = stats.f_oneway(*groups, equal_var=equal)
        name, df = ("ANOVA" if equal else "Welch ANOVA"), None
    return {"test": name, "statistic": _num(result.statistic), "df": df,
            "p": _num(result.pvalue), "equal_variance_p": _num(spread.pvalue)}


def compare_categories(table: Sequence[Sequence[int]]) -> dict:
    """The test of a category characteristic: a table of counts, a row per level and a column
    per group.

    Examples
    --------
    Fisher's tea-tasting table: expected counts of 2 call for the exact test, p = 0.4857
    (R: ``fisher.test(matrix(c(3, 1, 1, 3), 2))``):

    >>> r = compare_categories([[3, 1], [1, 3]])
    >>> r["test"], round(r["p"], 4)
    ('Fisher exact', 0.4857)

    Expected counts of 8.5 and 9.5: Pearson's chi-square, 5.4613 on 1 df, p = 0.0194 (R:
    ``chisq.test(matrix(c(12, 6, 5, 13), 2), correct = FALSE)``):

    >>> r = compare_categories([[12, 5], [6, 13]])
    >>> r["test"], round(r["statistic"], 4), r["df"], round(r["p"], 4)
    ('chi-square', 5.4613, 1.0, 0.0194)
    """
    counts = np.asarray(table, dtype=int)
    counts = counts[counts.sum(axis=1) > 0][:, counts.sum(axis=0) > 0]
    if counts.ndim != 2 or min(counts.shape) < 2:
        return {"test": None, "statistic": None, "df": None, "p": None}
    chi = stats.chi2_contingency(counts, correction=False)
    if (chi.expected_freq >= 5).all():
        return {"test": "chi-square", "statistic": _num(chi.statistic), "df": _num(chi.dof),
                "p": _num(chi.pvalue)}
    exact = stats.fisher_exact(counts)
    return {"test": "Fisher exact", "statistic": None, "df": None, "p": _num(exact.pvalue)}


def _number_row(name: str, values: pd.Series, by: pd.Series, groups: list[str]) -> dict:
    samples = [values[(by == g) & values.notna()].astype(float) for g in groups]
    summary = {g: {"n": int(len(s)), "mean": _num(s.mean()) if len(s) else None,
                   "sd": _num(s.std(ddof=1)) if len(s) > 1 else None}
               for g, s in zip(groups, samples, strict=True)}
    return {"variable": name, "kind": "number", "groups": summary,
            **compare_numbers([s.to_numpy() for s in samples])}


def _category_row(name: str, values: pd.Series, by: pd.Series, groups: list[str]) -> dict:
    known = values.notna()
    text = values[known].astype(str)
    levels = r_sorted(text.unique())
    table = [[int(((text == level) & (by[known] == g)).sum()) for g in groups]
             for level in levels]
    totals = [sum(column) for column in zip(*table, strict=True)] if table else []
    rows = [{"level": level, "groups": {
        g: {"n": n, "pct": _num(100 * n / total) if total else None}
        for g, n, total in zip(groups, counts, totals, strict=True)}}
        for level, counts in zip(levels, table, strict=True)]
    return {"variable": name, "kind": "category", "levels": rows,
            **compare_categories(table)}


def baseline_table(frame: pd.DataFrame, by: str, variables: Sequence[str] | None = None,
                   groups: Sequence[str] | None = None) -> dict:
    """Baseline characteristics per group, each with its test.

    Parameters
    ----------
    frame : DataFrame
        One row per participant: the grouping column ``by`` and the characteristics.
    by : str
        The grouping column (``arm``, or ``completion`` from :func:`completion_groups`).
    variables : sequence of str, optional
        The characteristics, in order (default: every other column but ``participant_id``
        and ``status``). A numeric column is a number, any other a category.
    groups : sequence of str, optional
        The groups, in order (default: R's order of the values of ``by``).

    Returns
    -------
    dict
        ``groups`` (the order), ``n`` per group, and ``rows``: per characteristic its
        ``variable``, ``kind`` (``number`` or ``category``), the per-group summary
        (``groups``: n, mean, sd; or ``levels``: level, n and % per group) and its test
        (``test``, ``statistic``, ``df``, ``p``).

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"arm": ["CFT"] * 5 + ["UC"] * 5,
    ...                       "age": [1, 2, 3, 4, 5, 3, 4, 5, 6, 7],
    ...                       "gender": ["f", "f", "f", "m", "m", "f", "m", "m", "m", "m"]})
    >>> table = baseline_table(frame, "arm")
    >>> table["groups"], table["n"]
    (['CFT', 'UC'], {'CFT': 5, 'UC': 5})
    >>> [(r["variable"], r["test"], round(r["p"], 4)) for r in table["rows"]]
    [('age', 'Student t', 0.0805), ('gender', 'Fisher exact', 0.5238)]
    """
    by_values = frame[by].astype("string")
    order = list(groups) if groups is not None else r_sorted(by_values.dropna().unique())
    skip = {by, "participant_id", "status"}
    names = list(variables) if variables is not None else [c for c in frame.columns
                                                         if c not in skip]
    rows = []
    for name in names:
        values = frame[name]
        numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(
            values)
        rows.append((_number_row if numeric else _category_row)(name, values, by_values,
                                                                 order))
    return {"groups": order, "n": {g: int((by_values == g).sum()) for g in order},
            "rows": rows}


def completion_groups(participants: pd.DataFrame) -> pd.DataFrame:
    """The participants who finished (completed) or dropped out (withdrawn, lost), with a
    ``completion`` column ``completers`` / ``non_completers``; those still taking part are
    left out.

    >>> import pandas as pd
    >>> people = pd.DataFrame({"participant_id": ["a", "b", "c"],
    ...                        "status": ["completed", "active", "lost"]})
    >>> completion_groups(people)["completion"].tolist()
    ['completers', 'non_completers']
    """
    finished = participants[participants["status"].isin(["completed", "withdrawn", "lost"])]
    out = finished.copy()
    out["completion"] = np.where(out["status"] == "completed", "completers", "non_completers")
    return out
