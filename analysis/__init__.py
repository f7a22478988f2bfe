"""Hearth's statistics: feasibility and efficacy reports whose numbers agree with R.

Pure functions on the tidy tables of the data contract (``scores``, ``participants``,
attendance and flow records); no Flask, no database. The public API:

- :func:`efficacy_report` - descriptives, random-intercept LMM (or MMRM) effects per measure,
  with site and therapy-group terms, Kenward–Roger df, type III tests, per-timepoint
  contrasts, ANCOVA and a per-protocol population (:func:`fit_clustered`, :func:`ancova`);
- :func:`term_label`, :func:`model_in_words` - model terms and models named for people;
- :func:`reliable_change` - Jacobson–Truax reliable and clinically significant change;
- :func:`feasibility_report` - attendance, retention, delivery, satisfaction, progression;
- :func:`render_html`, :func:`render_xlsx` - downloadable reports;
- :mod:`analysis.exports` writers - CSV (BOM), XLSX, .sav, .dta, codebook;
- :func:`flow_counts`, :func:`flow_svg`, :func:`flow_png` - the CONSORT diagram.
"""

from analysis.ancova import ancova
from analysis.clustered import fit_clustered
from analysis.consort import flow_counts, flow_png, flow_svg
from analysis.efficacy import efficacy_report
from analysis.exports import codebook, write_csv, write_dta, write_sav, write_xlsx
from analysis.feasibility import feasibility_report
from analysis.io import InputError
from analysis.lmm import fit_random_intercept
from analysis.mmrm import fit_unstructured
from analysis.reliable_change import reliable_change
from analysis.report import render_html, render_xlsx
from analysis.terms import model_in_words, term_label

__all__ = [
    "InputError",
    "ancova",
    "codebook",
    "efficacy_report",
    "feasibility_report",
    "fit_clustered",
    "fit_random_intercept",
    "fit_unstructured",
    "flow_counts",
    "flow_png",
    "flow_svg",
    "model_in_words",
    "reliable_change",
    "render_html",
    "render_xlsx",
    "term_label",
    "write_csv",
    "write_dta",
    "write_sav",
    "write_xlsx",
]
