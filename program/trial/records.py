"""A study's participant records: looking them up and locking one for a decision."""

from __future__ import annotations

from sqlalchemy import select

from models import (
    Participant,
    db,
)


class TrialError(ValueError):
    """An operation is not allowed in the participant's or study's current state."""


def study_participants(study_id: int) -> list[Participant]:
    """A study's participant records in code order (exports and the researcher list)."""
    return list(db.session.scalars(
        select(Participant).where(Participant.study_id == study_id).order_by(Participant.code)))


def participant_for_update(participant_id: int) -> Participant:
    """The participant's row, locked and read afresh for a decision.

    The lock is taken by the query (``FOR UPDATE`` on PostgreSQL; on SQLite the BEGIN
    IMMEDIATE of ``write_transaction``), and ``populate_existing`` overwrites any copy the
    session already holds (the page loaded it before the lock), so every check reads what is
    stored now and not what another request has since changed.
    """
    participant = db.session.scalar(
        select(Participant).where(Participant.id == participant_id).with_for_update()
        .execution_options(populate_existing=True))
    if participant is None:
        raise TrialError("no such participant")
    return participant
