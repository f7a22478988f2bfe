"""``flask content check``: which sessions and practices are missing or broken in a language,
and where the course text or the interface strays from the translators' glossary.

A missing or structurally different translation never stops the app (the session is shown in
English); this command is how authors and CI find them. Exit status 1 if anything is listed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from program.courses.catalogue import TRANSLATED_LOCALES, load_catalogue, translation_problems
from program.courses.content import CatalogueError
from program.courses.glossary import glossary_problems
from program.courses.glossary_fix import fix_catalogue

cli_group = AppGroup("content", help="Course material checks.")


@cli_group.command("check")
@click.option("--locale", "locales", multiple=True, type=click.Choice(TRANSLATED_LOCALES),
              help="Check only this language (repeatable); default: every translated one.")
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Content folder to check instead of the shipped one.")
@click.option("--translations", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Translations folder (glossary/ and catalogues) instead of the shipped one.")
def check(locales: tuple[str, ...], root: Path | None, translations: Path | None) -> None:
    """List every translation that is missing or differs, and every term the glossary flags."""
    locales = locales or TRANSLATED_LOCALES
    try:
        problems = translation_problems(root, locales)
        terms = glossary_problems(load_catalogue(root), locales, translations)
    except CatalogueError as error:
        click.echo(f"Content or glossary is broken: {error}", err=True)
        sys.exit(1)
    for problem in [*problems, *terms]:
        click.echo(str(problem))
    if problems or terms:
        click.echo(f"{len(problems)} translation problem(s) and {len(terms)} glossary term(s) "
                   f"to fix in {', '.join(locales)}.", err=True)
        sys.exit(1)
    click.echo(f"Every program, session and practice is translated into {', '.join(locales)}, "
               "in the glossary's terms.")


@cli_group.command("fix-glossary")
@click.option("--locale", "locales", multiple=True, type=click.Choice(TRANSLATED_LOCALES),
              help="Fix only this language (repeatable); default: every translated one.")
@click.option("--translations", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Translations folder instead of the shipped one.")
def fix_glossary(locales: tuple[str, ...], translations: Path | None) -> None:
    """Replace the glossary's known variants in the catalogues' msgstr (run `make translations`
    after it); what it cannot fix safely, `flask content check` still lists."""
    for locale in locales or TRANSLATED_LOCALES:
        click.echo(f"{locale}: {fix_catalogue(locale, translations)} message(s) fixed.")
