"""Health probes: /healthz (the process is up) and /readyz (database, indexes, index lag, worker heartbeat)."""
from __future__ import annotations

import json
import os
import threading
import time

import pytest

from marketplace import create_app
from marketplace.extensions import db
from marketplace.ops import health
from marketplace.search import kinds, sync
from tests.conftest import make_test_config
from tests.factories import make_company, make_product


@pytest.fixture(autouse=True)
def _patient_probes(request):
    """A loaded CI machine may take seconds to open a database: these tests wait for it (60 s, not 3)."""
    if "app_config" in request.fixturenames:
        request.getfixturevalue("app_config")["READY_DB_TIMEOUT_SECONDS"] = 60


def make_indexes(app) -> None:
    """Open (and so create) every kind's index, as `flask index rebuild` or the first drain would."""
    with app.app_context():
        for name in kinds.names():
            sync.get_index(name)


def run_worker_until(app, done, limit_s: float = 20.0) -> None:
    """Run the real ``sync.run_worker`` in a thread until ``done()`` holds (at most ``limit_s``), then stop it."""
    stop = threading.Event()

    def work():
        with app.app_context():
            sync.run_worker(poll_seconds=0.05, stop=stop)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + limit_s
        while not done() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(limit_s)
    assert not thread.is_alive()
    assert done(), "the worker did not get there"


def pending_products(app) -> int:
    with app.app_context():
        return sync.pending_changes(sync.get_index("products"))


# ----------------------------------------------------------------------------- /healthz


def test_healthz_answers_without_touching_the_database(tmp_path):
    # a database that does not even exist: /healthz does not care
    config = make_test_config(tmp_path, f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'db.sqlite'}")
    client = create_app(config).test_client()
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


def test_probes_answer_plain_http_in_production(tmp_path):
    """In production (HTTPS redirect, allowed hosts) a load balancer's plain-HTTP probe is answered, not redirected."""
    config = make_test_config(tmp_path, f"sqlite:///{tmp_path / 'prod.db'}", TESTING=False, ENV="production",
                              SECRET_KEY="a-production-secret-key-of-32-chars!", PUBLIC_URL="https://rongtong.example.cn",
                              READY_DB_TIMEOUT_SECONDS=60)
    app = create_app(config)
    with app.app_context():
        db.create_all()
    make_indexes(app)
    client = app.test_client()
    base = "http://rongtong.example.cn"
    assert client.get("/", base_url=base).status_code == 302  # pages go to HTTPS
    assert client.get("/healthz", base_url=base).status_code == 200
    ready = client.get("/readyz", base_url=base)
    assert ready.status_code == 200, ready.get_json()
    assert ready.get_json()["status"] == "ready"


# ----------------------------------------------------------------------------- /readyz


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_readyz_database_unreachable_is_a_503_json(tmp_path, backend):
    if backend == "sqlite":
        uri = f"sqlite:///{tmp_path / 'missing-dir' / 'db.sqlite'}"
    else:
        uri = "postgresql+psycopg://postgres@127.0.0.1:1/nothing"  # a closed port: refused at once
    app = create_app(make_test_config(tmp_path, uri))
    make_indexes(app)
    client = app.test_client()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.content_type == "application/json"
    body = response.get_json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == {"ok": False, "error": "OperationalError"}
    assert body["checks"]["index"]["ok"] is True
    text = response.get_data(as_text=True)
    assert "Traceback" not in text and "127.0.0.1" not in text
    # the process itself is fine
    assert client.get("/healthz").status_code == 200


def test_readyz_index_missing_is_a_503_then_ready_with_every_check(app, client):
    response = client.get("/readyz")
    assert response.status_code == 503
    checks = response.get_json()["checks"]
    assert checks["database"]["ok"] is True
    assert checks["index"]["kinds"]["products"] == {"ok": False, "present": False}
    assert not sync.SearchIndex(sync.index_root(app, "products"), create=False).exists()  # the probe made none

    make_indexes(app)
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ready"
    checks = body["checks"]
    assert checks["database"]["ok"] is True
    assert set(checks["index"]["kinds"]) == {"products", "requests"}
    assert all(check["ok"] and check["present"] for check in checks["index"]["kinds"].values())
    assert checks["index_lag"]["kinds"]["products"] == {"cursor": 0, "pending_changes": 0,
                                                        "oldest_pending_seconds": None}
    assert checks["worker"] == {"ok": True, "status": "not_applicable", "drain": "inline"}


@pytest.fixture
def worker_app(app_config):
    """An app where `flask index worker` applies the change log (production's SEARCH_DRAIN=worker)."""
    app_config["SEARCH_DRAIN"] = "worker"
    app_config["READY_WORKER_STALE_SECONDS"] = 60
    return app_config


def test_readyz_worker_heartbeat_missing_stale_fresh(worker_app, app, client):
    make_indexes(app)
    path = app.config["WORKER_HEARTBEAT_PATH"]
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["worker"] == {"ok": False, "status": "missing", "stale_after_seconds": 60.0}

    health.write_heartbeat(path, now=time.time() - 600)  # the worker stopped ten minutes ago
    response = client.get("/readyz")
    assert response.status_code == 503
    worker = response.get_json()["checks"]["worker"]
    assert worker["status"] == "stale" and worker["age_seconds"] >= 600

    # a save is logged; nobody drains it yet: the lag counts it (lag alone never makes the process unready)
    with app.app_context():
        make_product(make_company())
    assert pending_products(app) > 0
    lag = client.get("/readyz").get_json()["checks"]["index_lag"]["kinds"]
    assert lag["products"]["pending_changes"] == pending_products(app) >= 1
    assert lag["products"]["oldest_pending_seconds"] >= 0
    assert lag["requests"]["pending_changes"] == lag["products"]["pending_changes"]  # one log, one lag per index

    # the real worker loop: it beats, and drains what the save logged

    def beaten_and_drained():
        beat = health.read_heartbeat(path)
        return beat is not None and time.time() - beat["unix"] < 60 and pending_products(app) == 0

    run_worker_until(app, beaten_and_drained)
    beat = health.read_heartbeat(path)
    assert beat["pid"] == os.getpid()
    response = client.get("/readyz")
    assert response.status_code == 200, response.get_json()
    checks = response.get_json()["checks"]
    assert checks["worker"]["status"] == "fresh"
    assert checks["index_lag"]["kinds"]["products"]["pending_changes"] == 0


def test_heartbeat_is_replaced_atomically_at_most_every_few_seconds(tmp_path):
    path = tmp_path / "sub" / "worker.heartbeat"
    beat = health.Heartbeat(path, every=3600)
    beat.beat()
    first = json.loads(path.read_text())
    assert set(first) == {"time", "unix", "pid"}
    path.unlink()
    beat.beat()  # within the interval: not written again
    assert not path.exists()
    assert [p.name for p in path.parent.iterdir()] == []  # no temporary file left behind
    # an unwritable place is logged, never raised (the drain goes on)
    blocked = tmp_path / "file"
    blocked.write_text("x")
    health.Heartbeat(blocked / "worker.heartbeat").beat()
