"""``kill -9`` of gunicorn workers during order-intent actions: no intent lost, none half-written, none doubled.

The real server: gunicorn with two sync workers on a free 127.0.0.1 port, on this test's PostgreSQL
schema. A client thread drives intents through the API as an integrator would — the buyer records one
(``POST /api/v1/intents``), the exporter accepts, both sign, the buyer marks it fulfilled — each call
with its own ``Idempotency-Key``, and a call that fails (the connection dropped, a 5xx) is sent again
with the same key until it gets an answer. Meanwhile the test SIGKILLs both workers while a call is
in flight, three times at least and until one call was cut short (gunicorn forks new ones: it runs
with ``--preload``, so they serve at once). Then, in the database:

- every intent the client was answered 2xx for exists, in the state and version it was told;
- every intent's history is whole: versions 1…``version`` one event each, the first a creation, its
  state the last event's ``to_state`` (no intent without its creation event, no event without its step);
- the retries created nothing twice: one intent per creation key, and no other intent.
"""
from __future__ import annotations

import hashlib
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from marketplace.accounts.models import CompanyKind
from marketplace.api import tokens
from marketplace.api.models import SCOPES
from marketplace.config import PROJECT_ROOT
from marketplace.deals.models import OrderIntent, OrderIntentEvent
from marketplace.deals.states import Action, IntentState
from marketplace.extensions import db
from tests.factories import make_company, make_product, make_user
from tests.faults.conftest import wait_until

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
#: kills while a call is in flight: at least this many, and more (up to MAX_KILLS) until one cut a call short
KILLS = 3
MAX_KILLS = 8
#: intents the client completes at least (it goes on until the kills are over), and at most
MIN_INTENTS = 6
MAX_INTENTS = 60
ATTEMPTS = 40
#: the steps after creation: (who, action), each moving the version by one
STEPS = [("exporter", Action.ACCEPT), ("buyer", Action.SIGN), ("exporter", Action.SIGN), ("buyer", Action.FULFIL)]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _worker_pids(master_pid: int) -> list[int]:
    try:
        return [int(pid) for pid in Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()]
    except OSError:
        return []


def _server_env(config: dict, tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "RONGTONG_ENV": "development",
        "SECRET_KEY": "gunicorn-faults-test-key-0123456789abcdef",
        "INSTANCE_DIR": str(tmp_path / "server-instance"),
        "DATABASE_URL": config["SQLALCHEMY_DATABASE_URI"],
        "SEARCH_INDEX_DIR": str(tmp_path / "server-index"),
        "UPLOAD_DIR": str(tmp_path / "server-uploads"),
        "SEARCH_DRAIN": "worker",  # production's setting: the web workers only log index changes
        "RATELIMIT_STORAGE_URI": "memory://",
        "API_RATE_LIMIT": "100000 per minute",
        "PYTHONUNBUFFERED": "1",
    })
    for name in ("REDIS_URL", "MAIL_SERVER", "JOBS_REDIS_URL"):
        env.pop(name, None)
    return env


