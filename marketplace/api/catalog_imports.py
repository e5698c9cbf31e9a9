"""``/api/v1/catalog/imports``: the catalog spreadsheet import, as the import pages run it.

Upload a file (multipart) → a job awaiting confirmation, with its counts (nothing written) → read its
problems (row, column, message) → commit (inline for small files, in the background for large ones:
poll the job). Every step is a function of ``catalog.imports.jobs`` (the one import path of the pages
and the command line); a file the import machinery refuses (not a spreadsheet, a crafted or
wrongly encoded one, missing columns) is its 422 naming ``file``; one over the size limit a 413.
Another company's job is 404.
"""
from __future__ import annotations

import marshmallow as ma
from flask_smorest.fields import Upload
from webargs.flaskparser import abort as webargs_abort

from marketplace.api.core import (
    API_PREFIX,
    Blueprint,
    Bool,
    PageArgs,
    Schema,
    actor,
    encode_cursor,
    offset_page,
    scope,
)
from marketplace.catalog.imports import jobs as import_jobs
from marketplace.i18n import _
from marketplace.imports.models import ImportJobStatus

URL_PREFIX = "/catalog/imports"
blp = Blueprint("api_catalog_imports", __name__, description="Catalog import: upload a spreadsheet, poll the job, read its problems, commit.")

JOB_STATUSES = [status.value for status in ImportJobStatus]


class ImportCountsOut(ma.Schema):
    total_rows = ma.fields.Integer(required=True, metadata={"description": "Data rows in the file."})
    valid_rows = ma.fields.Integer(required=True)
    invalid_rows = ma.fields.Integer(required=True, metadata={"description": "Rows with an error (not imported)."})
    to_create = ma.fields.Integer(required=True, metadata={"description": "New SKUs (at upload, or at commit)."})
    to_update = ma.fields.Integer(required=True, metadata={"description": "Known SKUs to update."})


class ImportProgressOut(ma.Schema):
    processed = ma.fields.Integer(required=True)
    total = ma.fields.Integer(required=True)


class ImportOutcomeOut(ma.Schema):
    created = ma.fields.Integer(required=True)
    updated = ma.fields.Integer(required=True)
    published = ma.fields.Integer(required=True)


class ImportJobSchema(ma.Schema):
    """A catalog import job: previewed → running → done or failed (or cancelled)."""

    id = ma.fields.Integer(required=True)
    status = ma.fields.String(required=True, metadata={"enum": JOB_STATUSES})
    filename = ma.fields.String(required=True)
    size_bytes = ma.fields.Integer(required=True)
    publish = ma.fields.Boolean(required=True, metadata={"description": "The commit publishes what it writes."})
    counts = ma.fields.Nested(ImportCountsOut, required=True)
    progress = ma.fields.Nested(ImportProgressOut, required=True)
    outcome = ma.fields.Nested(ImportOutcomeOut, required=True, allow_none=True,
                               metadata={"description": "What the import wrote (once done)."})
    error_message = ma.fields.String(required=True, allow_none=True,
                                     metadata={"description": "Why a failed import wrote nothing."})
    created_at = ma.fields.DateTime(required=True)
    started_at = ma.fields.DateTime(required=True, allow_none=True)
    finished_at = ma.fields.DateTime(required=True, allow_none=True)


def job_view(job) -> dict:
    """An import job as the API shows it (its progress as the progress bar reads it)."""
    progress = import_jobs.import_progress(actor(), job.id)
    done = job.status is ImportJobStatus.DONE
    return {
        "id": job.id, "status": job.status.value, "filename": job.original_filename, "size_bytes": job.size_bytes,
        "publish": bool(job.publish),
        "counts": {"total_rows": job.total_rows, "valid_rows": job.valid_rows, "invalid_rows": job.invalid_rows,
                   "to_create": job.to_create, "to_update": job.to_update},
        "progress": {"processed": progress["processed"] or 0, "total": progress["total"] or 0},
        "outcome": {"created": job.created_count or 0, "updated": job.updated_count or 0,
                    "published": job.published_count or 0} if done else None,
        "error_message": job.error_message,
        "created_at": job.created_at, "started_at": job.started_at, "finished_at": job.finished_at,
    }


def _location(job) -> dict:
    return {"Location": f"{API_PREFIX}{URL_PREFIX}/{job.id}"}


