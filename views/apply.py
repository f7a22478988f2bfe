"""Online applications: a study's public application page (no sign-in), the applicant's private
link to the screening questionnaire and online consent with a downloadable copy, and the
researcher's page that opens or closes applications and lists them.

The public pages are in the visitor's language (the language selector of every page); the
application page is rate limited per address. A link that is unknown or expired is 404.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField
from wtforms.validators import DataRequired, Email, Length

from program.core.dates import longdatetime
from program.trial import applications, eligibility
from program.trial.applications import AlreadyDone, ApplicationError
from views.access import public, researcher_study, role_required
from views.extensions import limiter

bp = Blueprint("apply", __name__, url_prefix="/apply")
manage = Blueprint("applications", __name__, url_prefix="/research")


class ApplyForm(FlaskForm):
    email = EmailField(_l("Your email address"), filters=[lambda v: v.strip() if v else v],
                       validators=[DataRequired(), Email(), Length(max=254)])
    contact = BooleanField(_l("The study team may write to me at this address about my "
                              "application"), validators=[DataRequired()])


class ConsentOnlineForm(FlaskForm):
    agree = BooleanField(_l("I have read the information sheet and agree to take part"),
                         validators=[DataRequired()])


class AcceptingForm(FlaskForm):
    accepting = BooleanField(_l("Accept online applications"))


def _limit() -> str:
    return current_app.config.get("APPLY_LIMIT_PER_ADDRESS", "20 per hour")


def _application(token: str):
    return applications.application_for(token) or abort(404)


def _continue(token: str):
    return redirect(url_for("apply.status", token=token))


# --------------------------------------------------------------------------- public


@bp.route("/<study_key>", methods=["GET", "POST"])
@public
@limiter.limit(_limit, methods=["POST"], deduct_when=lambda r: r.status_code == 302)
def start(study_key: str):
    """The study's public application page: an address to be reached at, then the link."""
    study = applications.open_study(study_key) or abort(404)
    form = ApplyForm()
    if form.validate_on_submit():
        try:
            _app, token = applications.apply_online(study.id, form.email.data,
                                                    str(get_locale()))
        except ApplicationError as exc:
            form.form_errors.append(str(exc))
        else:
            flash(_("Thank you for applying. Keep this page's address: it is your link to "
                    "continue the application."), "success")
            return _continue(token)
    return render_template("apply/start.html", study=study, form=form)


@bp.get("/continue/<token>")
@public
def status(token: str):
    """Where the application stands and its next step."""
    application = _application(token)
    return render_template("apply/status.html", application=application, token=token,
                           participant=application.participant,
                           study=application.study)


@bp.route("/continue/<token>/screening", methods=["GET", "POST"])
@public
def screening(token: str):
    """The screening questionnaire against the study's eligibility rules (answered once)."""
    application = _application(token)
    if application.screened_at is not None:
        return _continue(token)
    rules = [{**r, "label": eligibility.rule_label(r)}
             for r in application.study.eligibility_rules or [] if isinstance(r, dict)]
    form, errors = FlaskForm(), {}
    if form.validate_on_submit():
        answers, errors = eligibility.parse_screening_answers(rules, request.form)
        if not errors:
            try:
                applications.screen_online(application.id, answers)
            except AlreadyDone:  # a second click: the answers are in
                return _continue(token)
            except ApplicationError as exc:
                form.form_errors.append(str(exc))
            else:
                return _continue(token)
    return render_template("apply/screening.html", study=application.study, rules=rules,
                           form=form, errors=errors, token=token), (
        400 if request.method == "POST" else 200)


@bp.route("/continue/<token>/consent", methods=["GET", "POST"])
@public
def consent(token: str):
    """The current information sheet and the consent to it."""
    application = _application(token)
    participant, study = application.participant, application.study
    if participant.eligible is not True or not study.consent_version \
            or application.consented_at is not None:
        return _continue(token)
    sheet = applications.information_sheet(study)
    form = ConsentOnlineForm()
    if form.validate_on_submit():
        copy = render_template("apply/consent_copy.html", study=study, sheet=sheet,
                               participant=participant, version=study.consent_version,
                               statement=form.agree.label.text, at=None)
        try:
            applications.consent_online(application.id, copy)
        except AlreadyDone as done:
            flash(str(done), "info")
            return _continue(token)
        except ApplicationError as exc:
            form.form_errors.append(str(exc))
        else:
            flash(_("Thank you: your consent is recorded."), "success")
            return _continue(token)
    return render_template("apply/consent.html", study=study, sheet=sheet, form=form,
                           token=token), 400 if request.method == "POST" else 200


@bp.get("/continue/<token>/consent-copy.html")
@public
def consent_copy(token: str):
    """A copy of the information sheet and the consent as given, with its time, to keep."""
    application = _application(token)
    if application.consent_copy is None:
        abort(404)
    stamp = _("Consent given on %(when)s.", when=longdatetime(application.consented_at))
    body = application.consent_copy.replace("<!-- consented-at -->", f"<p>{stamp}</p>")
    name = f"consent-{application.participant.code}.html"
    return Response(body, mimetype="text/html",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


# --------------------------------------------------------------------------- researcher


@manage.route("/studies/<int:study_id>/applications", methods=["GET", "POST"])
@role_required("researcher")
def settings(study_id: int):
    """Open or close the public application page; the online applications so far."""
    study = researcher_study(study_id)
    form = AcceptingForm(data={"accepting": study.accepts_applications}
                         if request.method == "GET" else None)
    if form.validate_on_submit():
        applications.set_accepting(study.id, form.accepting.data, actor=current_user)
        flash(_("Online applications are open.") if form.accepting.data
              else _("Online applications are closed."), "success")
        return redirect(url_for("applications.settings", study_id=study.id))
    return render_template("researcher/applications.html", study=study, form=form,
                           applications=applications.study_applications(study.id),
                           link=url_for("apply.start", study_key=study.key, _external=True))
