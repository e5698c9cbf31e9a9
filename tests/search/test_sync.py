"""Invariants of the search sync (database → change log → index), on SQLite and PostgreSQL.

Every product change made through the services is searchable right after its commit (inline
drain); a rolled-back transaction leaves nothing; change rows are written in the changing
transaction and a drain applies them once; applying twice changes nothing; a drain waits out
a held writer lock or leaves the changes for the next one; the live index answers exactly as a
rebuilt one; searches keep working while the index is rebuilt. Assertions are on what a caller
sees: search results and ``check()`` drift.
"""
from __future__ import annotations

import threading
from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session
from whoosh import index as whoosh_index

from marketplace.accounts import company_services
from marketplace.accounts.models import Role, User
from marketplace.catalog import search_kind as product_kind
from marketplace.catalog import services
from marketplace.catalog.models import CccStatus, PriceTier, Product, ProductStatus
from marketplace.catalog.rows import CertificationInput, PriceTierInput
from marketplace.database import reading_only, utcnow
from marketplace.extensions import db
from marketplace.search import sync
from marketplace.search.models import KIND_PRODUCT, IndexChange, IndexReplica
from search_index import ProductIndex, SearchQuery
from search_index.engine import _write_cursor
from tests.factories import make_company, make_product, make_user
from tests.search._workers import found, product_input, results, unique_word

CLEAN = {"missing": [], "extra": [], "stale": []}


def settle() -> None:
    """End the test's own session transaction (reading an expired attribute begins one; on SQLite it is
    a write transaction, and a drain's cursor report would wait for it)."""
    db.session.commit()


def drain(**options) -> sync.DrainResult:
    """``sync.drain`` as the worker calls it: with no transaction of this thread open."""
    settle()
    return sync.drain(**options)


def drift() -> dict:
    """``flask index check``'s answer (it drains first), without the counts."""
    settle()
    answer = sync.check()
    return {name: answer[name] for name in ("missing", "extra", "stale")}


def log_rows(**where) -> list[tuple[int, str, int]]:
    """The change log as another connection sees it (committed rows only)."""
    query = sa.select(IndexChange.id, IndexChange.kind, IndexChange.object_id).order_by(IndexChange.id)
    for name, value in where.items():
        query = query.where(getattr(IndexChange, name) == value)
    with reading_only(), Session(db.engine) as session:
        return [tuple(row) for row in session.execute(query)]


@pytest.fixture
def short_timeout_app(app_config, request):
    """Inline drain that gives up on a busy writer lock after 0.1 s."""
    app_config["SEARCH_DRAIN"] = "inline"
    app_config["SEARCH_WRITE_TIMEOUT"] = 0.1
    return request.getfixturevalue("app")


def organizer():
    """An organizer user (verifies and tags companies)."""
    return make_user(role=Role.ORGANIZER)


class HeldWriterLock:
    """Holds the index's Whoosh write lock from another thread until released (as another process would)."""

    def __init__(self, index: ProductIndex, hold_seconds: float | None = None):
        self.path = str(index.path)
        self.schema = index.schema
        self.hold_seconds = hold_seconds
        self.held = threading.Event()
        self.release = threading.Event()
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            writer = whoosh_index.open_dir(self.path, schema=self.schema).writer()
        except BaseException as error:  # noqa: BLE001 - reported by the test
            self.errors.append(error)
            self.held.set()
            return
        self.held.set()
        self.release.wait(self.hold_seconds)
        writer.cancel()

    def __enter__(self) -> HeldWriterLock:
        self.thread.start()
        assert self.held.wait(10) and not self.errors, self.errors
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()
        self.thread.join(10)


# ----------------------------------------------------------------------------- 1. services → search


