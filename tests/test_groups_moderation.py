"""Moderation: only the group's own leaders and assistants, every action audited."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from models import AuditEntry, OutboxMessage, Post, PostFlag, db
from program.groups import moderation
from tests.conftest import post_form
from tests.factories_groups import gen_post, gen_world
from tests.test_groups import client_for, snapshot

ACTIONS = ["pin", "unpin", "lock", "unlock", "hide", "restore", "resolve"]


def act(client, group_id, post_id, action, reason="Off topic"):
    data = {"reason": reason} if action == "hide" else {}
    return post_form(client, f"/groups/{group_id}/posts/{post_id}/{action}", data,
                     token_from="/groups/")


@pytest.mark.parametrize("action", ACTIONS)
def test_members_cannot_moderate_and_nothing_changes(app, action):
    world = gen_world()
    post = gen_post(world.group, world.member2, "Something", pinned=action == "unpin",
                    locked=action == "unlock")
    client = client_for(app, world.member)
    before = snapshot()
    assert act(client, world.group.id, post.id, action).status_code == 403
    assert client.get(f"/groups/{world.group.id}/flags").status_code == 403
    db.session.expire_all()
    assert snapshot() == before


@pytest.mark.parametrize("action", ACTIONS)
def test_leaders_of_another_group_cannot_moderate_this_one(app, action):
    world = gen_world()
    post = gen_post(world.group, world.member, "Something")
    client = client_for(app, world.other_leader)
    before = snapshot()
    assert act(client, world.group.id, post.id, action).status_code == 404
    # nor through their own group's URL with this group's post
    assert act(client, world.other_group.id, post.id, action).status_code == 404
    db.session.expire_all()
    assert snapshot() == before


@pytest.mark.parametrize("who", ["leader", "assistant"])
def test_leaders_and_assistants_pin_lock_hide_and_restore_with_an_audit_trail(app, who):
    world = gen_world()
    moderator = getattr(world, who)
    thread = gen_post(world.group, world.member, "A thread", minutes_ago=10)
    client = client_for(app, moderator)
    for action in ACTIONS:
        assert act(client, world.group.id, thread.id, action).status_code == 302, action
    entries = db.session.execute(select(AuditEntry.action, AuditEntry.actor_id,
                                        AuditEntry.object_id).order_by(AuditEntry.id)).all()
    # resolving with no open flag changes nothing and records nothing (a repeated click)
    assert [(a, actor, obj) for a, actor, obj in entries if a.startswith("post.")] == [
        (f"post.{a}", moderator.id, thread.id) for a in ACTIONS if a != "resolve"]
    assert all("A thread" not in str(e.details) for e in db.session.scalars(select(AuditEntry)))


def test_a_locked_thread_takes_no_replies(app):
    world = gen_world()
    thread = gen_post(world.group, world.member, "Closing this", locked=True)
    client = client_for(app, world.member2)
    page = client.get(f"/groups/{world.group.id}/posts/{thread.id}").get_data(as_text=True)
    assert "locked" in page and 'id="reply"' not in page
    response = post_form(client, f"/groups/{world.group.id}/posts/{thread.id}/reply",
                         {"body": "one more"}, token_from="/groups/")
    assert response.status_code == 400
    assert db.session.scalar(select(func.count(Post.id))) == 1


def test_pinned_threads_lead_the_feed(app):
    world = gen_world()
    older = gen_post(world.group, world.member, "Older thread", minutes_ago=100)
    gen_post(world.group, world.member2, "Newer thread", minutes_ago=1)
    moderation.set_pinned(world.leader, world.group.id, older.id, True)
    page = client_for(app, world.member).get(f"/groups/{world.group.id}").get_data(as_text=True)
    assert page.index("Older thread") < page.index("Newer thread")


def test_hiding_tells_the_author_the_reason_and_hides_it_from_other_members(app):
    world = gen_world()
    post = gen_post(world.group, world.member, "Buy my course at example.com")
    leader = client_for(app, world.leader)
    response = act(leader, world.group.id, post.id, "hide", reason="No advertising, please")
    assert response.status_code == 302
    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "post_hidden"))
    assert message.recipient_id == world.member.id
    assert "No advertising, please" in message.body_text
    other = client_for(app, world.member2).get(f"/groups/{world.group.id}").get_data(as_text=True)
    assert "Buy my course" not in other
    author = client_for(app, world.member).get(f"/groups/{world.group.id}").get_data(as_text=True)
    assert "Buy my course" in author and "No advertising, please" in author
    assert "Buy my course" in leader.get(f"/groups/{world.group.id}").get_data(as_text=True)
    assert client_for(app, world.member2).get(
        f"/groups/{world.group.id}/posts/{post.id}").status_code == 404


def test_the_hiding_reason_is_shown_as_text(app):
    world = gen_world()
    post = gen_post(world.group, world.member, "Hmm")
    moderation.hide_post(world.leader, world.group.id, post.id, "<script>alert(1)</script>")
    page = client_for(app, world.member).get(f"/groups/{world.group.id}").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>" not in page


def test_hiding_needs_a_reason(app):
    world = gen_world()
    post = gen_post(world.group, world.member, "Hmm")
    act(client_for(app, world.leader), world.group.id, post.id, "hide", reason="")
    db.session.expire_all()
    assert post.hidden_at is None


def test_members_flag_once_and_leaders_work_the_queue(app):
    world = gen_world()
    post = gen_post(world.group, world.member, "Questionable")
    fine = gen_post(world.group, world.member, "Fine")
    flagger = client_for(app, world.member2)
    for _ in range(2):
        post_form(flagger, f"/groups/{world.group.id}/posts/{post.id}/flag",
                  {"reason": "feels unkind"}, token_from="/groups/")
    assert db.session.scalar(select(func.count(PostFlag.id))) == 1
    own = client_for(app, world.member)
    post_form(own, f"/groups/{world.group.id}/posts/{post.id}/flag", token_from="/groups/")
    assert db.session.scalar(select(func.count(PostFlag.id))) == 1  # no flagging one's own
    leader = client_for(app, world.leader)
    queue = leader.get(f"/groups/{world.group.id}/flags").get_data(as_text=True)
    assert "Questionable" in queue and "Fine" not in queue
    assert act(leader, world.group.id, post.id, "resolve").status_code == 302
    queue = leader.get(f"/groups/{world.group.id}/flags").get_data(as_text=True)
    assert "Questionable" not in queue
    db.session.expire_all()
    assert post.hidden_at is None and fine.hidden_at is None


def test_hidden_posts_cannot_be_flagged_or_replied_to(app):
    world = gen_world()
    post = gen_post(world.group, world.member, "Hidden soon")
    moderation.hide_post(world.leader, world.group.id, post.id, "Off topic")
    client = client_for(app, world.member2)
    post_form(client, f"/groups/{world.group.id}/posts/{post.id}/flag", token_from="/groups/")
    response = post_form(client, f"/groups/{world.group.id}/posts/{post.id}/reply",
                         {"body": "but why"}, token_from="/groups/")
    assert response.status_code == 404
    assert db.session.scalar(select(func.count(PostFlag.id))) == 0
    assert db.session.scalar(select(func.count(Post.id))) == 1
