"""Ranking a request's candidate products, exactly and fast.

Every product holding a keyword (or classified under the request's HS heading) is a candidate
(``SearchIndex.similar_candidates``). Each gets an upper bound of its score from the index's columns
(``scoring.bounds``); candidates a must already fails on the columns are skipped; the rest are scored with
``scoring.fit`` best bound first until no bound reaches the current last place. Tested against scoring every
candidate.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np

from marketplace.i18n import today_in_china
from marketplace.matching import scoring
from marketplace.matching.profiles import PRODUCT_COLUMNS, facts_from_columns, product_index, request_facts
from marketplace.matching.scoring import (
    MATCHES_PER_REQUEST,
    MIN_RELEVANCE,
    MIN_SCORE,
    Fit,
    ProductFacts,
    RequestFacts,
    fit,
)
from marketplace.sourcing.models import ProcurementRequest
from marketplace.sourcing.states import RequestState
from search_index import Keyword, schemas

# ----------------------------------------------------------------------------- ranking


@dataclass
class Ranked:
    """One scored product of a request."""

    product_id: int
    company_id: int
    fit: Fit


def is_matchable(request: ProcurementRequest, today=None) -> bool:
    """Open and before its deadline (any visibility: invited-only requests are matched for their buyer)."""
    return request.state is RequestState.OPEN and request.deadline >= (today or today_in_china())


def _column_parts(facts: RequestFacts, found) -> tuple:
    """(goods, region, moq_ok, capacity points, bonus) of every candidate, from the index's columns: the
    parts ``fit`` takes from them, computed per distinct value (a few hundred) rather than per product."""
    from marketplace.regions import neighbours

    cols = found.columns
    n = len(found.ids)
    goods = np.zeros(n)
    if facts.classified:
        hs_values, hs_index = np.unique(cols[schemas.HS], return_inverse=True)
        cat_values, cat_index = np.unique(cols[schemas.CATEGORY], return_inverse=True)
        hs_points = np.array([scoring.GOODS_POINTS[scoring.goods_level(
            RequestFacts(id=0, buyer_id=0, quantity=1, hs_code=facts.hs_code), ProductFacts(id=0, company_id=0, hs_code=h))]
            for h in (found.text_of(code) for code in hs_values)])
        same_category = facts.category and facts.category != "other"
        cat_points = np.array([scoring.GOODS_POINTS["category"] if same_category and found.text_of(code) == facts.category
                               else 0.0 for code in cat_values])
        goods = np.maximum(hs_points[hs_index], cat_points[cat_index])
    region = np.zeros(n)
    if facts.province:
        near = neighbours(facts.province)
        prov_values, prov_index = np.unique(cols[schemas.PROVINCE], return_inverse=True)
        prov_points = np.array([
            scoring.REGION_POINTS["province"] if p == facts.province else
            scoring.REGION_POINTS["neighbour"] if p and p in near else 0.0
            for p in (found.text_of(code) for code in prov_values)])
        region = prov_points[prov_index]
        if facts.city:
            same_city = (cols[schemas.CITY] == found.code_of(facts.city)) & (cols[schemas.PROVINCE] == found.code_of(facts.province))
            region = np.where(same_city, scoring.REGION_POINTS["city"], region)
    moq_ok = cols[schemas.MOQ] <= facts.quantity
    capacity = cols[schemas.CAPACITY]
    capacity_points = np.where(capacity < 0, scoring.CAPACITY_UNKNOWN_POINTS,
                               np.where(capacity >= facts.quantity, scoring.CAPACITY_MAX, 0.0))
    bonus = cols[schemas.TARIFF_HIT] * scoring.BONUS_TARIFF_HIT + cols[schemas.VERIFIED] * scoring.BONUS_ZJTX
    # the rest at most: price from the lowest tier, certifications held today, readiness met
    price_points = np.full(n, scoring.PRICE_MAX)
    if facts.target_fen is not None:
        lowest = cols[schemas.MIN_PRICE]
        over = np.maximum(0.0, 100.0 * (lowest - facts.target_fen) / max(facts.target_fen, 1))
        price_points = np.where(lowest < 0, scoring.UNPRICED_POINTS,
                                np.maximum(0.0, scoring.PRICE_MAX * (1 - over / scoring.PRICE_ZERO_AT_PCT)))
    cert_points = np.full(n, scoring.CERTS_MAX)
    if facts.required_certifications:
        held = np.zeros(n)
        for code in facts.required_certifications:
            held += found.cert_held(code)
        cert_points = scoring.CERTS_MAX * held / len(facts.required_certifications)
    readiness_points = np.full(n, scoring.READINESS_MAX)
    if facts.required_readiness:
        values, index = np.unique(cols[schemas.READINESS], return_inverse=True)
        met = np.array([sum(1 for code in facts.required_readiness if code in found.text_of(value).split())
                        for value in values], dtype=float)
        readiness_points = (scoring.READINESS_MAX * met / len(facts.required_readiness))[index]
    return goods, region, moq_ok, capacity_points, bonus, price_points, cert_points, readiness_points


def _may_pass_musts(facts: RequestFacts, found, parts) -> np.ndarray:
    """False where the index's columns already show a must requirement failing (a necessary condition only:
    ``fit`` decides the rest): such candidates are never scored."""

    goods, region, moq_ok, _capacity_points, _bonus, price, certs, readiness = parts
    cols = found.columns
    ok = np.ones(len(found.ids), dtype=bool)
    musts = facts.musts
    if "moq" in musts:
        ok &= moq_ok
    if "certifications" in musts and facts.required_certifications:
        ok &= certs >= scoring.CERTS_MAX - 1e-9
    if "readiness" in musts and facts.required_readiness:
        ok &= readiness >= scoring.READINESS_MAX - 1e-9
    if "price" in musts and facts.target_fen is not None:
        lowest = cols[schemas.MIN_PRICE]
        ok &= (lowest >= 0) & (lowest <= facts.target_fen)
    if "capacity" in musts:
        ok &= cols[schemas.CAPACITY] >= facts.quantity
    if "region" in musts:
        ok &= region >= scoring.REGION_POINTS["province"]
    if "category" in musts and facts.classified:
        ok &= goods > 0
    return ok


def rank_products(request: ProcurementRequest, keywords: list[Keyword], limit: int = MATCHES_PER_REQUEST,
                  include_excluded: bool = False, inferred: str | None = None,
                  inferred_hs: str | None = None) -> list[Ranked]:
    """The best ``limit`` matching products of a request, exact: every product holding a keyword is a
    candidate; each gets an upper bound of its score from the index's columns (``scoring.bounds``), and they
    are scored with ``fit`` best bound first until no bound reaches the current last place (``inferred``: the
    profile's category, when the request has none)."""

    if not keywords:
        return []
    facts = request_facts(request, keywords, inferred, inferred_hs)
    found = product_index().similar_candidates(keywords, columns=PRODUCT_COLUMNS, hs_prefix=facts.hs_code or None)
    if not len(found.ids):
        return []
    coverage = found.coverage()
    parts = _column_parts(facts, found)
    goods, region, moq_ok, capacity_points, bonus, price, certs, readiness = parts
    bound = scoring.bounds(facts, coverage, goods, region, moq_ok, capacity_points, bonus, price, certs, readiness)
    relevant = scoring.relevance_bounds(facts, coverage, goods) >= MIN_RELEVANCE - 1e-9
    relevant &= (coverage > 0) | (goods >= scoring.GOODS_POINTS["heading"])
    relevant &= _may_pass_musts(facts, found, parts)
    order = np.lexsort((found.ids, -bound))
    best: list[tuple[float, int]] = []  # (-score, product id), sorted
    kept: dict[int, Ranked] = {}
    slack = 0.05  # scores are rounded to 0.1: a bound this close may still tie the last place
    for row in order:
        if len(best) >= limit and bound[row] + slack < -best[limit - 1][0]:
            break
        if not include_excluded:
            if bound[row] + slack < MIN_SCORE:
                break
            if not relevant[row]:
                continue
        product_id = int(found.ids[row])
        product = facts_from_columns(product_id, found, int(row))
        result = fit(facts, product, found.presence[row])
        if not (result.matches or include_excluded):
            continue
        key = (-result.score, product_id)
        bisect.insort(best, key)
        kept[product_id] = Ranked(product_id, product.company_id, result)
        if len(best) > limit:
            _score, dropped = best.pop()
            kept.pop(dropped, None)
    return [kept[product_id] for _score, product_id in best]
