"""The request board (商机大厅) reads the search index: words, filters with counts, sort, highlighting,
pages, did-you-mean; bad input never fails the page; invited-only requests never appear in results, counts
or facets for anyone, and invited exporters still see their invitations (from the database)."""
from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest

from marketplace.database import utcnow
from marketplace.extensions import db
from marketplace.search import sync as search_sync
from marketplace.sourcing.models import ProcurementRequest
from marketplace.sourcing.services import today_in_china
from marketplace.sourcing.states import Visibility
from tests.conftest import login
from tests.search._requests import make_buyers, post

XSS = "<script>alert(1)</script>"


@pytest.fixture
def board(app):
    """Four open public requests, one invited-only (the invited exporter's), one draft; clients per viewer."""
    with app.app_context(), search_sync.drain_once():  # one index commit for the lot
        world = make_buyers(name_zh="宁波甬采供应链有限公司")
        today = today_in_china()
        ids = {
            "cooker": post(world, title="采购智能电饭煲 4L", description="用于门店销售的电饭煲，需 CCC 认证",
                           quantity=1000, hs_code="851660", deadline=today + timedelta(days=20)).id,
            "kettle": post(world, title="采购不锈钢电热水壶", category="small_appliances", quantity=5000,
                           hs_code="851671", deadline=today + timedelta(days=5), required_certifications=()).id,
            "dumplings": post(world, title="采购冷冻水饺", category="food", quantity=200, hs_code="1902",
                              delivery_province_code="310000", delivery_city_code="310100",
                              required_certifications=(), deadline=today + timedelta(days=10)).id,
            "lamp": post(world, title=f"采购 LED 吸顶灯 {XSS}", description=XSS, category="lighting",
                         quantity=300, hs_code="9405", deadline=today + timedelta(days=30)).id,
            "secret": post(world, title="采购电饭煲 邀请专供", visibility=Visibility.INVITED,
                           invited_company_ids=(world.exporter.id,)).id,
            "draft": post(world, publish=False, title="采购电饭煲 草稿").id,
        }
        emails = {"invited": world.exporter_user.email, "outsider": world.outsider_user.email,
                  "buyer": world.buyer_user.email}
        db.session.remove()
    clients = {}
    for name, email in emails.items():
        client = app.test_client()
        login(client, email)
        clients[name] = client
    return ids, clients


def listed(page: str) -> list[int]:
    """Request ids of the board's search results, in order (invitations excluded)."""
    results = page.split('data-testid="board-list"', 1)
    if len(results) < 2:
        return []
    return [int(i) for i in re.findall(r'data-testid="board-item" data-request-id="(\d+)"', results[1])]


def facet_counts(page: str, name: str) -> dict[str, int]:
    block = page.split(f'data-testid="facet-{name}"', 1)[1].split("</div>", 1)[0]
    return {value: int(count) for value, count in re.findall(
        r'data-value="([^"]+)".*?data-testid="facet-count">([\d,]+)<', block, flags=re.S)}


def test_board_searches_chinese_words_with_highlight_and_counts(board):
    ids, clients = board
    page = clients["outsider"].get("/sourcing/board?q=电饭煲").get_data(as_text=True)
    assert listed(page) == [ids["cooker"]]
    assert "<mark>电饭煲</mark>" in page
    assert 'data-testid="result-count">1 ' in page
    everything = clients["outsider"].get("/sourcing/board").get_data(as_text=True)
    assert set(listed(everything)) == {ids["cooker"], ids["kettle"], ids["dumplings"], ids["lamp"]}
    assert facet_counts(everything, "category") == {"small_appliances": 2, "food": 1, "lighting": 1}
    assert facet_counts(everything, "province") == {"330000": 3, "310000": 1}


def test_invited_only_requests_never_show_in_results_counts_or_facets(board):
    ids, clients = board
    for viewer in ("invited", "outsider"):
        page = clients[viewer].get("/sourcing/board?q=电饭煲").get_data(as_text=True)
        assert listed(page) == [ids["cooker"]]
        assert 'data-testid="result-count">1 ' in page
        assert facet_counts(page, "category") == {"small_appliances": 1}
        assert "草稿" not in page
    invited = clients["invited"].get("/sourcing/board").get_data(as_text=True)
    invitations = invited.split('data-testid="board-invitations"', 1)[1].split('data-testid="board-list"', 1)[0]
    assert f'data-request-id="{ids["secret"]}"' in invitations and ids["secret"] not in listed(invited)
    outsider = clients["outsider"].get("/sourcing/board").get_data(as_text=True)
    assert "邀请专供" not in outsider and 'data-testid="board-invitations"' not in outsider


