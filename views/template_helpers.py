"""Every template filter and context processor, registered in one place."""

from __future__ import annotations

from flask import Flask
from flask_babel import get_locale
from flask_login import current_user
from markupsafe import Markup

from models.vocabularies import label
from program.core import dates
from program.core.audit import AuditAction
from program.core.zones import zonename
from program.courses import markdown
from program.safety import alerts
from program.trial import characteristics, eligibility
from views import navigation, pwa
from views.crisis_contacts import course_html, crisis_contacts
from views.questionnaires import questionnaire_helpers
from views.reports import labels as report_labels


def measure_label(key: str) -> str:
    """A measure key (``SCS.self_kindness``) with its subscale named in the reader's language."""
    return report_labels.measure(key)


def post_html(html: str | None) -> Markup:
    """A post's stored HTML, sanitised once more on the way out."""
    return Markup(markdown.sanitise_stored(html or ""))


FILTERS = {
    "longdatetime": dates.longdatetime,
    "shortdatetime": dates.shortdatetime,
    "longdate": dates.longdate,
    "shortdate": dates.shortdate,
    "daymonth": dates.daymonth,
    "cohort_time": dates.cohort_time,
    "localtime": dates.localtime,
    "zonename": zonename,
    "baseline_definitions": characteristics.definitions,
    "rule_labels": eligibility.labels_of,
    "label": label,
    "audit_action": AuditAction.label_of,
    "measure_label": measure_label,
    "post_html": post_html,
    "course_html": course_html,
}


def _navigation():
    def nav_links():
        return navigation.links(current_user.role) if current_user.is_authenticated else []

    def offline_key():
        return pwa.offline_key(current_user.id) if current_user.is_authenticated else ""

    return {"nav_links": nav_links, "current_locale": lambda: str(get_locale() or "en"),
            "open_alert_count": _open_alert_count, "crisis_contacts": crisis_contacts,
            "offline_key": offline_key}


def _open_alert_count() -> int:
    """Open safety alerts the signed-in staff member receives (the menu's badge)."""
    if not current_user.is_authenticated or current_user.role == "participant":
        return 0
    return alerts.open_count(current_user)


def init_template_helpers(app: Flask) -> None:
    app.jinja_env.filters.update(FILTERS)
    app.context_processor(_navigation)
    app.context_processor(questionnaire_helpers)
