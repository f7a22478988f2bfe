"""Participant and facilitator pages in Japanese and Chinese: course material, dates, checklist."""

from __future__ import annotations

import html
import re
import shutil
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from models import Meeting, User, db
from program.courses import catalogue
from program.courses.catalogue import get_catalogue
from tests.conftest import post_form
from tests.factories_delivery import gen_course, utc

#: Session 2 of a Thursday 18:00 London cohort starting 15 October 2026 is open.
NOW = utc(2026, 10, 23, 9)


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def _course(program: str, locale: str | None):
    course = gen_course(program)
    for user in (course.user, course.facilitator):
        db.session.get(User, user.id).locale = locale
    db.session.commit()
    return course


def _text(response) -> str:
    assert response.status_code == 200, response.status_code
    return html.unescape(response.get_data(as_text=True))


@pytest.mark.parametrize("locale", ["ja", "zh"])
def test_dashboard_shows_this_weeks_session_and_practices_in_the_users_language(
        app, clock, as_user, locale):
    course = _course("msc", locale)
    session = get_catalogue(locale).session("msc", 2)
    english = get_catalogue().session("msc", 2)
    page = _text(as_user(course.user).get("/me/"))
    assert session.title in page and english.title not in page
    for practice, original in zip(session.practices, english.practices, strict=True):
        assert practice.title in page and original.title not in page
    retreat = get_catalogue(locale).program("msc").extra_events[0]
    assert f"{retreat.title}: 2026年11月" in page  # the retreat, on a date written the local way
    assert "Half-day retreat" not in page


@pytest.mark.parametrize("locale", ["ja", "zh"])
def test_session_page_is_the_translated_material_without_the_facilitator_guide(
        app, clock, as_user, locale):
    course = _course("msc", locale)
    session = get_catalogue(locale).session("msc", 2)
    page = _text(as_user(course.user).get("/me/sessions/2"))
    assert session.title in page
    for section in session.sections[:-1]:
        assert f"<h2>{section.heading}</h2>" in page
    assert session.facilitator_guide.heading not in page
    assert session.timings[0] not in page
    practice = session.practices[0]
    assert practice.summary in page and f"<h4>{practice.if_difficult.heading}</h4>" in page
    for english in ("Aims", "This week's ideas", "In the session", "Facilitator guide", "Steps"):
        assert f">{english}<" not in page


def test_english_users_keep_the_english_material(app, clock, as_user):
    course = _course("msc", "en")
    page = _text(as_user(course.user).get("/me/sessions/2"))
    assert "Practising mindfulness" in page and "<h2>Aims</h2>" in page


def test_switching_language_switches_the_material(app, clock, as_user):
    course = _course("cft", None)
    client = as_user(course.user)
    english_title = get_catalogue().session("cft", 1).title
    assert english_title in _text(client.get("/me/sessions/1"))
    response = post_form(client, "/auth/language", {"locale": "zh", "next": "/me/sessions/1"})
    assert response.status_code == 302
    page = _text(client.get("/me/sessions/1"))
    assert get_catalogue("zh").session("cft", 1).title in page
    assert english_title not in page
    assert db.session.get(User, course.user.id).locale == "zh"


def test_a_session_missing_in_a_language_is_shown_in_english(app, clock, as_user, tmp_path,
                                                             monkeypatch):
    root = tmp_path / "content"
    shutil.copytree(catalogue.CONTENT_ROOT, root)
    (root / "msc/i18n/ja/01-discovering-mindful-self-compassion.md").unlink()
    monkeypatch.setattr(catalogue, "CONTENT_ROOT", root)
    get_catalogue.cache_clear()
    try:
        course = _course("msc", "ja")
        client = as_user(course.user)
        first = _text(client.get("/me/sessions/1"))
        assert get_catalogue().session("msc", 1).title in first
        assert "<h2>Aims</h2>" in first
        assert '<section class="card" lang="en">' in first  # screen readers switch voice
        assert 'lang="en"' not in first.split("practice-")[1]  # the practices are Japanese
        # its practices are still in Japanese, and the next session is in Japanese
        assert get_catalogue("ja").practice("soothing-touch").title in first
        second = _text(client.get("/me/sessions/2"))
        assert get_catalogue("ja").session("msc", 2).title in second
        # the only English left: a practice's published source, as cited (marked as English)
        assert 'lang="en"' not in re.sub(r'<p lang="en"><cite>[^<]*</cite></p>', "", second)
    finally:
        get_catalogue.cache_clear()


