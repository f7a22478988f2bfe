"""Escalating a safety alert nobody acknowledges.

An alert first goes to the group's leaders and assistants and the study's first clinician
(:func:`program.safety.alerts.alert_recipients`). If it is still open after the study's
``alert_escalation_minutes`` (30 by default) it goes to the next clinician; after twice that,
to every clinician of the study. Each step is audited and its emails are sent at once. The
scheduler's tick runs :func:`escalate_alerts` (``PART_JOBS``); it is idempotent: a step is
taken once per alert, and a later run after downtime takes every step that fell due.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from models import SafetyAlert, Study, db, write_transaction
from program.core import audit
from program.core.audit import AuditAction
from program.messaging.immediate import send_committed
from program.safety.alerts import clinicians, notify

#: the last step: every clinician of the study has been told
LAST_STEP = 2


def step_recipients(alert: SafetyAlert, step: int) -> list[int]:
    """Step 1: the next clinician (every clinician when there is no second one); step 2:
    every clinician."""
    on_call = clinicians(alert.study_id)
    if step == 1 and len(on_call) > 1:
        return on_call[1:2]
    return on_call


def due_step(alert: SafetyAlert, minutes: int, now: datetime) -> int:
    """The furthest step due for an open alert at ``now``."""
    waited = now - alert.created_at
    return min(LAST_STEP, int(waited / timedelta(minutes=max(1, minutes))))


def _escalate_one(alert_id: int, now: datetime) -> int:
    """Take the steps due for one alert in one transaction; the number taken."""
    taken = 0
    with write_transaction():
        alert = db.session.get(SafetyAlert, alert_id, with_for_update=True,
                               populate_existing=True)
        study = db.session.get(Study, alert.study_id)
        if alert.status != "open":
            return 0
        target = due_step(alert, study.alert_escalation_minutes, now)
        while alert.escalation_step < target:
            alert.escalation_step += 1
            alert.escalated_at = now
            recipients = step_recipients(alert, alert.escalation_step)
            notify(alert.id, f"safety-alert:{alert.id}:step{alert.escalation_step}",
                   recipients, "safety_alert_escalated", level=alert.level,
                   families=tuple(filter(None, (alert.families or "").split(","))),
                   minutes=int((now - alert.created_at).total_seconds() // 60))
            audit.record(AuditAction.ALERT_ESCALATED, alert, actor=None,
                         step=alert.escalation_step, recipients=recipients)
            taken += 1
    return taken


def escalate_alerts(now: datetime) -> int:
    """Escalate every open alert whose time is up; the number of steps taken.

    Each alert's steps commit on their own and their emails are sent right after.
    """
    candidates = db.session.execute(
        select(SafetyAlert.id, SafetyAlert.created_at, SafetyAlert.escalation_step,
               Study.alert_escalation_minutes)
        .join(Study, Study.id == SafetyAlert.study_id)
        .where(SafetyAlert.status == "open", SafetyAlert.escalation_step < LAST_STEP)).all()
    db.session.commit()  # end the read transaction
    taken = 0
    for alert_id, created_at, step, minutes in candidates:
        if now - created_at >= timedelta(minutes=max(1, minutes)) * (step + 1):
            taken += _escalate_one(alert_id, now)
            send_committed(now)
    return taken
