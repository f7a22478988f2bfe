"""The command line: data-contract outputs, and one-line errors with exit status 2."""

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from analysis.__main__ import main

ROOT = Path(__file__).resolve().parents[2]


def run_process(*args):
    """The real ``python -m analysis`` (exit status, streams)."""
    return subprocess.run([sys.executable, "-m", "analysis", *map(str, args)],
                          capture_output=True, text=True, cwd=ROOT)


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def run(capfd):
    """``main()`` in-process (faster than a subprocess), with the same observable result."""

    def invoke(*args):
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:
            code = exc.code
        out, err = capfd.readouterr()
        return Result(code, out, err)

    return invoke


@pytest.fixture
def files(data_dir):
    return data_dir / "cft_scores.csv", data_dir / "cft_participants.csv"


def test_efficacy_json_to_stdout(files):
    scores, participants = files
    out = run_process("efficacy", "--scores", scores, "--participants", participants,
              "--timepoints", "pre,post")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    # R: summary(lmer(score ~ time * arm + (1 | participant_id), d))  (BDI-II)
    assert report["measures"]["BDI-II"]["effects"][0]["df"] == pytest.approx(14.62233985,
                                                                              rel=5e-5)


def test_efficacy_html_and_xlsx_files(run, files, tmp_path):
    scores, participants = files
    html, xlsx = tmp_path / "r.html", tmp_path / "r.xlsx"
    for fmt, path in (("html", html), ("xlsx", xlsx)):
        out = run("efficacy", "--scores", scores, "--participants", participants,
                  "--timepoints", "pre,post", "--format", fmt, "--out", path)
        assert out.returncode == 0, out.stderr
    text = html.read_text()
    assert text.startswith("<!doctype html>") and "<script" not in text
    assert "minus the same change in CFT" in text
    assert xlsx.read_bytes()[:2] == b"PK"


def test_reliable_change_cli(run, data_dir):
    out = run("reliable-change", "--scores", data_dir / "cft_scores.csv", "--measure", "BDI-II",
              "--timepoints", "pre,post", "--reliability", "0.87", "--norm-mean", "8.9",
              "--norm-sd", "6.5", "--lower-is-better")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["direction"] == "lower_is_better"
    assert sum(report["counts"]["all"].values()) == 16


def _one_line_error(out, *fragments):
    assert out.returncode == 2
    assert out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert "Traceback" not in out.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_missing_column(run, tmp_path, files):
    bad = tmp_path / "scores.csv"
    bad.write_text("participant_id,arm,timepoint,score\nP001,CFT,pre,3\n")
    out = run("efficacy", "--scores", bad, "--participants", files[1], "--timepoints", "pre,post")
    _one_line_error(out, "scores.csv", "row 1", "column 'measure'", "missing column")


def test_non_numeric_score(run, tmp_path, files):
    bad = tmp_path / "scores.csv"
    lines = files[0].read_text().splitlines()
    lines[5] = "P003,CFT,post,SCS-SF,n/a"
    bad.write_text("\n".join(lines) + "\n")
    out = run("efficacy", "--scores", bad, "--participants", files[1], "--timepoints", "pre,post")
    _one_line_error(out, "scores.csv", "row 6", "column 'score'", "not a number: 'n/a'")


def test_unknown_arm(tmp_path, files):
    bad = tmp_path / "scores.csv"
    lines = [
        line.replace(",CFT,", ",CBT,") if line.startswith("P001,") else line
        for line in files[0].read_text().splitlines()
    ]
    bad.write_text("\n".join(lines) + "\n")
    out = run_process("efficacy", "--scores", bad, "--participants", files[1],
                      "--timepoints", "pre,post")
    _one_line_error(out, "scores.csv", "row 2", "column 'arm'", "unknown arm 'CBT' for P001")


def test_unknown_reference_arm(run, files):
    out = run("efficacy", "--scores", files[0], "--participants", files[1],
              "--timepoints", "pre,post", "--reference-arm", "CBT")
    _one_line_error(out, "scores.csv", "column 'arm'", "unknown arm 'CBT'")


def test_measure_without_data_at_a_timepoint(run, files):
    out = run("efficacy", "--scores", files[0], "--participants", files[1],
              "--timepoints", "pre,week8")
    _one_line_error(out, "scores.csv", "column 'timepoint'", "no scores at timepoint 'week8'")


