"""Trial operations: screening, consent, randomisation, cohorts and groups, adverse events and
withdrawal (the CONSORT flow counts are :func:`program.reports.study_flow`'s).

Every write runs in its own ``write_transaction`` and records an audit entry; audit details
never carry health data or anything a participant wrote. Functions take ids or rows and are
shared by the researcher views, the command line and tests.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from itertools import product

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from models import (
    AdverseEvent,
    AllocationSlot,
    Arm,
    Cohort,
    Group,
    GroupMembership,
    OutboxMessage,
    Participant,
    SafetyAlert,
    Screening,
    Study,
    StudyStaff,
    db,
    utcnow,
    write_transaction,
)
from models.studies import WithdrawalKind
from program.core import audit
from program.core.audit import AuditAction
from program.messaging.outbox import enqueue_notice
from program.trial import sequences as randomisation


class TrialError(ValueError):
    """An operation is not allowed in the participant's or study's current state."""


# --------------------------------------------------------------------------- eligibility

#: The CFT pilot's rules (brief: age 18-60, BDI-II >= 20, refractory to two SSRIs, exclusions).
CFT_ELIGIBILITY: list[dict] = [
    {"key": "age", "label": "Age in years (18-60)", "type": "inclusion", "kind": "number",
     "min": 18, "max": 60},
    {"key": "bdi_ii", "label": "BDI-II total at screening (20 or more)", "type": "inclusion",
     "kind": "number", "min": 20, "max": 63},
    {"key": "diagnosis", "label": "Primary diagnosis of major depressive disorder or dysthymia",
     "type": "inclusion", "kind": "yes_no"},
    {"key": "ssri_failures", "label": "Adequate SSRI trials without response (2 or more)",
     "type": "inclusion", "kind": "number", "min": 2, "max": 20},
    {"key": "psychosis", "label": "Psychosis", "type": "exclusion", "kind": "yes_no"},
    {"key": "suicidality", "label": "Active suicidality", "type": "exclusion", "kind": "yes_no"},
    {"key": "organic", "label": "Organic brain disorder", "type": "exclusion", "kind": "yes_no"},
    {"key": "substance", "label": "Substance abuse or dependence", "type": "exclusion",
     "kind": "yes_no"},
    {"key": "antisocial", "label": "Antisocial personality disorder", "type": "exclusion",
     "kind": "yes_no"},
    {"key": "other_severe", "label": "Other severe condition", "type": "exclusion",
     "kind": "yes_no"},
]


#: The built-in rules' labels in the reader's language, by key. The English label is copied
#: into a study's data with the rule; it is shown translated while it is still that label.
CFT_RULE_LABELS = {
    "age": _l("Age in years (18-60)"),
    "bdi_ii": _l("BDI-II total at screening (20 or more)"),
    "diagnosis": _l("Primary diagnosis of major depressive disorder or dysthymia"),
    "ssri_failures": _l("Adequate SSRI trials without response (2 or more)"),
    "psychosis": _l("Psychosis"),
    "suicidality": _l("Active suicidality"),
    "organic": _l("Organic brain disorder"),
    "substance": _l("Substance abuse or dependence"),
    "antisocial": _l("Antisocial personality disorder"),
    "other_severe": _l("Other severe condition"),
}
_CFT_ENGLISH = {rule["key"]: rule["label"] for rule in CFT_ELIGIBILITY}


def rule_label(rule: Mapping) -> str:
    """A screening rule's label to show: the translation of a built-in rule whose label the
    study kept as it came; the study's own label (or key) for any rule it wrote or reworded."""
    key, label = rule.get("key"), rule.get("label")
    if key in CFT_RULE_LABELS and label in (None, _CFT_ENGLISH[key]):
        return str(CFT_RULE_LABELS[key])
    return str(label or key or "")


