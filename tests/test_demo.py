"""The demo seed: every role has a login, and seeding twice changes nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from models import Study, User, db
from program import demo
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
