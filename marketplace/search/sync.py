"""The bridge between the database and ``search_index``: change log, drain, rebuild, check.

Owns:
- recording changes: a SQLAlchemy ``after_flush`` listener writes an ``index_changes`` row for
  every object a registered kind (``kinds``) says touches its index, in the same transaction (on PostgreSQL under a transaction-scoped advisory lock, so ids are
  handed out in commit order and no drain can pass over a row that commits later);
- one index per registered kind (``kinds``: catalog registers products, sourcing requests), all fed
  by the one change log, each with its own cursor;
- ``drain()``: apply every change past the replica's cursor, in batches, one writer at a
  time, re-reading the objects' current state; idempotent, so a crash replays a batch and
  never skips one; loops until a fresh read finds nothing new, so a change whose own drain
  found the lock busy is applied by the holder after it releases the lock;
- the in-process drain after each commit (``SEARCH_DRAIN=inline``, the embedded default) —
  production sets ``SEARCH_DRAIN=worker`` and runs ``flask index worker``;
- ``rebuild()``, ``check()``, ``status()`` behind the ``flask index`` commands.

Operations (``marketplace.ops``): each change row records the request id of the request that wrote it;
each applied batch is timed (``rongtong_index_drain_batch_seconds``) and logged with those request ids;
``run_worker`` beats the heartbeat ``/readyz`` reads.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import event
from sqlalchemy.orm import Session

from marketplace.database import reading_only, utcnow
from marketplace.extensions import db
from marketplace.ops import metrics as ops_metrics
from marketplace.ops.health import Heartbeat
from marketplace.ops.logs import current_request_id
from marketplace.search import kinds
from marketplace.search.models import IndexChange, IndexReplica
from search_index import IndexBusy, SearchIndex

logger = logging.getLogger(__name__)

#: changes applied by a drain's first writer commit
DRAIN_BATCH = 500
#: a backlog (an import of 10,000 rows) is applied in commits growing ×4 up to this size: twenty commits
#: of 500 each re-merged the small segments (profiled: a quarter of a 10k drain's time)
DRAIN_BATCH_MAX = 8000
#: times a drain looks at the log again after releasing the lock (a change whose own drain found the
#: lock busy is applied by the holder)
DRAIN_ROUNDS = 3
#: replicas that have not reported for this long no longer hold back pruning
REPLICA_TTL_DAYS = 7
#: seconds between two reports of a process's cursor (each is a small write transaction)
REPORT_EVERY_S = 10.0
_last_report: dict = {}
#: request ids named in a batch's log line at most (an import is one request; a busy site's batch, many)
LOGGED_REQUEST_IDS = 50
#: advisory lock key serialising change-log writers on PostgreSQL ("rtidx" in ASCII)
_ADVISORY_KEY = 0x7274696478
_local = threading.local()
#: how many worker drain loops this process runs or is starting (``worker_loop``): each catches the matches up
#: after every round, so the periodic catch-up job of the same process leaves it to the loop
_worker_loops = 0
_worker_loops_lock = threading.Lock()


@contextmanager
def worker_loop() -> Iterator[None]:
    """Mark this process as running the worker's drain loop (``flask index worker`` enters it before its jobs
    thread starts: the jobs enqueued at start must already see it)."""
    global _worker_loops
    with _worker_loops_lock:
        _worker_loops += 1
    try:
        yield
    finally:
        with _worker_loops_lock:
            _worker_loops -= 1


#: functions called after every drain (inline and in the worker), each with no arguments: consumers of the
#: change log that need the indexes caught up first (matching registers its recompute); a failure is
#: logged and never fails the drain
AFTER_DRAIN: list = []


#: consumers of the change log besides the indexes, by their ``index_replicas`` row (matching's ``matches``):
#: the log is pruned only behind each of them, however long ago its row moved (a quiet week is not a removed
#: host), and not at all while one has no row yet (its first catch-up reads from the start)
LOG_CONSUMERS: set[str] = set()


def log_consumer(name: str) -> None:
    """Register a consumer of the change log that keeps its cursor in the ``index_replicas`` row ``name``."""
    LOG_CONSUMERS.add(name)


def after_drain(function):
    """Register ``function`` to run after each drain (idempotent)."""
    if function not in AFTER_DRAIN:
        AFTER_DRAIN.append(function)
    return function


#: functions ``flask index rebuild`` calls after rebuilding, with the names of the kinds rebuilt (matching
#: recomputes everything); not called by ``rebuild()`` itself, whose callers may hold a transaction
AFTER_REBUILD: list = []


def after_rebuild(function):
    """Register ``function(kinds)`` to run after ``flask index rebuild`` (idempotent)."""
    if function not in AFTER_REBUILD:
        AFTER_REBUILD.append(function)
    return function


def run_after_drain() -> None:
    """Call every registered after-drain consumer (each catches up on the log under its own cursor)."""
    for function in list(AFTER_DRAIN):
        try:
            function()
        except Exception:
            logger.exception("%s failed after a drain; it retries after the next one", getattr(function, "__name__", function))


# ----------------------------------------------------------------------------- the index of this process


def get_index(kind: str = "products") -> SearchIndex:
    """This process's index of ``kind`` for the current app (opened once, reused by every request)."""
    app = current_app._get_current_object()
    indexes = app.extensions.setdefault("search_indexes", {})
    index = indexes.get(kind)
    if index is None:
        index = SearchIndex(index_root(app, kind), kind=kinds.get(kind).index_kind)
        indexes[kind] = index
    return index


