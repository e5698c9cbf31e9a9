"""search_index.engine.ProductIndex at the engine level (no Flask, no database): indexes built in tmp_path.

Covers search (AND semantics, synonyms, model numbers, phrases, exclusions, relaxed fallback, ranking,
highlights), every filter, facets against a brute-force count, sorts and pagination, "did you mean",
apply (update, delete, idempotence, cursor, write lock), the result cache and searcher refresh,
rebuild / check / status / optimize.
"""
from __future__ import annotations

import html
import itertools
import random
import tracemalloc
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from search_index import SORTS, Filters, ProductIndex, ProductRecord, SearchQuery
from search_index.engine import PostingsCache, SegmentWords
from search_index.query import parse
from tests.search.test_query import random_queries  # the same fuzz strings as the parser's test

T0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)


def record(**kw) -> ProductRecord:
    """A product record with sensible defaults; ``id`` is required, ``title`` is a shortcut for ``title_zh``."""
    pid = kw.pop("id")
    if "title" in kw:
        kw["title_zh"] = kw.pop("title")
    values = {
        "id": pid, "sku": f"SKU-{pid}", "company_id": 1, "company_name": "测试贸易有限公司",
        "title_zh": "商品", "category": "other", "moq": 1, "published_at": T0 + timedelta(hours=pid),
    }
    values.update(kw)
    return ProductRecord(**values)


def search(index: ProductIndex, text: str = "", **kw):
    kw.setdefault("per_page", 100)
    return index.search(SearchQuery(text=text, **kw))


def ids(results) -> list[int]:
    return [hit.id for hit in results.hits]


def all_ids(index: ProductIndex, text: str = "", **kw) -> list[int]:
    """Every result id in order, page by page."""
    out: list[int] = []
    page = 1
    while True:
        results = index.search(SearchQuery(text=text, page=page, per_page=100, **kw))
        out.extend(ids(results))
        if page >= results.pages:
            return out
        page += 1


@pytest.fixture
def index(tmp_path) -> ProductIndex:
    ix = ProductIndex(tmp_path / "ix")
    yield ix
    ix.close()


def build(tmp_path: Path, records, name: str = "ix") -> ProductIndex:
    ix = ProductIndex(tmp_path / name)
    assert ix.apply(records)
    return ix


# ============================================================================= text search


@pytest.fixture
def text_index(tmp_path) -> ProductIndex:
    return build(tmp_path, [
        record(id=1, title="电饭煲 家用 3L"),
        record(id=2, title="电饭煲 商用 大容量"),
        record(id=3, title="家用 空调 挂机"),
        record(id=4, title="充电宝 20000mAh 快充"),
        record(id=5, title="", title_en="Power bank 10000mAh slim"),
        record(id=6, title="移动电源 自带线"),
        record(id=7, title="格力空调 KFR-35GW/26 变频"),
        record(id=8, title="304 不锈钢 保温杯"),
        record(id=9, title="保温杯 304 不锈钢 儿童"),
        record(id=10, title="塑料 水杯"),
        record(id=11, title="不锈钢 汤锅"),
    ])


def test_every_word_is_required(text_index):
    assert sorted(ids(search(text_index, "电饭煲 家用"))) == [1]
    assert sorted(ids(search(text_index, "家用"))) == [1, 3]


def test_chinese_synonym_finds_the_other_word(text_index):
    assert sorted(ids(search(text_index, "电饭锅"))) == [1, 2]


def test_english_query_finds_chinese_only_title(text_index):
    results = search(text_index, "rice cooker")
    assert sorted(ids(results)) == [1, 2]
    assert results.notices == ()


@pytest.mark.parametrize("text", ["power bank", "充电宝", "移动电源", "Power Banks"])
def test_power_bank_synonyms_find_every_language(text_index, text):
    assert sorted(ids(search(text_index, text))) == [4, 5, 6]


@pytest.mark.parametrize("text", ["KFR-35GW", "kfr35gw", "kfr-35gw/26", "KFR35GW26", "ＫＦＲ－３５ＧＷ"])
def test_model_numbers_match_however_written(text_index, text):
    assert ids(search(text_index, text)) == [7]


def test_other_model_number_does_not_match(text_index):
    assert ids(search(text_index, "KFR-26GW")) == []


def test_number_glued_to_chinese_finds_spaced_text(text_index):
    assert sorted(ids(search(text_index, "304不锈钢"))) == [8, 9]


def test_stainless_alone_finds_every_stainless_title(text_index):
    assert sorted(ids(search(text_index, "不锈钢"))) == [8, 9, 11]


def test_a_segment_read_by_every_generation_stays_cached_through_many_small_commits(tmp_path):
    """The segment cache evicts the least recently used: the base segment, read by every search, keeps its
    column arrays while 100 small commits come and go (it was first in, first out: rebuilt every ~64 commits)."""
    writer = build(tmp_path, [record(id=n, title=f"不锈钢 保温杯 {n}号") for n in range(1, 2001)])
    reader = ProductIndex(tmp_path / "ix")  # a web worker's index: it only searches
    assert len(search(reader, "保温杯").hits) == 100
    base_id, base_data = next(iter(reader._segment_cache.items()))
    for n in range(100):
        assert writer.apply([record(id=5000 + n, title=f"玻璃 水杯 {n}号")])
        assert search(reader, "保温杯").total == 2000
    assert reader._segment_cache.get(base_id) is base_data


def test_phrase_needs_the_words_adjacent_and_in_order(tmp_path):
    ix = build(tmp_path, [
        record(id=1, title="不锈钢 保温杯 500ml"),
        record(id=2, title="保温杯 不锈钢"),
        record(id=3, title="不锈钢 真空 保温杯"),
        record(id=4, title="儿童 水杯", description_zh="不锈钢 保温杯"),
    ])
    results = search(ix, '"不锈钢 保温杯"')
    assert ids(results) == [1]
    assert sorted(ids(search(ix, "不锈钢 保温杯"))) == [1, 2, 3, 4]


def test_phrase_matches_the_words_written_together(tmp_path):
    # FINDING: 不锈钢 and 保温杯 written as one word (不锈钢保温杯) are adjacent and in order, but the
    # index stores them as sub-words at the compound's one position, so the phrase never matches.
    ix = build(tmp_path, [record(id=1, title="不锈钢保温杯"), record(id=2, title="304不锈钢保温杯 500ml")])
    assert sorted(ids(search(ix, '"不锈钢 保温杯"'))) == [1, 2]


@pytest.mark.parametrize("text", ["保温杯 -儿童", "保温杯 NOT 儿童", "-儿童 保温杯"])
def test_exclusion_removes_documents_with_the_word(text_index, text):
    assert ids(search(text_index, text)) == [8]


def test_excluding_a_word_also_excludes_what_searching_it_finds(tmp_path):
    # FINDING: a search for 空调 finds the English-only "air conditioner" title through the synonym
    # table, but -空调 excludes only documents holding the term 空调 itself.
    ix = build(tmp_path, [record(id=1, title="空调 挂机"), record(id=2, title="", title_en="Wall air conditioner"),
                          record(id=3, title="电饭煲")])
    assert sorted(ids(search(ix, "空调"))) == [1, 2]
    assert ids(search(ix, "-空调")) == [3]


