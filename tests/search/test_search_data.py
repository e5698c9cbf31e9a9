"""The search benchmark's generated listings and queries: deterministic, well-formed, and a labelled set that can be judged."""
from __future__ import annotations

import csv
import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench.search_data import PLACES, category_names, generate_products, kind_categories
from bench.search_queries import LABELLED_QUERIES, QUERY_MIX, query_mix
from marketplace.catalog.categories import CATEGORIES, CERTIFICATION_CODES
from search_index.schemas import TITLE, ProductRecord, to_document

REGIONS_CSV = Path(__file__).resolve().parents[2] / "marketplace" / "data" / "gbt2260_province_city.csv"
SIZE = 2000


@pytest.fixture(scope="module")
def products() -> list[ProductRecord]:
    return list(generate_products(SIZE))


def _full(record: ProductRecord) -> tuple:
    return record, record.extra  # ProductRecord equality ignores ``extra``


def test_generate_products_same_seed_same_records(products):
    again = list(generate_products(SIZE))
    assert [_full(r) for r in again] == [_full(r) for r in products]


def test_generate_products_other_seed_other_records(products):
    other = list(generate_products(SIZE, seed=7))
    assert [r.title_zh for r in other] != [r.title_zh for r in products]


def test_generate_products_ids_and_kinds(products):
    assert [r.id for r in products] == list(range(1, SIZE + 1))
    kinds = kind_categories()
    for record in products:
        assert kinds[record.extra["kind"]] == record.category
        assert record.category_names == category_names()[record.category]


def test_generate_products_cover_every_category_but_other(products):
    codes = {c.code for c in CATEGORIES} - {"other"}
    assert {r.category for r in products} == codes
    assert set(Counter(r.extra["kind"] for r in products)) == set(kind_categories())


def test_category_names_are_chinese_and_english():
    names = category_names()
    assert names["small_appliances"] == ("小家电", "Small home appliances")
    assert names["electronics"] == ("消费电子", "Consumer electronics")


def test_generate_products_fields_are_valid(products):
    regions = {}
    with REGIONS_CSV.open(encoding="utf-8-sig") as handle:
        for row in csv.DictReader(handle):
            regions[row["code6"]] = row["province_code6"]
    for record in products:
        assert regions[record.province] == record.province
        assert regions[record.city] == record.province
        assert isinstance(record.price_fen, int) and record.price_fen > 0
        assert record.moq >= 1
        assert set(record.certifications) <= CERTIFICATION_CODES
        assert datetime(2025, 1, 1, tzinfo=UTC) <= record.published_at < datetime(2027, 1, 1, tzinfo=UTC)
        assert record.company_name.endswith("有限公司")
        assert to_document(record)[TITLE].startswith(record.title_zh)
    assert len({province for province, _city, _weight in PLACES}) >= 12
    assert len({r.province for r in products}) >= 8
    assert len({r.company_id for r in products}) == SIZE // 50


def test_generate_products_titles_and_descriptions(products):
    english_only = [r for r in products if r.description_zh is None]
    assert 0.03 * SIZE <= len(english_only) <= 0.07 * SIZE
    for record in english_only:
        assert not re.search(r"[\u4e00-\u9fff]", record.title_zh) and record.title_en is None
    for record in products:
        if record.description_zh is not None:
            assert 150 <= len(record.description_zh) <= 250
            assert record.title_zh in record.description_zh


def test_generate_products_flag_shares(products):
    share = lambda flag: sum(getattr(r, flag) for r in products) / SIZE  # noqa: E731
    assert 0.55 <= share("tariff_hit") <= 0.65
    assert 0.35 <= share("domestic_ready") <= 0.45
    assert 0.05 <= share("verified") <= 0.40  # drawn per exporter: 40 exporters in this set


def test_labelled_queries_each_have_a_relevant_product(products):
    present = Counter(r.extra["kind"] for r in products)
    assert len(LABELLED_QUERIES) >= 60
    assert len({text for text, _kinds, _note in LABELLED_QUERIES}) == len(LABELLED_QUERIES)
    for text, kinds, note in LABELLED_QUERIES:
        assert kinds <= set(kind_categories()), text
        assert note
        assert sum(present[k] for k in kinds) >= 1, text


def test_query_mix_shape():
    assert query_mix(500) == list(QUERY_MIX)
    assert len(QUERY_MIX) >= 500
    codes = {c.code for c in CATEGORIES}
    for query in QUERY_MIX:
        assert 2 <= len(query.text.split()) <= 4
        assert query.category is None or query.category in codes
        if query.price_min_fen is not None:
            assert 0 < query.price_min_fen < query.price_max_fen
    with_category = sum(q.category is not None for q in QUERY_MIX)
    with_price = sum(q.price_min_fen is not None for q in QUERY_MIX)
    assert abs(with_category - len(QUERY_MIX) / 3) <= 1
    assert abs(with_price - len(QUERY_MIX) / 3) <= 1


# ---------------------------------------------------------------------------- the FTS5 baselines


@pytest.fixture(scope="module")
def both_indexes(products, tmp_path_factory):
    """The engine and FTS5 over the same listings."""
    from bench.fts5_baseline import Fts5Index
    from search_index import ProductIndex

    directory = tmp_path_factory.mktemp("baselines")
    index = ProductIndex(directory / "index")
    index.rebuild(products)
    fts, _stats = Fts5Index.build(products, directory / "fts5.sqlite3")
    yield index, fts
    index.close()
    fts.close()


def test_fts5_fair_baseline_counts_what_the_engine_finds(both_indexes):
    """Read as the engine reads it (synonyms, lone characters, relaxed pass), FTS5 matches the same listings."""
    from search_index import Filters, SearchQuery

    index, fts = both_indexes
    queries = [(q.text, q.category, q.price_min_fen, q.price_max_fen) for q in query_mix(80)]
    queries += [(text, None, None, None) for text, _kinds, _note in LABELLED_QUERIES]
    compared = relaxed = 0
    for text, category, low, high in queries:
        result = index.search(SearchQuery(text=text, filters=Filters(category=category, price_min_fen=low,
                                                                       price_max_fen=high), highlight=False))
        if set(result.notices) - {"relaxed"}:
            continue  # the engine did more than the parsed query (a correction or a widening)
        fair = fts.search(text, category, low, high, highlight=False, mode="engine")
        assert fair.total == result.total, text
        assert fair.relaxed == ("relaxed" in result.notices), text
        compared += 1
        relaxed += fair.relaxed
    assert compared >= 100 and relaxed >= 1


def test_fts5_raw_baseline_misses_what_synonyms_find(both_indexes):
    _index, fts = both_indexes
    raw = fts.search("电饭锅", highlight=False, facets=True)
    fair = fts.search("电饭锅", highlight=False, mode="engine")
    assert fair.total > raw.total  # the listings say 电饭煲: only the engine's reading finds them
