"""The safe Markdown subset of group posts, rendered once on write.

markdown-it-py renders CommonMark with raw HTML turned off (it comes out as text); nh3 then
keeps only an allow-list of tags and attributes. Images are never rendered: an image becomes
its alt text followed by a plain link, so nothing is fetched from outside when a post is read.
"""

from __future__ import annotations

from functools import lru_cache
from html import escape

import nh3
from markdown_it import MarkdownIt

ALLOWED_TAGS = frozenset({
    "p", "br", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li", "a", "hr",
})
ALLOWED_ATTRIBUTES = {"a": {"href"}, "ol": {"start"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow noopener noreferrer"


def _render_image(_renderer, tokens, idx, _options, _env):
    token = tokens[idx]
    alt = "".join(child.content for child in token.children or ()) or token.content
    src = token.attrGet("src") or ""
    text = escape(alt or src)
    if src:
        return f'{text} (<a href="{escape(src)}">{escape(src)}</a>)' if alt else \
            f'<a href="{escape(src)}">{text}</a>'
    return text


_TAGS = set(ALLOWED_TAGS)
_ATTRIBUTES = {tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()}
_SCHEMES = set(URL_SCHEMES)


def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.disable("heading")  # a post is not a page: "# shouting" stays a plain paragraph
    md.add_render_rule("image", _render_image)
    return md


_MD = _parser()


def render(text: str) -> str:
    """Markdown as written -> sanitised HTML safe to insert into a page."""
    return sanitise(_MD.render(text or ""))


def sanitise(html: str) -> str:
    """Keep only the allow-listed tags and attributes (also applied again when a post is shown,
    so HTML stored by anything other than ``render`` cannot slip through)."""
    return nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes=_SCHEMES,
        link_rel=LINK_REL,
        set_tag_attribute_values={"a": {"target": "_blank"}},
        clean_content_tags={"script", "style"},
        strip_comments=True,
    ).strip()


@lru_cache(maxsize=4096)
def sanitise_stored(html: str) -> str:
    """``sanitise`` for stored HTML on its way to a page: a feed shows the same posts to every
    member, so each distinct text is cleaned once per process (bounded memory)."""
    return sanitise(html)
