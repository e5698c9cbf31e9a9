"""``/api/v1/requests``: procurement requests (采购需求): list, post, read, edit, publish, close, award; the
buyer's comparison of the quotes a request received.

Every call goes through ``sourcing.services`` and ``sourcing.queries``, as the pages do. Who sees what is
theirs: a request's buyer sees it all (drafts included); a verified exporter sees published public requests,
invited-only ones it was invited to, and those it quoted on; anyone else gets 404, as for a missing id.
``GET /requests`` lists the buyer's own requests (``scope=mine``) or the open requests an exporter may quote
on (``scope=open``); without ``scope`` the company's kind decides (exporters: open, buyers: mine).
"""
from __future__ import annotations

from dataclasses import replace

import marshmallow as ma
from sqlalchemy.orm import selectinload

from marketplace.accounts.models import CompanyKind
from marketplace.api import core
from marketplace.api.core import Blueprint, actor, scope
from marketplace.api.quotes import QuoteSchema, intent_ids, quote_item
from marketplace.catalog.categories import CATEGORIES, CERTIFICATION_CODES, UNITS
from marketplace.errors import NotFound
from marketplace.i18n import _
from marketplace.imports.cells import MAX_PRICE_FEN
from marketplace.inputs import MAX_ID
from marketplace.matching.scoring import REQUIREMENTS
from marketplace.sourcing import queries, services
from marketplace.sourcing.models import ProcurementRequest
from marketplace.sourcing.queries import RequestFilter
from marketplace.sourcing.services import (
    MAX_BUDGET_FEN,
    MAX_DESCRIPTION,
    MAX_INVITED,
    MAX_NOTE,
    MAX_QUANTITY,
    MAX_TITLE,
    RequestInput,
)
from marketplace.sourcing.states import (
    READINESS_CODES,
    Party,
    QuoteState,
    RequestAction,
    RequestState,
    Visibility,
    request_actions,
)

URL_PREFIX = "/requests"
blp = Blueprint("api_procurement", __name__, description="Procurement requests (采购需求): post, change, publish, close, award; their quotes and matches.")

#: the services' field names (the request form's) → this API's
REQUEST_FIELDS = {
    "target_price": "target_unit_price_fen", "budget": "budget_fen", "province_code": "delivery_province_code",
    "city_code": "delivery_city_code", "certifications": "required_certifications",
    "readiness": "required_readiness", "musts": "must_requirements", "invited": "invited_company_ids",
}
CATEGORY_CODES = [c.code for c in CATEGORIES]
REQUEST_STATES = [s.value for s in RequestState]


# ----------------------------------------------------------------------------- input schemas


