"""``/api/v1/intents``: order intents (意向订单): the company's list, recording one on a product, one intent
with its history and the actions open to the caller, moving it on, and the messages on it.

Every rule is ``deals.services``' (who may start an intent, the MOQ notice, optimistic locking, who may take
which step) and ``deals.states``' (the one state machine); this module parses, calls and shows.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import marshmallow as ma
import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from marketplace.api import core
from marketplace.api.core import Blueprint, Int, Schema, actor, scope
from marketplace.catalog.rows import MAX_PRICE_FEN
from marketplace.deals import services
from marketplace.deals.models import OrderIntent, OrderIntentMessage
from marketplace.deals.states import RULES, Action, IntentState, find_rule
from marketplace.errors import Conflict, ValidationFailed
from marketplace.i18n import _, today_in_china
from marketplace.inputs import MAX_ID, bounded_date
from marketplace.urls import external_url

URL_PREFIX = "/intents"
blp = Blueprint("api_intents", __name__, description="Order intents (意向订单): record, read with history, move on.")

ID_RANGE = ma.validate.Range(min=1, max=MAX_ID)
QUANTITY_RANGE = ma.validate.Range(min=1, max=services.MAX_QUANTITY)
PRICE_RANGE = ma.validate.Range(min=1, max=MAX_PRICE_FEN)
STATES = [state.value for state in IntentState]
#: the actions a company may choose (create and expire are not theirs)
CHOSEN_ACTIONS = [action.value for action in (Action.SUBMIT, Action.ACCEPT, Action.COUNTER, Action.SIGN,
                                              Action.FULFIL, Action.WITHDRAW, Action.DECLINE)]
SIDES = ["buyer", "exporter"]


# ----------------------------------------------------------------------------- schemas: input


class IntentListArgs(core.PageArgs):
    """Filters of the list."""

    side = ma.fields.String(load_default=None, validate=ma.validate.OneOf(SIDES),
                            metadata={"description": "Only intents where the caller is the buyer, or the exporter."})
    state = ma.fields.String(load_default=None, validate=ma.validate.OneOf(STATES))
    counterpart_id = core.QueryInt(load_default=None, validate=ID_RANGE,
                                   metadata={"description": "Only intents with this company."})
    created_from = ma.fields.Date(load_default=None, metadata={"description": "Created on or after (China time)."})
    created_to = ma.fields.Date(load_default=None, metadata={"description": "Created on or before (China time)."})
    product = ma.fields.String(load_default=None, validate=ma.validate.Length(min=1, max=100),
                               metadata={"description": "Text in the product's title."})


class IntentCreateSchema(Schema):
    """An order intent on a product: the buyer's terms."""

    product_id = Int(required=True, validate=ID_RANGE)
    quantity = Int(required=True, validate=QUANTITY_RANGE)
    unit_price_fen = Int(load_default=None, validate=PRICE_RANGE, metadata={
        "description": "Unit price in fen; the product's price at its MOQ when left out."})
    valid_until = ma.fields.Date(load_default=None, metadata={
        "description": f"Last day (China time) to answer; {services.DEFAULT_VALID_DAYS} days from today when "
                       f"left out, at most a year."})
    delivery_date = ma.fields.Date(load_default=None, allow_none=True)
    delivery_place = ma.fields.String(load_default=None, allow_none=True,
                                      validate=ma.validate.Length(max=services.MAX_PLACE))
    note = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(max=services.MAX_NOTE))
    draft = core.Bool(load_default=False, metadata={
        "description": "Keep it as the buyer's draft (send it later with the action submit)."})
    confirm_below_moq = core.Bool(load_default=False, metadata={
        "description": "Send it even though the quantity is below the product's minimum order quantity "
                       "(refused with field confirm_below_moq otherwise)."})
    session_id = Int(load_default=None, allow_none=True, validate=ID_RANGE, metadata={
        "description": "The matchmaking session it comes from (kept when both companies take part)."})


class CounterTermsSchema(Schema):
    """New terms of a counter-offer; what is left out stays as it is."""

    quantity = Int(validate=QUANTITY_RANGE)
    unit_price_fen = Int(validate=PRICE_RANGE)
    valid_until = ma.fields.Date()
    delivery_date = ma.fields.Date(allow_none=True)
    delivery_place = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=services.MAX_PLACE))


class TransitionSchema(Schema):
    """One step of the state machine."""

    action = ma.fields.String(required=True, validate=ma.validate.OneOf(CHOSEN_ACTIONS), metadata={
        "description": "One of the intent's `actions` (GET /intents/{id})."})
    version = Int(required=True, validate=ID_RANGE, metadata={
        "description": "The intent's `version` you read; 409 when it moved since."})
    note = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(max=services.MAX_NOTE),
                            metadata={"description": "Required to decline (the reason)."})
    terms = ma.fields.Nested(CounterTermsSchema, load_default=None, allow_none=True, metadata={
        "description": "A counter-offer's new terms (it must change the quantity, unit price or delivery date)."})


