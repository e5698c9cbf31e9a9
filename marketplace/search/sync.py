"""The bridge between the database and ``search_index``: change log, drain, rebuild, check.

Owns:
- recording changes: a SQLAlchemy ``after_flush`` listener writes an ``index_changes`` row for
  every product, price tier, certification, company, tag or tariff exposure that changed, in
  the same transaction (on PostgreSQL under a transaction-scoped advisory lock, so ids are
  handed out in commit order and no drain can pass over a row that commits later);
- ``product_record()``: a database product → the ``ProductRecord`` the index stores;
- ``drain()``: apply every change past the replica's cursor, in batches, one writer at a
  time, re-reading the products' current state; idempotent, so a crash replays a batch and
  never skips one; loops until a fresh read finds nothing new, so a change whose own drain
  found the lock busy is applied by the holder after it releases the lock;
- the in-process drain after each commit (``SEARCH_DRAIN=inline``, the embedded default) —
  production sets ``SEARCH_DRAIN=worker`` and runs ``flask index worker``;
- ``rebuild()``, ``check()``, ``status()`` behind the ``flask index`` commands.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import event
from sqlalchemy.orm import Session, selectinload

from marketplace.accounts.models import Company, CompanyTag, TariffExposure
from marketplace.catalog import hs
from marketplace.catalog.categories import CATEGORY_BY_CODE
from marketplace.catalog.models import CccStatus, Certification, PriceTier, Product
from marketplace.catalog.services import is_publicly_visible, public_products_query
from marketplace.database import reading_only, utcnow
from marketplace.extensions import db
from marketplace.search.models import KIND_COMPANY, KIND_PRODUCT, IndexChange, IndexReplica
from search_index import PRODUCTS, IndexBusy, ProductIndex, ProductRecord

logger = logging.getLogger(__name__)

#: changes applied by a drain's first writer commit
DRAIN_BATCH = 500
#: a backlog (an import of 10,000 rows) is applied in commits growing ×4 up to this size: twenty commits
#: of 500 each re-merged the small segments (profiled: a quarter of a 10k drain's time)
DRAIN_BATCH_MAX = 8000
#: times a drain looks at the log again after releasing the lock (a change whose own drain found the
#: lock busy is applied by the holder)
DRAIN_ROUNDS = 3
#: replicas that have not reported for this long no longer hold back pruning
REPLICA_TTL_DAYS = 7
#: seconds between two reports of a process's cursor (each is a small write transaction)
REPORT_EVERY_S = 10.0
_last_report: dict = {}
#: advisory lock key serialising change-log writers on PostgreSQL ("rtidx" in ASCII)
_ADVISORY_KEY = 0x7274696478
_local = threading.local()


# ----------------------------------------------------------------------------- the index of this process


def get_index() -> ProductIndex:
    """This process's index for the current app (opened once, reused by every request)."""
    app = current_app._get_current_object()
    index = app.extensions.get("search_index")
    if index is None:
        index = ProductIndex(index_root(app))
        app.extensions["search_index"] = index
    return index


def index_root(app=None) -> str:
    """Where the product index lives: one directory per kind under ``SEARCH_INDEX_DIR``."""
    app = app or current_app
    return os.path.join(app.config["SEARCH_INDEX_DIR"], PRODUCTS.name)


def replica_name(app=None) -> str:
    """This replica's name in ``index_replicas``: host and index directory."""
    app = app or current_app
    return f"{socket.gethostname()}:{os.path.abspath(index_root(app))}"[:300]


# ----------------------------------------------------------------------------- recording changes


def _changed_keys(session) -> set[tuple[str, int]]:
    """(kind, id) of every indexed object the flush changes: one pass over its new, dirty and deleted sets.

    Each of ``session.new`` / ``dirty`` / ``deleted`` builds a fresh set of every such object when
    read, so each is read once per flush (asking ``obj in session.dirty`` per object made a flush of
    10,000 products quadratic: minutes for a re-import). The three sets are disjoint.
    """
    keys: set[tuple[str, int]] = set()
    for change, objects in (("new", session.new), ("dirty", session.dirty), ("deleted", session.deleted)):
        for obj in objects:
            key = _change_key(session, obj, change)
            if key is not None and key[1] is not None:
                keys.add(key)
    return keys


