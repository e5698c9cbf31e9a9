"""Demo sourcing data: requests in every state from chain leaders and retailers, quotes in every state, and
one awarded request whose order intent exists with the quote's terms."""
from __future__ import annotations

import sqlalchemy as sa

from marketplace.accounts.models import CompanyKind
from marketplace.deals.models import OrderIntent
from marketplace.extensions import db
from marketplace.sourcing.models import ProcurementRequest, Quote, QuoteRevision, RequestEvent
from marketplace.sourcing.states import QuoteState, RequestState, Visibility

LOAD = ["demo", "load", "--companies", "12", "--products", "120"]


def test_demo_load_adds_requests_and_quotes_in_every_state(app, runner):
    result = runner.invoke(args=LOAD)
    assert result.exit_code == 0, result.output
    with app.app_context():
        requests = db.session.scalars(sa.select(ProcurementRequest)).all()
        assert {r.state for r in requests} == set(RequestState)
        assert {r.buyer_company.kind for r in requests} <= {CompanyKind.CHAIN_LEADER, CompanyKind.RETAILER}
        assert any(r.visibility is Visibility.INVITED and r.invitations for r in requests)
        quotes = db.session.scalars(sa.select(Quote)).all()
        assert {q.state for q in quotes} == set(QuoteState)
        # histories agree with the version counters
        for request in requests:
            count = db.session.scalar(sa.select(sa.func.count()).select_from(RequestEvent)
                                      .where(RequestEvent.request_id == request.id))
            assert request.version == count and request.events[-1].to_state is request.state
        for quote in quotes:
            count = db.session.scalar(sa.select(sa.func.count()).select_from(QuoteRevision)
                                      .where(QuoteRevision.quote_id == quote.id))
            assert quote.version == count
        awarded = next(q for q in quotes if q.state is QuoteState.AWARDED)
        intent = db.session.scalar(sa.select(OrderIntent).where(OrderIntent.quote_id == awarded.id))
        assert intent is not None and intent.request_id == awarded.request_id
        assert intent.unit_price_fen == awarded.unit_price_fen
        # some requests fit demo products (quotes name one), one fits nothing (no quotes)
        assert any(q.product_id for q in quotes)
        assert any(not r.quotes and r.state is RequestState.OPEN for r in requests)
