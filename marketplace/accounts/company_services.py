"""Company services: profiles, tariff exposure, tags, verification, listings.

Owns every write to companies, their tariff exposures and tags, and the rules behind them
(who may do what, lengths, ranges, duplicates). Raises ``marketplace.errors`` domain errors;
a service that raises has written nothing. Must not import views or forms.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from urllib.parse import urlsplit

import sqlalchemy as sa
from babel import Locale
from flask_babel import force_locale
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from marketplace.accounts.models import (
    BUYER_KINDS,
    Company,
    CompanyKind,
    CompanyTag,
    CompanyTagKind,
    Role,
    TariffExposure,
    User,
    Verification,
)
from marketplace.accounts.permissions import can_manage_company
from marketplace.accounts.validation import validate_phone, validate_region, validate_uscc
from marketplace.database import utcnow
from marketplace.errors import NotFound, PermissionDenied, ValidationFailed
from marketplace.extensions import db
from marketplace.i18n import _, _l, today_in_china, yuan_to_fen
from marketplace.inputs import page_number
from marketplace.mail import deliver_outbox, queue_email
from marketplace.urls import external_url, site_path

logger = logging.getLogger(__name__)

PER_PAGE = 20
#: the longest description a company may write (the column itself is unbounded)
DESCRIPTION_MAX = 5000
QUERY_MAX = 100
#: the largest stranded stock we accept, in yuan (1 trillion; fits a BIGINT of fen many times over)
STRANDED_STOCK_MAX_YUAN = Decimal("1000000000000")
RATE_MAX = Decimal("1000")
SHARE_MAX = Decimal("100")
EARLIEST_DATE = date(1990, 1, 1)

#: territory codes Babel lists that are not export markets (or are China itself)
NON_MARKET_CODES = frozenset({"CN", "EZ", "QO", "UN", "XA", "XB", "ZZ"})

_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _column_length(column: str) -> int:
    return Company.__table__.c[column].type.length


#: text fields of the profile form and their longest allowed value
TEXT_LIMITS: dict[str, int] = {
    "name_zh": _column_length("name_zh"),
    "name_en": _column_length("name_en"),
    "industry": _column_length("industry"),
    "address": _column_length("address"),
    "description": DESCRIPTION_MAX,
    "website": _column_length("website"),
    "contact_name": _column_length("contact_name"),
    "contact_phone": _column_length("contact_phone"),
    "contact_email": _column_length("contact_email"),
    "idle_monthly_capacity": _column_length("idle_monthly_capacity"),
}
SOURCE_DOCUMENT_MAX = CompanyTag.__table__.c.source_document.type.length
REASON_MAX = Company.__table__.c.verification_reason.type.length
#: a raw USCC may carry spaces and dashes before it is normalised
USCC_INPUT_MAX = 40


# --------------------------------------------------------------------------- helpers


def _clean_text(value, field: str, required: bool = False, multiline: bool = False) -> str | None:
    """Stripped text without control characters (NUL breaks PostgreSQL), within its limit."""
    text = "" if value is None else str(value)
    if multiline:
        text = text.replace("\r\n", "\n")
    else:
        text = text.replace("\r", " ").replace("\n", " ").replace("\t", " ")
    text = _CONTROL_CHARS.sub("", text).strip()
    if not text:
        if required:
            raise ValidationFailed(_l("This field is required."), field)
        return None
    limit = TEXT_LIMITS.get(field)
    if limit and len(text) > limit:
        raise ValidationFailed(_l("Use at most %(max)d characters (this has %(n)d).", max=limit, n=len(text)), field)
    return text


def _decimal(value, field: str, low: Decimal, high: Decimal, places: int = 2) -> Decimal:
    """A finite Decimal within [low, high] with at most ``places`` decimals."""
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (ArithmeticError, ValueError):
        raise ValidationFailed(_l("Enter a number."), field)
    if not number.is_finite():
        raise ValidationFailed(_l("Enter a number."), field)
    if number < low or number > high:
        raise ValidationFailed(_l("Enter a number between %(low)s and %(high)s.", low=low, high=high), field)
    if number.as_tuple().exponent < -places:
        raise ValidationFailed(_l("Use at most %(n)d decimal places.", n=places), field)
    return number


def _date(value, field: str, latest: date | None = None) -> date:
    """A date between 1990 and ``latest`` (or a few years ahead)."""
    if isinstance(value, datetime):
        value = value.date()
    if not isinstance(value, date):
        raise ValidationFailed(_l("Enter a date."), field)
    if value < EARLIEST_DATE:
        raise ValidationFailed(_l("Enter a date after %(date)s.", date=EARLIEST_DATE.isoformat()), field)
    if latest is not None and value > latest:
        raise ValidationFailed(_l("The date cannot be in the future."), field)
    if value.year > today_in_china().year + 10:
        raise ValidationFailed(_l("Enter a date within the next ten years."), field)
    return value


def _normalize_website(value) -> str | None:
    url = _clean_text(value, "website")
    if url is None:
        return None
    if "://" not in url:
        url = "https://" + url
    try:
        parts = urlsplit(url)
    except ValueError:  # "[]" reads as a broken IPv6 host: no address at all
        parts = urlsplit("")
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or " " in url or "." not in parts.netloc:
        raise ValidationFailed(_l("Enter a web address such as https://www.example.com."), "website")
    if len(url) > TEXT_LIMITS["website"]:
        raise ValidationFailed(_l("Use at most %(max)d characters (this has %(n)d).", max=TEXT_LIMITS["website"], n=len(url)), "website")
    return url


def _require_manager(actor: User, company: Company) -> None:
    if not can_manage_company(actor, company):
        raise PermissionDenied(_l("You may not change this company."))


def _require_organizer(actor: User) -> None:
    if not (actor.is_authenticated and actor.is_organizer):
        raise PermissionDenied(_l("Only organizers may do this."))


def _require_exporter(company: Company) -> None:
    if company.kind is not CompanyKind.EXPORTER:
        raise NotFound(_l("Only exporters record tariff exposure."))


# --------------------------------------------------------------------------- reading


def count_companies_by_kind() -> dict[str, int]:
    """Company counts by kind value, plus ``buyers`` for all buyer kinds together."""
    rows = db.session.execute(sa.select(Company.kind, sa.func.count()).group_by(Company.kind)).all()
    counts = {kind.value: n for kind, n in rows}
    counts["buyers"] = sum(counts.get(k.value, 0) for k in BUYER_KINDS)
    counts.setdefault(CompanyKind.EXPORTER.value, 0)
    return counts


def get_company(company_id: int) -> Company:
    """The company with this id, or ``NotFound``."""
    company = db.session.get(Company, company_id)
    if company is None:
        raise NotFound(_l("This company does not exist."))
    return company


@dataclass(frozen=True)
class DirectoryFilter:
    """What the directory is narrowed to; every part optional."""

    kind: CompanyKind | None = None
    province_code: str | None = None
    q: str | None = None


def search_companies(filters: DirectoryFilter, page: int = 1, per_page: int = PER_PAGE):
    """A page of the company directory (organizers left out), verified companies first."""
    query = sa.select(Company).where(Company.kind != CompanyKind.ORGANIZER)
    if filters.kind is not None and filters.kind is not CompanyKind.ORGANIZER:
        query = query.where(Company.kind == filters.kind)
    if filters.province_code:
        query = query.where(Company.province_code == filters.province_code)
    text = _CONTROL_CHARS.sub("", filters.q or "").strip()[:QUERY_MAX]
    if text:
        query = query.where(
            sa.or_(
                Company.name_zh.icontains(text, autoescape=True),
                Company.name_en.icontains(text, autoescape=True),
            )
        )
    verified_first = sa.case((Company.verification == Verification.VERIFIED, 0), else_=1)
    query = query.options(selectinload(Company.tags)).order_by(verified_first, Company.id.desc())
    return db.paginate(query, page=page_number(page), per_page=per_page, error_out=False, count=True)


def pending_companies(page: int = 1, per_page: int = PER_PAGE):
    """A page of companies awaiting verification, oldest first."""
    query = (
        sa.select(Company)
        .where(Company.verification == Verification.PENDING)
        .order_by(Company.created_at, Company.id)
    )
    return db.paginate(query, page=page_number(page), per_page=per_page, error_out=False, count=True)


def list_companies(kind: CompanyKind | None = None) -> list[Company]:
    """Every company (of one kind, if given) in id order, with tags loaded (for the CLI)."""
    query = sa.select(Company).options(selectinload(Company.tags)).order_by(Company.id)
    if kind is not None:
        query = query.where(Company.kind == kind)
    return list(db.session.scalars(query))


def company_as_dict(company: Company) -> dict:
    """The stable JSON shape of a company for scripts."""
    return {
        "id": company.id,
        "uscc": company.uscc,
        "name_zh": company.name_zh,
        "name_en": company.name_en,
        "kind": company.kind.value,
        "province_code": company.province_code,
        "city_code": company.city_code,
        "verification": company.verification.value,
        "tags": sorted(t.tag.value for t in company.tags),
    }


def can_see_verification_reason(user: User, company: Company) -> bool:
    """The reason for a rejection is for the company's own users and organizers."""
    if not user.is_authenticated:
        return False
    return user.company_id == company.id or user.is_organizer


