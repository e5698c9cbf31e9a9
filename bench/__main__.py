"""``python -m bench``: run every benchmark and print its table."""
from __future__ import annotations

import argparse
import os

from bench import http_pages, import_bench

BENCHMARKS = ("http", "import")


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
    parser.add_argument("--postgres", default=os.environ.get("BENCH_DATABASE_URL") or None,
                        help="also measure the import on this PostgreSQL database, in a temporary schema "
                             "(default: $BENCH_DATABASE_URL)")
    parser.add_argument("--seed", type=int, default=2025, help="demo data seed (default %(default)s)")
    args = parser.parse_args(argv)
    chosen = args.only or BENCHMARKS
    if "http" in chosen:
        http_pages.run(requests=args.requests, companies=args.companies, seed=args.seed)
        print()
    if "import" in chosen:
        import_bench.run(rows=args.import_rows, seed=args.seed, postgres=args.postgres)


if __name__ == "__main__":
    main()
