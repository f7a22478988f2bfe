"""Every form, fed arbitrary input: never a server error, and a refused submission writes nothing.

Each case signs in the person the form is for (in the world of ``tests.factories_world``) and
posts, with a valid CSRF token, fields drawn from text of any script, huge text, negative,
enormous and non-numeric numbers, impossible dates, NUL bytes, or nothing at all, plus stray
fields. A submission the app does not accept (any answer but a redirect) must leave every
table as it was. Forms with a known valid submission (``_valid``) are also fed that submission
with up to three fields replaced, so the paths behind the validators are reached too.

``test_every_post_endpoint_is_fuzzed_or_takes_no_field`` walks the URL map: a new endpoint that
accepts POST fails it until it is added here or to ``FIELDLESS``.
"""

from __future__ import annotations

import inspect
import io
import re
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from models import GroupMembership, Invitation, Participant, db, utcnow
from program.accounts import two_factor
from program.core.tokens import token_hash
from program.instruments.library import load_library
from program.trial.eligibility import CFT_ELIGIBILITY
from tests.conftest import sign_in
from tests.factories import gen_cohort, gen_timepoint, gen_user
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

#: multi-select fields: drawn as a list of values as well as a single one
MULTI = {"instruments", "leaders", "assistants", "checklist", "participants", "library",
         "factors"}

FUZZ = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.data_too_large])


def _applicant(world: World) -> Participant:
    """A person who applied to the home study, whose screening is fuzzed."""
    study = world.home.study
    study.eligibility_rules = CFT_ELIGIBILITY
    study.consent_version = "v1"
    study.baseline_characteristics = SETUP_CHARACTERISTICS
    participant = Participant(study_id=study.id, code="A-FUZZ", status="applied")
    db.session.add(participant)
    db.session.commit()
    return participant


#: the home study's baseline characteristics while its set-up forms are fuzzed
SETUP_CHARACTERISTICS = [
    {"key": "gender", "label": None, "type": "choice", "choices": ["female", "male", "other"]},
    {"key": "age", "label": None, "type": "number", "choices": []},
    {"key": "site", "label": None, "type": "choice", "choices": ["tokyo", "osaka"]},
    {"key": "prior_meditation", "label": None, "type": "yes_no", "choices": []},
]


def _setup_objects(world: World) -> dict[str, int]:
    """What the study setup forms need beyond the world: names, keys and people to clash with.

    A second cohort and timepoint of the home study (a taken name, key and position), a
    facilitator who is a plain member of the home group (may not lead it) and one who is free.
    """
    home = world.home
    member_facilitator, free_facilitator = gen_user("facilitator"), gen_user("facilitator")
    db.session.add(GroupMembership(group_id=home.group.id, user_id=member_facilitator.id,
                                   role="member"))
    db.session.commit()
    gen_cohort(home.study, name="Autumn")
    gen_timepoint(home.study, "post", 2)
    return {"member_facilitator": member_facilitator.id, "free_facilitator": free_facilitator.id}


INVITATION_TOKEN = "invitation-token-for-the-fuzzer-0001"


def _invitation(world: World) -> int:
    """An open invitation to a new researcher, whose link the accept form is fuzzed on."""
    invitation = Invitation(email="invited@example.org", display_name="Invited",
                            role="researcher", locale="en", token_hash=token_hash(
                                INVITATION_TOKEN), invited_by_id=world.users["admin"].id,
                            expires_at=utcnow() + timedelta(days=7))
    db.session.add(invitation)
    db.session.commit()
    return invitation.id


