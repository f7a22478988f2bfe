"""Read and validate the data contract's CSV files.

Every problem raises :class:`InputError`, whose message is one line naming the file, the row
and the column, e.g. ``scores.csv, row 7, column 'score': not a number: 'n/a'``. Rows are
numbered as a spreadsheet shows them: the header is row 1, the first data row is row 2.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from pathlib import Path

import pandas as pd

from analysis import options

__all__ = [
    "InputError",
    "MISSING_CODES",
    "check_score_ranges",
    "read_ranges",
    "read_scores",
    "read_participants",
    "read_attendance",
    "read_flow",
    "check_timepoints",
    "check_arm",
    "check_against_participants",
    "read_sessions",
    "read_satisfaction",
    "read_engagement",
]

SCORE_COLUMNS = ["participant_id", "arm", "timepoint", "measure", "score"]
PARTICIPANT_COLUMNS = ["participant_id", "arm", "status", "gender", "age"]
STATUSES = {"completed", "withdrawn", "lost", "active"}
ATTENDANCE_COLUMNS = ["participant_id", "arm", "meeting", "present"]
FLOW_COLUMNS = ["participant_id", "stage", "arm", "reason"]
FLOW_STAGES = ["screened", "excluded", "randomised", "received", "not_received",
               "stopped_sessions", "withdrawn", "lost", "analysed"]


class InputError(ValueError):
    """Bad input, described in one line naming file, row and column."""

    def __init__(self, file: str, message: str, row: int | None = None, column: str | None = None):
        where = [Path(file).name]
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column '{column}'")
        super().__init__(", ".join(where) + ": " + message.replace("\n", " "))
        self.file, self.row, self.column = file, row, column


def _read(path, name: str, required: Sequence[str]) -> pd.DataFrame:
    label = name if not isinstance(path, (str, Path)) else str(path)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(label, "file not found") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(label, f"not a readable CSV file ({exc})") from None
    except pd.errors.EmptyDataError:
        raise InputError(label, "the file is empty", row=1) from None
    frame.columns = [c.strip() for c in frame.columns]
    for column in required:
        if column not in frame.columns:
            raise InputError(label, "missing column", row=1, column=column)
    for column in frame.columns:
        frame[column] = frame[column].str.strip()
    return frame


def _row(index: int) -> int:
    return int(index) + 2


def _reject_first(label: str, rows: pd.Index, column: str,
                  message: str | Callable[[Hashable], str]) -> None:
    """Raise :class:`InputError` at the first of ``rows`` (frame index labels), if any.

    ``message`` is the text, or a function of that row's index label returning it.
    """
    if len(rows):
        first = rows[0]
        text = message(first) if callable(message) else message
        raise InputError(label, text, row=_row(first), column=column)


def _require_text(frame: pd.DataFrame, label: str, columns: Sequence[str]) -> None:
    for column in columns:
        _reject_first(label, frame.index[frame[column] == ""], column, "empty value")


#: Written for a missing value by R's write.csv; read as empty.
MISSING_MARKERS = {"", "NA"}


def _numeric(frame: pd.DataFrame, label: str, column: str, allow_empty: bool) -> pd.Series:
    text = frame[column].where(~frame[column].isin(MISSING_MARKERS), "")
    values = pd.to_numeric(text.where(text != ""), errors="coerce")
    bad = frame.index[values.isna() & ((text != "") | (not allow_empty))]
    _reject_first(label, bad, column,
                  lambda i: f"not a number: {text[i]!r}" if text[i] else "empty value")
    return values


#: Values that data-entry conventions (SPSS, Stata, REDCap exports) use for a missing answer.
#: No questionnaire total in Hearth's library can take them, so a score column holding one
#: is a coding error; a measure with a stated range is checked against that range instead.
MISSING_CODES = frozenset({-9.0, -99.0, -999.0, -9999.0, 999.0, 9999.0})


def check_score_ranges(scores: pd.DataFrame, ranges: Mapping[str, tuple[float, float]] | None,
                       label: str = "scores.csv") -> None:
    """Every score within its measure's valid range (``ranges``: measure -> (min, max));
    for a measure without a range, no missing-value code (:data:`MISSING_CODES`).

    Rows are named as in the file (index 0 is row 2), so a frame read by :func:`read_scores`
    is reported where the researcher sees it.

    Raises
    ------
    InputError
        The first score outside its range, naming the row.

    Examples
    --------
    >>> import pandas as pd
    >>> scores = pd.DataFrame({"measure": ["BDI-II", "BDI-II"], "score": [34.0, 999.0]})
    >>> try:  # doctest: +NORMALIZE_WHITESPACE
    ...     check_score_ranges(scores, {"BDI-II": (0, 63)})
    ... except InputError as exc:
    ...     print(exc)
    scores.csv, row 3, column 'score': 999 is outside the range of BDI-II (0 to 63);
    a missing score is an empty cell
    """
    ranges = ranges or {}
    values = scores["score"]
    lows = scores["measure"].map(lambda m: ranges.get(m, (None, None))[0])
    highs = scores["measure"].map(lambda m: ranges.get(m, (None, None))[1])
    known = lows.notna() & highs.notna()
    outside = values.notna() & known & ((values < lows.where(known, 0).astype(float))
                                        | (values > highs.where(known, 0).astype(float)))
    coded = values.notna() & ~known & values.isin(MISSING_CODES)

    def why(i) -> str:
        value = f"{values[i]:g}"
        if outside[i]:
            return (f"{value} is outside the range of {scores.at[i, 'measure']}"
                    f" ({lows[i]:g} to {highs[i]:g}); a missing score is an empty cell")
        return (f"{value} looks like a missing-value code; a missing score is an empty cell"
                f" (or give the range of {scores.at[i, 'measure']})")

    _reject_first(label, scores.index[outside | coded], "score", why)


def read_ranges(path, name: str = "ranges.csv") -> dict[str, tuple[float, float]]:
    """Read valid score ranges: ``measure, min, max``, one row per measure.

    Raises
    ------
    InputError
        Missing column, empty measure, a bound that is not a number, ``min`` above ``max``
        or a measure listed twice.
    """
    label = name if not isinstance(path, (str, Path)) else str(path)
    frame = _read(path, label, ["measure", "min", "max"])
    _require_text(frame, label, ["measure"])
    low = _numeric(frame, label, "min", allow_empty=False)
    high = _numeric(frame, label, "max", allow_empty=False)
    _reject_first(label, frame.index[low > high], "max", "max is below min")
    _reject_first(label, frame.index[frame["measure"].duplicated()], "measure",
                  lambda i: f"second range for {frame.at[i, 'measure']}")
    return {m: (float(lo), float(hi)) for m, lo, hi in zip(frame["measure"], low, high,
                                                         strict=True)}


def read_scores(path, name: str = "scores.csv",
                ranges: Mapping[str, tuple[float, float]] | None = None) -> pd.DataFrame:
    """Read ``scores.csv``; an empty (or R's ``NA``) ``score`` means not completed: NaN.

    ``ranges`` (measure -> (min, max)) are the measures' valid ranges; see
    :func:`check_score_ranges`.

    Raises
    ------
    InputError
        Missing column, empty identifier, non-numeric score, a score outside its range (or a
        missing-value code such as -99 or 999) or a duplicated participant x timepoint x
        measure row.
    """
    label = name if not isinstance(path, (str, Path)) else str(path)
    frame = _read(path, label, SCORE_COLUMNS)
    _require_text(frame, label, ["participant_id", "arm", "timepoint", "measure"])
    frame["score"] = _numeric(frame, label, "score", allow_empty=True)
    check_score_ranges(frame, ranges, label)
    dup = frame.duplicated(["participant_id", "timepoint", "measure"])
    if dup.any():
        i = frame.index[dup][0]
        raise InputError(
            label,
            f"second score for {frame.at[i, 'participant_id']} at {frame.at[i, 'timepoint']}"
            f" on {frame.at[i, 'measure']}",
            row=_row(i),
            column="participant_id",
        )
    arms = frame.groupby("participant_id")["arm"].nunique()
    if (arms > 1).any():
        pid = arms.index[arms > 1][0]
        i = frame.index[frame["participant_id"] == pid][-1]
        raise InputError(label, f"participant {pid} appears in two arms", row=_row(i), column="arm")
    return frame


def read_participants(path, name: str = "participants.csv") -> pd.DataFrame:
    """Read ``participants.csv``; numeric-looking extra columns become numbers.

    Raises
    ------
    InputError
        Missing column, duplicate participant, unknown status or non-numeric age.
    """
    label = name if not isinstance(path, (str, Path)) else str(path)
    frame = _read(path, label, PARTICIPANT_COLUMNS)
    _require_text(frame, label, ["participant_id", "arm", "status"])
    dup = frame.index[frame["participant_id"].duplicated()]
    if len(dup):
        raise InputError(label, "duplicate participant", row=_row(dup[0]), column="participant_id")
    bad = frame.index[~frame["status"].isin(STATUSES)]
    if len(bad):
        raise InputError(
            label,
            f"unknown status {frame.at[bad[0], 'status']!r} (one of {', '.join(sorted(STATUSES))})",
            row=_row(bad[0]),
            column="status",
        )
    frame["age"] = _numeric(frame, label, "age", allow_empty=True)
    for column in frame.columns.difference(["participant_id", "arm", "status", "gender", "age"]):
        filled = frame[column] != ""
        converted = pd.to_numeric(frame.loc[filled, column], errors="coerce")
        if filled.any() and converted.notna().all():
            frame[column] = pd.to_numeric(frame[column].where(filled), errors="coerce")
    frame["gender"] = frame["gender"].where(frame["gender"] != "")
    return frame


def check_against_participants(
    scores: pd.DataFrame, participants: pd.DataFrame, scores_name: str = "scores.csv"
) -> None:
    """Every scored participant must be listed, in the same arm."""
    arm_of = participants.set_index("participant_id")["arm"]
    known = scores["participant_id"].isin(arm_of.index)
    if not known.all():
        i = scores.index[~known][0]
        raise InputError(
            scores_name,
            f"participant {scores.at[i, 'participant_id']} is not in participants.csv",
            row=_row(i),
            column="participant_id",
        )
    mismatch = scores["arm"].to_numpy() != arm_of.reindex(scores["participant_id"]).to_numpy()
    if mismatch.any():
        i = scores.index[mismatch][0]
        raise InputError(
            scores_name,
            f"unknown arm {scores.at[i, 'arm']!r} for {scores.at[i, 'participant_id']}"
            f" (participants.csv says {arm_of[scores.at[i, 'participant_id']]!r})",
            row=_row(i),
            column="arm",
        )


def check_timepoints(
    scores: pd.DataFrame, timepoints: Sequence[str], scores_name: str = "scores.csv"
) -> None:
    """Every measure needs at least one score at every requested timepoint."""
    for measure in dict.fromkeys(scores["measure"]):
        missing = options.missing_timepoint(scores, measure, timepoints)
        if missing is not None:
            rows = scores.index[scores["measure"] == measure]
            raise InputError(
                scores_name,
                str(options.OptionError("incomplete_measure", measure=measure,
                                        timepoint=missing)),
                row=_row(rows[0]),
                column="timepoint",
            )


def check_arm(scores: pd.DataFrame, arm: str, scores_name: str = "scores.csv") -> None:
    """A reference arm named on the command line must exist (unless there is only one arm)."""
    try:
        options.reference_arm(scores, arm)
    except options.OptionError as exc:
        raise InputError(scores_name, str(exc), column="arm") from None


def read_attendance(path, name: str = "attendance.csv") -> pd.DataFrame:
    """Read ``attendance.csv``: one row per participant x meeting.

    Columns ``participant_id, arm, meeting, present`` and optionally ``minutes``; ``meeting``
    is the meeting number (1..n), ``present`` is 1/0 (or yes/no, true/false).
    """
    label = name if not isinstance(path, (str, Path)) else str(path)
    frame = _read(path, label, ATTENDANCE_COLUMNS)
    _require_text(frame, label, ["participant_id", "arm"])
    frame["meeting"] = _numeric(frame, label, "meeting", allow_empty=False).astype(int)
    truth = {"1": True, "yes": True, "true": True, "0": False, "no": False, "false": False}
    present = frame["present"].str.lower().map(truth)
    bad = frame.index[present.isna()]
    if len(bad):
        raise InputError(
            label,
            f"expected 1/0, yes/no or true/false, got {frame.at[bad[0], 'present']!r}",
            row=_row(bad[0]),
            column="present",
        )
    frame["present"] = present.astype(bool)
    if "minutes" in frame.columns:
        frame["minutes"] = _numeric(frame, label, "minutes", allow_empty=True)
    dup = frame.index[frame.duplicated(["participant_id", "meeting"])]
    if len(dup):
        raise InputError(label, "second row for this meeting", row=_row(dup[0]), column="meeting")
    return frame


def read_flow(path, name: str = "flow.csv") -> pd.DataFrame:
    """Read ``flow.csv``: one row per person per CONSORT stage reached or left.

    Columns ``participant_id, stage, arm, reason``; ``stage`` is one of screened, excluded,
    randomised, received, not_received, stopped_sessions, withdrawn, lost, analysed (see
    :mod:`analysis.consort`).
    """
    label = name if not isinstance(path, (str, Path)) else str(path)
    frame = _read(path, label, FLOW_COLUMNS)
    _require_text(frame, label, ["participant_id", "stage"])
    bad = frame.index[~frame["stage"].isin(FLOW_STAGES)]
    if len(bad):
        raise InputError(
            label,
            f"unknown stage {frame.at[bad[0], 'stage']!r} (one of {', '.join(FLOW_STAGES)})",
            row=_row(bad[0]),
            column="stage",
        )
    return frame


SESSION_STATUSES = {"held", "cancelled", "truncated", "postponed"}


def read_sessions(path, name: str = "sessions.csv") -> pd.DataFrame:
    """Read ``sessions.csv``: ``meeting, status[, cohort, adherence]`` (adherence 0-1)."""
    label = name if not isinstance(path, (str, Path)) else str(path)
    frame = _read(path, label, ["meeting", "status"])
    frame["meeting"] = _numeric(frame, label, "meeting", allow_empty=False).astype(int)
    bad = frame.index[~frame["status"].isin(SESSION_STATUSES)]
    if len(bad):
        raise InputError(
            label,
            f"unknown status {frame.at[bad[0], 'status']!r}"
            f" (one of {', '.join(sorted(SESSION_STATUSES))})",
            row=_row(bad[0]),
            column="status",
        )
    if "adherence" in frame.columns:
        values = _numeric(frame, label, "adherence", allow_empty=True)
        out = frame.index[(values < 0) | (values > 1)]
        if len(out):
            raise InputError(label, "adherence must lie between 0 and 1", row=_row(out[0]),
                             column="adherence")
        frame["adherence"] = values
    return frame


def read_satisfaction(path, name: str = "csq.csv") -> pd.DataFrame:
    """Read CSQ-8 ratings: ``participant_id, csq_1 .. csq_8``, each 1-4 or empty."""
    label = name if not isinstance(path, (str, Path)) else str(path)
    frame = _read(path, label, ["participant_id", *(f"csq_{i}" for i in range(1, 9))])
    for i in range(1, 9):
        column = f"csq_{i}"
        values = _numeric(frame, label, column, allow_empty=True)
        out = frame.index[values.notna() & ~values.isin([1, 2, 3, 4])]
        if len(out):
            raise InputError(label, "CSQ-8 ratings are 1, 2, 3 or 4", row=_row(out[0]),
                             column=column)
        frame[column] = values
    return frame


def read_engagement(path, name: str = "engagement.csv") -> pd.DataFrame:
    """Read ``engagement.csv``: ``participant_id, week`` and counts per week."""
    label = name if not isinstance(path, (str, Path)) else str(path)
    frame = _read(path, label, ["participant_id", "week"])
    frame["week"] = _numeric(frame, label, "week", allow_empty=False).astype(int)
    for column in ("materials_opened", "practice_minutes", "posts"):
        if column in frame.columns:
            frame[column] = _numeric(frame, label, column, allow_empty=True)
    return frame
