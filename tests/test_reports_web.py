"""Researcher report pages: options, tables, figures, downloads, audit and access."""

from __future__ import annotations

import io
import json
import re
from datetime import date

import numpy as np
import openpyxl
import pytest

from analysis import efficacy_report
from models import AuditEntry, db
from program.reports import load_tables
from program.trial import removal, withdrawal
from tests.factories import (
    gen_cohort,
    gen_participant,
    gen_staff,
    gen_study,
    gen_timepoint,
    gen_user,
)
from tests.factories_reports import gen_allocated, gen_meeting, gen_response, gen_scored_trial


@pytest.fixture
def researcher(app):
    return gen_user("researcher")


@pytest.fixture
def study(researcher):
    return gen_scored_trial(researcher)


def _audits(action="report.downloaded"):
    return db.session.scalars(db.select(AuditEntry).filter_by(action=action)).all()


def test_reports_are_in_the_researcher_navigation(study, researcher, as_user):
    page = as_user(researcher).get("/research/reports/").get_data(as_text=True)
    assert 'href="/research/reports/"' in page
    assert f"/research/reports/{study.id}/efficacy" in page


def test_efficacy_page_shows_the_published_table_layout(study, researcher, as_user):
    client = as_user(researcher)
    response = client.get(f"/research/reports/{study.id}/efficacy")
    page = response.get_data(as_text=True)

    assert response.status_code == 200
    tables = load_tables(study.id)
    expected = efficacy_report(tables.scores, tables.participants, ["pre", "post"])
    bdi = expected["measures"]["BDI-II"]
    cft_pre = next(d for d in bdi["descriptives"] if (d["arm"], d["timepoint"]) == ("CFT", "pre"))
    assert f"{cft_pre['mean']:.4g}" in page and f"{cft_pre['sd']:.4g}" in page
    assert f"{bdi['effects'][0]['estimate']:.4g}" in page
    assert "UC − CFT change, pre to post" in page  # the interaction, named for people
    assert "the reference arm" in page  # the sign convention in words
    assert 'src="data:image/png;base64,' in page  # trajectory figure, no inline script
    assert re.findall(r"<script[^>]*>", page) == ['<script src="/static/js/pwa.js">']


def test_reference_arm_flips_the_sign(study, researcher, as_user):
    client = as_user(researcher)
    default = client.get(f"/research/reports/{study.id}/efficacy.json").get_json()
    flipped = client.get(f"/research/reports/{study.id}/efficacy.json?timepoints=pre"
                         "&timepoints=post&reference_arm=UC&model=lmm").get_json()
    a = default["measures"]["BDI-II"]["effects"][0]
    b = flipped["measures"]["BDI-II"]["effects"][0]
    assert flipped["reference_arm"] == "UC"
    assert b["estimate"] == pytest.approx(-a["estimate"])


def test_completers_only_drops_the_participant_without_post(study, researcher, as_user):
    client = as_user(researcher)
    url = f"/research/reports/{study.id}/efficacy.json?timepoints=pre&timepoints=post"
    everyone = client.get(url).get_json()["measures"]["BDI-II"]
    completers = client.get(url + "&completers_only=y").get_json()["measures"]["BDI-II"]
    assert everyone["n_participants"] == 9
    assert completers["n_participants"] == 8


def test_one_timepoint_is_refused_with_a_message(study, researcher, as_user):
    response = as_user(researcher).get(
        f"/research/reports/{study.id}/efficacy?timepoints=pre")
    assert response.status_code == 400
    assert "at least two timepoints" in response.get_data(as_text=True)
    assert not _audits()


def test_downloads_are_self_contained_and_audited(study, researcher, as_user):
    client = as_user(researcher)
    html = client.get(f"/research/reports/{study.id}/efficacy.html")
    xlsx = client.get(f"/research/reports/{study.id}/efficacy.xlsx")

    assert html.status_code == 200 and "attachment" in html.headers["Content-Disposition"]
    text = html.get_data(as_text=True)
    assert "<script" not in text and "<link" not in text and "BDI-II" in text
    book = openpyxl.load_workbook(io.BytesIO(xlsx.data))
    assert {"descriptives", "effects"} <= set(book.sheetnames)
    entries = _audits()
    assert [e.details["file"] for e in entries] == ["efficacy.html", "efficacy.xlsx"]
    assert all(e.actor_id == researcher.id and e.object_id == study.id for e in entries)


def test_feasibility_page_shows_flow_and_progression_bands(study, researcher, as_user):
    response = as_user(researcher).get(
        f"/research/reports/{study.id}/feasibility?timepoints=pre&timepoints=post"
        "&assessment_completion_pct_green=95&assessment_completion_pct_amber=85"
        "&retention_pct_green=80&retention_pct_amber=60"
        "&mean_attendance_pct_green=75&mean_attendance_pct_amber=50")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'src="data:image/svg+xml;base64,' in page
    # 8 of 9 have a post score: 88.9 %, amber between 85 and 95
    assert "questionnaire completion: 88.9 %" in page
    completion_line = page.split("questionnaire completion: 88.9 %")[1].split("</li>")[0]
    assert ">amber<" in completion_line


