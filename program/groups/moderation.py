"""Moderation by a group's own leaders and assistants: pin, lock, hide, restore, flags."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite

from models import (
    Group,
    Post,
    PostFlag,
    User,
    db,
    utcnow,
    write_transaction,
)
from program.core import audit
from program.core.audit import AuditAction
from program.groups.access import PostError, post_in_group, require_membership, require_moderator
from program.messaging.outbox import enqueue_email

#: what moderation changes on a post: a repeat that changes none of them records nothing
_MODERATED = ("pinned", "locked", "hidden_at", "hidden_by_id", "hidden_reason")


def _moderate(user: User, group_id: int, post_id: int, action: AuditAction, change) -> Post:
    with write_transaction():
        require_moderator(user, group_id)
        post = post_in_group(group_id, post_id, lock=True)
        before = [getattr(post, name) for name in _MODERATED]
        change(post)
        if [getattr(post, name) for name in _MODERATED] != before:
            audit.record(action, post, actor=user, group_id=group_id)
    return post


def _top_level(post: Post) -> None:
    if post.parent_id is not None:
        raise PostError(_l("Only a thread's first post can be pinned or locked."))


def set_pinned(user: User, group_id: int, post_id: int, pinned: bool) -> Post:
    """Pin a thread to the top of the feed, or unpin it."""
    def change(post):
        _top_level(post)
        post.pinned = pinned
    action = AuditAction.POST_PINNED if pinned else AuditAction.POST_UNPINNED
    return _moderate(user, group_id, post_id, action, change)


def set_locked(user: User, group_id: int, post_id: int, locked: bool) -> Post:
    """Lock a thread against new replies, or open it again."""
    def change(post):
        _top_level(post)
        post.locked = locked
    action = AuditAction.POST_LOCKED if locked else AuditAction.POST_UNLOCKED
    return _moderate(user, group_id, post_id, action, change)


def hide_post(user: User, group_id: int, post_id: int, reason: str,
              now: datetime | None = None) -> Post:
    """Hide a post from members with a reason; its author is told through the outbox."""
    now = now or utcnow()
    reason = (reason or "").strip()
    if not reason:
        raise PostError(_l("Give a reason; the author will see it."))

    def change(post):
        if post.hidden_at is not None:
            return
        post.hidden_at, post.hidden_by_id, post.hidden_reason = now, user.id, reason[:1000]
        post.held_at = None  # hiding a post held for review is its review
        if post.author_id is not None and post.author_id != user.id:
            group = db.session.get(Group, group_id)
            enqueue_email(db.session.get(User, post.author_id),
                          f"post-hidden:{post.id}:{int(now.timestamp())}", "post_hidden",
                          "post_hidden", group=group.name, reason=reason)
        for flag in db.session.scalars(select(PostFlag).where(
                PostFlag.post_id == post.id, PostFlag.resolved_at.is_(None))):
            flag.resolved_at, flag.resolved_by_id = now, user.id

    return _moderate(user, group_id, post_id, AuditAction.POST_HIDDEN, change)


def restore_post(user: User, group_id: int, post_id: int) -> Post:
    """Show a hidden post again."""
    def change(post):
        post.hidden_at = post.hidden_by_id = post.hidden_reason = None
    return _moderate(user, group_id, post_id, AuditAction.POST_RESTORED, change)


def flag_post(user: User, group_id: int, post_id: int, reason: str | None = None) -> bool:
    """Ask the group's leaders to look at a post; True if this is the user's first flag of it."""
    with write_transaction():
        require_membership(user, group_id)
        post = post_in_group(group_id, post_id)
        if post.author_id == user.id:
            raise PostError(_l("You cannot flag your own post."))
        if post.deleted_at is not None or post.hidden_at is not None:
            raise PostError(_l("This post is no longer available."))
        dialect = db.session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        # RETURNING, not rowcount: psycopg reports -1 for an INSERT that returns the new id
        flag_id = db.session.execute(
            insert(PostFlag).values(post_id=post.id, user_id=user.id,
                                    reason=(reason or "").strip()[:1000] or None,
                                    created_at=utcnow())
            .on_conflict_do_nothing(index_elements=["post_id", "user_id"])
            .returning(PostFlag.id)
        ).scalar()
    return flag_id is not None


def resolve_flags(user: User, group_id: int, post_id: int, now: datetime | None = None) -> int:
    """Mark every open flag of a post as dealt with (leaving the post as it is)."""
    now = now or utcnow()
    with write_transaction():
        require_moderator(user, group_id)
        post = post_in_group(group_id, post_id, lock=True)
        flags = db.session.scalars(select(PostFlag).where(
            PostFlag.post_id == post.id, PostFlag.resolved_at.is_(None))).all()
        for flag in flags:
            flag.resolved_at, flag.resolved_by_id = now, user.id
        if flags:
            audit.record(AuditAction.FLAGS_RESOLVED, post, actor=user, group_id=group_id,
                         flags=len(flags))
    return len(flags)


def flag_queue(group_id: int) -> list[tuple[Post, int, datetime]]:
    """Posts with open flags: (post, number of open flags, first flagged), oldest first."""
    rows = db.session.execute(
        select(Post, func.count(PostFlag.id), func.min(PostFlag.created_at))
        .join(PostFlag, PostFlag.post_id == Post.id)
        .where(Post.group_id == group_id, PostFlag.resolved_at.is_(None))
        .group_by(Post.id).order_by(func.min(PostFlag.created_at))
    ).all()
    return [(post, count, first) for post, count, first in rows]
