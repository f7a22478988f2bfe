"""Post cards are rendered once and reused (views.groups.cards): what each member sees must still
be their own, current, and in their language."""

from __future__ import annotations

import re
from datetime import timedelta

import time_machine
from sqlalchemy import func, select

from models import Post, PostFlag, User, db, utcnow
from program.groups import moderation, posting
from tests.conftest import post_form
from tests.factories_groups import gen_post, gen_world
from tests.test_groups import client_for
from views.groups import TOKEN_SLOT
from views.groups.cards import CACHED_BODY_LIMIT, CSRF_SLOT

CSRF_VALUES = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
SUBMISSION = re.compile(r'name="submission_token" type="hidden" value="([^"]*)"')


def feed(client, group_id: int | str) -> str:
    response = client.get(f"/groups/{group_id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_every_form_on_a_page_carries_that_pages_own_csrf_token(app):
    world = gen_world()
    post = gen_post(world.group, world.leader, "Welcome, everyone", minutes_ago=5)
    gen_post(world.group, world.member, "Hello", parent=post, minutes_ago=4)
    pages = {user.id: feed(client_for(app, user), world.group.id)
             for user in (world.member, world.member2, world.leader)}
    tokens = {}
    for user_id, page in pages.items():
        assert CSRF_SLOT not in page and TOKEN_SLOT not in page
        found = set(CSRF_VALUES.findall(page))
        assert len(found) == 1, "one page, one token, in every card's forms too"
        tokens[user_id] = found.pop()
        # every form on the page carries it, the cards' (flag, delete, moderation) included
        forms = page.count('<form method="post"')
        assert forms >= 4 and page.count(f'value="{tokens[user_id]}"') == forms
    assert len(set(tokens.values())) == 3, "no member is served another's token"


def test_a_card_form_posts_with_the_token_it_carries(app):
    world = gen_world()
    post = gen_post(world.group, world.member, "Something worrying", minutes_ago=5)
    bob = client_for(app, world.member2)
    feed(client_for(app, world.member), world.group.id)  # the card is rendered for the group
    page = feed(bob, world.group.id)
    form = re.search(rf'action="/groups/{world.group.id}/posts/{post.id}/flag">\s*'
                     rf'<input type="hidden" name="csrf_token" value="([^"]+)"', page)
    response = bob.post(f"/groups/{world.group.id}/posts/{post.id}/flag",
                        data={"csrf_token": form.group(1), "reason": "worried"})
    assert response.status_code == 302
    assert db.session.scalar(select(func.count(PostFlag.id))) == 1
    assert "You flagged this post." in feed(bob, world.group.id)


def test_members_who_saw_a_post_see_each_change_to_it_at_once(app):
    world = gen_world()
    post = gen_post(world.group, world.member, "First version", minutes_ago=5)
    bob = client_for(app, world.member2)
    assert "First version" in feed(bob, world.group.id)

    posting.edit_post(world.member, world.group.id, post.id, "Second version")
    page = feed(bob, world.group.id)
    assert "Second version" in page and "First version" not in page and "edited" in page

    moderation.set_pinned(world.leader, world.group.id, post.id, True)
    assert '<span class="badge">pinned</span>' in feed(bob, world.group.id)

    moderation.hide_post(world.leader, world.group.id, post.id, "Off topic")
    assert "Second version" not in feed(bob, world.group.id)
    own = feed(client_for(app, world.member), world.group.id)
    assert "A leader hid this post from the group. Reason: Off topic" in own


def test_the_author_sees_their_own_actions_and_others_see_theirs(app):
    world = gen_world()
    post = gen_post(world.group, world.member, "Mine to delete", minutes_ago=1)
    delete = f'action="/groups/{world.group.id}/posts/{post.id}/delete"'
    flag = f'action="/groups/{world.group.id}/posts/{post.id}/flag"'
    hide = f'action="/groups/{world.group.id}/posts/{post.id}/hide"'
    author = feed(client_for(app, world.member), world.group.id)
    other = feed(client_for(app, world.member2), world.group.id)
    leader = feed(client_for(app, world.leader), world.group.id)
    assert delete in author and flag not in author and hide not in author
    assert flag in other and delete not in other and hide not in other
    assert hide in leader and flag in leader and delete not in leader
    # a moderator's buttons bring them back to the page they were on
    paged = feed(client_for(app, world.leader), f"{world.group.id}?per=10")
    pin = re.search(rf'action="/groups/{world.group.id}/posts/{post.id}/pin" class="inline">'
                    r'\s*<input[^>]*>\s*<input type="hidden" name="next" value="([^"]*)"', paged)
    assert pin.group(1) == f"/groups/{world.group.id}?per=10"


def test_the_edit_link_goes_when_the_edit_window_closes(app):
    world = gen_world()
    post = gen_post(world.group, world.member, "Quick thought")
    edit = f'href="/groups/{world.group.id}/posts/{post.id}/edit"'
    alice = client_for(app, world.member)
    assert edit in feed(alice, world.group.id)
    with time_machine.travel(utcnow() + posting.EDIT_WINDOW + timedelta(minutes=1), tick=False):
        assert edit not in feed(alice, world.group.id)


def test_cards_come_in_each_readers_language(app):
    world = gen_world()
    gen_post(world.group, world.leader, "Hello all", minutes_ago=1)
    assert "Flag for the leaders" in feed(client_for(app, world.member), world.group.id)
    db.session.get(User, world.member2.id).locale = "ja"
    db.session.commit()
    page = feed(client_for(app, world.member2), world.group.id)
    assert "リーダーに知らせる" in page and "Flag for the leaders" not in page


def test_long_posts_are_shown_whole(app):
    world = gen_world()
    body = "A long story. " * (CACHED_BODY_LIMIT // 10)
    gen_post(world.group, world.member, body, minutes_ago=1)
    for _ in range(2):
        assert body.strip() in feed(client_for(app, world.member2), world.group.id)


def test_each_blank_form_gets_a_fresh_submission_token_that_posts_once(app):
    world = gen_world()
    alice = client_for(app, world.member)
    first, second = (SUBMISSION.findall(feed(alice, world.group.id)) for _ in range(2))
    assert len(first) == len(second) == 1 and first != second
    for _ in range(2):  # the same form sent twice
        response = post_form(alice, f"/groups/{world.group.id}/posts",
                             {"body": "Posted once", "submission_token": first[0]},
                             token_from=f"/groups/{world.group.id}")
        assert response.status_code == 302
    assert db.session.scalar(select(func.count(Post.id)).where(Post.body == "Posted once")) == 1
    thread = db.session.scalar(select(Post).where(Post.body == "Posted once"))
    page = alice.get(f"/groups/{world.group.id}/posts/{thread.id}").get_data(as_text=True)
    assert len(SUBMISSION.findall(page)) == 1 and TOKEN_SLOT not in page


def test_a_refused_post_keeps_what_was_typed_and_its_submission_token(app):
    world = gen_world()
    alice = client_for(app, world.member)
    response = post_form(alice, f"/groups/{world.group.id}/posts",
                         {"title": "x" * 201, "body": "Keep this text",
                          "submission_token": "kept-token"},
                         token_from=f"/groups/{world.group.id}")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Keep this text" in page and SUBMISSION.findall(page) == ["kept-token"]
    assert "<details class=\"card\" open>" in page


def test_post_times_use_the_pages_date_style_not_numeric_us_timestamps(app):
    world = gen_world()
    post = gen_post(world.group, world.member, "A quiet week", minutes_ago=5)
    page = feed(client_for(app, world.member2), world.group.id)
    shown = re.search(rf'id="post-{post.id}".*?<time datetime="[^"]+">([^<]+)</time>', page,
                      re.S).group(1)
    assert not re.search(r"\d+/\d+/\d+|[AP]M", shown), shown
    assert re.fullmatch(r"[A-Z][a-z]{2} \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d", shown), shown
