"""Posts are Markdown rendered to a small, sanitised HTML subset: payloads come out inert."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from program.courses.markdown import render
from program.groups.posting import create_post
from tests.factories_groups import gen_world
from tests.test_groups import client_for

PAYLOADS = [
    "<script>alert('x')</script>",
    "<img src=x onerror=alert(1)>",
    "<iframe src='https://evil.example'></iframe>",
    "<a href=\"javascript:alert(1)\">click</a>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![tracker](https://evil.example/pixel.png)",
    "![x\" onerror=\"alert(1)](https://evil.example/x.png)",
    "![ref][img]\n\n[img]: https://evil.example/ref.png",
    "<svg onload=alert(1)>",
    "<div style=\"background:url(https://evil.example)\">x</div>",
    "<b onmouseover=alert(1)>bold</b>",
    "**[x](https://ok.example \"t\" onclick=alert(1))**",
]

POST_TAGS = {"p", "br", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li", "a", "hr"}


class Elements(HTMLParser):
    """Every element and attribute a browser would build from the HTML."""

    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


def elements(html):
    parser = Elements()
    parser.feed(html)
    return parser.found


def assert_inert(html, allowed=POST_TAGS):
    for tag, attrs in elements(html):
        assert tag in allowed, (tag, html)
        assert not any(name.startswith("on") or name == "style" for name in attrs), (tag, html)
        if tag == "a":
            assert re.match(r"(https?:|mailto:)", attrs["href"]), html
            assert attrs["rel"] == "nofollow noopener noreferrer"


@pytest.mark.parametrize("payload", PAYLOADS)
def test_payloads_render_inert(payload):
    assert_inert(render(payload))


def test_images_become_their_alt_text_and_a_plain_link():
    html = render("![our retreat](https://photos.example/r.jpg)")
    assert "<img" not in html
    assert "our retreat" in html
    assert 'href="https://photos.example/r.jpg"' in html


def test_links_open_safely_in_a_new_tab():
    html = render("[MSC](https://example.org/msc)")
    assert html == ('<p><a href="https://example.org/msc" target="_blank" '
                    'rel="nofollow noopener noreferrer">MSC</a></p>')


def test_the_markdown_subset_still_works():
    html = render("**bold** and *soft*\n\n- one\n- two\n\n> quoted\n\n`code`")
    for tag in ("<strong>bold</strong>", "<em>soft</em>", "<li>one</li>", "<blockquote>",
                "<code>code</code>"):
        assert tag in html
    assert render("# Big heading") == "<p># Big heading</p>"


def test_payloads_posted_in_a_group_come_out_inert_on_the_page(app):
    world = gen_world()
    for payload in PAYLOADS:
        create_post(world.member, world.group.id, payload, title="<script>alert(2)</script>")
    page = client_for(app, world.member2).get(f"/groups/{world.group.id}").get_data(as_text=True)
    bodies = re.findall(r'<div class="post-body">(.*?)</div>\n', page, re.S)
    assert len(bodies) == len(PAYLOADS)
    for body in bodies:
        assert_inert(body)
    found = elements(page)
    scripts = [attrs for tag, attrs in found if tag == "script"]
    # the only scripts are the site's own files (the page's installable-app script)
    assert all(set(attrs) == {"src"} and attrs["src"].startswith("/static/js/")
               for attrs in scripts), scripts
    assert "<script>" not in page.replace("&lt;script&gt;", "")
    assert not {tag for tag, _attrs in found} & {"img", "iframe", "svg"}
    assert all(not any(n.startswith("on") or n == "style" for n in attrs)
               for _tag, attrs in found)
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page  # the title is shown as text
