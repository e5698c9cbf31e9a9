"""``/api/v1/products``: search, the caller's catalog, create, update, publish, archive, bulk upsert, images."""
from __future__ import annotations

import io
import time
import uuid
from urllib.parse import urlsplit

import sqlalchemy as sa
from PIL import Image

from marketplace.accounts.models import Company
from marketplace.api.core import encode_cursor
from marketplace.catalog.models import CccStatus, Product, ProductImage, ProductStatus
from marketplace.extensions import db
from tests.factories import make_product


def body(**overrides) -> dict:
    """A valid product body: a rice cooker with two price tiers."""
    values = {
        "sku": "RC-3018",
        "title_zh": "智能电饭煲 3L 预约定时",
        "title_en": "Smart rice cooker 3 L",
        "description_zh": "24小时预约，不粘内胆。",
        "hs_code": "851660",
        "category": "small_appliances",
        "unit": "台",
        "moq": 200,
        "price_tiers": [{"min_quantity": 200, "unit_price_fen": 8900}, {"min_quantity": 1000, "unit_price_fen": 8250}],
        "specs": [{"name": "容量", "value": "3L"}],
        "ccc_status": "held",
        "certifications": [{"kind": "CCC", "number": "2020011234567", "expires_on": "2030-05-01"}],
    }
    values.update(overrides)
    return values


def db_product(app, product_id: int) -> Product | None:
    with app.app_context():
        found = db.session.get(Product, product_id)
        if found is not None:
            found.price_tiers  # noqa: B018 - load before the session ends
            db.session.expunge(found)
        return found


def created(caller, **overrides) -> dict:
    response = caller.post("/products", json=body(**overrides))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def png_bytes(size=(64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


# ----------------------------------------------------------------------------- create


def test_create_product_is_stored_as_the_form_would_and_readable(app, exporter_api):
    response = exporter_api.post("/products", json=body())
    assert response.status_code == 201
    product = response.get_json()
    assert response.headers["Location"] == f"/api/v1/products/{product['id']}"
    assert product["status"] == "draft" and product["sku"] == "RC-3018"
    assert product["price_tiers"] == [{"min_quantity": 200, "unit_price_fen": 8900},
                                      {"min_quantity": 1000, "unit_price_fen": 8250}]
    assert product["specs"] == [{"name": "容量", "value": "3L"}]
    assert product["certifications"][0] == {"kind": "CCC", "number": "2020011234567", "expires_on": "2030-05-01",
                                            "expired": False}
    assert product["company"]["id"] == exporter_api.company_id
    stored = db_product(app, product["id"])
    assert stored.company_id == exporter_api.company_id and stored.status is ProductStatus.DRAFT
    assert stored.hs_code == "851660" and stored.ccc_status is CccStatus.HELD
    assert [(t.min_quantity, t.unit_price_fen) for t in stored.price_tiers] == [(200, 8900), (1000, 8250)]

    read = exporter_api.get(f"/products/{product['id']}")
    assert read.status_code == 200 and read.get_json() == product
    again = exporter_api.get(f"/products/{product['id']}", headers={"If-None-Match": read.headers["ETag"]})
    assert again.status_code == 304


def test_create_product_cleans_text_like_the_form(app, exporter_api):
    product = created(exporter_api, sku=" RC-1\u202e ", title_zh="电饭煲\x00", title_en="  ", hs_code="8516")
    assert product["sku"] == "RC-1" and product["title_zh"] == "电饭煲" and product["title_en"] is None


MALFORMED = [
    ({"moq": True}, "moq"),
    ({"moq": "200"}, "moq"),
    ({"price_tiers": [{"min_quantity": 200, "unit_price_fen": "89.00"}]}, "price_tiers[0].unit_price_fen"),
    ({"price_tiers": [{"min_quantity": 200, "unit_price_fen": 89.5}]}, "price_tiers[0].unit_price_fen"),
    ({"colour": "white"}, "colour"),
    ({"category": "spaceships"}, "category"),
    ({"unit": "pcs"}, "unit"),
    ({"sku": None}, "sku"),
    ({"hs_code": "85.16"}, "hs_code"),
    ({"hs_code": "9912"}, "hs_code"),
    ({"title_zh": "x" * 201}, "title_zh"),
    ({"title_zh": "\ud800"}, "title_zh"),
]


def test_create_product_refuses_a_malformed_body(app, exporter_api):
    for change, field in MALFORMED:
        response = exporter_api.post("/products", json=body(**change))
        assert response.status_code == 422, change
        problem = response.get_json()
        assert problem["field"] == field and response.mimetype == "application/problem+json", (change, problem)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Product)) == 0


