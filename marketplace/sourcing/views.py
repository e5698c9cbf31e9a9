"""Sourcing pages: post (with a preview), edit, publish, close a request; the buyer's list and comparison;
the exporters' open-requests list (商机) and quote forms; the quote page; attachments.

Views parse input, call one service from ``services`` and render or redirect. Domain errors
become form errors or flashes (``ValidationFailed``, ``Conflict``) or the 403/404 pages. No
rule lives here.

The request board reads the search index's request kind (Chinese full text, facets, sort,
highlighting, pages; the search pages' macros); invited-only requests, never indexed, come from
the database.
"""
from __future__ import annotations

import logging

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required

from marketplace.accounts.models import CompanyKind
from marketplace.deals.attachments import MAX_ATTACHMENT_BYTES
from marketplace.errors import Conflict, PermissionDenied, ValidationFailed
from marketplace.errors import show_on_form as _attach_error
from marketplace.i18n import _, _l
from marketplace.search import services as search_services
from marketplace.search import views as search_views
from marketplace.sourcing import bp, queries, services
from marketplace.sourcing.forms import ActionForm, QuoteForm, RequestFilterForm, RequestForm
from marketplace.sourcing.states import (
    READINESS_LABELS,
    Party,
    QuoteAction,
    QuoteState,
    RequestAction,
    RequestState,
    Visibility,
)
from marketplace.spreadsheets import download

logger = logging.getLogger(__name__)

SORT_LABELS = {
    "price": _l("Unit price"), "amount": _l("Amount"), "lead_time": _l("Lead time"), "moq": _l("MOQ"),
    "certifications": _l("Certifications and readiness"), "nearby": _l("Same province first"),
    "newest": _l("Latest quote first"),
}


