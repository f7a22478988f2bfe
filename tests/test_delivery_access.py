"""Every delivery route names its roles and refuses the others."""

from __future__ import annotations

import pytest

from models.people import Role
from tests.conftest import csrf_token
from tests.factories import gen_user
from tests.factories_delivery import gen_course

ROLES = tuple(Role)
EXPECTED = {"participant": ("participant",), "facilitator": ("facilitator",),
            "settings": ROLES, "calendar": ("*",)}


def _routes(app):
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.partition(".")[0]
        if blueprint in EXPECTED and "." in rule.endpoint:
            yield blueprint, rule


def test_every_delivery_view_declares_exactly_its_roles(app):
    routes = list(_routes(app))
    assert len(routes) >= 15
    for blueprint, rule in routes:
        view = app.view_functions[rule.endpoint]
        assert tuple(view.allowed_roles) == EXPECTED[blueprint], rule.endpoint


@pytest.mark.parametrize("role", ROLES)
def test_other_roles_are_refused_on_every_route(app, client, as_user, role):
    course = gen_course("cft")
    as_user(gen_user(role))
    token = csrf_token(client, "/settings/")
    values = {"cohort_id": course.cohort.id, "number": 1, "log_id": 1, "practice_key": "x",
              "token": "x" * 20, "participant_id": course.participant.id}
    for blueprint, rule in _routes(app):
        if role in EXPECTED[blueprint] or blueprint == "calendar":
            continue
        path = rule.build(values, append_unknown=False)[1]
        method = "GET" if "GET" in rule.methods else "POST"
        response = client.open(path, method=method, data={"csrf_token": token})
        assert response.status_code == 403, (method, path)