def test_amber_above_green_re_renders_with_a_message(study, researcher, as_user):
    response = as_user(researcher).get(
        f"/research/reports/{study.id}/feasibility?retention_pct_green=60"
        "&retention_pct_amber=80")
    assert response.status_code == 400
    assert "must not be above green" in response.get_data(as_text=True)


def test_feasibility_k_of_n_is_the_researchers_choice(app, researcher, as_user):
    study = gen_study()
    gen_staff(study, researcher)
    cohort = gen_cohort(study)
    people = [gen_allocated(study, "CFT", cohort) for _ in range(3)]
    for number in range(1, 5):
        gen_meeting(cohort, number, register=[(p, "present", 90) for p in people[:number]])
    report = as_user(researcher).get(
        f"/research/reports/{study.id}/feasibility.json?min_attended=3").get_json()
    assert report["attendance"]["at_least_k"] == {"n": 2, "of": 3, "pct": pytest.approx(66.667,
                                                                                       abs=1e-3)}


def test_another_studys_reports_are_not_found(study, as_user):
    outsider = gen_user("researcher")
    client = as_user(outsider)
    for path in ("efficacy", "feasibility", "data", "data/scores.csv", "efficacy.xlsx",
                 "flow.png"):
        assert client.get(f"/research/reports/{study.id}/{path}").status_code == 404, path


ROUTES = ["/research/reports/", "/research/reports/{id}/efficacy",
          "/research/reports/{id}/efficacy.html", "/research/reports/{id}/efficacy.xlsx",
          "/research/reports/{id}/efficacy.json", "/research/reports/{id}/feasibility",
          "/research/reports/{id}/reliable-change.json",
          "/research/reports/{id}/feasibility.html", "/research/reports/{id}/feasibility.xlsx",
          "/research/reports/{id}/feasibility.json", "/research/reports/{id}/flow.png",
          "/research/reports/{id}/data", "/research/reports/{id}/data/scores.csv",
          "/research/reports/{id}/data/data.sav", "/research/reports/{id}/data/codebook.csv"]


@pytest.mark.parametrize("role", ["participant", "facilitator", "rater", "admin"])
def test_non_researchers_get_403_on_every_report_route(study, role, as_user):
    user = gen_user(role)
    if role != "admin":
        gen_staff(study, user)
    if role == "participant":
        gen_participant(study, user=user)
    client = as_user(user)
    for route in ROUTES:
        assert client.get(route.format(id=study.id)).status_code == 403, route
    assert not _audits()


def test_signed_out_visitors_are_sent_to_sign_in(study, client):
    response = client.get(f"/research/reports/{study.id}/data/scores.csv")
    assert response.status_code == 302 and "/auth/sign-in" in response.headers["Location"]


def test_every_report_view_declares_its_roles(app):
    views = [name for name in app.view_functions if name.startswith("reports.")]
    assert len(views) == 10
    for name in views:
        assert app.view_functions[name].allowed_roles == ("researcher",), name


def test_json_download_matches_the_analysis_json_keys(study, researcher, as_user):
    report = json.loads(as_user(researcher).get(
        f"/research/reports/{study.id}/efficacy.json").data)
    assert report["design"] == "rct" and report["timepoints"] == ["pre", "post"]
    effect = report["measures"]["BDI-II"]["effects"][0]
    assert {"estimate", "se", "df", "t", "p", "ci_low", "ci_high", "wald_ci_low",
            "wald_ci_high", "d"} <= set(effect)


RC = ("&rc_measure=BDI-II&rc_reliability=0.87&rc_norm_mean=8.9&rc_norm_sd=6.5&rc_cutoff=c"
      "&rc_lower_is_better=y")


def test_reliable_change_table_and_plot_follow_jacobson_truax(study, researcher, as_user):
    client = as_user(researcher)
    base = f"/research/reports/{study.id}/efficacy?timepoints=pre&timepoints=post"
    page = client.get(base + RC).get_data(as_text=True)
    change = client.get(f"/research/reports/{study.id}/reliable-change.json?timepoints=pre"
                        "&timepoints=post" + RC).get_json()

    # the 8 participants with both scores; S_E = SD_pre * sqrt(1 - r), S_diff = sqrt(2) S_E
    pre = [34, 30, 41, 36, 38, 40, 33, 42]
    mean = sum(pre) / 8
    sd = (sum((x - mean) ** 2 for x in pre) / 7) ** 0.5
    assert change["s_diff"] == pytest.approx(2 ** 0.5 * sd * 0.13 ** 0.5)
    assert change["cutoffs"]["c"] == pytest.approx((sd * 8.9 + 6.5 * mean) / (sd + 6.5))
    first = next(r for r in change["participants"] if r["pre"] == 34)
    assert first["rci"] == pytest.approx((22 - 34) / change["s_diff"])
    assert sum(change["counts"]["all"].values()) == 8
    assert change["counts"]["UC"]["unchanged"] == 4
    assert "Reliable change: BDI-II" in page
    assert "before and after per participant" in page  # the Jacobson–Truax figure


