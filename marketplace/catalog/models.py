"""Catalog models: products, their price tiers, certifications and images.

Owns: the tables of the catalog feature. Imports only extensions, database helpers and
accounts models.
"""
from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.accounts.models import Company
from marketplace.database import UTCDateTime, enum_column, utcnow
from marketplace.extensions import db
from marketplace.i18n import _l, today_in_china


class ProductStatus(enum.Enum):
    """Draft → published → archived; only published products of verified companies are public."""

    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"

    @property
    def label(self):
        return {
            ProductStatus.DRAFT: _l("Draft"),
            ProductStatus.PUBLISHED: _l("Published"),
            ProductStatus.ARCHIVED: _l("Archived"),
        }[self]


class StockLocation(enum.Enum):
    """Where the stock on hand lies."""

    FACTORY = "factory"
    PORT = "port"
    BONDED = "bonded"

    @property
    def label(self):
        return {
            StockLocation.FACTORY: _l("Factory"),
            StockLocation.PORT: _l("Port"),
            StockLocation.BONDED: _l("Bonded warehouse"),
        }[self]


class CccStatus(enum.Enum):
    """China Compulsory Certification: held, not needed for the category, or missing."""

    HELD = "held"
    NOT_NEEDED = "not_needed"
    MISSING = "missing"

    @property
    def label(self):
        return {
            CccStatus.HELD: _l("CCC held"),
            CccStatus.NOT_NEEDED: _l("CCC not required"),
            CccStatus.MISSING: _l("CCC missing"),
        }[self]


