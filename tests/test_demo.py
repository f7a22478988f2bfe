"""The demo seed: every role has a login, and seeding twice changes nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from models import Arm, Participant, Study, User, db
from program import demo
from program.trial import checklist, studies
from tests.conftest import sign_in


def _row_counts() -> dict[str, int]:
    return {
        table.name: db.session.scalar(select(func.count()).select_from(table))
        for table in db.metadata.sorted_tables
    }


def test_seed_is_idempotent(runner, app):
    first = runner.invoke(args=["demo", "seed"])
    assert first.exit_code == 0, first.output
    counts = _row_counts()
    second = runner.invoke(args=["demo", "seed"])
    assert second.exit_code == 0, second.output
    db.session.expire_all()
    assert _row_counts() == counts
    assert counts["users"] > 40 and counts["participants"] == 51
    assert counts["practice_logs"] > 0 and counts["posts"] > 0 and counts["responses"] > 0


def test_seed_prints_a_login_for_every_role(runner):
    result = runner.invoke(args=["demo", "seed"])
    for role in ("participant", "facilitator", "rater", "researcher", "admin"):
        assert role in result.output
    assert "admin@hearth.example" in result.output


def test_if_empty_skips_a_database_with_accounts(runner):
    runner.invoke(args=["demo", "seed"])
    result = runner.invoke(args=["demo", "seed", "--if-empty"])
    assert "skipped" in result.output


def test_demo_studies_have_the_shape_of_the_brief(app):
    demo.seed(app.config["DEMO_PASSWORD"])
    cft = db.session.scalar(select(Study).where(Study.key == "cft-demo"))
    msc = db.session.scalar(select(Study).where(Study.key == "msc-demo"))
    assert cft.design == "rct" and [a.key for a in cft.arms] == ["CFT", "UC"]
    assert msc.design == "single_arm" and [a.key for a in msc.arms] == ["MSC"]


def test_every_demo_login_reaches_its_home(app):
    demo.seed(app.config["DEMO_PASSWORD"])
    homes = {"participant": "/me/", "facilitator": "/facilitate/", "rater": "/rate/",
             "researcher": "/research/", "admin": "/admin/"}
    for email, _name, role, _note in demo.seed(app.config["DEMO_PASSWORD"]):
        user = db.session.scalar(select(User).where(User.email == email))
        client = app.test_client()  # a fresh browser per login
        response = sign_in(client, user, app.config["DEMO_PASSWORD"])
        assert response.headers["Location"] == homes[role]
        assert client.get(homes[role]).status_code == 200


def test_every_demo_study_is_set_up_completely_through_the_set_up_steps(runner, app):
    """The seed takes the steps the pages take: each study's checklist is complete, the CFT
    trial's allocation list is generated and used by its randomised participants."""
    assert runner.invoke(args=["demo", "seed"]).exit_code == 0
    for key in ("cft-demo", "msc-demo"):
        study = db.session.scalar(select(Study).where(Study.key == key))
        missing = [c.step for c in checklist.checklist(study) if not c.done and not c.optional]
        assert missing == [], (key, missing)
        assert checklist.ready(study)
    cft = db.session.scalar(select(Study).where(Study.key == "cft-demo"))
    slots, used, _strata = studies.allocation_summary(cft.id)
    assert slots == 40 and used == 18
    arms = db.session.execute(select(Arm.key, func.count()).join(Participant).where(
        Participant.study_id == cft.id).group_by(Arm.key)).all()
    assert dict(arms) == {"CFT": 10, "UC": 8}
    # everyone allocated has their baseline characteristics, entered before randomisation
    people = db.session.scalars(select(Participant).where(Participant.arm_id.is_not(None)))
    assert all({"gender", "age"} <= set(p.baseline or {}) for p in people)


def test_the_demo_participants_have_a_questionnaire_to_fill_in_this_week(app):
    from program.assessments.questionnaires import open_questionnaires

    demo.seed(app.config["DEMO_PASSWORD"])
    for login, timepoint in (("cft.participant", "mid"), ("msc.participant", "week3")):
        user = db.session.scalar(select(User).where(User.email == demo.demo_email(login)))
        participant = db.session.scalar(select(Participant).where(
            Participant.user_id == user.id))
        pending = open_questionnaires(participant)
        assert [q.timepoint.key for q in pending] == [timepoint], login
