"""Baseline characteristics chosen for a study and entered per participant, and randomisation
set up through the pages: stratified blocks and minimisation by those characteristics."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select

from models import AllocationSlot, AuditEntry, Participant, Study, db
from tests.conftest import post_form
from tests.factories import gen_staff, gen_study, gen_user

CHARACTERISTICS = {"library": ["gender", "age", "site"], "choices_site": "Tokyo, Osaka",
                   "custom-0-name": "Shift work", "custom-0-kind": "yes_no"}


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _study_and_client(as_user, **fields):
    study = gen_study(eligibility_rules=[{"key": "psychosis", "label": "Psychosis",
                                          "type": "exclusion", "kind": "yes_no"}],
                      consent_version="v1", **fields)
    user = gen_user("researcher")
    gen_staff(study, user)
    return study, as_user(user)


def _characteristics(client, study: Study) -> None:
    page = f"/research/studies/{study.id}/characteristics"
    assert post_form(client, page, CHARACTERISTICS).status_code == 302
    db.session.refresh(study)


def _applicant(client, study: Study) -> Participant:
    home = f"/research/studies/{study.id}"
    assert post_form(client, f"{home}/applicants", {}, token_from=home).status_code == 302
    person = db.session.scalar(select(Participant).where(Participant.study_id == study.id)
                               .order_by(Participant.id.desc()))
    page = f"/research/participants/{person.id}"
    assert post_form(client, f"{page}/screening", {"psychosis": "no"}, token_from=page
                     ).status_code == 302
    assert post_form(client, f"{page}/consent", {"version": "v1", "on": "2027-01-10"},
                     token_from=page).status_code == 302
    return person


def _baseline(client, person: Participant, **values) -> None:
    page = f"/research/participants/{person.id}/baseline"
    response = post_form(client, page, {f"bl-{k}": v for k, v in values.items()})
    assert response.status_code == 302, response.get_data(as_text=True)[-3000:]


def _randomise(client, person: Participant):
    page = f"/research/participants/{person.id}"
    response = post_form(client, f"{page}/randomise", {}, token_from=page)
    db.session.refresh(person)
    return response


def test_characteristics_are_chosen_from_the_library_or_added(app, as_user):
    study, client = _study_and_client(as_user)
    page = f"/research/studies/{study.id}/characteristics"
    text = client.get(page).get_data(as_text=True)
    assert "Prior meditation experience" in text and "Marital status" in text
    assert "Next: Randomisation" in text
    _characteristics(client, study)
    assert [(d["key"], d["type"], d["choices"]) for d in study.baseline_characteristics] == [
        ("gender", "choice", ["female", "male", "other"]), ("age", "number", []),
        ("site", "choice", ["Tokyo", "Osaka"]), ("x_shift_work", "yes_no", [])]

    before = (list(study.baseline_characteristics), _count(AuditEntry))
    for bad in ({"library": ["site"]},  # a site needs the study's sites
                {"library": ["nonsense"]},
                {"custom-0-name": "Pets", "custom-0-kind": "choice",
                 "custom-0-choice_list": "cat"},
                {"custom-0-name": "Pets", "custom-0-kind": ""},
                {"custom-0-name": "Pets", "custom-0-kind": "number",
                 "custom-1-name": "pets", "custom-1-kind": "number"},
                {"library": ["site"], "choices_site": "a=b, c"},
                {"library": ["site"], "choices_site": "Tokyo, Tokyo"}):
        response = post_form(client, page, bad)
        assert response.status_code == 200, bad
        assert "error" in response.get_data(as_text=True), bad
    db.session.refresh(study)
    assert (study.baseline_characteristics, _count(AuditEntry)) == before

    # names and choices in another script keep their words
    assert post_form(client, page, {"library": ["site"], "choices_site": "東京、大阪",
                                    "custom-0-name": "夜勤", "custom-0-kind": "yes_no",
                                    "custom-1-name": "持病", "custom-1-kind": "choice",
                                    "custom-1-choice_list": "なし, あり"}).status_code == 302
    db.session.refresh(study)
    site, night, illness = study.baseline_characteristics
    assert site["choices"] == ["東京", "大阪"] and night["label"] == "夜勤"
    assert night["key"] != illness["key"] and illness["choices"] == ["なし", "あり"]


def test_baseline_is_entered_once_and_fills_gender_and_birth_year(app, as_user):
    study, client = _study_and_client(as_user, design="single_arm", arms=[("MSC", True)])
    _characteristics(client, study)
    person = _applicant(client, study)
    text = client.get(f"/research/participants/{person.id}").get_data(as_text=True)
    assert "Enter the baseline characteristics" in text
    assert 'name="bl-site" value="Osaka"' in text  # the form is on the participant page
    page = f"/research/participants/{person.id}/baseline"
    for bad in ({"bl-gender": "female", "bl-age": "abc", "bl-site": "Tokyo",
                 "bl-x_shift_work": "no"},
                {"bl-gender": "robot", "bl-age": "40", "bl-site": "Tokyo",
                 "bl-x_shift_work": "no"},
                {"bl-gender": "female", "bl-age": "40", "bl-site": "Kyoto"}):
        response = post_form(client, page, bad)
        assert response.status_code == 400, bad
    db.session.refresh(person)
    assert person.baseline in ({}, None) and person.gender is None
    _baseline(client, person, gender="female", age="40", site="Osaka", x_shift_work="yes")
    db.session.refresh(person)
    assert person.baseline == {"gender": "female", "age": 40, "site": "Osaka",
                               "x_shift_work": "yes"}
    assert person.gender == "female" and person.birth_year is not None
    shown = client.get(f"/research/participants/{person.id}").get_data(as_text=True)
    assert "Osaka" in shown or "Osaka" in shown
    assert _randomise(client, person).status_code == 302 and person.arm is not None
    # allocated: fixed
    assert post_form(client, page, {"bl-gender": "male", "bl-age": "41", "bl-site": "Tokyo",
                                    "bl-x_shift_work": "no"}).status_code == 400
    db.session.refresh(person)
    assert person.gender == "female"


def test_stratified_blocks_by_two_strata_work_through_the_pages(app, as_user):
    study, client = _study_and_client(as_user)
    _characteristics(client, study)
    page = f"/research/studies/{study.id}/randomisation"
    # bad settings: nothing saved
    for bad in ({"method": "stratified_blocks", "block_sizes": "2", "list_length": "8"},
                {"method": "stratified_blocks", "block_sizes": "3", "list_length": "8",
                 "factors": ["site"]},
                {"method": "stratified_blocks", "block_sizes": "2", "list_length": "8",
                 "factors": ["age"]},
                {"method": "blocks", "block_sizes": "x", "list_length": "8"}):
        assert post_form(client, page, bad).status_code == 200, bad
    db.session.refresh(study)
    assert study.randomisation_method == "none"

    assert post_form(client, page, {"method": "stratified_blocks", "block_sizes": "2",
                                    "list_length": "4", "factors": ["site"]}).status_code == 302
    db.session.refresh(study)
    assert study.randomisation_settings["strata_levels"] == {"site": ["Tokyo", "Osaka"]}
    assert "Not generated yet" in client.get(page).get_data(as_text=True)
    assert post_form(client, f"{page}/list", {}, token_from=page).status_code == 302
    assert db.session.scalar(select(func.count(func.distinct(AllocationSlot.stratum)))
                             .where(AllocationSlot.study_id == study.id)) == 2
    shown = client.get(page).get_data(as_text=True)
    assert "Generated: 8 concealed slots in 2 strata, 0 used." in shown
    assert "CFT" not in shown.split("Generated")[1].split("</section>")[0]  # contents concealed

    # without the characteristic, randomisation refuses (the old failure); with it, it works
    lone = _applicant(client, study)
    _randomise(client, lone)
    assert lone.arm_id is None
    people = [lone] + [_applicant(client, study) for _ in range(3)]
    for person, site in zip(people, ["Tokyo", "Tokyo", "Osaka", "Osaka"], strict=True):
        _baseline(client, person, gender="male", age="30", site=site, x_shift_work="no")
        assert _randomise(client, person).status_code == 302
        assert person.arm_id is not None, person.code
    used = Counter(db.session.scalars(select(AllocationSlot.stratum).where(
        AllocationSlot.participant_id.is_not(None))))
    assert used == {"site=Tokyo": 2, "site=Osaka": 2}
    # each stratum's first block of two holds both arms
    for stratum in ("site=Tokyo", "site=Osaka"):
        arms = {p.arm.key for p in people if p.baseline["site"] == stratum.split("=")[1]}
        assert arms == {"CFT", "UC"}
    # the list fixes the settings
    assert post_form(client, page, {"method": "blocks", "block_sizes": "2",
                                    "list_length": "4"}).status_code == 200
    db.session.refresh(study)
    assert study.randomisation_method == "stratified_blocks"


def test_minimisation_by_two_factors_works_through_the_pages(app, as_user):
    study, client = _study_and_client(as_user)
    _characteristics(client, study)
    page = f"/research/studies/{study.id}/randomisation"
    assert post_form(client, page, {"method": "minimisation", "block_sizes": "4",
                                    "list_length": "10", "factors": ["site", "gender"]}
                     ).status_code == 302
    db.session.refresh(study)
    assert study.randomisation_settings["factors"] == {"site": 1, "gender": 1}
    assert "no list is needed" in client.get(page).get_data(as_text=True)
    # without the characteristics, minimisation refuses rather than balancing on nothing
    lone = _applicant(client, study)
    refused = _randomise(client, lone)
    assert refused.status_code == 302 and lone.arm_id is None
    assert "has no value" in client.get(f"/research/participants/{lone.id}").get_data(
        as_text=True)
    arms = Counter()
    for n in range(6):
        person = _applicant(client, study)
        _baseline(client, person, gender=["female", "male"][n % 2], age="50",
                  site=["Tokyo", "Osaka"][n // 3], x_shift_work="no")
        assert _randomise(client, person).status_code == 302
        assert person.arm is not None
        arms[person.arm.key] += 1
    assert set(arms) <= {"CFT", "UC"} and sum(arms.values()) == 6
    checklist = client.get(f"/research/studies/{study.id}/checklist").get_data(as_text=True)
    assert "No randomisation method chosen." not in checklist


def test_a_site_added_after_the_settings_gets_its_own_list(app, as_user):
    study, client = _study_and_client(as_user)
    _characteristics(client, study)
    page = f"/research/studies/{study.id}/randomisation"
    assert post_form(client, page, {"method": "stratified_blocks", "block_sizes": "2",
                                    "list_length": "2", "factors": ["site"]}).status_code == 302
    assert post_form(client, f"/research/studies/{study.id}/characteristics",
                     {**CHARACTERISTICS, "choices_site": "Tokyo, Osaka, Kyoto"}
                     ).status_code == 302
    assert post_form(client, f"{page}/list", {}, token_from=page).status_code == 302
    strata = set(db.session.scalars(select(AllocationSlot.stratum)
                                    .where(AllocationSlot.study_id == study.id)))
    assert strata == {"site=Tokyo", "site=Osaka", "site=Kyoto"}
    # generated once
    assert post_form(client, f"{page}/list", {}, token_from=page).status_code == 302
    assert db.session.scalar(select(func.count()).select_from(AllocationSlot)) == 6


def test_the_strata_characteristics_are_fixed_once_the_list_exists(app, as_user):
    study, client = _study_and_client(as_user)
    _characteristics(client, study)
    page = f"/research/studies/{study.id}/randomisation"
    assert post_form(client, page, {"method": "stratified_blocks", "block_sizes": "2",
                                    "list_length": "2", "factors": ["site"]}).status_code == 302
    assert post_form(client, f"{page}/list", {}, token_from=page).status_code == 302
    characteristics = f"/research/studies/{study.id}/characteristics"
    for changed in ({**CHARACTERISTICS, "choices_site": "Tokyo, Osaka, Kyoto"},
                    {**CHARACTERISTICS, "library": ["gender", "age"]}):
        response = post_form(client, characteristics, changed)
        assert response.status_code == 200
        assert "are fixed" in response.get_data(as_text=True)
    # another characteristic may still be added
    assert post_form(client, characteristics,
                     {**CHARACTERISTICS, "library": ["gender", "age", "site", "education"]}
                     ).status_code == 302
    db.session.refresh(study)
    assert [d["key"] for d in study.baseline_characteristics][-2:] == ["education",
                                                                        "x_shift_work"]


def test_the_baseline_table_reads_the_characteristics_entered_on_the_pages(app, as_user):
    study, client = _study_and_client(as_user)
    _characteristics(client, study)
    page = f"/research/studies/{study.id}/randomisation"
    assert post_form(client, page, {"method": "minimisation", "block_sizes": "4",
                                    "list_length": "10", "factors": ["site"]}).status_code == 302
    for n in range(4):
        person = _applicant(client, study)
        _baseline(client, person, gender=["female", "male"][n % 2], age=str(30 + n),
                  site=["Tokyo", "Osaka"][n // 2], x_shift_work=["yes", "no"][n % 2])
        assert _randomise(client, person).status_code == 302
    html = client.get(f"/research/reports/{study.id}/baseline").get_data(as_text=True)
    assert "Site, n (%)" in html and "Osaka" in html and "Tokyo" in html
    assert "Shift work, n (%)" in html and "Gender, n (%)" in html
