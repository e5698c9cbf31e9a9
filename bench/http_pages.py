"""HTTP pages through the Flask test client: latency percentiles and throughput per page.

A temporary app on SQLite in a temporary directory, the demo data (200 companies by
default) loaded through ``marketplace.demo.load_demo_data``, then N requests per page, one
after another, in a fixed order. It measures the application (routing, queries, templates),
not a network or a WSGI server; a page that answers with something other than 200 is still
measured and its status codes are shown.
"""
from __future__ import annotations

import logging
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

DEFAULT_REQUESTS = 300
DEFAULT_COMPANIES = 200
WARMUP = 10
CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


@dataclass
class PageResult:
    """The timings of one page."""

    label: str
    timings_ms: list[float]
    statuses: Counter
    elapsed_s: float

    def percentile(self, p: int) -> float:
        """The p-th percentile (1–99) of the timings, in milliseconds."""
        return statistics.quantiles(self.timings_ms, n=100, method="inclusive")[p - 1]

    @property
    def per_second(self) -> float:
        return len(self.timings_ms) / self.elapsed_s if self.elapsed_s else float("inf")


def make_app(directory: Path):
    """A throw-away app: SQLite in ``directory``, testing settings, rate limits off."""
    from marketplace import create_app
    from marketplace.extensions import db

    app = create_app({
        "TESTING": True,
        "ENV": "development",
        "SECRET_KEY": "bench-secret-key-not-for-production",
        "INSTANCE_DIR": str(directory / "instance"),
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{directory / 'bench.db'}",
        "SEARCH_INDEX_DIR": str(directory / "index"),
        "UPLOAD_DIR": str(directory / "uploads"),
        "RATELIMIT_ENABLED": False,
        "RATELIMIT_STORAGE_URI": "memory://",
        "MAIL_SERVER": "",
    })
    with app.app_context():
        db.create_all()
    return app


def measure(client, label: str, url: str, requests: int) -> PageResult:
    """GET ``url`` ``requests`` times after a short warm-up."""
    for _ in range(WARMUP):
        client.get(url)
    timings, statuses = [], Counter()
    started = time.perf_counter()
    for _ in range(requests):
        t0 = time.perf_counter()
        response = client.get(url)
        response.get_data()
        timings.append((time.perf_counter() - t0) * 1000)
        statuses[response.status_code] += 1
    return PageResult(label, timings, statuses, time.perf_counter() - started)


def log_in(client, email: str, password: str) -> bool:
    """Log in through the form (CSRF token included); whether a session was opened."""
    page = client.get("/account/login").get_data(as_text=True)
    match = CSRF_RE.search(page)
    data = {"email": email, "password": password}
    if match:
        data["csrf_token"] = match.group(1)
    client.post("/account/login", data=data)
    with client.session_transaction() as session:
        return bool(session.get("_user_id"))


def format_table(results: list[PageResult]) -> str:
    """Results as an aligned text table."""
    header = ("page", "status", "p50 ms", "p95 ms", "p99 ms", "req/s")
    rows = [header]
    for r in results:
        status = " ".join(f"{code}×{n}" if len(r.statuses) > 1 else str(code) for code, n in sorted(r.statuses.items()))
        rows.append((r.label, status, f"{r.percentile(50):.2f}", f"{r.percentile(95):.2f}",
                     f"{r.percentile(99):.2f}", f"{r.per_second:.0f}"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = []
    for number, row in enumerate(rows):
        cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1])]
        cells += [cell.rjust(width) for cell, width in zip(row[2:], widths[2:], strict=True)]
        lines.append("  ".join(cells))
        if number == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def run(requests: int = DEFAULT_REQUESTS, companies: int = DEFAULT_COMPANIES, seed: int = 2025) -> list[PageResult]:
    """Build the app and data, measure every page, print the table; returns the results."""
    from marketplace.accounts.models import User
    from marketplace.demo import DEMO_PASSWORD, EXPORTER_EMAIL, load_demo_data
    from marketplace.extensions import db

    with tempfile.TemporaryDirectory(prefix="rongtong-bench-") as tmp:
        app = make_app(Path(tmp))
        logging.getLogger().setLevel(logging.WARNING)  # create_app logs at INFO; keep the table clean
        with app.app_context():
            t0 = time.perf_counter()
            load_demo_data(companies=companies, seed=seed)
            load_s = time.perf_counter() - t0
            exporter = db.session.scalar(sa.select(User).where(User.email == EXPORTER_EMAIL))
            company_id = exporter.company_id
            db.session.remove()

        print(f"HTTP pages: {requests} requests per page after {WARMUP} warm-up, Flask test client, "
              f"SQLite, {companies} demo companies (seed {seed}, loaded in {load_s:.2f} s)")
        print(f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs")
        anonymous = app.test_client()
        results = [
            measure(anonymous, "GET /", "/", requests),
            measure(anonymous, "GET /companies/", "/companies/", requests),
            measure(anonymous, f"GET /companies/{company_id}", f"/companies/{company_id}", requests),
            measure(anonymous, "GET /account/login", "/account/login", requests),
            measure(anonymous, "GET /search/?q=电饭锅 (facets)", "/search/?q=电饭锅", requests),
            measure(anonymous, "GET /search/?q=rice cooker&sort=price_asc",
                    "/search/?q=rice+cooker&sort=price_asc", requests),
        ]
        member = app.test_client()
        logged_in = log_in(member, EXPORTER_EMAIL, DEMO_PASSWORD)
        label = f"GET /companies/{company_id}/edit" + ("" if logged_in else " (login failed)")
        results.append(measure(member, label, f"/companies/{company_id}/edit", requests))
        print(format_table(results))
        with app.app_context():
            db.engine.dispose()
        sys.stdout.flush()
        return results
