"""Operations: health probes, Prometheus metrics, and request ids in JSON logs.

Owns: ``/healthz`` and ``/readyz`` and the index worker's heartbeat file (``health.py``); ``/metrics``, the
metric objects and the per-endpoint request latency (``metrics.py``); the request id (``X-Request-ID``), the
log format (``LOG_FORMAT``: JSON lines or text) and the per-request log line (``logs.py``).

This module only makes the blueprint: its submodules import Flask, prometheus_client and the models lazily,
so ``search.sync`` and ``matching.sync`` may import ``ops.metrics`` / ``ops.logs`` / ``ops.health`` to
observe and tag their work without an import cycle. The blueprint is exempt from CSRF and rate limits
(``security.py``) and from the HTTPS redirect (per view): load balancers and Prometheus speak plain HTTP
to the app port. No route of it needs a login; ``/metrics`` has its own access rule (a token, or loopback).
"""
from __future__ import annotations

from flask import Blueprint, Flask

__all__ = ["bp", "register_ops"]

bp = Blueprint("ops", __name__)


def register_ops(app: Flask) -> None:
    """Request ids and the log line per request, the latency histogram, and the ops routes."""
    from marketplace.ops import health, logs, metrics  # noqa: F401  (health and metrics add their routes to bp)

    logs.register_request_ids(app)
    metrics.register_metrics(app)
    app.register_blueprint(bp)
