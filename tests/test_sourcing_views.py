"""Sourcing pages: posting with a preview, bad input on the forms, the board, quoting, comparing, exporting, awarding."""
from __future__ import annotations

import io
import re
from datetime import timedelta

import sqlalchemy as sa
from openpyxl import load_workbook

from marketplace.accounts.models import CompanyKind
from marketplace.deals.models import OrderIntent
from marketplace.extensions import db
from marketplace.sourcing import services
from marketplace.sourcing.models import ProcurementRequest, Quote
from marketplace.sourcing.services import today_in_china
from marketplace.sourcing.states import QuoteState, RequestState
from tests.conftest import login
from tests.factories import make_company, make_user
from tests.test_sourcing_services import PDF, make_world, post, quote, quote_input, request_input, token

CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
TOKEN_RE = re.compile(r'name="token" type="hidden" value="([^"]+)"')
XSS = "<script>alert(1)</script>"
FILE_XSS = "<img src=x onerror=alert(1)>规格.pdf"


def _setup(app):
    with app.app_context():
        world = make_world()
        return {"buyer": world.buyer_user.email, "exporter": world.exporter_user.email,
                "rival": world.rival_user.email, "product_id": world.product.id, "world_ids": world}


def _client(app, email, english=True):
    client = app.test_client()
    if english:
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    login(client, email)
    return client


def _form_data(client, url, **overrides):
    page = client.get(url).get_data(as_text=True)
    data = {
        "csrf_token": CSRF_RE.search(page).group(1), "token": TOKEN_RE.search(page).group(1),
        "title": "采购智能电饭煲 4L", "description": "用于门店", "category": "small_appliances", "hs_code": "8516",
        "quantity": "1000", "unit": "台", "target_price": "90.00", "budget": "", "province_code": "330000",
        "city_code": "330200", "certifications": ["CCC"], "readiness": ["ccc", "vat_invoice"],
        "deadline": str(today_in_china() + timedelta(days=10)), "visibility": "public",
    }
    data.update(overrides)
    return data


def test_post_preview_publish_and_list(app):
    s = _setup(app)
    buyer = _client(app, s["buyer"])
    data = _form_data(buyer, "/sourcing/requests/new")
    data["attachments"] = (io.BytesIO(PDF), "规格书.pdf")
    response = buyer.post("/sourcing/requests/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 302
    page = buyer.get(response.headers["Location"]).get_data(as_text=True)
    assert 'data-testid="preview-banner"' in page and "规格书.pdf" in page
    with app.app_context():
        request = db.session.scalars(sa.select(ProcurementRequest)).one()
        request_id, version = request.id, request.version
        assert request.state is RequestState.DRAFT and request.hs_code == "8516"
    # nobody else sees the draft
    assert _client(app, s["exporter"]).get(f"/sourcing/requests/{request_id}").status_code == 404
    csrf = CSRF_RE.search(page).group(1)
    response = buyer.post(f"/sourcing/requests/{request_id}/act",
                          data={"csrf_token": csrf, "action": "publish", "version": version}, follow_redirects=True)
    assert "published" in response.get_data(as_text=True)
    listing = buyer.get("/sourcing/requests/mine?state=open").get_data(as_text=True)
    assert "采购智能电饭煲 4L" in listing and 'data-testid="request-row"' in listing
    replay = buyer.post("/sourcing/requests/new", data={**data, "attachments": (io.BytesIO(PDF), "a.pdf")},
                        content_type="multipart/form-data", follow_redirects=True)
    assert "already been saved" in replay.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ProcurementRequest)) == 1


