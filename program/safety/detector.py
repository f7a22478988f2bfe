"""Risk detection over normalised text, from per-language pattern files a study can extend.

Each ``risk_patterns/<language>.yaml`` holds, in this order of use:

``words``, ``replace``, ``rewrite``
    slang, abbreviations and common misspellings turned into one spelling before matching:
    whole words (``kms`` -> ``kill myself``), literal strings (``タヒ`` -> ``死``,
    ``紫砂`` -> ``自杀``) and a few regular expressions (start each with a literal: it is fast);
``triggers``
    literal strings one of which every risk statement contains: only the sentences around
    them are screened, which keeps a 2,000-character post well under a millisecond or two;
``hyperbole``
    everyday idioms ("dead tired", 死ぬほど, 累死了) blanked out so no pattern fires inside them;
``negation``
    a cue just ``before`` (or ``after``, in Japanese) a match that turns it down: a negated
    match alerts at concern level, or not at all when its pattern says ``negated: drop``
    ("I would never kill myself" is a concern, "I don't want to die" is nothing);
``patterns``
    one regular expression each, with the ``family`` it screens for, its ``level``
    (``concern`` or ``urgent``) and ``examples`` it must match (the tests check every one);
``concepts``, ``compositions``
    named word classes (a desire, a death word, a means, a preparation, the self, others) and
    rules that fire when each of their concepts occurs in one sentence, in the order given and
    within ``within`` characters: "desire + death", "means + preparation", "burden + others".
    They catch the many ways of putting one thought that no list of whole phrases anticipates.

Text is normalised first (NFKC, so full-width letters and half-width kana take their usual
form, case-folded, apostrophes dropped); languages written without spaces lose all spacing.
A match names the family, level and pattern, never the words that matched: nothing here logs
or returns the text.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

PATTERNS_DIR = Path(__file__).with_name("risk_patterns")

#: The families clinicians screen for, in the order an alert names them.
FAMILIES = ("plan_preparation", "farewell", "self_harm", "suicidal_thoughts",
            "wish_to_be_dead", "hopelessness_burden")
LEVELS = ("concern", "urgent")
_APOSTROPHES = re.compile("['\u2019\u2018\u02bc\uff07`]")
_SPACING = re.compile(r"[\s\u200b\u200c\u200d\u2060\ufeff]+")
_BLANK = "\u2591"  # stands in for blanked hyperbole: matches no pattern
_WORD = re.compile(r"[a-z0-9]+")
_SENTENCE_END = re.compile(r"[.!?;\n\u3002]+")
_REPEATS = re.compile(r"([a-z])\1{2,}")  # "diiiie", "soooo": three or more of one letter
_LEET = str.maketrans("0134578@$", "oieastbas")
_HIRAGANA = "".join(map(chr, range(0x3041, 0x3097)))
_KATAKANA = "".join(map(chr, range(0x30A1, 0x30F7)))
_TO_KATAKANA = str.maketrans(_HIRAGANA, _KATAKANA)
_TO_HIRAGANA = str.maketrans(_KATAKANA, _HIRAGANA)
_LATIN = re.compile("[a-z]+$")
_ASCII_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyz")
_KANA = re.compile("[\u3041-\u3096\u30a1-\u30fa]")


def _unleet(word: str) -> str:
    """'k1ll' -> 'kill', 'su1c1de' -> 'suicide': digits inside a word that starts with a letter."""
    if word[0].isalpha() and not word.isalpha():
        return word.translate(_LEET)
    return word


def _literal_trie(literals) -> str:
    """One regular expression finding any of the literals, shared prefixes factored out.

    Python tries an alternation's branches one by one; as a trie it tries each character once,
    which makes looking for some 300 triggers ten times faster.
    """
    trie: dict = {}
    for literal in literals:
        node = trie
        for char in literal:
            node = node.setdefault(char, {})
        node[""] = {}

    def branch(node: dict) -> str:
        alternatives = [re.escape(char) + branch(child)
                        for char, child in sorted(node.items()) if char]
        if not alternatives:
            return ""
        body = f"(?:{'|'.join(alternatives)})"
        return body + "?" if "" in node else body

    return branch(trie)


def _inside_latin_word(text: str, m: re.Match[str]) -> bool:
    """A Latin trigger of Japanese or Chinese ("od") inside an English word ("good")."""
    start, end = m.span()
    return bool(_LATIN.match(m.group())) and (
        (start > 0 and text[start - 1] in _ASCII_LETTERS)
        or (end < len(text) and text[end] in _ASCII_LETTERS))


def _literal_starts(source: str) -> list[str]:
    """The literal text each top-level alternative of a regular expression starts with.

    Every match of the alternative contains it, so it can serve as a trigger: a concept's words
    need not be listed twice. An alternative that starts with a group or a class gives "".
    """
    starts, current, depth, i, at_start = [], "", 0, 0, True
    while i < len(source):
        char = source[i]
        if char == "\\":
            escaped = source[i + 1:i + 2]
            if depth == 0 and at_start and not escaped.isalnum():
                current += escaped
            else:
                at_start = False
            i += 2
            continue
        if char in "([":
            if depth == 0 and at_start:
                at_start = False
            depth += 1 if char == "(" else 0
            if char == "[":
                i = source.index("]", i + 1)
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            starts.append(current)
            current, at_start = "", True
        elif depth == 0 and at_start:
            if char in "?*{":
                current, at_start = current[:-1], False
            elif char in "+.^$":
                at_start = False
            else:
                current += char
        i += 1
    starts.append(current)
    return starts


def _kana_variants(literal: str) -> set[str]:
    """The literal in hiragana and in katakana too (しにたい, シニタイ), as people write both.

    Two-character literals keep their one spelling: タヒ as たひ would turn またひとつ into 死.
    """
    if len(literal) < 3:
        return {literal}
    return {literal, literal.translate(_TO_KATAKANA), literal.translate(_TO_HIRAGANA)}


class PatternFileError(ValueError):
    """A risk pattern file that cannot be used (names the file and the entry)."""


@dataclass(frozen=True)
class RiskMatch:
    """One statement of risk: what kind, how pressing, and which pattern found it."""

    family: str
    level: str
    pattern: str  #: "<language>:<pattern id>"

    @property
    def urgent(self) -> bool:
        return self.level == "urgent"


@dataclass(frozen=True)
class Pattern:
    id: str
    family: str
    level: str
    regex: str
    negated: str  #: "concern" or "drop"
    examples: tuple[str, ...]


@dataclass(frozen=True)
class Composition:
    """A rule over concepts: each must occur in one sentence, in order, close together."""

    id: str
    family: str
    level: str
    concepts: tuple[str, ...]
    within: int  #: characters from the first concept's start to the last one's end
    negated: str
    examples: tuple[str, ...]
    one_clause: bool = True  #: False: may reach across the file's clause marks (farewells)

    @property
    def regex(self) -> str:
        """How the review page shows the rule."""
        return f"{' … '.join(f'<{c}>' for c in self.concepts)}  (≤ {self.within})"


def _first_chain(spans: list[list[tuple[int, int]]], within: int) -> tuple[int, int] | None:
    """The first (start, end) where one span of each list follows the previous, all within."""
    for start, end in spans[0]:
        for following in spans[1:]:
            end = next((e for s, e in following if s >= end), -1)
            if end < 0:
                break
        else:
            if end - start <= within:
                return start, end
    return None


@dataclass(frozen=True)
class LanguageRules:
    language: str
    spaced: bool
    words: dict[str, str]
    characters: dict[int, str]  #: one character for another (traditional -> simplified)
    replacements: tuple[tuple[str, str], ...]
    short_latin: re.Pattern[str] | None  #: "rsk", "zc": replaced only as words of their own
    short_latin_table: dict[str, str]
    rewrites: tuple[tuple[re.Pattern[str], str], ...]
    triggers: tuple[str, ...]
    trigger_scan: re.Pattern[str]
    hyperbole: re.Pattern[str] | None
    negation_before: re.Pattern[str] | None
    negation_after: re.Pattern[str] | None
    patterns: tuple[Pattern, ...]
    combined: re.Pattern[str]  #: every pattern in one scan, without groups (it is faster)
    singles: tuple[tuple[int, re.Pattern[str]], ...]  #: (pattern index, regex), urgent first
    concepts: dict[str, re.Pattern[str]]
    compositions: tuple[Composition, ...]
    clause_marks: str  #: a composition does not reach across these (Japanese 、)

    def prepare(self, normalised: str) -> str:
        """The normalised text in one spelling (slang, misspellings), unspaced if need be."""
        if self.short_latin is not None:  # before spacing goes: "neighbours kid" is no "rsk"
            normalised = self.short_latin.sub(lambda m: self.short_latin_table[m.group()],
                                              normalised)
        text = normalised if self.spaced else _SPACING.sub("", normalised)
        if self.characters and not _KANA.search(text):  # kana: Japanese, not traditional Chinese
            text = text.translate(self.characters)
        if self.spaced:
            text = _REPEATS.sub(r"\1", text)
        if self.words:
            text = _WORD.sub(lambda m: self.words.get(_unleet(m.group()), _unleet(m.group())),
                             text)
        for literal, replacement in self.replacements:
            if literal in text:
                text = text.replace(literal, replacement)
        for regex, replacement in self.rewrites:
            text = regex.sub(replacement, text)
        return text

    def windows(self, text: str) -> list[tuple[int, int]]:
        """Spans to screen: each sentence holding a trigger (adjacent ones run together)."""
        present = [m.start() for m in self.trigger_scan.finditer(text)
                   if self.spaced or not _inside_latin_word(text, m)]
        if not present:
            return []
        ends = [m.end() for m in _SENTENCE_END.finditer(text)]
        spans = []
        for at in present:
            i = bisect.bisect_right(ends, at)
            start = ends[i - 1] if i >= 1 else 0
            spans.append((start, ends[i] if i < len(ends) else len(text)))
        merged = [spans[0]]
        for start, end in spans[1:]:
            if start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
            else:
                merged.append((start, end))
        return merged

    def negated(self, text: str, start: int, end: int) -> bool:
        if (self.negation_before is not None
                and self.negation_before.search(text, max(0, start - 40), start)):
            return True
        return bool(self.negation_after is not None
                    and self.negation_after.match(text, end))

    def matches(self, normalised: str) -> list[RiskMatch]:
        text = self.prepare(normalised)
        found = []
        for start, end in self.windows(text):
            window = text[start:end]
            if self.hyperbole is not None:
                window = self.hyperbole.sub(lambda m: _BLANK * len(m.group()), window)
            for m in self.combined.finditer(window):
                index = next((i for i, regex in self.singles if regex.match(window, m.start())),
                             None)
                if index is None:  # cannot happen: the scan is the patterns joined in order
                    continue
                pattern = self.patterns[index]
                level = pattern.level
                if self.negated(window, m.start(), m.end()):
                    if pattern.negated == "drop":
                        continue
                    level = "concern"
                found.append(RiskMatch(pattern.family, level, f"{self.language}:{pattern.id}"))
            found.extend(self._composed(window))
        return found

    def _composed(self, window: str) -> list[RiskMatch]:
        if not self.compositions:
            return []
        spans: dict[str, list[tuple[int, int]]] = {}
        found = []
        for rule in self.compositions:
            chain = []
            for concept in rule.concepts:
                if concept not in spans:
                    spans[concept] = [m.span() for m in self.concepts[concept].finditer(window)]
                if not spans[concept]:
                    break
                chain.append(spans[concept])
            else:
                at = _first_chain(chain, rule.within)
                if at is None or (rule.one_clause and any(
                        mark in window[at[0]:at[1]] for mark in self.clause_marks)):
                    continue
                level = rule.level
                if self.negated(window, *at):
                    if rule.negated == "drop":
                        continue
                    level = "concern"
                found.append(RiskMatch(rule.family, level, f"{self.language}:{rule.id}"))
        return found


def normalise(text: str) -> str:
    """NFKC (width folding), case-folded, apostrophes dropped, whitespace runs as one space."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return _SPACING.sub(" ", _APOSTROPHES.sub("", text)).strip()