def _forms(world: World) -> dict[str, tuple[str | None, str, list[str]]]:
    """form -> (who posts it, path, fields)."""
    home = world.home
    g, p, c = home.group.id, world.post.id, home.cohort.id
    tp, pid = home.timepoint.id, home.participant.id
    applicant = _applicant(world).id
    invitation = _invitation(world)
    study = home.study.id
    uc_arm = next(arm.id for arm in home.study.arms if arm.key == "UC")
    arm = ["key", "name", "receives_program", "allocation_ratio"]
    cohort = ["name", "start_date", "timezone", "meeting_weekday", "meeting_time",
              "cadence_days", "session_count", "release_lead_minutes", "video_link",
              "min_minutes_present", "status"]
    timepoint = ["key", "label", "position", "opens_day", "closes_day", "instruments"]
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
        "notifications": ("member", "/settings/notifications/",
                          ["channel_release_notice", "channel_meeting_reminder",
                           "channel_post_reply", "channel_assessment_invitation",
                           "channel_practice_reminder", "quiet_start", "quiet_end",
                           "practice_days", "practice_time"]),
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
        "reschedule": ("leader", f"/facilitate/cohorts/{c}/meetings/1/reschedule",
                       ["change", "new_start"]),
        "attendance register": ("leader", f"/facilitate/cohorts/{c}/meetings/1/register",
                                ["fill", f"status-{pid}", f"minutes-{pid}", "status-999999",
                                 "minutes-x"]),
        "attendance import confirm": (
            "leader", f"/facilitate/cohorts/{c}/meetings/1/import/confirm",
            ["rows", "confirm-0", "participant-0", "minutes-0", "confirm-1", "participant-1",
             "minutes-1"]),
        "alert note": ("leader", f"/alerts/{world.alert.id}/note", ["note"]),
        "alert hide post": ("leader", f"/alerts/{world.alert.id}/hide", ["reason"]),
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
        "questionnaire": ("member", f"/q/{tp}/BDI-II", [*bdi, "action"]),
        "questionnaire answer": ("member", f"/q/{tp}/BDI-II/answer", ["item", "value"]),
        "rater entry": ("home_rater", f"/rate/{home.study.id}/{pid}/{tp}/GRID-HAMD",
                        [*hamd, "action"]),
        "removal": ("admin", f"/admin/removals/{world.control_participant.id}", ["confirm"]),
        "account": ("admin", f"/admin/users/{home.member.id}/active", ["active"]),
        "arm": ("home_researcher", f"/research/studies/{study}/arms", arm),
        "arm edit": ("home_researcher", f"/research/studies/{study}/arms?arm={uc_arm}", arm),
        "cohort setup": ("home_researcher", f"/research/studies/{study}/cohorts", cohort),
        "cohort edit": ("home_researcher", f"/research/cohorts/{c}/edit", cohort),
        "timepoint": ("home_researcher", f"/research/studies/{study}/timepoints", timepoint),
        "timepoint edit": ("home_researcher", f"/research/timepoints/{tp}/edit", timepoint),
        "group staff": ("home_researcher", f"/research/groups/{g}/staff",
                        ["leaders", "assistants"]),
        "new study": ("home_researcher", "/research/studies/new",
                      ["title", "key", "design", "program", "registration_id", "code_prefix"]),
        "new study by admin": ("admin", "/research/studies/new",
                               ["title", "key", "design", "program", "registration_id",
                                "code_prefix", "lead_id"]),
        "eligibility": ("home_researcher", f"/research/studies/{study}/eligibility",
                        ["age_min", "age_max", "instrument", "min_score", "numbers-0-text",
                         "numbers-0-minimum", "numbers-0-maximum", "inclusions-0-text",
                         "inclusions-0-remove", "exclusions-0-text", "exclusions-1-text",
                         "more"]),
        "characteristics": ("home_researcher", f"/research/studies/{study}/characteristics",
                            ["library", "choices_site", "choices_gender", "custom-0-name",
                             "custom-0-kind", "custom-0-choice_list", "custom-0-remove",
                             "more"]),
        "baseline": ("home_researcher", f"/research/participants/{applicant}/baseline",
                     ["bl-gender", "bl-age", "bl-site", "bl-prior_meditation"]),
        "randomisation setup": ("home_researcher", f"/research/studies/{study}/randomisation",
                                ["method", "block_sizes", "list_length", "factors"]),
        "consent version": ("home_researcher", f"/research/studies/{study}/consent",
                            ["version", "sheet_text", "sheet_file", "current"]),
        "study staff": ("home_researcher", f"/research/studies/{study}/staff",
                        ["user_id", "is_clinician", "blind_to_arm"]),
        "study safety": ("home_researcher", f"/research/studies/{study}/safety",
                         ["risk_posts_visible", "escalation_minutes"]),
        "current information sheet": ("home_researcher",
                                      f"/research/studies/{study}/consent/current",
                                      ["version_id"]),
        "study staff removal": ("home_researcher", f"/research/studies/{study}/staff/remove",
                                ["user_id"]),
        "crisis contact": ("home_researcher", f"/research/studies/{study}/crisis-contacts",
                           ["country", "kind", "name", "number", "always_open", "opens_at",
                            "closes_at", "languages", "free"]),
        "crisis contacts confirm": ("home_researcher",
                                    f"/research/studies/{study}/crisis-contacts/confirm",
                                    ["country"]),
        "crisis contact removal": ("home_researcher",
                                   f"/research/studies/{study}/crisis-contacts/remove",
                                   ["contact_id"]),
        "wording": ("home_researcher", f"/research/studies/{study}/wording",
                    ["instrument", "language", "wording_text", "wording_file"]),
        "invite staff": ("admin", "/admin/invitations", ["email", "name", "role", "language"]),
        "bulk invitation confirm": ("admin", "/admin/invitations/bulk/confirm", ["rows"]),
        "role change": ("admin", f"/admin/users/{home.facilitator.id}/role", ["role"]),
        "removal request": ("home_researcher", f"/research/participants/{pid}/removal-request",
                            ["confirm"]),
        "contact log": ("home_researcher", f"/research/participants/{pid}/contacts",
                        ["kind", "contacted_at", "outcome", "next_step"]),
        "participant invitation": ("home_researcher", f"/research/participants/{pid}/invitation",
                                   ["email", "language"]),
        "invitation accept": (None, f"/invitation/{INVITATION_TOKEN}",
                              ["name", "password", "confirm"]),
        "cohort facilitator": ("home_researcher", f"/research/cohorts/{c}/facilitators",
                               ["user_id", "role"]),
        "cohort participants": ("home_researcher", f"/research/cohorts/{c}/participants",
                                ["participants"]),
        "form groups": ("home_researcher", f"/research/cohorts/{c}/groups/form",
                        ["small_size"]),
        "group move": ("home_researcher", f"/research/groups/{g}/move", ["user_id", "to_group"]),
        "group leader": ("home_researcher", f"/research/groups/{g}/leader", ["leader"]),
        "applications": ("home_researcher", f"/research/studies/{study}/applications",
                         ["accepting"]),
        "add applicant": ("home_researcher", f"/research/studies/{study}/applicants",
                          ["submission_token"]),
        "resend invitation": ("admin", f"/admin/invitations/{invitation}/resend", ["link"]),
    }


