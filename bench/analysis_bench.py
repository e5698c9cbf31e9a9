"""Chinese segmentation and the search analyzer: jieba against rjieba, and what the analyzer costs.

On the same ~2 million characters of product text (realistic listings of every demo industry,
``marketplace.demo_products.bench_products``, seeded: Chinese and English titles, descriptions,
specifications, tariff notes; one line each):

- jieba (Python) and rjieba (Rust) in accurate mode (``cut``) and search mode (``cut_for_search``):
  characters per second, each with its plain default dictionary (a fresh ``rjieba.Jieba()``, not
  the one ``search_index.analysis`` extends with its domain words);
- their agreement: the share of lines cut into identical token sequences (all tokens, and the
  Chinese words alone), and a few distinct lines that differ;
- ``search_index.analysis``: the full analyzer (normalisation, rjieba, compounds, sub-words,
  stemming) in index and query mode, cold (each distinct line once, line caches emptied) in
  tokens and characters per second, next to the time rjieba alone takes on those lines; and per
  product document as the engine indexes it (TITLE, then TEXT, which repeats the title: the line
  cache segments it once).

jieba is imported here only (``pip install jieba``); it is not a dependency of the application.
"""
from __future__ import annotations

import os
import platform
import re
import sys
import time

DEFAULT_CHARS = 2_000_000
DEFAULT_DOCUMENTS = 20_000
EXAMPLES = 5
CJK = re.compile("[\u4e00-\u9fff]")


def product_lines(chars: int = DEFAULT_CHARS, seed: int = 2025) -> list[str]:
    """Lines of product text (titles, descriptions, specs, notes) adding up to about ``chars`` characters."""
    from marketplace.demo_products import bench_products

    lines: list[str] = []
    total = 0
    batch = 0
    while total < chars:
        for product in bench_products(2000, seed + batch):
            parts = [product.title_zh, product.title_en, product.description_zh, product.description_en,
                     product.tariff_note, " ".join(f"{key} {value}" for key, value in product.specs)]
            for part in parts:
                if part:
                    lines.append(part)
                    total += len(part)
            if total >= chars:
                break
        batch += 1
    return lines


def product_documents(count: int = DEFAULT_DOCUMENTS, seed: int = 2025) -> list[tuple[str, str]]:
    """(TITLE, TEXT) of ``count`` product documents, built by ``search_index.schemas.to_document``."""
    from marketplace.demo_products import bench_products
    from search_index import schemas

    documents = []
    for number, product in enumerate(bench_products(count, seed), start=1):
        record = schemas.ProductRecord(
            id=number, sku=product.sku, company_id=1, company_name="", title_zh=product.title_zh,
            title_en=product.title_en, description_zh=product.description_zh,
            description_en=product.description_en, category=product.category, category_names=(product.category,),
            hs_code=product.hs_code, brand=product.brand, model=product.model,
            specs=tuple((key, value) for key, value in product.specs),
        )
        document = schemas.to_document(record)
        documents.append((document[schemas.TITLE], document[schemas.TEXT]))
    return documents


def _rate(count: int, seconds: float) -> str:
    return f"{count / seconds / 1e6:.2f} M/s" if count / seconds >= 1e6 else f"{count / seconds / 1e3:.0f} k/s"


def _time(function, lines: list[str]) -> tuple[float, list[list[str]]]:
    started = time.perf_counter()
    result = [function(line) for line in lines]
    return time.perf_counter() - started, result


