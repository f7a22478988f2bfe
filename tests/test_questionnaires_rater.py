"""Clinician ratings: entered by a rater of the study, scored, and blind to arm and group."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from models import AuditEntry, Response, Score, db, utcnow
from tests.conftest import post_form
from tests.factories import (
    gen_cohort,
    gen_group,
    gen_participant,
    gen_staff,
    gen_study,
    gen_timepoint,
    gen_user,
)


def _setup():
    study = gen_study("rct", "cft", arms=[("ARMALPHA", True), ("ARMBETA", False)],
                      title="Depression trial")
    # starts in a week: the "pre" window (two weeks before the start to the start) is open
    cohort = gen_cohort(study, start_date=utcnow().date() + timedelta(days=7))
    tp = gen_timepoint(study, "pre", 1, ["BDI-II", "GRID-HAMD"], -14, 0)
    treated = gen_participant(study, arm="ARMALPHA", cohort=cohort, code="P-0001")
    control = gen_participant(study, arm="ARMBETA", cohort=cohort, code="P-0002")
    gen_group(cohort, members=[treated.user], name="GROUPNAME therapy")
    rater = gen_user("rater")
    gen_staff(study, rater, blind=True)
    return study, tp, treated, control, rater


def test_a_blind_raters_pages_never_show_arm_or_group(app, as_user):
    study, tp, treated, control, rater = _setup()
    client = as_user(rater)
    pages = [client.get("/rate/")] + [
        client.get(f"/rate/{study.id}/{p.id}/{tp.id}/GRID-HAMD") for p in (treated, control)]
    for page in pages:
        text = page.get_data(as_text=True)
        assert page.status_code == 200
        assert "P-0001" in text or "P-0002" in text
        for secret in ("ARMALPHA", "ARMBETA", "GROUPNAME"):
            assert secret not in text
    assert "BDI-II" not in pages[0].get_data(as_text=True)  # self-report is not rated


def test_a_rating_is_scored_and_attributed_to_the_rater(app, as_user):
    study, tp, treated, _control, rater = _setup()
    client = as_user(rater)
    path = f"/rate/{study.id}/{treated.id}/{tp.id}/GRID-HAMD"
    partial = post_form(client, path, {"item-1": "3", "action": "submit"})
    assert partial.status_code == 200 and "item 17" in partial.get_data(as_text=True)
    answers = {f"item-{n}": "1" for n in range(1, 18)}
    done = post_form(client, path, answers | {"action": "submit"})
    assert done.status_code == 302
    response = db.session.scalar(select(Response))
    assert response.entered_by_id == rater.id and response.status == "submitted"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "response.rated"))
    assert entry.actor_id == rater.id and entry.details == {"instrument": "GRID-HAMD"}
    assert db.session.scalar(select(Score.value)) == 17.0
    assert "submitted" in client.get(path).get_data(as_text=True)


def test_raters_of_other_studies_and_other_roles_cannot_rate(app, as_user, client):
    study, tp, treated, _control, _rater = _setup()
    outsider = gen_user("rater")
    gen_staff(gen_study(), outsider)
    path = f"/rate/{study.id}/{treated.id}/{tp.id}/GRID-HAMD"
    signed_in = as_user(outsider)
    assert signed_in.get(path).status_code == 404
    assert signed_in.get(f"/rate/{study.id}/{treated.id}/{tp.id}/BDI-II").status_code == 404
    post_form(client, "/auth/sign-out", token_from="/rate/")
    assert as_user(treated.user).get(path).status_code == 403
