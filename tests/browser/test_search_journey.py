"""Issue 4's journey in a real browser, in Chinese: a buyer types a word that is not the
exporter's (电饭锅 for 电饭煲) in the navbar box of the home page, sees highlighted results with
facet counts, narrows by a category facet, sorts by price, follows a did-you-mean link for a
misspelling, and opens a product.
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from marketplace.catalog.rows import PriceTierInput
from tests.browser.conftest import screenshot
from tests.factories import make_company, make_product

pytestmark = pytest.mark.browser


def test_buyer_finds_a_product_by_a_synonym_narrows_and_opens_it(live_server, new_page):
    with live_server.app.app_context():
        exporter = make_company()
        make_product(exporter, sku="RC-1", title_zh="智能电饭煲 4L 预约定时", moq=100,
                     price_tiers=[PriceTierInput(100, 25900)])
        make_product(exporter, sku="RC-2", title_zh="IH电磁加热电饭煲 3L", moq=100,
                     price_tiers=[PriceTierInput(100, 15900)])
        make_product(exporter, sku="MUG-1", title_zh="304不锈钢保温杯 500ml", category="kitchenware", moq=500,
                     price_tiers=[PriceTierInput(500, 3900)])
        make_product(exporter, sku="RC-3", title_zh="迷你电饭煲 1.2L 宿舍", category="kitchenware", moq=50,
                     price_tiers=[PriceTierInput(50, 9900)])

    page = new_page()
    page.goto(live_server("/"))
    page.fill("[data-testid=navbar-q]", "电饭锅")
    page.locator("[data-testid=navbar-search] [type=submit]").click()

    results = page.locator("[data-testid=search-result]")
    expect(results).to_have_count(3)
    # the product's own word is highlighted although the buyer typed a synonym
    expect(results.first.locator("mark")).to_contain_text("电饭煲")
    category = page.locator("[data-testid=facet-category]")
    expect(category.locator("[data-testid=facet-value][data-value=small_appliances] [data-testid=facet-count]")
           ).to_have_text("2")
    screenshot(page, "search-results")

    category.locator("[data-testid=facet-value][data-value=small_appliances] a").first.click()
    expect(results).to_have_count(2)
    expect(page.locator("[data-testid=filter-chip][data-filter=category]")).to_be_visible()

    # a changed sort submits by itself once search.js has bound the form (before, the change is a user's own)
    expect(page.locator("#search-form[data-autosubmit-ready]")).to_have_count(1)
    page.select_option("[data-testid=search-sort]", "price_asc")
    expect(page).to_have_url(re.compile(r"sort=price_asc"))
    expect(results.first.locator("[data-testid=result-price]")).to_contain_text("159")
    expect(results.nth(1).locator("[data-testid=result-price]")).to_contain_text("259")

    # a misspelling: the page offers the right word, and the link finds the products
    page.fill("[data-testid=search-q]", "电饭褒")
    page.locator("[data-testid=search-form] [type=submit]").first.click()
    suggestion = page.locator("[data-testid=did-you-mean] a")
    expect(suggestion).to_have_text("电饭煲")
    suggestion.click()  # keeps the category filter and the sort
    expect(results).to_have_count(2)
    screenshot(page, "search-did-you-mean-followed")

    results.first.locator("[data-testid=result-title]").click()
    expect(page.locator("h1")).to_contain_text("电饭煲")
