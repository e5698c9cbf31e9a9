"""Matching services: compute a request's or a product's matches, keep ``matches`` in step, read them.

- A request's **keywords** are chosen when it is (re)computed, against the product index as it is
  then (``SearchIndex.keywords``: TF-IDF on the product index's document frequencies, procurement
  stop list), and kept in ``match_profiles`` (stamped in the order of writes: ``demand.next_stamp``).
  ``recompute_all(refresh=True)`` (``flask match recompute --all``: after a rebuild or a dictionary
  change, and nightly) chooses them again.
- **Request side** (``rank_products``): every product holding a keyword (``similar_candidates``, read
  from the index's postings and columns) is scored by ``scoring.fit`` best coverage first, stopping
  once no remaining product can reach the current K-th score: exact top ``MATCHES_PER_REQUEST``.
- **Product side** (``recompute_product``): the requests the product may match come from the in-memory
  demand (``demand.Demand.find``: exact presence, coverage and relevance in one pass) and are scored with the
  same ``fit`` from the product's database record when their list has room or the product's ceiling beats
  its last place (``match_profiles`` keeps each list's count and last place); a full list that loses the
  product, or sees it fall, refills that place (``_refill``: its next best may come in).
- ``matches`` is therefore a pure function of the requests, products and keywords: recomputing every
  request from scratch gives the same rows (tested after random change sequences).
- Reads: ``suppliers_for_request`` (best product per exporter), ``requests_for_product``,
  ``opportunities`` (an exporter's 商机), ``explain_pair`` ("why not" included). Deadlines are filtered
  when reading; who may see what is the sourcing and catalog rules.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from marketplace.catalog.models import Product
from marketplace.database import UTCDateTime, utcnow
from marketplace.errors import NotFound
from marketplace.i18n import _l, today_in_china
from marketplace.matching import demand, scoring
from marketplace.matching.models import ArchivedMatch, Match, MatchProfile
from marketplace.matching.profiles import (
    current_profile,
    effective_hs,
    index_generation,
    product_facts,
    record_terms,
    request_profile,
)
from marketplace.matching.ranking import Ranked, is_matchable, rank_neighbours, rank_products
from marketplace.matching.scoring import (
    MATCHES_PER_REQUEST,
    MIN_RELEVANCE,
    NEIGHBOURS_UP_TO,
    Fit,
    fit,
)
from marketplace.sourcing.models import ProcurementRequest
from marketplace.sourcing.states import RequestState
from search_index import ProductRecord, presence_in, schemas

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
    _write_places(session, {request.id: _place_of((int(round(r.fit.score * 10)), r.product_id) for r in ranked)})
    return added, removed


#: a request's list: (how many matches, the last place's score ×10, the last place's product id)
Place = tuple[int, int, int]


def _place_of(pairs: Iterable[tuple[int, int]]) -> Place:
    """The place of a list of (score ×10, product id): the last is the lowest score, of those the highest id."""
    count, last = 0, (0, 0)
    for score, product_id in pairs:
        if not count or (score, -product_id) < (last[0], -last[1]):
            last = (score, product_id)
        count += 1
    return count, last[0], last[1]


def _write_places(session: Session, places: dict[int, Place]) -> None:
    """Store places on the requests' profiles. Always this UPDATE, never the ORM objects' attributes: the
    identity map is not synchronized (scanning it cost ~1 ms a call), so a loaded profile's place is stale and
    setting it through the object could compare equal to the stale value and write nothing."""
    if places:
        session.execute(sa.update(MatchProfile).execution_options(synchronize_session=False), [
            {"request_id": request_id, "match_count": count, "last_score": score, "last_product_id": product_id}
            for request_id, (count, score, product_id) in places.items()])


def _count_places(session: Session, request_ids: Iterable[int]) -> dict[int, Place]:
    """Request id → its place counted from ``matches``."""
    ids = sorted(request_ids)
    pairs: dict[int, list[tuple[int, int]]] = {request_id: [] for request_id in ids}
    for start in range(0, len(ids), 500):
        for request_id, score, product_id in session.execute(
                sa.select(Match.request_id, Match.score_x10, Match.product_id)
                .where(Match.request_id.in_(ids[start:start + 500]))):
            pairs[request_id].append((score, product_id))
    return {request_id: _place_of(found) for request_id, found in pairs.items()}


def store_places(session: Session, request_ids: Iterable[int]) -> None:
    """Count these requests' lists again into their profiles (after matches were added, removed or rescored)."""
    _write_places(session, _count_places(session, request_ids))


