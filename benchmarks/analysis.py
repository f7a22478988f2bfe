"""Time the efficacy report: 20 measures, 2 arms, 3 timepoints, 200 and 20,000 participants.

Prints the total time of ``efficacy_report`` (random-intercept LMM, the default) and of the
MMRM alternative, the per-measure fit time, and, when ``Rscript`` with lme4 + lmerTest is on
the PATH, the time R takes to fit and summarise one such measure (``lmer`` + ``summary`` for
Satterthwaite df).

Usage: ``python benchmarks/analysis.py [N ...]`` (default: 200 20000).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis import efficacy_report  # noqa: E402

N_MEASURES = 20
TIMEPOINTS = ["pre", "post", "follow"]

R_SCRIPT = """
suppressMessages(library(lmerTest))
d <- read.csv("{path}")
d$time <- factor(d$timepoint, levels = c("pre", "post", "follow"))
t0 <- proc.time()[["elapsed"]]
m <- lmer(score ~ time * arm + (1 | participant_id), d)
s <- summary(m)
cat(proc.time()[["elapsed"]] - t0, "\\n")
"""


def make_scores(n_participants: int, seed: int = 1) -> pd.DataFrame:
    """Simulated tidy scores: random intercepts, an arm x time effect, ~10 % missing later."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"P{i:06d}" for i in range(n_participants)])
    arm = np.where(rng.random(n_participants) < 0.5, "CFT", "UC")
    frames = []
    for m in range(N_MEASURES):
        intercept = rng.normal(30, 6, n_participants)
        for j, tp in enumerate(TIMEPOINTS):
            keep = np.ones(n_participants, bool) if j == 0 else rng.random(n_participants) > 0.1
            score = intercept - 2 * j - 3 * j * (arm == "CFT") + rng.normal(0, 5, n_participants)
            frames.append(pd.DataFrame({
                "participant_id": ids[keep], "arm": arm[keep], "timepoint": tp,
                "measure": f"measure{m + 1:02d}", "score": np.round(score[keep], 1),
            }))
    return pd.concat(frames, ignore_index=True)


def r_fit_seconds(scores: pd.DataFrame) -> float | None:
    """Seconds R takes for one measure (lmer fit + lmerTest summary), or None without R."""
    if shutil.which("Rscript") is None:
        return None
    one = scores[scores["measure"] == "measure01"]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "one.csv"
        one.to_csv(path, index=False)
        out = subprocess.run(["Rscript", "-e", R_SCRIPT.format(path=path)],
                             capture_output=True, text=True)
    if out.returncode != 0:
        return None
    return float(out.stdout.split()[-1])


def bench(n_participants: int) -> None:
    scores = make_scores(n_participants)
    print(f"\n{n_participants:,} participants, {N_MEASURES} measures, 2 arms, "
          f"{len(TIMEPOINTS)} timepoints: {len(scores):,} rows")
    efficacy_report(scores.head(200), None, TIMEPOINTS)  # warm imports
    for model in ("lmm", "mmrm"):
        t0 = time.perf_counter()
        report = efficacy_report(scores, None, TIMEPOINTS, model=model)
        total = time.perf_counter() - t0
        assert len(report["measures"]) == N_MEASURES
        print(f"  {model:4s} full report: {total:6.2f} s total, "
              f"{total / N_MEASURES * 1000:7.1f} ms per measure")
    one = scores[scores["measure"] == "measure01"]
    t0 = time.perf_counter()
    efficacy_report(one, None, TIMEPOINTS)
    print(f"  lmm  one measure (report incl. descriptives): "
          f"{(time.perf_counter() - t0) * 1000:7.1f} ms")
    r_seconds = r_fit_seconds(scores)
    if r_seconds is None:
        print("  R: Rscript with lmerTest not found, no comparison")
    else:
        print(f"  R lme4 + lmerTest one measure (lmer + summary): {r_seconds * 1000:7.1f} ms")


def main(argv: list[str]) -> None:
    sizes = [int(a) for a in argv] or [200, 20_000]
    for n in sizes:
        bench(n)


if __name__ == "__main__":
    main(sys.argv[1:])