BROKEN_RULES = [
    ({"price_tiers": [{"min_quantity": 100, "unit_price_fen": 8900}]}, "price_tiers[0]",
     "The first price break must start at the MOQ (200), not at 100."),
    ({"price_tiers": [{"min_quantity": 200, "unit_price_fen": 8900}, {"min_quantity": 1000, "unit_price_fen": 9900}]},
     "price_tiers[1]", "The price rises from 89.00 to 99.00 at 1000"),
    ({"price_tiers": [{"min_quantity": 200, "unit_price_fen": 8900}, {"min_quantity": 150, "unit_price_fen": 8000}]},
     "price_tiers[1]", "Price breaks out of order"),
    ({"hs_code": "8599"}, "hs_code", "HS code 8599 does not exist."),
    ({"title_zh": " \u200b "}, "title_zh", "Give the product a Chinese title."),
    ({"specs": [{"name": "\u200b", "value": "3L"}]}, "specs[0]", "Give both the name and the value"),
]


def test_create_product_breaking_a_catalog_rule_is_422_naming_the_field(app, exporter_api):
    for change, field, message in BROKEN_RULES:
        response = exporter_api.post("/products", json=body(**change))
        assert response.status_code == 422, change
        problem = response.get_json()
        assert problem["field"] == field and message in problem["detail"], (change, problem)


def test_create_product_with_a_taken_sku_is_422_on_sku(app, exporter_api, api_as):
    created(exporter_api)
    response = exporter_api.post("/products", json=body(title_zh="另一个"))
    assert response.status_code == 422
    assert response.get_json()["field"] == "sku"
    assert "already has a product with SKU RC-3018" in response.get_json()["detail"]
    assert api_as().post("/products", json=body()).status_code == 201  # another company's catalog


def test_create_product_messages_are_chinese_by_default(app, exporter_api):
    created(exporter_api)
    response = exporter_api.post("/products", json=body(), headers={"Accept-Language": None})
    assert response.status_code == 422 and "RC-3018" in response.get_json()["detail"]
    assert "已有" in response.get_json()["detail"] or "货号" in response.get_json()["detail"]


def test_create_product_replayed_idempotency_key_gives_the_first_answer(app, exporter_api):
    key = uuid.uuid4().hex
    first = exporter_api.post("/products", json=body(), headers={"Idempotency-Key": key})
    second = exporter_api.post("/products", json=body(), headers={"Idempotency-Key": key})
    assert first.status_code == second.status_code == 201
    assert second.get_json()["id"] == first.get_json()["id"]
    assert second.headers["Idempotent-Replayed"] == "true"
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Product)) == 1


def test_create_product_published_at_once(app, exporter_api):
    product = created(exporter_api, publish=True)
    assert product["status"] == "published" and product["published_at"]


def test_buyer_cannot_create_products(app, buyer_api):
    response = buyer_api.post("/products", json=body())
    assert response.status_code == 403
    assert response.get_json()["detail"] == "Only exporters have a product catalog."
    response = buyer_api.post("/products/bulk", json={"items": [body()]})
    assert response.status_code == 403
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Product)) == 0


