"""Demo data: a CFT trial in week 5 and an MSC course in week 3, with logins for every role.

Both studies are made with the program operations the pages call (a new study, its arms,
eligibility rules, information sheet, characteristics, randomisation and allocation list,
schedule, staff, cohort, facilitators, applicants taken through screening, consent and
allocation, groups formed, meetings and registers recorded), so their set-up checklists are
complete. What participants did themselves (questionnaires, practice logs, posts) is written
as they would have left it.

Everything is keyed by natural keys (study key, email, participant code), so seeding twice
leaves the same data.
"""

from __future__ import annotations

import random
from datetime import date, time, timedelta

from sqlalchemy import func, select

from models import (
    Arm,
    Cohort,
    Group,
    Meeting,
    Participant,
    Post,
    PracticeLog,
    Response,
    Score,
    Study,
    Timepoint,
    User,
    db,
    utcnow,
    write_transaction,
)
from program.accounts.passwords import create_user
from program.courses import delivery
from program.groups import formation, staffing
from program.safety import crisis_contacts
from program.trial import (
    allocation,
    applications,
    characteristics,
    eligibility,
    enrolment,
    sequences,
    setup,
    studies,
)
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
    """Create the demo studies unless they exist; returns the demo logins.

    Each study is set up with the operations the set-up and enrolment pages call (one write
    transaction each), so the demo shows what a team gets through the pages.
    """
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
    with write_transaction():
        for study_key, timepoint_key, instruments, skip in FOLLOW_UP:
            _follow_up(study_key, timepoint_key, instruments, skip)
    return [(demo_email(local), name, role, note) for local, name, role, note in DEMO_LOGINS]


def is_empty() -> bool:
    return not db.session.scalar(select(func.count()).select_from(User))


# --- the set-up steps, as the pages take them --------------------------------------------------


def _new_study(researcher: User, values: dict, arms: list[dict], rules: list[dict],
               sheet: tuple[str, str], characteristics_chosen: list[dict]) -> Study:
    """A study through its set-up pages: the study, arms, eligibility, consent, characteristics."""
    study = studies.create_study(values, creator=researcher)
    existing = {arm.key: arm.id for arm in study.arms}
    for arm in arms:
        setup.save_arm(study.id, existing.get(arm["key"]), arm)
    studies.save_eligibility(study.id, rules)
    version, text = sheet
    studies.add_consent_version(study.id, version, text=text, file=None, current=True)
    characteristics.save(study.id, characteristics_chosen)
    return db.session.get(Study, study.id)


def _timepoints(study: Study, rows: list[tuple]) -> list[Timepoint]:
    return [setup.save_timepoint(study.id, None, dict(zip(setup.TIMEPOINT_FIELDS, row,
                                                          strict=True)))
            for row in rows]


def _cohort(study: Study, name: str, start: date, zone: str, meeting_time: time, sessions: int,
            video_link: str | None, min_minutes: int) -> Cohort:
    return setup.save_cohort(study.id, None, {
        "name": name, "start_date": start, "timezone": zone, "meeting_weekday": start.weekday(),
        "meeting_time": meeting_time, "cadence_days": 7, "session_count": sessions,
        "release_lead_minutes": 0, "video_link": video_link,
        "min_minutes_present": min_minutes, "status": "running"}, study.program)


def _enrol(study: Study, cohort: Cohort, answers: dict, baseline: dict, researcher: User,
           today: date, user: User | None = None) -> Participant:
    """An applicant screened, consented, characterised, allocated and placed in the cohort,
    on the dates a team would have done it before the cohort started; linked to their login."""
    start = cohort.start_date
    participant = applications.add_applicant(study, on=start - timedelta(days=40))
    enrolment.screen(participant.id, answers, on=start - timedelta(days=30), actor=researcher)
    enrolment.record_consent(participant.id, study.consent_version,
                             on=start - timedelta(days=28), actor=researcher)
    characteristics.record_baseline(participant.id, baseline, today=today, actor=researcher)
    randomised = utcnow() - timedelta(days=(today - start).days + 20)
    allocation.randomise(participant.id, actor=researcher, now=randomised)
    enrolment.assign_cohort(participant.id, cohort.id, actor=researcher)
    if user is not None:
        with write_transaction():
            # the account the participant's invitation would have created
            db.session.get(Participant, participant.id).user_id = user.id
            db.session.get(User, user.id).timezone = cohort.timezone
    return db.session.get(Participant, participant.id)