def export_market_codes() -> frozenset[str]:
    """ISO 3166 alpha-2 codes a former export market may take (China excluded)."""
    return _MARKET_CODES


_MARKET_CODES = frozenset(
    code
    for code in Locale.parse("en").territories
    if len(code) == 2 and code.isalpha() and code.isupper() and code not in NON_MARKET_CODES
)


# --------------------------------------------------------------------------- profile


def update_company_profile(actor: User, company: Company, data: dict) -> Company:
    """Save the profile form; checks the actor and every rule first, writes all or nothing.

    A rejected company that edits its profile goes back to the verification queue; a
    verified company that changes its legal name or code must be verified again.
    """
    _require_manager(actor, company)
    values: dict = {
        "name_zh": _clean_text(data.get("name_zh"), "name_zh", required=True),
        "name_en": _clean_text(data.get("name_en"), "name_en"),
        "industry": _clean_text(data.get("industry"), "industry"),
        "address": _clean_text(data.get("address"), "address"),
        "description": _clean_text(data.get("description"), "description", multiline=True),
        "website": _normalize_website(data.get("website")),
        "contact_name": _clean_text(data.get("contact_name"), "contact_name"),
        "contact_phone": _clean_text(data.get("contact_phone"), "contact_phone"),
        "contact_email": _clean_text(data.get("contact_email"), "contact_email"),
    }
    raw_uscc = str(data.get("uscc") or "")
    if len(raw_uscc) > USCC_INPUT_MAX:
        raise ValidationFailed(_l("A unified social credit code has 18 characters."), "uscc")
    values["uscc"] = validate_uscc(raw_uscc, "uscc")
    values["province_code"], values["city_code"] = validate_region(data.get("province_code"), data.get("city_code"))
    values["contact_phone"] = validate_phone(values["contact_phone"], "contact_phone")
    if values["contact_email"]:
        values["contact_email"] = values["contact_email"].lower()
        if not _EMAIL.match(values["contact_email"]):
            raise ValidationFailed(_l("Enter an e-mail address such as name@example.com."), "contact_email")
    if company.kind is CompanyKind.EXPORTER:
        stock = data.get("stranded_stock_yuan")
        if stock is None or (isinstance(stock, str) and not stock.strip()):
            values["stranded_stock_fen"] = None
        else:
            values["stranded_stock_fen"] = yuan_to_fen(
                _decimal(stock, "stranded_stock_yuan", Decimal(0), STRANDED_STOCK_MAX_YUAN)
            )
        values["idle_monthly_capacity"] = _clean_text(data.get("idle_monthly_capacity"), "idle_monthly_capacity")

    duplicate = db.session.scalar(
        sa.select(Company.id).where(Company.uscc == values["uscc"], Company.id != company.id)
    )
    if duplicate is not None:
        raise ValidationFailed(
            _l("Another company is already registered with this unified social credit code."), "uscc"
        )

    identity_changed = values["uscc"] != company.uscc or values["name_zh"] != company.name_zh
    for name, value in values.items():
        setattr(company, name, value)
    if company.verification is Verification.REJECTED or (
        company.verification is Verification.VERIFIED and identity_changed
    ):
        company.verification = Verification.PENDING
        company.verified_at = None
        company.verified_by_id = None
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise ValidationFailed(
            _l("Another company is already registered with this unified social credit code."), "uscc"
        )
    logger.info("company %s profile updated by user %s", company.id, actor.id)
    return company


