"""Search pages: products (``/search/``), exporters (``/search/exporters``) and one exporter's products
(``/search/companies/<id>``, shown on its storefront), public to everyone; the request board's links.

Owns: reading the query string into a checked search (``services.parse_params``), calling one
search service, and the links of the page (facets, removable filter chips, "clear all",
pagination, did-you-mean, dropping a filter when nothing is found). Links are built from the
*checked* parameters, so a bad value reported once is not carried into every link.
No rule lives here; GET only, nothing is written.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user

from marketplace import regions
from marketplace.catalog.categories import CATEGORIES, CATEGORY_BY_CODE, CERTIFICATION_KINDS
from marketplace.i18n import _, format_money, format_number
from marketplace.search import services

logger = logging.getLogger(__name__)

bp = Blueprint("search", __name__)

#: searches offered on the empty page (Chinese and English, to show both work)
EXAMPLE_SEARCHES = ("电饭煲", "rice cooker", "空气炸锅", "电热水壶", "保温杯", "LED 灯")
#: the filters a buyer can switch on and off; the query-string name of each
FLAG_FILTERS = ("tariff_hit", "domestic_ready", "verified")
#: the query-string arguments of a search, in the order links write them
SEARCH_ARGS = ("q", "category", "hs", "province", "city", "cert", "price_min", "price_max", "quantity",
               *FLAG_FILTERS, "sort")
#: the most a search box shows of the words searched (the engine reads no more than this either)
MAX_BOX_CHARS = 200
#: pages shown either side of the current one in the pager
PAGER_SPAN = 2


def _flag_labels() -> dict[str, str]:
    return {
        "tariff_hit": _("Hit by foreign tariffs"),
        "domestic_ready": _("Ready for the domestic market"),
        "verified": _("专精特新 exporters (专精特新, 小巨人)"),
    }


def _yuan(fen: int) -> str:
    """Integer fen as the yuan a buyer types: 8900 → "89", 8950 → "89.5"."""
    return format(Decimal(fen) / 100, "f")


def clean_args(params: services.SearchParams) -> dict[str, str]:
    """The query string of a checked search (what every link of the page starts from)."""
    filters = params.filters
    args: dict[str, str] = {}
    if params.text:
        args["q"] = params.text[:MAX_BOX_CHARS]  # the engine reads no more; links stay short
    for name, value in (("category", filters.category), ("hs", filters.hs_prefix), ("province", filters.province),
                        ("city", filters.city), ("cert", filters.certification)):
        if value:
            args[name] = value
    if filters.price_min_fen is not None:
        args["price_min"] = _yuan(filters.price_min_fen)
    if filters.price_max_fen is not None:
        args["price_max"] = _yuan(filters.price_max_fen)
    if filters.moq_max is not None:
        args["quantity"] = str(filters.moq_max)
    for name in FLAG_FILTERS:
        if getattr(filters, name):
            args[name] = "1"
    if params.sort != "relevance":
        args["sort"] = params.sort
    return args


@dataclass
class Chip:
    """An active filter: what it says and the link that removes it."""

    name: str
    label: str
    remove_url: str


class SearchLinks:
    """URLs of one search page: the same search with some arguments changed or removed."""

    #: the page's query-string arguments ("clear all" keeps only the words and the sort)
    arg_names = SEARCH_ARGS

    def __init__(self, endpoint: str, args: dict[str, str]):
        self.endpoint = endpoint
        self.args = args

    def url(self, endpoint: str | None = None, **changes) -> str:
        """This search with ``changes`` (``None`` removes an argument); back to page 1 unless a page is given."""
        args = dict(self.args)
        for name, value in changes.items():
            if value is None or value == "":
                args.pop(name, None)
            else:
                args[name] = str(value)
        if "page" in args and args["page"] == "1":
            del args["page"]
        return url_for(endpoint or self.endpoint, **args)

    def without(self, *names: str) -> str:
        """This search without the named arguments."""
        return self.url(**dict.fromkeys(names))

    def clear_all(self) -> str:
        """Only the words and the sort order kept."""
        return self.url(**{name: None for name in self.arg_names if name not in ("q", "sort")})

    @property
    def filtered(self) -> bool:
        """Any filter beyond the words and the sort order."""
        return any(name not in ("q", "sort") for name in self.args)

    def chips(self) -> list[Chip]:
        """The active filters, each with the link that removes it."""
        args = self.args
        chips: list[Chip] = []
        if "category" in args:
            chips.append(Chip("category", _labelled(_("Category"), _category_label(args["category"])),
                              self.without("category")))
        if "hs" in args:
            chips.append(Chip("hs", _labelled(_("HS code"), args["hs"]), self.without("hs")))
        if "province" in args:
            region = regions.province(args["province"])
            chips.append(Chip("province", _labelled(_("Province"), region.name if region else args["province"]),
                              self.without("province", "city")))
        if "city" in args:
            region = regions.city(args["city"])
            chips.append(Chip("city", _labelled(_("City"), region.name if region else args["city"]),
                              self.without("city")))
        if "cert" in args:
            chips.append(Chip("cert", _labelled(_("Certification"), _cert_label(args["cert"])), self.without("cert")))
        if "price_min" in args or "price_max" in args:
            low = format_money(int(Decimal(args["price_min"]) * 100)) if "price_min" in args else None
            high = format_money(int(Decimal(args["price_max"]) * 100)) if "price_max" in args else None
            if low and high:
                text = f"{low} – {high}"
            elif low:
                text = _("from %(price)s", price=low)
            else:
                text = _("up to %(price)s", price=high)
            chips.append(Chip("price", _labelled(_("Price"), text), self.without("price_min", "price_max")))
        if "quantity" in args:
            chips.append(Chip("quantity", _("MOQ at most %(quantity)s", quantity=format_number(int(args["quantity"]))),
                              self.without("quantity")))
        labels = _flag_labels()
        for name in FLAG_FILTERS:
            if name in args:
                chips.append(Chip(name, labels[name], self.without(name)))
        return chips

    @staticmethod
    def page_numbers(page: int, pages: int) -> list[int | None]:
        """The page numbers the pager shows, ``None`` for a gap: 1 … 4 5 6 7 8 … 20."""
        shown = {1, pages, *range(max(1, page - PAGER_SPAN), min(pages, page + PAGER_SPAN) + 1)}
        numbers: list[int | None] = []
        for number in sorted(shown):
            if numbers and number - (numbers[-1] or 0) > 1:
                numbers.append(None)
            numbers.append(number)
        return numbers


#: the request board's query-string arguments
BOARD_ARGS = ("q", "category", "hs", "province", "city", "cert", "qty_min", "qty_max", "due_by", "sort")


class BoardLinks(SearchLinks):
    """The request board's links: the product filters it shares, plus quantity range and "quotes due by"."""

    arg_names = BOARD_ARGS

    def chips(self) -> list[Chip]:
        """The active filters, each with the link that removes it."""
        chips = super().chips()
        args = self.args
        if "qty_min" in args or "qty_max" in args:
            low = format_number(int(args["qty_min"])) if "qty_min" in args else None
            high = format_number(int(args["qty_max"])) if "qty_max" in args else None
            if low and high:
                text = f"{low} – {high}"
            elif low:
                text = _("at least %(quantity)s", quantity=low)
            else:
                text = _("at most %(quantity)s", quantity=high)
            chips.append(Chip("quantity", _labelled(_("Quantity"), text), self.without("qty_min", "qty_max")))
        if "due_by" in args:
            chips.append(Chip("due_by", _labelled(_("Quotes due by"), args["due_by"]), self.without("due_by")))
        return chips