def test_created_updated_published_archived_product_is_searchable_right_after_commit(inline_app):
    with inline_app.app_context():
        company = make_company()
        user = make_user(company=company)
        first, renamed, drafted = unique_word(), unique_word(), unique_word()

        product = make_product(company, actor=user, title_en=f"{first} kettle")
        assert found(first) == {product.id}

        draft = make_product(company, actor=user, publish=False, title_en=f"{drafted} kettle")
        assert found(drafted) == set()

        services.update_product(user, product, product_input(product, title_en=f"{renamed} kettle"))
        assert found(first) == set()
        assert found(renamed) == {product.id}

        services.set_products_status(user, company, [draft.id], ProductStatus.PUBLISHED)
        assert found(drafted) == {draft.id}
        assert found(company_id=company.id) == {product.id, draft.id}

        services.set_products_status(user, company, [product.id, draft.id], ProductStatus.ARCHIVED)
        assert found(renamed) == set()
        assert found(drafted) == set()
        assert found(company_id=company.id) == set()

        services.set_products_status(user, company, [product.id], ProductStatus.PUBLISHED)
        assert found(renamed) == {product.id}
        services.set_products_status(user, company, [product.id], ProductStatus.DRAFT)
        assert found(renamed) == set()
        assert drift() == CLEAN


def test_saves_inside_drain_once_are_searchable_after_its_end_with_one_drain(inline_app, monkeypatch):
    drains = []
    real_drain = sync.drain

    def counted_drain(*args, **options):
        drains.append(options)
        return real_drain(*args, **options)

    monkeypatch.setattr(sync, "drain", counted_drain)
    with inline_app.app_context():
        company = make_company()
        user = make_user(company=company)
        word = unique_word()
        with sync.drain_once():
            first = make_product(company, actor=user, title_en=f"{word} kettle")
            with sync.drain_once():  # nested: drains at the outer end
                second = make_product(company, actor=user, title_en=f"{word} teapot")
            assert found(word) == set()  # held: not applied yet
            assert drains == []
            assert first.title_en  # a read after the last save begins a transaction (SQLite: the write lock)
        assert not db.session().in_transaction()  # which the end commits before it drains (no wait for the lock)
        assert found(word) == {first.id, second.id}
        assert len(drains) == 1
        make_product(company, actor=user, title_en=f"{word} cup")  # after the block: its own drain again
        assert len(found(word)) == 3 and len(drains) == 2
        assert drift() == CLEAN


def test_price_tier_change_moves_product_in_and_out_of_price_filter(inline_app):
    with inline_app.app_context():
        company = make_company()
        user = make_user(company=company)
        word = unique_word()
        product = make_product(company, actor=user, title_en=f"{word} kettle", moq=100,
                               price_tiers=[PriceTierInput(100, 8900), PriceTierInput(1000, 8250)])
        assert found(word) == {product.id}
        assert found(word, price_max_fen=5000) == set()

        services.update_product(user, product, product_input(
            product, price_tiers=[PriceTierInput(100, 4500), PriceTierInput(1000, 4000)]))
        assert found(word, price_max_fen=5000) == {product.id}
        assert found(word, price_min_fen=6000) == set()

        # a tier row changed on its own (the product row untouched) is a change too
        tier = db.session.scalar(sa.select(PriceTier).where(PriceTier.product_id == product.id,
                                                            PriceTier.min_quantity == 100))
        tier.unit_price_fen = 9900
        db.session.commit()
        assert found(word, price_max_fen=5000) == set()
        assert found(word, price_min_fen=9000) == {product.id}

        # MOQ and certifications reach their filters the same way
        services.update_product(user, product, product_input(
            product, moq=10, price_tiers=[PriceTierInput(10, 3000)],
            certifications=[CertificationInput("CE", "CE-1", None)], ccc_status=CccStatus.HELD))
        assert found(word, price_max_fen=5000, moq_max=50) == {product.id}
        assert found(word, certification="CE") == {product.id}
        assert found(word, certification="CCC") == {product.id}
        assert drift() == CLEAN


def test_revoking_company_verification_removes_all_its_products(inline_app):
    with inline_app.app_context():
        company = make_company()
        user = make_user(company=company)
        other = make_company()
        word = unique_word()
        mine = {make_product(company, actor=user, title_en=f"{word} kettle {i}").id for i in range(3)}
        theirs = make_product(other, title_en=f"{word} kettle other").id
        assert found(word) == mine | {theirs}

        reviewer = organizer()
        company_services.reject_company(reviewer, company, "licence expired")
        assert found(word) == {theirs}
        assert found(company_id=company.id) == set()
        assert drift() == CLEAN

        company_services.verify_company(reviewer, company)
        assert found(word) == mine | {theirs}
        assert drift() == CLEAN


