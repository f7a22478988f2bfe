"""Seed a load-test database: one MSC cohort of 500 participants in week 3, with history.

Written through the models in bulk (the shape the app's own operations produce): a study with
one arm, a running cohort whose session 3 was released an hour ago, one large group of everyone
and small peer groups of 25, each led by one of the facilitators, two held meetings with
attendance, a fortnight of practice logs and a few hundred posts; and a researcher on the
study's staff.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as clock

from sqlalchemy import insert, select

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
    SessionProgress,
    Study,
    StudyStaff,
    User,
    db,
)
from program.courses import markdown
from program.courses.catalogue import get_catalogue

PASSWORD = "load-test passphrase 2026"
SMALL_GROUP_SIZE = 25
THREAD_BODIES = [
    "The soothing touch practice felt awkward at first, then oddly comforting.",
    "I noticed how harsh my inner voice is when I'm tired. **Naming it** helped.",
    "Does anyone else find the morning easier for the breathing practice?",
    "Thank you all for last week; it was good not to feel alone with this.",
]


@dataclass(frozen=True)
class Seeded:
    cohort_id: int
    session_number: int  #: the session released just before the peak
    participants: list[tuple[str, int]]  #: (email, small group id)
    facilitators: list[tuple[str, list[int]]]  #: (email, the small groups they lead)
    large_group_id: int
    study_id: int = 0
    researcher: str = ""  #: the researcher's email
    participant_ids: tuple[int, ...] = ()  #: in the order of ``participants``


def _now() -> datetime:
    return datetime.now(UTC)


def seed(participants: int = 500, facilitators: int = 10, password_hash: str | None = None,
         rng_seed: int = 500) -> Seeded:
    """Create the cohort and its history in the app's database (tables must exist)."""
    from program.accounts.passwords import hash_password

    rng = random.Random(rng_seed)
    now = _now()
    password_hash = password_hash or hash_password(PASSWORD)
    # Session 3's meeting started an hour ago; its material was released an hour before that.
    meeting_at = (now - timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    start = meeting_at.date() - timedelta(days=14)
    study = Study(key="load", title="MSC load test", design="single_arm", program="msc")
    study.arms = [Arm(key="MSC", name="MSC", receives_program=True)]
    db.session.add(study)
    db.session.flush()
    cohort = Cohort(study_id=study.id, name="Peak week", program="msc", start_date=start,
                    timezone="UTC", meeting_weekday=start.weekday(),
                    meeting_time=clock(meeting_at.hour, 0), session_count=8,
                    release_lead_minutes=60, status="running", staff_only_threads=True,
                    video_link="https://video.invalid/msc")
    db.session.add(cohort)
    db.session.flush()

    def users(prefix: str, role: str, count: int) -> list[int]:
        db.session.execute(insert(User), [
            {"email": f"{prefix}{i:04d}@load.example", "display_name": f"{prefix.title()} {i}",
             "role": role, "password_hash": password_hash, "timezone": "UTC", "active": True,
             "session_version": 1, "reminders_enabled": True, "notify_replies": "daily",
             "notify_announcements": "daily", "calendar_token": f"load-{prefix}-{i}",
             "created_at": now} for i in range(count)])
        return list(db.session.scalars(select(User.id).where(
            User.email.like(f"{prefix}%@load.example")).order_by(User.id)))

    staff = users("facilitator", "facilitator", facilitators)
    researcher = users("researcher", "researcher", 1)[0]
    db.session.add(StudyStaff(study_id=study.id, user_id=researcher, blind_to_arm=False))
    people = users("participant", "participant", participants)
    db.session.execute(insert(CohortFacilitator), [
        {"cohort_id": cohort.id, "user_id": uid, "is_lead": n == 0}
        for n, uid in enumerate(staff)])
    db.session.execute(insert(Participant), [
        {"study_id": study.id, "code": f"L-{n:04d}", "user_id": uid, "arm_id": study.arms[0].id,
         "cohort_id": cohort.id, "status": "active", "baseline": {}, "exclusion_reasons": [],
         "created_at": now} for n, uid in enumerate(people)])
    participant_ids = dict(db.session.execute(
        select(Participant.user_id, Participant.id).where(Participant.study_id == study.id)
    ).tuples().all())

    large = Group(cohort_id=cohort.id, kind="large", name="Everyone")
    db.session.add(large)
    small_count = max(1, -(-participants // SMALL_GROUP_SIZE))
    small = [Group(cohort_id=cohort.id, kind="small", name=f"Small group {k + 1}")
             for k in range(small_count)]
    db.session.add_all(small)
    db.session.flush()
    memberships = [{"group_id": large.id, "user_id": uid, "role": "leader", "joined_at": now}
                   for uid in staff]
    memberships += [{"group_id": large.id, "user_id": uid, "role": "member", "joined_at": now}
                    for uid in people]
    leads: dict[int, list[int]] = {uid: [] for uid in staff}
    group_of: dict[int, int] = {}
    for k, group in enumerate(small):
        leader = staff[k % len(staff)]
        leads[leader].append(group.id)
        memberships.append({"group_id": group.id, "user_id": leader, "role": "leader",
                            "joined_at": now})
        for uid in people[k * SMALL_GROUP_SIZE:(k + 1) * SMALL_GROUP_SIZE]:
            group_of[uid] = group.id
            memberships.append({"group_id": group.id, "user_id": uid, "role": "member",
                                "joined_at": now})
    db.session.execute(insert(GroupMembership), memberships)

    program = get_catalogue().program("msc")
    for number in (1, 2):
        held = datetime.combine(start + timedelta(days=7 * (number - 1)),
                                clock(meeting_at.hour, 0), UTC)
        meeting = Meeting(cohort_id=cohort.id, session_number=number, outcome="held",
                          actual_start=held, actual_minutes=120, checklist_done=[])
        db.session.add(meeting)
        db.session.flush()
        db.session.execute(insert(Attendance), [
            {"meeting_id": meeting.id, "participant_id": pid,
             "status": "present" if rng.random() < 0.87 else "absent", "source": "register",
             "minutes_attended": 120, "recorded_at": now} for pid in participant_ids.values()])
        db.session.execute(insert(SessionProgress), [
            {"participant_id": pid, "session_number": number, "opened_at": held}
            for pid in participant_ids.values()])
    keys = [p.key for s in program.sessions[:2] for p in s.practices] or ["soothing-touch"]
    db.session.execute(insert(PracticeLog), [
        {"participant_id": pid, "practice_key": rng.choice(keys),
         "practised_on": start + timedelta(days=day), "minutes": rng.choice((5, 10, 15, 20)),
         "helpfulness": rng.randint(3, 10), "submission_token": f"seed-{pid}-{day}",
         "created_at": now, "updated_at": now}
        for pid in participant_ids.values() for day in rng.sample(range(14), 6)])

    rendered = [markdown.render(body) for body in THREAD_BODIES]
    posts = []
    for group in small:
        members = [uid for uid, gid in group_of.items() if gid == group.id]
        for t in range(30):
            n = rng.randrange(len(THREAD_BODIES))
            posts.append({"group_id": group.id, "author_id": rng.choice(members),
                          "body": THREAD_BODIES[n], "body_html": rendered[n],
                          "created_at": now - timedelta(days=14) + timedelta(hours=11 * t)})
    posts += [{"group_id": large.id, "author_id": staff[0], "title": f"Week {w} notes",
               "body": THREAD_BODIES[0], "body_html": rendered[0], "announcement": True,
               "created_at": now - timedelta(days=14 - w)} for w in range(10)]
    db.session.execute(insert(Post), posts)
    db.session.commit()
    emails = dict(db.session.execute(select(User.id, User.email).where(
        User.id.in_(staff + people))).tuples().all())
    return Seeded(
        cohort_id=cohort.id, session_number=3,
        participants=[(emails[uid], group_of[uid]) for uid in people],
        facilitators=[(emails[uid], leads[uid]) for uid in staff],
        large_group_id=large.id, study_id=study.id, researcher="researcher0000@load.example",
        participant_ids=tuple(participant_ids[uid] for uid in people))
