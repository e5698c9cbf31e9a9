"""Layout a new user tripped over, measured in a real browser at 1366 px: the navbar's search box for every
role in both languages, and the intent history table in English (no column squeezed to one character)."""
from __future__ import annotations

import pytest

from marketplace.accounts.models import CompanyKind, Role
from marketplace.deals.states import Action
from tests.browser.conftest import screenshot
from tests.browser.test_catalog_journey import log_in
from tests.factories import make_company, make_product, make_user

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1366, "height": 900}
LANGUAGES = {"zh": {"locale": "zh-CN", "extra_http_headers": {"Accept-Language": "zh-CN"}},
             "en": {"locale": "en-US", "extra_http_headers": {"Accept-Language": "en"}}}


def _users(app) -> dict[str, str | None]:
    with app.app_context():
        return {
            "anonymous": None,
            # long names in the user menu make the navbar tighter still
            "exporter": make_user(make_company(kind=CompanyKind.EXPORTER), name="Alexandra Montgomery-Smith").email,
            "buyer": make_user(make_company(kind=CompanyKind.CHAIN_LEADER)).email,
            "retailer": make_user(make_company(kind=CompanyKind.RETAILER)).email,
            "organizer": make_user(role=Role.ORGANIZER).email,
            "admin": make_user(role=Role.PLATFORM_ADMIN).email,
        }


@pytest.mark.parametrize("language", ["zh", "en"])
def test_navbar_search_box_stays_usable_for_every_role_at_1366(live_server, new_page, language):
    for role, email in _users(live_server.app).items():
        page = new_page(viewport=DESKTOP, **LANGUAGES[language])
        if email:
            log_in(page, live_server, email)
        page.goto(live_server("/"))
        width = page.eval_on_selector("[data-testid=navbar-q]", "e => e.getBoundingClientRect().width")
        assert width >= 200, (role, language, width)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), (role, language)
        page.context.close()


def test_english_intent_history_keeps_names_and_terms_readable(live_server, new_page):
    from marketplace.deals import services
    from tests.test_deals_services import terms

    with live_server.app.app_context():
        exporter_company = make_company(kind=CompanyKind.EXPORTER, name_en="Ningbo Boyuan Electrical Appliances Co., Ltd.")
        exporter = make_user(company=exporter_company)
        product = make_product(company=exporter_company, actor=exporter)
        buyer = make_user(company=make_company(kind=CompanyKind.CHAIN_LEADER, name_en="Kaida Group Co., Ltd."))
        intent, _created = services.record_order_intent(buyer, product.id, terms(quantity=1000),
                                                        "browser-history-token-1")
        services.advance_order_intent(exporter, intent.id, Action.COUNTER, intent.version,
                                      terms=terms(quantity=2000, price=8800), note="起订量以上单价可再优惠。")
        buyer_email, intent_id = buyer.email, intent.id
    page = new_page(viewport=DESKTOP, **LANGUAGES["en"])
    log_in(page, live_server, buyer_email)
    page.goto(live_server(f"/deals/{intent_id}"))
    table = page.locator("[data-testid=intent-history] table")
    who = page.locator("[data-testid=history-row] td:nth-child(2)").first
    line_height = who.evaluate("e => parseFloat(getComputedStyle(e).lineHeight)")
    # "Ningbo Boyuan Electrical Appliances Co., Ltd." and the user's name: a few lines, not one per letter
    assert who.bounding_box()["width"] >= 140
    assert who.bounding_box()["height"] <= 6 * line_height
    # nothing is cut off: the table fits its card without scrolling sideways
    assert table.evaluate("e => e.parentElement.scrollWidth <= e.parentElement.clientWidth")
    screenshot(page, "intent-history-en-1366")
