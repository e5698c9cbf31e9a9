"""Matching tables: ``matches`` (materialized pairs), ``match_profiles`` (a request's keywords, stamped in the
order of writes), ``match_counters`` (the stamps), ``archived_matches`` and ``supplier_shortlist``.

Imports only extensions, database helpers and the models of the matched objects.
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.accounts.models import Company
from marketplace.catalog.models import Product
from marketplace.database import UTCDateTime, utcnow
from marketplace.extensions import db
from marketplace.sourcing.models import ProcurementRequest


class Match(db.Model):
    """One (request, product) pair that fits: its score (0–100), parts and gaps, when and from what computed."""

    __tablename__ = "matches"
    __table_args__ = (
        sa.UniqueConstraint("request_id", "product_id", name="uq_matches_request_product"),
        sa.Index("ix_matches_request_score", "request_id", "score"),
        sa.Index("ix_matches_exporter_score", "exporter_id", "score"),
        # an exporter's matched requests (the 商机 count) and each one's best score (a 商机 page past the first)
        # read from the index alone
        sa.Index("ix_matches_exporter_request_score", "exporter_id", "request_id", "score"),
        sa.Index("ix_matches_buyer_notified", "buyer_id", "buyer_notified"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("procurement_requests.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id", ondelete="CASCADE"), index=True)
    #: the product's company (the exporter) and the request's company (the buyer)
    exporter_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id", ondelete="CASCADE"))
    buyer_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id", ondelete="CASCADE"))
    #: the canonical score, 0–100 with one decimal (stored ×10 as an integer: exact comparisons)
    score_x10: Mapped[int] = mapped_column("score", sa.Integer)
    #: every part of the score (``scoring.Fit.parts``) and every gap (``scoring.Fit.gaps``)
    parts: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    gaps: Mapped[list] = mapped_column(sa.JSON, default=list)
    #: the product index generation and the request keywords' generation it was computed from
    generation: Mapped[str] = mapped_column(sa.String(120), default="")
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: when the pair first matched (kept across recomputes: "new" matches are the recent ones)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: whether the buyer / the exporter has been told of this match (digests take the untold ones)
    buyer_notified: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    exporter_notified: Mapped[bool] = mapped_column(sa.Boolean, default=False)

    request: Mapped[ProcurementRequest] = relationship()
    product: Mapped[Product] = relationship()
    exporter: Mapped[Company] = relationship(foreign_keys=[exporter_id])

    @property
    def score(self) -> float:
        """The score out of 100."""
        return self.score_x10 / 10

    def __repr__(self) -> str:
        return f"<Match request {self.request_id} product {self.product_id} {self.score}>"


class ArchivedMatch(db.Model):
    """A match of a matchmaking session's demand line, kept when the request closed, expired or was awarded
    (``matches`` holds open requests only): the session's reports count what its requests matched."""

    __tablename__ = "archived_matches"
    __table_args__ = (sa.UniqueConstraint("request_id", "product_id", name="uq_archived_matches_request_product"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("procurement_requests.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id", ondelete="CASCADE"), index=True)
    exporter_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id", ondelete="CASCADE"))
    buyer_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id", ondelete="CASCADE"))
    score_x10: Mapped[int] = mapped_column("score", sa.Integer)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    archived_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SupplierShortlist(db.Model):
    """An exporter the buyer shortlisted for one of its requests (from the suppliers that fit it)."""

    __tablename__ = "supplier_shortlist"
    __table_args__ = (sa.UniqueConstraint("request_id", "company_id", name="uq_supplier_shortlist_request_company"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("procurement_requests.id", ondelete="CASCADE"), index=True)
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id", ondelete="CASCADE"))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MatchProfile(db.Model):
    """A request's keywords (and the category they point to when the request names none), chosen when it
    was last saved against the product index as it was then."""

    __tablename__ = "match_profiles"

    request_id: Mapped[int] = mapped_column(
        sa.ForeignKey("procurement_requests.id", ondelete="CASCADE"), primary_key=True)
    #: {"keywords": [[text, weight, [[term, …], …]], …], "category": inferred code or null}
    #: (``services.Profile.as_json``)
    keywords: Mapped[list] = mapped_column(sa.JSON, default=list)
    generation: Mapped[str] = mapped_column(sa.String(120), default="")
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: when it was written, in the order of writes (``demand.next_stamp``): what the product side's in-memory
    #: demand has not seen yet is ``stamp`` above the one it was built to
    stamp: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0", index=True)
    #: its list as ``matches`` holds it — how many, and the last place's score ×10 and product (the product side
    #: decides from these whether a product can enter; NULL: not known yet, counted from ``matches``; the short
    #: lists, whose neighbours a product may join, are read by this index)
    match_count: Mapped[int | None] = mapped_column(sa.Integer, nullable=True, index=True)
    last_score: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    last_product_id: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)


class MatchCounter(db.Model):
    """A named counter handed out under a row lock (``demand``: the stamps of ``match_profiles``)."""

    __tablename__ = "match_counters"

    name: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    value: Mapped[int] = mapped_column(sa.BigInteger, default=0)

