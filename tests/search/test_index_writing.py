"""The index's own segment writer (lengths read once per field) stores exactly what Whoosh's writer stores."""
from __future__ import annotations

import pytest
from whoosh import index as whoosh_index

from bench.search_data import generate_products
from search_index import PRODUCTS, ProductIndex
from search_index.schemas import COMPANY_NAME, TEXT, TITLE, to_document

FIELDS = (TITLE, TEXT, COMPANY_NAME)


def _terms(ix) -> dict:
    """Every term of the text fields with its statistics and postings."""
    with ix.searcher() as searcher:
        reader = searcher.reader()
        out = {}
        for fieldname in FIELDS:
            for term in reader.lexicon(fieldname):
                info = reader.term_info(fieldname, term)
                postings = reader.postings(fieldname, term)
                out[(fieldname, term)] = (
                    info.doc_frequency(), info.weight(), info.min_length(), info.max_length(), info.max_weight(),
                    list(postings.all_items()),
                )
        lengths = {name: [reader.doc_field_length(d, name) for d in range(reader.doc_count_all())]
                   for name in FIELDS}
    return {"terms": out, "lengths": lengths}


def test_rebuild_writes_the_same_postings_and_lengths_as_whoosh(tmp_path):
    records = list(generate_products(300, seed=5))
    ours = ProductIndex(tmp_path / "ours")
    ours.rebuild(records)
    (tmp_path / "plain").mkdir()
    plain = whoosh_index.create_in(str(tmp_path / "plain"), PRODUCTS.schema())
    with plain.writer() as writer:
        for record in records:
            writer.add_document(**to_document(record))
    written = _terms(whoosh_index.open_dir(str(ours.path), schema=PRODUCTS.schema()))
    expected = _terms(plain)
    assert len(expected["terms"]) > 1000
    assert written == expected
    ours.close()


def test_applied_changes_write_the_same_postings_as_whoosh(tmp_path):
    records = list(generate_products(120, seed=6))
    ours = ProductIndex(tmp_path / "ours")
    ours.apply(upserts=records[:60])
    ours.apply(upserts=records[60:])
    (tmp_path / "plain").mkdir()
    plain = whoosh_index.create_in(str(tmp_path / "plain"), PRODUCTS.schema())
    for chunk in (records[:60], records[60:]):
        with plain.writer() as writer:
            for record in chunk:
                writer.add_document(**to_document(record))
    assert _terms(whoosh_index.open_dir(str(ours.path), schema=PRODUCTS.schema())) == _terms(plain)
    ours.close()


def test_applies_after_the_random_module_is_reseeded_get_new_segment_names(tmp_path):
    """Segment names come from the OS: a process that reseeds ``random`` (Faker, hypothesis) between two
    applies must not get the same name twice (the second commit failed and left the index locked)."""
    import random

    records = list(generate_products(20, seed=7))
    index = ProductIndex(tmp_path / "ix")
    for chunk in (records[:10], records[10:]):
        random.seed(42)
        assert index.apply(upserts=chunk, timeout=1.0) is True
    names = sorted(p.name for p in index.path.rglob("*.seg"))
    assert len(names) == len(set(names)) >= 1
    index.close()


def test_a_commit_that_fails_leaves_the_index_unlocked(tmp_path, monkeypatch):
    """A commit failing part-way (a full disk, a bug) releases the write lock: the next apply succeeds at once."""
    from search_index import whoosh_internals

    records = list(generate_products(6, seed=8))
    index = ProductIndex(tmp_path / "ix")
    original = whoosh_internals._SegmentWriter._finalize_segment

    def failing(self):
        raise OSError("No space left on device")

    monkeypatch.setattr(whoosh_internals._SegmentWriter, "_finalize_segment", failing)
    with pytest.raises(OSError):
        index.apply(upserts=records[:3], timeout=1.0)
    monkeypatch.setattr(whoosh_internals._SegmentWriter, "_finalize_segment", original)
    assert index.apply(upserts=records[3:], timeout=0.2) is True  # no wait for a lock nobody holds
    index.close()
