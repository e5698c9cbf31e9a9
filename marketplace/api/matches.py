"""``/api/v1/requests/{id}/matches`` and ``/api/v1/products/{id}/matches``: matches (精准匹配) with their
explanations, both ways; ``/requests/{id}/matches/{product_id}`` explains one pair ("why / why not").

Reads the materialized matches through ``matching.queries`` (the pages' reads: a request's best product per
exporter, a product's open requests the company may see) and scores one pair through
``matching.services.explain_pair``. Each result is ``matching.explain.as_json`` (the stable shape of
``flask match … --json``: score, parts, missing, reasons), its texts in the caller's language
(``Accept-Language``). A request's matches are its buyer's alone; a product's, its company's (404 for anyone
else, as for a missing id).
"""
from __future__ import annotations

import marshmallow as ma

from marketplace.api import core
from marketplace.api.core import Blueprint, actor, scope
from marketplace.catalog.models import Product
from marketplace.catalog.services import get_visible_product
from marketplace.errors import NotFound
from marketplace.extensions import db
from marketplace.i18n import _
from marketplace.matching import explain, queries, ranking, services
from marketplace.matching.scoring import REQUIREMENTS
from marketplace.sourcing.services import get_own_request

URL_PREFIX = ""  # its routes hang under /requests/… and /products/…
blp = Blueprint("api_matches", __name__, description="Matches (精准匹配) with explanations, both ways.")


# ----------------------------------------------------------------------------- schemas


class MatchArgs(core.Schema):
    """How many results."""

    limit = core.QueryInt(load_default=20, validate=ma.validate.Range(min=1, max=100),
                          metadata={"description": "How many results (1-100), best first."})


def _explanation_fields(nullable: bool = False) -> dict:
    kw = {"required": True, "allow_none": nullable}
    return {
        "score": ma.fields.Float(**kw, metadata={"description": "0-100, one decimal."}),
        "parts": ma.fields.Dict(**kw, metadata={
            "description": "Every part of the score (text, goods, region, moq, price, certifications, readiness, "
                           "capacity, bonus), as computed; `goods.neighbour` is true for similar goods (same "
                           "category, too few of the request's words), listed while fewer than 10 products match."}),
        "missing": ma.fields.List(ma.fields.Dict(), **kw, metadata={
            "description": "The gaps: each {code, …its numbers, text} with text in the caller's language."}),
        "reasons": ma.fields.List(ma.fields.String(), **kw, metadata={
            "description": "What speaks for the match, in the caller's language."}),
    }


SupplierMatchSchema = type("SupplierMatchSchema", (ma.Schema,), {
    "product_id": ma.fields.Integer(required=True),
    "title": ma.fields.String(required=True, metadata={"description": "The product's title."}),
    "exporter": ma.fields.String(required=True, metadata={"description": "The exporter's name."}),
    "exporter_id": ma.fields.Integer(required=True),
    "shortlisted": ma.fields.Boolean(required=True, metadata={
        "description": "Whether the buyer shortlisted this exporter for the request."}),
    **_explanation_fields(),
    "__doc__": "A supplier of a request: the exporter's best-fitting product.",
})


class RequestMatchesSchema(ma.Schema):
    """A request's suppliers, best first (one product per exporter)."""

    request_id = ma.fields.Integer(required=True)
    total = ma.fields.Integer(required=True, metadata={
        "description": "How many products are listed for the request: its matches and, while they are fewer than "
                       "10, similar goods of its category (`parts.goods.neighbour`)."})
    matchable = ma.fields.Boolean(required=True, metadata={
        "description": "Whether the request is matched now (open, before its deadline)."})
    excluded = ma.fields.Dict(keys=ma.fields.String(metadata={"enum": list(REQUIREMENTS)}), values=ma.fields.Integer(),
                              required=True, metadata={
                                  "description": "When nothing matches: how many candidate products each must "
                                                 "requirement excluded (empty otherwise)."})
    results = ma.fields.List(ma.fields.Nested(SupplierMatchSchema), required=True)


ProductRequestMatchSchema = type("ProductRequestMatchSchema", (ma.Schema,), {
    "request_id": ma.fields.Integer(required=True),
    "title": ma.fields.String(required=True, metadata={"description": "The request's title."}),
    "buyer": ma.fields.String(required=True, metadata={"description": "The buyer's name."}),
    "buyer_company_id": ma.fields.Integer(required=True),
    "exporter": ma.fields.String(required=True, metadata={"description": "The product's company."}),
    "deadline": ma.fields.Date(required=True),
    **_explanation_fields(),
    "__doc__": "An open request a product fits.",
})


