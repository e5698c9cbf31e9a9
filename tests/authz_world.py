"""One world with an object behind every URL parameter of the site, for the route authorization inventory.

Company A (an exporter: an administrator and a member) owns a published product with an image, a draft, a
catalog import, a tariff exposure, a tag, an API token, a webhook endpoint with a delivery, a quote and a
notification. Company B (a chain leader, 链主) owns a public request with an attachment, a demand-list import, an
order intent with A (a message with an attachment from A) and hosts organizer O's session, where A takes part
(a registration with its check-in token, a meeting with B, a 30-day follow-up); O also prepares another session (not public yet). The outsiders: another exporter
C, another buyer D (a retailer) and another organizer O2, each with an administrator.
"""
from __future__ import annotations

import hashlib
import io
import secrets
from datetime import datetime, time, timedelta

import sqlalchemy as sa
from PIL import Image

from marketplace.accounts import auth_services as auth
from marketplace.accounts.models import (
    CompanyKind,
    CompanyTag,
    CompanyTagKind,
    Invitation,
    Role,
    TariffExposure,
)
from marketplace.api import tokens
from marketplace.catalog import services as catalog
from marketplace.catalog.imports import jobs as catalog_jobs
from marketplace.catalog.models import Product, ProductImage
from marketplace.database import utcnow
from marketplace.deals import services as deals
from marketplace.deals.models import OrderIntent
from marketplace.extensions import db
from marketplace.i18n import CHINA, today_in_china
from marketplace.imports import jobs
from marketplace.matching.models import Match
from marketplace.notifications.models import Notification
from marketplace.sessions import followups, meetings
from marketplace.sessions.models import IntentFollowUp, ParticipantRole, SessionStatus
from marketplace.sourcing import imports as sourcing_imports
from marketplace.sourcing import services as sourcing
from marketplace.webhooks import services as webhooks
from tests.factories import make_company, make_product, make_user
from tests.test_sessions_board import (
    DAY,
    Ids,
    add_host,
    add_match,
    china,
    make_session,
    post_request,
    register,
)
from tests.test_sourcing_services import PDF, quote_input, request_input

#: who signs in: A's administrator and member, B's administrator, the outsiders, O's and O2's organizers
ACTORS = ("exporter", "member", "buyer", "other_exporter", "other_buyer", "organizer", "other_organizer")

CATALOG_CSV = "货号,产品名称,类目,单位,起订量,阶梯价,HS编码\nAUTHZ-1,智能电饭煲 3L,小家电,台,100,100:89.00,8516.60\n"


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def _person(ids: Ids, name: str, company, role: Role = Role.COMPANY_ADMIN) -> None:
    user = make_user(company=company, role=role)
    ids[name + "_user"] = user.id
    ids[name + "_email"] = user.email


