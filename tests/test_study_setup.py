"""Study setup through the pages: arms, cohorts, timepoints and a group's leaders."""

from __future__ import annotations

from datetime import time

import pytest
from sqlalchemy import func, select

from models import Arm, AuditEntry, Cohort, GroupMembership, Timepoint, db
from program.trial import allocation
from tests.conftest import post_form
from tests.factories import gen_cohort, gen_group, gen_staff, gen_study, gen_timepoint, gen_user

COHORT = {"name": "Spring", "start_date": "2027-03-01", "timezone": "Asia/Tokyo",
          "meeting_weekday": "0", "meeting_time": "19:30", "cadence_days": "7",
          "session_count": "12", "release_lead_minutes": "60",
          "video_link": "https://video.example.org/room", "min_minutes_present": "45",
          "status": "planned"}
TIMEPOINT = {"key": "post", "label": "Week 8", "position": "2", "opens_day": "56",
             "closes_day": "70", "instruments": ["BDI-II", "DASS-21"]}


def _researcher(study):
    user = gen_user("researcher")
    gen_staff(study, user)
    return user


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_arms_are_created_edited_and_fixed_once_the_list_exists(app, as_user):
    study = gen_study(randomisation_method="blocks",
                      randomisation_settings={"seed": 7, "block_sizes": [3], "list_length": 6})
    client = as_user(_researcher(study))
    page = f"/research/studies/{study.id}/arms"
    assert client.get(page).status_code == 200
    done = post_form(client, page, {"key": "WL", "name": "Wait list", "allocation_ratio": "2"})
    assert done.status_code == 302
    arm = db.session.scalar(select(Arm).where(Arm.study_id == study.id, Arm.key == "WL"))
    assert arm.name == "Wait list" and arm.allocation_ratio == 2 and not arm.receives_program
    edit = f"{page}?arm={arm.id}"
    assert "Wait list" in client.get(edit).get_data(as_text=True)
    assert post_form(client, edit, {"key": "WL", "name": "Waiting", "receives_program": "y",
                                    "allocation_ratio": "1"}).status_code == 302
    db.session.refresh(arm)
    assert arm.name == "Waiting" and arm.receives_program and arm.allocation_ratio == 1

    # bad input: a duplicate key, a zero ratio; nothing written
    arms, audits = _count(Arm), _count(AuditEntry)
    for bad in ({"key": "CFT", "name": "Again", "allocation_ratio": "1"},
                {"key": "X", "name": "X", "allocation_ratio": "0"},
                {"key": "", "name": "X", "allocation_ratio": "1"}):
        response = post_form(client, page, bad)
        assert response.status_code == 200
        assert 'class="error' in response.get_data(as_text=True)
    assert (_count(Arm), _count(AuditEntry)) == (arms, audits)

    allocation.generate_allocation_list(study.id, actor=None)
    response = post_form(client, edit, {"key": "WL", "name": "Changed", "allocation_ratio": "1"},
                         token_from=page)
    assert response.status_code == 200
    assert "the arms are fixed" in response.get_data(as_text=True)
    db.session.refresh(arm)
    assert arm.name == "Waiting"


def test_cohorts_are_created_and_edited(app, as_user):
    study = gen_study()
    client = as_user(_researcher(study))
    page = f"/research/studies/{study.id}/cohorts"
    assert post_form(client, page, COHORT).status_code == 302
    cohort = db.session.scalar(select(Cohort).where(Cohort.study_id == study.id))
    assert (cohort.timezone, cohort.meeting_time, cohort.session_count, cohort.program,
            cohort.release_lead_minutes, cohort.min_minutes_present) == (
        "Asia/Tokyo", time(19, 30), 12, "cft", 60, 45)
    edit = f"/research/cohorts/{cohort.id}/edit"
    assert "Spring" in client.get(edit).get_data(as_text=True)
    assert post_form(client, edit, {**COHORT, "status": "running", "meeting_weekday": "2"}
                     ).status_code == 302
    db.session.refresh(cohort)
    assert cohort.status == "running" and cohort.meeting_weekday == 2

    before = (_count(Cohort), _count(AuditEntry))
    for bad in ({**COHORT, "name": "Autumn", "timezone": "Mars/Olympus"},
                {**COHORT, "name": "Autumn", "session_count": "0"},
                {**COHORT, "name": "Autumn", "video_link": "not a link"},
                {**COHORT, "name": "Autumn", "meeting_time": "25:00"},
                COHORT):  # the name is taken
        response = post_form(client, page, bad)
        assert response.status_code == 200, bad
    assert (_count(Cohort), _count(AuditEntry)) == before


