"""The participant's pages: release at the boundary second, usual care, practice logs."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from models import Participant, PracticeLog, SafetyAlert, SessionProgress, db
from tests.conftest import csrf_token, post_form
from tests.factories import gen_user
from tests.factories_delivery import VIDEO, gen_course, utc
from tests.fixtures_delivery import frozen_clock, long_sign_in_config  # noqa: F401

SECOND = timedelta(seconds=1)
SESSION_2_RELEASE = utc(2026, 10, 22, 17)  # 18:00 London summer time


@pytest.fixture
def clock_start():
    return utc(2026, 10, 20, 9)


@pytest.fixture
def course(app):
    return gen_course("msc")


def test_session_opens_at_the_boundary_second(clock, course, as_user):
    client = as_user(course.user)
    clock.move_to(SESSION_2_RELEASE - SECOND)
    assert client.get("/me/sessions/2").status_code == 404
    listing = client.get("/me/sessions").get_data(as_text=True)
    assert "Locked until" in listing
    assert 'href="/me/sessions/2"' not in listing
    clock.move_to(SESSION_2_RELEASE)
    page = client.get("/me/sessions/2")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Practising mindfulness" in text
    assert 'id="practice-' in text and "<ol>" in text  # practices with their steps
    assert "Facilitator guide" not in text and "Timings" not in text
    assert 'href="/me/sessions/2"' in client.get("/me/sessions").get_data(as_text=True)


def test_released_material_stays_visible_after_the_course_ends(clock, course, as_user):
    clock.move_to(utc(2027, 6, 1))
    client = as_user(course.user)
    for number in range(1, 9):
        assert client.get(f"/me/sessions/{number}").status_code == 200
    assert client.get("/me/sessions/9").status_code == 404


def test_usual_care_participant_sees_no_material(app, clock, as_user):
    course = gen_course("cft", arm="UC")
    clock.move_to(utc(2026, 12, 1))
    client = as_user(course.user)
    dashboard = client.get("/me/").get_data(as_text=True)
    assert "Session" not in dashboard and "Next live meeting" not in dashboard
    assert VIDEO not in dashboard
    for path in ("/me/sessions", "/me/sessions/1", "/me/practice", "/me/practice/new"):
        assert client.get(path).status_code == 404, path
    feed = client.get(f"/calendar/{course.user.calendar_token}.ics").get_data(as_text=True)
    assert "VEVENT" not in feed


def test_participant_who_stopped_sessions_sees_no_material(clock, course, as_user):
    participant = db.session.get(Participant, course.participant.id)
    participant.withdrawal_kind = "stop_sessions"
    participant.status = "withdrawn"
    db.session.commit()
    clock.move_to(utc(2026, 11, 1))
    client = as_user(course.user)
    assert client.get("/me/sessions/1").status_code == 404
    assert "Next live meeting" not in client.get("/me/").get_data(as_text=True)


def test_dashboard_shows_the_join_link_from_15_minutes_before_until_the_end(
        clock, course, as_user):
    db.session.get(type(course.user), course.user.id).timezone = "Asia/Tokyo"
    db.session.commit()
    start = SESSION_2_RELEASE
    clock.move_to(start - timedelta(minutes=15) - SECOND)
    client = as_user(course.user)
    page = client.get("/me/").get_data(as_text=True)
    assert VIDEO not in page
    assert "Friday 23 October 2026, 02:00" in page  # the participant's own time zone
    clock.move_to(start - timedelta(minutes=15))
    assert VIDEO in client.get("/me/").get_data(as_text=True)
    clock.move_to(start + timedelta(hours=2) - SECOND)
    assert VIDEO in client.get("/me/").get_data(as_text=True)
    clock.move_to(start + timedelta(hours=2))
    assert VIDEO not in client.get("/me/").get_data(as_text=True)


def test_dashboard_shows_this_weeks_session_homework_and_days_practised(clock, course, as_user):
    clock.move_to(utc(2026, 10, 24, 12))
    client = as_user(course.user)
    for day in (22, 23, 24):
        db.session.add(PracticeLog(participant_id=course.participant.id,
                                   practice_key="affectionate-breathing",
                                   practised_on=date(2026, 10, day), minutes=10,
                                   submission_token=f"t{day}"))
    db.session.commit()
    page = client.get("/me/").get_data(as_text=True)
    assert "Session 2: Practising mindfulness" in page
    assert "Practised on 3 days this week" in page
    assert "streak" not in page.lower()
    assert re.search(r"Affectionate breathing.*?logged", page, re.S)


def test_dashboard_shows_course_progress_sessions_done_and_minutes_this_week(
        clock, course, as_user):
    clock.move_to(utc(2026, 10, 24, 12))
    client = as_user(course.user)
    db.session.add_all([
        SessionProgress(participant_id=course.participant.id, session_number=1,
                        opened_at=utc(2026, 10, 16), completed_at=utc(2026, 10, 16)),
        SessionProgress(participant_id=course.participant.id, session_number=2,
                        opened_at=utc(2026, 10, 23)),  # opened, not yet marked done
        PracticeLog(participant_id=course.participant.id, practice_key="soothing-touch",
                    practised_on=date(2026, 10, 23), minutes=12, submission_token="a"),
        PracticeLog(participant_id=course.participant.id, practice_key="soothing-touch",
                    practised_on=date(2026, 10, 24), minutes=20, submission_token="b"),
        PracticeLog(participant_id=course.participant.id, practice_key="soothing-touch",
                    practised_on=date(2026, 10, 10), minutes=45, submission_token="old"),
    ])
    db.session.commit()
    page = client.get("/me/").get_data(as_text=True)
    assert "Sessions done: 1 of 8" in page
    assert '<progress id="sessions-done" max="8" value="1">' in page
    assert "32 minutes of practice this week" in page  # 12 + 20; two weeks ago not counted
    chinese = client.get("/me/", headers={"Accept-Language": "zh"}).get_data(as_text=True)
    assert "已完成的课次：1 / 8" in chinese and "本周练习 32 分钟" in chinese


def test_no_practice_this_week_shows_no_count_and_last_weeks_days_do_not_count(
        clock, course, as_user):
    clock.move_to(utc(2026, 10, 24, 12))
    client = as_user(course.user)
    # Practised last week, before this week's meeting, and never since.
    for day in (15, 16, 17):
        db.session.add(PracticeLog(participant_id=course.participant.id,
                                   practice_key="soothing-touch", practised_on=date(2026, 10, day),
                                   minutes=10, submission_token=f"old{day}"))
    db.session.commit()
    page = client.get("/me/").get_data(as_text=True)
    assert "Session 2: Practising mindfulness" in page
    assert "Practised on" not in page and "0 days" not in page
    db.session.add(PracticeLog(participant_id=course.participant.id,
                               practice_key="soothing-touch", practised_on=date(2026, 10, 24),
                               minutes=5, submission_token="today"))
    db.session.commit()
    assert "Practised on 1 day this week" in client.get("/me/").get_data(as_text=True)
    japanese = client.get("/me/", headers={"Accept-Language": "ja"}).get_data(as_text=True)
    assert "今週は1日練習しました" in japanese


def test_the_week_counts_days_since_the_meeting_and_at_most_seven():
    from program.courses.week import days_practised, week_start
    today = date(2026, 10, 24)
    assert week_start(date(2026, 10, 22), today) == date(2026, 10, 22)
    assert week_start(date(2026, 10, 10), today) == date(2026, 10, 18)  # a long, postponed week
    assert week_start(None, today) == date(2026, 10, 18)
    days = {date(2026, 10, 21), date(2026, 10, 22), date(2026, 10, 24), date(2026, 10, 25)}
    assert days_practised(days, date(2026, 10, 22), today) == 2


def test_opening_a_session_records_progress_and_mark_as_done(clock, course, as_user):
    clock.move_to(utc(2026, 10, 16))
    client = as_user(course.user)
    page = client.get("/me/sessions/1").get_data(as_text=True)
    # Reading the page (or a link preview fetching it) records nothing ...
    assert db.session.scalar(select(SessionProgress)) is None
    assert 'data-opened-url="/me/sessions/1/opened"' in page and "session_opened.js" in page
    # ... the page's beacon does.
    beacon = post_form(client, "/me/sessions/1/opened", token_from="/me/sessions/1")
    assert beacon.status_code == 204
    progress = db.session.scalar(select(SessionProgress).where(
        SessionProgress.participant_id == course.participant.id))
    assert progress.opened_at == utc(2026, 10, 16) and progress.completed_at is None
    assert post_form(client, "/me/sessions/2/opened", token_from="/me/").status_code == 404
    response = post_form(client, "/me/sessions/1/done", token_from="/me/sessions/1")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(SessionProgress, progress.id).completed_at is not None
    assert post_form(client, "/me/sessions/2/done", token_from="/me/").status_code == 404


def _token(page: str) -> str:
    return re.search(r'name="token" type="hidden" value="([^"]+)"', page).group(1)


def _log_form(client, **changes):
    page = client.get("/me/practice/new").get_data(as_text=True)
    data = {"csrf_token": csrf_token(client, "/me/practice/new"), "token": _token(page),
            "practice_key": "soothing-touch", "practised_on": "2026-10-16", "minutes": "12",
            "helpfulness": "7", "note": ""}
    data.update(changes)
    return data


def _count(participant_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(PracticeLog).where(
        PracticeLog.participant_id == participant_id))


def test_double_submitted_practice_form_creates_one_entry(clock, course, as_user):
    clock.move_to(utc(2026, 10, 16, 8))
    client = as_user(course.user)
    data = _log_form(client)
    first = client.post("/me/practice/new", data=data)
    second = client.post("/me/practice/new", data=data)
    assert first.status_code == second.status_code == 302
    assert _count(course.participant.id) == 1
    history = client.get("/me/practice").get_data(as_text=True)
    assert "Soothing touch" in history and "<svg" in history
    assert "12</text>" in history  # this week's bar carries its minutes
    client.post("/me/practice/new", data=_log_form(client))  # a new form, a new entry
    assert _count(course.participant.id) == 2


def test_bad_practice_input_rerenders_and_writes_nothing(clock, course, as_user):
    clock.move_to(utc(2026, 10, 16, 8))
    client = as_user(course.user)
    for changes in ({"minutes": "0"}, {"helpfulness": "11"}, {"practised_on": "2026-10-17"},
                    {"practice_key": "compassionate-letter"}):  # not released yet
        response = client.post("/me/practice/new", data=_log_form(client, **changes))
        assert response.status_code == 200, changes
        assert 'class="error"' in response.get_data(as_text=True)
    assert _count(course.participant.id) == 0


def test_edit_and_delete_own_entries_only(clock, course, as_user):
    clock.move_to(utc(2026, 10, 16, 8))
    other = gen_course("msc")
    theirs = PracticeLog(participant_id=other.participant.id, practice_key="soothing-touch",
                         practised_on=date(2026, 10, 16), minutes=5, submission_token="x" * 20)
    db.session.add(theirs)
    db.session.commit()
    client = as_user(course.user)
    client.post("/me/practice/new", data=_log_form(client))
    mine = db.session.scalar(select(PracticeLog).where(
        PracticeLog.participant_id == course.participant.id))
    edit = f"/me/practice/{mine.id}/edit"
    data = {"csrf_token": csrf_token(client, edit), "token": mine.submission_token,
            "practice_key": "soothing-touch", "practised_on": "2026-10-16", "minutes": "25",
            "helpfulness": "", "note": ""}
    assert client.post(edit, data=data).status_code == 302
    db.session.expire_all()
    assert db.session.get(PracticeLog, mine.id).minutes == 25
    assert client.get(f"/me/practice/{theirs.id}/edit").status_code == 404
    assert post_form(client, f"/me/practice/{theirs.id}/delete",
                     token_from="/me/practice").status_code == 404
    assert post_form(client, f"/me/practice/{mine.id}/delete",
                     token_from="/me/practice").status_code == 302
    assert _count(course.participant.id) == 0 and _count(other.participant.id) == 1


def test_risk_language_in_a_note_raises_one_safety_alert_without_the_text(
        clock, course, as_user):
    clock.move_to(utc(2026, 10, 16, 8))
    client = as_user(course.user)
    note = "Some days I want to die, but the practice helped a little."
    client.post("/me/practice/new", data=_log_form(client, note=note))
    client.post("/me/practice/new", data=_log_form(client, note="A calm ten minutes."))
    (alert,) = db.session.scalars(select(SafetyAlert)).all()
    entry = db.session.scalar(select(PracticeLog).where(PracticeLog.note == note))
    assert (alert.source_kind, alert.source_id) == ("practice_log", entry.id)
    assert alert.participant_id == course.participant.id
    assert (alert.rule, alert.level, alert.families) == (
        "risk:concern:wish_to_be_dead", "concern", "wish_to_be_dead")
    assert "die" not in (alert.note or "") and "die" not in alert.rule


def test_participant_pages_refuse_other_roles(clock, course, client, as_user):
    clock.move_to(utc(2026, 10, 16, 8))
    assert client.get("/me/sessions/1").status_code == 302  # signed out: to sign-in
    as_user(gen_user("facilitator"))
    for path in ("/me/", "/me/sessions", "/me/sessions/1", "/me/practice", "/me/practice/new"):
        assert client.get(path).status_code == 403, path


def test_editing_a_note_into_risk_language_raises_an_alert(clock, course, as_user):
    clock.move_to(utc(2026, 10, 16, 8))
    client = as_user(course.user)
    client.post("/me/practice/new", data=_log_form(client, note="Felt calm."))
    assert db.session.scalar(select(SafetyAlert)) is None
    entry = db.session.scalar(select(PracticeLog))
    edit = f"/me/practice/{entry.id}/edit"
    data = {"csrf_token": csrf_token(client, edit), "token": entry.submission_token,
            "practice_key": "soothing-touch", "practised_on": "2026-10-16", "minutes": "10",
            "helpfulness": "", "note": "Honestly I feel suicidal tonight."}
    assert client.post(edit, data=data).status_code == 302
    alert = db.session.scalar(select(SafetyAlert))
    assert (alert.source_kind, alert.source_id) == ("practice_log", entry.id)


def test_a_postponed_meeting_releases_its_session_at_the_new_time(clock, course, app):
    from tests.conftest import sign_in

    clock.move_to(utc(2026, 10, 21, 9))
    staff, person = app.test_client(), app.test_client()
    sign_in(staff, course.facilitator)
    sign_in(person, course.user)
    post_form(staff, f"/facilitate/cohorts/{course.cohort.id}/meetings/2",
              {"outcome": "postponed", "postponed_to": "2026-10-24T10:00"})
    new_start = utc(2026, 10, 24, 9)  # 10:00 London summer time
    clock.move_to(SESSION_2_RELEASE)
    assert person.get("/me/sessions/2").status_code == 404
    assert "Saturday 24 October 2026" in person.get("/me/sessions").get_data(as_text=True)
    clock.move_to(new_start - SECOND)
    assert person.get("/me/sessions/2").status_code == 404
    clock.move_to(new_start)
    assert person.get("/me/sessions/2").status_code == 200


def test_a_session_shows_where_its_scripted_practice_comes_from(clock, course, as_user):
    clock.move_to(utc(2026, 10, 17))
    page = as_user(course.user).get("/me/sessions/1").get_data(as_text=True)
    assert "Self-compassion break" in page
    assert "Adapted from" in page
    assert '<p lang="en"><cite>Neff, K. (2011). Self-Compassion' in page


def test_the_retreat_page_gives_schedule_silence_and_contacts_but_not_the_guide(
        clock, course, as_user):
    clock.move_to(utc(2026, 10, 17))
    client = as_user(course.user)
    assert 'href="/me/retreat"' in client.get("/me/").get_data(as_text=True)
    page = client.get("/me/retreat").get_data(as_text=True)
    for heading in ("Schedule", "Practices", "What silence means", "On the day",
                    "If you need help"):
        assert f"<h2>{heading}</h2>" in page
    assert "Facilitator guide" not in page and "Holding the silence" not in page
    assert "[[" not in page
    facilitator = course.cohort.facilitators[0].user
    assert f'href="mailto:{facilitator.email}"' in page
    assert 'class="crisis-contacts"' in page and "[[crisis-contacts]]" not in page
    japanese = client.get("/me/retreat", headers={"Accept-Language": "ja"}).get_data(as_text=True)
    assert "<h2>沈黙の意味</h2>" in japanese and "ファシリテーターガイド" not in japanese
    assert "緊急連絡先（イギリス）：" in japanese and ">999</a>" in japanese  # a London cohort


def test_a_course_without_a_retreat_has_no_retreat_page(app, clock, as_user):
    cft = gen_course("cft", arm="CFT")
    clock.move_to(utc(2026, 10, 17))
    assert as_user(cft.user).get("/me/retreat").status_code == 404


def test_without_facilitators_the_retreat_page_says_the_contact_will_come(clock, course, as_user):
    for link in list(course.cohort.facilitators):
        db.session.delete(link)
    db.session.commit()
    clock.move_to(utc(2026, 10, 17))
    page = as_user(course.user).get("/me/retreat").get_data(as_text=True)
    assert "Before the retreat, your group leader will send you the contact for the day." in page
    assert "mailto:" not in page


def test_the_practice_chart_keeps_every_number_inside_the_picture(app):
    from views.participant import chart_bars

    with app.test_request_context():
        chart = chart_bars([(date(2026, 10, 5), 40), (date(2026, 10, 12), 120),
                            (date(2026, 10, 19), 0)])
    for bar in chart["bars"]:
        assert bar["y"] - 3 - 10 >= 0  # the number above the bar (10 px high) is not clipped
        assert bar["y"] + bar["h"] == chart["base"]
    tallest = max(chart["bars"], key=lambda bar: bar["h"])
    assert tallest["minutes"] == 120 and tallest["h"] > 0
