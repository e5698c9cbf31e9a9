"""/api/v1/requests: post, read, list, edit, publish, close, award, and the buyer's comparison of quotes."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from marketplace.accounts.models import CompanyKind, User
from marketplace.deals import services as deals
from marketplace.extensions import db
from marketplace.sourcing.models import ProcurementRequest, RequestEvent
from marketplace.sourcing.services import today_in_china
from tests.factories import make_product


def request_body(**overrides) -> dict:
    """A valid request body: stainless vacuum cups delivered to Ningbo."""
    body = {"title": "采购不锈钢保温杯", "category": "small_appliances", "quantity": 2000, "unit": "个",
            "delivery_province_code": "330000", "delivery_city_code": "330200",
            "deadline": (today_in_china() + timedelta(days=20)).isoformat(), "description": "需食品级，送货到宁波",
            "target_unit_price_fen": 2500}
    body.update(overrides)
    return body


def quote_body(request_id: int, **overrides) -> dict:
    """A valid quote body on ``request_id``."""
    body = {"request_id": request_id, "unit_price_fen": 2400, "quantity": 3000, "moq": 500, "lead_time_days": 15,
            "valid_until": (today_in_china() + timedelta(days=30)).isoformat()}
    body.update(overrides)
    return body


def post_request(buyer, publish: bool = True, **overrides) -> dict:
    """Post a request through the API; its body."""
    response = buyer.post("/requests", json={**request_body(**overrides), "publish": publish})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def post_quote(exporter, request_id: int, **overrides) -> dict:
    """Quote through the API; its body."""
    response = exporter.post("/quotes", json=quote_body(request_id, **overrides))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


# ----------------------------------------------------------------------------- POST /requests


def test_requests_create_saves_a_draft_the_buyer_reads(app, buyer_api):
    response = buyer_api.post("/requests", json=request_body(required_certifications=["CCC"]))
    assert response.status_code == 201
    body = response.get_json()
    assert body["state"] == "draft" and body["party"] == "buyer" and body["version"] == 1
    assert body["target_unit_price_fen"] == 2500 and body["must_requirements"] == ["certifications"]
    assert body["actions"] == ["publish", "edit", "close"] and body["quote_counts"] == {"live": 0, "total": 0}
    assert [e["action"] for e in body["events"]] == ["create"]
    assert response.headers["Location"] == f"/api/v1/requests/{body['id']}"
    with app.app_context():
        stored = db.session.get(ProcurementRequest, body["id"])
        assert stored.buyer_company_id == buyer_api.company_id and stored.required_certifications == ["CCC"]
    again = buyer_api.get(response.headers["Location"])
    assert again.status_code == 200 and again.get_json() == body


def test_requests_create_and_publish_at_once(app, buyer_api):
    body = post_request(buyer_api, publish=True, must_requirements=[], visibility="public")
    assert body["state"] == "open" and body["published_at"] and body["must_requirements"] == []
    assert [e["action"] for e in body["events"]] == ["create", "publish"]


def test_requests_create_replay_returns_the_first_answer(app, buyer_api):
    headers = {"Idempotency-Key": "req-key-1"}
    first = buyer_api.post("/requests", json=request_body(), headers=headers)
    second = buyer_api.post("/requests", json=request_body(), headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.get_json()["id"] == first.get_json()["id"]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ProcurementRequest)) == 1


@pytest.mark.parametrize(("change", "field"), [
    ({"quantity": True}, "quantity"),
    ({"quantity": "2000"}, "quantity"),
    ({"target_unit_price_fen": 25.5}, "target_unit_price_fen"),
    ({"quantity": 0}, "quantity"),
    ({"unit": "bags"}, "unit"),
    ({"deadline": "next week"}, "deadline"),
    ({"required_certifications": ["NOPE"]}, "required_certifications[0]"),
    ({"publish": "yes"}, "publish"),
    ({"colour": "red"}, "colour"),
])
def test_requests_create_refuses_bad_shapes(app, buyer_api, change, field):
    response = buyer_api.post("/requests", json=request_body(**change))
    assert response.status_code == 422
    assert response.get_json()["field"] == field
    assert response.headers["Content-Type"].startswith("application/problem+json")


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"deadline": (today_in_china() - timedelta(days=1)).isoformat()}, "deadline", "already passed"),
    ({"delivery_city_code": "440300"}, "delivery_city_code", "not in the province"),
    ({"visibility": "invited"}, "invited_company_ids", "Invite at least one"),
    ({"hs_code": "99"}, "hs_code", "does not exist"),
])
def test_requests_create_service_rules_name_the_api_field(app, buyer_api, change, field, words):
    response = buyer_api.post("/requests", json=request_body(**change))
    assert response.status_code == 422
    problem = response.get_json()
    assert problem["field"] == field and words in problem["detail"]


def test_requests_create_speaks_chinese_by_default(app, buyer_api):
    past = (today_in_china() - timedelta(days=1)).isoformat()
    response = buyer_api.post("/requests", json=request_body(deadline=past), headers={"Accept-Language": None})
    assert response.status_code == 422 and "截止" in response.get_json()["detail"]


def test_requests_create_is_for_verified_buyers_only(app, api_as, exporter_api):
    assert exporter_api.post("/requests", json=request_body()).status_code == 403
    pending = api_as(CompanyKind.RETAILER, verified=False)
    assert pending.post("/requests", json=request_body()).status_code == 403
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ProcurementRequest)) == 0


def test_requests_writes_need_the_sourcing_scope(app, api_as, buyer_api):
    reader = api_as(CompanyKind.CHAIN_LEADER, scopes=("read",))
    assert reader.post("/requests", json=request_body()).status_code == 403
    mine = post_request(api_as(CompanyKind.CHAIN_LEADER, scopes=("read", "sourcing:write")), publish=False)
    assert mine["state"] == "draft"
    own_reader = api_as(CompanyKind.CHAIN_LEADER, scopes=("read",))
    drafted = post_request(buyer_api, publish=False)
    assert own_reader.patch(f"/requests/{drafted['id']}", json={"title": "x"}).status_code == 403


# ----------------------------------------------------------------------------- GET /requests/{id}


def test_requests_read_is_404_for_others_and_drafts(app, api_as, buyer_api, exporter_api):
    draft = post_request(buyer_api, publish=False)
    other_buyer = api_as(CompanyKind.RETAILER)
    assert other_buyer.get(f"/requests/{draft['id']}").status_code == 404
    assert exporter_api.get(f"/requests/{draft['id']}").status_code == 404
    assert buyer_api.get("/requests/999999").status_code == 404
    published = buyer_api.post(f"/requests/{draft['id']}/publish", json={}).get_json()
    seen = exporter_api.get(f"/requests/{draft['id']}").get_json()
    assert seen["party"] == "exporter" and seen["can_quote"] is True and seen["own_quote"] is None
    assert seen["invited_company_ids"] is None and seen["quote_counts"] is None and seen["events"] == []
    assert published["state"] == "open"
    assert other_buyer.get(f"/requests/{draft['id']}").status_code == 404


def test_requests_read_answers_if_none_match_with_304(app, buyer_api):
    created = post_request(buyer_api)
    first = buyer_api.get(f"/requests/{created['id']}")
    assert first.headers["ETag"]
    again = buyer_api.get(f"/requests/{created['id']}", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


# ----------------------------------------------------------------------------- GET /requests


def test_requests_list_mine_filters_and_pages(app, api_as, buyer_api):
    first = post_request(buyer_api, publish=False, title="采购电饭煲")
    second = post_request(buyer_api, title="采购保温杯")
    post_request(api_as(CompanyKind.RETAILER), title="别人的需求")
    page = buyer_api.get("/requests?limit=1").get_json()
    assert [r["id"] for r in page["items"]] == [second["id"]] and page["next_cursor"]
    assert page["items"][0]["quote_counts"] == {"live": 0, "total": 0}
    rest = buyer_api.get(f"/requests?limit=1&cursor={page['next_cursor']}").get_json()
    assert [r["id"] for r in rest["items"]] == [first["id"]] and rest["next_cursor"] is None
    assert [r["id"] for r in buyer_api.get("/requests?state=draft").get_json()["items"]] == [first["id"]]
    assert [r["id"] for r in buyer_api.get("/requests?q=保温杯").get_json()["items"]] == [second["id"]]
    assert buyer_api.get("/requests?state=sold").status_code == 422
    assert buyer_api.get("/requests?cursor=bogus").get_json()["field"] == "cursor"


def test_requests_list_open_shows_what_an_exporter_may_see(app, api_as, buyer_api, exporter_api):
    public = post_request(buyer_api, title="公开需求")
    post_request(buyer_api, publish=False, title="草稿")
    outsider = api_as(CompanyKind.EXPORTER)
    invited_only = post_request(buyer_api, title="邀请需求", visibility="invited",
                                invited_company_ids=[exporter_api.company_id])
    seen = exporter_api.get("/requests").get_json()["items"]
    assert [r["id"] for r in seen] == [invited_only["id"], public["id"]]
    assert all(r["party"] == "exporter" and r["can_quote"] for r in seen)
    assert [r["id"] for r in outsider.get("/requests?scope=open").get_json()["items"]] == [public["id"]]
    assert outsider.get(f"/requests/{invited_only['id']}").status_code == 404
    assert exporter_api.get("/requests?scope=mine").status_code == 403
    assert buyer_api.get("/requests?scope=open").status_code == 403


# ----------------------------------------------------------------------------- PATCH and steps


def test_requests_patch_changes_only_what_is_sent(app, buyer_api):
    created = post_request(buyer_api, publish=False, required_certifications=["CCC"])
    response = buyer_api.patch(f"/requests/{created['id']}", json={"title": "采购真空保温杯", "budget_fen": 6_000_000})
    assert response.status_code == 200
    body = response.get_json()
    assert body["title"] == "采购真空保温杯" and body["budget_fen"] == 6_000_000
    assert body["version"] > created["version"] and body["events"][-1]["version"] == body["version"]
    assert body["required_certifications"] == ["CCC"] and body["quantity"] == 2000
    with app.app_context():
        stored = db.session.get(ProcurementRequest, created["id"])
        assert stored.title == "采购真空保温杯" and stored.target_unit_price_fen == 2500
    cleared = buyer_api.patch(f"/requests/{created['id']}", json={"budget_fen": None}).get_json()
    assert cleared["budget_fen"] is None and cleared["version"] > body["version"]


def test_requests_patch_refuses_stale_versions(app, buyer_api):
    created = post_request(buyer_api, publish=False)
    etag = buyer_api.get(f"/requests/{created['id']}").headers["ETag"]
    assert buyer_api.patch(f"/requests/{created['id']}", json={"title": "一"}).status_code == 200
    stale = buyer_api.patch(f"/requests/{created['id']}", json={"title": "二"}, headers={"If-Match": etag})
    assert stale.status_code == 412
    conflict = buyer_api.patch(f"/requests/{created['id']}", json={"title": "二", "version": 1})
    assert conflict.status_code == 409
    fresh = buyer_api.get(f"/requests/{created['id']}")
    ok = buyer_api.patch(f"/requests/{created['id']}", json={"title": "三"}, headers={"If-Match": fresh.headers["ETag"]})
    assert ok.status_code == 200 and ok.get_json()["title"] == "三"


def test_requests_patch_and_steps_are_404_for_other_companies(app, api_as, buyer_api, exporter_api):
    created = post_request(buyer_api)
    other = api_as(CompanyKind.RETAILER)
    for caller in (other, exporter_api):
        assert caller.patch(f"/requests/{created['id']}", json={"title": "x"}).status_code == 404
        assert caller.post(f"/requests/{created['id']}/close", json={}).status_code == 404
        assert caller.post(f"/requests/{created['id']}/publish", json={}).status_code == 404
        assert caller.post(f"/requests/{created['id']}/award", json={"quote_id": 1}).status_code == 404
        assert caller.get(f"/requests/{created['id']}/quotes").status_code == 404
    assert buyer_api.patch(f"/requests/{created['id']}", json={"quantity": False}).get_json()["field"] == "quantity"


def test_requests_publish_then_close_with_a_reason(app, buyer_api):
    created = post_request(buyer_api, publish=False)
    published = buyer_api.post(f"/requests/{created['id']}/publish", json={"version": 1})
    assert published.status_code == 200 and published.get_json()["state"] == "open"
    again = buyer_api.post(f"/requests/{created['id']}/publish", json={})
    assert again.status_code == 422
    stale = buyer_api.post(f"/requests/{created['id']}/close", json={"version": 1})
    assert stale.status_code == 409
    closed = buyer_api.post(f"/requests/{created['id']}/close", json={"note": "预算取消"}).get_json()
    assert closed["state"] == "closed" and closed["actions"] == []
    assert closed["events"][-1] == {**closed["events"][-1], "action": "close", "note": "预算取消"}
    with app.app_context():
        notes = db.session.scalars(sa.select(RequestEvent.note).where(RequestEvent.request_id == created["id"]))
        assert "预算取消" in list(notes)


# ----------------------------------------------------------------------------- quotes and award


def test_requests_compare_lists_the_quotes_buyer_only(app, api_as, buyer_api, exporter_api):
    created = post_request(buyer_api, target_unit_price_fen=2000)
    cheap = post_quote(api_as(CompanyKind.EXPORTER), created["id"], unit_price_fen=1900)
    dear = post_quote(exporter_api, created["id"], unit_price_fen=2400, quantity=1000)
    page = buyer_api.get(f"/requests/{created['id']}/quotes").get_json()
    assert [row["quote"]["id"] for row in page["items"]] == [cheap["id"], dear["id"]]
    row = page["items"][1]
    assert row["award_quantity"] == 1000 and row["amount_fen"] == 2_400_000 and row["vs_target_percent"] == "20.0"
    assert row["quote"]["party"] == "buyer" and "award" in row["quote"]["actions"]
    by_lead = buyer_api.get(f"/requests/{created['id']}/quotes?sort=lead_time&limit=1").get_json()
    assert len(by_lead["items"]) == 1 and by_lead["next_cursor"]
    assert buyer_api.get(f"/requests/{created['id']}/quotes?sort=cheapest").status_code == 422
    assert exporter_api.get(f"/requests/{created['id']}/quotes").status_code == 404


def test_requests_award_starts_an_order_intent(app, api_as, buyer_api, exporter_api):
    created = post_request(buyer_api)
    quote = post_quote(exporter_api, created["id"])
    response = buyer_api.post(f"/requests/{created['id']}/award", json={"quote_id": quote["id"], "note": "成交"})
    assert response.status_code == 201
    body = response.get_json()
    assert body["request_state"] == "awarded" and body["quote_state"] == "awarded"
    assert response.headers["Location"] == f"/api/v1/intents/{body['intent_id']}"
    with app.app_context():
        intent = deals.get_intent(db.session.get(User, buyer_api.user_id), body["intent_id"])
        assert intent.quote_id == quote["id"] and intent.quantity == 2000 and intent.unit_price_fen == 2400
    seen = exporter_api.get(f"/quotes/{quote['id']}").get_json()
    assert seen["state"] == "awarded" and seen["intent_id"] == body["intent_id"]


def test_requests_award_refuses_other_requests_quotes_and_stale_versions(app, api_as, buyer_api, exporter_api):
    first = post_request(buyer_api)
    second = post_request(buyer_api, title="采购电水壶")
    quote = post_quote(exporter_api, first["id"])
    assert buyer_api.post(f"/requests/{second['id']}/award", json={"quote_id": quote["id"]}).status_code == 404
    stale = buyer_api.post(f"/requests/{first['id']}/award", json={"quote_id": quote["id"], "version": 7})
    assert stale.status_code == 409
    assert buyer_api.post(f"/requests/{first['id']}/award", json={"quote_id": "1"}).get_json()["field"] == "quote_id"
    other = api_as(CompanyKind.RETAILER)
    assert other.post(f"/requests/{first['id']}/award", json={"quote_id": quote["id"]}).status_code == 404


def test_requests_award_of_a_product_quote_keeps_the_product(app, buyer_api, exporter_api):
    with app.app_context():
        exporter_user = db.session.get(User, exporter_api.user_id)
        product_id = make_product(company=exporter_user.company, actor=exporter_user).id
    created = post_request(buyer_api)
    quote = post_quote(exporter_api, created["id"], product_id=product_id)
    body = buyer_api.post(f"/requests/{created['id']}/award", json={"quote_id": quote["id"]}).get_json()
    with app.app_context():
        intent = deals.get_intent(db.session.get(User, exporter_api.user_id), body["intent_id"])
        assert intent.product_id == product_id


def test_requests_notes_with_control_characters_are_cleaned(app, buyer_api, exporter_api):
    created = post_request(buyer_api)
    quote = post_quote(exporter_api, created["id"], note="含税\u0000价")
    assert quote["note"] == "含税价"
    awarded = buyer_api.post(f"/requests/{created['id']}/award", json={"quote_id": quote["id"], "note": "成\u0000交"})
    assert awarded.status_code == 201
    events = buyer_api.get(f"/requests/{created['id']}").get_json()["events"]
    assert events[-1]["note"] == "成交"