def _history(cohort, participants, practices, held, rng, today, facilitator):
    """Meetings held so far with their registers (as the facilitator records them), and a few
    practice logs per participant."""
    minutes = 90 if cohort.program == "cft" else 120
    for number in range(1, held + 1):
        meeting_day = cohort.start_date + timedelta(days=7 * (number - 1))
        meeting = delivery.record_meeting(
            cohort, number, delivery.MeetingRecord(outcome="held", actual_minutes=minutes),
            facilitator)
        marks = []
        for p in participants:
            present = rng.random() < 0.85
            marks.append(delivery.AttendanceMark(p.id, "present" if present else "absent",
                                                 minutes if present else 0))
        delivery.record_attendance(db.session.get(Meeting, meeting.id), marks, facilitator)
        with write_transaction():
            for p in participants:
                for k in range(rng.randint(0, 3)):
                    day = min(meeting_day + timedelta(days=1 + 2 * k), today)
                    db.session.add(PracticeLog(
                        participant_id=p.id,
                        practice_key=practices[min(number, len(practices)) - 1],
                        practised_on=day, minutes=rng.choice([5, 10, 15, 20]),
                        helpfulness=rng.randint(4, 10), submission_token=f"demo-{number}-{k}"))


def _baseline(timepoint, participants, instrument_keys, rng):
    """Submitted questionnaires of a timepoint, scored with the instrument library."""
    from program.instruments.library import load_library
    from program.instruments.scoring import score

    library = load_library()
    with write_transaction():
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


# --- the CFT trial -----------------------------------------------------------------------------

CFT_SHEET = ("Group compassion-focused therapy for depression that has not responded to "
             "treatment: twelve weekly group sessions with usual care, or usual care alone. "
             "Questionnaires before and after; you may stop at any time.")
CFT_ANSWERS = {"age": 40, "bdi_ii": 32, "diagnosis": True, "ssri_failures": 2,
               "psychosis": False, "suicidality": False, "organic": False, "substance": False,
               "antisocial": False, "other_severe": False}
#: the paper's arms: 10 CFT + usual care, 8 usual care alone
CFT_ARMS = {"CFT": 10, "UC": 8}


def _cft_seed(first: int = 20260401) -> int:
    """The first seed from ``first`` whose simple-randomisation list gives the paper's arm
    sizes to the demo's 18 participants (so the demo looks the same on every machine)."""
    seed = first
    while True:
        drawn = [a.arm for a in sequences.simple_sequence(list(CFT_ARMS), 18, seed)]
        if all(drawn.count(arm) == n for arm, n in CFT_ARMS.items()):
            return seed
        seed += 1


def _seed_cft(users, password, today):
    rng = random.Random(2026)
    researcher, therapist = users["researcher"], users["therapist"]
    study = _new_study(
        researcher,
        {"key": "cft-demo", "title": "Group CFT for treatment-resistant depression (demo)",
         "design": "rct", "program": "cft", "registration_id": "UMIN-DEMO-0001",
         "code_prefix": "P"},
        [{"key": "CFT", "name": "CFT + usual care", "receives_program": True,
          "allocation_ratio": 1},
         {"key": "UC", "name": "Usual care", "receives_program": False, "allocation_ratio": 1}],
        CFT_ELIGIBILITY, ("v1.0", CFT_SHEET),
        characteristics.build(["gender", "age", "site"],
                              {"site": "Tokyo clinic, Osaka clinic"}, []))
    studies.save_randomisation(study.id, "simple", block_sizes=[2, 4], list_length=40,
                               factors=[], seed=_cft_seed())
    studies.generate_list(study.id, actor=researcher)
    studies.set_staff(study.id, therapist.id, is_clinician=True, blind_to_arm=False)
    studies.set_staff(study.id, users["rater"].id, is_clinician=False, blind_to_arm=True)
    crisis_contacts.confirm_defaults(study.id, "JP")
    pre, mid, _post = _timepoints(study, [
        ("pre", "Before the course", 1, -21, 0, ["BDI-II", "GRID-HAMD", "CEAS-self", "SCS-SF"]),
        # open in the cohort's week 5: the demo participants have a questionnaire to fill in
        ("mid", "Mid-course", 2, 28, 42, ["BDI-II"]),
        ("post", "After the course", 3, 77, 98,
         ["BDI-II", "GRID-HAMD", "CEAS-self", "SCS-SF", "CSQ-8"])])
    start = _upcoming_start(today, 5)
    cohort = _cohort(study, "CFT cohort A", start, "Asia/Tokyo", time(18, 30), 12, None, 60)
    staffing.add_facilitator(cohort.id, therapist.id, "lead_therapist", actor=researcher)

    logins = {"CFT": users["cft.participant"], "UC": users["uc.participant"]}
    logged_in = {user.id for user in logins.values()}
    sequence = [a.arm for a in sequences.simple_sequence(list(CFT_ARMS), 18,
                                                         study.randomisation_settings["seed"])]
    everyone = []
    for n, arm in enumerate(sequence, start=1):
        user = logins.pop(arm, None) or _account(f"cft.p{n:02d}", f"CFT participant {n}",
                                                 password)
        baseline = {"gender": rng.choice(["female", "female", "male"]),
                    "age": rng.randint(22, 58),
                    "site": "Tokyo clinic" if n % 3 else "Osaka clinic"}
        everyone.append(_enrol(study, cohort, CFT_ANSWERS, baseline, researcher, today, user))
    cft_people = [p for p in everyone if p.arm.receives_program]
    formation.form_groups(cohort.id, None, actor=researcher)
    _history(cohort, cft_people, CFT_PRACTICES, 5, rng, today, therapist)
    _baseline(pre, everyone, ["BDI-II", "CEAS-self", "SCS-SF"], rng)
    # the mid-course questionnaire opened two days ago: the demo logins have it still to do
    _baseline(mid, [p for p in everyone if p.user_id not in logged_in], ["BDI-II"], rng)
    # Three people waiting to be screened, consented and randomised by the demo researcher.
    for _n in range(3):
        applications.add_applicant(study, on=today - timedelta(days=3))
    group = db.session.scalar(select(Group).where(Group.cohort_id == cohort.id))
    with write_transaction():
        _posts(group, [p.user_id for p in cft_people], therapist.id, rng)


