"""CONSORT-style flow: counts from tidy trial records, drawn as SVG (for the page) or PNG.

Trial records (flow.csv) have one row per person per stage: ``participant_id, stage, arm,
reason``. Stages:

``screened``
    assessed for eligibility (everyone);
``excluded``
    not randomised or not included, with the reason (not meeting inclusion, declined...);
``randomised``
    allocated (or, in a single-arm study, included) to ``arm``;
``received`` / ``not_received``
    received the allocated intervention, or did not (with the reason);
``stopped_sessions``
    stopped the intervention's sessions but stayed in the study (their questionnaires are
    still collected and analysed), with the reason;
``withdrawn`` / ``lost``
    left the study after allocation, or lost to follow-up, with the reason;
``analysed``
    included in the analysis of ``arm``.

A person with no ``screened`` row but another row still counts as screened. The diagram
shows the intervention lines ("received allocated intervention", "stopped sessions") when the
records have any of those stages; without them a withdrawal is drawn as "withdrew", as the
records cannot tell stopping the sessions from leaving the study.

The trial's own records (:data:`TRIAL_STAGES`, from ``analysis.data.flow(...,
trial_records=True)``) may follow; they are not CONSORT stages and are counted only when asked
for (the study page and ``flask trial flow`` show them).
"""

from __future__ import annotations

import io
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from html import escape

import pandas as pd

__all__ = ["FLOW_PHRASES", "FLOW_STAGES", "TRIAL_STAGES", "flow_counts", "flow_figure",
           "flow_png", "flow_svg", "text_width"]

