"""Constraints live in the schema: the database refuses duplicates and dangling references."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from models import (
    Attendance,
    AuditEntry,
    Meeting,
    Participant,
    PracticeLog,
    Response,
    User,
    db,
    write_transaction,
)
from models.audit import AuditLogIsAppendOnly
from models.base import is_unique_violation
from tests.factories import gen_cohort, gen_participant, gen_study, gen_timepoint, gen_user


def _refused(*rows) -> IntegrityError:
    with pytest.raises(IntegrityError) as info:
        with write_transaction():
            db.session.add_all(rows)
    db.session.rollback()
    return info.value


def test_email_is_unique(app):
    gen_user("participant", email="same@example.org")
    error = _refused(User(email="same@example.org", display_name="x", role="participant",
                          password_hash="x"))
    assert is_unique_violation(error)


def test_participant_code_unique_within_a_study(app):
    study = gen_study()
    gen_participant(study, code="P-0007")
    error = _refused(Participant(study_id=study.id, code="P-0007", status="active"))
    assert is_unique_violation(error)
    # The same code in another study is fine.
    gen_participant(gen_study(), code="P-0007")


def test_one_attendance_row_per_participant_and_meeting(app):
    study = gen_study()
    cohort = gen_cohort(study)
    p = gen_participant(study, cohort=cohort)
    meeting = Meeting(cohort_id=cohort.id, session_number=1)
    db.session.add(meeting)
    db.session.commit()
    db.session.add(Attendance(meeting_id=meeting.id, participant_id=p.id, status="present"))
    db.session.commit()
    error = _refused(Attendance(meeting_id=meeting.id, participant_id=p.id, status="absent"))
    assert is_unique_violation(error)


def test_one_meeting_record_per_session(app):
    cohort = gen_cohort(gen_study())
    db.session.add(Meeting(cohort_id=cohort.id, session_number=3))
    db.session.commit()
    assert is_unique_violation(_refused(Meeting(cohort_id=cohort.id, session_number=3)))


def test_one_response_per_participant_instrument_and_timepoint(app):
    study = gen_study()
    p = gen_participant(study)
    tp = gen_timepoint(study)
    db.session.add(Response(participant_id=p.id, timepoint_id=tp.id, instrument_key="BDI-II"))
    db.session.commit()
    error = _refused(Response(participant_id=p.id, timepoint_id=tp.id, instrument_key="BDI-II"))
    assert is_unique_violation(error)


def test_double_submitted_practice_log_is_one_row(app):
    p = gen_participant(gen_study())
    log = dict(participant_id=p.id, practice_key="soothing-rhythm-breathing",
               practised_on=date(2026, 11, 20), minutes=10, submission_token="abc")
    db.session.add(PracticeLog(**log))
    db.session.commit()
    assert is_unique_violation(_refused(PracticeLog(**log)))


def test_check_constraints_refuse_values_outside_the_vocabulary(app):
    _refused(User(email="r@example.org", display_name="x", role="superuser", password_hash="x"))
    p = gen_participant(gen_study())
    _refused(PracticeLog(participant_id=p.id, practice_key="x", practised_on=date(2026, 1, 1),
                         minutes=10, helpfulness=11, submission_token="t"))


def test_foreign_keys_are_enforced(app):
    _refused(Participant(study_id=999_999, code="P-1", status="active"))


def test_deleting_a_user_keeps_the_pseudonymous_record(app):
    study = gen_study()
    p = gen_participant(study)
    with write_transaction():
        db.session.execute(db.delete(User).where(User.id == p.user_id))
    db.session.expire_all()
    record = db.session.scalar(select(Participant).where(Participant.id == p.id))
    assert record is not None and record.user_id is None


def test_audit_log_is_append_only(app):
    with write_transaction():
        db.session.add(AuditEntry(action="test.action"))
    entry = db.session.scalar(select(AuditEntry))
    entry.action = "changed"
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.commit()
    db.session.rollback()
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.delete(entry)
        db.session.commit()
    db.session.rollback()
