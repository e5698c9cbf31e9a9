"""The search pages as buyers see them: results, highlights, filters with counts, sort, pages,
did-you-mean, what never shows, escaping, odd input, the navbar box, exporters, storefront search."""
from __future__ import annotations

import io
import re
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from html import unescape
from types import SimpleNamespace
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from PIL import Image

from marketplace.accounts.models import Company, CompanyKind, CompanyTag, CompanyTagKind
from marketplace.catalog import services as catalog_services
from marketplace.catalog.models import CccStatus, Product
from marketplace.catalog.rows import CertificationInput, PriceTierInput
from marketplace.extensions import db
from marketplace.search import services as search_services
from marketplace.search import sync as search_sync
from tests.conftest import login
from tests.factories import make_company, make_product, make_user

UNAVAILABLE = "Search is not available right now"


# ----------------------------------------------------------------------------- data


def product(company, title_zh, price_fen, moq=100, **fields) -> int:
    """A published product priced ``price_fen`` at its MOQ (every other field as the factory makes it)."""
    fields.setdefault("category", "small_appliances")
    return make_product(company, title_zh=title_zh, moq=moq,
                        price_tiers=[PriceTierInput(moq, price_fen), PriceTierInput(moq * 10, price_fen - 1)],
                        **fields).id


@pytest.fixture
def shop(app):
    """Two verified exporters (one tagged 专精特新) with five public products, plus products nobody may see.

    | product  | company | category        | price  | MOQ | other                                     |
    | rice     | 美厨 粤 | small_appliances |  89.00 | 100 | 电饭煲 + "Smart rice cooker", CCC, ready |
    | cup      | 美厨 粤 | kitchenware      |  25.00 | 500 | CE, former US market (tariff hit)         |
    | lamp     | 美厨 粤 | lighting         |  45.00 | 200 | English title "LED desk lamp"             |
    | family   | 甬佳 浙 | small_appliances | 159.00 |  50 | 家用电饭煲, no English title              |
    | fryer    | 甬佳 浙 | small_appliances | 199.00 | 100 | 空气炸锅                                  |
    """
    with app.app_context(), search_sync.drain_once():  # one index commit for the lot
        meichu = make_company(name_zh="美厨电器有限公司", province_code="440000", city_code="440300")
        yongjia = make_company(name_zh="甬佳家电有限公司", province_code="330000", city_code="330200")
        hidden = make_company(name_zh="待审电器有限公司", verified=False)
        ids = SimpleNamespace(meichu=meichu.id, yongjia=yongjia.id, hidden_company=hidden.id)
        ids.rice = product(meichu, "智能电饭煲 3L 预约定时", 8900, title_en="Smart rice cooker",
                           description_zh="24小时预约，不粘内胆，三升容量。", hs_code="851660",
                           ccc_status=CccStatus.HELD, gb_standard="GB 4706.19", gb_standard_met=True,
                           chinese_label_ready=True, vat_invoice=True)
        ids.cup = product(meichu, "不锈钢保温杯 500ml", 2500, moq=500, category="kitchenware",
                          title_en="Stainless steel vacuum cup", hs_code="961700", former_export_market="US",
                          certifications=[CertificationInput("CE", "CE-2024-1", date.today() + timedelta(days=365))])
        ids.lamp = product(meichu, "护眼台灯", 4500, moq=200, category="lighting", title_en="LED desk lamp",
                           hs_code="940520")
        ids.family = product(yongjia, "家用电饭煲 5L", 15900, moq=50, hs_code="851660")
        ids.fryer = product(yongjia, "大容量空气炸锅", 19900, title_en="Air fryer", hs_code="851679")
        ids.draft = product(meichu, "电饭煲 草稿款", 5000, publish=False)
        ids.unverified = product(hidden, "待审电饭煲 隐藏款", 5000)
        db.session.add(CompanyTag(company_id=meichu.id, tag=CompanyTagKind.SPECIALIZED,
                                  source_document="粤工信〔2024〕12号", granted_on=date(2024, 5, 1)))
        db.session.commit()
        return ids


PUBLIC = ("rice", "cup", "lamp", "family", "fryer")


