"""Demo procurement requests and quotes: requests from the demo chain leaders and retailers in every state,
some that the demo products fit fully, some partly, some not at all; quotes in every state; one
awarded request whose order intent exists.

Owns: building deterministic demo sourcing rows inside the demo loader's transaction (no commit,
no notifications). Histories follow ``states`` rule by rule, so they read like real ones.
"""
from __future__ import annotations

import random
import secrets
from datetime import timedelta

import sqlalchemy as sa

from marketplace.accounts.models import Company, CompanyKind, User, Verification
from marketplace.catalog.models import Product, ProductStatus
from marketplace.database import utcnow
from marketplace.deals.models import OrderIntent, OrderIntentEvent
from marketplace.deals.services import DEFAULT_VALID_DAYS
from marketplace.deals.states import Action, IntentState
from marketplace.extensions import db
from marketplace.i18n import today_in_china
from marketplace.sourcing.models import (
    ProcurementRequest,
    Quote,
    QuoteRevision,
    RequestEvent,
    RequestInvitation,
)
from marketplace.sourcing.states import (
    Party,
    QuoteAction,
    QuoteState,
    RequestAction,
    RequestState,
    Visibility,
    find_quote_rule,
    find_request_rule,
)

S, Q = RequestState, QuoteState
#: (title, description, category, quantity, unit, target price fen, certifications, readiness, state,
#:  visibility, the quotes' final states)
REQUESTS = (
    ("智能电饭煲 4L（门店自有品牌）", "用于华东 300 家门店，需中文包装及说明书，可贴牌。", "small_appliances", 3000, "台", 19900,
     ("CCC",), ("ccc", "chinese_label", "vat_invoice"), S.OPEN, Visibility.PUBLIC,
     (Q.SUBMITTED, Q.SHORTLISTED, Q.WITHDRAWN, Q.DECLINED)),
    ("LED 吸顶灯 24W 三色调光", "商超照明专柜常规款，要求 3C 认证、两年质保。", "lighting", 5000, "盏", 8000,
     ("CCC",), ("ccc",), S.OPEN, Visibility.PUBLIC, (Q.SUBMITTED,)),
    ("超声波加湿器 3L 静音", "社区生活馆冬季集采，需中文包装、可开专票。", "small_appliances", 2000, "台", 8000,
     (), ("chinese_label", "vat_invoice"), S.OPEN, Visibility.PUBLIC, ()),
    ("不锈钢保温杯 500ml", "促销季赠品，需单只彩盒包装。", "kitchenware", 10000, "只", 2600,
     (), ("chinese_label",), S.DRAFT, Visibility.PUBLIC, ()),
    ("儿童益智积木 100 粒", "母婴连锁门店采购，需符合玩具安全国标。", "toys", 2000, "套", 4500,
     ("CCC",), ("ccc", "gb_standard"), S.CLOSED, Visibility.PUBLIC, (Q.SUBMITTED,)),
    ("空气炸锅 5L 可视窗", "年货节主推款，需 12 月中旬前到货。", "small_appliances", 1500, "台", 19900,
     ("CCC",), ("ccc", "chinese_label", "vat_invoice"), S.AWARDED, Visibility.PUBLIC, (Q.AWARDED, Q.SUBMITTED)),
    ("电热水壶 1.7L", "酒店客房用品集采。", "small_appliances", 800, "台", 5200,
     ("CCC",), ("ccc",), S.EXPIRED, Visibility.PUBLIC, (Q.SUBMITTED,)),
    ("商用电磁炉 3500W", "定向邀请：连锁餐饮中央厨房设备更新。", "small_appliances", 200, "台", 42000,
     ("CCC",), ("ccc", "vat_invoice"), S.OPEN, Visibility.INVITED, (Q.SUBMITTED,)),
)
#: request actions leading to each final state
REQUEST_PATHS = {
    S.DRAFT: (), S.OPEN: (RequestAction.PUBLISH,), S.CLOSED: (RequestAction.PUBLISH, RequestAction.CLOSE),
    S.EXPIRED: (RequestAction.PUBLISH, RequestAction.EXPIRE), S.AWARDED: (RequestAction.PUBLISH,),
}
#: quote actions after the first submission, per final state
QUOTE_PATHS = {
    Q.SUBMITTED: (), Q.SHORTLISTED: (QuoteAction.REVISE, QuoteAction.SHORTLIST),
    Q.WITHDRAWN: (QuoteAction.WITHDRAW,), Q.DECLINED: (QuoteAction.DECLINE,), Q.AWARDED: (QuoteAction.AWARD,),
}
NOTES = {QuoteAction.DECLINE: "价格高于目标价较多，本次不予考虑。", QuoteAction.WITHDRAW: "产能已排满，暂时撤回报价。",
         RequestAction.CLOSE: "已收到足够报价。"}


