"""A participant of a Japanese cohort reading the Chinese interface answers BDI-II item 9 with 2:
the help page gives the Japanese crisis contacts (not China's 120), labelled in Chinese."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import delete, select

from models import Cohort, Participant, Response, Study, Timepoint, User, db
from tests.browser.conftest import sign_in

EMAIL = "cft.participant@hearth.example"


def _open_bdi() -> int:
    """Reopen the demo CFT baseline with the BDI-II alone for the demo CFT participant."""
    study = db.session.scalar(select(Study).where(Study.key == "cft-demo"))
    pre = db.session.scalar(select(Timepoint).where(Timepoint.study_id == study.id,
                                                    Timepoint.key == "pre"))
    pre.opens_day, pre.closes_day, pre.instruments = -400, 400, ["BDI-II"]
    person = db.session.scalar(select(Participant).join(User, Participant.user_id == User.id)
                               .where(User.email == EMAIL))
    assert db.session.get(Cohort, person.cohort_id).country == "JP"
    db.session.execute(delete(Response).where(Response.participant_id == person.id))
    db.session.commit()
    return pre.id


def test_a_japanese_cohort_reading_chinese_sees_the_japanese_numbers_after_a_risk_answer(page):
    timepoint_id = _open_bdi()
    sign_in(page, EMAIL)
    page.locator("#locale").select_option("zh")
    page.locator("form.language button").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh")

    page.goto(f"/q/{timepoint_id}/BDI-II")
    for item in range(1, 22):
        page.locator(f'input[name="item-{item}"][value="{2 if item == 9 else 0}"]').check()
    page.locator('button[name="action"][value="submit"]').click()

    help_box = page.locator('section[role="alert"]')
    expect(help_box).to_contain_text("日本")
    for number in ("119", "110", "0120-279-338", "0120-783-556", "0570-064-556"):
        expect(help_box.locator("a.crisis-number").get_by_text(number, exact=True)
               ).to_have_count(1)
    expect(help_box.locator('a[href="tel:0120279338"]')).to_be_visible()
    expect(help_box).to_contain_text("救护车")
    expect(help_box).to_contain_text("报警")
    expect(help_box).to_contain_text("陪伴热线（よりそいホットライン）")
    expect(help_box).to_contain_text("24 小时")
    expect(help_box).to_contain_text("免费")
    numbers = help_box.locator("a.crisis-number").all_inner_texts()
    assert "120" not in numbers and "12356" not in numbers  # China's, not Japan's
