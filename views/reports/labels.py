"""The researcher's reports in the researcher's language: labels for what :mod:`analysis` writes.

The analysis names its tables, columns, quantities and values with stable English ids
(``variance components``, ``ci_low``, ``rate_mean``, ``allocated``) and writes its warnings
from coded templates (:mod:`analysis.notes`); the JSON and the CSV files keep those ids (the
data contract). Pages, and downloads where the researcher asks for their language, show the
labels below instead. An id without a label is shown as it is (typed keys: arms, timepoints,
covariates a study defined). Nothing here imports pandas or the analysis at module level.
"""

from __future__ import annotations

import math
import re

from babel.numbers import format_decimal
from flask_babel import get_locale, lazy_pgettext
from flask_babel import lazy_gettext as _l

#: table names of :func:`analysis.report.tables`
TABLES = {
    "summary": lazy_pgettext("report table", "Summary"),
    "descriptives": lazy_pgettext("report table", "Descriptive statistics"),
    "effects": lazy_pgettext("report table", "Effects"),
    "variance components": lazy_pgettext("report table", "Variance components"),
    "warnings": lazy_pgettext("report table", "Warnings"),
    "counts": lazy_pgettext("report table", "Counts per arm"),
    "participants": lazy_pgettext("report table", "Participants"),
    "flow": lazy_pgettext("report table", "Participant flow"),
    "attendance": lazy_pgettext("report table", "Attendance per participant"),
    "attendance summary": lazy_pgettext("report table", "Attendance summary"),
    "attendance distribution": lazy_pgettext("report table", "Meetings missed"),
    "completion": lazy_pgettext("report table", "Completion and dropout"),
    "assessment completion": lazy_pgettext("report table", "Questionnaire completion"),
    "sessions": lazy_pgettext("report table", "Session delivery"),
    "satisfaction": lazy_pgettext("report table", "Satisfaction (CSQ-8)"),
    "engagement": lazy_pgettext("report table", "Engagement"),
    "progression criteria": lazy_pgettext("report table", "Progression criteria"),
    "completers vs non-completers": lazy_pgettext("report table",
                                                  "Completers vs non-completers"),
    "type III tests": lazy_pgettext("report table", "Type III tests"),
    "contrasts per timepoint": lazy_pgettext("report table", "Arms compared at each timepoint"),
    "attendance per meeting": lazy_pgettext("report table", "Attendance per meeting"),
    "model": lazy_pgettext("report table", "Model"),
}

