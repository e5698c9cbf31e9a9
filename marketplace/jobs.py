"""Periodic jobs (expiry, the mail outbox, re-indexing) on Huey, run by ``flask index worker``.

Owns: the registry of periodic jobs, the Huey instance of an app, the consumer that runs the jobs
on schedule, and ``flask jobs list|run``.

- **Where they run.** ``flask index worker`` (one per host) runs Huey's consumer in its own process
  beside the search-index drain (``--no-jobs``: the drain only). Under ``flask run`` (``make run``)
  with ``JOBS_INLINE`` (the development default with ``SEARCH_DRAIN=inline``) the web process runs
  them in a daemon thread, once (in the reloader's child, never its parent). Tests, gunicorn and
  other commands never start a consumer. ``flask jobs run NAME`` runs one job now, in the foreground.
- **The queue.** ``RedisHuey`` when ``JOBS_REDIS_URL`` is set (in production it defaults to
  ``REDIS_URL``), else ``SqliteHuey`` in ``JOBS_SQLITE_PATH`` (``instance/jobs.db``).
- **Schedules** are crontab fields read in Asia/Shanghai (``{"minute": "5", "hour": "0"}`` is 00:05
  in China). Each host's consumer runs every job, and a job may run twice (a restart, two hosts),
  so every job is idempotent. A job runs in an app context; a failure is logged with its traceback
  and the worker carries on.
- **Adding a job.** A feature registers its own at import time (its package is imported by
  ``create_app``, before any consumer starts), without editing this module::

      from marketplace.jobs import register_periodic

      def send_match_digests() -> int:
          \"\"\"E-mail each buyer the new matches of the day.\"\"\"
          ...
          return sent

      register_periodic("match-digests", {"minute": "0", "hour": "8"}, send_match_digests)

  ``function`` takes no argument and may return a count (``flask jobs run`` prints it); its
  docstring's first line is what ``flask jobs list`` shows. ``at_start=True`` also runs it when a
  consumer starts. Registering a name again replaces the job.
"""
from __future__ import annotations

import atexit
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from huey import RedisHuey, SqliteHuey, crontab

from marketplace.i18n import CHINA

logger = logging.getLogger(__name__)

#: the crontab fields a schedule may name (Huey's ``crontab`` arguments)
CRONTAB_FIELDS = ("minute", "hour", "day", "month", "day_of_week")
#: seconds ``stop_consumer`` waits for a running job before leaving it (its thread is a daemon)
STOP_TIMEOUT = 30.0


# ----------------------------------------------------------------------------- the registry


@dataclass(frozen=True)
class PeriodicJob:
    """A job: a function run in an app context on a crontab schedule (Asia/Shanghai)."""

    name: str
    schedule: dict[str, str]
    function: Callable[[], object] = field(compare=False)
    at_start: bool = False

    @property
    def cron(self) -> str:
        """The schedule as a crontab line: minute hour day month day-of-week."""
        return " ".join(self.schedule.get(name, "*") for name in CRONTAB_FIELDS)

    @property
    def summary(self) -> str:
        """The first line of the function's docstring."""
        return ((self.function.__doc__ or "").strip().splitlines() or [""])[0]


_JOBS: dict[str, PeriodicJob] = {}


def register_periodic(name: str, crontab_kwargs: dict, function: Callable[[], object], *,
                      at_start: bool = False) -> PeriodicJob:
    """Register (or replace) the periodic job ``name``: ``function()`` on ``crontab_kwargs`` in Asia/Shanghai.

    ``crontab_kwargs`` are Huey's ``crontab`` arguments (minute, hour, day, month, day_of_week; ``*``
    when left out: ``{}`` is every minute). A bad name or schedule raises ValueError at once.
    """
    if not name or not all(c.isascii() and (c.isalnum() or c in "-_") for c in name):
        raise ValueError(f"a job name is letters, digits, '-' and '_': {name!r}")
    unknown = set(crontab_kwargs) - set(CRONTAB_FIELDS)
    if unknown:
        raise ValueError(f"unknown crontab field(s) for job {name}: {', '.join(sorted(unknown))}")
    schedule = {key: str(crontab_kwargs[key]) for key in CRONTAB_FIELDS if key in crontab_kwargs}
    crontab(strict=True, **schedule)  # raises ValueError on a bad field
    job = PeriodicJob(name, schedule, function, at_start)
    _JOBS[name] = job
    return job


def registered() -> list[PeriodicJob]:
    """Every registered job, by name."""
    return [_JOBS[name] for name in sorted(_JOBS)]


