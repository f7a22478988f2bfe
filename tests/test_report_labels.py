"""Report labels: warnings recovered from their coded templates, built-in eligibility labels."""

from __future__ import annotations

from analysis.notes import NOTES, note, parse
from program.trial.eligibility import CFT_ELIGIBILITY, rule_label


def test_every_warning_template_parses_back_to_its_code_and_values():
    values = {"arm": "UC", "timepoint": "post", "n": 3, "timepoints": "pre, post",
              "term": "time[post]:arm[UC]", "pre": "pre", "post": "week 8", "kind": "c"}
    for code, template in NOTES.items():
        used = {k: v for k, v in values.items() if "{" + k + "}" in template}
        assert parse(note(code, **used)) == [(code, {k: str(v) for k, v in used.items()})]


def test_joined_warnings_and_unknown_text_parse_one_by_one():
    text = "; ".join([note("arm_no_scores", arm="UC", timepoint="post"), "something else",
                      note("boundary_fit")])
    assert parse(text) == [("arm_no_scores", {"arm": "UC", "timepoint": "post"}),
                           (None, "something else"), ("boundary_fit", {})]
    assert parse(None) == [] and parse("") == []


def test_builtin_rule_labels_are_translated_and_a_study_s_own_label_is_kept(app):
    from flask_babel import force_locale

    from tests.test_i18n_catalogues import ensure_compiled

    ensure_compiled()
    psychosis = next(r for r in CFT_ELIGIBILITY if r["key"] == "psychosis")
    with app.test_request_context(), force_locale("ja"):
        assert rule_label(psychosis) == "精神病性障害"
        assert rule_label({**psychosis, "label": "Psychotic disorder (any)"}) == (
            "Psychotic disorder (any)")
        assert rule_label({"key": "site_ok", "label": "Lives near the site"}) == (
            "Lives near the site")


def test_report_pages_show_numbers_and_words_the_locale_s_way(app):
    from flask_babel import force_locale

    from tests.test_i18n_catalogues import ensure_compiled
    from views.reports import labels

    ensure_compiled()
    with app.test_request_context(), force_locale("zh"):
        assert labels.number(12345.678) == "12,350"
        assert labels.term("time[post]:arm[UC]") == "时间[post]:组别[UC]"
        assert labels.warning(note("arm_no_scores", arm="UC", timepoint="post")) == (
            "UC组在post没有分数")
        assert labels.quantity("attended_at_least_6_pct") == "出勤至少6次的比例（%）"
