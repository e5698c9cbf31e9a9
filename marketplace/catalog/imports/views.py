"""Spreadsheet import and export pages (blueprint ``catalog_import``, under /catalog).

Upload → preview (every problem by row and column; nothing written) → confirm → progress →
done; the template and problem-report downloads; the catalog export. Views parse input, call
one function of ``jobs`` and render or redirect; the rules live there and in
``services``. Only exporters' users may use these pages (others get 403); a job of another
company is 404.
"""
from __future__ import annotations

import logging
from functools import wraps

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms import BooleanField

from marketplace.accounts.models import CompanyKind
from marketplace.catalog import import_bp
from marketplace.catalog.categories import CATEGORIES, CATEGORY_BY_CODE, UNITS, category_name
from marketplace.catalog.imports import jobs as import_jobs
from marketplace.catalog.imports.files import write_template
from marketplace.catalog.models import ImportJobStatus
from marketplace.catalog.vocabulary import unit_name
from marketplace.errors import Conflict, ValidationFailed
from marketplace.i18n import _, _l, current_locale_code, today_in_china
from marketplace.imports.forms import ImportCancelForm, ImportUploadForm
from marketplace.imports.problems import more_problems_note
from marketplace.spreadsheets import download

logger = logging.getLogger(__name__)


class ImportCommitForm(FlaskForm):
    """Confirm the previewed import."""

    publish = BooleanField(_l("Publish the imported products at once"))


def exporter_required(view):
    """Logged-in users of an exporter only; everyone else gets 403."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if current_user.company.kind is not CompanyKind.EXPORTER:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def _file_lang() -> str:
    """The language of downloaded files: ?lang=zh|en, else the page's language."""
    lang = request.args.get("lang")
    if lang in ("zh", "en"):
        return lang
    return "en" if current_locale_code() == "en" else "zh"


def _render_upload(form: ImportUploadForm, status: int = 200):
    lang = "en" if current_locale_code() == "en" else "zh"
    return render_template(
        "catalog/import_upload.html",
        form=form,
        guide=import_jobs.column_guide(lang),
        categories=[(category_name(c.code, "zh"), category_name(c.code, "en"), c.code) for c in CATEGORIES],
        units=[(unit, unit_name(unit, "en")) for unit in UNITS],
        max_megabytes=import_jobs.max_upload_bytes() // (1024 * 1024),
    ), status


@import_bp.route("/import", methods=["GET", "POST"])
@exporter_required
def upload():
    """The upload form with the templates and the accepted headers; POST checks and stores the file."""
    form = ImportUploadForm()
    if form.validate_on_submit():
        upload_file = form.file.data
        data = upload_file.read(import_jobs.max_upload_bytes() + 1)
        try:
            job = import_jobs.create_import_job(current_user, upload_file.filename, data)
        except ValidationFailed as error:
            form.file.errors = [*form.file.errors, str(error.message)]
        else:
            return redirect(url_for(".job", job_id=job.id))
    return _render_upload(form)


@import_bp.errorhandler(RequestEntityTooLarge)
def upload_too_large(_error):
    """A request over MAX_CONTENT_LENGTH is refused before its body is read."""
    if request.endpoint != "catalog_import.upload" or not current_user.is_authenticated:
        return render_template("errors/error.html", code=413), 413
    form = ImportUploadForm(formdata=None)
    form.file.errors = [_("The file is larger than %(limit)s MB: split it into several files.",
                          limit=import_jobs.max_upload_bytes() // (1024 * 1024))]
    return _render_upload(form, 413)


@import_bp.get("/import/<int:job_id>")
@exporter_required
def job(job_id: int):
    """The preview of a previewed import, else its progress or outcome."""
    found = import_jobs.get_import_job(current_user, job_id)
    if found.status is not ImportJobStatus.PREVIEWED:
        return render_template("catalog/import_job.html", job=found, Status=ImportJobStatus, ep="catalog_import.")
    preview = import_jobs.preview_import_job(current_user, job_id)
    return render_template(
        "catalog/import_preview.html", preview=preview, job=preview.job,
        commit_form=ImportCommitForm(formdata=None), cancel_form=ImportCancelForm(formdata=None), ep="catalog_import.",
        preview_limit=import_jobs.PREVIEW_PROBLEMS, rows_limit=import_jobs.PREVIEW_ROWS,
        category_label=_category_label, more_problems=more_problems_note(preview.analysis.omitted),
    )


def _category_label(code: str):
    category = CATEGORY_BY_CODE.get(code)
    return category.label if category else code


@import_bp.post("/import/<int:job_id>/commit")
@exporter_required
def commit(job_id: int):
    """Import the valid rows of a previewed file (inline, or in the background for large files)."""
    form = ImportCommitForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        import_jobs.start_import_job(current_user, job_id, publish=form.publish.data)
    except (ValidationFailed, Conflict) as error:
        flash(str(error.message), "warning")
    return redirect(url_for(".job", job_id=job_id))


@import_bp.post("/import/<int:job_id>/cancel")
@exporter_required
def cancel(job_id: int):
    """Drop a previewed import; nothing is written."""
    form = ImportCancelForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        import_jobs.cancel_import_job(current_user, job_id)
    except Conflict as error:
        flash(str(error.message), "warning")
        return redirect(url_for(".job", job_id=job_id))
    flash(_("The import was cancelled; nothing was written."), "info")
    return redirect(url_for(".upload"))


@import_bp.get("/import/<int:job_id>/progress")
@exporter_required
def progress(job_id: int):
    """JSON {status, processed, total} polled by the progress bar."""
    return jsonify(import_jobs.import_progress(current_user, job_id))


@import_bp.get("/import/<int:job_id>/problems.<any(csv, xlsx):fmt>")
@exporter_required
def problems(job_id: int, fmt: str):
    """Every problem of the file (row, column, severity, message) to download."""
    _job, data = import_jobs.problems_report(current_user, job_id, fmt)
    return download(data, fmt, f"import-{job_id}-problems.{fmt}")


@import_bp.get("/template.<any(csv, xlsx):fmt>")
def template(fmt: str):
    """The import template (header row and an example) in Chinese or English; public."""
    lang = _file_lang()
    return download(write_template(lang, fmt), fmt, f"rongtong-catalog-template-{lang}.{fmt}")


@import_bp.get("/export.<any(csv, xlsx):fmt>")
@exporter_required
def export(fmt: str):
    """The company's whole catalog (every status) in the template's columns."""
    lang = _file_lang()
    data = import_jobs.export_catalog(current_user, fmt, lang)
    return download(data, fmt, f"rongtong-catalog-{today_in_china().isoformat()}.{fmt}")
