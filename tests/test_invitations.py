"""Invitations, through the pages: from an empty database an admin made by ``flask admin
create`` invites staff (one by one and from a CSV), the email is read from the outbox, the link
creates the account once; expired, used, resent and revoked links are refused; roles change
with an audit entry; a researcher invites an enrolled participant."""

from __future__ import annotations

import html
import io
import logging
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from models import AuditEntry, Invitation, OutboxMessage, Participant, User, db, utcnow
from program.accounts.passwords import find_user
from program.messaging.jobs import dispatch
from tests.conftest import post_form, sign_in
from tests.factories import gen_staff, gen_user
from tests.factories_trial import gen_trial

ADMIN_PASSWORD = "the first admin's passphrase"
NEW_PASSWORD = "a brand new passphrase"
_LINK = re.compile(r"http://hearth\.test(/invitation/[A-Za-z0-9_-]+)")


@pytest.fixture
def admin(app, runner) -> User:
    """The first account of an empty database, made by the command line."""
    assert db.session.scalar(select(func.count()).select_from(User)) == 0
    result = runner.invoke(args=["admin", "create", "--email", "root@example.org", "--name",
                                 "Rosa Admin"], input=f"{ADMIN_PASSWORD}\n{ADMIN_PASSWORD}\n")
    assert result.exit_code == 0, result.output
    return find_user("root@example.org")


@pytest.fixture
def admin_client(app, admin):
    client = app.test_client()
    sign_in(client, admin, ADMIN_PASSWORD)
    return client


def _invite(client, email="r.sato@example.org", name="Ren Sato", role="researcher",
            language="ja"):
    return post_form(client, "/admin/invitations",
                     {"email": email, "name": name, "role": role, "language": language})


def _emails_to(address: str) -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.recipient_email == address).order_by(OutboxMessage.id)))


def _link(message: OutboxMessage) -> str:
    return _LINK.search(message.body_text).group(1)


def _accept(client, path: str, name="Ren Sato", password=NEW_PASSWORD, confirm=None):
    return post_form(client, path, {"name": name, "password": password,
                                    "confirm": password if confirm is None else confirm})


def _actions() -> list[str]:
    return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_from_an_empty_database_an_invited_researcher_signs_in(app, admin, admin_client,
                                                               caplog):
    caplog.set_level(logging.DEBUG)
    response = _invite(admin_client)
    assert response.status_code == 302
    assert "r.sato@example.org" in html.unescape(
        admin_client.get("/admin/invitations").get_data(as_text=True))

    (message,) = _emails_to("r.sato@example.org")
    assert message.recipient_id is None and message.kind == "invitation"
    assert message.subject == "Hearth へのご招待"  # in the invitee's language
    assert "Rosa Admin" in message.body_text and "研究者" in message.body_text
    path = _link(message)
    token = path.rsplit("/", 1)[1]
    invitation = db.session.scalar(select(Invitation))
    assert token not in invitation.token_hash and len(invitation.token_hash) == 64

    assert dispatch(utcnow()).sent == 1  # the outbox sends to the address
    sent = app.extensions["sent_mail"][-1]
    assert sent["to"] == "r.sato@example.org" and path in sent["body"] and path in sent["html"]
    db.session.refresh(message)
    assert (message.status, message.body_text, message.body_html) == ("sent", "", None)

    invitee = app.test_client()
    page = invitee.get(path)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert 'value="Ren Sato"' in page.get_data(as_text=True)
    response = _accept(invitee, path)
    assert response.status_code == 302 and response.headers["Location"] == "/research/"
    assert invitee.get("/research/").status_code == 200  # signed in at once

    user = find_user("r.sato@example.org")
    assert (user.role, user.display_name, user.locale) == ("researcher", "Ren Sato", "ja")
    assert invitation.used_at is not None and invitation.user_id == user.id
    assert invitee.get(path).status_code == 400  # used: the link works once
    post_form(invitee, "/auth/sign-out", token_from="/research/")
    assert sign_in(app.test_client(), user, NEW_PASSWORD).headers["Location"] == "/research/"

    assert ["admin.account_created", "auth.sign_in", "invitation.sent", "invitation.accepted",
            "auth.sign_in"] == [a for a in _actions() if a != "auth.sign_out"][:5]
    assert token not in caplog.text


