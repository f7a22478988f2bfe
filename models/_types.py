"""Stored vocabularies: string enumerations that carry their label and are checked by the
database."""

from __future__ import annotations

from enum import EnumType, StrEnum

from sqlalchemy import CheckConstraint


class _VocabularyType(EnumType):
    def __contains__(cls, value: object) -> bool:
        """``"present" in AttendanceStatus`` for stored codes too (as Python 3.12 does)."""
        return isinstance(value, str) and value in cls._value2member_map_


class Vocabulary(StrEnum, metaclass=_VocabularyType):
    """A stored code and the label people read for it.

    Members are written ``CODE = "code", lazy_pgettext("context", "label")``; the database
    keeps the code (exports, the analysis and the audit log use it), pages show the label in
    the reader's language. The message context lets one English word read differently per
    vocabulary (a participant who is "active" takes part, an account that is "active" may sign
    in). Without a label a code reads as itself, underscores as spaces.
    """

    def __new__(cls, code: str, label: object = None):
        member = str.__new__(cls, code)
        member._value_ = code
        member._label = label
        return member

    @property
    def label(self) -> str:
        return str(self._label) if self._label is not None else self.value.replace("_", " ")

    @classmethod
    def codes(cls) -> tuple[str, ...]:
        return tuple(member.value for member in cls)

    @classmethod
    def choices(cls, members=None) -> list[tuple[str, object]]:
        """Form choices: the code as the value, the lazy label as the text."""
        return [(m.value, m._label if m._label is not None else m.label)
                for m in (members if members is not None else cls)]

    @classmethod
    def label_of(cls, code: str | None) -> str:
        """The label of a stored code; an unknown code is shown as it is."""
        if code is None:
            return ""
        try:
            return cls(code).label
        except ValueError:
            return str(code)


def one_of(column: str, values, name: str | None = None) -> CheckConstraint:
    """A CHECK constraint limiting a text column to a fixed vocabulary."""
    quoted = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({quoted})", name=name or f"{column}_valid")
