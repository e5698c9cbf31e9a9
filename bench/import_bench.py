"""Spreadsheet import: a generated 10,000-row XLSX checked (dry run), imported, and imported again.

The rows are realistic products of every demo industry (``marketplace.demo_products``, seeded),
written as the Chinese template's columns with the catalog's ``export_rows`` (openpyxl write-only).
Each figure is the whole path of ``flask catalog import`` and the web commit: bytes →
``read_table`` → ``validate_rows`` → ``plan_import`` (dry run), then ``import_products`` in
one transaction (creating every row; then, for a second file with every title changed, updating
every row by SKU). The target is 20 s for each, and every row findable in search within 30 s of
its commit:

- ``SEARCH_DRAIN=inline`` (``make run``): the drain runs in the importing process right after the
  commit, so the import returns when the rows are findable; the figures split the import into
  "until committed" and "committed → findable";
- ``SEARCH_DRAIN=worker`` (production): the import ends at its commit; the drain
  ``flask index worker`` would run is then timed in this process.

Findable means: no change left in the log, the index holds every product, and searching 20 sampled
article numbers (and, after the update, their new title word) finds each. Also printed: the
change-log hook's cost (``sync._changed_keys``, best of 5 inside the flush, garbage collection
paused) on 1,000 and 10,000 products of one flush, new and changed: about 10×, not 100×.

Beside each wall-clock time, the CPU time of this process (on a shared machine the steadier figure;
PostgreSQL's own work is not in it). A throw-away app on SQLite in a temporary directory; ``--postgres URL`` measures PostgreSQL too,
in a schema of its own that is dropped afterwards.
"""
from __future__ import annotations

import gc
import logging
import math
import os
import platform
import random
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import sqlalchemy as sa

DEFAULT_ROWS = 10_000
TARGET_S = 20.0
FINDABLE_TARGET_S = 30.0
DRAIN_MODES = ("inline", "worker")
#: the word every title gains in the re-import's file (so "findable" means the new version)
UPDATE_WORD = "焕新款"
SAMPLE = 20
HOOK_SIZES = (1_000, 10_000)
#: the hook is timed this many times on each flush; the best run is reported
HOOK_RUNS = 5


def _import_api():
    """The import's public entry points: (export_rows, analyse_file, import_products)."""
    from marketplace.catalog import services

    try:
        from marketplace.catalog.imports.files import export_rows
        from marketplace.catalog.imports.jobs import analyse_file
    except ImportError:  # before the import moved into catalog/imports/
        from marketplace.catalog.import_jobs import analyse_file
        from marketplace.catalog.spreadsheet import export_rows
    return export_rows, analyse_file, services.import_products


def make_file(rows: int, seed: int = 2025, title_word: str = "") -> bytes:
    """An XLSX of ``rows`` realistic products in the Chinese template's columns (``title_word`` added to each title)."""
    from marketplace.demo_products import bench_products

    export_rows = _import_api()[0]

    def row(product):
        values = product.as_row()
        if title_word:
            values["title_zh"] = f"{values['title_zh']} {title_word}"
        return values

    return export_rows((row(product) for product in bench_products(rows, seed)), "xlsx", "zh")


def make_app(directory: Path, database_uri: str | None = None, drain: str = "inline"):
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
        "SEARCH_DRAIN": drain,
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


class _Commits:
    """Times of the app session's commits, noted before the search drain runs (its listener goes first)."""

    def __init__(self):
        from flask_sqlalchemy.session import Session as FlaskSession
        from sqlalchemy import event

        self.times: list[tuple[float, float]] = []
        self._target = FlaskSession
        event.listen(FlaskSession, "after_commit", self._note, insert=True)

    def _note(self, _session) -> None:
        self.times.append(_clock())

    def first_after(self, started: float) -> tuple[float, float]:
        """(wall clock, CPU time) of the first commit at or after ``started``."""
        return next(t for t in self.times if t[0] >= started)

    def close(self) -> None:
        """Stop listening."""
        from sqlalchemy import event

        event.remove(self._target, "after_commit", self._note)


