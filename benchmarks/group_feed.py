"""Time a group feed with 10,000 posts and 300 members, and count its SQL queries.

Seeds one MSC cohort with a large group of 300 members (4 of them leaders) holding 10,000
posts (about 6,000 threads with up to two replies each, three pinned), then loads the feed as
a member through the test client: page 1 and page 50, each at 20 and 100 threads per page.
Prints the median and 95th-percentile time of each, and the number of SQL statements per page
load, which must be the same at both page sizes (no N+1).

Runs on a temporary SQLite file by default; set ``DATABASE_URL`` to an empty PostgreSQL
database to run there (the tables are created, and dropped at the end).

Usage: ``python benchmarks/group_feed.py [repetitions]`` (default 30).
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path

os.environ.setdefault("HEARTH_FAST_PASSWORD_HASHES", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import event, insert, select  # noqa: E402

from app import create_app  # noqa: E402
from models import (  # noqa: E402
    Cohort,
    Group,
    GroupMembership,
    Participant,
    Post,
    Study,
    User,
    db,
)
from program.accounts.passwords import hash_password  # noqa: E402
from program.courses import markdown
from program.groups.posting import encode_cursor  # noqa: E402

POSTS = 10_000
MEMBERS = 300
STAFF = 4
PASSWORD = "benchmark passphrase"
BODIES = [
    "The breathing practice was harder than I expected, but I kept at it for **five minutes**.",
    "I noticed my inner critic a lot this week. Naming it helped a little.",
    "Does anyone else find it easier to practise in the morning?",
    "Thank you all for last session, it felt good not to be alone in this.",
    "A link I found useful: [self-compassion break](https://example.org/break)",
]


def seed() -> tuple[int, str]:
    """Create the cohort, group, members and posts; return the group id and a member's email."""
    rng = random.Random(10_000)
    study = Study(key="bench", title="Feed benchmark", design="single_arm", program="msc")
    db.session.add(study)
    db.session.flush()
    cohort = Cohort(study_id=study.id, name="Bench cohort", program="msc",
                    start_date=date(2026, 1, 5), timezone="UTC", meeting_weekday=0,
                    meeting_time=clock(19, 0), session_count=8, status="running")
    db.session.add(cohort)
    db.session.flush()
    group = Group(cohort_id=cohort.id, kind="large", name="Everyone")
    db.session.add(group)
    db.session.flush()
    password = hash_password(PASSWORD)
    users = [{"email": f"member{i}@bench.example", "display_name": f"Member {i}",
              "role": "facilitator" if i < STAFF else "participant", "password_hash": password,
              "timezone": "UTC", "active": True, "session_version": 1,
              "reminders_enabled": True, "notify_replies": "none",
              "notify_announcements": "none", "calendar_token": f"bench-{i}",
              "created_at": datetime.now(UTC)} for i in range(MEMBERS)]
    db.session.execute(insert(User), users)
    ids = db.session.scalars(select(User.id).order_by(User.id)).all()
    db.session.execute(insert(GroupMembership), [
        {"group_id": group.id, "user_id": uid, "role": "leader" if n < STAFF else "member",
         "joined_at": datetime.now(UTC)} for n, uid in enumerate(ids)])
    db.session.execute(insert(Participant), [
        {"study_id": study.id, "code": f"B-{n:04d}", "user_id": uid, "cohort_id": cohort.id,
         "status": "active", "baseline": {}, "exclusion_reasons": [],
         "created_at": datetime.now(UTC)} for n, uid in enumerate(ids) if n >= STAFF])
    rendered = [markdown.render(b) for b in BODIES]
    start = datetime(2026, 1, 5, tzinfo=UTC)
    made, minute = 0, 0
    while made < POSTS:
        minute += rng.randint(1, 20)
        n = rng.randrange(len(BODIES))
        thread = db.session.execute(insert(Post).values(
            group_id=group.id, author_id=rng.choice(ids), title=None, body=BODIES[n],
            body_html=rendered[n], pinned=made < 30 and made % 10 == 0,
            created_at=start + timedelta(minutes=minute)).returning(Post.id)).scalar()
        made += 1
        replies = min(rng.choice((0, 0, 0, 1, 2)), POSTS - made)
        if replies:
            db.session.execute(insert(Post), [
                {"group_id": group.id, "author_id": rng.choice(ids), "parent_id": thread,
                 "body": BODIES[(n + k) % len(BODIES)], "body_html": rendered[(n + k) % 5],
                 "created_at": start + timedelta(minutes=minute + 1 + k)}
                for k in range(replies)])
            made += replies
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE")  # planner statistics, as after any bulk load
    return group.id, users[STAFF + 1]["email"]


def cursor_of_page(group_id: int, page: int, per_page: int) -> str | None:
    """The cursor that opens ``page`` (1-based) of the feed, as following "Older" would."""
    if page == 1:
        return None
    last_of_previous = db.session.scalar(
        select(Post).where(Post.group_id == group_id, Post.parent_id.is_(None),
                           Post.pinned.is_(False), Post.deleted_at.is_(None))
        .order_by(Post.created_at.desc(), Post.id.desc())
        .offset((page - 1) * per_page - 1).limit(1))
    return encode_cursor(last_of_previous)


def measure(client, url: str, repetitions: int) -> tuple[float, float, int]:
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    client.get(url)  # warm caches and templates
    event.listen(db.engine, "before_cursor_execute", count)
    response = client.get(url)
    event.remove(db.engine, "before_cursor_execute", count)
    assert response.status_code == 200, response.status_code
    timings = []
    for _ in range(repetitions):
        began = time.perf_counter()
        client.get(url)
        timings.append(time.perf_counter() - began)
    timings.sort()
    p95 = timings[min(len(timings) - 1, round(0.95 * (len(timings) - 1)))]
    return statistics.median(timings) * 1000, p95 * 1000, len(statements)


def main(repetitions: int = 30) -> None:
    url = os.environ.get("DATABASE_URL")
    workdir = tempfile.TemporaryDirectory()
    if not url:
        url = f"sqlite:///{Path(workdir.name) / 'feed.db'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "benchmark",
                      "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False,
                      "TESTING": True, "MAIL_BACKEND": "memory"})
    with app.app_context():
        db.create_all()
        try:
            began = time.perf_counter()
            group_id, email = seed()
            print(f"database: {db.engine.url.get_backend_name()}; seeded {POSTS:,} posts and "
                  f"{MEMBERS} members in {time.perf_counter() - began:.1f} s")
            client = app.test_client()
            signed_in = client.post("/auth/sign-in", data={"email": email,
                                                            "password": PASSWORD})
            assert signed_in.status_code == 302, "sign-in failed"
            print(f"{'page':>5} {'per page':>9} {'median ms':>10} {'p95 ms':>8} {'queries':>8}")
            for per_page in (20, 100):
                for page in (1, 50):
                    cursor = cursor_of_page(group_id, page, per_page)
                    target = f"/groups/{group_id}?per={per_page}"
                    if cursor:
                        target += f"&before={cursor}"
                    median, p95, queries = measure(client, target, repetitions)
                    print(f"{page:>5} {per_page:>9} {median:>10.1f} {p95:>8.1f} {queries:>8}")
        finally:
            db.session.remove()
            db.drop_all()
            db.engine.dispose()
    workdir.cleanup()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 30)
