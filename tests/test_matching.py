"""Matching: the scoring function as tables, keywords, materialized matches kept in step, pages, CLI, authorization."""
from __future__ import annotations

import gc
import json
import random
import re
import secrets
import threading
import weakref
from datetime import date, timedelta

import numpy as np
import pytest
import sqlalchemy as sa

from marketplace.accounts.models import CompanyKind
from marketplace.catalog import services as catalog_services
from marketplace.catalog.models import Certification, Product, ProductStatus
from marketplace.catalog.rows import PriceTierInput
from marketplace.database import utcnow
from marketplace.extensions import db
from marketplace.matching import demand, profiles, ranking, scoring
from marketplace.matching import services as matching
from marketplace.matching import sync as matching_sync
from marketplace.matching.models import Match, MatchProfile
from marketplace.matching.scoring import MIN_SCORE, ProductFacts, RequestFacts, fit, price_at
from marketplace.search import sync as search_sync
from marketplace.sourcing import services as sourcing
from marketplace.sourcing.models import ProcurementRequest
from marketplace.sourcing.services import RequestInput, today_in_china
from marketplace.sourcing.states import Visibility
from search_index import SearchIndex
from search_index.similar import candidate_words, select_keywords
from tests.conftest import login, post_form
from tests.factories import make_company, make_product, make_user

# ----------------------------------------------------------------------------- the scoring function


def _request(**overrides) -> RequestFacts:
    values = {"id": 1, "buyer_id": 9, "quantity": 2000, "category": "small_appliances", "hs_code": "851660",
              "province": "330000", "city": "330200", "target_fen": 2500, "required_certifications": ("CCC",),
              "required_readiness": (), "musts": frozenset(), "deadline_key": 20270630,
              "weights": (2.0, 1.0), "keyword_texts": ("保温杯", "不锈钢")}
    values.update(overrides)
    return RequestFacts(**values)


def _product(**overrides) -> ProductFacts:
    values = {"id": 5, "company_id": 7, "category": "small_appliances", "hs_code": "851660", "province": "330000",
              "city": "330200", "moq": 500, "tiers": ((500, 2400),), "capacity": 10000,
              "cert_until": {"CCC": 0}}
    values.update(overrides)
    return ProductFacts(**values)


def _codes(result) -> list[str]:
    return [gap["code"] for gap in result.gaps]


@pytest.mark.parametrize(("product", "presence", "expected_codes", "score"), [
    # points over the 105 this request makes applicable (text 55, goods 15, region 6, MOQ 5, price 10,
    # certifications 10, capacity 4); everything fits, both words in the title: full marks
    ({}, (2, 2), [], 100.0),
    # MOQ above the quantity: a gap and the MOQ points lost
    ({"moq": 5000, "tiers": ((5000, 2400),)}, (2, 2), ["moq_over"], 95.2),
    # price 6% over the target (26.50 vs 25.00): 10 × (1 − 6/30) = 8 of 10
    ({"tiers": ((500, 2650),)}, (2, 2), ["price_over"], 98.1),
    # certificate missing
    ({"cert_until": {}}, (2, 2), ["cert_missing"], 90.5),
    # certificate that ends before the deadline is missing too
    ({"cert_until": {"CCC": 20270101}}, (2, 2), ["cert_expires"], 90.5),
    # same chapter only (9), neighbouring province (2.5), the lighter word in the text only (55 × 0.7/3)
    ({"hs_code": "850910", "province": "320000", "city": "320100"}, (0, 1), [], 50.8),
])
def test_fit_parts_and_gaps(product, presence, expected_codes, score):
    result = fit(_request(), _product(**product), presence)
    assert _codes(result) == expected_codes
    assert result.score == score


def test_fit_must_excludes_nice_penalises():
    product = _product(moq=5000, tiers=((5000, 2400),))
    nice = fit(_request(), product, (2, 2))
    must = fit(_request(musts=frozenset({"moq"})), product, (2, 2))
    assert nice.matches and not nice.excluded
    assert must.excluded and not must.matches and must.excluded_by == ["moq"]
    assert must.score == nice.score  # a must filters; it does not change the score


def test_fit_needs_a_word_or_the_same_heading_and_the_right_goods_and_nice_gaps_only_lower_it():
    assert not fit(_request(), _product(hs_code="940540"), (0, 0)).matches  # no keyword, another heading
    same_goods = fit(_request(), _product(), (0, 0))  # no shared word, but the same HS subheading (8516.60)
    assert same_goods.matches and same_goods.same_goods
    # a minor word in the text only, another category: not the goods asked for, however well it would deliver
    assert not fit(_request(weights=(9.0, 1.0)), _product(hs_code="", category="toys"), (0, 1)).matches
    # the right goods (the same HS subheading, no shared word), every nice requirement short (far away, MOQ and
    # price over, too little capacity, no certificate): listed, low, with each gap — only a must excludes
    low = fit(_request(), _product(province="650000", city="", moq=9999, tiers=((9999, 9000),), capacity=10,
                                   cert_until={}), (0, 0))
    assert low.matches and low.score < 25 and low.score >= MIN_SCORE
    assert set(_codes(low)) == {"moq_over", "price_over", "capacity_short", "cert_missing"}
    assert not fit(_request(musts=frozenset({"certifications"})), _product(cert_until={}), (2, 2)).matches


def test_a_product_of_another_category_is_the_goods_only_with_half_the_words():
    """吊灯 北欧 简约 asks for a lamp: a table holding its modifiers (北欧, 简约) but not its goods is not the goods
    asked for; one holding half of the words by weight is; a product of the request's category needs far fewer."""
    request = _request(hs_code="", weights=(2.0, 1.0, 1.0), keyword_texts=("吊灯", "北欧", "简约"))
    table = _product(hs_code="", category="furniture")
    modifier = fit(request, table, (0, 2, 0))  # a quarter of the weight
    assert not modifier.matches and modifier.relevance == 0.0 and not modifier.neighbour
    assert "other_category" in _codes(modifier)
    assert not fit(request, table, (0, 2, 1)).matches  # 0.425: the second modifier only in the text
    assert fit(request, table, (0, 2, 2)).matches  # half exactly
    assert fit(request, table, (2, 0, 0)).matches  # the goods word itself
    assert fit(request, _product(hs_code=""), (0, 2, 0)).matches  # the request's category: a quarter is enough
    # the same chapter of a request's HS code is a close classification, not another one
    assert fit(_request(weights=(2.0, 1.0, 1.0), keyword_texts=("吊灯", "北欧", "简约")),
               _product(hs_code="850910", category="furniture"), (0, 2, 0)).matches
    # a request naming no category or HS code: the words alone decide, as before
    assert fit(_request(hs_code="", category="other", weights=(2.0, 1.0, 1.0), keyword_texts=("吊灯", "北欧", "简约")),
               table, (0, 2, 0)).matches
    # the vectorized form the ranking and the product side read gives the same relevance
    coverage = np.array([0.25, 0.425, 0.5, 0.25, 0.0])
    goods = np.array([0.0, 0.0, 0.0, 8.0, 0.0])
    expected = [fit(request, product, presence).relevance for product, presence in (
        (table, (0, 2, 0)), (table, (0, 2, 1)), (table, (0, 2, 2)), (_product(hs_code=""), (0, 2, 0)),
        (table, (0, 0, 0)))]
    assert scoring.relevance_bounds(request, coverage, goods).tolist() == pytest.approx(expected)


def test_fit_calls_a_product_of_the_category_without_the_words_a_neighbour():
    request = _request(hs_code="")  # a category, no HS code: the goods part is the category alone
    neighbour = fit(request, _product(hs_code=""), (0, 0))  # same category, none of the words
    assert not neighbour.matches and neighbour.neighbour and neighbour.parts["goods"]["neighbour"] is True
    # a minor word in the text only: still too few of the words
    assert fit(_request(hs_code="", weights=(20.0, 1.0)), _product(hs_code=""), (0, 1)).neighbour
    right = fit(request, _product(hs_code=""), (2, 0))  # the main word in the title: the goods asked for
    assert right.matches and not right.neighbour and "neighbour" not in right.parts["goods"]
    assert not fit(request, _product(hs_code="", category="toys"), (0, 0)).neighbour  # another category
    assert not fit(_request(hs_code="", category="other"), _product(hs_code=""), (0, 0)).neighbour  # no category
    # no goods words at all (only stop words): nothing to be similar to
    assert not fit(_request(hs_code="", weights=(), keyword_texts=()), _product(hs_code=""), ()).neighbour
    # a must it fails: neither a match nor a neighbour
    excluded = fit(_request(hs_code="", musts=frozenset({"certifications"})), _product(hs_code="", cert_until={}),
                   (0, 0))
    assert excluded.excluded and not excluded.neighbour