def page(client, path="/search/", **args):
    """GET a search page; returns its HTML after checking it is a healthy 200."""
    response = client.get(f"{path}?{urlencode(args)}" if args else path)
    assert response.status_code == 200, response.status_code
    html = response.get_data(as_text=True)
    assert UNAVAILABLE not in html
    assert "Traceback" not in html and "whoosh" not in html.lower()
    return html


def result_ids(html) -> list[int]:
    """Product ids of the results, in page order."""
    return [int(i) for i in re.findall(r'data-testid="search-result" data-product-id="(\d+)"', html)]


def ids_of(shop, *names) -> set[int]:
    return {getattr(shop, name) for name in names}


def section(html, testid) -> str:
    """The HTML from an element with ``data-testid`` up to the next facet block or the end of the filters."""
    start = html.index(f'data-testid="{testid}"')
    following = re.compile(r'data-testid="facet-(?!value|count)|</aside>').search(html, start + 10)
    return html[start:following.start()]


def facet_counts(html, name) -> dict[str, int]:
    """value → count shown beside a facet's values."""
    block = section(html, f"facet-{name}")
    return {value: int(count.replace(",", "")) for value, count in re.findall(
        r'data-testid="facet-value" data-value="([^"]+)">.*?data-testid="facet-count">([\d,]+)<', block, re.S)}


def flag_count(html, name) -> int | None:
    match = re.search(rf'id="filter-{name}".*?</label>', html, re.S)
    count = re.search(r'data-testid="flag-count">\(([\d,]+)\)', match.group(0))
    return int(count.group(1)) if count else None


def messages(html) -> list[str]:
    """Text of the error and notice alerts."""
    found = re.findall(r'data-testid="search-(?:error|notice)"[^>]*>(.*?)</div>', html, re.S)
    return [unescape(re.sub(r"<[^>]+>", "", text)).strip() for text in found]


def unmarked(html) -> str:
    """The HTML without the highlight marks."""
    return re.sub(r"</?mark>", "", html)


def links(html, testid) -> list[str]:
    return [unescape(href) for href in re.findall(rf'<a href="([^"]+)"[^>]*data-testid="{testid}"', html)]


def query_of(url) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


# ----------------------------------------------------------------------------- words


def test_chinese_query_finds_and_highlights(client, shop):
    html = page(client, q="电饭煲")
    assert set(result_ids(html)) == ids_of(shop, "rice", "family")
    assert "共 2 件商品" in html
    assert "智能<mark>电饭煲</mark>" in html
    assert "家用<mark>电饭煲</mark>" in html


def test_result_shows_price_moq_company_region_and_badges(client, shop):
    html = page(client, q="智能电饭煲")
    row = html[html.index(f'data-product-id="{shop.rice}"'):]
    row = row[:row.index("</li>")]
    assert "¥89.00" in row
    assert "起订量 100 台" in row
    assert "美厨电器有限公司" in row and f'/companies/{shop.meichu}/products' in row
    assert "广东省 · 深圳市" in row
    assert 'data-testid="readiness-badge"' in row and ">CCC<" in row


def test_result_shows_the_thumbnail_of_a_product_with_images(app, client, shop):
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 30, 30)).save(buffer, "PNG")
    with app.app_context():
        rice = db.session.get(Product, shop.rice)
        catalog_services.add_product_image(rice.company.users[0], rice, buffer.getvalue())
        thumbnail = rice.images[0].thumbnail
    html = page(client, q="电饭煲")
    row = html[html.index(f'data-product-id="{shop.rice}"'):]
    assert f'src="/media/products/{thumbnail}"' in row[:row.index("</li>")]
    assert client.get(f"/media/products/{thumbnail}").status_code == 200


def test_english_query_finds_english_titled_product(client, shop):
    html = page(client, q="vacuum cup")
    assert result_ids(html) == [shop.cup]
    assert "不锈钢保温杯" in unmarked(html)


def test_synonyms_work_across_words_and_languages(client, shop):
    # 电饭锅 appears in no product: it is a synonym of 电饭煲 and of "rice cooker"
    assert set(result_ids(page(client, q="电饭锅"))) == ids_of(shop, "rice", "family")
    # 家用电饭煲 5L has no English title, yet an English search finds it
    assert set(result_ids(page(client, q="rice cooker"))) == ids_of(shop, "rice", "family")


