"""A double click randomises a person once: many simultaneous requests for one participant give
one allocation, one audit entry, and "already allocated" for every other request.

Each thread first loads the participant into its session (as the researcher's page does through
``researcher_participant``) and only then asks for the randomisation, so a decision made from
that copy instead of the row read under the lock allocates the person twice.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from models import AllocationSlot, AuditEntry, Participant, db
from program.trial import allocation, enrolment
from program.trial.records import TrialError
from tests.factories_trial import ELIGIBLE, gen_applicant, gen_trial

N = 12


@pytest.fixture
def app_config(database_url, tmp_path):
    if database_url.startswith("sqlite"):
        return {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'double.db'}"}
    return {"SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": N, "max_overflow": 5}}


def _consented(study):
    person = gen_applicant(study, baseline={"gender": "female"})
    enrolment.screen(person.id, ELIGIBLE, on=person.created_at.date())
    enrolment.record_consent(person.id, "v1.0", on=person.created_at.date())
    return person.id


def _race(app, participant_id: int) -> tuple[list, list[str], list[BaseException]]:
    db.session.remove()
    start = threading.Barrier(N)
    arms, refusals, errors = [], [], []

    def click() -> None:
        with app.app_context():
            try:
                page_copy = db.session.get(Participant, participant_id)
                db.session.commit()
                start.wait()
                arms.append(allocation.randomise(page_copy.id).key)
            except TrialError as exc:
                refusals.append(str(exc))
            except BaseException as exc:  # reported with the test's failure
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=click) for _ in range(N)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return arms, refusals, errors


def _randomised_entries(participant_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "participant.randomised", AuditEntry.object_id == participant_id))


@pytest.mark.parametrize("method", ["minimisation", "blocks"])
def test_simultaneous_randomisations_of_one_person_allocate_once(app, method):
    settings = {"factors": {"gender": 1}} if method == "minimisation" else {}
    study = gen_trial(method, **settings)
    if method == "blocks":
        allocation.generate_allocation_list(study.id)
    # one person already allocated, so minimisation has something to balance against
    allocation.randomise(_consented(study))
    person = _consented(study)

    arms, refusals, errors = _race(app, person)

    assert errors == []
    assert len(arms) == 1, arms
    assert refusals == ["this person has already been allocated"] * (N - 1)
    assert _randomised_entries(person) == 1
    stored = db.session.get(Participant, person)
    assert stored.arm.key == arms[0]
    if method == "blocks":
        slots = db.session.scalar(select(func.count()).select_from(AllocationSlot)
                                  .where(AllocationSlot.participant_id == person))
        assert slots == 1


def test_a_unique_key_conflict_reaching_the_database_answers_409_in_plain_words(app):
    """A conflict the code did not foresee is "already done", not "could not reach its
    database" (503), and the request's transaction is rolled back."""
    study = gen_trial("blocks")
    slots = allocation.generate_allocation_list(study.id)
    first = db.session.scalar(select(AllocationSlot).order_by(AllocationSlot.id).limit(1))
    first_key = (first.study_id, first.stratum, first.position)

    @app.post("/_test/duplicate-slot")
    def duplicate_slot():
        db.session.add(AllocationSlot(study_id=first_key[0], stratum=first_key[1],
                                      position=first_key[2], arm_id=first.arm_id))
        db.session.flush()
        return "unreachable"

    app.config["WTF_CSRF_ENABLED"] = False
    response = app.test_client().post("/_test/duplicate-slot")
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "already done" in page
    assert "could not reach its database" not in page
    assert db.session.scalar(select(func.count()).select_from(AllocationSlot)) == slots