BULK_CSV = ("email,name,role,language\nb1@example.org,B One,rater,en\n"
            "b2@example.org,B Two,admin,zh\n")
COHORT = {"name": "Spring", "start_date": "2027-03-01", "timezone": "Asia/Tokyo",
          "meeting_weekday": "0", "meeting_time": "19:30", "cadence_days": "7",
          "session_count": "12", "release_lead_minutes": "60",
          "video_link": "https://video.example.org/room", "min_minutes_present": "45",
          "status": "planned"}


def _valid(world: World, extra: dict[str, int]) -> dict[str, dict]:
    """form -> a submission the form accepts (in a fresh world)."""
    home = world.home
    return {
        "arm": {"key": "WL", "name": "Wait list", "receives_program": "y",
                "allocation_ratio": "2"},
        "arm edit": {"key": "UC", "name": "Usual care", "allocation_ratio": "1"},
        "cohort setup": COHORT,
        "cohort edit": {**COHORT, "name": home.cohort.name, "status": "running"},
        "timepoint": {"key": "fu", "label": "Follow-up", "position": "3", "opens_day": "84",
                      "closes_day": "98", "instruments": ["BDI-II", "DASS-21"]},
        "timepoint edit": {"key": "pre", "label": "Baseline", "position": "1",
                           "opens_day": "-60", "closes_day": "120",
                           "instruments": ["BDI-II", "GRID-HAMD"]},
        "group staff": {"leaders": [str(home.facilitator.id)],
                        "assistants": [str(extra["free_facilitator"])]},
        "new study": {"title": "Next trial", "key": "next-trial", "design": "rct",
                      "program": "cft", "registration_id": "", "code_prefix": "N"},
        "new study by admin": {"title": "Next trial", "key": "next-trial", "design": "rct",
                               "program": "msc", "code_prefix": "N",
                               "lead_id": str(world.users["home_researcher"].id)},
        "eligibility": {"age_min": "18", "age_max": "60", "instrument": "BDI-II",
                        "min_score": "20", "inclusions-0-text": "Depression",
                        "exclusions-0-text": "Psychosis"},
        "characteristics": {"library": ["gender", "site"], "choices_site": "Tokyo, Osaka",
                            "custom-0-name": "Shift work", "custom-0-kind": "yes_no"},
        "baseline": {"bl-gender": "female", "bl-age": "40", "bl-site": "tokyo",
                     "bl-prior_meditation": "no"},
        "randomisation setup": {"method": "minimisation", "block_sizes": "4",
                                "list_length": "20", "factors": ["site"]},
        "consent version": {"version": "v9", "sheet_text": "Sheet", "current": "y"},
        "study staff": {"user_id": str(home.facilitator.id), "is_clinician": "y"},
        "study safety": {"risk_posts_visible": "y", "escalation_minutes": "45"},
        "crisis contact": {"country": "JP", "kind": "crisis_line", "name": "Line",
                           "number": "0120-000-000", "languages": "ja", "free": "yes",
                           "opens_at": "10:00", "closes_at": "22:00"},
        "crisis contacts confirm": {"country": "CN"},
        "wording": {"instrument": "BDI-II", "language": "ja",
                    "wording_text": "items: {1: 悲しさ}"},
        "invite staff": {"email": "new.rater@example.org", "name": "New Rater",
                         "role": "rater", "language": "ja"},
        "bulk invitation confirm": {"rows": BULK_CSV},
        "role change": {"role": "researcher"},
        "invitation accept": {"name": "Invited", "password": "a long passphrase",
                              "confirm": "a long passphrase"},
        "cohort facilitator": {"user_id": str(extra["free_facilitator"]),
                               "role": "co_therapist"},
        "form groups": {"small_size": "3"},
        "add applicant": {"submission_token": "fuzz-applicant-form-1"},
        "resend invitation": {},
    }


