"""The outbox page: what Hearth has queued and sent, newest first, and one message's text.

Read-only. Live links are never stored (see ``program.messaging.links``); the little that is
(an invitation's link, while it waits) is masked on this page.
"""

from __future__ import annotations

import re

from flask import abort, render_template, request

from models.outbox import OutboxStatus
from program.messaging import listing
from views import navigation
from views.access import role_required
from views.admin import _int_arg, bp

navigation.add("admin", "admin.outbox", "Outbox", order=30)

#: a bearer token in a link, and the placeholder a link is made from at sending time
_LINK = re.compile(r"(/(?:q/t|auth/reset|calendar|invitation|apply/continue)/)[^/?#\s\"<]+"
                   r"|hearth-link:[\w/-]+")


def masked(text: str | None) -> str:
    """The text with every link that opens something without a password replaced."""
    return _LINK.sub(lambda m: f"{m.group(1)}[…]" if m.group(1) else "[link]", text or "")


@bp.get("/outbox")
@role_required("admin")
def outbox():
    """Recent messages (``?status=``, ``?page=``), newest first."""
    status = request.args.get("status") or None
    status = status if status in OutboxStatus else None
    page = listing.recent(status, _int_arg("page") or 1)
    return render_template("admin/outbox.html", page=page, status=status,
                           statuses=OutboxStatus)


@bp.get("/outbox/<int:message_id>")
@role_required("admin")
def outbox_message(message_id: int):
    """One message: its recipient, times, state and text (links masked)."""
    line = listing.one(message_id) or abort(404)
    return render_template("admin/outbox_message.html", line=line,
                           body=masked(line.message.body_text))