def test_token_without_catalog_write_cannot_write(app, api_as):
    reader = api_as(scopes=("read",))
    response = reader.post("/products", json=body())
    assert response.status_code == 403 and "catalog:write" in response.get_json()["detail"]
    with app.app_context():
        product_id = make_product(db.session.get(Company, reader.company_id)).id
    for method, path in (("PATCH", f"/products/{product_id}"), ("POST", f"/products/{product_id}/archive"),
                         ("POST", f"/products/{product_id}/publish"), ("POST", "/products/bulk"),
                         ("POST", f"/products/{product_id}/images"), ("DELETE", f"/products/{product_id}/images/1")):
        assert reader.call(method, path, json={}).status_code == 403, (method, path)
    assert reader.get(f"/products/{product_id}").status_code == 200


# ----------------------------------------------------------------------------- read


def test_get_product_follows_the_visibility_rule(app, exporter_api, buyer_api, api_as):
    draft = created(exporter_api)
    public = created(exporter_api, sku="PUB-1", publish=True)
    assert buyer_api.get(f"/products/{draft['id']}").status_code == 404
    assert api_as().get(f"/products/{draft['id']}").status_code == 404
    seen = buyer_api.get(f"/products/{public['id']}")
    assert seen.status_code == 200 and seen.get_json()["sku"] == "PUB-1"
    assert exporter_api.get("/products/2147483647").status_code == 404
    unverified = api_as(verified=False)
    hidden = created(unverified, publish=True)
    assert buyer_api.get(f"/products/{hidden['id']}").status_code == 404
    assert unverified.get(f"/products/{hidden['id']}").status_code == 200


def test_my_products_lists_every_status_in_keyset_pages(app, exporter_api, api_as):
    first = created(exporter_api, sku="A-1")
    second = created(exporter_api, sku="A-2", publish=True)
    third = created(exporter_api, sku="A-3")
    exporter_api.post(f"/products/{third['id']}/archive")
    created(api_as(), sku="THEIRS")
    page = exporter_api.get("/products/mine", query_string={"limit": 2})
    assert page.status_code == 200
    data = page.get_json()
    assert [p["sku"] for p in data["items"]] == ["A-3", "A-2"] and data["next_cursor"]
    rest = exporter_api.get("/products/mine", query_string={"limit": 2, "cursor": data["next_cursor"]}).get_json()
    assert [p["sku"] for p in rest["items"]] == ["A-1"] and rest["next_cursor"] is None
    assert rest["items"][0] == exporter_api.get(f"/products/{first['id']}").get_json()
    archived = exporter_api.get("/products/mine", query_string={"status": "archived"}).get_json()
    assert [p["id"] for p in archived["items"]] == [third["id"]]
    by_sku = exporter_api.get("/products/mine", query_string={"sku": "A-2"}).get_json()
    assert [p["id"] for p in by_sku["items"]] == [second["id"]]
    bad = exporter_api.get("/products/mine", query_string={"status": "gone"})
    assert bad.status_code == 422 and bad.get_json()["field"] == "status"
    assert exporter_api.get("/products/mine", query_string={"cursor": "nonsense"}).status_code == 422


def test_my_products_of_a_buyer_is_refused(app, buyer_api):
    assert buyer_api.get("/products/mine").status_code == 403


# ----------------------------------------------------------------------------- search


