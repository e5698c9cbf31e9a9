"""Sourcing queries: what the pages and exports read — the request and quote pages, the lists with their
counts, the buyer's comparison and its XLSX export.

Owns: reading only (the lists expire lapsed requests first through ``services``). Every query is
scoped to what the actor may see: a buyer reads its own requests and every quote on them; an
exporter reads the open requests it may see and its own quotes, never a competitor's.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from markupsafe import Markup
from sqlalchemy.orm import selectinload

from marketplace import regions
from marketplace.accounts.models import Company, CompanyKind, User, Verification
from marketplace.catalog.categories import CERTIFICATION_KINDS
from marketplace.catalog.models import Product, ProductStatus
from marketplace.deals.models import OrderIntent
from marketplace.extensions import db
from marketplace.i18n import _, fen_to_yuan
from marketplace.inputs import page_number
from marketplace.search.services import SearchParams, highlighted, search_requests_index
from marketplace.sourcing.models import (
    ProcurementRequest,
    Quote,
    QuoteRevision,
    RequestEvent,
    RequestInvitation,
)
from marketplace.sourcing.services import (
    PER_PAGE,
    award_quantity,
    expire_requests,
    exporter_can_see,
    get_own_request,
    load_quote,
    party_of,
    require_buyer,
    require_exporter,
    today_in_china,
)
from marketplace.sourcing.states import (
    LIVE_QUOTE_STATES,
    READINESS_LABELS,
    Party,
    QuoteState,
    RequestState,
    Visibility,
    quote_actions,
    request_actions,
)
from search_index import SearchResults

#: invited-only requests listed above the board's search results
BOARD_INVITATIONS = 20

# --------------------------------------------------------------------------- pages


def request_view(viewer: User, request: ProcurementRequest) -> dict:
    """What the request page needs beyond the request: the viewer's side, buttons, quotes or own quote, history."""
    party = party_of(viewer, request)
    view = {"party": party, "actions": [], "own_quote": None, "quote_actions": [], "quote_counts": None,
            "events": [], "can_quote": False}
    if party is Party.BUYER:
        view["actions"] = request_actions(request.state)
        view["events"] = db.session.scalars(
            sa.select(RequestEvent).where(RequestEvent.request_id == request.id)
            .options(selectinload(RequestEvent.actor_user), selectinload(RequestEvent.actor_company))
            .order_by(RequestEvent.id)).all()
        view["quote_counts"] = quote_counts([request.id]).get(request.id, (0, 0))
    elif party is Party.EXPORTER:
        own = db.session.scalar(sa.select(Quote).where(Quote.request_id == request.id,
                                                       Quote.exporter_company_id == viewer.company_id))
        view["own_quote"] = own
        if own is not None:
            view["quote_actions"] = quote_actions(own.state, Party.EXPORTER, request.state)
        view["can_quote"] = request.state is RequestState.OPEN and (own is None or own.state is QuoteState.WITHDRAWN)
    return view


def quote_view(viewer: User, quote: Quote) -> dict:
    """The quote page: the viewer's side, its actions, the revisions."""
    _quote, party = load_quote(viewer, quote.id)
    return {
        "party": party,
        "actions": quote_actions(quote.state, party, quote.request.state),
        "revisions": db.session.scalars(
            sa.select(QuoteRevision).where(QuoteRevision.quote_id == quote.id)
            .options(selectinload(QuoteRevision.actor_user), selectinload(QuoteRevision.actor_company))
            .order_by(QuoteRevision.id)).all(),
        "intent": db.session.scalar(sa.select(OrderIntent).where(OrderIntent.quote_id == quote.id))
        if party is Party.BUYER or quote.state is QuoteState.AWARDED else None,
    }


def own_products(actor: User) -> list[Product]:
    """The exporter's published products, for the quote form's product choice."""
    return list(db.session.scalars(
        sa.select(Product).where(Product.company_id == actor.company_id, Product.status == ProductStatus.PUBLISHED)
        .order_by(Product.title_zh).limit(500)
    ).all())


def invitable_exporters() -> list[tuple[int, str]]:
    """(id, name) of every verified exporter, for the invitation choice."""
    rows = db.session.execute(
        sa.select(Company.id, Company.name_zh).where(Company.kind == CompanyKind.EXPORTER,
                                                     Company.verification == Verification.VERIFIED)
        .order_by(Company.name_zh).limit(2000)).all()
    return [(row.id, row.name_zh) for row in rows]


