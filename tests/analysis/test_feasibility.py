"""Feasibility: the CFT pilot's published attendance, completion and satisfaction figures
(brief.md) rebuilt from records, progression bands, and completers vs non-completers against R.
"""

import numpy as np
import pandas as pd
import pytest

from analysis import feasibility_report
from analysis.completers import completer_comparison
from analysis.feasibility import (
    assessment_completion,
    attendance_summary,
    completion_summary,
    due_timepoints,
    progression,
    satisfaction_summary,
    session_delivery,
)

# CFT pilot: 12 weekly meetings; 4 attended all, 2 missed once, 1 twice, 1 three times.
MISSED = [0, 0, 0, 0, 1, 1, 2, 3]


@pytest.fixture
def attendance():
    rows = []
    for i, missed in enumerate(MISSED):
        absent = set(range(1, missed + 1))
        rows += [{"participant_id": f"C{i + 1:02d}", "arm": "CFT", "meeting": m,
                  "present": m not in absent} for m in range(1, 13)]
    return pd.DataFrame(rows)


@pytest.fixture
def cft_status():
    # 10 randomised to CFT, one withdrew (relocation): completion 90 %, dropout 10 %
    return pd.DataFrame({
        "participant_id": [f"C{i:02d}" for i in range(1, 11)], "arm": "CFT",
        "status": ["completed"] * 9 + ["withdrawn"], "gender": None, "age": np.nan,
    })


def test_attendance_range_and_distribution(attendance):
    summary = attendance_summary(attendance, min_attended=9)
    assert summary["n_meetings"] == 12
    assert summary["rate_pct"]["min"] == pytest.approx(75.0)
    assert summary["rate_pct"]["max"] == pytest.approx(100.0)
    assert summary["distribution"] == [
        {"missed": 0, "participants": 4}, {"missed": 1, "participants": 2},
        {"missed": 2, "participants": 1}, {"missed": 3, "participants": 1},
    ]
    assert summary["at_least_k"] == {"n": 8, "of": 8, "pct": 100.0}
    assert attendance_summary(attendance, min_attended=11)["at_least_k"]["n"] == 6
    # mean rate = (4*12 + 2*11 + 10 + 9) / (8*12) = 89/96
    assert summary["rate_pct"]["mean"] == pytest.approx(100 * 89 / 96)


def test_completion_and_dropout(cft_status):
    out = completion_summary(cft_status)
    assert out["CFT"]["completion_pct"] == pytest.approx(90.0)
    assert out["CFT"]["dropout_pct"] == pytest.approx(10.0)
    assert out["all"]["completed"] == 9


def test_csq8_reproduces_published_mean_and_sd():
    # Twelve CSQ-8 totals with mean 28.17 and SD 2.29 (brief.md), each split into items 1-4:
    # every item 3, plus (total - 24) items raised to 4.
    totals = [24, 25, 26, 27, 28, 29, 29, 29, 29, 30, 30, 32]
    rows = []
    for i, total in enumerate(totals):
        items = [4] * (total - 24) + [3] * (32 - total)
        rows.append({"participant_id": f"C{i}", **{f"csq_{k + 1}": v for k, v in
                                                   enumerate(items)}})
    csq = pd.DataFrame(rows)
    csq.loc[0, "csq_1"] = 2  # one "fair" rating: total 23, 95/96 ratings good or better
    out = satisfaction_summary(csq)
    assert out["n"] == 12
    assert f"{out['total_mean']:.2f}" == "28.08"
    csq.loc[0, "csq_1"] = 3
    out = satisfaction_summary(csq)
    assert f"{out['total_mean']:.2f}" == "28.17"
    assert f"{out['total_sd']:.2f}" == "2.29"
    assert out["good_or_better_pct"] == pytest.approx(100.0)


def test_csq8_share_of_good_ratings_leaves_missing_ratings_out():
    # Seven questionnaires, one rating left blank: 50 of the 55 ratings given are 3 or 4
    # (counting the blank as "not 3 or 4" gave 50/56 = 89.3 %).
    rows = [[4] * 8] * 6 + [[3, 2, 2, 2, 2, 2, np.nan, 3]]
    csq = pd.DataFrame(rows, columns=[f"csq_{i}" for i in range(1, 9)])
    out = satisfaction_summary(csq)
    assert out["ratings"] == 55
    assert out["good_or_better_pct"] == pytest.approx(100 * 50 / 55)
    assert out["n"] == 6  # the total needs all eight ratings


