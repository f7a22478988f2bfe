"""The report option forms (GET forms) fed arbitrary options: a page or a message, never a 5xx.

Viewing a report writes nothing; only a download is recorded in the audit log.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from models import AuditEntry, db
from program.reports import criteria
from tests.conftest import sign_in
from tests.factories import gen_user
from tests.factories_reports import gen_scored_trial

ODD = ["", "pre", "post", "BDI-II", "CFT", "UC", "gender", "age", "lmm", "mmrm", "y", "a", "b",
       "c", "0", "1", "-1", "0.5", "0.99", "1.5", "NaN", "nan", "inf", "-inf", "1e309", "x" * 5000,
       "9" * 40, "<script>", "{{7*7}}", "..", "pre,post"]
VALUE = st.one_of(st.sampled_from(ODD),
                  st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=50),
                  st.floats(allow_nan=True, allow_infinity=True).map(repr))
LISTED = st.lists(VALUE, max_size=3)
EFFICACY = {"timepoints": LISTED, "measures": LISTED, "covariates": LISTED,
            "reference_arm": VALUE, "completers_only": VALUE, "model": VALUE,
            "rc_measure": VALUE, "rc_reliability": VALUE, "rc_norm_mean": VALUE,
            "rc_norm_sd": VALUE, "rc_cutoff": VALUE, "rc_lower_is_better": VALUE}
FEASIBILITY = {"timepoints": LISTED, "min_attended": VALUE,
               **{f"{c['metric']}_{band}": VALUE for c in criteria() for band in ("green",
                                                                                 "amber")}}
FUZZ = settings(max_examples=25, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


def _query(options: dict) -> list[tuple[str, str]]:
    pairs = []
    for name, value in options.items():
        for item in value if isinstance(value, list) else [value]:
            pairs.append((name, item))
    return pairs


@pytest.mark.parametrize(("page", "fields"), [
    ("efficacy", EFFICACY), ("feasibility", FEASIBILITY),
    ("efficacy.json", EFFICACY), ("reliable-change.json", EFFICACY),
    ("feasibility.json", FEASIBILITY),
])
def test_report_options_survive_arbitrary_input(app, page, fields):
    researcher = gen_user("researcher")
    study = gen_scored_trial(researcher)
    client = app.test_client()
    sign_in(client, researcher)
    path = f"/research/reports/{study.id}/{page}"
    assert client.get(path).status_code in (200, 400)

    @FUZZ
    @given(options=st.fixed_dictionaries({}, optional=fields))
    def view(options):
        audited = db.session.scalar(select(func.count()).select_from(AuditEntry))
        response = client.get(path, query_string=_query(options))
        assert response.status_code < 500, (page, options)
        if response.status_code != 200 or "." not in page:
            # a refused download, or a page: nothing recorded
            assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == audited

    view()