class Product(db.Model):
    """An exporter's product, listed for domestic buyers."""

    __tablename__ = "products"
    __table_args__ = (
        sa.UniqueConstraint("company_id", "sku", name="uq_products_company_sku"),
        sa.Index("ix_products_status_company", "status", "company_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    #: the exporter's own article number; unique within the company, the key of re-imports
    sku: Mapped[str] = mapped_column(sa.String(64))
    title_zh: Mapped[str] = mapped_column(sa.String(200))
    title_en: Mapped[str | None] = mapped_column(sa.String(200))
    description_zh: Mapped[str | None] = mapped_column(sa.Text)
    description_en: Mapped[str | None] = mapped_column(sa.Text)
    #: HS chapter (2 digits) or heading (4 digits), from data/hs_chapters_headings.csv
    hs_code: Mapped[str | None] = mapped_column(sa.String(10), index=True)
    #: category code from marketplace.catalog.categories
    category: Mapped[str] = mapped_column(sa.String(32), index=True)
    brand: Mapped[str | None] = mapped_column(sa.String(100))
    model: Mapped[str | None] = mapped_column(sa.String(100))
    #: [[key, value], …] in display order
    specs: Mapped[list] = mapped_column(sa.JSON, default=list)
    unit: Mapped[str] = mapped_column(sa.String(20))
    moq: Mapped[int] = mapped_column(sa.Integer)
    monthly_capacity: Mapped[int | None] = mapped_column(sa.Integer)
    stock_quantity: Mapped[int | None] = mapped_column(sa.Integer)
    stock_location: Mapped[StockLocation | None] = mapped_column(enum_column(StockLocation))
    lead_time_days: Mapped[int | None] = mapped_column(sa.Integer)
    #: ISO 3166-1 alpha-2 of the market the product was made for
    former_export_market: Mapped[str | None] = mapped_column(sa.String(2))
    tariff_note: Mapped[str | None] = mapped_column(sa.String(300))
    # domestic-readiness checklist
    ccc_status: Mapped[CccStatus] = mapped_column(enum_column(CccStatus), default=CccStatus.MISSING)
    gb_standard: Mapped[str | None] = mapped_column(sa.String(100))
    gb_standard_met: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    chinese_label_ready: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    vat_invoice: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    status: Mapped[ProductStatus] = mapped_column(enum_column(ProductStatus), default=ProductStatus.DRAFT)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    company: Mapped[Company] = relationship()
    price_tiers: Mapped[list[PriceTier]] = relationship(
        back_populates="product", cascade="all, delete-orphan", order_by="PriceTier.min_quantity"
    )
    certifications: Mapped[list[Certification]] = relationship(
        back_populates="product", cascade="all, delete-orphan", order_by="Certification.id"
    )
    images: Mapped[list[ProductImage]] = relationship(
        back_populates="product", cascade="all, delete-orphan", order_by="ProductImage.position"
    )

    def __repr__(self) -> str:
        return f"<Product {self.id} {self.company_id}/{self.sku} {self.status.value}>"

    # Certificates run out: every place that shows or filters on compliance (badge, checklist,
    # search index, exports) asks these methods, which count expiry on today's date in China.

    def valid_certifications(self, today: date | None = None) -> list[Certification]:
        """The certificates that have not run out on ``today`` (Asia/Shanghai by default)."""
        today = today or today_in_china()
        return [cert for cert in self.certifications if not cert.is_expired(today)]

    def ccc_expired(self, today: date | None = None) -> bool:
        """CCC is declared held, but every CCC certificate listed has run out."""
        if self.ccc_status is not CccStatus.HELD:
            return False
        today = today or today_in_china()
        ccc = [cert for cert in self.certifications if cert.kind == "CCC"]
        return bool(ccc) and all(cert.is_expired(today) for cert in ccc)

    def ccc_status_on(self, today: date | None = None) -> CccStatus:
        """The CCC status that holds on ``today``: a held CCC whose certificates all expired is missing."""
        return CccStatus.MISSING if self.ccc_expired(today) else self.ccc_status

    def is_domestic_ready(self, today: date | None = None) -> bool:
        """All four checks of the domestic-readiness checklist pass on ``today``."""
        return (
            self.ccc_status_on(today) in (CccStatus.HELD, CccStatus.NOT_NEEDED)
            and self.gb_standard_met
            and self.chinese_label_ready
            and self.vat_invoice
        )

    def readiness_met(self, today: date | None = None) -> tuple[str, ...]:
        """The readiness items met on ``today`` (sourcing's READINESS_ITEMS codes; an expired CCC is not met)."""
        met = []
        if self.ccc_status_on(today) in (CccStatus.HELD, CccStatus.NOT_NEEDED):
            met.append("ccc")
        if self.gb_standard_met:
            met.append("gb_standard")
        if self.chinese_label_ready:
            met.append("chinese_label")
        if self.vat_invoice:
            met.append("vat_invoice")
        return tuple(met)

    @property
    def domestic_ready(self) -> bool:
        """All four checks of the domestic-readiness checklist pass today (an expired CCC fails)."""
        return self.is_domestic_ready()

    @property
    def base_price_fen(self) -> int | None:
        """The unit price at the MOQ (the first tier)."""
        return self.price_tiers[0].unit_price_fen if self.price_tiers else None


class PriceTier(db.Model):
    """A quantity break of the domestic wholesale price: from ``min_quantity`` units on."""

    __tablename__ = "price_tiers"
    __table_args__ = (sa.UniqueConstraint("product_id", "min_quantity", name="uq_price_tiers_product_qty"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id", ondelete="CASCADE"), index=True)
    min_quantity: Mapped[int] = mapped_column(sa.Integer)
    unit_price_fen: Mapped[int] = mapped_column(sa.BigInteger)

    product: Mapped[Product] = relationship(back_populates="price_tiers")

    def __repr__(self) -> str:
        return f"<PriceTier {self.product_id} ≥{self.min_quantity} {self.unit_price_fen} fen>"


class Certification(db.Model):
    """A certificate the product holds (CCC, ISO 9001, CE …), with number and expiry."""

    __tablename__ = "certifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id", ondelete="CASCADE"), index=True)
    #: code from marketplace.catalog.certifications (CCC, ISO9001, CE, …)
    kind: Mapped[str] = mapped_column(sa.String(20))
    number: Mapped[str | None] = mapped_column(sa.String(100))
    expires_on: Mapped[date | None] = mapped_column(sa.Date)

    product: Mapped[Product] = relationship(back_populates="certifications")

    def __repr__(self) -> str:
        return f"<Certification {self.product_id} {self.kind} {self.number}>"

    def is_expired(self, today: date | None = None) -> bool:
        """Whether the certificate has run out (valid through its expiry day, in Asia/Shanghai)."""
        return self.expires_on is not None and self.expires_on < (today or today_in_china())


class ProductImage(db.Model):
    """An uploaded product image, re-encoded, with a thumbnail, stored under UPLOAD_DIR."""

    __tablename__ = "product_images"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(sa.Integer, default=0)
    #: stored file name (random), relative to UPLOAD_DIR/products/
    filename: Mapped[str] = mapped_column(sa.String(100), unique=True)
    thumbnail: Mapped[str] = mapped_column(sa.String(100))
    content_type: Mapped[str] = mapped_column(sa.String(50))
    width: Mapped[int] = mapped_column(sa.Integer)
    height: Mapped[int] = mapped_column(sa.Integer)
    size_bytes: Mapped[int] = mapped_column(sa.Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    product: Mapped[Product] = relationship(back_populates="images")

    def __repr__(self) -> str:
        return f"<ProductImage {self.product_id} #{self.position} {self.filename}>"


# the import job table serves every kind of import; it lives with the import machinery
from marketplace.imports.models import ImportJob, ImportJobStatus  # noqa: E402,F401
