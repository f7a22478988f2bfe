"""The adverse-event register: recording events, and turning a safety alert into one."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from models import (
    AdverseEvent,
    Participant,
    SafetyAlert,
    StudyStaff,
    db,
    utcnow,
    write_transaction,
)
from models.base import is_unique_violation
from program.core import audit
from program.core.audit import AuditAction
from program.messaging.outbox import enqueue_notice
from program.trial.records import TrialError


def record_adverse_event(
    participant_id: int,
    *,
    description: str,
    onset_on: date,
    severity: str,
    serious: bool,
    relatedness: str,
    action_taken: str | None = None,
    outcome: str = "unknown",
    alert_id: int | None = None,
    actor=None,
    submission_token: str | None = None,
) -> AdverseEvent:
    """Add an event to the register; a serious one notifies the study clinicians at once.

    With ``alert_id`` the safety alert is turned into the event in the same step and is
    marked acknowledged. A form sent again with the same ``submission_token`` returns the
    event it recorded the first time.
    """
    if submission_token:
        existing = _submitted(participant_id, submission_token)
        if existing is not None:
            return existing
    fields = {"description": description, "onset_on": onset_on, "severity": severity,
              "serious": serious, "relatedness": relatedness, "action_taken": action_taken,
              "outcome": outcome, "alert_id": alert_id, "submission_token": submission_token}
    try:
        return _record(participant_id, fields, actor)
    except IntegrityError as exc:  # the same form at the same moment: the other one recorded it
        db.session.rollback()
        existing = _submitted(participant_id, submission_token) if submission_token else None
        if existing is None or not is_unique_violation(exc):
            raise
        return existing


def _submitted(participant_id: int, token: str) -> AdverseEvent | None:
    return db.session.scalar(select(AdverseEvent).where(
        AdverseEvent.participant_id == participant_id, AdverseEvent.submission_token == token))


def _record(participant_id: int, fields: dict, actor) -> AdverseEvent:
    alert_id, serious = fields["alert_id"], fields["serious"]
    with write_transaction():
        participant = db.session.get(Participant, participant_id)
        if participant is None:
            raise TrialError("no such participant")
        event = AdverseEvent(study_id=participant.study_id, participant_id=participant.id,
                             reported_by_id=getattr(actor, "id", None), **fields)
        if alert_id is not None:
            alert = db.session.get(SafetyAlert, alert_id, with_for_update=True,
                                   populate_existing=True)
            if alert is None or alert.participant_id != participant.id:
                raise TrialError("that alert is not about this participant")
            if alert.status == "open":
                alert.status = "acknowledged"
                alert.acknowledged_at = utcnow()
                alert.owner_id = alert.owner_id or getattr(actor, "id", None)
        db.session.add(event)
        db.session.flush()
        if serious:
            clinicians = db.session.scalars(
                select(StudyStaff.user_id).where(StudyStaff.study_id == participant.study_id,
                                                 StudyStaff.is_clinician.is_(True)))
            enqueue_notice(f"serious-adverse-event:{event.id}", clinicians,
                           "serious_adverse_event", "serious_adverse_event")
        audit.record(AuditAction.ADVERSE_EVENT_RECORDED, event, actor=actor, serious=bool(serious))
    return event


def adverse_event_from_alert(alert_id: int, **fields) -> AdverseEvent:
    """Turn a safety alert into an adverse event of the alert's participant in one step."""
    alert = db.session.get(SafetyAlert, alert_id)
    if alert is None or alert.participant_id is None:
        raise TrialError("that alert is not about a participant")
    return record_adverse_event(alert.participant_id, alert_id=alert.id, **fields)
