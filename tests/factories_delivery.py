"""Factories for program-delivery tests: a cohort on a fixed calendar with its people."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from models import Cohort, Participant, Study, User
from tests.factories import gen_cohort, gen_participant, gen_study, gen_user

#: A Thursday; London summer time ends on Sunday 25 October 2026.
START = date(2026, 10, 15)
VIDEO = "https://meet.example.org/hearth-test"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@dataclass
class Course:
    study: Study
    cohort: Cohort
    facilitator: User
    participant: Participant
    user: User


def gen_course(program: str = "msc", *, start: date = START, timezone: str = "Europe/London",
               meeting_time: time = time(18, 0), arm: str | None = None, **cohort_fields
               ) -> Course:
    """A running cohort (meetings on ``start``'s weekday) with a facilitator and a participant."""
    design = "rct" if program == "cft" else "single_arm"
    study = gen_study(design, program=program)
    facilitator = gen_user("facilitator")
    cohort_fields.setdefault("video_link", VIDEO)
    cohort = gen_cohort(study, start_date=start, timezone=timezone,
                        meeting_weekday=start.weekday(), meeting_time=meeting_time,
                        facilitators=[facilitator], **cohort_fields)
    user = gen_user("participant")
    participant = gen_participant(study, cohort=cohort, user=user,
                                  arm=arm or study.arms[0].key)
    return Course(study, cohort, facilitator, participant, user)
