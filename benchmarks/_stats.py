"""Latency and error bookkeeping for the load script (thread-safe)."""

from __future__ import annotations

import statistics
import threading
from collections import defaultdict


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0-1) by the nearest-rank method."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(q * len(ordered) + 0.5)))
    return ordered[rank - 1]


class Stats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.samples: list[str] = []

    def record(self, page: str, seconds: float, ok: bool, detail: str = "") -> None:
        with self._lock:
            self.latency[page].append(seconds)
            if not ok:
                self.errors[page] += 1
                if len(self.samples) < 10:
                    self.samples.append(f"{page}: {detail}")

    @property
    def requests(self) -> int:
        return sum(len(v) for v in self.latency.values())

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def rows(self) -> list[tuple[str, int, float, float, int]]:
        """(page, requests, median ms, p95 ms, errors) per page, in first-seen order."""
        return [(page, len(v), statistics.median(v) * 1000, percentile(v, 0.95) * 1000,
                 self.errors.get(page, 0)) for page, v in self.latency.items()]
