"""Deals services: every write to order intents, and the queries that decide who sees which.

Owns: starting an intent (idempotent), moving it through the state machine in ``states``
with optimistic locking (the ``version`` column), the immutable event log, messages and
their attachments, expiry, the lists with their totals, and exports. Raises
marketplace.errors; notifies the other company in the same transaction.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from marketplace.accounts.models import Company, CompanyKind, User
from marketplace.catalog.models import Product
from marketplace.catalog.rows import MAX_PRICE_FEN
from marketplace.catalog.services import can_view_product, is_publicly_visible
from marketplace.database import utcnow
from marketplace.deals import attachments
from marketplace.deals.models import OrderIntent, OrderIntentEvent, OrderIntentMessage
from marketplace.deals.states import (
    CONTACT_STATES,
    EXPIRING_STATES,
    OPEN_STATES,
    Action,
    IntentState,
    Party,
    allowed_actions,
    find_rule,
)
from marketplace.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from marketplace.extensions import db
from marketplace.i18n import _, _l, lazy_money, lazy_number, today_in_china
from marketplace.inputs import clean_text, page_number
from marketplace.notifications.services import notify_company
from marketplace.webhooks.events import emit

logger = logging.getLogger(__name__)

CHINA = ZoneInfo("Asia/Shanghai")
MAX_QUANTITY = 1_000_000_000
#: the largest amount of one intent or quote, ¥10 trillion (quantity × price could overflow BIGINT otherwise)
MAX_AMOUNT_FEN = 10**15
MAX_AMOUNT_LABEL = "10,000,000,000,000"
MAX_VALID_DAYS = 366
DEFAULT_VALID_DAYS = 14
MAX_NOTE = 2000
MAX_MESSAGE = 4000
MAX_PLACE = 200
PER_PAGE = 20
TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


@dataclass(frozen=True)
class Terms:
    """The negotiable terms of an intent; the amount is computed, never given."""

    quantity: int
    unit_price_fen: int
    valid_until: date
    delivery_date: date | None = None
    delivery_place: str | None = None

    @property
    def amount_fen(self) -> int:
        return self.quantity * self.unit_price_fen


# --------------------------------------------------------------------------- access


def party_of(user: User, intent: OrderIntent) -> Party:
    """The user's side of the intent: buyer, exporter (who never sees drafts), or outsider."""
    if not getattr(user, "is_authenticated", False):
        return Party.OUTSIDER
    if user.company_id == intent.buyer_company_id:
        return Party.BUYER
    if user.company_id == intent.exporter_company_id and intent.state is not IntentState.DRAFT:
        return Party.EXPORTER
    return Party.OUTSIDER


def _not_found() -> NotFound:
    return NotFound(_l("This order intent does not exist."))


def _load_for(actor: User, intent_id: int) -> tuple[OrderIntent, Party]:
    intent = db.session.get(OrderIntent, intent_id, populate_existing=True)
    if intent is None:
        raise _not_found()
    party = party_of(actor, intent)
    if party is Party.OUTSIDER:
        # the same answer as for a missing intent: no hint that it exists
        raise _not_found()
    return intent, party


def get_intent(viewer: User, intent_id: int) -> OrderIntent:
    """The intent as one of its two companies sees it (lapsed ones expired first); 404 for everyone else."""
    intent, _party = _load_for(viewer, intent_id)
    if _is_due(intent, today_in_china()):
        _expire_quietly([intent.id])
        intent, _party = _load_for(viewer, intent_id)
    return intent


def intent_view(viewer: User, intent: OrderIntent) -> dict:
    """What the intent page needs beyond the intent: the viewer's side, its actions, the contact."""
    party = party_of(viewer, intent)
    actions = allowed_actions(intent.state, party)
    signed_by_me = (intent.buyer_signed_at if party is Party.BUYER else intent.exporter_signed_at) is not None
    if signed_by_me and Action.SIGN in actions:
        actions.remove(Action.SIGN)
    return {
        "party": party,
        "actions": actions,
        "counterpart": intent.exporter_company if party is Party.BUYER else intent.buyer_company,
        "contact": counterpart_contact(viewer, intent),
        "contact_shown": intent.state in CONTACT_STATES,
        "takes_messages": takes_messages(intent),
        "moq_notice": below_moq_notice(intent.quantity, intent.product.moq if intent.product else None),
        "events": db.session.scalars(
            sa.select(OrderIntentEvent).where(OrderIntentEvent.intent_id == intent.id)
            .options(selectinload(OrderIntentEvent.actor_user), selectinload(OrderIntentEvent.actor_company))
            .order_by(OrderIntentEvent.id)
        ).all(),
        "messages": db.session.scalars(
            sa.select(OrderIntentMessage).where(OrderIntentMessage.intent_id == intent.id)
            .options(selectinload(OrderIntentMessage.author_user), selectinload(OrderIntentMessage.author_company))
            .order_by(OrderIntentMessage.id)
        ).all(),
    }


