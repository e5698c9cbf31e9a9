"""Backups: the drill (create, wipe, restore: every count, checksum, search and match back) on both databases,
and every refusal (tampered or incomplete backup, no --yes, non-empty output, missing pg_dump, newer code,
a failed write), each leaving nothing changed and no partial backup."""
from __future__ import annotations

import errno
import hashlib
import io
import json
import secrets
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image

from marketplace.accounts.models import Company, CompanyKind, User
from marketplace.backups import services as backups
from marketplace.catalog import services as catalog_services
from marketplace.deals import services as deals
from marketplace.extensions import db
from marketplace.matching.models import Match
from marketplace.sourcing import services as sourcing
from marketplace.sourcing.services import RequestInput, today_in_china
from tests.factories import make_company, make_product, make_user

CUP = "不锈钢保温杯 500ml 食品级"


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def _world() -> dict:
    """Two companies, a product with an image, a second product, a published request (with matches), an intent."""
    buyer = make_company(kind=CompanyKind.CHAIN_LEADER, province_code="330000", city_code="330200")
    buyer_user = make_user(company=buyer)
    exporter = make_company(kind=CompanyKind.EXPORTER, province_code="330000", city_code="330200")
    exporter_user = make_user(company=exporter)
    cup = make_product(company=exporter, actor=exporter_user, title_zh=CUP, moq=500)
    make_product(company=exporter, actor=exporter_user, title_zh="不锈钢炒锅 32cm", category="kitchenware")
    image = catalog_services.add_product_image(exporter_user, cup, _png())
    data = RequestInput(title="采购不锈钢保温杯", category="small_appliances", quantity=2000, unit="个",
                        delivery_province_code="330000", delivery_city_code="330200",
                        deadline=today_in_china() + timedelta(days=20), description="需食品级，送货到宁波",
                        target_unit_price_fen=2500, required_certifications=(), required_readiness=())
    request, _created = sourcing.create_request(buyer_user, data, secrets.token_urlsafe(16))
    sourcing.publish_request(buyer_user, request.id, request.version)
    deals.record_order_intent(buyer_user, cup.id, deals.Terms(600, 8900, today_in_china() + timedelta(days=14)),
                              secrets.token_urlsafe(24))
    world = {"cup": cup.id, "image": image.filename, "request": request.id, "exporter_user": exporter_user.id}
    db.session.commit()
    return world


def _matches() -> set[tuple[int, int, int]]:
    db.session.expire_all()
    return set(db.session.execute(sa.select(Match.request_id, Match.product_id, Match.score_x10)).tuples())


