"""A post that sounds like its author may be at risk: the author is shown where to get help at
once, and the post is held for review (its author and the group's staff only) until a
facilitator or clinician releases or hides it from the alert; a study may leave such posts
visible instead."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from models import AuditEntry, OutboxMessage, Post, SafetyAlert, db
from program.groups import posting
from tests.conftest import post_form
from tests.factories_groups import gen_world
from tests.test_groups import client_for

RISKY = {
    "en": "Honestly I want to end my life some days.",
    "ja": "正直、死にたいと思う日もあります。",
    "zh": "说实话，有时候我不想活了。",
}
WORDS = {"en": "end my life", "ja": "死にたい", "zh": "不想活了"}
HELP = "If you need help now:"
#: a sentence of templates/participant/_crisis_contacts.html (included, not copied)
CONTACTS = "emergency"


def _post(client, group_id: int, body: str):
    return post_form(client, f"/groups/{group_id}/posts", {"body": body, "title": ""},
                     token_from=f"/groups/{group_id}")


def _actions(action: str) -> list[AuditEntry]:
    return db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)).all()


def _main(page) -> str:
    return page.get_data(as_text=True).split("<main", 1)[1]


@pytest.mark.parametrize("language", sorted(RISKY))
def test_a_risk_post_is_held_and_its_author_sees_where_to_get_help(app, language):
    world = gen_world()
    author = client_for(app, world.member)
    response = _post(author, world.group.id, RISKY[language])
    assert response.status_code == 302
    post = db.session.scalar(select(Post).where(Post.author_id == world.member.id))
    assert post.held_at is not None
    thread = author.get(response.headers["Location"])
    text = _main(thread)
    assert HELP in text and CONTACTS in text and "held for review" in text
    assert WORDS[language] in text
    assert "Your post is in the group." not in thread.get_data(as_text=True)

    other = client_for(app, world.member2)
    assert WORDS[language] not in _main(other.get(f"/groups/{world.group.id}"))
    assert other.get(f"/groups/{world.group.id}/posts/{post.id}").status_code == 404
    for staff in (world.leader, world.assistant):
        feed = _main(client_for(app, staff).get(f"/groups/{world.group.id}"))
        assert WORDS[language] in feed and "held for review" in feed and HELP not in feed
    (held,) = _actions("post.hold")
    assert (held.object_type, held.object_id, held.actor_id) == ("Post", post.id, world.member.id)
    assert RISKY[language] not in str(held.details)


def test_a_study_can_leave_risk_posts_visible_while_they_are_reviewed(app):
    world = gen_world()
    world.study.risk_posts_visible = True
    db.session.commit()
    author = client_for(app, world.member)
    thread = author.get(_post(author, world.group.id, RISKY["en"]).headers["Location"])
    assert HELP in _main(thread) and "held for review" not in _main(thread)
    post = db.session.scalar(select(Post))
    assert post.held_at is None and db.session.scalar(select(SafetyAlert)) is not None
    assert WORDS["en"] in _main(client_for(app, world.member2).get(f"/groups/{world.group.id}"))
    assert _actions("post.hold") == []


def test_ordinary_posts_and_the_group_staffs_own_posts_are_not_held(app):
    world = gen_world()
    author = client_for(app, world.member)
    thread = author.get(_post(author, world.group.id, "Practised soothing breathing.")
                        .headers["Location"])
    assert HELP not in _main(thread)
    staff_post = posting.create_post(world.leader, world.group.id, RISKY["en"])
    assert staff_post.held_at is None  # the alert is still raised
    assert db.session.scalar(select(SafetyAlert.source_id)) == staff_post.id
    assert db.session.scalar(select(func.count(Post.id)).where(Post.held_at.is_not(None))) == 0


def test_a_held_reply_is_not_announced_to_the_thread_author(app):
    world = gen_world()
    world.member.notify_replies = "immediate"
    db.session.commit()
    thread = posting.create_post(world.member, world.group.id, "How was everyone's week?")
    reply = posting.create_post(world.member2, world.group.id, RISKY["zh"], parent_id=thread.id)
    assert reply.held_at is not None
    assert db.session.scalar(select(func.count(OutboxMessage.id)).where(
        OutboxMessage.kind == "post_reply")) == 0
    page = _main(client_for(app, world.member).get(f"/groups/{world.group.id}/posts/{thread.id}"))
    assert WORDS["zh"] not in page and HELP not in page
    mine = _main(client_for(app, world.member2).get(
        f"/groups/{world.group.id}/posts/{thread.id}"))
    assert WORDS["zh"] in mine and HELP in mine


def _alert() -> SafetyAlert:
    return db.session.scalar(select(SafetyAlert))


def test_a_clinician_releases_a_held_post_from_the_alert_once(app):
    world = gen_world()
    post = posting.create_post(world.member, world.group.id, RISKY["en"])
    alert = _alert()
    clinician = client_for(app, world.clinician)  # not a member of the group
    page = clinician.get(f"/alerts/{alert.id}").get_data(as_text=True)
    assert WORDS["en"] in page and "held for review" in page and world.group.name in page
    for _ in range(2):
        response = post_form(clinician, f"/alerts/{alert.id}/release")
        assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Post, post.id).held_at is None
    assert WORDS["en"] in _main(client_for(app, world.member2).get(f"/groups/{world.group.id}"))
    (released,) = _actions("post.release")
    assert (released.actor_id, released.object_id, released.details["alert"]) == (
        world.clinician.id, post.id, alert.id)
    alert = db.session.get(SafetyAlert, alert.id)
    assert (alert.status, alert.acknowledged_by_id) == ("acknowledged", world.clinician.id)


def test_a_leader_hides_a_held_post_with_a_reason_the_author_is_told(app):
    world = gen_world()
    post = posting.create_post(world.member, world.group.id, RISKY["ja"])
    alert = _alert()
    leader = client_for(app, world.leader)
    refused = post_form(leader, f"/alerts/{alert.id}/hide", {"reason": "  "})
    assert refused.status_code == 400 and "This field is required" in refused.get_data(
        as_text=True)
    db.session.expire_all()
    assert db.session.get(Post, post.id).hidden_at is None and _actions("post.hide") == []
    response = post_form(leader, f"/alerts/{alert.id}/hide", {"reason": "We will call you."})
    assert response.status_code == 302
    db.session.expire_all()
    post = db.session.get(Post, post.id)
    assert post.hidden_at is not None and post.held_at is None
    assert post.hidden_reason == "We will call you."
    (hidden,) = _actions("post.hide")
    assert (hidden.actor_id, hidden.details["alert"]) == (world.leader.id, alert.id)
    told = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "post_hidden"))
    assert told.recipient_id == world.member.id
    assert WORDS["ja"] not in _main(client_for(app, world.member2).get(
        f"/groups/{world.group.id}"))
    author_view = _main(client_for(app, world.member).get(f"/groups/{world.group.id}"))
    assert "We will call you." in author_view


def test_people_who_do_not_receive_the_alert_cannot_release_or_hide(app):
    world = gen_world()
    post = posting.create_post(world.member, world.group.id, RISKY["en"])
    alert = _alert()
    for outsider, status in ((world.member2, 403), (world.other_leader, 404),
                             (world.researcher, 404)):
        client = client_for(app, outsider)
        token_from = "/groups/"
        assert post_form(client, f"/alerts/{alert.id}/release",
                         token_from=token_from).status_code == status
        assert post_form(client, f"/alerts/{alert.id}/hide", {"reason": "x"},
                         token_from=token_from).status_code == status
    db.session.expire_all()
    post = db.session.get(Post, post.id)
    assert post.held_at is not None and post.hidden_at is None
    assert _actions("post.release") == [] and _actions("post.hide") == []


def test_the_researcher_sets_visibility_and_escalation_time_on_the_safety_page(app):
    from tests.factories import gen_staff

    world = gen_world()
    gen_staff(world.study, world.researcher)
    client = client_for(app, world.researcher)
    path = f"/research/studies/{world.study.id}/safety"
    page = client.get(path).get_data(as_text=True)
    assert 'value="30"' in page and "held for review" in page
    refused = post_form(client, path, {"escalation_minutes": "0", "risk_posts_visible": "y"})
    assert refused.status_code == 400 and "Number must be between 5 and 1440" in \
        refused.get_data(as_text=True)
    db.session.expire_all()
    assert (world.study.risk_posts_visible, world.study.alert_escalation_minutes) == (False, 30)
    for _ in range(2):
        saved = post_form(client, path, {"escalation_minutes": "45", "risk_posts_visible": "y"})
        assert saved.status_code == 302
    db.session.expire_all()
    assert (world.study.risk_posts_visible, world.study.alert_escalation_minutes) == (True, 45)
    (entry,) = _actions("study.safety_set")
    assert entry.details == {"risk_posts_visible": True, "escalation_minutes": 45}
    post = posting.create_post(world.member, world.group.id, RISKY["en"])
    assert post.held_at is None
