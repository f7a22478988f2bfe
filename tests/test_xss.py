"""Stored XSS: hostile text entered through the app's own forms comes out inert everywhere.

Payloads go in where users type text (posts, replies, practice notes, meeting notes, hiding and
flag reasons, alert notes, withdrawal reasons) and where names come from accounts (display
names). Every page that shows them, and every export, is then read back: no script runs, no
event handler or ``javascript:`` link appears, template syntax is not evaluated, and CSV/XLSX
cells cannot start a spreadsheet formula.
"""

from __future__ import annotations

import csv
import io
import secrets
from datetime import timedelta
from html.parser import HTMLParser

import openpyxl
import pytest

from models import Meeting, Participant, PracticeLog, Response, SafetyAlert, db, utcnow
from tests.conftest import post_form, sign_in
from tests.factories import gen_participant, gen_user
from tests.factories_world import gen_world

MARK = "hearthxss"
#: every trick in one text: raw HTML, Markdown links and images, attribute breakers, template
#: syntax, and a spreadsheet formula at the start
PAYLOAD = (
    f'=HYPERLINK("http://evil.example","{MARK}") {MARK} <script>alert("s1")</script> '
    '<img src=x onerror=alert("s2")> [click](javascript:alert("s3")) '
    '![pic](javascript:alert("s4")) <a href="javascript:alert(5)">a</a> '
    '"><svg onload=alert("s6")> \' onmouseover=\'alert(7)\' x=\' '
    '<iframe src="https://evil.example/"></iframe> ssti-{{7*7}}-end {% print 1 %}'
)
#: for fields limited to 200 characters (withdrawal reason) or 120 (display name)
SHORT = f'=1+1 {MARK} <img src=x onerror=alert(1)>"\'><script>x</script>{{{{7*7}}}}'
NAME = f'{MARK}<img src=x onerror=alert(1)>"\'{{{{7*7}}}}'
TRIGGERS = ("=", "+", "-", "\u2212", "@", "\t", "\r")
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "poster",
                  "background", "srcset"}


