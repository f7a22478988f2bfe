"""Safety alerts: one per source object, to the group's leaders and the study's clinicians.

An alert never tells other members (holding a risk post is :mod:`program.safety.review`).
For risk language it names the level and the kind of statement (``RiskFinding``), never the
text: its notification and its audit entry say only that, and no participant, group or words
leave the application by email. Its emails are sent right after the commit that raised it
(:mod:`program.messaging.immediate`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import selectinload

from models import (
    AdverseEvent,
    GroupMembership,
    Post,
    PracticeLog,
    SafetyAlert,
    StudyStaff,
    User,
    db,
    utcnow,
    write_transaction,
)
from program.core import audit
from program.core.audit import AuditAction
from program.messaging.immediate import send_after_commit
from program.messaging.outbox import enqueue_notice
from program.safety.scanning import RiskFinding


def clinicians(study_id: int | None) -> list[int]:
    """User ids of the study's active clinicians, in the order they joined its staff (the
    first is on call first; escalation goes down this list)."""
    if study_id is None:
        return []
    return list(db.session.scalars(
        select(StudyStaff.user_id).join(User, User.id == StudyStaff.user_id)
        .where(StudyStaff.study_id == study_id, StudyStaff.is_clinician.is_(True),
               User.active.is_(True))
        .order_by(StudyStaff.id)))


def group_staff(group_id: int | None) -> list[int]:
    """User ids of the group's leaders and assistants."""
    if group_id is None:
        return []
    return list(db.session.scalars(
        select(GroupMembership.user_id).where(GroupMembership.group_id == group_id,
                                              GroupMembership.role.in_(("leader", "assistant")))))


def alert_recipients(study_id: int | None, group_id: int | None) -> list[int]:
    """Who is told at once: the group's leaders and assistants and the first clinician.

    The other clinicians hear of it only if nobody acknowledges it in time
    (:mod:`program.safety.escalation`); all of them can open it from the start.
    """
    return sorted(set(group_staff(group_id)) | set(clinicians(study_id)[:1]))


def notify(alert_id: int, key_prefix: str, user_ids, template: str, **context) -> None:
    """Queue an alert's email to each user and have it sent right after this commit."""
    user_ids = sorted(set(user_ids))
    enqueue_notice(key_prefix, user_ids, "safety_alert", template, **context)
    send_after_commit(f"{key_prefix}:{user_id}" for user_id in user_ids)


def raise_alert(
    source_kind: str,
    source_id: int,
    rule: str,
    *,
    study_id: int | None,
    participant_id: int | None = None,
    group_id: int | None = None,
    finding: RiskFinding | None = None,
) -> SafetyAlert | None:
    """Record the alert for a source object once and notify its recipients at once.

    ``finding`` is what screening the text found (its level and families go into the alert,
    the audit entry and the email). Must run inside the write transaction that stores the
    source object. Returns the new alert, or None when that object already has one.
    """
    values = {
        "source_kind": source_kind,
        "source_id": source_id,
        "rule": rule[:120],
        "level": finding.level if finding else None,
        "families": ",".join(finding.families) if finding else None,
        "study_id": study_id,
        "participant_id": participant_id,
        "group_id": group_id,
        "status": "open",
        "created_at": utcnow(),
    }
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(SafetyAlert).values(**values)
        .on_conflict_do_nothing(index_elements=["source_kind", "source_id"])
        .returning(SafetyAlert.id)
    )
    alert_id = db.session.execute(statement).scalar()
    if alert_id is None:
        return None
    alert = db.session.get(SafetyAlert, alert_id)
    audit.record(AuditAction.ALERT_RAISED, alert, source=source_kind, level=values["level"],
                 families=values["families"])
    notify(alert_id, f"safety-alert:{alert_id}", alert_recipients(study_id, group_id),
           "safety_alert", level=values["level"], families=finding.families if finding else ())
    return alert


# --- working an alert: who sees it, ownership, acknowledgement, note, closing ----------------


class AlertNotFound(LookupError):
    """No such alert among those the user receives."""


def _recipient_filter(user_id: int):
    clinician_of = select(StudyStaff.study_id).where(StudyStaff.user_id == user_id,
                                                     StudyStaff.is_clinician.is_(True))
    leads = select(GroupMembership.group_id).where(
        GroupMembership.user_id == user_id, GroupMembership.role.in_(("leader", "assistant")))
    return or_(SafetyAlert.study_id.in_(clinician_of), SafetyAlert.group_id.in_(leads))


def alerts_for(user, statuses: tuple[str, ...] | None = None) -> list[SafetyAlert]:
    """The alerts this user receives (their studies as clinician, their groups as leader)."""
    query = (select(SafetyAlert).where(_recipient_filter(user.id))
             .options(selectinload(SafetyAlert.participant), selectinload(SafetyAlert.owner))
             .order_by(SafetyAlert.created_at.desc()))
    if statuses:
        query = query.where(SafetyAlert.status.in_(statuses))
    return list(db.session.scalars(query))


