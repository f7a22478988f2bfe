"""Group feeds and their moderation, for whoever is a member of the group.

Every route takes the group from the URL and the user's membership of it; someone who is not
(or no longer) a member gets 404, whatever their role, and a post id from another group is
not found either. Moderation routes need the group's own leaders and assistants.
"""

from __future__ import annotations

import secrets
from functools import lru_cache
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    flash,
    get_template_attribute,
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
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from models import Cohort, db, utcnow
from models.people import Role
from program.groups import access, moderation, posting
from program.groups import feed as group_feed
from program.safety import alerts as safety
from views import navigation
from views.access import member_group, role_required
from views.groups.cards import CSRF_SLOT, CardRenderer
from views.security import safe_next

bp = Blueprint("groups", __name__, url_prefix="/groups")
#: anyone can be a member of a group (``role_required(*Role)``); membership, checked per
#: request, decides the rest
PAGE_SIZES = (10, 20, 50, 100)

navigation.add("participant", "groups.index", "Groups", order=30)
navigation.add("facilitator", "groups.index", "Groups", order=30)

class ThreadForm(FlaskForm):
    title = StringField(_l("Title (optional)"), validators=[Optional(), Length(max=200)])
    body = TextAreaField(_l("Your post"), validators=[DataRequired(), Length(max=posting.MAX_BODY)])
    submission_token = HiddenField(validators=[Length(max=64)])  # the column holds 64


class ReplyForm(FlaskForm):
    body = TextAreaField(_l("Your reply"),
                         validators=[DataRequired(), Length(max=posting.MAX_BODY)])
    submission_token = HiddenField(validators=[Length(max=64)])  # the column holds 64


class EditForm(FlaskForm):
    title = StringField(_l("Title (optional)"), validators=[Optional(), Length(max=200)])
    body = TextAreaField(_l("Your post"), validators=[DataRequired(), Length(max=posting.MAX_BODY)])


class HideForm(FlaskForm):
    reason = TextAreaField(_l("Reason (the author will see it)"),
                           validators=[DataRequired(), Length(max=1000)])


class FlagForm(FlaskForm):
    reason = StringField(_l("What worries you? (optional)"),
                         validators=[Optional(), Length(max=1000)])


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


#: stands in for a blank form's submission token (random per process, like CSRF_SLOT)
TOKEN_SLOT = f"token-slot-{secrets.token_hex(16)}"


def _post_form(form_class: type[FlaskForm], macro: str, form: FlaskForm | None,
               action: str) -> Markup:
    """The page's new-thread or reply form (a ``form_class`` drawn by ``macro`` in
    groups/_forms.html; ``form`` is a submitted one to show again, or None).

    A blank form is the same for every member who opens the group in one language but for
    its CSRF and submission tokens, so it is rendered once with placeholders and kept; a
    submitted one with errors is rendered as it came, keeping its submission token so that
    sending it again still posts once.
    """
    if form is None:
        html = _blank_post_form(form_class, macro, str(get_locale()), action)
        return Markup(html.replace(CSRF_SLOT, generate_csrf())
                      .replace(TOKEN_SLOT, secrets.token_urlsafe(16)))
    token = form.submission_token.data or secrets.token_urlsafe(16)
    return get_template_attribute("groups/_forms.html", macro)(
        form, action=action, csrf=generate_csrf(), token=token)


@lru_cache(maxsize=512)
def _blank_post_form(form_class: type[FlaskForm], macro: str, locale: str, action: str) -> str:
    form = form_class(formdata=None, meta={"csrf": False})
    return str(get_template_attribute("groups/_forms.html", macro)(
        form, action=action, csrf=CSRF_SLOT, token=TOKEN_SLOT))


def _feed_page(group, member, thread_form=None, status=200):
    per_page = request.args.get("per", 20, type=int)
    per_page = per_page if per_page in PAGE_SIZES else 20
    page = group_feed.feed(current_user, member, cursor=request.args.get("before"),
                           per_page=per_page)
    can_start = access.can_start_thread(group, member)
    return render_template(
        "groups/feed.html", group=group, member=member, page=page, per_page=per_page,
        first_page=not request.args.get("before"), can_start=can_start,
        thread_form=_post_form(ThreadForm, "thread_form", thread_form,
                               url_for(".create", group_id=group.id)) if can_start else None,
        has_errors=bool(thread_form and thread_form.errors),
        card=CardRenderer(page, member, current_user, utcnow()),
    ), status


