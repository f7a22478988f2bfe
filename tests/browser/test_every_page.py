"""Every page each demo role can reach: no sideways scrolling at 360 px, no axe-core violations.

The walk starts at the role's home and follows every same-site link, one page per route (ids
replaced by a placeholder), so a new page is checked as soon as something links to it.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Error as PlaywrightError

from tests.browser.conftest import sign_in

ROLES = ("admin", "researcher", "rater", "therapist", "msc.teacher", "msc.assistant",
         "cft.participant", "uc.participant", "msc.participant")
#: links the walk does not follow: leaving, and files rather than pages
SKIP = re.compile(r"/auth/sign-out|\.(csv|ics|xlsx|sav|pdf|zip|json|txt|html|png|svg)$|/export"
                  r"|/download"
                  r"|/calendar/feed|^/static/")
NARROW, WIDE = (360, 780), (1280, 900)
#: at most this many pages per role (the walk stops earlier when nothing new is linked)
LIMIT = 120


def _pattern(path: str) -> str:
    return re.sub(r"/\d+(?=/|$)", "/N", path)


def _links(page, origin: str) -> list[str]:
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
    found = []
    for href in hrefs:
        parts = urlsplit(href)
        if f"{parts.scheme}://{parts.netloc}" != origin or SKIP.search(parts.path):
            continue
        found.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return found


def _walk(page, origin: str) -> list[str]:
    """Breadth-first over same-site links; the URLs of one page per route."""
    queue, seen, visited = ["/"], set(), []
    while queue and len(visited) < LIMIT:
        url = queue.pop(0)
        key = _pattern(urlsplit(url).path)
        if key in seen:
            continue
        seen.add(key)
        try:
            response = page.goto(url)
        except PlaywrightError as error:  # a file offered for download, not a page
            if "Download is starting" in str(error):
                continue
            raise
        if response is None or "text/html" not in response.headers.get("content-type", ""):
            continue
        assert response.status < 500, f"{url} answered {response.status}"
        visited.append(url)
        queue.extend(_links(page, origin))
    return visited


def _problems(page, url: str, axe: Axe) -> list[str]:
    problems = []
    if not page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"):
        width = page.evaluate("document.documentElement.scrollWidth")
        problems.append(f"{url} at {page.viewport_size['width']} px scrolls sideways ({width} px)")
    result = axe.run(page)
    for violation in result.response["violations"]:
        targets = [" ".join(node["target"]) for node in violation["nodes"]][:3]
        problems.append(f"{url} at {page.viewport_size['width']} px: {violation['id']} "
                        f"({violation['help']}) on {targets}")
    return problems


@pytest.mark.parametrize("role", ROLES)
def test_every_page_fits_a_phone_and_passes_axe(browser, live_server, role):
    width, height = NARROW
    context = browser.new_context(base_url=live_server,
                                  viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, f"{role}@hearth.example")
    urls = _walk(page, live_server)
    assert len(urls) > 3, urls  # the walk reached the role's pages
    axe, problems = Axe(), []
    for url in urls:
        for width, height in (NARROW, WIDE):
            page.set_viewport_size({"width": width, "height": height})
            page.goto(url)
            problems.extend(_problems(page, url, axe) if width == NARROW
                            else [p for p in _problems(page, url, axe) if "sideways" not in p])
    context.close()
    assert not problems, f"{len(problems)} problems on {len(urls)} pages:\n" + "\n".join(problems)
