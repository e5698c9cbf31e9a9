"""The request index kind: only open, public requests are in it, fed by the same change log, cursor,
drain, rebuild and check as products; invited-only requests never reach it; a request that closes,
expires or is withdrawn leaves it; a killed drain loses nothing. SQLite and PostgreSQL."""
from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from marketplace.config import PROJECT_ROOT
from marketplace.database import reading_only, utcnow
from marketplace.extensions import db
from marketplace.search import sync
from marketplace.search.models import KIND_REQUEST, IndexChange
from marketplace.sourcing import services
from marketplace.sourcing.models import ProcurementRequest
from marketplace.sourcing.services import today_in_china
from marketplace.sourcing.states import RequestState, Visibility
from tests.search._requests import found_requests, make_buyers, post, request_input, request_results
from tests.search._workers import child_env, unique_word

CLEAN = {"missing": [], "extra": [], "stale": []}


def drift() -> dict:
    """``flask index check --kind requests`` without the counts."""
    db.session.remove()
    answer = sync.check(kind="requests")
    return {name: answer[name] for name in ("missing", "extra", "stale")}


def test_only_open_public_requests_are_indexed_and_leave_when_they_close(inline_app):
    with inline_app.app_context():
        world = make_buyers()
        word = unique_word()
        public = post(world, title=f"采购电饭煲 {word}")
        draft = post(world, publish=False, title=f"采购电饭煲 {word} 草稿")
        invited = post(world, title=f"采购电饭煲 {word} 邀请", visibility=Visibility.INVITED,
                       invited_company_ids=(world.exporter.id,))
        assert found_requests(word) == {public.id}
        assert draft.id not in sync.get_index("requests").stored()
        assert invited.id not in sync.get_index("requests").stored()
        # nor in counts or facets, for anyone: the index has no such document
        answer = request_results(word, facets=True)
        assert answer.total == 1
        assert dict(answer.facets["category"]) == {"small_appliances": 1}
        # the product index is untouched by requests
        assert sync.get_index("products").stored() == {} or public.id not in sync.get_index().stored()

        services.close_request(world.buyer_user, public.id, public.version)
        assert found_requests(word) == set()
        assert drift() == CLEAN


def test_an_edit_to_invited_only_takes_the_request_out(inline_app):
    with inline_app.app_context():
        world = make_buyers()
        word = unique_word()
        request = post(world, title=f"采购保温杯 {word}")
        assert found_requests(word) == {request.id}
        services.update_request(world.buyer_user, request.id,
                                request_input(title=f"采购保温杯 {word}", visibility=Visibility.INVITED,
                                              invited_company_ids=(world.exporter.id,)), request.version)
        assert found_requests(word) == set()
        assert drift() == CLEAN


def test_expired_requests_leave_the_index_and_searches_skip_a_passed_deadline(inline_app):
    with inline_app.app_context():
        world = make_buyers()
        word = unique_word()
        soon = post(world, title=f"采购电水壶 {word}", deadline=today_in_china())
        later = post(world, title=f"采购电水壶 {word} 长期", deadline=today_in_china() + timedelta(days=30))
        assert found_requests(word, deadline_from=today_in_china()) == {soon.id, later.id}
        # tomorrow, before any expiry job has run, a search filtering deadline ≥ today no longer shows it
        tomorrow = today_in_china() + timedelta(days=1)
        assert found_requests(word, deadline_from=tomorrow) == {later.id}
        # the day passes (a bulk UPDATE writes no change row; the index still holds the request)
        db.session.execute(sa.update(ProcurementRequest).where(ProcurementRequest.id == soon.id)
                           .values(deadline=today_in_china() - timedelta(days=1)))
        db.session.commit()
        assert found_requests(word) == {soon.id, later.id}
        assert drift()["extra"] == [soon.id]  # and check sees it is no longer public
        assert services.expire_requests() == 1  # the expiry job's write is logged and drained
        assert found_requests(word) == {later.id}
        assert drift() == CLEAN