def _hints(world: World, extra: dict[str, int]) -> dict[str, list]:
    """field -> values worth trying beside the arbitrary ones: near-valid, taken, edge."""
    home = world.home
    people = [home.facilitator.id, extra["free_facilitator"], extra["member_facilitator"],
              world.other.facilitator.id, home.member.id, 2**31, 0]
    return {
        "key": ["UC", "CFT", "pre", "post", "WL", "x" * 21, "x" * 31],
        "name": ["Autumn", home.cohort.name, "x" * 121],
        "label": ["Baseline", "x" * 81],
        "timezone": ["Asia/Tokyo", "UTC", "Etc/GMT+14"],
        "country": ["JP", "CN", "ZZ", "XQ", ""],
        "number": ["119", "+81 3-1234-5678", "0120-279-338", "x" * 41],
        "contact_id": ["1", "0", "-1", str(2**31)],
        "opens_at": ["09:00", "24:00", ""],
        "meeting_time": ["19:30", "00:00", "23:59", "24:00", "7:5", "19:30:59"],
        "meeting_weekday": ["0", "6", "7"],
        "status": ["planned", "running", "finished", "cancelled"],
        "video_link": ["https://video.example.org/room", "javascript:alert(1)",
                       "http://localhost:99999/x", "https://" + "a" * 500 + ".org"],
        "instruments": sorted(load_library()),
        "position": ["1", "2", "3", "101", "2147483648"],
        "opens_day": ["-3650", "3650", "3651", "0"],
        "closes_day": ["-3650", "3650", "-3651", "0"],
        "cadence_days": ["1", "60", "61"],
        "session_count": ["1", "100", "101"],
        "release_lead_minutes": ["0", "20160", "20161"],
        "min_minutes_present": ["0", "600", "601"],
        "allocation_ratio": ["1", "20", "21"],
        "design": ["rct", "single_arm"],
        "program": ["cft", "msc"],
        "code_prefix": ["P", "AB12", "p", "ABCDEFGHI"],
        "lead_id": [str(world.users["home_researcher"].id), str(home.member.id), "0"],
        "age_min": ["18", "130", "131"],
        "age_max": ["17", "60", "-1"],
        "instrument": ["BDI-II", "SWLS", ""],
        "min_score": ["0", "20", "10001"],
        "more": ["numbers", "inclusions", "exclusions", "custom"],
        "numbers-0-minimum": ["2", "0", "-10001"],
        "library": ["gender", "site", "age", "education", "prior_meditation"],
        "custom-0-kind": ["number", "choice", "yes_no"],
        "bl-gender": ["female", "male", "other"],
        "bl-site": ["tokyo", "osaka"],
        "bl-age": ["18", "130", "-1"],
        "bl-prior_meditation": ["yes", "no"],
        "method": ["none", "simple", "blocks", "stratified_blocks", "minimisation"],
        "block_sizes": ["2, 4", "4", "0", "61"],
        "list_length": ["1", "2000", "2001"],
        "factors": ["site", "gender", "age"],
        "receives_program": ["y", "false", "on"],
        "email": ["invited@example.org", home.member.email, "a@b", "x@example.org"],
        "role": ["admin", "researcher", "participant", "rater", "boss", "lead_therapist",
                 "co_therapist", "teacher"],
        "language": ["en", "ja", "zh", "fr"],
        "rows": [BULK_CSV, BULK_CSV + "x@example.org,X,boss,en\n", "email\n", ""],
        "leaders": [str(i) for i in people],
        "assistants": [str(i) for i in people],
        "user_id": [str(i) for i in people] + [str(world.users["home_researcher"].id)],
        "leader": [str(i) for i in people],
        "participants": [str(home.participant.id), str(world.control_participant.id), "0"],
        "small_size": ["1", "2", "3", "50", "51"],
        "to_group": [str(home.group.id), str(world.other.group.id), "0"],
        "change": ["move", "shift", "makeup", "cancel"],
        "new_start": ["2036-01-01T10:00", "0001-01-01T10:00", "9999-12-31T23:59",
                      "2026-13-01T25:61", f"{utcnow().year + 1}-06-02T09:00"],
        "postponed_to": ["2036-01-01T10:00", "0001-01-01T10:00", "9999-12-31T23:59"],
        "actual_start": ["0001-01-01T10:00", "9999-12-31T23:59"],
    }


