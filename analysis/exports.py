"""Pure writers for data exports: CSV (UTF-8 with BOM), XLSX, SPSS .sav, Stata .dta, codebook.

Every writer returns bytes; nothing here knows about the database or the web app.

In the SPSS and Stata files dates are dates (SPSS ``DATE11``, Stata ``%td``), and categorical
text columns (arm, status, gender and every categorical characteristic, chosen with
``categorical``) are integer codes carrying value labels, as those packages expect a factor.

Spreadsheet formula injection: in CSV and XLSX output a text cell that starts with ``=``,
``+``, ``-`` (or the Unicode minus), ``@``, a tab or a carriage return gets a leading
apostrophe so spreadsheet programs show it as text instead of evaluating it. Numbers are
written as numbers and never altered.

References
----------
OWASP. CSV Injection. https://owasp.org/www-community/attacks/CSV_Injection
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence

import pandas as pd

from analysis.design import r_sorted

__all__ = [
    "neutralise",
    "neutralise_frame",
    "write_csv",
    "write_xlsx",
    "write_sav",
    "write_dta",
    "codebook",
    "safe_variable_names",
    "value_labelled",
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


def write_xlsx(sheets: Mapping[str, pd.DataFrame],
               figures: Sequence[tuple[str, bytes]] = ()) -> bytes:
    """An XLSX workbook with one sheet per table (names shortened to Excel's 31 characters)
    and, with ``figures`` (title, PNG bytes), a ``figures`` sheet with each image embedded
    under its title."""
    buf = io.BytesIO()
    used: set[str] = set()
    with pd.ExcelWriter(buf, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            neutralise_frame(frame).to_excel(writer, sheet_name=_sheet_name(name, used),
                                             index=False)
        if figures:
            from openpyxl.drawing.image import Image

            sheet = writer.book.create_sheet(_sheet_name("figures", used))
            row = 1
            for title, png in figures:
                sheet.cell(row=row, column=1, value=neutralise(title))
                image = Image(io.BytesIO(png))
                sheet.add_image(image, f"A{row + 1}")
                row += 3 + int(image.height / 20)  # default rows are 20 px high
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
    return out, column_labels, mapping


def _via_file(write, suffix: str) -> bytes:
    fd, path = tempfile.mkstemp(suffix=suffix)
    os.close(fd)
    try:
        write(path)
        with open(path, "rb") as fh:
            return fh.read()
    finally:
        os.unlink(path)


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _as_dates(values: pd.Series) -> pd.Series | None:
    """The column as dates when every value is one (a date, a timestamp at midnight, or
    ISO ``YYYY-MM-DD`` text), else None."""
    present = values.dropna()
    if present.empty:
        return None
    if pd.api.types.is_datetime64_any_dtype(values):
        if (present.dt.normalize() == present).all():
            return values.map(lambda v: None if pd.isna(v) else v.date())
        return None
    if not (values.dtype == object or pd.api.types.is_string_dtype(values)):
        return None
    if all(isinstance(v, dt.date) and not isinstance(v, dt.datetime) for v in present):
        return values.astype(object)
    if all(isinstance(v, str) and _ISO_DATE.fullmatch(v) for v in present):
        try:
            return values.astype(object).map(
                lambda v: dt.date.fromisoformat(v) if isinstance(v, str) else None)
        except ValueError:
            return None
    return None


def value_labelled(frame: pd.DataFrame, categorical: Iterable[str] | str | None = "auto",
                   identifiers: Iterable[str] = ("participant_id",)
                   ) -> tuple[pd.DataFrame, dict[str, dict[int, str]]]:
    """Categorical text columns as integer codes with value labels, date columns as dates.

    Parameters
    ----------
    frame : DataFrame
    categorical : "auto", iterable of str or None
        The columns to code: ``"auto"`` codes every text column except ``identifiers`` and
        date columns; None codes none.
    identifiers : iterable of str
        Text columns that are identifiers, never coded (pseudonymous codes).

    Returns
    -------
    (DataFrame, dict)
        The frame with codes 1..k (levels in R's order, so code 1 is R's reference level;
        missing stays missing) and, per coded column, ``{code: level}``.

    Examples
    --------
    >>> import pandas as pd
    >>> coded, labels = value_labelled(pd.DataFrame({
    ...     "participant_id": ["P-0001", "P-0002", "P-0003"], "arm": ["UC", "CFT", "UC"],
    ...     "gender": ["female", None, "male"], "randomised_on": ["2026-03-02", None,
    ...                                                         "2026-03-09"]}))
    >>> coded["arm"].tolist(), labels["arm"], labels["gender"]
    ([2.0, 1.0, 2.0], {1: 'CFT', 2: 'UC'}, {1: 'female', 2: 'male'})
    >>> coded["randomised_on"].tolist()[0]
    datetime.date(2026, 3, 2)
    """
    out = frame.copy()
    keep = set(identifiers)
    for column in out.columns:
        dates = _as_dates(out[column])
        if dates is not None:
            out[column] = dates
    if categorical is None:
        return out, {}
    if isinstance(categorical, str):
        wanted = [c for c in out.columns
                  if c not in keep and _as_dates(frame[c]) is None
                  and not pd.api.types.is_numeric_dtype(out[c])
                  and not pd.api.types.is_bool_dtype(out[c])]
    else:
        wanted = [c for c in categorical if c in out.columns]
    value_labels: dict[str, dict[int, str]] = {}
    for column in wanted:
        text = out[column].map(lambda v: None if v is None or v != v else str(v))
        levels = r_sorted(text.dropna().unique())
        codes = {level: i + 1 for i, level in enumerate(levels)}
        out[column] = text.map(codes).astype(float)
        value_labels[str(column)] = {i + 1: level for i, level in enumerate(levels)}
    return out, value_labels


def write_sav(frame: pd.DataFrame, labels: Mapping[str, str] | None = None, *,
              categorical: Iterable[str] | str | None = None,
              identifiers: Iterable[str] = ("participant_id",)) -> bytes:
    """SPSS .sav with variable labels (default: the original column names), dates as SPSS
    dates, and ``categorical`` columns (see :func:`value_labelled`) as nominal codes with
    value labels."""
    import pyreadstat

    coded, value_labels = value_labelled(frame, categorical, identifiers)
    out, column_labels, mapping = _labelled(coded, labels, 64)
    names = {mapping[c]: v for c, v in value_labels.items()}
    return _via_file(
        lambda p: pyreadstat.write_sav(
            out, p, column_labels=column_labels, variable_value_labels=names,
            variable_measure={n: "nominal" for n in names},
            variable_format={n: "F8.0" for n in names}), ".sav"
    )


def write_dta(frame: pd.DataFrame, labels: Mapping[str, str] | None = None, *,
              categorical: Iterable[str] | str | None = None,
              identifiers: Iterable[str] = ("participant_id",)) -> bytes:
    """Stata .dta with variable labels (Stata limits labels to 80 characters), dates as Stata
    dates (``%td``), and ``categorical`` columns as codes with value labels."""
    import pyreadstat

    coded, value_labels = value_labelled(frame, categorical, identifiers)
    out, column_labels, mapping = _labelled(coded, labels, 32)
    column_labels = [label[:80] for label in column_labels]
    names = {mapping[c]: v for c, v in value_labels.items()}
    return _via_file(
        lambda p: pyreadstat.write_dta(out, p, column_labels=column_labels,
                                       variable_value_labels=names), ".dta"
    )


def codebook(frame: pd.DataFrame, labels: Mapping[str, str] | None = None, *,
             categorical: Iterable[str] | str | None = None,
             identifiers: Iterable[str] = ("participant_id",)) -> pd.DataFrame:
    """One row per variable: export name, label, type, non-missing n, range or levels.

    With ``categorical`` (as for :func:`write_sav`) the codebook describes the SPSS and Stata
    files: coded columns are ``categorical`` with their codes (``1 = CFT; 2 = UC``) and date
    columns are ``date``.
    """
    mapping = safe_variable_names(frame.columns)
    labels = labels or {}
    coded, value_labels = (value_labelled(frame, categorical, identifiers)
                           if categorical is not None else (frame, {}))
    rows = []
    for column in frame.columns:
        values = frame[column]
        numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        dates = categorical is not None and _as_dates(values) is not None
        if str(column) in value_labels:
            kind = "categorical"
            content = "; ".join(f"{k} = {v}" for k, v in value_labels[str(column)].items())
        elif dates:
            kind = "date"
            present = coded[column].dropna()
            content = f"{min(present)} to {max(present)}"
        elif numeric:
            kind = "number"
            content = (
                f"{values.min():g} to {values.max():g}" if values.notna().any() else "no values"
            )
        else:
            kind = "text"
            levels = sorted(values.dropna().astype(str).unique())
            content = ", ".join(levels[:20]) + (" ..." if len(levels) > 20 else "")
        rows.append({
            "variable": str(column),
            "spss_stata_name": mapping[str(column)],
            "label": labels.get(str(column), str(column)),
            "type": kind,
            "n": int(values.notna().sum()),
            "values": content,
        })
    return pd.DataFrame(rows)
