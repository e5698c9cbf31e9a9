"""The home page as a workbench: what waits for the logged-in user's company, by role; anonymous keeps the home."""
from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from marketplace.accounts.models import CompanyKind, Role
from marketplace.catalog.models import PriceTier, Product, ProductStatus
from marketplace.database import utcnow
from marketplace.deals.models import OrderIntent
from marketplace.deals.states import IntentState
from marketplace.extensions import db
from marketplace.matching.models import Match
from marketplace.sourcing.services import today_in_china
from tests.conftest import login
from tests.factories import make_company, make_product, make_user
from tests.test_sourcing_services import make_world, post, quote


def _row(html: str, testid: str, attr: str, value: int) -> str:
    found = re.search(rf'<li[^>]*data-testid="{testid}" {attr}="{value}">(.*?)</li>', html, re.S)
    assert found, f"no {testid} {value}"
    return found.group(1)


def _intent(buyer_id: int, exporter_id: int, state: IntentState, **fields) -> int:
    intent = OrderIntent(buyer_company_id=buyer_id, exporter_company_id=exporter_id, product_title=fields.pop(
        "title", "电饭煲意向"), unit="台", quantity=10, unit_price_fen=100, amount_fen=1000, state=state,
        valid_until=today_in_china() + timedelta(days=10), idempotency_key=f"k-{buyer_id}-{exporter_id}-{state.value}",
        **fields)
    db.session.add(intent)
    db.session.commit()
    return intent.id


def test_anonymous_visitor_gets_the_platform_home(en_client):
    html = en_client.get("/").get_data(as_text=True)
    assert "Rongtong: domestic buyers for export manufacturers" in html
    assert 'data-testid="home-search"' in html and "Workbench" not in html


def test_buyer_sees_own_open_requests_with_match_and_quote_counts(app, en_client):
    with app.app_context():
        world = make_world()
        mine = post(world, title="采购智能电饭煲 4L 门店")
        other = world.other_buyer_user
        # another buyer's open request: never on this buyer's workbench
        from marketplace.sourcing import services
        from tests.test_sourcing_services import request_input, token
        theirs, _ = services.create_request(other, request_input(title="别家的电饭煲需求"), token())
        services.publish_request(other, theirs.id, theirs.version)
        draft = post(world, publish=False, title="还没发布的草稿")
        quote(world.exporter_user, mine)
        # the matches as the matching package keeps them, plus one we add: one new, one three weeks old
        db.session.execute(sa.delete(Match).where(Match.request_id == mine.id))
        extra = make_product(company=world.rival, actor=world.rival_user, title_zh="电饭煲 5L")
        for product, seen in ((world.product, utcnow()), (extra, utcnow() - timedelta(days=21))):
            db.session.add(Match(request_id=mine.id, product_id=product.id, exporter_id=product.company_id,
                                 buyer_id=world.buyer.id, score_x10=650, parts={}, gaps=[], generation="",
                                 computed_at=utcnow(), first_seen_at=seen, buyer_notified=False,
                                 exporter_notified=False))
        db.session.commit()
        ids = mine.id, theirs.id, draft.id
        email = world.buyer_user.email
        intent_id = _intent(world.buyer.id, world.exporter.id, IntentState.COUNTERED, title="还价待我回复")
        _intent(world.buyer.id, world.exporter.id, IntentState.SUBMITTED, title="等出口商回复")
    login(en_client, email)
    html = en_client.get("/").get_data(as_text=True)
    assert "Workbench" in html and "My open requests" in html
    assert "Rongtong: domestic buyers for export manufacturers" not in html
    row = _row(html, "wb-request", "data-request-id", ids[0])
    with app.app_context():
        matches = db.session.scalar(sa.select(sa.func.count()).select_from(Match).where(Match.request_id == ids[0]))
    assert matches == 2  # if the matching package recomputed after our insert, the count below still follows it
    assert "2 matches" in row and "1 new this week" in row and "1 quote" in row
    assert f'data-request-id="{ids[1]}"' not in html and "别家的电饭煲需求" not in html
    assert f'data-request-id="{ids[2]}"' not in html  # drafts are not open
    assert html.count('data-testid="wb-request"') == 1
    # the counter-offer awaits the buyer; the submitted intent awaits the exporter
    waiting = re.search(r'data-testid="wb-waiting">(.*?)</section>', html, re.S).group(1)
    assert "Order intents waiting for me" in waiting
    assert f'data-intent-id="{intent_id}"' in waiting and "还价待我回复" in waiting and "等出口商回复" not in waiting
    assert 'href="/sourcing/requests/new"' in html


def test_buyer_without_requests_sees_empty_states(app, en_client):
    with app.app_context():
        email = make_user(company=make_company(kind=CompanyKind.RETAILER)).email
    login(en_client, email)
    html = en_client.get("/").get_data(as_text=True)
    assert "You have no open procurement request." in html
    assert "No order intent is waiting for your answer." in html


