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
"""

from __future__ import annotations

import io
from html import escape

import pandas as pd

__all__ = ["flow_counts", "flow_svg", "flow_png"]


def _reasons(rows: pd.DataFrame) -> list[dict]:
    reasons = rows["reason"].fillna("").replace("", "not given").value_counts()
    return [{"reason": str(r), "n": int(n)} for r, n in sorted(reasons.items())]


def flow_counts(flow: pd.DataFrame) -> dict:
    """Count people at each CONSORT stage, with reasons for every exclusion or loss.

    Parameters
    ----------
    flow : DataFrame
        ``participant_id, stage, arm, reason`` as described in the module docstring.

    Returns
    -------
    dict
        ``assessed``, ``excluded`` (n, reasons), ``randomised`` and ``arms``: per arm
        ``allocated``, ``withdrawn`` and ``lost`` (n, reasons), ``analysed`` and
        ``not_analysed``.

    References
    ----------
    Schulz, K. F., Altman, D. G., & Moher, D. (2010). CONSORT 2010 Statement. BMJ, 340, c332.
    """
    flow = flow.copy()
    flow["arm"] = flow["arm"].fillna("")
    by_stage = {stage: flow[flow["stage"] == stage] for stage in flow["stage"].unique()}
    empty = flow.iloc[0:0]
    excluded = by_stage.get("excluded", empty)
    randomised = by_stage.get("randomised", empty)
    arms = {}
    for arm in sorted(randomised["arm"].unique()):
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
    return {
        "assessed": int(flow["participant_id"].nunique()),
        "excluded": {"n": int(excluded["participant_id"].nunique()),
                     "reasons": _reasons(excluded)},
        "randomised": int(randomised["participant_id"].nunique()),
        "arms": arms,
    }


def _boxes(counts: dict) -> list[tuple[float, float, float, list[str]]]:
    """Layout as (x, y, width, lines), coordinates in a 0..1000 wide canvas."""
    boxes = [(350, 20, 300, [f"Assessed for eligibility (n = {counts['assessed']})"])]
    exc = counts["excluded"]
    boxes.append((680, 80, 300, [f"Excluded (n = {exc['n']})"]
                  + [f"- {r['reason']} (n = {r['n']})" for r in exc["reasons"]]))
    boxes.append((350, 200, 300, [f"Randomised / included (n = {counts['randomised']})"]))
    arms = list(counts["arms"].items())
    width = 1000 / max(len(arms), 1)
    for i, (arm, c) in enumerate(arms):
        x = i * width + 20
        w = width - 40
        boxes.append((x, 300, w, [f"Allocated to {arm} (n = {c['allocated']})"]))
        lines = [f"Withdrew (n = {c['withdrawn']['n']})"]
        lines += [f"- {r['reason']} (n = {r['n']})" for r in c["withdrawn"]["reasons"]]
        lines.append(f"Lost to follow-up (n = {c['lost']['n']})")
        lines += [f"- {r['reason']} (n = {r['n']})" for r in c["lost"]["reasons"]]
        boxes.append((x, 380, w, lines))
        boxes.append((x, 400 + 22 * len(lines) + 40, w,
                      [f"Analysed (n = {c['analysed']})",
                       f"Not analysed (n = {c['not_analysed']})"]))
    return boxes


def flow_svg(counts: dict) -> str:
    """The flow diagram as a standalone SVG string (text escaped, no scripts)."""
    boxes = _boxes(counts)
    height = max(y + 22 * len(lines) + 20 for _, y, _, lines in boxes) + 20
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1000 {height:.0f}" '
        f'width="1000" height="{height:.0f}" font-family="sans-serif" font-size="14" '
        'role="img" aria-label="CONSORT flow diagram">'
    ]
    for x, y, w, lines in boxes:
        h = 22 * len(lines) + 12
        parts.append(f'<rect x="{x:.0f}" y="{y:.0f}" width="{w:.0f}" height="{h:.0f}" '
                     'fill="white" stroke="black"/>')
        for j, line in enumerate(lines):
            parts.append(f'<text x="{x + 8:.0f}" y="{y + 22 * (j + 1):.0f}">{escape(line)}</text>')
    parts.append('<line x1="500" y1="54" x2="500" y2="200" stroke="black"/>')
    parts.append('<line x1="500" y1="100" x2="680" y2="100" stroke="black"/>')
    parts.append("</svg>")
    return "\n".join(parts)


def flow_png(counts: dict, dpi: int = 100) -> bytes:
    """The flow diagram as PNG bytes, drawn with matplotlib."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    boxes = _boxes(counts)
    height = max(y + 22 * len(lines) + 20 for _, y, _, lines in boxes) + 20
    fig, ax = plt.subplots(figsize=(10, height / 100), dpi=dpi)
    ax.set_xlim(0, 1000)
    ax.set_ylim(height, 0)
    ax.axis("off")
    for x, y, w, lines in boxes:
        h = 22 * len(lines) + 12
        ax.add_patch(plt.Rectangle((x, y), w, h, fill=False))
        for j, line in enumerate(lines):
            ax.text(x + 8, y + 22 * (j + 1) - 4, line, fontsize=8)
    ax.plot([500, 500], [54, 200], color="black", linewidth=0.8)
    ax.plot([500, 680], [100, 100], color="black", linewidth=0.8)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()
