"""The organizer's dashboard (对接成效): figures counted by hand from a small world, every figure equal to the
length of its list, the filters and groups, the pages, and who may see what.

The world: organizer A runs S1 (Shenzhen, 小家电, 10 March 2026) and S2 (Hangzhou, 纺织服装, starting at 01:30 on
1 April in China, still 31 March in UTC); organizer B runs S3. Registrations, demand lines, matches, quotes,
meetings and intents of every kind are made straight in the database, each with a note of whether it counts.
"""
from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from marketplace.accounts.models import CompanyKind, CompanyTag, CompanyTagKind, Role, TariffExposure
from marketplace.catalog.models import Product, ProductStatus
from marketplace.deals.models import OrderIntent
from marketplace.deals.states import IntentState
from marketplace.extensions import db
from marketplace.matching.models import Match
from marketplace.reports import figures, rows
from marketplace.sessions.models import MatchmakingSession, Meeting, SessionRegistration
from marketplace.sourcing.models import ProcurementRequest, Quote
from tests.conftest import login
from tests.factories import make_company, make_user

_serial = itertools.count(1)
S1_START = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
S2_START = datetime(2026, 3, 31, 17, 30, tzinfo=UTC)  # 2026-04-01 01:30 in Asia/Shanghai
S3_START = datetime(2026, 3, 20, 2, 0, tzinfo=UTC)


def _add(model, **values) -> int:
    """A row written with Core (no flush hooks: no search index, no matching), its id."""
    return db.session.execute(sa.insert(model.__table__).values(**values)).inserted_primary_key[0]


def _session(organizer, title, start, province, city, industry, cluster) -> int:
    return _add(MatchmakingSession, organizer_company_id=organizer.id, title=title, industry=industry,
                cluster=cluster, province_code=province, city_code=city, starts_at=start,
                ends_at=start + timedelta(hours=6), status="finished", version=1)


def _register(session_id, company, role, status="approved", checked_in=False) -> int:
    return _add(SessionRegistration, session_id=session_id, company_id=company.id, role=role, status=status,
                checkin_token=f"token-{next(_serial)}", version=1,
                checked_in_at=datetime(2026, 3, 10, 2, 5, tzinfo=UTC) if checked_in else None)


def _product(company, category, **extra) -> int:
    serial = next(_serial)
    return _add(Product, company_id=company.id, sku=f"R-{serial}", title_zh=f"产品{serial}", category=category,
                unit="台", moq=10, status=ProductStatus.PUBLISHED.value, specs=[], **extra)


def _request(session_id, buyer, state="open") -> int:
    serial = next(_serial)
    return _add(ProcurementRequest, buyer_company_id=buyer.id, title=f"采购需求{serial}", category="small_appliances",
                quantity=100, unit="台", delivery_province_code="440000", delivery_city_code="440300",
                deadline=date(2026, 12, 31), state=state, session_id=session_id, version=1,
                idempotency_key=f"req-{serial}", required_certifications=[], required_readiness=[],
                must_requirements=[])


def _match(request_id, product_id, exporter, buyer) -> int:
    return _add(Match, request_id=request_id, product_id=product_id, exporter_id=exporter.id, buyer_id=buyer.id,
                score=800, parts={}, gaps=[])


def _quote(request_id, exporter, state="submitted") -> int:
    return _add(Quote, request_id=request_id, exporter_company_id=exporter.id, unit_price_fen=1000, quantity=100,
                moq=10, lead_time_days=10, valid_until=date(2026, 12, 31), state=state,
                idempotency_key=f"quote-{next(_serial)}", version=1)


def _meeting(session_id, buyer, exporter, table, cancelled=False) -> int:
    start = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)
    return _add(Meeting, session_id=session_id, slot_start=start, slot_end=start + timedelta(minutes=20),
                table_no=table, buyer_company_id=buyer.id, exporter_company_id=exporter.id,
                booked_by_company_id=buyer.id, cancelled_at=start if cancelled else None)


