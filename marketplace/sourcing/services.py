"""Sourcing services: every write to procurement requests and quotes, and the queries deciding who sees which.

Owns: posting, editing, publishing, closing and expiring requests (optimistic locking on the
``version`` column, an immutable event per change, idempotent posting); quoting, revising,
withdrawing, shortlisting and declining quotes (one quote per exporter and request, a
revision row per change); awarding a quote, which starts an order intent through
``marketplace.deals.services``; who may see what. What pages and exports read lives in
``queries``. Raises marketplace.errors; notifies the other company in the same transaction (lazy strings,
translated for each reader). Visibility: a request's buyer sees it all; an exporter sees
published public requests, invited-only ones it was invited to, and its own quotes — never a
competitor's; everyone else gets the same 404 as for a missing object.
"""
from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

from marketplace import regions
from marketplace.accounts.models import Company, CompanyKind, User, Verification
from marketplace.accounts.validation import validate_region
from marketplace.catalog import hs
from marketplace.catalog.categories import CATEGORY_BY_CODE, CERTIFICATION_CODES, UNITS
from marketplace.catalog.models import Product
from marketplace.catalog.rows import MAX_LEAD_TIME_DAYS
from marketplace.catalog.services import is_publicly_visible
from marketplace.database import utcnow
from marketplace.deals import attachments
from marketplace.deals import services as deals
from marketplace.deals.models import OrderIntent
from marketplace.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from marketplace.extensions import db
from marketplace.i18n import _, _l, format_money
from marketplace.imports.cells import MAX_PRICE_FEN, clean_text
from marketplace.notifications.services import notify_company
from marketplace.sourcing.models import (
    ProcurementRequest,
    Quote,
    QuoteRevision,
    RequestAttachment,
    RequestEvent,
    RequestInvitation,
)
from marketplace.sourcing.states import (
    LIVE_QUOTE_STATES,
    PUBLISHED_STATES,
    READINESS_CODES,
    Party,
    QuoteAction,
    QuoteState,
    RequestAction,
    RequestState,
    Visibility,
    find_quote_rule,
    find_request_rule,
)
from marketplace.webhooks.events import emit

logger = logging.getLogger(__name__)

today_in_china = deals.today_in_china
MAX_QUANTITY = deals.MAX_QUANTITY
QUANTITY_LIMIT = f"{MAX_QUANTITY:,}"
MAX_BUDGET_FEN = 1_000_000_000_000_000  # ¥10 trillion: anything above is a typing slip
MAX_TITLE = 200
MAX_DESCRIPTION = 10_000
MAX_NOTE = 2000
MAX_DEADLINE_DAYS = 366
MAX_VALID_DAYS = 366
MAX_ATTACHMENTS = 5
MAX_INVITED = 50
PER_PAGE = 20
TOKEN = deals.TOKEN
NOTIFY_KIND = "sourcing"


# --------------------------------------------------------------------------- inputs


def _requirements() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Matching's requirement codes and its default musts (imported late: the matching package imports us)."""
    from marketplace.matching.scoring import DEFAULT_MUSTS, REQUIREMENTS

    return REQUIREMENTS, DEFAULT_MUSTS


def default_musts() -> tuple[str, ...]:
    """The requirements a new request makes musts (``matching.scoring.DEFAULT_MUSTS``)."""
    return _requirements()[1]


@dataclass(frozen=True)
class RequestInput:
    """What a buyer writes in a request; checked by ``check_request_input``."""

    title: str
    category: str
    quantity: int
    unit: str
    delivery_province_code: str
    delivery_city_code: str
    deadline: date
    description: str | None = None
    hs_code: str | None = None
    target_unit_price_fen: int | None = None
    budget_fen: int | None = None
    required_certifications: tuple[str, ...] = ()
    required_readiness: tuple[str, ...] = ()
    #: requirement codes (``matching.scoring.REQUIREMENTS``) that filter matches; the others only lower a score
    must_requirements: tuple[str, ...] = field(default_factory=default_musts)
    visibility: Visibility = Visibility.PUBLIC
    invited_company_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class QuoteInput:
    """An exporter's quoted terms; checked by ``check_quote_input``."""

    unit_price_fen: int
    quantity: int
    moq: int
    lead_time_days: int
    valid_until: date
    product_id: int | None = None
    note: str | None = None


