"""In Chromium: the service worker, turning push on and off (the browser's push service is
stubbed in the page), and reading and logging a practice offline."""

from __future__ import annotations

import json
import time

import pytest
from playwright.sync_api import Error as PlaywrightError
from sqlalchemy import func, select

from models import Participant, PracticeLog, PushSubscription, User, db
from tests.browser.conftest import sign_in
from tests.push_receiver import Browser

PARTICIPANT = "msc.participant@hearth.example"


def _stub_push(page) -> str:
    """Replace the browser's push service with one that hands out a fixed subscription."""
    subscription = Browser("https://push.example.test/subscription/1").to_json()
    page.add_init_script("""(() => {
      const data = __SUBSCRIPTION__;
      let current = null;
      const make = () => ({ endpoint: data.endpoint, toJSON: () => data,
                            unsubscribe: async () => { current = null; return true; } });
      PushManager.prototype.subscribe = async function (options) {
        window.__applicationServerKey = new Uint8Array(options.applicationServerKey).length;
        current = make();
        return current;
      };
      PushManager.prototype.getSubscription = async function () { return current; };
      Notification.requestPermission = async () => "granted";
    })();""".replace("__SUBSCRIPTION__", json.dumps(subscription)))
    return subscription["endpoint"]


def _worker_in_control(page) -> str:
    page.wait_for_function("() => navigator.serviceWorker && navigator.serviceWorker.controller")
    return page.evaluate("navigator.serviceWorker.controller.scriptURL")


def _endpoints(app) -> list[str]:
    with app.app_context():
        return db.session.scalars(select(PushSubscription.endpoint)).all()


def test_the_service_worker_registers_and_push_turns_on_and_off(page, app, live_server):
    endpoint = _stub_push(page)
    sign_in(page, PARTICIPANT)
    page.goto("/settings/")
    page.get_by_role("link", name="Choose how Hearth tells you things").click()
    assert _worker_in_control(page) == f"{live_server}/sw.js"
    assert page.evaluate("navigator.serviceWorker.ready.then(r => r.scope)") == f"{live_server}/"

    page.get_by_role("button", name="Turn on notifications on this device").click()
    status = page.locator("#push-status")
    status.filter(has_text="Notifications are on for this device.").wait_for()
    assert page.evaluate("window.__applicationServerKey") == 65  # the server's VAPID key
    assert _endpoints(app) == [endpoint]

    page.get_by_role("button", name="Turn off on this device").click()
    status.filter(has_text="Notifications are off for this device.").wait_for()
    assert _endpoints(app) == []
    manifest = page.request.get("/manifest.webmanifest").json()
    assert manifest["display"] == "standalone" and manifest["start_url"] == "/"


def _logs(app) -> int:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == PARTICIPANT))
        participant = db.session.scalar(select(Participant).where(
            Participant.user_id == user.id))
        return db.session.scalar(select(func.count(PracticeLog.id)).where(
            PracticeLog.participant_id == participant.id))


def _kept_pages(page) -> list[str]:
    return page.evaluate("""async () => {
      const names = (await caches.keys()).filter(n => n.startsWith("hearth-pages-"));
      const urls = [];
      for (const name of names) {
        for (const request of await (await caches.open(name)).keys()) urls.push(request.url);
      }
      return urls;
    }""")


def test_a_session_read_and_a_practice_logged_offline_arrive_once(page, app, live_server):
    sign_in(page, PARTICIPANT)
    page.goto("/me/sessions")
    _worker_in_control(page)
    page.goto("/me/sessions/1")
    title = page.locator("h1").inner_text()
    page.goto("/me/practice/new")
    assert f"{live_server}/me/sessions/1" in _kept_pages(page)
    before = _logs(app)

    page.context.set_offline(True)
    other = page.context.new_page()
    with pytest.raises(PlaywrightError):
        other.goto("/me/practice")  # never opened, so not kept: offline it is not there
    other.close()
    page.goto("/me/sessions/1")
    assert page.locator("h1").inner_text() == title
    page.goto("/me/practice/new")
    page.get_by_label("Minutes").fill("9")
    page.get_by_label("Note (optional)").fill("Offline on the train.")
    page.get_by_role("button", name="Save").click()
    page.locator("#offline-status").filter(has_text="You are offline").wait_for()
    assert _logs(app) == before

    page.context.set_offline(False)
    page.wait_for_function("() => document.body.dataset.offlineQueueLeft === '0'")
    assert _logs(app) == before + 1
    page.reload()  # the queue is empty: nothing is sent again
    time.sleep(0.5)
    assert _logs(app) == before + 1

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/auth/sign-in")
    assert _kept_pages(page) == []


def test_notification_settings_fit_a_360_px_phone(browser, live_server):
    context = browser.new_context(base_url=live_server, viewport={"width": 360, "height": 740},
                                  is_mobile=True, has_touch=True)
    phone = context.new_page()
    try:
        sign_in(phone, PARTICIPANT)
        phone.goto("/settings/notifications/")
        assert phone.locator("h1").inner_text() == "Notifications"
        assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    finally:
        context.close()


def test_staff_pages_are_never_kept(page, app):
    sign_in(page, "msc.teacher@hearth.example")
    assert "/auth/sign-in" not in page.url  # signed in: the pages below are a facilitator's
    _worker_in_control(page)
    page.reload()
    assert _kept_pages(page) == []
