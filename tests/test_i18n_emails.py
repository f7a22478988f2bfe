"""Notices in the recipient's language: the session's translated title and a local date."""

from __future__ import annotations

import pytest
import time_machine

from models import User, db
from program.courses.catalogue import get_catalogue
from program.messaging.jobs import dispatch, tick
from tests.factories_delivery import gen_course, utc
from tests.test_i18n_catalogues import ensure_compiled

NOW = utc(2026, 10, 21, 17, 30)  # the day before session 2's meeting (17:00 UTC)


def _mail_to(app, user: User) -> list[dict]:
    return [m for m in app.extensions.setdefault("sent_mail", []) if m["to"] == user.email]


@pytest.mark.parametrize(("locale", "when"), [
    ("ja", "2026年10月22日木曜日 17:00"),
    ("zh", "2026年10月22日星期四 17:00"),
    ("en", "Thursday 22 October 2026, 17:00"),
])
def test_notices_are_written_in_the_recipients_language(app, locale, when):
    ensure_compiled()
    course = gen_course("msc")
    db.session.get(User, course.user.id).locale = locale
    db.session.commit()
    with time_machine.travel(NOW, tick=False):
        tick(NOW)
        dispatch(NOW, 1000)
    mail = _mail_to(app, course.user)
    text = "\n".join(m["subject"] + "\n" + m["body"] for m in mail)
    assert when in text  # the meeting reminder's date, in the recipient's time zone (UTC)
    for number in (1, 2):  # session 1 is released, session 2 meets tomorrow
        assert get_catalogue(locale).session("msc", number).title in text
    if locale != "en":
        assert get_catalogue().session("msc", 2).title not in text
        assert "Hearth: live meeting" not in text
    # the facilitator's English notice is unaffected by the participant's language
    facilitator = "\n".join(m["body"] for m in _mail_to(app, course.facilitator))
    assert get_catalogue().session("msc", 2).title in facilitator


@pytest.mark.parametrize("locale", ["ja", "zh"])
def test_group_and_safety_notices_follow_each_recipients_language(app, locale):
    """Reply, announcement, hidden-post, digest and safety-alert notices: in the language each
    recipient chose, while an English-speaking colleague still gets English."""
    from datetime import UTC, datetime

    from sqlalchemy import select

    from models import OutboxMessage
    from program.groups import digests, moderation, posting
    from tests.factories_groups import gen_world

    ensure_compiled()
    world = gen_world()
    for user in (world.member, world.member2, world.leader):
        user.locale = locale
    world.member.notify_replies = "immediate"
    world.member2.notify_announcements = "daily"
    world.assistant.locale = "en"
    db.session.commit()
    with time_machine.travel(datetime(2026, 3, 2, 10, 0, tzinfo=UTC), tick=False):
        thread = posting.create_post(world.member, world.group.id, "How do I start?")
        posting.create_post(world.assistant, world.group.id, "Like this", parent_id=thread.id)
        posting.create_post(world.leader, world.group.id, "Retreat on Saturday")
        advert = posting.create_post(world.member2, world.group.id, "Buy my course")
        moderation.hide_post(world.leader, world.group.id, advert.id, "No advertising, please")
        posting.create_post(world.member2, world.group.id, "I want to kill myself")
    with time_machine.travel(datetime(2026, 3, 3, 0, 5, tzinfo=UTC), tick=False):
        digests.materialise_digests()
    db.session.expire_all()
    messages = db.session.scalars(select(OutboxMessage)).all()
    by_kind = {}
    for message in messages:
        by_kind.setdefault((message.kind, message.recipient_id), message)
    translated = [by_kind[("post_reply", world.member.id)],
                  by_kind[("post_hidden", world.member2.id)],
                  by_kind[("daily_digest", world.member2.id)],
                  by_kind[("safety_alert", world.leader.id)]]
    english_words = ("Hearth: a", "Sign in", "Someone", "Reason", "happened", "safety alert")
    for message in translated:
        text = message.subject + "\n" + message.body_text
        assert not any(word in text for word in english_words), (message.kind, text)
        assert world.group.name in text or message.kind == "safety_alert"
    assert "No advertising, please" in by_kind[("post_hidden", world.member2.id)].body_text
    assert "2026" in by_kind[("daily_digest", world.member2.id)].subject
    colleague = by_kind[("safety_alert", world.assistant.id)]
    assert colleague.subject == "Hearth: a safety alert needs your attention"
