"""The efficacy model as the page says it: the model in words, its lme4 formula, and its terms
named for people (``UC − CFT change, pre to post``, not ``time[post]:arm[UC]``), in the
reader's language.

The words are :mod:`analysis.terms`' templates (:data:`analysis.terms.TERM_PHRASES`) in the
reader's language; the formula stays R's. The JSON and the data files keep the machine names
(the data contract).
"""

from __future__ import annotations

from flask_babel import get_locale, lazy_pgettext
from flask_babel import lazy_gettext as _l

from models import Study
from views.reports import labels

_FIELDS = ("arm", "reference", "baseline", "timepoint", "variable", "level", "covariates",
           "clusters", "df", "arms", "names", "name")

#: the catalogue's ``%(arm)s`` fields become the analysis' ``{arm}``
_F = {f: "{" + f + "}" for f in _FIELDS}


#: the keys of :data:`analysis.terms.TERM_PHRASES`, worded for the catalogues
TERM_WORDS = {
    "interaction": lazy_pgettext(
        "model term", "%(arm)s − %(reference)s change, %(baseline)s to %(timepoint)s", **_F),
    "time": lazy_pgettext("model term", "change, %(baseline)s to %(timepoint)s", **_F),
    "arm": lazy_pgettext("model term", "%(arm)s − %(reference)s at %(baseline)s", **_F),
    "ancova": lazy_pgettext(
        "model term", "%(arm)s − %(reference)s at %(timepoint)s, adjusted for %(baseline)s",
        **_F),
    "contrast": lazy_pgettext("model term", "%(arm)s − %(reference)s at %(timepoint)s", **_F),
    "level": lazy_pgettext("model term", "%(variable)s: %(level)s vs %(reference)s", **_F),
    "level_no_reference": lazy_pgettext("model term", "%(variable)s: %(level)s", **_F),
    "per_unit": lazy_pgettext("model term", "%(variable)s, per unit", **_F),
    "test_time": lazy_pgettext("model term", "time", **_F),
    "test_arm": lazy_pgettext("model term", "arm", **_F),
    "test_interaction": lazy_pgettext("model term", "time × arm", **_F),
    "model_lmm": lazy_pgettext(
        "model term",
        "Linear mixed model (REML): fixed effects of time, arm and their "
        "interaction%(covariates)s; a random intercept per participant%(clusters)s; "
        "%(df)s df.", **_F),
    "model_mmrm": lazy_pgettext(
        "model term",
        "Mixed model for repeated measures (REML): fixed effects of "
        "time%(arms)s%(covariates)s; an unstructured covariance of each participant's scores "
        "across timepoints; %(df)s df.", **_F),
    "covariates": lazy_pgettext("model term", ", adjusted for %(names)s", **_F),
    "random_site": lazy_pgettext("model term", ", a random intercept per level of %(name)s",
                                 **_F),
    "random_group": lazy_pgettext(
        "model term",
        ", and a random intercept per therapy group (%(name)s) on the post-baseline scores of "
        "the participants treated in a group", **_F),
    "df_satterthwaite": lazy_pgettext("model term", "Satterthwaite", **_F),
    "df_kenward-roger": lazy_pgettext("model term", "Kenward–Roger", **_F),
    "arms": lazy_pgettext("model term", ", arm and their interaction", **_F),
    "and": lazy_pgettext("model term", " and ", **_F),
}


def term_phrases() -> dict[str, str] | None:
    """The term templates in the reader's language; None on an English page (the analysis'
    own English)."""
    if str(get_locale() or "en").split("_")[0] == "en":
        return None
    return {key: str(text) for key, text in TERM_WORDS.items()}


def term_names(report: dict) -> dict[str, str]:
    """Each model term of an efficacy report (effects and tests) by its name for people."""
    from analysis.terms import anova_label, term_label

    phrases = term_phrases()
    names = {}
    for entry in report.get("measures", {}).values():
        for effect in entry.get("effects", []):
            names[effect["term"]] = term_label(effect["term"], report, phrases)
        for test in entry.get("tests") or []:
            names.setdefault(test["term"], anova_label(test["term"], phrases))
    return names


def model_described(report: dict, study: Study) -> dict:
    """The fitted model as the page says it: ``sentence`` (in words), ``formula`` (lme4's or
    mmrm's), ``ancova`` (its formula, when asked for), ``nesting`` (which arms have no
    therapy groups) and ``population`` (the per-protocol population, when asked for)."""
    from analysis.terms import model_in_words

    out = {"sentence": model_in_words(report, term_phrases()), "formula": report["formula"],
           "ancova": report.get("ancova_formula"), "nesting": None, "population": None}
    if "grouped_post" in report["formula"]:
        ungrouped = [arm.key for arm in study.arms if not arm.receives_program]
        if ungrouped:
            out["nesting"] = str(_l(
                "Partially nested: %(arms)s had no therapy groups, so only the other arms' "
                "scores after baseline carry the therapy-group intercept.",
                arms=", ".join(ungrouped)))
    if report.get("population") == "per_protocol":
        out["population"] = str(_l(
            "Per-protocol population: in the arms with sessions, only participants who "
            "attended at least %(k)s sessions (%(n)s left out).",
            k=labels.number(report["per_protocol_min_sessions"]),
            n=labels.number(report["excluded"])))
    return out


def sign_convention(timepoints: list[str], arms: list[str], reference_arm: str) -> str:
    """Which way the arm differences run, with the terms named as the tables name them (the
    JSON's :func:`analysis.efficacy.sign_convention` says it with the model's terms)."""
    others = [a for a in arms if a != reference_arm]
    if len(others) == 1:
        return str(_l("Each “%(other)s − %(ref)s change” is the change from %(baseline)s in "
                      "%(other)s minus the same change in %(ref)s (the reference arm): a "
                      "positive value means scores rose more, or fell less, in %(other)s than "
                      "in %(ref)s.", other=others[0], baseline=timepoints[0], ref=reference_arm))
    return str(_l("Each “arm − %(ref)s change” is the change from %(baseline)s in that arm "
                  "minus the same change in %(ref)s (the reference arm): a positive value means "
                  "scores rose more, or fell less, in that arm than in %(ref)s.",
                  baseline=timepoints[0], ref=reference_arm))
