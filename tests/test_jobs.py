"""The scheduler's jobs: each notice queued and sent exactly once, restarts and catch-up."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import date, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from models import OutboxMessage, Participant, PracticeLog, User, db
from program.messaging import jobs
from program.messaging.jobs import LEASE, dispatch, tick
from program.messaging.outbox import enqueue
from program.messaging.sending import claim as _claim
from tests.conftest import make_app
from tests.factories import gen_participant, gen_user
from tests.factories_delivery import VIDEO, gen_course, utc


@pytest.fixture
def app_config(database_url, tmp_path):
    """A database file, so a second app (a restarted process) and threads can share it."""
    if database_url.startswith("sqlite"):
        return {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'jobs.db'}"}
    return {}


@pytest.fixture
def course(app):
    return gen_course("msc")


def sent(app) -> list[dict]:
    return app.extensions.setdefault("sent_mail", [])


def subjects_to(app, email: str) -> list[str]:
    return [m["subject"] for m in sent(app) if m["to"] == email]


def run(app, now):
    with time_machine.travel(now, tick=False):
        queued = tick(now)
        dispatched = dispatch(now, 1000)
    return queued, dispatched


def test_two_ticks_send_each_notice_exactly_once(app, course):
    now = utc(2026, 10, 21, 17, 30)  # the day before session 2's meeting
    first, sent_first = run(app, now)
    second, sent_second = run(app, now)
    assert (first.queued, second.queued, sent_second.sent) == (4, 0, 0)
    assert sorted(subjects_to(app, course.user.email)) == [
        "Hearth: a few minutes of practice this week?",
        "Hearth: live meeting for session 2 on Thursday 22 October 2026, 17:00 "
        "Coordinated Universal Time",
        "Hearth: session 1 is ready for you",
    ]
    reminder = next(m for m in sent(app) if m["to"] == course.facilitator.email)
    assert VIDEO in reminder["body"]
    assert sent_first.sent == 4
    statuses = Counter(db.session.scalars(select(OutboxMessage.status)))
    assert statuses == {"sent": 4}


def test_a_restarted_process_does_not_send_again(app, course):
    run(app, utc(2026, 10, 21, 17, 30))
    before = len(sent(app))
    restarted = make_app(app.config["SQLALCHEMY_DATABASE_URI"])
    with restarted.app_context():
        queued, dispatched = run(restarted, utc(2026, 10, 21, 17, 31))
        assert (queued.queued, dispatched.sent) == (0, 0)
        queued, dispatched = run(restarted, utc(2026, 10, 22, 16, 5))  # 1 h reminder due
        assert dispatched.sent == 2  # participant and facilitator
        db.session.remove()
        db.engine.dispose()
    assert len(sent(app)) == before
    assert [m["subject"][:37] for m in sent(restarted)] == [
        "Hearth: live meeting for session 2 on"] * 2


def test_catch_up_after_downtime_sends_what_is_still_useful_once(app, course):
    # Down from before the course until 5 Nov 12:00 UTC: sessions 1-3 released, session 4
    # meets at 18:00 UTC today.
    run(app, utc(2026, 11, 5, 12))
    got = subjects_to(app, course.user.email)
    assert "Hearth: session 3 is ready for you" in got
    assert not any("session 1 is" in s or "session 2 is" in s for s in got)  # stale
    assert sum("live meeting for session 4" in s for s in got) == 1  # the 24 h one
    assert "Hearth: a few minutes of practice this week?" in got
    assert len(got) == 3
    # Down again until 15 minutes before the meeting: the 1 h reminder, not a repeat of all.
    run(app, utc(2026, 11, 5, 17, 45))
    assert len(subjects_to(app, course.user.email)) == 4
    run(app, utc(2026, 11, 5, 18, 30))  # meeting started: its release notice, no reminder
    assert subjects_to(app, course.user.email)[4:] == ["Hearth: session 4 is ready for you"]


def test_only_the_latest_due_meeting_reminder_is_sent_after_an_outage(app, course):
    run(app, utc(2026, 10, 22, 16, 30))  # both the 24 h and the 1 h reminder are due
    reminders = [k for k in db.session.scalars(select(OutboxMessage.dedup_key))
                 if k.startswith(f"meeting:{course.user.id}:")]
    assert len(reminders) == 1 and reminders[0].endswith(":1h")


def test_postponed_meetings_are_reminded_at_their_new_time_and_cancelled_ones_never(
        app, course):
    from models import Meeting

    db.session.add_all([
        Meeting(cohort_id=course.cohort.id, session_number=2, outcome="postponed",
                postponed_to=utc(2026, 10, 24, 9), checklist_done=[]),
        Meeting(cohort_id=course.cohort.id, session_number=3, outcome="cancelled",
                checklist_done=[]),
    ])
    db.session.commit()
    run(app, utc(2026, 10, 22, 16, 30))  # the planned slot: nothing about session 2
    assert not any("live meeting" in s for s in subjects_to(app, course.user.email))
    run(app, utc(2026, 10, 24, 8, 30))
    assert any("Saturday 24 October 2026, 09:00" in s
               for s in subjects_to(app, course.user.email))
    run(app, utc(2026, 10, 29, 17, 30))  # session 3's cancelled slot
    assert sum("live meeting" in s for s in subjects_to(app, course.user.email)) == 1


def test_practice_reminder_only_to_those_who_logged_nothing(app, course):
    busy = gen_participant(course.study, cohort=course.cohort)
    db.session.add(PracticeLog(participant_id=busy.id, practice_key="soothing-touch",
                               practised_on=date(2026, 10, 16), minutes=5,
                               submission_token="busy-token-00001"))
    db.session.commit()
    run(app, utc(2026, 10, 19, 12))
    practice = "Hearth: a few minutes of practice this week?"
    assert practice in subjects_to(app, course.user.email)
    assert practice not in subjects_to(app, busy.user.email)


def test_reminders_respect_settings_withdrawal_and_usual_care(app, course):
    quiet = gen_participant(course.study, cohort=course.cohort,
                            user=gen_user("participant", reminders_enabled=False))
    stopped = gen_participant(course.study, cohort=course.cohort, status="withdrawn",
                              withdrawal_kind="stop_contact")
    control = gen_course("cft", arm="UC")
    run(app, utc(2026, 10, 21, 17, 30))
    for user_id in (quiet.user_id, stopped.user_id, control.user.id):
        email = db.session.get(User, user_id).email
        assert subjects_to(app, email) == []
    assert subjects_to(app, course.user.email)


def test_reminders_switched_off_after_queueing_are_not_sent(app, course):
    with time_machine.travel(utc(2026, 10, 21, 17, 30), tick=False):
        tick(utc(2026, 10, 21, 17, 30))
    db.session.get(User, course.user.id).reminders_enabled = False
    db.session.commit()
    result = dispatch(utc(2026, 10, 21, 17, 31), 100)
    assert subjects_to(app, course.user.email) == []
    assert result.cancelled == 3


def test_a_reminder_not_sent_before_its_meeting_is_dropped(app, course):
    with time_machine.travel(utc(2026, 10, 22, 16, 30), tick=False):
        tick(utc(2026, 10, 22, 16, 30))
    dispatch(utc(2026, 10, 22, 17, 1), 100)  # the dispatcher was down until after the start
    assert not any("live meeting" in s for s in subjects_to(app, course.user.email))


def _queue(app, n: int, now) -> None:
    users = [gen_user("participant") for _ in range(n)]
    from models import write_transaction

    with write_transaction():
        for user in users:
            enqueue(f"test:{user.id}", user.id, "test", "Hello", "Body", due_at=now)


def test_an_expired_lease_returns_the_message_to_pending_and_it_is_sent_once(app):
    now = utc(2026, 10, 21, 12)
    _queue(app, 3, now)
    assert len(_claim(now, 10)) == 3  # a dispatcher claims, then dies before sending
    assert dispatch(now + timedelta(seconds=30), 10).sent == 0  # still leased
    result = dispatch(now + LEASE + timedelta(seconds=1), 10)
    assert (result.released_leases, result.sent) == (3, 3)
    assert dispatch(now + LEASE * 3, 10).sent == 0
    assert len(sent(app)) == 3


def test_two_dispatchers_at_once_send_each_message_once(app):
    now = utc(2026, 10, 21, 12)
    _queue(app, 40, now)
    results, errors = [], []
    barrier = threading.Barrier(2)

    def worker():
        try:
            with app.app_context():
                barrier.wait()
                for _ in range(5):
                    results.append(dispatch(now, 7).sent)
                db.session.remove()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sum(results) == 40
    assert len(sent(app)) == 40 and len({m["to"] for m in sent(app)}) == 40
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.status == "sent")) == 40


def test_flask_scheduler_tick_runs_one_tick_and_dispatch(app, course, runner):
    with time_machine.travel(utc(2026, 10, 21, 17, 30), tick=False):
        first = runner.invoke(args=["scheduler", "tick"])
        second = runner.invoke(args=["scheduler", "tick"])
    assert first.exit_code == 0, first.output
    assert "queued 4" in first.output and "sent 4" in first.output
    assert "queued 0" in second.output and "sent 0" in second.output


def test_scheduler_run_registers_jobs_with_explicit_ids(app, runner, monkeypatch):
    from apscheduler.schedulers.blocking import BlockingScheduler

    seen = {}

    def fake_start(self):
        seen.update({job.id: job for job in self.get_jobs()})

    monkeypatch.setattr(BlockingScheduler, "start", fake_start)
    result = runner.invoke(args=["scheduler", "run"])
    assert result.exit_code == 0, result.output
    assert set(seen) == {"hearth-tick", "hearth-dispatch"}
    for job in seen.values():
        assert job.coalesce and job.misfire_grace_time >= 600
        assert not any(isinstance(arg, Participant) for arg in job.args)


def test_people_who_stopped_contact_get_no_message_of_any_kind(app, course):
    now = utc(2026, 10, 21, 12)
    from models import write_transaction

    with write_transaction():
        enqueue("invitation:test", course.user.id, "assessment_invitation", "Questionnaire",
                "Body", due_at=now)
    participant = db.session.get(Participant, course.participant.id)
    participant.withdrawal_kind, participant.status = "stop_contact", "withdrawn"
    db.session.commit()
    assert dispatch(now, 10).cancelled == 1
    assert sent(app) == []


def test_a_slow_dispatcher_hands_back_what_it_cannot_send_within_its_lease(app, monkeypatch):
    now = utc(2026, 10, 21, 12)
    _queue(app, 4, now)
    import program.messaging.jobs as jobs

    clock = iter([now, now, now + LEASE])  # deadline, first check, then the lease runs out
    monkeypatch.setattr(jobs, "utcnow", lambda: next(clock, now + LEASE))
    result = dispatch(now, 10)
    assert result.sent == 1
    statuses = Counter(db.session.scalars(select(OutboxMessage.status)))
    assert statuses == {"sent": 1, "pending": 3}
    monkeypatch.setattr(jobs, "utcnow", lambda: now)
    assert dispatch(now + timedelta(seconds=1), 10).sent == 3
    assert len(sent(app)) == 4


def test_a_broken_cohort_or_part_does_not_stop_the_other_messages(app, course, monkeypatch):
    broken = gen_course("msc")
    broken.cohort.timezone = "Not/A_Zone"
    db.session.commit()
    def fail(_now):
        raise RuntimeError("digest bug")

    parts = tuple(fail if job.__name__ == "materialise_digests" else job for job in jobs.PART_JOBS)
    assert parts != jobs.PART_JOBS
    monkeypatch.setattr(jobs, "PART_JOBS", parts)
    queued, dispatched = run(app, utc(2026, 10, 21, 17, 30))
    assert queued.failed_cohorts == [broken.cohort.id]
    assert queued.queued == 4 and dispatched.sent == 4
    assert subjects_to(app, course.user.email) and not subjects_to(app, broken.user.email)


def test_safety_alerts_are_claimed_ahead_of_older_notices(app):
    now = utc(2026, 10, 21, 12)
    _queue(app, 30, now - timedelta(minutes=5))
    from models import write_transaction

    alert_user = gen_user("facilitator")
    with write_transaction():
        enqueue(f"alert:{alert_user.id}", alert_user.id, "safety_alert", "Alert", "Body",
                due_at=now)
    claimed = _claim(now, 10)
    first = db.session.get(OutboxMessage, claimed[0])
    assert first.kind == "safety_alert" and len(claimed) == 10


def test_each_batch_is_one_log_line(app, caplog):
    import logging

    now = utc(2026, 10, 21, 12)
    _queue(app, 3, now)
    with caplog.at_level(logging.INFO, logger="hearth.jobs"):
        dispatch(now, 10)
    lines = [r.getMessage() for r in caplog.records if r.name == "hearth.jobs"]
    assert lines == ["dispatch: claimed 3, sent 3, failed 0 (0 to retry), cancelled 0, "
                     "handed back 0, expired claims released 0"]
