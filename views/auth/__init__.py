"""Signing in and out, password reset and change, language choice."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    after_this_request,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_user, logout_user

from models import User, db, utcnow, write_transaction
from models.people import Role
from program.accounts import passwords, reset, sessions, two_factor
from program.core import audit
from program.core.audit import AuditAction
from views import pwa
from views.access import public, role_required
from views.auth import devices
from views.auth.forms import (
    ChangePasswordForm,
    NewPasswordForm,
    ResetRequestForm,
    SignInForm,
    TwoFactorForm,
)
from views.extensions import limiter
from views.navigation import home_url
from views.security import safe_next

bp = Blueprint("auth", __name__, url_prefix="/auth")

def _failed(response) -> bool:
    """Only failed sign-ins (the form shown again) count towards the limits."""
    return response.status_code != 302


@bp.route("/sign-in", methods=["GET", "POST"])
@public
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_PAIR"], methods=["POST"],
               key_func=devices.pair_key, deduct_when=_failed)
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"], methods=["POST"],
               deduct_when=_failed)
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"], methods=["POST"],
               key_func=devices.account_key, deduct_when=_failed,
               exempt_when=devices.known_device)
def sign_in():
    """Sign in with email and password."""
    if current_user.is_authenticated:
        return redirect(home_url(current_user))
    form = SignInForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        user = passwords.find_user(form.email.data)
        if passwords.password_matches(user, form.password.data) and user.active:
            session.clear()  # a new session at sign-in (no fixation)
            if user.two_factor_enabled:
                # Nobody is signed in until the second step: only a short-lived note that the
                # password was right is kept in this browser's session.
                passwords.record_password_step(user, form.password.data)
                two_factor.begin_pending(user, safe_next(form.next.data))
                return redirect(url_for("auth.two_factor_step"))
            sessions.record_sign_in(user, form.password.data)  # opens a sign-in session
            _start_browser_session(user)
            return redirect(safe_next(form.next.data) or home_url(user))
        form.form_errors.append(_("That email and password do not match an active account."))
    return render_template("auth/sign_in.html", form=form)


def _start_browser_session(user: User) -> None:
    login_user(user)
    after_this_request(lambda response: devices.remember_device(response, user))
    now = utcnow().timestamp()
    session["signed_in_at"] = now
    session["last_seen"] = now


def _pending_account_key() -> str:
    return f"two-factor:{two_factor.pending_user_id()}"


def _code_failed(_response) -> bool:
    """Only wrong codes count towards the limits (set by the view that checked the code)."""
    return bool(g.get("two_factor_failed"))


@bp.route("/two-factor", methods=["GET", "POST"])
@public
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"], methods=["POST"],
               deduct_when=_code_failed)
@limiter.limit(lambda: current_app.config["TWO_FACTOR_LIMIT_PER_ACCOUNT"], methods=["POST"],
               key_func=_pending_account_key, deduct_when=_code_failed)
def two_factor_step():
    """The second step of signing in: a code from the authenticator app, or a recovery code."""
    if current_user.is_authenticated:
        return redirect(home_url(current_user))
    pending = two_factor.pending_user()
    if pending is None:
        flash(_("Please sign in again: the sign-in was not finished within 5 minutes."), "info")
        return redirect(url_for("auth.sign_in"))
    user, next_url = pending
    form = TwoFactorForm()
    if form.validate_on_submit():
        with write_transaction():
            method = two_factor.verify_second_factor(user, form.code.data)
            if method is None:
                audit.record(AuditAction.SECOND_FACTOR_FAILED, user, actor=user)
        if method is not None:
            session.clear()  # the half-signed-in state ends; a new session starts
            sessions.record_sign_in(user, None, second_factor=method)
            _start_browser_session(user)
            if method == "recovery_code":
                left = two_factor.recovery_codes_left(user)
                flash(ngettext("You used a recovery code; %(num)d is left. You can make new "
                               "ones in Settings.",
                               "You used a recovery code; %(num)d are left. You can make new "
                               "ones in Settings.", left), "info")
            return redirect(safe_next(next_url) or home_url(user))
        g.two_factor_failed = True
        form.code.errors.append(_("That code is not right, or it was already used."))
    return render_template("auth/two_factor.html", form=form)


@bp.post("/sign-out")
@role_required(*Role)
def sign_out():
    """Sign out of this browser: its sign-in session ends, so no copy of the cookie works."""
    with write_transaction():
        sessions.end_session(current_user.get_id())
        audit.record(AuditAction.SIGN_OUT, current_user)
    logout_user()
    session.clear()
    flash(_("You are signed out."), "info")
    return pwa.clear_site_data(redirect(url_for("auth.sign_in")))


@bp.post("/sign-out-everywhere")
@role_required(*Role)
def sign_out_everywhere():
    """End every session of this account, on every device."""
    with write_transaction():
        sessions.end_all_sessions(db.session.get(User, current_user.id), "user_request")
    logout_user()
    session.clear()
    flash(_("You are signed out on every device."), "info")
    return pwa.clear_site_data(redirect(url_for("auth.sign_in")))


@bp.route("/reset", methods=["GET", "POST"])
@public
@limiter.limit("10 per hour", methods=["POST"])
def request_reset():
    """Ask for a password reset link by email."""
    form = ResetRequestForm()
    if form.validate_on_submit():
        reset.request_password_reset(form.email.data)  # the same work for any address
        # The same answer whether or not the account exists.
        flash(_("If an account uses that address, a reset link is on its way."), "info")
        return redirect(url_for("auth.sign_in"))
    return render_template("auth/reset_request.html", form=form)


@bp.route("/reset/<token>", methods=["GET", "POST"])
@public
def reset_password(token: str):
    """Choose a new password from an emailed link (single use, expiring)."""
    if reset.valid_reset_token(token) is None:
        return _reset_link_spent(token)
    form = NewPasswordForm()
    if form.validate_on_submit():
        if reset.complete_password_reset(token, form.password.data) is None:
            return _reset_link_spent(token)
        flash(_("Your password is changed. Please sign in."), "info")
        return redirect(url_for("auth.sign_in"))
    return render_template("auth/reset_password.html", form=form)


def _reset_link_spent(token: str):
    """A link not valid (400), or, for its form sent again, one just used (409)."""
    if request.method == "POST" and reset.spent_reset_token(token):
        return render_template("auth/reset_invalid.html", used=True), 409
    return render_template("auth/reset_invalid.html"), 400


@bp.route("/password", methods=["GET", "POST"])
@role_required(*Role)
def change_password():
    """Change one's password; every other session ends."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        token = None
        if passwords.password_matches(current_user, form.current.data):
            token = reset.change_password(current_user, form.password.data,
                                          current=form.current.data)
        if token is None:  # wrong, or changed by a click just before
            form.current.errors.append(_("That is not your current password."))
        else:
            user = db.session.get(User, current_user.id)
            user.sign_in_token = token
            login_user(user)  # keep this browser signed in, in a new sign-in session
            flash(_("Your password is changed and your other sessions are signed out."), "info")
            return redirect(home_url(user))
    return render_template("auth/change_password.html", form=form)


@bp.post("/language")
@public
def set_language():
    """Switch the interface language (saved on the account when signed in)."""
    locale = request.form.get("locale", "")
    if locale not in current_app.config["SUPPORTED_LOCALES"]:
        abort(400)
    session["locale"] = locale
    if current_user.is_authenticated:
        with write_transaction():
            db.session.get(User, current_user.id).locale = locale
    return redirect(safe_next(request.form.get("next")) or url_for("home.index"))
