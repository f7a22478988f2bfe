"""Factories for test data: small functions with sensible defaults, committed on return."""

from __future__ import annotations

import itertools
from datetime import date, time, timedelta

from models import (
    Arm,
    Cohort,
    CohortFacilitator,
    Group,
    GroupMembership,
    Participant,
    Study,
    StudyStaff,
    Timepoint,
    User,
    db,
)
from program.accounts.passwords import hash_password

PASSWORD = "correct horse battery"
_seq = itertools.count(1)


def gen_user(role: str = "participant", **fields) -> User:
    n = next(_seq)
    user = User(
        email=fields.pop("email", f"{role}{n}@example.org"),
        display_name=fields.pop("display_name", f"{role.title()} {n}"),
        role=role,
        password_hash=hash_password(fields.pop("password", PASSWORD)),
        **fields,
    )
    db.session.add(user)
    db.session.commit()
    return user


def gen_study(design: str = "rct", program: str = "cft", arms=None, **fields) -> Study:
    n = next(_seq)
    study = Study(key=fields.pop("key", f"study-{n}"), title=fields.pop("title", f"Study {n}"),
                  design=design, program=program, **fields)
    if arms is None:
        arms = [("CFT", True), ("UC", False)] if design == "rct" else [("MSC", True)]
    study.arms = [Arm(key=k, name=k, receives_program=receives) for k, receives in arms]
    db.session.add(study)
    db.session.commit()
    return study


def gen_cohort(study: Study, *, start_date: date | None = None, facilitators=(), **fields
               ) -> Cohort:
    start = start_date or date.today() - timedelta(days=7 * 4 + 2)
    cohort = Cohort(
        study_id=study.id,
        name=fields.pop("name", f"Cohort {next(_seq)}"),
        program=study.program,
        start_date=start,
        timezone=fields.pop("timezone", "Europe/London"),
        meeting_weekday=fields.pop("meeting_weekday", start.weekday()),
        meeting_time=fields.pop("meeting_time", time(18, 0)),
        session_count=fields.pop("session_count", 12 if study.program == "cft" else 8),
        status=fields.pop("status", "running"),
        **fields,
    )
    db.session.add(cohort)
    db.session.flush()
    for user in facilitators:
        db.session.add(CohortFacilitator(cohort_id=cohort.id, user_id=user.id))
    db.session.commit()
    return cohort


def gen_group(cohort: Cohort, kind: str = "therapy", members=(), leaders=(), assistants=(),
              **fields) -> Group:
    group = Group(cohort_id=cohort.id, kind=kind, name=fields.pop("name", f"Group {next(_seq)}"),
                  **fields)
    db.session.add(group)
    db.session.flush()
    for role, users in (("member", members), ("leader", leaders), ("assistant", assistants)):
        for user in users:
            db.session.add(GroupMembership(group_id=group.id, user_id=user.id, role=role))
    db.session.commit()
    return group


def gen_participant(study: Study, *, arm: str | None = None, cohort: Cohort | None = None,
                    user: User | None = None, status: str = "active", **fields) -> Participant:
    user = user or gen_user("participant")
    arm_row = next((a for a in study.arms if a.key == arm), None) if arm else study.arms[0]
    n = next(_seq)
    participant = Participant(
        study_id=study.id, code=fields.pop("code", f"P-{n:04d}"), user_id=user.id,
        arm_id=arm_row.id if arm_row else None, cohort_id=cohort.id if cohort else None,
        status=status, **fields,
    )
    db.session.add(participant)
    db.session.commit()
    return participant


def gen_staff(study: Study, user: User, *, clinician: bool = False, blind: bool = True
              ) -> StudyStaff:
    staff = StudyStaff(study_id=study.id, user_id=user.id, is_clinician=clinician,
                       blind_to_arm=blind)
    db.session.add(staff)
    db.session.commit()
    return staff


def gen_timepoint(study: Study, key: str = "pre", position: int = 1, instruments=("BDI-II",),
                  opens_day: int = -14, closes_day: int = 7) -> Timepoint:
    tp = Timepoint(study_id=study.id, key=key, label=key.title(), position=position,
                   opens_day=opens_day, closes_day=closes_day, instruments=list(instruments))
    db.session.add(tp)
    db.session.commit()
    return tp
