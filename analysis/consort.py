"""CONSORT-style flow: counts from tidy trial records, drawn as SVG (for the page) or PNG.

Trial records (flow.csv) have one row per person per stage: ``participant_id, stage, arm,
reason``. Stages:

``screened``
    assessed for eligibility (everyone);
``excluded``
    not randomised or not included, with the reason (not meeting inclusion, declined...);
``randomised``
    allocated (or, in a single-arm study, included) to ``arm``;
``withdrawn`` / ``lost``
    left after allocation, with the reason;
``analysed``
    included in the analysis of ``arm``.

A person with no ``screened`` row but another row still counts as screened.

The trial's own records (:data:`TRIAL_STAGES`, from ``analysis.data.flow(...,
trial_records=True)``) may follow; they are not CONSORT stages and are counted only when asked
for (the study page and ``flask trial flow`` show them).
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Mapping, Sequence
from html import escape

import pandas as pd

__all__ = ["FLOW_PHRASES", "TRIAL_STAGES", "flow_counts", "flow_svg", "flow_png"]

#: the trial's own records: everyone on record, the eligible, the consented, each failed rule
#: of the ineligible (reason: the rule's key) and who met an exclusion rule; per arm who started,
#: how each withdrawal ended (reason: its kind) and whose data were removed
TRIAL_STAGES = ["applied", "eligible", "consented", "ineligible", "meeting_exclusion",
                "started", "withdrawal_kind", "data_removed"]

#: key -> English text of the diagram (``str.format`` fields); a caller drawing the diagram in
#: another language passes its own texts for some or all keys as ``phrases``
FLOW_PHRASES: dict[str, str] = {
    "assessed": "Assessed for eligibility (n = {n})",
    "excluded": "Excluded (n = {n})",
    "reason": "- {reason} (n = {n})",
    "not_given": "not given",
    "randomised": "Randomised / included (n = {n})",
    "allocated": "Allocated to {arm} (n = {n})",
    "withdrawn": "Withdrew (n = {n})",
    "lost": "Lost to follow-up (n = {n})",
    "analysed": "Analysed (n = {n})",
    "not_analysed": "Not analysed (n = {n})",
    "title": "CONSORT flow diagram",
}


def _reasons(rows: pd.DataFrame) -> list[dict]:
    reasons = rows["reason"].fillna("").replace("", "not given").value_counts()
    return [{"reason": str(r), "n": int(n)} for r, n in sorted(reasons.items())]


def flow_counts(flow: pd.DataFrame, arms: Sequence[str] = (), trial_records: bool = False
                ) -> dict:
    """Count people at each CONSORT stage, with reasons for every exclusion or loss.

    Parameters
    ----------
    flow : DataFrame
        ``participant_id, stage, arm, reason`` as described in the module docstring.
    arms : sequence of str, optional
        Arms to count even when nobody has been allocated to them yet.
    trial_records : bool
        Count the trial's own records (:data:`TRIAL_STAGES`) too.

    Returns
    -------
    dict
        ``assessed``, ``excluded`` (n, reasons), ``randomised`` and ``arms``: per arm
        ``allocated``, ``withdrawn`` and ``lost`` (n, reasons), ``analysed`` and
        ``not_analysed``. With ``trial_records`` also ``applied``, ``eligible``,
        ``consented``, ``eligible_not_allocated`` and ``analysed``; under ``excluded`` the
        ``ineligible``, of whom ``not_meeting_inclusion`` and ``meeting_exclusion``, and the
        failed ``rules`` (key: n); per arm ``started``, ``withdrawal_kinds`` (kind: n) and
        ``data_removed``.

    References
    ----------
    Schulz, K. F., Altman, D. G., & Moher, D. (2010). CONSORT 2010 Statement. BMJ, 340, c332.
    """
    trial = flow[flow["stage"].isin(TRIAL_STAGES)].fillna({"arm": "", "reason": ""})
    flow = flow[~flow["stage"].isin(TRIAL_STAGES)].copy()
    flow["arm"] = flow["arm"].fillna("")
    by_stage = {stage: flow[flow["stage"] == stage] for stage in flow["stage"].unique()}
    empty = flow.iloc[0:0]
    excluded = by_stage.get("excluded", empty)
    randomised = by_stage.get("randomised", empty)
    listed = sorted({*randomised["arm"].unique(), *arms})
    arms = {}
    for arm in listed:
        allocated = int(randomised.loc[randomised["arm"] == arm, "participant_id"].nunique())
        analysed = by_stage.get("analysed", empty)
        n_analysed = int(analysed.loc[analysed["arm"] == arm, "participant_id"].nunique())
        arm_rows = {}
        for stage in ("withdrawn", "lost"):
            rows = by_stage.get(stage, empty)
            rows = rows[rows["arm"] == arm]
            arm_rows[stage] = {"n": int(rows["participant_id"].nunique()),
                               "reasons": _reasons(rows)}
        arms[arm] = {
            "allocated": allocated,
            **arm_rows,
            "analysed": n_analysed,
            "not_analysed": allocated - n_analysed,
        }
    counts = {
        "assessed": int(flow["participant_id"].nunique()),
        "excluded": {"n": int(excluded["participant_id"].nunique()),
                     "reasons": _reasons(excluded)},
        "randomised": int(randomised["participant_id"].nunique()),
        "arms": arms,
    }
    if trial_records:
        _count_trial_records(counts, trial, set(randomised["participant_id"]))
    return counts


def _count_trial_records(counts: dict, records: pd.DataFrame, randomised: set) -> None:
    """Add the counts of the trial's own records to ``counts`` (see :func:`flow_counts`)."""

    def rows(stage: str, arm: str | None = None) -> pd.DataFrame:
        found = records[records["stage"] == stage]
        return found if arm is None else found[found["arm"] == arm]

    def people(stage: str, arm: str | None = None) -> set:
        return set(rows(stage, arm)["participant_id"])

    def reasons(stage: str, arm: str | None = None) -> dict[str, int]:
        return dict(Counter(reason for reason in rows(stage, arm)["reason"] if reason))

    ineligible, by_exclusion = people("ineligible"), people("meeting_exclusion")
    counts["excluded"].update(ineligible=len(ineligible),
                              not_meeting_inclusion=len(ineligible - by_exclusion),
                              meeting_exclusion=len(by_exclusion), rules=reasons("ineligible"))
    for arm, entry in counts["arms"].items():
        entry.update(started=len(people("started", arm)),
                     withdrawal_kinds=reasons("withdrawal_kind", arm),
                     data_removed=len(people("data_removed", arm)))
    counts.update(applied=len(people("applied")), eligible=len(people("eligible")),
                  consented=len(people("consented")),
                  eligible_not_allocated=len(people("eligible") - randomised),
                  analysed=sum(entry["analysed"] for entry in counts["arms"].values()))


