"""Data removal: the person's data leave every table; the flow diagram still adds up."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import ForeignKey, func, select, text

from models import (
    AuditEntry,
    GroupMembership,
    OutboxMessage,
    Participant,
    Post,
    PracticeLog,
    Response,
    Score,
    SignInSession,
    User,
    db,
)
from program.groups.posting import REMOVED_TEXT
from program.messaging.outbox import enqueue
from program.reports import study_flow
from program.trial import allocation, enrolment, withdrawal
from program.trial.removal import HANDLERS, KEPT, remove_participant_data
from tests.conftest import post_form, sign_in
from tests.factories import gen_cohort, gen_group, gen_timepoint, gen_user
from tests.factories_trial import ELIGIBLE, gen_applicant, gen_trial
from tests.factories_world import gen_side

TODAY = date(2026, 3, 2)


def _refers_to_people(table) -> bool:
    return any(isinstance(fk, ForeignKey) and fk.column.table.name in ("participants", "users")
               for column in table.columns for fk in column.foreign_keys)


def test_every_table_referring_to_a_person_declares_how_it_is_erased(app):
    tables = {t.name: t for t in db.metadata.sorted_tables}
    undeclared = sorted(name for name, table in tables.items()
                        if (_refers_to_people(table) or name == "users")
                        and name not in HANDLERS and name not in KEPT)
    assert undeclared == [], f"add an erase handler or a KEPT reason for {undeclared}"
    assert set(HANDLERS) | set(KEPT) <= set(tables)


def _person_with_history(study, cohort, group, timepoint):
    person = gen_applicant(study, gender="female", birth_year=1980,
                           baseline={"gender": "female"})
    enrolment.screen(person.id, ELIGIBLE, on=TODAY)
    enrolment.record_consent(person.id, "v1.0", on=TODAY)
    allocation.randomise(person.id)
    enrolment.assign_cohort(person.id, cohort.id)
    db.session.add(GroupMembership(group_id=group.id, user_id=person.user_id))
    response = Response(participant_id=person.id, timepoint_id=timepoint.id,
                        instrument_key="BDI-II", answers={"1": 2}, status="submitted",
                        scores={"BDI-II": 30.0})
    db.session.add(response)
    db.session.flush()
    db.session.add(Score(response_id=response.id, participant_id=person.id,
                         timepoint_id=timepoint.id, measure="BDI-II", value=30.0))
    db.session.add(PracticeLog(participant_id=person.id, practice_key="soothing-rhythm-breathing",
                               practised_on=TODAY, minutes=10, note="felt calmer at work",
                               submission_token=f"t{person.id}"))
    db.session.add(Post(group_id=group.id, author_id=person.user_id, body="my week at work",
                        body_html="<p>my week at work</p>"))
    enqueue(f"hello:{person.id}", person.user_id, "test", "Hello Pat", "Dear Pat Example")
    db.session.commit()
    return person


def test_removal_erases_answers_and_identity_and_keeps_the_flow(app):
    study = gen_trial("blocks", block_sizes=[2])
    allocation.generate_allocation_list(study.id)
    cohort = gen_cohort(study)
    group = gen_group(cohort)
    timepoint = gen_timepoint(study)
    leaving = _person_with_history(study, cohort, group, timepoint)
    staying = _person_with_history(study, cohort, group, timepoint)
    email = db.session.get(User, leaving.user_id).email
    user_id = leaving.user_id
    before = study_flow(study.id)
    admin = gen_user("admin")

    withdrawal.request_data_removal(leaving.id, on=TODAY)
    assert remove_participant_data(leaving.id, actor=admin) is True
    assert remove_participant_data(leaving.id, actor=admin) is False
    db.session.expire_all()

    for model in (Response, Score, PracticeLog):
        assert db.session.scalar(select(func.count()).select_from(model)
                                 .where(model.participant_id == leaving.id)) == 0
        assert db.session.scalar(select(func.count()).select_from(model)
                                 .where(model.participant_id == staying.id)) == 1
    # No table holds the address, the answers' scores or the practice note any more.
    dump = " ".join(str(tuple(row)) for table in db.metadata.sorted_tables
                    for row in db.session.execute(table.select()).all())
    assert email not in dump
    assert dump.count("felt calmer at work") == 1  # only the note of the person who stayed
    assert dump.count("Dear Pat Example") == 1  # only the message to the person who stayed

    record = db.session.get(Participant, leaving.id)
    assert record.user_id is None and record.gender is None and record.birth_year is None
    assert record.arm_id is not None and record.data_removed_at is not None
    account = db.session.get(User, user_id)
    assert account.active is False and account.email != email
    assert db.session.scalar(select(func.count()).select_from(GroupMembership)
                             .where(GroupMembership.user_id == user_id)) == 0
    assert dump.count("my week at work") == 2  # the text and HTML of the stayer's post only
    post = db.session.scalar(select(Post).where(Post.author_removed.is_(True)))
    assert post is not None and post.author_id is None and post.body == REMOVED_TEXT
    assert db.session.scalar(select(OutboxMessage.status)
                             .where(OutboxMessage.recipient_id == user_id)) == "cancelled"
    entry = db.session.scalar(select(AuditEntry)
                              .where(AuditEntry.action == "participant.data_removed"))
    assert entry.actor_id == admin.id and entry.object_id == leaving.id and entry.at is not None

    # ... and from every export table, while the flow record keeps them.
    from analysis import data as exports
    for table in ("scores", "participants", "practice_logs", "attendance", "satisfaction"):
        frame = getattr(exports, table)(db.session, study.id)
        assert leaving.code not in frame.astype(str).to_numpy().ravel(), table
    assert staying.code in exports.scores(db.session, study.id)["participant_id"].tolist()
    assert leaving.code in exports.flow(db.session, study.id).astype(str).to_numpy().ravel()

    after = study_flow(study.id)
    assert after["randomised"] == before["randomised"] == 2
    arm = next(k for k, v in after["arms"].items() if v["data_removed"])
    assert after["arms"][arm]["withdrawn"]["reasons"] == [
        {"reason": "asked for data removal", "n": 1}]
    assert after["analysed"] == before["analysed"] - 1 == 1
    assert after["applied"] == before["applied"] and after["assessed"] == before["assessed"]


def test_after_removal_no_post_points_at_the_removed_user(app):
    study = gen_trial()
    cohort = gen_cohort(study)
    group = gen_group(cohort)
    person = gen_applicant(study)
    other = gen_applicant(study)
    db.session.add(GroupMembership(group_id=group.id, user_id=person.user_id))
    thread = Post(group_id=group.id, author_id=person.user_id, body="a thread",
                  body_html="<p>a thread</p>")
    db.session.add(thread)
    db.session.flush()
    db.session.add_all([
        Post(group_id=group.id, author_id=person.user_id, parent_id=thread.id, body="a reply",
             body_html="<p>a reply</p>"),
        # Marked earlier without clearing the author (how it used to be done).
        Post(group_id=group.id, author_id=person.user_id, author_removed=True, body="marked",
             body_html="<p>marked</p>"),
        Post(group_id=group.id, author_id=other.user_id, body="someone else",
             body_html="<p>someone else</p>"),
    ])
    db.session.commit()
    user_id = person.user_id
    withdrawal.request_data_removal(person.id, on=TODAY)
    assert remove_participant_data(person.id) is True
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Post)
                             .where(Post.author_id == user_id)) == 0
    assert db.session.scalar(select(func.count()).select_from(Post)
                             .where(Post.author_removed.is_(True),
                                    Post.author_id.is_(None))) == 3
    kept = db.session.scalar(select(Post).where(Post.body == "someone else"))
    assert kept.author_id == other.user_id and kept.author_removed is False
    texts = db.session.scalars(select(Post.body).where(Post.author_removed.is_(True))).all()
    assert texts == [REMOVED_TEXT] * 3


def test_removal_removes_the_text_of_posts_and_replies_and_the_thread_still_reads(client):
    side = gen_side()
    thread = Post(group_id=side.group.id, author_id=side.member.id, title="Panic at Dr Sato's",
                  body="I told Dr Sato about my panic attacks",
                  body_html="<p>I told Dr Sato about my panic attacks</p>")
    db.session.add(thread)
    db.session.flush()
    db.session.add_all([
        Post(group_id=side.group.id, author_id=side.facilitator.id, parent_id=thread.id,
             body="Thank you for telling us", body_html="<p>Thank you for telling us</p>"),
        Post(group_id=side.group.id, author_id=side.member.id, parent_id=thread.id,
             body="My sister Ann helped", body_html="<p>My sister Ann helped</p>"),
    ])
    db.session.commit()
    withdrawal.request_data_removal(side.participant.id, on=TODAY)
    assert remove_participant_data(side.participant.id) is True
    dump = " ".join(str(tuple(row)) for table in db.metadata.sorted_tables
                    for row in db.session.execute(table.select()).all())
    assert "Sato" not in dump and "Ann helped" not in dump
    sign_in(client, side.facilitator)
    page = client.get(f"/groups/{side.group.id}/posts/{thread.id}").get_data(as_text=True)
    assert "Thank you for telling us" in page  # others' replies still read
    assert page.count("Removed at the participant") >= 3  # title, post, reply
    assert "Sato" not in page and "Ann helped" not in page


def test_removal_deletes_the_persons_sign_in_sessions_and_signs_them_out(app, client):
    study = gen_trial()
    person = gen_applicant(study)
    other = gen_applicant(study)
    sign_in(client, db.session.get(User, person.user_id))
    sign_in(app.test_client(), db.session.get(User, other.user_id))
    assert client.get("/me/").status_code == 200
    withdrawal.request_data_removal(person.id, on=TODAY)
    assert remove_participant_data(person.id) is True
    assert db.session.scalars(select(SignInSession.user_id)).all() == [other.user_id]
    assert client.get("/me/").status_code == 302


def test_an_admin_processes_a_removal_request_from_the_admin_page(app, as_user):
    study = gen_trial()
    person = gen_applicant(study)
    withdrawal.request_data_removal(person.id, on=TODAY)
    user_id, code = person.user_id, person.code
    client = as_user(gen_user("admin"))
    assert code in client.get("/admin/").get_data(as_text=True)
    unconfirmed = post_form(client, f"/admin/removals/{person.id}", {"confirm": ""},
                            token_from="/admin/")
    assert unconfirmed.status_code == 302
    db.session.expire_all()
    assert db.session.get(Participant, person.id).data_removed_at is None
    post_form(client, f"/admin/removals/{person.id}", {"confirm": code}, token_from="/admin/")
    db.session.expire_all()
    assert db.session.get(Participant, person.id).data_removed_at is not None
    assert db.session.get(User, user_id).email.endswith("@removed.invalid")
    page = client.get("/admin/").get_data(as_text=True)
    assert code not in page.split("Data removal requests")[1].split("Accounts")[0]


def test_only_admins_may_remove_data_and_only_requested_removals(app, as_user):
    study = gen_trial()
    person = gen_applicant(study)
    client = as_user(gen_user("admin"))
    assert post_form(client, f"/admin/removals/{person.id}", {"confirm": person.code},
                     token_from="/admin/").status_code == 404


def test_on_sqlite_erased_text_survives_in_neither_the_database_nor_its_log(app):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite files; PostgreSQL is vacuumed (README)")
    from pathlib import Path

    assert db.session.execute(text("PRAGMA secure_delete")).scalar() == 1
    side = gen_side()
    secret = "Kumiko-told-me-about-the-overdose"
    db.session.add(Post(group_id=side.group.id, author_id=side.member.id, body=secret,
                        body_html=f"<p>{secret}</p>"))
    db.session.add(PracticeLog(participant_id=side.participant.id, practice_key="x",
                               practised_on=TODAY, minutes=5, note=secret + "-note",
                               submission_token="secure-delete-test"))
    db.session.commit()
    database = Path(db.engine.url.database)
    withdrawal.request_data_removal(side.participant.id, on=TODAY)
    db.session.commit()
    assert remove_participant_data(side.participant.id) is True
    db.session.close()
    wal = database.with_name(database.name + "-wal")
    on_disk = database.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    assert secret.encode() not in on_disk