def _findable(company, samples: list[tuple[str, str]], word: str | None) -> str:
    """Why the import is not yet findable in search ("" when it is): pending changes, documents, sampled rows."""
    from marketplace.catalog.models import Product
    from marketplace.extensions import db
    from marketplace.search import sync
    from search_index import SearchQuery

    db.session.commit()  # end this session's read before asking the log
    pending = sync.pending_changes()
    if pending:
        return f"{pending} changes pending"
    index = sync.get_index()
    expected = db.session.scalar(sa.select(sa.func.count()).select_from(Product)
                                 .where(Product.company_id == company.id))
    db.session.commit()
    documents = index.status()["doc_count"]
    if documents != expected:
        return f"{documents} documents for {expected} products"
    for sku, _title in samples:
        hit = next((hit for hit in index.search(SearchQuery(text=sku, highlight=False, use_cache=False)).hits
                    if hit.sku == sku), None)
        if hit is None:
            return f"SKU {sku} not found"
        if word and word not in hit.title:
            return f"{sku} found with its old title"
    if word:
        total = index.search(SearchQuery(text=word, highlight=False, use_cache=False)).total
        if total != expected:
            return f"{total} of {expected} found by the new title word"
    return ""


def _samples(data_rows: int, seed: int) -> list[tuple[str, str]]:
    """(SKU, Chinese title) of ``SAMPLE`` rows of the generated file."""
    from marketplace.demo_products import bench_products

    products = bench_products(data_rows, seed)
    chosen = random.Random(seed).sample(products, min(SAMPLE, len(products)))
    return [(p.sku, p.title_zh) for p in chosen]


class Figure(NamedTuple):
    """One printed line: what, how long (wall clock), the outcome, this process's CPU time, the verdict."""

    label: str
    seconds: float | None
    outcome: str = ""
    cpu: float | None = None
    target: float | None = None
    ok: bool = True


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def measure(app, files: dict[str, bytes], samples: list[tuple[str, str]]) -> list[Figure]:
    """The dry run, the import and the re-import (each split at its commit), then the hook's cost."""
    from marketplace.catalog.models import Product
    from marketplace.extensions import db
    from marketplace.search import sync

    _export_rows, analyse_file, import_products = _import_api()
    drain_mode = app.config["SEARCH_DRAIN"]
    results = []
    logging.getLogger().setLevel(logging.WARNING)  # create_app logs at INFO; keep the table clean
    commits = _Commits()
    try:
        with app.app_context():
            company, user = _exporter()
            (t0, c0) = _clock()
            analysis = analyse_file(company, "bench.xlsx", files["create"])
            (t1, c1) = _clock()
            results.append(Figure("read + validate (dry run)", t1 - t0,
                                  f"{len(analysis.result.valid_rows)} valid, {len(analysis.result.invalid_rows)} "
                                  f"invalid, {len(analysis.plan.creates)} to create", c1 - c0, TARGET_S))
            for step, label, word in (("create", "import (create)", None),
                                      ("update", "re-import (update)", UPDATE_WORD)):
                (t0, c0) = _clock()
                analysis = analyse_file(company, "bench.xlsx", files[step])
                outcome = import_products(user, company, analysis.result, publish=True)
                (returned, returned_cpu) = _clock()
                committed, committed_cpu = commits.first_after(t0)
                if drain_mode != "inline":
                    sync.drain(timeout=60)  # what `flask index worker` does with the backlog
                (findable, findable_cpu) = _clock()
                problem = _findable(company, samples, word)
                results.append(Figure(label, returned - t0, f"{outcome.created} created, {outcome.updated} updated",
                                      returned_cpu - c0, TARGET_S))
                results.append(Figure("  of which until committed", committed - t0, "", committed_cpu - c0))
                results.append(Figure("  committed → findable", findable - committed,
                                      problem or ("drain inside the import" if drain_mode == "inline"
                                                  else "drained afterwards, as the worker would"),
                                      findable_cpu - committed_cpu, FINDABLE_TARGET_S, ok=not problem))
            total = db.session.scalar(sa.select(sa.func.count()).select_from(Product))
            results.append(Figure("products in the catalog", None, str(total)))
            results.extend(measure_hook(company))
            db.session.remove()
            db.engine.dispose()
    finally:
        commits.close()
    return results


