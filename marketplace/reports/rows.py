"""The rows behind every figure: registrations, companies, demand lines, matches, quotes, meetings, intents.

Each list is a selection of sessions (``figures.select_sessions``: the viewer's scope, the filter, a group or
one session) and the same predicates the figures count with (``figures.registration_counted`` …), so a
figure's number is the length of its list. Each kind declares its columns once (``Col``): the page's table
and the XLSX sheets both read them. Reads only.
"""
from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from marketplace.accounts.models import Company
from marketplace.catalog.categories import CATEGORY_BY_CODE
from marketplace.deals.models import OrderIntent, OrderIntentEvent
from marketplace.deals.states import IntentState
from marketplace.errors import NotFound
from marketplace.extensions import db
from marketplace.i18n import _l
from marketplace.inputs import ListPage, query_id
from marketplace.matching.models import ArchivedMatch, Match
from marketplace.reports import figures as fig
from marketplace.sessions.models import MatchmakingSession, Meeting, ParticipantRole, SessionRegistration
from marketplace.sourcing.models import ProcurementRequest, Quote

PER_PAGE = 50


@dataclass(frozen=True)
class Col:
    """A column of a list: its key in the row, its header, how it is shown, whether the totals row sums it."""

    key: str
    label: object
    kind: str = "text"  # text, number, money, datetime, date, flag, label (an enum), region, category, score
    total: bool = False
    width: int = 14
    #: shown on the page too (the unit is shown beside its quantity there; the files keep it a column)
    web: bool = True


@dataclass(frozen=True)
class RowFilter:
    """Narrowing a list to the rows of one figure (``?attended=1``, ``?state=signed``, ``?group=signed`` …)."""

    attended: bool = False
    role: ParticipantRole | None = None
    tariff_hit: bool = False
    zjtx: bool = False
    state: IntentState | None = None
    group: str | None = None  # intents: all / standing / signed
    product: int | None = None  # intents of one product
    category: str | None = None  # intents of one catalog category ('' for none known)

    def args(self) -> dict[str, str]:
        values = {"attended": "1" if self.attended else "", "role": self.role.value if self.role else "",
                  "tariff_hit": "1" if self.tariff_hit else "", "zjtx": "1" if self.zjtx else "",
                  "state": self.state.value if self.state else "", "group": self.group or "",
                  "product": str(self.product) if self.product else "", "category": self.category or ""}
        return {key: value for key, value in values.items() if value}

    @classmethod
    def from_args(cls, args) -> RowFilter:
        """From query arguments; anything unknown is ignored."""
        roles = {r.value: r for r in ParticipantRole}
        states = {s.value: s for s in fig.INTENT_STATES}
        group = args.get("group", "")
        category = args.get("category")
        return cls(attended=args.get("attended") == "1", role=roles.get(args.get("role", "")),
                   tariff_hit=args.get("tariff_hit") == "1", zjtx=args.get("zjtx") == "1",
                   state=states.get(args.get("state", "")), group=group if group in fig.INTENT_GROUPS else None,
                   product=query_id(args.get("product")),
                   category=category if category == "" or category in CATEGORY_BY_CODE else None)


@dataclass(frozen=True)
class Kind:
    key: str
    title: object
    columns: tuple[Col, ...]