# --------------------------------------------------------------------------- tariff exposure


def add_tariff_exposure(actor: User, company: Company, data: dict) -> TariffExposure:
    """Record a former export market of an exporter and the tariff that hit it."""
    _require_manager(actor, company)
    _require_exporter(company)
    market = str(data.get("market") or "").strip().upper()
    if market not in export_market_codes():
        raise ValidationFailed(_l("Choose a market from the list."), "market")
    exposure = TariffExposure(
        company_id=company.id,
        market=market,
        old_rate=_decimal(data.get("old_rate"), "old_rate", Decimal(0), RATE_MAX),
        new_rate=_decimal(data.get("new_rate"), "new_rate", Decimal(0), RATE_MAX),
        effective_on=_date(data.get("effective_on"), "effective_on"),
        revenue_share=_decimal(data.get("revenue_share"), "revenue_share", Decimal(0), SHARE_MAX),
    )
    duplicate_message = _l("This market is already in your tariff exposure; delete it first to change it.")
    exists = db.session.scalar(
        sa.select(TariffExposure.id).where(TariffExposure.company_id == company.id, TariffExposure.market == market)
    )
    if exists is not None:
        raise ValidationFailed(duplicate_message, "market")
    db.session.add(exposure)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise ValidationFailed(duplicate_message, "market")
    logger.info("company %s tariff exposure %s added by user %s", company.id, market, actor.id)
    return exposure