def pattern_languages() -> tuple[str, ...]:
    """Languages that have a pattern file, e.g. ('en', 'ja', 'zh')."""
    return tuple(sorted(p.stem for p in PATTERNS_DIR.glob("*.yaml")))


def _compile(where: str, source: str, flags: int = 0) -> re.Pattern[str]:
    try:
        return re.compile(source, flags)
    except re.error as exc:
        raise PatternFileError(f"{where}: {exc}") from None


def _pattern(where: str, entry: dict) -> Pattern:
    if not isinstance(entry, dict) or not {"id", "family", "level", "regex"} <= entry.keys():
        raise PatternFileError(f"{where}: needs id, family, level and regex")
    if entry["family"] not in FAMILIES or entry["level"] not in LEVELS:
        raise PatternFileError(f"{where}: unknown family or level")
    negated = entry.get("negated", "concern")
    if negated not in ("concern", "drop"):
        raise PatternFileError(f"{where}: negated must be concern or drop")
    _compile(where, entry["regex"])
    return Pattern(str(entry["id"]), entry["family"], entry["level"], entry["regex"], negated,
                   tuple(entry.get("examples") or ()))


def _composition(where: str, entry: dict, concepts: dict) -> Composition:
    if not isinstance(entry, dict) or not {"id", "family", "level", "concepts"} <= entry.keys():
        raise PatternFileError(f"{where}: needs id, family, level and concepts")
    if entry["family"] not in FAMILIES or entry["level"] not in LEVELS:
        raise PatternFileError(f"{where}: unknown family or level")
    unknown = [c for c in entry["concepts"] if c not in concepts]
    if unknown or len(entry["concepts"]) < 2:
        raise PatternFileError(f"{where}: needs two or more known concepts ({unknown})")
    negated = entry.get("negated", "concern")
    if negated not in ("concern", "drop"):
        raise PatternFileError(f"{where}: negated must be concern or drop")
    return Composition(str(entry["id"]), entry["family"], entry["level"],
                       tuple(entry["concepts"]), int(entry.get("within", 60)), negated,
                       tuple(entry.get("examples") or ()), bool(entry.get("one_clause", True)))


