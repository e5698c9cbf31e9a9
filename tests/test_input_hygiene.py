"""Malformed input never gives a 500 nor writes half a change (issue 9, Security 5, 6 and 8), on both databases.

The one place every text input passes through (``marketplace.inputs``: the request class and the
bounded ``int`` converter) is tested directly; then every form and filter page is sent NUL bytes,
bidi overrides, numbers beyond any column and impossible dates, and the database is checked for
what reached it.
"""
from __future__ import annotations

import io
import re
from html.parser import HTMLParser
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from marketplace.accounts.models import CompanyKind, Role
from marketplace.catalog.models import Product
from marketplace.deals.models import OrderIntent, OrderIntentMessage
from marketplace.extensions import db
from marketplace.inputs import (
    EARLIEST_DATE,
    LATEST_DATE,
    MAX_ID,
    MAX_PAGE,
    UNSAFE_CHARACTERS,
    bounded_date,
    clean_text,
    page_number,
    query_id,
)
from marketplace.search import sync as search_sync
from tests.conftest import csrf_token, login
from tests.factories import PASSWORD, make_company, make_product, make_user
from tests.test_catalog_products import form_data as product_form
from tests.test_deals_services import make_parties, start

NUL, RLO = "\x00", "\u202e"
#: what an attacker types into any box
HOSTILE = ["a\x00b", NUL, RLO, "invoice\u202efdp.exe", "\x01\x1b[31m", str(2**63), "9" * 40, "-1", "[]",
           "0001-01-01", "9999-12-31", " "]


# --------------------------------------------------------------------------- helpers


