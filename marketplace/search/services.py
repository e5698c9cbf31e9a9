"""Search services: the one code path behind the search pages and ``flask search products``.

Owns: checking search parameters (clear messages, never an exception for odd input), running
the product search through ``search_index``, loading the found products from the database
(visibility is checked again there: the index may lag a moment behind), labelling facets, and
the exporter search (one pass of the engine over the products grouped by company: companies whose
names match first, then by how many of their products match).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from babel.lists import format_list
from markupsafe import Markup
from sqlalchemy.orm import selectinload

from marketplace.accounts.models import Company, Verification
from marketplace.catalog import hs
from marketplace.catalog.categories import CATEGORY_BY_CODE, CERTIFICATION_CODES, CERTIFICATION_KINDS
from marketplace.catalog.models import Product
from marketplace.catalog.services import is_publicly_visible
from marketplace.extensions import db
from marketplace.i18n import _, _l, current_locale_code, format_number
from marketplace.regions import city as city_region
from marketplace.regions import province as province_region
from marketplace.search.sync import get_index
from search_index import Filters, SearchQuery, SearchResults
from search_index.engine import MAX_PAGE, NOTICE_PAGE_CLAMPED, NOTICE_RELAXED, NOTICE_WIDENED
from search_index.highlight import highlight
from search_index.query import (
    MAX_QUERY_CHARS,
    NOTICE_NO_WORDS,
    NOTICE_ONLY_EXCLUSIONS,
    NOTICE_OPERATORS_IGNORED,
    NOTICE_TOO_MANY_WORDS,
    NOTICE_TRUNCATED,
)

PER_PAGE = 20
EXPORTERS_PER_PAGE = 20
#: products shown under each exporter found
EXPORTER_TOP_PRODUCTS = 3
SORT_LABELS = {
    "relevance": _l("Best match"),
    "price_asc": _l("Price: low to high"),
    "price_desc": _l("Price: high to low"),
    "newest": _l("Newest"),
}
#: the request board's sorts
REQUEST_SORT_LABELS = {
    "relevance": _l("Best match"),
    "newest": _l("Newest"),
    "deadline": _l("Deadline: soonest first"),
    "quantity": _l("Quantity: largest first"),
}
#: the most a price filter may say, in yuan (a typo guard, not a business rule)
MAX_PRICE_YUAN = Decimal("100000000")
MAX_QUANTITY = 10**9

NOTICE_MESSAGES = {
    NOTICE_TRUNCATED: _l("Your search was long: only its first %(n)d characters were used.", n=MAX_QUERY_CHARS),
    NOTICE_OPERATORS_IGNORED: _l("AND, OR and NOT need words around them; they were ignored."),
    NOTICE_TOO_MANY_WORDS: _l("Your search had many words: only the first 12 were used."),
    NOTICE_ONLY_EXCLUSIONS: _l("Only excluded words were given: showing everything else."),
    NOTICE_NO_WORDS: _l("Your search had no words to look for (signs like * and ? are not used): showing all products."),
    NOTICE_RELAXED: _l("No product matches every word: showing products that match all but one."),
    NOTICE_PAGE_CLAMPED: _l("That page does not exist: showing the last page."),
}


def _notices(results) -> list[str]:
    """The messages of an engine answer's notices, in the viewer's language."""
    messages = []
    for code in results.notices:
        if code == NOTICE_WIDENED and getattr(results, "widened", ()):
            words = format_list([f"“{word}”" for word in results.widened], locale=current_locale_code())
            messages.append(_("Also showing results for %(words)s.", words=words))
        elif code in NOTICE_MESSAGES:
            messages.append(str(NOTICE_MESSAGES[code]))
    return messages


@dataclass
class SearchParams:
    """A checked search: what the page and the command line both pass to ``search_products``."""

    text: str = ""
    filters: Filters = field(default_factory=Filters)
    sort: str = "relevance"
    page: int = 1
    per_page: int = PER_PAGE

    def query(self, facets: bool = True) -> SearchQuery:
        """The engine's request."""
        return SearchQuery(text=self.text, filters=self.filters, sort=self.sort, page=self.page,
                           per_page=self.per_page, facets=facets)


@dataclass
class FoundProduct:
    """A result row: the product and its highlighted title and snippet (safe HTML)."""

    product: Product
    score: float
    title_html: Markup
    snippet_html: Markup | None


@dataclass
class FacetValue:
    """One value of a facet with its count and label."""

    value: str
    label: str
    count: int