def test_only_exclusions_lists_everything_else(text_index):
    results = search(text_index, "-不锈钢")
    assert sorted(ids(results)) == [1, 2, 3, 4, 5, 6, 7, 10]
    assert "only_exclusions" in results.notices


def test_or_finds_either_word(text_index):
    assert sorted(ids(search(text_index, "汤锅 OR 水杯"))) == [10, 11]


def test_relaxed_fallback_when_no_document_has_every_word(text_index):
    results = search(text_index, "电饭煲 挂机")
    assert "relaxed" in results.notices
    assert sorted(ids(results)) == [1, 2, 3]


def test_no_relaxed_notice_when_a_document_has_every_word(text_index):
    results = search(text_index, "家用 挂机")
    assert results.notices == ()
    assert ids(results) == [3]


def test_unknown_word_finds_nothing(text_index):
    results = search(text_index, "拖拉机")
    assert results.total == 0
    assert results.hits == []


def test_title_matches_rank_above_description_only_matches(tmp_path):
    ix = build(tmp_path, [
        record(id=1, title="保温杯 大容量"),  # the oldest: its rank is not "newest first"
        record(id=2, title="儿童 水杯", description_zh="可替代 保温杯 使用"),
        record(id=3, title="运动 水壶", description_zh="保温杯 同款 材质"),
        record(id=4, title="玻璃杯", description_zh="比 保温杯 轻"),
    ])
    results = search(ix, "保温杯")
    assert ids(results)[0] == 1
    assert sorted(ids(results)) == [1, 2, 3, 4]
    scores = [hit.score for hit in results.hits]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] > scores[1]


def test_highlight_is_escaped_html_with_marks(tmp_path):
    title = "<script>alert('x')</script> 电饭煲 & \"锅\""
    ix = build(tmp_path, [record(id=1, title=title)])
    hit = search(ix, "电饭煲").hits[0]
    assert hit.title == title
    marked = hit.highlights["title"]
    assert marked == "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; <mark>电饭煲</mark> &amp; &quot;锅&quot;"
    assert "<script>" not in marked
    assert html.unescape(marked.replace("<mark>", "").replace("</mark>", "")) == title


def test_highlight_marks_the_synonym_found(text_index):
    hit = search(text_index, "rice cooker").hits[0]
    assert "<mark>电饭煲</mark>" in hit.highlights["title"]


def test_highlight_marks_a_model_number(text_index):
    hit = search(text_index, "kfr35gw").hits[0]
    assert "<mark>KFR-35GW</mark>" in hit.highlights["title"]


def test_no_highlight_when_not_asked(text_index):
    assert all(hit.highlights == {} for hit in search(text_index, "电饭煲", highlight=False).hits)


def test_hit_carries_the_products_fields(tmp_path):
    ix = build(tmp_path, [record(id=42, sku="RC-2001", company_id=7, title="电饭煲", title_en="Rice cooker")])
    hit = search(ix, "电饭煲").hits[0]
    assert (hit.id, hit.sku, hit.company_id) == (42, "RC-2001", 7)
    assert hit.title == "电饭煲\nRice cooker"


def test_sku_is_searchable(tmp_path):
    ix = build(tmp_path, [record(id=1, sku="RC-2001", title="电饭煲"), record(id=2, sku="RC-3001", title="电饭煲")])
    assert ids(search(ix, "RC-2001")) == [1]


# ============================================================================= catalog: filters, facets, sorts

WORDS = ("电饭煲", "保温杯", "充电宝", "餐桌", "台灯")
ADJECTIVES = ("家用", "新款", "便携", "商用")
CATEGORIES = ("small_appliances", "kitchenware", "electronics", "furniture")
HS_CODES = ("8516600000", "8516710000", "9617001100", "8507600090", "9403600000", None)
PLACES = (("440000", "440300"), ("440000", "440600"), ("330000", "330200"), ("320000", "320500"), (None, None))
CERTS = ("CCC", "CE", "ROHS", "FDA")
DELETED_ID = 13


def make_catalog(count: int = 45, seed: int = 7) -> list[ProductRecord]:
    rng = random.Random(seed)
    hours = list(range(count))
    rng.shuffle(hours)
    records = []
    for i in range(count):
        pid = i + 1
        word, adjective = rng.choice(WORDS), rng.choice(ADJECTIVES)
        province, city = rng.choice(PLACES)
        description = f"可搭配 {rng.choice(WORDS)}" if rng.random() < 0.3 else None
        records.append(record(
            id=pid, title=f"{word} {adjective}", description_zh=description, category=rng.choice(CATEGORIES),
            hs_code=rng.choice(HS_CODES), province=province, city=city,
            certifications=tuple(c for c in CERTS if rng.random() < 0.35),
            price_fen=None if rng.random() < 0.2 else rng.randint(500, 50_000),
            moq=rng.choice((1, 50, 100, 500, 1000, 5000)), tariff_hit=rng.random() < 0.4,
            domestic_ready=rng.random() < 0.5, verified=rng.random() < 0.3, company_id=rng.randint(1, 4),
            published_at=T0 + timedelta(hours=hours[i]),
        ))
    return records


CATALOG = make_catalog()
LIVE = [r for r in CATALOG if r.id != DELETED_ID]


@pytest.fixture(scope="module")
def catalog(tmp_path_factory) -> ProductIndex:
    """The catalog in three segments (three applies of 15), one product deleted afterwards."""
    ix = ProductIndex(tmp_path_factory.mktemp("catalog") / "ix")
    for start in range(0, len(CATALOG), 15):
        assert ix.apply(CATALOG[start:start + 15])
    assert ix.apply(deletes=[DELETED_ID])
    assert ix.status()["segments"] >= 2
    yield ix
    ix.close()


def text_matches(rec: ProductRecord, text: str) -> bool:
    """Brute force for the catalog's queries: every word in the title or description."""
    body = f"{rec.title_zh} {rec.description_zh or ''}"
    return all(word in body for word in text.split())


def filter_matches(rec: ProductRecord, f: Filters) -> bool:
    """Brute force of the documented filter semantics."""
    checks = [
        f.category is None or rec.category == f.category,
        f.hs_prefix is None or (rec.hs_code or "").startswith(f.hs_prefix),
        f.province is None or rec.province == f.province,
        f.city is None or rec.city == f.city,
        f.certification is None or f.certification in rec.certifications,
        f.price_min_fen is None or (rec.price_fen is not None and rec.price_fen >= f.price_min_fen),
        f.price_max_fen is None or (rec.price_fen is not None and rec.price_fen <= f.price_max_fen),
        f.moq_max is None or rec.moq <= f.moq_max,
        f.tariff_hit is None or rec.tariff_hit == f.tariff_hit,
        f.domestic_ready is None or rec.domestic_ready == f.domestic_ready,
        f.verified is None or rec.verified == f.verified,
        f.company_id is None or rec.company_id == f.company_id,
    ]
    return all(checks)