def index_root(app=None, kind: str = "products") -> str:
    """Where the index of ``kind`` lives: one directory per kind under ``SEARCH_INDEX_DIR``."""
    app = app or current_app
    return os.path.join(app.config["SEARCH_INDEX_DIR"], kind)


def replica_name(app=None, kind: str = "products") -> str:
    """This replica's name in ``index_replicas``: host and index directory (one per kind)."""
    app = app or current_app
    return f"{socket.gethostname()}:{os.path.abspath(index_root(app, kind))}"[:300]


def _kind_names(kind: str | None) -> list[str]:
    return [kind] if kind else kinds.names()


# ----------------------------------------------------------------------------- recording changes


def _changed_keys(session) -> set[tuple[str, int]]:
    """(kind, id) of every indexed object the flush changes: one pass over its new, dirty and deleted sets.

    Each of ``session.new`` / ``dirty`` / ``deleted`` builds a fresh set of every such object when
    read, so each is read once per flush (asking ``obj in session.dirty`` per object made a flush of
    10,000 products quadratic: minutes for a re-import). The three sets are disjoint.
    """
    keys: set[tuple[str, int]] = set()
    for change, objects in (("new", session.new), ("dirty", session.dirty), ("deleted", session.deleted)):
        for obj in objects:
            keys.update(kinds.change_keys(session, obj, change))
    return keys


def _after_flush(session, _context) -> None:
    keys = _changed_keys(session)
    if not keys:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql" and not session.info.get("index_lock"):
        # Held to commit: change-log ids are then handed out in commit order.
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_KEY})
        session.info["index_lock"] = True
    now = utcnow()
    request_id = current_request_id()  # the worker's log line names the request that caused the change
    connection.execute(sa.insert(IndexChange), [
        {"kind": kind, "object_id": object_id, "created_at": now, "request_id": request_id}
        for kind, object_id in sorted(keys)
    ])
    session.info["index_dirty"] = True


@contextmanager
def drain_once() -> Iterator[None]:
    """Hold the inline drains of the commits made inside (this thread) and drain once at the end: a script
    or a test fixture that saves many objects one by one pays one index commit and one match catch-up
    instead of one each (a product's own drain is ~30 ms, most of it the index commit). Inside, searches do
    not yet see what the block saved. Nested blocks drain at the outermost end; with ``SEARCH_DRAIN=worker``
    it changes nothing.

    The outermost end commits the session first, as the services inside do after each save: what the block
    read since its last save began a transaction, and on SQLite the drain's writes would wait for it. When the
    block raises, nothing is committed and the held changes wait in the log for the next drain."""
    depth = getattr(_local, "held", 0)
    _local.held = depth + 1
    try:
        yield
    except BaseException:
        if depth == 0:
            _local.held_changes = False
        raise
    else:
        if depth == 0 and getattr(_local, "held_changes", False):
            db.session.commit()  # held_changes is cleared below: this commit's own hook still sees the block
            _local.held_changes = False
            _inline_drain(current_app._get_current_object())
    finally:
        _local.held = depth