def compare_segmenters(lines: list[str]) -> dict:
    """jieba against a plain rjieba on ``lines``: speeds and agreement; prints a table."""
    import jieba
    import rjieba

    jieba.setLogLevel(60)
    jieba.initialize()
    plain = rjieba.Jieba()
    chars = sum(len(line) for line in lines)
    figures = {}
    print(f"{'segmenter':<28} {'seconds':>8} {'chars/s':>10}")
    outputs = {}
    for label, function in (
        ("jieba.cut", lambda line: list(jieba.cut(line))),
        ("rjieba.cut", plain.cut),
        ("jieba.cut_for_search", lambda line: list(jieba.cut_for_search(line))),
        ("rjieba.cut_for_search", plain.cut_for_search),
    ):
        seconds, outputs[label] = _time(function, lines)
        figures[label] = chars / seconds
        print(f"{label:<28} {seconds:>8.2f} {_rate(chars, seconds):>10}")
    print(f"rjieba / jieba: accurate {figures['rjieba.cut'] / figures['jieba.cut']:.0f}×, "
          f"search {figures['rjieba.cut_for_search'] / figures['jieba.cut_for_search']:.0f}×")
    chinese = [bool(CJK.search(line)) for line in lines]
    for mode in ("cut", "cut_for_search"):
        ours, theirs = outputs[f"rjieba.{mode}"], outputs[f"jieba.{mode}"]
        same = [a == b for a, b in zip(ours, theirs, strict=True)]
        same_zh = sum(s for s, zh in zip(same, chinese, strict=True) if zh)
        figures[f"agreement.{mode}"] = sum(same) / len(lines)
        same_words = sum([w for w in a if CJK.search(w)] == [w for w in b if CJK.search(w)]
                         for a, b, zh in zip(ours, theirs, chinese, strict=True) if zh)
        figures[f"agreement.{mode}.chinese_words"] = same_words / sum(chinese)
        print(f"identical token sequences ({mode}): {sum(same):,} of {len(lines):,} lines "
              f"({sum(same) / len(lines):.2%}); lines with Chinese: {same_zh / sum(chinese):.2%}, "
              f"their Chinese words alone: {same_words / sum(chinese):.2%}")
        # a few distinct differing lines, Chinese ones first
        shown = set()
        for i in sorted(range(len(lines)), key=lambda i: not chinese[i]):
            if same[i]:
                continue
            if len(shown) == EXAMPLES:
                break
            if lines[i] in shown:
                continue
            shown.add(lines[i])
            print(f"  {lines[i][:60]!r}\n    jieba : {' / '.join(theirs[i])[:110]}\n"
                  f"    rjieba: {' / '.join(ours[i])[:110]}")
    return figures


def measure_analyzer(lines: list[str], documents: list[tuple[str, str]]) -> dict:
    """The search analyzer's throughput, cold and per document; prints it."""
    import rjieba

    from search_index import analysis

    analyzer = analysis.chinese_analyzer()
    unique = list(dict.fromkeys(lines))  # cold: every line segmented once, the cache never hits
    chars = sum(len(line) for line in unique)
    figures = {}
    started = time.perf_counter()
    for line in unique:
        norm = analysis.normalise(line)
        rjieba.tokenize(norm)
        rjieba.tokenize(norm, "search")
    seconds = time.perf_counter() - started
    print(f"of which rjieba (accurate + search tokenize, {len(unique):,} distinct lines): {seconds:.2f} s, "
          f"{_rate(chars, seconds)} chars")
    for mode in ("index", "query"):
        analysis._index_line.cache_clear()
        analysis._query_line.cache_clear()
        tokens = 0
        started = time.perf_counter()
        for line in unique:
            for _token in analyzer(line, mode=mode, positions=True, chars=True):
                tokens += 1
        seconds = time.perf_counter() - started
        figures[f"{mode}.tokens_per_s"] = tokens / seconds
        figures[f"{mode}.chars_per_s"] = chars / seconds
        print(f"analyzer, mode {mode!r:<8} cold: {tokens:,} tokens in {seconds:.2f} s: "
              f"{_rate(tokens, seconds)} tokens, {_rate(chars, seconds)} chars")
    analysis._index_line.cache_clear()
    tokens = 0
    started = time.perf_counter()
    for title, text in documents:
        # what Whoosh does per document: TITLE with positions, TEXT without
        for _token in analyzer(title, mode="index", positions=True):
            tokens += 1
        for _token in analyzer(text, mode="index"):
            tokens += 1
    seconds = time.perf_counter() - started
    figures["documents_per_s"] = len(documents) / seconds
    print(f"analyzer per product document (TITLE + TEXT): {len(documents):,} documents, {tokens:,} tokens in "
          f"{seconds:.2f} s: {len(documents) / seconds:,.0f} documents/s, {_rate(tokens, seconds)} tokens; "
          f"100k documents ≈ {100_000 / (len(documents) / seconds):.0f} s")
    return figures


def run(chars: int = DEFAULT_CHARS, documents: int = DEFAULT_DOCUMENTS, seed: int = 2025) -> dict:
    """Build the text, compare the segmenters, measure the analyzer; print everything, return the figures."""
    lines = product_lines(chars, seed)
    total = sum(len(line) for line in lines)
    print(f"Chinese analysis: {total:,} characters of product text in {len(lines):,} lines")
    print(f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs")
    figures = compare_segmenters(lines)
    figures.update(measure_analyzer(lines, product_documents(documents, seed)))
    sys.stdout.flush()
    return figures


if __name__ == "__main__":
    run()