def test_staff_under_the_two_factor_policy_enrol_right_after_accepting(app, admin_client):
    _invite(admin_client, role="admin", language="en")
    app.config["STAFF_TWO_FACTOR"] = "required"
    invitee = app.test_client()
    response = _accept(invitee, _link(_emails_to("r.sato@example.org")[0]))
    assert response.headers["Location"] == "/settings/two-factor"
    assert invitee.get("/admin/").headers["Location"] == "/settings/two-factor"


def test_the_invite_form_shows_its_errors_and_writes_nothing(app, admin, admin_client):
    before = _actions()
    for data, message in [
        ({"email": "not-an-address"}, "Invalid email address."),
        ({"email": "root@example.org"}, "An account with this email address exists already."),
        ({"role": "participant"}, "Not a valid choice."),
        ({"name": ""}, "This field is required."),
    ]:
        fields = {"email": "new@example.org", "name": "New", "role": "rater", "language": "en",
                  **data}
        response = post_form(admin_client, "/admin/invitations", fields)
        assert response.status_code == 200
        assert message in html.unescape(response.get_data(as_text=True)), data
    assert _invite(admin_client, email="twice@example.org").status_code == 302
    response = _invite(admin_client, email="Twice@example.org")
    assert response.status_code == 409  # already invited: a conflict with what is stored
    assert "An invitation to this email address is pending already." in html.unescape(
        response.get_data(as_text=True))
    assert db.session.scalar(select(func.count()).select_from(Invitation)) == 1
    assert _actions()[len(before):] == ["invitation.sent"]


