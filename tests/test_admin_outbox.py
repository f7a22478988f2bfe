"""The admin Outbox page: recent messages with their state, filtered by status, a page at a
time, times in the admin's zone; one message's text with its links masked."""

from __future__ import annotations

import re
from datetime import timedelta

from models import OutboxMessage, db, write_transaction
from program.accounts.reset import RESET_LINK_PLACEHOLDER
from program.messaging.jobs import dispatch
from program.messaging.outbox import enqueue
from tests.factories import gen_user
from tests.factories_delivery import utc

QUEUED = utc(2026, 11, 3, 8, 30)  # 17:30 in Tokyo


def _queue(key: str, user, subject: str, body: str = "Body", **fields) -> OutboxMessage:
    created_at = fields.pop("created_at", QUEUED)
    with write_transaction():
        enqueue(key, user.id if user else None, fields.pop("kind", "group_digest"), subject,
                body, due_at=QUEUED, **fields)
    message = db.session.query(OutboxMessage).filter_by(dedup_key=key).one()
    message.created_at = created_at
    db.session.commit()
    return message


def _rows(page: str) -> list[str]:
    return re.findall(r"<tr>\s*<td>(.*?)</td>", page, re.S)


def test_the_admin_sees_recent_messages_in_their_zone_and_filters_by_status(app, as_user):
    admin = gen_user("admin", timezone="Asia/Tokyo")
    member = gen_user("participant", email="kim@example.org")
    waiting = _queue("a", member, "New in your group")
    _queue("b", None, "Your invitation to Hearth", recipient_email="new@example.org",
           kind="staff_invitation")
    sent = _queue("c", member, "Session 2 is open", kind="release_notice")
    sent.status, sent.sent_at = "sent", QUEUED + timedelta(minutes=1)
    sent.resent_in_doubt = 1
    db.session.commit()
    client = as_user(admin)

    page = client.get("/admin/outbox").get_data(as_text=True)
    assert "New in your group" in page and "new@example.org" in page and "kim@example.org" in page
    assert "staff_invitation" in page and "waiting" in page
    assert "17:30" in page and "17:31" in page  # 08:30 UTC read in Tokyo
    assert "sent again after a crash" in page
    assert f'href="/admin/outbox/{waiting.id}"' in page

    only_sent = client.get("/admin/outbox?status=sent").get_data(as_text=True)
    assert "Session 2 is open" in only_sent and "New in your group" not in only_sent
    every = client.get("/admin/outbox?status=nonsense").get_data(as_text=True)
    assert "Session 2 is open" in every and "New in your group" in every  # unknown: all

    nav = client.get("/admin/").get_data(as_text=True)
    assert 'href="/admin/outbox"' in nav


def test_the_outbox_is_paged_newest_first(app, as_user):
    admin = gen_user("admin")
    member = gen_user("participant")
    for i in range(55):
        _queue(f"n{i}", member, f"Notice {i:02d}", created_at=QUEUED + timedelta(minutes=i))
    client = as_user(admin)
    first = client.get("/admin/outbox").get_data(as_text=True)
    assert first.count("Notice ") == 50 and "Notice 54" in first and "Notice 04" not in first
    assert 'rel="next" href="/admin/outbox?page=2"' in first and 'rel="prev"' not in first
    second = client.get("/admin/outbox?page=2").get_data(as_text=True)
    assert second.count("Notice ") == 5 and "Notice 04" in second and "Notice 05" not in second
    assert "Page 2 of 2" in second and 'rel="next"' not in second
    beyond = client.get("/admin/outbox?page=99").get_data(as_text=True)
    assert "Page 2 of 2" in beyond  # brought into range, not an error
    assert client.get("/admin/outbox?page=abc").status_code == 200


def test_a_message_shows_its_text_with_links_masked_and_a_sent_one_says_why_it_has_none(
        app, as_user):
    admin = gen_user("admin")
    member = gen_user("participant")
    reset = _queue("r", member, "Choose a new password",
                   f"Open this link: {RESET_LINK_PLACEHOLDER}\nIt works once.",
                   kind="password_reset")
    invite = _queue("i", None, "Your invitation", "Join: http://hearth.test/invitation/s3cr3t-tok",
                    recipient_email="new@example.org", kind="staff_invitation")
    client = as_user(admin)
    page = client.get(f"/admin/outbox/{reset.id}").get_data(as_text=True)
    assert "Open this link: [link]" in page and "It works once." in page
    assert "hearth-link" not in page
    page = client.get(f"/admin/outbox/{invite.id}").get_data(as_text=True)
    assert "/invitation/[…]" in page and "s3cr3t-tok" not in page

    dispatch(QUEUED + timedelta(minutes=1))
    db.session.refresh(reset)
    assert reset.status == "sent"
    page = client.get(f"/admin/outbox/{reset.id}").get_data(as_text=True)
    assert "The text of a sent message is not kept" in page
    assert reset.message_id in page.replace("&lt;", "<").replace("&gt;", ">")
    assert client.get("/admin/outbox/999999").status_code == 404


def test_with_sent_texts_kept_the_page_shows_the_mail_as_sent(app, as_user):
    """``make run`` keeps sent texts (``OUTBOX_KEEP_SENT_BODIES``) so the demo shows them."""
    app.config["OUTBOX_KEEP_SENT_BODIES"] = True
    admin = gen_user("admin", locale="ja")
    member = gen_user("participant")
    message = _queue("k", member, "Session 3 is open", "Session 3 of your course is open.",
                     kind="release_notice")
    assert dispatch(QUEUED + timedelta(minutes=1)).sent == 1
    page = as_user(admin).get(f"/admin/outbox/{message.id}").get_data(as_text=True)
    assert "Session 3 of your course is open." in page
    assert "送信済み" in page  # the status in the admin's language
