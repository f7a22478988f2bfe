"""A facilitator's calendar is a calendar: month and week views of every cohort they
facilitate, in their own time zone; "Actual" times only for meetings that were held."""

from __future__ import annotations

import re

import pytest

from models import Meeting, db
from tests.factories import gen_cohort
from tests.factories_delivery import gen_course, utc
from tests.fixtures_delivery import frozen_clock, long_sign_in_config  # noqa: F401


@pytest.fixture
def clock_start():
    return utc(2026, 10, 30, 9)


@pytest.fixture
def course(app, clock):
    course = gen_course("msc")  # Thursdays 18:00 London from 15 Oct 2026, with a retreat
    course.facilitator.timezone = "Europe/London"
    db.session.commit()
    return course


def _cells(page):
    """Month cells: day -> text of its entries."""
    cells = re.findall(r'<time class="cal-day" datetime="([\d-]+)">.*?</time>(.*?)</td>',
                       page, re.S)
    return {day: re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)).strip()
            for day, body in cells}


def test_the_month_view_lays_out_meetings_on_their_days(course, as_user):
    db.session.add(Meeting(cohort_id=course.cohort.id, session_number=3, outcome="cancelled",
                           checklist_done=[]))
    db.session.add(Meeting(cohort_id=course.cohort.id, session_number=1, outcome="held",
                           checklist_done=[]))
    db.session.commit()
    page = as_user(course.facilitator).get("/facilitate/calendar?view=month&on=2026-10-01")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "October 2026" in text
    cells = _cells(text)
    assert list(cells)[0] == "2026-09-28" and len(cells) == 35  # Monday-first weeks
    assert cells["2026-10-15"].startswith("18:00 Session 1") and "held" in cells["2026-10-15"]
    assert "Session 2" in cells["2026-10-22"] and "held" not in cells["2026-10-22"]
    assert "cancelled" in cells["2026-10-29"]
    assert cells["2026-10-16"] == ""
    assert 'aria-current="date"' in text and 'scope="col"' in text
    assert "/facilitate/calendar?view=month&amp;on=2026-11-01" in text  # next month


def test_the_week_view_shows_seven_days_in_the_viewers_time_zone(course, as_user):
    course.facilitator.timezone = "Asia/Tokyo"
    db.session.commit()
    page = as_user(course.facilitator).get(
        "/facilitate/calendar?view=week&on=2026-10-21").get_data(as_text=True)
    rows = re.findall(r'<th scope="row">(\w+)<br>.*?</th>\s*<td>(.*?)</td>', page, re.S)
    assert [day for day, _ in rows] == ["Monday", "Tuesday", "Wednesday", "Thursday",
                                        "Friday", "Saturday", "Sunday"]
    # Thursday 18:00 in London is Friday 02:00 in Tokyo
    assert "Session 2" in rows[4][1] and "02:00" in rows[4][1]
    assert "Nothing planned" in rows[3][1]


def test_the_calendar_shows_every_cohort_of_the_facilitator_and_no_other(course, as_user):
    second = gen_cohort(course.study, start_date=course.cohort.start_date, name="Spring group",
                        facilitators=[course.facilitator])
    gen_course("cft")  # someone else's cohort
    page = as_user(course.facilitator).get(
        "/facilitate/calendar?view=month&on=2026-10-15").get_data(as_text=True)
    cells = _cells(page)
    assert course.cohort.name in cells["2026-10-15"] and second.name in cells["2026-10-15"]
    assert len(re.findall(r"Session 1\b", page)) == 2


@pytest.mark.parametrize("query", ["?view=year", "?on=not-a-date", "?on=0001-01-01",
                                   "?view=week&on=9999-12-31"])
def test_odd_queries_show_this_month_not_an_error(course, as_user, query):
    page = as_user(course.facilitator).get(f"/facilitate/calendar{query}")
    assert page.status_code == 200


def test_actual_times_show_only_for_meetings_that_were_held(course, as_user):
    db.session.add(Meeting(cohort_id=course.cohort.id, session_number=1, outcome="held",
                           actual_start=utc(2026, 10, 15, 17, 10), checklist_done=[]))
    db.session.commit()
    page = as_user(course.facilitator).get(
        f"/facilitate/cohorts/{course.cohort.id}").get_data(as_text=True)
    rows = re.findall(r"<tr[^>]*>\s*<td>(\d+)\. .*?</td>\s*<td>(.*?)</td>\s*<td>(.*?)</td>",
                      page, re.S)
    actual = {number: re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", cell)).strip()
              for number, _planned, cell in rows}
    assert actual["1"] == "Thu 15 Oct 2026 18:10"  # recorded start, London time
    assert actual["2"] == "not held yet"
