"""The one typed reader for fields of parsed YAML, naming the field in every problem it finds."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

#: How an expected kind is named in "must be <kind>"; a wording may rename some.
KIND_NAMES: Mapping[Any, str] = {
    int: "an integer",
    bool: "true or false",
    list: "a list",
    dict: "a mapping",
    Mapping: "a mapping",
}


def type_name(value: Any) -> str:
    """What a value found in YAML is, in words ("a boolean", "a list", "nothing")."""
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a mapping",
        type(None): "nothing",
    }.get(type(value), type(value).__name__)


def is_number(value: Any) -> bool:
    """An int or float from YAML (``true`` is not a number, although Python's bool is an int)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class Wording:
    """How a reader words its problems.

    The course catalogue and the instrument library both read YAML written by people and report
    each problem as ``<file>: <field>: <problem>``; each keeps the wording its authors know (and
    its tests assert), while the checks are the same.
    """

    #: The problem of a required field that is absent or empty.
    missing: str
    #: Names of the expected kinds (see :data:`KIND_NAMES`).
    kinds: Mapping[Any, str]
    #: How a value of the wrong kind is shown after "got".
    show: Callable[[Any], str]
    #: The problem of a nested value that is not a mapping; may use ``{value}`` (shown).
    not_mapping: str

    def kind(self, kind: Any) -> str:
        if isinstance(kind, tuple):
            return " or ".join(self.kinds.get(k, k.__name__) for k in kind)
        return self.kinds.get(kind, kind.__name__)


class Fields:
    """Typed access to one mapping of fields; every problem is raised as ``fail(field, problem)``.

    ``prefix`` is put before each field name in problems, so a reader of a nested mapping (see
    :meth:`at`) names the field by its whole path, e.g. ``licence.holder`` or ``bands[0].scale``.
    """

    def __init__(
        self,
        data: Any,
        fail: Callable[[str, str], Exception],
        *,
        wording: Wording,
        prefix: str = "",
    ) -> None:
        self.data = data
        self.fail = fail
        self.wording = wording
        self.prefix = prefix
        self.seen: set[str] = set()

    def at(self, data: Any, where: str) -> Fields:
        """A reader for the mapping ``data`` found at ``where`` inside this one."""
        return Fields(data, self.fail, wording=self.wording, prefix=f"{self.prefix}{where}.")

    def error(self, name: str, problem: str) -> Exception:
        return self.fail(f"{self.prefix}{name}", problem)

    def get(self, name: str, kind: Any, default: Any = ...) -> Any:
        """The field ``name`` if it is of ``kind`` (a type or a tuple of types).

        An absent or null field gives ``default``, or is a problem if there is none.
        """
        if not isinstance(self.data, Mapping):
            shown = self.wording.show(self.data)
            raise self.fail(self.prefix.removesuffix(".") or name,
                            self.wording.not_mapping.format(value=shown))
        self.seen.add(name)
        if name not in self.data or self.data[name] is None:
            if default is ...:
                raise self.error(name, self.wording.missing)
            return default
        value = self.data[name]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        # bool is an int subclass in Python; `number: yes` is a mistake, not session 1.
        if not isinstance(value, kind) or (isinstance(value, bool) and bool not in kinds):
            raise self.error(
                name, f"must be {self.wording.kind(kind)}, got {self.wording.show(value)}"
            )
        return value

    def string(self, name: str) -> str:
        """A required text field, stripped; blank is a problem."""
        value = self.get(name, str).strip()
        if not value:
            raise self.error(name, "must not be empty")
        return value

    def integer(self, name: str, *, minimum: int) -> int:
        value = self.get(name, int)
        if value < minimum:
            raise self.error(name, f"must be at least {minimum}, got {value}")
        return value

    def strings(self, name: str, *, allow_empty: bool) -> list[str]:
        """A required list of non-blank texts, each stripped."""
        values = self.get(name, list)
        if not values and not allow_empty:
            raise self.error(name, "must list at least one item")
        for index, value in enumerate(values):
            if not isinstance(value, str) or not value.strip():
                shown = self.wording.show(value)
                raise self.error(f"{name}[{index}]", f"must be a non-empty string, got {shown}")
        return [value.strip() for value in values]

    def no_duplicates(self, values: Iterable[str], name: str) -> None:
        seen: set[str] = set()
        for value in values:
            if value in seen:
                raise self.error(name, f"{value!r} is listed twice")
            seen.add(value)

    def no_others(self) -> None:
        """Every field of the mapping has been read (a field never read is likely misspelt)."""
        unknown = sorted(str(key) for key in self.data if key not in self.seen)
        if unknown:
            raise self.error(unknown[0], "unknown field (misspelt?)")
