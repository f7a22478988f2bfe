"""Reliable and clinically significant change (Jacobson & Truax, 1991).

Conventions are the data contract's, which are those of the R package JTRCI:

- the baseline mean and SD come from participants with both timepoints, pooled over arms;
- ``S_E = SD_baseline * sqrt(1 - reliability)``, ``S_diff = sqrt(2) * S_E``,
  ``RCI = (post - pre) / S_diff``; a change is reliable when ``|RCI| >= 1.96``;
- for lower-is-better, ``a = baseline mean - 2 SD_baseline``, ``b = norm mean + 2 norm SD``
  (signs reversed for higher-is-better) and
  ``c = (SD_baseline * norm mean + norm SD * baseline mean) / (SD_baseline + norm SD)``;
  a participant has crossed when post is at or beyond the cutoff on the better side.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.notes import note
from analysis.numbers import finite as _num

__all__ = ["CATEGORIES", "reliable_change", "cutoffs", "classify"]

CATEGORIES = ["recovered", "improved", "non_reliably_recovered", "unchanged", "deteriorated"]
RELIABLE_Z = 1.96



def cutoffs(
    baseline_mean: float,
    baseline_sd: float,
    norm_mean: float | None,
    norm_sd: float | None,
    lower_is_better: bool,
) -> dict[str, float | None]:
    """Jacobson–Truax cutoffs a, b and c.

    Parameters
    ----------
    baseline_mean, baseline_sd : float
        Mean and SD of the clinical sample at baseline.
    norm_mean, norm_sd : float or None
        Normative (functional) population; without them only ``a`` exists.
    lower_is_better : bool

    Returns
    -------
    dict
        ``{"a": ..., "b": ..., "c": ...}`` with None for cutoffs that need missing norms.

    References
    ----------
    Jacobson, N. S., & Truax, P. (1991). Clinical significance: a statistical approach to
    defining meaningful change in psychotherapy research. J Consult Clin Psychol, 59(1), 12-19.
    """
    sign = -1.0 if lower_is_better else 1.0
    a = baseline_mean + sign * 2 * baseline_sd
    if norm_mean is None or norm_sd is None:
        return {"a": a, "b": None, "c": None}
    b = norm_mean - sign * 2 * norm_sd
    c = (baseline_sd * norm_mean + norm_sd * baseline_mean) / (baseline_sd + norm_sd)
    return {"a": a, "b": b, "c": c}


def classify(rci: float, post: float, cutoff: float, lower_is_better: bool) -> str:
    """Jacobson–Truax category of one participant.

    Reliable worsening is ``deteriorated`` whatever the cutoff; reliable improvement is
    ``recovered`` when post is at or beyond the cutoff on the better side, else ``improved``;
    crossing without reliable improvement is ``non_reliably_recovered``; the rest ``unchanged``.
    """
    better = -rci if lower_is_better else rci
    crossed = post <= cutoff if lower_is_better else post >= cutoff
    if better <= -RELIABLE_Z:
        return "deteriorated"
    if better >= RELIABLE_Z:
        return "recovered" if crossed else "improved"
    return "non_reliably_recovered" if crossed else "unchanged"


def reliable_change(
    scores: pd.DataFrame,
    measure: str,
    timepoints: Sequence[str],
    reliability: float,
    norm_mean: float | None = None,
    norm_sd: float | None = None,
    cutoff: str | float = "c",
    lower_is_better: bool = False,
) -> dict:
    """Reliable change index and clinical significance categories per participant.

    Parameters
    ----------
    scores : DataFrame
        Tidy scores (``participant_id, arm, timepoint, measure, score``).
    measure : str
    timepoints : sequence of str
        Pre and post; with more than two, the first and the last are compared.
    reliability : float
        Test-retest or internal-consistency reliability of the measure, in (0, 1).
    norm_mean, norm_sd : float, optional
        Normative population, for cutoffs b and c.
    cutoff : {"a", "b", "c"} or float
        Which cutoff decides recovery, or a number set by the researcher. ``"c"`` falls back
        to ``"a"`` (with a warning) when no norms are given.
    lower_is_better : bool
        Direction of improvement (True for BDI-II).

    Returns
    -------
    dict
        The data contract's reliable-change JSON (``measure, direction, reliability,
        norm_mean, norm_sd, baseline_mean, baseline_sd, s_e, s_diff, cutoffs, cutoff_used,
        participants, counts``), plus ``warning`` when something could not be computed.

    Examples
    --------
    Six participants, reliability 0.8, norms 8.9 (SD 6.5); in R ``x <- c(30, 32, 22, 35, 40,
    25); s <- sd(x)``: ``sqrt(2) * s * sqrt(1 - 0.8)`` is S_diff 4.150502, ``(10 - 30) /
    4.150502`` the first RCI -4.818694 (the second ``-9 / 4.150502``, -2.168412) and ``(s * 8.9
    + 6.5 * mean(x)) / (s + 6.5)`` cutoff c 19.731244:

    >>> import pandas as pd
    >>> pre, post = [30, 32, 22, 35, 40, 25], [10, 23, 19, 34, 49, 12]
    >>> scores = pd.DataFrame({
    ...     "participant_id": [f"P{i}" for i in range(6)] * 2, "arm": "CFT",
    ...     "timepoint": ["pre"] * 6 + ["post"] * 6, "measure": "BDI-II", "score": pre + post})
    >>> r = reliable_change(scores, "BDI-II", ["pre", "post"], 0.8, norm_mean=8.9,
    ...                     norm_sd=6.5, lower_is_better=True)
    >>> round(r["s_diff"], 6), round(r["cutoffs"]["c"], 6)
    (4.150502, 19.731244)
    >>> [(p["participant_id"], round(p["rci"], 6), p["category"])
    ...  for p in r["participants"][:2]]
    [('P0', -4.818694, 'recovered'), ('P1', -2.168412, 'improved')]

    References
    ----------
    Jacobson, N. S., & Truax, P. (1991). Clinical significance: a statistical approach to
    defining meaningful change in psychotherapy research. J Consult Clin Psychol, 59(1), 12-19.
    """
    if not 0 < reliability < 1:
        raise ValueError("reliability must lie strictly between 0 and 1")
    pre_tp, post_tp = timepoints[0], timepoints[-1]
    data = scores[(scores["measure"] == measure) & scores["score"].notna()]
    wide = data.pivot_table(
        index=["participant_id", "arm"], columns="timepoint", values="score", aggfunc="first"
    )
    for tp in (pre_tp, post_tp):
        if tp not in wide.columns:
            wide[tp] = np.nan
    all_ids = wide.index.get_level_values(0)
    pairs = wide[[pre_tp, post_tp]].dropna().reset_index()
    notes = []
    missing = sorted(set(all_ids) - set(pairs["participant_id"]))
    if missing:
        notes.append(note("rc_left_out", n=len(missing), pre=pre_tp, post=post_tp))
    direction = "lower_is_better" if lower_is_better else "higher_is_better"
    base_mean = float(pairs[pre_tp].mean()) if len(pairs) else math.nan
    base_sd = float(pairs[pre_tp].std(ddof=1)) if len(pairs) > 1 else math.nan
    s_e = base_sd * math.sqrt(1 - reliability)
    s_diff = math.sqrt(2) * s_e
    cuts = cutoffs(base_mean, base_sd, norm_mean, norm_sd, lower_is_better)
    if isinstance(cutoff, str) and cutoff in ("a", "b", "c"):
        kind = cutoff
        if cuts[kind] is None:
            notes.append(note("rc_cutoff_fallback", kind=kind))
            kind = "a"
        cut_value = cuts[kind]
    else:
        kind, cut_value = "number", float(cutoff)

    arms = sorted(pairs["arm"].unique()) if len(pairs) else []
    counts = {arm: dict.fromkeys(CATEGORIES, 0) for arm in [*arms, "all"]}
    rows = []
    usable = len(pairs) > 1 and s_diff > 0 and cut_value is not None and math.isfinite(cut_value)
    if not usable:
        notes.append(note("rc_not_computable"))
    columns = ["participant_id", "arm", pre_tp, post_tp]
    for pid, arm, pre, post in pairs[columns].itertuples(index=False, name=None):
        pre, post = float(pre), float(post)
        row = {"participant_id": pid, "arm": arm, "pre": pre, "post": post,
               "rci": None, "category": None}
        if usable:
            rci = (post - pre) / s_diff
            row["rci"] = rci
            row["category"] = classify(rci, post, cut_value, lower_is_better)
            counts[arm][row["category"]] += 1
            counts["all"][row["category"]] += 1
        rows.append(row)

    result = {
        "measure": measure,
        "direction": direction,
        "reliability": reliability,
        "norm_mean": norm_mean,
        "norm_sd": norm_sd,
        "baseline_mean": _num(base_mean),
        "baseline_sd": _num(base_sd),
        "s_e": _num(s_e),
        "s_diff": _num(s_diff),
        "cutoffs": {k: _num(v) for k, v in cuts.items()},
        "cutoff_used": {"kind": kind, "value": _num(cut_value)},
        "timepoints": [pre_tp, post_tp],
        "participants": rows,
        "counts": counts,
    }
    if notes:
        result["warning"] = "; ".join(notes)
    return result