def _eight_meetings(cancelled: int, rows=None):
    """Hearth's attendance export (meetings that took place only) for someone who came to
    every meeting held, and the sessions record with meeting ``cancelled`` cancelled."""
    held = [m for m in range(1, 9) if m != cancelled]
    rows = rows or [("A", m, True) for m in held]
    attendance = pd.DataFrame(rows, columns=["participant_id", "meeting", "present"])
    attendance["arm"] = "CFT"
    sessions = pd.DataFrame({"meeting": range(1, 9),
                             "status": ["cancelled" if m == cancelled else "held"
                                        for m in range(1, 9)]})
    return attendance, sessions


@pytest.mark.parametrize("cancelled", [5, 8])
def test_a_cancelled_meeting_lowers_no_one_s_rate(cancelled):
    # Dividing by the highest meeting number gave 87.5 % when meeting 5 was cancelled and
    # 100 % when meeting 8 was: the denominator is the meetings held, 7 either way.
    attendance, sessions = _eight_meetings(cancelled)
    out = attendance_summary(attendance, sessions=sessions)
    assert out["n_meetings"] == 7
    assert out["participants"][0]["meetings"] == 7
    assert out["rate_pct"]["mean"] == pytest.approx(100.0)
    assert out["distribution"] == [{"missed": 0, "participants": 1}]


def test_a_cancelled_meeting_listed_in_the_register_is_left_out():
    held = [("A", m, m != 5) for m in range(1, 9)]  # meeting 5 listed, nobody there
    attendance, sessions = _eight_meetings(5, held)
    assert attendance_summary(attendance, sessions=sessions)["rate_pct"]["mean"] == 100.0
    # without the sessions record the register is all there is: 7 of 8
    assert attendance_summary(attendance)["rate_pct"]["mean"] == pytest.approx(87.5)


def test_attendance_counts_only_meetings_from_the_participant_s_start():
    rows = [("A", m, True) for m in range(1, 9)] + [("B", m, m != 6) for m in range(3, 9)]
    attendance, _ = _eight_meetings(0, rows)
    out = {p["participant_id"]: p for p in attendance_summary(attendance)["participants"]}
    assert (out["B"]["meetings"], out["B"]["attended"]) == (6, 5)
    assert out["B"]["rate_pct"] == pytest.approx(100 * 5 / 6)
    # a start given explicitly wins over the first row
    attendance["start_meeting"] = attendance["participant_id"].map({"A": 1, "B": 4})
    out = {p["participant_id"]: p for p in attendance_summary(attendance)["participants"]}
    assert (out["B"]["meetings"], out["B"]["attended"]) == (5, 4)


def test_attendance_per_meeting_over_the_course(attendance):
    by_meeting = attendance_summary(attendance)["by_meeting"]
    assert [r["meeting"] for r in by_meeting] == list(range(1, 13))
    # MISSED: four missed meeting 1, two more missed meeting 2, one more meeting 3
    assert [r["present"] for r in by_meeting[:4]] == [4, 6, 7, 8]
    assert by_meeting[0] == {"meeting": 1, "present": 4, "expected": 8, "pct": 50.0}


def test_meetings_are_numbered_per_cohort():
    rows = [("A", "one", m, True) for m in range(1, 9)]
    rows += [("B", "two", m, m < 4) for m in range(1, 5)]  # cohort two has held 4 so far
    attendance = pd.DataFrame(rows, columns=["participant_id", "cohort", "meeting", "present"])
    attendance["arm"] = "CFT"
    sessions = pd.DataFrame({"cohort": ["one"] * 8 + ["two"] * 5,
                             "meeting": [*range(1, 9), *range(1, 6)],
                             "status": ["held"] * 8 + ["held"] * 4 + ["cancelled"]})
    out = {p["participant_id"]: p for p in attendance_summary(
        attendance, sessions=sessions)["participants"]}
    assert out["A"]["rate_pct"] == 100.0
    assert (out["B"]["meetings"], out["B"]["rate_pct"]) == (4, 75.0)


def test_session_delivery_counts_and_adherence():
    sessions = pd.DataFrame({"meeting": range(1, 13), "status": ["held"] * 11 + ["truncated"],
                             "adherence": [1.0] * 10 + [0.8, np.nan]})
    out = session_delivery(sessions)
    assert out["held"] == 11 and out["truncated"] == 1 and out["cancelled"] == 0
    assert out["adherence"]["sessions_with_checklist"] == 11
    assert out["adherence"]["mean_pct"] == pytest.approx(100 * 10.8 / 11)


