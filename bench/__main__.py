"""``python -m bench``: run every benchmark and print its table."""
from __future__ import annotations

import argparse

from bench import http_pages


def main(argv: list[str] | None = None) -> None:
    """Parse the options and run the benchmarks in turn."""
    parser = argparse.ArgumentParser(prog="python -m bench", description="Rongtong benchmarks (numbers, not tests).")
    parser.add_argument("--requests", type=int, default=http_pages.DEFAULT_REQUESTS,
                        help="measured requests per page (default %(default)s)")
    parser.add_argument("--companies", type=int, default=http_pages.DEFAULT_COMPANIES,
                        help="demo companies to load (default %(default)s)")
    parser.add_argument("--seed", type=int, default=2025, help="demo data seed (default %(default)s)")
    args = parser.parse_args(argv)
    http_pages.run(requests=args.requests, companies=args.companies, seed=args.seed)


if __name__ == "__main__":
    main()
