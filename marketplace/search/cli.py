"""``flask index rebuild|check|worker|optimize|status [--kind …]`` and ``flask search products|requests``.

``flask search products`` takes the search page's path (``services.parse_params`` then
``services.search_products``): the same checks, messages and results. Problems go to stderr
with a non-zero exit code; ``--json`` prints a stable object with ``total`` and ``results``.
"""
from __future__ import annotations

import json
import sys
import time
from decimal import Decimal

import click
from flask.cli import with_appcontext


@click.group()
def index():
    """The search index: rebuild, check, drain (worker), optimize, status."""


def _kind_option(function):
    """``--kind products|requests`` (every registered kind when left out)."""
    from search_index import KINDS

    return click.option("--kind", type=click.Choice(sorted(KINDS)), default=None,
                        help="One kind of index (default: every kind).")(function)


def _kinds(kind: str | None) -> list[str]:
    from marketplace.search import kinds

    return [kind] if kind else kinds.names()


@index.command("rebuild")
@click.option("--if-missing", is_flag=True,
              help="Only build a kind with no index yet, or one built with another schema (used by `make run`).")
@_kind_option
@with_appcontext
def rebuild_command(if_missing: bool, kind: str | None):
    """Build a fresh index from the database and swap it in (searches keep working meanwhile)."""
    from marketplace.search import kinds, sync

    rebuilt = []
    for name in _kinds(kind):
        index = sync.get_index(name)
        noun = kinds.get(name).noun
        if if_missing and index.status()["doc_count"] and not index.is_stale():
            click.echo(f"{name}: index present; nothing to do (`flask index check` finds drift)")
            continue
        if if_missing and index.is_stale():
            click.echo(f"{name}: index built with schema {index.schema_version() or 'unknown'}, "
                       f"this code uses {index.kind.version}: rebuilding", err=True)
        started = time.perf_counter()

        def progress(count: int, noun=noun) -> None:
            click.echo(f"  {count} {noun} indexed…", err=True)

        stats = sync.rebuild(index, progress=progress)
        rebuilt.append(name)
        click.echo(f"{name}: rebuilt: {stats['docs']} {noun} in {time.perf_counter() - started:.1f} s → {stats['path']}")
    if rebuilt:
        for function in list(sync.AFTER_REBUILD):  # matching recomputes everything against the new index
            result = function(rebuilt)
            if isinstance(result, dict) and "requests" in result:
                click.echo(f"matches: recomputed {result['requests']} requests ({result['added']} added, "
                           f"{result['removed']} removed)")


@index.command("check")
@click.option("--json", "as_json", is_flag=True, help="Print the drift as JSON (an object per kind).")
@_kind_option
@with_appcontext
def check_command(as_json: bool, kind: str | None):
    """List drift between database and index; exit 1 when there is any."""
    from marketplace.search import kinds, sync

    drifts = {name: sync.check(kind=name) for name in _kinds(kind)}
    drifted = False
    for name, drift in drifts.items():
        if not as_json:
            click.echo(f"{name}: database: {drift['expected']} public {kinds.get(name).noun}; "
                       f"index: {drift['indexed']} documents")
            for part in ("missing", "extra", "stale"):
                ids = drift[part]
                if ids:
                    shown = ", ".join(str(i) for i in ids[:20]) + (" …" if len(ids) > 20 else "")
                    click.echo(f"{part}: {len(ids)} ({shown})")
        if drift["missing"] or drift["extra"] or drift["stale"]:
            drifted = True
            click.echo(f"the {name} index has drifted from the database: run `flask index rebuild --kind {name}`",
                       err=True)
    if as_json:
        click.echo(json.dumps(drifts[kind] if kind else drifts, ensure_ascii=False))
    if drifted:
        sys.exit(1)
    if not as_json:
        click.echo("in step")


@index.command("worker")
@click.option("--poll", default=0.25, show_default=True, help="Seconds between looks at the change log.")
@click.option("--once", is_flag=True, help="Drain what is pending, then exit.")
@click.option("--no-jobs", is_flag=True,
              help="Only drain the change log; leave the periodic jobs (`flask jobs list`) to another process.")
