"""bench/match_metrics.py: the ranking metrics on hand-computed cases, and the labelled set itself."""
import json
import math

import pytest
import sqlalchemy as sa

from bench.match_metrics import (
    LABELS_PATH,
    MUST_KINDS,
    fit_at_k,
    grades_of,
    load_labels,
    ndcg_at_k,
    not_relevant_of,
    precision_at_k,
    product_key,
)
from marketplace import regions
from marketplace.catalog.categories import CATEGORY_BY_CODE, CERTIFICATION_CODES
from marketplace.catalog.models import Product
from marketplace.catalog.services import is_publicly_visible
from marketplace.extensions import db

L3 = math.log2(3)  # the discount of the second slot is 1 / log2(3)

# ------------------------------------------------------------------------------- precision@k


def test_precision_counts_relevant_slots_over_k():
    ranked = ["a", "x", "b", "y"]
    assert precision_at_k(ranked, {"a", "b"}, 1) == 1.0
    assert precision_at_k(ranked, {"a", "b"}, 2) == 0.5
    assert precision_at_k(ranked, {"a", "b"}, 3) == pytest.approx(2 / 3)
    assert precision_at_k(ranked, {"a", "b"}, 4) == 0.5


def test_precision_counts_empty_slots_and_repeats_as_misses():
    assert precision_at_k(["a"], {"a", "b"}, 4) == 0.25
    assert precision_at_k(["a", "a", "b"], {"a", "b"}, 3) == pytest.approx(2 / 3)
    assert precision_at_k([], {"a"}, 5) == 0.0


def test_precision_is_zero_when_nothing_is_relevant():
    assert precision_at_k(["a", "b"], set(), 2) == 0.0


@pytest.mark.parametrize("k", [0, -1, 1.5, True])
def test_metrics_refuse_a_k_that_is_not_a_positive_integer(k):
    with pytest.raises(ValueError):
        precision_at_k(["a"], {"a"}, k)
    with pytest.raises(ValueError):
        ndcg_at_k(["a"], {"a": 2}, k)
    with pytest.raises(ValueError):
        fit_at_k(["a"], {"a": True}, {"a"}, k)


# ---------------------------------------------------------------------------------- nDCG@k


def test_ndcg_of_the_ideal_order_is_one():
    assert ndcg_at_k(["a", "b", "c"], {"a": 2, "b": 1, "c": 1}, 3) == pytest.approx(1.0)
    # the ideal order ignores unlisted products after the graded ones
    assert ndcg_at_k(["a", "b", "x"], {"a": 2, "b": 1}, 3) == pytest.approx(1.0)


def test_ndcg_with_graded_gains_and_log2_discount():
    grades = {"a": 2, "b": 1}
    ideal = 3 + 1 / L3  # gain 2^2-1 at slot 1, 2^1-1 at slot 2
    # swapped: gain 1 at slot 1, gain 3 at slot 2
    assert ndcg_at_k(["b", "a"], grades, 2) == pytest.approx((1 + 3 / L3) / ideal)  # 0.7967
    assert ndcg_at_k(["b", "a"], grades, 2) == pytest.approx(0.79670, abs=1e-5)
    # a miss first: gains 3 at slot 2 and 1 at slot 3 (discount 1/2)
    assert ndcg_at_k(["x", "a", "b"], grades, 3) == pytest.approx((3 / L3 + 1 / 2) / ideal)  # 0.6590
    # only the top k count, and the ideal is cut at k too
    assert ndcg_at_k(["a", "b"], grades, 1) == pytest.approx(1.0)
    assert ndcg_at_k(["b", "a"], grades, 1) == pytest.approx(1 / 3)


def test_ndcg_counts_a_repeated_product_once():
    assert ndcg_at_k(["b", "b", "a"], {"a": 2, "b": 1}, 3) == pytest.approx((1 + 3 / 2) / (3 + 1 / L3))


def test_ndcg_is_zero_without_relevant_products():
    assert ndcg_at_k(["a", "b"], {}, 2) == 0.0
    assert ndcg_at_k(["a", "b"], {"a": 0}, 2) == 0.0
    assert ndcg_at_k([], {"a": 2}, 3) == 0.0


# ----------------------------------------------------------------------------------- fit@k


def test_fit_needs_both_relevance_and_every_must():
    ranked = ["a", "b", "c", "d"]
    fits = {"a": True, "b": False, "c": True, "d": True}
    relevant = {"a", "b", "c"}  # d fits the musts but is not what was asked for
    assert fit_at_k(ranked, fits, relevant, 4) == 0.5
    assert fit_at_k(ranked, fits, relevant, 2) == 0.5
    assert fit_at_k(ranked, fits, relevant, 1) == 1.0


def test_fit_treats_a_product_missing_from_fits_as_unfit_and_accepts_grades():
    assert fit_at_k(["a", "b"], {"a": True}, {"a": 2, "b": 1}, 2) == 0.5
    assert fit_at_k(["a", "a"], {"a": True}, {"a"}, 2) == 0.5
    assert fit_at_k(["a"], {"a": True}, {"a"}, 3) == pytest.approx(1 / 3)


