"""The open API at catalog scale: product search over the API beside the same search page, and a bulk upsert
of 1,000 products in one request. Numbers, not assertions.

Setup: a throw-away app on SQLite (``bench.import_bench.make_app``, inline drain) holding ``--products``
generated products imported through the import path and spread over the exporters of
``bench.match_bench.build_scale`` (no requests), both indexes built. One exporter's administrator gets an
API token with every scope and logs in for the page.

- **search**: the query mix of ``bench.search_queries`` (words, category and price filters), each asked
  as ``GET /api/v1/products?q=…&limit=20`` (JSON: items, total, facets) and as ``GET /search/?q=…`` (the
  HTML page of 20 results with facets), in process through the WSGI test client: the figure is one whole
  request (routing, authentication, the engine, the database rows of the page, JSON or the template),
  warm (one untimed pass of other queries first). p50/p95/p99 and the API/page ratio. Both paths ask each
  query; whoever asks second finds the engine's postings and filter caches warm, so each path asks first
  for half of the queries.
- **bulk upsert**: ``POST /api/v1/products/bulk`` with 1,000 new products (published), then the same
  1,000 SKUs again with changed prices (all updates); wall time of the request, which includes the
  commit and the inline index drain of the 1,000 products (what makes them searchable).

``python -m bench --only api`` or ``python -m bench.api_bench [--products N] [--queries N]``.
"""
from __future__ import annotations

import argparse
import logging
import platform
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

DEFAULT_PRODUCTS = 100_000
DEFAULT_QUERIES = 300
BULK = 1_000


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[rank]


def _params(query) -> dict:
    params = {"q": query.text}
    if query.category:
        params["category"] = query.category
    return params


def _api_params(query) -> dict:
    params = _params(query)
    if query.price_min_fen is not None:
        params["price_min_fen"] = query.price_min_fen
    if query.price_max_fen is not None:
        params["price_max_fen"] = query.price_max_fen
    return params


def _page_params(query) -> dict:
    params = _params(query)
    if query.price_min_fen is not None:
        params["price_min"] = f"{query.price_min_fen / 100:.2f}"
    if query.price_max_fen is not None:
        params["price_max"] = f"{query.price_max_fen / 100:.2f}"
    return params


def _bulk_items(count: int, seed: int, price_fen: int) -> list[dict]:
    return [{
        "sku": f"API-BENCH-{seed}-{n:05d}", "title_zh": f"不锈钢保温杯 {n} 号 500ml", "category": "kitchenware",
        "unit": "个", "moq": 100, "price_tiers": [{"min_quantity": 100, "unit_price_fen": price_fen + n % 50}],
    } for n in range(count)]


def run(products: int = DEFAULT_PRODUCTS, queries: int = DEFAULT_QUERIES, seed: int = 2025) -> dict:
    """Build, measure, print."""
    from bench.http_pages import log_in
    from bench.import_bench import make_app
    from bench.match_bench import PASSWORD, build_scale
    from bench.search_queries import query_mix
    from marketplace.api import tokens
    from marketplace.extensions import db

    tmp = Path(tempfile.mkdtemp(prefix="rongtong-api-bench-"))
    logging.getLogger().setLevel(logging.WARNING)
    app = make_app(tmp, drain="inline")
    out: dict = {}
    try:
        started = time.perf_counter()
        built = build_scale(app, products, 0, seed)
        out["build_s"] = time.perf_counter() - started
        company_id, user_id, email = built["exporters"][0]
        with app.app_context():
            from marketplace.accounts.models import User

            _token, raw = tokens.create_token(db.session.get(User, user_id), "bench",
                                              ["read", "catalog:write"], None)
        api = app.test_client()
        headers = {"Authorization": f"Bearer {raw}", "Accept-Language": "zh-CN"}
        page = app.test_client()
        if not log_in(page, email, PASSWORD):
            raise RuntimeError("the bench exporter could not log in")
        mix = query_mix(queries * 2, seed)
        warm, measured = mix[queries:], mix[:queries]
        for query in warm[:100]:
            api.get("/api/v1/products?" + urlencode(_api_params(query)), headers=headers)
            page.get("/search/?" + urlencode(_page_params(query)))
        api_ms, page_ms, statuses = [], [], set()
        def ask_api(query):
            started = time.perf_counter()
            answer = api.get("/api/v1/products?" + urlencode({**_api_params(query), "limit": 20}), headers=headers)
            api_ms.append((time.perf_counter() - started) * 1000)
            statuses.add(answer.status_code)

        def ask_page(query):
            started = time.perf_counter()
            shown = page.get("/search/?" + urlencode(_page_params(query)))
            page_ms.append((time.perf_counter() - started) * 1000)
            statuses.add(shown.status_code)

        # the second asker of a query finds its postings and filter masks in the engine's caches: each path
        # goes first for half of the queries
        for number, query in enumerate(measured):
            for ask in ((ask_api, ask_page) if number % 2 == 0 else (ask_page, ask_api)):
                ask(query)
        out["api_ms"], out["page_ms"], out["statuses"] = api_ms, page_ms, sorted(statuses)

        bulk = []
        for round_number, price in enumerate((2_500, 2_400)):
            body = {"items": _bulk_items(BULK, seed, price), "publish": True}
            started = time.perf_counter()
            answer = api.post("/api/v1/products/bulk", json=body,
                              headers={**headers, "Idempotency-Key": uuid.uuid4().hex})
            elapsed = time.perf_counter() - started
            result = answer.get_json() or {}
            bulk.append({"round": "create" if round_number == 0 else "update", "s": elapsed,
                         "status": answer.status_code, "created": result.get("created"),
                         "updated": result.get("updated"), "invalid": result.get("invalid")})
        found = api.get("/api/v1/products?" + urlencode({"q": f"API-BENCH-{seed}-00999"}), headers=headers)
        out["bulk"] = bulk
        out["bulk_found_after"] = (found.get_json() or {}).get("total")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    _print(out, products, queries)
    return out


def _print(out: dict, products: int, queries: int) -> None:
    print(f"== API benchmark: {products:,} products, {queries} queries "
          f"(Python {platform.python_version()}, SQLite, in-process WSGI)")
    print(f"setup (import, index, match): {out['build_s']:.0f} s; statuses seen: {out['statuses']}")
    print(f"{'path':<44}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}")
    for label, values in (("GET /api/v1/products?q=… (JSON, 20 + facets)", out["api_ms"]),
                          ("GET /search/?q=… (HTML page, 20 + facets)", out["page_ms"])):
        print(f"{label:<44}{_percentile(values, 50):>9.1f}{_percentile(values, 95):>9.1f}"
              f"{_percentile(values, 99):>9.1f}")
    ratio = _percentile(out["api_ms"], 95) / _percentile(out["page_ms"], 95)
    print(f"API / page at p95: {ratio:.2f}")
    for entry in out["bulk"]:
        print(f"POST /api/v1/products/bulk, {BULK:,} items ({entry['round']}): {entry['s']:.2f} s "
              f"(status {entry['status']}; created {entry['created']}, updated {entry['updated']}, "
              f"invalid {entry['invalid']}; includes the commit and the inline index drain)")
    print(f"a bulk-written SKU found by the API search afterwards: total {out['bulk_found_after']}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.api_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=DEFAULT_PRODUCTS)
    parser.add_argument("--queries", type=int, default=DEFAULT_QUERIES)
    parser.add_argument("--seed", type=int, default=2025)
    args = parser.parse_args(argv)
    run(args.products, args.queries, args.seed)


if __name__ == "__main__":
    main()
