"""``flask groups ...``: the group jobs, by hand (the scheduler runs them on its tick)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from program.groups import digests

cli_group = AppGroup("groups", help="Group jobs (the scheduler runs them on its tick).")


@cli_group.command("weekly-threads")
def weekly_threads_command():
    """Create the "Week N" threads of every released session that lacks one."""
    click.echo(f"{digests.ensure_weekly_threads()} weekly threads created")


@cli_group.command("digests")
def digests_command():
    """Queue yesterday's daily digests (once per person and day)."""
    click.echo(f"{digests.materialise_digests()} digests queued")
