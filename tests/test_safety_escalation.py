"""A safety alert's emails leave right after the commit that raised it (never twice, whoever
claims them first), and an alert nobody acknowledges escalates: to the next clinician after the
study's time, then to every clinician; each step audited."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from models import AuditEntry, OutboxMessage, SafetyAlert, db, write_transaction
from program.core.mail import sent_mail
from program.groups import posting
from program.messaging import immediate, jobs, sending
from program.safety import escalation
from program.safety.alerts import raise_alert
from tests.conftest import csrf_token, post_form
from tests.factories import gen_staff, gen_user
from tests.factories_groups import gen_world
from tests.test_groups import client_for

RISKY = "Honestly I want to end my life some days."


def _alert_mail(status: str | None = None) -> list[OutboxMessage]:
    query = select(OutboxMessage).where(OutboxMessage.kind == "safety_alert")
    if status:
        query = query.where(OutboxMessage.status == status)
    return db.session.scalars(query.order_by(OutboxMessage.id)).all()


def test_the_alert_is_sent_before_the_posting_request_returns(app):
    world = gen_world()
    author = client_for(app, world.member)
    path = f"/groups/{world.group.id}/posts"
    token = csrf_token(author, f"/groups/{world.group.id}")
    author.post(path, data={"csrf_token": token, "body": "A calm week."})  # warm the caches
    started = time.monotonic()
    response = author.post(path, data={"csrf_token": token, "body": RISKY})
    elapsed = time.monotonic() - started
    assert response.status_code == 302 and elapsed < 1.0
    db.session.expire_all()
    messages = _alert_mail()
    assert {m.recipient_id for m in messages} == {world.leader.id, world.assistant.id,
                                                  world.clinician.id}
    assert {m.status for m in messages} == {"sent"}
    assert {m["to"] for m in sent_mail()} >= {world.clinician.email, world.leader.email}
    # the scheduler's dispatcher, coming next, finds nothing left to send
    assert jobs.dispatch(messages[0].created_at + timedelta(seconds=5)).sent == 0


def test_a_message_the_dispatcher_claimed_first_is_not_sent_again(app):
    world = gen_world()
    post = posting.create_post(world.member, world.group.id, RISKY)
    keys = [m.dedup_key for m in _alert_mail()]
    now = _alert_mail()[0].created_at + timedelta(seconds=1)
    claimed = sending.claim(now, 100)  # the dispatcher got there first (and is sending)
    assert len(claimed) == len(keys)
    assert immediate.send_now(keys, now) == 0
    assert sent_mail() == []
    assert post.id


def test_messages_of_a_rolled_back_transaction_are_never_sent(app):
    world = gen_world()
    with pytest.raises(RuntimeError):
        with write_transaction():
            post = posting.Post(group_id=world.group.id, author_id=world.member.id,
                                body="x", body_html="<p>x</p>")
            db.session.add(post)
            db.session.flush()
            raise_alert("post", post.id, "risk:concern:wish_to_be_dead",
                        study_id=world.study.id, group_id=world.group.id)
            raise RuntimeError("the request failed after raising the alert")
    assert immediate.send_committed() == 0
    assert _alert_mail() == [] and sent_mail() == []


@pytest.fixture
def three_clinicians(app):
    world = gen_world()
    second, third = gen_user("facilitator"), gen_user("researcher")
    gen_staff(world.study, second, clinician=True)
    gen_staff(world.study, third, clinician=True)
    posting.create_post(world.member, world.group.id, RISKY)
    immediate.send_committed()
    alert = db.session.scalar(select(SafetyAlert))
    return world, alert, second, third


def _recipients(alert: SafetyAlert, step: int) -> set[int]:
    return set(db.session.scalars(select(OutboxMessage.recipient_id).where(
        OutboxMessage.dedup_key.like(f"safety-alert:{alert.id}:step{step}:%"),
        OutboxMessage.status == "sent")))


def _steps() -> list[AuditEntry]:
    return db.session.scalars(select(AuditEntry).where(AuditEntry.action == "alert.escalate")
                              .order_by(AuditEntry.id)).all()


def test_an_unacknowledged_alert_escalates_to_the_next_then_every_clinician(three_clinicians,
                                                                           app):
    world, alert, second, third = three_clinicians
    first = {m.recipient_id for m in _alert_mail()}
    assert first == {world.leader.id, world.assistant.id, world.clinician.id}  # first on call
    created = alert.created_at
    assert escalation.escalate_alerts(created + timedelta(minutes=29, seconds=59)) == 0
    assert escalation.escalate_alerts(created + timedelta(minutes=30)) == 1
    assert _recipients(alert, 1) == {second.id}
    assert escalation.escalate_alerts(created + timedelta(minutes=45)) == 0
    assert escalation.escalate_alerts(created + timedelta(minutes=60)) == 1
    assert _recipients(alert, 2) == {world.clinician.id, second.id, third.id}
    assert escalation.escalate_alerts(created + timedelta(hours=5)) == 0
    steps = _steps()
    assert [(s.details["step"], s.object_id) for s in steps] == [(1, alert.id), (2, alert.id)]
    assert steps[0].details["recipients"] == [second.id]
    db.session.expire_all()
    alert = db.session.get(SafetyAlert, alert.id)
    assert (alert.escalation_step, alert.status) == (2, "open")
    page = client_for(app, third).get(f"/alerts/{alert.id}").get_data(as_text=True)
    assert "to every clinician of the study" in page


def test_an_acknowledged_alert_does_not_escalate(three_clinicians, app):
    world, alert, _second, _third = three_clinicians
    client = client_for(app, world.leader)
    assert post_form(client, f"/alerts/{alert.id}/acknowledge").status_code == 302
    assert escalation.escalate_alerts(alert.created_at + timedelta(hours=3)) == 0
    assert _steps() == []


def test_the_study_sets_the_time_and_the_scheduler_tick_escalates(three_clinicians):
    world, alert, second, third = three_clinicians
    world.study.alert_escalation_minutes = 10
    db.session.commit()
    jobs.tick(alert.created_at + timedelta(minutes=25))  # the scheduler's job, after downtime
    assert [s.details["step"] for s in _steps()] == [1, 2]
    assert _recipients(alert, 1) == {second.id}
    assert _recipients(alert, 2) == {world.clinician.id, second.id, third.id}


def test_with_one_clinician_the_first_step_tells_every_clinician(app):
    world = gen_world()
    posting.create_post(world.member, world.group.id, RISKY)
    alert = db.session.scalar(select(SafetyAlert))
    escalation.escalate_alerts(alert.created_at + timedelta(minutes=30))
    assert _recipients(alert, 1) == {world.clinician.id}