class MessageCreateSchema(Schema):
    """A text message to the other company."""

    body = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=services.MAX_MESSAGE))


# ----------------------------------------------------------------------------- schemas: output


class TermsOut(ma.Schema):
    """Terms as they stood."""

    quantity = ma.fields.Integer(required=True)
    unit_price_fen = ma.fields.Integer(required=True)
    amount_fen = ma.fields.Integer(required=True)
    delivery_date = ma.fields.String(required=True, allow_none=True, metadata={"format": "date"})
    delivery_place = ma.fields.String(required=True, allow_none=True)
    valid_until = ma.fields.String(required=True, allow_none=True, metadata={"format": "date"})


class CompanyRef(ma.Schema):
    """A company of the intent."""

    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)


class IntentSchema(ma.Schema):
    """An order intent as one of its two companies sees it."""

    id = ma.fields.Integer(required=True)
    state = ma.fields.String(required=True, metadata={"enum": STATES})
    state_label = ma.fields.String(required=True, metadata={"description": "In the caller's language."})
    side = ma.fields.String(required=True, metadata={"enum": SIDES, "description": "The caller's side."})
    buyer = ma.fields.Nested(CompanyRef, required=True)
    exporter = ma.fields.Nested(CompanyRef, required=True)
    product_id = ma.fields.Integer(required=True, allow_none=True)
    product_title = ma.fields.String(required=True)
    unit = ma.fields.String(required=True)
    quantity = ma.fields.Integer(required=True)
    unit_price_fen = ma.fields.Integer(required=True)
    amount_fen = ma.fields.Integer(required=True)
    delivery_date = ma.fields.Date(required=True, allow_none=True)
    delivery_place = ma.fields.String(required=True, allow_none=True)
    valid_until = ma.fields.Date(required=True)
    note = ma.fields.String(required=True, allow_none=True)
    request_id = ma.fields.Integer(required=True, allow_none=True)
    quote_id = ma.fields.Integer(required=True, allow_none=True)
    session_id = ma.fields.Integer(required=True, allow_none=True)
    buyer_signed_at = ma.fields.DateTime(required=True, allow_none=True)
    exporter_signed_at = ma.fields.DateTime(required=True, allow_none=True)
    version = ma.fields.Integer(required=True, metadata={"description": "Send it with a transition."})
    created_at = ma.fields.DateTime(required=True)
    updated_at = ma.fields.DateTime(required=True)
    url = ma.fields.String(required=True, metadata={"description": "The intent's page on the site."})


class ActionOut(ma.Schema):
    """An action the caller may take now."""

    action = ma.fields.String(required=True, metadata={"enum": CHOSEN_ACTIONS})
    label = ma.fields.String(required=True)
    needs_terms = ma.fields.Boolean(required=True, metadata={"description": "A counter-offer: send `terms`."})
    needs_note = ma.fields.Boolean(required=True, metadata={"description": "Declining: send the reason as `note`."})


class EventOut(ma.Schema):
    """One step of the intent's history."""

    version = ma.fields.Integer(required=True)
    action = ma.fields.String(required=True, metadata={"enum": [a.value for a in Action]})
    action_label = ma.fields.String(required=True)
    from_state = ma.fields.String(required=True, allow_none=True, metadata={"enum": STATES})
    to_state = ma.fields.String(required=True, metadata={"enum": STATES})
    actor_side = ma.fields.String(required=True, metadata={"enum": ["buyer", "exporter", "platform"]})
    actor_company_id = ma.fields.Integer(required=True, allow_none=True)
    actor_name = ma.fields.String(required=True, allow_none=True, metadata={"description": "The person."})
    at = ma.fields.DateTime(required=True)
    note = ma.fields.String(required=True, allow_none=True)
    terms_before = ma.fields.Nested(TermsOut, required=True, allow_none=True)
    terms_after = ma.fields.Nested(TermsOut, required=True)


class ContactOut(ma.Schema):
    """The other company's contact (once both sides agreed)."""

    name = ma.fields.String(required=True, allow_none=True)
    phone = ma.fields.String(required=True, allow_none=True)
    email = ma.fields.String(required=True, allow_none=True)


class IntentDetailSchema(IntentSchema):
    """An intent with its history and what the caller may do now."""

    actions = ma.fields.List(ma.fields.Nested(ActionOut), required=True)
    events = ma.fields.List(ma.fields.Nested(EventOut), required=True)
    moq_notice = ma.fields.String(required=True, allow_none=True)
    contact = ma.fields.Nested(ContactOut, required=True, allow_none=True, metadata={
        "description": "The other company's contact once the intent is accepted (null before)."})
    takes_messages = ma.fields.Boolean(required=True)


