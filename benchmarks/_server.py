"""Start and stop a real Hearth server (gunicorn, production settings) on loopback.

Shared by the load script and the fault tests. The server is a child process of the caller in
its own process group; ``stop`` ends exactly that group.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from benchmarks._http import wait_until_up

ROOT = Path(__file__).resolve().parents[1]
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
FLASK = str(Path(sys.executable).with_name("flask"))
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
#: the production proxy settings (README, Deployment), used as they are
PROXY_SETTINGS = ROOT / "docs" / "deploy" / "hearth-proxy.conf"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def production_workers() -> int:
    """The README's setting: sync workers, 2 x cores + 1."""
    return 2 * (os.cpu_count() or 1) + 1


def server_env(database_url: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"DATABASE_URL": database_url, "SECRET_KEY": "load-and-fault-tests",
                "HEARTH_BASE_URL": "http://127.0.0.1", "MAIL_BACKEND": "console",
                "HEARTH_BENCH": "1", "PYTHONPATH": str(ROOT)})
    env.update(extra)
    return env


def start_gunicorn(database_url: str, port: int, workers: int | None = None,
                   log_path: Path | None = None, **env: str) -> subprocess.Popen:
    """gunicorn as the README documents it (sync workers), answering on 127.0.0.1:``port``."""
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(
        [GUNICORN, "--workers", str(workers or production_workers()), "--bind",
         f"127.0.0.1:{port}", "--access-logfile", "-", "--graceful-timeout", "5",
         "app:create_app()"],
        cwd=ROOT, env=server_env(database_url, **env), stdout=log, stderr=log,
        start_new_session=True)
    try:
        wait_until_up("127.0.0.1", port, seconds=60)
    except RuntimeError:
        stop(process)
        raise
    return process


def nginx_available() -> bool:
    return Path(NGINX).exists()


def start_nginx(prefix: Path, listen: int, upstream: int) -> subprocess.Popen:
    """Debian's nginx on 127.0.0.1:``listen`` in front of gunicorn on ``upstream``, with the
    repository's proxy settings (buffering both ways); its files under ``prefix``."""
    for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (prefix / name).mkdir(parents=True, exist_ok=True)
    config = prefix / "nginx.conf"
    config.write_text(f"""
daemon off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    upstream hearth_app {{ server 127.0.0.1:{upstream}; keepalive 16; }}
    server {{
        listen 127.0.0.1:{listen};
        client_header_timeout 30s;
        client_max_body_size 5m;
        client_body_timeout 30s;
        location / {{ include {PROXY_SETTINGS}; }}
    }}
}}
""")
    process = subprocess.Popen([NGINX, "-e", str(prefix / "error.log"), "-p", str(prefix),
                                "-c", str(config)], start_new_session=True)
    try:
        wait_until_up("127.0.0.1", listen, seconds=20)
    except RuntimeError:
        stop(process)
        raise
    return process


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 15) -> None:
    """End the process group the server leads (its workers with it)."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout)


def kill_hard(process: subprocess.Popen) -> None:
    """SIGKILL the master and every worker at once, as a crash or the OOM killer would."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(15)


def worker_pids(master_pid: int) -> list[int]:
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children")
    try:
        return [int(pid) for pid in children.read_text().split()]
    except OSError:
        return []


def resident_mib(pid: int) -> float | None:
    """Resident set size of one process in MiB (Linux /proc)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


# --- scratch PostgreSQL databases -------------------------------------------------------------


def _admin_url(url: str):
    base = make_url(url.replace("postgres://", "postgresql://", 1))
    return base.set(drivername="postgresql+psycopg", database="postgres")


def create_database(url: str) -> None:
    """(Re)create the PostgreSQL database ``url`` names, empty."""
    name = make_url(url).database
    engine = create_engine(_admin_url(url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()


def drop_database(url: str) -> None:
    name = make_url(url).database
    engine = create_engine(_admin_url(url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()
