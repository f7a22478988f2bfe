"""Safety alerts from group posts, and the pages their recipients work them on."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from models import (
    AuditEntry,
    OutboxMessage,
    Participant,
    Post,
    PracticeLog,
    SafetyAlert,
    db,
    write_transaction,
)
from program.groups import posting
from program.safety.alerts import raise_alert
from tests.conftest import post_form
from tests.factories_groups import gen_world
from tests.test_groups import client_for

RISKY = {
    "en": "Honestly I want to end my life some days.",
    "ja": "正直、死にたいと思う日もあります。",
    "zh": "说实话，有时候我不想活了。",
}
FAMILY = {"en": "suicidal_thoughts", "ja": "wish_to_be_dead", "zh": "wish_to_be_dead"}


def alerts():
    return db.session.scalars(select(SafetyAlert).order_by(SafetyAlert.id)).all()


@pytest.mark.parametrize("language", sorted(RISKY))
def test_a_risky_post_raises_exactly_one_alert_however_often_it_is_edited(app, language):
    world = gen_world()
    post = posting.create_post(world.member, world.group.id, RISKY[language])
    posting.edit_post(world.member, world.group.id, post.id, RISKY[language] + " " + RISKY["en"])
    posting.edit_post(world.member, world.group.id, post.id, "Sorry, I am fine now.")
    posting.edit_post(world.member, world.group.id, post.id, RISKY[language])
    (alert,) = alerts()
    participant = db.session.scalar(select(Participant).where(
        Participant.user_id == world.member.id))
    assert (alert.source_kind, alert.source_id, alert.rule, alert.level, alert.families) == (
        "post", post.id, f"risk:concern:{FAMILY[language]}", "concern", FAMILY[language])
    assert (alert.study_id, alert.group_id, alert.participant_id, alert.status) == (
        world.study.id, world.group.id, participant.id, "open")


def test_several_phrases_and_replies_give_one_alert_per_post(app):
    world = gen_world()
    thread = posting.create_post(world.member, world.group.id,
                               " ".join(RISKY.values()) + " suicide, self harm")
    reply = posting.create_post(world.member2, world.group.id, RISKY["zh"], parent_id=thread.id)
    posting.create_post(world.member2, world.group.id, "A calm reply", parent_id=thread.id)
    assert sorted(a.source_id for a in alerts()) == sorted([thread.id, reply.id])


def test_an_alert_reaches_leaders_and_clinicians_only_and_tells_no_member(app):
    """In a study that leaves risk posts visible while they are reviewed (held is the
    default: tests/test_safety_hold.py)."""
    world = gen_world()
    world.study.risk_posts_visible = True
    db.session.commit()
    post = posting.create_post(world.member, world.group.id, RISKY["en"])
    recipients = set(db.session.scalars(select(OutboxMessage.recipient_id).where(
        OutboxMessage.kind == "safety_alert")))
    assert recipients == {world.leader.id, world.assistant.id, world.clinician.id}
    assert not any(RISKY["en"] in m.body_text for m in db.session.scalars(select(OutboxMessage)))
    db.session.expire_all()
    assert post.hidden_at is None and post.held_at is None
    page = client_for(app, world.member2).get(f"/groups/{world.group.id}").get_data(as_text=True)
    assert "end my life" in page and "alert" not in page.lower().split("<main", 1)[1]


def test_an_ordinary_post_raises_no_alert(app):
    world = gen_world()
    posting.create_post(world.member, world.group.id, "Practised soothing breathing twice.")
    assert alerts() == []


@pytest.mark.parametrize("recipient", ["leader", "assistant", "clinician"])
def test_recipients_see_the_alert_and_the_post_text(app, recipient):
    world = gen_world()
    post = posting.create_post(world.member, world.group.id, RISKY["ja"])
    (alert,) = alerts()
    client = client_for(app, getattr(world, recipient))
    assert f"/alerts/{alert.id}" in client.get("/alerts/").get_data(as_text=True)
    page = client.get(f"/alerts/{alert.id}").get_data(as_text=True)
    assert "死にたい" in page and "wish to be dead" in page and "concern" in page
    assert post.id


@pytest.mark.parametrize("outsider", ["member2", "other_leader", "researcher", "admin", "rater",
                                      "other_member"])
def test_nobody_else_sees_or_touches_an_alert(app, outsider):
    world = gen_world()
    posting.create_post(world.member, world.group.id, RISKY["en"])
    (alert,) = alerts()
    client = client_for(app, getattr(world, outsider))
    listing = client.get("/alerts/")
    assert listing.status_code in (200, 403)
    assert f"/alerts/{alert.id}" not in listing.get_data(as_text=True)
    expected = 403 if getattr(world, outsider).role in ("participant", "rater") else 404
    assert client.get(f"/alerts/{alert.id}").status_code == expected
    for action in ("own", "acknowledge", "close", "note"):
        response = post_form(client, f"/alerts/{alert.id}/{action}", {"note": "x"},
                             token_from="/groups/")
        assert response.status_code == expected
    db.session.expire_all()
    assert (alert.status, alert.owner_id, alert.note) == ("open", None, None)


def test_working_an_alert_owner_acknowledgement_note_and_closing(app):
    world = gen_world()
    posting.create_post(world.member, world.group.id, RISKY["en"])
    (alert,) = alerts()
    clinician = client_for(app, world.clinician)
    leader = client_for(app, world.leader)
    base = f"/alerts/{alert.id}"
    assert post_form(leader, f"{base}/acknowledge", token_from=base).status_code == 302
    db.session.expire_all()
    assert (alert.status, alert.owner_id, alert.acknowledged_by_id) == (
        "acknowledged", world.leader.id, world.leader.id)
    assert post_form(clinician, f"{base}/own", token_from=base).status_code == 302
    note = "Called the participant; they are safe and will see their GP tomorrow."
    assert post_form(clinician, f"{base}/note", {"note": note}, token_from=base
                     ).status_code == 302
    assert post_form(clinician, f"{base}/close", token_from=base).status_code == 302
    db.session.expire_all()
    assert (alert.status, alert.owner_id, alert.note, alert.closed_by_id) == (
        "closed", world.clinician.id, note, world.clinician.id)
    assert base not in clinician.get("/alerts/").get_data(as_text=True)  # active only
    assert base in clinician.get("/alerts/?status=closed").get_data(as_text=True)
    trail = db.session.execute(select(AuditEntry.action, AuditEntry.actor_id, AuditEntry.details)
                               .where(AuditEntry.action.like("alert.%"))
                               .order_by(AuditEntry.id)).all()
    assert [(a, actor) for a, actor, _d in trail] == [
        ("alert.raise", None), ("alert.acknowledge", world.leader.id),
        ("alert.own", world.clinician.id), ("alert.note", world.clinician.id),
        ("alert.close", world.clinician.id)]
    assert all(note not in str(details) for _a, _actor, details in trail)


def test_screening_counts_one_alert_per_post_across_many_posts(app):
    world = gen_world()
    for i in range(6):
        posting.create_post(world.member if i % 2 else world.member2, world.group.id,
                          RISKY[sorted(RISKY)[i % 3]])
    assert db.session.scalar(select(func.count(SafetyAlert.id))) == 6
    assert db.session.scalar(select(func.count(Post.id))) == 6


def test_a_practice_log_alert_shows_its_note_to_the_clinician_only(app):
    world = gen_world()
    participant = db.session.scalar(select(Participant).where(
        Participant.user_id == world.member.id))
    log = PracticeLog(participant_id=participant.id, practice_key="soothing-touch",
                      practised_on=date(2026, 3, 2), minutes=10, submission_token="t",
                      note="<b>今天</b>我不想活了")
    db.session.add(log)
    db.session.commit()
    with write_transaction():
        alert = raise_alert("practice_log", log.id, "risk-phrases:zh", study_id=world.study.id,
                            participant_id=participant.id)
    page = client_for(app, world.clinician).get(f"/alerts/{alert.id}").get_data(as_text=True)
    assert "&lt;b&gt;今天&lt;/b&gt;我不想活了" in page  # shown as text
    assert participant.code in page
    assert client_for(app, world.leader).get(f"/alerts/{alert.id}").status_code == 404


def test_practice_note_alert_reaches_the_participants_group_leaders(app):
    """A worrying practice-log note alerts the leaders of the participant's own group too."""
    from models import SafetyAlert
    from program.courses.delivery import PracticeEntry, log_practice
    from program.safety.alerts import alert_recipients
    from tests.factories import gen_cohort, gen_group, gen_participant, gen_study, gen_user

    study = gen_study()
    cohort = gen_cohort(study)
    leader = gen_user("facilitator")
    participant = gen_participant(study, arm="CFT", cohort=cohort)
    group = gen_group(cohort, kind="therapy", members=[participant.user], leaders=[leader])
    entry = PracticeEntry(practice_key="soothing-rhythm-breathing", practised_on=date(2026, 11, 2),
                          minutes=10, helpfulness=3, note="I want to kill myself")
    log_practice(participant, entry, "token-1")
    alert = db.session.scalars(select(SafetyAlert)).one()
    assert alert.group_id == group.id
    assert leader.id in alert_recipients(alert.study_id, alert.group_id)


