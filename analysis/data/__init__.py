"""The one bridge from the database to the analysis tables: a session and a study id in, tidy
DataFrames out, in the shapes the rest of :mod:`analysis` reads (see the data contract).

No Flask here: functions take a SQLAlchemy session, so the web app, ``flask report`` and
scripts share them.

Pseudonymity and data removal
    Participants are identified by their study code only; no name, email or free text leaves
    through these tables (practice-log notes and withdrawal reasons written by participants are
    never read). A participant whose data were removed, or who asked for removal, contributes
    nothing but their flow record (:func:`flow`), where they count as randomised and not
    analysed.

Who is in the analysis tables
    Allocated participants (an arm and a randomisation time); people screened out or still in
    recruitment appear only in the flow records.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import cached_property

import pandas as pd
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from analysis.data.delivery import attendance, engagement, practice_logs, sessions
from analysis.data.selection import (
    CSQ_ITEMS,
    DAYS_PER_MONTH,
    FLOW_COLUMNS,
    PARTICIPANT_COLUMNS,
    REMOVAL_REASON,
    SCORE_COLUMNS,
    TOOK_PLACE,
    _allocated,
    _analysable,
    _not_removed,
)
from models import (
    Arm,
    Attendance,
    Cohort,
    Meeting,
    Participant,
    Response,
    Score,
    Study,
    Timepoint,
    utcnow,
)

__all__ = [
    "StudyTables",
    "attendance",
    "engagement",
    "flow",
    "load",
    "measures",
    "participants",
    "practice_logs",
    "recruitment_per_month",
    "satisfaction",
    "scores",
    "sessions",
    "timepoint_labels",
    "timepoints",
]


def timepoints(session: Session, study_id: int) -> list[str]:
    """Timepoint keys in schedule order (the first is the baseline)."""
    return list(session.scalars(
        select(Timepoint.key).where(Timepoint.study_id == study_id)
        .order_by(Timepoint.position)))


def timepoint_labels(session: Session, study_id: int) -> dict[str, str]:
    """Timepoint key -> the label researchers configured (for variable labels)."""
    return dict(session.execute(select(Timepoint.key, Timepoint.label).where(
        Timepoint.study_id == study_id)).all())


def measures(session: Session, study_id: int) -> list[str]:
    """Measures with at least one score in the study, in alphabetical order."""
    return sorted(set(scores(session, study_id)["measure"]))


# --------------------------------------------------------------------------- scores


def scores(session: Session, study_id: int) -> pd.DataFrame:
    """scores.csv: one row per participant x timepoint x measure of submitted responses.

    Returns
    -------
    DataFrame
        ``participant_id, arm, timepoint, measure, score``, ordered by code, timepoint position
        and measure; ``score`` is NaN where a measure could not be scored.
    """
    rows = session.execute(
        select(Participant.code, Arm.key, Timepoint.key, Score.measure, Score.value)
        .select_from(Score)
        .join(Response, Score.response_id == Response.id)
        .join(Participant, Score.participant_id == Participant.id)
        .join(Arm, Participant.arm_id == Arm.id)
        .join(Timepoint, Score.timepoint_id == Timepoint.id)
        .where(_allocated(study_id), _not_removed(), Response.status == "submitted",
               Timepoint.study_id == study_id)
        .order_by(Participant.code, Timepoint.position, Score.measure)
    ).all()
    frame = pd.DataFrame(rows, columns=SCORE_COLUMNS)
    frame["score"] = pd.to_numeric(frame["score"], errors="coerce").astype(float)
    return frame


# --------------------------------------------------------------------------- participants


def _status(p: Participant) -> str:
    """The data contract's four statuses.

    Stopping the sessions counts as dropping out of the program (the person stays in the
    assessments, so their scores are still analysed).
    """
    if p.status in ("completed", "withdrawn", "lost"):
        return p.status
    if p.withdrawal_kind is not None:
        return "withdrawn"
    return "active"


def _age(p: Participant) -> int | None:
    """Age in whole years at allocation, from the birth year (no birth dates are stored)."""
    if p.birth_year is None:
        return None
    when = p.randomised_at.date() if p.randomised_at else (p.consented_on or utcnow().date())
    return when.year - p.birth_year


def _delivery(session: Session, study_id: int) -> tuple[dict[int, str], Counter]:
    """Names of the study's cohorts by id, and the meetings each participant attended."""
    names = dict(session.execute(select(Cohort.id, Cohort.name).where(
        Cohort.study_id == study_id)).all())
    attended = Counter(session.scalars(
        select(Attendance.participant_id).join(Meeting, Attendance.meeting_id == Meeting.id)
        .where(Meeting.cohort_id.in_(names), Meeting.outcome.in_(TOOK_PLACE),
               Attendance.attended)))
    return names, attended


