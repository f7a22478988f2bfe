"""The groups' scheduled messages: each session's "Week N" thread and the daily digests."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from models import (
    Cohort,
    Group,
    GroupMembership,
    OutboxMessage,
    Post,
    User,
    db,
    utcnow,
    write_transaction,
)
from program.courses import markdown
from program.courses.calendar import is_released
from program.courses.delivery import cohort_calendar
from program.groups.access import active_recipients
from program.messaging.outbox import enqueue_email

WEEKLY_TITLE = "Week {n}: share how the practice went"


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
                   Post.held_at.is_(None), thread.author_id.is_not(None))):
        if reply_author != thread_author:
            news[thread_author][group_id][0] += 1
    for author_id, member_id, group_id in db.session.execute(
            select(Post.author_id, GroupMembership.user_id, Post.group_id)
            .join(GroupMembership, GroupMembership.group_id == Post.group_id)
            .where(Post.announcement.is_(True), Post.created_at >= start,
                   Post.created_at < end, Post.deleted_at.is_(None),
                   Post.hidden_at.is_(None), Post.held_at.is_(None))):
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
        for user in active_recipients(set(news)):
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
