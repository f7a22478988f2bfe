"""The program catalogue: course content loaded from ``program/content`` and validated.

Content is data written by people, so every file is checked at start-up and a broken one stops
start-up with a :class:`CatalogueError` naming the file and the field. Markdown is split into its
level-2 sections and rendered to HTML once, at load time, without raw HTML, so no request ever
reads a file or renders Markdown.

Layout::

    content/<program>/program.yaml     the program: name, cadence, session length, extra events
    content/<program>/NN-slug.md       one session: front matter, then ## sections
    content/practices/<key>.md         one practice, shared by every session that names it
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token

CONTENT_ROOT = Path(__file__).resolve().parent / "content"
PRACTICES_DIR = "practices"

SESSION_FILE = re.compile(r"^(\d+)-[^/]+\.md$")

#: Level-2 headings every session must have, by the attribute that holds them.
SESSION_SECTIONS = {
    "aims": "Aims",
    "ideas": "This week's ideas",
    "in_session": "In the session",
    "facilitator_guide": "Facilitator guide",
}
TIMINGS_HEADING = "Timings"
PRACTICE_STEPS = "Steps"
PRACTICE_DIFFICULT = "If it feels difficult"

# CommonMark with raw HTML disabled: content is trusted, but a stray tag is shown, not obeyed.
_markdown = MarkdownIt("commonmark", {"html": False})


class CatalogueError(Exception):
    """A content file is missing, malformed or inconsistent with the rest of the catalogue."""

    def __init__(self, path: Path | str, field: str, problem: str) -> None:
        self.path = Path(path)
        self.field = field
        self.problem = problem
        super().__init__(f"{path}: {field}: {problem}")


# ---------------------------------------------------------------------------------------------
# The catalogue's immutable values
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    """One ``##`` section of a content file: its heading, raw Markdown body and rendered HTML."""

    heading: str
    markdown: str
    html: str


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

    def section(self, heading: str) -> Section:
        """Return the section with this heading (matched as the loader matches headings)."""
        section = _find_section(self.sections, heading)
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


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------


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
def get_catalogue() -> Catalogue:
    """The shipped catalogue, loaded on first use and kept for the life of the process."""
    return load_catalogue()


def _load_program(directory: Path, practices: Mapping[str, Practice]) -> Program:
    path = directory / "program.yaml"
    if not path.is_file():
        raise CatalogueError(path, "program.yaml", "file not found")
    data = _yaml_mapping(_read(path), path, first_line=1)
    fields = _Fields(data, path)
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
        _extra_event(raw, path, index, session_count) for index, raw in enumerate(raw_events)
    )
    _no_duplicates((event.key for event in extra_events), path, "extra_events.key")

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


