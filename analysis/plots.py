"""Figures: trajectories per arm (mean and 95 % CI), the Jacobson–Truax scatter, attendance per
meeting over the course and recruitment over time.

Functions return matplotlib figures; :func:`to_png` and :func:`to_svg` turn them into bytes or
text for the HTML report and the exports. The Agg backend is used, so no display is needed.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from scipy import stats  # noqa: E402

__all__ = ["PLOT_PHRASES", "attendance_plot", "jacobson_truax_plot", "recruitment_plot",
           "to_png", "to_svg", "trajectory_plot"]

#: key -> English text of the figures (``str.format`` fields); a caller drawing them in
#: another language passes its own texts for some or all keys as ``phrases``
PLOT_PHRASES: dict[str, str] = {
    "trajectory_y": "{measure} (mean, 95 % CI)",
    "arm": "arm",
    "no_change": "no change",
    "no_reliable_change": "no reliable change",
    "cutoff": "cutoff {kind} = {value}",
    "jt_x": "{measure} {timepoint}",
    "jt_y": "{measure} {timepoint}",
    "pre": "pre",
    "post": "post",
    "attendance_x": "meeting",
    "attendance_y": "present (% of those due)",
    "attendance_n": "n = {n}",
    "recruitment_x": "month",
    "recruitment_y": "participants allocated",
    "recruitment_month": "per month",
    "recruitment_total": "cumulative",
}


def _phrases(phrases: Mapping[str, str] | None) -> dict[str, str]:
    return {**PLOT_PHRASES, **(phrases or {})}


def trajectory_plot(descriptives: list[dict], timepoints: list[str], measure: str,
                    phrases: Mapping[str, str] | None = None,
                    arm_names: Mapping[str, str] | None = None) -> Figure:
    """Mean ± 95 % CI (t-based, ``mean ± t(n-1) SD / sqrt(n)``) per arm over timepoints.

    Parameters
    ----------
    descriptives : list of dict
        The efficacy report's descriptives of one measure (arm, timepoint, n, mean, sd).
    timepoints : list of str
    measure : str
        Axis label.
    phrases : mapping, optional
        Texts for some or all keys of :data:`PLOT_PHRASES` (the figure in another language).
    arm_names : mapping, optional
        Legend labels for arms (an arm not in it is shown as it is).
    """
    say = _phrases(phrases)
    fig, ax = plt.subplots(figsize=(6, 4))
    arms = list(dict.fromkeys(d["arm"] for d in descriptives))
    for k, arm in enumerate(arms):
        xs, ys, err = [], [], []
        for d in descriptives:
            if d["arm"] != arm or d["mean"] is None:
                continue
            xs.append(timepoints.index(d["timepoint"]) + (k - (len(arms) - 1) / 2) * 0.05)
            ys.append(d["mean"])
            if d["sd"] is not None and d["n"] > 1:
                err.append(stats.t.ppf(0.975, d["n"] - 1) * d["sd"] / math.sqrt(d["n"]))
            else:
                err.append(0.0)
        ax.errorbar(xs, ys, yerr=err, marker="o", capsize=4,
                    label=(arm_names or {}).get(arm, arm))
    ax.set_xticks(range(len(timepoints)), timepoints)
    ax.set_ylabel(say["trajectory_y"].format(measure=measure))
    ax.legend(title=say["arm"])
    fig.tight_layout()
    return fig


def jacobson_truax_plot(result: dict, phrases: Mapping[str, str] | None = None,
                        measure: str | None = None,
                        arm_names: Mapping[str, str] | None = None) -> Figure:
    """Pre vs post per participant with the no-change line, reliable-change band and cutoff.

    Parameters
    ----------
    result : dict
        A :func:`analysis.reliable_change.reliable_change` result.
    phrases : mapping, optional
        Texts for some or all keys of :data:`PLOT_PHRASES` (the figure in another language).
    measure : str, optional
        The measure as the axes name it (``result["measure"]`` without it).
    arm_names : mapping, optional
        Legend labels for arms (an arm not in it is shown as it is).
    """
    say = _phrases(phrases)
    measure = result["measure"] if measure is None else measure
    fig, ax = plt.subplots(figsize=(5.5, 5.5))
    rows = result["participants"]
    pre = [r["pre"] for r in rows]
    post = [r["post"] for r in rows]
    lo = min(pre + post, default=0.0)
    hi = max(pre + post, default=1.0)
    pad = (hi - lo) * 0.1 + 1
    lo, hi = lo - pad, hi + pad
    ax.plot([lo, hi], [lo, hi], color="black", linewidth=1, label=say["no_change"])
    if result["s_diff"] is not None:
        band = 1.96 * result["s_diff"]
        ax.fill_between([lo, hi], [lo - band, hi - band], [lo + band, hi + band],
                        color="grey", alpha=0.2, label=say["no_reliable_change"])
    cut = result["cutoff_used"]["value"]
    if cut is not None:
        ax.axhline(cut, color="tab:red", linestyle="--", linewidth=1,
                   label=say["cutoff"].format(kind=result["cutoff_used"]["kind"],
                                              value=f"{cut:.2f}"))
    for arm in sorted({r["arm"] for r in rows}):
        sel = [r for r in rows if r["arm"] == arm]
        ax.scatter([r["pre"] for r in sel], [r["post"] for r in sel],
                   label=(arm_names or {}).get(arm, arm), zorder=3)
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_xlabel(say["jt_x"].format(
        measure=measure, timepoint=result.get("timepoints", [say["pre"]])[0]))
    ax.set_ylabel(say["jt_y"].format(
        measure=measure, timepoint=result.get("timepoints", ["", say["post"]])[-1]))
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def attendance_plot(by_meeting: list[dict], phrases: Mapping[str, str] | None = None) -> Figure:
    """Attendance per meeting over the course: the share present among those due at each
    meeting (bars), with the number due above each bar.

    Parameters
    ----------
    by_meeting : list of dict
        The feasibility report's ``attendance["by_meeting"]`` (meeting, present, expected,
        pct).
    phrases : mapping, optional
        Texts for some or all keys of :data:`PLOT_PHRASES`.
    """
    say = _phrases(phrases)
    fig, ax = plt.subplots(figsize=(7, 3.5))
    meetings = [r["meeting"] for r in by_meeting]
    pct = [r["pct"] or 0.0 for r in by_meeting]
    ax.bar(meetings, pct, color="tab:blue")
    for m, value, row in zip(meetings, pct, by_meeting, strict=True):
        ax.text(m, value + 1, say["attendance_n"].format(n=row["expected"]), ha="center",
                fontsize=7)
    ax.set_ylim(0, 110)
    ax.set_xticks(meetings)
    ax.set_xlabel(say["attendance_x"])
    ax.set_ylabel(say["attendance_y"])
    fig.tight_layout()
    return fig


def recruitment_plot(by_month: list[dict], phrases: Mapping[str, str] | None = None) -> Figure:
    """Recruitment over time: participants allocated per month (bars) and in total (line).

    Parameters
    ----------
    by_month : list of dict
        The feasibility report's ``recruitment["by_month"]`` (month, n, cumulative).
    phrases : mapping, optional
        Texts for some or all keys of :data:`PLOT_PHRASES`.
    """
    say = _phrases(phrases)
    fig, ax = plt.subplots(figsize=(7, 3.5))
    months = [r["month"] for r in by_month]
    ax.bar(range(len(months)), [r["n"] for r in by_month], color="tab:blue",
           label=say["recruitment_month"])
    ax.plot(range(len(months)), [r["cumulative"] for r in by_month], color="tab:orange",
            marker="o", label=say["recruitment_total"])
    ax.set_xticks(range(len(months)), months, rotation=45, ha="right")
    ax.set_xlabel(say["recruitment_x"])
    ax.set_ylabel(say["recruitment_y"])
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def to_png(fig: Figure, dpi: int = 100) -> bytes:
    """PNG bytes of a figure (the figure is closed)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    return buf.getvalue()


def to_svg(fig: Figure) -> str:
    """SVG text of a figure (the figure is closed)."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    plt.close(fig)
    return buf.getvalue()
