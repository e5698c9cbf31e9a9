"""``/api/v1/quotes``: an exporter's quotes on procurement requests: quote, list, read, revise, withdraw; and
the buyer's decisions on a quote it received (shortlist, decline; awarding is ``POST /requests/{id}/award``).

Quote creation lives at ``POST /quotes`` with the ``request_id`` in the body (``/requests/{id}/quotes`` is the
buyer's comparison, in the procurement blueprint). Every call goes through ``sourcing.services`` and
``sourcing.queries``, as the pages do: a quote is visible to its exporter and to the request's buyer only
(anyone else, competitors included, gets 404); one quote per exporter and request; revising and withdrawing
only while the request is open; terms checked by ``check_quote_input``.
"""
from __future__ import annotations

from dataclasses import replace

import marshmallow as ma
import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from marketplace.api import core
from marketplace.api.core import Blueprint, actor, scope
from marketplace.catalog.rows import MAX_LEAD_TIME_DAYS
from marketplace.deals.models import OrderIntent
from marketplace.extensions import db
from marketplace.imports.cells import MAX_PRICE_FEN
from marketplace.inputs import MAX_ID
from marketplace.sourcing import queries, services
from marketplace.sourcing.models import Quote
from marketplace.sourcing.services import MAX_NOTE, MAX_QUANTITY, QuoteInput
from marketplace.sourcing.states import Party, QuoteAction, QuoteState, quote_actions

URL_PREFIX = "/quotes"
blp = Blueprint("api_quotes", __name__, description="Quotes: an exporter's offers on requests; revise, withdraw.")

#: the services' field names (the pages' form fields) → this API's
QUOTE_FIELDS = {"unit_price": "unit_price_fen"}


# ----------------------------------------------------------------------------- schemas


def _terms_fields(partial: bool) -> dict:
    """The quoted terms (``QuoteInput``); ``partial``: every field optional and absent unless sent (PATCH)."""

    def need(**kwargs):
        return {} if partial else {"required": True, **kwargs}

    def maybe():
        return {"allow_none": True} if partial else {"load_default": None, "allow_none": True}

    return {
        "unit_price_fen": core.Int(validate=ma.validate.Range(min=1, max=MAX_PRICE_FEN), **need(),
                                   metadata={"description": "Unit price in fen (分)."}),
        "quantity": core.Int(validate=ma.validate.Range(min=1, max=MAX_QUANTITY), **need(),
                             metadata={"description": "How much the exporter can supply, in the request's unit."}),
        "moq": core.Int(validate=ma.validate.Range(min=1, max=MAX_QUANTITY), **need(),
                        metadata={"description": "Minimum order quantity."}),
        "lead_time_days": core.Int(validate=ma.validate.Range(min=0, max=MAX_LEAD_TIME_DAYS), **need()),
        "valid_until": ma.fields.Date(**need(), metadata={
            "description": "Last day (China time) the quote holds: today up to a year away."}),
        "product_id": core.Int(validate=ma.validate.Range(min=1, max=MAX_ID), **maybe(), metadata={
            "description": "One of the exporter's own published products (optional)."}),
        "note": ma.fields.String(validate=ma.validate.Length(max=MAX_NOTE), **maybe()),
    }


QuoteCreateSchema = type("QuoteCreateSchema", (core.Schema,), {
    "request_id": core.Int(required=True, validate=ma.validate.Range(min=1, max=MAX_ID),
                           metadata={"description": "The open request quoted on."}),
    **_terms_fields(partial=False),
    "__doc__": "A new quote on an open request the exporter may see."})


QuotePatchSchema = type("QuotePatchSchema", (core.Schema,), {
    **_terms_fields(partial=True), "version": core.version_field("quote"),
    "__doc__": "Changed terms (the others stay); the quote must be the caller's and the request open."})


class QuoteActionSchema(core.Schema):
    """A step on a quote, with optimistic locking."""

    version = core.version_field("quote")
    note = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(max=MAX_NOTE),
                            metadata={"description": "A note (a decline needs the reason here)."})


class QuoteListArgs(core.PageArgs):
    """Filters of the exporter's quotes."""

    state = ma.fields.String(load_default=None, validate=ma.validate.OneOf([s.value for s in QuoteState]))
    request_id = core.QueryInt(load_default=None, validate=ma.validate.Range(min=1, max=MAX_ID))