def _change_key(session, obj, change: str) -> tuple[str, int | None] | None:
    """The index change an object's flush means (``change``: new, dirty or deleted), or None."""
    if isinstance(obj, Product):
        if change == "dirty" and not session.is_modified(obj, include_collections=False):
            return None
        return KIND_PRODUCT, obj.id
    if isinstance(obj, (PriceTier, Certification)):
        product_id = obj.product_id or (obj.product.id if obj.product is not None else None)
        return (KIND_PRODUCT, product_id) if product_id else None
    if isinstance(obj, Company):
        if change == "new":
            return None  # a new company has no products yet
        if change == "dirty" and not _indexed_company_change(obj):
            return None
        return KIND_COMPANY, obj.id
    if isinstance(obj, (CompanyTag, TariffExposure)) and obj.company_id:
        return KIND_COMPANY, obj.company_id
    return None


#: company attributes that appear in its products' documents
_COMPANY_INDEXED = ("name_zh", "name_en", "province_code", "city_code", "verification")


def _indexed_company_change(company: Company) -> bool:
    state = sa.inspect(company)
    return any(state.attrs[name].history.has_changes() for name in _COMPANY_INDEXED)


def _after_flush(session, _context) -> None:
    keys = _changed_keys(session)
    if not keys:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql" and not session.info.get("index_lock"):
        # Held to commit: change-log ids are then handed out in commit order.
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_KEY})
        session.info["index_lock"] = True
    now = utcnow()
    connection.execute(sa.insert(IndexChange), [
        {"kind": kind, "object_id": object_id, "created_at": now} for kind, object_id in sorted(keys)
    ])
    session.info["index_dirty"] = True


def _after_commit(session) -> None:
    dirty = session.info.pop("index_dirty", False)
    session.info.pop("index_lock", None)
    if not dirty:
        return
    try:
        app = current_app._get_current_object()
    except RuntimeError:  # no app context: nothing to drain into
        return
    if app.config.get("SEARCH_DRAIN", "inline") != "inline" or getattr(_local, "draining", False):
        return
    try:
        drain(timeout=app.config.get("SEARCH_WRITE_TIMEOUT", 2.0))
    except Exception:  # the commit stands; the change waits in the log for the next drain
        logger.exception("search index drain failed; the changes stay in the log")


def _after_rollback(session) -> None:
    session.info.pop("index_dirty", None)
    session.info.pop("index_lock", None)


def register_listeners() -> None:
    """Listen to the application's sessions (idempotent)."""
    if not event.contains(FlaskSession, "after_flush", _after_flush):
        event.listen(FlaskSession, "after_flush", _after_flush)
        event.listen(FlaskSession, "after_commit", _after_commit)
        event.listen(FlaskSession, "after_soft_rollback", lambda session, _tx: _after_rollback(session))


# ----------------------------------------------------------------------------- records


def _labels(code: str) -> tuple[str, ...]:
    category = CATEGORY_BY_CODE.get(code)
    if category is None:
        return ()
    names = []
    for locale in current_app.config.get("LANGUAGES", ["zh_CN", "en"]):
        with force_locale(locale):
            names.append(str(category.label))
    return tuple(dict.fromkeys(names))


def _hs_names(code: str | None) -> tuple[str, ...]:
    if not code:
        return ()
    names = []
    for prefix in (code[:4], code[:2]):
        entry = hs.lookup(prefix)
        if entry is not None and entry.name_zh:
            names.append(entry.name_zh)
            break
    return tuple(names)


def product_record(product: Product, today: date | None = None, _labels_cache: dict | None = None) -> ProductRecord:
    """The index's view of a public product."""
    company = product.company
    # the model's rules count expiry (today in China unless given): an expired CCC is no CCC
    certs = {c.kind for c in product.valid_certifications(today)}
    if product.ccc_status_on(today) is CccStatus.HELD:
        certs.add("CCC")
    labels_cache = _labels_cache if _labels_cache is not None else {}
    if product.category not in labels_cache:
        labels_cache[product.category] = _labels(product.category)
    return ProductRecord(
        id=product.id, sku=product.sku, company_id=company.id,
        company_name=company.name_zh, company_name_en=company.name_en,
        title_zh=product.title_zh, title_en=product.title_en,
        description_zh=product.description_zh, description_en=product.description_en,
        category=product.category, category_names=labels_cache[product.category],
        hs_code=product.hs_code, hs_names=_hs_names(product.hs_code),
        brand=product.brand, model=product.model,
        specs=tuple((str(k), str(v)) for k, v in (product.specs or [])),
        province=company.province_code, city=company.city_code,
        certifications=tuple(sorted(certs)), price_fen=product.base_price_fen, moq=product.moq,
        tariff_hit=bool(product.former_export_market or product.tariff_note or company.exposures),
        domestic_ready=product.is_domestic_ready(today), verified=bool(company.tags),
        published_at=product.published_at or product.created_at,
    )


