"""Product pages for exporters: the product form, the catalog list, bulk status changes, permissions."""
from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from marketplace.accounts.models import CompanyKind, Role
from marketplace.catalog.models import (
    CccStatus,
    Certification,
    PriceTier,
    Product,
    ProductStatus,
    StockLocation,
)
from marketplace.extensions import db
from tests.conftest import csrf_token, login, post_form
from tests.factories import make_company, make_product, make_user

SCRIPT = '<script>alert("x")</script>'
ESCAPED = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"


@pytest.fixture
def world(app):
    """Exporter A (admin), exporter B (admin), a buyer; ids and e-mails only."""
    with app.app_context():
        a = make_company(name_zh="甲方电器有限公司")
        a_admin = make_user(a, email="admin@a.example.com")
        b = make_company(name_zh="乙方五金有限公司")
        b_admin = make_user(b, email="admin@b.example.com")
        buyer = make_user(make_company(kind=CompanyKind.RETAILER), email="buyer@example.com")
        return SimpleNamespace(a=a.id, b=b.id, a_admin=a_admin.email, b_admin=b_admin.email, buyer=buyer.email)


def form_data(**changes) -> dict:
    """A complete, valid product form submission; ``changes`` replace fields (None removes one)."""
    data = {
        "title_zh": "智能电饭煲 3L",
        "title_en": "Smart rice cooker 3 L",
        "description_zh": "24小时预约\n不粘内胆",
        "description_en": "24-hour timer",
        "sku": "RC-3018",
        "category": "small_appliances",
        "hs_code": "8516.60",
        "brand": "美厨",
        "model": "MC-30A",
        "specs": "容量: 3L\n功率: 500W",
        "unit": "台",
        "moq": "200",
        "price_tiers-quantity": ["200", "1000"],
        "price_tiers-price": ["89.00", "82.50"],
        "monthly_capacity": "20000",
        "stock_quantity": "8500",
        "stock_location": "port",
        "lead_time_days": "15",
        "former_export_market": "US",
        "tariff_note": "2025年美国加征关税后订单取消",
        "ccc_status": "held",
        "gb_standard": "GB 4706.19-2008",
        "gb_standard_met": "y",
        "chinese_label_ready": "y",
        "vat_invoice": "y",
        "certifications-kind": ["CCC", "CE"],
        "certifications-number": ["2020011234567", "ABC123"],
        "certifications-expires_on": ["2030-05-01", "2031-12-31"],
        "save": "1",
    }
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def product_count(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Product))


def product_state(app, product_id: int) -> dict:
    """A product's columns, tiers and certifications as plain values (for before/after comparisons)."""
    with app.app_context():
        row = dict(db.session.execute(sa.select(Product.__table__).where(Product.id == product_id)).mappings().one())
        row["status"] = row["status"].value
        row["tiers"] = db.session.execute(
            sa.select(PriceTier.min_quantity, PriceTier.unit_price_fen)
            .where(PriceTier.product_id == product_id).order_by(PriceTier.min_quantity)
        ).all()
        row["certs"] = db.session.execute(
            sa.select(Certification.kind, Certification.number).where(Certification.product_id == product_id)
        ).all()
        return row


def new_product(app, company_id: int, **fields) -> int:
    with app.app_context():
        from marketplace.accounts.models import Company

        return make_product(db.session.get(Company, company_id), **fields).id


# --------------------------------------------------------------------------- create and edit


def test_new_product_saves_a_draft_with_every_field(app, client, world):
    login(client, world.a_admin)
    response = post_form(client, "/catalog/new", form_data())
    assert response.status_code == 302
    product_id = int(re.search(r"/catalog/(\d+)/edit", response.headers["Location"]).group(1))
    with app.app_context():
        product = db.session.get(Product, product_id)
        assert product.company_id == world.a
        assert product.status is ProductStatus.DRAFT
        assert (product.sku, product.title_zh, product.title_en) == ("RC-3018", "智能电饭煲 3L", "Smart rice cooker 3 L")
        assert product.description_zh == "24小时预约\n不粘内胆"
        assert product.hs_code == "851660"
        assert product.specs == [["容量", "3L"], ["功率", "500W"]]
        assert [(t.min_quantity, t.unit_price_fen) for t in product.price_tiers] == [(200, 8900), (1000, 8250)]
        assert (product.moq, product.unit, product.monthly_capacity, product.stock_quantity) == (200, "台", 20000, 8500)
        assert product.stock_location is StockLocation.PORT and product.lead_time_days == 15
        assert product.former_export_market == "US"
        assert product.ccc_status is CccStatus.HELD and product.domestic_ready
        assert [(c.kind, c.number, c.expires_on.isoformat()) for c in product.certifications] == [
            ("CCC", "2020011234567", "2030-05-01"), ("CE", "ABC123", "2031-12-31")]