class MessageOut(ma.Schema):
    """A message on the intent."""

    id = ma.fields.Integer(required=True)
    author_side = ma.fields.String(required=True, metadata={"enum": SIDES})
    author_company_id = ma.fields.Integer(required=True)
    author_name = ma.fields.String(required=True, allow_none=True)
    body = ma.fields.String(required=True)
    attachment_name = ma.fields.String(required=True, allow_none=True, metadata={
        "description": "A file attached on the site (download it there)."})
    created_at = ma.fields.DateTime(required=True)


# ----------------------------------------------------------------------------- representations


def _side(company_id: int | None, intent: OrderIntent) -> str:
    if company_id == intent.buyer_company_id:
        return "buyer"
    if company_id == intent.exporter_company_id:
        return "exporter"
    return "platform"


def intent_view(intent: OrderIntent) -> dict:
    """The intent as the list shows it to the caller (one of its two companies)."""
    return {
        "id": intent.id, "state": intent.state.value, "state_label": str(intent.state.label),
        "side": _side(actor().company_id, intent),
        "buyer": {"id": intent.buyer_company_id, "name": intent.buyer_company.display_name},
        "exporter": {"id": intent.exporter_company_id, "name": intent.exporter_company.display_name},
        "product_id": intent.product_id, "product_title": intent.product_title, "unit": intent.unit,
        "quantity": intent.quantity, "unit_price_fen": intent.unit_price_fen, "amount_fen": intent.amount_fen,
        "delivery_date": intent.delivery_date, "delivery_place": intent.delivery_place,
        "valid_until": intent.valid_until, "note": intent.note,
        "request_id": intent.request_id, "quote_id": intent.quote_id, "session_id": intent.session_id,
        "buyer_signed_at": intent.buyer_signed_at, "exporter_signed_at": intent.exporter_signed_at,
        "version": intent.version, "created_at": intent.created_at, "updated_at": intent.updated_at,
        "url": external_url("deals.intent_page", intent_id=intent.id),
    }


def _event_view(event, intent: OrderIntent) -> dict:
    note = event.note
    if event.action is Action.EXPIRE and event.terms_before:
        # stored in the language of the moment; said again in the reader's (as the page does)
        note = _("No answer before %(date)s.", date=event.terms_before.get("valid_until"))
    return {
        "version": event.version, "action": event.action.value, "action_label": str(event.action.label),
        "from_state": event.from_state.value if event.from_state else None, "to_state": event.to_state.value,
        "actor_side": _side(event.actor_company_id, intent) if event.actor_company_id else "platform",
        "actor_company_id": event.actor_company_id,
        "actor_name": event.actor_user.name if event.actor_user else None,
        "at": event.at, "note": note, "terms_before": event.terms_before, "terms_after": event.terms_after,
    }


def intent_detail(intent: OrderIntent) -> dict:
    """One intent with its history, the caller's actions now, the MOQ notice and the contact (GET and writes)."""
    view = services.intent_view(actor(), intent)
    party = view["party"]
    actions = []
    for action in view["actions"]:
        rule = find_rule(action, intent.state, party)
        actions.append({"action": action.value, "label": str(action.label),
                        "needs_terms": bool(rule and rule.needs_terms), "needs_note": bool(rule and rule.needs_reason)})
    notice = view["moq_notice"]
    return {
        **intent_view(intent),
        "actions": actions,
        "events": [_event_view(event, intent) for event in view["events"]],
        "moq_notice": str(notice) if notice is not None else None,
        "contact": view["contact"],
        "takes_messages": view["takes_messages"],
    }


def message_view(message: OrderIntentMessage) -> dict:
    """A message as both companies see it."""
    return {
        "id": message.id, "author_side": "buyer" if message.author_company_id == message.intent.buyer_company_id
        else "exporter",
        "author_company_id": message.author_company_id,
        "author_name": message.author_user.name if message.author_user else None,
        "body": message.body, "attachment_name": message.attachment_original if message.attachment_name else None,
        "created_at": message.created_at,
    }


# ----------------------------------------------------------------------------- routes


IntentPage = core.page_schema(IntentSchema, "IntentPage")
MessagePage = core.page_schema(MessageOut, "IntentMessagePage")


@blp.route("", methods=["GET"])
@scope("read")
@blp.arguments(IntentListArgs, location="query", unknown=ma.RAISE)
@blp.response(200, IntentPage)
def list_intents(args: dict):
    """The caller company's intents, as buyer and as exporter (drafts are the buyer's alone), newest first."""
    me = actor()
    filters = services.IntentFilter(
        side=args["side"], state=IntentState(args["state"]) if args["state"] else None,
        counterpart_id=args["counterpart_id"], date_from=bounded_date(args["created_from"]),
        date_to=bounded_date(args["created_to"]), product=args["product"],
    )
    items, next_cursor = core.keyset_page(services.intents_statement(me, filters), OrderIntent.id, args)
    return {"items": [intent_view(intent) for intent in items], "next_cursor": next_cursor}


