"""The report service: a study's research reports, data files and CONSORT flow, for the web
pages and the ``flask`` commands alike.

The database is read only through :mod:`analysis.data`; the statistics and the checks of the
report options are :mod:`analysis`'s (:mod:`analysis.options`). Here the options are checked
against a study's data and a refused one is worded for the user: in the reader's language on
a page, in English on the command line.

pandas, scipy, statsmodels and the analysis load on the first report (a second or so and
~100 MB): web workers and ``flask`` commands that never run one do without them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING

from flask import has_request_context
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from models import Study, db
from program.courses.catalogue import get_catalogue

if TYPE_CHECKING:
    import pandas as pd

    from analysis import data as study_data
    from analysis.options import OptionError


def _(text: str, **values) -> str:
    """gettext in a request; the English text on the command line (no user, no locale)."""
    if has_request_context():
        return gettext(text, **values)
    return text % values if values else text


class ReportInputError(ValueError):
    """Report options that do not fit the study's data (shown to the user, one line);
    ``problem`` is :mod:`analysis.options`' name for it, when it found it."""

    problem: str | None = None


#: the words for each problem :mod:`analysis.options` finds (its ``problem`` and ``values``)
_PROBLEMS = {
    "unknown_timepoint": lambda v: _("Unknown timepoint %(tp)s.", tp=v["timepoint"]),
    "too_few_timepoints": lambda v: _("Choose at least two timepoints."),
    "incomplete_measure": lambda v: _("%(m)s has no scores at one of the timepoints.",
                                      m=v["measure"]),
    "no_complete_measure": lambda v: _("No measure has scores at every chosen timepoint yet."),
    "unknown_covariate": lambda v: _("Unknown covariate %(c)s.", c=v["covariate"]),
    "empty_covariate": lambda v: _("Covariate %(c)s has no values.", c=v["covariate"]),
    "unknown_arm": lambda v: _("Unknown arm %(a)s.", a=v["arm"]),
    "reliability": lambda v: _("The reliability must lie strictly between 0 and 1."),
    "norms": lambda v: _("Give both the normative mean and SD, or neither."),
    "norm_sd": lambda v: _("The normative SD must be above 0."),
    "cutoff": lambda v: _("The cutoff is a, b, c or a number."),
    "unknown_df": lambda v: _("Unknown df method %(m)s.", m=v["ddf"]),
    "unknown_model": lambda v: _("Unknown model %(m)s.", m=v["model"]),
    "random_needs_lmm": lambda v: _(
        "Random intercepts for sites and therapy groups belong to the random-intercept model "
        "of a randomised trial: choose that model, or enter the site as a covariate."),
    "kenward_roger_needs_lmm": lambda v: _(
        "Kenward–Roger df are available for the random-intercept model of a randomised trial "
        "only."),
    "ancova_needs_rct": lambda v: _("The ANCOVA compares arms: it needs a randomised trial."),
    "per_protocol_negative": lambda v: _("The minimum of sessions attended cannot be "
                                         "negative."),
    "missing_column": lambda v: _("The participants have no %(c)s column.", c=v["column"]),
    "no_therapy_groups": lambda v: _(
        "No participant has a therapy group yet: nobody in an arm receiving the program has "
        "been placed in a cohort."),
}


def refused(exc: OptionError) -> ReportInputError:
    """The error to show for an option :mod:`analysis.options` refused."""
    error = ReportInputError(_PROBLEMS[exc.problem](exc.values))
    error.problem = exc.problem
    return error


# --------------------------------------------------------------------------- study data


def adherence_checklists() -> dict[tuple[str, int], tuple[str, ...]]:
    """Each program session's facilitator checklist (item keys), by program key and session
    number: what the adherence of a held session is measured against."""
    return {(key, session.number): session.checklist
            for key, program in get_catalogue().programs.items()
            for session in program.sessions}


def load_tables(study_id: int) -> study_data.StudyTables:
    """Every analysis table of a study, each read on first use."""
    from analysis import data as study_data

    return study_data.load(db.session, study_id, checklists=adherence_checklists())


