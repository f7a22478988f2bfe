"""Reports as researchers download them: a self-contained HTML page and an XLSX workbook.

Both are built from the report dicts (efficacy, reliable change, feasibility) through
:func:`tables`, which flattens a report into named DataFrames: one workbook sheet and one HTML
table each. Figures are embedded in the HTML as base64 PNG (CONSORT flow as inline SVG), so
the file opens offline and carries no scripts.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from html import escape

import pandas as pd

from analysis.consort import flow_svg
from analysis.exports import write_xlsx
from analysis.terms import TERM_PHRASES, anova_label, model_in_words, term_label

__all__ = ["figures", "tables", "render_html", "render_xlsx", "report_kind"]

_CSS = """
body{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem;color:#222}
table{border-collapse:collapse;margin:0 0 1.5rem}
th,td{border:1px solid #bbb;padding:.25rem .5rem;text-align:right}
th{background:#f0f0f0} td:first-child,th:first-child{text-align:left}
.warning{color:#8a4b00} img{max-width:100%}
"""


def report_kind(report: dict) -> str:
    """``efficacy``, ``reliable-change`` or ``feasibility``, from the report's keys."""
    if "measures" in report:
        return "efficacy"
    if "direction" in report and "counts" in report:
        return "reliable-change"
    return "feasibility"


def _paper_table(report: dict, name=None) -> pd.DataFrame:
    """One row per measure: mean (SD) n per arm and timepoint, then each effect with its CI,
    the layout of a published results table (two decimals, as text); ``name`` gives an
    effect's column title (the machine term without it)."""

    def two(x):
        return "–" if x is None else f"{x:.2f}"

    rows = []
    for measure, entry in report["measures"].items():
        row = {"measure": measure}
        for d in entry["descriptives"]:
            row[f"{d['arm']} {d['timepoint']}"] = f"{two(d['mean'])} ({two(d['sd'])}) n={d['n']}"
        for e in entry["effects"]:
            title = name(e["term"]) if name else e["term"]
            row[title] = f"{two(e['estimate'])} [{two(e['ci_low'])}, {two(e['ci_high'])}]"
            row[f"{title} p"] = "–" if e["p"] is None else f"{e['p']:.3g}"
            if "d" in e:
                row[f"{title} d"] = two(e["d"])
        rows.append(row)
    return pd.DataFrame(rows)


def _efficacy_tables(report: dict, full: bool = False,
                     phrases: Mapping[str, str] | None = None) -> dict[str, pd.DataFrame]:
    def name(term: str) -> str:
        return term_label(term, report, phrases)

    desc, effects, variance, warnings, tests, contrasts = [], [], [], [], [], []
    for measure, entry in report["measures"].items():
        desc += [{"measure": measure, **d} for d in entry["descriptives"]]
        for e in entry["effects"]:
            row = {"measure": measure, "n_participants": entry["n_participants"],
                   "n_observations": entry["n_observations"], **e}
            if full:
                row = {"measure": measure, "effect": name(e["term"]), **row}
            effects.append(row)
        for component, value in (entry["variance"] or {}).items():
            variance.append({"measure": measure, "component": component, "variance": value})
        if entry.get("warning"):
            warnings.append({"measure": measure, "warning": entry["warning"]})
        tests += [{"measure": measure, "test": anova_label(t["term"], phrases), **t}
                  for t in entry.get("tests", [])]
        contrasts += [{"measure": measure,
                       "effect": term_label_contrast(c, report, phrases), **c}
                      for c in entry.get("contrasts", [])]
    if report.get("warning"):
        warnings.insert(0, {"measure": "(all)", "warning": report["warning"]})
    out = {
        "summary": _paper_table(report, name if full else None),
        "descriptives": pd.DataFrame(desc),
        "effects": pd.DataFrame(effects),
        "variance components": pd.DataFrame(variance),
    }
    if full and tests:
        out["type III tests"] = pd.DataFrame(tests)
    if full and contrasts:
        out["contrasts per timepoint"] = pd.DataFrame(contrasts)
    if full:
        model = {"design": report["design"], "df_method": report.get("df_method"),
                 "formula": report.get("formula"), "ancova_formula": report.get("ancova_formula"),
                 "population": report.get("population"), "excluded": report.get("excluded")}
        out["model"] = pd.DataFrame([{"quantity": k, "value": v} for k, v in model.items()
                                     if v is not None])
    if warnings:
        out["warnings"] = pd.DataFrame(warnings)
    return out


def term_label_contrast(row: dict, report: dict, phrases: Mapping[str, str] | None = None
                        ) -> str:
    """A per-timepoint contrast (``UC - CFT`` at ``post``) named for people."""
    arm, _, reference = row["contrast"].partition(" - ")
    return {**TERM_PHRASES, **(phrases or {})}["contrast"].format(
        arm=arm, reference=reference, timepoint=row["timepoint"])


def _reliable_tables(report: dict) -> dict[str, pd.DataFrame]:
    summary = {k: report[k] for k in ("measure", "direction", "reliability", "norm_mean",
                                      "norm_sd", "baseline_mean", "baseline_sd", "s_e", "s_diff")}
    summary.update({f"cutoff_{k}": v for k, v in report["cutoffs"].items()})
    summary["cutoff_used"] = f"{report['cutoff_used']['kind']} = {report['cutoff_used']['value']}"
    if report.get("warning"):
        summary["warning"] = report["warning"]
    counts = pd.DataFrame(report["counts"]).T.rename_axis("arm").reset_index()
    return {
        "summary": pd.DataFrame([{"quantity": k, "value": v} for k, v in summary.items()]),
        "counts": counts,
        "participants": pd.DataFrame(report["participants"]),
    }


def _completing(row: dict) -> dict:
    """A completers-comparison row in the page layout: the odds ratio of completing (the
    inverse of the JSON's odds ratio of not completing, its CI inverted, the same p)."""
    out = {k: v for k, v in row.items() if k not in ("reference", "odds_ratio_not_completing",
                                                      "ci_low", "ci_high")}
    ratio = row.get("odds_ratio_not_completing")
    out["odds_ratio"] = None if ratio is None else 1 / ratio
    out["ci_low"] = None if row.get("ci_high") is None else 1 / row["ci_high"]
    out["ci_high"] = None if row.get("ci_low") is None else 1 / row["ci_low"]
    return out


def _feasibility_tables(report: dict, full: bool = False) -> dict[str, pd.DataFrame]:
    """The feasibility tables; the page layout (``full`` False) keeps the columns and rows the
    app's pages label, ``full`` adds attendance per meeting, the meetings due per
    participant, the people not yet due, completion of every assessment, recruitment over
    time, the flow's intervention lines and the reference level of each comparison."""
    out: dict[str, pd.DataFrame] = {}
    if "flow" in report:
        flow = report["flow"]
        rows = [{"stage": "assessed for eligibility", "arm": "", "n": flow["assessed"]},
                {"stage": "excluded", "arm": "", "n": flow["excluded"]["n"]}]
        rows += [{"stage": f"excluded: {r['reason']}", "arm": "", "n": r["n"]}
                 for r in flow["excluded"]["reasons"]]
        rows.append({"stage": "randomised / included", "arm": "", "n": flow["randomised"]})
        for arm, c in flow["arms"].items():
            rows.append({"stage": "allocated", "arm": arm, "n": c["allocated"]})
            stages = ["withdrawn", "lost"]
            if full and c.get("received") is not None:
                rows.append({"stage": "received allocated intervention", "arm": arm,
                             "n": c["received"]})
                stages.insert(0, "not_received")
            if full and flow.get("intervention_recorded"):
                stages.insert(-2, "stopped_sessions")
            for stage in stages:
                rows.append({"stage": stage, "arm": arm, "n": c[stage]["n"]})
                rows += [{"stage": f"{stage}: {r['reason']}", "arm": arm, "n": r["n"]}
                         for r in c[stage]["reasons"]]
            rows.append({"stage": "analysed", "arm": arm, "n": c["analysed"]})
        out["flow"] = pd.DataFrame(rows)
    att = report.get("attendance", {})
    if att.get("participants"):
        out["attendance"] = pd.DataFrame(att["participants"])
        if not full:
            out["attendance"] = out["attendance"].drop(columns=["meetings"], errors="ignore")
        summary = {"meetings": att["n_meetings"], **{f"rate_{k}": v
                                                     for k, v in att["rate_pct"].items()},
                   f"attended_at_least_{att['min_attended']}_n": att["at_least_k"]["n"],
                   f"attended_at_least_{att['min_attended']}_pct": att["at_least_k"]["pct"]}
        out["attendance summary"] = pd.DataFrame(
            [{"quantity": k, "value": v} for k, v in summary.items()])
        out["attendance distribution"] = pd.DataFrame(att["distribution"])
        if full and att.get("by_meeting"):
            out["attendance per meeting"] = pd.DataFrame(att["by_meeting"])
    if "completion" in report:
        out["completion"] = pd.DataFrame(report["completion"]).T.rename_axis("arm").reset_index()
    if "assessment_completion" in report:
        out["assessment completion"] = pd.DataFrame(report["assessment_completion"])
        if not full:
            out["assessment completion"] = out["assessment completion"].drop(
                columns=["not_due"], errors="ignore")
    if full and "all_assessments" in report:
        every = dict(report["all_assessments"])
        every["timepoints"] = ", ".join(every["timepoints"])
        out["all assessments"] = pd.DataFrame(
            [{"quantity": k, "value": v} for k, v in every.items()])
    if full and "recruitment" in report:
        out["recruitment"] = pd.DataFrame(report["recruitment"]["by_month"])
    if "sessions" in report:
        flat = {k: v for k, v in report["sessions"].items() if not isinstance(v, dict)}
        flat.update({f"adherence_{k}": v
                     for k, v in report["sessions"].get("adherence", {}).items()})
        out["sessions"] = pd.DataFrame([{"quantity": k, "value": v} for k, v in flat.items()])
    if "satisfaction" in report:
        out["satisfaction"] = pd.DataFrame(
            [{"quantity": k, "value": v} for k, v in report["satisfaction"].items()
             if full or k != "ratings"])
    if "engagement" in report:
        rows = []
        for key, value in report["engagement"].items():
            if isinstance(value, dict):
                rows.append({"measure": key,
                             "per_participant_per_week": value["per_participant_per_week"],
                             "per_participant_total_mean": value["per_participant_total_mean"]})
        out["engagement"] = pd.DataFrame(rows)
    if report.get("progression"):
        out["progression criteria"] = pd.DataFrame(report["progression"])
    if report.get("completers_vs_non_completers"):
        rows = []
        for r in report["completers_vs_non_completers"]:
            flat = {k: v for k, v in r.items() if not isinstance(v, dict)}
            if not full:
                flat = _completing(flat)
            for group in ("completers", "non_completers"):
                for k, v in r.get(group, {}).items():
                    flat[f"{group}_{k}"] = v
            rows.append(flat)
        out["completers vs non-completers"] = pd.DataFrame(rows)
    return out


def tables(report: dict, kind: str | None = None, *, full: bool = False,
           phrases: Mapping[str, str] | None = None) -> dict[str, pd.DataFrame]:
    """Flatten a report into named tables (one per workbook sheet).

    The default layout names columns and terms by their JSON ids (the app's pages label
    them); ``full`` adds the tables and columns of the clustered models, the ANCOVA, the
    per-timepoint contrasts, type III tests and attendance per meeting, and names model terms
    for people (``UC − CFT change, pre to post``; ``phrases`` replaces some or all of
    :data:`analysis.terms.TERM_PHRASES`), as the downloadable reports show them.
    """
    kind = kind or report_kind(report)
    if kind == "efficacy":
        return _efficacy_tables(report, full, phrases)
    if kind == "reliable-change":
        return _reliable_tables(report)
    return _feasibility_tables(report, full)


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _html_table(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{escape(str(c))}</th>" for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(_fmt(v))}</td>" for v in row) + "</tr>"
        for row in frame.itertuples(index=False, name=None)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode()
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{data}">'


def figures(report: dict, kind: str | None = None, *,
            figure_phrases: Mapping[str, str] | None = None,
            flow_reasons: Mapping[str, str] | None = None,
            say: Mapping[str, str] | None = None) -> list[tuple[str, str, bytes]]:
    """The report's figures as ``(heading, description, PNG bytes)``: trajectories per
    measure (efficacy), the Jacobson–Truax plot (reliable change), the CONSORT diagram,
    attendance per meeting over the course and recruitment over time (feasibility).
    ``figure_phrases``, ``flow_reasons`` and ``say`` as for :func:`render_html`."""
    from analysis.consort import flow_png
    from analysis.plots import (  # matplotlib: slow to import
        attendance_plot,
        jacobson_truax_plot,
        recruitment_plot,
        to_png,
        trajectory_plot,
    )

    def t(text: str) -> str:
        return (say or {}).get(text, text)

    kind = kind or report_kind(report)
    out = []
    if kind == "efficacy":
        for measure, entry in report["measures"].items():
            fig = trajectory_plot(entry["descriptives"], report["timepoints"], measure,
                                  figure_phrases)
            out.append((t("Trajectories"), f"{measure}: {t('mean and 95% CI per arm')}",
                        to_png(fig)))
    if kind == "reliable-change" and report["participants"]:
        out.append((t("Jacobson–Truax plot"), t("pre vs post scores"),
                    to_png(jacobson_truax_plot(report, figure_phrases))))
    if kind == "feasibility":
        if "flow" in report:
            out.append((t("Participant flow"), t("CONSORT flow diagram"),
                        flow_png(report["flow"], phrases=figure_phrases, reasons=flow_reasons)))
        by_meeting = report.get("attendance", {}).get("by_meeting")
        if by_meeting:
            out.append((t("Attendance per meeting"), t("share present at each meeting"),
                        to_png(attendance_plot(by_meeting, figure_phrases))))
        if report.get("recruitment"):
            out.append((t("Recruitment over time"), t("participants allocated per month"),
                        to_png(recruitment_plot(report["recruitment"]["by_month"],
                                                figure_phrases))))
    return out


def render_html(report: dict, kind: str | None = None, title: str | None = None, *,
                frames: Mapping[str, pd.DataFrame] | None = None,
                say: Mapping[str, str] | None = None, lang: str = "en",
                figure_phrases: Mapping[str, str] | None = None,
                flow_reasons: Mapping[str, str] | None = None,
                term_phrases: Mapping[str, str] | None = None) -> str:
    """A self-contained HTML page with every table and figure of the report.

    A caller showing the report in another language passes ``frames`` (the tables, titled and
    labelled its way), ``say`` (its words for this page's English phrases and for the
    report's sentences), ``figure_phrases`` (its texts for keys of
    :data:`analysis.consort.FLOW_PHRASES` and :data:`analysis.plots.PLOT_PHRASES`),
    ``flow_reasons`` (its words for the flow records' reasons), ``term_phrases`` (its
    templates for :data:`analysis.terms.TERM_PHRASES`) and ``lang``; without them the page is
    the English one. Without ``frames`` the tables are :func:`tables`' full layout.
    """

    def t(text: str) -> str:
        return (say or {}).get(text, text)

    kind = kind or report_kind(report)
    title = title or {"efficacy": "Efficacy report", "reliable-change": "Reliable change",
                      "feasibility": "Feasibility report"}[kind]
    parts = [f"<h1>{escape(title)}</h1>"]
    if kind == "efficacy":
        design = t("randomised, ") if report["design"] == "rct" else t("single arm, ")
        parts.append(f"<p>{escape(t('Design'))}: {escape(design)}{escape(t('timepoints'))} "
                     f"{escape(', '.join(report['timepoints']))}.</p>")
        if report.get("sign_convention"):
            parts.append(f"<p>{escape(t(report['sign_convention']))}</p>")
        if report.get("formula"):
            parts.append(f"<p>{escape(model_in_words(report, term_phrases))}</p>"
                         f"<p><code>{escape(report['formula'])}</code></p>")
    if report.get("warning"):
        parts.append(f'<p class="warning">{escape(t("Warning"))}: '
                     f'{escape(t(report["warning"]))}</p>')
    if kind == "feasibility" and "flow" in report:
        parts.append(f"<h2>{escape(t('Participant flow'))}</h2>"
                     + flow_svg(report["flow"], figure_phrases, flow_reasons))
    named = frames if frames is not None else {
        name.capitalize(): frame
        for name, frame in tables(report, kind, full=True, phrases=term_phrases).items()}
    for name, frame in named.items():
        parts.append(f"<h2>{escape(name)}</h2>")
        parts.append(_html_table(frame) if not frame.empty
                     else f"<p>{escape(t('No data.'))}</p>")
    heading = None
    for head, alt, png in figures(report, kind, figure_phrases=figure_phrases,
                                  flow_reasons=flow_reasons, say=say):
        if head == t("Participant flow"):
            continue  # drawn above as SVG
        if head != heading:
            parts.append(f"<h2>{escape(head)}</h2>")
            heading = head
        parts.append(_img(png, alt))
    return (
        f"<!doctype html>\n<html lang=\"{escape(lang)}\"><head><meta charset=\"utf-8\">"
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        + "\n".join(parts)
        + "</body></html>\n"
    )


def render_xlsx(report: dict, kind: str | None = None, *,
                frames: Mapping[str, pd.DataFrame] | None = None,
                figure_phrases: Mapping[str, str] | None = None,
                flow_reasons: Mapping[str, str] | None = None,
                say: Mapping[str, str] | None = None,
                with_figures: bool = True) -> bytes:
    """An XLSX workbook, one sheet per table of the report (``frames``: the caller's own
    titled and labelled tables, as for :func:`render_html`), and a ``figures`` sheet with the
    report's figures embedded as images (:func:`figures`; ``figure_phrases``,
    ``flow_reasons`` and ``say`` as for :func:`render_html`)."""
    sheets = frames if frames is not None else tables(report, kind, full=True)
    drawn = [(f"{head}: {alt}", png) for head, alt, png in figures(
        report, kind, figure_phrases=figure_phrases, flow_reasons=flow_reasons, say=say)
    ] if with_figures else []
    return write_xlsx(sheets, drawn)
