"""Installing Hearth on a phone: the web app manifest, the service worker (served from the
site's root so its scope is the whole site), and which pages it may keep for offline reading.

The service worker keeps a page only when the response carries ``X-Hearth-Offline`` with the
reader's key: released session material, the sessions list and the practice form, for the
participant who opened them. Staff pages never carry it (and are ``no-store``), so nothing of
another person is kept; signing out clears the kept pages (``Clear-Site-Data``).
"""

from __future__ import annotations

import hashlib
import hmac

from flask import Blueprint, current_app, jsonify, request, send_from_directory, url_for
from flask_babel import gettext as _
from flask_login import current_user

from views.access import public

bp = Blueprint("pwa", __name__)
OFFLINE_HEADER = "X-Hearth-Offline"
#: participant pages a phone may keep once opened (each checks release before it renders)
OFFLINE_PAGES = {"participant.session", "participant.sessions", "participant.practice_new"}


@bp.get("/sw.js")
@public
def service_worker():
    """The service worker, at the root so it may serve every page of the site."""
    response = send_from_directory(current_app.static_folder, "js/sw.js",
                                   mimetype="text/javascript", max_age=0)
    response.headers["Service-Worker-Allowed"] = "/"
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/manifest.webmanifest")
@public
def manifest():
    """What a phone needs to add Hearth to its home screen."""
    icons = [{"src": url_for("static", filename=f"icons/{name}"), "sizes": size,
              "type": "image/png", "purpose": purpose}
             for name, size, purpose in (("icon-192.png", "192x192", "any"),
                                         ("icon-512.png", "512x512", "any"),
                                         ("icon-maskable-512.png", "512x512", "maskable"))]
    response = jsonify({
        "name": _("Hearth"), "short_name": _("Hearth"), "start_url": "/", "scope": "/",
        "display": "standalone", "background_color": "#fbf8f4", "theme_color": "#b4532a",
        "icons": icons,
    })
    response.mimetype = "application/manifest+json"
    return response


def offline_key(user_id: int) -> str:
    """A per-person name for the kept pages that does not reveal the account id."""
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, f"offline:{user_id}".encode(), hashlib.sha256).hexdigest()[:20]


def mark_offline(response):
    """``after_request`` of the participant area: let the phone keep this page."""
    if (request.endpoint in OFFLINE_PAGES and request.method == "GET"
            and response.status_code == 200 and current_user.is_authenticated):
        response.headers[OFFLINE_HEADER] = offline_key(current_user.id)
    return response


def clear_site_data(response):
    """On signing out: the browser forgets kept pages, queued entries and the worker."""
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
    return response
