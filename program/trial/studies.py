"""Writes of a study's set-up steps: the study itself, its staff, its information sheet
versions, its eligibility rules and its randomisation.

Each function runs one write transaction and records it in the audit log; the views check the
input first, and a ``SetupError`` carries a message for the researcher.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from models import (
    AllocationSlot,
    Arm,
    ConsentVersion,
    Study,
    StudyStaff,
    User,
    db,
    write_transaction,
)
from program.core import audit
from program.core.audit import AuditAction
from program.trial import allocation, characteristics
from program.trial.setup import SetupError, allocation_list_exists, check_rules

#: roles that can be on a study's staff
STAFF_ROLES = ("researcher", "rater", "facilitator", "admin")
LIST_METHODS = ("simple", "blocks", "stratified_blocks")


def create_study(values: Mapping, *, creator: User, lead_id: int | None = None) -> Study:
    """A new study with its first arm(s); the creator (and a chosen lead researcher) become its
    staff. An RCT starts with no arms (its arms page adds them); a single-arm study gets one."""
    with write_transaction():
        if db.session.scalar(select(Study.id).where(Study.key == values["key"])):
            raise SetupError(_l("Another study has this key."))
        study = Study(key=values["key"], title=values["title"], design=values["design"],
                      program=values["program"],
                      registration_id=values.get("registration_id") or None,
                      code_prefix=values["code_prefix"], randomisation_method="none",
                      randomisation_settings={"seed": secrets.randbelow(2**31)},
                      eligibility_rules=[], instrument_settings={},
                      baseline_characteristics=[])
        if values["design"] == "single_arm":
            study.arms = [Arm(key=values["program"].upper(), name=values["program"].upper(),
                              receives_program=True, allocation_ratio=1)]
        db.session.add(study)
        db.session.flush()
        for user_id in {creator.id, lead_id} - {None}:
            db.session.add(StudyStaff(study_id=study.id, user_id=user_id, is_clinician=False,
                                      blind_to_arm=False))
        audit.record(AuditAction.STUDY_CREATED, study, actor=creator, key=study.key)
    return study


def _locked(study_id: int) -> Study:
    """The study, its row locked for the rest of the transaction: set-up changes of one study
    run one after the other, so a second click finds the first one's result."""
    return db.session.get(Study, study_id, with_for_update=True, populate_existing=True)


# --------------------------------------------------------------------------- staff


def staff_rows(study_id: int) -> list[tuple[StudyStaff, User]]:
    return list(db.session.execute(
        select(StudyStaff, User).join(User, User.id == StudyStaff.user_id)
        .where(StudyStaff.study_id == study_id).order_by(User.display_name)).tuples())


def set_staff(study_id: int, user_id: int, *, is_clinician: bool, blind_to_arm: bool) -> None:
    """Add a staff account to the study, or change its flags."""
    with write_transaction():
        _locked(study_id)
        user = db.session.get(User, user_id)
        if user is None or user.role not in STAFF_ROLES or not user.active:
            raise SetupError(_l("Choose an active staff account."))
        row = db.session.scalar(select(StudyStaff).where(StudyStaff.study_id == study_id,
                                                         StudyStaff.user_id == user_id))
        if row is not None and (row.is_clinician, row.blind_to_arm) == (is_clinician,
                                                                       blind_to_arm):
            return  # as it is already (a second click changes nothing)
        if row is None:
            row = StudyStaff(study_id=study_id, user_id=user_id)
            db.session.add(row)
        row.is_clinician, row.blind_to_arm = is_clinician, blind_to_arm
        db.session.flush()
        audit.record(AuditAction.STUDY_STAFF_SET, row, user_id=user_id,
                     is_clinician=is_clinician, blind_to_arm=blind_to_arm)


def remove_staff(study_id: int, user_id: int, *, actor: User) -> None:
    with write_transaction():
        _locked(study_id)
        if user_id == actor.id:
            raise SetupError(_l("You cannot remove yourself from the study."))
        row = db.session.scalar(select(StudyStaff).where(StudyStaff.study_id == study_id,
                                                         StudyStaff.user_id == user_id))
        if row is None:
            raise SetupError(_l("This account is not on the study's staff."))
        audit.record(AuditAction.STUDY_STAFF_REMOVED, row, user_id=user_id)
        db.session.delete(row)


# --------------------------------------------------------------------------- consent


def consent_versions(study_id: int) -> list[ConsentVersion]:
    return list(db.session.scalars(select(ConsentVersion)
                                   .where(ConsentVersion.study_id == study_id)
                                   .order_by(ConsentVersion.created_at, ConsentVersion.id)))


