"""The command line: ``python -m analysis efficacy|reliable-change|feasibility ...``.

As the data contract specifies::

    python -m analysis efficacy --scores scores.csv --participants participants.csv
        --timepoints pre,post [--reference-arm CFT] [--covariate gender] [--completers-only]
        [--model lmm|mmrm] [--format json|html|xlsx] [--out FILE]
    python -m analysis reliable-change --scores scores.csv --measure BDI-II
        --timepoints pre,post --reliability 0.87 --norm-mean 8.9 --norm-sd 6.5
        [--cutoff c|a|b|<number>] [--lower-is-better] [--format ...] [--out FILE]
    python -m analysis feasibility --attendance attendance.csv [--participants ...]
        [--flow flow.csv] [--sessions sessions.csv] [--satisfaction csq.csv]
        [--engagement engagement.csv] [--criterion retention_pct=80,60 ...]
        [--scores scores.csv --timepoints pre,post] [--min-attended 6] [--format ...] [--out FILE]

The feasibility inputs are described in :mod:`analysis.feasibility`. Bad input prints one line
on stderr naming the file, row and column, and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys

from analysis import io
from analysis.efficacy import efficacy_report
from analysis.feasibility import feasibility_report
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


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m analysis", description="Hearth analysis reports.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def output(p):
        p.add_argument("--format", choices=["json", "html", "xlsx"], default="json")
        p.add_argument("--out", help="file to write (default: standard output)")

    eff = sub.add_parser("efficacy", help="descriptives and mixed-model effects per measure")
    eff.add_argument("--scores", required=True)
    eff.add_argument("--ranges")
    eff.add_argument("--participants", required=True)
    eff.add_argument("--timepoints", required=True, type=_timepoints)
    eff.add_argument("--reference-arm")
    eff.add_argument("--covariate", action="append", default=[])
    eff.add_argument("--completers-only", action="store_true")
    eff.add_argument("--model", choices=["lmm", "mmrm"], default="lmm")
    output(eff)

    rc = sub.add_parser("reliable-change", help="Jacobson-Truax reliable change")
    rc.add_argument("--scores", required=True)
    rc.add_argument("--ranges")
    rc.add_argument("--measure", required=True)
    rc.add_argument("--timepoints", required=True, type=_timepoints)
    rc.add_argument("--reliability", required=True, type=float)
    rc.add_argument("--norm-mean", type=float)
    rc.add_argument("--norm-sd", type=float)
    rc.add_argument("--cutoff", default="c")
    rc.add_argument("--lower-is-better", action="store_true")
    output(rc)

    fe = sub.add_parser("feasibility", help="attendance, retention, flow and progression")
    fe.add_argument("--attendance", required=True)
    fe.add_argument("--participants")
    fe.add_argument("--flow")
    fe.add_argument("--sessions")
    fe.add_argument("--satisfaction")
    fe.add_argument("--engagement")
    fe.add_argument("--scores")
    fe.add_argument("--ranges")
    fe.add_argument("--timepoints", type=_timepoints)
    fe.add_argument("--min-attended", type=int)
    fe.add_argument("--criterion", action="append", type=_criterion, default=[],
                    metavar="METRIC=GREEN,AMBER",
                    help="progression criterion in percent, e.g. retention_pct=80,60")
    output(fe)
    return parser


def _scores(args):
    ranges = io.read_ranges(args.ranges) if args.ranges else None
    return io.read_scores(args.scores, ranges=ranges)


def _efficacy(args) -> dict:
    scores = _scores(args)
    participants = io.read_participants(args.participants)
    io.check_against_participants(scores, participants, args.scores)
    for cov in args.covariate:
        if cov not in participants.columns:
            raise io.InputError(args.participants, "missing covariate column", row=1, column=cov)
    scores = scores[scores["timepoint"].isin(args.timepoints)]
    io.check_timepoints(scores, args.timepoints, args.scores)
    if args.reference_arm is not None:
        io.check_arm(scores, args.reference_arm, args.scores)
    return efficacy_report(
        scores,
        participants,
        args.timepoints,
        reference_arm=args.reference_arm,
        covariates=tuple(args.covariate),
        completers_only=args.completers_only,
        model=args.model,
    )


def _reliable_change(args) -> dict:
    scores = _scores(args)
    if not (scores["measure"] == args.measure).any():
        raise io.InputError(args.scores, f"no rows for measure {args.measure!r}", column="measure")
    io.check_timepoints(scores[scores["measure"] == args.measure], args.timepoints, args.scores)
    if not 0 < args.reliability < 1:
        raise io.InputError("--reliability", "must lie strictly between 0 and 1")
    cutoff = args.cutoff
    if cutoff not in ("a", "b", "c"):
        try:
            cutoff = float(cutoff)
        except ValueError:
            raise io.InputError("--cutoff", "expected a, b, c or a number") from None
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
    scores = _scores(args) if args.scores else None
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