def _field(name: str, hints: list | None):
    one = st.one_of(VALUE, st.sampled_from(hints)) if hints else VALUE
    if name in MULTI:
        return st.one_of(one, st.lists(one.filter(lambda v: v is not None), max_size=4))
    return one


def _submissions(fields: list[str], hints: dict[str, list], valid: dict | None):
    """Arbitrary values for every field, or a valid submission with a few of them replaced."""
    arbitrary = st.fixed_dictionaries({name: _field(name, hints.get(name)) for name in fields})
    if valid is None:
        return arbitrary
    return st.one_of(arbitrary, st.tuples(arbitrary, st.sets(st.sampled_from(fields),
                                                               max_size=3))
                     .map(lambda drawn: {**valid, **{k: drawn[0][k] for k in drawn[1]}}))


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
         "settings", "notifications", "practice log", "practice edit", "post", "reply",
         "post edit", "flag",
         "hide", "moderation", "meeting record", "reschedule", "attendance register",
         "attendance import confirm", "alert note", "alert hide post", "screening", "consent",
         "randomisation",
         "cohort", "withdrawal", "adverse event", "questionnaire",
         "questionnaire answer", "rater entry", "removal", "account", "arm", "arm edit",
         "cohort setup", "cohort edit", "timepoint", "timepoint edit", "group staff",
         "new study", "new study by admin", "eligibility", "characteristics", "baseline",
         "randomisation setup", "consent version", "current information sheet", "study staff",
         "study safety",
         "study staff removal", "crisis contact", "crisis contacts confirm",
         "crisis contact removal",
         "wording",
         "invite staff", "bulk invitation confirm", "role change", "participant invitation",
         "invitation accept",
         "cohort facilitator", "cohort participants", "form groups", "group move",
         "group leader", "applications", "contact log", "removal request", "add applicant",
         "resend invitation"]


#: forms that answer an accepted submission with something other than a redirect
ACCEPTED = {"questionnaire answer": 200}  # the page's script gets {"saved": ...}


@pytest.mark.parametrize("form", FORMS)
def test_form_survives_arbitrary_input(app, form):
    world = gen_world()
    extra = _setup_objects(world)
    who, path, fields = _forms(world)[form]
    client, token = _signed_in_client(app, world, who)

    @FUZZ
    @given(values=_submissions(fields, _hints(world, extra), _valid(world, extra).get(form)),
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


def test_online_application_forms_survive_arbitrary_input(app):
    """The public application page, the screening questionnaire and online consent, fed
    arbitrary input by a visitor who is not signed in."""
    from program.trial import applications

    world = gen_world()
    study = world.home.study
    study.eligibility_rules, study.consent_version = CFT_ELIGIBILITY, "v1"
    study.accepts_applications = True
    db.session.commit()
    _application, link = applications.apply_online(study.id, "fuzz@example.org", "en")
    client, token = _signed_in_client(app, world, None)
    rule_keys = [rule["key"] for rule in CFT_ELIGIBILITY]
    answers = st.one_of(VALUE, st.sampled_from(["yes", "no", "25", "40"]))

    @FUZZ
    @given(form=st.sampled_from(["start", "screening", "consent"]),
           values=st.fixed_dictionaries({name: answers for name in
                                         ["email", "contact", "agree", *rule_keys]}))
    def submit(form, values):
        path = {"start": f"/apply/{study.key}", "screening": f"/apply/continue/{link}/screening",
                "consent": f"/apply/continue/{link}/consent"}[form]
        data = {k: v for k, v in values.items() if v is not None}
        data["csrf_token"] = token
        before = _snapshot()
        response = client.post(path, data=data)
        assert response.status_code < 500, (form, data, response.status_code)
        if response.status_code not in (302, 429):
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


def test_bulk_invitation_upload_survives_arbitrary_files(app):
    world = gen_world()
    client, token = _signed_in_client(app, world, "admin")
    header = b"email,name,role,language\n"
    contents = st.one_of(
        st.binary(max_size=2000),
        st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=500)
        .map(str.encode),
        st.lists(st.lists(st.sampled_from(ODD[:30]), min_size=1, max_size=5), max_size=20)
        .map(lambda rows: header + "\n".join(",".join(r) for r in rows)
             .encode("utf-8", "replace")),
        st.just(header + b"a@example.org,A,rater,en\n" * 600),
        st.just(b"x" * (1024 * 1024 + 10)),
    )

    @FUZZ
    @given(data=contents)
    def upload(data):
        before = _snapshot()
        response = client.post("/admin/invitations/bulk",
                               data={"csrf_token": token, "file": (io.BytesIO(data), "x.csv")},
                               content_type="multipart/form-data")
        assert response.status_code == 200, response.status_code
        assert _snapshot() == before  # the preview never writes

    upload()


