"""``flask search products`` and ``flask index status|check|rebuild|optimize|worker`` as an operator sees them:
output, JSON shape, exit codes, and the index back in step after a rebuild or a worker run."""
from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from marketplace.catalog.models import Product
from marketplace.catalog.rows import PriceTierInput
from marketplace.extensions import db
from marketplace.search import sync
from search_index import ProductIndex
from tests.factories import make_company, make_product


def product(company, title_zh, price_fen, moq=100, **fields) -> int:
    """A published product priced ``price_fen`` at its MOQ."""
    fields.setdefault("category", "small_appliances")
    return make_product(company, title_zh=title_zh, moq=moq,
                        price_tiers=[PriceTierInput(moq, price_fen), PriceTierInput(moq * 10, price_fen - 1)],
                        **fields).id


@pytest.fixture
def goods(app):
    """Two rice cookers in two provinces and a cup."""
    with app.app_context():
        guangdong = make_company(name_zh="美厨电器有限公司", province_code="440000", city_code="440300")
        zhejiang = make_company(name_zh="甬佳家电有限公司", province_code="330000", city_code="330200")
        return SimpleNamespace(
            rice=product(guangdong, "智能电饭煲 3L", 8900, sku="RC-3L", title_en="Smart rice cooker"),
            family=product(zhejiang, "家用电饭煲 5L", 15900, sku="RC-5L"),
            cup=product(guangdong, "不锈钢保温杯", 2500, sku="CUP-1", category="kitchenware"),
        )


