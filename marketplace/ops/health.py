"""Health probes for load balancers, and the index worker's heartbeat.

Owns:
- ``GET /healthz``: the process is up and serving (touches neither the database nor the index);
- ``GET /readyz``: may this process take traffic? Checks, each reported in the JSON body:
  ``database`` (``SELECT 1`` within ``READY_DB_TIMEOUT_SECONDS``), ``index`` (each kind's index present and openable),
  ``index_lag`` (change-log rows past this host's index cursor and the age of the oldest; reported, never
  failing) and ``worker`` (with ``SEARCH_DRAIN=worker``: the heartbeat's age against
  ``READY_WORKER_STALE_SECONDS``; not applicable under the embedded inline drain). 200 when ready, 503 when
  the database is unreachable, an index is missing or unreadable, or the worker's heartbeat is missing or
  stale; always JSON, never a traceback;
- the heartbeat: ``flask index worker`` (``sync.run_worker``) replaces ``WORKER_HEARTBEAT_PATH`` atomically
  at most every ``HEARTBEAT_EVERY_S`` seconds with the time and its pid. Like the index, it is per host.

Database reads run in a helper thread bounded by a timeout, at most one at a time per engine: a database
that hangs (a dropped network) costs a probe ``READY_DB_TIMEOUT_SECONDS``, and probes never pile up threads.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
import weakref
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask, current_app, jsonify

from marketplace.extensions import talisman
from marketplace.ops import bp

logger = logging.getLogger(__name__)

#: seconds /readyz (and a /metrics scrape) waits for the database unless READY_DB_TIMEOUT_SECONDS says otherwise
DB_TIMEOUT_S = 3.0
#: the worker rewrites its heartbeat at most this often
HEARTBEAT_EVERY_S = 5.0


# ----------------------------------------------------------------------------- the worker's heartbeat


def write_heartbeat(path: str | os.PathLike, now: float | None = None) -> None:
    """Replace the heartbeat file at ``path`` (atomically) with ``now`` (default: the current time) and our pid."""
    path = Path(path)
    now = time.time() if now is None else now
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"time": datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds"), "unix": now, "pid": os.getpid()}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(body), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)  # a full disk: leave no half-written file behind
        raise


def read_heartbeat(path: str | os.PathLike) -> dict | None:
    """The heartbeat at ``path`` ({"time", "unix", "pid"}), or None when there is none (or it is unreadable)."""
    try:
        body = json.loads(Path(path).read_text(encoding="utf-8"))
        return {"time": body["time"], "unix": float(body["unix"]), "pid": int(body["pid"])}
    except (OSError, ValueError, KeyError, TypeError):
        return None


class Heartbeat:
    """The worker loop's heartbeat: ``beat()`` each round writes at most every ``every`` seconds, never raises."""

    def __init__(self, path: str | os.PathLike, every: float = HEARTBEAT_EVERY_S):
        self.path = path
        self.every = every
        self._last = None
        self._failing = False

    def beat(self) -> None:
        now = time.monotonic()
        if self._last is not None and now - self._last < self.every:
            return
        self._last = now
        try:
            write_heartbeat(self.path)
        except OSError as error:  # a full or read-only disk must not stop the drain
            if not self._failing:
                logger.warning("cannot write the worker heartbeat %s: %s", self.path, error)
            self._failing = True
        else:
            if self._failing:
                logger.info("the worker heartbeat %s is written again", self.path)
            self._failing = False


def worker_check(app: Flask) -> dict:
    """The heartbeat's age against ``READY_WORKER_STALE_SECONDS`` (only with ``SEARCH_DRAIN=worker``)."""
    if app.config.get("SEARCH_DRAIN", "inline") != "worker":
        return {"ok": True, "status": "not_applicable", "drain": app.config.get("SEARCH_DRAIN", "inline")}
    stale_after = float(app.config.get("READY_WORKER_STALE_SECONDS", 300))
    beat = read_heartbeat(app.config["WORKER_HEARTBEAT_PATH"])
    if beat is None:
        return {"ok": False, "status": "missing", "stale_after_seconds": stale_after}
    age = max(0.0, time.time() - beat["unix"])
    fresh = age <= stale_after
    return {"ok": fresh, "status": "fresh" if fresh else "stale", "age_seconds": round(age, 1),
            "stale_after_seconds": stale_after}


def heartbeat_age(app: Flask) -> float | None:
    """Seconds since the worker's last heartbeat on this host (None: no heartbeat)."""
    beat = read_heartbeat(app.config["WORKER_HEARTBEAT_PATH"])
    return None if beat is None else max(0.0, time.time() - beat["unix"])


# ----------------------------------------------------------------------------- bounded database reads


class _Probe(threading.Thread):
    """One database read in its own thread; the caller waits at most its timeout."""

    def __init__(self, engine, read):
        super().__init__(name="rongtong-ready-probe", daemon=True)
        self._engine = engine
        self._read = read
        self.result = None
        self.error: BaseException | None = None

    def run(self) -> None:
        from sqlalchemy.orm import Session

        from marketplace.database import reading_only

        try:
            with reading_only(), Session(self._engine) as session:
                self.result = self._read(session)
                session.rollback()
        except BaseException as error:  # reported to the caller, which answers with JSON
            self.error = error
        finally:
            self._engine = None


_probes: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_probes_lock = threading.Lock()


class DatabaseTimeout(TimeoutError):
    """The database did not answer within the timeout."""


