"""Sourcing services: posting and publishing requests, quotes and revisions, awarding, expiry, bad input."""
from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from datetime import timedelta

import pytest
import sqlalchemy as sa

from marketplace.accounts.models import Company, CompanyKind, User
from marketplace.catalog.models import Certification, Product
from marketplace.deals.models import OrderIntent
from marketplace.deals.states import IntentState
from marketplace.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from marketplace.extensions import db
from marketplace.notifications.models import Notification
from marketplace.sourcing import queries, services
from marketplace.sourcing.models import ProcurementRequest, Quote, QuoteRevision, RequestEvent
from marketplace.sourcing.services import QuoteInput, RequestInput, today_in_china
from marketplace.sourcing.states import QuoteAction, QuoteState, RequestState, Visibility
from tests.factories import make_company, make_product, make_user

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@dataclass
class World:
    """A verified chain leader, two verified exporters (one with a product), an unverified exporter, a retailer."""

    buyer: Company
    buyer_user: User
    exporter: Company
    exporter_user: User
    product: Product
    rival: Company
    rival_user: User
    unverified_user: User
    other_buyer_user: User


def make_world() -> World:
    """Everyone the sourcing rules talk about."""
    buyer = make_company(kind=CompanyKind.CHAIN_LEADER, province_code="330000", city_code="330200")
    buyer_user = make_user(company=buyer)
    exporter = make_company(kind=CompanyKind.EXPORTER, province_code="330000", city_code="330200")
    exporter_user = make_user(company=exporter)
    product = make_product(company=exporter, actor=exporter_user, title_zh="智能电饭煲4L")
    rival = make_company(kind=CompanyKind.EXPORTER)
    rival_user = make_user(company=rival)
    unverified_user = make_user(company=make_company(kind=CompanyKind.EXPORTER, verified=False))
    other_buyer_user = make_user(company=make_company(kind=CompanyKind.RETAILER))
    return World(buyer, buyer_user, exporter, exporter_user, product, rival, rival_user, unverified_user,
                 other_buyer_user)


def request_input(**overrides) -> RequestInput:
    """A fitting request for rice cookers, delivered to Ningbo, quotes within two weeks."""
    values = {"title": "采购智能电饭煲 4L", "category": "small_appliances", "quantity": 1000, "unit": "台",
              "delivery_province_code": "330000", "delivery_city_code": "330200",
              "deadline": today_in_china() + timedelta(days=14), "description": "用于门店销售",
              "target_unit_price_fen": 9000, "required_certifications": ("CCC",),
              "required_readiness": ("ccc", "vat_invoice")}
    values.update(overrides)
    return RequestInput(**values)


def quote_input(**overrides) -> QuoteInput:
    """A quote valid for a month."""
    values = {"unit_price_fen": 8800, "quantity": 1000, "moq": 200, "lead_time_days": 20,
              "valid_until": today_in_china() + timedelta(days=30)}
    values.update(overrides)
    return QuoteInput(**values)


def token() -> str:
    return secrets.token_urlsafe(24)


def post(world: World, publish: bool = True, **overrides) -> ProcurementRequest:
    """A request by the world's buyer (published unless asked otherwise)."""
    request, created = services.create_request(world.buyer_user, request_input(**overrides), token())
    assert created
    if publish:
        request = services.publish_request(world.buyer_user, request.id, request.version)
    return request


def quote(user: User, request: ProcurementRequest, **overrides) -> Quote:
    found, created = services.submit_quote(user, request.id, quote_input(**overrides), token())
    assert created
    return found


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


# --------------------------------------------------------------------------- requests


def test_create_request_is_a_draft_with_an_event_and_replay_returns_it(app):
    with app.app_context():
        world = make_world()
        key = token()
        request, created = services.create_request(world.buyer_user, request_input(), key)
        again, created_again = services.create_request(world.buyer_user, request_input(title="别的"), key)
        assert created and not created_again and again.id == request.id
        assert request.state is RequestState.DRAFT and request.version == 1
        assert count(ProcurementRequest) == 1
        events = db.session.scalars(sa.select(RequestEvent)).all()
        assert [(e.action.value, e.to_state.value) for e in events] == [("create", "draft")]


def test_publish_opens_and_only_verified_buyers_post(app):
    with app.app_context():
        world = make_world()
        request = post(world)
        assert request.state is RequestState.OPEN and request.published_at is not None
        unverified = make_user(company=make_company(kind=CompanyKind.RETAILER, verified=False))
        with pytest.raises(PermissionDenied) as error:
            services.create_request(unverified, request_input(), token())
        assert "认证" in str(error.value)  # told in the default language, Chinese
        with pytest.raises(PermissionDenied):
            services.create_request(world.exporter_user, request_input(), token())
        assert count(ProcurementRequest) == 1


