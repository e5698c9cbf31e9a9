"""Import jobs of every kind: the one path from an uploaded file to written rows, for pages and commands.

Owns: the registry of kinds (``ImportKind``: its row spec, who may use it, the plan and the
commit service of the feature that owns it; ``register_kind``), ``analyse_file`` (bytes →
``table.read_table`` → ``columns.validate_rows`` → the kind's plan; nothing is written), the
``ImportJob`` records of web uploads (the stored file, the preview, the commit run inline or in a
background thread whose progress is counted in memory), the problems report and the column guide.
A kind's pages and commands call these with their kind; a job of another kind or company is 404.

Memory: the stored upload under ``UPLOAD_DIR/imports/`` is the job's record; its checked rows
are kept in this process only between the preview and the commit of a previewed job (a few
files at most), and dropped when the commit starts, so a finished job holds no memory.

What a job imports is written only by its kind's commit service (one transaction). Here only
ImportJob rows and files under ``UPLOAD_DIR/imports/`` are written. Imports no feature package
(the kinds register themselves) and no Flask views or forms.

Progress: on SQLite the import's transaction holds the write lock (``BEGIN IMMEDIATE``) until it
commits, so the job row cannot be updated while the rows are written. The running count is
kept in ``_PROGRESS`` (per process) and the job's totals are written once the import has
committed or failed. With several web workers, a poll answered by another worker sees the job
as running at 0 until it ends.
"""
from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale

from marketplace.database import utcnow
from marketplace.errors import Conflict, DomainError, NotFound, ValidationFailed
from marketplace.extensions import db
from marketplace.i18n import _l, current_locale_code
from marketplace.imports import uploads
from marketplace.imports.columns import RowSpec, ValidationResult, validate_rows
from marketplace.imports.models import ImportJob, ImportJobStatus
from marketplace.imports.problems import Problem, write_problems
from marketplace.imports.table import Table, read_table
from marketplace.ops.logs import carry_request_id
from marketplace.webhooks.events import emit

logger = logging.getLogger(__name__)

#: the preview lists at most this many problems (the report holds up to ``problems.MAX_PROBLEMS``)
PREVIEW_PROBLEMS = 500
#: … and this many of the rows to create and to update
PREVIEW_ROWS = 100
#: a commit of fewer valid rows runs inside the request even when threads are allowed
BACKGROUND_MIN_ROWS = 1000
#: a job still "running" this long after it started lost its process (a 10,000-row import takes
#: about 10 s): it is marked failed. Its one transaction never committed, so nothing was written.
STALE_RUNNING_MINUTES = 30


# --------------------------------------------------------------------------- kinds


@dataclass(frozen=True)
class ImportKind:
    """One kind of spreadsheet import, as the feature owning it declares it.

    ``check_actor(actor, company)`` raises PermissionDenied when the actor may not import into
    the company; ``plan(company, result)`` sorts the valid rows (an object with ``creates``,
    ``updates`` and ``total``; nothing written); ``commit(actor, company, result, publish=…,
    progress=…)`` writes them in one transaction and returns an object with ``created``,
    ``updated`` and ``published``.
    """

    name: str
    rows: RowSpec
    check_actor: Callable[[Any, Any], None]
    plan: Callable[[Any, ValidationResult], Any]
    commit: Callable[..., Any]
    #: "This import does not exist." and the like, in the kind's words when it wants others
    not_found: Any = None


KINDS: dict[str, ImportKind] = {}


def register_kind(kind: ImportKind) -> ImportKind:
    """Make a kind known to the job machinery (once per name); returns it."""
    known = KINDS.setdefault(kind.name, kind)
    if known is not kind:
        raise RuntimeError(f"import kind {kind.name!r} is registered twice")
    return kind


# --------------------------------------------------------------------------- one path for web and CLI


