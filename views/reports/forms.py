"""The report option forms: GET forms filled from the query string, their choices from the
study's data."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from flask import request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import (
    BooleanField,
    FloatField,
    IntegerField,
    SelectField,
    StringField,
)
from wtforms.validators import NumberRange, Optional

from models import Study
from program.reports import complete_measures, covariate_choices, criteria
from program.trial import characteristics
from views.forms import MultiCheckboxField, options
from views.reports import labels

if TYPE_CHECKING:
    from analysis import data as study_data

MODELS = [("lmm", _l("Random-intercept mixed model (the papers' model)")),
          ("mmrm", _l("Mixed model for repeated measures, unstructured covariance"))]
#: the denominator df methods (:data:`analysis.options.DF_METHODS`)
DF_METHODS = [("satterthwaite", _l("Satterthwaite (lmerTest's default)")),
              ("kenward-roger", _l("Kenward–Roger (pbkrtest; also adjusts the standard errors)"))]
#: the participants column of the therapy groups (:func:`analysis.data.participants`)
THERAPY_GROUP = "therapy_group"


class EfficacyForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form: it changes nothing

    timepoints = MultiCheckboxField(_l("Timepoints (the first is the baseline)"), choices=[])
    measures = MultiCheckboxField(_l("Measures"), choices=[])
    reference_arm = SelectField(_l("Reference arm"), choices=[])
    covariates = MultiCheckboxField(_l("Covariates"), choices=[])
    completers_only = BooleanField(_l("Completers only (a score at every timepoint)"))
    model = SelectField(_l("Model"), choices=options(MODELS), default="lmm")
    therapy_groups = BooleanField(_l(
        "Random intercept per therapy group (partially nested: arms without sessions have no "
        "groups)"))
    random = SelectField(_l("Random intercept per level of (e.g. site)"), choices=[],
                         default="")
    ddf = SelectField(_l("Degrees of freedom"), choices=options(DF_METHODS),
                      default="satterthwaite")
    ancova = BooleanField(_l("Add a baseline-adjusted ANCOVA at each later timepoint"))
    per_protocol = IntegerField(
        _l("Per-protocol: only those who attended at least this many sessions"),
        validators=[Optional(), NumberRange(min=0, max=1000)])
    rc_measure = SelectField(_l("Reliable change of"), choices=[], default="")
    rc_reliability = FloatField(_l("Reliability of the measure (0-1)"),
                                validators=[Optional(), NumberRange(min=0.01, max=0.99)])
    rc_norm_mean = FloatField(_l("Normative mean"), validators=[Optional()])
    rc_norm_sd = FloatField(_l("Normative SD"), validators=[Optional()])
    rc_cutoff = StringField(_l("Cutoff: a, b, c or a number"), default="c")
    rc_lower_is_better = BooleanField(_l("Lower scores are better (e.g. BDI-II)"))


class _FeasibilityForm(FlaskForm):
    class Meta:
        csrf = False

    timepoints = MultiCheckboxField(_l("Timepoints for questionnaire completion"), choices=[])
    min_attended = IntegerField(_l("Attended at least k meetings: k"),
                                validators=[Optional(), NumberRange(min=1, max=100)])


@cache
def feasibility_form_class() -> type[FlaskForm]:
    """The feasibility form with a green and an amber field per progression criterion."""
    fields = {}
    for crit in criteria():
        for band in ("green", "amber"):
            fields[f"{crit['metric']}_{band}"] = FloatField(
                _l("%(label)s: %(band)s at or above (%(unit)s)",
                   label=labels.CRITERIA.get(crit["metric"], crit["label"]),
                   band=labels.VALUES[band], unit=labels.UNITS.get(crit["unit"], crit["unit"])),
                default=crit[band],
                validators=[Optional(), NumberRange(min=0, max=crit["max"])])
    return type("FeasibilityForm", (_FeasibilityForm,), fields)


def _formdata() -> MultiDict | None:
    """The query string, or None on first load (so the fields show their defaults)."""
    args = MultiDict(request.args)
    args.pop("format", None)
    args.pop("labels", None)
    return args if args else None


def efficacy_form(study: Study, tables: study_data.StudyTables) -> EfficacyForm:
    from pandas.api.types import is_numeric_dtype

    arms = [a.key for a in study.arms]
    form = EfficacyForm(formdata=_formdata(), data={
        "timepoints": tables.timepoints,
        "measures": complete_measures(tables, tables.timepoints),
        "reference_arm": sorted(arms)[0] if arms else "",
        "model": "lmm",
    })
    form.timepoints.choices = options((t, t) for t in tables.timepoints)
    form.measures.choices = options((m, labels.measure(m)) for m in tables.measures)
    form.reference_arm.choices = options((a, a) for a in sorted(arms))
    covariates = covariate_choices(tables)
    # a study's baseline characteristics by their names (a library one in the reader's language)
    named = {d["key"]: d["label"] for d in characteristics.definitions(study)}
    form.covariates.choices = options((c, named.get(c) or labels.column(c)) for c in covariates)
    levels = [c for c in covariates if not is_numeric_dtype(tables.participants[c])]
    form.random.choices = options([("", _("(none)"))]
                                  + [(c, named.get(c) or labels.column(c)) for c in levels])
    form.rc_measure.choices = options([("", _("(none)"))]
                                      + [(m, labels.measure(m)) for m in tables.measures])
    return form


def clustering(form: EfficacyForm) -> dict:
    """The model's clustering and sensitivity options, as :func:`program.reports.build_efficacy`
    takes them; only those chosen (the others keep the analysis defaults)."""
    chosen = {"random": form.random.data or None,
              "therapy_group": THERAPY_GROUP if form.therapy_groups.data else None,
              "ddf": form.ddf.data or "satterthwaite", "ancova": bool(form.ancova.data),
              "per_protocol": form.per_protocol.data}
    defaults = {"ddf": "satterthwaite", "ancova": False}
    return {k: v for k, v in chosen.items() if v is not None and defaults.get(k) != v}


#: the efficacy form's field each refused option (:data:`analysis.options.PROBLEMS`) is about
FIELD_OF_PROBLEM = {
    "unknown_timepoint": "timepoints", "too_few_timepoints": "timepoints",
    "no_complete_measure": "measures",
    "unknown_covariate": "covariates", "empty_covariate": "covariates",
    "unknown_arm": "reference_arm", "unknown_model": "model", "random_needs_lmm": "model",
    "kenward_roger_needs_lmm": "ddf", "unknown_df": "ddf", "ancova_needs_rct": "ancova",
    "per_protocol_negative": "per_protocol", "no_therapy_groups": "therapy_groups",
    "reliability": "rc_reliability", "norms": "rc_norm_sd", "norm_sd": "rc_norm_sd",
    "cutoff": "rc_cutoff",
}


def mark_refused(form: EfficacyForm, error: Exception) -> None:
    """Show a refused option's message at the field it is about, too."""
    name = FIELD_OF_PROBLEM.get(getattr(error, "problem", None) or "")
    if name is not None:
        field = getattr(form, name)
        field.errors = [*field.errors, str(error)]


def feasibility_form(tables: study_data.StudyTables) -> FlaskForm:
    form = feasibility_form_class()(formdata=_formdata(), data={"timepoints": tables.timepoints})
    form.timepoints.choices = options((t, t) for t in tables.timepoints)
    return form


def chosen_criteria(form: FlaskForm) -> list[dict] | None:
    """Progression criteria from the form; None (with field errors) when they do not fit."""
    chosen = []
    for crit in criteria():
        green = getattr(form, f"{crit['metric']}_green")
        amber = getattr(form, f"{crit['metric']}_amber")
        g = crit["green"] if green.data is None else green.data
        a = crit["amber"] if amber.data is None else amber.data
        if a > g:
            amber.errors = [*amber.errors, _("The amber threshold must not be above green.")]
            return None
        chosen.append({**crit, "green": g, "amber": a})
    return chosen