def quote_counts(request_ids: list[int]) -> dict[int, tuple[int, int]]:
    """request id → (live quotes, all quotes but withdrawn); for the buyer's own requests only."""
    if not request_ids:
        return {}
    live = sa.func.sum(sa.case((Quote.state.in_(LIVE_QUOTE_STATES), 1), else_=0))
    rows = db.session.execute(
        sa.select(Quote.request_id, live, sa.func.count()).where(Quote.request_id.in_(request_ids),
                                                                 Quote.state != QuoteState.WITHDRAWN)
        .group_by(Quote.request_id)).all()
    return {request_id: (int(live_count or 0), int(total)) for request_id, live_count, total in rows}


@dataclass
class RequestFilter:
    """List filters: state, category, delivery province, title text."""

    state: RequestState | None = None
    category: str | None = None
    province: str | None = None
    text: str | None = None

    @property
    def active(self) -> bool:
        return any((self.state, self.category, self.province, (self.text or "").strip()))


def _filter_conditions(filters: RequestFilter) -> list:
    conditions = []
    if filters.state is not None:
        conditions.append(ProcurementRequest.state == filters.state)
    if filters.category:
        conditions.append(ProcurementRequest.category == filters.category)
    if filters.province:
        conditions.append(ProcurementRequest.delivery_province_code == filters.province)
    text = (filters.text or "").strip()[:100]
    if text:
        conditions.append(ProcurementRequest.title.icontains(text, autoescape=True))
    return conditions


def my_requests_statement(actor: User, filters: RequestFilter):
    """The buyer company's own requests under ``filters`` (unordered; due ones expired first)."""
    company = require_buyer(actor, verified=False)
    expire_requests()
    return sa.select(ProcurementRequest).where(ProcurementRequest.buyer_company_id == company.id,
                                               *_filter_conditions(filters))


def open_requests_statement(actor: User, filters: RequestFilter):
    """The open requests the exporter may see (public, or invited) under ``filters`` (unordered), buyers loaded."""
    company = require_exporter(actor)
    expire_requests()
    filters = replace(filters, state=None)
    return (sa.select(ProcurementRequest)
            .where(ProcurementRequest.state == RequestState.OPEN, ProcurementRequest.deadline >= today_in_china(),
                   exporter_can_see().params(company=company.id), *_filter_conditions(filters))
            .options(selectinload(ProcurementRequest.buyer_company)))


def list_my_requests(actor: User, filters: RequestFilter, page=1, per_page: int = PER_PAGE):
    """A page of the buyer company's own requests, newest first, with quote counts: (page, counts)."""
    query = my_requests_statement(actor, filters).order_by(ProcurementRequest.created_at.desc(),
                                                           ProcurementRequest.id.desc())
    result = db.paginate(query, page=page_number(page), per_page=per_page, error_out=False, count=True)
    return result, quote_counts([r.id for r in result.items])


def list_open_requests(actor: User, filters: RequestFilter, page=1, per_page: int = PER_PAGE):
    """A page of the open requests the exporter may see (public, or invited), newest first: (page, my quotes)."""
    company = require_exporter(actor)
    query = open_requests_statement(actor, filters).order_by(ProcurementRequest.published_at.desc(),
                                                             ProcurementRequest.id.desc())
    result = db.paginate(query, page=page_number(page), per_page=per_page, error_out=False, count=True)
    ids = [r.id for r in result.items]
    mine = {}
    if ids:
        mine = dict(db.session.execute(
            sa.select(Quote.request_id, Quote.state).where(Quote.request_id.in_(ids),
                                                           Quote.exporter_company_id == company.id)).all())
    return result, mine


@dataclass
class FoundRequest:
    """A board row: the request and its highlighted title and description excerpt (safe HTML)."""

    request: ProcurementRequest
    title_html: Markup
    snippet_html: Markup | None


@dataclass
class BoardSearch:
    """The request board: a page of open public requests from the search index, the exporter's own quotes
    on them, and the invited-only requests it may quote on (from the database: never in the index)."""

    params: SearchParams
    results: SearchResults | None
    items: list[FoundRequest]
    facets: dict
    errors: list[str]
    notices: list[str]
    mine: dict = field(default_factory=dict)
    invitations: list[ProcurementRequest] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.results.total if self.results else 0

    @property
    def page(self) -> int:
        return self.results.page if self.results else 1

    @property
    def pages(self) -> int:
        return self.results.pages if self.results else 1

    @property
    def suggestion(self) -> str | None:
        return self.results.suggestion if self.results else None