def test_search_finds_published_products_with_facets_and_plain_snippets(app, exporter_api, buyer_api):
    created(exporter_api, sku="S-1", publish=True, description_zh="电饭煲 <b>不粘</b> 内胆，预约定时")
    created(exporter_api, sku="S-2", title_zh="不锈钢保温杯 500ml", title_en="Vacuum flask", category="kitchenware",
            hs_code="9617", description_zh=None, price_tiers=[{"min_quantity": 200, "unit_price_fen": 1500}],
            ccc_status="not_needed", certifications=[], publish=True)
    created(exporter_api, sku="S-3", title_zh="电饭煲 草稿")  # a draft: never found
    response = buyer_api.get("/products", query_string={"q": "电饭煲"})
    assert response.status_code == 200
    found = response.get_json()
    assert found["total"] == 1 and [item["sku"] for item in found["items"]] == ["S-1"], found
    item = found["items"][0]
    assert "<mark>" not in (item["snippet"] or "") and "<b>不粘</b>" in item["snippet"]
    assert item["price_tiers"][0] == {"min_quantity": 200, "unit_price_fen": 8900}
    assert item["company"]["id"] == exporter_api.company_id and item["certifications"] == ["CCC"]
    assert item["flags"] == {"tariff_hit": False, "domestic_ready": False, "verified": False}
    assert {"value": "small_appliances", "label": "Small home appliances", "count": 1} in found["facets"]["category"]
    assert found["next_cursor"] is None

    everything = buyer_api.get("/products", query_string={"category": "kitchenware"}).get_json()
    assert [item["sku"] for item in everything["items"]] == ["S-2"]
    cheap = buyer_api.get("/products", query_string={"price_max_fen": 8000}).get_json()
    assert [item["sku"] for item in cheap["items"]] == ["S-2"]


