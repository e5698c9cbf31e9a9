"""Company webhooks: the endpoints a company registers and the deliveries queued for them.

Owns: the ``webhook_endpoints`` and ``webhook_deliveries`` tables. A delivery row is the outbox: it is
added in the same transaction as the change it reports (``events.emit``) and sent later by
``delivery.deliver_due``. Imports only extensions, database helpers and i18n (status labels).
"""
from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.database import UTCDateTime, enum_column, utcnow
from marketplace.extensions import db
from marketplace.i18n import _l

URL_MAX = 500
DESCRIPTION_MAX = 200
SECRET_MAX = 100
EVENT_MAX = 40
ERROR_MAX = 300
REASON_MAX = 300
#: ``disabled_reason``: disabled automatically after ``consecutive_failures`` failed attempts, or by a person
DISABLED_FAILURES = "failures"
DISABLED_MANUALLY = "manual"


class DeliveryStatus(enum.Enum):
    """pending (waiting for its next attempt) → succeeded, or failed (given up after 24 h)."""

    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    @property
    def label(self):
        return DELIVERY_STATUS_LABELS[self]


DELIVERY_STATUS_LABELS = {
    DeliveryStatus.PENDING: _l("Pending"),
    DeliveryStatus.SUCCEEDED: _l("Delivered"),
    DeliveryStatus.FAILED: _l("Failed"),
}


class WebhookEndpoint(db.Model):
    """An HTTPS address of a company that receives the events it subscribed to, signed with its secret."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(sa.String(URL_MAX))
    description: Mapped[str | None] = mapped_column(sa.String(DESCRIPTION_MAX))
    #: the event names subscribed to (``events.EVENTS``)
    events: Mapped[list] = mapped_column(sa.JSON, default=list)
    #: the signing key: stored (every delivery is signed with it), shown to the company once
    secret: Mapped[str] = mapped_column(sa.String(SECRET_MAX))
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    #: failed attempts since the last success; at ``WEBHOOK_DISABLE_AFTER`` the endpoint is disabled
    consecutive_failures: Mapped[int] = mapped_column(sa.Integer, default=0)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: DISABLED_FAILURES or DISABLED_MANUALLY (``disabled_reason_text`` says it in the reader's language)
    disabled_reason: Mapped[str | None] = mapped_column(sa.String(REASON_MAX))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def disabled_reason_text(self):
        """Why the endpoint is off, for pages (None while active)."""
        if self.active:
            return None
        if self.disabled_reason == DISABLED_FAILURES:
            return _l("Disabled automatically after %(count)s failed attempts in a row.",
                      count=self.consecutive_failures)
        return _l("Disabled by an administrator.")

    def __repr__(self) -> str:
        return f"<WebhookEndpoint {self.id} c{self.company_id} {'on' if self.active else 'off'}>"


class WebhookDelivery(db.Model):
    """One event for one endpoint: the exact body sent, and how its attempts went."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        # the sender's query: pending rows whose next attempt is due
        sa.Index("ix_webhook_deliveries_status_next", "status", "next_attempt_at"),
        # an endpoint's log, newest first
        sa.Index("ix_webhook_deliveries_endpoint_log", "endpoint_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(sa.ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    #: this delivery's id (the ``Rongtong-Delivery`` header); the payload's ``id`` names the event and stays
    #: the same when it is delivered again
    uuid: Mapped[str] = mapped_column(sa.String(36), unique=True)
    event: Mapped[str] = mapped_column(sa.String(EVENT_MAX))
    #: the body sent, byte for byte (UTF-8 JSON)
    payload: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[DeliveryStatus] = mapped_column(enum_column(DeliveryStatus), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: queued at; retries stop 24 h later
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status_code: Mapped[int | None] = mapped_column(sa.Integer)
    #: why the last attempt failed, short and technical ("HTTP 500", "timed out", "address refused: …")
    last_error: Mapped[str | None] = mapped_column(sa.String(ERROR_MAX))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: the delivery this one repeats (manual redelivery), if any
    redelivery_of_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("webhook_deliveries.id", ondelete="SET NULL"))

    endpoint: Mapped[WebhookEndpoint] = relationship()

    def __repr__(self) -> str:
        return f"<WebhookDelivery {self.id} e{self.endpoint_id} {self.event} {self.status.value}>"
