"""Posts held for review: a post that raised a safety alert is seen only by its author and the
group's leaders and assistants until a facilitator or clinician releases or hides it.

A study can choose to leave such posts visible while they are reviewed
(``Study.risk_posts_visible``). Releasing or hiding is done from the alert, by anyone who
receives it (the group's staff, the study's clinicians); either one also acknowledges the
alert, since someone has now looked at it. Every step is audited.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l

from models import Group, Post, SafetyAlert, Study, User, db, utcnow, write_transaction
from program.core import audit
from program.core.audit import AuditAction
from program.messaging.outbox import enqueue_email
from program.safety.alerts import alert_for


class ReviewError(Exception):
    """The alert has no post to review; ``str(exc)`` says why, for the person who tried."""


def hold(post: Post, study: Study, alert: SafetyAlert, now: datetime) -> bool:
    """Hold a post that has just raised ``alert`` unless its study shows such posts; True if
    held. Runs inside the write transaction that stores the post."""
    if study.risk_posts_visible or post.held_at is not None:
        return False
    post.held_at = now
    audit.record(AuditAction.POST_HELD, post, actor=None, alert=alert.id,
                 group_id=post.group_id, level=alert.level)
    return True


def _held_post(user: User, alert_id: int) -> tuple[SafetyAlert, Post]:
    alert = alert_for(user, alert_id, lock=True)
    post = (db.session.get(Post, alert.source_id, with_for_update=True, populate_existing=True)
            if alert.source_kind == "post" else None)
    if post is None or post.deleted_at is not None:
        raise ReviewError(_l("This alert has no post to review."))
    return alert, post


def _acknowledge(alert: SafetyAlert, user: User, now: datetime) -> None:
    if alert.status == "open":
        alert.status, alert.acknowledged_at, alert.acknowledged_by_id = "acknowledged", now, user.id
        alert.owner_id = alert.owner_id or user.id
        audit.record(AuditAction.ALERT_ACKNOWLEDGED, alert, actor=user)


def release(user: User, alert_id: int, now: datetime | None = None) -> bool:
    """Show the alert's held post to the group again; False when it was not held (any more)."""
    now = now or utcnow()
    with write_transaction():
        alert, post = _held_post(user, alert_id)
        if post.held_at is None:
            return False
        post.held_at = None
        audit.record(AuditAction.POST_RELEASED, post, actor=user, alert=alert.id,
                     group_id=post.group_id)
        _acknowledge(alert, user, now)
    return True


def hide(user: User, alert_id: int, reason: str, now: datetime | None = None) -> bool:
    """Hide the alert's post from members for good, telling its author why; False when it was
    already hidden."""
    now = now or utcnow()
    reason = (reason or "").strip()[:1000]
    if not reason:
        raise ReviewError(_l("Give a reason; the author will see it."))
    with write_transaction():
        alert, post = _held_post(user, alert_id)
        if post.hidden_at is not None:
            return False
        post.hidden_at, post.hidden_by_id, post.hidden_reason = now, user.id, reason
        post.held_at = None
        audit.record(AuditAction.POST_HIDDEN, post, actor=user, alert=alert.id,
                     group_id=post.group_id)
        if post.author_id is not None:
            group = db.session.get(Group, post.group_id)
            enqueue_email(db.session.get(User, post.author_id),
                          f"post-hidden:{post.id}:{int(now.timestamp())}", "post_hidden",
                          "post_hidden", group=group.name, reason=reason)
        _acknowledge(alert, user, now)
    return True