def test_a_neighbour_scores_below_the_notification_threshold_however_well_it_delivers():
    from marketplace.matching.notify import NOTIFY_SCORE

    for request in (_request(hs_code=""), _request(hs_code="", target_fen=None, required_certifications=()),
                    _request(hs_code="", required_readiness=("samples",))):
        best = fit(request, _product(hs_code="", tariff_hit=True, zjtx=True, readiness=frozenset({"samples"})),
                   (0, 0))
        assert best.neighbour and best.score < NOTIFY_SCORE


def test_price_at_uses_the_tier_of_the_quantity():
    tiers = ((100, 900), (1000, 800), (5000, 700))
    assert price_at(tiers, 50) == 900
    assert price_at(tiers, 1000) == 800
    assert price_at(tiers, 99999) == 700
    assert price_at((), 10) is None


# ----------------------------------------------------------------------------- keywords


def test_keywords_drop_procurement_words_places_and_quantities():
    words = [w[0] for w in candidate_words("采购不锈钢保温杯 5000个, 单价 ≤ 25元, 需食品级检测报告, 送货到浙江宁波, 12月20日前")]
    assert "不锈钢保温杯" in words and "食品级" in words
    for noise in ("采购", "5000", "25", "浙江", "宁波", "单价", "12"):
        assert noise not in words
    # a listing's trade and sales talk says nothing of the goods either
    words = [w[0] for w in candidate_words("厂家直销 外贸出口 新款 不锈钢保温杯 支持定制 一件代发 wholesale OEM")]
    assert words == ["不锈钢保温杯"]


def test_keywords_of_bad_input(tmp_path):
    index = SearchIndex(tmp_path / "ix")
    assert index.keywords("采购 需求 我司 提供 ，。！") == []
    assert index.keywords('"" AND OR * ( ) -') == []
    assert index.keywords("保温杯" * 40000) == []  # 120,000 characters, nothing indexed: no crash, nothing


def test_select_keywords_weights_rare_words_higher():
    frequencies = {"保温杯": 5, "不锈钢": 400}
    chosen = select_keywords("不锈钢 保温杯", lambda term: frequencies.get(term, 0), 1000)
    assert [k.text for k in chosen] == ["保温杯", "不锈钢"]
    assert chosen[0].weight > chosen[1].weight


def test_a_titles_words_no_product_holds_yet_are_kept_as_the_rarest():
    """老虎钳 before anyone lists pliers: kept (a product listed later is found by it), weighing more than a word
    many hold; an unknown spec (3000mah), a description's unknown word, places run together (福建厦门) and
    certificates asked for (CCC认证) are not goods words."""
    frequencies = {"多功能": 40, "家用": 90}
    chosen = select_keywords("另需 防锈处理 送货到福建厦门", lambda term: frequencies.get(term, 0), 1000,
                             title="老虎钳 多功能 家用 3000mAh 需CCC认证 福建厦门")
    assert [k.text for k in chosen] == ["老虎钳", "多功能", "家用"]
    assert chosen[0].weight > chosen[1].weight > chosen[2].weight
    # a product holding only the modifiers covers little of it
    assert scoring.coverage_of(tuple(k.weight for k in chosen), (0, 2, 2)) < scoring.OTHER_CLASS_COVERAGE
    assert {"ccc", "ce", "bsci", "roh"} <= profiles.CERTIFICATE_TERMS  # the codes as the analyser writes them


# ----------------------------------------------------------------------------- materialized matches


def _input(**overrides) -> RequestInput:
    values = {"title": "采购不锈钢保温杯", "category": "small_appliances", "quantity": 2000, "unit": "个",
              "delivery_province_code": "330000", "delivery_city_code": "330200",
              "deadline": today_in_china() + timedelta(days=20), "description": "需食品级，送货到宁波",
              "target_unit_price_fen": 2500, "required_certifications": (), "required_readiness": ()}
    values.update(overrides)
    return RequestInput(**values)


def _post(actor, **overrides) -> ProcurementRequest:
    request, _created = sourcing.create_request(actor, _input(**overrides), secrets.token_urlsafe(16))
    sourcing.publish_request(actor, request.id, request.version)
    return db.session.get(ProcurementRequest, request.id)


class World(dict):
    """Ids and e-mails of the fixture's companies, users and products; objects loaded in the test's own context."""

    def __getitem__(self, key):
        from marketplace.accounts.models import Company, User

        value = dict.__getitem__(self, key)
        if key.endswith("_user"):
            return db.session.get(User, value)
        if key in ("buyer", "exporter", "rival"):
            return db.session.get(Company, value)
        return value


@pytest.fixture
def world(app):
    with app.app_context(), search_sync.drain_once():  # one index commit for the lot
        buyer = make_company(kind=CompanyKind.CHAIN_LEADER, province_code="330000", city_code="330200")
        buyer_user = make_user(company=buyer)
        exporter = make_company(kind=CompanyKind.EXPORTER, province_code="330000", city_code="330200")
        exporter_user = make_user(company=exporter)
        cup = make_product(company=exporter, actor=exporter_user, title_zh="不锈钢保温杯 500ml 食品级",
                           moq=500, category="small_appliances")
        pot = make_product(company=exporter, actor=exporter_user, title_zh="不锈钢炒锅 32cm", category="kitchenware")
        rival = make_company(kind=CompanyKind.EXPORTER, province_code="440000", city_code="440100")
        rival_user = make_user(company=rival)
        rival_cup = make_product(company=rival, actor=rival_user, title_zh="真空保温杯 学生水杯", moq=3000,
                                 price_tiers=[PriceTierInput(3000, 2300)], monthly_capacity=50000)
        values = World(buyer=buyer.id, buyer_user=buyer_user.id, exporter=exporter.id, exporter_user=exporter_user.id,
                       cup=cup.id, pot=pot.id, rival=rival.id, rival_user=rival_user.id, rival_cup=rival_cup.id)
        db.session.commit()  # the reads above began a transaction: end it before the test's own context
    return values


def _matches(request_id: int) -> dict[int, float]:
    db.session.expire_all()
    return {m.product_id: m.score for m in db.session.scalars(sa.select(Match).where(Match.request_id == request_id))}


def _neighbours(request_id: int) -> set[int]:
    """The request's listed neighbours (same category, not the goods its words ask for)."""
    db.session.expire_all()
    return {m.product_id for m in db.session.scalars(sa.select(Match).where(Match.request_id == request_id))
            if (m.parts.get("goods") or {}).get("neighbour")}


def test_posting_a_request_materializes_its_matches(app, world):
    with app.app_context():
        request = _post(world["buyer_user"])
        found = _matches(request.id)
        assert world["cup"] in found and world["rival_cup"] in found
        assert found[world["cup"]] > found[world["rival_cup"]]  # title, same city, MOQ fits
        match = db.session.scalar(sa.select(Match).where(Match.request_id == request.id,
                                                         Match.product_id == world["rival_cup"]))
        assert {
            k: v for k, v in match.gaps[0].items() if k in ("code", "moq", "quantity")} == {"code": "moq_over", "moq": 3000, "quantity": 2000}


def test_archiving_a_product_and_closing_a_request_remove_matches_at_once(app, world):
    with app.app_context():
        request = _post(world["buyer_user"])
        assert world["cup"] in _matches(request.id)
        product = db.session.get(Product, world["cup"])
        catalog_services.set_products_status(world["exporter_user"], world["exporter"], [product.id],
                                             ProductStatus.ARCHIVED)
        assert world["cup"] not in _matches(request.id)
        request = db.session.get(ProcurementRequest, request.id)
        sourcing.close_request(world["buyer_user"], request.id, request.version, "")
        assert _matches(request.id) == {}


def _set_status(product, status) -> None:
    product.status = status
    db.session.commit()


def test_a_new_product_joins_open_requests(app, world):
    with app.app_context():
        request = _post(world["buyer_user"])
        newcomer = make_product(company=world["rival"], actor=world["rival_user"], title_zh="双层不锈钢保温杯 食品级",
                                moq=100)
        assert newcomer.id in _matches(request.id)


