"""Sourcing models: procurement requests (采购需求), their invitations, attachments and events; quotes and
their revisions.

Owns: the tables of the sourcing feature. Imports only extensions, database helpers, the
lifecycle enums of ``states``, and accounts/catalog models. Event and revision rows are written
once and never changed (a mapper event refuses it).
"""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.accounts.models import Company, User
from marketplace.catalog.models import Product
from marketplace.database import UTCDateTime, enum_column, utcnow
from marketplace.extensions import db
from marketplace.sourcing.states import QuoteAction, QuoteState, RequestAction, RequestState, Visibility


class ProcurementRequest(db.Model):
    """A buyer's statement of what it needs, which exporters answer with quotes."""

    __tablename__ = "procurement_requests"
    __table_args__ = (
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.Index("ix_procurement_requests_state_deadline", "state", "deadline"),
        sa.Index("ix_procurement_requests_buyer_state", "buyer_company_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    buyer_company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id", ondelete="CASCADE"))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str | None] = mapped_column(sa.Text)
    #: category code from marketplace.catalog.categories
    category: Mapped[str] = mapped_column(sa.String(32), index=True)
    #: HS chapter, heading or longer code (digits), optional
    hs_code: Mapped[str | None] = mapped_column(sa.String(10))
    quantity: Mapped[int] = mapped_column(sa.BigInteger)
    unit: Mapped[str] = mapped_column(sa.String(20))
    #: what the buyer aims to pay a unit, or the whole budget (either, both or neither)
    target_unit_price_fen: Mapped[int | None] = mapped_column(sa.BigInteger)
    budget_fen: Mapped[int | None] = mapped_column(sa.BigInteger)
    #: GB/T 2260 codes of the delivery place
    delivery_province_code: Mapped[str] = mapped_column(sa.String(6), index=True)
    delivery_city_code: Mapped[str] = mapped_column(sa.String(6))
    #: certification codes (catalog.categories.CERTIFICATION_KINDS) every quote should hold
    required_certifications: Mapped[list] = mapped_column(sa.JSON, default=list)
    #: readiness codes (states.READINESS_ITEMS)
    required_readiness: Mapped[list] = mapped_column(sa.JSON, default=list)
    #: requirements the buyer made musts (a filter on matching); the others only lower a match's score
    #: (codes: matching.scoring.REQUIREMENTS)
    must_requirements: Mapped[list] = mapped_column(sa.JSON, default=list, server_default="[]")
    #: last day (Asia/Shanghai) quotes are taken; an open request expires after it
    deadline: Mapped[date] = mapped_column(sa.Date)
    visibility: Mapped[Visibility] = mapped_column(enum_column(Visibility), default=Visibility.PUBLIC)
    state: Mapped[RequestState] = mapped_column(enum_column(RequestState), default=RequestState.DRAFT)
    #: the matchmaking session whose demand list (发榜) it is on
    session_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("matchmaking_sessions.id", ondelete="SET NULL"), index=True)
    #: optimistic lock: every change bumps it; an UPDATE of a stale version changes nothing
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1)
    #: the post form's random token: a replayed submit finds the request it already made
    idempotency_key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __mapper_args__ = {"version_id_col": version}

    buyer_company: Mapped[Company] = relationship(foreign_keys=[buyer_company_id])
    created_by: Mapped[User | None] = relationship()
    invitations: Mapped[list[RequestInvitation]] = relationship(
        back_populates="request", order_by="RequestInvitation.id", cascade="all, delete-orphan", passive_deletes=True
    )
    attachments: Mapped[list[RequestAttachment]] = relationship(
        back_populates="request", order_by="RequestAttachment.id", cascade="all, delete-orphan", passive_deletes=True
    )
    events: Mapped[list[RequestEvent]] = relationship(
        back_populates="request", order_by="RequestEvent.id", passive_deletes=True
    )
    quotes: Mapped[list[Quote]] = relationship(back_populates="request", order_by="Quote.id", passive_deletes=True)

    def __repr__(self) -> str:
        return f"<ProcurementRequest {self.id} by {self.buyer_company_id} {self.state.value} v{self.version}>"

    def snapshot(self) -> dict:
        """The request's terms as JSON-ready values (for event rows)."""
        return {
            "title": self.title, "category": self.category, "hs_code": self.hs_code, "quantity": self.quantity,
            "unit": self.unit, "target_unit_price_fen": self.target_unit_price_fen, "budget_fen": self.budget_fen,
            "delivery_province_code": self.delivery_province_code, "delivery_city_code": self.delivery_city_code,
            "required_certifications": list(self.required_certifications or []),
            "required_readiness": list(self.required_readiness or []),
            "must_requirements": list(self.must_requirements or []),
            "deadline": self.deadline.isoformat() if self.deadline else None,
            "visibility": self.visibility.value if self.visibility else None,
        }


