"""``/api/v1/products``: search published products, the caller's own catalog, create, update, publish,
archive, bulk upsert by SKU, images.

Every read and write goes through the services the pages use: ``search.services.parse_params`` and
``search_products`` (the search page's filters, sorts, facets and forgiving query parser),
``catalog.services`` (``get_visible_product``, ``create_product``, ``update_product``,
``set_products_status``, ``import_products`` for bulk upserts, ``add_product_image`` /
``delete_product_image``). A JSON body becomes the one input shape ``rows.ProductInput``; its text
is cleaned and its HS code read with the same functions the form and the spreadsheet import use.
Another company's product ids are 404 for every write (and for reads of what the caller may not see).
"""
from __future__ import annotations

import logging
from dataclasses import replace
from decimal import Decimal

import marshmallow as ma
import sqlalchemy as sa
from flask_smorest.fields import Upload
from sqlalchemy.orm import selectinload
from webargs.flaskparser import abort as webargs_abort

from marketplace import regions
from marketplace.accounts.company_services import export_market_codes
from marketplace.accounts.models import Company
from marketplace.api.core import (
    API_PREFIX,
    Blueprint,
    Bool,
    Int,
    PageArgs,
    QueryInt,
    Schema,
    actor,
    caller,
    check_if_match,
    encode_cursor,
    keyset_page,
    offset_page,
    page_schema,
    scope,
)
from marketplace.catalog import hs, images, services, vocabulary
from marketplace.catalog.categories import CATEGORIES, CERTIFICATION_CODES, UNITS
from marketplace.catalog.flags import product_tariff_hit
from marketplace.catalog.models import CccStatus, Product, ProductStatus, StockLocation
from marketplace.catalog.rows import (
    MAX_CERTIFICATIONS,
    MAX_INT,
    MAX_LEAD_TIME_DAYS,
    MAX_PRICE_FEN,
    MAX_PRICE_TIERS,
    MAX_SPEC_KEY,
    MAX_SPEC_VALUE,
    MAX_SPECS,
    CertificationInput,
    PriceTierInput,
    ProductInput,
    ValidationResult,
)
from marketplace.errors import Conflict, NotFound, ValidationFailed
from marketplace.extensions import db
from marketplace.i18n import _, _l
from marketplace.imports.cells import CellError, clean_text
from marketplace.imports.columns import RowResult
from marketplace.search import services as search
from marketplace.urls import external_url

logger = logging.getLogger(__name__)

URL_PREFIX = "/products"
blp = Blueprint("api_products", __name__, description="Products: search, your catalog, create, update, publish, archive, bulk upsert, images.")

#: items one bulk upsert takes at most
BULK_MAX_ITEMS = 1000
#: the most a price filter may say, in fen (the search page's ¥100,000,000 guard)
MAX_FILTER_FEN = int(search.MAX_PRICE_YUAN * 100)
#: the longest search text accepted (the engine reads its first 200 characters and says so)
MAX_SEARCH_CHARS = 1000
#: the fields of a product body, as named on ``ProductInput``
INPUT_FIELDS = (
    "sku", "title_zh", "title_en", "description_zh", "description_en", "hs_code", "category", "brand", "model",
    "specs", "unit", "moq", "price_tiers", "monthly_capacity", "stock_quantity", "stock_location",
    "lead_time_days", "former_export_market", "tariff_note", "ccc_status", "gb_standard", "gb_standard_met",
    "chinese_label_ready", "vat_invoice", "certifications",
)
REQUIRED_FIELDS = ("sku", "title_zh", "category", "unit", "moq", "price_tiers")
STATUSES = [status.value for status in ProductStatus]
CATEGORY_CODES = [category.code for category in CATEGORIES]


#: an HS code under a known chapter: 2, 4, 6, 8 or 10 digits (a heading must exist too: checked on input)
HS_PATTERN = "^(?:" + "|".join(entry.code for entry in hs.chapters()) + ")(?:[0-9]{2}){0,4}$"
HS_FORMAT = _l("An HS code is 2, 4, 6, 8 or 10 digits (no dots) under a known chapter, like 851660.")


def _province_codes() -> list[str]:
    return [region.code for region in regions.provinces()]


def _city_codes() -> list[str]:
    return [city.code for province in regions.provinces() for city in regions.cities(province.code)]


# ----------------------------------------------------------------------------- input fields


