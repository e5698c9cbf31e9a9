"""Accounts models: companies, their users and login sessions, tags, tariff exposure and invitations.

Owns: the tables of the accounts feature. Imports only extensions and database helpers.
"""
from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.database import UTCDateTime, enum_column, utcnow
from marketplace.extensions import db
from marketplace.i18n import _l


class CompanyKind(enum.Enum):
    """What a company is on the platform; decides what it can do."""

    EXPORTER = "exporter"
    CHAIN_LEADER = "chain_leader"
    LEADING_ENTERPRISE = "leading_enterprise"
    RETAILER = "retailer"
    TRADE_CIRCULATION = "trade_circulation"
    ORGANIZER = "organizer"

    @property
    def label(self):
        return COMPANY_KIND_LABELS[self]

    @property
    def is_buyer(self) -> bool:
        return self in BUYER_KINDS


COMPANY_KIND_LABELS = {
    CompanyKind.EXPORTER: _l("Exporter (export-oriented SME)"),
    CompanyKind.CHAIN_LEADER: _l("Chain leader"),
    CompanyKind.LEADING_ENTERPRISE: _l("Leading enterprise"),
    CompanyKind.RETAILER: _l("Retailer"),
    CompanyKind.TRADE_CIRCULATION: _l("Trade-circulation firm"),
    CompanyKind.ORGANIZER: _l("Organizer"),
}
BUYER_KINDS = frozenset(
    {CompanyKind.CHAIN_LEADER, CompanyKind.LEADING_ENTERPRISE, CompanyKind.RETAILER, CompanyKind.TRADE_CIRCULATION}
)
#: kinds anyone may register as; organizers are created by a platform administrator
SELF_REGISTER_KINDS = tuple(k for k in CompanyKind if k is not CompanyKind.ORGANIZER)


class Verification(enum.Enum):
    """An organizer's verdict on a company's identity."""

    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"

    @property
    def label(self):
        return VERIFICATION_LABELS[self]


VERIFICATION_LABELS = {
    Verification.PENDING: _l("Pending verification"),
    Verification.VERIFIED: _l("Verified"),
    Verification.REJECTED: _l("Verification rejected"),
}


class CompanyTagKind(enum.Enum):
    """Government designations an organizer records; never self-declared."""

    SPECIALIZED = "specialized"  # 专精特新
    LITTLE_GIANT = "little_giant"  # 专精特新"小巨人"
    CHAIN_LEADER = "chain_leader"  # 链主

    @property
    def label(self):
        return TAG_LABELS[self]


TAG_LABELS = {
    CompanyTagKind.SPECIALIZED: _l("Specialized and innovative (专精特新)"),
    CompanyTagKind.LITTLE_GIANT: _l("Specialized \"little giant\" (小巨人)"),
    CompanyTagKind.CHAIN_LEADER: _l("Chain leader (链主)"),
}
#: the designations that make a company 专精特新 (matching's bonus, the search filter, a session's focus)
ZJTX_TAGS = frozenset({CompanyTagKind.SPECIALIZED, CompanyTagKind.LITTLE_GIANT})


class Role(enum.Enum):
    """A user's role; checked on the server for every page and action."""

    MEMBER = "member"
    COMPANY_ADMIN = "company_admin"
    ORGANIZER = "organizer"
    PLATFORM_ADMIN = "platform_admin"

    @property
    def label(self):
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.MEMBER: _l("Member"),
    Role.COMPANY_ADMIN: _l("Company administrator"),
    Role.ORGANIZER: _l("Organizer"),
    Role.PLATFORM_ADMIN: _l("Platform administrator"),
}


class Company(db.Model):
    """A company on the platform: an exporter, a buyer of some kind, or an organizer."""

    __tablename__ = "companies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name_zh: Mapped[str] = mapped_column(sa.String(200))
    name_en: Mapped[str | None] = mapped_column(sa.String(200))
    #: unified social credit code (统一社会信用代码), compact upper case, check digit valid
    uscc: Mapped[str] = mapped_column(sa.String(18), unique=True)
    kind: Mapped[CompanyKind] = mapped_column(enum_column(CompanyKind), index=True)
    province_code: Mapped[str] = mapped_column(sa.String(6))
    city_code: Mapped[str] = mapped_column(sa.String(6))
    industry: Mapped[str | None] = mapped_column(sa.String(100))
    address: Mapped[str | None] = mapped_column(sa.String(300))
    description: Mapped[str | None] = mapped_column(sa.Text)
    website: Mapped[str | None] = mapped_column(sa.String(300))
    #: contact details, hidden from the other side until both have shown interest
    contact_name: Mapped[str | None] = mapped_column(sa.String(100))
    contact_phone: Mapped[str | None] = mapped_column(sa.String(40))
    contact_email: Mapped[str | None] = mapped_column(sa.String(254))
    # tariff exposure, company level (per-market rows in TariffExposure)
    stranded_stock_fen: Mapped[int | None] = mapped_column(sa.BigInteger)
    idle_monthly_capacity: Mapped[str | None] = mapped_column(sa.String(200))
    verification: Mapped[Verification] = mapped_column(
        enum_column(Verification), default=Verification.PENDING, index=True
    )
    verification_reason: Mapped[str | None] = mapped_column(sa.String(500))
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    verified_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", use_alter=True))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    users: Mapped[list[User]] = relationship(
        back_populates="company", foreign_keys="User.company_id", order_by="User.id"
    )
    tags: Mapped[list[CompanyTag]] = relationship(
        back_populates="company", cascade="all, delete-orphan", order_by="CompanyTag.id"
    )
    exposures: Mapped[list[TariffExposure]] = relationship(
        back_populates="company", cascade="all, delete-orphan", order_by="TariffExposure.id"
    )

    def __repr__(self) -> str:
        return f"<Company {self.id} {self.uscc} {self.kind.value}>"

    @property
    def is_verified(self) -> bool:
        return self.verification is Verification.VERIFIED

    @property
    def is_zjtx(self) -> bool:
        """Holds a 专精特新 designation (specialized, or "little giant"), as recorded by an organizer."""
        return any(tag.tag in ZJTX_TAGS for tag in self.tags)

    @property
    def display_name(self) -> str:
        """The name in the current language, falling back to Chinese."""
        from marketplace.i18n import current_locale_code

        if self.name_en and current_locale_code() == "en":
            return self.name_en
        return self.name_zh

    @property
    def tag_kinds(self) -> set[CompanyTagKind]:
        return {t.tag for t in self.tags}