def test_did_you_mean_offers_the_correction_and_its_link_works(client, shop):
    html = page(client, q="电饭褒")
    assert result_ids(html) == []
    block = re.search(r'data-testid="did-you-mean">(.*?)</p>', html, re.S).group(1)
    assert "电饭煲" in block
    href = unescape(re.search(r'href="([^"]+)"', block).group(1))
    assert query_of(href)["q"] == ["电饭煲"]
    assert set(result_ids(page(client, href.split("?")[0], **{k: v[0] for k, v in query_of(href).items()}))) \
        == ids_of(shop, "rice", "family")


def test_drafts_and_unverified_companies_never_appear(client, shop):
    html = page(client, q="电饭煲")
    assert shop.draft not in result_ids(html) and shop.unverified not in result_ids(html)
    assert "草稿款" not in html and "隐藏款" not in html
    everything = page(client, price_max="100000")
    assert set(result_ids(everything)) == ids_of(shop, *PUBLIC)
    exporters = page(client, "/search/exporters", q="电饭煲")
    assert "待审电器有限公司" not in exporters


# ----------------------------------------------------------------------------- filters and facets


def test_facet_counts_describe_the_results(client, shop):
    html = page(client, price_max="1000")  # every public product
    assert set(result_ids(html)) == ids_of(shop, *PUBLIC)
    assert facet_counts(html, "category") == {"small_appliances": 3, "kitchenware": 1, "lighting": 1}
    assert facet_counts(html, "province") == {"440000": 3, "330000": 2}
    assert facet_counts(html, "hs")["85"] == 3
    assert facet_counts(html, "cert") == {"CCC": 1, "CE": 1}
    assert flag_count(html, "tariff_hit") == 1
    assert flag_count(html, "domestic_ready") == 1
    assert flag_count(html, "verified") == 3
    # labels, not codes, for people
    assert "小家电" in section(html, "facet-category") and "浙江省" in section(html, "facet-province")


@pytest.mark.parametrize("args, expected", [
    ({"category": "small_appliances"}, ("rice", "family", "fryer")),
    ({"hs": "8516"}, ("rice", "family", "fryer")),
    ({"hs": "9405"}, ("lamp",)),
    ({"province": "330000"}, ("family", "fryer")),
    ({"province": "330000", "city": "330200"}, ("family", "fryer")),
    ({"province": "330000", "city": "330100"}, ()),
    ({"cert": "CE"}, ("cup",)),
    ({"cert": "ccc"}, ("rice",)),
    ({"price_min": "40", "price_max": "100"}, ("lamp", "rice")),
    ({"price_min": "159"}, ("family", "fryer")),
    ({"quantity": "100"}, ("rice", "family", "fryer")),
    ({"tariff_hit": "1"}, ("cup",)),
    ({"domestic_ready": "1"}, ("rice",)),
    ({"verified": "1"}, ("rice", "cup", "lamp")),
])
def test_each_filter_narrows_the_results(client, shop, args, expected):
    html = page(client, **args)
    assert set(result_ids(html)) == ids_of(shop, *expected)
    if expected:
        assert f"共 {len(expected)} 件商品" in html
    else:
        assert 'data-testid="no-results"' in html


def test_filters_combine_with_words_and_narrow_the_facets(client, shop):
    html = page(client, q="电饭煲", province="440000")
    assert result_ids(html) == [shop.rice]
    assert facet_counts(html, "category") == {"small_appliances": 1}
    wider = page(client, q="电饭煲")
    assert facet_counts(wider, "province") == {"440000": 1, "330000": 1}


def test_facet_link_adds_the_filter_and_keeps_the_words(client, shop):
    html = page(client, q="电饭煲")
    href = unescape(re.search(r'data-value="330000">\s*<a href="([^"]+)"', html).group(1))
    assert query_of(href) == {"q": ["电饭煲"], "province": ["330000"]}
    narrowed = page(client, **{k: v[0] for k, v in query_of(href).items()})
    assert result_ids(narrowed) == [shop.family]
    # the chosen province offers its cities
    assert 'data-testid="filter-city"' in narrowed and "宁波市" in narrowed


