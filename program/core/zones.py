"""Time zones as people read them: IANA names stored, local names shown."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from zoneinfo import available_timezones

from babel.dates import get_timezone_location
from flask_babel import get_locale


@cache
def _zone_names() -> tuple[str, ...]:
    """The zones people choose from: one per place, as IANA's zone.tab lists them, and UTC;
    no legacy aliases (US/Eastern, Japan, Etc/GMT+5) that name the same clocks again."""
    table = resources.files("tzdata.zoneinfo").joinpath("zone.tab").read_text(encoding="utf-8")
    places = {line.split("\t")[2] for line in table.splitlines()
              if line and not line.startswith("#")}
    return tuple(sorted(places & available_timezones())) + ("UTC",)


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


def timezone_choices(current: str | None = None) -> list[tuple[str, str]]:
    """Every place's time zone, labelled in the viewer's language (the value stays the IANA
    name); a ``current`` choice stored under an alias stays on the list, so it can be kept."""
    locale = str(get_locale() or "en")
    choices = _choices(locale)
    if current and current not in _zone_names() and current in available_timezones():
        choices = [(current, zone_label(current, locale)), *choices]
    return choices


def zonename(name: str | None) -> str:
    """A time zone's name in the viewer's language (see :func:`zone_label`)."""
    return zone_label(name, str(get_locale() or "en")) if name else ""
