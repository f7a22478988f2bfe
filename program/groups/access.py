"""Who may read and write a group: membership decides everything; a participant who has
withdrawn loses access at once (their posts stay)."""

from __future__ import annotations

from functools import lru_cache

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, bindparam, or_, select

from models import (
    Cohort,
    Group,
    GroupMembership,
    Participant,
    Post,
    User,
    db,
)


class PostError(Exception):
    """A write that is not allowed; ``str(exc)`` is a message for the person who tried."""


class NoAccess(PostError):
    """The user is not (or no longer) a member of the group, or the object is not in it."""


def _withdrawn(user_id):
    """SQL: the participant record of ``user_id`` (a value or a column) says they withdrew
    (any kind of withdrawal)."""
    return select(Participant.id).where(
        Participant.user_id == user_id,
        or_(Participant.status == "withdrawn", Participant.withdrawal_kind.is_not(None))).exists()


def has_withdrawn(user_id: int) -> bool:
    """True when the user's participant record says they withdrew (any kind of withdrawal)."""
    return bool(db.session.scalar(select(_withdrawn(user_id))))


def group_membership(user: User, group_id: int) -> tuple[Group, GroupMembership] | None:
    """The group and the user's membership of it, or None if they may not see it (one query)."""
    if user is None or not user.is_active:
        return None
    row = db.session.execute(_membership_statement(),
                             {"user_id": user.id, "group_id": group_id}).first()
    if row is None or (user.role == "participant" and row[2]):
        return None
    return row[0], row[1]


@lru_cache(maxsize=1)
def _membership_statement():
    """Group, membership and "has withdrawn", built once per process (every group page)."""
    user_id = bindparam("user_id")
    return (select(Group, GroupMembership, _withdrawn(user_id))
            .join(GroupMembership, and_(GroupMembership.group_id == Group.id,
                                        GroupMembership.user_id == user_id))
            .where(Group.id == bindparam("group_id")))


def membership(user: User, group_id: int) -> GroupMembership | None:
    """The user's membership of the group, or None if they may not see it."""
    found = group_membership(user, group_id)
    return found[1] if found else None


def require_membership(user: User, group_id: int) -> GroupMembership:
    member = membership(user, group_id)
    if member is None:
        raise NoAccess(_l("You are not a member of this group."))
    return member


def require_moderator(user: User, group_id: int) -> GroupMembership:
    member = require_membership(user, group_id)
    if not member.moderates:
        raise NoAccess(_l("Only this group's leaders and assistants can do that."))
    return member


def groups_of(user: User) -> list[tuple[Group, GroupMembership]]:
    """The groups the user may open, with their membership, by cohort then name."""
    if user.role == "participant" and has_withdrawn(user.id):
        return []
    rows = db.session.execute(
        select(Group, GroupMembership).join(GroupMembership)
        .where(GroupMembership.user_id == user.id)
        .order_by(Group.cohort_id, Group.kind, Group.name)
    ).all()
    return [(group, member) for group, member in rows]


def post_in_group(group_id: int, post_id: int, *, lock: bool = False) -> Post:
    """The post if it belongs to the group (so an id from another group is simply not found).

    ``lock`` reads it fresh and, on PostgreSQL, locks the row until the write transaction
    ends, so two moderators acting at once do not both hide (and notify) the same post.
    """
    if lock:
        post = db.session.get(Post, post_id, with_for_update=True, populate_existing=True)
    else:
        post = db.session.get(Post, post_id)
    if post is None or post.group_id != group_id:
        raise NoAccess(_l("No such post in this group."))
    return post


def can_start_thread(group: Group, member: GroupMembership) -> bool:
    """In a large group of a cohort set that way, only leaders and assistants start threads."""
    if member.moderates or group.kind != "large":
        return True
    cohort = db.session.get(Cohort, group.cohort_id)
    return not cohort.staff_only_threads


def active_recipients(user_ids: set[int]) -> list[User]:
    """Users among ``user_ids`` who can still read the group (active, not withdrawn)."""
    if not user_ids:
        return []
    return list(db.session.scalars(
        select(User).where(User.id.in_(user_ids), User.active.is_(True),
                           ~_withdrawn(User.id))))
