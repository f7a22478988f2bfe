"""Downloadable reports: self-contained HTML and one-sheet-per-table XLSX."""

import io

import openpyxl
import pandas as pd
import pytest

from analysis import efficacy_report, feasibility_report, reliable_change, render_html, render_xlsx


def test_efficacy_html_is_self_contained_and_escaped(cft_scores):
    scores = cft_scores.replace({"measure": {"SCS-SF": "<script>alert(1)</script>"}})
    html = render_html(efficacy_report(scores, None, ["pre", "post"]))
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "http" not in html  # no external resources
    assert html.count('src="data:image/png;base64,') == 2  # one trajectory plot per measure
    assert "minus the same change in CFT (the reference arm)" in html
    assert "UC − CFT change, pre to post" in html  # the term named for people
    assert "Linear mixed model (REML)" in html
    assert "<code>score ~ time * arm + (1 | participant_id)</code>" in html


def test_efficacy_workbook_sheets(cft_scores):
    book = openpyxl.load_workbook(io.BytesIO(render_xlsx(
        efficacy_report(cft_scores, None, ["pre", "post"]))))
    assert book.sheetnames[:4] == ["summary", "descriptives", "effects", "variance components"]
    summary = {row[0].value: [c.value for c in row] for row in book["summary"].iter_rows()}
    header = summary["measure"]
    bdi = dict(zip(header, summary["BDI-II"], strict=True))
    # R: m <- lmer(score ~ time * arm + (1 | participant_id), d); estimate 8.2007, t-based CI
    # 8.2007 + c(-1, 1) * qt(0.975, 14.6223) * 5.11499 = -2.73, 19.13; d = 2t/sqrt(df) = 0.84
    assert bdi["UC − CFT change, pre to post"] == "8.20 [-2.73, 19.13]"
    assert bdi["UC − CFT change, pre to post d"] == "0.84"
    assert bdi["UC post"].endswith("n=7")
    effects = pd.DataFrame(book["effects"].values)
    header = list(effects.iloc[0])
    assert {"measure", "effect", "term", "estimate", "df", "d"} <= set(header)
    assert len(effects) == 3  # header + two measures
    row = dict(zip(header, effects.iloc[1], strict=True))
    assert (row["effect"], row["term"]) == ("UC − CFT change, pre to post", "time[post]:arm[UC]")
    # type III tests and per-timepoint contrasts have their sheets, named for people too
    tests = pd.DataFrame(book["type III tests"].values)
    assert list(tests.iloc[1:4, 1]) == ["time", "arm", "time × arm"]
    contrasts = pd.DataFrame(book["contrasts per timepoint"].values)
    assert contrasts.iloc[2, 1] == "UC − CFT at post"
    model = {r[0].value: r[1].value for r in book["model"].iter_rows()}
    assert model["formula"] == "score ~ time * arm + (1 | participant_id)"
    assert model["df_method"] == "satterthwaite"


def test_reliable_change_report_has_scatter_and_counts(cft_scores):
    result = reliable_change(cft_scores, "BDI-II", ["pre", "post"], 0.87, norm_mean=8.9,
                             norm_sd=6.5, lower_is_better=True)
    html = render_html(result)
    assert "Jacobson–Truax plot" in html and "data:image/png;base64," in html
    book = openpyxl.load_workbook(io.BytesIO(render_xlsx(result)))
    assert book.sheetnames == ["summary", "counts", "participants", "figures"]
    assert len(book["figures"]._images) == 1  # the Jacobson–Truax plot, embedded
    assert book["participants"].max_row == 17  # header + 16 complete pairs


def test_feasibility_report_renders_flow_svg():
    attendance = pd.DataFrame({"participant_id": ["A"] * 3, "arm": "CFT", "meeting": [1, 2, 3],
                               "present": [True, True, False]})
    flow = pd.DataFrame({"participant_id": ["A", "B"], "stage": ["randomised", "excluded"],
                         "arm": ["CFT", ""], "reason": ["", "declined"]})
    report = feasibility_report(attendance, flow=flow)
    html = render_html(report)
    assert "<svg" in html and "Excluded (n = 1)" in html
    book = openpyxl.load_workbook(io.BytesIO(render_xlsx(report)))
    assert "flow" in book.sheetnames and "attendance" in book.sheetnames


@pytest.mark.filterwarnings("ignore:Glyph:UserWarning")  # the caller picks a CJK font
def test_figures_take_the_caller_s_phrases():
    from matplotlib.figure import Figure

    from analysis.plots import PLOT_PHRASES, jacobson_truax_plot, trajectory_plot

    descriptives = [{"arm": a, "timepoint": t, "n": 5, "mean": m, "sd": 1.0}
                    for a, t, m in [("CFT", "pre", 10.0), ("CFT", "post", 12.0)]]
    fig = trajectory_plot(descriptives, ["pre", "post"], "BDI-II",
                          {"trajectory_y": "{measure}（平均、95%信頼区間）", "arm": "群"},
                          arm_names={"CFT": "CFT群"})
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_ylabel() == "BDI-II（平均、95%信頼区間）"
    assert ax.get_legend().get_title().get_text() == "群"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["CFT群"]
    result = {"participants": [{"pre": 10.0, "post": 14.0, "arm": "CFT"}], "s_diff": 1.5,
              "cutoff_used": {"kind": "c", "value": 12.3}, "measure": "BDI-II",
              "timepoints": ["pre", "post"]}
    phrases = {"no_change": "変化なし", "no_reliable_change": "信頼できる変化なし",
               "cutoff": "カットオフ{kind} = {value}", "jt_x": "{measure}（{timepoint}）"}
    ax = jacobson_truax_plot(result, phrases, measure="BDI-II 合計").axes[0]
    assert ax.get_xlabel() == "BDI-II 合計（pre）"
    assert [t.get_text() for t in ax.get_legend().get_texts()][:3] == [
        "変化なし", "信頼できる変化なし", "カットオフc = 12.30"]
    assert set(phrases) <= set(PLOT_PHRASES)


