"""Issue 14, done when: from an empty database on which only ``flask admin create`` has run,
a research team runs the CFT trial and the MSC course through the pages alone, in Chromium.

The admin invites the staff (links read from the outbox); the researcher sets the study up
step by step until its checklist is complete, takes applicants through screening (with the
excluded people's reasons), consent, baseline characteristics and randomisation, creates a
cohort with its facilitators, and invites participants, one of whom reads session 1 once its
meeting has passed. The flow counts on the researcher's pages match what was done. (Staff
sign in with a password alone: the tests' two-factor policy is "optional".)
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from models import utcnow
from tests.browser import real_study as steps
from tests.browser.real_study import ADMIN_EMAIL, new_page, sign_in, submit

RESEARCHER = "rhea@clinic.example"


@pytest.fixture
def empty_server(app):
    """Only ``flask admin create`` has run; the app is served on loopback."""
    steps.create_admin(app)
    with steps.served(app) as base:
        yield base


def _admin_invites(browser, base, app, people):
    admin = new_page(browser, base)
    sign_in(admin, ADMIN_EMAIL)
    for email, name, role in people:
        steps.invite_staff(admin, email, name, role)
    admin.context.close()
    for email, name, _role in people:
        steps.accept_invitation(browser, base, app, email, name).context.close()


# --------------------------------------------------------------------------- CFT

#: code -> screening answers; P-0003 scores too low on the BDI-II, P-0006 has psychosis
CFT_EXCLUSIONS = ["Psychosis", "Active suicidality", "Organic brain disorder",
                  "Substance abuse or dependence", "Antisocial personality disorder",
                  "Other severe condition"]


def _cft_eligibility(page, study_id):
    page.goto(f"/research/studies/{study_id}/eligibility")
    page.get_by_label("Youngest age").fill("18")
    page.get_by_label("Oldest age").fill("60")
    page.get_by_label("Screening instrument").select_option("BDI-II")
    page.get_by_label("Minimum total score").fill("20")
    page.locator("#numbers-0-text").fill("Adequate SSRI trials without response")
    page.locator("#numbers-0-minimum").fill("2")
    page.locator("#inclusions-0-text").fill(
        "Primary diagnosis of major depressive disorder or dysthymia")
    for n, label in enumerate(CFT_EXCLUSIONS):
        if n:
            page.locator("button[name=more][value=exclusions]").click()
            page.wait_for_load_state()
        page.locator(f"#exclusions-{n}-text").fill(label)
    submit(page, "Save the rules", expect="Eligibility rules saved.")
    asked = page.locator("section.card").filter(has_text="The screening form asks")
    assert asked.locator("li").count() == 10


def _screen(page, participant_id, *, bdi=30, psychosis=False):
    page.goto(f"/research/participants/{participant_id}")
    page.locator("#rule-age").fill("41")
    page.locator("#rule-score_bdiii").fill(str(bdi))
    page.locator("#rule-number_1").fill("2")
    page.locator('input[name="inclusion_1"][value="yes"]').check()
    for n in range(1, len(CFT_EXCLUSIONS) + 1):
        answer = "yes" if psychosis and n == 1 else "no"
        page.locator(f'input[name="exclusion_{n}"][value="{answer}"]').check()
    submit(page, "Record screening")


def _consent_baseline_randomise(page, participant_id, site):
    page.goto(f"/research/participants/{participant_id}")
    submit(page, "Record consent", expect="Consent recorded.")
    page.locator('input[name="bl-gender"][value="female"]').check()
    page.locator("#bl-age").fill("41")
    page.locator(f'input[name="bl-site"][value="{site}"]').check()
    submit(page, "Record the characteristics", expect="Baseline characteristics recorded.")
    submit(page, "Randomise", expect="Allocated to")
    return page.locator("dl.facts dd").nth(3).inner_text()


def test_cft_trial_from_an_empty_database(browser, empty_server, app):
    base = empty_server
    _admin_invites(browser, base, app, [
        (RESEARCHER, "Rhea Researcher", "researcher"),
        ("theo@clinic.example", "Theo Therapist", "facilitator"),
        ("cora@clinic.example", "Cora Cotherapist", "facilitator"),
    ])
    page = new_page(browser, base)
    sign_in(page, RESEARCHER)
    study_id = steps.new_study(page, title="Group CFT for treatment-resistant depression",
                               key="cft-2027", design="rct", program="cft", prefix="P")
    for key, name, receives in (("CFT", "CFT + usual care", True), ("UC", "Usual care", False)):
        page.goto(f"/research/studies/{study_id}/arms")
        page.locator("#key").fill(key)
        page.locator("#name").fill(name)
        page.locator("#receives_program").set_checked(receives)
        submit(page, "Save", expect="Arm saved.")
    _cft_eligibility(page, study_id)
    steps.add_consent_version(page, study_id, "v1.0")
    steps.choose_characteristics(page, study_id, ["gender", "age", "site"], "Tokyo, Osaka")
    page.goto(f"/research/studies/{study_id}/randomisation")
    page.get_by_label("Method").select_option("stratified_blocks")
    page.locator("#block_sizes").fill("2, 4")
    page.locator("#list_length").fill("20")
    page.locator('input[name="factors"][value="site"]').check()
    submit(page, "Save", expect="Randomisation saved.")
    submit(page, "Generate the allocation list", expect="Allocation list generated")
    assert "concealed slots in 2 strata, 0 used" in page.locator("main").inner_text()
    steps.add_timepoint(page, study_id, "pre", 1, -21, 0, ["BDI-II", "SCS-SF"])
    steps.add_timepoint(page, study_id, "post", 2, 77, 98, ["BDI-II", "SCS-SF", "CSQ-8"])
    steps.add_study_staff(page, study_id, "theo@clinic.example", clinician=True)
    steps.confirm_crisis_contacts(page, study_id, "Japan")

    page.goto(f"/research/studies/{study_id}/checklist")
    assert "Every step is done: the study can open." in page.locator("main").inner_text()
    assert "randomised controlled trial · CFT" in page.locator("main").inner_text()  # no codes

    # eight applicants: screening (two excluded), consent, characteristics, randomisation
    page.goto(f"/research/studies/{study_id}")
    for _ in range(8):
        page.goto(f"/research/studies/{study_id}")
        submit(page, "Add an applicant", expect="Applicant P-")
    ids = steps.participant_ids(page, study_id)
    assert sorted(ids) == [f"P-{n:04d}" for n in range(1, 9)]
    arms = {}
    for code, pid in sorted(ids.items()):
        _screen(page, pid, bdi=15 if code == "P-0003" else 30, psychosis=code == "P-0006")
        if code in ("P-0003", "P-0006"):
            assert "Not eligible; the reasons are recorded." in steps.flashed(page)
            reason = "BDI-II total at screening (20 or more)" if code == "P-0003" \
                else "Psychosis"
            assert reason in page.locator("dl.facts").inner_text()
            continue
        assert "Eligible." in steps.flashed(page)
        arms[code] = _consent_baseline_randomise(page, pid, "Tokyo" if int(code[-1]) % 2
                                                 else "Osaka")
    assert sorted(arms) == ["P-0001", "P-0002", "P-0004", "P-0005", "P-0007", "P-0008"]

    flow = steps.flow_counts(page, study_id)
    assert (flow["Applied"], flow["Screened"], flow["Consented"], flow["Allocated"]) == (
        "8", "8", "6", "6")
    assert flow["Excluded"].startswith("2 (not meeting inclusion 1, meeting exclusion 1)")
    assert "Psychosis 1" in flow["Excluded"]
    assert re.search(r"\b6 of \d+ concealed slots used", page.locator("main").inner_text())

    # a cohort whose first meeting was three days ago, its therapists, its participants
    start = utcnow().date() - timedelta(days=3)
    cohort_id = steps.new_cohort(page, study_id, "CFT group 1", start, sessions=12,
                                 zone="Asia/Tokyo")
    steps.add_facilitator(page, cohort_id, "theo@clinic.example", "lead_therapist")
    steps.add_facilitator(page, cohort_id, "cora@clinic.example", "co_therapist")
    page.goto(f"/research/cohorts/{cohort_id}/people")
    for box in page.locator('input[name="participants"]').all():
        box.check()
    submit(page, "Place in this cohort", expect="6 participants placed in the cohort.")

    cft_codes = sorted(c for c, arm in arms.items() if arm == "CFT + usual care")
    assert cft_codes, arms
    for code in cft_codes:
        steps.invite_participant(page, ids[code], f"{code.lower()}@mail.example")
    first = cft_codes[0]
    person = steps.accept_invitation(browser, base, app, f"{first.lower()}@mail.example",
                                     "Chris")
    assert person.url.endswith("/me/")
    person.goto("/me/sessions")
    assert person.get_by_role("link", name="Session 1:").count() == 1
    assert person.get_by_role("link", name="Session 2:").count() == 0
    person.get_by_role("link", name="Session 1:").click()
    assert person.locator("h1").inner_text().startswith("Session 1:")

    page.goto(f"/research/cohorts/{cohort_id}/people")
    submit(page, "Form groups", expect="Groups formed")
    therapy = page.locator("section.card section.card").first.inner_text()
    assert "Theo Therapist" in therapy and "Cora Cotherapist" in therapy and "Chris" in therapy
    flow = steps.flow_counts(page, study_id)
    assert flow["Allocated"] == "6"


# --------------------------------------------------------------------------- MSC

MSC_STAFF = [
    ("mei@clinic.example", "Mei Teacher", "teacher"),
    ("lea@clinic.example", "Lea Leader", "group_leader"),
    ("liu@clinic.example", "Liu Leader", "group_leader"),
    ("sam@clinic.example", "Sam Assistant", "assistant_coach"),
    ("ari@clinic.example", "Ari Assistant", "assistant_coach"),
]


def _apply_online(browser, base, email, *, age, crisis=False):
    """A visitor of the public application page: applies, answers the screening questions
    and, when eligible, reads the information sheet and consents."""
    visitor = new_page(browser, base)
    visitor.goto("/apply/msc-2027")
    visitor.get_by_label("Your email address").fill(email)
    visitor.get_by_label("The study team may write to me").check()
    submit(visitor, "Apply", expect="Thank you for applying.")
    visitor.get_by_role("link", name="Answer the screening questions").click()
    visitor.locator("#rule-age").fill(str(age))
    visitor.locator(f'input[name="exclusion_1"][value="{"yes" if crisis else "no"}"]').check()
    submit(visitor, "Send my answers")
    text = visitor.locator("main").inner_text()
    if age < 18 or crisis:
        assert "This study is not the right one for you at the moment" in text
    else:
        visitor.get_by_role("link", name="Read the information sheet").click()
        visitor.get_by_label("I have read the information sheet and agree").check()
        submit(visitor, "Give my consent", expect="Thank you: your consent is recorded.")
    visitor.context.close()


def test_msc_course_with_online_applications_and_peer_groups(browser, empty_server, app):
    base = empty_server
    _admin_invites(browser, base, app, [(RESEARCHER, "Rhea Researcher", "researcher")] + [
        (email, name, "facilitator") for email, name, _role in MSC_STAFF])
    page = new_page(browser, base)
    sign_in(page, RESEARCHER)
    study_id = steps.new_study(page, title="Mindful Self-Compassion online", key="msc-2027",
                               design="single_arm", program="msc", prefix="M")
    page.goto(f"/research/studies/{study_id}/eligibility")
    page.get_by_label("Youngest age").fill("18")
    page.locator("#exclusions-0-text").fill("Currently in a mental health crisis")
    submit(page, "Save the rules", expect="Eligibility rules saved.")
    steps.add_consent_version(page, study_id, "v2.1")
    steps.choose_characteristics(page, study_id, ["gender", "age", "prior_meditation"])
    steps.add_timepoint(page, study_id, "baseline", 1, -14, 0, ["SCS", "DASS-21"])
    steps.add_timepoint(page, study_id, "week8", 2, 49, 70, ["SCS", "DASS-21"])
    steps.add_study_staff(page, study_id, "mei@clinic.example", clinician=True)
    steps.confirm_crisis_contacts(page, study_id, "China")
    page.goto(f"/research/studies/{study_id}/checklist")
    assert "Every step is done: the study can open." in page.locator("main").inner_text()

    page.goto(f"/research/studies/{study_id}/applications")
    page.get_by_label("Accept online applications").check()
    submit(page, "Save", expect="Online applications are open.")
    applicants = [(f"applicant{n}@mail.example", 16 if n == 5 else 30 + n) for n in range(1, 7)]
    for email, age in applicants:
        _apply_online(browser, base, email, age=age, crisis=email.startswith("applicant6"))
    page.goto(f"/research/studies/{study_id}/applications")
    rows = page.locator("tbody tr")
    assert rows.count() == 6
    assert rows.filter(has_text="not eligible").count() == 2

    # the researcher enters each consented applicant's characteristics and enrols them
    ids = steps.participant_ids(page, study_id)
    enrolled = {code: pid for code, pid in ids.items() if code not in ("M-0005", "M-0006")}
    for pid in enrolled.values():
        page.goto(f"/research/participants/{pid}")
        page.locator('input[name="bl-gender"][value="female"]').check()
        page.locator("#bl-age").fill("35")
        page.locator('input[name="bl-prior_meditation"][value="no"]').check()
        submit(page, "Record the characteristics", expect="Baseline characteristics recorded.")
        submit(page, "Enrol into the single arm", expect="Allocated to")

    flow = steps.flow_counts(page, study_id)
    assert (flow["Applied"], flow["Screened"], flow["Consented"], flow["Allocated"]) == (
        "6", "6", "4", "4")
    assert flow["Excluded"].startswith("2 (not meeting inclusion 1, meeting exclusion 1)")

    start = utcnow().date() - timedelta(days=10)
    cohort_id = steps.new_cohort(page, study_id, "MSC online, spring", start, sessions=8,
                                 zone="Asia/Shanghai")
    for email, _name, role in MSC_STAFF:
        steps.add_facilitator(page, cohort_id, email, role)
    page.goto(f"/research/cohorts/{cohort_id}/people")
    for box in page.locator('input[name="participants"]').all():
        box.check()
    submit(page, "Place in this cohort", expect="4 participants placed in the cohort.")
    for n, (code, pid) in enumerate(sorted(enrolled.items()), start=1):
        steps.invite_participant(page, pid, f"applicant{int(code[-1])}@mail.example",
                                 typed=False)
        person = steps.accept_invitation(browser, base, app,
                                         f"applicant{int(code[-1])}@mail.example",
                                         f"Student {n}")
        assert person.url.endswith("/me/")
        person.context.close()

    page.goto(f"/research/cohorts/{cohort_id}/people")
    page.get_by_label("Small groups of").fill("2")
    submit(page, "Form groups", expect="Groups formed: 3 new groups")
    groups = page.locator("section.card section.card")
    assert groups.count() == 3
    large, small = groups.nth(0).inner_text(), [
        groups.nth(i).locator("ul").first.inner_text() for i in (1, 2)]
    assert all(f"Student {n}" in large for n in range(1, 5))
    assert all(name in large for _e, name, _r in MSC_STAFF)
    for text, leader, assistant in zip(small, ("Lea Leader", "Liu Leader"),
                                       ("Sam Assistant", "Ari Assistant"), strict=True):
        assert f"{leader} · leader" in text and f"{assistant} · assistant" in text
        assert text.count("Student") == 2
