"""Data removal: every table that refers to a participant or a user says how it is erased.

``HANDLERS`` maps a table to the function that erases one person's rows in it; ``KEPT`` maps a
table to the reason its references stay. A test fails when a table with a participant or user
foreign key appears in neither, so a new table cannot silently keep someone's data.

What survives a removal is what the flow diagram needs: the pseudonymous participant row with
its milestones (screened, allocated arm, withdrawn, removal asked and done) and the used
allocation slot. Identity and contact data, answers, scores, practice logs, attendance, group
memberships and messages go; posts stay in the group's conversation as "a former member".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update

from models import (
    AdverseEvent,
    AssessmentInvitation,
    Attendance,
    ContactLogEntry,
    GroupMembership,
    Invitation,
    NotificationPreference,
    OutboxMessage,
    Participant,
    PasswordResetToken,
    PostFlag,
    PracticeLog,
    PushSubscription,
    RecoveryCode,
    Response,
    SafetyAlert,
    Score,
    Screening,
    SessionProgress,
    SignInSession,
    User,
    db,
    utcnow,
    write_transaction,
)
from models.applications import OnlineApplication
from models.base import checkpoint_after_erasure
from models.people import new_token
from program.core import audit
from program.core.audit import AuditAction
from program.groups import posting


@dataclass(frozen=True)
class Removal:
    participant: Participant
    user_id: int | None
    now: datetime


HANDLERS: dict[str, Callable[[Removal], None]] = {}

KEPT: dict[str, str] = {
    "allocation_slots": "the used slot is the allocation the flow diagram counts; it names only "
                        "the pseudonymous record",
    "audit_entries": "append-only record of who did what; details never hold health data, and "
                     "the actor is the erased account",
    "study_staff": "staff accounts only",
    "cohort_facilitators": "staff accounts only",
    "meetings": "refers to the staff member who recorded the meeting",
    "practice_recordings": "a study's licensed audio; refers to the staff member who uploaded it",
}


def handles(table: str):
    """Register the erase handler of a table (handlers run in registration order)."""

    def register(fn: Callable[[Removal], None]) -> Callable[[Removal], None]:
        HANDLERS[table] = fn
        return fn

    return register


def _by_participant(model):
    def erase(r: Removal) -> None:
        db.session.execute(delete(model).where(model.participant_id == r.participant.id))

    return erase


handles("scores")(_by_participant(Score))
handles("responses")(_by_participant(Response))
handles("screenings")(_by_participant(Screening))
handles("assessment_invitations")(_by_participant(AssessmentInvitation))
handles("practice_logs")(_by_participant(PracticeLog))
handles("session_progress")(_by_participant(SessionProgress))
handles("attendance")(_by_participant(Attendance))
#: the contact address an online applicant gave, their link and their copy of the consent
handles("online_applications")(_by_participant(OnlineApplication))
#: calls, emails and messages with the person, and what was said
handles("contact_log_entries")(_by_participant(ContactLogEntry))


@handles("adverse_events")
def _adverse_events(r: Removal) -> None:
    # The register keeps that an event happened (safety reporting); its narrative goes.
    db.session.execute(
        update(AdverseEvent).where(AdverseEvent.participant_id == r.participant.id)
        .values(description="(removed at the participant's request)", action_taken=None,
                alert_id=None))


handles("safety_alerts")(_by_participant(SafetyAlert))


@handles("group_memberships")
def _memberships(r: Removal) -> None:
    if r.user_id is not None:
        db.session.execute(delete(GroupMembership).where(GroupMembership.user_id == r.user_id))


@handles("posts")
def _posts(r: Removal) -> None:
    if r.user_id is not None:
        posting.mark_author_removed(r.user_id)


@handles("post_flags")
def _flags(r: Removal) -> None:
    if r.user_id is not None:
        db.session.execute(update(PostFlag).where(PostFlag.user_id == r.user_id)
                           .values(user_id=None, reason=None))


@handles("outbox_messages")
def _outbox(r: Removal) -> None:
    if r.user_id is None:
        return
    db.session.execute(update(OutboxMessage)
                       .where(OutboxMessage.recipient_id == r.user_id,
                              OutboxMessage.status.in_(("pending", "failed")))
                       .values(status="cancelled"))
    db.session.execute(update(OutboxMessage).where(OutboxMessage.recipient_id == r.user_id)
                       .values(subject="(removed)", body_text=""))


@handles("invitations")
def _invitations(r: Removal) -> None:
    """The invitation's address goes, with the email that carried it."""
    for invitation in db.session.scalars(select(Invitation).where(
            Invitation.participant_id == r.participant.id)):
        emails = OutboxMessage.dedup_key.startswith(f"invitation:{invitation.id}:")
        db.session.execute(update(OutboxMessage)
                           .where(emails, OutboxMessage.status.in_(("pending", "failed")))
                           .values(status="cancelled"))
        db.session.execute(update(OutboxMessage).where(emails)
                           .values(subject="(removed)", body_text="", body_html=None,
                                   recipient_email=None))
    db.session.execute(delete(Invitation).where(Invitation.participant_id == r.participant.id))


