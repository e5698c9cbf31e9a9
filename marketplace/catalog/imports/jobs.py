"""The catalog's kind of import job, and the catalog export: products through the one import path.

Owns: the ``products`` kind (``KIND``: the row spec ``columns.PRODUCT_ROWS``, who may import —
``services.check_can_edit_catalog`` —, ``services.plan_import`` and ``services.import_products``),
the functions the catalog's pages and ``flask catalog import`` call (each is the shared one of
``marketplace.imports.jobs`` with this kind), finding an exporter by USCC, the catalog export and
the column guide of the upload page. The job flow itself (upload, preview, commit in a thread
with progress, report) is ``marketplace.imports.jobs``; products are written only by
``services.import_products``. No Flask views or forms.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from marketplace.accounts.models import Company, CompanyKind, User
from marketplace.accounts.validation import normalize_uscc
from marketplace.catalog import services
from marketplace.catalog.imports import columns, files
from marketplace.catalog.models import ImportJob, Product
from marketplace.catalog.rows import product_to_row
from marketplace.errors import NotFound, ValidationFailed
from marketplace.extensions import db
from marketplace.i18n import _l, fen_to_yuan
from marketplace.imports import jobs
from marketplace.imports.jobs import (  # noqa: F401  (the catalog's pages and tests use these names)
    _PROGRESS,
    _PROGRESS_LOCK,
    BACKGROUND_MIN_ROWS,
    CHECKED,
    STALE_RUNNING_MINUTES,
    Analysis,
    ColumnGuide,
    Preview,
    PreviewRow,
    _set_progress,
    max_upload_bytes,
    wait_for_import_job,
)

#: the preview lists at most this many problems, and this many rows to create and to update
PREVIEW_PROBLEMS = jobs.PREVIEW_PROBLEMS
PREVIEW_ROWS = jobs.PREVIEW_ROWS


def _import_products(actor, company, result, publish=False, progress=None):
    return services.import_products(actor, company, result, publish=publish, progress=progress)


KIND = jobs.register_kind(jobs.ImportKind(
    name="products",
    rows=columns.PRODUCT_ROWS,
    check_actor=lambda actor, company: services.check_can_edit_catalog(actor, company),
    plan=lambda company, result: services.plan_import(company, result),
    commit=_import_products,
))


def analyse_file(company: Company, filename: str, data: bytes) -> Analysis:
    """Read, validate and plan an import of ``data`` into the company's catalog; write nothing."""
    return jobs.analyse_file(KIND, company, filename, data)


def find_exporter(uscc: str) -> Company:
    """The exporter with this unified social credit code (any spacing or case)."""
    code = normalize_uscc(uscc)
    company = db.session.scalar(sa.select(Company).where(Company.uscc == code)) if code else None
    if company is None:
        raise NotFound(_l("No company has the unified social credit code %(uscc)s.", uscc=uscc))
    if company.kind is not CompanyKind.EXPORTER:
        raise ValidationFailed(_l("%(name)s is not an exporter: only exporters have a product catalog.",
                                  name=company.name_zh))
    return company


def create_import_job(actor: User, filename: str | None, data: bytes) -> ImportJob:
    """Check an uploaded product file, store it and record a job awaiting confirmation (no product is written)."""
    return jobs.create_import_job(KIND, actor, filename, data)


def get_import_job(actor: User, job_id: int) -> ImportJob:
    """The catalog import job if it belongs to the actor's company; 404 otherwise."""
    return jobs.get_import_job(KIND, actor, job_id)


def job_analysis(job: ImportJob) -> Analysis:
    """The job's stored file planned against the catalog now."""
    return jobs.job_analysis(KIND, job)


def preview_import_job(actor: User, job_id: int) -> Preview:
    """The job's preview: what would be created and updated, every problem by row and column (reads only)."""
    return jobs.preview_import_job(KIND, actor, job_id, PREVIEW_PROBLEMS, PREVIEW_ROWS)


def problems_report(actor: User, job_id: int, fmt: str) -> tuple[ImportJob, bytes]:
    """The job's full problem list as CSV or XLSX (row, column, severity, message)."""
    return jobs.problems_report(KIND, actor, job_id, fmt)


def cancel_import_job(actor: User, job_id: int) -> ImportJob:
    """Drop a previewed import: nothing is written and the stored file is deleted."""
    return jobs.cancel_import_job(KIND, actor, job_id)


def start_import_job(actor: User, job_id: int, publish: bool = False) -> ImportJob:
    """Confirm a previewed import: write its valid rows now, or in a background thread for large files."""
    return jobs.start_import_job(KIND, actor, job_id, publish=publish)


def import_progress(actor: User, job_id: int) -> dict:
    """{status, processed, total} of a job, for the progress bar."""
    return jobs.import_progress(KIND, actor, job_id)


# --------------------------------------------------------------------------- export, column guide


def export_catalog(actor: User, fmt: str, lang: str) -> bytes:
    """The actor's company catalog (every status) as CSV or XLSX in the import template's columns."""
    company = actor.company
    services.check_can_edit_catalog(actor, company)
    products = db.session.scalars(
        sa.select(Product)
        .where(Product.company_id == company.id)
        .order_by(Product.sku)
        .options(selectinload(Product.price_tiers), selectinload(Product.certifications))
    )
    return files.export_rows((product_to_row(product) for product in products), fmt, lang)


def column_guide(lang: str) -> list[ColumnGuide]:
    """Every canonical column with the Chinese and English headers accepted for it, in ``lang``."""
    example = dict(zip([c.key for c in columns.TEMPLATE_COLUMNS],
                       columns.format_cells(columns.EXAMPLE_PRODUCT.as_row(), lang), strict=True))
    example["price"] = str(fen_to_yuan(columns.EXAMPLE_PRODUCT.price_tiers[0].unit_price_fen))
    return jobs.column_guide(columns.PRODUCT_ROWS, example, lang)