def get_job(name: str) -> PeriodicJob:
    """The job ``name`` (KeyError when none is registered)."""
    return _JOBS[name]


def run_job(name: str) -> object:
    """Run one job now in the current app context; returns what it returns (exceptions propagate)."""
    return get_job(name).function()


def china_crontab(**kwargs) -> Callable[[datetime], bool]:
    """Huey's ``crontab`` read in Asia/Shanghai: Huey passes its own time, naive UTC (``utc=True``)."""
    matches = crontab(strict=True, **kwargs)

    def validate(timestamp: datetime) -> bool:
        if timestamp.tzinfo is None:
            timestamp = timestamp.replace(tzinfo=UTC)
        return matches(timestamp.astimezone(CHINA))

    return validate


# ----------------------------------------------------------------------------- the jobs of the core features


def expire_requests() -> int:
    """Close open procurement requests past their deadline (China date)."""
    from marketplace.sourcing.services import expire_requests as expire

    return expire()


def expire_intents() -> int:
    """Expire submitted and countered order intents past their valid-until date."""
    from marketplace.deals.services import expire_intents as expire

    return expire()


def send_mail() -> int:
    """Retry the e-mail outbox: send what is pending (up to 5 attempts a message)."""
    from marketplace.mail import deliver_outbox

    return deliver_outbox(100)


def reindex_expired_certificates() -> int:
    """Re-index products whose certificates ran out, so searches stop counting them."""
    from marketplace.catalog.expiry import reindex_expired_certificates as reindex

    return reindex()


def analyze_database() -> bool:
    """Refresh the SQLite planner's statistics (nothing to do on PostgreSQL)."""
    from marketplace.database import analyze
    from marketplace.extensions import db

    return analyze(db.engine)


# expiry follows the China date: hourly is simple and catches midnight within the hour
register_periodic("expire-requests", {"minute": "1"}, expire_requests)
register_periodic("expire-intents", {"minute": "2"}, expire_intents)
register_periodic("send-mail", {}, send_mail)
register_periodic("reindex-expired-certificates", {"minute": "5", "hour": "0"}, reindex_expired_certificates,
                  at_start=True)
register_periodic("analyze-database", {"minute": "17"}, analyze_database, at_start=True)


# ----------------------------------------------------------------------------- Huey


@dataclass
class _AppJobs:
    huey: SqliteHuey | RedisHuey
    tasks: dict = field(default_factory=dict)


_build_lock = threading.Lock()


def get_huey(app: Flask | None = None):
    """The app's Huey (built once, with a periodic task for every registered job)."""
    return _app_jobs(app).huey


def get_task(name: str, app: Flask | None = None):
    """The app's Huey task of job ``name``: calling it enqueues a run (``huey.immediate``: runs it now)."""
    return _app_jobs(app).tasks[name]


def _app_jobs(app: Flask | None) -> _AppJobs:
    app = app or current_app._get_current_object()
    with _build_lock:
        state = app.extensions.get("jobs")
        if state is None:
            state = app.extensions["jobs"] = _AppJobs(_make_huey(app.config))
        for job in registered():
            if job.name not in state.tasks:  # a job registered after the first look
                state.tasks[job.name] = _make_task(state.huey, app, job)
        return state


def _make_huey(config):
    name = config.get("JOBS_QUEUE_NAME") or "rongtong"
    redis_url = config.get("JOBS_REDIS_URL")
    if redis_url:
        return RedisHuey(name, url=redis_url, results=False, utc=True)
    path = config.get("JOBS_SQLITE_PATH") or os.path.join(config["INSTANCE_DIR"], "jobs.db")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    return SqliteHuey(name, filename=path, results=False, utc=True)


def _make_task(huey, app: Flask, job: PeriodicJob):
    def execute() -> None:
        _execute(app, job.name)

    execute.__doc__ = job.function.__doc__
    return huey.periodic_task(china_crontab(**job.schedule), name=job.name)(execute)


def _execute(app: Flask, name: str) -> None:
    """What the consumer runs: the job in an app context; a failure is logged and the worker carries on."""
    with app.app_context():
        started = time.monotonic()
        try:
            result = run_job(name)
        except Exception:
            logger.exception("periodic job %s failed; it runs again at its next time", name)
            return
        logger.debug("periodic job %s: %s in %.2f s", name, result, time.monotonic() - started)


# ----------------------------------------------------------------------------- the consumer