#: column ids of the report tables (and of the data files' fixed columns)
COLUMNS = {
    "measure": lazy_pgettext("report column", "Measure"),
    "arm": lazy_pgettext("report column", "Arm"),
    "timepoint": lazy_pgettext("report column", "Timepoint"),
    "n": lazy_pgettext("report column", "n"),
    "mean": lazy_pgettext("report column", "Mean"),
    "sd": lazy_pgettext("report column", "SD"),
    "term": lazy_pgettext("report column", "Term"),
    "estimate": lazy_pgettext("report column", "Estimate"),
    "se": lazy_pgettext("report column", "SE"),
    "df": lazy_pgettext("report column", "df"),
    "t": lazy_pgettext("report column", "t"),
    "p": lazy_pgettext("report column", "p"),
    "ci_low": lazy_pgettext("report column", "95% CI lower"),
    "ci_high": lazy_pgettext("report column", "95% CI upper"),
    "wald_ci_low": lazy_pgettext("report column", "Wald 95% CI lower"),
    "wald_ci_high": lazy_pgettext("report column", "Wald 95% CI upper"),
    "d": lazy_pgettext("report column", "d"),
    "warning": lazy_pgettext("report column", "Warning"),
    "effect": lazy_pgettext("report column", "Effect"),
    "f": lazy_pgettext("report column", "F"),
    "num_df": lazy_pgettext("report column", "Numerator df"),
    "den_df": lazy_pgettext("report column", "Denominator df"),
    "contrast": lazy_pgettext("report column", "Contrast"),
    "model": lazy_pgettext("report column", "Model"),
    "n_participants": lazy_pgettext("report column", "Participants"),
    "n_observations": lazy_pgettext("report column", "Observations"),
    "component": lazy_pgettext("report column", "Component"),
    "variance": lazy_pgettext("report column", "Variance"),
    "quantity": lazy_pgettext("report column", "Quantity"),
    "value": lazy_pgettext("report column", "Value"),
    "stage": lazy_pgettext("report column", "Stage"),
    "participant_id": lazy_pgettext("report column", "Participant code"),
    "attended": lazy_pgettext("report column", "Meetings attended"),
    "rate_pct": lazy_pgettext("report column", "Attendance %"),
    "missed": lazy_pgettext("report column", "Meetings missed"),
    "participants": lazy_pgettext("report column", "Participants"),
    "completed": lazy_pgettext("report column", "Completed"),
    "dropped_out": lazy_pgettext("report column", "Dropped out"),
    "active": lazy_pgettext("report column", "Still taking part"),
    "completion_pct": lazy_pgettext("report column", "Completion %"),
    "dropout_pct": lazy_pgettext("report column", "Dropout %"),
    "of": lazy_pgettext("report column", "Of"),
    "pct": lazy_pgettext("report column", "%"),
    "per_participant_per_week": lazy_pgettext("report column", "Per participant per week"),
    "per_participant_total_mean": lazy_pgettext("report column",
                                                "Mean total per participant"),
    "metric": lazy_pgettext("report column", "Criterion"),
    "label": lazy_pgettext("report column", "Criterion"),
    "green": lazy_pgettext("report column", "Green at or above"),
    "amber": lazy_pgettext("report column", "Amber at or above"),
    "band": lazy_pgettext("report column", "Band"),
    "variable": lazy_pgettext("report column", "Variable"),
    "test": lazy_pgettext("report column", "Test"),
    "statistic": lazy_pgettext("report column", "Statistic"),
    "p_test": lazy_pgettext("report column", "p (test)"),
    "odds_ratio": lazy_pgettext("report column", "Odds ratio of completing"),
    "pre": lazy_pgettext("report column", "Before"),
    "post": lazy_pgettext("report column", "After"),
    "rci": lazy_pgettext("report column", "Reliable change index"),
    "category": lazy_pgettext("report column", "Category"),
    # the participants table's fixed columns, as covariates in terms and comparisons
    "gender": lazy_pgettext("report column", "Gender"),
    "age": lazy_pgettext("report column", "Age"),
    "status": lazy_pgettext("report column", "Status"),
    "therapy_group": lazy_pgettext("report column", "Therapy group"),
    "sessions_attended": lazy_pgettext("report column", "Sessions attended"),
    "randomised_on": lazy_pgettext("report column", "Date of allocation"),
    # reliable-change categories (counts per arm)
    "recovered": lazy_pgettext("reliable change", "Recovered"),
    "improved": lazy_pgettext("reliable change", "Improved"),
    "non_reliably_recovered": lazy_pgettext("reliable change", "Non-reliably recovered"),
    "unchanged": lazy_pgettext("reliable change", "Unchanged"),
    "deteriorated": lazy_pgettext("reliable change", "Deteriorated"),
}

#: prefixes of the completer comparison's columns (completers_n, non_completers_mean ...)
GROUPS = {
    "completers": lazy_pgettext("report column", "Completers"),
    "non_completers": lazy_pgettext("report column", "Non-completers"),
}
GROUP_STATS = {"level_n": lazy_pgettext("report column", "n at the level")}

