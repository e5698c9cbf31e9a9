"""The session match board: who sees which rows (as a table), invited-only requests never leak, the focus first,
filters and pages. Sessions, hosts and registrations are made straight with the models (``make_session`` …);
the meeting and follow-up tests import these helpers.
"""
from __future__ import annotations

import re
import secrets
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa

from marketplace.accounts.models import (
    Company,
    CompanyKind,
    CompanyTag,
    CompanyTagKind,
    Role,
    TariffExposure,
    User,
)
from marketplace.extensions import db
from marketplace.i18n import CHINA, today_in_china
from marketplace.matching.models import Match
from marketplace.sessions import board
from marketplace.sessions.models import (
    MatchmakingSession,
    ParticipantRole,
    RegistrationStatus,
    SessionFocus,
    SessionHost,
    SessionRegistration,
    SessionStatus,
)
from marketplace.sourcing import services as sourcing
from marketplace.sourcing.models import ProcurementRequest
from marketplace.sourcing.services import RequestInput
from marketplace.sourcing.states import Visibility
from tests.conftest import login
from tests.factories import make_company, make_product, make_user

# ----------------------------------------------------------------------------- helpers (shared)

#: the session day: tomorrow, 09:00–11:00 in Asia/Shanghai, 20-minute slots
DAY = today_in_china() + timedelta(days=1)


def china(day: date, hour: int, minute: int = 0) -> datetime:
    """A wall-clock time in Asia/Shanghai as an aware datetime."""
    return datetime.combine(day, time(hour, minute), tzinfo=CHINA)


def make_session(organizer: Company, **fields) -> MatchmakingSession:
    values = {"title": "长三角小家电内销专场对接会", "province_code": "330000", "city_code": "330200",
              "starts_at": china(DAY, 9), "ends_at": china(DAY, 11), "tables": 2, "slot_minutes": 20,
              "status": SessionStatus.REGISTRATION, "focus": SessionFocus.NONE, "venue": "宁波国际会展中心 3号馆"}
    values.update(fields)
    session = MatchmakingSession(organizer_company_id=organizer.id, **values)
    db.session.add(session)
    db.session.commit()
    return session


def register(session: MatchmakingSession, company: Company, role: ParticipantRole,
             status: RegistrationStatus = RegistrationStatus.APPROVED) -> SessionRegistration:
    registration = SessionRegistration(session_id=session.id, company_id=company.id, role=role, status=status,
                                       checkin_token=secrets.token_urlsafe(24))
    db.session.add(registration)
    db.session.commit()
    return registration


def add_host(session: MatchmakingSession, company: Company) -> SessionHost:
    host = SessionHost(session_id=session.id, company_id=company.id)
    db.session.add(host)
    db.session.commit()
    return host


def make_organizer(name: str = "宁波市商务局") -> User:
    return make_user(company=make_company(kind=CompanyKind.ORGANIZER, name_zh=name), role=Role.ORGANIZER)


def post_request(user: User, session: MatchmakingSession | None, **overrides) -> ProcurementRequest:
    """A published request of the user's company, on the session's demand list."""
    values = {"title": "采购智能电饭煲 4L", "category": "small_appliances", "quantity": 1000, "unit": "台",
              "delivery_province_code": "330000", "delivery_city_code": "330200",
              "deadline": today_in_china() + timedelta(days=14), "target_unit_price_fen": 9000,
              "required_certifications": (), "required_readiness": (), "must_requirements": ()}
    values.update(overrides)
    request, _created = sourcing.create_request(user, RequestInput(**values), secrets.token_urlsafe(16))
    request = sourcing.publish_request(user, request.id, request.version)
    if session is not None:
        request = db.session.get(ProcurementRequest, request.id)
        request.session_id = session.id
        db.session.commit()
    return db.session.get(ProcurementRequest, request.id)


def add_match(request: ProcurementRequest, product, score: float) -> Match:
    """A materialized match written straight (scores chosen by the test)."""
    match = Match(request_id=request.id, product_id=product.id, exporter_id=product.company_id,
                  buyer_id=request.buyer_company_id, score_x10=round(score * 10),
                  parts={"text": {"title": ["电饭煲"]}}, gaps=[])
    db.session.add(match)
    db.session.commit()
    return match