@pytest.mark.parametrize("overrides, field", [
    ({"quantity": 0}, "quantity"),
    ({"quantity": -5}, "quantity"),
    ({"quantity": services.MAX_QUANTITY + 1}, "quantity"),
    ({"deadline": "past"}, "deadline"),
    ({"description": "长" * 100_000}, "description"),
    ({"title": "  "}, "title"),
    ({"category": "nope"}, "category"),
    ({"delivery_city_code": "110100"}, "city_code"),
    ({"required_certifications": ("XYZ",)}, "certifications"),
    ({"visibility": Visibility.INVITED}, "invited"),
])
def test_create_request_refuses_bad_input_and_writes_nothing(app, overrides, field):
    with app.app_context():
        world = make_world()
        if overrides.get("deadline") == "past":
            overrides = {"deadline": today_in_china() - timedelta(days=1)}
        with pytest.raises(ValidationFailed) as error:
            services.create_request(world.buyer_user, request_input(**overrides), token())
        assert error.value.field == field
        assert count(ProcurementRequest) == 0 and count(RequestEvent) == 0


def test_edit_after_quotes_notifies_the_quoting_exporters(app):
    with app.app_context():
        world = make_world()
        request = post(world)
        quote(world.exporter_user, request)
        before = count(Notification)
        request = services.update_request(world.buyer_user, request.id, request_input(quantity=2000), request.version)
        assert request.quantity == 2000 and request.state is RequestState.OPEN
        told = db.session.scalars(sa.select(Notification).where(Notification.id > 0)).all()[before:]
        exporter_ids = {u.id for u in world.exporter.users}
        assert any(n.user_id in exporter_ids and "修改" in n.subject for n in told)
        assert not any(n.user_id == world.rival_user.id for n in told)
        actions = [e.action.value for e in db.session.scalars(sa.select(RequestEvent).order_by(RequestEvent.id))]
        assert actions == ["create", "publish", "edit"]


def test_stale_version_is_a_conflict(app):
    with app.app_context():
        world = make_world()
        request = post(world)
        seen = request.version
        services.update_request(world.buyer_user, request.id, request_input(quantity=1500), seen)
        with pytest.raises(Conflict):
            services.close_request(world.buyer_user, request.id, seen)
        assert db.session.get(ProcurementRequest, request.id).state is RequestState.OPEN


def test_expire_requests_marks_open_ones_past_deadline_and_get_expires_on_read(app):
    with app.app_context():
        world = make_world()
        first = post(world)
        second = post(world)
        for request in (first, second):
            db.session.execute(sa.update(ProcurementRequest).where(ProcurementRequest.id == request.id)
                               .values(deadline=today_in_china() - timedelta(days=1)))
        db.session.commit()
        assert services.get_request(world.buyer_user, first.id).state is RequestState.EXPIRED
        assert services.expire_requests() == 1
        assert db.session.get(ProcurementRequest, second.id).state is RequestState.EXPIRED
        assert services.expire_requests() == 0


# --------------------------------------------------------------------------- quotes


def test_quote_revise_withdraw_and_requote_keep_every_revision(app):
    with app.app_context():
        world = make_world()
        request = post(world)
        first = quote(world.exporter_user, request, product_id=world.product.id)
        revised = services.revise_quote(world.exporter_user, first.id, quote_input(unit_price_fen=8500), first.version)
        assert revised.unit_price_fen == 8500 and revised.state is QuoteState.SUBMITTED
        withdrawn = services.act_on_quote(world.exporter_user, first.id, QuoteAction.WITHDRAW, revised.version)
        assert withdrawn.state is QuoteState.WITHDRAWN
        again, created = services.submit_quote(world.exporter_user, request.id, quote_input(unit_price_fen=8600),
                                               token())
        assert created and again.id == first.id and again.state is QuoteState.SUBMITTED
        revisions = db.session.scalars(sa.select(QuoteRevision).order_by(QuoteRevision.id)).all()
        assert [(r.action.value, r.terms["unit_price_fen"]) for r in revisions] == [
            ("submit", 8800), ("revise", 8500), ("withdraw", 8500), ("submit", 8600)]
        with pytest.raises(RuntimeError):
            revisions[0].note = "changed"
            db.session.commit()
        db.session.rollback()


def test_replayed_quote_changes_nothing_and_a_second_quote_is_refused(app):
    with app.app_context():
        world = make_world()
        request = post(world)
        key = token()
        first, created = services.submit_quote(world.exporter_user, request.id, quote_input(), key)
        again, created_again = services.submit_quote(world.exporter_user, request.id, quote_input(unit_price_fen=1),
                                                     key)
        assert created and not created_again and again.id == first.id and again.unit_price_fen == 8800
        with pytest.raises(ValidationFailed, match="已对此需求报价"):
            services.submit_quote(world.exporter_user, request.id, quote_input(), token())
        assert count(Quote) == 1 and count(QuoteRevision) == 1