_SESSION = Col("session_title", _l("Session"), "session", width=28)
KINDS = {
    "registrations": Kind("registrations", _l("Registration list"), (
        _SESSION, Col("company", _l("Company"), width=30), Col("role", _l("Role"), "label", width=8),
        Col("status", _l("Registration status"), "label"), Col("checked_in_at", _l("Checked in at"), "datetime", width=18),
        Col("tariff", _l("Tariff-hit"), "flag", width=9), Col("zjtx", _l("专精特新"), "flag", width=9),
        Col("province", _l("Province"), "region", width=10))),
    "companies": Kind("companies", _l("Participating companies"), (
        Col("company", _l("Company"), width=30), Col("uscc", _l("Unified social credit code"), width=20),
        Col("kind", _l("Kind"), "label", width=16), Col("province", _l("Province"), "region", width=10),
        Col("city", _l("City"), "region", width=10), Col("sessions", _l("Sessions"), "number", True, 8),
        Col("attended", _l("Attended"), "number", True, 8), Col("tariff", _l("Tariff-hit"), "flag", width=9),
        Col("zjtx", _l("专精特新"), "flag", width=9))),
    "requests": Kind("requests", _l("Demand lines"), (
        _SESSION, Col("title", _l("Request"), width=30), Col("buyer", _l("Buyer"), width=26),
        Col("category", _l("Category"), "category"), Col("quantity", _l("Quantity"), "number", True, 10),
        Col("unit", _l("Unit"), width=6, web=False), Col("deadline", _l("Quotes by"), "date", width=12),
        Col("state", _l("State"), "label", width=10))),
    "matches": Kind("matches", _l("Matches"), (
        _SESSION, Col("request_title", _l("Request"), width=30), Col("product_title", _l("Product"), width=30),
        Col("exporter", _l("Exporter"), width=26), Col("score", _l("Score"), "score", width=8))),
    "quotes": Kind("quotes", _l("Quotes"), (
        _SESSION, Col("request_title", _l("Request"), width=30), Col("exporter", _l("Exporter"), width=26),
        Col("unit_price_fen", _l("Unit price"), "money"), Col("quantity", _l("Quantity"), "number", True, 10),
        Col("state", _l("State"), "label", width=10), Col("created_at", _l("Quoted at"), "datetime", width=18))),
    "meetings": Kind("meetings", _l("Meetings"), (
        _SESSION, Col("slot_start", _l("Time"), "datetime", width=18), Col("table_no", _l("Table"), "number", width=6),
        Col("buyer", _l("Buyer"), width=26), Col("exporter", _l("Exporter"), width=26))),
    "intents": Kind("intents", _l("Order intents"), (
        Col("id", _l("No."), "intent", width=8), _SESSION, Col("buyer", _l("Buyer"), width=26),
        Col("exporter", _l("Exporter"), width=26), Col("product_title", _l("Product"), width=28),
        Col("quantity", _l("Quantity"), "number", False, 10), Col("unit", _l("Unit"), width=6, web=False),
        Col("amount_fen", _l("Amount"), "money", True, 16), Col("state", _l("State"), "label", width=12),
        Col("created_at", _l("Made at"), "datetime", width=18))),
}


def _in(column, ids):
    return column.in_(ids) if ids else sa.false()


def _session_title():
    return MatchmakingSession.title.label("session_title")


