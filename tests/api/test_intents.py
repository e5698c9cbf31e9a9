"""/api/v1/intents: recording order intents, the list, one intent with its history and actions, transitions
(optimistic locking, If-Match, the state machine's refusals), messages."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from marketplace.accounts.models import Company, CompanyKind, User
from marketplace.deals.models import OrderIntent, OrderIntentEvent, OrderIntentMessage
from marketplace.deals.states import IntentState
from marketplace.extensions import db
from marketplace.i18n import today_in_china
from marketplace.notifications.models import Notification
from tests.api.conftest import ApiCaller, make_token
from tests.factories import make_product


@pytest.fixture
def deal(app, exporter_api, buyer_api):
    """An exporter with a published product (MOQ 100, ¥89.00 at the MOQ) and a verified buyer."""
    product_id = product_of(app, exporter_api)
    return exporter_api, buyer_api, product_id


def product_of(app, caller, **fields) -> int:
    """A product of the caller's company."""
    with app.app_context():
        company = db.session.get(Company, caller.company_id)
        user = db.session.get(User, caller.user_id)
        return make_product(company=company, actor=user, **fields).id


def day(days: int) -> str:
    return (today_in_china() + timedelta(days=days)).isoformat()


def start(buyer, product_id: int, headers: dict | None = None, **fields):
    """POST /intents with sensible terms (200 units at ¥88.00)."""
    body = {"product_id": product_id, "quantity": 200, "unit_price_fen": 8800, **fields}
    return buyer.post("/intents", json=body, headers=headers)


def started(buyer, product_id: int, **fields) -> dict:
    response = start(buyer, product_id, **fields)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def act(caller, intent: dict | int, action: str, version: int | None = None, **fields):
    intent_id = intent if isinstance(intent, int) else intent["id"]
    if version is None:
        version = caller.get(f"/intents/{intent_id}").get_json()["version"]
    return caller.post(f"/intents/{intent_id}/transitions", json={"action": action, "version": version, **fields})


def actions_of(body: dict) -> list[str]:
    return [entry["action"] for entry in body["actions"]]


# ----------------------------------------------------------------------------- recording


def test_create_intent_records_a_sent_intent(app, deal):
    exporter, buyer, product_id = deal
    response = start(buyer, product_id, delivery_date=day(30), delivery_place="上海洋山港", note="请尽快报价",
                     valid_until=day(10))
    assert response.status_code == 201
    body = response.get_json()
    assert response.headers["Location"] == f"/api/v1/intents/{body['id']}"
    assert body["state"] == "submitted"
    assert body["state_label"] == "Awaiting the exporter"
    assert body["side"] == "buyer"
    assert (body["quantity"], body["unit_price_fen"], body["amount_fen"]) == (200, 8800, 1_760_000)
    assert (body["delivery_date"], body["delivery_place"], body["valid_until"]) == (day(30), "上海洋山港", day(10))
    assert body["buyer"]["id"] == buyer.company_id and body["exporter"]["id"] == exporter.company_id
    assert body["version"] == 1
    assert body["moq_notice"] is None and body["contact"] is None
    assert actions_of(body) == ["withdraw"]
    [event] = body["events"]
    assert (event["action"], event["from_state"], event["to_state"], event["actor_side"]) == (
        "create", None, "submitted", "buyer")
    assert event["note"] == "请尽快报价"
    with app.app_context():
        intent = db.session.get(OrderIntent, body["id"])
        assert intent.state is IntentState.SUBMITTED and intent.amount_fen == 1_760_000
        assert intent.created_by_id == buyer.user_id
        # the exporter's administrator hears of it
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification).where(
            Notification.user_id == exporter.user_id, Notification.kind == "order_intent")) == 1


def test_create_intent_defaults_to_the_list_price_and_two_weeks(deal):
    _exporter, buyer, product_id = deal
    response = buyer.post("/intents", json={"product_id": product_id, "quantity": 150})
    assert response.status_code == 201
    body = response.get_json()
    assert body["unit_price_fen"] == 8900  # the price at the MOQ
    assert body["amount_fen"] == 150 * 8900
    assert body["valid_until"] == day(14)


def test_create_intent_below_moq_needs_confirmation(app, deal):
    _exporter, buyer, product_id = deal
    refused = start(buyer, product_id, quantity=10)
    assert refused.status_code == 422
    assert refused.headers["Content-Type"].startswith("application/problem+json")
    assert refused.get_json()["field"] == "confirm_below_moq"
    assert refused.get_json()["detail"] == "Quantity 10 is below the minimum order quantity of 100."
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OrderIntent)) == 0
    body = started(buyer, product_id, quantity=10, confirm_below_moq=True)
    assert body["quantity"] == 10
    assert body["moq_notice"] == "Quantity 10 is below the minimum order quantity of 100."