#: the rows of the "quantity / value" tables
QUANTITIES = {
    "meetings": lazy_pgettext("report quantity", "Meetings held"),
    "rate_mean": lazy_pgettext("report quantity", "Attendance %, mean"),
    "rate_sd": lazy_pgettext("report quantity", "Attendance %, SD"),
    "rate_min": lazy_pgettext("report quantity", "Attendance %, lowest"),
    "rate_median": lazy_pgettext("report quantity", "Attendance %, median"),
    "rate_max": lazy_pgettext("report quantity", "Attendance %, highest"),
    "held": lazy_pgettext("report quantity", "Meetings held"),
    "cancelled": lazy_pgettext("report quantity", "Meetings cancelled"),
    "truncated": lazy_pgettext("report quantity", "Meetings cut short"),
    "postponed": lazy_pgettext("report quantity", "Meetings postponed"),
    "total": lazy_pgettext("report quantity", "Meetings in all"),
    "adherence_sessions_with_checklist": lazy_pgettext(
        "report quantity", "Meetings with an adherence checklist"),
    "adherence_mean_pct": lazy_pgettext("report quantity", "Adherence %, mean"),
    "adherence_min_pct": lazy_pgettext("report quantity", "Adherence %, lowest"),
    "n": lazy_pgettext("report quantity", "Participants with every item answered"),
    "items": lazy_pgettext("report quantity", "Items"),
    "total_mean": lazy_pgettext("report quantity", "Total (8-32), mean"),
    "total_sd": lazy_pgettext("report quantity", "Total (8-32), SD"),
    "good_or_better_pct": lazy_pgettext("report quantity", "Ratings of 3 or 4, %"),
    "measure": lazy_pgettext("report quantity", "Measure"),
    "direction": lazy_pgettext("report quantity", "Direction"),
    "reliability": lazy_pgettext("report quantity", "Reliability"),
    "norm_mean": lazy_pgettext("report quantity", "Normative mean"),
    "norm_sd": lazy_pgettext("report quantity", "Normative SD"),
    "baseline_mean": lazy_pgettext("report quantity", "Baseline mean"),
    "baseline_sd": lazy_pgettext("report quantity", "Baseline SD"),
    "s_e": lazy_pgettext("report quantity", "Standard error of measurement"),
    "s_diff": lazy_pgettext("report quantity", "Standard error of the difference"),
    "cutoff_a": lazy_pgettext("report quantity", "Cutoff a"),
    "cutoff_b": lazy_pgettext("report quantity", "Cutoff b"),
    "cutoff_c": lazy_pgettext("report quantity", "Cutoff c"),
    "cutoff_used": lazy_pgettext("report quantity", "Cutoff used"),
    "warning": lazy_pgettext("report quantity", "Warning"),
    # the fitted model (an efficacy workbook's "model" sheet)
    "design": lazy_pgettext("report quantity", "Design"),
    "df_method": lazy_pgettext("report quantity", "Degrees of freedom"),
    "formula": lazy_pgettext("report quantity", "R formula"),
    "ancova_formula": lazy_pgettext("report quantity", "ANCOVA formula"),
    "population": lazy_pgettext("report quantity", "Population"),
    "excluded": lazy_pgettext("report quantity", "Left out (per-protocol)"),
}
_AT_LEAST = re.compile(r"attended_at_least_(\d+)_(n|pct)\Z")

#: words that are values in the tables
VALUES = {
    # CONSORT stages of the flow table
    "assessed for eligibility": lazy_pgettext("flow stage", "assessed for eligibility"),
    "excluded": lazy_pgettext("flow stage", "excluded"),
    "randomised / included": lazy_pgettext("flow stage", "randomised / included"),
    "allocated": lazy_pgettext("flow stage", "allocated"),
    "withdrawn": lazy_pgettext("flow stage", "withdrawn"),
    "lost": lazy_pgettext("flow stage", "lost to follow-up"),
    "analysed": lazy_pgettext("flow stage", "analysed"),
    # variance components
    "participant": lazy_pgettext("variance component", "participant"),
    "residual": lazy_pgettext("variance component", "residual"),
    "therapy_group": lazy_pgettext("variance component", "therapy group"),
    "ancova": lazy_pgettext("report value", "ANCOVA"),
    "rct": lazy_pgettext("report value", "randomised trial"),
    "single_arm": lazy_pgettext("report value", "single arm"),
    "satterthwaite": lazy_pgettext("report value", "Satterthwaite"),
    "kenward-roger": lazy_pgettext("report value", "Kenward–Roger"),
    "per_protocol": lazy_pgettext("report value", "per-protocol"),
    # progression bands
    "green": lazy_pgettext("progression band", "green"),
    "amber": lazy_pgettext("progression band", "amber"),
    "red": lazy_pgettext("progression band", "red"),
    # engagement measures
    "materials_opened": lazy_pgettext("engagement", "materials opened"),
    "practice_minutes": lazy_pgettext("engagement", "practice minutes"),
    "posts": lazy_pgettext("engagement", "posts"),
    # reliable change
    "higher_is_better": lazy_pgettext("reliable change", "higher scores are better"),
    "lower_is_better": lazy_pgettext("reliable change", "lower scores are better"),
    "recovered": lazy_pgettext("reliable change", "recovered"),
    "improved": lazy_pgettext("reliable change", "improved"),
    "non_reliably_recovered": lazy_pgettext("reliable change", "non-reliably recovered"),
    "unchanged": lazy_pgettext("reliable change", "unchanged"),
    "deteriorated": lazy_pgettext("reliable change", "deteriorated"),
    # completer comparison tests
    "Welch t": lazy_pgettext("statistical test", "Welch t"),
    "Fisher exact": lazy_pgettext("statistical test", "Fisher exact"),
    "chi-square": lazy_pgettext("statistical test", "chi-square"),
    # an arm or row standing for everyone
    "all": lazy_pgettext("report value", "all"),
    "(all)": lazy_pgettext("report value", "(all)"),
}