def _uploads(app) -> dict[str, dict]:
    root = Path(app.config["UPLOAD_DIR"])
    return {path.relative_to(root).as_posix(): {"sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                                                "size": path.stat().st_size}
            for path in sorted(root.rglob("*")) if path.is_file()}


def _search(runner, query: str) -> list[int]:
    result = runner.invoke(args=["search", "products", query, "--json"])
    assert result.exit_code == 0, result.output
    return [item["id"] for item in json.loads(result.output)["results"]]


def _create(runner, output: Path):
    return runner.invoke(args=["backup", "create", "-o", str(output)])


def _restore(runner, directory: Path, *options, **kwargs):
    return runner.invoke(args=["backup", "restore", str(directory), *options], **kwargs)


def _refused(result, *fragments: str) -> None:
    """Exit status 1 with a message on stderr, no traceback."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in result.output, result.output


def test_backup_drill_create_wipe_restore(app, runner, tmp_path, db_backend):
    with app.app_context():
        world = _world()
        matches = _matches()
        assert matches and world["cup"] in {product for _request, product, _score in matches}
    target = tmp_path / "backup"
    result = _create(runner, target)
    assert result.exit_code == 0, result.output
    assert f"backup written to {target}" in result.output
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["format_version"] == 1 and manifest["created_at"].endswith("Z")
    assert manifest["database"]["kind"] == db_backend
    assert manifest["tables"]["products"] == 2 and manifest["tables"]["order_intents"] == 1
    assert manifest["tables"]["matches"] == len(matches)
    assert f"products/{world['image']}" in manifest["uploads"]
    assert manifest["uploads"] == _uploads(app)  # the image and its thumbnail, byte for byte
    assert manifest["totals"]["rows"] == sum(manifest["tables"].values())

    with app.app_context():  # after the backup: a product that the restore must take away again
        user = db.session.get(User, world["exporter_user"])
        make_product(company=user.company, actor=user, title_zh="备份之后的电热水壶")
    assert _search(runner, "电热水壶")
    with app.app_context():  # the wipe: every table and every upload gone
        db.session.remove()
        db.drop_all()
        db.engine.dispose()
    shutil.rmtree(app.config["UPLOAD_DIR"])

    result = _restore(runner, target, "--yes")
    assert result.exit_code == 0, result.output
    assert "rows: as in the manifest" in result.output
    assert "matches: recomputed 1 requests" in result.output
    with app.app_context():
        counts = backups.current_counts()
        # the command compared every table right after replacing the database ("as in the manifest");
        # since then the rebuild has pruned the change log its indexes applied (index_changes)
        assert counts.pop("index_changes") <= manifest["tables"]["index_changes"]
        assert counts == {name: rows for name, rows in manifest["tables"].items() if name != "index_changes"}
        assert _matches() == matches
        if db_backend == "postgresql":  # the planner has statistics again (pg_restore leaves none)
            analyzed = db.session.scalar(sa.text(
                "SELECT last_analyze FROM pg_stat_user_tables WHERE schemaname = current_schema() "
                "AND relname = 'products'"))
            assert analyzed is not None
    assert _uploads(app) == manifest["uploads"]
    with app.app_context():  # the sequences came back too: new rows get new ids
        make_company()
    assert _search(runner, "保温杯") == [world["cup"]]
    assert _search(runner, "电热水壶") == []
    response = app.test_client().get(f"/media/products/{world['image']}")
    assert response.status_code == 200 and response.mimetype == "image/jpeg"


@pytest.fixture
def small(app, tmp_path):
    """A company, an upload file and a backup of both; returns the backup's directory."""
    with app.app_context():
        make_company()
    upload = Path(app.config["UPLOAD_DIR"]) / "products" / "a.jpg"
    upload.parent.mkdir(parents=True)
    upload.write_bytes(b"\xff\xd8 not really a jpeg")
    result = _create(app.test_cli_runner(), tmp_path / "backup")
    assert result.exit_code == 0, result.output
    with app.app_context():  # after the backup: the state a refused restore must leave alone
        make_company()
    return tmp_path / "backup"


def _unchanged(app) -> None:
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Company)) == 2
    assert (Path(app.config["UPLOAD_DIR"]) / "products" / "a.jpg").read_bytes() == b"\xff\xd8 not really a jpeg"


def _tamper_upload(backup: Path) -> str:
    (backup / "uploads" / "products" / "a.jpg").write_bytes(b"\xff\xd8 changed")
    return "uploads/products/a.jpg does not match its checksum"


def _truncate_database(backup: Path) -> str:
    path = next(backup.glob("database.*"))
    path.write_bytes(path.read_bytes()[:-100])
    return f"{path.name} does not match its checksum"


def _remove_upload(backup: Path) -> str:
    (backup / "uploads" / "products" / "a.jpg").unlink()
    return "uploads/products/a.jpg is missing"


def _add_upload(backup: Path) -> str:
    (backup / "uploads" / "products" / "evil.jpg").write_bytes(b"x")
    return "uploads/products/evil.jpg is not in the manifest"