def _request_fields(partial: bool) -> dict:
    """``RequestInput`` as JSON; ``partial``: every field optional and absent unless sent (PATCH)."""

    def need(**kwargs):
        return {} if partial else {"required": True, **kwargs}

    def maybe(default=None):
        return {"allow_none": True} if partial else {"load_default": default, "allow_none": True}

    def codes(choices, limit: int, description: str, default=()):
        extra = {} if partial else {"load_default": list(default)}
        return ma.fields.List(ma.fields.String(validate=ma.validate.OneOf(sorted(choices))),
                              validate=ma.validate.Length(max=limit), metadata={"description": description}, **extra)

    musts = {} if partial else {"load_default": None, "allow_none": True}
    return {
        "title": ma.fields.String(validate=ma.validate.Length(min=1, max=MAX_TITLE), **need()),
        "description": ma.fields.String(validate=ma.validate.Length(max=MAX_DESCRIPTION), **maybe()),
        "category": ma.fields.String(validate=ma.validate.OneOf(CATEGORY_CODES), **need()),
        "hs_code": ma.fields.String(validate=ma.validate.Regexp(r"^[0-9]{2,10}$"), **maybe(), metadata={
            "description": "HS chapter (2 digits), heading (4) or a longer code, digits only."}),
        "quantity": core.Int(validate=ma.validate.Range(min=1, max=MAX_QUANTITY), **need()),
        "unit": ma.fields.String(validate=ma.validate.OneOf(UNITS), **need()),
        "target_unit_price_fen": core.Int(validate=ma.validate.Range(min=1, max=MAX_PRICE_FEN), **maybe(),
                                          metadata={"description": "Target unit price in fen (分)."}),
        "budget_fen": core.Int(validate=ma.validate.Range(min=1, max=MAX_BUDGET_FEN), **maybe(),
                               metadata={"description": "Total budget in fen (分)."}),
        "delivery_province_code": ma.fields.String(validate=ma.validate.Regexp(r"^[0-9]{6}$"), **need(),
                                                   metadata={"description": "GB/T 2260 province code."}),
        "delivery_city_code": ma.fields.String(validate=ma.validate.Regexp(r"^[0-9]{6}$"), **need(),
                                               metadata={"description": "GB/T 2260 city code in that province."}),
        "deadline": ma.fields.Date(**need(), metadata={
            "description": "Last day (China time) quotes are taken: today up to a year away."}),
        "required_certifications": codes(CERTIFICATION_CODES, len(CERTIFICATION_CODES),
                                         "Certifications every quote's product should hold."),
        "required_readiness": codes(READINESS_CODES, len(READINESS_CODES), "Domestic-readiness items required."),
        "must_requirements": ma.fields.List(
            ma.fields.String(validate=ma.validate.OneOf(REQUIREMENTS)), validate=ma.validate.Length(
                max=len(REQUIREMENTS)), **musts, metadata={
                "description": "Requirements that must be met (a filter on matching); the others only lower a "
                               "supplier's score. Default: certifications."}),
        "visibility": ma.fields.String(validate=ma.validate.OneOf([v.value for v in Visibility]),
                                       **({} if partial else {"load_default": Visibility.PUBLIC.value}),
                                       metadata={"description": "public: every verified exporter; invited: only "
                                                                "invited_company_ids."}),
        "invited_company_ids": ma.fields.List(
            core.Int(validate=ma.validate.Range(min=1, max=MAX_ID)), validate=ma.validate.Length(max=MAX_INVITED),
            **({} if partial else {"load_default": []}),
            metadata={"description": "Verified exporters invited (visibility invited)."}),
    }


RequestCreateSchema = type("RequestCreateSchema", (core.Schema,), {
    **_request_fields(partial=False),
    "publish": core.Bool(load_default=False, metadata={
        "description": "Publish at once (otherwise the request is saved as a draft)."}),
    "__doc__": "A new procurement request (verified buyers only).",
})


RequestPatchSchema = type("RequestPatchSchema", (core.Schema,), {
    **_request_fields(partial=True), "version": core.version_field("request"),
    "__doc__": "Changed terms of a draft or open request (the others stay).",
})


class RequestStepSchema(core.Schema):
    """Publish or close, with optimistic locking."""

    version = core.version_field("request")
    note = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(max=MAX_NOTE),
                            metadata={"description": "Closing: the reason, kept in the request's history."})


class AwardSchema(core.Schema):
    """Award one of the request's quotes."""

    quote_id = core.Int(required=True, validate=ma.validate.Range(min=1, max=MAX_ID))
    version = core.version_field("quote")
    note = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(max=MAX_NOTE))


class RequestListArgs(core.PageArgs):
    """Which requests: the buyer's own (``mine``) or the open ones an exporter may quote on (``open``)."""

    scope = ma.fields.String(load_default=None, validate=ma.validate.OneOf(["mine", "open"]), metadata={
        "description": "mine: the buyer company's own requests; open: open requests the exporter may quote on "
                       "(public ones, and invited-only ones it was invited to). Default: open for exporters, "
                       "mine for buyers."})
    state = ma.fields.String(load_default=None, validate=ma.validate.OneOf(REQUEST_STATES),
                             metadata={"description": "mine only (open requests are open)."})
    category = ma.fields.String(load_default=None, validate=ma.validate.OneOf(CATEGORY_CODES))
    province = ma.fields.String(load_default=None, validate=ma.validate.Regexp(r"^[0-9]{6}$"),
                                metadata={"description": "Delivery province (GB/T 2260 code)."})
    q = ma.fields.String(load_default=None, validate=ma.validate.Length(max=100),
                         metadata={"description": "Words in the title."})


