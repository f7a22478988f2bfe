"""The outbox as administrators read it: recent messages, newest first, a page at a time.

Reading only. A sent message's text is normally gone (see :mod:`program.messaging.sending`):
the page then shows who was sent what kind of message and when, not what it said.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from models import OutboxMessage, User, db
from models.outbox import OutboxStatus

PER_PAGE = 50


@dataclass(frozen=True)
class Line:
    message: OutboxMessage
    #: the account's address, or the invited address for someone without an account yet
    recipient: str | None


@dataclass(frozen=True)
class Page:
    lines: list[Line]
    number: int
    total: int
    per_page: int = PER_PAGE

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


def _recipient():
    return func.coalesce(User.email, OutboxMessage.recipient_email)


def recent(status: str | None = None, number: int = 1, per_page: int = PER_PAGE) -> Page:
    """Messages newest first (``status`` one of :class:`OutboxStatus`, else all); page
    ``number`` counts from 1 and is brought into range."""
    where = [OutboxMessage.status == status] if status in OutboxStatus else []
    total = db.session.scalar(select(func.count()).select_from(OutboxMessage).where(*where))
    number = min(max(1, number), max(1, -(-total // per_page)))
    rows = db.session.execute(
        select(OutboxMessage, _recipient())
        .outerjoin(User, User.id == OutboxMessage.recipient_id)
        .where(*where)
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
        .offset((number - 1) * per_page).limit(per_page)).all()
    return Page([Line(message, recipient) for message, recipient in rows], number, total,
                per_page)


def one(message_id: int) -> Line | None:
    """One message with its recipient's address, or None."""
    row = db.session.execute(
        select(OutboxMessage, _recipient())
        .outerjoin(User, User.id == OutboxMessage.recipient_id)
        .where(OutboxMessage.id == message_id)).first()
    return Line(*row) if row else None
