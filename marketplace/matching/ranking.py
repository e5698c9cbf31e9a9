"""Ranking a request's candidate products, exactly and fast.

Every product holding a keyword (or classified under the request's HS heading) is a candidate
(``SearchIndex.similar_candidates``). Each gets an upper bound of its score from the index's columns
(``scoring.bounds``); candidates a must already fails on the columns are skipped; the rest are scored with
``scoring.fit`` best bound first until no bound reaches the current last place. Tested against scoring every
candidate.
"""
from __future__ import annotations

import bisect
from collections import OrderedDict
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


def _per_value(codes: np.ndarray, points) -> np.ndarray:
    """``points(code)`` of each element of ``codes`` (small non-negative integers: vocabulary codes), computed
    once per distinct code (a few hundred) through a lookup table (``np.unique`` sorts the whole array)."""
    if not len(codes):
        return np.zeros(0)
    distinct = np.flatnonzero(np.bincount(codes))
    table = np.zeros(int(distinct[-1]) + 1)
    table[distinct] = [points(int(code)) for code in distinct]
    return table[codes]


def _column_parts(facts: RequestFacts, found) -> tuple:
    """(goods, region, moq_ok, capacity points, bonus) of every candidate, from the index's columns: the
    parts ``fit`` takes from them, computed per distinct value (a few hundred) rather than per product."""
    from marketplace.regions import neighbours

    cols = found.columns
    n = len(found.ids)
    goods = np.zeros(n)
    if facts.classified:
        want = RequestFacts(id=0, buyer_id=0, quantity=1, hs_code=facts.hs_code)
        hs_points = _per_value(cols[schemas.HS], lambda code: scoring.GOODS_POINTS[scoring.goods_level(
            want, ProductFacts(id=0, company_id=0, hs_code=found.text_of(code)))])
        goods = hs_points
        if facts.category and facts.category != "other":
            same = cols[schemas.CATEGORY] == found.code_of(facts.category)
            goods = np.maximum(hs_points, np.where(same, scoring.GOODS_POINTS["category"], 0.0))
    region = np.zeros(n)
    if facts.province:
        near = neighbours(facts.province)
        region = _per_value(cols[schemas.PROVINCE], lambda code: (
            scoring.REGION_POINTS["province"] if found.text_of(code) == facts.province else
            scoring.REGION_POINTS["neighbour"] if found.text_of(code) and found.text_of(code) in near else 0.0))
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
        readiness_points = _per_value(cols[schemas.READINESS], lambda code: scoring.READINESS_MAX * sum(
            1 for item in facts.required_readiness if item in found.text_of(code).split())
            / len(facts.required_readiness))
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


#: the first round draws candidates from the weightiest keywords holding this share of the weight
FIRST_SHARE = 0.35
#: scores are rounded to 0.1: a bound this close to the last place may still tie it
SLACK = 0.05


