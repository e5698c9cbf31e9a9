"""What buyers see: the product page, its visibility rules, and a company's storefront."""
from __future__ import annotations

import re
from datetime import date, timedelta
from types import SimpleNamespace

import pytest

from marketplace.accounts.models import Company, CompanyKind, Role, Verification
from marketplace.catalog.models import CccStatus, StockLocation
from marketplace.catalog.rows import CertificationInput, PriceTierInput
from marketplace.extensions import db
from tests.conftest import login
from tests.factories import make_company, make_product, make_user


@pytest.fixture
def world(app):
    """A verified exporter, an unverified exporter, a buyer and an organizer."""
    with app.app_context():
        verified = make_company(name_zh="美厨电器有限公司")
        owner = make_user(verified, email="owner@example.com")
        pending = make_company(verified=False, name_zh="待审企业有限公司")
        pending_owner = make_user(pending, email="pending@example.com")
        buyer = make_user(make_company(kind=CompanyKind.RETAILER), email="buyer@example.com")
        other_exporter = make_user(make_company(), email="other@example.com")
        organizer = make_user(role=Role.ORGANIZER, email="organizer@example.com")
        return SimpleNamespace(
            verified=verified.id, owner=owner.email, pending=pending.id, pending_owner=pending_owner.email,
            buyer=buyer.email, other=other_exporter.email, organizer=organizer.email,
        )


def add_product(app, company_id: int, **fields) -> int:
    with app.app_context():
        return make_product(db.session.get(Company, company_id), **fields).id


def archive(app, product_id: int) -> None:
    from marketplace.catalog import services
    from marketplace.catalog.models import Product, ProductStatus

    with app.app_context():
        product = db.session.get(Product, product_id)
        services.set_products_status(product.company.users[0], product.company, [product_id], ProductStatus.ARCHIVED)


FULL = {
    "title_zh": "智能电饭煲 3L",
    "title_en": "Smart rice cooker",
    "description_zh": "24小时预约\n不粘内胆",
    "hs_code": "851660",
    "brand": "美厨",
    "model": "MC-30A",
    "specs": [["容量", "3L"], ["功率", "500W"]],
    "moq": 200,
    "price_tiers": [PriceTierInput(200, 8900), PriceTierInput(1000, 8250), PriceTierInput(5000, 7800)],
    "monthly_capacity": 20000,
    "stock_quantity": 8500,
    "stock_location": StockLocation.PORT,
    "lead_time_days": 15,
    "former_export_market": "US",
    "tariff_note": "美国加征关税后订单取消",
    "ccc_status": CccStatus.HELD,
    "gb_standard": "GB 4706.19-2008",
    "gb_standard_met": True,
    "chinese_label_ready": True,
    "vat_invoice": True,
    "certifications": [CertificationInput("CCC", "2020011234567", date.today() + timedelta(days=365)),
                    CertificationInput("CE", "OLD-CE-1", date(2020, 1, 1))],
}


# --------------------------------------------------------------------------- the product page


def test_product_page_shows_what_a_buyer_asks_first(app, en_client, world):
    product_id = add_product(app, world.verified, **FULL)
    response = en_client.get(f"/products/{product_id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for text in ("智能电饭煲 3L", "Smart rice cooker", "¥89.00", "¥82.50", "¥78.00", "200 – 999", "5,000 units and more",
                 "200 units", "20,000", "15 days", "8,500", "Port", "Ready for the domestic market",
                 "GB 4706.19-2008", "2020011234567", "容量", "500W", "美厨", "MC-30A", "8516.60",
                 "Electric water, space, soil heaters", "United States", "美国加征关税后订单取消",
                 "Test Company", "24小时预约", "不粘内胆"):
        assert text in page, text
    assert f'href="/companies/{world.verified}"' in page
    assert f'href="/companies/{world.verified}/products"' in page
    assert 'data-testid="status-banner"' not in page


def test_product_page_readiness_list_marks_each_check(app, en_client, world):
    product_id = add_product(app, world.verified, ccc_status=CccStatus.MISSING, gb_standard_met=True,
                             chinese_label_ready=False, vat_invoice=True)
    page = en_client.get(f"/products/{product_id}").get_data(as_text=True)
    assert "Ready for the domestic market" not in page
    assert "2 of 4 readiness checks" in page
    passed = re.findall(r'data-testid="readiness-item" data-passed="(yes|no)"', page)
    assert passed == ["no", "yes", "no", "yes"]
    assert page.count("✓") == 2 and page.count("✗") == 2
    assert "CCC missing" in page


def test_product_page_flags_expired_certifications(app, en_client, world):
    product_id = add_product(app, world.verified, **FULL)
    page = en_client.get(f"/products/{product_id}").get_data(as_text=True)
    rows = re.findall(r'<tr data-testid="certification">(.*?)</tr>', page, re.S)
    assert len(rows) == 2
    assert "2020011234567" in rows[0] and "expired" not in rows[0]
    assert "OLD-CE-1" in rows[1] and 'text-bg-danger" data-testid="expired">expired' in rows[1]


def test_product_page_shows_images_linking_to_full_size(app, client, world):
    import io

    from PIL import Image

    from marketplace.catalog import services
    from marketplace.catalog.models import Product

    product_id = add_product(app, world.verified)
    with app.app_context():
        product = db.session.get(Product, product_id)
        for color in ("red", "blue"):
            out = io.BytesIO()
            Image.new("RGB", (50, 50), color).save(out, "PNG")
            services.add_product_image(product.company.users[0], product, out.getvalue())
        names = [(i.filename, i.thumbnail) for i in product.images]
    page = client.get(f"/products/{product_id}").get_data(as_text=True)
    for full, thumb in names:
        assert f'href="/media/products/{full}"' in page and f'src="/media/products/{thumb}"' in page


