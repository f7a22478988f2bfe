"""One term per concept: the translators' glossaries, and where the course or the interface strays.

``translations/glossary/<locale>.yaml`` lists, for each concept, the preferred term and the
variants that must not be used for it, and where the rule applies::

    terms:
      - concept: compassion            # what the entry is about (English)
        preferred: 思いやり             # the one term to use
        first_mention: 思いやり（コンパッション）   # optional: how the first mention reads
        variants: [コンパッション]         # terms flagged wherever the rule applies
        allow: [セルフ・コンパッション]     # phrases that contain a variant and are fine
        once: [思いやり（コンパッション）]     # phrases allowed at most once per text
        where: [course, catalogue]     # course text and/or the interface catalogue
        programs: [cft]                # course text: only these programs (default: all)
        msgid: "\\bsetup\\b"           # catalogue: only messages whose English matches
        msgctxt: "audit log"           # catalogue: only messages with this context
        fix: {コンパッション: 思いやり}   # catalogue: safe replacements, applied by
                                       # `flask content fix-glossary` (longest first)
        note: "why, for translators"

Course text is a program's translated sessions and program.yaml, and the translated practice
cards its sessions assign (a practice shared by two programs follows both programs' rules).
The catalogue is the ``msgstr`` of ``translations/<locale>/LC_MESSAGES/messages.po``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from babel.messages.pofile import read_po

from program.courses.content import Catalogue, CatalogueError
from program.courses.files import field_reader, read_text, yaml_mapping
from program.courses.translation import I18N_DIR

TRANSLATIONS_ROOT = Path(__file__).resolve().parents[2] / "translations"
GLOSSARY_DIR = "glossary"
WHERE = ("course", "catalogue")


@dataclass(frozen=True)
class Term:
    """One concept's rule in one language."""

    concept: str
    preferred: str
    variants: tuple[str, ...]
    allow: tuple[str, ...] = ()
    once: tuple[str, ...] = ()
    where: tuple[str, ...] = WHERE
    programs: tuple[str, ...] = ()
    msgid: str = ""
    msgctxt: str = ""
    fixes: tuple[tuple[str, str], ...] = ()

    def applies_to_course(self, programs: Iterable[str]) -> bool:
        return "course" in self.where and (
            not self.programs or bool(set(self.programs) & set(programs)))

    def applies_to_message(self, msgid: str, msgctxt: str | None) -> bool:
        return ("catalogue" in self.where
                and (not self.msgctxt or self.msgctxt == (msgctxt or ""))
                and (not self.msgid or re.search(self.msgid, msgid, re.IGNORECASE) is not None))


@dataclass(frozen=True)
class GlossaryProblem:
    """A variant term (or a repeated first mention) found in a text the glossary covers."""

    locale: str
    #: "file.md:12" for course text, 'msgid "Setup"' for the catalogue.
    place: str
    concept: str
    found: str
    preferred: str

    def __str__(self) -> str:
        return (f"{self.locale}: glossary: {self.place}: {self.found!r} for {self.concept!r}, "
                f"use {self.preferred!r}")


def glossary_path(locale: str, translations: Path | None = None) -> Path:
    return (translations or TRANSLATIONS_ROOT) / GLOSSARY_DIR / f"{locale}.yaml"


def load_glossary(locale: str, translations: Path | None = None) -> tuple[Term, ...]:
    """The terms of ``locale``'s glossary; a malformed glossary raises ``CatalogueError``."""
    path = glossary_path(locale, translations)
    if not path.is_file():
        raise CatalogueError(path, "glossary", "file not found")
    fields = field_reader(yaml_mapping(read_text(path), path, first_line=1), path)
    raw_terms = fields.get("terms", list)
    fields.no_others()
    return tuple(_term(fields.at(raw, f"terms[{index}]")) for index, raw in enumerate(raw_terms))