#: the stages a flow record may have, in the order of the diagram
FLOW_STAGES = ["screened", "excluded", "randomised", "received", "not_received",
               "stopped_sessions", "withdrawn", "lost", "analysed"]

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
    "received": "Received allocated intervention (n = {n})",
    "not_received": "Did not receive allocated intervention (n = {n})",
    "stopped_sessions": "Stopped sessions, stayed in the study (n = {n})",
    "left_study": "Left the study (n = {n})",
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
        ``assessed``, ``excluded`` (n, reasons), ``randomised``, ``intervention_recorded``
        (whether any record says who received the intervention or stopped its sessions) and
        ``arms``: per arm ``allocated``; ``received`` (n), ``not_received``, ``stopped_sessions``,
        ``withdrawn`` (left the study) and ``lost`` (n, reasons); ``analysed`` and
        ``not_analysed``. Without ``received`` or ``not_received`` records, ``received`` is
        None. With ``trial_records`` also ``applied``, ``eligible``, ``consented``,
        ``eligible_not_allocated`` and ``analysed``; under ``excluded`` the ``ineligible``, of
        whom ``not_meeting_inclusion`` and ``meeting_exclusion``, and the failed ``rules``
        (key: n); per arm ``started``, ``withdrawal_kinds`` (kind: n) and ``data_removed``.

    Examples
    --------
    >>> import pandas as pd
    >>> flow = pd.DataFrame([("A", "randomised", "CFT", ""), ("A", "received", "CFT", ""),
    ...                      ("B", "randomised", "CFT", ""),
    ...                      ("B", "not_received", "CFT", "moved away"),
    ...                      ("A", "stopped_sessions", "CFT", "too busy"),
    ...                      ("A", "analysed", "CFT", "")],
    ...                     columns=["participant_id", "stage", "arm", "reason"])
    >>> cft = flow_counts(flow)["arms"]["CFT"]
    >>> cft["received"], cft["not_received"]["n"], cft["stopped_sessions"]["reasons"]
    (1, 1, [{'reason': 'too busy', 'n': 1}])
    """
    trial = flow[flow["stage"].isin(TRIAL_STAGES)].fillna({"arm": "", "reason": ""})
    flow = flow[~flow["stage"].isin(TRIAL_STAGES)].copy()
    flow["arm"] = flow["arm"].fillna("")
    by_stage = {stage: flow[flow["stage"] == stage] for stage in flow["stage"].unique()}
    empty = flow.iloc[0:0]
    excluded = by_stage.get("excluded", empty)
    randomised = by_stage.get("randomised", empty)
    listed = sorted({*randomised["arm"].unique(), *arms})
    recorded = any(stage in by_stage for stage in ("received", "not_received"))
    arms = {}
    for arm in listed:
        allocated = int(randomised.loc[randomised["arm"] == arm, "participant_id"].nunique())
        analysed = by_stage.get("analysed", empty)
        n_analysed = int(analysed.loc[analysed["arm"] == arm, "participant_id"].nunique())
        arm_rows = {}
        for stage in ("not_received", "stopped_sessions", "withdrawn", "lost"):
            rows = by_stage.get(stage, empty)
            rows = rows[rows["arm"] == arm]
            arm_rows[stage] = {"n": int(rows["participant_id"].nunique()),
                               "reasons": _reasons(rows)}
        received = by_stage.get("received", empty)
        n_received = int(received.loc[received["arm"] == arm, "participant_id"].nunique())
        arms[arm] = {
            "allocated": allocated,
            "received": n_received if recorded else None,
            **arm_rows,
            "analysed": n_analysed,
            "not_analysed": allocated - n_analysed,
        }
    counts = {
        "assessed": int(flow["participant_id"].nunique()),
        "excluded": {"n": int(excluded["participant_id"].nunique()),
                     "reasons": _reasons(excluded)},
        "randomised": int(randomised["participant_id"].nunique()),
        "intervention_recorded": bool(recorded or "stopped_sessions" in by_stage),
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
LINE = 22  # line height of the diagram's text, canvas units
PAD = 8  # text inset from the box's left edge
FONT = 14  # font size of the SVG text (the PNG draws smaller)


#: advance widths (em) of the ASCII characters in DejaVu Sans, the widest of the common
#: sans-serif fonts a browser or matplotlib falls back to, so text measured with them fits
_EM = {ch: width for width, chars in (
    (0.27, "'"), (0.28, "ijl"), (0.29, "IJ"), (0.32, " ,."), (0.34, "/:;\\|"), (0.35, "f"),
    (0.36, "-"), (0.38, "r"), (0.39, "()[]t"), (0.4, "!"), (0.46, '"'), (0.5, "*_`"),
    (0.52, "sz"), (0.53, "?c"), (0.55, "o"), (0.56, "L"), (0.57, "e"), (0.58, "Fk"),
    (0.59, "vxy"), (0.6, "P"), (0.61, "TYa"), (0.63, "ESbdghnpqu"), (0.64, "$0123456789{}"),
    (0.66, "K"), (0.68, "AV"), (0.69, "BRXZ"), (0.7, "C"), (0.73, "U"), (0.75, "HN"),
    (0.77, "DG"), (0.78, "&"), (0.79, "OQ"), (0.82, "w"), (0.84, "#+<=>^~"), (0.86, "M"),
    (0.95, "%"), (0.97, "m"), (0.99, "W"), (1.0, "@")) for ch in chars}


def text_width(text: str, size: float = FONT) -> float:
    """Width of a line of text on the canvas at font ``size``: ASCII from DejaVu Sans'
    metrics, a wide (CJK) character a full em, any other character 0.7 em; so a box is made
    wide enough without loading a font."""
    return size * sum(_EM.get(ch) or (1.0 if unicodedata.east_asian_width(ch) in ("W", "F")
                                      else 0.7) for ch in text)


def _wrap(line: str, width: float) -> list[str]:
    """Break a line to fit ``width``: at spaces where it has them, else between characters
    (CJK text has no spaces); continuation lines are indented as a reason's text."""
    if text_width(line) <= width:
        return [line]
    out, current = [], ""
    pieces = line.split(" ") if " " in line.strip() else list(line)
    joiner = " " if " " in line.strip() else ""
    for piece in pieces:
        trial = current + (joiner if current else "") + piece
        if current and text_width(trial) > width:
            out.append(current)
            current = "  " + piece
        else:
            current = trial
    out.append(current)
    return out


def _fit(lines: list[str], width: float) -> list[str]:
    return [part for line in lines for part in _wrap(line, width - 2 * PAD)]


def _height(lines: list[str]) -> float:
    return LINE * len(lines) + 12