def test_new_product_save_and_publish_publishes(app, client, world):
    login(client, world.a_admin)
    response = post_form(client, "/catalog/new", form_data(save=None, publish="1"))
    assert response.status_code == 302
    with app.app_context():
        product = db.session.scalars(sa.select(Product)).one()
        assert product.status is ProductStatus.PUBLISHED and product.published_at is not None


def test_new_product_first_price_without_quantity_starts_at_moq(app, client, world):
    login(client, world.a_admin)
    response = post_form(client, "/catalog/new", form_data(**{
        "price_tiers-quantity": ["", "500"], "price_tiers-price": ["12.50", "11"]}))
    assert response.status_code == 302
    with app.app_context():
        product = db.session.scalars(sa.select(Product)).one()
        assert [(t.min_quantity, t.unit_price_fen) for t in product.price_tiers] == [(200, 1250), (500, 1100)]


def test_edit_product_shows_saved_values_and_saves_changes(app, client, world):
    product_id = new_product(app, world.a, publish=False, sku="OLD-1", specs=[["颜色", "白色"]])
    login(client, world.a_admin)
    page = client.get(f"/catalog/{product_id}/edit").get_data(as_text=True)
    assert 'value="OLD-1"' in page and "颜色: 白色" in page
    response = post_form(client, f"/catalog/{product_id}/edit", form_data(sku="NEW-1", **{
        "price_tiers-quantity": ["200", "500", "2000"], "price_tiers-price": ["10", "9.5", "9"]}))
    assert response.status_code == 302
    state = product_state(app, product_id)
    assert state["sku"] == "NEW-1"
    assert state["tiers"] == [(200, 1000), (500, 950), (2000, 900)]
    assert state["status"] == "draft"


def test_edit_product_save_and_publish(app, client, world):
    product_id = new_product(app, world.a, publish=False)
    login(client, world.a_admin)
    response = post_form(client, f"/catalog/{product_id}/edit", form_data(save=None, publish="1"))
    assert response.status_code == 302
    assert product_state(app, product_id)["status"] == "published"