def rank_products(request: ProcurementRequest, keywords: list[Keyword], limit: int = MATCHES_PER_REQUEST,
                  include_excluded: bool = False, inferred: str | None = None,
                  inferred_hs: str | None = None, leave_out: frozenset[int] = frozenset()) -> list[Ranked]:
    """The best ``limit`` matching products of a request, exact (``inferred``: the profile's category, when the
    request has none; ``leave_out``: products not to list — a full list's members when one place is refilled).

    Candidates are drawn in rounds, MaxScore-style: first the products holding one of the weightiest keywords
    (``FIRST_SHARE`` of the weight) or classified under the request's HS code; a product holding none of the
    keywords drawn so far can reach at most ``scoring.ceiling`` of the other keywords' share, so once the list
    is full and that ceiling is below its last place, nobody else is read (a request's generic words — 套装,
    多功能 — can be held by most of the catalog). Within a round each candidate gets an upper bound of its
    score from the index's columns (``scoring.bounds``), and they are scored with ``fit`` best bound first
    until no bound reaches the current last place."""

    facts = request_facts(request, keywords, inferred, inferred_hs)
    if not keywords and len(facts.hs_code) < 4:
        return []  # no goods words and no HS heading: nothing can be the goods asked for
    # the products of its HS heading are candidates without a shared word: the same heading is the same goods
    # (``scoring.SAME_GOODS_LEVELS``; the product side finds them by the heading too)
    postings = product_index().keyword_postings(keywords, hs_prefix=facts.hs_code[:4] or None)
    order = postings.share_order()
    weights = np.array([k.weight for k in keywords], dtype=np.float64)
    shares = weights / weights.sum() if weights.sum() > 0 else np.zeros(len(keywords))
    #: tail[j]: the share of the keywords after the first j of ``order`` (at most a product's coverage when it
    #: holds none of those j)
    tail = [float(shares[order[j:]].sum()) for j in range(len(order) + 1)]
    drawn, upto = 0, next((j for j in range(1, len(order) + 1) if 1 - tail[j] >= FIRST_SHARE - 1e-9), len(order))
    best: list[tuple[float, int]] = []  # (-score, product id), sorted
    kept: dict[int, Ranked] = {}
    seen = None
    restrict = None if include_excluded else _relevance_filter(facts, postings, order, tail)
    while True:
        found, seen = postings.candidates(order[drawn:upto], seen, PRODUCT_COLUMNS, classified=drawn == 0,
                                          restrict=restrict)
        if len(found.ids):
            _scan(facts, found, found.coverage(), limit, include_excluded, best, kept, leave_out)
        drawn = upto
        if drawn >= len(order):
            break
        full = len(best) >= limit
        if full:
            floor = -best[limit - 1][0]
        elif include_excluded:
            floor = None
        else:
            floor = MIN_SCORE
            if not facts.classified and tail[drawn] < MIN_RELEVANCE - 1e-9:
                break  # what is left holds too little of the request's words to be the right goods
        if floor is None:
            upto = len(order)
            continue
        upto = next((j for j in range(drawn, len(order) + 1) if scoring.ceiling(facts, tail[j]) + SLACK < floor),
                    len(order))
        if upto <= drawn:
            break  # nobody left can reach the list
    return [kept[product_id] for _score, product_id in best]


def rank_neighbours(request: ProcurementRequest, keywords: list[Keyword], limit: int, inferred: str | None = None,
                    inferred_hs: str | None = None, leave_out: frozenset[int] = frozenset()) -> list[Ranked]:
    """The best ``limit`` neighbours of a request (``Fit.neighbour``: of its category, given or ``inferred``, but
    not the goods its words ask for), exact; ``leave_out``: its matches. None for a request naming no goods
    (no keyword, no category inferred from its words) or without a category."""
    facts = request_facts(request, keywords, inferred, inferred_hs)
    if limit <= 0 or not (keywords or facts.named_goods) or not facts.category or facts.category == "other":
        return []
    postings = product_index().keyword_postings(keywords)
    found = postings.candidates_in(postings.value_mask(schemas.CATEGORY, facts.category), columns=PRODUCT_COLUMNS)
    best: list[tuple[float, int]] = []
    kept: dict[int, Ranked] = {}
    if len(found.ids):
        _scan(facts, found, found.coverage(), limit, False, best, kept, leave_out, neighbours=True)
    return [kept[product_id] for _score, product_id in best]


def _relevance_filter(facts: RequestFacts, postings, order: list[int], tail: list[float]):
    """For ``KeywordPostings.candidates``: a product first met at keyword position ``i`` holds none of the
    weightier keywords, so its coverage is at most ``tail`` there; to be the right goods (``MIN_RELEVANCE``) it
    must then earn the rest from its classification — the mask of the products that can (None: any)."""
    position = {keyword: j for j, keyword in enumerate(order)}
    masks: dict[float, np.ndarray] = {}
    needed_share = MIN_RELEVANCE * (scoring.TEXT_MAX + scoring.GOODS_MAX)
    hs = facts.hs_code or ""

    def goods_at_least(points: float) -> np.ndarray:
        if points not in masks:
            if points <= scoring.GOODS_POINTS["category"]:
                mask = postings.hs_mask(hs[:2]) if len(hs) >= 2 else np.zeros(len(postings.allowed), dtype=bool)
                if facts.category and facts.category != "other":
                    mask |= postings.value_mask(schemas.CATEGORY, facts.category)
            elif points <= scoring.GOODS_POINTS["chapter"]:
                mask = postings.hs_mask(hs[:2]) if len(hs) >= 2 else np.zeros(len(postings.allowed), dtype=bool)
            elif points <= scoring.GOODS_POINTS["heading"]:
                mask = postings.hs_mask(hs[:4]) if len(hs) >= 4 else np.zeros(len(postings.allowed), dtype=bool)
            elif points <= scoring.GOODS_POINTS["subheading"]:
                mask = postings.hs_mask(hs[:6]) if len(hs) >= 6 else np.zeros(len(postings.allowed), dtype=bool)
            else:
                mask = np.zeros(len(postings.allowed), dtype=bool)
            masks[points] = mask
        return masks[points]

    def restrict(keyword: int):
        most = tail[position[keyword]]  # the coverage such a product can reach at most
        if not facts.classified:
            return None if most >= MIN_RELEVANCE - 1e-9 else goods_at_least(float("inf"))
        need = needed_share - scoring.TEXT_MAX * most
        if need <= 1e-6:
            return None
        level = next(p for p in sorted(set(scoring.GOODS_POINTS.values())) + [float("inf")] if p >= need - 1e-6)
        return goods_at_least(level)

    return restrict


