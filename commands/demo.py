"""``flask demo seed``: the demo data a newcomer clicks through."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

cli_group = AppGroup("demo", help="Demo data for trying Hearth out.")


@cli_group.command("seed")
@click.option("--if-empty", is_flag=True, help="Only seed a database that has no accounts.")
def seed_command(if_empty: bool) -> None:
    """Create the demo CFT trial and MSC course and print the demo logins."""
    from program import demo

    if if_empty and not demo.is_empty():
        click.echo("Database already has accounts; demo seed skipped.")
        return
    password = current_app.config["DEMO_PASSWORD"]
    logins = demo.seed(password)
    width = max(len(email) for email, *_ in logins)
    click.echo(f"Demo logins (password for all: {password})")
    click.echo(f"{'email'.ljust(width)}  {'role'.ljust(11)}  try")
    for email, _name, role, note in logins:
        click.echo(f"{email.ljust(width)}  {role.ljust(11)}  {note}")