def test_edit_product_removing_a_certification_row_removes_it(app, client, world):
    login(client, world.a_admin)
    post_form(client, "/catalog/new", form_data())
    with app.app_context():
        product_id = db.session.scalar(sa.select(Product.id))
    post_form(client, f"/catalog/{product_id}/edit", form_data(**{
        "certifications-kind": ["CE", ""], "certifications-number": ["ABC123", ""],
        "certifications-expires_on": ["", ""]}))
    assert product_state(app, product_id)["certs"] == [("CE", "ABC123")]


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize("changes, field_text, message", [
    ({"moq": "0"}, None, "Must be at least 1, not 0."),
    ({"moq": "2.5"}, None, "Must be a whole number, not 2.5."),
    ({"moq": "abc"}, None, "Not a whole number: abc."),
    ({"price_tiers-price": ["-5", "4"]}, None, "Row 1: The price -5 is negative."),
    ({"price_tiers-price": ["89.00", "cheap"]}, None, "Row 2: Not a price: cheap"),
    ({"price_tiers-price": ["89.001", "82"]}, None, "Row 1: The price 89.001 has more than two decimals."),
    ({"price_tiers-quantity": ["200", "100"]}, None,
     "Row 2: Price breaks out of order: 100 comes after 200; list them from the smallest quantity up."),
    ({"price_tiers-quantity": ["200", "200"]}, None, "Row 2: Price breaks out of order"),
    ({"price_tiers-quantity": ["100", "1000"]}, None,
     "Row 1: The first price break must start at the MOQ (200), not at 100."),
    ({"price_tiers-price": ["80", "90"]}, None, "Row 2: The price rises from 80.00 to 90.00 at 1000"),
    ({"price_tiers-quantity": ["200", ""], "price_tiers-price": ["89", "80"]}, None,
     "Row 2: Give the quantity from which this price applies."),
    ({"price_tiers-quantity": ["", ""], "price_tiers-price": ["", ""]}, None, "Give at least one price."),
    ({"price_tiers-quantity": [str(200 + i) for i in range(11)],
      "price_tiers-price": ["10"] * 11}, None, "At most 10 price breaks."),
    ({"hs_code": "9988"}, None, "HS code 9988 does not exist."),
    ({"hs_code": "85x6"}, None, "Not an HS code: 85x6"),
    ({"title_zh": "长" * 10000}, None, "Use at most 200 characters."),
    ({"title_zh": "   "}, None, "Give the product a Chinese title."),
    ({"sku": ""}, None, "Give the product"),
    ({"category": "weapons"}, None, "Not a valid choice"),
    ({"unit": ""}, None, "Choose a unit."),
    ({"specs": "just words"}, None, "Write specifications as name:value"),
    ({"lead_time_days": "-3"}, None, "Must not be negative: -3."),
    ({"certifications-expires_on": ["2030-05-01", "31/12/2031"]}, None,
     "Row 2: The date 31/12/2031 is not valid: write it as YYYY-MM-DD"),
    ({"certifications-kind": ["", "CE"]}, None, "Row 1: Choose the kind of certificate."),
])
def test_new_product_bad_input_is_refused_with_a_message(app, en_client, world, changes, field_text, message):
    login(en_client, world.a_admin)
    response = post_form(en_client, "/catalog/new", form_data(**changes))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert message in page
    assert "nothing has been saved yet" in page
    assert product_count(app) == 0


def test_new_product_failed_submission_keeps_everything_typed(app, en_client, world):
    login(en_client, world.a_admin)
    page = post_form(en_client, "/catalog/new", form_data(moq="0", **{
        "price_tiers-quantity": ["200", "1000", "5000"], "price_tiers-price": ["89.00", "82.50", "78"]})
    ).get_data(as_text=True)
    for typed in ('value="智能电饭煲 3L"', 'value="RC-3018"', 'value="8516.60"', 'value="0"', 'value="5000"',
                  'value="82.50"', 'value="2020011234567"', 'value="2031-12-31"', "功率: 500W", "24小时预约"):
        assert typed in page, typed
    assert re.search(r'<option selected value="small_appliances">|<option value="small_appliances" selected', page)
    assert re.search(r'name="gb_standard_met" type="checkbox" value="y" checked|checked[^>]*name="gb_standard_met"',
                     page)


def test_new_product_duplicate_sku_is_refused_next_to_the_field(app, en_client, world):
    new_product(app, world.a, sku="RC-3018")
    login(en_client, world.a_admin)
    page = post_form(en_client, "/catalog/new", form_data(sku="RC-3018")).get_data(as_text=True)
    assert "Your catalog already has a product with SKU RC-3018." in page
    assert product_count(app) == 1


def test_new_product_same_sku_in_another_company_is_fine(app, client, world):
    new_product(app, world.b, sku="RC-3018")
    login(client, world.a_admin)
    assert post_form(client, "/catalog/new", form_data(sku="RC-3018")).status_code == 302
    assert product_count(app) == 2


def test_edit_product_duplicate_sku_changes_nothing(app, en_client, world):
    new_product(app, world.a, sku="TAKEN")
    product_id = new_product(app, world.a, sku="MINE")
    before = product_state(app, product_id)
    login(en_client, world.a_admin)
    page = post_form(en_client, f"/catalog/{product_id}/edit", form_data(sku="TAKEN", title_zh="改了")).get_data(
        as_text=True)
    assert "Your catalog already has a product with SKU TAKEN." in page
    after = product_state(app, product_id)
    assert after == before


