"""Demand-list pages (发榜): upload → preview (every problem by row and column; nothing written) → confirm →
progress → done; the template and problem-report downloads. Under /sourcing/requests/import.

The same job flow and page templates as the catalog's import (``marketplace.imports.jobs``,
``templates/imports/``) with the ``requests`` kind. Views parse input, call one function and
render or redirect; the rules live in ``imports`` and ``services``. Only buyers' users may use
these pages (others get 403); an unverified buyer sees why and cannot upload; a job of another
company, or of another kind, is 404.
"""
from __future__ import annotations

from functools import wraps

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.exceptions import RequestEntityTooLarge

from marketplace.catalog.categories import CATEGORIES, UNITS, category_name
from marketplace.catalog.vocabulary import unit_name
from marketplace.errors import Conflict, ValidationFailed
from marketplace.i18n import _, current_locale_code
from marketplace.imports import jobs
from marketplace.imports.forms import ImportCancelForm, ImportUploadForm
from marketplace.imports.models import ImportJobStatus
from marketplace.imports.problems import more_problems_note
from marketplace.sourcing import bp, imports
from marketplace.sourcing.forms import DemandListCommitForm
from marketplace.sourcing.states import READINESS_ITEMS
from marketplace.spreadsheets import download

KIND = imports.KIND
EP = "sourcing.import_"  # the endpoints of these pages, as the shared import templates name them


def buyer_required(view):
    """Logged-in users of a buyer company only; everyone else gets 403."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.company.kind.is_buyer:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def _lang() -> str:
    return "en" if current_locale_code() == "en" else "zh"


def _render_upload(form: ImportUploadForm, status: int = 200):
    lang = _lang()
    return render_template(
        "sourcing/import_upload.html", form=form, verified=current_user.company.is_verified,
        guide=imports.column_guide(lang),
        categories=[(category_name(c.code, "zh"), category_name(c.code, "en"), c.code) for c in CATEGORIES],
        units=[(unit, unit_name(unit, "en")) for unit in UNITS],
        readiness=[(code, label) for code, label in READINESS_ITEMS],
        max_megabytes=jobs.max_upload_bytes() // (1024 * 1024),
    ), status


@bp.route("/requests/import", methods=["GET", "POST"])
@buyer_required
def import_upload():
    """The demand-list upload form with the templates and the accepted headers; POST checks and stores the file."""
    form = ImportUploadForm()
    if form.validate_on_submit():
        upload_file = form.file.data
        data = upload_file.read(jobs.max_upload_bytes() + 1)
        try:
            job = jobs.create_import_job(KIND, current_user, upload_file.filename, data)
        except ValidationFailed as error:
            form.file.errors = [*form.file.errors, str(error.message)]
        else:
            return redirect(url_for(".import_job", job_id=job.id))
    return _render_upload(form)


@bp.errorhandler(RequestEntityTooLarge)
def upload_too_large(_error):
    """A request over MAX_CONTENT_LENGTH is refused before its body is read."""
    if (request.endpoint != "sourcing.import_upload" or not current_user.is_authenticated
            or not current_user.company.kind.is_buyer):
        return render_template("errors/error.html", code=413), 413
    form = ImportUploadForm(formdata=None)
    form.file.errors = [_("The file is larger than %(limit)s MB: split it into several files.",
                          limit=jobs.max_upload_bytes() // (1024 * 1024))]
    return _render_upload(form, 413)


def _job_page_values() -> dict:
    return {"ep": EP, "Status": ImportJobStatus}


@bp.get("/requests/import/<int:job_id>")
@buyer_required
def import_job(job_id: int):
    """The preview of a previewed demand list, else its progress or outcome."""
    found = jobs.get_import_job(KIND, current_user, job_id)
    if found.status is not ImportJobStatus.PREVIEWED:
        return render_template("sourcing/import_job.html", job=found, **_job_page_values())
    preview = jobs.preview_import_job(KIND, current_user, job_id)
    return render_template(
        "sourcing/import_preview.html", preview=preview, job=preview.job,
        commit_form=DemandListCommitForm(formdata=None), cancel_form=ImportCancelForm(formdata=None),
        preview_limit=jobs.PREVIEW_PROBLEMS, rows_limit=jobs.PREVIEW_ROWS,
        more_problems=more_problems_note(preview.analysis.omitted),
        **_job_page_values(),
    )


@bp.post("/requests/import/<int:job_id>/commit")
@buyer_required
def import_commit(job_id: int):
    """Post the valid rows of a previewed demand list (inline, or in the background for large files)."""
    form = DemandListCommitForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        jobs.start_import_job(KIND, current_user, job_id, publish=form.publish.data)
    except (ValidationFailed, Conflict) as error:
        flash(str(error.message), "warning")
    return redirect(url_for(".import_job", job_id=job_id))


@bp.post("/requests/import/<int:job_id>/cancel")
@buyer_required
def import_cancel(job_id: int):
    """Drop a previewed demand list; nothing is written."""
    form = ImportCancelForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        jobs.cancel_import_job(KIND, current_user, job_id)
    except Conflict as error:
        flash(str(error.message), "warning")
        return redirect(url_for(".import_job", job_id=job_id))
    flash(_("The import was cancelled; nothing was written."), "info")
    return redirect(url_for(".import_upload"))


@bp.get("/requests/import/<int:job_id>/progress")
@buyer_required
def import_progress(job_id: int):
    """JSON {status, processed, total} polled by the progress bar."""
    return jsonify(jobs.import_progress(KIND, current_user, job_id))


@bp.get("/requests/import/<int:job_id>/problems.<any(csv, xlsx):fmt>")
@buyer_required
def import_problems(job_id: int, fmt: str):
    """Every problem of the file (row, column, severity, message) to download."""
    _job, data = jobs.problems_report(KIND, current_user, job_id, fmt)
    return download(data, fmt, f"demand-list-{job_id}-problems.{fmt}")


@bp.get("/requests/template.<any(csv, xlsx):fmt>")
def import_template(fmt: str):
    """The demand-list template (header row and an example) in Chinese or English; public."""
    lang = request.args.get("lang")
    if lang not in ("zh", "en"):
        lang = _lang()
    return download(imports.write_template(lang, fmt), fmt, f"rongtong-demand-list-template-{lang}.{fmt}")
