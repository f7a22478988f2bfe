"""Sending outbox rows: claim them, send one claimed row, and recover after a crash.

A row on its way out (``OutboxMessage``):

1. **claimed**: ``status='sending'`` with a lease (``lease_until``); nobody else takes it. The
   server has not seen it yet (``attempt_started_at`` is empty).
2. **attempt marked**: just before the mail server is contacted, the row gets its Message-ID
   (made once, kept for every later attempt) and ``attempt_started_at``, and that is committed.
3. **sent** once the server answered 250; or back to ``pending`` (retry) or ``failed`` after a
   transport error; or ``cancelled`` if it is no longer wanted.

SMTP has no way to ask a server "did you get message X?", so one window cannot be closed: the
server has accepted the message and the process dies before step 3 is committed. After the
lease, :func:`release_expired` tells the two kinds of stranded rows apart:

- claimed but never attempted: back to ``pending``; the server never saw them, so they are
  sent once.
- attempt marked (**in doubt**): back to ``pending`` as well, counted in ``resent_in_doubt``,
  and sent again **with the same Message-ID**. We resend rather than hold the row for an
  administrator because a crash in the middle of the conversation (server never got it) is far
  likelier than one in the few milliseconds between the server's 250 and our commit, because a
  reminder or a safety alert that never arrives does more harm than one that arrives twice,
  and because the identical Message-ID lets receivers deduplicate (many mail stores and
  clients keep one copy per Message-ID) and lets anyone see the two copies are one message.
  The log names each message resent in doubt; the admin Outbox page shows the count.

So a message reaches the mail server at least once, at most once more per crash during its
own attempt, and every copy carries the same Message-ID.

:func:`claim_message` and :func:`send_claimed` send one given row at once (an urgent message
need not wait for the dispatcher's tick); :func:`program.messaging.jobs.dispatch` loops over
:func:`claim` with them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import make_msgid, parseaddr

from flask import current_app
from sqlalchemy import case, select, update

from models import OutboxMessage, Participant, User, db, utcnow, write_transaction
from program.messaging import links

log = logging.getLogger("hearth.jobs")

#: how long a claim lasts: a dispatcher that crashed holds its messages about a minute
LEASE = timedelta(seconds=60)
#: a dispatcher stops sending this long before its lease ends (more than the SMTP timeout)
LEASE_MARGIN = timedelta(seconds=25)
#: sent ahead of everything older: a safety alert never waits behind a queue of notices
URGENT_KINDS = ("safety_alert", "serious_adverse_event")
MAX_ATTEMPTS = 5
#: kinds the recipient can switch off with "reminders"
REMINDER_KINDS = ("release_notice", "meeting_reminder", "practice_reminder")

SENT, CANCELLED, RETRY, FAILED, LOST = "sent", "cancelled", "retry", "failed", "lost"


def lease() -> timedelta:
    """The claim's length: ``OUTBOX_LEASE_SECONDS`` (tests shorten it), else ``LEASE``."""
    seconds = current_app.config.get("OUTBOX_LEASE_SECONDS")
    return timedelta(seconds=float(seconds)) if seconds else LEASE


# --- claiming ----------------------------------------------------------------------------------


def _urgent_first():
    return case((OutboxMessage.kind.in_(URGENT_KINDS), 0), else_=1)


def _lease_rows(session, ids, now: datetime) -> set[int]:
    """The status condition makes the claim exclusive even without row locks."""
    return set(session.scalars(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), OutboxMessage.status == "pending")
        .values(status="sending", lease_until=now + lease(), attempt_started_at=None,
                attempts=OutboxMessage.attempts + 1)
        .returning(OutboxMessage.id)).all())


def claim(now: datetime, limit: int, *, urgent_only: bool = False) -> list[int]:
    """Lease up to ``limit`` due rows to this process; nobody else can claim them.

    Urgent kinds (safety alerts) come first, then the oldest; the ids are returned in that
    order, which is the order of sending.
    """
    with write_transaction() as session:
        candidates = (select(OutboxMessage.id)
                      .where(OutboxMessage.status == "pending", OutboxMessage.due_at <= now)
                      .order_by(_urgent_first(), OutboxMessage.due_at, OutboxMessage.id)
                      .limit(limit))
        if urgent_only:
            candidates = candidates.where(OutboxMessage.kind.in_(URGENT_KINDS))
        if session.get_bind().dialect.name == "postgresql":
            candidates = candidates.with_for_update(skip_locked=True)
        ids = session.scalars(candidates).all()
        if not ids:
            return []
        claimed = _lease_rows(session, ids, now)
    return [i for i in ids if i in claimed]


def claim_message(message_id: int, now: datetime) -> bool:
    """Lease the one pending row ``message_id`` (due or not); False if it is not pending."""
    with write_transaction() as session:
        return bool(_lease_rows(session, [message_id], now))


def unclaim(message_ids: list[int]) -> None:
    """Hand back claimed rows that were not attempted (stopping, or the lease ending)."""
    if not message_ids:
        return
    with write_transaction() as session:
        session.execute(update(OutboxMessage)
                        .where(OutboxMessage.id.in_(message_ids),
                               OutboxMessage.status == "sending",
                               OutboxMessage.attempt_started_at.is_(None))
                        .values(status="pending", lease_until=None,
                                attempts=OutboxMessage.attempts - 1))


@dataclass
class Released:
    """Rows whose claim ran out: ``in_doubt`` of them were being sent when their owner died."""

    released: int = 0
    in_doubt: int = 0


