"""The interface catalogues: every message of the code translated into Japanese and Chinese.

These fail while translators are catching up with new strings (``make messages`` adds them
empty or fuzzy); the failure lists what is left to translate.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract, extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask_babel import force_locale, gettext

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "translations"
LOCALES = ("ja", "zh")
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None,
            "lazy_pgettext": ((1, "c"), 2),  # labels of stored codes (views/labels.py)
            "pgettext": ((1, "c"), 2),  # a word that means two things (audit vs adverse event)
            "add": (3,)}  # navigation.add(role, endpoint, label): the label is translated
SOURCES = ("app.py", "models", "program", "views", "templates")


def read_catalogue(path: Path) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle)


def ensure_compiled() -> None:
    """Compile each language's .po into the .mo the app reads, when missing or older.

    ``make install`` does this; tests do it too so a plain ``pytest`` sees current catalogues.
    """
    for locale in LOCALES:
        po = TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        temporary = mo.with_suffix(f".{os.getpid()}.tmp")
        with temporary.open("wb") as handle:
            write_mo(handle, read_catalogue(po))
        temporary.replace(mo)  # atomic: parallel test workers never read half a file


def _source_messages() -> set[str]:
    """Every msgid the code and templates pass to gettext, extracted as ``make messages`` does."""
    method_map = [("**.py", "python"), ("**.html", "jinja2"), ("**.txt", "jinja2")]
    found: set[str] = set()
    for source in SOURCES:
        path = ROOT / source
        if path.is_file():
            with path.open("rb") as handle:
                found.update(_msgid(m[2]) for m in extract("python", handle, KEYWORDS))
            continue
        for _file, _line, message, _comments, _context in extract_from_dir(
                path, method_map, keywords=KEYWORDS):
            found.add(_msgid(message))
    return found


def _msgid(message) -> str:
    return message[0] if isinstance(message, tuple) else message


@pytest.fixture(scope="module")
def template() -> Catalog:
    return read_catalogue(TRANSLATIONS / "messages.pot")


def test_messages_pot_holds_every_string_of_the_code(template):
    missing = sorted(_source_messages() - {m.id if isinstance(m.id, str) else m.id[0]
                                            for m in template if m.id})
    assert missing == [], f"run `make messages`: {len(missing)} new strings, e.g. {missing[:5]}"


@pytest.mark.parametrize("locale", LOCALES)
def test_catalogue_translates_every_message(template, locale):
    catalogue = read_catalogue(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po")
    absent = sorted(str(m.id) for m in template  # a label's context is part of its key
                    if m.id and catalogue.get(m.id, context=m.context) is None)
    assert absent == [], f"{locale}: run `make messages`; not in the .po: {absent[:5]}"
    untranslated, fuzzy = [], []
    for message in catalogue:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(strings):
            untranslated.append(str(message.id))
        if message.fuzzy:
            fuzzy.append(str(message.id))
    assert untranslated == [], f"{locale}: {len(untranslated)} untranslated: {untranslated[:5]}"
    assert fuzzy == [], f"{locale}: {len(fuzzy)} fuzzy (to review): {fuzzy[:5]}"


@pytest.mark.parametrize("locale", LOCALES)
def test_translations_keep_every_placeholder(locale):
    catalogue = read_catalogue(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po")
    broken = [f"{message.id!r}: {'; '.join(map(str, errors))}"
              for message, errors in catalogue.check()]
    assert broken == []


def test_the_interface_speaks_the_browsers_language(app, client):
    ensure_compiled()
    with app.test_request_context():
        for locale in LOCALES:
            with force_locale(locale):
                assert gettext("This week") != "This week"
    page = client.get("/auth/sign-in", headers={"Accept-Language": "ja"}).get_data(as_text=True)
    assert '<html lang="ja">' in page
    with app.test_request_context():
        with force_locale("ja"):
            assert gettext("Sign in") in page