def db_timeout(app: Flask) -> float:
    """Seconds a probe or a scrape waits for the database."""
    return float(app.config.get("READY_DB_TIMEOUT_SECONDS", DB_TIMEOUT_S))


def bounded_read(engine, read, timeout: float = DB_TIMEOUT_S, purpose: str = "ready"):
    """``read(session)`` in a helper thread (a read-only transaction); its result, or raises its error or
    ``DatabaseTimeout``. While an earlier read for the same engine and purpose still runs, that one is waited
    for instead of starting another (a hung database holds one thread, not one per probe)."""
    with _probes_lock:
        running = _probes.setdefault(engine, {})
        probe = running.get(purpose)
        if probe is None or not probe.is_alive():
            probe = _Probe(engine, read)
            running[purpose] = probe
            probe.start()
    probe.join(timeout)
    if probe.is_alive():
        raise DatabaseTimeout(f"the database did not answer within {timeout:g} s")
    if probe.error is not None:
        raise probe.error
    return probe.result


# ----------------------------------------------------------------------------- the checks


def index_lag(session, cursors: dict[str, int]) -> dict[str, dict]:
    """Per kind: change-log rows past ``cursors[kind]`` and the age in seconds of the oldest of them."""
    import sqlalchemy as sa

    from marketplace.database import utcnow
    from marketplace.search.models import IndexChange

    now = utcnow()
    lag = {}
    for name, cursor in cursors.items():
        pending, oldest = session.execute(
            sa.select(sa.func.count(), sa.func.min(IndexChange.created_at)).where(IndexChange.id > cursor)
        ).one()
        lag[name] = {"cursor": cursor, "pending_changes": int(pending or 0),
                     "oldest_pending_seconds": round(max(0.0, (now - oldest).total_seconds()), 1) if oldest else None}
    return lag


def index_check(app: Flask, name: str) -> dict:
    """Whether this process's index of kind ``name`` is present and opens; never creates one."""
    from marketplace.search import kinds
    from marketplace.search.sync import get_index, index_root
    from search_index import SearchIndex

    try:
        index = app.extensions.get("search_indexes", {}).get(name)
        if index is None:
            if not SearchIndex(index_root(app, name), kind=kinds.get(name).index_kind, create=False).exists():
                return {"ok": False, "present": False}
            index = get_index(name)  # present: opened once and kept for the searches of this process
        elif not index.exists():
            return {"ok": False, "present": False}
        index.generation_key()  # opens the current generation, as a search would
        return {"ok": True, "present": True, "cursor": index.cursor}
    except Exception as error:
        logger.warning("the %s search index does not open: %s", name, error, exc_info=True)
        return {"ok": False, "present": True, "error": type(error).__name__}


def readiness(app: Flask) -> tuple[bool, dict]:
    """(ready, checks) for /readyz."""
    import sqlalchemy as sa

    from marketplace.extensions import db
    from marketplace.search import kinds

    checks: dict = {}
    indexes = {name: index_check(app, name) for name in kinds.names()}
    checks["index"] = {"ok": all(check["ok"] for check in indexes.values()), "kinds": indexes}
    cursors = {name: check["cursor"] for name, check in indexes.items() if check.get("ok")}

    def read(session):
        started = time.perf_counter()
        session.execute(sa.text("SELECT 1"))
        seconds = time.perf_counter() - started
        try:
            lag = index_lag(session, cursors)
        except Exception as error:  # tables missing (not migrated): the database answers, the lag is unknown
            session.rollback()
            lag = error
        return seconds, lag

    try:
        seconds, lag = bounded_read(db.engine, read, timeout=db_timeout(app))
    except Exception as error:
        log_database_state("readiness", False, error)
        checks["database"] = {"ok": False, "error": type(error).__name__}
        checks["index_lag"] = {"ok": False, "error": "database unavailable"}
    else:
        log_database_state("readiness", True)
        checks["database"] = {"ok": True, "seconds": round(seconds, 4)}
        if isinstance(lag, Exception):
            checks["index_lag"] = {"ok": False, "error": type(lag).__name__}
        else:
            checks["index_lag"] = {"ok": True, "kinds": lag}
    checks["worker"] = worker_check(app)
    ready = checks["database"]["ok"] and checks["index"]["ok"] and checks["worker"]["ok"]
    return ready, checks


_database_ok: dict[tuple[str, str], bool] = {}


def log_database_state(purpose: str, ok: bool, error: BaseException | None = None) -> None:
    """Log when a probe or a scrape sees the database go away or come back (not on every one)."""
    key = (purpose, str(current_app.config.get("SQLALCHEMY_DATABASE_URI", "")))
    if _database_ok.get(key, True) != ok:
        if ok:
            logger.info("%s: the database answers again", purpose)
        else:
            logger.warning("%s: the database does not answer: %s", purpose, error)
    _database_ok[key] = ok


# ----------------------------------------------------------------------------- routes


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/healthz")
@talisman(force_https=False)
def healthz():
    """The process is up (for liveness checks): 200, always, without touching anything."""
    return _no_store(jsonify(status="ok"))


@bp.get("/readyz")
@talisman(force_https=False)
def readyz():
    """Ready for traffic (for load balancers): 200, or 503 with the failed checks; always JSON."""
    app = current_app._get_current_object()
    try:
        ready, checks = readiness(app)
    except Exception as error:  # never a traceback to a load balancer
        logger.exception("readiness check failed")
        ready, checks = False, {"readiness": {"ok": False, "error": type(error).__name__}}
    response = jsonify(status="ready" if ready else "unavailable", checks=checks)
    response.status_code = 200 if ready else 503
    return _no_store(response)