def test_recording_upload_survives_arbitrary_files(app):
    world = gen_world()
    client, token = _signed_in_client(app, world, "home_researcher")
    path = f"/research/studies/{world.home.study.id}/recordings"
    contents = st.one_of(
        st.binary(max_size=2000),
        st.sampled_from([b"ID3", b"OggS", b"RIFF\x00\x00\x00\x00WAVE", b"fLaC"]).flatmap(
            lambda head: st.binary(max_size=200).map(lambda tail: head + tail)),
    )
    fields = st.fixed_dictionaries({
        "practice": st.sampled_from(["mindfulness-of-sound", "no-such-practice", "", ODD[0]]),
        "language": st.sampled_from(["en", "ja", "zh", "xx", ""]),
    })

    @FUZZ
    @given(data=contents, form=fields)
    def upload(data, form):
        before = _snapshot()
        response = client.post(path, data={"csrf_token": token, **form,
                                           "audio": (io.BytesIO(data), "practice.mp3")},
                               content_type="multipart/form-data")
        assert response.status_code in (200, 302), response.status_code
        if response.status_code == 200:
            assert _snapshot() == before  # a refused upload keeps nothing

    upload()


def test_push_subscription_endpoints_survive_arbitrary_json(app):
    from models import PushSubscription

    world = gen_world()
    client, token = _signed_in_client(app, world, "member")
    json_values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=300),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
            st.sampled_from(["endpoint", "keys", "p256dh", "auth", "expirationTime", ODD[0]]),
            inner, max_size=5), max_leaves=12)

    @FUZZ
    @given(body=json_values, path=st.sampled_from(["/settings/notifications/push",
                                                   "/settings/notifications/push/remove"]))
    def post(body, path):
        response = client.post(path, json=body, headers={"X-CSRFToken": token})
        assert response.status_code in (200, 400), response.status_code
        assert response.is_json
        assert db.session.scalar(select(func.count(PushSubscription.id))) == 0

    post()


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


def test_arm_choice_survives_arbitrary_ids(app):
    """``?arm=`` picks the arm the arms form edits: anything but an arm of the study is a 404."""
    world = gen_world()
    client, token = _signed_in_client(app, world, "home_researcher")
    path = f"/research/studies/{world.home.study.id}/arms"
    own = {str(arm.id) for arm in world.home.study.arms}
    ids = st.one_of(st.sampled_from(["2147483648", str(2**63), str(2**70), "-1", "0"]),
                    st.sampled_from(ODD), st.integers(-2**70, 2**70).map(str), TEXT)

    @FUZZ
    @given(arm=ids, post=st.booleans())
    def choose(arm, post):
        before = _snapshot()
        response = client.open(path, method="POST" if post else "GET",
                               query_string={"arm": arm}, data={"csrf_token": token})
        assert response.status_code < 500, (arm, post, response.status_code)
        if arm.strip() not in own and arm and response.status_code != 400:
            assert response.status_code == 404, (arm, response.status_code)
        assert _snapshot() == before  # no name or key given: nothing is saved

    choose()


def _two_factor_on(user) -> list[str]:
    """Turn two-factor sign-in on for ``user`` (directly); returns the recovery codes."""
    user.two_factor_secret = two_factor.encrypt_secret(two_factor.new_secret())
    user.two_factor_enabled_at = utcnow()
    codes = two_factor.replace_recovery_codes(user)
    db.session.commit()
    return codes


def _rows_added(before: dict[str, list], after: dict[str, list]) -> dict[str, list]:
    return {name: sorted(set(rows) - set(before[name])) for name, rows in after.items()
            if rows != before[name]}