def parse_screening_answers(
    rules: Sequence[Mapping], form: Mapping[str, str]
) -> tuple[dict[str, object], dict[str, str]]:
    """Convert form text to typed answers; returns (answers, errors by rule key)."""
    answers: dict[str, object] = {}
    errors: dict[str, str] = {}
    for rule in rules:
        raw = (form.get(rule["key"]) or "").strip()
        if raw == "":
            errors[rule["key"]] = "required"
        elif rule.get("kind") == "yes_no":
            if raw not in ("yes", "no"):
                errors[rule["key"]] = "yes_no"
            else:
                answers[rule["key"]] = raw == "yes"
        else:
            try:
                answers[rule["key"]] = float(raw) if "." in raw else int(raw)
            except ValueError:
                errors[rule["key"]] = "number"
    return answers, errors


def failed_rules(rules: Sequence[Mapping], answers: Mapping[str, object]) -> list[str]:
    """Keys of the rules that exclude a person with these answers.

    An inclusion rule fails when a number falls outside [min, max] or a yes/no is "no"; an
    exclusion rule fails (excludes) when a number falls inside it or a yes/no is "yes".
    """
    failed = []
    for rule in rules:
        value = answers.get(rule["key"])
        if value is None:
            raise TrialError(f"no answer for screening rule {rule['key']!r}")
        if rule.get("kind") == "yes_no":
            matches = bool(value)
        else:
            lo, hi = rule.get("min"), rule.get("max")
            matches = (lo is None or value >= lo) and (hi is None or value <= hi)
        is_exclusion = rule.get("type") == "exclusion"
        if matches == is_exclusion:
            failed.append(rule["key"])
    return failed


def screen(participant_id: int, answers: Mapping[str, object], *, on: date, actor=None
           ) -> Screening:
    """Record a screening against the study's rules and which rules excluded the person."""
    with write_transaction():
        participant = _participant_for_update(participant_id)
        if participant.status not in ("applied", "screened", "ineligible"):
            raise TrialError("this person is past screening")
        rules = participant.study.eligibility_rules or []
        failed = failed_rules(rules, answers)
        screening = db.session.scalar(
            select(Screening).where(Screening.participant_id == participant.id))
        if screening is None:
            screening = Screening(participant_id=participant.id)
            db.session.add(screening)
        screening.screened_on = on
        screening.answers = dict(answers)
        screening.eligible = not failed
        screening.failed_rules = failed
        screening.screened_by_id = getattr(actor, "id", None)
        participant.screened_on = on
        participant.eligible = not failed
        participant.exclusion_reasons = failed
        participant.status = "screened" if not failed else "ineligible"
        audit.record(AuditAction.PARTICIPANT_SCREENED, participant, actor=actor)
    return screening


def record_consent(participant_id: int, version: str, *, on: date, actor=None) -> None:
    """Record informed consent to the study's current information sheet."""
    with write_transaction():
        participant = _participant_for_update(participant_id)
        if participant.eligible is not True:
            raise TrialError("consent can only be recorded for an eligible person")
        current = participant.study.consent_version
        if not version or (current and version != current):
            raise TrialError(f"consent must be to the current information sheet ({current})")
        participant.consented_on = on
        participant.consent_version = version
        if participant.status == "screened":
            participant.status = "consented"
        audit.record(AuditAction.PARTICIPANT_CONSENTED, participant, actor=actor, version=version)


# --------------------------------------------------------------------------- randomisation


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
        participant = _participant_for_update(participant_id)
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


# --------------------------------------------------------------------------- cohorts, groups


def assign_cohort(participant_id: int, cohort_id: int, *, actor=None) -> None:
    """Place an allocated person in a cohort of their study (its dates drive assessments)."""
    with write_transaction():
        participant = _participant_for_update(participant_id)
        cohort = db.session.get(Cohort, cohort_id)
        if cohort is None or cohort.study_id != participant.study_id:
            raise TrialError("that cohort belongs to another study")
        if participant.arm_id is None:
            raise TrialError("allocate the person before assigning a cohort")
        participant.cohort_id = cohort.id
        audit.record(AuditAction.COHORT_ASSIGNED, participant, actor=actor,
                     cohort_id=cohort.id)


