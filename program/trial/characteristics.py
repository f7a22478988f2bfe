"""Baseline characteristics: the library a study chooses from, custom ones, and the values
entered once per participant.

A study keeps its choice in ``Study.baseline_characteristics``: a list of definitions
``{"key", "label", "type", "choices"}`` where ``type`` is ``number``, ``choice`` or ``yes_no``;
a library characteristic keeps ``label`` None (shown translated) and may carry its own choices
(a study's sites). A participant's values go to ``Participant.baseline`` by key (choices by their
code, yes/no as ``"yes"``/``"no"``), so stratified randomisation and minimisation find them;
``gender`` and ``age`` are also written to ``Participant.gender`` and ``birth_year``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from datetime import date

from flask_babel import lazy_gettext as _l

from models import Participant, Study, db, write_transaction
from program.core import audit
from program.core.audit import AuditAction
from program.trial.setup import SetupError, allocation_list_exists

TYPES = {"number": _l("number"), "choice": _l("choice"), "yes_no": _l("yes or no")}

#: key -> (label, type, default choices as (code, label))
LIBRARY: dict[str, tuple] = {
    "gender": (_l("Gender"), "choice", [("female", _l("female")), ("male", _l("male")),
                                         ("other", _l("other or non-binary"))]),
    "age": (_l("Age in years"), "number", []),
    "education": (_l("Education"), "choice",
                  [("secondary", _l("secondary school")), ("vocational", _l("vocational")),
                   ("university", _l("university degree")),
                   ("postgraduate", _l("postgraduate degree"))]),
    "marital_status": (_l("Marital status"), "choice",
                       [("single", _l("single")), ("partnered", _l("married or partnered")),
                        ("separated", _l("separated or divorced")),
                        ("widowed", _l("widowed"))]),
    "site": (_l("Site"), "choice", []),
    "episode_duration": (_l("Duration of the current episode (months)"), "number", []),
    "prior_meditation": (_l("Prior meditation experience"), "yes_no", []),
    "employment": (_l("Employment"), "choice",
                   [("employed", _l("employed")), ("unemployed", _l("unemployed")),
                    ("student", _l("student")), ("retired", _l("retired"))]),
    "medication": (_l("Taking antidepressant medication"), "yes_no", []),
}

YES_NO = [("yes", _l("yes")), ("no", _l("no"))]
_CODE = re.compile(r"[^a-z0-9]+")


def key_of(label: str) -> str:
    """The stored key of a custom characteristic: its name in letters and digits, or (for a
    name in another script) a short digest of it."""
    key = _CODE.sub("_", label.strip().lower()).strip("_")[:36]
    return "x_" + (key or hashlib.sha256(label.strip().encode()).hexdigest()[:10])


def choices_of(text: str | None) -> list[str]:
    """The choices typed comma-separated, as they are stored and shown (e.g. the sites)."""
    return [c.strip()[:60] for c in (text or "").replace("、", ",").split(",") if c.strip()]


def _check_choices(label, kind: str, choices: list[str]) -> None:
    if kind == "choice" and len(set(choices)) < 2:
        raise SetupError(_l("%(label)s needs at least two choices.", label=label))
    if len(set(choices)) != len(choices) or any(c in ("yes", "no") or "=" in c or "|" in c
                                                 for c in choices):
        raise SetupError(_l("%(label)s: each choice once, without = or |.", label=label))


def definitions(study: Study) -> list[dict]:
    """The study's characteristics, each with ``label`` and ``choices`` [(code, label)] to show."""
    shown = []
    for d in study.baseline_characteristics or []:
        library = LIBRARY.get(d["key"]) if d.get("label") is None else None
        label = library[0] if library else d.get("label") or d["key"]
        defaults = dict(library[2]) if library else {}
        if d["type"] == "yes_no":
            choices = YES_NO
        else:
            choices = [(c, defaults.get(c, c)) for c in d.get("choices") or []]
        shown.append({**d, "label": str(label), "choices": [(c, str(t)) for c, t in choices]})
    return shown


def stratifiable(study: Study) -> list[dict]:
    """The characteristics randomisation may stratify or minimise by (choices and yes/no)."""
    return [d for d in definitions(study) if d["type"] in ("choice", "yes_no")]