def _places(session: Session, request_ids: Iterable[int]) -> dict[int, Place]:
    """Request id → its place, for those of ``request_ids`` with a stored profile (a closed request's is deleted);
    counted from ``matches`` (and stored) where the profile does not know it yet."""
    ids = sorted(request_ids)
    out: dict[int, Place] = {}
    unknown: list[int] = []
    for start in range(0, len(ids), 500):
        for request_id, count, score, product_id in session.execute(
                sa.select(MatchProfile.request_id, MatchProfile.match_count, MatchProfile.last_score,
                          MatchProfile.last_product_id).where(MatchProfile.request_id.in_(ids[start:start + 500]))):
            if count is None:
                unknown.append(request_id)
            else:
                out[request_id] = (count, score or 0, product_id or 0)
    if unknown:
        store_places(session, unknown)
        out.update(_count_places(session, unknown))
    return out


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
        session.execute(sa.delete(MatchProfile).where(MatchProfile.request_id == request_id))
        return 0, removed
    if request.session_id is not None:  # open again: its matches are live, not archived
        session.execute(sa.delete(ArchivedMatch).where(ArchivedMatch.request_id == request_id))
    profile = request_profile(session, request, refresh=refresh)
    return _write_request_matches(session, request, request_list(request, profile), index_generation())


def fill_to() -> int:
    """Lists shorter than this take neighbours up to it: ``NEIGHBOURS_UP_TO``, and always below
    ``MATCHES_PER_REQUEST`` (a full list holds matches only, which its refill relies on)."""
    return max(0, min(NEIGHBOURS_UP_TO, MATCHES_PER_REQUEST - 1))


def request_list(request: ProcurementRequest, profile) -> list[Ranked]:
    """A request's whole list, in the order its page shows it (score, then product id): its best
    ``MATCHES_PER_REQUEST`` matches and, when they are fewer than ``NEIGHBOURS_UP_TO``, its best neighbours up to
    that many (exact, from the request's side)."""
    ranked = rank_products(request, profile.keywords, limit=MATCHES_PER_REQUEST, inferred=profile.category,
                           inferred_hs=profile.hs)
    if len(ranked) < fill_to():
        ranked += rank_neighbours(request, profile.keywords, fill_to() - len(ranked), inferred=profile.category,
                                  inferred_hs=profile.hs, leave_out=frozenset(r.product_id for r in ranked))
        ranked.sort(key=lambda r: (-int(round(r.fit.score * 10)), r.product_id))
    return ranked


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


#: the request columns a request's facts are made of (and whether it is matchable)
FACT_COLUMNS = (
    ProcurementRequest.id, ProcurementRequest.version, ProcurementRequest.state, ProcurementRequest.deadline,
    ProcurementRequest.buyer_company_id, ProcurementRequest.quantity, ProcurementRequest.category,
    ProcurementRequest.hs_code, ProcurementRequest.delivery_province_code, ProcurementRequest.delivery_city_code,
    ProcurementRequest.target_unit_price_fen, ProcurementRequest.required_certifications,
    ProcurementRequest.required_readiness, ProcurementRequest.must_requirements,
)


def _demand_candidates(session: Session, product, title_terms: set[str], text_terms: set[str],
                       existing: Iterable[int]) -> dict[int, tuple[demand.Entry, float, np.ndarray]]:
    """Request id → (its demand entry, the product's coverage of its keywords, its presence row) for the requests
    the product may match (``demand.Demand.find``) and those it matches now; a request missing here has no
    stored profile of an open request, or its deadline passed. (A request closed since the demand was built
    is still there: its profile is gone, which the caller's ``_places`` finds.)"""
    base, masked, overlay = demand.current(session)
    today = schemas.date_key(today_in_china())
    out: dict[int, tuple[demand.Entry, float, np.ndarray]] = {}
    found = [base.find(product, title_terms, text_terms, today, masked),
             overlay.find(product, title_terms, text_terms, today)]
    for held in found:
        for row, coverage in zip(held.rows.tolist(), held.coverage.tolist(), strict=True):
            out[held.demand.entries[row].facts.id] = (held.demand.entries[row], coverage, held.presence(row))
    for request_id in existing:  # scored again whatever the bounds say (it may leave the list)
        if request_id in out:
            continue
        for held, mask in ((found[0], masked), (found[1], None)):
            row = held.demand.row_of.get(request_id)
            if row is not None and (mask is None or not mask[row]) and held.demand.deadline[row] >= today:
                out[request_id] = (held.demand.entries[row], 1.0, held.presence(row))
    # the short lists of its category, whose similar goods it may join (few where the catalog is large)
    short = _short_lists(session, product)
    for held, mask in ((found[0], masked), (found[1], None)):
        for row in held.demand.of_category(product, short, today, mask).tolist():
            entry = held.demand.entries[row]
            out.setdefault(entry.facts.id, (entry, 1.0, held.presence(row)))
    return out


