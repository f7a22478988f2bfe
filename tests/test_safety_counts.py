"""Staff see how many alerts are open in the menu of every page; an alert shows what raised it
to those who receive it; the researcher's alert count and the adverse-event register agree."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import select

from models import AdverseEvent, SafetyAlert, db
from program.groups import posting
from program.safety.alerts import open_count, study_alerts
from tests.conftest import post_form
from tests.factories import gen_staff
from tests.factories_groups import gen_world
from tests.test_groups import client_for

RISKY = "Honestly I want to end my life some days."
BADGE = re.compile(r'class="badge alert-count"><span aria-hidden="true">(\d+)</span>'
                   r'<span class="visually-hidden">(\d+) open alerts?</span>')


def _badge(client, path: str) -> int | None:
    match = BADGE.search(client.get(path).get_data(as_text=True))
    return int(match.group(1)) if match else None


def test_the_menu_counts_open_alerts_on_every_page_for_their_recipients(app):
    world = gen_world()
    leader, clinician = client_for(app, world.leader), client_for(app, world.clinician)
    assert _badge(leader, "/groups/") is None
    posting.create_post(world.member, world.group.id, RISKY)
    posting.create_post(world.member2, world.group.id, "I feel suicidal tonight.")
    for path in ("/groups/", "/alerts/", "/auth/password", f"/groups/{world.group.id}"):
        assert _badge(leader, path) == 2, path
    assert _badge(clinician, "/groups/") == 2
    assert _badge(client_for(app, world.other_leader), "/groups/") is None
    member_page = client_for(app, world.member2).get("/groups/").get_data(as_text=True)
    assert "alert-count" not in member_page
    first = db.session.scalar(select(SafetyAlert).order_by(SafetyAlert.id))
    assert post_form(leader, f"/alerts/{first.id}/acknowledge").status_code == 302
    assert _badge(clinician, "/groups/") == 1 == open_count(world.clinician)


def test_the_alert_shows_what_raised_it_to_its_recipients(app):
    world = gen_world()
    post = posting.create_post(world.member, world.group.id, RISKY)
    alert = db.session.scalar(select(SafetyAlert))
    page = client_for(app, world.clinician).get(f"/alerts/{alert.id}").get_data(as_text=True)
    for shown in ("end my life", world.group.name, "suicidal thoughts", "concern", "Raised"):
        assert shown in page, shown
    written = re.search(r"Written ([^<·]+)", page).group(1)
    assert post.created_at.strftime("%y") in written and f":{post.created_at:%M}" in written
    assert client_for(app, world.other_leader).get(f"/alerts/{alert.id}").status_code == 404
    long_post = posting.create_post(world.member2, world.group.id,
                                    "I feel suicidal tonight. " + "It is late and dark. " * 20)
    listing = client_for(app, world.clinician).get("/alerts/").get_data(as_text=True)
    assert RISKY in listing and "I feel suicidal tonight. It is late" in listing
    assert long_post.body[:200] not in listing and "…" in listing
    assert RISKY not in client_for(app, world.other_leader).get("/alerts/").get_data(
        as_text=True)


def test_the_researchers_count_and_the_adverse_event_register_agree(app):
    world = gen_world()
    gen_staff(world.study, world.researcher, clinician=True)
    posting.create_post(world.member, world.group.id, RISKY)
    posting.create_post(world.member2, world.group.id, "I feel suicidal tonight.")
    posting.create_post(world.leader, world.group.id, RISKY)  # staff: no participant record
    alerts = db.session.scalars(select(SafetyAlert).order_by(SafetyAlert.id)).all()
    db.session.add(AdverseEvent(study_id=world.study.id, participant_id=alerts[0].participant_id,
                                alert_id=alerts[0].id, description="Followed up by phone.",
                                onset_on=date.today(), severity="moderate",
                                relatedness="unlikely"))
    db.session.commit()
    researcher = client_for(app, world.researcher)
    listed = researcher.get("/alerts/?status=all").get_data(as_text=True)
    on_alert_page = set(re.findall(r'href="/alerts/(\d+)"', listed))
    register = researcher.get(f"/research/studies/{world.study.id}/adverse-events")
    text = register.get_data(as_text=True)
    counts = study_alerts(world.study.id)
    assert (counts.total, counts.open, counts.recorded, counts.not_recorded) == (3, 3, 1, 2)
    assert len(on_alert_page) == counts.total == _badge(researcher, "/alerts/")
    assert "3 safety alerts raised in this study: 3 open, 1 recorded as adverse events, " \
           "2 not yet recorded." in text
    not_yet = text.split("not yet recorded as events", 1)[1].split("</ul>", 1)[0]
    assert not_yet.count("<li>") == counts.not_recorded