def test_organizer_tag_sets_the_verified_filter(inline_app):
    with inline_app.app_context():
        company = make_company()
        user = make_user(company=company)
        word = unique_word()
        ids = {make_product(company, actor=user, title_en=f"{word} kettle {i}").id for i in range(2)}
        untagged = make_product(make_company(), title_en=f"{word} kettle other").id
        assert found(word, verified=True) == set()

        reviewer = organizer()
        tag = company_services.add_company_tag(reviewer, company, {
            "tag": "specialized", "source_document": "工信部公告 2023 第 12 号", "granted_on": date(2023, 5, 1)})
        assert found(word, verified=True) == ids
        assert found(word, verified=False) == {untagged}
        facets = results(word, facets=True).facets
        assert facets["verified"] == [("1", 2)]

        company_services.remove_company_tag(reviewer, company, tag.id)
        assert found(word, verified=True) == set()
        assert found(word) == ids | {untagged}
        assert drift() == CLEAN


def test_deleted_product_is_removed(inline_app):
    with inline_app.app_context():
        company = make_company()
        user = make_user(company=company)
        word = unique_word()
        gone = make_product(company, actor=user, title_en=f"{word} kettle")
        kept = make_product(company, actor=user, title_en=f"{word} kettle two")
        assert found(word) == {gone.id, kept.id}

        db.session.delete(gone)
        db.session.commit()
        assert found(word) == {kept.id}
        assert drift() == CLEAN


# ----------------------------------------------------------------------------- 2. rollback


def test_rolled_back_transaction_leaves_no_change_row_and_nothing_in_the_index(inline_app):
    with inline_app.app_context():
        company = make_company()
        user = make_user(company=company)
        before = log_rows()
        word, other_word = unique_word(), unique_word()

        product = Product(company=company, sku="ROLLBACK-1", title_zh="回滚电水壶", title_en=f"{word} kettle",
                          category="small_appliances", unit="台", moq=1, status=ProductStatus.PUBLISHED,
                          published_at=utcnow())
        product.price_tiers = [PriceTier(min_quantity=1, unit_price_fen=100)]
        db.session.add(product)
        db.session.flush()
        product_id = product.id
        # the row is there inside the transaction...
        inside = db.session.scalars(sa.select(IndexChange.object_id).where(IndexChange.kind == KIND_PRODUCT)).all()
        assert product_id in inside
        db.session.rollback()

        # ...and gone with it
        assert log_rows() == before
        assert found(word) == set()
        assert drain().applied == 0
        assert found(word) == set()
        assert drift() == CLEAN

        # a rolled-back edit of a public product leaves its document as it was
        kept = make_product(company, actor=user, title_en=f"{word} kettle")
        before = log_rows()
        kept.title_en = f"{other_word} kettle"
        kept.price_tiers[0].unit_price_fen = 1
        db.session.flush()
        db.session.rollback()
        assert log_rows() == before
        make_product(company, actor=user)  # another commit, another inline drain
        assert found(word) == {kept.id}
        assert found(other_word) == set()
        assert found(word, price_max_fen=100) == set()
        assert drift() == CLEAN


# ----------------------------------------------------------------------------- 3. same transaction, then drain


