"""``flask search requests``: the board's search from the command line, shaped like ``flask search products``."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from marketplace.extensions import db
from marketplace.sourcing.services import today_in_china
from marketplace.sourcing.states import Visibility
from tests.search._requests import make_buyers, post


@pytest.fixture
def posted(app):
    with app.app_context():
        world = make_buyers()
        ids = {
            "cooker": post(world, title="采购智能电饭煲 4L", quantity=1000, hs_code="851660").id,
            "dumplings": post(world, title="采购冷冻水饺", category="food", quantity=200,
                              delivery_province_code="310000", delivery_city_code="310100",
                              deadline=today_in_china() + timedelta(days=3), required_certifications=()).id,
            "secret": post(world, title="采购电饭煲 邀请", visibility=Visibility.INVITED,
                           invited_company_ids=(world.exporter.id,)).id,
        }
        db.session.remove()
        return ids


def run(runner, *args):
    return runner.invoke(args=["search", "requests", *args])


def test_search_requests_json(runner, posted):
    result = run(runner, "电饭煲", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["total"] == 1 and [row["id"] for row in data["results"]] == [posted["cooker"]]
    row = data["results"][0]
    assert row["quantity"] == 1000 and row["hs_code"] == "851660" and row["certifications"] == ["CCC"]
    assert {"value": "small_appliances", "label": "小家电", "count": 1} in data["facets"]["category"]
    assert set(data) >= {"query", "total", "page", "pages", "suggestion", "errors", "notices", "results", "facets"}


def test_search_requests_filters_sort_and_text(runner, posted):
    data = json.loads(run(runner, "--province", "310000", "--json").stdout)
    assert [row["id"] for row in data["results"]] == [posted["dumplings"]]
    data = json.loads(run(runner, "--sort", "deadline", "--json").stdout)
    assert [row["id"] for row in data["results"]] == [posted["dumplings"], posted["cooker"]]  # invited never
    text = run(runner, "--qty-min", "500", "--limit", "5")
    assert text.exit_code == 0, text.output
    assert "1 requests (page 1 of 1)" in text.stdout and "采购智能电饭煲 4L" in text.stdout


def test_search_requests_bad_input_exits_2_with_a_message(runner, posted):
    result = run(runner, "--qty-min", "lots", "--json")
    assert result.exit_code == 2
    assert "必须是整数" in result.stderr
    assert json.loads(result.stdout)["total"] == 2  # the rest of the search still ran
    assert run(runner, "--limit", "0").exit_code == 2
