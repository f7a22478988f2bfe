"""Report and data downloads: the file in the format asked for, in the researcher's language
when asked, audited and sent as an attachment."""

from __future__ import annotations

import re
from contextlib import nullcontext

from flask import Response, request
from flask_babel import get_locale
from flask_babel import gettext as _

from models import Study, write_transaction
from program.core import audit
from program.reports import report_json
from views.reports import labels, model_words
from views.reports.figures import PLOT_LOCK, figure_font
from views.reports.presenters import flow_reasons, local_frames, offer_local_labels, words

REPORT_FORMATS = {"html": "text/html; charset=utf-8",
                  "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                  "json": "application/json"}
#: the data files' types by extension
DATA_TYPES = {"csv": "text/csv; charset=utf-8", "xlsx": REPORT_FORMATS["xlsx"],
              "sav": "application/x-spss-sav", "dta": "application/x-stata-dta"}
#: the English words of a report page, translated in a download with ``labels=local``
_PAGE_WORDS = ("Design", "randomised, ", "single arm, ", "timepoints", "Warning",
               "Participant flow", "No data.", "Trajectories", "Jacobson–Truax plot",
               "mean and 95% CI per arm", "pre vs post scores", "Attendance per meeting",
               "share present at each meeting", "Recruitment over time",
               "participants allocated per month", "CONSORT flow diagram")


def download(study: Study, filename: str, payload: bytes, mime: str, **details) -> Response:
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


def send_report(study: Study, report: dict, kind: str, fmt: str) -> Response:
    """The report as an HTML page, a workbook or JSON (audited)."""
    local = request.args.get("labels") == "local" and offer_local_labels()
    if fmt == "html":
        payload = _html(study, report, kind, local)
    elif fmt == "xlsx":
        payload = _xlsx(study, report, kind, local)
    else:
        payload = report_json(report).encode()
    details = {"labels": str(get_locale())} if local and fmt != "json" else {}
    return download(study, f"{kind}.{fmt}", payload, REPORT_FORMATS[fmt], report=kind,
                    **details)


def _xlsx(study: Study, report: dict, kind: str, local: bool) -> bytes:
    """The workbook with its figures, in English or (``local``) the researcher's language."""
    from analysis.report import render_xlsx

    extra = {}
    if local:
        extra = {"frames": local_frames(report, kind, study, as_text=False),
                 "say": _say(report, kind), "figure_phrases": labels.figure_phrases(),
                 "flow_reasons": flow_reasons(study)}
    with PLOT_LOCK, (figure_font() if local else nullcontext()):
        return render_xlsx(report, kind=kind, **extra)


def _say(report: dict, kind: str) -> dict[str, str]:
    """This page's English phrases and the report's sentences in the reader's language."""
    phrases = [_("Design"), _("randomised, "), _("single arm, "), _("timepoints"),
               _("Warning"), _("Participant flow"), _("No data."), _("Trajectories"),
               _("Jacobson–Truax plot"), _("mean and 95% CI per arm"),
               _("pre vs post scores"), _("Attendance per meeting"),
               _("share present at each meeting"), _("Recruitment over time"),
               _("participants allocated per month"), _("CONSORT flow diagram")]
    say = dict(zip(_PAGE_WORDS, phrases, strict=True))
    say.update(words(report) if kind == "efficacy" else {})
    if report.get("warning"):
        say[report["warning"]] = labels.warning(report["warning"])
    return say


def _html(study: Study, report: dict, kind: str, local: bool) -> bytes:
    """The self-contained HTML report, in English or (``local``) the researcher's language."""
    from analysis.report import render_html

    title = f"{kind.capitalize().replace('-', ' ')} report: {study.title}"
    extra = {}
    if local:
        title = {"efficacy": _("Efficacy report: %(title)s", title=study.title),
                 "reliable-change": _("Reliable change report: %(title)s", title=study.title),
                 "feasibility": _("Feasibility report: %(title)s", title=study.title)}[kind]
        extra = {"frames": local_frames(report, kind, study, as_text=True),
                 "say": _say(report, kind),
                 "lang": str(get_locale()), "figure_phrases": labels.figure_phrases(),
                 "flow_reasons": flow_reasons(study), "term_phrases": model_words.term_phrases()}
    with PLOT_LOCK, (figure_font() if local else nullcontext()):
        return render_html(report, kind=kind, title=title, **extra).encode()
