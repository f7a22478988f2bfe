"""Pure writers for data exports: CSV (UTF-8 with BOM), XLSX, SPSS .sav, Stata .dta, codebook.

Every writer returns bytes; nothing here knows about the database or the web app.

Spreadsheet formula injection: in CSV and XLSX output a text cell that starts with ``=``,
``+``, ``-`` (or the Unicode minus), ``@``, a tab or a carriage return gets a leading
apostrophe so spreadsheet programs show it as text instead of evaluating it. Numbers are
written as numbers and never altered.

References
----------
OWASP. CSV Injection. https://owasp.org/www-community/attacks/CSV_Injection
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from collections.abc import Mapping

import pandas as pd

__all__ = [
    "neutralise",
    "neutralise_frame",
    "write_csv",
    "write_xlsx",
    "write_sav",
    "write_dta",
    "codebook",
    "safe_variable_names",
]

_TRIGGERS = ("=", "+", "-", "\u2212", "@", "\t", "\r")


def neutralise(value):
    """Prefix a text value that a spreadsheet would evaluate with an apostrophe."""
    if isinstance(value, str) and value.startswith(_TRIGGERS):
        return "'" + value
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with every text cell (and the column names) neutralised; numbers untouched."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(neutralise)
    out.columns = [neutralise(str(c)) for c in out.columns]
    return out


def write_csv(frame: pd.DataFrame) -> bytes:
    """CSV with a UTF-8 byte-order mark (so Excel reads accents right), neutralised."""
    return neutralise_frame(frame).to_csv(index=False).encode("utf-8-sig")


def _sheet_name(name: str, used: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\]", "_", name)[:31] or "sheet"
    candidate, k = base, 2
    while candidate.lower() in used:
        suffix = f" ({k})"
        candidate, k = base[: 31 - len(suffix)] + suffix, k + 1
    used.add(candidate.lower())
    return candidate


def write_xlsx(sheets: Mapping[str, pd.DataFrame]) -> bytes:
    """An XLSX workbook with one sheet per table (names shortened to Excel's 31 characters)."""
    buf = io.BytesIO()
    used: set[str] = set()
    with pd.ExcelWriter(buf, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            neutralise_frame(frame).to_excel(writer, sheet_name=_sheet_name(name, used),
                                             index=False)
    return buf.getvalue()


def safe_variable_names(columns, max_length: int = 32) -> dict[str, str]:
    """Map column names to names SPSS and Stata accept (letters, digits, underscore).

    The original name is kept as the variable label by :func:`write_sav` / :func:`write_dta`.
    """
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for column in columns:
        name = re.sub(r"[^A-Za-z0-9_]", "_", str(column))
        if not name or not name[0].isalpha():
            name = "v_" + name
        name = name[:max_length]
        candidate, k = name, 2
        while candidate.lower() in used:
            suffix = f"_{k}"
            candidate, k = name[: max_length - len(suffix)] + suffix, k + 1
        used.add(candidate.lower())
        mapping[str(column)] = candidate
    return mapping


def _labelled(frame: pd.DataFrame, labels: Mapping[str, str] | None, max_length: int):
    mapping = safe_variable_names(frame.columns, max_length)
    out = frame.rename(columns=lambda c: mapping[str(c)])
    labels = labels or {}
    column_labels = [labels.get(str(c), str(c)) for c in frame.columns]
    return out, column_labels


def _via_file(write, suffix: str) -> bytes:
    fd, path = tempfile.mkstemp(suffix=suffix)
    os.close(fd)
    try:
        write(path)
        with open(path, "rb") as fh:
            return fh.read()
    finally:
        os.unlink(path)


def write_sav(frame: pd.DataFrame, labels: Mapping[str, str] | None = None) -> bytes:
    """SPSS .sav with variable labels (default: the original column names)."""
    import pyreadstat

    out, column_labels = _labelled(frame, labels, 64)
    return _via_file(
        lambda p: pyreadstat.write_sav(out, p, column_labels=column_labels), ".sav"
    )


def write_dta(frame: pd.DataFrame, labels: Mapping[str, str] | None = None) -> bytes:
    """Stata .dta with variable labels (Stata limits labels to 80 characters)."""
    import pyreadstat

    out, column_labels = _labelled(frame, labels, 32)
    column_labels = [label[:80] for label in column_labels]
    return _via_file(
        lambda p: pyreadstat.write_dta(out, p, column_labels=column_labels), ".dta"
    )


def codebook(frame: pd.DataFrame, labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """One row per variable: export name, label, type, non-missing n, range or levels."""
    mapping = safe_variable_names(frame.columns)
    labels = labels or {}
    rows = []
    for column in frame.columns:
        values = frame[column]
        numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        if numeric:
            content = (
                f"{values.min():g} to {values.max():g}" if values.notna().any() else "no values"
            )
        else:
            levels = sorted(values.dropna().astype(str).unique())
            content = ", ".join(levels[:20]) + (" ..." if len(levels) > 20 else "")
        rows.append({
            "variable": str(column),
            "spss_stata_name": mapping[str(column)],
            "label": labels.get(str(column), str(column)),
            "type": "number" if numeric else "text",
            "n": int(values.notna().sum()),
            "values": content,
        })
    return pd.DataFrame(rows)