def counterpart_contact(viewer: User, intent: OrderIntent) -> dict | None:
    """The other company's contact details, once both sides have agreed (accepted or later); else None."""
    party = party_of(viewer, intent)
    if party not in (Party.BUYER, Party.EXPORTER) or intent.state not in CONTACT_STATES:
        return None
    other = intent.exporter_company if party is Party.BUYER else intent.buyer_company
    return {"name": other.contact_name, "phone": other.contact_phone, "email": other.contact_email}


def takes_messages(intent: OrderIntent) -> bool:
    """Whether the two companies may write on the intent: not while it is the buyer's draft."""
    return intent.state is not IntentState.DRAFT


# --------------------------------------------------------------------------- terms


def check_terms(terms: Terms, today: date | None = None) -> Terms:
    """Refuse terms out of range (field named); returns them with the place trimmed."""
    today = today or today_in_china()
    if not isinstance(terms.quantity, int) or isinstance(terms.quantity, bool) or terms.quantity < 1:
        raise ValidationFailed(_l("The quantity must be a whole number of at least 1."), "quantity")
    if terms.quantity > MAX_QUANTITY:
        raise ValidationFailed(_l("The quantity is too large."), "quantity")
    if not isinstance(terms.unit_price_fen, int) or terms.unit_price_fen < 1:
        raise ValidationFailed(_l("The unit price must be more than zero."), "unit_price")
    if terms.unit_price_fen > MAX_PRICE_FEN:
        raise ValidationFailed(_l("The unit price is too high."), "unit_price")
    if terms.quantity * terms.unit_price_fen > MAX_AMOUNT_FEN:
        raise ValidationFailed(_l("The amount (quantity × unit price) is above ¥%(limit)s; split the order.",
                                  limit=MAX_AMOUNT_LABEL), "quantity")
    if terms.valid_until < today:
        raise ValidationFailed(_l("The valid-until date has already passed."), "valid_until")
    if terms.valid_until > today + timedelta(days=MAX_VALID_DAYS):
        raise ValidationFailed(_l("An intent can stay open for at most a year."), "valid_until")
    if terms.delivery_date is not None and terms.delivery_date < today:
        raise ValidationFailed(_l("The delivery date has already passed."), "delivery_date")
    place = (terms.delivery_place or "").strip()
    if len(place) > MAX_PLACE:
        raise ValidationFailed(_l("The delivery place is too long."), "delivery_place")
    return replace(terms, delivery_place=place or None)


def _apply_terms(intent: OrderIntent, terms: Terms) -> None:
    intent.quantity = terms.quantity
    intent.unit_price_fen = terms.unit_price_fen
    intent.amount_fen = terms.amount_fen
    intent.delivery_date = terms.delivery_date
    intent.delivery_place = terms.delivery_place
    intent.valid_until = terms.valid_until


def current_terms(intent: OrderIntent) -> Terms:
    """The intent's terms as a ``Terms`` (the counter form starts from them)."""
    return Terms(intent.quantity, intent.unit_price_fen, intent.valid_until, intent.delivery_date,
                 intent.delivery_place)


def _clean_note(note: str | None, limit: int = MAX_NOTE) -> str | None:
    # NUL (PostgreSQL refuses it) and bidi overrides (they fool readers) go
    text = clean_text(note or "").strip()
    if len(text) > limit:
        raise ValidationFailed(_l("The note is too long (at most %(limit)s characters).", limit=limit), "note")
    return text or None


# --------------------------------------------------------------------------- notifications


def _notify(company_id: int, subject, body, intent: OrderIntent, exclude_user_id: int | None) -> None:
    notify_company(company_id, "order_intent", subject, body, link=f"/deals/{intent.id}",
                   exclude_user_id=exclude_user_id)


