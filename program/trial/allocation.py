"""Allocation: the concealed list generated once from the study's seed, and randomising
one participant (list slot, or minimisation)."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import datetime
from itertools import product

from sqlalchemy import func, select

from models import (
    AllocationSlot,
    Arm,
    Participant,
    Study,
    db,
    utcnow,
    write_transaction,
)
from program.core import audit
from program.core.audit import AuditAction
from program.trial import sequences as randomisation
from program.trial.records import TrialError, participant_for_update


def _arm_ratios(study: Study) -> dict[str, int]:
    return {arm.key: arm.allocation_ratio or 1 for arm in study.arms}


def _strata(settings: Mapping) -> list[str]:
    factors = settings.get("strata", [])
    levels = settings.get("strata_levels", {})
    if not factors:
        return [""]
    combos = product(*[[f"{f}={level}" for level in levels.get(f, [])] for f in factors])
    return ["|".join(combo) for combo in combos]


def generate_allocation_list(study_id: int, *, actor=None) -> int:
    """Pre-generate the concealed allocation list from the study's seed; returns its length.

    Settings: ``seed`` (created and stored if absent), ``list_length`` per stratum (100),
    ``block_sizes`` ([4, 6]) and for stratified blocks ``strata`` (factor names) with
    ``strata_levels`` (factor -> levels). A study's list is generated once.
    """
    with write_transaction():
        study = db.session.get(Study, study_id)
        method = study.randomisation_method
        if study.design != "rct" or method not in ("simple", "blocks", "stratified_blocks"):
            raise TrialError("this study's method does not use a pre-generated list")
        exists = db.session.scalar(select(func.count()).select_from(AllocationSlot)
                                   .where(AllocationSlot.study_id == study.id))
        if exists:
            raise TrialError("the allocation list has already been generated")
        settings = dict(study.randomisation_settings or {})
        if "seed" not in settings:
            settings["seed"] = secrets.randbelow(2**31)
            study.randomisation_settings = settings
        arm_ids = {arm.key: arm.id for arm in study.arms}
        arms, ratios = list(arm_ids), _arm_ratios(study)
        n = int(settings.get("list_length", 100))
        sizes = settings.get("block_sizes", [4, 6])
        if method == "simple":
            lists = {"": randomisation.simple_sequence(arms, n, settings["seed"], ratios)}
        elif method == "blocks":
            lists = {"": randomisation.block_sequence(arms, n, settings["seed"], sizes, ratios)}
        else:
            lists = randomisation.stratified_sequences(
                arms, _strata(settings), n, settings["seed"], sizes, ratios)
        count = 0
        for stratum, allocations in lists.items():
            for a in allocations:
                db.session.add(AllocationSlot(study_id=study.id, stratum=stratum,
                                              position=a.position, arm_id=arm_ids[a.arm],
                                              block=a.block))
                count += 1
        audit.record(AuditAction.ALLOCATION_LIST_GENERATED, study, actor=actor, slots=count,
                     method=method)
    return count


def randomise(participant_id: int, *, actor=None, now: datetime | None = None) -> Arm:
    """Allocate a consented, eligible person to an arm, concealed and exactly once.

    Pre-generated lists: the next free slot of the person's stratum is claimed under
    ``FOR UPDATE SKIP LOCKED`` (PostgreSQL) or the BEGIN IMMEDIATE write lock (SQLite), so two
    concurrent randomisations never take the same slot. Minimisation is computed under a lock
    on the study row. Single-arm studies enrol straight into their arm.
    """
    now = now or utcnow()
    with write_transaction():
        participant = participant_for_update(participant_id)
        study = participant.study
        if participant.arm_id is not None or participant.randomised_at is not None:
            raise TrialError("this person has already been allocated")
        if participant.eligible is not True:
            raise TrialError("only eligible people can be randomised")
        if participant.consented_on is None or not participant.consent_version:
            raise TrialError("consent (information sheet version and date) is required first")
        if participant.withdrawal_kind is not None:
            raise TrialError("this person has withdrawn")
        method = study.randomisation_method
        if study.design == "single_arm":
            arm = study.arms[0]
        elif method == "minimisation":
            arm = _minimise(study, participant)
        elif method in ("simple", "blocks", "stratified_blocks"):
            arm = _claim_slot(study, participant, now)
        else:
            raise TrialError("the study has no randomisation method")
        participant.arm_id = arm.id
        participant.randomised_at = now
        participant.status = "randomised"
        audit.record(AuditAction.PARTICIPANT_RANDOMISED, participant, actor=actor,
                     method=method if study.design == "rct" else "single_arm")
    return arm


def _claim_slot(study: Study, participant: Participant, now: datetime) -> Arm:
    settings = study.randomisation_settings or {}
    stratum = ""
    if study.randomisation_method == "stratified_blocks":
        try:
            stratum = randomisation.stratum_key(settings.get("strata", []),
                                                participant.baseline or {})
        except randomisation.RandomisationError as exc:
            raise TrialError(str(exc)) from exc
    slot = db.session.scalar(
        select(AllocationSlot)
        .where(AllocationSlot.study_id == study.id, AllocationSlot.stratum == stratum,
               AllocationSlot.participant_id.is_(None))
        .order_by(AllocationSlot.position)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    if slot is None:
        raise TrialError("the allocation list is used up or was not generated")
    slot.participant_id = participant.id
    slot.used_at = now
    return db.session.get(Arm, slot.arm_id)


def _minimise(study: Study, participant: Participant) -> Arm:
    # Serialise minimisations of one study: each depends on every earlier allocation.
    db.session.execute(select(Study.id).where(Study.id == study.id).with_for_update())
    settings = study.randomisation_settings or {}
    factors = settings.get("factors") or {f: 1 for f in settings.get("strata", [])}
    if not factors:
        raise TrialError("minimisation needs at least one factor")
    unknown = [f for f in factors if (participant.baseline or {}).get(f) in (None, "")]
    if unknown:
        raise TrialError(f"minimisation factor {unknown[0]!r} has no value: enter the baseline "
                         "characteristics first")
    arms = {arm.id: arm for arm in study.arms}
    rows = db.session.execute(
        select(Participant.baseline, Participant.arm_id)
        .where(Participant.study_id == study.id, Participant.randomised_at.is_not(None))
        .order_by(Participant.randomised_at, Participant.id)
    ).all()
    allocated = [(baseline or {}, arms[arm_id].key) for baseline, arm_id in rows]
    if "seed" not in settings:
        raise TrialError("the study's randomisation settings have no seed")
    key = randomisation.minimise(
        [a.key for a in arms.values()], allocated, participant.baseline or {}, factors,
        settings["seed"], p_best=float(settings.get("p_best", 0.8)), ratios=_arm_ratios(study))
    return next(a for a in arms.values() if a.key == key)
