"""Sending a push row of the outbox to each browser its recipient turned push on in.

The payload is encrypted for each browser (aes128gcm, RFC 8291) and signed with the server's
VAPID key; a push service answering 404 or 410 means the browser dropped the subscription,
so it is removed. Any other failure is raised when no browser got the message, so the
dispatcher tries again later.
"""

from __future__ import annotations

import logging

from pywebpush import WebPushException, webpush
from sqlalchemy import delete, select

from models import PushSubscription, User, db, write_transaction
from program.messaging import vapid

log = logging.getLogger("hearth.push")
GONE = (404, 410)
#: how long a push service keeps a message for a browser that is offline (seconds)
TTL = 24 * 3600


def send(user: User, payload: str) -> int:
    """Deliver ``payload`` to every device of ``user``; returns how many took it."""
    devices = db.session.scalars(select(PushSubscription).where(
        PushSubscription.user_id == user.id).order_by(PushSubscription.id)).all()
    delivered, errors, gone = 0, [], []
    signer, claims = vapid.signer(), vapid.claims()
    for device in devices:
        info = {"endpoint": device.endpoint, "keys": {"p256dh": device.p256dh,
                                                      "auth": device.auth}}
        try:
            webpush(info, payload, vapid_private_key=signer, vapid_claims=dict(claims),
                    ttl=TTL, timeout=10)
            delivered += 1
        except WebPushException as exc:
            status = exc.response.status_code if exc.response is not None else None
            if status in GONE:
                gone.append(device.id)
            else:
                errors.append(exc)
    forget(gone)
    if errors and not delivered:
        raise errors[0]
    return delivered


def forget(subscription_ids: list[int]) -> None:
    """Remove subscriptions the push service says are gone."""
    if not subscription_ids:
        return
    with write_transaction() as session:
        session.execute(delete(PushSubscription).where(
            PushSubscription.id.in_(subscription_ids)))
    log.info("removed %d expired push subscriptions", len(subscription_ids))
