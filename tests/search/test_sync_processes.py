"""Invariants of the search sync across processes, on SQLite and PostgreSQL.

A drain killed with SIGKILL in the middle of a batch loses nothing (the next drain brings the
index in step), and four processes saving products at once, each draining into the same index
directory after its own commits, leave an index in step with the database with no change row
passed over. Children run ``tests/search/_workers.py`` on the test app's own settings (same
SQLite file or PostgreSQL schema, same index directory).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy.orm import Session

from marketplace.config import PROJECT_ROOT
from marketplace.database import reading_only
from marketplace.extensions import db
from marketplace.search import sync
from tests.factories import make_company, make_product, make_user
from tests.search._workers import child_env, describe, found, pending_product_ids, unique_word

pytestmark = pytest.mark.slow

CLEAN = {"missing": [], "extra": [], "stale": []}
#: products pending when the drain is killed, and the drain's batch size
KILL_PRODUCTS = 300
KILL_BATCH = 10
WRITERS = 4
PER_WRITER = 25


def _child(config: dict, *args: str, **extra) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tests.search._workers", *args], cwd=PROJECT_ROOT,
                            env=child_env(config, **extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _drift(answer: dict) -> dict:
    return {name: answer[name] for name in ("missing", "extra", "stale")}


def test_sigkill_in_the_middle_of_a_drain_loses_nothing(worker_app, app_config):
    with worker_app.app_context():
        index = sync.get_index()
        company = make_company()
        user = make_user(company=company)
        company_id = company.id
        word = unique_word()
        ids = {make_product(company, actor=user, title_en=f"{word} kettle {i}").id for i in range(KILL_PRODUCTS)}
        db.session.remove()
        start = index.cursor
        with reading_only(), Session(db.engine) as session:
            last = sync.latest_change_id(session)
        assert sync.pending_changes() >= KILL_PRODUCTS
        assert found(word) == set()

        child = _child(app_config, "drain", str(KILL_BATCH))
        killed_at = None
        try:
            # kill it while it writes a batch, after at least one batch went in
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
        assert child.returncode == -signal.SIGKILL

        # the crash is visible: changes pending and documents missing (seen without draining)
        assert sync.pending_changes() > 0
        assert start < index.cursor < last
        before = index.check(sync.expected_fingerprints())
        assert before["missing"] and not before["extra"] and not before["stale"]
        assert found(word) != ids

        result = sync.drain()
        assert not result.busy
        assert index.cursor == last
        assert sync.pending_changes() == 0
        assert _drift(sync.check()) == CLEAN
        assert found(word) == ids
        assert found(company_id=company_id) == ids


def test_four_processes_saving_at_once_leave_the_index_in_step(inline_app, app_config, tmp_path):
    with inline_app.app_context():
        index = sync.get_index()
        specs = []
        go_file = tmp_path / "go"
        for _ in range(WRITERS):
            company = make_company()
            user = make_user(company=company)
            specs.append({"company_id": company.id, "user_id": user.id, "word": unique_word(), "count": PER_WRITER,
                          "go_file": str(go_file), "ready_file": str(tmp_path / f"ready-{len(specs)}")})
        db.session.remove()

        children = [_child(app_config, "save", json.dumps(spec), SEARCH_DRAIN="inline") for spec in specs]
        # start them together: each says it is ready (app built), then waits for the go file
        deadline = time.monotonic() + 120
        while not all(os.path.exists(spec["ready_file"]) for spec in specs) and time.monotonic() < deadline:
            if any(child.poll() is not None for child in children):
                break
            time.sleep(0.05)
        go_file.touch()
        outputs = [child.communicate(timeout=600) for child in children]
        failures = [(child.returncode, err[-3000:])
                    for child, (_out, err) in zip(children, outputs, strict=True) if child.returncode]
        assert not failures, failures
        saved = [json.loads(out.strip().splitlines()[-1]) for out, _err in outputs]
        drain_failures = sum(err.count("search index drain failed") for _out, err in outputs)

        # nothing behind the cursor was passed over: every product no pending row names is already current
        cursor = index.cursor
        pending = pending_product_ids(cursor)
        expected = sync.expected_fingerprints()
        stored = index.stored()
        behind = sorted(pid for pid in set(expected) | set(stored)
                        if pid not in pending and expected.get(pid) != stored.get(pid))
        kinds = {"missing": [p for p in behind if p not in stored], "extra": [p for p in behind if p not in expected],
                 "stale": [p for p in behind if p in stored and p in expected]}
        first_failure = next((err[err.index("search index drain failed"):][:3000] for _out, err in outputs
                              if "search index drain failed" in err), "")
        assert not behind, (f"documents out of step though no change row past cursor {cursor} names them: {kinds}; "
                            f"{describe(behind)}; children's failed drains: {drain_failures} {first_failure}")

        result = sync.drain()
        assert not result.busy
        assert sync.pending_changes() == 0
        assert _drift(sync.check()) == CLEAN
        for spec, outcome in zip(specs, saved, strict=True):
            public = {pid for pid in expected if pid in set(outcome["created"])}
            assert public and not public & set(outcome["deleted"])
            assert found(spec["word"]) == public
            assert found(company_id=spec["company_id"]) == public
        print(f"\n[{inline_app.config['SQLALCHEMY_DATABASE_URI'].split(':')[0]}] writers={WRITERS} "
              f"products={sum(len(o['created']) for o in saved)} public={len(expected)} "
              f"pending after children={len(pending)} failed child drains={drain_failures}")
