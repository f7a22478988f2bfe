"""The program catalogue: course content loaded from ``program/courses/content`` and validated.

Content is data written by people, so every file is checked at start-up and a broken one stops
start-up with a :class:`CatalogueError` naming the file and the field. Markdown is split into its
level-2 sections and rendered to HTML once, at load time, without raw HTML, so no request ever
reads a file or renders Markdown.

Layout::

    content/<program>/program.yaml     the program: name, cadence, session length, extra events
    content/<program>/NN-slug.md       one session: front matter, then ## sections
    content/practices/<key>.md         one practice, shared by every session that names it
    content/<program>/i18n/<lang>/     the program in another language: program.yaml (name,
                                       description, extra_events keyed by event key) and session
                                       files named as in English (front matter: number, title,
                                       checklist)
    content/practices/i18n/<lang>/     practices in another language (key, title, summary)

A translation keeps the English file's structure: its sections are matched to the English ones
by position (headings are translated), and everything that is not words (session numbers,
minutes, practice keys) comes from the English file. A translation that is missing or does not
match the English structure is never fatal: that session or practice is shown in English, and
:func:`translation_problems` (``flask content check``) lists it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token

CONTENT_ROOT = Path(__file__).resolve().parent / "content"
PRACTICES_DIR = "practices"
I18N_DIR = "i18n"
SOURCE_LOCALE = "en"
#: The languages course material is translated into (the interface's other languages).
TRANSLATED_LOCALES = ("ja", "zh")

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
    return next((s for s in sections if _normalise_heading(s.key or s.heading) == wanted), None)


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


def _subheadings(markdown: str) -> list[tuple[int, str]]:
    """The ``###`` headings of a section: (token index, text), in order."""
    tokens = _markdown.parse(markdown)
    return [
        (index, tokens[index + 1].content.strip())
        for index, token in enumerate(tokens)
        if token.type == "heading_open" and token.tag == "h3" and token.level == 0
    ]


def _timings(guide: Section, path: Path, position: int | None = None) -> tuple[str, ...]:
    """The items of the ``### Timings`` list inside the facilitator guide.

    A translated guide names the list in its own language, so it is found by ``position``
    among the ``###`` headings (the English guide's position) instead of by name.
    """
    tokens = _markdown.parse(guide.markdown)
    field_name = f"## {SESSION_SECTIONS['facilitator_guide']} / ### {TIMINGS_HEADING}"
    headings = _subheadings(guide.markdown)
    if position is None:
        wanted = _normalise_heading(TIMINGS_HEADING)
        found = [index for index, text in headings if _normalise_heading(text) == wanted]
    else:
        found = [headings[position][0]] if position < len(headings) else []
    if not found:
        raise CatalogueError(path, field_name, "section heading missing")
    start = found[0] + 3

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


# ---------------------------------------------------------------------------------------------
# Translations
# ---------------------------------------------------------------------------------------------


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

    Translations are looked up beside each English file, in ``i18n/<locale>/``. Returns the
    localized catalogue and the problems that made it fall back.
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
    return replace(localized, **words) if words else localized


def _translate_program(english: Program, path: Path, locale: str) -> dict[str, Any]:
    fields = _Fields(_yaml_mapping(_read(path), path, first_line=1), path)
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
        raw = raw_events[event.key]
        if not isinstance(raw, dict):
            raise CatalogueError(path, f"extra_events.{event.key}",
                                 f"must be a mapping, got {_type_name(raw)}")
        event_fields = _Fields(raw, path, prefix=f"extra_events.{event.key}.")
        events.append(replace(event, title=event_fields.string("title"),
                              description=event_fields.string("description")))
        event_fields.no_others()
    return {"name": name, "description": description, "extra_events": tuple(events),
            "locale": locale}


def _translate_session(english: Session, path: Path, practices: Mapping[str, Practice],
                       locale: str) -> Session:
    front, body, body_line = _split_front_matter(_read(path), path)
    fields = _Fields(front, path)
    number = fields.integer("number", minimum=1)
    title = fields.string("title")
    checklist = fields.strings("checklist", allow_empty=False)
    fields.no_others()
    if number != english.number:
        raise CatalogueError(path, "number", f"{number}, but the English file is {english.number}")
    _same_count(path, "checklist", "items", len(checklist), len(english.checklist))

    sections = _matched_sections(english.sections, body, path, body_line)
    guide = _find_section(sections, SESSION_SECTIONS["facilitator_guide"])
    assert guide is not None  # matched by position to the English guide
    english_subheadings = [_normalise_heading(text) for _index, text in
                           _subheadings(english.facilitator_guide.markdown)]
    _same_count(path, f"## {guide.heading}", "'###' headings",
                len(_subheadings(guide.markdown)), len(english_subheadings))
    timings = _timings(guide, path, english_subheadings.index(_normalise_heading(TIMINGS_HEADING)))
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
    front, body, body_line = _split_front_matter(_read(path), path)
    fields = _Fields(front, path)
    key = fields.string("key")
    title = fields.string("title")
    summary = fields.string("summary")
    fields.no_others()
    if key != english.key:
        raise CatalogueError(path, "key", f"{key!r}, but the English file is {english.key!r}")
    sections = _matched_sections(english.sections, body, path, body_line)
    steps = _find_section(sections, PRACTICE_STEPS)
    assert steps is not None  # matched by position to the English steps
    _same_count(path, f"## {steps.heading}", "numbered steps",
                _ordered_items(steps.markdown), _ordered_items(english.steps.markdown))
    return replace(
        english,
        title=title,
        summary=summary,
        steps=steps,
        if_difficult=_find_section(sections, PRACTICE_DIFFICULT),
        sections=sections,
        source=path,
        locale=locale,
    )


def _matched_sections(english: tuple[Section, ...], body: str, path: Path,
                      body_line: int) -> tuple[Section, ...]:
    """The translated ``##`` sections, each keyed by the English heading at its position."""
    sections = _split_sections(body, path, body_line)
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


def _ordered_items(markdown: str) -> int:
    """How many items the first top-level numbered list has."""
    count, inside = 0, False
    for token in _markdown.parse(markdown):
        if token.type == "ordered_list_open" and token.level == 0:
            inside = True
        elif token.type == "ordered_list_close" and token.level == 0:
            break
        elif inside and token.type == "list_item_open" and token.level == 1:
            count += 1
    return count
