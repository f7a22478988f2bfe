"""Reading a video platform's participant report and matching it to the roster."""

from __future__ import annotations

import pytest

from program.courses.attendance_import import (
    ReportError,
    ReportPerson,
    RosterEntry,
    match_report,
    parse_report,
    status_for,
)

ROSTER = [
    RosterEntry(1, "aiko@example.org", "Aiko Tanaka"),
    RosterEntry(2, "ben@example.org", "Benjamin Okafor"),
    RosterEntry(3, "chen@example.org", "Chen Wei"),
]


def test_rejoins_are_summed_and_minutes_come_from_join_and_leave_times():
    report = ("Name,Email,Join time,Leave time\n"
              "Aiko Tanaka,AIKO@example.org,2026-10-22 18:00:00,2026-10-22 18:40:00\n"
              "Aiko Tanaka,aiko@example.org,2026-10-22 18:45:30,2026-10-22 19:30:30\n"
              "Chen Wei,,10/22/2026 06:05:00 PM,10/22/2026 07:30:00 PM\n")
    people = parse_report(report.encode("utf-8-sig"))
    assert people == [ReportPerson("Aiko Tanaka", "aiko@example.org", 85),
                      ReportPerson("Chen Wei", "", 85)]


def test_a_minutes_column_wins_over_times():
    people = parse_report("Participant,Duration (minutes),Join,Leave\nChen Wei,12,x,y\n")
    assert people == [ReportPerson("Chen Wei", "", 12)]


@pytest.mark.parametrize("report", [
    "Colour,Shape\nred,round\n",  # no name or email
    "Name,Join time\nAiko,2026-10-22 18:00\n",  # no way to tell the minutes
    "Name,Minutes\nAiko,many\n",
    "Name,Join time,Leave time\nAiko,soon,later\n",
])
def test_unreadable_reports_are_refused(report):
    with pytest.raises(ReportError):
        parse_report(report)


def test_exact_email_first_then_a_fuzzy_name_needing_confirmation():
    people = [ReportPerson("Ben O.", "ben@example.org", 90),        # email wins over name
              ReportPerson("okafor benjamin", "", 20),               # Ben is taken by email
              ReportPerson("Tanaka Aiko", "aiko.home@example.net", 80),
              ReportPerson("Zed Unknown", "", 60)]
    matches = match_report(people, ROSTER)
    assert [(m.participant_id, m.how) for m in matches] == [
        (2, "email"), (None, None), (1, "name"), (None, None)]
    assert matches[2].needs_confirmation and not matches[0].needs_confirmation
    assert matches[2].score >= 80


def test_a_name_is_never_matched_to_two_people():
    people = [ReportPerson("Chen Wei", "", 60), ReportPerson("Wei Chen", "", 60)]
    matched = [m.participant_id for m in match_report(people, ROSTER)]
    assert matched == [3, None]


def test_minimum_minutes_rule():
    assert status_for(60, 60) == "present"
    assert status_for(59, 60) == "absent"