def delete_tariff_exposure(actor: User, company: Company, exposure_id: int) -> None:
    """Delete one of the company's tariff exposure rows (``NotFound`` for anyone else's)."""
    _require_manager(actor, company)
    exposure = db.session.get(TariffExposure, exposure_id)
    if exposure is None or exposure.company_id != company.id:
        raise NotFound(_l("This tariff exposure does not exist."))
    db.session.delete(exposure)
    db.session.commit()
    logger.info("company %s tariff exposure %s deleted by user %s", company.id, exposure.market, actor.id)


# --------------------------------------------------------------------------- tags


def add_company_tag(actor: User, company: Company, data: dict) -> CompanyTag:
    """An organizer records a designation with its source document and date."""
    _require_organizer(actor)
    try:
        tag = CompanyTagKind(data.get("tag"))
    except ValueError:
        raise ValidationFailed(_l("Choose a tag from the list."), "tag")
    source = _clean_text(data.get("source_document"), "source_document", required=True)
    if len(source) > SOURCE_DOCUMENT_MAX:
        raise ValidationFailed(
            _l("Use at most %(max)d characters (this has %(n)d).", max=SOURCE_DOCUMENT_MAX, n=len(source)),
            "source_document",
        )
    granted_on = _date(data.get("granted_on"), "granted_on", latest=today_in_china())
    duplicate_message = _l("This company already has this tag; delete it first to change it.")
    if tag in company.tag_kinds:
        raise ValidationFailed(duplicate_message, "tag")
    record = CompanyTag(
        company_id=company.id, tag=tag, source_document=source, granted_on=granted_on, set_by_id=actor.id
    )
    db.session.add(record)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise ValidationFailed(duplicate_message, "tag")
    logger.info("company %s tagged %s by user %s", company.id, tag.value, actor.id)
    return record


def remove_company_tag(actor: User, company: Company, tag_id: int) -> None:
    """An organizer removes a designation (``NotFound`` when it is not this company's)."""
    _require_organizer(actor)
    record = db.session.get(CompanyTag, tag_id)
    if record is None or record.company_id != company.id:
        raise NotFound(_l("This tag does not exist."))
    db.session.delete(record)
    db.session.commit()
    logger.info("company %s tag %s removed by user %s", company.id, record.tag.value, actor.id)


# --------------------------------------------------------------------------- verification


