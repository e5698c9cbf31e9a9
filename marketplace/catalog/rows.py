"""The catalog's one input shape: ``ProductInput`` (with its price tiers and certificates) and its limits.

Owns: the typed, normalised values of one product as the product form and the spreadsheet import
both build them and ``services.create_product`` / ``update_product`` / ``import_products`` write
them; ``product_to_row`` reads a Product back into the same keys for exports. The shared cell
parsers (``parse_int``, ``parse_price``, ``parse_date``, ``clean_text``) are re-exported from
``marketplace.imports.cells`` for the forms that read the same values. Plain data: no database,
no Flask views or forms.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date

from marketplace.catalog.models import CccStatus, StockLocation
from marketplace.imports.cells import (  # noqa: F401 (re-exported for the forms)
    MAX_INT,
    MAX_PRICE_FEN,
    CellError,
    clean_text,
    parse_date,
    parse_int,
    parse_price,
)
from marketplace.imports.columns import ValidationResult  # noqa: F401 (the import's result, for services)

MAX_PRICE_TIERS = 10
MAX_CERTIFICATIONS = 20
MAX_SPECS = 50
MAX_SPEC_KEY = 50
MAX_SPEC_VALUE = 200
MAX_LEAD_TIME_DAYS = 3650


@dataclass(frozen=True)
class PriceTierInput:
    """From ``min_quantity`` units on, each costs ``unit_price_fen``."""

    min_quantity: int
    unit_price_fen: int


@dataclass(frozen=True)
class CertificationInput:
    """A certificate: kind (a CERTIFICATION_CODES code), number and expiry."""

    kind: str
    number: str | None = None
    expires_on: date | None = None


@dataclass
class ProductInput:
    """One valid row, typed and normalised, named as ``Product``'s attributes.

    ``provided`` holds the columns the file has (``price`` counts as ``price_tiers``): when a row
    updates an existing product by SKU, only those attributes should be overwritten; an empty cell
    in a provided column clears the value.
    """

    sku: str
    title_zh: str
    category: str
    unit: str
    moq: int
    price_tiers: list[PriceTierInput]
    title_en: str | None = None
    description_zh: str | None = None
    description_en: str | None = None
    hs_code: str | None = None  # digits only
    brand: str | None = None
    model: str | None = None
    specs: list[list[str]] = field(default_factory=list)
    monthly_capacity: int | None = None
    stock_quantity: int | None = None
    stock_location: StockLocation | None = None
    lead_time_days: int | None = None
    former_export_market: str | None = None  # ISO 3166-1 alpha-2
    tariff_note: str | None = None
    ccc_status: CccStatus = CccStatus.MISSING
    gb_standard: str | None = None
    gb_standard_met: bool = False
    chinese_label_ready: bool = False
    vat_invoice: bool = False
    certifications: list[CertificationInput] = field(default_factory=list)
    provided: frozenset[str] = field(default=frozenset(), compare=False)

    def as_row(self) -> dict:
        """The values as a dict of canonical keys (what ``export_rows`` takes), without ``provided``."""
        return {name: getattr(self, name) for name in PRODUCT_FIELDS}


PRODUCT_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(ProductInput) if f.name != "provided")


def product_to_row(product) -> dict:
    """A Product (ORM object, only read) as the dict of canonical keys ``export_rows`` writes."""
    row = {name: getattr(product, name) for name in PRODUCT_FIELDS
           if name not in ("price_tiers", "certifications", "specs")}
    row["specs"] = [list(pair) for pair in (product.specs or [])]
    row["price_tiers"] = [PriceTierInput(tier.min_quantity, tier.unit_price_fen) for tier in product.price_tiers]
    row["certifications"] = [CertificationInput(c.kind, c.number, c.expires_on) for c in product.certifications]
    row["ccc_status"] = product.ccc_status_on()  # a CCC whose certificates all expired is exported as missing
    return row

