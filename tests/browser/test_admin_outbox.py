"""In Chromium at 360 px: an admin opens the Outbox from the navigation after the scheduler
sent the demo's notices, keeps only the sent ones and reads one as it was sent, without
side-scrolling."""

from __future__ import annotations

from models import db, utcnow
from program.messaging.jobs import dispatch, tick
from tests.browser.conftest import fits, sign_in


def test_an_admin_reads_the_sent_mail_on_a_phone(app, narrow):
    app.config["OUTBOX_KEEP_SENT_BODIES"] = True  # as under `make run`
    now = utcnow()
    tick(now)
    assert dispatch(now, limit=1000).sent > 0
    db.session.remove()

    sign_in(narrow, "admin@hearth.example")
    narrow.get_by_role("link", name="Outbox", exact=True).click()
    assert narrow.locator("h1").inner_text() == "Outbox"
    assert fits(narrow)
    narrow.get_by_label("Status").select_option("sent")
    narrow.get_by_role("button", name="Show").click()
    rows = narrow.locator("tbody tr")
    assert rows.count() > 0
    assert all(text.strip() == "sent" for text in rows.locator("td:nth-child(4)").all_inner_texts())
    assert fits(narrow)
    subject = rows.first.locator("td:nth-child(2) a").inner_text()
    rows.first.locator("td:nth-child(2) a").click()
    assert narrow.locator("h1").inner_text() == subject
    assert narrow.locator("pre").inner_text().strip() != ""  # the text as it was sent
    assert "hearth-link" not in narrow.content()
    assert fits(narrow)
