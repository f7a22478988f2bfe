"""Time the efficacy report and each model beside R on the same data, measured in one run.

1. The 20-measure report (2 arms, 3 timepoints) at 200 and 20,000 participants: total time of
   ``efficacy_report`` with the random-intercept model (the default) and with the MMRM, per
   measure.
2. One measure, 20,000 participants in 1,000 therapy groups (the CFT arm) at 10 sites, three
   timepoints: every model of the data contract, Hearth's ``efficacy_report`` (descriptives,
   effects, type III tests, per-timepoint contrasts) beside R doing the same work (``lmer`` +
   lmerTest ``summary`` + ``anova`` + emmeans contrasts; ``nlme::gls`` for the unstructured
   model; ``lm`` for the ANCOVA). Kenward–Roger also at 500 participants: pbkrtest works with
   the dense N x N covariance and its products (at 20,000 participants N is about 56,000 rows,
   25 GB a matrix), so R is not run at full size; at 1,000 participants it took 748 s.

R runs when ``Rscript`` with lme4, lmerTest, pbkrtest, emmeans and nlme is on the PATH.

Usage: ``python benchmarks/analysis.py [N ...]`` (default: 200 20000 for part 1; part 2 always
uses 20,000 and 500 participants). The whole run takes about 10 minutes, most of it R's.
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

R_REPORT = """
suppressMessages(library(lmerTest))
d <- read.csv("{path}")
d$time <- factor(d$timepoint, levels = c("pre", "post", "follow"))
t0 <- proc.time()[["elapsed"]]
m <- lmer(score ~ time * arm + (1 | participant_id), d)
s <- summary(m)
cat(proc.time()[["elapsed"]] - t0, "\\n")
"""

#: every model on the same CSV; one line "label seconds" per model
R_MODELS = """
suppressMessages({{library(lmerTest); library(emmeans); library(nlme)}})
emm_options(lmer.df = "satterthwaite")
d <- read.csv("{path}")
d$time <- factor(d$timepoint, levels = c("pre", "post", "follow"))
d$grouped_post <- as.integer(d$therapy_group != "" & d$timepoint != "pre")
d$therapy_group[d$therapy_group == ""] <- "none"
d$site <- factor(d$site); d$arm <- factor(d$arm)
d$t <- as.integer(d$time)
clock <- function(label, expr) {{
  t0 <- proc.time()[["elapsed"]]; force(expr)
  cat(label, proc.time()[["elapsed"]] - t0, "\\n")
}}
full <- function(f, data, ddf = "Satterthwaite") {{
  m <- lmer(f, data)
  s <- summary(m, ddf = ddf); a <- anova(m, ddf = ddf)
  e <- emmeans(m, ~ arm | time, lmer.df = tolower(ddf))
  contrast(e, "trt.vs.ctrl", ref = 1, adjust = "none")
}}
pid <- score ~ time * arm + (1 | participant_id)
site <- score ~ time * arm + (1 | site) + (1 | participant_id)
group <- score ~ time * arm + (1 | participant_id) + (0 + grouped_post | therapy_group)
both <- score ~ time * arm + (1 | site) + (1 | participant_id) +
  (0 + grouped_post | therapy_group)
{full_size}
small <- d[d$participant_id %in% unique(d$participant_id)[1:{small}], ]
clock("kr_small", full(both, small, "Kenward-Roger"))
clock("lmm_small", full(both, small))
"""

R_FULL_SIZE = """
clock("lmm", full(pid, d))
clock("site", full(site, d))
clock("group", full(group, d))
clock("both", full(both, d))
clock("mmrm", summary(gls(score ~ time * arm, d,
                          correlation = corSymm(form = ~ t | participant_id),
                          weights = varIdent(form = ~ 1 | time), method = "REML")))
w <- reshape(d[, c("participant_id", "arm", "timepoint", "score")],
             idvar = c("participant_id", "arm"), timevar = "timepoint", direction = "wide")
clock("ancova", {{summary(lm(score.post ~ score.pre + arm, w))
                 summary(lm(score.follow ~ score.pre + arm, w))}})
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