@dataclass
class Analysis:
    """A file read and checked, and what importing it would do now."""

    table: Table | None  # None when the validated rows were remembered from an earlier read
    result: ValidationResult
    plan: Any

    @cached_property
    def problems(self) -> list[Problem]:
        """Every problem of the file and its rows, in row order."""
        return self.result.all_problems()

    @property
    def warning_count(self) -> int:
        """Problems that do not stop anything."""
        return sum(1 for problem in self.problems if not problem.is_error) + self.result.omitted_warnings

    @property
    def error_count(self) -> int:
        """Problems that keep a row (or the file) from being imported, those past the cap included."""
        return sum(1 for problem in self.problems if problem.is_error) + self.result.omitted_errors

    @property
    def omitted(self) -> int:
        """Problems past the per-file cap: counted, not listed ("and N more")."""
        return self.result.omitted


def analyse_file(kind: ImportKind, company, filename: str, data: bytes) -> Analysis:
    """Read, validate and plan an import of ``data`` of this kind for the company; write nothing.

    Raises ``SpreadsheetError`` (a ValidationFailed on field "file") when the whole file is refused.
    """
    table = read_table(filename, data, max_bytes=uploads.max_upload_bytes())
    result = validate_rows(table, kind.rows)
    return Analysis(table, result, kind.plan(company, result))


# --------------------------------------------------------------------------- uploads

#: the size limit the upload pages state (the same for every kind of import)
max_upload_bytes = uploads.max_upload_bytes


def create_import_job(kind: ImportKind, actor, filename: str | None, data: bytes) -> ImportJob:
    """Check an uploaded file, store it and record a job awaiting confirmation (nothing is imported)."""
    company = actor.company
    kind.check_actor(actor, company)
    uploads.check_upload_name(filename)
    name = uploads.display_filename(filename)
    analysis = analyse_file(kind, company, name, data)
    stored_name = uploads.store_upload(data, analysis.table.format)
    result = analysis.result
    job = ImportJob(
        kind=kind.name, company_id=company.id, user_id=actor.id, original_filename=name, stored_name=stored_name,
        size_bytes=len(data), status=ImportJobStatus.PREVIEWED,
        total_rows=len(result.rows), valid_rows=len(result.valid_rows), invalid_rows=len(result.invalid_rows),
        to_create=len(analysis.plan.creates), to_update=len(analysis.plan.updates),
    )
    try:
        db.session.add(job)
        db.session.commit()
    except Exception:
        db.session.rollback()
        uploads.delete_upload(stored_name)
        raise
    CHECKED.remember(stored_name, result)
    logger.info("import job %s (%s): company %s uploaded %r (%d rows, %d valid)", job.id, kind.name, company.id,
                name, job.total_rows, job.valid_rows)
    return job


def get_import_job(kind: ImportKind, actor, job_id: int) -> ImportJob:
    """The job if it is of this kind and belongs to the actor's company; 404 otherwise (whether or not it exists)."""
    job = db.session.get(ImportJob, job_id)
    if (job is None or job.kind != kind.name or not actor.is_authenticated
            or job.company_id != actor.company_id):
        raise NotFound(kind.not_found or _l("This import does not exist."))
    kind.check_actor(actor, job.company)
    _fail_if_interrupted(job)
    return job


def _fail_if_interrupted(job: ImportJob) -> None:
    """A job left "running" by a process that died (restart, crash) becomes failed instead of running forever."""
    if job.status is not ImportJobStatus.RUNNING or job.started_at is None:
        return
    with _PROGRESS_LOCK:
        thread = _THREADS.get(job.id)
    if thread is not None and thread.is_alive():
        return
    if utcnow() - job.started_at < timedelta(minutes=STALE_RUNNING_MINUTES):
        return
    job.status = ImportJobStatus.FAILED
    job.error_message = str(_l("The import was interrupted (the server stopped while it ran). Nothing was written; "
                               "please import the file again."))
    job.processed = 0
    job.finished_at = utcnow()
    try:
        db.session.commit()
    except sa.exc.OperationalError:  # the database is busy: the next look marks it
        db.session.rollback()
        logger.info("could not mark the interrupted import job %s failed now", job.id)
        return
    logger.warning("import job %s was interrupted: marked failed", job.id)


