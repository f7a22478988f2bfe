"""The program catalogue: course content loaded from ``program/courses/content`` and validated.

Content is data written by people, so every file is checked at start-up and a broken one stops
start-up with a :class:`CatalogueError` naming the file and the field. Markdown is split into its
level-2 sections and rendered to HTML once, at load time, without raw HTML, so no request ever
reads a file or renders Markdown.

Layout::

    content/<program>/program.yaml     the program: name, cadence, session length, extra events
    content/<program>/<event key>.md   an extra event's page (see program.courses.event_pages)
    content/<program>/NN-slug.md       one session: front matter, then ## sections
    content/practices/<key>.md         one practice, shared by every session that names it
    content/<program>/i18n/<lang>/     the program in another language: program.yaml (name,
                                       description, extra_events keyed by event key) and session
                                       files named as in English (front matter: number, title,
                                       checklist)
    content/practices/i18n/<lang>/     practices in another language (key, title, summary)

How translations are matched to the English, and what happens when one is missing or broken,
is described at :func:`program.courses.translation.localize`; :func:`translation_problems`
(``flask content check``) lists every such problem.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from types import MappingProxyType

from program.core.fields import Fields
from program.courses.content import (
    PRACTICE_ADAPTED_FROM,
    PRACTICE_DIFFICULT,
    PRACTICE_STEPS,
    SESSION_SECTIONS,
    SOURCE_LOCALE,
    Catalogue,
    CatalogueError,
    ExtraEvent,
    Practice,
    Program,
    Session,
    find_section,
)
from program.courses.event_pages import with_page
from program.courses.files import field_reader, read_text, split_front_matter, yaml_mapping
from program.courses.sections import guide_timings, has_numbered_list, split_sections
from program.courses.translation import TranslationProblem, localize

CONTENT_ROOT = Path(__file__).resolve().parent / "content"
PRACTICES_DIR = "practices"
#: The languages course material is translated into (the interface's other languages).
TRANSLATED_LOCALES = ("ja", "zh")

SESSION_FILE = re.compile(r"^(\d+)-[^/]+\.md$")


def load_catalogue(root: Path | str | None = None) -> Catalogue:
    """Load and validate every program and practice under ``root`` (default: shipped content).

    Raises
    ------
    CatalogueError
        On the first problem found, naming the file and the field.
    """
    root = Path(root) if root is not None else CONTENT_ROOT
    if not root.is_dir():
        raise CatalogueError(root, "content", "directory not found")

    practices = load_practices(root / PRACTICES_DIR)

    programs: dict[str, Program] = {}
    for directory in sorted(p for p in root.iterdir() if p.is_dir()):
        if directory.name == PRACTICES_DIR or directory.name.startswith((".", "_")):
            continue
        program = _load_program(directory, practices)
        programs[program.key] = program

    if not programs:
        raise CatalogueError(root, "programs", "no program folder with a program.yaml")
    return Catalogue(programs=MappingProxyType(programs), practices=MappingProxyType(practices))


def load_practices(directory: Path) -> dict[str, Practice]:
    """Load every practice file in ``directory`` (none if it does not exist), by key."""
    practices: dict[str, Practice] = {}
    if Path(directory).is_dir():
        for path in sorted(Path(directory).glob("*.md")):
            practice = parse_practice_file(path)
            practices[practice.key] = practice
    return practices


@cache
def _shipped(locale: str) -> Catalogue:
    if locale == SOURCE_LOCALE:
        return load_catalogue()
    return localize(_shipped(SOURCE_LOCALE), locale)[0]


def get_catalogue(locale: object = None) -> Catalogue:
    """The shipped catalogue in ``locale``, loaded on first use and kept for the process.

    ``locale`` may be a code ("ja", "zh_Hans_CN") or a Babel ``Locale``; an unknown or absent
    one gives English. Each session and practice falls back to English on its own.
    """
    return _shipped(content_locale(locale))


get_catalogue.cache_clear = _shipped.cache_clear  # type: ignore[attr-defined]


def content_locale(locale: object) -> str:
    """The content language for an interface locale: its language code if translated, else en."""
    language = str(locale or "").replace("-", "_").split("_")[0].lower()
    return language if language in TRANSLATED_LOCALES else SOURCE_LOCALE


def _load_program(directory: Path, practices: Mapping[str, Practice]) -> Program:
    path = directory / "program.yaml"
    if not path.is_file():
        raise CatalogueError(path, "program.yaml", "file not found")
    fields = field_reader(yaml_mapping(read_text(path), path, first_line=1), path)
    key = fields.string("key")
    if key != directory.name:
        raise CatalogueError(path, "key", f"{key!r} does not match its folder {directory.name!r}")
    name = fields.string("name")
    description = fields.string("description")
    cadence_days = fields.integer("cadence_days", minimum=1)
    session_minutes = fields.integer("session_minutes", minimum=1)
    session_count = fields.integer("session_count", minimum=1)
    raw_events = fields.get("extra_events", list, default=[])
    fields.no_others()

    extra_events = tuple(
        _extra_event(fields.at(raw, f"extra_events[{index}]"), session_count)
        for index, raw in enumerate(raw_events)
    )
    fields.no_duplicates((event.key for event in extra_events), "extra_events.key")
    extra_events = tuple(with_page(event, directory) for event in extra_events)

    sessions_by_number: dict[int, Session] = {}
    for session_path in sorted(directory.glob("*.md")):
        if not SESSION_FILE.match(session_path.name):
            continue
        session = parse_session_file(
            session_path, practices, program_key=key, cadence_days=cadence_days
        )
        if session.number in sessions_by_number:
            other = sessions_by_number[session.number].source.name
            raise CatalogueError(
                session_path, "number", f"duplicate session number {session.number} (also {other})"
            )
        sessions_by_number[session.number] = session

    expected = set(range(1, session_count + 1))
    for number, session in sessions_by_number.items():
        if number not in expected:
            raise CatalogueError(
                session.source, "number", f"{number} is outside 1..{session_count} (session_count)"
            )
    missing = sorted(expected - sessions_by_number.keys())
    if missing:
        raise CatalogueError(
            path, "session_count", f"{session_count} sessions declared, no file for {missing}"
        )

    sessions = tuple(sessions_by_number[number] for number in sorted(sessions_by_number))
    return Program(
        key=key,
        name=name,
        description=description,
        cadence_days=cadence_days,
        session_minutes=session_minutes,
        session_count=session_count,
        extra_events=extra_events,
        sessions=sessions,
        source=path,
    )


def _extra_event(fields: Fields, session_count: int) -> ExtraEvent:
    event = ExtraEvent(
        key=fields.string("key"),
        title=fields.string("title"),
        after_session=fields.integer("after_session", minimum=1),
        offset_days=fields.integer("offset_days", minimum=0),
        minutes=fields.integer("minutes", minimum=1),
        description=fields.string("description"),
    )
    fields.no_others()
    if event.after_session > session_count:
        raise fields.error(
            "after_session", f"{event.after_session} is after the last session ({session_count})"
        )
    return event


def parse_session_file(
    path: Path,
    practices: Mapping[str, Practice],
    *,
    program_key: str | None = None,
    cadence_days: int | None = None,
) -> Session:
    """Parse and check one session file, resolving its practice keys against ``practices``.

    ``week_offset`` is checked against ``cadence_days`` when given, so the weekly calendar and
    the content agree on when each session happens.
    """
    path = Path(path)
    front, body, body_line = split_front_matter(read_text(path), path)
    fields = field_reader(front, path)
    number = fields.integer("number", minimum=1)
    title = fields.string("title")
    week_offset = fields.integer("week_offset", minimum=0)
    practice_keys = fields.strings("practices", allow_empty=True)
    checklist = fields.strings("checklist", allow_empty=False)
    estimated_minutes = fields.integer("estimated_minutes", minimum=1)
    fields.no_others()

    match = SESSION_FILE.match(path.name)
    if match and int(match.group(1)) != number:
        raise CatalogueError(
            path, "number", f"{number} does not match the file name prefix {match.group(1)}"
        )
    if cadence_days is not None and week_offset * 7 != (number - 1) * cadence_days:
        expected = (number - 1) * cadence_days / 7
        raise CatalogueError(
            path,
            "week_offset",
            f"{week_offset} disagrees with a {cadence_days}-day cadence (expected {expected:g})",
        )
    fields.no_duplicates(practice_keys, "practices")
    for key in practice_keys:
        if key not in practices:
            raise CatalogueError(path, "practices", f"unknown practice key {key!r}")

    sections = split_sections(body, path, body_line)
    required = {key: find_section(sections, heading) for key, heading in SESSION_SECTIONS.items()}
    for key, section in required.items():
        if section is None:
            raise CatalogueError(path, f"## {SESSION_SECTIONS[key]}", "section heading missing")
    guide = required["facilitator_guide"]
    assert guide is not None
    timings = guide_timings(guide, path)

    slug = path.stem.split("-", 1)[1] if "-" in path.stem else path.stem
    return Session(
        program_key=program_key or path.parent.name,
        number=number,
        title=title,
        week_offset=week_offset,
        practices=tuple(practices[key] for key in practice_keys),
        checklist=tuple(checklist),
        estimated_minutes=estimated_minutes,
        sections=sections,
        timings=timings,
        slug=slug,
        source=path,
    )


def parse_practice_file(path: Path) -> Practice:
    """Parse and check one practice file."""
    path = Path(path)
    front, body, body_line = split_front_matter(read_text(path), path)
    fields = field_reader(front, path)
    key = fields.string("key")
    title = fields.string("title")
    minutes = fields.integer("minutes", minimum=1)
    summary = fields.string("summary")
    reference = fields.get("reference", str, default="").strip()
    fields.no_others()
    if key != path.stem:
        raise CatalogueError(path, "key", f"{key!r} does not match the file name {path.stem!r}")

    sections = split_sections(body, path, body_line)
    steps = find_section(sections, PRACTICE_STEPS)
    if steps is None:
        raise CatalogueError(path, f"## {PRACTICE_STEPS}", "section heading missing")
    if not has_numbered_list(steps.markdown):
        raise CatalogueError(path, f"## {PRACTICE_STEPS}", "must contain a numbered list")
    adapted_from = find_section(sections, PRACTICE_ADAPTED_FROM)
    if (adapted_from is None) != (not reference):
        raise CatalogueError(path, "reference", f"a practice with '## {PRACTICE_ADAPTED_FROM}' "
                             "needs a reference, and a reference needs that section")
    return Practice(
        key=key,
        title=title,
        minutes=minutes,
        summary=summary,
        steps=steps,
        if_difficult=find_section(sections, PRACTICE_DIFFICULT),
        adapted_from=adapted_from,
        reference=reference,
        sections=sections,
        source=path,
    )


def translation_problems(
    root: Path | str | None = None, locales: Iterable[str] = TRANSLATED_LOCALES
) -> list[TranslationProblem]:
    """Every program, session and practice missing or structurally different in ``locales``.

    Raises
    ------
    CatalogueError
        If the English content itself is broken (nothing can be compared then).
    """
    english = load_catalogue(root)
    return [problem for locale in locales for problem in localize(english, locale)[1]]