def test_active_filters_are_chips_that_remove_themselves(client, shop):
    html = page(client, q="电饭煲", category="small_appliances", cert="CCC", price_max="100")
    chips = re.findall(r'<a href="([^"]+)"[^>]*data-testid="filter-chip" data-filter="([^"]+)"[^>]*>(.*?)</a>',
                       html, re.S)
    by_name = {name: (unescape(href), text) for href, name, text in chips}
    assert set(by_name) == {"category", "cert", "price"}
    assert "小家电" in by_name["category"][1] and "¥100.00" in by_name["price"][1]
    without_cert = query_of(by_name["cert"][0])
    assert "cert" not in without_cert and without_cert["category"] == ["small_appliances"]
    assert without_cert["q"] == ["电饭煲"] and without_cert["price_max"] == ["100"]
    clear = query_of(links(html, "clear-filters")[0])
    assert clear == {"q": ["电饭煲"]}


def test_bad_filter_value_is_reported_once_and_not_carried_into_links(client, shop):
    html = page(client, q="电饭煲", price_min="abc", category="small_appliances")
    assert any("最低价" in message for message in messages(html))
    assert set(result_ids(html)) == ids_of(shop, "rice", "family")
    for href in re.findall(r'href="(/search/[^"]*)"', html):
        assert "price_min" not in unescape(href)


def test_no_results_offers_to_drop_each_filter(client, shop):
    html = page(client, q="电饭煲", province="330000", cert="CE")
    assert result_ids(html) == []
    assert "没有找到符合条件的商品" in html
    assert 'data-testid="did-you-mean"' not in html  # the words are right: the filters exclude everything
    drop_list = html[html.index('data-testid="drop-filter-links"'):]
    drops = {name: unescape(href) for href, name in re.findall(
        r'<li><a href="([^"]+)" data-filter="([^"]+)">', drop_list[:drop_list.index("</ul>")])}
    assert set(drops) == {"province", "cert"}
    without_cert = page(client, **{k: v[0] for k, v in query_of(drops["cert"]).items()})
    assert result_ids(without_cert) == [shop.family]


def test_empty_search_shows_examples_and_categories(client, shop):
    html = page(client)
    assert result_ids(html) == []
    assert 'data-testid="search-start"' in html
    examples = re.findall(r'href="([^"]+)"', html[html.index('data-testid="example-searches"'):
                                                    html.index('data-testid="category-links"')])
    assert any(query_of(unescape(href)).get("q") == ["电饭煲"] for href in examples)
    category_hrefs = [unescape(h) for h in re.findall(r'href="([^"]+)"', html[html.index('data-testid="category-links"'):])]
    kitchen = next(h for h in category_hrefs if query_of(h).get("category") == ["kitchenware"])
    assert result_ids(page(client, **{k: v[0] for k, v in query_of(kitchen).items()})) == [shop.cup]


# ----------------------------------------------------------------------------- sort and pages


def test_sort_by_price_both_ways(client, shop):
    ascending = result_ids(page(client, price_max="1000", sort="price_asc"))
    assert ascending == [shop.cup, shop.lamp, shop.rice, shop.family, shop.fryer]
    descending = result_ids(page(client, price_max="1000", sort="price_desc"))
    assert descending == list(reversed(ascending))


def test_sort_newest_first(app, client, shop):
    with app.app_context():  # distinct publication days, oldest first: fryer, rice, lamp, cup, family
        start = datetime(2025, 1, 1, tzinfo=UTC)
        for days, product_id in enumerate([shop.fryer, shop.rice, shop.lamp, shop.cup, shop.family]):
            db.session.get(Product, product_id).published_at = start + timedelta(days=days)
        db.session.commit()
    html = page(client, price_max="1000", sort="newest")
    assert result_ids(html) == [shop.family, shop.cup, shop.lamp, shop.rice, shop.fryer]
    assert re.search(r'<option value="newest" selected>', html)


