"""Prometheus metrics at /metrics: access (token or loopback), latency by endpoint, scrape-time gauges, work histograms."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client import REGISTRY, values
from prometheus_client.parser import text_string_to_metric_families

from marketplace import create_app
from marketplace.extensions import db
from marketplace.imports.models import ImportJob, ImportJobStatus
from marketplace.mail import MAX_ATTEMPTS, OutboxEmail
from marketplace.ops import metrics as ops_metrics
from tests.conftest import make_test_config
from tests.factories import make_company, make_product, make_user

TOKEN = "a-metrics-token-of-some-length"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _patient_probes(request):
    """A loaded CI machine may take seconds to open a database: these tests wait for it (60 s, not 3)."""
    if "app_config" in request.fixturenames:
        request.getfixturevalue("app_config")["READY_DB_TIMEOUT_SECONDS"] = 60


def samples(text: str) -> dict:
    """{(name, frozenset(labels)): value} of a text exposition."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(text: str, name: str, **labels) -> float | None:
    return samples(text).get((name, frozenset(labels.items())))


@pytest.fixture
def sqlite_app(tmp_path):
    """A SQLite app for the rules that do not depend on the database (its tables exist)."""
    def build(**overrides):
        app = create_app(make_test_config(tmp_path, f"sqlite:///{tmp_path / 'm.db'}", READY_DB_TIMEOUT_SECONDS=60,
                                          **overrides))
        with app.app_context():
            db.create_all()
        return app
    return build


# ----------------------------------------------------------------------------- access


def test_token_is_required_and_compared_in_constant_time(sqlite_app, monkeypatch):
    client = sqlite_app(METRICS_TOKEN=TOKEN).test_client()
    compared = []
    real = ops_metrics.hmac.compare_digest

    def spy(a, b):
        compared.append((len(a), len(b)))
        return real(a, b)

    monkeypatch.setattr(ops_metrics.hmac, "compare_digest", spy)
    assert client.get("/metrics").status_code == 401  # not even loopback gets in without it
    wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert wrong.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"}).status_code == 401
    remote = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"},
                        environ_base={"REMOTE_ADDR": "203.0.113.7"})
    assert remote.status_code == 200
    assert "rongtong_database_up 1.0" in remote.get_data(as_text=True)
    # both comparisons went through compare_digest, on digests of equal length (no length leak)
    assert compared == [(32, 32), (32, 32)]


def test_without_token_only_loopback_gets_metrics(sqlite_app):
    client = sqlite_app().test_client()
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.7"}).status_code == 404
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.0.0.2"}).status_code == 404
    # X-Forwarded-For is not believed without TRUSTED_PROXIES ...
    forged = client.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"},
                        environ_base={"REMOTE_ADDR": "203.0.113.7"})
    assert forged.status_code == 404
    # ... and a local reverse proxy relaying someone is not loopback
    relayed = client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.7"},
                         environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert relayed.status_code == 404


def test_with_trusted_proxies_the_forwarded_client_counts(sqlite_app):
    client = sqlite_app(TRUSTED_PROXIES=1).test_client()
    outside = client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.7"},
                         environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert outside.status_code == 404
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 200


# ----------------------------------------------------------------------------- what it reports


def test_page_views_are_timed_by_endpoint_not_path(sqlite_app):
    app = sqlite_app()
    client = app.test_client()
    with app.app_context():
        product_ids = [make_product(make_company()).id for _ in range(2)]
    assert client.get("/").status_code == 200
    for product_id in product_ids:
        assert client.get(f"/products/{product_id}").status_code == 200
    client.get("/no/such/page")
    text = client.get("/metrics").get_data(as_text=True)
    name = "rongtong_http_request_duration_seconds_count"
    assert value(text, name, endpoint="pages.home", method="GET", status="200") == 1.0
    product_views = [v for (n, labels), v in samples(text).items()
                     if n == name and dict(labels).get("endpoint") == "catalog.product_page"]
    assert sum(product_views) == 2.0  # two products, one label set per status
    assert f"/products/{product_ids[0]}" not in text  # no raw paths
    assert value(text, name, endpoint="None", method="GET", status="404") == 1.0
    # the scrape itself is not a page view
    assert not any(dict(labels).get("endpoint") == "ops.metrics" for (_n, labels) in samples(text))


@pytest.fixture
def worker_mode(app_config):
    """SEARCH_DRAIN=worker: nobody drains in these tests, what is saved waits in the log."""
    app_config["SEARCH_DRAIN"] = "worker"


