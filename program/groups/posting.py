"""Peer-group posts: who may read and write a group, posting, moderation, weekly threads, digests.

Membership decides everything: a user reads and writes only the groups they are a member of,
and a participant who has withdrawn loses access at once (their posts stay). Moderation is for
the group's own leaders and assistants. Every write runs in one ``write_transaction`` together
with its audit entry, its safety alert and its outbox messages.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, bindparam, func, literal, or_, select, union_all, update
from sqlalchemy.dialects import postgresql, sqlite

from models import (
    Cohort,
    Group,
    GroupMembership,
    OutboxMessage,
    Participant,
    Post,
    PostFlag,
    User,
    db,
    utcnow,
    write_transaction,
)
from models.base import is_unique_violation
from program.core import audit
from program.core.audit import AuditAction
from program.courses import markdown
from program.courses.calendar import is_released
from program.courses.delivery import cohort_calendar
from program.messaging.outbox import enqueue_email
from program.safety.alerts import raise_alert
from program.safety.scanning import scan_for_risk

EDIT_WINDOW = timedelta(minutes=30)
MAX_BODY = 10_000
MAX_TITLE = 200
WEEKLY_TITLE = "Week {n}: share how the practice went"


class PostError(Exception):
    """A write that is not allowed; ``str(exc)`` is a message for the person who tried."""


class NoAccess(PostError):
    """The user is not (or no longer) a member of the group, or the object is not in it."""


# --- access ----------------------------------------------------------------------------------


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


# --- writing ---------------------------------------------------------------------------------


def _clean_body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise PostError(_l("Write something before posting."))
    if len(body) > MAX_BODY:
        raise PostError(_l("A post can be at most %(n)d characters long.", n=MAX_BODY))
    return body


def _scan_for_risk(post: Post, group: Group) -> None:
    """Raise one alert for the post if its text suggests risk (never more than one per post)."""
    rule = scan_for_risk(f"{post.title or ''}\n{post.body}")
    if rule is None or post.author_id is None:
        return
    cohort = db.session.get(Cohort, group.cohort_id)
    participant_id = db.session.scalar(
        select(Participant.id).where(Participant.user_id == post.author_id))
    raise_alert("post", post.id, rule, study_id=cohort.study_id,
                participant_id=participant_id, group_id=group.id)


def _active_recipients(user_ids: set[int]) -> list[User]:
    """Users among ``user_ids`` who can still read the group (active, not withdrawn)."""
    if not user_ids:
        return []
    return list(db.session.scalars(
        select(User).where(User.id.in_(user_ids), User.active.is_(True),
                           ~_withdrawn(User.id))))


def _notify_reply(reply: Post, thread: Post, group: Group) -> None:
    if thread.author_id is None or thread.author_id == reply.author_id:
        return
    for user in _active_recipients({thread.author_id}):
        if user.notify_replies == "immediate":
            enqueue_email(user, f"reply:{reply.id}:{user.id}", "post_reply", "post_reply",
                          group=group.name, link=_thread_url(group.id, thread.id))


def _notify_announcement(post: Post, group: Group) -> None:
    member_ids = set(db.session.scalars(
        select(GroupMembership.user_id).where(GroupMembership.group_id == group.id)))
    member_ids.discard(post.author_id)
    for user in _active_recipients(member_ids):
        if user.notify_announcements == "immediate":
            enqueue_email(user, f"announcement:{post.id}:{user.id}", "announcement",
                          "announcement", group=group.name, link=_thread_url(group.id, post.id))


def _thread_url(group_id: int, post_id: int) -> str:
    base = current_app.config.get("BASE_URL", "").rstrip("/")
    return f"{base}/groups/{group_id}/posts/{post_id}"


def create_post(author: User, group_id: int, body: str, *, title: str | None = None,
                parent_id: int | None = None, submission_token: str | None = None,
                now: datetime | None = None) -> Post:
    """Start a thread or reply to one (replies go one level deep) and screen it for risk.

    A repeated ``submission_token`` (a double-submitted form) returns the first post.
    """
    now = now or utcnow()
    body = _clean_body(body)
    title = (title or "").strip()[:MAX_TITLE] or None
    if submission_token:
        existing = db.session.scalar(select(Post).where(
            Post.author_id == author.id, Post.submission_token == submission_token))
        if existing is not None:
            return existing
    try:
        with write_transaction():
            member = require_membership(author, group_id)
            group = db.session.get(Group, group_id)
            thread = None
            if parent_id is not None:
                thread = post_in_group(group_id, parent_id)
                if thread.parent_id is not None:  # a reply to a reply joins the same thread
                    thread = post_in_group(group_id, thread.parent_id)
                if thread.locked:
                    raise PostError(_l("This thread is locked; no new replies."))
                if thread.deleted_at is not None or thread.hidden_at is not None:
                    raise PostError(_l("This post is no longer available."))
                title = None
            elif not can_start_thread(group, member):
                raise PostError(_l("In this group only the course team can start new threads."))
            post = Post(group_id=group_id, author_id=author.id,
                        parent_id=thread.id if thread else None, title=title, body=body,
                        body_html=markdown.render(body), created_at=now,
                        announcement=thread is None and member.moderates,
                        submission_token=submission_token)
            db.session.add(post)
            db.session.flush()
            _scan_for_risk(post, group)
            if thread is not None:
                _notify_reply(post, thread, group)
            elif post.announcement:
                _notify_announcement(post, group)
    except Exception as exc:
        if submission_token and is_unique_violation(exc):
            db.session.rollback()
            return db.session.scalar(select(Post).where(
                Post.author_id == author.id, Post.submission_token == submission_token))
        raise
    return post


def can_edit(user: User, post: Post, now: datetime | None = None) -> bool:
    """Authors edit their own visible post within the edit window."""
    now = now or utcnow()
    return (post.author_id == user.id and post.deleted_at is None and post.hidden_at is None
            and now - post.created_at <= EDIT_WINDOW)


def edit_post(user: User, group_id: int, post_id: int, body: str, *,
              title: str | None = None, now: datetime | None = None) -> Post:
    """Change one's own post within the edit window; the new text is screened again."""
    now = now or utcnow()
    body = _clean_body(body)
    with write_transaction():
        require_membership(user, group_id)
        post = post_in_group(group_id, post_id, lock=True)
        if post.author_id != user.id:
            raise NoAccess(_l("You can only edit your own posts."))
        if not can_edit(user, post, now):
            raise PostError(_l("This post can no longer be edited."))
        post.body = body
        post.body_html = markdown.render(body)
        if post.parent_id is None and title is not None:
            post.title = title.strip()[:MAX_TITLE] or None
        post.edited_at = now
        db.session.flush()
        _scan_for_risk(post, db.session.get(Group, group_id))
    return post


