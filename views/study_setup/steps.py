"""The set-up steps as pages: each step's page, its name, and the step that follows it."""

from __future__ import annotations

from flask import url_for
from flask_babel import lazy_gettext as _l

from models import Study
from program.trial.checklist import STEPS

#: step -> (endpoint of its page, its name)
PAGES = {
    "arms": ("study_setup.arms", _l("Arms and allocation ratio")),
    "eligibility": ("study_setup.eligibility", _l("Eligibility rules")),
    "consent": ("study_setup.consent", _l("Consent and information sheet")),
    "characteristics": ("study_setup.characteristics", _l("Baseline characteristics")),
    "randomisation": ("study_setup.randomisation", _l("Randomisation")),
    "schedule": ("study_setup.new_timepoint", _l("Assessment schedule")),
    "staff": ("study_setup.staff", _l("Clinicians and staff")),
    "crisis_contacts": ("study_setup.crisis_contacts", _l("Crisis contacts")),
    "wording": ("study_setup.wording", _l("Licensed item wording")),
}

#: why a step is not done, by the key program.trial.checklist gives
MISSING = {
    "one_arm": _l("A single-arm study has exactly one arm."),
    "two_arms": _l("A randomised trial needs at least two arms."),
    "no_rules": _l("No eligibility rules yet."),
    "sheet": _l("No current information sheet version."),
    "none_chosen": _l("No baseline characteristics chosen."),
    "strata_missing": _l("A stratification factor is not among the characteristics."),
    "no_method": _l("No randomisation method chosen."),
    "no_list": _l("The allocation list has not been generated."),
    "no_timepoint": _l("No timepoint in the assessment schedule."),
    "no_clinician": _l("No clinician on the study's staff to receive safety alerts."),
    "no_crisis_contacts": _l("A country of the study's cohorts has no confirmed crisis "
                             "contacts."),
    "placeholders": _l("Some licensed instruments have no wording: neutral placeholders "
                       "will be shown."),
}


def step_url(study: Study, step: str) -> str:
    return url_for(PAGES[step][0], study_id=study.id)


def next_step(study: Study, step: str) -> tuple[str, str]:
    """(URL, name) of the page after ``step``; after the last one, the checklist."""
    following = STEPS[STEPS.index(step) + 1:] if step in STEPS else STEPS
    if following:
        return step_url(study, following[0]), str(PAGES[following[0]][1])
    return url_for("study_setup.checklist", study_id=study.id), str(_l("Set-up checklist"))
