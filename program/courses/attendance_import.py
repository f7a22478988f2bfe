"""Attendance from a video platform's participant report (CSV).

The report has a row per join (people who drop out and rejoin appear more than once) with a
name or an email, join and leave times, and minutes. Rows are summed per person and matched to
the cohort's roster: an exact email match is trusted; otherwise the closest display name is
proposed (rapidfuzz) and a facilitator confirms it. Minutes are kept as the dose; whether that
counts as present follows the cohort's minimum-minutes rule.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime

from rapidfuzz import fuzz, process, utils

#: a fuzzy name match below this score (0-100) is not proposed at all
NAME_MATCH_CUTOFF = 80
MAX_ROWS = 5000

_HEADERS = {
    "email": ("email", "e-mail", "user email", "mail"),
    "name": ("name", "display name", "participant", "user name", "full name"),
    "join": ("join", "joined", "join time", "start"),
    "leave": ("leave", "left", "leave time", "end"),
    "minutes": ("minutes", "duration", "duration (minutes)", "time in meeting"),
}


class ReportError(ValueError):
    """The file is not a participant report we can read."""


@dataclass(frozen=True)
class RosterEntry:
    participant_id: int
    email: str
    name: str


@dataclass(frozen=True)
class ReportPerson:
    """One person in the report, their rows summed."""

    name: str
    email: str
    minutes: int


@dataclass(frozen=True)
class Match:
    person: ReportPerson
    participant_id: int | None
    how: str | None  #: "email", "name" (needs confirmation) or None
    score: float = 0.0

    @property
    def needs_confirmation(self) -> bool:
        return self.how == "name"


def _column(fieldnames: list[str], kind: str) -> str | None:
    normalised = {name: name.strip().lower() for name in fieldnames}
    for name, low in normalised.items():
        if low in _HEADERS[kind]:
            return name
    for name, low in normalised.items():  # e.g. "Name (original name)", "Join time (UTC)"
        if any(low.startswith(word) for word in _HEADERS[kind]):
            return name
    return None


def _parse_time(text: str) -> datetime | None:
    text = (text or "").strip()
    for pattern in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S",
                    "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M:%S", "%d/%m/%Y %H:%M:%S",
                    "%d/%m/%Y %H:%M"):
        try:
            return datetime.strptime(text, pattern)
        except ValueError:
            continue
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _minutes(row: dict, columns: dict[str, str | None]) -> int:
    if columns["minutes"] and (row.get(columns["minutes"]) or "").strip():
        try:
            return max(0, round(float(row[columns["minutes"]].strip().replace(",", "."))))
        except (ValueError, OverflowError):  # not a number, or infinite
            raise ReportError(f"minutes {row[columns['minutes']]!r} is not a number") from None
    joined = _parse_time(row.get(columns["join"] or "", ""))
    left = _parse_time(row.get(columns["leave"] or "", ""))
    if joined is None or left is None:
        raise ReportError("a row has neither minutes nor readable join and leave times")
    return max(0, round((left - joined).total_seconds() / 60))


def parse_report(data: bytes | str) -> list[ReportPerson]:
    """Read the CSV and sum the minutes of each person (by email, else by name).

    Raises
    ------
    ReportError
        When the file has no name/email column or no way to tell the minutes.
    """
    text = data.decode("utf-8-sig", errors="replace") if isinstance(data, bytes) else data
    try:
        return _read_report(csv.DictReader(io.StringIO(text, newline="")))
    except csv.Error as exc:  # e.g. a stray carriage return inside a field
        raise ReportError(f"the file is not a CSV report ({exc})") from exc


def _read_report(reader: csv.DictReader) -> list[ReportPerson]:
    fieldnames = reader.fieldnames or []
    columns = {kind: _column(fieldnames, kind) for kind in _HEADERS}
    if not columns["email"] and not columns["name"]:
        raise ReportError("the report needs a name or an email column")
    if not columns["minutes"] and not (columns["join"] and columns["leave"]):
        raise ReportError("the report needs a minutes column or join and leave times")
    people: dict[str, list] = {}
    for count, row in enumerate(reader):
        if count >= MAX_ROWS:
            raise ReportError(f"the report has more than {MAX_ROWS} rows")
        email = (row.get(columns["email"] or "") or "").strip().lower()
        name = " ".join((row.get(columns["name"] or "") or "").split())
        if not email and not name:
            continue
        key = email or f"name:{name.casefold()}"
        entry = people.setdefault(key, [name, email, 0])
        entry[0] = entry[0] or name
        entry[2] += _minutes(row, columns)
    return [ReportPerson(name=n, email=e, minutes=m) for n, e, m in people.values()]


def match_report(people: list[ReportPerson], roster: list[RosterEntry]) -> list[Match]:
    """Exact email matches first; then each remaining person's closest unclaimed name."""
    by_email = {entry.email.lower(): entry for entry in roster}
    claimed: set[int] = set()
    matches: dict[int, Match] = {}
    for i, person in enumerate(people):
        entry = by_email.get(person.email) if person.email else None
        if entry is not None and entry.participant_id not in claimed:
            claimed.add(entry.participant_id)
            matches[i] = Match(person, entry.participant_id, "email", 100.0)
    for i, person in enumerate(people):
        if i in matches:
            continue
        candidates = {e.participant_id: e.name for e in roster if e.participant_id not in claimed}
        found = None
        if person.name and candidates:
            found = process.extractOne(person.name, candidates, scorer=fuzz.token_sort_ratio,
                                       processor=utils.default_process,
                                       score_cutoff=NAME_MATCH_CUTOFF)
        if found is None:
            matches[i] = Match(person, None, None)
        else:
            _name, score, participant_id = found
            claimed.add(participant_id)
            matches[i] = Match(person, participant_id, "name", float(score))
    return [matches[i] for i in range(len(people))]


def status_for(minutes: int, min_minutes_present: int) -> str:
    """The cohort's rule: present from its minimum minutes on, otherwise absent."""
    return "present" if minutes >= min_minutes_present else "absent"
