"""/api/v1/requests/{id}/matches, /requests/{id}/matches/{product_id}, /products/{id}/matches; and the whole
sourcing chain through the API alone: post → match → see → quote → compare → award → order intent."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from marketplace.accounts.models import CompanyKind, User
from marketplace.catalog.rows import PriceTierInput
from marketplace.deals import services as deals
from marketplace.extensions import db
from tests.api.test_requests import post_request, quote_body
from tests.factories import make_product


@dataclass
class World:
    buyer: object
    exporter: object
    rival: object
    cup: int
    pot: int
    rival_cup: int
    draft: int


def _product(caller, publish: bool = True, **fields) -> int:
    user = db.session.get(User, caller.user_id)
    return make_product(company=user.company, actor=user, publish=publish, **fields).id


@pytest.fixture
def world(app, api_as) -> World:
    """A buyer in Ningbo; an exporter there with a vacuum cup and a wok; a rival in Guangzhou with a cup."""
    buyer = api_as(CompanyKind.CHAIN_LEADER, province_code="330000", city_code="330200")
    exporter = api_as(CompanyKind.EXPORTER, province_code="330000", city_code="330200")
    rival = api_as(CompanyKind.EXPORTER, province_code="440000", city_code="440100")
    with app.app_context():
        cup = _product(exporter, title_zh="不锈钢保温杯 500ml 食品级", moq=500, category="small_appliances")
        pot = _product(exporter, title_zh="不锈钢炒锅 32cm", category="kitchenware")
        rival_cup = _product(rival, title_zh="真空保温杯 学生水杯", moq=3000, price_tiers=[PriceTierInput(3000, 2300)],
                             monthly_capacity=50000)
        draft = _product(rival, publish=False, title_zh="不锈钢保温杯 草稿")
    return World(buyer, exporter, rival, cup, pot, rival_cup, draft)


# ----------------------------------------------------------------------------- a request's suppliers


def test_matches_request_lists_suppliers_with_explanations(app, world):
    created = post_request(world.buyer)
    response = world.buyer.get(f"/requests/{created['id']}/matches")
    assert response.status_code == 200
    body = response.get_json()
    assert body["request_id"] == created["id"] and body["matchable"] is True and body["excluded"] == {}
    by_product = {r["product_id"]: r for r in body["results"]}
    assert list(by_product)[:2] == [world.cup, world.rival_cup] and body["total"] >= 2
    rival = by_product[world.rival_cup]
    assert rival["exporter_id"] == world.rival.company_id and rival["shortlisted"] is False
    assert {"code": "moq_over", "moq": 3000, "quantity": 2000}.items() <= rival["missing"][0].items()
    assert rival["missing"][0]["text"] == "MOQ 3,000 > requested 2,000"
    assert any(line.startswith("Matches:") for line in by_product[world.cup]["reasons"])
    assert by_product[world.cup]["score"] > rival["score"]
    chinese = world.buyer.get(f"/requests/{created['id']}/matches", headers={"Accept-Language": "zh-CN"}).get_json()
    assert "起订量" in {r["product_id"]: r for r in chinese["results"]}[world.rival_cup]["missing"][0]["text"]
    assert len(world.buyer.get(f"/requests/{created['id']}/matches?limit=1").get_json()["results"]) == 1
    assert world.buyer.get(f"/requests/{created['id']}/matches?limit=0").get_json()["field"] == "limit"


def test_matches_request_empty_says_which_must_excluded(app, world):
    created = post_request(world.buyer, required_certifications=["CCC"], must_requirements=["certifications"])
    body = world.buyer.get(f"/requests/{created['id']}/matches").get_json()
    assert body["results"] == [] and body["total"] == 0 and body["excluded"].get("certifications", 0) >= 1


def test_matches_request_are_the_buyers_alone(app, api_as, world):
    created = post_request(world.buyer)
    assert world.exporter.get(f"/requests/{created['id']}/matches").status_code == 404
    assert api_as(CompanyKind.RETAILER).get(f"/requests/{created['id']}/matches").status_code == 404
    assert api_as(CompanyKind.RETAILER).get(f"/requests/{created['id']}/matches/{world.cup}").status_code == 404
    first = world.buyer.get(f"/requests/{created['id']}/matches")
    assert world.buyer.get(f"/requests/{created['id']}/matches",
                           headers={"If-None-Match": first.headers["ETag"]}).status_code == 304


# ----------------------------------------------------------------------------- one pair


def test_matches_explain_says_why_and_why_not(app, world):
    created = post_request(world.buyer)
    fits = world.buyer.get(f"/requests/{created['id']}/matches/{world.cup}").get_json()
    assert fits["matches"] is True and fits["why_not"] is None and fits["score"] > 0 and fits["reasons"]
    wok = world.buyer.get(f"/requests/{created['id']}/matches/{world.pot}").get_json()
    assert wok["matches"] is False and wok["why_not_code"] in ("no_words", "not_relevant", "low_score")
    assert wok["why_not"]
    assert world.buyer.get(f"/requests/{created['id']}/matches/{world.draft}").status_code == 404
    assert world.buyer.get(f"/requests/{created['id']}/matches/999999").status_code == 404


def test_matches_explain_names_the_excluding_must(app, world):
    created = post_request(world.buyer, must_requirements=["moq"])
    body = world.buyer.get(f"/requests/{created['id']}/matches/{world.rival_cup}").get_json()
    assert body["matches"] is False and body["why_not_code"] == "excluded" and body["excluded_by"] == ["moq"]
    assert "must" in body["why_not"]


# ----------------------------------------------------------------------------- a product's requests


def test_matches_product_lists_the_open_requests_it_fits(app, api_as, world):
    public = post_request(world.buyer)
    invited_other = post_request(world.buyer, title="采购不锈钢保温杯 邀请", visibility="invited",
                                 invited_company_ids=[world.rival.company_id])
    post_request(world.buyer, publish=False, title="采购不锈钢保温杯 草稿")
    body = world.exporter.get(f"/products/{world.cup}/matches").get_json()
    assert [r["request_id"] for r in body["results"]] == [public["id"]] and body["total"] == 1
    result = body["results"][0]
    assert result["buyer_company_id"] == world.buyer.company_id and result["title"] == "采购不锈钢保温杯"
    assert result["deadline"] == public["deadline"] and result["score"] > 0
    rival_sees = {r["request_id"] for r in world.rival.get(f"/products/{world.rival_cup}/matches").get_json()["results"]}
    assert invited_other["id"] in rival_sees


def test_matches_product_is_its_companys_alone(app, world):
    assert world.exporter.get(f"/products/{world.rival_cup}/matches").status_code == 404
    assert world.buyer.get(f"/products/{world.cup}/matches").status_code == 404
    assert world.rival.get(f"/products/{world.draft}/matches").get_json()["results"] == []
    assert world.exporter.get("/products/999999/matches").status_code == 404
    assert world.exporter.get(f"/products/{world.cup}/matches?limit=true").status_code == 422


# ----------------------------------------------------------------------------- the whole chain


def test_matches_full_sourcing_chain_through_the_api(app, world):
    # the buyer posts and publishes a request
    created = post_request(world.buyer)
    # the exporter whose product fits finds it from its product, and on the open list
    fits = world.exporter.get(f"/products/{world.cup}/matches").get_json()["results"]
    assert [r["request_id"] for r in fits] == [created["id"]]
    assert created["id"] in [r["id"] for r in world.exporter.get("/requests").get_json()["items"]]
    # it quotes with that product
    quote = world.exporter.post("/quotes", json=quote_body(created["id"], product_id=world.cup)).get_json()
    assert quote["state"] == "submitted" and quote["product_id"] == world.cup
    # the buyer compares the quotes and awards
    rows = world.buyer.get(f"/requests/{created['id']}/quotes").get_json()["items"]
    assert [row["quote"]["id"] for row in rows] == [quote["id"]]
    awarded = world.buyer.post(f"/requests/{created['id']}/award", json={"quote_id": quote["id"],
                                                                        "version": rows[0]["quote"]["version"]})
    assert awarded.status_code == 201
    intent_id = awarded.get_json()["intent_id"]
    # an order intent exists, between the two companies, on the quoted product and terms
    with app.app_context():
        intent = deals.get_intent(db.session.get(User, world.exporter.user_id), intent_id)
        assert (intent.buyer_company_id, intent.exporter_company_id) == (world.buyer.company_id,
                                                                         world.exporter.company_id)
        assert intent.product_id == world.cup and intent.unit_price_fen == 2400 and intent.quantity == 2000
        assert intent.request_id == created["id"] and intent.quote_id == quote["id"]
    assert world.buyer.get(f"/requests/{created['id']}").get_json()["state"] == "awarded"
    # an awarded request takes no more matches
    assert world.exporter.get(f"/products/{world.cup}/matches").get_json()["results"] == []
