"""How the course was delivered and used: attendance, meetings, practice logs, engagement."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from analysis.data.selection import (
    ATTENDANCE_COLUMNS,
    ENGAGEMENT_COLUMNS,
    PRACTICE_COLUMNS,
    SESSION_COLUMNS,
    TOOK_PLACE,
    _analysable,
)
from models import (
    Attendance,
    Cohort,
    Group,
    Meeting,
    Post,
    PracticeLog,
    SessionProgress,
    utcnow,
)


def attendance(session: Session, study_id: int) -> pd.DataFrame:
    """attendance.csv: one row per participant x meeting that took place.

    Every allocated participant of an arm that receives the program gets a row for each meeting
    of their cohort that was held, truncated or postponed (and so held later), from the first
    meeting they attended on or on whose register they are (a late joiner is not absent from
    meetings before they joined); no register entry counts as absent. ``present`` is 1 for
    present or late, ``minutes`` the time attended when known. Usual care has no meetings and
    so no rows.
    """
    people = [(p, arm) for p, arm in _analysable(session, study_id)
              if arm.receives_program and p.cohort_id is not None]
    cohort_ids = {p.cohort_id for p, _ in people}
    meetings = session.execute(
        select(Meeting.id, Meeting.cohort_id, Meeting.session_number, Cohort.name)
        .join(Cohort, Meeting.cohort_id == Cohort.id)
        .where(Meeting.cohort_id.in_(cohort_ids), Meeting.outcome.in_(TOOK_PLACE))
        .order_by(Meeting.session_number)).all()
    register = {
        (a.meeting_id, a.participant_id): a
        for a in session.scalars(select(Attendance).where(
            Attendance.meeting_id.in_([m.id for m in meetings])))
    }
    # A participant's course starts at the first meeting they attended: earlier meetings of a
    # cohort they joined late are not theirs to miss unless they are on that meeting's register
    # (marked absent while in the cohort); never attended: every meeting counts.
    number = {m.id: m.session_number for m in meetings}
    first: dict[int, int] = {}
    for (meeting_id, participant_id), entry in register.items():
        if entry.attended:
            first[participant_id] = min(first.get(participant_id, number[meeting_id]),
                                        number[meeting_id])
    rows = []
    for p, arm in people:
        for m in meetings:
            entry = register.get((m.id, p.id))
            if m.cohort_id != p.cohort_id or (
                    entry is None and m.session_number < first.get(p.id, 0)):
                continue
            present = entry is not None and entry.attended
            rows.append({"participant_id": p.code, "arm": arm.key, "cohort": m.name,
                         "meeting": m.session_number, "present": int(present),
                         "minutes": entry.minutes_attended if entry is not None else None})
    frame = pd.DataFrame(rows, columns=ATTENDANCE_COLUMNS)
    frame["minutes"] = pd.to_numeric(frame["minutes"], errors="coerce").astype("Int64")
    return frame


def sessions(session: Session, study_id: int,
             checklists: Mapping[tuple[str, int], Sequence[str]]) -> pd.DataFrame:
    """sessions.csv: one row per recorded meeting with its outcome and adherence (0-1).

    Adherence is the share of the session's facilitator checklist marked done; empty for
    meetings that did not take place or whose session has no checklist. ``checklists`` gives
    the checklist's item keys per program key and session number (the course catalogue's:
    the caller passes them in, as nothing here reads the course files).
    """
    rows = []
    for meeting, cohort in session.execute(
        select(Meeting, Cohort).join(Cohort, Meeting.cohort_id == Cohort.id)
        .where(Cohort.study_id == study_id, Meeting.outcome != "scheduled")
        .order_by(Cohort.name, Meeting.session_number)).tuples():
        adherence = None
        if meeting.outcome in ("held", "truncated"):
            checklist = checklists.get((cohort.program, meeting.session_number), ())
            if checklist:
                done = set(meeting.checklist_done or ())
                adherence = sum(1 for item in checklist if item in done) / len(checklist)
        rows.append({"cohort": cohort.name, "meeting": meeting.session_number,
                     "status": meeting.outcome, "adherence": adherence})
    frame = pd.DataFrame(rows, columns=SESSION_COLUMNS)
    frame["adherence"] = pd.to_numeric(frame["adherence"], errors="coerce").astype(float)
    return frame


# --------------------------------------------------------------------------- practice, engagement


def _week(day: date, start: date, cadence: int) -> int:
    return (day - start).days // cadence + 1


def practice_logs(session: Session, study_id: int) -> pd.DataFrame:
    """practice_logs.csv: one row per logged practice (notes are never exported).

    ``week`` is the course week of the practice day counted from the cohort's first meeting
    (week 1 starts on that day; earlier practice has week 0 or below).
    """
    cohorts = {c.id: c for c in session.scalars(select(Cohort).where(Cohort.study_id == study_id))}
    people = {p.id: (p, arm) for p, arm in _analysable(session, study_id)}
    rows = []
    for log in session.scalars(
        select(PracticeLog).where(PracticeLog.participant_id.in_(people))
        .order_by(PracticeLog.practised_on, PracticeLog.id)):
        p, arm = people[log.participant_id]
        cohort = cohorts.get(p.cohort_id)
        rows.append({
            "participant_id": p.code, "arm": arm.key,
            "cohort": cohort.name if cohort else None,
            "week": _week(log.practised_on, cohort.start_date, cohort.cadence_days)
            if cohort else None,
            "practised_on": log.practised_on.isoformat(), "practice": log.practice_key,
            "minutes": log.minutes, "helpfulness": log.helpfulness,
        })
    frame = pd.DataFrame(rows, columns=PRACTICE_COLUMNS)
    for column in ("week", "minutes", "helpfulness"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("Int64")
    return frame.sort_values(["participant_id", "practised_on"], kind="stable",
                             ignore_index=True)


def _local_date(instant: datetime, tz: str) -> date:
    return instant.astimezone(ZoneInfo(tz)).date()


def engagement(session: Session, study_id: int, now: datetime | None = None) -> pd.DataFrame:
    """engagement.csv: per participant x course week, materials opened, practice minutes and
    posts written in the cohort's groups.

    Weeks run from 1 to the current week of the cohort (at most its last session's week);
    activity outside that span is left out, so the per-week means describe the course.
    Only arms that receive the program have rows.
    """
    now = now or utcnow()
    people = [(p, arm) for p, arm in _analysable(session, study_id)
              if arm.receives_program and p.cohort_id is not None]
    cohorts = {c.id: c for c in session.scalars(select(Cohort).where(Cohort.study_id == study_id))}
    ids = [p.id for p, _ in people]
    counts: dict[tuple[int, int], dict[str, float]] = {}

    def add(pid: int, week: int, key: str, amount: float) -> None:
        cell = counts.setdefault((pid, week), {})
        cell[key] = cell.get(key, 0) + amount

    by_id = {p.id: p for p, _ in people}
    for progress in session.scalars(select(SessionProgress).where(
            SessionProgress.participant_id.in_(ids), SessionProgress.opened_at.is_not(None))):
        p = by_id[progress.participant_id]
        c = cohorts[p.cohort_id]
        day = _local_date(progress.opened_at, c.timezone)
        add(p.id, _week(day, c.start_date, c.cadence_days), "materials_opened", 1)
    for log in session.scalars(select(PracticeLog).where(PracticeLog.participant_id.in_(ids))):
        p = by_id[log.participant_id]
        c = cohorts[p.cohort_id]
        add(p.id, _week(log.practised_on, c.start_date, c.cadence_days), "practice_minutes",
            log.minutes)
    by_user = {p.user_id: p for p, _ in people if p.user_id is not None}
    if by_user:
        for post, cohort_id in session.execute(
            select(Post, Group.cohort_id).join(Group, Post.group_id == Group.id)
            .where(Post.author_id.in_(by_user), Post.deleted_at.is_(None),
                   Group.cohort_id.in_(cohorts))).tuples():
            p = by_user[post.author_id]
            if cohort_id != p.cohort_id:
                continue
            c = cohorts[cohort_id]
            day = _local_date(post.created_at, c.timezone)
            add(p.id, _week(day, c.start_date, c.cadence_days), "posts", 1)
    rows = []
    for p, arm in people:
        c = cohorts[p.cohort_id]
        current = _week(_local_date(now, c.timezone), c.start_date, c.cadence_days)
        for week in range(1, max(min(current, c.session_count), 0) + 1):
            cell = counts.get((p.id, week), {})
            rows.append({"participant_id": p.code, "arm": arm.key, "week": week,
                         "materials_opened": int(cell.get("materials_opened", 0)),
                         "practice_minutes": int(cell.get("practice_minutes", 0)),
                         "posts": int(cell.get("posts", 0))})
    return pd.DataFrame(rows, columns=ENGAGEMENT_COLUMNS)