@dataclass
class ProductSearch:
    """Everything a results page shows."""

    params: SearchParams
    results: SearchResults | None
    items: list[FoundProduct]
    facets: dict[str, list[FacetValue]]
    errors: list[str]
    notices: list[str]

    @property
    def total(self) -> int:
        return self.results.total if self.results else 0

    @property
    def page(self) -> int:
        return self.results.page if self.results else 1

    @property
    def pages(self) -> int:
        return self.results.pages if self.results else 1

    @property
    def suggestion(self) -> str | None:
        return self.results.suggestion if self.results else None


# ----------------------------------------------------------------------------- parameters


def _yuan_to_fen(raw, label, errors: list[str]) -> int | None:
    raw = (raw or "").strip().replace(",", "").replace("，", "").lstrip("¥￥")
    if not raw:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        errors.append(_("%(field)s must be an amount in yuan, like 25 or 25.50.", field=label))
        return None
    if not value.is_finite() or value < 0 or value > MAX_PRICE_YUAN:
        errors.append(_("%(field)s must be between 0 and 100,000,000 yuan.", field=label))
        return None
    return int((value * 100).to_integral_value())


def _whole(raw, label, errors: list[str], low: int = 1, high: int = MAX_QUANTITY) -> int | None:
    raw = (raw or "").strip().replace(",", "")
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        errors.append(_("%(field)s must be a whole number.", field=label))
        return None
    if not low <= value <= high:
        errors.append(_("%(field)s must be between %(low)s and %(high)s.", field=label, low=format_number(low),
                        high=format_number(high)))
        return None
    return value


def _flag(raw) -> bool | None:
    return True if (raw or "").strip().lower() in {"1", "true", "yes", "on", "y"} else None


def _place_and_kind(args, errors: list[str]) -> dict:
    """The filters both products and requests take: category, HS prefix, province, city, certification."""
    category = (args.get("category") or "").strip() or None
    if category and category not in CATEGORY_BY_CODE:
        errors.append(_("Unknown category."))
        category = None
    hs_prefix = "".join(ch for ch in (args.get("hs") or "") if ch.isdigit())[:10] or None
    if (args.get("hs") or "").strip() and not hs_prefix:
        errors.append(_("An HS code has digits only, like 85 or 8516."))
    province = (args.get("province") or "").strip() or None
    if province and province_region(province) is None:
        errors.append(_("Unknown province."))
        province = None
    city = (args.get("city") or "").strip() or None
    if city and city_region(city) is None:
        errors.append(_("Unknown city."))
        city = None
    cert = (args.get("cert") or "").strip().upper() or None
    if cert and cert not in CERTIFICATION_CODES:
        errors.append(_("Unknown certification."))
        cert = None
    return {"category": category, "hs_prefix": hs_prefix, "province": province, "city": city, "certification": cert}


def _page_and_sort(args, sort_labels: dict, errors: list[str]) -> tuple[int, str]:
    sort = (args.get("sort") or "relevance").strip()
    if sort not in sort_labels:
        errors.append(_("Unknown sort order; sorted by best match."))
        sort = "relevance"
    raw_page = (args.get("page") or "").strip()
    page = 1
    if raw_page:
        if raw_page.isdigit() and int(raw_page) >= 1:
            page = min(int(raw_page), MAX_PAGE)  # past the last page the engine shows the last one
        else:
            errors.append(_("Pages are numbered from 1; showing the first page."))
    return page, sort


def parse_params(args) -> tuple[SearchParams, list[str]]:
    """Check search parameters from a query string (or the command line's options).

    Bad values are dropped with a message each; the rest of the search still runs.
    """
    errors: list[str] = []
    text = (args.get("q") or "").strip()
    common = _place_and_kind(args, errors)
    price_min = _yuan_to_fen(args.get("price_min"), _("Lowest price"), errors)
    price_max = _yuan_to_fen(args.get("price_max"), _("Highest price"), errors)
    if price_min is not None and price_max is not None and price_min > price_max:
        errors.append(_("The lowest price is above the highest price; the price range was not applied."))
        price_min = price_max = None
    moq_max = _whole(args.get("quantity"), _("Quantity"), errors)
    page, sort = _page_and_sort(args, SORT_LABELS, errors)
    filters = Filters(
        **common,
        price_min_fen=price_min, price_max_fen=price_max, moq_max=moq_max,
        tariff_hit=_flag(args.get("tariff_hit")), domestic_ready=_flag(args.get("domestic_ready")),
        verified=_flag(args.get("verified")), company_id=None,
    )
    return SearchParams(text=text, filters=filters, sort=sort, page=page), errors


