"""Participant questionnaires: one screen per instrument, saved as the person goes.

Reached from the dashboard (signed in) or from the emailed personal link, which grants this
browser session access to that participant's questionnaires without a password. The pages
are therefore ``public`` and check access themselves: a signed-in participant sees their own
record, a link holder the record the link was for, anyone else is sent to sign in.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from models import Participant, Timepoint, db, utcnow
from program.assessments import questionnaires as assessments
from program.courses import delivery as operations
from program.instruments.wording import localized
from views import navigation
from views.access import public, role_required
from views.extensions import login_manager

bp = Blueprint("questionnaires", __name__, url_prefix="/q")
navigation.add("participant", "questionnaires.index", "Questionnaires", order=40)

#: session key: the participant a personal link was opened for
GRANT = "questionnaire_participant"


def current_participant() -> Participant | None:
    """The participant whose questionnaires this browser may open, if any."""
    if current_user.is_authenticated:
        if current_user.role != "participant":
            return None
        return operations.participant_of(current_user.id)
    granted = session.get(GRANT)
    participant = db.session.get(Participant, granted) if granted else None
    if participant is None or participant.data_removed_at is not None or (
            participant.withdrawal_kind not in (None, "stop_sessions")):
        session.pop(GRANT, None)
        return None
    return participant


def _require_participant() -> Participant:
    participant = current_participant()
    if participant is None:
        if current_user.is_authenticated:
            abort(403)
        abort(login_manager.unauthorized())
    return participant


def _open_timepoint(participant: Participant, timepoint_id: int) -> Timepoint:
    timepoint = db.session.get(Timepoint, timepoint_id)
    if timepoint is None or timepoint.study_id != participant.study_id:
        abort(404)
    if not assessments.is_open(timepoint, participant.cohort, utcnow()):
        abort(403, _("These questionnaires are not open at the moment."))
    return timepoint


def _instrument_or_404(participant: Participant, timepoint: Timepoint, key: str):
    if key not in assessments.self_report(participant.study, timepoint):
        abort(404)
    return assessments.study_instrument(participant.study, key)


#: ``open_questionnaires_now()`` without a participant looks up the signed-in one
_LOOK_UP = object()


def questionnaire_helpers():
    """``open_questionnaires_now()`` for the dashboard partial ``participant/_questionnaires``.
    A page that already holds the participant passes it in, saving a second look-up."""

    def open_questionnaires_now(participant=_LOOK_UP):
        if participant is _LOOK_UP:
            participant = current_participant()
        return assessments.open_questionnaires(participant, utcnow())

    return {"open_questionnaires_now": open_questionnaires_now}


@bp.get("/t/<token>")
@public
def from_link(token: str):
    """Open the questionnaires of a personal emailed link (no password needed)."""
    invitation = assessments.invitation_for_token(token)
    if invitation is None:
        return render_template("questionnaires/link_invalid.html"), 404
    participant = db.session.get(Participant, invitation.participant_id)
    if current_user.is_authenticated and participant.user_id != current_user.id:
        abort(403)
    session[GRANT] = participant.id
    return redirect(url_for("questionnaires.timepoint", timepoint_id=invitation.timepoint_id))


@bp.get("/")
@role_required("participant")
def index():
    """Open questionnaires, soonest deadline first."""
    return render_template("questionnaires/index.html")


@bp.get("/<int:timepoint_id>")
@public
def timepoint(timepoint_id: int):
    """The questionnaires of one timepoint and how far the person got."""
    participant = _require_participant()
    tp = _open_timepoint(participant, timepoint_id)
    progress = assessments.timepoint_progress(participant, tp)
    _opens, closes = assessments.window(tp, participant.cohort)
    names = {key: localized(assessments.study_instrument(participant.study, key), get_locale()).name
             for key, _ in progress}
    return render_template("questionnaires/timepoint.html", timepoint=tp, progress=progress,
                           names=names, closes=closes)


@bp.route("/<int:timepoint_id>/<key>", methods=["GET", "POST"])
@public
def instrument(timepoint_id: int, key: str):
    """One instrument on one screen: save and come back, or submit once."""
    participant = _require_participant()
    tp = _open_timepoint(participant, timepoint_id)
    inst = _instrument_or_404(participant, tp, key)
    response = assessments.find_response(participant.id, tp.id, key)
    if response is not None and response.status == "submitted":
        flash(_("You have already sent this questionnaire. Thank you."), "info")
        return redirect(url_for("questionnaires.timepoint", timepoint_id=tp.id))
    answers, missing, error = assessments.stored_answers(response), [], None
    if request.method == "POST":
        done = assessments.answer(participant.id, tp.id, key, inst, request.form,
                                  submit_now=request.form.get("action") == "submit")
        answers, result = done.answers, done.submission
        if done.invalid:
            error = _("One of the answers was not one of the choices. Please choose again.")
        elif result is None:
            flash(_("Your answers are saved. You can come back and finish later."), "success")
            return redirect(url_for("questionnaires.timepoint", timepoint_id=tp.id))
        elif result.needs_help:
            return render_template("questionnaires/help_now.html", timepoint=tp)
        elif result.submitted:
            return redirect(_next_step(participant, tp))
        else:
            missing = result.missing
    status = 400 if error else 200
    return render_template("questionnaires/instrument.html", timepoint=tp,
                           instrument=localized(inst, get_locale()),
                           answers=answers, missing=missing, error=error), status


@bp.post("/<int:timepoint_id>/<key>/answer")
@public
def save_one(timepoint_id: int, key: str):
    """Save one answer as it is given (the page's script calls this; the page works without)."""
    participant = _require_participant()
    tp = _open_timepoint(participant, timepoint_id)
    inst = _instrument_or_404(participant, tp, key)
    try:
        number = int(request.form.get("item", ""))
        inst.item(number)
        given = assessments.parse_answers(inst, {f"item-{number}": request.form.get("value")})
    except (ValueError, KeyError):
        return jsonify(saved=False), 400
    response = assessments.save_answers(participant.id, tp.id, key, given)
    return jsonify(saved=response.status == "in_progress")


def _next_step(participant: Participant, tp: Timepoint) -> str:
    for key, state in assessments.timepoint_progress(participant, tp):
        if state != "submitted":
            flash(_("Thank you. On to the next questionnaire."), "success")
            return url_for("questionnaires.instrument", timepoint_id=tp.id, key=key)
    flash(_("Thank you: all questionnaires for now are done."), "success")
    return url_for("questionnaires.timepoint", timepoint_id=tp.id)
