"""PostgreSQL restarted under load: requests fail cleanly (a localized 503) and recover by themselves.

The machine's PostgreSQL serves the other tests at the same time, so it is not restarted: the app
reaches it through a TCP proxy (a thread of this test on a free 127.0.0.1 port), and "restarting" is
the proxy dropping every connection it carries and resetting new ones for a while, as a server going
down does, then forwarding again. Meanwhile two threads keep asking pages and the API. While it is
down, every answer is a 503 with ``Retry-After`` — the page in Chinese by default, in English for an
English browser or after the language switch, the API a problem document — never a 500 or a
traceback. Once it is back, the very next requests succeed: the pool's pre-ping replaces the dead
connections, nobody restarts the app. A connection lost after a request's last query does not turn
the request's end into an error either.
"""
from __future__ import annotations

import socket
import struct
import threading
import time

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from marketplace.accounts.models import CompanyKind
from marketplace.api import tokens
from marketplace.api.models import SCOPES
from marketplace.extensions import db
from tests.conftest import login, post_form
from tests.factories import make_company, make_user
from tests.faults.conftest import wait_until

pytestmark = pytest.mark.slow

#: seconds the database stays unreachable (at least)
DOWN_FOR = 1.5
PAGE = "/companies/"
API = "/api/v1/intents"