def parse_request_params(args, today: date) -> tuple[SearchParams, list[str]]:
    """Check the request board's parameters (words, category, HS, province, certification, quantity range,
    "quotes due by", sort, page); every search keeps only requests whose deadline is ``today`` or later."""
    errors: list[str] = []
    text = (args.get("q") or "").strip()
    common = _place_and_kind(args, errors)
    quantity_min = _whole(args.get("qty_min"), _("Smallest quantity"), errors)
    quantity_max = _whole(args.get("qty_max"), _("Largest quantity"), errors)
    if quantity_min is not None and quantity_max is not None and quantity_min > quantity_max:
        errors.append(_("The smallest quantity is above the largest; the quantity range was not applied."))
        quantity_min = quantity_max = None
    due_by = None
    raw_due = (args.get("due_by") or "").strip()
    if raw_due:
        try:
            due_by = date.fromisoformat(raw_due)
        except ValueError:
            errors.append(_("The deadline must be a date like 2026-12-31."))
        else:
            if due_by < today:
                errors.append(_("That day has passed: choose today or a later day."))
                due_by = None
    page, sort = _page_and_sort(args, REQUEST_SORT_LABELS, errors)
    filters = Filters(**common, quantity_min=quantity_min, quantity_max=quantity_max, deadline_from=today,
                      deadline_to=due_by)
    return SearchParams(text=text, filters=filters, sort=sort, page=page), errors


def search_requests_index(params: SearchParams, facets: bool = True) -> tuple[SearchResults, dict, list[str]]:
    """Run a search of the public request index: (results, labelled facets, notices in the viewer's language)."""
    results = get_index("requests").search(params.query(facets=facets))
    return results, _label_facets(results.facets), _notices(results)


def highlighted(text: str | None, terms: frozenset, maxchars: int | None = None) -> Markup | None:
    """``text`` with the matched words marked (safe HTML), cut to ``maxchars`` when given; None for no text."""
    if not text:
        return None
    if terms:
        marked = highlight(text, set(terms), maxchars=maxchars) if maxchars else highlight(text, set(terms))
        if marked:
            return Markup(marked)  # noqa: S704 - highlight() escapes all but its <mark> tags
    if maxchars and len(text) > maxchars:
        text = text[:maxchars] + "…"
    return Markup.escape(text)


# ----------------------------------------------------------------------------- products


def _visible(products: dict[int, Product], ids: list[int]) -> list[Product]:
    """The found products buyers may see, in the engine's order (the index may lag a moment behind)."""
    return [products[i] for i in ids if i in products and is_publicly_visible(products[i])]


def _snippet(product: Product, terms: frozenset, english: bool) -> Markup | None:
    texts = [product.description_en, product.description_zh] if english else [product.description_zh,
                                                                           product.description_en]
    for text in texts:
        if text and terms:
            marked = highlight(text, set(terms), maxchars=120)
            if marked:
                return Markup(marked)  # noqa: S704 - highlight() escapes all but its <mark> tags
    for text in texts:
        if text:
            cut = text[:120] + ("…" if len(text) > 120 else "")
            return Markup.escape(cut)
    return None


def _title_html(product: Product, terms: frozenset, english: bool) -> Markup:
    title = (product.title_en or product.title_zh) if english else product.title_zh
    if terms:
        marked = highlight(title, set(terms))
        if marked:
            return Markup(marked)  # noqa: S704 - highlight() escapes all but its <mark> tags
    return Markup.escape(title)


def _label_facets(facets: dict) -> dict[str, list[FacetValue]]:
    locale = current_locale_code()
    labelled: dict[str, list[FacetValue]] = {}
    for value, count in facets.get("category", []):
        category = CATEGORY_BY_CODE.get(value)
        labelled.setdefault("category", []).append(FacetValue(value, str(category.label) if category else value,
                                                              count))
    for value, count in facets.get("hs_chapter", []):
        entry = hs.lookup(value)
        label = f"{value} {entry.name(locale)}" if entry else value
        labelled.setdefault("hs", []).append(FacetValue(value, label, count))
    for value, count in facets.get("province", []):
        region = province_region(value)
        labelled.setdefault("province", []).append(FacetValue(value, region.name if region else value, count))
    cert_labels = dict(CERTIFICATION_KINDS)
    for value, count in facets.get("certs", []):
        labelled.setdefault("cert", []).append(FacetValue(value, str(cert_labels.get(value, value)), count))
    for name in ("tariff_hit", "domestic_ready", "verified"):
        for value, count in facets.get(name, []):
            labelled.setdefault(name, []).append(FacetValue(value, value, count))
    return labelled