#: progression criteria of the analysis defaults, and recruitment, by metric
CRITERIA = {
    "retention_pct": lazy_pgettext("progression criterion", "retention"),
    "mean_attendance_pct": lazy_pgettext("progression criterion", "attendance"),
    "assessment_completion_pct": lazy_pgettext("progression criterion",
                                               "questionnaire completion"),
    "recruitment_per_month": lazy_pgettext("progression criterion", "recruitment per month"),
}
UNITS = {"%": "%", "per month": lazy_pgettext("unit", "per month")}

#: terms of the models: factor names
FACTORS = {"time": lazy_pgettext("model term", "time"), "arm": lazy_pgettext("model term", "arm")}
_FACTOR = re.compile(r"([^\[\]:]+)(?:\[([^\]]*)\])?")

#: warnings by their :mod:`analysis.notes` code
NOTES = {
    "not_estimable": _l("not estimable"),
    "arm_no_scores": _l("arm %(arm)s has no scores at %(timepoint)s"),
    "constant_in_arm": _l("scores are constant at %(timepoint)s in arm %(arm)s (SD 0)"),
    "single_observation": _l("%(n)s participant(s) have a score at one timepoint only (kept: "
                             "all available observations are analysed)"),
    "constant_scores": _l("scores are constant: no variance to model"),
    "too_few_observations": _l("too few observations for the model"),
    "no_repeated_observation": _l("no participant has more than one observation: the random "
                                  "intercept cannot be separated from the residual"),
    "zero_residual": _l("the residual variance is estimated as 0 (every participant's change "
                        "is identical): effects cannot be tested"),
    "singular_hessian": _l("the variance parameters' Hessian is singular: df not available"),
    "boundary_fit": _l("boundary (singular) fit: the participant variance is estimated as 0"),
    "boundary_term": _l("boundary (singular) fit: the %(term)s variance is estimated as 0"),
    "d_clustered": _l("d = 2t/sqrt(df) is inflated here: with a therapy-group term the df fall "
                      "to about the number of groups (reported for comparison with "
                      "lme.dscore)"),
    "unstructured_constant": _l("the unstructured covariance cannot be estimated: scores are "
                                "constant (or single) at %(timepoints)s"),
    "unstructured_not_converged": _l("the unstructured covariance model did not converge"),
    "unstructured_singular_hessian": _l("the unstructured covariance model did not converge "
                                        "(singular Hessian)"),
    "fixed_not_estimable": _l("the fixed effects are not estimable (singular design)"),
    "unstructured_not_evaluable": _l("the unstructured covariance model cannot be evaluated "
                                     "on these data"),
    "unstructured_singular": _l("the unstructured covariance cannot be estimated: the REML "
                                "criterion keeps improving as the covariance across "
                                "timepoints becomes singular (too few participants with "
                                "scores at several timepoints)"),
    "aliased": _l("%(term)s is not estimable from these data (aliased)"),
    "reference_arm_ignored": _l("reference arm %(arm)s ignored: this is a single-arm study"),
    "no_attendance": _l("no attendance records"),
    "logit_failed": _l("logistic regression failed"),
    "separation": _l("odds ratio not estimable (perfect separation)"),
    "logit_not_converged": _l("logistic regression did not converge"),
    "group_too_small": _l("too few participants in a group"),
    "rc_left_out": _l("%(n)s participant(s) without both %(pre)s and %(post)s scores left out"),
    "rc_cutoff_fallback": _l("cutoff %(kind)s needs the normative mean and SD: cutoff a used "
                             "instead"),
    "rc_not_computable": _l("reliable change cannot be computed: need at least two "
                            "participants with both timepoints and a baseline SD above 0"),
}