def test_post_form_bad_input_shows_messages_and_writes_nothing(app):
    s = _setup(app)
    buyer = _client(app, s["buyer"])
    cases = [
        ({"quantity": "0"}, "Must be at least 1"),
        ({"quantity": "-3"}, "Must not be negative"),
        ({"quantity": "99999999999"}, "Too large"),
        ({"target_price": "12.345"}, "more than two decimals"),
        ({"description": "长" * 100_000}, "Use at most 10000 characters"),
        ({"deadline": str(today_in_china() - timedelta(days=1))}, "The deadline has already passed"),
        ({"city_code": "110100"}, "not in the province"),
        ({"hs_code": "9999"}, "does not exist"),
    ]
    for overrides, message in cases:
        response = buyer.post("/sourcing/requests/new", data=_form_data(buyer, "/sourcing/requests/new", **overrides))
        text = response.get_data(as_text=True)
        assert response.status_code == 400, overrides
        assert message in text, (overrides, message)
    # the same refusals in Chinese for a Chinese reader
    zh = _client(app, s["buyer"], english=False)
    response = zh.post("/sourcing/requests/new", data=_form_data(zh, "/sourcing/requests/new", quantity="0"))
    assert response.status_code == 400 and "Must be at least" not in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ProcurementRequest)) == 0


def test_unverified_buyer_sees_why_and_cannot_post(app):
    with app.app_context():
        user = make_user(company=make_company(kind=CompanyKind.RETAILER, verified=False))
        email = user.email
    client = _client(app, email)
    listing = client.get("/sourcing/requests/mine").get_data(as_text=True)
    assert 'data-testid="unverified-note"' in listing and 'data-testid="post-request"' not in listing
    response = client.get("/sourcing/requests/new")
    assert response.status_code == 403 and "must be verified" in response.get_data(as_text=True)
    response = client.post("/sourcing/requests/new", data={"csrf_token": CSRF_RE.search(listing).group(1)
                                                           if CSRF_RE.search(listing) else "", "title": "x"})
    assert response.status_code in (400, 403)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ProcurementRequest)) == 0


def test_html_in_every_text_field_is_escaped(app):
    with app.app_context():
        world = make_world()
        request = post(world, title=XSS, description=XSS)
        found, _created = services.submit_quote(world.exporter_user, request.id,
                                                quote_input(note=XSS), token(), (PDF, FILE_XSS))
        drafted, _created = services.create_request(world.buyer_user, request_input(title="附件"), token(),
                                                    [(PDF, FILE_XSS)])
        buyer_email, exporter_email = world.buyer_user.email, world.exporter_user.email
        request_id, quote_id = request.id, found.id
        drafted_id = drafted.id
    buyer = _client(app, buyer_email)
    exporter = _client(app, exporter_email)
    for client, url in ((buyer, f"/sourcing/requests/{request_id}"), (buyer, f"/sourcing/requests/{request_id}/quotes"),
                        (buyer, f"/sourcing/quotes/{quote_id}"), (exporter, f"/sourcing/requests/{request_id}"),
                        (exporter, "/sourcing/board"), (exporter, "/sourcing/quotes/mine"),
                        (buyer, "/sourcing/requests/mine")):
        page = client.get(url).get_data(as_text=True)
        assert XSS not in page, url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page, url
    for client, url in ((buyer, f"/sourcing/requests/{drafted_id}"), (buyer, f"/sourcing/quotes/{quote_id}"),
                        (exporter, f"/sourcing/quotes/{quote_id}")):
        page = client.get(url).get_data(as_text=True)
        assert FILE_XSS not in page and "&lt;img src=x onerror=alert(1)&gt;规格.pdf" in page, url