def add_consent_version(study_id: int, version: str, *, text: str | None,
                        file: tuple[str, str, bytes] | None, current: bool) -> ConsentVersion:
    """A new information sheet version (its text, or a file as (name, type, bytes))."""
    if not (text or "").strip() and not file:
        raise SetupError(_l("Give the information sheet as text or as a file."))
    with write_transaction():
        study = _locked(study_id)
        taken = db.session.scalar(select(ConsentVersion.id).where(
            ConsentVersion.study_id == study_id, ConsentVersion.version == version))
        if taken:
            raise SetupError(_l("This version exists already; give the new one another name."))
        row = ConsentVersion(study_id=study_id, version=version,
                             sheet_text=(text or "").strip() or None)
        if file:
            row.file_name, row.file_type, row.file_data = file
        db.session.add(row)
        db.session.flush()
        if current or not study.consent_version:
            study.consent_version = version
        audit.record(AuditAction.CONSENT_VERSION_ADDED, row, version=version,
                     current=study.consent_version == version)
    return row


def make_current(study_id: int, version_id: int) -> ConsentVersion:
    """Consent is recorded on this version of the information sheet from now on."""
    with write_transaction():
        study = _locked(study_id)
        row = db.session.get(ConsentVersion, version_id)
        if row is None or row.study_id != study_id:
            raise SetupError(_l("No such version of this study's information sheet."))
        if study.consent_version == row.version:
            return row
        study.consent_version = row.version
        audit.record(AuditAction.CONSENT_VERSION_CURRENT, row, version=row.version)
    return row


# --------------------------------------------------------------------------- eligibility


def save_eligibility(study_id: int, rules: list[dict]) -> None:
    check_rules(rules)
    with write_transaction():
        study = _locked(study_id)
        if study.eligibility_rules == rules:
            return
        study.eligibility_rules = rules
        audit.record(AuditAction.ELIGIBILITY_SAVED, study, keys=[r["key"] for r in rules])


# --------------------------------------------------------------------------- randomisation


def save_randomisation(study_id: int, method: str, *, block_sizes: Sequence[int],
                       list_length: int, factors: Sequence[str],
                       seed: int | None = None) -> None:
    """Method and settings; strata levels come from the chosen characteristics' choices.

    Fixed once the allocation list exists; the seed made when the study was created is kept
    (the pages never give one; the demo seed gives a fixed one, so its list is the same on
    every machine).
    """
    with write_transaction():
        study = _locked(study_id)
        if allocation_list_exists(study_id):
            raise SetupError(_l("The allocation list exists; the randomisation is fixed."))
        usable = {d["key"] for d in characteristics.stratifiable(study)}
        if any(f not in usable for f in factors):
            raise SetupError(_l("Stratify only by the study's choice or yes/no characteristics."))
        if method in ("stratified_blocks", "minimisation") and not factors:
            raise SetupError(_l("Choose at least one characteristic for this method."))
        if method in ("blocks", "stratified_blocks"):
            unit = sum(a.allocation_ratio or 1 for a in study.arms) or 1
            if any(size % unit for size in block_sizes):
                raise SetupError(_l("Every block size must be a multiple of %(unit)d (the sum "
                                    "of the arms' ratios).", unit=unit))
        factors = list(factors) if method in ("stratified_blocks", "minimisation") else []
        seed = seed or (study.randomisation_settings or {}).get("seed") \
            or secrets.randbelow(2**31)
        settings = {
            "seed": seed, "block_sizes": list(block_sizes), "list_length": list_length,
            "strata": factors, "strata_levels": characteristics.levels(study, factors),
            **({"factors": {f: 1 for f in factors}} if method == "minimisation" else {})}
        if (study.randomisation_method, study.randomisation_settings) == (method, settings):
            return
        study.randomisation_method, study.randomisation_settings = method, settings
        audit.record(AuditAction.RANDOMISATION_SAVED, study, method=method, factors=factors)


def generate_list(study_id: int, *, actor=None) -> int:
    """Generate the concealed list with the strata of the characteristics as they are now
    (a site added after the settings were saved gets its own list); returns its length."""
    with write_transaction():
        study = _locked(study_id)
        settings = dict(study.randomisation_settings or {})
        if settings.get("strata") and not allocation_list_exists(study_id):
            settings["strata_levels"] = characteristics.levels(study, settings["strata"])
            study.randomisation_settings = settings
    return allocation.generate_allocation_list(study_id, actor=actor)


def allocation_summary(study_id: int) -> tuple[int, int, int]:
    """(slots, slots used, strata) of the concealed list; never its contents."""
    return db.session.execute(
        select(func.count(), func.count(AllocationSlot.participant_id),
               func.count(func.distinct(AllocationSlot.stratum)))
        .where(AllocationSlot.study_id == study_id)).one()
