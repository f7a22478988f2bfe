"""Notices in the recipient's language: the session's translated title and a local date."""

from __future__ import annotations

import pytest
import time_machine

from models import User, db
from program.catalogue import get_catalogue
from program.jobs import dispatch, tick
from tests.factories_delivery import gen_course, utc
from tests.test_i18n_catalogues import ensure_compiled

NOW = utc(2026, 10, 21, 17, 30)  # the day before session 2's meeting (17:00 UTC)


def _mail_to(app, user: User) -> list[dict]:
    return [m for m in app.extensions.setdefault("sent_mail", []) if m["to"] == user.email]


@pytest.mark.parametrize(("locale", "when"), [
    ("ja", "2026年10月22日木曜日 17:00"),
    ("zh", "2026年10月22日星期四 17:00"),
    ("en", "Thursday 22 October 2026, 17:00"),
])
def test_notices_are_written_in_the_recipients_language(app, locale, when):
    ensure_compiled()
    course = gen_course("msc")
    db.session.get(User, course.user.id).locale = locale
    db.session.commit()
    with time_machine.travel(NOW, tick=False):
        tick(NOW)
        dispatch(NOW, 1000)
    mail = _mail_to(app, course.user)
    text = "\n".join(m["subject"] + "\n" + m["body"] for m in mail)
    assert when in text  # the meeting reminder's date, in the recipient's time zone (UTC)
    for number in (1, 2):  # session 1 is released, session 2 meets tomorrow
        assert get_catalogue(locale).session("msc", number).title in text
    if locale != "en":
        assert get_catalogue().session("msc", 2).title not in text
        assert "Hearth: live meeting" not in text
    # the facilitator's English notice is unaffected by the participant's language
    facilitator = "\n".join(m["body"] for m in _mail_to(app, course.facilitator))
    assert get_catalogue().session("msc", 2).title in facilitator