#: the figures' texts (keys of :data:`analysis.consort.FLOW_PHRASES` and
#: :data:`analysis.plots.PLOT_PHRASES`); ``%(n)s`` fields become the analysis' ``{n}``
FIGURES = {
    "assessed": lazy_pgettext("flow diagram", "Assessed for eligibility (n = %(n)s)", n="{n}"),
    "excluded": lazy_pgettext("flow diagram", "Excluded (n = %(n)s)", n="{n}"),
    "reason": lazy_pgettext("flow diagram", "- %(reason)s (n = %(n)s)",
                            reason="{reason}", n="{n}"),
    "not_given": lazy_pgettext("flow diagram", "not given"),
    "randomised": lazy_pgettext("flow diagram", "Randomised / included (n = %(n)s)", n="{n}"),
    "allocated": lazy_pgettext("flow diagram", "Allocated to %(arm)s (n = %(n)s)",
                               arm="{arm}", n="{n}"),
    "withdrawn": lazy_pgettext("flow diagram", "Withdrew (n = %(n)s)", n="{n}"),
    "lost": lazy_pgettext("flow diagram", "Lost to follow-up (n = %(n)s)", n="{n}"),
    "received": lazy_pgettext("flow diagram", "Received allocated intervention (n = %(n)s)",
                              n="{n}"),
    "not_received": lazy_pgettext(
        "flow diagram", "Did not receive allocated intervention (n = %(n)s)", n="{n}"),
    "stopped_sessions": lazy_pgettext(
        "flow diagram", "Stopped sessions, stayed in the study (n = %(n)s)", n="{n}"),
    "left_study": lazy_pgettext("flow diagram", "Left the study (n = %(n)s)", n="{n}"),
    "analysed": lazy_pgettext("flow diagram", "Analysed (n = %(n)s)", n="{n}"),
    "not_analysed": lazy_pgettext("flow diagram", "Not analysed (n = %(n)s)", n="{n}"),
    "title": lazy_pgettext("flow diagram", "CONSORT flow diagram"),
    "trajectory_y": lazy_pgettext("figure", "%(measure)s (mean, 95 %% CI)",
                                  measure="{measure}"),
    "arm": lazy_pgettext("figure", "arm"),
    "no_change": lazy_pgettext("figure", "no change"),
    "no_reliable_change": lazy_pgettext("figure", "no reliable change"),
    "cutoff": lazy_pgettext("figure", "cutoff %(kind)s = %(value)s",
                            kind="{kind}", value="{value}"),
    "pre": lazy_pgettext("report column", "Before"),
    "post": lazy_pgettext("report column", "After"),
    "attendance_x": lazy_pgettext("figure", "meeting"),
    "attendance_y": lazy_pgettext("figure", "present (%(pct)s of those due)", pct="%"),
    "attendance_n": lazy_pgettext("figure", "n = %(n)s", n="{n}"),
    "recruitment_x": lazy_pgettext("figure", "month"),
    "recruitment_y": lazy_pgettext("figure", "participants allocated"),
    "recruitment_month": lazy_pgettext("figure", "per month"),
    "recruitment_total": lazy_pgettext("figure", "cumulative"),
}


#: the reasons :func:`analysis.data.flow` writes into the flow records
FLOW_REASONS = {
    "inclusion": lazy_pgettext("flow reason", "not meeting inclusion: %(rule)s"),
    "exclusion": lazy_pgettext("flow reason", "meeting exclusion: %(rule)s"),
    "eligible, not randomised": lazy_pgettext("flow reason", "eligible, not randomised"),
    "asked for data removal": lazy_pgettext("flow reason", "asked for data removal"),
    "not given": lazy_pgettext("flow diagram", "not given"),
}


