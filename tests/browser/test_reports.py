"""A researcher opens the demo CFT trial's efficacy report and downloads the workbook."""

import io

import openpyxl

from tests.browser.conftest import sign_in


def test_researcher_opens_efficacy_report_and_downloads_xlsx(page, tmp_path):
    sign_in(page, "researcher@hearth.example")
    page.get_by_role("link", name="Reports").first.click()
    page.get_by_role("heading", name="Group CFT for treatment-resistant depression (demo)")
    page.locator("section.card", has_text="Group CFT").get_by_role(
        "link", name="Efficacy report").click()

    assert page.locator("h1").inner_text().startswith("Efficacy report")
    descriptives = page.locator("table").first
    assert "BDI-II" in descriptives.inner_text()
    assert page.get_by_text("UC − CFT change, pre to post").first.is_visible()
    figure = page.get_by_role("img", name="BDI-II: mean and 95% CI per arm and timepoint")
    assert figure.evaluate("img => img.naturalWidth") > 0  # the data: URI passed the CSP

    page.get_by_label("Completers only (a score at every timepoint)").check()
    page.get_by_role("button", name="Show report").click()
    assert "completers_only=y" in page.url

    with page.expect_download() as info:
        page.get_by_role("link", name="Report as a workbook (XLSX)").click()
    download = info.value
    assert download.suggested_filename == "cft-demo-efficacy.xlsx"
    path = tmp_path / "efficacy.xlsx"
    download.save_as(path)
    book = openpyxl.load_workbook(io.BytesIO(path.read_bytes()))
    assert {"descriptives", "effects", "variance components"} <= set(book.sheetnames)
    header = [c.value for c in book["effects"][1]]
    rows = [dict(zip(header, r, strict=True))
            for r in book["effects"].iter_rows(min_row=2, values_only=True)]
    bdi = next(r for r in rows if r["measure"] == "BDI-II" and r["term"] == "time[post]:arm[UC]")
    # completers: two demo participants have no post, the two demo logins no mid-course score
    assert bdi["n_participants"] == 14


def test_researcher_on_a_phone_reads_the_feasibility_report(phone):
    sign_in(phone, "researcher@hearth.example")
    phone.goto("/research/reports/")
    phone.locator("section.card", has_text="Mindful Self-Compassion").get_by_role(
        "link", name="Feasibility report").click()
    assert phone.get_by_role("img", name="CONSORT flow diagram").is_visible()
    assert phone.get_by_text("attendance:").first.is_visible()
