"""The feasibility report: attendance, retention, assessment completion, delivery, satisfaction,
engagement, progression criteria and completers vs non-completers.

Inputs (tidy tables; the command line reads them from CSV files of the same columns):

``attendance`` (attendance.csv), one row per participant x meeting
    ``participant_id, arm, meeting, present[, minutes]``; ``meeting`` is the meeting number
    1..n, ``present`` 1/0 (yes/no, true/false); ``minutes`` optional time attended. Arms without
    meetings (usual care) simply have no rows.
``participants`` (participants.csv, the data contract's)
    ``status`` decides completion (``completed``) and dropout (``withdrawn``, ``lost``);
    the remaining columns are the baseline variables compared between completers and
    non-completers.
``flow`` (flow.csv), CONSORT records
    ``participant_id, stage, arm, reason``, see :mod:`analysis.consort`.
``sessions`` (sessions.csv), one row per meeting of a cohort
    ``meeting, status[, cohort, adherence]``; ``status`` is held, cancelled, truncated or
    postponed; ``adherence`` the share (0-1) of the facilitator's checklist completed.
``satisfaction`` (csq.csv), one row per participant
    ``participant_id`` and the CSQ-8 item ratings ``csq_1 .. csq_8`` (1-4).
``scores`` (scores.csv) with ``timepoints``
    assessment completion: the share of participants with a score at each timepoint.
``engagement`` (engagement.csv), one row per participant x week
    ``participant_id, week`` and any of ``materials_opened, practice_minutes, posts``.

Progression criteria compare measured percentages with green/amber thresholds: the metrics are
``retention_pct`` (completed among those no longer active), ``mean_attendance_pct`` and
``assessment_completion_pct`` (the lowest timepoint's), plus any value the caller adds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from analysis.completers import completer_comparison
from analysis.consort import flow_counts
from analysis.notes import note
from analysis.numbers import finite as _num

__all__ = [
    "attendance_summary",
    "completion_summary",
    "assessment_completion",
    "all_assessments",
    "due_timepoints",
    "session_delivery",
    "satisfaction_summary",
    "engagement_summary",
    "progression",
    "recruitment",
    "feasibility_report",
    "DEFAULT_CRITERIA",
]

#: Pre-registered-style progression criteria: metric, green threshold, amber threshold (%).
DEFAULT_CRITERIA = [
    {"metric": "retention_pct", "label": "retention", "green": 80.0, "amber": 60.0},
    {"metric": "mean_attendance_pct", "label": "attendance", "green": 75.0, "amber": 50.0},
    {"metric": "assessment_completion_pct", "label": "questionnaire completion",
     "green": 80.0, "amber": 60.0},
]


#: participants.csv columns that describe the course or the schedule, not the person at
#: baseline: left out of the completers vs non-completers comparison
NOT_BASELINE = ("due", "therapy_group", "sessions_attended", "start_meeting", "randomised_on",
                "cohort")



#: meeting outcomes after which the meeting took place (a postponed one was held later)
TOOK_PLACE = ("held", "truncated", "postponed")


def _cohort_key(frame: pd.DataFrame) -> pd.Series:
    """The cohort of each row: the ``cohort`` column, else the arm (one cohort per arm)."""
    if "cohort" in frame.columns:
        return frame["cohort"].astype(str)
    return frame["arm"].astype(str)


def _meetings_held(attendance: pd.DataFrame, sessions: pd.DataFrame | None) -> pd.DataFrame:
    """``cohort, meeting`` of every meeting that took place.

    With ``sessions`` its status decides (held, truncated and postponed meetings took place;
    cancelled ones did not); a sessions table without a ``cohort`` column applies to every
    cohort. Without it, every meeting that has a row in ``attendance`` took place (Hearth's
    export lists only those).
    """
    seen = pd.DataFrame({"cohort": _cohort_key(attendance),
                         "meeting": attendance["meeting"].astype(int)}).drop_duplicates()
    if sessions is None or sessions.empty:
        return seen
    took_place = sessions[sessions["status"].isin(TOOK_PLACE)]
    cancelled = sessions[~sessions["status"].isin(TOOK_PLACE)]
    if "cohort" in sessions.columns:
        held = pd.DataFrame({"cohort": took_place["cohort"].astype(str),
                             "meeting": took_place["meeting"].astype(int)})
        off = set(zip(cancelled["cohort"].astype(str), cancelled["meeting"].astype(int),
                      strict=True))
    else:
        cohorts = seen["cohort"].unique()
        held = pd.DataFrame([(c, int(m)) for c in cohorts for m in took_place["meeting"]],
                            columns=["cohort", "meeting"])
        off = {(c, int(m)) for c in cohorts for m in cancelled["meeting"]}
    held = pd.concat([held, seen], ignore_index=True).drop_duplicates()
    keep = [(c, m) not in off for c, m in zip(held["cohort"], held["meeting"], strict=True)]
    return held[keep].sort_values(["cohort", "meeting"], ignore_index=True)


def attendance_summary(attendance: pd.DataFrame, min_attended: int | None = None,
                       sessions: pd.DataFrame | None = None) -> dict:
    """Per-participant attendance over the meetings held since they started, its range and
    distribution, the share attending >= k, and attendance per meeting over the course.

    Parameters
    ----------
    attendance : DataFrame
        ``participant_id, arm, meeting, present`` and optionally ``cohort`` (meetings are
        numbered per cohort; without it each arm is one cohort) and ``start_meeting`` (the
        first meeting a participant was due at; without it, the first meeting they have a
        row for).
    min_attended : int, optional
        ``k`` for "attended at least k of n"; defaults to ``n - 2`` (MSC used 6 of 8), ``n``
        being the largest number of meetings held in a cohort.
    sessions : DataFrame, optional
        ``meeting, status[, cohort]``: cancelled meetings are left out of every denominator,
        also when ``attendance`` lists them.

    Returns
    -------
    dict
        ``n_meetings`` (meetings held, largest cohort), ``participants`` (id, arm, meetings
        due, attended, rate_pct), ``rate_pct`` (mean, sd, min, median, max),
        ``distribution`` (missed meetings -> participants), ``min_attended``, ``at_least_k``
        (n, of, pct) and ``by_meeting`` (meeting, present, expected, pct).

    Examples
    --------
    Eight weekly meetings, the fifth cancelled: someone who came to all seven held meetings
    attended 100 %, and someone who joined at meeting 3 and came to every meeting since has
    100 % too.

    >>> import pandas as pd
    >>> rows = [("A", m, True) for m in (1, 2, 3, 4, 6, 7, 8)]
    >>> rows += [("B", m, m != 2) for m in (3, 4, 6, 7, 8)]
    >>> attendance = pd.DataFrame(rows, columns=["participant_id", "meeting", "present"])
    >>> attendance["arm"] = "CFT"
    >>> sessions = pd.DataFrame({"meeting": range(1, 9),
    ...                          "status": ["held"] * 4 + ["cancelled"] + ["held"] * 3})
    >>> out = attendance_summary(attendance, sessions=sessions)
    >>> [(p["participant_id"], p["meetings"], p["rate_pct"]) for p in out["participants"]]
    [('A', 7, 100.0), ('B', 5, 100.0)]
    """
    if attendance.empty:
        return {"n_meetings": 0, "participants": [], "warning": note("no_attendance")}
    data = attendance.assign(cohort=_cohort_key(attendance),
                             meeting=attendance["meeting"].astype(int))
    held = _meetings_held(attendance, sessions)
    held_by_cohort = {c: np.sort(g["meeting"].to_numpy()) for c, g in held.groupby("cohort")}
    if "start_meeting" in data.columns:
        start = pd.to_numeric(data["start_meeting"], errors="coerce")
        start = start.fillna(data["meeting"]).groupby(data["participant_id"]).min()
    else:
        start = data.groupby("participant_id")["meeting"].min()
    records = []
    expected_rows = []
    for (pid, arm, cohort), rows in data.groupby(["participant_id", "arm", "cohort"],
                                                sort=True):
        due = held_by_cohort.get(cohort, np.array([], dtype=int))
        due = due[due >= start[pid]]
        present = set(rows.loc[rows["present"].astype(bool), "meeting"])
        attended = int(sum(1 for m in due if m in present))
        records.append({"participant_id": pid, "arm": arm, "meetings": len(due),
                        "attended": attended,
                        "rate_pct": _num(100.0 * attended / len(due)) if len(due) else None})
        expected_rows += [(int(m), m in present) for m in due]
    per = pd.DataFrame(records)
    n_meetings = max((len(m) for m in held_by_cohort.values()), default=0)
    k = min_attended if min_attended is not None else max(n_meetings - 2, 1)
    at_least = int((per["attended"] >= k).sum())
    missed = (per["meetings"] - per["attended"]).value_counts().sort_index()
    rate = per["rate_pct"].dropna().astype(float)
    by_meeting = pd.DataFrame(expected_rows, columns=["meeting", "present"]).groupby(
        "meeting")["present"].agg(["sum", "count"])
    return {
        "n_meetings": n_meetings,
        "participants": per.to_dict("records"),
        "rate_pct": {
            "mean": _num(rate.mean()) if len(rate) else None,
            "sd": _num(rate.std(ddof=1)) if len(rate) > 1 else None,
            "min": _num(rate.min()) if len(rate) else None,
            "median": _num(rate.median()) if len(rate) else None,
            "max": _num(rate.max()) if len(rate) else None,
        },
        "distribution": [
            {"missed": int(m), "participants": int(c)} for m, c in missed.items()
        ],
        "min_attended": k,
        "at_least_k": {"n": at_least, "of": len(per), "pct": _num(100.0 * at_least / len(per))},
        "by_meeting": [
            {"meeting": int(m), "present": int(r["sum"]), "expected": int(r["count"]),
             "pct": _num(100.0 * r["sum"] / r["count"])}
            for m, r in by_meeting.iterrows()
        ],
    }


def completion_summary(participants: pd.DataFrame) -> dict:
    """Completion and dropout per arm and overall, from ``status``.

    Dropout counts ``withdrawn`` and ``lost``; ``active`` participants are still in the course
    and are left out of both percentages' denominators.
    """
    out = {}
    groups = [(arm, grp) for arm, grp in participants.groupby("arm")]
    groups.append(("all", participants))
    for arm, grp in groups:
        finished = grp[grp["status"] != "active"]
        completed = int((finished["status"] == "completed").sum())
        dropped = int(finished["status"].isin(["withdrawn", "lost"]).sum())
        total = len(finished)
        out[arm] = {
            "n": len(grp),
            "completed": completed,
            "dropped_out": dropped,
            "active": int((grp["status"] == "active").sum()),
            "completion_pct": _num(100.0 * completed / total) if total else None,
            "dropout_pct": _num(100.0 * dropped / total) if total else None,
        }
    return out


def due_timepoints(participants: pd.DataFrame, timepoints: Sequence[str]
                   ) -> dict[str, set[str]] | None:
    """The timepoints each participant is due for (their assessment window has opened), from
    the ``due`` column of ``participants``: timepoint labels separated by ``;`` or ``,``, an
    empty cell meaning every timepoint. None without the column: everyone is due everywhere.
    """
    if "due" not in participants.columns:
        return None
    due: dict[str, set[str]] = {}
    for pid, listed in zip(participants["participant_id"], participants["due"], strict=True):
        if isinstance(listed, str) and listed.strip():
            due[pid] = {t.strip() for t in listed.replace(";", ",").split(",") if t.strip()}
        else:
            due[pid] = set(timepoints)
    return due


def assessment_completion(
    scores: pd.DataFrame, timepoints: Sequence[str], participant_ids: Sequence[str] | None = None,
    due: Mapping[str, set[str]] | None = None,
) -> list[dict]:
    """Share of participants with at least one score at each timepoint, among those due.

    ``due`` maps participant -> timepoints they are due for (see :func:`due_timepoints`);
    without it everyone is due everywhere. Rows: ``timepoint, n, of, pct, not_due``.
    """
    ids = (
        pd.Index(participant_ids) if participant_ids is not None
        else pd.Index(scores["participant_id"].unique())
    )
    present = scores.dropna(subset=["score"])
    rows = []
    for tp in timepoints:
        done = set(present.loc[present["timepoint"] == tp, "participant_id"])
        owed = [i for i in ids if due is None or tp in due.get(i, set(timepoints))]
        n = sum(1 for i in owed if i in done)
        rows.append({"timepoint": tp, "n": n, "of": len(owed),
                     "pct": _num(100.0 * n / len(owed)) if owed else None,
                     "not_due": len(ids) - len(owed)})
    return rows


def all_assessments(
    scores: pd.DataFrame, timepoints: Sequence[str], participant_ids: Sequence[str] | None = None,
    due: Mapping[str, set[str]] | None = None,
) -> dict:
    """Participants with a score at every timepoint (the MSC paper's "completed both
    assessments"), among those due for all of them, and among those of them with a baseline.

    Returns
    -------
    dict
        ``timepoints``, ``n``, ``of`` (due for every timepoint), ``pct``, ``not_due`` (left
        out of ``of``), ``with_baseline`` and ``pct_of_baseline``.

    Examples
    --------
    The MSC pilot: 206 completed the baseline, 183 of them the week-8 questionnaire too
    (88.8 %); 27 more were allocated but never did the baseline.

    >>> import pandas as pd
    >>> ids = [f"M{i:03d}" for i in range(233)]
    >>> rows = [(p, "baseline", 1.0) for p in ids[:206]] + [(p, "week8", 1.0) for p in ids[:183]]
    >>> scores = pd.DataFrame(rows, columns=["participant_id", "timepoint", "score"])
    >>> out = all_assessments(scores, ["baseline", "week8"], ids)
    >>> out["n"], out["with_baseline"], round(out["pct_of_baseline"], 1)
    (183, 206, 88.8)
    """
    ids = (
        pd.Index(participant_ids) if participant_ids is not None
        else pd.Index(scores["participant_id"].unique())
    )
    present = scores.dropna(subset=["score"]).groupby("participant_id")["timepoint"].agg(set)
    wanted = set(timepoints)
    owed = [i for i in ids if due is None or wanted <= due.get(i, wanted)]
    done = [i for i in owed if wanted <= present.get(i, set())]
    with_baseline = [i for i in owed if timepoints[0] in present.get(i, set())]
    return {
        "timepoints": list(timepoints),
        "n": len(done),
        "of": len(owed),
        "pct": _num(100.0 * len(done) / len(owed)) if owed else None,
        "not_due": len(ids) - len(owed),
        "with_baseline": len(with_baseline),
        "pct_of_baseline": (_num(100.0 * len(done) / len(with_baseline))
                            if with_baseline else None),
    }


def session_delivery(sessions: pd.DataFrame) -> dict:
    """Meetings held, cancelled, truncated or postponed, and adherence checklist completion."""
    counts = sessions["status"].value_counts()
    out = {s: int(counts.get(s, 0)) for s in ("held", "cancelled", "truncated", "postponed")}
    out["total"] = len(sessions)
    if "adherence" in sessions.columns:
        adh = pd.to_numeric(sessions["adherence"], errors="coerce").dropna()
        out["adherence"] = {
            "sessions_with_checklist": len(adh),
            "mean_pct": _num(100.0 * adh.mean()) if len(adh) else None,
            "min_pct": _num(100.0 * adh.min()) if len(adh) else None,
        }
    return out


def satisfaction_summary(satisfaction: pd.DataFrame) -> dict:
    """CSQ-8 total (8-32): mean and SD over complete questionnaires, and the share of item
    ratings of 3 or 4 among the ratings given (a missing rating is left out, not counted as
    "not 3 or 4").

    Examples
    --------
    Seven questionnaires, one rating missing: 50 of the 55 ratings given are 3 or 4.

    >>> import pandas as pd
    >>> rows = [[4] * 8] * 6 + [[3, 2, 2, 2, 2, 2, None, 3]]
    >>> csq = pd.DataFrame(rows, columns=[f"csq_{i}" for i in range(1, 9)])
    >>> out = satisfaction_summary(csq)
    >>> out["ratings"], round(out["good_or_better_pct"], 2)
    (55, 90.91)

    References
    ----------
    Larsen, D. L., Attkisson, C. C., Hargreaves, W. A., & Nguyen, T. D. (1979). Assessment of
    client/patient satisfaction: development of a general scale. Eval Program Plann, 2, 197-207.
    """
    items = [c for c in satisfaction.columns if c.startswith("csq_")]
    ratings = satisfaction[items].apply(pd.to_numeric, errors="coerce")
    complete = ratings.dropna()
    total = complete.sum(axis=1)
    given = ratings.stack().dropna()
    return {
        "n": len(complete),
        "items": len(items),
        "total_mean": _num(total.mean()) if len(total) else None,
        "total_sd": _num(total.std(ddof=1)) if len(total) > 1 else None,
        "ratings": len(given),
        "good_or_better_pct": _num(100.0 * (given >= 3).mean()) if len(given) else None,
    }


def engagement_summary(engagement: pd.DataFrame) -> dict:
    """Mean per participant per week of materials opened, practice minutes and posts."""
    out = {"participants": int(engagement["participant_id"].nunique())}
    for column in ("materials_opened", "practice_minutes", "posts"):
        if column in engagement.columns:
            values = pd.to_numeric(engagement[column], errors="coerce").fillna(0)
            per_week = values.groupby(engagement["week"]).mean()
            per_person = values.groupby(engagement["participant_id"]).sum()
            out[column] = {
                "per_participant_per_week": _num(values.mean()),
                "per_participant_total_mean": _num(per_person.mean()),
                "by_week": {str(w): _num(v) for w, v in per_week.items()},
            }
    return out


def recruitment(participants: pd.DataFrame, column: str = "randomised_on") -> dict | None:
    """Recruitment over time from each participant's allocation date (``randomised_on``).

    Returns
    -------
    dict or None
        ``first``, ``last`` (ISO dates), ``n``, ``per_month`` (allocated per month from the
        first to the last allocation, at least one month: 30.44 days) and ``by_month``
        (month, n, cumulative), every calendar month from the first to the last included;
        None without dates.

    Examples
    --------
    >>> import pandas as pd
    >>> people = pd.DataFrame({"randomised_on": ["2026-03-02", "2026-03-20", "2026-05-04"]})
    >>> out = recruitment(people)
    >>> [(r["month"], r["n"], r["cumulative"]) for r in out["by_month"]]
    [('2026-03', 2, 2), ('2026-04', 0, 2), ('2026-05', 1, 3)]
    """
    if column not in participants.columns:
        return None
    dates = pd.to_datetime(participants[column], errors="coerce").dropna()
    if dates.empty:
        return None
    months = pd.period_range(dates.min().to_period("M"), dates.max().to_period("M"), freq="M")
    counts = dates.dt.to_period("M").value_counts().reindex(months, fill_value=0)
    span = max((dates.max() - dates.min()).days / (365.25 / 12), 1.0)
    return {
        "first": dates.min().date().isoformat(),
        "last": dates.max().date().isoformat(),
        "n": len(dates),
        "per_month": _num(len(dates) / span),
        "by_month": [{"month": str(m), "n": int(c), "cumulative": int(t)}
                     for m, c, t in zip(months, counts, counts.cumsum(), strict=True)],
    }


def progression(values: dict[str, float | None], criteria: Sequence[dict]) -> list[dict]:
    """Compare measured values with green/amber thresholds (red below amber).

    Parameters
    ----------
    values : dict
        Metric name -> measured value (percent).
    criteria : sequence of dict
        ``metric``, ``green`` and ``amber`` thresholds, optional ``label``; a value at or above
        ``green`` is green, at or above ``amber`` amber, otherwise red.
    """
    rows = []
    for crit in criteria:
        value = values.get(crit["metric"])
        if value is None:
            band = None
        elif value >= crit["green"]:
            band = "green"
        elif value >= crit["amber"]:
            band = "amber"
        else:
            band = "red"
        rows.append({"metric": crit["metric"], "label": crit.get("label", crit["metric"]),
                     "value": _num(value), "green": crit["green"], "amber": crit["amber"],
                     "band": band})
    return rows


def feasibility_report(
    attendance: pd.DataFrame,
    participants: pd.DataFrame | None = None,
    flow: pd.DataFrame | None = None,
    sessions: pd.DataFrame | None = None,
    satisfaction: pd.DataFrame | None = None,
    scores: pd.DataFrame | None = None,
    timepoints: Sequence[str] | None = None,
    engagement: pd.DataFrame | None = None,
    min_attended: int | None = None,
    criteria: Sequence[dict] | None = None,
    extra_values: dict[str, float] | None = None,
) -> dict:
    """Assemble the feasibility report from whatever tables are available.

    ``criteria`` default to :data:`DEFAULT_CRITERIA`; ``extra_values`` adds measured values the
    tables cannot give (e.g. ``{"recruitment_per_month": 7.5}``) for criteria to refer to.

    Returns
    -------
    dict
        Sections ``flow``, ``attendance``, ``completion``, ``assessment_completion``,
        ``all_assessments``, ``recruitment`` (participants with a ``randomised_on`` column),
        ``sessions``, ``satisfaction``, ``engagement``, ``progression`` and
        ``completers_vs_non_completers``; a section is absent when its input was not given.

    Examples
    --------
    The ``msc`` test data's completers and non-completers (R: ``exp(coef(glm(noncompleted ~
    factor(gender), binomial, p)))``: men's odds of not completing 14.8 times women's):

    >>> from pathlib import Path
    >>> folder = Path(__file__).parents[1] / "tests" / "analysis" / "data"
    >>> participants = pd.read_csv(folder / "msc_participants.csv")
    >>> report = feasibility_report(pd.DataFrame(), participants=participants)
    >>> male = report["completers_vs_non_completers"][0]
    >>> male["variable"], male["reference"], round(male["odds_ratio_not_completing"], 4)
    ('gender[male]', 'female', 14.8)
    """
    report: dict = {}
    if flow is not None:
        report["flow"] = flow_counts(flow)
    report["attendance"] = attendance_summary(attendance, min_attended, sessions)
    values: dict[str, float | None] = {}
    values["mean_attendance_pct"] = report["attendance"].get("rate_pct", {}).get("mean")
    if participants is not None:
        report["completion"] = completion_summary(participants)
        values["retention_pct"] = report["completion"]["all"]["completion_pct"]
        recruited = recruitment(participants)
        if recruited is not None:
            report["recruitment"] = recruited
            values["recruitment_per_month"] = recruited["per_month"]
    if scores is not None and timepoints:
        ids = participants["participant_id"] if participants is not None else None
        due = due_timepoints(participants, timepoints) if participants is not None else None
        report["assessment_completion"] = assessment_completion(scores, timepoints, ids, due)
        report["all_assessments"] = all_assessments(scores, timepoints, ids, due)
        active = int((participants["status"] == "active").sum()) if participants is not None else 0
        if due is None and active:
            report["all_assessments"]["warning"] = note("due_unknown", n=active)
        values["assessment_completion_pct"] = min(
            (r["pct"] for r in report["assessment_completion"] if r["pct"] is not None),
            default=None,
        )
    if sessions is not None:
        report["sessions"] = session_delivery(sessions)
    if satisfaction is not None:
        report["satisfaction"] = satisfaction_summary(satisfaction)
    if engagement is not None:
        report["engagement"] = engagement_summary(engagement)
    values.update(extra_values or {})
    report["progression"] = progression(values, criteria or DEFAULT_CRITERIA)
    if participants is not None:
        finished = participants[participants["status"] != "active"].set_index("participant_id")
        baseline = finished.drop(columns=[c for c in finished.columns
                                          if c in ("arm", "status", *NOT_BASELINE)])
        if scores is not None and timepoints:
            pre = scores[scores["timepoint"] == timepoints[0]].pivot_table(
                index="participant_id", columns="measure", values="score", aggfunc="first"
            )
            baseline = baseline.join(pre, how="left")
        baseline = baseline.loc[:, baseline.notna().any()]
        report["completers_vs_non_completers"] = completer_comparison(
            baseline, finished["status"] == "completed"
        )
    return report