def test_progression_bands():
    rows = progression(
        {"retention_pct": 90.0, "mean_attendance_pct": 70.0, "assessment_completion_pct": 40.0},
        [{"metric": "retention_pct", "green": 80, "amber": 60},
         {"metric": "mean_attendance_pct", "green": 75, "amber": 50},
         {"metric": "assessment_completion_pct", "green": 80, "amber": 60},
         {"metric": "recruitment_per_month", "green": 10, "amber": 5}],
    )
    assert [r["band"] for r in rows] == ["green", "amber", "red", None]


def test_completers_vs_non_completers_odds_ratios_match_glm(data_dir):
    participants = pd.read_csv(data_dir / "msc_participants.csv")
    scores = pd.read_csv(data_dir / "msc_scores.csv")
    baseline = participants.set_index("participant_id")[["gender", "age"]].join(
        scores[scores["timepoint"] == "baseline"].set_index("participant_id")["score"]
        .rename("dep"))
    completed = participants.set_index("participant_id")["status"] == "completed"
    rows = {r["variable"]: r for r in completer_comparison(baseline, completed)}
    # R: g <- glm(noncompleted ~ factor(gender), binomial, p)
    #    exp(cbind(OR = coef(g), confint.default(g))); summary(g)$coefficients
    male = rows["gender[male]"]
    assert male["reference"] == "female"
    assert male["odds_ratio_not_completing"] == pytest.approx(14.8, rel=1e-4)
    assert male["ci_low"] == pytest.approx(3.82262230412, rel=1e-4)
    assert male["ci_high"] == pytest.approx(57.3009789022, rel=1e-4)
    assert male["p"] == pytest.approx(9.561345011e-05, rel=1e-3)
    # R: fisher.test(table(p$gender, p$completed))$p.value
    assert male["p_test"] == pytest.approx(4.335153669e-05, rel=1e-4)
    # R: glm(noncompleted ~ dep, binomial, p)
    assert rows["dep"]["odds_ratio_not_completing"] == pytest.approx(1.23498621339, rel=1e-4)
    assert rows["dep"]["ci_high"] == pytest.approx(1.4635421294, rel=1e-4)
    assert rows["dep"]["p"] == pytest.approx(0.014841670582, rel=1e-3)
    # R: glm(noncompleted ~ age, binomial, p); t.test(age ~ completed, p)$p.value
    assert rows["age"]["odds_ratio_not_completing"] == pytest.approx(1.0227556993, rel=1e-4)
    assert rows["age"]["p_test"] == pytest.approx(0.2827395368, rel=1e-4)


def test_three_sites_are_each_compared_with_the_reference_site(data_dir):
    participants = pd.read_csv(data_dir / "completers_participants.csv").set_index(
        "participant_id")
    completed = participants["status"] == "completed"
    rows = {r["variable"]: r for r in completer_comparison(
        participants[["site", "gender"]], completed)}
    # R: g <- glm(noncompleted ~ factor(site), binomial, p); summary(g)$coefficients
    #    exp(cbind(OR = coef(g), confint.default(g)))
    osaka, tokyo = rows["site[Osaka]"], rows["site[Tokyo]"]
    assert osaka["reference"] == tokyo["reference"] == "Kyoto"
    assert osaka["odds_ratio_not_completing"] == pytest.approx(0.6785714286, rel=1e-4)
    assert osaka["ci_low"] == pytest.approx(0.2170067045, rel=1e-4)
    assert osaka["ci_high"] == pytest.approx(2.1218661641, rel=1e-4)
    assert osaka["p"] == pytest.approx(0.50500442260, rel=1e-4)
    # (each level against the other two pooled, the old way, gave p = 0.2573 for Osaka:
    #  glm(noncompleted ~ I(site == "Osaka"), binomial, p))
    assert tokyo["odds_ratio_not_completing"] == pytest.approx(1.3970588235, rel=1e-4)
    assert tokyo["p"] == pytest.approx(0.56431000792, rel=1e-4)
    # R: glm(noncompleted ~ factor(gender), binomial, p): a third category
    other = rows["gender[non-binary]"]
    assert other["reference"] == "female"
    assert other["odds_ratio_not_completing"] == pytest.approx(0.4941176471, rel=1e-4)
    assert other["ci_high"] == pytest.approx(4.5482563732, rel=1e-4)
    assert rows["gender[male]"]["p"] == pytest.approx(0.770352113013, rel=1e-4)


def test_full_report_from_tables(attendance, cft_status):
    report = feasibility_report(attendance, participants=cft_status, min_attended=9)
    assert report["completion"]["all"]["completion_pct"] == pytest.approx(90.0)
    bands = {r["metric"]: r["band"] for r in report["progression"]}
    assert bands["retention_pct"] == "green"  # 90 % >= 80 %
    assert bands["mean_attendance_pct"] == "green"  # 92.7 % >= 75 %
    assert "flow" not in report