class QuoteSchema(ma.Schema):
    """A quote as its exporter or the request's buyer sees it."""

    id = ma.fields.Integer(required=True)
    request_id = ma.fields.Integer(required=True)
    request_title = ma.fields.String(required=True)
    request_state = ma.fields.String(required=True, metadata={"enum": ["draft", "open", "closed", "awarded",
                                                                       "expired"]})
    exporter_company_id = ma.fields.Integer(required=True)
    exporter_name = ma.fields.String(required=True)
    product_id = ma.fields.Integer(required=True, allow_none=True)
    unit_price_fen = ma.fields.Integer(required=True)
    quantity = ma.fields.Integer(required=True)
    moq = ma.fields.Integer(required=True)
    lead_time_days = ma.fields.Integer(required=True)
    valid_until = ma.fields.Date(required=True)
    note = ma.fields.String(required=True, allow_none=True)
    state = ma.fields.String(required=True, metadata={"enum": [s.value for s in QuoteState]})
    decline_reason = ma.fields.String(required=True, allow_none=True)
    version = ma.fields.Integer(required=True)
    created_at = ma.fields.DateTime(required=True)
    updated_at = ma.fields.DateTime(required=True)
    party = ma.fields.String(required=True, metadata={"enum": ["buyer", "exporter"],
                                                      "description": "The caller's side of the quote."})
    actions = ma.fields.List(ma.fields.String(metadata={"enum": [a.value for a in QuoteAction]}), required=True,
                             metadata={"description": "What the caller may do to the quote now."})
    intent_id = ma.fields.Integer(required=True, allow_none=True,
                                  metadata={"description": "The order intent an award started."})


class QuoteRevisionSchema(ma.Schema):
    """One version of a quote: the step that made it and the terms it then had."""

    version = ma.fields.Integer(required=True)
    action = ma.fields.String(required=True, metadata={"enum": [a.value for a in QuoteAction]})
    from_state = ma.fields.String(required=True, allow_none=True)
    to_state = ma.fields.String(required=True)
    at = ma.fields.DateTime(required=True)
    actor_company_id = ma.fields.Integer(required=True, allow_none=True)
    note = ma.fields.String(required=True, allow_none=True)
    terms = ma.fields.Dict(required=True, metadata={"description": "unit_price_fen, quantity, moq, lead_time_days, "
                                                                   "valid_until, product_id, note"})


class QuoteDetailSchema(QuoteSchema):
    """A quote with its revisions."""

    revisions = ma.fields.List(ma.fields.Nested(QuoteRevisionSchema), required=True)


QuotePage = core.page_schema(QuoteSchema, "QuotePage")


# ----------------------------------------------------------------------------- representation


def quote_item(quote: Quote, party: Party, intent_id: int | None) -> dict:
    """A quote as the API shows it to ``party`` (its request loaded)."""
    request = quote.request
    return {
        "id": quote.id, "request_id": quote.request_id, "request_title": request.title,
        "request_state": request.state.value, "exporter_company_id": quote.exporter_company_id,
        "exporter_name": quote.exporter_company.name_zh, "product_id": quote.product_id,
        "unit_price_fen": quote.unit_price_fen, "quantity": quote.quantity, "moq": quote.moq,
        "lead_time_days": quote.lead_time_days, "valid_until": quote.valid_until, "note": quote.note,
        "state": quote.state.value, "decline_reason": quote.decline_reason, "version": quote.version,
        "created_at": quote.created_at, "updated_at": quote.updated_at, "party": party.value,
        "actions": [a.value for a in quote_actions(quote.state, party, request.state)],
        "intent_id": intent_id,
    }


def intent_ids(quote_ids: list[int]) -> dict[int, int]:
    """quote id → the order intent its award started (only awarded quotes have one)."""
    if not quote_ids:
        return {}
    return dict(db.session.execute(sa.select(OrderIntent.quote_id, OrderIntent.id)
                                   .where(OrderIntent.quote_id.in_(quote_ids))).all())


def quote_detail(quote: Quote) -> dict:
    """A quote with its revisions, as the caller sees it (``queries.quote_view``)."""
    view = queries.quote_view(actor(), quote)
    intent = view["intent"]
    return {
        **quote_item(quote, view["party"], intent.id if intent is not None else None),
        "revisions": [
            {"version": r.version, "action": r.action.value, "from_state": r.from_state.value if r.from_state else None,
             "to_state": r.to_state.value, "at": r.at, "actor_company_id": r.actor_company_id, "note": r.note,
             "terms": r.terms}
            for r in view["revisions"]
        ],
    }


def _terms_of(quote: Quote) -> QuoteInput:
    return QuoteInput(unit_price_fen=quote.unit_price_fen, quantity=quote.quantity, moq=quote.moq,
                      lead_time_days=quote.lead_time_days, valid_until=quote.valid_until,
                      product_id=quote.product_id, note=quote.note)


