"""Replay an MSC cohort's weekly peak against gunicorn and print throughput and latency.

The peak: the release notice has gone out, and 500 participants sign in over ``--ramp``
seconds; each opens the dashboard and the new session, logs a practice and posts in their
small group, pausing ``--think`` seconds (on average) between pages, while 10 facilitators fill
the session's register, moderate their groups and read the cohort's staff pages (cohort home,
roster, a participant's progress, their calendar) and a researcher reads the study page, the
cohort's people and the reports. A sampler reads the bare floor endpoint (``/bench/floor``:
one row through SQLAlchemy) throughout.

After the peak, each page is driven flat out by ``--clients`` signed-in clients, the floor
first, in ``--rounds`` rounds, so every page's throughput is reported as a ratio to the floor's
on the same server in the same run (the median of the rounds' ratios): the participants' pages
by participants, the staff pages by as many facilitators' and researcher's sessions. Finally
the resident memory of the server's workers is read from /proc.

Targets: the participants' pages under 150 ms p95 on PostgreSQL and at least 40 % of the
floor's throughput; every staff page under 150 ms p95 on both databases.

The server is gunicorn with the README's production settings (sync workers, 2 x cores + 1)
behind Debian's nginx with the repository's proxy settings (docs/deploy/hearth-proxy.conf;
``--no-proxy`` talks to gunicorn directly), on a fresh database: a temporary SQLite file, and
a scratch PostgreSQL database (``hearth_load`` on 127.0.0.1:5432 unless ``LOAD_DATABASE_URL``
says otherwise) that the script creates and drops.
Everything stays on loopback, with a bounded number of requests.

Usage: ``python benchmarks/load.py [--backend sqlite|postgresql|both]`` (default both).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from http.client import HTTPException
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._http import Answer, Browser, hidden_token  # noqa: E402
from benchmarks._seed import PASSWORD, Seeded  # noqa: E402
from benchmarks._server import (  # noqa: E402
    create_database,
    drop_database,
    free_port,
    nginx_available,
    production_workers,
    resident_mib,
    start_gunicorn,
    start_nginx,
    stop,
    worker_pids,
)
from benchmarks._stats import Stats  # noqa: E402

HOST = "127.0.0.1"
POSTGRES_URL = os.environ.get("LOAD_DATABASE_URL",
                              "postgresql://postgres@127.0.0.1:5432/hearth_load")
TARGET_PAGES = ("dashboard", "session page", "group feed")
#: the staff pages of the cohort (issue 15): under 150 ms p95 on both databases
STAFF_PAGES = ("facilitator home", "cohort home", "register", "roster", "progress page",
               "calendar", "study page", "cohort people", "reports")
POST_LINK = re.compile(r"/groups/(\d+)/posts/(\d+)")


@dataclass
class Run:
    host: str
    port: int
    seeded: Seeded
    think: float
    stats: Stats
    stop_at: float = 0.0

    def pause(self, rng: random.Random) -> None:
        time.sleep(rng.uniform(0.5, 1.5) * self.think)

    def step(self, page: str, answer_of, expected: int = 200) -> Answer | None:
        try:
            answer = answer_of()
        except (OSError, HTTPException) as exc:
            self.stats.record(page, 0.0, False, type(exc).__name__)
            return None
        ok = answer.status == expected
        self.stats.record(page, answer.seconds, ok, f"HTTP {answer.status}")
        return answer


def participant(run: Run, email: str, group_id: int, delay: float, seed: int) -> None:
    """One participant's visit after the release notice."""
    rng = random.Random(seed)
    time.sleep(delay)
    me = Browser(run.host, run.port)
    number = run.seeded.session_number
    if run.step("sign-in form", lambda: me.get("/auth/sign-in")) is None:
        return
    if run.step("sign in", lambda: me.post("/auth/sign-in", {"email": email,
                                                              "password": PASSWORD}), 302) is None:
        return
    run.step("dashboard", lambda: me.get("/me/"))
    run.pause(rng)
    run.step("session page", lambda: me.get(f"/me/sessions/{number}"))
    run.pause(rng)
    form = run.step("practice form", lambda: me.get("/me/practice/new"))
    token = hidden_token(form.body) if form else None
    practice = re.search(r'<option[^>]*value="([^"]+)"', form.body) if form else None
    run.pause(rng)
    if token and practice:
        run.step("log practice", lambda: me.post("/me/practice/new", {
            "practice_key": practice.group(1), "practised_on": time.strftime("%Y-%m-%d",
                                                                              time.gmtime()),
            "minutes": str(rng.choice((5, 10, 15, 20))), "helpfulness": "7",
            "note": "Felt calmer afterwards.", "token": token}), 302)
    feed = run.step("group feed", lambda: me.get(f"/groups/{group_id}"))
    run.pause(rng)
    post_token = hidden_token(feed.body) if feed else None
    if feed is not None:
        run.step("post in group", lambda: me.post(f"/groups/{group_id}/posts", {
            "title": "", "body": f"Week {number}: the practice went better than I feared.",
            "submission_token": post_token or ""}), 302)
    run.pause(rng)
    run.step("group feed", lambda: me.get(f"/groups/{group_id}"))
    run.step("dashboard", lambda: me.get("/me/"))


