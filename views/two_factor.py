"""Two-factor sign-in settings: enrol (QR code, confirm with a code, recovery codes shown once),
turn off, new recovery codes; and the "required" policy's gate for staff not yet enrolled."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length, Optional

from models import User, db, write_transaction
from models.people import Role
from program.accounts import passwords, two_factor
from program.core import audit
from program.core.audit import AuditAction
from views.access import role_required
from views.extensions import limiter

bp = Blueprint("two_factor", __name__, url_prefix="/settings/two-factor")

#: what a user who must enrol may still reach under the "required" policy
ENROLMENT_ENDPOINTS = {
    "two_factor.manage", "two_factor.start", "two_factor.confirm", "auth.sign_out",
    "auth.sign_out_everywhere", "auth.set_language", "static", "healthz",
}

_CODE_FIELD = {"autocomplete": "one-time-code", "inputmode": "numeric",
               "autocapitalize": "none", "spellcheck": "false"}


class ConfirmForm(FlaskForm):
    code = StringField(_l("Code from the app"), validators=[DataRequired(), Length(max=32)],
                       render_kw=_CODE_FIELD)


class ReauthenticateForm(FlaskForm):
    """Turning off or new recovery codes: a current code, or else the password."""

    code = StringField(_l("Code from the app"), validators=[Optional(), Length(max=32)],
                       render_kw=_CODE_FIELD)
    password = PasswordField(_l("Or your password"), validators=[Optional(), Length(max=256)],
                             render_kw={"autocomplete": "current-password"})
    #: the set of recovery codes the page showed (new codes replace that set only)
    codes = HiddenField(validators=[Optional(), Length(max=40)])


def _account_key() -> str:
    user_id = current_user.id if current_user.is_authenticated else None
    return f"two-factor-settings:{user_id}"


def _code_failed(_response) -> bool:
    return bool(g.get("two_factor_failed"))


def _limited(view):
    """Wrong codes and passwords here count towards the per-account sign-in limit."""
    return limiter.limit(lambda: current_app.config["TWO_FACTOR_LIMIT_PER_ACCOUNT"],
                         methods=["POST"], key_func=_account_key,
                         deduct_when=_code_failed)(view)


@bp.before_app_request
def require_enrolment():
    """Under the "required" policy, staff who must use two-factor sign-in and have not set it
    up reach only the enrolment pages (and signing out) until they have."""
    if (current_user.is_authenticated and request.endpoint not in ENROLMENT_ENDPOINTS
            and two_factor.must_enrol(current_user)):
        flash(_("Your account must use two-factor sign-in. Please set it up to continue."),
              "info")
        return redirect(url_for("two_factor.manage"))
    return None


def _user() -> User:
    return db.session.get(User, current_user.id)


def _page(**context):
    user = _user()
    secret = two_factor.pending_secret(user)
    context.setdefault("confirm_form", ConfirmForm())
    context.setdefault("reauth_form", ReauthenticateForm())
    context["reauth_form"].codes.data = two_factor.codes_stamp(user)
    if secret and not user.two_factor_enabled:
        uri = two_factor.provisioning_uri(user, secret)
        context.update(qr=two_factor.qr_data_uri(uri), secret=two_factor.grouped(secret))
    return render_template(
        "two_factor/manage.html", user=user,
        required=(current_app.config.get("STAFF_TWO_FACTOR") == "required"
                  and two_factor.required_for(user)),
        codes_left=two_factor.recovery_codes_left(user) if user.two_factor_enabled else 0,
        **context)


@bp.get("")
@role_required(*Role)
def manage():
    """Two-factor sign-in: on or off, and the steps to set it up."""
    return _page()


@bp.post("/start")
@role_required(*Role)
def start():
    """Make a new secret to enrol (replacing an unfinished one) and show its QR code (a button:
    no field but the CSRF token, which CSRFProtect checks)."""
    with write_transaction():
        user = _user()
        if not user.two_factor_enabled:
            two_factor.start_enrolment(user)
    return redirect(url_for("two_factor.manage"))


@bp.post("/confirm")
@role_required(*Role)
@_limited
def confirm():
    """Turn two-factor sign-in on with a current code; the recovery codes are shown once."""
    form = ConfirmForm()
    user = _user()
    if user.two_factor_enabled or two_factor.pending_secret(user) is None:
        return redirect(url_for("two_factor.manage"))
    if form.validate_on_submit():
        with write_transaction():
            codes = two_factor.confirm_enrolment(user, form.code.data)
            if codes is not None:
                audit.record(AuditAction.TWO_FACTOR_ENABLED, user)
        if codes is not None:
            return render_template("two_factor/recovery_codes.html", codes=codes, enabled=True)
        g.two_factor_failed = True
        form.code.errors.append(_("That code is not right. Check the time on your phone and "
                                  "try the newest code."))
    return _page(confirm_form=form)


def _reauthenticated(form: ReauthenticateForm, user: User) -> bool:
    """A current code (spent like a sign-in code) or the account's password."""
    if form.code.data:
        with write_transaction():
            ok = two_factor.verify_totp(user, form.code.data)
        if ok:
            return True
    elif form.password.data and passwords.password_matches(user, form.password.data):
        return True
    g.two_factor_failed = True
    form.form_errors.append(_("Enter a current code from your app, or your password."))
    return False


@bp.post("/disable")
@role_required(*Role)
@_limited
def disable():
    """Turn two-factor sign-in off (with a current code or the password)."""
    user = _user()
    if not user.two_factor_enabled:
        return redirect(url_for("two_factor.manage"))
    form = ReauthenticateForm()
    if form.validate_on_submit() and _reauthenticated(form, user):
        with write_transaction():
            user = two_factor.user_for_update(user.id)
            if user.two_factor_enabled:  # not turned off by a click just before
                two_factor.disable(user)
                audit.record(AuditAction.TWO_FACTOR_DISABLED, user)
        flash(_("Two-factor sign-in is off."), "info")
        return redirect(url_for("two_factor.manage"))
    return _page(reauth_form=form)


@bp.post("/recovery-codes")
@role_required(*Role)
@_limited
def regenerate():
    """New recovery codes (the old ones stop working), shown once."""
    user = _user()
    if not user.two_factor_enabled:
        return redirect(url_for("two_factor.manage"))
    form = ReauthenticateForm()
    if form.validate_on_submit() and _reauthenticated(form, user):
        with write_transaction():
            codes = two_factor.replace_recovery_codes_once(user.id, form.codes.data or None)
            if codes is not None:
                audit.record(AuditAction.RECOVERY_CODES_REPLACED, _user())
        if codes is not None:
            return render_template("two_factor/recovery_codes.html", codes=codes, enabled=False)
        form.form_errors.append(_("New recovery codes were made a moment ago by this form, sent "
                                  "twice; they were shown once, on its first answer. If you "
                                  "did not note them, make new ones now."))
        return _page(reauth_form=form), 409
    return _page(reauth_form=form)
