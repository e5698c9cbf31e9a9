"""Issue 5's journey in a real browser, in Chinese: a buyer sends an order intent from a product page
(matches do not exist yet), the exporter counters, the buyer accepts, both sign, and both see the
same history and amounts.
"""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from marketplace.accounts.models import CompanyKind
from marketplace.deals.models import OrderIntent
from marketplace.deals.states import IntentState
from marketplace.extensions import db
from tests.browser.conftest import screenshot
from tests.browser.test_catalog_journey import log_in
from tests.factories import make_company, make_product, make_user

pytestmark = pytest.mark.browser


def test_buyer_and_exporter_negotiate_an_intent_to_signed(live_server, new_page):
    with live_server.app.app_context():
        exporter_company = make_company(kind=CompanyKind.EXPORTER, contact_phone="0574-88886666")
        exporter = make_user(company=exporter_company)
        product = make_product(company=exporter_company, actor=exporter, title_zh="浏览器测试空气炸锅")
        buyer = make_user(company=make_company(kind=CompanyKind.CHAIN_LEADER))
        exporter_email, buyer_email, product_id = exporter.email, buyer.email, product.id

    buyer_page = new_page()
    log_in(buyer_page, live_server, buyer_email)
    buyer_page.goto(live_server(f"/products/{product_id}"))
    buyer_page.locator("[data-testid=start-intent-button]").click()
    form = buyer_page.locator("form[data-testid=start-intent-form]")
    form.locator("input[name=quantity]").fill("500")
    form.locator("input[name=unit_price]").fill("80.50")
    form.locator("input[name=delivery_place]").fill("浙江省宁波市")
    form.locator("[data-testid=send-intent]").click()
    expect(buyer_page.locator("[data-testid=intent-state]").first).to_have_attribute("data-state", "submitted")
    expect(buyer_page.locator("[data-testid=intent-amount]")).to_contain_text("40,250.00")
    intent_url = buyer_page.url
    with live_server.app.app_context():
        intent_id = db.session.query(OrderIntent).one().id

    exporter_page = new_page()
    log_in(exporter_page, live_server, exporter_email)
    exporter_page.goto(intent_url)
    expect(exporter_page.locator("[data-testid=contact-hidden]")).to_be_visible()
    exporter_page.locator("[data-testid=counter] summary").click()
    counter = exporter_page.locator("form[data-testid=counter-form]")
    counter.locator("input[name=quantity]").fill("1000")
    counter.locator("input[name=unit_price]").fill("76.00")
    counter.locator("[data-testid=action-counter]").click()
    expect(exporter_page.locator("[data-testid=intent-state]").first).to_have_attribute("data-state", "countered")
    expect(exporter_page.locator("[data-testid=intent-amount]")).to_contain_text("76,000.00")

    buyer_page.goto(intent_url)
    buyer_page.locator("[data-testid=action-accept]").click()
    expect(buyer_page.locator("[data-testid=intent-state]").first).to_have_attribute("data-state", "accepted")
    # both sides agreed: the exporter's phone is shown now
    expect(buyer_page.locator("[data-testid=contact-details]")).to_contain_text("0574-88886666")
    buyer_page.locator("[data-testid=action-sign]").click()
    expect(buyer_page.locator("[data-testid=intent-signatures]")).to_be_visible()

    exporter_page.goto(intent_url)
    exporter_page.locator("[data-testid=action-sign]").click()
    expect(exporter_page.locator("[data-testid=intent-state]").first).to_have_attribute("data-state", "signed")

    buyer_page.goto(intent_url)
    expect(buyer_page.locator("[data-testid=intent-state]").first).to_have_attribute("data-state", "signed")
    for page in (buyer_page, exporter_page):
        expect(page.locator("[data-testid=history-row]")).to_have_count(5)
        expect(page.locator("[data-testid=intent-amount]")).to_contain_text("76,000.00")
    buyer_history = buyer_page.locator("[data-testid=intent-history] tbody").inner_text()
    exporter_history = exporter_page.locator("[data-testid=intent-history] tbody").inner_text()
    assert buyer_history == exporter_history
    assert "还价" in buyer_history or "Counter" not in buyer_history  # shown in Chinese
    screenshot(buyer_page, "deals-intent-signed")

    buyer_page.goto(live_server("/deals/"))
    # totals are scanned: compact (万), the exact amount as the tooltip
    signed_total = buyer_page.locator("[data-testid=total-row][data-state=signed] [title]")
    expect(signed_total).to_have_text("¥7.6万")
    expect(signed_total).to_have_attribute("title", "¥76,000.00")
    with live_server.app.app_context():
        intent = db.session.get(OrderIntent, intent_id)
        assert intent.state is IntentState.SIGNED and intent.amount_fen == 1000 * 7600 and intent.version == 5
