"""``flask demo load --products N``: realistic products for the demo exporters, deterministic per seed."""
from __future__ import annotations

import re
from collections import Counter

import sqlalchemy as sa

from marketplace.accounts.models import Company, CompanyKind
from marketplace.catalog import hs
from marketplace.catalog.categories import CATEGORY_BY_CODE, CERTIFICATION_CODES, UNITS
from marketplace.catalog.models import CccStatus, Product, ProductStatus
from marketplace.catalog.rows import PRODUCT_FIELDS, product_to_row
from marketplace.demo import EXPORTER_EMAIL
from marketplace.demo_products import INDUSTRY_CATEGORY, KINDS, bench_products
from marketplace.extensions import db
from tests.conftest import fresh_app

LOAD = ["demo", "load", "--companies", "12", "--products", "120"]
CJK = re.compile(r"[\u3400-\u9fff]")


def _products() -> list[Product]:
    return db.session.scalars(sa.select(Product).order_by(Product.id)).all()


def _snapshot() -> list[tuple]:
    rows = []
    for product in _products():
        row = product_to_row(product)
        rows.append((product.company.uscc, product.status, *(repr(row[name]) for name in PRODUCT_FIELDS)))
    db.session.remove()
    return rows


def test_demo_products_belong_to_exporters_of_their_industry(app, runner):
    result = runner.invoke(args=LOAD)
    assert result.exit_code == 0, result.output
    with app.app_context():
        products = _products()
        assert len(products) == 120
        published = sum(p.status is ProductStatus.PUBLISHED for p in products)
        assert f"products: 120 ({published} published)" in result.output
        assert published > 80 and any(p.status is ProductStatus.DRAFT for p in products)
        owners = {p.company for p in products}
        assert all(c.kind is CompanyKind.EXPORTER for c in owners)
        exporters = db.session.scalars(sa.select(Company).where(Company.kind == CompanyKind.EXPORTER)).all()
        assert len(owners) == len(exporters)  # spread over every exporter
        showcase = next(u.company for c in exporters for u in c.users if u.email == EXPORTER_EMAIL)
        counts = Counter(p.company_id for p in products)
        assert counts[showcase.id] == max(counts.values())
        for product in products:
            assert product.category == INDUSTRY_CATEGORY[product.company.industry]
            assert product.category in CATEGORY_BY_CODE and product.unit in UNITS
            assert hs.is_known_code(product.hs_code) and len(product.hs_code) == 6
            tiers = product.price_tiers
            assert tiers and tiers[0].min_quantity == product.moq
            assert all(a.min_quantity < b.min_quantity and a.unit_price_fen > b.unit_price_fen
                       for a, b in zip(tiers, tiers[1:], strict=False))
            assert product.former_export_market in {e.market for e in product.company.exposures}
            assert all(cert.kind in CERTIFICATION_CODES for cert in product.certifications)
            if product.ccc_status is CccStatus.HELD:
                assert any(cert.kind == "CCC" for cert in product.certifications)
            assert product.model and product.tariff_note
            if product.title_en:
                assert not CJK.search(product.title_en), product.title_en
            if product.status is ProductStatus.PUBLISHED:
                assert product.published_at is not None
        english_only = [p for p in products if not CJK.search(p.title_zh)]
        assert 0 < len(english_only) < 20
        assert all(p.title_zh == p.title_en and p.description_zh is None for p in english_only)
        assert any(p.ccc_status is CccStatus.HELD for p in products)
        assert any(p.domestic_ready for p in products) and not all(p.domestic_ready for p in products)
        skus = Counter((p.company_id, p.sku) for p in products)
        assert max(skus.values()) == 1


def test_demo_products_are_deterministic_for_a_seed(app, app_config, db_backend, runner, tmp_path):
    assert runner.invoke(args=LOAD).exit_code == 0
    with app.app_context():
        first = _snapshot()
    for name, extra, same in (("again", [], True), ("other", ["--seed", "7"], False)):
        other_app = fresh_app(app_config, db_backend, tmp_path, name)
        try:
            result = other_app.test_cli_runner().invoke(args=[*LOAD, *extra])
            assert result.exit_code == 0, result.output
            with other_app.app_context():
                assert (_snapshot() == first) is same
        finally:
            with other_app.app_context():
                db.session.remove()
                db.engine.dispose()


def test_demo_load_without_products(app, runner):
    result = runner.invoke(args=["demo", "load", "--companies", "6", "--products", "0"])
    assert result.exit_code == 0
    assert "products: 0 (0 published)" in result.output
    with app.app_context():
        assert _products() == []


def test_bench_products_cover_every_industry_with_unique_skus():
    items = bench_products(400)
    assert len({p.sku for p in items}) == 400
    assert {p.category for p in items} == set(INDUSTRY_CATEGORY.values())
    assert bench_products(50) == items[:50]
    kinds = {kind.name for kinds in KINDS.values() for kind in kinds}
    assert {"电饭煲", "空气炸锅", "电热水壶", "LED灯泡", "拉杆箱", "刹车片"} <= kinds
