"""Save → found, end to end: a product saved through the catalog service, found by a search in another process.

What one save goes through here is what it goes through in the application: ``services.create_product``
or ``update_product`` (half each) commits the product and its ``index_changes`` row; the change is
applied to the index either

- ``inline`` (``make run``): by the saving process itself, right after its commit (the service call
  returns once the drain is done), or
- ``worker`` (production): by ``flask index worker`` running in its own process (started here with
  the app's settings in its environment), polling every 0.25 s;

and a searching process (``search_index`` opened on the same directory, as a web worker does) alternates
a query of the mix with a poll for the saved listing's unique title word, and reports the moment it
finds it. Figures: the service call; save → found (from the start of the service call) and commit →
found (from the commit, before any drain), p50/p95/p99.

The catalog is ``size`` generated products loaded through the import path on SQLite in a temporary
directory, then ``flask index rebuild``'s ``sync.rebuild()``. Numbers, not assertions.
"""
from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import os
import queue
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAVES = 30
FOUND_TIMEOUT_S = 60.0
DRAIN_MODES = ("inline", "worker")


def _token(number: int, seed: int) -> str:
    """A word no listing contains: one ASCII term for the analyzer (no stemming: it has digits)."""
    return f"zq{seed % 97:02d}e{number:04d}"


def searcher_loop(root: str, texts: list[str], seed: int, target, stop, ready, found) -> None:
    """In the searching process: a query of the mix, then a poll for the current save's word, until stopped."""
    from search_index import ProductIndex, SearchQuery

    index = ProductIndex(root, create=False)
    for text in texts[:20]:
        index.search(SearchQuery(text=text, use_cache=False))
    ready.put(True)
    last, loops, position, started = -1, 0, 0, time.monotonic()
    while not stop.is_set():
        number = target.value
        if number >= 0 and number != last:
            result = index.search(SearchQuery(text=_token(number, seed), highlight=False, use_cache=False))
            if result.total:
                found.put((number, time.monotonic()))
                last = number
        index.search(SearchQuery(text=texts[position % len(texts)], use_cache=False))
        position += 1
        loops += 1
    found.put(("loops", (time.monotonic() - started) * 1000 / max(loops, 1)))
    index.close()


def _environment(directory: Path, drain: str) -> dict[str, str]:
    """The settings of ``flask index worker`` for the bench app (the same database and index)."""
    return dict(os.environ, RONGTONG_ENV="development", SECRET_KEY="bench-secret-key-not-for-production",
                INSTANCE_DIR=str(directory / "instance"), DATABASE_URL=f"sqlite:///{directory / 'bench.db'}",
                SEARCH_INDEX_DIR=str(directory / "index"), UPLOAD_DIR=str(directory / "uploads"),
                SEARCH_DRAIN=drain, MAIL_SERVER="", PYTHONUNBUFFERED="1")


def load_catalog(app, size: int, seed: int):
    """Import ``size`` generated products (published) and rebuild the index; (company, user, seconds)."""
    from bench import import_bench
    from marketplace.extensions import db
    from marketplace.search import sync

    _export_rows, analyse_file, import_products = import_bench._import_api()
    started = time.perf_counter()
    with app.app_context():
        company, user = import_bench._exporter()
        ids = (company.id, user.id)
        analysis = analyse_file(company, "catalog.xlsx", import_bench.make_file(size, seed))
        import_products(user, company, analysis.result, publish=True)
        db.session.remove()  # no transaction of ours open while the rebuild reports its cursor
        sync.rebuild()
    return ids, time.perf_counter() - started