def staff_pages(seeded: Seeded, rng: random.Random) -> dict[str, str]:
    """The cohort's staff pages: the facilitators' (one participant's progress, at random)."""
    cohort = f"/facilitate/cohorts/{seeded.cohort_id}"
    return {"facilitator home": "/facilitate/", "cohort home": cohort,
            "register": f"{cohort}/meetings/{seeded.session_number}/register",
            "roster": f"{cohort}/roster",
            "progress page": f"{cohort}/participants/{rng.choice(seeded.participant_ids)}",
            "calendar": "/facilitate/calendar"}


def researcher_pages(seeded: Seeded) -> dict[str, str]:
    return {"study page": f"/research/studies/{seeded.study_id}",
            "cohort people": f"/research/cohorts/{seeded.cohort_id}/people",
            "reports": "/research/reports/"}


def facilitator(run: Run, email: str, groups: list[int], seed: int) -> None:
    """A facilitator fills the register once, then moderates and reads the cohort's staff
    pages (one a round, in turn) until the peak is over."""
    rng = random.Random(seed)
    me = Browser(run.host, run.port)
    pages = staff_pages(run.seeded, rng)
    run.step("sign-in form", lambda: me.get("/auth/sign-in"))
    if run.step("sign in", lambda: me.post("/auth/sign-in", {"email": email,
                                                              "password": PASSWORD}), 302) is None:
        return
    run.step("facilitator home", lambda: me.get(pages["facilitator home"]))
    run.step("register", lambda: me.get(pages["register"]))
    run.pause(rng)
    run.step("save register", lambda: me.post(pages["register"], {"fill": "present"}), 302)
    turn = seed  # facilitators start at different pages, so every page is read early on
    while time.monotonic() < run.stop_at:
        page = list(pages)[turn % len(pages)]
        path = staff_pages(run.seeded, rng)[page]  # another participant's progress each time
        run.step(page, lambda p=path: me.get(p))
        turn += 1
        group = rng.choice(groups)
        feed = run.step("group feed (leader)", lambda g=group: me.get(f"/groups/{g}"))
        run.step("flag queue", lambda g=group: me.get(f"/groups/{g}/flags"))
        ids = [int(p) for g, p in POST_LINK.findall(feed.body if feed else "")
               if int(g) == group]
        if ids:
            post_id = rng.choice(ids)
            for action in ("pin", "unpin"):
                run.step("moderate", lambda a=action, g=group, p=post_id: me.post(
                    f"/groups/{g}/posts/{p}/{a}", {}), 302)
        run.pause(rng)
        run.pause(rng)


def researcher(run: Run, seed: int) -> None:
    """The study's researcher looks at the study, the cohort's people and the reports."""
    rng = random.Random(seed)
    me = Browser(run.host, run.port)
    run.step("sign-in form", lambda: me.get("/auth/sign-in"))
    if run.step("sign in", lambda: me.post("/auth/sign-in", {"email": run.seeded.researcher,
                                                              "password": PASSWORD}), 302) is None:
        return
    while time.monotonic() < run.stop_at:
        for page, path in researcher_pages(run.seeded).items():
            run.step(page, lambda p=path: me.get(p))
            run.pause(rng)


def floor_sampler(run: Run) -> None:
    me = Browser(run.host, run.port)
    while time.monotonic() < run.stop_at:
        run.step("floor", lambda: me.get("/bench/floor"))
        time.sleep(0.25)