def test_must_requirement_filters_and_the_empty_state_says_which(app, world, en_client):
    with app.app_context():
        request = _post(world["buyer_user"], required_certifications=("CCC",), must_requirements=("certifications",))
        assert _matches(request.id) == {}
        request_id = request.id
        email = world["buyer_user"].email
    login(en_client, email)
    page = en_client.get(f"/sourcing/requests/{request_id}").get_data(as_text=True)
    assert "Required certifications held and valid" in page and "excludes" in page


def test_expired_certificate_is_missing(app, world):
    with app.app_context():
        product = db.session.get(Product, world["cup"])
        db.session.add(Certification(product_id=product.id, kind="CCC", number="2020011", expires_on=date(2020, 1, 1)))
        db.session.commit()
        request = _post(world["buyer_user"], required_certifications=("CCC",), must_requirements=())
        match = db.session.scalar(sa.select(Match).where(Match.request_id == request.id,
                                                         Match.product_id == world["cup"]))
        assert match is not None and "cert_missing" in [g["code"] for g in match.gaps]


@pytest.mark.parametrize("list_size", [100, 2], ids=["lists-open", "lists-full"])
@pytest.mark.parametrize("rebuild_after", [0, 10_000], ids=["demand-rebuilt-each-change", "demand-overlay"])
def test_materialized_equals_recomputed_after_random_changes(app, world, rebuild_after, list_size, monkeypatch):
    """Whatever the product side's in-memory demand holds (built again at every change, or built once with every
    later profile read as its overlay), and whether a product must beat a full list's last place, the matches
    equal a recompute of every request from its own side."""
    monkeypatch.setattr(demand, "REBUILD_AFTER", rebuild_after)
    monkeypatch.setattr(matching, "MATCHES_PER_REQUEST", list_size)
    rng = random.Random(f"changes-{rebuild_after}-{list_size}")
    with app.app_context():
        actors = [(world["exporter"], world["exporter_user"]), (world["rival"], world["rival_user"])]
        requests = [_post(world["buyer_user"], title=title, quantity=rng.choice([100, 2000, 9000]))
                    for title in ("采购不锈钢保温杯", "求购炒锅", "采购保温杯 学生", "电饭煲 采购", "采购空气炸锅")]
        products = [world["cup"], world["pot"], world["rival_cup"]]
        titles = ["不锈钢保温杯", "保温杯 大容量", "铸铁炒锅", "智能电饭煲", "不锈钢水杯", "电热水壶"]
        closed_after_demand = 0
        for step in range(40):
            action = rng.choice(["new", "new", "edit", "retitle", "archive", "close", "request", "edit_request",
                                 "certify"])
            company, user = rng.choice(actors)
            if action == "new":
                products.append(make_product(company=company, actor=user, title_zh=f"{rng.choice(titles)} {step}",
                                             moq=rng.choice([10, 500, 5000])).id)
            elif action in ("edit", "retitle"):
                product = db.session.get(Product, rng.choice(products))
                if action == "edit":
                    product.moq = rng.choice([10, 5000])
                else:
                    product.title_zh = f"{rng.choice(titles)} {step}"
                db.session.commit()
            elif action == "archive":
                product = db.session.get(Product, rng.choice(products))
                _set_status(product, ProductStatus.ARCHIVED)
            elif action == "close" and len(requests) > 2:
                victim = requests.pop(rng.randrange(len(requests)))
                victim = db.session.get(ProcurementRequest, victim.id)
                closed_after_demand += bool(app.extensions.get("rongtong_demand"))
                sourcing.close_request(world["buyer_user"], victim.id, victim.version, "")
            elif action == "request":  # certifications and MOQ may be musts: decided before fit() on the product side
                requests.append(_post(world["buyer_user"], title=f"采购{rng.choice(titles)}",
                                      quantity=rng.choice([100, 2000, 9000]),
                                      required_certifications=rng.choice([(), ("CCC",), ("CCC", "CE")]),
                                      must_requirements=rng.choice([("certifications",), ("certifications", "moq")])))
            elif action == "certify":  # valid beyond every deadline, or expiring before them
                product = db.session.get(Product, rng.choice(products))
                db.session.add(Certification(product_id=product.id, kind=rng.choice(["CCC", "CE"]),
                                             number=f"2024{step:03d}", expires_on=today_in_china() + timedelta(
                                                 days=rng.choice([5, 400]))))
                db.session.commit()  # logged as a change of its product
            elif action == "edit_request":
                target = db.session.get(ProcurementRequest, rng.choice(requests).id)
                sourcing.update_request(world["buyer_user"], target.id, _input(
                    title=f"采购{rng.choice(titles)}", quantity=rng.choice([100, 2000, 9000])), target.version)
        assert app.extensions["rongtong_demand"].demand is not None  # the product side went through the demand
        assert closed_after_demand  # a request it held was closed after it was built
        db.session.expire_all()
        stored = {p.request_id: (p.match_count, p.last_score, p.last_product_id)
                  for p in db.session.scalars(sa.select(MatchProfile))}
        assert stored == matching._count_places(db.session, stored)  # each list's place kept in step
        materialized = sorted((m.request_id, m.product_id, m.score_x10, json.dumps(m.gaps, sort_keys=True))
                              for m in db.session.scalars(sa.select(Match)))
        assert sum(len(_neighbours(r.id)) for r in requests)  # short lists took neighbours on the way
        db.session.commit()
        matching_sync.recompute_everything(refresh=False)
        db.session.expire_all()
        recomputed = sorted((m.request_id, m.product_id, m.score_x10, json.dumps(m.gaps, sort_keys=True))
                            for m in db.session.scalars(sa.select(Match)))
        assert materialized and materialized == recomputed


@pytest.mark.parametrize("rebuild_after", [0, 10_000], ids=["demand-rebuilt-each-change", "demand-overlay"])
def test_product_side_follows_requests_changed_or_closed_after_its_demand_was_built(app, world, rebuild_after,
                                                                                   monkeypatch):
    monkeypatch.setattr(demand, "REBUILD_AFTER", rebuild_after)
    with app.app_context():
        cups = _post(world["buyer_user"], title="采购不锈钢保温杯", description="食品级")
        pots = _post(world["buyer_user"], title="采购不锈钢保温杯 大容量", description="食品级")
        demand._holder().demand = None  # built again at the next product change, holding both
        make_product(company=world["rival"], actor=world["rival_user"], title_zh="保温杯 一", moq=10)
        held = demand._holder().demand
        assert held is not None and {cups.id, pots.id} <= set(held.row_of)  # both in the built demand
        sourcing.close_request(world["buyer_user"], cups.id, db.session.get(ProcurementRequest, cups.id).version, "")
        target = db.session.get(ProcurementRequest, pots.id)
        sourcing.update_request(world["buyer_user"], pots.id, _input(title="采购铸铁炒锅", description="炒锅 铸铁"),
                                target.version)
        cup = make_product(company=world["rival"], actor=world["rival_user"], title_zh="不锈钢保温杯 食品级 二",
                           moq=10)
        pot = make_product(company=world["rival"], actor=world["rival_user"], title_zh="铸铁炒锅 家用", moq=10,
                           category="small_appliances")
        assert _matches(cups.id) == {}  # closed: its row in the demand is not matched again
        now = _matches(pots.id)
        # its new words, not those the demand was built with: the cup is at most a neighbour (a kitchen product
        # while the request lists fewer than ten), never a match by the words
        assert pot.id in now and cup.id not in set(now) - _neighbours(pots.id)
        assert pot.id not in _neighbours(pots.id)


