"""``flask report``: the reports from the database, the same JSON as ``python -m analysis``."""

from __future__ import annotations

import io
import json
from datetime import date

import openpyxl

from analysis.__main__ import main as analysis_main
from models import AuditEntry, Participant, db
from program.reports import data_file, load_tables
from tests.factories import gen_cohort
from tests.factories_reports import gen_meeting, gen_practice, gen_scored_trial


def _study(app):
    return gen_scored_trial()


def test_efficacy_json_equals_python_m_analysis_on_the_exports(app, runner, tmp_path, capsys):
    study = _study(app)
    tables = load_tables(study.id)
    for name in ("scores.csv", "participants.csv"):
        (tmp_path / name).write_bytes(data_file(tables, study, name))

    result = runner.invoke(args=["report", "efficacy", "--study", study.key])
    assert result.exit_code == 0, result.output

    code = analysis_main(["efficacy", "--scores", str(tmp_path / "scores.csv"),
                          "--participants", str(tmp_path / "participants.csv"),
                          "--timepoints", "pre,post", "--out", str(tmp_path / "cli.json")])
    assert code == 0
    assert json.loads(result.stdout) == json.loads((tmp_path / "cli.json").read_text())
    assert json.loads(result.stdout)["measures"]["BDI-II"]["n_participants"] == 9


def test_study_may_be_given_by_id_and_output_as_xlsx(app, runner, tmp_path):
    study = _study(app)
    out = tmp_path / "report.xlsx"
    result = runner.invoke(args=["report", "efficacy", "--study", str(study.id),
                                 "--format", "xlsx", "--out", str(out), "--reference-arm", "UC"])
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(io.BytesIO(out.read_bytes()))
    assert "effects" in book.sheetnames
    header = [c.value for c in book["effects"][1]]
    row = dict(zip(header, [c.value for c in book["effects"][2]], strict=True))
    assert row["term"] == "time[post]:arm[CFT]"
    entry = db.session.scalars(db.select(AuditEntry).filter_by(action="report.exported")).one()
    assert entry.details == {"report": "efficacy", "format": "xlsx", "via": "cli"}


def test_feasibility_json_has_flow_attendance_and_progression(app, runner):
    study = _study(app)
    result = runner.invoke(args=["report", "feasibility", "--study", study.key,
                                 "--min-attended", "1"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["flow"]["randomised"] == 9
    assert report["flow"]["arms"]["CFT"]["allocated"] == 5
    assert {r["metric"] for r in report["progression"]} >= {"retention_pct"}
    completion = {r["timepoint"]: r["n"] for r in report["assessment_completion"]}
    assert completion == {"pre": 9, "post": 8}


def _one_line_exit_2(result):
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    return lines[0]


def test_unknown_study_is_one_line_and_exit_2(app, runner):
    line = _one_line_exit_2(runner.invoke(args=["report", "efficacy", "--study", "nope"]))
    assert "no study 'nope'" in line


def test_bad_options_are_one_line_and_exit_2(app, runner):
    study = _study(app)
    line = _one_line_exit_2(runner.invoke(
        args=["report", "efficacy", "--study", study.key, "--timepoints", "pre"]))
    assert "at least two timepoints" in line
    line = _one_line_exit_2(runner.invoke(
        args=["report", "efficacy", "--study", study.key, "--format", "pdf"]))
    assert "--format" in line
    line = _one_line_exit_2(runner.invoke(
        args=["report", "efficacy", "--study", study.key, "--measure", "SCS-SF"]))
    assert "SCS-SF" in line
    line = _one_line_exit_2(runner.invoke(
        args=["report", "feasibility", "--study", study.key, "--timepoints", "pre,week99"]))
    assert "week99" in line
    line = _one_line_exit_2(runner.invoke(
        args=["report", "efficacy", "--study", study.key, "--out", "/nonexistent/dir/x.json"]))
    assert "/nonexistent/dir/x.json" in line
    assert not db.session.scalars(db.select(AuditEntry).filter_by(
        action="report.exported")).all()


def test_feasibility_json_equals_python_m_analysis_on_the_exports(app, runner, tmp_path):
    study = _study(app)
    cohort = gen_cohort(study, start_date=date(2026, 3, 9))
    cft = db.session.scalars(db.select(Participant).filter_by(study_id=study.id)
                             .order_by(Participant.code)).all()[:5]
    for p in cft:
        p.cohort_id = cohort.id
    cft[1].status = "completed"
    cft[2].status = "lost"
    db.session.commit()
    for number in (1, 2, 3):
        gen_meeting(cohort, number, register=[(p, "present", 90) for p in cft[:number + 1]])
    gen_practice(cft[0], date(2026, 3, 10), 20)
    tables = load_tables(study.id)
    files = {"attendance": "attendance.csv", "participants": "participants.csv",
             "flow": "flow.csv", "sessions": "sessions.csv", "engagement": "engagement.csv",
             "scores": "scores.csv"}
    for name in files.values():
        (tmp_path / name).write_bytes(data_file(tables, study, name))

    result = runner.invoke(args=["report", "feasibility", "--study", study.key,
                                 "--min-attended", "2"])
    assert result.exit_code == 0, result.output
    argv = ["feasibility", "--timepoints", "pre,post", "--min-attended", "2",
            "--out", str(tmp_path / "cli.json")]
    for option, name in files.items():
        argv += [f"--{option}", str(tmp_path / name)]
    assert analysis_main(argv) == 0
    mine = json.loads(result.stdout)
    assert mine == json.loads((tmp_path / "cli.json").read_text())
    assert mine["attendance"]["at_least_k"]["n"] == 3
    assert mine["sessions"]["held"] == 3


def test_reliable_change_json_equals_python_m_analysis_on_the_export(app, runner, tmp_path):
    study = _study(app)
    tables = load_tables(study.id)
    (tmp_path / "scores.csv").write_bytes(data_file(tables, study, "scores.csv"))
    options = ["--measure", "BDI-II", "--timepoints", "pre,post", "--reliability", "0.87",
               "--norm-mean", "8.9", "--norm-sd", "6.5", "--lower-is-better"]

    result = runner.invoke(args=["report", "reliable-change", "--study", study.key, *options])
    assert result.exit_code == 0, result.output
    assert analysis_main(["reliable-change", "--scores", str(tmp_path / "scores.csv"), *options,
                          "--out", str(tmp_path / "cli.json")]) == 0
    mine = json.loads(result.stdout)
    assert mine == json.loads((tmp_path / "cli.json").read_text())
    assert mine["counts"]["UC"]["unchanged"] == 4

    line = _one_line_exit_2(runner.invoke(args=[
        "report", "reliable-change", "--study", study.key, "--measure", "BDI-II",
        "--reliability", "1.5"]))
    assert "reliability" in line
