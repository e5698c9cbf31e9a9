"""The authorization matrix: every operation of the OpenAPI document, called with another company's token
on company A's objects, is refused (404, or 403 where the role decides) and changes nothing; lists never
show A's objects to others. An operation this file does not know fails the test: a new route needs its row.

Company A: an exporter (a published product with an image, a draft product, an import job, a quote, a
notification) and a buyer (an invited-only open request, A's exporter invited; the intent of an award).
Outsiders: an exporter and a buyer of other companies, each with every scope.
"""
from __future__ import annotations

import io
from datetime import date, timedelta

import pytest

from marketplace.accounts.models import CompanyKind
from tests.api.test_catalog_imports import HEADER, csv_bytes
from tests.api.test_products import png_bytes
from tests.api.test_requests import post_quote, post_request

REFUSED = {403, 404}


@pytest.fixture
def world(app, api_as):
    """A's objects (ids) and the callers."""
    exporter = api_as(CompanyKind.EXPORTER)
    buyer = api_as(CompanyKind.CHAIN_LEADER)
    outsiders = {"exporter": api_as(CompanyKind.EXPORTER), "buyer": api_as(CompanyKind.RETAILER)}
    body = {"sku": "MATRIX-1", "title_zh": "不锈钢保温杯 矩阵", "category": "small_appliances", "unit": "个",
            "moq": 100, "price_tiers": [{"min_quantity": 100, "unit_price_fen": 2500}]}
    product = exporter.post("/products", json={**body, "publish": True}).get_json()["id"]
    draft = exporter.post("/products", json={**body, "sku": "MATRIX-2"}).get_json()["id"]
    image = exporter.post(f"/products/{product}/images", data={"file": (io.BytesIO(png_bytes()), "a.png")},
                          content_type="multipart/form-data").get_json()["id"]
    job = exporter.post("/catalog/imports", data={"file": (io.BytesIO(csv_bytes([], HEADER)), "p.csv")},
                        content_type="multipart/form-data").get_json()["id"]
    request = post_request(buyer, visibility="invited", invited_company_ids=[exporter.company_id])["id"]
    quote = post_quote(exporter, request)["id"]
    awarded = buyer.post(f"/requests/{request}/award", json={"quote_id": quote}).get_json()
    notification = exporter.get("/notifications").get_json()["items"][0]["id"]
    ids = {"company_id": exporter.company_id, "product_id": product, "draft_id": draft, "image_id": image,
           "job_id": job, "request_id": request, "quote_id": quote, "intent_id": awarded["intent_id"],
           "notification_id": notification}
    return {"ids": ids, "exporter": exporter, "buyer": buyer, "outsiders": outsiders}


#: what a call sends, by operation: a valid body, so that the refusal is about whose object it is
BODIES = {
    "PATCH /api/v1/products/{product_id}": {"json": {"title_zh": "改名"}},
    "POST /api/v1/products/{product_id}/images": {"data": lambda: {"file": (io.BytesIO(png_bytes()), "b.png")},
                                                  "content_type": "multipart/form-data"},
    "POST /api/v1/catalog/imports/{job_id}/commit": {"json": {}},
    "PATCH /api/v1/requests/{request_id}": {"json": {"title": "改名的采购需求"}},
    "POST /api/v1/requests/{request_id}/publish": {"json": {}},
    "POST /api/v1/requests/{request_id}/close": {"json": {"note": "x"}},
    "POST /api/v1/requests/{request_id}/award": {"json": {"quote_id": "{quote_id}"}},
    "PATCH /api/v1/quotes/{quote_id}": {"json": {"unit_price_fen": 2300}},
    "POST /api/v1/quotes/{quote_id}/withdraw": {"json": {}},
    "POST /api/v1/quotes/{quote_id}/shortlist": {"json": {}},
    "POST /api/v1/quotes/{quote_id}/decline": {"json": {"note": "x"}},
    "POST /api/v1/intents/{intent_id}/transitions": {"json": {"action": "withdraw", "version": 1, "note": "x"}},
    "POST /api/v1/intents/{intent_id}/messages": {"json": {"body": "你好"}},
}
#: GETs of objects anyone may read by design (a public profile; the draft stands in for the product)
PUBLIC = {"GET /api/v1/companies/{company_id}"}
#: operations on no object of A: lists and creations, checked below for what they show or accept
WITHOUT_OBJECT = {
    "GET /api/v1/companies/me", "GET /api/v1/products", "POST /api/v1/products", "GET /api/v1/products/mine",
    "POST /api/v1/products/bulk", "POST /api/v1/catalog/imports", "GET /api/v1/requests",
    "POST /api/v1/requests", "GET /api/v1/quotes", "POST /api/v1/quotes", "GET /api/v1/intents",
    "POST /api/v1/intents", "GET /api/v1/notifications", "GET /api/v1/notifications/unread-count",
    "POST /api/v1/notifications/read-all",
}