class Ids(dict):
    """Ids of a world's objects; ``ids.user("host")`` loads one in the caller's context."""

    def user(self, name: str) -> User:
        return db.session.get(User, self[name + "_user"])

    def company(self, name: str) -> Company:
        return db.session.get(Company, self[name])


def person(ids: Ids, name: str, company: Company, role: Role = Role.COMPANY_ADMIN) -> None:
    user = make_user(company=company, role=role)
    ids[name] = company.id
    ids[name + "_user"] = user.id
    ids[name + "_email"] = user.email


def matched_world(**session_fields) -> Ids:
    """Organizer, another organizer, a host with a public and an invited-only request on the session, exporters
    A and B approved (only A invited), U pending, R not registered — each with a rice cooker the requests match."""
    ids = Ids()
    organizer = make_organizer()
    ids.update(organizer=organizer.company_id, organizer_user=organizer.id, organizer_email=organizer.email)
    other = make_organizer("杭州市商务局")
    ids.update(other_organizer_user=other.id, other_organizer_email=other.email)
    session = make_session(organizer.company, **session_fields)
    ids["session"] = session.id
    person(ids, "host", make_company(kind=CompanyKind.CHAIN_LEADER, name_zh="链主电器集团"))
    add_host(session, ids.company("host"))
    for name, status in (("a", RegistrationStatus.APPROVED), ("b", RegistrationStatus.APPROVED),
                         ("u", RegistrationStatus.PENDING), ("r", None)):
        person(ids, name, make_company(kind=CompanyKind.EXPORTER, name_zh=f"出口企业{name.upper()}有限公司",
                                       province_code="330000", city_code="330200"))
        product = make_product(company=ids.company(name), actor=ids.user(name), title_zh="智能电饭煲4L 家用")
        ids[name + "_product"] = product.id
        if status is not None:
            register(session, ids.company(name), ParticipantRole.EXPORTER, status)
    ids["public"] = post_request(ids.user("host"), session).id
    ids["invited"] = post_request(ids.user("host"), session, title="采购智能电饭煲 4L 定制款",
                                  visibility=Visibility.INVITED, invited_company_ids=(ids["a"],)).id
    db.session.commit()
    return ids


def rows_on(page_html: str) -> set[tuple[int, int]]:
    return {(int(r), int(p)) for r, p in
            re.findall(r'data-testid="board-row" data-request-id="(\d+)" data-product-id="(\d+)"', page_html)}


# ----------------------------------------------------------------------------- who sees what


def test_board_authorization_as_a_table(app):
    with app.app_context():
        ids = matched_world()
        stored = set(db.session.execute(sa.select(Match.request_id, Match.product_id)).tuples())
        for name in ("a", "b", "u", "r"):
            assert (ids["public"], ids[name + "_product"]) in stored
        # matching filters visibility when it reads, not in the table: B's pair with the invited-only request is
        # stored, so the board itself must leave it out
        assert (ids["invited"], ids["b_product"]) in stored
    public, invited = ids["public"], ids["invited"]
    a, b = ids["a_product"], ids["b_product"]
    every_row = {(public, a), (public, b), (invited, a)}  # never (invited, b): B was not invited
    url = f"/sessions/{ids['session']}/board"
    table = [
        ("organizer", 200, every_row),
        ("other_organizer", 404, None),
        ("host", 200, every_row),
        ("a", 200, {(public, a), (invited, a)}),
        ("b", 200, {(public, b)}),
        ("u", 404, None),
        ("r", 404, None),
    ]
    for viewer, status, rows in table:
        client = app.test_client()
        login(client, ids[viewer + "_email"])
        response = client.get(url)
        assert response.status_code == status, viewer
        if rows is not None:
            html = response.get_data(as_text=True)
            assert rows_on(html) == rows, viewer
            if viewer == "b":
                assert "定制款" not in html  # the invited-only request's title appears nowhere, not even a filter
    anonymous = app.test_client().get(url)
    assert anonymous.status_code == 302 and "/account/login" in anonymous.headers["Location"]


