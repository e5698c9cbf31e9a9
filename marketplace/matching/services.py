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

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from marketplace.catalog.models import Product
from marketplace.database import UTCDateTime, utcnow
from marketplace.errors import NotFound
from marketplace.i18n import _l, today_in_china
from marketplace.matching import scoring
from marketplace.matching.models import ArchivedMatch, Match, MatchProfile, MatchTerm
from marketplace.matching.profiles import (
    HS_TERM,
    TERM_CHUNK,
    Profile,
    current_profile,
    index_generation,
    product_facts,
    record_terms,
    request_profile,
)
from marketplace.matching.ranking import Ranked, is_matchable, rank_products
from marketplace.matching.scoring import (
    MATCHES_PER_REQUEST,
    MIN_RELEVANCE,
    Fit,
    RequestFacts,
    fit,
)
from marketplace.sourcing.models import ProcurementRequest
from marketplace.sourcing.states import RequestState
from search_index import ProductRecord, presence_in

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
        archive_session_matches(session, Match.request_id == request_id)
        removed = session.execute(sa.delete(Match).where(Match.request_id == request_id)).rowcount or 0
        session.execute(sa.delete(MatchTerm).where(MatchTerm.request_id == request_id))
        session.execute(sa.delete(MatchProfile).where(MatchProfile.request_id == request_id))
        return 0, removed
    if request.session_id is not None:  # open again: its matches are live, not archived
        session.execute(sa.delete(ArchivedMatch).where(ArchivedMatch.request_id == request_id))
    profile = request_profile(session, request, refresh=refresh)
    ranked = rank_products(request, profile.keywords, inferred=profile.category, inferred_hs=profile.hs)
    return _write_request_matches(session, request, ranked, index_generation())


def archive_session_matches(session: Session, which) -> int:
    """Before the ``which`` rows of ``matches`` go because their request is over, keep those of a matchmaking
    session's demand line in ``archived_matches`` (replacing what an earlier close kept); returns how many."""
    wanted = (sa.select(Match.request_id, Match.product_id, Match.exporter_id, Match.buyer_id, Match.score_x10,
                        Match.first_seen_at, sa.literal(utcnow(), UTCDateTime))
              .join(ProcurementRequest, ProcurementRequest.id == Match.request_id)
              .where(which, ProcurementRequest.session_id.is_not(None)))
    requests = sa.select(wanted.subquery().c.request_id).distinct()
    session.execute(sa.delete(ArchivedMatch).where(ArchivedMatch.request_id.in_(requests)))
    return session.execute(sa.insert(ArchivedMatch).from_select(
        ["request_id", "product_id", "exporter_id", "buyer_id", "score", "first_seen_at", "archived_at"],
        wanted)).rowcount or 0


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
#: a request's scoring facts by (request id, version, its profile's time): neither changes without a new key
_FACTS_CACHE: OrderedDict = OrderedDict()
#: the request columns the product side reads (the facts, and whether the request is matchable)
_FACT_COLUMNS = (
    ProcurementRequest.id, ProcurementRequest.version, ProcurementRequest.state, ProcurementRequest.deadline,
    ProcurementRequest.buyer_company_id, ProcurementRequest.quantity, ProcurementRequest.category,
    ProcurementRequest.hs_code, ProcurementRequest.delivery_province_code, ProcurementRequest.delivery_city_code,
    ProcurementRequest.target_unit_price_fen, ProcurementRequest.required_certifications,
    ProcurementRequest.required_readiness, ProcurementRequest.must_requirements,
)


def _profiles(session: Session, request_ids: Iterable[int]) -> dict[int, tuple[object, Profile]]:
    """The stored profiles of these requests with their times, parsed once per process and version (the JSON
    is read only for profiles not in the cache)."""
    ids = sorted(request_ids)
    out: dict[int, tuple[object, Profile]] = {}
    missing: list[int] = []
    for start in range(0, len(ids), 500):
        for request_id, computed_at in session.execute(
                sa.select(MatchProfile.request_id, MatchProfile.computed_at)
                .where(MatchProfile.request_id.in_(ids[start:start + 500]))):
            cached = _PROFILE_CACHE.get((request_id, computed_at))
            if cached is None:
                missing.append(request_id)
            else:
                out[request_id] = (computed_at, cached)
    for start in range(0, len(missing), 500):
        for request_id, computed_at, keywords in session.execute(
                sa.select(MatchProfile.request_id, MatchProfile.computed_at, MatchProfile.keywords)
                .where(MatchProfile.request_id.in_(missing[start:start + 500]))):
            profile = Profile.from_json(keywords)
            out[request_id] = (computed_at, profile)
            _PROFILE_CACHE[(request_id, computed_at)] = profile
    while len(_PROFILE_CACHE) > PROFILE_CACHE_SIZE:
        _PROFILE_CACHE.popitem(last=False)
    return out


