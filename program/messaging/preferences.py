"""A person's notification settings: a channel per kind of notice, quiet hours, their own
practice-reminder days and time, and the browsers that take push for them."""

from __future__ import annotations

import base64
import ipaddress
import re
from dataclasses import dataclass, field
from datetime import time
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import delete, select

from models import NotificationPreference, PushSubscription, User, db, write_transaction
from models.notifications import NoticeChannel, NoticeKind

_B64URL = re.compile(r"^[A-Za-z0-9_-]+={0,2}$")


@dataclass
class NoticeSettings:
    channels: dict[str, str] = field(default_factory=dict)
    quiet_start: time | None = None
    quiet_end: time | None = None
    practice_days: list[int] = field(default_factory=list)
    practice_time: time | None = None


class BadSubscription(ValueError):
    """What a browser sent is not a push subscription Hearth can use."""


def parse_days(stored: str | None) -> list[int]:
    """ISO weekdays (Monday 1) from the stored ``"1,3,5"``."""
    return [int(day) for day in (stored or "").split(",") if day.strip().isdigit()]


def current(user: User) -> NoticeSettings:
    rows = db.session.scalars(select(NotificationPreference).where(
        NotificationPreference.user_id == user.id))
    chosen = {row.kind: row.channel for row in rows}
    return NoticeSettings(
        channels={kind: chosen.get(kind, NoticeChannel.EMAIL.value)
                  for kind in NoticeKind.codes()},
        quiet_start=user.quiet_start, quiet_end=user.quiet_end,
        practice_days=parse_days(user.practice_reminder_days),
        practice_time=user.practice_reminder_time)


def save(user: User, settings: NoticeSettings) -> None:
    """Store the settings (all or nothing); a bad value raises ValueError and changes nothing."""
    if set(settings.channels) - set(NoticeKind.codes()) or \
            set(settings.channels.values()) - set(NoticeChannel.codes()):
        raise ValueError("unknown notice kind or channel")
    if (settings.quiet_start is None) != (settings.quiet_end is None):
        raise ValueError("quiet hours need a start and an end")
    if any(day not in range(1, 8) for day in settings.practice_days):
        raise ValueError("weekdays are 1 to 7")
    with write_transaction() as session:
        # the person's row locked first: two saves at once run one after the other
        row = session.get(User, user.id, with_for_update=True)
        session.execute(delete(NotificationPreference).where(
            NotificationPreference.user_id == user.id))
        session.add_all(NotificationPreference(user_id=user.id, kind=kind, channel=channel)
                        for kind, channel in sorted(settings.channels.items()))
        row.quiet_start, row.quiet_end = settings.quiet_start, settings.quiet_end
        days = sorted(set(settings.practice_days))
        row.practice_reminder_days = ",".join(map(str, days)) or None
        row.practice_reminder_time = settings.practice_time if days else None


def _check_endpoint(endpoint: str) -> None:
    """An https push service on the internet (the server will POST to it: no local hosts).
    Tests run a receiver on loopback over http, so TESTING allows that."""
    parts = urlsplit(endpoint)
    testing = current_app.config.get("TESTING")
    if len(endpoint) > 1000 or not parts.hostname or parts.scheme not in (
            ("https", "http") if testing else ("https",)):
        raise BadSubscription("endpoint")
    try:
        address = ipaddress.ip_address(parts.hostname)
    except ValueError:
        if parts.hostname == "localhost" and not testing:
            raise BadSubscription("endpoint") from None
        return
    if not testing and not address.is_global:
        raise BadSubscription("endpoint")


def _check_key(value: object, raw_length: int) -> str:
    if not isinstance(value, str) or not _B64URL.match(value):
        raise BadSubscription("key")
    padded = value.rstrip("=") + "=" * (-len(value.rstrip("=")) % 4)
    if len(base64.urlsafe_b64decode(padded)) != raw_length:
        raise BadSubscription("key")
    return value


def subscribe(user: User, data: dict) -> None:
    """Keep the browser's subscription (``PushSubscription.toJSON()``) for ``user``; the same
    browser subscribed before for someone else now belongs to ``user`` alone."""
    endpoint = data.get("endpoint") if isinstance(data, dict) else None
    keys = data.get("keys") if isinstance(data, dict) else None
    if not isinstance(endpoint, str) or not isinstance(keys, dict):
        raise BadSubscription("shape")
    _check_endpoint(endpoint)
    p256dh, auth = _check_key(keys.get("p256dh"), 65), _check_key(keys.get("auth"), 16)
    with write_transaction() as session:
        session.get(User, user.id, with_for_update=True)  # one subscription call at a time
        row = session.scalar(select(PushSubscription).where(
            PushSubscription.endpoint == endpoint))
        if row is None:
            session.add(PushSubscription(user_id=user.id, endpoint=endpoint, p256dh=p256dh,
                                         auth=auth))
        else:
            row.user_id, row.p256dh, row.auth = user.id, p256dh, auth


def unsubscribe(user: User, endpoint: object) -> bool:
    """Forget one of ``user``'s browsers; False when it was not theirs or already gone."""
    if not isinstance(endpoint, str):
        return False
    with write_transaction() as session:
        return session.execute(delete(PushSubscription).where(
            PushSubscription.user_id == user.id,
            PushSubscription.endpoint == endpoint)).rowcount > 0


def device_count(user: User) -> int:
    return len(db.session.scalars(select(PushSubscription.id).where(
        PushSubscription.user_id == user.id)).all())
