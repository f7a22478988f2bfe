"""The crisis contacts a page shows, for the person reading it (a template helper).

``crisis_contacts()`` in any template gives the contacts of the signed-in participant's cohort
country in the page's language (another cohort's when one is passed, as on facilitator pages);
``templates/participant/_crisis_contacts.html`` shows them, so any page can simply include it.
``course_html`` fills the course text's ``[[crisis-contacts]]`` paragraphs with that partial.
"""

from __future__ import annotations

from flask import g, render_template
from flask_babel import get_locale
from flask_login import current_user
from jinja2 import pass_context
from markupsafe import Markup
from sqlalchemy.exc import SQLAlchemyError

from models import Cohort
from program.courses import delivery
from program.courses.event_pages import fill_placeholders
from program.safety import crisis_contacts as contacts


def _own_cohort() -> tuple[Cohort | None, str | None]:
    if not current_user.is_authenticated:
        return None, None
    participant = (delivery.participant_of(current_user.id)
                   if current_user.role == "participant" else None)
    return (participant.cohort if participant is not None else None), current_user.timezone


def crisis_contacts(cohort: Cohort | None = None) -> contacts.ShownContacts:
    """The contacts for ``cohort``, or for the signed-in person (their cohort, else the country
    of their time zone); computed once per request and cohort."""
    cache = g.setdefault("crisis_contacts", {})
    key = cohort.id if cohort is not None else None
    if key not in cache:
        locale = str(get_locale() or "en")
        try:
            zone = None
            if cohort is None:
                cohort, zone = _own_cohort()
            cache[key] = contacts.for_cohort(cohort, locale, zone=zone)
        except SQLAlchemyError:  # an error page must still show where to get help
            cache[key] = contacts.for_cohort(None, locale)
    return cache[key]


def contacts_html(cohort: Cohort | None = None) -> str:
    return render_template("participant/_crisis_contacts.html", crisis=crisis_contacts(cohort))


@pass_context
def course_html(context, html: str) -> Markup:
    """A course section's HTML with its placeholders filled for this reader (the cohort of the
    page, when it shows one, else the reader's own)."""
    if "[[crisis-contacts]]" not in html:
        return Markup(fill_placeholders(html, {}))
    cohort = context.get("cohort")
    values = {"crisis-contacts": contacts_html(cohort if isinstance(cohort, Cohort) else None)}
    return Markup(fill_placeholders(html, values))