def test_create_intent_as_draft_is_the_buyers_alone(deal):
    exporter, buyer, product_id = deal
    body = started(buyer, product_id, draft=True)
    assert body["state"] == "draft"
    assert actions_of(body) == ["submit", "withdraw"]
    assert exporter.get(f"/intents/{body['id']}").status_code == 404
    assert exporter.get("/intents").get_json()["items"] == []
    sent = act(buyer, body, "submit")
    assert sent.status_code == 200 and sent.get_json()["state"] == "submitted"
    assert exporter.get(f"/intents/{body['id']}").get_json()["side"] == "exporter"


def test_create_intent_refused_by_the_services_rules(app, api_as, deal):
    exporter, buyer, product_id = deal
    own = start(exporter, product_id)
    assert own.status_code == 422
    assert "your own company's product" in own.get_json()["detail"]
    other_exporter = api_as(CompanyKind.EXPORTER)
    not_buyer = start(other_exporter, product_id)
    assert not_buyer.status_code == 403
    assert "Only buyer companies" in not_buyer.get_json()["detail"]
    unverified = api_as(CompanyKind.RETAILER, verified=False)
    refused = start(unverified, product_id)
    assert refused.status_code == 403
    assert "must be verified" in refused.get_json()["detail"]
    past = start(buyer, product_id, valid_until=day(-1))
    assert past.status_code == 422 and past.get_json()["field"] == "valid_until"
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OrderIntent)) == 0


def test_create_intent_on_an_unknown_or_unpublished_product_is_404(app, deal):
    exporter, buyer, _product_id = deal
    draft_product = product_of(app, exporter, publish=False)
    assert start(buyer, draft_product).status_code == 404
    assert start(buyer, 2**31 - 1).status_code == 404
    assert buyer.post("/intents", json={"product_id": draft_product, "quantity": 200}).status_code == 404


CREATE_VIOLATIONS = [
    ({"quantity": True}, "quantity"),
    ({"quantity": "200"}, "quantity"),
    ({"quantity": 2.5}, "quantity"),
    ({"quantity": 0}, "quantity"),
    ({"product_id": "1"}, "product_id"),
    ({"unit_price_fen": 0}, "unit_price_fen"),
    ({"valid_until": "tomorrow"}, "valid_until"),
    ({"draft": "yes"}, "draft"),
    ({"delivery_place": "港" * 201}, "delivery_place"),
    ({"colour": "red"}, "colour"),
]


def test_create_intent_schema_violation_names_the_field(app, deal):
    _exporter, buyer, product_id = deal
    for fields, field in CREATE_VIOLATIONS:
        response = buyer.post("/intents", json={"product_id": product_id, "quantity": 200, **fields})
        assert response.status_code == 422, fields
        assert response.get_json()["field"] == field, fields
    assert buyer.post("/intents", json={"quantity": 200}).get_json()["field"] == "product_id"
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OrderIntent)) == 0


def test_create_intent_replay_returns_the_first_answer(app, deal):
    _exporter, buyer, product_id = deal
    headers = {"Idempotency-Key": "erp-order-4711"}
    first = start(buyer, product_id, headers=headers)
    again = start(buyer, product_id, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["id"] == first.get_json()["id"]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OrderIntent)) == 1


def test_create_intent_needs_the_deals_write_scope(api_as, deal):
    _exporter, _buyer, product_id = deal
    reader = api_as(CompanyKind.CHAIN_LEADER, scopes=["read"])
    response = start(reader, product_id)
    assert response.status_code == 403
    assert "deals:write" in response.get_json()["detail"]
    assert reader.get("/intents").status_code == 200


# ----------------------------------------------------------------------------- the list


