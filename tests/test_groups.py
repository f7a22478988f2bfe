"""Group feeds: who can read and write, posting, replies, editing, paging, weekly threads."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import event, func, select

from models import AuditEntry, OutboxMessage, Participant, Post, PostFlag, db, write_transaction
from program.groups import access, digests, feed, posting
from tests.conftest import post_form, sign_in
from tests.factories import gen_cohort, gen_group, gen_participant, gen_study, gen_user
from tests.factories_groups import gen_post, gen_world

ROUTES = [
    ("GET", "/groups/{g}"),
    ("POST", "/groups/{g}/posts"),
    ("GET", "/groups/{g}/posts/{p}"),
    ("POST", "/groups/{g}/posts/{p}/reply"),
    ("GET", "/groups/{g}/posts/{p}/edit"),
    ("POST", "/groups/{g}/posts/{p}/edit"),
    ("POST", "/groups/{g}/posts/{p}/delete"),
    ("POST", "/groups/{g}/posts/{p}/flag"),
    ("POST", "/groups/{g}/posts/{p}/pin"),
    ("POST", "/groups/{g}/posts/{p}/unpin"),
    ("POST", "/groups/{g}/posts/{p}/lock"),
    ("POST", "/groups/{g}/posts/{p}/unlock"),
    ("POST", "/groups/{g}/posts/{p}/hide"),
    ("POST", "/groups/{g}/posts/{p}/restore"),
    ("POST", "/groups/{g}/posts/{p}/resolve"),
    ("GET", "/groups/{g}/flags"),
    ("GET", "/groups/{g}/overview"),
]
FORM = {"body": "Hello group", "title": "Hi", "reason": "because", "submission_token": "t1"}


def client_for(app, user):
    client = app.test_client()
    sign_in(client, user)
    return client


def request(client, method, path):
    if method == "GET":
        return client.get(path)
    return post_form(client, path, FORM, token_from="/groups/")


def snapshot():
    """Everything a group write could change."""
    return (
        db.session.scalar(select(func.count(Post.id))),
        db.session.scalar(select(func.count(PostFlag.id))),
        db.session.scalar(select(func.count(AuditEntry.id)).where(
            AuditEntry.action.like("post.%"))),
        db.session.scalar(select(func.count(OutboxMessage.id))),
        tuple(db.session.execute(select(Post.pinned, Post.locked, Post.hidden_at,
                                        Post.deleted_at, Post.body).order_by(Post.id)).all()),
    )


def test_every_group_view_declares_its_roles(app):
    for endpoint, view in app.view_functions.items():
        if endpoint.startswith(("groups.", "alerts.")):
            assert getattr(view, "allowed_roles", None), endpoint


def _expand(rule: str) -> set[str]:
    """A URL rule as concrete paths: each ``any(...)`` option spelled out, other parts X."""
    choice = re.search(r"<any\(([^)]*)\):\w+>", rule)
    options = [o.strip() for o in choice.group(1).split(",")] if choice else [None]
    paths = {rule.replace(choice.group(0), o) if choice else rule for o in options}
    return {re.sub(r"<[^>]+>", "X", p) for p in paths}


def test_routes_table_covers_every_group_route(app):
    rules = set().union(*(_expand(r.rule) for r in app.url_map.iter_rules()
                          if r.endpoint.startswith("groups.") and r.endpoint != "groups.index"))
    listed = {re.sub(r"\{\w\}", "X", path) for _method, path in ROUTES}
    assert rules == listed


@pytest.mark.parametrize("outsider", ["other_leader", "other_member", "clinician", "researcher",
                                      "admin", "rater"])
def test_nobody_outside_the_group_reads_or_writes_it(app, outsider):
    world = gen_world()
    post = gen_post(world.group, world.member, "Only for the group", minutes_ago=1)
    client = client_for(app, getattr(world, outsider))
    before = snapshot()
    for method, path in ROUTES:
        response = request(client, method, path.format(g=world.group.id, p=post.id))
        assert response.status_code == 404, (method, path, response.status_code)
        assert b"Only for the group" not in response.data
    db.session.expire_all()
    assert snapshot() == before
    assert world.group.name.encode() not in client.get("/groups/").data


def test_a_post_id_from_another_group_is_not_found_through_ones_own_group(app):
    world = gen_world()
    foreign = gen_post(world.group, world.member, "Not yours", minutes_ago=1)
    client = client_for(app, world.other_leader)
    before = snapshot()
    for method, path in ROUTES:
        if "{p}" not in path:
            continue
        response = request(client, method, path.format(g=world.other_group.id, p=foreign.id))
        assert response.status_code == 404, (method, path, response.status_code)
    db.session.expire_all()
    assert snapshot() == before


def test_signed_out_visitors_are_sent_to_sign_in(app, client):
    world = gen_world()
    post = gen_post(world.group, world.member)
    for method, path in ROUTES:
        path = path.format(g=world.group.id, p=post.id)
        response = client.get(path) if method == "GET" else client.post(path, data=FORM)
        assert response.status_code in (302, 400), (method, path)
        if response.status_code == 302:
            assert "/auth/sign-in" in response.headers["Location"]
    assert db.session.scalar(select(func.count(Post.id))) == 1


def test_members_post_reply_and_see_each_other(app):
    world = gen_world()
    alice = client_for(app, world.member)
    response = post_form(alice, f"/groups/{world.group.id}/posts",
                         {"title": "First week", "body": "It went **well**",
                          "submission_token": "a"},
                         token_from=f"/groups/{world.group.id}")
    assert response.status_code == 302
    thread = db.session.scalar(select(Post).where(Post.title == "First week"))
    assert thread.body_html == "<p>It went <strong>well</strong></p>"
    bob = client_for(app, world.member2)
    page = bob.get(f"/groups/{world.group.id}").get_data(as_text=True)
    assert "First week" in page and "<strong>well</strong>" in page
    response = post_form(bob, f"/groups/{world.group.id}/posts/{thread.id}/reply",
                         {"body": "Glad to hear", "submission_token": "b"},
                         token_from=f"/groups/{world.group.id}/posts/{thread.id}")
    assert response.status_code == 302
    assert "Glad to hear" in alice.get(f"/groups/{world.group.id}/posts/{thread.id}").get_data(
        as_text=True)


def test_a_reply_to_a_reply_joins_the_thread_one_level_deep(app):
    world = gen_world()
    thread = posting.create_post(world.member, world.group.id, "Thread")
    first = posting.create_post(world.member2, world.group.id, "Reply", parent_id=thread.id)
    second = posting.create_post(world.member, world.group.id, "Reply to reply", parent_id=first.id)
    assert second.parent_id == thread.id


def test_an_empty_post_re_renders_the_form_and_writes_nothing(app):
    world = gen_world()
    client = client_for(app, world.member)
    response = post_form(client, f"/groups/{world.group.id}/posts", {"body": "  "},
                         token_from=f"/groups/{world.group.id}")
    assert response.status_code == 400
    assert 'aria-invalid="true"' in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Post.id))) == 0


def test_a_double_submitted_form_makes_one_post(app):
    world = gen_world()
    client = client_for(app, world.member)
    for _ in range(2):
        post_form(client, f"/groups/{world.group.id}/posts",
                  {"body": "Once only", "submission_token": "same-token"},
                  token_from=f"/groups/{world.group.id}")
    assert db.session.scalar(select(func.count(Post.id))) == 1


@pytest.mark.parametrize("staff_only", [True, False])
def test_large_group_threads_follow_the_cohort_setting(app, staff_only):
    world = gen_world(kind="large")
    world.cohort.staff_only_threads = staff_only
    db.session.commit()
    client = client_for(app, world.member)
    page = client.get(f"/groups/{world.group.id}").get_data(as_text=True)
    assert ("Start a new thread" in page) is not staff_only
    response = post_form(client, f"/groups/{world.group.id}/posts", {"body": "Can I?"},
                         token_from=f"/groups/{world.group.id}")
    assert response.status_code == (400 if staff_only else 302)
    leader = client_for(app, world.leader)
    assert post_form(leader, f"/groups/{world.group.id}/posts", {"body": "Welcome"},
                     token_from=f"/groups/{world.group.id}").status_code == 302
    thread = db.session.scalar(select(Post).where(Post.body == "Welcome"))
    response = post_form(client, f"/groups/{world.group.id}/posts/{thread.id}/reply",
                         {"body": "Thanks!"}, token_from=f"/groups/{world.group.id}")
    assert response.status_code == 302  # members can always reply


@pytest.mark.parametrize("change", [{"status": "withdrawn"}, {"withdrawal_kind": "stop_contact"}])
def test_a_withdrawn_participant_loses_access_at_once_and_their_posts_stay(app, change):
    world = gen_world()
    gen_post(world.group, world.member, "Before I left", minutes_ago=5)
    client = client_for(app, world.member)
    assert client.get(f"/groups/{world.group.id}").status_code == 200
    record = db.session.scalar(select(Participant).where(Participant.user_id == world.member.id))
    for key, value in change.items():
        setattr(record, key, value)
    db.session.commit()
    assert client.get(f"/groups/{world.group.id}").status_code == 404
    assert post_form(client, f"/groups/{world.group.id}/posts", {"body": "still here?"},
                     token_from="/groups/").status_code == 404
    assert world.group.name.encode() not in client.get("/groups/").data
    other = client_for(app, world.member2)
    assert b"Before I left" in other.get(f"/groups/{world.group.id}").data


def test_posts_of_people_who_asked_for_removal_show_as_from_a_former_member(app):
    world = gen_world()
    gen_post(world.group, world.member, "An old post")
    gen_post(world.group, world.member2, "A second post")
    with write_transaction():
        assert posting.mark_author_removed(world.member.id) == 1
    assert db.session.scalar(select(func.count()).select_from(Post)
                             .where(Post.author_id == world.member.id)) == 0
    page = client_for(app, world.leader).get(f"/groups/{world.group.id}").get_data(as_text=True)
    old = page.split("An old post")[0].rsplit('<article', 1)[1]
    other = page.split("A second post")[0].rsplit('<article', 1)[1]
    assert "a former member" in old and world.member.display_name not in page
    assert world.member2.display_name in other


def test_feed_puts_pinned_first_then_newest_threads_with_replies_oldest_first(app):
    world = gen_world()
    old = gen_post(world.group, world.member, "Old thread", minutes_ago=300)
    pinned = gen_post(world.group, world.leader, "Pinned note", minutes_ago=600, pinned=True)
    new = gen_post(world.group, world.member2, "New thread", minutes_ago=10)
    gen_post(world.group, world.member2, "First reply", parent=old, minutes_ago=200)
    gen_post(world.group, world.leader, "Second reply", parent=old, minutes_ago=100)
    page = client_for(app, world.member).get(f"/groups/{world.group.id}").get_data(as_text=True)
    order = [page.index(text) for text in
             ("Pinned note", "New thread", "Old thread", "First reply", "Second reply")]
    assert order == sorted(order)
    assert pinned.id and new.id


def test_paging_visits_every_thread_once_in_order(app):
    world = gen_world()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    made = [gen_post(world.group, world.member, f"post {i}",
                     created_at=start + timedelta(minutes=i // 2)) for i in range(45)]
    member = access.membership(world.member, world.group.id)
    seen, cursor = [], None
    while True:
        page = feed.feed(world.member, member, cursor=cursor, per_page=10)
        seen += [t.post.id for t in page.threads]
        cursor = page.next_cursor
        if cursor is None:
            break
    expected = [p.id for p in sorted(made, key=lambda p: (p.created_at, p.id), reverse=True)]
    assert seen == expected


def count_queries(app, client, path):
    statements = []

    def before(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
    return len([s for s in statements if s.lstrip().upper().startswith("SELECT")])


def test_the_number_of_queries_per_page_does_not_grow_with_page_size(app):
    world = gen_world()
    people = [world.member, world.member2, world.leader, world.assistant]
    for i in range(120):
        thread = gen_post(world.group, people[i % 4], f"thread {i}", minutes_ago=1000 - i,
                          pinned=i < 2)
        for j in range(2):
            gen_post(world.group, people[(i + j + 1) % 4], f"reply {i}.{j}", parent=thread,
                     minutes_ago=900 - i)
    gen_post(world.group, world.member, "flag me", minutes_ago=1)
    client = client_for(app, world.leader)
    small = count_queries(app, client, f"/groups/{world.group.id}?per=10")
    large = count_queries(app, client, f"/groups/{world.group.id}?per=100")
    assert small == large
    assert large <= 12


def test_authors_edit_within_the_window_and_not_after(app):
    world = gen_world()
    with time_machine.travel(datetime(2026, 3, 2, 9, 0, tzinfo=UTC), tick=False) as clock:
        thread = posting.create_post(world.member, world.group.id, "Frist post", title="Typo")
        client = client_for(app, world.member)
        url = f"/groups/{world.group.id}/posts/{thread.id}/edit"
        assert client.get(url).status_code == 200
        assert post_form(client, url, {"body": "First post", "title": "Fixed"}).status_code == 302
        db.session.expire_all()
        assert (thread.body, thread.title, thread.edited_at is not None) == (
            "First post", "Fixed", True)
        clock.shift(posting.EDIT_WINDOW + timedelta(minutes=1))
        assert client.get(url).status_code == 302
        response = post_form(client, url, {"body": "Too late"}, token_from="/groups/")
        assert response.status_code == 302
        db.session.expire_all()
        assert thread.body == "First post"


def test_only_the_author_edits_or_deletes_a_post(app):
    world = gen_world()
    thread = posting.create_post(world.member, world.group.id, "Mine")
    other = client_for(app, world.member2)
    assert other.get(f"/groups/{world.group.id}/posts/{thread.id}/edit").status_code == 403
    assert post_form(other, f"/groups/{world.group.id}/posts/{thread.id}/delete",
                     token_from="/groups/").status_code == 404
    leader = client_for(app, world.leader)  # leaders hide, they do not delete
    assert post_form(leader, f"/groups/{world.group.id}/posts/{thread.id}/delete",
                     token_from="/groups/").status_code == 404
    db.session.expire_all()
    assert thread.deleted_at is None
    author = client_for(app, world.member)
    assert post_form(author, f"/groups/{world.group.id}/posts/{thread.id}/delete",
                     token_from="/groups/").status_code == 302
    db.session.expire_all()
    assert thread.deleted_at is not None
    assert b"Mine" not in other.get(f"/groups/{world.group.id}").data


def test_replies_notify_the_thread_author_by_their_choice(app):
    world = gen_world()
    world.member2.notify_replies = "none"
    db.session.commit()
    mine = posting.create_post(world.member, world.group.id, "Mine")
    theirs = posting.create_post(world.member2, world.group.id, "Theirs")
    posting.create_post(world.leader, world.group.id, "Reply", parent_id=mine.id)
    posting.create_post(world.leader, world.group.id, "Reply", parent_id=theirs.id)
    posting.create_post(world.member, world.group.id, "Replying to myself", parent_id=mine.id)
    messages = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.kind == "post_reply")).all()
    assert [m.recipient_id for m in messages] == [world.member.id]
    assert "Reply" not in messages[0].body_text  # no post text leaves by email


def test_announcements_notify_members_who_chose_immediate(app):
    world = gen_world()
    world.member.notify_announcements = "immediate"
    world.member2.notify_announcements = "daily"
    db.session.commit()
    posting.create_post(world.leader, world.group.id, "Class moves to Thursday")
    recipients = db.session.scalars(select(OutboxMessage.recipient_id).where(
        OutboxMessage.kind == "announcement")).all()
    assert recipients == [world.member.id]


def test_daily_digests_collect_yesterday_once(app):
    world = gen_world()
    world.member.notify_replies = "daily"
    world.member2.notify_announcements = "daily"
    world.member2.notify_replies = "none"
    world.assistant.notify_announcements = "none"
    db.session.commit()
    with time_machine.travel(datetime(2026, 3, 2, 10, 0, tzinfo=UTC), tick=False):
        thread = posting.create_post(world.member, world.group.id, "How do I start?")
        posting.create_post(world.leader, world.group.id, "Like this", parent_id=thread.id)
        posting.create_post(world.assistant, world.group.id, "Or this", parent_id=thread.id)
        posting.create_post(world.leader, world.group.id, "Retreat on Saturday")
    with time_machine.travel(datetime(2026, 3, 3, 0, 5, tzinfo=UTC), tick=False):
        assert digests.materialise_digests() == 2
        assert digests.materialise_digests() == 0
    sent_digests = {m.recipient_id: m for m in db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "daily_digest"))}
    assert set(sent_digests) == {world.member.id, world.member2.id}
    assert "2 new replies to you" in sent_digests[world.member.id].body_text
    assert "1 new announcement" in sent_digests[world.member2.id].body_text
    assert "replies" not in sent_digests[world.member2.id].body_text
    assert "Like this" not in sent_digests[world.member.id].body_text


def test_weekly_threads_appear_when_each_session_is_released_once(app):
    study = gen_study(design="single_arm", program="msc")
    cohort = gen_cohort(study, start_date=date(2026, 3, 2), timezone="UTC",
                        meeting_time=datetime(2026, 1, 1, 18, 0).time())
    groups = [gen_group(cohort, kind="small"), gen_group(cohort, kind="large")]
    gen_group(gen_cohort(study, start_date=date(2026, 6, 1)))  # not started: no threads
    with time_machine.travel(datetime(2026, 3, 2, 17, 59, tzinfo=UTC), tick=False):
        assert digests.ensure_weekly_threads() == 0
    with time_machine.travel(datetime(2026, 3, 9, 18, 0, tzinfo=UTC), tick=False):
        assert digests.ensure_weekly_threads() == 4
        assert digests.ensure_weekly_threads() == 0
    titles = db.session.scalars(select(Post.title).where(Post.group_id == groups[0].id)
                                .order_by(Post.weekly_session)).all()
    assert titles == ["Week 1: share how the practice went",
                      "Week 2: share how the practice went"]


def test_the_jobs_run_from_the_command_line(app, runner):
    study = gen_study(design="single_arm", program="msc")
    gen_group(gen_cohort(study, start_date=date.today() - timedelta(days=15)), kind="small")
    result = runner.invoke(args=["groups", "weekly-threads"])
    assert result.exit_code == 0 and "3 weekly threads created" in result.output
    assert "0 weekly threads created" in runner.invoke(args=["groups", "weekly-threads"]).output
    assert runner.invoke(args=["groups", "digests"]).exit_code == 0


def test_weekly_threads_are_in_the_feed_newest_week_first(app):
    world = gen_world()  # the cohort started 30 days ago: five sessions released
    digests.ensure_weekly_threads()
    page = client_for(app, world.member2).get(f"/groups/{world.group.id}").get_data(as_text=True)
    weeks = [page.index(f"Week {n}: share how the practice went") for n in (5, 4, 3, 2, 1)]
    assert weeks == sorted(weeks)
    assert "Week 6:" not in page
    assert page.count("How did this week's practice go?") == 5


def test_overview_shows_weekly_activity_silent_members_and_unanswered_posts(app):
    world = gen_world()
    start = datetime.combine(world.cohort.start_date, datetime.min.time(), UTC)
    lonely = gen_post(world.group, world.member, "Anyone?", created_at=start + timedelta(days=1))
    answered = gen_post(world.group, world.member, "Question", created_at=start + timedelta(days=8))
    gen_post(world.group, world.leader, "Answer", parent=answered,
             created_at=start + timedelta(days=9))
    client = client_for(app, world.assistant)
    page = client.get(f"/groups/{world.group.id}/overview").get_data(as_text=True)
    assert re.search(r"<td>1</td><td>1</td><td>0</td>", page)
    assert re.search(r"<td>2</td><td>1</td><td>1</td>", page)
    silent = page.split("never posted")[1].split("Unanswered")[0]
    assert world.member2.display_name in silent and world.member.display_name not in silent
    unanswered = page.split("Unanswered for more than a day")[1]
    assert f"/posts/{lonely.id}" in unanswered and f"/posts/{answered.id}" not in unanswered
    assert client_for(app, world.member).get(
        f"/groups/{world.group.id}/overview").status_code == 403


def test_a_staff_member_of_another_role_reads_a_group_only_as_a_member(app):
    study = gen_study(design="single_arm", program="msc")
    cohort = gen_cohort(study)
    researcher = gen_user("researcher")
    group = gen_group(cohort, kind="large", members=[researcher])
    gen_participant(study, cohort=cohort)
    assert client_for(app, researcher).get(f"/groups/{group.id}").status_code == 200