def test_search_pages_through_results_with_the_cursor(app, exporter_api, buyer_api):
    for number in range(5):
        created(exporter_api, sku=f"P-{number}", publish=True)
    first = buyer_api.get("/products", query_string={"limit": 2, "sort": "newest"}).get_json()
    assert first["total"] == 5 and len(first["items"]) == 2
    seen = [item["sku"] for item in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        page = buyer_api.get("/products", query_string={"limit": 2, "sort": "newest", "cursor": cursor}).get_json()
        seen += [item["sku"] for item in page["items"]]
        cursor = page["next_cursor"]
    assert sorted(seen) == ["P-0", "P-1", "P-2", "P-3", "P-4"]
    # a cursor made with another limit still continues where it stopped
    odd = buyer_api.get("/products", query_string={"limit": 3, "sort": "newest", "cursor": first["next_cursor"]})
    assert [item["sku"] for item in odd.get_json()["items"]] == seen[2:]
    past = buyer_api.get("/products", query_string={"cursor": encode_cursor({"offset": 50})}).get_json()
    assert past["items"] == [] and past["next_cursor"] is None and past["total"] == 5 and past["notices"] == []


def test_search_with_broken_query_syntax_never_fails(app, exporter_api, buyer_api):
    created(exporter_api, publish=True)
    for query in ('"unclosed', "AND OR NOT", "*?((", "-电饭煲", "a" * 1000, "电饭煲 OR", "\\", "NOT", "((a)", "\x00"):
        response = buyer_api.get("/products", query_string={"q": query})
        assert response.status_code == 200, query
        assert isinstance(response.get_json()["notices"], list)
    notices = buyer_api.get("/products", query_string={"q": "*?"}).get_json()["notices"]
    assert any("no words to look for" in notice for notice in notices), notices


def test_search_reports_what_it_could_not_use(app, exporter_api, buyer_api):
    created(exporter_api, publish=True)
    found = buyer_api.get("/products", query_string={"q": "AND", "price_min_fen": 9000, "price_max_fen": 100})
    assert found.status_code == 200
    notices = found.get_json()["notices"]
    assert any("lowest price is above the highest" in notice for notice in notices), notices
    refused = buyer_api.get("/products", query_string={"province": "999999"})
    assert refused.status_code == 422 and refused.get_json()["field"] == "province"
    assert buyer_api.get("/products", query_string={"tariff_hit": "maybe"}).status_code == 422
    assert buyer_api.get("/products", query_string={"colour": "red"}).status_code == 422


# ----------------------------------------------------------------------------- update, publish, archive


def test_patch_changes_only_the_fields_sent(app, exporter_api):
    product = created(exporter_api)
    read = exporter_api.get(f"/products/{product['id']}")
    response = exporter_api.patch(f"/products/{product['id']}", json={"title_en": "Rice cooker", "brand": None,
                                                                     "stock_quantity": 500},
                                  headers={"If-Match": read.headers["ETag"]})
    assert response.status_code == 200
    changed = response.get_json()
    assert changed["title_en"] == "Rice cooker" and changed["stock_quantity"] == 500
    assert changed["price_tiers"] == product["price_tiers"] and changed["hs_code"] == "851660"
    stored = db_product(app, product["id"])
    assert stored.title_en == "Rice cooker" and stored.stock_quantity == 500 and stored.title_zh == product["title_zh"]

    stale = exporter_api.patch(f"/products/{product['id']}", json={"title_en": "Old"},
                               headers={"If-Match": read.headers["ETag"]})
    assert stale.status_code == 412
    assert db_product(app, product["id"]).title_en == "Rice cooker"


def test_patch_checks_the_rules_on_the_whole_product(app, exporter_api):
    product = created(exporter_api)
    response = exporter_api.patch(f"/products/{product['id']}", json={"moq": 300})
    assert response.status_code == 422 and response.get_json()["field"] == "price_tiers[0]"
    response = exporter_api.patch(f"/products/{product['id']}", json={
        "moq": 300, "price_tiers": [{"min_quantity": 300, "unit_price_fen": 8800}]})
    assert response.status_code == 200 and response.get_json()["moq"] == 300
    assert exporter_api.patch(f"/products/{product['id']}", json={"title_zh": None}).status_code == 422
    assert exporter_api.patch(f"/products/{product['id']}", json={"moq": "300"}).get_json()["field"] == "moq"
    other = created(exporter_api, sku="OTHER")
    taken = exporter_api.patch(f"/products/{other['id']}", json={"sku": "RC-3018"})
    assert taken.status_code == 422 and taken.get_json()["field"] == "sku"


def test_another_companys_product_is_404_for_every_write(app, exporter_api, api_as):
    product = created(exporter_api, publish=True)
    other = api_as()
    for method, path in (("PATCH", f"/products/{product['id']}"), ("POST", f"/products/{product['id']}/archive"),
                         ("POST", f"/products/{product['id']}/publish"),
                         ("POST", f"/products/{product['id']}/images"),
                         ("DELETE", f"/products/{product['id']}/images/1")):
        kwargs = {"json": {"title_en": "x"}} if method == "PATCH" else {}
        if path.endswith("/images"):
            kwargs = {"data": {"file": (io.BytesIO(png_bytes()), "a.png")}, "content_type": "multipart/form-data"}
        response = other.call(method, path, **kwargs)
        assert response.status_code == 404, (method, path, response.get_json())
    assert db_product(app, product["id"]).status is ProductStatus.PUBLISHED


def test_publish_then_archive_takes_it_out_of_search(app, exporter_api, buyer_api):
    product = created(exporter_api, title_zh="空气炸锅 5L")
    assert buyer_api.get("/products", query_string={"q": "空气炸锅"}).get_json()["total"] == 0
    published = exporter_api.post(f"/products/{product['id']}/publish")
    assert published.status_code == 200 and published.get_json()["status"] == "published"
    assert [i["id"] for i in buyer_api.get("/products", query_string={"q": "空气炸锅"}).get_json()["items"]] == [
        product["id"]]
    read = exporter_api.get(f"/products/{product['id']}")
    stale = exporter_api.post(f"/products/{product['id']}/archive", headers={"If-Match": '"stale"'})
    assert stale.status_code == 412
    archived = exporter_api.post(f"/products/{product['id']}/archive", headers={"If-Match": read.headers["ETag"]})
    assert archived.status_code == 200 and archived.get_json()["status"] == "archived"
    assert db_product(app, product["id"]).status is ProductStatus.ARCHIVED
    assert buyer_api.get("/products", query_string={"q": "空气炸锅"}).get_json()["items"] == []
    assert buyer_api.get(f"/products/{product['id']}").status_code == 404
    assert exporter_api.get(f"/products/{product['id']}").status_code == 200


# ----------------------------------------------------------------------------- bulk upsert


def bulk_items(count: int, prefix: str = "B", **overrides) -> list[dict]:
    items = []
    for number in range(count):
        item = {"sku": f"{prefix}-{number:04d}", "title_zh": f"不锈钢保温杯 型号{number}", "category": "kitchenware",
                "unit": "件", "moq": 100, "price_tiers": [{"min_quantity": 100, "unit_price_fen": 1500 + number}]}
        item.update(overrides)
        items.append(item)
    return items


def test_bulk_upsert_of_1000_products_creates_then_updates_them_and_search_finds_them(app, exporter_api, buyer_api):
    started = time.perf_counter()
    response = exporter_api.post("/products/bulk", json={"items": bulk_items(1000), "publish": True})
    took = time.perf_counter() - started
    assert response.status_code == 200, response.get_json()
    result = response.get_json()
    assert (result["created"], result["updated"], result["published"], result["invalid"]) == (1000, 0, 1000, 0)
    assert all(item["status"] == "created" and item["id"] for item in result["items"])
    assert [item["index"] for item in result["items"]] == list(range(1000))
    print(f"bulk upsert of 1,000 new products took {took:.2f} s")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Product).where(
            Product.status == ProductStatus.PUBLISHED)) == 1000
    found = buyer_api.get("/products", query_string={"q": "保温杯", "limit": 100}).get_json()
    assert found["total"] == 1000 and len(found["items"]) == 100
    one = buyer_api.get("/products", query_string={"q": "B-0042"}).get_json()
    assert one["items"][0]["sku"] == "B-0042"

    again = bulk_items(1000, title_zh="保温杯 新款")
    again[7]["hs_code"] = "8599"  # no such heading: reported, not written
    started = time.perf_counter()
    response = exporter_api.post("/products/bulk", json={"items": again})
    print(f"bulk upsert of 1,000 known products took {time.perf_counter() - started:.2f} s")
    result = response.get_json()
    assert (result["created"], result["updated"], result["invalid"]) == (0, 999, 1)
    assert result["items"][7] == {"index": 7, "sku": "B-0007", "status": "invalid", "id": None, "errors": [
        {"field": "hs_code", "message": "HS code 8599 does not exist."}]}
    assert result["items"][8]["status"] == "updated"
    with app.app_context():
        titles = dict(db.session.execute(sa.select(Product.sku, Product.title_zh)).tuples().all())
    assert titles["B-0008"] == "保温杯 新款" and titles["B-0007"] == "不锈钢保温杯 型号7"
    assert buyer_api.get("/products", query_string={"q": "新款"}).get_json()["total"] == 999


