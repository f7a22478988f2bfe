"""A small HTTP client for the load and fault tests: one signed-in browser per virtual user.

``http.client`` over loopback, a cookie jar per browser, the CSRF token read from the last form
page. No third-party load tool: the scripts stay light and bounded.
"""

from __future__ import annotations

import http.client
import re
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
HIDDEN = re.compile(r'<input[^>]*name="(token|submission_token)"[^>]*value="([^"]*)"')
HIDDEN_REVERSED = re.compile(r'<input[^>]*value="([^"]*)"[^>]*name="(token|submission_token)"')


@dataclass
class Answer:
    status: int
    body: str
    headers: dict[str, str]
    seconds: float


@dataclass
class Browser:
    """One person's browser: cookies and the CSRF token of the page last seen."""

    host: str
    port: int
    timeout: float = 30.0
    cookies: dict[str, str] = field(default_factory=dict)
    csrf: str | None = None

    def request(self, method: str, path: str, form: dict | None = None) -> Answer:
        headers = {"Host": f"{self.host}:{self.port}", "Accept": "text/html"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        began = time.perf_counter()
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            text = response.read().decode("utf-8", "replace")
            answer = Answer(response.status, text, {k.lower(): v for k, v in
                                                    response.getheaders()},
                            time.perf_counter() - began)
            for name, value in response.getheaders():
                if name.lower() == "set-cookie":
                    key, _, rest = value.partition("=")
                    self.cookies[key.strip()] = rest.split(";", 1)[0]
        finally:
            conn.close()
        match = CSRF.search(answer.body)
        if match:
            self.csrf = match.group(1)
        return answer

    def get(self, path: str) -> Answer:
        return self.request("GET", path)

    def post(self, path: str, form: dict | None = None) -> Answer:
        data = dict(form or {})
        if self.csrf:
            data.setdefault("csrf_token", self.csrf)
        return self.request("POST", path, data)

    def sign_in(self, email: str, password: str) -> tuple[Answer, Answer]:
        """Sign in and open the home page (signing in starts a new session and CSRF token)."""
        form = self.get("/auth/sign-in")
        answer = self.post("/auth/sign-in", {"email": email, "password": password})
        if answer.status == 302:
            self.get(urlsplit(answer.headers.get("location", "/")).path or "/")
        return form, answer


def hidden_token(html: str) -> str | None:
    """The one-time submission token of the form on a page (practice log, post)."""
    match = HIDDEN.search(html)
    if match:
        return match.group(2)
    match = HIDDEN_REVERSED.search(html)
    return match.group(1) if match else None


def wait_until_up(host: str, port: int, path: str = "/healthz", seconds: float = 30.0) -> None:
    """Poll until the server answers 200, or raise after ``seconds``."""
    deadline = time.monotonic() + seconds
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if Browser(host, port, timeout=2).get(path).status == 200:
                return
        except OSError as exc:
            last = exc
        time.sleep(0.1)
    raise RuntimeError(f"server on {host}:{port} did not come up: {last}")
