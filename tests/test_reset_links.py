"""Password reset links: every outstanding link is spent by any use or password change, the
answer does the same work whether or not the address has an account, and no live link waits
in the outbox."""

from __future__ import annotations

import re
from contextlib import contextmanager

from sqlalchemy import event, select

from models import OutboxMessage, User, db, utcnow
from program.core.mail import sent_mail
from program.messaging.jobs import dispatch
from tests.conftest import post_form, sign_in
from tests.factories import gen_user

NEW = {"password": "fresh passphrase here", "confirm": "fresh passphrase here"}


def _reset_links(client, email, times=1) -> list[str]:
    """Ask for ``times`` links and send them; the paths of the links received, oldest first."""
    for _ in range(times):
        post_form(client, "/auth/reset", {"email": email})
        dispatch(utcnow())
    bodies = [m["body"] for m in sent_mail() if m["to"] == email]
    return [re.search(r"http://hearth\.test(/auth/reset/\S+)", b).group(1) for b in bodies]


def test_using_the_newest_link_spends_the_older_ones(client):
    user = gen_user("participant")
    older, newer = _reset_links(client, user.email, times=2)
    assert client.get(older).status_code == 200  # both work until one is used
    assert post_form(client, newer, NEW).status_code == 302
    assert client.get(older).status_code == 400
    assert post_form(client, older, {"password": "attacker pass 1", "confirm": "attacker pass 1"},
                     token_from="/auth/reset").status_code == 400
    assert sign_in(client, user, NEW["password"]).status_code == 302


def test_changing_the_password_spends_every_link(client):
    user = gen_user("participant")
    (link,) = _reset_links(client, user.email)
    sign_in(client, user)
    data = {"current": "correct horse battery", **NEW}
    assert post_form(client, "/auth/password", data).status_code == 302
    post_form(client, "/auth/sign-out", token_from="/me/")
    assert client.get(link).status_code == 400


def test_queued_reset_message_holds_no_link_and_sent_one_holds_no_body(client):
    user = gen_user("participant")
    post_form(client, "/auth/reset", {"email": user.email})
    queued = db.session.scalar(select(OutboxMessage))
    assert "/auth/reset/" not in queued.body_text + (queued.body_html or "")
    assert sent_mail() == []  # nothing is sent while the request waits
    dispatch(utcnow())
    db.session.expire_all()
    sent = db.session.scalar(select(OutboxMessage))
    assert sent.status == "sent" and sent.body_text == "" and sent.body_html is None
    assert sent.subject and sent.kind == "password_reset"  # what the contact log needs
    (mail,) = sent_mail()
    assert "/auth/reset/" in mail["body"] and "hearth-link" not in mail["body"]
    assert 'href="http://hearth.test/auth/reset/' in mail["html"]


_TABLE = re.compile(r'\b(?:FROM|INTO|UPDATE)\s+"?(\w+)', re.IGNORECASE)


@contextmanager
def _statements():
    """The (verb, first table) of every SQL statement run meanwhile."""
    seen: list[tuple[str, str]] = []

    def note(_conn, _cursor, statement, *_args):
        table = _TABLE.search(statement)
        seen.append((statement.split(None, 1)[0].upper(), table.group(1) if table else ""))

    engine = db.engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def _work_of_a_reset_request(client, email) -> list[tuple[str, str]]:
    page = client.get("/auth/reset")  # the token comes first, outside the measured request
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"',
                      page.get_data(as_text=True)).group(1)
    with _statements() as seen:
        response = client.post("/auth/reset", data={"email": email, "csrf_token": token})
    assert response.status_code == 302
    return seen


def test_reset_request_does_the_same_work_with_or_without_an_account(client):
    user = gen_user("participant")
    disabled = gen_user("participant", active=False)
    known = _work_of_a_reset_request(client, user.email)
    unknown = _work_of_a_reset_request(client, "nobody@example.org")
    inactive = _work_of_a_reset_request(client, disabled.email)
    assert ("INSERT", "outbox_messages") in known and ("INSERT", "audit_entries") in known
    assert unknown == known and inactive == known
    assert sent_mail() == []  # no path talks to the mail server during the request
    dispatch(utcnow())
    assert [m["to"] for m in sent_mail()] == [user.email]


def test_a_participant_who_stopped_all_contact_still_gets_the_reset_they_asked_for(client):
    from tests.factories import gen_participant, gen_study

    person = gen_participant(gen_study(), withdrawal_kind="stop_contact")
    user = db.session.get(User, person.user_id)
    (link,) = _reset_links(client, user.email)
    assert client.get(link).status_code == 200
