"""Forming a cohort's groups: one whole-cohort group (the MSC large group or the CFT therapy
group) with everyone and the staff, and small peer groups of a chosen size, balanced so their
sizes differ by at most one, each with a leader and assistants from the cohort's facilitators.
Then adjusted by hand: a participant moved to another small group, a leader changed or swapped.

``balanced_sizes``, ``deal`` and ``share_staff`` are pure; the writes run in one
``write_transaction`` each and record an audit entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import load_only

from models import (
    Arm,
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

T = TypeVar("T")
S = TypeVar("S")

#: groups a cohort is divided into (the whole-cohort group is "large" or "therapy")
SMALL = "small"


class GroupingError(ValueError):
    """A grouping that cannot be made; ``str(exc)`` is a message for the researcher."""


class AlreadyDone(GroupingError):
    """The change asked for is the cohort's state already (a form sent twice): nothing was
    written; ``str(exc)`` says so."""


def lock_cohort(cohort_id: int) -> Cohort:
    """The cohort read afresh under a row lock: changes to a cohort's people and groups run
    one at a time and decide from what the one before left (SQLite's write transactions are
    one at a time already)."""
    return db.session.scalar(select(Cohort).where(Cohort.id == cohort_id).with_for_update()
                             .execution_options(populate_existing=True))


# --------------------------------------------------------------------------- pure


def balanced_sizes(n: int, size: int) -> list[int]:
    """Sizes of the fewest groups of at most ``size`` that hold ``n`` people, as even as can be.

    >>> balanced_sizes(10, 4)
    [4, 3, 3]
    >>> balanced_sizes(30, 6)
    [6, 6, 6, 6, 6]
    >>> balanced_sizes(0, 5)
    []
    """
    if size < 1:
        raise ValueError("a group holds at least one person")
    if n <= 0:
        return []
    count = -(-n // size)
    base, extra = divmod(n, count)
    return [base + 1] * extra + [base] * (count - extra)


def deal(people: Sequence[T], size: int) -> list[list[T]]:
    """Deal people into balanced groups of at most ``size``, in turn like cards, so that people
    listed next to each other (by arm, site or code) are spread over the groups.

    >>> deal("abcdefg", 3)
    [['a', 'd', 'g'], ['b', 'e'], ['c', 'f']]
    """
    groups: list[list[T]] = [[] for _ in balanced_sizes(len(people), size)]
    for i, person in enumerate(people):
        groups[i % len(groups)].append(person)
    return groups


def share_staff(count: int, leaders: Sequence[S], assistants: Sequence[S]
                ) -> list[tuple[S | None, list[S]]]:
    """A leader and assistants for each of ``count`` groups: leaders in turn (a leader leads
    more than one group when there are fewer leaders than groups), assistants dealt in turn.

    >>> share_staff(3, ["Ann", "Bo"], ["Cy"])
    [('Ann', ['Cy']), ('Bo', []), ('Ann', [])]
    """
    staff: list[tuple[S | None, list[S]]] = [
        (leaders[i % len(leaders)] if leaders else None, []) for i in range(count)]
    for i, assistant in enumerate(assistants):
        if count:
            staff[i % count][1].append(assistant)
    return staff


# --------------------------------------------------------------------------- reads


def cohort_people(cohort_id: int) -> tuple[list[Participant], list[Participant]]:
    """The cohort's program participants still taking part: (with an account, without one).
    Only people with an account can be members of a group. Their id, code and account are
    loaded, nothing else (a 2,000-person cohort's baseline records are not read to count it)."""
    people = db.session.scalars(
        select(Participant).join(Arm, Participant.arm_id == Arm.id)
        .options(load_only(Participant.id, Participant.code, Participant.user_id))
        .where(Participant.cohort_id == cohort_id, Arm.receives_program.is_(True),
               Participant.withdrawal_kind.is_(None), Participant.status != "withdrawn")
        .order_by(Participant.code)).all()
    return ([p for p in people if p.user_id is not None],
            [p for p in people if p.user_id is None])


def cohort_groups(cohort_id: int) -> list[Group]:
    """The cohort's groups, the whole-cohort group first, then the small groups by name."""
    groups = db.session.scalars(select(Group).where(Group.cohort_id == cohort_id)
                                .order_by(Group.id)).all()
    return sorted(groups, key=lambda g: (g.kind == SMALL, g.id))


@dataclass(frozen=True, slots=True)
class Member:
    """One membership of a group as its page lists it."""

    user_id: int
    role: str
    name: str  #: the account's display name


def group_members(cohort_id: int, group_id: int | None = None) -> dict[int, list[Member]]:
    """Every group's members of the cohort (or of one group), by group id, in the order they
    joined: one query of four columns, however many groups and people."""
    statement = (select(GroupMembership.group_id, GroupMembership.user_id, GroupMembership.role,
                        User.display_name)
                 .join(Group, Group.id == GroupMembership.group_id)
                 .join(User, User.id == GroupMembership.user_id)
                 .where(Group.cohort_id == cohort_id).order_by(GroupMembership.id))
    if group_id is not None:
        statement = statement.where(Group.id == group_id)
    members: dict[int, list[Member]] = {}
    for group, user_id, role, name in db.session.execute(statement):
        members.setdefault(group, []).append(Member(user_id, role, name))
    return members


def _staff(cohort_id: int) -> list[CohortFacilitator]:
    return list(db.session.scalars(select(CohortFacilitator)
                                   .where(CohortFacilitator.cohort_id == cohort_id)
                                   .order_by(CohortFacilitator.id)))


# --------------------------------------------------------------------------- forming


@dataclass
class Formed:
    """What forming a cohort's groups did."""

    created: int  #: groups created
    placed: int  #: memberships added
    without_account: int  #: program participants left out because they have no account yet


def _join(group: Group, members: dict[int, GroupMembership], user_id: int, role: str) -> int:
    if user_id in members:
        return 0
    membership = GroupMembership(group_id=group.id, user_id=user_id, role=role)
    db.session.add(membership)
    members[user_id] = membership
    return 1


def _whole_group(cohort: Cohort) -> tuple[Group, bool]:
    kinds = ("therapy",) if cohort.program == "cft" else ("large",)
    group = db.session.scalar(select(Group).where(Group.cohort_id == cohort.id,
                                                  Group.kind.in_(kinds)).order_by(Group.id))
    if group is not None:
        return group, False
    group = Group(cohort_id=cohort.id, kind=kinds[0],
                  name=gettext("Everyone in %(cohort)s", cohort=cohort.name)[:120])
    db.session.add(group)
    db.session.flush()
    return group, True


def _members(group: Group) -> dict[int, GroupMembership]:
    return {m.user_id: m for m in db.session.scalars(
        select(GroupMembership).where(GroupMembership.group_id == group.id)
        .execution_options(populate_existing=True))}


def form_groups(cohort_id: int, small_size: int | None, *, actor=None) -> Formed:
    """Form the whole-cohort group (or add newcomers to it) and, given a size, small groups.

    Small groups are formed once: when the cohort has them, move people by hand instead.
    """
    with write_transaction():
        cohort = lock_cohort(cohort_id)
        people, without = cohort_people(cohort.id)
        staff = _staff(cohort.id)
        if small_size and any(g.kind == SMALL for g in cohort_groups(cohort.id)):
            raise AlreadyDone(_l("This cohort has its small groups already; move people by "
                                 "hand."))
        if small_size and not people:
            raise GroupingError(_l("No participant of this cohort has an account yet."))
        whole, created = _whole_group(cohort)
        members = _members(whole)
        placed = sum(_join(whole, members, f.user_id,
                           "leader" if FacilitatorRole(f.role).leads else "assistant")
                     for f in staff)
        placed += sum(_join(whole, members, p.user_id, "member") for p in people)
        count = int(created)
        if small_size:
            made = _small_groups(cohort, people, small_size, staff)
            count += made[0]
            placed += made[1]
        if not count and not placed:
            raise AlreadyDone(_l("The groups are formed already: everyone is in them."))
        audit.record(AuditAction.GROUPS_FORMED, cohort, actor=actor, small_size=small_size,
                     groups_created=count, placed=placed)
    return Formed(count, placed, len(without))


def _small_groups(cohort: Cohort, people: list[Participant], size: int,
                  staff: list[CohortFacilitator]) -> tuple[int, int]:
    leaders = [f.user_id for f in staff if f.role == FacilitatorRole.GROUP_LEADER] or [
        f.user_id for f in staff if FacilitatorRole(f.role).leads]
    assistants = [f.user_id for f in staff if f.role in (FacilitatorRole.ASSISTANT_COACH,
                                                         FacilitatorRole.CO_THERAPIST)]
    dealt = deal([p.user_id for p in people], size)
    placed = 0
    for number, (members, (leader, helpers)) in enumerate(
            zip(dealt, share_staff(len(dealt), leaders, assistants), strict=True), start=1):
        group = Group(cohort_id=cohort.id, kind=SMALL,
                      name=gettext("Small group %(n)d", n=number))
        db.session.add(group)
        db.session.flush()
        joined: dict[int, GroupMembership] = {}
        if leader is not None:
            placed += _join(group, joined, leader, "leader")
        placed += sum(_join(group, joined, u, "assistant") for u in helpers)
        placed += sum(_join(group, joined, u, "member") for u in members)
    return len(dealt), placed


# --------------------------------------------------------------------------- by hand


def _small_group(group_id: int, cohort_id: int | None = None) -> Group:
    group = db.session.get(Group, group_id)
    if group is None or group.kind != SMALL or (cohort_id and group.cohort_id != cohort_id):
        raise GroupingError(_l("Choose a small group of this cohort."))
    return group


def move_member(group_id: int, user_id: int, to_group_id: int, *, actor=None) -> None:
    """Move a participant from one small group to another of the same cohort."""
    with write_transaction():
        source = _small_group(group_id)
        lock_cohort(source.cohort_id)
        target = _small_group(to_group_id, source.cohort_id)
        if target.id == source.id:
            raise GroupingError(_l("The person is already in that group."))
        membership = _members(source).get(user_id)
        moved = _members(target).get(user_id)
        if membership is None and moved is not None and moved.role == "member":
            raise AlreadyDone(_l("The person has been moved to that group already."))
        if membership is None or membership.role != "member":
            raise GroupingError(_l("Choose a participant of this group."))
        if moved is not None:
            raise GroupingError(_l("The person is already in that group."))
        db.session.delete(membership)
        db.session.add(GroupMembership(group_id=target.id, user_id=user_id, role="member"))
        audit.record(AuditAction.GROUP_MEMBER_MOVED, source, actor=actor, user_id=user_id,
                     to_group_id=target.id)


def change_leader(group_id: int, user_id: int, *, actor=None) -> Group | None:
    """Make one of the cohort's facilitators the small group's leader.

    When they lead another small group of the cohort, the two leaders swap groups (returned:
    the other group); otherwise the old leader steps down from this group.
    """
    with write_transaction():
        group = _small_group(group_id)
        lock_cohort(group.cohort_id)
        if user_id not in {f.user_id for f in _staff(group.cohort_id)}:
            raise GroupingError(_l("Choose one of the cohort's facilitators."))
        members = _members(group)
        if members.get(user_id) is not None and members[user_id].role == "leader":
            raise AlreadyDone(_l("This person already leads the group."))
        old = [m for m in members.values() if m.role == "leader"]
        other = next((g for g in cohort_groups(group.cohort_id) if g.kind == SMALL
                      and g.id != group.id and _members(g).get(user_id) is not None
                      and _members(g)[user_id].role == "leader"), None)
        for membership in old:
            db.session.delete(membership)
        if other is not None:
            _hand_over(other, user_id, [m.user_id for m in old])
        db.session.flush()
        if user_id in members and members[user_id] not in old:
            members[user_id].role = "leader"
        else:
            db.session.add(GroupMembership(group_id=group.id, user_id=user_id, role="leader"))
        audit.record(AuditAction.GROUP_LEADER_CHANGED, group, actor=actor, leader_id=user_id,
                     swapped_with=other.id if other else None)
    return other


def _hand_over(group: Group, leaving: int, arriving: list[int]) -> None:
    """The leader ``leaving`` gives ``group`` to the ``arriving`` leaders (a swap)."""
    members = _members(group)
    db.session.delete(members[leaving])
    for user_id in arriving:
        if user_id in members:
            members[user_id].role = "leader"
        else:
            db.session.add(GroupMembership(group_id=group.id, user_id=user_id, role="leader"))