def _short_lists(session: Session, product) -> np.ndarray:
    """The requests (sorted ids) whose list is shorter than ``NEIGHBOURS_UP_TO`` or just that long (or not counted
    yet): a product of their category may be among their neighbours (none for a product without a category)."""
    if not product.category or product.category == "other":
        return np.zeros(0, dtype=np.int64)
    return np.array(sorted(session.scalars(sa.select(MatchProfile.request_id).where(sa.or_(
        MatchProfile.match_count <= fill_to(), MatchProfile.match_count.is_(None))))), dtype=np.int64)


def recompute_product(session: Session, product_id: int) -> tuple[int, int]:
    """Recompute one product's matches from its side: (added, removed). Requests that lose the product
    or a place in their list, or see it fall, are recomputed from their side (their next best may come in)."""
    record = _product_record(session, product_id)
    existing = {m.request_id: m for m in session.scalars(sa.select(Match).where(Match.product_id == product_id))}
    refill: set[int] = set()
    added = removed = 0
    now = utcnow()
    if record is None:
        places = _places(session, existing)
        session.execute(sa.delete(Match).where(Match.product_id == product_id))
        full = {i for i in existing if places.get(i, (0, 0, 0))[0] >= MATCHES_PER_REQUEST}
        # a list of exactly NEIGHBOURS_UP_TO may take a neighbour in the place (a shorter one listed every one)
        settle = {i for i in existing if places.get(i, (0, 0, 0))[0] == fill_to()}
        store_places(session, set(existing) - full - settle)
        for request_id in sorted(full):
            more, fewer = _refill(session, request_id, product_id)
            added += more
            removed += fewer
        for request_id in sorted(settle):
            more, fewer = recompute_request(session, request_id, refresh=False)
            added += more
            removed += fewer
        return added, removed + len(existing)
    generation = index_generation()
    title_terms, text_terms = record_terms(record)
    product = product_facts(record)
    found = _demand_candidates(session, product, title_terms, text_terms, existing)
    places = _places(session, found)  # and whether the profile is still stored: a closed request's is gone
    # a request matched now but missing from the demand (closed, or never given a profile) is recomputed from its side
    gone = set(existing) - set(places)
    refill.update(gone - _expired(session, gone))
    changed: set[int] = set()  # requests whose list gained, lost or rescored a member: their places are counted again
    # lists of exactly NEIGHBOURS_UP_TO the product enters, leaves or moves in: listed again from their side (it
    # may take or give a neighbour's place); a shorter list lists every neighbour, a longer one none
    settle: set[int] = set()
    for request_id in sorted(places):
        entry, coverage, presence = found[request_id]
        facts = entry.facts
        match = existing.get(request_id)
        count, low, last_product = places[request_id]
        full = count >= MATCHES_PER_REQUEST
        # a full list takes the product only above its last place: skip those its best possible score cannot reach
        if match is None and full and scoring.ceiling(facts, coverage) + 0.05 < low / 10:
            continue
        result = fit(facts, product, presence)
        score = int(round(result.score * 10))
        # listed as before: a match still a match, or a neighbour still a neighbour, at the same score (its place
        # in the list is the same: nothing to list again, whatever the list's length)
        as_before = match is not None and score == match.score_x10 and (
            result.neighbour and not result.matches if scoring.is_neighbour(match.parts) else result.matches)
        if count == fill_to() and (match is not None or result.matches or result.neighbour) and not as_before:
            if match is None and not result.matches and (-score, product_id) > (-low, last_product):
                continue  # a neighbour below the last place: below every listed neighbour too
            settle.add(request_id)
            continue
        if not (result.matches or (result.neighbour and (count < fill_to() or as_before))):
            if match is not None:
                session.delete(match)
                removed += 1
                changed.add(request_id)
                if full:
                    refill.add(request_id)
            continue
        if match is not None:
            if score != match.score_x10:
                changed.add(request_id)
                if score < match.score_x10 and full:
                    refill.add(request_id)
            _fill(match, product.company_id, result, generation, now)
            continue
        if full:
            if (-score, product_id) > (-low, last_product):
                continue  # not among the request's best
            session.execute(sa.delete(Match).where(Match.request_id == request_id,
                                                   Match.product_id == last_product))
            removed += 1
        new = Match(request_id=request_id, product_id=product_id, buyer_id=facts.buyer_id,
                    first_seen_at=now, buyer_notified=False, exporter_notified=False)
        _fill(new, product.company_id, result, generation, now)
        session.add(new)
        added += 1
        changed.add(request_id)
    session.flush()
    store_places(session, changed - refill)
    for request_id in sorted(refill):
        more, fewer = _refill(session, request_id, product_id)
        added += more
        removed += fewer
    for request_id in sorted(settle):
        more, fewer = recompute_request(session, request_id, refresh=False)
        added += more
        removed += fewer
    return added, removed


