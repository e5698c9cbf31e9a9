"""The one canonical scoring function of a (request, product) pair: ``fit()``.

Whichever side changed — a request saved, a product edited, a page asking "why not" — the pair is
scored here, from plain facts: ``RequestFacts`` (the request and its keywords) and ``ProductFacts``
(read from the product index's columns, or from the database for one product; both carry the same
values), plus the product's *presence row* (which keywords its title or text holds). Pure: no
database, no Flask, no clock.

The score is out of 100: the points won over the points the request makes applicable, plus small
bonuses (tariff-hit exporter +2, 专精特新 +1), capped at 100:

=============  ====  =======================================================================
part           max   points
=============  ====  =======================================================================
text            55   55 × weighted share of the request's keywords held (title 1, text 0.7)
goods           15   same HS subheading 15, heading 12, chapter 9, same category 8 (when the
                     request names an HS code or a category other than "other", or they are
                     inferred from its title's goods words or the products its words find best:
                     ``profiles.choose_profile``)
region           6   same city 6, same province 4.5, neighbouring province 2.5, elsewhere 0
moq              5   MOQ ≤ requested quantity
price           10   unit price at the requested quantity ≤ target: 10, over by p %:
                     10 × (1 − p/30), unpriced 3 (when the request has a target)
certifications  10   share of the required certifications held and valid on the deadline
readiness        5   share of the required readiness items met
capacity         4   capacity or stock ≥ quantity 4, unknown 1.5, less 0
=============  ====  =======================================================================

Every shortfall is a *gap* (``{"code": …, arguments}``). The buyer marks requirements (``REQUIREMENTS``)
as musts: a gap of a must requirement excludes the pair (a filter); of any other only costs points (a
penalty). A pair matches when it is the right goods — text and classification earn at least
``MIN_RELEVANCE`` of their points — and no must excludes it: distance, price and terms rank the suppliers
of the right goods, they neither make nor unmake a match (a shortfall the buyer did not make a must lowers
the product in the list, with its gap shown; ``MIN_SCORE``, 0, is a floor an operator may raise). A product
of another classification than a classified request's (goods level "other") must hold at least
``OTHER_CLASS_COVERAGE`` of its words to be the right goods: a few shared words are then the request's
modifiers (家用, 多功能, 北欧 of 吊灯北欧简约), not its goods (``relevance_of``).

A product of the request's category (given, or inferred from its words) that is not the right goods by
that rule, and that no must excludes, is a **neighbour** (``Fit.neighbour``; ``parts["goods"]["neighbour"]``):
a request with fewer than ``NEIGHBOURS_UP_TO`` matches lists its best neighbours after them up to that many
(同类推荐: similar goods from suppliers of the same trade, where the words alone find too few). Their score has
no text points, so it stays below ``notify.NOTIFY_SCORE``: nobody is told of a neighbour.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from marketplace.regions import region_relation as _region_relation

#: a few hundred provinces × cities: the relation of a pair is computed once per process
region_relation = lru_cache(maxsize=65536)(_region_relation)

#: requirement codes a buyer may make musts (the request form's checkboxes)
REQUIREMENTS = ("category", "moq", "price", "certifications", "readiness", "region", "capacity")
#: musts of a new request unless the buyer says otherwise
DEFAULT_MUSTS = ("certifications",)
#: a pair scoring less is not a match: none by default (a nice requirement's gap is a penalty, never a filter;
#: at 25 the right goods with only nice gaps went unlisted — held-out-style same-category P@10 0.763 → 0.810)
MIN_SCORE = 0.0
#: matches kept per request (the best; ties by product id)
MATCHES_PER_REQUEST = 100
#: a request with fewer matches lists its best neighbours (same category, too few words) up to this many in all
#: (held-out-style same-category P@10 on the demo catalog 0.803 → 0.896: lists of 3–8 right products filled)
NEIGHBOURS_UP_TO = 10

TEXT_MAX, GOODS_MAX, REGION_MAX, MOQ_MAX, PRICE_MAX, CERTS_MAX, READINESS_MAX, CAPACITY_MAX = \
    55.0, 15.0, 6.0, 5.0, 10.0, 10.0, 5.0, 4.0
TEXT_ONLY_CREDIT = 0.7
GOODS_POINTS = {"subheading": 15.0, "heading": 12.0, "chapter": 9.0, "category": 8.0, "other": 0.0}
#: classification levels close enough to be the right goods without a shared word (取暖器 for 暖风机: both 8516.29)
SAME_GOODS_LEVELS = ("subheading", "heading")
REGION_POINTS = {"city": 6.0, "province": 4.5, "neighbour": 2.5, "elsewhere": 0.0, "unknown": 0.0}
#: price points reach 0 at this many percent over the target
PRICE_ZERO_AT_PCT = 30.0
UNPRICED_POINTS = 3.0
CAPACITY_UNKNOWN_POINTS = 1.5
BONUS_TARIFF_HIT = 2.0
BONUS_ZJTX = 1.0
#: the right goods: a pair matches only when its text and classification earn at least this share of
#: their points (logistics and terms rank the suppliers of the right goods; they never make a match)
MIN_RELEVANCE = 0.15
#: a product of another classification than a classified request's is the right goods only when it holds at least
#: this share of the request's words (by weight; title 1, text ``TEXT_ONLY_CREDIT``): fewer shared words are the
#: request's modifiers, not its goods (鞋柜家用大容量 is not an air fryer for 家用 and 大容量). Measured on
#: hand-written marketplace-style titles (tests/data/real_style_titles.json) same-category P@10 0.679 → 0.743,
#: on the demo's own titles 0.924 → 0.939, the labelled set unchanged (0.3: 0.73; 0.4: 0.740; 0.55: 0.745)
OTHER_CLASS_COVERAGE = 0.5


@dataclass(frozen=True)
class RequestFacts:
    """What scoring needs of a request."""

    id: int
    buyer_id: int
    quantity: int
    category: str = "other"
    hs_code: str = ""
    province: str = ""
    city: str = ""
    target_fen: int | None = None
    required_certifications: tuple[str, ...] = ()
    required_readiness: tuple[str, ...] = ()
    musts: frozenset[str] = frozenset()
    #: the deadline as YYYYMMDD: certificates must still be valid then
    deadline_key: int = 0
    #: the keywords' weights, in the order of presence rows
    weights: tuple[float, ...] = ()
    keyword_texts: tuple[str, ...] = ()
    #: its category was inferred from its words (by the category's typical goods words in its title, or by the
    #: products its words find): it names goods, keywords or not
    named_goods: bool = False

    @property
    def classified(self) -> bool:
        """The request names (or its words point to) an HS code or a category: the goods part applies."""
        return bool(self.hs_code or (self.category and self.category != "other"))


@dataclass(frozen=True)
class ProductFacts:
    """What scoring needs of a product (from the index's columns or the database: the same values)."""

    id: int
    company_id: int
    category: str = "other"
    hs_code: str = ""
    province: str = ""
    city: str = ""
    moq: int = 1
    #: (min quantity, unit price fen), lowest quantity first
    tiers: tuple[tuple[int, int], ...] = ()
    capacity: int | None = None
    readiness: frozenset[str] = frozenset()
    #: held, unexpired certifications → last valid day YYYYMMDD (0: open-ended)
    cert_until: dict = field(default_factory=dict)
    tariff_hit: bool = False
    zjtx: bool = False


@dataclass
class Fit:
    """A pair's score, its parts (points, maximum, details) and its gaps."""

    score: float
    parts: dict
    gaps: list
    coverage: float
    excluded: bool
    #: the share of the text and classification points earned (the right goods?)
    relevance: float = 0.0
    #: classified under the same HS subheading or heading as the request
    same_goods: bool = False

    @property
    def matches(self) -> bool:
        """Holds a keyword (or the same HS heading), is the right goods (``MIN_RELEVANCE``), no must excludes it
        (and scores ``MIN_SCORE``)."""
        return ((self.coverage > 0 or self.same_goods) and self.relevance >= MIN_RELEVANCE and not self.excluded
                and self.score >= MIN_SCORE)

    @property
    def neighbour(self) -> bool:
        """Not the goods the request's words ask for, but of its category, and no must excludes it (a similar
        product, listed while the request has fewer than ``NEIGHBOURS_UP_TO`` matches)."""
        return is_neighbour(self.parts) and not self.excluded and self.score >= MIN_SCORE

    @property
    def excluded_by(self) -> list[str]:
        """The requirements (must) that exclude the pair."""
        return sorted({gap["requirement"] for gap in self.gaps if gap.get("must")})


def is_neighbour(parts: dict) -> bool:
    """Whether a pair's parts mark it a neighbour (set by ``fit``; read back from a stored match's parts)."""
    return bool((parts.get("goods") or {}).get("neighbour"))


def coverage_of(weights: tuple[float, ...], presence) -> float:
    """Weighted share of the keywords held: title 1, elsewhere in the text ``TEXT_ONLY_CREDIT``."""
    total = sum(weights)
    if not total:
        return 0.0
    held = sum(w * (1.0 if p == 2 else TEXT_ONLY_CREDIT if p == 1 else 0.0)
               for w, p in zip(weights, presence, strict=True))
    return held / total


def price_at(tiers: tuple[tuple[int, int], ...], quantity: int) -> int | None:
    """The unit price (fen) for ``quantity``: the tier with the largest minimum at or below it (the
    first tier below the MOQ); None when unpriced."""
    if not tiers:
        return None
    price = tiers[0][1]
    for minimum, fen in tiers:
        if minimum <= quantity:
            price = fen
    return price


def goods_level(request: RequestFacts, product: ProductFacts) -> str:
    """subheading > heading > chapter > category > other: how close the product's classification is to the
    request's."""
    want, have = request.hs_code or "", product.hs_code or ""
    if len(want) >= 6 and len(have) >= 6 and want[:6] == have[:6]:
        return "subheading"
    if len(want) >= 4 and len(have) >= 4 and want[:4] == have[:4]:
        return "heading"
    if len(want) >= 2 and len(have) >= 2 and want[:2] == have[:2]:
        return "chapter"
    if request.category and request.category != "other" and request.category == product.category:
        return "category"
    return "other"


def max_points(request: RequestFacts) -> float:
    """The points the request makes applicable (the score's denominator)."""
    total = TEXT_MAX + REGION_MAX + MOQ_MAX + CAPACITY_MAX
    if request.classified:
        total += GOODS_MAX
    if request.target_fen is not None:
        total += PRICE_MAX
    if request.required_certifications:
        total += CERTS_MAX
    if request.required_readiness:
        total += READINESS_MAX
    return total



def ceiling(request: RequestFacts, coverage: float) -> float:
    """The highest score this request can give a product reaching ``coverage``: every other part at its most
    and both bonuses (at least every ``bounds`` of a product with that coverage)."""
    rest = max_points(request) - TEXT_MAX
    return min(100.0, 100.0 * (TEXT_MAX * coverage + rest) / max_points(request) + BONUS_TARIFF_HIT + BONUS_ZJTX)


def best_possible(coverage: float) -> float:
    """The highest score any request could give a product reaching ``coverage`` (every other part at its most,
    the largest denominator, both bonuses): what a product must beat to enter a full list."""
    largest = TEXT_MAX + GOODS_MAX + REGION_MAX + MOQ_MAX + PRICE_MAX + CERTS_MAX + READINESS_MAX + CAPACITY_MAX
    return min(100.0, 100.0 * (1 - TEXT_MAX * (1 - coverage) / largest) + BONUS_TARIFF_HIT + BONUS_ZJTX)



def fit(request: RequestFacts, product: ProductFacts, presence) -> Fit:
    """Score one pair. ``presence``: per keyword 2 (title), 1 (text) or 0, in ``request.weights`` order."""
    musts = request.musts
    parts: dict = {}
    gaps: list = []

    def gap(requirement: str, code: str, **args) -> None:
        gaps.append({"requirement": requirement, "code": code, "must": requirement in musts, **args})

    coverage = coverage_of(request.weights, presence)
    in_title = [k for k, p in zip(request.keyword_texts, presence, strict=True) if p == 2]
    in_text = [k for k, p in zip(request.keyword_texts, presence, strict=True) if p == 1]
    missing = [k for k, p in zip(request.keyword_texts, presence, strict=True) if not p]
    points = TEXT_MAX * coverage
    parts["text"] = {"points": round(points, 2), "max": TEXT_MAX, "title": in_title, "text": in_text,
                     "missing": missing[:5]}
    total = points
    level = "other"

    if request.classified:
        level = goods_level(request, product)
        parts["goods"] = {"points": GOODS_POINTS[level], "max": GOODS_MAX, "level": level,
                          "hs": product.hs_code or "", "category": product.category}
        total += GOODS_POINTS[level]
        if level == "other":
            gap("category", "other_category", category=product.category)

    relation = region_relation(request.province, request.city, product.province, product.city)
    parts["region"] = {"points": REGION_POINTS[relation], "max": REGION_MAX, "relation": relation,
                       "province": product.province or "", "city": product.city or ""}
    total += REGION_POINTS[relation]
    if relation not in ("city", "province") and "region" in musts:
        gap("region", "outside_province", province=product.province or "")

    moq_ok = product.moq <= request.quantity
    parts["moq"] = {"points": MOQ_MAX if moq_ok else 0.0, "max": MOQ_MAX, "moq": product.moq}
    total += parts["moq"]["points"]
    if not moq_ok:
        gap("moq", "moq_over", moq=product.moq, quantity=request.quantity)

    if request.target_fen is not None:
        price = price_at(product.tiers, request.quantity)
        if price is None:
            earned = UNPRICED_POINTS
            gap("price", "no_price")
        elif price <= request.target_fen:
            earned = PRICE_MAX
        else:
            pct = 100.0 * (price - request.target_fen) / max(request.target_fen, 1)
            earned = max(0.0, PRICE_MAX * (1 - pct / PRICE_ZERO_AT_PCT))
            gap("price", "price_over", price_fen=price, target_fen=request.target_fen, pct=round(pct))
        parts["price"] = {"points": round(earned, 2), "max": PRICE_MAX, "price_fen": price}
        total += earned

    if request.required_certifications:
        held = 0
        for code in request.required_certifications:
            until = product.cert_until.get(code)
            if until is None:
                gap("certifications", "cert_missing", cert=code)
            elif until and request.deadline_key and until < request.deadline_key:
                gap("certifications", "cert_expires", cert=code, until=until)
            else:
                held += 1
        earned = CERTS_MAX * held / len(request.required_certifications)
        parts["certifications"] = {"points": round(earned, 2), "max": CERTS_MAX, "held": held,
                                   "required": len(request.required_certifications)}
        total += earned

    if request.required_readiness:
        met = 0
        for code in request.required_readiness:
            if code in product.readiness:
                met += 1
            else:
                gap("readiness", "readiness_missing", item=code)
        earned = READINESS_MAX * met / len(request.required_readiness)
        parts["readiness"] = {"points": round(earned, 2), "max": READINESS_MAX, "met": met,
                              "required": len(request.required_readiness)}
        total += earned

    if product.capacity is None:
        earned = CAPACITY_UNKNOWN_POINTS
        if "capacity" in musts:
            gap("capacity", "capacity_unknown")
    elif product.capacity >= request.quantity:
        earned = CAPACITY_MAX
    else:
        earned = 0.0
        gap("capacity", "capacity_short", capacity=product.capacity, quantity=request.quantity)
    parts["capacity"] = {"points": earned, "max": CAPACITY_MAX, "capacity": product.capacity}
    total += earned

    bonus = (BONUS_TARIFF_HIT if product.tariff_hit else 0.0) + (BONUS_ZJTX if product.zjtx else 0.0)
    if bonus:
        parts["bonus"] = {"points": bonus, "tariff_hit": product.tariff_hit, "zjtx": product.zjtx}
    score = min(100.0, 100.0 * total / max_points(request) + bonus)
    excluded = any(g["must"] for g in gaps)
    relevance = relevance_of(request.classified, coverage, GOODS_POINTS[level])
    same_goods = level in SAME_GOODS_LEVELS
    if ((request.weights or request.named_goods) and not ((coverage > 0 or same_goods) and relevance >= MIN_RELEVANCE)
            and request.category and request.category != "other" and product.category == request.category):
        parts["goods"]["neighbour"] = True  # not the right goods, but of the trade of a request that names goods
    return Fit(score=round(score, 1), parts=parts, gaps=gaps, coverage=coverage, excluded=excluded,
               relevance=relevance, same_goods=same_goods)


def bounds(request: RequestFacts, coverage, goods, region, moq_ok, capacity_points, bonus, price=PRICE_MAX,
           certs=CERTS_MAX, readiness=READINESS_MAX):
    """Upper bounds of ``fit(...).score`` for many products at once (numpy arrays), exact for the parts the
    index's columns decide (text, goods, region, MOQ, capacity, bonuses, readiness) and at most what the
    others can be (price: from the lowest tier; certifications: those held today, valid or not on the
    deadline): candidates are scored best bound first until no bound reaches the last place."""
    import numpy as np

    total = TEXT_MAX * coverage + region + np.where(moq_ok, MOQ_MAX, 0.0) + capacity_points
    if request.classified:
        total = total + goods
    if request.target_fen is not None:
        total = total + price
    if request.required_certifications:
        total = total + certs
    if request.required_readiness:
        total = total + readiness
    return np.minimum(100.0, 100.0 * total / max_points(request) + bonus)


def relevance_of(classified: bool, coverage, goods):
    """The share of the text and classification points a product earns (``Fit.relevance``), for one product or
    many (numpy arrays): 0 for a product of another classification (``goods`` 0) holding less than
    ``OTHER_CLASS_COVERAGE`` of a classified request's words. Unclassified: the coverage."""
    if not classified:
        return coverage
    share = (TEXT_MAX * coverage + goods) / (TEXT_MAX + GOODS_MAX)
    modifiers_only = (goods <= 0) & (coverage < OTHER_CLASS_COVERAGE - 1e-9)
    if isinstance(share, float):
        return 0.0 if modifiers_only else share
    import numpy as np

    return np.where(modifiers_only, 0.0, share)


def relevance_bounds(request: RequestFacts, coverage, goods):
    """``fit(...).relevance`` for many products at once (exact: text and classification come from columns)."""
    return relevance_of(request.classified, coverage, goods)