def test_a_large_demand_leaves_the_collectors_walks_and_a_rebuild_frees_what_died_since(app, world, monkeypatch):
    """A demand of ``FREEZE_FROM`` requests or more is frozen once built: its objects are no longer walked by a full
    collection (at 20,000 requests those walks were the product side's slow calls). A rebuild unfreezes first, so
    an object frozen alive that has since become cyclic garbage is collected then, not kept for good."""

    class Node:
        pass

    assert gc.get_freeze_count() == 0  # nothing frozen in this process before
    try:
        with app.app_context():
            cups = _post(world["buyer_user"], title="采购不锈钢保温杯", description="食品级")
            demand._holder().demand = None
            make_product(company=world["rival"], actor=world["rival_user"], title_zh="保温杯 一", moq=10)
            small = demand._holder().demand
            assert cups.id in small.row_of and gc.get_freeze_count() == 0  # one request: below FREEZE_FROM

            monkeypatch.setattr(demand, "FREEZE_FROM", 1)
            demand._holder().demand = None
            make_product(company=world["rival"], actor=world["rival_user"], title_zh="保温杯 二", moq=10)
            held = demand._holder().demand
            assert cups.id in held.row_of and gc.get_freeze_count() > 0
            walked = {id(o) for o in gc.get_objects()}
            entry = held.entries[held.row_of[cups.id]]
            assert id(entry) not in walked and id(entry.keywords) not in walked

            node = Node()
            node.itself = node  # a reference cycle: only the collector frees it
            gone = weakref.ref(node)
            demand.freeze_long_lived_objects()  # frozen alive, as a rebuild freezes what a call holds
            del node
            gc.collect()
            assert gone() is not None  # frozen: no collection sees it
            demand._holder().demand = None
            make_product(company=world["rival"], actor=world["rival_user"], title_zh="保温杯 三", moq=10)
            assert gone() is None  # the rebuild unfroze, collected it, froze the new demand
            assert cups.id in demand._holder().demand.row_of
    finally:
        gc.unfreeze()


def test_a_short_list_takes_neighbours_up_to_ten_and_gives_them_up_to_matches(app, world):
    """Fewer than ten matches: the best products of the request's category follow them (同类推荐), up to ten in
    all; as products of the goods asked for come in, they take the neighbours' places; when they go, the
    neighbours come back — from the product side, as a recompute from the request side would list them."""
    with app.app_context():
        kettles = [make_product(company=world["rival"], actor=world["rival_user"], title_zh=f"电热水壶 {n}L",
                                moq=10).id for n in range(1, 13)]  # small appliances sharing no word with cups
        make_product(company=world["rival"], actor=world["rival_user"], title_zh="毛绒玩具熊", category="toys")
        request_id = _post(world["buyer_user"]).id  # 采购不锈钢保温杯, small appliances
        listed = _matches(request_id)
        words = set(listed) - _neighbours(request_id)
        assert words == {world["cup"], world["rival_cup"]}  # the cups, by their words
        assert len(listed) == 10 and _neighbours(request_id) <= set(kettles)  # eight kettles fill the list
        assert min(listed[p] for p in words) > max(listed[p] for p in _neighbours(request_id))
        # a kettle made in the buyer's own city fits better than those from Guangzhou: it takes the last place
        near = make_product(company=world["exporter"], actor=world["exporter_user"], title_zh="电热水壶 家用",
                            moq=10).id
        assert near in _neighbours(request_id) and len(_matches(request_id)) == 10
        assert _matches(request_id)[near] > min(_matches(request_id)[p] for p in _neighbours(request_id) - {near})

        cups = [make_product(company=world["exporter"], actor=world["exporter_user"], title_zh=f"保温杯 {n}号",
                             moq=10).id for n in range(7)]  # seven more cups: one neighbour place left, the best's
        assert set(cups) <= set(_matches(request_id)) and _neighbours(request_id) == {near}
        assert len(_matches(request_id)) == 10
        cups.append(make_product(company=world["exporter"], actor=world["exporter_user"], title_zh="保温杯 8号",
                                 moq=10).id)  # ten cups: no neighbour any more
        assert _neighbours(request_id) == set() and len(_matches(request_id)) == 10
        cups.append(make_product(company=world["exporter"], actor=world["exporter_user"], title_zh="保温杯 9号").id)
        assert len(_matches(request_id)) == 11 and _neighbours(request_id) == set()
        for product_id in cups[:3]:  # three cups archived: eight left, two kettles come back
            _set_status(db.session.get(Product, product_id), ProductStatus.ARCHIVED)
        assert len(_matches(request_id)) == 10 and len(_neighbours(request_id)) == 2
        materialized = _matches(request_id)
        matching.recompute_request(db.session, request_id, refresh=False)
        db.session.commit()
        assert _matches(request_id) == materialized


def test_goods_no_product_holds_name_their_category_by_its_typical_words(app, world):
    """科技布沙发: no product of the catalog holds a word of it, so none can vote for its category; 沙发 is a
    furniture word — the request lists the furniture on offer as similar goods, from both sides."""
    with app.app_context():
        maker = make_company(kind=CompanyKind.EXPORTER, province_code="330000")
        actor = make_user(company=maker)
        shelf = make_product(company=maker, actor=actor, title_zh="简约书架 5层", category="furniture").id
        request = _post(world["buyer_user"], title="科技布沙发 三人位", description="", category="other")
        profile = profiles.current_profile(db.session, request)
        assert profile.category == "furniture"
        # its title's words are kept though no product holds them yet: a sofa listed later is found by them
        assert {"科技布", "沙发", "三人位"} <= {k.text for k in profile.keywords}
        table = make_product(company=maker, actor=actor, title_zh="北欧实木餐桌 1.4m", category="furniture").id
        assert _neighbours(request.id) == set(_matches(request.id)) == {shelf, table}
        found = matching.explain_pair(db.session, request, db.session.get(Product, table))
        assert found.why_not == "neighbour"
        sofa = make_product(company=maker, actor=actor, title_zh="科技布沙发 小户型", category="furniture").id
        assert sofa in _matches(request.id) and sofa not in _neighbours(request.id)  # the goods, from its side
        assert _neighbours(request.id) == {shelf, table}
        materialized = _matches(request.id)
        db.session.commit()
        matching_sync.recompute_everything(refresh=False)
        assert _matches(request.id) == materialized


def test_the_titles_goods_word_decides_its_category_over_products_sharing_its_modifiers(app, world):
    """吊灯 北欧 简约 现代: the catalog knows 北欧, 简约 and 现代 from its furniture, not 吊灯 — the products sharing
    those words would vote it furniture; its goods word names lighting. The furniture holding one modifier each is
    not the goods; the lamps on offer are its similar goods, from both sides."""
    with app.app_context():
        maker = make_company(kind=CompanyKind.EXPORTER, province_code="330000")
        actor = make_user(company=maker)
        furniture = {make_product(company=maker, actor=actor, title_zh=title, category="furniture",
                                  hs_code="940360").id
                     for title in ("北欧实木餐桌 1.4m", "简约书架 5层", "现代电视柜 2m")}
        lamp = make_product(company=maker, actor=actor, title_zh="LED吸顶灯 36W", category="lighting",
                            hs_code="940511").id
        request = _post(world["buyer_user"], title="吊灯 北欧 简约 现代", description="", category="other")
        profile = profiles.current_profile(db.session, request)
        assert {k.text for k in profile.keywords} >= {"北欧", "简约", "现代"}
        assert profiles.infer_goods(profile.keywords)[0] == "furniture"  # what the products alone would say
        assert profile.category == "lighting" and profile.hs is None  # not the furniture's HS code either
        assert set(_matches(request.id)) == _neighbours(request.id) == {lamp}
        assert not furniture & set(_matches(request.id))
        table = matching.explain_pair(db.session, request, db.session.get(Product, min(furniture)))
        assert table.why_not == "not_relevant"
        second = make_product(company=maker, actor=actor, title_zh="LED筒灯 9W", category="lighting").id
        assert _neighbours(request.id) == {lamp, second}  # the product side lists it as well
        materialized = _matches(request.id)
        db.session.commit()
        matching_sync.recompute_everything(refresh=False)
        assert _matches(request.id) == materialized


def test_a_list_of_ten_is_not_listed_again_for_a_member_that_stays_as_it_was(app, world, monkeypatch):
    """A product listed as a neighbour in a list of exactly 10, recomputed unchanged, keeps its place: the list is
    not ranked again from the request's side (over a large catalog that costs hundreds of milliseconds)."""
    with app.app_context():
        request_id = _post(world["buyer_user"]).id
        for n in range(10):
            make_product(company=world["exporter"], actor=world["exporter_user"], title_zh=f"电热水壶 {n}号", moq=10)
        listed = _neighbours(request_id)
        assert len(_matches(request_id)) == 10 and len(listed) == 10 - len(set(_matches(request_id)) - listed) >= 1
        before = _matches(request_id)
        ranked = []
        real = matching.recompute_request
        monkeypatch.setattr(matching, "recompute_request",
                            lambda session, rid, **kw: ranked.append(rid) or real(session, rid, **kw))
        for product_id in sorted(before):  # neighbours and matches alike
            assert matching.recompute_product(db.session, product_id) == (0, 0)
        db.session.commit()
        assert ranked == [] and _matches(request_id) == before
        member = max(before)  # a member archived: the list is listed again, its next best comes in
        _set_status(db.session.get(Product, member), ProductStatus.ARCHIVED)
        assert request_id in ranked and len(_matches(request_id)) == 10