def measure_hook(company) -> list[Figure]:
    """The change-log hook's cost (``sync._changed_keys``, timed inside ``after_flush`` as the hook runs it)
    on one flush of 1,000 and of 10,000 new, then changed, products; each flush is rolled back."""
    from flask_sqlalchemy.session import Session as FlaskSession
    from sqlalchemy import event

    from marketplace.catalog.models import Product
    from marketplace.extensions import db
    from marketplace.search.sync import _changed_keys

    timed: list[tuple[float, int]] = []

    def time_hook(session, _context) -> None:
        best = math.inf
        gc.disable()  # a collection pass walks the whole heap (the session's 10,000 objects): not the hook's work
        try:
            for _run in range(HOOK_RUNS):
                started = time.perf_counter()
                keys = _changed_keys(session)
                best = min(best, time.perf_counter() - started)
        finally:
            gc.enable()
        timed.append((best, len(keys)))

    event.listen(FlaskSession, "after_flush", time_hook)
    rows = []
    try:
        for change in ("new", "changed"):
            figures = []
            for size in HOOK_SIZES:
                if change == "new":
                    db.session.add_all(Product(company=company, sku=f"HOOK-{i}", title_zh="钩子", category="other",
                                               unit="台", moq=1) for i in range(size))
                else:
                    products = db.session.scalars(sa.select(Product).where(Product.company_id == company.id)
                                                  .order_by(Product.id).limit(size)).all()
                    size = len(products)  # the catalog may hold fewer
                    for product in products:
                        product.title_zh += "·"
                timed.clear()
                db.session.flush()
                figures.append((size, *timed[-1]))
                db.session.rollback()
            (small, small_s, _k), (large, large_s, _k) = figures
            for size, seconds, count in figures:
                rows.append(Figure(f"hook on {size:,} {change} products", seconds, f"{count:,} index changes"))
            rows[-1] = rows[-1]._replace(outcome=f"{rows[-1].outcome}; {large_s / max(small_s, 1e-9):.1f}× the "
                                         f"{small:,} figure for {large / small:.0f}× the objects "
                                         f"(quadratic: {(large / small) ** 2:.0f}×)")
    finally:
        event.remove(FlaskSession, "after_flush", time_hook)
    return rows


def _print(database: str, results: list[Figure]) -> None:
    for figure in results:
        head = f"  {database:<20} {figure.label:<32}"
        if figure.seconds is None:
            print(f"{head} {figure.outcome:>9}")
        elif figure.label.startswith("hook"):
            print(f"{head} {figure.seconds * 1000:8.1f} ms {'':<6} ({figure.outcome})")
        else:
            verdict = ""
            if figure.target is not None:
                verdict = ("ok" if figure.seconds <= figure.target else f"OVER the {figure.target:.0f} s target") \
                    if figure.ok else "NOT FINDABLE"
            cpu = f"cpu {figure.cpu:6.2f} s" if figure.cpu is not None else ""
            outcome = f"({figure.outcome})" if figure.outcome else ""
            print(f"{head} {figure.seconds:8.2f} s  {cpu}  {verdict:<6} {outcome}".rstrip())
    sys.stdout.flush()


def run(rows: int = DEFAULT_ROWS, seed: int = 2025, postgres: str | None = None,
        drains: tuple[str, ...] = DRAIN_MODES) -> dict:
    """Generate the files, time the steps on SQLite (and PostgreSQL) per drain mode, print them; the figures."""
    t0 = time.perf_counter()
    files = {"create": make_file(rows, seed), "update": make_file(rows, seed, UPDATE_WORD)}
    generated = time.perf_counter() - t0
    samples = _samples(rows, seed)
    print(f"Spreadsheet import: {rows:,} generated rows, XLSX of {len(files['create']) / 1024 / 1024:.1f} MB "
          f"(two files written in {generated:.2f} s); target ≤ {TARGET_S:.0f} s each, findable in search "
          f"≤ {FINDABLE_TARGET_S:.0f} s after the commit")
    print(f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs")
    sys.stdout.flush()
    figures = {}
    databases = [("SQLite", None)] + ([("PostgreSQL", postgres)] if postgres else [])
    with tempfile.TemporaryDirectory(prefix="rongtong-import-bench-") as tmp:
        for database, url in databases:
            for drain in drains:
                name = f"{database}, {drain}"
                directory = Path(tmp) / f"{database}-{drain}".lower()
                directory.mkdir()
                if url:
                    with postgres_schema(url) as uri:
                        figures[name] = measure(make_app(directory, uri, drain), files, samples)
                else:
                    figures[name] = measure(make_app(directory, drain=drain), files, samples)
                _print(name, figures[name])
    return figures


if __name__ == "__main__":
    run(postgres=os.environ.get("BENCH_DATABASE_URL") or None)