class _Scan(HTMLParser):
    """Collects anything in a page that would run script."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            value = (value or "").strip().lower().replace("\t", "").replace("\n", "")
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...>")
            if name in URL_ATTRIBUTES and value.startswith(("javascript:", "vbscript:",
                                                            "data:text")):
                self.problems.append(f"<{tag} {name}={value[:40]}>")
        if tag in ("iframe", "object", "embed", "base", "frame"):
            self.problems.append(f"<{tag}>")
        if tag == "script":
            src = dict(attrs).get("src") or ""
            if not src.startswith("/static/"):
                self.problems.append(f"<script src={src!r}>")
            self._in_script = True

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.problems.append("inline script")


def assert_inert(html: str, where: str, *, shown: bool = True) -> None:
    scan = _Scan()
    scan.feed(html)
    assert scan.problems == [], f"{where}: {scan.problems}"
    assert "ssti-49-end" not in html, f"{where}: template syntax was evaluated"
    if shown:
        assert MARK in html, f"{where}: the text under test is not on the page"


def _as(app, user):
    client = app.test_client()
    sign_in(client, user)
    return client


@pytest.fixture
def hostile(app):
    """The home world after every text field was filled with hostile text through its form."""
    world = gen_world()
    home = world.home
    home.member.display_name = NAME
    home.facilitator.display_name = NAME
    victim = gen_participant(home.study, arm="CFT", cohort=home.cohort,
                             user=gen_user("participant", display_name=NAME), eligible=True,
                             consented_on=utcnow().date() - timedelta(days=50),
                             randomised_at=utcnow() - timedelta(days=45))
    db.session.commit()

    member = _as(app, home.member)
    response = post_form(member, f"/groups/{home.group.id}/posts",
                         {"title": PAYLOAD[:200], "body": PAYLOAD,
                          "submission_token": secrets.token_urlsafe(16)},
                         token_from=f"/groups/{home.group.id}")
    assert response.status_code == 302, response.get_data(as_text=True)[:400]
    thread_path = response.headers["Location"]
    post_id = int(thread_path.rstrip("/").rsplit("/", 1)[1])
    response = post_form(member, f"/groups/{home.group.id}/posts/{post_id}/reply",
                         {"body": PAYLOAD, "submission_token": secrets.token_urlsafe(16)},
                         token_from=thread_path)
    assert response.status_code == 302
    response = post_form(member, "/me/practice/new", {
        "practice_key": "mindfulness-of-sound", "practised_on": utcnow().date().isoformat(),
        "minutes": "10", "helpfulness": "5", "note": PAYLOAD,
        "token": secrets.token_urlsafe(24)})
    assert response.status_code == 302, response.get_data(as_text=True)[:400]
    response = post_form(member, f"/groups/{home.group.id}/posts/{world.post.id}/flag",
                         {"reason": PAYLOAD[:1000]}, token_from=f"/groups/{home.group.id}")
    assert response.status_code == 302

    leader = _as(app, home.facilitator)
    base = f"/facilitate/cohorts/{home.cohort.id}/meetings/1"
    response = post_form(leader, base, {"outcome": "held", "actual_minutes": "90",
                                        "notes": PAYLOAD})
    assert response.status_code == 302, response.get_data(as_text=True)[:400]
    response = post_form(leader, f"/groups/{home.group.id}/posts/{post_id}/hide",
                         {"reason": PAYLOAD[:1000]}, token_from=f"/groups/{home.group.id}")
    assert response.status_code == 302
    response = post_form(leader, f"/alerts/{world.alert.id}/note", {"note": PAYLOAD},
                         token_from=f"/alerts/{world.alert.id}")
    assert response.status_code == 302

    researcher = _as(app, home.researcher)
    response = post_form(researcher, f"/research/participants/{victim.id}/withdrawal",
                         {"kind": "leave_study", "reason": SHORT,
                          "on": utcnow().date().isoformat()},
                         token_from=f"/research/participants/{victim.id}")
    assert response.status_code == 302, response.get_data(as_text=True)[:400]

    # the practice note as a facilitator sees it when it raised a safety alert
    note_log = db.session.scalar(db.select(PracticeLog).where(PracticeLog.note.contains(MARK)))
    log_alert = SafetyAlert(study_id=home.study.id, participant_id=home.participant.id,
                            group_id=home.group.id, source_kind="practice_log",
                            source_id=note_log.id, rule="risk-phrases:en", status="open")
    db.session.add(log_alert)
    db.session.flush()
    # questionnaire free text has no form yet: stored as a future form would store it
    db.session.add(Response(participant_id=home.participant.id, timepoint_id=home.timepoint.id,
                            instrument_key="BDI-II", answers={}, free_text={"1": PAYLOAD},
                            status="in_progress"))
    db.session.commit()
    assert db.session.scalar(db.select(PracticeLog.note).where(
        PracticeLog.participant_id == home.participant.id, PracticeLog.note.contains(MARK)))
    assert db.session.scalar(db.select(Meeting.notes).where(Meeting.cohort_id == home.cohort.id))
    assert db.session.get(Participant, victim.id).withdrawal_reason
    return world, {"post_id": post_id, "victim": victim.id, "member": member,
                   "log_alert": log_alert.id,
                   "leader": leader, "researcher": researcher}


def test_participant_pages_show_hostile_text_inert(hostile):
    world, ctx = hostile
    home, client = world.home, ctx["member"]
    group = home.group.id
    for path in (f"/groups/{group}", f"/groups/{group}/posts/{ctx['post_id']}",
                 "/me/practice", "/groups/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert_inert(response.get_data(as_text=True), path,
                     shown=path != "/groups/")
    log = db.session.scalar(db.select(PracticeLog.id).where(PracticeLog.note.contains(MARK)))
    response = client.get(f"/me/practice/{log}/edit")
    assert_inert(response.get_data(as_text=True), "practice edit")
    for path in ("/me/", "/settings/"):
        assert_inert(client.get(path).get_data(as_text=True), path, shown=False)


def test_facilitator_pages_show_hostile_text_inert(hostile):
    world, ctx = hostile
    home, client = world.home, ctx["leader"]
    cohort, group = home.cohort.id, home.group.id
    pages = {
        f"/facilitate/cohorts/{cohort}/meetings/1": True,
        f"/facilitate/cohorts/{cohort}/roster": True,
        f"/facilitate/cohorts/{cohort}/meetings/1/register": True,
        f"/facilitate/cohorts/{cohort}": False,
        f"/groups/{group}": True,
        f"/groups/{group}/flags": True,
        f"/groups/{group}/overview": False,
        f"/groups/{group}/posts/{ctx['post_id']}": True,
        f"/alerts/{world.alert.id}": True,
        f"/alerts/{ctx['log_alert']}": True,
        "/alerts/": False,
        "/facilitate/": False,
    }
    for path, shown in pages.items():
        response = client.get(path)
        assert response.status_code == 200, path
        assert_inert(response.get_data(as_text=True), path, shown=shown)


def test_researcher_and_admin_pages_show_hostile_text_inert(app, hostile):
    world, ctx = hostile
    home, client = world.home, ctx["researcher"]
    study = home.study.id
    pages = {
        f"/research/participants/{ctx['victim']}": False,
        f"/research/studies/{study}": True,
        f"/research/studies/{study}/adverse-events": False,
        f"/research/reports/{study}/feasibility": False,
        f"/research/reports/{study}/data": False,
    }
    for path, shown in pages.items():
        response = client.get(path)
        assert response.status_code == 200, path
        assert_inert(response.get_data(as_text=True), path, shown=shown)
    admin = _as(app, world.admin)
    assert_inert(admin.get("/admin/").get_data(as_text=True), "/admin/")


def _csv_cells(data: bytes):
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    return [cell for row in rows for cell in row]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_exports_neutralise_formulas_and_stay_inert(hostile):
    world, ctx = hostile
    client = ctx["researcher"]
    base = f"/research/reports/{world.home.study.id}"
    seen_reason = False
    for name in ("scores.csv", "participants.csv", "attendance.csv", "practice_logs.csv",
                 "sessions.csv", "engagement.csv", "csq.csv", "flow.csv", "codebook.csv"):
        response = client.get(f"{base}/data/{name}")
        assert response.status_code == 200, name
        for cell in _csv_cells(response.data):
            assert not cell.startswith(TRIGGERS) or _is_number(cell), (name, cell)
            seen_reason |= MARK in cell
        # data, not a page: a browser downloads it and never renders it as HTML
        assert response.mimetype == "text/csv", name
        assert response.headers["Content-Disposition"].startswith("attachment"), name
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert seen_reason, "the withdrawal reason should be in flow.csv"

    response = client.get(f"{base}/data/data.xlsx")
    workbook = openpyxl.load_workbook(io.BytesIO(response.data))
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    assert not cell.value.startswith(TRIGGERS), (sheet.title, cell.value)

    for name in ("data.sav", "data.dta"):
        response = client.get(f"{base}/data/{name}")
        assert response.status_code == 200, name
        assert MARK.encode() not in response.data  # free text is never exported

    response = client.get(f"{base}/feasibility.html")
    assert response.status_code == 200
    assert_inert(response.get_data(as_text=True), "feasibility.html", shown=False)
    assert response.headers["Content-Disposition"].startswith("attachment")


def test_display_names_are_escaped_in_the_page_title_and_menus(app):
    user = gen_user("participant", display_name=NAME)
    client = app.test_client()
    sign_in(client, user)
    html = client.get("/settings/").get_data(as_text=True)
    assert_inert(html, "settings", shown=False)
    assert "<img src=x" not in html


def test_practice_note_is_kept_as_typed(hostile):
    """Escaping happens on output: the note itself is stored exactly as the person wrote it."""
    world, _ctx = hostile
    note = db.session.scalar(db.select(PracticeLog.note).where(
        PracticeLog.participant_id == world.home.participant.id,
        PracticeLog.practised_on >= utcnow().date() - timedelta(days=1),
        PracticeLog.note.contains(MARK)))
    assert note == PAYLOAD.strip()
