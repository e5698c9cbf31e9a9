"""Issue 11's journey in a real browser, in Chinese: a buyer posts a request and sees the suppliers that fit
it with their reasons; an exporter sees the request as a business opportunity (商机) on its product page and
in its list, and quotes from there. The new pages are photographed at 1366 px in Chinese and English.
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from marketplace.accounts.models import CompanyKind
from marketplace.catalog.rows import PriceTierInput
from marketplace.extensions import db
from marketplace.sourcing.models import ProcurementRequest
from tests.browser.conftest import screenshot
from tests.browser.test_catalog_journey import log_in
from tests.factories import make_company, make_product, make_user

pytestmark = pytest.mark.browser
WIDE = {"width": 1366, "height": 900}


def test_buyer_sees_suppliers_with_reasons_exporter_quotes_from_its_opportunity(live_server, new_page):
    with live_server.app.app_context():
        exporter = make_company(kind=CompanyKind.EXPORTER, name_zh="宁波甬厨电器有限公司", province_code="330000",
                                city_code="330200")
        exporter_user = make_user(company=exporter)
        product = make_product(company=exporter, actor=exporter_user, title_zh="不锈钢保温杯 500ml 食品级",
                               category="kitchenware", moq=500, price_tiers=[PriceTierInput(500, 2300)],
                               monthly_capacity=50000)
        far = make_company(kind=CompanyKind.EXPORTER, name_zh="广州远航家居有限公司", province_code="440000",
                           city_code="440100")
        make_product(company=far, actor=make_user(company=far), title_zh="真空保温杯 大容量", category="kitchenware",
                     moq=5000, price_tiers=[PriceTierInput(5000, 2400)], monthly_capacity=100000)
        buyer = make_user(company=make_company(kind=CompanyKind.CHAIN_LEADER, name_zh="华东优选商贸集团",
                                               province_code="330000", city_code="330200"))
        emails = {"exporter": exporter_user.email, "buyer": buyer.email}
        product_id = product.id

    buyer_page = new_page(viewport=WIDE)
    log_in(buyer_page, live_server, emails["buyer"])
    buyer_page.goto(live_server("/sourcing/requests/mine"))
    buyer_page.locator("[data-testid=post-request]").click()
    form = buyer_page.locator("form[data-testid=request-form]")
    form.locator("input[name=title]").fill("采购不锈钢保温杯")
    form.locator("textarea[name=description]").fill("促销赠品 2000 个，需食品级，送货到宁波。")
    form.locator("select[name=category]").select_option("kitchenware")
    form.locator("input[name=quantity]").fill("2000")
    form.locator("select[name=unit]").select_option("个")
    form.locator("input[name=target_price]").fill("25.00")
    form.locator("select[name=province_code]").select_option("330000")
    expect(form.locator("select[name=city_code] option[value='330200']")).to_be_attached()
    form.locator("select[name=city_code]").select_option("330200")
    form.locator("[data-testid=save-request]").click()
    buyer_page.locator("[data-testid=action-publish]").click()
    expect(buyer_page.locator("[data-testid=request-state]").first).to_have_attribute("data-state", "open")
    buyer_page.reload()
    suppliers = buyer_page.locator("[data-testid=supplier-row]")
    expect(suppliers).to_have_count(2)
    expect(suppliers.first).to_contain_text("宁波甬厨电器有限公司")
    expect(suppliers.first).to_contain_text("同城")
    expect(suppliers.nth(1)).to_contain_text("起订量 5,000 > 需求 2,000")
    buyer_page.locator("#suppliers").scroll_into_view_if_needed()
    screenshot(buyer_page, "matching-suppliers-zh")
    with live_server.app.app_context():
        request_id = db.session.scalars(sa.select(ProcurementRequest.id)).one()

    exporter_page = new_page(viewport=WIDE)
    log_in(exporter_page, live_server, emails["exporter"])
    exporter_page.goto(live_server(f"/products/{product_id}"))
    fits = exporter_page.locator("[data-testid=fit-row]")
    expect(fits).to_have_count(1)
    expect(fits.first).to_contain_text("采购不锈钢保温杯")
    screenshot(exporter_page, "matching-product-fits-zh")
    exporter_page.goto(live_server("/matching/opportunities"))
    expect(exporter_page.locator("[data-testid=opportunity-row]")).to_have_count(1)
    screenshot(exporter_page, "matching-opportunities-zh")
    exporter_page.locator("[data-testid=opportunity-row] a", has_text="立即报价").click()
    quote = exporter_page.locator("form[data-testid=quote-form]")
    quote.locator("input[name=unit_price]").fill("23.00")
    quote.locator("input[name=moq]").fill("500")
    quote.locator("input[name=lead_time_days]").fill("15")
    quote.locator("[data-testid=send-quote]").click()
    expect(exporter_page.locator("[data-testid=my-quote] [data-testid=quote-state]")).to_have_attribute(
        "data-state", "submitted")

    english = {"locale": "en-US", "extra_http_headers": {"Accept-Language": "en"}, "viewport": WIDE}
    buyer_en = new_page(**english)
    log_in(buyer_en, live_server, emails["buyer"])
    buyer_en.goto(live_server(f"/sourcing/requests/{request_id}#suppliers"))
    expect(buyer_en.locator("[data-testid=supplier-row]").first).to_contain_text("Same city")
    screenshot(buyer_en, "matching-suppliers-en")
    buyer_en.goto(live_server(f"/matching/requests/{request_id}/why?product={product_id}"))
    screenshot(buyer_en, "matching-why-en")
    exporter_en = new_page(**english)
    log_in(exporter_en, live_server, emails["exporter"])
    exporter_en.goto(live_server("/matching/opportunities"))
    screenshot(exporter_en, "matching-opportunities-en")
    exporter_en.goto(live_server("/"))
    screenshot(exporter_en, "workbench-exporter-en")
    buyer_page.goto(live_server("/"))
    screenshot(buyer_page, "workbench-buyer-zh")
