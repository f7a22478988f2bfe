"""People who sign in: accounts, their one role, preferences, password reset tokens, sign-in
sessions and two-factor recovery codes."""

from __future__ import annotations

import secrets
from datetime import datetime, time

from flask_babel import lazy_pgettext
from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, Integer, String, Time, false
from sqlalchemy.orm import Mapped, mapped_column

from models._types import Vocabulary, one_of
from models.base import UTCDateTime, db, utcnow


class Role(Vocabulary):
    """What an account may do: each person has exactly one role."""

    PARTICIPANT = "participant", lazy_pgettext("account role", "participant")
    FACILITATOR = "facilitator", lazy_pgettext("account role", "facilitator")
    RATER = "rater", lazy_pgettext("account role", "rater")
    RESEARCHER = "researcher", lazy_pgettext("account role", "researcher")
    ADMIN = "admin", lazy_pgettext("account role", "admin")


class NotifyChoice(Vocabulary):
    """How often someone is told of replies and announcements."""

    IMMEDIATE = "immediate"
    DAILY = "daily"
    NONE = "none"


class Locale(Vocabulary):
    """The interface languages."""

    EN = "en"
    JA = "ja"
    ZH = "zh"



def new_token() -> str:
    return secrets.token_urlsafe(24)


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        one_of("role", Role),
        one_of("notify_replies", NotifyChoice, "notify_replies_valid"),
        one_of("notify_announcements", NotifyChoice, "notify_announcements_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  #: stored lower-case
    display_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(255))
    locale: Mapped[str | None] = mapped_column(String(10))  #: None = follow the browser
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: bumped to end every session of this user (sign out everywhere, password change, disable)
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    reminders_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    notify_replies: Mapped[str] = mapped_column(String(10), default="immediate")
    notify_announcements: Mapped[str] = mapped_column(String(10), default="daily")
    #: private token for the iCalendar feed URL
    calendar_token: Mapped[str] = mapped_column(String(64), unique=True, default=new_token)
    #: the feed carries the meetings' video link only when the user asks for it (anyone who
    #: has the feed's address could otherwise join the group's meetings)
    calendar_video_link: Mapped[bool] = mapped_column(Boolean, default=False,
                                                      server_default=false())
    #: no push notification between these local times (both set, or neither)
    quiet_start: Mapped[time | None] = mapped_column(Time)
    quiet_end: Mapped[time | None] = mapped_column(Time)
    #: the participant's own practice reminder: ISO weekdays ("1,3,5") at a local time
    practice_reminder_days: Mapped[str | None] = mapped_column(String(20))
    practice_reminder_time: Mapped[time | None] = mapped_column(Time)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: the TOTP secret, encrypted (views.two_factor); set while enrolling, kept once enabled
    two_factor_secret: Mapped[str | None] = mapped_column(String(255))
    #: when the secret was confirmed with a code; None = two-factor sign-in is off
    two_factor_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: the last TOTP time step accepted, so a code is never accepted twice
    two_factor_last_step: Mapped[int | None] = mapped_column(Integer)

    #: this browser's sign-in token, set at sign-in and by the user loader (never stored)
    sign_in_token = None

    # Flask-Login: the id kept in the cookie is the browser's sign-in token (see SignInSession).
    def get_id(self) -> str:
        if not self.sign_in_token:
            raise RuntimeError("start a sign-in session (views.accounts) before login_user")
        return self.sign_in_token

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return bool(self.active)

    @property
    def two_factor_enabled(self) -> bool:
        return self.two_factor_enabled_at is not None

    @property
    def is_staff(self) -> bool:
        return self.role != "participant"

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"


class PasswordResetToken(db.Model):
    """A single-use, expiring reset link; only the token's hash is stored."""

    __tablename__ = "password_reset_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SignInSession(db.Model):
    """One sign-in of one browser. The cookie carries a random token; only its hash is here.

    Signing out of that browser ends the row, so a copy of the cookie taken while signed in
    signs no one in afterwards. ``session_version`` is the account's at sign-in: bumping the
    account's (sign out everywhere, password change, disabling, data removal) ends every row
    of the user at once. ``last_seen_at`` is refreshed at most every few minutes.
    """

    __tablename__ = "sign_in_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    session_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RecoveryCode(db.Model):
    """A one-time code that stands in for the authenticator app; only its keyed hash is stored.

    Ten are issued when two-factor sign-in is turned on (and again on request, replacing the
    old ones); a used code keeps its row with ``used_at`` set and never works again.
    """

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