def expected(text: str = "", filters: Filters | None = None) -> list[ProductRecord]:
    filters = filters or Filters()
    return [r for r in LIVE if text_matches(r, text) and filter_matches(r, filters)]


SINGLE_FILTERS = [
    pytest.param(Filters(category="kitchenware"), id="category"),
    pytest.param(Filters(hs_prefix="85"), id="hs-chapter"),
    pytest.param(Filters(hs_prefix="8516"), id="hs-heading"),
    pytest.param(Filters(hs_prefix="851671"), id="hs-subheading"),
    pytest.param(Filters(province="440000"), id="province"),
    pytest.param(Filters(city="440600"), id="city"),
    pytest.param(Filters(certification="CCC"), id="certification"),
    pytest.param(Filters(certification="CE"), id="certification-ce"),
    pytest.param(Filters(price_min_fen=10_000, price_max_fen=30_000), id="price-range"),
    pytest.param(Filters(price_max_fen=20_000), id="price-max-excludes-unpriced"),
    pytest.param(Filters(price_min_fen=20_000), id="price-min"),
    pytest.param(Filters(moq_max=100), id="moq-max"),
    pytest.param(Filters(tariff_hit=True), id="tariff-hit"),
    pytest.param(Filters(tariff_hit=False), id="tariff-not-hit"),
    pytest.param(Filters(domestic_ready=True), id="domestic-ready"),
    pytest.param(Filters(verified=True), id="verified"),
    pytest.param(Filters(verified=False), id="not-verified"),
    pytest.param(Filters(company_id=3), id="company"),
]

COMBINED_FILTERS = [
    pytest.param(Filters(province="440000", certification="CCC"), id="province+cert"),
    pytest.param(Filters(category="small_appliances", price_max_fen=40_000, moq_max=500), id="category+price+moq"),
    pytest.param(Filters(hs_prefix="85", tariff_hit=True, domestic_ready=True), id="hs+flags"),
    pytest.param(Filters(company_id=2, verified=False, price_min_fen=1_000), id="company+verified+price"),
]


def test_catalog_is_varied_enough():
    """The brute-force comparisons below mean something only if every filter splits the catalog."""
    for param in SINGLE_FILTERS + COMBINED_FILTERS:
        matched = expected("", param.values[0])
        assert 0 < len(matched) < len(LIVE), param.id
    assert any(r.price_fen is None for r in LIVE)
    assert any(r.hs_code is None for r in LIVE)


@pytest.mark.parametrize("filters", SINGLE_FILTERS + COMBINED_FILTERS)
def test_filter_keeps_exactly_the_matching_products(catalog, filters):
    results = search(catalog, "", filters=filters)
    assert sorted(ids(results)) == sorted(r.id for r in expected("", filters))
    assert results.total == len(expected("", filters))


@pytest.mark.parametrize("filters", SINGLE_FILTERS + COMBINED_FILTERS)
def test_filter_with_text(catalog, filters):
    want = sorted(r.id for r in expected("保温杯", filters))
    results = search(catalog, "保温杯", filters=filters)
    if want:
        assert sorted(ids(results)) == want
        assert "relaxed" not in results.notices
    else:
        assert results.total == 0


def test_unpriced_products_are_excluded_by_a_max_price(catalog):
    unpriced = {r.id for r in LIVE if r.price_fen is None}
    found = set(ids(search(catalog, "", filters=Filters(price_max_fen=10**12))))
    assert found == {r.id for r in LIVE} - unpriced


def test_deleted_product_is_never_found(catalog):
    assert DELETED_ID not in all_ids(catalog)
    deleted = next(r for r in CATALOG if r.id == DELETED_ID)
    assert DELETED_ID not in ids(search(catalog, deleted.title_zh))


@pytest.mark.parametrize("filters", [Filters(), Filters(province="330000"), Filters(certification="CE", moq_max=500)])
def test_browse_with_filters_lists_newest_first(catalog, filters):
    results = search(catalog, "", filters=filters)
    want = sorted(expected("", filters), key=lambda r: r.published_at, reverse=True)
    assert ids(results) == [r.id for r in want]
    assert results.suggestion is None


def brute_facets(records: list[ProductRecord]) -> dict:
    def ordered(counter: Counter) -> list:
        return sorted(((str(k), v) for k, v in counter.items() if k and v), key=lambda p: (-p[1], p[0]))

    return {
        "category": ordered(Counter(r.category for r in records)),
        "hs_chapter": ordered(Counter((r.hs_code or "")[:2] for r in records)),
        "province": ordered(Counter(r.province or "" for r in records)),
        "certs": ordered(Counter(c for r in records for c in set(r.certifications))),
        "tariff_hit": [("1", sum(r.tariff_hit for r in records))],
        "domestic_ready": [("1", sum(r.domestic_ready for r in records))],
        "verified": [("1", sum(r.verified for r in records))],
        "company": sorted(((str(k), v) for k, v in Counter(r.company_id for r in records).items()),
                          key=lambda p: (-p[1], int(p[0]))),
    }


FACET_FILTERS = [Filters(), Filters(province="440000"), Filters(certification="CCC", price_max_fen=30_000),
                 Filters(hs_prefix="85", verified=False)]
FACET_CASES = [(text, filters) for text in ("", "保温杯", "电饭煲", "-台灯") for filters in FACET_FILTERS] + [
    ("电饭煲 家用", Filters()), ("电饭煲 家用", Filters(hs_prefix="85", verified=False))]


@pytest.mark.parametrize(("text", "filters"), FACET_CASES)
def test_facet_counts_equal_a_brute_force_count(catalog, text, filters):
    if text.startswith("-"):
        want = [r for r in LIVE if text[1:] not in f"{r.title_zh} {r.description_zh or ''}" and filter_matches(r, filters)]
    else:
        want = expected(text, filters)
    assert want, "the combination must match something"
    results = search(catalog, text, filters=filters, facets=True, per_page=5)
    assert results.total == len(want)
    assert "relaxed" not in results.notices
    assert results.facets == brute_facets(want)


def test_no_facets_unless_asked(catalog):
    assert search(catalog, "保温杯").facets == {}


def expected_order(records: list[ProductRecord], sort: str) -> list[int]:
    def key(r: ProductRecord):
        newest = -r.published_at.timestamp()
        if sort == "newest":
            return (newest,)
        unpriced = r.price_fen is None
        price = 0 if unpriced else (r.price_fen if sort == "price_asc" else -r.price_fen)
        return (unpriced, price, newest)

    return [r.id for r in sorted(records, key=key)]


@pytest.mark.parametrize("sort", ["price_asc", "price_desc", "newest"])
@pytest.mark.parametrize("text", ["", "保温杯"])
def test_sorts_order_results_unpriced_last(catalog, sort, text):
    results = search(catalog, text, sort=sort)
    assert ids(results) == expected_order(expected(text), sort)


def test_price_sorts_put_unpriced_last(catalog):
    for sort in ("price_asc", "price_desc"):
        order = ids(search(catalog, "", sort=sort))
        priced = [i for i in order if next(r for r in LIVE if r.id == i).price_fen is not None]
        assert order[:len(priced)] == priced, sort