class ProductMatchesSchema(ma.Schema):
    """The open requests a product fits, best first."""

    product_id = ma.fields.Integer(required=True)
    total = ma.fields.Integer(required=True, metadata={
        "description": "How many open requests the company may see the product fits."})
    results = ma.fields.List(ma.fields.Nested(ProductRequestMatchSchema), required=True)


PairSchema = type("PairExplanationSchema", (ma.Schema,), {
    "request_id": ma.fields.Integer(required=True),
    "product_id": ma.fields.Integer(required=True),
    "matches": ma.fields.Boolean(required=True, metadata={"description": "Whether the pair is a match."}),
    "why_not_code": ma.fields.String(required=True, allow_none=True, metadata={
        "enum": [*explain.WHY_NOT, None], "description": "Why it is not a match (null when it is; `neighbour`: "
        "of the request's category but too few of its words, listed as similar goods while fewer than 10 "
        "products match)."}),
    "why_not": ma.fields.String(required=True, allow_none=True, metadata={
        "description": "The same in the caller's language."}),
    "excluded_by": ma.fields.List(ma.fields.String(metadata={"enum": list(REQUIREMENTS)}), required=True,
                                  metadata={"description": "The must requirements that exclude it."}),
    **_explanation_fields(nullable=True),
    "__doc__": "One request and product scored now; score, parts, missing and reasons are null when the pair "
               "could not be scored (the product is not listed, the request names no goods words).",
})


# ----------------------------------------------------------------------------- routes


@blp.route("/requests/<int:request_id>/matches", methods=["GET"])
@scope("read")
@blp.arguments(MatchArgs, location="query")
@blp.response(200, RequestMatchesSchema)
def request_matches(args: dict, request_id: int):
    """The buyer's request's suppliers (the best product per exporter), with explanations; buyer only."""
    req = get_own_request(actor(), request_id)
    suppliers = queries.suppliers_for_request(req, limit=args["limit"])
    matchable = ranking.is_matchable(req)
    excluded = queries.excluded_summary(req) if not suppliers and matchable else {}
    shortlisted = queries.shortlisted(req.id)
    return {
        "request_id": req.id, "total": queries.count_for_request(req.id), "matchable": matchable,
        "excluded": excluded,
        "results": [
            explain.as_json(m.score, m.parts, m.gaps, product_id=m.product_id, title=m.product.title_zh,
                            exporter=m.product.company.name_zh, exporter_id=m.exporter_id,
                            shortlisted=m.exporter_id in shortlisted)
            for m in suppliers
        ],
    }


@blp.route("/requests/<int:request_id>/matches/<int:product_id>", methods=["GET"])
@scope("read")
@blp.response(200, PairSchema)
def explain_pair(request_id: int, product_id: int):
    """Why a product does or does not match the buyer's request, scored now with the canonical function;
    buyer only. Any product the buyer may see can be named (404 for others)."""
    req = get_own_request(actor(), request_id)
    product = get_visible_product(actor(), product_id)
    found = services.explain_pair(db.session, req, product)
    body = {"request_id": req.id, "product_id": product.id, "matches": found.why_not is None,
            "why_not_code": found.why_not,
            "why_not": str(explain.WHY_NOT[found.why_not]) if found.why_not else None,
            "excluded_by": [], "score": None, "parts": None, "missing": None, "reasons": None}
    if found.fit is not None:
        body.update(explain.as_json(found.fit.score, found.fit.parts, found.fit.gaps,
                                    excluded_by=list(found.fit.excluded_by)))
    return body


@blp.route("/products/<int:product_id>/matches", methods=["GET"])
@scope("read")
@blp.arguments(MatchArgs, location="query")
@blp.response(200, ProductMatchesSchema)
def product_matches(args: dict, product_id: int):
    """The open requests the caller's own product fits (those its company may see), best first; 404 for
    another company's product."""
    user = actor()
    product = db.session.get(Product, product_id)
    if product is None:
        raise NotFound(_("This product does not exist."))
    found = queries.requests_for_product(user, product, limit=args["limit"])  # another company's: 404
    return {
        "product_id": product.id, "total": queries.count_for_product(user, product),
        "results": [
            explain.as_json(m.score, m.parts, m.gaps, request_id=m.request_id, title=m.request.title,
                            buyer=m.request.buyer_company.name_zh, buyer_company_id=m.request.buyer_company_id,
                            exporter=product.company.name_zh, deadline=m.request.deadline)
            for m in found
        ],
    }
