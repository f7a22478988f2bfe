"""``flask content check``: which sessions and practices are missing or broken in a language.

A missing or structurally different translation never stops the app (the session is shown in
English); this command is how authors and CI find them. Exit status 1 if anything is listed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from program.courses.catalogue import TRANSLATED_LOCALES, translation_problems
from program.courses.content import CatalogueError

cli_group = AppGroup("content", help="Course material checks.")


@cli_group.command("check")
@click.option("--locale", "locales", multiple=True, type=click.Choice(TRANSLATED_LOCALES),
              help="Check only this language (repeatable); default: every translated one.")
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Content folder to check instead of the shipped one.")
def check(locales: tuple[str, ...], root: Path | None) -> None:
    """List every program, session and practice whose translation is missing or differs."""
    locales = locales or TRANSLATED_LOCALES
    try:
        problems = translation_problems(root, locales)
    except CatalogueError as error:
        click.echo(f"English content is broken: {error}", err=True)
        sys.exit(1)
    for problem in problems:
        click.echo(str(problem))
    if problems:
        click.echo(f"{len(problems)} translation problem(s) in {', '.join(locales)}.", err=True)
        sys.exit(1)
    click.echo(f"Every program, session and practice is translated into {', '.join(locales)}.")