def board_args(params: services.SearchParams) -> dict[str, str]:
    """The query string of a checked board search."""
    filters = params.filters
    args = {name: value for name, value in clean_args(params).items() if name in BOARD_ARGS}
    if filters.quantity_min is not None:
        args["qty_min"] = str(filters.quantity_min)
    if filters.quantity_max is not None:
        args["qty_max"] = str(filters.quantity_max)
    if filters.deadline_to is not None:
        args["due_by"] = filters.deadline_to.isoformat()
    return args


def board_page_values(params: services.SearchParams) -> dict:
    """What the request board shows around its results (links, choices, the raw inputs to show back)."""
    return {
        "params": params,
        "links": BoardLinks("sourcing.board", board_args(params)),
        "shown_text": printable(params.text)[:MAX_BOX_CHARS],
        "raw": {name: printable(request.args.get(name, ""))[:100] for name in BOARD_ARGS},
        "sort_labels": services.REQUEST_SORT_LABELS,
        "category_choices": [(category.code, str(category.label)) for category in CATEGORIES],
        "province_choices": [(region.code, region.name) for region in regions.provinces()],
        "cert_choices": [(code, str(label)) for code, label in CERTIFICATION_KINDS],
    }


def _labelled(name: str, value: str) -> str:
    """"Province: 浙江省" in the viewer's language (a full-width colon in Chinese)."""
    return _("%(name)s: %(value)s", name=name, value=value)