def _operations(client) -> list[str]:
    document = client.get("/api/v1/openapi.json").get_json()
    return [f"{method.upper()} {path}" for path, operations in document["paths"].items()
            for method in operations if method in ("get", "post", "patch", "put", "delete")]


def _fill(template: str, ids: dict, operation: str) -> str:
    if operation == "GET /api/v1/products/{product_id}":
        return template.replace("{product_id}", str(ids["draft_id"]))
    for name, value in ids.items():
        template = template.replace("{" + name + "}", str(value))
    assert "{" not in template, f"{operation}: a path parameter this matrix has no object for"
    return template


def _call(caller, operation: str, ids: dict):
    method, path = operation.split(" ", 1)
    spec = BODIES.get(operation, {})
    kwargs = {}
    if "json" in spec:
        kwargs["json"] = {key: (ids["quote_id"] if value == "{quote_id}" else value)
                          for key, value in spec["json"].items()}
    if "data" in spec:
        kwargs["data"], kwargs["content_type"] = spec["data"](), spec["content_type"]
    return caller.call(method, _fill(path, ids, operation), **kwargs)


def test_matrix_every_operation_refuses_other_companies(app, world):
    ids, owner = world["ids"], world["exporter"]
    operations = _operations(owner.client)
    assert len(operations) >= 40
    unknown = [op for op in operations if op not in WITHOUT_OBJECT and "{" not in op]
    assert not unknown, f"operations without a row in the matrix: {unknown}"
    checked = 0
    for operation in operations:
        if operation in WITHOUT_OBJECT:
            continue
        for kind, outsider in world["outsiders"].items():
            answer = _call(outsider, operation, ids)
            if operation in PUBLIC:
                assert answer.status_code == 200 and answer.get_json()["contact"] is None, operation
                continue
            assert answer.status_code in REFUSED, (operation, kind, answer.status_code, answer.get_json())
            assert answer.content_type == "application/problem+json"
            checked += 1
    assert checked >= 2 * (len(operations) - len(WITHOUT_OBJECT) - len(PUBLIC))
    # nothing changed: A still sees its objects as they were
    assert owner.get(f"/products/{ids['product_id']}").get_json()["title_zh"] == "不锈钢保温杯 矩阵"
    assert len(owner.get(f"/products/{ids['product_id']}").get_json()["images"]) == 1
    assert owner.get(f"/quotes/{ids['quote_id']}").get_json()["unit_price_fen"] == 2400
    assert world["buyer"].get(f"/requests/{ids['request_id']}").get_json()["title"] == "采购不锈钢保温杯"
    intent = world["buyer"].get(f"/intents/{ids['intent_id']}").get_json()
    assert intent["state"] == "submitted" and intent["version"] == 1
    assert owner.get(f"/intents/{ids['intent_id']}/messages").get_json()["items"] == []
    assert owner.get("/notifications?unread=true").get_json()["items"]  # still unread


def test_matrix_lists_never_show_another_companys_objects(world):
    ids = world["ids"]
    for kind, outsider in world["outsiders"].items():
        seen = " ".join(str(outsider.get(path).get_json()) for path in (
            "/products/mine", "/quotes", "/intents", "/notifications", "/requests?scope=mine"))
        for name in ("draft_id", "quote_id", "intent_id", "notification_id", "request_id"):
            assert f"'id': {ids[name]}," not in seen or name == "draft_id" and kind == "buyer", (kind, name)
        if kind == "exporter":  # an invited-only request is not on another exporter's open board
            board = outsider.get("/requests?scope=open").get_json()["items"]
            assert ids["request_id"] not in [item["id"] for item in board]
        found = outsider.get("/products?q=矩阵").get_json()["items"]
        assert ids["draft_id"] not in [item["id"] for item in found]


def test_matrix_creations_cannot_reach_another_companys_objects(world):
    ids = world["ids"]
    exporter, buyer = world["outsiders"]["exporter"], world["outsiders"]["buyer"]
    quote = exporter.post("/quotes", json={"request_id": ids["request_id"], "unit_price_fen": 2000,
                                           "quantity": 10, "moq": 10, "lead_time_days": 5,
                                           "valid_until": (date.today() + timedelta(days=30)).isoformat()})
    assert quote.status_code == 404, quote.get_json()
    intent = buyer.post("/intents", json={"product_id": ids["draft_id"], "quantity": 100})
    assert intent.status_code == 404
