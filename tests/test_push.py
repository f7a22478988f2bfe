"""Web Push end to end: a subscription whose endpoint is a push service on loopback gets the
release notice through the outbox, encrypted for that browser, in the person's language."""

from __future__ import annotations

from datetime import time

import pytest
import time_machine
from sqlalchemy import func, select

from models import NotificationPreference, OutboxMessage, PushSubscription, db
from program.messaging import notices, preferences
from program.messaging.jobs import dispatch, tick
from tests.conftest import csrf_token, sign_in
from tests.factories_delivery import gen_course, utc
from tests.push_receiver import PushReceiver

NOW = utc(2026, 10, 21, 17, 30)  # session 1 released, session 2's meeting tomorrow


@pytest.fixture
def receiver():
    with PushReceiver() as running:
        yield running


@pytest.fixture
def course(app):
    return gen_course("msc")


def subscribe(client, browser) -> None:
    token = csrf_token(client, "/settings/notifications/")
    response = client.post("/settings/notifications/push", json=browser.to_json(),
                           headers={"X-CSRFToken": token})
    assert response.status_code == 200, response.get_data(as_text=True)


def route(user, **channels) -> None:
    """Every kind by email except those given."""
    wanted = {kind: "email" for kind in preferences.current(user).channels}
    preferences.save(user, preferences.NoticeSettings(channels={**wanted, **channels}))


def push_rows(status: str) -> int:
    return db.session.scalar(select(func.count(OutboxMessage.id)).where(
        OutboxMessage.channel == "push", OutboxMessage.status == status))


def run(now):
    with time_machine.travel(now, tick=False):
        tick(now)
        return dispatch(now, 1000)


def test_a_release_notice_reaches_the_browser_encrypted_in_the_readers_language(
        app, client, course, receiver):
    course.user.locale = "ja"
    db.session.commit()
    sign_in(client, course.user)
    phone = receiver.browser("phone")
    subscribe(client, phone)
    route(course.user, release_notice="push", meeting_reminder="none",
          practice_reminder="none")

    run(NOW)

    assert push_rows("sent") == 1
    [(path, headers, body)] = receiver.received
    assert path == "/push/phone"
    headers = {name.lower(): value for name, value in headers.items()}
    assert headers["content-encoding"] == "aes128gcm"
    assert headers["authorization"].startswith("vapid t=")
    message = phone.decrypt(body)
    assert message["title"] == "Hearth：セッション1の準備ができました"
    assert message["lang"] == "ja"
    assert message["url"].endswith("/me/sessions/1")
    assert [m for m in app.extensions.get("sent_mail", [])
            if m["to"] == course.user.email] == []  # push only: no email
    run(NOW)  # a second tick and dispatch send nothing more
    assert len(receiver.received) == 1


def test_both_sends_the_email_and_the_push_once_each(app, client, course, receiver):
    sign_in(client, course.user)
    subscribe(client, receiver.browser("phone"))
    route(course.user, release_notice="both", meeting_reminder="none",
          practice_reminder="none")
    run(NOW)
    mails = [m["subject"] for m in app.extensions["sent_mail"]
             if m["to"] == course.user.email]
    assert mails == ["Hearth: session 1 is ready for you"]
    assert len(receiver.received) == 1


@pytest.mark.parametrize("status", [404, 410])
def test_an_expired_subscription_is_removed_and_the_other_device_still_gets_it(
        app, client, course, receiver, status):
    sign_in(client, course.user)
    subscribe(client, receiver.browser("old"))
    subscribe(client, receiver.browser("new"))
    receiver.statuses["/push/old"] = status
    route(course.user, release_notice="push", meeting_reminder="none",
          practice_reminder="none")
    run(NOW)
    assert push_rows("sent") == 1
    endpoints = db.session.scalars(select(PushSubscription.endpoint)).all()
    assert endpoints == [f"{receiver.base}/push/new"]


def test_a_push_service_that_fails_is_tried_again_later(app, client, course, receiver):
    sign_in(client, course.user)
    subscribe(client, receiver.browser("phone"))
    receiver.statuses["/push/phone"] = 500
    route(course.user, release_notice="push", meeting_reminder="none",
          practice_reminder="none")
    assert run(NOW).retried == 1
    assert push_rows("pending") == 1
    receiver.statuses["/push/phone"] = 201
    run(NOW)
    assert push_rows("sent") == 1
    assert db.session.scalar(select(func.count(PushSubscription.id))) == 1


def test_quiet_hours_hold_a_push_until_they_end(app, client, course, receiver):
    course.user.timezone = "Europe/London"
    db.session.commit()
    sign_in(client, course.user)
    subscribe(client, receiver.browser("phone"))
    settings = preferences.current(course.user)
    settings.channels.update(release_notice="push", meeting_reminder="none",
                             practice_reminder="none")
    settings.quiet_start, settings.quiet_end = time(18, 0), time(7, 30)  # London, BST
    preferences.save(course.user, settings)
    evening = utc(2026, 10, 21, 18, 0)  # 19:00 in London
    run(evening)
    assert receiver.received == []
    row = db.session.scalar(select(OutboxMessage).where(OutboxMessage.channel == "push"))
    assert row.due_at == utc(2026, 10, 22, 6, 30)  # 07:30 London
    run(utc(2026, 10, 22, 6, 31))
    assert len(receiver.received) == 1