@pytest.mark.parametrize("state", ["draft", "closed", "expired"])
def test_quoting_on_a_request_not_open_is_refused(app, state):
    with app.app_context():
        world = make_world()
        request = post(world, publish=state != "draft")
        if state == "closed":
            services.close_request(world.buyer_user, request.id, request.version)
        if state == "expired":
            db.session.execute(sa.update(ProcurementRequest).where(ProcurementRequest.id == request.id)
                               .values(deadline=today_in_china() - timedelta(days=1)))
            db.session.commit()
        error_type = NotFound if state == "draft" else ValidationFailed
        with pytest.raises(error_type):
            services.submit_quote(world.exporter_user, request.id, quote_input(), token())
        assert count(Quote) == 0


def test_invited_only_request_is_invisible_to_uninvited_exporters(app):
    with app.app_context():
        world = make_world()
        request = post(world, visibility=Visibility.INVITED, invited_company_ids=(world.exporter.id,))
        assert services.get_request(world.exporter_user, request.id).id == request.id
        for outsider in (world.rival_user, world.other_buyer_user, world.unverified_user):
            with pytest.raises(NotFound):
                services.get_request(outsider, request.id)
        with pytest.raises(NotFound):
            services.submit_quote(world.rival_user, request.id, quote_input(), token())
        board, _mine = queries.list_open_requests(world.rival_user, queries.RequestFilter())
        assert board.total == 0 and board.items == []
        board, _mine = queries.list_open_requests(world.exporter_user, queries.RequestFilter())
        assert [r.id for r in board.items] == [request.id]
        invited_told = db.session.scalars(sa.select(Notification).where(
            Notification.user_id == world.exporter_user.id)).all()
        assert any("invite" in n.subject.lower() or "邀请" in n.subject for n in invited_told)


@pytest.mark.parametrize("bad, field", [
    ({"unit_price_fen": 0}, "unit_price"),
    ({"quantity": 0}, "quantity"),
    ({"moq": -1}, "moq"),
    ({"lead_time_days": -1}, "lead_time_days"),
    ({"valid_until": "past"}, "valid_until"),
    ({"note": "x" * 2001}, "note"),
    ({"product_id": "rival"}, "product_id"),
])
def test_bad_quote_input_writes_nothing(app, bad, field):
    with app.app_context():
        world = make_world()
        request = post(world)
        if bad.get("valid_until") == "past":
            bad = {"valid_until": today_in_china() - timedelta(days=1)}
        if bad.get("product_id") == "rival":
            bad = {"product_id": make_product(company=world.rival, actor=world.rival_user).id}
        with pytest.raises(ValidationFailed) as error:
            services.submit_quote(world.exporter_user, request.id, quote_input(**bad), token())
        assert error.value.field == field
        assert count(Quote) == 0


def test_unverified_exporter_cannot_quote(app):
    with app.app_context():
        world = make_world()
        request = post(world)
        with pytest.raises(PermissionDenied):
            services.submit_quote(world.unverified_user, request.id, quote_input(), token())
        assert count(Quote) == 0


def test_two_concurrent_submits_make_one_quote(app):
    with app.app_context():
        world = make_world()
        request = post(world)
        colleague = make_user(company=world.exporter)
        user_ids, request_id = [world.exporter_user.id, colleague.id], request.id
    barrier = threading.Barrier(2)
    outcomes = []

    def submit(user_id):
        with app.app_context():
            barrier.wait()
            try:
                user = db.session.get(User, user_id)
                _quote, created = services.submit_quote(user, request_id, quote_input(), token())
                outcomes.append("created" if created else "existing")
            except ValidationFailed:
                outcomes.append("refused")
            except Exception as error:  # anything else fails the test
                outcomes.append(f"error {type(error).__name__}: {error}")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=submit, args=(user_id,)) for user_id in user_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes)[0] == "created" and outcomes.count("created") == 1, outcomes
    with app.app_context():
        assert count(Quote) == 1 and count(QuoteRevision) == 1


# --------------------------------------------------------------------------- comparison and award


