"""/api/v1/quotes: quote, list, read, revise, withdraw; the buyer's shortlist and decline."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from marketplace.accounts.models import CompanyKind, User
from marketplace.extensions import db
from marketplace.sourcing.models import Quote, QuoteRevision
from marketplace.sourcing.states import QuoteState
from tests.api.test_requests import post_quote, post_request, quote_body
from tests.factories import make_product


@pytest.fixture
def open_request(buyer_api) -> dict:
    """A published public request of the buyer."""
    return post_request(buyer_api)


def outsider_company(caller):
    """The company of an ``ApiCaller`` (in an app context)."""
    return db.session.get(User, caller.user_id).company


# ----------------------------------------------------------------------------- POST /quotes


def test_quotes_create_reaches_the_buyer(app, buyer_api, exporter_api, open_request):
    response = exporter_api.post("/quotes", json=quote_body(open_request["id"], note="含税价"))
    assert response.status_code == 201
    body = response.get_json()
    assert body["state"] == "submitted" and body["party"] == "exporter" and body["unit_price_fen"] == 2400
    assert body["actions"] == ["revise", "withdraw"] and body["note"] == "含税价" and body["intent_id"] is None
    assert [r["action"] for r in body["revisions"]] == ["submit"]
    assert response.headers["Location"] == f"/api/v1/quotes/{body['id']}"
    with app.app_context():
        stored = db.session.get(Quote, body["id"])
        assert stored.exporter_company_id == exporter_api.company_id and stored.request_id == open_request["id"]
    seen = buyer_api.get(f"/quotes/{body['id']}").get_json()
    assert seen["party"] == "buyer" and seen["actions"] == ["award", "shortlist", "decline"]
    request_seen = exporter_api.get(f"/requests/{open_request['id']}").get_json()
    assert request_seen["own_quote"] == {"id": body["id"], "state": "submitted"} and request_seen["can_quote"] is False


def test_quotes_create_replay_returns_the_same_quote(app, exporter_api, open_request):
    headers = {"Idempotency-Key": "quote-1"}
    first = exporter_api.post("/quotes", json=quote_body(open_request["id"]), headers=headers)
    second = exporter_api.post("/quotes", json=quote_body(open_request["id"]), headers=headers)
    assert second.headers["Idempotent-Replayed"] == "true"
    assert first.get_json()["id"] == second.get_json()["id"]
    other_body = exporter_api.post("/quotes", json=quote_body(open_request["id"], moq=7), headers=headers)
    assert other_body.status_code == 422 and other_body.get_json()["field"] == "Idempotency-Key"
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Quote)) == 1


@pytest.mark.parametrize(("change", "field"), [
    ({"unit_price_fen": True}, "unit_price_fen"),
    ({"unit_price_fen": "24.00"}, "unit_price_fen"),
    ({"moq": 1.5}, "moq"),
    ({"lead_time_days": -1}, "lead_time_days"),
    ({"valid_until": "soon"}, "valid_until"),
    ({"request_id": None}, "request_id"),
    ({"currency": "CNY"}, "currency"),
])
def test_quotes_create_refuses_bad_shapes(app, exporter_api, open_request, change, field):
    response = exporter_api.post("/quotes", json={**quote_body(open_request["id"]), **change})
    assert response.status_code == 422 and response.get_json()["field"] == field


def test_quotes_create_follows_the_sourcing_rules(app, api_as, buyer_api, exporter_api, open_request):
    assert buyer_api.post("/quotes", json=quote_body(open_request["id"])).status_code == 403
    draft = post_request(buyer_api, publish=False)
    assert exporter_api.post("/quotes", json=quote_body(draft["id"])).status_code == 404
    invited_only = post_request(buyer_api, visibility="invited", invited_company_ids=[exporter_api.company_id])
    outsider = api_as(CompanyKind.EXPORTER)
    assert outsider.post("/quotes", json=quote_body(invited_only["id"])).status_code == 404
    assert exporter_api.post("/quotes", json=quote_body(invited_only["id"])).status_code == 201
    post_quote(exporter_api, open_request["id"])
    twice = exporter_api.post("/quotes", json=quote_body(open_request["id"]))
    assert twice.status_code == 422 and "already quoted" in twice.get_json()["detail"]
    with app.app_context():
        rival = make_product(company=outsider_company(outsider))
        rival_id = rival.id
    foreign = exporter_api.post("/quotes", json=quote_body(invited_only["id"], product_id=rival_id))
    assert foreign.status_code == 422
    assert exporter_api.post("/quotes", json=quote_body(999999)).status_code == 404


def test_quotes_create_needs_the_sourcing_scope(app, api_as, open_request):
    reader = api_as(CompanyKind.EXPORTER, scopes=("read",))
    assert reader.post("/quotes", json=quote_body(open_request["id"])).status_code == 403


# ----------------------------------------------------------------------------- reading


def test_quotes_read_is_for_the_two_companies_only(app, api_as, buyer_api, exporter_api, open_request):
    quote = post_quote(exporter_api, open_request["id"])
    assert api_as(CompanyKind.EXPORTER).get(f"/quotes/{quote['id']}").status_code == 404
    assert api_as(CompanyKind.RETAILER).get(f"/quotes/{quote['id']}").status_code == 404
    assert exporter_api.get("/quotes/999999").status_code == 404
    first = exporter_api.get(f"/quotes/{quote['id']}")
    assert first.status_code == 200 and first.get_json() == quote
    assert exporter_api.get(f"/quotes/{quote['id']}", headers={"If-None-Match": first.headers["ETag"]}).status_code == 304


def test_quotes_list_holds_the_exporters_own(app, api_as, buyer_api, exporter_api, open_request):
    second_request = post_request(buyer_api, title="采购电水壶")
    first = post_quote(exporter_api, open_request["id"])
    second = post_quote(exporter_api, second_request["id"])
    rival = api_as(CompanyKind.EXPORTER)
    post_quote(rival, open_request["id"])
    page = exporter_api.get("/quotes?limit=1").get_json()
    assert [q["id"] for q in page["items"]] == [second["id"]] and page["next_cursor"]
    rest = exporter_api.get(f"/quotes?cursor={page['next_cursor']}").get_json()
    assert [q["id"] for q in rest["items"]] == [first["id"]] and rest["next_cursor"] is None
    by_request = exporter_api.get(f"/quotes?request_id={open_request['id']}").get_json()["items"]
    assert [q["id"] for q in by_request] == [first["id"]]
    assert exporter_api.get("/quotes?state=withdrawn").get_json()["items"] == []
    assert exporter_api.get("/quotes?state=lost").status_code == 422
    assert buyer_api.get("/quotes").status_code == 403


# ----------------------------------------------------------------------------- PATCH and steps


def test_quotes_revise_keeps_the_old_terms_in_revisions(app, buyer_api, exporter_api, open_request):
    quote = post_quote(exporter_api, open_request["id"])
    response = exporter_api.patch(f"/quotes/{quote['id']}", json={"unit_price_fen": 2300})
    assert response.status_code == 200
    body = response.get_json()
    assert body["unit_price_fen"] == 2300 and body["moq"] == 500 and body["version"] > quote["version"]
    assert [r["terms"]["unit_price_fen"] for r in body["revisions"]] == [2400, 2300]
    with app.app_context():
        assert db.session.get(Quote, quote["id"]).unit_price_fen == 2300
        assert db.session.scalar(sa.select(sa.func.count()).select_from(QuoteRevision)) == 2
    same = exporter_api.patch(f"/quotes/{quote['id']}", json={"unit_price_fen": 2300})
    assert same.status_code == 422 and same.get_json()["field"] == "unit_price_fen"
    assert exporter_api.patch(f"/quotes/{quote['id']}", json={"moq": "5"}).get_json()["field"] == "moq"
    assert exporter_api.patch(f"/quotes/{quote['id']}", json={"moq": None}).status_code == 422


def test_quotes_revise_refuses_stale_versions_and_others(app, api_as, buyer_api, exporter_api, open_request):
    quote = post_quote(exporter_api, open_request["id"])
    etag = exporter_api.get(f"/quotes/{quote['id']}").headers["ETag"]
    assert exporter_api.patch(f"/quotes/{quote['id']}", json={"moq": 400}, headers={"If-Match": etag}).status_code == 200
    assert exporter_api.patch(f"/quotes/{quote['id']}", json={"moq": 300}, headers={"If-Match": etag}).status_code == 412
    assert exporter_api.patch(f"/quotes/{quote['id']}", json={"moq": 300, "version": 1}).status_code == 409
    assert api_as(CompanyKind.EXPORTER).patch(f"/quotes/{quote['id']}", json={"moq": 300}).status_code == 404
    assert buyer_api.patch(f"/quotes/{quote['id']}", json={"moq": 300}).status_code == 403
    reader = api_as(CompanyKind.EXPORTER, scopes=("read",), company=None)
    assert reader.patch(f"/quotes/{quote['id']}", json={"moq": 300}).status_code == 403


def test_quotes_withdraw_then_quote_again(app, api_as, buyer_api, exporter_api, open_request):
    quote = post_quote(exporter_api, open_request["id"])
    assert buyer_api.post(f"/quotes/{quote['id']}/withdraw", json={}).status_code == 403
    assert api_as(CompanyKind.EXPORTER).post(f"/quotes/{quote['id']}/withdraw", json={}).status_code == 404
    response = exporter_api.post(f"/quotes/{quote['id']}/withdraw", json={"version": quote["version"]})
    assert response.status_code == 200 and response.get_json()["state"] == "withdrawn"
    with app.app_context():
        assert db.session.get(Quote, quote["id"]).state is QuoteState.WITHDRAWN
    assert exporter_api.post(f"/quotes/{quote['id']}/withdraw", json={}).status_code == 422
    again = post_quote(exporter_api, open_request["id"], unit_price_fen=2200)
    assert again["id"] == quote["id"] and again["state"] == "submitted"


def test_quotes_buyer_shortlists_and_declines_with_a_reason(app, buyer_api, exporter_api, open_request):
    quote = post_quote(exporter_api, open_request["id"])
    assert exporter_api.post(f"/quotes/{quote['id']}/shortlist", json={}).status_code == 403
    shortlisted = buyer_api.post(f"/quotes/{quote['id']}/shortlist", json={}).get_json()
    assert shortlisted["state"] == "shortlisted"
    no_reason = buyer_api.post(f"/quotes/{quote['id']}/decline", json={})
    assert no_reason.status_code == 422 and no_reason.get_json()["field"] == "note"
    declined = buyer_api.post(f"/quotes/{quote['id']}/decline", json={"note": "价格偏高"}).get_json()
    assert declined["state"] == "declined" and declined["decline_reason"] == "价格偏高"
    assert exporter_api.get(f"/quotes/{quote['id']}").get_json()["decline_reason"] == "价格偏高"


def test_quotes_decline_reason_with_control_characters_is_cleaned(app, buyer_api, exporter_api, open_request):
    quote = post_quote(exporter_api, open_request["id"])
    declined = buyer_api.post(f"/quotes/{quote['id']}/decline", json={"note": "价格\u0000偏高\u202e"})
    assert declined.status_code == 200 and declined.get_json()["decline_reason"] == "价格偏高"
