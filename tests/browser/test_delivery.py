"""In Chromium: a participant's week with the course, and a facilitator's register on a phone."""

from __future__ import annotations

from sqlalchemy import select

from models import Attendance, Cohort, Meeting, db
from tests.browser.conftest import sign_in


def test_msc_participant_opens_this_weeks_session_logs_a_practice_and_sees_it(page):
    sign_in(page, "msc.participant@hearth.example")
    page.get_by_role("link", name="Session 3: Practising loving-kindness").click()
    assert page.locator("h1").inner_text() == "Session 3: Practising loving-kindness"
    page.get_by_role("link", name="Log this practice").first.click()
    page.get_by_label("Minutes").fill("17")
    page.get_by_label("How helpful was it?").fill("8")
    page.get_by_label("Note (optional)").fill("Quiet morning, felt warmer afterwards.")
    page.get_by_role("button", name="Save").click()
    assert page.url.endswith("/me/practice")
    row = page.locator("table.practice-history tbody tr").filter(
        has_text="Quiet morning, felt warmer afterwards.")
    assert row.count() == 1
    assert "17" in row.inner_text()
    assert page.locator("svg rect").count() == 8  # the weekly chart, drawn on the server


def test_therapist_fills_the_attendance_register_on_a_phone(phone, app):
    sign_in(phone, "therapist@hearth.example")
    phone.get_by_role("link", name="CFT cohort A").click()
    phone.get_by_role("link", name="register").nth(5).click()  # session 6
    assert "Register, session 6" in phone.locator("h1").inner_text()
    rows = phone.locator("form.register tbody tr")
    assert rows.count() == 10
    for i in range(rows.count()):
        status = "late" if i == 1 else ("absent" if i == 2 else "present")
        rows.nth(i).get_by_label(status, exact=True).check()
    phone.get_by_role("button", name="Save register").click()
    assert "Attendance saved for 10 participants." in phone.locator(".flashes").inner_text()
    with app.app_context():
        cohort = db.session.scalar(select(Cohort).where(Cohort.program == "cft"))
        meeting = db.session.scalar(select(Meeting).where(Meeting.cohort_id == cohort.id,
                                                          Meeting.session_number == 6))
        statuses = sorted(a.status for a in db.session.scalars(
            select(Attendance).where(Attendance.meeting_id == meeting.id)))
    assert statuses == ["absent"] + ["late"] + ["present"] * 8


def test_the_session_page_records_its_opening_with_a_post_once_shown(page, app):
    from sqlalchemy import delete

    from models import Participant, SessionProgress, User

    with app.app_context():
        user = db.session.scalar(select(User).where(
            User.email == "msc.participant@hearth.example"))
        participant = db.session.scalar(select(Participant).where(
            Participant.user_id == user.id))
        db.session.execute(delete(SessionProgress).where(
            SessionProgress.participant_id == participant.id,
            SessionProgress.session_number == 3))
        db.session.commit()
        participant_id = participant.id
    sign_in(page, "msc.participant@hearth.example")
    with page.expect_response(lambda r: r.url.endswith("/me/sessions/3/opened")) as beacon:
        page.get_by_role("link", name="Session 3: Practising loving-kindness").click()
    assert beacon.value.status == 204
    with app.app_context():
        progress = db.session.scalar(select(SessionProgress).where(
            SessionProgress.participant_id == participant_id,
            SessionProgress.session_number == 3))
        assert progress is not None and progress.opened_at is not None
