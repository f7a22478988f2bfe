"""Export writers: formula neutralisation, BOM, workbook sheets, SPSS/Stata labels, codebook."""

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
