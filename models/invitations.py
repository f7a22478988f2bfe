"""Invitations to create an account: a staff member invited by an admin, or an enrolled
participant invited by a researcher. Only the token's hash is stored; a link works once,
until it expires or is revoked."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from models._types import one_of
from models.base import UTCDateTime, db, utcnow
from models.people import Locale, Role

#: an invitation neither accepted nor revoked (an expired one is open until revoked)
OPEN = text("used_at IS NULL AND revoked_at IS NULL")


class Invitation(db.Model):
    """At most one open invitation per address and per participant record, held by the
    database (partial unique indexes): two clicks that both pass the check cannot both
    write one."""

    __tablename__ = "invitations"
    __table_args__ = (
        one_of("role", Role, "invitation_role_valid"),
        one_of("locale", Locale, "invitation_locale_valid"),
        Index("uq_invitations_open_email", "email", unique=True,
              postgresql_where=OPEN, sqlite_where=OPEN),
        Index("uq_invitations_open_participant", "participant_id", unique=True,
              postgresql_where=OPEN, sqlite_where=OPEN),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(254), index=True)  #: stored lower-case
    display_name: Mapped[str] = mapped_column(String(120), default="")
    role: Mapped[str] = mapped_column(String(20))
    locale: Mapped[str] = mapped_column(String(10), default="en")
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: the pseudonymous record a participant's account is linked to when they accept
    participant_id: Mapped[int | None] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), index=True)
    #: the account created by accepting
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: when the current link was sent (a resend replaces the token and moves this)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def pending(self) -> bool:
        """Neither accepted nor revoked (it may have expired: a resend makes a new link)."""
        return self.used_at is None and self.revoked_at is None

    @property
    def expired(self) -> bool:
        return self.expires_at <= utcnow()

    def __repr__(self) -> str:
        return f"<Invitation {self.id} {self.role}>"
