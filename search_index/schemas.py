"""The index schemas: field names, what each field holds, and ``to_document()`` per kind.

Owns: the one description of what is indexed. A kind of object is a *record* (a plain frozen
dataclass the application fills from its database rows), a Whoosh ``Schema`` and a pure
``to_document(record)``; live indexing and rebuild both go through that function, so they
cannot disagree. Each kind is an ``IndexKind`` (products here; procurement requests in
``search_index.requests``) declaring its columns, filters, facets and sorts.

Design notes (measured, see docs/architecture.md): matching runs over one ``TEXT`` field
without positions (one posting list per term, the cheapest thing Whoosh can intersect);
titles get their own field with positions for phrases and for scoring; everything used to
filter, facet or sort is a *column* (``sortable``), read per segment into arrays by the
engine instead of running Whoosh range queries.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from dataclasses import fields as fields_of
from datetime import date, datetime

from whoosh import columns, fields, formats

from search_index.analysis import chinese_analyzer

# ---------------------------------------------------------------------------- field names

#: the product's database id (stored and a column: the engine finds documents to replace by it)
ID = "id"
#: title (zh + en), with positions: phrase queries and the strongest relevance signal
TITLE = "title"
#: every searchable word: title, brand, model, category names, HS heading, specs, description
TEXT = "text"
#: the exporter's article number, as written (stored)
SKU = "sku"
#: the article number lowercased without punctuation (column): a query word equal to it finds the
#: product; kept out of TEXT, where one unique term per product cost a fifth of the index
SKU_KEY = "sku_key"
#: category code (column; filter and facet)
CATEGORY = "category"
#: HS code as stored on the product, 2–10 digits (column; prefix filter, chapter facet)
HS = "hs"
#: GB/T 2260 province code of the exporter (column; filter and facet)
PROVINCE = "province"
#: GB/T 2260 city code of the exporter (column; filter)
CITY = "city"
#: certification codes held and unexpired, space separated (column; filter and facet)
CERTS = "certs"
#: unit price at the MOQ in integer fen, -1 when unpriced (column; range filter, sort)
PRICE = "price"
#: minimum order quantity (column; "MOQ ≤ my quantity")
MOQ = "moq"
#: 1 when the exporter or the product was hit by a foreign tariff (column)
TARIFF_HIT = "tariff_hit"
#: 1 when the domestic-readiness checklist passes (column)
DOMESTIC_READY = "domestic_ready"
#: 1 when an organizer has tagged the exporter (专精特新, 小巨人, 链主) (column)
VERIFIED = "verified"
#: publication time, seconds since the epoch (column; "newest" sort)
PUBLISHED = "published"
#: the exporter company's id (stored; storefront search and grouping)
COMPANY = "company"
#: the exporter's names, Chinese and English, without positions: exporter search matches them,
#: product search does not (a company called 利民电器 does not make all its goods 电器)
COMPANY_NAME = "company_name"
#: hash of the record: ``index check`` compares it with the database's
FINGERPRINT = "fingerprint"
#: products: what can be delivered at once, max(monthly capacity, stock), -1 when unknown (column; matching)
CAPACITY = "capacity"
#: products: readiness items met, space separated codes (ccc gb_standard chinese_label vat_invoice) (column)
READINESS = "readiness"
#: products: price tiers as "min_quantity:fen" pairs, space separated, lowest first (column; matching prices
#: the requested quantity)
TIERS = "tiers"
#: products: the lowest unit price of any tier in fen, -1 when unpriced (column; matching bounds a price)
MIN_PRICE = "min_price"
#: products: each held, unexpired certification with its last day, "CODE:YYYYMMDD" (0: no end date) (column;
#: matching checks validity on a request's date)
CERT_UNTIL = "cert_until"
#: requests: quantity asked for (column; range filter, sort)
QUANTITY = "quantity"
#: requests: last day quotes are taken, as the integer YYYYMMDD (column; range filter, sort)
DEADLINE = "deadline"

#: the product kind's column fields the engine loads into arrays, and whether each holds text or integers
COLUMN_FIELDS = {
    ID: int, SKU_KEY: str, CATEGORY: str, HS: str, PROVINCE: str, CITY: str, CERTS: str,
    PRICE: int, MOQ: int, TARIFF_HIT: int, DOMESTIC_READY: int, VERIFIED: int, PUBLISHED: int, COMPANY: int,
    CAPACITY: int, READINESS: str, TIERS: str, CERT_UNTIL: str, MIN_PRICE: int,
}


def _presence_text(analyzer) -> fields.TEXT:
    """A TEXT field that records only which documents contain a term (no counts, no positions).

    Its postings carry no weights, which Whoosh stores as nothing: the index shrank by a third.
    Relevance comes from the title field (with counts and positions) on top of "contains".
    """
    field = fields.TEXT(analyzer=analyzer, phrase=False)
    field.format = formats.Existence(field_boost=1.0)
    return field


def _stored_column(column) -> fields.COLUMN:
    """A column-only field whose value is stored as well (no postings)."""
    field = fields.COLUMN(column)
    field.stored = True
    return field


def date_key(value: date | None) -> int:
    """A date as the integer YYYYMMDD (0 for none): how deadlines are stored and compared."""
    return value.year * 10000 + value.month * 100 + value.day if value else 0


def sku_key(sku: str | None) -> str:
    """How article numbers compare: lowercase letters and digits only ("RC-2001" → "rc2001")."""
    return "".join(ch for ch in (sku or "").lower() if ch.isalnum())


def product_schema() -> fields.Schema:
    """The Whoosh schema of the product index.

    Only ``ID``, ``TITLE``, ``TEXT`` and ``COMPANY_NAME`` have postings. Filter, facet and sort values are
    column-only fields: the engine reads them per segment into arrays, so they need no terms
    (a ``NUMERIC`` field would index 8–16 terms per value for range queries we never run;
    dropping them halved the build time and the index size).
    """
    analyzer = chinese_analyzer()
    text_column = columns.VarBytesColumn()
    return fields.Schema(**{
        ID: _stored_column(columns.NumericColumn("q", default=0)),
        TITLE: fields.TEXT(analyzer=analyzer, phrase=True, stored=True),
        TEXT: _presence_text(analyzer),
        COMPANY_NAME: _presence_text(analyzer),
        SKU: fields.STORED(),
        SKU_KEY: fields.COLUMN(text_column),
        CATEGORY: fields.COLUMN(text_column),
        HS: fields.COLUMN(text_column),
        PROVINCE: fields.COLUMN(text_column),
        CITY: fields.COLUMN(text_column),
        CERTS: fields.COLUMN(text_column),
        PRICE: fields.COLUMN(columns.NumericColumn("q", default=-1)),
        MOQ: fields.COLUMN(columns.NumericColumn("q", default=0)),
        TARIFF_HIT: fields.COLUMN(columns.NumericColumn("B", default=0)),
        DOMESTIC_READY: fields.COLUMN(columns.NumericColumn("B", default=0)),
        VERIFIED: fields.COLUMN(columns.NumericColumn("B", default=0)),
        PUBLISHED: fields.COLUMN(columns.NumericColumn("q", default=0)),
        COMPANY: fields.COLUMN(columns.NumericColumn("q", default=0)),
        CAPACITY: fields.COLUMN(columns.NumericColumn("q", default=-1)),
        READINESS: fields.COLUMN(text_column),
        TIERS: fields.COLUMN(text_column),
        CERT_UNTIL: fields.COLUMN(text_column),
        MIN_PRICE: fields.COLUMN(columns.NumericColumn("q", default=-1)),
        FINGERPRINT: fields.STORED(),
    })


# ---------------------------------------------------------------------------- records


@dataclass(frozen=True)
class ProductRecord:
    """What the index knows of one public product; filled by the application from its rows."""

    id: int
    sku: str
    company_id: int
    company_name: str
    title_zh: str
    title_en: str | None = None
    #: the exporter's English name (``company_name`` is its Chinese one); both are searchable by exporter
    company_name_en: str | None = None
    description_zh: str | None = None
    description_en: str | None = None
    #: category code and its names in every language (the names are searchable words)
    category: str = "other"
    category_names: tuple[str, ...] = ()
    hs_code: str | None = None
    #: names of the HS chapter/heading (searchable words)
    hs_names: tuple[str, ...] = ()
    brand: str | None = None
    model: str | None = None
    #: (key, value) pairs
    specs: tuple[tuple[str, str], ...] = ()
    province: str | None = None
    city: str | None = None
    #: held, unexpired certification codes
    certifications: tuple[str, ...] = ()
    price_fen: int | None = None
    moq: int = 1
    tariff_hit: bool = False
    domestic_ready: bool = False
    verified: bool = False
    #: UTC publication time
    published_at: datetime | None = None
    #: max(monthly capacity, stock quantity); None when neither is given
    capacity: int | None = None
    #: readiness items met today (codes: ccc, gb_standard, chinese_label, vat_invoice)
    readiness: tuple[str, ...] = ()
    #: (min_quantity, unit price fen) of every price tier, lowest quantity first
    price_tiers: tuple[tuple[int, int], ...] = ()
    #: (certification code, last valid day as YYYYMMDD or 0 for none) of each held, unexpired certification
    cert_until: tuple[tuple[str, int], ...] = ()
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    def fingerprint(self) -> str:
        """A short hash of everything indexed: equal fingerprints mean an up-to-date document."""
        values = tuple(
            value.isoformat() if isinstance(value, datetime) else value
            for value in (getattr(self, name) for name in _FINGERPRINT_FIELDS)
        )
        raw = repr(values)
        return hashlib.blake2b(raw.encode("utf-8"), digest_size=8).hexdigest()


#: every field but ``extra`` (dataclasses.asdict was a tenth of the rebuild time)
_FINGERPRINT_FIELDS = tuple(f.name for f in fields_of(ProductRecord) if f.name != "extra")


def _join(*parts) -> str:
    return "\n".join(p for p in parts if p)


def _epoch(value: datetime | None) -> int:
    return int(value.timestamp()) if value else 0


def to_document(record: ProductRecord) -> dict:
    """The Whoosh document of a product: a pure function of the record."""
    title = _join(record.title_zh, record.title_en)
    specs = " ".join(f"{key} {value}" for key, value in record.specs)
    text = _join(
        title, record.brand, record.model, " ".join(record.category_names), " ".join(record.hs_names),
        specs, record.description_zh, record.description_en,
    )
    return {
        ID: int(record.id),
        TITLE: title,
        TEXT: text,
        COMPANY_NAME: _join(record.company_name, record.company_name_en),
        SKU: record.sku,
        SKU_KEY: sku_key(record.sku).encode(),
        CATEGORY: (record.category or "other").encode(),
        HS: (record.hs_code or "").encode(),
        PROVINCE: (record.province or "").encode(),
        CITY: (record.city or "").encode(),
        CERTS: " ".join(sorted(set(record.certifications))).encode(),
        PRICE: record.price_fen if record.price_fen is not None else -1,
        MOQ: record.moq,
        TARIFF_HIT: int(record.tariff_hit),
        DOMESTIC_READY: int(record.domestic_ready),
        VERIFIED: int(record.verified),
        PUBLISHED: _epoch(record.published_at),
        COMPANY: record.company_id,
        CAPACITY: record.capacity if record.capacity is not None else -1,
        READINESS: " ".join(sorted(set(record.readiness))).encode(),
        TIERS: " ".join(f"{qty}:{fen}" for qty, fen in record.price_tiers).encode(),
        CERT_UNTIL: " ".join(f"{code}:{until}" for code, until in sorted(record.cert_until)).encode(),
        MIN_PRICE: min((fen for _qty, fen in record.price_tiers), default=-1),
        FINGERPRINT: record.fingerprint(),
    }


# ---------------------------------------------------------------------------- kinds

#: the sorts a product search offers
PRODUCT_SORTS = ("relevance", "price_asc", "price_desc", "newest")
#: the filters (``engine.Filters`` attributes) a product search takes
PRODUCT_FILTERS = frozenset({
    "category", "hs_prefix", "province", "city", "certification", "price_min_fen", "price_max_fen", "moq_max",
    "tariff_hit", "domestic_ready", "verified", "company_id",
})
#: the facets a product search counts ("hs_chapter" is derived from ``HS``)
PRODUCT_FACETS = (CATEGORY, "hs_chapter", PROVINCE, CERTS, TARIFF_HIT, DOMESTIC_READY, VERIFIED, COMPANY)


def schema_version(schema: fields.Schema, revision: int = 1) -> str:
    """A short fingerprint of a schema (field names, field and column types) and a manual revision.

    An index built with another version is stale: ``flask index rebuild --if-missing`` rebuilds it.
    """
    parts = [str(revision)]
    for name in sorted(schema.names()):
        field_ = schema[name]
        column = getattr(field_, "column_type", None)
        fmt = getattr(field_, "format", None)
        parts.append(f"{name}:{type(field_).__name__}:{type(column).__name__ if column else ''}:"
                     f"{type(fmt).__name__ if fmt else ''}:{getattr(column, '_typecode', '')}")
    return hashlib.blake2b("|".join(parts).encode(), digest_size=6).hexdigest()


@dataclass(frozen=True)
class IndexKind:
    """One kind of indexed object: everything the engine needs to know about it.

    A kind declares its record type, its Whoosh schema, its pure ``to_document``, the column fields
    the engine loads into arrays (name → ``int`` or ``str``), the filters it takes (``Filters``
    attribute names), the facets it counts and the sorts it offers. Every kind's schema has ``ID``,
    ``TITLE``, ``TEXT``, ``COMPANY_NAME`` and ``FINGERPRINT``; the engine, the drain and the commands
    take the kind.
    """

    name: str
    schema: Callable[[], fields.Schema]
    to_document: Callable[[object], dict]
    record_type: type
    columns: dict = field(default_factory=dict, hash=False, compare=False)
    filters: frozenset = frozenset()
    facets: tuple = ()
    sorts: tuple = ("relevance", "newest")
    #: bump when ``to_document`` changes what it writes without changing the schema
    revision: int = 1

    @property
    def version(self) -> str:
        """The schema version an index of this kind is built with."""
        return schema_version(self.schema(), self.revision)


PRODUCTS = IndexKind(
    name="products", schema=product_schema, to_document=to_document, record_type=ProductRecord,
    columns=COLUMN_FIELDS, filters=PRODUCT_FILTERS, facets=PRODUCT_FACETS, sorts=PRODUCT_SORTS,
    revision=2,  # 2: VERIFIED holds 专精特新 designations only (it held any organizer tag, 链主 included)
)
KINDS = {PRODUCTS.name: PRODUCTS}


def register_kind(kind: IndexKind) -> IndexKind:
    """Add a kind to ``KINDS`` (idempotent by name)."""
    KINDS[kind.name] = kind
    return kind