def test_relevance_sort_is_by_score(catalog):
    results = search(catalog, "保温杯")
    scores = [hit.score for hit in results.hits]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] > 0


def test_unknown_sort_falls_back_to_relevance(catalog):
    assert ids(search(catalog, "保温杯", sort="bogus")) == ids(search(catalog, "保温杯", sort="relevance"))


@pytest.mark.parametrize("sort", SORTS)
@pytest.mark.parametrize("text", ["", "保温杯", "电饭煲"])
def test_pages_partition_the_results(catalog, sort, text):
    full = ids(search(catalog, text, sort=sort, per_page=100))
    assert len(full) > 7
    pages = []
    first = search(catalog, text, sort=sort, per_page=3)
    for page in range(1, first.pages + 1):
        results = search(catalog, text, sort=sort, per_page=3, page=page)
        assert results.page == page
        assert results.notices == ()
        pages.extend(ids(results))
    assert len(pages) == len(set(pages))
    assert pages == full


@pytest.fixture
def identical_listings(tmp_path) -> ProductIndex:
    """30 exporters list the same title: their relevance scores tie (a common case)."""
    return build(tmp_path, [record(id=i, title="不锈钢 保温杯 500ml", price_fen=1000 + i) for i in range(1, 31)])


def test_pages_partition_results_with_tied_scores(identical_listings):
    # FINDING: relevance pages are built from np.argpartition on the score alone, which picks an
    # arbitrary subset of tied documents; pages 1 and 2 overlap and the newest are never shown.
    seen: list[int] = []
    for page in range(1, 7):
        seen.extend(ids(identical_listings.search(SearchQuery("保温杯", page=page, per_page=5))))
    assert len(seen) == len(set(seen)) == 30


def test_tied_scores_list_newest_first(identical_listings):
    # FINDING (same cause): the documented tie-break is "newest first".
    results = identical_listings.search(SearchQuery("保温杯", per_page=5))
    assert ids(results) == [30, 29, 28, 27, 26]


