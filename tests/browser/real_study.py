"""Helpers of the from-nothing browser tests (tests/browser/test_real_study.py): an empty
database with one admin made by ``flask admin create``, the app served on loopback, links read
from the outbox, and the page steps a team goes through."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from models import OutboxMessage, User, db
from tests.browser.conftest import served  # noqa: F401 - the tests serve the app with it

ADMIN_EMAIL = "root@clinic.example"
PASSWORD = "a long enough passphrase 2026"


def create_admin(app) -> None:
    """The one command a deployment needs, on the empty test database."""
    assert db.session.scalar(select(func.count()).select_from(User)) == 0
    result = app.test_cli_runner().invoke(
        args=["admin", "create", "--email", ADMIN_EMAIL, "--name", "Rosa Admin"],
        input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    db.session.remove()


def link_in_outbox(app, email: str, path: str = "/invitation/") -> str:
    """The path of the newest link to ``path`` in a message queued for ``email``."""
    with app.app_context():
        bodies = db.session.scalars(select(OutboxMessage.body_text).where(
            OutboxMessage.recipient_email == email).order_by(OutboxMessage.id.desc())).all()
        db.session.remove()
    for body in bodies:
        found = re.search(re.escape(path) + r"[A-Za-z0-9_-]+", body or "")
        if found:
            return found.group(0)
    raise AssertionError(f"no {path} link queued for {email}")


def new_page(browser, base: str):
    context = browser.new_context(base_url=base, viewport={"width": 1024, "height": 800})
    page = context.new_page()
    page.set_default_timeout(10_000)
    return page


def sign_in(page, email: str, password: str = PASSWORD) -> None:
    page.goto("/auth/sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def flashed(page) -> str:
    return page.locator(".flashes").inner_text() if page.locator(".flashes").count() else ""


def submit(page, name: str, *, expect: str | None = None) -> None:
    """Click a form's button; with ``expect``, the flash message that must follow."""
    page.get_by_role("button", name=name, exact=True).first.click()
    page.wait_for_load_state()
    if expect is not None:
        assert expect in flashed(page), (expect, flashed(page), page.url,
                                         page.locator("main").inner_text()[:1500])


def invite_staff(page, email: str, name: str, role: str) -> None:
    page.goto("/admin/invitations")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Role").select_option(role)
    page.get_by_label("Language of the invitation").select_option("en")
    submit(page, "Send the invitation", expect=f"The invitation to {email} is on its way.")


def accept_invitation(browser, base: str, app, email: str, name: str | None = None):
    """The invitee opens the link from their email, chooses a password: signed in."""
    page = new_page(browser, base)
    page.goto(link_in_outbox(app, email))
    if name:
        page.get_by_label("Your name, as others see it").fill(name)
    page.get_by_label("New password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the new password").fill(PASSWORD)
    page.get_by_role("button", name="Create my account").click()
    page.wait_for_load_state()
    assert "/invitation/" not in page.url, page.locator("main").inner_text()[:800]
    return page


def study_id_of(page) -> int:
    return int(re.search(r"/studies/(\d+)", page.url).group(1))


def flow_counts(page, study_id: int) -> dict[str, str]:
    """The study page's flow, label -> shown value."""
    page.goto(f"/research/studies/{study_id}")
    facts = page.locator("section.card").filter(has=page.get_by_role(
        "heading", name="Flow")).locator("dl.facts")
    terms = facts.locator("dt").all_inner_texts()
    values = facts.locator("dd").all_inner_texts()
    return dict(zip(terms, values, strict=True))


def option_value(page, select: str, text: str) -> str:
    """The value of the option of ``select`` whose text contains ``text``."""
    return page.locator(f"{select} option").filter(has_text=text).first.get_attribute("value")


def new_study(page, *, title: str, key: str, design: str, program: str, prefix: str) -> int:
    page.goto("/research/studies/new")
    page.get_by_label("Title").fill(title)
    page.get_by_label("Short key").fill(key)
    page.get_by_label("Design").select_option(design)
    page.get_by_label("Program").select_option(program)
    page.get_by_label("Prefix of participant codes").fill(prefix)
    submit(page, "Create the study", expect="Study created.")
    return study_id_of(page)