def participants(session: Session, study_id: int) -> pd.DataFrame:
    """participants.csv: ``participant_id, arm, status, gender, age, randomised_on,
    therapy_group, sessions_attended`` and baseline covariates.

    ``therapy_group`` is the cohort whose meetings a participant of an arm receiving the
    program was treated in (empty in other arms, e.g. usual care: the partially nested
    design), ``sessions_attended`` their meetings attended (empty in other arms). The
    covariates are the keys of each participant's ``baseline`` record (strata and other
    baseline variables), one column each, sorted by name.
    """
    cohorts, attended = _delivery(session, study_id)
    records = []
    for p, arm in _analysable(session, study_id):
        program = arm.receives_program
        row = {"participant_id": p.code, "arm": arm.key, "status": _status(p),
               "gender": p.gender, "age": _age(p), "randomised_on": p.randomised_at.date(),
               "therapy_group": cohorts.get(p.cohort_id) if program else None,
               "sessions_attended": attended[p.id] if program else None}
        for key, value in sorted((p.baseline or {}).items()):
            if key not in row:
                row[key] = value
        records.append(row)
    frame = pd.DataFrame.from_records(records)
    if frame.empty:
        return pd.DataFrame(columns=PARTICIPANT_COLUMNS)
    for column in ("age", "sessions_attended"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("Int64")
    extra = sorted(c for c in frame.columns if c not in PARTICIPANT_COLUMNS)
    return frame[PARTICIPANT_COLUMNS + extra]


# --------------------------------------------------------------------------- attendance


def satisfaction(session: Session, study_id: int) -> pd.DataFrame:
    """csq.csv: the CSQ-8 item ratings (1-4) of each participant's latest submitted CSQ-8."""
    people = {p.id: p for p, _ in _analysable(session, study_id)}
    latest: dict[int, dict] = {}
    for response in session.scalars(
        select(Response).join(Timepoint, Response.timepoint_id == Timepoint.id)
        .where(Response.participant_id.in_(people), Response.instrument_key == "CSQ-8",
               Response.status == "submitted")
        .order_by(Timepoint.position)):
        latest[response.participant_id] = response.answers or {}
    rows = []
    for pid, answers in latest.items():
        row = {"participant_id": people[pid].code}
        for i, column in enumerate(CSQ_ITEMS, start=1):
            value = answers.get(str(i), answers.get(i))
            row[column] = value if isinstance(value, int | float) else None
        rows.append(row)
    frame = pd.DataFrame(rows, columns=["participant_id", *CSQ_ITEMS])
    for column in CSQ_ITEMS:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    return frame.sort_values("participant_id", ignore_index=True)


# --------------------------------------------------------------------------- flow


def _rule_reasons(p: Participant, rules: dict[str, dict]) -> list[str]:
    reasons = []
    for key in p.exclusion_reasons or ["not given"]:
        rule = rules.get(key, {})
        label = rule.get("label", key)
        prefix = "meeting exclusion" if rule.get("type") == "exclusion" else (
            "not meeting inclusion")
        reasons.append(f"{prefix}: {label}")
    return reasons


def flow(session: Session, study_id: int, *, trial_records: bool = False) -> pd.DataFrame:
    """flow.csv: the CONSORT records (``participant_id, stage, arm, reason``).

    Stages follow :mod:`analysis.consort`: everyone screened (or allocated) is ``screened``;
    the ineligible are ``excluded`` with one row per failed rule; eligible people not (yet)
    allocated are ``excluded`` as "eligible, not randomised"; allocated people are
    ``randomised`` to their arm; ``received`` (an arm without the program, or a meeting
    attended) or ``not_received`` (none though the cohort has met); ``stopped_sessions``,
    ``withdrawn`` (left the study) or ``lost`` with the recorded reason; ``analysed`` unless
    their data were removed (or removal was asked for).

    With ``trial_records`` the rows of the trial's own stages follow (see
    :data:`analysis.consort.TRIAL_STAGES`): what the study page and ``flask trial flow`` count
    besides the diagram. They are not part of ``flow.csv``.
    """
    study = session.get(Study, study_id)
    rules = {r["key"]: r for r in (study.eligibility_rules or []) if "key" in r}
    arm_keys = {arm.id: arm.key for arm in study.arms}
    receives = {arm.id: arm.receives_program for arm in study.arms}
    _names, attended = _delivery(session, study_id)
    met = set(session.scalars(select(Meeting.cohort_id).join(Cohort).where(
        Cohort.study_id == study_id, Meeting.outcome.in_(TOOK_PLACE))))
    rows = []
    people = session.scalars(
        select(Participant).where(Participant.study_id == study_id)
        .where(or_(Participant.eligible.is_not(None), Participant.randomised_at.is_not(None)))
        .order_by(Participant.code))
    for p in people:
        allocated = p.arm_id is not None and p.randomised_at is not None
        arm = arm_keys.get(p.arm_id, "") if allocated else ""
        rows.append((p.code, "screened", "", ""))
        if p.eligible is False and not allocated:
            rows += [(p.code, "excluded", "", r) for r in _rule_reasons(p, rules)]
            continue
        if not allocated:
            rows.append((p.code, "excluded", "", "eligible, not randomised"))
            continue
        rows.append((p.code, "randomised", arm, ""))
        removed = p.data_removed_at is not None or p.data_removal_requested_at is not None
        reason = REMOVAL_REASON if removed else (p.withdrawal_reason or "not given")
        if p.data_removed_at is not None:
            pass  # their attendance went with their data: neither line can be told
        elif not receives[p.arm_id] or p.started_on or attended[p.id]:
            rows.append((p.code, "received", arm, ""))
        elif p.cohort_id in met or p.withdrawal_kind is not None:
            rows.append((p.code, "not_received", arm, reason))
        if p.status == "lost":
            rows.append((p.code, "lost", arm, reason))
        elif p.withdrawal_kind == "stop_sessions":
            rows.append((p.code, "stopped_sessions", arm, reason))
        elif p.withdrawal_kind is not None or p.status == "withdrawn":
            rows.append((p.code, "withdrawn", arm, reason))
        if not removed:
            rows.append((p.code, "analysed", arm, ""))
    if trial_records:
        rows += _trial_records(session, study, rules, arm_keys)
    return pd.DataFrame(rows, columns=FLOW_COLUMNS)


def _trial_records(session: Session, study: Study, rules: dict[str, dict],
                   arm_keys: dict[int, str]) -> list[tuple[str, str, str, str]]:
    """Everyone on the study's records (``applied``), ``eligible``, ``consented``; each failed
    rule of the ``ineligible`` (its key as the reason) and ``meeting_exclusion`` for those who
    met an exclusion rule; per arm, who ``started`` (a first meeting attended or started on
    record; everyone in an arm without meetings), each ``withdrawal_kind`` of those who
    withdrew, and whose data were removed (``data_removed``)."""
    attended = set(session.scalars(
        select(Attendance.participant_id).join(Participant)
        .where(Participant.study_id == study.id, Attendance.status.in_(("present", "late")))))
    receives = {arm.id: arm.receives_program for arm in study.arms}
    rows = []
    for p in session.scalars(select(Participant).where(Participant.study_id == study.id)
                             .order_by(Participant.code)):
        rows.append((p.code, "applied", "", ""))
        if p.eligible is True:
            rows.append((p.code, "eligible", "", ""))
        if p.consented_on is not None:
            rows.append((p.code, "consented", "", ""))
        if p.eligible is False:
            failed = p.exclusion_reasons or []
            rows += [(p.code, "ineligible", "", key) for key in failed or [""]]
            if any(rules.get(key, {}).get("type") == "exclusion" for key in failed):
                rows.append((p.code, "meeting_exclusion", "", ""))
        if p.arm_id is None or p.randomised_at is None:
            continue
        arm = arm_keys.get(p.arm_id, "")
        if not receives[p.arm_id] or p.started_on or p.id in attended:
            rows.append((p.code, "started", arm, ""))
        if p.withdrawal_kind is not None and p.status != "lost":
            rows.append((p.code, "withdrawal_kind", arm, p.withdrawal_kind))
        if p.data_removed_at is not None:
            rows.append((p.code, "data_removed", arm, ""))
    return rows


def recruitment_per_month(session: Session, study_id: int) -> float | None:
    """People allocated per month, from the first to the last allocation (at least a month).

    Everyone allocated counts, including those whose data were later removed.
    """
    times = sorted(session.scalars(select(Participant.randomised_at).where(
        _allocated(study_id))))
    if not times:
        return None
    months = max((times[-1] - times[0]).days / DAYS_PER_MONTH, 1.0)
    return len(times) / months


# --------------------------------------------------------------------------- everything


class StudyTables:
    """Every table of one study, each read on first use and then kept (a page or download
    uses several, an efficacy report only the scores and participants)."""

    def __init__(self, session: Session, study_id: int, now: datetime | None = None, *,
                 checklists: Mapping[tuple[str, int], Sequence[str]]):
        self.session = session
        self.study_id = study_id
        self.now = now
        self.checklists = checklists

    @cached_property
    def timepoints(self) -> list[str]:
        return timepoints(self.session, self.study_id)

    @cached_property
    def scores(self) -> pd.DataFrame:
        return scores(self.session, self.study_id)

    @cached_property
    def participants(self) -> pd.DataFrame:
        return participants(self.session, self.study_id)

    @cached_property
    def attendance(self) -> pd.DataFrame:
        return attendance(self.session, self.study_id)

    @cached_property
    def sessions(self) -> pd.DataFrame:
        return sessions(self.session, self.study_id, self.checklists)

    @cached_property
    def practice_logs(self) -> pd.DataFrame:
        return practice_logs(self.session, self.study_id)

    @cached_property
    def engagement(self) -> pd.DataFrame:
        return engagement(self.session, self.study_id, self.now)

    @cached_property
    def satisfaction(self) -> pd.DataFrame:
        return satisfaction(self.session, self.study_id)

    @cached_property
    def flow(self) -> pd.DataFrame:
        return flow(self.session, self.study_id)

    @cached_property
    def recruitment_per_month(self) -> float | None:
        return recruitment_per_month(self.session, self.study_id)

    @property
    def measures(self) -> list[str]:
        return sorted(set(self.scores["measure"]))

    def wide(self, timepoints: Sequence[str] | None = None) -> pd.DataFrame:
        """One row per participant: participants.csv columns then ``measure@timepoint`` scores
        (the layout SPSS and Stata users expect)."""
        order = list(timepoints or self.timepoints)
        data = self.scores[self.scores["timepoint"].isin(order)]
        wide = pd.DataFrame({"participant_id": self.participants["participant_id"]})
        for measure in sorted(set(data["measure"])):
            rows = data[data["measure"] == measure]
            for tp in order:
                at = rows[rows["timepoint"] == tp].set_index("participant_id")["score"]
                if len(at):
                    wide[f"{measure}@{tp}"] = wide["participant_id"].map(at).astype(float)
        return self.participants.merge(wide, on="participant_id", how="left")


def load(session: Session, study_id: int, now: datetime | None = None, *,
         checklists: Mapping[tuple[str, int], Sequence[str]]) -> StudyTables:
    """Read every table of a study (see :class:`StudyTables`; ``checklists`` as for
    :func:`sessions`)."""
    return StudyTables(session, study_id, now, checklists=checklists)
