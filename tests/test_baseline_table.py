"""The baseline characteristics table: the right test per characteristic (checked against
scipy), and the researcher's page by arm and by completion from the participants' records."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
from scipy import stats

from analysis.baseline import baseline_table, compare_categories, compare_numbers
from models import db, utcnow
from tests.factories import gen_participant, gen_staff, gen_study, gen_user


def test_numbers_use_student_t_or_welch_by_the_spread():
    rng = np.random.default_rng(7)
    a, b = rng.normal(30, 5, 40), rng.normal(33, 5, 35)
    same = compare_numbers([a, b])
    expected = stats.ttest_ind(a, b, equal_var=True)
    assert same["test"] == "Student t"
    assert np.isclose(same["statistic"], expected.statistic)
    assert np.isclose(same["p"], expected.pvalue) and same["df"] == 73
    wide = rng.normal(33, 25, 35)
    welch = compare_numbers([a, wide])
    assert welch["test"] == "Welch t" and welch["equal_variance_p"] < 0.05
    assert np.isclose(welch["p"], stats.ttest_ind(a, wide, equal_var=False).pvalue)
    three = compare_numbers([a, b, rng.normal(31, 5, 30)])
    assert three["test"] == "ANOVA"
    assert compare_numbers([[1.0], [2.0, 3.0]])["test"] is None  # a group of one


def test_categories_use_chi_square_or_fisher_by_the_expected_counts():
    big = compare_categories([[20, 10], [15, 25]])
    chi = stats.chi2_contingency([[20, 10], [15, 25]], correction=False)
    assert big["test"] == "chi-square" and np.isclose(big["p"], chi.pvalue)
    small = compare_categories([[4, 1], [1, 5]])
    assert small["test"] == "Fisher exact"
    assert np.isclose(small["p"], stats.fisher_exact([[4, 1], [1, 5]]).pvalue)
    # a level nobody has is left out rather than breaking the test
    assert compare_categories([[4, 1], [0, 0], [1, 5]])["test"] == "Fisher exact"
    assert compare_categories([[3, 4]])["test"] is None


def test_the_table_summarises_each_group_and_skips_missing_values():
    frame = pd.DataFrame({"arm": ["CFT", "CFT", "CFT", "UC", "UC", "UC"],
                          "age": [30, 40, None, 50, 52, 54],
                          "site": ["Tokyo", "Osaka", "Tokyo", "Tokyo", None, "Osaka"]})
    table = baseline_table(frame, "arm")
    age, site = table["rows"]
    assert age["groups"]["CFT"] == {"n": 2, "mean": 35.0, "sd": np.std([30, 40], ddof=1)}
    assert [lv["level"] for lv in site["levels"]] == ["Osaka", "Tokyo"]
    assert site["levels"][1]["groups"]["CFT"] == {"n": 2, "pct": 200 / 3}
    assert site["levels"][1]["groups"]["UC"] == {"n": 1, "pct": 50.0}


def _cft_trial():
    study = gen_study("rct", "cft")
    researcher = gen_user("researcher")
    gen_staff(study, researcher, blind=False)
    when = utcnow() - timedelta(days=100)
    people = []
    for n in range(16):
        arm = "CFT" if n % 2 == 0 else "UC"
        status = "completed" if n % 4 != 3 else "withdrawn"
        people.append(gen_participant(
            study, arm=arm, status=status, gender="female" if n % 3 else "male",
            birth_year=1980 + n, randomised_at=when, baseline={"site": "A" if n < 8 else "B"}))
    return study, researcher, people


def test_the_researcher_sees_the_tables_by_arm_and_by_completion(app, as_user):
    study, researcher, _people = _cft_trial()
    client = as_user(researcher)
    assert f"/research/reports/{study.id}/baseline" in client.get(
        "/research/reports/").get_data(as_text=True)
    page = client.get(f"/research/reports/{study.id}/baseline")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "CFT (n = 8)" in html and "UC (n = 8)" in html
    assert "Completers (n = 12)" in html and "Non-completers (n = 4)" in html
    assert "Age, mean (SD)" in html and "Gender, n (%)" in html and "site, n (%)" in html
    assert "Student's t" in html and "0.41 (df 14)" in html
    assert "Fisher's exact" in html
    client.post("/auth/language", data={"locale": "ja", "csrf_token": _token(client)})
    assert "ベースライン" in client.get(f"/research/reports/{study.id}/baseline").get_data(
        as_text=True)


def test_a_study_without_participants_says_so(app, as_user):
    study = gen_study("single_arm", "msc")
    researcher = gen_user("researcher")
    gen_staff(study, researcher)
    html = as_user(researcher).get(f"/research/reports/{study.id}/baseline").get_data(
        as_text=True)
    assert "No baseline characteristics" in html
    db.session.remove()


def _token(client) -> str:
    import re

    page = client.get("/settings/").get_data(as_text=True)
    return re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)


def test_the_course_and_the_allocation_date_are_not_baseline_characteristics(app, as_user):
    from tests.factories import gen_cohort
    from tests.factories_reports import gen_meeting

    study, researcher, people = _cft_trial()
    cohort = gen_cohort(study, name="Tuesday group")
    for person in people[::2]:
        person.cohort_id = cohort.id
    db.session.commit()
    gen_meeting(cohort, 1, register=[(people[0], "present", 90)])

    html = as_user(researcher).get(f"/research/reports/{study.id}/baseline").get_data(
        as_text=True)

    assert "site, n (%)" in html
    for column in ("randomised_on", "therapy_group", "sessions_attended", "Tuesday group"):
        assert column not in html