def _after_commit(session) -> None:
    dirty = session.info.pop("index_dirty", False)
    session.info.pop("index_lock", None)
    if not dirty:
        return
    try:
        app = current_app._get_current_object()
    except RuntimeError:  # no app context: nothing to drain into
        return
    if app.config.get("SEARCH_DRAIN", "inline") != "inline" or getattr(_local, "draining", False):
        return
    if getattr(_local, "held", 0):
        _local.held_changes = True
        return
    _inline_drain(app)


def _inline_drain(app) -> None:
    """Drain in this process after a commit (``SEARCH_DRAIN=inline``), then the after-drain consumers."""
    try:
        drain(timeout=app.config.get("SEARCH_WRITE_TIMEOUT", 2.0))
    except Exception:  # the commit stands; the change waits in the log for the next drain
        logger.exception("search index drain failed; the changes stay in the log")
        return
    _local.draining = True
    try:
        run_after_drain()
    finally:
        _local.draining = False


def _after_rollback(session) -> None:
    session.info.pop("index_dirty", None)
    session.info.pop("index_lock", None)


def register_listeners() -> None:
    """Listen to the application's sessions (idempotent)."""
    if not event.contains(FlaskSession, "after_flush", _after_flush):
        event.listen(FlaskSession, "after_flush", _after_flush)
        event.listen(FlaskSession, "after_commit", _after_commit)
        event.listen(FlaskSession, "after_soft_rollback", lambda session, _tx: _after_rollback(session))


# ----------------------------------------------------------------------------- drain


@dataclass
class DrainResult:
    """What one drain did."""

    applied: int = 0  # change rows applied
    batches: int = 0
    busy: bool = False  # the writer lock stayed busy; the changes wait for the next drain
    cursor: int = 0


def drain(index: SearchIndex | None = None, timeout: float = 5.0, batch: int = DRAIN_BATCH,
          max_batches: int | None = None, force_report: bool = False, kind: str | None = None,
          until: int | None = None) -> DrainResult:
    """Apply every logged change past the cursor of ``index`` (or of each kind's index: ``kind``, or all).

    With several indexes each reads the same log: ``applied``/``batches`` are the most any index did
    (rows of the log), ``busy`` whether any stayed busy, ``cursor`` the lowest. ``until`` (the worker's
    rounds): apply changes up to that id only, so a steady stream of one kind's changes cannot keep the
    next kind's index waiting; what came later is the next round's.
    """
    if index is not None:
        return _drain(index, timeout, batch, max_batches, force_report, until)
    total: DrainResult | None = None
    for name in _kind_names(kind):
        result = _drain(get_index(name), timeout, batch, max_batches, force_report, until)
        if total is None:
            total = result
        else:
            total = DrainResult(applied=max(total.applied, result.applied), batches=max(total.batches, result.batches),
                                busy=total.busy or result.busy, cursor=min(total.cursor, result.cursor))
    return total or DrainResult()


def _drain(index: SearchIndex, timeout: float, batch: int, max_batches: int | None,
           force_report: bool, until: int | None = None) -> DrainResult:
    """Apply every logged change past one index's cursor; return what was done.

    The first commit applies ``batch`` changes; while the log keeps filling them, later commits
    grow up to ``DRAIN_BATCH_MAX`` (or ``batch`` when larger). The replica's cursor is recorded in
    the database (and the log pruned) at most every ``REPORT_EVERY_S`` seconds per process, or
    always with ``force_report``.
    """
    kind = kinds.get(index.kind.name)
    result = DrainResult(cursor=index.cursor)
    size = batch
    _local.draining = True
    try:
        for _round in range(DRAIN_ROUNDS):
            while max_batches is None or result.batches < max_batches:
                # Lock first, then read: what is applied is never older than what is already in the index.
                with index.batch(timeout) as held, reading_only(), Session(db.engine) as session:
                    started = time.perf_counter()
                    pending = IndexChange.id > held.cursor
                    if until is not None:
                        pending = sa.and_(pending, IndexChange.id <= until)
                    changes = session.execute(
                        sa.select(IndexChange.id, IndexChange.kind, IndexChange.object_id, IndexChange.request_id)
                        .where(pending).order_by(IndexChange.id).limit(size)
                    ).all()
                    if not changes:
                        break
                    rows = [tuple(change[:3]) for change in changes]
                    upserts, deletes = kind.records_for(session, kind.object_ids(session, index, rows))
                    session.rollback()  # end the read before the (slower) index commit
                    held.apply(upserts, deletes, cursor=changes[-1][0])
                    seconds = time.perf_counter() - started
                ops_metrics.observe_drain_batch(index.kind.name, seconds)
                _log_batch(index.kind.name, changes, seconds)
                result.applied += len(changes)
                result.batches += 1
                result.cursor = changes[-1][0]
                if len(changes) == size:  # a backlog: fewer, larger commits
                    size = max(size, min(size * 4, DRAIN_BATCH_MAX))
            else:
                break  # max_batches reached
            # The lock is released: a change committed while we held it, whose own drain gave up
            # waiting, is ours to apply. Look once more, outside the lock.
            if until is not None or not _has_pending(index.cursor):
                break  # the worker's next round reads the log again anyway
    except IndexBusy:
        result.busy = True  # the holder reads the log again after releasing the lock
    finally:
        _local.draining = False
    if result.applied and (force_report or time.monotonic() - _last_report.get(index.root, -1e9) >= REPORT_EVERY_S):
        try:
            _report_cursor(index)
            _last_report[index.root] = time.monotonic()
        except sa.exc.OperationalError:  # the database is busy: the next drain reports
            logger.info("could not record the index cursor now; will retry", exc_info=True)
    return result