def search_board(actor: User | None, params: SearchParams, errors: list[str] | None = None) -> BoardSearch:
    """The request board for an exporter (``actor``; None: the command line): words, filters with counts,
    sort and pages over the public request index, rows re-checked in the database (the index may lag)."""
    company = require_exporter(actor) if actor is not None else None
    results, facets, notices = search_requests_index(params)
    ids = [hit.id for hit in results.hits]
    today = today_in_china()
    rows = {r.id: r for r in db.session.scalars(
        sa.select(ProcurementRequest).where(
            ProcurementRequest.id.in_(ids), ProcurementRequest.state == RequestState.OPEN,
            ProcurementRequest.visibility == Visibility.PUBLIC, ProcurementRequest.deadline >= today)
        .options(selectinload(ProcurementRequest.buyer_company)))} if ids else {}
    items = [FoundRequest(rows[i], highlighted(rows[i].title, results.terms),
                          highlighted(rows[i].description, results.terms, maxchars=120))
             for i in ids if i in rows]
    found = BoardSearch(params=params, results=results, items=items, facets=facets, errors=list(errors or []),
                        notices=notices)
    if company is not None:
        found.invitations = list(db.session.scalars(
            sa.select(ProcurementRequest).where(
                ProcurementRequest.state == RequestState.OPEN, ProcurementRequest.visibility == Visibility.INVITED,
                ProcurementRequest.deadline >= today,
                sa.exists().where(RequestInvitation.request_id == ProcurementRequest.id,
                                  RequestInvitation.company_id == company.id))
            .options(selectinload(ProcurementRequest.buyer_company))
            .order_by(ProcurementRequest.deadline, ProcurementRequest.id).limit(BOARD_INVITATIONS)))
        shown = [r.id for r in found.invitations] + [item.request.id for item in items]
        if shown:
            found.mine = dict(db.session.execute(
                sa.select(Quote.request_id, Quote.state).where(Quote.request_id.in_(shown),
                                                               Quote.exporter_company_id == company.id)).all())
    return found


def board_as_dict(found: BoardSearch) -> dict:
    """The stable ``--json`` shape of ``flask search requests`` (like ``flask search products``)."""
    return {
        "query": found.params.text, "total": found.total, "page": found.page, "pages": found.pages,
        "suggestion": found.suggestion, "errors": found.errors, "notices": found.notices,
        "results": [
            {"id": r.id, "title": r.title, "buyer": r.buyer_company.name_zh, "buyer_company_id": r.buyer_company_id,
             "category": r.category, "hs_code": r.hs_code, "quantity": r.quantity, "unit": r.unit,
             "target_unit_price_fen": r.target_unit_price_fen, "budget_fen": r.budget_fen,
             "province": r.delivery_province_code, "city": r.delivery_city_code,
             "certifications": list(r.required_certifications or []), "deadline": r.deadline.isoformat()}
            for r in (item.request for item in found.items)
        ],
        "facets": {name: [{"value": v.value, "label": v.label, "count": v.count} for v in values]
                   for name, values in found.facets.items()},
    }


def list_my_quotes(actor: User, page=1, per_page: int = PER_PAGE):
    """A page of the exporter company's own quotes, newest first."""
    company = require_exporter(actor)
    expire_requests()
    query = (sa.select(Quote).where(Quote.exporter_company_id == company.id)
             .options(selectinload(Quote.request).selectinload(ProcurementRequest.buyer_company))
             .order_by(Quote.updated_at.desc(), Quote.id.desc()))
    return db.paginate(query, page=page_number(page), per_page=per_page, error_out=False, count=True)


# --------------------------------------------------------------------------- comparison


@dataclass
class QuoteRow:
    """One quote in the buyer's comparison, with everything computed against the request."""

    quote: Quote
    amount_fen: int
    quantity: int
    vs_target: Decimal | None  # percent above (+) or below (−) the target unit price
    vs_budget: Decimal | None  # percent of the budget the amount takes
    moq_fits: bool
    certs_held: list[str] = field(default_factory=list)
    certs_missing: list[str] = field(default_factory=list)
    readiness_held: list[str] = field(default_factory=list)
    readiness_missing: list[str] = field(default_factory=list)
    same_province: bool = False
    tags: list = field(default_factory=list)
    tariff_hit: bool = False
    verified: bool = False
    lapsed: bool = False


def _readiness_of(product: Product | None) -> set[str]:
    """The readiness items the quoted product meets today (an expired CCC is not met)."""
    return set(product.readiness_met()) if product is not None else set()


def _percent(part: int, whole: int) -> Decimal:
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"))


