"""Demo data: a CFT trial in week 5 and an MSC course in week 3, with logins for every role.

Everything is keyed by natural keys (study key, email, participant code), so seeding twice
leaves the same data.
"""

from __future__ import annotations

import random
from datetime import date, time, timedelta

from sqlalchemy import func, select

from models import (
    Arm,
    Attendance,
    Cohort,
    CohortFacilitator,
    Group,
    GroupMembership,
    Meeting,
    Participant,
    Post,
    PracticeLog,
    Response,
    Score,
    Study,
    StudyStaff,
    Timepoint,
    User,
    db,
    utcnow,
    write_transaction,
)
from program.accounts.passwords import create_user
from program.safety import crisis_contacts
from program.trial.eligibility import CFT_ELIGIBILITY

DOMAIN = "hearth.example"

#: (email, display name, role, what to try) — the README lists the same table.
DEMO_LOGINS = [
    ("admin", "Ada Admin", "admin", "accounts, audit log, data removal requests"),
    ("researcher", "Rhea Researcher", "researcher", "studies, screening, randomisation, reports"),
    ("rater", "Ravi Rater", "rater", "blind GRID-HAMD ratings"),
    ("therapist", "Theo Therapist", "facilitator", "CFT cohort: register, meetings, therapy group"),
    ("msc.teacher", "Mei Teacher", "facilitator", "MSC cohort; leads small group 1"),
    ("msc.assistant", "Sam Assistant", "facilitator", "assists MSC small group 1"),
    ("cft.participant", "Chris (CFT)", "participant", "CFT arm, week 5"),
    ("uc.participant", "Uma (usual care)", "participant", "control arm: questionnaires only"),
    ("msc.participant", "Mina (MSC)", "participant", "MSC course week 3, small group 1"),
]

CFT_PRACTICES = ["mindfulness-of-sound", "soothing-rhythm-breathing", "compassionate-place",
                 "compassionate-memory", "compassionate-self"]
MSC_PRACTICES = ["soothing-touch", "self-compassion-break", "affectionate-breathing"]


def demo_email(local: str) -> str:
    return f"{local}@{DOMAIN}"


def _user(email: str, name: str, role: str, password: str, **fields) -> User:
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        user = create_user(email, name, role, password, **fields)
        db.session.flush()
    return user


def _upcoming_start(today: date, week: int) -> date:
    """A start date that puts today in the given course week (the last meeting 2 days ago)."""
    return today - timedelta(days=7 * (week - 1) + 2)


def seed(password: str, today: date | None = None) -> list[tuple[str, str, str, str]]:
    """Create the demo studies unless they exist; returns the demo logins."""
    today = today or utcnow().date()
    with write_transaction():
        users = {
            local: _user(demo_email(local), name, role, password)
            for local, name, role, _ in DEMO_LOGINS
        }
        if db.session.scalar(select(Study).where(Study.key == "cft-demo")) is None:
            _seed_cft(users, password, today)
        if db.session.scalar(select(Study).where(Study.key == "msc-demo")) is None:
            _seed_msc(users, password, today)
        for study_key, timepoint_key, instruments, skip in FOLLOW_UP:
            _follow_up(study_key, timepoint_key, instruments, skip)
    return [(demo_email(local), name, role, note) for local, name, role, note in DEMO_LOGINS]


def is_empty() -> bool:
    return not db.session.scalar(select(func.count()).select_from(User))


def _participant(study, code, arm, cohort, user, status, rng, today) -> Participant:
    user.timezone = cohort.timezone  # demo people live where their course meets
    p = Participant(
        study_id=study.id, code=code, arm_id=arm.id, cohort_id=cohort.id, user_id=user.id,
        status=status, gender=rng.choice(["female", "female", "male"]),
        birth_year=today.year - rng.randint(22, 58), applied_on=cohort.start_date - timedelta(40),
        screened_on=cohort.start_date - timedelta(30), eligible=True,
        consented_on=cohort.start_date - timedelta(28), consent_version="v1.0",
        randomised_at=utcnow() - timedelta(days=(today - cohort.start_date).days + 20),
        started_on=cohort.start_date,
    )
    db.session.add(p)
    return p


