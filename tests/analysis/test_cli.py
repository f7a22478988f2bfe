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


def test_options_the_report_pages_refuse_are_refused_here_too(run, files):
    """One set of option checks (analysis.options) for the pages, flask report and this."""
    scores, participants = files
    out = run("efficacy", "--scores", scores, "--participants", participants,
              "--timepoints", "pre,post", "--covariate", "participant_id")
    _one_line_error(out, "participants.csv", "column 'participant_id'", "not a covariate")
    out = run("efficacy", "--scores", scores, "--participants", participants,
              "--timepoints", "pre,post", "--covariate", "baseline_severity")
    _one_line_error(out, "participants.csv", "row 1", "missing covariate column")
    for cutoff in ("nan", "inf", "q"):
        out = run("reliable-change", "--scores", scores, "--measure", "BDI-II",
                  "--timepoints", "pre,post", "--reliability", "0.87", "--cutoff", cutoff)
        _one_line_error(out, "--cutoff", "expected a, b, c or a number")
    out = run("reliable-change", "--scores", scores, "--measure", "BDI-II",
              "--timepoints", "pre,post", "--reliability", "1")
    _one_line_error(out, "--reliability", "must lie strictly between 0 and 1")


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


# ------------------------------------------------------------------ Hearth's own export


@pytest.fixture
def export(tmp_path):
    """A data export written as the app writes it (analysis.data's columns and dtypes, through
    analysis.exports.write_csv: UTF-8 with BOM, scores as floats, nullable integers, empty
    cells): a CFT cohort with a cancelled meeting, and the CSQ-8 asked after the course only,
    so it has no scores at baseline."""
    import numpy as np
    import pandas as pd

    from analysis.exports import write_csv

    people = [(f"P-{i:04d}", "CFT" if i <= 6 else "UC") for i in range(1, 11)]
    rng = np.random.default_rng(3)
    scores = []
    for pid, arm in people:
        base = float(rng.integers(25, 40))
        scores.append((pid, arm, "pre", "BDI-II", base))
        scores.append((pid, arm, "post", "BDI-II",
                       np.nan if pid == "P-0006" else base - (9 if arm == "CFT" else 1)
                       + float(rng.integers(-3, 4))))
        if arm == "CFT":
            scores.append((pid, arm, "post", "CSQ-8", float(rng.integers(20, 33))))
    frames = {
        "scores.csv": pd.DataFrame(scores, columns=["participant_id", "arm", "timepoint",
                                                    "measure", "score"]),
        "participants.csv": pd.DataFrame({
            "participant_id": [p for p, _ in people], "arm": [a for _, a in people],
            "status": ["completed"] * 5 + ["active"] + ["completed"] * 4,
            "gender": ["female", "male"] * 5,
            "age": pd.array([30, 41, None, 52, 28, 35, 47, 39, 60, 33], dtype="Int64")}),
        "attendance.csv": pd.DataFrame(
            [(pid, "CFT", "CFT cohort A", m, int(not (pid == "P-0002" and m == 3)),
             90 if pid != "P-0002" or m != 3 else None)
             for pid, arm in people if arm == "CFT" for m in (1, 2, 3, 5, 6)],
            columns=["participant_id", "arm", "cohort", "meeting", "present", "minutes"]),
        "sessions.csv": pd.DataFrame({"cohort": "CFT cohort A", "meeting": [1, 2, 3, 4, 5, 6],
                                      "status": ["held"] * 3 + ["cancelled"] + ["held"] * 2,
                                      "adherence": [1.0, 0.8, 1.0, None, 0.9, 1.0]}),
        "flow.csv": pd.DataFrame(
            [row for pid, arm in people
             for row in ((pid, "screened", "", ""), (pid, "randomised", arm, ""),
                         (pid, "analysed", arm, ""))],
            columns=["participant_id", "stage", "arm", "reason"]),
        "csq.csv": pd.DataFrame({"participant_id": ["P-0001", "P-0002"],
                                 **{f"csq_{i}": [4.0, 3.0] for i in range(1, 9)}}),
    }
    frames["attendance.csv"]["minutes"] = frames["attendance.csv"]["minutes"].astype("Int64")
    for name, frame in frames.items():
        (tmp_path / name).write_bytes(write_csv(frame))
    return tmp_path