def test_change_rows_commit_with_the_change_and_a_drain_applies_them_once(worker_app):
    with worker_app.app_context():
        index = sync.get_index()
        company = make_company()
        user = make_user(company=company)
        start = index.cursor
        word, service_word = unique_word(), unique_word()

        product = Product(company=company, sku="TX-1", title_zh="事务电水壶", title_en=f"{word} kettle",
                          category="small_appliances", unit="台", moq=1, status=ProductStatus.PUBLISHED,
                          published_at=utcnow())
        product.price_tiers = [PriceTier(min_quantity=1, unit_price_fen=100)]
        db.session.add(product)
        db.session.flush()
        product_id = product.id
        # written, but not visible to another connection before the commit
        assert log_rows(kind=KIND_PRODUCT, object_id=product_id) == []
        db.session.commit()
        assert len(log_rows(kind=KIND_PRODUCT, object_id=product_id)) == 1

        made_id = make_product(company, actor=user, title_en=f"{service_word} kettle").id
        assert len(log_rows(kind=KIND_PRODUCT, object_id=made_id)) == 1
        # worker mode: the commits did not touch the index
        assert found(word) == set()
        assert found(service_word) == set()
        assert index.cursor == start
        logged = log_rows()
        assert sync.pending_changes() == len(logged) >= 2

        first = drain()
        assert first.applied == len(logged)
        assert not first.busy
        assert found(word) == {product_id}
        assert found(service_word) == {made_id}
        assert index.cursor == first.cursor == logged[-1][0] > start

        second = drain()
        assert second.applied == 0
        assert index.cursor == logged[-1][0]
        assert sync.status()["pending_changes"] == 0
        assert drift() == CLEAN


class FlushSetReads:
    """Counts, during a flush, the reads of ``session.new`` / ``dirty`` / ``deleted`` and the objects each
    read puts in the set it builds (the flush hook's work, counted instead of timed)."""

    def __init__(self, monkeypatch):
        self.reads = self.objects = 0
        self.on = False
        for name in ("new", "dirty", "deleted"):
            original = getattr(Session, name)
            monkeypatch.setattr(Session, name, property(self._counting(original.fget)))

    def _counting(self, read):
        def counted(session):
            objects = read(session)
            if self.on:
                self.reads += 1
                self.objects += len(objects)
            return objects
        return counted

    def flush(self) -> tuple[int, int]:
        """Flush the app's session; (reads, objects) it took."""
        self.reads = self.objects = 0
        self.on = True
        try:
            db.session.flush()
        finally:
            self.on = False
        return self.reads, self.objects


def _flush_work(counter: FlushSetReads, count: int) -> dict[str, tuple[int, int]]:
    """(reads, objects) of one flush creating ``count`` products with two price breaks, and of one updating them."""
    company = make_company()
    products = []
    for number in range(count):
        product = Product(company=company, sku=f"FL-{count}-{number}", title_zh=f"批量电水壶{number}",
                          category="small_appliances", unit="台", moq=1)
        product.price_tiers = [PriceTier(min_quantity=1, unit_price_fen=200), PriceTier(min_quantity=10,
                                                                                         unit_price_fen=150)]
        products.append(product)
    db.session.add_all(products)
    work = {"create": counter.flush()}
    db.session.commit()
    for product in products:
        product.title_zh += "（新款）"
        product.price_tiers[0].unit_price_fen = 190
    work["update"] = counter.flush()
    db.session.commit()
    logged = {object_id for _id, _kind, object_id in log_rows(kind=KIND_PRODUCT)}
    assert {product.id for product in products} <= logged  # every product of both flushes was logged
    return work


def test_flush_hook_work_grows_linearly_with_the_objects_flushed(worker_app, monkeypatch):
    """A flush of 10× the products costs the change-log hook 10× the work, not 100× (a 10,000-row
    re-import took four minutes when the hook read ``session.dirty`` once per object)."""
    with worker_app.app_context():
        counter = FlushSetReads(monkeypatch)
        small, large = _flush_work(counter, 100), _flush_work(counter, 1000)
        for step in ("create", "update"):
            (small_reads, small_objects), (large_reads, large_objects) = small[step], large[step]
            assert large_reads == small_reads <= 3, (step, small, large)  # each set read once per flush
            # the sets hold the flushed objects (products, tiers, the company): linear in them
            assert large_objects <= 11 * small_objects, (step, small, large)