def _intent(session_id, buyer, exporter, product_id, state, quantity, price, title="智能电饭煲") -> int:
    return _add(OrderIntent, buyer_company_id=buyer.id, exporter_company_id=exporter.id, product_id=product_id,
                session_id=session_id, product_title=title, unit="台", quantity=quantity, unit_price_fen=price,
                amount_fen=quantity * price, valid_until=date(2026, 12, 31), state=state, version=1,
                idempotency_key=f"intent-{next(_serial)}")


def make_world() -> dict:
    """Two organizers, their sessions and everything at them; returns the ids and e-mails."""
    org_a = make_company(kind=CompanyKind.ORGANIZER, name_zh="深圳市中小企业服务中心")
    org_b = make_company(kind=CompanyKind.ORGANIZER, name_zh="杭州市商务局")
    users = {"org_a": make_user(company=org_a, role=Role.ORGANIZER), "org_b": make_user(company=org_b, role=Role.ORGANIZER),
             "admin": make_user(company=make_company(kind=CompanyKind.ORGANIZER), role=Role.PLATFORM_ADMIN)}
    e1, e2, e3, e4 = (make_company(kind=CompanyKind.EXPORTER, name_zh=f"出口企业{n}") for n in (1, 2, 3, 4))
    b1 = make_company(kind=CompanyKind.CHAIN_LEADER, name_zh="采购企业1")
    b2 = make_company(kind=CompanyKind.RETAILER, name_zh="采购企业2")
    users["exporter"] = make_user(company=e1)
    users["buyer"] = make_user(company=b1)
    # E1: tariff exposure and 专精特新; E2: a product with a tariff note; E3: neither; E4: a tag only
    _add(TariffExposure, company_id=e1.id, market="US", old_rate=7.5, new_rate=52.5, effective_on=date(2025, 4, 9),
         revenue_share=40)
    for company in (e1, e4):
        _add(CompanyTag, company_id=company.id, tag=CompanyTagKind.SPECIALIZED.value, source_document="公告",
             granted_on=date(2025, 1, 1))
    p1 = _product(e1, "small_appliances")
    p2 = _product(e2, "textiles", tariff_note="美国加征关税后订单取消")
    p3 = _product(e3, "hardware")
    s1 = _session(org_a, "小家电专场对接会", S1_START, "440000", "440300", "小家电", "顺德小家电集群")
    s2 = _session(org_a, "纺织服装专场对接会", S2_START, "330000", "330100", "纺织服装", "柯桥纺织集群")
    s3 = _session(org_b, "杭州五金专场", S3_START, "440000", "440100", "五金工具", None)
    # S1: E4 refused and B2 cancelled do not count → registered E1 E2 E3 B1, checked in E1 E2 B1
    _register(s1, e1, "exporter", checked_in=True)
    _register(s1, e2, "exporter", checked_in=True)
    _register(s1, e3, "exporter", status="pending")
    _register(s1, e4, "exporter", status="refused")
    _register(s1, b1, "buyer", checked_in=True)
    _register(s1, b2, "buyer", status="cancelled")
    # S2: E1 (not checked in), E4 and B2 (checked in)
    _register(s2, e1, "exporter")
    _register(s2, e4, "exporter", checked_in=True)
    _register(s2, b2, "buyer", checked_in=True)
    _register(s3, e3, "exporter", checked_in=True)
    r1, r2 = _request(s1, b1), _request(s1, b1, state="draft")
    r3, r4 = _request(s2, b2), _request(s3, b1)
    for product, exporter in ((p1, e1), (p2, e2), (p3, e3)):
        _match(r1, product, exporter, b1)
    _match(r2, p1, e1, b1)  # on a draft: not counted
    _match(r3, p1, e1, b2)
    _match(r4, p3, e3, b1)
    _quote(r1, e1)
    _quote(r1, e2, state="withdrawn")  # not counted
    _quote(r1, e3, state="shortlisted")
    _quote(r3, e1)
    _quote(r4, e3)
    _meeting(s1, b1, e1, 1)
    _meeting(s1, b1, e2, 2, cancelled=True)  # not counted
    _meeting(s1, b2, e3, 3)
    _meeting(s2, b2, e4, 1)
    _meeting(s3, b1, e3, 1)
    intents = {
        "i1": _intent(s1, b1, e1, p1, "signed", 100, 1000),  # 100,000 fen
        "i2": _intent(s1, b1, e2, p2, "fulfilled", 50, 2000),  # 100,000
        "i3": _intent(s1, b1, e1, p1, "submitted", 10, 5000),  # 50,000
        "i4": _intent(s1, b1, e3, p3, "declined", 20, 100),  # 2,000
        "i5": _intent(s1, b1, e1, p1, "draft", 1, 999_999),  # a draft: never counted
        "i6": _intent(s2, b2, e1, p1, "accepted", 1, 30_000),  # 30,000
        "i7": _intent(s2, b2, e2, p2, "withdrawn", 1, 5000),  # 5,000
        "i8": _intent(s3, b1, e3, p3, "signed", 7, 111_100),  # organizer B's session
        "i9": _intent(None, b1, e1, p1, "signed", 3, 1000),  # no session
    }
    db.session.commit()
    return {"emails": {name: user.email for name, user in users.items()}, "org_a": org_a.id, "org_b": org_b.id,
            "s1": s1, "s2": s2, "s3": s3, "p1": p1, "p2": p2, "p3": p3, **intents}


