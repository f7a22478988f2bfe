"""Two-factor sign-in: TOTP (RFC 6238) secrets, recovery codes, the half-signed-in state and the
staff policy.

The secret is stored encrypted (Fernet, with a key derived from ``TWO_FACTOR_KEY`` or else
``SECRET_KEY``) and shown only while enrolling. A code is accepted once: the last accepted time
step is kept per user and moved forward in one conditional UPDATE, so a replayed code (or two
requests racing with the same code) is refused. Recovery codes are stored as keyed hashes and
spent on use. Nothing here logs a code or a secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from datetime import datetime

import pyotp
import segno
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app, session
from sqlalchemy import delete, func, or_, select, update

from models import RecoveryCode, SignInSession, StudyStaff, User, db, utcnow, write_transaction
from program.accounts.sessions import end_all_sessions
from program.core import audit
from program.core.audit import AuditAction

#: seconds per TOTP time step, and how many steps either side of now a code may come from
STEP_SECONDS = 30
DRIFT_STEPS = 1
RECOVERY_CODE_COUNT = 10
#: letters and digits that cannot be mistaken for one another (no 0/o, 1/l/i)
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_RECOVERY_LENGTH = 10
#: how long the half-signed-in state (password right, code not yet given) lasts
PENDING_SECONDS = 300
PENDING_KEY = "two_factor_pending"

POLICIES = ("required", "optional")
#: roles that must use two-factor sign-in when STAFF_TWO_FACTOR is "required"; facilitators
#: must too when they are a study's clinician (they receive safety alerts)
REQUIRED_ROLES = ("researcher", "admin")


# --- keys -----------------------------------------------------------------------------------

def _derived_key(purpose: bytes) -> bytes:
    material = current_app.config.get("TWO_FACTOR_KEY") or current_app.config["SECRET_KEY"]
    if isinstance(material, str):
        material = material.encode()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=b"hearth two-factor " + purpose).derive(material)


def _fernet() -> Fernet:
    return Fernet(base64.urlsafe_b64encode(_derived_key(b"secret encryption")))


def encrypt_secret(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def decrypt_secret(stored: str | None) -> str | None:
    """The plain secret, or None when there is none or it cannot be decrypted (a changed key)."""
    if not stored:
        return None
    try:
        return _fernet().decrypt(stored.encode()).decode()
    except (InvalidToken, ValueError):
        return None


# --- TOTP -----------------------------------------------------------------------------------

def current_step(now: datetime | None = None) -> int:
    return int((now or utcnow()).timestamp()) // STEP_SECONDS


def _normalise(code: str | None) -> str:
    return re.sub(r"[\s-]", "", code or "").lower()


def matching_step(secret: str, code: str, now: datetime | None = None) -> int | None:
    """The time step (now, or one either side for clock drift) whose code this is, else None."""
    code = _normalise(code)
    if not re.fullmatch(r"[0-9]{6}", code):  # ASCII only: compare_digest refuses other text
        return None
    totp = pyotp.TOTP(secret)
    now_step = current_step(now)
    found = None
    for step in range(now_step - DRIFT_STEPS, now_step + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            found = step
    return found


def _accept_step(user_id: int, step: int) -> bool:
    """Move the user's last accepted step forward to ``step``; False if it was already there
    (the code was used before). Runs inside the caller's write transaction."""
    moved = db.session.execute(
        update(User).where(User.id == user_id,
                           or_(User.two_factor_last_step.is_(None),
                               User.two_factor_last_step < step))
        .values(two_factor_last_step=step).execution_options(synchronize_session=False))
    return moved.rowcount == 1


def new_secret() -> str:
    return pyotp.random_base32()  # 160 bits, as RFC 4226 recommends


def provisioning_uri(user: User, secret: str) -> str:
    issuer = current_app.config.get("TWO_FACTOR_ISSUER") or "Hearth"
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=issuer)


def qr_data_uri(uri: str) -> str:
    """An SVG QR code of the enrolment URI, as a data: URI for an <img> (allowed by the CSP)."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


def grouped(secret: str) -> str:
    """The secret in groups of four, for typing into an app by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def start_enrolment(user: User) -> None:
    """Store a new, not yet confirmed secret (inside a write transaction)."""
    if user.two_factor_enabled_at is not None:
        raise ValueError("two-factor sign-in is already on")
    user.two_factor_secret = encrypt_secret(new_secret())
    user.two_factor_last_step = None


def pending_secret(user: User) -> str | None:
    """The secret being enrolled (shown on the enrolment page), None once enabled."""
    if user.two_factor_enabled_at is not None:
        return None
    return decrypt_secret(user.two_factor_secret)


def confirm_enrolment(user: User, code: str) -> list[str] | None:
    """Turn two-factor sign-in on if ``code`` is a current code of the pending secret; returns
    the new recovery codes to show once (inside a write transaction)."""
    secret = pending_secret(user)
    step = matching_step(secret, code) if secret else None
    if step is None or not _accept_step(user.id, step):
        return None
    user.two_factor_enabled_at = utcnow()
    return replace_recovery_codes(user)


def verify_totp(user: User, code: str) -> bool:
    """A current, never used code of the user's enabled secret (inside a write transaction)."""
    if user.two_factor_enabled_at is None:
        return False
    secret = decrypt_secret(user.two_factor_secret)
    step = matching_step(secret, code) if secret else None
    return step is not None and _accept_step(user.id, step)


