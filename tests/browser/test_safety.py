"""A participant writes that they may be at risk: they see where to get help at once, the post
is held for review (another member does not see it), the group's leader and the study's
clinician have the alert within a second, and with nobody acknowledging it the alert escalates
(the scheduler's job called with a later clock)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from models import AuditEntry, OutboxMessage, Post, SafetyAlert, Study, StudyStaff, User, db
from program.safety.escalation import escalate_alerts
from tests.browser.conftest import sign_in

RISK = "Honestly, some nights I want to end my life. I have not told anyone."


def _user(email: str) -> User:
    return db.session.scalar(select(User).where(User.email == email))


def _open_peer_group(page) -> None:
    page.goto("/groups/")
    page.get_by_role("link", name="Small group 1").click()
    page.wait_for_load_state()


def _sent_to(alert: SafetyAlert, key: str) -> dict[int, OutboxMessage]:
    db.session.expire_all()
    rows = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.dedup_key.like(f"safety-alert:{alert.id}:{key}"),
        OutboxMessage.status == "sent")).all()
    return {row.recipient_id: row for row in rows}


def test_a_risk_post_is_held_helps_its_author_alerts_at_once_and_escalates(phone):
    page = phone
    teacher, therapist = _user("msc.teacher@hearth.example"), _user("therapist@hearth.example")
    study = db.session.scalar(select(Study).join(StudyStaff).where(
        StudyStaff.user_id == teacher.id, StudyStaff.is_clinician.is_(True)))
    db.session.add(StudyStaff(study_id=study.id, user_id=therapist.id, is_clinician=True))
    db.session.commit()

    sign_in(page, "msc.participant@hearth.example")
    _open_peer_group(page)
    page.get_by_text("Start a new thread").click()
    page.get_by_label("Your post").fill(RISK)
    page.get_by_role("button", name="Post", exact=True).click()
    page.wait_for_load_state()
    main = page.locator("main").inner_text()
    assert "If you need help now:" in main and "12356" in main  # the cohort is in China
    assert "held for review" in main and RISK in main

    post = db.session.scalar(select(Post).where(Post.body == RISK))
    alert = db.session.scalar(select(SafetyAlert).where(SafetyAlert.source_kind == "post",
                                                        SafetyAlert.source_id == post.id))
    assert post.held_at is not None and alert.status == "open"
    first = _sent_to(alert, "%")
    assert teacher.id in first  # the group's leader and the study's first clinician
    assert first[teacher.id].sent_at - alert.created_at < timedelta(seconds=1)
    assert therapist.id not in first

    page.context.clear_cookies()
    sign_in(page, "msc.p04@hearth.example")
    _open_peer_group(page)
    assert "end my life" not in page.locator("main").inner_text()
    assert page.goto(f"/groups/{post.group_id}/posts/{post.id}").status == 404

    page.context.clear_cookies()
    sign_in(page, "msc.teacher@hearth.example")
    badge = page.locator("nav .alert-count")
    assert int(badge.locator("[aria-hidden=true]").inner_text()) >= 1
    page.goto(f"/alerts/{alert.id}")
    shown = page.locator("main").inner_text()
    assert "end my life" in shown and "Small group 1" in shown and "held for review" in shown

    assert escalate_alerts(alert.created_at + timedelta(minutes=29)) == 0
    assert escalate_alerts(alert.created_at + timedelta(minutes=30)) == 1
    assert set(_sent_to(alert, "step1:%")) == {therapist.id}
    assert escalate_alerts(alert.created_at + timedelta(minutes=60)) == 1
    assert set(_sent_to(alert, "step2:%")) == {teacher.id, therapist.id}
    steps = db.session.scalars(select(AuditEntry.details).where(
        AuditEntry.action == "alert.escalate", AuditEntry.object_id == alert.id)).all()
    assert [s["step"] for s in steps] == [1, 2]

    page.reload()
    assert "to every clinician of the study" in page.locator("main").inner_text()
    page.get_by_role("button", name="Release to the group").click()
    page.wait_for_load_state()
    assert "visible to the group again" in page.locator(".flashes").inner_text()

    page.context.clear_cookies()
    sign_in(page, "msc.p04@hearth.example")
    _open_peer_group(page)
    assert "end my life" in page.locator("main").inner_text()