def test_list_intents_shows_each_side_with_filters_and_cursor(app, api_as, deal):
    exporter, buyer, product_id = deal
    first = started(buyer, product_id)
    second = started(buyer, product_id, quantity=300)
    other_buyer = api_as(CompanyKind.RETAILER)
    third = started(other_buyer, product_id)
    act(exporter, third, "accept")

    mine = buyer.get("/intents").get_json()
    assert [item["id"] for item in mine["items"]] == [second["id"], first["id"]]
    assert {item["side"] for item in mine["items"]} == {"buyer"}
    assert mine["next_cursor"] is None

    theirs = exporter.get("/intents").get_json()["items"]
    assert [item["id"] for item in theirs] == [third["id"], second["id"], first["id"]]
    assert {item["side"] for item in theirs} == {"exporter"}
    assert exporter.get("/intents?side=buyer").get_json()["items"] == []
    accepted = exporter.get("/intents?state=accepted").get_json()["items"]
    assert [item["id"] for item in accepted] == [third["id"]]
    with_buyer = exporter.get(f"/intents?counterpart_id={buyer.company_id}").get_json()["items"]
    assert [item["id"] for item in with_buyer] == [second["id"], first["id"]]
    assert exporter.get(f"/intents?created_from={day(1)}").get_json()["items"] == []
    assert len(exporter.get(f"/intents?created_from={day(-1)}&created_to={day(0)}").get_json()["items"]) == 3

    page = exporter.get("/intents?limit=2").get_json()
    assert [item["id"] for item in page["items"]] == [third["id"], second["id"]]
    rest = exporter.get(f"/intents?limit=2&cursor={page['next_cursor']}").get_json()
    assert [item["id"] for item in rest["items"]] == [first["id"]]
    assert rest["next_cursor"] is None

    assert api_as(CompanyKind.RETAILER).get("/intents").get_json()["items"] == []


@pytest.mark.parametrize(("query", "field"), [
    ("state=open", "state"), ("side=both", "side"), ("counterpart_id=x", "counterpart_id"),
    ("limit=0", "limit"), ("cursor=bm9wZQ", "cursor"), ("created_from=2025-13-01", "created_from"),
    ("colour=red", "colour"),
])
def test_list_intents_bad_query_names_the_field(buyer_api, query, field):
    response = buyer_api.get(f"/intents?{query}")
    assert response.status_code == 422
    assert response.get_json()["field"] == field


# ----------------------------------------------------------------------------- one intent


def test_read_intent_is_404_for_any_other_company(api_as, deal):
    exporter, buyer, product_id = deal
    intent = started(buyer, product_id)
    outsider = api_as(CompanyKind.CHAIN_LEADER)
    for path in (f"/intents/{intent['id']}", f"/intents/{intent['id']}/messages"):
        assert outsider.get(path).status_code == 404
    assert act(outsider, intent, "withdraw", version=1).status_code == 404
    assert outsider.post(f"/intents/{intent['id']}/messages", json={"body": "hello"}).status_code == 404
    assert buyer.get("/intents/999999").status_code == 404
    assert buyer.get("/intents/999999").get_json()["detail"] == "This order intent does not exist."


