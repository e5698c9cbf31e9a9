"""``kill -9`` of the index/schedule worker, twenty times, during a catalog import and edits.

The test process writes as the web processes do in production (``SEARCH_DRAIN=worker``: commits only
log changes): spreadsheet imports through ``catalog.imports.jobs.analyse_file`` and
``catalog.services.import_products``, product edits and status changes, procurement requests edited,
closed and posted through ``sourcing.services``. Meanwhile the real ``flask index worker`` (periodic
jobs included, forked by ``_children.py``'s zygote) is started and SIGKILLed twenty times: every other
one at a random moment 0.1–0.3 s into its life (most often in the middle of its first batch), the
others 0–0.1 s after their first commit (between two batches, or in the matches' catch-up, whose
transaction dies with them). Then it is started once more, left to catch up, stopped (SIGTERM), and
``flask index worker --once`` finds nothing left. Without any rebuild (each index is still the
generation it started as):

- each index (products, requests) equals the database: nothing pending, no document missing, extra
  or stale (``SearchIndex.check`` against ``sync.expected_fingerprints``, the check behind
  ``flask index check``);
- the ``matches`` table equals a recompute from scratch (``flask match recompute --all``'s
  ``recompute_everything``, each request keeping its keywords, as ``tests/test_matching.py`` compares).

PostgreSQL only: the same run on SQLite took as long again (23 s), more than CI's budget allows.
"""
from __future__ import annotations

import csv
import io
import json
import os
import random
import secrets
import threading
import time

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from marketplace.accounts.models import Company, CompanyKind, User
from marketplace.catalog import services as catalog
from marketplace.catalog.imports import jobs as catalog_imports
from marketplace.catalog.models import Product, ProductStatus
from marketplace.catalog.rows import PriceTierInput
from marketplace.database import reading_only
from marketplace.extensions import db
from marketplace.matching import sync as matching_sync
from marketplace.matching.models import Match
from marketplace.search import sync
from marketplace.sourcing import services as sourcing
from marketplace.sourcing.models import ProcurementRequest
from marketplace.sourcing.states import RequestState
from tests.factories import make_company, make_user
from tests.faults.conftest import wait_until
from tests.search._requests import request_input
from tests.search._workers import product_input

pytestmark = pytest.mark.slow

KILLS = 20
#: every other worker lives this long (seconds, uniformly drawn) before its SIGKILL; the others are killed
#: 0–0.1 s after their first commit
LIFETIME = (0.1, 0.3)
KINDS = ("products", "requests")
HEADER = ["货号", "产品名称", "类目", "单位", "起订量", "阶梯价"]
GOODS = ["不锈钢保温杯", "智能电饭煲", "铸铁炒锅", "空气炸锅", "电热水壶", "陶瓷茶具"]
NEEDS = ["采购不锈钢保温杯 500ml", "求购智能电饭煲", "采购空气炸锅 大容量", "电热水壶 采购", "铸铁炒锅 采购",
         "采购陶瓷茶具 礼盒"]
#: rows of each exporter's first import; each later import updates ``UPDATED`` of its rows and adds ``ADDED``
#: (the matches' catch-up costs ~30 ms a product on this machine: the products touched are kept few)
FIRST_IMPORT = 40
UPDATED = 20
ADDED = 5
#: upper bound on the mutator's rounds (it stops when the kills are done), and its pause between two
MAX_ROUNDS = 400
PAUSE = 0.1


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def _import(user, company, prefix: str, numbers, rng: random.Random) -> None:
    """Import rows of SKUs ``prefix-N`` for N in ``numbers``: new ones are created, known ones updated; published."""
    rows = []
    for i in numbers:
        moq = rng.choice([10, 100, 500, 3000])
        price = rng.randint(1500, 20000)
        rows.append([f"{prefix}-{i}", f"{GOODS[i % len(GOODS)]} {rng.choice(['家用', '商用', '礼品', '出口'])} {i}",
                     "小家电", "台", str(moq), f"{moq}:{price / 100:.2f}; {moq * 10}:{price * 0.9 / 100:.2f}"])
    analysis = catalog_imports.analyse_file(company, f"{prefix}.csv", _csv(rows))
    assert not analysis.result.has_errors, [problem.describe() for problem in analysis.problems[:5]]
    catalog.import_products(user, company, analysis.result, publish=True)


