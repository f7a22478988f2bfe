"""Crisis contacts: study data by country, shown to each participant for their cohort's country
in the language they read (the help page after a risk answer, the footer, the practice form,
the course text), set up on the study's crisis contacts page."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import time_machine as machine
from sqlalchemy import func, select

from models import AuditEntry, Cohort, CrisisContact, SafetyAlert, db
from program.safety import crisis_contacts
from tests.conftest import post_form
from tests.factories import gen_cohort, gen_participant, gen_study, gen_timepoint, gen_user
from tests.factories_delivery import gen_course

START = date(2026, 3, 2)
AFTER_THE_COURSE = datetime(2027, 6, 1, tzinfo=UTC)


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _researcher(study):
    from tests.factories import gen_staff

    user = gen_user("researcher")
    gen_staff(study, user)
    return user


def _risk_answer(client, timepoint_id: int):
    return post_form(client, f"/q/{timepoint_id}/BDI-II",
                     {f"item-{n}": "0" for n in range(1, 22)} | {"item-9": "2",
                                                                  "action": "submit"})


@pytest.mark.parametrize(("zone", "country"), [("Asia/Tokyo", "JP"), ("Asia/Shanghai", "CN"),
                                                ("Europe/Berlin", "ZZ")])
def test_a_cohort_country_defaults_from_its_time_zone(app, zone, country):
    assert gen_cohort(gen_study(), timezone=zone).country == country


def test_the_cohort_form_takes_the_country_or_derives_it_from_the_time_zone(app, as_user):
    study = gen_study()
    client = as_user(_researcher(study))
    page = f"/research/studies/{study.id}/cohorts"
    form = {"name": "A", "start_date": "2026-05-04", "timezone": "Asia/Tokyo",
            "meeting_weekday": "0", "meeting_time": "18:00", "cadence_days": "7",
            "session_count": "12", "release_lead_minutes": "0", "min_minutes_present": "60",
            "status": "planned", "country": ""}
    assert post_form(client, page, form).status_code == 302
    assert post_form(client, page, form | {"name": "B", "country": "CN"}).status_code == 302
    assert dict(db.session.execute(select(Cohort.name, Cohort.country))
                .tuples().all()) == {"A": "JP", "B": "CN"}
    listing = client.get(page).get_data(as_text=True)
    assert "A · " in listing and "Japan" in listing and "China" in listing
    assert post_form(client, page, form | {"name": "C", "country": "XQ"}).status_code == 200
    assert _count(Cohort) == 2


def test_a_japanese_cohort_reading_chinese_is_given_the_japanese_numbers(app, as_user):
    with machine.travel("2026-02-25 09:00Z", tick=False):
        study = gen_study("rct", "cft")
        cohort = gen_cohort(study, start_date=START, timezone="Asia/Tokyo")
        tp = gen_timepoint(study, "pre", 1, ["BDI-II"], -14, 0)
        person = gen_participant(study, arm="UC", cohort=cohort, status="randomised")
        person.user.locale = "zh"
        db.session.commit()
        page = _risk_answer(as_user(person.user), tp.id).get_data(as_text=True)
    assert db.session.scalar(select(SafetyAlert.rule)) == "bdi-ii-item-9"
    help_section = page.split('role="alert"')[1].split("</section>")[0]
    for number in ("119", "110", "0120-279-338", "0120-783-556", "0570-064-556"):
        assert f">{number}</a>" in help_section
    assert 'href="tel:0120279338"' in help_section
    assert "日本" in help_section and "救护车" in help_section and "24 小时" in help_section
    assert "陪伴热线（よりそいホットライン）" in help_section and "免费" in help_section
    assert ">120</a>" not in page  # China's ambulance number is not Japan's


def test_a_risk_statement_in_a_free_text_answer_also_shows_the_contacts(app, as_user):
    from program.assessments import questionnaires as assessments

    with machine.travel("2026-02-25 09:00Z", tick=False):
        study = gen_study("rct", "cft")
        cohort = gen_cohort(study, start_date=START, timezone="Asia/Shanghai")
        tp = gen_timepoint(study, "pre", 1, ["BDI-II"], -14, 0)
        person = gen_participant(study, arm="UC", cohort=cohort, status="randomised")
        assessments.save_answers(person.id, tp.id, "BDI-II", {n: 0 for n in range(1, 22)})
        response = assessments.find_response(person.id, tp.id, "BDI-II")
        response.free_text = {"comment": "我已经计划好怎么结束了"}
        db.session.commit()
        page = post_form(as_user(person.user), f"/q/{tp.id}/BDI-II",
                         {f"item-{n}": "0" for n in range(1, 22)} | {"action": "submit"})
    assert page.status_code == 200
    help_section = page.get_data(as_text=True).split('role="alert"')[1]
    assert ">12356</a>" in help_section and ">120</a>" in help_section
    assert db.session.scalar(select(SafetyAlert.level)) == "urgent"


def test_the_study_contacts_replace_the_shipped_ones_and_the_footer_shows_them(app, as_user):
    study = gen_study()
    cohort = gen_cohort(study, timezone="Asia/Shanghai")
    person = gen_participant(study, cohort=cohort)
    db.session.add(CrisisContact(study_id=study.id, country="CN", kind="crisis_line",
                                 name="Study line", number="400-123-4567", languages="zh,en",
                                 always_open=False, free=None))
    db.session.commit()
    page = as_user(person.user).get("/me/", headers={"Accept-Language": "ja"}
                                    ).get_data(as_text=True)
    footer = page.split('class="site-footer"')[1]
    assert ">400-123-4567</a>" in footer and "Study line" in footer and "中国" in footer
    assert ">120</a>" not in footer and ">119</a>" not in footer


def test_staff_footers_keep_the_general_sentence(app, as_user):
    page = as_user(gen_user("researcher")).get("/research/").get_data(as_text=True)
    assert "If you are in crisis, contact your local emergency number now." in page
    assert 'class="crisis-contacts"' not in page


def test_the_practice_form_shows_the_contacts_under_the_note(app, time_machine, as_user):
    course = gen_course("msc", timezone="Asia/Tokyo")
    time_machine.move_to(AFTER_THE_COURSE, tick=False)
    page = as_user(course.user).get("/me/practice/new").get_data(as_text=True)
    form = page.split('<form method="post" novalidate')[1].split("</form>")[0]
    assert "If you are in crisis, call one of these numbers now:" in form
    assert ">0120-279-338</a>" in form


def test_session_text_shows_the_cohort_country_contacts_in_each_language(
        app, time_machine, as_user):
    course = gen_course("msc", timezone="Asia/Shanghai")
    time_machine.move_to(AFTER_THE_COURSE, tick=False)
    client = as_user(course.user)
    for locale, words in (("en", "call one of these numbers"), ("ja", "次のいずれかの番号"),
                          ("zh", "附近医院的精神科/心理科")):
        page = client.get("/me/sessions/2", headers={"Accept-Language": locale}
                          ).get_data(as_text=True)
        main = page.split("<main")[1].split("</main>")[0]
        assert words in main and "[[" not in main
        assert ">12356</a>" in main and ">010-82951332</a>" in main
        assert "helpline listed" not in main and "研究チームが案内" not in main


def test_facilitators_see_their_cohort_contacts_in_the_guide(app, time_machine, as_user):
    course = gen_course("msc", timezone="Asia/Tokyo")
    time_machine.move_to(AFTER_THE_COURSE, tick=False)
    facilitator = course.cohort.facilitators[0].user
    page = as_user(facilitator).get(f"/facilitate/cohorts/{course.cohort.id}/meetings/6"
                                    ).get_data(as_text=True)
    assert ">0120-279-338</a>" in page and "[[crisis-contacts]]" not in page


def test_confirming_the_shipped_contacts_is_done_once_and_audited(app, as_user):
    study = gen_study()
    gen_cohort(study, timezone="Asia/Tokyo")
    client = as_user(_researcher(study))
    page = f"/research/studies/{study.id}/crisis-contacts"
    assert "Japan" in client.get(page).get_data(as_text=True)  # missing: the cohort's country
    for _ in range(2):
        assert post_form(client, f"{page}/confirm", {"country": "JP"},
                         token_from=page).status_code == 302
    assert _count(CrisisContact) == 5
    assert crisis_contacts.countries_missing(study.id) == []
    audits = db.session.scalars(select(AuditEntry.details).where(
        AuditEntry.action == "study.crisis_contacts_confirmed")).all()
    assert [a["added"] for a in audits] == [5]  # the second click added and recorded nothing
    listing = client.get(page).get_data(as_text=True)
    assert "0120-279-338" in listing and "Yorisoi Hotline" in listing
    assert post_form(client, f"{page}/confirm", {"country": "FR"},
                     token_from=page).status_code == 302
    assert _count(CrisisContact) == 5


def test_a_contact_is_added_changed_and_removed_and_bad_input_changes_nothing(app, as_user):
    study = gen_study()
    client = as_user(_researcher(study))
    page = f"/research/studies/{study.id}/crisis-contacts"
    entry = {"country": "GB", "kind": "crisis_line", "name": "Shout", "number": "85258",
             "languages": "en", "free": "yes", "opens_at": "", "closes_at": ""}
    for bad, message in (({"number": "call us"}, "Enter a phone number"),
                         ({"opens_at": "09:00"}, "opening and the closing time"),
                         ({"languages": "English"}, "Enter language codes"),
                         ({"kind": "fire"}, "Not a valid choice")):
        response = post_form(client, page, entry | bad)
        assert response.status_code == 200 and message in response.get_data(as_text=True)
    assert _count(CrisisContact) == 0
    assert post_form(client, page, entry).status_code == 302
    row = db.session.scalar(select(CrisisContact))
    assert (row.country, row.number, row.free, row.languages) == ("GB", "85258", True, "en")
    assert post_form(client, page, entry).status_code == 200  # the same number twice
    edit = f"{page}?contact={row.id}"
    assert post_form(client, edit, entry | {"always_open": "y", "free": ""}).status_code == 302
    db.session.expire_all()
    assert (row.always_open, row.free) == (True, None) and _count(CrisisContact) == 1
    other = gen_study()
    assert client.get(f"/research/studies/{other.id}/crisis-contacts?contact={row.id}"
                      ).status_code in (403, 404)
    assert post_form(client, f"{page}/remove", {"contact_id": str(row.id)},
                     token_from=page).status_code == 302
    assert _count(CrisisContact) == 0


def test_another_studys_contact_cannot_be_changed_or_removed(app, as_user):
    study, other = gen_study(), gen_study()
    crisis_contacts.confirm_defaults(other.id, "GB")
    row = db.session.scalar(select(CrisisContact))
    client = as_user(_researcher(study))
    page = f"/research/studies/{study.id}/crisis-contacts"
    assert client.get(f"{page}?contact={row.id}").status_code == 404
    assert post_form(client, f"{page}/remove", {"contact_id": str(row.id)},
                     token_from=page).status_code == 302
    assert _count(CrisisContact) == 3
