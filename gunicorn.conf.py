"""gunicorn settings read from the working directory: the access log never holds a token.

Reset links, questionnaire links and calendar feeds carry a bearer token in their path, and
whoever holds it opens the page (or the calendar) without a password. The access log keeps the
rest of the request line; the token is replaced by ``[token]`` in every field (request line,
path, query, referrer and request headers).
"""

from __future__ import annotations

import re

from gunicorn.glogging import Logger

#: a path segment after one of the token routes (``/q/t/<token>``, ``/auth/reset/<token>``,
#: ``/calendar/<token>.ics``)
TOKEN_IN_PATH = re.compile(r"(/(?:q/t|auth/reset|calendar)/)[^/?#\s\"]+")


def redact(value: object) -> object:
    return TOKEN_IN_PATH.sub(r"\1[token]", value) if isinstance(value, str) else value


class RedactingLogger(Logger):
    """gunicorn's logger with tokens taken out of every access-log field."""

    def atoms(self, resp, req, environ, request_time):
        return {key: redact(value)
                for key, value in super().atoms(resp, req, environ, request_time).items()}


logger_class = RedactingLogger