def test_two_factor_forms_survive_arbitrary_input(app):
    """The code forms of two-factor sign-in need a state a plain signed-in client lacks (half
    signed in, an enrolment under way, two-factor sign-in on), so they are fuzzed here. A wrong
    code writes nothing but, at sign-in, its audit entry."""
    app.config.update(TWO_FACTOR_LIMIT_PER_ACCOUNT="100000 per minute",
                      LOGIN_LIMIT_PER_PAIR="100000 per minute",
                      LOGIN_LIMIT_PER_ACCOUNT="100000 per minute",
                      LOGIN_LIMIT_PER_ADDRESS="100000 per minute")  # reach the views
    world = gen_world()
    enrolling, enrolling_token = _signed_in_client(app, world, "member")
    assert enrolling.post("/settings/two-factor/start",
                          data={"csrf_token": enrolling_token}).status_code == 302
    leader = world.users["leader"]
    codes = _two_factor_on(leader)
    enrolled = app.test_client()
    sign_in(enrolled, leader)
    page = enrolled.get("/auth/two-factor").get_data(as_text=True)
    assert enrolled.post("/auth/two-factor", data={
        "code": codes[0], "csrf_token": _TOKEN.search(page).group(1)}).status_code == 302
    enrolled_token = _TOKEN.search(enrolled.get("/settings/").get_data(as_text=True)).group(1)
    half = app.test_client()
    sign_in(half, leader)  # the password step: half signed in
    half_token = _TOKEN.search(half.get("/auth/two-factor").get_data(as_text=True)).group(1)
    cases = [
        (half, half_token, "/auth/two-factor", ["code"]),
        (enrolling, enrolling_token, "/settings/two-factor/confirm", ["code"]),
        (enrolled, enrolled_token, "/settings/two-factor/disable", ["code", "password"]),
        (enrolled, enrolled_token, "/settings/two-factor/recovery-codes", ["code", "password"]),
    ]
    hints = ["000000", "123456", " 000 000 ", "0000000", "\u0661\u0662\u0663\u0664\u0665\u0666",
             "１２３４５６", "abcde-fghjk", "ABCDE FGHJK", codes[0], "x" * 33]
    def fuzz(client, token: str, path: str, fields: list[str]):
        @FUZZ
        @given(values=st.fixed_dictionaries(
            {name: st.one_of(VALUE, st.sampled_from(hints)) for name in fields}))
        def submit(values):
            data = {k: v for k, v in values.items() if v is not None}
            data["csrf_token"] = token
            before = _snapshot()
            response = client.post(path, data=data)
            assert response.status_code < 500, (path, data, response.status_code)
            assert response.status_code != 302 or path == "/auth/two-factor", (path, data)
            added = _rows_added(before, _snapshot())
            if path == "/auth/two-factor" and response.status_code == 200:
                assert set(added) <= {"audit_entries"}, added  # the failed attempt
                assert all("auth.second_factor_failed" in row for row in
                           added.get("audit_entries", [])), added
            elif response.status_code != 302:
                assert added == {}, f"{path}: a refused submission changed data"

        submit()

    for case in cases:
        fuzz(*case)


@pytest.mark.parametrize(("who", "path", "data", "status"), [
    # a submission token longer than its column: PostgreSQL refused the row (503)
    ("member", "/groups/{g}/posts", {"body": "0", "submission_token": "[" * 5_000}, 400),
    ("member", "/groups/{g}/posts/{p}/reply", {"body": "0", "submission_token": "x" * 65}, 400),
    # an arm id past a 64-bit integer: an overflow on SQLite (500), a 503 on PostgreSQL
    ("home_researcher", f"/research/studies/{{s}}/arms?arm={2**63}", {}, 404),
    ("home_researcher", "/research/studies/{s}/arms?arm=2147483648", {}, 404),
])
def test_inputs_fuzzing_found_are_refused(app, who, path, data, status):
    """What fuzzing found, kept as fixed cases: refused, and nothing written."""
    world = gen_world()
    client, token = _signed_in_client(app, world, who)
    path = path.format(g=world.home.group.id, p=world.post.id, s=world.home.study.id)
    before = _snapshot()
    assert client.post(path, data={**data, "csrf_token": token}).status_code == status
    assert _snapshot() == before