def delete_post(user: User, group_id: int, post_id: int, now: datetime | None = None) -> Post:
    """Delete one's own post: it disappears from the feed (kept for safety review)."""
    with write_transaction():
        require_membership(user, group_id)
        post = post_in_group(group_id, post_id, lock=True)
        if post.author_id != user.id:
            raise NoAccess(_l("You can only delete your own posts."))
        if post.deleted_at is None:
            post.deleted_at = now or utcnow()
    return post


def mark_author_removed(user_id: int) -> int:
    """Show every post of this user as from "a former member" (their data-removal request).

    The posts stay, so threads keep their sense, but no longer point at the user: the author is
    cleared and the post marked as from a removed author. Call it inside the write transaction
    that records the removal. Returns the number of posts changed.
    """
    return db.session.execute(
        update(Post).where(Post.author_id == user_id)
        .values(author_id=None, author_removed=True)
    ).rowcount


# --- moderation ------------------------------------------------------------------------------


def _moderate(user: User, group_id: int, post_id: int, action: AuditAction, change) -> Post:
    with write_transaction():
        require_moderator(user, group_id)
        post = post_in_group(group_id, post_id, lock=True)
        change(post)
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


# --- the feed --------------------------------------------------------------------------------


@dataclass
class Thread:
    post: Post
    replies: list[Post] = field(default_factory=list)


@dataclass
class FeedPage:
    pinned: list[Thread]
    threads: list[Thread]
    next_cursor: str | None
    authors: dict[int, str]  #: author id -> display name
    roles: dict[int, str]  #: author id -> leader / assistant / member in this group
    open_flags: dict[int, int]  #: post id -> open flags (moderators only)
    flagged_by_me: set[int]


def encode_cursor(post: Post) -> str:
    stamp = post.created_at.astimezone(UTC)
    return f"{int(stamp.timestamp() * 1_000_000)}-{post.id}"


