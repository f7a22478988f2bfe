"""``flask scheduler run`` (one process, APScheduler 3) and ``flask scheduler tick`` (cron, tests).

Run exactly one scheduler process: never start it inside the web app or its workers. Even so,
every message is guarded by its outbox dedup key, so an accidental second process sends nothing
twice.
"""

from __future__ import annotations

import logging
import signal

import click
from flask import current_app
from flask.cli import AppGroup

log = logging.getLogger("hearth.jobs")
cli_group = AppGroup("scheduler", help="Reminders, notices and the outbox dispatcher.")


@cli_group.command("tick")
@click.option("--limit", default=500, show_default=True, help="Most messages to send.")
def tick_command(limit: int) -> None:
    """Queue what is due now and send it, once (for cron and tests)."""
    from models import utcnow
    from program.messaging.jobs import dispatch, tick

    now = utcnow()
    queued = tick(now)
    sent = dispatch(now, limit)
    click.echo(f"queued {queued.queued}, skipped {queued.skipped_stale} stale, "
               f"sent {sent.sent}, failed {sent.failed}, cancelled {sent.cancelled}")


@cli_group.command("run")
@click.option("--tick-seconds", default=60, show_default=True)
@click.option("--dispatch-seconds", default=20, show_default=True)
def run_command(tick_seconds: int, dispatch_seconds: int) -> None:
    """Run the scheduler in this process until stopped (Ctrl-C or SIGTERM).

    On SIGTERM (a deploy) the dispatcher finishes the message it is sending, hands back the
    rest of its batch to the outbox and the process exits; nothing waits out a lease.
    """
    from apscheduler.schedulers.blocking import BlockingScheduler

    from program.messaging.jobs import STOP, run_in_app

    app = current_app._get_current_object()
    scheduler = BlockingScheduler(timezone="UTC")
    common = {"replace_existing": True, "coalesce": True, "max_instances": 1,
              "misfire_grace_time": 3600}
    scheduler.add_job(run_in_app, "interval", seconds=tick_seconds, args=[app, "tick"],
                      id="hearth-tick", **common)
    scheduler.add_job(run_in_app, "interval", seconds=dispatch_seconds, args=[app, "dispatch"],
                      id="hearth-dispatch", **common)

    def stop(signum, _frame) -> None:
        log.info("scheduler: %s received; handing back claimed messages and stopping",
                 signal.Signals(signum).name)
        STOP.set()
        scheduler.shutdown(wait=True)  # the running dispatch sees STOP and hands back

    STOP.clear()
    previous = signal.signal(signal.SIGTERM, stop)
    click.echo("Hearth scheduler running; press Ctrl-C to stop.")
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        STOP.set()
        scheduler.shutdown(wait=True)
    finally:
        signal.signal(signal.SIGTERM, previous)
    log.info("scheduler: stopped")