#: POST endpoints that take no field but the CSRF token: the URL names the whole action, so
#: there is nothing to fuzz. Every one is also posted CSRF-only by every kind of visitor in
#: tests/test_authz_matrix.py (no 5xx, a refusal writes nothing); the test named covers its effect.
FIELDLESS = {
    "auth.sign_out",  # test_security_session: ..._dead_after_signing_out, test_auth
    "auth.sign_out_everywhere",  # test_security_session: test_sign_out_everywhere_ends_...
    "participant.session_done",  # test_delivery_participant: ..._and_mark_as_done
    "participant.session_opened",  # test_delivery_participant: ..._and_mark_as_done
    "settings.renew_calendar_link",  # test_calendar_privacy: ..._and_the_old_one_stops
    "study_setup.remove_recording",  # test_recordings: test_a_removed_recording_is_gone_...
    "alerts.release",  # test_safety_hold: test_a_clinician_releases_a_held_post_from_the_alert_once
    "participant.practice_delete",  # test_delivery_participant: test_edit_and_delete_own_...
    "groups.delete",  # test_groups: test_only_the_author_edits_or_deletes_a_post
    "alerts.act",  # own/acknowledge/close in the URL; test_alerts: test_working_an_alert_...
    "researcher.generate_list",  # test_trial_researcher: test_from_application_to_allocation_...
    "researcher.assign_groups",  # test_trial_operations: test_groups_are_filled_by_size_...
    "two_factor.start",  # test_two_factor: test_enrolment_shows_a_qr_code_and_the_key_...
    "cohort_staff.remove_facilitator",  # test_cohort_groups: test_facilitators_are_given_...
    "admin.reset_two_factor",  # test_two_factor: test_an_admin_resets_two_factor_for_a_lost_...
    "study_setup.generate_list",  # test_setup_randomisation: test_stratified_blocks_by_two_...
    "admin.revoke_invitation",  # test_invitations: test_a_revoked_link_is_refused
}
#: POST endpoints whose field is a file, or whose form needs a state beyond a signed-in user,
#: fuzzed by a test of their own in this module
OWN_FUZZ_TEST = {
    "facilitator.attendance_import_upload": "test_attendance_upload_survives_arbitrary_files",
    "admin.bulk_upload": "test_bulk_invitation_upload_survives_arbitrary_files",
    "study_setup.recordings_page": "test_recording_upload_survives_arbitrary_files",
    "notifications.subscribe": "test_push_subscription_endpoints_survive_arbitrary_json",
    "notifications.unsubscribe": "test_push_subscription_endpoints_survive_arbitrary_json",
    "auth.two_factor_step": "test_two_factor_forms_survive_arbitrary_input",
    "two_factor.confirm": "test_two_factor_forms_survive_arbitrary_input",
    "two_factor.disable": "test_two_factor_forms_survive_arbitrary_input",
    "two_factor.regenerate": "test_two_factor_forms_survive_arbitrary_input",
    "apply.start": "test_online_application_forms_survive_arbitrary_input",
    "apply.screening": "test_online_application_forms_survive_arbitrary_input",
    "apply.consent": "test_online_application_forms_survive_arbitrary_input",
}

#: what a view that reads submitted fields contains
_READS_FIELDS = re.compile(r"request\.(form|files|values|json|get_json)|(?<!Action)Form\(")


def test_every_post_endpoint_is_fuzzed_or_takes_no_field(app):
    """A new form fails here, by endpoint, until it is added to ``_forms`` and ``FORMS``."""
    world = gen_world()
    _setup_objects(world)
    forms = _forms(world)
    assert sorted(forms) == sorted(FORMS), "every form of _forms is listed in FORMS"
    adapter = app.url_map.bind("hearth.test")
    fuzzed = {adapter.match(path.split("?")[0], method="POST")[0]
              for _who, path, _fields in forms.values()}
    posts = {rule.endpoint for rule in app.url_map.iter_rules() if "POST" in rule.methods}
    missing = sorted(posts - fuzzed - FIELDLESS - set(OWN_FUZZ_TEST))
    assert missing == [], (
        f"POST endpoints nobody fuzzes: {missing}. Add each form to _forms and FORMS in "
        "tests/test_fuzz_forms.py, or, if it takes no field, to FIELDLESS with its test")
    assert sorted((FIELDLESS | set(OWN_FUZZ_TEST)) - posts) == [], "stale entries"
    assert sorted(FIELDLESS & fuzzed) == [], "fuzzed endpoints need no FIELDLESS entry"
    assert all(name in globals() for name in OWN_FUZZ_TEST.values())
    reading = sorted(endpoint for endpoint in FIELDLESS if _READS_FIELDS.search(
        inspect.getsource(inspect.unwrap(app.view_functions[endpoint]))))
    assert reading == [], f"these read submitted fields now: fuzz them in _forms: {reading}"