class ComparisonArgs(core.PageArgs):
    """The comparison's order (live quotes always first)."""

    sort = ma.fields.String(load_default=queries.DEFAULT_SORT, validate=ma.validate.OneOf(list(queries.SORTS)))


# ----------------------------------------------------------------------------- output schemas


class QuoteCountsSchema(ma.Schema):
    """Quotes a request received."""

    live = ma.fields.Integer(required=True, metadata={"description": "Submitted or shortlisted."})
    total = ma.fields.Integer(required=True, metadata={"description": "Every quote but withdrawn ones."})


class OwnQuoteSchema(ma.Schema):
    """The calling exporter's quote on the request."""

    id = ma.fields.Integer(required=True)
    state = ma.fields.String(required=True, metadata={"enum": [s.value for s in QuoteState]})


class RequestSchema(ma.Schema):
    """A procurement request as the caller sees it."""

    id = ma.fields.Integer(required=True)
    title = ma.fields.String(required=True)
    description = ma.fields.String(required=True, allow_none=True)
    category = ma.fields.String(required=True)
    hs_code = ma.fields.String(required=True, allow_none=True)
    quantity = ma.fields.Integer(required=True)
    unit = ma.fields.String(required=True)
    target_unit_price_fen = ma.fields.Integer(required=True, allow_none=True)
    budget_fen = ma.fields.Integer(required=True, allow_none=True)
    delivery_province_code = ma.fields.String(required=True)
    delivery_city_code = ma.fields.String(required=True)
    required_certifications = ma.fields.List(ma.fields.String(), required=True)
    required_readiness = ma.fields.List(ma.fields.String(), required=True)
    must_requirements = ma.fields.List(ma.fields.String(), required=True)
    deadline = ma.fields.Date(required=True)
    visibility = ma.fields.String(required=True, metadata={"enum": [v.value for v in Visibility]})
    state = ma.fields.String(required=True, metadata={"enum": REQUEST_STATES})
    version = ma.fields.Integer(required=True)
    buyer_company_id = ma.fields.Integer(required=True)
    buyer_name = ma.fields.String(required=True)
    session_id = ma.fields.Integer(required=True, allow_none=True,
                                   metadata={"description": "The matchmaking session whose demand list it is on."})
    created_at = ma.fields.DateTime(required=True)
    updated_at = ma.fields.DateTime(required=True)
    published_at = ma.fields.DateTime(required=True, allow_none=True)
    party = ma.fields.String(required=True, metadata={"enum": ["buyer", "exporter"],
                                                      "description": "The caller's side of the request."})
    actions = ma.fields.List(ma.fields.String(metadata={"enum": [a.value for a in RequestAction]}), required=True,
                             metadata={"description": "The buyer's possible steps (award is per quote)."})
    invited_company_ids = ma.fields.List(ma.fields.Integer(), required=True, allow_none=True,
                                         metadata={"description": "The buyer's invitations (null for exporters)."})
    quote_counts = ma.fields.Nested(QuoteCountsSchema, required=True, allow_none=True,
                                    metadata={"description": "For the buyer (null for exporters)."})
    own_quote = ma.fields.Nested(OwnQuoteSchema, required=True, allow_none=True,
                                 metadata={"description": "The calling exporter's quote (null if none)."})
    can_quote = ma.fields.Boolean(required=True, metadata={"description": "Whether the caller may quote now."})


class RequestEventSchema(ma.Schema):
    """One change of a request."""

    version = ma.fields.Integer(required=True)
    action = ma.fields.String(required=True, metadata={"enum": [a.value for a in RequestAction]})
    from_state = ma.fields.String(required=True, allow_none=True)
    to_state = ma.fields.String(required=True)
    at = ma.fields.DateTime(required=True)
    actor_company_id = ma.fields.Integer(required=True, allow_none=True)
    note = ma.fields.String(required=True, allow_none=True)


class RequestDetailSchema(RequestSchema):
    """A request with its history (the buyer's; empty for exporters)."""

    events = ma.fields.List(ma.fields.Nested(RequestEventSchema), required=True)


