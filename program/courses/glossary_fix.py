"""``flask content fix-glossary``: apply the glossary's safe replacements to a catalogue.

Strings added on other branches arrive with the variants the glossary flags (队列 for a cohort,
会面 for a meeting). Each term may list ``fix`` replacements that are safe to make mechanically;
this edits the ``msgstr`` lines of ``translations/<locale>/LC_MESSAGES/messages.po`` in place,
leaving every other line as it was (no re-wrapping, no re-ordering), so the diff is small.
"""

from __future__ import annotations

import json
from pathlib import Path

from program.courses.glossary import TRANSLATIONS_ROOT, Term, load_glossary


def _unquote(text: str) -> str:
    return json.loads(text.strip())


def fix_text(text: str, terms: list[Term]) -> str:
    for term in terms:
        for old, new in term.fixes:
            text = text.replace(old, new)
    return text


def fix_catalogue(locale: str, translations: Path | None = None) -> int:
    """Apply ``locale``'s glossary fixes to its catalogue; the number of messages changed."""
    root = translations or TRANSLATIONS_ROOT
    terms = [term for term in load_glossary(locale, root) if term.fixes]
    path = root / locale / "LC_MESSAGES" / "messages.po"
    lines = path.read_text(encoding="utf-8").split("\n")
    context, msgid, in_msgid, applicable, changed = None, "", False, [], 0
    for index, line in enumerate(lines):
        if not line.strip():
            context, msgid, applicable = None, "", []
        elif line.startswith("msgctxt "):
            context = _unquote(line[8:])
        elif line.startswith("msgid "):
            msgid, in_msgid = _unquote(line[6:]), True
        elif line.startswith('"') and in_msgid:
            msgid += _unquote(line)
        elif line.startswith("msgstr"):
            in_msgid = False
            applicable = [t for t in terms if t.applies_to_message(msgid, context)]
        if applicable and (line.startswith("msgstr") or (line.startswith('"') and not in_msgid)):
            fixed = fix_text(line, applicable)
            changed += fixed != line
            lines[index] = fixed
    if changed:
        path.write_text("\n".join(lines), encoding="utf-8")
    return changed