class Api:
    """Calls on their own connections; a call that fails is sent again with the same Idempotency-Key."""

    def __init__(self, port: int, tokens_by_side: dict[str, str]):
        self.port = port
        self.tokens = tokens_by_side
        self.in_flight = threading.Event()
        self.cut_short = 0  # calls whose connection dropped (a worker killed under them)
        self.failed_5xx = 0

    def _once(self, method: str, path: str, side: str, body: dict | None, key: str | None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        headers = {"Authorization": f"Bearer {self.tokens[side]}", "Accept-Language": "en", "Connection": "close"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if key is not None:
            headers["Idempotency-Key"] = key
        self.in_flight.set()
        try:
            connection.request(method, f"/api/v1{path}", body=json.dumps(body) if body is not None else None,
                               headers=headers)
            response = connection.getresponse()
            return response.status, response.read().decode("utf-8", "replace")
        finally:
            self.in_flight.clear()
            connection.close()

    def call(self, method: str, path: str, side: str, body: dict | None = None, key: str | None = None):
        """(status, JSON) of the first answer that is not a dropped connection or a 5xx."""
        for _attempt in range(ATTEMPTS):
            try:
                status, text = self._once(method, path, side, body, key)
            except (OSError, http.client.HTTPException):
                self.cut_short += 1
                time.sleep(0.1)
                continue
            if status >= 500:
                assert "Traceback" not in text, text[:2000]
                self.failed_5xx += 1
                time.sleep(0.1)
                continue
            return status, json.loads(text) if text else None
        raise AssertionError(f"{method} {path}: no answer after {ATTEMPTS} attempts")


class Client(threading.Thread):
    """Drives intents from creation to fulfilment, remembering every 2xx answer."""

    def __init__(self, api: Api, product_id: int):
        super().__init__(name="intent-client", daemon=True)
        self.api = api
        self.product_id = product_id
        self.enough = threading.Event()  # the kills are over: finish the intent under way, then stop
        self.created: dict[str, int] = {}  # creation key → intent id
        self.told: list[tuple[int, int, str]] = []  # (intent id, version, state) of every 2xx
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            for number in range(MAX_INTENTS):
                if number >= MIN_INTENTS and self.enough.is_set():
                    return
                self._one(number)
        except BaseException as error:  # noqa: BLE001 - reported by the test
            self.error = error

    def _remember(self, body: dict) -> None:
        self.told.append((body["id"], body["version"], body["state"]))

    def _one(self, number: int) -> None:
        key = uuid.uuid4().hex
        status, body = self.api.call("POST", "/intents", "buyer", {
            "product_id": self.product_id, "quantity": 100 + number, "unit_price_fen": 5000 + number}, key)
        assert status == 201, (status, body)
        self.created[key] = body["id"]
        self._remember(body)
        intent_id, version = body["id"], body["version"]
        for side, action in STEPS:
            status, body = self.api.call("POST", f"/intents/{intent_id}/transitions", side,
                                         {"action": action.value, "version": version}, uuid.uuid4().hex)
            if status == 409:  # an earlier attempt went through, its answer lost with the worker: read it
                status, body = self.api.call("GET", f"/intents/{intent_id}", side)
                assert status == 200 and body["version"] == version + 1, (status, body)
                assert body["events"][-1]["action"] == action.value, body["events"][-1]
            assert status == 200, (action, status, body)
            self._remember(body)
            version = body["version"]
        assert body["state"] == IntentState.FULFILLED.value, body


@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)
def test_killing_gunicorn_workers_during_intent_actions_loses_and_doubles_nothing(app, app_config, tmp_path):
    with app.app_context():
        buyer = make_company(kind=CompanyKind.CHAIN_LEADER)
        buyer_user = make_user(company=buyer)
        exporter = make_company(kind=CompanyKind.EXPORTER)
        exporter_user = make_user(company=exporter)
        product_id = make_product(exporter, actor=exporter_user, moq=100).id
        _token, buyer_token = tokens.create_token(buyer_user, "faults", list(SCOPES), 30)
        _token, exporter_token = tokens.create_token(exporter_user, "faults", list(SCOPES), 30)
        buyer_id = buyer.id
        db.session.remove()

    port = _free_port()
    log_path = tmp_path / "gunicorn.log"
    # --preload: the app is built once in the master and each new worker is forked from it, serving at once
    # (without it a replacement spends ~2 s importing the app, ten times that on a loaded machine)
    command = [str(BIN / "gunicorn"), "--workers", "2", "--bind", f"127.0.0.1:{port}", "--keep-alive", "0",
               "--graceful-timeout", "5", "--preload", "wsgi:app"]
    with log_path.open("w") as log:
        server = subprocess.Popen(command, cwd=PROJECT_ROOT, env=_server_env(app_config, tmp_path), stdout=log,
                                  stderr=subprocess.STDOUT)
    api = Api(port, {"buyer": buyer_token, "exporter": exporter_token})
    rng = random.Random(9)
    kills = 0
    try:
        def serving() -> bool:
            assert server.poll() is None, f"gunicorn exited with {server.returncode}:\n{log_path.read_text()[-4000:]}"
            if len(_worker_pids(server.pid)) < 2:
                return False
            try:
                return api._once("GET", "/intents?limit=1", "buyer", None, None)[0] == 200
            except OSError:
                return False

        wait_until(serving, 60, "gunicorn to answer", interval=0.2)
        client = Client(api, product_id)
        client.start()
        while kills < MAX_KILLS and (kills < KILLS or not api.cut_short) and client.is_alive():
            # a call in flight, then both workers killed: the one serving it dies under it
            wait_until(lambda: api.in_flight.is_set() or not client.is_alive(), 30, "a call in flight", 0.001)
            time.sleep(rng.uniform(0.0, 0.02))
            workers = _worker_pids(server.pid)
            for pid in workers:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            kills += 1
            # gunicorn forks new workers; the client's call is sent again and served by one of them
            wait_until(lambda workers=workers: len(set(_worker_pids(server.pid)) - set(workers)) >= 2, 60,
                       "gunicorn to replace the killed workers", 0.05)
            time.sleep(rng.uniform(0.1, 0.4))
        client.enough.set()
        client.join(timeout=120)
        assert not client.is_alive(), "the client did not finish within 2 minutes"
        if client.error is not None:
            raise client.error
        assert server.poll() is None, log_path.read_text()[-4000:]
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=10)
    assert api.cut_short, f"no call was cut short by the {kills} kills"
    assert api.failed_5xx == 0, "the app answered a 5xx (the database was up all along)"
    assert "Traceback" not in log_path.read_text(), log_path.read_text()[-4000:]  # the app logged no error

    with app.app_context():
        intents = {intent.id: intent for intent in db.session.scalars(
            sa.select(OrderIntent).where(OrderIntent.buyer_company_id == buyer_id))}
        events: dict[int, list[OrderIntentEvent]] = {}
        for event in db.session.scalars(sa.select(OrderIntentEvent).order_by(OrderIntentEvent.id)):
            events.setdefault(event.intent_id, []).append(event)
        # nothing doubled: one intent per creation key, no other
        assert sorted(intents) == sorted(client.created.values())
        for key, intent_id in client.created.items():
            namespaced = hashlib.sha256(f"api:{buyer_id}:{key}".encode()).hexdigest()
            assert intents[intent_id].idempotency_key == namespaced
        # nothing lost: what the client was told is there
        for intent_id, version, state in client.told:
            assert intent_id in intents
            assert intents[intent_id].version >= version
            told = next(e for e in events[intent_id] if e.version == version)
            assert told.to_state.value == state
        # nothing half-written: every history whole, the state its last event's
        assert set(events) == set(intents), "an intent without its events, or events without their intent"
        for intent_id, intent in intents.items():
            history = events[intent_id]
            assert [e.version for e in history] == list(range(1, intent.version + 1)), (intent_id, history)
            assert history[0].action is Action.CREATE and history[0].from_state is None
            assert intent.state is history[-1].to_state
            assert all(a.to_state is b.from_state for a, b in zip(history, history[1:], strict=False))
            assert intent.state is IntentState.FULFILLED
    print(f"\nkills={kills} calls cut short={api.cut_short} 5xx={api.failed_5xx} intents={len(intents)}")