def _row(quote: Quote, request: ProcurementRequest, today: date) -> QuoteRow:
    quantity = award_quantity(quote, request)
    amount = quantity * quote.unit_price_fen
    product = quote.product
    held_certs = {c.kind for c in (product.certifications if product else []) if not c.is_expired(today)}
    required = list(request.required_certifications or [])
    readiness = _readiness_of(product)
    wanted = list(request.required_readiness or [])
    company = quote.exporter_company
    return QuoteRow(
        quote=quote, amount_fen=amount, quantity=quantity,
        vs_target=(_percent(quote.unit_price_fen - request.target_unit_price_fen, request.target_unit_price_fen)
                   if request.target_unit_price_fen else None),
        vs_budget=_percent(amount, request.budget_fen) if request.budget_fen else None,
        moq_fits=quote.moq <= request.quantity,
        certs_held=[c for c in required if c in held_certs], certs_missing=[c for c in required if c not in held_certs],
        readiness_held=[r for r in wanted if r in readiness], readiness_missing=[r for r in wanted if r not in readiness],
        same_province=company.province_code == request.delivery_province_code,
        tags=[t.tag for t in company.tags], tariff_hit=bool(company.exposures),
        verified=company.is_verified, lapsed=quote.valid_until < today,
    )


#: ?sort= values of the comparison → key (live quotes always first)
SORTS = {
    "price": lambda r: (r.quote.unit_price_fen, r.quote.id),
    "amount": lambda r: (r.amount_fen, r.quote.id),
    "lead_time": lambda r: (r.quote.lead_time_days, r.quote.unit_price_fen),
    "moq": lambda r: (r.quote.moq, r.quote.unit_price_fen),
    "certifications": lambda r: (len(r.certs_missing) + len(r.readiness_missing), r.quote.unit_price_fen),
    "nearby": lambda r: (not r.same_province, r.quote.unit_price_fen),
    "newest": lambda r: (-r.quote.updated_at.timestamp(), r.quote.id),
}
DEFAULT_SORT = "price"


def compare_quotes(actor: User, request_id: int, sort: str | None = None) -> tuple[ProcurementRequest, list[QuoteRow]]:
    """Every quote on the buyer's own request, side by side, sorted server-side (live ones first)."""
    request = get_own_request(actor, request_id)
    today = today_in_china()
    quotes = db.session.scalars(
        sa.select(Quote).where(Quote.request_id == request.id)
        .options(selectinload(Quote.product).selectinload(Product.certifications),
                 selectinload(Quote.exporter_company).selectinload(Company.tags),
                 selectinload(Quote.exporter_company).selectinload(Company.exposures))
    ).all()
    rows = [_row(quote, request, today) for quote in quotes]
    key = SORTS.get(sort or DEFAULT_SORT, SORTS[DEFAULT_SORT])
    rows.sort(key=lambda r: (not r.quote.state.is_live and r.quote.state is not QuoteState.AWARDED, key(r)))
    return request, rows


CERTIFICATION_LABELS = dict(CERTIFICATION_KINDS)


def certification_label(code: str) -> str:
    """A certification code's label in the current language."""
    return str(CERTIFICATION_LABELS.get(code, code))


def export_comparison(actor: User, request_id: int, sort: str | None = None) -> bytes:
    """The comparison as XLSX in the current language (formula injection neutralised by the catalog's writer)."""
    from marketplace.spreadsheets import write_xlsx

    request, rows = compare_quotes(actor, request_id, sort)
    header = [_("Exporter"), _("Verified"), _("Province"), _("Same province as delivery"), _("Tags"),
              _("Tariff-hit"), _("Unit price (CNY)"), _("Quantity offered"), _("Quantity awarded"),
              _("Amount (CNY)"), _("From target (%)"), _("MOQ"), _("MOQ within requested quantity"),
              _("Lead time (days)"), _("Valid until"), _("Certifications held"), _("Certifications missing"),
              _("Readiness missing"), _("Product"), _("State"), _("Note")]
    data = [
        [row.quote.exporter_company.name_zh, _("Yes") if row.verified else _("No"),
         regions.province(row.quote.exporter_company.province_code).name
         if regions.province(row.quote.exporter_company.province_code) else "",
         _("Yes") if row.same_province else _("No"), "、".join(str(t.label) for t in row.tags),
         _("Yes") if row.tariff_hit else _("No"), fen_to_yuan(row.quote.unit_price_fen), row.quote.quantity,
         row.quantity, fen_to_yuan(row.amount_fen), row.vs_target, row.quote.moq,
         _("Yes") if row.moq_fits else _("No"), row.quote.lead_time_days, row.quote.valid_until.isoformat(),
         "、".join(certification_label(c) for c in row.certs_held),
         "、".join(certification_label(c) for c in row.certs_missing),
         "、".join(str(READINESS_LABELS[r]) for r in row.readiness_missing),
         row.quote.product.title_zh if row.quote.product else "", str(row.quote.state.label),
         row.quote.note or ""]
        for row in rows
    ]
    title = _("Quotes")
    return write_xlsx([(title, header, data)],
                      widths=[[28, 8, 10, 10, 16, 10, 14, 12, 12, 16, 12, 10, 12, 12, 12, 22, 22, 22, 28, 10, 40]])
