"""Log lines: JSON (production) or text, each carrying the id of the request it was written in.

Owns:
- the request id: the incoming ``X-Request-ID`` when it is a sane token (at most 64 of ``A-Za-z0-9._-``),
  else a new uuid4 hex; kept with the request (``flask.g.request_id`` too) and echoed in the response's
  ``X-Request-ID``; ``current_request_id()`` is how other code reads it (the change log records it, so the
  index worker's batch lines name the requests that caused them);
- ``RequestIdFilter``: adds ``request_id`` to every record passing our handler (None outside a request,
  unless the record already carries one, as the worker's batch lines do);
- the formatters (``LOG_FORMAT``): ``json`` (python-json-logger: time, level, logger, message, request_id,
  exc_info, and any ``extra`` fields) and ``text``; ``configure()`` installs the one stderr handler;
- with JSON logs, one line per request (method, path, endpoint, status, duration) on the
  ``marketplace.requests`` logger, so gunicorn's access log can stay off; probes and scrapes are not logged.
"""
from __future__ import annotations

import functools
import logging
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

from flask import Flask, g, has_request_context, request

REQUEST_ID_HEADER = "X-Request-ID"
LOG_FORMATS = ("json", "text")
_SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_ENVIRON_KEY = "rongtong.request_id"
_STARTED_KEY = "rongtong.request_started"
#: marks the handler ``configure`` installed (found again when another app is created in this process)
_HANDLER_MARK = "_rongtong_ops_handler"
#: a request id bound outside a request (a background thread continuing a request's work)
_bound_request_id: ContextVar[str | None] = ContextVar("rongtong_request_id", default=None)

request_logger = logging.getLogger("marketplace.requests")


def request_id_from(value: str | None) -> str:
    """``value`` when it is a sane request id, else a new one."""
    if value and _SANE_ID.fullmatch(value):
        return value
    return uuid.uuid4().hex


def current_request_id() -> str | None:
    """The id of the request being served (assigned on first use), or the one bound in this context, or None."""
    if has_request_context():
        environ = request.environ
        request_id = environ.get(_ENVIRON_KEY)
        if request_id is None:
            request_id = environ[_ENVIRON_KEY] = request_id_from(request.headers.get(REQUEST_ID_HEADER))
        return request_id
    return _bound_request_id.get()


@contextmanager
def bound_request_id(request_id: str | None) -> Iterator[None]:
    """Tag what runs inside (log lines, change-log rows) with ``request_id``, outside a request context."""
    token = _bound_request_id.set(request_id)
    try:
        yield
    finally:
        _bound_request_id.reset(token)


def carry_request_id(function):
    """``function``, to run in another thread with the current request's id bound (a background import goes
    on with the request's work: its log lines and change-log rows keep the id)."""
    request_id = current_request_id()

    @functools.wraps(function)
    def run(*args, **kwargs):
        with bound_request_id(request_id):
            return function(*args, **kwargs)

    return run


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record (unless it carries one already); never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            try:
                record.request_id = current_request_id()
            except Exception:  # a record logged while a request context is torn down
                record.request_id = None
        return True


def _iso_time(created: float) -> str:
    return datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def json_formatter() -> logging.Formatter:
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, request_id, exc_info, extras."""
    from pythonjsonlogger.json import JsonFormatter

    class _Formatter(JsonFormatter):
        def formatTime(self, record, datefmt=None):  # noqa: N802  (logging's name)
            return _iso_time(record.created)

    return _Formatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        json_ensure_ascii=False,
    )


class TextFormatter(logging.Formatter):
    """``2026-12-08 10:00:00,123 INFO marketplace.x [request id]: message`` (no brackets outside requests)."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802  (logging's name)
        request_id = getattr(record, "request_id", None)
        head = f"{record.asctime} {record.levelname} {record.name}"
        return f"{head} [{request_id}]: {record.message}" if request_id else f"{head}: {record.message}"


def make_formatter(log_format: str) -> logging.Formatter:
    """The formatter of ``LOG_FORMAT`` (``json`` or ``text``)."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, not {log_format!r}")
    return json_formatter() if log_format == "json" else TextFormatter()


def make_handler(log_format: str, stream=None) -> logging.Handler:
    """A stream handler (stderr by default) with the request id filter and the formatter of ``log_format``."""
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(make_formatter(log_format))
    return handler


def configure(log_format: str, logger: logging.Logger | None = None, level: int = logging.INFO) -> logging.Handler | None:
    """Log to stderr at ``level`` in ``log_format`` through one handler on ``logger`` (the root logger).

    Idempotent: a second app in the same process reuses the handler (and sets its format). When the
    logger already has handlers of someone else's (pytest's, a logging config file), output is theirs
    and nothing is installed; returns the handler in use, or None.
    """
    logger = logger or logging.getLogger()
    handler = next((h for h in logger.handlers if getattr(h, _HANDLER_MARK, False)), None)
    if handler is None:
        if logger.handlers:
            return None
        handler = make_handler(log_format)
        setattr(handler, _HANDLER_MARK, True)
        logger.addHandler(handler)
        logger.setLevel(level)
    else:
        handler.setFormatter(make_formatter(log_format))
    return handler


def register_request_ids(app: Flask) -> None:
    """Give every request its id (on ``g`` and in the response), and log a line per request in JSON mode."""

    @app.before_request
    def _assign_request_id():
        request.environ.setdefault(_STARTED_KEY, time.perf_counter())
        g.request_id = current_request_id()

    @app.after_request
    def _echo_request_id(response):
        response.headers[REQUEST_ID_HEADER] = current_request_id()
        if app.config.get("LOG_FORMAT") == "json" and request.blueprint != "ops":
            started = request.environ.get(_STARTED_KEY)
            duration_ms = round((time.perf_counter() - started) * 1000, 1) if started else None
            request_logger.info(
                "%s %s %s", request.method, request.path, response.status_code,
                extra={"method": request.method, "path": request.path, "endpoint": request.endpoint,
                       "status": response.status_code, "duration_ms": duration_ms},
            )
        return response
