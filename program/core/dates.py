"""Dates and times in the viewer's language: template filters with per-language patterns.

English keeps the house style ("Friday 23 October 2026, 18:00"); other languages use their
CLDR forms ("2026年10月23日金曜日 18:00"), since a fixed English pattern reads as
word salad once its month and weekday names are translated.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel import Locale
from babel import dates as babel_dates
from flask_babel import format_date, format_datetime, get_locale

ENGLISH = {
    "long_datetime": "EEEE d MMMM y, HH:mm",
    "long_date": "EEEE d MMMM y",
    "short_datetime": "EEE dd MMM y HH:mm",
    "short_date": "EEE dd MMM y",
    "day_month": "d MMM",
    "numeric_day_month": "dd/MM",
}
#: CLDR skeletons for the shorter forms in other languages.
SKELETONS = {"short_date": "yMMMEd", "day_month": "MMMd", "numeric_day_month": "Md"}


def pattern(name: str, locale: Locale | str | None = None) -> str:
    """The date pattern called ``name`` (a key of :data:`ENGLISH`) for ``locale``."""
    locale = Locale.parse(str(locale or get_locale() or "en"))
    if locale.language == "en":
        return ENGLISH[name]
    if name in SKELETONS:
        return locale.datetime_skeletons[SKELETONS[name]].pattern
    if name == "long_date":
        return locale.date_formats["full"].pattern
    date_part = pattern("long_date" if name == "long_datetime" else "short_date", locale)
    # {1} is the date and {0} the time in CLDR's date-time glue.
    return locale.datetime_formats["long"].replace("{1}", date_part).replace("{0}", "HH:mm")


def longdatetime(value: datetime | None) -> str:
    """Weekday, date and time in the viewer's time zone and language."""
    return "" if value is None else format_datetime(value, pattern("long_datetime"))


def shortdatetime(value: datetime | None) -> str:
    """Abbreviated weekday, date and time in the viewer's time zone and language: the one
    short form for timestamps in lists (never Babel's numeric US-style "12/4/26, 6:00 PM")."""
    return "" if value is None else format_datetime(value, pattern("short_datetime"))


def longdate(value: date | None) -> str:
    """Weekday and date in the viewer's language."""
    return "" if value is None else format_date(value, pattern("long_date"))


def shortdate(value: date | None) -> str:
    """Abbreviated weekday and date in the viewer's language."""
    return "" if value is None else format_date(value, pattern("short_date"))


def daymonth(value: date | None) -> str:
    """Day and abbreviated month ("23 Nov", "11月23日")."""
    return "" if value is None else format_date(value, pattern("day_month"))


def for_recipient(instant: datetime, locale: str | None, timezone: str | None) -> str:
    """Weekday, date, time and zone name as an email's recipient reads them (their language
    and time zone, not the sender's), e.g. "2026年10月22日木曜日 17:00 日本標準時"."""
    try:
        zone = ZoneInfo(timezone or "UTC")
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    locale = locale or "en"
    return babel_dates.format_datetime(instant, f"{pattern('long_datetime', locale)} zzzz",
                                       tzinfo=zone, locale=locale)


def cohort_time(instant: datetime, zone: str, fmt: str | None = None) -> str:
    """An instant on the cohort's wall clock, in the viewer's language."""
    return babel_dates.format_datetime(instant, fmt or pattern("short_datetime"),
                                       tzinfo=ZoneInfo(zone), locale=str(get_locale() or "en"))


def localtime(value: datetime | None, fmt: str = "medium") -> str:
    """An instant in the viewer's time zone and language, in one of Babel's named formats."""
    return "" if value is None else format_datetime(value, fmt)
