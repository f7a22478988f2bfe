"""A 3,000-character URL in a post wraps: the feed stays as wide as the phone."""

from __future__ import annotations

from sqlalchemy import select

from models import Group, User, db
from program.groups import posting
from tests.browser.conftest import sign_in
from tests.browser.test_groups import open_peer_group

LONG_URL = "https://example.org/" + "a1b2c3d4e5" * 300


def test_a_long_unbroken_url_wraps_on_a_phone(phone):
    author = db.session.scalar(select(User).where(User.email == "msc.participant@hearth.example"))
    group = db.session.scalar(select(Group).where(Group.name == "Small group 1"))
    posting.create_post(author, group.id, f"Found this: {LONG_URL}", title="A link")
    db.session.remove()

    sign_in(phone, "msc.p04@hearth.example")
    open_peer_group(phone)
    post = phone.locator("article.post", has_text="Found this")
    assert post.count() == 1
    page_width = phone.evaluate("document.documentElement.scrollWidth")
    viewport = phone.evaluate("window.innerWidth")
    assert page_width <= viewport, f"the feed is {page_width} px wide on a {viewport} px phone"
    box = post.bounding_box()
    assert box["width"] <= viewport