def _deliver() -> None:
    from marketplace.mail import deliver_outbox

    try:
        deliver_outbox()
    except Exception:  # the outbox keeps what failed; `flask mail send` retries
        logger.exception("delivering the outbox after an order-intent change failed")
        db.session.rollback()


def _notify_transition(intent: OrderIntent, action: Action, actor: User | None, note: str | None) -> None:
    # lazy messages: each reader sees them in their own language (see notifications.services)
    subject = _l("Order intent #%(id)s (%(product)s): %(state)s", id=intent.id, product=intent.product_title,
                 state=intent.state.label)
    body = [_l("%(product)s — %(quantity)s %(unit)s at %(price)s, amount %(amount)s. Now: %(state)s.",
               product=intent.product_title, quantity=lazy_number(intent.quantity), unit=intent.unit,
               price=lazy_money(intent.unit_price_fen), amount=lazy_money(intent.amount_fen),
               state=intent.state.label), note]
    exclude = actor.id if actor is not None else None
    if actor is None:
        targets = [intent.buyer_company_id, intent.exporter_company_id]
    elif actor.company_id == intent.buyer_company_id:
        targets = [intent.exporter_company_id, intent.buyer_company_id]
    else:
        targets = [intent.buyer_company_id, intent.exporter_company_id]
    for company_id in targets:
        # the actor's own colleagues hear of it too; the actor does not
        _notify(company_id, subject, body, intent, exclude_user_id=exclude)


def _webhook_companies(intent: OrderIntent) -> list[int]:
    """The companies whose webhooks hear of the intent: the buyer; the exporter once it is no draft (``party_of``)."""
    if intent.state is IntentState.DRAFT:
        return [intent.buyer_company_id]
    return [intent.buyer_company_id, intent.exporter_company_id]


def _webhook_intent(intent: OrderIntent) -> dict:
    """An intent in a webhook: ids and its state only (no notes, messages or terms)."""
    return {"intent_id": intent.id, "state": intent.state.value, "buyer_company_id": intent.buyer_company_id,
            "exporter_company_id": intent.exporter_company_id, "product_id": intent.product_id,
            "request_id": intent.request_id, "quote_id": intent.quote_id, "session_id": intent.session_id,
            "version": intent.version}


# --------------------------------------------------------------------------- starting an intent


def _event(intent: OrderIntent, action: Action, actor: User | None, source: IntentState | None,
           before: dict | None, note: str | None, version: int) -> OrderIntentEvent:
    event = OrderIntentEvent(
        intent=intent, version=version, action=action,
        actor_user_id=actor.id if actor is not None else None,
        actor_company_id=actor.company_id if actor is not None else None,
        at=utcnow(), from_state=source, to_state=intent.state,
        terms_before=before, terms_after=intent.terms(), note=note,
    )
    db.session.add(event)
    return event


def _existing_for_key(key: str) -> OrderIntent | None:
    return db.session.scalar(sa.select(OrderIntent).where(OrderIntent.idempotency_key == key))


def _start_refusal(actor: User, product: Product) -> DomainError | None:
    """Why the actor's company may not start an intent on this (visible) product, or None."""
    if not getattr(actor, "is_authenticated", False):
        return PermissionDenied(_l("Please log in."))
    buyer = actor.company
    if product.company_id == buyer.id:
        return ValidationFailed(_l("This is your own company's product: you cannot send an order intent "
                                   "to your own company."))
    if not buyer.kind.is_buyer:
        return PermissionDenied(_l("Only buyer companies (chain leaders, leading enterprises, retailers, "
                                   "trade-circulation firms) can send order intents."))
    if not buyer.is_verified:
        return PermissionDenied(_l("Your company must be verified before it can send order intents."))
    if product.company.kind is not CompanyKind.EXPORTER or not is_publicly_visible(product):
        return ValidationFailed(_l("This product is no longer offered (archived or withdrawn): "
                                   "no order intent can be sent for it."))
    return None


def can_start_intent(actor: User | None, product: Product) -> bool:
    """Whether the actor's company may start an intent on the product (the rule the start form applies)."""
    return actor is not None and _start_refusal(actor, product) is None