def _log_batch(kind: str, changes, seconds: float) -> None:
    """One line per applied batch, naming the requests whose changes it carried (``request_ids``; and
    ``request_id`` when they all came from one request). INFO in the worker, DEBUG in an inline drain."""
    request_ids = list(dict.fromkeys(change[3] for change in changes if change[3]))
    extra = {"index_kind": kind, "changes": len(changes), "first_change": changes[0][0],
             "last_change": changes[-1][0], "seconds": round(seconds, 4),
             "request_ids": request_ids[:LOGGED_REQUEST_IDS]}
    if len(request_ids) == 1:
        extra["request_id"] = request_ids[0]
    level = logging.INFO if getattr(_local, "worker", False) else logging.DEBUG
    logger.log(level, "index %s: applied changes %d..%d in %.3f s (%d rows, %d request ids)", kind, changes[0][0],
               changes[-1][0], seconds, len(changes), len(request_ids), extra=extra)


def _report_cursor(index: SearchIndex) -> None:
    """Record this replica's cursor and prune log rows every replica has applied.

    Best effort: on SQLite it waits at most a quarter second for the write lock (a caller's own
    open write transaction, or a long import, must not stall a save); the next drain reports.
    """
    cursor = index.cursor
    name = replica_name(kind=index.kind.name)
    with db.engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            connection.connection.dbapi_connection.execute("PRAGMA busy_timeout=250")
        try:
            with Session(bind=connection) as session:
                replica = session.get(IndexReplica, name)
                if replica is None:
                    session.add(IndexReplica(name=name, cursor=cursor, updated_at=utcnow()))
                else:
                    replica.cursor = cursor
                    replica.updated_at = utcnow()
                session.flush()
                # replicas silent for a week are gone (a removed host must not keep the log forever)
                floor = session.scalar(sa.select(sa.func.min(IndexReplica.cursor)).where(
                    IndexReplica.updated_at >= utcnow() - timedelta(days=REPLICA_TTL_DAYS),
                    IndexReplica.name.not_in(sorted(LOG_CONSUMERS))))
                # the other consumers always (0 while one has no row: nothing is pruned before its first catch-up;
                # pruned behind a full recompute's ceiling, the changes after it were lost to the matches)
                consumers = dict(session.execute(sa.select(IndexReplica.name, IndexReplica.cursor).where(
                    IndexReplica.name.in_(sorted(LOG_CONSUMERS)))).tuples().all())
                # every kind's index of this process holds the log back too (one not yet reported included)
                floor = min([floor or 0, *(consumers.get(name) or 0 for name in LOG_CONSUMERS),
                             *(get_index(name).cursor for name in kinds.names())])
                if floor:
                    session.execute(sa.delete(IndexChange).where(IndexChange.id <= floor))
                session.commit()
        finally:
            if sqlite:
                connection.rollback()
                timeout_ms = current_app.config.get("SQLITE_BUSY_TIMEOUT_MS", 15000)
                connection.connection.dbapi_connection.execute(f"PRAGMA busy_timeout={int(timeout_ms)}")