def test_a_neighbour_is_explained_as_similar_goods(app, world, client):
    with app.app_context():
        maker = make_company(kind=CompanyKind.EXPORTER, province_code="330000")  # the page lists one per exporter
        kettle = make_product(company=maker, actor=make_user(company=maker), title_zh="电热水壶 1.7L").id
        request_id = _post(world["buyer_user"]).id
        assert kettle in _neighbours(request_id)
        found = matching.explain_pair(db.session, db.session.get(ProcurementRequest, request_id),
                                      db.session.get(Product, kettle))
        assert found.why_not == "neighbour" and found.fit.neighbour
        email = world["buyer_user"].email
    login(client, email)
    page = client.get(f"/sourcing/requests/{request_id}").get_data(as_text=True)
    assert "同类推荐：同一品类" in page and "电热水壶 1.7L" in page
    assert "件匹配商品 · 1 件同类推荐" in page  # the count says how many are similar goods
    why = client.get(f"/matching/requests/{request_id}/why?product={kettle}").get_data(as_text=True)
    assert "在匹配商品不足 10 个时作为同类推荐列出" in why


def test_a_full_list_refills_the_place_a_product_leaves_or_falls_from(app, world, monkeypatch):
    """A full list (two places here) keeps its other members and gives the place in question to the best
    product outside them — or back to the product that fell, when it still ranks first."""
    monkeypatch.setattr(matching, "MATCHES_PER_REQUEST", 2)
    with app.app_context():
        def pot(name, moq, fen):
            return make_product(company=world["exporter"], actor=world["exporter_user"],
                                title_zh=f"钛合金焖烧罐 {name}", moq=moq, price_tiers=[PriceTierInput(moq, fen)]).id

        def reprice(product_id, moq, fen):
            product = db.session.get(Product, product_id)
            product.moq = moq
            product.price_tiers[0].min_quantity, product.price_tiers[0].unit_price_fen = moq, fen
            db.session.commit()

        best, second, third = pot("甲", 100, 2000), pot("乙", 100, 2600), pot("丙", 3000, 2000)
        request = _post(world["buyer_user"], title="采购钛合金焖烧罐", description="钛合金")
        assert set(_matches(request.id)) == {best, second}
        reprice(best, 5000, 3000)  # MOQ and price over: falls below the outsider
        assert set(_matches(request.id)) == {second, third}
        reprice(second, 100, 2700)  # falls a little: still ahead of every outsider, keeps its place
        assert set(_matches(request.id)) == {second, third}
        _set_status(db.session.get(Product, second), ProductStatus.ARCHIVED)  # leaves: the next best comes in
        assert set(_matches(request.id)) == {third, best}
        stored = db.session.get(MatchProfile, request.id)
        assert (stored.match_count, stored.last_product_id) == (2, best)


def test_a_request_of_no_goods_words_is_matched_by_its_hs_heading_from_both_sides(app, world):
    with app.app_context():
        before = make_product(company=world["rival"], actor=world["rival_user"], title_zh="暖风机 速热 2000W",
                              hs_code="85162900")
        request = _post(world["buyer_user"], title="采购需求", description="请报价", hs_code="851629")
        assert profiles.current_profile(db.session, request).keywords == []  # stop words only
        after = make_product(company=world["rival"], actor=world["rival_user"], title_zh="取暖器 家用",
                             hs_code="85162900")  # the product side finds it through the heading
        # of its category but without its heading: a request naming no goods word has nothing to be similar to
        kettle = make_product(company=world["rival"], actor=world["rival_user"], title_zh="电热水壶 1.7L")
        found = _matches(request.id)
        assert {before.id, after.id} <= set(found) and kettle.id not in found
        explained = matching.explain_pair(db.session, db.session.get(ProcurementRequest, request.id),
                                          db.session.get(Product, after.id))
        assert explained.why_not is None and explained.fit.same_goods
        db.session.commit()
        matching_sync.recompute_everything(refresh=False)  # the request's own side lists the same products
        assert _matches(request.id) == found


def test_a_request_of_one_hs_subheading_lists_the_products_of_its_heading_from_both_sides(app, world):
    """8516.29 (heaters) and 8516.90 (parts) share heading 8516: the same goods without a shared word — found
    by the request's side (posted after the product) as by the product's side (created after the request)."""
    with app.app_context():
        before = make_product(company=world["rival"], actor=world["rival_user"], title_zh="电热元件 配件",
                              hs_code="85169000")
        request = _post(world["buyer_user"], title="采购暖风机", description="速热", hs_code="851629")
        after = make_product(company=world["rival"], actor=world["rival_user"], title_zh="发热丝 组件",
                             hs_code="85169000")
        found = _matches(request.id)
        assert {before.id, after.id} <= set(found) - _neighbours(request.id)
        db.session.commit()
        matching_sync.recompute_everything(refresh=False)
        assert _matches(request.id) == found


def test_a_killed_recompute_loses_nothing(app, world, monkeypatch):
    with app.app_context():
        request = _post(world["buyer_user"])
        product = make_product(company=world["rival"], actor=world["rival_user"], title_zh="不锈钢保温杯 户外",
                               moq=10, price_tiers=[PriceTierInput(10, 2000)], monthly_capacity=90000, publish=False)
        product_id = product.id
        before = matching_sync.cursor()
        calls = {"n": 0}

        def dies(*_args, **_kwargs):
            calls["n"] += 1
            raise RuntimeError("killed mid-recompute")

        monkeypatch.setattr(matching, "recompute_product", dies)
        catalog_services.set_products_status(world["rival_user"], world["rival"], [product_id],
                                             ProductStatus.PUBLISHED)  # the after-commit recompute dies
        db.session.commit()
        assert calls["n"] >= 1
        assert matching_sync.cursor() == before  # the cursor moves only with the matches it accounts for
        assert product_id not in _matches(request.id)
        db.session.commit()
        monkeypatch.undo()
        matching_sync.catch_up()  # the next run redoes the batch
        assert product_id in _matches(request.id)
        assert matching_sync.cursor() > before


@pytest.mark.parametrize("rounds", ["default", "small"])
@pytest.mark.parametrize("musts", [(), ("moq", "price", "capacity", "region", "category")])
def test_ranking_equals_scoring_every_candidate(app, world, musts, rounds, monkeypatch):
    """The bound-ordered scan returns exactly the best matches ``fit`` gives over every candidate — also when
    candidates are drawn a keyword at a time (pruned by the ceiling of the keywords left) and sorted three at
    a time."""
    from search_index.similar import KeywordPostings

    draws = {"n": 0}
    if rounds == "small":
        monkeypatch.setattr(ranking, "FIRST_SHARE", 0.0)
        monkeypatch.setattr(ranking, "SORTED_AT_ONCE", 3)
        drawn = KeywordPostings.candidates

        def counted(self, *args, **kwargs):
            draws["n"] += 1
            return drawn(self, *args, **kwargs)

        monkeypatch.setattr(KeywordPostings, "candidates", counted)
    rng = random.Random(3)
    with app.app_context():
        for n in range(60):
            side = "exporter" if n % 2 else "rival"  # in and out of the buyer's province
            make_product(company=world[side], actor=world[f"{side}_user"],
                         title_zh=rng.choice(["不锈钢保温杯", "保温杯", "不锈钢水杯", "食品级保温壶", "炒锅"]) + f" {n}",
                         moq=rng.choice([10, 5000]), monthly_capacity=rng.choice([None, 100000]),
                         category=rng.choice(["small_appliances", "kitchenware"]),
                         price_tiers=[PriceTierInput(10, rng.choice([1500, 2600]))])
        request = _post(world["buyer_user"], must_requirements=musts)
        profile = profiles.request_profile(db.session, request)
        facts = profile.facts(request)
        found = profiles.product_index().similar_candidates(profile.keywords, columns=profiles.PRODUCT_COLUMNS,
                                                             hs_prefix=facts.hs_code or None)
        every = []
        for row in range(len(found.ids)):
            result = fit(facts, profiles.facts_from_columns(int(found.ids[row]), found, row), found.presence[row])
            if result.matches:
                every.append((-result.score, int(found.ids[row])))
        assert every  # something matches (with the musts too): the comparison below is not vacuous
        for limit in (1, 5, 100):
            ranked = ranking.rank_products(request, profile.keywords, limit=limit, inferred=profile.category,
                                            inferred_hs=profile.hs)
            assert [(-r.fit.score, r.product_id) for r in ranked] == sorted(every)[:limit]
        db.session.rollback()
    if rounds == "small":
        assert draws["n"] > 4  # the rounds ran (three limits): the comparison covers the pruned path


