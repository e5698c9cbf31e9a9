"""The engine reads each segment's postings itself (whole blocks, through pinned Whoosh 2.7.4 internals):
what it reads must equal Whoosh's own postings, for every term of every field with postings, in a
segment with several blocks per term and with deleted documents (which the engine keeps and masks per
generation, while Whoosh's ``postings()`` hides them)."""
from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from search_index import REQUESTS, RequestRecord, SearchIndex, schemas
from search_index.engine import _read_postings
from tests.search.test_engine import record

WORDS = ["电饭煲", "保温杯", "不锈钢", "电热水壶", "空气炸锅", "蓝牙", "耳机", "LED", "吸顶灯", "kettle"]


def _records(count: int) -> list:
    # "电饭煲" in every title: a posting list of several blocks; the other words spread around
    return [record(id=n, title=f"电饭煲 {WORDS[n % len(WORDS)]} {WORDS[(n * 7) % len(WORDS)]} 第{n % 13}款",
                   description_zh=f"{WORDS[(n * 3) % len(WORDS)]} 用于家庭 {n % 5}L") for n in range(1, count + 1)]


def _compare(index: SearchIndex) -> int:
    """Every term of TITLE, TEXT and COMPANY_NAME in every segment: the engine's postings equal Whoosh's."""
    compared = 0
    with index._lock:
        reader = index._current().searcher.reader()
        leaves = reader.leaf_readers() if hasattr(reader, "leaf_readers") else [(reader, 0)]
        for leaf, _offset in leaves:
            deleted = set(leaf.segment().deleted_docs()) if leaf.has_deletions() else set()
            for fieldname in (schemas.TITLE, schemas.TEXT, schemas.COMPANY_NAME):
                for term in list(leaf.lexicon(fieldname)):
                    text = term.decode("utf-8") if isinstance(term, bytes) else term
                    ids, weights = _read_postings(leaf, fieldname, text)
                    matcher = leaf.postings(fieldname, text)
                    theirs = []
                    while matcher.is_active():
                        theirs.append((matcher.id(), matcher.weight()))
                        matcher.next()
                    ours = [(int(i), float(w)) for i, w in zip(ids, weights, strict=True) if int(i) not in deleted]
                    assert ours == [(i, pytest.approx(w)) for i, w in theirs], (fieldname, text)
                    # the engine keeps deleted documents (masked later); Whoosh's own list hides them
                    assert set(map(int, ids)) - {i for i, _w in theirs} <= deleted
                    assert np.all(np.diff(ids) > 0)
                    compared += 1
    return compared


def test_engine_postings_equal_whoosh_postings_with_deletions(tmp_path):
    index = SearchIndex(tmp_path / "ix")
    records = _records(700)
    assert index.apply(records)  # one segment; 电饭煲 spans several 128-posting blocks
    assert index.apply(deletes=[r.id for r in records if r.id % 9 == 0])  # deleted documents in that segment
    with index._lock:
        leaves = index._current().searcher.reader().leaf_readers()
    assert any(leaf.has_deletions() for leaf, _offset in leaves)
    assert _compare(index) > 50
    index.close()


def test_request_kind_postings_equal_whoosh_postings(tmp_path):
    index = SearchIndex(tmp_path / "rq", kind=REQUESTS)
    rows = [RequestRecord(id=n, buyer_company_id=1, buyer_company_name="宁波采购有限公司", title=f"采购电饭煲 {n % 17}批",
                          deadline=date(2030, 1, 1), quantity=n, unit="台", description=WORDS[n % len(WORDS)])
            for n in range(1, 301)]
    assert index.apply(rows)
    assert index.apply(deletes=[3, 30, 300])
    assert _compare(index) > 10
    index.close()
