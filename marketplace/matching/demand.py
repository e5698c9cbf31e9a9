"""The open requests as the product side needs them, held in memory: a product change is one vectorized pass.

A product change must find the requests it may now enter (or leave). Read from SQL, that meant every
request one of the product's words named (the ``match_terms`` table, gone) — hundreds to thousands at 20,000 open
requests — with its profile and facts, then ``fit()`` for each: 0.7–1.1 s a product. ``Demand`` keeps,
per process, every stored profile's keyword terms as postings over *keyword slots* (a slot: one keyword
of one request, with its share of the request's weight) and the requests' facts, so a product is:

1. the keyword alternatives its title and text terms complete (all of an alternative's terms found) → each
   keyword slot's presence (title 2, text 1, as ``search_index.presence_in``) → per request its **exact
   coverage** (``bincount`` of share × credit),
2. per request the classification points the product earns (subheading / heading / chapter / category,
   from integer codes) → its exact ``Fit.relevance``; requests of which it cannot be the right goods
   (``MIN_RELEVANCE``), whose deadline passed, that it shares neither a word nor an HS heading with, or whose
   must certifications or MOQ it fails are dropped before anything is read,
3. the few left are scored with ``fit()`` by ``services.recompute_product``, after the ceiling test
   against their list's last place.

**Kept in step by stamps.** Every profile written gets the next value of the ``demand`` counter
(``match_counters``, incremented under its row lock, so stamps are handed out in commit order); the
in-memory demand is built from one committed snapshot and knows the counter it was built to. Each call
reads, in the caller's session, the profiles stamped after it (``stamp >`` its own: another process's
commits, and this transaction's own uncommitted writes) and scores those from the database as a small
*overlay* demand, masking their old rows; a request whose profile was deleted (closed) since is dropped
when its candidates are checked against ``match_profiles``. When the overlay passes ``REBUILD_AFTER``
requests the demand is built again from the committed state. A counter lower than the demand's (a
restored or emptied database) builds it again too.

**Out of the collector's sight.** At 20,000 requests the demand is some 215,000 Python objects (keywords, facts)
that live until the next build. Left in the garbage collector's oldest generation, every full collection walked
them with the rest of the heap, and a product's recompute that ran into one waited for it: at 100,000 products
and 20,000 requests (``bench.match_bench``, the process frozen after start-up as ``wsgi.py`` does) p50 42 ms but
p95 226 ms, each slow call a full-collection pause. A demand of ``FREEZE_FROM`` requests or more is therefore
frozen once built (``gc.freeze``, with everything else alive then): p95 42–53 ms over three runs, p50 30–32 ms.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from marketplace import freeze_long_lived_objects
from marketplace.database import reading_only
from marketplace.matching import scoring
from marketplace.matching.models import MatchCounter, MatchProfile
from marketplace.matching.scoring import MIN_RELEVANCE, TEXT_ONLY_CREDIT, ProductFacts, RequestFacts

#: the counter naming the order of profile writes
COUNTER = "demand"
#: profiles written since the demand was built that are read from the database per call before it is built
#: again (the catch-up that wrote them may still hold them uncommitted: no rebuild until the counter moved on)
REBUILD_AFTER = 256
#: a demand of this many requests or more is moved out of the garbage collector's full walks once built (below,
#: the walk is short and the full collection a build costs would be most of the build)
FREEZE_FROM = 2_000


def next_stamp(session: Session) -> int:
    """The next stamp of the ``demand`` counter (its row locked until the caller's transaction ends)."""
    value = session.execute(sa.update(MatchCounter).where(MatchCounter.name == COUNTER)
                            .values(value=MatchCounter.value + 1).returning(MatchCounter.value)).scalar()
    if value is None:  # first write of this database
        session.add(MatchCounter(name=COUNTER, value=1))
        session.flush()
        value = 1
    return int(value)


def counter(session: Session) -> int:
    """The ``demand`` counter as ``session`` sees it (0 before the first profile)."""
    return int(session.scalar(sa.select(MatchCounter.value).where(MatchCounter.name == COUNTER)) or 0)


@dataclass(frozen=True)
class Entry:
    """One request as the demand holds it."""

    facts: RequestFacts
    keywords: list


@dataclass
class Found:
    """The requests a product may match, at ``rows`` of a demand: the product's coverage of their keywords and
    which keywords it holds (``presence``)."""

    demand: Demand
    rows: np.ndarray
    coverage: np.ndarray
    #: per keyword slot of the demand: 2 held in the title, 1 in the text, 0 not held
    slot_presence: np.ndarray

    def presence(self, row: int) -> np.ndarray:
        """The presence row of the request at ``row`` (``search_index.presence_in``'s, for ``fit``)."""
        first = self.demand.first_slot[row]
        return self.slot_presence[first:first + len(self.demand.entries[row].keywords)]


class Demand:
    """Requests' keyword postings and classification as arrays (immutable once built).

    A keyword is held when all the terms of one of its alternatives are (in the title: presence 2; in the
    text: 1), as ``search_index.presence_in`` decides: the postings go from a term to the *alternatives* naming
    it; an alternative is held where as many of its terms are found as it has."""

    def __init__(self, entries: list[Entry], stamp: int):
        self.stamp = stamp
        self.entries = entries
        self.row_of = {entry.facts.id: row for row, entry in enumerate(entries)}
        postings: dict[str, list[int]] = {}
        classified: dict[str, list[int]] = {}
        alt_slot: list[int] = []
        alt_size: list[int] = []
        slot_row: list[int] = []
        slot_share: list[float] = []
        first_slot: list[int] = []
        for row, entry in enumerate(entries):
            keywords = entry.keywords
            total = sum(k.weight for k in keywords) or 1.0
            first_slot.append(len(slot_row))
            for keyword in keywords:
                slot = len(slot_row)
                slot_row.append(row)
                slot_share.append(keyword.weight / total)
                for alternative in keyword.alternatives:
                    terms = set(alternative)
                    if not terms:
                        continue
                    for term in terms:
                        postings.setdefault(term, []).append(len(alt_slot))
                    alt_slot.append(slot)
                    alt_size.append(len(terms))
            hs = entry.facts.hs_code
            if len(hs) >= 4:  # products of its HS heading are the same goods without a shared word
                classified.setdefault(hs[:4], []).append(row)
        self.postings = {term: np.array(alts, dtype=np.int32) for term, alts in postings.items()}
        self.classified_rows = {hs: np.array(rows, dtype=np.int32) for hs, rows in classified.items()}
        self.alt_slot = np.array(alt_slot, dtype=np.int32)
        self.alt_size = np.array(alt_size, dtype=np.int32)
        self.slot_row = np.array(slot_row, dtype=np.int32)
        self.slot_share = np.array(slot_share, dtype=np.float64)
        self.first_slot = np.array(first_slot, dtype=np.int64)
        facts = [entry.facts for entry in entries]
        self.codes: dict[str, int] = {}
        self.hs6 = self._coded([f.hs_code[:6] if len(f.hs_code) >= 6 else None for f in facts])
        self.hs4 = self._coded([f.hs_code[:4] if len(f.hs_code) >= 4 else None for f in facts])
        self.hs2 = self._coded([f.hs_code[:2] if len(f.hs_code) >= 2 else None for f in facts])
        self.category = self._coded([f.category if f.category and f.category != "other" else None for f in facts])
        self.classified = np.array([f.classified for f in facts], dtype=bool)
        self.deadline = np.array([f.deadline_key for f in facts], dtype=np.int64)
        # musts decided before fit(): certifications (each required one held and valid on the deadline) and MOQ
        self.cert_bit: dict[str, int] = {}
        for f in facts:
            for code in f.required_certifications:
                if len(self.cert_bit) < 63:
                    self.cert_bit.setdefault(code, len(self.cert_bit))
        self.required_certs = np.array([sum(1 << self.cert_bit[c] for c in f.required_certifications)
                                        for f in facts], dtype=np.uint64)
        self.must_certs = np.array([bool(f.required_certifications) and "certifications" in f.musts
                                    and all(c in self.cert_bit for c in f.required_certifications)
                                    for f in facts], dtype=bool)
        self.must_moq = np.array(["moq" in f.musts for f in facts], dtype=bool)
        self.quantity = np.array([f.quantity for f in facts], dtype=np.int64)
        #: it names goods (keywords, or a category inferred from its words): it may list similar goods
        self.named = np.array([bool(e.keywords) or e.facts.named_goods for e in entries], dtype=bool)
        ids = np.array([f.id for f in facts], dtype=np.int64)
        self.id_order = np.argsort(ids, kind="stable")
        self.sorted_ids = ids[self.id_order]

    def __len__(self) -> int:
        return len(self.entries)

    def _coded(self, values: list[str | None]) -> np.ndarray:
        """Each value's integer code (-1 for none); codes are shared by every column of this demand."""
        return np.array([-1 if v is None else self.codes.setdefault(v, len(self.codes)) for v in values],
                        dtype=np.int32)

    def _code(self, value: str | None) -> int:
        return -2 if value is None else self.codes.get(value, -2)  # -2: no request holds it

    def _held(self, terms: set[str]) -> np.ndarray:
        """The slots holding a keyword through ``terms`` (one of its alternatives has all its terms there)."""
        found = [self.postings[term] for term in terms if term in self.postings]
        if not found:
            return np.zeros(0, dtype=np.int32)
        alts, counts = np.unique(np.concatenate(found), return_counts=True)
        return self.alt_slot[alts[counts == self.alt_size[alts]]]

    def find(self, product: ProductFacts, title_terms: set[str], text_terms: set[str], today_key: int,
             masked: np.ndarray | None = None) -> Found:
        """The requests the product may match: it holds one of their keywords or shares their HS heading (or
        subheading), their deadline has not passed, and it is the right goods (``Fit.relevance`` reaches
        ``MIN_RELEVANCE``: text and classification are exact here). ``masked``: rows to leave out."""
        presence = np.zeros(len(self.slot_row), dtype=np.int8)
        presence[self._held(text_terms)] = 1
        presence[self._held(title_terms)] = 2
        held = np.flatnonzero(presence)
        hs = product.hs_code or ""
        by_class = [self.classified_rows[hs[:4]]] if len(hs) >= 4 and hs[:4] in self.classified_rows else []
        rows = np.unique(np.concatenate([self.slot_row[held], *by_class])) if len(held) or by_class \
            else np.zeros(0, dtype=np.int32)
        credit = np.where(presence[held] == 2, 1.0, TEXT_ONLY_CREDIT)
        coverage = np.bincount(self.slot_row[held], weights=self.slot_share[held] * credit,
                               minlength=len(self.entries))[rows] if len(rows) else np.zeros(0)
        coverage = np.minimum(coverage, 1.0)
        goods = self._goods_points(product, rows)
        relevance = np.where(self.classified[rows], scoring.relevance_of(True, coverage, goods), coverage)
        same_goods = self.classified[rows] & (goods >= scoring.GOODS_POINTS["heading"])
        keep = (relevance >= MIN_RELEVANCE - 1e-9) & ((coverage > 0) | same_goods) & (self.deadline[rows] >= today_key)
        if masked is not None:
            keep &= ~masked[rows]
        keep &= ~self._excluded(product, rows)
        return Found(self, rows[keep], coverage[keep], presence)

    def of_category(self, product: ProductFacts, request_ids: np.ndarray, today_key: int,
                    masked: np.ndarray | None = None) -> np.ndarray:
        """The rows of those of ``request_ids`` held here that the product may join as a neighbour: of its category,
        naming goods, before their deadline, no must the columns decide excluding it (``masked``: rows to leave
        out). For the short lists, whose similar goods it may be among."""
        code = self._code(product.category if product.category and product.category != "other" else None)
        if code < 0 or not len(request_ids) or not len(self.sorted_ids):
            return np.zeros(0, dtype=np.int64)
        at = np.minimum(np.searchsorted(self.sorted_ids, request_ids), len(self.sorted_ids) - 1)
        rows = self.id_order[at[self.sorted_ids[at] == request_ids]]
        keep = (self.category[rows] == code) & self.named[rows] & (self.deadline[rows] >= today_key)
        if masked is not None:
            keep &= ~masked[rows]
        rows = rows[keep]
        return rows[~self._excluded(product, rows)]

    def _excluded(self, product: ProductFacts, rows: np.ndarray) -> np.ndarray:
        """Which requests at ``rows`` a must requirement decided by the columns alone excludes the product from (a
        required certification missing or expiring before the deadline; MOQ over the quantity): ``fit`` says so
        too, with the gap."""
        out = self.must_moq[rows] & (product.moq > self.quantity[rows])
        certs = self.must_certs[rows]
        if certs.any():
            deadline = self.deadline[rows]
            held = np.zeros(len(rows), dtype=np.uint64)
            for code, until in product.cert_until.items():
                bit = self.cert_bit.get(code)
                if bit is not None:
                    valid = (until == 0) | (deadline == 0) | (deadline <= until)
                    held |= np.where(valid, np.uint64(1 << bit), np.uint64(0))
            out |= certs & ((self.required_certs[rows] & ~held) != 0)
        return out

    def _goods_points(self, product: ProductFacts, rows: np.ndarray) -> np.ndarray:
        """``GOODS_POINTS[goods_level(request, product)]`` for the requests at ``rows`` (0 when unclassified)."""
        hs = product.hs_code or ""
        points = np.zeros(len(rows))
        levels = ((self.category, product.category if product.category and product.category != "other" else None,
                   "category"),
                  (self.hs2, hs[:2] if len(hs) >= 2 else None, "chapter"),
                  (self.hs4, hs[:4] if len(hs) >= 4 else None, "heading"),
                  (self.hs6, hs[:6] if len(hs) >= 6 else None, "subheading"))
        for column, value, level in levels:  # lowest first: a closer level overwrites
            code = self._code(value)
            if code >= 0:
                points = np.where(column[rows] == code, scoring.GOODS_POINTS[level], points)
        return points


# ----------------------------------------------------------------------------- loading


def _entries(session: Session, where) -> list[Entry]:
    """The stored profiles ``where`` selects, of open requests, with their facts (id order)."""
    from marketplace.matching.profiles import Profile
    from marketplace.matching.services import FACT_COLUMNS
    from marketplace.sourcing.models import ProcurementRequest
    from marketplace.sourcing.states import RequestState

    rows = session.execute(
        sa.select(MatchProfile.keywords, *FACT_COLUMNS)
        .join(ProcurementRequest, ProcurementRequest.id == MatchProfile.request_id)
        .where(where, ProcurementRequest.state == RequestState.OPEN).order_by(ProcurementRequest.id))
    out = []
    for row in rows:
        profile = Profile.from_json(row.keywords)
        out.append(Entry(profile.facts(row), profile.keywords))
    return out


class _Holder:
    """One app's demand and the last view of it (threads of a process share it: each reads ``view`` once)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.demand: Demand | None = None
        #: (what it was made from, the demand, its masked rows, the overlay), replaced whole
        self.view: tuple | None = None
        #: the counter a rebuild was last tried at (no retry until it moved ``REBUILD_AFTER`` further)
        self.tried_at = -1


def _holder() -> _Holder:
    from flask import current_app

    return current_app.extensions.setdefault("rongtong_demand", _Holder())


def build(engine) -> Demand:
    """A demand of every committed profile of an open request, with the counter it was built to."""
    with reading_only(), Session(engine) as session:  # a read (SQLite: no write lock beside the caller's)
        stamp = counter(session)  # every stamp up to it is committed (handed out under the counter's row lock)
        entries = _entries(session, MatchProfile.stamp <= stamp)
    demand = Demand(entries, stamp)
    if len(entries) >= FREEZE_FROM:
        freeze_long_lived_objects()
    return demand


def _changed_since(session: Session, stamp: int) -> tuple:
    """(request id, stamp, computed at) of the profiles written after ``stamp`` as ``session`` sees them."""
    return tuple(sorted(tuple(row) for row in session.execute(  # sorted here: ORDER BY id would scan the table
        sa.select(MatchProfile.request_id, MatchProfile.stamp, MatchProfile.computed_at)
        .where(MatchProfile.stamp > stamp))))


def current(session: Session) -> tuple[Demand, np.ndarray, Demand]:
    """(the demand, a mask of its rows written again since, the overlay: the open requests among those, as
    ``session`` sees them)."""
    holder = _holder()
    now = counter(session)
    demand = holder.demand
    if demand is None or now < demand.stamp:
        with holder.lock:
            holder.demand = demand = build(session.get_bind())
    changed = _changed_since(session, demand.stamp)
    if len(changed) > REBUILD_AFTER and now >= holder.tried_at + REBUILD_AFTER:
        with holder.lock:
            holder.tried_at = now
            holder.demand = demand = build(session.get_bind())
        changed = _changed_since(session, demand.stamp)
    view = holder.view
    if view is None or view[1] is not demand or view[0] != changed:
        ids = [request_id for request_id, _stamp, _at in changed]
        entries = []
        for start in range(0, len(ids), 500):
            entries += _entries(session, MatchProfile.request_id.in_(ids[start:start + 500]))
        masked = np.zeros(len(demand), dtype=bool)
        masked[[demand.row_of[i] for i in ids if i in demand.row_of]] = True
        view = holder.view = (changed, demand, masked, Demand(entries, now))
    return view[1], view[2], view[3]
