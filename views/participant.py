"""The participant area: this week, session material, and the practice log."""

from __future__ import annotations

import io
import secrets
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import format_date, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy import func, select
from wtforms import DateField, HiddenField, IntegerField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from models import Participant, PracticeLog, SessionProgress, db, utcnow
from program.core.dates import pattern
from program.courses import delivery as operations
from program.courses import recordings
from program.courses.catalogue import get_catalogue
from program.courses.event_pages import fill_placeholders
from program.courses.week import day_contacts, event_page, participant_week
from program.safety import alerts as safety
from views import navigation, pwa
from views.access import role_required
from views.crisis_contacts import contacts_html
from views.forms import options, plausible_date, values

bp = Blueprint("participant", __name__, url_prefix="/me")
bp.after_request(pwa.mark_offline)
navigation.add("participant", "participant.dashboard", "This week", order=10)
# Sessions and practice are reached from the dashboard, not the menu: the menu is the same
# for every participant, and usual-care participants have no sessions to open.

#: the join link appears this long before a live meeting starts (and until it ends)
CHART_WEEKS = 8


class PracticeLogForm(FlaskForm):
    practice_key = SelectField(_l("Practice"), validators=[DataRequired()])
    practised_on = DateField(_l("Date"), validators=[DataRequired(), plausible_date])
    minutes = IntegerField(
        _l("Minutes"),
        validators=[DataRequired(), NumberRange(min=1, max=600,
                                                message=_l("Enter 1 to 600 minutes."))],
    )
    helpfulness = IntegerField(
        _l("How helpful was it? (0 = not at all, 10 = very)"),
        validators=[Optional(), NumberRange(min=0, max=10, message=_l("Choose 0 to 10."))],
    )
    note = TextAreaField(_l("Note (optional)"), validators=[Optional(), Length(max=2000)])
    #: one-time token: submitting the same form twice creates one entry
    token = HiddenField(validators=[DataRequired(), Regexp(r"^[A-Za-z0-9_-]{16,64}$")])


def current_participant() -> Participant | None:
    """The signed-in participant's study record (one per account)."""
    return operations.participant_of(current_user.id)


def _participant_with_material() -> Participant:
    """The participant, or 404 for usual care, stopped sessions and unlinked accounts."""
    participant = current_participant()
    if not operations.sees_material(participant):
        abort(404)
    return participant


def _today() -> date:
    return utcnow().astimezone(_user_zone()).date()


def _user_zone() -> ZoneInfo:
    try:
        return ZoneInfo(current_user.timezone or "UTC")
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def _released_practices(participant: Participant, now: datetime) -> list:
    """Practices of the released sessions, newest session first, each once."""
    program = get_catalogue(get_locale()).program(participant.cohort.program)
    seen, practices = set(), []
    for session in reversed(program.sessions[: participant.cohort.session_count]):
        if operations.session_visible(participant, session.number, now):
            for practice in session.practices:
                if practice.key not in seen:
                    seen.add(practice.key)
                    practices.append(practice)
    return practices


@bp.get("/")
@role_required("participant")
def dashboard():
    """This week at a glance."""
    participant = current_participant()
    context = {"participant": participant, "material": operations.sees_material(participant)}
    if context["material"]:
        week = participant_week(participant, utcnow(), _today(), get_locale())
        context.update(vars(week))
    return render_template("participant/dashboard.html", **context)


@bp.get("/retreat")
@role_required("participant")
def retreat():
    """The retreat's page: schedule, practices, silence and contacts (not the facilitator guide)."""
    participant = _participant_with_material()
    event = event_page(participant, "retreat", get_locale())
    if event is None:
        abort(404)
    guide = event.section("Facilitator guide")
    values = {
        "crisis-contacts": contacts_html(participant.cohort),
        "on-the-day-contact": render_template("participant/_day_contact.html",
                                              people=day_contacts(participant.cohort)),
    }
    sections = [(section.heading, Markup(fill_placeholders(section.html, values)))
                for section in event.sections if section is not guide]
    dates = [e.date for e in operations.cohort_calendar(participant.cohort).events
             if e.key == event.key]
    return render_template("participant/event.html", event=event, sections=sections,
                           dates=dates)


