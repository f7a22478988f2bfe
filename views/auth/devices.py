"""Sign-in throttling: per account and address pair with growing delays, and the device cookie.

Failed sign-ins count against three limits (only failures count):

- ``LOGIN_LIMIT_PER_PAIR``, one account from one address: several tiers ("3 per minute;
  6 per 15 minutes; ..."), so each further run of failures waits longer, and nobody elsewhere
  is affected;
- ``LOGIN_LIMIT_PER_ADDRESS``, any account from one address (guessing across accounts);
- ``LOGIN_LIMIT_PER_ACCOUNT``, one account from anywhere (guessing from many addresses). A
  browser where the account's owner signed in before carries a signed device cookie naming the
  account, and is exempt from this limit: someone failing elsewhere cannot lock the owner out
  of their usual device.

The address is the client's as seen through ``TRUSTED_PROXIES`` proxies (``ProxyFix``).
"""

from __future__ import annotations

import hashlib

from flask import current_app, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from models import User

DEVICE_COOKIE = "hearth_device"
DEVICE_DAYS = 180


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="hearth-device")


def _account_tag(email: str) -> str:
    """Names the account in the cookie without showing its address."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:24]


def _submitted_email() -> str:
    return request.form.get("email", "").strip().lower()


def account_key() -> str:
    return "account:" + _submitted_email()


def pair_key() -> str:
    return f"pair:{request.remote_addr}:{_submitted_email()}"


def known_device() -> bool:
    """True when this browser carries a device cookie of the account being signed in to."""
    cookie = request.cookies.get(DEVICE_COOKIE)
    if not cookie:
        return False
    try:
        tags = _serializer().loads(cookie, max_age=DEVICE_DAYS * 86400)
    except BadSignature:
        return False
    return isinstance(tags, list) and _account_tag(_submitted_email()) in tags


def remember_device(response, user: User):
    """Add the account to this browser's device cookie (a few accounts per browser at most)."""
    tags = []
    cookie = request.cookies.get(DEVICE_COOKIE)
    if cookie:
        try:
            tags = list(_serializer().loads(cookie, max_age=DEVICE_DAYS * 86400))
        except (BadSignature, TypeError):
            tags = []
    tag = _account_tag(user.email)
    tags = ([t for t in tags if t != tag] + [tag])[-5:]
    config = current_app.config
    response.set_cookie(DEVICE_COOKIE, _serializer().dumps(tags), max_age=DEVICE_DAYS * 86400,
                        secure=config["SESSION_COOKIE_SECURE"], httponly=True, samesite="Lax",
                        path="/auth/")
    return response