def flow_reasons(rules) -> dict[str, str]:
    """The flow records' English reasons (``meeting exclusion: Psychosis``, as
    :func:`analysis.data.flow` writes them from a study's eligibility ``rules``) by their
    words in the reader's language."""
    from program.trial.eligibility import rule_label

    out = {text: str(FLOW_REASONS[text]) for text in
           ("eligible, not randomised", "asked for data removal", "not given")}
    given = [r for r in rules or [] if isinstance(r, dict) and "key" in r]
    for kind, prefix in (("inclusion", "not meeting inclusion"),
                         ("exclusion", "meeting exclusion")):
        out[f"{prefix}: not given"] = str(FLOW_REASONS[kind]) % {"rule": out["not given"]}
        for rule in given:
            english = rule.get("label", rule["key"])
            out[f"{prefix}: {english}"] = str(FLOW_REASONS[kind]) % {"rule": rule_label(rule)}
    return out


def figure_phrases() -> dict[str, str] | None:
    """The figures' texts in the reader's language; None on an English page (the analysis'
    own English text, unchanged)."""
    if str(_locale()).split("_")[0] == "en":
        return None
    return {key: str(text) for key, text in FIGURES.items()}


def arm_names(arms) -> dict[str, str]:
    """Legend labels of arms: the words for an arm standing for everyone, typed arms as
    they are."""
    return {arm: _word(VALUES, arm) for arm in arms if arm in ("all", "(all)")}


def _word(mapping: dict, key) -> str:
    found = mapping.get(key)
    return str(found) if found is not None else str(key)


def table_name(name: str) -> str:
    return _word(TABLES, name)


def term(text: str) -> str:
    """A model term (``time[post]:arm[UC]``) with its factor names translated."""
    parts = []
    for factor in text.split(":"):
        found = _FACTOR.fullmatch(factor)
        if not found:
            return text
        name, level = found.groups()
        name = _word(FACTORS, name) if name in FACTORS else _word(COLUMNS, name)
        parts.append(name if level is None else f"{name}[{level}]")
    return ":".join(parts)


def column(name: str, terms: frozenset[str] = frozenset()) -> str:
    """A column header: a fixed id, a model term (with `` p`` or `` d``), a completer group's
    statistic, or a typed key (``CFT pre``) as it is."""
    if name in COLUMNS:
        return str(COLUMNS[name])
    base, _, suffix = name.rpartition(" ")
    if base in terms and suffix in ("p", "d"):
        return f"{term(base)} {suffix}"
    if name in terms:
        return term(name)
    for group, label in GROUPS.items():
        if name.startswith(group + "_"):
            stat = name[len(group) + 1:]
            return f"{label}: {_word(GROUP_STATS, stat) if stat in GROUP_STATS else column(stat)}"
    return name


def quantity(key: str) -> str:
    if key in QUANTITIES:
        return str(QUANTITIES[key])
    found = _AT_LEAST.match(key)
    if found:
        k, what = found.groups()
        if what == "n":
            return str(_l("Attended at least %(k)s meetings, n", k=k))
        return str(_l("Attended at least %(k)s meetings, %%", k=k))
    return key


def warning(text: str | None) -> str:
    """A report's warning text in the reader's language (unknown parts as written)."""
    from analysis.notes import parse

    out = []
    for code, values in parse(text):
        if code is None or code not in NOTES:
            out.append(str(values) if code is None else _english_note(code, values))
        else:
            out.append(str(NOTES[code]) % values if values else str(NOTES[code]))
    return str(lazy_pgettext("list separator", "; ")).join(out)


def _english_note(code: str, values: dict) -> str:
    from analysis.notes import note

    return note(code, **values)


def stage(text: str, reasons: dict[str, str] | None = None) -> str:
    """A flow stage (``excluded: psychosis``); a reason is a rule key or typed text."""
    name, sep, reason = text.partition(": ")
    if sep and name in VALUES:
        return f"{VALUES[name]}: {(reasons or {}).get(reason, reason)}"
    return _word(VALUES, text)


