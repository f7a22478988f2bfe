"""The report figures in the researcher's language: the CONSORT flow diagram's boxes and the
PNG figures drawn in a font with the glyphs; the English page's diagram unchanged."""

from __future__ import annotations

import base64
import copy
import re
import warnings

import pytest

from analysis import flow_svg
from analysis.consort import FLOW_PHRASES
from models import db
from program.trial.eligibility import CFT_ELIGIBILITY
from tests.factories import gen_participant, gen_user
from tests.factories_reports import gen_scored_trial
from tests.test_i18n_catalogues import ensure_compiled

FEASIBILITY = ("/research/reports/{id}/feasibility?timepoints=pre&timepoints=post")
#: the English words of every box (the text around the diagram's fields)
ENGLISH = sorted({re.sub(r"\(n = |\)$", "", piece).strip(" -")
                   for text in FLOW_PHRASES.values()
                  for piece in re.split(r"\{\w+\}", text)} - {""}, key=len, reverse=True)


@pytest.fixture
def researcher(app):
    ensure_compiled()
    return gen_user("researcher")


@pytest.fixture
def study(researcher):
    study = gen_scored_trial(researcher)
    study.eligibility_rules = copy.deepcopy(CFT_ELIGIBILITY)
    excluded = gen_participant(study, status="applied", eligible=False,
                               exclusion_reasons=["psychosis"])
    excluded.arm_id = None
    db.session.commit()
    return study


def _flow_svg(page: str) -> str:
    found = re.search(r'src="data:image/svg\+xml;base64,([^"]+)"', page)
    assert found, "the page shows the flow diagram"
    return base64.b64decode(found.group(1)).decode()


def _speaks(researcher, locale: str | None) -> None:
    researcher.locale = locale
    db.session.commit()


def test_english_words_of_the_boxes_are_known():
    assert "Assessed for eligibility" in ENGLISH and "Allocated to" in ENGLISH
    assert "not given" in ENGLISH and "CONSORT flow diagram" in ENGLISH


def test_the_english_flow_diagram_is_the_analysis_own(study, researcher, as_user):
    _speaks(researcher, "en")
    client = as_user(researcher)
    page = client.get(FEASIBILITY.format(id=study.id)).get_data(as_text=True)
    report = client.get(FEASIBILITY.format(id=study.id).replace(
        "feasibility?", "feasibility.json?")).get_json()
    svg = _flow_svg(page)
    assert svg == flow_svg(report["flow"])
    assert "Assessed for eligibility (n = 10)" in svg
    assert "- meeting exclusion: Psychosis (n = 1)" in svg


@pytest.mark.parametrize(("locale", "words"), [
    ("ja", ["適格性評価（n = 10）", "除外（n = 1）", "・除外基準に該当：精神病性障害（n = 1）",
            "CFT群に割り付け（n = ", "解析対象（n = ", "解析から除外（n = ",
            'aria-label="CONSORTフロー図"']),
    ("zh", ["评估是否符合入选标准（n = 10）", "分配至CFT组（n = ", "纳入分析（n = ",
            'aria-label="CONSORT流程图"']),
])
def test_the_flow_diagram_speaks_the_page_s_language(study, researcher, as_user, locale,
                                                      words):
    _speaks(researcher, locale)
    page = as_user(researcher).get(FEASIBILITY.format(id=study.id)).get_data(as_text=True)
    svg = _flow_svg(page)
    for word in words:
        assert word in svg
    assert not [english for english in ENGLISH if english in svg]
    assert "Psychosis" not in svg


def test_the_png_figures_are_drawn_with_the_glyphs(study, researcher, as_user):
    from views.reports.figures import CJK_FAMILIES, installed_families

    if not set(CJK_FAMILIES["ja"]) & installed_families():
        pytest.skip("no CJK font installed (fonts-noto-cjk)")
    _speaks(researcher, "ja")
    client = as_user(researcher)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = client.get(f"/research/reports/{study.id}/flow.png")
        page = client.get(f"/research/reports/{study.id}/efficacy?timepoints=pre"
                          "&timepoints=post&measures=BDI-II&rc_measure=BDI-II"
                          "&rc_reliability=0.87")
    assert png.status_code == 200 and png.data[:8] == b"\x89PNG\r\n\x1a\n"
    assert page.status_code == 200
    assert page.get_data(as_text=True).count('src="data:image/png;base64,') == 2
    assert not [str(w.message) for w in caught if "Glyph" in str(w.message)]


