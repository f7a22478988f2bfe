"""How each person wants to be told of things: per kind of notice by email, push, both or
none; the browsers that accept push for them; quiet hours and their own practice reminders
(columns of ``users``)."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_pgettext
from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models._types import Vocabulary, one_of
from models.base import UTCDateTime, db, utcnow


class NoticeKind(Vocabulary):
    """The notices a person can route; each code is the outbox ``kind`` of its messages."""

    RELEASE_NOTICE = "release_notice", lazy_pgettext("notice kind", "A new session is ready")
    MEETING_REMINDER = "meeting_reminder", lazy_pgettext(
        "notice kind", "Meeting reminders (with the join link)")
    POST_REPLY = "post_reply", lazy_pgettext("notice kind", "Replies in my threads")
    QUESTIONNAIRE_INVITATION = "assessment_invitation", lazy_pgettext(
        "notice kind", "Questionnaire invitations")
    PRACTICE_REMINDER = "practice_reminder", lazy_pgettext("notice kind", "Practice reminders")


class NoticeChannel(Vocabulary):
    """Where a kind of notice goes."""

    EMAIL = "email", lazy_pgettext("notice channel", "Email")
    PUSH = "push", lazy_pgettext("notice channel", "Notification on my devices")
    BOTH = "both", lazy_pgettext("notice channel", "Both")
    NONE = "none", lazy_pgettext("notice channel", "Neither")


class NotificationPreference(db.Model):
    """One person's channel for one kind of notice; no row means email (as before push)."""

    __tablename__ = "notification_preferences"
    __table_args__ = (
        UniqueConstraint("user_id", "kind"),
        one_of("kind", NoticeKind, "notice_kind_valid"),
        one_of("channel", NoticeChannel, "notice_channel_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(10))


class PushSubscription(db.Model):
    """A browser that accepts Web Push for a person (its endpoint and encryption keys).

    Removed when the person turns push off there, or when the push service answers 404/410.
    """

    __tablename__ = "push_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    endpoint: Mapped[str] = mapped_column(String(1000), unique=True)
    p256dh: Mapped[str] = mapped_column(String(200))
    auth: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