@bp.context_processor
def _sourcing_values():
    return {"RequestState": RequestState, "QuoteState": QuoteState, "RequestAction": RequestAction,
            "QuoteAction": QuoteAction, "Party": Party, "Visibility": Visibility,
            "READINESS_LABELS": READINESS_LABELS, "certification_label": queries.certification_label,
            "max_attachment_mb": MAX_ATTACHMENT_BYTES // 1024 // 1024}


def _int_or_none(value) -> int | None:
    return int(value) if str(value or "").isdigit() else None


# --------------------------------------------------------------------------- entry


@bp.get("/")
@login_required
def index():
    """Where sourcing starts for the visitor: its requests (buyers) or the open requests (exporters)."""
    if current_user.company.kind is CompanyKind.EXPORTER:
        return redirect(url_for("sourcing.board"))
    return redirect(url_for("sourcing.my_requests"))


# --------------------------------------------------------------------------- the buyer's requests


@bp.get("/requests/mine")
@login_required
def my_requests():
    """The buyer company's requests with their quote counts, filtered and paginated."""
    form = RequestFilterForm(request.args)
    filters = form.filters()
    page, counts = queries.list_my_requests(current_user, filters, page=request.args.get("page", 1))
    return render_template("sourcing/my_requests.html", form=form, page=page, counts=counts,
                           filtered=filters.active, verified=current_user.company.is_verified)


@bp.route("/requests/new", methods=["GET", "POST"])
@login_required
def post_request():
    """The request form; saving it shows the preview, from which the buyer publishes."""
    services.require_buyer(current_user)
    form = RequestForm(exporters=queries.invitable_exporters())
    if request.method == "GET":
        form.prepare()
    elif form.validate_on_submit():
        try:
            created_request, created = services.create_request(current_user, form.to_input(), form.token.data or "",
                                                               form.uploads())
        except ValidationFailed as error:
            _attach_error(form, error)
        else:
            if not created:
                flash(_("This request had already been saved; here it is."), "info")
            else:
                flash(_("Saved as a draft. Check the preview, then publish it."), "success")
            return redirect(url_for("sourcing.request_page", request_id=created_request.id))
    return render_template("sourcing/request_form.html", form=form, editing=None), 200 if request.method == "GET" \
        else 400


@bp.route("/requests/<int:request_id>/edit", methods=["GET", "POST"])
@login_required
def edit_request(request_id: int):
    """Change a draft or open request (the exporters that quoted are told)."""
    own = services.get_own_request(current_user, request_id)
    form = RequestForm(exporters=queries.invitable_exporters())
    if request.method == "GET":
        form.fill_from(own)
    elif form.validate_on_submit():
        try:
            services.update_request(current_user, own.id, form.to_input(), _int_or_none(form.version.data),
                                    form.uploads(), [int(v) for v in request.form.getlist("remove") if v.isdigit()])
        except Conflict as error:
            flash(str(error.message), "warning")
            return redirect(url_for("sourcing.request_page", request_id=request_id))
        except ValidationFailed as error:
            _attach_error(form, error)
        else:
            flash(_("The request has been saved."), "success")
            return redirect(url_for("sourcing.request_page", request_id=request_id))
    status = 200 if request.method == "GET" else 400
    return render_template("sourcing/request_form.html", form=form, editing=own), status


@bp.post("/requests/<int:request_id>/act")
@login_required
def request_act(request_id: int):
    """Publish or close a request."""
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        action = RequestAction(form.action.data)
    except ValueError:
        abort(400)
    try:
        if action is RequestAction.PUBLISH:
            services.publish_request(current_user, request_id, form.version.data)
            flash(_("The request is published: exporters can quote until its deadline."), "success")
        elif action is RequestAction.CLOSE:
            services.close_request(current_user, request_id, form.version.data, form.note.data)
            flash(_("The request is closed: it takes no more quotes."), "success")
        else:
            abort(400)
    except (Conflict, ValidationFailed) as error:
        flash(str(error.message), "warning" if isinstance(error, Conflict) else "danger")
    return redirect(url_for("sourcing.request_page", request_id=request_id))


# --------------------------------------------------------------------------- one request


def _render_request(req, quote_form=None, status=200):
    view = queries.request_view(current_user, req)
    if view["party"] is Party.EXPORTER and quote_form is None:
        quote_form = QuoteForm(formdata=None, products=queries.own_products(current_user))
        if view["can_quote"]:
            quote_form.prepare(req)
        elif view["own_quote"] is not None:
            quote_form.fill_from(view["own_quote"])
    from marketplace.matching.views import request_suppliers

    matching = request_suppliers(req) if view["party"] is Party.BUYER else None
    return render_template("sourcing/request.html", req=req, view=view, quote_form=quote_form,
                           action_form=ActionForm(formdata=None), matching=matching), status


@bp.get("/requests/<int:request_id>")
@login_required
def request_page(request_id: int):
    """The request: its terms and files; the buyer's preview, buttons and history, or the exporter's quote."""
    return _render_request(services.get_request(current_user, request_id))


@bp.post("/requests/<int:request_id>/quote")
@login_required
def submit_quote(request_id: int):
    """An exporter's quote on the request."""
    req = services.get_request(current_user, request_id)
    form = QuoteForm(products=queries.own_products(current_user))
    if form.validate_on_submit():
        try:
            quote, created = services.submit_quote(current_user, req.id, form.to_input(), form.token.data or "",
                                                   form.upload())
        except ValidationFailed as error:
            _attach_error(form, error)
        else:
            if created:
                flash(_("Your quote has been sent to the buyer."), "success")
            else:
                flash(_("Your company's quote had already been recorded; here it is."), "info")
            return redirect(url_for("sourcing.request_page", request_id=req.id, _anchor="my-quote"))
    return _render_request(req, quote_form=form, status=400)


@bp.get("/requests/<int:request_id>/quotes")
@login_required
def compare(request_id: int):
    """The buyer's comparison of every quote, sorted by ``?sort=``."""
    sort = request.args.get("sort") or queries.DEFAULT_SORT
    if sort not in queries.SORTS:
        sort = queries.DEFAULT_SORT
    req, rows = queries.compare_quotes(current_user, request_id, sort)
    return render_template("sourcing/compare.html", req=req, rows=rows, sort=sort,
                           sorts=[(key, str(label)) for key, label in SORT_LABELS.items()],
                           action_form=ActionForm(formdata=None))


@bp.get("/requests/<int:request_id>/quotes.xlsx")
@login_required
def export_quotes(request_id: int):
    """The comparison as an XLSX file."""
    data = queries.export_comparison(current_user, request_id, request.args.get("sort"))
    return download(data, "xlsx", f"request-{request_id}-quotes.xlsx")


@bp.get("/attachments/<int:attachment_id>")
@login_required
def request_attachment(attachment_id: int):
    """A request's spec sheet, for whoever may see the request, always as a download."""
    attachment, path = services.get_request_attachment(current_user, attachment_id)
    return _download(path, attachment.content_type, attachment.original_name)


def _download(path, content_type: str, name: str):
    response = send_file(path, mimetype=content_type, as_attachment=True, download_name=name or path.name, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


# --------------------------------------------------------------------------- exporters


@bp.get("/board")
@login_required
def board():
    """The request board (商机大厅): open public requests from the search index (words, filters with counts,
    sort, pages), and the invited-only requests the exporter may quote on, from the database."""
    params, errors = search_services.parse_request_params(request.args, services.today_in_china())
    values = search_views.board_page_values(params)
    try:
        found = queries.search_board(current_user, params, errors)
    except PermissionDenied:
        raise
    except Exception:  # the page stays up; the error is logged with its stack
        logger.exception("request board search failed for %r", request.query_string[:500])
        found = queries.BoardSearch(params=params, results=None, items=[], facets={}, notices=[],
                                    errors=errors + [_("Search is not available right now. Please try again in a "
                                                       "moment.")])
    return render_template("sourcing/board.html", search=found, errors=found.errors, **values)


@bp.get("/quotes/mine")
@login_required
def my_quotes():
    """The exporter company's quotes and where each stands."""
    page = queries.list_my_quotes(current_user, page=request.args.get("page", 1))
    return render_template("sourcing/my_quotes.html", page=page)


# --------------------------------------------------------------------------- one quote


def _render_quote(quote, revise_form=None, status=200):
    view = queries.quote_view(current_user, quote)
    if view["party"] is Party.EXPORTER and revise_form is None:
        revise_form = QuoteForm(formdata=None, products=queries.own_products(current_user))
        revise_form.fill_from(quote)
    return render_template("sourcing/quote.html", quote=quote, req=quote.request, view=view,
                           revise_form=revise_form, action_form=ActionForm(formdata=None)), status


@bp.get("/quotes/<int:quote_id>")
@login_required
def quote_page(quote_id: int):
    """A quote with its revisions, for the request's buyer and the quoting exporter only."""
    return _render_quote(services.get_quote(current_user, quote_id))


@bp.post("/quotes/<int:quote_id>/revise")
@login_required
def revise_quote(quote_id: int):
    """The exporter's revised terms."""
    quote = services.get_quote(current_user, quote_id)
    form = QuoteForm(products=queries.own_products(current_user))
    if form.validate_on_submit():
        try:
            services.revise_quote(current_user, quote.id, form.to_input(), _int_or_none(form.version.data),
                                  form.upload())
        except Conflict as error:
            flash(str(error.message), "warning")
            return redirect(url_for("sourcing.quote_page", quote_id=quote_id))
        except ValidationFailed as error:
            _attach_error(form, error)
        else:
            flash(_("Your quote has been revised; the buyer has been told."), "success")
            return redirect(url_for("sourcing.quote_page", quote_id=quote_id))
    return _render_quote(quote, revise_form=form, status=400)


@bp.post("/quotes/<int:quote_id>/act")
@login_required
def quote_act(quote_id: int):
    """Withdraw (exporter), shortlist, decline or award (buyer) a quote."""
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        action = QuoteAction(form.action.data)
    except ValueError:
        abort(400)
    back = request.form.get("back") == "compare"
    quote = services.get_quote(current_user, quote_id)
    target = url_for("sourcing.compare", request_id=quote.request_id) if back \
        else url_for("sourcing.quote_page", quote_id=quote_id)
    try:
        if action is QuoteAction.AWARD:
            intent = services.award_quote(current_user, quote_id, form.version.data, form.note.data)
            flash(_("Quote awarded: order intent #%(id)s has been sent to the exporter.", id=intent.id), "success")
            return redirect(url_for("deals.intent_page", intent_id=intent.id))
        services.act_on_quote(current_user, quote_id, action, form.version.data, form.note.data)
    except (Conflict, ValidationFailed) as error:
        flash(str(error.message), "warning" if isinstance(error, Conflict) else "danger")
        return redirect(target)
    flash(_("Done: %(action)s.", action=action.label), "success")
    return redirect(target)


@bp.get("/quotes/<int:quote_id>/attachment")
@login_required
def quote_attachment(quote_id: int):
    """A quote's attachment, for the buyer and the quoting exporter only."""
    quote, path = services.get_quote_attachment(current_user, quote_id)
    return _download(path, quote.attachment_type, quote.attachment_original)
