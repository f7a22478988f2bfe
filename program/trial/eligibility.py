"""Eligibility rules: the CFT pilot's, their labels, and checking screening answers
against a study's rules (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from flask_babel import lazy_gettext as _l

from program.trial.records import TrialError

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
    study kept as it came, or of a rule built by the eligibility form (age range, minimum score
    on an instrument); the study's own label (or key) for any rule it wrote or reworded."""
    key, label = rule.get("key"), rule.get("label")
    if rule.get("built") == "age":
        return str(_l("Age in years (%(min)s to %(max)s)", min=rule.get("min", "—"),
                      max=rule.get("max", "—")))
    if rule.get("built") == "score":
        return str(_l("%(instrument)s total at screening (%(min)s or more)",
                      instrument=rule.get("instrument"), min=rule.get("min")))
    if rule.get("built") == "number":
        low, high = rule.get("min"), rule.get("max")
        if high is None:
            return str(_l("%(label)s (%(min)s or more)", label=label, min=low))
        if low is None:
            return str(_l("%(label)s (at most %(max)s)", label=label, max=high))
        return str(_l("%(label)s (%(min)s to %(max)s)", label=label, min=low, max=high))
    if key in CFT_RULE_LABELS and label in (None, _CFT_ENGLISH[key]):
        return str(CFT_RULE_LABELS[key])
    return str(label or key or "")


def labels_of(rules: Sequence[Mapping]) -> dict[str, str]:
    """Each rule's label to show, by key (for pages that list exclusion reasons by key)."""
    return {rule["key"]: rule_label(rule) for rule in rules or [] if isinstance(rule, Mapping)}


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


# --------------------------------------------------------------------------- the rules form


def built_rules(*, age_min: int | None, age_max: int | None, instrument: str | None,
                min_score: int | None, inclusions: Sequence[str], exclusions: Sequence[str],
                numbers: Sequence[tuple[str, float | None, float | None]] = (),
                kept: Sequence[Mapping] = ()) -> list[dict]:
    """Rules in the format :func:`failed_rules` evaluates, from the eligibility form.

    An age range, a minimum score and each number criterion (label, minimum, maximum: e.g.
    adequate SSRI trials without response, 2 or more) become number rules, with ``built``
    naming how to label them; each inclusion criterion is a yes/no that must be "yes", each
    exclusion condition a yes/no that must be "no". A criterion keeps its key while its label
    is unchanged (``kept``: the study's rules now), so screenings already recorded still name
    it.
    """
    rules: list[dict] = []
    if age_min is not None or age_max is not None:
        rules.append({"key": "age", "label": "Age in years", "type": "inclusion",
                      "kind": "number", "built": "age", **_range(age_min, age_max)})
    if instrument and min_score is not None:
        rules.append({"key": "score_" + "".join(c for c in instrument.lower() if c.isalnum()),
                      "label": f"{instrument} total at screening", "type": "inclusion",
                      "kind": "number", "built": "score", "instrument": instrument,
                      "min": min_score})
    old = {(r.get("type"), r.get("kind"), r.get("label")): r["key"] for r in kept
           if r.get("kind") == "yes_no" or r.get("built") == "number"}
    for label, low, high in numbers:
        rules.append({"key": _key(rules, old, ("inclusion", "number", label), "number"),
                      "label": label, "type": "inclusion", "kind": "number",
                      "built": "number", **_range(low, high)})
    for kind, labels in (("inclusion", inclusions), ("exclusion", exclusions)):
        for label in labels:
            rules.append({"key": _key(rules, old, (kind, "yes_no", label), kind),
                          "label": label, "type": kind, "kind": "yes_no"})
    return rules + [r for r in other_rules(kept) if all(r["key"] != o["key"] for o in rules)]


def _range(low, high) -> dict:
    return {**({"min": low} if low is not None else {}),
            **({"max": high} if high is not None else {})}


def _key(rules: list[dict], old: Mapping[tuple, str], wanted: tuple, prefix: str) -> str:
    """The key a criterion had (same kind and label), else the next free ``<prefix>_<n>``."""
    key = old.get(wanted)
    if key is None or any(r["key"] == key for r in rules):
        n = 1
        while any(r["key"] == f"{prefix}_{n}" for r in rules) or f"{prefix}_{n}" in old.values():
            n += 1
        key = f"{prefix}_{n}"
    return key


def form_values(rules: Sequence[Mapping]) -> dict:
    """The eligibility form's fields for a study's rules (the inverse of :func:`built_rules`)."""
    age = next((r for r in rules if r.get("key") == "age" and r.get("kind") == "number"), {})
    score = next((r for r in rules if r.get("built") == "score"), {})
    return {"age_min": age.get("min"), "age_max": age.get("max"),
            "instrument": score.get("instrument") or "", "min_score": score.get("min"),
            "numbers": [{"text": r.get("label"), "minimum": r.get("min"),
                         "maximum": r.get("max")} for r in rules if r.get("built") == "number"],
            "inclusions": [{"text": r.get("label") or r["key"]} for r in rules
                           if r.get("kind") == "yes_no" and r.get("type") == "inclusion"],
            "exclusions": [{"text": r.get("label") or r["key"]} for r in rules
                           if r.get("kind") == "yes_no" and r.get("type") == "exclusion"]}


def other_rules(rules: Sequence[Mapping]) -> list[dict]:
    """Number rules the form does not build (written before it existed): kept as they are."""
    return [dict(r) for r in rules if r.get("kind") == "number" and r.get("key") != "age"
            and not r.get("built")]
