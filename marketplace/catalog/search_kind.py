"""The product kind of the search index: which rows touch it, how a product's record is built.

Registered with ``marketplace.search.kinds`` when the catalog package is imported (app start).
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from sqlalchemy.orm import Session, selectinload

from marketplace.accounts.models import Company, CompanyTag, TariffExposure
from marketplace.catalog import hs
from marketplace.catalog.categories import CATEGORY_BY_CODE
from marketplace.catalog.flags import product_tariff_hit
from marketplace.catalog.models import CccStatus, Certification, PriceTier, Product
from marketplace.catalog.services import is_publicly_visible, public_products_query
from marketplace.search import kinds
from marketplace.search.models import KIND_COMPANY, KIND_PRODUCT
from search_index import PRODUCTS, ProductRecord
from search_index.schemas import date_key


def change_key(session, obj, change: str) -> tuple[str, int | None] | None:
    """The index change an object's flush means (``change``: new, dirty or deleted), or None."""
    if isinstance(obj, Product):
        if change == "dirty" and not session.is_modified(obj, include_collections=False):
            return None
        return KIND_PRODUCT, obj.id
    if isinstance(obj, (PriceTier, Certification)):
        product_id = obj.product_id or (obj.product.id if obj.product is not None else None)
        return (KIND_PRODUCT, product_id) if product_id else None
    if isinstance(obj, Company):
        if change == "new":
            return None  # a new company has no products yet
        if change == "dirty" and not _indexed_company_change(obj):
            return None
        return KIND_COMPANY, obj.id
    if isinstance(obj, (CompanyTag, TariffExposure)) and obj.company_id:
        return KIND_COMPANY, obj.company_id
    return None


#: company attributes that appear in its products' documents
_COMPANY_INDEXED = ("name_zh", "name_en", "province_code", "city_code", "verification")


def _indexed_company_change(company: Company) -> bool:
    state = sa.inspect(company)
    return any(state.attrs[name].history.has_changes() for name in _COMPANY_INDEXED)


def category_names(code: str) -> tuple[str, ...]:
    """A category's names in every language (searchable words)."""
    category = CATEGORY_BY_CODE.get(code)
    if category is None:
        return ()
    names = []
    for locale in current_app.config.get("LANGUAGES", ["zh_CN", "en"]):
        with force_locale(locale):
            names.append(str(category.label))
    return tuple(dict.fromkeys(names))


def hs_names(code: str | None) -> tuple[str, ...]:
    """The Chinese name of an HS code's heading (or chapter): searchable words."""
    if not code:
        return ()
    names = []
    for prefix in (code[:4], code[:2]):
        entry = hs.lookup(prefix)
        if entry is not None and entry.name_zh:
            names.append(entry.name_zh)
            break
    return tuple(names)


def product_record(product: Product, today: date | None = None, _labels_cache: dict | None = None) -> ProductRecord:
    """The index's view of a public product."""
    company = product.company
    # the model's rules count expiry (today in China unless given): an expired CCC is no CCC
    certs = {c.kind for c in product.valid_certifications(today)}
    if product.ccc_status_on(today) is CccStatus.HELD:
        certs.add("CCC")
    labels_cache = _labels_cache if _labels_cache is not None else {}
    if product.category not in labels_cache:
        labels_cache[product.category] = category_names(product.category)
    return ProductRecord(
        id=product.id, sku=product.sku, company_id=company.id,
        company_name=company.name_zh, company_name_en=company.name_en,
        title_zh=product.title_zh, title_en=product.title_en,
        description_zh=product.description_zh, description_en=product.description_en,
        category=product.category, category_names=labels_cache[product.category],
        hs_code=product.hs_code, hs_names=hs_names(product.hs_code),
        brand=product.brand, model=product.model,
        specs=tuple((str(k), str(v)) for k, v in (product.specs or [])),
        province=company.province_code, city=company.city_code,
        certifications=tuple(sorted(certs)), price_fen=product.base_price_fen, moq=product.moq,
        tariff_hit=product_tariff_hit(product, company),
        domestic_ready=product.is_domestic_ready(today), verified=company.is_zjtx,
        published_at=product.published_at or product.created_at,
        capacity=max((v for v in (product.monthly_capacity, product.stock_quantity) if v is not None), default=None),
        readiness=product.readiness_met(today),
        price_tiers=tuple((tier.min_quantity, tier.unit_price_fen) for tier in product.price_tiers),
        cert_until=cert_until(product, certs, today),
    )


def cert_until(product: Product, held: set[str], today: date | None = None) -> tuple[tuple[str, int], ...]:
    """Each held certification with the last day its longest-running valid certificate covers (0: open-ended,
    as is a CCC declared held without a certificate on file)."""
    until: dict[str, int] = {}
    for cert in product.valid_certifications(today):
        last = date_key(cert.expires_on) if cert.expires_on else 0
        known = until.get(cert.kind)
        until[cert.kind] = 0 if (known == 0 or last == 0) else max(known or 0, last)
    for code in held:
        until.setdefault(code, 0)
    return tuple(sorted(until.items()))


def _load_products(session: Session, ids: Iterable[int]) -> list[Product]:
    ids = list(ids)
    products: list[Product] = []
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        products.extend(session.scalars(
            sa.select(Product).where(Product.id.in_(chunk)).options(
                selectinload(Product.price_tiers), selectinload(Product.certifications),
                selectinload(Product.company).selectinload(Company.tags),
                selectinload(Product.company).selectinload(Company.exposures),
            )
        ))
    return products


def records_for(session: Session, product_ids: Iterable[int]) -> tuple[list[ProductRecord], list[int]]:
    """(records of the public ones, ids of the rest) for the given product ids."""
    wanted = set(product_ids)
    labels_cache: dict = {}
    records, found = [], set()
    for product in _load_products(session, wanted):
        found.add(product.id)
        if is_publicly_visible(product):
            records.append(product_record(product, _labels_cache=labels_cache))
    public = {record.id for record in records}  # once: built per id, it made a 10,000-change drain quadratic
    deletes = sorted(pid for pid in wanted if pid not in public)
    return records, deletes


def iter_public_records(session: Session, batch: int = 1000) -> Iterator[ProductRecord]:
    """Every public product's record, in id order, read in batches (for rebuild and check)."""
    labels_cache: dict = {}
    last_id = 0
    while True:
        ids = session.scalars(
            public_products_query().with_only_columns(Product.id)
            .where(Product.id > last_id).order_by(Product.id).limit(batch)
        ).all()
        if not ids:
            return
        for product in sorted(_load_products(session, ids), key=lambda p: p.id):
            yield product_record(product, _labels_cache=labels_cache)
        session.expunge_all()
        last_id = ids[-1]


def object_ids(session: Session, index, changes: list[tuple[int, str, int]]) -> set[int]:
    """Ids of the products a batch of change rows touches (a company change: all its products)."""
    product_ids = {object_id for _id, kind, object_id in changes if kind == KIND_PRODUCT}
    company_ids = {object_id for _id, kind, object_id in changes if kind == KIND_COMPANY}
    if company_ids:
        product_ids.update(session.scalars(sa.select(Product.id).where(Product.company_id.in_(company_ids))))
        for company_id in company_ids:  # documents of products deleted with their company
            product_ids.update(index.company_doc_ids(company_id))
    return product_ids


kinds.register(kinds.AppKind(
    index_kind=PRODUCTS, change_key=change_key, object_ids=object_ids,
    records_for=lambda session, ids: records_for(session, ids),
    iter_public_records=lambda session, batch=1000: iter_public_records(session, batch), noun="products",
))