def study_flow(study_id: int) -> dict:
    """The study's CONSORT flow with the trial's own records (applied, consented, started,
    data removed...) and every arm: the numbers of the study page and ``flask trial flow``."""
    from analysis import data as study_data
    from analysis.consort import flow_counts

    study = db.session.get(Study, study_id)
    return flow_counts(study_data.flow(db.session, study_id, trial_records=True),
                       arms=[arm.key for arm in study.arms], trial_records=True)


# --------------------------------------------------------------------------- building reports


@cache
def criteria() -> list[dict]:
    """Progression criteria the researcher can set: the analysis defaults (percentages) and
    recruitment per month."""
    from analysis.feasibility import DEFAULT_CRITERIA

    return [
        *({**crit, "unit": "%", "max": 100.0} for crit in DEFAULT_CRITERIA),
        {"metric": "recruitment_per_month", "label": "recruitment per month", "green": 4.0,
         "amber": 2.0, "unit": "per month", "max": 10_000.0},
    ]


def complete_measures(tables: study_data.StudyTables, timepoints: Sequence[str]) -> list[str]:
    """Measures with at least one score at every one of the timepoints."""
    from analysis import options

    return options.complete_measures(tables.scores, timepoints)


def covariate_choices(tables: study_data.StudyTables) -> list[str]:
    """The participant columns an efficacy model can adjust for."""
    from analysis import options

    return options.covariate_columns(tables.participants)


def cutoff(text: str | None) -> str | float:
    """The reliable-change cutoff as typed: a, b, c or a number (blank is c)."""
    from analysis import options

    try:
        return options.cutoff((text or "c").strip())
    except options.OptionError as exc:
        raise refused(exc) from None


def build_efficacy(tables: study_data.StudyTables, timepoints: Sequence[str] | None = None,
                   measures: Sequence[str] | None = None, reference_arm: str | None = None,
                   covariates: Sequence[str] = (), completers_only: bool = False,
                   model: str = "lmm", **clustering) -> dict:
    """The efficacy report of a study, checked as ``python -m analysis efficacy`` checks.

    Without ``measures`` every measure with scores at all the timepoints is reported.
    ``clustering`` takes the data contract's options of the random-intercept model and the
    sensitivity analyses, as :func:`analysis.efficacy_report` names them: ``random`` (a
    participants column such as ``site``), ``therapy_group`` (the column of the therapy
    groups, ``therapy_group``), ``ddf``, ``ancova`` and ``per_protocol``.
    """
    from analysis import efficacy_report, options

    try:
        timepoints = options.timepoints(list(timepoints or tables.timepoints),
                                        tables.timepoints)
        measures = options.measures(tables.scores, timepoints, measures)
        options.covariates(tables.participants, covariates)
        if reference_arm:
            options.reference_arm(tables.scores, reference_arm)
        chosen = tables.scores[tables.scores["measure"].isin(measures)
                               & tables.scores["timepoint"].isin(timepoints)]
        arms = chosen["arm"].nunique()
        options.model_options("rct" if arms > 1 else "single_arm", tables.participants,
                              model=model, **clustering)
    except options.OptionError as exc:
        raise refused(exc) from None
    scores = tables.scores[tables.scores["measure"].isin(measures)]
    return efficacy_report(scores, tables.participants, timepoints,
                           reference_arm=reference_arm or None, covariates=tuple(covariates),
                           completers_only=completers_only, measures=list(measures),
                           model=model, **clustering)


def build_reliable_change(tables: study_data.StudyTables, measure: str,
                          timepoints: Sequence[str] | None, reliability: float,
                          norm_mean: float | None = None, norm_sd: float | None = None,
                          cutoff: str | float = "c", lower_is_better: bool = False) -> dict:
    """Jacobson–Truax reliable change of one measure between the first and last timepoint
    (timepoints the study does not have are left out)."""
    from analysis import options, reliable_change

    chosen = [t for t in timepoints or tables.timepoints if t in tables.timepoints]
    try:
        timepoints = options.timepoints(chosen, tables.timepoints)
        options.measures(tables.scores, [timepoints[0], timepoints[-1]], [measure])
        options.reliability(reliability)
        options.norms(norm_mean, norm_sd)
    except options.OptionError as exc:
        raise refused(exc) from None
    return reliable_change(tables.scores, measure, timepoints, reliability, norm_mean=norm_mean,
                           norm_sd=norm_sd, cutoff=cutoff, lower_is_better=lower_is_better)