@pytest.mark.parametrize("query, expected", [
    ("category=food", ["dumplings"]),
    ("hs=8516", ["cooker", "kettle"]),
    ("province=310000", ["dumplings"]),
    ("cert=CCC", ["cooker", "lamp"]),
    ("qty_min=1000", ["cooker", "kettle"]),
    ("qty_min=250&qty_max=1000", ["cooker", "lamp"]),
    ("due_by={in_7}", ["kettle"]),
])
def test_board_filters(board, query, expected):
    ids, clients = board
    query = query.format(in_7=(today_in_china() + timedelta(days=7)).isoformat())
    page = clients["outsider"].get(f"/sourcing/board?{query}").get_data(as_text=True)
    assert sorted(listed(page)) == sorted(ids[name] for name in expected)
    assert 'data-testid="filter-chip"' in page


@pytest.mark.parametrize("sort, expected", [
    ("deadline", ["kettle", "dumplings", "cooker", "lamp"]),
    ("quantity", ["kettle", "cooker", "lamp", "dumplings"]),
    ("newest", ["lamp", "dumplings", "kettle", "cooker"]),
])
def test_board_sorts(app, board, sort, expected):
    ids, clients = board
    with app.app_context():  # published a minute apart, in the order posted (a change the index follows)
        for minutes, name in enumerate(("cooker", "kettle", "dumplings", "lamp")):
            request = db.session.get(ProcurementRequest, ids[name])
            request.published_at = utcnow() - timedelta(minutes=10 - minutes)
        db.session.commit()
    page = clients["outsider"].get(f"/sourcing/board?sort={sort}").get_data(as_text=True)
    assert listed(page) == [ids[name] for name in expected]


def test_board_pages_and_did_you_mean(app, board):
    ids, clients = board
    with app.app_context():
        world = make_buyers()
        for n in range(25):
            post(world, title=f"采购保温杯 第{n}批")
    first = clients["outsider"].get("/sourcing/board?q=保温杯").get_data(as_text=True)
    second = clients["outsider"].get("/sourcing/board?q=保温杯&page=2").get_data(as_text=True)
    assert len(listed(first)) == 20 and len(listed(second)) == 5
    assert not set(listed(first)) & set(listed(second))
    assert 'data-testid="search-pager"' in first
    typo = clients["outsider"].get("/sourcing/board?q=电饭堡").get_data(as_text=True)
    assert 'data-testid="did-you-mean"' in typo and "电饭煲" in typo


def test_board_escapes_what_buyers_wrote_and_what_was_searched(board):
    ids, clients = board
    page = clients["outsider"].get("/sourcing/board?q=" + XSS).get_data(as_text=True)
    assert XSS not in page
    lamp = clients["outsider"].get("/sourcing/board?q=吸顶灯").get_data(as_text=True)
    assert listed(lamp) == [ids["lamp"]]
    assert XSS not in lamp and html.escape(XSS) in lamp


@pytest.mark.parametrize("query, message", [
    ("qty_min=abc", "must be a whole number"),
    ("qty_min=500&qty_max=10", "quantity range was not applied"),
    ("due_by=2026-13-45", "must be a date"),
    ("due_by=2001-01-01", "That day has passed"),
    ("category=nope", "Unknown category"),
    ("hs=abc", "digits only"),
    ("sort=price_asc", "Unknown sort order"),
    ("page=-3", "Pages are numbered from 1"),
    ("page=99999999999999999999", ""),
    ("q=%00%ff%fe" + "x" * 5000, ""),
    ("cert=%3Cb%3E", "Unknown certification"),
])
def test_bad_board_input_never_fails_the_page(app, board, query, message):
    ids, clients = board
    client = clients["outsider"]
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    response = client.get(f"/sourcing/board?{query}")
    assert response.status_code == 200
    if message:
        assert message in response.get_data(as_text=True)


def test_board_is_for_exporters(board):
    _ids, clients = board
    assert clients["buyer"].get("/sourcing/board").status_code == 403


def test_board_survives_a_broken_index(app, board, monkeypatch):
    from marketplace.sourcing import queries

    def broken(*_args, **_kwargs):
        raise OSError("disk gone")

    monkeypatch.setattr(queries, "search_requests_index", broken)
    _ids, clients = board
    client = clients["outsider"]
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    response = client.get("/sourcing/board?q=电饭煲")
    assert response.status_code == 200
    assert "Search is not available right now" in response.get_data(as_text=True)