class Mutator(threading.Thread):
    """The web side: imports and edits through the services, until told to stop (in its own app context)."""

    def __init__(self, app, world: dict, seed: int):
        super().__init__(name="mutator", daemon=True)
        self.app = app
        self.world = world
        self.rng = random.Random(seed)
        self.stop = threading.Event()
        self.rounds = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with self.app.app_context():
                while not self.stop.is_set() and self.rounds < MAX_ROUNDS:
                    self._round(self.rounds)
                    db.session.remove()
                    self.rounds += 1
                    self.stop.wait(PAUSE)
        except BaseException as error:  # noqa: BLE001 - reported by the test
            self.error = error

    def _exporter(self):
        company_id, user_id = self.rng.choice(self.world["exporters"])
        return db.session.get(User, user_id), db.session.get(Company, company_id)

    def _round(self, number: int) -> None:
        rng = self.rng
        step = number % 6
        if step == 0:  # a spreadsheet: updates of known SKUs and a few new ones
            user, company = self._exporter()
            known = rng.sample(range(FIRST_IMPORT), UPDATED)
            _import(user, company, f"C{company.id}", known + [FIRST_IMPORT + number * ADDED + i for i in range(ADDED)],
                    rng)
        elif step == 1:  # product edits: new titles and prices
            user, company = self._exporter()
            ids = db.session.scalars(sa.select(Product.id).where(Product.company_id == company.id)).all()
            for product_id in rng.sample(ids, min(4, len(ids))):
                product = db.session.get(Product, product_id)
                moq = product.moq
                catalog.update_product(user, product, product_input(
                    product, title_zh=f"{rng.choice(GOODS)} 新款 {number}",
                    price_tiers=[PriceTierInput(moq, rng.randint(1500, 20000))]))
        elif step == 2:  # archive some, publish some archived again
            user, company = self._exporter()
            published = db.session.scalars(sa.select(Product.id).where(
                Product.company_id == company.id, Product.status == ProductStatus.PUBLISHED)).all()
            archived = db.session.scalars(sa.select(Product.id).where(
                Product.company_id == company.id, Product.status == ProductStatus.ARCHIVED)).all()
            if published:
                catalog.set_products_status(user, company, rng.sample(published, min(6, len(published))),
                                            ProductStatus.ARCHIVED)
            if archived:
                catalog.set_products_status(user, company, rng.sample(archived, min(4, len(archived))),
                                            ProductStatus.PUBLISHED)
        elif step in (3, 5):  # a request edited: quantity and title words
            self._edit_request(number)
        elif step == 4:  # a request closed, a new one posted
            buyer = self._buyer()
            open_ids = self._open_requests()
            if len(open_ids) > 3:
                victim = db.session.get(ProcurementRequest, rng.choice(open_ids))
                sourcing.close_request(buyer, victim.id, victim.version, "")
            _post(buyer, rng.choice(NEEDS) + f" {number}", rng)

    def _buyer(self):
        return db.session.get(User, self.world["buyer_user"])

    def _open_requests(self) -> list[int]:
        return db.session.scalars(sa.select(ProcurementRequest.id).where(
            ProcurementRequest.buyer_company_id == self.world["buyer"],
            ProcurementRequest.state == RequestState.OPEN)).all()

    def _edit_request(self, number: int) -> None:
        open_ids = self._open_requests()
        if not open_ids:
            return
        request = db.session.get(ProcurementRequest, self.rng.choice(open_ids))
        sourcing.update_request(self._buyer(), request.id, request_input(
            title=f"{self.rng.choice(NEEDS)} {number}", quantity=self.rng.choice([100, 1000, 5000]),
            required_certifications=()), request.version)


def _post(buyer, title: str, rng: random.Random) -> int:
    request, _created = sourcing.create_request(buyer, request_input(
        title=title, quantity=rng.choice([100, 1000, 5000]), required_certifications=()), secrets.token_urlsafe(24))
    return sourcing.publish_request(buyer, request.id, request.version).id


