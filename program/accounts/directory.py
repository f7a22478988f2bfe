"""The accounts an admin looks after: creating one (``flask admin create``), finding them by
name or email, role and status, and changing a role."""

from __future__ import annotations

import re

from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from models import User, db, write_transaction
from models.people import Role
from program.accounts.passwords import MIN_PASSWORD_LENGTH, create_user, find_user
from program.accounts.sessions import end_all_sessions
from program.core import audit
from program.core.audit import AuditAction

#: an address with one @, no spaces, and a dot in its domain (what WTForms' Email accepts
#: is stricter; this is the check for CSV rows and the command line)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_PASSWORD_LENGTH = 256


class AccountError(ValueError):
    """A request about an account that cannot be carried out; the message says why."""


def email_problem(email: str) -> str | None:
    email = (email or "").strip()
    if not email or len(email) > 254 or not EMAIL.match(email):
        return _("This is not an email address.")
    return None


def password_problem(password: str) -> str | None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        return _("Use at least %(n)d characters; long passphrases are welcome.",
                 n=MIN_PASSWORD_LENGTH)
    if len(password) > MAX_PASSWORD_LENGTH:
        return _("Use at most %(n)d characters.", n=MAX_PASSWORD_LENGTH)
    return None


def new_account_problem(email: str, role: str) -> str | None:
    """Why an account for ``email`` with ``role`` cannot be made (None: it can)."""
    problem = (email_problem(email)
               or (_("Unknown role: %(role)s.", role=role) if role not in Role else None))
    if problem is None and find_user(email) is not None:
        problem = _("An account with this email address exists already.")
    return problem


def create_account(email: str, display_name: str, role: str, password: str,
                   actor: User | None = None) -> User:
    """Create an account (the first admin's, from the command line); refuses an address in
    use, an unknown role and a weak password with an ``AccountError``."""
    problem = new_account_problem(email, role) or password_problem(password)
    if problem:
        raise AccountError(problem)
    with write_transaction():
        user = create_user(email, (display_name or "").strip() or email.split("@")[0], role,
                           password)
        db.session.flush()
        audit.record(AuditAction.ACCOUNT_CREATED, user, actor=actor, role=role)
    return user


def find_accounts(query: str = "", role: str | None = None,
                  active: bool | None = None) -> list[User]:
    """Accounts whose name or email contains ``query``, of ``role``, active or disabled."""
    statement = select(User).order_by(User.role, User.email)
    text = (query or "").strip().lower()[:254]
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        statement = statement.where(or_(User.email.like(pattern, escape="\\"),
                                        func.lower(User.display_name).like(pattern, escape="\\")))
    if role in Role:
        statement = statement.where(User.role == role)
    if active is not None:
        statement = statement.where(User.active.is_(active))
    return list(db.session.scalars(statement))


def change_role(user_id: int, role: str, actor: User) -> User:
    """Give an account another role; its sessions end, so the new role applies at once."""
    if role not in Role:
        raise AccountError(_("Unknown role: %(role)s.", role=role))
    if user_id == actor.id:
        raise AccountError(_("Ask another administrator to change your own role."))
    with write_transaction():
        user = db.session.get(User, user_id)
        if user is None:
            raise AccountError(_("There is no such account."))
        if Role.PARTICIPANT in (user.role, role) and user.role != role:
            raise AccountError(_("A participant's account belongs to their study record: it "
                                 "cannot take a staff role, nor a staff account a "
                                 "participant's."))
        if user.role == role:
            return user
        before, user.role = user.role, role
        end_all_sessions(user, "role_changed")
        audit.record(AuditAction.ROLE_CHANGED, user, actor=actor, before=before, after=role)
    return user