def query(kind: str, session_ids: list[int], rf: RowFilter | None = None) -> sa.Select:
    """The rows of ``kind`` for the sessions, narrowed by ``rf``; columns named as ``KINDS[kind].columns``."""
    rf = rf or RowFilter()
    if kind == "registrations":
        reg = SessionRegistration
        q = (sa.select(reg.id, reg.session_id, _session_title(), reg.company_id, Company.name_zh.label("company"),
                       reg.role, reg.status, reg.checked_in_at, fig.tariff_hit(reg.company_id).label("tariff"),
                       fig.zjtx(reg.company_id).label("zjtx"), Company.province_code.label("province"))
             .join(MatchmakingSession, MatchmakingSession.id == reg.session_id)
             .join(Company, Company.id == reg.company_id)
             .where(_in(reg.session_id, session_ids), fig.registration_counted())
             .order_by(MatchmakingSession.starts_at, reg.session_id, reg.id))
        if rf.attended:
            q = q.where(fig.registration_attended())
        if rf.role:
            q = q.where(reg.role == rf.role)
        if rf.tariff_hit:
            q = q.where(fig.tariff_hit(reg.company_id))
        if rf.zjtx:
            q = q.where(fig.zjtx(reg.company_id))
        return q
    if kind == "companies":
        reg = SessionRegistration
        attended = sa.case((fig.registration_attended(), 1), else_=0)
        inner = (sa.select(reg.company_id.label("cid"), sa.func.count().label("sessions"),
                           sa.func.sum(attended).label("attended"))
                 .where(_in(reg.session_id, session_ids), fig.registration_counted())
                 .group_by(reg.company_id).subquery())
        q = (sa.select(Company.id.label("id"), Company.id.label("company_id"), Company.name_zh.label("company"),
                       Company.uscc, Company.kind, Company.province_code.label("province"),
                       Company.city_code.label("city"), inner.c.sessions, inner.c.attended,
                       fig.tariff_hit(Company.id).label("tariff"), fig.zjtx(Company.id).label("zjtx"))
             .join(inner, inner.c.cid == Company.id).order_by(Company.id))
        if rf.attended:
            q = q.where(inner.c.attended > 0)
        if rf.tariff_hit:
            q = q.where(fig.tariff_hit(Company.id))
        if rf.zjtx:
            q = q.where(fig.zjtx(Company.id))
        return q
    if kind == "requests":
        req = ProcurementRequest
        return (sa.select(req.id, req.session_id, _session_title(), req.title, Company.name_zh.label("buyer"),
                          req.buyer_company_id, req.category, req.quantity, req.unit, req.deadline, req.state)
                .join(MatchmakingSession, MatchmakingSession.id == req.session_id)
                .join(Company, Company.id == req.buyer_company_id)
                .where(_in(req.session_id, session_ids), fig.request_counted())
                .order_by(MatchmakingSession.starts_at, req.session_id, req.id))
    if kind == "matches":
        from marketplace.catalog.models import Product

        req = ProcurementRequest

        def of(model):  # the live matches of open demand lines, and those kept when a line closed
            return (sa.select(model.id, req.session_id, _session_title(), req.title.label("request_title"),
                              Product.title_zh.label("product_title"), model.product_id,
                              Company.name_zh.label("exporter"), model.exporter_id,
                              (model.score_x10 / 10.0).label("score"), MatchmakingSession.starts_at.label("starts_at"),
                              req.id.label("request_id"))
                    .join(req, req.id == model.request_id)
                    .join(MatchmakingSession, MatchmakingSession.id == req.session_id)
                    .join(Product, Product.id == model.product_id)
                    .join(Company, Company.id == model.exporter_id)
                    .where(_in(req.session_id, session_ids), fig.request_counted()))

        both = sa.union_all(of(Match), of(ArchivedMatch)).subquery()
        return sa.select(both).order_by(both.c.starts_at, both.c.session_id, both.c.request_id, both.c.score.desc(),
                                        both.c.id)
    if kind == "quotes":
        req = ProcurementRequest
        return (sa.select(Quote.id, req.session_id, _session_title(), req.title.label("request_title"),
                          Company.name_zh.label("exporter"), Quote.exporter_company_id, Quote.unit_price_fen,
                          Quote.quantity, Quote.state, Quote.created_at)
                .join(req, req.id == Quote.request_id)
                .join(MatchmakingSession, MatchmakingSession.id == req.session_id)
                .join(Company, Company.id == Quote.exporter_company_id)
                .where(_in(req.session_id, session_ids), fig.request_counted(), fig.quote_counted())
                .order_by(MatchmakingSession.starts_at, req.session_id, req.id, Quote.id))
    if kind == "meetings":
        buyer, exporter = aliased(Company), aliased(Company)
        return (sa.select(Meeting.id, Meeting.session_id, _session_title(), Meeting.slot_start, Meeting.table_no,
                          buyer.name_zh.label("buyer"), exporter.name_zh.label("exporter"))
                .join(MatchmakingSession, MatchmakingSession.id == Meeting.session_id)
                .join(buyer, buyer.id == Meeting.buyer_company_id)
                .join(exporter, exporter.id == Meeting.exporter_company_id)
                .where(_in(Meeting.session_id, session_ids), fig.meeting_live())
                .order_by(MatchmakingSession.starts_at, Meeting.session_id, Meeting.slot_start, Meeting.table_no))
    if kind == "intents":
        buyer, exporter = aliased(Company), aliased(Company)
        q = (sa.select(OrderIntent.id, OrderIntent.session_id, _session_title(), buyer.name_zh.label("buyer"),
                       exporter.name_zh.label("exporter"), OrderIntent.product_id, OrderIntent.product_title,
                       OrderIntent.quantity, OrderIntent.unit, OrderIntent.amount_fen, OrderIntent.state,
                       OrderIntent.created_at)
             .join(MatchmakingSession, MatchmakingSession.id == OrderIntent.session_id)
             .join(buyer, buyer.id == OrderIntent.buyer_company_id)
             .join(exporter, exporter.id == OrderIntent.exporter_company_id)
             .where(_in(OrderIntent.session_id, session_ids), fig.intent_counted())
             .order_by(MatchmakingSession.starts_at, OrderIntent.session_id, OrderIntent.id))
        if rf.state:
            q = q.where(OrderIntent.state == rf.state)
        if rf.group:
            q = q.where(OrderIntent.state.in_(fig.INTENT_GROUPS[rf.group]))
        if rf.product:
            q = q.where(OrderIntent.product_id == rf.product)
        if rf.category is not None:
            q = q.where(fig.intent_category(rf.category))
        return q
    raise NotFound(_l("There is no such list."))


