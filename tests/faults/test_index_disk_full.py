"""The disk of the search index full: searches keep answering from the last index, and the worker retries.

The index directory is a small tmpfs of its own (CI runs as root: ``mount -t tmpfs`` is allowed; under CI
a machine where it is not fails this test, elsewhere it is skipped like other tests of missing services).
The index is built into it, the rest of
the tmpfs is filled with a filler file, and products are edited, archived and added, so that the real
``flask index worker`` has to write: each of its drains fails with "No space left on device". While
it does, it keeps running and retrying, its cursors stay where they were, and searches — in this
process and in a freshly opened index, as a new web worker would — answer exactly what they answered
before. Once the filler is removed, the same worker's next drain applies everything: the index equals
the database, without a restart or a rebuild, and no temporary file of the failed writes is left.
"""
from __future__ import annotations

import errno
import os
import subprocess

import pytest

from marketplace.catalog import services as catalog
from marketplace.catalog.models import Product, ProductStatus
from marketplace.database import reading_only
from marketplace.extensions import db
from marketplace.search import kinds as search_kinds
from marketplace.search import sync
from search_index import SearchIndex
from tests.conftest import IN_CI
from tests.factories import make_company, make_product, make_user
from tests.faults.conftest import wait_until
from tests.search._workers import found, product_input, unique_word

pytestmark = pytest.mark.slow

KINDS = ("products", "requests")
DISK = "4m"
ENOSPC_TEXT = "No space left on device"


def _mount_tmpfs(path, size: str) -> None:
    try:
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path)],
                                capture_output=True, text=True, timeout=30)
        problem = result.stderr.strip() if result.returncode else ""
    except OSError as error:
        problem = str(error)
    if problem:
        message = (f"cannot mount a tmpfs at {path}: {problem}. This test fills the index's disk and needs to "
                   f"mount one (root or CAP_SYS_ADMIN, as CI runs)")
        if IN_CI:
            pytest.fail(message + "; under CI it is never skipped.")
        pytest.skip(message)  # like the other tests whose service is missing on this machine


def _unmount(path) -> None:
    if subprocess.run(["umount", str(path)], capture_output=True, timeout=30).returncode:
        subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=30)  # still busy: detach it


def _fill(path) -> None:
    """Write zeros into ``path`` until the disk is full."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    chunk = b"\0" * 65536
    try:
        while True:
            try:
                os.write(fd, chunk)
            except OSError as error:
                if error.errno != errno.ENOSPC:
                    raise
                if len(chunk) == 1:
                    return
                chunk = chunk[: len(chunk) // 16 or 1]
    finally:
        os.close(fd)


@pytest.fixture
def index_disk(worker_config, tmp_path):
    """A 4 MB tmpfs as ``SEARCH_INDEX_DIR`` and for the worker's heartbeat (set before the app and the worker
    are made); unmounted at the end."""
    path = tmp_path / "index-disk"
    path.mkdir()
    _mount_tmpfs(path, DISK)
    worker_config["SEARCH_INDEX_DIR"] = str(path)
    # on the same disk, as by default (both under instance/): it fails to beat meanwhile, and must not stop
    worker_config["WORKER_HEARTBEAT_PATH"] = str(path / "worker.heartbeat")
    yield path
    _unmount(path)


def _close_indexes(app) -> None:
    for index in app.extensions.get("search_indexes", {}).values():
        index.close()


def _temporary_files(root) -> list[str]:
    """Temporary files (.name.random) left in the indexes' directories."""
    return sorted(str(p.relative_to(root)) for kind in KINDS for p in (root / kind).rglob(".*") if p.is_file())


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_a_full_index_disk_keeps_searches_answering_and_the_worker_retrying(index_disk, request):
    zygote = request.getfixturevalue("zygote")
    app = request.getfixturevalue("worker_app")
    word, renamed_word = unique_word(), unique_word()
    try:
        with app.app_context():
            company = make_company()
            user = make_user(company=company)
            ids = [make_product(company, actor=user, title_en=f"{word} kettle {i}").id for i in range(12)]
            db.session.remove()
            sync.drain()  # the index built on its disk
            assert found(word) == set(ids)
            before = {kind: (sync.get_index(kind).cursor, sync.get_index(kind).path) for kind in KINDS}
            stored = sync.get_index().stored()

            filler = index_disk / "filler"
            _fill(filler)
            # full: even moving a cursor fails, and leaves the old one and no temporary file
            requests_index = sync.get_index("requests")
            with pytest.raises(OSError) as full:
                requests_index.apply([], [], cursor=before["requests"][0] + 1000)
            assert full.value.errno == errno.ENOSPC
            assert requests_index.cursor == before["requests"][0]
            assert _temporary_files(index_disk) == []

            # edits the worker has to write: new words, archived and new products
            company, user = db.session.merge(company), db.session.merge(user)
            renamed = ids[:3]
            for product_id in renamed:
                product = db.session.get(Product, product_id)
                catalog.update_product(user, product, product_input(product, title_en=f"{renamed_word} teapot"))
            catalog.set_products_status(user, company, ids[3:5], ProductStatus.ARCHIVED)
            added = [make_product(company, actor=user, title_en=f"{word} kettle new {i}").id for i in range(2)]
            db.session.remove()
            assert sync.pending_changes() > 0

            worker = zygote.start("index", "worker", "--poll", "0.1")
            # it fails for want of space, and tries again: twice at least, still the same process
            wait_until(lambda: worker.output().count(ENOSPC_TEXT) >= 2 or zygote.wait(worker, 0) is not None, 30,
                       "the worker to fail twice on the full disk")
            assert zygote.wait(worker, 0) is None, f"the worker died on a full disk:\n{worker.output()[-4000:]}"
            assert worker.output().count(ENOSPC_TEXT) >= 2, worker.output()[-4000:]

            # nothing moved: the cursors (the changes stay pending), and what searches answer
            assert {kind: (sync.get_index(kind).cursor, sync.get_index(kind).path) for kind in KINDS} == before
            assert sync.pending_changes() > 0
            assert found(word) == set(ids)
            assert found(renamed_word) == set()
            assert sync.get_index().stored() == stored
            fresh = SearchIndex(sync.index_root(app), kind=search_kinds.get("products").index_kind, create=False)
            try:  # a process opening the index now (a new web worker) reads the last index whole
                assert fresh.stored() == stored
            finally:
                fresh.close()
            client = app.test_client()
            client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
            page = client.get(f"/search/?q={word}")
            assert page.status_code == 200  # the search page answers from the last index too
            assert f'data-product-id="{ids[6]}"' in page.get_data(as_text=True)

            # space again: the same worker's next try applies everything
            filler.unlink()
            wait_until(lambda: sync.pending_changes() == 0 or zygote.wait(worker, 0) is not None, 30,
                       "the worker to apply the changes once there is space")
            assert zygote.stop(worker) == 0, worker.output()[-4000:]
            assert zygote.started == 1  # no restart

            with reading_only():
                for kind in KINDS:
                    index = sync.get_index(kind)
                    assert index.path == before[kind][1]  # no rebuild
                    assert sync.pending_changes(index) == 0
                    drift = index.check(sync.expected_fingerprints(kind))
                    assert (drift["missing"], drift["extra"], drift["stale"]) == ([], [], []), (kind, drift)
            assert found(renamed_word) == set(renamed)
            assert found(word) == (set(ids) - set(renamed) - set(ids[3:5])) | set(added)
            assert _temporary_files(index_disk) == []
    finally:
        zygote.close()
        _close_indexes(app)
