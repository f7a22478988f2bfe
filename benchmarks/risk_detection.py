"""Recall and false alarms of the risk detector on the labelled evaluation set, and its speed.

For each language of ``tests/data/risk_eval``: recall over the risk statements (overall, per
family, and urgent statements found at urgent level), the false-alarm rate over the ordinary
statements (and over the everyday death idioms alone), then the time to screen a 2,000-character
post with every language's patterns (the way posts are screened). Each statement is screened
with all languages' patterns, as posts are.

Usage: ``python benchmarks/risk_detection.py [--misses]`` (``--misses`` lists what the
evaluation set missed and what raised a false alarm, for whoever extends the patterns; the
held-out set's misses are never listed, so that nobody tunes the patterns on it).
"""

from __future__ import annotations

import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from program.safety.detector import FAMILIES, detect  # noqa: E402

EVAL_DIR = Path(__file__).resolve().parents[1] / "tests" / "data" / "risk_eval"
LANGUAGES = ("en", "ja", "zh")
ORDINARY = ("ordinary", "hyperbole")


@dataclass(frozen=True)
class Statement:
    family: str
    level: str
    text: str

    @property
    def risk(self) -> bool:
        return self.family not in ORDINARY


@dataclass
class Result:
    language: str
    found: dict[str, list[int]] = field(default_factory=dict)  #: family -> [found, total]
    urgent: list[int] = field(default_factory=lambda: [0, 0])
    alarms: dict[str, list[int]] = field(default_factory=dict)  #: ordinary kind -> [n, total]
    misses: list[str] = field(default_factory=list)
    false_alarms: list[str] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return sum(f for f, _ in self.found.values()) / sum(t for _, t in self.found.values())

    @property
    def false_alarm_rate(self) -> float:
        return sum(n for n, _ in self.alarms.values()) / sum(t for _, t in self.alarms.values())


def load_set(language: str, held_out: bool = False) -> list[Statement]:
    name = f"holdout_{language}.tsv" if held_out else f"{language}.tsv"
    lines = (EVAL_DIR / name).read_text(encoding="utf-8").splitlines()
    return [Statement(*line.split("\t")) for line in lines
            if line.strip() and not line.startswith("#")]


def evaluate(language: str, held_out: bool = False) -> Result:
    result = Result(language)
    for statement in load_set(language, held_out):
        matches = detect(statement.text)
        if statement.risk:
            tally = result.found.setdefault(statement.family, [0, 0])
            tally[0] += bool(matches)
            tally[1] += 1
            if not matches:
                result.misses.append(f"{statement.family}: {statement.text}")
            if statement.level == "urgent":
                result.urgent[0] += any(m.urgent for m in matches)
                result.urgent[1] += 1
        else:
            tally = result.alarms.setdefault(statement.family, [0, 0])
            tally[0] += bool(matches)
            tally[1] += 1
            if matches:
                result.false_alarms.append(
                    f"{statement.text}  <- {', '.join(m.pattern for m in matches)}")
    return result


def post_of(language: str, length: int = 2000) -> str:
    """An ordinary post of about ``length`` characters from the set's ordinary statements."""
    sentences = [s.text for s in load_set(language) if s.family == "ordinary"]
    text, i = "", 0
    while len(text) < length:
        text += sentences[i % len(sentences)] + " "
        i += 1
    return text[:length]


def screening_ms(text: str, runs: int = 200) -> tuple[float, float]:
    """Median wall-clock and CPU milliseconds to screen ``text`` with every language.

    CPU time is shown beside wall time because on a busy machine the wall time mostly
    measures waiting for a core.
    """
    detect(text)  # compile once, as the running app has
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        detect(text)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls) * 1000, statistics.median(cpus) * 1000


def _pct(n: int, total: int) -> str:
    return f"{100 * n / total:5.1f}% ({n}/{total})"


def report(r: Result, show_misses: bool, title: str) -> None:
    found = sum(f for f, _ in r.found.values()), sum(t for _, t in r.found.values())
    alarms = sum(n for n, _ in r.alarms.values()), sum(t for _, t in r.alarms.values())
    print(f"[{r.language}] {title}: recall {_pct(*found)}   false alarms {_pct(*alarms)}")
    for family in FAMILIES:
        if family in r.found:
            print(f"    {family:<20} recall {_pct(*r.found[family])}")
    print(f"    {'urgent at urgent':<20} recall {_pct(*r.urgent)}")
    for kind, (n, total) in r.alarms.items():
        print(f"    {kind:<20} false alarms {_pct(n, total)}")
    if show_misses:
        for line in r.misses:
            print(f"    MISS  {line}")
        for line in r.false_alarms:
            print(f"    ALARM {line}")


def main(show_misses: bool = False) -> None:
    for language in LANGUAGES:
        report(evaluate(language), show_misses, "evaluation set")
    print("held-out sets (written after the patterns were fixed, never used to tune them):")
    for language in LANGUAGES:  # never lists what it missed: nobody tunes on it
        report(evaluate(language, held_out=True), False, "held-out set")
    mixed = "".join(post_of(lang, 700) for lang in LANGUAGES)[:2000]
    for name, text in [*((lang, post_of(lang)) for lang in LANGUAGES), ("mixed", mixed)]:
        wall, cpu = screening_ms(text)
        print(f"screening a {len(text)}-character {name} post (all languages' patterns): "
              f"{wall:.2f} ms wall, {cpu:.2f} ms CPU (median of 200)")


if __name__ == "__main__":
    main(show_misses="--misses" in sys.argv)