def test_bulk_upsert_reports_each_bad_item_and_writes_the_others(app, exporter_api):
    existing = created(exporter_api, sku="OLD-1", title_en="Kept", brand="美厨")
    items = [
        {"sku": "OLD-1", "title_zh": "旧产品 新名", "category": "small_appliances", "unit": "台", "moq": 200,
         "price_tiers": [{"min_quantity": 200, "unit_price_fen": 8000}], "brand": None},
        {"sku": "NEW-1", "title_zh": "新产品", "category": "small_appliances", "unit": "台", "moq": 10,
         "price_tiers": [{"min_quantity": 5, "unit_price_fen": 8000}]},
        {"sku": "NEW-2", "title_zh": "新产品二", "category": "small_appliances", "unit": "台", "moq": 10,
         "price_tiers": [{"min_quantity": 10, "unit_price_fen": 8000}]},
        {"sku": "NEW-2", "title_zh": "重复", "category": "small_appliances", "unit": "台", "moq": 10,
         "price_tiers": [{"min_quantity": 10, "unit_price_fen": 8000}]},
    ]
    response = exporter_api.post("/products/bulk", json={"items": items})
    assert response.status_code == 200
    result = response.get_json()
    assert [(i["index"], i["status"]) for i in result["items"]] == [
        (0, "updated"), (1, "invalid"), (2, "created"), (3, "invalid")]
    assert result["items"][0]["id"] == existing["id"]
    assert result["items"][1]["errors"][0]["field"] == "price_tiers[0]"
    assert result["items"][3]["errors"] == [{"field": "sku", "message": "SKU NEW-2 already appears in item 2."}]
    updated = exporter_api.get(f"/products/{existing['id']}").get_json()
    assert updated["title_zh"] == "旧产品 新名" and updated["brand"] is None and updated["title_en"] == "Kept"
    with app.app_context():
        assert sorted(db.session.scalars(sa.select(Product.sku))) == ["NEW-2", "OLD-1"]