def test_read_intent_etag_gives_304(deal):
    _exporter, buyer, product_id = deal
    intent = started(buyer, product_id)
    first = buyer.get(f"/intents/{intent['id']}")
    assert first.status_code == 200 and first.headers["ETag"]
    again = buyer.get(f"/intents/{intent['id']}", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


# ----------------------------------------------------------------------------- transitions


def test_transitions_accept_sign_fulfil_with_history(app, deal):
    exporter, buyer, product_id = deal
    intent = started(buyer, product_id)
    seen = exporter.get(f"/intents/{intent['id']}").get_json()
    assert actions_of(seen) == ["accept", "counter", "decline"]
    assert [(a["needs_terms"], a["needs_note"]) for a in seen["actions"]] == [
        (False, False), (True, False), (False, True)]

    accepted = act(exporter, intent, "accept", version=1, note="OK")
    assert accepted.status_code == 200
    body = accepted.get_json()
    assert (body["state"], body["version"]) == ("accepted", 2)
    assert body["contact"] is not None  # both sides agreed: contacts shown
    assert actions_of(body) == ["sign", "decline"]

    signed_once = act(buyer, intent, "sign").get_json()
    assert signed_once["state"] == "accepted" and signed_once["buyer_signed_at"] is not None
    assert "sign" not in actions_of(signed_once)
    assert act(exporter, intent, "sign").get_json()["state"] == "signed"
    done = act(exporter, intent, "fulfil").get_json()
    assert done["state"] == "fulfilled" and done["actions"] == []
    history = [(e["action"], e["from_state"], e["to_state"], e["actor_side"]) for e in done["events"]]
    assert history == [
        ("create", None, "submitted", "buyer"),
        ("accept", "submitted", "accepted", "exporter"),
        ("sign", "accepted", "accepted", "buyer"),
        ("sign", "accepted", "signed", "exporter"),
        ("fulfil", "signed", "fulfilled", "exporter"),
    ]
    assert done["events"][1]["note"] == "OK"
    assert done["version"] == 5
    with app.app_context():
        assert db.session.get(OrderIntent, intent["id"]).state is IntentState.FULFILLED


def test_intent_history_versions_follow_the_intent(deal):
    """Each event carries the intent's version after it (1, 2, 3 …), the `version` a client sends next."""
    exporter, buyer, product_id = deal
    intent = started(buyer, product_id)
    accepted = act(exporter, intent, "accept", version=1).get_json()
    assert accepted["version"] == 2
    assert [e["version"] for e in accepted["events"]] == [1, 2]


def test_transition_counter_changes_only_the_given_terms(app, deal):
    exporter, buyer, product_id = deal
    intent = started(buyer, product_id, delivery_date=day(30))
    response = act(exporter, intent, "counter", version=1, terms={"unit_price_fen": 9500})
    assert response.status_code == 200
    body = response.get_json()
    assert body["state"] == "countered"
    assert (body["quantity"], body["unit_price_fen"], body["amount_fen"]) == (200, 9500, 200 * 9500)
    assert body["delivery_date"] == day(30)
    event = body["events"][-1]
    assert event["terms_before"]["unit_price_fen"] == 8800 and event["terms_after"]["unit_price_fen"] == 9500
    assert actions_of(buyer.get(f"/intents/{intent['id']}").get_json()) == ["accept", "counter", "withdraw"]
    back = act(buyer, intent, "counter", terms={"quantity": 400, "delivery_date": None})
    assert back.get_json()["state"] == "submitted"
    assert (back.get_json()["quantity"], back.get_json()["delivery_date"]) == (400, None)
    with app.app_context():
        assert db.session.get(OrderIntent, intent["id"]).unit_price_fen == 9500


def test_transition_counter_needs_changed_terms(deal):
    exporter, buyer, product_id = deal
    intent = started(buyer, product_id)
    missing = act(exporter, intent, "counter", version=1)
    assert missing.status_code == 422 and missing.get_json()["field"] == "terms"
    same = act(exporter, intent, "counter", version=1, terms={"quantity": 200})
    assert same.status_code == 422 and same.get_json()["field"] == "terms.quantity"
    past = act(exporter, intent, "counter", version=1, terms={"quantity": 300, "valid_until": day(-3)})
    assert past.status_code == 422 and past.get_json()["field"] == "terms.valid_until"
    not_counter = act(exporter, intent, "accept", version=1, terms={"quantity": 300})
    assert not_counter.status_code == 422 and not_counter.get_json()["field"] == "terms"
    assert buyer.get(f"/intents/{intent['id']}").get_json()["state"] == "submitted"


def test_transition_decline_needs_a_reason(deal):
    exporter, buyer, product_id = deal
    intent = started(buyer, product_id)
    refused = act(exporter, intent, "decline", version=1)
    assert refused.status_code == 422 and refused.get_json()["field"] == "note"
    declined = act(exporter, intent, "decline", version=1, note="Sold out")
    assert declined.get_json()["state"] == "declined"


def test_transition_stale_version_is_409_and_changes_nothing(app, deal):
    exporter, buyer, product_id = deal
    intent = started(buyer, product_id)
    assert act(exporter, intent, "counter", version=1, terms={"quantity": 250}).status_code == 200
    stale = act(buyer, intent, "withdraw", version=1)
    assert stale.status_code == 409
    assert stale.get_json()["detail"].startswith("This intent has changed since you opened it")
    with app.app_context():
        assert db.session.get(OrderIntent, intent["id"]).state is IntentState.COUNTERED


def test_transition_if_match_stale_is_412(deal):
    exporter, buyer, product_id = deal
    intent = started(buyer, product_id)
    old_etag = exporter.get(f"/intents/{intent['id']}").headers["ETag"]
    act(buyer, intent, "withdraw", version=1)  # the intent moves on: the exporter's ETag is old now
    stale = exporter.post(f"/intents/{intent['id']}/transitions", json={"action": "accept", "version": 2},
                          headers={"If-Match": old_etag})
    assert stale.status_code == 412


def test_transition_if_match_current_is_accepted(deal):
    exporter, buyer, product_id = deal
    intent = started(buyer, product_id)
    etag = exporter.get(f"/intents/{intent['id']}").headers["ETag"]
    response = exporter.post(f"/intents/{intent['id']}/transitions", json={"action": "accept", "version": 1},
                             headers={"If-Match": etag})
    assert response.status_code == 200 and response.get_json()["state"] == "accepted"


def test_transition_the_other_sides_step_is_403_and_an_impossible_one_409(deal):
    exporter, buyer, product_id = deal
    intent = started(buyer, product_id)
    theirs = act(buyer, intent, "accept", version=1)
    assert theirs.status_code == 403
    assert theirs.get_json()["detail"] == "The other company decides this step, not yours."
    impossible = act(exporter, intent, "fulfil", version=1)
    assert impossible.status_code == 409
    assert impossible.get_json()["detail"] == "“Mark fulfilled” is not possible while the intent is “Awaiting the exporter”."
    act(exporter, intent, "accept", version=1)
    act(buyer, intent, "sign")
    again = act(buyer, intent, "sign")
    assert again.status_code == 409
    assert again.get_json()["detail"] == "Your company has already signed this intent."


def test_transition_replay_returns_the_first_answer(app, deal):
    exporter, buyer, product_id = deal
    intent = started(buyer, product_id)
    headers = {"Idempotency-Key": "accept-once"}
    first = exporter.post(f"/intents/{intent['id']}/transitions", json={"action": "accept", "version": 1},
                          headers=headers)
    again = exporter.post(f"/intents/{intent['id']}/transitions", json={"action": "accept", "version": 1},
                          headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OrderIntentEvent).where(
            OrderIntentEvent.intent_id == intent["id"])) == 2


