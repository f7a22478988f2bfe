"""A study set up from nothing through its pages: the study, the checklist, eligibility rules
built in a form, consent versions, staff and licensed wording."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from models import (
    Arm,
    AuditEntry,
    ConsentVersion,
    InstrumentWording,
    Participant,
    Study,
    StudyStaff,
    db,
)
from tests.conftest import post_form
from tests.factories import gen_staff, gen_study, gen_user

NEW = {"title": "CFT for refractory depression", "key": "cft-2027", "design": "rct",
       "program": "cft", "registration_id": "UMIN000012345", "code_prefix": "C"}
RULES = {"age_min": "18", "age_max": "60", "instrument": "BDI-II", "min_score": "20",
         "numbers-0-text": "Adequate SSRI trials without response", "numbers-0-minimum": "2",
         "inclusions-0-text": "Primary diagnosis of major depressive disorder",
         "exclusions-0-text": "Psychosis", "exclusions-1-text": "Active suicidality"}


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _researcher(study, **flags):
    user = gen_user("researcher")
    gen_staff(study, user, **flags)
    return user


def _new_study(client) -> Study:
    response = post_form(client, "/research/studies/new", NEW)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    study = db.session.scalar(select(Study).where(Study.key == "cft-2027"))
    assert response.headers["Location"].endswith(f"/research/studies/{study.id}/checklist")
    return study


def test_a_researcher_creates_a_study_and_the_checklist_shows_what_is_missing(app, as_user):
    researcher = gen_user("researcher")
    client = as_user(researcher)
    assert "New study" in client.get("/research/").get_data(as_text=True)
    study = _new_study(client)
    assert (study.title, study.design, study.program, study.registration_id,
            study.code_prefix) == (NEW["title"], "rct", "cft", "UMIN000012345", "C")
    assert db.session.scalar(select(StudyStaff.user_id).where(StudyStaff.study_id == study.id)
                             ) == researcher.id
    assert db.session.scalar(select(AuditEntry.action).where(AuditEntry.object_id == study.id,
                                                             AuditEntry.object_type == "Study")
                             ) == "study.created"
    page = client.get(f"/research/studies/{study.id}/checklist").get_data(as_text=True)
    for step in ("Arms and allocation ratio", "Eligibility rules", "Consent and information sheet",
                 "Baseline characteristics", "Randomisation", "Assessment schedule",
                 "Clinicians and staff", "Licensed item wording"):
        assert step in page
    assert "A randomised trial needs at least two arms." in page
    assert "No eligibility rules yet." in page
    assert "the study can open." not in page

    # every step page ends with the next step
    arms = client.get(f"/research/studies/{study.id}/arms").get_data(as_text=True)
    assert "Next: Eligibility rules" in arms
    rules = client.get(f"/research/studies/{study.id}/eligibility").get_data(as_text=True)
    assert "Next: Consent and information sheet" in rules
    wording = client.get(f"/research/studies/{study.id}/wording").get_data(as_text=True)
    assert "Next: Set-up checklist" in wording


def test_a_bad_new_study_is_refused_and_nothing_is_written(app, as_user):
    client = as_user(gen_user("researcher"))
    _new_study(client)
    before = (_count(Study), _count(StudyStaff), _count(AuditEntry))
    for bad in ({**NEW, "title": "Other"},  # the key is taken
                {**NEW, "key": "Has Spaces"}, {**NEW, "key": "x2", "design": "crossover"},
                {**NEW, "key": "x3", "program": "yoga"}, {**NEW, "key": "x4", "code_prefix": "p-"},
                {**NEW, "key": "x5", "title": ""}):
        response = post_form(client, "/research/studies/new", bad)
        assert response.status_code == 200, bad
        assert 'class="error' in response.get_data(as_text=True)
    assert (_count(Study), _count(StudyStaff), _count(AuditEntry)) == before


def test_an_admin_creates_a_study_for_a_lead_researcher(app, as_user):
    lead = gen_user("researcher")
    client = as_user(gen_user("admin"))
    response = post_form(client, "/research/studies/new",
                         {**NEW, "design": "single_arm", "program": "msc",
                          "lead_id": str(lead.id)})
    assert response.status_code == 302
    study = db.session.scalar(select(Study).where(Study.key == "cft-2027"))
    staff = set(db.session.scalars(select(StudyStaff.user_id)
                                   .where(StudyStaff.study_id == study.id)))
    assert lead.id in staff and len(staff) == 2
    assert [a.key for a in study.arms] == ["MSC"]


def test_eligibility_rules_are_built_in_a_form_and_screening_excludes_with_reasons(
        app, as_user):
    study = gen_study(arms=[("CFT", True), ("UC", False)])
    client = as_user(_researcher(study))
    page = f"/research/studies/{study.id}/eligibility"
    # "add a row" shows one more row and saves nothing
    more = post_form(client, page, {**RULES, "more": "inclusions"})
    assert more.status_code == 200 and 'name="inclusions-1-text"' in more.get_data(as_text=True)
    db.session.refresh(study)
    assert study.eligibility_rules == []

    assert post_form(client, page, RULES).status_code == 302
    audits = _count(AuditEntry)
    assert post_form(client, page, RULES).status_code == 302  # the same again: nothing new
    assert _count(AuditEntry) == audits
    db.session.refresh(study)
    by_key = {r["key"]: r for r in study.eligibility_rules}
    assert (by_key["age"]["min"], by_key["age"]["max"]) == (18, 60)
    assert by_key["score_bdiii"]["min"] == 20 and by_key["score_bdiii"]["instrument"] == "BDI-II"
    assert (by_key["number_1"]["min"], by_key["number_1"]["label"]) == (
        2, "Adequate SSRI trials without response")
    assert [r["label"] for r in study.eligibility_rules if r["type"] == "exclusion"] == [
        "Psychosis", "Active suicidality"]

    # remove a row: the other keeps its key
    kept_key = next(r["key"] for r in study.eligibility_rules if r["label"] == "Active suicidality")
    assert post_form(client, page, {**RULES, "exclusions-0-remove": "y"}).status_code == 302
    db.session.refresh(study)
    exclusions = [r for r in study.eligibility_rules if r["type"] == "exclusion"]
    assert [(r["key"], r["label"]) for r in exclusions] == [(kept_key, "Active suicidality")]

    # bad input re-renders with errors and changes nothing
    rules, audits = list(study.eligibility_rules), _count(AuditEntry)
    for bad in ({**RULES, "age_min": "70"}, {**RULES, "age_max": "abc"},
                {**RULES, "min_score": ""}, {**RULES, "instrument": "NOPE"},
                {**RULES, "exclusions-1-text": "Psychosis"},
                {**RULES, "numbers-0-minimum": ""},
                {**RULES, "numbers-0-maximum": "1"}):
        response = post_form(client, page, bad)
        assert response.status_code == 200, bad
        assert "error" in response.get_data(as_text=True)
    db.session.refresh(study)
    assert (study.eligibility_rules, _count(AuditEntry)) == (rules, audits)

    # the screening form asks the rules and excludes with the reasons
    assert post_form(client, f"/research/studies/{study.id}/applicants", {},
                     token_from=f"/research/studies/{study.id}").status_code == 302
    person = db.session.scalar(select(Participant).where(Participant.study_id == study.id))
    form = client.get(f"/research/participants/{person.id}").get_data(as_text=True)
    assert "Age in years (18 to 60)" in form and "BDI-II total at screening (20 or more)" in form
    assert "Adequate SSRI trials without response (2 or more)" in form
    answers = {"age": "70", "score_bdiii": "25", kept_key: "no", "number_1": "3",
               next(r["key"] for r in study.eligibility_rules if r["type"] == "inclusion"
                    and r["kind"] == "yes_no"): "yes"}
    assert post_form(client, f"/research/participants/{person.id}/screening", answers,
                     token_from=f"/research/participants/{person.id}").status_code == 302
    db.session.refresh(person)
    assert person.eligible is False and person.exclusion_reasons == ["age"]
    assert "no: Age in years (18 to 60)" in client.get(
        f"/research/participants/{person.id}").get_data(as_text=True)
    # the flow names the reason as the rule reads, not by its key
    assert "Age in years (18 to 60) 1" in client.get(
        f"/research/studies/{study.id}").get_data(as_text=True)


def test_consent_versions_keep_their_sheet_and_the_current_one_is_used(app, as_user):
    study = gen_study()
    client = as_user(_researcher(study))
    page = f"/research/studies/{study.id}/consent"
    assert "Next: Baseline characteristics" in client.get(page).get_data(as_text=True)
    assert post_form(client, page, {"version": "v1", "sheet_text": "You may stop at any time.",
                                    "current": "y"}).status_code == 302
    pdf = b"%PDF-1.4 information sheet"
    assert post_form(client, page, {"version": "v2", "current": "y",
                                    "sheet_file": (io.BytesIO(pdf), "sheet-v2.pdf",
                                                   "application/pdf")},
                     content_type="multipart/form-data").status_code == 302
    db.session.refresh(study)
    assert study.consent_version == "v2"
    v2 = db.session.scalar(select(ConsentVersion).where(ConsentVersion.version == "v2"))
    download = client.get(f"/research/studies/{study.id}/consent/sheet?version={v2.id}")
    assert download.status_code == 200 and download.data == pdf
    assert client.get(f"/research/studies/{study.id}/consent/sheet?version=999").status_code == 404
    # an earlier version made current again
    v1 = db.session.scalar(select(ConsentVersion).where(ConsentVersion.version == "v1"))
    assert post_form(client, f"{page}/current", {"version_id": str(v1.id)},
                     token_from=page).status_code == 302
    db.session.refresh(study)
    assert study.consent_version == "v1"
    other = gen_study()
    theirs = ConsentVersion(study_id=other.id, version="x1", sheet_text="Theirs")
    db.session.add(theirs)
    db.session.commit()
    post_form(client, f"{page}/current", {"version_id": str(theirs.id)}, token_from=page)
    db.session.refresh(study)
    assert study.consent_version == "v1"
    assert post_form(client, f"{page}/current", {"version_id": str(v2.id)},
                     token_from=page).status_code == 302

    before = (_count(ConsentVersion), _count(AuditEntry))
    for bad in ({"version": "v3"},  # no text, no file
                {"version": "v1", "sheet_text": "again"},  # the version exists
                {"version": "", "sheet_text": "x"}):
        response = post_form(client, page, bad)
        assert response.status_code == 200 and "error" in response.get_data(as_text=True), bad
    assert (_count(ConsentVersion), _count(AuditEntry)) == before
    # the participant page's consent form offers the current version
    assert post_form(client, f"/research/studies/{study.id}/applicants", {},
                     token_from=f"/research/studies/{study.id}").status_code == 302
    person = db.session.scalar(select(Participant).where(Participant.study_id == study.id))
    person.eligible = True
    db.session.commit()
    assert 'value="v2"' in client.get(f"/research/participants/{person.id}").get_data(
        as_text=True)
    # consent is recorded only on a version the study has
    page = f"/research/participants/{person.id}"
    refused = post_form(client, f"{page}/consent", {"version": "v7", "on": "2027-01-10"},
                        token_from=page)
    assert refused.status_code == 400
    assert "Not a version of this study" in refused.get_data(as_text=True)
    db.session.refresh(person)
    assert person.consented_on is None
    assert post_form(client, f"{page}/consent", {"version": "v2", "on": "2027-01-10"},
                     token_from=page).status_code == 302
    db.session.refresh(person)
    assert person.consent_version == "v2"


def test_clinicians_and_staff_are_added_with_their_flags(app, as_user):
    study = gen_study()
    me = _researcher(study)
    client = as_user(me)
    doctor, participant = gen_user("rater"), gen_user("participant")
    page = f"/research/studies/{study.id}/staff"
    assert doctor.display_name in client.get(page).get_data(as_text=True)
    assert post_form(client, page, {"user_id": str(doctor.id), "is_clinician": "y"}
                     ).status_code == 302
    row = db.session.scalar(select(StudyStaff).where(StudyStaff.user_id == doctor.id))
    assert row.is_clinician and not row.blind_to_arm
    audits = _count(AuditEntry)
    assert post_form(client, page, {"user_id": str(doctor.id), "is_clinician": "y"}
                     ).status_code == 302
    assert _count(AuditEntry) == audits
    assert post_form(client, page, {"user_id": str(doctor.id), "blind_to_arm": "y"}
                     ).status_code == 302
    db.session.refresh(row)
    assert not row.is_clinician and row.blind_to_arm

    before = (_count(StudyStaff), _count(AuditEntry))
    for bad in ({"user_id": str(participant.id)}, {"user_id": "x"}, {}):
        assert post_form(client, page, bad).status_code == 200, bad
    # nobody removes themselves
    assert post_form(client, f"{page}/remove", {"user_id": str(me.id)},
                     token_from=page).status_code == 302
    assert (_count(StudyStaff), _count(AuditEntry)) == before
    assert post_form(client, f"{page}/remove", {"user_id": str(doctor.id)},
                     token_from=page).status_code == 302
    assert db.session.scalar(select(StudyStaff).where(StudyStaff.user_id == doctor.id)) is None


@pytest.mark.parametrize("role", ["participant", "facilitator", "rater"])
def test_only_researchers_and_admins_create_studies(app, as_user, role):
    client = as_user(gen_user(role))
    assert client.get("/research/studies/new").status_code == 403


def test_the_checklist_says_the_study_can_open_once_every_step_is_done(app, as_user):
    from program.trial import allocation
    from tests.factories import gen_timepoint

    study = gen_study(randomisation_method="blocks",
                      randomisation_settings={"seed": 3, "block_sizes": [2], "list_length": 4},
                      eligibility_rules=[{"key": "psychosis", "label": "Psychosis",
                                          "type": "exclusion", "kind": "yes_no"}],
                      baseline_characteristics=[{"key": "gender", "label": None,
                                                 "type": "choice",
                                                 "choices": ["female", "male"]}])
    me = gen_user("researcher")
    gen_staff(study, me, clinician=True)
    gen_timepoint(study, "pre", 1, ["SWLS"])
    client = as_user(me)
    assert post_form(client, f"/research/studies/{study.id}/consent",
                     {"version": "v1", "sheet_text": "Sheet", "current": "y"}).status_code == 302
    page = client.get(f"/research/studies/{study.id}/checklist").get_data(as_text=True)
    assert "The allocation list has not been generated." in page
    assert "A country of the study's cohorts has no confirmed crisis contacts." in page
    assert post_form(client, f"/research/studies/{study.id}/crisis-contacts/confirm",
                     {"country": "ZZ"},
                     token_from=f"/research/studies/{study.id}/crisis-contacts"
                     ).status_code == 302
    allocation.generate_allocation_list(study.id)
    page = client.get(f"/research/studies/{study.id}/checklist").get_data(as_text=True)
    assert "Every step is done: the study can open." in page
    assert _count(Arm) == 2
    assert _count(InstrumentWording) == 0  # SWLS ships its wording: nothing to load


def test_an_information_sheet_file_over_2_mb_is_refused(app, as_user):
    study = gen_study()
    client = as_user(_researcher(study))
    page = f"/research/studies/{study.id}/consent"
    response = post_form(client, page, {"version": "v1", "current": "y", "sheet_file": (
        io.BytesIO(b"x" * (2 * 1024 * 1024 + 1)), "big.pdf")},
        content_type="multipart/form-data")
    assert response.status_code == 200 and "larger than 2 MB" in response.get_data(as_text=True)
    assert _count(ConsentVersion) == 0


def test_a_trial_is_set_up_from_an_empty_database_through_the_pages_alone(app, as_user):
    """Only accounts exist; everything else is made on the set-up pages, step after step."""
    researcher, doctor = gen_user("researcher"), gen_user("rater")
    client = as_user(researcher)
    study = _new_study(client)
    home = f"/research/studies/{study.id}"
    steps = [
        (f"{home}/arms", {"key": "CFT", "name": "Compassion-focused therapy",
                          "receives_program": "y", "allocation_ratio": "1"}),
        (f"{home}/arms", {"key": "UC", "name": "Usual care", "allocation_ratio": "1"}),
        (f"{home}/eligibility", RULES),
        (f"{home}/consent", {"version": "v1.0", "sheet_text": "What taking part means.",
                             "current": "y"}),
        (f"{home}/characteristics", {"library": ["gender", "age", "site"],
                                     "choices_site": "Tokyo, Osaka"}),
        (f"{home}/randomisation", {"method": "stratified_blocks", "block_sizes": "2, 4",
                                   "list_length": "8", "factors": ["site"]}),
        (f"{home}/randomisation/list", {}),
        (f"{home}/timepoints", {"key": "pre", "label": "Baseline", "position": "1",
                                "opens_day": "-14", "closes_day": "0",
                                "instruments": ["BDI-II"]}),
        (f"{home}/staff", {"user_id": str(doctor.id), "is_clinician": "y"}),
        (f"{home}/crisis-contacts/confirm", {"country": "JP"}),
    ]
    for path, data in steps:
        token_from = f"{home}/randomisation" if path.endswith("/list") else path
        token_from = f"{home}/crisis-contacts" if path.endswith("/confirm") else token_from
        response = post_form(client, path, data, token_from=token_from)
        assert response.status_code == 302, (path, response.get_data(as_text=True)[-2000:])
    checklist = client.get(f"{home}/checklist").get_data(as_text=True)
    assert "Every step is done: the study can open." in checklist
    assert "Some licensed instruments have no wording" in checklist  # optional: placeholders

    # then people: one excluded with its reason, two randomised into their site's list
    codes = []
    for age, site in (("72", None), ("35", "Tokyo"), ("48", "Osaka")):
        assert post_form(client, f"{home}/applicants", {}, token_from=home).status_code == 302
        person = db.session.scalar(select(Participant).where(Participant.study_id == study.id)
                                   .order_by(Participant.id.desc()))
        page = f"/research/participants/{person.id}"
        answers = {rule["key"]: "no" if rule["type"] == "exclusion" else "yes"
                   for rule in study.eligibility_rules if rule["kind"] == "yes_no"}
        post_form(client, f"{page}/screening", {**answers, "age": age, "score_bdiii": "31",
                                                "number_1": "2"},
                  token_from=page)
        db.session.refresh(person)
        if site is None:
            assert person.eligible is False and person.exclusion_reasons == ["age"]
            continue
        post_form(client, f"{page}/consent", {"version": "v1.0", "on": "2027-01-11"},
                  token_from=page)
        post_form(client, f"{page}/baseline", {"bl-gender": "female", "bl-age": age,
                                               "bl-site": site}, token_from=f"{page}/baseline")
        post_form(client, f"{page}/randomise", {}, token_from=page)
        db.session.refresh(person)
        assert person.arm is not None and person.consent_version == "v1.0"
        codes.append(person.code)
    assert codes == ["C-0002", "C-0003"]
    flow = client.get(home).get_data(as_text=True)
    assert "Age in years (18 to 60) 1" in flow
