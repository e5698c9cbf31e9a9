"""Issue 10's journey in a real browser, in Chinese: a buyer posts a procurement request (with a preview), an
exporter finds it among the open requests and quotes, a second exporter quotes, the buyer compares the
quotes, awards one, and the order intent is there with the quote's terms. The new pages are also
photographed at 1366 px in Chinese and English for a person to look at.
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from marketplace.accounts.models import CompanyKind
from marketplace.deals.models import OrderIntent
from marketplace.deals.states import IntentState
from marketplace.extensions import db
from marketplace.sourcing.models import ProcurementRequest, Quote
from marketplace.sourcing.states import QuoteState, RequestState
from tests.browser.conftest import screenshot
from tests.browser.test_catalog_journey import log_in
from tests.factories import make_company, make_product, make_user

pytestmark = pytest.mark.browser
WIDE = {"width": 1366, "height": 900}


def _quote(page, live_server, request_id: int, price: str, lead_time: str, product_label: str | None = None):
    page.goto(live_server("/sourcing/board"))
    item = page.locator(f"[data-testid=board-item][data-request-id='{request_id}']")
    expect(item).to_contain_text("商超自有品牌电饭煲")
    item.click()
    form = page.locator("form[data-testid=quote-form]")
    form.locator("input[name=unit_price]").fill(price)
    form.locator("input[name=moq]").fill("200")
    form.locator("input[name=lead_time_days]").fill(lead_time)
    if product_label:
        form.locator("select[name=product_id]").select_option(label=product_label)
    form.locator("textarea[name=note]").fill("含税含运费到仓")
    form.locator("[data-testid=send-quote]").click()
    expect(page.locator("[data-testid=my-quote] [data-testid=quote-state]")).to_have_attribute("data-state",
                                                                                              "submitted")


def test_buyer_posts_exporters_quote_buyer_compares_and_awards(live_server, new_page):
    with live_server.app.app_context():
        exporter_a = make_company(kind=CompanyKind.EXPORTER, name_zh="宁波甬厨电器有限公司", province_code="330000",
                                  city_code="330200")
        user_a = make_user(company=exporter_a)
        make_product(company=exporter_a, actor=user_a, title_zh="甬厨智能电饭煲4L")
        exporter_b = make_company(kind=CompanyKind.EXPORTER, name_zh="佛山美厨家电有限公司")
        user_b = make_user(company=exporter_b)
        buyer = make_user(company=make_company(kind=CompanyKind.CHAIN_LEADER, name_zh="华东优选商贸集团"))
        emails = {"a": user_a.email, "b": user_b.email, "buyer": buyer.email}

    buyer_page = new_page(viewport=WIDE)
    buyer_page.on("dialog", lambda dialog: dialog.accept())
    log_in(buyer_page, live_server, emails["buyer"])
    buyer_page.goto(live_server("/sourcing/requests/mine"))
    buyer_page.locator("[data-testid=post-request]").click()
    form = buyer_page.locator("form[data-testid=request-form]")
    form.locator("input[name=title]").fill("商超自有品牌电饭煲 4L")
    form.locator("textarea[name=description]").fill("华东 300 家门店，需中文包装。")
    form.locator("select[name=category]").select_option("small_appliances")
    form.locator("input[name=quantity]").fill("1000")
    form.locator("select[name=unit]").select_option("台")
    form.locator("input[name=target_price]").fill("90.00")
    form.locator("select[name=province_code]").select_option("330000")
    expect(form.locator("select[name=city_code] option[value='330200']")).to_be_attached()
    form.locator("select[name=city_code]").select_option("330200")
    form.locator("#cert-CCC").check()
    form.locator("#ready-vat_invoice").check()
    screenshot(buyer_page, "sourcing-post-zh")
    form.locator("[data-testid=save-request]").click()
    expect(buyer_page.locator("[data-testid=preview-banner]")).to_be_visible()
    screenshot(buyer_page, "sourcing-preview-zh")
    buyer_page.locator("[data-testid=action-publish]").click()
    expect(buyer_page.locator("[data-testid=request-state]").first).to_have_attribute("data-state", "open")
    request_url = buyer_page.url
    with live_server.app.app_context():
        request_id = db.session.scalars(sa.select(ProcurementRequest.id)).one()

    page_a = new_page(viewport=WIDE)
    log_in(page_a, live_server, emails["a"])
    page_a.goto(live_server("/sourcing/board"))
    screenshot(page_a, "sourcing-board-zh")
    _quote(page_a, live_server, request_id, "92.50", "20", "甬厨智能电饭煲4L")
    screenshot(page_a, "sourcing-request-exporter-zh")

    page_b = new_page(viewport=WIDE)
    log_in(page_b, live_server, emails["b"])
    _quote(page_b, live_server, request_id, "86.00", "35")
    # B sees its own quote only, never A's
    assert "甬厨" not in page_b.content()

    buyer_page.goto(request_url)
    buyer_page.locator("[data-testid=compare-link]").click()
    buyer_page.locator("[data-testid=sort-price]").click()
    rows = buyer_page.locator("[data-testid=compare-row]")
    expect(rows).to_have_count(2)
    expect(rows.first.locator("[data-testid=compare-exporter]")).to_have_text("佛山美厨家电有限公司")
    expect(rows.first.locator("[data-testid=compare-price]")).to_contain_text("86.00")
    screenshot(buyer_page, "sourcing-compare-zh")
    rows.first.locator("[data-testid=award]").click()
    expect(buyer_page.locator("[data-testid=intent-state]").first).to_have_attribute("data-state", "submitted")
    expect(buyer_page.locator("[data-testid=intent-amount]")).to_contain_text("86,000.00")
    expect(buyer_page.locator("[data-testid=intent-exporter]")).to_have_text("佛山美厨家电有限公司")

    with live_server.app.app_context():
        intent = db.session.scalars(sa.select(OrderIntent)).one()
        winner = db.session.scalar(sa.select(Quote).where(Quote.unit_price_fen == 8600))
        assert (intent.request_id, intent.quote_id) == (request_id, winner.id)
        assert (intent.quantity, intent.unit_price_fen, intent.state) == (1000, 8600, IntentState.SUBMITTED)
        assert winner.state is QuoteState.AWARDED
        assert db.session.get(ProcurementRequest, request_id).state is RequestState.AWARDED
        a_quote_id = db.session.scalar(sa.select(Quote.id).where(Quote.unit_price_fen == 9250))

    # the same pages in English, for the screenshots
    english = {"locale": "en-US", "extra_http_headers": {"Accept-Language": "en"}, "viewport": WIDE}
    buyer_en = new_page(**english)
    log_in(buyer_en, live_server, emails["buyer"])
    for path, name in ((f"/sourcing/requests/{request_id}/quotes", "sourcing-compare-en"),
                       ("/sourcing/requests/new", "sourcing-post-en"),
                       ("/sourcing/requests/mine", "sourcing-my-requests-en")):
        buyer_en.goto(live_server(path))
        screenshot(buyer_en, name)
    buyer_page.goto(live_server("/sourcing/requests/mine"))
    screenshot(buyer_page, "sourcing-my-requests-zh")
    page_a.goto(live_server(f"/sourcing/quotes/{a_quote_id}"))
    screenshot(page_a, "sourcing-quote-exporter-zh")
    exporter_en = new_page(**english)
    log_in(exporter_en, live_server, emails["a"])
    for path, name in (("/sourcing/board", "sourcing-board-en"), (f"/sourcing/requests/{request_id}",
                                                                   "sourcing-request-exporter-en")):
        exporter_en.goto(live_server(path))
        screenshot(exporter_en, name)