def add_consent_version(page, study_id: int, version: str) -> None:
    page.goto(f"/research/studies/{study_id}/consent")
    page.locator("#version").fill(version)
    page.get_by_label("Information sheet text").fill(
        "What the study is, what taking part means, and that you may stop at any time.")
    submit(page, "Save the version", expect="Information sheet version saved.")


def choose_characteristics(page, study_id: int, keys: list[str], sites: str = "") -> None:
    page.goto(f"/research/studies/{study_id}/characteristics")
    for key in keys:
        page.locator(f'input[name="library"][value="{key}"]').check()
    if sites:
        page.locator("#choices_site").fill(sites)
    submit(page, "Save the characteristics", expect="Baseline characteristics saved.")


def add_timepoint(page, study_id: int, key: str, position: int, opens: int, closes: int,
                  instruments: list[str]) -> None:
    page.goto(f"/research/studies/{study_id}/timepoints")
    page.locator("#key").fill(key)
    page.locator("#label").fill(key.title())
    page.locator("#position").fill(str(position))
    page.locator("#opens_day").fill(str(opens))
    page.locator("#closes_day").fill(str(closes))
    for instrument in instruments:
        page.locator(f'#instruments input[value="{instrument}"]').check()
    submit(page, "Save", expect="Timepoint saved.")


def confirm_crisis_contacts(page, study_id: int, country: str) -> None:
    """Take the crisis contacts Hearth ships for ``country`` (as the country is named)."""
    page.goto(f"/research/studies/{study_id}/crisis-contacts")
    submit(page, f"Confirm the contacts for {country}", expect="Contacts confirmed")


def add_study_staff(page, study_id: int, email: str, *, clinician: bool) -> None:
    page.goto(f"/research/studies/{study_id}/staff")
    page.locator("#user_id").select_option(option_value(page, "#user_id", email))
    if clinician:
        page.get_by_label("Clinician (receives safety alerts)").check()
    submit(page, "Save", expect="Staff saved.")


def new_cohort(page, study_id: int, name: str, start, *, sessions: int, zone: str) -> int:
    page.goto(f"/research/studies/{study_id}/cohorts")
    page.locator("#name").fill(name)
    page.locator("#start_date").fill(start.isoformat())
    page.locator("#timezone").fill(zone)
    page.locator("#meeting_weekday").select_option(str(start.weekday()))
    page.locator("#meeting_time").fill("18:30")
    page.locator("#session_count").fill(str(sessions))
    page.locator("#status").select_option("running")
    submit(page, "Save", expect="Cohort saved.")
    href = page.get_by_role("link", name="Staff and groups").first.get_attribute("href")
    return int(re.search(r"/cohorts/(\d+)/", href).group(1))


def add_facilitator(page, cohort_id: int, email: str, role: str) -> None:
    page.goto(f"/research/cohorts/{cohort_id}/people")
    page.locator("#user_id").select_option(option_value(page, "#user_id", email))
    page.locator("#role").select_option(role)
    submit(page, "Add or change facilitator", expect="Facilitator saved.")


def participant_ids(page, study_id: int) -> dict[str, int]:
    """Code -> id of the study's participants, from the study page's table."""
    page.goto(f"/research/studies/{study_id}")
    links = page.locator("table a[href*='/research/participants/']")
    return {links.nth(i).inner_text(): int(links.nth(i).get_attribute("href").rsplit("/", 1)[1])
            for i in range(links.count())}


def invite_participant(page, participant_id: int, email: str, *, typed: bool = True) -> None:
    """Invite the participant at ``email``: typed by the researcher, or (an online applicant)
    already filled in with the address they applied with."""
    page.goto(f"/research/participants/{participant_id}")
    field = page.get_by_label("The participant's email")
    if typed:
        field.fill(email)
        page.locator("#account select").select_option("en")
    else:
        assert field.input_value() == email
    submit(page, "Send the invitation", expect="The invitation is on its way.")