def test_missing_file_and_bad_option(run, files, tmp_path):
    out = run("efficacy", "--scores", tmp_path / "nope.csv", "--participants", files[1],
              "--timepoints", "pre,post")
    _one_line_error(out, "nope.csv", "file not found")
    out = run("reliable-change", "--scores", files[0], "--measure", "BDI-II",
              "--timepoints", "pre,post", "--reliability", "high")
    _one_line_error(out, "--reliability", "invalid float value")


def test_single_arm_with_reference_arm_warns_in_json(run, data_dir):
    out = run("efficacy", "--scores", data_dir / "msc_scores.csv", "--participants",
              data_dir / "msc_participants.csv", "--timepoints", "baseline,week8",
              "--reference-arm", "MSC", "--covariate", "gender")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["design"] == "single_arm"
    assert "ignored" in report["warning"]
    terms = [e["term"] for e in report["measures"]["DASS-21.depression"]["effects"]]
    assert terms == ["time[week8]", "gender[male]"]


def test_feasibility_from_csv_files(run, tmp_path):
    (tmp_path / "attendance.csv").write_text(
        "participant_id,arm,meeting,present\n"
        + "".join(f"C1,CFT,{m},1\n" for m in range(1, 9))
        + "".join(f"C2,CFT,{m},{int(m <= 5)}\n" for m in range(1, 9)))
    (tmp_path / "participants.csv").write_text(
        "participant_id,arm,status,gender,age\nC1,CFT,completed,female,30\n"
        "C2,CFT,lost,male,41\n")
    (tmp_path / "flow.csv").write_text(
        "participant_id,stage,arm,reason\nC1,randomised,CFT,\nC2,randomised,CFT,\n"
        "C2,lost,CFT,no reply\nC1,analysed,CFT,\nC3,excluded,,declined\n")
    out = run("feasibility", "--attendance", tmp_path / "attendance.csv", "--participants",
              tmp_path / "participants.csv", "--flow", tmp_path / "flow.csv",
              "--min-attended", "6", "--criterion", "retention_pct=80,40")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["attendance"]["at_least_k"] == {"n": 1, "of": 2, "pct": 50.0}
    assert report["flow"]["arms"]["CFT"]["lost"]["reasons"] == [{"reason": "no reply", "n": 1}]
    assert report["progression"] == [{"metric": "retention_pct", "label": "retention_pct",
                                      "value": 50.0, "green": 80.0, "amber": 40.0,
                                      "band": "amber"}]


def test_feasibility_bad_attendance_value(run, tmp_path):
    (tmp_path / "attendance.csv").write_text(
        "participant_id,arm,meeting,present\nC1,CFT,1,1\nC1,CFT,2,maybe\n")
    out = run("feasibility", "--attendance", tmp_path / "attendance.csv")
    _one_line_error(out, "attendance.csv", "row 3", "column 'present'", "'maybe'")
    out = run("feasibility", "--attendance", tmp_path / "attendance.csv", "--criterion", "x")
    _one_line_error(out, "--criterion", "METRIC=GREEN,AMBER")


def test_a_missing_value_code_in_the_scores_is_one_line_naming_the_row(run, tmp_path, files):
    bad = tmp_path / "scores.csv"
    lines = files[0].read_text().splitlines()
    lines[5] = lines[5].rsplit(",", 1)[0] + ",-99"
    bad.write_text("\n".join(lines) + "\n")
    out = run("efficacy", "--scores", bad, "--participants", files[1], "--timepoints", "pre,post")
    _one_line_error(out, "scores.csv", "row 6", "column 'score'", "-99 looks like a missing-value")
    ranges = tmp_path / "ranges.csv"
    ranges.write_text("measure,min,max\nBDI-II,0,63\nSCS-SF,12,60\n")
    lines[5] = lines[5].rsplit(",", 1)[0] + ",35"
    lines[7] = "P002,CFT,pre,SCS-SF,61"
    bad.write_text("\n".join(lines) + "\n")
    out = run("efficacy", "--scores", bad, "--participants", files[1], "--timepoints", "pre,post",
              "--ranges", ranges)
    _one_line_error(out, "scores.csv", "row 8", "61 is outside the range of SCS-SF (12 to 60)")
