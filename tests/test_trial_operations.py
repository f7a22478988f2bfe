"""Screening, consent, randomisation, groups, adverse events, withdrawal and flow counts."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
from sqlalchemy import select

from models import (
    AdverseEvent,
    AllocationSlot,
    AuditEntry,
    GroupMembership,
    OutboxMessage,
    Participant,
    SafetyAlert,
    Screening,
    db,
)
from program.reports import study_flow
from program.safety.alerts import raise_alert
from program.trial import adverse_events, allocation, eligibility, enrolment, withdrawal
from program.trial.records import TrialError
from tests.factories import gen_cohort, gen_group, gen_staff, gen_study, gen_user
from tests.factories_trial import ELIGIBLE, gen_applicant, gen_trial

TODAY = date(2026, 3, 2)


def enrol(study, **baseline):
    person = gen_applicant(study, baseline=baseline)
    enrolment.screen(person.id, ELIGIBLE, on=TODAY)
    enrolment.record_consent(person.id, study.consent_version, on=TODAY)
    return person


def test_screening_records_which_rule_excluded_whom(app):
    study = gen_trial()
    young = gen_applicant(study)
    enrolment.screen(young.id, {**ELIGIBLE, "age": 17, "bdi_ii": 12}, on=TODAY)
    psychotic = gen_applicant(study)
    enrolment.screen(psychotic.id, {**ELIGIBLE, "psychosis": True}, on=TODAY)
    ok = gen_applicant(study)
    enrolment.screen(ok.id, ELIGIBLE, on=TODAY)

    db.session.expire_all()
    assert db.session.get(Participant, young.id).exclusion_reasons == ["age", "bdi_ii"]
    assert db.session.get(Participant, young.id).status == "ineligible"
    screening = db.session.scalar(
        select(Screening).where(Screening.participant_id == psychotic.id))
    assert screening.failed_rules == ["psychosis"] and screening.eligible is False
    assert db.session.get(Participant, ok.id).eligible is True
    excluded = study_flow(study.id)["excluded"]
    assert excluded["ineligible"] == 2
    assert excluded["not_meeting_inclusion"] == 1 and excluded["meeting_exclusion"] == 1
    assert excluded["rules"] == {"age": 1, "bdi_ii": 1, "psychosis": 1}


def test_boundaries_of_the_cft_rules_are_inclusive():
    rules = eligibility.CFT_ELIGIBILITY
    assert eligibility.failed_rules(rules, {**ELIGIBLE, "age": 18, "bdi_ii": 20}) == []
    assert eligibility.failed_rules(rules, {**ELIGIBLE, "age": 60}) == []
    assert eligibility.failed_rules(rules, {**ELIGIBLE, "age": 61, "ssri_failures": 1}) == [
        "age", "ssri_failures"]
    assert eligibility.failed_rules(rules, {**ELIGIBLE, "diagnosis": False}) == ["diagnosis"]


def test_screening_form_answers_are_checked():
    answers, errors = eligibility.parse_screening_answers(
        eligibility.CFT_ELIGIBILITY, {"age": "41", "bdi_ii": "many", "diagnosis": "yes",
                                "psychosis": "maybe"})
    assert answers["age"] == 41 and answers["diagnosis"] is True
    assert errors["bdi_ii"] == "number" and errors["psychosis"] == "yes_no"
    assert errors["suicidality"] == "required"


def test_randomisation_needs_consent_to_the_current_sheet(app):
    study = gen_trial()
    allocation.generate_allocation_list(study.id)
    person = gen_applicant(study)
    enrolment.screen(person.id, ELIGIBLE, on=TODAY)
    with pytest.raises(TrialError, match="consent"):
        allocation.randomise(person.id)
    with pytest.raises(TrialError, match="v1.0"):
        enrolment.record_consent(person.id, "v0.9", on=TODAY)
    enrolment.record_consent(person.id, "v1.0", on=TODAY)
    arm = allocation.randomise(person.id)
    db.session.expire_all()
    stored = db.session.get(Participant, person.id)
    assert stored.arm_id == arm.id and stored.status == "randomised"
    assert stored.consent_version == "v1.0" and stored.consented_on == TODAY
    with pytest.raises(TrialError, match="already"):
        allocation.randomise(person.id)


def test_ineligible_people_cannot_consent_or_be_randomised(app):
    study = gen_trial()
    person = gen_applicant(study)
    enrolment.screen(person.id, {**ELIGIBLE, "age": 70}, on=TODAY)
    with pytest.raises(TrialError, match="eligible"):
        enrolment.record_consent(person.id, "v1.0", on=TODAY)
    with pytest.raises(TrialError, match="eligible"):
        allocation.randomise(person.id)


def test_allocations_follow_the_pregenerated_list_in_order(app):
    study = gen_trial("blocks", block_sizes=[4])
    assert allocation.generate_allocation_list(study.id) == 60
    with pytest.raises(TrialError, match="already"):
        allocation.generate_allocation_list(study.id)
    people = [enrol(study) for _ in range(8)]
    arms = [allocation.randomise(p.id).key for p in people]
    listed = db.session.execute(
        select(AllocationSlot.position, AllocationSlot.arm_id).order_by(AllocationSlot.position)
    ).all()[:8]
    keys = {a.id: a.key for a in study.arms}
    assert arms == [keys[arm_id] for _, arm_id in listed]
    assert Counter(arms) == {"CFT": 4, "UC": 4}  # two complete blocks of four


def test_stratified_lists_allocate_within_the_persons_stratum(app):
    study = gen_trial("stratified_blocks", strata=["gender"],
                      strata_levels={"gender": ["female", "male"]}, block_sizes=[2])
    allocation.generate_allocation_list(study.id)
    women = [enrol(study, gender="female") for _ in range(4)]
    for p in women:
        allocation.randomise(p.id)
    used = db.session.scalars(select(AllocationSlot.stratum)
                              .where(AllocationSlot.participant_id.is_not(None))).all()
    assert used == ["gender=female"] * 4
    unknown = enrol(study)
    with pytest.raises(TrialError, match="gender"):
        allocation.randomise(unknown.id)


def test_minimisation_allocates_under_the_study_lock_and_balances(app):
    study = gen_trial("minimisation", factors={"gender": 1}, p_best=1.0)
    people = [enrol(study, gender="female" if i % 2 else "male") for i in range(12)]
    arms = [allocation.randomise(p.id).key for p in people]
    assert Counter(arms) == {"CFT": 6, "UC": 6}


def test_a_single_arm_study_enrols_straight_into_its_arm(app):
    study = gen_study("single_arm", "msc", eligibility_rules=[], consent_version="v2.1")
    person = gen_applicant(study)
    enrolment.screen(person.id, {}, on=TODAY)
    enrolment.record_consent(person.id, "v2.1", on=TODAY)
    assert allocation.randomise(person.id).key == "MSC"


def test_randomisation_is_audited_without_revealing_the_seed(app):
    study = gen_trial()
    allocation.generate_allocation_list(study.id)
    person = enrol(study)
    allocation.randomise(person.id)
    entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [e.action for e in entries][-1] == "participant.randomised"
    assert all("seed" not in e.details and "4242" not in str(e.details) for e in entries)


def test_groups_are_filled_by_size_and_everyone_joins_the_large_group(app):
    study = gen_study("single_arm", "msc")
    cohort = gen_cohort(study)
    small = [gen_group(cohort, "small", name=f"Peer {i}") for i in range(3)]
    large = gen_group(cohort, "large", name="Everyone")
    already = gen_user("participant")
    db.session.add(GroupMembership(group_id=small[0].id, user_id=already.id))
    db.session.commit()
    for _ in range(8):
        person = gen_applicant(study)
        person.arm_id, person.cohort_id = study.arms[0].id, cohort.id
        person.status = "randomised"
    db.session.commit()
    assert enrolment.assign_groups(cohort.id) == 16
    sizes = Counter(db.session.scalars(
        select(GroupMembership.group_id).where(GroupMembership.group_id != large.id)))
    assert sorted(sizes.values()) == [3, 3, 3]
    assert enrolment.assign_groups(cohort.id) == 0


def test_a_safety_alert_becomes_a_serious_event_and_clinicians_are_told(app):
    study = gen_trial()
    clinician = gen_user("facilitator")
    gen_staff(study, clinician, clinician=True)
    researcher = gen_user("researcher")
    gen_staff(study, researcher)
    person = enrol(study)
    alert = raise_alert("response", 999, "bdi-ii-item-9", study_id=study.id,
                        participant_id=person.id)
    db.session.commit()
    event = adverse_events.adverse_event_from_alert(
        alert.id, description="Admitted to hospital", onset_on=TODAY, severity="severe",
        serious=True, relatedness="unlikely", actor=researcher)
    db.session.expire_all()
    assert db.session.get(AdverseEvent, event.id).alert_id == alert.id
    assert db.session.get(SafetyAlert, alert.id).status == "acknowledged"
    told = db.session.scalars(select(OutboxMessage.recipient_id)
                              .where(OutboxMessage.kind == "serious_adverse_event")).all()
    assert told == [clinician.id]
    body = db.session.scalar(select(OutboxMessage.body_text)
                             .where(OutboxMessage.kind == "serious_adverse_event"))
    assert "hospital" not in body


def test_a_non_serious_event_notifies_nobody(app):
    study = gen_trial()
    gen_staff(study, gen_user("facilitator"), clinician=True)
    person = enrol(study)
    adverse_events.record_adverse_event(person.id, description="Headache", onset_on=TODAY,
                               severity="mild", serious=False, relatedness="unrelated")
    assert db.session.scalar(select(OutboxMessage.id)
                             .where(OutboxMessage.kind == "serious_adverse_event")) is None


def test_withdrawal_is_three_different_things(app):
    study = gen_trial()
    allocation.generate_allocation_list(study.id)
    cohort = gen_cohort(study)
    group = gen_group(cohort)
    people = [enrol(study) for _ in range(3)]
    for p in people:
        allocation.randomise(p.id)
        db.session.add(GroupMembership(group_id=group.id, user_id=p.user_id))
    db.session.commit()
    from program.messaging.outbox import enqueue
    for p in people:
        enqueue(f"test:{p.id}", p.user_id, "test", "Hello", "Hello")
    db.session.commit()

    withdrawal.withdraw(people[0].id, "stop_sessions", reason="too busy", on=TODAY)
    withdrawal.withdraw(people[1].id, "stop_contact", reason="", on=TODAY)
    withdrawal.withdraw(people[2].id, "leave_study", reason="relocation", on=TODAY)
    db.session.expire_all()
    stopped, silent, left = (db.session.get(Participant, p.id) for p in people)
    assert stopped.status == "randomised" and not stopped.sees_program
    assert silent.status == left.status == "withdrawn"
    assert db.session.scalars(select(GroupMembership.user_id)
                              .where(GroupMembership.group_id == group.id)).all() == []
    statuses = dict(db.session.execute(
        select(OutboxMessage.recipient_id, OutboxMessage.status)).all())
    assert statuses == {stopped.user_id: "pending", silent.user_id: "cancelled",
                        left.user_id: "cancelled"}
    with pytest.raises(TrialError, match="narrowed"):
        withdrawal.withdraw(left.id, "stop_sessions", reason="", on=TODAY)
    withdrawal.withdraw(stopped.id, "leave_study", reason="too busy", on=TODAY)


def test_flow_counts_add_up_like_the_cft_pilot(app):
    """The brief's flow: 24 consented -> 3 + 2 excluded -> 18 randomised (10/8) -> 17 analysed."""
    study = gen_trial("blocks")
    allocation.generate_allocation_list(study.id)
    for answers in [{"age": 70}, {"bdi_ii": 15}, {"ssri_failures": 1}, {"psychosis": True},
                    {"substance": True}]:
        enrolment.screen(gen_applicant(study).id, {**ELIGIBLE, **answers}, on=TODAY)
    eligible_only = gen_applicant(study)
    enrolment.screen(eligible_only.id, ELIGIBLE, on=TODAY)
    people = [enrol(study) for _ in range(18)]
    arms = {p.id: allocation.randomise(p.id).key for p in people}
    cft = [p for p in people if arms[p.id] == "CFT"]
    uc = [p for p in people if arms[p.id] == "UC"]
    withdrawal.withdraw(cft[0].id, "leave_study", reason="relocation", on=TODAY)
    withdrawal.request_data_removal(uc[0].id, on=TODAY)
    from program.trial.removal import remove_participant_data
    remove_participant_data(uc[0].id)

    flow = study_flow(study.id)
    assert flow["applied"] == 24 and flow["assessed"] == 24
    assert flow["excluded"]["not_meeting_inclusion"] == 3
    assert flow["excluded"]["meeting_exclusion"] == 2
    assert flow["eligible_not_allocated"] == 1
    assert flow["randomised"] == 18
    assert flow["arms"]["CFT"]["allocated"] + flow["arms"]["UC"]["allocated"] == 18
    assert flow["arms"]["CFT"]["withdrawn"]["reasons"] == [{"reason": "relocation", "n": 1}]
    assert flow["arms"]["UC"]["withdrawn"]["reasons"] == [
        {"reason": "asked for data removal", "n": 1}]
    assert flow["arms"]["UC"]["data_removed"] == 1
    assert flow["analysed"] == 17


def test_asking_for_removal_is_leaving_the_study_at_once(app):
    study = gen_trial()
    cohort = gen_cohort(study)
    group = gen_group(cohort)
    person = enrol(study)
    db.session.add(GroupMembership(group_id=group.id, user_id=person.user_id))
    from program.messaging.outbox import enqueue
    enqueue("test:removal", person.user_id, "test", "Hello", "Hello")
    db.session.commit()
    withdrawal.request_data_removal(person.id, on=TODAY)
    db.session.expire_all()
    stored = db.session.get(Participant, person.id)
    assert (stored.withdrawal_kind, stored.status) == ("leave_study", "withdrawn")
    assert stored.data_removal_requested_at is not None and stored.data_removed_at is None
    assert db.session.scalar(select(OutboxMessage.status)) == "cancelled"
    assert db.session.scalar(select(GroupMembership.id)) is None