def _history(cohort, participants, practices, held, rng, today):
    """Meetings held so far with attendance, and a few practice logs per participant."""
    for number in range(1, held + 1):
        meeting_day = cohort.start_date + timedelta(days=7 * (number - 1))
        meeting = Meeting(cohort_id=cohort.id, session_number=number, outcome="held",
                          actual_minutes=90 if cohort.program == "cft" else 120,
                          checklist_done=[], notes=None)
        db.session.add(meeting)
        db.session.flush()
        for p in participants:
            present = rng.random() < 0.85
            db.session.add(Attendance(
                meeting_id=meeting.id, participant_id=p.id,
                status="present" if present else "absent",
                minutes_attended=(meeting.actual_minutes if present else 0)))
        for p in participants:
            for k in range(rng.randint(0, 3)):
                day = min(meeting_day + timedelta(days=1 + 2 * k), today)
                db.session.add(PracticeLog(
                    participant_id=p.id, practice_key=practices[min(number, len(practices)) - 1],
                    practised_on=day, minutes=rng.choice([5, 10, 15, 20]),
                    helpfulness=rng.randint(4, 10), submission_token=f"demo-{number}-{k}"))


def _baseline(study, timepoint, participants, instrument_keys, rng):
    """Submitted baseline questionnaires, scored with the instrument library."""
    from program.instruments.library import load_library
    from program.instruments.scoring import score

    library = load_library()
    for p in participants:
        for key in instrument_keys:
            instrument = library[key]
            answers = {item.number: rng.choice(item.codes) for item in instrument.items}
            result = score(instrument, answers)
            _submitted(p, timepoint, key, answers, result)


def _submitted(participant, timepoint, key, answers, result) -> None:
    """A submitted questionnaire with its tidy score rows."""
    response = Response(
        participant_id=participant.id, timepoint_id=timepoint.id, instrument_key=key,
        answers={str(k): v for k, v in answers.items()}, status="submitted",
        scores=dict(result.measures), submitted_at=utcnow())
    db.session.add(response)
    db.session.flush()
    for measure, value in result.measures.items():
        db.session.add(Score(response_id=response.id, participant_id=participant.id,
                             timepoint_id=timepoint.id, measure=measure, value=value,
                             prorated=result.prorated))


def _seed_cft(users, password, today):
    rng = random.Random(2026)
    study = Study(key="cft-demo", title="Group CFT for treatment-resistant depression (demo)",
                  design="rct", program="cft", registration_id="UMIN-DEMO-0001",
                  randomisation_method="blocks", consent_version="v1.0",
                  randomisation_settings={"seed": 20260401, "block_sizes": [2, 4]},
                  eligibility_rules=CFT_ELIGIBILITY)
    study.arms = [Arm(key="CFT", name="CFT + usual care", receives_program=True),
                  Arm(key="UC", name="Usual care", receives_program=False)]
    db.session.add(study)
    db.session.flush()
    cft, uc = study.arms
    db.session.add_all([
        StudyStaff(study_id=study.id, user_id=users["therapist"].id, is_clinician=True),
        StudyStaff(study_id=study.id, user_id=users["researcher"].id),
        StudyStaff(study_id=study.id, user_id=users["rater"].id, blind_to_arm=True),
        *crisis_contacts.default_rows("JP", study.id),
    ])
    cohort = Cohort(study_id=study.id, name="CFT cohort A", program="cft",
                    start_date=_upcoming_start(today, 5), timezone="Asia/Tokyo",
                    meeting_weekday=_upcoming_start(today, 5).weekday(), meeting_time=time(18, 30),
                    session_count=12, status="running", video_link=None, min_minutes_present=60)
    db.session.add(cohort)
    db.session.flush()
    db.session.add(CohortFacilitator(cohort_id=cohort.id, user_id=users["therapist"].id,
                                     is_lead=True, role="lead_therapist"))
    group = Group(cohort_id=cohort.id, kind="therapy", name="CFT therapy group A")
    db.session.add(group)
    db.session.flush()
    db.session.add(GroupMembership(group_id=group.id, user_id=users["therapist"].id,
                                   role="leader"))
    pre = Timepoint(study_id=study.id, key="pre", label="Before the course", position=1,
                    opens_day=-21, closes_day=0,
                    instruments=["BDI-II", "GRID-HAMD", "CEAS-self", "SCS-SF"])
    post = Timepoint(study_id=study.id, key="post", label="After the course", position=2,
                     opens_day=77, closes_day=98,
                     instruments=["BDI-II", "GRID-HAMD", "CEAS-self", "SCS-SF", "CSQ-8"])
    db.session.add_all([pre, post])
    db.session.flush()

    arms = [cft] * 10 + [uc] * 8
    cft_people, everyone = [], []
    for n, arm in enumerate(arms, start=1):
        if n == 1:
            user = users["cft.participant"]
        elif n == 11:
            user = users["uc.participant"]
        else:
            user = _user(demo_email(f"cft.p{n:02d}"), f"CFT participant {n}", "participant",
                         password)
        p = _participant(study, f"P-{n:04d}", arm, cohort, user, "active", rng, today)
        everyone.append(p)
        if arm is cft:
            cft_people.append(p)
            db.session.flush()
            db.session.add(GroupMembership(group_id=group.id, user_id=user.id))
    db.session.flush()
    _history(cohort, cft_people, CFT_PRACTICES, 5, rng, today)
    _baseline(study, pre, everyone, ["BDI-II", "CEAS-self", "SCS-SF"], rng)
    # Three people waiting to be screened, consented and randomised by the demo researcher.
    for n in (19, 20, 21):
        db.session.add(Participant(study_id=study.id, code=f"P-{n:04d}", status="applied",
                                   applied_on=today - timedelta(days=3)))
    _posts(group, [p.user_id for p in cft_people], users["therapist"].id, rng)


