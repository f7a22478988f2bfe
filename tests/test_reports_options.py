"""Refused report options: analysis.options finds the problem, program.reports words it the
way the pages and ``flask report`` always have (English on the command line, the reader's
language on a page)."""

from __future__ import annotations

from flask_babel import force_locale

from analysis.options import PROBLEMS, OptionError
from program.reports import refused
from tests.test_i18n_catalogues import ensure_compiled

WORDS = {
    "unknown_timepoint": ({"timepoint": "week9"}, "Unknown timepoint week9."),
    "too_few_timepoints": ({}, "Choose at least two timepoints."),
    "incomplete_measure": ({"measure": "BDI-II", "timepoint": "post"},
                           "BDI-II has no scores at one of the timepoints."),
    "no_complete_measure": ({}, "No measure has scores at every chosen timepoint yet."),
    "unknown_covariate": ({"covariate": "site"}, "Unknown covariate site."),
    "empty_covariate": ({"covariate": "age"}, "Covariate age has no values."),
    "unknown_arm": ({"arm": "WL", "arms": "CFT, UC"}, "Unknown arm WL."),
    "reliability": ({}, "The reliability must lie strictly between 0 and 1."),
    "norms": ({}, "Give both the normative mean and SD, or neither."),
    "norm_sd": ({}, "The normative SD must be above 0."),
    "cutoff": ({}, "The cutoff is a, b, c or a number."),
    "unknown_df": ({"ddf": "containment", "methods": "satterthwaite, kenward-roger"},
                   "Unknown df method containment."),
    "unknown_model": ({"model": "gee"}, "Unknown model gee."),
    "random_needs_lmm": ({"option": "--random"},
                         "Random intercepts for sites and therapy groups belong to the "
                         "random-intercept model of a randomised trial: choose that model, or "
                         "enter the site as a covariate."),
    "kenward_roger_needs_lmm": ({}, "Kenward–Roger df are available for the random-intercept "
                                    "model of a randomised trial only."),
    "ancova_needs_rct": ({}, "The ANCOVA compares arms: it needs a randomised trial."),
    "per_protocol_negative": ({}, "The minimum of sessions attended cannot be negative."),
    "missing_column": ({"column": "clinic"}, "The participants have no clinic column."),
    "no_therapy_groups": ({"column": "therapy_group"},
                          "No participant has a therapy group yet: nobody in an arm receiving "
                          "the program has been placed in a cohort."),
}


def test_every_problem_is_worded_in_english_on_the_command_line(app):
    assert WORDS.keys() == PROBLEMS.keys()
    for problem, (values, english) in WORDS.items():
        assert str(refused(OptionError(problem, **values))) == english


def test_a_page_words_them_in_the_readers_language(app):
    ensure_compiled()
    for locale in ("ja", "zh"):
        with app.test_request_context(), force_locale(locale):
            for problem, (values, english) in WORDS.items():
                shown = str(refused(OptionError(problem, **values)))
                assert shown != english, (locale, problem)
                for value in values.values():
                    if value in english:
                        assert value in shown, (locale, problem)