@bp.get("/sessions")
@role_required("participant")
def sessions():
    """Released sessions to read and locked ones with their release date."""
    participant = _participant_with_material()
    now = utcnow()
    calendar = operations.cohort_calendar(participant.cohort)
    program = get_catalogue(get_locale()).program(participant.cohort.program)
    progress = {row.session_number: row for row in db.session.scalars(
        select(SessionProgress).where(SessionProgress.participant_id == participant.id))}
    rows = [(program.session(m.session_number), m, now >= m.release_at,
             progress.get(m.session_number)) for m in calendar.meetings]
    return render_template("participant/sessions.html", rows=rows, program=program)


@bp.get("/sessions/<int:number>")
@role_required("participant")
def session(number: int):
    """A released session's material. Reading it writes nothing: the page's script posts
    ``session_opened`` once it was shown (a link preview or prefetch must not count)."""
    participant = _participant_with_material()
    now = utcnow()
    if not operations.session_visible(participant, number, now):
        abort(404)
    progress = db.session.scalar(select(SessionProgress).where(
        SessionProgress.participant_id == participant.id,
        SessionProgress.session_number == number))
    content = get_catalogue(get_locale()).session(participant.cohort.program, number)
    guide = content.facilitator_guide
    sections = [section for section in content.sections if section is not guide]
    return render_template("participant/session.html", session=content, sections=sections,
                           progress=progress, recorded=recordings.available(participant.study_id))


@bp.post("/sessions/<int:number>/opened")
@role_required("participant")
def session_opened(number: int):
    """The session page's beacon: the participant has the material in front of them."""
    participant = _participant_with_material()
    now = utcnow()
    if not operations.session_visible(participant, number, now):
        abort(404)
    operations.record_opened(participant, number, now)
    return "", 204


@bp.post("/sessions/<int:number>/done")
@role_required("participant")
def session_done(number: int):
    """Mark a released session as done."""
    participant = _participant_with_material()
    if not operations.session_visible(participant, number, utcnow()):
        abort(404)
    operations.mark_session_done(participant, number, utcnow())
    flash(_("Marked as done."), "success")
    return redirect(url_for("participant.session", number=number))


def _practice_form(participant: Participant, obj=None) -> PracticeLogForm:
    form = PracticeLogForm(obj=obj)
    practices = _released_practices(participant, utcnow())
    form.practice_key.choices = options((p.key, p.title) for p in practices)
    if obj is not None and obj.practice_key not in {p.key for p in practices}:
        form.practice_key.choices += options([(obj.practice_key, obj.practice_key)])
    return form


def _entry(form: PracticeLogForm) -> operations.PracticeEntry:
    return operations.PracticeEntry(
        practice_key=form.practice_key.data, practised_on=form.practised_on.data,
        minutes=form.minutes.data, helpfulness=form.helpfulness.data,
        note=(form.note.data or "").strip() or None)


def _date_ok(form: PracticeLogForm) -> bool:
    if form.practised_on.data > _today():
        form.practised_on.errors.append(_("The date cannot be in the future."))
        return False
    return True


@bp.route("/practice/new", methods=["GET", "POST"])
@role_required("participant")
def practice_new():
    """Log a home practice; a double-submitted form creates one entry."""
    participant = _participant_with_material()
    form = _practice_form(participant)
    if not form.practice_key.choices:
        flash(_("Practices appear here once your first session is released."), "info")
        return redirect(url_for("participant.dashboard"))
    if request.method == "GET":
        form.token.data = secrets.token_urlsafe(24)
        form.practised_on.data = _today()
        wanted = request.args.get("practice")
        if wanted in values(form.practice_key):
            form.practice_key.data = wanted
        form.minutes.data = request.args.get("minutes", type=_listened_minutes)
    elif form.validate_on_submit() and _date_ok(form):
        _row, created = operations.log_practice(participant, _entry(form), form.token.data)
        if created:
            flash(_("Practice logged. Well done for taking the time."), "success")
        return redirect(url_for("participant.practice_history"))
    recorded = form.practice_key.data in recordings.available(participant.study_id)
    return render_template("participant/practice_form.html", form=form, editing=False,
                           recorded=recorded)


def _listened_minutes(value: str) -> int:
    """Minutes listened to a recording, as the player puts them in the form's address."""
    minutes = int(value)
    if not 1 <= minutes <= 600:
        raise ValueError(value)
    return minutes


