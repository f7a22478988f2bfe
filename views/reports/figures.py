"""The report figures on the pages: trajectories, the Jacobson–Truax plot, the CONSORT
diagram, attendance per meeting and recruitment over time, with their words (and a CJK font)
in the reader's language."""

from __future__ import annotations

import base64
import threading
from contextlib import nullcontext
from functools import cache

from flask_babel import get_locale

from views.reports import labels

#: pyplot keeps global state: threads of one worker draw one figure at a time
PLOT_LOCK = threading.Lock()

#: fonts with Japanese and Chinese glyphs, by preference (matplotlib family names)
CJK_FAMILIES = {"ja": ("Noto Sans CJK JP", "Noto Serif CJK JP"),
                "zh": ("Noto Sans CJK SC", "Noto Serif CJK SC", "Noto Sans CJK JP",
                       "Noto Serif CJK JP")}


def data_uri(mime: str, payload: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(payload).decode()}"


def trajectories(report: dict) -> list[dict]:
    from analysis.plots import to_png, trajectory_plot  # matplotlib: slow to import

    phrases = labels.figure_phrases()
    figures = []
    with PLOT_LOCK, figure_font():
        for measure, entry in report["measures"].items():
            extra = {}
            if phrases is not None:
                extra = {"phrases": phrases, "arm_names": labels.arm_names(
                    d["arm"] for d in entry["descriptives"])}
            figures.append({"measure": measure, "src": data_uri("image/png", to_png(
                trajectory_plot(entry["descriptives"], report["timepoints"],
                                labels.measure(measure) if phrases is not None else measure,
                                **extra)))})
    return figures


def jacobson_truax(change: dict) -> str | None:
    from analysis.plots import jacobson_truax_plot, to_png

    if not change["participants"]:
        return None
    phrases = labels.figure_phrases()
    extra = {}
    if phrases is not None:
        extra = {"phrases": phrases, "measure": labels.measure(change["measure"]),
                 "arm_names": labels.arm_names(r["arm"] for r in change["participants"])}
    with PLOT_LOCK, figure_font():
        return data_uri("image/png", to_png(jacobson_truax_plot(change, **extra)))


def course(report: dict) -> list[dict]:
    """The feasibility report's figures of the course: attendance per meeting and
    recruitment over time (when the report has them), as PNG data URIs with their words."""
    from flask_babel import gettext as _

    from analysis.plots import attendance_plot, recruitment_plot, to_png

    phrases = labels.figure_phrases()
    by_meeting = (report.get("attendance") or {}).get("by_meeting")
    by_month = (report.get("recruitment") or {}).get("by_month")
    drawn = []
    with PLOT_LOCK, figure_font():
        if by_meeting:
            drawn.append({"title": _("Attendance per meeting"), "alt": _(
                "Share of the participants due at each meeting who were present, meeting by "
                "meeting over the course"),
                "src": data_uri("image/png", to_png(attendance_plot(by_meeting, phrases)))})
        if by_month:
            drawn.append({"title": _("Recruitment over time"), "alt": _(
                "Participants allocated per month and in all, month by month"),
                "src": data_uri("image/png", to_png(recruitment_plot(by_month, phrases)))})
    return drawn


def flow_diagram(counts: dict, reasons: dict[str, str] | None) -> str:
    """The CONSORT diagram for the page, as an SVG data URI."""
    from analysis import flow_svg

    return data_uri("image/svg+xml", flow_svg(counts, labels.figure_phrases(), reasons).encode())


def flow_png(counts: dict, reasons: dict[str, str] | None) -> bytes:
    """The CONSORT diagram as a PNG for papers."""
    from analysis import flow_png as draw

    with PLOT_LOCK, figure_font():
        return draw(counts, phrases=labels.figure_phrases(), reasons=reasons)


def figure_font():
    """Draw PNG text in a CJK font on a Japanese or Chinese page (glyphs, not boxes), DejaVu
    Sans where none is installed; matplotlib's own defaults otherwise. Use under
    ``PLOT_LOCK``: rc parameters are global."""
    language = str(get_locale() or "en").split("_")[0]
    if language not in CJK_FAMILIES:
        return nullcontext()
    import matplotlib

    installed = installed_families()
    families = [f for f in CJK_FAMILIES[language] if f in installed]
    return matplotlib.rc_context({"font.family": [*families, "DejaVu Sans"]})


@cache
def installed_families() -> frozenset[str]:
    """Font families matplotlib can use, with the system's CJK fonts added when its font
    cache predates them (the cache is built once and not refreshed on new fonts)."""
    from matplotlib import font_manager

    wanted = {f for families in CJK_FAMILIES.values() for f in families}
    names = {f.name for f in font_manager.fontManager.ttflist}
    if not wanted & names:
        for path in font_manager.findSystemFonts():
            if "CJK" in path:
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):
                    continue
        names = {f.name for f in font_manager.fontManager.ttflist}
    return frozenset(names)