def build_feasibility(tables: study_data.StudyTables, timepoints: Sequence[str] | None = None,
                      min_attended: int | None = None, criteria: Sequence[dict] | None = None
                      ) -> dict:
    """The feasibility report of a study from every table that has rows.

    Without ``criteria`` the analysis defaults apply, as in ``python -m analysis feasibility``.
    """
    from analysis import feasibility_report

    timepoints = [t for t in tables.timepoints if t in (timepoints or tables.timepoints)]

    def given(frame: pd.DataFrame) -> pd.DataFrame | None:
        return frame if not frame.empty else None

    return feasibility_report(
        tables.attendance,
        extra_values={"recruitment_per_month": tables.recruitment_per_month},
        participants=tables.participants,
        flow=given(tables.flow),
        sessions=given(tables.sessions),
        satisfaction=given(tables.satisfaction),
        scores=tables.scores if timepoints else None,
        timepoints=timepoints or None,
        engagement=given(tables.engagement),
        min_attended=min_attended,
        criteria=criteria,
    )


def build_baseline(tables: study_data.StudyTables, arms: Sequence[str]) -> dict:
    """The baseline characteristics tables: by arm (for a study with two or more arms, Table 2
    of the CFT paper) and completers vs non-completers (Table 1 of the MSC paper), each
    characteristic with its test (:func:`analysis.baseline.baseline_table`)."""
    from analysis import options
    from analysis.baseline import baseline_table, completion_groups

    people = tables.participants
    characteristics = [c for c in options.covariate_columns(people)
                       if people[c].notna().any()]
    by_arm = (baseline_table(people, "arm", characteristics, groups=list(arms))
              if len(arms) > 1 and len(people) else None)
    finished = completion_groups(people)
    completers = (baseline_table(finished, "completion", characteristics,
                                 groups=["completers", "non_completers"])
                  if len(finished) else None)
    return {"characteristics": characteristics, "by_arm": by_arm, "completers": completers}


def report_json(report: dict) -> str:
    """The report as ``python -m analysis`` prints it."""
    return json.dumps(report, indent=2, allow_nan=False) + "\n"


# --------------------------------------------------------------------------- data files


#: the data files and what each holds
DATA_FILES = {
    "scores.csv": _l("Scores: one row per participant, timepoint and measure"),
    "participants.csv": _l("Participants: arm, status, gender, age, baseline covariates"),
    "attendance.csv": _l("Attendance: one row per participant and meeting held"),
    "practice_logs.csv": _l("Practice logs: date, practice, minutes, helpfulness (no notes)"),
    "sessions.csv": _l("Sessions: held, cancelled, truncated, postponed; adherence"),
    "engagement.csv": _l("Engagement per participant and week"),
    "csq.csv": _l("CSQ-8 satisfaction item ratings"),
    "flow.csv": _l("CONSORT flow records"),
    "data.xlsx": _l("Every table above as one workbook, a sheet each"),
    "data.sav": _l("SPSS: one row per participant, scores wide, with variable labels"),
    "data.dta": _l("Stata: the same wide file, with variable labels"),
    "codebook.csv": _l("Codebook of every file above"),
}
#: the files whose variable labels can be in the researcher's language
LOCAL_DATA_FILES = ("data.sav", "data.dta", "codebook.csv")
_TABLE_OF = {"scores.csv": "scores", "participants.csv": "participants",
             "attendance.csv": "attendance", "practice_logs.csv": "practice_logs",
             "sessions.csv": "sessions", "engagement.csv": "engagement",
             "csq.csv": "satisfaction", "flow.csv": "flow"}