@with_appcontext
def worker_command(poll: float, once: bool, no_jobs: bool):
    """Apply logged changes as they come, and run the periodic jobs (one per host in production).

    SIGTERM or Ctrl-C stops both: the drain finishes its batch, a running job gets time to finish.
    """
    import signal
    import threading

    from flask import current_app

    from marketplace import jobs
    from marketplace.search import sync

    if once:
        result = sync.drain(timeout=30.0, force_report=True)
        sync.run_after_drain()  # the matches catch up, as after each round of the worker
        click.echo(f"applied {result.applied} changes in {result.batches} batches; cursor {result.cursor}")
        if result.busy:
            click.echo("the index writer lock stayed busy; run again", err=True)
            sys.exit(1)
        return
    stop = threading.Event()
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())
    try:
        # marked before the jobs thread starts: its catch-up job, enqueued at start, leaves the matches to the loop
        with sync.worker_loop(), jobs.consumer_running(current_app._get_current_object(), enabled=not no_jobs):
            click.echo(f"index worker: draining every {poll} s"
                       + ("" if no_jobs else f", running {len(jobs.registered())} periodic jobs")
                       + " (Ctrl-C to stop)")
            sync.run_worker(poll_seconds=poll, stop=stop)
    except KeyboardInterrupt:
        pass
    except Exception as error:  # the job queue cannot be opened (an unwritable JOBS_SQLITE_PATH …)
        raise click.ClickException(f"index worker stopped: {error}")
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    click.echo("stopped")


@index.command("optimize")
@with_appcontext
def optimize_command():
    """Merge the index into one segment (faster searches; takes a while on a large index)."""
    from marketplace.search import sync

    started = time.perf_counter()
    if not all(sync.get_index(name).optimize() for name in _kinds(None)):
        click.echo("the index writer lock stayed busy; try again", err=True)
        sys.exit(1)
    click.echo(f"optimized in {time.perf_counter() - started:.1f} s")


@index.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON (an object per kind).")
@_kind_option
@with_appcontext
def status_command(as_json: bool, kind: str | None):
    """Documents, segments, size, schema, cursor and pending changes of each kind's index."""
    from marketplace.search import sync

    infos = {name: sync.status(kind=name) for name in _kinds(kind)}
    if as_json:
        click.echo(json.dumps(infos[kind] if kind else infos, ensure_ascii=False))
        return
    for name, info in infos.items():
        schema = info["schema_version"] or "unknown"
        stale = "" if schema == info["current_version"] else \
            f" (stale: this code uses {info['current_version']}; run `flask index rebuild --kind {name}`)"
        click.echo(f"[{name}]")
        click.echo(f"path:            {info['path']}")
        click.echo(f"schema:          {schema}{stale}")
        click.echo(f"documents:       {info['doc_count']} ({info['deleted']} deleted, awaiting merge)")
        click.echo(f"segments:        {info['segments']}")
        click.echo(f"size:            {info['size_bytes'] / 1e6:.1f} MB")
        click.echo(f"cursor:          {info['cursor']}")
        click.echo(f"pending changes: {info['pending_changes']}")
        click.echo(f"log rows:        {info['log_rows']}")
        click.echo(f"writer lock:     {'held' if info['locked'] else 'free'}")
    for replica in next(iter(infos.values()))["replicas"]:
        click.echo(f"replica:         {replica['name']} at {replica['cursor']} ({replica['updated_at']})")


@click.group()
def search():
    """Search from the command line (the search page's code path)."""