def test_board_filters_and_quote_form(app):
    with app.app_context():
        world = make_world()
        fits = post(world)
        post(world, title="采购冷冻水饺", category="food", delivery_province_code="310000",
             delivery_city_code="310100")
        exporter_email, fits_id = world.exporter_user.email, fits.id
    exporter = _client(app, exporter_email)
    board = exporter.get("/sourcing/board?category=small_appliances&province=330000").get_data(as_text=True)
    assert "采购智能电饭煲" in board and "冷冻水饺" not in board
    board = exporter.get("/sourcing/board?province=310000").get_data(as_text=True)
    assert "冷冻水饺" in board and "采购智能电饭煲" not in board
    page = exporter.get(f"/sourcing/requests/{fits_id}").get_data(as_text=True)
    data = {"csrf_token": CSRF_RE.search(page).group(1), "token": TOKEN_RE.search(page).group(1),
            "unit_price": "88.50", "quantity": "1000", "moq": "100", "lead_time_days": "15",
            "valid_until": str(today_in_china() + timedelta(days=20)), "note": "含税价"}
    bad = exporter.post(f"/sourcing/requests/{fits_id}/quote", data={**data, "unit_price": "1.234"})
    assert bad.status_code == 400 and "more than two decimals" in bad.get_data(as_text=True)
    first = exporter.post(f"/sourcing/requests/{fits_id}/quote", data=data)
    assert first.status_code == 302
    again = exporter.post(f"/sourcing/requests/{fits_id}/quote", data=data, follow_redirects=True)
    assert "already been recorded" in again.get_data(as_text=True)
    with app.app_context():
        quotes = db.session.scalars(sa.select(Quote)).all()
        assert len(quotes) == 1 and quotes[0].unit_price_fen == 8850


def test_compare_sort_export_and_award(app):
    with app.app_context():
        world = make_world()
        request = post(world)
        mine = quote(world.exporter_user, request, product_id=world.product.id, unit_price_fen=9900,
                     note="=HYPERLINK(\"http://evil\")")
        theirs = quote(world.rival_user, request, unit_price_fen=8100, lead_time_days=40)
        buyer_email, request_id, mine_id, theirs_id = world.buyer_user.email, request.id, mine.id, theirs.id
        mine_version = mine.version
    buyer = _client(app, buyer_email)
    page = buyer.get(f"/sourcing/requests/{request_id}/quotes?sort=price").get_data(as_text=True)
    order = re.findall(r'data-testid="compare-row" data-quote-id="(\d+)"', page)
    assert order == [str(theirs_id), str(mine_id)]
    page = buyer.get(f"/sourcing/requests/{request_id}/quotes?sort=lead_time").get_data(as_text=True)
    assert re.findall(r'data-quote-id="(\d+)"', page) == [str(mine_id), str(theirs_id)]
    assert buyer.get(f"/sourcing/requests/{request_id}/quotes?sort=bogus").status_code == 200
    export = buyer.get(f"/sourcing/requests/{request_id}/quotes.xlsx?sort=price")
    assert export.status_code == 200
    sheet = load_workbook(io.BytesIO(export.data)).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert len(values) == 3 and values[0][0] == "Exporter"
    assert any(v == "'=HYPERLINK(\"http://evil\")" for v in values[2]), values[2]
    csrf = CSRF_RE.search(page).group(1)
    response = buyer.post(f"/sourcing/quotes/{mine_id}/act",
                          data={"csrf_token": csrf, "action": "award", "version": mine_version, "back": "compare"})
    assert response.status_code == 302 and "/deals/" in response.headers["Location"]
    intent_page = buyer.get(response.headers["Location"]).get_data(as_text=True)
    assert "¥99,000.00" in intent_page  # 1,000 × ¥99.00
    # the intent links back to the quote it came from (which both parties may open)
    assert f'href="/sourcing/quotes/{mine_id}" data-testid="intent-source"' in intent_page
    assert buyer.get(f"/sourcing/quotes/{mine_id}").status_code == 200
    with app.app_context():
        intent = db.session.scalars(sa.select(OrderIntent)).one()
        assert (intent.request_id, intent.quote_id, intent.unit_price_fen) == (request_id, mine_id, 9900)
        assert db.session.get(Quote, mine_id).state is QuoteState.AWARDED


def test_cli_expire(app, runner):
    with app.app_context():
        world = make_world()
        request = post(world)
        db.session.execute(sa.update(ProcurementRequest).where(ProcurementRequest.id == request.id)
                           .values(deadline=today_in_china() - timedelta(days=2)))
        db.session.commit()
        request_id = request.id
    result = runner.invoke(args=["sourcing", "expire"])
    assert result.exit_code == 0 and "expired 1" in result.output
    with app.app_context():
        assert db.session.get(ProcurementRequest, request_id).state is RequestState.EXPIRED
    again = runner.invoke(args=["sourcing", "expire"])
    assert "expired 0" in again.output