def test_product_html_in_every_text_field_is_shown_escaped(app, client, world):
    login(client, world.a_admin)
    response = post_form(client, "/catalog/new", form_data(
        publish="1", save=None, title_zh=SCRIPT, title_en=SCRIPT, description_zh=SCRIPT, description_en=SCRIPT,
        sku=SCRIPT[:60], brand=SCRIPT, model=SCRIPT, specs=f"{SCRIPT}: {SCRIPT}", tariff_note=SCRIPT,
        gb_standard=SCRIPT, **{"certifications-number": [SCRIPT, ""]}))
    assert response.status_code == 302
    with app.app_context():
        product_id = db.session.scalar(sa.select(Product.id))
    for url in (f"/products/{product_id}", f"/catalog/{product_id}/edit", "/catalog/",
                f"/companies/{world.a}/products"):
        page = client.get(url).get_data(as_text=True)
        assert SCRIPT not in page and SCRIPT[:20] not in page, url
        assert "&lt;script&gt;" in page, url
    page = client.get(f"/products/{product_id}").get_data(as_text=True)
    assert page.count(ESCAPED) >= 9


def test_new_product_error_messages_quote_bad_values_escaped(app, en_client, world):
    login(en_client, world.a_admin)
    page = post_form(en_client, "/catalog/new", form_data(
        moq="<b>9</b>", hs_code="<b>85</b>", specs=SCRIPT, **{"price_tiers-price": [SCRIPT, ""],
                                                          "certifications-kind": [SCRIPT, ""]})).get_data(as_text=True)
    assert "<script>alert" not in page and "<b>" not in page
    assert "Not a whole number: &lt;b&gt;9&lt;/b&gt;." in page
    assert "Row 1: Unknown certification &lt;script&gt;" in page
    assert product_count(app) == 0


def test_product_form_needs_an_exporter(app, client, world):
    login(client, world.buyer)
    assert client.get("/catalog/new").status_code == 403
    token = csrf_token(client, "/account/settings")
    assert client.post("/catalog/new", data={**form_data(), "csrf_token": token}).status_code == 403
    assert product_count(app) == 0


def test_product_form_needs_a_login(client):
    response = client.get("/catalog/new")
    assert response.status_code == 302 and "/account/login" in response.headers["Location"]


# --------------------------------------------------------------------------- other companies' products


def test_edit_product_of_another_company_is_forbidden_and_changes_nothing(app, client, world):
    product_id = new_product(app, world.b, sku="B-1")
    before = product_state(app, product_id)
    login(client, world.a_admin)
    assert client.get(f"/catalog/{product_id}/edit").status_code == 403
    token = csrf_token(client, "/catalog/new")
    response = client.post(f"/catalog/{product_id}/edit",
                           data={**form_data(sku="STOLEN", title_zh="被改了", publish="1"), "csrf_token": token})
    assert response.status_code == 403
    assert product_state(app, product_id) == before


def test_edit_unknown_product_is_404(client, world):
    login(client, world.a_admin)
    assert client.get("/catalog/999999/edit").status_code == 404


def test_bulk_with_another_company_product_is_forbidden_and_changes_nothing(app, client, world):
    mine = new_product(app, world.a, publish=False)
    theirs = new_product(app, world.b, publish=True)
    login(client, world.a_admin)
    token = csrf_token(client, "/catalog/")
    response = client.post("/catalog/bulk", data={"csrf_token": token, "action": "archive",
                                                  "product_ids": [str(mine), str(theirs)]})
    assert response.status_code == 403
    assert product_state(app, mine)["status"] == "draft"
    assert product_state(app, theirs)["status"] == "published"


def test_bulk_by_a_buyer_is_forbidden_and_changes_nothing(app, client, world):
    theirs = new_product(app, world.b, publish=True)
    login(client, world.buyer)
    token = csrf_token(client, "/account/settings")
    response = client.post("/catalog/bulk", data={"csrf_token": token, "action": "archive",
                                                  "product_ids": [str(theirs)]})
    assert response.status_code == 403
    assert product_state(app, theirs)["status"] == "published"


def test_bulk_with_unknown_ids_is_forbidden(app, client, world):
    mine = new_product(app, world.a, publish=False)
    login(client, world.a_admin)
    token = csrf_token(client, "/catalog/")
    response = client.post("/catalog/bulk", data={"csrf_token": token, "action": "publish",
                                                  "product_ids": [str(mine), "987654"]})
    assert response.status_code == 403
    assert product_state(app, mine)["status"] == "draft"