@search.command("products")
@click.argument("query", required=False, default="")
@click.option("--category", help="Category code (e.g. small_appliances).")
@click.option("--hs", help="HS code prefix (e.g. 85 or 8516).")
@click.option("--province", help="GB/T 2260 province code (e.g. 440000).")
@click.option("--city", help="GB/T 2260 city code (e.g. 440300).")
@click.option("--cert", help="Certification code held (e.g. CCC).")
@click.option("--price-min", help="Lowest unit price in yuan.")
@click.option("--price-max", help="Highest unit price in yuan.")
@click.option("--quantity", help="Your quantity: only products whose MOQ is at most this.")
@click.option("--tariff-hit", is_flag=True, help="Only goods hit by foreign tariffs.")
@click.option("--domestic-ready", is_flag=True, help="Only goods ready for domestic sale.")
@click.option("--verified", is_flag=True, help="Only 专精特新 exporters (专精特新, 小巨人).")
@click.option("--sort", default="relevance", show_default=True, help="relevance, price_asc, price_desc or newest.")
@click.option("--page", default="1", show_default=True)
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 100), help="Results per page.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object with total and results.")
@with_appcontext
def search_products_command(query, category, hs, province, city, cert, price_min, price_max, quantity, tariff_hit,
                            domestic_ready, verified, sort, page, limit, as_json):
    """Search published products, as buyers see them."""
    from dataclasses import replace

    from marketplace.search.services import parse_params, result_as_dict, search_products

    args = {
        "q": query, "category": category, "hs": hs, "province": province, "city": city, "cert": cert,
        "price_min": price_min, "price_max": price_max, "quantity": quantity, "sort": sort, "page": page,
        "tariff_hit": "1" if tariff_hit else "", "domestic_ready": "1" if domestic_ready else "",
        "verified": "1" if verified else "",
    }
    params, errors = parse_params(args)
    params = replace(params, per_page=limit)
    for error in errors:
        click.echo(f"error: {error}", err=True)
    found = search_products(params, errors=errors)
    if as_json:
        click.echo(json.dumps(result_as_dict(found), ensure_ascii=False))
    else:
        for notice in found.notices:
            click.echo(f"note: {notice}", err=True)
        if found.suggestion:
            click.echo(f"did you mean: {found.suggestion}", err=True)
        click.echo(f"{found.total} products (page {found.page} of {found.pages})")
        for item in found.items:
            product = item.product
            price = product.base_price_fen
            price_text = f"¥{Decimal(price) / 100:,.2f}" if price is not None else "-"
            click.echo(f"{product.id:>7}  {item.score:7.2f}  {product.sku:<16}  {price_text:>12}  "
                       f"{product.title_zh}  [{product.company.name_zh}]")
    if errors:
        sys.exit(2)


@search.command("requests")
@click.argument("query", required=False, default="")
@click.option("--category", help="Category code (e.g. small_appliances).")
@click.option("--hs", help="HS code prefix (e.g. 85 or 8516).")
@click.option("--province", help="GB/T 2260 code of the delivery province (e.g. 330000).")
@click.option("--cert", help="Required certification code (e.g. CCC).")
@click.option("--qty-min", help="Smallest quantity asked for.")
@click.option("--qty-max", help="Largest quantity asked for.")
@click.option("--due-by", help="Only requests whose quotes are due by this day (YYYY-MM-DD).")
@click.option("--sort", default="relevance", show_default=True, help="relevance, newest, deadline or quantity.")
@click.option("--page", default="1", show_default=True)
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 100), help="Results per page.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object with total and results.")
@with_appcontext
def search_requests_command(query, category, hs, province, cert, qty_min, qty_max, due_by, sort, page, limit,
                            as_json):
    """Search open public procurement requests, as exporters see them on the request board."""
    from dataclasses import replace

    from marketplace.i18n import today_in_china
    from marketplace.search.services import parse_request_params
    from marketplace.sourcing.queries import board_as_dict, search_board

    args = {"q": query, "category": category, "hs": hs, "province": province, "cert": cert, "qty_min": qty_min,
            "qty_max": qty_max, "due_by": due_by, "sort": sort, "page": page}
    params, errors = parse_request_params(args, today_in_china())
    params = replace(params, per_page=limit)
    for error in errors:
        click.echo(f"error: {error}", err=True)
    found = search_board(None, params, errors)
    if as_json:
        click.echo(json.dumps(board_as_dict(found), ensure_ascii=False))
    else:
        for notice in found.notices:
            click.echo(f"note: {notice}", err=True)
        if found.suggestion:
            click.echo(f"did you mean: {found.suggestion}", err=True)
        click.echo(f"{found.total} requests (page {found.page} of {found.pages})")
        for item in found.items:
            req = item.request
            click.echo(f"{req.id:>7}  {req.quantity:>10} {req.unit:<4}  {req.deadline.isoformat()}  "
                       f"{req.title}  [{req.buyer_company.name_zh}]")
    if errors:
        sys.exit(2)
