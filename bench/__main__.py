"""``python -m bench``: run every benchmark and print its table."""
from __future__ import annotations

import argparse
import os

from bench import http_pages, import_bench

BENCHMARKS = ("http", "import", "demand", "analysis", "search", "image", "sourcing", "match", "reports", "api")


def _sizes(text: str) -> tuple[int, ...]:
    """``10000,100000`` → (10000, 100000)."""
    try:
        sizes = tuple(int(part.replace("_", "")) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of sizes: {text!r}")
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"not a list of sizes: {text!r}")
    return sizes


def main(argv: list[str] | None = None) -> None:
    """Parse the options and run the benchmarks in turn."""
    parser = argparse.ArgumentParser(prog="python -m bench", description="Rongtong benchmarks (numbers, not tests).")
    parser.add_argument("--only", choices=BENCHMARKS, action="append",
                        help="run only this benchmark (repeatable; default: all)")
    parser.add_argument("--requests", type=int, default=http_pages.DEFAULT_REQUESTS,
                        help="measured requests per page (default %(default)s)")
    parser.add_argument("--companies", type=int, default=http_pages.DEFAULT_COMPANIES,
                        help="demo companies to load (default %(default)s)")
    parser.add_argument("--import-rows", type=int, default=import_bench.DEFAULT_ROWS,
                        help="rows of the generated import file (default %(default)s)")
    parser.add_argument("--import-drain", choices=import_bench.DRAIN_MODES, action="append",
                        help="SEARCH_DRAIN of the import benchmark (repeatable; default: inline, then worker)")
    parser.add_argument("--postgres", default=os.environ.get("BENCH_DATABASE_URL") or None,
                        help="also measure the import on this PostgreSQL database, in a temporary schema "
                             "(default: $BENCH_DATABASE_URL)")
    parser.add_argument("--search-sizes", type=_sizes, default=(10_000, 100_000),
                        help="catalog sizes of the search benchmark, comma separated (default 10000,100000)")
    parser.add_argument("--search-queries", type=int, default=500,
                        help="queries of the search benchmark's latency mix (default %(default)s)")
    parser.add_argument("--match-products", type=int, default=None,
                        help="generated products of the matching benchmark's part B (default: its own)")
    parser.add_argument("--match-requests", type=int, default=None,
                        help="open requests of the matching benchmark's part B (default: its own)")
    parser.add_argument("--api-products", type=int, default=100_000,
                        help="generated products of the API benchmark (default %(default)s)")
    parser.add_argument("--seed", type=int, default=2025, help="demo data seed (default %(default)s)")
    args = parser.parse_args(argv)
    chosen = args.only or BENCHMARKS
    if "http" in chosen:
        http_pages.run(requests=args.requests, companies=args.companies, seed=args.seed)
        print()
    if "import" in chosen:
        import_bench.run(rows=args.import_rows, seed=args.seed, postgres=args.postgres,
                         drains=tuple(args.import_drain or import_bench.DRAIN_MODES))
        print()
    if "demand" in chosen:
        from bench import demand_list_bench

        demand_list_bench.run(seed=args.seed, postgres=args.postgres)
        print()
    if "analysis" in chosen:
        from bench import analysis_bench  # jieba vs rjieba: jieba is a dev dependency only

        analysis_bench.run(seed=args.seed)
        print()
    if "image" in chosen:
        from bench import image_bench

        image_bench.run()
        print()
    if "sourcing" in chosen:
        from bench import sourcing_bench  # imports the search engine and the app: only when asked for

        sourcing_bench.run(seed=args.seed)
        print()
    if "match" in chosen:
        from bench import match_bench  # imports the search engine and the app: only when asked for

        match_bench.run(products=args.match_products or match_bench.DEFAULT_PRODUCTS,
                        requests=args.match_requests or match_bench.DEFAULT_OPEN_REQUESTS, seed=args.seed)
        print()
    if "api" in chosen:
        from bench import api_bench  # builds the catalog at scale: only when asked for

        api_bench.run(products=args.api_products, seed=args.seed)
        print()
    if "reports" in chosen:
        from bench import reports_bench  # builds 100,000 intents: only when asked for

        reports_bench.run(seed=args.seed)
        print()
    if "search" in chosen:
        from bench import search_bench  # imports the search engine: only when asked for

        search_bench.run(sizes=args.search_sizes, queries=args.search_queries, seed=args.seed)


if __name__ == "__main__":
    main()