def _has_pending(cursor: int) -> bool:
    with reading_only(), Session(db.engine) as session:
        return session.scalar(sa.select(IndexChange.id).where(IndexChange.id > cursor).limit(1)) is not None


def pending_changes(index: SearchIndex | None = None) -> int:
    """Log rows this replica (the products index unless ``index`` is given) has not applied yet."""
    index = index or get_index()
    with reading_only(), Session(db.engine) as session:
        return session.scalar(sa.select(sa.func.count()).select_from(IndexChange).where(IndexChange.id > index.cursor))


def latest_change_id(session: Session) -> int:
    """The highest change id now in the log (0 when empty)."""
    return session.scalar(sa.select(sa.func.coalesce(sa.func.max(IndexChange.id), 0))) or 0


def run_worker(poll_seconds: float = 0.25, stop: threading.Event | None = None, timeout: float = 10.0) -> None:
    """Drain until ``stop`` is set (``flask index worker``): the one writer of this host's replicas (every kind) in production.

    Each round first beats the heartbeat (``WORKER_HEARTBEAT_PATH``, rewritten at most every few seconds:
    ``/readyz`` reads its age); each batch applied is logged with the request ids it carried.
    """
    logger.info("index worker draining %s every %.2f s", ", ".join(kinds.names()), poll_seconds)
    stop = stop or threading.Event()
    heartbeat = Heartbeat(current_app.config["WORKER_HEARTBEAT_PATH"])
    _local.worker = True
    try:
        with worker_loop():
            while not stop.is_set():
                heartbeat.beat()
                applied = 0
                try:
                    with reading_only(), Session(db.engine) as session:
                        until = latest_change_id(session)  # each kind gets its turn however fast the log fills
                    applied = drain(timeout=timeout, force_report=True, until=until).applied
                    run_after_drain()
                except Exception:
                    logger.exception("drain failed; retrying")
                    stop.wait(2)
                if not applied:
                    stop.wait(poll_seconds)  # a backlog is read again at once
    finally:
        _local.worker = False


def worker_loop_running() -> bool:
    """Whether this process runs (or is starting) the worker's drain loop, in any thread."""
    return _worker_loops > 0


# ----------------------------------------------------------------------------- rebuild and check


def rebuild(index: SearchIndex | None = None, progress=None, kind: str = "products") -> dict:
    """Build a new generation of one kind from the database and swap it in; changes logged meanwhile are replayed."""
    index = index or get_index(kind)
    app_kind = kinds.get(index.kind.name)
    with reading_only(), Session(db.engine) as session:
        # the cursor is read before the objects: anything logged later is replayed by the next drain
        cursor = latest_change_id(session)
        stats = index.rebuild(app_kind.iter_public_records(session), cursor=cursor, progress=progress)
    drain(index)
    try:
        _report_cursor(index)
    except sa.exc.OperationalError:
        logger.info("could not record the index cursor now; the next drain will", exc_info=True)
    return stats


def expected_fingerprints(kind: str = "products") -> dict[int, str]:
    """id → fingerprint of every public object of ``kind``, from the database."""
    app_kind = kinds.get(kind)
    with reading_only(), Session(db.engine) as session:
        return {record.id: record.fingerprint() for record in app_kind.iter_public_records(session)}


def check(index: SearchIndex | None = None, kind: str = "products") -> dict:
    """Drift between database and the index of one kind (after draining what is pending)."""
    index = index or get_index(kind)
    drain(index)
    return index.check(expected_fingerprints(index.kind.name))


def status(index: SearchIndex | None = None, kind: str = "products") -> dict:
    """One kind's index status plus the change log as this replica sees it."""
    index = index or get_index(kind)
    info = index.status()
    info["pending_changes"] = pending_changes(index)
    with reading_only(), Session(db.engine) as session:
        info["replicas"] = [
            {"name": r.name, "cursor": r.cursor, "updated_at": r.updated_at.isoformat() if r.updated_at else None}
            for r in session.scalars(sa.select(IndexReplica).order_by(IndexReplica.name))
        ]
        info["log_rows"] = session.scalar(sa.select(sa.func.count()).select_from(IndexChange))
    return info
