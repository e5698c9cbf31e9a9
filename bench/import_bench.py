"""Spreadsheet import: a generated 10,000-row XLSX checked (dry run), imported, and imported again.

The rows are realistic products of every demo industry (``marketplace.demo_products``, seeded),
written as the Chinese template's columns with ``spreadsheet.export_rows`` (openpyxl write-only).
Each figure is the whole path of ``flask catalog import`` and the web commit: bytes →
``read_table`` → ``validate_rows`` → ``plan_import`` (dry run), then ``import_products`` in
one transaction (creating every row; then, for the same file again, updating every row by SKU).
A throw-away app on SQLite in a temporary directory; ``--postgres URL`` measures PostgreSQL too,
in a schema of its own that is dropped afterwards. The target is 20 s for each figure.
"""
from __future__ import annotations

import logging
import os
import platform
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

DEFAULT_ROWS = 10_000
TARGET_S = 20.0


def make_file(rows: int, seed: int = 2025) -> bytes:
    """An XLSX of ``rows`` realistic products in the Chinese template's columns."""
    from marketplace.catalog.spreadsheet import export_rows
    from marketplace.demo_products import bench_products

    return export_rows((product.as_row() for product in bench_products(rows, seed)), "xlsx", "zh")


def make_app(directory: Path, database_uri: str | None = None):
    """A throw-away app with empty tables (SQLite in ``directory`` unless a URI is given)."""
    from marketplace import create_app
    from marketplace.extensions import db

    app = create_app({
        "TESTING": True,
        "ENV": "development",
        "SECRET_KEY": "bench-secret-key-not-for-production",
        "INSTANCE_DIR": str(directory / "instance"),
        "SQLALCHEMY_DATABASE_URI": database_uri or f"sqlite:///{directory / 'bench.db'}",
        "SEARCH_INDEX_DIR": str(directory / "index"),
        "UPLOAD_DIR": str(directory / "uploads"),
        "RATELIMIT_ENABLED": False,
        "RATELIMIT_STORAGE_URI": "memory://",
        "MAIL_SERVER": "",
    })
    with app.app_context():
        db.create_all()
    return app


@contextmanager
def postgres_schema(url: str):
    """A fresh PostgreSQL schema for the run (dropped at the end); yields the app's database URI."""
    if url.startswith(("postgres://", "postgresql://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    schema = f"rt_bench_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield url + ("&" if "?" in url else "?") + f"options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def _exporter():
    from marketplace.accounts.models import Company, CompanyKind, Role, User, Verification
    from marketplace.accounts.uscc_gen import make_uscc
    from marketplace.extensions import db

    company = Company(name_zh="宁波基准电器有限公司", uscc=make_uscc(4242, "330200"), kind=CompanyKind.EXPORTER,
                      province_code="330000", city_code="330200", verification=Verification.VERIFIED)
    user = User(company=company, email="bench@example.com", name="基准", password_hash="-", role=Role.COMPANY_ADMIN)
    db.session.add_all([company, user])
    db.session.commit()
    return company, user


def measure(app, data: bytes) -> list[tuple[str, float, str]]:
    """(label, seconds, outcome) of the dry run, the first import and the re-import."""
    from marketplace.catalog import import_jobs, services
    from marketplace.catalog.models import Product
    from marketplace.extensions import db

    results = []
    logging.getLogger().setLevel(logging.WARNING)  # create_app logs at INFO; keep the table clean
    with app.app_context():
        company, user = _exporter()
        t0 = time.perf_counter()
        analysis = import_jobs.analyse_file(company, "bench.xlsx", data)
        results.append(("read + validate (dry run)", time.perf_counter() - t0,
                        f"{len(analysis.result.valid_rows)} valid, {len(analysis.result.invalid_rows)} invalid, "
                        f"{len(analysis.plan.creates)} to create"))
        for label in ("import (create)", "re-import (update)"):
            t0 = time.perf_counter()
            analysis = import_jobs.analyse_file(company, "bench.xlsx", data)
            outcome = services.import_products(user, company, analysis.result, publish=True)
            results.append((label, time.perf_counter() - t0,
                            f"{outcome.created} created, {outcome.updated} updated"))
        total = db.session.scalar(sa.select(sa.func.count()).select_from(Product))
        results.append(("products in the catalog", 0.0, str(total)))
        db.session.remove()
        db.engine.dispose()
    return results


def _print(database: str, results: list[tuple[str, float, str]]) -> None:
    for label, seconds, outcome in results:
        if seconds:
            verdict = "ok" if seconds <= TARGET_S else f"OVER the {TARGET_S:.0f} s target"
            print(f"  {database:<10} {label:<28} {seconds:7.2f} s  {verdict:<6} ({outcome})")
        else:
            print(f"  {database:<10} {label:<28} {outcome:>9}")


def run(rows: int = DEFAULT_ROWS, seed: int = 2025, postgres: str | None = None) -> dict:
    """Generate the file, time the three steps on SQLite (and PostgreSQL), print them; returns the figures."""
    t0 = time.perf_counter()
    data = make_file(rows, seed)
    generated = time.perf_counter() - t0
    print(f"Spreadsheet import: {rows:,} generated rows, XLSX of {len(data) / 1024 / 1024:.1f} MB "
          f"(written in {generated:.2f} s); target ≤ {TARGET_S:.0f} s each")
    print(f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs")
    figures = {}
    with tempfile.TemporaryDirectory(prefix="rongtong-import-bench-") as tmp:
        figures["sqlite"] = measure(make_app(Path(tmp)), data)
        _print("SQLite", figures["sqlite"])
        if postgres:
            with postgres_schema(postgres) as uri:
                figures["postgresql"] = measure(make_app(Path(tmp) / "pg", uri), data)
            _print("PostgreSQL", figures["postgresql"])
    sys.stdout.flush()
    return figures


if __name__ == "__main__":
    run(postgres=os.environ.get("BENCH_DATABASE_URL") or None)
