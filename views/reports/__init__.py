"""Researcher reports and data exports: efficacy and feasibility pages, report downloads
(self-contained HTML, XLSX, JSON) and the pseudonymised data files; every download audited.

The reports and data files are built by :mod:`program.reports` (shared with ``flask report``);
this package holds the routes, the option forms (:mod:`.forms`), the presentation in the
reader's language (:mod:`.presenters`, :mod:`.labels`), the figures (:mod:`.figures`) and the
downloads (:mod:`.downloads`).
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from models import Study
from program import reports
from program.reports import ReportInputError
from views import navigation
from views.access import researcher_study, role_required, staff_studies
from views.reports import figures, forms
from views.reports.baseline import characteristic_words
from views.reports.downloads import DATA_TYPES, REPORT_FORMATS, download, send_report
from views.reports.model_words import model_described
from views.reports.presenters import (
    flow_reasons,
    offer_local_labels,
    page_tables,
    progression,
    words,
)

bp = Blueprint("reports", __name__, url_prefix="/research/reports")
navigation.add("researcher", "reports.index", "Reports", order=40)


@bp.get("/")
@role_required("researcher")
def index():
    """The studies this researcher works on, with their reports and data."""
    return render_template("reports/index.html", studies=staff_studies())


# --------------------------------------------------------------------------- efficacy


def _efficacy(study_id: int):
    """The study, its efficacy form and, when the options fit, the report and the reliable
    change asked for; otherwise the error to show."""
    study = researcher_study(study_id)
    tables = reports.load_tables(study.id)
    form = forms.efficacy_form(study, tables)
    report, change, error = None, None, None
    if form.validate():
        try:
            report = reports.build_efficacy(
                tables, form.timepoints.data, form.measures.data or None,
                form.reference_arm.data or None, form.covariates.data or (),
                form.completers_only.data, form.model.data, **forms.clustering(form))
            change = _reliable_change(tables, form)
        except ReportInputError as exc:
            report, change, error = None, None, str(exc)
            forms.mark_refused(form, exc)
    return study, form, report, change, error


def _reliable_change(tables, form: forms.EfficacyForm) -> dict | None:
    if not form.rc_measure.data:
        return None
    if form.rc_reliability.data is None:
        raise ReportInputError(_("Give the reliability of %(m)s.", m=form.rc_measure.data))
    return reports.build_reliable_change(
        tables, form.rc_measure.data, form.timepoints.data, form.rc_reliability.data,
        form.rc_norm_mean.data, form.rc_norm_sd.data, reports.cutoff(form.rc_cutoff.data),
        form.rc_lower_is_better.data)


@bp.get("/<int:study_id>/efficacy")
@role_required("researcher")
def efficacy(study_id: int):
    """Choose options and see the efficacy tables and trajectories."""
    study, form, report, change, error = _efficacy(study_id)
    return render_template(
        "reports/efficacy.html", study=study, form=form, report=report, error=error,
        tables=page_tables(report, "efficacy", study) if report else [],
        words=words(report, change), local_labels=offer_local_labels(),
        model=model_described(report, study) if report else None,
        figures=figures.trajectories(report) if report else [],
        query=request.query_string.decode(), change=change,
        change_tables=page_tables(change, "reliable-change") if change else [],
        change_figure=figures.jacobson_truax(change) if change else None,
    ), (200 if report or not request.args else 400)


def _refused(study: Study, form: forms.EfficacyForm, error: str | None):
    return render_template("reports/efficacy.html", study=study, form=form, report=None,
                           error=error, tables=[], figures=[], query="", change=None,
                           words={}, local_labels=False), 400


@bp.get("/<int:study_id>/efficacy.<fmt>")
@role_required("researcher")
def efficacy_download(study_id: int, fmt: str):
    """Download the efficacy report as HTML, XLSX or JSON (audited)."""
    if fmt not in REPORT_FORMATS:
        abort(404)
    study, form, report, _change, error = _efficacy(study_id)
    if report is None:
        return _refused(study, form, error)
    return send_report(study, report, "efficacy", fmt)


@bp.get("/<int:study_id>/reliable-change.<fmt>")
@role_required("researcher")
def reliable_change_download(study_id: int, fmt: str):
    """Download the reliable-change table as HTML, XLSX or JSON (audited)."""
    if fmt not in REPORT_FORMATS:
        abort(404)
    study, form, _report, change, error = _efficacy(study_id)
    if change is None:
        return _refused(study, form, error or _("Choose a measure for reliable change."))
    return send_report(study, change, "reliable-change", fmt)


# --------------------------------------------------------------------------- feasibility


def _feasibility(study_id: int):
    """The study, its feasibility form and, when the options fit, the report."""
    study = researcher_study(study_id)
    tables = reports.load_tables(study.id)
    form = forms.feasibility_form(tables)
    report = None
    if form.validate():
        criteria = forms.chosen_criteria(form)
        if criteria is not None:
            report = reports.build_feasibility(tables, form.timepoints.data,
                                               form.min_attended.data, criteria)
    return study, form, report


@bp.get("/<int:study_id>/feasibility")
@role_required("researcher")
def feasibility(study_id: int):
    """Choose k and the progression thresholds; see the flow diagram and feasibility tables."""
    study, form, report = _feasibility(study_id)
    flow_src = None
    if report is not None and "flow" in report:
        flow_src = figures.flow_diagram(report["flow"], flow_reasons(study))
    return render_template(
        "reports/feasibility.html", study=study, form=form, report=report, flow_src=flow_src,
        progression=progression(report) if report else [],
        course_figures=figures.course(report) if report else [],
        tables=page_tables(report, "feasibility", study) if report else [],
        local_labels=offer_local_labels(),
        query=request.query_string.decode(),
    ), (200 if report else 400)


@bp.get("/<int:study_id>/feasibility.<fmt>")
@role_required("researcher")
def feasibility_download(study_id: int, fmt: str):
    """Download the feasibility report as HTML, XLSX or JSON (audited)."""
    if fmt not in REPORT_FORMATS:
        abort(404)
    study, form, report = _feasibility(study_id)
    if report is None:
        return render_template("reports/feasibility.html", study=study, form=form,
                               report=None, flow_src=None, tables=[], query="",
                               progression=[], local_labels=False), 400
    return send_report(study, report, "feasibility", fmt)


@bp.get("/<int:study_id>/baseline")
@role_required("researcher")
def baseline(study_id: int):
    """The baseline characteristics by arm and of completers vs non-completers, with tests."""
    study = researcher_study(study_id)
    tables = reports.build_baseline(reports.load_tables(study.id),
                                    [arm.key for arm in study.arms])
    names, levels = characteristic_words(study)
    return render_template("reports/baseline.html", study=study, tables=tables, names=names,
                           levels=levels)


@bp.get("/<int:study_id>/flow.png")
@role_required("researcher")
def flow_png(study_id: int):
    """The CONSORT flow diagram as a PNG for papers (audited)."""
    from analysis import flow_counts

    study = researcher_study(study_id)
    counts = flow_counts(reports.load_tables(study.id).flow)
    png = figures.flow_png(counts, flow_reasons(study))
    return download(study, "flow.png", png, "image/png")


# --------------------------------------------------------------------------- data files


@bp.get("/<int:study_id>/data")
@role_required("researcher")
def data(study_id: int):
    """The pseudonymised data files of a study."""
    study = researcher_study(study_id)
    local = offer_local_labels()
    files = [(name, label, url_for("reports.data_download", study_id=study.id, name=name),
              url_for("reports.data_download", study_id=study.id, name=name, labels="local")
              if local and name in reports.LOCAL_DATA_FILES else None)
             for name, label in reports.DATA_FILES.items()]
    return render_template("reports/data.html", study=study, files=files)


@bp.get("/<int:study_id>/data/<name>")
@role_required("researcher")
def data_download(study_id: int, name: str):
    """Download one data file (audited)."""
    study = researcher_study(study_id)
    if name not in reports.DATA_FILES:
        abort(404)
    tables = reports.load_tables(study.id)
    local = (request.args.get("labels") == "local" and offer_local_labels()
             and name in reports.LOCAL_DATA_FILES)
    details = {"labels": str(get_locale())} if local else {}
    return download(study, name, reports.data_file(tables, study, name, local),
                    DATA_TYPES[name.rsplit(".", 1)[1]], **details)