class Proxy:
    """Forwards 127.0.0.1:``port`` to the database; ``down()`` drops every connection and resets new ones."""

    def __init__(self, host: str, port: int):
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self.serving = threading.Event()
        self.serving.set()
        self.epoch = 0  # moves at every down() and up()
        self.closed = threading.Event()
        self.lock = threading.Lock()
        self.sockets: set[socket.socket] = set()
        self.forwarded = self.refused = 0
        self.thread = threading.Thread(target=self._accept, name="pg-proxy", daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                client, _address = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if not self.serving.is_set():
                # a server that is down: the connection is reset
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                client.close()
                self.refused += 1
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self.lock:
                self.sockets.update((client, upstream))
                self.forwarded += 1
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            self._drop(source, sink)

    def _drop(self, *sockets: socket.socket) -> None:
        for sock in sockets:
            with self.lock:
                self.sockets.discard(sock)
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def down(self) -> None:
        """The server goes away: every connection is cut, new ones are reset."""
        self.epoch += 1
        self.serving.clear()
        with self.lock:
            sockets = list(self.sockets)
        self._drop(*sockets)

    def up(self) -> None:
        """The server is back."""
        self.epoch += 1
        self.serving.set()

    def close(self) -> None:
        self.closed.set()
        self.down()
        self.listener.close()
        self.thread.join(timeout=5)


@pytest.fixture
def pg_proxy(app_config):
    """The app's database URL through a proxy of this test (set before the app is made)."""
    url = make_url(app_config["SQLALCHEMY_DATABASE_URI"])
    proxy = Proxy(url.host or "127.0.0.1", url.port or 5432)
    app_config["SQLALCHEMY_DATABASE_URI"] = url.set(host="127.0.0.1", port=proxy.port).render_as_string(
        hide_password=False)
    # as in production: an exception no handler takes becomes the 500 page instead of reaching the test client
    app_config["PROPAGATE_EXCEPTIONS"] = False
    yield proxy
    proxy.close()


@pytest.fixture
def proxied_app(pg_proxy, request):
    """The test's app, on PostgreSQL through the proxy (its tables dropped through it, up again, at the end)."""
    yield request.getfixturevalue("app")
    pg_proxy.up()


class Load(threading.Thread):
    """A client asking a page and the API in turn until stopped; every answer is kept with whether the
    database was up for the whole of the request."""

    def __init__(self, app, proxy: Proxy, token: str):
        super().__init__(daemon=True)
        self.client = app.test_client()
        self.proxy = proxy
        self.token = token
        self.stop = threading.Event()
        self.answers: list[tuple[bool, str, int, str]] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                for path, headers in ((PAGE, {}), (API, {"Authorization": f"Bearer {self.token}"})):
                    epoch, serving = self.proxy.epoch, self.proxy.serving.is_set()
                    response = self.client.get(path, headers=headers)
                    self.answers.append((serving and self.proxy.epoch == epoch, path, response.status_code,
                                         response.get_data(as_text=True)))
                time.sleep(0.02)
        except BaseException as error:  # noqa: BLE001 - an exception here is what the test must report
            self.error = error


def _assert_page_503(response, language: str) -> None:
    html = response.get_data(as_text=True)
    assert response.status_code == 503, (response.status_code, html[:2000])
    assert response.headers["Retry-After"].isdigit()
    assert response.mimetype == "text/html"
    assert "Traceback" not in html and "OperationalError" not in html and "psycopg" not in html
    if language == "en":
        assert '<html lang="en">' in html
        assert "Service temporarily unavailable" in html and "try again in a few seconds" in html
    else:  # the default
        assert '<html lang="zh-CN">' in html
        assert "服务暂时不可用" in html and "Service temporarily unavailable" not in html


def _assert_api_503(response, language: str) -> None:
    assert response.status_code == 503, (response.status_code, response.get_data(as_text=True)[:2000])
    assert response.mimetype == "application/problem+json"
    assert response.headers["Retry-After"].isdigit()
    problem = response.get_json()
    assert problem["status"] == 503 and problem["instance"] == API
    assert "Traceback" not in problem["detail"] and "psycopg" not in problem["detail"]
    if language == "en":
        assert problem["title"] == "Service unavailable" and "Idempotency-Key" in problem["detail"]
        assert response.headers["Content-Language"] == "en"
    else:
        assert problem["title"] == "服务暂不可用" and "Idempotency-Key" in problem["detail"]
        assert "Try again" not in problem["detail"]
        assert response.headers["Content-Language"] == "zh-CN"


@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)
def test_a_database_restart_gives_a_localized_503_and_requests_recover_by_themselves(proxied_app, pg_proxy):
    app, proxy = proxied_app, pg_proxy
    with app.app_context():
        buyer = make_company(kind=CompanyKind.CHAIN_LEADER)
        user = make_user(company=buyer)
        email = user.email
        _token, raw = tokens.create_token(user, "faults", list(SCOPES), 30)
    member = app.test_client()  # logged in; no Accept-Language: Chinese
    assert login(member, email).status_code == 200
    english = app.test_client()
    english.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    switched = app.test_client()  # chose English with the language switch (kept in its session cookie)
    post_form(switched, "/language/en", {"next": PAGE}, form_url=PAGE)
    bearer = {"Authorization": f"Bearer {raw}"}

    def healthy() -> None:
        for client, path in ((member, "/deals/"), (english, PAGE), (switched, PAGE), (member, PAGE)):
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code, response.get_data(as_text=True)[:2000])
        for language in ("en", "zh-CN"):
            response = english.get(API, headers={**bearer, "Accept-Language": language})
            assert response.status_code == 200, response.get_data(as_text=True)[:2000]

    healthy()
    loads = [Load(app, proxy, raw) for _ in range(2)]
    for load in loads:
        load.start()
    try:
        time.sleep(0.2)
        proxy.down()
        went_down = time.monotonic()
        _assert_page_503(member.get("/deals/"), "zh")  # a logged-in page: its user cannot even be loaded
        _assert_page_503(member.get(PAGE), "zh")
        _assert_page_503(english.get(PAGE), "en")
        _assert_page_503(switched.get(PAGE), "en")
        _assert_api_503(english.get(API, headers={**bearer, "Accept-Language": "en"}), "en")
        _assert_api_503(member.get(API, headers=bearer), "zh")  # no Accept-Language: Chinese
        wait_until(lambda: all(load.error or not load.is_alive() or any(
            not ok and status == 503 for ok, _p, status, _b in load.answers) for load in loads), 20,
            "both clients to meet the outage")
        for load in loads:
            if load.error is not None:
                raise load.error
        time.sleep(max(0.0, DOWN_FOR - (time.monotonic() - went_down)))
        proxy.up()
        healthy()  # at once: the dead connections are replaced by the pool's pre-ping, nothing restarted
        marks = [len(load.answers) for load in loads]
        wait_until(lambda: all(sum(1 for ok, *_rest in load.answers[mark:] if ok) >= 4
                               for load, mark in zip(loads, marks, strict=True)), 20,
                   "both clients to be answered again")
    finally:
        proxy.up()
        for load in loads:
            load.stop.set()
        for load in loads:
            load.join(timeout=30)
    for load in loads:
        assert not load.is_alive()
        if load.error is not None:
            raise load.error
        statuses = {(path, status) for _ok, path, status, _body in load.answers}
        assert {status for _path, status in statuses} <= {200, 503}, statuses
        assert not any("Traceback" in body for *_rest, body in load.answers)
        # every request made while the database was up (start to end) succeeded
        failed = [(path, status, body[:300]) for ok, path, status, body in load.answers if ok and status != 200]
        assert not failed, failed[:3]
    assert proxy.refused > 0

    # the connection lost after a request's last query, its transaction still open: the teardown raises nothing
    with app.app_context():
        assert db.session.execute(sa.text("SELECT 1")).scalar() == 1
        proxy.down()
    proxy.up()
    healthy()
    print(f"\n503s under load: {sum(1 for load in loads for a in load.answers if a[2] == 503)}, "
          f"answers: {sum(len(load.answers) for load in loads)}, connections reset while down: {proxy.refused}")
