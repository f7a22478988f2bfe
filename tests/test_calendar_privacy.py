"""The calendar feed's address can be replaced, and it carries the meetings' video link only
when its owner asks for it."""

from __future__ import annotations

import time_machine
from sqlalchemy import func, select

from models import AuditEntry, User, db
from tests.conftest import post_form
from tests.factories_delivery import VIDEO, gen_course, utc


def _feed(client, token):
    return client.get(f"/calendar/{token}.ics")


def test_the_feed_leaves_out_the_video_link_unless_the_participant_opts_in(client, as_user):
    course = gen_course("msc")
    with time_machine.travel(utc(2026, 10, 20), tick=False):
        assert VIDEO not in _feed(client, course.user.calendar_token).get_data(as_text=True)
        signed_in = as_user(course.user)
        settings = {"timezone": "UTC", "locale": "", "reminders_enabled": "y",
                    "notify_replies": "immediate", "notify_announcements": "daily",
                    "calendar_video_link": "y"}
        assert post_form(signed_in, "/settings/", settings).status_code == 302
        feed = _feed(client, db.session.get(User, course.user.id).calendar_token)
    assert VIDEO in feed.get_data(as_text=True)


def test_a_participant_replaces_the_calendar_address_and_the_old_one_stops(client, as_user):
    course = gen_course("msc")
    old = course.user.calendar_token
    signed_in = as_user(course.user)
    assert old in signed_in.get("/settings/").get_data(as_text=True)
    response = post_form(signed_in, "/settings/calendar-link", token_from="/settings/")
    assert response.status_code == 302
    new = db.session.get(User, course.user.id).calendar_token
    assert new != old and new in signed_in.get("/settings/").get_data(as_text=True)
    assert _feed(client, old).status_code == 404
    assert _feed(client, new).status_code == 200
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "auth.calendar_link_renewed")) == 1