def _seed_msc(users, password, today):
    rng = random.Random(2027)
    study = Study(key="msc-demo", title="Mindful Self-Compassion online (demo)",
                  design="single_arm", program="msc", consent_version="v2.1")
    study.arms = [Arm(key="MSC", name="MSC course", receives_program=True)]
    db.session.add(study)
    db.session.flush()
    (arm,) = study.arms
    db.session.add_all([
        StudyStaff(study_id=study.id, user_id=users["msc.teacher"].id, is_clinician=True),
        StudyStaff(study_id=study.id, user_id=users["researcher"].id),
        *crisis_contacts.default_rows("CN", study.id),
    ])
    start = _upcoming_start(today, 3)
    cohort = Cohort(study_id=study.id, name="MSC online, autumn", program="msc",
                    start_date=start, timezone="Asia/Shanghai", meeting_weekday=start.weekday(),
                    meeting_time=time(19, 30), session_count=8, status="running",
                    video_link="https://meet.example.org/msc-autumn", min_minutes_present=80)
    db.session.add(cohort)
    db.session.flush()
    db.session.add_all([
        CohortFacilitator(cohort_id=cohort.id, user_id=users["msc.teacher"].id, is_lead=True,
                          role="teacher"),
        CohortFacilitator(cohort_id=cohort.id, user_id=users["msc.assistant"].id,
                          role="assistant_coach"),
    ])
    large = Group(cohort_id=cohort.id, kind="large", name="Everyone on the course")
    smalls = [Group(cohort_id=cohort.id, kind="small", name=f"Peer group {i}") for i in (1, 2, 3)]
    db.session.add_all([large, *smalls])
    db.session.flush()
    leaders = [users["msc.teacher"]] + [
        _user(demo_email(f"msc.leader{i}"), f"Peer group {i} leader", "facilitator", password)
        for i in (2, 3)
    ]
    for group, leader in zip(smalls, leaders, strict=True):
        db.session.add(GroupMembership(group_id=group.id, user_id=leader.id, role="leader"))
    # the small groups' leaders are the cohort's group leaders, as the cohort page makes them
    db.session.add_all([CohortFacilitator(cohort_id=cohort.id, user_id=leader.id,
                                          role="group_leader") for leader in leaders[1:]])
    db.session.add(GroupMembership(group_id=smalls[0].id, user_id=users["msc.assistant"].id,
                                   role="assistant"))
    for staff in {u.id for u in leaders} | {users["msc.assistant"].id}:
        db.session.add(GroupMembership(group_id=large.id, user_id=staff,
                                       role="leader" if staff == users["msc.teacher"].id
                                       else "assistant"))
    baseline = Timepoint(study_id=study.id, key="baseline", label="Baseline", position=1,
                         opens_day=-14, closes_day=0,
                         instruments=["SCS", "CS", "DASS-21", "FCS-self", "SWLS", "SHS",
                                      "CAMS-R"])
    week8 = Timepoint(study_id=study.id, key="week8", label="Week 8", position=2,
                      opens_day=49, closes_day=70,
                      instruments=["SCS", "CS", "DASS-21", "FCS-self", "SWLS", "SHS", "CAMS-R"])
    db.session.add_all([baseline, week8])
    db.session.flush()
    people = []
    for n in range(1, 31):
        user = users["msc.participant"] if n == 1 else _user(
            demo_email(f"msc.p{n:02d}"), f"MSC participant {n}", "participant", password)
        p = _participant(study, f"M-{n:04d}", arm, cohort, user, "active", rng, today)
        people.append(p)
        db.session.flush()
        db.session.add(GroupMembership(group_id=smalls[(n - 1) % 3].id, user_id=user.id))
        db.session.add(GroupMembership(group_id=large.id, user_id=user.id))
    db.session.flush()
    _history(cohort, people, MSC_PRACTICES, 3, rng, today)
    _baseline(study, baseline, people, ["SCS", "DASS-21", "SWLS"], rng)
    members = [p.user_id for i, p in enumerate(people) if i % 3 == 0]
    _posts(smalls[0], members, users["msc.teacher"].id, rng)
    welcome = ("Welcome, everyone. Class is on the same weekday each week; the link appears on "
               "your dashboard shortly before it starts.")
    db.session.add(Post(group_id=large.id, author_id=users["msc.teacher"].id, pinned=True,
                        title="Welcome to the course", body=welcome,
                        body_html=f"<p>{welcome}</p>"))


