"""The command line: ``hearth-analysis`` (or ``python -m analysis``) with the subcommands
``efficacy``, ``reliable-change`` and ``feasibility``.

As the data contract specifies::

    hearth-analysis efficacy --scores scores.csv --participants participants.csv
        --timepoints pre,post [--reference-arm CFT] [--covariate gender] [--completers-only]
        [--model lmm|mmrm] [--random site] [--therapy-group therapy_group]
        [--df satterthwaite|kenward-roger] [--ancova] [--per-protocol K] [--measure BDI-II]
        [--ranges ranges.csv] [--format json|html|xlsx] [--out FILE]
    hearth-analysis reliable-change --scores scores.csv --measure BDI-II
        --timepoints pre,post --reliability 0.87 --norm-mean 8.9 --norm-sd 6.5
        [--cutoff c|a|b|<number>] [--lower-is-better] [--format ...] [--out FILE]
    hearth-analysis feasibility --attendance attendance.csv [--participants ...]
        [--flow flow.csv] [--sessions sessions.csv] [--satisfaction csq.csv]
        [--engagement engagement.csv] [--criterion retention_pct=80,60 ...]
        [--scores scores.csv --timepoints pre,post] [--min-attended 6] [--format ...] [--out FILE]

Hearth's own data export is read as it comes: the efficacy report takes every measure with
scores at all the requested timepoints and says which it left out (the CSQ-8, asked after the
course only, has none at baseline); a measure named with ``--measure`` must have them. The
feasibility inputs are described in :mod:`analysis.feasibility`. Bad input prints one line on
stderr naming the file, row and column, and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from analysis import io, options
from analysis.efficacy import DF_METHODS, efficacy_report
from analysis.feasibility import feasibility_report
from analysis.notes import note
from analysis.reliable_change import reliable_change


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2, no usage block
        sys.stderr.write(f"{self.prog}: {message}\n")
        sys.exit(2)


def _timepoints(text: str) -> list[str]:
    points = [t.strip() for t in text.split(",") if t.strip()]
    if len(points) < 2:
        raise argparse.ArgumentTypeError("give at least two timepoints, e.g. pre,post")
    return points


def _criterion(text: str) -> dict:
    try:
        metric, bands = text.split("=", 1)
        green, amber = (float(v) for v in bands.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected METRIC=GREEN,AMBER (e.g. retention_pct=80,60), got {text!r}"
        ) from None
    return {"metric": metric.strip(), "green": green, "amber": amber}


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more, got {value}")
    return value


def _prog() -> str:
    name = os.path.basename(sys.argv[0] or "")
    return name if name.startswith("hearth-analysis") else "python -m analysis"


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=_prog(),
        description="Hearth's feasibility, efficacy and reliable-change reports from the "
                    "data export's CSV files (the data contract), with numbers that agree with "
                    "R.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser,
                                metavar="{efficacy,reliable-change,feasibility}")

    def output(p):
        p.add_argument("--format", choices=["json", "html", "xlsx"], default="json",
                       help="json (the data contract's keys), a self-contained html page, or "
                            "an xlsx workbook with every table and figure (default: json)")
        p.add_argument("--out", metavar="FILE",
                       help="file to write (default: standard output)")

    def scores(p, required=True):
        p.add_argument("--scores", required=required, metavar="scores.csv",
                       help="one row per participant, timepoint and measure: participant_id, "
                            "arm, timepoint, measure, score (empty: not completed)")
        p.add_argument("--ranges", metavar="ranges.csv",
                       help="valid range of each measure (measure, min, max): a score outside "
                            "it is an error; without it, missing-value codes such as -99 or "
                            "999 are")

    eff = sub.add_parser(
        "efficacy", help="descriptives and mixed-model effects per measure",
        description="Descriptives per arm and timepoint and the mixed model's effects, type "
                    "III tests and per-timepoint contrasts of every measure.")
    scores(eff)
    eff.add_argument("--participants", required=True, metavar="participants.csv",
                     help="one row per participant: participant_id, arm, status, gender, age "
                          "and further columns (covariates, site, therapy_group, "
                          "sessions_attended)")
    eff.add_argument("--timepoints", required=True, type=_timepoints, metavar="T1,T2[,...]",
                     help="timepoints in schedule order, the baseline first (e.g. pre,post)")
    eff.add_argument("--measure", action="append", default=[], metavar="MEASURE",
                     help="a measure to report (repeatable); default: every measure with "
                          "scores at all the timepoints")
    eff.add_argument("--reference-arm", metavar="ARM",
                     help="the arm the others are compared with (default: the first "
                          "alphabetically, as R)")
    eff.add_argument("--covariate", action="append", default=[], metavar="COLUMN",
                     help="a participants.csv column entered as a fixed covariate "
                          "(repeatable)")
    eff.add_argument("--completers-only", action="store_true",
                     help="analyse only participants with a score at every timepoint")
    eff.add_argument("--model", choices=["lmm", "mmrm"], default="lmm",
                     help="lmm: random intercept per participant, the papers' model "
                          "(default); mmrm: unstructured covariance across timepoints")
    eff.add_argument("--random", metavar="COLUMN",
                     help="add a random intercept for the levels of this participants.csv "
                          "column, e.g. site: + (1 | site)")
    eff.add_argument("--therapy-group", metavar="COLUMN",
                     help="participants.csv column naming each participant's therapy group "
                          "(empty: none): the partially nested term + (0 + grouped_post | "
                          "therapy_group)")
    eff.add_argument("--df", choices=DF_METHODS, default="satterthwaite",
                     help="denominator degrees of freedom: satterthwaite (default, "
                          "lmerTest) or kenward-roger (pbkrtest; also adjusts the SE)")
    eff.add_argument("--ancova", action="store_true",
                     help="add, per later timepoint, lm(score_t ~ score_baseline + arm) over "
                          "participants with both scores")
    eff.add_argument("--per-protocol", type=_count, metavar="K",
                     help="keep only participants of session-delivering arms who attended at "
                          "least K sessions (sessions_attended column); other arms whole")
    output(eff)

    rc = sub.add_parser(
        "reliable-change", help="Jacobson-Truax reliable and clinically significant change",
        description="Reliable change index and clinical significance category per "
                    "participant (Jacobson & Truax 1991, as the R package JTRCI).")
    scores(rc)
    rc.add_argument("--measure", required=True, metavar="MEASURE",
                    help="the measure, e.g. BDI-II")
    rc.add_argument("--timepoints", required=True, type=_timepoints, metavar="PRE,POST",
                    help="pre and post (with more, the first and the last are compared)")
    rc.add_argument("--reliability", required=True, type=float,
                    help="reliability of the measure, strictly between 0 and 1")
    rc.add_argument("--norm-mean", type=float,
                    help="mean of the normative (functional) population, for cutoffs b and c")
    rc.add_argument("--norm-sd", type=float,
                    help="SD of the normative population, for cutoffs b and c")
    rc.add_argument("--cutoff", default="c", metavar="a|b|c|NUMBER",
                    help="the cutoff that decides recovery (default: c)")
    rc.add_argument("--lower-is-better", action="store_true",
                    help="lower scores are better (e.g. BDI-II)")
    output(rc)

    fe = sub.add_parser(
        "feasibility", help="attendance, retention, flow and progression",
        description="Flow, attendance, completion, delivery, satisfaction, engagement, "
                    "recruitment, progression criteria and completers vs non-completers.")
    fe.add_argument("--attendance", required=True, metavar="attendance.csv",
                    help="one row per participant and meeting: participant_id, arm, meeting, "
                         "present[, cohort, minutes, start_meeting]")
    fe.add_argument("--participants", metavar="participants.csv",
                    help="statuses for completion and dropout, baseline variables for the "
                         "completers comparison, randomised_on for recruitment, due for the "
                         "questionnaires sent")
    fe.add_argument("--flow", metavar="flow.csv",
                    help="CONSORT records: participant_id, stage, arm, reason")
    fe.add_argument("--sessions", metavar="sessions.csv",
                    help="one row per meeting: meeting, status (held, cancelled, truncated, "
                         "postponed)[, cohort, adherence]")
    fe.add_argument("--satisfaction", metavar="csq.csv",
                    help="CSQ-8 item ratings: participant_id, csq_1 .. csq_8")
    fe.add_argument("--engagement", metavar="engagement.csv",
                    help="per participant and week: materials_opened, practice_minutes, posts")
    scores(fe, required=False)
    fe.add_argument("--timepoints", type=_timepoints, metavar="T1,T2[,...]",
                    help="timepoints for questionnaire completion (needed with --scores)")
    fe.add_argument("--min-attended", type=_count, metavar="K",
                    help="k for 'attended at least k meetings' (default: meetings held - 2)")
    fe.add_argument("--criterion", action="append", type=_criterion, default=[],
                    metavar="METRIC=GREEN,AMBER",
                    help="progression criterion in percent, e.g. retention_pct=80,60 "
                         "(repeatable)")
    output(fe)
    return parser


def _read_scores(args):
    ranges = io.read_ranges(args.ranges) if args.ranges else None
    return io.read_scores(args.scores, ranges=ranges)


def _complete(scores, timepoints: list[str], named: list[str], label: str
              ) -> tuple[list[str], list[str]]:
    """The measures to report: those named (each must have scores at every timepoint), or
    every measure that has them; and the measures left out."""
    if named:
        for measure in named:
            if not (scores["measure"] == measure).any():
                raise io.InputError(label, f"no rows for measure {measure!r}", column="measure")
        io.check_timepoints(scores[scores["measure"].isin(named)], timepoints, label)
        return list(dict.fromkeys(named)), []
    present = scores.dropna(subset=["score"]).groupby("measure")["timepoint"].agg(set)
    order = list(dict.fromkeys(scores["measure"]))
    complete = [m for m in order if set(timepoints) <= present.get(m, set())]
    if not complete:
        io.check_timepoints(scores, timepoints, label)  # names the first measure lacking one
    return complete, [m for m in order if m not in complete]


def _efficacy(args) -> dict:
    scores = _read_scores(args)
    participants = io.read_participants(args.participants)
    io.check_against_participants(scores, participants, args.scores)
    try:
        options.covariates(participants, args.covariate)
    except options.OptionError as exc:
        cov = exc.values["covariate"]
        if exc.problem == "empty_covariate":
            raise io.InputError(args.participants, "no values", column=cov) from None
        if cov in participants.columns:
            raise io.InputError(args.participants, "not a covariate", column=cov) from None
        raise io.InputError(args.participants, "missing covariate column", row=1,
                            column=cov) from None
    scores = scores[scores["timepoint"].isin(args.timepoints)]
    measures, skipped = _complete(scores, args.timepoints, args.measure, args.scores)
    if args.reference_arm is not None:
        io.check_arm(scores, args.reference_arm, args.scores)
    try:
        report = efficacy_report(
            scores, participants, args.timepoints, reference_arm=args.reference_arm,
            covariates=tuple(args.covariate), completers_only=args.completers_only,
            measures=measures, model=args.model, random=args.random,
            therapy_group=args.therapy_group, ddf=args.df, ancova=args.ancova,
            per_protocol=args.per_protocol)
    except options.OptionError as exc:  # checked by analysis.options.model_options
        if exc.problem == "missing_column":
            raise io.InputError(args.participants, "missing column", row=1,
                                column=exc.values["column"]) from None
        raise io.InputError("efficacy", str(exc)) from None
    except ValueError as exc:  # an option the design does not support
        raise io.InputError("efficacy", str(exc)) from None
    if skipped:
        report["measures_left_out"] = skipped
        report["warning"] = "; ".join(filter(None, [report.get("warning"),
                                                    note("measures_left_out")]))
    return report


def _reliable_change(args) -> dict:
    scores = _read_scores(args)
    if not (scores["measure"] == args.measure).any():
        raise io.InputError(args.scores, f"no rows for measure {args.measure!r}", column="measure")
    io.check_timepoints(scores[scores["measure"] == args.measure], args.timepoints, args.scores)
    try:
        options.reliability(args.reliability)
    except options.OptionError:
        raise io.InputError("--reliability", "must lie strictly between 0 and 1") from None
    try:
        cutoff = options.cutoff(args.cutoff)
    except options.OptionError as exc:
        raise io.InputError("--cutoff", str(exc)) from None
    return reliable_change(
        scores,
        args.measure,
        args.timepoints,
        args.reliability,
        norm_mean=args.norm_mean,
        norm_sd=args.norm_sd,
        cutoff=cutoff,
        lower_is_better=args.lower_is_better,
    )


def _feasibility(args) -> dict:
    attendance = io.read_attendance(args.attendance)
    participants = io.read_participants(args.participants) if args.participants else None
    flow = io.read_flow(args.flow) if args.flow else None
    sessions = io.read_sessions(args.sessions) if args.sessions else None
    satisfaction = io.read_satisfaction(args.satisfaction) if args.satisfaction else None
    engagement = io.read_engagement(args.engagement) if args.engagement else None
    scores = _read_scores(args) if args.scores else None
    if scores is not None and args.timepoints is None:
        raise io.InputError("--timepoints", "needed with --scores")
    return feasibility_report(
        attendance,
        participants=participants,
        flow=flow,
        sessions=sessions,
        satisfaction=satisfaction,
        scores=scores,
        timepoints=args.timepoints,
        engagement=engagement,
        min_attended=args.min_attended,
        criteria=args.criterion or None,
    )


def _write(report: dict, kind: str, fmt: str, out: str | None) -> None:
    if fmt == "json":
        data = (json.dumps(report, indent=2, allow_nan=False) + "\n").encode()
    elif fmt == "html":
        from analysis.report import render_html

        data = render_html(report, kind=kind).encode()
    else:
        from analysis.report import render_xlsx

        data = render_xlsx(report, kind=kind)
    if out:
        with open(out, "wb") as fh:
            fh.write(data)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    """Run the command line (``argv`` without the program name); the exit status."""
    args = _parser().parse_args(argv)
    run = {"efficacy": _efficacy, "reliable-change": _reliable_change,
           "feasibility": _feasibility}[args.command]
    try:
        report = run(args)
        _write(report, args.command, args.format, args.out)
    except io.InputError as exc:
        sys.stderr.write(f"{exc}\n")
        return 2
    except OSError as exc:
        sys.stderr.write(f"{exc.filename or args.out}: {exc.strerror}\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
