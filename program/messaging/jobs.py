"""Scheduled work: turn due events into outbox rows (``tick``) and send them (``dispatch``).

Release itself is never a job: material is visible from the calendar at request time. These
functions only send messages, and every message is an outbox row whose ``dedup_key`` names the
recipient and the event, so a second tick, a restart or a second scheduler process inserts
nothing new. ``tick`` looks at the whole calendar each time, so after downtime it catches up on
whatever became due and was not yet queued.

How stale a message may be before it is skipped (catch-up rule)
---------------------------------------------------------------
- Release notice: until the next session is released (at most ``RELEASE_NOTICE_WINDOW``);
  after that "this week's session" is a different one and the notice would mislead.
- Meeting reminders (``MEETING_REMINDERS``, 24 h and 1 h before): from their due time until
  the meeting starts. A reminder whose later sibling is also due is skipped (after an outage
  the participant gets the 1 h reminder, not both). A postponed meeting is a new event: its
  reminders carry the new start in their key.
- Practice reminder: from half-way between meetings until the next meeting starts, and only
  to participants who have logged nothing since the last meeting.
The dispatcher applies the meeting rule again: a meeting reminder queued in time but not sent
before the meeting started is cancelled, not sent late.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select

from models import (
    Cohort,
    CohortFacilitator,
    OutboxMessage,
    Participant,
    PracticeLog,
    User,
    db,
    utcnow,
    write_transaction,
)
from program.accounts.sessions import purge_sign_in_sessions
from program.assessments.questionnaires import materialise_invitations
from program.core.dates import for_recipient
from program.courses.calendar import CohortCalendar, PlannedMeeting
from program.courses.catalogue import get_catalogue
from program.courses.delivery import cohort_calendar, sees_material
from program.courses.practice_reminders import queue_own_practice_reminders
from program.groups.digests import ensure_weekly_threads, materialise_digests
from program.messaging import emails, notices, sending
from program.messaging.outbox import enqueue
from program.messaging.sending import LEASE, LEASE_MARGIN, URGENT_KINDS
from program.safety.escalation import escalate_alerts

__all__ = ["LEASE", "dispatch", "run_in_app", "tick"]

log = logging.getLogger("hearth.jobs")

MEETING_REMINDERS = (("24h", timedelta(hours=24)), ("1h", timedelta(hours=1)))
RELEASE_NOTICE_WINDOW = timedelta(days=7)
#: between messages of a batch, look for urgent ones this often
URGENT_CHECK_EVERY = 5
#: set when the scheduler is asked to stop (SIGTERM): the dispatcher hands back what it
#: claimed and has not sent, instead of leaving it to wait out the lease
STOP = threading.Event()
ACTIVE_COHORTS = ("planned", "running")


@dataclass
class TickResult:
    queued: int = 0
    skipped_stale: int = 0
    failed_cohorts: list[int] = field(default_factory=list)

#: the other parts' daily work, run after the cohorts' messages on every tick
PART_JOBS = (materialise_invitations, ensure_weekly_threads, materialise_digests,
             purge_sign_in_sessions, escalate_alerts, queue_own_practice_reminders)


# --- tick --------------------------------------------------------------------------------------


def _local(instant: datetime, user: User) -> str:
    return for_recipient(instant, user.locale, user.timezone)


def _in_language(session, user: User):
    """The session as the recipient reads it (their language, else English)."""
    return get_catalogue(user.locale).session(session.program_key, session.number)


def _participants(cohort: Cohort) -> list[tuple[Participant, User]]:
    """Participants who receive the program and want reminders (stop-contact excluded)."""
    rows = db.session.execute(
        select(Participant, User).join(User, User.id == Participant.user_id)
        .where(Participant.cohort_id == cohort.id, User.active.is_(True),
               User.reminders_enabled.is_(True))).all()
    return [(p, u) for p, u in rows if sees_material(p) and p.withdrawal_kind is None]


def _facilitators(cohort: Cohort) -> list[User]:
    return list(db.session.scalars(
        select(User).join(CohortFacilitator, CohortFacilitator.user_id == User.id)
        .where(CohortFacilitator.cohort_id == cohort.id, User.active.is_(True),
               User.reminders_enabled.is_(True))))


def _next_release(calendar: CohortCalendar, meeting: PlannedMeeting) -> datetime | None:
    later = [m.release_at for m in calendar.meetings if m.release_at > meeting.release_at]
    return min(later, default=None)


@dataclass(frozen=True)
class Due:
    """A message that should exist: rendered only if its key is not in the outbox yet."""

    key: str
    user: User
    kind: str
    template: str
    due_at: datetime
    context: dict


def _release_notices(cohort, calendar, people, now, result) -> list[Due]:
    program = get_catalogue().program(cohort.program)
    due = []
    for meeting in calendar.meetings:
        if meeting.release_at > now:
            continue
        until = min(filter(None, [_next_release(calendar, meeting),
                                  meeting.release_at + RELEASE_NOTICE_WINDOW]))
        if now >= until:
            result.skipped_stale += 1
            continue
        session = program.session(meeting.session_number)
        link = f"{emails.base_url()}/me/sessions/{session.number}"
        due += [Due(f"release:{user.id}:{cohort.id}:{meeting.session_number}", user,
                    "release_notice", "release_notice", meeting.release_at,
                    {"session": _in_language(session, user), "link": link})
                for _participant, user in people]
    return due


def _meeting_reminders(cohort, calendar, people, staff, now, result) -> list[Due]:
    program = get_catalogue().program(cohort.program)
    due = []
    for meeting in calendar.live_meetings():  # make-up meetings too
        start = meeting.actual_start
        if now >= start:
            continue
        reminders = [(kind, start - lead) for kind, lead in MEETING_REMINDERS
                     if start - lead <= now]
        if not reminders:
            continue
        kind, due_at = reminders[-1]  # the latest due reminder supersedes earlier ones
        result.skipped_stale += len(reminders) - 1
        session = program.session(meeting.session_number)
        postponed = start != meeting.planned_start  # postponed, shifted or a make-up
        for user in [u for _p, u in people] + staff:
            key = (f"meeting:{user.id}:{cohort.id}:{meeting.session_number}:"
                   f"{start:%Y%m%dT%H%MZ}:{kind}")
            due.append(Due(key, user, "meeting_reminder", "meeting_reminder", due_at,
                           {"session": _in_language(session, user), "start": start,
                            "postponed": postponed,
                            "video_link": cohort.video_link}))
    return due


def _practice_reminders(cohort, calendar, people, now, result) -> list[Due]:
    held = [m for m in calendar.meetings
            if m.actual_start is not None and m.actual_start <= now]
    if not held:
        return []
    last = max(held, key=lambda m: m.actual_start)
    cadence = timedelta(days=cohort.cadence_days or 7)
    due_at = last.actual_start + cadence / 2
    upcoming = [m.actual_start for m in calendar.meetings
                if m.actual_start is not None and m.actual_start > last.actual_start]
    until = min(upcoming, default=last.actual_start + cadence)
    if now < due_at:
        return []
    if now >= until:
        result.skipped_stale += 1
        return []
    since_day = calendar.local(last.actual_start).date()
    logged = set(db.session.scalars(select(PracticeLog.participant_id).where(
        PracticeLog.participant_id.in_([p.id for p, _u in people]),
        PracticeLog.practised_on >= since_day)))
    link = f"{emails.base_url()}/me/practice/new"
    return [Due(f"practice:{user.id}:{cohort.id}:{last.session_number}", user,
                "practice_reminder", "practice_reminder", due_at, {"link": link})
            for participant, user in people if participant.id not in logged]


def _not_queued(due: list[Due]) -> list[Due]:
    existing: set[str] = set()
    keys = [d.key for d in due] + [f"{d.key}:push" for d in due]  # by email, push or both
    for start in range(0, len(keys), 500):
        existing.update(db.session.scalars(select(OutboxMessage.dedup_key).where(
            OutboxMessage.dedup_key.in_(keys[start:start + 500]))))
    return [d for d in due if d.key not in existing and f"{d.key}:push" not in existing]


def _queue(due: list[Due]) -> int:
    """Render and insert the messages not yet queued; the dedup key still guards a race."""
    fresh = _not_queued(due)
    rendered = []
    for item in fresh:
        context = dict(item.context)
        if "start" in context:
            context["when"] = _local(context.pop("start"), item.user)
        wanted = notices.channels(item.user, item.kind)
        email = emails.render(item.template, item.user, **context) if "email" in wanted else None
        rendered.append((item, email, "push" in wanted, context))
    queued = 0
    if rendered:
        with write_transaction():
            for item, email, push_too, context in rendered:
                inserted = email is not None and enqueue(
                    item.key, item.user.id, item.kind, email.subject, email.text,
                    due_at=item.due_at, body_html=email.html)
                if push_too:
                    inserted |= notices.queue_push(item.user, item.key, item.kind,
                                                   item.template, due_at=item.due_at, **context)
                queued += bool(inserted)
    return queued


def _run_part_job(job, now: datetime) -> None:
    """Run another part's job in its own transaction; one failing must not stop the others."""
    try:
        job(now)
    except Exception:
        db.session.rollback()
        log.exception("scheduled job %s.%s failed", job.__module__, job.__name__)