# ----------------------------------------------------------------------------- pages, CLI, authorization


def test_buyer_sees_suppliers_with_reasons_and_can_invite(app, world, en_client):
    with app.app_context():
        request_id = _post(world["buyer_user"]).id
        email = world["buyer_user"].email
        exporter_id = world["exporter"].id
    login(en_client, email)
    page = en_client.get(f"/sourcing/requests/{request_id}").get_data(as_text=True)
    assert "Suppliers that fit" in page and "不锈钢保温杯 500ml" in page and "Same city" in page
    response = post_form(en_client, f"/matching/requests/{request_id}/invite/{exporter_id}", {},
                         form_url=f"/sourcing/requests/{request_id}")
    assert response.status_code == 302
    assert "Invitation sent" in en_client.get(f"/sourcing/requests/{request_id}").get_data(as_text=True)


def test_why_not_explains_a_named_product(app, world, en_client):
    with app.app_context():
        request_id = _post(world["buyer_user"]).id
        email = world["buyer_user"].email
        pot = world["pot"]
    login(en_client, email)
    page = en_client.get(f"/matching/requests/{request_id}/why?product=http://x/products/{pot}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Why not this product?" in text and "不锈钢炒锅" in text
    bad = en_client.get(f"/matching/requests/{request_id}/why?product=abc")
    assert bad.status_code == 422 and "Paste a product" in bad.get_data(as_text=True)


def test_other_buyers_and_exporters_get_404(app, world, en_client):
    with app.app_context():
        request_id = _post(world["buyer_user"]).id
        other = make_user(company=make_company(kind=CompanyKind.RETAILER))
        other_email, rival_email = other.email, world["rival_user"].email
        exporter_id = world["exporter"].id
    login(en_client, other_email)
    assert en_client.get(f"/matching/requests/{request_id}/why?product=1").status_code == 404
    assert post_form(en_client, f"/matching/requests/{request_id}/invite/{exporter_id}", {},
                     form_url="/").status_code == 404
    post_form(en_client, "/account/logout", {}, form_url="/")
    login(en_client, rival_email)
    assert en_client.get(f"/matching/requests/{request_id}/why?product=1").status_code == 404


def test_exporter_sees_opportunities_and_never_an_invited_only_request(app, world, en_client):
    with app.app_context():
        public_id = _post(world["buyer_user"]).id
        hidden = sourcing.create_request(world["buyer_user"], _input(
            title="保温杯 定向采购", visibility=Visibility.INVITED, invited_company_ids=(world["exporter"].id,)),
            secrets.token_urlsafe(16))
        hidden = hidden[0]
        sourcing.publish_request(world["buyer_user"], hidden.id, hidden.version)
        email = world["rival_user"].email
        cup = world["rival_cup"]
    login(en_client, email)
    page = en_client.get("/matching/opportunities").get_data(as_text=True)
    assert "采购不锈钢保温杯" in page and "Quote now" in page
    assert "保温杯 定向采购" not in page
    product_page = en_client.get(f"/products/{cup}").get_data(as_text=True)
    assert "Open requests this product fits" in product_page and "采购不锈钢保温杯" in product_page
    assert "保温杯 定向采购" not in product_page
    assert public_id


@pytest.mark.parametrize("read_down_up_to", [2, 1000], ids=["deep-pages-grouped", "all-read-down"])
def test_opportunities_pages_past_the_first_list_what_reading_down_from_the_best_lists(app, world, monkeypatch,
                                                                                     read_down_up_to):
    """Deep 商机 pages are read another way (each request's best score grouped from the index, not the matches
    walked down from the best): page by page either way lists exactly the requests, best rows and order the walk
    gives, each request once, none it may not see."""
    from marketplace.matching import queries

    monkeypatch.setattr(queries, "READ_DOWN_UP_TO", read_down_up_to)
    with app.app_context():
        titles = ["采购不锈钢保温杯", "采购保温杯 学生", "采购不锈钢炒锅", "采购炒锅 32cm 不锈钢", "采购真空保温杯",
                  "采购保温杯 食品级 500ml", "采购不锈钢保温杯 大容量"]
        for number, title in enumerate(titles):
            _post(world["buyer_user"], title=title, quantity=1000 + 700 * number)
        hidden, _created = sourcing.create_request(world["buyer_user"], _input(
            title="采购保温杯 定向", visibility=Visibility.INVITED, invited_company_ids=(world["rival"].id,)),
            secrets.token_urlsafe(16))
        sourcing.publish_request(world["buyer_user"], hidden.id, hidden.version)
        exporter_user = world["exporter_user"]
        with app.test_request_context():
            walked = [(m.request_id, m.id) for m in queries._best_per_request(world["exporter"].id, 1000)]
            assert len(walked) >= 5 and len({r for r, _m in walked}) == len(walked)
            assert world["cup"] in _matches(hidden.id)  # its cup matches the invited-only request …
            assert hidden.id not in {r for r, _m in walked}  # … which this exporter may not see
            paged, number = [], 1
            while True:
                page = queries.opportunities(exporter_user, number, per_page=2)
                assert page.total == len(walked)
                paged += [(m.request_id, m.id) for m in page.items]
                if number * 2 >= page.total:
                    break
                number += 1
            assert paged == walked
            scores = [db.session.get(Match, match_id).score_x10 for _r, match_id in paged]
            assert scores == sorted(scores, reverse=True)
            last = queries.opportunities(exporter_user, 99999, per_page=2)  # past the end: the last page
            assert [(m.request_id, m.id) for m in last.items] == walked[(last.page - 1) * 2:]


def test_a_product_fitting_more_requests_than_its_page_shows_links_to_all_of_them_page_by_page(
        app, world, client, en_client, monkeypatch):
    from marketplace.accounts.models import User
    from marketplace.matching import queries
    from marketplace.matching import views as matching_views

    monkeypatch.setattr(matching_views, "PRODUCT_PAGE_FITS", 2)
    monkeypatch.setattr(matching_views, "FITS_PER_PAGE", 2)
    with app.app_context():
        for number, title in enumerate(["采购不锈钢保温杯", "采购保温杯 学生", "采购真空保温杯", "采购保温杯 食品级 500ml",
                                        "采购不锈钢保温杯 大容量"]):
            _post(world["buyer_user"], title=title, quantity=1000 + 500 * number)
        cup = db.session.get(Product, world["cup"])
        with app.test_request_context():
            owner = db.session.get(User, world["exporter_user"].id)
            listed = [m.request_id for m in queries.requests_for_product(owner, cup, limit=100)]
        cup_id, email, rival_email = cup.id, world["exporter_user"].email, world["rival_user"].email
    assert len(listed) >= 3
    login(client, email)
    page = client.get(f"/products/{cup_id}").get_data(as_text=True)
    assert "适合该产品的开放采购需求" in page and f'data-testid="fits-total">{len(listed)}</span>' in page
    assert page.count('data-testid="fit-row"') == 2  # the best two, then a link to all
    assert f"查看全部 {len(listed)} 个适合的采购需求" in page and f"/matching/products/{cup_id}/requests" in page
    shown, number = [], 1
    while len(shown) < len(listed) and number < 10:
        body = client.get(f"/matching/products/{cup_id}/requests?page={number}").get_data(as_text=True)
        assert "适合该产品的开放采购需求" in body and "不锈钢保温杯 500ml 食品级" in body
        shown += [int(found) for found in re.findall(r'href="/sourcing/requests/(\d+)" class="fw-semibold"', body)]
        number += 1
    assert shown == listed  # every request once, best first, page after page
    last = client.get(f"/matching/products/{cup_id}/requests?page=999").get_data(as_text=True)
    assert [int(found) for found in re.findall(r'href="/sourcing/requests/(\d+)" class="fw-semibold"', last)] == \
        listed[-(len(listed) % 2 or 2):]  # past the end: the last page
    login(en_client, rival_email)  # another exporter: as if it did not exist
    assert en_client.get(f"/matching/products/{cup_id}/requests").status_code == 404
    assert app.test_client().get(f"/matching/products/{cup_id}/requests").status_code in (302, 401)


def test_cli_match_commands(app, world, runner):
    with app.app_context():
        request_id = _post(world["buyer_user"]).id
        cup, pot = world["cup"], world["pot"]
    result = runner.invoke(args=["match", "request", str(request_id), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["total"] >= 2 and data["results"][0]["product_id"] == cup
    assert {"product_id", "exporter", "score", "parts", "missing"} <= set(data["results"][0])
    product = json.loads(runner.invoke(args=["match", "product", str(cup), "--json"]).output)
    assert product["results"][0]["request_id"] == request_id
    explained = json.loads(runner.invoke(args=["match", "explain", str(request_id), str(pot), "--json"]).output)
    assert explained["matches"] is False or explained["score"] < 100
    assert runner.invoke(args=["match", "request", "999999"]).exit_code == 1
    assert "recomputed" in runner.invoke(args=["match", "recompute", "--all"]).output


def test_new_matches_notify_once_per_request_and_exporter(app, world):
    from marketplace.accounts.models import User
    from marketplace.mail import OutboxEmail
    from marketplace.matching.notify import notify_new_matches
    from marketplace.notifications.models import Notification

    with app.app_context():
        buyer_user = world["buyer_user"]
        buyer_user.match_digest = "immediate"
        db.session.commit()
        request = _post(world["buyer_user"])
        assert len(_matches(request.id)) >= 2
        mails_before = db.session.scalar(sa.select(sa.func.count()).select_from(OutboxEmail))
        notify_new_matches()
        buyer_notes = db.session.scalars(sa.select(Notification).where(
            Notification.user_id == world["buyer_user"].id, Notification.kind == "match.suppliers")).all()
        assert len(buyer_notes) == 1  # one message for the request, however many suppliers
        exporter_notes = db.session.scalars(sa.select(Notification).where(
            Notification.user_id == world["exporter_user"].id, Notification.kind == "match.opportunities")).all()
        assert len(exporter_notes) == 1
        # the buyer chose "immediate": one e-mail; the exporter's default is the daily digest: none now
        mails = db.session.scalars(sa.select(OutboxEmail).order_by(OutboxEmail.id)).all()[mails_before:]
        assert [m.recipient for m in mails] == [db.session.get(User, world["buyer_user"].id).email]
        notify_new_matches()  # nothing new: nothing more
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification).where(
            Notification.kind.in_(["match.suppliers", "match.opportunities"]))) == 2


def test_match_email_choice_is_saved_in_settings(app, world, en_client):
    from marketplace.accounts.models import User

    with app.app_context():
        email, user_id = world["buyer_user"].email, world["buyer_user"].id
    login(en_client, email)
    assert "E-mail about new matches" in en_client.get("/account/settings").get_data(as_text=True)
    post_form(en_client, "/account/settings", {"name": "张三", "locale": "en", "match_digest": "off"})
    bad = post_form(en_client, "/account/settings", {"name": "张三", "locale": "en", "match_digest": "hourly"})
    assert bad.status_code in (200, 400) and "Not a valid choice" in bad.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, user_id).match_digest == "off"