def _cursors() -> tuple[int, int, int]:
    """The products and requests indexes' cursors and the matches' (what the workers have committed)."""
    return (*(sync.get_index(kind).cursor for kind in KINDS), matching_sync.cursor())


def _latest_change() -> int:
    with reading_only(), Session(db.engine) as session:
        return sync.latest_change_id(session)


def _difference(materialized: list[tuple], recomputed: list[tuple]) -> str:
    """What differs, with what the next reader needs to tell which side is wrong: each pair's rows, the product
    and request as the database holds them now, the request's profile, the change log rows naming them and
    where the cursors are, and the pair scored from the database (``explain_pair``)."""
    from marketplace.matching import services as matching
    from marketplace.matching.models import MatchProfile
    from marketplace.matching.profiles import Profile
    from marketplace.search.models import KIND_PRODUCT, KIND_REQUEST, IndexChange, IndexReplica

    only_materialized = sorted(set(materialized) - set(recomputed))
    only_recomputed = sorted(set(recomputed) - set(materialized))
    lines = [f"only materialized: {only_materialized[:5]}", f"only recomputed: {only_recomputed[:5]}"]
    with reading_only(), Session(db.engine) as session:
        cursors = {row.name: row.cursor for row in session.scalars(sa.select(IndexReplica))}
        lines.append(f"cursors: {cursors}; latest change {sync.latest_change_id(session)}")
        # anything else still connected (a process left over from another test would write here too)
        others = session.execute(sa.text(
            "SELECT pid, application_name, state, backend_start, query FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()")).all()
        lines.append(f"test pid {os.getpid()}; connections: " + "; ".join(
            f"{row.pid} {row.application_name!r} {row.state} since {row.backend_start:%H:%M:%S} {row.query[:60]!r}"
            for row in others))
        for request_id, product_id in sorted({row[:2] for row in only_materialized + only_recomputed})[:6]:
            product = session.get(Product, product_id)
            request = session.get(ProcurementRequest, request_id)
            profile = session.get(MatchProfile, request_id)
            changes = session.execute(sa.select(IndexChange.id, IndexChange.kind, IndexChange.object_id)
                                      .where(sa.or_(sa.and_(IndexChange.kind == KIND_PRODUCT,
                                                            IndexChange.object_id == product_id),
                                                    sa.and_(IndexChange.kind == KIND_REQUEST,
                                                            IndexChange.object_id == request_id)))
                                      .order_by(IndexChange.id.desc()).limit(8)).all()
            match = session.scalar(sa.select(Match).where(Match.request_id == request_id,
                                                          Match.product_id == product_id))
            explained = matching.explain_pair(session, request, product)
            lines.append(
                f"pair ({request_id}, {product_id}): product status={product.status} title={product.title_zh!r} "
                f"moq={product.moq} tiers={[(t.min_quantity, t.unit_price_fen) for t in product.price_tiers]} "
                f"updated={product.updated_at}; request state={request.state} title={request.title!r} "
                f"quantity={request.quantity} version={request.version}; profile stamp="
                f"{profile.stamp if profile else None} at {profile.computed_at if profile else None} keywords="
                f"{[k.text for k in Profile.from_json(profile.keywords).keywords] if profile else None}; "
                f"row {(match.score_x10, match.gaps, match.computed_at, match.generation) if match else None}; "
                f"from the database now: {(explained.fit.score, explained.fit.gaps) if explained.fit else None} "
                f"why not {explained.why_not}; latest changes {[tuple(c) for c in changes]}")
    return "\n".join(lines)


def _match_rows() -> list[tuple]:
    with reading_only(), Session(db.engine) as session:
        return sorted((m.request_id, m.product_id, m.score_x10, json.dumps(m.gaps, sort_keys=True))
                      for m in session.scalars(sa.select(Match)))


def _world(rng: random.Random) -> dict:
    buyer = make_company(kind=CompanyKind.CHAIN_LEADER, province_code="330000", city_code="330200")
    buyer_user = make_user(company=buyer)
    exporters = []
    for province, city in (("330000", "330200"), ("440000", "440300")):
        company = make_company(kind=CompanyKind.EXPORTER, province_code=province, city_code=city)
        exporters.append((company.id, make_user(company=company).id))
    world = {"buyer": buyer.id, "buyer_user": buyer_user.id, "exporters": exporters}
    for title in NEEDS:
        _post(buyer_user, title, rng)
    db.session.remove()
    return world


