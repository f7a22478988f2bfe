"""``flask admin create``: the first account of a deployment (and any later one by hand)."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from flask_babel import force_locale

from program.accounts.directory import AccountError, create_account, new_account_problem

cli_group = AppGroup("admin", help="Accounts from the command line.")


def _fail(ctx: click.Context, message: str):
    click.echo(f"Error: {message}", err=True)
    ctx.exit(2)


@cli_group.command("create")
@click.option("--email", required=True, help="The address the person signs in with.")
@click.option("--role", default="admin", show_default=True,
              help="participant, facilitator, rater, researcher or admin.")
@click.option("--name", default="", help="The name shown to others (default: from the email).")
@click.pass_context
def create_command(ctx: click.Context, email: str, role: str, name: str):
    """Create an account; the password is asked for twice. Bad input (an address in use, an
    unknown role, a weak password) exits with status 2 and one line saying why."""
    role = role.strip().lower()
    with force_locale("en"):
        problem = new_account_problem(email, role)
        if problem:
            _fail(ctx, problem)
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        try:
            user = create_account(email, name, role, password)
        except AccountError as error:
            _fail(ctx, str(error))
    click.echo(f"Created the {user.role} account {user.email} (id {user.id}).")
