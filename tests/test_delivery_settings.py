"""Personal settings, for every role."""

from __future__ import annotations

import re

import pytest

from models import User, db
from tests.conftest import post_form
from tests.factories import gen_user

FORM = {"timezone": "Asia/Tokyo", "locale": "ja", "reminders_enabled": "",
        "notify_replies": "daily", "notify_announcements": "none"}


@pytest.mark.parametrize("role", ["participant", "facilitator", "rater", "researcher", "admin"])
def test_every_role_can_change_their_own_settings(app, as_user, role):
    user = gen_user(role)
    client = as_user(user)
    page = client.get("/settings/").get_data(as_text=True)
    assert f"/calendar/{user.calendar_token}.ics" in page
    response = post_form(client, "/settings/", FORM)
    assert response.status_code == 302
    db.session.expire_all()
    saved = db.session.get(User, user.id)
    assert (saved.timezone, saved.locale, saved.reminders_enabled, saved.notify_replies,
            saved.notify_announcements) == ("Asia/Tokyo", "ja", False, "daily", "none")


def test_invalid_choices_are_refused_and_nothing_changes(app, as_user):
    user = gen_user("participant")
    client = as_user(user)
    for changes in ({"timezone": "Mars/Olympus_Mons"}, {"notify_replies": "hourly"},
                    {"locale": "fr"}):
        response = post_form(client, "/settings/", {**FORM, **changes})
        assert response.status_code == 200, changes
        assert 'class="error"' in response.get_data(as_text=True)
    db.session.expire_all()
    saved = db.session.get(User, user.id)
    assert (saved.timezone, saved.locale, saved.reminders_enabled) == ("UTC", None, True)


def test_choosing_the_browser_language_clears_the_setting(app, as_user):
    user = gen_user("participant", locale="zh")
    client = as_user(user)
    post_form(client, "/settings/", {**FORM, "locale": "", "reminders_enabled": "y"})
    db.session.expire_all()
    saved = db.session.get(User, user.id)
    assert saved.locale is None and saved.reminders_enabled is True


def test_settings_need_a_sign_in(client):
    assert client.get("/settings/").status_code == 302


def test_the_time_zone_list_names_places_once_without_legacy_aliases(app, as_user):
    user = gen_user("participant")
    page = as_user(user).get("/settings/").get_data(as_text=True)
    offered = set(re.findall(r'<option[^>]*value="([^"]+/[^"]+|UTC)"', page))
    assert {"Asia/Tokyo", "Asia/Shanghai", "Europe/London", "America/New_York", "UTC"} <= offered
    assert not offered & {"US/Eastern", "Japan", "PRC", "Etc/GMT+5", "Asia/Calcutta",
                          "Europe/Belfast", "GB"}
    assert len(offered) < 450


def test_a_time_zone_saved_under_an_alias_is_kept_on_the_list(app, as_user):
    user = gen_user("participant", timezone="US/Eastern")
    client = as_user(user)
    assert '<option selected value="US/Eastern">' in client.get("/settings/").get_data(as_text=True)
    form = dict(FORM, timezone="US/Eastern")
    assert post_form(client, "/settings/", form).status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).timezone == "US/Eastern"