def test_pages_hold_the_rest_and_links_keep_the_filters(app, client):
    with app.app_context():
        company = make_company()
        made = {product(company, f"保温杯 {n} 号", 3000 + n, category="kitchenware") for n in range(25)}
        product(company, "保温杯 便宜款", 100, category="kitchenware")  # outside the price range
    first = page(client, q="保温杯", category="kitchenware", price_min="20")
    second_href = unescape(re.search(r'<a class="page-link" href="([^"]+)" rel="next"', first).group(1))
    assert query_of(second_href) == {"q": ["保温杯"], "category": ["kitchenware"], "price_min": ["20"],
                                     "page": ["2"]}
    second = page(client, **{k: v[0] for k, v in query_of(second_href).items()})
    assert len(result_ids(first)) == 20 and len(result_ids(second)) == 5
    assert set(result_ids(first)) | set(result_ids(second)) == made
    assert "共 25 件商品" in second
    back = unescape(re.search(r'<a class="page-link" href="([^"]+)" rel="prev"', second).group(1))
    assert "page" not in query_of(back) and query_of(back)["price_min"] == ["20"]


# ----------------------------------------------------------------------------- escaping and odd input


def test_query_markup_is_escaped_everywhere(client, shop):
    attack = "<script>alert(1)</script>"
    for args in ({"q": attack}, {"q": f"{attack} 电饭褒"}, {"q": attack, "price_min": attack}):
        html = page(client, **args)
        assert attack not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    # the navbar box, the page's box and the did-you-mean all carry it escaped
    html = page(client, q=f"{attack} 电饭褒")
    navbar = re.search(r'id="navbar-q"[^>]*>', html).group(0)
    assert 'value="&lt;script&gt;alert(1)&lt;/script&gt; 电饭褒"' in navbar
    suggestion = re.search(r'data-testid="did-you-mean">(.*?)</p>', html, re.S).group(1)
    assert "&lt;script&gt;" in suggestion and "<script>" not in suggestion


def test_product_text_is_escaped_around_the_highlights(app, client):
    with app.app_context():
        make_product(make_company(), title_zh="<b>电饭煲</b>特价", description_zh="<img src=x onerror=alert(1)> 电饭煲 好用")
    html = page(client, q="电饭煲")
    assert "<b>" not in html and "<img src=x" not in html
    assert "&lt;b&gt;<mark>电饭煲</mark>&lt;/b&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt; <mark>电饭煲</mark>" in html


@pytest.mark.parametrize("q", ['"电饭煲', "(电饭煲", "电饭煲)", "AND", "OR", "NOT", "*", "?", "price:abc", "title:电饭煲",
                               "电饭煲~2", "电*", "\x00\x07电饭煲", "电饭煲" * 3400, "   ", "🍚 电饭煲", "%", "\\"])
def test_odd_queries_answer_with_results_or_a_message(client, shop, q):
    html = page(client, q=q)
    assert "\x00" not in html and "\x07" not in html
    answered = result_ids(html) or messages(html) or 'data-testid="no-results"' in html \
        or 'data-testid="search-start"' in html
    assert answered


def test_operators_alone_are_explained(client, shop):
    for word in ("AND", "OR", "NOT"):
        html = page(client, q=word)
        assert any("AND、OR、NOT" in message for message in messages(html)), messages(html)


def test_a_very_long_query_is_cut_and_says_so(client, shop):
    html = page(client, q="电饭煲" * 3400)
    assert set(result_ids(html)) == ids_of(shop, "rice", "family")
    assert any("200" in message for message in messages(html))
    # links carry at most what was searched, not 10,000 characters
    assert max(len(href) for href in re.findall(r'href="([^"]+)"', html)) < 3000


@pytest.mark.parametrize("args, message", [
    ({"page": "0"}, "页码从 1 开始"),
    ({"page": "-1"}, "页码从 1 开始"),
    ({"page": "abc"}, "页码从 1 开始"),
    ({"page": "10000"}, "最后一页"),
    ({"price_min": "200", "price_max": "10"}, "最低价高于最高价"),
    ({"price_min": "abc"}, "最低价"),
    ({"category": "no_such_category"}, "未知的类目"),
    ({"quantity": "-5"}, "数量必须在 1 到"),
    ({"province": "999999"}, "未知的省份"),
    ({"sort": "cheapest"}, "未知的排序"),
])
def test_bad_parameters_give_a_clear_message_and_still_search(client, shop, args, message):
    html = page(client, q="电饭煲", **args)
    assert any(message in text for text in messages(html)), messages(html)
    assert set(result_ids(html)) == ids_of(shop, "rice", "family")


