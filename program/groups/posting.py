"""Writing in a group: new threads, replies, edits and deletions by their authors.

Every write runs in one ``write_transaction`` together with its audit entry, its safety alert
and its outbox messages."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, select, update

from models import (
    Cohort,
    Group,
    GroupMembership,
    Participant,
    Post,
    Study,
    User,
    db,
    utcnow,
    write_transaction,
)
from models.base import is_unique_violation
from program.courses import markdown
from program.groups.access import (
    NoAccess,
    PostError,
    active_recipients,
    can_start_thread,
    post_in_group,
    require_membership,
)
from program.messaging import notices
from program.messaging.outbox import enqueue_email
from program.safety import review
from program.safety.alerts import raise_alert
from program.safety.scanning import scan_for_risk

EDIT_WINDOW = timedelta(minutes=30)
MAX_BODY = 10_000
MAX_TITLE = 200


def _clean_body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise PostError(_l("Write something before posting."))
    if len(body) > MAX_BODY:
        raise PostError(_l("A post can be at most %(n)d characters long.", n=MAX_BODY))
    return body


def _scan_for_risk(post: Post, group: Group, member: GroupMembership | None = None,
                   now: datetime | None = None) -> None:
    """Raise one alert for the post if its text suggests risk (never more than one per post).

    A participant's post that raises a new alert is held for review unless the study shows
    such posts (:mod:`program.safety.review`); the group's own staff's posts are not held.
    """
    finding = scan_for_risk(f"{post.title or ''}\n{post.body}")
    if finding is None or post.author_id is None:
        return
    cohort = db.session.get(Cohort, group.cohort_id)
    participant_id = db.session.scalar(
        select(Participant.id).where(Participant.user_id == post.author_id))
    alert = raise_alert("post", post.id, finding.rule, study_id=cohort.study_id,
                        participant_id=participant_id, group_id=group.id, finding=finding)
    if alert is not None and member is not None and not member.moderates:
        review.hold(post, db.session.get(Study, cohort.study_id), alert, now or utcnow())


def _notify_reply(reply: Post, thread: Post, group: Group) -> None:
    if thread.author_id is None or thread.author_id == reply.author_id:
        return
    for user in active_recipients({thread.author_id}):
        key, context = f"reply:{reply.id}:{user.id}", {
            "group": group.name, "link": _thread_url(group.id, thread.id)}
        if user.notify_replies == "immediate":
            enqueue_email(user, key, "post_reply", "post_reply", **context)  # push as chosen
        elif "push" in notices.channels(user, "post_reply"):
            # the email waits for the digest (or never comes); a push is straight away
            notices.queue_push(user, key, "post_reply", "post_reply", **context)


def _notify_announcement(post: Post, group: Group) -> None:
    member_ids = set(db.session.scalars(
        select(GroupMembership.user_id).where(GroupMembership.group_id == group.id)))
    member_ids.discard(post.author_id)
    for user in active_recipients(member_ids):
        if user.notify_announcements == "immediate":
            enqueue_email(user, f"announcement:{post.id}:{user.id}", "announcement",
                          "announcement", group=group.name, link=_thread_url(group.id, post.id))


def _notify(post: Post, thread: Post | None, group: Group) -> None:
    if thread is not None:
        _notify_reply(post, thread, group)
    elif post.announcement:
        _notify_announcement(post, group)


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
            _scan_for_risk(post, group, member, now)
            if post.held_at is None:  # nobody is told of a post they cannot see
                _notify(post, thread, group)
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
        member = require_membership(user, group_id)
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
        _scan_for_risk(post, db.session.get(Group, group_id), member, now)
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


#: what a removed person's post says instead of its text (pages show it translated)
REMOVED_TEXT = "Removed at the participant's request."


def mark_author_removed(user_id: int) -> int:
    """Remove the text of every post and reply of this user (their data-removal request).

    The posts stay as placeholders from "a former member", so threads and others' replies
    still read, but their title and text go (health disclosures, other people's names) and
    they no longer point at the user. Call it inside the write transaction that records the
    removal. Returns the number of posts changed.
    """
    return db.session.execute(
        update(Post).where(Post.author_id == user_id)
        .values(author_id=None, author_removed=True, body=REMOVED_TEXT,
                body_html=f"<p>{REMOVED_TEXT}</p>", submission_token=None,
                title=case((Post.title.is_(None), None), else_=REMOVED_TEXT))
    ).rowcount
