"""The rater area: clinician-rated instruments, blind to arm and group.

Nothing a rater's page shows is derived from allocation: participants appear by their
pseudonymous code only, in code order, and no query here reads an arm or a group.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from models import Participant, Response, Study, StudyStaff, Timepoint, db, utcnow
from program.assessments import questionnaires as assessments
from program.assessments.rating_windows import rating_window
from program.instruments.wording import localized
from views import navigation
from views.access import role_required, staff_study

bp = Blueprint("rater", __name__, url_prefix="/rate")
navigation.add("rater", "rater.home", "Ratings", order=10)


def _rated(study: Study) -> list[Participant]:
    """People still assessed in a study, by code (withdrawn-from-contact and removed excluded)."""
    return list(db.session.scalars(
        select(Participant).where(
            Participant.study_id == study.id, Participant.arm_id.is_not(None),
            Participant.data_removed_at.is_(None),
            (Participant.withdrawal_kind.is_(None))
            | (Participant.withdrawal_kind == "stop_sessions"))
        .order_by(Participant.code)))


def _sheet(study_id: int, participant_id: int, timepoint_id: int, key: str):
    """The study, participant and timepoint of a rating this rater may enter, else 404."""
    study = staff_study(study_id)
    participant = db.session.get(Participant, participant_id)
    timepoint = db.session.get(Timepoint, timepoint_id)
    if (participant is None or timepoint is None or participant not in _rated(study)
            or timepoint.study_id != study.id
            or key not in assessments.clinician_rated(study, timepoint)):
        abort(404)
    return study, participant, timepoint


@bp.get("/")
@role_required("rater")
def home():
    """Ratings to enter per study, timepoint and participant code."""
    studies = db.session.scalars(
        select(Study).join(StudyStaff).where(StudyStaff.user_id == current_user.id)
        .order_by(Study.id)).all()
    sheets = []
    for study in studies:
        timepoints = [(tp, assessments.clinician_rated(study, tp)) for tp in db.session.scalars(
            select(Timepoint).where(Timepoint.study_id == study.id).order_by(Timepoint.position))]
        timepoints = [(tp, keys) for tp, keys in timepoints if keys]
        states = {(r.participant_id, r.timepoint_id, r.instrument_key): r.status
                  for r in db.session.scalars(select(Response).join(Participant).where(
                      Participant.study_id == study.id))}
        people = _rated(study)
        now = utcnow()
        windows = {(p.id, tp.id): rating_window(p, tp, now).open
                   for p in people for tp, _keys in timepoints}
        sheets.append((study, timepoints, people, states, windows))
    return render_template("rater/home.html", sheets=sheets)


def _outside_window(study, participant, timepoint, instrument, period):
    """The rating page without its form: the window is not open (a POST is refused, 400)."""
    return render_template("rater/outside_window.html", study=study, participant=participant,
                           timepoint=timepoint, period=period,
                           instrument=localized(instrument, get_locale())), (
                               400 if request.method == "POST" else 200)


@bp.route("/<int:study_id>/<int:participant_id>/<int:timepoint_id>/<key>",
          methods=["GET", "POST"])
@role_required("rater")
def rate(study_id: int, participant_id: int, timepoint_id: int, key: str):
    """Enter one clinician-rated instrument for one participant at one timepoint."""
    study, participant, timepoint = _sheet(study_id, participant_id, timepoint_id, key)
    instrument = assessments.study_instrument(study, key)
    response = assessments.find_response(participant.id, timepoint.id, key)
    if response is not None and response.status == "submitted":
        return render_template("rater/done.html", study=study, participant=participant,
                               timepoint=timepoint, instrument=localized(instrument, get_locale()),
                               response=response)
    if not (period := rating_window(participant, timepoint, utcnow())).open:
        return _outside_window(study, participant, timepoint, instrument, period)
    answers, missing, error = assessments.stored_answers(response), [], None
    if request.method == "POST":
        done = assessments.answer(participant.id, timepoint.id, key, instrument, request.form,
                                  submit_now=request.form.get("action") == "submit",
                                  entered_by_id=current_user.id)
        answers, result = done.answers, done.submission
        if done.invalid:
            error = _("One of the scores is not allowed for its item.")
        elif result is None:
            flash(_("Rating saved as a draft."), "success")
            return redirect(url_for("rater.home"))
        elif result.submitted:
            flash(_("Rating of %(code)s submitted.", code=participant.code), "success")
            return redirect(url_for("rater.home"))
        else:
            missing = result.missing
    return render_template("rater/rate.html", study=study, participant=participant,
                           timepoint=timepoint, instrument=localized(instrument, get_locale()),
                           answers=answers, missing=missing, error=error), 400 if error else 200
