"""The logged-in home page: a workbench of what waits for the user's company, by role.

Owns: the workbench's reads. Every list comes from its feature's own service or rule table
(sourcing.queries.list_my_requests, matching.queries.top_opportunities, deals.states.RULES,
accounts.company_services.pending_companies); what is added here is counting, scoped to the
user's own company. Writes only what those services write on reading (lapsed requests and
intents are expired first, as their own list pages do).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from marketplace.accounts.company_services import pending_companies
from marketplace.accounts.models import CompanyKind, User
from marketplace.catalog.models import PriceTier, Product, ProductStatus
from marketplace.database import utcnow
from marketplace.deals.models import OrderIntent
from marketplace.deals.services import expire_intents
from marketplace.deals.states import RULES, Action, IntentState, Party
from marketplace.extensions import db
from marketplace.i18n import today_in_china
from marketplace.matching.models import Match
from marketplace.matching.queries import top_opportunities
from marketplace.sourcing.queries import RequestFilter, list_my_requests
from marketplace.sourcing.states import RequestState

OPEN_REQUESTS_SHOWN = 10
OPPORTUNITIES_SHOWN = 5
WAITING_SHOWN = 10
PENDING_SHOWN = 5
#: a match first seen this recently counts as new
NEW_MATCH_DAYS = 7
#: the moves that answer the other side (or send the buyer's own draft): an intent where the
#: company's side may make one of them is waiting for it (withdraw / decline / fulfil are always
#: open to a side and do not mean the other side is waiting)
_ANSWERS = frozenset({Action.SUBMIT, Action.ACCEPT, Action.SIGN})


@dataclass
class RequestRow:
    """One of the buyer's open requests with its matches (new: first seen this week) and quotes."""

    request: object
    matches: int = 0
    new_matches: int = 0
    live_quotes: int = 0
    quotes: int = 0


@dataclass
class ReadinessGaps:
    """How many of the exporter's published products miss each part buyers look for."""

    published: int = 0
    not_ready: int = 0
    no_price: int = 0
    no_capacity: int = 0
    with_gaps: int = 0  # products missing at least one of the three


@dataclass
class Workbench:
    """What the home page shows a logged-in user; ``blocks`` names the sections in order."""

    blocks: list[str] = field(default_factory=list)
    open_requests: list[RequestRow] = field(default_factory=list)
    open_requests_total: int = 0
    opportunities: list[Match] = field(default_factory=list)
    waiting: list[OrderIntent] = field(default_factory=list)
    waiting_total: int = 0
    readiness: ReadinessGaps | None = None
    pending: list = field(default_factory=list)
    pending_total: int = 0


def build_workbench(user: User) -> Workbench | None:
    """The workbench of the user's role and company kind; None when it has nothing for them (the plain home)."""
    if not getattr(user, "is_authenticated", False) or user.company is None:
        return None
    kind = user.company.kind
    bench = Workbench()
    if kind.is_buyer or kind is CompanyKind.EXPORTER:
        # as the intents list does, first (it ends the session's transaction): a lapsed intent waits for nobody
        expire_intents(company_id=user.company_id)
    if kind.is_buyer:
        _fill_buyer(user, bench)
    elif kind is CompanyKind.EXPORTER:
        _fill_exporter(user, bench)
    if user.is_organizer:
        page = pending_companies(page=1, per_page=PENDING_SHOWN)
        bench.pending, bench.pending_total = list(page.items), page.total or 0
        bench.blocks.append("verification")
    return bench if bench.blocks else None


def _fill_buyer(user: User, bench: Workbench) -> None:
    page, quote_counts = list_my_requests(user, RequestFilter(state=RequestState.OPEN), page=1,
                                          per_page=OPEN_REQUESTS_SHOWN)
    ids = [r.id for r in page.items]
    matches = match_counts(ids)
    bench.open_requests = [
        RequestRow(r, *matches.get(r.id, (0, 0)), *quote_counts.get(r.id, (0, 0))) for r in page.items
    ]
    bench.open_requests_total = page.total or 0
    bench.blocks.append("requests")
    _fill_waiting(user, bench)