def test_a_backlog_is_drained_in_growing_commits(worker_app):
    """200 logged changes with a first batch of 10: a few commits (10, 40, 150), not twenty (each Whoosh
    commit merges the small segments again: a 10,000-row import's drain spent a quarter of its time so)."""
    with worker_app.app_context():
        company = make_company()
        user = make_user(company=company)
        word = unique_word()
        ids = [make_product(company, actor=user, title_en=f"{word} kettle {n}").id for n in range(3)]
        drain()
        db.session.execute(sa.insert(IndexChange), [
            {"kind": KIND_PRODUCT, "object_id": ids[n % 3], "created_at": utcnow()} for n in range(200)])
        db.session.commit()
        result = drain(batch=10)
        assert (result.applied, result.batches) == (200, 3)
        assert sync.pending_changes() == 0
        assert found(word) == set(ids)
        assert drift() == CLEAN


def test_a_drain_until_a_change_leaves_later_ones_for_the_next_round(worker_app):
    """The worker's rounds stop each kind at the log's end as read when the round began: a steady stream of
    product changes cannot keep the requests index waiting."""
    with worker_app.app_context():
        company = make_company()
        user = make_user(company=company)
        early, late = unique_word(), unique_word()
        early_id = make_product(company, actor=user, title_en=f"{early} kettle").id
        with reading_only(), Session(db.engine) as session:
            until = sync.latest_change_id(session)
        late_id = make_product(company, actor=user, title_en=f"{late} kettle").id
        result = sync.drain(until=until)
        assert result.cursor == until
        assert found(early) == {early_id} and found(late) == set()
        assert sync.get_index("requests").cursor == until  # every kind reached the same point
        assert sync.pending_changes() > 0
        sync.drain()
        assert found(late) == {late_id}
        assert sync.pending_changes() == 0


def test_reading_a_batch_looks_at_each_record_once(worker_app, monkeypatch):
    """records_for() sorts the batch into records and deletes in one pass (it built the set of record ids
    once per wanted id: a drain of 10,000 changes spent a fifth of its time there)."""
    reads = 0

    class Counted:
        def __init__(self, product_id):
            self._id = product_id

        @property
        def id(self):
            nonlocal reads
            reads += 1
            return self._id

    with worker_app.app_context():
        company = make_company()
        user = make_user(company=company)
        ids = [make_product(company, actor=user).id for _n in range(30)]
        gone = [max(ids) + n for n in range(1, 11)]
        monkeypatch.setattr(product_kind, "product_record", lambda product, **_options: Counted(product.id))
        with reading_only(), Session(db.engine) as session:
            records, deletes = product_kind.records_for(session, ids + gone)
        assert sorted(record._id for record in records) == ids
        assert deletes == gone
        assert reads <= 2 * len(ids)  # was one read per record per wanted id (1,200 here)


# ----------------------------------------------------------------------------- 4. idempotence


QUERIES = [
    {"text": ""}, {"text": "kettle"}, {"text": "电饭煲"}, {"text": "", "sort": "price_asc"},
    {"text": "kettle", "price_max_fen": 5000}, {"text": "", "category": "kitchenware"},
    {"text": "", "verified": True}, {"text": "", "certification": "CE"},
]


def answers(queries=QUERIES) -> list[tuple]:
    """What each query returns: total, ids in order, facets."""
    out = []
    for query in queries:
        query = dict(query)
        answer = results(query.pop("text"), sort=query.pop("sort", "relevance"), page=query.pop("page", 1),
                         per_page=query.pop("per_page", 100), facets=True, **query)
        out.append((answer.total, [hit.id for hit in answer.hits], answer.facets))
    return out


def _mixed_products(count: int = 8) -> list[int]:
    company = make_company()
    user = make_user(company=company)
    ids = []
    for i in range(count):
        product = make_product(company, actor=user, title_en=f"{unique_word()} kettle {i}",
                               category="kitchenware" if i % 2 else "small_appliances",
                               price_tiers=[PriceTierInput(100, 3000 + 1000 * i)],
                               certifications=[CertificationInput("CE")] if i % 3 == 0 else [])
        ids.append(product.id)
    services.set_products_status(user, company, ids[:2], ProductStatus.ARCHIVED)
    last = db.session.get(Product, ids[-1])
    services.update_product(user, last, product_input(last, title_zh="智能电饭煲 大容量"))
    return ids