def _matchable_facts(session: Session, profiles: dict[int, tuple[object, Profile]]) -> list[RequestFacts]:
    """The scoring facts of the matchable requests among ``profiles``' (id order): read as plain columns, kept
    per (id, version, profile time) — the product side of a common word reads thousands of requests."""
    ids = sorted(profiles)
    today = today_in_china()
    out: list[RequestFacts] = []
    for start in range(0, len(ids), 500):
        rows = session.execute(sa.select(*_FACT_COLUMNS).where(ProcurementRequest.id.in_(ids[start:start + 500]))
                               .order_by(ProcurementRequest.id))
        for row in rows:
            if not is_matchable(row, today):
                continue
            stamp, profile = profiles[row.id]
            key = (row.id, row.version, stamp)
            facts = _FACTS_CACHE.get(key)
            if facts is None:
                facts = _FACTS_CACHE[key] = profile.facts(row)
            out.append(facts)
    while len(_FACTS_CACHE) > PROFILE_CACHE_SIZE:
        _FACTS_CACHE.popitem(last=False)
    return out


def recompute_product(session: Session, product_id: int) -> tuple[int, int]:
    """Recompute one product's matches from its side: (added, removed). Requests that lose the product
    or a place in their list, or see it fall, are recomputed from their side (their next best may come in)."""
    record = _product_record(session, product_id)
    existing = {m.request_id: m for m in session.scalars(sa.select(Match).where(Match.product_id == product_id))}
    refill: set[int] = set()
    added = removed = 0
    now = utcnow()
    generation = index_generation()
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
    refill.update(candidates - set(profiles))  # no stored profile yet: the request's own side chooses one
    for facts in _matchable_facts(session, profiles) if record is not None else ():
        match = existing.get(facts.id)
        if match is None and not _may_be_relevant(facts, product, coverage.get(facts.id, 0.0)):
            continue  # its words and classification cannot make it the right goods: fit() would say no
        keywords = profiles[facts.id][1].keywords
        result = fit(facts, product, presence_in(keywords, title_terms, text_terms))
        if not result.matches:
            if match is not None:
                session.delete(match)
                removed += 1
                if counts.get(facts.id, 0) >= MATCHES_PER_REQUEST:
                    refill.add(facts.id)
            continue
        if match is not None:
            if result.score < match.score and counts.get(facts.id, 0) >= MATCHES_PER_REQUEST:
                refill.add(facts.id)
            _fill(match, product.company_id, result, generation, now)
            continue
        if counts.get(facts.id, 0) >= MATCHES_PER_REQUEST:
            if int(round(result.score * 10)) < places[facts.id][1]:
                continue  # below the full list's last place: not among the request's best
            last = _last_place(session, facts.id)
            if last is not None and (-int(round(result.score * 10)), product_id) > (-last.score_x10, last.product_id):
                continue  # not among the request's best
            if last is not None:
                session.delete(last)
                removed += 1
        new = Match(request_id=facts.id, product_id=product_id, buyer_id=facts.buyer_id,
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



def _may_be_relevant(facts: RequestFacts, product, coverage_bound: float) -> bool:
    """Whether the product can be the right goods for the request (``Fit.relevance`` ≥ ``MIN_RELEVANCE``) given
    a bound of its coverage: a cheap test before ``fit`` (a product's common words reach thousands of requests)."""
    if not facts.classified:
        return coverage_bound >= MIN_RELEVANCE - 1e-9
    goods = scoring.GOODS_POINTS[scoring.goods_level(facts, product)]
    return (scoring.TEXT_MAX * coverage_bound + goods) / (scoring.TEXT_MAX + scoring.GOODS_MAX) >= MIN_RELEVANCE - 1e-9


def _last_place(session: Session, request_id: int) -> Match | None:
    return session.scalars(sa.select(Match).where(Match.request_id == request_id)
                           .order_by(Match.score_x10.asc(), Match.product_id.desc()).limit(1)).first()


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
    gone = Match.request_id.not_in(ids) if ids else sa.true()
    archive_session_matches(session, gone)
    stale = session.execute(sa.delete(Match).where(gone)).rowcount
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


def set_shortlisted(actor, request_id: int, company_id: int, on: bool) -> bool:
    """Add a matched exporter to the buyer's shortlist for its request, or take it off; returns whether it is on
    it now. 404 for another company's request, or a company that is not among the request's matches."""
    from marketplace.extensions import db
    from marketplace.matching.models import SupplierShortlist
    from marketplace.sourcing.services import get_own_request

    request = get_own_request(actor, request_id)
    entry = db.session.scalar(sa.select(SupplierShortlist).where(SupplierShortlist.request_id == request.id,
                                                                SupplierShortlist.company_id == company_id))
    if on and entry is None:
        matched = db.session.scalar(sa.select(Match.id).where(Match.request_id == request.id,
                                                              Match.exporter_id == company_id).limit(1))
        if matched is None:
            raise NotFound(_l("This supplier is not among the request's matches."))
        db.session.add(SupplierShortlist(request_id=request.id, company_id=company_id, created_by_id=actor.id))
    elif not on and entry is not None:
        db.session.delete(entry)
    db.session.commit()
    return on


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