def test_perfect_separation_gives_a_warning_not_an_odds_ratio(recwarn):
    baseline = pd.DataFrame({"gender": ["f", "f", "f", "m", "m", "m"],
                             "age": [20, 30, 40, 50, 60, 70.0]}, index=list("abcdef"))
    completed = pd.Series([True, True, True, False, False, False], index=list("abcdef"))
    rows = {r["variable"]: r for r in completer_comparison(baseline, completed)}
    assert rows["gender[m]"]["odds_ratio_not_completing"] is None
    assert "perfect separation" in rows["gender[m]"]["warning"]
    assert rows["age"]["odds_ratio_not_completing"] is None
    assert rows["age"]["p_test"] is not None  # the Welch test still reports
    assert not [w for w in recwarn if "statsmodels" in str(w.filename)]


def test_researcher_values_and_criteria(attendance):
    report = feasibility_report(
        attendance, extra_values={"recruitment_per_month": 4.0},
        criteria=[{"metric": "recruitment_per_month", "label": "recruitment", "green": 6,
                   "amber": 3}])
    assert report["progression"] == [{"metric": "recruitment_per_month", "label": "recruitment",
                                      "value": 4.0, "green": 6, "amber": 3, "band": "amber"}]


def _msc_assessments(active_without_week8: int = 0):
    """The MSC pilot's questionnaires: 233 allocated, 206 with a baseline, 183 of them with
    week 8 too; plus people still in the course whose week-8 questionnaire is not yet due."""
    ids = [f"M{i:03d}" for i in range(233 + active_without_week8)]
    level = {p: 2 + (i % 7) / 4 for i, p in enumerate(ids)}
    rows = [(p, "baseline", level[p]) for p in ids[:206]]
    rows += [(p, "week8", level[p] + 1) for p in ids[:183]]
    rows += [(p, "baseline", level[p]) for p in ids[233:]]
    scores = pd.DataFrame(rows, columns=["participant_id", "timepoint", "score"])
    scores["measure"], scores["arm"] = "SCS", "MSC"
    status = ["completed"] * 183 + ["lost"] * 50 + ["active"] * active_without_week8
    participants = pd.DataFrame({"participant_id": ids, "arm": "MSC", "status": status,
                                 "gender": None, "age": np.nan})
    return scores, participants


def test_both_assessments_completed_as_the_msc_paper_reports():
    scores, participants = _msc_assessments()
    report = feasibility_report(pd.DataFrame(), participants=participants, scores=scores,
                                timepoints=["baseline", "week8"])
    every = report["all_assessments"]
    assert (every["n"], every["of"], every["with_baseline"]) == (183, 233, 206)
    assert f"{every['pct_of_baseline']:.1f}" == "88.8"  # 183 / 206, brief.md


def test_people_not_yet_due_are_left_out_of_the_denominator():
    scores, participants = _msc_assessments(active_without_week8=20)
    # without a due column everyone is due, and the report says so
    report = feasibility_report(pd.DataFrame(), participants=participants, scores=scores,
                                timepoints=["baseline", "week8"])
    every = report["all_assessments"]
    assert (every["n"], every["of"], every["not_due"]) == (183, 253, 0)
    assert every["warning"].startswith("20 participant(s) still active count as due")
    # the due column: ten of the active people are past their week-8 window, ten are not
    participants["due"] = ""
    participants.loc[233:242, "due"] = "baseline;week8"
    participants.loc[243:, "due"] = "baseline"
    report = feasibility_report(pd.DataFrame(), participants=participants, scores=scores,
                                timepoints=["baseline", "week8"])
    week8 = {r["timepoint"]: r for r in report["assessment_completion"]}["week8"]
    assert (week8["n"], week8["of"], week8["not_due"]) == (183, 243, 10)
    baseline = {r["timepoint"]: r for r in report["assessment_completion"]}["baseline"]
    assert (baseline["n"], baseline["of"], baseline["not_due"]) == (226, 253, 0)
    every = report["all_assessments"]
    assert (every["n"], every["of"], every["not_due"], every["with_baseline"]) == (
        183, 243, 10, 216)
    assert "warning" not in every
    due = due_timepoints(participants, ["baseline", "week8"])
    assert due["M240"] == {"baseline", "week8"} and due["M250"] == {"baseline"}
    assert due["M000"] == {"baseline", "week8"}  # empty cell: every timepoint
    assert assessment_completion(scores, ["baseline", "week8"], participants["participant_id"],
                                 due)[1] == week8
    assert "due" not in {r["variable"] for r in report["completers_vs_non_completers"]}