def alert_for(user, alert_id: int, *, lock: bool = False) -> SafetyAlert:
    """One alert if the user receives it; AlertNotFound otherwise (no hint that it exists).

    ``lock`` (inside a write transaction) reads it fresh and locks its row on PostgreSQL, so
    two recipients acting at once do not overwrite each other.
    """
    query = select(SafetyAlert).where(SafetyAlert.id == alert_id, _recipient_filter(user.id))
    if lock:
        query = query.with_for_update(of=SafetyAlert).execution_options(populate_existing=True)
    alert = db.session.scalar(query)
    if alert is None:
        raise AlertNotFound(alert_id)
    return alert


def take_ownership(user, alert_id: int) -> SafetyAlert:
    """Make the user the alert's owner (the person following it up)."""
    with write_transaction():
        alert = alert_for(user, alert_id, lock=True)
        if alert.owner_id != user.id:
            alert.owner_id = user.id
            audit.record(AuditAction.ALERT_OWNED, alert, actor=user)
    return alert


def acknowledge(user, alert_id: int) -> SafetyAlert:
    """Record that someone has seen the alert; the first one to act also becomes its owner."""
    with write_transaction():
        alert = alert_for(user, alert_id, lock=True)
        if alert.status == "open":
            alert.status = "acknowledged"
            alert.acknowledged_at, alert.acknowledged_by_id = utcnow(), user.id
            if alert.owner_id is None:
                alert.owner_id = user.id
            audit.record(AuditAction.ALERT_ACKNOWLEDGED, alert, actor=user)
    return alert


def set_note(user, alert_id: int, note: str) -> SafetyAlert:
    """Replace the alert's follow-up note (kept in the alert, never in the audit log)."""
    with write_transaction():
        alert = alert_for(user, alert_id, lock=True)
        note = (note or "").strip() or None
        if alert.note != note:
            alert.note = note
            audit.record(AuditAction.ALERT_NOTE, alert, actor=user)
    return alert


def close_alert(user, alert_id: int) -> SafetyAlert:
    """Close the alert once it has been followed up (acknowledging it if nobody had)."""
    with write_transaction():
        alert = alert_for(user, alert_id, lock=True)
        if alert.status != "closed":
            now = utcnow()
            if alert.acknowledged_at is None:
                alert.acknowledged_at, alert.acknowledged_by_id = now, user.id
            alert.owner_id = alert.owner_id or user.id
            alert.status, alert.closed_at, alert.closed_by_id = "closed", now, user.id
            audit.record(AuditAction.ALERT_CLOSED, alert, actor=user)
    return alert


# --- counts: the navigation's badge, the study's register ----------------------------------


def open_count(user) -> int:
    """How many alerts this user receives are still open (one indexed count, every page)."""
    return db.session.scalar(select(func.count(SafetyAlert.id)).where(
        SafetyAlert.status == "open", _recipient_filter(user.id))) or 0


def open_sources(source_kind: str, source_ids) -> set[int]:
    """Which of these sources have an alert nobody has closed yet."""
    ids = list(source_ids)
    if not ids:
        return set()
    return set(db.session.scalars(select(SafetyAlert.source_id).where(
        SafetyAlert.source_kind == source_kind, SafetyAlert.source_id.in_(ids),
        SafetyAlert.status != "closed")))


@dataclass(frozen=True)
class StudyAlerts:
    """A study's safety alerts as the adverse-event register counts them."""

    total: int
    open: int
    recorded: int  #: turned into an adverse event

    @property
    def not_recorded(self) -> int:
        return self.total - self.recorded


def study_alerts(study_id: int) -> StudyAlerts:
    """Every alert of the study (with or without a participant), open ones, and those the
    register holds as adverse events."""
    total, still_open, recorded = db.session.execute(
        select(func.count(SafetyAlert.id),
               func.count(SafetyAlert.id).filter(SafetyAlert.status == "open"),
               func.count(AdverseEvent.id))
        .outerjoin(AdverseEvent, AdverseEvent.alert_id == SafetyAlert.id)
        .where(SafetyAlert.study_id == study_id)).one()
    return StudyAlerts(total, still_open, recorded)


EXCERPT_LENGTH = 140


def excerpts(alerts) -> dict[int, str]:
    """The start of what raised each alert (a post's or a practice note's text), by alert id,
    for the pages of the people who receive them; never stored with the alert."""
    ids = {kind: [a.source_id for a in alerts if a.source_kind == kind]
           for kind in ("post", "practice_log")}
    texts: dict[tuple[str, int], str] = {}
    if ids["post"]:
        texts.update((("post", i), body) for i, body in db.session.execute(
            select(Post.id, Post.body).where(Post.id.in_(ids["post"]))))
    if ids["practice_log"]:
        texts.update((("practice_log", i), note or "") for i, note in db.session.execute(
            select(PracticeLog.id, PracticeLog.note).where(PracticeLog.id.in_(
                ids["practice_log"]))))
    shown = {}
    for alert in alerts:
        text = " ".join(texts.get((alert.source_kind, alert.source_id), "").split())
        if text:
            cut = len(text) > EXCERPT_LENGTH
            shown[alert.id] = text[:EXCERPT_LENGTH].rstrip() + ("…" if cut else "")
    return shown
