"""Time zones as people read them: IANA names stored, local names shown."""

from __future__ import annotations

import re
from functools import cache
from zoneinfo import available_timezones

from babel.dates import get_timezone_location
from flask_babel import get_locale


@cache
def _zone_names() -> tuple[str, ...]:
    return tuple(name for name in sorted(available_timezones()) if "/" in name or name == "UTC")


@cache
def zone_label(name: str, locale: str = "en") -> str:
    """A time zone as a reader of ``locale`` names it: CLDR's "日本時間" or "中国（上海）时间";
    the IANA name (Asia/Tokyo) in English and where CLDR has no local name (legacy aliases,
    Etc/GMT+5, zones newer than Babel's data)."""
    english = name.replace("_", " ")
    if locale.split("_")[0] == "en":
        return english
    try:
        local = get_timezone_location(name, locale=locale)
    except LookupError:
        return english
    return english if re.search(r"[A-Za-z]{3}", local) else local


@cache
def _choices(locale: str) -> list[tuple[str, str]]:
    return [(name, zone_label(name, locale)) for name in _zone_names()]


def timezone_choices() -> list[tuple[str, str]]:
    """Every time zone, labelled in the viewer's language (the value stays the IANA name)."""
    return _choices(str(get_locale() or "en"))


def zonename(name: str | None) -> str:
    """A time zone's name in the viewer's language (see :func:`zone_label`)."""
    return zone_label(name, str(get_locale() or "en")) if name else ""