def test_page_beyond_the_last_is_the_last_page(catalog):
    full = ids(search(catalog, "保温杯", per_page=100))
    per_page = 4
    last = -(-len(full) // per_page)
    results = search(catalog, "保温杯", per_page=per_page, page=last + 5)
    assert results.page == last
    assert "page_clamped" in results.notices
    assert ids(results) == full[(last - 1) * per_page:]


def test_page_of_nothing_is_page_one_without_notice(catalog):
    results = search(catalog, "拖拉机", page=3)
    assert results.page == 1
    assert results.total == 0
    assert "page_clamped" not in results.notices


@pytest.mark.parametrize("page", [0, -5])
def test_page_below_one_is_page_one(catalog, page):
    results = search(catalog, "", page=page, per_page=5)
    assert results.page == 1
    assert ids(results) == ids(search(catalog, "", per_page=5))


def test_per_page_is_capped_at_100(tmp_path):
    ix = build(tmp_path, [record(id=i, title=f"保温杯 {i}") for i in range(1, 131)])
    results = ix.search(SearchQuery("保温杯", per_page=1000))
    assert results.per_page == 100
    assert len(results.hits) == 100
    assert results.total == 130
    assert results.pages == 2


# ============================================================================= did you mean


@pytest.fixture
def dictionary_index(tmp_path) -> ProductIndex:
    return build(tmp_path, [
        record(id=1, title="电饭煲 家用 3L"),
        record(id=2, title="电饭煲 商用"),
        record(id=3, title="", title_en="Rice cooker 5L"),
        record(id=4, title="", title_en="Electric kettle 1.7L"),
        record(id=5, title="", title_en="Wooden dining table"),
        record(id=6, title="空调 挂机"),
    ])


def test_did_you_mean_chinese_typo(dictionary_index):
    results = search(dictionary_index, "电饭褒")
    assert results.suggestion == "电饭煲"
    assert sorted(ids(search(dictionary_index, results.suggestion))) == [1, 2, 3]


def test_did_you_mean_keeps_the_other_words(dictionary_index):
    assert search(dictionary_index, "家用 电饭褒").suggestion == "家用 电饭煲"


def test_did_you_mean_english_typo(dictionary_index):
    results = search(dictionary_index, "cookr")
    assert results.suggestion == "cooker"
    assert ids(search(dictionary_index, results.suggestion)) == [3]


@pytest.mark.parametrize(("typo", "fixed"), [("electric kettel", "electric kettle"), ("wooden tabel", "wooden table")])
def test_did_you_mean_offers_real_words_not_stems(dictionary_index, typo, fixed):
    # FINDING: the suggestion lexicon holds Porter stems (kettl, tabl), shown as they are.
    assert search(dictionary_index, typo).suggestion == fixed


@pytest.mark.parametrize("text", ["电饭煲", "电饭锅", "rice cooker", "家用 电饭锅", "kettle"])
def test_no_suggestion_for_known_words(dictionary_index, text):
    assert search(dictionary_index, text).suggestion is None


@pytest.mark.parametrize("text", ["电饭锅", "rice cooker", "电饭煲"])
def test_no_suggestion_when_only_a_synonym_is_indexed(tmp_path, text):
    ix = build(tmp_path, [record(id=1, title="电饭煲 家用")] if text != "电饭煲"
               else [record(id=1, title="电饭锅 家用")])
    results = search(ix, text)
    assert results.suggestion is None
    assert ids(results) == [1]


def test_no_suggestion_for_nonsense(dictionary_index):
    assert search(dictionary_index, "qzxv").suggestion is None


def test_suggestion_is_never_a_word_only_deleted_products_had(tmp_path):
    # FINDING: the suggestion lexicon (TITLE terms with Whoosh's doc_frequency) still counts deleted
    # documents, so after the only 电饭煲 is deleted, 电饭褒 suggests 电饭煲 and 电饭煲 suggests 饭煲
    # (a sub-word of the deleted title): both suggestions find nothing.
    ix = build(tmp_path, [record(id=i, title=f"保温杯 款式{i}") for i in range(1, 7)] + [record(id=7, title="电饭煲")])
    assert search(ix, "电饭褒").suggestion == "电饭煲"
    assert ix.apply(deletes=[7])
    for text in ("电饭褒", "电饭煲"):
        results = search(ix, text)
        assert results.suggestion is None or search(ix, results.suggestion).total > 0, (text, results.suggestion)


@pytest.fixture
def typo_index(tmp_path) -> ProductIndex:
    """Titles where the commonest word one edit from a typo is not the one the query needs."""
    return build(tmp_path, [
        *(record(id=n, title="", title_en=f"Glass pot cover {n} cm") for n in range(1, 9)),
        *(record(id=n, title="", title_en=f"Rice cooker {n}L") for n in range(10, 13)),
        record(id=13, title="", title_en="Humidifier 4L ultrasonic"),
        record(id=14, title="", title_en="Humidifiers for the bedroom, two pack"),
        record(id=15, title="", title_en="Rice spoon bamboo"),
        record(id=16, title="", title_en="Bluetooth headphones"),
    ])


@pytest.mark.parametrize(("typo", "fixed"), [
    ("rice coker", "rice cooker"),      # "cover" is commoner, but "rice cover" finds nothing
    ("humidifer", "humidifier"),        # the word as titles write it, not the stem with the rest glued on
    ("Humidifer 4L", "humidifier 4L"),
    ("ryce coker", "rice cooker"),      # two typos: each corrected with the other
    ("blutooth headphones", "bluetooth headphones"),
    ("bluetoth headphnes", "bluetooth headphones"),
])
def test_did_you_mean_offers_words_that_make_the_query_find_something(typo_index, typo, fixed):
    results = search(typo_index, typo)
    assert results.suggestion == fixed
    assert search(typo_index, fixed).total > 0


def test_did_you_mean_words_are_written_as_in_titles(typo_index):
    titles = " ".join(hit.title.lower() for hit in search(typo_index, "", per_page=100).hits)
    for typo in ("rice coker", "humidifer", "humidifers", "coker", "blutooth", "bluetoth headphnes"):
        suggestion = search(typo_index, typo).suggestion
        assert suggestion, typo
        for word in suggestion.split():
            assert word in titles.split(), (typo, suggestion)


def test_did_you_mean_prefers_the_commoner_word_when_both_find_something(typo_index):
    # "cover" (8 titles) and "cooker" (3) are both one edit from "coker" and both find something alone
    assert search(typo_index, "coker").suggestion == "cover"


def test_no_did_you_mean_when_every_word_matched(text_index):
    # 热 alone is no indexed word, but as a lone character it matches the words it ends: no "热水" offered
    ix = text_index
    ix.apply([record(id=20, title="玻璃 电热水壶 1.7L")])
    results = search(ix, "热水壶")
    assert ids(results) == [20]
    assert results.suggestion is None


# ============================================================================= apply


def snapshot(ix: ProductIndex) -> tuple:
    """What callers can observe of an index."""
    return (
        ix.stored(), ix.status()["doc_count"], all_ids(ix),
        [(ids(r), r.facets) for r in (search(ix, t, facets=True, use_cache=False) for t in ("电饭煲", "空调", ""))],
    )


def test_update_replaces_the_document(index):
    assert index.apply([record(id=1, title="电饭煲 家用")])
    assert index.apply([record(id=1, title="空调 挂机", category="air")])
    assert ids(search(index, "电饭煲")) == []
    assert ids(search(index, "空调")) == [1]
    assert all_ids(index) == [1]
    assert index.status()["doc_count"] == 1
    assert search(index, "", filters=Filters(category="air")).total == 1


def test_same_id_twice_in_one_batch_leaves_one_document(index):
    # FINDING: update_document does not see documents added earlier in the same writer.
    assert index.apply([record(id=1, title="电饭煲 旧款"), record(id=1, title="电饭煲 新款")])
    assert all_ids(index) == [1]
    assert search(index, "旧款").total == 0


def test_delete_removes_the_document(index):
    assert index.apply([record(id=1, title="电饭煲"), record(id=2, title="电饭煲 商用")])
    assert index.apply(deletes=[1])
    assert ids(search(index, "电饭煲")) == [2]
    assert set(index.stored()) == {2}
    assert index.status()["doc_count"] == 1


def test_deleting_an_unknown_id_is_harmless(index):
    assert index.apply([record(id=1, title="电饭煲")])
    assert index.apply(deletes=[999])
    assert all_ids(index) == [1]


def test_the_same_batch_twice_gives_the_same_index(index):
    index.apply([record(id=i, title="电饭煲" if i % 2 else "空调") for i in range(1, 9)], cursor=1)
    batch = ([record(id=3, title="空调 新款"), record(id=20, title="电饭煲 迷你")], [4, 5])
    assert index.apply(*batch, cursor=2)
    first = snapshot(index)
    assert index.apply(*batch, cursor=2)
    assert snapshot(index) == first
    assert index.cursor == 2


def test_cursor_only_moves_forward(index):
    assert index.cursor == 0
    assert index.apply([record(id=1)], cursor=5)
    assert index.cursor == 5
    assert index.apply([record(id=2)], cursor=3)
    assert index.cursor == 5
    assert index.apply([record(id=3)])
    assert index.cursor == 5
    assert index.apply(deletes=[1], cursor=8)
    assert index.cursor == 8
    assert index.status()["cursor"] == 8


def test_held_write_lock_makes_apply_return_false(index):
    from whoosh import index as whoosh_index

    assert index.apply([record(id=1, title="电饭煲")], cursor=1)
    writer = whoosh_index.open_dir(str(index.path)).writer()
    try:
        assert index.is_locked()
        assert index.status()["locked"] is True
        assert index.apply([record(id=2, title="电饭煲 新款")], deletes=[1], cursor=2, timeout=0.2) is False
        assert ids(search(index, "电饭煲")) == [1]
        assert index.cursor == 1
    finally:
        writer.cancel()
    assert not index.is_locked()
    assert index.apply([record(id=2, title="电饭煲 新款")], deletes=[1], cursor=2, timeout=0.2) is True
    assert ids(search(index, "电饭煲")) == [2]
    assert index.cursor == 2


# ============================================================================= result cache and refresh


def test_repeated_query_comes_from_the_cache(index):
    index.apply([record(id=i, title="电饭煲 家用") for i in range(1, 4)])
    first = search(index, "电饭煲", facets=True)
    second = search(index, "电饭煲", facets=True)
    assert not first.from_cache
    assert second.from_cache
    assert [(h.id, h.score, h.sku, h.title, h.highlights) for h in second.hits] == \
        [(h.id, h.score, h.sku, h.title, h.highlights) for h in first.hits]
    assert (second.total, second.facets, second.notices, second.suggestion) == \
        (first.total, first.facets, first.notices, first.suggestion)


def test_changing_a_returned_result_does_not_change_the_cache(index):
    index.apply([record(id=1, title="电饭煲 家用")])
    first = search(index, "电饭煲")
    first.hits[0].highlights.clear()
    first.hits.clear()
    again = search(index, "电饭煲")
    assert again.from_cache
    assert ids(again) == [1]
    assert again.hits[0].highlights["title"] == "<mark>电饭煲</mark> 家用"


def test_cache_is_not_used_after_an_apply(index):
    index.apply([record(id=1, title="电饭煲 家用")])
    search(index, "电饭煲")
    assert search(index, "电饭煲").from_cache
    index.apply([record(id=2, title="电饭煲 商用")])
    after = search(index, "电饭煲")
    assert not after.from_cache
    assert sorted(ids(after)) == [1, 2]


def test_use_cache_false_bypasses_the_cache(index):
    index.apply([record(id=1, title="电饭煲")])
    search(index, "电饭煲")
    assert not search(index, "电饭煲", use_cache=False).from_cache


def test_scores_do_not_depend_on_what_was_searched_before(tmp_path):
    # FINDING: postings are cached per segment id as if segments were immutable, but Whoosh filters
    # a segment's deleted documents out of its postings. A process that read a term before a delete
    # keeps the old postings (df 2), one that reads it after gets the filtered ones (df 1): the same
    # index gives different scores (and "did you mean" answers) depending on each process's history.
    warm = build(tmp_path, [record(id=i, title=f"保温杯 款式{i}") for i in range(1, 7)]
                 + [record(id=7, title="电饭煲"), record(id=8, title="保温杯 电饭煲")])
    search(warm, "电饭煲")
    assert warm.apply(deletes=[7])
    fresh = ProductIndex(tmp_path / "ix")
    for text in ("电饭煲", "保温杯 电饭煲"):
        a, b = search(warm, text), search(fresh, text)
        assert ids(a) == ids(b) == [8]
        assert [hit.score for hit in a.hits] == pytest.approx([hit.score for hit in b.hits]), text


def test_another_index_object_sees_applies_on_its_next_search(tmp_path):
    writer_side = ProductIndex(tmp_path / "ix")
    reader_side = ProductIndex(tmp_path / "ix")
    writer_side.apply([record(id=1, title="电饭煲")])
    assert ids(search(reader_side, "电饭煲")) == [1]
    key = reader_side.generation_key()
    writer_side.apply([record(id=2, title="电饭煲 新款")], deletes=[1], cursor=9)
    after = search(reader_side, "电饭煲")
    assert not after.from_cache
    assert ids(after) == [2]
    assert reader_side.generation_key() != key
    assert reader_side.cursor == 9


def test_company_doc_ids_lists_one_companys_products(index):
    index.apply([record(id=1, company_id=4), record(id=2, company_id=5), record(id=3, company_id=4)])
    index.apply(deletes=[3])
    assert sorted(index.company_doc_ids(4)) == [1]
    assert index.company_doc_ids(99) == []


# ============================================================================= rebuild, check, status, optimize


def test_rebuild_swaps_for_an_index_opened_before(tmp_path):
    old = ProductIndex(tmp_path / "ix")
    old.apply([record(id=1, title="电饭煲 旧的")], cursor=3)
    assert ids(search(old, "电饭煲")) == [1]
    other = ProductIndex(tmp_path / "ix")
    report = other.rebuild([record(id=2, title="电饭煲 新的"), record(id=3, title="空调")], cursor=42)
    assert report["docs"] == 2
    after = search(old, "电饭煲")
    assert not after.from_cache
    assert ids(after) == [2]
    assert old.cursor == 42
    assert str(old.path) == report["path"]


def test_rebuild_keeps_at_most_two_generations(tmp_path):
    ix = ProductIndex(tmp_path / "ix")
    ix.apply([record(id=1, title="电饭煲")])
    for n in range(1, 5):
        ix.rebuild([record(id=i, title="保温杯") for i in range(1, n + 2)], cursor=n)
        generations = sorted(p.name for p in (tmp_path / "ix").glob("gen-*"))
        assert len(generations) <= 2
        assert ix.path.name in generations
        assert search(ix, "保温杯").total == n + 1
        assert ix.cursor == n


def test_failed_rebuild_leaves_the_current_index(tmp_path):
    ix = ProductIndex(tmp_path / "ix")
    ix.apply([record(id=1, title="电饭煲")], cursor=4)
    before = ix.path

    def records():
        yield record(id=5, title="空调")
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError):
        ix.rebuild(records(), cursor=99)
    assert ix.path == before
    assert ix.cursor == 4
    assert ids(search(ix, "电饭煲")) == [1]
    assert [p.name for p in (tmp_path / "ix").glob("gen-*")] == [before.name]