Box = tuple[float, float, float, list[str]]


def _height(lines: list[str]) -> float:
    return 22 * len(lines) + 12


def _layout(counts: dict, phrases: Mapping[str, str] | None = None,
            reasons: Mapping[str, str] | None = None,
            ) -> tuple[list[Box], list[tuple[float, float, float, float]]]:
    """Boxes as (x, y, width, lines) and connecting lines, on a 1000-unit wide canvas."""
    say = _phrases(phrases)

    def why(rows: list[dict]) -> list[str]:
        return [say["reason"].format(reason=_reason(r["reason"], say, reasons), n=r["n"])
                for r in rows]

    top = (350, 20, 300, [say["assessed"].format(n=counts["assessed"])])
    exc = counts["excluded"]
    excluded = (680, 80, 300, [say["excluded"].format(n=exc["n"])] + why(exc["reasons"]))
    rand_y = max(200, 80 + _height(excluded[3]) + 30)
    randomised = (350, rand_y, 300, [say["randomised"].format(n=counts["randomised"])])
    boxes: list[Box] = [top, excluded, randomised]
    links = [(500, 20 + _height(top[3]), 500, rand_y), (500, 100, 680, 100)]
    arms = list(counts["arms"].items())
    width = 1000 / max(len(arms), 1)
    alloc_y = rand_y + _height(randomised[3]) + 60
    split_y = alloc_y - 30
    if arms:
        first = width / 2
        last = (len(arms) - 1) * width + width / 2
        links += [(500, rand_y + _height(randomised[3]), 500, split_y),
                  (first, split_y, last, split_y)]
    loss_boxes = []
    for _arm, c in arms:
        lines = [say["withdrawn"].format(n=c["withdrawn"]["n"])]
        lines += why(c["withdrawn"]["reasons"])
        lines.append(say["lost"].format(n=c["lost"]["n"]))
        lines += why(c["lost"]["reasons"])
        loss_boxes.append(lines)
    loss_y = alloc_y + _height(["x"]) + 40
    analysed_y = loss_y + max((_height(lines) for lines in loss_boxes), default=0) + 40
    for i, ((arm, c), lines) in enumerate(zip(arms, loss_boxes, strict=True)):
        x, w = i * width + 20, width - 40
        mid = x + w / 2
        boxes.append((x, alloc_y, w, [say["allocated"].format(arm=arm, n=c["allocated"])]))
        boxes.append((x, loss_y, w, lines))
        boxes.append((x, analysed_y, w, [say["analysed"].format(n=c["analysed"]),
                                         say["not_analysed"].format(n=c["not_analysed"])]))
        links += [(mid, split_y, mid, alloc_y),
                  (mid, alloc_y + _height(["x"]), mid, loss_y),
                  (mid, loss_y + _height(lines), mid, analysed_y)]
    return boxes, links