def test_the_database_holds_one_open_invitation_per_address_and_participant(app, admin):
    """Two requests that both pass the "none pending" check cannot both write: the partial
    unique indexes refuse the second open invitation (a revoked or used one does not count)."""
    def row(email, **fields):
        return Invitation(email=email, role="rater", token_hash=f"h-{email}-{len(fields)}",
                          expires_at=utcnow() + timedelta(days=7), **fields)

    db.session.add(row("one@example.org"))
    db.session.commit()
    db.session.add(row("one@example.org"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    db.session.add_all([row("one@example.org", revoked_at=utcnow()),
                        row("one@example.org", used_at=utcnow(), locale="en")])
    db.session.commit()
    person = Participant(study_id=gen_trial().id, code="I-0001", status="randomised")
    db.session.add(person)
    db.session.commit()
    db.session.add(row("two@example.org", participant_id=person.id))
    db.session.commit()
    db.session.add(row("three@example.org", participant_id=person.id))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_an_expired_link_is_refused(app, admin_client):
    _invite(admin_client)
    path = _link(_emails_to("r.sato@example.org")[0])
    db.session.scalar(select(Invitation)).expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    invitee = app.test_client()
    assert invitee.get(path).status_code == 400
    assert _accept(invitee, path, ).status_code == 400
    assert find_user("r.sato@example.org") is None


def test_a_revoked_link_is_refused(app, admin_client):
    _invite(admin_client)
    invitation = db.session.scalar(select(Invitation))
    path = _link(_emails_to("r.sato@example.org")[0])
    response = post_form(admin_client, f"/admin/invitations/{invitation.id}/revoke",
                         token_from="/admin/invitations")
    assert response.status_code == 302
    assert app.test_client().get(path).status_code == 400
    cancelled = _emails_to("r.sato@example.org")[0]
    assert (cancelled.status, cancelled.body_text) == ("cancelled", "")  # never sent
    assert "No pending invitations." in admin_client.get("/admin/invitations").get_data(
        as_text=True)
    assert "invitation.revoked" in _actions()
    # the address may be invited again
    assert _invite(admin_client).status_code == 302


def test_a_resent_link_replaces_the_old_one(app, admin_client):
    _invite(admin_client)
    invitation = db.session.scalar(select(Invitation))
    old = _link(_emails_to("r.sato@example.org")[0])
    post_form(admin_client, f"/admin/invitations/{invitation.id}/resend",
              token_from="/admin/invitations")
    first, second = _emails_to("r.sato@example.org")
    assert first.status == "cancelled" and second.status == "pending"
    new = _link(second)
    assert new != old
    invitee = app.test_client()
    assert invitee.get(old).status_code == 400
    assert _accept(invitee, new).status_code == 302
    assert "invitation.resent" in _actions()
    # a used invitation can be neither resent nor revoked
    response = post_form(admin_client, f"/admin/invitations/{invitation.id}/revoke",
                         token_from="/admin/invitations", follow_redirects=True)
    assert "This invitation is no longer open." in html.unescape(response.get_data(as_text=True))


def test_a_weak_or_mismatched_password_is_refused_and_the_link_still_works(app, admin_client):
    _invite(admin_client)
    path = _link(_emails_to("r.sato@example.org")[0])
    invitee = app.test_client()
    assert "at least 8 characters" in _accept(invitee, path, password="short").get_data(
        as_text=True)
    assert "The passwords differ." in _accept(invitee, path, confirm="other").get_data(
        as_text=True)
    assert find_user("r.sato@example.org") is None
    assert _accept(invitee, path).status_code == 302


def test_a_signed_in_visitor_is_asked_to_sign_out_first(app, admin_client):
    _invite(admin_client)
    path = _link(_emails_to("r.sato@example.org")[0])
    page = admin_client.get(path).get_data(as_text=True)
    assert "Sign out first" in page
    assert _accept(admin_client, path).status_code == 200
    assert find_user("r.sato@example.org") is None


def _upload(client, text: str):
    return post_form(client, "/admin/invitations/bulk",
                     {"file": (io.BytesIO(text.encode()), "staff.csv")},
                     token_from="/admin/invitations/bulk", content_type="multipart/form-data")


BULK_OK = ("email,name,role,language\n"
           "a.one@example.org,A One,facilitator,en\n"
           "b.two@example.org,B Two,rater,zh\n"
           "c.three@example.org,C Three,researcher,ja\n")


def test_bulk_invitation_with_one_bad_row_writes_nothing_and_names_the_row(app, admin_client):
    _invite(admin_client, email="pending@example.org")
    before = (db.session.scalar(select(func.count()).select_from(Invitation)), _actions())
    bad = (BULK_OK + "d.four@example,D Four,boss,fr\n" + "a.one@example.org,A Again,rater,en\n"
           + "root@example.org,Root,admin,en\n" + "pending@example.org,P,rater,en\n")
    page = html.unescape(_upload(admin_client, bad).get_data(as_text=True))
    assert "Rows with a problem: 4. Nothing is written" in page
    assert "Row 5: This is not an email address." in page
    assert "Row 5: Unknown role: boss." in page and "Row 5: Unknown language: fr." in page
    assert "Row 6: The same address is in row 2." in page
    assert "Row 7: An account with this email address exists already." in page
    assert "Row 8: An invitation to this email address is pending already." in page
    assert "c.three@example.org" in page  # every row is shown
    assert "/admin/invitations/bulk/confirm" not in page  # no button to send
    # posting the file to the confirmation anyway changes nothing
    response = post_form(admin_client, "/admin/invitations/bulk/confirm", {"rows": bad},
                         token_from="/admin/invitations/bulk")
    assert response.status_code == 400
    assert "Row 6: The same address is in row 2." in html.unescape(
        response.get_data(as_text=True))
    assert (db.session.scalar(select(func.count()).select_from(Invitation)), _actions()) == before


def test_bulk_invitation_previews_then_invites_everyone_at_once(app, admin_client):
    page = _upload(admin_client, BULK_OK).get_data(as_text=True)
    assert "People to invite: 3." in page and "/admin/invitations/bulk/confirm" in page
    assert db.session.scalar(select(func.count()).select_from(Invitation)) == 0
    rows = html.unescape(re.search(r'name="rows" type="hidden" value="([^"]*)"', page).group(1))
    response = post_form(admin_client, "/admin/invitations/bulk/confirm", {"rows": rows},
                         token_from="/admin/invitations/bulk")
    assert response.status_code == 302
    invited = db.session.scalars(select(Invitation).order_by(Invitation.id)).all()
    assert [(i.email, i.role, i.locale) for i in invited] == [
        ("a.one@example.org", "facilitator", "en"), ("b.two@example.org", "rater", "zh"),
        ("c.three@example.org", "researcher", "ja")]
    assert _emails_to("b.two@example.org")[0].subject == "您受邀加入 Hearth"
    assert _actions().count("invitation.sent") == 3


def test_a_file_that_is_not_a_table_of_people_is_refused(app, admin_client):
    for text, message in [("name,role\nx,rater\n", "missing: email, language"),
                          ("email,name,role,language\n", "no rows below its header")]:
        page = html.unescape(_upload(admin_client, text).get_data(as_text=True))
        assert message in page
    assert db.session.scalar(select(func.count()).select_from(Invitation)) == 0


def test_a_role_change_is_audited_and_never_ones_own(app, admin, admin_client):
    rater = gen_user("rater", display_name="Riko Rater")
    rater_client = app.test_client()
    sign_in(rater_client, rater)
    assert rater_client.get("/rate/").status_code == 200
    response = post_form(admin_client, f"/admin/users/{rater.id}/role", {"role": "researcher"},
                         token_from="/admin/", follow_redirects=True)
    assert "is now researcher" in html.unescape(response.get_data(as_text=True))
    assert db.session.get(User, rater.id).role == "researcher"
    assert rater_client.get("/rate/").headers["Location"].startswith("/auth/sign-in")
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "admin.role_changed"))
    assert (entry.actor_id, entry.object_id, entry.details) == (
        admin.id, rater.id, {"before": "rater", "after": "researcher"})
    response = post_form(admin_client, f"/admin/users/{admin.id}/role", {"role": "rater"},
                         token_from="/admin/", follow_redirects=True)
    assert "change your own role" in html.unescape(response.get_data(as_text=True))
    assert db.session.get(User, admin.id).role == "admin"
    member = gen_user("participant")
    post_form(admin_client, f"/admin/users/{member.id}/role", {"role": "admin"},
              token_from="/admin/")
    assert db.session.get(User, member.id).role == "participant"
    page = admin_client.get("/admin/?action=admin.role_changed").get_data(as_text=True)
    assert "changed a role" in page and "Rosa Admin" in page