def disable(user: User) -> None:
    """Turn two-factor sign-in off: secret and recovery codes go (inside a write transaction)."""
    user.two_factor_secret = None
    user.two_factor_enabled_at = None
    user.two_factor_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


# --- recovery codes -------------------------------------------------------------------------

def _recovery_hash(user_id: int, code: str) -> str:
    return hmac.new(_derived_key(b"recovery codes"), f"{user_id}:{_normalise(code)}".encode(),
                    hashlib.sha256).hexdigest()


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(_RECOVERY_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def replace_recovery_codes(user: User) -> list[str]:
    """Issue fresh recovery codes (the old ones stop working); returns them in plain text, to
    show once. Inside a write transaction."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    now = utcnow()
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=_recovery_hash(user.id, c),
                                    created_at=now) for c in codes)
    return codes


def codes_stamp(user: User) -> str:
    """Names the user's current set of recovery codes (when it was made), for the form that
    replaces it: a second click finds the set replaced already."""
    made = db.session.scalar(select(func.max(RecoveryCode.created_at))
                             .where(RecoveryCode.user_id == user.id))
    return made.isoformat() if made else ""


def user_for_update(user_id: int) -> User:
    """The account read afresh under a row lock (inside a write transaction): two requests
    that change its two-factor sign-in decide in turn."""
    return db.session.scalar(select(User).where(User.id == user_id).with_for_update()
                             .execution_options(populate_existing=True))


def reset_by_admin(user_id: int) -> User | None:
    """An admin turns someone's two-factor sign-in off (a lost phone) and ends their sessions;
    None when it is off and no session is open (reset just before: nothing to do, nothing
    audited). Runs its own write transaction, the account's row locked."""
    with write_transaction():
        user = user_for_update(user_id)
        had_it = user.two_factor_enabled
        open_sessions = db.session.scalar(select(func.count()).select_from(SignInSession).where(
            SignInSession.user_id == user.id, SignInSession.ended_at.is_(None)))
        if not had_it and user.two_factor_secret is None and not open_sessions:
            return None
        disable(user)
        end_all_sessions(user, "two_factor_reset")
        audit.record(AuditAction.TWO_FACTOR_RESET, user, was_enabled=had_it)
    return user


def replace_recovery_codes_once(user_id: int, replacing: str | None) -> list[str] | None:
    """Replace the recovery codes the form was shown with (``codes_stamp``); None when they
    were replaced since (the form sent twice: one new set, not two). Inside a write
    transaction; the account's row is locked so two requests decide in turn."""
    user = user_for_update(user_id)
    if replacing is not None and replacing != codes_stamp(user):
        return None
    return replace_recovery_codes(user)


def use_recovery_code(user: User, code: str) -> bool:
    """Spend an unused recovery code (inside a write transaction)."""
    if user.two_factor_enabled_at is None or len(_normalise(code)) != _RECOVERY_LENGTH:
        return False
    spent = db.session.execute(
        update(RecoveryCode).where(RecoveryCode.user_id == user.id,
                                   RecoveryCode.code_hash == _recovery_hash(user.id, code),
                                   RecoveryCode.used_at.is_(None))
        .values(used_at=utcnow()).execution_options(synchronize_session=False))
    return spent.rowcount == 1


def recovery_codes_left(user: User) -> int:
    return db.session.scalar(select(func.count()).select_from(RecoveryCode).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))) or 0


def verify_second_factor(user: User, code: str) -> str | None:
    """"totp" or "recovery_code" when ``code`` is one of them and unused, else None."""
    if verify_totp(user, code):
        return "totp"
    if use_recovery_code(user, code):
        return "recovery_code"
    return None


# --- the half-signed-in state ---------------------------------------------------------------

def begin_pending(user: User, next_url: str | None) -> None:
    """Remember, in this browser's session, that the password was right (for a few minutes)."""
    session[PENDING_KEY] = {"user": user.id, "version": user.session_version or 1,
                            "until": utcnow().timestamp() + PENDING_SECONDS,
                            "next": next_url or ""}


def pending_user() -> tuple[User, str] | None:
    """The user (and next URL) of an unexpired half sign-in, else None (the state is cleared)."""
    state = session.get(PENDING_KEY)
    if not isinstance(state, dict):
        return None
    user = db.session.get(User, state.get("user")) if isinstance(state.get("user"), int) else None
    if (user is None or not user.active or user.two_factor_enabled_at is None
            or state.get("until", 0) < utcnow().timestamp()
            or state.get("version") != (user.session_version or 1)):
        session.pop(PENDING_KEY, None)
        return None
    return user, state.get("next") or ""


def pending_user_id() -> int | None:
    state = session.get(PENDING_KEY)
    return state.get("user") if isinstance(state, dict) else None


# --- policy ---------------------------------------------------------------------------------

def required_for(user: User) -> bool:
    """Whether this account must use two-factor sign-in under the "required" policy."""
    if user.role in REQUIRED_ROLES:
        return True
    if user.role == "facilitator":
        return db.session.scalar(select(StudyStaff.id).where(
            StudyStaff.user_id == user.id, StudyStaff.is_clinician.is_(True)).limit(1)) is not None
    return False


def must_enrol(user: User) -> bool:
    return (current_app.config.get("STAFF_TWO_FACTOR") == "required"
            and user.two_factor_enabled_at is None and required_for(user))
