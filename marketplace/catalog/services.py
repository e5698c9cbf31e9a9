"""Catalog services: every write to products, and the queries that decide who sees what.

Owns: creating and updating products from a ``ProductInput`` (the one shape shared by the
product form and the spreadsheet import), status changes, visibility, and importing a
validated spreadsheet (preview, then commit, updating by SKU). Raises marketplace.errors.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from marketplace.accounts.models import Company, CompanyKind, Role, User, Verification
from marketplace.catalog import images
from marketplace.catalog.models import Certification, PriceTier, Product, ProductImage, ProductStatus
from marketplace.catalog.rows import PRODUCT_FIELDS, ProductInput, ValidationResult
from marketplace.database import utcnow
from marketplace.errors import NotFound, PermissionDenied, ValidationFailed
from marketplace.extensions import db
from marketplace.i18n import _l, fen_to_yuan
from marketplace.inputs import page_number

logger = logging.getLogger(__name__)

_SCALAR_FIELDS = tuple(name for name in PRODUCT_FIELDS if name not in ("sku", "price_tiers", "certifications"))


# --------------------------------------------------------------------------- permissions


def check_can_edit_catalog(actor: User, company: Company) -> None:
    """Only an exporter's own users (and platform admins) change its catalog."""
    if actor is None or not actor.is_authenticated:
        raise PermissionDenied(_l("Please log in."))
    if company.kind is not CompanyKind.EXPORTER:
        raise PermissionDenied(_l("Only exporters have a product catalog."))
    if actor.company_id != company.id and actor.role is not Role.PLATFORM_ADMIN:
        raise PermissionDenied(_l("You can only change your own company's products."))


def can_edit_product(viewer: User | None, product: Product) -> bool:
    """Whether the viewer may edit the product (``check_can_edit_catalog`` as a yes/no, for pages)."""
    try:
        check_can_edit_catalog(viewer, product.company)
    except PermissionDenied:
        return False
    return True


def get_product_for_edit(actor: User, product_id: int) -> Product:
    """The product if the actor may edit it: 404 when it does not exist, 403 when it is another company's."""
    product = db.session.get(Product, product_id)
    if product is None:
        raise NotFound(_l("This product does not exist."))
    check_can_edit_catalog(actor, product.company)
    return product


# --------------------------------------------------------------------------- visibility


def public_products_query():
    """Products buyers may see: published, of a verified company."""
    return (
        sa.select(Product)
        .join(Company, Product.company_id == Company.id)
        .where(Product.status == ProductStatus.PUBLISHED, Company.verification == Verification.VERIFIED)
    )


def is_publicly_visible(product: Product) -> bool:
    """Whether buyers and visitors may see this product."""
    return product.status is ProductStatus.PUBLISHED and product.company.is_verified


def _is_insider(viewer: User | None, company_id: int) -> bool:
    # the company's own users, and platform admins (who may also edit any catalog); organizers
    # verify companies but do not read unpublished catalogs, so they are not insiders
    return bool(viewer is not None and getattr(viewer, "is_authenticated", False) and (
        viewer.company_id == company_id or viewer.role is Role.PLATFORM_ADMIN
    ))


def can_view_product(viewer: User | None, product: Product) -> bool:
    """The one visibility rule: public products for everyone; drafts, archived and unverified ones for insiders.

    Insiders are the owning company's users and platform admins. Every read path of a single
    product (the product page, the order-intent form) asks this function.
    """
    return is_publicly_visible(product) or _is_insider(viewer, product.company_id)


def can_view_storefront(viewer: User | None, company: Company) -> bool:
    """Whether the viewer may open the company's storefront: a verified exporter's, or an insider's own."""
    return company.kind is CompanyKind.EXPORTER and (company.is_verified or _is_insider(viewer, company.id))


def get_visible_product(viewer: User | None, product_id: int) -> Product:
    """A product as ``can_view_product`` lets the viewer see it; 404 otherwise (as for an unknown id)."""
    product = db.session.get(
        Product, product_id,
        options=[selectinload(Product.price_tiers), selectinload(Product.certifications), selectinload(Product.images)],
    )
    if product is None or not can_view_product(viewer, product):
        raise NotFound(_l("This product does not exist."))
    return product


# --------------------------------------------------------------------------- writes


