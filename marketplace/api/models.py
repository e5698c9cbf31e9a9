"""Open-API tables: company API tokens and the answers kept for ``Idempotency-Key`` replays.

Owns: ``api_tokens`` and ``api_idempotency``. A token is stored only as its SHA-256 (it is 256 random
bits, so a slow hash adds nothing); the first characters are kept to tell tokens apart on the page.
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.accounts.models import Company, User
from marketplace.database import UTCDateTime, utcnow
from marketplace.extensions import db
from marketplace.i18n import _l

#: what a token may do; "read" is every GET (and marking one's notifications read)
SCOPES = {
    "read": _l("Read: products, requests, quotes, matches, order intents, notifications"),
    "catalog:write": _l("Catalog: create, change, publish and archive products; imports"),
    "sourcing:write": _l("Sourcing: procurement requests and quotes"),
    "deals:write": _l("Deals: record order intents and move them on"),
}


class ApiToken(db.Model):
    """A company's API token, made by a company administrator, who is the actor of its calls."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(80))
    #: the token's first characters ("rt_AbCd…"), shown on the list; never enough to use it
    prefix: Mapped[str] = mapped_column(sa.String(16))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    scopes: Mapped[list] = mapped_column(sa.JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    company: Mapped[Company] = relationship(lazy="joined")
    created_by: Mapped[User] = relationship(lazy="joined")

    def __repr__(self) -> str:
        return f"<ApiToken {self.id} {self.prefix} company={self.company_id}>"

    def is_live(self, now: datetime) -> bool:
        """Not revoked and not expired."""
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class IdempotentAnswer(db.Model):
    """The first answer to a POST with an ``Idempotency-Key``, replayed for the same key and body."""

    __tablename__ = "api_idempotency"
    __table_args__ = (sa.UniqueConstraint("company_id", "key", name="uq_api_idempotency_company_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(sa.String(200))
    #: SHA-256 of method, path and body: the same key with another request is refused
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
    status_code: Mapped[int] = mapped_column(sa.Integer)
    body: Mapped[str] = mapped_column(sa.Text)
    headers: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)

    def __repr__(self) -> str:
        return f"<IdempotentAnswer {self.company_id}:{self.key} {self.status_code}>"