def test_comparison_counts_expired_certificates_as_missing_and_sorts(app):
    with app.app_context():
        world = make_world()
        request = post(world)
        db.session.add(Certification(product_id=world.product.id, kind="CCC", number="2024-1",
                                     expires_on=today_in_china() - timedelta(days=1)))
        db.session.commit()
        mine = quote(world.exporter_user, request, product_id=world.product.id, unit_price_fen=9900)
        theirs = quote(world.rival_user, request, unit_price_fen=8100, lead_time_days=5)
        _request, rows = queries.compare_quotes(world.buyer_user, request.id, "price")
        assert [r.quote.id for r in rows] == [theirs.id, mine.id]
        mine_row = rows[1]
        assert mine_row.certs_missing == ["CCC"] and mine_row.same_province
        assert str(mine_row.vs_target) == "10.0" and mine_row.amount_fen == 1000 * 9900
        _request, rows = queries.compare_quotes(world.buyer_user, request.id, "nearby")
        assert rows[0].quote.id == mine.id
        with pytest.raises(NotFound):
            queries.compare_quotes(world.exporter_user, request.id)


def test_award_starts_an_intent_with_the_quote_terms(app):
    with app.app_context():
        world = make_world()
        request = post(world)
        winner = quote(world.exporter_user, request, product_id=world.product.id, quantity=800, unit_price_fen=8700)
        loser = quote(world.rival_user, request)
        intent = services.award_quote(world.buyer_user, winner.id, winner.version)
        assert intent.state is IntentState.SUBMITTED
        assert (intent.request_id, intent.quote_id, intent.exporter_company_id) == (request.id, winner.id,
                                                                                    world.exporter.id)
        assert (intent.quantity, intent.unit_price_fen, intent.amount_fen) == (800, 8700, 800 * 8700)
        assert intent.delivery_date == today_in_china() + timedelta(days=20)
        assert db.session.get(ProcurementRequest, request.id).state is RequestState.AWARDED
        assert db.session.get(Quote, winner.id).state is QuoteState.AWARDED
        with pytest.raises(ValidationFailed):
            services.award_quote(world.buyer_user, loser.id, None)
        assert count(OrderIntent) == 1
        rival_told = db.session.scalars(sa.select(Notification.body).where(
            Notification.user_id == world.rival_user.id)).all()
        assert rival_told and all(world.exporter.name_zh not in body for body in rival_told)


def test_decline_needs_a_reason_and_tells_the_exporter(app):
    with app.app_context():
        world = make_world()
        request = post(world)
        found = quote(world.exporter_user, request)
        with pytest.raises(PermissionDenied):
            services.act_on_quote(world.exporter_user, found.id, QuoteAction.SHORTLIST, None)
        with pytest.raises(ValidationFailed):
            services.act_on_quote(world.buyer_user, found.id, QuoteAction.DECLINE, found.version, "  ")
        declined = services.act_on_quote(world.buyer_user, found.id, QuoteAction.DECLINE, found.version, "价格偏高")
        assert declined.state is QuoteState.DECLINED and declined.decline_reason == "价格偏高"
        told = db.session.scalars(sa.select(Notification.body).where(
            Notification.user_id == world.exporter_user.id)).all()
        assert any("价格偏高" in body for body in told)


def test_request_attachment_is_checked_like_the_deals_ones(app):
    with app.app_context():
        world = make_world()
        with pytest.raises(ValidationFailed) as error:
            services.create_request(world.buyer_user, request_input(), token(), [(b"MZ\x90\x00", "evil.exe")])
        assert error.value.field == "attachment"
        assert count(ProcurementRequest) == 0
        request, _created = services.create_request(world.buyer_user, request_input(), token(),
                                                    [(PDF, "../<img src=x onerror=alert(1)>规格.pdf")])
        attachment = request.attachments[0]
        assert attachment.original_name == "<img src=x onerror=alert(1)>规格.pdf" and attachment.content_type == "application/pdf"



def test_two_concurrent_awards_make_one_intent(app):
    with app.app_context():
        world = make_world()
        request = post(world)
        first = quote(world.exporter_user, request)
        second = quote(world.rival_user, request)
        colleague = make_user(company=world.buyer)
        plan = [(world.buyer_user.id, first.id, first.version), (colleague.id, second.id, second.version)]
        request_id = request.id
    barrier = threading.Barrier(2)
    outcomes = []

    def award(user_id, quote_id, version):
        with app.app_context():
            barrier.wait()
            try:
                services.award_quote(db.session.get(User, user_id), quote_id, version)
                outcomes.append("awarded")
            except (Conflict, ValidationFailed):
                outcomes.append("refused")
            except Exception as error:  # anything else fails the test
                outcomes.append(f"error {type(error).__name__}: {error}")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=award, args=args) for args in plan]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["awarded", "refused"], outcomes
    with app.app_context():
        assert count(OrderIntent) == 1
        states = sorted(q.state.value for q in db.session.scalars(sa.select(Quote)))
        assert states == ["awarded", "submitted"]
        assert db.session.get(ProcurementRequest, request_id).state is RequestState.AWARDED