def test_bulk_upsert_all_or_nothing_writes_nothing_when_an_item_is_bad(app, exporter_api):
    items = bulk_items(3)
    items[2]["hs_code"] = "8599"
    response = exporter_api.post("/products/bulk", json={"items": items, "all_or_nothing": True})
    assert response.status_code == 422
    assert response.get_json()["field"] == "items[2].hs_code"
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Product)) == 0


def test_bulk_upsert_refuses_a_malformed_body_as_a_whole(app, exporter_api):
    items = bulk_items(3)
    items[1]["moq"] = "100"
    response = exporter_api.post("/products/bulk", json={"items": items})
    assert response.status_code == 422 and response.get_json()["field"] == "items[1].moq"
    assert exporter_api.post("/products/bulk", json={"items": []}).get_json()["field"] == "items"
    too_many = exporter_api.post("/products/bulk", json={"items": bulk_items(1001)})
    assert too_many.status_code == 422 and too_many.get_json()["field"] == "items"
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Product)) == 0


# ----------------------------------------------------------------------------- images


def upload_image(caller, product_id: int, data: bytes, name: str = "photo.png"):
    return caller.post(f"/products/{product_id}/images", data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def test_image_upload_is_checked_stored_and_deletable(app, exporter_api):
    product = created(exporter_api)
    response = upload_image(exporter_api, product["id"], png_bytes())
    assert response.status_code == 201
    image = response.get_json()
    assert image["content_type"] == "image/jpeg" and (image["width"], image["height"]) == (64, 48)
    assert image["url"].endswith(".jpg") and "/media/products/" in image["url"]
    read = exporter_api.get(f"/products/{product['id']}").get_json()
    assert [i["id"] for i in read["images"]] == [image["id"]]
    media = exporter_api.client.get(urlsplit(image["url"]).path)
    assert media.status_code == 200 and media.mimetype == "image/jpeg"

    refused = upload_image(exporter_api, product["id"], b"not an image at all", "photo.jpg")
    assert refused.status_code == 422 and refused.get_json()["field"] == "file"
    assert "not an image we can read" in refused.get_json()["detail"]
    missing = exporter_api.post(f"/products/{product['id']}/images", data={}, content_type="multipart/form-data")
    assert missing.status_code == 422 and missing.get_json()["field"] == "file"

    other = created(exporter_api, sku="OTHER")
    assert exporter_api.delete(f"/products/{other['id']}/images/{image['id']}").status_code == 404
    deleted = exporter_api.delete(f"/products/{product['id']}/images/{image['id']}")
    assert deleted.status_code == 204
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ProductImage)) == 0
    assert exporter_api.delete(f"/products/{product['id']}/images/{image['id']}").status_code == 404


def test_image_upload_beyond_eight_is_refused(app, exporter_api):
    product = created(exporter_api)
    for _ in range(8):
        assert upload_image(exporter_api, product["id"], png_bytes()).status_code == 201
    ninth = upload_image(exporter_api, product["id"], png_bytes())
    assert ninth.status_code == 422 and "at most 8 images" in ninth.get_json()["detail"]



def test_hs_code_format_message_is_localized(app, exporter_api):
    response = exporter_api.post("/products", json=body(hs_code="85.16"))
    assert response.get_json()["detail"].startswith("An HS code is 2, 4, 6, 8 or 10 digits")
    response = exporter_api.post("/products", json=body(hs_code="85.16"), headers={"Accept-Language": "zh-CN"})
    assert response.status_code == 422 and response.get_json()["field"] == "hs_code"