@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)
def test_worker_killed_20_times_during_an_import_and_edits_catches_up_without_a_rebuild(worker_app, zygote):
    rng = random.Random(14)
    started = time.monotonic()
    with worker_app.app_context():
        world = _world(rng)
        for company_id, user_id in world["exporters"]:
            _import(db.session.get(User, user_id), db.session.get(Company, company_id), f"C{company_id}",
                    range(FIRST_IMPORT), rng)
        db.session.remove()
        generations = {kind: sync.get_index(kind).path for kind in KINDS}

        mutator = Mutator(worker_app, world, seed=41)
        mutator.start()
        kills = []
        try:
            for number in range(KILLS):
                before = _cursors()
                child = zygote.start("index", "worker", "--poll", "0.1")
                if number % 2:  # after it committed something: killed between batches, or in the matches' catch-up
                    def moved(before=before, child=child) -> bool:
                        return _cursors() != before or zygote.wait(child, 0) is not None

                    wait_until(moved, 30, "the worker to apply a batch")
                    time.sleep(rng.uniform(0, 0.1))
                else:  # at a random moment, most often in the middle of its first batch
                    time.sleep(rng.uniform(*LIFETIME))
                at_kill = _cursors()
                behind = _latest_change() - min(at_kill[:2])
                status = zygote.kill(child)
                assert status == -9, f"the worker ended by itself (status {status}):\n{child.output()[-4000:]}"
                kills.append((behind, at_kill != before))
        finally:
            mutator.stop.set()
            mutator.join(timeout=120)
        assert not mutator.is_alive(), "the imports and edits did not stop within 2 minutes"
        if mutator.error is not None:
            raise mutator.error
        # the kills landed while there was work to do, and the workers did some of it between two kills
        assert sum(1 for behind, _moved in kills if behind > 0) >= KILLS // 4, kills
        assert sum(1 for _behind, moved in kills if moved) >= KILLS // 2, kills

        # restart: the worker catches up by itself (indexes, then the matches)
        target = _latest_change()
        child = zygote.start("index", "worker", "--poll", "0.1")
        wait_until(lambda: (all(sync.get_index(kind).cursor >= target for kind in KINDS)
                            and matching_sync.cursor() >= target) or zygote.wait(child, 0) is not None,
                   90, "the restarted worker to catch up")
        assert zygote.stop(child) == 0, child.output()[-4000:]
        once = zygote.start("index", "worker", "--once")
        assert zygote.wait(once, 60) == 0, once.output()[-4000:]
        assert "applied 0 changes" in once.output(), once.output()[-2000:]

        # no rebuild: each index is the generation it started as
        assert {kind: sync.get_index(kind).path for kind in KINDS} == generations
        for kind in KINDS:
            index = sync.get_index(kind)
            assert sync.pending_changes(index) == 0, kind
            drift = index.check(sync.expected_fingerprints(kind))
            assert drift["expected"] > 0, kind
            assert {part: drift[part] for part in ("missing", "extra", "stale")} == \
                {"missing": [], "extra": [], "stale": []}, (kind, drift)

        check = zygote.start("index", "check")  # the operator's command agrees
        assert zygote.wait(check, 60) == 0 and "in step" in check.output(), check.output()[-4000:]

        # the matches equal a recompute of every request from its side, with the keywords each has (a refresh
        # would choose them again against today's index: `flask match recompute --all`, not what is tested)
        materialized = _match_rows()
        matching_sync.recompute_everything(refresh=False)
        assert materialized, "no match at all: the test data should make some"
        recomputed = _match_rows()
        assert recomputed == materialized, _difference(materialized, recomputed)
        products = db.session.scalar(sa.select(sa.func.count()).select_from(Product))
        print(f"\nkills={len(kills)} (changes behind at each, and whether the worker had committed: {kills}); "
              f"mutator rounds={mutator.rounds} products={products} matches={len(materialized)} "
              f"in {time.monotonic() - started:.1f} s")
