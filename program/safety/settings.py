"""A study's safety settings: whether risk posts stay visible while they are reviewed, and how
long an alert waits for someone to acknowledge it before it escalates."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from models import Study, User, db, write_transaction
from program.core import audit
from program.core.audit import AuditAction

#: the escalation time a study may choose, in minutes (5 minutes to a day)
ESCALATION_RANGE = (5, 24 * 60)


class SettingsError(ValueError):
    """A setting out of range; ``str(exc)`` says why."""


def set_safety(study_id: int, *, risk_posts_visible: bool, escalation_minutes: int,
               actor: User) -> bool:
    """Save the study's safety settings (audited); False when nothing changed."""
    low, high = ESCALATION_RANGE
    if not low <= escalation_minutes <= high:
        raise SettingsError(_l("Choose between %(low)d and %(high)d minutes.", low=low,
                               high=high))
    with write_transaction():
        study = db.session.get(Study, study_id, with_for_update=True, populate_existing=True)
        wanted = (bool(risk_posts_visible), int(escalation_minutes))
        if (study.risk_posts_visible, study.alert_escalation_minutes) == wanted:
            return False
        study.risk_posts_visible, study.alert_escalation_minutes = wanted
        audit.record(AuditAction.STUDY_SAFETY_SET, study, actor=actor,
                     risk_posts_visible=wanted[0], escalation_minutes=wanted[1])
    return True