@pytest.fixture
def world(app):
    with app.app_context():
        return make_world()


def scope_a(world) -> figures.Scope:
    from marketplace.accounts.models import Company

    return figures.Scope.of_company(db.session.get(Company, world["org_a"]))


# --------------------------------------------------------------------------- the figures


#: organizer A's figures counted by hand from the world: per session, and both together
EXPECTED = {
    "s1": {"registered": 4, "attending": 3, "exporters": 3, "tariff_hit": 2, "zjtx": 1, "requests": 1, "matches": 3,
           "quotes": 2, "meetings": 2, "intents": 4, "intent_value": 250_000, "standing": 3, "signed": 2,
           "signed_value": 200_000},
    "s2": {"registered": 3, "attending": 2, "exporters": 2, "tariff_hit": 1, "zjtx": 2, "requests": 1, "matches": 1,
           "quotes": 1, "meetings": 1, "intents": 2, "intent_value": 30_000, "standing": 1, "signed": 0,
           "signed_value": 0},
}
EXPECTED["total"] = {key: EXPECTED["s1"][key] + EXPECTED["s2"][key] for key in EXPECTED["s1"]}


def _as_dict(f: figures.Figures) -> dict:
    return {key: getattr(f, key) for key in EXPECTED["s1"]}


def test_figures_equal_the_counts_by_hand(app, world):
    with app.test_request_context():
        board = figures.dashboard(scope_a(world), figures.ReportFilter())
        assert [s.id for s in board.sessions] == [world["s1"], world["s2"]]
        assert _as_dict(board.per_session[world["s1"]]) == EXPECTED["s1"]
        assert _as_dict(board.per_session[world["s2"]]) == EXPECTED["s2"]
        assert _as_dict(board.total) == EXPECTED["total"]
        assert board.total.sessions == 2
        assert board.companies == 6  # E1 E2 E3 B1 at S1, E1 E4 B2 at S2
        assert board.total.intents_by_state[IntentState.SIGNED] == [1, 100_000]
        assert board.total.intents_by_state[IntentState.WITHDRAWN] == [1, 5_000]
        assert IntentState.DRAFT not in board.total.intents_by_state
        assert board.total.tariff_share == pytest.approx(3 / 5)
        assert [(s.key, s.count) for s in board.total.funnel()] == [("matches", 4), ("quotes", 3), ("intents", 6),
                                                                    ("signed", 2)]
        # quotes and intents against the matches (an intent may come straight from the board), signed against intents
        assert [s.rate for s in board.total.funnel()] == [None, pytest.approx(3 / 4), pytest.approx(6 / 4),
                                                          pytest.approx(2 / 6)]
        # the products by intent value: P1 180,000 (3 intents), P2 100,000 (2), P3 0 (1)
        assert [(p.product_id, p.intents, p.value, p.signed_value) for p in board.products] == [
            (world["p1"], 3, 180_000, 100_000), (world["p2"], 2, 100_000, 100_000), (world["p3"], 1, 0, 0)]
        assert board.products[0].label == "智能电饭煲"
        assert [(c.key, c.value) for c in board.categories] == [("small_appliances", 180_000), ("textiles", 100_000),
                                                                ("hardware", 0)]
        # one session: the same figures
        report = figures.session_report(scope_a(world), world["s2"])
        assert _as_dict(report.figures) == EXPECTED["s2"]


