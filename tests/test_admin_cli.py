"""``flask admin create``: the one command a deployment needs before anyone can sign in."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from models import AuditEntry, User, db
from program.accounts.passwords import find_user, password_matches
from tests.conftest import sign_in

PASSWORD = "a long enough passphrase"


def _create(runner, *args, password=PASSWORD, again=None):
    typed = f"{password}\n{password if again is None else again}\n"
    return runner.invoke(args=["admin", "create", *args], input=typed)


def test_creates_an_admin_who_can_sign_in(app, runner, client):
    result = _create(runner, "--email", "Ada@Example.org", "--name", "Ada Admin")
    assert result.exit_code == 0, result.output
    assert "Created the admin account ada@example.org" in result.output
    assert PASSWORD not in result.output
    user = find_user("ada@example.org")
    assert (user.role, user.display_name, user.active) == ("admin", "Ada Admin", True)
    assert password_matches(user, PASSWORD)
    assert db.session.scalar(select(AuditEntry.action).where(
        AuditEntry.object_id == user.id)) == "admin.account_created"
    assert sign_in(client, user, PASSWORD).headers["Location"] == "/admin/"


def test_role_and_name_are_optional_and_the_name_defaults_from_the_email(app, runner):
    assert _create(runner, "--email", "sam@example.org").exit_code == 0
    assert (find_user("sam@example.org").role, find_user("sam@example.org").display_name) == (
        "admin", "sam")
    assert _create(runner, "--email", "res@example.org", "--role", "Researcher").exit_code == 0
    assert find_user("res@example.org").role == "researcher"


@pytest.mark.parametrize(("args", "password", "message"), [
    (["--email", "taken@example.org"], PASSWORD, "exists already"),
    (["--email", "new@example.org", "--role", "boss"], PASSWORD, "Unknown role: boss."),
    (["--email", "not-an-address"], PASSWORD, "not an email address"),
    (["--email", "new@example.org"], "short", "at least 8 characters"),
])
def test_bad_input_exits_2_with_one_line_and_creates_nothing(app, runner, args, password,
                                                            message):
    assert _create(runner, "--email", "taken@example.org").exit_code == 0
    before = db.session.scalar(select(func.count()).select_from(User))
    result = _create(runner, *args, password=password)
    assert result.exit_code == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error")]
    assert len(errors) == 1 and message in errors[0], result.stderr
    assert db.session.scalar(select(func.count()).select_from(User)) == before


def test_the_password_is_asked_twice_until_both_match(app, runner):
    typed = f"{PASSWORD}\nsomething else\n{PASSWORD}\n{PASSWORD}\n"
    result = runner.invoke(args=["admin", "create", "--email", "two@example.org"], input=typed)
    assert result.exit_code == 0, result.output
    assert password_matches(find_user("two@example.org"), PASSWORD)