@pytest.mark.parametrize("data", [
    {"action": "publish", "product_ids": ["1; DROP TABLE products"]},
    {"action": "delete", "product_ids": ["1"]},
])
def test_bulk_forged_values_are_a_bad_request(app, client, world, data):
    new_product(app, world.a, publish=False)
    login(client, world.a_admin)
    token = csrf_token(client, "/catalog/")
    assert client.post("/catalog/bulk", data={"csrf_token": token, **data}).status_code == 400


def test_bulk_without_csrf_token_is_refused(app, client, world):
    mine = new_product(app, world.a, publish=False)
    login(client, world.a_admin)
    assert client.post("/catalog/bulk", data={"action": "publish", "product_ids": [str(mine)]}).status_code == 400
    assert product_state(app, mine)["status"] == "draft"


# --------------------------------------------------------------------------- bulk status changes


def test_bulk_publish_archive_and_draft(app, en_client, world):
    ids = [new_product(app, world.a, publish=False) for _ in range(3)]
    login(en_client, world.a_admin)
    response = post_form(en_client, "/catalog/bulk", {"action": "publish", "product_ids": [str(i) for i in ids[:2]]},
                         form_url="/catalog/", follow_redirects=True)
    assert "2 products published." in response.get_data(as_text=True)
    assert [product_state(app, i)["status"] for i in ids] == ["published", "published", "draft"]
    post_form(en_client, "/catalog/bulk", {"action": "archive", "product_ids": [str(ids[0])]}, form_url="/catalog/")
    post_form(en_client, "/catalog/bulk", {"action": "draft", "product_ids": [str(ids[1])]}, form_url="/catalog/")
    assert [product_state(app, i)["status"] for i in ids] == ["archived", "draft", "draft"]


def test_bulk_without_selection_says_so(app, en_client, world):
    new_product(app, world.a, publish=False)
    login(en_client, world.a_admin)
    response = post_form(en_client, "/catalog/bulk", {"action": "publish"}, form_url="/catalog/",
                         follow_redirects=True)
    assert "Select at least one product." in response.get_data(as_text=True)


def test_bulk_returns_to_the_filtered_list(app, client, world):
    mine = new_product(app, world.a, publish=False)
    login(client, world.a_admin)
    response = post_form(client, "/catalog/bulk", {"action": "publish", "product_ids": [str(mine)],
                                                   "next": "/catalog/?status=draft"}, form_url="/catalog/")
    assert response.headers["Location"].endswith("/catalog/?status=draft")
    response = post_form(client, "/catalog/bulk", {"action": "draft", "product_ids": [str(mine)],
                                                   "next": "https://evil.example.com/"}, form_url="/catalog/")
    assert response.headers["Location"].endswith("/catalog/")


def test_edit_page_status_buttons_archive_with_confirmation(app, client, world):
    product_id = new_product(app, world.a, publish=True)
    login(client, world.a_admin)
    page = client.get(f"/catalog/{product_id}/edit").get_data(as_text=True)
    assert 'value="archive"' in page and "data-confirm=" in page
    assert 'value="publish"' not in page.split('data-testid="status-actions"')[1].split("</div>")[0]


# --------------------------------------------------------------------------- the catalog list


def test_catalog_list_shows_the_company_products_only(app, en_client, world):
    new_product(app, world.a, title_zh="甲方的电饭煲", sku="A-1", publish=False)
    new_product(app, world.b, title_zh="乙方的扳手", sku="B-1")
    login(en_client, world.a_admin)
    page = en_client.get("/catalog/").get_data(as_text=True)
    assert "甲方的电饭煲" in page and "A-1" in page
    assert "乙方的扳手" not in page
    assert "¥89.00" in page  # |money of the first tier
    assert "Draft" in page and "Ready for the domestic market" not in page
    assert re.search(r'value="archive"[^>]*data-confirm="Archive the selected products\?', page)


