"""Factories for report tests: scored questionnaires, meetings with a register, practice logs,
and a small two-arm trial with pre and post scores."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

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
