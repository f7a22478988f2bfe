"""What a phone may keep offline (server side), the VAPID key kept in the instance folder, and
the practice reminders participants set themselves."""

from __future__ import annotations

import logging
from datetime import time

import time_machine
from sqlalchemy import select

from models import OutboxMessage, db
from program.courses.practice_reminders import queue_own_practice_reminders
from program.messaging import preferences, vapid
from tests.conftest import post_form, sign_in
from tests.factories import gen_user
from tests.factories_delivery import gen_course, utc

NOW = utc(2026, 10, 21, 17, 30)  # session 1 released, session 2 not yet


def test_only_released_material_of_the_signed_in_participant_may_be_kept(app, client):
    course, other = gen_course("msc"), gen_course("msc").user
    with time_machine.travel(NOW, tick=False):
        sign_in(client, course.user)
        released = client.get("/me/sessions/1")
        locked = client.get("/me/sessions/3")
        history = client.get("/me/practice")
        post_form(client, "/auth/sign-out", token_from="/settings/")
        sign_in(client, other)
        others = client.get("/me/sessions/1")
    assert released.status_code == 200, released.status_code
    key = released.headers["X-Hearth-Offline"]
    assert len(key) == 20 and str(course.user.id) != key
    assert locked.status_code == 404 and "X-Hearth-Offline" not in locked.headers
    assert "X-Hearth-Offline" not in history.headers
    assert released.headers["Cache-Control"] == "no-store"  # never in the HTTP cache
    assert others.headers["X-Hearth-Offline"] not in ("", key)


def test_staff_pages_are_never_marked_to_keep(app, client):
    course = gen_course("msc")
    sign_in(client, course.facilitator)
    response = client.get(f"/facilitate/cohorts/{course.cohort.id}")
    assert response.status_code == 200
    assert "X-Hearth-Offline" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"


def test_signing_out_tells_the_browser_to_clear_kept_pages(app, client):
    course = gen_course("msc")
    sign_in(client, course.user)
    response = post_form(client, "/auth/sign-out", token_from="/settings/")
    assert response.status_code == 302
    assert response.headers["Clear-Site-Data"] == '"cache", "storage"'


def test_the_vapid_key_is_made_once_in_the_instance_folder_and_never_logged(tmp_path, caplog):
    caplog.set_level(logging.INFO, "hearth.push")
    first = vapid.ensure_key(str(tmp_path), None)
    second = vapid.ensure_key(str(tmp_path), None)
    assert first == second and first.startswith("-----BEGIN PRIVATE KEY-----")
    assert (tmp_path / "vapid_private.pem").stat().st_mode & 0o777 == 0o600
    [record] = caplog.records
    assert "generated a VAPID key pair" in record.getMessage()
    assert "PRIVATE KEY" not in record.getMessage()
    assert vapid.ensure_key(str(tmp_path), "configured-pem") == "configured-pem"


def _own_reminders(user, days, at: time) -> None:
    settings = preferences.current(user)
    settings.practice_days, settings.practice_time = days, at
    preferences.save(user, settings)


def _reminders_to(user) -> list[OutboxMessage]:
    return db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.recipient_id == user.id,
        OutboxMessage.dedup_key.like("own-practice:%"))).all()


def test_a_participant_is_reminded_on_their_days_at_their_time_once(app):
    course = gen_course("msc")
    course.user.timezone = "Asia/Tokyo"
    db.session.commit()
    _own_reminders(course.user, [3], time(7, 30))  # Wednesdays, 07:30 in Tokyo
    wednesday_early = utc(2026, 10, 20, 22, 0)  # Wed 21 Oct 07:00 in Tokyo
    wednesday_after = utc(2026, 10, 20, 22, 45)  # 07:45
    thursday = utc(2026, 10, 21, 22, 45)
    for now in (wednesday_early, wednesday_after, wednesday_after, thursday):
        with time_machine.travel(now, tick=False):
            queue_own_practice_reminders(now)
    [message] = _reminders_to(course.user)
    assert message.due_at == utc(2026, 10, 20, 22, 30)
    assert message.subject == "Hearth: a few minutes of practice this week?"


def test_no_own_reminder_when_switched_off_withdrawn_or_staff(app):
    course = gen_course("msc")
    _own_reminders(course.user, [3], time(7, 30))
    course.user.reminders_enabled = False
    staff = gen_user("facilitator", practice_reminder_days="3",
                     practice_reminder_time=time(7, 30))
    db.session.commit()
    now = utc(2026, 10, 21, 7, 45)  # Wednesday 07:45 UTC
    with time_machine.travel(now, tick=False):
        queue_own_practice_reminders(now)
    assert _reminders_to(course.user) == [] and _reminders_to(staff) == []