def test_catalog_list_filters_by_status_category_and_text(app, client, world):
    new_product(app, world.a, title_zh="电饭煲甲", sku="RC-1", publish=True)
    new_product(app, world.a, title_zh="电饭煲乙", sku="RC-2", publish=False)
    new_product(app, world.a, title_zh="毛绒熊", sku="TOY-1", category="toys", publish=True)
    login(client, world.a_admin)

    def titles(query: str) -> set[str]:
        page = client.get("/catalog/" + query).get_data(as_text=True)
        return set(re.findall(r'class="fw-semibold">([^<]+)</a>', page))

    assert titles("") == {"电饭煲甲", "电饭煲乙", "毛绒熊"}
    assert titles("?status=published") == {"电饭煲甲", "毛绒熊"}
    assert titles("?status=draft") == {"电饭煲乙"}
    assert titles("?category=toys") == {"毛绒熊"}
    assert titles("?q=rc-") == {"电饭煲甲", "电饭煲乙"}
    assert titles("?q=电饭煲&status=published") == {"电饭煲甲"}
    assert titles("?status=bogus&category=nope") == {"电饭煲甲", "电饭煲乙", "毛绒熊"}
    assert titles("?q=%25") == set()  # a literal %, not a wildcard


def test_catalog_list_paginates(app, en_client, world):
    for number in range(23):
        new_product(app, world.a, title_zh=f"产品{number:02d}", publish=False)
    login(en_client, world.a_admin)
    first = en_client.get("/catalog/").get_data(as_text=True)
    second = en_client.get("/catalog/?page=2").get_data(as_text=True)
    assert first.count('data-testid="catalog-row"') == 20
    assert second.count('data-testid="catalog-row"') == 3
    assert "Page 2 of 2 · 23 in all" in second
    assert en_client.get("/catalog/?page=99999999999").status_code == 200


def test_catalog_list_empty_state_links_to_add_and_import(app, en_client, world):
    login(en_client, world.a_admin)
    page = en_client.get("/catalog/").get_data(as_text=True)
    assert "Your catalog is empty." in page
    assert 'href="/catalog/new"' in page and 'href="/catalog/import"' in page
    page = en_client.get("/catalog/?q=nothing").get_data(as_text=True)
    assert "Your catalog is empty." not in page and "No product matches these filters." in page


def test_catalog_list_is_for_exporters_only(client, world):
    assert client.get("/catalog/").status_code == 302  # to the login page
    login(client, world.buyer)
    assert client.get("/catalog/").status_code == 403


def test_catalog_list_member_of_exporter_sees_it(app, client, world):
    with app.app_context():
        from marketplace.accounts.models import Company

        member = make_user(db.session.get(Company, world.a), role=Role.MEMBER).email
    login(client, member)
    assert client.get("/catalog/").status_code == 200


# --------------------------------------------------------------------------- HS picker


def test_hs_json_finds_by_code_and_word(en_client):
    by_code = en_client.get("/catalog/hs.json?q=8516").get_json()
    assert by_code[0]["code"] == "8516" and "heat" in by_code[0]["name"].lower()
    by_word = en_client.get("/catalog/hs.json?q=toys").get_json()
    assert any(entry["code"] == "95" for entry in by_word)
    chinese = en_client.get("/catalog/hs.json?q=85", headers={"Accept-Language": "zh-CN"}).get_json()
    assert chinese[0]["code"] == "85"
    assert en_client.get("/catalog/hs.json?q=" + "x" * 5000).status_code == 200


def test_new_product_form_starts_with_ccc_missing(client, world):
    login(client, world.a_admin)
    page = client.get("/catalog/new").get_data(as_text=True)
    assert re.search(r'<option selected value="missing">|<option value="missing" selected', page)


def test_update_product_keeps_changes_and_drops_price_breaks_without_conflict(app, world):
    """Quantities that stay, move and go in one save (the unique (product, quantity) constraint holds)."""
    from dataclasses import replace

    from marketplace.accounts.models import Company
    from marketplace.catalog import services
    from marketplace.catalog.rows import PriceTierInput, ProductInput

    with app.app_context():
        company = db.session.get(Company, world.a)
        actor = company.users[0]
        base = ProductInput(sku="T-1", title_zh="测试", category="toys", unit="件", moq=100,
                            price_tiers=[PriceTierInput(100, 500), PriceTierInput(500, 450), PriceTierInput(1000, 400)])
        product = services.create_product(actor, company, base)
        for tiers in ([(100, 480), (1000, 420)], [(100, 480), (300, 470), (500, 460), (1000, 420)], [(100, 999)]):
            data = replace(base, price_tiers=[PriceTierInput(q, p) for q, p in tiers])
            services.update_product(actor, product, data)
            db.session.expire_all()
            assert [(t.min_quantity, t.unit_price_fen) for t in db.session.get(Product, product.id).price_tiers] == tiers