def _load_products(session: Session, ids: Iterable[int]) -> list[Product]:
    ids = list(ids)
    products: list[Product] = []
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        products.extend(session.scalars(
            sa.select(Product).where(Product.id.in_(chunk)).options(
                selectinload(Product.price_tiers), selectinload(Product.certifications),
                selectinload(Product.company).selectinload(Company.tags),
                selectinload(Product.company).selectinload(Company.exposures),
            )
        ))
    return products


def records_for(session: Session, product_ids: Iterable[int]) -> tuple[list[ProductRecord], list[int]]:
    """(records of the public ones, ids of the rest) for the given product ids."""
    wanted = set(product_ids)
    labels_cache: dict = {}
    records, found = [], set()
    for product in _load_products(session, wanted):
        found.add(product.id)
        if is_publicly_visible(product):
            records.append(product_record(product, _labels_cache=labels_cache))
    public = {record.id for record in records}  # once: built per id, it made a 10,000-change drain quadratic
    deletes = sorted(pid for pid in wanted if pid not in public)
    return records, deletes


def iter_public_records(session: Session, batch: int = 1000) -> Iterator[ProductRecord]:
    """Every public product's record, in id order, read in batches (for rebuild and check)."""
    labels_cache: dict = {}
    last_id = 0
    while True:
        ids = session.scalars(
            public_products_query().with_only_columns(Product.id)
            .where(Product.id > last_id).order_by(Product.id).limit(batch)
        ).all()
        if not ids:
            return
        for product in sorted(_load_products(session, ids), key=lambda p: p.id):
            yield product_record(product, _labels_cache=labels_cache)
        session.expunge_all()
        last_id = ids[-1]


# ----------------------------------------------------------------------------- drain


@dataclass
class DrainResult:
    """What one drain did."""

    applied: int = 0  # change rows applied
    batches: int = 0
    busy: bool = False  # the writer lock stayed busy; the changes wait for the next drain
    cursor: int = 0


def _product_ids_for(session: Session, index: ProductIndex, changes: list[tuple[int, str, int]]) -> set[int]:
    product_ids = {object_id for _id, kind, object_id in changes if kind == KIND_PRODUCT}
    company_ids = {object_id for _id, kind, object_id in changes if kind == KIND_COMPANY}
    if company_ids:
        product_ids.update(session.scalars(sa.select(Product.id).where(Product.company_id.in_(company_ids))))
        for company_id in company_ids:  # documents of products deleted with their company
            product_ids.update(index.company_doc_ids(company_id))
    return product_ids


def drain(index: ProductIndex | None = None, timeout: float = 5.0, batch: int = DRAIN_BATCH,
          max_batches: int | None = None, force_report: bool = False) -> DrainResult:
    """Apply every logged change past the index's cursor; return what was done.

    The first commit applies ``batch`` changes; while the log keeps filling them, later commits
    grow up to ``DRAIN_BATCH_MAX`` (or ``batch`` when larger). The replica's cursor is recorded in
    the database (and the log pruned) at most every ``REPORT_EVERY_S`` seconds per process, or
    always with ``force_report``.
    """
    index = index or get_index()
    result = DrainResult(cursor=index.cursor)
    size = batch
    _local.draining = True
    try:
        for _round in range(DRAIN_ROUNDS):
            while max_batches is None or result.batches < max_batches:
                # Lock first, then read: what is applied is never older than what is already in the index.
                with index.batch(timeout) as held, reading_only(), Session(db.engine) as session:
                    changes = session.execute(
                        sa.select(IndexChange.id, IndexChange.kind, IndexChange.object_id)
                        .where(IndexChange.id > held.cursor).order_by(IndexChange.id).limit(size)
                    ).all()
                    if not changes:
                        break
                    upserts, deletes = records_for(session, _product_ids_for(session, index, changes))
                    session.rollback()  # end the read before the (slower) index commit
                    held.apply(upserts, deletes, cursor=changes[-1][0])
                result.applied += len(changes)
                result.batches += 1
                result.cursor = changes[-1][0]
                if len(changes) == size:  # a backlog: fewer, larger commits
                    size = max(size, min(size * 4, DRAIN_BATCH_MAX))
            else:
                break  # max_batches reached
            # The lock is released: a change committed while we held it, whose own drain gave up
            # waiting, is ours to apply. Look once more, outside the lock.
            if not _has_pending(index.cursor):
                break
    except IndexBusy:
        result.busy = True  # the holder reads the log again after releasing the lock
    finally:
        _local.draining = False
    if result.applied and (force_report or time.monotonic() - _last_report.get(index.root, -1e9) >= REPORT_EVERY_S):
        try:
            _report_cursor(index)
            _last_report[index.root] = time.monotonic()
        except sa.exc.OperationalError:  # the database is busy: the next drain reports
            logger.info("could not record the index cursor now; will retry", exc_info=True)
    return result


