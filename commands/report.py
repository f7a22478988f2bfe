"""``flask report feasibility|efficacy|reliable-change --study ID``: the reports from the
database, printing the same JSON (or HTML, XLSX) as ``python -m analysis`` does on the exported
files.

Bad input prints one line and exits with status 2, as the analysis command line does.
"""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup
from sqlalchemy import select

from models import Study, db, write_transaction

cli_group = AppGroup("report", help="Feasibility and efficacy reports of a study.")


class BadInput(click.ClickException):
    """One line on stderr, exit status 2 (no usage block)."""

    exit_code = 2

    def show(self, file=None) -> None:
        click.echo(f"flask report: {self.format_message()}", err=True)


class OneLineCommand(click.Command):
    def parse_args(self, ctx, args):
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            raise BadInput(exc.format_message()) from None


def _study(ref: str) -> Study:
    study = db.session.scalar(select(Study).where(Study.key == ref))
    if study is None and ref.isdigit():
        study = db.session.get(Study, int(ref))
    if study is None:
        raise BadInput(f"--study: no study {ref!r} (give its id or key)")
    return study


def _timepoints(text: str | None) -> list[str] | None:
    if text is None:
        return None
    return [t.strip() for t in text.split(",") if t.strip()]


def _output(study: Study, report: dict, kind: str, fmt: str, out: str | None) -> None:
    from analysis.report import render_html, render_xlsx
    from program.core import audit
    from program.reports import report_json

    if fmt == "json":
        payload = report_json(report).encode()
    elif fmt == "html":
        title = f"{kind.capitalize().replace('-', ' ')} report: {study.title}"
        payload = render_html(report, kind=kind, title=title).encode()
    else:
        payload = render_xlsx(report, kind=kind)
    try:
        if out:
            with open(out, "wb") as fh:
                fh.write(payload)
        else:
            sys.stdout.flush()
            sys.stdout.buffer.write(payload)
            sys.stdout.buffer.flush()
    except OSError as exc:
        raise BadInput(f"{exc.filename or out}: {exc.strerror}") from None
    with write_transaction():
        audit.record("report.exported", study, report=kind, format=fmt, via="cli")


def _common(fn):
    fn = click.option("--out", help="File to write (default: standard output).")(fn)
    fn = click.option("--format", "fmt", type=click.Choice(["json", "html", "xlsx"]),
                      default="json", show_default=True)(fn)
    fn = click.option("--timepoints", help="Comma-separated, baseline first (default: all).")(fn)
    return click.option("--study", required=True, help="Study id or key.")(fn)


@cli_group.command("efficacy", cls=OneLineCommand)
@_common
@click.option("--reference-arm", help="Reference arm (default: first alphabetically, as R).")
@click.option("--covariate", multiple=True, help="Participant covariate (repeatable).")
@click.option("--measure", multiple=True, help="Measure to report (repeatable; default: all "
              "with scores at every timepoint).")
@click.option("--completers-only", is_flag=True)
@click.option("--model", type=click.Choice(["lmm", "mmrm"]), default="lmm", show_default=True)
@click.option("--therapy-groups", is_flag=True,
              help="Random intercept per therapy group (the cohort of arms with sessions; "
                   "partially nested).")
@click.option("--random", metavar="COLUMN", help="Random intercept per level of a participant "
              "column, e.g. site.")
@click.option("--df", "ddf", type=click.Choice(["satterthwaite", "kenward-roger"]),
              default="satterthwaite", show_default=True, help="Denominator df method.")
@click.option("--ancova", is_flag=True, help="Add a baseline-adjusted ANCOVA per later "
              "timepoint.")
@click.option("--per-protocol", type=click.IntRange(min=0), metavar="K",
              help="Only participants of arms with sessions who attended at least K.")
def efficacy_command(study, fmt, out, timepoints, reference_arm, covariate, measure,
                     completers_only, model, therapy_groups, random, ddf, ancova, per_protocol):
    """Descriptives and mixed-model effects per measure (the data contract's JSON)."""
    from program.reports import ReportInputError, build_efficacy, load_tables

    row = _study(study)
    tables = load_tables(row.id)
    chosen = {"therapy_group": "therapy_group" if therapy_groups else None, "random": random,
              "ddf": ddf, "ancova": ancova, "per_protocol": per_protocol}
    try:
        report = build_efficacy(tables, _timepoints(timepoints), list(measure) or None,
                                reference_arm, covariate, completers_only, model,
                                **{k: v for k, v in chosen.items() if v is not None})
    except ReportInputError as exc:
        raise BadInput(str(exc)) from None
    _output(row, report, "efficacy", fmt, out)


@cli_group.command("feasibility", cls=OneLineCommand)
@_common
@click.option("--min-attended", type=click.IntRange(min=1),
              help="k for 'attended at least k meetings'.")
def feasibility_command(study, fmt, out, timepoints, min_attended):
    """Flow, attendance, retention, delivery, satisfaction, engagement and progression."""
    from analysis import options
    from program.reports import build_feasibility, load_tables

    row = _study(study)
    tables = load_tables(row.id)
    wanted = _timepoints(timepoints)
    try:
        options.timepoints(wanted or [], tables.timepoints, at_least=0)
    except options.OptionError as exc:
        raise BadInput(f"--timepoints: {exc}") from None
    _output(row, build_feasibility(tables, wanted, min_attended), "feasibility", fmt, out)


def _cutoff(text: str) -> str | float:
    from analysis import options

    try:
        return options.cutoff(text)
    except options.OptionError as exc:
        raise BadInput(f"--cutoff: {exc}") from None


@cli_group.command("reliable-change", cls=OneLineCommand)
@_common
@click.option("--measure", required=True, help="Measure key, e.g. BDI-II.")
@click.option("--reliability", required=True, type=float, help="Reliability, strictly 0-1.")
@click.option("--norm-mean", type=float, help="Mean of the normative population.")
@click.option("--norm-sd", type=float, help="SD of the normative population.")
@click.option("--cutoff", default="c", show_default=True, help="a, b, c or a number.")
@click.option("--lower-is-better", is_flag=True, help="Lower scores are better (BDI-II).")
def reliable_change_command(study, fmt, out, timepoints, measure, reliability, norm_mean,
                            norm_sd, cutoff, lower_is_better):
    """Jacobson–Truax reliable and clinically significant change of one measure."""
    from program.reports import ReportInputError, build_reliable_change, load_tables

    row = _study(study)
    tables = load_tables(row.id)
    try:
        report = build_reliable_change(tables, measure, _timepoints(timepoints), reliability,
                                       norm_mean, norm_sd, _cutoff(cutoff), lower_is_better)
    except ReportInputError as exc:
        raise BadInput(str(exc)) from None
    _output(row, report, "reliable-change", fmt, out)