def _refill(session: Session, request_id: int, product_id: int) -> tuple[int, int]:
    """A full list lost ``product_id`` or saw it fall: its other members stay (nothing else of theirs changed),
    and the place in question goes to the best product outside them — ``product_id`` itself when it still
    ranks first (``rank_products`` with the others left out, exact). A request that is no longer matchable or
    has no stored profile is recomputed from its side. (added, removed)"""
    request = session.get(ProcurementRequest, request_id)
    stored = session.get(MatchProfile, request_id)
    if request is None or stored is None or not is_matchable(request):
        return recompute_request(session, request_id, refresh=False)
    members = set(session.scalars(sa.select(Match.product_id).where(Match.request_id == request_id)))
    others = members - {product_id}
    profile = current_profile(session, request)  # the stored one (checked above)
    ranked = rank_products(request, profile.keywords, limit=max(0, MATCHES_PER_REQUEST - len(others)),
                           inferred=profile.category, inferred_hs=profile.hs, leave_out=frozenset(others))
    chosen = {item.product_id for item in ranked}
    added = removed = 0
    if product_id in members and product_id not in chosen:
        session.execute(sa.delete(Match).where(Match.request_id == request_id, Match.product_id == product_id))
        removed += 1
    generation, now = index_generation(), utcnow()
    for item in ranked:
        if item.product_id in members:
            continue  # ``product_id``, already scored by its own side
        new = Match(request_id=request_id, product_id=item.product_id, buyer_id=request.buyer_company_id,
                    first_seen_at=now, buyer_notified=False, exporter_notified=False)
        _fill(new, item.company_id, item.fit, generation, now)
        session.add(new)
        added += 1
    session.flush()
    last = session.execute(sa.select(Match.score_x10, Match.product_id).where(Match.request_id == request_id)
                           .order_by(Match.score_x10.asc(), Match.product_id.desc()).limit(1)).first()
    _write_places(session, {request_id: (len(others) + len(ranked), *(last or (0, 0)))})
    return added, removed


def _expired(session: Session, request_ids: set[int]) -> set[int]:
    """Those of ``request_ids`` still open but past their deadline (their matches are filtered when read)."""
    if not request_ids:
        return set()
    return set(session.scalars(sa.select(ProcurementRequest.id).where(
        ProcurementRequest.id.in_(sorted(request_ids)), ProcurementRequest.state == RequestState.OPEN,
        ProcurementRequest.deadline < today_in_china())))


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
    session.execute(sa.update(MatchProfile).where(MatchProfile.request_id.not_in(ids) if ids else sa.true())
                    .execution_options(synchronize_session=False)
                    .values(match_count=0, last_score=0, last_product_id=0))  # their lists are empty now
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
    # (an HS heading alone still finds the goods; a category inferred from its goods words, similar goods)
    if not keywords and len(effective_hs(request, profile)) < 4 and not profile.category:
        return Explanation(request, product, None, "no_keywords")
    title_terms, text_terms = record_terms(record)
    result = fit(profile.facts(request), product_facts(record),
                 presence_in(keywords, title_terms, text_terms))
    if result.matches:
        why = None
    elif result.neighbour:  # listed as similar goods only while the request's list is short
        why = "neighbour"
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
