"""Inviting many staff at once from a CSV file (columns email, name, role, language): every row
is checked before anything is written, and each problem is named with the row's number."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from flask_babel import gettext as _

from program.accounts.invitations import problems

COLUMNS = ("email", "name", "role", "language")
MAX_ROWS = 500
MAX_BYTES = 1024 * 1024


class BulkFileError(ValueError):
    """The file as a whole cannot be read; the message says why."""


@dataclass
class BulkRow:
    number: int  #: the row's number in the file, the header being row 1
    email: str
    name: str
    role: str
    locale: str
    problems: list[str] = field(default_factory=list)

    def as_invitation(self) -> dict:
        return {"email": self.email, "name": self.name, "role": self.role,
                "locale": self.locale}


def read_rows(data: bytes) -> list[BulkRow]:
    """The rows of a CSV upload (UTF-8, a header naming the four columns, in any order)."""
    if len(data) > MAX_BYTES:
        raise BulkFileError(_("The file is larger than 1 MB."))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BulkFileError(_("The file is not UTF-8 text.")) from None
    try:
        table = list(csv.reader(io.StringIO(text.replace("\x00", ""))))
    except csv.Error:
        raise BulkFileError(_("The file is not a CSV file.")) from None
    if not table:
        raise BulkFileError(_("The file is empty."))
    header = [cell.strip().lower() for cell in table[0]]
    missing = [column for column in COLUMNS if column not in header]
    if missing:
        raise BulkFileError(_("The first row must name the columns email, name, role and "
                              "language; missing: %(columns)s.", columns=", ".join(missing)))
    at = {column: header.index(column) for column in COLUMNS}
    rows = []
    for number, cells in enumerate(table[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue
        value = {column: (cells[i].strip() if i < len(cells) else "") for column, i in at.items()}
        rows.append(BulkRow(number, value["email"].lower(), value["name"][:120],
                            value["role"].lower(), value["language"].lower()))
    if not rows:
        raise BulkFileError(_("The file has no rows below its header."))
    if len(rows) > MAX_ROWS:
        raise BulkFileError(_("The file has more than %(n)d rows.", n=MAX_ROWS))
    return rows


def check(rows: list[BulkRow]) -> list[BulkRow]:
    """Find every row's problems (bad email, unknown role or language, a duplicate in the
    file, an address with an account or a pending invitation); returns the rows."""
    first_row: dict[str, int] = {}
    for row in rows:
        row.problems = problems(row.email, row.role, row.locale)
        if not row.name:
            row.problems.append(_("The name is missing."))
        if row.email in first_row:
            row.problems.append(_("The same address is in row %(n)d.", n=first_row[row.email]))
        first_row.setdefault(row.email, row.number)
    return rows