def _extra_event(raw: Any, path: Path, index: int, session_count: int) -> ExtraEvent:
    where = f"extra_events[{index}]"
    if not isinstance(raw, dict):
        raise CatalogueError(path, where, f"must be a mapping, got {_type_name(raw)}")
    fields = _Fields(raw, path, prefix=f"{where}.")
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
        raise CatalogueError(
            path,
            f"{where}.after_session",
            f"{event.after_session} is after the last session ({session_count})",
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
    front, body, body_line = _split_front_matter(_read(path), path)
    fields = _Fields(front, path)
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
    _no_duplicates(practice_keys, path, "practices")
    for key in practice_keys:
        if key not in practices:
            raise CatalogueError(path, "practices", f"unknown practice key {key!r}")

    sections = _split_sections(body, path, body_line)
    required = {key: _find_section(sections, heading) for key, heading in SESSION_SECTIONS.items()}
    for key, section in required.items():
        if section is None:
            raise CatalogueError(path, f"## {SESSION_SECTIONS[key]}", "section heading missing")
    guide = required["facilitator_guide"]
    assert guide is not None
    timings = _timings(guide, path)

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
    front, body, body_line = _split_front_matter(_read(path), path)
    fields = _Fields(front, path)
    key = fields.string("key")
    title = fields.string("title")
    minutes = fields.integer("minutes", minimum=1)
    summary = fields.string("summary")
    fields.no_others()
    if key != path.stem:
        raise CatalogueError(path, "key", f"{key!r} does not match the file name {path.stem!r}")

    sections = _split_sections(body, path, body_line)
    steps = _find_section(sections, PRACTICE_STEPS)
    if steps is None:
        raise CatalogueError(path, f"## {PRACTICE_STEPS}", "section heading missing")
    if not any(t.type == "ordered_list_open" for t in _markdown.parse(steps.markdown)):
        raise CatalogueError(path, f"## {PRACTICE_STEPS}", "must contain a numbered list")
    return Practice(
        key=key,
        title=title,
        minutes=minutes,
        summary=summary,
        steps=steps,
        if_difficult=_find_section(sections, PRACTICE_DIFFICULT),
        sections=sections,
        source=path,
    )


# ---------------------------------------------------------------------------------------------
# Front matter and fields
# ---------------------------------------------------------------------------------------------


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise CatalogueError(path, "encoding", f"not UTF-8 ({error.reason})") from None


def _split_front_matter(text: str, path: Path) -> tuple[dict[str, Any], str, int]:
    """Return the front matter mapping, the Markdown body and the body's first line number."""
    lines = text.lstrip("\ufeff").splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        raise CatalogueError(path, "front matter", "file must start with a '---' line")
    for index in range(1, len(lines)):
        if lines[index].strip() == "---":
            front = _yaml_mapping("".join(lines[1:index]), path, first_line=2)
            return front, "".join(lines[index + 1 :]), index + 2
    raise CatalogueError(path, "front matter", "no closing '---' line")


def _yaml_mapping(text: str, path: Path, *, first_line: int) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + first_line}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error)
        raise CatalogueError(path, "YAML", f"invalid YAML{where}: {problem}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise CatalogueError(path, "YAML", f"must be a mapping of fields, got {_type_name(data)}")
    return data


class _Fields:
    """Typed access to a mapping of fields that reports problems by file and field name."""

    def __init__(self, data: Mapping[str, Any], path: Path, prefix: str = "") -> None:
        self.data = data
        self.path = path
        self.prefix = prefix
        self.seen: set[str] = set()

    def error(self, name: str, problem: str) -> CatalogueError:
        return CatalogueError(self.path, f"{self.prefix}{name}", problem)

    def get(self, name: str, kind: type, *, default: Any = ...) -> Any:
        self.seen.add(name)
        if name not in self.data or self.data[name] is None:
            if default is not ...:
                return default
            raise self.error(name, "missing field")
        value = self.data[name]
        # bool is an int subclass in Python; `number: yes` is a mistake, not session 1.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.error(name, f"must be {_kind_name(kind)}, got {_type_name(value)}")
        return value

    def string(self, name: str) -> str:
        value = self.get(name, str).strip()
        if not value:
            raise self.error(name, "must not be empty")
        return value

    def integer(self, name: str, *, minimum: int) -> int:
        value = self.get(name, int)
        if value < minimum:
            raise self.error(name, f"must be at least {minimum}, got {value}")
        return value

    def strings(self, name: str, *, allow_empty: bool) -> list[str]:
        values = self.get(name, list)
        if not values and not allow_empty:
            raise self.error(name, "must list at least one item")
        for index, value in enumerate(values):
            if not isinstance(value, str) or not value.strip():
                raise self.error(
                    f"{name}[{index}]", f"must be a non-empty string, got {_type_name(value)}"
                )
        return [value.strip() for value in values]

    def no_others(self) -> None:
        unknown = sorted(str(key) for key in self.data if key not in self.seen)
        if unknown:
            raise self.error(unknown[0], "unknown field (misspelt?)")


def _no_duplicates(values: Iterable[str], path: Path, field_name: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise CatalogueError(path, field_name, f"{value!r} is listed twice")
        seen.add(value)


def _type_name(value: Any) -> str:
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a mapping",
        type(None): "nothing",
    }.get(type(value), type(value).__name__)


def _kind_name(kind: type) -> str:
    return {int: "an integer", str: "a string", list: "a list", dict: "a mapping"}[kind]


# ---------------------------------------------------------------------------------------------
# Markdown sections
# ---------------------------------------------------------------------------------------------


def _normalise_heading(text: str) -> str:
    return " ".join(text.replace("\u2019", "'").split()).casefold()


def _find_section(sections: Iterable[Section], heading: str) -> Section | None:
    wanted = _normalise_heading(heading)
    return next((s for s in sections if _normalise_heading(s.heading) == wanted), None)


def _split_sections(body: str, path: Path, body_line: int) -> tuple[Section, ...]:
    """Split a Markdown body at its top-level ``##`` headings and render each section."""
    lines = body.splitlines(keepends=True)
    tokens = _markdown.parse(body)
    starts: list[tuple[int, int, str]] = []  # (heading line, first body line, heading text)
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and token.tag == "h2" and token.level == 0:
            assert token.map is not None
            starts.append((token.map[0], token.map[1], tokens[index + 1].content.strip()))

    first = starts[0][0] if starts else len(lines)
    for token in tokens:
        # A title line (`# ...`) may precede the sections; any other text would never be shown.
        if token.level == 0 and token.map and token.map[0] < first and token.tag != "h1":
            if token.type.endswith("_open") or token.type in {"fence", "code_block", "hr"}:
                raise CatalogueError(
                    path,
                    f"line {token.map[0] + body_line}",
                    "text before the first '##' heading belongs to no section",
                )

    sections = []
    seen: set[str] = set()
    for position, (_, body_start, heading) in enumerate(starts):
        end = starts[position + 1][0] if position + 1 < len(starts) else len(lines)
        normalised = _normalise_heading(heading)
        if normalised in seen:
            raise CatalogueError(path, f"## {heading}", "section heading appears twice")
        seen.add(normalised)
        markdown = "".join(lines[body_start:end]).strip("\n") + "\n"
        if not markdown.strip():
            raise CatalogueError(path, f"## {heading}", "section is empty")
        sections.append(
            Section(heading=heading, markdown=markdown, html=_markdown.render(markdown))
        )
    return tuple(sections)


def _timings(guide: Section, path: Path) -> tuple[str, ...]:
    """The items of the ``### Timings`` list inside the facilitator guide."""
    tokens = _markdown.parse(guide.markdown)
    field_name = f"## {SESSION_SECTIONS['facilitator_guide']} / ### {TIMINGS_HEADING}"
    start = None
    for index, token in enumerate(tokens):
        if (
            token.type == "heading_open"
            and token.tag == "h3"
            and token.level == 0
            and _normalise_heading(tokens[index + 1].content) == _normalise_heading(TIMINGS_HEADING)
        ):
            start = index + 3
            break
    if start is None:
        raise CatalogueError(path, field_name, "section heading missing")

    items: list[str] = []
    for index in range(start, len(tokens)):
        token = tokens[index]
        if token.type == "heading_open" and token.level == 0:
            break
        if token.type == "list_item_open" and token.level == 1:
            items.append(_first_inline(tokens, index))
        if items and token.type in {"bullet_list_close", "ordered_list_close"} and token.level == 0:
            break
    if not items:
        raise CatalogueError(path, field_name, "must contain a list")
    return tuple(items)


def _first_inline(tokens: list[Token], index: int) -> str:
    for token in tokens[index:]:
        if token.type == "inline":
            return token.content.strip()
    return ""