class AwardedSchema(ma.Schema):
    """What an award made: the order intent, and where the request and the quote stand."""

    intent_id = ma.fields.Integer(required=True)
    request_id = ma.fields.Integer(required=True)
    request_state = ma.fields.String(required=True, metadata={"enum": REQUEST_STATES})
    request_version = ma.fields.Integer(required=True)
    quote_id = ma.fields.Integer(required=True)
    quote_state = ma.fields.String(required=True, metadata={"enum": [s.value for s in QuoteState]})


class QuoteComparisonSchema(ma.Schema):
    """One quote in the buyer's comparison, computed against the request."""

    quote = ma.fields.Nested(QuoteSchema, required=True)
    award_quantity = ma.fields.Integer(required=True, metadata={
        "description": "What an award buys: the requested quantity, or less when the exporter offers less."})
    amount_fen = ma.fields.Integer(required=True, metadata={"description": "award_quantity × unit price."})
    vs_target_percent = ma.fields.String(required=True, allow_none=True, metadata={
        "description": "Percent above (+) or below (−) the target unit price, one decimal (a decimal string)."})
    vs_budget_percent = ma.fields.String(required=True, allow_none=True, metadata={
        "description": "Percent of the budget the amount takes (a decimal string)."})
    moq_fits = ma.fields.Boolean(required=True)
    certifications_held = ma.fields.List(ma.fields.String(), required=True)
    certifications_missing = ma.fields.List(ma.fields.String(), required=True)
    readiness_held = ma.fields.List(ma.fields.String(), required=True)
    readiness_missing = ma.fields.List(ma.fields.String(), required=True)
    same_province = ma.fields.Boolean(required=True)
    exporter_tags = ma.fields.List(ma.fields.String(), required=True)
    tariff_hit = ma.fields.Boolean(required=True)
    verified = ma.fields.Boolean(required=True)
    lapsed = ma.fields.Boolean(required=True, metadata={"description": "The quote's valid-until date has passed."})


RequestPage = core.page_schema(RequestSchema, "RequestPage")
QuoteComparisonPage = core.page_schema(QuoteComparisonSchema, "QuoteComparisonPage")


# ----------------------------------------------------------------------------- representation


def request_item(req: ProcurementRequest, view: dict) -> dict:
    """A request as the API shows it; ``view`` is ``queries.request_view`` of the caller (or the same keys)."""
    party = view["party"]
    buyer = party is Party.BUYER
    own = view["own_quote"]
    counts = view["quote_counts"]
    return {
        "id": req.id, "title": req.title, "description": req.description, "category": req.category,
        "hs_code": req.hs_code, "quantity": req.quantity, "unit": req.unit,
        "target_unit_price_fen": req.target_unit_price_fen, "budget_fen": req.budget_fen,
        "delivery_province_code": req.delivery_province_code, "delivery_city_code": req.delivery_city_code,
        "required_certifications": list(req.required_certifications or []),
        "required_readiness": list(req.required_readiness or []),
        "must_requirements": list(req.must_requirements or []),
        "deadline": req.deadline, "visibility": req.visibility.value, "state": req.state.value,
        "version": req.version, "buyer_company_id": req.buyer_company_id, "buyer_name": req.buyer_company.name_zh,
        "session_id": req.session_id, "created_at": req.created_at, "updated_at": req.updated_at,
        "published_at": req.published_at, "party": party.value,
        "actions": [a.value for a in view["actions"]],
        "invited_company_ids": [i.company_id for i in req.invitations] if buyer else None,
        "quote_counts": {"live": counts[0], "total": counts[1]} if counts is not None else None,
        "own_quote": {"id": own.id, "state": own.state.value} if own is not None else None,
        "can_quote": bool(view["can_quote"]),
    }


def request_detail(req: ProcurementRequest) -> dict:
    """A request with its history, as the caller sees it (``queries.request_view``)."""
    view = queries.request_view(actor(), req)
    return {
        **request_item(req, view),
        "events": [
            {"version": e.version, "action": e.action.value, "from_state": e.from_state.value if e.from_state else None,
             "to_state": e.to_state.value, "at": e.at, "actor_company_id": e.actor_company_id, "note": e.note}
            for e in view["events"]
        ],
    }