@pytest.mark.parametrize(("locale", "when"), [
    ("ja", "2026年10月29日木曜日 18:00"),
    ("zh", "2026年10月29日星期四 18:00"),
    ("en", "Thursday 29 October 2026, 18:00"),
])
def test_release_dates_are_written_the_local_way(app, clock, as_user, locale, when):
    course = _course("msc", locale)
    page = _text(as_user(course.user).get("/me/sessions"))
    assert when in page  # session 3 opens then (London time; the user's zone is London)


@pytest.mark.parametrize(("locale", "planned"), [
    ("ja", "2026年10月22日(木) 18:00"), ("zh", "2026年10月22日周四 18:00"),
    ("en", "Thu 22 Oct 2026 18:00"),
])
def test_facilitator_calendar_is_in_the_viewers_language(app, clock, as_user, locale, planned):
    course = _course("cft", locale)
    page = _text(as_user(course.facilitator).get(f"/facilitate/cohorts/{course.cohort.id}"))
    assert planned in page
    assert get_catalogue(locale).session("cft", 2).title in page


def test_checklist_is_shown_translated_and_stored_in_english(app, clock, as_user):
    course = _course("cft", "ja")
    client = as_user(course.facilitator)
    path = f"/facilitate/cohorts/{course.cohort.id}/meetings/1"
    page = _text(client.get(path))
    japanese = get_catalogue("ja").session("cft", 1).checklist
    english = get_catalogue().session("cft", 1).checklist
    for label in japanese:
        assert label in page
    guide = get_catalogue("ja").session("cft", 1).facilitator_guide
    assert guide.html.split("</p>")[0] in page  # the guide, in Japanese too
    values = re.findall(r'name="checklist" type="checkbox" value="([^"]+)"', page)
    assert values == list(english)
    response = post_form(client, path, {
        "outcome": "held", "postponed_to": "", "actual_start": "2026-10-15T18:00",
        "actual_minutes": "90", "notes": "", "checklist": values[:2]})
    assert response.status_code == 302
    meeting = db.session.scalar(select(Meeting).where(Meeting.cohort_id == course.cohort.id))
    assert meeting.checklist_done == list(english[:2])


def test_practice_chart_labels_follow_the_language(app, clock, as_user):
    course = _course("msc", "ja")
    page = _text(as_user(course.user).get("/me/practice"))
    monday = (NOW - timedelta(days=NOW.weekday())).date()
    assert f">{monday.month}/{monday.day}<" in page
    assert f"{monday.month}月{monday.day}日" in page


@pytest.mark.parametrize(("locale", "required", "invalid_email"), [
    ("ja", "このフィールドは必須です。", "無効なメールアドレスです。"),
    ("zh", "该字段是必填字段。", "无效的 Email 地址。"),
])
def test_form_library_messages_follow_the_page_language(app, client, locale, required,
                                                        invalid_email):
    """WTForms' own messages come in the page's language, request after request (they are
    loaded once per language and shared)."""
    from tests.conftest import csrf_token

    headers = {"Accept-Language": locale}
    for _ in range(2):
        token = csrf_token(client, "/auth/sign-in")
        page = _text(client.post("/auth/sign-in", headers=headers, data={
            "email": "", "password": "", "csrf_token": token}))
        assert required in page and "This field is required." not in page
    token = csrf_token(client, "/auth/sign-in")
    page = _text(client.post("/auth/sign-in", headers=headers, data={
        "email": "not-an-address", "password": "x", "csrf_token": token}))
    assert invalid_email in page
    english = _text(client.post("/auth/sign-in", data={
        "email": "", "password": "", "csrf_token": csrf_token(client, "/auth/sign-in")}))
    assert "This field is required." in english
