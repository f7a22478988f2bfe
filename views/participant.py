"""The participant area: dashboard, sessions, practice, groups, questionnaires."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user
from sqlalchemy import select

from models import Participant, db
from views import navigation
from views.decorators import role_required

bp = Blueprint("participant", __name__, url_prefix="/me")
navigation.add("participant", "participant.dashboard", "This week", order=10)


def current_participant() -> Participant | None:
    """The signed-in participant's study record (one per account)."""
    return db.session.scalar(select(Participant).where(Participant.user_id == current_user.id))


@bp.get("/")
@role_required("participant")
def dashboard():
    """This week at a glance."""
    return render_template("participant/dashboard.html", participant=current_participant())
