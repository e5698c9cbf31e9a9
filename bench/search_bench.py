"""Search at 10k and 100k products: build, query latency, save → found, and quality, against SQLite FTS5.

For each size, the listings of ``bench.search_data`` (seeded) are indexed once into a temporary
directory and every measurement of that size reuses the index:

- **build**: ``ProductIndex.rebuild`` in a subprocess, so its peak memory is its own (the child
  reports its VmHWM: ``getrusage(RUSAGE_CHILDREN).ru_maxrss`` seen from here would also count the
  parent's RSS at fork time and every earlier child), docs/s, size on disk; the same
  listings segmented with ``search_index.analysis`` and loaded into FTS5 (``bench.fts5_baseline``).
- **queries** (warm engine: one untimed pass of another mix first): p50/p95/p99 over the query mix
  of ``bench.search_queries`` for free text with highlights, with the mix's filters, with facet
  counts, and a repeated query (the engine's result cache); the same for FTS5 reading the query two
  ways (``bench.fts5_baseline``): ``raw`` (AND of the raw words: cheaper and weaker) and ``engine``
  (the engine's parsed query: synonyms, single-character expansion, count, relaxed pass — the fair
  one), with the ratios beside the absolute times (absolute times alone mislead on a busy machine).
- **save → found, index only**: this process ``apply()``s one new or changed listing at a time while
  two other processes search continuously (a query of the mix, then a poll for the saved listing's
  unique word); the time from the start of ``apply()`` to the first poll that finds it.
- **save → found, end to end** (10k set, ``bench.save_found``): a product saved through the catalog
  service on a database, the change log, the inline drain or ``flask index worker`` in its own
  process, a search in another process.
- **quality** (10k set): mean precision@10 and recall@20 over ``LABELLED_QUERIES`` (relevant =
  the listing's kind is one the query names), "capped" recall = found / min(relevant, 20), the 10
  worst queries, and the synonym pairs the labelled set needs that the table lacks; for both ways
  FTS5 reads the query.

Numbers, not assertions. ``python -m bench --only search [--search-sizes 10000] [--search-queries 500]``.
"""
from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata
from itertools import islice
from pathlib import Path

from bench import save_found
from bench.fts5_baseline import MODES, Fts5Index, time_queries
from bench.search_data import generate_products
from bench.search_queries import LABELLED_QUERIES, MixQuery, missing_synonyms, query_mix

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SIZES = (10_000, 100_000)
DEFAULT_QUERIES = 500
QUALITY_SIZE = 10_000
SAVES = 50
SEARCHERS = 2
FOUND_TIMEOUT_S = 60.0
TOP = 20


# ----------------------------------------------------------------------------- small helpers


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def _ms(value: float) -> str:
    return f"{value:.2f}" if value < 10 else f"{value:.1f}" if value < 100 else f"{value:,.0f}"


def _triple(values: list[float]) -> str:
    return " / ".join(_ms(percentile(values, p)) for p in (50, 95, 99))


def _ratio(whoosh_ms: float, fts_ms: float) -> str:
    value = whoosh_ms / max(fts_ms, 1e-6)
    return f"{value:.1f}×" if value < 10 else f"{value:,.0f}×"


def _mb(size: float) -> str:
    return f"{size / 1024 / 1024:,.1f} MB"


def _dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _filters(query: MixQuery):
    from search_index import Filters

    return Filters(category=query.category, price_min_fen=query.price_min_fen, price_max_fen=query.price_max_fen)


