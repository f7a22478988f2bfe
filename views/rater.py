"""The rater area: clinician-rated instruments, blind to arm and group."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user
from sqlalchemy import select

from models import Study, StudyStaff, db
from views import navigation
from views.decorators import role_required

bp = Blueprint("rater", __name__, url_prefix="/rate")
navigation.add("rater", "rater.home", "Ratings", order=10)


@bp.get("/")
@role_required("rater")
def home():
    """Studies this rater rates for (the pages never show arm or group)."""
    studies = db.session.scalars(
        select(Study).join(StudyStaff).where(StudyStaff.user_id == current_user.id)
    ).all()
    return render_template("rater/home.html", studies=studies)