#: the checked rows of previewed uploads, kept for their commit (dropped when it starts)
CHECKED = uploads.CheckedFiles()


def job_analysis(kind: ImportKind, job: ImportJob) -> Analysis:
    """The job's stored file (validated again unless this process just did) planned against the database now."""
    if not (uploads.imports_dir() / job.stored_name).is_file():
        raise NotFound(_l("The uploaded file is no longer available: upload it again."))
    known = CHECKED.recall(job.stored_name)
    if known is not None:
        return Analysis(None, known, kind.plan(job.company, known))
    analysis = analyse_file(kind, job.company, job.original_filename, uploads.read_upload(job.stored_name))
    if job.status is ImportJobStatus.PREVIEWED:
        CHECKED.remember(job.stored_name, analysis.result)
    return analysis


@dataclass
class PreviewRow:
    """A valid row as the preview lists it."""

    row_number: int
    values: Any


@dataclass
class Preview:
    """What the preview page shows: totals, problems (capped) and the first rows of each kind."""

    job: ImportJob
    analysis: Analysis
    problems: list[Problem] = field(default_factory=list)
    creates: list[PreviewRow] = field(default_factory=list)
    updates: list[PreviewRow] = field(default_factory=list)

    @property
    def problem_count(self) -> int:
        """Every problem found, the ones past the per-file cap included."""
        return len(self.analysis.problems) + self.analysis.omitted

    @property
    def to_create(self) -> int:
        return len(self.analysis.plan.creates)

    @property
    def to_update(self) -> int:
        return len(self.analysis.plan.updates)

    @property
    def importable(self) -> int:
        return self.analysis.plan.total


def preview_import_job(kind: ImportKind, actor, job_id: int, problems_limit: int = PREVIEW_PROBLEMS,
                       rows_limit: int = PREVIEW_ROWS) -> Preview:
    """The job's preview: what would be created and updated, every problem by row and column (reads only)."""
    job = get_import_job(kind, actor, job_id)
    analysis = job_analysis(kind, job)
    updating = {id(values) for values in analysis.plan.updates}  # the plan holds the rows' own values
    preview = Preview(job, analysis, problems=analysis.problems[:problems_limit])
    for row in analysis.result.valid_rows:
        target = preview.updates if id(row.values) in updating else preview.creates
        if len(target) < rows_limit:
            target.append(PreviewRow(row.row_number, row.values))
    return preview


def problems_report(kind: ImportKind, actor, job_id: int, fmt: str) -> tuple[ImportJob, bytes]:
    """The job's full problem list as CSV or XLSX (row, column, severity, message)."""
    job = get_import_job(kind, actor, job_id)
    analysis = job_analysis(kind, job)
    return job, write_problems(analysis.problems, fmt, omitted=analysis.omitted)


def cancel_import_job(kind: ImportKind, actor, job_id: int) -> ImportJob:
    """Drop a previewed import: nothing is written and the stored file is deleted."""
    job = get_import_job(kind, actor, job_id)
    if job.status is not ImportJobStatus.PREVIEWED:
        raise Conflict(_l("This import has already been started or cancelled."))
    job.status = ImportJobStatus.CANCELLED
    job.finished_at = utcnow()
    db.session.commit()
    uploads.delete_upload(job.stored_name)
    CHECKED.forget(job.stored_name)
    return job


# --------------------------------------------------------------------------- commit and progress

# job id → (rows written so far, rows to write), for jobs running in this process
_PROGRESS: dict[int, tuple[int, int]] = {}
_THREADS: dict[int, threading.Thread] = {}
_PROGRESS_LOCK = threading.Lock()


#: rows between two progress writes to the database (PostgreSQL: other web workers poll it)
PROGRESS_WRITE_EVERY = 500


