"""Every email comes from templates/email/: a text part and the same words laid out as HTML."""

from __future__ import annotations

from pathlib import Path

from program.messaging import emails
from tests.factories import gen_user

TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "email"


def test_text_and_html_say_the_same_and_links_are_clickable(app):
    user = gen_user(display_name="Pat <Example>")
    email = emails.render("post_hidden", user, group="Small group 1",
                          reason="<script>alert(1)</script> see https://example.org/rules")
    assert email.subject == "Hearth: a moderator hid your post in Small group 1"
    assert "Reason: <script>alert(1)</script> see https://example.org/rules" in email.text
    assert "<script>" not in email.html and "&lt;script&gt;" in email.html
    assert '<a href="https://example.org/rules">https://example.org/rules</a>' in email.html
    assert email.html.count("<p>") == email.text.strip().count("\n\n") + 1


def test_the_recipient_reads_it_in_their_language(app):
    email = emails.render("safety_alert", gen_user(locale="ja"))
    assert "Hearth" in email.subject and "safety alert" not in email.subject
    assert '<html lang="ja">' in email.html


def test_no_email_wording_outside_the_templates():
    """Each queued or sent message names a template that exists (no inline email strings)."""
    import re

    root = Path(__file__).resolve().parents[1]
    names = set()
    for path in list((root / "program").rglob("*.py")) + list((root / "views").rglob("*.py")):
        text = path.read_text()
        names |= set(re.findall(r'(?:enqueue_email|enqueue_notice)\([^)]*?"([a-z_]+)",\s*'
                                r'(?:\*\*|[a-z_]+=|\))', text, re.S))
        names |= set(re.findall(r'emails\.render\("([a-z_]+)"', text))
    assert names, "found no email sent through the templates"
    missing = {n for n in names if not (TEMPLATES / f"{n}.txt").exists()}
    assert not missing