@handles("password_reset_tokens")
def _reset_tokens(r: Removal) -> None:
    if r.user_id is not None:
        db.session.execute(delete(PasswordResetToken)
                           .where(PasswordResetToken.user_id == r.user_id))


@handles("sign_in_sessions")
def _sign_in_sessions(r: Removal) -> None:
    # When and how often the person signed in goes too (the account is signed out anyway).
    if r.user_id is not None:
        db.session.execute(delete(SignInSession).where(SignInSession.user_id == r.user_id))


@handles("recovery_codes")
def _recovery_codes(r: Removal) -> None:
    if r.user_id is not None:
        db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == r.user_id))


@handles("push_subscriptions")
def _push_subscriptions(r: Removal) -> None:
    # The browsers the person asked to be notified on: nothing more is sent to them.
    if r.user_id is not None:
        db.session.execute(delete(PushSubscription).where(PushSubscription.user_id == r.user_id))


@handles("notification_preferences")
def _notification_preferences(r: Removal) -> None:
    if r.user_id is not None:
        db.session.execute(delete(NotificationPreference)
                           .where(NotificationPreference.user_id == r.user_id))


@handles("participants")
def _participant(r: Removal) -> None:
    p = r.participant
    p.user_id = None
    p.gender = None
    p.birth_year = None
    p.baseline = {}
    p.withdrawal_reason = None
    p.data_removal_requested_at = p.data_removal_requested_at or r.now
    p.data_removed_at = r.now


@handles("users")
def _user(r: Removal) -> None:
    user = db.session.get(User, r.user_id) if r.user_id is not None else None
    if user is None or user.role != "participant":
        return
    user.email = f"removed-{user.id}@removed.invalid"
    user.display_name = "Former participant"
    user.password_hash = "!"  # matches no password
    user.active = False
    user.session_version += 1
    user.calendar_token = new_token()
    user.locale = None
    user.timezone = "UTC"
    user.last_sign_in_at = None
    user.two_factor_secret = None
    user.two_factor_enabled_at = None
    user.two_factor_last_step = None
    user.quiet_start = user.quiet_end = None
    user.practice_reminder_days = user.practice_reminder_time = None


def remove_participant_data(participant_id: int, *, actor=None, now: datetime | None = None
                            ) -> bool:
    """Erase one person's data from every table; False when it was already done."""
    now = now or utcnow()
    with write_transaction():
        participant = db.session.scalar(
            select(Participant).where(Participant.id == participant_id).with_for_update()
            .execution_options(populate_existing=True))
        if participant is None:
            raise LookupError("no such participant")
        if participant.data_removed_at is not None:
            return False
        removal = Removal(participant=participant, user_id=participant.user_id, now=now)
        for handler in HANDLERS.values():
            handler(removal)
        audit.record(AuditAction.DATA_REMOVED, participant, actor=actor)
    checkpoint_after_erasure()
    return True


def pending_removals() -> list[Participant]:
    """Removal requests not yet processed, oldest first."""
    return list(db.session.scalars(
        select(Participant).where(Participant.data_removal_requested_at.is_not(None),
                                  Participant.data_removed_at.is_(None))
        .order_by(Participant.data_removal_requested_at)))
