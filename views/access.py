"""Who may reach a view: the role check every view goes through, and one scoping helper per
object that finds it through the signed-in user's own link to it."""

from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user
from sqlalchemy import select

from models import Cohort, Group, GroupMembership, Participant, Study, StudyStaff, db
from program.courses.delivery import facilitates
from program.groups.access import group_membership
from views.extensions import login_manager


def role_required(*roles: str):
    """Signed-out visitors go to sign-in; signed-in users of another role get 403."""

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        wrapper.allowed_roles = roles  # read by the authorisation matrix test
        return wrapper

    return decorate


def public(view):
    """Mark a view that needs no sign-in (sign-in pages, token links); checked by tests."""
    view.allowed_roles = ("*",)
    return view


# --- scoping: each object through the signed-in user's link to it, else 404 (no IDOR) --------


def staff_studies() -> list[Study]:
    """The studies the signed-in user is on the staff of, oldest first."""
    return list(db.session.scalars(
        select(Study).join(StudyStaff, StudyStaff.study_id == Study.id)
        .where(StudyStaff.user_id == current_user.id).order_by(Study.id)))


def staff_study(study_id: int) -> Study:
    """A study the signed-in user is on the staff of (researchers, raters); 404 otherwise."""
    study = db.session.scalar(
        select(Study).join(StudyStaff, StudyStaff.study_id == Study.id)
        .where(Study.id == study_id, StudyStaff.user_id == current_user.id))
    return study or abort(404)


#: a researcher reaches a study through their staff row, as a rater does
researcher_study = staff_study


def researcher_participant(participant_id: int) -> Participant:
    """A participant of one of the signed-in researcher's studies; 404 otherwise."""
    participant = db.session.get(Participant, participant_id) or abort(404)
    staff_study(participant.study_id)
    return participant


def facilitator_cohort(cohort_id: int) -> Cohort:
    """A cohort the signed-in user facilitates; 404 otherwise."""
    cohort = db.session.get(Cohort, cohort_id)
    if cohort is None or not facilitates(current_user, cohort.id):
        abort(404)
    return cohort


def member_group(group_id: int, *, moderator: bool = False) -> tuple[Group, GroupMembership]:
    """A group the signed-in user is a member of (404 otherwise), with the membership; a
    moderator-only page refuses plain members with 403."""
    found = group_membership(current_user, group_id)
    if found is None:
        abort(404)
    group, member = found
    if moderator and not member.moderates:
        abort(403)
    return group, member
