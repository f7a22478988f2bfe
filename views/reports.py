"""Researcher reports and data exports: efficacy and feasibility pages, report downloads
(self-contained HTML, XLSX, JSON) and the pseudonymised data files; every download audited.

The database is read only through :mod:`analysis.data`; the statistics are :mod:`analysis`'s.
``build_efficacy`` and ``build_feasibility`` are shared with ``flask report``.
"""

from __future__ import annotations

import base64
import json
import math
import re
import threading
from collections.abc import Sequence
from contextlib import nullcontext
from functools import cache
from typing import TYPE_CHECKING

from flask import Blueprint, Response, abort, has_request_context, render_template, request, url_for
from flask_babel import get_locale, gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.datastructures import MultiDict
from wtforms import (
    BooleanField,
    FloatField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from models import Study, StudyStaff, db, write_transaction
from program.core import audit
from views import navigation
from views import report_labels as labels
from views.access import role_required

if TYPE_CHECKING:
    import pandas as pd

    from analysis import data as study_data

# pandas, scipy, statsmodels and the analysis load on the first report (a second or so and
# ~100 MB): web workers and `flask` commands that never run one do without them.

bp = Blueprint("reports", __name__, url_prefix="/research/reports")
navigation.add("researcher", "reports.index", "Reports", order=40)

MODELS = [("lmm", _l("Random-intercept mixed model (the papers' model)")),
          ("mmrm", _l("Mixed model for repeated measures, unstructured covariance"))]
REPORT_FORMATS = {"html": "text/html; charset=utf-8",
                  "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                  "json": "application/json"}
#: the data files and what each holds
DATA_FILES = {
    "scores.csv": _l("Scores: one row per participant, timepoint and measure"),
    "participants.csv": _l("Participants: arm, status, gender, age, baseline covariates"),
    "attendance.csv": _l("Attendance: one row per participant and meeting held"),
    "practice_logs.csv": _l("Practice logs: date, practice, minutes, helpfulness (no notes)"),
    "sessions.csv": _l("Sessions: held, cancelled, truncated, postponed; adherence"),
    "engagement.csv": _l("Engagement per participant and week"),
    "csq.csv": _l("CSQ-8 satisfaction item ratings"),
    "flow.csv": _l("CONSORT flow records"),
    "data.xlsx": _l("Every table above as one workbook, a sheet each"),
    "data.sav": _l("SPSS: one row per participant, scores wide, with variable labels"),
    "data.dta": _l("Stata: the same wide file, with variable labels"),
    "codebook.csv": _l("Codebook of every file above"),
}
_TABLE_OF = {"scores.csv": "scores", "participants.csv": "participants",
             "attendance.csv": "attendance", "practice_logs.csv": "practice_logs",
             "sessions.csv": "sessions", "engagement.csv": "engagement",
             "csq.csv": "satisfaction", "flow.csv": "flow"}
_FIXED_LABELS = {
    "participant_id": "Pseudonymous participant code",
    "arm": "Arm (as configured in the study)",
    "status": "Status: completed, withdrawn, lost or active",
    "gender": "Gender",
    "age": "Age in years at allocation (from birth year)",
}


def _(text: str, **values) -> str:
    """gettext in a request; the English text on the command line (no user, no locale)."""
    if has_request_context():
        return gettext(text, **values)
    return text % values if values else text


@cache
def criteria() -> list[dict]:
    """Progression criteria the researcher can set: the analysis defaults (percentages) and
    recruitment per month."""
    from analysis.feasibility import DEFAULT_CRITERIA

    return [
        *({**crit, "unit": "%", "max": 100.0} for crit in DEFAULT_CRITERIA),
        {"metric": "recruitment_per_month", "label": "recruitment per month", "green": 4.0,
         "amber": 2.0, "unit": "per month", "max": 10_000.0},
    ]


def __getattr__(name: str):
    """``CRITERIA`` and ``FeasibilityForm`` are made on first use (they need the analysis)."""
    if name == "CRITERIA":
        return criteria()
    if name == "FeasibilityForm":
        return feasibility_form_class()
    raise AttributeError(name)


class ReportInputError(ValueError):
    """Report options that do not fit the study's data (shown to the user, one line)."""


# --------------------------------------------------------------------------- building reports


def complete_measures(tables: study_data.StudyTables, timepoints: Sequence[str]) -> list[str]:
    """Measures with at least one score at every one of the timepoints."""
    present = tables.scores.dropna(subset=["score"])
    seen = present.groupby("measure")["timepoint"].agg(set)
    return sorted(m for m, tps in seen.items() if set(timepoints) <= tps)


def covariate_choices(tables: study_data.StudyTables) -> list[str]:
    return [c for c in tables.participants.columns
            if c not in ("participant_id", "arm", "status")]


def build_efficacy(tables: study_data.StudyTables, timepoints: Sequence[str] | None = None,
                   measures: Sequence[str] | None = None, reference_arm: str | None = None,
                   covariates: Sequence[str] = (), completers_only: bool = False,
                   model: str = "lmm") -> dict:
    """The efficacy report of a study, checked as ``python -m analysis efficacy`` checks.

    Without ``measures`` every measure with scores at all the timepoints is reported.
    """
    timepoints = list(timepoints or tables.timepoints)
    unknown = [t for t in timepoints if t not in tables.timepoints]
    if unknown:
        raise ReportInputError(_("Unknown timepoint %(tp)s.", tp=unknown[0]))
    if len(timepoints) < 2:
        raise ReportInputError(_("Choose at least two timepoints."))
    timepoints = [t for t in tables.timepoints if t in timepoints]  # schedule order
    complete = complete_measures(tables, timepoints)
    if measures:
        for measure in measures:
            if measure not in complete:
                raise ReportInputError(_("%(m)s has no scores at one of the timepoints.",
                                         m=measure))
    else:
        measures = complete
    if not measures:
        raise ReportInputError(_("No measure has scores at every chosen timepoint yet."))
    for cov in covariates:
        if cov not in covariate_choices(tables):
            raise ReportInputError(_("Unknown covariate %(c)s.", c=cov))
        if tables.participants[cov].isna().all():
            raise ReportInputError(_("Covariate %(c)s has no values.", c=cov))
    arms = sorted(set(tables.scores["arm"]))
    if reference_arm and len(arms) > 1 and reference_arm not in arms:
        raise ReportInputError(_("Unknown arm %(a)s.", a=reference_arm))
    from analysis import efficacy_report

    scores = tables.scores[tables.scores["measure"].isin(measures)]
    return efficacy_report(scores, tables.participants, timepoints,
                           reference_arm=reference_arm or None, covariates=tuple(covariates),
                           completers_only=completers_only, measures=list(measures),
                           model=model)


def build_reliable_change(tables: study_data.StudyTables, measure: str,
                          timepoints: Sequence[str] | None, reliability: float,
                          norm_mean: float | None = None, norm_sd: float | None = None,
                          cutoff: str | float = "c", lower_is_better: bool = False) -> dict:
    """Jacobson–Truax reliable change of one measure between the first and last timepoint."""
    timepoints = [t for t in tables.timepoints if t in (timepoints or tables.timepoints)]
    if len(timepoints) < 2:
        raise ReportInputError(_("Choose at least two timepoints."))
    if measure not in complete_measures(tables, [timepoints[0], timepoints[-1]]):
        raise ReportInputError(_("%(m)s has no scores at one of the timepoints.", m=measure))
    if not 0 < reliability < 1:
        raise ReportInputError(_("The reliability must lie strictly between 0 and 1."))
    if (norm_mean is None) != (norm_sd is None):
        raise ReportInputError(_("Give both the normative mean and SD, or neither."))
    if norm_sd is not None and norm_sd <= 0:
        raise ReportInputError(_("The normative SD must be above 0."))
    from analysis import reliable_change

    return reliable_change(tables.scores, measure, timepoints, reliability, norm_mean=norm_mean,
                           norm_sd=norm_sd, cutoff=cutoff, lower_is_better=lower_is_better)


def build_feasibility(tables: study_data.StudyTables, timepoints: Sequence[str] | None = None,
                      min_attended: int | None = None, criteria: Sequence[dict] | None = None
                      ) -> dict:
    """The feasibility report of a study from every table that has rows.

    Without ``criteria`` the analysis defaults apply, as in ``python -m analysis feasibility``.
    """
    from analysis import feasibility_report

    timepoints = [t for t in tables.timepoints if t in (timepoints or tables.timepoints)]

    def given(frame: pd.DataFrame) -> pd.DataFrame | None:
        return frame if not frame.empty else None

    return feasibility_report(
        tables.attendance,
        extra_values={"recruitment_per_month": tables.recruitment_per_month},
        participants=tables.participants,
        flow=given(tables.flow),
        sessions=given(tables.sessions),
        satisfaction=given(tables.satisfaction),
        scores=tables.scores if timepoints else None,
        timepoints=timepoints or None,
        engagement=given(tables.engagement),
        min_attended=min_attended,
        criteria=criteria,
    )


def report_json(report: dict) -> str:
    """The report as ``python -m analysis`` prints it."""
    return json.dumps(report, indent=2, allow_nan=False) + "\n"


# --------------------------------------------------------------------------- data files


#: the variable labels above in the researcher's language (a download with ``labels=local``)
_LOCAL_FIXED_LABELS = {
    "participant_id": _l("Pseudonymous participant code"),
    "arm": _l("Arm (as configured in the study)"),
    "status": _l("Status: completed, withdrawn, lost or active"),
    "gender": _l("Gender"),
    "age": _l("Age in years at allocation (from birth year)"),
}
_LOCAL_DATA_FILES = ("data.sav", "data.dta", "codebook.csv")


def _labels(tables: study_data.StudyTables, study: Study, local: bool = False
            ) -> dict[str, str]:
    """Variable labels: English by default (the files' fixed form); with ``local`` the fixed
    labels and "measure at timepoint" in the researcher's language. Variable names never
    change: they are the data contract."""
    from analysis import data as study_data

    if local:
        labels = {key: str(label) for key, label in _LOCAL_FIXED_LABELS.items()}
    else:
        labels = dict(_FIXED_LABELS)
    names = study_data.timepoint_labels(db.session, study.id)
    for column in tables.wide().columns:
        if "@" in column:
            measure, tp = column.split("@", 1)
            if local:
                labels[column] = _("%(measure)s at %(timepoint)s (%(label)s)",
                                   measure=measure, timepoint=tp, label=names.get(tp, tp))
            else:
                labels[column] = f"{measure} at {tp} ({names.get(tp, tp)})"
    return labels


def _for_stats_package(frame: pd.DataFrame) -> pd.DataFrame:
    """Nullable integers as floats and text as text (what SPSS and Stata writers accept)."""
    import pandas as pd

    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_numeric_dtype(out[column]):
            out[column] = out[column].astype(float)
        else:
            out[column] = out[column].map(lambda v: None if v is None or v != v else str(v))
    return out


def data_file(tables: study_data.StudyTables, study: Study, name: str,
              local: bool = False) -> bytes:
    """The bytes of one export file (see ``DATA_FILES``); ``local`` writes the variable labels
    of the SPSS and Stata files and the codebook in the researcher's language."""
    import pandas as pd

    from analysis import exports as writers

    if name in _TABLE_OF:
        return writers.write_csv(getattr(tables, _TABLE_OF[name]))
    if name == "data.xlsx":
        return writers.write_xlsx({n.rsplit(".", 1)[0]: getattr(tables, attr)
                                   for n, attr in _TABLE_OF.items()})
    labels = _labels(tables, study, local)
    if name == "data.sav":
        return writers.write_sav(_for_stats_package(tables.wide()), labels)
    if name == "data.dta":
        return writers.write_dta(_for_stats_package(tables.wide()), labels)
    if name == "codebook.csv":
        books = []
        for file, attr in [*_TABLE_OF.items(), ("data.sav / data.dta", None)]:
            frame = getattr(tables, attr) if attr else tables.wide()
            book = writers.codebook(frame, labels)
            if "participant_id" in frame.columns:  # codes are identifiers, not levels
                book.loc[book["variable"] == "participant_id", "values"] = (
                    f"{frame['participant_id'].nunique()} pseudonymous codes")
            book.insert(0, "file", file)
            books.append(book)
        return writers.write_csv(pd.concat(books, ignore_index=True))
    raise KeyError(name)


# --------------------------------------------------------------------------- forms


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class EfficacyForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form: it changes nothing

    timepoints = MultiCheckboxField(_l("Timepoints (the first is the baseline)"), choices=[])
    measures = MultiCheckboxField(_l("Measures"), choices=[])
    reference_arm = SelectField(_l("Reference arm"), choices=[])
    covariates = MultiCheckboxField(_l("Covariates"), choices=[])
    completers_only = BooleanField(_l("Completers only (a score at every timepoint)"))
    model = SelectField(_l("Model"), choices=MODELS, default="lmm")
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


def _efficacy_form(study: Study, tables: study_data.StudyTables) -> EfficacyForm:
    arms = [a.key for a in study.arms]
    form = EfficacyForm(formdata=_formdata(), data={
        "timepoints": tables.timepoints,
        "measures": complete_measures(tables, tables.timepoints),
        "reference_arm": sorted(arms)[0] if arms else "",
        "model": "lmm",
    })
    form.timepoints.choices = [(t, t) for t in tables.timepoints]
    form.measures.choices = [(m, labels.measure(m)) for m in tables.measures]
    form.reference_arm.choices = [(a, a) for a in sorted(arms)]
    form.covariates.choices = [(c, labels.column(c)) for c in covariate_choices(tables)]
    form.rc_measure.choices = [("", _("(none)"))] + [(m, labels.measure(m))
                                                      for m in tables.measures]
    return form


def _rc_cutoff(text: str | None) -> str | float:
    text = (text or "c").strip()
    if text in ("a", "b", "c"):
        return text
    try:
        value = float(text)
    except ValueError:
        raise ReportInputError(_("The cutoff is a, b, c or a number.")) from None
    if not math.isfinite(value):
        raise ReportInputError(_("The cutoff is a, b, c or a number."))
    return value


def _feasibility_form(tables: study_data.StudyTables) -> FlaskForm:
    form = feasibility_form_class()(formdata=_formdata(), data={"timepoints": tables.timepoints})
    form.timepoints.choices = [(t, t) for t in tables.timepoints]
    return form


def _criteria(form: FlaskForm) -> list[dict] | None:
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


# --------------------------------------------------------------------------- presentation


def _page_tables(report: dict, kind: str, study: Study | None = None) -> list[dict]:
    """The report's tables with labels, values and numbers in the reader's language."""
    from analysis.report import tables

    reasons = {**_rule_labels(study), **(_flow_reasons(study) or {})} if study else {}
    terms = labels.terms_of(report)
    return [labels.table(name, frame, terms=terms, reasons=reasons)
            for name, frame in tables(report, kind).items()]


def _flow_reasons(study: Study) -> dict[str, str] | None:
    """The flow records' reasons in the reader's language, on a page not in English (the
    English diagram and table name them as the records do)."""
    if labels.figure_phrases() is None:
        return None
    return labels.flow_reasons(study.eligibility_rules)


def _rule_labels(study: Study) -> dict[str, str]:
    """Exclusion reasons (rule keys) of the flow table by their labels."""
    from program.trial.enrolment import rule_label

    return {rule["key"]: rule_label(rule) for rule in study.eligibility_rules or []
            if isinstance(rule, dict) and "key" in rule}


#: pyplot keeps global state: threads of one worker draw one figure at a time
_PLOT_LOCK = threading.Lock()


def _data_uri(mime: str, payload: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(payload).decode()}"


def _trajectories(report: dict) -> list[dict]:
    from analysis.plots import to_png, trajectory_plot  # matplotlib: slow to import

    phrases = labels.figure_phrases()
    figures = []
    with _PLOT_LOCK, _figure_font():
        for measure, entry in report["measures"].items():
            extra = {}
            if phrases is not None:
                extra = {"phrases": phrases, "arm_names": labels.arm_names(
                    d["arm"] for d in entry["descriptives"])}
            figures.append({"measure": measure, "src": _data_uri("image/png", to_png(
                trajectory_plot(entry["descriptives"], report["timepoints"],
                                labels.measure(measure) if phrases is not None else measure,
                                **extra)))})
    return figures


def _jacobson_truax(change: dict) -> str | None:
    from analysis.plots import jacobson_truax_plot, to_png

    if not change["participants"]:
        return None
    phrases = labels.figure_phrases()
    extra = {}
    if phrases is not None:
        extra = {"phrases": phrases, "measure": labels.measure(change["measure"]),
                 "arm_names": labels.arm_names(r["arm"] for r in change["participants"])}
    with _PLOT_LOCK, _figure_font():
        return _data_uri("image/png", to_png(jacobson_truax_plot(change, **extra)))


#: fonts with Japanese and Chinese glyphs, by preference (matplotlib family names)
_CJK_FAMILIES = {"ja": ("Noto Sans CJK JP", "Noto Serif CJK JP"),
                 "zh": ("Noto Sans CJK SC", "Noto Serif CJK SC", "Noto Sans CJK JP",
                        "Noto Serif CJK JP")}


def _figure_font():
    """Draw PNG text in a CJK font on a Japanese or Chinese page (glyphs, not boxes), DejaVu
    Sans where none is installed; matplotlib's own defaults otherwise. Use under
    ``_PLOT_LOCK``: rc parameters are global."""
    language = str(get_locale() or "en").split("_")[0]
    if language not in _CJK_FAMILIES:
        return nullcontext()
    import matplotlib

    installed = _installed_families()
    families = [f for f in _CJK_FAMILIES[language] if f in installed]
    return matplotlib.rc_context({"font.family": [*families, "DejaVu Sans"]})


@cache
def _installed_families() -> frozenset[str]:
    """Font families matplotlib can use, with the system's CJK fonts added when its font
    cache predates them (the cache is built once and not refreshed on new fonts)."""
    from matplotlib import font_manager

    wanted = {f for families in _CJK_FAMILIES.values() for f in families}
    names = {f.name for f in font_manager.fontManager.ttflist}
    if not wanted & names:
        for path in font_manager.findSystemFonts():
            if "CJK" in path:
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):
                    continue
        names = {f.name for f in font_manager.fontManager.ttflist}
    return frozenset(names)


# --------------------------------------------------------------------------- scoping and audit


def _study(study_id: int) -> Study:
    """The study if the signed-in researcher is on its staff; 404 otherwise (no IDOR)."""
    study = db.session.get(Study, study_id)
    if study is None or db.session.scalar(select(StudyStaff.id).where(
            StudyStaff.study_id == study_id, StudyStaff.user_id == current_user.id)) is None:
        abort(404)
    return study


def _download(study: Study, filename: str, payload: bytes, mime: str, **details) -> Response:
    """Audit the download in its own transaction, then send it as an attachment."""
    with write_transaction():
        audit.record("report.downloaded", study, file=filename, **details)
    response = Response(payload, mimetype=mime.split(";")[0])
    if "charset" in mime:
        response.charset = "utf-8"
    slug = re.sub(r"[^A-Za-z0-9_.-]", "_", study.key)
    response.headers["Content-Disposition"] = f'attachment; filename="{slug}-{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


# --------------------------------------------------------------------------- views


@bp.get("/")
@role_required("researcher")
def index():
    """The studies this researcher works on, with their reports and data."""
    studies = db.session.scalars(
        select(Study).join(StudyStaff, StudyStaff.study_id == Study.id)
        .where(StudyStaff.user_id == current_user.id).order_by(Study.id)).all()
    return render_template("reports/index.html", studies=studies)


def _efficacy(study_id: int):
    from analysis import data as study_data

    study = _study(study_id)
    tables = study_data.load(db.session, study.id)
    form = _efficacy_form(study, tables)
    report, change, error = None, None, None
    if form.validate():
        try:
            report = build_efficacy(
                tables, form.timepoints.data, form.measures.data or None,
                form.reference_arm.data or None, form.covariates.data or (),
                form.completers_only.data, form.model.data)
            if form.rc_measure.data:
                if form.rc_reliability.data is None:
                    raise ReportInputError(_("Give the reliability of %(m)s.",
                                             m=form.rc_measure.data))
                change = build_reliable_change(
                    tables, form.rc_measure.data, form.timepoints.data,
                    form.rc_reliability.data, form.rc_norm_mean.data, form.rc_norm_sd.data,
                    _rc_cutoff(form.rc_cutoff.data), form.rc_lower_is_better.data)
        except ReportInputError as exc:
            report, change, error = None, None, str(exc)
    return study, tables, form, report, change, error


@bp.get("/<int:study_id>/efficacy")
@role_required("researcher")
def efficacy(study_id: int):
    """Choose options and see the efficacy tables and trajectories."""
    study, _tables, form, report, change, error = _efficacy(study_id)
    query = request.query_string.decode()
    return render_template(
        "reports/efficacy.html", study=study, form=form, report=report, error=error,
        tables=_page_tables(report, "efficacy", study) if report else [],
        words=_words(report, change), local_labels=_offer_local_labels(),
        figures=_trajectories(report) if report else [], query=query,
        change=change, change_tables=_page_tables(change, "reliable-change") if change else [],
        change_figure=_jacobson_truax(change) if change else None,
    ), (200 if report or not request.args else 400)


@bp.get("/<int:study_id>/efficacy.<fmt>")
@role_required("researcher")
def efficacy_download(study_id: int, fmt: str):
    """Download the efficacy report as HTML, XLSX or JSON (audited)."""
    if fmt not in REPORT_FORMATS:
        abort(404)
    study, _tables, form, report, _change, error = _efficacy(study_id)
    if report is None:
        return _refused(study, form, error)
    return _send_report(study, report, "efficacy", fmt)


def _refused(study: Study, form: EfficacyForm, error: str | None):
    return render_template("reports/efficacy.html", study=study, form=form, report=None,
                           error=error, tables=[], figures=[], query="", change=None,
                           words={}, local_labels=False), 400


@bp.get("/<int:study_id>/reliable-change.<fmt>")
@role_required("researcher")
def reliable_change_download(study_id: int, fmt: str):
    """Download the reliable-change table as HTML, XLSX or JSON (audited)."""
    if fmt not in REPORT_FORMATS:
        abort(404)
    study, _tables, form, report, change, error = _efficacy(study_id)
    if change is None:
        return _refused(study, form, error or _("Choose a measure for reliable change."))
    return _send_report(study, change, "reliable-change", fmt)


def _offer_local_labels() -> bool:
    """Downloads can carry the researcher's language when it is not English."""
    return str(get_locale() or "en").split("_")[0] != "en"


def _words(report: dict | None, change: dict | None = None) -> dict[str, str]:
    """The report's sentences in the reader's language: sign convention and warnings."""
    words: dict[str, str] = {}
    for item in (report, change):
        if not item:
            continue
        if item.get("warning"):
            words[item["warning"]] = labels.warning(item["warning"])
        if item.get("sign_convention"):
            arms = list(dict.fromkeys(
                d["arm"] for entry in item["measures"].values() for d in entry["descriptives"]))
            words[item["sign_convention"]] = labels.sign_convention(
                item["timepoints"], arms, item["reference_arm"])
    return words


def _local_frames(report: dict, kind: str, study: Study, as_text: bool) -> dict:
    """The report's tables with translated names, headers and words; numbers stay numbers
    in a workbook (``as_text`` False) and are written the locale's way on a page."""
    import pandas as pd

    from analysis.report import tables

    reasons = {**_rule_labels(study), **(_flow_reasons(study) or {})}
    terms = labels.terms_of(report)
    out = {}
    for name, frame in tables(report, kind).items():
        shown = labels.table(name, frame, terms=terms, reasons=reasons)
        if not as_text:
            numbers = [i for i, c in enumerate(shown["ids"])
                       if pd.api.types.is_numeric_dtype(frame[c])]
            for row, original in zip(shown["rows"], frame[shown["ids"]].itertuples(
                    index=False, name=None), strict=True):
                for i in numbers:
                    row[i] = original[i]
        out[shown["title"][:31]] = pd.DataFrame(shown["rows"], columns=shown["columns"])
    return out


_PAGE_WORDS = ("Design", "randomised, ", "single arm, ", "timepoints", "Warning",
               "Participant flow", "No data.", "Trajectories", "Jacobson–Truax plot",
               "mean and 95% CI per arm", "pre vs post scores")


def _send_report(study: Study, report: dict, kind: str, fmt: str) -> Response:
    from analysis.report import render_html, render_xlsx

    local = request.args.get("labels") == "local" and _offer_local_labels()
    if fmt == "html":
        title = {"efficacy": _("Efficacy report: %(title)s", title=study.title),
                 "reliable-change": _("Reliable change report: %(title)s", title=study.title),
                 "feasibility": _("Feasibility report: %(title)s", title=study.title)}[kind]
        if not local:
            title = f"{kind.capitalize().replace('-', ' ')} report: {study.title}"
        extra = {}
        if local:
            phrases = [_("Design"), _("randomised, "), _("single arm, "), _("timepoints"),
                       _("Warning"), _("Participant flow"), _("No data."), _("Trajectories"),
                       _("Jacobson–Truax plot"), _("mean and 95% CI per arm"),
                       _("pre vs post scores")]
            say = dict(zip(_PAGE_WORDS, phrases, strict=True))
            say.update(_words(report) if kind == "efficacy" else {})
            if report.get("warning"):
                say[report["warning"]] = labels.warning(report["warning"])
            extra = {"frames": _local_frames(report, kind, study, as_text=True), "say": say,
                     "lang": str(get_locale()), "figure_phrases": labels.figure_phrases(),
                     "flow_reasons": _flow_reasons(study)}
        with _PLOT_LOCK, (_figure_font() if local else nullcontext()):
            payload = render_html(report, kind=kind, title=title, **extra).encode()
    elif fmt == "xlsx":
        payload = (render_xlsx(report, kind=kind, frames=_local_frames(report, kind, study,
                                                                       as_text=False))
                   if local else render_xlsx(report, kind=kind))
    else:
        payload = report_json(report).encode()
    details = {"labels": str(get_locale())} if local and fmt != "json" else {}
    return _download(study, f"{kind}.{fmt}", payload, REPORT_FORMATS[fmt], report=kind,
                     **details)


def _progression(report: dict) -> list[dict]:
    """The progression criteria as the page lists them: label, value, unit and band."""
    units = {c["metric"]: c["unit"] for c in criteria()}
    rows = []
    for row in report.get("progression") or []:
        unit = units.get(row["metric"], "")
        rows.append({**row, "label": str(labels.CRITERIA.get(row["metric"], row["label"])),
                     "shown": (f"{labels.number(round(row['value'], 1))} "
                               f"{labels.UNITS.get(unit, unit)}")
                     if row["value"] is not None else None,
                     "green_shown": labels.number(row["green"]),
                     "amber_shown": labels.number(row["amber"])})
    return rows


def _feasibility(study_id: int):
    from analysis import data as study_data

    study = _study(study_id)
    tables = study_data.load(db.session, study.id)
    form = _feasibility_form(tables)
    report = None
    if form.validate():
        criteria = _criteria(form)
        if criteria is not None:
            report = build_feasibility(tables, form.timepoints.data, form.min_attended.data,
                                       criteria)
    return study, tables, form, report


@bp.get("/<int:study_id>/feasibility")
@role_required("researcher")
def feasibility(study_id: int):
    """Choose k and the progression thresholds; see the flow diagram and feasibility tables."""
    study, _tables, form, report = _feasibility(study_id)
    flow_src = None
    if report is not None and "flow" in report:
        from analysis import flow_svg

        flow_src = _data_uri("image/svg+xml", flow_svg(
            report["flow"], labels.figure_phrases(), _flow_reasons(study)).encode())
    return render_template(
        "reports/feasibility.html", study=study, form=form, report=report, flow_src=flow_src,
        progression=_progression(report) if report else [],
        tables=_page_tables(report, "feasibility", study) if report else [],
        local_labels=_offer_local_labels(),
        query=request.query_string.decode(),
    ), (200 if report else 400)


@bp.get("/<int:study_id>/feasibility.<fmt>")
@role_required("researcher")
def feasibility_download(study_id: int, fmt: str):
    """Download the feasibility report as HTML, XLSX or JSON (audited)."""
    if fmt not in REPORT_FORMATS:
        abort(404)
    study, _tables, form, report = _feasibility(study_id)
    if report is None:
        return render_template("reports/feasibility.html", study=study, form=form,
                               report=None, flow_src=None, tables=[], query="",
                               progression=[], local_labels=False), 400
    return _send_report(study, report, "feasibility", fmt)


@bp.get("/<int:study_id>/flow.png")
@role_required("researcher")
def flow_png(study_id: int):
    """The CONSORT flow diagram as a PNG for papers (audited)."""
    from analysis import data as study_data
    from analysis import flow_counts
    from analysis import flow_png as draw

    study = _study(study_id)
    counts = flow_counts(study_data.flow(db.session, study.id))
    with _PLOT_LOCK, _figure_font():
        png = draw(counts, phrases=labels.figure_phrases(), reasons=_flow_reasons(study))
    return _download(study, "flow.png", png, "image/png")


@bp.get("/<int:study_id>/data")
@role_required("researcher")
def data(study_id: int):
    """The pseudonymised data files of a study."""
    study = _study(study_id)
    local = _offer_local_labels()
    files = [(name, label, url_for("reports.data_download", study_id=study.id, name=name),
              url_for("reports.data_download", study_id=study.id, name=name, labels="local")
              if local and name in _LOCAL_DATA_FILES else None)
             for name, label in DATA_FILES.items()]
    return render_template("reports/data.html", study=study, files=files)


@bp.get("/<int:study_id>/data/<name>")
@role_required("researcher")
def data_download(study_id: int, name: str):
    """Download one data file (audited)."""
    study = _study(study_id)
    if name not in DATA_FILES:
        abort(404)
    from analysis import data as study_data

    tables = study_data.load(db.session, study.id)
    mime = {"csv": "text/csv; charset=utf-8", "xlsx": REPORT_FORMATS["xlsx"],
            "sav": "application/x-spss-sav",
            "dta": "application/x-stata-dta"}[name.rsplit(".", 1)[1]]
    local = (request.args.get("labels") == "local" and _offer_local_labels()
             and name in _LOCAL_DATA_FILES)
    details = {"labels": str(get_locale())} if local else {}
    return _download(study, name, data_file(tables, study, name, local), mime, **details)