def test_applying_the_same_batch_twice_leaves_the_same_index(inline_app):
    with inline_app.app_context():
        ids = _mixed_products()
        index = sync.get_index()
        stored, before = index.stored(), answers()
        assert stored and before[0][0] == len(ids) - 2

        with reading_only(), Session(db.engine) as session:
            upserts, deletes = product_kind.records_for(session, ids)
        assert deletes  # the archived ones
        for _ in range(2):
            assert index.apply(upserts, deletes, cursor=index.cursor)
            assert index.stored() == stored
            assert answers() == before
        assert drift() == CLEAN


def test_replaying_the_log_from_an_old_cursor_leaves_the_same_index(inline_app):
    with inline_app.app_context():
        # a replica that never reports keeps every log row (nothing is pruned behind it)
        db.session.add(IndexReplica(name="pinned:replica", cursor=0, updated_at=utcnow()))
        db.session.commit()
        ids = _mixed_products()
        index = sync.get_index()
        stored, before, cursor = index.stored(), answers(), index.cursor
        assert len(stored) == len(ids) - 2
        logged = len(log_rows())
        assert logged > len(ids)

        for _ in range(2):
            _write_cursor(index.path, 0)  # as if the last commits' cursor writes were lost
            assert sync.pending_changes() == logged
            replay = drain()
            assert replay.applied == logged
            assert index.cursor == cursor
            assert index.stored() == stored
            assert answers() == before
        assert drift() == CLEAN


# ----------------------------------------------------------------------------- 5. the writer lock


def test_drain_waits_out_a_briefly_held_writer_lock(worker_app):
    with worker_app.app_context():
        index = sync.get_index()
        word = unique_word()
        product = make_product(title_en=f"{word} kettle")
        assert found(word) == set()
        with HeldWriterLock(index, hold_seconds=0.5):
            assert index.is_locked()
            result = drain(timeout=5)
        assert not result.busy
        assert result.applied >= 1
        assert found(word) == {product.id}
        assert sync.pending_changes() == 0
        assert drift() == CLEAN


def test_drain_with_the_lock_busy_leaves_the_change_for_the_next_drain(worker_app):
    with worker_app.app_context():
        index = sync.get_index()
        word = unique_word()
        product = make_product(title_en=f"{word} kettle")
        cursor = index.cursor
        with HeldWriterLock(index):
            result = drain(timeout=0.1, kind="products")  # the product index's lock is held
            assert result.busy
            assert result.applied == 0
            assert sync.pending_changes() >= 1
            assert index.cursor == cursor
            assert found(word) == set()
        after = drain(timeout=5)
        assert not after.busy and after.applied >= 1
        assert found(word) == {product.id}
        assert drift() == CLEAN


def test_commit_while_the_lock_is_busy_stands_and_the_next_drain_applies_it(short_timeout_app):
    with short_timeout_app.app_context():
        index = sync.get_index()
        company = make_company()
        user = make_user(company=company)
        word, later_word = unique_word(), unique_word()
        with HeldWriterLock(index):
            product = make_product(company, actor=user, title_en=f"{word} kettle")  # its inline drain gives up
            assert db.session.get(Product, product.id) is not None
            assert found(word) == set()
            assert sync.pending_changes() >= 1
        later = make_product(company, actor=user, title_en=f"{later_word} kettle")  # this drain takes both
        assert found(word) == {product.id}
        assert found(later_word) == {later.id}
        assert sync.pending_changes() == 0
        assert drift() == CLEAN


# ----------------------------------------------------------------------------- 6. live equals rebuild


LIVE_QUERIES = [
    {"text": "", "sort": "newest"}, {"text": "电饭煲"}, {"text": "kettle"}, {"text": "保温杯", "price_max_fen": 6000},
    {"text": "", "category": "kitchenware"}, {"text": "", "province": "330000"}, {"text": "", "certification": "CCC"},
    {"text": "", "verified": True}, {"text": "", "sort": "price_asc"}, {"text": "", "sort": "price_desc"},
    {"text": "电饭煲 kettle"}, {"text": "", "sort": "newest", "page": 2, "per_page": 7},
    {"text": "kettle", "moq_max": 200, "sort": "price_asc"},
]