def test_check_reports_missing_extra_and_stale(index):
    recs = [record(id=i, title=f"电饭煲 {i}") for i in range(1, 6)]
    index.apply(recs)
    changed = record(id=2, title="电饭煲 改了")
    wanted = {1: recs[0].fingerprint(), 2: changed.fingerprint(), 3: recs[2].fingerprint(),
              6: record(id=6).fingerprint()}
    report = index.check(wanted)
    assert report == {"missing": [6], "extra": [4, 5], "stale": [2], "indexed": 5, "expected": 4}
    assert index.check({r.id: r.fingerprint() for r in recs}) == {
        "missing": [], "extra": [], "stale": [], "indexed": 5, "expected": 5}


def test_status_fields(index):
    assert index.status()["doc_count"] == 0
    index.apply([record(id=i) for i in range(1, 8)], cursor=12)
    first = index.status()
    index.apply(deletes=[3])
    status = index.status()
    assert status["path"] == str(index.path)
    assert status["doc_count"] == 6
    assert status["deleted"] in (0, 1)
    assert status["segments"] >= 1
    assert status["size_bytes"] > 0
    assert status["generation"] > first["generation"]
    assert status["cursor"] == 12
    assert status["locked"] is False


def test_optimize_leaves_one_segment_and_the_same_results(index):
    for start in (1, 11, 21):
        index.apply([record(id=i, title="保温杯 不锈钢" if i % 3 else "保温杯 塑料", price_fen=100 * i,
                            certifications=("CE",) if i % 2 else ()) for i in range(start, start + 10)])
    index.apply(deletes=[5, 15])
    assert index.status()["segments"] > 1
    queries = [("保温杯", "relevance"), ("不锈钢", "price_desc"), ("", "newest"), ("保温杯 -塑料", "price_asc")]
    before = [(ids(r), r.total, r.facets) for r in (search(index, t, sort=s, facets=True) for t, s in queries)]
    assert index.optimize() is True
    status = index.status()
    assert status["segments"] == 1
    assert status["deleted"] == 0
    assert status["doc_count"] == 28
    after = [(ids(r), r.total, r.facets) for r in (search(index, t, sort=s, facets=True) for t, s in queries)]
    assert after == before


# ============================================================================= never raises


def test_random_text_never_raises(catalog):
    rng = random.Random(99)
    for text in random_queries(2000, seed=1234):
        parse(text)
        results = catalog.search(SearchQuery(
            text=text, sort=rng.choice([*SORTS, "bogus"]), page=rng.choice([-1, 0, 1, 2, 10**6]),
            per_page=rng.choice([0, 1, 20, 10**6]), facets=rng.random() < 0.2,
        ))
        assert results.page >= 1
        assert len(results.hits) <= results.per_page <= 100
        assert results.total >= len(results.hits)
        assert len(results.query_text) <= 200
        companies = catalog.search_companies(SearchQuery(text=text, page=rng.choice([-1, 1, 10**6]),
                                                         per_page=rng.choice([0, 20, 10**6])),
                                             per_company=rng.choice([0, 3, 10**6]))
        assert companies.page >= 1 and len(companies.companies) <= companies.per_page <= 100
        assert all(len(found.hits) <= min(found.matches, 100) for found in companies.companies)


# ============================================================================= HS codes


@pytest.fixture
def hs_index(tmp_path) -> ProductIndex:
    return build(tmp_path, [
        record(id=1, title="电热水壶 1.7L", hs_code="851671"),
        record(id=2, title="电饭煲 3L", hs_code="851660"),
        record(id=3, title="电饭煲 5L 商用", hs_code="8516600000"),
        record(id=4, title="保温杯 500ml", hs_code="961700"),
        record(id=5, title="电饭煲 内胆", hs_code=None),
        record(id=6, title="台灯", hs_code="940520"),
    ])


