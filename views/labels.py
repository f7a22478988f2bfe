"""Stored codes shown to people: each kind of code mapped to a translated label at display.

The database keeps the English codes (``active``, ``single_arm``, ``probable``) that exports,
the analysis and the audit log use; pages show ``{{ value|label("participant_status") }}``.
English pages keep the code as it always read (underscores as spaces); each label has a
message context, so the same English word may read differently per kind (a participant who is
"active" is taking part, an account that is "active" may sign in). An unknown code is shown as
it is.
"""

from __future__ import annotations

from flask_babel import lazy_pgettext

# Each label is spelled out so `make messages` extracts it (the extractor reads literals).
LABELS: dict[str, dict[str, object]] = {
    "participant_status": {
        "applied": lazy_pgettext("participant status", "applied"),
        "screened": lazy_pgettext("participant status", "screened"),
        "ineligible": lazy_pgettext("participant status", "ineligible"),
        "consented": lazy_pgettext("participant status", "consented"),
        "randomised": lazy_pgettext("participant status", "randomised"),
        "active": lazy_pgettext("participant status", "active"),
        "completed": lazy_pgettext("participant status", "completed"),
        "withdrawn": lazy_pgettext("participant status", "withdrawn"),
        "lost": lazy_pgettext("participant status", "lost"),
    },
    "design": {
        "rct": lazy_pgettext("study design", "rct"),
        "single_arm": lazy_pgettext("study design", "single arm"),
    },
    "randomisation_method": {
        "none": lazy_pgettext("randomisation method", "none"),
        "simple": lazy_pgettext("randomisation method", "simple"),
        "blocks": lazy_pgettext("randomisation method", "blocks"),
        "stratified_blocks": lazy_pgettext("randomisation method", "stratified blocks"),
        "minimisation": lazy_pgettext("randomisation method", "minimisation"),
    },
    "cohort_status": {
        "planned": lazy_pgettext("cohort status", "planned"),
        "running": lazy_pgettext("cohort status", "running"),
        "finished": lazy_pgettext("cohort status", "finished"),
        "cancelled": lazy_pgettext("cohort status", "cancelled"),
    },
    "meeting_outcome": {
        "scheduled": lazy_pgettext("meeting outcome", "scheduled"),
        "held": lazy_pgettext("meeting outcome", "held"),
        "cancelled": lazy_pgettext("meeting outcome", "cancelled"),
        "truncated": lazy_pgettext("meeting outcome", "truncated"),
        "postponed": lazy_pgettext("meeting outcome", "postponed"),
    },
    "group_kind": {
        "therapy": lazy_pgettext("group kind", "therapy"),
        "small": lazy_pgettext("group kind", "small"),
        "large": lazy_pgettext("group kind", "large"),
    },
    "membership_role": {
        "member": lazy_pgettext("group role", "member"),
        "leader": lazy_pgettext("group role", "leader"),
        "assistant": lazy_pgettext("group role", "assistant"),
    },
    "role": {
        "participant": lazy_pgettext("account role", "participant"),
        "facilitator": lazy_pgettext("account role", "facilitator"),
        "rater": lazy_pgettext("account role", "rater"),
        "researcher": lazy_pgettext("account role", "researcher"),
        "admin": lazy_pgettext("account role", "admin"),
    },
    "alert_status": {
        "open": lazy_pgettext("alert status", "open"),
        "acknowledged": lazy_pgettext("alert status", "acknowledged"),
        "closed": lazy_pgettext("alert status", "closed"),
    },
    "ae_severity": {
        "mild": lazy_pgettext("adverse event severity", "mild"),
        "moderate": lazy_pgettext("adverse event severity", "moderate"),
        "severe": lazy_pgettext("adverse event severity", "severe"),
    },
    "ae_relatedness": {
        "unrelated": lazy_pgettext("adverse event relatedness", "unrelated"),
        "unlikely": lazy_pgettext("adverse event relatedness", "unlikely"),
        "possible": lazy_pgettext("adverse event relatedness", "possible"),
        "probable": lazy_pgettext("adverse event relatedness", "probable"),
        "definite": lazy_pgettext("adverse event relatedness", "definite"),
    },
    "ae_outcome": {
        "recovered": lazy_pgettext("adverse event outcome", "recovered"),
        "recovering": lazy_pgettext("adverse event outcome", "recovering"),
        "not_recovered": lazy_pgettext("adverse event outcome", "not recovered"),
        "recovered_with_sequelae": lazy_pgettext("adverse event outcome",
                                                 "recovered with sequelae"),
        "fatal": lazy_pgettext("adverse event outcome", "fatal"),
        "unknown": lazy_pgettext("adverse event outcome", "unknown"),
    },
}


def label(value: str | None, kind: str) -> str:
    """The translated label of a stored code (the code itself when it is not known)."""
    if value is None:
        return ""
    found = LABELS[kind].get(value)
    return str(found) if found is not None else str(value)


def choices(kind: str, codes) -> list[tuple[str, object]]:
    """Form choices for stored codes: the code as the value, its lazy label as the text."""
    return [(code, LABELS[kind].get(code, code)) for code in codes]


def measure_label(key: str) -> str:
    """A measure key (``SCS.self_kindness``) with its subscale named in the reader's language."""
    from views.reports.labels import measure

    return measure(key)
