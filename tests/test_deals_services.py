"""Order-intent services: starting (rules, idempotency), transitions with events, expiry, contact, messages."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

import pytest
import sqlalchemy as sa

from marketplace.accounts.models import Company, CompanyKind, User
from marketplace.catalog.models import Product, ProductStatus
from marketplace.deals import services
from marketplace.deals.models import OrderIntent, OrderIntentEvent, OrderIntentMessage
from marketplace.deals.services import Terms, today_in_china
from marketplace.deals.states import Action, IntentState
from marketplace.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from marketplace.extensions import db
from tests.factories import make_company, make_product, make_user


@dataclass
class Parties:
    """An exporter with a published product, a buyer, and a third company, each with a user."""

    exporter: Company
    exporter_user: User
    buyer: Company
    buyer_user: User
    outsider_user: User
    product: Product


def make_parties(buyer_kind: CompanyKind = CompanyKind.RETAILER) -> Parties:
    """Two companies ready to deal, and a nosy third one."""
    exporter = make_company(kind=CompanyKind.EXPORTER, contact_phone="13800000001", contact_email="ex@example.com",
                            contact_name="王经理")
    exporter_user = make_user(company=exporter)
    product = make_product(company=exporter, actor=exporter_user)
    buyer = make_company(kind=buyer_kind, contact_phone="13900000002", contact_email="buy@example.com",
                         contact_name="李采购")
    buyer_user = make_user(company=buyer)
    outsider_user = make_user(company=make_company(kind=CompanyKind.CHAIN_LEADER))
    return Parties(exporter, exporter_user, buyer, buyer_user, outsider_user, product)


def terms(quantity: int = 200, price: int = 8900, days: int = 14, **kwargs) -> Terms:
    """Terms valid for ``days`` more days."""
    return Terms(quantity, price, today_in_china() + timedelta(days=days), **kwargs)


def start(parties: Parties, submit: bool = True, **kwargs) -> OrderIntent:
    """An intent from the buyer on the product."""
    intent, created = services.record_order_intent(
        parties.buyer_user, parties.product.id, kwargs.pop("terms", None) or terms(), secrets.token_urlsafe(24),
        submit=submit, **kwargs,
    )
    assert created
    return intent


def english(error) -> str:
    """A domain error's message rendered in English (messages are lazy; the default locale is Chinese)."""
    from flask_babel import force_locale

    with force_locale("en"):
        return str(error.message)


def events_of(intent_id: int) -> list[OrderIntentEvent]:
    """The intent's events in order."""
    return list(db.session.scalars(
        sa.select(OrderIntentEvent).where(OrderIntentEvent.intent_id == intent_id).order_by(OrderIntentEvent.id)
    ))


def test_record_order_intent_computes_amount_and_writes_event(app):
    with app.app_context():
        parties = make_parties()
        intent = start(parties, terms=terms(quantity=250, price=8888))
        assert intent.state is IntentState.SUBMITTED
        assert intent.amount_fen == 250 * 8888
        assert intent.version == 1
        (event,) = events_of(intent.id)
        assert (event.action, event.from_state, event.to_state, event.version) == (
            Action.CREATE, None, IntentState.SUBMITTED, 1)
        assert event.actor_user_id == parties.buyer_user.id
        assert event.terms_after["amount_fen"] == 250 * 8888


def test_record_order_intent_replayed_token_returns_first_intent(app):
    with app.app_context():
        parties = make_parties()
        token = secrets.token_urlsafe(24)
        first, created = services.record_order_intent(parties.buyer_user, parties.product.id, terms(), token)
        again, created_again = services.record_order_intent(parties.buyer_user, parties.product.id, terms(), token)
        assert created and not created_again
        assert again.id == first.id
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OrderIntent)) == 1


def test_record_order_intent_refuses_own_company_and_non_buyers(app):
    with app.app_context():
        parties = make_parties()
        with pytest.raises(ValidationFailed) as caught:
            services.record_order_intent(parties.exporter_user, parties.product.id, terms(), secrets.token_urlsafe(24))
        assert "own company" in english(caught.value)
        other_exporter = make_user(company=make_company(kind=CompanyKind.EXPORTER))
        with pytest.raises(PermissionDenied):
            services.record_order_intent(other_exporter, parties.product.id, terms(), secrets.token_urlsafe(24))
        organizer = make_user(company=make_company(kind=CompanyKind.ORGANIZER))
        with pytest.raises(PermissionDenied):
            services.record_order_intent(organizer, parties.product.id, terms(), secrets.token_urlsafe(24))
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OrderIntent)) == 0


def test_record_order_intent_refuses_archived_product_and_unverified_exporter(app):
    # products the buyer may not see are unknown to it (catalog.services.can_view_product): 404, not 400
    with app.app_context():
        parties = make_parties()
        parties.product.status = ProductStatus.ARCHIVED
        db.session.commit()
        with pytest.raises(NotFound) as caught:
            start(parties)
        assert "does not exist" in english(caught.value)
        unverified = make_company(kind=CompanyKind.EXPORTER, verified=False)
        product = make_product(company=unverified)
        with pytest.raises(NotFound):
            services.record_order_intent(parties.buyer_user, product.id, terms(), secrets.token_urlsafe(24))
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OrderIntent)) == 0