# -------------------------------------------------------------------------------- the loader


def _write(tmp_path, requests) -> str:
    path = tmp_path / "labels.json"
    path.write_text(json.dumps({"about": "test", "requests": requests}, ensure_ascii=False), encoding="utf-8")
    return str(path)


def _entry(**changes) -> dict:
    entry = {
        "id": "r1", "text": "采购电饭煲 1000台", "title": "电饭煲", "category": "small_appliances", "quantity": 1000,
        "unit": "台", "target_unit_price_fen": None, "delivery_province": None, "required_certifications": [],
        "must": ["category"],
        "relevant": [{"sku": "RC-1", "company": "甲公司", "grade": 2}, {"sku": "RC-1", "company": "乙公司", "grade": 1}],
        "not_relevant": [{"sku": "AF-1", "company": "甲公司"}],
    }
    entry.update(changes)
    return entry


def test_load_labels_returns_the_entries_and_keys_by_company_and_sku(tmp_path):
    entries = load_labels(_write(tmp_path, [_entry()]))
    assert [e["id"] for e in entries] == ["r1"]
    # the same SKU at two companies is two products
    assert grades_of(entries[0]) == {("甲公司", "RC-1"): 2, ("乙公司", "RC-1"): 1}
    assert not_relevant_of(entries[0]) == {("甲公司", "AF-1")}
    assert product_key({"sku": "X", "company": "丙公司"}) == ("丙公司", "X")


@pytest.mark.parametrize("requests, message", [
    ([_entry(), _entry()], "twice"),
    ([_entry(relevant=[{"sku": "RC-1", "company": "甲公司", "grade": 3}])], "grade"),
    ([_entry(not_relevant=[{"sku": "RC-1", "company": "甲公司"}])], "both"),
    ([_entry(must=["colour"])], "must"),
    ([_entry(relevant=[{"sku": "RC-1"}])], "sku and company"),
    ([_entry(quantity="1000")], "quantity"),
])
def test_load_labels_refuses_a_malformed_file(tmp_path, requests, message):
    with pytest.raises(ValueError, match=message):
        load_labels(_write(tmp_path, requests))


def test_load_labels_refuses_a_file_without_requests(tmp_path):
    path = tmp_path / "labels.json"
    path.write_text("[]", encoding="utf-8")
    with pytest.raises(ValueError, match="requests"):
        load_labels(str(path))


# --------------------------------------------------------------------------- the labelled set


def test_the_labelled_set_is_complete_and_uses_the_app_vocabularies():
    entries = load_labels()
    assert len(entries) >= 45
    empty = [e["id"] for e in entries if not e["relevant"]]
    assert len(empty) == 3
    for entry in entries:
        rid = entry["id"]
        assert entry["relevant"] == [] or len(entry["relevant"]) >= 2, rid
        assert len(entry["not_relevant"]) >= 3, rid
        assert entry["category"] is None or entry["category"] in CATEGORY_BY_CODE, rid
        assert set(entry["required_certifications"]) <= CERTIFICATION_CODES, rid
        assert set(entry["must"]) <= MUST_KINDS, rid
        assert entry["delivery_province"] is None or regions.province(entry["delivery_province"]) is not None, rid
        assert len(entry["title"]) <= 40, rid
        assert entry["quantity"] > 0, rid
        # a must needs the request field it checks
        if "price" in entry["must"]:
            assert entry["target_unit_price_fen"], rid
        if "region" in entry["must"]:
            assert entry["delivery_province"], rid
        if "certifications" in entry["must"]:
            assert entry["required_certifications"], rid


def test_every_labelled_product_is_in_the_default_demo_catalog(app, runner):
    """The labels name products of `flask demo load` (seed 2025, defaults) by company and SKU."""
    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    document = json.loads(LABELS_PATH.read_text(encoding="utf-8"))
    with app.app_context():
        products = {
            (p.company.name_zh, p.sku): p
            for p in db.session.scalars(sa.select(Product).options(sa.orm.joinedload(Product.company))).unique()
        }
        total = db.session.scalar(sa.select(sa.func.count()).select_from(Product))
        public = {key for key, p in products.items() if is_publicly_visible(p)}
        titles = {key: p.title_zh for key, p in products.items()}
        db.session.remove()
    assert len(products) == total  # (company, sku) names one product: no two share a key
    for entry in document["requests"]:
        for ref in entry["relevant"] + entry["not_relevant"]:
            key = product_key(ref)
            assert key in public, (entry["id"], key)
            assert titles[key] == ref["title_zh"], (entry["id"], key)
    for ref in document["not_public"]:
        key = product_key(ref)
        assert key in products and key not in public, key
        assert titles[key] == ref["title_zh"], key
    assert document["catalog"]["public"] == len(public)