def _set_progress(job_id: int, done: int, total: int) -> None:
    with _PROGRESS_LOCK:
        previous = _PROGRESS.get(job_id, (0, 0))[0]
        _PROGRESS[job_id] = (done, total)
    if done // PROGRESS_WRITE_EVERY != previous // PROGRESS_WRITE_EVERY or (done == total and done != previous):
        _store_progress(job_id, done)


def _store_progress(job_id: int, done: int) -> None:
    """Write the count to the job's row in its own short transaction, so that a poll served by another
    web worker sees it. Not on SQLite: the import's transaction holds the database's only write lock,
    and the embedded default runs one process, whose memory has the count."""
    if db.engine.dialect.name == "sqlite":
        return
    try:
        with db.engine.begin() as connection:
            connection.execute(sa.update(ImportJob).where(ImportJob.id == job_id).values(processed=done))
    except sa.exc.DBAPIError:  # progress is a courtesy: never fail the import for it
        logger.info("could not store the progress of import job %s", job_id, exc_info=True)


def _runs_inline(rows: int) -> bool:
    """Inside the request: IMPORT_INLINE when set (else under TESTING), and always for small files."""
    config = current_app.config
    inline = config.get("IMPORT_INLINE")
    if inline is None:
        inline = bool(config.get("TESTING"))
    return bool(inline) or rows < int(config.get("IMPORT_BACKGROUND_MIN_ROWS", BACKGROUND_MIN_ROWS))


def start_import_job(kind: ImportKind, actor, job_id: int, publish: bool = False) -> ImportJob:
    """Confirm a previewed import: write its valid rows now, or in a background thread for large files."""
    job = get_import_job(kind, actor, job_id)
    # lock the row (PostgreSQL): of two clicks on "Import", one starts the job and the other is told
    job = db.session.get(ImportJob, job.id, with_for_update=True, populate_existing=True)
    if job.status is not ImportJobStatus.PREVIEWED:
        raise Conflict(_l("This import has already been started or cancelled."))
    analysis = job_analysis(kind, job)
    if not analysis.plan.total:
        raise ValidationFailed(_l("No row can be imported: correct the file and upload it again."), "file")
    job.status = ImportJobStatus.RUNNING
    job.publish = bool(publish)
    job.started_at = utcnow()
    job.processed = 0
    job.to_create, job.to_update = len(analysis.plan.creates), len(analysis.plan.updates)
    _set_progress(job.id, 0, analysis.plan.total)
    CHECKED.forget(job.stored_name)  # the commit holds the rows until it ends; then nothing does
    locale = current_locale_code()
    if _runs_inline(analysis.plan.total):
        db.session.commit()
        return _execute(kind, job.id, analysis.result, locale)
    # Keep the loaded objects fresh after this commit: the rest of the request (the current user
    # in after-request hooks) must not start a transaction that, on SQLite, would queue behind the
    # import's write lock.
    session = db.session()
    expire = session.expire_on_commit
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = expire
    app = current_app._get_current_object()
    thread = threading.Thread(target=carry_request_id(_run_in_thread), args=(app, kind, job.id, analysis.result, locale),
                              name=f"import-job-{job.id}", daemon=True)
    with _PROGRESS_LOCK:
        _THREADS[job.id] = thread
    thread.start()
    logger.info("import job %s (%s) running in the background (%d rows)", job.id, kind.name, analysis.plan.total)
    return job


def _run_in_thread(app, kind: ImportKind, job_id: int, result: ValidationResult, locale: str) -> None:
    try:
        with app.app_context():
            try:
                _execute(kind, job_id, result, locale)
            finally:
                db.session.remove()
    except Exception:  # the job row could not even be marked failed (database gone)
        logger.exception("import job %s: background thread failed", job_id)
    finally:
        with _PROGRESS_LOCK:
            _THREADS.pop(job_id, None)


