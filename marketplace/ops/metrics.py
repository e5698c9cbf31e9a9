"""Prometheus metrics: ``GET /metrics`` in the text exposition format.

Owns:
- request latency by endpoint (prometheus_flask_exporter, grouped by the Flask endpoint name, never the raw
  path: the label set stays bounded): ``rongtong_http_request_duration_seconds{method,endpoint,status}``
  and ``rongtong_http_request_total{method,status}``. Each app gets its own registry for these (tests build
  many apps in one process; a second registration in the default registry raises "Duplicated timeseries");
- histograms observed where the work happens, module-level objects created once per process:
  ``rongtong_index_drain_batch_seconds{kind}`` (``search.sync``: one per batch a drain applies) and
  ``rongtong_matches_recompute_seconds`` (``matching.sync.catch_up`` when it recomputed something);
- gauges computed at scrape time from the database (``health.bounded_read``): index lag per kind
  (``rongtong_index_pending_changes``, ``rongtong_index_oldest_pending_seconds``), the e-mail outbox
  (``rongtong_mail_outbox_emails{state}``), import jobs by state (``rongtong_import_jobs{state}``),
  ``rongtong_database_up`` and the worker heartbeat's age;
- access: with ``METRICS_TOKEN`` set, ``Authorization: Bearer <token>`` (compared in constant time) or 401;
  without, only requests from a loopback address (the real peer, or the client address ``TRUSTED_PROXIES``
  says to trust) and 404 for everyone else.

Several gunicorn workers: start every process (gunicorn and ``flask index worker``) with the environment
variable ``PROMETHEUS_MULTIPROC_DIR`` naming one empty directory; prometheus_client then keeps each
process's values in files there and a scrape of any worker adds them all up (the worker's drain and
recompute histograms included). Without it, each process reports its own registry.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging

from flask import Flask, Response, abort, current_app, request
from prometheus_client import REGISTRY, CollectorRegistry, Histogram, values
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import choose_encoder

from marketplace.extensions import talisman
from marketplace.ops import bp

logger = logging.getLogger(__name__)

_WORK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)

DRAIN_BATCH_SECONDS = Histogram(
    "rongtong_index_drain_batch_seconds",
    "Seconds one drain batch took to read the changed objects and commit them to a search index",
    ["kind"], buckets=_WORK_BUCKETS,
)
MATCHES_RECOMPUTE_SECONDS = Histogram(
    "rongtong_matches_recompute_seconds",
    "Seconds a matches catch-up took to recompute the requests and products the change log named",
    buckets=_WORK_BUCKETS,
)


def observe_drain_batch(kind: str, seconds: float) -> None:
    """Record one drain batch of index ``kind`` (never fails the drain)."""
    try:
        DRAIN_BATCH_SECONDS.labels(kind=kind).observe(seconds)
    except Exception:  # pragma: no cover - metrics never break the work
        logger.debug("could not observe a drain batch", exc_info=True)


def observe_matches_recompute(done: dict) -> None:
    """Record a matches catch-up that recomputed something (``done``: its counts and ``seconds``)."""
    if not (done.get("changes") or done.get("requests") or done.get("products")):
        return
    try:
        MATCHES_RECOMPUTE_SECONDS.observe(done.get("seconds", 0.0))
    except Exception:  # pragma: no cover - metrics never break the work
        logger.debug("could not observe a matches recompute", exc_info=True)


def multiprocess_mode() -> bool:
    """Whether prometheus_client keeps values in ``PROMETHEUS_MULTIPROC_DIR`` (decided when it was imported)."""
    return values.ValueClass is not values.MutexValue


def register_metrics(app: Flask) -> None:
    """Track each request's latency by endpoint, in a registry of this app's own."""
    from prometheus_flask_exporter import PrometheusMetrics

    registry = CollectorRegistry(auto_describe=True)
    exporter = PrometheusMetrics(app, path=None, registry=registry, group_by="endpoint", defaults_prefix="rongtong")
    app.extensions["ops_metrics"] = exporter


# ----------------------------------------------------------------------------- scrape


class _Forward:
    """Collects another registry's metrics into the scrape (no describe: names are not checked twice)."""

    def __init__(self, source):
        self.source = source

    def collect(self):
        return self.source.collect()


class _Families:
    """Metric families computed for one scrape."""

    def __init__(self, families):
        self.families = families

    def collect(self):
        return iter(self.families)


