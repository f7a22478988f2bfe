"""Pages of extra events (the MSC half-day retreat): loading, translating, filling placeholders.

An event with key ``retreat`` may have a page ``content/<program>/retreat.md`` (front matter
``key: retreat``, then ``##`` sections, at least those in ``EVENT_SECTIONS``) and translations in
``content/<program>/i18n/<locale>/retreat.md`` with the same sections in the same order.

A page may hold placeholders, each alone in a paragraph, e.g. ``[[crisis-contacts]]``: the page
fills them in when it is shown, with details that differ by cohort or place (see
``PLACEHOLDERS``). A translation must keep every placeholder of the English page, so that
crisis contacts can never be lost in translation.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from program.courses.content import (
    EVENT_SECTIONS,
    PLACEHOLDERS,
    CatalogueError,
    ExtraEvent,
    Section,
    find_section,
)
from program.courses.files import field_reader, read_text, split_front_matter
from program.courses.sections import split_sections

_MARKER = re.compile(r"\[\[([a-z0-9-]+)\]\]")
_FILLED = re.compile(r"<p>\[\[([a-z0-9-]+)\]\]</p>\n?")


def placeholders_in(sections: tuple[Section, ...]) -> list[str]:
    """The placeholders of ``sections``, in order of appearance."""
    return [name for section in sections for name in _MARKER.findall(section.markdown)]


def _read_page(path: Path, key: str) -> tuple[Section, ...]:
    front, body, body_line = split_front_matter(read_text(path), path)
    fields = field_reader(front, path)
    found = fields.string("key")
    fields.no_others()
    if found != key:
        raise CatalogueError(path, "key", f"{found!r} does not match the event key {key!r}")
    sections = split_sections(body, path, body_line)
    unknown = sorted(set(placeholders_in(sections)) - set(PLACEHOLDERS))
    if unknown:
        raise CatalogueError(path, "placeholders", f"unknown {unknown}; known: {PLACEHOLDERS}")
    return sections


def with_page(event: ExtraEvent, directory: Path) -> ExtraEvent:
    """``event`` with its page from ``directory``, if it has one; a broken page raises."""
    path = directory / f"{event.key}.md"
    if not path.is_file():
        return event
    sections = _read_page(path, event.key)
    for heading in EVENT_SECTIONS:
        if find_section(sections, heading) is None:
            raise CatalogueError(path, f"## {heading}", "section heading missing")
    return replace(event, sections=sections, page=path)


def translate_page(english: ExtraEvent, path: Path, locale: str) -> ExtraEvent:
    """``english`` with its page in ``locale``: same sections in order, same placeholders."""
    sections = _read_page(path, english.key)
    if len(sections) != len(english.sections):
        raise CatalogueError(path, "## sections", f"{len(sections)}, but the English page has "
                             f"{len(english.sections)}")
    if sorted(placeholders_in(sections)) != sorted(placeholders_in(english.sections)):
        raise CatalogueError(path, "placeholders", f"{placeholders_in(sections)}, but the "
                             f"English page has {placeholders_in(english.sections)}")
    keyed = tuple(replace(translated, key=original.key or original.heading)
                  for translated, original in zip(sections, english.sections, strict=True))
    return replace(english, sections=keyed, page=path, locale=locale)


def fill_placeholders(html: str, values: Mapping[str, str]) -> str:
    """``html`` with each placeholder paragraph replaced by its value (HTML, already escaped).

    A placeholder without a value is removed rather than shown as ``[[...]]``.
    """
    return _FILLED.sub(lambda match: values.get(match.group(1), ""), html)