#: (filter, {group key: the session in it})
FILTER_CASES = [
    (figures.ReportFilter(group_by="province"), {"440000": "s1", "330000": "s2"}),
    (figures.ReportFilter(group_by="month"), {"2026-03": "s1", "2026-04": "s2"}),  # S2: 1 April in China
    (figures.ReportFilter(group_by="industry"), {"小家电": "s1", "纺织服装": "s2"}),
    (figures.ReportFilter(date_from=date(2026, 4, 1)), {"2026-04": "s2"}),
    (figures.ReportFilter(date_to=date(2026, 3, 31)), {"2026-03": "s1"}),
    (figures.ReportFilter(province="440000", group_by="city"), {"440300": "s1"}),
    (figures.ReportFilter(industry="纺织服装", group_by="cluster"), {"柯桥纺织集群": "s2"}),
    (figures.ReportFilter(date_from=date(2027, 1, 1)), {}),
]


def test_filters_and_groups_pick_the_sessions(app, world):
    with app.test_request_context():
        for filt, expected in FILTER_CASES:
            board = figures.dashboard(scope_a(world), filt)
            assert {g.key: [s.id for s in g.sessions] for g in board.groups} == {
                key: [world[name]] for key, name in expected.items()}, filt
            for group in board.groups:
                assert _as_dict(group.figures) == EXPECTED[expected[group.key]], (filt, group.key)
            assert board.empty is (not expected)


def test_a_period_ending_before_it_starts_is_refused(app, world):
    with app.test_request_context(), pytest.raises(figures.ValidationFailed):
        figures.dashboard(scope_a(world), figures.ReportFilter(date_from=date(2026, 5, 1), date_to=date(2026, 4, 1)))


# (list, narrowing, the figure it must equal)
FIGURE_LISTS = [
    ("registrations", {}, "registered"),
    ("registrations", {"attended": "1"}, "attending"),
    ("registrations", {"role": "exporter"}, "exporters"),
    ("registrations", {"role": "exporter", "tariff_hit": "1"}, "tariff_hit"),
    ("registrations", {"role": "exporter", "zjtx": "1"}, "zjtx"),
    ("requests", {}, "requests"),
    ("matches", {}, "matches"),
    ("quotes", {}, "quotes"),
    ("meetings", {}, "meetings"),
    ("intents", {}, "intents"),
    ("intents", {"group": "standing"}, "standing"),
    ("intents", {"group": "signed"}, "signed"),
]


def test_the_scan_for_many_sessions_counts_the_same(app, world, monkeypatch):
    """From ``SCAN_FROM`` sessions on, intents are read by a full pass instead of the index: the same figures."""
    ids = [world["s1"], world["s2"]]
    with app.test_request_context():
        by_index = figures.tally(ids)
        monkeypatch.setattr(figures, "SCAN_FROM", 1)
        by_scan = figures.tally(ids)
    assert {sid: _as_dict(f) for sid, f in by_scan.sessions.items()} == \
        {sid: _as_dict(f) for sid, f in by_index.sessions.items()}
    assert by_scan.products == by_index.products