def verify_company(actor: User, company: Company, reason: str | None = None) -> Company:
    """An organizer approves a company; its admins are told by e-mail, its users in their notifications."""
    return _decide(actor, company, Verification.VERIFIED, reason)


def reject_company(actor: User, company: Company, reason: str | None) -> Company:
    """An organizer rejects a company with a reason; its admins are told by e-mail, its users in their notifications."""
    return _decide(actor, company, Verification.REJECTED, reason)


def _decide(actor: User, company: Company, outcome: Verification, reason: str | None) -> Company:
    _require_organizer(actor)
    text = _CONTROL_CHARS.sub("", (reason or "").replace("\r\n", "\n")).strip() or None
    if outcome is Verification.REJECTED and not text:
        raise ValidationFailed(_l("Give the reason for the rejection; the company will see it."), "reason")
    if text and len(text) > REASON_MAX:
        raise ValidationFailed(_l("Use at most %(max)d characters (this has %(n)d).", max=REASON_MAX, n=len(text)), "reason")
    # lock the row (PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises) so that two
    # organizers deciding at once cannot both pass the check below and both send e-mail
    db.session.refresh(company, with_for_update=True)
    if company.verification is outcome:
        message = (
            _l("This company is already verified.")
            if outcome is Verification.VERIFIED
            else _l("This company has already been rejected.")
        )
        raise ValidationFailed(message, "decision")
    company.verification = outcome
    company.verification_reason = text
    company.verified_at = utcnow()
    company.verified_by_id = actor.id
    for admin in _company_admins(company):
        subject, body = _verification_email(company, outcome, text, admin.locale)
        queue_email(admin.email, subject, body)
    _notify_verification(company, outcome, text)
    db.session.commit()
    logger.info("company %s %s by user %s", company.id, outcome.value, actor.id)
    deliver_outbox()
    return company


def _company_admins(company: Company) -> list[User]:
    return list(
        db.session.scalars(
            sa.select(User)
            .where(User.company_id == company.id, User.active.is_(True), User.role == Role.COMPANY_ADMIN)
            .order_by(User.id)
        )
    )


def _notify_verification(company: Company, outcome: Verification, reason: str | None) -> None:
    """Every user of the company sees the verdict in their notifications (the admins also got the e-mail)."""
    from marketplace.notifications.services import notify_company

    # lazy strings: each reader sees them in their own language
    if outcome is Verification.VERIFIED:
        kind = "company_verified"
        subject = _l("%(name)s has been verified", name=company.name_zh)
        body = (
            _l("An organizer has verified your company.\nNote: %(reason)s", reason=reason)
            if reason
            else _l("An organizer has verified your company. Buyers now see it as verified.")
        )
    else:
        kind = "company_rejected"
        subject = _l("The verification of %(name)s was rejected", name=company.name_zh)
        body = _l(
            "An organizer has rejected the verification of your company.\nReason: %(reason)s\n"
            "Correct your company profile and save it; it will then be checked again.",
            reason=reason or "",
        )
    notify_company(company.id, kind, subject, body, link=site_path("companies.profile", company_id=company.id),
                   email=False)


def _profile_link(company: Company) -> str:
    return external_url("companies.profile", company_id=company.id)


def _verification_email(company: Company, outcome: Verification, reason: str | None, locale: str | None):
    """Subject and body in the recipient's language."""
    with force_locale(locale or "zh_CN"):
        if outcome is Verification.VERIFIED:
            subject = _("Rongtong: %(name)s has been verified", name=company.name_zh)
            lines = [_("An organizer has verified your company %(name)s on Rongtong.", name=company.name_zh)]
        else:
            subject = _("Rongtong: the verification of %(name)s was rejected", name=company.name_zh)
            lines = [
                _("An organizer has rejected the verification of your company %(name)s on Rongtong.", name=company.name_zh),
                _("Reason: %(reason)s", reason=reason or ""),
                _("Correct your company profile and save it; it will then be checked again."),
            ]
        if reason and outcome is Verification.VERIFIED:
            lines.append(_("Note: %(reason)s", reason=reason))
        link = _profile_link(company)
        if link:
            lines.append(_("Your company profile: %(url)s", url=link))
    return str(subject), "\n\n".join(str(line) for line in lines)