def test_accounts_are_searched_and_filtered_and_the_log_by_who_acted(app, admin, admin_client):
    gen_user("rater", display_name="Mika Tanaka", email="mika@example.org")
    gen_user("rater", display_name="Other Rater", email="other@example.org", active=False)
    gen_user("facilitator", display_name="Tanaka Fac", email="fac@example.org")
    page = admin_client.get("/admin/?q=tanaka").get_data(as_text=True)
    assert "mika@example.org" in page and "fac@example.org" in page
    assert "other@example.org" not in page
    page = admin_client.get("/admin/?q=tanaka&role=rater").get_data(as_text=True)
    assert "mika@example.org" in page and "fac@example.org" not in page
    page = admin_client.get("/admin/?active=no").get_data(as_text=True)
    assert "other@example.org" in page and "mika@example.org" not in page
    assert "No account matches." in admin_client.get("/admin/?q=nobody").get_data(as_text=True)

    _invite(admin_client)
    invitee = app.test_client()
    _accept(invitee, _link(_emails_to("r.sato@example.org")[0]))
    newcomer = find_user("r.sato@example.org")
    page = admin_client.get(f"/admin/?actor={newcomer.id}").get_data(as_text=True)
    assert f'value="{newcomer.id}" selected' in page
    log = page.split('id="audit"')[1].split("<tbody>")[1]
    assert "accepted an invitation" in log and "invited someone" not in log
    assert "Ren Sato" in log and "Rosa Admin" not in log
    log = admin_client.get(f"/admin/?actor={admin.id}").get_data(as_text=True).split(
        'id="audit"')[1].split("<tbody>")[1]
    assert "invited someone to create an account" in log and "accepted an invitation" not in log