def test_kept_intent_tallies_follow_every_change(app, world, monkeypatch):
    """A large selection's intent sums are kept; a new or changed intent (its event) makes them read again."""
    from marketplace.deals.models import OrderIntentEvent
    from marketplace.deals.states import Action

    monkeypatch.setattr(figures, "SCAN_FROM", 1)
    ids = [world["s1"], world["s2"]]
    with app.test_request_context():
        first = figures.intent_tallies(ids)
        assert figures.intent_tallies(ids) is first  # kept
        assert figures.tally(ids).sessions[world["s1"]].signed == 2
        # the exporter signs I3 as the deals service does: new state, next version, its event
        intent = db.session.get(OrderIntent, world["i3"])
        intent.state = IntentState.SIGNED
        db.session.add(OrderIntentEvent(intent=intent, version=intent.version + 1, action=Action.SIGN,
                                        from_state=IntentState.SUBMITTED, to_state=IntentState.SIGNED,
                                        terms_after=intent.terms()))
        db.session.commit()
        assert figures.tally(ids).sessions[world["s1"]].signed == 3
        from marketplace.accounts.models import Company

        buyer, exporter = (db.session.get(Company, c) for c in (db.session.get(OrderIntent, world["i1"]).buyer_company_id,
                                                                db.session.get(OrderIntent, world["i1"]).exporter_company_id))
        _intent(world["s2"], buyer, exporter, world["p1"], "submitted", 2, 500)
        db.session.commit()
        assert figures.tally(ids).sessions[world["s2"]].intents == EXPECTED["s2"]["intents"] + 1


def test_every_figure_is_the_length_of_its_list(app, world):
    with app.test_request_context():
        scope = scope_a(world)
        for name in ("s1", "s2", None):
            ids = [world[name]] if name else [world["s1"], world["s2"]]
            f = figures.tally(ids).sessions
            merged = figures.total(f.values())
            for kind, args, figure in FIGURE_LISTS:
                found = rows.page(kind, ids, rows.RowFilter.from_args(args))
                assert found.total == getattr(merged, figure), (name, kind, args)
            standing = rows.page("intents", ids, rows.RowFilter(group="standing"))
            assert standing.sums["amount_fen"] == merged.intent_value
            signed = rows.page("intents", ids, rows.RowFilter(group="signed"))
            assert signed.sums["amount_fen"] == merged.signed_value
        board = figures.dashboard(scope, figures.ReportFilter())
        companies = rows.page("companies", board.session_ids, rows.RowFilter())
        assert companies.total == board.companies
        for item in board.products + board.categories:
            narrowing = {"product": str(item.product_id)} if item.product_id else {"category": item.key}
            listed = rows.page("intents", board.session_ids, rows.RowFilter.from_args(narrowing))
            standing = rows.page("intents", board.session_ids, rows.RowFilter.from_args({**narrowing, "group": "standing"}))
            signed = rows.page("intents", board.session_ids, rows.RowFilter.from_args({**narrowing, "group": "signed"}))
            assert (listed.total, standing.sums["amount_fen"], signed.sums["amount_fen"]) == (
                item.intents, item.value, item.signed_value), item
        by_state = rows.page("intents", [world["s1"]], rows.RowFilter(state=IntentState.FULFILLED))
        assert [row.id for row in by_state.items] == [world["i2"]]


def test_tariff_and_zjtx_follow_the_matching_index(app, world):
    """A company is tariff-hit / 专精特新 here exactly when matching's index record of its product says so."""
    from marketplace.catalog.search_kind import product_record

    with app.test_request_context():
        for key in ("p1", "p2", "p3"):
            product = db.session.get(Product, world[key])
            record = product_record(product)
            company_id = product.company_id
            assert db.session.scalar(sa.select(figures.tariff_hit(sa.literal(company_id)))) == record.tariff_hit, key
            assert db.session.scalar(sa.select(figures.zjtx(sa.literal(company_id)))) == record.verified, key


# --------------------------------------------------------------------------- the pages


def test_dashboard_page_shows_the_figures_and_links_to_their_rows(app, world, en_client):
    login(en_client, world["emails"]["org_a"])
    page = en_client.get("/reports/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    for testid, shown in (("registered", "7"), ("attending", "5"), ("meetings", "3"), ("intents", "6"),
                          ("tariff", "60.0%"), ("intent-value", "CN¥2,800.00"), ("signed-value", "CN¥2,000.00")):
        assert f'data-testid="value-{testid}">' in html
        assert shown in html.split(f'data-testid="value-{testid}">', 1)[1].split("</div>", 1)[0], testid
    assert "杭州五金专场" not in html  # organizer B's session
    assert 'href="/reports/rows/intents?group=signed"' in html
    assert 'type="application/json" id="chart-groups"' in html
    assert "<script>" not in html  # the CSP allows no inline script
    # the list behind "signed": the two signed intents of A's sessions, with their sum
    listed = en_client.get("/reports/rows/intents?group=signed").get_data(as_text=True)
    assert listed.count('data-testid="row"') == 2
    assert "CN¥2,000.00" in listed
    # grouped by province: a group's list holds only its sessions' rows
    grouped = en_client.get("/reports/rows/intents?by=province&key=330000").get_data(as_text=True)
    assert grouped.count('data-testid="row"') == 2


