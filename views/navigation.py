"""The navigation of each role's area (blueprint modules add their pages with ``add``) and
each role's home page."""

from __future__ import annotations

from flask import url_for
from flask_babel import lazy_gettext

_LINKS: dict[str, list[tuple[int, str, object]]] = {}


def add(role: str, endpoint: str, label: str, order: int = 50) -> None:
    """Show ``endpoint`` in the navigation of ``role`` (label is translated lazily)."""
    entries = _LINKS.setdefault(role, [])
    if all(e[1] != endpoint for e in entries):
        entries.append((order, endpoint, lazy_gettext(label)))
        entries.sort(key=lambda e: e[0])


def links(role: str) -> list[tuple[str, object]]:
    return [(endpoint, label) for _order, endpoint, label in _LINKS.get(role, [])]


#: where each role lands after signing in
HOME = {
    "participant": "participant.dashboard",
    "facilitator": "facilitator.home",
    "rater": "rater.home",
    "researcher": "researcher.home",
    "admin": "admin.home",
}


def home_url(user) -> str:
    return url_for(HOME[user.role])
