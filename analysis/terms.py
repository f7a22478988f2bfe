"""Model terms named for people: ``UC − CFT change, pre to post`` for ``time[post]:arm[UC]``.

The JSON keeps the machine names (the data contract); reports show these labels. Every label
is made from a template of :data:`TERM_PHRASES` (``str.format`` fields), so a caller showing
the report in another language passes its own templates for some or all keys as ``phrases``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["TERM_PHRASES", "anova_label", "model_in_words", "term_label"]

#: key -> English template; ``−`` is the minus sign, as published tables write a difference
TERM_PHRASES: dict[str, str] = {
    "interaction": "{arm} − {reference} change, {baseline} to {timepoint}",
    "time": "change, {baseline} to {timepoint}",
    "arm": "{arm} − {reference} at {baseline}",
    "ancova": "{arm} − {reference} at {timepoint}, adjusted for {baseline}",
    "contrast": "{arm} − {reference} at {timepoint}",
    "level": "{variable}: {level} vs {reference}",
    "level_no_reference": "{variable}: {level}",
    "per_unit": "{variable}, per unit",
    "test_time": "time",
    "test_arm": "arm",
    "test_interaction": "time × arm",
    "model_lmm": ("Linear mixed model (REML): fixed effects of time, arm and their interaction"
                  "{covariates}; a random intercept per participant{clusters}; {df} df."),
    "model_mmrm": ("Mixed model for repeated measures (REML): fixed effects of time{arms}"
                   "{covariates}; an unstructured covariance of each participant's scores"
                   " across timepoints; {df} df."),
    "covariates": ", adjusted for {names}",
    "random_site": ", a random intercept per level of {name}",
    "random_group": (", and a random intercept per therapy group ({name}) on the"
                     " post-baseline scores of the participants treated in a group"),
    "df_satterthwaite": "Satterthwaite",
    "df_kenward-roger": "Kenward–Roger",
    "arms": ", arm and their interaction",
    "and": " and ",
}

_TERM = re.compile(r"(?P<name>[^\[\]:@]+)(?:\[(?P<level>[^\]]*)\])?")


def _say(phrases: Mapping[str, str] | None) -> dict[str, str]:
    return {**TERM_PHRASES, **(phrases or {})}


def term_label(term: str, report: Mapping, phrases: Mapping[str, str] | None = None) -> str:
    """A model term of an efficacy report (``time[post]:arm[UC]``, ``arm[UC]@post``,
    ``time[week8]``, ``gender[male]``, ``age``) named for people.

    Parameters
    ----------
    term : str
        The term as the JSON names it.
    report : mapping
        The efficacy report (its ``timepoints``, ``reference_arm`` and
        ``reference_levels``).
    phrases : mapping, optional
        Templates replacing some or all of :data:`TERM_PHRASES`.

    Examples
    --------
    >>> report = {"timepoints": ["pre", "post"], "reference_arm": "CFT",
    ...           "reference_levels": {"gender": "female"}}
    >>> term_label("time[post]:arm[UC]", report)
    'UC − CFT change, pre to post'
    >>> term_label("arm[UC]@post", report)
    'UC − CFT at post, adjusted for pre'
    >>> term_label("gender[male]", report), term_label("age", report)
    ('gender: male vs female', 'age, per unit')
    """
    say = _say(phrases)
    baseline = report["timepoints"][0]
    reference = report.get("reference_arm", "")
    if "@" in term:
        arm_part, timepoint = term.rsplit("@", 1)
        found = _TERM.fullmatch(arm_part)
        if found and found["name"] == "arm":
            return say["ancova"].format(arm=found["level"], reference=reference,
                                        timepoint=timepoint, baseline=baseline)
        return term
    parts = [_TERM.fullmatch(p) for p in term.split(":")]
    if not all(parts):
        return term
    names = {p["name"]: p["level"] for p in parts}
    if set(names) == {"time", "arm"}:
        return say["interaction"].format(arm=names["arm"], reference=reference,
                                         baseline=baseline, timepoint=names["time"])
    if len(parts) > 1:
        return term
    name, level = parts[0]["name"], parts[0]["level"]
    if name == "time" and level is not None:
        return say["time"].format(baseline=baseline, timepoint=level)
    if name == "arm" and level is not None:
        return say["arm"].format(arm=level, reference=reference, baseline=baseline)
    if level is None:
        return say["per_unit"].format(variable=name)
    ref = (report.get("reference_levels") or {}).get(name)
    if ref is None:
        return say["level_no_reference"].format(variable=name, level=level)
    return say["level"].format(variable=name, level=level, reference=ref)


def anova_label(term: str, phrases: Mapping[str, str] | None = None) -> str:
    """A type III test's term (``time``, ``arm``, ``time:arm``, a covariate) for people."""
    say = _say(phrases)
    return {"time": say["test_time"], "arm": say["test_arm"],
            "time:arm": say["test_interaction"]}.get(term, term)



def model_in_words(report: Mapping, phrases: Mapping[str, str] | None = None) -> str:
    """The fitted model described in a sentence (its R formula is ``report["formula"]``).

    Examples
    --------
    >>> print(model_in_words({  # doctest: +NORMALIZE_WHITESPACE
    ...     "design": "rct", "df_method": "kenward-roger",
    ...     "formula": "score ~ time * arm + (1 | participant_id) + (1 | site)"}))
    Linear mixed model (REML): fixed effects of time, arm and their interaction; a random
    intercept per participant, a random intercept per level of site; Kenward–Roger df.
    """
    say = _say(phrases)
    formula = report.get("formula", "")
    fixed = formula.split("+ (", 1)[0].split("+ us(", 1)[0]
    extra = [t.strip() for t in fixed.split("~", 1)[-1].split("+")[1:]]
    covariates = (say["covariates"].format(names=say["and"].join(extra)) if extra else "")
    df = say.get(f"df_{report.get('df_method', 'satterthwaite')}", "Satterthwaite")
    if "us(time" in formula or report.get("design") == "single_arm":
        return say["model_mmrm"].format(arms=say["arms"] if report.get("design") == "rct"
                                        else "", covariates=covariates, df=df)
    clusters = ""
    for name in re.findall(r"\(1 \| (\w+)\)", formula):
        if name != "participant_id":
            clusters += say["random_site"].format(name=name)
    group = re.search(r"\(0 \+ grouped_post \| (\w+)\)", formula)
    if group:
        clusters += say["random_group"].format(name=group.group(1))
    return say["model_lmm"].format(covariates=covariates, clusters=clusters, df=df)