TRANSITION_VIOLATIONS = [
    ({"action": "approve", "version": 1}, "action"),
    ({"action": "expire", "version": 1}, "action"),
    ({"action": "accept", "version": "1"}, "version"),
    ({"action": "accept", "version": True}, "version"),
    ({"action": "accept"}, "version"),
    ({"action": "counter", "version": 1, "terms": {"quantity": 0}}, "terms.quantity"),
    ({"action": "counter", "version": 1, "terms": {"amount_fen": 1}}, "terms.amount_fen"),
    ({"action": "accept", "version": 1, "force": True}, "force"),
]


def test_transition_schema_violation_names_the_field(deal):
    exporter, buyer, product_id = deal
    intent = started(buyer, product_id)
    for body, field in TRANSITION_VIOLATIONS:
        response = exporter.post(f"/intents/{intent['id']}/transitions", json=body)
        assert response.status_code == 422, body
        assert response.get_json()["field"] == field, body
    assert exporter.get(f"/intents/{intent['id']}").get_json()["version"] == 1


def test_transition_needs_the_deals_write_scope(deal):
    exporter, buyer, product_id = deal
    intent = started(buyer, product_id)
    app = exporter.client.application
    with app.app_context():  # a read-only token of the exporter's own administrator
        raw = make_token(db.session.get(User, exporter.user_id), scopes=["read"])
    reader = ApiCaller(app.test_client(), exporter.company_id, exporter.user_id, raw)
    response = act(reader, intent, "accept", version=1)
    assert response.status_code == 403 and "deals:write" in response.get_json()["detail"]
    assert reader.get(f"/intents/{intent['id']}").get_json()["state"] == "submitted"


# ----------------------------------------------------------------------------- messages


def test_messages_between_the_two_companies(app, deal):
    exporter, buyer, product_id = deal
    intent = started(buyer, product_id)
    posted = buyer.post(f"/intents/{intent['id']}/messages", json={"body": "  能否提前交货？ "})
    assert posted.status_code == 201
    message = posted.get_json()
    assert (message["body"], message["author_side"], message["attachment_name"]) == ("能否提前交货？", "buyer", None)
    reply = exporter.post(f"/intents/{intent['id']}/messages", json={"body": "可以"}).get_json()
    listed = exporter.get(f"/intents/{intent['id']}/messages").get_json()
    assert [(m["id"], m["author_side"]) for m in listed["items"]] == [(reply["id"], "exporter"),
                                                                       (message["id"], "buyer")]
    page = buyer.get(f"/intents/{intent['id']}/messages?limit=1").get_json()
    assert [m["id"] for m in page["items"]] == [reply["id"]]
    assert buyer.get(f"/intents/{intent['id']}/messages?limit=1&cursor={page['next_cursor']}").get_json()[
        "items"][0]["id"] == message["id"]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OrderIntentMessage)) == 2
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification).where(
            Notification.user_id == exporter.user_id, Notification.subject.contains("#"))) >= 2


def test_messages_refused_on_a_draft_and_when_empty(deal):
    _exporter, buyer, product_id = deal
    draft = started(buyer, product_id, draft=True)
    refused = buyer.post(f"/intents/{draft['id']}/messages", json={"body": "hello"})
    assert refused.status_code == 422 and refused.get_json()["field"] == "body"
    sent = started(buyer, product_id)
    for body in ({"body": "   "}, {"body": ""}, {"body": 5}, {"body": "x" * 4001}, {}):
        response = buyer.post(f"/intents/{sent['id']}/messages", json=body)
        assert response.status_code == 422 and response.get_json()["field"] == "body", body