def decode_cursor(cursor: str | None) -> tuple[datetime, int] | None:
    if not cursor:
        return None
    try:
        micros, post_id = (int(part) for part in cursor.split("-", 1))
        if not 0 < post_id < 2**31:  # no post has such an id (ids are 32-bit integers)
            return None
        return datetime.fromtimestamp(micros / 1_000_000, UTC), post_id
    except (ValueError, OverflowError, OSError):
        return None


def _visible(post: Post, viewer: User, moderator: bool) -> bool:
    if post.deleted_at is not None:
        return False
    return post.hidden_at is None or moderator or post.author_id == viewer.id


def _newest_first(post: Post):
    return (post.created_at, post.id)


def feed(viewer: User, member: GroupMembership, *, cursor: str | None = None,
         per_page: int = 20) -> FeedPage:
    """One page of a group's feed in one query, whatever ``per_page`` is.

    Pinned threads come first (on the first page), then threads newest first, each with its
    replies oldest first. Paging is by keyset on (created_at, id), so page 50 costs what page
    1 costs. The page's thread ids are a CTE; the posts, their replies, authors and flags come
    back together.
    """
    position = decode_cursor(cursor)
    params = {"group_id": member.group_id, "viewer_id": viewer.id, "limit": per_page + 1}
    if position is not None:
        params["stamp"], params["before_id"] = position
    statement = _feed_statement(member.moderates, paged=position is not None)
    found = _found(viewer, member, db.session.execute(statement, params).all())
    threads = sorted((p for p in found.posts if p.parent_id is None),
                     key=_newest_first, reverse=True)
    pinned = [p for p in threads if p.pinned and position is None]
    page = [p for p in threads if not (p.pinned and position is None)]
    next_cursor = encode_cursor(page[per_page - 1]) if len(page) > per_page else None
    return found.page(pinned, page[:per_page], next_cursor)


@lru_cache(maxsize=4)
def _feed_statement(moderator: bool, paged: bool):
    """The feed query for a moderator or a member, first page or later, built once per
    process (building and keying it took longer than running it): values are bound params."""
    group_id, viewer_id = bindparam("group_id"), bindparam("viewer_id")
    top = (Post.group_id == group_id, Post.parent_id.is_(None), Post.deleted_at.is_(None))
    if not moderator:
        top += (or_(Post.hidden_at.is_(None), Post.author_id == viewer_id),)
    latest = select(Post.id).where(*top, Post.pinned.is_(False))
    if paged:
        stamp = bindparam("stamp", type_=Post.created_at.type)
        latest = latest.where(or_(Post.created_at < stamp,
                                  and_(Post.created_at == stamp,
                                       Post.id < bindparam("before_id"))))
    latest = latest.order_by(Post.created_at.desc(), Post.id.desc()).limit(bindparam("limit"))
    heads = select(latest.subquery().c.id)
    if not paged:
        heads = union_all(select(Post.id).where(*top, Post.pinned.is_(True)), heads)
    return _posts_statement(moderator, heads.cte("page_heads"))


@dataclass
class _Found:
    """Posts read for a page with what the page shows beside them."""

    posts: list[Post]
    replies: dict[int, list[Post]]
    authors: dict[int, str]
    roles: dict[int, str]
    open_flags: dict[int, int]
    flagged_by_me: set[int]

    def page(self, pinned: list[Post], threads: list[Post], next_cursor: str | None) -> FeedPage:
        return FeedPage(
            pinned=[Thread(p, self.replies[p.id]) for p in pinned],
            threads=[Thread(p, self.replies[p.id]) for p in threads],
            next_cursor=next_cursor, authors=self.authors, roles=self.roles,
            open_flags=self.open_flags, flagged_by_me=self.flagged_by_me)


def _posts_statement(moderator: bool, heads):
    """The threads whose ids ``heads`` (a CTE) holds and their replies, with each author's name
    and role in the group, whether the viewer flagged the post and (for moderators) its open
    flags, walking the few head ids through the primary key and the thread index however big
    the group is. Binds ``group_id`` and ``viewer_id``."""
    group_id, viewer_id = bindparam("group_id"), bindparam("viewer_id")
    # The heads' ids and their replies' ids (through the thread index), then each post by
    # its primary key: an OR in the join would make SQLite scan the whole group per head.
    matched = union_all(select(heads.c.id),
                        select(Post.id).join(heads, Post.parent_id == heads.c.id)
                        ).subquery("matched")
    flagged = select(PostFlag.id).where(PostFlag.post_id == Post.id,
                                        PostFlag.user_id == viewer_id).exists()
    open_flags = (select(func.count(PostFlag.id))
                  .where(PostFlag.post_id == Post.id, PostFlag.resolved_at.is_(None))
                  .scalar_subquery() if moderator else literal(0))
    return (select(Post, User.display_name, GroupMembership.role, flagged, open_flags)
            .join(matched, Post.id == matched.c.id)
            .outerjoin(User, User.id == Post.author_id)
            .outerjoin(GroupMembership, and_(GroupMembership.user_id == Post.author_id,
                                             GroupMembership.group_id == group_id))
            .where(Post.group_id == group_id))


