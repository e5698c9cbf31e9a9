"""The order-intent state machine as a table: every state × every action × every role.

The expected table below is written out by hand (not derived from ``states.RULES``) so the
test is an independent statement of the design.
"""
from __future__ import annotations

import secrets
from datetime import timedelta

import pytest
import sqlalchemy as sa

from marketplace.deals import services
from marketplace.deals.models import OrderIntent, OrderIntentEvent
from marketplace.deals.services import today_in_china
from marketplace.deals.states import USER_ACTIONS, Action, IntentState, Party, allowed_actions
from marketplace.errors import NotFound, PermissionDenied, ValidationFailed
from marketplace.extensions import db
from tests.test_deals_services import make_parties, terms

S, A, P = IntentState, Action, Party
ALLOWED = {
    (S.DRAFT, A.SUBMIT, P.BUYER): S.SUBMITTED,
    (S.DRAFT, A.WITHDRAW, P.BUYER): S.WITHDRAWN,
    (S.SUBMITTED, A.ACCEPT, P.EXPORTER): S.ACCEPTED,
    (S.SUBMITTED, A.COUNTER, P.EXPORTER): S.COUNTERED,
    (S.SUBMITTED, A.DECLINE, P.EXPORTER): S.DECLINED,
    (S.SUBMITTED, A.WITHDRAW, P.BUYER): S.WITHDRAWN,
    (S.COUNTERED, A.ACCEPT, P.BUYER): S.ACCEPTED,
    (S.COUNTERED, A.COUNTER, P.BUYER): S.SUBMITTED,
    (S.COUNTERED, A.DECLINE, P.EXPORTER): S.DECLINED,
    (S.COUNTERED, A.WITHDRAW, P.BUYER): S.WITHDRAWN,
    (S.ACCEPTED, A.SIGN, P.BUYER): S.ACCEPTED,  # first signature; the second makes it SIGNED
    (S.ACCEPTED, A.SIGN, P.EXPORTER): S.ACCEPTED,
    (S.ACCEPTED, A.DECLINE, P.EXPORTER): S.DECLINED,
    (S.ACCEPTED, A.WITHDRAW, P.BUYER): S.WITHDRAWN,
    (S.SIGNED, A.FULFIL, P.BUYER): S.FULFILLED,
    (S.SIGNED, A.FULFIL, P.EXPORTER): S.FULFILLED,
}
ROLES = (P.BUYER, P.EXPORTER, P.OUTSIDER)


def _intent_in(parties, state: IntentState) -> OrderIntent:
    """An intent put straight into ``state`` (signed ones carry both signatures)."""
    intent, _created = services.record_order_intent(parties.buyer_user, parties.product.id, terms(),
                                                    secrets.token_urlsafe(24), submit=False)
    if state is not IntentState.DRAFT:
        values = {"state": state}
        if state in (IntentState.SIGNED, IntentState.FULFILLED):
            values.update(buyer_signed_at=intent.created_at, exporter_signed_at=intent.created_at)
        db.session.execute(sa.update(OrderIntent).where(OrderIntent.id == intent.id).values(**values))
        db.session.commit()
    return intent


def _expected_error(state, action, party):
    if party is P.OUTSIDER or (party is P.EXPORTER and state is S.DRAFT):
        return NotFound
    other = P.EXPORTER if party is P.BUYER else P.BUYER
    if (state, action, other) in ALLOWED:
        return PermissionDenied
    return ValidationFailed


@pytest.mark.parametrize("state", list(IntentState), ids=lambda s: s.value)
def test_state_machine_table(app, state):
    with app.app_context():
        parties = make_parties()
        users = {P.BUYER: parties.buyer_user, P.EXPORTER: parties.exporter_user, P.OUTSIDER: parties.outsider_user}
        for action in USER_ACTIONS:
            for party in ROLES:
                intent = _intent_in(parties, state)
                before = db.session.scalar(sa.select(sa.func.count()).select_from(OrderIntentEvent)
                                           .where(OrderIntentEvent.intent_id == intent.id))
                case = f"{state.value} × {action.value} × {party.value}"
                expected = ALLOWED.get((state, action, party))
                counter_terms = terms(quantity=999, price=7777) if action is A.COUNTER else None
                note = "理由" if action is A.DECLINE else None
                if expected is not None:
                    result = services.advance_order_intent(users[party], intent.id, action, 1,
                                                           terms=counter_terms, note=note)
                    assert result.state is expected, case
                    assert result.version == 2, case
                    event = db.session.scalars(sa.select(OrderIntentEvent).where(
                        OrderIntentEvent.intent_id == intent.id).order_by(OrderIntentEvent.id.desc())).first()
                    assert (event.action, event.from_state, event.to_state, event.version) == (
                        action, state, expected, 2), case
                    assert event.actor_user_id == users[party].id, case
                else:
                    with pytest.raises(_expected_error(state, action, party)):
                        services.advance_order_intent(users[party], intent.id, action, 1,
                                                      terms=counter_terms, note=note)
                    db.session.expire_all()
                    fresh = db.session.get(OrderIntent, intent.id)
                    assert fresh.state is state and fresh.version == 1, case
                    after = db.session.scalar(sa.select(sa.func.count()).select_from(OrderIntentEvent)
                                              .where(OrderIntentEvent.intent_id == intent.id))
                    assert after == before, case


def test_allowed_actions_match_the_table():
    for state in IntentState:
        for party in (P.BUYER, P.EXPORTER):
            expected = [a for a in USER_ACTIONS if (state, a, party) in ALLOWED]
            assert allowed_actions(state, party) == expected, (state, party)
        assert allowed_actions(state, P.OUTSIDER) == []


@pytest.mark.parametrize("state", list(IntentState), ids=lambda s: s.value)
def test_expiry_applies_only_to_submitted_and_countered(app, state):
    with app.app_context():
        parties = make_parties()
        intent = _intent_in(parties, state)
        services.expire_intents(today=today_in_china() + timedelta(days=60))
        db.session.expire_all()
        fresh = db.session.get(OrderIntent, intent.id)
        if state in (S.SUBMITTED, S.COUNTERED):
            assert fresh.state is S.EXPIRED and fresh.version == 2
        else:
            assert fresh.state is state and fresh.version == 1