def test_filters_alone_search_without_words(client, shop):
    html = page(client, q="", domestic_ready="1")
    assert result_ids(html) == [shop.rice]


# ----------------------------------------------------------------------------- navbar, exporters, storefront, CSP


def test_navbar_search_box_on_every_kind_of_page(app, client, shop):
    with app.app_context():
        make_user(make_company(kind=CompanyKind.RETAILER), email="buyer@example.com")
    for path in ("/", f"/products/{shop.rice}"):
        html = client.get(path).get_data(as_text=True)
        form = re.search(r'<form method="get" action="/search/"[^>]*data-testid="navbar-search">(.*?)</form>',
                         html, re.S)
        assert form, path
        assert 'placeholder="搜索商品，例如 电饭锅 或 rice cooker"' in form.group(1)
        assert 'value=""' in form.group(1)
    login(client, "buyer@example.com")
    deals = client.get("/deals/")
    assert deals.status_code == 200
    assert 'data-testid="navbar-search"' in deals.get_data(as_text=True)
    # on a search page the box keeps the words
    assert re.search(r'id="navbar-q"[^>]*value="电饭煲"', page(client, q="电饭煲"))


def test_home_page_offers_a_large_search_box_that_finds_products(client, shop):
    html = client.get("/").get_data(as_text=True)
    form = re.search(r'<form method="get" action="/search/"[^>]*data-testid="home-search">(.*?)</form>', html, re.S)
    assert form and 'name="q"' in form.group(1)
    # what that form submits finds the products (the synonym of the listed word)
    assert f'data-testid="search-result" data-product-id="{shop.rice}"' in page(client, q="电饭锅")


def test_search_pages_are_public_and_csp_clean(client, shop):
    response = client.get("/search/?q=电饭煲")
    assert response.status_code == 200
    assert "script-src" in response.headers["Content-Security-Policy"]
    html = response.get_data(as_text=True)
    assert re.findall(r"<script(?![^>]*\bsrc=)", html) == []
    assert " style=" not in html and "onclick" not in html.lower()
    assert "/static/js/search.js" in html
    assert client.get("/static/js/search.js").status_code == 200
    assert "<title>搜索：电饭煲 · 融通</title>" in html


def test_exporters_page_lists_companies_with_their_matching_count(app, client, shop):
    with app.app_context():
        product(db.session.get(Company, shop.yongjia), "迷你电饭煲 1.2L", 9900)
    html = page(client, "/search/exporters", q="电饭煲")
    rows = re.findall(r'data-testid="exporter-result" data-company-id="(\d+)"(.*?)</li>\s*</ul>\s*</li>', html, re.S)
    assert [int(company_id) for company_id, _row in rows] == [shop.yongjia, shop.meichu]
    yongjia, meichu = rows[0][1], rows[1][1]
    assert "甬佳家电有限公司" in yongjia and "2 件匹配商品" in yongjia
    assert "家用电饭煲 5L" in yongjia and "迷你电饭煲 1.2L" in yongjia and "空气炸锅" not in yongjia
    assert "美厨电器有限公司" in meichu and "1 件匹配商品" in meichu
    assert f'/companies/{shop.yongjia}/products?q=' in yongjia
    assert "共找到 2 家出口企业" in html


def test_exporters_page_shows_at_most_three_products_each(app, client):
    with app.app_context():
        company = make_company(name_zh="杯王有限公司")
        for n in range(5):
            product(company, f"保温杯 {n} 号", 3000 + n, category="kitchenware")
    html = page(client, "/search/exporters", q="保温杯")
    assert "5 件匹配商品" in html
    top = html[html.index('data-testid="exporter-top-products"'):]
    assert top[:top.index("</ul>")].count("<li") == 3