def _first_user(company: Company) -> User:
    return db.session.scalars(sa.select(User).where(User.company_id == company.id).order_by(User.id)).first()


def _exporters_for(category: str, exporters: list[Company]) -> list[tuple[Company, Product | None]]:
    """Verified exporters with a published product of the category first (with that product), then the rest."""
    fitting = []
    for company in exporters:
        product = db.session.scalars(
            sa.select(Product).where(Product.company_id == company.id, Product.category == category,
                                     Product.status == ProductStatus.PUBLISHED).order_by(Product.id)).first()
        fitting.append((company, product))
    return sorted(fitting, key=lambda pair: pair[1] is None)


class _Added(list):
    """History rows, each added to the session as it is made (a flush may come before the end)."""

    def __init__(self, rows):
        super().__init__()
        for row in rows:
            self.append(row)

    def append(self, row) -> None:
        db.session.add(row)
        super().append(row)


class _History:
    """Writes a request's or quote's history rows with increasing versions and times."""

    def __init__(self, rng: random.Random, start):
        self.rng, self.at = rng, start

    def tick(self):
        self.at = self.at + timedelta(hours=self.rng.randint(2, 30))
        return self.at


def add_demo_requests(seed: int, exporters: list[Company], buyers: list[Company]) -> int:
    """Add the demo requests (from the given chain leaders and retailers) with their quotes; returns how many."""
    rng = random.Random(f"demo-requests-{seed}")
    buyers = [b for b in buyers if b.verification is Verification.VERIFIED and b.kind is not CompanyKind.EXPORTER]
    exporters = [e for e in exporters if e.verification is Verification.VERIFIED]
    if not buyers or not exporters:
        return 0
    for index, entry in enumerate(REQUESTS):
        started = utcnow() - timedelta(days=rng.randint(6, 20), hours=rng.randint(0, 23))
        build_request(rng, entry, buyers[index % len(buyers)], exporters, started)
    return len(REQUESTS)


def build_request(rng: random.Random, entry: tuple, buyer: Company, exporters: list[Company], started,
                  session_id: int | None = None, deadline=None) -> ProcurementRequest:
    """One demo request (an entry shaped as ``REQUESTS``') posted by ``buyer`` at ``started``, with its quotes
    and history; on a matchmaking session's demand list when ``session_id`` is given."""
    title, description, category, quantity, unit, target, certs, readiness, state, visibility, quote_states = entry
    buyer_user = _first_user(buyer)
    history = _History(rng, started)
    today = today_in_china()
    if deadline is None:
        deadline = today - timedelta(days=2) if state is S.EXPIRED else today + timedelta(days=rng.randint(7, 30))
    candidates = _exporters_for(category, exporters)
    request = ProcurementRequest(
        buyer_company_id=buyer.id, created_by_id=buyer_user.id, title=title, description=description,
        category=category, quantity=quantity, unit=unit, target_unit_price_fen=target,
        delivery_province_code=buyer.province_code, delivery_city_code=buyer.city_code,
        required_certifications=list(certs), required_readiness=list(readiness), deadline=deadline,
        must_requirements=["certifications"] if certs else [], session_id=session_id,
        visibility=visibility, state=S.DRAFT, idempotency_key=secrets.token_urlsafe(24),
        created_at=started, updated_at=started,
    )
    if visibility is Visibility.INVITED:
        request.invitations.append(RequestInvitation(company_id=candidates[0][0].id, created_at=started))
    db.session.add(request)
    events = _Added([RequestEvent(request=request, version=1, action=RequestAction.CREATE,
                                  actor_user_id=buyer_user.id, actor_company_id=buyer.id, at=started,
                                  from_state=None, to_state=S.DRAFT, terms_after=request.snapshot())])
    actions = list(REQUEST_PATHS[state])

    if actions and actions[0] is RequestAction.PUBLISH:
        _move(request, events, history, buyer_user, RequestAction.PUBLISH, Party.BUYER)
    db.session.flush()
    # one quote per exporter and request: a small demo (few exporters) gets fewer quotes
    for (exporter, product), final in zip(candidates, quote_states, strict=False):
        _add_quote(rng, request, exporter, product, final, history, buyer_user, events)
    for action in actions[1:]:
        party = Party.SYSTEM if action is RequestAction.EXPIRE else Party.BUYER
        _move(request, events, history, buyer_user, action, party, NOTES.get(action))
    if state is S.AWARDED:
        _move(request, events, history, buyer_user, RequestAction.AWARD, Party.BUYER)
    db.session.add_all(events)
    db.session.flush()
    db.session.execute(sa.update(ProcurementRequest).where(ProcurementRequest.id == request.id)
                       .values(version=len(events)))
    return request