def assign_groups(cohort_id: int, *, actor=None) -> int:
    """Put every program participant of a cohort without a group into the smallest group.

    Small peer groups (or the therapy group) are filled by size, ties to the older group; the
    large group, where there is one, takes everyone. Leaders are set by hand. Returns how many
    memberships were added.
    """
    with write_transaction():
        groups = db.session.scalars(
            select(Group).where(Group.cohort_id == cohort_id).order_by(Group.id)).all()
        small = [g for g in groups if g.kind in ("small", "therapy")]
        large = [g for g in groups if g.kind == "large"]
        people = db.session.scalars(
            select(Participant).join(Arm, Participant.arm_id == Arm.id)
            .where(Participant.cohort_id == cohort_id, Arm.receives_program.is_(True),
                   Participant.user_id.is_not(None), Participant.withdrawal_kind.is_(None))
            .order_by(Participant.id)).all()
        size = Counter()
        members: dict[int, set[int]] = {}
        for g in groups:
            ids = set(db.session.scalars(
                select(GroupMembership.user_id).where(GroupMembership.group_id == g.id)))
            members[g.id] = ids
            size[g.id] = len(db.session.scalars(
                select(GroupMembership.id).where(GroupMembership.group_id == g.id,
                                                 GroupMembership.role == "member")).all())
        added = 0
        for person in people:
            if small and not any(person.user_id in members[g.id] for g in small):
                target = min(small, key=lambda g: (size[g.id], g.id))
                db.session.add(GroupMembership(group_id=target.id, user_id=person.user_id))
                members[target.id].add(person.user_id)
                size[target.id] += 1
                added += 1
            for g in large:
                if person.user_id not in members[g.id]:
                    db.session.add(GroupMembership(group_id=g.id, user_id=person.user_id))
                    members[g.id].add(person.user_id)
                    added += 1
        audit.record(AuditAction.GROUPS_ASSIGNED, None, actor=actor, cohort_id=cohort_id,
                     added=added)
    return added


# --------------------------------------------------------------------------- adverse events


def record_adverse_event(
    participant_id: int,
    *,
    description: str,
    onset_on: date,
    severity: str,
    serious: bool,
    relatedness: str,
    action_taken: str | None = None,
    outcome: str = "unknown",
    alert_id: int | None = None,
    actor=None,
) -> AdverseEvent:
    """Add an event to the register; a serious one notifies the study clinicians at once.

    With ``alert_id`` the safety alert is turned into the event in the same step and is
    marked acknowledged.
    """
    with write_transaction():
        participant = db.session.get(Participant, participant_id)
        if participant is None:
            raise TrialError("no such participant")
        event = AdverseEvent(
            study_id=participant.study_id, participant_id=participant.id, alert_id=alert_id,
            description=description, onset_on=onset_on, severity=severity, serious=serious,
            relatedness=relatedness, action_taken=action_taken, outcome=outcome,
            reported_by_id=getattr(actor, "id", None))
        if alert_id is not None:
            alert = db.session.get(SafetyAlert, alert_id)
            if alert is None or alert.participant_id != participant.id:
                raise TrialError("that alert is not about this participant")
            if alert.status == "open":
                alert.status = "acknowledged"
                alert.acknowledged_at = utcnow()
                alert.owner_id = alert.owner_id or getattr(actor, "id", None)
        db.session.add(event)
        db.session.flush()
        if serious:
            clinicians = db.session.scalars(
                select(StudyStaff.user_id).where(StudyStaff.study_id == participant.study_id,
                                                 StudyStaff.is_clinician.is_(True)))
            enqueue_notice(f"serious-adverse-event:{event.id}", clinicians,
                           "serious_adverse_event", "serious_adverse_event")
        audit.record(AuditAction.ADVERSE_EVENT_RECORDED, event, actor=actor, serious=bool(serious))
    return event