def release_expired(now: datetime) -> Released:
    """Give rows whose lease ran out back to ``pending``; count and name the ones in doubt."""
    expired = (OutboxMessage.status == "sending", OutboxMessage.lease_until < now)
    with write_transaction() as session:
        doubtful = session.execute(
            update(OutboxMessage)
            .where(*expired, OutboxMessage.attempt_started_at.is_not(None))
            .values(status="pending", lease_until=None, attempt_started_at=None,
                    resent_in_doubt=OutboxMessage.resent_in_doubt + 1)
            .returning(OutboxMessage.id, OutboxMessage.message_id)).all()
        untouched = session.execute(
            update(OutboxMessage).where(*expired)
            .values(status="pending", lease_until=None)).rowcount
    for row_id, header in doubtful:
        log.warning("outbox message %s was being sent when its dispatcher stopped; the mail "
                    "server may have it already: sending it again with the same Message-ID %s",
                    row_id, header)
    return Released(released=len(doubtful) + untouched, in_doubt=len(doubtful))


# --- sending one claimed row -------------------------------------------------------------------


def _meeting_started(message: OutboxMessage, now: datetime) -> bool:
    """Meeting reminder keys end with the meeting's start: ``...:20261128T1130Z:1h``."""
    if message.kind != "meeting_reminder":
        return False
    try:
        start = datetime.strptime(message.dedup_key.split(":")[-2], "%Y%m%dT%H%MZ")
    except (IndexError, ValueError):
        return False
    return now >= start.replace(tzinfo=UTC)


def _still_wanted(message: OutboxMessage, user: User | None, now: datetime) -> bool:
    """Checked again at sending time: settings and withdrawals may have changed since."""
    if _meeting_started(message, now):
        return False
    if user is None and message.recipient_email:
        return True  # an invitation to someone without an account yet
    if user is None or not user.active:
        return False
    if message.kind in REMINDER_KINDS and not user.reminders_enabled:
        return False
    if message.kind == "password_reset":
        return True  # asked for just now by the person themselves, whatever they withdrew from
    participant = db.session.scalar(select(Participant).where(Participant.user_id == user.id))
    kind = participant.withdrawal_kind if participant is not None else None
    if kind in ("stop_contact", "leave_study"):
        return False  # no contact of any kind
    return not (kind == "stop_sessions" and message.kind in REMINDER_KINDS)


def new_message_id(row_id: int) -> str:
    """A Message-ID in the sender's domain (``MAIL_FROM``), unique to this row."""
    domain = parseaddr(current_app.config["MAIL_FROM"])[1].rpartition("@")[2] or "hearth.invalid"
    return make_msgid(idstring=f"hearth.{row_id}", domain=domain)


def _mark_attempt(message: OutboxMessage) -> str | None:
    """Commit the Message-ID and the attempt's start before the server is contacted; None
    if the row is no longer claimed (it is then not sent)."""
    header = message.message_id or new_message_id(message.id)
    with write_transaction() as session:
        marked = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message.id, OutboxMessage.status == "sending")
            .values(message_id=header, attempt_started_at=utcnow())).rowcount
    return header if marked else None


def _finish(message_id: int, **values) -> None:
    with write_transaction() as session:
        session.execute(update(OutboxMessage)
                        .where(OutboxMessage.id == message_id, OutboxMessage.status == "sending")
                        .values(lease_until=None, attempt_started_at=None, **values))


def _sent_values(now: datetime) -> dict:
    """The contact log keeps who was sent what kind of message, when, and its subject; the body
    (which may have named a session or held a link) goes, unless the development setting
    ``OUTBOX_KEEP_SENT_BODIES`` keeps the queued text for the admin Outbox page."""
    values = {"status": "sent", "sent_at": now}
    if not current_app.config.get("OUTBOX_KEEP_SENT_BODIES"):
        values.update(body_text="", body_html=None)
    return values


def send_claimed(message_id: int, now: datetime) -> str:
    """Send one row this process has claimed; returns ``SENT``, ``CANCELLED``, ``RETRY``,
    ``FAILED`` or ``LOST`` (no longer claimed: not sent)."""
    message = db.session.get(OutboxMessage, message_id)
    db.session.refresh(message)
    user = db.session.get(User, message.recipient_id) if message.recipient_id else None
    if not _still_wanted(message, user, now):
        _finish(message_id, status="cancelled")
        return CANCELLED
    try:
        outgoing = links.fill(message, user)
    except links.LinkGone:
        _finish(message_id, status="cancelled")
        return CANCELLED
    header = _mark_attempt(message)
    if header is None:
        return LOST
    try:
        delivered = _deliver(message, user, outgoing, header)
    except Exception as exc:  # noqa: BLE001 - any transport error: retry later
        log.warning("sending outbox message %s failed: %s", message_id, type(exc).__name__)
        final = message.attempts >= MAX_ATTEMPTS
        _finish(message_id, status="failed" if final else "pending",
                last_error=f"{type(exc).__name__}: {exc}"[:500])
        if final:
            log.error("outbox message %s (%s) given up after %d attempts", message_id,
                      message.kind, message.attempts)
        return FAILED if final else RETRY
    if not delivered:  # a push to someone with no device left
        _finish(message_id, status="cancelled")
        return CANCELLED
    _finish(message_id, **_sent_values(now))
    return SENT


def _deliver(message: OutboxMessage, user: User | None, outgoing: links.Outgoing,
             header: str) -> bool:
    """Send on the message's channel; False when there was nobody to send it to."""
    from program.core.mail import send_email
    from program.messaging import push

    if message.channel == "push":
        return push.send(user, outgoing.text) > 0
    send_email(user.email if user else message.recipient_email, outgoing.subject,
               outgoing.text, outgoing.html, message_id=header)
    return True