def test_approved_buyer_registrant_sees_its_own_rows_only(app):
    with app.app_context():
        ids = matched_world()
        session = db.session.get(MatchmakingSession, ids["session"])
        retailer = make_company(kind=CompanyKind.RETAILER, name_zh="连锁商超")
        buyer = make_user(company=retailer)
        own = post_request(buyer, session, title="采购智能电饭煲 门店款")
        pending_buyer = make_user(company=make_company(kind=CompanyKind.RETAILER))
        register(session, pending_buyer.company, ParticipantRole.BUYER, RegistrationStatus.PENDING)
        register(session, retailer, ParticipantRole.BUYER)
        found = board.board_page(buyer, session.id, board.BoardFilters())
        assert {r.match.request_id for r in found.rows} == {own.id}
        assert found.access.scope is board.Scope.BUYER
        assert all(r.can_start_intent and r.can_book for r in found.rows)
        assert {(r.match.request_id, r.match.product_id) for r in found.rows} == {
            (own.id, ids["a_product"]), (own.id, ids["b_product"])}
        try:
            board.board_page(pending_buyer, session.id, board.BoardFilters())
        except board.NotFound:
            pass
        else:
            raise AssertionError("a pending registrant read the board")


# ----------------------------------------------------------------------------- focus, filters, pages


def test_focus_puts_tariff_hit_or_zjtx_exporters_first_then_filters_and_pages(app):
    with app.app_context():
        organizer = make_organizer()
        session = make_session(organizer.company)
        host = make_user(company=make_company(kind=CompanyKind.CHAIN_LEADER))
        add_host(session, host.company)
        exporters = {}
        for name in ("plain", "tariff", "zjtx"):
            company = make_company(kind=CompanyKind.EXPORTER, name_zh=f"{name}出口公司")
            register(session, company, ParticipantRole.EXPORTER)
            exporters[name] = company
        db.session.add(TariffExposure(company_id=exporters["tariff"].id, market="US", old_rate=7.5, new_rate=52.5,
                                      effective_on=date(2025, 4, 10), revenue_share=60))
        db.session.add(CompanyTag(company_id=exporters["zjtx"].id, tag=CompanyTagKind.SPECIALIZED,
                                  source_document="浙经信〔2024〕1号", granted_on=date(2024, 1, 1)))
        db.session.commit()
        products = {name: make_product(company=company, title_zh=f"不相干的样品{name}")
                    for name, company in exporters.items()}
        first = post_request(host, session, title="采购户外折叠椅")
        second = post_request(host, session, title="采购露营帐篷")
        db.session.execute(sa.delete(Match))  # the test chooses the scores
        db.session.commit()
        add_match(first, products["plain"], 90)
        add_match(first, products["tariff"], 60)
        add_match(first, products["zjtx"], 70)
        add_match(second, products["plain"], 50)

        def order(**filters) -> list[tuple[str, float]]:
            found = board.board_page(organizer, session.id, board.BoardFilters(**filters))
            by_id = {c.id: n for n, c in exporters.items()}
            return [(by_id[r.match.exporter_id], r.match.score) for r in found.rows]

        expectations = {
            SessionFocus.NONE: [("plain", 90), ("zjtx", 70), ("tariff", 60), ("plain", 50)],
            SessionFocus.TARIFF_HIT: [("tariff", 60), ("plain", 90), ("zjtx", 70), ("plain", 50)],
            SessionFocus.ZJTX: [("zjtx", 70), ("plain", 90), ("tariff", 60), ("plain", 50)],
        }
        for focus, expected in expectations.items():
            db.session.get(MatchmakingSession, session.id).focus = focus
            db.session.commit()
            assert order() == expected, focus
        assert order(min_score=65) == [("zjtx", 70), ("plain", 90)]
        assert order(exporter_id=exporters["plain"].id) == [("plain", 90), ("plain", 50)]
        assert order(request_id=second.id) == [("plain", 50)]
        found = board.board_page(organizer, session.id, board.BoardFilters(), page=2, per_page=3)
        assert [r.match.score for r in found.rows] == [50] and found.page.total == 4
        flags = {r.match.exporter_id: (r.tariff_hit, r.zjtx) for r in found.rows}
        assert flags == {exporters["plain"].id: (False, False)}
        first_page = board.board_page(organizer, session.id, board.BoardFilters(), per_page=3)
        assert {r.match.exporter_id: (r.tariff_hit, r.zjtx) for r in first_page.rows}[exporters["tariff"].id] == (
            True, False)
        assert [title for _id, title in first_page.request_choices] == [f"#{first.id} 采购户外折叠椅",
                                                                      f"#{second.id} 采购露营帐篷"]
