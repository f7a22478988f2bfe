"""Links that open something without a password are made when a message is sent, not queued.

A queued message holds a placeholder (``hearth-link:password-reset``,
``hearth-link:questionnaire/<invitation id>``) where its link goes; :func:`fill` puts the live
link in its place just before sending, and the dispatcher clears the message's body once it is
sent. So neither a queued nor a sent row in the outbox opens anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from markupsafe import escape

from models import AssessmentInvitation, OutboxMessage, User, db
from program.accounts.reset import RESET_LINK_PLACEHOLDER, issue_reset_link
from program.assessments.questionnaires import QUESTIONNAIRE_LINK_PREFIX, invitation_link

_PLACEHOLDER = re.compile(re.escape(RESET_LINK_PLACEHOLDER) + "|"
                          + re.escape(QUESTIONNAIRE_LINK_PREFIX) + r"(\d+)")


@dataclass(frozen=True)
class Outgoing:
    subject: str
    text: str
    html: str | None


class LinkGone(Exception):
    """The thing a placeholder names no longer exists: the message is not sent."""


def fill(message: OutboxMessage, user: User) -> Outgoing:
    """The message as sent: each placeholder replaced by its live link (one reset link per
    message, made now)."""
    links: dict[str, str] = {}

    def link(match: re.Match) -> str:
        placeholder = match.group(0)
        if placeholder not in links:
            links[placeholder] = _live_link(placeholder, match.group(1), user)
        return links[placeholder]

    text = _PLACEHOLDER.sub(link, message.body_text)
    html = message.body_html
    if html is not None:
        html = _PLACEHOLDER.sub(lambda match: str(escape(link(match))), html)
    return Outgoing(message.subject, text, html)


def _live_link(placeholder: str, invitation_id: str | None, user: User) -> str:
    if invitation_id is None:
        return issue_reset_link(user)
    invitation = db.session.get(AssessmentInvitation, int(invitation_id))
    if invitation is None:
        raise LinkGone(placeholder)
    return invitation_link(invitation)
