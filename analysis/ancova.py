"""Baseline-adjusted ANCOVA per later timepoint: ``lm(score_t ~ score_baseline + arm)``.

The sensitivity analysis trial statisticians pair with the mixed model: one ordinary least
squares fit per later timepoint over the participants with both scores, the arm effect
adjusted for the baseline score (and any covariates), with its t test on the residual df.

References
----------
Vickers, A. J., & Altman, D. G. (2001). Analysing controlled trials with baseline and follow
up measurements. BMJ, 323(7321), 1123-1124.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from analysis.design import _covariate_columns

__all__ = ["ancova"]


def ancova(data: pd.DataFrame, timepoints: Sequence[str], arms: Sequence[str],
           covariates: Sequence[str] = ()) -> list[dict]:
    """Arm effects adjusted for baseline at every later timepoint.

    Parameters
    ----------
    data : DataFrame
        One measure's tidy scores (``participant_id, arm, timepoint, score``) plus the
        covariate columns.
    timepoints : sequence of str
        The first is the baseline.
    arms : sequence of str
        The reference arm first.
    covariates : sequence of str

    Returns
    -------
    list of dict
        One row per later timepoint and non-reference arm: ``term`` (``arm[UC]@post``),
        ``timepoint``, ``arm``, ``estimate``, ``se``, ``df``, ``t``, ``p`` and ``n`` (the
        participants with both scores); the estimate is None when the model cannot be fitted.

    Examples
    --------
    The ``cft`` test data's BDI-II (R: ``coef(summary(lm(post ~ pre + arm, wide)))``: arm UC
    7.0951409824, SE 5.3369074270 on 13 df):

    >>> from pathlib import Path
    >>> import pandas as pd
    >>> folder = Path(__file__).parents[1] / "tests" / "analysis" / "data"
    >>> d = pd.read_csv(folder / "cft_scores.csv").query("measure == 'BDI-II'").dropna()
    >>> row = ancova(d, ["pre", "post"], ["CFT", "UC"])[0]
    >>> row["term"], round(row["estimate"], 4), round(row["se"], 4), row["df"]
    ('arm[UC]@post', 7.0951, 5.3369, 13.0)
    """
    base = timepoints[0]
    wide = data.pivot_table(index="participant_id", columns="timepoint", values="score",
                            aggfunc="first", observed=True)
    extra = data.drop_duplicates("participant_id").set_index("participant_id")[
        ["arm", *covariates]]
    rows = []
    for tp in timepoints[1:]:
        both = wide.reindex(columns=[base, tp]).dropna().join(extra, how="left")
        both = both.dropna(subset=list(covariates))
        names = ["(Intercept)", "baseline"]
        cols = [np.ones(len(both)), both[base].to_numpy(dtype=float)]
        arm = both["arm"].astype(str).to_numpy()
        for a in arms[1:]:
            names.append(f"arm[{a}]")
            cols.append((arm == a).astype(float))
        for cov in covariates:
            cov_names, cov_cols = _covariate_columns(both[cov], cov)
            names += cov_names
            cols += cov_cols
        x = np.column_stack(cols)
        y = both[tp].to_numpy(dtype=float)
        df = len(y) - x.shape[1]
        fitted = df > 0 and np.linalg.matrix_rank(x) == x.shape[1]
        if fitted:
            xtx_inv = np.linalg.inv(x.T @ x)
            beta = xtx_inv @ x.T @ y
            resid = y - x @ beta
            s2 = float(resid @ resid) / df
            fitted = s2 > 0
        for a in arms[1:]:
            row = {"term": f"arm[{a}]@{tp}", "timepoint": tp, "arm": a, "n": len(y)}
            if not fitted:
                row.update(estimate=None, se=None, df=None, t=None, p=None)
            else:
                j = names.index(f"arm[{a}]")
                se = float(np.sqrt(s2 * xtx_inv[j, j]))
                t = float(beta[j]) / se
                row.update(estimate=float(beta[j]), se=se, df=float(df), t=t,
                           p=float(2 * stats.t.sf(abs(t), df)))
            rows.append(row)
    return rows
