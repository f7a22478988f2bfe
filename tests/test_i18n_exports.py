"""Japanese and Chinese text through to the exports: UTF-8 with BOM, nothing mangled or leaked."""

from __future__ import annotations

import csv
import io
from datetime import date

import openpyxl
import pyreadstat
import pytest

from models import Cohort, Participant, db
from tests.factories import gen_cohort, gen_user
from tests.factories_reports import gen_meeting, gen_practice, gen_scored_trial

COHORT_NAME = "東京・第1期 / 上海秋季班"
SITES = ["東京都立病院", "上海市精神卫生中心"]
NAMES = ["山田 花子", "王小明"]
NOTE = "今朝は落ち着いて練習できた。感觉很温暖。"


@pytest.fixture
def researcher(app):
    return gen_user("researcher")


@pytest.fixture
def study(researcher):
    study = gen_scored_trial(researcher)
    cohort = gen_cohort(study, name=COHORT_NAME)
    people = db.session.scalars(db.select(Participant).filter_by(study_id=study.id)
                                .order_by(Participant.code)).all()
    for index, person in enumerate(people):
        person.user.display_name = NAMES[index % 2]
        person.baseline = {**(person.baseline or {}), "site": SITES[index % 2]}
        if person.arm.key == "CFT":
            person.cohort_id = cohort.id
    db.session.commit()
    attending = [p for p in people if p.cohort_id == cohort.id]
    gen_meeting(cohort, 1, register=[(p, "present", 90) for p in attending])
    gen_practice(attending[0], date(2026, 3, 10), note=NOTE)
    return study


def _download(client, study, name: str) -> bytes:
    response = client.get(f"/research/reports/{study.id}/data/{name}")
    assert response.status_code == 200, name
    return response.data


def _csv(data: bytes) -> list[dict]:
    assert data.startswith(b"\xef\xbb\xbf")  # the BOM makes spreadsheet programs read UTF-8
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def test_cjk_sites_and_cohort_names_survive_every_csv_and_the_workbook(study, researcher,
                                                                       as_user):
    client = as_user(researcher)
    participants = _csv(_download(client, study, "participants.csv"))
    assert sorted({row["site"] for row in participants}) == sorted(SITES)
    attendance = _csv(_download(client, study, "attendance.csv"))
    assert attendance and {row["cohort"] for row in attendance} == {COHORT_NAME}
    practice = _csv(_download(client, study, "practice_logs.csv"))
    assert [row["cohort"] for row in practice] == [COHORT_NAME]

    book = openpyxl.load_workbook(io.BytesIO(_download(client, study, "data.xlsx")))
    assert _column(book["participants"], "site") == set(SITES)
    assert _column(book["attendance"], "cohort") == {COHORT_NAME}


def _column(sheet, name: str) -> set:
    header = [cell.value for cell in sheet[1]]
    return {row[header.index(name)] for row in sheet.iter_rows(min_row=2, values_only=True)}


def test_cjk_text_reads_back_from_spss_and_stata_files(study, researcher, as_user, tmp_path):
    client = as_user(researcher)
    for name, reader in (("data.sav", pyreadstat.read_sav), ("data.dta", pyreadstat.read_dta)):
        path = tmp_path / name
        path.write_bytes(_download(client, study, name))
        frame, _meta = reader(str(path))
        assert "site" in frame.columns, name
        assert set(frame["site"]) == set(SITES), name


def test_names_and_notes_in_any_script_stay_out_of_every_export(study, researcher, as_user):
    client = as_user(researcher)
    for name in ("scores.csv", "participants.csv", "attendance.csv", "practice_logs.csv",
                 "sessions.csv", "engagement.csv", "csq.csv", "flow.csv", "codebook.csv",
                 "data.xlsx"):
        data = _download(client, study, name)
        text = data.decode("utf-8-sig") if name.endswith(".csv") else ""
        for private in [*NAMES, NOTE]:
            assert private.encode() not in data and private not in text, (name, private)


def test_the_participant_sees_their_cjk_note_as_written(study, as_user):
    person = db.session.scalar(db.select(Participant).join(Cohort).where(
        Cohort.name == COHORT_NAME).order_by(Participant.code))
    page = as_user(person.user).get("/me/practice").get_data(as_text=True)
    assert NOTE in page


@pytest.mark.parametrize(("locale", "code_label"), [("ja", "仮名化した参加者コード"),
                                                    ("zh", "假名化的参与者编号")])
def test_a_researcher_can_choose_variable_labels_in_their_language(study, researcher, as_user,
                                                                   tmp_path, locale,
                                                                   code_label):
    """SPSS/Stata variable labels and the codebook in the researcher's language on request;
    variable names (the data contract) and the default English files do not change."""
    researcher.locale = locale
    db.session.commit()
    client = as_user(researcher)
    page = client.get(f"/research/reports/{study.id}/data").get_data(as_text=True)
    assert f"/research/reports/{study.id}/data/data.sav?labels=local" in page
    assert "scores.csv?labels=local" not in page  # plain tables carry no labels
    for name, reader in (("data.sav", pyreadstat.read_sav), ("data.dta", pyreadstat.read_dta)):
        english_path, local_path = tmp_path / f"en-{name}", tmp_path / f"local-{name}"
        english_path.write_bytes(_download(client, study, name))
        local_path.write_bytes(_download(client, study, f"{name}?labels=local"))
        english, english_meta = reader(str(english_path))
        local, local_meta = reader(str(local_path))
        assert list(local.columns) == list(english.columns), name
        labels = dict(zip(local_meta.column_names, local_meta.column_labels, strict=True))
        assert labels["participant_id"] == code_label, name
        assert dict(zip(english_meta.column_names, english_meta.column_labels,
                        strict=True))["participant_id"] == "Pseudonymous participant code"
        english_labels = dict(zip(english_meta.column_names, english_meta.column_labels,
                                  strict=True))
        timed = [c for c, label in english_labels.items() if " at " in label]
        assert timed and all(" at " not in labels[c] for c in timed), name
    book = _csv(_download(client, study, "codebook.csv?labels=local"))
    assert {row["label"] for row in book if row["variable"] == "participant_id"} == {code_label}
    assert {row["variable"] for row in book} == {
        row["variable"] for row in _csv(_download(client, study, "codebook.csv"))}
