"""Sending email: to the log by default, through SMTP when configured, to a list in tests."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage

from flask import current_app

log = logging.getLogger("hearth.mail")


def send_email(to: str, subject: str, body: str, html: str | None = None, *,
               message_id: str | None = None) -> None:
    """Send one email; with ``html`` it is multipart/alternative (plain text first).

    ``message_id`` is the Message-ID header: the outbox passes the same one on every attempt
    at the same message, so receivers can tell a second copy for what it is.
    """
    config = current_app.config
    backend = config["MAIL_BACKEND"]
    if backend == "memory":
        current_app.extensions.setdefault("sent_mail", []).append(
            {"to": to, "subject": subject, "body": body, "html": html, "message_id": message_id}
        )
        return
    if backend == "console":
        # Development only: the body may hold a sign-in link, never health data.
        log.info("email to %s: %s (Message-ID %s)\n%s", to, subject, message_id, body)
        return
    message = EmailMessage()
    message["From"] = config["MAIL_FROM"]
    message["To"] = to
    message["Subject"] = subject
    if message_id:
        message["Message-ID"] = message_id
    message.set_content(body)
    if html:
        message.add_alternative(html, subtype="html")
    with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=20) as smtp:
        if config["MAIL_USE_TLS"]:
            smtp.starttls()
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        smtp.send_message(message)


def sent_mail() -> list[dict]:
    """Messages captured by the memory backend (tests)."""
    return current_app.extensions.setdefault("sent_mail", [])