def price_tier_problems(moq: int, tiers) -> list[tuple[int, str]]:
    """What is wrong with a product's price breaks, as (index, message): the first starts at the MOQ, no
    quantity twice, quantities rising, unit prices never rising. The API checks a body with it; the product
    form and the import state the same rules per field and cell. ``_check_input`` still enforces only the
    order (products written by other paths, fixtures among them, may start below their MOQ)."""
    problems: list[tuple[int, str]] = []
    previous = None
    seen: set[int] = set()
    for index, tier in enumerate(tiers):
        quantity, fen = tier.min_quantity, tier.unit_price_fen
        if index == 0 and quantity != moq:
            problems.append((index, _l("The first price break must start at the MOQ (%(moq)s), not at "
                                      "%(quantity)s.", moq=moq, quantity=quantity)))
        elif quantity in seen:
            problems.append((index, _l("The quantity %(quantity)s appears twice in the price breaks.",
                                      quantity=quantity)))
        elif previous and quantity < previous[0]:
            problems.append((index, _l("Price breaks out of order: %(quantity)s comes after %(previous)s; list "
                                      "them from the smallest quantity up.", quantity=quantity,
                                      previous=previous[0])))
        elif previous and fen > previous[1]:
            problems.append((index, _l("The price rises from %(previous)s to %(price)s at %(quantity)s: a larger "
                                      "quantity should not cost more per unit.", previous=fen_to_yuan(previous[1]),
                                      price=fen_to_yuan(fen), quantity=quantity)))
        seen.add(quantity)
        previous = (quantity, fen)
    return problems


def _check_input(data: ProductInput) -> None:
    if not data.price_tiers:
        raise ValidationFailed(_l("Give at least one price."), "price_tiers")
    quantities = [tier.min_quantity for tier in data.price_tiers]
    if quantities != sorted(set(quantities)):
        raise ValidationFailed(_l("Price breaks must go from the smallest quantity to the largest."), "price_tiers")


def apply_input(product: Product, data: ProductInput, only: frozenset[str] | None = None) -> None:
    """Copy the input onto the product; ``only`` limits it to the columns a file provided."""
    for name in _SCALAR_FIELDS:
        if only is None or name in only:
            setattr(product, name, getattr(data, name))
    if only is None or "price_tiers" in only:
        # Keep the rows whose quantity stays and insert only new quantities: replacing every row
        # would insert (product, quantity) pairs before the flush deletes the old ones, which the
        # unique constraint refuses.
        existing = {tier.min_quantity: tier for tier in product.price_tiers}
        tiers = []
        for tier in data.price_tiers:
            row = existing.get(tier.min_quantity) or PriceTier(min_quantity=tier.min_quantity)
            row.unit_price_fen = tier.unit_price_fen
            tiers.append(row)
        product.price_tiers = tiers
    if only is None or "certifications" in only:
        product.certifications = [
            Certification(kind=cert.kind, number=cert.number, expires_on=cert.expires_on)
            for cert in data.certifications
        ]


def _sku_taken(company_id: int, sku: str, except_id: int | None = None) -> bool:
    query = sa.select(Product.id).where(Product.company_id == company_id, Product.sku == sku)
    if except_id is not None:
        query = query.where(Product.id != except_id)
    return db.session.scalar(query) is not None


def create_product(actor: User, company: Company, data: ProductInput, publish: bool = False) -> Product:
    """Add a product (a draft unless ``publish``) to the company's catalog."""
    check_can_edit_catalog(actor, company)
    _check_input(data)
    if _sku_taken(company.id, data.sku):
        raise ValidationFailed(_l("Your catalog already has a product with SKU %(sku)s.", sku=data.sku), "sku")
    product = Product(company=company, sku=data.sku, status=ProductStatus.DRAFT)
    apply_input(product, data)
    if publish:
        _set_status(product, ProductStatus.PUBLISHED)
    db.session.add(product)
    db.session.commit()
    logger.info("product %s created by user %s", product.id, actor.id)
    return product


def update_product(actor: User, product: Product, data: ProductInput, publish: bool = False) -> Product:
    """Change a product's details (its SKU too, while unique in the company); ``publish`` publishes it too."""
    check_can_edit_catalog(actor, product.company)
    _check_input(data)
    if data.sku != product.sku and _sku_taken(product.company_id, data.sku, except_id=product.id):
        raise ValidationFailed(_l("Your catalog already has a product with SKU %(sku)s.", sku=data.sku), "sku")
    product.sku = data.sku
    apply_input(product, data)
    if publish:
        _set_status(product, ProductStatus.PUBLISHED)
    product.updated_at = utcnow()
    db.session.commit()
    return product