@pytest.mark.parametrize("viewer", [None, "buyer", "other"])
def test_product_page_draft_is_not_found_for_others(app, client, world, viewer):
    product_id = add_product(app, world.verified, publish=False)
    if viewer:
        login(client, getattr(world, viewer))
    assert client.get(f"/products/{product_id}").status_code == 404


@pytest.mark.parametrize("viewer", [None, "buyer", "other"])
def test_product_page_archived_is_not_found_for_others(app, client, world, viewer):
    product_id = add_product(app, world.verified, publish=True)
    archive(app, product_id)
    if viewer:
        login(client, getattr(world, viewer))
    assert client.get(f"/products/{product_id}").status_code == 404


@pytest.mark.parametrize("viewer", [None, "buyer", "other"])
def test_product_page_of_unverified_company_is_not_found_for_others(app, client, world, viewer):
    product_id = add_product(app, world.pending, publish=True)
    if viewer:
        login(client, getattr(world, viewer))
    assert client.get(f"/products/{product_id}").status_code == 404


def test_product_page_owner_sees_draft_with_banner(app, en_client, world):
    product_id = add_product(app, world.verified, publish=False)
    login(en_client, world.owner)
    response = en_client.get(f"/products/{product_id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'data-testid="status-banner"' in page and "This product is a draft" in page
    assert f'href="/catalog/{product_id}/edit"' in page


def test_product_page_owner_sees_archived_with_banner(app, en_client, world):
    product_id = add_product(app, world.verified, publish=True)
    archive(app, product_id)
    login(en_client, world.owner)
    page = en_client.get(f"/products/{product_id}").get_data(as_text=True)
    assert "This product is archived" in page


def test_product_page_owner_of_unverified_company_sees_banner(app, en_client, world):
    product_id = add_product(app, world.pending, publish=True)
    login(en_client, world.pending_owner)
    response = en_client.get(f"/products/{product_id}")
    assert response.status_code == 200
    assert "buyers will see it only once the company has been verified" in response.get_data(as_text=True)


def test_product_page_becomes_visible_when_the_company_is_verified(app, client, world):
    product_id = add_product(app, world.pending, publish=True)
    assert client.get(f"/products/{product_id}").status_code == 404
    with app.app_context():
        db.session.get(Company, world.pending).verification = Verification.VERIFIED
        db.session.commit()
    assert client.get(f"/products/{product_id}").status_code == 200


def test_product_page_unknown_product_is_404(client):
    assert client.get("/products/424242").status_code == 404


# --------------------------------------------------------------------------- storefront


def test_storefront_shows_only_published_products(app, en_client, world):
    add_product(app, world.verified, title_zh="已发布的电饭煲", publish=True)
    add_product(app, world.verified, title_zh="草稿电水壶", publish=False)
    archived = add_product(app, world.verified, title_zh="已归档的吹风机", publish=True)
    archive(app, archived)
    other_company = make_other_company_product(app)
    response = en_client.get(f"/companies/{world.verified}/products")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "已发布的电饭煲" in page
    assert "草稿电水壶" not in page and "已归档的吹风机" not in page and other_company not in page
    assert page.count('data-testid="product-card"') == 1
    assert "¥89.00" in page and "MOQ 100" in page


def make_other_company_product(app) -> str:
    with app.app_context():
        make_product(make_company(), title_zh="别家的产品")
    return "别家的产品"


def test_storefront_paginates(app, en_client, world):
    for number in range(26):
        add_product(app, world.verified, title_zh=f"产品{number:02d}")
    first = en_client.get(f"/companies/{world.verified}/products").get_data(as_text=True)
    second = en_client.get(f"/companies/{world.verified}/products?page=2").get_data(as_text=True)
    assert first.count('data-testid="product-card"') == 24
    assert second.count('data-testid="product-card"') == 2
    assert "Page 2 of 2 · 26 in all" in second


def test_storefront_empty_state(app, en_client, world):
    add_product(app, world.verified, publish=False)
    page = en_client.get(f"/companies/{world.verified}/products").get_data(as_text=True)
    assert "No published products yet." in page


@pytest.mark.parametrize("viewer", [None, "buyer", "other"])
def test_storefront_of_unverified_company_is_not_found_for_others(app, client, world, viewer):
    add_product(app, world.pending, publish=True)
    if viewer:
        login(client, getattr(world, viewer))
    assert client.get(f"/companies/{world.pending}/products").status_code == 404


def test_storefront_of_unverified_company_is_shown_to_its_own_users(app, en_client, world):
    add_product(app, world.pending, title_zh="待审产品", publish=True)
    login(en_client, world.pending_owner)
    response = en_client.get(f"/companies/{world.pending}/products")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "待审产品" in page and "buyers cannot see this storefront" in page


def test_storefront_of_a_buyer_or_unknown_company_is_not_found(app, client, world):
    with app.app_context():
        buyer_company = make_company(kind=CompanyKind.CHAIN_LEADER).id
    assert client.get(f"/companies/{buyer_company}/products").status_code == 404
    assert client.get("/companies/987654/products").status_code == 404


def test_storefront_escapes_product_titles(app, client, world):
    add_product(app, world.verified, title_zh="<img src=x onerror=alert(1)>")
    page = client.get(f"/companies/{world.verified}/products").get_data(as_text=True)
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