_FIXED_LABELS = {
    "participant_id": "Pseudonymous participant code",
    "arm": "Arm (as configured in the study)",
    "status": "Status: completed, withdrawn, lost or active",
    "gender": "Gender",
    "age": "Age in years at allocation (from birth year)",
    "randomised_on": "Date of allocation (UTC)",
    "therapy_group": "Therapy group: the cohort of arms with sessions (empty in other arms)",
    "sessions_attended": "Meetings attended (empty in arms without sessions)",
}
#: the variable labels above in the researcher's language (a download with ``labels=local``)
_LOCAL_FIXED_LABELS = {
    "participant_id": _l("Pseudonymous participant code"),
    "arm": _l("Arm (as configured in the study)"),
    "status": _l("Status: completed, withdrawn, lost or active"),
    "gender": _l("Gender"),
    "age": _l("Age in years at allocation (from birth year)"),
    "randomised_on": _l("Date of allocation (UTC)"),
    "therapy_group": _l("Therapy group: the cohort of arms with sessions (empty in other arms)"),
    "sessions_attended": _l("Meetings attended (empty in arms without sessions)"),
}


def _labels(tables: study_data.StudyTables, study: Study, local: bool = False
            ) -> dict[str, str]:
    """Variable labels: English by default (the files' fixed form); with ``local`` the fixed
    labels and "measure at timepoint" in the researcher's language. Variable names never
    change: they are the data contract."""
    from analysis import data as study_data

    if local:
        labels = {key: str(label) for key, label in _LOCAL_FIXED_LABELS.items()}
    else:
        labels = dict(_FIXED_LABELS)
    names = study_data.timepoint_labels(db.session, study.id)
    for column in tables.wide().columns:
        if "@" in column:
            measure, tp = column.split("@", 1)
            if local:
                labels[column] = _("%(measure)s at %(timepoint)s (%(label)s)",
                                   measure=measure, timepoint=tp, label=names.get(tp, tp))
            else:
                labels[column] = f"{measure} at {tp} ({names.get(tp, tp)})"
    return labels


def _for_stats_package(frame: pd.DataFrame) -> pd.DataFrame:
    """Nullable integers as floats and text as text (what SPSS and Stata writers accept)."""
    import pandas as pd

    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_numeric_dtype(out[column]):
            out[column] = out[column].astype(float)
        else:
            out[column] = out[column].map(lambda v: None if v is None or v != v else str(v))
    return out


def data_file(tables: study_data.StudyTables, study: Study, name: str,
              local: bool = False) -> bytes:
    """The bytes of one export file (see ``DATA_FILES``); ``local`` writes the variable labels
    of the SPSS and Stata files and the codebook in the researcher's language."""
    from analysis import exports as writers

    if name in _TABLE_OF:
        return writers.write_csv(getattr(tables, _TABLE_OF[name]))
    if name == "data.xlsx":
        return writers.write_xlsx({n.rsplit(".", 1)[0]: getattr(tables, attr)
                                   for n, attr in _TABLE_OF.items()})
    labels = _labels(tables, study, local)
    if name == "data.sav":
        return writers.write_sav(_for_stats_package(tables.wide()), labels)
    if name == "data.dta":
        return writers.write_dta(_for_stats_package(tables.wide()), labels)
    if name == "codebook.csv":
        return _codebook(tables, labels)
    raise KeyError(name)


def _codebook(tables: study_data.StudyTables, labels: dict[str, str]) -> bytes:
    """Every file's variables, their labels and values, one file after another."""
    import pandas as pd

    from analysis import exports as writers

    books = []
    for file, attr in [*_TABLE_OF.items(), ("data.sav / data.dta", None)]:
        frame = getattr(tables, attr) if attr else tables.wide()
        book = writers.codebook(frame, labels)
        if "participant_id" in frame.columns:  # codes are identifiers, not levels
            book.loc[book["variable"] == "participant_id", "values"] = (
                f"{frame['participant_id'].nunique()} pseudonymous codes")
        book.insert(0, "file", file)
        books.append(book)
    return writers.write_csv(pd.concat(books, ignore_index=True))