@dataclass
class Page(ListPage):
    """One page of a list, with what the pagination macro asks of it, and the list's totals."""

    sums: dict[str, int] = field(default_factory=dict)


def page(kind: str, session_ids: list[int], rf: RowFilter, number: int = 1, per_page: int = PER_PAGE) -> Page:
    """A page of the list, its row count and the sums of its summed columns (over the whole list)."""
    spec = KINDS.get(kind)
    if spec is None:
        raise NotFound(_l("There is no such list."))
    q = query(kind, session_ids, rf)
    inner = q.order_by(None).subquery()
    summed = [c.key for c in spec.columns if c.total]
    totals = db.session.execute(sa.select(sa.func.count(), *[sa.func.sum(inner.c[key]) for key in summed])
                                .select_from(inner)).one()
    count = int(totals[0])
    sums = {key: int(value or 0) for key, value in zip(summed, totals[1:], strict=True)}
    last = max(1, math.ceil(count / per_page))
    number = min(max(number, 1), last)
    items = list(db.session.execute(q.limit(per_page).offset((number - 1) * per_page)))
    return Page(items=items, page=number, per_page=per_page, total=count, sums=sums)


def every(kind: str, session_ids: list[int], rf: RowFilter | None = None) -> Iterator:
    """Every row of the list (the files), streamed."""
    yield from db.session.connection().execute(query(kind, session_ids, rf).execution_options(yield_per=2000))


# --------------------------------------------------------------------------- one intent


@dataclass
class IntentView:
    intent: OrderIntent
    session: fig.SessionInfo
    events: list[OrderIntentEvent]


def get_intent(scope: fig.Scope, intent_id: int) -> IntentView:
    """An intent made at one of the scope's sessions (drafts excluded); ``NotFound`` otherwise."""
    intent = db.session.get(OrderIntent, intent_id)
    if intent is None or intent.session_id is None or intent.state is IntentState.DRAFT:
        raise NotFound(_l("This order intent does not exist."))
    found = fig.select_sessions(scope, session_id=intent.session_id)
    if not found:
        raise NotFound(_l("This order intent does not exist."))
    return IntentView(intent=intent, session=found[0], events=list(intent.events))