def test_buyer_shortlists_a_matched_supplier(app, world, en_client):
    from marketplace.matching.models import SupplierShortlist

    with app.app_context():
        request_id = _post(world["buyer_user"]).id
        email, exporter_id = world["buyer_user"].email, world["exporter"].id
        stranger = make_company(kind=CompanyKind.EXPORTER).id
    login(en_client, email)
    url = f"/matching/requests/{request_id}/shortlist/{exporter_id}"
    post_form(en_client, url, {"on": "1"}, form_url=f"/sourcing/requests/{request_id}")
    page = en_client.get(f"/sourcing/requests/{request_id}").get_data(as_text=True)
    assert "Added to the shortlist." in page and 'data-testid="shortlisted"' in page
    assert post_form(en_client, f"/matching/requests/{request_id}/shortlist/{stranger}", {"on": "1"},
                     form_url="/").status_code == 404
    post_form(en_client, url, {"on": "0"}, form_url=f"/sourcing/requests/{request_id}")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SupplierShortlist)) == 0


def test_a_large_backlog_is_left_to_the_catch_up_job(app, world, monkeypatch, runner):
    with app.app_context():
        request_id = _post(world["buyer_user"]).id
        monkeypatch.setattr(matching_sync, "INLINE_MAX_PENDING", 0)  # any backlog is "large"
        newcomer = make_product(company=world["rival"], actor=world["rival_user"], title_zh="不锈钢保温杯 食品级 新款",
                                moq=10, price_tiers=[PriceTierInput(10, 2000)], monthly_capacity=90000).id
        db.session.commit()
        assert newcomer not in _matches(request_id)  # the save did not wait for it
        assert matching_sync.pending() >= 1
        db.session.commit()
    result = runner.invoke(args=["jobs", "run", "match-catch-up"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert newcomer in _matches(request_id)
        assert matching_sync.pending() == 0


def test_the_catch_up_job_leaves_the_matches_to_a_running_worker_loop(app, world, monkeypatch):
    # in `flask index worker` the jobs thread's catch-up ran beside the drain loop's own (the loop catches up
    # after every round): two rankings at once from the same index objects, for nothing
    with app.app_context():
        request_id = _post(world["buyer_user"]).id
        monkeypatch.setattr(matching_sync, "INLINE_MAX_PENDING", 0)  # the save leaves its change to a catch-up
        newcomer = make_product(company=world["rival"], actor=world["rival_user"], title_zh="不锈钢保温杯 食品级 新款",
                                moq=10, price_tiers=[PriceTierInput(10, 2000)], monthly_capacity=90000).id
        db.session.commit()
    stop, started = threading.Event(), threading.Event()
    monkeypatch.setattr(search_sync, "run_after_drain", started.set)  # the loop's own catch-up: held back

    def loop():
        with app.app_context():
            search_sync.run_worker(poll_seconds=0.05, stop=stop)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        assert started.wait(20)
        assert search_sync.worker_loop_running()
        with app.app_context():
            assert matching_sync.catch_up_job() is None
            assert newcomer not in _matches(request_id) and matching_sync.pending() >= 1
    finally:
        stop.set()
        thread.join(20)
    assert not thread.is_alive() and not search_sync.worker_loop_running()
    with app.app_context():  # no loop in this process: the job catches up
        assert matching_sync.catch_up_job()["products"] >= 1
        assert newcomer in _matches(request_id)


def test_the_change_log_is_kept_until_the_matches_have_read_it(app, world, monkeypatch):
    # FINDING (worker killed 20 times): the indexes' reports pruned the log behind their own cursors while the
    # matches' first full recompute ran (its row not written yet); it then moved its cursor over changes it never
    # read, and the last edits never reached `matches`. A matches row untouched for a week was left out too.
    from marketplace.search import sync as search_sync
    from marketplace.search.models import IndexChange, IndexReplica

    def logged_after(cursor: int) -> int:
        return db.session.scalar(sa.select(sa.func.count()).select_from(IndexChange).where(IndexChange.id > cursor))

    monkeypatch.setattr(search_sync, "REPORT_EVERY_S", 0.0)  # each drain reports its cursor (and prunes)
    with app.app_context():
        _post(world["buyer_user"])
        monkeypatch.setattr(matching_sync, "INLINE_MAX_PENDING", 0)  # the saves below leave the matches behind
        replica = db.session.get(IndexReplica, matching_sync.CURSOR_NAME)
        behind = replica.cursor
        replica.updated_at = utcnow() - timedelta(days=30)  # a quiet month
        db.session.commit()
        make_product(company=world["rival"], actor=world["rival_user"], title_zh="不锈钢保温杯 新款 A")
        db.session.commit()
        assert search_sync.get_index("products").cursor > behind  # the indexes have read it …
        assert logged_after(behind) >= 1  # … and it is kept for the matches
        db.session.rollback()  # end the read (SQLite: the catch-up's write transaction would wait for it)
        assert matching_sync.catch_up()["products"] >= 1

        db.session.execute(sa.delete(IndexReplica).where(IndexReplica.name == matching_sync.CURSOR_NAME))
        db.session.commit()  # the matches never caught up (their first full recompute still to come)
        kept = db.session.scalar(sa.select(sa.func.count()).select_from(IndexChange))
        make_product(company=world["rival"], actor=world["rival_user"], title_zh="不锈钢保温杯 新款 B")
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(IndexChange)) > kept  # nothing pruned


def test_only_zjtx_designations_earn_the_zjtx_bonus(app):
    """专精特新 / 小巨人 make a product's exporter 专精特新 (the bonus and the search filter); a 链主 tag does not."""
    from marketplace.accounts.models import CompanyTag, CompanyTagKind
    from marketplace.catalog.search_kind import records_for

    with app.app_context():
        exporter = make_company()
        product = make_product(exporter)
        db.session.add(CompanyTag(company_id=exporter.id, tag=CompanyTagKind.CHAIN_LEADER,
                                  source_document="文件", granted_on=date(2024, 5, 1)))
        db.session.commit()
        records, _gone = records_for(db.session, [product.id])
        assert records[0].verified is False and profiles.product_facts(records[0]).zjtx is False
        db.session.add(CompanyTag(company_id=exporter.id, tag=CompanyTagKind.SPECIALIZED,
                                  source_document="文件", granted_on=date(2024, 5, 1)))
        db.session.commit()
        db.session.expire_all()
        records, _gone = records_for(db.session, [product.id])
        assert records[0].verified is True and profiles.product_facts(records[0]).zjtx is True


def test_a_session_demand_lines_matches_are_kept_when_it_closes_and_the_report_counts_them(app, world):
    """``matches`` holds open requests only; a matchmaking session's demand line keeps what it matched in
    ``archived_matches`` when it closes, so the session's figures and their list still count them; a request of
    no session keeps nothing."""
    from datetime import UTC, datetime

    from marketplace.accounts.models import Company
    from marketplace.matching.models import ArchivedMatch
    from marketplace.reports import figures, rows
    from marketplace.sessions.models import MatchmakingSession, SessionStatus

    with app.app_context():
        organizer = make_company(kind=CompanyKind.ORGANIZER)
        session = MatchmakingSession(
            organizer_company_id=organizer.id, title="保温杯专场", province_code="330000",
            starts_at=datetime(2026, 12, 20, 1, tzinfo=UTC), ends_at=datetime(2026, 12, 20, 9, tzinfo=UTC),
            venue="宁波", status=SessionStatus.RUNNING)
        db.session.add(session)
        db.session.commit()
        session_id = session.id
        line = _post(world["buyer_user"])
        db.session.get(ProcurementRequest, line.id).session_id = session_id
        db.session.commit()
        other = _post(world["buyer_user"], title="采购真空保温杯")
        matched = _matches(line.id)
        assert len(matched) >= 2 and _matches(other.id)
        scope = figures.Scope.of_company(db.session.get(Company, organizer.id))
        assert figures.session_report(scope, session_id).figures.matches == len(matched)

        for request_id in (line.id, other.id):
            request = db.session.get(ProcurementRequest, request_id)
            sourcing.close_request(world["buyer_user"], request.id, request.version, "")
        assert _matches(line.id) == {} and _matches(other.id) == {}
        kept = db.session.scalars(sa.select(ArchivedMatch)).all()
        assert {(k.request_id, k.product_id, k.score_x10 / 10) for k in kept} == {
            (line.id, product_id, score) for product_id, score in matched.items()}
        assert figures.session_report(scope, session_id).figures.matches == len(matched)
        listed = rows.page("matches", [session_id], rows.RowFilter())
        assert listed.total == len(matched) and {r.product_id for r in listed.items} == set(matched)


def test_demand_finds_every_request_fit_matches_with_its_exact_presence():
    """The product side's in-memory demand against the canonical ``fit``: every (request, product) pair that
    matches is found, and each found request gets the coverage and presence row ``fit`` and ``presence_in``
    give (random requests and products over a small vocabulary, multi-term keywords, HS codes, categories,
    certifications and MOQ as musts)."""
    from search_index import Keyword, presence_in

    rng = random.Random(11)
    words = ["保温杯", "不锈钢", "炒锅", "铸铁", "电饭煲", "智能", "水杯", "食品级", "大容量", "学生", "户外", "304"]
    hs_codes = ["", "7323", "732393", "851660", "8516", "9617", "961700"]
    categories = ["other", "kitchenware", "small_appliances"]
    entries = []
    for request_id in range(1, 81):
        keywords = []
        for text in rng.sample(words, rng.randint(1, 5)):
            alternatives = [(text,)] + ([(text, rng.choice(words))] if rng.random() < 0.3 else [])
            keywords.append(Keyword(text, round(rng.uniform(0.2, 3.0), 3), tuple(alternatives)))
        certs = tuple(sorted(rng.sample(["CCC", "CE", "FDA"], rng.choice([0, 0, 1, 2]))))
        facts = RequestFacts(
            id=request_id, buyer_id=1, quantity=rng.choice([100, 2000, 9000]), category=rng.choice(categories),
            hs_code=rng.choice(hs_codes), target_fen=rng.choice([None, 2500]), required_certifications=certs,
            musts=frozenset(rng.sample(["certifications", "moq", "price"], rng.randint(0, 3))),
            deadline_key=rng.choice([20270101, 20270601]),
            weights=tuple(k.weight for k in keywords), keyword_texts=tuple(k.text for k in keywords))
        entries.append(demand.Entry(facts, keywords))
    held = demand.Demand(entries, 0)
    found_pairs = matching_pairs = neighbour_pairs = 0
    for product_id in range(1, 201):
        title = set(rng.sample(words, rng.randint(1, 4)))
        text = title | set(rng.sample(words, rng.randint(0, 4)))
        product = ProductFacts(
            id=product_id, company_id=2, category=rng.choice(categories), hs_code=rng.choice(hs_codes + ["73239300"]),
            moq=rng.choice([10, 1000, 2000, 5000]), tiers=((10, rng.choice([2000, 2600, 4000])),),
            cert_until={code: rng.choice([0, 20261231, 20270101, 20270301, 20271231])
                        for code in rng.sample(["CCC", "CE", "FDA"], rng.randint(0, 3))})
        found = held.find(product, title, text, 20261201)
        rows = {int(row): i for i, row in enumerate(found.rows)}
        short = np.array(sorted(rng.sample(range(1, 81), 40)))  # the requests whose lists are short
        of_category = set(held.of_category(product, short, 20261201).tolist())
        for row, entry in enumerate(entries):
            presence = presence_in(entry.keywords, title, text)
            result = fit(entry.facts, product, presence)
            if result.neighbour and entry.facts.deadline_key >= 20261201 and entry.facts.id in short:
                neighbour_pairs += 1
                assert row in of_category, (entry.facts, product)  # a short list it may join is read
            if result.matches:
                matching_pairs += 1
                assert row in rows, (entry.facts, product)
            if row in rows:
                found_pairs += 1
                assert list(found.presence(row)) == list(presence)
                assert found.coverage[rows[row]] == pytest.approx(result.coverage)
                # what decides whether it can enter a full list: never below the score fit() gives
                assert scoring.ceiling(entry.facts, found.coverage[rows[row]]) >= result.score - 0.05
    assert matching_pairs > 300 and found_pairs < 80 * 200 / 2  # many matches, and most pairs left out before fit()
    assert neighbour_pairs > 50


def test_the_goods_a_request_points_to_come_from_its_closest_products_not_from_a_generic_word(app, world):
    # 汽车大灯 (auto parts) among many lamps: each lamp holds only "LED"; counted by coverage, the lamps outvoted
    # the one product holding every word and the request was classed as lighting (its lamps then ranked first)
    with app.app_context():
        exporter, user = world["exporter"], world["exporter_user"]
        headlamp = make_product(company=exporter, actor=user, title_zh="LED汽车大灯 H7 前大灯", category="auto_parts",
                                hs_code="85122000")
        for number in range(20):  # twenty lamps holding "LED", and other goods that make it a less common word
            make_product(company=exporter, actor=user, title_zh=f"LED吸顶灯 {number + 10}W", category="lighting",
                         hs_code="94051100")
            make_product(company=exporter, actor=user, title_zh=f"不锈钢炒锅 {number + 20}cm", category="kitchenware",
                         hs_code="73239300")
        db.session.commit()
        request = ProcurementRequest(id=10**9, buyer_company_id=world["buyer"].id, title="LED汽车大灯 H4", description="",
                                     category="other", quantity=100, unit="个", required_certifications=[],
                                     required_readiness=[], must_requirements=[])
        profile = profiles.choose_profile(request)
        assert {k.text for k in profile.keywords} >= {"led", "大灯"}
        assert (profile.category, profile.hs) == ("auto_parts", "851220")
        ranked = ranking.rank_products(request, profile.keywords, limit=3, inferred=profile.category,
                                       inferred_hs=profile.hs)
        assert ranked[0].product_id == headlamp.id