def scrape_gauges(app: Flask) -> list:
    """The gauges read at scrape time: index lag, outbox, import jobs, database up, heartbeat age."""
    import sqlalchemy as sa

    from marketplace.extensions import db
    from marketplace.imports.models import ImportJob, ImportJobStatus
    from marketplace.mail import MAX_ATTEMPTS, OutboxEmail
    from marketplace.ops import health
    from marketplace.search import kinds

    cursors = {}
    for name in kinds.names():
        check = health.index_check(app, name)
        if check.get("ok"):
            cursors[name] = check["cursor"]

    def read(session):
        lag = health.index_lag(session, cursors)
        unsent = OutboxEmail.sent_at.is_(None)
        pending = session.scalar(sa.select(sa.func.count()).select_from(OutboxEmail)
                                 .where(unsent, OutboxEmail.attempts < MAX_ATTEMPTS))
        failed = session.scalar(sa.select(sa.func.count()).select_from(OutboxEmail)
                                .where(unsent, OutboxEmail.attempts >= MAX_ATTEMPTS))
        jobs = dict(session.execute(sa.select(ImportJob.status, sa.func.count()).group_by(ImportJob.status)).all())
        return lag, pending, failed, jobs

    families = []
    up = GaugeMetricFamily("rongtong_database_up", "1 when the database answered this scrape's queries")
    try:
        lag, pending, failed, jobs = health.bounded_read(db.engine, read, timeout=health.db_timeout(app), purpose="metrics")
    except Exception as error:
        health.log_database_state("metrics", False, error)
        up.add_metric([], 0)
        families.append(up)
    else:
        health.log_database_state("metrics", True)
        up.add_metric([], 1)
        families.append(up)
        pending_changes = GaugeMetricFamily(
            "rongtong_index_pending_changes", "Change-log rows this host's search index has not applied yet",
            labels=["kind"])
        oldest = GaugeMetricFamily(
            "rongtong_index_oldest_pending_seconds",
            "Age of the oldest change-log row this host's search index has not applied (0: none)", labels=["kind"])
        for name, info in lag.items():
            pending_changes.add_metric([name], info["pending_changes"])
            oldest.add_metric([name], info["oldest_pending_seconds"] or 0)
        outbox = GaugeMetricFamily(
            "rongtong_mail_outbox_emails",
            "E-mails in the outbox not sent: pending (to be tried again) or failed (attempts used up)",
            labels=["state"])
        outbox.add_metric(["pending"], pending or 0)
        outbox.add_metric(["failed"], failed or 0)
        import_jobs = GaugeMetricFamily("rongtong_import_jobs", "Spreadsheet import jobs by state", labels=["state"])
        for status in ImportJobStatus:
            import_jobs.add_metric([status.value], jobs.get(status, 0))
        families += [pending_changes, oldest, outbox, import_jobs]
    present = GaugeMetricFamily("rongtong_index_present", "1 when this host's search index of a kind opens",
                                labels=["kind"])
    for name in kinds.names():
        present.add_metric([name], 1 if name in cursors else 0)
    families.append(present)
    age = health.heartbeat_age(app)
    if age is not None:
        heartbeat = GaugeMetricFamily("rongtong_worker_heartbeat_age_seconds",
                                      "Seconds since this host's index worker last wrote its heartbeat")
        heartbeat.add_metric([], age)
        families.append(heartbeat)
    return families


def render_metrics(app: Flask, accept: str | None = None) -> tuple[bytes, str]:
    """(body, content type): every metric of this process (of all processes, in multiprocess mode), in the
    format the ``Accept`` header asks for (Prometheus text 0.0.4 by default, or OpenMetrics)."""
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess_mode():
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_Forward(REGISTRY))
        exporter = app.extensions.get("ops_metrics")
        if exporter is not None:
            registry.register(_Forward(exporter.registry))
    registry.register(_Families(scrape_gauges(app)))
    encode, content_type = choose_encoder(accept or "")
    return encode(registry), content_type


# ----------------------------------------------------------------------------- access


def token_matches(given: str, token: str) -> bool:
    """Whether ``given`` is ``token``, in time independent of where they differ (and of their lengths)."""
    return hmac.compare_digest(hashlib.sha256(given.encode()).digest(), hashlib.sha256(token.encode()).digest())


def from_loopback() -> bool:
    """Whether the client is this host: a loopback peer address (the client address ``TRUSTED_PROXIES`` trusts).

    A loopback peer forwarding ``X-Forwarded-For`` / ``Forwarded`` while no proxy is trusted is a reverse
    proxy on this host relaying someone else: not loopback.
    """
    try:
        address = ipaddress.ip_address((request.remote_addr or "").split("%")[0])
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        address = mapped
    if not address.is_loopback:
        return False
    relayed = "X-Forwarded-For" in request.headers or "Forwarded" in request.headers
    return bool(current_app.config.get("TRUSTED_PROXIES", 0)) or not relayed


def _unauthorized() -> Response:
    return Response("401 Unauthorized: send Authorization: Bearer <METRICS_TOKEN>\n", 401,
                    {"WWW-Authenticate": 'Bearer realm="metrics"', "Content-Type": "text/plain; charset=utf-8",
                     "Cache-Control": "no-store"})


@bp.get("/metrics")
@talisman(force_https=False)
def metrics():
    """Prometheus scrape: with METRICS_TOKEN a bearer token, else loopback only (404 to others)."""
    request.prom_do_not_track = True  # the scrape itself is not a page view
    token = current_app.config.get("METRICS_TOKEN") or ""
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token_matches(given.strip(), token):
            return _unauthorized()
    elif not from_loopback():
        abort(404)
    body, content_type = render_metrics(current_app._get_current_object(), request.headers.get("Accept"))
    return Response(body, 200, {"Content-Type": content_type, "Cache-Control": "no-store"})