def _tick_cohort(cohort_id: int, now: datetime, result: TickResult) -> int:
    cohort = db.session.get(Cohort, cohort_id)
    calendar = cohort_calendar(cohort)
    people = _participants(cohort)
    due = (_release_notices(cohort, calendar, people, now, result)
           + _meeting_reminders(cohort, calendar, people, _facilitators(cohort), now, result)
           + _practice_reminders(cohort, calendar, people, now, result))
    return _queue(due)


def tick(now: datetime) -> TickResult:
    """Queue every message due at ``now`` not queued yet; safe to run any number of times."""
    result = TickResult()
    cohort_ids = db.session.scalars(
        select(Cohort.id).where(Cohort.status.in_(ACTIVE_COHORTS)).order_by(Cohort.id)).all()
    for cohort_id in cohort_ids:
        try:
            result.queued += _tick_cohort(cohort_id, now, result)
        except Exception:  # a broken cohort (e.g. a bad time zone) must not stop the others
            db.session.rollback()
            result.failed_cohorts.append(cohort_id)
            log.exception("tick failed for cohort %s", cohort_id)
        db.session.commit()  # end the read transaction between cohorts
    for job in PART_JOBS:
        _run_part_job(job, now)
    return result


# --- dispatch ----------------------------------------------------------------------------------


