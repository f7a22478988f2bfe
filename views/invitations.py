"""The page an invitation link opens (public: the token is the key): choose a name and a
password, and the account exists, signed in. Staff under the two-factor policy go on to set up
their authenticator. The link works once; the page is never cached and the token never logged."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from models import utcnow
from program.accounts import invitations, two_factor
from program.accounts.invitations import InvitationError
from views.access import public
from views.auth.forms import NewPasswordForm
from views.extensions import limiter
from views.navigation import home_url

bp = Blueprint("invitations", __name__, url_prefix="/invitation")


class AcceptForm(NewPasswordForm):
    name = StringField(_l("Your name, as others see it"),
                       validators=[DataRequired(), Length(max=120)],
                       render_kw={"autocomplete": "name"})


@bp.after_request
def never_cache(response):
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/<token>", methods=["GET", "POST"])
@public
@limiter.limit("10 per hour", methods=["POST"], deduct_when=lambda r: r.status_code != 409)
def accept(token: str):
    """Create the invited account with a password of one's choice (single use, expiring).

    A second click on the form of a link just accepted is told so (409), and that answer
    does not count against the limit."""
    invitation = invitations.find_valid(token)
    if invitation is None:
        return _not_open(token)
    if current_user.is_authenticated:
        return render_template("invitations/signed_in.html")
    form = AcceptForm()
    if request.method == "GET":
        form.name.data = invitation.display_name
    if form.validate_on_submit():
        try:
            user = invitations.accept(token, form.name.data, form.password.data)
        except InvitationError as error:
            form.form_errors.append(str(error))
        else:
            if user is None:
                return _not_open(token)
            return _signed_in(user)
    return render_template("invitations/accept.html", form=form, invitation=invitation)


def _not_open(token: str):
    if request.method == "POST" and invitations.spent(token):
        return render_template("invitations/accepted.html"), 409
    return render_template("invitations/invalid.html"), 400


def _signed_in(user):
    """The new account is signed in to this browser; staff who must use two-factor sign-in
    set it up first."""
    session.clear()
    login_user(user)
    now = utcnow().timestamp()
    session["signed_in_at"] = now
    session["last_seen"] = now
    if two_factor.must_enrol(user):
        flash(_("Your account is ready. Set up two-factor sign-in to continue."), "info")
        return redirect(url_for("two_factor.manage"))
    flash(_("Welcome to Hearth. Your account is ready."), "success")
    return redirect(home_url(user))