@pytest.mark.parametrize("bad, field", [
    ({"quantity": 0}, "quantity"),
    ({"price": 0}, "unit_price"),
    ({"days": -1}, "valid_until"),
])
def test_check_terms_refuses_out_of_range(app, bad, field):
    with app.app_context():
        with pytest.raises(ValidationFailed) as caught:
            services.check_terms(terms(**bad))
        assert caught.value.field == field


def test_advance_counter_then_accept_records_terms_before_and_after(app):
    with app.app_context():
        parties = make_parties()
        intent = start(parties, terms=terms(quantity=200, price=8900))
        services.advance_order_intent(parties.exporter_user, intent.id, Action.COUNTER, 1,
                                      terms=terms(quantity=300, price=9500), note="量大可以")
        intent = services.advance_order_intent(parties.buyer_user, intent.id, Action.ACCEPT, 2)
        assert intent.state is IntentState.ACCEPTED
        assert intent.amount_fen == 300 * 9500
        counter = events_of(intent.id)[1]
        assert counter.terms_before["quantity"] == 200 and counter.terms_after["quantity"] == 300
        assert counter.note == "量大可以"


def test_advance_counter_needs_changed_terms_and_decline_needs_reason(app):
    with app.app_context():
        parties = make_parties()
        intent = start(parties, terms=terms(quantity=200, price=8900))
        with pytest.raises(ValidationFailed) as caught:
            services.advance_order_intent(parties.exporter_user, intent.id, Action.COUNTER, 1,
                                          terms=terms(quantity=200, price=8900))
        assert "must change" in english(caught.value)
        with pytest.raises(ValidationFailed):
            services.advance_order_intent(parties.exporter_user, intent.id, Action.COUNTER, 1, terms=None)
        with pytest.raises(ValidationFailed) as caught:
            services.advance_order_intent(parties.exporter_user, intent.id, Action.DECLINE, 1, note="  ")
        assert "reason" in english(caught.value)
        assert len(events_of(intent.id)) == 1
        intent = services.advance_order_intent(parties.exporter_user, intent.id, Action.DECLINE, 1, note="缺货")
        assert intent.state is IntentState.DECLINED


def test_advance_stale_version_is_a_conflict_with_nothing_written(app):
    with app.app_context():
        parties = make_parties()
        intent = start(parties)
        services.advance_order_intent(parties.exporter_user, intent.id, Action.ACCEPT, 1)
        with pytest.raises(Conflict) as caught:
            services.advance_order_intent(parties.buyer_user, intent.id, Action.WITHDRAW, 1)
        assert "has changed" in english(caught.value)
        db.session.expire_all()
        assert db.session.get(OrderIntent, intent.id).state is IntentState.ACCEPTED
        assert len(events_of(intent.id)) == 2


def test_signing_needs_both_sides(app):
    with app.app_context():
        parties = make_parties()
        intent = start(parties)
        services.advance_order_intent(parties.exporter_user, intent.id, Action.ACCEPT, 1)
        intent = services.advance_order_intent(parties.buyer_user, intent.id, Action.SIGN, 2)
        assert intent.state is IntentState.ACCEPTED and intent.buyer_signed_at is not None
        with pytest.raises(ValidationFailed) as caught:
            services.advance_order_intent(parties.buyer_user, intent.id, Action.SIGN, 3)
        assert "already signed" in english(caught.value)
        intent = services.advance_order_intent(parties.exporter_user, intent.id, Action.SIGN, 3)
        assert intent.state is IntentState.SIGNED
        intent = services.advance_order_intent(parties.buyer_user, intent.id, Action.FULFIL, 4)
        assert intent.state is IntentState.FULFILLED
        assert [e.to_state for e in events_of(intent.id)] == [
            IntentState.SUBMITTED, IntentState.ACCEPTED, IntentState.ACCEPTED, IntentState.SIGNED,
            IntentState.FULFILLED]


def test_third_company_gets_not_found(app):
    with app.app_context():
        parties = make_parties()
        intent = start(parties)
        with pytest.raises(NotFound):
            services.get_intent(parties.outsider_user, intent.id)
        with pytest.raises(NotFound):
            services.advance_order_intent(parties.outsider_user, intent.id, Action.ACCEPT, 1)
        with pytest.raises(NotFound):
            services.post_intent_message(parties.outsider_user, intent.id, "hi")


def test_draft_is_invisible_to_the_exporter(app):
    with app.app_context():
        parties = make_parties()
        intent = start(parties, submit=False)
        with pytest.raises(NotFound):
            services.get_intent(parties.exporter_user, intent.id)
        services.advance_order_intent(parties.buyer_user, intent.id, Action.SUBMIT, 1)
        assert services.get_intent(parties.exporter_user, intent.id).state is IntentState.SUBMITTED