def _input_of(req: ProcurementRequest) -> RequestInput:
    """The request's current terms as the service's input (a PATCH changes some of them)."""
    return RequestInput(
        title=req.title, category=req.category, quantity=req.quantity, unit=req.unit,
        delivery_province_code=req.delivery_province_code, delivery_city_code=req.delivery_city_code,
        deadline=req.deadline, description=req.description, hs_code=req.hs_code,
        target_unit_price_fen=req.target_unit_price_fen, budget_fen=req.budget_fen,
        required_certifications=tuple(req.required_certifications or ()),
        required_readiness=tuple(req.required_readiness or ()),
        must_requirements=tuple(req.must_requirements or ()), visibility=req.visibility,
        invited_company_ids=tuple(i.company_id for i in req.invitations),
    )


def _as_input_values(data: dict) -> dict:
    """JSON values → ``RequestInput`` values (tuples, the visibility enum)."""
    values = dict(data)
    for name in ("required_certifications", "required_readiness", "must_requirements", "invited_company_ids"):
        if values.get(name) is not None:
            values[name] = tuple(values[name])
    if values.get("visibility") is not None:
        values["visibility"] = Visibility(values["visibility"])
    if "must_requirements" in values and values["must_requirements"] is None:
        del values["must_requirements"]  # the service's default musts
    return values


def _location(req: ProcurementRequest) -> dict:
    return {"Location": f"{core.API_PREFIX}{URL_PREFIX}/{req.id}"}


# ----------------------------------------------------------------------------- routes


def _filters(args: dict) -> RequestFilter:
    return RequestFilter(state=RequestState(args["state"]) if args["state"] else None, category=args["category"],
                         province=args["province"], text=args["q"])


@blp.route("", methods=["GET"])
@scope("read")
@blp.arguments(RequestListArgs, location="query")
@blp.response(200, RequestPage)
def list_requests(args: dict):
    """The buyer's own requests (``scope=mine``) or the open requests an exporter may quote on (``scope=open``),
    newest first. Without ``scope``: open for exporters, mine for everyone else."""
    user = actor()
    which = args["scope"] or ("open" if user.company.kind is CompanyKind.EXPORTER else "mine")
    filters = _filters(args)
    if which == "mine":
        statement = queries.my_requests_statement(user, filters).options(
            selectinload(ProcurementRequest.buyer_company), selectinload(ProcurementRequest.invitations))
        items, next_cursor = core.keyset_page(statement, ProcurementRequest.id, args)
        counts = queries.quote_counts([r.id for r in items])
        views = [{"party": Party.BUYER, "actions": request_actions(r.state), "own_quote": None,
                  "quote_counts": counts.get(r.id, (0, 0)), "can_quote": False} for r in items]
    else:
        statement = queries.open_requests_statement(user, filters)
        items, next_cursor = core.keyset_page(statement, ProcurementRequest.id, args)
        views = [queries.request_view(user, r) for r in items]
    return {"items": [request_item(r, v) for r, v in zip(items, views, strict=True)], "next_cursor": next_cursor}


@blp.route("", methods=["POST"])
@scope("sourcing:write")
@blp.arguments(RequestCreateSchema)
@blp.response(201, RequestDetailSchema)
def create_request(data: dict):
    """Post a request (verified buyers): saved as a draft, or published at once with ``publish: true``."""
    publish = data.pop("publish")
    with core.renamed_fields(REQUEST_FIELDS):
        req, _created = services.create_request(actor(), RequestInput(**_as_input_values(data)),
                                                core.idempotency_key())
        if publish and req.state is RequestState.DRAFT:
            req = services.publish_request(actor(), req.id, req.version)
    req = services.get_request(actor(), req.id)
    return request_detail(req), 201, _location(req)


@blp.route("/<int:request_id>", methods=["GET"])
@scope("read")
@blp.response(200, RequestDetailSchema)
def read_request(request_id: int):
    """A request, for its buyer (drafts included) or an exporter allowed to see it; 404 for anyone else."""
    return request_detail(services.get_request(actor(), request_id))


