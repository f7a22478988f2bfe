"""Enrolment: screening against the rules, consent, and placing participants in cohorts and
groups. Every write runs in its own ``write_transaction`` and records an audit entry."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import date

from sqlalchemy import select

from models import (
    Arm,
    Cohort,
    Group,
    GroupMembership,
    Participant,
    Screening,
    db,
    write_transaction,
)
from program.core import audit
from program.core.audit import AuditAction
from program.trial.eligibility import failed_rules
from program.trial.records import TrialError, participant_for_update


def screen(participant_id: int, answers: Mapping[str, object], *, on: date, actor=None
           ) -> Screening:
    """Record a screening against the study's rules and which rules excluded the person."""
    with write_transaction():
        participant = participant_for_update(participant_id)
        return screen_locked(participant, answers, on=on, actor=actor)


def screen_locked(participant: Participant, answers: Mapping[str, object], *, on: date,
                  actor=None, action: AuditAction = AuditAction.PARTICIPANT_SCREENED
                  ) -> Screening:
    """:func:`screen` inside the caller's transaction, on a participant it locked."""
    if participant.status not in ("applied", "screened", "ineligible"):
        raise TrialError("this person is past screening")
    rules = participant.study.eligibility_rules or []
    failed = failed_rules(rules, answers)
    screening = db.session.scalar(
        select(Screening).where(Screening.participant_id == participant.id))
    if (screening is not None and screening.screened_on == on
            and screening.answers == dict(answers)):
        return screening  # the same form sent again: already recorded
    if screening is None:
        screening = Screening(participant_id=participant.id)
        db.session.add(screening)
    screening.screened_on = on
    screening.answers = dict(answers)
    screening.eligible = not failed
    screening.failed_rules = failed
    screening.screened_by_id = getattr(actor, "id", None)
    participant.screened_on = on
    participant.eligible = not failed
    participant.exclusion_reasons = failed
    participant.status = "screened" if not failed else "ineligible"
    audit.record(action, participant, actor=actor)
    return screening


def record_consent(participant_id: int, version: str, *, on: date, actor=None) -> None:
    """Record informed consent to the study's current information sheet."""
    with write_transaction():
        consent_locked(participant_for_update(participant_id), version, on=on, actor=actor)


def consent_locked(participant: Participant, version: str, *, on: date, actor=None,
                   action: AuditAction = AuditAction.PARTICIPANT_CONSENTED) -> None:
    """:func:`record_consent` inside the caller's transaction, on a participant it locked."""
    if participant.eligible is not True:
        raise TrialError("consent can only be recorded for an eligible person")
    current = participant.study.consent_version
    if not version or (current and version != current):
        raise TrialError(f"consent must be to the current information sheet ({current})")
    if participant.consented_on == on and participant.consent_version == version:
        return  # the same consent sent again: already recorded
    participant.consented_on = on
    participant.consent_version = version
    if participant.status == "screened":
        participant.status = "consented"
    audit.record(action, participant, actor=actor, version=version)


def assign_cohort(participant_id: int, cohort_id: int, *, actor=None) -> None:
    """Place an allocated person in a cohort of their study (its dates drive assessments)."""
    with write_transaction():
        participant = participant_for_update(participant_id)
        cohort = db.session.get(Cohort, cohort_id)
        if cohort is None or cohort.study_id != participant.study_id:
            raise TrialError("that cohort belongs to another study")
        if participant.arm_id is None:
            raise TrialError("allocate the person before assigning a cohort")
        if participant.cohort_id == cohort.id:
            return  # already in this cohort
        participant.cohort_id = cohort.id
        audit.record(AuditAction.COHORT_ASSIGNED, participant, actor=actor,
                     cohort_id=cohort.id)


def assign_groups(cohort_id: int, *, actor=None) -> int:
    """Put every program participant of a cohort without a group into the smallest group.

    Small peer groups (or the therapy group) are filled by size, ties to the older group; the
    large group, where there is one, takes everyone. Leaders are set by hand. Returns how many
    memberships were added.
    """
    with write_transaction():
        # one assignment of a cohort at a time: each fills groups by the sizes it reads
        db.session.execute(select(Cohort.id).where(Cohort.id == cohort_id).with_for_update())
        groups = db.session.scalars(
            select(Group).where(Group.cohort_id == cohort_id).order_by(Group.id)).all()
        small = [g for g in groups if g.kind in ("small", "therapy")]
        large = [g for g in groups if g.kind == "large"]
        people = db.session.scalars(
            select(Participant).join(Arm, Participant.arm_id == Arm.id)
            .where(Participant.cohort_id == cohort_id, Arm.receives_program.is_(True),
                   Participant.user_id.is_not(None), Participant.withdrawal_kind.is_(None))
            .order_by(Participant.id)).all()
        size = Counter()
        members: dict[int, set[int]] = {}
        for g in groups:
            ids = set(db.session.scalars(
                select(GroupMembership.user_id).where(GroupMembership.group_id == g.id)))
            members[g.id] = ids
            size[g.id] = len(db.session.scalars(
                select(GroupMembership.id).where(GroupMembership.group_id == g.id,
                                                 GroupMembership.role == "member")).all())
        added = 0
        for person in people:
            if small and not any(person.user_id in members[g.id] for g in small):
                target = min(small, key=lambda g: (size[g.id], g.id))
                db.session.add(GroupMembership(group_id=target.id, user_id=person.user_id))
                members[target.id].add(person.user_id)
                size[target.id] += 1
                added += 1
            for g in large:
                if person.user_id not in members[g.id]:
                    db.session.add(GroupMembership(group_id=g.id, user_id=person.user_id))
                    members[g.id].add(person.user_id)
                    added += 1
        if added:  # a second click finds everyone placed and records nothing
            audit.record(AuditAction.GROUPS_ASSIGNED, None, actor=actor, cohort_id=cohort_id,
                         added=added)
    return added