def make_clustered(n_participants: int, seed: int = 2) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One measure: CFT delivered in therapy groups of 10 (with a group effect after
    baseline), usual care in none, 10 sites (with a site effect), ~10 % missing later."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"P{i:06d}" for i in range(n_participants)])
    arm = np.where(np.arange(n_participants) % 2 == 0, "CFT", "UC")
    order = np.cumsum(arm == "CFT") - 1
    group = np.where(arm == "CFT", np.char.add("G", (order // 10).astype(str)), "")
    site = np.char.add("S", rng.integers(0, 10, n_participants).astype(str))
    n_groups = int(order.max() // 10 + 1)
    group_effect = rng.normal(0, 2, n_groups)
    site_effect = rng.normal(0, 2, 10)
    person = rng.normal(0, 5, n_participants)
    rows = []
    for j, tp in enumerate(TIMEPOINTS):
        keep = np.ones(n_participants, bool) if j == 0 else rng.random(n_participants) > 0.1
        later = j > 0
        score = (30 + person + site_effect[np.char.lstrip(site, "S").astype(int)] - 2 * j
                 - 3 * j * (arm == "CFT")
                 + later * np.where(arm == "CFT", group_effect[order // 10], 0.0)
                 + rng.normal(0, 4, n_participants))
        rows.append(pd.DataFrame({"participant_id": ids[keep], "arm": arm[keep],
                                  "timepoint": tp, "measure": "BDI-II",
                                  "score": np.round(score[keep], 1)}))
    participants = pd.DataFrame({"participant_id": ids, "arm": arm, "status": "completed",
                                 "gender": "female", "age": 40, "site": site,
                                 "therapy_group": group})
    return pd.concat(rows, ignore_index=True), participants


def r_available() -> bool:
    if shutil.which("Rscript") is None:
        return False
    check = subprocess.run(
        ["Rscript", "-e", "for (p in c('lme4', 'lmerTest', 'pbkrtest', 'emmeans', 'nlme')) "
                          "stopifnot(requireNamespace(p, quietly = TRUE))"],
        capture_output=True)
    return check.returncode == 0


def r_fit_seconds(scores: pd.DataFrame) -> float | None:
    """Seconds R takes for one measure (lmer fit + lmerTest summary), or None without R."""
    if not r_available():
        return None
    one = scores[scores["measure"] == "measure01"]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "one.csv"
        one.to_csv(path, index=False)
        out = subprocess.run(["Rscript", "-e", R_REPORT.format(path=path)],
                             capture_output=True, text=True)
    if out.returncode != 0:
        return None
    return float(out.stdout.split()[-1])


def r_model_seconds(scores: pd.DataFrame, participants: pd.DataFrame, small: int,
                    full_size: bool = True) -> dict[str, float]:
    """R's seconds per model (see R_MODELS), or {} without R."""
    if not r_available():
        return {}
    data = scores.merge(participants.drop(columns="arm"), on="participant_id")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clustered.csv"
        data.to_csv(path, index=False)
        script = R_MODELS.format(path=path, small=small,
                                 full_size=R_FULL_SIZE.format() if full_size else "")
        out = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True)
    if out.returncode != 0:
        print("  R failed:", out.stderr.strip().splitlines()[-1:])
        return {}
    times = {}
    for line in out.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2:
            times[parts[0]] = float(parts[1])
    return times


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


MODELS = [
    # label, R's label, efficacy_report options, what it is
    ("lmm", "lmm", {}, "random intercept per participant (the papers' model)"),
    ("mmrm", "mmrm", {"model": "mmrm"}, "unstructured covariance (R: nlme::gls corSymm)"),
    ("site", "site", {"random": "site"}, "+ (1 | site)"),
    ("group", "group", {"therapy_group": "therapy_group"},
     "+ (0 + grouped_post | therapy_group)"),
    ("both", "both", {"random": "site", "therapy_group": "therapy_group"},
     "site and therapy group"),
    ("kr", None, {"random": "site", "therapy_group": "therapy_group", "ddf": "kenward-roger"},
     "site and therapy group, Kenward-Roger"),
    ("ancova", "ancova", None, "ANCOVA per later timepoint: lm(score_t ~ score_pre + arm)"),
]


def _hearth_seconds(scores, participants, options) -> float:
    if options is None:  # the ANCOVA on its own, as R's lm
        from analysis.ancova import ancova

        t0 = time.perf_counter()
        rows = ancova(scores, TIMEPOINTS, ["CFT", "UC"])
        seconds = time.perf_counter() - t0
        assert rows[0]["estimate"] is not None
        return seconds
    t0 = time.perf_counter()
    report = efficacy_report(scores, participants, TIMEPOINTS, **options)
    seconds = time.perf_counter() - t0
    assert report["measures"]["BDI-II"]["effects"][0]["estimate"] is not None
    return seconds


def bench_models(n_participants: int = 20_000, small: int = 500) -> None:
    scores, participants = make_clustered(n_participants)
    groups = participants["therapy_group"].replace("", np.nan).nunique()
    print(f"\nOne measure, {n_participants:,} participants ({len(scores):,} rows), 3 timepoints,"
          f" {groups:,} therapy groups, 10 sites: seconds per model (Hearth: efficacy_report "
          "with effects, type III tests and contrasts; R: lmer + lmerTest summary + anova + "
          "emmeans contrasts)")
    efficacy_report(scores.head(300), participants, TIMEPOINTS)  # warm imports
    hearth = {label: _hearth_seconds(scores, participants, options)
              for label, _, options, _ in MODELS}
    ids = participants["participant_id"].head(small)
    small_scores = scores[scores["participant_id"].isin(ids)]
    small_people = participants[participants["participant_id"].isin(ids)]
    both = {"random": "site", "therapy_group": "therapy_group"}
    hearth["kr_small"] = _hearth_seconds(small_scores, small_people,
                                         {**both, "ddf": "kenward-roger"})
    hearth["lmm_small"] = _hearth_seconds(small_scores, small_people, both)
    r = r_model_seconds(scores, participants, small)
    if not r:
        print("  R: Rscript with lme4, lmerTest, pbkrtest, emmeans and nlme not found")
    rows = [(label, r_label, what) for label, r_label, _, what in MODELS]
    rows += [("kr_small", "kr_small", f"{small:,} participants: site and group, Kenward-Roger"),
             ("lmm_small", "lmm_small", f"{small:,} participants: site and group, Satterthwaite")]
    dense_gb = len(scores) ** 2 * 8 / 1e9  # one N x N matrix of doubles
    print(f"  {'model':10s} {'Hearth':>9s} {'R':>9s} {'R / Hearth':>11s}  what")
    for label, r_label, what in rows:
        r_seconds = r.get(r_label) if r_label else None
        if r_label is None:
            r_text, ratio = "not run", f"({dense_gb:.0f} GB)"
        elif r_seconds is None:
            r_text, ratio = "-", ""
        else:
            r_text, ratio = f"{r_seconds:9.2f}", f"{r_seconds / hearth[label]:10.1f}x"
        print(f"  {label:10s} {hearth[label]:9.2f} {r_text:>9s} {ratio:>11s}  {what}")


def main(argv: list[str]) -> None:
    sizes = [int(a) for a in argv] or [200, 20_000]
    for n in sizes:
        bench(n)
    bench_models()


if __name__ == "__main__":
    main(sys.argv[1:])
