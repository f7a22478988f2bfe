"""Every form, fed arbitrary input: never a server error, and a refused submission writes nothing.

Each case signs in the person the form is for (in the world of ``tests.factories_world``) and
posts, with a valid CSRF token, fields drawn from text of any script, huge text, negative,
enormous and non-numeric numbers, impossible dates, NUL bytes, or nothing at all, plus stray
fields. A submission the app does not accept (any answer but a redirect) must leave every
table as it was.
"""

from __future__ import annotations

import io
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from models import Participant, db
from program.trial import CFT_ELIGIBILITY
from tests.conftest import sign_in
from tests.factories_world import RESET_TOKEN, World, gen_world

ODD = [
    "", " ", "0", "-1", "-0", "1.5", "-2147483649", "9" * 40, "1e309", "NaN", "inf", "abc",
    "\x00", "a\x00b", "\u202e\u0645\u0631\u062d\u0628\u0627", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 🙂", "<script>x</script>",
    "'; DROP TABLE users; --", "2026-02-30", "0001-01-01", "9999-12-31", "-2026-01-01",
    "2026-13-01T25:61", "2026-11-23T18:00", "x" * 70_000, "{{7*7}}", "../../etc/passwd",
    "%s%n%x", "[" * 5_000, "a: &a [*a, *a]", "yes", "no", "present", "held", "postponed",
    "CFT", "UC", "Europe/London", "Not/AZone", "ja", "immediate", "submit", "1", "3",
]
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300)
VALUE = st.one_of(st.sampled_from(ODD), TEXT, st.integers().map(str), st.none())

FUZZ = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.data_too_large])


def _applicant(world: World) -> Participant:
    """A person who applied to the home study, whose screening is fuzzed."""
    study = world.home.study
    study.eligibility_rules = CFT_ELIGIBILITY
    study.consent_version = "v1"
    participant = Participant(study_id=study.id, code="A-FUZZ", status="applied")
    db.session.add(participant)
    db.session.commit()
    return participant


def _forms(world: World) -> dict[str, tuple[str | None, str, list[str]]]:
    """form -> (who posts it, path, fields)."""
    home = world.home
    g, p, c = home.group.id, world.post.id, home.cohort.id
    tp, pid = home.timepoint.id, home.participant.id
    applicant = _applicant(world).id
    bdi = [f"item-{n}" for n in range(1, 22)]
    hamd = [f"item-{n}" for n in range(1, 18)]
    return {
        "sign-in": (None, "/auth/sign-in", ["email", "password", "next"]),
        "reset request": (None, "/auth/reset", ["email"]),
        "reset password": (None, f"/auth/reset/{RESET_TOKEN}", ["password", "confirm"]),
        "change password": ("member", "/auth/password", ["current", "password", "confirm"]),
        "language": ("member", "/auth/language", ["locale", "next"]),
        "settings": ("member", "/settings/", ["timezone", "locale", "reminders_enabled",
                                              "notify_replies", "notify_announcements"]),
        "practice log": ("member", "/me/practice/new",
                         ["practice_key", "practised_on", "minutes", "helpfulness", "note",
                          "token"]),
        "practice edit": ("member", f"/me/practice/{world.log.id}/edit",
                          ["practice_key", "practised_on", "minutes", "helpfulness", "note",
                           "token"]),
        "post": ("member", f"/groups/{g}/posts", ["title", "body", "submission_token"]),
        "reply": ("member", f"/groups/{g}/posts/{p}/reply", ["body", "submission_token"]),
        "post edit": ("member", f"/groups/{g}/posts/{p}/edit", ["title", "body"]),
        "flag": ("member", f"/groups/{g}/posts/{p}/flag", ["reason"]),
        "hide": ("leader", f"/groups/{g}/posts/{p}/hide", ["reason", "next"]),
        "moderation": ("leader", f"/groups/{g}/posts/{p}/lock", ["next"]),
        "meeting record": ("leader", f"/facilitate/cohorts/{c}/meetings/1",
                           ["outcome", "postponed_to", "actual_start", "actual_minutes",
                            "notes", "checklist"]),
        "attendance register": ("leader", f"/facilitate/cohorts/{c}/meetings/1/register",
                                ["fill", f"status-{pid}", f"minutes-{pid}", "status-999999",
                                 "minutes-x"]),
        "attendance import confirm": (
            "leader", f"/facilitate/cohorts/{c}/meetings/1/import/confirm",
            ["rows", "confirm-0", "participant-0", "minutes-0", "confirm-1", "participant-1",
             "minutes-1"]),
        "alert note": ("leader", f"/alerts/{world.alert.id}/note", ["note"]),
        "screening": ("home_researcher", f"/research/participants/{applicant}/screening",
                      [rule["key"] for rule in CFT_ELIGIBILITY]),
        "consent": ("home_researcher", f"/research/participants/{applicant}/consent",
                    ["version", "on"]),
        "randomisation": ("home_researcher", f"/research/participants/{applicant}/randomise",
                          ["stratum", "arm"]),
        "cohort": ("home_researcher", f"/research/participants/{pid}/cohort", ["cohort_id"]),
        "withdrawal": ("home_researcher", f"/research/participants/{pid}/withdrawal",
                       ["kind", "reason", "on"]),
        "adverse event": ("home_researcher", f"/research/participants/{pid}/adverse-events",
                          ["alert_id", "description", "onset_on", "severity", "serious",
                           "relatedness", "action_taken", "outcome"]),
        "study setup": ("home_researcher", f"/research/studies/{home.study.id}/setup",
                        ["randomisation_method", "consent_version", "block_sizes",
                         "list_length", "strata", "strata_levels", "eligibility_rules"]),
        "questionnaire": ("member", f"/q/{tp}/BDI-II", [*bdi, "action"]),
        "questionnaire answer": ("member", f"/q/{tp}/BDI-II/answer", ["item", "value"]),
        "rater entry": ("home_rater", f"/rate/{home.study.id}/{pid}/{tp}/GRID-HAMD",
                        [*hamd, "action"]),
        "removal": ("admin", f"/admin/removals/{world.control_participant.id}", ["confirm"]),
        "account": ("admin", f"/admin/users/{home.member.id}/active", ["active"]),
    }


