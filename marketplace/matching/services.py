"""Matching services: compute a request's or a product's matches, keep ``matches`` in step, read them.

- A request's **keywords** are chosen when it is (re)computed, against the product index as it is
  then (``SearchIndex.keywords``: TF-IDF on the product index's document frequencies, procurement
  stop list), and kept in ``match_profiles`` with the terms they match through (``match_terms``).
  ``recompute_all(refresh=True)`` (``flask match recompute --all``: after a rebuild or a dictionary
  change, and nightly) chooses them again.
- **Request side** (``rank_products``): every product holding a keyword (``similar_candidates``, read
  from the index's postings and columns) is scored by ``scoring.fit`` best coverage first, stopping
  once no remaining product can reach the current K-th score: exact top ``MATCHES_PER_REQUEST``.
- **Product side** (``recompute_product``): the requests whose keyword terms the product holds
  (``match_terms``) are scored with the same ``fit`` from the product's database record; a request whose
  list lost a member or a place is recomputed from its side (its next best may come in).
- ``matches`` is therefore a pure function of the requests, products and keywords: recomputing every
  request from scratch gives the same rows (tested after random change sequences).
- Reads: ``suppliers_for_request`` (best product per exporter), ``requests_for_product``,
  ``opportunities`` (an exporter's 商机), ``explain_pair`` ("why not" included). Deadlines are filtered
  when reading; who may see what is the sourcing and catalog rules.
"""
from __future__ import annotations

import bisect
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from marketplace.catalog.models import Product
from marketplace.database import utcnow
from marketplace.errors import NotFound
from marketplace.i18n import _l, today_in_china
from marketplace.matching import scoring
from marketplace.matching.models import Match, MatchProfile, MatchTerm
from marketplace.matching.scoring import (
    DEFAULT_MUSTS,
    MATCHES_PER_REQUEST,
    MIN_RELEVANCE,
    MIN_SCORE,
    REQUIREMENTS,
    Fit,
    ProductFacts,
    RequestFacts,
    fit,
)
from marketplace.sourcing.models import ProcurementRequest
from marketplace.sourcing.states import RequestState
from search_index import Keyword, ProductRecord, presence_in, schemas
from search_index.analysis import index_terms

#: product index columns scoring reads
PRODUCT_COLUMNS = (schemas.COMPANY, schemas.CATEGORY, schemas.HS, schemas.PROVINCE, schemas.CITY, schemas.MOQ,
                   schemas.TIERS, schemas.CAPACITY, schemas.READINESS, schemas.CERT_UNTIL, schemas.TARIFF_HIT,
                   schemas.VERIFIED)
#: ``match_terms`` rows naming a request's HS code (4 digits or more) rather than a word
HS_TERM = "hs:"
#: terms looked up per query of ``match_terms``
TERM_CHUNK = 400


def _product_index():
    from marketplace.search.sync import get_index

    return get_index("products")


# ----------------------------------------------------------------------------- facts


def musts_of(request: ProcurementRequest) -> frozenset[str]:
    """The request's must requirements (the default when never set)."""
    value = request.must_requirements
    if value is None:
        return frozenset(DEFAULT_MUSTS)
    return frozenset(code for code in value if code in REQUIREMENTS)


def request_facts(request: ProcurementRequest, keywords: list[Keyword], inferred: str | None = None,
                  inferred_hs: str | None = None) -> RequestFacts:
    """What ``fit`` needs of a request and its keywords (``inferred`` / ``inferred_hs``: the category and HS
    code its words point to, used when the buyer gave none)."""
    category = request.category if request.category and request.category != "other" else (inferred or "other")
    return RequestFacts(
        id=request.id, buyer_id=request.buyer_company_id, quantity=int(request.quantity),
        category=category, hs_code=request.hs_code or inferred_hs or "",
        province=request.delivery_province_code or "", city=request.delivery_city_code or "",
        target_fen=request.target_unit_price_fen,
        required_certifications=tuple(sorted(request.required_certifications or ())),
        required_readiness=tuple(sorted(request.required_readiness or ())), musts=musts_of(request),
        deadline_key=schemas.date_key(request.deadline),
        weights=tuple(k.weight for k in keywords), keyword_texts=tuple(k.text for k in keywords),
    )


