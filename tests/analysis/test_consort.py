"""CONSORT flow counts from trial records: the CFT pilot's published flow (brief.md)."""

import html
import re
import warnings

import pandas as pd
import pytest

from analysis import flow_counts, flow_png, flow_svg
from analysis.consort import flow_figure, text_width


def cft_flow() -> pd.DataFrame:
    rows = [{"participant_id": f"S{i:02d}", "stage": "screened", "arm": "", "reason": ""}
            for i in range(1, 25)]
    reasons = (["not meeting inclusion criteria"] * 3 + ["meeting exclusion criteria"] * 2
               + ["declined"])  # brief.md lists 3 + 2; a sixth leaves 18 of 24
    rows += [{"participant_id": f"S{i + 1:02d}", "stage": "excluded", "arm": "", "reason": r}
             for i, r in enumerate(reasons)]
    arms = ["CFT"] * 10 + ["UC"] * 8
    for i, arm in enumerate(arms):
        pid = f"S{i + 7:02d}"
        rows.append({"participant_id": pid, "stage": "randomised", "arm": arm, "reason": ""})
    rows.append({"participant_id": "S07", "stage": "withdrawn", "arm": "CFT",
                 "reason": "relocation"})
    rows.append({"participant_id": "S17", "stage": "withdrawn", "arm": "UC",
                 "reason": "asked for data removal"})
    for i, arm in enumerate(arms):
        pid = f"S{i + 7:02d}"
        if pid != "S17":  # intent-to-treat: the CFT withdrawal is analysed; removed data is not
            rows.append({"participant_id": pid, "stage": "analysed", "arm": arm, "reason": ""})
    return pd.DataFrame(rows)


def test_published_cft_flow():
    counts = flow_counts(cft_flow())
    assert counts["assessed"] == 24
    assert counts["excluded"]["n"] == 6
    assert {"reason": "not meeting inclusion criteria", "n": 3} in counts["excluded"]["reasons"]
    assert counts["randomised"] == 18
    assert counts["arms"]["CFT"]["allocated"] == 10
    assert counts["arms"]["UC"]["allocated"] == 8
    assert counts["arms"]["CFT"]["withdrawn"] == {
        "n": 1, "reasons": [{"reason": "relocation", "n": 1}]}
    assert counts["arms"]["CFT"]["analysed"] == 10
    assert counts["arms"]["UC"]["analysed"] == 7
    assert counts["arms"]["UC"]["not_analysed"] == 1
    assert sum(a["analysed"] for a in counts["arms"].values()) == 17


def test_svg_escapes_reasons_and_png_is_an_image():
    flow = cft_flow()
    flow.loc[flow["reason"] == "relocation", "reason"] = "moved <away> & back"
    counts = flow_counts(flow)
    svg = flow_svg(counts)
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert "moved &lt;away&gt; &amp; back (n = 1)" in svg
    assert "Allocated to CFT (n = 10)" in svg
    assert "<script" not in svg
    assert flow_png(counts)[:8] == b"\x89PNG\r\n\x1a\n"


def test_phrases_and_reason_labels_replace_the_english_text():
    flow = cft_flow()
    flow.loc[flow["reason"] == "declined", "reason"] = ""
    counts = flow_counts(flow)
    assert flow_svg(counts, {}) == flow_svg(counts)
    phrases = {"assessed": "適格性を評価 (n = {n})", "allocated": "{arm}群に割付 (n = {n})",
               "reason": "・{reason} (n = {n})", "not_given": "理由不明",
               "title": "CONSORTフロー図"}
    svg = flow_svg(counts, phrases, reasons={"relocation": "転居"})
    assert "適格性を評価 (n = 24)" in svg and "CFT群に割付 (n = 10)" in svg
    assert "・転居 (n = 1)" in svg and "・理由不明 (n = 1)" in svg
    assert 'aria-label="CONSORTフロー図"' in svg
    assert "Assessed for eligibility" not in svg and "not given" not in svg
    assert "Excluded (n = 6)" in svg  # a key without a phrase keeps its English text
    with warnings.catch_warnings():  # glyphs missing from the default font: the caller's font
        warnings.simplefilter("ignore", UserWarning)
        assert flow_png(counts, phrases=phrases)[:8] == b"\x89PNG\r\n\x1a\n"


def _trial_record(pid, stage, arm="", reason=""):
    return {"participant_id": pid, "stage": stage, "arm": arm, "reason": reason}