def peak(run: Run, ramp: float) -> float:
    """The release-notice peak; returns its wall-clock duration."""
    rng = random.Random(7)
    threads = [threading.Thread(target=participant,
                                args=(run, email, group, rng.uniform(0, ramp), n))
               for n, (email, group) in enumerate(run.seeded.participants)]
    run.stop_at = time.monotonic() + ramp + 8 * run.think + 5
    threads += [threading.Thread(target=facilitator, args=(run, email, groups, 1000 + n))
                for n, (email, groups) in enumerate(run.seeded.facilitators)]
    threads.append(threading.Thread(target=researcher, args=(run, 2000)))
    threads.append(threading.Thread(target=floor_sampler, args=(run,)))
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - began


def saturate(host: str, port: int, seeded: Seeded, clients: int, per_client: int,
             rounds: int = 3) -> tuple[dict[str, float], dict[str, float]]:
    """Requests per second of each page with ``clients`` signed-in clients going flat out
    (participants on their pages, facilitators and the researcher on the staff pages).

    Each round drives the floor and then every page; a page's share of the floor is taken
    within a round (the two measured a few seconds apart), and the median over rounds is
    reported, so a burst of other work on the machine skews one round, not the figure.
    Returns (median requests per second, median share of the floor) per page.
    """
    def signed_in(people: list[tuple[str, object]]) -> list[tuple[Browser, object]]:
        browsers = []
        for email, extra in people:
            browser = Browser(host, port)
            browser.sign_in(email, PASSWORD)
            browsers.append((browser, extra))
        return browsers

    rng = random.Random(15)
    staff = [seeded.facilitators[n % len(seeded.facilitators)] for n in range(clients)]
    by_role = {"participant": signed_in(seeded.participants[:clients]),
               "facilitator": signed_in(staff),
               "researcher": signed_in([(seeded.researcher, None)] * clients)}
    pages = {"floor": ("participant", lambda g: "/bench/floor"),
             "dashboard": ("participant", lambda g: "/me/"),
             "session page": ("participant", lambda g: f"/me/sessions/{seeded.session_number}"),
             "group feed": ("participant", lambda g: f"/groups/{g}")}
    pages |= {page: ("facilitator", lambda g, page=page: staff_pages(seeded, rng)[page])
              for page in staff_pages(seeded, rng)}
    pages |= {page: ("researcher", lambda g, path=path: path)
              for page, path in researcher_pages(seeded).items()}
    measured: dict[str, list[float]] = {page: [] for page in pages}
    shares: dict[str, list[float]] = {page: [] for page in pages}
    for _ in range(rounds):
        for page, (role, path_of) in pages.items():
            failures = []

            def hammer(browser, group, path_of=path_of, failures=failures):
                for _ in range(per_client):
                    try:  # a request timed out counts as failed; the client goes on
                        if browser.get(path_of(group)).status != 200:
                            failures.append(1)
                    except (OSError, HTTPException):
                        failures.append(1)

            threads = [threading.Thread(target=hammer, args=pair) for pair in by_role[role]]
            began = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - began
            measured[page].append(clients * per_client / elapsed)
            shares[page].append(measured[page][-1] / measured["floor"][-1])
            if failures:
                print(f"  ! {len(failures)} failed requests while saturating {page}")
    return ({page: statistics.median(values) for page, values in measured.items()},
            {page: statistics.median(values) for page, values in shares.items()})


def seed_database(url: str, participants: int, facilitators: int) -> Seeded:
    from app import create_app
    from benchmarks._seed import seed
    from models import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "load-seed",
                      "MAIL_BACKEND": "memory"})
    with app.app_context():
        db.create_all()
        seeded = seed(participants, facilitators)
        # As after any bulk load or restore: give the planner statistics (a live database has
        # them from autovacuum), or PostgreSQL's generic plans for prepared statements go wrong.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
        db.session.remove()
        db.engine.dispose()
    return seeded