def start_consumer(app: Flask | None = None):
    """Start Huey's consumer (a scheduler thread and one worker thread) in this process; returns it.

    Huey's ``Consumer.start()`` would take over SIGTERM and SIGINT, which belong to the host process
    (the index worker, the development server), so its threads are started here. Jobs marked
    ``at_start`` are enqueued at once.
    """
    app = app or current_app._get_current_object()
    state = _app_jobs(app)
    huey_logger = logging.getLogger("huey")
    if huey_logger.level == logging.NOTSET:  # Huey logs every run at INFO: two lines a minute
        huey_logger.setLevel(logging.WARNING)
    consumer = state.huey.create_consumer(workers=1, periodic=True, worker_type="thread", max_delay=1.0,
                                          check_worker_health=False)
    consumer.scheduler.start()
    for _worker, thread in consumer.worker_threads:
        thread.start()
    for job in registered():
        if job.at_start:
            try:
                state.tasks[job.name]()
            except Exception:  # the queue is unreachable: the job still runs at its time
                logger.exception("could not queue job %s at start", job.name)
    logger.info("periodic jobs running (%s): %s", type(state.huey).__name__,
                ", ".join(f"{job.name} [{job.cron}]" for job in registered()))
    return consumer


def stop_consumer(consumer, timeout: float = STOP_TIMEOUT) -> bool:
    """Stop the consumer's threads, letting a running job finish (up to ``timeout`` s); True when all stopped."""
    consumer.stop_flag.set()
    threads = [consumer.scheduler, *(thread for _worker, thread in consumer.worker_threads)]
    deadline = time.monotonic() + timeout
    for thread in threads:
        if thread.is_alive():
            thread.join(max(0.0, deadline - time.monotonic()))
    alive = [thread.name for thread in threads if thread.is_alive()]
    if alive:
        logger.warning("periodic jobs: %s still running after %.0f s; leaving it", ", ".join(alive), timeout)
    return not alive


@contextmanager
def consumer_running(app: Flask | None = None, enabled: bool = True) -> Iterator[object]:
    """Run the periodic jobs while inside (nothing when not ``enabled``); stop them on the way out."""
    if not enabled:
        yield None
        return
    consumer = start_consumer(app)
    try:
        yield consumer
    finally:
        stop_consumer(consumer)


# ----------------------------------------------------------------------------- in the development server


_inline_lock = threading.Lock()
_inline_started = False


def served_by_flask_run() -> bool:
    """Whether this process is the one ``flask run`` serves from (the reloader's child, never its parent)."""
    from flask.cli import run_command
    from flask.helpers import get_debug_flag

    context = click.get_current_context(silent=True)
    if context is None or context.command is not run_command:
        return False
    reload = context.params.get("reload")
    if reload is None:
        reload = get_debug_flag()
    return not reload or os.environ.get("WERKZEUG_RUN_MAIN") == "true"


def start_inline(app: Flask) -> bool:
    """Under ``flask run`` with ``JOBS_INLINE``: run the periodic jobs in this process, once. True when started."""
    global _inline_started
    if not app.config.get("JOBS_INLINE") or app.config.get("TESTING") or not served_by_flask_run():
        return False
    with _inline_lock:
        if _inline_started:
            return False
        try:
            consumer = start_consumer(app)
        except Exception:  # the site still serves; only the periodic jobs are missing
            logger.exception("could not start the periodic jobs in the development server")
            return False
        _inline_started = True
    atexit.register(stop_consumer, consumer, 5.0)
    return True


def register_jobs(app: Flask) -> None:
    """``flask jobs …``; and the periodic jobs in-process under ``flask run`` when ``JOBS_INLINE`` is on."""
    app.cli.add_command(jobs)
    start_inline(app)


# ----------------------------------------------------------------------------- flask jobs


@click.group()
def jobs():
    """Periodic jobs: list them, run one now (`flask index worker` runs them on schedule)."""


@jobs.command("list")
def list_command():
    """Each periodic job with its schedule (crontab fields, Asia/Shanghai)."""
    click.echo(f"{'job':<30} {'schedule (Asia/Shanghai)':<26} what")
    for job in registered():
        when = job.cron + (" + start" if job.at_start else "")
        click.echo(f"{job.name:<30} {when:<26} {job.summary}")


@jobs.command("run")
@click.argument("name")
@with_appcontext
def run_command(name: str):
    """Run the job NAME now, in the foreground (`flask jobs list` names them)."""
    if name not in _JOBS:
        raise click.UsageError(f"no job named {name!r}; `flask jobs list` shows them")
    try:
        result = run_job(name)
    except Exception as error:
        logger.debug("job %s failed", name, exc_info=True)
        click.echo(f"{name} failed: {error.__class__.__name__}: {error}", err=True)
        sys.exit(1)
    click.echo(f"{name}: done" if result is None else f"{name}: {result}")
