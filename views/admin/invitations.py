"""Inviting staff: one by one, or many from a CSV (previewed, all or nothing); the pending
invitations, each sent again or revoked."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from program.accounts import bulk, invitations
from program.accounts.invitations import AlreadyInvited, InvitationError
from views import navigation
from views.access import role_required
from views.admin import bp
from views.admin.forms import STAFF_ROLES, BulkConfirmForm, BulkUploadForm, InviteForm
from views.forms import LANGUAGES

navigation.add("admin", "admin.invite", "Invite staff", order=20)


def _invitations_page(form: InviteForm):
    return render_template("admin/invitations.html", form=form, pending=invitations.pending(),
                           link_stamp=invitations.link_stamp)


@bp.route("/invitations", methods=["GET", "POST"])
@role_required("admin")
def invite():
    """Invite a staff member by email, with a role and the language of the invitation."""
    form = InviteForm()
    if form.validate_on_submit():
        try:
            invitations.invite(form.email.data, form.name.data, form.role.data,
                               form.language.data, current_user)
        except AlreadyInvited as error:  # a second click, or another admin just before
            form.email.errors.append(str(error))
            return _invitations_page(form), 409
        except InvitationError as error:
            form.email.errors.append(str(error))
        else:
            flash(_("The invitation to %(email)s is on its way.",
                    email=form.email.data.strip().lower()), "success")
            return redirect(url_for("admin.invite"))
    return _invitations_page(form)


@bp.post("/invitations/<int:invitation_id>/resend")
@role_required("admin")
def resend_invitation(invitation_id: int):
    """Send a new link; the earlier one stops working."""
    try:
        invitation = invitations.resend(invitation_id, current_user,
                                        replacing=request.form.get("link") or None)
    except invitations.AlreadyDone as done:
        flash(str(done), "info")
    except InvitationError as error:
        flash(str(error), "error")
    else:
        flash(_("A new invitation link is on its way to %(email)s.", email=invitation.email),
              "success")
    return redirect(url_for("admin.invite"))


@bp.post("/invitations/<int:invitation_id>/revoke")
@role_required("admin")
def revoke_invitation(invitation_id: int):
    """Withdraw an invitation: its link stops working."""
    try:
        invitation = invitations.revoke(invitation_id, current_user)
    except invitations.AlreadyDone as done:
        flash(str(done), "info")
    except InvitationError as error:
        flash(str(error), "error")
    else:
        flash(_("The invitation to %(email)s is revoked.", email=invitation.email), "info")
    return redirect(url_for("admin.invite"))


def _bulk_page(upload: BulkUploadForm, rows=None, text: str = "", status: int = 200):
    confirm = BulkConfirmForm(rows=text)
    bad = sum(1 for row in rows or [] if row.problems)
    return render_template("admin/bulk.html", upload=upload, confirm=confirm, rows=rows,
                           bad=bad, roles=STAFF_ROLES, languages=LANGUAGES), status


@bp.route("/invitations/bulk", methods=["GET", "POST"])
@role_required("admin")
def bulk_upload():
    """Upload a CSV of people to invite; the preview shows every row and its problems."""
    upload = BulkUploadForm()
    if not upload.validate_on_submit():
        return _bulk_page(upload)
    data = upload.file.data.read(bulk.MAX_BYTES + 1)
    try:
        rows = bulk.check(bulk.read_rows(data))
    except bulk.BulkFileError as error:
        upload.file.errors.append(str(error))
        return _bulk_page(upload)
    return _bulk_page(upload, rows, data.decode("utf-8-sig"))


@bp.post("/invitations/bulk/confirm")
@role_required("admin")
def bulk_confirm():
    """Invite every previewed row in one transaction, checked again; nothing when any row has
    a problem."""
    confirm = BulkConfirmForm()
    try:
        if not confirm.validate_on_submit():
            raise bulk.BulkFileError(_("Upload the file again."))
        rows = bulk.check(bulk.read_rows(confirm.rows.data.encode()))
        if invitations.all_pending([row.as_invitation() for row in rows]):
            flash(_("These invitations were sent already."), "info")  # a second click
            return redirect(url_for("admin.invite"))
        if any(row.problems for row in rows):
            return _bulk_page(BulkUploadForm(), rows, confirm.rows.data, 400)
        made = invitations.invite_many([row.as_invitation() for row in rows], current_user)
    except (bulk.BulkFileError, InvitationError) as error:
        flash(str(error), "error")
        return redirect(url_for("admin.bulk_upload"))
    flash(_("Invitations sent: %(num)d.", num=len(made)), "success")
    return redirect(url_for("admin.invite"))
