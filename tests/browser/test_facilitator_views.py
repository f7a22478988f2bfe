"""In Chromium at 360 px: a facilitator goes from the roster's falling-behind list to a
participant's progress page, and reads the month and week calendar without side-scrolling."""

from __future__ import annotations

from tests.browser.conftest import fits, sign_in


def test_from_the_roster_to_a_participants_progress_on_a_phone(narrow):
    sign_in(narrow, "therapist@hearth.example")
    narrow.get_by_role("link", name="CFT cohort A").click()
    narrow.get_by_role("link", name="Roster").first.click()
    behind = narrow.locator("tr.behind").first
    name = behind.locator("td").first.inner_text().split("\n")[0].split(" P-")[0].strip()
    behind.get_by_role("link", name=f"See how {name} is doing").click()
    assert narrow.locator("h1").inner_text().startswith(f"Progress of {name}")
    assert narrow.locator("svg[role=img] rect").count() >= 1
    assert narrow.get_by_role("heading", name="Practice minutes per week").count() == 1
    assert narrow.get_by_role("heading", name="Questionnaires done").count() == 1
    assert fits(narrow)


def test_the_calendar_month_and_week_views_fit_a_phone(narrow):
    sign_in(narrow, "therapist@hearth.example")
    narrow.get_by_role("link", name="Calendar: month and week views").click()
    assert narrow.locator("table.cal-month").count() == 1
    assert narrow.locator("table.cal-month .cal-entry").count() >= 1
    assert fits(narrow)
    narrow.get_by_role("link", name="Week view").click()
    assert narrow.locator("table.cal-week tbody tr").count() == 7
    assert fits(narrow)
