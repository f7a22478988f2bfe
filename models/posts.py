"""Peer-group posts (threads one level deep), flags and moderation state."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import UTCDateTime, db, utcnow


class Post(db.Model):
    __tablename__ = "posts"
    __table_args__ = (
        #: the automatic weekly thread of a session exists once per group
        UniqueConstraint("group_id", "weekly_session"),
        UniqueConstraint("author_id", "submission_token"),
        Index("ix_posts_feed", "group_id", "parent_id", "pinned", "created_at"),
        Index("ix_posts_thread", "parent_id", "created_at"),
        #: the daily digest reads one day of posts across all groups
        Index("ix_posts_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    #: None for the automatic weekly threads and for authors who are gone
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    title: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)  #: Markdown as written
    body_html: Mapped[str] = mapped_column(Text)  #: sanitised rendering, made on write
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    weekly_session: Mapped[int | None] = mapped_column(Integer)
    #: a thread a leader or assistant started: members are notified per notify_announcements
    announcement: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: shown as from "a former member" once the author asked for data removal
    author_removed: Mapped[bool] = mapped_column(Boolean, default=False)
    submission_token: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hidden_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    hidden_reason: Mapped[str | None] = mapped_column(Text)
    #: held for review after matching a risk rule: only its author and the group's leaders
    #: and assistants see it until a facilitator or clinician releases or hides it
    held_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    group = relationship("Group")
    author = relationship("User", foreign_keys=[author_id])


class PostFlag(db.Model):
    __tablename__ = "post_flags"
    __table_args__ = (UniqueConstraint("post_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )

    post = relationship("Post")