def adverse_event_from_alert(alert_id: int, **fields) -> AdverseEvent:
    """Turn a safety alert into an adverse event of the alert's participant in one step."""
    alert = db.session.get(SafetyAlert, alert_id)
    if alert is None or alert.participant_id is None:
        raise TrialError("that alert is not about a participant")
    return record_adverse_event(alert.participant_id, alert_id=alert.id, **fields)


# --------------------------------------------------------------------------- withdrawal

#: the three kinds of withdrawal, each including the ones before it
WITHDRAWAL_ORDER = {kind: i for i, kind in enumerate(WithdrawalKind)}


def withdraw(participant_id: int, kind: str, *, reason: str, on: date, actor=None) -> None:
    """Record a withdrawal: stop the sessions, stop all contact, or leave the study.

    Stopping sessions keeps the person in the assessments (intent-to-treat) and takes them out
    of their groups; stopping contact also cancels every pending message; leaving the study
    ends data collection. A withdrawal can later be widened, never narrowed.
    """
    if kind not in WITHDRAWAL_ORDER:
        raise TrialError(f"unknown withdrawal kind {kind!r}")
    with write_transaction():
        participant = _participant_for_update(participant_id)
        previous = participant.withdrawal_kind
        if previous is not None and WITHDRAWAL_ORDER[kind] < WITHDRAWAL_ORDER[previous]:
            raise TrialError("a withdrawal can be widened but not narrowed")
        _apply_withdrawal(participant, kind, on)
        participant.withdrawal_reason = (reason or "").strip()[:200] or None
        audit.record(AuditAction.PARTICIPANT_WITHDRAWN, participant, actor=actor, kind=kind)


def _apply_withdrawal(participant: Participant, kind: str, on: date) -> None:
    participant.withdrawal_kind = kind
    participant.withdrawn_on = on
    if kind != "stop_sessions":
        participant.status = "withdrawn"
    if participant.user_id is None:
        return
    for membership in db.session.scalars(select(GroupMembership).where(
            GroupMembership.user_id == participant.user_id, GroupMembership.role == "member")):
        db.session.delete(membership)
    if kind != "stop_sessions":
        for message in db.session.scalars(select(OutboxMessage).where(
                OutboxMessage.recipient_id == participant.user_id,
                OutboxMessage.status == "pending")):
            message.status = "cancelled"


def mark_lost(participant_id: int, *, reason: str, on: date, actor=None) -> None:
    """Record a person lost to follow-up (no contact possible), with the reason known."""
    with write_transaction():
        participant = _participant_for_update(participant_id)
        participant.status = "lost"
        participant.withdrawal_reason = (reason or "").strip()[:200] or None
        participant.withdrawn_on = on
        audit.record(AuditAction.PARTICIPANT_LOST, participant, actor=actor)


def request_data_removal(participant_id: int, *, on: date, actor=None) -> None:
    """Record that a person asked for their data to be removed (an admin processes it).

    Asking for removal means leaving the study, so the person is withdrawn if not already.
    """
    with write_transaction():
        participant = _participant_for_update(participant_id)
        if participant.data_removal_requested_at is None:
            participant.data_removal_requested_at = utcnow()
        if participant.withdrawal_kind != "leave_study":
            _apply_withdrawal(participant, "leave_study", participant.withdrawn_on or on)
        audit.record(AuditAction.REMOVAL_REQUESTED, participant, actor=actor)


# --------------------------------------------------------------------------- data access


def study_participants(study_id: int) -> list[Participant]:
    """A study's participant records in code order (exports and the researcher list)."""
    return list(db.session.scalars(
        select(Participant).where(Participant.study_id == study_id).order_by(Participant.code)))


def _participant_for_update(participant_id: int) -> Participant:
    participant = db.session.scalar(
        select(Participant).where(Participant.id == participant_id).with_for_update())
    if participant is None:
        raise TrialError("no such participant")
    return participant
