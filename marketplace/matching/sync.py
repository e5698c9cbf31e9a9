"""Keeping ``matches`` in step: a consumer of the change log with its own cursor.

After each drain (inline after a commit in the embedded default; in ``flask index worker`` in
production) ``catch_up()`` reads the ``index_changes`` rows past the matches cursor — up to the lowest
cursor of this process's product and request indexes, so the index it ranks from already holds
them — and recomputes the requests and products they name (a company change: all its products and
requests). The cursor is the ``index_replicas`` row named ``matches``, moved **in the same
transaction** as the matches it accounts for: a process killed mid-recompute leaves both as they
were and the next catch-up redoes the batch (recomputing is idempotent). On PostgreSQL the row is
locked (``FOR UPDATE``) so two processes never recompute the same rows at once; on SQLite the write
transaction begins ``IMMEDIATE``.
"""
from __future__ import annotations

import logging
import time

import sqlalchemy as sa
from sqlalchemy.orm import Session

from marketplace.accounts.models import Company
from marketplace.catalog.models import Product
from marketplace.database import analyze, reading_only, utcnow
from marketplace.extensions import db
from marketplace.matching import services
from marketplace.ops import metrics as ops_metrics
from marketplace.search.models import KIND_COMPANY, KIND_PRODUCT, KIND_REQUEST, IndexChange, IndexReplica
from marketplace.sourcing.models import ProcurementRequest

logger = logging.getLogger(__name__)

#: the ``index_replicas`` row holding the matches' cursor
CURSOR_NAME = "matches"
#: change rows recomputed per transaction
BATCH_ROWS = 2000
#: after a save in the embedded default (inline drain) the saving process catches up itself only when at most
#: this many change rows wait; a larger backlog (a spreadsheet import) is left to the ``match-catch-up`` job
#: (every minute, in the worker or the ``make run`` jobs thread), so a save never waits for thousands of rows
INLINE_MAX_PENDING = 200


def _ceiling() -> int:
    from marketplace.search.sync import get_index

    return min(get_index("products").cursor, get_index("requests").cursor)


def after_drain() -> dict | None:
    """The after-drain hook: everything in the worker; in an inline drain only a small backlog."""
    from flask import current_app

    if current_app.config.get("SEARCH_DRAIN", "inline") == "inline":
        return catch_up(max_pending=INLINE_MAX_PENDING)
    return catch_up()


def catch_up_job() -> dict | None:
    """Recompute the matches the change log names past their cursor (in the worker: left to its drain loop).

    Every minute: what an inline drain left (a large backlog). In ``flask index worker`` the drain loop catches
    up after every round, in its own thread; a second catch-up from the jobs thread would only wait for the
    cursor's lock and then rank beside it from the same index objects, so it is left to the loop (None)."""
    from marketplace.search import sync as search_sync

    if search_sync.worker_loop_running():
        return None
    return catch_up()


def pending() -> int:
    """Change rows past the matches cursor (up to the indexes' cursors)."""
    with reading_only(), Session(db.engine) as session:
        current = session.scalar(sa.select(IndexReplica.cursor).where(IndexReplica.name == CURSOR_NAME)) or 0
        return session.scalar(sa.select(sa.func.count()).select_from(IndexChange).where(
            IndexChange.id > current, IndexChange.id <= _ceiling())) or 0


