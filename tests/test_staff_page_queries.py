"""The staff pages of a cohort ask the database the same number of questions for 5 people as
for 50: a facilitator's register or roster of a 2,000-person cohort must not grow a query per
participant (an N+1 is what made them slow). A behaviour guard, not a timing test."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event

from models import (
    Attendance,
    Group,
    GroupMembership,
    Meeting,
    PracticeLog,
    SessionProgress,
    db,
)
from tests.factories import gen_participant, gen_staff, gen_user
from tests.factories_delivery import START, gen_course, utc
from tests.fixtures_delivery import frozen_clock, long_sign_in_config  # noqa: F401


@pytest.fixture
def clock_start():
    return utc(2026, 11, 2, 9)  # after the first three meetings, in week 3


@contextmanager
def counted_queries():
    """The number of SQL statements sent while the block runs."""
    seen = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def _add_people(course, group: Group, meetings: list[Meeting], count: int) -> None:
    """``count`` more participants with a group membership, marks at every held meeting,
    the first session opened and two practice logs each."""
    arm = course.study.arms[0].key
    for _ in range(count):
        participant = gen_participant(course.study, cohort=course.cohort, arm=arm)
        db.session.add(GroupMembership(group_id=group.id, user_id=participant.user_id,
                                       role="member"))
        db.session.add_all(Attendance(meeting_id=m.id, participant_id=participant.id,
                                      status="present", minutes_attended=100)
                           for m in meetings)
        db.session.add(SessionProgress(participant_id=participant.id, session_number=1,
                                       opened_at=utc(2026, 10, 15, 20)))
        db.session.add_all(PracticeLog(
            participant_id=participant.id, practice_key="affectionate-breathing",
            practised_on=START + timedelta(days=day), minutes=10,
            submission_token=f"queries-{participant.id}-{day}") for day in (1, 8))
    db.session.commit()


def _pages(course) -> dict[str, str]:
    base = f"/facilitate/cohorts/{course.cohort.id}"
    return {"cohort home": base, "register with marks": f"{base}/meetings/1/register",
            "register to fill": f"{base}/meetings/3/register", "roster": f"{base}/roster",
            "progress": f"{base}/participants/{course.participant.id}",
            "cohort people": f"/research/cohorts/{course.cohort.id}/people",
            "study page": f"/research/studies/{course.study.id}"}


def _query_counts(app, course, researcher) -> dict[str, int]:
    from tests.conftest import sign_in

    counts = {}
    for page, path in _pages(course).items():
        client = app.test_client()
        sign_in(client, researcher if path.startswith("/research") else course.facilitator)
        client.get(path)  # the first request warms per-process caches (catalogue, statements)
        with counted_queries() as seen:
            response = client.get(path)
        assert response.status_code == 200, page
        counts[page] = len(seen)
    return counts


def test_staff_pages_of_a_cohort_do_not_ask_once_per_participant(app, clock):
    course = gen_course("msc")
    researcher = gen_user("researcher")
    gen_staff(course.study, researcher, blind=False)
    meetings = [Meeting(cohort_id=course.cohort.id, session_number=n, outcome="held",
                        actual_start=utc(2026, 10, 15 + 7 * (n - 1), 18), actual_minutes=120,
                        checklist_done=[]) for n in (1, 2)]
    group = Group(cohort_id=course.cohort.id, kind="large", name="Everyone")
    db.session.add_all([*meetings, group])
    db.session.commit()
    _add_people(course, group, meetings, 4)
    few = _query_counts(app, course, researcher)
    _add_people(course, group, meetings, 45)
    many = _query_counts(app, course, researcher)
    assert many == few
    # And the pages show the people: a register of 50, the roster's 50 rows.
    from tests.conftest import sign_in

    client = app.test_client()
    sign_in(client, course.facilitator)
    register = client.get(_pages(course)["register with marks"]).get_data(as_text=True)
    assert register.count('value="present" checked') == 49  # everyone added was present
    roster = client.get(_pages(course)["roster"]).get_data(as_text=True)
    assert roster.count("/participants/") >= 50
