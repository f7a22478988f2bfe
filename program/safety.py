"""Safety alerts: one per source object, to the group's leaders and the study's clinicians.

An alert never hides the post and never tells other members; its notification says only that
an alert needs attention (no health data leaves the application by email).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from models import GroupMembership, SafetyAlert, StudyStaff, db, utcnow
from program.outbox import enqueue


def alert_recipients(study_id: int | None, group_id: int | None) -> list[int]:
    """User ids of the study's clinicians and the group's leaders and assistants."""
    ids: set[int] = set()
    if study_id is not None:
        ids.update(db.session.scalars(
            select(StudyStaff.user_id).where(StudyStaff.study_id == study_id,
                                             StudyStaff.is_clinician.is_(True))))
    if group_id is not None:
        ids.update(db.session.scalars(
            select(GroupMembership.user_id).where(GroupMembership.group_id == group_id,
                                                  GroupMembership.role.in_(("leader",
                                                                            "assistant")))))
    return sorted(ids)


def raise_alert(
    source_kind: str,
    source_id: int,
    rule: str,
    *,
    study_id: int | None,
    participant_id: int | None = None,
    group_id: int | None = None,
) -> SafetyAlert | None:
    """Record the alert for a source object once and notify its recipients at once.

    Must run inside the write transaction that stores the source object. Returns the new
    alert, or None when that object already has one.
    """
    values = {
        "source_kind": source_kind,
        "source_id": source_id,
        "rule": rule[:120],
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
    for user_id in alert_recipients(study_id, group_id):
        enqueue(
            f"safety-alert:{alert_id}:{user_id}",
            user_id,
            "safety_alert",
            "Hearth: a safety alert needs your attention",
            "A safety alert was raised in Hearth and needs your attention. Please sign in and "
            "open the safety alerts page; details are shown there only.",
        )
    return db.session.get(SafetyAlert, alert_id)