class RequestInvitation(db.Model):
    """An exporter company invited to an invited-only request."""

    __tablename__ = "procurement_request_invitations"
    __table_args__ = (sa.UniqueConstraint("request_id", "company_id", name="uq_request_invitations_request_company"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("procurement_requests.id", ondelete="CASCADE"))
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    request: Mapped[ProcurementRequest] = relationship(back_populates="invitations")
    company: Mapped[Company] = relationship()

    def __repr__(self) -> str:
        return f"<RequestInvitation request {self.request_id} → company {self.company_id}>"


class RequestAttachment(db.Model):
    """A spec sheet attached to a request (checked by content, stored under a random name)."""

    __tablename__ = "procurement_request_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("procurement_requests.id", ondelete="CASCADE"), index=True)
    #: random name under UPLOAD_DIR/sourcing/
    stored_name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    #: the user's file name (shown and offered as the download name, never a path)
    original_name: Mapped[str] = mapped_column(sa.String(255))
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size: Mapped[int] = mapped_column(sa.Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    request: Mapped[ProcurementRequest] = relationship(back_populates="attachments")

    def __repr__(self) -> str:
        return f"<RequestAttachment {self.id} request {self.request_id} {self.stored_name}>"


class RequestEvent(db.Model):
    """One thing that happened to a request: who, when, from which state to which, its terms after."""

    __tablename__ = "procurement_request_events"
    __table_args__ = (
        sa.UniqueConstraint("request_id", "version", name="uq_procurement_request_events_request_version"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("procurement_requests.id", ondelete="CASCADE"), index=True)
    #: the request's version after this event
    version: Mapped[int] = mapped_column(sa.Integer)
    action: Mapped[RequestAction] = mapped_column(enum_column(RequestAction))
    actor_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    actor_company_id: Mapped[int | None] = mapped_column(sa.ForeignKey("companies.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    from_state: Mapped[RequestState | None] = mapped_column(enum_column(RequestState))
    to_state: Mapped[RequestState] = mapped_column(enum_column(RequestState))
    terms_after: Mapped[dict] = mapped_column(sa.JSON)
    note: Mapped[str | None] = mapped_column(sa.Text)

    request: Mapped[ProcurementRequest] = relationship(back_populates="events")
    actor_user: Mapped[User | None] = relationship(foreign_keys=[actor_user_id])
    actor_company: Mapped[Company | None] = relationship(foreign_keys=[actor_company_id])

    def __repr__(self) -> str:
        return f"<RequestEvent {self.id} request {self.request_id} {self.action.value} → {self.to_state.value}>"


class Quote(db.Model):
    """An exporter's answer to a request: price, quantity, MOQ, lead time, validity; one per exporter and request."""

    __tablename__ = "quotes"
    __table_args__ = (
        sa.UniqueConstraint("request_id", "exporter_company_id", name="uq_quotes_request_exporter"),
        sa.CheckConstraint("unit_price_fen > 0", name="price_positive"),
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint("moq > 0", name="moq_positive"),
        sa.Index("ix_quotes_exporter_state", "exporter_company_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("procurement_requests.id", ondelete="CASCADE"), index=True)
    exporter_company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id", ondelete="CASCADE"))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    #: one of the exporter's own published products, optional
    product_id: Mapped[int | None] = mapped_column(sa.ForeignKey("products.id", ondelete="SET NULL"), index=True)
    unit_price_fen: Mapped[int] = mapped_column(sa.BigInteger)
    #: how much the exporter can supply
    quantity: Mapped[int] = mapped_column(sa.BigInteger)
    moq: Mapped[int] = mapped_column(sa.BigInteger)
    lead_time_days: Mapped[int] = mapped_column(sa.Integer)
    valid_until: Mapped[date] = mapped_column(sa.Date)
    note: Mapped[str | None] = mapped_column(sa.Text)
    attachment_name: Mapped[str | None] = mapped_column(sa.String(100), unique=True)
    attachment_original: Mapped[str | None] = mapped_column(sa.String(255))
    attachment_type: Mapped[str | None] = mapped_column(sa.String(100))
    attachment_size: Mapped[int | None] = mapped_column(sa.Integer)
    state: Mapped[QuoteState] = mapped_column(enum_column(QuoteState), default=QuoteState.SUBMITTED)
    #: the buyer's reason when it declined
    decline_reason: Mapped[str | None] = mapped_column(sa.Text)
    #: optimistic lock; also the number of revision rows
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1)
    #: the quote form's random token: a replayed submit finds the quote it already made
    idempotency_key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __mapper_args__ = {"version_id_col": version}

    request: Mapped[ProcurementRequest] = relationship(back_populates="quotes")
    exporter_company: Mapped[Company] = relationship(foreign_keys=[exporter_company_id])
    created_by: Mapped[User | None] = relationship()
    product: Mapped[Product | None] = relationship()
    revisions: Mapped[list[QuoteRevision]] = relationship(
        back_populates="quote", order_by="QuoteRevision.id", passive_deletes=True
    )

    def __repr__(self) -> str:
        return f"<Quote {self.id} request {self.request_id} by {self.exporter_company_id} {self.state.value}>"

    def terms(self) -> dict:
        """The quoted terms as JSON-ready values (for revision rows)."""
        return {
            "unit_price_fen": self.unit_price_fen, "quantity": self.quantity, "moq": self.moq,
            "lead_time_days": self.lead_time_days,
            "valid_until": self.valid_until.isoformat() if self.valid_until else None,
            "product_id": self.product_id, "note": self.note,
        }


class QuoteRevision(db.Model):
    """One version of a quote: the action that made it, by whom, and the terms it then had."""

    __tablename__ = "quote_revisions"
    __table_args__ = (sa.UniqueConstraint("quote_id", "version", name="uq_quote_revisions_quote_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    quote_id: Mapped[int] = mapped_column(sa.ForeignKey("quotes.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(sa.Integer)
    action: Mapped[QuoteAction] = mapped_column(enum_column(QuoteAction))
    actor_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    actor_company_id: Mapped[int | None] = mapped_column(sa.ForeignKey("companies.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    from_state: Mapped[QuoteState | None] = mapped_column(enum_column(QuoteState))
    to_state: Mapped[QuoteState] = mapped_column(enum_column(QuoteState))
    terms: Mapped[dict] = mapped_column(sa.JSON)
    note: Mapped[str | None] = mapped_column(sa.Text)

    quote: Mapped[Quote] = relationship(back_populates="revisions")
    actor_user: Mapped[User | None] = relationship(foreign_keys=[actor_user_id])
    actor_company: Mapped[Company | None] = relationship(foreign_keys=[actor_company_id])

    def __repr__(self) -> str:
        return f"<QuoteRevision {self.id} quote {self.quote_id} v{self.version} {self.action.value}>"


@event.listens_for(RequestEvent, "before_update")
@event.listens_for(RequestEvent, "before_delete")
@event.listens_for(QuoteRevision, "before_update")
@event.listens_for(QuoteRevision, "before_delete")
def _history_is_immutable(_mapper, _connection, target):
    raise RuntimeError(f"sourcing history rows are immutable ({target!r})")