class _Forms(HTMLParser):
    """Every form of a page: its action and the values a browser would submit unchanged."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self._select = self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append({"action": a.get("action") or "", "method": (a.get("method") or "get").lower(),
                               "fields": {}, "selects": {}})
        if not self.forms:
            return
        fields = self.forms[-1]["fields"]
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("submit", "button", "file", "image", "reset"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                fields.setdefault(name, [])
                return
            fields.setdefault(name, []).append(a.get("value") or ("y" if a.get("type") == "checkbox" else ""))
        elif tag == "textarea" and name:
            self._textarea = name
            fields.setdefault(name, []).append("")
        elif tag == "select" and name:
            self._select = name
            fields.setdefault(name, [])
            self.forms[-1]["selects"][name] = None
        elif tag == "option" and self._select:
            value = a.get("value", "")
            selects = self.forms[-1]["selects"]
            if selects[self._select] is None or "selected" in a:
                selects[self._select] = value

    def handle_data(self, data):
        if self._textarea and self.forms:
            self.forms[-1]["fields"][self._textarea][-1] += data

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._textarea = None
        elif tag == "select" and self._select:
            form = self.forms[-1]
            chosen = form["selects"][self._select]
            if chosen is not None and not form["fields"][self._select]:
                form["fields"][self._select].append(chosen)
            self._select = None


def page_form(client, url: str, action: str, having: str = "") -> dict[str, list[str]]:
    """The values of the POST form on ``url`` whose action contains ``action`` (and that has the field ``having``)."""
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    parser = _Forms()
    parser.feed(response.get_data(as_text=True))
    for form in parser.forms:
        if form["method"] == "post" and action in form["action"] and (not having or having in form["fields"]):
            return {name: values for name, values in form["fields"].items() if values}
    raise AssertionError(f"no POST form to {action} on {url}")


KEEP = {"csrf_token", "token", "version", "product_id", "action"}


def spoiled(values: dict, text: str, append: bool) -> dict:
    """Every field but the security token with ``text`` appended to its value (or instead of it)."""
    return {name: ([v + text for v in vals] if append else [text for _ in vals]) if name not in KEEP else vals
            for name, vals in values.items()}


def counts(app) -> dict[str, int]:
    """Rows per table."""
    with app.app_context():
        return {t.name: db.session.scalar(sa.select(sa.func.count()).select_from(t)) for t in db.metadata.sorted_tables}


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)


def unsafe_text_stored(app) -> list[tuple[str, str, str]]:
    """(table, column, value) of every stored text holding a control character or a bidi override."""
    found = []
    with app.app_context():
        for table in db.metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, (sa.String, sa.Text, sa.JSON))]
            if not columns:
                continue
            for row in db.session.execute(sa.select(*columns)):
                for column, value in zip(columns, row, strict=True):
                    found += [(table.name, column.name, text) for text in _strings(value)
                              if UNSAFE_CHARACTERS.search(text.replace("\t", "").replace("\n", "").replace("\r", ""))]
    return found


def assert_no_500(response, what):
    assert response.status_code < 500, f"{what}: {response.status_code}"


@pytest.fixture
def world(app):
    """An exporter with a product, a buyer with a sent intent on it, an organizer, a pending company."""
    with app.app_context(), search_sync.drain_once():  # one index commit for the lot
        parties = make_parties()
        intent = start(parties, note="首单")
        organizer = make_user(make_company(kind=CompanyKind.ORGANIZER), role=Role.ORGANIZER)
        pending = make_company(verified=False)
        make_user(pending)
        draft = make_product(parties.exporter, publish=False)
        return SimpleNamespace(
            exporter=parties.exporter_user.email, exporter_company=parties.exporter.id,
            buyer=parties.buyer_user.email, buyer_company=parties.buyer.id, product=parties.product.id,
            draft=draft.id, intent=intent.id, organizer=organizer.email, pending=pending.id,
        )


# --------------------------------------------------------------------------- the one place


def test_clean_text_keeps_tab_newline_and_chinese_and_drops_controls_and_bidi():
    assert clean_text("第一行\r\n\tline\x00\x07\x1b[0m\x7f") == "第一行\r\n\tline[0m"
    assert clean_text("invoice\u202efdp.exe") == "invoicefdp.exe"
    assert clean_text("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069") == ""
    assert clean_text("עברית \u200f ok") == "עברית \u200f ok"  # marks and right-to-left text stay


def test_request_args_form_and_file_names_arrive_cleaned(app):
    with app.test_request_context("/?q=%00rice%E2%80%AEcooker&q=%01&lang=en", method="POST",
                                  data={"note": "a\x00b\u202ec", "many": ["1\x00", "2"], "blank": " \x00\u202e ",
                                        "file": (io.BytesIO(b"%PDF-1.4"), "invoice\u202efdp.exe")},
                                  content_type="multipart/form-data"):
        from flask import request

        assert request.args.getlist("q") == ["ricecooker", ""]
        assert request.form["note"] == "abc" and request.form.getlist("many") == ["1", "2"]
        assert request.values["note"] == "abc" and request.form["blank"] == ""
        assert request.files["file"].filename == "invoicefdp.exe"


@pytest.mark.parametrize("raw, expected", [
    ("12", 12), (" 7 ", 7), (str(MAX_ID), MAX_ID), ("0", None), ("-3", None), (str(MAX_ID + 1), None),
    (str(2**63), None), ("9" * 5000, None), ("١٢", None), ("²", None), ("1e3", None), ("", None), (None, None),
    ("[]", None),
])
def test_query_id_accepts_database_ids_only(raw, expected):
    assert query_id(raw) == expected


@pytest.mark.parametrize("raw, expected", [
    (None, 1), ("", 1), ("abc", 1), ("0", 1), ("-4", 1), ("3", 3), (" 3 ", 3), (7, 7), (str(2**63), MAX_PAGE),
    ("9" * 5000, 1), ("2.5", 1),
])
def test_page_number_is_always_a_page(raw, expected):
    assert page_number(raw) == expected


def test_bounded_date_clamps_to_the_years_anything_happens():
    from datetime import date

    assert bounded_date(date(1, 1, 1)) == EARLIEST_DATE and bounded_date(date(9999, 12, 31)) == LATEST_DATE
    assert bounded_date(date(2026, 3, 1)) == date(2026, 3, 1) and bounded_date(None) is None


def test_show_on_form_puts_the_message_on_the_named_field_or_above_the_form(app):
    from flask_wtf import FlaskForm
    from wtforms import StringField

    from marketplace.errors import ValidationFailed, show_on_form

    class Form(FlaskForm):
        name = StringField()

    with app.test_request_context():
        form = Form(meta={"csrf": False})
        form.validate()
        show_on_form(form, ValidationFailed("taken", "name"))
        show_on_form(form, ValidationFailed("no such field", "nothing"))
        show_on_form(form, ValidationFailed("general"))
        assert form.name.errors == ["taken"] and form.form_errors == ["no such field", "general"]


def test_every_int_route_answers_404_for_ids_beyond_the_database(app, client, world):
    login(client, world.exporter)
    rules = [rule for rule in app.url_map.iter_rules()
             if any(type(conv).__name__ == "BoundedIntegerConverter" for conv in rule._converters.values())]
    assert len(rules) > 20
    for rule in rules:
        for huge in (MAX_ID + 1, 2**63, "9" * 5000):
            path = rule.rule
            for name in rule.arguments:
                path = re.sub(rf"<int:{name}>", str(huge), path)
            path = re.sub(r"<any\([^)]*\):(\w+)>", "csv", re.sub(r"<(\w+)>", "x", path))
            method = "GET" if "GET" in rule.methods else sorted(rule.methods - {"HEAD", "OPTIONS"})[0]
            response = client.open(path, method=method, data={"csrf_token": "x"} if method == "POST" else None)
            # the API has one rule per method on a path: for an id no rule's converter takes, Werkzeug's matcher
            # answers the other methods with 405 (naming the path's methods) — refused before any view either way
            expected = {404, 405} if path.startswith("/api/") and method != "GET" else {404}
            assert response.status_code in expected, (method, path, response.status_code)


def test_an_id_at_the_limit_is_a_plain_404(app, client, world):
    login(client, world.exporter)
    for path in (f"/products/{MAX_ID}", f"/companies/{MAX_ID}", f"/deals/{MAX_ID}", f"/catalog/{MAX_ID}/edit"):
        assert client.get(path).status_code in (403, 404), path


# --------------------------------------------------------------------------- filter pages (GET)


GET_PAGES = {
    "exporter": [
        ("/catalog/", ["q", "status", "category", "page"]),
        ("/catalog/export.csv", ["q", "status", "category"]),
        ("/deals/", ["product", "counterpart", "state", "role", "date_from", "date_to", "page"]),
        ("/deals/export.csv", ["product", "counterpart", "state", "role", "date_from", "date_to"]),
        ("/deals/export.xlsx", ["product", "counterpart", "date_from", "date_to"]),
        ("/catalog/hs.json", ["q"]),
        ("/notifications/", ["page"]),
        ("/sourcing/board", ["state", "category", "province", "text", "page"]),
        ("/sourcing/quotes/mine", ["page"]),
    ],
    "buyer": [
        ("/deals/new", ["product", "another"]),
        ("/search/", ["q", "province", "city", "category", "cert", "moq_max", "price_max", "sort", "page", "ready"]),
        ("/search/exporters", ["q", "province", "city", "category", "page", "sort"]),
        ("/companies/", ["q", "province", "kind", "industry", "page"]),
        ("/deals/", ["product", "counterpart", "date_from", "date_to", "page"]),
        ("/sourcing/requests/mine", ["state", "category", "province", "text", "page"]),
        ("/sourcing/", ["page"]),
    ],
    "organizer": [
        ("/companies/verification", ["page"]),
        ("/companies/", ["q", "province", "kind", "page"]),
    ],
    None: [
        ("/", ["q"]),
        ("/regions.json", ["province"]),
        ("/account/login", ["next"]),
        ("/search/", ["q", "page", "province"]),
    ],
}


@pytest.mark.parametrize("actor", ["exporter", "buyer", "organizer", None])
def test_filter_pages_never_answer_500(app, client, world, actor):
    if actor:
        login(client, getattr(world, actor))
    pages = GET_PAGES[actor] + ([(f"/companies/{world.exporter_company}/products", ["q", "page"]),
                                 (f"/products/{world.product}", ["q"])] if actor == "buyer" else [])
    for path, params in pages:
        for text in HOSTILE:
            response = client.get(path, query_string=dict.fromkeys(params, text))
            assert_no_500(response, f"{path} {text!r}")
    assert unsafe_text_stored(app) == []


@pytest.mark.parametrize("query", [
    {"date_to": "9999-12-31"}, {"date_from": "0001-01-01"}, {"date_from": "0001-01-01", "date_to": "9999-12-31"},
    {"product": str(2**63)}, {"counterpart": str(2**63)}, {"product": "1\x00"}, {"counterpart": "-5"},
])
@pytest.mark.parametrize("path", ["/deals/", "/deals/export.csv", "/deals/export.xlsx"])
def test_deals_list_and_exports_take_any_filter(app, en_client, world, path, query):
    login(en_client, world.buyer)
    response = en_client.get(path, query_string=query)
    assert response.status_code in (200, 400), response.status_code
    if path == "/deals/" and any(value in ("9999-12-31", "0001-01-01") for value in query.values()):
        # the widest range there is: the intent is listed
        assert f"/deals/{world.intent}" in response.get_data(as_text=True)


def test_catalog_search_with_a_nul_byte_finds_what_the_clean_text_finds(app, client, world):
    login(client, world.exporter)
    with app.app_context():
        title = db.session.get(Product, world.product).title_zh
    plain = client.get("/catalog/", query_string={"q": title}).get_data(as_text=True)
    nul = client.get("/catalog/", query_string={"q": title[:2] + NUL + title[2:]})
    assert nul.status_code == 200
    assert (title in nul.get_data(as_text=True)) == (title in plain)


# --------------------------------------------------------------------------- forms (POST)


def _post(client, url, values):
    return client.post(url, data=values, content_type="multipart/form-data")


def _hostile_posts(app, client, page_url, action, post_url=None, having="", ok=(200, 302, 400, 403, 404, 409, 429)):
    """Send the form with hostile text appended to every field, then instead of every field."""
    post_url = post_url or action
    values = page_form(client, page_url, action, having)
    for text in HOSTILE:
        for append in (True, False):
            try:  # the form as the page shows it now; a finished intent shows none: post the last one seen
                values = page_form(client, page_url, action, having)
            except AssertionError:
                pass
            response = _post(client, post_url, spoiled(values, text, append))
            assert_no_500(response, f"{post_url} {text!r} append={append}")
            assert response.status_code in ok, (post_url, text, append, response.status_code)
    assert unsafe_text_stored(app) == []


def test_exporter_forms_never_answer_500(app, client, world):
    login(client, world.exporter)
    _hostile_posts(app, client, f"/catalog/{world.product}/edit", f"/catalog/{world.product}/edit")
    _hostile_posts(app, client, f"/companies/{world.exporter_company}/edit", "/edit")
    _hostile_posts(app, client, "/account/settings", "/account/settings")
    _hostile_posts(app, client, "/account/colleagues", "/account/colleagues/invite")
    _hostile_posts(app, client, "/catalog/", "/catalog/bulk")
    _hostile_posts(app, client, f"/deals/{world.intent}", f"/deals/{world.intent}/messages")
    _hostile_posts(app, client, f"/deals/{world.intent}", f"/deals/{world.intent}/act", having="quantity")
    _hostile_posts(app, client, "/account/password", "/account/password")


def test_buyer_and_organizer_forms_never_answer_500(app, client, world):
    login(client, world.buyer)
    _hostile_posts(app, client, f"/deals/new?product={world.product}", "/deals/new",
                   post_url=f"/deals/new?product={world.product}")
    _hostile_posts(app, client, f"/deals/{world.intent}", f"/deals/{world.intent}/messages")
    _hostile_posts(app, client, "/sourcing/requests/new", "/sourcing/requests/new")
    client.post("/account/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, world.organizer)
    _hostile_posts(app, client, f"/companies/{world.pending}", "/verify")
    _hostile_posts(app, client, f"/companies/{world.exporter_company}", "/tags")


def test_anonymous_forms_never_answer_500(app, client, world):
    for path in ("/account/login", "/account/register", "/account/reset"):
        _hostile_posts(app, client, path, path)


def test_new_product_with_title_or_sku_of_only_nul_or_bidi_is_refused_and_writes_nothing(app, en_client, world):
    login(en_client, world.exporter)
    before = counts(app)
    for field in ("title_zh", "sku"):
        for text in (NUL, RLO, NUL + RLO + " "):
            token = csrf_token(en_client, "/catalog/new")
            response = en_client.post("/catalog/new", data={**product_form(**{field: text}), "csrf_token": token})
            assert response.status_code == 200, (field, text)
            assert "This field is required." in response.get_data(as_text=True) or \
                "required" in response.get_data(as_text=True).lower()
    assert counts(app) == before


def test_new_product_with_nul_and_bidi_inside_its_text_is_saved_clean(app, en_client, world):
    login(en_client, world.exporter)
    token = csrf_token(en_client, "/catalog/new")
    response = en_client.post("/catalog/new", data={**product_form(
        title_zh="电饭\x00煲\u202e", sku="RC-\u202e9", description_zh="第一行\n第二\x00行", brand="美\u2066厨"),
        "csrf_token": token})
    assert response.status_code == 302
    with app.app_context():
        product = db.session.scalar(sa.select(Product).where(Product.sku == "RC-9"))
        assert (product.title_zh, product.brand) == ("电饭煲", "美厨")
        assert product.description_zh.replace("\r", "") == "第一行\n第二行"
    assert unsafe_text_stored(app) == []


@pytest.mark.parametrize("stock_location", [" ", "\x00", "\u202e", "nowhere"])
def test_product_form_with_a_blank_or_unknown_stock_location_is_not_a_500(app, en_client, world, stock_location):
    login(en_client, world.exporter)
    token = csrf_token(en_client, "/catalog/new")
    response = en_client.post("/catalog/new", data={**product_form(stock_location=stock_location),
                                                    "csrf_token": token})
    assert response.status_code in (200, 302)
    assert unsafe_text_stored(app) == []


@pytest.mark.parametrize("website", ["[]", ["[]", "x"], ["https://a.example", "https://b.example"], "\x00", RLO])
def test_company_form_with_a_strange_website_is_not_a_500(app, en_client, world, website):
    login(en_client, world.exporter)
    values = page_form(en_client, f"/companies/{world.exporter_company}/edit", "/edit")
    values["website"] = website if isinstance(website, list) else [website]
    response = en_client.post(f"/companies/{world.exporter_company}/edit", data=values)
    assert response.status_code in (200, 302)
    assert unsafe_text_stored(app) == []


@pytest.mark.parametrize("field, value", [
    ("quantity", str(2**63)), ("quantity", "9" * 40), ("unit_price", "9" * 30), ("unit_price", str(2**63)),
    ("valid_until", "9999-12-31"), ("delivery_date", "0001-01-01"), ("note", NUL), ("delivery_place", "上海\x00"),
])
def test_start_intent_with_extreme_values_is_refused_or_cleaned_never_a_500(app, client, world, field, value):
    from tests.test_deals_views import _start_form

    login(client, world.buyer)
    with app.app_context():
        before = db.session.scalar(sa.select(sa.func.count()).select_from(OrderIntent))
    response = client.post(f"/deals/new?product={world.product}",
                           data=_start_form(client, world.product, **{field: value}))
    assert response.status_code in (200, 302)
    with app.app_context():
        after = db.session.scalar(sa.select(sa.func.count()).select_from(OrderIntent))
    assert after == before + (1 if response.status_code == 302 else 0)
    assert unsafe_text_stored(app) == []


@pytest.mark.parametrize("note", ["a\x00b", NUL, RLO, "理由\u202e" * 3, " "])
def test_decline_reason_with_nul_or_bidi_is_refused_or_stored_clean(app, en_client, world, note):
    login(en_client, world.exporter)
    values = page_form(en_client, f"/deals/{world.intent}", f"/deals/{world.intent}/act", having="note")
    values = {**values, "note": [note]} if values.get("action") == ["decline"] else None
    if values is None:  # the decline form is the one with a note but no quantity
        parser = _Forms()
        parser.feed(en_client.get(f"/deals/{world.intent}").get_data(as_text=True))
        [values] = [{k: v for k, v in f["fields"].items() if v} for f in parser.forms
                    if f["fields"].get("action") == ["decline"]]
        values["note"] = [note]
    response = en_client.post(f"/deals/{world.intent}/act", data=values)
    assert response.status_code in (200, 302, 400)
    with app.app_context():
        intent = db.session.get(OrderIntent, world.intent)
        declined = intent.state.value == "declined"
    assert declined == bool(clean_text(note).strip())
    assert unsafe_text_stored(app) == []


def test_message_with_nul_and_a_bidi_attachment_name_is_stored_clean(app, client, world):
    login(client, world.buyer)
    token = csrf_token(client, f"/deals/{world.intent}")
    response = client.post(f"/deals/{world.intent}/messages", content_type="multipart/form-data", data={
        "csrf_token": token, "body": "请看\x00发票",
        "attachment": (io.BytesIO(b"%PDF-1.4\n%%EOF"), "invoice\u202efdp.exe"),
    })
    assert response.status_code == 302
    with app.app_context():
        message = db.session.scalars(sa.select(OrderIntentMessage)).one()
        assert message.body == "请看发票" and message.attachment_original == "invoicefdp.exe"
    assert unsafe_text_stored(app) == []


def test_clean_original_name_drops_bidi_overrides_for_callers_outside_a_request():
    from marketplace.deals.attachments import clean_original_name

    assert clean_original_name("C:\\Users\\x\\invoice\u202efdp.exe") == "invoicefdp.exe"
    assert clean_original_name("\u202e\u2066") == "attachment"
    assert clean_original_name("a\tb\nc\x7f.pdf") == "abc.pdf"


def test_login_with_nul_in_the_password_is_a_plain_failure(app, en_client, world):
    response = en_client.post("/account/login", data={
        "csrf_token": csrf_token(en_client, "/account/login"), "email": world.buyer + "\x00",
        "password": PASSWORD + "\u202e"}, follow_redirects=True)
    assert response.status_code == 200


@pytest.mark.parametrize("huge", [str(MAX_ID + 1), str(2**63), "9" * 40])
def test_hidden_ids_and_versions_beyond_any_column_are_refused_not_500(app, client, world, huge):
    login(client, world.exporter)
    values = page_form(client, f"/deals/{world.intent}", f"/deals/{world.intent}/act", having="quantity")
    response = client.post(f"/deals/{world.intent}/act", data={**values, "version": huge})
    assert_no_500(response, "act version")
    values = page_form(client, "/catalog/", "/catalog/bulk")
    response = client.post("/catalog/bulk", data={**values, "product_ids": [str(world.product), huge], "action": "archive"})
    assert_no_500(response, "bulk ids")
    with app.app_context():
        assert db.session.get(Product, world.product).status.value == "published"
        assert db.session.get(OrderIntent, world.intent).version == 1
    client.post("/account/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, world.buyer)
    values = page_form(client, f"/deals/new?product={world.product}", "/deals/new")
    response = client.post(f"/deals/new?product={huge}", data={**values, "product_id": huge})
    assert response.status_code == 404


@pytest.mark.parametrize("huge", [str(MAX_ID + 1), "9" * 40])
def test_sourcing_versions_and_ids_beyond_any_column_are_not_500(app, client, huge):
    from tests.test_sourcing_services import make_world, post, quote

    with app.app_context():
        sourcing = make_world()
        request_id = post(sourcing).id
        quote_id = quote(sourcing.exporter_user, db.session.get(type(post(sourcing)), request_id)).id
        buyer, exporter = sourcing.buyer_user.email, sourcing.exporter_user.email
    login(client, buyer)
    values = page_form(client, f"/sourcing/requests/{request_id}/edit", f"/sourcing/requests/{request_id}/edit")
    response = client.post(f"/sourcing/requests/{request_id}/edit",
                           data={**values, "version": huge, "remove": [huge]})
    assert_no_500(response, "request edit")
    client.post("/account/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, exporter)
    values = page_form(client, f"/sourcing/quotes/{quote_id}", f"/sourcing/quotes/{quote_id}/revise")
    response = client.post(f"/sourcing/quotes/{quote_id}/revise", data={**values, "version": huge,
                                                                       "product_id": huge})
    assert_no_500(response, "quote revise")


def test_text_in_url_paths_with_nul_or_bidi_is_never_a_500(app, client, world):
    login(client, world.exporter)
    rules = [rule for rule in app.url_map.iter_rules()
             if any(type(conv).__name__ in ("UnicodeConverter", "PathConverter") for conv in rule._converters.values())
             and not rule.rule.startswith(("/static", "/bootstrap"))]
    assert rules
    for rule in rules:
        for text in ("a%00b", "%E2%80%AE", "%00", "x" * 3000):
            path = re.sub(r"<int:\w+>", "1", rule.rule)
            path = re.sub(r"<any\([^)]*\):(\w+)>", "csv", path)
            path = re.sub(r"<(?:path:|string:)?\w+>", text, path)
            method = "GET" if "GET" in rule.methods else sorted(rule.methods - {"HEAD", "OPTIONS"})[0]
            response = client.open(path, method=method)
            assert_no_500(response, f"{method} {path[:80]}")
