"""Cohorts (one run of a program) and the staff who facilitate them."""

from __future__ import annotations

from datetime import date, datetime, time

from flask_babel import lazy_pgettext
from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Integer,
    String,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models._types import Vocabulary, one_of
from models.base import UTCDateTime, db, utcnow


class CohortStatus(Vocabulary):
    """Where a cohort is in its course."""

    PLANNED = "planned", lazy_pgettext("cohort status", "planned")
    RUNNING = "running", lazy_pgettext("cohort status", "running")
    FINISHED = "finished", lazy_pgettext("cohort status", "finished")
    CANCELLED = "cancelled", lazy_pgettext("cohort status", "cancelled")


class FacilitatorRole(Vocabulary):
    """A staff member's part in a cohort: a CFT group has a lead therapist and co-therapists;
    an MSC course has teachers, small-group leaders and assistant coaches."""

    LEAD_THERAPIST = "lead_therapist", lazy_pgettext("facilitator role", "lead therapist")
    CO_THERAPIST = "co_therapist", lazy_pgettext("facilitator role", "co-therapist")
    TEACHER = "teacher", lazy_pgettext("facilitator role", "teacher")
    GROUP_LEADER = "group_leader", lazy_pgettext("facilitator role", "group leader")
    ASSISTANT_COACH = "assistant_coach", lazy_pgettext("facilitator role", "assistant coach")

    @classmethod
    def of_program(cls, program: str) -> list[FacilitatorRole]:
        """The roles a cohort of this program has (CFT: therapists; MSC: the course staff)."""
        if program == "cft":
            return [cls.LEAD_THERAPIST, cls.CO_THERAPIST]
        return [cls.TEACHER, cls.GROUP_LEADER, cls.ASSISTANT_COACH]

    @property
    def leads(self) -> bool:
        """The lead therapist and the teacher lead the whole cohort."""
        return self in (FacilitatorRole.LEAD_THERAPIST, FacilitatorRole.TEACHER)


#: the country a cohort most likely meets in, by its IANA time zone (the default of
#: ``Cohort.country``; the set-up page can say otherwise). "ZZ" is "another country".
ZONE_COUNTRIES = {
    "Asia/Tokyo": "JP", "Japan": "JP",
    "Asia/Shanghai": "CN", "Asia/Chongqing": "CN", "Asia/Chungking": "CN", "Asia/Harbin": "CN",
    "Asia/Urumqi": "CN", "Asia/Kashgar": "CN", "PRC": "CN",
    "Asia/Hong_Kong": "HK", "Asia/Macau": "MO", "Asia/Taipei": "TW", "Asia/Seoul": "KR",
    "Asia/Singapore": "SG",
    "Europe/London": "GB", "Europe/Belfast": "GB", "GB": "GB",
    "America/New_York": "US", "America/Chicago": "US", "America/Denver": "US",
    "America/Phoenix": "US", "America/Los_Angeles": "US", "America/Anchorage": "US",
    "Pacific/Honolulu": "US", "US/Eastern": "US", "US/Central": "US", "US/Mountain": "US",
    "US/Pacific": "US",
}
OTHER_COUNTRY = "ZZ"


def country_for_zone(zone: str | None) -> str:
    """The ISO 3166 country code a time zone most likely means ("ZZ" when unknown)."""
    return ZONE_COUNTRIES.get(zone or "", OTHER_COUNTRY)


def _default_country(context) -> str:
    return country_for_zone(context.get_current_parameters().get("timezone"))


class Cohort(db.Model):
    __tablename__ = "cohorts"
    __table_args__ = (
        one_of("status", CohortStatus),
        UniqueConstraint("study_id", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    program: Mapped[str] = mapped_column(String(10))  #: program key, e.g. cft or msc
    start_date: Mapped[date] = mapped_column(Date)  #: date of the first meeting
    timezone: Mapped[str] = mapped_column(String(64))  #: IANA name, e.g. Asia/Tokyo
    #: ISO 3166 code of the country the participants are in ("ZZ": another country): it
    #: chooses the crisis contacts they are shown, whatever language they read
    country: Mapped[str] = mapped_column(String(2), default=_default_country)
    meeting_weekday: Mapped[int] = mapped_column(Integer)  #: 0 = Monday
    meeting_time: Mapped[time] = mapped_column(Time)  #: local wall-clock time
    cadence_days: Mapped[int] = mapped_column(Integer, default=7)
    session_count: Mapped[int] = mapped_column(Integer)
    #: minutes before a meeting that its session's material is released
    release_lead_minutes: Mapped[int] = mapped_column(Integer, default=0)
    video_link: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(20), default="planned")
    #: minutes in the video platform's report that count as present
    min_minutes_present: Mapped[int] = mapped_column(Integer, default=60)
    #: in the large group only staff may start threads
    staff_only_threads: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    study = relationship("Study")
    facilitators: Mapped[list[CohortFacilitator]] = relationship(
        back_populates="cohort", cascade="all, delete-orphan"
    )
    #: read-only: participant pages load it with the participant, in the same query, to build
    #: the calendar (``program.courses.delivery.cohort_calendar``); writes go through Meeting rows
    meetings = relationship("Meeting", viewonly=True, lazy="raise_on_sql",
                            order_by="Meeting.session_number")


class CohortFacilitator(db.Model):
    __tablename__ = "cohort_facilitators"
    __table_args__ = (UniqueConstraint("cohort_id", "user_id"),
                      one_of("role", FacilitatorRole, "facilitator_role_valid"))

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    is_lead: Mapped[bool] = mapped_column(Boolean, default=False)
    #: a FacilitatorRole code; ``is_lead`` follows it (set by program.groups.staffing)
    role: Mapped[str] = mapped_column(String(20), default="co_therapist",
                                      server_default="co_therapist")

    cohort: Mapped[Cohort] = relationship(back_populates="facilitators")
    user = relationship("User")
