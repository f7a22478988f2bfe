"""Invitations to create an account: staff invited by an admin (one by one or from a CSV), an
enrolled participant invited by a researcher.

The link's token is random and only its SHA-256 is stored. A link works once, until it expires
(``INVITATION_DAYS``) or is revoked; sending again makes a new token, so the old link is spent.
Accepting creates the account with the invited role (a participant's is linked to their
pseudonymous record). Every step records an audit entry; nothing here logs a token.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from contextlib import contextmanager
from datetime import UTC, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from models import Invitation, OutboxMessage, Participant, User, db, utcnow, write_transaction
from models.base import is_unique_violation
from models.people import Locale, Role
from program.accounts.directory import email_problem, password_problem
from program.accounts.passwords import create_user, find_user
from program.accounts.sessions import start_session
from program.core import audit
from program.core.audit import AuditAction
from program.core.tokens import token_hash
from program.messaging import emails, outbox

#: where an invitation link points (the public page of ``views.invitations``)
ACCEPT_PATH = "/invitation/"
#: participants who may be invited: those taking part in the study
INVITABLE_STATUSES = ("randomised", "active")


class InvitationError(ValueError):
    """An invitation that cannot be made, sent or revoked; the message says why."""


def _days() -> int:
    return int(current_app.config.get("INVITATION_DAYS", 7))


def pending_for(email: str) -> Invitation | None:
    """The open invitation to this address, if any (an expired one counts until revoked)."""
    return db.session.scalar(select(Invitation).where(
        Invitation.email == email.strip().lower(), Invitation.used_at.is_(None),
        Invitation.revoked_at.is_(None)).limit(1))


def problems(email: str, role: str, locale: str, *, staff: bool = True) -> list[str]:
    """What is wrong with inviting ``email`` as ``role`` in ``locale`` (empty: nothing)."""
    found = []
    bad_email = email_problem(email)
    if bad_email:
        found.append(bad_email)
    if role not in Role or (staff and role == Role.PARTICIPANT):
        found.append(_("Unknown role: %(role)s.", role=role))
    if locale not in Locale:
        found.append(_("Unknown language: %(language)s.", language=locale))
    if not bad_email:
        if find_user(email) is not None:
            found.append(_("An account with this email address exists already."))
        elif pending_for(email) is not None:
            found.append(_("An invitation to this email address is pending already."))
    return found


def _create(email: str, name: str, role: str, locale: str, invited_by: User | None,
            participant_id: int | None = None) -> Invitation:
    """Add the invitation and queue its email (inside the caller's write transaction)."""
    invitation = Invitation(email=email.strip().lower(), display_name=(name or "").strip(),
                            role=role, locale=locale, participant_id=participant_id,
                            invited_by_id=getattr(invited_by, "id", None), token_hash="")
    token = _new_link(invitation)
    db.session.add(invitation)
    db.session.flush()
    _queue_email(invitation, token, invited_by)
    audit.record(AuditAction.INVITATION_SENT, invitation, actor=invited_by, role=role,
                 participant_id=participant_id)
    return invitation


def _new_link(invitation: Invitation) -> str:
    token = secrets.token_urlsafe(32)
    now = utcnow()
    invitation.token_hash = token_hash(token)
    invitation.sent_at = now
    invitation.expires_at = now + timedelta(days=_days())
    return token


def _dedup_prefix(invitation: Invitation) -> str:
    return f"invitation:{invitation.id}:"


def _queue_email(invitation: Invitation, token: str, invited_by: User | None) -> None:
    link = emails.base_url() + ACCEPT_PATH + token
    outbox.enqueue_email_to(
        invitation.email, invitation.locale,
        _dedup_prefix(invitation) + invitation.token_hash[:16], "invitation", "invitation",
        link=link, days=_days(), invitee=invitation.display_name, role=invitation.role,
        inviter=getattr(invited_by, "display_name", None),
        participant=invitation.participant_id is not None)


def _cancel_queued(invitation: Invitation) -> None:
    """An unsent email of an earlier link is not sent any more, and its link is dropped."""
    db.session.execute(update(OutboxMessage)
                       .where(OutboxMessage.dedup_key.startswith(_dedup_prefix(invitation)),
                              OutboxMessage.status.in_(("pending", "failed")))
                       .values(status="cancelled", body_text="", body_html=None))


class AlreadyInvited(InvitationError):
    """An open invitation to the address (or the participant) exists: a second click, or two
    admins at once. The database holds it (partial unique indexes of ``models.invitations``),
    so two requests that both pass the check cannot both write."""


def _pending_already() -> AlreadyInvited:
    return AlreadyInvited(_("An invitation to this email address is pending already."))


@contextmanager
def _one_open_invitation(error: Callable[[], AlreadyInvited] = _pending_already):
    """A write that adds invitations; the unique index's refusal becomes ``AlreadyInvited``."""
    try:
        with write_transaction():
            yield
    except IntegrityError as exc:
        db.session.rollback()
        if not is_unique_violation(exc):
            raise
        raise error() from exc


def invite(email: str, name: str, role: str, locale: str, invited_by: User) -> Invitation:
    """Invite a staff member; raises ``InvitationError`` naming the first problem
    (``AlreadyInvited`` when an invitation to the address is open)."""
    with _one_open_invitation():
        _check(email, role, locale)
        invitation = _create(email, name, role, locale, invited_by)
    return invitation


def _check(email: str, role: str, locale: str, *, staff: bool = True) -> None:
    """Raise the first problem; ``AlreadyInvited`` when an invitation to the address is open
    (looked up again: another request may have committed it between two reads)."""
    found = problems(email, role, locale, staff=staff)
    if found and find_user(email) is None and pending_for(email) is not None:
        raise _pending_already()
    if found:
        raise InvitationError(found[0])


def invite_many(rows: list[dict], invited_by: User) -> list[Invitation]:
    """Invite every row (``email``, ``name``, ``role``, ``locale``) in one transaction: all or
    nothing. Rows must have been checked (``bulk.check``); a problem found now raises."""
    with _one_open_invitation():
        made = []
        for row in rows:
            found = problems(row["email"], row["role"], row["locale"])
            if found:
                raise InvitationError(found[0])
            made.append(_create(row["email"], row["name"], row["role"], row["locale"],
                                invited_by))
    return made


def all_pending(rows: list[dict]) -> bool:
    """Every row's address has an open invitation with the row's role (a list sent twice)."""
    return bool(rows) and all(
        (found := pending_for(row["email"])) is not None and found.role == row["role"]
        for row in rows)


def invite_participant(participant: Participant, email: str, locale: str,
                       invited_by: User | None) -> Invitation:
    """Invite an enrolled participant without an account to create one, in their language;
    accepting links the new account to ``participant`` (their pseudonymous record)."""
    with _one_open_invitation(_participant_pending):
        row = db.session.get(Participant, participant.id, populate_existing=True)
        if row.user_id is not None:
            raise InvitationError(_("This participant has an account already."))
        if row.status not in INVITABLE_STATUSES or row.data_removal_requested_at is not None:
            raise InvitationError(_("Only enrolled participants can be invited."))
        for earlier in db.session.scalars(select(Invitation).where(
                Invitation.participant_id == row.id, Invitation.used_at.is_(None),
                Invitation.revoked_at.is_(None))):
            if earlier.expires_at > utcnow():
                raise _participant_pending()
            earlier.revoked_at = utcnow()  # expired: replaced by the new one
        _check(email, Role.PARTICIPANT, locale, staff=False)
        invitation = _create(email, "", Role.PARTICIPANT, locale, invited_by,
                             participant_id=row.id)
    return invitation


def _participant_pending() -> AlreadyInvited:
    return AlreadyInvited(_("An invitation to this participant is pending already."))


class AlreadyDone(InvitationError):
    """The resend or revoke asked for is done already (a second click); nothing changed."""


def _open(invitation_id: int) -> Invitation:
    """The invitation read afresh under a row lock (two clicks decide in turn), if open."""
    invitation = db.session.scalar(select(Invitation).where(Invitation.id == invitation_id)
                                   .with_for_update()
                                   .execution_options(populate_existing=True))
    if invitation is not None and invitation.revoked_at is not None:
        raise AlreadyDone(_("The invitation to %(email)s is revoked already.",
                            email=invitation.email))
    if invitation is None or not invitation.pending:
        raise InvitationError(_("This invitation is no longer open."))
    return invitation


def resend(invitation_id: int, actor: User, *, replacing: str | None = None) -> Invitation:
    """Send a new link (valid for the full period again); the old link stops working.

    ``replacing`` is the link the page showed (``link_stamp``): when another link was sent
    since, this click's new link is sent already and nothing more is sent."""
    with write_transaction():
        invitation = _open(invitation_id)
        if replacing is not None and replacing != link_stamp(invitation):
            raise AlreadyDone(_("A new link was sent to %(email)s already.",
                                email=invitation.email))
        _cancel_queued(invitation)
        token = _new_link(invitation)
        inviter = db.session.get(User, invitation.invited_by_id or actor.id)
        _queue_email(invitation, token, inviter)
        audit.record(AuditAction.INVITATION_RESENT, invitation, actor=actor)
    return invitation


def revoke(invitation_id: int, actor: User) -> Invitation:
    """Withdraw an invitation: its link stops working and an unsent email is not sent."""
    with write_transaction():
        invitation = _open(invitation_id)
        invitation.revoked_at = utcnow()
        _cancel_queued(invitation)
        audit.record(AuditAction.INVITATION_REVOKED, invitation, actor=actor)
    return invitation


def link_stamp(invitation: Invitation) -> str:
    """Names the invitation's current link without revealing it (when it was sent)."""
    return invitation.sent_at.astimezone(UTC).isoformat()


def spent(token: str) -> bool:
    """The link was accepted already (a second click on its form)."""
    if not token or len(token) > 100:
        return False
    return db.session.scalar(select(Invitation.id).where(
        Invitation.token_hash == token_hash(token), Invitation.used_at.is_not(None))) is not None


def find_valid(token: str) -> Invitation | None:
    """The open, unexpired invitation of a link; None for anything else."""
    if not token or len(token) > 100:
        return None
    invitation = db.session.scalar(select(Invitation).where(
        Invitation.token_hash == token_hash(token)))
    if invitation is None or not invitation.pending or invitation.expires_at <= utcnow():
        return None
    return invitation


def accept(token: str, display_name: str, password: str) -> User | None:
    """Create the invited account, once; returns it signed in to this browser (its
    ``sign_in_token`` set), or None when the link is not valid (any more)."""
    if password_problem(password):
        raise InvitationError(password_problem(password))
    with write_transaction():
        invitation = find_valid(token)
        if invitation is None:
            return None
        now = utcnow()
        claimed = db.session.execute(
            update(Invitation).where(Invitation.id == invitation.id,
                                     Invitation.used_at.is_(None),
                                     Invitation.revoked_at.is_(None))
            .values(used_at=now)).rowcount
        if claimed != 1 or find_user(invitation.email) is not None:
            return None
        name = (display_name or "").strip() or invitation.display_name
        user = create_user(invitation.email, name or invitation.email.split("@")[0],
                           invitation.role, password, locale=invitation.locale,
                           last_sign_in_at=now)
        db.session.flush()
        invitation.user_id = user.id
        if invitation.participant_id is not None:
            participant = db.session.get(Participant, invitation.participant_id)
            if participant.user_id is not None:  # linked meanwhile: this link is spent
                raise InvitationError(_("This participant has an account already."))
            participant.user_id = user.id
        audit.record(AuditAction.INVITATION_ACCEPTED, invitation, actor=user, role=user.role)
        audit.record(AuditAction.SIGN_IN, user, actor=user, via="invitation")
        start_session(user)
    return user


def pending() -> list[tuple[Invitation, str | None]]:
    """Open staff invitations, newest first, each with the inviter's name."""
    return list(db.session.execute(
        select(Invitation, User.display_name)
        .outerjoin(User, User.id == Invitation.invited_by_id)
        .where(Invitation.used_at.is_(None), Invitation.revoked_at.is_(None),
               Invitation.participant_id.is_(None))
        .order_by(Invitation.id.desc())).tuples())


def for_participant(participant_id: int) -> Invitation | None:
    """The latest invitation of a participant (to show on their record)."""
    return db.session.scalar(select(Invitation).where(Invitation.participant_id == participant_id)
                             .order_by(Invitation.id.desc()).limit(1))