def test_a_buyer_rename_reaches_its_requests_documents(inline_app):
    with inline_app.app_context():
        world = make_buyers()
        request = post(world, title=f"采购电饭煲 {unique_word()}")
        before = sync.get_index("requests").stored()[request.id]
        world.buyer.name_zh = "改名后的采购商有限公司"
        db.session.commit()
        assert sync.get_index("requests").stored()[request.id] != before
        assert drift() == CLEAN


def test_live_indexing_equals_a_rebuild(worker_app):
    with worker_app.app_context():
        world = make_buyers()
        word = unique_word()
        made = [post(world, title=f"采购 {word} 第{n}批", quantity=100 * (n + 1)) for n in range(6)]
        services.close_request(world.buyer_user, made[0].id, made[0].version)
        services.update_request(world.buyer_user, made[1].id, request_input(title=f"采购 {word} 改", quantity=7),
                                made[1].version)
        made = [r.id for r in made]
        db.session.remove()
        logged = {row.object_id for row in db.session.scalars(
            sa.select(IndexChange).where(IndexChange.kind == KIND_REQUEST))}
        assert set(made) <= logged
        sync.drain(kind="requests")
        live = sync.get_index("requests").stored()
        sync.rebuild(kind="requests")
        assert sync.get_index("requests").stored() == live
        assert set(live) == set(made[1:])
        assert drift() == CLEAN


def test_company_service_changes_do_not_break_the_request_drain(inline_app):
    """A company change row is read by both kinds: each re-reads only its own objects."""
    with inline_app.app_context():
        world = make_buyers()
        word = unique_word()
        request = post(world, title=f"采购 {word}")
        world.buyer.province_code = "440000"
        db.session.commit()
        assert found_requests(word) == {request.id}
        assert sync.pending_changes(sync.get_index("requests")) == 0


KILL_REQUESTS = 200
KILL_BATCH = 10


@pytest.mark.slow
def test_sigkill_in_the_middle_of_a_request_drain_loses_nothing(worker_app, app_config):
    with worker_app.app_context():
        index = sync.get_index("requests")
        world = make_buyers()
        word = unique_word()
        now = utcnow()
        rows = [ProcurementRequest(
            buyer_company_id=world.buyer.id, title=f"采购 {word} {n}", category="small_appliances", quantity=n + 1,
            unit="台", delivery_province_code="330000", delivery_city_code="330200", required_certifications=[],
            required_readiness=[], deadline=today_in_china() + timedelta(days=10), visibility=Visibility.PUBLIC,
            state=RequestState.OPEN, idempotency_key=secrets.token_urlsafe(24), published_at=now,
        ) for n in range(KILL_REQUESTS)]
        db.session.add_all(rows)
        db.session.commit()
        ids = {r.id for r in rows}
        db.session.remove()
        sync.drain(kind="products")  # the product index passes over the request rows first
        start = index.cursor
        with reading_only(), Session(db.engine) as session:
            last = sync.latest_change_id(session)
        assert found_requests(word) == set()

        child = subprocess.Popen([sys.executable, "-m", "tests.search._workers", "drain", str(KILL_BATCH), "requests"],
                                 cwd=PROJECT_ROOT, env=child_env(app_config), stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        killed_at = None
        try:
            while child.poll() is None:
                cursor = index.cursor
                if start < cursor < last and index.is_locked():
                    os.kill(child.pid, signal.SIGKILL)
                    killed_at = cursor
                    break
                time.sleep(0.002)
        finally:
            if child.poll() is None and killed_at is None:
                child.kill()
            out, err = child.communicate(timeout=60)
        assert killed_at is not None, f"the drain ended before it could be killed (rc {child.returncode}): {out}{err}"
        before = index.check(sync.expected_fingerprints("requests"))
        assert before["missing"] and not before["extra"] and not before["stale"]

        result = sync.drain(kind="requests")
        assert not result.busy
        assert index.cursor == last
        assert drift() == CLEAN
        assert {hit.id for hit in request_results(word, per_page=100, page=1).hits} | \
            {hit.id for hit in request_results(word, per_page=100, page=2).hits} == ids