def _escape_uploads(backup: Path) -> str:
    manifest = json.loads((backup / "manifest.json").read_text(encoding="utf-8"))
    manifest["uploads"]["../../outside.jpg"] = manifest["uploads"]["products/a.jpg"]
    (backup / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return "unsafe upload path: '../../outside.jpg'"


def _remove_manifest(backup: Path) -> str:
    (backup / "manifest.json").unlink()
    return "manifest.json is missing"


@pytest.mark.parametrize("db_backend", ["sqlite"])
@pytest.mark.parametrize("tamper", [_tamper_upload, _truncate_database, _remove_upload, _add_upload, _escape_uploads,
                                    _remove_manifest])
def test_restore_refuses_a_tampered_or_incomplete_backup_and_changes_nothing(app, runner, small, tamper):
    message = tamper(small)
    _refused(_restore(runner, small, "--yes"), message)
    _unchanged(app)


@pytest.mark.parametrize("db_backend", ["sqlite"])
@pytest.mark.parametrize("answer", ["n\n", None])
def test_restore_asks_and_without_yes_changes_nothing(app, runner, small, answer):
    result = _restore(runner, small, input=answer)
    _refused(result, "REPLACES the database", "restore cancelled: nothing was changed")
    _unchanged(app)


@pytest.mark.parametrize("db_backend", ["sqlite"])
def test_restore_refuses_a_backup_of_newer_code(app, runner, small):
    manifest = json.loads((small / "manifest.json").read_text(encoding="utf-8"))
    manifest["alembic_revision"] = "ffffffffffff"
    (small / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    _refused(_restore(runner, small, "--yes"), "made by newer code", "ffffffffffff", "nothing was changed")
    _unchanged(app)


@pytest.mark.parametrize("db_backend", ["sqlite"])
def test_create_refuses_a_non_empty_output_directory(app, runner, tmp_path):
    target = tmp_path / "taken"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    _refused(_create(runner, target), f"{target} exists and is not empty")
    assert [p.name for p in target.iterdir()] == ["notes.txt"]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _create(runner, empty).exit_code == 0 and (empty / "manifest.json").is_file()


@pytest.mark.parametrize("db_backend", ["sqlite"])
def test_a_failed_write_leaves_no_backup_behind(app, runner, tmp_path, monkeypatch):
    upload = Path(app.config["UPLOAD_DIR"]) / "a.jpg"
    upload.parent.mkdir(parents=True)
    upload.write_bytes(b"data")

    def disk_full(source, target):
        raise OSError(errno.ENOSPC, "No space left on device", str(target))

    monkeypatch.setattr(backups, "_copy_hashing", disk_full)
    _refused(_create(runner, tmp_path / "backup"), "No space left on device")
    assert sorted(p.name for p in tmp_path.iterdir() if "backup" in p.name) == []


@pytest.mark.parametrize("db_backend", ["postgresql"])
def test_missing_pg_dump_and_pg_restore_are_clear_errors(app, runner, tmp_path):
    missing = tmp_path / "nowhere" / "pg_dump"
    app.config["PG_DUMP"] = str(missing)
    _refused(_create(runner, tmp_path / "backup"), f"pg_dump not found at {missing}", "PG_DUMP")
    assert not (tmp_path / "backup").exists()
    assert sorted(p.name for p in tmp_path.iterdir() if "backup" in p.name) == []

    app.config["PG_DUMP"] = ""
    with app.app_context():
        make_company()
    assert _create(runner, tmp_path / "backup").exit_code == 0
    with app.app_context():
        make_company()
    app.config["PG_RESTORE"] = "no-such-pg_restore"
    _refused(_restore(runner, tmp_path / "backup", "--yes"), "no-such-pg_restore not found on PATH")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Company)) == 2


@pytest.mark.parametrize("db_backend", ["sqlite"])
def test_restoring_an_older_backup_upgrades_it(app, runner, tmp_path):
    from flask_migrate import upgrade

    with app.app_context():
        db.drop_all()
        script = backups._script_directory()
        head = backups.code_head()
        previous = script.get_revision(head).down_revision
        upgrade(revision=previous)
        db.engine.dispose()
    assert _create(runner, tmp_path / "backup").exit_code == 0
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["alembic_revision"] == previous
    result = _restore(runner, tmp_path / "backup", "--yes")
    assert result.exit_code == 0, result.output
    assert f"db upgrade: {previous} → {head}" in result.output
    with app.app_context():
        assert db.session.scalar(sa.text("SELECT version_num FROM alembic_version")) == head
