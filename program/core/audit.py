"""Recording audit entries for sign-ins and privileged actions."""

from __future__ import annotations

from flask import has_request_context, request
from flask_login import current_user

from models import AuditEntry, db


def record(action: str, obj=None, *, actor=None, **details) -> AuditEntry:
    """Add an audit entry to the current transaction (committed with the change it records).

    ``details`` must never carry health data or free text written by participants.
    """
    if actor is None and has_request_context() and current_user.is_authenticated:
        actor = current_user
    entry = AuditEntry(
        actor_id=getattr(actor, "id", None),
        action=action,
        object_type=type(obj).__name__ if obj is not None else None,
        object_id=getattr(obj, "id", None),
        details=details,
        ip=request.remote_addr if has_request_context() else None,
    )
    db.session.add(entry)
    return entry