@pytest.fixture
def enrolled(app):
    """A study with its researcher, and a randomised participant who has no account yet."""
    study = gen_trial()
    researcher = gen_user("researcher")
    gen_staff(study, researcher)
    participant = Participant(study_id=study.id, code="P-0042", status="randomised",
                              arm_id=study.arms[0].id)
    db.session.add(participant)
    db.session.commit()
    return researcher, participant


def test_a_researcher_invites_an_enrolled_participant_linked_to_their_record(app, enrolled,
                                                                             as_user):
    researcher, participant = enrolled
    client = as_user(researcher)
    path = f"/research/participants/{participant.id}"
    assert "The participant has no account yet." in client.get(path).get_data(as_text=True)
    response = post_form(client, f"{path}/invitation", {"email": "bad", "language": "zh"},
                         token_from=path)
    assert response.status_code == 400 and "Invalid email address." in response.get_data(
        as_text=True)
    response = post_form(client, f"{path}/invitation",
                         {"email": "p42@example.org", "language": "zh"}, token_from=path)
    assert response.status_code == 302
    assert "not yet accepted" in client.get(path).get_data(as_text=True)
    (message,) = _emails_to("p42@example.org")
    assert message.subject == "创建您的 Hearth 账户"

    person = app.test_client()
    response = _accept(person, _link(message), name="Hana")
    assert response.headers["Location"] == "/me/"
    user = find_user("p42@example.org")
    assert (user.role, user.display_name, user.locale) == ("participant", "Hana", "zh")
    assert db.session.get(Participant, participant.id).user_id == user.id
    assert "The participant has an account." in client.get(path).get_data(as_text=True)
    response = post_form(client, f"{path}/invitation",
                         {"email": "again@example.org", "language": "en"}, token_from=path)
    assert response.status_code == 400
    assert "This participant has an account already." in html.unescape(
        response.get_data(as_text=True))


def test_only_enrolled_participants_are_invited(app, enrolled):
    from program.accounts.invitations import InvitationError, invite_participant

    researcher, participant = enrolled
    participant.status = "applied"
    db.session.commit()
    with pytest.raises(InvitationError, match="Only enrolled participants"):
        invite_participant(participant, "p@example.org", "en", researcher)
    assert db.session.scalar(select(func.count()).select_from(Invitation)) == 0


def test_removing_a_participants_data_erases_their_invitation_and_its_email(app, enrolled):
    from program.accounts.invitations import invite_participant
    from program.trial.removal import remove_participant_data

    researcher, participant = enrolled
    invite_participant(participant, "p42@example.org", "ja", researcher)
    (message,) = _emails_to("p42@example.org")
    participant.data_removal_requested_at = utcnow()
    db.session.commit()
    remove_participant_data(participant.id, actor=researcher)
    assert db.session.scalar(select(func.count()).select_from(Invitation)) == 0
    db.session.refresh(message)
    assert (message.status, message.recipient_email, message.body_text) == (
        "cancelled", None, "")


def test_the_accept_page_is_rate_limited_like_the_reset_page(app, admin_client):
    _invite(admin_client)
    path = _link(_emails_to("r.sato@example.org")[0])
    guesser = app.test_client()
    answers = [_accept(guesser, path, confirm="differs").status_code for _ in range(11)]
    assert answers[:10] == [200] * 10 and answers[10] == 429
    assert find_user("r.sato@example.org") is None


@pytest.mark.parametrize("query", [
    "actor=²", "actor=99999999999999999999", "actor=-1", "actor=x", "role=boss", "active=maybe",
    "q=%25", "q=_", "q=" + "x" * 5000, "action=nonsense&actor=1"])
def test_the_admin_filters_survive_odd_values(app, admin_client, query):
    assert admin_client.get(f"/admin/?{query}").status_code == 200
    assert admin_client.get(f"/admin/?{query}%00").status_code == 400  # NUL: refused anywhere


def test_what_the_csv_says_is_shown_as_text(app, admin_client):
    page = _upload(admin_client, "email,name,role,language\n"
                   "x@example.org,<script>alert(1)</script>,<b>rater</b>,en\n").get_data(
        as_text=True)
    assert "<script>alert(1)</script>" not in page and "<b>rater</b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