def catch_up(max_batches: int | None = None, max_pending: int | None = None) -> dict:
    """Recompute what the change log names past the matches cursor; returns counts of what was done.
    ``max_pending``: do nothing when more change rows than this wait (they are left to the periodic job)."""
    done = {"changes": 0, "requests": 0, "products": 0, "added": 0, "removed": 0, "seconds": 0.0}
    started = time.perf_counter()
    if max_pending is not None and cursor() and pending() > max_pending:
        logger.info("matches: a backlog of change rows is left to the match-catch-up job")
        return done
    batches = 0
    while max_batches is None or batches < max_batches:
        ceiling = _ceiling()
        with Session(db.engine) as session:
            replica = session.scalars(sa.select(IndexReplica).where(IndexReplica.name == CURSOR_NAME)
                                      .with_for_update()).first()
            if replica is None:  # never computed (or the log was pruned meanwhile): everything, once
                session.rollback()
                stats = recompute_everything()
                done.update(added=stats["added"], removed=stats["removed"], requests=stats["requests"])
                continue
            if replica.cursor >= ceiling:
                session.rollback()
                break
            rows = session.execute(
                sa.select(IndexChange.id, IndexChange.kind, IndexChange.object_id)
                .where(IndexChange.id > replica.cursor, IndexChange.id <= ceiling)
                .order_by(IndexChange.id).limit(BATCH_ROWS)).all()
            if not rows:
                replica.cursor = ceiling
                replica.updated_at = utcnow()
                session.commit()
                break
            request_ids, product_ids = _objects(session, rows)
            for request_id in sorted(request_ids):
                added, removed = services.recompute_request(session, request_id)
                done["added"] += added
                done["removed"] += removed
            for product_id in sorted(product_ids):
                added, removed = services.recompute_product(session, product_id)
                done["added"] += added
                done["removed"] += removed
            replica.cursor = rows[-1][0]
            replica.updated_at = utcnow()
            session.commit()
            done["changes"] += len(rows)
            done["requests"] += len(request_ids)
            done["products"] += len(product_ids)
        batches += 1
    done["seconds"] = time.perf_counter() - started
    ops_metrics.observe_matches_recompute(done)  # rongtong_matches_recompute_seconds (when something was recomputed)
    return done


def _objects(session: Session, rows) -> tuple[set[int], set[int]]:
    """The requests and products a batch of change rows names (a company: all its products and requests)."""
    request_ids = {object_id for _id, kind, object_id in rows if kind == KIND_REQUEST}
    product_ids = {object_id for _id, kind, object_id in rows if kind == KIND_PRODUCT}
    company_ids = sorted({object_id for _id, kind, object_id in rows if kind == KIND_COMPANY})
    for start in range(0, len(company_ids), 500):
        chunk = company_ids[start:start + 500]
        product_ids.update(session.scalars(sa.select(Product.id).where(Product.company_id.in_(chunk))))
        request_ids.update(session.scalars(sa.select(ProcurementRequest.id)
                                           .where(ProcurementRequest.buyer_company_id.in_(chunk))))
        # matches of products whose company is gone
        gone = set(chunk) - set(session.scalars(sa.select(Company.id).where(Company.id.in_(chunk))))
        if gone:
            from marketplace.matching.models import Match

            affected = set(session.scalars(sa.select(Match.request_id).where(Match.exporter_id.in_(gone)).distinct()))
            session.execute(sa.delete(Match).where(Match.exporter_id.in_(gone)))
            services.store_places(session, affected)
    return request_ids, product_ids


def cursor() -> int:
    """The change id the matches are up to (0 before the first catch-up)."""
    with reading_only(), Session(db.engine) as session:
        return session.scalar(sa.select(IndexReplica.cursor).where(IndexReplica.name == CURSOR_NAME)) or 0


def recompute_everything(refresh: bool = True, progress=None) -> dict:
    """``flask match recompute --all``: every request from its side, then the cursor to the indexes'."""
    ceiling = _ceiling()
    with Session(db.engine) as session:
        replica = session.scalars(sa.select(IndexReplica).where(IndexReplica.name == CURSOR_NAME)
                                  .with_for_update()).first()
        if replica is None:
            replica = IndexReplica(name=CURSOR_NAME, cursor=0, updated_at=utcnow())
            session.add(replica)
        stats = services.recompute_all(session, refresh=refresh, progress=progress)
        replica.cursor = max(replica.cursor or 0, ceiling)
        replica.updated_at = utcnow()
        session.commit()
    analyze(db.engine)  # SQLite's planner statistics after the largest change there is (sampled: milliseconds)
    return stats


def recompute_after_rebuild(rebuilt) -> dict | None:
    """After a rebuild of either index: everything again once both indexes exist (keywords chosen anew)."""
    from marketplace.search.sync import get_index

    if not (get_index("products").exists() and get_index("requests").exists()):
        return None
    return recompute_everything()
