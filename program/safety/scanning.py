"""Screening free text for self-harm and suicide language, from phrase lists kept as data.

Each ``risk_phrases/<language>.txt`` holds one phrase a line. Text and phrases are compared
after NFKC normalisation (full-width letters and half-width kana become their usual forms) and
case folding. In languages written with spaces between words a phrase must stand as whole
words, and a space or hyphen inside it matches any run of spaces or hyphens, or none; in
languages written without spaces (Japanese, Chinese) all spacing is ignored.

A match only names the rule that fired (``risk-phrases:ja``); the text is never logged.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import cache
from pathlib import Path

PHRASES_DIR = Path(__file__).with_name("risk_phrases")
#: languages written without spaces between words: spacing is ignored entirely
UNSPACED = frozenset({"ja", "zh"})
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\uff07": "'"})
_SPACING = re.compile(r"[\s\u200b\u200c\u200d\u2060\ufeff]+")


def normalise(text: str) -> str:
    """NFKC, case-folded, one kind of apostrophe, runs of whitespace as one space."""
    text = unicodedata.normalize("NFKC", text).casefold().translate(_APOSTROPHES)
    return _SPACING.sub(" ", text).strip()


def shipped_languages() -> tuple[str, ...]:
    """Language codes that have a phrase list, e.g. ('en', 'ja', 'zh')."""
    return tuple(sorted(p.stem for p in PHRASES_DIR.glob("*.txt")))


def read_phrases(language: str) -> list[str]:
    """The normalised phrases of one language (comments and blank lines skipped)."""
    path = PHRASES_DIR / f"{language}.txt"
    lines = path.read_text(encoding="utf-8").splitlines()
    return [normalise(line) for line in lines if line.strip() and not line.lstrip().startswith("#")]


@cache
def _pattern(language: str) -> re.Pattern[str]:
    phrases = read_phrases(language)
    if not phrases:
        raise ValueError(f"risk phrase list {language!r} is empty")
    if language in UNSPACED:
        alternatives = [re.escape(_SPACING.sub("", p)) for p in phrases]
        return re.compile("|".join(sorted(alternatives, key=len, reverse=True)))
    alternatives = [
        r"[\s\-]*".join(re.escape(part) for part in re.split(r"[\s\-]+", p) if part)
        for p in phrases
    ]
    body = "|".join(sorted(alternatives, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{body})(?!\w)")


def scan_for_risk(text: str | None, languages: Iterable[str] | None = None) -> str | None:
    """The rule that fires on ``text`` (``risk-phrases:<language>``), or None.

    Parameters
    ----------
    text
        Free text as written: a post, a practice-log note, a questionnaire comment.
    languages
        Phrase lists to use; all shipped languages when None (people often write in more
        than one language, so a group's language is not a safe filter).
    """
    if not text:
        return None
    normalised = normalise(text)
    for language in languages or shipped_languages():
        haystack = _SPACING.sub("", normalised) if language in UNSPACED else normalised
        if _pattern(language).search(haystack):
            return f"risk-phrases:{language}"
    return None