@pytest.mark.parametrize(("text", "expected"), [
    ("8516", [1, 2, 3]),
    ("85", [1, 2, 3]),
    ("8516.60", [2, 3]),
    ("851660", [2, 3]),
    ("8516.60.00", [3]),
    ("8516600000", [3]),
    ("８５１６．６０", [2, 3]),   # typed with a Chinese input method
    ("9617.00", [4]),
])
def test_hs_code_or_prefix_finds_the_products_classified_under_it(hs_index, text, expected):
    results = search(hs_index, text)
    assert sorted(ids(results)) == expected
    assert results.suggestion is None


@pytest.mark.parametrize("text", ["851", "85166", "8516.6", "4106"])
def test_numbers_of_other_lengths_or_unused_codes_find_no_hs_code(hs_index, text):
    assert ids(search(hs_index, text)) == []


def test_hs_code_combines_with_words(hs_index):
    assert sorted(ids(search(hs_index, "8516 电饭煲"))) == [2, 3]
    assert sorted(ids(search(hs_index, "电饭煲 8516.60.00"))) == [3]
    assert sorted(ids(search(hs_index, "8516 -电饭煲"))) == [1]
    assert sorted(ids(search(hs_index, "8516 OR 9617"))) == [1, 2, 3, 4]


def test_hs_code_matches_rank_with_the_text_matches(hs_index):
    results = search(hs_index, "电饭煲 85")
    assert sorted(ids(results)) == [2, 3]
    assert all(hit.score > 0 for hit in results.hits)


# ============================================================================= the postings cache


def test_unknown_words_keep_the_postings_cache_within_its_bounds(tmp_path):
    ix = ProductIndex(tmp_path / "ix", postings_cache_bytes=150_000, postings_cache_entries=400)
    ix.apply([record(id=n, title=f"保温杯 款式{n}") for n in range(1, 40)])
    ix.apply([record(id=n, title=f"电饭煲 {n}L") for n in range(40, 60)])  # a second segment
    cache = ix.postings_cache
    words = ("".join(letters) for letters in itertools.product("bcdfghjk", repeat=5))
    for word in itertools.islice(words, 3000):
        assert search(ix, word, highlight=False).total == 0
        assert len(cache) <= 400
        assert cache.bytes <= 150_000
    assert len(cache) > 300  # it is used, up to its bounds
    # a miss is counted at what it costs, not as one posting of an 8-million budget
    assert cache.bytes / len(cache) >= 240
    assert ids(search(ix, "保温杯 款式7")) == [7]


def test_a_cached_miss_is_counted_at_what_it_costs_in_memory():
    cache = PostingsCache(max_bytes=10**9, max_entries=10**9)
    empty_ids, empty_weights = np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32)
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        for n in range(5000):
            term = f"zqxword{n}"
            for fieldname in ("text", "title"):
                cache.put(("segment-a", fieldname, term), empty_ids, empty_weights)
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    traced = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    assert len(cache) == 10_000
    assert cache.bytes >= 0.8 * traced


def test_postings_cache_evicts_the_least_recently_used_first():
    cache = PostingsCache(max_bytes=10**9, max_entries=3)
    arrays = np.arange(4, dtype=np.int32), np.ones(4, dtype=np.float32)
    for key in ("a", "b", "c"):
        cache.put(("s", "text", key), *arrays)
    assert cache.get(("s", "text", "a")) is not None
    cache.put(("s", "text", "d"), *arrays)
    assert cache.get(("s", "text", "b")) is None
    assert [cache.get(("s", "text", key)) is not None for key in "acd"] == [True, True, True]
    small = PostingsCache(max_bytes=1000, max_entries=100)
    small.put(("s", "text", "big"), np.zeros(1000, dtype=np.int32), np.zeros(1000, dtype=np.float32))
    assert len(small) == 0 and small.bytes == 0  # larger than the whole budget: not kept


# ============================================================================= title word lists


def test_a_new_generation_reuses_the_word_lists_of_its_old_segments(tmp_path):
    ix = build(tmp_path, [record(id=n, title=f"庭院灯 款式{n}") for n in range(1, 6)])
    assert ix.apply([record(id=n, title=f"吸顶灯 款式{n}") for n in range(6, 11)])
    assert ix.status()["segments"] == 2
    builds = SegmentWords.builds
    assert search(ix, "灯").total == 10  # a lone character: every title word ending in it
    assert SegmentWords.builds == builds + 2
    for n in range(11, 13):  # each save adds a segment (small ones are not merged until there are more)
        assert ix.apply([record(id=n, title=f"台灯 款式{n}")])
        assert search(ix, "灯").total == n
        assert SegmentWords.builds == builds + n - 8  # only the new segment's list was built
    assert ix.status()["segments"] == 4
    assert search(ix, "庭院等").suggestion == "庭院灯"
    assert SegmentWords.builds == builds + 4


# ============================================================================= widening a compound


@pytest.fixture
def kettle_index(tmp_path) -> ProductIndex:
    return build(tmp_path, [
        record(id=1, title="电热水壶 1.7L 304不锈钢"),
        record(id=2, title="热水壶 大容量 家用", published_at=T0 + timedelta(days=30)),
        record(id=3, title="玻璃热水壶 1.5L"),
        record(id=4, title="户外 水壶 750ml", published_at=T0 + timedelta(days=60)),
        record(id=5, title="电热毯 单人"),
        record(id=6, title="热水器 60L"),
        record(id=7, title="烧水壶 1.8L"),  # a synonym of 电热水壶: an exact match
    ])


def test_a_compound_finding_few_is_widened_with_its_endings_below_the_exact_matches(kettle_index):
    results = search(kettle_index, "电热水壶", per_page=20)
    found = ids(results)
    assert set(found[:2]) == {1, 7}          # exact (and synonym) matches first
    assert set(found[2:4]) == {2, 3}         # then 热水壶, though newer
    assert found[4:] == [4]                  # then 水壶
    assert results.widened == ("热水壶", "水壶")
    assert "widened" in results.notices
    assert 5 not in found and 6 not in found  # 电热毯, 热水器: not the kind of thing asked for
    assert results.total == 5
    assert results.suggestion is None


def test_widening_stops_once_a_page_is_full(kettle_index):
    results = search(kettle_index, "电热水壶", per_page=4)
    assert results.widened == ("热水壶",)
    assert results.total == 4
    assert results.pages == 1


def test_no_widening_when_a_page_is_full_of_exact_matches(kettle_index):
    results = search(kettle_index, "电热水壶", per_page=2)
    assert sorted(ids(results)) == [1, 7]
    assert results.widened == ()
    assert "widened" not in results.notices


@pytest.mark.parametrize("text", ["电热水壶 家用", '"电热水壶"', "kettle", "水壶"])
def test_only_a_one_word_compound_is_widened(kettle_index, text):
    results = search(kettle_index, text)
    assert results.widened == ()


