"""Post cards: how one post of a group feed or thread looks to the member reading it.

A feed shows the same posts to every member of a group, and most members see a post the same
way. So each card is first reduced to a :class:`Card` — everything the card shows, as plain
values (the post's state, the author's name and role, what the viewer may do with it) — and
the HTML is rendered once per distinct card, language and time zone, and kept in a bounded
cache. The key *is* the content: a post edited, pinned, hidden, flagged or past its edit
window makes a different card, so nothing is ever invalidated by hand. The one per-viewer
secret, the CSRF token in the card's forms, is never cached: cards are rendered with a
per-process placeholder that each page replaces with its own token.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from types import SimpleNamespace

from babel import dates as babel_dates
from flask import current_app, request, url_for
from flask_babel import get_locale, get_timezone
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape

from models import GroupMembership, Post, User
from program.core import dates
from program.courses import markdown
from program.groups import posting
from program.groups.feed import FeedPage, Thread

#: labels every card repeats: translated and escaped once per language
POST_LABELS = {
    "hearth": _l("Hearth"),
    "former": _l("a former member"),
    "leader": _l("leader"),
    "assistant": _l("assistant"),
    "edited": _l("edited"),
    "pinned": _l("pinned"),
    "locked": _l("locked"),
    "edit": _l("Edit"),
    "delete": _l("Delete"),
    "flag": _l("Flag for the leaders"),
    "flag_reason": _l("What worries you? (optional)"),
    "flag_post": _l("Flag post"),
    "flagged": _l("You flagged this post."),
    "unpin": _l("Unpin"),
    "pin": _l("Pin"),
    "unlock": _l("Unlock"),
    "lock": _l("Lock thread"),
    "resolve": _l("Resolve flags"),
    "restore": _l("Restore"),
    "hide": _l("Hide"),
    "hide_reason": _l("Reason (the author will see it)"),
    "hide_post": _l("Hide post"),
    "reply": _l("Reply"),
    "held": _l("held for review"),
    "held_mine": _l("Only you and the group's leaders can see this post for now: it is held "
                    "for review, as every post that sounds like someone may be at risk is."),
    "held_staff": _l("Members cannot see this post: it is held for review. Release or hide it "
                     "from its safety alert."),
    "alerts": _l("Safety alerts"),
}
#: stands in for the page's CSRF token in cached cards; random per process, so no post text
#: can contain it
CSRF_SLOT = f"csrf-slot-{secrets.token_hex(16)}"
#: cards of longer posts are rendered every time rather than cached, which bounds the cache's
#: memory (the cache key holds the post's HTML) to a few MiB per worker
CACHED_BODY_LIMIT = 4000
CACHE_SIZE = 2048


@dataclass(frozen=True)
class Card:
    """Everything a post card shows, for one viewer (hashable: it is the cache key)."""

    id: int
    is_thread: bool  #: a thread's first post (replies have no title or thread actions)
    title: str | None  #: a thread's title (replies have none)
    weekly_session: int | None
    #: who wrote it: "hearth" (the weekly thread), "former" (removed or gone) or "member"
    author_kind: str
    author: str | None
    role: str | None  #: "leader" or "assistant" when the author leads or assists the group
    created_at: datetime
    edited: bool
    pinned: bool
    locked: bool
    hidden: bool
    hidden_reason: str | None
    held: bool  #: held for safety review: only its author and the group's staff see it
    body_html: str | None  #: None for the weekly thread's standing question
    mine: bool
    can_edit: bool
    #: what the viewer may do about flags: "form" (flag it), "flagged" (already did) or None
    flagging: str | None
    moderator: bool
    can_hide: bool  #: a moderator may hide it (someone else's post, shown)
    open_flags: int  #: moderators only, else 0
    next: str | None  #: where moderation sends the moderator back to (moderators only)


def _author_kind(post: Post, author) -> str:
    """``hearth`` for the weekly thread Hearth opens, ``former`` for a removed author."""
    if post.weekly_session and post.author_id is None:
        return "hearth"
    if post.author_removed or author is None:
        return "former"
    return "member"


def _flagging(post: Post, page: FeedPage) -> str | None:
    """What the flag control of someone else's post shows: done, a form, or nothing."""
    if post.id in page.flagged_by_me:
        return "flagged"
    return "form" if post.author_id is not None else None


