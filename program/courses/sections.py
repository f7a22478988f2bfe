"""Markdown in content files: the ``##`` sections rendered to HTML, their subheadings, lists."""

from __future__ import annotations

from pathlib import Path

from markdown_it import MarkdownIt
from markdown_it.token import Token

from program.courses.content import (
    SESSION_SECTIONS,
    TIMINGS_HEADING,
    CatalogueError,
    Section,
    normalise_heading,
)

# CommonMark with raw HTML disabled: content is trusted, but a stray tag is shown, not obeyed.
_markdown = MarkdownIt("commonmark", {"html": False})


def split_sections(body: str, path: Path, body_line: int) -> tuple[Section, ...]:
    """Split a Markdown body at its top-level ``##`` headings and render each section."""
    lines = body.splitlines(keepends=True)
    tokens = _markdown.parse(body)
    starts: list[tuple[int, int, str]] = []  # (heading line, first body line, heading text)
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and token.tag == "h2" and token.level == 0:
            assert token.map is not None
            starts.append((token.map[0], token.map[1], tokens[index + 1].content.strip()))

    first = starts[0][0] if starts else len(lines)
    for token in tokens:
        # A title line (`# ...`) may precede the sections; any other text would never be shown.
        if token.level == 0 and token.map and token.map[0] < first and token.tag != "h1":
            if token.type.endswith("_open") or token.type in {"fence", "code_block", "hr"}:
                raise CatalogueError(
                    path,
                    f"line {token.map[0] + body_line}",
                    "text before the first '##' heading belongs to no section",
                )

    sections = []
    seen: set[str] = set()
    for position, (_, body_start, heading) in enumerate(starts):
        end = starts[position + 1][0] if position + 1 < len(starts) else len(lines)
        normalised = normalise_heading(heading)
        if normalised in seen:
            raise CatalogueError(path, f"## {heading}", "section heading appears twice")
        seen.add(normalised)
        markdown = "".join(lines[body_start:end]).strip("\n") + "\n"
        if not markdown.strip():
            raise CatalogueError(path, f"## {heading}", "section is empty")
        sections.append(
            Section(heading=heading, markdown=markdown, html=_markdown.render(markdown))
        )
    return tuple(sections)


def subheadings(markdown: str) -> list[tuple[int, str]]:
    """The ``###`` headings of a section: (token index, text), in order."""
    tokens = _markdown.parse(markdown)
    return [
        (index, tokens[index + 1].content.strip())
        for index, token in enumerate(tokens)
        if token.type == "heading_open" and token.tag == "h3" and token.level == 0
    ]


def guide_timings(guide: Section, path: Path, position: int | None = None) -> tuple[str, ...]:
    """The items of the ``### Timings`` list inside the facilitator guide.

    A translated guide names the list in its own language, so it is found by ``position``
    among the ``###`` headings (the English guide's position) instead of by name.
    """
    tokens = _markdown.parse(guide.markdown)
    field_name = f"## {SESSION_SECTIONS['facilitator_guide']} / ### {TIMINGS_HEADING}"
    headings = subheadings(guide.markdown)
    if position is None:
        wanted = normalise_heading(TIMINGS_HEADING)
        found = [index for index, text in headings if normalise_heading(text) == wanted]
    else:
        found = [headings[position][0]] if position < len(headings) else []
    if not found:
        raise CatalogueError(path, field_name, "section heading missing")
    start = found[0] + 3

    items: list[str] = []
    for index in range(start, len(tokens)):
        token = tokens[index]
        if token.type == "heading_open" and token.level == 0:
            break
        if token.type == "list_item_open" and token.level == 1:
            items.append(_first_inline(tokens, index))
        if items and token.type in {"bullet_list_close", "ordered_list_close"} and token.level == 0:
            break
    if not items:
        raise CatalogueError(path, field_name, "must contain a list")
    return tuple(items)


def _first_inline(tokens: list[Token], index: int) -> str:
    for token in tokens[index:]:
        if token.type == "inline":
            return token.content.strip()
    return ""


def ordered_items(markdown: str) -> int:
    """How many items the first top-level numbered list has."""
    count, inside = 0, False
    for token in _markdown.parse(markdown):
        if token.type == "ordered_list_open" and token.level == 0:
            inside = True
        elif token.type == "ordered_list_close" and token.level == 0:
            break
        elif inside and token.type == "list_item_open" and token.level == 1:
            count += 1
    return count


def has_numbered_list(markdown: str) -> bool:
    """Whether the Markdown contains a numbered list anywhere."""
    return any(token.type == "ordered_list_open" for token in _markdown.parse(markdown))
