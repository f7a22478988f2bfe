"""Fifty people randomised at the same moment take fifty distinct allocation slots."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from models import AllocationSlot, Participant, db
from program.trial import allocation, enrolment
from tests.factories_trial import ELIGIBLE, gen_applicant, gen_trial

N = 50


@pytest.fixture
def app_config(database_url, tmp_path):
    """Threads need a shared database: on SQLite a file (WAL, BEGIN IMMEDIATE), not memory."""
    if database_url.startswith("sqlite"):
        return {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'concurrency.db'}"}
    return {"SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 10, "max_overflow": 20}}


def test_fifty_concurrent_randomisations_take_fifty_distinct_slots(app):
    study = gen_trial("blocks", list_length=N + 10)
    allocation.generate_allocation_list(study.id)
    ids = []
    for _ in range(N):
        person = gen_applicant(study)
        enrolment.screen(person.id, ELIGIBLE, on=person.created_at.date())
        enrolment.record_consent(person.id, "v1.0", on=person.created_at.date())
        ids.append(person.id)
    db.session.remove()

    start = threading.Barrier(N)
    errors: list[BaseException] = []

    def enrol(participant_id: int) -> None:
        with app.app_context():
            try:
                start.wait()
                allocation.randomise(participant_id)
            except BaseException as exc:  # reported below with the test's failure
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=enrol, args=(pid,)) for pid in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    taken = db.session.scalars(select(AllocationSlot.participant_id)
                               .where(AllocationSlot.participant_id.is_not(None))).all()
    assert sorted(taken) == sorted(ids)
    positions = db.session.scalars(select(AllocationSlot.position)
                                   .where(AllocationSlot.participant_id.is_not(None))).all()
    assert len(set(positions)) == N
    allocated = db.session.scalar(select(func.count()).select_from(Participant)
                                  .where(Participant.arm_id.is_not(None)))
    assert allocated == N
