"""Sending urgent messages at once: right after the commit that queued them.

A safety alert must not wait for the scheduler's next dispatch. Code that queues one calls
``send_after_commit(keys)`` inside its write transaction; when that transaction commits the keys
become ready (a rollback forgets them), and ``send_committed()`` — called by the web app after
each request and by the scheduler's jobs after theirs — claims exactly those outbox rows in its
own transaction and sends them through the dispatcher's own sending step.

The claim is the dispatcher's (``pending`` becomes ``sending`` under a lease, in one UPDATE
that checks the status), so when this and the scheduler race for a row, whichever claims it
first sends it and the other finds nothing to claim: a message is never sent twice by the two.
A row this cannot send (transport down, process gone) stays with the dispatcher's retries.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from models import OutboxMessage, db, utcnow, write_transaction

log = logging.getLogger("hearth.outbox")

_PENDING = "hearth_urgent_pending"  #: keys queued in the open transaction
_READY = "hearth_urgent_ready"  #: keys whose transaction committed, not sent yet


def send_after_commit(dedup_keys: Iterable[str]) -> None:
    """Mark these outbox rows (by dedup key) to be sent as soon as this transaction commits."""
    db.session().info.setdefault(_PENDING, []).extend(dedup_keys)


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending:
        session.info.setdefault(_READY, []).extend(pending)


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_PENDING, None)


def send_committed(now: datetime | None = None) -> int:
    """Send the rows marked by committed transactions of this session; the number sent.

    Never raises: what could not be sent is left to the dispatcher (and logged).
    """
    if not db.session.registry.has():
        return 0
    keys = db.session().info.pop(_READY, None)
    if not keys:
        return 0
    try:
        return send_now(keys, now)
    except Exception:  # noqa: BLE001 - the request that raised the alert must not fail
        db.session.rollback()
        log.exception("urgent messages could not be sent at once; the dispatcher will")
        return 0


def _claim(dedup_keys: list[str], now: datetime) -> list[int]:
    """Lease the due pending rows with these keys, as the dispatcher leases (the status check
    makes the claim exclusive)."""
    from program.messaging import sending  # sending reaches the courses, which queue alerts

    with write_transaction() as session:
        ids = list(session.scalars(select(OutboxMessage.id).where(
            OutboxMessage.dedup_key.in_(dedup_keys), OutboxMessage.status == "pending",
            OutboxMessage.due_at <= now).order_by(OutboxMessage.id)))
    return [i for i in ids if sending.claim_message(i, now)]


def send_now(dedup_keys: Iterable[str], now: datetime | None = None) -> int:
    """Claim the pending rows with these dedup keys and send them; the number sent.

    Rows another dispatcher holds, or already sent, are left alone.
    """
    from program.messaging import jobs, sending  # both reach the parts that queue alerts

    now = now or utcnow()
    keys = sorted(set(dedup_keys))
    if not keys:
        return 0
    result = jobs.DispatchResult()
    claimed = _claim(keys, now)
    result.claimed = len(claimed)
    for message_id in claimed:
        result.count(sending.send_claimed(message_id, now))
    db.session.commit()
    if claimed:
        log.info("sent at once: claimed %d, sent %d, failed %d", result.claimed, result.sent,
                 result.failed)
    return result.sent