_TOKEN = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def _snapshot() -> dict[str, list]:
    db.session.expire_all()
    return {table.name: sorted(map(repr, db.session.execute(select(table)).all()))
            for table in db.metadata.sorted_tables}


def _signed_in_client(app, world: World, who: str | None):
    client = app.test_client()
    if who is not None:
        sign_in(client, world.users[who])
    page = client.get("/settings/" if who else "/auth/sign-in").get_data(as_text=True)
    return client, _TOKEN.search(page).group(1)


FORMS = ["sign-in", "reset request", "reset password", "change password", "language",
         "settings", "practice log", "practice edit", "post", "reply", "post edit", "flag",
         "hide", "moderation", "meeting record", "attendance register",
         "attendance import confirm", "alert note", "screening", "consent", "randomisation",
         "cohort", "withdrawal", "adverse event", "study setup", "questionnaire",
         "questionnaire answer", "rater entry", "removal", "account"]


#: forms that answer an accepted submission with something other than a redirect
ACCEPTED = {"questionnaire answer": 200}  # the page's script gets {"saved": ...}


@pytest.mark.parametrize("form", FORMS)
def test_form_survives_arbitrary_input(app, form):
    world = gen_world()
    who, path, fields = _forms(world)[form]
    client, token = _signed_in_client(app, world, who)

    @FUZZ
    @given(values=st.fixed_dictionaries({name: VALUE for name in fields}),
           stray=st.dictionaries(st.sampled_from(["csrf_token2", "id", "user_id", "role",
                                                  "study_id", "submit", "x"]), VALUE,
                                 max_size=2))
    def submit(values, stray):
        data = {k: v for k, v in {**stray, **values}.items() if v is not None}
        data["csrf_token"] = token
        before = _snapshot()
        response = client.post(path, data=data)
        assert response.status_code < 500, (form, data, response.status_code)
        if response.status_code != ACCEPTED.get(form, 302):
            assert _snapshot() == before, f"{form}: a refused submission changed data"

    submit()


def test_attendance_upload_survives_arbitrary_files(app):
    world = gen_world()
    client, token = _signed_in_client(app, world, "leader")
    path = f"/facilitate/cohorts/{world.home.cohort.id}/meetings/1/import"
    contents = st.one_of(
        st.binary(max_size=2000),
        st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=500)
        .map(str.encode),
        st.lists(st.lists(st.sampled_from(ODD[:30]), min_size=1, max_size=5),
                 max_size=20).map(lambda rows: b"Name,Email,Duration (Minutes),Join,Leave\n"
 + "\n".join(",".join(r) for r in rows)
                                  .encode("utf-8", "replace")),
        st.just(b"Name,Duration (Minutes)\n" + b"a,1\n" * 5000),
        st.just(b"x" * (2 * 1024 * 1024 + 10)),
    )

    @FUZZ
    @given(data=contents)
    def upload(data):
        before = _snapshot()
        response = client.post(path, data={"csrf_token": token,
                                           "report": (io.BytesIO(data), "report.csv")},
                               content_type="multipart/form-data")
        assert response.status_code < 500, response.status_code
        assert _snapshot() == before  # reviewing an upload never writes

    upload()


def test_feed_paging_survives_arbitrary_cursors(app):
    world = gen_world()
    client, _token = _signed_in_client(app, world, "member")
    path = f"/groups/{world.home.group.id}"
    cursors = st.one_of(
        st.sampled_from([*ODD, "1-9223372036854775808", "1-" + "9" * 30, "-1--1"]),
        st.tuples(st.integers(-2**70, 2**70), st.integers(-2**70, 2**70))
        .map(lambda pair: f"{pair[0]}-{pair[1]}"),
        TEXT)

    @FUZZ
    @given(before=cursors, per=st.one_of(st.sampled_from(ODD), st.integers().map(str)))
    def page(before, per):
        response = client.get(path, query_string={"before": before, "per": per})
        assert response.status_code in (200, 400), (before, per, response.status_code)

    page()
