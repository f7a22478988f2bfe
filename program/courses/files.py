"""Reading content files: UTF-8 text, YAML front matter and mappings, typed fields by name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from program.core.fields import KIND_NAMES, Fields, Wording, type_name
from program.courses.content import CatalogueError

#: How problems with content fields are worded ("title: missing field", "got a boolean").
WORDING = Wording(
    missing="missing field",
    kinds={**KIND_NAMES, str: "a string"},
    show=type_name,
    not_mapping="must be a mapping, got {value}",
)


def field_reader(data: Any, path: Path) -> Fields:
    """A typed reader for the fields of ``data``, read from the file at ``path``."""
    return Fields(data, lambda name, problem: CatalogueError(path, name, problem), wording=WORDING)


def read_text(path: Path) -> str:
    """The file's text; a file that is not UTF-8 is a problem."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise CatalogueError(path, "encoding", f"not UTF-8 ({error.reason})") from None


def split_front_matter(text: str, path: Path) -> tuple[dict[str, Any], str, int]:
    """Return the front matter mapping, the Markdown body and the body's first line number."""
    lines = text.lstrip("\ufeff").splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        raise CatalogueError(path, "front matter", "file must start with a '---' line")
    for index in range(1, len(lines)):
        if lines[index].strip() == "---":
            front = yaml_mapping("".join(lines[1:index]), path, first_line=2)
            return front, "".join(lines[index + 1 :]), index + 2
    raise CatalogueError(path, "front matter", "no closing '---' line")


def yaml_mapping(text: str, path: Path, *, first_line: int) -> dict[str, Any]:
    """The mapping a YAML text holds (``first_line``: where the text starts in the file)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + first_line}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error)
        raise CatalogueError(path, "YAML", f"invalid YAML{where}: {problem}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise CatalogueError(path, "YAML", f"must be a mapping of fields, got {type_name(data)}")
    return data