def test_gauges_index_lag_outbox_and_import_jobs(worker_mode, app):
    with app.app_context():
        from marketplace.search import sync

        for kind in ("products", "requests"):
            sync.get_index(kind)
        company = make_company()
        user = make_user(company)
        make_product(company)
        db.session.add_all([
            OutboxEmail(recipient="a@example.com", subject="s", body="b"),
            OutboxEmail(recipient="b@example.com", subject="s", body="b", attempts=MAX_ATTEMPTS),
            ImportJob(company_id=company.id, user_id=user.id, original_filename="a.xlsx", stored_name="a1.xlsx",
                      status=ImportJobStatus.DONE),
            ImportJob(company_id=company.id, user_id=user.id, original_filename="b.xlsx", stored_name="b1.xlsx",
                      status=ImportJobStatus.DONE),
            ImportJob(company_id=company.id, user_id=user.id, original_filename="c.xlsx", stored_name="c1.xlsx",
                      status=ImportJobStatus.FAILED),
        ])
        db.session.commit()
    text = app.test_client().get("/metrics").get_data(as_text=True)
    assert value(text, "rongtong_database_up") == 1.0
    assert value(text, "rongtong_index_pending_changes", kind="products") >= 1
    assert value(text, "rongtong_index_oldest_pending_seconds", kind="products") >= 0
    assert value(text, "rongtong_index_present", kind="requests") == 1.0
    assert value(text, "rongtong_mail_outbox_emails", state="pending") == 1.0
    assert value(text, "rongtong_mail_outbox_emails", state="failed") == 1.0
    assert value(text, "rongtong_import_jobs", state="done") == 2.0
    assert value(text, "rongtong_import_jobs", state="failed") == 1.0
    assert value(text, "rongtong_import_jobs", state="running") == 0.0


def test_drains_and_matches_recomputes_are_observed(app):
    def observed(name, **labels):
        return REGISTRY.get_sample_value(name, labels) or 0.0

    drains = observed("rongtong_index_drain_batch_seconds_count", kind="products")
    drain_time = observed("rongtong_index_drain_batch_seconds_sum", kind="products")
    recomputes = observed("rongtong_matches_recompute_seconds_count")
    with app.app_context():
        company = make_company()
        make_product(company)  # inline drain after commit; the first catch-up computes everything
        make_product(company)  # this one's catch-up recomputes from the log
    assert observed("rongtong_index_drain_batch_seconds_count", kind="products") >= drains + 2
    assert observed("rongtong_index_drain_batch_seconds_sum", kind="products") > drain_time
    assert observed("rongtong_matches_recompute_seconds_count") > recomputes
    text = app.test_client().get("/metrics").get_data(as_text=True)
    assert value(text, "rongtong_index_drain_batch_seconds_count", kind="products") >= 2
    assert value(text, "rongtong_matches_recompute_seconds_count") >= 1


def test_multiprocess_dir_adds_up_the_worker_and_web_processes(tmp_path, monkeypatch):
    """PROMETHEUS_MULTIPROC_DIR: the index worker's drain histogram shows up in a web process's scrape."""
    directory = tmp_path / "prom"
    directory.mkdir()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(directory))
    # the worker: another process observing a drain batch
    worker = "from marketplace.ops import metrics; metrics.observe_drain_batch('products', 0.25)"
    subprocess.run([sys.executable, "-c", worker], cwd=ROOT, env={**os.environ, "RONGTONG_ENV": "development"},
                   check=True, timeout=60)
    # the web process: this one, switched to multiprocess values as prometheus_client does at import when the
    # variable is set (metrics created from now on keep their values in the directory)
    monkeypatch.setattr(values, "ValueClass", values.get_value_class())
    assert ops_metrics.multiprocess_mode()
    app = create_app(make_test_config(tmp_path, f"sqlite:///{tmp_path / 'mp.db'}", READY_DB_TIMEOUT_SECONDS=60))
    with app.app_context():
        db.create_all()
    client = app.test_client()
    client.get("/healthz")
    output = client.get("/metrics").get_data(as_text=True)
    assert value(output, "rongtong_index_drain_batch_seconds_count", kind="products") == 1.0
    assert value(output, "rongtong_index_drain_batch_seconds_sum", kind="products") == 0.25
    assert value(output, "rongtong_http_request_duration_seconds_count", endpoint="ops.healthz", method="GET",
                 status="200") == 1.0
    assert value(output, "rongtong_database_up") == 1.0