def search_products(params: SearchParams, *, facets: bool = True, errors: list[str] | None = None) -> ProductSearch:
    """Search public products: the page's and the command line's one path."""
    errors = list(errors or [])
    results = get_index().search(params.query(facets=facets))
    ids = [hit.id for hit in results.hits]
    products = {}
    if ids:
        products = {p.id: p for p in db.session.scalars(
            sa.select(Product).where(Product.id.in_(ids)).options(
                selectinload(Product.company), selectinload(Product.price_tiers), selectinload(Product.images),
                selectinload(Product.certifications),
            ))}
    english = current_locale_code().startswith("en")
    scores = {hit.id: hit.score for hit in results.hits}
    items = [
        FoundProduct(product=p, score=scores[p.id], title_html=_title_html(p, results.terms, english),
                     snippet_html=_snippet(p, results.terms, english))
        for p in _visible(products, ids)
    ]
    return ProductSearch(params=params, results=results, items=items, facets=_label_facets(results.facets),
                         errors=errors, notices=_notices(results))


def search_storefront(company: Company, params: SearchParams) -> ProductSearch:
    """Search within one exporter's public products."""
    scoped = replace(params, filters=replace(params.filters, company_id=company.id))
    return search_products(scoped, facets=False)


# ----------------------------------------------------------------------------- exporters


@dataclass
class FoundExporter:
    """An exporter with how many of its products match, and its best-matching ones."""

    company: Company
    matches: int
    products: list[Product]
    #: the exporter's own name matches the search
    name_match: bool = False


@dataclass
class ExporterSearch:
    """A page of exporters."""

    params: SearchParams
    items: list[FoundExporter]
    total: int
    page: int
    pages: int
    errors: list[str]
    notices: list[str]
    suggestion: str | None


def search_exporters(params: SearchParams, errors: list[str] | None = None) -> ExporterSearch:
    """Exporters whose names or public products match: those named by the search first, then by matching products.

    One pass of the engine finds the page of exporters with the ids of each one's best three products;
    a few queries load those exporters (with their tags) and products (with their price tiers): the page
    shows both, and loading them one by one cost 80 queries a page.
    """
    results = get_index().search_companies(
        SearchQuery(text=params.text, filters=params.filters, page=params.page, per_page=EXPORTERS_PER_PAGE,
                    highlight=False),
        per_company=EXPORTER_TOP_PRODUCTS)
    company_ids = [found.company_id for found in results.companies]
    companies = {c.id: c for c in db.session.scalars(
        sa.select(Company).where(Company.id.in_(company_ids), Company.verification == Verification.VERIFIED)
        .options(selectinload(Company.tags))
    )} if company_ids else {}
    top_ids = {found.company_id: [hit.id for hit in found.hits] for found in results.companies}
    wanted = [pid for company_id in companies for pid in top_ids[company_id]]
    products = {p.id: p for p in db.session.scalars(
        sa.select(Product).where(Product.id.in_(wanted)).options(
            selectinload(Product.company), selectinload(Product.price_tiers)))} if wanted else {}
    items = [
        FoundExporter(company=companies[found.company_id], matches=found.matches,
                      products=_visible(products, top_ids[found.company_id]), name_match=found.name_match)
        for found in results.companies if found.company_id in companies
    ]
    return ExporterSearch(params=params, items=items, total=results.total, page=results.page, pages=results.pages,
                          errors=list(errors or []), notices=_notices(results), suggestion=results.suggestion)


def result_as_dict(search: ProductSearch) -> dict:
    """The stable ``--json`` shape of ``flask search products``."""
    return {
        "query": search.params.text,
        "total": search.total,
        "page": search.page,
        "pages": search.pages,
        "suggestion": search.suggestion,
        "errors": search.errors,
        "notices": search.notices,
        "results": [
            {
                "id": item.product.id, "sku": item.product.sku, "title": item.product.title_zh,
                "title_en": item.product.title_en, "company": item.product.company.name_zh,
                "company_id": item.product.company_id, "category": item.product.category,
                "price_fen": item.product.base_price_fen, "moq": item.product.moq,
                "score": round(item.score, 4),
            }
            for item in search.items
        ],
        "facets": {name: [{"value": v.value, "label": v.label, "count": v.count} for v in values]
                   for name, values in search.facets.items()},
    }
