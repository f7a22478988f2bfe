"""A participant posts, another member flags the post, and the group's leader hides it."""

from __future__ import annotations

from sqlalchemy import select

from models import OutboxMessage, Post, User, db
from tests.browser.conftest import sign_in

POST = "Trying the soothing touch practice before bed; it settles me a little."


def open_peer_group(page):
    page.goto("/groups/")
    page.get_by_role("link", name="Small group 1").click()
    page.wait_for_load_state()


def test_post_flag_and_hide_in_a_peer_group(phone):
    page = phone
    sign_in(page, "msc.participant@hearth.example")
    open_peer_group(page)
    page.get_by_text("Start a new thread").click()
    page.get_by_label("Title (optional)").fill("Bedtime practice")
    page.get_by_label("Your post").fill(POST)
    page.get_by_role("button", name="Post", exact=True).click()
    page.wait_for_load_state()
    assert POST in page.locator("main").inner_text()

    page.context.clear_cookies()
    sign_in(page, "msc.p04@hearth.example")
    open_peer_group(page)
    post = page.locator("article.post", has_text=POST)
    post.get_by_text("Flag for the leaders").click()
    post.get_by_label("What worries you? (optional)").fill("Not sure this belongs here")
    post.get_by_role("button", name="Flag post").click()
    page.wait_for_load_state()
    assert "The group's leaders will look at this post" in page.locator(".flashes").inner_text()

    page.context.clear_cookies()
    sign_in(page, "msc.teacher@hearth.example")
    open_peer_group(page)
    page.get_by_role("link", name="Flagged posts").first.click()
    page.wait_for_load_state()
    flagged = page.locator("li.card", has_text=POST)
    assert "1 open flag" in flagged.inner_text()
    flagged.get_by_label("Reason (the author will see it)").fill(
        "Moved to the practice thread, thank you")
    flagged.get_by_role("button", name="Hide post").click()
    page.wait_for_load_state()
    assert "Post hidden." in page.locator(".flashes").inner_text()
    assert POST not in page.locator("main").inner_text()  # the queue is empty again

    page.context.clear_cookies()
    sign_in(page, "msc.p04@hearth.example")
    open_peer_group(page)
    assert POST not in page.locator("main").inner_text()

    author = db.session.scalar(select(User).where(User.email == "msc.participant@hearth.example"))
    hidden = db.session.scalar(select(Post).where(Post.body == POST))
    assert hidden.hidden_reason == "Moved to the practice thread, thank you"
    told = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "post_hidden"))
    assert told.recipient_id == author.id
