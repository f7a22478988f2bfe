"""One participant's progress as the cohort's staff read it: sessions opened, practice minutes
per week, the practice notes they wrote (participants are told their facilitators may read
them), attendance and which questionnaires are done (never the answers)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select

from models import (
    Attendance,
    Cohort,
    Meeting,
    Participant,
    PracticeLog,
    Response,
    SessionProgress,
    Timepoint,
    db,
)
from program.courses.delivery import cohort_calendar, sees_material
from program.courses.register import counts_for, first_attended

#: notes shown on the page, newest first
NOTES_SHOWN = 50


@dataclass(frozen=True)
class SessionLine:
    number: int
    released: bool
    opened_at: datetime | None
    completed_at: datetime | None


@dataclass(frozen=True)
class PracticeWeek:
    number: int
    starts_on: date
    minutes: int
    entries: int


@dataclass(frozen=True)
class AttendanceLine:
    number: int
    #: "present", "late", "absent", "not_recorded" or "before_joining"
    status: str
    minutes: int | None


@dataclass(frozen=True)
class QuestionnaireLine:
    timepoint: Timepoint
    done: list[str]
    of: list[str]


@dataclass
class Progress:
    participant: Participant
    sessions: list[SessionLine]
    weeks: list[PracticeWeek]
    notes: list[PracticeLog]
    attendance: list[AttendanceLine]
    questionnaires: list[QuestionnaireLine]

    @property
    def most_minutes(self) -> int:
        return max((w.minutes for w in self.weeks), default=0)


def cohort_participant(cohort: Cohort, participant_id: int) -> Participant | None:
    """A participant on this cohort's roster (with an account, receiving the program), else
    None: the same people as ``delivery.cohort_roster``, found without loading the roster."""
    participant = db.session.get(Participant, participant_id)
    if (participant is None or participant.cohort_id != cohort.id
            or participant.user_id is None or not sees_material(participant)):
        return None
    return participant


def _sessions(participant: Participant, now: datetime) -> list[SessionLine]:
    calendar = cohort_calendar(participant.cohort)
    rows = {r.session_number: r for r in db.session.scalars(
        select(SessionProgress).where(SessionProgress.participant_id == participant.id))}
    return [SessionLine(m.session_number, m.release_at <= now,
                        getattr(rows.get(m.session_number), "opened_at", None),
                        getattr(rows.get(m.session_number), "completed_at", None))
            for m in calendar.meetings]


def _weeks(participant: Participant, logs: list[PracticeLog], today: date
           ) -> list[PracticeWeek]:
    """Minutes per course week (seven days from the first meeting's day), up to this week."""
    calendar = cohort_calendar(participant.cohort)
    first = calendar.meetings[0] if calendar.meetings else None
    day_one = (calendar.local(first.actual_start or first.planned_start).date() if first
               else participant.cohort.start_date)
    count = max(len(calendar.meetings), (today - day_one).days // 7 + 1, 1)
    minutes, entries = [0] * count, [0] * count
    for log in logs:
        index = (log.practised_on - day_one).days // 7
        if 0 <= index < count:
            minutes[index] += log.minutes
            entries[index] += 1
    last = min(count, max((today - day_one).days // 7 + 1, 1))
    return [PracticeWeek(i + 1, day_one + timedelta(days=7 * i), minutes[i], entries[i])
            for i in range(last)]


def _attendance(participant: Participant) -> list[AttendanceLine]:
    meetings = db.session.scalars(
        select(Meeting).where(Meeting.cohort_id == participant.cohort_id,
                              Meeting.outcome.in_(("held", "truncated", "postponed")))
        .order_by(Meeting.session_number)).all()
    marks = {a.meeting_id: a for a in db.session.scalars(select(Attendance).where(
        Attendance.participant_id == participant.id))}
    first = first_attended(participant.cohort_id, [participant.id]).get(participant.id)
    lines = []
    for meeting in meetings:
        mark = marks.get(meeting.id)
        status = (mark.status if mark else "not_recorded"
                  ) if counts_for(first, meeting.session_number, mark is not None
                                  ) else "before_joining"
        lines.append(AttendanceLine(meeting.session_number, status,
                                    mark.minutes_attended if mark else None))
    return lines


def _questionnaires(participant: Participant) -> list[QuestionnaireLine]:
    done: dict[int, list[str]] = {}
    for timepoint_id, key in db.session.execute(
            select(Response.timepoint_id, Response.instrument_key).where(
                Response.participant_id == participant.id, Response.status == "submitted")):
        done.setdefault(timepoint_id, []).append(key)
    timepoints = db.session.scalars(select(Timepoint).where(
        Timepoint.study_id == participant.study_id).order_by(Timepoint.position))
    return [QuestionnaireLine(tp, sorted(done.get(tp.id, [])), list(tp.instruments))
            for tp in timepoints]


def participant_progress(participant: Participant, now: datetime) -> Progress:
    """Everything the progress page shows for one participant of a cohort."""
    logs = list(db.session.scalars(select(PracticeLog).where(
        PracticeLog.participant_id == participant.id)
        .order_by(PracticeLog.practised_on.desc(), PracticeLog.id.desc())))
    today = cohort_calendar(participant.cohort).local(now).date()
    return Progress(
        participant=participant,
        sessions=_sessions(participant, now),
        weeks=_weeks(participant, logs, today),
        notes=[log for log in logs if log.note][:NOTES_SHOWN],
        attendance=_attendance(participant),
        questionnaires=_questionnaires(participant))