def _move(request, events, history, buyer_user, action, party, note=None) -> None:
    """One request move by the rules, with its event."""
    rule = find_request_rule(action, request.state, party)
    assert rule is not None, (request.title, action, request.state)
    source, request.state = request.state, rule.target
    request.updated_at = history.tick()
    if action is RequestAction.PUBLISH:
        request.published_at = request.updated_at
    actor = buyer_user if party is Party.BUYER else None
    events.append(RequestEvent(request=request, version=len(events) + 1, action=action,
                               actor_user_id=actor.id if actor else None,
                               actor_company_id=actor.company_id if actor else None, at=request.updated_at,
                               from_state=source, to_state=request.state, terms_after=request.snapshot(), note=note))


def _add_quote(rng, request, exporter, product, final, history, buyer_user, request_events) -> Quote:
    exporter_user = _first_user(exporter)
    price = max(100, int((request.target_unit_price_fen or 10000) * rng.choice((0.9, 0.95, 1.0, 1.05, 1.12))))
    at = history.tick()
    quote = Quote(
        request_id=request.id, exporter_company_id=exporter.id, created_by_id=exporter_user.id,
        product_id=product.id if product else None, unit_price_fen=price, quantity=request.quantity,
        moq=max(1, request.quantity // rng.choice((5, 10, 20))), lead_time_days=rng.choice((10, 15, 20, 30, 45)),
        valid_until=today_in_china() + timedelta(days=rng.randint(10, 40)),
        note=rng.choice(("含税含运费到仓。", "可提供样品，支持贴牌。", "量大可再议价。")),
        state=Q.SUBMITTED, idempotency_key=secrets.token_urlsafe(24), created_at=at, updated_at=at,
    )
    db.session.add(quote)
    db.session.flush()  # the id the award's intent points to
    revisions = _Added([QuoteRevision(quote=quote, version=1, action=QuoteAction.SUBMIT,
                                      actor_user_id=exporter_user.id, actor_company_id=exporter.id, at=at,
                                      from_state=None, to_state=Q.SUBMITTED, terms=quote.terms())])
    for action in QUOTE_PATHS[final]:
        party = Party.EXPORTER if action in (QuoteAction.REVISE, QuoteAction.WITHDRAW) else Party.BUYER
        rule = find_quote_rule(action, quote.state, party, request.state)
        assert rule is not None, (request.title, action, quote.state)
        if action is QuoteAction.REVISE:
            quote.unit_price_fen = max(100, quote.unit_price_fen - 200)
        note = NOTES.get(action)
        if action is QuoteAction.DECLINE:
            quote.decline_reason = note
        source, quote.state = quote.state, rule.target
        quote.updated_at = history.tick()
        actor = exporter_user if party is Party.EXPORTER else buyer_user
        revisions.append(QuoteRevision(quote=quote, version=len(revisions) + 1, action=action,
                                       actor_user_id=actor.id, actor_company_id=actor.company_id,
                                       at=quote.updated_at, from_state=source, to_state=quote.state,
                                       terms=quote.terms(), note=note))
        if action is QuoteAction.AWARD:
            _add_intent(request, quote, buyer_user, quote.updated_at)
    db.session.add_all(revisions)
    db.session.flush()
    db.session.execute(sa.update(Quote).where(Quote.id == quote.id).values(version=len(revisions)))
    return quote


def _add_intent(request, quote, buyer_user, at) -> OrderIntent:
    """The order intent an award starts, as ``services.award_quote`` would make it."""
    today = today_in_china()
    quantity = min(quote.quantity, request.quantity)
    intent = OrderIntent(
        buyer_company_id=request.buyer_company_id, exporter_company_id=quote.exporter_company_id,
        product_id=quote.product_id, request_id=request.id, quote_id=quote.id, created_by_id=buyer_user.id,
        product_title=request.title, unit=request.unit, quantity=quantity, unit_price_fen=quote.unit_price_fen,
        amount_fen=quantity * quote.unit_price_fen, delivery_date=today + timedelta(days=quote.lead_time_days),
        valid_until=today + timedelta(days=DEFAULT_VALID_DAYS), note=f"来自采购需求 #{request.id} 的中标报价。",
        idempotency_key=f"sourcing-award-quote-{quote.id}", state=IntentState.SUBMITTED, created_at=at, updated_at=at,
        session_id=request.session_id,
    )
    db.session.add(intent)
    db.session.add(OrderIntentEvent(intent=intent, version=1, action=Action.CREATE, actor_user_id=buyer_user.id,
                                    actor_company_id=request.buyer_company_id, at=at, from_state=None,
                                    to_state=IntentState.SUBMITTED, terms_before=None, terms_after=intent.terms(),
                                    note=intent.note))
    return intent
