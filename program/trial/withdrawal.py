"""Withdrawal is three things (stop sessions, stop contact, leave the study), loss to
follow-up, and a request for data removal."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from models import (
    GroupMembership,
    OutboxMessage,
    Participant,
    db,
    utcnow,
    write_transaction,
)
from models.studies import WithdrawalKind
from program.core import audit
from program.core.audit import AuditAction
from program.trial.records import TrialError, participant_for_update

#: the three kinds of withdrawal, each including the ones before it
WITHDRAWAL_ORDER = {kind: i for i, kind in enumerate(WithdrawalKind)}


def withdraw(participant_id: int, kind: str, *, reason: str, on: date, actor=None) -> None:
    """Record a withdrawal: stop the sessions, stop all contact, or leave the study.

    Stopping sessions keeps the person in the assessments (intent-to-treat) and takes them out
    of their groups; stopping contact also cancels every pending message; leaving the study
    ends data collection. A withdrawal can later be widened, never narrowed.
    """
    if kind not in WITHDRAWAL_ORDER:
        raise TrialError(f"unknown withdrawal kind {kind!r}")
    with write_transaction():
        participant = participant_for_update(participant_id)
        previous = participant.withdrawal_kind
        if previous is not None and WITHDRAWAL_ORDER[kind] < WITHDRAWAL_ORDER[previous]:
            raise TrialError("a withdrawal can be widened but not narrowed")
        if previous == kind:
            return  # already withdrawn this way (a repeated form changes nothing)
        _apply_withdrawal(participant, kind, on)
        participant.withdrawal_reason = (reason or "").strip()[:200] or None
        audit.record(AuditAction.PARTICIPANT_WITHDRAWN, participant, actor=actor, kind=kind)


def _apply_withdrawal(participant: Participant, kind: str, on: date) -> None:
    participant.withdrawal_kind = kind
    participant.withdrawn_on = on
    if kind != "stop_sessions":
        participant.status = "withdrawn"
    if participant.user_id is None:
        return
    for membership in db.session.scalars(select(GroupMembership).where(
            GroupMembership.user_id == participant.user_id, GroupMembership.role == "member")):
        db.session.delete(membership)
    if kind != "stop_sessions":
        for message in db.session.scalars(select(OutboxMessage).where(
                OutboxMessage.recipient_id == participant.user_id,
                OutboxMessage.status == "pending")):
            message.status = "cancelled"


def mark_lost(participant_id: int, *, reason: str, on: date, actor=None) -> None:
    """Record a person lost to follow-up (no contact possible), with the reason known."""
    with write_transaction():
        participant = participant_for_update(participant_id)
        participant.status = "lost"
        participant.withdrawal_reason = (reason or "").strip()[:200] or None
        participant.withdrawn_on = on
        audit.record(AuditAction.PARTICIPANT_LOST, participant, actor=actor)


def request_data_removal(participant_id: int, *, on: date, actor=None) -> None:
    """Record that a person asked for their data to be removed (an admin processes it).

    Asking for removal means leaving the study, so the person is withdrawn if not already.
    """
    with write_transaction():
        participant = participant_for_update(participant_id)
        if (participant.data_removal_requested_at is not None
                and participant.withdrawal_kind == "leave_study"):
            return  # already requested
        if participant.data_removal_requested_at is None:
            participant.data_removal_requested_at = utcnow()
        if participant.withdrawal_kind != "leave_study":
            _apply_withdrawal(participant, "leave_study", participant.withdrawn_on or on)
        audit.record(AuditAction.REMOVAL_REQUESTED, participant, actor=actor)