def test_reliable_change_without_reliability_is_refused(study, researcher, as_user):
    response = as_user(researcher).get(
        f"/research/reports/{study.id}/efficacy?timepoints=pre&timepoints=post"
        "&rc_measure=BDI-II")
    assert response.status_code == 400
    assert "Give the reliability of BDI-II" in response.get_data(as_text=True)


def test_recruitment_per_month_is_a_progression_criterion(study, researcher, as_user):
    report = as_user(researcher).get(
        f"/research/reports/{study.id}/feasibility.json?recruitment_per_month_green=10"
        "&recruitment_per_month_amber=5").get_json()
    row = next(r for r in report["progression"] if r["metric"] == "recruitment_per_month")
    # nine people allocated on one day: nine in (at least) a month
    assert (row["value"], row["band"]) == (9.0, "amber")


def test_single_arm_study_reports_within_group_change_with_a_covariate(app, researcher,
                                                                       as_user):
    study = gen_study("single_arm", "msc")
    gen_staff(study, researcher)
    base = gen_timepoint(study, "baseline", 1)
    week8 = gen_timepoint(study, "week8", 2)
    pairs = [(2.5, 3.6), (2.9, 3.8), (2.2, 3.1), (3.1, 3.9), (2.6, None), (2.4, 3.7)]
    for n, (before, after) in enumerate(pairs):
        p = gen_allocated(study, "MSC", gender="female" if n % 3 else "male")
        gen_response(p, base, "SCS", {"SCS.total": before})
        if after is not None:
            gen_response(p, week8, "SCS", {"SCS.total": after})
    client = as_user(researcher)

    page = client.get(f"/research/reports/{study.id}/efficacy?timepoints=baseline"
                      "&timepoints=week8&covariates=gender")
    report = client.get(f"/research/reports/{study.id}/efficacy.json?timepoints=baseline"
                        "&timepoints=week8&covariates=gender").get_json()

    assert page.status_code == 200
    assert "Reference arm" not in page.get_data(as_text=True)
    assert report["design"] == "single_arm"
    terms = [e["term"] for e in report["measures"]["SCS.total"]["effects"]]
    assert terms == ["time[week8]", "gender[male]"]
    change = report["measures"]["SCS.total"]["effects"][0]["estimate"]
    assert 0.9 < change < 1.3  # every complete pair rose by 0.8 to 1.3


def _exact(mean: float, sd: float, n: int) -> list[float]:
    """n values with exactly this mean and sample SD."""
    z = np.linspace(-1, 1, n)
    z = (z - z.mean()) / z.std(ddof=1)
    return list(mean + sd * z)


#: the brief's Table 3, BDI-II: (arm, timepoint) -> (mean, SD, n)
TABLE_3 = {("CFT", "pre"): (34.90, 5.20, 10), ("CFT", "post"): (22.22, 6.42, 9),
           ("UC", "pre"): (39.29, 8.01, 7), ("UC", "post"): (38.86, 13.22, 7)}


def test_table_3_means_and_sds_come_back_exactly_through_the_database(app, researcher,
                                                                      as_user):
    study = gen_study()
    gen_staff(study, researcher)
    timepoints = {"pre": gen_timepoint(study, "pre", 1), "post": gen_timepoint(study, "post", 2)}
    people = {"CFT": [gen_allocated(study, "CFT") for _ in range(10)],
              "UC": [gen_allocated(study, "UC") for _ in range(8)]}
    for (arm, tp), (mean, sd, n) in TABLE_3.items():
        for person, value in zip(people[arm], _exact(mean, sd, n), strict=False):
            gen_response(person, timepoints[tp], "BDI-II", {"BDI-II": value})

    # the eighth UC participant withdrew and asked for their data to be removed
    withdrawal.request_data_removal(people["UC"][7].id, on=date(2026, 4, 1))
    removal.remove_participant_data(people["UC"][7].id)

    report = as_user(researcher).get(f"/research/reports/{study.id}/efficacy.json").get_json()

    for row in report["measures"]["BDI-II"]["descriptives"]:
        mean, sd, n = TABLE_3[(row["arm"], row["timepoint"])]
        assert (row["n"], round(row["mean"], 10), round(row["sd"], 10)) == (n, mean, sd)
    assert report["measures"]["BDI-II"]["n_participants"] == 17  # the brief's 17 analysed


def test_the_unstructured_mmrm_can_be_chosen_instead(study, researcher, as_user):
    report = as_user(researcher).get(
        f"/research/reports/{study.id}/efficacy.json?timepoints=pre&timepoints=post"
        "&model=mmrm").get_json()
    bdi = report["measures"]["BDI-II"]
    assert set(bdi["variance"]) == {"pre", "post", "pre:post"}  # a covariance per timepoint
    assert bdi["effects"][0]["term"] == "time[post]:arm[UC]"
    assert bdi["effects"][0]["estimate"] is not None
