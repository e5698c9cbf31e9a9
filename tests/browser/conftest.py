"""Fixtures for browser tests: a live server on SQLite and Debian's Chromium through Playwright.

Chromium is the one Debian installs (``/usr/bin/chromium``, or ``CHROMIUM_PATH``); Playwright
never downloads a browser here. Missing Chromium skips the tests locally and fails them in CI.
Every page records its console: a Content Security Policy violation (an inline script or style
slipped in) or an uncaught script error fails the test.
"""
from __future__ import annotations

import os
import re
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

from marketplace import create_app
from marketplace.config import PROJECT_ROOT
from marketplace.extensions import db
from tests.conftest import IN_CI, make_test_config

# assertions wait as long as actions do (5 s by default): `make test` runs two pytest workers on two cores, so a
# page may take longer to settle than on an idle machine
expect.set_options(timeout=10_000)

ARTIFACTS_DIR = PROJECT_ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-quic",
    "--no-first-run",
    "--disable-sync",
]
PHONE_VIEWPORT = {"width": 390, "height": 844}


def chromium_path() -> str | None:
    """The Chromium to drive: ``CHROMIUM_PATH`` when set, else Debian's; None when it is missing."""
    configured = os.environ.get("CHROMIUM_PATH", "").strip()
    candidates = [configured] if configured else ["/usr/bin/chromium", shutil.which("chromium") or ""]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def _unavailable(message: str):
    if IN_CI:
        pytest.fail(f"{message} (CI requires the browser tests to run)")
    pytest.skip(message)


@dataclass
class LiveServer:
    """A running test app: its base URL and the app (for database set-up inside its context)."""

    url: str
    app: object

    def __call__(self, path: str = "/") -> str:
        """The absolute URL of ``path``."""
        return self.url + path


@pytest.fixture
def live_server(tmp_path):
    """Serve a fresh app (SQLite in ``tmp_path``) on 127.0.0.1 and a free port in a daemon thread."""
    config = make_test_config(tmp_path, f"sqlite:///{tmp_path / 'browser.db'}")
    app = create_app(config)
    with app.app_context():
        db.create_all()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(url=f"http://127.0.0.1:{server.server_port}", app=app)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture(scope="session")
def playwright_instance():
    """The Playwright driver (no browser download: Debian's Chromium is used)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as error:  # pragma: no cover - the dev extra installs it
        _unavailable(f"the playwright package is not installed: {error}")
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright_instance):
    """Headless Debian Chromium, one for the whole run."""
    executable = chromium_path()
    if executable is None:
        _unavailable("Chromium not found (install Debian's chromium or set CHROMIUM_PATH)")
    chromium = playwright_instance.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


@dataclass
class ConsoleLog:
    """What the pages of one test printed to the console."""

    errors: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def on_console(self, message) -> None:
        """Record console errors; CSP violations separately."""
        text = message.text
        if "Content Security Policy" in text:
            self.csp_violations.append(text)
        elif message.type == "error":
            self.errors.append(text)

    def on_page_error(self, error) -> None:
        """Record an uncaught script error."""
        self.page_errors.append(str(error))


@pytest.fixture
def console_log() -> ConsoleLog:
    """The console messages of every page the test opened."""
    return ConsoleLog()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so fixtures can tell whether the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def _save_failure_screenshots(request, contexts) -> None:
    report = getattr(request.node, "report_call", None)
    if report is None or not report.failed:
        return
    for index, context in enumerate(contexts):
        for number, open_page in enumerate(context.pages):
            name = f"failed-{request.node.name}-{index}-{number}"
            try:
                path = screenshot(open_page, re.sub(r"[^\w.-]+", "_", name))
            except Exception as error:  # a screenshot must not hide the real failure
                print(f"no screenshot of {open_page.url}: {error}")
            else:
                print(f"screenshot of {open_page.url} at the failure: {path}")


@pytest.fixture
def new_page(browser, console_log, request):
    """Open a page in a new Chinese browser context; keyword arguments go to ``new_context``."""
    contexts = []

    def open_page(**context_options):
        options = {"locale": "zh-CN", "extra_http_headers": {"Accept-Language": "zh-CN,zh;q=0.9"}}
        options.update(context_options)
        context = browser.new_context(**options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.on("console", console_log.on_console)
        page.on("pageerror", console_log.on_page_error)
        return page

    yield open_page
    _save_failure_screenshots(request, contexts)
    for context in contexts:
        context.close()
    problems = [f"CSP violation: {text}" for text in console_log.csp_violations]
    problems += [f"uncaught script error: {text}" for text in console_log.page_errors]
    if problems:
        pytest.fail("the pages reported:\n" + "\n".join(problems))


@pytest.fixture
def page(new_page):
    """A page in a fresh browser context that speaks Chinese (zh-CN)."""
    return new_page()


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot to ``test-artifacts/`` (gitignored) for a person to look at."""
    ARTIFACTS_DIR.mkdir(exist_ok=True)
    path = ARTIFACTS_DIR / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist (``make test`` runs two workers), every browser test runs on the same worker, one
    after another: Chromium beside a second Chromium on two cores made timings flaky."""
    for item in items:
        if item.get_closest_marker("browser") is not None:
            item.add_marker(pytest.mark.xdist_group("browser"))
