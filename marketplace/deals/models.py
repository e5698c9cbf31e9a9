"""Deals models: order intents, their immutable events and the messages on them.

Owns: the tables of the deals feature. Imports only extensions, database helpers, the state
machine's enums, and accounts/catalog models.
"""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.accounts.models import Company, User
from marketplace.catalog.models import Product
from marketplace.database import UTCDateTime, enum_column, utcnow
from marketplace.deals.states import Action, IntentState
from marketplace.extensions import db


class OrderIntent(db.Model):
    """A buyer's non-binding intent to buy an exporter's goods, and where its negotiation stands."""

    __tablename__ = "order_intents"
    __table_args__ = (
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint("unit_price_fen > 0", name="price_positive"),
        sa.CheckConstraint("amount_fen = quantity * unit_price_fen", name="amount"),
        sa.Index("ix_order_intents_buyer_state", "buyer_company_id", "state"),
        sa.Index("ix_order_intents_exporter_state", "exporter_company_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    buyer_company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id", ondelete="CASCADE"))
    exporter_company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id", ondelete="CASCADE"))
    product_id: Mapped[int | None] = mapped_column(sa.ForeignKey("products.id", ondelete="SET NULL"), index=True)
    #: the procurement request / quote it came from (sourcing), the matchmaking session
    request_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("procurement_requests.id", ondelete="SET NULL"), index=True)
    quote_id: Mapped[int | None] = mapped_column(sa.ForeignKey("quotes.id", ondelete="SET NULL"), index=True)
    session_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("matchmaking_sessions.id", ondelete="SET NULL"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    #: the product's title and unit when the intent was made (the product may change later)
    product_title: Mapped[str] = mapped_column(sa.String(200))
    unit: Mapped[str] = mapped_column(sa.String(20))
    # the current terms; amount is always quantity × unit price, computed by the service
    quantity: Mapped[int] = mapped_column(sa.BigInteger)
    unit_price_fen: Mapped[int] = mapped_column(sa.BigInteger)
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)
    delivery_date: Mapped[date | None] = mapped_column(sa.Date)
    delivery_place: Mapped[str | None] = mapped_column(sa.String(200))
    #: last day (Asia/Shanghai) an answer is awaited; submitted/countered intents expire after it
    valid_until: Mapped[date] = mapped_column(sa.Date, index=True)
    note: Mapped[str | None] = mapped_column(sa.Text)
    state: Mapped[IntentState] = mapped_column(enum_column(IntentState), default=IntentState.DRAFT, index=True)
    #: optimistic lock: every transition bumps it; an UPDATE of a stale version changes nothing
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1)
    #: the start form's random token: a replayed submit finds the intent it already made
    idempotency_key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    buyer_signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    exporter_signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __mapper_args__ = {"version_id_col": version}

    buyer_company: Mapped[Company] = relationship(foreign_keys=[buyer_company_id])
    exporter_company: Mapped[Company] = relationship(foreign_keys=[exporter_company_id])
    product: Mapped[Product | None] = relationship()
    created_by: Mapped[User | None] = relationship()
    events: Mapped[list[OrderIntentEvent]] = relationship(
        back_populates="intent", order_by="OrderIntentEvent.id", passive_deletes=True
    )
    messages: Mapped[list[OrderIntentMessage]] = relationship(
        back_populates="intent", order_by="OrderIntentMessage.id", passive_deletes=True
    )

    def __repr__(self) -> str:
        return f"<OrderIntent {self.id} {self.buyer_company_id}→{self.exporter_company_id} {self.state.value} v{self.version}>"

    def terms(self) -> dict:
        """The negotiable terms as JSON-ready values (for event rows)."""
        return {
            "quantity": self.quantity,
            "unit_price_fen": self.unit_price_fen,
            "amount_fen": self.amount_fen,
            "delivery_date": self.delivery_date.isoformat() if self.delivery_date else None,
            "delivery_place": self.delivery_place,
            "valid_until": self.valid_until.isoformat() if self.valid_until else None,
        }


class OrderIntentEvent(db.Model):
    """One thing that happened to an intent: who, when, from which state to which, the terms around it.

    Rows are written once and never changed or deleted (a mapper event refuses it).
    """

    __tablename__ = "order_intent_events"
    __table_args__ = (
        # one event per version of an intent: two transitions from the same version cannot both land
        sa.UniqueConstraint("intent_id", "version", name="uq_order_intent_events_intent_version"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    intent_id: Mapped[int] = mapped_column(sa.ForeignKey("order_intents.id", ondelete="CASCADE"), index=True)
    #: the intent's version after this event
    version: Mapped[int] = mapped_column(sa.Integer)
    action: Mapped[Action] = mapped_column(enum_column(Action))
    actor_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    actor_company_id: Mapped[int | None] = mapped_column(sa.ForeignKey("companies.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    from_state: Mapped[IntentState | None] = mapped_column(enum_column(IntentState))
    to_state: Mapped[IntentState] = mapped_column(enum_column(IntentState))
    terms_before: Mapped[dict | None] = mapped_column(sa.JSON)
    terms_after: Mapped[dict] = mapped_column(sa.JSON)
    note: Mapped[str | None] = mapped_column(sa.Text)

    intent: Mapped[OrderIntent] = relationship(back_populates="events")
    actor_user: Mapped[User | None] = relationship(foreign_keys=[actor_user_id])
    actor_company: Mapped[Company | None] = relationship(foreign_keys=[actor_company_id])

    def __repr__(self) -> str:
        source = self.from_state.value if self.from_state else "∅"
        return f"<OrderIntentEvent {self.id} intent {self.intent_id} {self.action.value} {source}→{self.to_state.value}>"

    @property
    def terms_changed(self) -> bool:
        """Whether this event changed the terms (a counter-offer)."""
        return self.terms_before is not None and self.terms_before != self.terms_after


@event.listens_for(OrderIntentEvent, "before_update")
@event.listens_for(OrderIntentEvent, "before_delete")
def _events_are_immutable(_mapper, _connection, target):
    raise RuntimeError(f"order intent events are immutable ({target!r})")


class OrderIntentMessage(db.Model):
    """A message between the two companies on an intent, with an optional attachment."""

    __tablename__ = "order_intent_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    intent_id: Mapped[int] = mapped_column(sa.ForeignKey("order_intents.id", ondelete="CASCADE"), index=True)
    author_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    author_company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id", ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(sa.Text)
    #: random name under UPLOAD_DIR/deals/ (extension from the detected type), or None
    attachment_name: Mapped[str | None] = mapped_column(sa.String(100), unique=True)
    #: the name the user's file had (shown and offered as the download name, never a path)
    attachment_original: Mapped[str | None] = mapped_column(sa.String(255))
    attachment_type: Mapped[str | None] = mapped_column(sa.String(100))
    attachment_size: Mapped[int | None] = mapped_column(sa.Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    intent: Mapped[OrderIntent] = relationship(back_populates="messages")
    author_user: Mapped[User | None] = relationship(foreign_keys=[author_user_id])
    author_company: Mapped[Company] = relationship(foreign_keys=[author_company_id])

    def __repr__(self) -> str:
        return f"<OrderIntentMessage {self.id} intent {self.intent_id} by company {self.author_company_id}>"