class ImportUpload(Schema):
    """The spreadsheet: .xlsx or .csv (UTF-8 or GB18030), the catalog template's columns (Chinese or English)."""

    file = Upload(required=True)


@blp.route("", methods=["POST"])
@scope("catalog:write")
@blp.arguments(ImportUpload, location="files", unknown=ma.RAISE)
@blp.response(201, ImportJobSchema)
def upload(files):
    """Upload a catalog spreadsheet (multipart/form-data, field ``file``): every row is checked, nothing written.

    The job's ``counts`` say what a commit would do; ``/problems`` lists what is wrong by row and column.
    """
    limit = import_jobs.max_upload_bytes()
    upload_file = files["file"]
    data = upload_file.read(limit + 1)
    if len(data) > limit:
        webargs_abort(413, message=_("The file is larger than %(limit)s MB: split it into several files.",
                                     limit=limit // (1024 * 1024)))
    job = import_jobs.create_import_job(actor(), upload_file.filename, data)
    return job_view(job), 201, _location(job)


@blp.route("/<int:job_id>", methods=["GET"])
@scope("read")
@blp.response(200, ImportJobSchema)
def job(job_id: int):
    """An import job: its status, counts, progress while it runs, and the outcome once done."""
    return job_view(import_jobs.get_import_job(actor(), job_id))


class ProblemOut(ma.Schema):
    row = ma.fields.Integer(required=True, allow_none=True, metadata={"description": "Spreadsheet row number."})
    column = ma.fields.String(required=True, allow_none=True, metadata={"description": "The header as written."})
    cell = ma.fields.String(required=True, allow_none=True, metadata={"description": "A1 reference, when known."})
    severity = ma.fields.String(required=True, metadata={"enum": ["error", "warning"]})
    message = ma.fields.String(required=True)


class ProblemsPage(ma.Schema):
    """A page of the file's problems in row order (at most 1,000 are kept per file; ``omitted`` counts the rest)."""

    items = ma.fields.List(ma.fields.Nested(ProblemOut), required=True)
    total = ma.fields.Integer(required=True, metadata={"description": "Problems listed (all pages)."})
    errors = ma.fields.Integer(required=True, metadata={"description": "Errors, those past the cap included."})
    warnings = ma.fields.Integer(required=True)
    omitted = ma.fields.Integer(required=True, metadata={"description": "Problems found past the cap, not listed."})
    next_cursor = ma.fields.String(required=True, allow_none=True)


@blp.route("/<int:job_id>/problems", methods=["GET"])
@scope("read")
@blp.arguments(PageArgs, location="query", unknown=ma.RAISE)
@blp.response(200, ProblemsPage)
def problems(args, job_id: int):
    """The file's problems (row, column, severity, message in the caller's language), in row order."""
    job = import_jobs.get_import_job(actor(), job_id)
    analysis = import_jobs.job_analysis(job)
    found = analysis.problems
    offset, limit = offset_page(args)
    end = offset + limit
    return {
        "items": [{"row": p.row, "column": p.column, "cell": p.cell, "severity": p.severity,
                   "message": str(p.message)} for p in found[offset:end]],
        "total": len(found),
        "errors": analysis.error_count,
        "warnings": analysis.warning_count,
        "omitted": analysis.omitted,
        "next_cursor": encode_cursor({"offset": end}) if end < len(found) else None,
    }


class CommitBody(Schema):
    """How to commit."""

    publish = Bool(load_default=False, metadata={"description": "Publish the products the import writes."})


@blp.route("/<int:job_id>/commit", methods=["POST"])
@scope("catalog:write")
@blp.arguments(CommitBody, location="json", required=False)
@blp.response(200, ImportJobSchema)
def commit(body, job_id: int):
    """Import the valid rows (one transaction: all of them or none). A large file runs in the background:
    the answer is ``running``; poll the job until it is ``done`` or ``failed``."""
    job = import_jobs.start_import_job(actor(), job_id, publish=body["publish"])
    return job_view(import_jobs.get_import_job(actor(), job.id))


@blp.route("/<int:job_id>/cancel", methods=["POST"])
@scope("catalog:write")
@blp.response(200, ImportJobSchema)
def cancel(job_id: int):
    """Drop a job awaiting confirmation: nothing is written and the stored file is deleted."""
    return job_view(import_jobs.cancel_import_job(actor(), job_id))

