"""Demo order intents: one or more in every state, each with the history that led there.

Owns: building deterministic demo intents inside the demo loader's transaction (no commit,
no notifications). Histories follow ``states`` rule by rule, so they read like real ones.
"""
from __future__ import annotations

import random
import secrets
from datetime import timedelta

import sqlalchemy as sa

from marketplace.accounts.models import Company, User
from marketplace.catalog.models import Product, ProductStatus
from marketplace.database import utcnow
from marketplace.deals.models import OrderIntent, OrderIntentEvent
from marketplace.deals.states import Action, IntentState, Party, find_rule
from marketplace.extensions import db
from marketplace.i18n import today_in_china

B, E, SYS = Party.BUYER, Party.EXPORTER, Party.SYSTEM
#: the path to each final state: (action, party, note)
PATHS = {
    IntentState.DRAFT: [],
    IntentState.SUBMITTED: [],
    IntentState.COUNTERED: [(Action.COUNTER, E, "量大可按此价供货，交期需顺延一周。")],
    IntentState.ACCEPTED: [(Action.ACCEPT, E, "可以按此条件供货。")],
    IntentState.SIGNED: [(Action.COUNTER, E, "起订量以上单价可再优惠。"), (Action.ACCEPT, B, None),
                         (Action.SIGN, B, None), (Action.SIGN, E, None)],
    IntentState.FULFILLED: [(Action.ACCEPT, E, None), (Action.SIGN, E, None), (Action.SIGN, B, None),
                            (Action.FULFIL, B, "货已收到，质量良好。")],
    IntentState.WITHDRAWN: [(Action.WITHDRAW, B, "门店调整，暂不采购。")],
    IntentState.DECLINED: [(Action.DECLINE, E, "该型号库存已售罄，暂无法供货。")],
    IntentState.EXPIRED: [(Action.EXPIRE, SYS, "有效期内未答复。")],
}


def _users_of(company: Company) -> User:
    return db.session.scalars(sa.select(User).where(User.company_id == company.id).order_by(User.id)).first()


def add_demo_intents(seed: int, exporter: Company, buyers: list[Company]) -> int:
    """Add intents between the showcase exporter and the given buyers, in every state; returns how many."""
    rng = random.Random(f"demo-intents-{seed}")
    products = db.session.scalars(
        sa.select(Product).where(Product.company_id == exporter.id, Product.status == ProductStatus.PUBLISHED)
        .order_by(Product.id).limit(6)
    ).all()
    buyers = [b for b in buyers if b.is_verified]
    if not products or not buyers:
        return 0
    count = 0
    for index, state in enumerate([*IntentState, IntentState.SUBMITTED, IntentState.SIGNED]):
        started = utcnow() - timedelta(days=rng.randint(3, 40), hours=rng.randint(0, 23))
        build_intent(rng, buyers[index % len(buyers)], exporter, products[index % len(products)], state, started)
        count += 1
    return count


def build_intent(rng: random.Random, buyer: Company, exporter: Company, product: Product, state: IntentState,
                 started, session_id: int | None = None) -> OrderIntent:
    """One demo intent made at ``started`` and moved by the rules to ``state``, with its events (at a
    matchmaking session when ``session_id`` is given)."""
    buyer_user, exporter_user = _users_of(buyer), _users_of(exporter)
    today = today_in_china()
    actors = {B: buyer_user, E: exporter_user, SYS: None}
    quantity = product.moq * rng.choice((1, 2, 3, 5))
    price = product.base_price_fen or 10000
    expired = state is IntentState.EXPIRED
    intent = OrderIntent(
        buyer_company_id=buyer.id, exporter_company_id=exporter.id, product_id=product.id,
        created_by_id=buyer_user.id, product_title=product.title_zh, unit=product.unit,
        quantity=quantity, unit_price_fen=price, amount_fen=quantity * price,
        delivery_date=today + timedelta(days=rng.randint(20, 60)),
        delivery_place=rng.choice(("浙江省宁波市", "上海市浦东新区", "江苏省苏州市", "广东省广州市")),
        valid_until=today - timedelta(days=2) if expired else today + timedelta(days=rng.randint(7, 30)),
        note="拟用于国内门店及电商渠道销售，请确认价格与交期。", session_id=session_id,
        idempotency_key=secrets.token_urlsafe(24), created_at=started, updated_at=started,
        state=IntentState.DRAFT if state is IntentState.DRAFT else IntentState.SUBMITTED,
    )
    db.session.add(intent)
    at = started
    events = [OrderIntentEvent(intent=intent, version=1, action=Action.CREATE, actor_user_id=buyer_user.id,
                               actor_company_id=buyer.id, at=at, from_state=None, to_state=intent.state,
                               terms_before=None, terms_after=intent.terms(), note=intent.note)]
    for action, party, note in PATHS[state]:
        rule = find_rule(action, intent.state, party)
        assert rule is not None, (state, action, party)
        before, source = intent.terms(), intent.state
        target = rule.target
        at = at + timedelta(hours=rng.randint(2, 30))
        if action is Action.COUNTER:
            intent.unit_price_fen = max(1, price - rng.choice((200, 350, 500)))
            intent.quantity = quantity * 2
            intent.amount_fen = intent.quantity * intent.unit_price_fen
        if action is Action.SIGN:
            if party is B:
                intent.buyer_signed_at = at
            else:
                intent.exporter_signed_at = at
            if intent.buyer_signed_at is None or intent.exporter_signed_at is None:
                target = IntentState.ACCEPTED
        intent.state, intent.updated_at = target, at
        actor = actors[party]
        events.append(OrderIntentEvent(
            intent=intent, version=len(events) + 1, action=action,
            actor_user_id=actor.id if actor else None, actor_company_id=actor.company_id if actor else None,
            at=at, from_state=source, to_state=target, terms_before=before, terms_after=intent.terms(),
            note=note))
    db.session.add_all(events)
    db.session.flush()
    # the version is the number of events (the ORM counts from 1 at insert)
    db.session.execute(sa.update(OrderIntent).where(OrderIntent.id == intent.id).values(version=len(events)))
    return intent
