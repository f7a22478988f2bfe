"""Writes of the study setup pages: arms, cohorts, timepoints and a group's leaders, and the
check of eligibility rules.

Each function runs one write transaction and records it in the audit log; the views check the
input first, so nothing here is written from a form that did not validate.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from models import (
    AllocationSlot,
    Arm,
    Cohort,
    Group,
    GroupMembership,
    Timepoint,
    db,
    write_transaction,
)
from models.cohorts import country_for_zone
from program.core import audit
from program.core.audit import AuditAction

ARM_FIELDS = ("key", "name", "receives_program", "allocation_ratio")
COHORT_FIELDS = ("name", "start_date", "timezone", "meeting_weekday", "meeting_time",
                 "cadence_days", "session_count", "release_lead_minutes", "video_link",
                 "min_minutes_present", "status")
TIMEPOINT_FIELDS = ("key", "label", "position", "opens_day", "closes_day", "instruments")


def allocation_list_exists(study_id: int) -> bool:
    return bool(db.session.scalar(select(func.count()).select_from(AllocationSlot)
                                  .where(AllocationSlot.study_id == study_id)))


class SetupError(ValueError):
    """Set-up input that cannot be saved; ``str(exc)`` is a message for the researcher."""


def check_rules(rules) -> None:
    """Eligibility rules must be a list of inclusion/exclusion rules of a known kind."""
    if not isinstance(rules, list):
        raise SetupError(_l("Eligibility rules must be a list."))
    for rule in rules:
        if not isinstance(rule, dict) or not rule.get("key") or not rule.get("label"):
            raise SetupError(_l("Every rule needs a key and a label."))
        if rule.get("type") not in ("inclusion", "exclusion"):
            raise SetupError(_l("Rule %(key)s: type must be inclusion or exclusion.",
                                key=rule["key"]))
        if rule.get("kind") not in ("number", "yes_no"):
            raise SetupError(_l("Rule %(key)s: kind must be number or yes_no.",
                                key=rule["key"]))


def save_arm(study_id: int, arm_id: int | None, values: dict) -> Arm:
    with write_transaction():
        arm = db.session.get(Arm, arm_id) if arm_id else Arm(study_id=study_id)
        for name in ARM_FIELDS:
            setattr(arm, name, values[name])
        db.session.add(arm)
        db.session.flush()
        audit.record(AuditAction.ARM_SAVED if arm_id else AuditAction.ARM_CREATED, arm, key=arm.key)
    return arm


def save_cohort(study_id: int, cohort_id: int | None, values: dict, program: str) -> Cohort:
    with write_transaction():
        cohort = (db.session.get(Cohort, cohort_id) if cohort_id
                  else Cohort(study_id=study_id, program=program))
        for name in COHORT_FIELDS:
            setattr(cohort, name, values[name])
        cohort.country = values.get("country") or country_for_zone(cohort.timezone)
        db.session.add(cohort)
        db.session.flush()
        audit.record(AuditAction.COHORT_SAVED if cohort_id else AuditAction.COHORT_CREATED,
                     cohort)
    return cohort


def save_timepoint(study_id: int, timepoint_id: int | None, values: dict) -> Timepoint:
    with write_transaction():
        tp = db.session.get(Timepoint, timepoint_id) if timepoint_id else Timepoint(
            study_id=study_id)
        for name in TIMEPOINT_FIELDS:
            setattr(tp, name, list(values[name]) if name == "instruments" else values[name])
        db.session.add(tp)
        db.session.flush()
        audit.record(AuditAction.TIMEPOINT_SAVED if timepoint_id else AuditAction.TIMEPOINT_CREATED,
                     tp, key=tp.key)
    return tp


def set_group_staff(group_id: int, leaders: list[int], assistants: list[int]) -> None:
    """Make exactly these accounts the group's leaders and assistants (members stay)."""
    wanted = {**{u: "assistant" for u in assistants}, **{u: "leader" for u in leaders}}
    with write_transaction():
        group = db.session.get(Group, group_id)
        existing = {m.user_id: m for m in db.session.scalars(
            select(GroupMembership).where(GroupMembership.group_id == group_id))}
        for user_id, membership in existing.items():
            if membership.role in ("leader", "assistant") and user_id not in wanted:
                db.session.delete(membership)
        for user_id, role in wanted.items():
            if user_id in existing:
                existing[user_id].role = role
            else:
                db.session.add(GroupMembership(group_id=group_id, user_id=user_id, role=role))
        audit.record(AuditAction.GROUP_STAFF_SET, group, leaders=sorted(leaders),
                     assistants=sorted(assistants))