def _set_status(product: Product, status: ProductStatus) -> None:
    if status is ProductStatus.PUBLISHED and product.published_at is None:
        product.published_at = utcnow()
    product.status = status


def set_products_status(actor: User, company: Company, product_ids: list[int], status: ProductStatus) -> int:
    """Publish, archive or return to draft several of the company's products at once; returns how many."""
    check_can_edit_catalog(actor, company)
    ids = {int(i) for i in product_ids}
    if not ids:
        raise ValidationFailed(_l("Select at least one product."), "product_ids")
    products = db.session.scalars(sa.select(Product).where(Product.id.in_(ids))).all()
    if len(products) != len(ids) or any(p.company_id != company.id for p in products):
        raise PermissionDenied(_l("You can only change your own company's products."))
    for product in products:
        _set_status(product, status)
    db.session.commit()
    return len(products)


# --------------------------------------------------------------------------- import


@dataclass
class ImportPlan:
    """What an import will do: the rows it creates and updates, and the rows it cannot take."""

    creates: list[ProductInput] = field(default_factory=list)
    updates: list[ProductInput] = field(default_factory=list)
    rejected_rows: int = 0

    @property
    def total(self) -> int:
        return len(self.creates) + len(self.updates)


@dataclass
class ImportOutcome:
    """What an import did."""

    created: int
    updated: int
    published: int
    rejected_rows: int


def plan_import(company: Company, result: ValidationResult) -> ImportPlan:
    """Sort the valid rows into new products and updates of existing SKUs (nothing is written)."""
    existing = set(db.session.scalars(sa.select(Product.sku).where(Product.company_id == company.id)))
    plan = ImportPlan(rejected_rows=len(result.invalid_rows))
    for row in result.valid_rows:
        (plan.updates if row.values.sku in existing else plan.creates).append(row.values)
    return plan


def import_products(actor: User, company: Company, result: ValidationResult, publish: bool = False,
                    progress=None) -> ImportOutcome:
    """Write the valid rows in one transaction: new SKUs are created, known SKUs updated.

    ``progress(done, total)`` is called as rows are written. Either every valid row is written
    or, on any error, none is.
    """
    check_can_edit_catalog(actor, company)
    plan = plan_import(company, result)
    existing = {
        p.sku: p
        for p in db.session.scalars(
            sa.select(Product)
            .where(Product.company_id == company.id, Product.sku.in_([d.sku for d in plan.updates] or [""]))
            .options(selectinload(Product.price_tiers), selectinload(Product.certifications))
        )
    }
    done, published = 0, 0
    touched: list[Product] = []
    try:
        for data in plan.creates:
            product = Product(company=company, sku=data.sku, status=ProductStatus.DRAFT)
            apply_input(product, data)
            db.session.add(product)
            touched.append(product)
            done += 1
            if progress and done % 250 == 0:
                progress(done, plan.total)
        for data in plan.updates:
            product = existing[data.sku]
            touched.append(product)
            apply_input(product, data, only=data.provided or None)
            product.updated_at = utcnow()
            done += 1
            if progress and done % 250 == 0:
                progress(done, plan.total)
        if publish:
            for product in touched:
                if product.status is not ProductStatus.PUBLISHED:
                    _set_status(product, ProductStatus.PUBLISHED)
                    published += 1
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    if progress:
        progress(plan.total, plan.total)
    logger.info("import into company %s: %d created, %d updated", company.id, len(plan.creates), len(plan.updates))
    return ImportOutcome(len(plan.creates), len(plan.updates), published, plan.rejected_rows)


# --------------------------------------------------------------------------- listings (product pages)

CATALOG_PER_PAGE = 20
STOREFRONT_PER_PAGE = 24
CATALOG_QUERY_MAX = 100


@dataclass
class CatalogFilter:
    """The exporter's catalog filters: status, category and free text (title or SKU)."""

    status: ProductStatus | None = None
    category: str | None = None
    q: str | None = None

    @property
    def active(self) -> bool:
        """Whether any filter narrows the list."""
        return bool(self.status or self.category or (self.q or "").strip())