def _layout(counts: dict, phrases: Mapping[str, str] | None = None,
            reasons: Mapping[str, str] | None = None,
            ) -> tuple[list[Box], list[tuple[float, float, float, float]]]:
    """Boxes as (x, y, width, lines) and connecting lines, on a 1000-unit wide canvas; every
    line of text fits its box (long lines wrap, boxes grow)."""
    say = _phrases(phrases)

    def why(rows: list[dict]) -> list[str]:
        return [say["reason"].format(reason=_reason(r["reason"], say, reasons), n=r["n"])
                for r in rows]

    top = (350, 20, 300, _fit([say["assessed"].format(n=counts["assessed"])], 300))
    exc = counts["excluded"]
    excluded = (680, 80, 300, _fit([say["excluded"].format(n=exc["n"])]
                                   + why(exc["reasons"]), 300))
    rand_y = max(20 + _height(top[3]) + 40, 80 + _height(excluded[3]) + 30)
    randomised = (350, rand_y, 300, _fit([say["randomised"].format(n=counts["randomised"])],
                                         300))
    boxes: list[Box] = [top, excluded, randomised]
    links = [(500, 20 + _height(top[3]), 500, rand_y), (500, 100, 680, 100)]
    arms = list(counts["arms"].items())
    width = 1000 / max(len(arms), 1)
    box_w = width - 40
    recorded = counts.get("intervention_recorded", False)
    alloc_boxes, loss_boxes, end_boxes = [], [], []
    for arm, c in arms:
        lines = [say["allocated"].format(arm=arm, n=c["allocated"])]
        if c.get("received") is not None:
            lines.append(say["received"].format(n=c["received"]))
            lines.append(say["not_received"].format(n=c["not_received"]["n"]))
            lines += why(c["not_received"]["reasons"])
        alloc_boxes.append(_fit(lines, box_w))
        lines = []
        if recorded:
            lines.append(say["stopped_sessions"].format(n=c["stopped_sessions"]["n"]))
            lines += why(c["stopped_sessions"]["reasons"])
            lines.append(say["left_study"].format(n=c["withdrawn"]["n"]))
        else:
            lines.append(say["withdrawn"].format(n=c["withdrawn"]["n"]))
        lines += why(c["withdrawn"]["reasons"])
        lines.append(say["lost"].format(n=c["lost"]["n"]))
        lines += why(c["lost"]["reasons"])
        loss_boxes.append(_fit(lines, box_w))
        end_boxes.append(_fit([say["analysed"].format(n=c["analysed"]),
                               say["not_analysed"].format(n=c["not_analysed"])], box_w))
    alloc_y = rand_y + _height(randomised[3]) + 60
    split_y = alloc_y - 30
    if arms:
        first = width / 2
        last = (len(arms) - 1) * width + width / 2
        links += [(500, rand_y + _height(randomised[3]), 500, split_y),
                  (first, split_y, last, split_y)]
    loss_y = alloc_y + max((_height(b) for b in alloc_boxes), default=0) + 40
    analysed_y = loss_y + max((_height(b) for b in loss_boxes), default=0) + 40
    for i, (alloc, loss, end) in enumerate(zip(alloc_boxes, loss_boxes, end_boxes,
                                               strict=True)):
        x = i * width + 20
        mid = x + box_w / 2
        boxes += [(x, alloc_y, box_w, alloc), (x, loss_y, box_w, loss),
                  (x, analysed_y, box_w, end)]
        links += [(mid, split_y, mid, alloc_y),
                  (mid, alloc_y + _height(alloc), mid, loss_y),
                  (mid, loss_y + _height(loss), mid, analysed_y)]
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
            parts.append(f'<text x="{x + PAD:.0f}" y="{y + LINE * (j + 1):.0f}" '
                         f'xml:space="preserve">{escape(line)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def flow_figure(counts: dict, dpi: int = 100, phrases: Mapping[str, str] | None = None,
                reasons: Mapping[str, str] | None = None):
    """The flow diagram as a matplotlib figure (one canvas unit is one pixel at ``dpi``)."""
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
            ax.text(x + PAD, y + LINE * (j + 1) - 4, line, fontsize=9, zorder=3)
    return fig


def flow_png(counts: dict, dpi: int = 100, phrases: Mapping[str, str] | None = None,
             reasons: Mapping[str, str] | None = None) -> bytes:
    """The flow diagram as PNG bytes, drawn with matplotlib (``phrases`` and ``reasons`` as
    for :func:`flow_svg`; text in the current ``font.family``, which a caller drawing CJK
    text sets to a font that has the glyphs)."""
    import matplotlib.pyplot as plt

    fig = flow_figure(counts, dpi, phrases, reasons)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()
