"""Export writers: formula neutralisation, BOM, workbook sheets, SPSS/Stata labels, codebook."""

import datetime as dt
import io

import numpy as np
import openpyxl
import pandas as pd
import pyreadstat
import pytest

from analysis.exports import (
    codebook,
    neutralise,
    write_csv,
    write_dta,
    write_sav,
    write_xlsx,
)


@pytest.fixture
def frame():
    return pd.DataFrame({
        "participant_id": ["P-0001", "=HYPERLINK(\"http://x\")", "@SUM(A1)"],
        "note": ["+1 555", "-2+3", "\tcmd"],
        "BDI-II pre": [34.0, -3.5, np.nan],
        "arm": ["CFT", "UC", "CFT"],
    })


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "\u22121", "@A1", "\tx", "\rx"])
def test_dangerous_text_gets_an_apostrophe(text):
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("value", ["P-0001", "CFT", "", 3.5, -2, None])
def test_other_values_are_untouched(value):
    assert neutralise(value) == value


def test_csv_has_bom_and_neutralised_text_but_raw_numbers(frame):
    data = write_csv(frame)
    assert data.startswith(b"\xef\xbb\xbf")
    back = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig")
    assert back.loc[1, "participant_id"] == "'=HYPERLINK(\"http://x\")"
    assert back.loc[0, "note"] == "'+1 555"
    assert back.loc[0, "participant_id"] == "P-0001"
    assert back.loc[1, "BDI-II pre"] == -3.5


def test_xlsx_one_sheet_per_table_with_numbers_as_numbers(frame):
    data = write_xlsx({"scores": frame, "a very long sheet name that Excel would refuse": frame})
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert book.sheetnames[0] == "scores"
    assert len(book.sheetnames[1]) <= 31
    sheet = book["scores"]
    assert sheet["A3"].value == "'=HYPERLINK(\"http://x\")"
    assert sheet["A4"].value == "'@SUM(A1)"
    assert sheet["C3"].value == -3.5
    assert sheet["C3"].data_type == "n"


def _read(data: bytes, suffix: str, reader):
    import os
    import tempfile

    fd, path = tempfile.mkstemp(suffix=suffix)
    os.write(fd, data)
    os.close(fd)
    try:
        return reader(path)
    finally:
        os.unlink(path)


def test_sav_and_dta_carry_variable_labels(frame):
    labels = {"BDI-II pre": "BDI-II total at baseline (0-63)"}
    df, meta = _read(write_sav(frame, labels), ".sav", pyreadstat.read_sav)
    assert list(df.columns) == ["participant_id", "note", "BDI_II_pre", "arm"]
    assert meta.column_names_to_labels["BDI_II_pre"] == "BDI-II total at baseline (0-63)"
    assert meta.column_names_to_labels["participant_id"] == "participant_id"
    assert df["BDI_II_pre"].iloc[1] == -3.5
    df, meta = _read(write_dta(frame, labels), ".dta", pyreadstat.read_dta)
    assert meta.column_names_to_labels["BDI_II_pre"] == "BDI-II total at baseline (0-63)"


def test_codebook_lists_every_variable(frame):
    book = codebook(frame, {"arm": "randomised arm"})
    assert list(book["variable"]) == list(frame.columns)
    arm = book.set_index("variable").loc["arm"]
    assert arm["label"] == "randomised arm" and arm["values"] == "CFT, UC"
    bdi = book.set_index("variable").loc["BDI-II pre"]
    assert bdi["type"] == "number" and bdi["n"] == 2 and bdi["spss_stata_name"] == "BDI_II_pre"


@pytest.fixture
def wide():
    """A wide export as SPSS and Stata users get it: participants.csv columns, a date, and
    scores per measure and timepoint."""
    return pd.DataFrame({
        "participant_id": ["P-0001", "P-0002", "P-0003", "P-0004"],
        "arm": ["UC", "CFT", "CFT", "UC"],
        "status": ["completed", "withdrawn", "active", "completed"],
        "gender": ["female", "male", None, "female"],
        "age": [34.0, 51.0, 28.0, np.nan],
        "site": ["京都", "Osaka", "京都", "Osaka"],
        "randomised_on": ["2026-03-02", "2026-03-09", None, "2026-04-01"],
        "BDI-II@pre": [34.0, 29.0, 40.0, np.nan],
    })


@pytest.mark.parametrize(("writer", "reader", "date_format"), [
    (write_sav, pyreadstat.read_sav, "DATE11"), (write_dta, pyreadstat.read_dta, "%td")])
def test_stats_package_files_carry_value_labels_and_dates(wide, writer, reader, date_format):
    data = writer(wide, {"arm": "Arm"}, categorical="auto")
    df, meta = _read(data, ".sav" if writer is write_sav else ".dta", reader)
    # arm, status, gender and every categorical characteristic: codes with value labels,
    # code 1 the reference level R would choose; the pseudonymous code stays text
    assert meta.variable_value_labels["arm"] == {1: "CFT", 2: "UC"}
    assert meta.variable_value_labels["status"] == {1: "active", 2: "completed", 3: "withdrawn"}
    assert meta.variable_value_labels["gender"] == {1: "female", 2: "male"}
    assert meta.variable_value_labels["site"] == {1: "Osaka", 2: "京都"}
    assert df["arm"].tolist() == [2, 1, 1, 2]
    assert df["gender"].isna().tolist() == [False, False, True, False]
    assert df["participant_id"].tolist() == wide["participant_id"].tolist()
    assert meta.column_names_to_labels["arm"] == "Arm"
    # dates are dates, not text
    assert meta.original_variable_types["randomised_on"] == date_format
    assert df["randomised_on"].tolist()[0] == dt.date(2026, 3, 2)
    assert pd.isna(df["randomised_on"].tolist()[2])
    labelled, _ = _read(data, ".sav" if writer is write_sav else ".dta",
                        lambda p: reader(p, apply_value_formats=True))
    assert labelled["status"].tolist() == wide["status"].tolist()
    assert labelled["BDI_II_pre"].tolist()[:3] == [34.0, 29.0, 40.0]


def test_spss_codes_are_nominal_and_chosen_columns_only(wide):
    df, meta = _read(write_sav(wide, categorical=["arm"]), ".sav", pyreadstat.read_sav)
    assert meta.variable_measure["arm"] == "nominal"
    assert set(meta.variable_value_labels) == {"arm"}
    assert df["status"].tolist() == wide["status"].tolist()  # left as text
    # without categorical the file is as before: text stays text (dates still dates)
    df, meta = _read(write_sav(wide), ".sav", pyreadstat.read_sav)
    assert df["arm"].tolist() == wide["arm"].tolist() and not meta.variable_value_labels


def test_codebook_lists_codes_and_dates_of_the_stats_package_files(wide):
    book = codebook(wide, categorical="auto").set_index("variable")
    assert book.loc["arm", "type"] == "categorical"
    assert book.loc["arm", "values"] == "1 = CFT; 2 = UC"
    assert book.loc["randomised_on", "type"] == "date"
    assert book.loc["randomised_on", "values"] == "2026-03-02 to 2026-04-01"
    assert book.loc["participant_id", "type"] == "text"