def test_timepoints_are_created_and_edited(app, as_user):
    study = gen_study()
    gen_timepoint(study, "pre", 1)
    client = as_user(_researcher(study))
    page = f"/research/studies/{study.id}/timepoints"
    assert "BDI-II" in client.get(page).get_data(as_text=True)
    assert post_form(client, page, TIMEPOINT).status_code == 302
    tp = db.session.scalar(select(Timepoint).where(Timepoint.key == "post"))
    assert (tp.label, tp.position, tp.opens_day, tp.closes_day, tp.instruments) == (
        "Week 8", 2, 56, 70, ["BDI-II", "DASS-21"])
    edit = f"/research/timepoints/{tp.id}/edit"
    assert post_form(client, edit, {**TIMEPOINT, "label": "Post", "instruments": ["SWLS"]}
                     ).status_code == 302
    db.session.refresh(tp)
    assert tp.label == "Post" and tp.instruments == ["SWLS"]

    before = (_count(Timepoint), _count(AuditEntry))
    for bad in ({**TIMEPOINT, "key": "fu", "position": "3", "instruments": ["NOPE"]},
                {**TIMEPOINT, "key": "fu", "position": "3", "instruments": []},
                {**TIMEPOINT, "key": "fu", "position": "3", "closes_day": "10"},
                {**TIMEPOINT, "key": "fu", "position": "1"},
                {**TIMEPOINT, "position": "3"}):
        assert post_form(client, page, bad).status_code == 200, bad
    assert (_count(Timepoint), _count(AuditEntry)) == before


def test_group_leaders_and_assistants_are_set_by_hand(app, as_user):
    study = gen_study()
    cohort = gen_cohort(study)
    lead, helper, member = gen_user("facilitator"), gen_user("facilitator"), gen_user()
    group = gen_group(cohort, members=[member], leaders=[lead])
    client = as_user(_researcher(study))
    page = f"/research/groups/{group.id}/staff"
    assert lead.display_name in client.get(page).get_data(as_text=True)
    assert post_form(client, page, {"leaders": [str(helper.id)],
                                    "assistants": [str(lead.id)]}).status_code == 302
    roles = dict(db.session.execute(select(GroupMembership.user_id, GroupMembership.role)
                                    .where(GroupMembership.group_id == group.id)).all())
    assert roles == {member.id: "member", helper.id: "leader", lead.id: "assistant"}

    before = (sorted(roles.items()), _count(AuditEntry))
    for bad in ({"leaders": [str(helper.id)], "assistants": [str(helper.id)]},
                {"leaders": [str(member.id)]}):
        assert post_form(client, page, bad).status_code == 200, bad
    after = dict(db.session.execute(select(GroupMembership.user_id, GroupMembership.role)
                                    .where(GroupMembership.group_id == group.id)).all())
    assert (sorted(after.items()), _count(AuditEntry)) == before


@pytest.mark.parametrize("role", ["participant", "facilitator", "rater", "admin"])
def test_other_roles_are_refused(app, as_user, role):
    study = gen_study()
    cohort = gen_cohort(study)
    group = gen_group(cohort)
    tp = gen_timepoint(study)
    client = as_user(gen_user(role))
    for path in (f"/research/studies/{study.id}/arms", f"/research/studies/{study.id}/cohorts",
                 f"/research/cohorts/{cohort.id}/edit", f"/research/timepoints/{tp.id}/edit",
                 f"/research/studies/{study.id}/timepoints", f"/research/groups/{group.id}/staff"):
        assert client.get(path).status_code == 403, path
        assert post_form(client, path, {}, token_from="/auth/password").status_code == 403


def test_another_studys_setup_is_not_found(app, as_user):
    study, mine = gen_study(), gen_study()
    cohort = gen_cohort(study)
    group = gen_group(cohort)
    tp = gen_timepoint(study)
    client = as_user(_researcher(mine))
    arm = study.arms[0]
    before = (_count(Arm), _count(Cohort), _count(Timepoint), _count(AuditEntry))
    for path in (f"/research/studies/{study.id}/arms", f"/research/studies/{study.id}/cohorts",
                 f"/research/cohorts/{cohort.id}/edit", f"/research/timepoints/{tp.id}/edit",
                 f"/research/studies/{study.id}/timepoints", f"/research/groups/{group.id}/staff",
                 f"/research/studies/{mine.id}/arms?arm={arm.id}"):
        assert client.get(path).status_code == 404, path
        assert post_form(client, path, {**COHORT, **TIMEPOINT}, token_from="/auth/password"
                         ).status_code == 404, path
    assert (_count(Arm), _count(Cohort), _count(Timepoint), _count(AuditEntry)) == before


def test_a_required_checkbox_group_asks_for_one_box_not_every_box(app):
    from flask_wtf import FlaskForm
    from wtforms.validators import DataRequired

    from views.forms import MultiCheckboxField, options

    class Form(FlaskForm):
        things = MultiCheckboxField("Things", choices=options([("a", "A"), ("b", "B")]),
                                    validators=[DataRequired()])

    with app.test_request_context(method="POST", data={"things": "b"}):
        form = Form(meta={"csrf": False})
        assert "required" not in str(form.things)
        assert form.validate() and form.things.data == ["b"]
    with app.test_request_context(method="POST", data={}):
        assert not Form(meta={"csrf": False}).validate()
