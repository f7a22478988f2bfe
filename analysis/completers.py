"""Completers vs non-completers on baseline variables: a test per variable and the odds ratio
of not completing from one logistic model per variable (the MSC paper's Table 1)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
from scipy import stats

from analysis.design import r_sorted
from analysis.notes import note
from analysis.numbers import finite as _num

__all__ = ["completer_comparison"]


def _logit(noncompleted: np.ndarray, x: np.ndarray, names: list[str]) -> dict[str, dict]:
    """One logistic model of not completing on the columns of ``x`` (an intercept is added):
    odds ratio, Wald 95 % CI and p per column, as R's ``glm(noncompleted ~ x, binomial)``
    with ``exp(cbind(coef(g), confint.default(g)))``."""
    import statsmodels.api as sm  # imported here: it is slow to import and rarely needed

    empty = {"odds_ratio_not_completing": None, "ci_low": None, "ci_high": None, "p": None}
    design = sm.add_constant(x, has_constant="add")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fit = sm.Logit(noncompleted, design).fit(disp=0, maxiter=100)
            beta = np.asarray(fit.params, dtype=float)[1:]
            se = np.asarray(fit.bse, dtype=float)[1:]
        except (np.linalg.LinAlgError, ValueError):
            return {n: {**empty, "warning": note("logit_failed")} for n in names}
    trouble = {type(w.message).__name__ for w in caught}
    if "ConvergenceWarning" in trouble and "PerfectSeparationWarning" not in trouble:
        return {n: {**empty, "warning": note("logit_not_converged")} for n in names}
    z = float(stats.norm.ppf(0.975))
    out = {}
    for name, b, s in zip(names, beta, se, strict=True):
        # A coefficient running off to infinity (a level where everyone, or no one,
        # completed) has an enormous SE: separation, no odds ratio.
        if not (math.isfinite(s) and s < 1e3 and abs(b) < 30):
            out[name] = {**empty, "warning": note("separation")}
            continue
        out[name] = {
            "odds_ratio_not_completing": _num(math.exp(b)),
            "ci_low": _num(math.exp(b - z * s)),
            "ci_high": _num(math.exp(b + z * s)),
            "p": _num(2 * stats.norm.sf(abs(b / s))),
        }
    return out


def completer_comparison(baseline: pd.DataFrame, completed: pd.Series) -> list[dict]:
    """Completers vs non-completers on baseline variables.

    Parameters
    ----------
    baseline : DataFrame
        One row per participant (index = participant_id), one column per baseline variable.
    completed : Series of bool
        Completion per participant (same index).

    Returns
    -------
    list of dict
        Per number variable one row, per text variable one row per non-reference level:
        summaries in each group, a test (Welch t for numbers, Fisher's exact for two levels,
        chi-square otherwise) and the odds ratio of *not* completing with its Wald 95 % CI
        and p from one logistic model per variable, ``glm(noncompleted ~ x, binomial)``: per
        unit of a number, or for a level against the ``reference`` level (the first in R's
        order), with treatment contrasts as R's ``factor()`` gives them.

    Examples
    --------
    Three sites, each compared with the reference site (R: ``glm(noncompleted ~
    factor(site), binomial)`` gives OR 0.6786 for Osaka and 1.3971 for Tokyo vs Kyoto):

    >>> import pandas as pd
    >>> counts = {"Kyoto": (19, 8), "Osaka": (28, 8), "Tokyo": (17, 10)}  # completed, not
    >>> site = [s for s, (c, n) in counts.items() for _ in range(c + n)]
    >>> done = [i < c for c, n in counts.values() for i in range(c + n)]
    >>> ids = [f"K{i}" for i in range(len(site))]
    >>> rows = completer_comparison(pd.DataFrame({"site": site}, index=ids),
    ...                             pd.Series(done, index=ids))
    >>> [(r["variable"], r["reference"], round(r["odds_ratio_not_completing"], 4))
    ...  for r in rows]
    [('site[Osaka]', 'Kyoto', 0.6786), ('site[Tokyo]', 'Kyoto', 1.3971)]

    References
    ----------
    Hosmer, D. W., Lemeshow, S., & Sturdivant, R. X. (2013). Applied Logistic Regression
    (3rd ed.). Wiley.
    """
    rows = []
    comp = completed.reindex(baseline.index).astype(bool)
    for column in baseline.columns:
        values = baseline[column]
        ok = values.notna()
        v, c = values[ok], comp[ok].to_numpy().astype(float)
        if len(v) < 3 or c.min() == c.max():
            rows.append({"variable": column, "warning": note("group_too_small")})
            continue
        noncompleted = 1.0 - c
        if pd.api.types.is_numeric_dtype(v):
            a, b = v[c == 1].astype(float), v[c == 0].astype(float)
            test = stats.ttest_ind(a, b, equal_var=False) if len(a) > 1 and len(b) > 1 else None
            row = {
                "variable": column,
                "completers": {"n": len(a), "mean": _num(a.mean()),
                               "sd": _num(a.std(ddof=1)) if len(a) > 1 else None},
                "non_completers": {"n": len(b), "mean": _num(b.mean()),
                                   "sd": _num(b.std(ddof=1)) if len(b) > 1 else None},
                "test": "Welch t",
                "statistic": _num(test.statistic) if test else None,
                "p_test": _num(test.pvalue) if test else None,
            }
            row.update(_logit(noncompleted, v.to_numpy(dtype=float)[:, None], [column])[column])
            rows.append(row)
            continue
        text = v.astype(str)
        levels = r_sorted(text.unique())
        table = pd.crosstab(text, c)
        if table.shape == (2, 2):
            test_name, (stat, p) = "Fisher exact", stats.fisher_exact(table.to_numpy())
        else:
            chi = stats.chi2_contingency(table.to_numpy())
            test_name, stat, p = "chi-square", chi[0], chi[1]
        dummies = np.column_stack([(text == level).to_numpy(dtype=float)
                                   for level in levels[1:]])
        fitted = _logit(noncompleted, dummies, levels[1:])
        for level in levels[1:]:
            is_level = (text == level).to_numpy()
            row = {
                "variable": f"{column}[{level}]",
                "reference": levels[0],
                "completers": {"n": int((c == 1).sum()),
                               "level_n": int((is_level & (c == 1)).sum())},
                "non_completers": {"n": int((c == 0).sum()),
                                   "level_n": int((is_level & (c == 0)).sum())},
                "test": test_name,
                "statistic": _num(stat),
                "p_test": _num(p),
            }
            row.update(fitted[level])
            rows.append(row)
    return rows