def intent_offer(actor: User | None, product: Product) -> str | None:
    """What the product page offers about order intents: 'start', 'verify_first' (an unverified buyer) or None."""
    if can_start_intent(actor, product):
        return "start"
    if (actor is not None and getattr(actor, "is_authenticated", False) and actor.company.kind.is_buyer
            and not actor.company.is_verified and is_publicly_visible(product)):
        return "verify_first"
    return None


def get_product_for_intent(actor: User, product_id: int) -> Product:
    """The product an intent may be started on by the actor's company, or the reason it may not.

    A product the actor may not see (another company's draft, archived or unverified listing) is
    a 404, exactly like an unknown id.
    """
    if not getattr(actor, "is_authenticated", False):
        raise PermissionDenied(_l("Please log in."))
    product = db.session.get(Product, product_id)
    if product is None or not can_view_product(actor, product):
        raise NotFound(_l("This product does not exist."))
    refusal = _start_refusal(actor, product)
    if refusal is not None:
        raise refusal
    return product


def below_moq_notice(quantity: int, moq: int | None):
    """'Quantity 100 is below the MOQ of 500' (lazy, in the reader's language) when it is; else None."""
    if moq is None or quantity >= moq:
        return None
    return _l("Quantity %(quantity)s is below the minimum order quantity of %(moq)s.", quantity=quantity, moq=moq)


def open_intents_on_product(actor: User, product_id: int) -> list[OrderIntent]:
    """The actor's company's intents on the product that are still being negotiated (newest first)."""
    if not getattr(actor, "is_authenticated", False):
        return []
    return list(db.session.scalars(
        sa.select(OrderIntent).where(
            OrderIntent.buyer_company_id == actor.company_id, OrderIntent.product_id == product_id,
            OrderIntent.state.in_(OPEN_STATES),
        ).order_by(OrderIntent.id.desc())
    ))


def start_token_reusable(actor: User, token: str | None) -> bool:
    """Whether a start-form token kept from earlier may serve again.

    It may while unused, and while the intent it made is still open: the same form sent again
    (Back, then Send) then finds that intent instead of making a second one. Once that intent is
    closed, a new form gets a new token.
    """
    if not token or not TOKEN.fullmatch(token):
        return False
    existing = _existing_for_key(token)
    if existing is None:
        return True
    return existing.buyer_company_id == actor.company_id and existing.state in OPEN_STATES


def _session_pair_approved(session_id: int, buyer_company_id: int, exporter_company_id: int) -> bool:
    """Whether both companies take part in the matchmaking session (imported late: sessions imports deals)."""
    from marketplace.sessions.board import pair_approved

    return pair_approved(session_id, buyer_company_id, exporter_company_id)


def record_order_intent(actor: User, product_id: int, terms: Terms, idempotency_key: str,
                        note: str | None = None, submit: bool = True,
                        below_moq_confirmed: bool | None = None,
                        session_id: int | None = None) -> tuple[OrderIntent, bool]:
    """Start an intent on a product (sent, or a draft); a replayed form returns the first one: (intent, created).

    A quantity below the product's MOQ is allowed (terms are negotiable; the intent page shows it to
    both sides). A caller that asks the buyer (the form) passes ``below_moq_confirmed``: while it is
    False such a quantity is refused with the notice on ``confirm_below_moq``. ``session_id`` (started from
    a matchmaking session's board or meeting) is kept only when both companies take part in that session
    (``sessions.board.pair_approved``); otherwise the intent carries no session.
    """
    if not getattr(actor, "is_authenticated", False):
        raise PermissionDenied(_l("Please log in."))
    if not TOKEN.fullmatch(idempotency_key or ""):
        raise ValidationFailed(_l("The form has expired. Please reload the page and try again."))
    existing = _existing_for_key(idempotency_key)
    if existing is not None:
        if existing.buyer_company_id != actor.company_id:
            raise ValidationFailed(_l("The form has expired. Please reload the page and try again."))
        return existing, False
    product = get_product_for_intent(actor, product_id)
    buyer = actor.company
    terms = check_terms(terms)
    clean_note = _clean_note(note)
    notice = below_moq_notice(terms.quantity, product.moq)
    if notice is not None and below_moq_confirmed is False:
        raise ValidationFailed(notice, "confirm_below_moq")
    if session_id is not None and not _session_pair_approved(session_id, buyer.id, product.company_id):
        session_id = None
    intent = OrderIntent(
        buyer_company_id=buyer.id, exporter_company_id=product.company_id, product_id=product.id,
        session_id=session_id, created_by_id=actor.id, product_title=product.title_zh, unit=product.unit,
        note=clean_note, idempotency_key=idempotency_key,
        state=IntentState.SUBMITTED if submit else IntentState.DRAFT,
        created_at=utcnow(), updated_at=utcnow(),
    )
    _apply_terms(intent, terms)
    db.session.add(intent)
    _event(intent, Action.CREATE, actor, None, None, clean_note, version=1)
    try:
        db.session.flush()
        if submit:
            _notify_transition(intent, Action.CREATE, actor, clean_note)
        for company_id in _webhook_companies(intent):
            emit(company_id, "intent.created", _webhook_intent(intent))
        db.session.commit()
    except IntegrityError:
        # the same form submitted twice at once: the other request's insert won
        db.session.rollback()
        existing = _existing_for_key(idempotency_key)
        if existing is not None and existing.buyer_company_id == actor.company_id:
            return existing, False
        raise
    logger.info("order intent %s created by user %s (%s)", intent.id, actor.id, intent.state.value)
    if submit:
        _deliver()
    return intent, True


