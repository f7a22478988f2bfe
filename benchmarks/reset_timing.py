"""Time password-reset requests for an address with an account and one without.

Both must take the same time: the request only queues (the dispatcher sends later), and both
answers do the same database work. Posts alternately for a known and an unknown address
through the test client, with real password hashing and SMTP configured (to a closed port:
nothing may talk to it during the request), and prints the median and 95th percentile of each.

Runs on a temporary SQLite file by default; set ``DATABASE_URL`` to an empty PostgreSQL
database to run there (the tables are created, and dropped at the end).

Usage: ``python benchmarks/reset_timing.py [repetitions]`` (default 200).
"""

from __future__ import annotations

import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _stats import percentile  # noqa: E402

from app import create_app  # noqa: E402
from models import db  # noqa: E402
from program.accounts.passwords import create_user  # noqa: E402

_CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def _app(tmp: str):
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{tmp}/reset.db"
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench",
                       "MAIL_BACKEND": "smtp", "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": 9,
                       "MAIL_USE_TLS": False, "RATELIMIT_ENABLED": False,
                       "BASE_URL": "http://bench.invalid"})


def main(repetitions: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = _app(tmp)
        with app.app_context():
            db.create_all()
            create_user("known@example.org", "Known", "participant", "a long passphrase")
            db.session.commit()
            client = app.test_client()
            token = _CSRF.search(client.get("/auth/reset").get_data(as_text=True)).group(1)
            times: dict[str, list[float]] = {"known": [], "unknown": []}
            for _ in range(repetitions):
                for label, email in (("known", "known@example.org"),
                                     ("unknown", "nobody@example.org")):
                    start = time.perf_counter()
                    response = client.post("/auth/reset",
                                           data={"email": email, "csrf_token": token})
                    times[label].append(time.perf_counter() - start)
                    assert response.status_code == 302, response.status_code
            print(f"{'address':<10}{'requests':>10}{'median ms':>12}{'p95 ms':>10}")
            for label, values in times.items():
                print(f"{label:<10}{len(values):>10}{statistics.median(values) * 1000:>12.2f}"
                      f"{percentile(values, 0.95) * 1000:>10.2f}")
            if os.environ.get("DATABASE_URL"):
                db.drop_all()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
