"""Factories for report tests: scored questionnaires, meetings with a register, practice logs,
and a small two-arm trial with pre and post scores."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from models import (
    Attendance,
    Meeting,
    Participant,
    PracticeLog,
    Response,
    Score,
    Study,
    Timepoint,
    User,
    db,
)
from tests.factories import gen_cohort, gen_participant, gen_staff, gen_study, gen_timepoint

_seq = itertools.count(1)
RANDOMISED_AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def gen_response(participant: Participant, timepoint: Timepoint, instrument: str,
                 scores: dict[str, float | None], *, answers: dict | None = None,
                 status: str = "submitted") -> Response:
    """A questionnaire response with its tidy score rows."""
    response = Response(participant_id=participant.id, timepoint_id=timepoint.id,
                        instrument_key=instrument, answers=answers or {}, scores=dict(scores),
                        status=status,
                        submitted_at=RANDOMISED_AT if status == "submitted" else None)
    db.session.add(response)
    db.session.flush()
    for measure, value in scores.items():
        db.session.add(Score(response_id=response.id, participant_id=participant.id,
                             timepoint_id=timepoint.id, measure=measure, value=value))
    db.session.commit()
    return response


def gen_meeting(cohort, number: int, outcome: str = "held", register=(), checklist=()
                ) -> Meeting:
    """A meeting record; ``register`` is (participant, status, minutes) triples."""
    meeting = Meeting(cohort_id=cohort.id, session_number=number, outcome=outcome,
                      checklist_done=list(checklist))
    db.session.add(meeting)
    db.session.flush()
    for participant, status, minutes in register:
        db.session.add(Attendance(meeting_id=meeting.id, participant_id=participant.id,
                                  status=status, minutes_attended=minutes))
    db.session.commit()
    return meeting


def gen_practice(participant: Participant, day: date, minutes: int = 10, *,
                 practice: str = "soothing-rhythm-breathing", note: str | None = None
                 ) -> PracticeLog:
    log = PracticeLog(participant_id=participant.id, practice_key=practice, practised_on=day,
                      minutes=minutes, helpfulness=7, note=note,
                      submission_token=f"t-{next(_seq)}")
    db.session.add(log)
    db.session.commit()
    return log


def gen_allocated(study: Study, arm: str, cohort=None, **fields) -> Participant:
    """A randomised participant (screened eligible, consented, allocated)."""
    fields.setdefault("eligible", True)
    fields.setdefault("randomised_at", RANDOMISED_AT)
    fields.setdefault("consented_on", RANDOMISED_AT.date() - timedelta(days=3))
    return gen_participant(study, arm=arm, cohort=cohort, **fields)


#: BDI-II pre and post per participant of the small trial (None: no post questionnaire)
SMALL_TRIAL = {
    "CFT": [(34, 22), (30, 19), (41, 28), (36, 25), (29, None)],
    "UC": [(38, 37), (40, 41), (33, 30), (42, 40)],
}


def gen_scored_trial(researcher: User | None = None) -> Study:
    """A two-arm trial (CFT, UC) with BDI-II pre and post, a cohort, and its researcher."""
    study = gen_study("rct", "cft")
    pre = gen_timepoint(study, "pre", 1)
    post = gen_timepoint(study, "post", 2, opens_day=77, closes_day=98)
    cohort = gen_cohort(study, start_date=date(2026, 3, 9))
    if researcher is not None:
        gen_staff(study, researcher)
    n = 0
    for arm, pairs in SMALL_TRIAL.items():
        for before, after in pairs:
            n += 1
            p = gen_allocated(study, arm, cohort if arm == "CFT" else None,
                              code=f"S{study.id}-{n:03d}", gender="female" if n % 2 else "male",
                              birth_year=1980 + n)
            gen_response(p, pre, "BDI-II", {"BDI-II": before})
            if after is not None:
                gen_response(p, post, "BDI-II", {"BDI-II": after})
    return study


#: the analysis tests' data set with a real therapy-group effect (R-checked there)
GROUPS_DATA = Path(__file__).parent / "analysis" / "data"


def gen_groups_trial(researcher: User | None = None) -> Study:
    """The ``groups`` data set of ``tests/analysis/data`` as a study in the database: CFT
    delivered in six cohorts (its therapy groups G1..G6, each participant attending as many
    meetings as ``sessions_attended``), usual care in none, a ``site`` baseline variable,
    BDI-II pre and post. Its numbers are R's (tests/analysis/test_clustered.py)."""
    import pandas as pd

    people = pd.read_csv(GROUPS_DATA / "groups_participants.csv")
    scores = pd.read_csv(GROUPS_DATA / "groups_scores.csv")
    study = gen_study("rct", "cft")
    timepoints = {"pre": gen_timepoint(study, "pre", 1),
                  "post": gen_timepoint(study, "post", 2, opens_day=77, closes_day=98)}
    if researcher is not None:
        gen_staff(study, researcher)
    arms = {arm.key: arm.id for arm in study.arms}
    cohorts = {name: gen_cohort(study, name=name, start_date=date(2026, 3, 9))
               for name in sorted(people["therapy_group"].dropna().unique())}
    by_code = {}
    for row in people.itertuples():
        cohort = cohorts.get(row.therapy_group) if isinstance(row.therapy_group, str) else None
        by_code[row.participant_id] = p = Participant(
            study_id=study.id, code=row.participant_id, arm_id=arms[row.arm],
            cohort_id=cohort.id if cohort else None, status=row.status, gender=row.gender,
            birth_year=RANDOMISED_AT.year - int(row.age), baseline={"site": row.site},
            eligible=True, randomised_at=RANDOMISED_AT)
        db.session.add(p)
    db.session.flush()
    for name, cohort in cohorts.items():
        members = people[people["therapy_group"] == name]
        for number in range(1, int(members["sessions_attended"].max()) + 1):
            gen_meeting(cohort, number, register=[
                (by_code[m.participant_id], "present", 90) for m in members.itertuples()
                if m.sessions_attended >= number])
    for row in scores.itertuples():
        p, tp = by_code[row.participant_id], timepoints[row.timepoint]
        response = Response(participant_id=p.id, timepoint_id=tp.id, instrument_key="BDI-II",
                            answers={}, scores={row.measure: row.score}, status="submitted",
                            submitted_at=RANDOMISED_AT)
        db.session.add(response)
        db.session.flush()
        db.session.add(Score(response_id=response.id, participant_id=p.id, timepoint_id=tp.id,
                             measure=row.measure, value=row.score))
    db.session.commit()
    return study