def _width(text: str) -> int:
    """Columns a string takes in a terminal (CJK characters take two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, left: bool) -> str:
    fill = " " * max(0, width - _width(text))
    return text + fill if left else fill + text


def _table(rows: list[tuple], header: tuple) -> str:
    widths = [max(_width(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    lines = []
    for number, row in enumerate([header, *rows]):
        cells = [_pad(str(cell), widths[i], i == 0 or i == len(row) - 1 and not str(cell)[:1].isdigit())
                 for i, cell in enumerate(row)]
        lines.append("  " + "  ".join(cells).rstrip())
        if number == 0:
            lines.append("  " + "  ".join("-" * w for w in widths))
    return "\n".join(lines)


# ----------------------------------------------------------------------------- build (subprocess)


def _peak_kb() -> int:
    """Peak RSS of this process in KB: VmHWM on Linux (ru_maxrss would include the parent's RSS at fork)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def rebuild_child(root: str, size: int, seed: int) -> dict:
    """In the child: rebuild the index from the generated listings, then time generating them alone; figures."""
    from bench.search_data import category_names
    from search_index import ProductIndex

    category_names()  # the generator's own imports (babel, the category vocabulary) before the baseline
    baseline_kb = _peak_kb()
    index = ProductIndex(root)
    stats = index.rebuild(generate_products(size, seed))
    maxrss_kb = _peak_kb()
    status = index.status()
    index.close()
    started = time.perf_counter()  # the share of the rebuild spent producing the records
    for _record in generate_products(size, seed):
        pass
    generate_s = time.perf_counter() - started
    return {
        "docs": stats["docs"], "seconds": stats["seconds"], "generate_s": generate_s,
        "maxrss_kb": maxrss_kb, "baseline_kb": baseline_kb,
        "children_maxrss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
        "segments": status["segments"], "size_bytes": status["size_bytes"],
    }


def rebuild_in_subprocess(root: Path, size: int, seed: int) -> dict:
    """Run ``rebuild_child`` in a fresh interpreter; its figures plus the wall time seen from here."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "bench.search_bench", "rebuild", str(root), str(size), str(seed)],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if proc.returncode:
        raise RuntimeError(f"rebuild failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    figures = json.loads(line[len("RESULT "):])
    figures["wall_s"] = wall
    return figures


# ----------------------------------------------------------------------------- query latency


def time_whoosh(index, queries: list[MixQuery], *, filters: bool = True, facets: bool = False,
                highlight: bool = True, repeat: bool = False) -> tuple[list[float], dict]:
    """Milliseconds of each query (``repeat``: the second of two identical searches, cache on); counts."""
    from search_index import Filters, SearchQuery

    latencies, empty, relaxed = [], 0, 0
    for query in queries:
        request = SearchQuery(text=query.text, filters=_filters(query) if filters else Filters(), per_page=TOP,
                              facets=facets, highlight=highlight, use_cache=repeat)
        if repeat:
            index.search(request)
        started = time.perf_counter()
        result = index.search(request)
        latencies.append((time.perf_counter() - started) * 1000)
        empty += result.total == 0
        relaxed += "relaxed" in result.notices
    return latencies, {"empty": empty, "relaxed": relaxed}


def measure_queries(index, fts: Fts5Index, mix: list[MixQuery], warm: list[MixQuery]) -> list[tuple]:
    """The latency lines: (label, whoosh ms list, {fts5 mode: ms list}, whoosh counts)."""
    time_whoosh(index, warm)  # warm: searcher, columns, the commonest postings
    for mode in MODES:
        time_queries(fts, warm, mode=mode)
    lines = []
    specs = (
        ("free text, top 20 + highlights", {"filters": False}),
        ("free text + filters (mix)", {}),
        ("… + facet counts", {"facets": True}),
        ("repeated query (result cache)", {"repeat": True}),
    )
    for label, kwargs in specs:
        whoosh_ms, counts = time_whoosh(index, mix, **kwargs)
        fts_ms = {mode: time_queries(fts, mix, mode=mode, **kwargs) for mode in MODES}
        lines.append((label, whoosh_ms, fts_ms, counts))
    # the filtered line again, split by kind of filter (same runs)
    _label, whoosh_ms, fts_ms, _counts = lines[1]
    for label, pick in (("  of which category filter", lambda q: q.category is not None),
                        ("  of which price range", lambda q: q.price_min_fen is not None)):
        chosen = [i for i, q in enumerate(mix) if pick(q)]
        lines.append((label, [whoosh_ms[i] for i in chosen],
                      {mode: [times[i] for i in chosen] for mode, times in fts_ms.items()}, None))
    return lines


# ----------------------------------------------------------------------------- save → found


def _token(number: int, seed: int) -> str:
    """A word no listing contains: one ASCII term for the analyzer (no stemming: it has digits)."""
    return f"zq{seed % 97:02d}s{number:04d}"


def searcher_loop(root: str, texts: list[str], seed: int, target, expected, stop, ready, found, name: int) -> None:
    """In a searching process: alternate a query of the mix with a poll for the current saved listing."""
    from search_index import ProductIndex, SearchQuery

    index = ProductIndex(root, create=False)
    for text in texts[:20]:
        index.search(SearchQuery(text=text, use_cache=False))
    ready.put(name)
    last = -1
    loops = 0
    started = time.monotonic()
    position = name * 7
    while not stop.is_set():
        number = target.value
        if number >= 0 and number != last:
            wanted = expected.value
            result = index.search(SearchQuery(text=_token(number, seed), highlight=False, use_cache=False))
            if any(hit.id == wanted for hit in result.hits):
                found.put((name, number, time.monotonic()))
                last = number
        index.search(SearchQuery(text=texts[position % len(texts)], use_cache=False))
        position += 1
        loops += 1
    found.put((name, "loops", loops, time.monotonic() - started))
    index.close()


def measure_save_to_found(index, root: Path, size: int, seed: int, mix: list[MixQuery], saves: int | None = None) -> dict:
    """``saves`` apply() calls here while ``SEARCHERS`` processes search; apply and save→found times in ms."""
    ctx = multiprocessing.get_context("spawn")
    target, expected = ctx.Value("q", -1), ctx.Value("q", -1)
    stop, ready, found = ctx.Event(), ctx.Queue(), ctx.Queue()
    texts = [q.text for q in mix]
    workers = [ctx.Process(target=searcher_loop, args=(str(root), texts, seed, target, expected, stop, ready, found, n),
                           daemon=True) for n in range(SEARCHERS)]
    for worker in workers:
        worker.start()
    for _worker in workers:
        ready.get(timeout=600)
    rng = random.Random(seed)
    templates = list(islice(generate_products(size, seed), saves or SAVES))
    apply_ms, first_ms, all_ms, busy, missed = [], [], [], 0, 0
    for number, template in enumerate(templates):
        new = number % 2 == 0  # half new listings, half changes to existing ones
        product_id = size + 1 + number if new else template.id
        record = dataclasses.replace(template, id=product_id, sku=f"{template.sku}-S{number}",
                                     title_zh=f"{template.title_zh} {_token(number, seed)}")
        expected.value = product_id
        target.value = number
        started = time.monotonic()
        while not index.apply(upserts=[record], timeout=5.0):
            busy += 1
        apply_ms.append((time.monotonic() - started) * 1000)
        seen: dict[int, float] = {}
        deadline = time.monotonic() + FOUND_TIMEOUT_S
        while len(seen) < SEARCHERS and time.monotonic() < deadline:
            try:
                message = found.get(timeout=max(0.01, deadline - time.monotonic()))
            except Exception:  # queue.Empty
                break
            if message[1] == number:
                seen[message[0]] = message[2]
        if len(seen) < SEARCHERS:
            missed += 1
        if seen:
            first_ms.append((min(seen.values()) - started) * 1000)
            all_ms.append((max(seen.values()) - started) * 1000)
        time.sleep(rng.uniform(0.02, 0.12))  # do not lock step with the searchers' loops
    target.value = -1
    stop.set()
    loops = []
    deadline = time.monotonic() + 120
    while len(loops) < SEARCHERS and time.monotonic() < deadline:
        try:
            message = found.get(timeout=5)
        except Exception:  # queue.Empty
            continue
        if message[1] == "loops":
            loops.append(message[3] * 1000 / max(message[2], 1))
    for worker in workers:
        worker.join(timeout=30)
        if worker.is_alive():
            worker.terminate()
    status = index.status()
    return {"apply_ms": apply_ms, "first_ms": first_ms, "all_ms": all_ms, "busy": busy, "missed": missed,
            "loop_ms": loops, "doc_count": status["doc_count"], "expected_docs": size + (len(templates) + 1) // 2,
            "segments": status["segments"]}


# ----------------------------------------------------------------------------- quality


def measure_quality(index, fts: Fts5Index, records) -> dict:
    """Precision@10 and recall@20 over the labelled queries, for the engine and for FTS5."""
    from search_index import SearchQuery

    by_kind: dict[str, set[int]] = {}
    for record in records:
        by_kind.setdefault(record.extra["kind"], set()).add(record.id)
    rows = []
    for text, kinds, note in LABELLED_QUERIES:
        relevant = set().union(*(by_kind.get(kind, set()) for kind in kinds))
        result = index.search(SearchQuery(text=text, per_page=TOP, highlight=False, use_cache=False))
        ids = [hit.id for hit in result.hits]
        fts_ids = fts.search(text, limit=TOP, highlight=False).ids
        fair_ids = fts.search(text, limit=TOP, highlight=False, mode="engine").ids
        row = {"text": text, "note": note, "relevant": len(relevant), "total": result.total,
               "notices": result.notices}
        for prefix, found in (("", ids), ("fts_", fts_ids), ("fair_", fair_ids)):
            top10 = sum(1 for i in found[:10] if i in relevant)
            top20 = sum(1 for i in found[:TOP] if i in relevant)
            row[prefix + "p10"] = top10 / 10
            row[prefix + "r20"] = top20 / len(relevant) if relevant else 0.0
            row[prefix + "r20c"] = top20 / min(len(relevant), TOP) if relevant else 0.0
            row[prefix + "found"] = len(found)
        rows.append(row)
    return {"rows": rows}


# ----------------------------------------------------------------------------- the run


def _times(whoosh_s: float, fts_s: float) -> str:
    """``Whoosh / FTS5`` as a ratio of two durations."""
    return f"{whoosh_s / max(fts_s, 1e-9):.1f}×"


def _print_size(size: int, queries: int, build: dict, fts_build: dict, fts_size: int, lines: list[tuple],
                saves: dict, rss_kb: int, index_dir_bytes: int) -> None:
    index_only = max(build["seconds"] - build["generate_s"], 1e-9)
    fts_only = max(fts_build["seconds"] - build["generate_s"], 1e-9)
    print(f"\nSearch at {size:,} products — Whoosh engine (search_index) vs SQLite FTS5 over the same segmented "
          f"text; {queries} queries")
    rows = [
        ("full rebuild, incl. generating the listings", f"{build['seconds']:.1f} s",
         f"{fts_build['seconds']:.1f} s", _times(build["seconds"], fts_build["seconds"])),
        ("  of which generating the listings", f"{build['generate_s']:.1f} s", f"{build['generate_s']:.1f} s", ""),
        ("  the rest (analysis + writing the index)", f"{index_only:.1f} s", f"{fts_only:.1f} s",
         _times(index_only, fts_only)),
        ("    of which segmentation (index_terms of TITLE, TEXT)", "—", f"{fts_build['segment_s']:.1f} s", ""),
        ("    of which SQLite inserts + optimize", "—", f"{fts_build['insert_s']:.1f} s", ""),
        ("docs/s (generation excluded)", f"{build['docs'] / index_only:,.0f}",
         f"{fts_build['docs'] / fts_only:,.0f}", ""),
        ("peak memory of the rebuild process", _mb(build["maxrss_kb"] * 1024), "—", ""),
        ("  of which before the rebuild (imports only)", _mb(build["baseline_kb"] * 1024), "—", ""),
        ("index size on disk", _mb(build["size_bytes"]), _mb(fts_size), _times(build["size_bytes"], fts_size)),
        ("  whole index root (all generations)", _mb(index_dir_bytes), "—", ""),
        ("segments after rebuild", str(build["segments"]), "—", ""),
    ]
    if build.get("children_maxrss_kb"):
        rows.insert(7, ("  peak of its worker processes", _mb(build["children_maxrss_kb"] * 1024), "—", ""))
    print(_table(rows, ("build", "Whoosh", "FTS5", "Whoosh/FTS5")))
    print()
    rows = []
    for label, whoosh_ms, fts_ms, _counts in lines:
        ratios = [" / ".join(_ratio(percentile(whoosh_ms, p), percentile(fts_ms[mode], p)) for p in (50, 95))
                  for mode in ("engine", "raw")]
        rows.append((label, len(whoosh_ms), _triple(whoosh_ms), _triple(fts_ms["engine"]), ratios[0],
                     _triple(fts_ms["raw"]), ratios[1]))
    print(_table(rows, ("query latency, ms (warm)", "n", "Whoosh p50/p95/p99", "FTS5 fair p50/p95/p99",
                        "ratio p50/p95", "FTS5 raw p50/p95/p99", "ratio p50/p95")))
    counts = lines[1][3]
    print("  FTS5 fair = the engine's parsed query (synonyms, lone-character expansion, relaxed pass, total "
          "counted): the comparison to quote. FTS5 raw = AND of the raw words, no total: less work and worse "
          "answers (see quality), so its ratio flatters FTS5.")
    print(f"  (mix with filters: {counts['empty']} of {len(lines[1][1])} queries found nothing in the engine, "
          f"{counts['relaxed']} answered by the relaxed pass)")
    print(f"  searching process RSS after the query lines: {_mb(rss_kb * 1024)}")
    print()
    rows = [
        ("apply() one listing, ms", len(saves["apply_ms"]), _triple(saves["apply_ms"])),
        ("apply() → found by the first searcher, ms", len(saves["first_ms"]), _triple(saves["first_ms"])),
        ("apply() → found by both searchers, ms", len(saves["all_ms"]), _triple(saves["all_ms"])),
    ]
    print(_table(rows, (f"index only: apply() → found ({SEARCHERS} processes searching)", "n", "p50/p95/p99")))
    loop = " / ".join(f"{ms:.0f}" for ms in saves["loop_ms"]) or "?"
    print(f"  searchers' loop (one mix query + one poll): {loop} ms on average = the resolution of these times; "
          f"writer lock busy {saves['busy']}×; not found within {FOUND_TIMEOUT_S:.0f} s: {saves['missed']}")
    print(f"  after the saves: {saves['doc_count']:,} documents (expected {saves['expected_docs']:,}: half the saves "
          f"were new listings, half changed ones), {saves['segments']} segments")
    sys.stdout.flush()


def _print_end_to_end(size: int, figures: dict) -> None:
    print(f"\nSave → found end to end at {size:,} products (SQLite; catalog loaded by import + rebuild in "
          f"{figures['load_s']:.0f} s): a service save (half create_product, half update_product), the change log, "
          f"the drain, a search in another process")
    rows = []
    for drain, label in (("inline", "inline drain (make run)"), ("worker", "flask index worker process")):
        data = figures.get(drain)
        if not data:
            continue
        rows.append((f"{label}: service call, ms", len(data["call_ms"]), _triple(data["call_ms"]), ""))
        rows.append(("  save → found, ms", len(data["save_ms"]), _triple(data["save_ms"]),
                     f"not found in {FOUND_TIMEOUT_S:.0f} s: {data['missed']}"))
        rows.append(("  commit → found, ms", len(data["commit_ms"]), _triple(data["commit_ms"]),
                     f"searcher loop {data['loop_ms'] or 0:.0f} ms"))
    print(_table(rows, ("", "n", "p50/p95/p99", "")))
    print("  (inline: the service call includes the drain; worker: it ends at the commit and the worker polls "
          "every 0.25 s)")
    sys.stdout.flush()


def _print_quality(quality: dict) -> None:
    from search_index.analysis import Synonyms

    rows = quality["rows"]
    count = len(rows)

    def mean(key):
        return sum(r[key] for r in rows) / count

    print(f"\nQuality at {QUALITY_SIZE:,} products: {count} labelled queries (relevant = the listing's kind)")
    table = [
        ("Whoosh engine", f"{mean('p10'):.3f}", f"{mean('r20'):.3f}", f"{mean('r20c'):.3f}",
         sum(1 for r in rows if r["found"] == 0)),
        ("FTS5 fair (the engine's parsed query)", f"{mean('fair_p10'):.3f}", f"{mean('fair_r20'):.3f}",
         f"{mean('fair_r20c'):.3f}", sum(1 for r in rows if r["fair_found"] == 0)),
        ("FTS5 raw (AND of terms, no synonyms)", f"{mean('fts_p10'):.3f}", f"{mean('fts_r20'):.3f}",
         f"{mean('fts_r20c'):.3f}", sum(1 for r in rows if r["fts_found"] == 0)),
    ]
    print(_table(table, ("", "P@10", "recall@20", "recall@20 capped", "queries with no result")))
    print("\n  the 10 worst queries of the engine (by P@10, then capped recall):")
    worst = sorted(rows, key=lambda r: (r["p10"], r["r20c"], r["text"]))[:10]
    print(_table([(r["text"], f"{r['p10']:.1f}", f"{r['r20']:.3f}", f"{r['r20c']:.2f}", r["relevant"], r["total"],
                   f"{r['fts_p10']:.1f}", r["note"] + (" [relaxed]" if "relaxed" in r["notices"] else ""))
                  for r in worst],
                 ("query", "P@10", "R@20", "R@20 cap", "relevant", "found", "FTS5 P@10", "what it tests")))
    missing = missing_synonyms(Synonyms.default())
    if missing:
        print("\n  synonym pairs the labelled set needs that search_index/data/synonyms.txt lacks: "
              + ", ".join(f"{a} = {b}" for a, b in missing))
    sys.stdout.flush()


def _rss_kb() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def run(sizes=DEFAULT_SIZES, queries: int = DEFAULT_QUERIES, seed: int = 2025) -> dict:
    """Build, query, save → found and (at 10k) quality for each size; prints the tables, returns the figures."""
    from search_index import ProductIndex

    mix = query_mix(queries, seed)
    warm = query_mix(queries, seed + 1)
    print(f"Search benchmark: sizes {', '.join(f'{s:,}' for s in sizes)}; {queries} mix queries (2–4 words, "
          f"⅓ category filter, ⅓ price range); seed {seed}")
    print(f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs")
    sys.stdout.flush()
    figures = {}
    for size in sizes:
        tmp = Path(tempfile.mkdtemp(prefix=f"rongtong-search-bench-{size}-"))
        try:
            root = tmp / "index"
            build = rebuild_in_subprocess(root, size, seed)
            fts, fts_build = Fts5Index.build(generate_products(size, seed), tmp / "fts5.sqlite3")
            index = ProductIndex(root, create=False)
            lines = measure_queries(index, fts, mix, warm)
            rss_kb = _rss_kb()
            quality = None
            if size == QUALITY_SIZE:
                quality = measure_quality(index, fts, list(generate_products(size, seed)))
            saves = measure_save_to_found(index, root, size, seed, mix)
            index.close()
            fts.close()
            end_to_end = None
            if size == QUALITY_SIZE:
                end_to_end = save_found.run(size, seed, [q.text for q in mix])
            _print_size(size, queries, build, fts_build, fts_build["size_bytes"], lines, saves, rss_kb,
                        _dir_size(root))
            if end_to_end:
                _print_end_to_end(size, end_to_end)
            if quality:
                _print_quality(quality)
            figures[size] = {"build": build, "fts_build": fts_build, "saves": saves, "quality": quality,
                             "end_to_end": end_to_end, "lines": {label: (w, f) for label, w, f, _c in lines}}
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    if QUALITY_SIZE not in sizes:
        print(f"\n(quality and end-to-end save → found are measured on the {QUALITY_SIZE:,} set only: "
              f"add it to --search-sizes)")
    return figures


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "rebuild":
        print("RESULT " + json.dumps(rebuild_child(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))), flush=True)
    else:
        run()