@bp.get("/")
@role_required(*Role)
def index():
    """The groups the user belongs to."""
    return render_template("groups/index.html", groups=access.groups_of(current_user))


@bp.get("/<int:group_id>")
@role_required(*Role)
def feed(group_id: int):
    """A group's feed: pinned threads, then threads newest first with their replies."""
    group, member = member_group(group_id)
    return _feed_page(group, member)


@bp.post("/<int:group_id>/posts")
@role_required(*Role)
def create(group_id: int):
    """Start a thread."""
    group, member = member_group(group_id)
    form = ThreadForm()
    if not form.validate_on_submit():
        return _feed_page(group, member, form, status=400)
    try:
        post = posting.create_post(current_user, group_id, form.body.data, title=form.title.data,
                                 submission_token=form.submission_token.data or None)
    except access.NoAccess:
        abort(404)
    except access.PostError as exc:
        form.body.errors = [str(exc)]
        return _feed_page(group, member, form, status=400)
    if post.held_at is None:  # a held post's thread says instead where to get help
        flash(_("Your post is in the group."), "success")
    return redirect(url_for(".thread", group_id=group_id, post_id=post.id))


def _thread_page(group, member, post_id, reply_form=None, status=200):
    try:
        page = group_feed.thread(current_user, member, post_id)
    except access.NoAccess:
        abort(404)
    head = page.threads[0].post
    can_reply = not head.locked and head.hidden_at is None
    action = url_for(".reply", group_id=group.id, post_id=head.id)
    return render_template(
        "groups/thread.html", group=group, member=member, page=page, head=head,
        support=_support(page.threads[0]),
        reply_form=_post_form(ReplyForm, "reply_form", reply_form, action) if can_reply else None,
        card=CardRenderer(page, member, current_user, utcnow()),
    ), status


def _support(item) -> dict | None:
    """Help for the reader if a post of theirs in the thread raised a safety alert that is
    still being followed up (``held``: one of them is held for review)."""
    mine = [p for p in [item.post, *item.replies] if p.author_id == current_user.id]
    flagged = safety.open_sources("post", [p.id for p in mine])
    if not flagged:
        return None
    return {"held": any(p.held_at is not None for p in mine if p.id in flagged)}


@bp.get("/<int:group_id>/posts/<int:post_id>")
@role_required(*Role)
def thread(group_id: int, post_id: int):
    """One thread with its replies and a reply form."""
    group, member = member_group(group_id)
    return _thread_page(group, member, post_id)


@bp.post("/<int:group_id>/posts/<int:post_id>/reply")
@role_required(*Role)
def reply(group_id: int, post_id: int):
    """Reply to a thread (replies are one level deep)."""
    group, member = member_group(group_id)
    form = ReplyForm()
    if not form.validate_on_submit():
        return _thread_page(group, member, post_id, form, status=400)
    try:
        post = posting.create_post(current_user, group_id, form.body.data, parent_id=post_id,
                                 submission_token=form.submission_token.data or None)
    except access.NoAccess:
        abort(404)
    except access.PostError as exc:
        form.body.errors = [str(exc)]
        return _thread_page(group, member, post_id, form, status=400)
    return redirect(url_for(".thread", group_id=group_id, post_id=post.parent_id)
                    + f"#post-{post.id}")


@bp.route("/<int:group_id>/posts/<int:post_id>/edit", methods=["GET", "POST"])
@role_required(*Role)
def edit(group_id: int, post_id: int):
    """Edit one's own post within the edit window."""
    group, _member_row = member_group(group_id)
    try:
        post = access.post_in_group(group_id, post_id)
    except access.NoAccess:
        abort(404)
    if post.author_id != current_user.id:
        abort(403)
    if not posting.can_edit(current_user, post):
        flash(_("This post can no longer be edited."), "error")
        return redirect(url_for(".thread", group_id=group_id, post_id=post.parent_id or post.id))
    form = EditForm(obj=post) if request.method == "GET" else EditForm()
    if form.validate_on_submit():
        try:
            posting.edit_post(current_user, group_id, post_id, form.body.data,
                            title=form.title.data)
        except access.PostError as exc:
            form.body.errors = [str(exc)]
        else:
            flash(_("Your post was changed."), "success")
            return redirect(url_for(".thread", group_id=group_id,
                                    post_id=post.parent_id or post.id) + f"#post-{post.id}")
    status = 400 if request.method == "POST" else 200
    return render_template("groups/edit.html", group=group, post=post, form=form), status


