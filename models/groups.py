"""Groups within a cohort (therapy group, small peer group, large group) and memberships."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_pgettext
from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models._types import Vocabulary, one_of
from models.base import UTCDateTime, db, utcnow


class GroupKind(Vocabulary):
    """A therapy group (CFT), a small peer group or the large group (MSC)."""

    THERAPY = "therapy", lazy_pgettext("group kind", "therapy")
    SMALL = "small", lazy_pgettext("group kind", "small")
    LARGE = "large", lazy_pgettext("group kind", "large")


class MembershipRole(Vocabulary):
    """Someone's part in a group."""

    MEMBER = "member", lazy_pgettext("group role", "member")
    LEADER = "leader", lazy_pgettext("group role", "leader")
    ASSISTANT = "assistant", lazy_pgettext("group role", "assistant")



class Group(db.Model):
    __tablename__ = "groups"
    __table_args__ = (one_of("kind", GroupKind), UniqueConstraint("cohort_id", "name"))

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
    __table_args__ = (UniqueConstraint("group_id", "user_id"), one_of("role", MembershipRole))

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
