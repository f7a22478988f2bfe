"""Emails rendered from ``templates/email/<name>.txt`` in the recipient's language.

The first line of the text template is the subject. The HTML part is the same text laid out by
``templates/email/_layout.html`` (paragraphs, links made clickable, everything escaped), so a
message has one wording for both parts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import current_app, render_template
from flask_babel import force_locale

from models import User

#: links, and the placeholders of links made at sending time (see ``program.messaging.links``)
_URL = re.compile(r"((?:https?://|hearth-link:)\S+)")


@dataclass(frozen=True)
class Email:
    subject: str
    text: str
    html: str


def base_url() -> str:
    """The address emailed links start with (jobs have no request to take it from)."""
    return (current_app.config.get("BASE_URL") or "").rstrip("/")


def render(name: str, user: User | None, *, locale: str | None = None, **context) -> Email:
    """Render email ``name`` for ``user`` (or in ``locale`` when there is no account)."""
    with force_locale(locale or getattr(user, "locale", None) or "en"):
        text = render_template(f"email/{name}.txt", user=user, base_url=base_url(), **context)
        subject, _, body = text.strip().partition("\n")
        body = body.strip() + "\n"
        paragraphs = [[_parts(line) for line in block.splitlines()]
                      for block in re.split(r"\n\s*\n", body.strip())]
        html = render_template("email/_layout.html", subject=subject.strip(),
                               paragraphs=paragraphs)
    return Email(subject.strip(), body, html)


def _parts(line: str) -> list[tuple[str, bool]]:
    """A line as (text, is_link) pieces, so the layout can link URLs and escape the rest."""
    return [(piece, bool(_URL.fullmatch(piece))) for piece in _URL.split(line) if piece]