def test_dashboard_filter_with_the_dates_reversed_says_so(app, world, en_client):
    login(en_client, world["emails"]["org_a"])
    page = en_client.get("/reports/?from=2026-05-01&to=2026-04-01")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "The end of the period is before its start." in html


def test_organizer_without_sessions_sees_the_empty_state(app, en_client):
    with app.app_context():
        email = make_user(company=make_company(kind=CompanyKind.ORGANIZER), role=Role.ORGANIZER).email
    login(en_client, email)
    html = en_client.get("/reports/").get_data(as_text=True)
    assert "No matchmaking session yet." in html
    assert "summary.xlsx" not in html


ACTORS = ("org_a", "org_b", "admin", "exporter", "buyer", "anonymous")

# (url, {actor: status}); anyone not named gets 403 (logged in) or the login page (anonymous)
AUTH_TABLE = [
    ("/reports/", {"org_a": 200, "org_b": 200, "admin": 200}),
    ("/reports/sessions/{s1}", {"org_a": 200, "org_b": 404, "admin": 200}),
    ("/reports/sessions/{s3}", {"org_a": 404, "org_b": 200, "admin": 200}),
    ("/reports/sessions/{s1}/intents?state=signed", {"org_a": 200, "org_b": 404, "admin": 200}),
    ("/reports/sessions/{s1}/registrations?attended=1", {"org_a": 200, "org_b": 404, "admin": 200}),
    ("/reports/sessions/{s1}/meetings", {"org_a": 200, "org_b": 404, "admin": 200}),
    ("/reports/sessions/{s1}/quotes", {"org_a": 200, "org_b": 404, "admin": 200}),
    ("/reports/sessions/{s1}/no-such-list", {"org_a": 404, "org_b": 404, "admin": 404}),
    ("/reports/sessions/999999", {"org_a": 404, "org_b": 404, "admin": 404}),
    ("/reports/intents/{i1}", {"org_a": 200, "org_b": 404, "admin": 200}),
    ("/reports/intents/{i8}", {"org_a": 404, "org_b": 200, "admin": 200}),
    ("/reports/intents/{i5}", {"org_a": 404, "org_b": 404, "admin": 404}),  # a draft
    ("/reports/intents/{i9}", {"org_a": 404, "org_b": 404, "admin": 404}),  # no session
    ("/reports/rows/companies", {"org_a": 200, "org_b": 200, "admin": 200}),
    ("/reports/summary.xlsx", {"org_a": 200, "org_b": 200, "admin": 200}),
    ("/reports/sessions/{s1}/report.xlsx", {"org_a": 200, "org_b": 404, "admin": 200}),
    ("/reports/sessions/{s1}/report.pdf", {"org_a": 200, "org_b": 404, "admin": 200}),
]


def test_who_may_see_what(app, world):
    clients = {}
    for actor in ACTORS:
        client = app.test_client()
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
        if actor != "anonymous":
            login(client, world["emails"][actor])
        clients[actor] = client
    failures = []
    for template, allowed in AUTH_TABLE:
        url = template.format(**world)
        for actor in ACTORS:
            response = clients[actor].get(url)
            if actor == "anonymous":
                ok = response.status_code == 302 and "/account/login" in response.headers["Location"]
                expected = "login"
            else:
                expected = allowed.get(actor, 403)
                ok = response.status_code == expected
            if not ok:
                failures.append(f"{actor} {url}: {response.status_code}, expected {expected}")
    assert not failures, "\n".join(failures)
    # what organizer B sees of its own session holds nothing of A's
    html = clients["org_b"].get(f"/reports/sessions/{world['s3']}").get_data(as_text=True)
    assert "杭州五金专场" in html and "小家电专场对接会" not in html