@dataclass
class DispatchResult:
    claimed: int = 0
    sent: int = 0
    #: send attempts that failed (``retried`` of them go back to pending for another try)
    failed: int = 0
    retried: int = 0
    cancelled: int = 0
    released_leases: int = 0
    #: claimed but handed back unsent (stopping, or the lease about to run out)
    handed_back: int = 0
    #: of ``released_leases``, those whose sending had started (resent with the same Message-ID)
    in_doubt: int = 0

    def count(self, outcome: str) -> None:
        """Add the outcome of :func:`program.messaging.sending.send_claimed`."""
        self.sent += outcome == sending.SENT
        self.cancelled += outcome == sending.CANCELLED
        self.failed += outcome in (sending.RETRY, sending.FAILED)
        self.retried += outcome == sending.RETRY


def _urgent_waiting(now: datetime) -> bool:
    found = db.session.scalar(select(OutboxMessage.id).where(
        OutboxMessage.status == "pending", OutboxMessage.due_at <= now,
        OutboxMessage.kind.in_(URGENT_KINDS)).limit(1))
    db.session.commit()  # end the read transaction
    return found is not None


def dispatch(now: datetime, limit: int = 100) -> DispatchResult:
    """Send due messages once: claim with a lease, send, mark sent; expired leases go back.

    Urgent messages queued while a batch is on its way join it next. When the scheduler is
    stopping, or the lease is about to run out, what is left is handed back at once. What a
    crash leaves behind is described in :mod:`program.messaging.sending`.
    """
    released = sending.release_expired(now)
    result = DispatchResult(released_leases=released.released, in_doubt=released.in_doubt)
    if released.released:
        log.warning("dispatch: %d messages were stranded by a dispatcher that stopped without "
                    "finishing; their claims expired and they are pending again (%d of them "
                    "were being sent: resent with the same Message-ID)",
                    released.released, released.in_doubt)
    claimed = sending.claim(now, limit)
    result.claimed = len(claimed)
    # Stop well before the lease ends (slow SMTP), so no other dispatcher can take a row back
    # while this one is still about to send it.
    deadline = utcnow() + sending.lease() - min(LEASE_MARGIN, sending.lease() / 2)
    position = 0
    while position < len(claimed):
        current = utcnow()
        if STOP.is_set() or current >= deadline:
            result.handed_back = len(claimed) - position
            sending.unclaim(claimed[position:])
            break
        if position and position % URGENT_CHECK_EVERY == 0 and _urgent_waiting(current):
            urgent = sending.claim(current, 10, urgent_only=True)
            claimed[position:position] = urgent
            result.claimed += len(urgent)
        result.count(sending.send_claimed(claimed[position], now))
        position += 1
    db.session.commit()
    if result.claimed or result.released_leases:
        log.info("dispatch: claimed %d, sent %d, failed %d (%d to retry), cancelled %d, "
                 "handed back %d, expired claims released %d", result.claimed, result.sent,
                 result.failed, result.retried, result.cancelled, result.handed_back,
                 result.released_leases)
    return result


# --- scheduler entry points (ids in, app context pushed) ---------------------------------------


def run_in_app(app, job: str) -> None:
    """APScheduler calls this with the app (never ORM objects); each run has its own context."""
    with app.app_context():
        now = utcnow()
        if job == "tick":
            result = tick(now)
            log.info("tick: %d queued, %d stale skipped", result.queued, result.skipped_stale)
        elif job == "dispatch":
            if not STOP.is_set():
                dispatch(now)  # logs its batch
        else:
            raise ValueError(f"unknown job {job!r}")
        db.session.remove()
