"""Small helpers for the schema: string enumerations checked by the database."""

from __future__ import annotations

from sqlalchemy import CheckConstraint


def one_of(column: str, values: tuple[str, ...], name: str | None = None) -> CheckConstraint:
    """A CHECK constraint limiting a text column to a fixed vocabulary."""
    quoted = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({quoted})", name=name or f"{column}_valid")