def test_widening_keeps_the_filters(kettle_index):
    kettle_index.apply([record(id=2, title="热水壶 大容量 家用", province="330000")])
    results = search(kettle_index, "电热水壶", filters=Filters(province="330000"))
    assert ids(results) == [2]
    assert results.widened == ("热水壶",)


def test_widening_keeps_the_exclusions(kettle_index):
    results = search(kettle_index, "电热水壶 -玻璃 -户外")
    assert sorted(ids(results)) == [1, 2, 7]
    assert results.widened == ("热水壶",)  # 水壶 found only the excluded 户外 水壶


def test_widened_pages_partition_the_results(kettle_index):
    # a page of 3: two exact matches, widened with 热水壶 (two more), which fills it
    pages = [search(kettle_index, "电热水壶", per_page=3, page=page) for page in (1, 2)]
    paged = ids(pages[0]) + ids(pages[1])
    assert len(paged) == len(set(paged)) == pages[0].total == 4
    assert set(paged[:2]) == {1, 7} and set(paged[2:]) == {2, 3}


def test_widened_words_are_highlighted(kettle_index):
    results = search(kettle_index, "电热水壶")
    marked = {hit.id: hit.highlights.get("title", "") for hit in results.hits}
    assert "<mark>" in marked[3]


# ============================================================================= companies


@pytest.fixture
def company_index(tmp_path) -> ProductIndex:
    return build(tmp_path, [
        record(id=1, title="电饭煲 3L", company_id=10, company_name="宁波利民电器有限公司",
               company_name_en="Ningbo Limin Electric Appliance Co., Ltd."),
        record(id=2, title="空气炸锅 5L", company_id=10, company_name="宁波利民电器有限公司",
               company_name_en="Ningbo Limin Electric Appliance Co., Ltd."),
        record(id=3, title="电器 收纳架", company_id=20, company_name="义乌小商品有限公司"),
        record(id=4, title="电饭煲 5L", company_id=20, company_name="义乌小商品有限公司"),
        record(id=5, title="电饭煲 家用", company_id=30, company_name="佛山美厨电器有限公司",
               province="440000"),
        record(id=6, title="电饭煲 商用", company_id=30, company_name="佛山美厨电器有限公司",
               province="440000"),
        record(id=7, title="电饭煲 迷你", company_id=30, company_name="佛山美厨电器有限公司",
               province="440000"),
        record(id=8, title="保温杯", company_id=40, company_name="杯王有限公司"),
    ])


def companies_of(results) -> list[int]:
    return [found.company_id for found in results.companies]


@pytest.mark.parametrize("text", ["宁波利民电器有限公司", "利民", "Limin Electric", "ningbo limin"])
def test_company_search_finds_a_company_by_its_names(company_index, text):
    results = company_index.search_companies(SearchQuery(text=text))
    assert companies_of(results) == [10]
    assert results.companies[0].name_match
    assert results.companies[0].matches == 2


def test_company_search_puts_named_companies_first_then_by_matching_products(company_index):
    results = company_index.search_companies(SearchQuery(text="电器"))
    assert companies_of(results) == [30, 10, 20]
    assert [(c.matches, c.name_match) for c in results.companies] == [(3, True), (2, True), (1, False)]
    assert results.total == 3


def test_company_search_counts_matching_products_and_keeps_the_best_few(company_index):
    results = company_index.search_companies(SearchQuery(text="电饭煲"), per_company=2)
    assert companies_of(results) == [30, 10, 20]
    assert [c.matches for c in results.companies] == [3, 1, 1]
    assert [len(c.hits) for c in results.companies] == [2, 1, 1]
    best = {c.company_id: [hit.id for hit in c.hits] for c in results.companies}
    assert best[10] == [1] and best[20] == [4]
    assert set(best[30]) <= {5, 6, 7}
    assert best[30] == ids(search(company_index, "电饭煲", filters=Filters(company_id=30)))[:2]


def test_product_search_does_not_match_company_names(company_index):
    assert ids(search(company_index, "利民")) == []
    assert sorted(ids(search(company_index, "电器"))) == [3]


def test_company_search_applies_filters_and_pages(company_index):
    assert companies_of(company_index.search_companies(
        SearchQuery(text="电饭煲", filters=Filters(province="440000")))) == [30]
    first = company_index.search_companies(SearchQuery(text="有限公司", per_page=3))
    second = company_index.search_companies(SearchQuery(text="有限公司", per_page=3, page=2))
    assert first.total == second.total == 4 and first.pages == 2
    assert len(set(companies_of(first)) | set(companies_of(second))) == 4
    late = company_index.search_companies(SearchQuery(text="有限公司", per_page=3, page=9))
    assert late.page == 2 and "page_clamped" in late.notices


def test_company_search_without_words_lists_companies_by_products(company_index):
    results = company_index.search_companies(SearchQuery(filters=Filters(province="440000")))
    assert companies_of(results) == [30]
    assert results.companies[0].matches == 3 and not results.companies[0].name_match


def test_company_search_is_cached_per_generation(company_index):
    request = SearchQuery(text="电饭煲")
    first = company_index.search_companies(request)
    again = company_index.search_companies(request)
    assert again.from_cache and companies_of(again) == companies_of(first)
    again.companies.clear()
    assert companies_of(company_index.search_companies(request)) == companies_of(first)
    company_index.apply(deletes=[4])
    after = company_index.search_companies(request)
    assert not after.from_cache and companies_of(after) == [30, 10]


def test_company_search_offers_did_you_mean(company_index):
    assert company_index.search_companies(SearchQuery(text="电饭褒")).suggestion == "电饭煲"


def test_keyword_candidates_are_named_by_the_generation_they_were_read_from(tmp_path, monkeypatch):
    # FINDING (CI, worker killed 20 times): ``keyword_postings`` read the arrays of one generation, then asked
    # ``generation_key()`` — which reopened the index when another process (or the worker's jobs thread) had
    # committed in between — and named the old arrays by the new generation. Matching caches a product's facts
    # by (generation, docnum): the next request scored with that generation read another product's price.
    from search_index.similar import Keyword

    writer_side = ProductIndex(tmp_path / "ix")
    reader_side = ProductIndex(tmp_path / "ix")
    writer_side.apply([record(id=1, title="电饭煲"), record(id=2, title="保温杯")])
    opened = reader_side._current
    calls = []

    def current_then_a_commit_elsewhere():
        gen = opened()
        if not calls:  # the first open of this read: another process commits right after it
            writer_side.apply([record(id=3, title="电饭煲 新款")], deletes=[1], cursor=5)
        calls.append(gen)
        return gen

    monkeypatch.setattr(reader_side, "_current", current_then_a_commit_elsewhere)
    keyword = Keyword("电饭煲", 1.0, (("电饭煲",),))
    found, _seen = reader_side.keyword_postings([keyword]).candidates([0])
    assert found.ids.tolist() == [1]  # the generation before the commit
    monkeypatch.undo()
    newer = reader_side.generation_key()
    assert found.generation != newer, "candidates of the old generation named as the new one"
    again, _seen = reader_side.keyword_postings([keyword]).candidates([0])
    assert again.ids.tolist() == [3] and again.generation == newer