def measure(app, directory: Path, ids: tuple[int, int], drain: str, texts: list[str], seed: int,
            saves: int = SAVES) -> dict:
    """``saves`` service saves with the drain ``drain``, a searcher polling in another process; times in ms.

    One save more is made first and not counted: it waits until the worker process is up and the
    searcher has the index open (start-up is not what is measured).
    """
    from bench.import_bench import _Commits
    from marketplace.accounts.models import Company, User
    from marketplace.catalog import services
    from marketplace.catalog.models import Product
    from marketplace.demo_products import bench_products
    from marketplace.extensions import db

    app.config["SEARCH_DRAIN"] = drain
    ctx = multiprocessing.get_context("spawn")
    target, stop, ready, found = ctx.Value("q", -1), ctx.Event(), ctx.Queue(), ctx.Queue()
    searcher = ctx.Process(target=searcher_loop, daemon=True,
                           args=(str(directory / "index" / "products"), texts, seed, target, stop, ready, found))
    searcher.start()
    ready.get(timeout=600)
    worker = None
    if drain == "worker":
        worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "index", "worker"], cwd=ROOT,
                                  env=_environment(directory, drain), stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True)
    commits = _Commits()
    call_ms, save_ms, commit_ms, missed = [], [], [], 0
    rng = random.Random(seed)
    templates = bench_products(saves + 1, seed + 1)
    try:
        with app.app_context():
            company, user = db.session.get(Company, ids[0]), db.session.get(User, ids[1])
            existing = db.session.scalars(Product.__table__.select().with_only_columns(Product.id)
                                          .where(Product.company_id == company.id).order_by(Product.id)).all()
            for number, template in enumerate(templates):
                word = _token(number + (0 if drain == "inline" else 5000), seed)
                target.value = number + (0 if drain == "inline" else 5000)
                counted = number > 0
                started = time.perf_counter()
                monotonic_started = time.monotonic()
                if number % 2 == 0:
                    data = dataclasses.replace(template, sku=f"E2E-{drain}-{number}",
                                               title_zh=f"{template.title_zh} {word}")
                    services.create_product(user, company, data, publish=True)
                else:
                    product = db.session.get(Product, rng.choice(existing))
                    data = dataclasses.replace(template, sku=product.sku, title_zh=f"{template.title_zh} {word}")
                    services.update_product(user, product, data, publish=True)
                returned = time.perf_counter()
                committed = commits.first_after(started)[0]  # (wall clock, CPU time): the wall clock
                db.session.commit()  # end the read the returned product began
                deadline = time.monotonic() + FOUND_TIMEOUT_S * (1 if counted else 5)
                while True:
                    try:
                        number_found, at = found.get(timeout=max(0.01, deadline - time.monotonic()))
                    except queue.Empty:
                        missed += counted
                        break
                    if number_found == target.value:
                        if counted:
                            call_ms.append((returned - started) * 1000)
                            save_ms.append((at - monotonic_started) * 1000)
                            commit_ms.append((at - monotonic_started) * 1000 - (committed - started) * 1000)
                        break
                time.sleep(rng.uniform(0.02, 0.12))  # do not lock step with the searcher's loop
            db.session.remove()
    finally:
        commits.close()
        target.value = -1
        stop.set()
        loop_ms = None
        deadline = time.monotonic() + 60
        while loop_ms is None and time.monotonic() < deadline:
            try:
                message = found.get(timeout=5)
            except queue.Empty:
                continue
            if message[0] == "loops":
                loop_ms = message[1]
        searcher.join(timeout=30)
        if searcher.is_alive():
            searcher.terminate()
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=30)
    return {"call_ms": call_ms, "save_ms": save_ms, "commit_ms": commit_ms, "missed": missed, "loop_ms": loop_ms}


def run(size: int, seed: int, texts: list[str], drains=DRAIN_MODES, saves: int = SAVES) -> dict:
    """Load a catalog of ``size`` products, then measure save → found for each drain mode; the figures."""
    from bench import import_bench

    figures = {}
    with tempfile.TemporaryDirectory(prefix="rongtong-save-found-") as tmp:
        directory = Path(tmp)
        app = import_bench.make_app(directory, drain="worker")
        logging.getLogger().setLevel(logging.WARNING)  # create_app logs at INFO; keep the table clean
        ids, load_s = load_catalog(app, size, seed)
        figures["load_s"] = load_s
        for drain in drains:
            figures[drain] = measure(app, directory, ids, drain, texts, seed, saves)
        with app.app_context():
            from marketplace.extensions import db

            db.engine.dispose()
    return figures
