"""A small world for attack tests: two CFT trials, each with a cohort, a group and its people.

The "home" study is the one every URL parameter points into; the "other" study holds the
outsiders (a participant, a facilitator, a rater and a researcher of another cohort), who must
not reach any of the home study's objects. Tokens (password reset, calendar, questionnaire
link) are known in clear so the public token routes can be called.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from models import (
    AssessmentInvitation,
    Cohort,
    Group,
    OutboxMessage,
    Participant,
    PasswordResetToken,
    Post,
    PracticeLog,
    PracticeRecording,
    SafetyAlert,
    Study,
    Timepoint,
    User,
    db,
    utcnow,
)
from program.assessments import questionnaires as assessments
from program.core.tokens import token_hash
from program.courses import markdown
from tests.factories import (
    gen_cohort,
    gen_group,
    gen_participant,
    gen_staff,
    gen_study,
    gen_timepoint,
    gen_user,
)

#: tokens of the home member, stored hashed as the app stores them
RESET_TOKEN = "reset-token-for-the-home-member-0001"
LINK_TOKEN = "questionnaire-link-of-the-home-member-01"
CALENDAR_TOKEN = "calendar-token-of-the-home-member-01"
#: the practice of CFT session 1, which the home study has a recording of
RECORDED_PRACTICE = "mindfulness-of-sound"


@dataclass
class Side:
    """One study with its cohort, group and people."""

    study: Study
    cohort: Cohort
    group: Group
    timepoint: Timepoint
    facilitator: User  #: facilitates the cohort and leads the group
    member: User  #: a participant of the program arm, in the cohort and the group
    participant: Participant  #: ``member``'s study record
    researcher: User
    rater: User


@dataclass
class World:
    home: Side
    other: Side
    control: User  #: a usual-care participant of the home study (no cohort, no group)
    control_participant: Participant
    admin: User
    post: Post  #: the home member's thread in the home group
    log: PracticeLog  #: the home member's practice log
    alert: SafetyAlert  #: an alert on ``post``, for the home group's leader
    recording: PracticeRecording  #: the home study's recording of session 1's practice
    users: dict[str, User] = field(default_factory=dict)


def gen_side(*, start: date | None = None) -> Side:
    study = gen_study("rct", "cft")
    facilitator = gen_user("facilitator")
    cohort = gen_cohort(study, start_date=start, facilitators=[facilitator])
    member = gen_user("participant")
    participant = gen_participant(study, arm="CFT", cohort=cohort, user=member,
                                  eligible=True, randomised_at=utcnow() - timedelta(days=40))
    group = gen_group(cohort, members=[member], leaders=[facilitator])
    # open for the whole of the course, so questionnaire routes can be reached
    timepoint = gen_timepoint(study, "pre", 1, instruments=("BDI-II", "GRID-HAMD"),
                              opens_day=-60, closes_day=120)
    researcher, rater = gen_user("researcher"), gen_user("rater")
    gen_staff(study, researcher, blind=False)
    gen_staff(study, rater)
    return Side(study, cohort, group, timepoint, facilitator, member, participant, researcher,
                rater)


def gen_world() -> World:
    """The home side, the other side, a usual-care participant and an admin, with content."""
    home, other = gen_side(), gen_side()
    control = gen_user("participant")
    control_participant = gen_participant(home.study, arm="UC", user=control, eligible=True)
    control_participant.data_removal_requested_at = utcnow()
    admin = gen_user("admin")

    body = "How did the breathing practice go for everyone?"
    post = Post(group_id=home.group.id, author_id=home.member.id, title="Week 1", body=body,
                body_html=markdown.render(body), submission_token="world-post")
    log = PracticeLog(participant_id=home.participant.id, practice_key="mindfulness-of-sound",
                      practised_on=utcnow().date() - timedelta(days=1), minutes=12,
                      helpfulness=6, note="Quiet morning.", submission_token="world-log-0001")
    db.session.add_all([post, log])
    db.session.flush()
    alert = SafetyAlert(study_id=home.study.id, participant_id=home.participant.id,
                        group_id=home.group.id, source_kind="post", source_id=post.id,
                        rule="risk-phrases:en", status="open")
    now = utcnow()
    db.session.add_all([
        alert,
        AssessmentInvitation(participant_id=home.participant.id, timepoint_id=home.timepoint.id,
                             token_hash=assessments.token_hash(LINK_TOKEN),
                             expires_at=now + timedelta(days=30)),
        PasswordResetToken(user_id=home.member.id, token_hash=token_hash(RESET_TOKEN),
                           expires_at=now + timedelta(hours=2)),
        OutboxMessage(dedup_key="world:digest", recipient_id=home.member.id,
                      kind="group_digest", subject="New in your group", body_text="Body"),
    ])
    recording = PracticeRecording(study_id=home.study.id, practice_key=RECORDED_PRACTICE,
                                  language="en", content_type="audio/wav", size=12,
                                  sha256="0" * 64, data=b"RIFF\x04\x00\x00\x00WAVE")
    db.session.add(recording)
    home.member.calendar_token = CALENDAR_TOKEN
    db.session.commit()
    world = World(home=home, other=other, control=control,
                  control_participant=control_participant, admin=admin, post=post, log=log,
                  alert=alert, recording=recording)
    world.users = {
        "other_participant": other.member,
        "control_participant": control,
        "other_facilitator": other.facilitator,
        "rater": other.rater,
        "researcher": other.researcher,
        "admin": admin,
        "member": home.member,
        "leader": home.facilitator,
        "home_researcher": home.researcher,
        "home_rater": home.rater,
    }
    return world