def test_the_page_layout_keeps_the_json_ids(cft_scores):
    """The app's pages label the tables by their ids: the default layout keeps the machine
    terms, and the tables and columns the full layout adds stay out of it."""
    from analysis.report import tables

    report = efficacy_report(cft_scores, None, ["pre", "post"])
    page = tables(report)
    assert "time[post]:arm[UC]" in page["summary"].columns
    assert "effect" not in page["effects"].columns
    assert not {"type III tests", "contrasts per timepoint", "model"} & set(page)
    ja = {"interaction": "{arm}群と{reference}群の変化の差（{baseline}→{timepoint}）"}
    full = tables(report, full=True, phrases=ja)
    assert "UC群とCFT群の変化の差（pre→post）" in full["summary"].columns


def test_human_term_names():
    from analysis.terms import anova_label, term_label

    report = {"timepoints": ["baseline", "week8", "week20"], "reference_arm": "UC",
              "reference_levels": {"site": "Kyoto"}}
    assert term_label("time[week20]:arm[CFT]", report) == "CFT − UC change, baseline to week20"
    assert term_label("time[week8]", report) == "change, baseline to week8"
    assert term_label("arm[CFT]@week20", report) == "CFT − UC at week20, adjusted for baseline"
    assert term_label("site[Osaka]", report) == "site: Osaka vs Kyoto"
    assert term_label("mystery:term[x]", report) == "mystery:term[x]"  # unknown: as it is
    assert anova_label("time:arm") == "time × arm"


def test_efficacy_workbook_embeds_its_figures(cft_scores):
    book = openpyxl.load_workbook(io.BytesIO(render_xlsx(
        efficacy_report(cft_scores, None, ["pre", "post"]))))
    sheet = book["figures"]
    assert len(sheet._images) == 2  # a trajectory figure per measure
    assert sheet["A1"].value == "Trajectories: BDI-II: mean and 95% CI per arm"
    first, second = (img.anchor._from.row for img in sheet._images)
    assert second > first + 15  # stacked, not on top of each other


def test_feasibility_report_draws_attendance_per_meeting_and_recruitment():
    rows = [(p, m, not (p == "B" and m in (2, 5))) for p in "ABC" for m in range(1, 9)]
    attendance = pd.DataFrame(rows, columns=["participant_id", "meeting", "present"])
    attendance["arm"] = "CFT"
    participants = pd.DataFrame({
        "participant_id": list("ABC"), "arm": "CFT", "status": "completed",
        "gender": ["female", "male", "female"], "age": [30, 40, 50],
        "randomised_on": ["2026-01-12", "2026-02-02", "2026-03-30"]})
    flow = pd.DataFrame({"participant_id": list("ABC"), "stage": "randomised", "arm": "CFT",
                         "reason": ""})
    report = feasibility_report(attendance, participants=participants, flow=flow)
    assert report["recruitment"]["by_month"] == [
        {"month": "2026-01", "n": 1, "cumulative": 1},
        {"month": "2026-02", "n": 1, "cumulative": 2},
        {"month": "2026-03", "n": 1, "cumulative": 3}]
    # R: 3 / (as.numeric(as.Date("2026-03-30") - as.Date("2026-01-12")) / (365.25 / 12))
    assert report["recruitment"]["per_month"] == pytest.approx(1.185876623, rel=1e-8)
    assert {r["metric"]: r["value"] for r in report["progression"]}.get(
        "recruitment_per_month") is None  # not a default criterion, but available to one
    html = render_html(report)
    assert "<h2>Attendance per meeting</h2>" in html
    assert "<h2>Recruitment over time</h2>" in html
    assert html.count('src="data:image/png;base64,') == 2  # the flow diagram is inline SVG
    book = openpyxl.load_workbook(io.BytesIO(render_xlsx(report)))
    assert len(book["figures"]._images) == 3  # flow diagram, attendance, recruitment
    per_meeting = pd.DataFrame(book["attendance per meeting"].values)
    assert list(per_meeting.iloc[2]) == [2, 2, 3, pytest.approx(100 * 2 / 3)]
    assert pd.DataFrame(book["recruitment"].values).shape == (4, 3)


@pytest.mark.filterwarnings("ignore:Glyph:UserWarning")  # the caller picks a CJK font
def test_new_figure_phrases_are_keys_the_caller_can_replace():
    from analysis.plots import PLOT_PHRASES, attendance_plot, recruitment_plot

    phrases = {"attendance_x": "回", "attendance_y": "出席（%）", "recruitment_y": "割付人数"}
    assert set(phrases) <= set(PLOT_PHRASES)
    ax = attendance_plot([{"meeting": 1, "present": 3, "expected": 4, "pct": 75.0}],
                         phrases).axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("回", "出席（%）")
    ax = recruitment_plot([{"month": "2026-01", "n": 2, "cumulative": 2}], phrases).axes[0]
    assert ax.get_ylabel() == "割付人数"