def _tiers(text: str) -> tuple[tuple[int, int], ...]:
    pairs = []
    for part in (text or "").split():
        qty, _sep, fen = part.partition(":")
        pairs.append((int(qty), int(fen)))
    return tuple(pairs)


def _cert_until(text: str) -> dict:
    out = {}
    for part in (text or "").split():
        code, _sep, until = part.rpartition(":")
        out[code] = int(until)
    return out


def _facts_from_columns(product_id: int, found, row: int) -> ProductFacts:
    """A candidate's facts from the index's columns (``search_index.Candidates``)."""
    value = found.value
    capacity = value(schemas.CAPACITY, row)
    return ProductFacts(
        id=product_id, company_id=value(schemas.COMPANY, row), category=value(schemas.CATEGORY, row),
        hs_code=value(schemas.HS, row), province=value(schemas.PROVINCE, row), city=value(schemas.CITY, row),
        moq=value(schemas.MOQ, row), tiers=_tiers(value(schemas.TIERS, row)),
        capacity=None if capacity < 0 else capacity, readiness=frozenset(value(schemas.READINESS, row).split()),
        cert_until=_cert_until(value(schemas.CERT_UNTIL, row)), tariff_hit=bool(value(schemas.TARIFF_HIT, row)),
        zjtx=bool(value(schemas.VERIFIED, row)),
    )


def product_facts(record: ProductRecord) -> ProductFacts:
    """What ``fit`` needs of a product, from its index record (the same values the index's columns hold)."""
    document = schemas.to_document(record)
    return ProductFacts(
        id=record.id, company_id=record.company_id, category=record.category or "other",
        hs_code=record.hs_code or "", province=record.province or "", city=record.city or "", moq=record.moq,
        tiers=_tiers(document[schemas.TIERS].decode()), capacity=record.capacity,
        readiness=frozenset(record.readiness), cert_until=_cert_until(document[schemas.CERT_UNTIL].decode()),
        tariff_hit=record.tariff_hit, zjtx=record.verified,
    )


def record_terms(record: ProductRecord) -> tuple[set[str], set[str]]:
    """(title terms, text terms) of a product as the index holds them."""
    document = schemas.to_document(record)
    return set(index_terms(document[schemas.TITLE])), set(index_terms(document[schemas.TEXT]))


# ----------------------------------------------------------------------------- keywords


