"""The server's VAPID key pair, which signs every Web Push request (RFC 8292).

``VAPID_PRIVATE_KEY`` (a PEM, in the environment or the app's config) wins; otherwise the key
is generated once into ``instance/vapid_private.pem`` and kept, so browsers' subscriptions
survive restarts. The private key is never logged or shown; the public key is what browsers
subscribe with.
"""

from __future__ import annotations

import base64
import logging
import os
from email.utils import parseaddr
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from flask import current_app
from py_vapid import Vapid

log = logging.getLogger("hearth.push")
KEY_FILE = "vapid_private.pem"


def ensure_key(instance_path: str, configured: str | None) -> str:
    """The private key PEM: ``configured``, else the instance file (generated if absent)."""
    if configured:
        return configured
    path = Path(instance_path, KEY_FILE)
    if not path.exists():
        _write_new(path)
    return path.read_text()


def _write_new(path: Path) -> None:
    """Write a fresh key unless another worker just did (O_EXCL: the first one wins)."""
    key = Vapid()
    key.generate_keys()
    pem = key.private_pem()
    try:
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(handle, "wb") as out:
        out.write(pem)
    log.warning("generated a VAPID key pair for Web Push in %s (set VAPID_PRIVATE_KEY to "
                "use your own)", path)


def signer() -> Vapid:
    return Vapid.from_pem(current_app.config["VAPID_PRIVATE_KEY"].encode())


def public_key() -> str:
    """The application server key browsers subscribe with (base64url, uncompressed point)."""
    raw = signer().public_key.public_bytes(serialization.Encoding.X962,
                                           serialization.PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def claims() -> dict:
    """The JWT claims: ``sub`` names who runs this server (``VAPID_SUBJECT``, else MAIL_FROM)."""
    subject = current_app.config.get("VAPID_SUBJECT")
    if not subject:
        subject = "mailto:" + (parseaddr(current_app.config.get("MAIL_FROM") or "")[1]
                               or "no-reply@hearth.invalid")
    return {"sub": subject}