def _fill_exporter(user: User, bench: Workbench) -> None:
    company_id = user.company_id
    bench.opportunities = top_opportunities(company_id, OPPORTUNITIES_SHOWN)
    bench.blocks.append("opportunities")
    _fill_waiting(user, bench)
    bench.readiness = readiness_gaps(company_id)
    bench.blocks.append("readiness")


def _fill_waiting(user: User, bench: Workbench) -> None:
    condition = waiting_condition(user.company_id)
    bench.waiting = list(db.session.scalars(
        sa.select(OrderIntent).where(condition)
        .options(selectinload(OrderIntent.buyer_company), selectinload(OrderIntent.exporter_company))
        .order_by(OrderIntent.updated_at.desc(), OrderIntent.id.desc()).limit(WAITING_SHOWN)))
    bench.waiting_total = db.session.scalar(sa.select(sa.func.count()).select_from(OrderIntent).where(condition))
    bench.blocks.append("waiting")


# --------------------------------------------------------------------------- the queries


def match_counts(request_ids: list[int]) -> dict[int, tuple[int, int]]:
    """request id → (matching products, those first seen within the last NEW_MATCH_DAYS days)."""
    if not request_ids:
        return {}
    since = utcnow() - timedelta(days=NEW_MATCH_DAYS)
    new = sa.func.sum(sa.case((Match.first_seen_at >= since, 1), else_=0))
    rows = db.session.execute(
        sa.select(Match.request_id, sa.func.count(), new).where(Match.request_id.in_(request_ids))
        .group_by(Match.request_id)).all()
    return {request_id: (int(total), int(fresh or 0)) for request_id, total, fresh in rows}


def _states_for(party: Party) -> tuple[set[IntentState], set[IntentState]]:
    """(states where ``party`` may answer, states where it may only sign), read from the state machine."""
    answer = {r.source for r in RULES if r.party is party and r.action in _ANSWERS and r.action is not Action.SIGN}
    sign = {r.source for r in RULES if r.party is party and r.action is Action.SIGN} - answer
    return answer, sign


def waiting_condition(company_id: int):
    """SQL: the intents where it is this company's move (its side may answer, or has yet to sign)."""
    sides = []
    for party, own, signed_at in (
        (Party.BUYER, OrderIntent.buyer_company_id, OrderIntent.buyer_signed_at),
        (Party.EXPORTER, OrderIntent.exporter_company_id, OrderIntent.exporter_signed_at),
    ):
        answer, sign = _states_for(party)
        turn = sa.or_(OrderIntent.state.in_(answer), sa.and_(OrderIntent.state.in_(sign), signed_at.is_(None)))
        side = sa.and_(own == company_id, turn)
        if party is Party.EXPORTER:  # an exporter never sees the buyer's draft (deals.services.party_of)
            side = sa.and_(side, OrderIntent.state != IntentState.DRAFT)
        sides.append(side)
    return sa.or_(*sides)


def readiness_gaps(company_id: int) -> ReadinessGaps:
    """Counts of the company's published products that are not domestic-ready, have no price, or state
    neither monthly capacity nor stock (readiness is the product's own ``is_domestic_ready``)."""
    has_price = sa.exists().where(PriceTier.product_id == Product.id)
    rows = db.session.execute(
        sa.select(Product, has_price)
        .where(Product.company_id == company_id, Product.status == ProductStatus.PUBLISHED)
        .options(selectinload(Product.certifications))).all()
    today = today_in_china()
    gaps = ReadinessGaps(published=len(rows))
    for product, priced in rows:
        not_ready = not product.is_domestic_ready(today)
        no_capacity = not (product.monthly_capacity or product.stock_quantity)
        gaps.not_ready += not_ready
        gaps.no_price += not priced
        gaps.no_capacity += no_capacity
        gaps.with_gaps += bool(not_ready or not priced or no_capacity)
    return gaps
