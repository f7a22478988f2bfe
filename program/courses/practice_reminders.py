"""The practice reminders participants set themselves: chosen weekdays at a local time.

A scheduled job (``PART_JOBS``): on each tick it queues, for each participant whose reminder
time passed in the last ``WINDOW`` on one of their days, one reminder for that local day (the
dedup key names the day, so a second tick or scheduler queues nothing more). It goes by
email, push or both as the participant chose for practice reminders.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from models import Participant, User, db, write_transaction
from program.courses.delivery import sees_material
from program.messaging import emails
from program.messaging.outbox import enqueue_email
from program.messaging.preferences import parse_days

#: after this long the day's reminder is no longer sent (the scheduler was down)
WINDOW = timedelta(hours=2)
WEEKDAYS = tuple(range(1, 8))  # ISO: Monday 1 ... Sunday 7


def due_today(user: User, now: datetime) -> datetime | None:
    """When ``user``'s reminder falls due today (their zone) if it did within ``WINDOW``."""
    if user.practice_reminder_time is None:
        return None
    zone = ZoneInfo(user.timezone or "UTC")
    local = now.astimezone(zone)
    if local.isoweekday() not in parse_days(user.practice_reminder_days):
        return None
    at = datetime.combine(local.date(), user.practice_reminder_time, tzinfo=zone)
    return at.astimezone(UTC) if at <= local < at + WINDOW else None


def queue_own_practice_reminders(now: datetime) -> int:
    rows = db.session.execute(
        select(Participant, User).join(User, User.id == Participant.user_id)
        .where(User.active.is_(True), User.reminders_enabled.is_(True),
               User.practice_reminder_days.is_not(None),
               User.practice_reminder_time.is_not(None))).all()
    queued = 0
    link = f"{emails.base_url()}/me/practice/new"
    for participant, user in rows:
        due_at = due_today(user, now)
        if due_at is None or not sees_material(participant) or participant.withdrawal_kind:
            continue
        day = due_at.astimezone(ZoneInfo(user.timezone or "UTC")).date()
        with write_transaction():
            queued += enqueue_email(user, f"own-practice:{user.id}:{day.isoformat()}",
                                    "practice_reminder", "practice_reminder", due_at=due_at,
                                    link=link)
    db.session.commit()
    return queued