def _alternation(sources: list[str]) -> str:
    return "|".join(f"(?:{s})" for s in sources)


@cache
def rules(language: str) -> LanguageRules:
    """The parsed and compiled rules of one language (PatternFileError names any fault)."""
    path = PATTERNS_DIR / f"{language}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    spaced = bool(data.get("spaced", True))
    patterns = tuple(_pattern(f"{path.name}: pattern {i + 1}", entry)
                     for i, entry in enumerate(data.get("patterns") or ()))
    if not patterns:
        raise PatternFileError(f"{path.name}: no patterns")
    edge = "(?<![a-z0-9])(?:{})(?![a-z0-9])" if spaced else "(?:{})"
    concepts = {name: _compile(f"{path.name}: concept {name}", edge.format(_alternation(
        source if isinstance(source, list) else [source])))
        for name, source in (data.get("concepts") or {}).items()}
    compositions = tuple(_composition(f"{path.name}: composition {i + 1}", entry, concepts)
                         for i, entry in enumerate(data.get("compositions") or ()))
    ids = [p.id for p in patterns] + [c.id for c in compositions]
    if len(set(ids)) != len(ids):
        raise PatternFileError(f"{path.name}: pattern ids must be unique")
    rewrites = tuple((_compile(f"{path.name}: rewrite {r['from']!r}", r["from"]), r["to"])
                     for r in data.get("rewrite") or ())
    def key(literal) -> str:
        return normalise(str(literal)) if spaced else _SPACING.sub("", normalise(str(literal)))

    replacements = tuple(sorted({(variant, str(v))
                                 for k, v in (data.get("replace") or {}).items()
                                 for variant in _kana_variants(key(k))},
                                key=lambda pair: (-len(pair[0]), pair[0])))
    short = {k: v for k, v in replacements if not spaced and len(k) <= 3 and _LATIN.match(k)}
    replacements = tuple(pair for pair in replacements if pair[0] not in short)
    triggers = tuple(key(t) for t in data.get("triggers") or ())
    # each concept's words are triggers too (Latin from four letters, CJK from two characters)
    triggers += tuple(sorted({
        key(start) for source in (data.get("concepts") or {}).values()
        for start in _literal_starts(source if isinstance(source, str) else "|".join(source))
        if len(key(start)) >= (4 if start.isascii() else 2)} - set(triggers)))
    if not triggers:
        raise PatternFileError(f"{path.name}: no triggers")
    hyperbole = data.get("hyperbole") or []
    negation = data.get("negation") or {}
    # urgent first, so where two patterns start at one place the stronger one is reported
    order = sorted(range(len(patterns)), key=lambda i: patterns[i].level != "urgent")
    combined = edge.format("|".join(f"(?:{patterns[i].regex})" for i in order))
    singles = tuple((i, _compile(f"{path.name}: {patterns[i].id}", edge.format(patterns[i].regex)))
                    for i in order)
    return LanguageRules(
        language=language,
        spaced=spaced,
        words={normalise(k): v for k, v in (data.get("words") or {}).items()},
        characters=str.maketrans(data.get("characters") or {}),
        replacements=replacements,
        short_latin=_compile(f"{path.name}: replace", "(?<![a-z0-9])(?:{})(?![a-z0-9])".format(
            "|".join(map(re.escape, sorted(short, key=len, reverse=True))))) if short else None,
        short_latin_table=short,
        rewrites=rewrites,
        triggers=triggers,
        trigger_scan=_compile(f"{path.name}: triggers", _literal_trie(triggers)),
        hyperbole=_compile(f"{path.name}: hyperbole", _alternation(hyperbole)) if hyperbole
        else None,
        negation_before=_compile(f"{path.name}: negation before", negation["before"])
        if negation.get("before") else None,
        negation_after=_compile(f"{path.name}: negation after", negation["after"])
        if negation.get("after") else None,
        patterns=patterns,
        combined=_compile(f"{path.name}: patterns", combined),
        singles=singles,
        concepts=concepts,
        compositions=compositions,
        clause_marks=str(data.get("clause_marks") or ""),
    )


def detect(text: str | None, languages: tuple[str, ...] | None = None) -> list[RiskMatch]:
    """Every risk statement found in ``text``, at most one per family: its highest level.

    All languages are used unless ``languages`` limits them: people write in more than one.
    """
    if not text:
        return []
    normalised = normalise(text)
    best: dict[str, RiskMatch] = {}
    for language in languages or pattern_languages():
        for match in rules(language).matches(normalised):
            held = best.get(match.family)
            if held is None or (match.urgent and not held.urgent):
                best[match.family] = match
    return sorted(best.values(), key=lambda m: (not m.urgent, FAMILIES.index(m.family)))


def catalogue() -> list[tuple[str, list[tuple[str, list[Pattern | Composition]]]]]:
    """Every shipped pattern and composition by language, then by family (for review)."""
    shelves = []
    for language in pattern_languages():
        patterns = (*rules(language).patterns, *rules(language).compositions)
        shelves.append((language, [(family, [p for p in patterns if p.family == family])
                                   for family in FAMILIES
                                   if any(p.family == family for p in patterns)]))
    return shelves