def levels(study: Study, keys: Sequence[str]) -> dict[str, list[str]]:
    """The levels (codes) of each chosen characteristic, for the strata of the allocation list."""
    by_key = {d["key"]: d for d in definitions(study)}
    return {k: [code for code, _label in by_key[k]["choices"]] for k in keys if k in by_key}


def build(library_keys: Sequence[str], library_choices: Mapping[str, str],
          custom: Sequence[Mapping]) -> list[dict]:
    """Definitions from the form: library keys (with a study's own choices, e.g. its sites)
    and custom rows ``{label, type, choices}`` (choices comma-separated); raises SetupError."""
    chosen: list[dict] = []
    for key in library_keys:
        if key not in LIBRARY:
            raise SetupError(_l("Unknown characteristic."))
        _label, kind, defaults = LIBRARY[key]
        typed = choices_of(library_choices.get(key))
        choices = typed or [c for c, _t in defaults]
        _check_choices(_label, kind, choices)
        chosen.append({"key": key, "label": None, "type": kind,
                       "choices": choices if kind == "choice" else []})
    for row in custom:
        label = (row.get("label") or "").strip()
        if not label:
            continue
        kind, key = row.get("type"), key_of(label)
        choices = choices_of(row.get("choices"))
        if kind not in TYPES:
            raise SetupError(_l("%(label)s: choose a type.", label=label))
        _check_choices(label, kind, choices)
        if any(d["key"] == key for d in chosen):
            raise SetupError(_l("%(label)s: two characteristics have the same name.",
                                label=label))
        chosen.append({"key": key, "label": label, "type": kind,
                       "choices": choices if kind == "choice" else []})
    return chosen


def save(study_id: int, chosen: list[dict]) -> None:
    """Keep the study's characteristics; once the allocation list exists, its strata are fixed
    (a stratification factor and its choices cannot change)."""
    with write_transaction():
        study = db.session.get(Study, study_id, with_for_update=True, populate_existing=True)
        if (study.baseline_characteristics or []) == chosen:
            return
        strata = (study.randomisation_settings or {}).get("strata") or []
        if strata and allocation_list_exists(study_id):
            before = {d["key"]: d for d in study.baseline_characteristics or []}
            after = {d["key"]: d for d in chosen}
            if any(before.get(f) != after.get(f) for f in strata):
                raise SetupError(_l("The allocation list exists: the characteristics it is "
                                    "stratified by are fixed."))
        study.baseline_characteristics = chosen
        audit.record(AuditAction.CHARACTERISTICS_SAVED, study,
                     keys=[d["key"] for d in chosen])


def parse_values(defs: Sequence[Mapping], form: Mapping[str, str]
                 ) -> tuple[dict[str, object], dict[str, str]]:
    """Typed values from the form (field ``bl-<key>``); returns (values, errors by key).

    Every characteristic is required: it is entered once, before randomisation.
    """
    values: dict[str, object] = {}
    errors: dict[str, str] = {}
    for d in defs:
        raw = (form.get(f"bl-{d['key']}") or "").strip()
        if d["type"] == "number":
            try:
                number = float(raw)
            except ValueError:
                errors[d["key"]] = str(_l("Please enter a number."))
                continue
            if not 0 <= number <= 10_000 or number != number:
                errors[d["key"]] = str(_l("Please enter a number."))
            else:
                values[d["key"]] = int(number) if number.is_integer() else number
        elif raw in {code for code, _label in d["choices"]}:
            values[d["key"]] = raw
        else:
            errors[d["key"]] = str(_l("Please choose one."))
    if "age" in values and not 0 < values["age"] < 130:
        errors["age"] = str(_l("Please enter an age in years."))
    return values, errors


def record_baseline(participant_id: int, values: Mapping[str, object], *,
                    today: date | None = None, actor=None) -> None:
    """Write the person's characteristics (and gender, birth year where they map)."""
    with write_transaction():
        participant = db.session.get(Participant, participant_id, with_for_update=True,
                                     populate_existing=True)
        if all((participant.baseline or {}).get(k) == v for k, v in values.items()):
            return  # entered already (a second click changes nothing)
        participant.baseline = {**(participant.baseline or {}), **values}
        if "gender" in values:
            participant.gender = str(values["gender"])
        if "age" in values:
            participant.birth_year = (today or date.today()).year - int(values["age"])
        audit.record(AuditAction.BASELINE_RECORDED, participant, keys=sorted(values))