def search_json(runner, *args) -> dict:
    result = runner.invoke(args=["search", "products", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_search_products_json_has_total_and_results(runner, goods):
    data = search_json(runner, "电饭煲")
    assert data["total"] == 2
    assert {row["id"] for row in data["results"]} == {goods.rice, goods.family}
    rice = next(row for row in data["results"] if row["id"] == goods.rice)
    assert rice["sku"] == "RC-3L"
    assert rice["title"] == "智能电饭煲 3L"
    assert rice["company"] == "美厨电器有限公司"
    assert rice["price_fen"] == 8900
    assert isinstance(rice["score"], float) and rice["score"] > 0


def test_search_products_finds_an_hs_code_and_notes_a_widened_compound(app, runner, goods):
    with app.app_context():
        db.session.get(Product, goods.rice).hs_code = "851660"
        db.session.commit()
        kettle = product(make_company(name_zh="壶王电器有限公司"), "热水壶 1.8L", 3900)
    assert [row["id"] for row in search_json(runner, "8516.60")["results"]] == [goods.rice]
    data = search_json(runner, "电热水壶")
    assert [row["id"] for row in data["results"]] == [kettle]
    assert data["notices"] == ["也显示了包含“热水壶”的结果。"]


def test_search_products_plain_output_lists_the_products(runner, goods):
    result = runner.invoke(args=["search", "products", "电饭煲"])
    assert result.exit_code == 0, result.output
    assert "2 products" in result.stdout
    assert "RC-3L" in result.stdout and "¥89.00" in result.stdout and "[甬佳家电有限公司]" in result.stdout
    assert "CUP-1" not in result.stdout


@pytest.mark.parametrize("options, expected", [
    (["--category", "kitchenware"], {"cup"}),
    (["--price-min", "50", "--price-max", "100"], {"rice"}),
    (["--price-min", "100"], {"family"}),
    (["--province", "330000"], {"family"}),
    (["--province", "440000"], {"rice", "cup"}),
])
def test_search_products_filters(runner, goods, options, expected):
    data = search_json(runner, *options)
    assert {row["id"] for row in data["results"]} == {getattr(goods, name) for name in expected}
    assert data["total"] == len(expected)


def test_search_products_limit_pages_the_results(runner, goods):
    first = search_json(runner, "电饭煲", "--limit", "1", "--sort", "price_asc")
    assert first["total"] == 2 and first["pages"] == 2
    assert [row["id"] for row in first["results"]] == [goods.rice]
    second = search_json(runner, "电饭煲", "--limit", "1", "--sort", "price_asc", "--page", "2")
    assert [row["id"] for row in second["results"]] == [goods.family]


def test_search_products_did_you_mean(runner, goods):
    data = search_json(runner, "电饭褒")
    assert data["total"] == 0 and data["suggestion"] == "电饭煲"


@pytest.mark.parametrize("options, message", [
    (["--price-min", "abc"], "最低价必须是以元为单位的金额"),
    (["--price-min", "200", "--price-max", "10"], "最低价高于最高价"),
    (["--category", "nope"], "未知的类目"),
    (["--page", "abc"], "页码从 1 开始"),
    (["--sort", "cheapest"], "未知的排序方式"),
])
def test_search_products_bad_options_exit_2_with_a_message(runner, goods, options, message):
    result = runner.invoke(args=["search", "products", "电饭煲", *options])
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_search_products_bad_option_still_prints_json(runner, goods):
    result = runner.invoke(args=["search", "products", "电饭煲", "--price-min", "abc", "--json"])
    assert result.exit_code == 2
    data = json.loads(result.stdout)
    assert data["total"] == 2 and data["errors"]


def test_search_products_limit_out_of_range_is_a_usage_error(runner, goods):
    result = runner.invoke(args=["search", "products", "电饭煲", "--limit", "0"])
    assert result.exit_code == 2
    assert "--limit" in result.stderr


def test_index_status(runner, goods):
    result = runner.invoke(args=["index", "status"])
    assert result.exit_code == 0, result.output
    assert "documents:       3" in result.stdout
    assert "pending changes: 0" in result.stdout
    assert "[products]" in result.stdout and "[requests]" in result.stdout
    data = json.loads(runner.invoke(args=["index", "status", "--json"]).stdout)
    assert data["products"]["doc_count"] == 3 and data["products"]["pending_changes"] == 0
    assert data["requests"]["doc_count"] == 0
    one = json.loads(runner.invoke(args=["index", "status", "--kind", "products", "--json"]).stdout)
    assert one["doc_count"] == 3 and one["schema_version"] == one["current_version"]
    unknown = runner.invoke(args=["index", "status", "--kind", "quotes"])
    assert unknown.exit_code == 2 and "quotes" in unknown.stderr


def test_index_check_finds_drift_and_rebuild_fixes_it(app, runner, goods):
    result = runner.invoke(args=["index", "check"])
    assert result.exit_code == 0, result.output
    assert "in step" in result.stdout
    # break the index behind the change log's back, as another process could
    assert ProductIndex(sync.index_root(app)).apply(deletes=[goods.cup])
    broken = runner.invoke(args=["index", "check"])
    assert broken.exit_code == 1
    assert f"missing: 1 ({goods.cup})" in broken.stdout
    assert "flask index rebuild --kind products" in broken.stderr
    assert search_json(runner, "保温杯")["total"] == 0
    rebuilt = runner.invoke(args=["index", "rebuild"])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "products: rebuilt: 3 products" in rebuilt.stdout
    assert "requests: rebuilt: 0 requests" in rebuilt.stdout
    fixed = runner.invoke(args=["index", "check", "--json"])
    assert fixed.exit_code == 0
    assert json.loads(fixed.stdout)["products"]["missing"] == []
    only = runner.invoke(args=["index", "check", "--kind", "products", "--json"])
    assert only.exit_code == 0 and json.loads(only.stdout)["stale"] == []
    assert [row["id"] for row in search_json(runner, "保温杯")["results"]] == [goods.cup]


def test_index_optimize(runner, goods):
    result = runner.invoke(args=["index", "optimize"])
    assert result.exit_code == 0, result.output
    assert "optimized" in result.stdout
    status = json.loads(runner.invoke(args=["index", "status", "--kind", "products", "--json"]).stdout)
    assert status["segments"] == 1 and status["doc_count"] == 3
    assert search_json(runner, "电饭煲")["total"] == 2


def test_index_worker_once_applies_pending_changes(worker_app):
    runner = worker_app.test_cli_runner()
    with worker_app.app_context():
        rice = product(make_company(), "智能电饭煲 3L", 8900)
        db.session.commit()
    assert search_json(runner, "电饭煲")["total"] == 0  # logged, not yet applied
    status = json.loads(runner.invoke(args=["index", "status", "--kind", "products", "--json"]).stdout)
    assert status["pending_changes"] >= 1
    result = runner.invoke(args=["index", "worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "applied" in result.stdout
    assert [row["id"] for row in search_json(runner, "电饭煲")["results"]] == [rice]
    assert json.loads(runner.invoke(args=["index", "status", "--json"]).stdout)["products"]["pending_changes"] == 0


def test_rebuild_if_missing_rebuilds_only_a_kind_built_with_another_schema(app, runner, goods):
    """`make run` calls `flask index rebuild --if-missing`: an index of an older schema is rebuilt, a current one kept."""
    from search_index.engine import SCHEMA_FILE

    kept = runner.invoke(args=["index", "rebuild", "--if-missing", "--kind", "products"])
    assert kept.exit_code == 0, kept.output
    assert "products: index present; nothing to do" in kept.stdout
    with app.app_context():
        index = sync.get_index("products")
        before = index.path
        # an index built before this session's schema change (no version recorded, or another one)
        (index.path / SCHEMA_FILE).write_text(json.dumps({"kind": "products", "version": "0ld"}), encoding="utf-8")
        assert index.is_stale()
    status = runner.invoke(args=["index", "status", "--kind", "products"])
    assert "schema:          0ld (stale: this code uses" in status.stdout
    rebuilt = runner.invoke(args=["index", "rebuild", "--if-missing"])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "products: rebuilt: 3 products" in rebuilt.stdout
    assert "built with schema 0ld" in rebuilt.stderr
    with app.app_context():
        index = sync.get_index("products")
        assert index.path != before and not index.is_stale()
        assert index.schema_version() == index.kind.version
    assert search_json(runner, "保温杯")["total"] == 1
    again = runner.invoke(args=["index", "rebuild", "--if-missing"])
    assert "products: index present; nothing to do" in again.stdout


def test_a_generation_without_a_schema_record_is_stale(app):
    with app.app_context():
        index = sync.get_index("requests")
        (index.path / "schema.json").unlink()
        assert index.schema_version() is None and index.is_stale()
