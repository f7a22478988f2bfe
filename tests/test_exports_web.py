"""Data exports through the web: pseudonymous, formula-safe, labelled, removal respected."""

from __future__ import annotations

import csv
import io
from datetime import date

import openpyxl
import pandas as pd
import pyreadstat
import pytest

from analysis.consort import flow_counts
from models import AuditEntry, Participant, db
from program.trial import removal, withdrawal
from tests.factories import gen_cohort, gen_staff, gen_study, gen_timepoint, gen_user
from tests.factories_reports import gen_meeting, gen_practice, gen_scored_trial

CSV_FILES = ["scores.csv", "participants.csv", "attendance.csv", "practice_logs.csv",
             "sessions.csv", "engagement.csv", "csq.csv", "flow.csv", "codebook.csv"]
ALL_FILES = [*CSV_FILES, "data.xlsx", "data.sav", "data.dta"]


@pytest.fixture
def researcher(app):
    return gen_user("researcher")


@pytest.fixture
def study(researcher):
    study = gen_scored_trial(researcher)
    cohort = gen_cohort(study)
    people = db.session.scalars(db.select(Participant).filter_by(study_id=study.id)
                                .order_by(Participant.code)).all()
    for p in people:
        p.user.email = f"{p.code.lower()}@private.example"
        p.user.display_name = f"Secret Name {p.code}"
        if p.arm.key == "CFT":
            p.cohort_id = cohort.id
    db.session.commit()
    gen_meeting(cohort, 1, register=[(p, "present", 90) for p in people[:3]])
    gen_practice(people[0], date(2026, 3, 10), note="Secret Name note")
    return study


def _rows(data: bytes) -> list[dict]:
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM for Excel
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def _get(client, study, name):
    response = client.get(f"/research/reports/{study.id}/data/{name}")
    assert response.status_code == 200, name
    assert "attachment" in response.headers["Content-Disposition"]
    return response.data


def test_every_export_is_pseudonymous(study, researcher, as_user):
    client = as_user(researcher)
    for name in ALL_FILES:
        data = _get(client, study, name)
        assert b"private.example" not in data, name
        assert b"Secret Name" not in data, name
        assert researcher.email.encode() not in data, name
    codes = {r["participant_id"] for r in _rows(_get(client, study, "scores.csv"))}
    assert codes == {p.code for p in db.session.scalars(
        db.select(Participant).filter_by(study_id=study.id))}


def test_every_download_is_audited_without_data(study, researcher, as_user):
    client = as_user(researcher)
    for name in ALL_FILES:
        _get(client, study, name)
    entries = db.session.scalars(db.select(AuditEntry).filter_by(
        action="report.downloaded")).all()
    assert sorted(e.details["file"] for e in entries) == sorted(ALL_FILES)
    assert all(set(e.details) == {"file"} for e in entries)


def test_text_that_a_spreadsheet_would_run_is_neutralised(study, researcher, as_user):
    first = db.session.scalars(db.select(Participant).filter_by(study_id=study.id)
                               .order_by(Participant.code)).first()
    first.baseline = {"site": "=HYPERLINK(\"http://evil.example\")", "referrer": "@SUM(A1)"}
    db.session.commit()
    client = as_user(researcher)

    rows = {r["participant_id"]: r for r in _rows(_get(client, study, "participants.csv"))}
    assert rows[first.code]["site"] == "'=HYPERLINK(\"http://evil.example\")"
    assert rows[first.code]["referrer"] == "'@SUM(A1)"
    assert rows[first.code]["age"].lstrip("-").isdigit()  # numbers are left alone

    book = openpyxl.load_workbook(io.BytesIO(_get(client, study, "data.xlsx")))
    sheet = book["participants"]
    header = [c.value for c in sheet[1]]
    row = next(r for r in sheet.iter_rows(min_row=2, values_only=True) if r[0] == first.code)
    cells = dict(zip(header, row, strict=True))
    assert cells["site"] == "'=HYPERLINK(\"http://evil.example\")"
    assert cells["referrer"] == "'@SUM(A1)"
    assert isinstance(cells["age"], int | float)


def test_spss_and_stata_files_carry_variable_labels(study, researcher, as_user, tmp_path):
    client = as_user(researcher)
    for name in ("data.sav", "data.dta"):
        path = tmp_path / name
        path.write_bytes(_get(client, study, name))
        reader = pyreadstat.read_sav if name.endswith(".sav") else pyreadstat.read_dta
        frame, meta = reader(str(path))
        labels = meta.column_names_to_labels
        bdi_pre = next(c for c in frame.columns if c.startswith("BDI_II") and "pre" in c)
        assert labels[bdi_pre] == "BDI-II at pre (Pre)"
        assert labels["participant_id"] == "Pseudonymous participant code"
        assert len(frame) == 9
        assert frame[bdi_pre].notna().sum() == 9


def test_codebook_describes_every_file(study, researcher, as_user):
    rows = _rows(_get(as_user(researcher), study, "codebook.csv"))
    files = {r["file"] for r in rows}
    assert {"scores.csv", "participants.csv", "attendance.csv", "data.sav / data.dta"} <= files
    score = next(r for r in rows if r["file"] == "scores.csv" and r["variable"] == "score")
    assert score["type"] == "number" and score["values"] == "19 to 42"


def test_removed_participant_appears_in_no_export_but_flow_adds_up(study, researcher,
                                                                     as_user, tmp_path):
    gone = db.session.scalars(db.select(Participant).filter_by(study_id=study.id)
                              .order_by(Participant.code)).first()
    withdrawal.request_data_removal(gone.id, on=date(2026, 4, 3))
    removal.remove_participant_data(gone.id)
    client = as_user(researcher)

    for name in CSV_FILES:
        rows = _rows(_get(client, study, name))
        ids = {r.get("participant_id") for r in rows}
        if name == "flow.csv":
            stages = {r["stage"] for r in rows if r["participant_id"] == gone.code}
            assert stages == {"screened", "randomised", "withdrawn"}
        else:
            assert gone.code not in ids, name
            assert gone.code not in _get(client, study, name).decode("utf-8-sig"), name
    for name in ("data.sav", "data.dta", "data.xlsx"):
        assert gone.code.encode() not in _get(client, study, name), name

    flow = pd.DataFrame(_rows(_get(client, study, "flow.csv")))
    counts = flow_counts(flow)
    assert counts["assessed"] == counts["excluded"]["n"] + counts["randomised"] == 9
    cft = counts["arms"]["CFT"]
    assert (cft["allocated"], cft["analysed"], cft["not_analysed"]) == (5, 4, 1)
    assert sum(a["allocated"] for a in counts["arms"].values()) == counts["randomised"]


def test_a_study_without_data_still_exports_and_reports(app, researcher, as_user):
    empty = gen_study()
    gen_staff(empty, researcher)
    gen_timepoint(empty, "pre", 1)
    gen_timepoint(empty, "post", 2)
    client = as_user(researcher)
    for name in ALL_FILES:
        _get(client, empty, name)
    assert [r["participant_id"] for r in _rows(_get(client, empty, "scores.csv"))] == []
    page = client.get(f"/research/reports/{empty.id}/efficacy")
    assert "No measure has scores at every chosen timepoint yet." in page.get_data(as_text=True)
    assert client.get(f"/research/reports/{empty.id}/feasibility").status_code == 200
    assert client.get(f"/research/reports/{empty.id}/flow.png").status_code == 200