def _webhook_job(job: ImportJob) -> dict:
    """An import job in an "import.finished" webhook: its id, kind, status and counts."""
    return {"job_id": job.id, "kind": job.kind, "status": job.status.value, "total_rows": job.total_rows,
            "invalid_rows": job.invalid_rows, "created": job.created_count or 0, "updated": job.updated_count or 0,
            "published": job.published_count or 0}


def _execute(kind: ImportKind, job_id: int, result: ValidationResult, locale: str) -> ImportJob:
    """Write the rows (one transaction), then the job's totals; on any error, nothing written and a failed job."""
    job = db.session.get(ImportJob, job_id)
    actor = job.user
    company = job.company

    def progress(done: int, total: int) -> None:
        _set_progress(job_id, done, total)

    try:
        if actor is None:
            raise ValidationFailed(_l("The user who started this import no longer exists."))
        outcome = kind.commit(actor, company, result, publish=job.publish, progress=progress)
    except Exception as error:
        db.session.rollback()
        if isinstance(error, DomainError):
            with force_locale(locale):
                message = str(error.message)
        else:
            logger.exception("import job %s failed", job_id)
            with force_locale(locale):
                message = str(_l("The import stopped on an unexpected error (%(error)s). Nothing was written.",
                                 error=type(error).__name__))
        job = db.session.get(ImportJob, job_id)
        job.status = ImportJobStatus.FAILED
        job.error_message = message[:2000]
        job.processed = 0
        job.finished_at = utcnow()
        emit(job.company_id, "import.finished", _webhook_job(job))
        db.session.commit()
        return job
    finally:
        with _PROGRESS_LOCK:
            _PROGRESS.pop(job_id, None)
    job.status = ImportJobStatus.DONE
    job.created_count, job.updated_count = outcome.created, outcome.updated
    job.published_count = outcome.published
    job.processed = outcome.created + outcome.updated
    job.finished_at = utcnow()
    emit(job.company_id, "import.finished", _webhook_job(job))
    db.session.commit()
    logger.info("import job %s (%s) done: %d created, %d updated, %d published", job_id, kind.name, outcome.created,
                outcome.updated, outcome.published)
    return job


def wait_for_import_job(job_id: int, timeout: float | None = None) -> bool:
    """Wait for a background import of this process to finish (tests, benchmarks); False on timeout."""
    with _PROGRESS_LOCK:
        thread = _THREADS.get(job_id)
    if thread is None:
        return True
    thread.join(timeout)
    return not thread.is_alive()


def import_progress(kind: ImportKind, actor, job_id: int) -> dict:
    """{status, processed, total} of a job, for the progress bar."""
    job = get_import_job(kind, actor, job_id)
    processed = job.processed
    if job.status is ImportJobStatus.RUNNING:
        with _PROGRESS_LOCK:
            processed = _PROGRESS.get(job.id, (processed, 0))[0]
    return {"status": job.status.value, "processed": processed, "total": job.total_to_write}


# --------------------------------------------------------------------------- column guide

_CJK = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")


@dataclass(frozen=True)
class ColumnGuide:
    """One row of the header table on an upload page."""

    key: str
    name: str
    required: bool
    names_zh: tuple[str, ...]
    names_en: tuple[str, ...]
    help: str
    example: str


def column_guide(spec: RowSpec, examples: Mapping[str, object], lang: str) -> list[ColumnGuide]:
    """Every column of ``spec`` with the Chinese and English headers accepted for it, in ``lang``."""
    guide = []
    for column in spec.columns:
        names = list(dict.fromkeys(column.names))
        guide.append(ColumnGuide(
            key=column.key,
            name=column.zh if lang == "zh" else column.en,
            required=column.required,
            names_zh=tuple(name for name in names if _CJK.search(name)),
            names_en=tuple(name for name in names if not _CJK.search(name)),
            help=column.help_zh if lang == "zh" else column.help_en,
            example=str(examples.get(column.key, "")),
        ))
    return guide
