"""In Chromium: the therapist postpones a CFT meeting by a week with "move the rest with it";
the participant's next release, the reminder time and the iCal feed all follow."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from babel import dates as babel_dates
from icalendar import Calendar
from sqlalchemy import select

from models import Cohort, OutboxMessage, User, db
from program.core.dates import pattern
from program.courses.delivery import cohort_calendar
from program.messaging.jobs import tick
from tests.browser.conftest import sign_in

WEEK = timedelta(days=7)
SHIFT = "Move this meeting and every later one (and the retreat) by the same interval"


def _cft(app):
    with app.app_context():
        cohort = db.session.scalar(select(Cohort).where(Cohort.name == "CFT cohort A"))
        calendar = cohort_calendar(cohort)
        return cohort.id, calendar.meeting(6), calendar.meeting(7), calendar.zone


def _reminders(app, user_id: int, now):
    with app.app_context():
        tick(now)
        return db.session.scalars(select(OutboxMessage).where(
            OutboxMessage.recipient_id == user_id,
            OutboxMessage.kind == "meeting_reminder")).all()


def test_therapist_shifts_the_rest_of_the_course_and_everything_follows(page, app):
    cohort_id, sixth, seventh, zone = _cft(app)
    new_start = sixth.actual_start + WEEK
    sign_in(page, "therapist@hearth.example")
    page.get_by_role("link", name="CFT cohort A").click()
    page.get_by_role("link", name="postpone or cancel").nth(5).click()  # session 6
    assert "session 6" in page.locator("h1").inner_text()
    page.get_by_label(SHIFT).check()
    page.get_by_label("New date and time (cohort's local time)").fill(
        new_start.astimezone(zone).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Change the schedule").click()
    assert "everyone is told" in page.locator(".flashes").inner_text()

    _id, moved, moved_seventh, _zone = _cft(app)
    assert (moved.actual_start, moved_seventh.actual_start) == (
        new_start, seventh.actual_start + WEEK)

    # The participant: session 6 is now locked until a week later, and the next meeting moved.
    with app.app_context():
        person = db.session.scalar(select(User).where(
            User.email == "cft.participant@hearth.example"))
        person_id, token = person.id, person.calendar_token
        locale, their_zone = person.locale or "en", ZoneInfo(person.timezone or "UTC")
    page.context.clear_cookies()
    sign_in(page, "cft.participant@hearth.example")
    page.goto("/me/sessions")
    release = babel_dates.format_datetime(moved.release_at, pattern("long_datetime", locale),
                                          tzinfo=their_zone, locale=locale)
    card = page.locator("li.card").nth(5)
    assert release in card.inner_text()
    page.goto("/me/")
    assert page.locator(f'time[datetime="{new_start.isoformat()}"]').count() == 1

    # Reminders: nothing an hour before the old time, the 1 h reminder before the new one.
    old_hour = sixth.actual_start - timedelta(minutes=59)
    assert not [m for m in _reminders(app, person_id, old_hour) if ":6:" in m.dedup_key]
    new_hour = new_start - timedelta(minutes=59)
    (reminder,) = [m for m in _reminders(app, person_id, new_hour)
                   if m.dedup_key.endswith(f"{new_start:%Y%m%dT%H%MZ}:1h")]
    assert reminder.due_at == new_start - timedelta(hours=1)

    # The feed: the same twelve events, session 6 moved with a higher SEQUENCE.
    feed = Calendar.from_ical(page.request.get(f"/calendar/{token}.ics").body())
    events = {str(e["uid"]).split("@")[0]: e for e in feed.walk("VEVENT")}
    assert len(events) == 12
    sixth_event = events[f"hearth-cohort{cohort_id}-session6"]
    assert sixth_event.decoded("dtstart") == new_start
    assert int(sixth_event["sequence"]) == 1
    assert int(events[f"hearth-cohort{cohort_id}-session5"]["sequence"]) == 0