def test_exporters_page_reads_a_fixed_number_of_queries_however_many_exporters(app, client):
    """Each exporter's tags and each product's price tiers come in one query each, not one per row."""
    import sqlalchemy as sa

    from marketplace.extensions import db

    def statements_for_page(exporters: int) -> int:
        with app.app_context():
            for n in range(exporters):
                company = make_company(name_zh=f"杯厂{n}号有限公司")
                for m in range(3):
                    product(company, f"保温杯 {n}-{m} 号", 3000 + m, category="kitchenware")
        seen = []

        def count(_conn, _cursor, statement, *_args):
            seen.append(statement)

        with app.app_context():
            engine = db.engine
        sa.event.listen(engine, "before_cursor_execute", count)
        try:
            html = page(client, "/search/exporters", q="保温杯")
        finally:
            sa.event.remove(engine, "before_cursor_execute", count)
        assert html.count('data-testid="exporter-top-products"') >= exporters
        return len(seen)

    few = statements_for_page(1)
    many = statements_for_page(5)  # six exporters now, 18 products
    assert many == few


def test_storefront_search_finds_only_that_company(client, shop):
    old_link = client.get(f"/companies/{shop.meichu}/products?q=电饭煲")  # the search moved to the search pages
    assert old_link.status_code == 302
    assert old_link.headers["Location"].startswith(f"/search/companies/{shop.meichu}?q=")
    html = client.get(f"/search/companies/{shop.meichu}?q=电饭煲").get_data(as_text=True)
    assert f'action="/search/companies/{shop.meichu}"' in html
    assert result_ids(html) == [shop.rice]
    assert "家用电饭煲" not in html
    assert 'data-testid="storefront-search"' in html
    assert 'value="电饭煲"' in html
    nothing = client.get(f"/search/companies/{shop.meichu}?q=空气炸锅")
    assert nothing.status_code == 200
    assert result_ids(nothing.get_data(as_text=True)) == []
    assert "该供应商没有符合搜索的商品" in nothing.get_data(as_text=True)
    plain = client.get(f"/companies/{shop.meichu}/products").get_data(as_text=True)
    assert 'data-testid="storefront-search"' in plain and 'data-testid="product-card"' in plain
    assert client.get(f"/search/companies/{shop.meichu}").status_code == 302  # no words: the storefront
    assert client.get("/search/companies/999999?q=电饭煲").status_code == 404


def test_english_interface(en_client, shop):
    html = page(en_client, q="电饭煲", price_min="abc")
    assert "2 products found" in html
    assert "Lowest price must be an amount in yuan, like 25 or 25.50." in messages(html)
    assert 'placeholder="Search products, e.g. 电饭锅 or rice cooker"' in html
    exporters = page(en_client, "/search/exporters", q="电饭煲")
    assert "2 exporters found" in exporters and "1 matching product<" in exporters


def test_a_failing_engine_keeps_the_page_up_with_a_message(client, shop, monkeypatch):
    def broken(*_args, **_kwargs):
        raise OSError("index directory vanished")

    monkeypatch.setattr(search_services, "search_products", broken)
    response = client.get("/search/?q=电饭煲&price_min=abc")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "搜索暂时不可用，请稍后再试。" in messages(html)
    assert any("最低价" in message for message in messages(html))
    assert "index directory vanished" not in html
    assert 'data-testid="navbar-search"' in html


# ----------------------------------------------------------------------------- HS codes, names, typos, compounds


def exporter_ids(html) -> list[int]:
    """Company ids of the exporter results, in page order."""
    return [int(i) for i in re.findall(r'data-testid="exporter-result" data-company-id="(\d+)"', html)]


@pytest.mark.parametrize(("q", "expected"), [
    ("8516", ("rice", "family", "fryer")),
    ("8516.60", ("rice", "family")),
    ("851660", ("rice", "family")),
    ("85", ("rice", "family", "fryer")),
    ("9405.20", ("lamp",)),
    ("8516 电饭煲", ("rice", "family")),
])
def test_hs_code_in_the_search_box_finds_the_products_classified_under_it(client, shop, q, expected):
    html = page(client, q=q)
    assert set(result_ids(html)) == ids_of(shop, *expected)
    assert messages(html) == []  # every word matched: nothing relaxed, no notice
    assert 'data-testid="did-you-mean"' not in html


def test_hs_code_finds_exporters_too(client, shop):
    assert exporter_ids(page(client, "/search/exporters", q="8516.79")) == [shop.yongjia]


