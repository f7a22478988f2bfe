"""Reading a group: the feed page by page, one thread, and the facilitator's overview."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, bindparam, func, literal, or_, select, union_all

from models import (
    Cohort,
    Group,
    GroupMembership,
    Post,
    PostFlag,
    User,
    db,
    utcnow,
)
from program.groups.access import NoAccess, post_in_group


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
    shown = post.hidden_at is None and post.held_at is None  # held: under safety review
    return shown or moderator or post.author_id == viewer.id


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
        top += (or_(and_(Post.hidden_at.is_(None), Post.held_at.is_(None)),
                    Post.author_id == viewer_id),)
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
                           Post.held_at.is_(None), Post.author_id.is_not(None),
                           Post.created_at < now - timedelta(days=1), ~has_reply)
        .order_by(Post.created_at)))
    return Overview(weeks=weeks, silent_members=silent, unanswered=unanswered)