def test_the_trial_records_add_counts_and_change_none_of_the_diagrams():
    flow = cft_flow()
    records = [_trial_record(f"S{i:02d}", "applied") for i in range(1, 27)]  # 2 not screened
    records += [_trial_record("S01", "ineligible", reason="age"),
                _trial_record("S01", "ineligible", reason="psychosis"),
                _trial_record("S01", "meeting_exclusion"),
                _trial_record("S02", "ineligible", reason="age"),
                _trial_record("S07", "withdrawal_kind", "CFT", "leave_study"),
                _trial_record("S08", "started", "CFT"),
                _trial_record("S17", "data_removed", "UC")]
    records += [_trial_record(f"S{i:02d}", "eligible") for i in range(6, 25)]
    with_records = pd.concat([flow, pd.DataFrame(records)], ignore_index=True)

    plain = flow_counts(flow)
    counts = flow_counts(with_records, arms=["CFT", "UC", "WL"], trial_records=True)

    assert flow_counts(with_records) == plain  # the records are counted only when asked for
    for key in ("assessed", "randomised"):
        assert counts[key] == plain[key]
    for arm in ("CFT", "UC"):
        assert {k: counts["arms"][arm][k] for k in plain["arms"][arm]} == plain["arms"][arm]
    assert counts["arms"]["WL"]["allocated"] == 0 and counts["arms"]["WL"]["started"] == 0
    assert counts["applied"] == 26 and counts["eligible"] == 19
    assert counts["eligible_not_allocated"] == 1  # S06
    assert counts["excluded"]["ineligible"] == 2
    assert counts["excluded"]["meeting_exclusion"] == 1
    assert counts["excluded"]["not_meeting_inclusion"] == 1
    assert counts["excluded"]["rules"] == {"age": 2, "psychosis": 1}
    assert counts["arms"]["CFT"]["withdrawal_kinds"] == {"leave_study": 1}
    assert counts["arms"]["CFT"]["started"] == 1
    assert counts["arms"]["UC"]["data_removed"] == 1
    assert counts["analysed"] == 17


def _with_intervention(flow: pd.DataFrame) -> pd.DataFrame:
    """The pilot's records with who received the sessions: one CFT participant never came
    (relocation), another stopped the sessions after three but kept filling in the
    questionnaires; usual care received usual care."""
    rows = []
    for r in flow[flow["stage"] == "randomised"].itertuples():
        if r.participant_id == "S07":
            rows.append((r.participant_id, "not_received", r.arm, "relocation"))
        else:
            rows.append((r.participant_id, "received", r.arm, ""))
    rows.append(("S08", "stopped_sessions", "CFT", "sessions clashed with work"))
    extra = pd.DataFrame(rows, columns=["participant_id", "stage", "arm", "reason"])
    return pd.concat([flow, extra], ignore_index=True)


def test_received_intervention_and_stopped_sessions_apart_from_leaving_the_study():
    counts = flow_counts(_with_intervention(cft_flow()))
    cft = counts["arms"]["CFT"]
    assert counts["intervention_recorded"] is True
    assert cft["received"] == 9
    assert cft["not_received"] == {"n": 1, "reasons": [{"reason": "relocation", "n": 1}]}
    assert cft["stopped_sessions"]["n"] == 1 and cft["withdrawn"]["n"] == 1
    svg = flow_svg(counts)
    assert "Received allocated intervention (n = 9)" in svg
    assert "Did not receive allocated intervention (n = 1)" in svg
    assert "Stopped sessions, stayed in the study (n = 1)" in svg
    assert "- sessions clashed with work (n = 1)" in svg
    assert "Left the study (n = 1)" in svg and "Withdrew" not in svg
    # records that cannot tell stopping from leaving: the diagram says "withdrew", as before
    plain = flow_svg(flow_counts(cft_flow()))
    assert "Withdrew (n = 1)" in plain and "Received" not in plain and "Stopped" not in plain
    assert flow_counts(cft_flow())["arms"]["CFT"]["received"] is None


def _boxes_and_texts(svg: str):
    rects = [tuple(float(v) for v in m) for m in re.findall(
        r'<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"', svg)]
    texts = [(float(x), float(y), html.unescape(t)) for x, y, t in re.findall(
        r'<text x="([\d.]+)" y="([\d.]+)"[^>]*>([^<]*)</text>', svg)]
    return rects, texts


@pytest.mark.parametrize("phrases", [None, {
    "allocated": "{arm}群に割り付け（n = {n}）",
    "received": "割り付けられた介入を受けた（n = {n}）",
    "stopped_sessions": "セッションを中止し研究には継続参加（n = {n}）",
    "left_study": "研究から離脱（n = {n}）", "reason": "・{reason}（n = {n}）"}])
def test_every_box_fits_its_text(phrases):
    flow = _with_intervention(cft_flow())
    long = ("moved to another prefecture for a new job and could no longer travel to the "
            "clinic on weekday evenings")
    flow.loc[flow["reason"] == "relocation", "reason"] = long
    three_arms = flow.copy()
    three_arms.loc[three_arms["participant_id"].isin(["S20", "S21", "S22", "S23"]), "arm"] = (
        "CFT + app")
    for records in (flow, three_arms):
        svg = flow_svg(flow_counts(records), phrases)
        rects, texts = _boxes_and_texts(svg)
        for x, y, text in texts:
            box = next(r for r in rects if r[0] <= x <= r[0] + r[2] and r[1] <= y <= r[1] + r[3])
            assert x + text_width(text) <= box[0] + box[2], (text, box)
        assert any(t.strip().startswith("clinic") or "clinic" in t for *_, t in texts)
        assert not any(long in t for *_, t in texts)  # wrapped, not overflowing


def test_the_png_diagram_s_text_stays_inside_its_boxes():
    import matplotlib.pyplot as plt

    flow = _with_intervention(cft_flow())
    flow.loc[flow["reason"] == "relocation", "reason"] = "moved away " * 8
    fig = flow_figure(flow_counts(flow))
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    boxes = [p.get_window_extent(renderer) for p in ax.patches]
    for text in ax.texts:
        extent = text.get_window_extent(renderer)
        box = next(b for b in boxes if b.x0 <= extent.x0 <= b.x1 and b.y0 <= extent.y0 <= b.y1)
        assert extent.x1 <= box.x1, text.get_text()
    plt.close(fig)