@pytest.fixture
def limin(app, shop):
    """宁波利民电器有限公司 (Ningbo Limin Electric Appliance Co., Ltd.) with one juicer."""
    with app.app_context():
        company = make_company(name_zh="宁波利民电器有限公司", name_en="Ningbo Limin Electric Appliance Co., Ltd.",
                               province_code="330000", city_code="330200")
        product(company, "便携榨汁杯", 6900, title_en="Portable blender")
        return company.id


@pytest.mark.parametrize("q", ["宁波利民电器有限公司", "利民", "利民电器", "Limin Electric", "ningbo limin appliance"])
def test_exporters_are_found_by_their_chinese_and_english_names(client, shop, limin, q):
    html = page(client, "/search/exporters", q=q)
    assert exporter_ids(html) == [limin]
    assert "宁波利民电器有限公司" in html and "便携榨汁杯" in html
    assert "名称相符 · 1 件商品" in html


def test_exporters_named_by_the_search_come_first(client, shop, limin):
    html = page(client, "/search/exporters", q="电器")
    # both names hold 电器; 美厨 has more products; the unverified 待审电器 never shows
    assert exporter_ids(html) == [shop.meichu, limin]
    assert "待审电器有限公司" not in html
    assert "共找到 2 家出口企业" in html
    assert "名称相符 · 3 件商品" in html and "名称相符 · 1 件商品" in html
    # product search does not treat a company's name as its goods' words
    assert result_ids(page(client, q="利民")) == []


def test_a_renamed_exporter_is_found_by_its_new_english_name(app, client, shop):
    assert exporter_ids(page(client, "/search/exporters", q="Golden Chef")) == []
    with app.app_context():
        db.session.get(Company, shop.meichu).name_en = "Golden Chef Appliances Ltd."
        db.session.commit()
    assert exporter_ids(page(client, "/search/exporters", q="Golden Chef")) == [shop.meichu]


def test_exporter_search_is_one_pass_of_the_engine(client, shop, limin, monkeypatch):
    from search_index import SearchIndex

    calls = Counter()
    for name in ("search", "search_companies"):
        original = getattr(SearchIndex, name)

        def counted(self, *args, _original=original, _name=name, **kwargs):
            calls[_name] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(SearchIndex, name, counted)
    html = page(client, "/search/exporters", q="电饭煲")
    assert sorted(exporter_ids(html)) == sorted([shop.yongjia, shop.meichu])
    assert "家用电饭煲 5L" in html and "智能电饭煲 3L 预约定时" in html
    assert calls == {"search_companies": 1}


def test_did_you_mean_offers_words_titles_use(app, client, shop):
    with app.app_context():
        meichu = db.session.get(Company, shop.meichu)
        product(meichu, "超声波加湿器 4L", 12900, title_en="Ultrasonic humidifier 4L")
        for size in (24, 26, 28):  # "cover" is commoner than "cooker" in titles
            product(meichu, f"玻璃锅盖 {size}cm", 1500, category="kitchenware", title_en=f"Glass pot cover {size} cm")
    for typo, fixed in (("rice coker", "rice cooker"), ("humidifer", "humidifier")):
        html = page(client, q=typo)
        block = re.search(r'data-testid="did-you-mean">(.*?)</p>', html, re.S).group(1)
        href = unescape(re.search(r'href="([^"]+)"', block).group(1))
        assert query_of(href)["q"] == [fixed], typo
        assert result_ids(page(client, q=fixed))


def test_a_compound_finding_few_also_shows_its_ending_and_says_so(app, client, en_client, shop):
    with app.app_context():
        kettle = product(db.session.get(Company, shop.yongjia), "电热水壶 1.7L", 5900)
        pot = product(db.session.get(Company, shop.meichu), "大容量热水壶", 4900)
    html = page(client, q="电热水壶")
    assert result_ids(html) == [kettle, pot]
    assert "也显示了包含“热水壶”的结果。" in messages(html)
    assert "共 2 件商品" in html
    english = page(en_client, q="电热水壶")
    assert result_ids(english) == [kettle, pot]
    assert "Also showing results for “热水壶”." in messages(english)
    exact = page(client, q="智能电饭煲")
    assert not any("也显示了" in message for message in messages(exact))
