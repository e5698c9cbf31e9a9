"""The import job table: one uploaded spreadsheet of any kind (products, procurement requests), its preview and outcome.

Owns: ``ImportJob`` and ``ImportJobStatus``. ``ImportJob.kind`` names the registered kind of
import (``jobs.KINDS``) the job belongs to; a kind's pages and commands only ever see jobs of
their own kind. Imports only extensions, database helpers and i18n (the company is referred
to by name, so no feature package is imported).
"""
from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.database import UTCDateTime, enum_column, utcnow
from marketplace.extensions import db
from marketplace.i18n import _l

if TYPE_CHECKING:
    from marketplace.accounts.models import Company, User


class ImportJobStatus(enum.Enum):
    """An uploaded spreadsheet: previewed → running → done or failed (or cancelled before running)."""

    PREVIEWED = "previewed"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def label(self):
        return {
            ImportJobStatus.PREVIEWED: _l("Awaiting confirmation"),
            ImportJobStatus.RUNNING: _l("Importing"),
            ImportJobStatus.DONE: _l("Imported"),
            ImportJobStatus.FAILED: _l("Failed"),
            ImportJobStatus.CANCELLED: _l("Cancelled"),
        }[self]


class ImportJob(db.Model):
    """One spreadsheet upload of a company: its kind, the stored file, its preview totals and the outcome."""

    __tablename__ = "import_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the kind of import (``jobs.KINDS``): "products" (catalog) or "requests" (demand lists)
    kind: Mapped[str] = mapped_column(sa.String(20), default="products", server_default="products")
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    #: the name the user's file had (shown only, never used as a path)
    original_filename: Mapped[str] = mapped_column(sa.String(255))
    #: random file name under UPLOAD_DIR/imports/, extension from the detected format
    stored_name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    size_bytes: Mapped[int] = mapped_column(sa.Integer, default=0)
    status: Mapped[ImportJobStatus] = mapped_column(enum_column(ImportJobStatus), default=ImportJobStatus.PREVIEWED)
    #: publish what the import writes (chosen when the import is confirmed)
    publish: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    # totals of the preview
    total_rows: Mapped[int] = mapped_column(sa.Integer, default=0)
    valid_rows: Mapped[int] = mapped_column(sa.Integer, default=0)
    invalid_rows: Mapped[int] = mapped_column(sa.Integer, default=0)
    to_create: Mapped[int] = mapped_column(sa.Integer, default=0)
    to_update: Mapped[int] = mapped_column(sa.Integer, default=0)
    # totals of the import
    processed: Mapped[int] = mapped_column(sa.Integer, default=0)
    created_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    updated_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    published_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    error_message: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    company: Mapped[Company] = relationship("Company")
    user: Mapped[User | None] = relationship("User")

    def __repr__(self) -> str:
        return (f"<ImportJob {self.id} {self.kind} company {self.company_id} {self.status.value} "
                f"{self.original_filename!r}>")

    @property
    def total_to_write(self) -> int:
        """Rows the import writes: creations and updates."""
        return self.to_create + self.to_update