def run_backend(name: str, url: str, args) -> bool:
    """Seed, serve, replay the peak, saturate, report; True when every target is met."""
    began = time.perf_counter()
    seeded = seed_database(url, args.participants, args.facilitators)
    print(f"\n== {name}: seeded {args.participants} participants, {args.facilitators} "
          f"facilitators in {time.perf_counter() - began:.1f} s; gunicorn --workers "
          f"{production_workers()} (sync)")
    port = app_port = free_port()
    # Two-factor sign-in optional: the researcher signs in with a password alone (facilitators
    # who are not clinicians and participants are not asked for a code either way).
    server = start_gunicorn(url, app_port, log_path=Path(args.log) if args.log else None,
                            HEARTH_TRUSTED_PROXIES="1" if args.proxy else "0",
                            STAFF_TWO_FACTOR="optional")
    proxy, proxy_files = None, tempfile.TemporaryDirectory()
    try:
        if args.proxy:  # the production front: nginx buffering both ways (README, Deployment)
            port = free_port()
            proxy = start_nginx(Path(proxy_files.name), port, app_port)
            print(f"through nginx on 127.0.0.1:{port} (docs/deploy/hearth-proxy.conf)")
        stats = Stats()
        run = Run(HOST, port, seeded, args.think, stats)
        duration = peak(run, args.ramp)
        throughput, shares = saturate(HOST, port, seeded, args.clients, args.per_client,
                                      args.rounds)
        workers = worker_pids(server.pid)
        memory = [m for m in (resident_mib(pid) for pid in workers) if m is not None]
    finally:
        if proxy is not None:
            stop(proxy)
        stop(server)
        proxy_files.cleanup()
    return report(name, stats, duration, throughput, shares, memory)


def report(name: str, stats: Stats, duration: float, throughput: dict[str, float],
           shares: dict[str, float], memory: list[float]) -> bool:
    print(f"peak: {stats.requests} requests in {duration:.1f} s = "
          f"{stats.requests / duration:.1f} requests/s; errors: {stats.error_count}")
    print(f"{'page':<22}{'requests':>9}{'median ms':>11}{'p95 ms':>9}{'errors':>8}"
          f"{'req/s flat out':>16}{'vs floor':>10}")
    ok = stats.error_count == 0
    for page, count, median, p95, errors in stats.rows():
        rps, share = throughput.get(page), shares.get(page)
        ratio = f"{share:>9.0%}" if rps else f"{'':>9}"
        rps_text = f"{rps:>16.1f}" if rps else f"{'':>16}"
        mark = ""
        if ((page in TARGET_PAGES and name == "postgresql") or page in STAFF_PAGES) and p95 >= 150:
            mark, ok = " <- p95 over 150 ms", False
        if page in TARGET_PAGES and rps and share < 0.40:
            mark, ok = mark + " <- under 40 % of floor", False
        print(f"{page:<22}{count:>9}{median:>11.1f}{p95:>9.1f}{errors:>8}{rps_text} "
              f"{ratio}{mark}")
    for page in throughput.keys() - {row[0] for row in stats.rows()}:  # not reached in the peak
        print(f"{page:<22}{0:>9}{'':>11}{'':>9}{'':>8}{throughput[page]:>16.1f} "
              f"{shares[page]:>9.0%} <- not reached during the peak")
        ok = False
    for sample in stats.samples:
        print(f"  error: {sample}")
    if memory:
        print(f"resident memory per worker after the run: {max(memory):.0f} MiB "
              f"(largest of {len(memory)}; smallest {min(memory):.0f} MiB)")
    print(f"targets met: {'yes' if ok else 'NO'}")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--participants", type=int, default=500)
    parser.add_argument("--facilitators", type=int, default=10)
    parser.add_argument("--ramp", type=float, default=120.0,
                        help="seconds over which participants arrive (default 120)")
    parser.add_argument("--think", type=float, default=2.0,
                        help="mean pause between a person's pages, seconds (default 2)")
    parser.add_argument("--clients", type=int, default=10,
                        help="concurrent clients when measuring throughput (default 10)")
    parser.add_argument("--per-client", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds of floor-then-pages when saturating; medians reported")
    parser.add_argument("--log", help="append gunicorn's output to this file")
    parser.add_argument("--no-proxy", dest="proxy", action="store_false",
                        help="talk to gunicorn directly instead of through nginx")
    args = parser.parse_args(argv)
    if args.proxy and not nginx_available():
        parser.error("nginx not found: install Debian's nginx-light (make proxy) or --no-proxy")
    ok = True
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as workdir:
            ok &= run_backend("sqlite", f"sqlite:///{Path(workdir) / 'load.db'}", args)
    if args.backend in ("postgresql", "both"):
        create_database(POSTGRES_URL)
        try:
            ok &= run_backend("postgresql", POSTGRES_URL, args)
        finally:
            drop_database(POSTGRES_URL)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
