"""Online applications: a study's public page creates an applicant (a pseudonymous participant
record and, beside it, the contact address they gave), who continues through a private link to
the screening questionnaire and, when eligible, to consent on the current information sheet.

The link's token is random and stored only as its hash (``program.core.tokens``); it expires.
Each write runs in one ``write_transaction`` and records an audit entry.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from models import (
    ConsentVersion,
    OnlineApplication,
    Participant,
    Study,
    db,
    utcnow,
    write_transaction,
)
from program.core import audit
from program.core.audit import AuditAction
from program.core.tokens import token_hash
from program.messaging import emails, outbox
from program.trial import enrolment
from program.trial.records import TrialError, participant_for_update

#: how long the link to continue an application works
LINK_DAYS = 60
#: where the link points (the public pages of ``views.apply``)
CONTINUE_PATH = "/apply/continue/"


class ApplicationError(ValueError):
    """An application step that cannot be taken; ``str(exc)`` is a message for the applicant."""


def next_code(study: Study) -> str:
    """The next free pseudonymous code of the study, e.g. M-0031 (call inside the write)."""
    number = db.session.scalar(select(func.count()).select_from(Participant)
                               .where(Participant.study_id == study.id)) + 1
    taken = set(db.session.scalars(select(Participant.code)
                                   .where(Participant.study_id == study.id)))
    while f"{study.code_prefix}-{number:04d}" in taken:
        number += 1
    return f"{study.code_prefix}-{number:04d}"


def add_applicant(study: Study, *, on: date | None = None) -> Participant:
    """A person who applied to the research team (not online), under the next code; ``on``
    is the day they applied (today unless the demo seed dates its history)."""
    with write_transaction():
        participant = Participant(study_id=study.id, code=next_code(study), status="applied",
                                  applied_on=on or utcnow().date())
        db.session.add(participant)
        db.session.flush()
        audit.record(AuditAction.PARTICIPANT_APPLIED, participant)
    return participant


def open_study(key: str) -> Study | None:
    """The study with this key when it accepts online applications."""
    return db.session.scalar(select(Study).where(Study.key == key,
                                                 Study.accepts_applications.is_(True)))


def set_accepting(study_id: int, accepting: bool, *, actor=None) -> None:
    """Open or close the study's public application page."""
    with write_transaction():
        study = db.session.scalar(select(Study).where(Study.id == study_id).with_for_update()
                                  .execution_options(populate_existing=True))
        if bool(study.accepts_applications) == bool(accepting):
            return  # already so (a second click): nothing changes, nothing is audited
        study.accepts_applications = bool(accepting)
        audit.record(AuditAction.APPLICATIONS_TOGGLED, study, actor=actor,
                     accepting=bool(accepting))


def apply_online(study_id: int, email: str, locale: str | None, *,
                 now: datetime | None = None) -> tuple[OnlineApplication, str]:
    """Create an applicant from the public page; returns the application and the link token."""
    now = now or utcnow()
    email = email.strip().lower()
    token = secrets.token_urlsafe(32)
    with write_transaction():
        study = db.session.get(Study, study_id)
        if not study.accepts_applications:
            raise ApplicationError(_l("This study does not take applications now."))
        if db.session.scalar(select(OnlineApplication.id).where(
                OnlineApplication.study_id == study.id, OnlineApplication.email == email)):
            raise ApplicationError(_l("This address has already applied to this study. Please "
                                      "use the link you were given, or write to the study "
                                      "team."))
        participant = Participant(study_id=study.id, code=next_code(study), status="applied",
                                  applied_on=now.date())
        db.session.add(participant)
        db.session.flush()
        application = OnlineApplication(
            participant_id=participant.id, study_id=study.id, email=email, locale=locale,
            token_hash=token_hash(token), expires_at=now + timedelta(days=LINK_DAYS),
            created_at=now)
        db.session.add(application)
        db.session.flush()
        audit.record(AuditAction.APPLIED_ONLINE, participant, actor=None)
        # The link also goes by email, in the page's language; the body is emptied once sent.
        outbox.enqueue_email_to(
            email, locale or "en", f"application:{application.id}", "application_link",
            "application_link", study=study.title, days=LINK_DAYS,
            link=emails.base_url() + CONTINUE_PATH + token)
    return application, token


def application_for(token: str, *, now: datetime | None = None) -> OnlineApplication | None:
    """The application this link opens, unless it expired or its data were removed."""
    if not token or len(token) > 100:
        return None
    application = db.session.scalar(select(OnlineApplication)
                                    .where(OnlineApplication.token_hash == token_hash(token)))
    if application is None or application.expires_at <= (now or utcnow()):
        return None
    if application.participant.data_removed_at is not None:
        return None
    return application


def screen_online(application_id: int, answers: Mapping[str, object], *,
                  now: datetime | None = None) -> bool:
    """Record the applicant's screening questionnaire (once); True when they are eligible."""
    now = now or utcnow()
    with write_transaction():
        application = db.session.get(OnlineApplication, application_id)
        participant = participant_for_update(application.participant_id)
        if application.screened_at is not None or participant.status != "applied":
            raise ApplicationError(_l("The screening questions have been answered already."))
        try:
            enrolment.screen_locked(participant, answers, on=now.date(), actor=None,
                                    action=AuditAction.SCREENED_ONLINE)
        except TrialError as exc:
            raise ApplicationError(_l("Please answer every question.")) from exc
        application.screened_at = now
        return bool(participant.eligible)


def consent_online(application_id: int, copy_html: str, *, now: datetime | None = None) -> None:
    """Record the applicant's consent to the study's current information sheet, with the copy
    of what they agreed to."""
    now = now or utcnow()
    with write_transaction():
        application = db.session.get(OnlineApplication, application_id)
        participant = participant_for_update(application.participant_id)
        version = participant.study.consent_version
        if application.consented_at is not None:
            raise ApplicationError(_l("Your consent has been recorded already."))
        if not version or participant.eligible is not True:
            raise ApplicationError(_l("Consent cannot be given online for this application."))
        enrolment.consent_locked(participant, version, on=now.date(), actor=None,
                                 action=AuditAction.CONSENTED_ONLINE)
        application.consented_at = now
        application.consent_version = version
        application.consent_copy = copy_html


def information_sheet(study: Study) -> str | None:
    """The text of the study's current information sheet, where set-up stored one."""
    return db.session.scalar(select(ConsentVersion.sheet_text).where(
        ConsentVersion.study_id == study.id, ConsentVersion.version == study.consent_version))


def applicant_contact(participant_id: int) -> tuple[str, str | None] | None:
    """The address and language a participant gave when applying online (for the invitation
    to create their account), or None when they did not apply online."""
    row = db.session.execute(select(OnlineApplication.email, OnlineApplication.locale)
                             .where(OnlineApplication.participant_id == participant_id)).first()
    return (row.email, row.locale) if row else None


def study_applications(study_id: int) -> list[OnlineApplication]:
    """The study's online applications, newest first."""
    return list(db.session.scalars(select(OnlineApplication)
                                   .where(OnlineApplication.study_id == study_id)
                                   .order_by(OnlineApplication.created_at.desc(),
                                             OnlineApplication.id.desc())))
