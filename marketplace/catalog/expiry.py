"""Certificates that run out: their products' search documents are rebuilt after the expiry day.

A product's document holds the certifications valid on the day it was drained (an expired CCC is no
CCC). A certificate runs out at the end of its expiry day in Asia/Shanghai without any write to the
database, so nothing would re-index the product and a search for ``certification=CCC`` would keep
finding it. ``reindex_expired_certificates`` logs an ``index_changes`` row for each product with a
certificate that ran out lately; the next drain rebuilds those documents from the database.
Run daily shortly after midnight (China) and at worker start by ``marketplace.jobs``.
"""
from __future__ import annotations

import logging
from datetime import date, timedelta

import sqlalchemy as sa
from flask import current_app

from marketplace.catalog.models import Certification
from marketplace.database import reading_only, utcnow
from marketplace.extensions import db
from marketplace.i18n import today_in_china
from marketplace.search import sync
from marketplace.search.models import KIND_PRODUCT, IndexChange

logger = logging.getLogger(__name__)

#: days back a run looks: a worker stopped over a few midnights catches up when it starts again
LOOKBACK_DAYS = 7


def reindex_expired_certificates(today: date | None = None, days: int = LOOKBACK_DAYS) -> int:
    """Log a re-index of every product with a certificate that ran out in the last ``days`` days; returns how many.

    A certificate is valid through its expiry day (``Certification.is_expired``), so those that ran out
    before ``today`` (Asia/Shanghai) and on or after ``today - days`` count. Idempotent: a second run
    logs the same products again and the drain rebuilds the same documents.
    """
    today = today or today_in_china()
    with reading_only():
        product_ids = list(db.session.scalars(
            sa.select(Certification.product_id).distinct()
            .where(Certification.expires_on < today, Certification.expires_on >= today - timedelta(days=days))
            .order_by(Certification.product_id)))
        db.session.rollback()  # end the read before the write
    if not product_ids:
        return 0
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        # the change log's writers take this lock to commit (sync._after_flush): ids in commit order
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": sync._ADVISORY_KEY})
    now = utcnow()
    connection.execute(sa.insert(IndexChange), [
        {"kind": KIND_PRODUCT, "object_id": product_id, "created_at": now} for product_id in product_ids
    ])
    db.session.commit()
    logger.info("%d product(s) with a certificate that ran out logged for re-indexing", len(product_ids))
    if current_app.config.get("SEARCH_DRAIN", "inline") == "inline":
        # these rows bypass the flush hook that drains after commit; the embedded default drains here
        try:
            sync.drain(timeout=current_app.config.get("SEARCH_WRITE_TIMEOUT", 2.0))
        except Exception:  # the rows stay in the log for the next drain
            logger.exception("search index drain failed; the changes stay in the log")
    return len(product_ids)
