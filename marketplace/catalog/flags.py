"""The two exporter flags the campaign counts — tariff-hit (出口转内销) and 专精特新 — defined once, for the
product index (per product: matching's bonus and the search filters), a session's focus on its match board,
and the organizer's figures (SQL, per company).

Tariff-hit: the company recorded a tariff exposure, or the product (for a company: any of its products)
names the export market it lost or a tariff note. 专精特新: the company holds a 专精特新 or 小巨人
designation recorded by an organizer (``ZJTX_TAGS``; a 链主 tag is not one).
"""
from __future__ import annotations

import sqlalchemy as sa

from marketplace.accounts.models import ZJTX_TAGS, Company, CompanyTag, TariffExposure
from marketplace.catalog.models import Product


def product_tariff_hit(product: Product, company: Company) -> bool:
    """Whether the product is a tariff-hit exporter's goods."""
    return bool(product.former_export_market or product.tariff_note or company.exposures)


def company_tariff_hit(company_id_column):
    """SQL: the company is tariff-hit (an exposure row, or a product naming a lost market or a tariff note)."""
    exposure = sa.exists().where(TariffExposure.company_id == company_id_column)
    product = sa.exists().where(
        Product.company_id == company_id_column,
        sa.or_(sa.func.coalesce(Product.former_export_market, "") != "",
               sa.func.coalesce(Product.tariff_note, "") != ""))
    return sa.or_(exposure, product)


def company_zjtx(company_id_column):
    """SQL: the company holds a 专精特新 designation (specialized, or little giant)."""
    return sa.exists().where(CompanyTag.company_id == company_id_column, CompanyTag.tag.in_(ZJTX_TAGS))