@blp.route("/<int:request_id>", methods=["PATCH"])
@scope("sourcing:write")
@blp.arguments(RequestPatchSchema)
@blp.response(200, RequestDetailSchema)
def edit_request(data: dict, request_id: int):
    """Change the buyer's own draft or open request (terms not sent stay); the exporters that quoted are told."""
    req = services.get_own_request(actor(), request_id)
    core.check_if_match(RequestDetailSchema().dump(request_detail(req)))
    version = data.pop("version", None) or req.version
    terms = replace(_input_of(req), **_as_input_values(data))
    with core.renamed_fields(REQUEST_FIELDS):
        services.update_request(actor(), req.id, terms, version)
    return request_detail(services.get_request(actor(), request_id))


def _step(request_id: int, data: dict, service, **kwargs) -> dict:
    req = services.get_own_request(actor(), request_id)
    core.check_if_match(RequestDetailSchema().dump(request_detail(req)))
    with core.renamed_fields(REQUEST_FIELDS):
        service(actor(), req.id, data["version"] or req.version, **kwargs)
    return request_detail(services.get_request(actor(), request_id))


@blp.route("/<int:request_id>/publish", methods=["POST"])
@scope("sourcing:write")
@blp.doc(**{"x-if-match": True})
@blp.arguments(RequestStepSchema)
@blp.response(200, RequestDetailSchema)
def publish_request(data: dict, request_id: int):
    """Open a draft for quotes (verified buyers); invited exporters are told."""
    return _step(request_id, data, services.publish_request)


@blp.route("/<int:request_id>/close", methods=["POST"])
@scope("sourcing:write")
@blp.doc(**{"x-if-match": True})
@blp.arguments(RequestStepSchema)
@blp.response(200, RequestDetailSchema)
def close_request(data: dict, request_id: int):
    """Stop taking quotes (a quote may still be awarded); ``note`` is the reason. The quoting exporters are told."""
    return _step(request_id, data, services.close_request, note=data["note"])


@blp.route("/<int:request_id>/award", methods=["POST"])
@scope("sourcing:write")
@blp.arguments(AwardSchema)
@blp.response(201, AwardedSchema)
def award_request(data: dict, request_id: int):
    """Award one of the request's quotes: the request is awarded and an order intent starts with the quote's
    terms (``Location``: the intent). ``version`` is the quote's."""
    req = services.get_own_request(actor(), request_id)
    quote = services.get_quote(actor(), data["quote_id"])
    if quote.request_id != req.id:
        raise NotFound(_("This quote does not exist."))
    intent = services.award_quote(actor(), quote.id, data["version"] or quote.version, data["note"])
    req = services.get_request(actor(), request_id)
    quote = services.get_quote(actor(), quote.id)
    body = {"intent_id": intent.id, "request_id": req.id, "request_state": req.state.value,
            "request_version": req.version, "quote_id": quote.id, "quote_state": quote.state.value}
    return body, 201, {"Location": f"{core.API_PREFIX}/intents/{intent.id}"}


@blp.route("/<int:request_id>/quotes", methods=["GET"])
@scope("read")
@blp.arguments(ComparisonArgs, location="query")
@blp.response(200, QuoteComparisonPage)
def compare_quotes(args: dict, request_id: int):
    """Every quote on the buyer's own request, side by side (``sort``; live quotes first); 404 for anyone else."""
    _req, rows = queries.compare_quotes(actor(), request_id, args["sort"])
    offset, limit = core.offset_page(args)
    page = rows[offset:offset + limit]
    intents = intent_ids([row.quote.id for row in page])
    items = [{
        "quote": quote_item(row.quote, Party.BUYER, intents.get(row.quote.id)),
        "award_quantity": row.quantity, "amount_fen": row.amount_fen,
        "vs_target_percent": str(row.vs_target) if row.vs_target is not None else None,
        "vs_budget_percent": str(row.vs_budget) if row.vs_budget is not None else None,
        "moq_fits": row.moq_fits, "certifications_held": row.certs_held,
        "certifications_missing": row.certs_missing, "readiness_held": row.readiness_held,
        "readiness_missing": row.readiness_missing, "same_province": row.same_province,
        "exporter_tags": sorted(t.value for t in row.tags), "tariff_hit": row.tariff_hit,
        "verified": row.verified, "lapsed": row.lapsed,
    } for row in page]
    more = offset + limit < len(rows)
    return {"items": items, "next_cursor": core.encode_cursor({"offset": offset + limit}) if more else None}