def test_exporter_sees_opportunity_waiting_intents_and_readiness_gaps(app, en_client):
    with app.app_context():
        world = make_world()
        request = post(world, title="采购智能电饭煲 4L 批量")
        db.session.execute(sa.delete(Match).where(Match.exporter_id == world.exporter.id))
        db.session.add(Match(request_id=request.id, product_id=world.product.id, exporter_id=world.exporter.id,
                             buyer_id=world.buyer.id, score_x10=812, parts={}, gaps=[], generation="",
                             computed_at=utcnow(), first_seen_at=utcnow(), buyer_notified=False,
                             exporter_notified=False))
        # the world's product is priced but not domestic-ready and states no capacity; one more has no price
        unpriced = make_product(company=world.exporter, actor=world.exporter_user, title_zh="无价格产品",
                                monthly_capacity=5000)
        draft = make_product(company=world.exporter, actor=world.exporter_user, publish=False)  # drafts do not count
        # the product form always asks for a price; older rows may have none
        db.session.execute(sa.delete(PriceTier).where(PriceTier.product_id.in_([unpriced.id, draft.id])))
        db.session.commit()
        products = db.session.scalars(sa.select(Product).where(Product.company_id == world.exporter.id,
                                                               Product.status == ProductStatus.PUBLISHED)).all()
        not_ready = sum(not p.is_domestic_ready() for p in products)
        submitted = _intent(world.buyer.id, world.exporter.id, IntentState.SUBMITTED, title="请出口商确认")
        _intent(world.buyer.id, world.exporter.id, IntentState.DRAFT, title="买方草稿")
        signed_by_me = _intent(world.buyer.id, world.exporter.id, IntentState.ACCEPTED, title="我已签",
                               exporter_signed_at=utcnow())
        unsigned = _intent(world.other_buyer_user.company_id, world.exporter.id, IntentState.ACCEPTED,
                           title="待我签署")
        email, request_id = world.exporter_user.email, request.id
        rival_email = world.rival_user.email
    login(en_client, email)
    html = en_client.get("/").get_data(as_text=True)
    opportunity = _row(html, "wb-opportunity", "data-request-id", request_id)
    assert "采购智能电饭煲 4L 批量" in opportunity and "智能电饭煲4L" in opportunity
    assert 'href="/matching/opportunities"' in html and "All opportunities" in html
    waiting = re.search(r'data-testid="wb-waiting">(.*?)</section>', html, re.S).group(1)
    assert f'data-intent-id="{submitted}"' in waiting and f'data-intent-id="{unsigned}"' in waiting
    assert f'data-intent-id="{signed_by_me}"' not in waiting and "买方草稿" not in waiting
    readiness = re.search(r'data-testid="wb-readiness">(.*?)</section>', html, re.S).group(1)
    assert "Catalog readiness gaps" in readiness and 'href="/catalog/?status=published"' in readiness
    assert "2 of your 2 published products lack something buyers look for." in readiness
    assert f"Not ready for the domestic market: {not_ready}" in readiness
    assert "No price: 1" in readiness and "No monthly capacity or stock: 1" in readiness
    # another exporter has neither this opportunity nor these intents
    en_client.post("/account/logout", data={"csrf_token": re.search(
        r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)})
    login(en_client, rival_email)
    other = en_client.get("/").get_data(as_text=True)
    assert f'data-request-id="{request_id}"' not in other and "请出口商确认" not in other
    assert "No order intent is waiting for your answer." in other


def test_organizer_sees_the_verification_queue(app, en_client):
    with app.app_context():
        organizer = make_user(role=Role.ORGANIZER).email
        pending = make_company(kind=CompanyKind.EXPORTER, verified=False, name_zh="待审核出口企业")
        make_company(kind=CompanyKind.RETAILER, name_zh="已认证零售商")
        pending_id = pending.id
    login(en_client, organizer)
    html = en_client.get("/").get_data(as_text=True)
    section = re.search(r'data-testid="wb-verification">(.*?)</section>', html, re.S).group(1)
    assert "Verification queue" in section and 'href="/companies/verification"' in section
    assert "1 company is waiting for verification." in section
    assert f'data-company-id="{pending_id}"' in section and "待审核出口企业" in section
    assert "已认证零售商" not in section
    assert "My open requests" not in html and "New business opportunities" not in html


def test_organizer_with_empty_queue_sees_the_empty_state(app, en_client):
    with app.app_context():
        organizer = make_user(role=Role.ORGANIZER).email
    login(en_client, organizer)
    html = en_client.get("/").get_data(as_text=True)
    assert "No company is waiting for verification." in html


def test_workbench_is_chinese_by_default(app, client):
    with app.app_context():
        email = make_user(company=make_company(kind=CompanyKind.RETAILER)).email
    login(client, email)
    response = client.get("/")
    assert response.status_code == 200
    assert '<html lang="zh-CN">' in response.get_data(as_text=True)