def build_world() -> Ids:
    """Every object the inventory's URLs name; returns their ids (and each actor's e-mail)."""
    ids = Ids()
    a = make_company(kind=CompanyKind.EXPORTER, name_zh="授权测试出口企业A", province_code="330000",
                     city_code="330200")
    b = make_company(kind=CompanyKind.CHAIN_LEADER, name_zh="授权测试链主B", province_code="330000",
                     city_code="330200")
    o = make_company(kind=CompanyKind.ORGANIZER, name_zh="授权测试商务局")
    ids.update(a=a.id, b=b.id, o=o.id)
    _person(ids, "exporter", a)
    _person(ids, "member", a, Role.MEMBER)
    _person(ids, "buyer", b)
    _person(ids, "other_exporter", make_company(kind=CompanyKind.EXPORTER))
    _person(ids, "other_buyer", make_company(kind=CompanyKind.RETAILER))
    _person(ids, "organizer", o, Role.ORGANIZER)
    _person(ids, "other_organizer", make_company(kind=CompanyKind.ORGANIZER), Role.ORGANIZER)
    exporter, buyer, organizer = ids.user("exporter"), ids.user("buyer"), ids.user("organizer")

    # A's catalog
    product = make_product(company=a, actor=exporter, title_zh="智能电饭煲4L 授权")
    ids["product"] = product.id
    ids["draft"] = make_product(company=a, actor=exporter, publish=False).id
    image = catalog.add_product_image(exporter, db.session.get(Product, product.id), _png())
    ids["image"] = image.id
    ids["media"] = db.session.get(ProductImage, image.id).filename
    ids["catalog_job"] = catalog_jobs.create_import_job(exporter, "products.csv", CATALOG_CSV.encode()).id
    exposure = TariffExposure(company_id=a.id, market="US", old_rate=7.5, new_rate=52.5,
                              effective_on=today_in_china() - timedelta(days=30), revenue_share=40)
    tag = CompanyTag(company_id=a.id, tag=CompanyTagKind.SPECIALIZED, source_document="浙经信〔2024〕1号",
                     granted_on=today_in_china() - timedelta(days=60), set_by_id=organizer.id)
    db.session.add_all([exposure, tag])
    db.session.commit()
    ids.update(exposure=exposure.id, tag=tag.id)
    ids["api_token"] = tokens.create_token(exporter, "ERP", ["read"], 90)[0].id
    endpoint, _secret = webhooks.create_endpoint(exporter, "https://hooks.example.com/rongtong", ["intent.created"])
    ids["endpoint"] = endpoint.id
    ids["delivery"] = webhooks.send_test(exporter, endpoint.id).id

    # B's sourcing, A's quote, the order intent between them
    request, _created = sourcing.create_request(buyer, request_input(title="采购智能电饭煲 授权"),
                                                secrets.token_urlsafe(16), [(PDF, "spec.pdf")])
    request = sourcing.publish_request(buyer, request.id, request.version)
    ids["request"] = request.id
    ids["attachment"] = request.attachments[0].id
    ids["quote"] = sourcing.submit_quote(exporter, request.id, quote_input(), secrets.token_urlsafe(16),
                                         (PDF, "quote.pdf"))[0].id
    ids["sourcing_job"] = jobs.create_import_job(
        sourcing_imports.KIND, buyer, "demand.csv",
        "需求标题,类目,采购数量,单位,交货省份,交货城市,报价截止日期\n电饭煲 4L,小家电,500,台,浙江省,宁波市,"
        f"{today_in_china() + timedelta(days=20)}\n电水壶,小家电,-5,台,浙江省,宁波市,{today_in_china()}\n".encode()).id
    terms = deals.Terms(quantity=500, unit_price_fen=8800, valid_until=today_in_china() + timedelta(days=14))
    intent, _created = deals.record_order_intent(buyer, product.id, terms, secrets.token_urlsafe(24))
    ids["intent"] = intent.id
    ids["message"] = deals.post_intent_message(exporter, intent.id, "报价单见附件", (PDF, "offer.pdf")).id
    ids["notification"] = db.session.scalar(
        sa.select(Notification.id).where(Notification.user_id == exporter.id).order_by(Notification.id).limit(1))

    # O's session: B hosts, A takes part; a meeting, and a 30-day follow-up of a session intent
    session = make_session(o)
    ids["session"] = session.id
    ids["draft_session"] = make_session(o, title="筹备中的对接会", status=SessionStatus.PREPARING).id
    add_host(session, b)
    registration = register(session, a, ParticipantRole.EXPORTER)
    ids.update(registration=registration.id, checkin_token=registration.checkin_token)
    session_request = post_request(buyer, session, title="采购智能电饭煲 4L 专场")
    ids["session_request"] = session_request.id
    if db.session.scalar(sa.select(Match.id).where(Match.request_id == session_request.id,
                                                   Match.product_id == product.id)) is None:
        add_match(session_request, db.session.get(Product, product.id), 80)  # matching found it already, usually
    ids["meeting"] = meetings.book_meeting(buyer, session.id, session_request.id, product.id, china(DAY, 9)).id
    made = datetime.combine(today_in_china() - timedelta(days=30), time(10), tzinfo=CHINA)
    old = OrderIntent(buyer_company_id=b.id, exporter_company_id=a.id, product_id=product.id, session_id=session.id,
                      product_title=product.title_zh, unit="台", quantity=10, unit_price_fen=100, amount_fen=1000,
                      valid_until=today_in_china(), state=intent.state, idempotency_key=secrets.token_urlsafe(24),
                      created_at=made, updated_at=made)
    db.session.add(old)
    db.session.commit()
    ids["session_intent"] = old.id
    followups.ask_due_follow_ups()
    ids["follow_up"] = db.session.scalar(sa.select(IntentFollowUp.id).where(IntentFollowUp.company_id == a.id))

    # an open invitation to A (its token is known: only its hash is stored)
    ids["invitation_token"] = secrets.token_urlsafe(32)
    db.session.add(Invitation(company_id=a.id, email="colleague@example.com", role=Role.MEMBER,
                              token_hash=hashlib.sha256(ids["invitation_token"].encode()).hexdigest(), invited_by_id=exporter.id,
                              expires_at=utcnow() + timedelta(days=7)))
    db.session.commit()
    # the e-mailed links of registration (step two) and password reset
    ids["register_token"] = auth._registration_serializer().dumps({"e": "newcomer@example.com"})
    ids["reset_token"] = auth.make_reset_token(ids.user("member"))
    return ids