def _build_catalog() -> None:
    """About 30 products of three companies, with edits, status changes and deletes."""
    reviewer = organizer()
    shenzhen = make_company()
    ningbo = make_company(province_code="330000", city_code="330200")
    company_services.add_company_tag(reviewer, ningbo, {
        "tag": "little_giant", "source_document": "浙江省经信厅公告", "granted_on": date(2022, 3, 1)})
    pending = make_company(verified=False)
    kinds = [("智能电饭煲", "rice cooker kettle", "small_appliances"), ("不锈钢保温杯", "vacuum flask", "kitchenware"),
             ("电热水壶", "electric kettle", "small_appliances"), ("LED 台灯", "desk lamp", "lighting")]
    made: list[Product] = []
    for i in range(30):
        company = (shenzhen, ningbo, pending)[i % 3]
        title_zh, title_en, category = kinds[i % len(kinds)]
        moq = (50, 100, 500)[i % 3]
        made.append(make_product(
            company, title_zh=f"{title_zh} {i}型", title_en=f"{title_en} model {i}", category=category, moq=moq,
            price_tiers=[PriceTierInput(moq, 2000 + 350 * i), PriceTierInput(moq * 10, 1800 + 300 * i)],
            ccc_status=CccStatus.HELD if i % 4 == 0 else CccStatus.MISSING,
            certifications=[CertificationInput("CE", f"CE-{i}")] if i % 5 == 0 else [],
            publish=i % 7 != 6))
    ids = [p.id for p in made]
    for i in (1, 4, 10, 16, 22):  # edits: titles and prices
        product = db.session.get(Product, ids[i])
        user = product.company.users[0]
        services.update_product(user, product, product_input(
            product, title_zh=f"加厚电饭煲 {i}", price_tiers=[PriceTierInput(product.moq, 900 + i)]))
    for i in (3, 9):  # archived
        product = db.session.get(Product, ids[i])
        services.set_products_status(product.company.users[0], product.company, [product.id], ProductStatus.ARCHIVED)
    product = db.session.get(Product, ids[6])  # a draft, published later
    services.set_products_status(product.company.users[0], product.company, [product.id], ProductStatus.PUBLISHED)
    for i in (7, 12):  # deleted
        db.session.delete(db.session.get(Product, ids[i]))
        db.session.commit()
    company_services.verify_company(reviewer, pending)  # its products become public at once
    product = db.session.get(Product, ids[14])  # back to draft
    services.set_products_status(product.company.users[0], product.company, [product.id], ProductStatus.DRAFT)


def test_live_index_answers_like_a_rebuilt_one(inline_app):
    with inline_app.app_context():
        _build_catalog()
        index = sync.get_index()
        stored, live = index.stored(), answers(LIVE_QUERIES)
        assert len(stored) == 30 - 2 - 2 - 3 - 1  # deleted, archived, drafts (6 was published), back to draft
        assert all(total for total, _ids, _facets in live)

        settle()
        stats = sync.rebuild()
        assert stats["docs"] == len(stored)
        assert index.stored() == stored
        rebuilt = answers(LIVE_QUERIES)
        differ = [(query, before, after) for query, before, after in zip(LIVE_QUERIES, live, rebuilt, strict=True)
                  if after != before]
        assert not differ, "\n".join(f"{q}: live {b[:2]} rebuilt {a[:2]}" for q, b, a in differ)
        assert drift() == CLEAN


# ----------------------------------------------------------------------------- 7. rebuild while searching


