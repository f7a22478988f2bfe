"""iCalendar feeds: every live meeting (and the MSC retreat) of a person's cohorts.

A postponed or shifted meeting keeps its UID and moves with a higher SEQUENCE (one more per
change, so calendar apps replace their copy instead of adding a second event); a cancelled one
stays in the feed with STATUS:CANCELLED, so calendar apps remove it instead of keeping a stale
copy. A make-up meeting is an event of its own (UID ``…-session<N>-makeup``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import force_locale
from flask_babel import gettext as _
from icalendar import Calendar, Event
from sqlalchemy import select

from models import Cohort, CohortFacilitator, Participant, User, db
from program.courses.calendar import MeetingStatus, PlannedMeeting
from program.courses.catalogue import get_catalogue
from program.courses.delivery import cohort_calendar, sees_material

PRODID = "-//Hearth//Program calendar//EN"


def cohorts_for(user: User) -> list[Cohort]:
    """The cohorts whose meetings this person attends or runs."""
    if user.role == "participant":
        participant = db.session.scalar(select(Participant).where(Participant.user_id == user.id))
        return [participant.cohort] if sees_material(participant) else []
    if user.role == "facilitator":
        return list(db.session.scalars(
            select(Cohort).join(CohortFacilitator)
            .where(CohortFacilitator.user_id == user.id).order_by(Cohort.start_date)))
    return []


def _uid(cohort: Cohort, part: str, host: str) -> str:
    return f"hearth-cohort{cohort.id}-{part}@{host}"


def _meeting_event(cohort: Cohort, calendar, program, meeting: PlannedMeeting,
                   now: datetime, host: str, with_video_link: bool) -> Event:
    session = program.session(meeting.session_number)
    makeup = meeting.status == MeetingStatus.MAKEUP
    event = Event()
    part = f"session{meeting.session_number}" + ("-makeup" if makeup else "")
    event.add("uid", _uid(cohort, part, host))
    event.add("dtstamp", now)
    start = meeting.actual_start or meeting.scheduled_start or meeting.planned_start
    event.add("dtstart", start)
    event.add("dtend", start + timedelta(minutes=meeting.minutes))
    title = _("Session %(n)d: %(title)s", n=meeting.session_number, title=session.title)
    event.add("summary", _("%(title)s (make-up)", title=title) if makeup else title)
    event.add("sequence", meeting.sequence)
    lines = [f"{program.name} · {cohort.name}"]
    if meeting.status == MeetingStatus.CANCELLED:
        event.add("status", "CANCELLED")
    else:
        event.add("status", "CONFIRMED")
        if start != meeting.planned_start and not makeup:
            planned = calendar.local(meeting.planned_start)
            lines.append(_("Moved from %(when)s (%(zone)s).", when=f"{planned:%Y-%m-%d %H:%M}",
                           zone=cohort.timezone))
        if cohort.video_link and with_video_link:
            event.add("location", cohort.video_link)
            event.add("url", cohort.video_link)
    event.add("description", "\n".join(lines))
    return event


def feed(user: User, now: datetime, host: str = "hearth") -> bytes:
    """The user's calendar as an .ics document, titled in their language ("Session 3: …"):
    calendar apps fetch it without saying who reads it, so the account's language decides."""
    with force_locale(user.locale or "en"):
        return _feed(user, now, host, get_catalogue(user.locale))


def _feed(user: User, now: datetime, host: str, catalogue) -> bytes:
    ical = Calendar()
    ical.add("prodid", PRODID)
    ical.add("version", "2.0")
    ical.add("calscale", "GREGORIAN")
    ical.add("x-wr-calname", "Hearth")
    for cohort in cohorts_for(user):
        calendar = cohort_calendar(cohort)
        program = catalogue.program(cohort.program)
        for meeting in calendar.meetings + calendar.makeups:
            ical.add_component(_meeting_event(cohort, calendar, program, meeting, now, host,
                                             bool(user.calendar_video_link)))
        for extra in calendar.events:
            event = Event()
            event.add("uid", _uid(cohort, f"event-{extra.key}", host))
            event.add("dtstamp", now)
            event.add("dtstart", extra.date)
            event.add("dtend", extra.date + timedelta(days=1))
            event.add("summary", f"{program.name}: {extra.title}")
            event.add("description", extra.description or cohort.name)
            event.add("transp", "OPAQUE")
            event.add("sequence", extra.sequence)
            ical.add_component(event)
    return ical.to_ical()