def list_catalog(actor: User, company: Company, filters: CatalogFilter, page=1, per_page: int = CATALOG_PER_PAGE):
    """A page of the company's own catalog (every status), newest change first."""
    check_can_edit_catalog(actor, company)
    query = (
        sa.select(Product)
        .where(Product.company_id == company.id)
        .options(selectinload(Product.price_tiers), selectinload(Product.images))
        .order_by(Product.updated_at.desc(), Product.id.desc())
    )
    if filters.status is not None:
        query = query.where(Product.status == filters.status)
    if filters.category:
        query = query.where(Product.category == filters.category)
    text = (filters.q or "").strip()[:CATALOG_QUERY_MAX]
    if text:
        query = query.where(
            sa.or_(
                Product.title_zh.icontains(text, autoescape=True),
                Product.title_en.icontains(text, autoescape=True),
                Product.sku.icontains(text, autoescape=True),
            )
        )
    return db.paginate(query, page=page_number(page), per_page=per_page, error_out=False, count=True)


def get_storefront(viewer: User | None, company_id: int, page=1, per_page: int = STOREFRONT_PER_PAGE):
    """A verified exporter and a page of its published products (``can_view_storefront`` decides who sees it)."""
    company = db.session.get(Company, company_id)
    if company is None or not can_view_storefront(viewer, company):
        raise NotFound(_l("This company has no storefront."))
    query = (
        sa.select(Product)
        .where(Product.company_id == company.id, Product.status == ProductStatus.PUBLISHED)
        .options(selectinload(Product.price_tiers), selectinload(Product.images))
        .order_by(Product.published_at.desc(), Product.id.desc())
    )
    return company, db.paginate(query, page=page_number(page), per_page=per_page, error_out=False, count=True)


# --------------------------------------------------------------------------- images


def _upload_dir() -> str:
    from flask import current_app

    return current_app.config["UPLOAD_DIR"]


def _image_count(product_id: int) -> int:
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(ProductImage).where(ProductImage.product_id == product_id)
    )


def _too_many_images() -> ValidationFailed:
    return ValidationFailed(
        _l("A product can have at most %(limit)s images; delete one before adding another.",
           limit=images.MAX_IMAGES_PER_PRODUCT),
        "image",
    )


def add_product_image(actor: User, product: Product, data: bytes) -> ProductImage:
    """Check, re-encode and store an uploaded image as the product's last one (at most 8 per product)."""
    check_can_edit_catalog(actor, product.company)
    if _image_count(product.id) >= images.MAX_IMAGES_PER_PRODUCT:
        raise _too_many_images()
    stored = images.store_image(data, _upload_dir())
    try:
        # lock the product so two uploads at once cannot both take the eighth place
        db.session.execute(sa.select(Product.id).where(Product.id == product.id).with_for_update())
        if _image_count(product.id) >= images.MAX_IMAGES_PER_PRODUCT:
            raise _too_many_images()
        last = db.session.scalar(
            sa.select(sa.func.max(ProductImage.position)).where(ProductImage.product_id == product.id)
        )
        image = ProductImage(
            product_id=product.id,
            position=(last or 0) + 1,
            filename=stored.filename,
            thumbnail=stored.thumbnail,
            content_type=stored.content_type,
            width=stored.width,
            height=stored.height,
            size_bytes=stored.size_bytes,
        )
        db.session.add(image)
        product.updated_at = utcnow()
        db.session.commit()
    except Exception:
        db.session.rollback()
        images.delete_files(_upload_dir(), stored.filename, stored.thumbnail)
        raise
    logger.info("image %s added to product %s by user %s", image.id, product.id, actor.id)
    return image


def delete_product_image(actor: User, product: Product, image_id: int) -> None:
    """Remove one of the product's images, its row and its files."""
    check_can_edit_catalog(actor, product.company)
    image = db.session.get(ProductImage, image_id)
    if image is None or image.product_id != product.id:
        raise NotFound(_l("This image does not exist."))
    names = (image.filename, image.thumbnail)
    db.session.delete(image)
    product.updated_at = utcnow()
    db.session.commit()
    # files go only once the row is gone for good: a failed commit keeps both
    images.delete_files(_upload_dir(), *names)
    logger.info("image %s removed from product %s by user %s", image_id, product.id, actor.id)
