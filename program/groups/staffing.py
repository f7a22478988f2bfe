"""A cohort's people: its facilitators with their roles, and the participants placed in it.

Each write runs in one ``write_transaction`` and records an audit entry.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from models import (
    Cohort,
    CohortFacilitator,
    Group,
    GroupMembership,
    Participant,
    User,
    db,
    write_transaction,
)
from models.cohorts import FacilitatorRole
from program.core import audit
from program.core.audit import AuditAction
from program.groups.formation import AlreadyDone, GroupingError, lock_cohort


def facilitator_accounts() -> list[User]:
    """Active facilitator accounts, by name: who can be given a part in a cohort."""
    return list(db.session.scalars(select(User).where(User.role == "facilitator", User.active)
                                   .order_by(User.display_name, User.id)))


def cohort_facilitators(cohort_id: int) -> list[tuple[CohortFacilitator, User]]:
    """The cohort's facilitators with their accounts, leads first."""
    rows = db.session.execute(
        select(CohortFacilitator, User).join(User, User.id == CohortFacilitator.user_id)
        .where(CohortFacilitator.cohort_id == cohort_id)
        .order_by(CohortFacilitator.is_lead.desc(), User.display_name)).all()
    return [(f, u) for f, u in rows]


def add_facilitator(cohort_id: int, user_id: int, role: str, *, actor=None
                    ) -> CohortFacilitator:
    """Give a facilitator account a part in the cohort (or change the part they have)."""
    with write_transaction():
        # the cohort locked and read afresh: one change at a time (a double click adds once)
        cohort = db.session.scalar(select(Cohort).where(Cohort.id == cohort_id).with_for_update()
                                   .execution_options(populate_existing=True))
        user = db.session.get(User, user_id)
        if user is None or user.role != "facilitator" or not user.active:
            raise GroupingError(_l("Choose an active facilitator account."))
        if role not in FacilitatorRole.of_program(cohort.program):
            raise GroupingError(_l("That role is not one of this program's."))
        row = db.session.scalar(select(CohortFacilitator).where(
            CohortFacilitator.cohort_id == cohort.id, CohortFacilitator.user_id == user.id)
            .execution_options(populate_existing=True))
        if row is not None and row.role == role:
            return row  # already so: nothing changes, nothing is audited
        if row is None:
            row = CohortFacilitator(cohort_id=cohort.id, user_id=user.id)
            db.session.add(row)
        row.role = role
        row.is_lead = FacilitatorRole(role).leads
        db.session.flush()
        audit.record(AuditAction.FACILITATOR_ADDED, cohort, actor=actor, user_id=user.id,
                     role=role)
    return row


def remove_facilitator(cohort_id: int, user_id: int, *, actor=None) -> None:
    """Take a facilitator off the cohort, and off the leading of its groups."""
    with write_transaction():
        cohort = lock_cohort(cohort_id)
        row = db.session.scalar(select(CohortFacilitator).where(
            CohortFacilitator.cohort_id == cohort_id, CohortFacilitator.user_id == user_id)
            .execution_options(populate_existing=True))
        if row is None:
            user = db.session.get(User, user_id)
            if user is None or user.role != "facilitator":
                raise GroupingError(_l("This person is not a facilitator of the cohort."))
            raise AlreadyDone(_l("%(name)s is not a facilitator of the cohort (any more).",
                                 name=user.display_name))
        for membership in db.session.scalars(
                select(GroupMembership).join(Group, Group.id == GroupMembership.group_id)
                .where(Group.cohort_id == cohort_id, GroupMembership.user_id == user_id,
                       GroupMembership.role.in_(("leader", "assistant")))):
            db.session.delete(membership)
        db.session.delete(row)
        audit.record(AuditAction.FACILITATOR_REMOVED, cohort, actor=actor, user_id=user_id)


def waiting_participants(cohort: Cohort) -> list[Participant]:
    """The study's allocated participants in no cohort yet who still take part, by code."""
    return list(db.session.scalars(
        select(Participant).where(Participant.study_id == cohort.study_id,
                                  Participant.arm_id.is_not(None),
                                  Participant.cohort_id.is_(None),
                                  Participant.withdrawal_kind.is_(None),
                                  Participant.status != "withdrawn")
        .order_by(Participant.code)))


def placed_participants(cohort: Cohort) -> list[Participant]:
    """The participants placed in the cohort."""
    return list(db.session.scalars(select(Participant).where(Participant.cohort_id == cohort.id)
                                   .execution_options(populate_existing=True)))


def assign_participants(cohort_id: int, participant_ids: Iterable[int], *, actor=None) -> int:
    """Place allocated participants of the cohort's study, not yet in a cohort, in it.
    All or nothing: one that cannot be placed refuses the lot."""
    with write_transaction():
        cohort = lock_cohort(cohort_id)
        allowed = {p.id: p for p in waiting_participants(cohort)}
        chosen = list(dict.fromkeys(participant_ids))
        if chosen and not allowed.keys() & set(chosen) \
                and set(chosen) <= {p.id for p in placed_participants(cohort)}:
            raise AlreadyDone(_l("These participants are in the cohort already."))
        if not chosen or any(pid not in allowed for pid in chosen):
            raise GroupingError(_l("Choose allocated participants of this study who are in "
                                   "no cohort yet."))
        for pid in chosen:
            allowed[pid].cohort_id = cohort.id
            audit.record(AuditAction.COHORT_ASSIGNED, allowed[pid], actor=actor,
                         cohort_id=cohort.id)
    return len(chosen)