@blp.route("", methods=["POST"])
@scope("deals:write")
@blp.arguments(IntentCreateSchema, location="json")
@blp.response(201, IntentDetailSchema)
def create_intent(data: dict):
    """Record an order intent on a product (sent to the exporter, or kept as a draft); the buyer's terms."""
    me = actor()
    price = data["unit_price_fen"]
    if price is None:
        product = services.get_product_for_intent(me, data["product_id"])
        price = product.base_price_fen
        if price is None:
            raise ValidationFailed(_("This product has no list price: give unit_price_fen."), "unit_price_fen")
    terms = services.Terms(
        quantity=data["quantity"], unit_price_fen=price,
        valid_until=data["valid_until"] or today_in_china() + timedelta(days=services.DEFAULT_VALID_DAYS),
        delivery_date=data["delivery_date"], delivery_place=data["delivery_place"],
    )
    with core.renamed_fields({"unit_price": "unit_price_fen"}):
        intent, _created = services.record_order_intent(
            me, data["product_id"], terms, core.idempotency_key(), note=data["note"], submit=not data["draft"],
            below_moq_confirmed=data["confirm_below_moq"], session_id=data["session_id"],
        )
    return intent_detail(intent), 201, {"Location": f"{core.API_PREFIX}{URL_PREFIX}/{intent.id}"}


@blp.route("/<int:intent_id>", methods=["GET"])
@scope("read")
@blp.response(200, IntentDetailSchema)
def read_intent(intent_id: int):
    """The intent with its full history, and the actions the caller may take now."""
    return intent_detail(services.get_intent(actor(), intent_id))


_TERMS_FIELDS = {"quantity": "terms.quantity", "unit_price": "terms.unit_price_fen",
                 "valid_until": "terms.valid_until", "delivery_date": "terms.delivery_date",
                 "delivery_place": "terms.delivery_place"}


@blp.route("/<int:intent_id>/transitions", methods=["POST"])
@scope("deals:write")
@blp.doc(**{"x-if-match": True})
@blp.arguments(TransitionSchema, location="json")
@blp.response(200, IntentDetailSchema)
def transition_intent(data: dict, intent_id: int):
    """Take one step: accept, counter (with `terms`), decline (with a `note`), withdraw, sign, fulfil, submit.

    `version` is the one you read (409 when the intent moved since); `If-Match` with its ETag answers 412
    instead. A step that is the other company's is a 403; one the state does not allow now a 409.
    """
    me = actor()
    intent = services.get_intent(me, intent_id)
    core.check_if_match(IntentDetailSchema().dump(intent_detail(intent)))  # as the GET's body said it
    action = Action(data["action"])
    terms = None
    if data["terms"] is not None:
        if not any(rule.needs_terms for rule in RULES if rule.action is action):
            raise ValidationFailed(_("Only a counter-offer carries new terms."), "terms")
        terms = replace(services.current_terms(intent), **data["terms"])
    names = _TERMS_FIELDS if terms is not None else {"quantity": "terms"}
    try:
        with core.renamed_fields(names):
            moved = services.advance_order_intent(me, intent_id, action, data["version"], terms=terms,
                                                  note=data["note"])
    except ValidationFailed as error:
        if error.field is None:  # the state machine refuses this step now: the intent's state conflicts
            raise Conflict(error.message) from None
        raise
    return intent_detail(moved)


@blp.route("/<int:intent_id>/messages", methods=["GET"])
@scope("read")
@blp.arguments(core.PageArgs, location="query", unknown=ma.RAISE)
@blp.response(200, MessagePage)
def list_messages(args: dict, intent_id: int):
    """The messages between the two companies on the intent, newest first."""
    intent = services.get_intent(actor(), intent_id)
    statement = (sa.select(OrderIntentMessage).where(OrderIntentMessage.intent_id == intent.id)
                 .options(selectinload(OrderIntentMessage.author_user)))
    items, next_cursor = core.keyset_page(statement, OrderIntentMessage.id, args)
    return {"items": [message_view(message) for message in items], "next_cursor": next_cursor}


@blp.route("/<int:intent_id>/messages", methods=["POST"])
@scope("deals:write")
@blp.arguments(MessageCreateSchema, location="json")
@blp.response(201, MessageOut)
def post_message(data: dict, intent_id: int):
    """Write to the other company (text; attachments are added on the site). Not on a draft."""
    message = services.post_intent_message(actor(), intent_id, data["body"])
    return message_view(message), 201
