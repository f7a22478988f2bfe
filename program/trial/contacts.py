"""The contact log of a study's team: calls, emails and messages with a participant, each with
its outcome and next step, shown merged with the invitations and reminders Hearth sent them
(the outbox), and exported with pseudonymous codes only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from sqlalchemy import or_, select

from analysis.exports import write_csv
from models import Invitation, OutboxMessage, Participant, Study, User, db, write_transaction
from models.contacts import ContactKind, ContactLogEntry
from program.core import audit
from program.core.audit import AuditAction

#: the sent messages that are contacts: invitations and reminders (not digests or replies)
AUTOMATIC_KINDS = ("invitation", "assessment_invitation", "assessment_reminder",
                   "meeting_reminder", "practice_reminder", "release_notice")
EXPORT_COLUMNS = ("participant_id", "contacted_at", "source", "kind", "outcome", "next_step",
                  "staff_id")


@dataclass(frozen=True)
class Contact:
    """What a staff member logged."""

    kind: str
    contacted_at: datetime
    outcome: str
    next_step: str | None = None


@dataclass(frozen=True)
class ContactLine:
    """One line of a participant's contact history, logged by staff or sent by Hearth."""

    contacted_at: datetime
    #: "logged" (by the study team) or "sent" (an invitation or reminder from the outbox)
    source: str
    kind: str
    outcome: str
    next_step: str | None
    by: User | None
    participant_code: str = ""


def log_contact(participant: Participant, contact: Contact, by: User) -> ContactLogEntry:
    """Add a contact to the participant's log (audited; the audit keeps only the kind)."""
    if contact.kind not in ContactKind:
        raise ValueError(f"unknown contact kind {contact.kind!r}")
    with write_transaction():
        row = ContactLogEntry(participant_id=participant.id, kind=contact.kind,
                              contacted_at=contact.contacted_at, outcome=contact.outcome,
                              next_step=contact.next_step, by_id=by.id)
        db.session.add(row)
        db.session.flush()
        audit.record(AuditAction.CONTACT_LOGGED, row, actor=by, participant=participant.code,
                     kind=contact.kind)
    return row


def _invitation_of(message: OutboxMessage) -> int | None:
    """The invitation id of an invitation email (dedup key ``invitation:{id}:...``)."""
    parts = message.dedup_key.split(":")
    return int(parts[1]) if len(parts) > 2 and parts[1].isdigit() else None


def _sent(participants: list[Participant]) -> list[ContactLine]:
    """Invitations and reminders sent to these participants' accounts or invitation links."""
    by_user = {p.user_id: p.code for p in participants if p.user_id is not None}
    codes = {p.id: p.code for p in participants}
    invitations = {i: codes[pid] for i, pid in db.session.execute(
        select(Invitation.id, Invitation.participant_id).where(
            Invitation.participant_id.in_(list(codes))))}
    messages = db.session.scalars(select(OutboxMessage).where(
        or_(OutboxMessage.recipient_id.in_(list(by_user)),
            OutboxMessage.recipient_id.is_(None)
            & OutboxMessage.dedup_key.startswith("invitation:")),
        OutboxMessage.status == "sent", OutboxMessage.kind.in_(AUTOMATIC_KINDS)))
    lines = []
    for message in messages:
        code = by_user.get(message.recipient_id) or invitations.get(_invitation_of(message))
        if code is not None:
            lines.append(ContactLine(message.sent_at or message.created_at, "sent",
                                     message.kind, message.subject, None, None, code))
    return lines


def _logged(participants: list[Participant]) -> list[ContactLine]:
    codes = {p.id: p.code for p in participants}
    rows = db.session.scalars(select(ContactLogEntry).where(
        ContactLogEntry.participant_id.in_(list(codes))))
    return [ContactLine(r.contacted_at, "logged", r.kind, r.outcome, r.next_step, r.by,
                        codes[r.participant_id]) for r in rows]


def contact_history(participants: list[Participant]) -> list[ContactLine]:
    """Logged contacts and sent invitations and reminders, newest first."""
    if not participants:
        return []
    lines = _logged(participants) + _sent(participants)
    return sorted(lines, key=lambda line: (line.contacted_at, line.source), reverse=True)


def export_csv(study: Study, by: User) -> bytes:
    """The study's contact log as CSV: pseudonymous codes and staff ids, never names or
    addresses; a sent message appears by its kind, not its text; cells that a spreadsheet
    would run as a formula are neutralised (audited)."""
    participants = list(db.session.scalars(
        select(Participant).where(Participant.study_id == study.id).order_by(Participant.code)))
    rows = [(line.participant_code, line.contacted_at.isoformat(), line.source, line.kind,
             line.outcome if line.source == "logged" else "", line.next_step or "",
             line.by.id if line.by else None)
            for line in sorted(contact_history(participants),
                               key=lambda line: (line.participant_code, line.contacted_at))]
    frame = pd.DataFrame(rows, columns=list(EXPORT_COLUMNS))
    frame["staff_id"] = frame["staff_id"].astype("Int64")
    with write_transaction():
        audit.record(AuditAction.CONTACT_LOG_EXPORTED, study, actor=by)
    return write_csv(frame)