def _whole(value, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _text(value: str | None, limit: int, field_name: str, message, multiline: bool = False) -> str | None:
    text = clean_text(value or "", multiline)
    if len(text) > limit:
        raise ValidationFailed(message, field_name)
    return text or None


def check_request_input(data: RequestInput, today: date | None = None) -> RequestInput:
    """Refuse a request out of range (the field named); returns it cleaned."""
    today = today or today_in_china()
    title = _text(data.title, MAX_TITLE, "title",
                  _l("The title is too long (at most %(limit)s characters).", limit=MAX_TITLE))
    if not title:
        raise ValidationFailed(_l("Give the request a title."), "title")
    description = _text(data.description, MAX_DESCRIPTION, "description",
                        _l("The description is too long (at most %(limit)s characters).", limit=MAX_DESCRIPTION),
                        multiline=True)
    if data.category not in CATEGORY_BY_CODE:
        raise ValidationFailed(_l("Choose a category."), "category")
    if data.hs_code and not hs.is_known_code(data.hs_code):
        raise ValidationFailed(_l("HS code %(value)s does not exist.", value=data.hs_code[:13]), "hs_code")
    if not _whole(data.quantity, 1, MAX_QUANTITY):
        raise ValidationFailed(_l("The quantity must be a whole number from 1 to %(limit)s.",
                                  limit=QUANTITY_LIMIT), "quantity")
    if data.unit not in UNITS:
        raise ValidationFailed(_l("Choose a unit."), "unit")
    if data.target_unit_price_fen is not None and not _whole(data.target_unit_price_fen, 1, MAX_PRICE_FEN):
        raise ValidationFailed(_l("The target unit price must be more than zero and at most ¥100,000,000."),
                               "target_price")
    if data.budget_fen is not None and not _whole(data.budget_fen, 1, MAX_BUDGET_FEN):
        raise ValidationFailed(_l("The budget must be more than zero."), "budget")
    validate_region(data.delivery_province_code, data.delivery_city_code)
    certifications = tuple(dict.fromkeys(data.required_certifications))
    if any(code not in CERTIFICATION_CODES for code in certifications):
        raise ValidationFailed(_l("Choose certifications from the list."), "certifications")
    readiness = tuple(code for code in READINESS_CODES if code in set(data.required_readiness))
    if len(readiness) != len(set(data.required_readiness)):
        raise ValidationFailed(_l("Choose readiness items from the list."), "readiness")
    musts = tuple(code for code in _requirements()[0] if code in set(data.must_requirements))
    if len(musts) != len(set(data.must_requirements)):
        raise ValidationFailed(_l("Choose the requirements that must be met from the list."), "musts")
    if data.deadline < today:
        raise ValidationFailed(_l("The deadline has already passed: choose today or a later day."), "deadline")
    if data.deadline > today + timedelta(days=MAX_DEADLINE_DAYS):
        raise ValidationFailed(_l("The deadline can be at most a year away."), "deadline")
    invited = tuple(dict.fromkeys(data.invited_company_ids))
    if data.visibility is Visibility.INVITED:
        if not invited:
            raise ValidationFailed(_l("Invite at least one exporter, or show the request to every verified "
                                      "exporter."), "invited")
        if len(invited) > MAX_INVITED:
            raise ValidationFailed(_l("Invite at most %(limit)s exporters.", limit=MAX_INVITED), "invited")
        found = db.session.scalar(
            sa.select(sa.func.count()).select_from(Company).where(
                Company.id.in_(invited), Company.kind == CompanyKind.EXPORTER,
                Company.verification == Verification.VERIFIED)
        )
        if found != len(invited):
            raise ValidationFailed(_l("Only verified exporters can be invited."), "invited")
    else:
        invited = ()
    return replace(data, title=title, description=description, hs_code=data.hs_code or None,
                   required_certifications=certifications, required_readiness=readiness, must_requirements=musts,
                   invited_company_ids=invited)


def check_quote_input(data: QuoteInput, exporter_company_id: int, today: date | None = None) -> QuoteInput:
    """Refuse quoted terms out of range or a product not the exporter's published one; returns them cleaned."""
    today = today or today_in_china()
    if not _whole(data.unit_price_fen, 1, MAX_PRICE_FEN):
        raise ValidationFailed(_l("The unit price must be more than zero and at most ¥100,000,000."), "unit_price")
    if not _whole(data.quantity, 1, MAX_QUANTITY):
        raise ValidationFailed(_l("The quantity must be a whole number from 1 to %(limit)s.",
                                  limit=QUANTITY_LIMIT), "quantity")
    if not _whole(data.moq, 1, MAX_QUANTITY):
        raise ValidationFailed(_l("The MOQ must be a whole number from 1 to %(limit)s.",
                                  limit=QUANTITY_LIMIT), "moq")
    if data.quantity * data.unit_price_fen > deals.MAX_AMOUNT_FEN:
        raise ValidationFailed(_l("The amount (quantity × unit price) is above ¥%(limit)s; split the order.",
                                  limit=deals.MAX_AMOUNT_LABEL), "quantity")
    if not _whole(data.lead_time_days, 0, MAX_LEAD_TIME_DAYS):
        raise ValidationFailed(_l("The lead time must be from 0 to %(limit)s days.", limit=MAX_LEAD_TIME_DAYS),
                               "lead_time_days")
    if data.valid_until < today:
        raise ValidationFailed(_l("The valid-until date has already passed."), "valid_until")
    if data.valid_until > today + timedelta(days=MAX_VALID_DAYS):
        raise ValidationFailed(_l("A quote can stay valid for at most a year."), "valid_until")
    note = _text(data.note, MAX_NOTE, "note", _l("The note is too long (at most %(limit)s characters).",
                                                  limit=MAX_NOTE), multiline=True)
    if data.product_id is not None:
        product = db.session.get(Product, data.product_id)
        if product is None or product.company_id != exporter_company_id or not is_publicly_visible(product):
            raise ValidationFailed(_l("Choose one of your company's published products."), "product_id")
    return replace(data, note=note)


# --------------------------------------------------------------------------- access


def _authenticated(actor) -> bool:
    return bool(getattr(actor, "is_authenticated", False))


def _request_not_found() -> NotFound:
    return NotFound(_l("This procurement request does not exist."))


def _quote_not_found() -> NotFound:
    return NotFound(_l("This quote does not exist."))


def require_buyer(actor: User, verified: bool = True) -> Company:
    """The actor's company when it is a (verified) buyer company; PermissionDenied otherwise."""
    if not _authenticated(actor):
        raise PermissionDenied(_l("Please log in."))
    company = actor.company
    check_buyer_company(company, verified)
    return company


def check_buyer_company(company: Company, verified: bool = True) -> None:
    """PermissionDenied unless the company is a buyer (and verified, when asked): who may post requests."""
    if not company.kind.is_buyer:
        raise PermissionDenied(_l("Only buyer companies (chain leaders, leading enterprises, retailers, "
                                  "trade-circulation firms) can post procurement requests."))
    if verified and not company.is_verified:
        raise PermissionDenied(_l("Your company must be verified before it can post procurement requests."))


def require_exporter(actor: User) -> Company:
    """The actor's company when it is a verified exporter; PermissionDenied otherwise."""
    if not _authenticated(actor):
        raise PermissionDenied(_l("Please log in."))
    company = actor.company
    if company.kind is not CompanyKind.EXPORTER:
        raise PermissionDenied(_l("Procurement requests are answered by exporters."))
    if not company.is_verified:
        raise PermissionDenied(_l("Your company must be verified before it can see procurement requests and "
                                  "quote."))
    return company


def exporter_can_see():
    """SQL: the requests a verified exporter company (bound as :company) may see."""
    company = sa.bindparam("company")
    invited = sa.exists().where(RequestInvitation.request_id == ProcurementRequest.id,
                                RequestInvitation.company_id == company)
    quoted = sa.exists().where(Quote.request_id == ProcurementRequest.id, Quote.exporter_company_id == company)
    return sa.and_(ProcurementRequest.state != RequestState.DRAFT,
                   sa.or_(ProcurementRequest.visibility == Visibility.PUBLIC, invited, quoted))


def party_of(viewer: User, request: ProcurementRequest) -> Party | None:
    """The viewer's side of a request: its buyer, an exporter allowed to see it, or None (sees nothing)."""
    if not _authenticated(viewer):
        return None
    company = viewer.company
    if company.id == request.buyer_company_id:
        return Party.BUYER
    if company.kind is not CompanyKind.EXPORTER or not company.is_verified:
        return None
    if request.state not in PUBLISHED_STATES:
        return None
    if request.visibility is Visibility.PUBLIC:
        return Party.EXPORTER
    invited = db.session.scalar(sa.select(sa.exists().where(
        RequestInvitation.request_id == request.id, RequestInvitation.company_id == company.id)))
    quoted = db.session.scalar(sa.select(sa.exists().where(
        Quote.request_id == request.id, Quote.exporter_company_id == company.id)))
    return Party.EXPORTER if invited or quoted else None


def _load_request(viewer: User, request_id: int) -> tuple[ProcurementRequest, Party]:
    request = db.session.get(ProcurementRequest, request_id, populate_existing=True)
    if request is None:
        raise _request_not_found()
    party = party_of(viewer, request)
    if party is None:
        raise _request_not_found()
    return request, party


def _is_due(request: ProcurementRequest, today: date) -> bool:
    return request.state is RequestState.OPEN and request.deadline < today


def get_request(viewer: User, request_id: int) -> ProcurementRequest:
    """The request as its buyer or an allowed exporter sees it (expired first when past its deadline); else 404."""
    request, _party = _load_request(viewer, request_id)
    if _is_due(request, today_in_china()):
        _expire_ids([request.id])
        request, _party = _load_request(viewer, request_id)
    return request


def get_own_request(actor: User, request_id: int) -> ProcurementRequest:
    """One of the actor's company's own requests (any state); 404 for anyone else."""
    request = get_request(actor, request_id)
    if request.buyer_company_id != actor.company_id:
        raise _request_not_found()
    return request


def load_quote(viewer: User, quote_id: int) -> tuple[Quote, Party]:
    """A quote and the viewer's side of it (buyer or quoting exporter); NotFound for anyone else."""
    quote = db.session.get(Quote, quote_id, populate_existing=True)
    if quote is None or not _authenticated(viewer):
        raise _quote_not_found()
    if viewer.company_id == quote.request.buyer_company_id:
        return quote, Party.BUYER
    if viewer.company_id == quote.exporter_company_id:
        return quote, Party.EXPORTER
    raise _quote_not_found()


def get_quote(viewer: User, quote_id: int) -> Quote:
    """A quote for the request's buyer or the quoting exporter; 404 for everyone else (competitors included)."""
    quote, _party = load_quote(viewer, quote_id)
    if _is_due(quote.request, today_in_china()):
        _expire_ids([quote.request_id])
        quote, _party = load_quote(viewer, quote_id)
    return quote


# --------------------------------------------------------------------------- attachments


def _sourcing_dir() -> Path:
    path = Path(current_app.config["UPLOAD_DIR"]) / "sourcing"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _store(data: bytes, filename: str | None) -> attachments.StoredAttachment:
    """Check an upload like the deals' attachments (content, size, kind) and save it under a random name."""
    extension, content_type = attachments.check_attachment(data)
    name = f"{secrets.token_hex(16)}.{extension}"
    (_sourcing_dir() / name).write_bytes(data)
    return attachments.StoredAttachment(name, attachments.clean_original_name(filename), content_type, len(data))


def _unlink(names: list[str]) -> None:
    for name in names:
        if name and attachments.STORED_NAME.fullmatch(name):
            (_sourcing_dir() / name).unlink(missing_ok=True)


def _file_path(name: str | None) -> Path:
    if not name or not attachments.STORED_NAME.fullmatch(name):
        raise NotFound(_l("This file does not exist."))
    path = _sourcing_dir() / name
    if not path.is_file():
        raise NotFound(_l("This file does not exist."))
    return path


def get_request_attachment(viewer: User, attachment_id: int) -> tuple[RequestAttachment, Path]:
    """A request's spec sheet for whoever may see the request; 404 for anyone else."""
    attachment = db.session.get(RequestAttachment, attachment_id)
    if attachment is None or party_of(viewer, attachment.request) is None:
        raise NotFound(_l("This file does not exist."))
    return attachment, _file_path(attachment.stored_name)


def get_quote_attachment(viewer: User, quote_id: int) -> tuple[Quote, Path]:
    """A quote's attachment for the buyer and the quoting exporter; 404 for anyone else."""
    try:
        quote, _party = load_quote(viewer, quote_id)
    except NotFound:
        raise NotFound(_l("This file does not exist.")) from None
    return quote, _file_path(quote.attachment_name)


# --------------------------------------------------------------------------- notifications


def _notify(company_id: int, subject, body, link: str, exclude_user_id: int | None = None) -> None:
    notify_company(company_id, NOTIFY_KIND, subject, body, link=link, exclude_user_id=exclude_user_id)


def _deliver() -> None:
    deals._deliver()


def _request_link(request: ProcurementRequest) -> str:
    return f"/sourcing/requests/{request.id}"


def _live_quoters(request_id: int) -> list[int]:
    return list(db.session.scalars(
        sa.select(Quote.exporter_company_id).where(Quote.request_id == request_id,
                                                   Quote.state.in_(LIVE_QUOTE_STATES)).order_by(Quote.id)))


# --------------------------------------------------------------------------- requests


def _changed(state_label) -> Conflict:
    return Conflict(_l("This request has changed since you opened it: it is now “%(state)s”. "
                       "Here is its new state; review it and try again.", state=state_label))


def record_request_event(request: ProcurementRequest, action: RequestAction, actor: User | None,
                         source: RequestState | None, note: str | None, version: int) -> RequestEvent:
    """Add the immutable event of a change to the session (the caller commits)."""
    event = RequestEvent(
        request=request, version=version, action=action,
        actor_user_id=actor.id if actor is not None else None,
        actor_company_id=actor.company_id if actor is not None else None,
        at=utcnow(), from_state=source, to_state=request.state, terms_after=request.snapshot(), note=note,
    )
    db.session.add(event)
    return event


def apply_request_input(request: ProcurementRequest, data: RequestInput) -> None:
    """Copy checked terms onto a request (its invitations included); no commit (the post form and demand lists)."""
    request.title = data.title
    request.description = data.description
    request.category = data.category
    request.hs_code = data.hs_code
    request.quantity = data.quantity
    request.unit = data.unit
    request.target_unit_price_fen = data.target_unit_price_fen
    request.budget_fen = data.budget_fen
    request.delivery_province_code = data.delivery_province_code
    request.delivery_city_code = data.delivery_city_code
    request.required_certifications = list(data.required_certifications)
    request.required_readiness = list(data.required_readiness)
    request.must_requirements = list(data.must_requirements)
    request.deadline = data.deadline
    request.visibility = data.visibility
    wanted = set(data.invited_company_ids)
    for invitation in list(request.invitations):
        if invitation.company_id not in wanted:
            request.invitations.remove(invitation)
    present = {invitation.company_id for invitation in request.invitations}
    for company_id in data.invited_company_ids:
        if company_id not in present:
            request.invitations.append(RequestInvitation(company_id=company_id, created_at=utcnow()))


def _check_uploads(request: ProcurementRequest | None, uploads, removing: int = 0) -> None:
    existing = len(request.attachments) if request is not None else 0
    if existing - removing + len(uploads) > MAX_ATTACHMENTS:
        raise ValidationFailed(_l("Attach at most %(limit)s files to a request.", limit=MAX_ATTACHMENTS),
                               "attachments")


def _existing_request(key: str) -> ProcurementRequest | None:
    return db.session.scalar(sa.select(ProcurementRequest).where(ProcurementRequest.idempotency_key == key))


def create_request(actor: User, data: RequestInput, idempotency_key: str,
                   uploads: list[tuple[bytes, str | None]] = (), session_id: int | None = None
                   ) -> tuple[ProcurementRequest, bool]:
    """Save a new request as a draft (the preview); a replayed form returns the first one: (request, created).

    ``session_id`` puts it on a matchmaking session's demand list (the caller, ``sessions.demand``, checks that
    the actor's company hosts that session).
    """
    company = require_buyer(actor)
    if not TOKEN.fullmatch(idempotency_key or ""):
        raise ValidationFailed(_l("The form has expired. Please reload the page and try again."))
    existing = _existing_request(idempotency_key)
    if existing is not None:
        if existing.buyer_company_id != company.id:
            raise ValidationFailed(_l("The form has expired. Please reload the page and try again."))
        return existing, False
    data = check_request_input(data)
    _check_uploads(None, uploads)
    stored = []
    try:
        for content, filename in uploads:
            stored.append(_store(content, filename))
        now = utcnow()
        request = ProcurementRequest(buyer_company_id=company.id, created_by_id=actor.id, state=RequestState.DRAFT,
                                     idempotency_key=idempotency_key, created_at=now, updated_at=now,
                                     session_id=session_id)
        apply_request_input(request, data)
        for item in stored:
            request.attachments.append(RequestAttachment(stored_name=item.name, original_name=item.original,
                                                         content_type=item.content_type, size=item.size,
                                                         created_at=now))
        db.session.add(request)
        record_request_event(request, RequestAction.CREATE, actor, None, None, version=1)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        _unlink([item.name for item in stored])
        existing = _existing_request(idempotency_key)
        if existing is not None and existing.buyer_company_id == company.id:
            return existing, False
        raise
    except Exception:
        db.session.rollback()
        _unlink([item.name for item in stored])
        raise
    logger.info("procurement request %s drafted by user %s", request.id, actor.id)
    return request, True


def _act_on_request(actor: User, request_id: int, action: RequestAction, expected_version: int | None,
                    change, note: str | None = None) -> ProcurementRequest:
    """Check the move against the rules, let ``change(request)`` apply it, write the event, commit."""
    request, party = _load_request(actor, request_id)
    if _is_due(request, today_in_china()):
        _expire_ids([request.id])
        request, party = _load_request(actor, request_id)
    if party is not Party.BUYER:
        raise _request_not_found() if party is None else PermissionDenied(_l("Only the buyer can do this."))
    if expected_version is not None and request.version != expected_version:
        raise _changed(request.state.label)
    rule = find_request_rule(action, request.state, Party.BUYER)
    if rule is None:
        raise ValidationFailed(_l("“%(action)s” is not possible while the request is “%(state)s”.",
                                  action=action.verb, state=request.state.label))
    source = request.state
    after = []
    try:
        after = change(request) or []
        request.state = rule.target
        request.updated_at = utcnow()
        record_request_event(request, action, actor, source, note, version=request.version + 1)
        db.session.flush()
        db.session.commit()
    except (StaleDataError, IntegrityError, OperationalError) as error:
        db.session.rollback()
        logger.info("procurement request %s: %s by user %s lost a race (%s)", request_id, action.value, actor.id,
                    type(error).__name__)
        fresh = db.session.get(ProcurementRequest, request_id, populate_existing=True)
        raise _changed(fresh.state.label) from None
    except Exception:
        db.session.rollback()
        raise
    for callback in after:
        callback()
    _deliver()
    return request


def update_request(actor: User, request_id: int, data: RequestInput, expected_version: int | None,
                   uploads: list[tuple[bytes, str | None]] = (), remove_attachment_ids=()) -> ProcurementRequest:
    """Change a draft or open request; the exporters that quoted on it are told."""
    require_buyer(actor)
    data = check_request_input(data)
    stored: list = []
    removed: list[str] = []

    def change(request: ProcurementRequest):
        removing = [a for a in request.attachments if a.id in set(remove_attachment_ids)]
        _check_uploads(request, uploads, len(removing))
        for content, filename in uploads:
            stored.append(_store(content, filename))
        for attachment in removing:
            removed.append(attachment.stored_name)
            request.attachments.remove(attachment)
        for item in stored:
            request.attachments.append(RequestAttachment(stored_name=item.name, original_name=item.original,
                                                         content_type=item.content_type, size=item.size,
                                                         created_at=utcnow()))
        apply_request_input(request, data)
        if request.state is RequestState.OPEN:
            for company_id in _live_quoters(request.id):
                _notify(company_id,
                        _l("The buyer changed request “%(title)s”", title=request.title),
                        _l("%(buyer)s changed its procurement request “%(title)s”. Check that your quote still "
                           "fits; you can revise it until %(deadline)s.", buyer=request.buyer_company.name_zh,
                           title=request.title, deadline=request.deadline.isoformat()),
                        _request_link(request))
        return [lambda: _unlink(removed)]

    try:
        return _act_on_request(actor, request_id, RequestAction.EDIT, expected_version, change)
    except Exception:
        _unlink([item.name for item in stored])
        raise


def publish_request(actor: User, request_id: int, expected_version: int | None) -> ProcurementRequest:
    """Open a draft for quotes (verified buyers only); invited exporters are told."""
    require_buyer(actor)

    def change(request: ProcurementRequest):
        if request.deadline < today_in_china():
            raise ValidationFailed(_l("The deadline has already passed: edit the request and choose a later day."),
                                   "deadline")
        request.published_at = utcnow()
        if request.visibility is Visibility.INVITED:
            for invitation in request.invitations:
                _notify(invitation.company_id,
                        _l("You are invited to quote: “%(title)s”", title=request.title),
                        _l("%(buyer)s invites your company to quote on “%(title)s” (%(quantity)s %(unit)s) "
                           "by %(deadline)s.", buyer=request.buyer_company.name_zh, title=request.title,
                           quantity=request.quantity, unit=request.unit, deadline=request.deadline.isoformat()),
                        _request_link(request))
        return []

    request = _act_on_request(actor, request_id, RequestAction.PUBLISH, expected_version, change)
    logger.info("procurement request %s published by user %s", request.id, actor.id)
    return request


def close_request(actor: User, request_id: int, expected_version: int | None,
                  note: str | None = None) -> ProcurementRequest:
    """Stop taking quotes (the buyer may still award one); the exporters that quoted are told."""
    require_buyer(actor, verified=False)
    note = _text(note, MAX_NOTE, "note", _l("The note is too long (at most %(limit)s characters).",
                                             limit=MAX_NOTE), multiline=True)

    def change(request: ProcurementRequest):
        for company_id in _live_quoters(request.id):
            _notify(company_id, _l("Request “%(title)s” is closed", title=request.title),
                    _l("%(buyer)s closed its procurement request “%(title)s”: it takes no more quotes.",
                       buyer=request.buyer_company.name_zh, title=request.title),
                    _request_link(request))
        emit(request.buyer_company_id, "request.closed", {"request_id": request.id, "from_state": request.state.value,
                                                          "to_state": RequestState.CLOSED.value, "reason": "closed"})
        return []

    return _act_on_request(actor, request_id, RequestAction.CLOSE, expected_version, change, note=note)


# --------------------------------------------------------------------------- expiry


def _expire_ids(request_ids: list[int], today: date | None = None) -> int:
    """Expire the given open requests past their deadline, each in its own transaction; a lost race is fine."""
    today = today or today_in_china()
    done = 0
    for request_id in request_ids:
        try:
            request = db.session.get(ProcurementRequest, request_id, populate_existing=True)
            if request is None or not _is_due(request, today):
                db.session.rollback()
                continue
            request.state = RequestState.EXPIRED
            request.updated_at = utcnow()
            record_request_event(request, RequestAction.EXPIRE, None, RequestState.OPEN,
                           _("No quotes taken after %(date)s.", date=request.deadline.isoformat()),
                           version=request.version + 1)
            db.session.flush()
            for company_id in [request.buyer_company_id, *_live_quoters(request.id)]:
                _notify(company_id, _l("Request “%(title)s”: the deadline has passed", title=request.title),
                        _l("The procurement request “%(title)s” takes no more quotes: its deadline %(date)s has "
                           "passed.", title=request.title, date=request.deadline.isoformat()),
                        _request_link(request))
            emit(request.buyer_company_id, "request.closed", {"request_id": request.id, "from_state": "open",
                                                              "to_state": RequestState.EXPIRED.value,
                                                              "reason": "expired"})
            db.session.commit()
            done += 1
        except (StaleDataError, IntegrityError, OperationalError) as error:
            db.session.rollback()
            logger.info("procurement request %s: expiry skipped (%s)", request_id, type(error).__name__)
    if done:
        _deliver()
    return done


def expire_requests(today: date | None = None) -> int:
    """Expire every open request past its deadline; returns how many."""
    today = today or today_in_china()
    ids = list(db.session.scalars(
        sa.select(ProcurementRequest.id).where(ProcurementRequest.state == RequestState.OPEN,
                                               ProcurementRequest.deadline < today).order_by(ProcurementRequest.id)))
    db.session.rollback()  # end the read before the writes
    count = _expire_ids(ids, today)
    if count:
        logger.info("%d procurement request(s) expired", count)
    return count


# --------------------------------------------------------------------------- quotes


def _quote_changed(quote: Quote | None) -> Conflict:
    state = quote.state.label if quote is not None else ""
    return Conflict(_l("This quote has changed since you opened it: it is now “%(state)s”. Review it and try "
                       "again.", state=state))


def _revision(quote: Quote, action: QuoteAction, actor: User | None, source: QuoteState | None,
              note: str | None, version: int) -> QuoteRevision:
    revision = QuoteRevision(
        quote=quote, version=version, action=action,
        actor_user_id=actor.id if actor is not None else None,
        actor_company_id=actor.company_id if actor is not None else None,
        at=utcnow(), from_state=source, to_state=quote.state, terms=quote.terms(), note=note,
    )
    db.session.add(revision)
    return revision


def _apply_quote(quote: Quote, data: QuoteInput) -> None:
    quote.unit_price_fen = data.unit_price_fen
    quote.quantity = data.quantity
    quote.moq = data.moq
    quote.lead_time_days = data.lead_time_days
    quote.valid_until = data.valid_until
    quote.product_id = data.product_id
    quote.note = data.note


def _set_attachment(quote: Quote, item) -> str | None:
    """Attach a stored file to the quote; returns the replaced file's name (to delete after the commit)."""
    old = quote.attachment_name
    quote.attachment_name, quote.attachment_original = item.name, item.original
    quote.attachment_type, quote.attachment_size = item.content_type, item.size
    return old


def _quote_subject(quote: Quote, request: ProcurementRequest, what):
    return _l("%(what)s: “%(title)s”", what=what, title=request.title)


def _tell_buyer(quote: Quote, request: ProcurementRequest, action: QuoteAction, actor: User) -> None:
    body = _l("%(exporter)s — %(price)s per %(unit)s, %(quantity)s %(unit)s available, MOQ %(moq)s, lead time "
              "%(days)s days, valid until %(valid)s.", exporter=quote.exporter_company.name_zh,
              price=format_money(quote.unit_price_fen), unit=request.unit, quantity=quote.quantity, moq=quote.moq,
              days=quote.lead_time_days, valid=quote.valid_until.isoformat())
    what = {QuoteAction.SUBMIT: _l("New quote"), QuoteAction.REVISE: _l("Quote revised"),
            QuoteAction.WITHDRAW: _l("Quote withdrawn")}[action]
    _notify(request.buyer_company_id, _quote_subject(quote, request, what), body,
            f"/sourcing/quotes/{quote.id}", exclude_user_id=actor.id)


def _existing_quote_for_key(key: str) -> Quote | None:
    return db.session.scalar(sa.select(Quote).where(Quote.idempotency_key == key))


def submit_quote(actor: User, request_id: int, data: QuoteInput, idempotency_key: str,
                 attachment: tuple[bytes, str | None] | None = None) -> tuple[Quote, bool]:
    """Quote on an open request (once per exporter; a withdrawn quote comes back): (quote, created)."""
    company = require_exporter(actor)
    if not TOKEN.fullmatch(idempotency_key or ""):
        raise ValidationFailed(_l("The form has expired. Please reload the page and try again."))
    existing = _existing_quote_for_key(idempotency_key)
    if existing is not None:
        if existing.exporter_company_id != company.id:
            raise ValidationFailed(_l("The form has expired. Please reload the page and try again."))
        return existing, False
    request = get_request(actor, request_id)
    if request.state is not RequestState.OPEN:
        raise ValidationFailed(_l("This request takes no quotes: it is “%(state)s”.", state=request.state.label))
    data = check_quote_input(data, company.id)
    previous = db.session.scalar(sa.select(Quote).where(Quote.request_id == request.id,
                                                        Quote.exporter_company_id == company.id))
    if previous is not None and previous.state is not QuoteState.WITHDRAWN:
        raise ValidationFailed(_l("Your company has already quoted on this request; revise that quote instead."))
    stored = _store(*attachment) if attachment else None
    old_file = None
    try:
        now = utcnow()
        if previous is None:
            quote = Quote(request_id=request.id, exporter_company_id=company.id, created_by_id=actor.id,
                          state=QuoteState.SUBMITTED, idempotency_key=idempotency_key, created_at=now,
                          updated_at=now)
            _apply_quote(quote, data)
            if stored:
                _set_attachment(quote, stored)
            db.session.add(quote)
            _revision(quote, QuoteAction.SUBMIT, actor, None, None, version=1)
            created = True
        else:
            quote = previous
            source = quote.state
            quote.state = QuoteState.SUBMITTED
            quote.decline_reason = None
            quote.idempotency_key = idempotency_key
            quote.updated_at = now
            _apply_quote(quote, data)
            if stored:
                old_file = _set_attachment(quote, stored)
            _revision(quote, QuoteAction.SUBMIT, actor, source, None, version=quote.version + 1)
            created = True
        db.session.flush()
        quote.request = request
        _tell_buyer(quote, request, QuoteAction.SUBMIT, actor)
        emit(request.buyer_company_id, "quote.created", {"quote_id": quote.id, "request_id": request.id,
                                                         "exporter_company_id": company.id,
                                                         "product_id": quote.product_id, "state": quote.state.value})
        db.session.commit()
    except (IntegrityError, StaleDataError, OperationalError) as error:
        # two submits at once: the other one's quote won; show it
        db.session.rollback()
        if stored:
            _unlink([stored.name])
        logger.info("quote on request %s by company %s lost a race (%s)", request_id, company.id,
                    type(error).__name__)
        winner = db.session.scalar(sa.select(Quote).where(Quote.request_id == request_id,
                                                          Quote.exporter_company_id == company.id))
        if winner is not None:
            return winner, False
        raise _quote_changed(None) from None
    except Exception:
        db.session.rollback()
        if stored:
            _unlink([stored.name])
        raise
    if old_file:
        _unlink([old_file])
    logger.info("quote %s on request %s by user %s", quote.id, request.id, actor.id)
    _deliver()
    return quote, created


def _quote_step(actor: User, quote_id: int, action: QuoteAction, expected_version: int | None,
                change=None, note: str | None = None) -> tuple[Quote, list]:
    """Load the quote for the actor's side, check the rule, apply ``change`` and the state; no commit."""
    quote, party = load_quote(actor, quote_id)
    request = quote.request
    if _is_due(request, today_in_china()):
        _expire_ids([request.id])
        quote, party = load_quote(actor, quote_id)
        request = quote.request
    if expected_version is not None and quote.version != expected_version:
        raise _quote_changed(quote)
    rule = find_quote_rule(action, quote.state, party, request.state)
    if rule is None:
        if any(find_quote_rule(action, quote.state, other, request.state) for other in (Party.BUYER, Party.EXPORTER)):
            raise PermissionDenied(_l("The other company decides this step, not yours."))
        if request.state is not RequestState.OPEN and party is Party.EXPORTER:
            raise ValidationFailed(_l("The request is “%(state)s”: quotes can no longer be changed.",
                                      state=request.state.label))
        raise ValidationFailed(_l("“%(action)s” is not possible while the quote is “%(state)s”.",
                                  action=action.verb, state=quote.state.label))
    note = _text(note, MAX_NOTE, "note", _l("The note is too long (at most %(limit)s characters).", limit=MAX_NOTE),
                 multiline=True)
    if rule.needs_reason and not note:
        raise ValidationFailed(_l("Give a reason for declining."), "note")
    source = quote.state
    after = change(quote) if change else []
    quote.state = rule.target
    quote.updated_at = utcnow()
    if action is QuoteAction.DECLINE:
        quote.decline_reason = note
    _revision(quote, action, actor, source, note, version=quote.version + 1)
    return quote, after or []


def _commit_quote_step(quote_id: int, actor: User, action: QuoteAction, after: list) -> None:
    try:
        db.session.flush()
        db.session.commit()
    except (StaleDataError, IntegrityError, OperationalError) as error:
        db.session.rollback()
        logger.info("quote %s: %s by user %s lost a race (%s)", quote_id, action.value, actor.id,
                    type(error).__name__)
        raise _quote_changed(db.session.get(Quote, quote_id, populate_existing=True)) from None
    except Exception:
        db.session.rollback()
        raise
    for callback in after:
        callback()
    _deliver()


def revise_quote(actor: User, quote_id: int, data: QuoteInput, expected_version: int | None,
                 attachment: tuple[bytes, str | None] | None = None) -> Quote:
    """Change the exporter's own quote while the request is open (the old terms stay in its revisions)."""
    require_exporter(actor)
    data = check_quote_input(data, actor.company_id)
    stored = None

    def change(quote: Quote):
        nonlocal stored
        if quote.terms() == {**quote.terms(), **_input_terms(data)} and attachment is None:
            raise ValidationFailed(_l("Change at least one term to revise the quote."), "unit_price")
        _apply_quote(quote, data)
        old = None
        if attachment:
            stored = _store(*attachment)
            old = _set_attachment(quote, stored)
        _tell_buyer(quote, quote.request, QuoteAction.REVISE, actor)
        emit(quote.request.buyer_company_id, "quote.revised", {"quote_id": quote.id, "request_id": quote.request_id,
                                                               "exporter_company_id": quote.exporter_company_id,
                                                               "product_id": quote.product_id,
                                                               "version": quote.version + 1})
        return [lambda: _unlink([old])] if old else []

    try:
        quote, after = _quote_step(actor, quote_id, QuoteAction.REVISE, expected_version, change)
        _commit_quote_step(quote_id, actor, QuoteAction.REVISE, after)
    except Exception:
        db.session.rollback()
        if stored:
            _unlink([stored.name])
        raise
    return quote


def _input_terms(data: QuoteInput) -> dict:
    return {"unit_price_fen": data.unit_price_fen, "quantity": data.quantity, "moq": data.moq,
            "lead_time_days": data.lead_time_days, "valid_until": data.valid_until.isoformat(),
            "product_id": data.product_id, "note": data.note}


def act_on_quote(actor: User, quote_id: int, action: QuoteAction, expected_version: int | None,
                 note: str | None = None) -> Quote:
    """Withdraw (exporter), shortlist or decline with a reason (buyer); the other company is told."""
    if action not in (QuoteAction.WITHDRAW, QuoteAction.SHORTLIST, QuoteAction.DECLINE):
        raise ValidationFailed(_l("This action is not possible here."))

    def change(quote: Quote):
        request = quote.request
        if action is QuoteAction.WITHDRAW:
            _tell_buyer(quote, request, action, actor)
        elif action is QuoteAction.DECLINE:
            _notify(quote.exporter_company_id, _quote_subject(quote, request, _l("Quote declined")),
                    _l("%(buyer)s declined your quote on “%(title)s”. Reason: %(reason)s",
                       buyer=request.buyer_company.name_zh, title=request.title, reason=clean_text(note or "", True).strip()[:500]),
                    f"/sourcing/quotes/{quote.id}")
        return []

    quote, after = _quote_step(actor, quote_id, action, expected_version, change, note)
    _commit_quote_step(quote_id, actor, action, after)
    return quote


def award_quote(actor: User, quote_id: int, expected_version: int | None, note: str | None = None) -> OrderIntent:
    """Award a quote: the request is awarded and an order intent starts with the quote's terms."""
    require_buyer(actor, verified=False)
    note = _text(note, MAX_NOTE, "note", _l("The note is too long (at most %(limit)s characters).",
                                             limit=MAX_NOTE), multiline=True)
    intent_box: list[OrderIntent] = []

    def change(quote: Quote):
        request = quote.request
        if find_request_rule(RequestAction.AWARD, request.state, Party.BUYER) is None:
            raise ValidationFailed(_l("“%(action)s” is not possible while the request is “%(state)s”.",
                                      action=RequestAction.AWARD.verb, state=request.state.label))
        today = today_in_china()
        source = request.state
        request.state = RequestState.AWARDED
        request.updated_at = utcnow()
        record_request_event(request, RequestAction.AWARD, actor, source, note, version=request.version + 1)
        city = regions.city(request.delivery_city_code)
        province = regions.province(request.delivery_province_code)
        place = "".join(p.name for p in (province, city) if p is not None) or None
        terms = deals.Terms(quantity=award_quantity(quote, request), unit_price_fen=quote.unit_price_fen,
                            valid_until=today + timedelta(days=deals.DEFAULT_VALID_DAYS),
                            delivery_date=today + timedelta(days=quote.lead_time_days), delivery_place=place)
        intent = deals.add_intent_from_quote(
            actor, quote.exporter_company_id, quote.product_id, request.title, request.unit, terms,
            f"sourcing-award-quote-{quote.id}", request_id=request.id, quote_id=quote.id,
            note=note or _("Awarded from procurement request #%(id)s.", id=request.id),
            session_id=request.session_id,
        )
        intent_box.append(intent)
        _notify(quote.exporter_company_id, _quote_subject(quote, request, _l("Quote awarded")),
                _l("%(buyer)s awarded your quote on “%(title)s”: an order intent for %(quantity)s %(unit)s at "
                   "%(price)s is waiting for your answer.", buyer=request.buyer_company.name_zh,
                   title=request.title, quantity=terms.quantity, unit=request.unit,
                   price=format_money(quote.unit_price_fen)),
                f"/deals/{intent.id}")
        for company_id in _live_quoters(request.id):
            if company_id != quote.exporter_company_id:
                _notify(company_id, _l("Request “%(title)s” has been awarded", title=request.title),
                        _l("%(buyer)s awarded its procurement request “%(title)s” to another exporter. Thank you "
                           "for quoting.", buyer=request.buyer_company.name_zh, title=request.title),
                        _request_link(request))
        return []

    try:
        quote, after = _quote_step(actor, quote_id, QuoteAction.AWARD, expected_version, change, note)
    except (StaleDataError, IntegrityError, OperationalError) as error:
        # the intent's flush wrote the request: another award (or edit) of it won the race
        db.session.rollback()
        logger.info("quote %s: award by user %s lost a race (%s)", quote_id, actor.id, type(error).__name__)
        fresh = db.session.get(Quote, quote_id, populate_existing=True)
        raise _changed(db.session.get(ProcurementRequest, fresh.request_id, populate_existing=True).state.label) \
            from None
    except Exception:
        db.session.rollback()
        raise
    _commit_quote_step(quote_id, actor, QuoteAction.AWARD, after)
    logger.info("quote %s awarded by user %s → order intent %s", quote.id, actor.id, intent_box[0].id)
    return intent_box[0]


def award_quantity(quote: Quote, request: ProcurementRequest) -> int:
    """The quantity an award buys: what the buyer asked for, or less when the exporter offers less."""
    return min(quote.quantity, request.quantity)