def add_intent_from_quote(actor: User, exporter_company_id: int, product_id: int | None, title: str, unit: str,
                          terms: Terms, idempotency_key: str, request_id: int, quote_id: int,
                          note: str | None = None, session_id: int | None = None) -> OrderIntent:
    """Start a sent intent on an awarded quote (request_id/quote_id set, and the request's session_id) in the
    caller's transaction, no commit."""
    terms = check_terms(terms)
    intent = OrderIntent(
        buyer_company_id=actor.company_id, exporter_company_id=exporter_company_id, product_id=product_id,
        request_id=request_id, quote_id=quote_id, session_id=session_id, created_by_id=actor.id,
        product_title=title[:200], unit=unit,
        note=_clean_note(note), idempotency_key=idempotency_key, state=IntentState.SUBMITTED,
        created_at=utcnow(), updated_at=utcnow(),
    )
    _apply_terms(intent, terms)
    db.session.add(intent)
    _event(intent, Action.CREATE, actor, None, None, intent.note, version=1)
    db.session.flush()
    _notify_transition(intent, Action.CREATE, actor, intent.note)
    for company_id in _webhook_companies(intent):
        emit(company_id, "intent.created", _webhook_intent(intent))
    return intent


# --------------------------------------------------------------------------- transitions


def _changed(intent: OrderIntent) -> Conflict:
    return Conflict(_l("This intent has changed since you opened it: it is now “%(state)s”. "
                       "Here is its new state; review it and try again.", state=intent.state.label))


def _transition(intent: OrderIntent, action: Action, party: Party, actor: User | None,
                terms: Terms | None = None, note: str | None = None) -> OrderIntentEvent:
    """Check the move against the state machine and apply it to the session (no commit)."""
    rule = find_rule(action, intent.state, party)
    if rule is None:
        if party is not Party.SYSTEM and any(find_rule(action, intent.state, p) for p in (Party.BUYER, Party.EXPORTER)):
            raise PermissionDenied(_l("The other company decides this step, not yours."))
        raise ValidationFailed(_l("“%(action)s” is not possible while the intent is “%(state)s”.",
                                  action=action.label, state=intent.state.label))
    clean_note = _clean_note(note)
    if rule.needs_reason and not clean_note:
        raise ValidationFailed(_l("Give a reason for declining."), "note")
    before = intent.terms()
    source = intent.state
    target = rule.target
    if rule.needs_terms:
        if terms is None:
            raise ValidationFailed(_l("A counter-offer needs new terms."), "quantity")
        terms = check_terms(terms)
        if (terms.quantity, terms.unit_price_fen, terms.delivery_date) == (
                intent.quantity, intent.unit_price_fen, intent.delivery_date):
            raise ValidationFailed(_l("A counter-offer must change the quantity, the unit price or the "
                                      "delivery date."), "quantity")
        _apply_terms(intent, terms)
    if action is Action.SIGN:
        now = utcnow()
        if party is Party.BUYER:
            if intent.buyer_signed_at is not None:
                raise ValidationFailed(_l("Your company has already signed this intent."))
            intent.buyer_signed_at = now
        else:
            if intent.exporter_signed_at is not None:
                raise ValidationFailed(_l("Your company has already signed this intent."))
            intent.exporter_signed_at = now
        if intent.buyer_signed_at is None or intent.exporter_signed_at is None:
            target = IntentState.ACCEPTED  # waiting for the other signature
    intent.state = target
    intent.updated_at = utcnow()
    for company_id in _webhook_companies(intent):
        emit(company_id, "intent.transitioned", {"intent_id": intent.id, "action": action.value,
                                                 "from_state": source.value, "to_state": target.value,
                                                 "version": intent.version + 1})
    # the version the UPDATE will write (version_id_col bumps it at flush)
    return _event(intent, action, actor, source, before, clean_note, version=intent.version + 1)