def choose_keywords(request: ProcurementRequest) -> list[Keyword]:
    """The request's keywords against the product index now (title counted twice; its own quantity and
    target price are not goods words)."""
    ignore = {str(request.quantity)}
    if request.target_unit_price_fen:
        ignore.add(str(request.target_unit_price_fen // 100))
    return _product_index().keywords(request.description or "", title=request.title or "",
                                     ignore=frozenset(ignore))


def _generation() -> str:
    gen_dir, number = _product_index().generation_key()
    return f"{gen_dir}:{number}"[:120]


#: products whose classification votes for a request's inferred category (the best by coverage)
INFER_TOP = 20
#: share of the votes (coverage-weighted) one category needs to be inferred
INFER_SHARE = 0.5


def _vote(values: list[tuple[str, float]]) -> str | None:
    """The value holding at least ``INFER_SHARE`` of the weight (ties: the smaller value), or None."""
    votes: dict[str, float] = {}
    for value, weight in values:
        if value:
            votes[value] = votes.get(value, 0.0) + weight
    total = sum(weight for _value, weight in values)
    best = min(votes, key=lambda v: (-votes[v], v)) if votes else None
    if not best or not total or votes[best] < INFER_SHARE * total:
        return None
    return best


def infer_goods(keywords: list[Keyword]) -> tuple[str | None, str | None]:
    """(category, HS code) the request's words point to (pseudo-relevance feedback): the values holding most of
    the coverage of the ``INFER_TOP`` products its keywords find best, when one holds at least ``INFER_SHARE``
    of it; the HS code is the subheading (6 digits) when one wins, else the heading (4)."""
    if not keywords:
        return None, None
    found = _product_index().similar_candidates(keywords, columns=(schemas.CATEGORY, schemas.HS))
    if not len(found.ids):
        return None, None
    coverage = found.coverage()
    top = [int(row) for row in np.lexsort((found.ids, -coverage))[:INFER_TOP]]
    category = _vote([(found.value(schemas.CATEGORY, row), float(coverage[row])) for row in top])
    codes = [(found.value(schemas.HS, row), float(coverage[row])) for row in top]
    hs = _vote([(code[:6] if len(code) >= 6 else "", weight) for code, weight in codes]) or \
        _vote([(code[:4] if len(code) >= 4 else "", weight) for code, weight in codes])
    return (None if category == "other" else category), hs


def infer_category(keywords: list[Keyword]) -> str | None:
    """The category the request's words point to (``infer_goods``)."""
    return infer_goods(keywords)[0]


@dataclass(frozen=True)
class Profile:
    """A request's keywords and the category they point to (when it named none)."""

    keywords: list
    category: str | None = None
    hs: str | None = None

    def as_json(self) -> dict:
        """The stored form (``match_profiles.keywords``)."""
        return {"keywords": [k.as_json() for k in self.keywords], "category": self.category, "hs": self.hs}

    @classmethod
    def from_json(cls, value) -> Profile:
        if isinstance(value, list):  # keywords only
            return cls([Keyword.from_json(v) for v in value])
        return cls([Keyword.from_json(v) for v in value.get("keywords", [])], value.get("category"), value.get("hs"))

    def facts(self, request: ProcurementRequest) -> RequestFacts:
        """The request's facts with this profile's keywords and inferred classification."""
        return request_facts(request, self.keywords, self.category, self.hs)


def choose_profile(request: ProcurementRequest) -> Profile:
    """Keywords chosen now, and the category and HS code they point to when the request gives none."""
    keywords = choose_keywords(request)
    needs_category = not request.category or request.category == "other"
    if not needs_category and request.hs_code:
        return Profile(keywords)
    category, hs = infer_goods(keywords)
    return Profile(keywords, category if needs_category else None, None if request.hs_code else hs)


def effective_hs(request: ProcurementRequest, profile: Profile) -> str:
    """The HS code matching uses for a request: its own, else the profile's inferred one."""
    return request.hs_code or profile.hs or ""


def request_profile(session: Session, request: ProcurementRequest, refresh: bool = False) -> Profile:
    """The request's stored profile; chosen (and stored with its keywords' terms) when missing or ``refresh``."""
    stored = session.get(MatchProfile, request.id)
    if stored is not None and not refresh:
        return Profile.from_json(stored.keywords)
    profile = choose_profile(request)
    if stored is None:
        stored = MatchProfile(request_id=request.id)
        session.add(stored)
    stored.keywords = profile.as_json()
    stored.generation = _generation()
    stored.computed_at = utcnow()
    total = sum(k.weight for k in profile.keywords) or 1.0
    rows = {(term[:100], number): k.weight / total for number, k in enumerate(profile.keywords)
            for alternative in k.alternatives for term in alternative}
    hs = effective_hs(request, profile)
    if len(hs) >= 4:  # products classified under it are candidates without a shared word
        rows[(HS_TERM + hs, -1)] = 0.0
    session.execute(sa.delete(MatchTerm).where(MatchTerm.request_id == request.id))
    if rows:
        session.execute(sa.insert(MatchTerm), [{"term": term, "request_id": request.id, "keyword": number,
                                                "share": share} for (term, number), share in sorted(rows.items())])
    return profile


def profile_keywords(session: Session, request: ProcurementRequest, refresh: bool = False) -> list[Keyword]:
    """The request's stored keywords (``request_profile``)."""
    return request_profile(session, request, refresh).keywords


def current_profile(session: Session, request: ProcurementRequest) -> Profile:
    """The request's stored profile, or (never computed yet, or closed) one chosen now without storing: for
    reads ("why not", the empty state), which must not write."""
    stored = session.get(MatchProfile, request.id)
    if stored is not None:
        return Profile.from_json(stored.keywords)
    return choose_profile(request)


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
    from marketplace.matching import scoring
    from marketplace.regions import neighbours

    cols = found.columns
    n = len(found.ids)
    goods = np.zeros(n)
    if facts.hs_code or (facts.category and facts.category != "other"):
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
    return goods, region, moq_ok, capacity_points, bonus


def rank_products(request: ProcurementRequest, keywords: list[Keyword], limit: int = MATCHES_PER_REQUEST,
                  include_excluded: bool = False, inferred: str | None = None,
                  inferred_hs: str | None = None) -> list[Ranked]:
    """The best ``limit`` matching products of a request, exact: every product holding a keyword is a
    candidate; each gets an upper bound of its score from the index's columns (``scoring.bounds``), and they
    are scored with ``fit`` best bound first until no bound reaches the current last place (``inferred``: the
    profile's category, when the request has none)."""
    from marketplace.matching import scoring

    if not keywords:
        return []
    facts = request_facts(request, keywords, inferred, inferred_hs)
    found = _product_index().similar_candidates(keywords, columns=PRODUCT_COLUMNS, hs_prefix=facts.hs_code or None)
    if not len(found.ids):
        return []
    coverage = found.coverage()
    goods, region, moq_ok, capacity_points, bonus = _column_parts(facts, found)
    bound = scoring.bounds(facts, coverage, goods, region, moq_ok, capacity_points, bonus)
    relevant = scoring.relevance_bounds(facts, coverage, goods) >= MIN_RELEVANCE - 1e-9
    relevant &= (coverage > 0) | (goods >= scoring.GOODS_POINTS["heading"])
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
        product = _facts_from_columns(product_id, found, int(row))
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


# ----------------------------------------------------------------------------- writing matches


def _write_request_matches(session: Session, request: ProcurementRequest, ranked: list[Ranked],
                           generation: str) -> tuple[int, int]:
    """Make the request's rows exactly ``ranked`` (kept rows keep when they were first seen and told)."""
    existing = {m.product_id: m for m in session.scalars(sa.select(Match).where(Match.request_id == request.id))}
    wanted = {r.product_id: r for r in ranked}
    now = utcnow()
    added = 0
    for product_id, match in existing.items():
        if product_id not in wanted:
            session.delete(match)
    for product_id, item in wanted.items():
        match = existing.get(product_id)
        if match is None:
            match = Match(request_id=request.id, product_id=product_id, buyer_id=request.buyer_company_id,
                          first_seen_at=now, buyer_notified=False, exporter_notified=False)
            session.add(match)
            added += 1
        _fill(match, item.company_id, item.fit, generation, now)
    removed = len(set(existing) - set(wanted))
    return added, removed


def _fill(match: Match, exporter_id: int, result: Fit, generation: str, now) -> None:
    score = int(round(result.score * 10))
    if (match.score_x10 != score or match.parts != result.parts or match.gaps != result.gaps
            or match.exporter_id != exporter_id):
        match.score_x10 = score
        match.parts = result.parts
        match.gaps = result.gaps
        match.exporter_id = exporter_id
        match.generation = generation
        match.computed_at = now


def recompute_request(session: Session, request_id: int, refresh: bool = True) -> tuple[int, int]:
    """Recompute one request's matches from its side: (added, removed). A closed, expired or deleted
    request loses them all (and its keywords)."""
    request = session.get(ProcurementRequest, request_id)
    if request is None or not is_matchable(request):
        removed = session.execute(sa.delete(Match).where(Match.request_id == request_id)).rowcount or 0
        session.execute(sa.delete(MatchTerm).where(MatchTerm.request_id == request_id))
        session.execute(sa.delete(MatchProfile).where(MatchProfile.request_id == request_id))
        return 0, removed
    profile = request_profile(session, request, refresh=refresh)
    ranked = rank_products(request, profile.keywords, inferred=profile.category, inferred_hs=profile.hs)
    return _write_request_matches(session, request, ranked, _generation())


def _product_record(session: Session, product_id: int) -> ProductRecord | None:
    """The product's index record when it is public, else None."""
    from marketplace.catalog.search_kind import records_for

    records, _gone = records_for(session, [product_id])
    return records[0] if records else None


def _coverage_bounds(session: Session, terms: Iterable[str]) -> dict[int, float]:
    """Request id → a bound of the coverage a product holding ``terms`` can reach with its keywords (the
    shares of the keywords any of whose terms it holds); ``hs:`` terms count as a hit of share 0."""
    terms = sorted({t[:100] for t in terms})
    shares: dict[tuple[int, int], float] = {}
    for start in range(0, len(terms), TERM_CHUNK):
        for request_id, number, share in session.execute(
                sa.select(MatchTerm.request_id, MatchTerm.keyword, MatchTerm.share)
                .where(MatchTerm.term.in_(terms[start:start + TERM_CHUNK]))):
            key = (request_id, number)
            shares[key] = max(shares.get(key, 0.0), share or 0.0)
    bounds: dict[int, float] = {}
    for (request_id, _number), share in shares.items():
        bounds[request_id] = min(1.0, bounds.get(request_id, 0.0) + share)
    return bounds


def _last_places(session: Session, request_ids: Iterable[int]) -> dict[int, tuple[int, int]]:
    """Request id → (count, lowest score ×10) of its matches, for the given requests that have any."""
    ids = sorted(request_ids)
    out: dict[int, tuple[int, int]] = {}
    for start in range(0, len(ids), 500):
        out.update({row[0]: (row[1], row[2]) for row in session.execute(
            sa.select(Match.request_id, sa.func.count(), sa.func.min(Match.score_x10))
            .where(Match.request_id.in_(ids[start:start + 500])).group_by(Match.request_id))})
    return out


#: parsed profiles by (request id, when computed): a profile row never changes without a new time
_PROFILE_CACHE: OrderedDict = OrderedDict()
PROFILE_CACHE_SIZE = 50_000


def _profiles(session: Session, request_ids: Iterable[int]) -> dict[int, Profile]:
    """The stored profiles of these requests, parsed once per process and version (the JSON is read only for
    profiles not in the cache)."""
    ids = sorted(request_ids)
    out: dict[int, Profile] = {}
    missing: list[int] = []
    for start in range(0, len(ids), 500):
        for request_id, computed_at in session.execute(
                sa.select(MatchProfile.request_id, MatchProfile.computed_at)
                .where(MatchProfile.request_id.in_(ids[start:start + 500]))):
            cached = _PROFILE_CACHE.get((request_id, computed_at))
            if cached is None:
                missing.append(request_id)
            else:
                out[request_id] = cached
    for start in range(0, len(missing), 500):
        for request_id, computed_at, keywords in session.execute(
                sa.select(MatchProfile.request_id, MatchProfile.computed_at, MatchProfile.keywords)
                .where(MatchProfile.request_id.in_(missing[start:start + 500]))):
            profile = out[request_id] = Profile.from_json(keywords)
            _PROFILE_CACHE[(request_id, computed_at)] = profile
    while len(_PROFILE_CACHE) > PROFILE_CACHE_SIZE:
        _PROFILE_CACHE.popitem(last=False)
    return out


def recompute_product(session: Session, product_id: int) -> tuple[int, int]:
    """Recompute one product's matches from its side: (added, removed). Requests that lose the product
    or a place in their list, or see it fall, are recomputed from their side (their next best may come in)."""
    record = _product_record(session, product_id)
    existing = {m.request_id: m for m in session.scalars(sa.select(Match).where(Match.product_id == product_id))}
    refill: set[int] = set()
    added = removed = 0
    now = utcnow()
    generation = _generation()
    if record is None:
        refill.update(existing)
        removed += len(existing)
        session.execute(sa.delete(Match).where(Match.product_id == product_id))
        existing = {}
        candidates: set[int] = set()
    else:
        title_terms, text_terms = record_terms(record)
        hs = record.hs_code or ""
        classified = {HS_TERM + hs[:length] for length in range(4, len(hs) + 1)}
        coverage = _coverage_bounds(session, title_terms | text_terms | classified)
        places = _last_places(session, set(coverage) | set(existing))
        # a request whose list is full takes the product only above its last place: skip those the product's
        # best possible score (its coverage bound, every other part at its most) cannot reach
        candidates = {request_id for request_id, bound in coverage.items()
                      if request_id in existing or places.get(request_id, (0, 0))[0] < MATCHES_PER_REQUEST
                      or scoring.best_possible(bound) + 0.05 >= places[request_id][1] / 10} | set(existing)
        product = product_facts(record)
    counts = {request_id: count for request_id, (count, _low) in _last_places(session, candidates).items()} \
        if record is None else {request_id: places.get(request_id, (0, 0))[0] for request_id in candidates}
    profiles = _profiles(session, candidates)
    today = today_in_china()
    for request in _load_requests(session, candidates):
        match = existing.get(request.id)
        if not is_matchable(request, today):
            continue
        stored = profiles.get(request.id)
        if stored is None:
            refill.add(request.id)
            continue
        result = fit(stored.facts(request), product, presence_in(stored.keywords, title_terms, text_terms))
        if not result.matches:
            if match is not None:
                session.delete(match)
                removed += 1
                if counts.get(request.id, 0) >= MATCHES_PER_REQUEST:
                    refill.add(request.id)
            continue
        if match is not None:
            if result.score < match.score and counts.get(request.id, 0) >= MATCHES_PER_REQUEST:
                refill.add(request.id)
            _fill(match, product.company_id, result, generation, now)
            continue
        if counts.get(request.id, 0) >= MATCHES_PER_REQUEST:
            last = _last_place(session, request.id)
            if last is not None and (-int(round(result.score * 10)), product_id) > (-last.score_x10, last.product_id):
                continue  # not among the request's best
            if last is not None:
                session.delete(last)
                removed += 1
        new = Match(request_id=request.id, product_id=product_id, buyer_id=request.buyer_company_id,
                    first_seen_at=now, buyer_notified=False, exporter_notified=False)
        _fill(new, product.company_id, result, generation, now)
        session.add(new)
        added += 1
    session.flush()
    for request_id in sorted(refill):
        more, fewer = recompute_request(session, request_id, refresh=False)
        added += more
        removed += fewer
    return added, removed


def _match_counts(session: Session, request_ids: set[int]) -> dict[int, int]:
    counts: dict[int, int] = {}
    ids = sorted(request_ids)
    for start in range(0, len(ids), 500):
        counts.update(session.execute(sa.select(Match.request_id, sa.func.count()).where(
            Match.request_id.in_(ids[start:start + 500])).group_by(Match.request_id)).all())
    return counts


def _last_place(session: Session, request_id: int) -> Match | None:
    return session.scalars(sa.select(Match).where(Match.request_id == request_id)
                           .order_by(Match.score_x10.asc(), Match.product_id.desc()).limit(1)).first()


def _load_requests(session: Session, ids: set[int]) -> list[ProcurementRequest]:
    ids_sorted = sorted(ids)
    out: list[ProcurementRequest] = []
    for start in range(0, len(ids_sorted), 500):
        out.extend(session.scalars(sa.select(ProcurementRequest).where(
            ProcurementRequest.id.in_(ids_sorted[start:start + 500])).order_by(ProcurementRequest.id)))
    return out


def matchable_request_ids(session: Session) -> list[int]:
    """Every open request before its deadline."""
    return list(session.scalars(sa.select(ProcurementRequest.id).where(
        ProcurementRequest.state == RequestState.OPEN, ProcurementRequest.deadline >= today_in_china())
        .order_by(ProcurementRequest.id)))


def recompute_all(session: Session, refresh: bool = True, progress=None) -> dict:
    """Recompute every request's matches from its side (``refresh``: choose every request's keywords
    again); drop rows of requests no longer matchable."""
    ids = matchable_request_ids(session)
    added = removed = 0
    for number, request_id in enumerate(ids, 1):
        more, fewer = recompute_request(session, request_id, refresh=refresh)
        added += more
        removed += fewer
        if number % 200 == 0:
            session.flush()
            if progress:
                progress(number, len(ids))
    stale = session.execute(sa.delete(Match).where(Match.request_id.not_in(ids) if ids else sa.true())).rowcount
    return {"requests": len(ids), "added": added, "removed": removed + (stale or 0)}


# ----------------------------------------------------------------------------- explaining one pair


@dataclass
class Explanation:
    """One pair scored now: the fit, whether it is materialized, and why not when it does not match."""

    request: ProcurementRequest
    product: Product
    fit: Fit | None
    #: why it is not a match: "not_public" (the product is not listed), "no_keywords" (the request has no
    #: goods words), "no_words" (the product holds none), "excluded" (a must), "low_score", or None
    why_not: str | None


def explain_pair(session: Session, request: ProcurementRequest, product: Product) -> Explanation:
    """Score one pair with the canonical function, for any product the buyer names ("why not" included)."""
    record = _product_record(session, product.id)
    if record is None:
        return Explanation(request, product, None, "not_public")
    profile = current_profile(session, request)
    keywords = profile.keywords
    if not keywords:
        return Explanation(request, product, None, "no_keywords")
    title_terms, text_terms = record_terms(record)
    result = fit(profile.facts(request), product_facts(record),
                 presence_in(keywords, title_terms, text_terms))
    if result.matches:
        why = None
    elif result.coverage == 0 and not result.same_goods:
        why = "no_words"
    elif result.excluded:
        why = "excluded"
    elif result.relevance < MIN_RELEVANCE:
        why = "not_relevant"
    else:
        why = "low_score"
    return Explanation(request, product, result, why)


# ----------------------------------------------------------------------------- reading matches


def suppliers_for_request(request: ProcurementRequest, limit: int = 20) -> list[Match]:
    """The request's best product per exporter, best first (the buyer's "suppliers" list)."""
    from marketplace.extensions import db

    rows = db.session.scalars(
        sa.select(Match).where(Match.request_id == request.id)
        .options(selectinload(Match.product).selectinload(Product.company))
        .order_by(Match.score_x10.desc(), Match.product_id)).all()
    seen: set[int] = set()
    out = []
    for match in rows:
        if match.exporter_id in seen:
            continue
        seen.add(match.exporter_id)
        out.append(match)
        if len(out) >= limit:
            break
    return out


def count_for_request(request_id: int) -> int:
    """How many products match a request."""
    from marketplace.extensions import db

    return db.session.scalar(sa.select(sa.func.count()).select_from(Match).where(Match.request_id == request_id))


def excluded_summary(request: ProcurementRequest) -> dict[str, int]:
    """For an empty suppliers list: how many candidate products each must requirement excluded."""
    from marketplace.extensions import db

    profile = current_profile(db.session, request)
    counts: dict[str, int] = {}
    for item in rank_products(request, profile.keywords, limit=200, include_excluded=True, inferred=profile.category,
                              inferred_hs=profile.hs):
        for requirement in item.fit.excluded_by:
            counts[requirement] = counts.get(requirement, 0) + 1
    return counts


def _visible_requests_for(company_id: int):
    from marketplace.sourcing.services import exporter_can_see

    return sa.and_(ProcurementRequest.state == RequestState.OPEN, ProcurementRequest.deadline >= today_in_china(),
                   exporter_can_see().params(company=company_id))


def requests_for_product(actor, product: Product, limit: int = 20) -> list[Match]:
    """The open requests a product of the actor's company fits (those the company may see), best first."""
    from marketplace.extensions import db

    if actor.company_id != product.company_id:
        raise NotFound(_l("This product does not exist."))
    return db.session.scalars(
        sa.select(Match).join(ProcurementRequest, ProcurementRequest.id == Match.request_id)
        .where(Match.product_id == product.id, _visible_requests_for(actor.company_id))
        .options(selectinload(Match.request).selectinload(ProcurementRequest.buyer_company))
        .order_by(Match.score_x10.desc(), Match.request_id).limit(limit)).all()


def opportunities_query(company_id: int):
    """SELECT of the exporter's 商机: each open request it may see that its products fit, with its best
    product's match (one row per request), best first."""
    ranked = (sa.select(Match.id, sa.func.row_number().over(
        partition_by=Match.request_id, order_by=(Match.score_x10.desc(), Match.product_id)).label("place"))
        .join(ProcurementRequest, ProcurementRequest.id == Match.request_id)
        .where(Match.exporter_id == company_id, _visible_requests_for(company_id)).subquery())
    return (sa.select(Match).join(ranked, sa.and_(ranked.c.id == Match.id, ranked.c.place == 1))
            .options(selectinload(Match.request).selectinload(ProcurementRequest.buyer_company),
                     selectinload(Match.product))
            .order_by(Match.score_x10.desc(), Match.request_id))


def opportunities(actor, page=1, per_page: int = 20):
    """A page of the exporter's 商机 (``opportunities_query``)."""
    from marketplace.extensions import db
    from marketplace.inputs import page_number
    from marketplace.sourcing.services import require_exporter

    company = require_exporter(actor)
    return db.paginate(opportunities_query(company.id), page=page_number(page), per_page=per_page,
                       error_out=False, count=True)


def invite_to_quote(actor, request_id: int, company_id: int) -> bool:
    """The buyer invites a matched exporter to quote: an invitation row (invited-only requests let it see
    the request) and a notification; False when it was invited already. 404 for a company that is not a
    match of the buyer's own request."""
    from marketplace.extensions import db
    from marketplace.notifications.services import notify_company
    from marketplace.sourcing.models import RequestInvitation
    from marketplace.sourcing.services import get_own_request

    request = get_own_request(actor, request_id)
    matched = db.session.scalar(sa.select(Match.id).where(Match.request_id == request.id,
                                                          Match.exporter_id == company_id).limit(1))
    if matched is None:
        raise NotFound(_l("This supplier is not among the request's matches."))
    exists = db.session.scalar(sa.select(RequestInvitation.id).where(
        RequestInvitation.request_id == request.id, RequestInvitation.company_id == company_id))
    if exists is not None:
        return False
    db.session.add(RequestInvitation(request_id=request.id, company_id=company_id))
    notify_company(company_id, "match.invited",
                   _l("%(buyer)s invites you to quote on “%(title)s”", buyer=request.buyer_company.name_zh,
                      title=request.title),
                   _l("Your products fit this request. Open it to quote."), link=f"/sourcing/requests/{request.id}")
    db.session.commit()
    return True