def _term(fields) -> Term:
    def strings(name: str) -> tuple[str, ...]:
        return tuple(fields.strings(name, allow_empty=True)) if name in fields.data else ()

    term = Term(
        concept=fields.string("concept"),
        preferred=fields.string("preferred"),
        variants=strings("variants"),
        allow=strings("allow"),
        once=strings("once"),
        where=strings("where") or WHERE,
        programs=strings("programs"),
        msgid=fields.string("msgid") if "msgid" in fields.data else "",
        msgctxt=fields.string("msgctxt") if "msgctxt" in fields.data else "",
        fixes=tuple(sorted(((str(old), str(new)) for old, new in
                            fields.get("fix", dict, default={}).items()),
                           key=lambda pair: len(pair[0]), reverse=True)),
    )
    for name in ("first_mention", "note"):
        if name in fields.data:
            fields.string(name)
    fields.no_others()
    unknown = sorted(set(term.where) - set(WHERE))
    if unknown:
        raise fields.error("where", f"unknown {unknown}; use {list(WHERE)}")
    return term


def text_problems(text: str, terms: Iterable[Term], locale: str, place: str) -> list[
        GlossaryProblem]:
    """Every variant of ``terms`` in ``text`` (outside allowed phrases), by line."""
    problems = []
    for term in terms:
        for number, line in enumerate(text.splitlines(), start=1):
            cleared = line
            for phrase in sorted(term.allow + term.once, key=len, reverse=True):
                cleared = cleared.replace(phrase, "\0")
            problems.extend(GlossaryProblem(locale, f"{place}:{number}", term.concept, variant,
                                            term.preferred)
                            for variant in term.variants if variant in cleared)
        problems.extend(GlossaryProblem(locale, place, term.concept, f"{phrase} (more than once)",
                                        term.preferred)
                        for phrase in term.once if text.count(phrase) > 1)
    return problems


def course_texts(english: Catalogue, locale: str) -> Iterator[tuple[Path, tuple[str, ...]]]:
    """Every translated course file in ``locale``, with the programs whose rules apply to it."""
    users: dict[str, set[str]] = {}
    for program in english.programs.values():
        for session in program.sessions:
            for key in session.practice_keys:
                users.setdefault(key, set()).add(program.key)
        directory = program.source.parent / I18N_DIR / locale
        for path in sorted(directory.glob("*")):
            if path.suffix in (".md", ".yaml"):
                yield path, (program.key,)
    for key, practice in sorted(english.practices.items()):
        path = practice.source.parent / I18N_DIR / locale / practice.source.name
        if path.is_file():
            yield path, tuple(sorted(users.get(key, ())))


def catalogue_messages(locale: str, translations: Path | None = None) -> Iterator[
        tuple[str, str | None, str]]:
    """``(msgid, msgctxt, msgstr)`` of every translated message of ``locale``'s catalogue."""
    path = (translations or TRANSLATIONS_ROOT) / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        catalogue = read_po(handle)
    for message in catalogue:
        if not message.id:
            continue
        msgid = message.id if isinstance(message.id, str) else message.id[0]
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        yield msgid, message.context, "\n".join(s for s in strings if s)


def glossary_problems(english: Catalogue, locales: Iterable[str],
                      translations: Path | None = None) -> list[GlossaryProblem]:
    """Every variant term in the course text and the interface catalogue of ``locales``."""
    problems: list[GlossaryProblem] = []
    for locale in locales:
        terms = load_glossary(locale, translations)
        for path, programs in course_texts(english, locale):
            applicable = [t for t in terms if t.applies_to_course(programs)]
            place = "/".join(path.parts[-4:])
            problems.extend(text_problems(read_text(path), applicable, locale, place))
        for msgid, msgctxt, msgstr in catalogue_messages(locale, translations):
            applicable = [t for t in terms if t.applies_to_message(msgid, msgctxt)]
            place = f"msgid {msgid[:60]!r}" + (f" (context {msgctxt!r})" if msgctxt else "")
            problems.extend(
                GlossaryProblem(p.locale, place, p.concept, p.found, p.preferred)
                for p in text_problems(msgstr, applicable, locale, place))
    return problems


def preferred_terms(locale: str, translations: Path | None = None) -> Mapping[str, str]:
    """Concept → preferred term, for translators' tools and tests."""
    return {term.concept: term.preferred for term in load_glossary(locale, translations)}
