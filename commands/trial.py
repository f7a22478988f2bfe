"""``flask trial ...``: allocation list, flow counts and questionnaire invitations."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup
from sqlalchemy import select

from models import Study, db
from program.assessments.questionnaires import materialise_invitations
from program.reports import study_flow
from program.trial import allocation
from program.trial.records import TrialError

cli_group = AppGroup("trial", help="Trial operations: allocation list, flow counts, invitations.")


def _study_by_key(key: str) -> Study:
    study = db.session.scalar(select(Study).where(Study.key == key))
    if study is None:
        raise click.ClickException(f"no study with key {key!r}")
    return study


@cli_group.command("allocation-list")
@click.argument("study_key")
def allocation_list_command(study_key: str) -> None:
    """Generate a study's concealed allocation list (once; the seed is not printed)."""
    try:
        n = allocation.generate_allocation_list(_study_by_key(study_key).id)
    except TrialError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{n} allocation slots generated")


@cli_group.command("flow")
@click.argument("study_key")
def flow_command(study_key: str) -> None:
    """Print the CONSORT flow counts of a study as JSON."""
    study = _study_by_key(study_key)
    counts = {"study": study.key, "design": study.design, **study_flow(study.id)}
    click.echo(json.dumps(counts, indent=2))


@cli_group.command("invite")
def invite_command() -> None:
    """Queue the questionnaire invitations and reminders due now (the scheduler does this)."""
    click.echo(f"{materialise_invitations()} messages queued")