@lru_cache(maxsize=2)
def _thread_statement(moderator: bool):
    return _posts_statement(
        moderator, select(Post.id).where(Post.id == bindparam("thread_id")).cte("page_heads"))


def _found(viewer: User, member: GroupMembership, rows) -> _Found:
    """Sort the rows of a posts statement into what a page shows beside its posts."""
    found = _Found([], defaultdict(list), {}, {}, {}, set())
    for post, name, role, mine, flags in rows:
        if post.parent_id is not None and not _visible(post, viewer, member.moderates):
            continue
        found.posts.append(post)
        if post.author_id is not None and name is not None:
            found.authors[post.author_id] = name
            found.roles[post.author_id] = role or "former"
        if mine:
            found.flagged_by_me.add(post.id)
        if flags:
            found.open_flags[post.id] = flags
    for post in sorted((p for p in found.posts if p.parent_id is not None), key=_newest_first):
        found.replies[post.parent_id].append(post)
    return found


def thread(viewer: User, member: GroupMembership, post_id: int) -> FeedPage:
    """One thread with its replies, in the same shape as a feed page."""
    post = post_in_group(member.group_id, post_id)
    if post.parent_id is not None:
        post = post_in_group(member.group_id, post.parent_id)
    if not _visible(post, viewer, member.moderates):
        raise NoAccess(_l("This post is no longer available."))
    rows = db.session.execute(_thread_statement(member.moderates), {
        "group_id": member.group_id, "viewer_id": viewer.id, "thread_id": post.id}).all()
    return _found(viewer, member, rows).page([], [post], None)


# --- facilitator overview --------------------------------------------------------------------


@dataclass
class Overview:
    weeks: list[tuple[int, int, int]]  #: (week number, threads, replies)
    silent_members: list[User]
    unanswered: list[Post]


def overview(group: Group, now: datetime | None = None) -> Overview:
    """Activity per course week, members who have never posted, unanswered posts over a day old."""
    now = now or utcnow()
    cohort = db.session.get(Cohort, group.cohort_id)
    start = datetime.combine(cohort.start_date, datetime.min.time(), UTC)
    counts: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for created_at, parent_id in db.session.execute(
            select(Post.created_at, Post.parent_id).where(
                Post.group_id == group.id, Post.deleted_at.is_(None),
                Post.author_id.is_not(None))):
        week = (created_at - start).days // 7 + 1
        counts[week][0 if parent_id is None else 1] += 1
    weeks = [(week, c[0], c[1]) for week, c in sorted(counts.items())]
    posted = select(Post.author_id).where(Post.group_id == group.id,
                                          Post.deleted_at.is_(None),
                                          Post.author_id.is_not(None))
    silent = list(db.session.scalars(
        select(User).join(GroupMembership, GroupMembership.user_id == User.id)
        .where(GroupMembership.group_id == group.id, GroupMembership.role == "member",
               User.id.not_in(posted))
        .order_by(User.display_name)))
    reply = db.aliased(Post)
    has_reply = select(reply.id).where(reply.parent_id == Post.id, reply.deleted_at.is_(None),
                                       reply.author_id != Post.author_id).exists()
    unanswered = list(db.session.scalars(
        select(Post).where(Post.group_id == group.id, Post.parent_id.is_(None),
                           Post.deleted_at.is_(None), Post.hidden_at.is_(None),
                           Post.author_id.is_not(None),
                           Post.created_at < now - timedelta(days=1), ~has_reply)
        .order_by(Post.created_at)))
    return Overview(weeks=weeks, silent_members=silent, unanswered=unanswered)


# --- jobs ------------------------------------------------------------------------------------


