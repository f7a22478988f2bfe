"""The facilitator area: cohorts, meetings, attendance, groups to moderate."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user
from sqlalchemy import select

from models import Cohort, CohortFacilitator, Group, GroupMembership, db
from views import navigation
from views.decorators import role_required

bp = Blueprint("facilitator", __name__, url_prefix="/facilitate")
navigation.add("facilitator", "facilitator.home", "Cohorts", order=10)


@bp.get("/")
@role_required("facilitator")
def home():
    """The cohorts this facilitator runs and the groups they lead or assist."""
    cohorts = db.session.scalars(
        select(Cohort)
        .join(CohortFacilitator)
        .where(CohortFacilitator.user_id == current_user.id)
        .order_by(Cohort.start_date)
    ).all()
    groups = db.session.execute(
        select(Group, GroupMembership.role)
        .join(GroupMembership)
        .where(GroupMembership.user_id == current_user.id)
        .order_by(Group.cohort_id, Group.name)
    ).all()
    return render_template("facilitator/home.html", cohorts=cohorts, groups=groups)