def _category_label(code: str) -> str:
    category = CATEGORY_BY_CODE.get(code)
    return str(category.label) if category else code


def _cert_label(code: str) -> str:
    return str(dict(CERTIFICATION_KINDS).get(code, code))


def printable(text: str) -> str:
    """Text without control characters (a query string may carry any byte; a page shows none of them)."""
    return "".join(ch for ch in text if ch.isprintable() or ch == " ")


@bp.app_template_global()
def search_box_value() -> str:
    """What the navbar's search box holds: the words searched on the search pages, else nothing."""
    if request.blueprint != bp.name:
        return ""
    return printable((request.args.get("q") or "").strip())[:MAX_BOX_CHARS]


@bp.app_template_global()
def page_numbers(page: int, pages: int) -> list[int | None]:
    """The page numbers a pager shows (``None`` for a gap); the storefront search uses it too."""
    return SearchLinks.page_numbers(page, pages)


def _page_values(params: services.SearchParams, endpoint: str, active_tab: str) -> dict:
    """What both search pages show around their results."""
    links = SearchLinks(endpoint, clean_args(params))
    province = params.filters.province
    return {
        "params": params,
        "links": links,
        "active_tab": active_tab,
        "shown_text": printable(params.text)[:MAX_BOX_CHARS],
        "raw": {name: printable(request.args.get(name, ""))[:100] for name in SEARCH_ARGS},
        "sort_labels": services.SORT_LABELS,
        "flag_labels": _flag_labels(),
        "cities": regions.cities(province) if province else [],
        "category_choices": [(category.code, str(category.label)) for category in CATEGORIES],
        "province_choices": [(region.code, region.name) for region in regions.provinces()],
        "cert_choices": [(code, str(label)) for code, label in CERTIFICATION_KINDS],
        "examples": EXAMPLE_SEARCHES,
    }


def _unavailable() -> str:
    return _("Search is not available right now. Please try again in a moment.")


@bp.get("/")
def products():
    """Search published products of verified exporters: words, filters with counts, sort, pages."""
    params, errors = services.parse_params(request.args)
    values = _page_values(params, "search.products", "products")
    found = None
    if params.text or values["links"].filtered:
        try:
            found = services.search_products(params, errors=errors)
        except Exception:  # the page stays up; the error is logged with its stack
            logger.exception("product search failed for %r", request.query_string[:500])
            found = services.ProductSearch(params=params, results=None, items=[], facets={},
                                           errors=errors + [_unavailable()], notices=[])
    return render_template("search/products.html", search=found, errors=found.errors if found else errors,
                           **values)


@bp.get("/companies/<int:company_id>")
def storefront(company_id: int):
    """Search within one verified exporter's public products: its storefront page with the results."""
    from marketplace.catalog import services as catalog_services

    company, page = catalog_services.get_storefront(current_user, company_id, page=request.args.get("page", 1))
    if not (request.args.get("q") or "").strip():
        return redirect(url_for("catalog.storefront", company_id=company.id))
    params, errors = services.parse_params({"q": request.args.get("q"), "page": request.args.get("page")})
    found = services.search_storefront(company, params)
    found.errors[:0] = errors
    is_owner = current_user.is_authenticated and current_user.company_id == company.id
    return render_template("catalog/storefront.html", company=company, page=page, is_owner=is_owner, found=found)


@bp.get("/exporters")
def exporters():
    """Exporters whose products match, with their number of matching products and the best three."""
    params, errors = services.parse_params(request.args)
    values = _page_values(params, "search.exporters", "exporters")
    found = None
    if params.text or values["links"].filtered:
        try:
            found = services.search_exporters(params, errors=errors)
        except Exception:  # the page stays up; the error is logged with its stack
            logger.exception("exporter search failed for %r", request.query_string[:500])
            found = services.ExporterSearch(params=params, items=[], total=0, page=1, pages=1,
                                            errors=errors + [_unavailable()], notices=[], suggestion=None)
    return render_template("search/exporters.html", search=found, errors=found.errors if found else errors,
                           **values)
