"""The procurement-request kind: ``RequestRecord``, its schema and ``request_to_document()``.

Only open, public requests are indexed (the application decides; invited-only requests never
reach this module). The request board searches this kind: Chinese full text over title,
description, category and HS names, filters and facets on category, HS, delivery place,
required certifications, quantity and deadline.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from dataclasses import fields as fields_of
from datetime import date, datetime

from whoosh import columns, fields

from search_index import schemas
from search_index.analysis import chinese_analyzer
from search_index.schemas import (
    CATEGORY,
    CERTS,
    CITY,
    COMPANY,
    COMPANY_NAME,
    DEADLINE,
    FINGERPRINT,
    HS,
    ID,
    PRICE,
    PROVINCE,
    PUBLISHED,
    QUANTITY,
    TEXT,
    TITLE,
    IndexKind,
    _presence_text,
    _stored_column,
    date_key,
)

#: the unit of the quantity, as written (stored)
UNIT = "unit"
#: whole budget in integer fen, -1 when none (column)
BUDGET = "budget"
#: last change, seconds since the epoch (column)
UPDATED = "updated"
#: lifecycle state and visibility, as their codes (stored; only open/public are indexed)
STATE = "state"
VISIBILITY = "visibility"

REQUEST_COLUMNS = {
    ID: int, CATEGORY: str, HS: str, PROVINCE: str, CITY: str, CERTS: str, QUANTITY: int, PRICE: int,
    BUDGET: int, DEADLINE: int, PUBLISHED: int, UPDATED: int, COMPANY: int,
}
REQUEST_FILTERS = frozenset({
    "category", "hs_prefix", "province", "city", "certification", "quantity_min", "quantity_max",
    "deadline_from", "deadline_to", "company_id",
})
REQUEST_FACETS = (CATEGORY, "hs_chapter", PROVINCE, CERTS)
REQUEST_SORTS = ("relevance", "newest", "deadline", "quantity")


def request_schema() -> fields.Schema:
    """The Whoosh schema of the request index (same text fields as products; request columns)."""
    analyzer = chinese_analyzer()
    text_column = columns.VarBytesColumn()
    return fields.Schema(**{
        ID: _stored_column(columns.NumericColumn("q", default=0)),
        TITLE: fields.TEXT(analyzer=analyzer, phrase=True, stored=True),
        TEXT: _presence_text(analyzer),
        COMPANY_NAME: _presence_text(analyzer),
        CATEGORY: fields.COLUMN(text_column),
        HS: fields.COLUMN(text_column),
        PROVINCE: fields.COLUMN(text_column),
        CITY: fields.COLUMN(text_column),
        CERTS: fields.COLUMN(text_column),
        QUANTITY: fields.COLUMN(columns.NumericColumn("q", default=0)),
        UNIT: fields.STORED(),
        PRICE: fields.COLUMN(columns.NumericColumn("q", default=-1)),
        BUDGET: fields.COLUMN(columns.NumericColumn("q", default=-1)),
        DEADLINE: fields.COLUMN(columns.NumericColumn("q", default=0)),
        PUBLISHED: fields.COLUMN(columns.NumericColumn("q", default=0)),
        UPDATED: fields.COLUMN(columns.NumericColumn("q", default=0)),
        COMPANY: fields.COLUMN(columns.NumericColumn("q", default=0)),
        STATE: fields.STORED(),
        VISIBILITY: fields.STORED(),
        FINGERPRINT: fields.STORED(),
    })


@dataclass(frozen=True)
class RequestRecord:
    """What the index knows of one open, public procurement request."""

    id: int
    buyer_company_id: int
    buyer_company_name: str
    title: str
    deadline: date
    quantity: int
    unit: str
    buyer_company_name_en: str | None = None
    description: str | None = None
    category: str = "other"
    category_names: tuple[str, ...] = ()
    hs_code: str | None = None
    hs_names: tuple[str, ...] = ()
    target_unit_price_fen: int | None = None
    budget_fen: int | None = None
    delivery_province: str | None = None
    delivery_city: str | None = None
    required_certifications: tuple[str, ...] = ()
    state: str = "open"
    visibility: str = "public"
    published_at: datetime | None = None
    updated_at: datetime | None = None
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    def fingerprint(self) -> str:
        """A short hash of everything indexed: equal fingerprints mean an up-to-date document."""
        values = tuple(
            value.isoformat() if isinstance(value, (date, datetime)) else value
            for value in (getattr(self, name) for name in _FINGERPRINT_FIELDS)
        )
        return hashlib.blake2b(repr(values).encode("utf-8"), digest_size=8).hexdigest()


_FINGERPRINT_FIELDS = tuple(f.name for f in fields_of(RequestRecord) if f.name != "extra")


def _epoch(value: datetime | None) -> int:
    return int(value.timestamp()) if value else 0


def request_to_document(record: RequestRecord) -> dict:
    """The Whoosh document of a procurement request: a pure function of the record."""
    text = "\n".join(part for part in (
        record.title, " ".join(record.category_names), " ".join(record.hs_names), record.description,
    ) if part)
    return {
        ID: int(record.id),
        TITLE: record.title,
        TEXT: text,
        COMPANY_NAME: "\n".join(p for p in (record.buyer_company_name, record.buyer_company_name_en) if p),
        CATEGORY: (record.category or "other").encode(),
        HS: (record.hs_code or "").encode(),
        PROVINCE: (record.delivery_province or "").encode(),
        CITY: (record.delivery_city or "").encode(),
        CERTS: " ".join(sorted(set(record.required_certifications))).encode(),
        QUANTITY: int(record.quantity),
        UNIT: record.unit,
        PRICE: record.target_unit_price_fen if record.target_unit_price_fen is not None else -1,
        BUDGET: record.budget_fen if record.budget_fen is not None else -1,
        DEADLINE: date_key(record.deadline),
        PUBLISHED: _epoch(record.published_at),
        UPDATED: _epoch(record.updated_at),
        COMPANY: int(record.buyer_company_id),
        STATE: record.state,
        VISIBILITY: record.visibility,
        FINGERPRINT: record.fingerprint(),
    }


REQUESTS = schemas.register_kind(IndexKind(
    name="requests", schema=request_schema, to_document=request_to_document, record_type=RequestRecord,
    columns=REQUEST_COLUMNS, filters=REQUEST_FILTERS, facets=REQUEST_FACETS, sorts=REQUEST_SORTS,
))