def test_the_app_s_export_is_read_as_it_comes(run, export):
    out = run("efficacy", "--scores", export / "scores.csv", "--participants",
              export / "participants.csv", "--timepoints", "pre,post")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert list(report["measures"]) == ["BDI-II"]  # the CSQ-8 has no baseline scores
    assert report["measures_left_out"] == ["CSQ-8"]
    assert "left out" in report["warning"]
    # a measure asked for by name must have its scores
    out = run("efficacy", "--scores", export / "scores.csv", "--participants",
              export / "participants.csv", "--timepoints", "pre,post", "--measure", "CSQ-8")
    _one_line_error(out, "scores.csv", "measure 'CSQ-8' has no scores at timepoint 'pre'")
    out = run("feasibility", "--attendance", export / "attendance.csv", "--participants",
              export / "participants.csv", "--sessions", export / "sessions.csv", "--flow",
              export / "flow.csv", "--satisfaction", export / "csq.csv", "--scores",
              export / "scores.csv", "--timepoints", "pre,post")
    assert out.returncode == 0, out.stderr
    feasibility = json.loads(out.stdout)
    assert feasibility["attendance"]["n_meetings"] == 5  # meeting 4 was cancelled
    assert feasibility["sessions"]["cancelled"] == 1
    assert feasibility["flow"]["randomised"] == 10
    out = run("reliable-change", "--scores", export / "scores.csv", "--measure", "BDI-II",
              "--timepoints", "pre,post", "--reliability", "0.9", "--lower-is-better")
    assert out.returncode == 0, out.stderr


# ------------------------------------------------------------------ the contract's new options


def test_clustered_options_give_the_report_efficacy_report_gives(run, data_dir):
    import pandas as pd

    from analysis import efficacy_report

    out = run("efficacy", "--scores", data_dir / "groups_scores.csv", "--participants",
              data_dir / "groups_participants.csv", "--timepoints", "pre,post",
              "--random", "site", "--therapy-group", "therapy_group", "--df", "kenward-roger",
              "--ancova", "--per-protocol", "8")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert (report["population"], report["excluded"], report["df_method"]) == (
        "per_protocol", 21, "kenward-roger")
    assert set(report["measures"]["BDI-II"]["variance"]) == {
        "participant", "therapy_group", "site", "residual"}
    assert [e.get("model") for e in report["measures"]["BDI-II"]["effects"]] == [
        None, "ancova"]
    participants = pd.read_csv(data_dir / "groups_participants.csv")
    direct = efficacy_report(pd.read_csv(data_dir / "groups_scores.csv"), participants,
                             ["pre", "post"], measures=["BDI-II"], random="site",
                             therapy_group="therapy_group", ddf="kenward-roger", ancova=True,
                             per_protocol=8)
    assert report["measures"] == json.loads(json.dumps(direct["measures"]))


@pytest.mark.parametrize(("options", "fragments"), [
    (["--random", "clinic"], ["participants.csv", "row 1", "column 'clinic'",
                              "missing column"]),
    (["--random", "site", "--model", "mmrm"], ["efficacy:", "random-intercept model"]),
    (["--per-protocol", "-1"], ["--per-protocol", "expected 0 or more"]),
    (["--df", "containment"], ["--df", "invalid choice"]),
])
def test_bad_options_are_one_line(run, data_dir, options, fragments):
    out = run("efficacy", "--scores", data_dir / "groups_scores.csv", "--participants",
              data_dir / "groups_participants.csv", "--timepoints", "pre,post", *options)
    _one_line_error(out, *fragments)


# ------------------------------------------------------------------ help, console script


def _actions(parser):
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _actions(sub)
        elif not isinstance(action, argparse._HelpAction):
            yield parser.prog, action


def test_every_option_has_help_text():
    from analysis.__main__ import _parser

    seen = 0
    for prog, action in _actions(_parser()):
        assert action.help and len(action.help) > 10, (prog, action.option_strings)
        seen += 1
    assert seen > 35


@pytest.mark.parametrize("command", ["efficacy", "reliable-change", "feasibility"])
def test_help_lists_every_option(run, command):
    out = run(command, "--help")
    assert out.returncode == 0
    for option in ("--scores", "--format", "--out"):
        assert option in out.stdout
    if command == "efficacy":
        for option in ("--random", "--therapy-group", "--df", "--ancova", "--per-protocol",
                       "--measure", "--ranges"):
            assert option in out.stdout


def test_the_console_script_runs_from_any_directory(tmp_path, data_dir):
    import shutil
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["scripts"]["hearth-analysis"] == "analysis.__main__:main"
    for name in ("cft_scores.csv", "cft_participants.csv"):
        shutil.copy(data_dir / name, tmp_path / name)
    # the entry point, called as the installed script calls it, in a folder of its own with
    # paths relative to it
    code = ("import sys; from analysis.__main__ import main; "
            "sys.argv[0] = 'hearth-analysis'; sys.exit(main())")
    out = subprocess.run([sys.executable, "-c", code, "efficacy", "--scores", "cft_scores.csv",
                          "--participants", "cft_participants.csv", "--timepoints", "pre,post",
                          "--out", "report.json"], capture_output=True, text=True, cwd=tmp_path,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert "BDI-II" in json.loads((tmp_path / "report.json").read_text())["measures"]
    out = subprocess.run([sys.executable, "-c", code, "efficacy", "--timepoints", "pre"],
                         capture_output=True, text=True, cwd=tmp_path,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 2
    assert out.stderr.startswith("hearth-analysis efficacy: ")