@bp.post("/<int:group_id>/posts/<int:post_id>/delete")
@role_required(*Role)
def delete(group_id: int, post_id: int):
    """Delete one's own post."""
    member_group(group_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        post = posting.delete_post(current_user, group_id, post_id)
    except access.NoAccess:
        abort(404)
    flash(_("Your post was deleted."), "success")
    if post.parent_id:
        return redirect(url_for(".thread", group_id=group_id, post_id=post.parent_id))
    return redirect(url_for(".feed", group_id=group_id))


@bp.post("/<int:group_id>/posts/<int:post_id>/flag")
@role_required(*Role)
def flag(group_id: int, post_id: int):
    """Ask the group's leaders to look at a post."""
    member_group(group_id)
    form = FlagForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        moderation.flag_post(current_user, group_id, post_id, form.reason.data)
    except access.NoAccess:
        abort(404)
    except access.PostError as exc:
        flash(str(exc), "error")
    else:
        flash(_("Thank you. The group's leaders will look at this post."), "success")
    return redirect(request.referrer if _same_group(request.referrer, group_id)
                    else url_for(".feed", group_id=group_id))


def _same_group(url: str | None, group_id: int) -> bool:
    """Send the user back to the page they came from only if it is this group's page."""
    if not url:
        return False
    parts = urlsplit(url)
    return parts.netloc in ("", request.host) and parts.path.startswith(f"/groups/{group_id}")


MODERATION = {
    "pin": lambda u, g, p: moderation.set_pinned(u, g, p, True),
    "unpin": lambda u, g, p: moderation.set_pinned(u, g, p, False),
    "lock": lambda u, g, p: moderation.set_locked(u, g, p, True),
    "unlock": lambda u, g, p: moderation.set_locked(u, g, p, False),
    "restore": moderation.restore_post,
    "resolve": moderation.resolve_flags,
}
DONE = {
    "pin": _l("Pinned."), "unpin": _l("Unpinned."), "lock": _l("Thread locked."),
    "unlock": _l("Thread open for replies again."), "restore": _l("Post restored."),
    "resolve": _l("Flags resolved; the post stays as it is."), "hide": _l("Post hidden."),
}


@bp.post("/<int:group_id>/posts/<int:post_id>/<any(" + ", ".join(MODERATION) + "):action>")
@role_required(*Role)
def moderate(group_id: int, post_id: int, action: str):
    """Pin, lock, restore or resolve flags (the group's leaders and assistants only)."""
    member_group(group_id, moderator=True)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        MODERATION[action](current_user, group_id, post_id)
    except access.NoAccess:
        abort(404)
    except access.PostError as exc:
        flash(str(exc), "error")
    else:
        flash(str(DONE[action]), "success")
    return _back(group_id)


@bp.post("/<int:group_id>/posts/<int:post_id>/hide")
@role_required(*Role)
def hide(group_id: int, post_id: int):
    """Hide a post with a reason the author is told (leaders and assistants only)."""
    member_group(group_id, moderator=True)
    form = HideForm()
    if not form.validate_on_submit():
        flash(_("Give a reason; the author will see it."), "error")
        return _back(group_id)
    try:
        moderation.hide_post(current_user, group_id, post_id, form.reason.data)
    except access.NoAccess:
        abort(404)
    flash(str(DONE["hide"]), "success")
    return _back(group_id)


def _back(group_id: int):
    target = safe_next(request.form.get("next"))
    if target and target.startswith(f"/groups/{group_id}") and "//" not in target:
        return redirect(target)
    return redirect(url_for(".feed", group_id=group_id))


@bp.get("/<int:group_id>/flags")
@role_required(*Role)
def flags(group_id: int):
    """The group's queue of posts flagged by members (leaders and assistants only)."""
    group, member = member_group(group_id, moderator=True)
    return render_template("groups/flags.html", group=group, member=member,
                           queue=moderation.flag_queue(group_id))


@bp.get("/<int:group_id>/overview")
@role_required(*Role)
def overview(group_id: int):
    """Activity per week, silent members, unanswered posts (leaders and assistants only)."""
    group, member = member_group(group_id, moderator=True)
    cohort = db.session.get(Cohort, group.cohort_id)
    return render_template("facilitator/group_overview.html", group=group, cohort=cohort,
                           member=member, overview=group_feed.overview(group))