def test_the_join_link_goes_in_a_meeting_reminder_push_in_the_readers_zone(
        app, client, course, receiver):
    course.user.timezone = "Asia/Tokyo"
    db.session.commit()
    sign_in(client, course.user)
    phone = receiver.browser("phone")
    subscribe(client, phone)
    route(course.user, release_notice="none", meeting_reminder="push",
          practice_reminder="none")
    run(NOW)
    [(_path, _headers, body)] = receiver.received
    message = phone.decrypt(body)
    assert message["url"] == course.cohort.video_link
    assert "Friday 23 October 2026, 02:00 Japan Standard Time" in message["title"]  # 18:00 London


def test_no_push_row_without_a_device(app, course):
    route(course.user, release_notice="push", meeting_reminder="none",
          practice_reminder="none")
    run(NOW)
    assert db.session.scalar(select(func.count(OutboxMessage.id)).where(
        OutboxMessage.recipient_id == course.user.id)) == 0


def test_unsubscribing_removes_only_this_browser(app, client, course, receiver):
    sign_in(client, course.user)
    browser = receiver.browser("phone")
    subscribe(client, browser)
    token = csrf_token(client, "/settings/notifications/")
    response = client.post("/settings/notifications/push/remove",
                           json={"endpoint": browser.endpoint}, headers={"X-CSRFToken": token})
    assert response.get_json() == {"ok": True, "removed": True}
    assert not notices.has_devices(course.user.id)


@pytest.mark.parametrize("body", [
    {"endpoint": "ftp://x.example/1", "keys": {"p256dh": "AAAA", "auth": "AAAA"}},
    {"endpoint": "https://push.example/1", "keys": {"p256dh": "not base64!", "auth": "x"}},
    {"endpoint": "https://push.example/1"},
    ["not", "an", "object"],
])
def test_a_bad_subscription_is_refused_and_nothing_is_stored(app, client, course, body):
    sign_in(client, course.user)
    token = csrf_token(client, "/settings/notifications/")
    response = client.post("/settings/notifications/push", json=body,
                           headers={"X-CSRFToken": token})
    assert response.status_code == 400
    assert db.session.scalar(select(func.count(PushSubscription.id))) == 0


def test_outside_tests_only_public_https_push_services_are_accepted(app, course):
    app.config["TESTING"] = False
    try:
        for endpoint in ("http://push.example/1", "https://127.0.0.1/1",
                         "https://10.0.0.5/1", "https://localhost/1"):
            with pytest.raises(preferences.BadSubscription):
                preferences._check_endpoint(endpoint)
        preferences._check_endpoint("https://fcm.googleapis.com/fcm/send/abc")
    finally:
        app.config["TESTING"] = True


def test_settings_page_saves_channels_quiet_hours_and_practice_reminders(app, client, course):
    sign_in(client, course.user)
    data = {f"channel_{kind}": "both" for kind in preferences.current(course.user).channels}
    data.update(quiet_start="22:00", quiet_end="07:00", practice_days=["1", "4"],
                practice_time="08:15", csrf_token=csrf_token(client, "/settings/notifications/"))
    response = client.post("/settings/notifications/", data=data)
    assert response.status_code == 302
    saved = preferences.current(course.user)
    assert set(saved.channels.values()) == {"both"}
    assert (saved.quiet_start, saved.quiet_end) == (time(22, 0), time(7, 0))
    assert (saved.practice_days, saved.practice_time) == ([1, 4], time(8, 15))


def test_half_quiet_hours_or_days_without_a_time_change_nothing(app, client, course):
    sign_in(client, course.user)
    for extra in ({"quiet_start": "22:00"}, {"practice_days": ["2"]}):
        data = {"csrf_token": csrf_token(client, "/settings/notifications/"),
                "channel_release_notice": "push", **extra}
        response = client.post("/settings/notifications/", data=data)
        assert response.status_code == 200
        assert "Give both times" in response.get_data(as_text=True) or \
            "Choose a time" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(NotificationPreference.id))) == 0


def test_replies_by_push_come_straight_away_whatever_the_email_timing(app, receiver):
    from program.groups import posting
    from tests.factories_groups import gen_world

    world = gen_world()
    world.member.notify_replies = "daily"  # the email waits for the digest
    world.member.locale = "zh"
    db.session.commit()
    phone = receiver.browser("phone")
    preferences.subscribe(world.member, phone.to_json())
    route(world.member, post_reply="push")
    thread = posting.create_post(world.member, world.group.id, "Mine")
    posting.create_post(world.leader, world.group.id, "A reply", parent_id=thread.id)
    [row] = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.kind == "post_reply")).all()
    assert row.channel == "push"
    with time_machine.travel(row.due_at, tick=False):
        dispatch(row.due_at, 100)
    message = phone.decrypt(receiver.received[0][2])
    assert message["lang"] == "zh" and "A reply" not in message["body"]
    assert message["url"].endswith(f"/groups/{world.group.id}/posts/{thread.id}")