def advance_order_intent(actor: User, intent_id: int, action: Action, expected_version: int | None,
                         terms: Terms | None = None, note: str | None = None) -> OrderIntent:
    """Move the intent one step as the actor's company; Conflict when someone else moved it first."""
    intent, party = _load_for(actor, intent_id)
    if _is_due(intent, today_in_china()):
        _expire_quietly([intent.id])
        intent, party = _load_for(actor, intent_id)
    if expected_version is not None and intent.version != expected_version:
        raise _changed(intent)
    try:
        _transition(intent, action, party, actor, terms, note)
        db.session.flush()  # UPDATE … WHERE version = :seen — zero rows when another actor won
        _notify_transition(intent, action, actor, note)
        db.session.commit()
    except (StaleDataError, IntegrityError, OperationalError) as error:
        db.session.rollback()
        logger.info("order intent %s: %s by user %s lost a race (%s)", intent_id, action.value, actor.id,
                    type(error).__name__)
        fresh = db.session.get(OrderIntent, intent_id, populate_existing=True)
        raise _changed(fresh) from None
    except Exception:
        db.session.rollback()
        raise
    logger.info("order intent %s: %s by user %s → %s (v%s)", intent.id, action.value, actor.id,
                intent.state.value, intent.version)
    _deliver()
    return intent


# --------------------------------------------------------------------------- expiry


def _is_due(intent: OrderIntent, today: date) -> bool:
    return intent.state in EXPIRING_STATES and intent.valid_until < today


def _expire_one(intent_id: int, today: date) -> bool:
    intent = db.session.get(OrderIntent, intent_id, populate_existing=True)
    if intent is None or not _is_due(intent, today):
        return False
    _transition(intent, Action.EXPIRE, Party.SYSTEM, None,
                note=_("No answer before %(date)s.", date=intent.valid_until.isoformat()))
    db.session.flush()
    _notify_transition(intent, Action.EXPIRE, None, None)
    return True


def _expire_quietly(intent_ids: list[int], today: date | None = None) -> int:
    """Expire the given lapsed intents, each in its own transaction; a lost race is fine (someone else did it)."""
    today = today or today_in_china()
    done = 0
    for intent_id in intent_ids:
        try:
            if _expire_one(intent_id, today):
                db.session.commit()
                done += 1
            else:
                db.session.rollback()
        except (StaleDataError, IntegrityError, OperationalError) as error:
            db.session.rollback()
            logger.info("order intent %s: expiry skipped (%s)", intent_id, type(error).__name__)
    if done:
        _deliver()
    return done


def expire_intents(today: date | None = None, company_id: int | None = None) -> int:
    """Expire every submitted or countered intent past its valid-until date; returns how many."""
    today = today or today_in_china()
    query = sa.select(OrderIntent.id).where(
        OrderIntent.state.in_(EXPIRING_STATES), OrderIntent.valid_until < today
    ).order_by(OrderIntent.id)
    if company_id is not None:
        query = query.where(sa.or_(OrderIntent.buyer_company_id == company_id,
                                   OrderIntent.exporter_company_id == company_id))
    ids = list(db.session.scalars(query))
    db.session.rollback()  # end the read before the writes
    count = _expire_quietly(ids, today)
    if count:
        logger.info("%d order intent(s) expired", count)
    return count


# --------------------------------------------------------------------------- messages