#: candidates sorted by bound at a time: the scan usually stops within the first few dozen
SORTED_AT_ONCE = 256
#: products' facts decoded from the index's columns, by (index generation, docnum): a generation's columns never
#: change, and the same products are scored for many requests (decoding a dozen columns: ~20 µs a product)
_FACTS: OrderedDict = OrderedDict()
FACTS_KEPT = 20_000


def forget_facts() -> None:
    """Drop the kept facts (a cold start, for benchmarks)."""
    _FACTS.clear()


def _facts(product_id: int, found, row: int) -> ProductFacts:
    key = (found.generation, int(found.docnums[row]))
    product = _FACTS.get(key)
    if product is None:
        product = _FACTS[key] = facts_from_columns(product_id, found, row)
        if len(_FACTS) > FACTS_KEPT:
            _FACTS.popitem(last=False)
    return product


def _scan(facts: RequestFacts, found, coverage: np.ndarray, limit: int, include_excluded: bool,
          best: list[tuple[float, int]], kept: dict[int, Ranked], leave_out: frozenset[int] = frozenset(),
          neighbours: bool = False) -> None:
    """Score ``found``'s candidates best bound first into ``best`` / ``kept`` (the list so far) until no bound
    reaches the last place (``neighbours``: list those ``Fit.neighbour`` says are, instead of matches)."""
    parts = _column_parts(facts, found)
    goods, region, moq_ok, capacity_points, bonus, price, certs, readiness = parts
    bound = scoring.bounds(facts, coverage, goods, region, moq_ok, capacity_points, bonus, price, certs, readiness)
    viable = np.ones(len(bound), dtype=bool)
    if len(best) >= limit:
        viable &= bound + SLACK >= -best[limit - 1][0]
    if not include_excluded:
        viable &= bound + SLACK >= MIN_SCORE
        if not neighbours:
            viable &= scoring.relevance_bounds(facts, coverage, goods) >= MIN_RELEVANCE - 1e-9
            viable &= (coverage > 0) | (goods >= scoring.GOODS_POINTS["heading"])
        viable &= _may_pass_musts(facts, found, parts)
    rows = np.flatnonzero(viable)
    ids = found.ids
    # best bound first (equal bounds in any order: the list keeps (-score, id) order, and a bound below the last
    # place stops the scan whatever comes after); sorted a slice at a time
    while len(rows):
        if len(rows) > SORTED_AT_ONCE:
            split = np.argpartition(-bound[rows], SORTED_AT_ONCE)
            batch, rows = rows[split[:SORTED_AT_ONCE]], rows[split[SORTED_AT_ONCE:]]
        else:
            batch, rows = rows, rows[:0]
        batch = batch[np.argsort(-bound[batch], kind="stable")]
        for row, row_bound in zip(batch.tolist(), bound[batch].tolist(), strict=True):
            product_id = int(ids[row])
            if len(best) >= limit:
                last_score, last_id = best[limit - 1]
                if row_bound + SLACK < -last_score:
                    return
                if row_bound < -last_score + SLACK - 1e-9 and product_id > last_id:
                    continue  # at best a tie with the last place, which the lower id keeps
            if product_id in leave_out:
                continue
            product = _facts(product_id, found, row)
            result = fit(facts, product, found.presence[row])
            if not (result.neighbour if neighbours else (result.matches or include_excluded)):
                continue
            bisect.insort(best, (-result.score, product_id))
            kept[product_id] = Ranked(product_id, product.company_id, result)
            if len(best) > limit:
                _score, dropped = best.pop()
                kept.pop(dropped, None)
