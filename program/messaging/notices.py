"""Which channels a notice goes out on (the person's choice per kind), and push messages
queued in the outbox beside the email: once per notice, in the recipient's language and time
zone, held back during their quiet hours.

A push row is an ``OutboxMessage`` with ``channel="push"``, dedup key ``<email key>:push``;
its subject is the notification's title and its body the JSON the service worker shows.
"""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import render_template
from flask_babel import force_locale
from sqlalchemy import select

from models import NotificationPreference, PushSubscription, User, db, utcnow
from models.notifications import NoticeChannel, NoticeKind

CHANNELS = {"email": {"email"}, "push": {"push"}, "both": {"email", "push"}, "none": set()}


def channel_of(user: User, kind: str) -> str:
    """The person's choice for ``kind``; email when they never chose (as before push)."""
    choice = db.session.scalar(select(NotificationPreference.channel).where(
        NotificationPreference.user_id == user.id, NotificationPreference.kind == kind))
    return choice or NoticeChannel.EMAIL.value


def channels(user: User, kind: str) -> set[str]:
    """``{"email"}``, ``{"push"}``, both or neither; kinds not routable go by email."""
    if kind not in NoticeKind:
        return {"email"}
    return CHANNELS[channel_of(user, kind)]


def has_devices(user_id: int) -> bool:
    return db.session.scalar(select(PushSubscription.id).where(
        PushSubscription.user_id == user_id).limit(1)) is not None


def after_quiet_hours(user: User, due_at: datetime) -> datetime:
    """``due_at``, or the end of the recipient's quiet hours when it falls inside them."""
    if user.quiet_start is None or user.quiet_end is None:
        return due_at
    zone = ZoneInfo(user.timezone or "UTC")
    local = due_at.astimezone(zone)
    if not _inside(local.time(), user.quiet_start, user.quiet_end):
        return due_at
    end = datetime.combine(local.date(), user.quiet_end, tzinfo=zone)
    if end <= local:
        end += timedelta(days=1)  # quiet hours across midnight, evening part
    return end.astimezone(due_at.tzinfo)


def _inside(moment: time, start: time, end: time) -> bool:
    if start <= end:
        return start <= moment < end
    return moment >= start or moment < end  # e.g. 22:00 to 07:00


def render_push(template: str, user: User, **context) -> tuple[str, str]:
    """Title and JSON body of ``templates/push/<template>.txt`` (first line title, next line
    text, third the link opened on tap) in the recipient's language."""
    locale = user.locale or "en"
    with force_locale(locale):
        text = render_template(f"push/{template}.txt", user=user, **context)
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    title, body, url = (lines + ["", "", ""])[:3]
    return title, json.dumps({"title": title, "body": body, "url": url, "lang": locale},
                             ensure_ascii=False)


def queue_push(user: User, dedup_key: str, kind: str, template: str,
               due_at: datetime | None = None, **context) -> bool:
    """Queue the push twin of a notice when the person has a device that takes push."""
    from program.messaging.outbox import enqueue

    if not has_devices(user.id):
        return False
    title, payload = render_push(template, user, **context)
    now = utcnow()
    send_at = max(due_at or now, now)  # a notice caught up on late is checked for now
    return enqueue(f"{dedup_key}:push", user.id, kind, title, payload,
                   due_at=after_quiet_hours(user, send_at), channel="push")