def post_intent_message(actor: User, intent_id: int, body: str | None,
                        attachment: tuple[bytes, str | None] | None = None) -> OrderIntentMessage:
    """Add a message (and optional checked attachment) from the actor's company to the other one."""
    intent, party = _load_for(actor, intent_id)
    if not takes_messages(intent):
        raise ValidationFailed(_l("Send the intent before writing to the exporter."), "body")
    text = (body or "").strip()
    if len(text) > MAX_MESSAGE:
        raise ValidationFailed(_l("The message is too long (at most %(limit)s characters).", limit=MAX_MESSAGE),
                               "body")
    if not text and attachment is None:
        raise ValidationFailed(_l("Write a message or attach a file."), "body")
    upload_dir = current_app.config["UPLOAD_DIR"]
    stored = attachments.store_attachment(attachment[0], attachment[1], upload_dir) if attachment else None
    try:
        message = OrderIntentMessage(
            intent_id=intent.id, author_user_id=actor.id, author_company_id=actor.company_id, body=text,
            attachment_name=stored.name if stored else None,
            attachment_original=stored.original if stored else None,
            attachment_type=stored.content_type if stored else None,
            attachment_size=stored.size if stored else None,
            created_at=utcnow(),
        )
        db.session.add(message)
        other = intent.exporter_company_id if party is Party.BUYER else intent.buyer_company_id
        subject = _l("New message on order intent #%(id)s (%(product)s)", id=intent.id, product=intent.product_title)
        preview = text[:500] or _l("(an attachment)")
        _notify(other, subject, _l("%(company)s wrote: %(text)s", company=actor.company.name_zh, text=preview),
                intent, exclude_user_id=actor.id)
        db.session.commit()
    except Exception:
        db.session.rollback()
        if stored:
            attachments.delete_attachment(upload_dir, stored.name)
        raise
    _deliver()
    return message


def get_attachment(viewer: User, message_id: int) -> tuple[OrderIntentMessage, Path]:
    """A message's attachment file for one of the intent's two companies; 404 for anyone else."""
    message = db.session.get(OrderIntentMessage, message_id)
    if message is None or not message.attachment_name:
        raise NotFound(_l("This file does not exist."))
    if party_of(viewer, message.intent) is Party.OUTSIDER:
        raise NotFound(_l("This file does not exist."))
    path = attachments.deals_dir(current_app.config["UPLOAD_DIR"]) / message.attachment_name
    if not attachments.STORED_NAME.fullmatch(message.attachment_name) or not path.is_file():
        raise NotFound(_l("This file does not exist."))
    return message, path


# --------------------------------------------------------------------------- lists and exports


@dataclass
class IntentFilter:
    """List filters: side (buyer/exporter), state, counterpart company, created between, product text."""

    side: str | None = None
    state: IntentState | None = None
    counterpart_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    product: str | None = None

    @property
    def active(self) -> bool:
        return any((self.side, self.state, self.counterpart_id, self.date_from, self.date_to,
                    (self.product or "").strip()))


def _scope(company_id: int, side: str | None):
    as_buyer = OrderIntent.buyer_company_id == company_id
    as_exporter = sa.and_(OrderIntent.exporter_company_id == company_id, OrderIntent.state != IntentState.DRAFT)
    if side == "buyer":
        return as_buyer
    if side == "exporter":
        return as_exporter
    return sa.or_(as_buyer, as_exporter)


def _start_of_day(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=CHINA)


def _filtered(actor: User, filters: IntentFilter, with_state: bool = True):
    conditions = [_scope(actor.company_id, filters.side)]
    if with_state and filters.state is not None:
        conditions.append(OrderIntent.state == filters.state)
    if filters.counterpart_id:
        conditions.append(sa.or_(
            sa.and_(OrderIntent.buyer_company_id == actor.company_id,
                    OrderIntent.exporter_company_id == filters.counterpart_id),
            sa.and_(OrderIntent.exporter_company_id == actor.company_id,
                    OrderIntent.buyer_company_id == filters.counterpart_id),
        ))
    if filters.date_from:
        conditions.append(OrderIntent.created_at >= _start_of_day(filters.date_from))
    if filters.date_to:
        conditions.append(OrderIntent.created_at < _start_of_day(filters.date_to + timedelta(days=1)))
    text = (filters.product or "").strip()[:100]
    if text:
        conditions.append(OrderIntent.product_title.icontains(text, autoescape=True))
    return conditions