@bp.get("/practices/<practice_key>/recording")
@role_required("participant")
def recording(practice_key: str):
    """A released practice's recording in the reader's language (or English), served in ranges
    so a phone can seek and resume; revalidated by its digest rather than downloaded again."""
    participant = _participant_with_material()
    if practice_key not in {p.key for p in _released_practices(participant, utcnow())}:
        abort(404)
    row = recordings.for_practice(participant.study_id, practice_key, str(get_locale()))
    if row is None:
        abort(404)
    response = send_file(io.BytesIO(row.data), mimetype=row.content_type, conditional=True,
                         etag=row.sha256, last_modified=row.uploaded_at, max_age=3600)
    # the same recording for the whole study, no personal data: the phone may keep it
    response.cache_control.public = False
    response.cache_control.private = True
    return response


def _own_log(log_id: int, participant: Participant) -> PracticeLog:
    row = db.session.get(PracticeLog, log_id)
    if row is None or row.participant_id != participant.id:
        abort(404)
    return row


@bp.route("/practice/<int:log_id>/edit", methods=["GET", "POST"])
@role_required("participant")
def practice_edit(log_id: int):
    """Change one of your own practice entries."""
    participant = _participant_with_material()
    row = _own_log(log_id, participant)
    form = _practice_form(participant, obj=row)
    if request.method == "GET":
        form.token.data = row.submission_token
    elif form.validate_on_submit() and _date_ok(form):
        operations.update_practice(row, participant, _entry(form))
        flash(_("Practice updated."), "success")
        return redirect(url_for("participant.practice_history"))
    return render_template("participant/practice_form.html", form=form, editing=True, row=row)


@bp.post("/practice/<int:log_id>/delete")
@role_required("participant")
def practice_delete(log_id: int):
    """Delete one of your own practice entries."""
    participant = _participant_with_material()
    row = db.session.get(PracticeLog, log_id)
    if row is not None and row.participant_id != participant.id:
        abort(404)
    if row is None or not operations.delete_practice(row):  # the first of two clicks did it
        flash(_("This practice entry is already deleted."), "info")
        return redirect(url_for("participant.practice_history"))
    flash(_("Practice deleted."), "success")
    return redirect(url_for("participant.practice_history"))


def weekly_minutes(rows: list[tuple[date, int]], today: date, weeks: int = CHART_WEEKS
                   ) -> list[tuple[date, int]]:
    """Minutes per week (weeks start on Monday), oldest first, ending with this week."""
    this_monday = today - timedelta(days=today.weekday())
    starts = [this_monday - timedelta(weeks=k) for k in range(weeks - 1, -1, -1)]
    totals = dict.fromkeys(starts, 0)
    for day, minutes in rows:
        monday = day - timedelta(days=day.weekday())
        if monday in totals:
            totals[monday] += minutes
    return [(start, totals[start]) for start in starts]


def chart_bars(weeks: list[tuple[date, int]], width: int = 320, height: int = 140) -> dict:
    """Bar geometry for the server-drawn SVG chart (no script needed)."""
    top = max((m for _d, m in weeks), default=0) or 1
    slot = width / len(weeks)
    plot = height - 20
    headroom = 14  # the tallest bar's number sits above it, inside the picture
    bars = []
    for i, (start, minutes) in enumerate(weeks):
        h = round((plot - headroom) * minutes / top)
        bars.append({"x": round(i * slot + 4), "y": plot - h, "w": round(slot - 8), "h": h,
                     "label": format_date(start, pattern("numeric_day_month")), "minutes": minutes,
                     "cx": round(i * slot + slot / 2)})
    return {"bars": bars, "width": width, "height": height, "base": plot}


@bp.get("/practice")
@role_required("participant")
def practice_history():
    """Your practice entries and a weekly minutes chart."""
    participant = _participant_with_material()
    logs = db.session.scalars(select(PracticeLog).where(
        PracticeLog.participant_id == participant.id
    ).order_by(PracticeLog.practised_on.desc(), PracticeLog.id.desc())).all()
    today = _today()
    since = today - timedelta(weeks=CHART_WEEKS)
    per_day = db.session.execute(
        select(PracticeLog.practised_on, func.sum(PracticeLog.minutes))
        .where(PracticeLog.participant_id == participant.id, PracticeLog.practised_on >= since)
        .group_by(PracticeLog.practised_on)).all()
    weeks = weekly_minutes([(d, int(m)) for d, m in per_day], today)
    catalogue = get_catalogue(get_locale())
    titles = {key: catalogue.practices[key].title for key in {r.practice_key for r in logs}
              if key in catalogue.practices}
    support = bool(safety.open_sources("practice_log", [r.id for r in logs if r.note]))
    return render_template("participant/practice_history.html", logs=logs, titles=titles,
                           chart=chart_bars(weeks), weeks=weeks, support=support)