# ----------------------------------------------------------------------------- routes


@blp.route("", methods=["GET"])
@scope("read")
@blp.arguments(QuoteListArgs, location="query")
@blp.response(200, QuotePage)
def list_quotes(args: dict):
    """The exporter company's own quotes, newest first (exporters only)."""
    company = services.require_exporter(actor())
    services.expire_requests()
    statement = (sa.select(Quote).where(Quote.exporter_company_id == company.id)
                 .options(selectinload(Quote.request), selectinload(Quote.exporter_company)))
    if args["state"]:
        statement = statement.where(Quote.state == QuoteState(args["state"]))
    if args["request_id"]:
        statement = statement.where(Quote.request_id == args["request_id"])
    items, next_cursor = core.keyset_page(statement, Quote.id, args)
    intents = intent_ids([q.id for q in items])
    return {"items": [quote_item(q, Party.EXPORTER, intents.get(q.id)) for q in items], "next_cursor": next_cursor}


@blp.route("", methods=["POST"])
@scope("sourcing:write")
@blp.arguments(QuoteCreateSchema)
@blp.response(201, QuoteDetailSchema)
def create_quote(data: dict):
    """Quote on an open request (exporters only; one quote per exporter and request; a withdrawn one comes back)."""
    request_id = data.pop("request_id")
    with core.renamed_fields(QUOTE_FIELDS):
        quote, _created = services.submit_quote(actor(), request_id, QuoteInput(**data), core.idempotency_key())
    quote = services.get_quote(actor(), quote.id)
    return quote_detail(quote), 201, {"Location": f"{core.API_PREFIX}/quotes/{quote.id}"}


@blp.route("/<int:quote_id>", methods=["GET"])
@scope("read")
@blp.response(200, QuoteDetailSchema)
def read_quote(quote_id: int):
    """A quote, for its exporter and the request's buyer (404 for anyone else)."""
    return quote_detail(services.get_quote(actor(), quote_id))


@blp.route("/<int:quote_id>", methods=["PATCH"])
@scope("sourcing:write")
@blp.arguments(QuotePatchSchema)
@blp.response(200, QuoteDetailSchema)
def revise_quote(data: dict, quote_id: int):
    """Revise the exporter's own quote while the request is open (terms not sent stay as they are)."""
    quote = services.get_quote(actor(), quote_id)
    core.check_if_match(QuoteDetailSchema().dump(quote_detail(quote)))
    version = data.pop("version", None) or quote.version
    terms = replace(_terms_of(quote), **data)
    with core.renamed_fields(QUOTE_FIELDS):
        services.revise_quote(actor(), quote.id, terms, version)
    return quote_detail(services.get_quote(actor(), quote_id))


def _act(quote_id: int, action: QuoteAction, data: dict) -> dict:
    quote = services.get_quote(actor(), quote_id)
    core.check_if_match(QuoteDetailSchema().dump(quote_detail(quote)))
    services.act_on_quote(actor(), quote.id, action, data["version"] or quote.version, data["note"])
    return quote_detail(services.get_quote(actor(), quote_id))


@blp.route("/<int:quote_id>/withdraw", methods=["POST"])
@scope("sourcing:write")
@blp.doc(**{"x-if-match": True})
@blp.arguments(QuoteActionSchema)
@blp.response(200, QuoteDetailSchema)
def withdraw_quote(data: dict, quote_id: int):
    """The exporter withdraws its quote while the request is open (it may quote again later)."""
    return _act(quote_id, QuoteAction.WITHDRAW, data)


@blp.route("/<int:quote_id>/shortlist", methods=["POST"])
@scope("sourcing:write")
@blp.doc(**{"x-if-match": True})
@blp.arguments(QuoteActionSchema)
@blp.response(200, QuoteDetailSchema)
def shortlist_quote(data: dict, quote_id: int):
    """The request's buyer shortlists a quote."""
    return _act(quote_id, QuoteAction.SHORTLIST, data)


@blp.route("/<int:quote_id>/decline", methods=["POST"])
@scope("sourcing:write")
@blp.doc(**{"x-if-match": True})
@blp.arguments(QuoteActionSchema)
@blp.response(200, QuoteDetailSchema)
def decline_quote(data: dict, quote_id: int):
    """The request's buyer declines a quote; ``note`` gives the reason (required), which the exporter is told."""
    return _act(quote_id, QuoteAction.DECLINE, data)