DEMO_POSTS = [
    "The breathing practice was harder than I expected, but I kept at it for five minutes.",
    "I noticed my inner critic a lot this week. Naming it helped a little.",
    "Does anyone else find it easier to practise in the morning?",
    "Thank you all for last session, it felt good not to be alone in this.",
]


def _posts(group, member_ids, leader_id, rng):
    for i, text in enumerate(DEMO_POSTS):
        post = Post(group_id=group.id, author_id=member_ids[i % len(member_ids)], body=text,
                    body_html=f"<p>{text}</p>", created_at=utcnow() - timedelta(days=6 - i))
        db.session.add(post)
        db.session.flush()
        if i % 2 == 0:
            reply = "Thank you for sharing this. Small steps count."
            db.session.add(Post(group_id=group.id, author_id=leader_id, parent_id=post.id,
                                body=reply, body_html=f"<p>{reply}</p>",
                                created_at=utcnow() - timedelta(days=5 - i)))


# --- follow-up scores, so the efficacy report has pre and post data to show ------------------

#: (study, timepoint, instruments, participant codes with no follow-up: missing data)
FOLLOW_UP = [
    ("cft-demo", "post", ["BDI-II", "CEAS-self", "SCS-SF", "CSQ-8"], {"P-0010", "P-0018"}),
    ("msc-demo", "week8", ["SCS", "DASS-21", "SWLS"], {"M-0007", "M-0019", "M-0028"}),
]
LOWER_IS_BETTER = {"BDI-II", "DASS-21"}


def _primary(instrument_key: str, measures: dict) -> float:
    return measures.get(instrument_key, measures.get(f"{instrument_key}.total", 0.0))


def _follow_up(study_key: str, timepoint_key: str, instruments: list[str], skip: set[str]):
    """Submitted follow-up questionnaires, once: program arms tend to improve, usual care not.

    Improvement is drawn, not imposed: of several random answer sets the one with the best
    primary score is kept for program arms (one set for usual care).
    """
    from program.instruments.library import load_library
    from program.instruments.scoring import score

    study = db.session.scalar(select(Study).where(Study.key == study_key))
    timepoint = study and db.session.scalar(select(Timepoint).where(
        Timepoint.study_id == study.id, Timepoint.key == timepoint_key))
    if timepoint is None or db.session.scalar(select(Response.id).where(
            Response.timepoint_id == timepoint.id).limit(1)) is not None:
        return
    library = load_library()
    rng = random.Random(f"{study_key}-{timepoint_key}")
    people = db.session.execute(
        select(Participant, Arm).join(Arm, Participant.arm_id == Arm.id)
        .where(Participant.study_id == study.id).order_by(Participant.code)).tuples()
    for p, arm in people:
        if p.code in skip:
            continue
        for key in instruments:
            if key == "CSQ-8" and not arm.receives_program:
                continue
            instrument = library[key]
            tries = 4 if arm.receives_program else 1
            candidates = []
            for _ in range(tries):
                answers = {item.number: rng.choice(item.codes) for item in instrument.items}
                candidates.append((answers, score(instrument, answers)))
            pick = min if key in LOWER_IS_BETTER else max
            answers, result = pick(candidates, key=lambda c: _primary(key, c[1].measures))
            _submitted(p, timepoint, key, answers, result)
