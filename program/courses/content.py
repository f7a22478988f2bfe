"""The course content model: immutable programs, sessions, practices and their sections."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

SOURCE_LOCALE = "en"

#: Level-2 headings every session must have, by the attribute that holds them.
SESSION_SECTIONS = {
    "aims": "Aims",
    "ideas": "This week's ideas",
    "in_session": "In the session",
    "facilitator_guide": "Facilitator guide",
}
TIMINGS_HEADING = "Timings"
#: Level-2 headings an extra event's page (``<program>/<event key>.md``) must have.
EVENT_SECTIONS = ("Schedule", "Facilitator guide")
#: Markers a content page may hold, each alone in a paragraph, that the page fills in when it
#: is shown (``[[crisis-contacts]]``): details that differ by cohort or place, not by course.
PLACEHOLDERS = ("crisis-contacts", "on-the-day-contact")
PRACTICE_STEPS = "Steps"
PRACTICE_DIFFICULT = "If it feels difficult"
#: A practice that follows a published script names it here, with the source.
PRACTICE_ADAPTED_FROM = "Adapted from"


class CatalogueError(Exception):
    """A content file is missing, malformed or inconsistent with the rest of the catalogue."""

    def __init__(self, path: Path | str, field: str, problem: str) -> None:
        self.path = Path(path)
        self.field = field
        self.problem = problem
        super().__init__(f"{path}: {field}: {problem}")


@dataclass(frozen=True)
class Section:
    """One ``##`` section of a content file: its heading, raw Markdown body and rendered HTML."""

    heading: str
    markdown: str
    html: str
    #: The English heading this section translates (empty in English files): code finds
    #: sections by their English heading in every language.
    key: str = ""


@dataclass(frozen=True)
class Practice:
    """A home practice, defined once and assigned by any number of sessions."""

    key: str
    title: str
    minutes: int
    summary: str
    steps: Section
    if_difficult: Section | None
    sections: tuple[Section, ...]
    source: Path
    #: The language the words are in ("en" when a translation was missing or broken).
    locale: str = SOURCE_LOCALE
    #: For a practice that follows a published script: the section saying so, in the reader's
    #: language, and the bibliographic reference (as published, so always as in English).
    adapted_from: Section | None = None
    reference: str = ""


@dataclass(frozen=True)
class Session:
    """One session of a program: its material, home practices and facilitator guide."""

    program_key: str
    number: int
    title: str
    week_offset: int
    practices: tuple[Practice, ...]
    checklist: tuple[str, ...]
    estimated_minutes: int
    sections: tuple[Section, ...]
    #: The items of the facilitator guide's ``### Timings`` list, in order.
    timings: tuple[str, ...]
    slug: str
    source: Path
    #: The language the words are in ("en" when a translation was missing or broken).
    locale: str = SOURCE_LOCALE

    def section(self, heading: str) -> Section:
        """Return the section with this heading (matched as the loader matches headings)."""
        section = find_section(self.sections, heading)
        if section is None:
            raise KeyError(f"session {self.program_key}/{self.number} has no section {heading!r}")
        return section

    @property
    def aims(self) -> Section:
        return self.section(SESSION_SECTIONS["aims"])

    @property
    def ideas(self) -> Section:
        return self.section(SESSION_SECTIONS["ideas"])

    @property
    def in_session(self) -> Section:
        return self.section(SESSION_SECTIONS["in_session"])

    @property
    def facilitator_guide(self) -> Section:
        return self.section(SESSION_SECTIONS["facilitator_guide"])

    @property
    def practice_keys(self) -> tuple[str, ...]:
        return tuple(practice.key for practice in self.practices)


@dataclass(frozen=True)
class ExtraEvent:
    """An event outside the weekly meetings, such as the MSC half-day retreat.

    It falls ``offset_days`` after the planned meeting of session ``after_session``.
    """

    key: str
    title: str
    after_session: int
    offset_days: int
    minutes: int
    description: str
    #: The event's own page (schedule, practices, facilitator guide), if it has one.
    sections: tuple[Section, ...] = ()
    page: Path | None = None
    #: The language of the page ("en" when a translation was missing or broken).
    locale: str = SOURCE_LOCALE

    def section(self, heading: str) -> Section | None:
        return find_section(self.sections, heading)


@dataclass(frozen=True)
class Program:
    """A course: its cadence and length, its sessions in order, and any extra events."""

    key: str
    name: str
    description: str
    cadence_days: int
    session_minutes: int
    session_count: int
    extra_events: tuple[ExtraEvent, ...]
    sessions: tuple[Session, ...]
    source: Path
    #: The language of the name and description ("en" when no translation was found).
    locale: str = SOURCE_LOCALE

    def session(self, number: int) -> Session:
        # The loader guarantees sessions are numbered 1..session_count, in order.
        if not 1 <= number <= len(self.sessions):
            raise KeyError(f"program {self.key!r} has no session {number}")
        return self.sessions[number - 1]


@dataclass(frozen=True)
class Catalogue:
    """Every program and practice, looked up by key."""

    programs: Mapping[str, Program] = field(compare=False)
    practices: Mapping[str, Practice] = field(compare=False)

    def program(self, key: str) -> Program:
        try:
            return self.programs[key]
        except KeyError:
            raise KeyError(f"no program {key!r}") from None

    def session(self, program_key: str, number: int) -> Session:
        return self.program(program_key).session(number)

    def practice(self, key: str) -> Practice:
        try:
            return self.practices[key]
        except KeyError:
            raise KeyError(f"no practice {key!r}") from None


def normalise_heading(text: str) -> str:
    """A heading as compared: curly apostrophes straightened, spaces collapsed, case folded."""
    return " ".join(text.replace("\u2019", "'").split()).casefold()


def find_section(sections: Iterable[Section], heading: str) -> Section | None:
    """The section whose (English) heading matches ``heading``, if any."""
    wanted = normalise_heading(heading)
    return next((s for s in sections if normalise_heading(s.key or s.heading) == wanted), None)