def _account(local: str, name: str, password: str) -> User:
    with write_transaction():
        return _user(demo_email(local), name, "participant", password)


# --- the MSC course ----------------------------------------------------------------------------

MSC_SHEET = ("Mindful Self-Compassion, live online: eight weekly two-hour classes, a half-day "
             "retreat and online peer-support groups. Questionnaires at the start and in week "
             "8; you may stop at any time.")


def _seed_msc(users, password, today):
    rng = random.Random(2027)
    researcher, teacher = users["researcher"], users["msc.teacher"]
    study = _new_study(
        researcher,
        {"key": "msc-demo", "title": "Mindful Self-Compassion online (demo)",
         "design": "single_arm", "program": "msc", "code_prefix": "M"},
        [{"key": "MSC", "name": "MSC course", "receives_program": True, "allocation_ratio": 1}],
        eligibility.built_rules(age_min=18, age_max=None, instrument=None, min_score=None,
                                inclusions=[], exclusions=[]),
        ("v2.1", MSC_SHEET),
        characteristics.build(["gender", "age", "prior_meditation"], {}, []))
    studies.set_staff(study.id, teacher.id, is_clinician=True, blind_to_arm=False)
    crisis_contacts.confirm_defaults(study.id, "CN")
    baseline, mid, _week8 = _timepoints(study, [
        ("baseline", "Baseline", 1, -14, 0,
         ["SCS", "CS", "DASS-21", "FCS-self", "SWLS", "SHS", "CAMS-R"]),
        # open in the cohort's week 3: the demo participants have a questionnaire to fill in
        ("week3", "Week 3", 2, 14, 27, ["SCS"]),
        ("week8", "Week 8", 3, 49, 70,
         ["SCS", "CS", "DASS-21", "FCS-self", "SWLS", "SHS", "CAMS-R"])])
    start = _upcoming_start(today, 3)
    cohort = _cohort(study, "MSC online, autumn", start, "Asia/Shanghai", time(19, 30), 8,
                     "https://meet.example.org/msc-autumn", 80)
    leaders = [_facilitator(f"msc.leader{i}", f"Peer group {i} leader", password)
               for i in (2, 3)]
    for user, role in [(teacher, "teacher"), *[(u, "group_leader") for u in leaders],
                       (users["msc.assistant"], "assistant_coach")]:
        staffing.add_facilitator(cohort.id, user.id, role, actor=researcher)
    people = []
    for n in range(1, 31):
        user = users["msc.participant"] if n == 1 else _account(
            f"msc.p{n:02d}", f"MSC participant {n}", password)
        values = {"gender": rng.choice(["female", "female", "male"]),
                  "age": rng.randint(22, 58), "prior_meditation": rng.choice(["yes", "no"])}
        people.append(_enrol(study, cohort, {"age": values["age"]}, values, researcher, today,
                             user))
    formation.form_groups(cohort.id, 10, actor=researcher)
    groups = formation.cohort_groups(cohort.id)
    large, smalls = groups[0], groups[1:]
    # the teacher leads the first small group (its leader moves on to the third)
    formation.change_leader(smalls[0].id, teacher.id, actor=researcher)
    _history(cohort, people, MSC_PRACTICES, 3, rng, today, teacher)
    _baseline(baseline, people, ["SCS", "DASS-21", "SWLS"], rng)
    _baseline(mid, people[1:], ["SCS"], rng)  # all but the demo login, who has it to do
    members = [p.user_id for i, p in enumerate(people) if i % 3 == 0]
    welcome = ("Welcome, everyone. Class is on the same weekday each week; the link appears on "
               "your dashboard shortly before it starts.")
    with write_transaction():
        _posts(db.session.get(Group, smalls[0].id), members, teacher.id, rng)
        db.session.add(Post(group_id=large.id, author_id=teacher.id, pinned=True,
                            title="Welcome to the course", body=welcome,
                            body_html=f"<p>{welcome}</p>"))


def _facilitator(local: str, name: str, password: str) -> User:
    with write_transaction():
        return _user(demo_email(local), name, "facilitator", password)


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
