"""The audit log: one registry of actions, readable on the admin's page and filtered by action."""

from __future__ import annotations

import pytest

from models import db, write_transaction
from program.core import audit
from program.core.audit import AuditAction
from tests.conftest import sign_in
from tests.factories import gen_user


def _log_rows(client, path: str = "/admin/") -> str:
    page = client.get(path).get_data(as_text=True)
    section = page[page.index('id="audit"'):]
    return section[section.index("<tbody>"):section.index("</tbody>")]


def test_an_action_outside_the_registry_is_refused(app):
    with pytest.raises(ValueError), write_transaction():
        audit.record("made.up", None)


def test_every_action_has_a_label_of_its_own():
    labels = [action.label for action in AuditAction]
    assert len(set(labels)) == len(labels)
    assert all("." not in label and "_" not in label for label in labels)


def test_admin_reads_who_did_what_by_name_and_filters_by_action(client):
    admin = gen_user("admin", display_name="Ada Admin")
    researcher = gen_user("researcher", display_name="Rhea Researcher")
    with write_transaction():
        audit.record(AuditAction.ARM_CREATED, researcher, actor=researcher)
        audit.record(AuditAction.ALLOCATION_LIST_GENERATED, researcher, actor=researcher)
    db.session.commit()
    sign_in(client, admin)

    rows = _log_rows(client)
    assert "Rhea Researcher" in rows and "generated the allocation list" in rows
    assert "added an arm" in rows and "allocation_list.generated" not in rows
    assert f">{researcher.id}<" not in rows

    rows = _log_rows(client, "/admin/?action=arm.created")
    assert "added an arm" in rows and "generated the allocation list" not in rows
    assert 'value="arm.created" selected' in client.get("/admin/?action=arm.created").get_data(
        as_text=True)
    assert "generated the allocation list" in _log_rows(client, "/admin/?action=nonsense")


def test_the_admin_page_is_in_the_readers_language(client):
    admin = gen_user("admin", locale="ja")
    with write_transaction():
        audit.record(AuditAction.SIGN_IN, admin, actor=admin)
    db.session.commit()
    sign_in(client, admin)
    rows = _log_rows(client)
    assert "サインイン" in rows and "signed in" not in rows


def test_the_object_of_an_entry_is_named_people_by_name_or_pseudonymous_code(client):
    from tests.factories import gen_participant, gen_study

    admin = gen_user("admin")
    researcher = gen_user("researcher", display_name="Rhea Researcher")
    participant = gen_participant(gen_study())
    with write_transaction():
        audit.record(AuditAction.ROLE_CHANGED, researcher, actor=admin)
        audit.record(AuditAction.PARTICIPANT_CONSENTED, participant, actor=researcher)
    db.session.commit()
    sign_in(client, admin)
    rows = _log_rows(client)
    assert f"<td>{participant.code}</td>" in rows
    assert "<td>Rhea Researcher</td>" in rows
    assert "User " not in rows and "Participant " not in rows
    assert f">{participant.id}<" not in rows and f"Participant {participant.id}" not in rows