def test_contact_revealed_only_once_accepted(app):
    with app.app_context():
        parties = make_parties()
        intent = start(parties)
        assert services.counterpart_contact(parties.buyer_user, intent) is None
        assert services.counterpart_contact(parties.exporter_user, intent) is None
        intent = services.advance_order_intent(parties.exporter_user, intent.id, Action.ACCEPT, 1)
        assert services.counterpart_contact(parties.buyer_user, intent)["phone"] == "13800000001"
        assert services.counterpart_contact(parties.exporter_user, intent)["email"] == "buy@example.com"
        assert services.counterpart_contact(parties.outsider_user, intent) is None


def test_expire_intents_expires_only_lapsed_open_intents(app):
    with app.app_context():
        parties = make_parties()
        lapsed = start(parties, terms=terms(days=1))
        fresh = start(parties, terms=terms(days=30))
        accepted = start(parties, terms=terms(days=1))
        services.advance_order_intent(parties.exporter_user, accepted.id, Action.ACCEPT, 1)
        assert services.expire_intents(today=today_in_china() + timedelta(days=2)) == 1
        db.session.expire_all()
        assert db.session.get(OrderIntent, lapsed.id).state is IntentState.EXPIRED
        assert db.session.get(OrderIntent, fresh.id).state is IntentState.SUBMITTED
        assert db.session.get(OrderIntent, accepted.id).state is IntentState.ACCEPTED
        last = events_of(lapsed.id)[-1]
        assert (last.action, last.from_state, last.to_state, last.actor_user_id) == (
            Action.EXPIRE, IntentState.SUBMITTED, IntentState.EXPIRED, None)


def test_expiry_applies_on_read(app):
    with app.app_context():
        parties = make_parties()
        intent = start(parties)
        db.session.execute(sa.update(OrderIntent).where(OrderIntent.id == intent.id)
                           .values(valid_until=today_in_china() - timedelta(days=1)))
        db.session.commit()
        assert services.get_intent(parties.buyer_user, intent.id).state is IntentState.EXPIRED
        with pytest.raises(Conflict):
            services.advance_order_intent(parties.exporter_user, intent.id, Action.ACCEPT, 1)


def test_events_cannot_be_changed(app):
    with app.app_context():
        parties = make_parties()
        intent = start(parties)
        event = events_of(intent.id)[0]
        event.note = "rewritten"
        with pytest.raises(RuntimeError) as caught:
            db.session.flush()
        assert "immutable" in str(caught.value)
        db.session.rollback()


def test_post_message_with_checked_attachment(app):
    with app.app_context():
        parties = make_parties()
        intent = start(parties)
        message = services.post_intent_message(parties.exporter_user, intent.id, "报价单见附件",
                                               (b"%PDF-1.4\n...", "报价单.pdf"))
        assert message.attachment_type == "application/pdf"
        assert message.attachment_name.endswith(".pdf") and "报价" not in message.attachment_name
        _message, path = services.get_attachment(parties.buyer_user, message.id)
        assert path.read_bytes().startswith(b"%PDF")
        with pytest.raises(NotFound):
            services.get_attachment(parties.outsider_user, message.id)
        with pytest.raises(ValidationFailed) as caught:
            services.post_intent_message(parties.buyer_user, intent.id, "x", (b"MZ\x90\x00 evil", "invoice.pdf"))
        assert "Attach a PDF" in english(caught.value)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OrderIntentMessage)) == 1


def test_list_intents_totals_by_state(app):
    with app.app_context():
        parties = make_parties()
        start(parties, terms=terms(quantity=100, price=1000))
        second = start(parties, terms=terms(quantity=10, price=500))
        services.advance_order_intent(parties.exporter_user, second.id, Action.ACCEPT, 1)
        page, totals = services.list_intents(parties.exporter_user, services.IntentFilter())
        assert page.total == 2
        by_state = {t.state: (t.count, t.amount_fen) for t in totals}
        assert by_state == {IntentState.SUBMITTED: (1, 100_000), IntentState.ACCEPTED: (1, 5_000)}
        page, _totals = services.list_intents(parties.outsider_user, services.IntentFilter())
        assert page.total == 0
        page, _totals = services.list_intents(parties.buyer_user,
                                              services.IntentFilter(state=IntentState.ACCEPTED))
        assert [i.id for i in page.items] == [second.id]


def test_demo_intents_cover_every_state_with_consistent_histories(app):
    from marketplace.demo import load_demo_data

    with app.app_context():
        load_demo_data(companies=20, products=40)
        intents = db.session.scalars(sa.select(OrderIntent)).all()
        assert {i.state for i in intents} == set(IntentState)
        for intent in intents:
            events = events_of(intent.id)
            assert [e.version for e in events] == list(range(1, intent.version + 1))
            assert events[-1].to_state is intent.state and events[-1].terms_after == intent.terms()
            assert intent.amount_fen == intent.quantity * intent.unit_price_fen