def test_searches_during_rebuild_never_fail_and_always_answer(inline_app):
    with inline_app.app_context():
        company = make_company()
        user = make_user(company=company)
        expected = {make_product(company, actor=user, title_zh=f"智能电饭煲 {i}型").id for i in range(20)}
        root = sync.index_root(inline_app)
        assert found("电饭煲") == expected

    stop = threading.Event()
    started = threading.Barrier(3)
    outcomes: list[tuple[str, object]] = []
    lock = threading.Lock()

    def search_loop(name: str, index: ProductIndex) -> None:
        started.wait()
        while not stop.is_set():
            for query in (SearchQuery(text="电饭煲", per_page=50), SearchQuery(per_page=50, facets=True)):
                try:
                    answer = index.search(query)
                    outcome = {hit.id for hit in answer.hits}
                except Exception as error:  # noqa: BLE001 - any exception is the failure under test
                    outcome = error
                with lock:
                    outcomes.append((name, outcome))

    with inline_app.app_context():
        own = sync.get_index()  # the app's index object, which rebuild swaps
        other = ProductIndex(root)  # another process's view of the same directory
        threads = [threading.Thread(target=search_loop, args=(name, ix), daemon=True)
                   for name, ix in (("same index", own), ("other index", other))]
        for thread in threads:
            thread.start()
        started.wait()
        settle()
        for _ in range(3):
            sync.rebuild()
        stop.set()
        for thread in threads:
            thread.join(30)
        assert drift() == CLEAN

    errors = [(name, repr(o)) for name, o in outcomes if isinstance(o, Exception)]
    assert not errors, errors[:5]
    assert {name for name, _ in outcomes} == {"same index", "other index"}
    wrong = [(name, sorted(o)) for name, o in outcomes if o != expected]
    assert not wrong, wrong[:5]


# ----------------------------------------------------------------------------- two drains overlapping


@pytest.mark.parametrize("second_change", ["edit", "delete"])
def test_a_drain_that_read_earlier_does_not_undo_a_newer_drain(worker_app, monkeypatch, second_change):
    """Two drains (two processes) overlap: A reads a product, the product changes, B drains, then A writes.

    The index must end up with the newer state (what ``check()`` expects) — A's pause between reading
    and writing stands for a process descheduled or waiting for the writer lock. (Before the change
    lock spanned read and write, B applied the newer state and A then wrote the older one over it.)
    """
    with worker_app.app_context():
        company = make_company()
        user = make_user(company=company)
        old_word, first_word, second_word = unique_word(), unique_word(), unique_word()
        product = make_product(company, actor=user, title_en=f"{old_word} kettle")
        product_id, user_id = product.id, user.id
        drain()
        assert found(old_word) == {product_id}
        services.update_product(user, product, product_input(product, title_en=f"{first_word} kettle"))

    read, go = threading.Event(), threading.Event()
    records_for = product_kind.records_for

    def records_then_pause(session, product_ids):
        answer = records_for(session, product_ids)
        if threading.current_thread().name == "drain A":
            read.set()
            assert go.wait(30)
        return answer

    monkeypatch.setattr(product_kind, "records_for", records_then_pause)
    outcome: list = []

    def drain_a() -> None:
        with worker_app.app_context():
            try:
                outcome.append(sync.drain(timeout=10, kind="products"))
            except BaseException as error:  # noqa: BLE001 - reported below
                outcome.append(error)

    first = threading.Thread(target=drain_a, name="drain A", daemon=True)
    first.start()
    try:
        assert read.wait(30)  # A holds the first edit's state
        with worker_app.app_context():
            product, user = db.session.get(Product, product_id), db.session.get(User, user_id)
            if second_change == "edit":
                services.update_product(user, product, product_input(product, title_en=f"{second_word} kettle"))
            else:
                db.session.delete(product)
                db.session.commit()
            # B cannot apply the newer state while A holds the change lock between its read and its
            # write: it reports busy and leaves the change in the log
            b = drain(timeout=0.2, kind="products")
            assert b.busy and b.applied == 0
    finally:
        go.set()
        first.join(30)
    assert outcome and not isinstance(outcome[0], BaseException), outcome

    with worker_app.app_context():
        drain()  # the next drain applies the newer state
        assert sync.pending_changes() == 0
        assert found(first_word) == set()
        assert found(second_word) == ({product_id} if second_change == "edit" else set())
        assert drift() == CLEAN