def _report_cursor(index: ProductIndex) -> None:
    """Record this replica's cursor and prune log rows every replica has applied.

    Best effort: on SQLite it waits at most a quarter second for the write lock (a caller's own
    open write transaction, or a long import, must not stall a save); the next drain reports.
    """
    cursor = index.cursor
    name = replica_name()
    with db.engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            connection.connection.dbapi_connection.execute("PRAGMA busy_timeout=250")
        try:
            with Session(bind=connection) as session:
                replica = session.get(IndexReplica, name)
                if replica is None:
                    session.add(IndexReplica(name=name, cursor=cursor, updated_at=utcnow()))
                else:
                    replica.cursor = cursor
                    replica.updated_at = utcnow()
                session.flush()
                # replicas silent for a week are gone (a removed host must not keep the log forever)
                floor = session.scalar(sa.select(sa.func.min(IndexReplica.cursor)).where(
                    IndexReplica.updated_at >= utcnow() - timedelta(days=REPLICA_TTL_DAYS)))
                if floor:
                    session.execute(sa.delete(IndexChange).where(IndexChange.id <= floor))
                session.commit()
        finally:
            if sqlite:
                connection.rollback()
                timeout_ms = current_app.config.get("SQLITE_BUSY_TIMEOUT_MS", 15000)
                connection.connection.dbapi_connection.execute(f"PRAGMA busy_timeout={int(timeout_ms)}")


def _has_pending(cursor: int) -> bool:
    with reading_only(), Session(db.engine) as session:
        return session.scalar(sa.select(IndexChange.id).where(IndexChange.id > cursor).limit(1)) is not None


def pending_changes(index: ProductIndex | None = None) -> int:
    """Log rows this replica has not applied yet."""
    index = index or get_index()
    with reading_only(), Session(db.engine) as session:
        return session.scalar(sa.select(sa.func.count()).select_from(IndexChange).where(IndexChange.id > index.cursor))


def latest_change_id(session: Session) -> int:
    """The highest change id now in the log (0 when empty)."""
    return session.scalar(sa.select(sa.func.coalesce(sa.func.max(IndexChange.id), 0))) or 0


def run_worker(poll_seconds: float = 0.25, stop: threading.Event | None = None, timeout: float = 10.0) -> None:
    """Drain forever (``flask index worker``): the one writer of this host's replica in production."""
    index = get_index()
    logger.info("index worker draining into %s every %.2f s", index.root, poll_seconds)
    while stop is None or not stop.is_set():
        try:
            drain(index, timeout=timeout, force_report=True)
        except Exception:
            logger.exception("drain failed; retrying")
            time.sleep(2)
        time.sleep(poll_seconds)


# ----------------------------------------------------------------------------- rebuild and check


def rebuild(index: ProductIndex | None = None, progress=None) -> dict:
    """Build a new generation from the database and swap it in; changes logged meanwhile are replayed."""
    index = index or get_index()
    with reading_only(), Session(db.engine) as session:
        # the cursor is read before the products: anything logged later is replayed by the next drain
        cursor = latest_change_id(session)
        stats = index.rebuild(iter_public_records(session), cursor=cursor, progress=progress)
    drain(index)
    try:
        _report_cursor(index)
    except sa.exc.OperationalError:
        logger.info("could not record the index cursor now; the next drain will", exc_info=True)
    return stats


def expected_fingerprints() -> dict[int, str]:
    """id → fingerprint of every public product, from the database."""
    with reading_only(), Session(db.engine) as session:
        return {record.id: record.fingerprint() for record in iter_public_records(session)}


def check(index: ProductIndex | None = None) -> dict:
    """Drift between database and index (after draining what is pending)."""
    index = index or get_index()
    drain(index)
    return index.check(expected_fingerprints())


def status(index: ProductIndex | None = None) -> dict:
    """The index's status plus the change log as this replica sees it."""
    index = index or get_index()
    info = index.status()
    info["pending_changes"] = pending_changes(index)
    with reading_only(), Session(db.engine) as session:
        info["replicas"] = [
            {"name": r.name, "cursor": r.cursor, "updated_at": r.updated_at.isoformat() if r.updated_at else None}
            for r in session.scalars(sa.select(IndexReplica).order_by(IndexReplica.name))
        ]
        info["log_rows"] = session.scalar(sa.select(sa.func.count()).select_from(IndexChange))
    return info
