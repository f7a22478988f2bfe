"""The private iCalendar feeds of participants and facilitators."""

from __future__ import annotations

from datetime import date

import time_machine
from icalendar import Calendar

from models import Meeting, User, db
from tests.factories import gen_user
from tests.factories_delivery import VIDEO, gen_course, utc


def _feed(client, user):
    response = client.get(f"/calendar/{user.calendar_token}.ics")
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    return Calendar.from_ical(response.get_data())


def _events(calendar):
    return {str(e["uid"]): e for e in calendar.walk("VEVENT")}


def test_participant_feed_has_every_meeting_postponed_and_cancelled_and_the_retreat(
        app, client):
    course = gen_course("msc")
    course.user.calendar_video_link = True  # the video link only when asked for
    db.session.add_all([
        Meeting(cohort_id=course.cohort.id, session_number=2, outcome="postponed",
                postponed_to=utc(2026, 10, 24, 9), checklist_done=[]),
        Meeting(cohort_id=course.cohort.id, session_number=3, outcome="cancelled",
                checklist_done=[]),
    ])
    db.session.commit()
    with time_machine.travel(utc(2026, 10, 20), tick=False):
        events = _events(_feed(client, course.user))
    meetings = {uid: e for uid, e in events.items() if "session" in uid}
    assert len(meetings) == 8
    first = next(e for uid, e in meetings.items() if uid.endswith(
        f"cohort{course.cohort.id}-session1@hearth.test"))
    assert first.decoded("dtstart") == utc(2026, 10, 15, 17)
    assert first.decoded("dtend") == utc(2026, 10, 15, 19)
    assert str(first["location"]) == VIDEO
    moved = next(e for uid, e in meetings.items() if uid.endswith("session2@hearth.test"))
    assert moved.decoded("dtstart") == utc(2026, 10, 24, 9)
    assert "2026-10-22 18:00" in str(moved["description"])
    cancelled = next(e for uid, e in meetings.items() if uid.endswith("session3@hearth.test"))
    assert str(cancelled["status"]) == "CANCELLED"
    assert cancelled.decoded("dtstart") == utc(2026, 10, 29, 18)
    (retreat,) = [e for uid, e in events.items() if "retreat" in uid]
    assert retreat.decoded("dtstart") == date(2026, 11, 22)
    assert retreat.decoded("dtend") == date(2026, 11, 23)


def test_facilitator_feed_covers_each_cohort_they_run(app, client):
    first = gen_course("msc")
    second = gen_course("cft")
    from models import CohortFacilitator

    db.session.add(CohortFacilitator(cohort_id=second.cohort.id, user_id=first.facilitator.id))
    db.session.commit()
    events = _events(_feed(client, first.facilitator))
    assert len(events) == 8 + 1 + 12
    assert len(_events(_feed(client, second.facilitator))) == 12


def test_unknown_token_and_disabled_accounts_get_nothing(app, client):
    course = gen_course("msc")
    assert client.get("/calendar/not-a-real-token-at-all.ics").status_code == 404
    db.session.get(User, course.user.id).active = False
    db.session.commit()
    assert client.get(f"/calendar/{course.user.calendar_token}.ics").status_code == 404


def test_roles_without_cohorts_get_an_empty_calendar(app, client):
    researcher = gen_user("researcher")
    assert list(_feed(client, researcher).walk("VEVENT")) == []


def test_meetings_are_named_by_session_in_the_readers_language(app, client):
    course = gen_course("msc")
    db.session.add(Meeting(cohort_id=course.cohort.id, session_number=2, outcome="postponed",
                           postponed_to=utc(2026, 10, 24, 9), checklist_done=[]))
    db.session.commit()
    with time_machine.travel(utc(2026, 10, 20), tick=False):
        english = _events(_feed(client, course.user))
    first = next(e for uid, e in english.items() if uid.endswith("session1@hearth.test"))
    assert str(first["summary"]) == "Session 1: Discovering mindful self-compassion"
    db.session.get(User, course.user.id).locale = "ja"
    db.session.commit()
    with time_machine.travel(utc(2026, 10, 20), tick=False):
        japanese = _events(_feed(client, course.user))
    first = next(e for uid, e in japanese.items() if uid.endswith("session1@hearth.test"))
    assert str(first["summary"]).startswith("セッション1")
    moved = next(e for uid, e in japanese.items() if uid.endswith("session2@hearth.test"))
    assert "2026-10-22 18:00" in str(moved["description"])
    assert "Moved from" not in str(moved["description"])