class CompanyTag(db.Model):
    """A designation set by an organizer, with its source document and date."""

    __tablename__ = "company_tags"
    __table_args__ = (sa.UniqueConstraint("company_id", "tag", name="uq_company_tags_company_tag"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    tag: Mapped[CompanyTagKind] = mapped_column(enum_column(CompanyTagKind))
    source_document: Mapped[str] = mapped_column(sa.String(300))
    granted_on: Mapped[date] = mapped_column(sa.Date)
    set_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    company: Mapped[Company] = relationship(back_populates="tags")

    def __repr__(self) -> str:
        return f"<CompanyTag {self.company_id} {self.tag.value}>"


class TariffExposure(db.Model):
    """One former export market of an exporter and the tariff that hit it."""

    __tablename__ = "tariff_exposures"
    __table_args__ = (sa.UniqueConstraint("company_id", "market", name="uq_tariff_exposures_company_market"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    #: ISO 3166-1 alpha-2 code of the former export market
    market: Mapped[str] = mapped_column(sa.String(2))
    #: tariff rates in percent, e.g. 7.50 → 52.50
    old_rate: Mapped[float] = mapped_column(sa.Numeric(6, 2))
    new_rate: Mapped[float] = mapped_column(sa.Numeric(6, 2))
    effective_on: Mapped[date] = mapped_column(sa.Date)
    #: share of revenue exposed to this market, percent
    revenue_share: Mapped[float] = mapped_column(sa.Numeric(5, 2))

    company: Mapped[Company] = relationship(back_populates="exposures")

    def __repr__(self) -> str:
        return f"<TariffExposure {self.company_id} {self.market} {self.old_rate}→{self.new_rate}>"


class User(UserMixin, db.Model):
    """A person who logs in, belonging to one company, with one role."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    #: stored lower-cased, unique across the platform
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    password_hash: Mapped[str] = mapped_column(sa.String(256))
    role: Mapped[Role] = mapped_column(enum_column(Role), default=Role.MEMBER)
    #: saved language choice; None means "follow the switch or the browser"
    locale: Mapped[str | None] = mapped_column(sa.String(10))
    #: new matches by e-mail: "immediate" (with the next run of the digest job), "daily" or "off"
    #: (in-app notifications always)
    match_digest: Mapped[str] = mapped_column(sa.String(10), default="daily", server_default="daily")
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    company: Mapped[Company] = relationship(back_populates="users", foreign_keys=[company_id])

    #: the secret key of the login session this object was loaded for (not a column; see UserSession)
    session_key = None

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email} {self.role.value}>"

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    def has_role(self, *roles: Role) -> bool:
        """Whether the user holds one of ``roles``; platform admins hold every role."""
        return self.role is Role.PLATFORM_ADMIN or self.role in roles

    @property
    def is_company_admin(self) -> bool:
        # an organizer runs its own (organizer) company as well
        return self.role in (Role.COMPANY_ADMIN, Role.ORGANIZER, Role.PLATFORM_ADMIN)

    @property
    def is_organizer(self) -> bool:
        return self.role in (Role.ORGANIZER, Role.PLATFORM_ADMIN)


class Invitation(db.Model):
    """A company admin's invitation for a colleague to join the company."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(sa.String(254))
    role: Mapped[Role] = mapped_column(enum_column(Role), default=Role.MEMBER)
    #: SHA-256 of the token sent by e-mail; the token itself is never stored
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    invited_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    company: Mapped[Company] = relationship()

    def __repr__(self) -> str:
        return f"<Invitation {self.id} {self.email} → company {self.company_id}>"


class UserSession(db.Model):
    """One login (a browser or device): logging out, or the user ending it, makes its cookies worthless."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: SHA-256 of the random key kept in the signed session and remember-me cookies
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_agent: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<UserSession {self.id} user {self.user_id}>"


def _session_id(user: User) -> str:
    """Login id ``user id:password fingerprint:session key``: a password change or a logout ends it."""
    return f"{user.id}:{user.password_hash[-16:]}:{user.session_key or ''}"


User.get_id = _session_id