def test_a_download_in_the_researcher_s_language_has_the_diagram_in_it(study, researcher,
                                                                        as_user):
    _speaks(researcher, "ja")
    url = FEASIBILITY.format(id=study.id).replace("feasibility?", "feasibility.html?")
    client = as_user(researcher)
    local = client.get(url + "&labels=local").get_data(as_text=True)
    assert "適格性評価（n = 10）" in local and "除外基準に該当：精神病性障害" in local
    english = client.get(url).get_data(as_text=True)
    assert "Assessed for eligibility (n = 10)" in english and "適格性評価" not in english


def _course(study):
    """Two CFT participants who came to meetings (one then stopped the sessions), one who
    never came, and a UC participant who left the study."""
    from datetime import date

    from models import Participant
    from program.trial import withdrawal
    from tests.factories_reports import gen_meeting

    people = db.session.scalars(db.select(Participant).filter_by(study_id=study.id)
                                .where(Participant.arm_id.is_not(None))
                                .order_by(Participant.code)).all()
    cft = [p for p in people if p.arm.key == "CFT"]
    uc = [p for p in people if p.arm.key == "UC"]
    cohort = cft[0].cohort
    gen_meeting(cohort, 1, register=[(cft[0], "present", 90), (cft[1], "present", 90)])
    gen_meeting(cohort, 2, register=[(cft[0], "present", 90)])
    withdrawal.withdraw(cft[1].id, "stop_sessions", reason="too busy", on=date(2026, 4, 1))
    withdrawal.withdraw(uc[0].id, "leave_study", reason="moved away", on=date(2026, 4, 1))


def test_the_flow_diagram_tells_stopping_sessions_from_leaving_the_study(study, researcher,
                                                                         as_user):
    _course(study)
    _speaks(researcher, "en")
    svg = _flow_svg(as_user(researcher).get(FEASIBILITY.format(id=study.id))
                    .get_data(as_text=True))

    assert "Received allocated intervention (n = 2)" in svg  # CFT: two came to a meeting
    assert "Did not receive allocated intervention (n = 3)" in svg
    assert "Received allocated intervention (n = 4)" in svg  # usual care: everyone
    assert "Stopped sessions, stayed in the study (n = 1)" in svg
    assert "- too busy (n = 1)" in svg and "- moved away (n = 1)" in svg
    assert "Left the study (n = 1)" in svg


def test_the_flow_diagram_s_new_lines_speak_japanese(study, researcher, as_user):
    _course(study)
    _speaks(researcher, "ja")
    svg = _flow_svg(as_user(researcher).get(FEASIBILITY.format(id=study.id))
                    .get_data(as_text=True))

    assert "割り付けられた介入を受けた（n = 2）" in svg
    assert "セッションを中止、研究には継続参加（n = 1）" in svg
    assert "研究から離脱（n = 1）" in svg
    assert not [english for english in ENGLISH if english in svg]


def test_the_feasibility_page_draws_attendance_per_meeting_and_recruitment(study, researcher,
                                                                          as_user):
    _course(study)
    client = as_user(researcher)
    page = client.get(FEASIBILITY.format(id=study.id)).get_data(as_text=True)
    report = client.get(FEASIBILITY.format(id=study.id).replace(
        "feasibility?", "feasibility.json?")).get_json()

    assert [m["meeting"] for m in report["attendance"]["by_meeting"]] == [1, 2]
    assert report["recruitment"]["by_month"] == [{"month": "2026-03", "n": 9, "cumulative": 9}]
    assert "<h2>Attendance per meeting</h2>" in page and "<h2>Recruitment over time</h2>" in page
    assert page.count('src="data:image/png;base64,') == 2
    assert 'alt="Share of the participants due at each meeting who were present' in page


@pytest.mark.parametrize(("labels", "titles"), [
    ("", ["Participant flow: CONSORT flow diagram",
          "Attendance per meeting: share present at each meeting",
          "Recruitment over time: participants allocated per month"]),
    ("&labels=local", ["セッションごとの出席: 各セッションの出席割合",
                       "募集の推移: 月ごとの割り付け参加者数"]),
])
def test_the_feasibility_workbook_embeds_its_figures_in_the_chosen_language(
        study, researcher, as_user, labels, titles):
    import io

    import openpyxl

    _course(study)
    _speaks(researcher, "ja")
    url = FEASIBILITY.format(id=study.id).replace("feasibility?", "feasibility.xlsx?")
    book = openpyxl.load_workbook(io.BytesIO(as_user(researcher).get(url + labels).data))

    sheet = book["figures"]
    shown = [row[0] for row in sheet.iter_rows(values_only=True) if row[0]]
    for title in titles:
        assert title in shown
    assert len(sheet._images) == 3  # the flow diagram, attendance and recruitment
