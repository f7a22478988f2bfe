"""The researcher area: studies, screening, randomisation, exports, reports."""

from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import func, select

from models import Arm, Participant, Study, db
from views import navigation
from views.decorators import role_required

bp = Blueprint("researcher", __name__, url_prefix="/research")
navigation.add("researcher", "researcher.home", "Studies", order=10)


@bp.get("/")
@role_required("researcher")
def home():
    """Every study with its participants per arm and status."""
    studies = db.session.scalars(select(Study).order_by(Study.id)).all()
    counts = db.session.execute(
        select(Participant.study_id, Arm.key, Participant.status, func.count())
        .outerjoin(Arm, Participant.arm_id == Arm.id)
        .group_by(Participant.study_id, Arm.key, Participant.status)
    ).all()
    by_study: dict[int, list] = {}
    for study_id, arm, status, n in counts:
        by_study.setdefault(study_id, []).append((arm or "—", status, n))
    return render_template("researcher/home.html", studies=studies, counts=by_study)
