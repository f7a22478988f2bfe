"""The reports as the pages show them: tables, sentences and progression rows in the reader's
language (:mod:`views.reports.labels` holds the words)."""

from __future__ import annotations

from flask_babel import get_locale

from models import Study
from program.reports import criteria
from program.trial.eligibility import rule_label
from views.reports import labels, model_words


def offer_local_labels() -> bool:
    """Downloads can carry the researcher's language when it is not English."""
    return str(get_locale() or "en").split("_")[0] != "en"


def words(report: dict | None, change: dict | None = None) -> dict[str, str]:
    """The report's sentences in the reader's language: sign convention and warnings."""
    said: dict[str, str] = {}
    for item in (report, change):
        if not item:
            continue
        if item.get("warning"):
            said[item["warning"]] = labels.warning(item["warning"])
        if item.get("sign_convention"):
            arms = list(dict.fromkeys(
                d["arm"] for entry in item["measures"].values() for d in entry["descriptives"]))
            said[item["sign_convention"]] = model_words.sign_convention(
                item["timepoints"], arms, item["reference_arm"])
    return said


def _tables(report: dict, kind: str) -> dict:
    """The report's tables; an efficacy report's in the full layout, its terms named for
    people in the reader's language (type III tests and per-timepoint contrasts included)."""
    from analysis.report import tables

    if kind != "efficacy":
        return tables(report, kind)
    return tables(report, kind, full=True, phrases=model_words.term_phrases())


#: the machine names a page leaves out where a column names the same for people
_MACHINE_NAMES = {"effects": ("term",), "type III tests": ("term",),
                  "contrasts per timepoint": ("contrast",)}


def page_tables(report: dict, kind: str, study: Study | None = None) -> list[dict]:
    """The report's tables with labels, values and numbers in the reader's language (the
    fitted model is said above them, not as a table)."""
    reasons = {**rule_labels(study), **(flow_reasons(study) or {})} if study else {}
    terms = labels.terms_of(report)
    return [labels.table(name, frame.drop(columns=list(_MACHINE_NAMES.get(name, ())),
                                          errors="ignore"), terms=terms, reasons=reasons)
            for name, frame in _tables(report, kind).items() if name != "model"]


def local_frames(report: dict, kind: str, study: Study, as_text: bool) -> dict:
    """The report's tables with translated names, headers and words; numbers stay numbers
    in a workbook (``as_text`` False) and are written the locale's way on a page."""
    import pandas as pd

    reasons = {**rule_labels(study), **(flow_reasons(study) or {})}
    terms = labels.terms_of(report)
    out = {}
    for name, frame in _tables(report, kind).items():
        shown = labels.table(name, frame, terms=terms, reasons=reasons)
        if not as_text:
            numbers = [i for i, c in enumerate(shown["ids"])
                       if pd.api.types.is_numeric_dtype(frame[c])]
            for row, original in zip(shown["rows"], frame[shown["ids"]].itertuples(
                    index=False, name=None), strict=True):
                for i in numbers:
                    row[i] = original[i]
        out[shown["title"][:31]] = pd.DataFrame(shown["rows"], columns=shown["columns"])
    return out


def flow_reasons(study: Study) -> dict[str, str] | None:
    """The flow records' reasons in the reader's language, on a page not in English (the
    English diagram and table name them as the records do)."""
    if labels.figure_phrases() is None:
        return None
    return labels.flow_reasons(study.eligibility_rules)


def rule_labels(study: Study) -> dict[str, str]:
    """Exclusion reasons (rule keys) of the flow table by their labels."""
    return {rule["key"]: rule_label(rule) for rule in study.eligibility_rules or []
            if isinstance(rule, dict) and "key" in rule}


def progression(report: dict) -> list[dict]:
    """The progression criteria as the page lists them: label, value, unit and band."""
    units = {c["metric"]: c["unit"] for c in criteria()}
    rows = []
    for row in report.get("progression") or []:
        unit = units.get(row["metric"], "")
        rows.append({**row, "label": str(labels.CRITERIA.get(row["metric"], row["label"])),
                     "shown": (f"{labels.number(round(row['value'], 1))} "
                               f"{labels.UNITS.get(unit, unit)}")
                     if row["value"] is not None else None,
                     "green_shown": labels.number(row["green"]),
                     "amber_shown": labels.number(row["amber"])})
    return rows
