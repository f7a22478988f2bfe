"""The Hearth application factory: configuration, extensions, blueprints and CLI commands."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from commands import admin as admin_commands
from commands import content, demo, groups, report, scheduler, trial
from models import db
from models.base import configure_sqlite
from program.courses.catalogue import get_catalogue
from program.messaging import vapid
from views import (
    admin,
    alerts,
    apply,
    auth,
    bench,
    calendar,
    cohort_staff,
    contacts,
    facilitator,
    home,
    invitations,
    notifications,
    participant,
    pwa,
    questionnaires,
    rater,
    reports,
    researcher,
    settings,
    study_setup,
    two_factor,
)
from views import groups as group_views
from views.extensions import init_extensions
from views.security import init_security
from views.template_helpers import init_template_helpers

SUPPORTED_LOCALES = ("en", "ja", "zh")

#: every blueprint of the web app, one per audience (each view behind ``role_required``)
BLUEPRINTS = (home.bp, auth.bp, two_factor.bp, settings.bp, participant.bp,
              questionnaires.bp, group_views.bp, facilitator.bp, alerts.bp, rater.bp,
              researcher.bp, study_setup.bp, reports.bp, admin.bp, calendar.bp,
              invitations.bp, cohort_staff.bp, apply.bp, apply.manage, contacts.bp, pwa.bp,
              notifications.bp)
#: every ``flask`` command group
COMMANDS = (demo.cli_group, content.cli_group, scheduler.cli_group, report.cli_group,
            trial.cli_group, groups.cli_group, admin_commands.cli_group)


def _env_flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def _database_url(instance_path: str) -> str:
    return os.environ.get("DATABASE_URL") or f"sqlite:///{Path(instance_path, 'hearth.db')}"


def _with_driver(url: str) -> str:
    """psycopg 3 is the PostgreSQL driver; accept the usual URL spellings."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _secret_key(instance_path: str) -> str:
    """SECRET_KEY from the environment, else generated once and kept in instance/."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = Path(instance_path, "secret_key")
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def default_config(instance_path: str) -> dict:
    secure = _env_flag("HEARTH_SECURE_COOKIES")
    return {
        "SQLALCHEMY_DATABASE_URI": _database_url(instance_path),
        "SQLALCHEMY_ENGINE_OPTIONS": {},
        "SQLITE_BUSY_TIMEOUT_MS": int(os.environ.get("SQLITE_BUSY_TIMEOUT_MS", "15000")),
        "BASE_URL": os.environ.get("HEARTH_BASE_URL", "http://127.0.0.1:5000"),
        "MAIL_BACKEND": os.environ.get("MAIL_BACKEND", "console"),  # console | smtp | memory
        "MAIL_SERVER": os.environ.get("MAIL_SERVER"),
        "MAIL_PORT": int(os.environ.get("MAIL_PORT", "587")),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME"),
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD"),
        "MAIL_USE_TLS": _env_flag("MAIL_USE_TLS", True),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "Hearth <no-reply@hearth.invalid>"),
        # rate limits shared by every worker when Redis is there (REDIS_URL), else per process
        "RATELIMIT_STORAGE_URI": (os.environ.get("RATELIMIT_STORAGE_URI")
                                  or os.environ.get("REDIS_URL") or "memory://"),
        # proxies in front that set X-Forwarded-For/-Proto (1 behind nginx): client addresses
        # for the sign-in limits and the audit log come from the proxy's header
        "TRUSTED_PROXIES": int(os.environ.get("HEARTH_TRUSTED_PROXIES", "0")),
        # "json": one JSON object per log line (with request and user ids); else plain text
        "LOG_FORMAT": os.environ.get("HEARTH_LOG_FORMAT", "text").strip().lower(),
        # how long the scheduler's claim on an outbox message lasts (a crash holds it so long)
        "OUTBOX_LEASE_SECONDS": int(os.environ.get("OUTBOX_LEASE_SECONDS", "60")),
        # development (`make run`): keep a sent message's queued text for the admin Outbox page
        "OUTBOX_KEEP_SENT_BODIES": _env_flag("OUTBOX_KEEP_SENT_BODIES"),
        # Failed sign-ins (see views/auth/devices.py): one account from one address, in tiers
        # that wait longer each time; any account from one address; one account from anywhere
        # (a browser the owner signed in from before is exempt from that last one).
        "LOGIN_LIMIT_PER_PAIR": os.environ.get(
            "LOGIN_LIMIT_PER_PAIR", "3 per minute;6 per 15 minutes;10 per hour;20 per day"),
        "LOGIN_LIMIT_PER_ACCOUNT": os.environ.get("LOGIN_LIMIT_PER_ACCOUNT",
                                                  "10 per 15 minutes"),
        "LOGIN_LIMIT_PER_ADDRESS": os.environ.get("LOGIN_LIMIT_PER_ADDRESS", "30 per 15 minutes"),
        # wrong two-factor codes (the password was right), per account
        "TWO_FACTOR_LIMIT_PER_ACCOUNT": os.environ.get("TWO_FACTOR_LIMIT_PER_ACCOUNT",
                                                       "5 per 15 minutes"),
        # Request limits: forms are small; views marked ``accepts_uploads`` take up to
        # MAX_UPLOAD_LENGTH. Larger bodies get a 413 before they are read.
        "MAX_CONTENT_LENGTH": int(os.environ.get("MAX_CONTENT_LENGTH", str(1024 * 1024))),
        "MAX_UPLOAD_LENGTH": int(os.environ.get("MAX_UPLOAD_LENGTH", str(3 * 1024 * 1024))),
        # guided-practice recordings (program.courses.recordings.MAX_BYTES and a form's room)
        "MAX_RECORDING_LENGTH": int(os.environ.get("MAX_RECORDING_LENGTH",
                                                   str(41 * 1024 * 1024))),
        "MAX_FORM_MEMORY_SIZE": 512 * 1024,
        "MAX_FORM_PARTS": 500,
        "PASSWORD_RESET_HOURS": 2,
        "INVITATION_DAYS": int(os.environ.get("INVITATION_DAYS", "7")),
        "SESSION_IDLE_MINUTES": int(os.environ.get("SESSION_IDLE_MINUTES", "60")),
        "SESSION_ABSOLUTE_HOURS": int(os.environ.get("SESSION_ABSOLUTE_HOURS", "12")),
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=12),
        "SESSION_COOKIE_NAME": "__Host-hearth" if secure else "hearth",
        "SESSION_COOKIE_SECURE": secure,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": secure,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "PREFERRED_URL_SCHEME": "https" if secure else "http",
        "HSTS": secure,
        "WTF_CSRF_TIME_LIMIT": None,  # tied to the session instead, which has its own timeouts
        "BABEL_DEFAULT_LOCALE": "en",
        "BABEL_DEFAULT_TIMEZONE": "UTC",
        "SUPPORTED_LOCALES": SUPPORTED_LOCALES,
        "DEMO_PASSWORD": os.environ.get("HEARTH_DEMO_PASSWORD", "hearth-demo-2026"),
        # "required": researchers, admins and clinician facilitators must use two-factor
        # sign-in (enrolment right after sign-in); "optional": anyone may turn it on.
        "STAFF_TWO_FACTOR": os.environ.get("STAFF_TWO_FACTOR", "required").strip().lower(),
        # Encrypts TOTP secrets and keys recovery-code hashes; SECRET_KEY when unset.
        "TWO_FACTOR_KEY": os.environ.get("TWO_FACTOR_KEY"),
        "TWO_FACTOR_ISSUER": os.environ.get("TWO_FACTOR_ISSUER", "Hearth"),
        # Web Push: the VAPID private key (PEM; generated into instance/ when unset) and the
        # contact named in its signatures (a mailto: or https: URL; MAIL_FROM's when unset)
        "VAPID_PRIVATE_KEY": os.environ.get("VAPID_PRIVATE_KEY"),
        "VAPID_SUBJECT": os.environ.get("VAPID_SUBJECT"),
    }


def create_app(config: dict | None = None) -> Flask:
    """Build a Hearth app; ``config`` overrides the environment-derived defaults (tests use it)."""
    app = Flask(__name__, instance_relative_config=True)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.update(default_config(app.instance_path))
    if config:
        app.config.update(config)
    app.config.setdefault("SECRET_KEY", None)
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = _secret_key(app.instance_path)

    app.config["VAPID_PRIVATE_KEY"] = vapid.ensure_key(app.instance_path,
                                                       app.config["VAPID_PRIVATE_KEY"])
    if app.config["STAFF_TWO_FACTOR"] not in ("required", "optional"):
        raise ValueError("STAFF_TWO_FACTOR must be 'required' or 'optional', not "
                         f"{app.config['STAFF_TWO_FACTOR']!r}")

    url = _with_driver(app.config["SQLALCHEMY_DATABASE_URI"])
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    if url.startswith("postgresql"):
        options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
        options.setdefault("pool_pre_ping", True)
        options.setdefault("pool_size", int(os.environ.get("DB_POOL_SIZE", "5")))
    db.init_app(app)
    if url.startswith("sqlite"):
        with app.app_context():
            configure_sqlite(db.engine, app.config["SQLITE_BUSY_TIMEOUT_MS"])

    # Program content is validated at start-up: a broken file stops the app with a message
    # naming the file and field, and no request ever reads content files.
    get_catalogue()

    if app.config["TRUSTED_PROXIES"] > 0:
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    init_extensions(app)
    init_security(app)
    init_template_helpers(app)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    if os.environ.get("HEARTH_BENCH") == "1":  # the load test's floor, never in production
        app.register_blueprint(bench.bp)
    for group in COMMANDS:
        app.cli.add_command(group)
    return app