def _require_company_user(actor: User) -> None:
    if not getattr(actor, "is_authenticated", False):
        raise PermissionDenied(_l("Please log in."))
    if actor.company.kind is CompanyKind.ORGANIZER:
        raise PermissionDenied(_l("Order intents are between buyers and exporters."))


@dataclass
class StateTotal:
    """How many intents are in one state, and their amount."""

    state: IntentState
    count: int
    amount_fen: int


def intents_statement(actor: User, filters: IntentFilter):
    """The company's intents (as buyer and/or exporter) under ``filters``, unordered, both companies loaded;
    due ones expired first."""
    _require_company_user(actor)
    expire_intents(company_id=actor.company_id)
    return (sa.select(OrderIntent).where(*_filtered(actor, filters))
            .options(selectinload(OrderIntent.buyer_company), selectinload(OrderIntent.exporter_company)))


def list_intents(actor: User, filters: IntentFilter, page=1, per_page: int = PER_PAGE):
    """A page of the company's intents (as buyer and/or exporter) and the totals by state: (page, totals)."""
    query = intents_statement(actor, filters).order_by(OrderIntent.created_at.desc(), OrderIntent.id.desc())
    conditions = _filtered(actor, filters)
    result = db.paginate(query, page=page_number(page), per_page=per_page, error_out=False, count=True)
    rows = db.session.execute(
        sa.select(OrderIntent.state, sa.func.count(), sa.func.coalesce(sa.func.sum(OrderIntent.amount_fen), 0))
        .where(*conditions).group_by(OrderIntent.state)
    ).all()
    by_state = {state: StateTotal(state, count, int(amount)) for state, count, amount in rows}
    totals = [by_state[state] for state in IntentState if state in by_state]
    return result, totals


def counterpart_choices(actor: User) -> list[tuple[int, str]]:
    """(company id, name) of every company the actor's company has intents with, for the filter."""
    _require_company_user(actor)
    mine = actor.company_id
    other = sa.case((OrderIntent.buyer_company_id == mine, OrderIntent.exporter_company_id),
                    else_=OrderIntent.buyer_company_id)
    ids = db.session.scalars(sa.select(other).where(_scope(mine, None)).distinct()).all()
    if not ids:
        return []
    companies = db.session.scalars(sa.select(Company).where(Company.id.in_(ids)).order_by(Company.name_zh)).all()
    return [(company.id, company.display_name) for company in companies]


EXPORT_FORMATS = ("csv", "xlsx")


def export_intents(actor: User, filters: IntentFilter, fmt: str) -> bytes:
    """The filtered intents as CSV or XLSX in the current language (formula injection neutralised)."""
    from marketplace.spreadsheets import write_csv, write_xlsx

    _require_company_user(actor)
    if fmt not in EXPORT_FORMATS:
        raise ValidationFailed(_l("Export as CSV or XLSX."))
    intents = db.session.scalars(
        sa.select(OrderIntent).where(*_filtered(actor, filters))
        .options(selectinload(OrderIntent.buyer_company), selectinload(OrderIntent.exporter_company))
        .order_by(OrderIntent.created_at.desc(), OrderIntent.id.desc())
    ).all()
    header = [_("Number"), _("Created"), _("Our side"), _("Buyer"), _("Exporter"), _("Product"), _("Quantity"),
              _("Unit"), _("Unit price (CNY)"), _("Amount (CNY)"), _("Delivery date"), _("Delivery place"),
              _("Valid until"), _("State")]
    from marketplace.i18n import fen_to_yuan

    rows = [
        [intent.id, intent.created_at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M"),
         _("Buyer") if intent.buyer_company_id == actor.company_id else _("Exporter"),
         intent.buyer_company.name_zh, intent.exporter_company.name_zh, intent.product_title, intent.quantity,
         intent.unit, fen_to_yuan(intent.unit_price_fen), fen_to_yuan(intent.amount_fen),
         intent.delivery_date.isoformat() if intent.delivery_date else "", intent.delivery_place or "",
         intent.valid_until.isoformat(), str(intent.state.label)]
        for intent in intents
    ]
    if fmt == "csv":
        return write_csv(header, rows)
    return write_xlsx([(_("Order intents"), header, rows)], widths=[[8, 17, 10, 28, 28, 28, 10, 8, 14, 16, 12, 20, 12, 18]])
