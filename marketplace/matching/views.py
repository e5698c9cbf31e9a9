"""Matching pages: the exporter's 商机 list, all the open requests one of its products fits, "why not" for a
product the buyer names, invite to quote;
and the data the request page (its suppliers) and the product page (its requests) include.

Views parse input, call one service and render; who may see what is the sourcing and catalog rules.
"""
from __future__ import annotations

import re

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from marketplace.catalog.services import get_visible_product
from marketplace.errors import NotFound
from marketplace.extensions import db
from marketplace.i18n import _
from marketplace.inputs import query_id
from marketplace.matching import bp, explain, queries, ranking, services
from marketplace.matching.forms import InviteForm
from marketplace.sourcing.services import get_own_request

_PRODUCT_LINK = re.compile(r"/products/(\d{1,10})(?:\D|$)")


@bp.app_context_processor
def _matching_helpers():
    return {"match_gap_text": explain.gap_text, "match_reasons": explain.part_lines,
            "requirement_labels": explain.REQUIREMENT_LABELS}


def request_suppliers(req) -> dict:
    """What the buyer's request page shows of its matches: the best product per exporter, the count, and
    (when empty) which must requirement excluded the candidates."""
    suppliers = queries.suppliers_for_request(req)
    excluded = queries.excluded_summary(req) if not suppliers and ranking.is_matchable(req) else {}
    total = queries.count_for_request(req.id)
    return {"suppliers": suppliers, "total": total, "similar": queries.count_similar(req.id, total),
            "excluded": excluded,
            "invite_form": InviteForm(formdata=None), "matchable": ranking.is_matchable(req),
            "shortlisted": queries.shortlisted(req.id)}


#: the open requests the owner's product page lists (the rest are a link away), and a page of the list of all
PRODUCT_PAGE_FITS = 20
FITS_PER_PAGE = 20


def product_requests(product) -> tuple[list, int]:
    """The best open requests an owner's product fits and how many it fits in all (none for anyone else)."""
    if not current_user.is_authenticated or current_user.company_id != product.company_id:
        return [], 0
    fits = queries.requests_for_product(current_user, product, limit=PRODUCT_PAGE_FITS)
    total = len(fits) if len(fits) < PRODUCT_PAGE_FITS else queries.count_for_product(current_user, product)
    return fits, total


@bp.get("/products/<int:product_id>/requests")
@login_required
def product_requests_list(product_id: int):
    """Every open request one of the exporter's own products fits, best first, a page at a time."""
    product = get_visible_product(current_user, product_id)
    page = queries.product_requests_page(current_user, product, request.args.get("page", 1), FITS_PER_PAGE)
    return render_template("matching/product_requests.html", product=product, page=page)


@bp.get("/opportunities")
@login_required
def opportunities():
    """The exporter's 商机: open requests its products fit, best first, each with its best product."""
    page = queries.opportunities(current_user, request.args.get("page", 1))
    return render_template("matching/opportunities.html", page=page)


def _named_product_id(raw: str | None) -> int | None:
    raw = (raw or "").strip()
    found = _PRODUCT_LINK.search(raw)
    return query_id(found.group(1) if found else raw)


@bp.get("/requests/<int:request_id>/why")
@login_required
def why_not(request_id: int):
    """One named product scored against the buyer's request: each part and gap, and why it is not listed."""
    req = get_own_request(current_user, request_id)
    raw = request.args.get("product")
    product_id = _named_product_id(raw)
    found = None
    problem = None
    if raw and product_id is None:
        problem = _("Paste a product's link or number, e.g. 123 or …/products/123.")
    elif product_id is not None:
        try:
            product = get_visible_product(current_user, product_id)
        except NotFound:
            problem = _("There is no listed product with this number.")
        else:
            found = services.explain_pair(db.session, req, product)
    return render_template("matching/why.html", req=req, found=found, problem=problem, raw=raw or "",
                           why_not=explain.WHY_NOT), (422 if problem else 200)


@bp.post("/requests/<int:request_id>/shortlist/<int:company_id>")
@login_required
def shortlist(request_id: int, company_id: int):
    """The buyer puts a matched exporter on its shortlist for the request, or takes it off (``on``: 1 or 0)."""
    form = InviteForm()
    if not form.validate_on_submit():
        flash(_("The form expired; please try again."), "danger")
    elif services.set_shortlisted(current_user, request_id, company_id, request.form.get("on") == "1"):
        flash(_("Added to the shortlist."), "success")
    else:
        flash(_("Taken off the shortlist."), "info")
    return redirect(url_for("sourcing.request_page", request_id=request_id, _anchor="suppliers"))


@bp.post("/requests/<int:request_id>/invite/<int:company_id>")
@login_required
def invite(request_id: int, company_id: int):
    """The buyer invites a matched exporter to quote."""
    form = InviteForm()
    if not form.validate_on_submit():
        flash(_("The form expired; please try again."), "danger")
    elif services.invite_to_quote(current_user, request_id, company_id):
        flash(_("Invitation sent: the exporter is notified."), "success")
    else:
        flash(_("This exporter was invited already."), "info")
    return redirect(url_for("sourcing.request_page", request_id=request_id, _anchor="suppliers"))
