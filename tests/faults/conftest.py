"""Fixtures of the fault tests: an app whose commits only log changes, and the fork server of ``flask`` commands.

``worker_app`` is the test's app with ``SEARCH_DRAIN=worker`` (production's setting: the web
processes only log changes; ``flask index worker`` applies them). ``zygote`` starts
``tests/faults/_children.py`` on the same settings (it builds the app once, then forks a child per
command): ``zygote.start("index", "worker")`` runs the real command in a child process, which the
test may ``kill()`` (SIGKILL) or ``stop()`` (SIGTERM, the graceful way) and start again. Every wait is
bounded; every child still running at the end is killed.
"""
from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from marketplace.config import PROJECT_ROOT
from tests.faults._children import child_env

#: seconds the zygote may take to build the app (about 2 s on this machine, alone)
ZYGOTE_START_TIMEOUT = 60.0


@dataclass
class Child:
    """A ``flask`` command running in a forked child."""

    pid: int
    log: Path

    def output(self) -> str:
        """What it printed so far (stdout and stderr)."""
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""


class Zygote:
    """The client side of ``python -m tests.faults._children zygote``: start, kill and wait for children."""

    def __init__(self, config: dict, workdir: Path):
        self.workdir = workdir
        self.log = workdir / "zygote.log"
        self.started = 0
        self.running: dict[int, Child] = {}
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.faults._children", "zygote"], cwd=PROJECT_ROOT,
                env=child_env(config), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True)
        self._ready = False

    def _read(self, timeout: float) -> dict:
        readable, _, _ = select.select([self.process.stdout], [], [], timeout)
        line = self.process.stdout.readline() if readable else ""
        if not line:
            self.process.kill()
            raise AssertionError(f"the zygote did not answer within {timeout} s (exit {self.process.poll()}):\n"
                                 f"{self.log.read_text()[-4000:]}")
        return json.loads(line)

    def _ask(self, message: dict, timeout: float = 10.0) -> dict:
        if not self._ready:
            self._read(ZYGOTE_START_TIMEOUT)
            self._ready = True
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()
        return self._read(timeout + 10.0)

    def start(self, *args: str) -> Child:
        """Run ``flask ARGS`` in a new child (its output in its own log file)."""
        self.started += 1
        log = self.workdir / f"child-{self.started}-{'-'.join(args[:2])}.log"
        pid = self._ask({"fork": list(args), "log": str(log)})["pid"]
        child = Child(pid, log)
        self.running[pid] = child
        return child

    def wait(self, child: Child, timeout: float) -> int | None:
        """The child's exit status (-N: killed by signal N), or None when it still runs after ``timeout`` s."""
        status = self._ask({"wait": child.pid, "timeout": timeout}, timeout)["status"]
        if status is not None:
            self.running.pop(child.pid, None)
        return status

    def kill(self, child: Child) -> int | None:
        """SIGKILL the child and reap it."""
        try:
            os.kill(child.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        return self.wait(child, 10.0)

    def stop(self, child: Child, timeout: float = 30.0) -> int | None:
        """SIGTERM the child (a worker finishes its batch and its running job) and wait for it."""
        try:
            os.kill(child.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        status = self.wait(child, timeout)
        if status is None:
            self.kill(child)
        return status

    def close(self) -> None:
        """Kill every child still running, then end the zygote."""
        for child in list(self.running.values()):
            if self.process.poll() is None:
                self.kill(child)
            else:
                try:
                    os.kill(child.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if self.process.poll() is None:
            try:
                self.process.stdin.write(json.dumps({"exit": True}) + "\n")
                self.process.stdin.close()
                self.process.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait(timeout=10)
        self.process.stdout.close()


@pytest.fixture
def worker_config(app_config) -> dict:
    """The test app's settings with the drain left to ``flask index worker``."""
    app_config["SEARCH_DRAIN"] = "worker"
    return app_config


@pytest.fixture
def zygote(worker_config, tmp_path):
    """The fork server of ``flask`` commands on the test app's settings (started now: it builds the app meanwhile)."""
    workdir = tmp_path / "children"
    workdir.mkdir()
    server = Zygote(worker_config, workdir)
    yield server
    server.close()


@pytest.fixture
def worker_app(worker_config, zygote, request):
    """The test's app (empty tables) with ``SEARCH_DRAIN=worker``; the zygote is already building its own."""
    return request.getfixturevalue("app")


def wait_until(predicate, timeout: float, what: str, interval: float = 0.05):
    """Poll ``predicate`` until it returns something true; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)