def _phrases(phrases: Mapping[str, str] | None) -> dict[str, str]:
    return {**FLOW_PHRASES, **(phrases or {})}


def _reason(reason: str, say: Mapping[str, str], reasons: Mapping[str, str] | None) -> str:
    """A reason as the diagram shows it: the caller's label for it, the phrase for one not
    given (:func:`flow_counts` writes ``"not given"``), or the text as it is."""
    if reasons and reason in reasons:
        return str(reasons[reason])
    if reason == FLOW_PHRASES["not_given"]:
        return say["not_given"]
    return reason


def _canvas_height(boxes: list[Box]) -> float:
    return max(y + _height(lines) for _, y, _, lines in boxes) + 20


def flow_svg(counts: dict, phrases: Mapping[str, str] | None = None,
             reasons: Mapping[str, str] | None = None) -> str:
    """The flow diagram as a standalone SVG string (text escaped, no scripts).

    ``phrases`` replaces some or all of :data:`FLOW_PHRASES` (the diagram in another
    language); ``reasons`` gives labels for exclusion and loss reasons (rule keys).
    """
    boxes, links = _layout(counts, phrases, reasons)
    height = _canvas_height(boxes)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1000 {height:.0f}" '
        f'width="1000" height="{height:.0f}" font-family="sans-serif" font-size="14" '
        f'role="img" aria-label="{escape(_phrases(phrases)["title"])}">'
    ]
    for x1, y1, x2, y2 in links:
        parts.append(f'<line x1="{x1:.0f}" y1="{y1:.0f}" x2="{x2:.0f}" y2="{y2:.0f}" '
                     'stroke="black"/>')
    for x, y, w, lines in boxes:
        parts.append(f'<rect x="{x:.0f}" y="{y:.0f}" width="{w:.0f}" '
                     f'height="{_height(lines):.0f}" fill="white" stroke="black"/>')
        for j, line in enumerate(lines):
            parts.append(f'<text x="{x + 8:.0f}" y="{y + 22 * (j + 1):.0f}">{escape(line)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def flow_png(counts: dict, dpi: int = 100, phrases: Mapping[str, str] | None = None,
             reasons: Mapping[str, str] | None = None) -> bytes:
    """The flow diagram as PNG bytes, drawn with matplotlib (``phrases`` and ``reasons`` as
    for :func:`flow_svg`; text in the current ``font.family``, which a caller drawing CJK
    text sets to a font that has the glyphs)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    boxes, links = _layout(counts, phrases, reasons)
    height = _canvas_height(boxes)
    fig, ax = plt.subplots(figsize=(10, height / 100), dpi=dpi)
    fig.subplots_adjust(0, 0, 1, 1)
    ax.set_xlim(0, 1000)
    ax.set_ylim(height, 0)
    ax.axis("off")
    for x1, y1, x2, y2 in links:
        ax.plot([x1, x2], [y1, y2], color="black", linewidth=0.8)
    for x, y, w, lines in boxes:
        ax.add_patch(plt.Rectangle((x, y), w, _height(lines), facecolor="white",
                                   edgecolor="black", zorder=2))
        for j, line in enumerate(lines):
            ax.text(x + 8, y + 22 * (j + 1) - 4, line, fontsize=9, zorder=3)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()
