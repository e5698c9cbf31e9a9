"""An expired certificate counts everywhere: the readiness badge, the checklist, exports and search filters.

A product declared "CCC held" whose CCC certificate ran out yesterday (in China) is neither
CCC-certified nor ready for the domestic market, wherever it is shown or filtered.
"""
from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta
from types import SimpleNamespace

import pytest

from marketplace.catalog.models import CccStatus, Product
from marketplace.catalog.rows import CertificationInput
from marketplace.extensions import db
from marketplace.i18n import today_in_china
from tests.conftest import login
from tests.factories import make_company, make_product, make_user

READY = {"ccc_status": CccStatus.HELD, "gb_standard": "GB 4706.19", "gb_standard_met": True,
         "chinese_label_ready": True, "vat_invoice": True}


@pytest.fixture
def products(app):
    """Two otherwise ready rice cookers of one exporter: one with an expired CCC, one with a valid one."""
    with app.app_context():
        company = make_company(name_zh="美厨电器有限公司")
        make_user(company, email="maker@example.com")
        yesterday = today_in_china() - timedelta(days=1)
        expired = make_product(company, title_zh="过期电饭煲", sku="EXPIRED-1", **READY,
                               certifications=[CertificationInput("CCC", "2020011234567", yesterday)])
        valid = make_product(company, title_zh="合格电饭煲", sku="VALID-1", **READY,
                             certifications=[CertificationInput("CCC", "2020017654321", today_in_china())])
        return SimpleNamespace(expired=expired.id, valid=valid.id)


def test_model_counts_expiry_on_the_chinese_date(app, products):
    with app.app_context():
        expired = db.session.get(Product, products.expired)
        valid = db.session.get(Product, products.valid)
        assert expired.ccc_expired() and expired.ccc_status_on() is CccStatus.MISSING
        assert not expired.domestic_ready and valid.domestic_ready
        assert [c.kind for c in expired.valid_certifications()] == []
        # valid through its expiry day: the one expiring today still counts
        assert [c.kind for c in valid.valid_certifications()] == ["CCC"]
        # a declared CCC without a listed certificate is taken as declared
        assert not valid.ccc_expired(today=date(2000, 1, 1))


def test_product_page_badge_and_checklist_do_not_tick_an_expired_ccc(app, client, products):
    html = client.get(f"/products/{products.expired}").get_data(as_text=True)
    assert "内销准备就绪" not in html
    assert "内销准备检查已通过 3 / 4 项" in html
    ccc_item = re.search(r'<li class="mb-1" data-testid="readiness-item" data-passed="(\w+)">(.*?)</li>', html, re.S)
    assert ccc_item.group(1) == "no"
    assert "CCC 证书已于" in ccc_item.group(2) and "过期" in ccc_item.group(2)
    assert "已获得 CCC 认证" not in ccc_item.group(2)
    valid = client.get(f"/products/{products.valid}").get_data(as_text=True)
    assert "内销准备就绪" in valid


def test_catalog_export_writes_an_expired_ccc_as_missing(app, en_client, products):
    login(en_client, "maker@example.com")
    response = en_client.get("/catalog/export.csv")
    assert response.status_code == 200
    table = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    header = table[0]
    ccc = next(i for i, name in enumerate(header) if name.startswith("CCC"))
    sku = next(i for i, name in enumerate(header) if name.startswith("SKU"))
    by_sku = {row[sku]: row[ccc] for row in table[1:]}
    assert by_sku == {"EXPIRED-1": "missing", "VALID-1": "held"}


def test_search_filters_leave_out_an_expired_ccc(app, client, products):
    def found(**args) -> set[int]:
        query = "&".join(f"{k}={v}" for k, v in args.items())
        html = client.get(f"/search/?q=电饭煲&{query}").get_data(as_text=True)
        return {int(i) for i in re.findall(r'data-testid="search-result" data-product-id="(\d+)"', html)}

    assert found() == {products.expired, products.valid}
    assert found(cert="CCC") == {products.valid}
    assert found(domestic_ready="1") == {products.valid}
