"""Double submit, generated from the URL map: every state-changing POST route, fired 20 times
at once by the same signed-in user with the same form (same CSRF and submission token), leaves
the state of one submission and answers every request with a page or a redirect.

Never a 5xx (no 500, no 503 "could not reach its database"), never two rows where one
submission makes one, never two audit entries for one action on one object. The requests run
in threads against one database (a SQLite file, or PostgreSQL with DATABASE_URL), through the
WSGI app as a server would call it.

A POST route of the URL map needs a case in ``CASES`` or a line in ``NOT_YET_COVERED`` (with
the reason); a new route without either fails ``test_every_post_route_is_decided``, and the
list of uncovered routes is printed with every run.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from models import AuditEntry, Post, db, utcnow
from program.courses import markdown
from program.trial import allocation, enrolment
from tests.conftest import csrf_token, sign_in
from tests.factories import gen_cohort, gen_group, gen_participant, gen_staff, gen_user
from tests.factories_trial import ELIGIBLE, gen_applicant, gen_trial

N = 20


@dataclass
class Scene:
    """What the cases act on: a minimisation trial with its researcher, and a group."""

    researcher: object
    leader: object
    study: object
    cohort: object
    group: object
    member: object
    member_record: object
    people: dict = field(default_factory=dict)


def _person(scene: Scene, stage: str):
    person = gen_applicant(scene.study, baseline={"gender": "female"})
    today = person.created_at.date()
    if stage in ("screened", "consented", "randomised"):
        enrolment.screen(person.id, ELIGIBLE, on=today)
    if stage in ("consented", "randomised"):
        enrolment.record_consent(person.id, "v1.0", on=today)
    if stage == "randomised":
        allocation.randomise(person.id)
    return person


def _answers() -> dict:
    return {k: ("yes" if v is True else "no" if v is False else str(v))
            for k, v in ELIGIBLE.items()}


@dataclass(frozen=True)
class Case:
    """Who posts what where, and the rows one submission adds (other tables: none)."""

    user: Callable[[Scene], object]
    url: Callable[[Scene], str]
    form: Callable[[Scene], dict]
    new_rows: dict[str, int] = field(default_factory=dict)
    #: audit actions one submission records (each at most once per object)
    actions: tuple[str, ...] = ()


def _researcher(scene):
    return scene.researcher


def _on_person(stage: str, path: str):
    def url(scene):
        scene.people[stage] = _person(scene, stage)
        return f"/research/participants/{scene.people[stage].id}/{path}"
    return url


TODAY = date.today().isoformat()


def _leader_post(scene: Scene) -> Post:
    body = "How did the breathing practice go?"
    post = Post(group_id=scene.group.id, author_id=scene.leader.id, title="Week 1", body=body,
                body_html=markdown.render(body))
    db.session.add(post)
    db.session.commit()
    return post

CASES: dict[str, Case] = {
    "researcher.randomise POST": Case(
        _researcher, _on_person("consented", "randomise"), lambda s: {},
        actions=("participant.randomised",)),
    "researcher.screen POST": Case(
        _researcher, _on_person("applied", "screening"), lambda s: _answers(),
        new_rows={"screenings": 1}, actions=("participant.screened",)),
    "researcher.consent POST": Case(
        _researcher, _on_person("screened", "consent"),
        lambda s: {"version": "v1.0", "on": TODAY}, actions=("participant.consented",)),
    "researcher.cohort POST": Case(
        _researcher, _on_person("randomised", "cohort"),
        lambda s: {"cohort_id": str(s.cohort.id)}, actions=("participant.cohort_assigned",)),
    "researcher.withdraw POST": Case(
        _researcher, _on_person("randomised", "withdrawal"),
        lambda s: {"kind": "stop_contact", "reason": "moved away", "on": TODAY},
        actions=("participant.withdrawn",)),
    "researcher.request_removal POST": Case(
        _researcher, _on_person("randomised", "removal-request"), lambda s: {},
        actions=("participant.removal_requested",)),
    "groups.create POST": Case(
        lambda s: s.member, lambda s: f"/groups/{s.group.id}/posts",
        lambda s: {"title": "Week 2", "body": "Breathing helped today.",
                   "submission_token": "same-form-0001"},
        new_rows={"posts": 1}),
    "groups.reply POST": Case(
        lambda s: s.member, lambda s: f"/groups/{s.group.id}/posts/{_leader_post(s).id}/reply",
        lambda s: {"body": "Same for me.", "submission_token": "same-form-0002"},
        new_rows={"posts": 1, "outbox_messages": 1}),
    "groups.flag POST": Case(
        lambda s: s.member, lambda s: f"/groups/{s.group.id}/posts/{_leader_post(s).id}/flag",
        lambda s: {"reason": "please look"}, new_rows={"post_flags": 1}),
    "participant.practice_new POST": Case(
        lambda s: s.member, lambda s: "/me/practice/new",
        lambda s: {"practice_key": "mindfulness-of-sound",
                   "practised_on": (date.today() - timedelta(days=1)).isoformat(),
                   "minutes": "12", "helpfulness": "6", "note": "",
                   "token": "same-practice-form-0003"},
        new_rows={"practice_logs": 1}),
}

#: POST routes the property does not cover yet, and why (printed by every run)
_SECURITY = "account and sign-in routes (issue 17 owns them); not yet cased"
_SETUP = "study set-up (issue 14 is changing these routes); not yet cased"
_LATER = "not yet cased (time); its write is keyed or locked but not proven under a burst"
NOT_YET_COVERED: dict[str, str] = {
    **{f"auth.{name} POST": _SECURITY for name in (
        "sign_in", "sign_out", "sign_out_everywhere", "set_language", "request_reset",
        "reset_password", "change_password", "two_factor_step")},
    **{f"two_factor.{name} POST": _SECURITY for name in (
        "start", "confirm", "disable", "regenerate")},
    "admin.reset_two_factor POST": _SECURITY,
    "admin.set_user_active POST": _LATER,
    "admin.process_removal POST": _LATER + " (a second removal returns False, no audit)",
    "settings.edit POST": _LATER,
    **{f"study_setup.{name} POST": _SETUP for name in (
        "arms", "edit_cohort", "edit_timepoint", "group_staff", "new_cohort", "new_timepoint")},
    "researcher.setup POST": _SETUP,
    "researcher.add_applicant POST": _SETUP + "; KNOWN GAP: no submission token, each click"
                                              " adds an applicant",
    "researcher.add_adverse_event POST": "KNOWN GAP: no submission token, 20 clicks record 20"
                                         " adverse events (needs a token column: a migration)",
    "researcher.generate_list POST": _LATER + " (a second run raises 'already generated')",
    "researcher.assign_groups POST": _LATER,
    "alerts.act POST": _LATER + " (the alert row is locked and re-read)",
    "alerts.note POST": _LATER + "; each click records an audit entry",
    "facilitator.meeting POST": _LATER + "; each click records an audit entry",
    "facilitator.register POST": _LATER,
    "facilitator.attendance_import_upload POST": _LATER,
    "facilitator.attendance_import_confirm POST": _LATER,
    **{f"groups.{name} POST": _LATER + " (the post row is locked and re-read)" for name in (
        "delete", "edit", "hide", "moderate")},
    "participant.practice_edit POST": _LATER,
    "participant.practice_delete POST": _LATER,
    "participant.session_done POST": _LATER,
    "questionnaires.instrument POST": _LATER + " (the response row is locked and re-read)",
    "questionnaires.save_one POST": _LATER + " (the response row is locked and re-read)",
    "rater.rate POST": _LATER + " (the response row is locked and re-read)",
}


def _post_routes(app) -> set[str]:
    return {f"{rule.endpoint} POST" for rule in app.url_map.iter_rules()
            if "POST" in rule.methods and not rule.endpoint.startswith("_test")}


def test_every_post_route_is_decided(app, capsys):
    routes = _post_routes(app)
    uncovered = sorted(routes - set(CASES))
    missing = [r for r in uncovered if r not in NOT_YET_COVERED]
    with capsys.disabled():
        print(f"\ndouble-submit property: {len(CASES)} of {len(routes)} POST routes covered; "
              f"not yet covered ({len(uncovered)}):")
        for route in uncovered:
            print(f"  {route}: {NOT_YET_COVERED.get(route, 'NO CASE')}")
    assert missing == [], f"POST routes without a double-submit case: {missing}"
    assert not set(CASES) - routes, "cases for routes that no longer exist"
    assert not set(NOT_YET_COVERED) & set(CASES), "a covered route is still listed as uncovered"


@pytest.fixture
def app_config(database_url, tmp_path):
    if database_url.startswith("sqlite"):
        return {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'double-submit.db'}"}
    return {"SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": N + 2, "max_overflow": 5}}


def _scene() -> Scene:
    study = gen_trial("minimisation", factors={"gender": 1})
    researcher = gen_user("researcher")
    gen_staff(study, researcher, blind=False)
    leader, member = gen_user("facilitator"), gen_user("participant")
    cohort = gen_cohort(study, facilitators=[leader])
    record = gen_participant(study, arm="CFT", cohort=cohort, user=member, eligible=True,
                             randomised_at=utcnow())
    group = gen_group(cohort, members=[member], leaders=[leader])
    return Scene(researcher, leader, study, cohort, group, member, record)


def _row_counts() -> dict[str, int]:
    return {t.name: db.session.scalar(select(func.count()).select_from(t))
            for t in db.metadata.sorted_tables}


def _burst(app, cookie: str, url: str, form: dict) -> list[int]:
    start = threading.Barrier(N)
    statuses: list[int] = []

    def click() -> None:
        browser = FlaskClient(app, app.response_class, use_cookies=True)
        browser.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie, domain="hearth.test")
        start.wait()
        try:
            statuses.append(browser.post(url, data=form).status_code)
        except BaseException as exc:  # noqa: BLE001 - an unhandled error is a 500
            statuses.append(f"raised {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=click) for _ in range(N)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return statuses


@pytest.mark.parametrize("route", sorted(CASES))
def test_twenty_simultaneous_submissions_leave_one(app, client, route):
    case = CASES[route]
    scene = _scene()
    url = case.url(scene)
    user = case.user(scene)
    sign_in(client, user)
    form = {**case.form(scene), "csrf_token": csrf_token(client, "/settings/")}
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"], domain="hearth.test").value
    db.session.commit()
    before = _row_counts()
    first_entry = db.session.scalar(select(func.max(AuditEntry.id))) or 0
    db.session.remove()

    statuses = _burst(app, cookie, url, form)

    assert len(statuses) == N
    assert all(isinstance(s, int) and s < 500 for s in statuses), Counter(statuses)
    assert all(s in (200, 302, 303, 409) for s in statuses), Counter(statuses)
    after = _row_counts()
    added = {t: after[t] - before[t] for t in after if after[t] != before[t]}
    added.pop("audit_entries", None)
    assert added == case.new_rows
    entries = db.session.execute(
        select(AuditEntry.action, AuditEntry.object_type, AuditEntry.object_id)
        .where(AuditEntry.id > first_entry, ~AuditEntry.action.like("user.%"))).all()
    doubled = [e for e, n in Counter(entries).items() if n > 1]
    assert doubled == []
    assert sorted({e.action for e in entries}) == sorted(case.actions)
