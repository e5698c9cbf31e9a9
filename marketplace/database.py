"""Database plumbing shared by every feature: UTC timestamps, enum columns, SQLite tuning, outages.

Owns: column types, engine set-up, and telling an unreachable database (``database_unavailable``: a
restart, a dropped connection, a full pool, a lock that did not come in time) from a bug. Must not
import feature packages.
"""
from __future__ import annotations

import enum
import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

logger = logging.getLogger(__name__)


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(sa.types.TypeDecorator):
    """A timestamp stored in UTC and always returned timezone-aware (SQLite keeps no zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def enum_column(enum_cls: type[enum.Enum], **kwargs) -> sa.Enum:
    """An enum stored as its string value in a VARCHAR, portable across databases."""
    return sa.Enum(
        enum_cls,
        native_enum=False,
        length=32,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
        create_constraint=False,
        **kwargs,
    )


#: set while code only reads (the search drain): SQLite then begins deferred, not IMMEDIATE
_READING_ONLY: ContextVar[bool] = ContextVar("reading_only", default=False)


@contextmanager
def reading_only() -> Iterator[None]:
    """Transactions begun inside only read: on SQLite they begin deferred and never wait for a writer."""
    token = _READING_ONLY.set(True)
    try:
        yield
    finally:
        _READING_ONLY.reset(token)


#: rows of each index ``ANALYZE`` samples on SQLite (``PRAGMA analysis_limit``)
ANALYSIS_LIMIT = 400


def analyze(engine: Engine) -> bool:
    """Refresh SQLite's planner statistics (``ANALYZE``, sampled: ~5 ms on a 1.8 GB database); PostgreSQL keeps its
    own (autovacuum). Without them SQLite guessed a product's open requests by walking every open request and
    probing ``matches`` (20,000 probes, 20–35 ms at 20,000 requests) instead of reading that product's matches
    (0.2 ms). Returns whether it ran."""
    if engine.dialect.name != "sqlite":
        return False
    with engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE")
        connection.commit()
    return True


def configure_sqlite(engine: Engine, busy_timeout_ms: int, read_only=lambda: False) -> None:
    """WAL, a busy timeout, foreign keys, and ``BEGIN IMMEDIATE`` for write transactions.

    Measured on this machine kind: 8 processes doing read-then-write transactions in WAL with
    only a busy timeout failed 1,501 of 2,400 with "database is locked" (a deferred transaction
    cannot upgrade its read snapshot); taking the write lock at BEGIN gave 0 errors.
    Transactions for which ``read_only()`` is true (GET pages) begin deferred: in WAL they
    read a snapshot without waiting for a writer, so a long import does not stall the site.
    """
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy, not pysqlite, emit BEGIN, so that we can make it IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA analysis_limit={ANALYSIS_LIMIT}")  # ANALYZE samples: milliseconds at any size
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN" if (_READING_ONLY.get() or read_only()) else "BEGIN IMMEDIATE")


#: SQLite's messages of a database that is there but busy or unreachable for now (its other
#: OperationalErrors, "no such table" or a syntax error, are bugs)
_SQLITE_TRANSIENT = ("database is locked", "database table is locked", "database is busy",
                     "unable to open database file", "disk i/o error")


def database_unavailable(error: BaseException | None) -> bool:
    """Whether ``error`` means the database cannot serve now (worth a 503 and a retry), not a bug.

    True for a connection that was lost or refused (PostgreSQL restarting, a network cut: SQLAlchemy
    then marks it ``connection_invalidated``, or the driver raises ``OperationalError`` on connect),
    PostgreSQL's other operational errors (shutting down, a lock or statement timeout), a pool with no
    free connection in time, and SQLite's "database is locked" or unreadable file.
    """
    if isinstance(error, (sa.exc.TimeoutError, sa.exc.DisconnectionError)):
        return True
    if not isinstance(error, sa.exc.DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    if not isinstance(error, sa.exc.OperationalError):
        return False
    if isinstance(error.orig, sqlite3.OperationalError):
        message = str(error.orig).lower()
        return any(text in message for text in _SQLITE_TRANSIENT)
    return True


def end_session(scoped_session) -> None:
    """``scoped_session.remove()`` at the end of a request or app context, quietly when the database went away.

    Closing a session rolls its transaction back; when the connection died meanwhile (PostgreSQL restarted
    after the request's last query), that rollback raises, and an error raised while tearing the request
    down reaches the server as a 500 after the page was already made. There is nothing left to roll back
    then: the connection is invalidated by the failure and the session is discarded.
    """
    try:
        scoped_session.remove()
    except sa.exc.DBAPIError as error:
        if not database_unavailable(error):
            raise
        logger.warning("the database connection was lost before the end of the request; its session is discarded")
        try:
            scoped_session.remove()
        except sa.exc.DBAPIError:
            scoped_session.registry.clear()
