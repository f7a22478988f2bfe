"""Groups within a cohort (therapy group, small peer group, large group) and memberships."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models._types import one_of
from models.base import UTCDateTime, db, utcnow

GROUP_KINDS = ("therapy", "small", "large")
MEMBERSHIP_ROLES = ("member", "leader", "assistant")


class Group(db.Model):
    __tablename__ = "groups"
    __table_args__ = (one_of("kind", GROUP_KINDS), UniqueConstraint("cohort_id", "name"))

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    cohort = relationship("Cohort")
    memberships: Mapped[list[GroupMembership]] = relationship(
        back_populates="group", cascade="all, delete-orphan"
    )


class GroupMembership(db.Model):
    __tablename__ = "group_memberships"
    __table_args__ = (UniqueConstraint("group_id", "user_id"), one_of("role", MEMBERSHIP_ROLES))

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(10), default="member")
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    group: Mapped[Group] = relationship(back_populates="memberships")
    user = relationship("User")

    @property
    def moderates(self) -> bool:
        return self.role in ("leader", "assistant")