def test_the_alert_its_audit_entry_and_its_emails_name_level_and_family_never_the_text(app):
    world = gen_world()
    text = "I've been hoarding my sleeping pills. Goodbye everyone, thank you."
    post = posting.create_post(world.member, world.group.id, text)
    (alert,) = alerts()
    assert (alert.level, alert.families) == ("urgent", "plan_preparation,farewell")
    details = db.session.scalar(select(AuditEntry.details).where(
        AuditEntry.action == "alert.raise", AuditEntry.object_id == alert.id))
    assert details == {"source": "post", "level": "urgent",
                       "families": "plan_preparation,farewell"}
    emails = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.kind == "safety_alert")).all()
    assert emails
    for email in emails:
        assert "hoarding" not in email.body_text and "Goodbye" not in email.body_text
        assert world.group.name not in email.body_text
    english = [e for e in emails if "Level:" in e.body_text]
    assert english and all("urgent" in e.body_text and "plans or preparation, farewell"
                           in e.body_text for e in english)
    page = client_for(app, world.clinician).get(f"/alerts/{alert.id}").get_data(as_text=True)
    assert "plans or preparation, farewell" in page and post.id
    assert "a group post" in page and alert.rule not in page and "risk:" not in page
    listing = client_for(app, world.clinician).get("/alerts/").get_data(as_text=True)
    assert ">open<" in listing
    japanese = client_for(app, world.clinician).get(
        f"/alerts/{alert.id}", headers={"Accept-Language": "ja"}).get_data(as_text=True)
    assert "グループの投稿" in japanese and ">open<" not in japanese