def number(value) -> str:
    """A number as the page shows it: four significant digits, the locale's separators."""
    if value is None or isinstance(value, bool):
        return "" if value is None else str(value)
    if isinstance(value, int):
        return format_decimal(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return ""
        return format_decimal(float(f"{value:.4g}"), locale=_locale(),
                              decimal_quantization=False)
    return str(value)


def _locale():
    return get_locale() or "en"


def measure(key: str) -> str:
    """A measure key (``SCS.self_kindness``) with the instrument's subscale name in the
    reader's language; the key itself for anything the instrument library does not know."""
    instrument_key, _, scale = key.partition(".")
    names = _measure_names(str(get_locale() or "en"))
    if instrument_key not in names:
        return key
    if not scale:
        return instrument_key
    if scale == "total":
        return f"{instrument_key}: {TOTAL}"
    return f"{instrument_key}: {names[instrument_key].get(scale, scale)}"


TOTAL = lazy_pgettext("measure", "total score")
_MEASURE_NAMES: dict[str, dict[str, dict[str, str]]] = {}


def _measure_names(locale: str) -> dict[str, dict[str, str]]:
    if locale not in _MEASURE_NAMES:
        from program.instruments.library import load_library
        from program.instruments.wording import localized

        _MEASURE_NAMES[locale] = {
            key: {s.key: s.name for s in localized(inst, locale).subscales}
            for key, inst in load_library().items()}
    return _MEASURE_NAMES[locale]


def _blank(value) -> bool:
    """A missing value: None, NaN, infinity or pandas' NA."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return True
    return type(value).__name__ == "NAType"


def _quantity_value(kind: str, text: str) -> str:
    """The value cell of a quantity/value table, worded by its quantity."""
    if kind == "warning":
        return warning(text)
    if kind == "measure":
        return measure(text)
    if kind == "cutoff_used":
        which, _, amount = text.partition(" = ")
        try:
            return f"{which} = {number(float(amount))}"
        except ValueError:
            return text
    return _word(VALUES, text)


def cell(table: str, name: str, value, *, terms: frozenset[str] = frozenset(),
         reasons: dict[str, str] | None = None, row: dict | None = None) -> str:
    """One cell of a report table as the page shows it (``row``: the other cells, by column,
    for the quantity/value tables whose value depends on the quantity)."""
    if _blank(value):
        return ""
    if hasattr(value, "item") and not isinstance(value, (str, int, float)):  # numpy scalars
        value = value.item()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return number(value)
    text = str(value)
    if name == "value" and row is not None and "quantity" in row:
        return _quantity_value(row["quantity"], text)
    if name == "warning":
        return warning(text)
    if name == "measure":
        return _word(VALUES, text) if text in VALUES else measure(text)
    if name == "term" or text in terms:
        return term(text)
    if name == "quantity":
        return quantity(text)
    if name == "stage":
        return stage(text, reasons)
    if name == "metric":
        return _word(CRITERIA, text)
    if name == "variable":
        return term(text)
    if name in ("component", "band", "direction", "category", "test", "arm", "model"):
        return _word(VALUES, text)
    return text


def table(name: str, frame, *, terms: frozenset[str] = frozenset(),
          reasons: dict[str, str] | None = None) -> dict:
    """A report table (a DataFrame of :func:`analysis.report.tables`) as the page shows it:
    ``{"name", "title", "ids", "columns", "rows"}``; the progression criteria's English
    ``label`` column gives way to the translated ``metric``."""
    ids = [str(c) for c in frame.columns]
    keep = [i for i, c in enumerate(ids)
            if not (name == "progression criteria" and c == "label")]
    rows = []
    for values in frame.itertuples(index=False, name=None):
        by_column = dict(zip(ids, values, strict=True))
        rows.append([cell(name, ids[i], values[i], terms=terms, reasons=reasons,
                          row=by_column) for i in keep])
    return {"name": name, "title": table_name(name), "ids": [ids[i] for i in keep],
            "columns": [column(ids[i], terms) for i in keep], "rows": rows}


def terms_of(report: dict) -> frozenset[str]:
    """The model terms of an efficacy report (they name columns of its summary table)."""
    return frozenset(e["term"] for entry in (report.get("measures") or {}).values()
                     for e in entry.get("effects", []))