class Text(ma.fields.String):
    """A string that can be stored: text with a lone surrogate (valid JSON, no UTF-8) is refused."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise self.make_error("invalid_utf8") from None
        return text


def _text(max_length: int, required: bool = False, needed: bool = False, **kwargs) -> Text:
    """Text of at most ``max_length`` characters: ``needed`` ones never empty or null, the others nullable."""
    if needed:
        return Text(required=required, validate=ma.validate.Length(min=1, max=max_length), **kwargs)
    return Text(allow_none=True, validate=ma.validate.Length(max=max_length), **kwargs)


def _count(maximum: int = MAX_INT, minimum: int = 0, **kwargs) -> Int:
    return Int(allow_none=True, validate=ma.validate.Range(min=minimum, max=maximum), **kwargs)


class PriceTierIn(Schema):
    """From ``min_quantity`` units on, each costs ``unit_price_fen``."""

    min_quantity = Int(required=True, validate=ma.validate.Range(min=1, max=MAX_INT))
    unit_price_fen = Int(required=True, validate=ma.validate.Range(min=1, max=MAX_PRICE_FEN),
                         metadata={"description": "Unit price in fen (分)."})


class SpecIn(Schema):
    """One specification: name and value (功率: 1200W)."""

    name = Text(required=True, validate=ma.validate.Length(min=1, max=MAX_SPEC_KEY))
    value = Text(required=True, validate=ma.validate.Length(min=1, max=MAX_SPEC_VALUE))


class CertificationIn(Schema):
    """A certificate the product holds."""

    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(sorted(CERTIFICATION_CODES)))
    number = _text(100)
    expires_on = ma.fields.Date(allow_none=True, metadata={"description": "Valid through this day (YYYY-MM-DD)."})


def _product_fields(required: bool) -> dict:
    """The fields of a product body; ``required`` makes the six a new product needs required."""
    return {
        "sku": _text(64, required=required, needed=True, metadata={"description": "Your article number, unique in your catalog."}),
        "title_zh": _text(200, required=required, needed=True),
        "title_en": _text(200),
        "description_zh": _text(10000),
        "description_en": _text(10000),
        "hs_code": Text(allow_none=True, validate=ma.validate.Regexp(HS_PATTERN, error=HS_FORMAT),
                        metadata={"description": "HS code: 2, 4, 6, 8 or 10 digits under a known chapter or heading."}),
        "category": ma.fields.String(required=required, validate=ma.validate.OneOf(CATEGORY_CODES)),
        "brand": _text(100),
        "model": _text(100),
        "specs": ma.fields.List(ma.fields.Nested(SpecIn), allow_none=True, validate=ma.validate.Length(max=MAX_SPECS)),
        "unit": ma.fields.String(required=required, validate=ma.validate.OneOf(UNITS)),
        "moq": Int(required=required, validate=ma.validate.Range(min=1, max=MAX_INT),
                   metadata={"description": "Minimum order quantity; the first price tier starts here."}),
        "price_tiers": ma.fields.List(
            ma.fields.Nested(PriceTierIn), required=required, validate=ma.validate.Length(min=1, max=MAX_PRICE_TIERS),
            metadata={"description": "Quantity breaks, the first at the MOQ, quantities rising, prices not rising."}),
        "monthly_capacity": _count(),
        "stock_quantity": _count(),
        "stock_location": ma.fields.String(allow_none=True, validate=ma.validate.OneOf([s.value for s in StockLocation])),
        "lead_time_days": _count(MAX_LEAD_TIME_DAYS),
        "former_export_market": ma.fields.String(allow_none=True,
                                                 validate=ma.validate.OneOf(sorted(export_market_codes())),
                                                 metadata={"description": "ISO 3166-1 alpha-2 code."}),
        "tariff_note": _text(300),
        "ccc_status": ma.fields.String(allow_none=True, validate=ma.validate.OneOf([c.value for c in CccStatus])),
        "gb_standard": _text(100),
        "gb_standard_met": Bool(allow_none=True),
        "chinese_label_ready": Bool(allow_none=True),
        "vat_invoice": Bool(allow_none=True),
        "certifications": ma.fields.List(ma.fields.Nested(CertificationIn), allow_none=True,
                                         validate=ma.validate.Length(max=MAX_CERTIFICATIONS)),
    }


def _patch_fields() -> dict:
    """Every field optional (PATCH: what is sent changes; null clears an optional value, never a required one)."""
    return _product_fields(required=False)


ProductPatch = type("ProductPatch", (Schema,), {
    "__doc__": "Changes to a product: only the fields sent change; null clears an optional field.",
    **_patch_fields(),
})
ProductItem = type("ProductItem", (Schema,), {
    "__doc__": "A product of a bulk upsert (matched on sku).",
    **_product_fields(required=True),
})
ProductCreate = type("ProductCreate", (Schema,), {
    "__doc__": "A new product; a draft unless publish is true.",
    **_product_fields(required=True),
    "publish": Bool(load_default=False, metadata={"description": "Publish it at once."}),
})


# ----------------------------------------------------------------------------- output schemas


class PriceTierOut(ma.Schema):
    min_quantity = ma.fields.Integer(required=True)
    unit_price_fen = ma.fields.Integer(required=True)


class SpecOut(ma.Schema):
    name = ma.fields.String(required=True)
    value = ma.fields.String(required=True)


class CertificationOut(ma.Schema):
    kind = ma.fields.String(required=True)
    number = ma.fields.String(required=True, allow_none=True)
    expires_on = ma.fields.Date(required=True, allow_none=True)
    expired = ma.fields.Boolean(required=True, metadata={"description": "Ran out before today (Asia/Shanghai)."})


class ProductImageOut(ma.Schema):
    id = ma.fields.Integer(required=True)
    position = ma.fields.Integer(required=True)
    url = ma.fields.String(required=True)
    thumbnail_url = ma.fields.String(required=True)
    content_type = ma.fields.String(required=True)
    width = ma.fields.Integer(required=True)
    height = ma.fields.Integer(required=True)
    size_bytes = ma.fields.Integer(required=True)


class ProductCompanyOut(ma.Schema):
    id = ma.fields.Integer(required=True)
    name_zh = ma.fields.String(required=True)
    name_en = ma.fields.String(required=True, allow_none=True)
    province_code = ma.fields.String(required=True)
    city_code = ma.fields.String(required=True)


class ProductSchema(ma.Schema):
    """A product with its price tiers, certificates and images."""

    id = ma.fields.Integer(required=True)
    sku = ma.fields.String(required=True)
    status = ma.fields.String(required=True, metadata={"enum": STATUSES})
    title_zh = ma.fields.String(required=True)
    title_en = ma.fields.String(required=True, allow_none=True)
    description_zh = ma.fields.String(required=True, allow_none=True)
    description_en = ma.fields.String(required=True, allow_none=True)
    hs_code = ma.fields.String(required=True, allow_none=True)
    category = ma.fields.String(required=True)
    brand = ma.fields.String(required=True, allow_none=True)
    model = ma.fields.String(required=True, allow_none=True)
    specs = ma.fields.List(ma.fields.Nested(SpecOut), required=True)
    unit = ma.fields.String(required=True)
    moq = ma.fields.Integer(required=True)
    price_tiers = ma.fields.List(ma.fields.Nested(PriceTierOut), required=True)
    monthly_capacity = ma.fields.Integer(required=True, allow_none=True)
    stock_quantity = ma.fields.Integer(required=True, allow_none=True)
    stock_location = ma.fields.String(required=True, allow_none=True)
    lead_time_days = ma.fields.Integer(required=True, allow_none=True)
    former_export_market = ma.fields.String(required=True, allow_none=True)
    tariff_note = ma.fields.String(required=True, allow_none=True)
    ccc_status = ma.fields.String(required=True)
    gb_standard = ma.fields.String(required=True, allow_none=True)
    gb_standard_met = ma.fields.Boolean(required=True)
    chinese_label_ready = ma.fields.Boolean(required=True)
    vat_invoice = ma.fields.Boolean(required=True)
    certifications = ma.fields.List(ma.fields.Nested(CertificationOut), required=True)
    domestic_ready = ma.fields.Boolean(required=True, metadata={
        "description": "All four domestic-readiness checks pass today (an expired CCC fails)."})
    images = ma.fields.List(ma.fields.Nested(ProductImageOut), required=True)
    company = ma.fields.Nested(ProductCompanyOut, required=True)
    created_at = ma.fields.DateTime(required=True)
    updated_at = ma.fields.DateTime(required=True)
    published_at = ma.fields.DateTime(required=True, allow_none=True)


def _image_view(image) -> dict:
    return {
        "id": image.id, "position": image.position,
        "url": external_url("catalog.media", filename=image.filename),
        "thumbnail_url": external_url("catalog.media", filename=image.thumbnail),
        "content_type": image.content_type, "width": image.width, "height": image.height,
        "size_bytes": image.size_bytes,
    }


def _company_view(company: Company) -> dict:
    return {"id": company.id, "name_zh": company.name_zh, "name_en": company.name_en,
            "province_code": company.province_code, "city_code": company.city_code}


def product_view(product: Product) -> dict:
    """A product as the API shows it (the fields a body takes are in the body's shape)."""
    return {
        "id": product.id, "sku": product.sku, "status": product.status.value,
        "title_zh": product.title_zh, "title_en": product.title_en,
        "description_zh": product.description_zh, "description_en": product.description_en,
        "hs_code": product.hs_code, "category": product.category, "brand": product.brand, "model": product.model,
        "specs": [{"name": str(key), "value": str(value)} for key, value in (product.specs or [])],
        "unit": product.unit, "moq": product.moq,
        "price_tiers": [{"min_quantity": t.min_quantity, "unit_price_fen": t.unit_price_fen}
                        for t in product.price_tiers],
        "monthly_capacity": product.monthly_capacity, "stock_quantity": product.stock_quantity,
        "stock_location": product.stock_location.value if product.stock_location else None,
        "lead_time_days": product.lead_time_days, "former_export_market": product.former_export_market,
        "tariff_note": product.tariff_note, "ccc_status": product.ccc_status.value,
        "gb_standard": product.gb_standard, "gb_standard_met": bool(product.gb_standard_met),
        "chinese_label_ready": bool(product.chinese_label_ready), "vat_invoice": bool(product.vat_invoice),
        "certifications": [{"kind": c.kind, "number": c.number, "expires_on": c.expires_on,
                            "expired": c.is_expired()} for c in product.certifications],
        "domestic_ready": product.is_domestic_ready(),
        "images": [_image_view(image) for image in product.images],
        "company": _company_view(product.company),
        "created_at": product.created_at, "updated_at": product.updated_at, "published_at": product.published_at,
    }


def _dumped(product: Product) -> dict:
    """The product as the response body holds it (what its ETag is computed on)."""
    return ProductSchema().dump(product_view(product))


# ----------------------------------------------------------------------------- a body as a ProductInput


def _clean(value, multiline: bool = False) -> str | None:
    if value is None:
        return None
    return clean_text(value, multiline) or None


def _tier_errors(moq: int, tiers: list[dict]) -> list[tuple[str, str]]:
    """The price tiers against the MOQ and each other (the catalog service's rules), per tier."""
    given = [PriceTierInput(t["min_quantity"], t["unit_price_fen"]) for t in tiers]
    return [(f"price_tiers[{index}]", str(message)) for index, message in services.price_tier_problems(moq, given)]


def check_product(values: dict, provided=frozenset()) -> tuple[ProductInput | None, list[tuple[str, str]]]:
    """A complete body (every field of INPUT_FIELDS, JSON-typed) as a ProductInput, or the (field, message) errors."""
    errors: list[tuple[str, str]] = []
    sku = _clean(values.get("sku"))
    if not sku:
        errors.append(("sku", _("Give the product's SKU.")))
    title_zh = _clean(values.get("title_zh"))
    if not title_zh:
        errors.append(("title_zh", _("Give the product a Chinese title.")))
    hs_code = None
    if values.get("hs_code"):
        try:
            hs_code = vocabulary.parse_hs_code(values["hs_code"])
        except CellError as error:
            errors.append(("hs_code", str(error.message)))
    specs = []
    for index, spec in enumerate(values.get("specs") or []):
        name, value = _clean(spec["name"]), _clean(spec["value"])
        if not name or not value:
            errors.append((f"specs[{index}]", _("Give both the name and the value of each specification.")))
        specs.append([name, value])
    tiers = values.get("price_tiers") or []
    errors.extend(_tier_errors(values["moq"], tiers))
    if errors:
        return None, errors
    data = ProductInput(
        sku=sku, title_zh=title_zh, title_en=_clean(values.get("title_en")),
        description_zh=_clean(values.get("description_zh"), multiline=True),
        description_en=_clean(values.get("description_en"), multiline=True),
        hs_code=hs_code, category=values["category"], brand=_clean(values.get("brand")),
        model=_clean(values.get("model")), specs=specs, unit=values["unit"], moq=values["moq"],
        price_tiers=[PriceTierInput(t["min_quantity"], t["unit_price_fen"]) for t in tiers],
        monthly_capacity=values.get("monthly_capacity"), stock_quantity=values.get("stock_quantity"),
        stock_location=StockLocation(values["stock_location"]) if values.get("stock_location") else None,
        lead_time_days=values.get("lead_time_days"), former_export_market=values.get("former_export_market"),
        tariff_note=_clean(values.get("tariff_note")),
        ccc_status=CccStatus(values["ccc_status"]) if values.get("ccc_status") else CccStatus.MISSING,
        gb_standard=_clean(values.get("gb_standard")), gb_standard_met=bool(values.get("gb_standard_met")),
        chinese_label_ready=bool(values.get("chinese_label_ready")), vat_invoice=bool(values.get("vat_invoice")),
        certifications=[CertificationInput(c["kind"], _clean(c.get("number")), c.get("expires_on"))
                        for c in (values.get("certifications") or [])],
        provided=frozenset(provided),
    )
    return data, []


def _refuse(errors: list[tuple[str, str]], prefix: str = "") -> None:
    """422 naming every field at fault."""
    messages: dict[str, list[str]] = {}
    for field, message in errors:
        messages.setdefault(prefix + field, []).append(message)
    webargs_abort(422, messages={"json": messages})


def _input_or_422(values: dict) -> ProductInput:
    data, errors = check_product(values)
    if errors:
        _refuse(errors)
    return data


def _sku_race() -> Conflict:
    return Conflict(_("Another request changed this catalog at the same moment; nothing was written. "
                      "Send the request again."))


# ----------------------------------------------------------------------------- reads


class SearchArgs(PageArgs):
    """The search page's filters and sorts."""

    q = ma.fields.String(load_default="", validate=ma.validate.Length(max=MAX_SEARCH_CHARS), metadata={
        "description": "Words (Chinese or English, synonyms apply), \"quoted phrase\", -exclude, a OR b, an SKU or "
                       "an HS code. Any text is accepted; what was not used is said in notices."})
    category = ma.fields.String(load_default=None, validate=ma.validate.OneOf(CATEGORY_CODES))
    hs = ma.fields.String(load_default=None, validate=ma.validate.Regexp(r"^[0-9]{1,10}$"),
                          metadata={"description": "HS code prefix (digits)."})
    province = ma.fields.String(load_default=None, validate=ma.validate.OneOf(_province_codes()),
                                metadata={"description": "GB/T 2260 province code of the exporter."})
    city = ma.fields.String(load_default=None, validate=ma.validate.OneOf(_city_codes()),
                            metadata={"description": "GB/T 2260 city code of the exporter."})
    cert = ma.fields.String(load_default=None, validate=ma.validate.OneOf(sorted(CERTIFICATION_CODES)),
                            metadata={"description": "Holds this valid certification."})
    price_min_fen = QueryInt(load_default=None, validate=ma.validate.Range(min=0, max=MAX_FILTER_FEN),
                             metadata={"description": "Lowest unit price at the MOQ, in fen."})
    price_max_fen = QueryInt(load_default=None, validate=ma.validate.Range(min=0, max=MAX_FILTER_FEN),
                             metadata={"description": "Highest unit price at the MOQ, in fen."})
    quantity = QueryInt(load_default=None, validate=ma.validate.Range(min=1, max=search.MAX_QUANTITY),
                        metadata={"description": "Orderable at this quantity (MOQ at most this)."})
    tariff_hit = ma.fields.Boolean(load_default=None, metadata={
        "description": "true: only tariff-hit exporters' goods (false: no filter)."})
    domestic_ready = ma.fields.Boolean(load_default=None, metadata={
        "description": "true: only products passing the domestic-readiness checklist."})
    verified = ma.fields.Boolean(load_default=None, metadata={"description": "true: only 专精特新 exporters."})
    sort = ma.fields.String(load_default="relevance", validate=ma.validate.OneOf(list(search.SORT_LABELS)))


class SearchFlagsOut(ma.Schema):
    tariff_hit = ma.fields.Boolean(required=True)
    domestic_ready = ma.fields.Boolean(required=True)
    verified = ma.fields.Boolean(required=True, metadata={"description": "专精特新 exporter."})


class SearchItemOut(ma.Schema):
    """A found product."""

    id = ma.fields.Integer(required=True)
    sku = ma.fields.String(required=True)
    title_zh = ma.fields.String(required=True)
    title_en = ma.fields.String(required=True, allow_none=True)
    category = ma.fields.String(required=True)
    hs_code = ma.fields.String(required=True, allow_none=True)
    unit = ma.fields.String(required=True)
    moq = ma.fields.Integer(required=True)
    price_tiers = ma.fields.List(ma.fields.Nested(PriceTierOut), required=True)
    certifications = ma.fields.List(ma.fields.String(), required=True,
                                    metadata={"description": "Kinds of the valid certificates."})
    company = ma.fields.Nested(ProductCompanyOut, required=True)
    flags = ma.fields.Nested(SearchFlagsOut, required=True)
    snippet = ma.fields.String(required=True, allow_none=True, metadata={
        "description": "Plain text from the description around the matched words."})
    thumbnail_url = ma.fields.String(required=True, allow_none=True)
    score = ma.fields.Float(required=True)


class FacetValueOut(ma.Schema):
    value = ma.fields.String(required=True)
    label = ma.fields.String(required=True)
    count = ma.fields.Integer(required=True)


FACETS = ("category", "hs", "province", "cert", "tariff_hit", "domestic_ready", "verified")
FacetsOut = type("ProductFacets", (ma.Schema,), {
    name: ma.fields.List(ma.fields.Nested(FacetValueOut), required=True) for name in FACETS})


class SearchPage(ma.Schema):
    """A page of search results with the facets of every match."""

    items = ma.fields.List(ma.fields.Nested(SearchItemOut), required=True)
    total = ma.fields.Integer(required=True, metadata={"description": "Products matching (all pages)."})
    facets = ma.fields.Nested(FacetsOut, required=True)
    notices = ma.fields.List(ma.fields.String(), required=True, metadata={
        "description": "What was not used of the query or filters, and how the search was widened."})
    suggestion = ma.fields.String(required=True, allow_none=True, metadata={"description": "Did you mean."})
    next_cursor = ma.fields.String(required=True, allow_none=True)


def _yuan(fen: int) -> str:
    return format(Decimal(fen) / 100, "f")


def _search_args(args: dict) -> dict:
    """The API's arguments as the search page's query string (money in yuan there)."""
    query = {name: args[name] for name in ("q", "category", "hs", "province", "city", "cert", "sort") if args[name]}
    if args["price_min_fen"] is not None:
        query["price_min"] = _yuan(args["price_min_fen"])
    if args["price_max_fen"] is not None:
        query["price_max"] = _yuan(args["price_max_fen"])
    if args["quantity"] is not None:
        query["quantity"] = str(args["quantity"])
    for name in ("tariff_hit", "domestic_ready", "verified"):
        if args[name]:
            query[name] = "1"
    return query


def _plain(markup) -> str | None:
    return markup.striptags() if markup is not None else None


def search_item_view(found) -> dict:
    """A search result as the API shows it."""
    product = found.product
    company = product.company
    thumbnail = product.images[0].thumbnail if product.images else None
    certs = {c.kind for c in product.valid_certifications()}
    if product.ccc_status_on() is CccStatus.HELD:
        certs.add("CCC")
    return {
        "id": product.id, "sku": product.sku, "title_zh": product.title_zh, "title_en": product.title_en,
        "category": product.category, "hs_code": product.hs_code, "unit": product.unit, "moq": product.moq,
        "price_tiers": [{"min_quantity": t.min_quantity, "unit_price_fen": t.unit_price_fen}
                        for t in product.price_tiers],
        "certifications": sorted(certs),
        "company": _company_view(company),
        "flags": {"tariff_hit": product_tariff_hit(product, company), "domestic_ready": product.is_domestic_ready(),
                  "verified": company.is_zjtx},
        "snippet": _plain(found.snippet_html),
        "thumbnail_url": external_url("catalog.media", filename=thumbnail) if thumbnail else None,
        "score": round(float(found.score), 4),
    }


def _preload_companies(items) -> None:
    """Load the found companies' tags and tariff exposures in two queries (the flags read them)."""
    ids = {found.product.company_id for found in items}
    if ids:
        db.session.scalars(sa.select(Company).where(Company.id.in_(ids)).options(
            selectinload(Company.tags), selectinload(Company.exposures))).all()


@blp.route("", methods=["GET"])
@scope("read")
@blp.arguments(SearchArgs, location="query", unknown=ma.RAISE)
@blp.response(200, SearchPage)
def search_products(args):
    """Search published products: the search page's words, filters, sorts and facets.

    Any text is a valid query (nothing is refused for its syntax); values the search could not use are
    reported in ``notices``. ``total`` counts every match; pages are positions in the ranking.
    """
    params, errors = search.parse_params(_search_args(args))
    offset, limit = offset_page(args)
    first_page = offset // limit + 1
    params = replace(params, page=first_page, per_page=limit)
    found = search.search_products(params, errors=errors)
    results = found.results
    items = list(found.items)
    notices = list(found.errors) + list(found.notices)
    if results.page != first_page:  # past the last page: nothing here (the engine would show the last page)
        items = []
        clamped = str(search.NOTICE_MESSAGES[search.NOTICE_PAGE_CLAMPED])
        notices = [notice for notice in notices if notice != clamped]
    elif offset % limit:
        # a cursor made with another limit: the rest of this page and the start of the next
        following = search.search_products(replace(params, page=first_page + 1), facets=False)
        items = (items[offset % limit:] + (following.items if following.results.page == first_page + 1 else []))
        items = items[:limit]
    _preload_companies(items)
    end = offset + limit
    return {
        "items": [search_item_view(item) for item in items],
        "total": found.total,
        "facets": {name: [{"value": v.value, "label": v.label, "count": v.count}
                          for v in found.facets.get(name, [])] for name in FACETS},
        "notices": notices,
        "suggestion": found.suggestion,
        "next_cursor": encode_cursor({"offset": end}) if end < found.total else None,
    }


class MineArgs(PageArgs):
    """Filters of the caller's own catalog."""

    status = ma.fields.String(load_default=None, validate=ma.validate.OneOf(STATUSES))
    category = ma.fields.String(load_default=None, validate=ma.validate.OneOf(CATEGORY_CODES))
    sku = ma.fields.String(load_default=None, validate=ma.validate.Length(min=1, max=64),
                           metadata={"description": "Exactly this SKU."})


@blp.route("/mine", methods=["GET"])
@scope("read")
@blp.arguments(MineArgs, location="query", unknown=ma.RAISE)
@blp.response(200, page_schema(ProductSchema, "ProductPage"))
def my_products(args):
    """The caller's own catalog in every status (drafts and archived included), newest first."""
    me = actor()
    services.check_can_edit_catalog(me, me.company)
    statement = (
        sa.select(Product).where(Product.company_id == caller().company_id)
        .options(selectinload(Product.price_tiers), selectinload(Product.certifications),
                 selectinload(Product.images), selectinload(Product.company))
    )
    if args["status"]:
        statement = statement.where(Product.status == ProductStatus(args["status"]))
    if args["category"]:
        statement = statement.where(Product.category == args["category"])
    if args["sku"]:
        statement = statement.where(Product.sku == args["sku"])
    items, next_cursor = keyset_page(statement, Product.id, args)
    return {"items": [product_view(product) for product in items], "next_cursor": next_cursor}


@blp.route("/<int:product_id>", methods=["GET"])
@scope("read")
@blp.response(200, ProductSchema)
def product(product_id: int):
    """A product the caller may see: a public one, or any of its own (drafts and archived too)."""
    return product_view(services.get_visible_product(actor(), product_id))


# ----------------------------------------------------------------------------- writes


def _own_product(product_id: int) -> Product:
    """The caller's own product (another company's, or none: 404), as the catalog service allows its editing."""
    found = db.session.get(Product, product_id)
    if found is None or found.company_id != caller().company_id:
        raise NotFound(_("This product does not exist."))
    return services.get_product_for_edit(actor(), product_id)


def _created(found: Product):
    return product_view(found), 201, {"Location": f"{API_PREFIX}{URL_PREFIX}/{found.id}"}


@blp.route("", methods=["POST"])
@scope("catalog:write")
@blp.arguments(ProductCreate, location="json")
@blp.response(201, ProductSchema)
def create_product(body):
    """Add a product to the caller's catalog: a draft, or published at once with ``publish``."""
    publish = body.pop("publish")
    values = dict.fromkeys(INPUT_FIELDS)
    values.update(body)
    data = _input_or_422(values)
    me = actor()
    try:
        made = services.create_product(me, me.company, data, publish=publish)
    except sa.exc.IntegrityError:  # the same SKU written by a concurrent request
        db.session.rollback()
        raise _sku_race() from None
    return _created(made)


@blp.route("/<int:product_id>", methods=["PATCH"])
@scope("catalog:write")
@blp.arguments(ProductPatch, location="json")
@blp.response(200, ProductSchema)
def update_product(body, product_id: int):
    """Change some of a product's fields (the rest stay); ``If-Match`` with the ETag read refuses a stale edit."""
    found = _own_product(product_id)
    check_if_match(_dumped(found))
    current = product_view(found)
    values = {name: current[name] for name in INPUT_FIELDS}
    values.update(body)
    data = _input_or_422(values)
    try:
        services.update_product(actor(), found, data)
    except sa.exc.IntegrityError:
        db.session.rollback()
        raise _sku_race() from None
    return product_view(found)


def _set_status(product_id: int, status: ProductStatus) -> dict:
    found = _own_product(product_id)
    check_if_match(_dumped(found))
    me = actor()
    services.set_products_status(me, me.company, [found.id], status)
    return product_view(found)


@blp.route("/<int:product_id>/publish", methods=["POST"])
@scope("catalog:write")
@blp.doc(**{"x-if-match": True})
@blp.response(200, ProductSchema)
def publish_product(product_id: int):
    """Publish a product: buyers see it (once the company is verified) and search finds it."""
    return _set_status(product_id, ProductStatus.PUBLISHED)


@blp.route("/<int:product_id>/archive", methods=["POST"])
@scope("catalog:write")
@blp.doc(**{"x-if-match": True})
@blp.response(200, ProductSchema)
def archive_product(product_id: int):
    """Archive a product: it leaves search and the public pages; it stays in your catalog."""
    return _set_status(product_id, ProductStatus.ARCHIVED)


# ----------------------------------------------------------------------------- bulk upsert


class BulkBody(Schema):
    """Products to create or update, matched on sku."""

    items = ma.fields.List(ma.fields.Nested(ProductItem), required=True,
                           validate=ma.validate.Length(min=1, max=BULK_MAX_ITEMS))
    publish = Bool(load_default=False, metadata={"description": "Publish every product written."})
    all_or_nothing = Bool(load_default=False, metadata={
        "description": "true: if any item breaks a rule, write nothing and answer 422 naming every fault."})


class BulkErrorOut(ma.Schema):
    field = ma.fields.String(required=True, allow_none=True)
    message = ma.fields.String(required=True)


class BulkItemOut(ma.Schema):
    index = ma.fields.Integer(required=True, metadata={"description": "Position in the request's items (from 0)."})
    sku = ma.fields.String(required=True)
    status = ma.fields.String(required=True, metadata={"enum": ["created", "updated", "invalid"]})
    id = ma.fields.Integer(required=True, allow_none=True)
    errors = ma.fields.List(ma.fields.Nested(BulkErrorOut), required=True)


class BulkOut(ma.Schema):
    """What a bulk upsert did, item by item."""

    created = ma.fields.Integer(required=True)
    updated = ma.fields.Integer(required=True)
    published = ma.fields.Integer(required=True)
    invalid = ma.fields.Integer(required=True)
    items = ma.fields.List(ma.fields.Nested(BulkItemOut), required=True)


@blp.route("/bulk", methods=["POST"])
@scope("catalog:write")
@blp.arguments(BulkBody, location="json")
@blp.response(200, BulkOut)
def bulk_upsert(body):
    """Create or update up to 1,000 products by SKU in one transaction, with the spreadsheet import's rules.

    A new SKU is created, a known one updated (only the optional fields sent change). An item that breaks
    a rule is reported with its ``index`` and errors and written not at all; the others are written
    together (or, with ``all_or_nothing``, nothing is written and the answer is a 422 naming every fault).
    A malformed body (a wrong type, an unknown field) is refused as a whole.
    """
    me = actor()
    company = me.company
    services.check_can_edit_catalog(me, company)
    items = body["items"]
    rows: list[RowResult] = []
    results: list[dict] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        values = dict.fromkeys(INPUT_FIELDS)
        values.update(item)
        data, errors = check_product(values, provided=item.keys())
        sku = _clean(item["sku"]) or item["sku"]
        if data is not None and data.sku in seen:
            errors = [("sku", _("SKU %(sku)s already appears in item %(index)s.", sku=data.sku,
                                index=seen[data.sku]))]
            data = None
        if data is not None:
            seen[data.sku] = index
        rows.append(RowResult(index, data, []))
        results.append({"index": index, "sku": sku, "status": "invalid" if data is None else None, "id": None,
                        "errors": [{"field": field, "message": message} for field, message in errors]})
    invalid = sum(1 for entry in results if entry["errors"])
    if invalid and body["all_or_nothing"]:
        _refuse([(f"items[{entry['index']}].{error['field']}", error["message"])
                 for entry in results for error in entry["errors"]])
    checked = ValidationResult(rows=rows, problems=[], columns={}, header_row=0)
    plan = services.plan_import(company, checked)
    updating = {data.sku for data in plan.updates}
    try:
        outcome = services.import_products(me, company, checked, publish=body["publish"])
    except sa.exc.IntegrityError:
        raise _sku_race() from None
    skus = [row.values.sku for row in rows if row.values is not None]
    ids: dict[str, int] = {}
    for start in range(0, len(skus), 500):
        chunk = skus[start:start + 500]
        ids.update((sku, product_id) for sku, product_id in db.session.execute(
            sa.select(Product.sku, Product.id).where(Product.company_id == company.id, Product.sku.in_(chunk))))
    for row, entry in zip(rows, results, strict=True):
        if row.values is not None:
            entry["id"] = ids.get(row.values.sku)
            entry["status"] = "updated" if row.values.sku in updating else "created"
    return {"created": outcome.created, "updated": outcome.updated, "published": outcome.published,
            "invalid": invalid, "items": results}


# ----------------------------------------------------------------------------- images


class ImageUpload(Schema):
    """One image file: JPEG, PNG, WebP or GIF, at most 10 MB; at most 8 images per product."""

    file = Upload(required=True)


@blp.route("/<int:product_id>/images", methods=["POST"])
@scope("catalog:write")
@blp.arguments(ImageUpload, location="files", unknown=ma.RAISE)
@blp.response(201, ProductImageOut)
def add_image(files, product_id: int):
    """Add an image (multipart/form-data, field ``file``): checked, re-encoded without metadata, thumbnailed."""
    found = _own_product(product_id)
    upload = files["file"]
    try:
        image = services.add_product_image(actor(), found, images.read_upload(upload))
    except ValidationFailed as error:  # every refusal here is about the uploaded file
        raise ValidationFailed(error.message, "file") from None
    return _image_view(image), 201, {"Location": f"{API_PREFIX}{URL_PREFIX}/{found.id}"}


@blp.route("/<int:product_id>/images/<int:image_id>", methods=["DELETE"])
@scope("catalog:write")
@blp.response(204)
def delete_image(product_id: int, image_id: int):
    """Remove one of a product's images."""
    found = _own_product(product_id)
    services.delete_product_image(actor(), found, image_id)
    return None

