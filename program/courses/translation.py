"""Course content in another language: translated files matched to the English, with fallback."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from program.courses.content import (
    PRACTICE_ADAPTED_FROM,
    PRACTICE_DIFFICULT,
    PRACTICE_STEPS,
    SESSION_SECTIONS,
    TIMINGS_HEADING,
    Catalogue,
    CatalogueError,
    ExtraEvent,
    Practice,
    Program,
    Section,
    Session,
    find_section,
    normalise_heading,
)
from program.courses.event_pages import translate_page
from program.courses.files import field_reader, read_text, split_front_matter, yaml_mapping
from program.courses.sections import guide_timings, ordered_items, split_sections, subheadings

I18N_DIR = "i18n"


@dataclass(frozen=True)
class TranslationProblem:
    """A program, session or practice whose translation is missing or differs from English."""

    locale: str
    #: What is affected, e.g. "msc session 2", "practice soothing-touch", "program msc".
    item: str
    path: Path
    problem: str

    def __str__(self) -> str:
        return f"{self.locale}: {self.item}: {self.problem} ({self.path})"


def localize(catalogue: Catalogue, locale: str) -> tuple[Catalogue, list[TranslationProblem]]:
    """``catalogue`` in ``locale``, falling back to English per session and per practice.

    Translations are looked up beside each English file, in ``i18n/<locale>/``: the program's
    ``program.yaml`` (name, description, extra_events keyed by event key), session files named
    as in English (front matter: number, title, checklist), event pages (``retreat.md``, see
    :mod:`program.courses.event_pages`) and practice files (key, title, summary). A
    translation keeps the English file's structure: its sections are matched to the English
    ones by position (headings are translated), and everything that is not words
    (session numbers, minutes, practice keys) comes from the English file. A translation that
    is missing or does not match the English structure is never fatal: that session or practice
    is shown in English. Returns the localized catalogue and the problems that made it fall
    back (``flask content check`` lists them).
    """
    problems: list[TranslationProblem] = []
    practices: dict[str, Practice] = {}
    for key, english in catalogue.practices.items():
        path = english.source.parent / I18N_DIR / locale / english.source.name
        translated = _translated(
            path, locale, f"practice {key}", problems,
            lambda english=english, path=path: _translate_practice(english, path, locale),
        )
        practices[key] = translated or english
    programs = {
        key: _localize_program(program, practices, locale, problems)
        for key, program in catalogue.programs.items()
    }
    localized = Catalogue(programs=MappingProxyType(programs),
                          practices=MappingProxyType(practices))
    return localized, problems


def _translated(path: Path, locale: str, item: str, problems: list[TranslationProblem],
                build: Any) -> Any:
    """``build()``, or None with the reason added to ``problems``."""
    if not path.is_file():
        problems.append(TranslationProblem(locale, item, path, "translation missing"))
        return None
    try:
        return build()
    except CatalogueError as error:
        problems.append(
            TranslationProblem(locale, item, error.path, f"{error.field}: {error.problem}"))
        return None


def _localize_program(program: Program, practices: Mapping[str, Practice], locale: str,
                      problems: list[TranslationProblem]) -> Program:
    directory = program.source.parent / I18N_DIR / locale
    sessions = []
    for english in program.sessions:
        path = directory / english.source.name
        translated = _translated(
            path, locale, f"{program.key} session {english.number}", problems,
            lambda english=english, path=path: _translate_session(english, path, practices, locale),
        )
        sessions.append(translated or replace(
            english, practices=tuple(practices[p.key] for p in english.practices)))
    localized = replace(program, sessions=tuple(sessions))
    path = directory / "program.yaml"
    words = _translated(path, locale, f"program {program.key}", problems,
                        lambda: _translate_program(program, path, locale))
    localized = replace(localized, **words) if words else localized
    events = tuple(_localize_page(event, directory, locale, program.key, problems)
                   for event in localized.extra_events)
    return replace(localized, extra_events=events)


def _localize_page(event: ExtraEvent, directory: Path, locale: str, program_key: str,
                   problems: list[TranslationProblem]) -> ExtraEvent:
    """The event with its page in ``locale``, or its English page (and a problem)."""
    if event.page is None:
        return event
    path = directory / event.page.name
    translated = _translated(path, locale, f"{program_key} event {event.key}", problems,
                             lambda: translate_page(event, path, locale))
    return translated or event


def _translate_program(english: Program, path: Path, locale: str) -> dict[str, Any]:
    fields = field_reader(yaml_mapping(read_text(path), path, first_line=1), path)
    name = fields.string("name")
    description = fields.string("description")
    raw_events = fields.get("extra_events", dict, default={})
    fields.no_others()
    wanted = [event.key for event in english.extra_events]
    if sorted(map(str, raw_events)) != sorted(wanted):
        raise CatalogueError(path, "extra_events",
                             f"keys {sorted(map(str, raw_events))} differ from English {wanted}")
    events = []
    for event in english.extra_events:
        event_fields = fields.at(raw_events[event.key], f"extra_events.{event.key}")
        events.append(replace(event, title=event_fields.string("title"),
                              description=event_fields.string("description")))
        event_fields.no_others()
    return {"name": name, "description": description, "extra_events": tuple(events),
            "locale": locale}


def _translate_session(english: Session, path: Path, practices: Mapping[str, Practice],
                       locale: str) -> Session:
    front, body, body_line = split_front_matter(read_text(path), path)
    fields = field_reader(front, path)
    number = fields.integer("number", minimum=1)
    title = fields.string("title")
    checklist = fields.strings("checklist", allow_empty=False)
    fields.no_others()
    if number != english.number:
        raise CatalogueError(path, "number", f"{number}, but the English file is {english.number}")
    _same_count(path, "checklist", "items", len(checklist), len(english.checklist))

    sections = _matched_sections(english.sections, body, path, body_line)
    guide = find_section(sections, SESSION_SECTIONS["facilitator_guide"])
    assert guide is not None  # matched by position to the English guide
    english_subheadings = [normalise_heading(text) for _index, text in
                           subheadings(english.facilitator_guide.markdown)]
    _same_count(path, f"## {guide.heading}", "'###' headings",
                len(subheadings(guide.markdown)), len(english_subheadings))
    position = english_subheadings.index(normalise_heading(TIMINGS_HEADING))
    timings = guide_timings(guide, path, position)
    _same_count(path, f"## {guide.heading}", "timings", len(timings), len(english.timings))
    return replace(
        english,
        title=title,
        checklist=tuple(checklist),
        sections=sections,
        timings=timings,
        practices=tuple(practices[p.key] for p in english.practices),
        source=path,
        locale=locale,
    )


def _translate_practice(english: Practice, path: Path, locale: str) -> Practice:
    front, body, body_line = split_front_matter(read_text(path), path)
    fields = field_reader(front, path)
    key = fields.string("key")
    title = fields.string("title")
    summary = fields.string("summary")
    fields.no_others()
    if key != english.key:
        raise CatalogueError(path, "key", f"{key!r}, but the English file is {english.key!r}")
    sections = _matched_sections(english.sections, body, path, body_line)
    steps = find_section(sections, PRACTICE_STEPS)
    assert steps is not None  # matched by position to the English steps
    _same_count(path, f"## {steps.heading}", "numbered steps",
                ordered_items(steps.markdown), ordered_items(english.steps.markdown))
    return replace(
        english,
        title=title,
        summary=summary,
        steps=steps,
        if_difficult=find_section(sections, PRACTICE_DIFFICULT),
        adapted_from=find_section(sections, PRACTICE_ADAPTED_FROM),
        sections=sections,
        source=path,
        locale=locale,
    )


def _matched_sections(english: tuple[Section, ...], body: str, path: Path,
                      body_line: int) -> tuple[Section, ...]:
    """The translated ``##`` sections, each keyed by the English heading at its position."""
    sections = split_sections(body, path, body_line)
    if len(sections) != len(english):
        headings = ", ".join(section.heading for section in english)
        raise CatalogueError(path, "## sections",
                             f"{len(sections)}, but the English file has {len(english)} "
                             f"({headings})")
    return tuple(replace(translated, key=original.key or original.heading)
                 for translated, original in zip(sections, english, strict=True))


def _same_count(path: Path, field_name: str, what: str, count: int, english: int) -> None:
    if count != english:
        raise CatalogueError(path, field_name,
                             f"{count} {what}, but the English file has {english}")


