"""The login rate limit holds exactly across two gunicorn workers when it is stored in Redis.

Memory storage is per worker (measured here: "5 per minute" let 10 through with 2 workers),
so production keeps the counters in Redis. This test runs the real server: gunicorn with two
sync workers, a fresh SQLite database, and Redis database 15 under a key prefix of its own.
Each attempt has its own connection. The kernel may hand every connection to one worker, so the
test makes sure both serve: one attempt's last header line is held back, which keeps the worker
that accepted it waiting (a sync worker serves one connection at a time) while the next attempts
go to the other; then it is sent, the first worker answers it, and the remaining attempts go two
at a time. gunicorn's access log (its ``%(p)s`` atom is the worker's pid) shows who answered each.
"""
from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from marketplace.config import PROJECT_ROOT
from tests.conftest import IN_CI

pytestmark = pytest.mark.slow

REDIS_URL = os.environ.get("TEST_REDIS_URL", "").strip() or "redis://127.0.0.1:6379/15"
BIN = Path(sys.executable).parent
CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
LIMIT = 5
ATTEMPTS = 12


def _require_redis() -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        message = f"Redis at {REDIS_URL} is unreachable: {error}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _server_env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "RONGTONG_ENV": "development",
            "SECRET_KEY": "gunicorn-rate-limit-test-key-0123456789",
            "INSTANCE_DIR": str(tmp_path / "instance"),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'rate.db'}",
            "RATELIMIT_STORAGE_URI": REDIS_URL,
            "RATELIMIT_KEY_PREFIX": f"rt-test-{uuid.uuid4().hex}",
            "RATELIMIT_ENABLED": "true",
            "LOGIN_RATE_LIMIT": f"{LIMIT} per minute",
            "PYTHONUNBUFFERED": "1",
        }
    )
    for name in ("REDIS_URL", "MAIL_SERVER", "SEARCH_INDEX_DIR", "UPLOAD_DIR"):
        env.pop(name, None)
    return env


def _create_tables(env: dict[str, str]) -> None:
    if (PROJECT_ROOT / "migrations" / "env.py").exists():
        command = [str(BIN / "flask"), "--app", "wsgi", "db", "upgrade"]
    else:
        command = [
            sys.executable,
            "-c",
            "from marketplace import create_app\nfrom marketplace.extensions import db\n"
            "app = create_app()\nwith app.app_context():\n    db.create_all()\n",
        ]
    result = subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"creating the tables failed:\n{result.stdout}\n{result.stderr}"


def _request(port: int, method: str, path: str, body: str | None = None, cookie: str | None = None):
    """One request on its own connection; returns (status, headers, text)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    headers = {"Connection": "close", "Accept-Language": "en"}
    if cookie:
        headers["Cookie"] = cookie
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.headers, response.read().decode("utf-8", "replace")
    finally:
        connection.close()


def _held_request(port: int, path: str, body: str, cookie: str) -> socket.socket:
    """A POST sent without its blank line and body: the worker that accepts it waits for the rest."""
    connection = socket.create_connection(("127.0.0.1", port), timeout=15)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nAccept-Language: en\r\n"
        f"Cookie: {cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body.encode())}\r\n"
    )
    connection.sendall(head.encode())
    return connection


def _finish_held_request(connection: socket.socket, body: str) -> int:
    """Send the held request's blank line and body; return the status it gets."""
    try:
        connection.sendall(b"\r\n" + body.encode())
        response = http.client.HTTPResponse(connection)
        response.begin()
        response.read()
        return response.status
    finally:
        connection.close()


def _worker_pids(master_pid: int) -> list[int]:
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children")
    try:
        return [int(pid) for pid in children.read_text().split()]
    except OSError:
        return []


def _wait_until_serving(process: subprocess.Popen, port: int, log_path: Path, workers: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited with {process.returncode}:\n{log_path.read_text()}")
        if len(_worker_pids(process.pid)) >= workers:
            try:
                _request(port, "GET", "/")
                return
            except OSError:
                pass
        time.sleep(0.2)
    pytest.fail(f"gunicorn did not answer within 60 s:\n{log_path.read_text()}")


def _login_posts_by_worker(access_log: Path) -> dict[int, int]:
    """Worker pid → number of POST /account/login it answered, from the access log (pid as <123>)."""
    served: dict[int, int] = {}
    for line in access_log.read_text().splitlines():
        pid, method, path, _status = line.split()
        if method == "POST" and path == "/account/login":
            worker = int(pid.strip("<>"))
            served[worker] = served.get(worker, 0) + 1
    return served


def _stop(process: subprocess.Popen) -> None:
    """Stop gunicorn gracefully (its workers finish and flush their logs); kill it if it hangs."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def _session_cookie(headers) -> str:
    for value in headers.get_all("Set-Cookie") or []:
        if value.startswith("session="):
            return value.split(";", 1)[0]
    raise AssertionError("the login page set no session cookie")


def test_login_rate_limit_is_exact_across_two_gunicorn_workers_with_redis(tmp_path):
    _require_redis()
    env = _server_env(tmp_path)
    _create_tables(env)
    port = _free_port()
    log_path = tmp_path / "gunicorn.log"
    access_log = tmp_path / "access.log"
    command = [
        str(BIN / "gunicorn"), "--workers", "2", "--bind", f"127.0.0.1:{port}", "--keep-alive", "0",
        "--access-logfile", str(access_log), "--access-logformat", "%(p)s %(m)s %(U)s %(s)s",
        "wsgi:app",
    ]  # fmt: skip
    with log_path.open("w") as log:
        process = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_serving(process, port, log_path, workers=2)
        assert len(_worker_pids(process.pid)) == 2

        # One login page for the CSRF token and session cookie, then every attempt on a new connection.
        status, headers, html = _request(port, "GET", "/account/login")
        assert status == 200, f"GET /account/login answered {status}:\n{log_path.read_text()[-3000:]}"
        match = CSRF_RE.search(html)
        assert match, "no CSRF token on the login page"
        cookie = _session_cookie(headers)
        body = urllib.parse.urlencode(
            {"csrf_token": match.group(1), "email": "nobody@example.com", "password": "wrong password 123"}
        )
        def attempt(_=None) -> int:
            return _request(port, "POST", "/account/login", body, cookie)[0]

        # one worker accepts the held attempt and waits for its end; meanwhile the other serves the first three
        held = _held_request(port, "/account/login", body, cookie)
        time.sleep(0.5)
        first = [attempt() for _ in range(3)]
        held_status = _finish_held_request(held, body)
        with ThreadPoolExecutor(max_workers=2) as pool:
            rest = list(pool.map(attempt, range(ATTEMPTS - len(first) - 1)))
        statuses = [*first, held_status, *rest]
        assert first == [200, 200, 200] and held_status == 200, statuses

        allowed = [status for status in statuses if status != 429]
        assert len(allowed) == LIMIT, f"expected {LIMIT} attempts through, got {statuses}"
        assert statuses.count(429) == ATTEMPTS - LIMIT, statuses
        # the attempts that got through reached the login form (not a CSRF or server error)
        assert all(status == 200 for status in allowed), statuses
        workers = _worker_pids(process.pid)
        assert len(workers) == 2, "a worker died during the test"
        _stop(process)  # flushes the access log
        served = _login_posts_by_worker(access_log)
        assert sum(served.values()) == ATTEMPTS, served
        assert set(served) == set(workers), f"both workers should have answered: {served}"
    finally:
        _stop(process)