def _text(post: Post, weekly_by_hearth: bool) -> tuple[str | None, str | None]:
    """The card's title (threads only) and body; a removed author's text is gone, and the card
    says so in the reader's language."""
    title = post.title if post.parent_id is None else None
    if post.author_removed:
        removed = _("Removed at the participant's request.")
        return (removed if title is not None else None), f"<p><em>{escape(removed)}</em></p>"
    return title, None if weekly_by_hearth else (post.body_html or "")


def card_of(post: Post, page: FeedPage, member: GroupMembership, viewer: User,
            now: datetime, next_path: str | None = None) -> Card:
    """Reduce one post to what its card shows to this viewer."""
    mine = post.author_id == viewer.id
    weekly_by_hearth = bool(post.weekly_session) and post.author_id is None
    author = page.authors.get(post.author_id)
    kind = _author_kind(post, author)
    role = page.roles.get(post.author_id) if kind == "member" else None
    hidden = post.hidden_at is not None
    flagging = None if mine else _flagging(post, page)
    moderator = bool(member.moderates)
    title, body_html = _text(post, weekly_by_hearth)
    return Card(
        id=post.id, is_thread=post.parent_id is None,
        title=title,
        weekly_session=post.weekly_session, author_kind=kind,
        author=author if kind == "member" else None,
        role=role if role in ("leader", "assistant") else None,
        created_at=post.created_at, edited=post.edited_at is not None, pinned=bool(post.pinned),
        locked=bool(post.locked), hidden=hidden,
        hidden_reason=post.hidden_reason if hidden else None,
        held=post.held_at is not None and not hidden,
        body_html=body_html,
        mine=mine, can_edit=mine and posting.can_edit(viewer, post, now),
        flagging=flagging, moderator=moderator,
        can_hide=moderator and not mine and not hidden and post.author_id is not None,
        open_flags=page.open_flags.get(post.id, 0) if moderator else 0,
        next=next_path if moderator else None)


class CardRenderer:
    """The cards of one page: ``card.thread(item)`` in a template gives a thread's cards.

    Built once per page (the viewer, language, time zone, CSRF token and the group's URL are
    the page's), so each card costs a tuple and a cache lookup.
    """

    def __init__(self, page: FeedPage, member: GroupMembership, viewer: User, now: datetime):
        self.page, self.member, self.viewer, self.now = page, member, viewer, now
        self.next = request.full_path if member.moderates else None
        self.locale, self.zone = str(get_locale()), get_timezone()
        self.posts_url = url_for("groups.feed", group_id=member.group_id) + "/posts/"
        self.csrf = generate_csrf()
        self.labels = labels_in(self.locale)

    def thread(self, item: Thread, single: bool = False) -> Markup:
        """A thread: its first post, its replies and (in a feed) a link to reply.

        Put together here rather than in a macro: a macro call per thread cost more than
        the cached cards inside it."""
        parts = ['<div class="thread">', self._html(item.post)]
        if item.replies:
            parts += ['<div class="replies">', *map(self._html, item.replies), "</div>"]
        if not single and not item.post.locked and item.post.hidden_at is None:
            parts.append(f'<p><a href="{escape(self.posts_url)}{item.post.id}#reply">'
                         f"{self.labels.reply}</a></p>")
        parts.append("</div>")
        return Markup("\n".join(parts).replace(CSRF_SLOT, self.csrf))

    def _html(self, post: Post) -> str:
        card = card_of(post, self.page, self.member, self.viewer, self.now, self.next)
        long = card.body_html is not None and len(card.body_html) > CACHED_BODY_LIMIT
        return (_render if long else _render_cached)(card, self.locale, self.zone,
                                                     self.posts_url)


def _render(card: Card, locale: str, zone, posts_url: str) -> str:
    """The card's HTML in the current request's language (``locale`` keys the cache)."""
    macro = current_app.jinja_env.get_template("_post.html").module.post_card
    short = dates.pattern("short_datetime", locale)
    body = None if card.body_html is None else Markup(markdown.sanitise_stored(card.body_html))
    return str(macro(card, labels=labels_in(locale), posts_url=posts_url, csrf=CSRF_SLOT,
                     body=body, date=babel_dates.format_datetime(
                         card.created_at, short, tzinfo=zone, locale=locale)))


_render_cached = lru_cache(maxsize=CACHE_SIZE)(_render)


@lru_cache(maxsize=8)
def labels_in(locale: str) -> SimpleNamespace:
    """The repeated labels in one language, escaped once (``labels.x`` in a template)."""
    return SimpleNamespace(**{key: escape(str(label)) for key, label in POST_LABELS.items()})
