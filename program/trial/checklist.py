"""What a study still lacks before it can open: one check per set-up step (pure reads)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from models import InstrumentWording, Study, StudyStaff, Timepoint, db
from program.safety import crisis_contacts
from program.trial import studies
from program.trial.setup import allocation_list_exists

#: the set-up steps in the order a team goes through them
STEPS = ("arms", "eligibility", "consent", "characteristics", "randomisation", "schedule",
         "staff", "crisis_contacts", "wording")
#: steps a study can open without (the questionnaires then show neutral placeholders)
OPTIONAL = frozenset({"wording"})


@dataclass(frozen=True)
class Check:
    step: str
    done: bool
    #: why the step is not done, a key the page turns into a sentence ('' when done)
    missing: str = ""

    @property
    def optional(self) -> bool:
        return self.step in OPTIONAL


def _arms(study: Study) -> Check:
    n = len(study.arms)
    if study.design == "single_arm":
        return Check("arms", n == 1, "" if n == 1 else "one_arm")
    return Check("arms", n >= 2, "" if n >= 2 else "two_arms")


def _consent(study: Study) -> Check:
    versions = {v.version for v in studies.consent_versions(study.id)}
    ok = bool(study.consent_version) and study.consent_version in versions
    return Check("consent", ok, "" if ok else "sheet")


def _characteristics(study: Study) -> Check:
    chosen = {d["key"] for d in study.baseline_characteristics or []}
    if not chosen:
        return Check("characteristics", False, "none_chosen")
    factors = (study.randomisation_settings or {}).get("strata") or []
    if any(f not in chosen for f in factors):
        return Check("characteristics", False, "strata_missing")
    return Check("characteristics", True)


def _randomisation(study: Study) -> Check:
    if study.design == "single_arm":
        return Check("randomisation", True)
    method = study.randomisation_method
    if method in (None, "none"):
        return Check("randomisation", False, "no_method")
    if method in studies.LIST_METHODS and not allocation_list_exists(study.id):
        return Check("randomisation", False, "no_list")
    return Check("randomisation", True)


def _schedule(study: Study) -> Check:
    ok = db.session.scalar(select(Timepoint.id).where(Timepoint.study_id == study.id)
                           .limit(1)) is not None
    return Check("schedule", ok, "" if ok else "no_timepoint")


def _staff(study: Study) -> Check:
    ok = db.session.scalar(select(StudyStaff.id).where(StudyStaff.study_id == study.id,
                                                       StudyStaff.is_clinician)
                           .limit(1)) is not None
    return Check("staff", ok, "" if ok else "no_clinician")


def _crisis_contacts(study: Study) -> Check:
    """Every cohort's country (or, before any cohort, some country) has confirmed contacts."""
    ok = not crisis_contacts.countries_missing(study.id)
    return Check("crisis_contacts", ok, "" if ok else "no_crisis_contacts")


def _wording(study: Study) -> Check:
    from program.assessments.questionnaires import library

    used = {key for tp in db.session.scalars(select(Timepoint).where(
        Timepoint.study_id == study.id)) for key in tp.instruments or []}
    licensed = {key for key in used
                if key in library() and not library()[key].licence.ship_wording}
    loaded = set(db.session.scalars(select(InstrumentWording.instrument).where(
        InstrumentWording.study_id == study.id)))
    ok = licensed <= loaded
    return Check("wording", ok, "" if ok else "placeholders")


def checklist(study: Study) -> list[Check]:
    """Every step with whether it is done, in :data:`STEPS` order."""
    checks = {"arms": _arms, "eligibility": lambda s: Check(
        "eligibility", bool(s.eligibility_rules), "" if s.eligibility_rules else "no_rules"),
        "consent": _consent, "characteristics": _characteristics,
        "randomisation": _randomisation, "schedule": _schedule, "staff": _staff,
        "crisis_contacts": _crisis_contacts, "wording": _wording}
    return [checks[step](study) for step in STEPS]


def ready(study: Study) -> bool:
    """Whether every step a study needs before it opens is done."""
    return all(c.done for c in checklist(study) if not c.optional)