def ensure_weekly_threads(now: datetime | None = None) -> int:
    """Create "Week N" threads in every group of a running cohort once session N is released.

    Idempotent: the UNIQUE (group_id, weekly_session) makes a second run (or a second
    scheduler) insert nothing. Returns the number of threads created.
    """
    now = now or utcnow()
    created = 0
    cohorts = db.session.scalars(
        select(Cohort).where(Cohort.status.in_(("planned", "running")))).all()
    for cohort in cohorts:
        calendar = cohort_calendar(cohort)  # the one calendar of program.operations
        released = [n for n in range(1, cohort.session_count + 1)
                    if is_released(n, calendar, now)]
        if not released:
            continue
        group_ids = db.session.scalars(select(Group.id).where(Group.cohort_id == cohort.id)).all()
        existing = set(db.session.execute(
            select(Post.group_id, Post.weekly_session).where(
                Post.group_id.in_(group_ids), Post.weekly_session.is_not(None))).tuples())
        missing = [(g, n) for g in group_ids for n in released if (g, n) not in existing]
        if not missing:  # the usual case on a frequent tick: no write, no lock
            continue
        body = "How did this week's practice go? Share what helped, and what was hard."
        body_html = markdown.render(body)
        with write_transaction():
            dialect = db.session.get_bind().dialect.name
            insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            for group_id, number in missing:
                created += db.session.execute(
                    insert(Post).values(
                        group_id=group_id, author_id=None, title=WEEKLY_TITLE.format(n=number),
                        body=body, body_html=body_html, weekly_session=number,
                        pinned=False, locked=False, announcement=False, author_removed=False,
                        created_at=calendar.meeting(number).release_at,
                    ).on_conflict_do_nothing(index_elements=["group_id", "weekly_session"])
                    .returning(Post.id)
                ).scalar() is not None
    return created


def materialise_digests(now: datetime | None = None) -> int:
    """Queue yesterday's (UTC) daily digest for everyone who chose digests and has news.

    One message per user per day (dedup key ``digest:{user}:{date}``), so running it again the
    same day adds nothing. The message counts replies and announcements per group; post text
    never leaves Hearth by email.
    """
    now = now or utcnow()
    day = (now - timedelta(days=1)).date()
    start = datetime.combine(day, datetime.min.time(), UTC)
    end = start + timedelta(days=1)
    news: dict[int, dict[int, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))

    thread = db.aliased(Post)
    for reply_author, thread_author, group_id in db.session.execute(
            select(Post.author_id, thread.author_id, Post.group_id)
            .join(thread, Post.parent_id == thread.id)
            .where(Post.created_at >= start, Post.created_at < end,
                   Post.deleted_at.is_(None), Post.hidden_at.is_(None),
                   thread.author_id.is_not(None))):
        if reply_author != thread_author:
            news[thread_author][group_id][0] += 1
    for author_id, member_id, group_id in db.session.execute(
            select(Post.author_id, GroupMembership.user_id, Post.group_id)
            .join(GroupMembership, GroupMembership.group_id == Post.group_id)
            .where(Post.announcement.is_(True), Post.created_at >= start,
                   Post.created_at < end, Post.deleted_at.is_(None),
                   Post.hidden_at.is_(None))):
        if member_id != author_id:
            news[member_id][group_id][1] += 1
    if not news:
        return 0
    names = dict(db.session.execute(
        select(Group.id, Group.name).where(
            Group.id.in_({g for per_group in news.values() for g in per_group}))).all())
    key = "digest:{}:" + day.isoformat()
    done = set(db.session.scalars(select(OutboxMessage.dedup_key).where(
        OutboxMessage.dedup_key.in_([key.format(user_id) for user_id in news]))))
    queued = 0
    with write_transaction():
        for user in _active_recipients(set(news)):
            if key.format(user.id) in done:
                continue
            queued += _queue_digest(user, key.format(user.id), day, news[user.id], names)
    return queued


def _queue_digest(user: User, key: str, day, news: dict[int, list[int]],
                  names: dict[int, str]) -> int:
    """One user's daily digest; 0 when their settings leave it empty."""
    groups = []
    for group_id, (replies, announcements) in sorted(news.items()):
        replies = replies if user.notify_replies == "daily" else 0
        announcements = announcements if user.notify_announcements == "daily" else 0
        if replies or announcements:
            groups.append((names[group_id], replies, announcements))
    if not groups:
        return 0
    enqueue_email(user, key, "daily_digest", "daily_digest", day=day, groups=groups)
    return 1
