"""Descriptive statistics per measure, arm and timepoint (the published Table 3 layout)."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["describe"]


def describe(scores: pd.DataFrame, timepoints: list[str], arms: list[str]) -> pd.DataFrame:
    """Number of scores, mean and SD per arm and timepoint.

    Parameters
    ----------
    scores : DataFrame
        Tidy scores of one measure with columns ``arm``, ``timepoint`` and ``score``; missing
        scores are ignored.
    timepoints : list of str
        Timepoints in schedule order.
    arms : list of str
        Arms in the order the table should list them.

    Returns
    -------
    DataFrame
        One row per arm x timepoint with ``arm, timepoint, n, mean, sd``. ``sd`` is the sample
        SD (``n - 1`` denominator, as R's ``sd``) and is NaN when fewer than two scores exist;
        ``mean`` is NaN when there are none.
    """
    present = scores.dropna(subset=["score"])
    grouped = present.groupby(["arm", "timepoint"], observed=True)["score"]
    stats = grouped.agg(
        n="count", mean="mean", sd=lambda s: s.std(ddof=1) if len(s) > 1 else np.nan
    )
    stats.index = stats.index.set_levels(
        [stats.index.levels[0].astype(str), stats.index.levels[1].astype(str)]
    )
    index = pd.MultiIndex.from_product([arms, timepoints], names=["arm", "timepoint"])
    table = stats.reindex(index).reset_index()
    table["n"] = table["n"].fillna(0).astype(int)
    return table
