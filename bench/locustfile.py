"""The load test's scenario (locust), run by ``python -m bench.loadtest`` (``make loadtest``).

The orchestrator seeds the data and passes its plan (``LOADTEST_PLAN``: accounts with their own products
and open requests, public product and company ids, queries). Four kinds of users, by weight:

- anonymous visitors (4): home, product search (``bench.search_queries``' mix: 2–4 Chinese words, a third
  with a category, a third with a price range), category lists, product pages, company profiles and
  storefronts, the exporter search;
- buyers (3), logged in once: their workbench, searches with filters (province, sort, page), product pages,
  their requests and a request's page with its matched suppliers (精准匹配);
- exporters (3), logged in once: their 商机 (requests their products fit), the request board (exporters
  only), their catalog, a product's price edited through the product form, their intents, and now and then
  a small spreadsheet (.xlsx made with openpyxl) imported through upload → preview → commit;
- intent pairs (1): a buyer records an order intent on a product (the start form) and the exporter of that
  product accepts it (both logged in, one company each).

Every response is checked (status 200 after redirects, and a marker of the right page); anything else
counts as an error. CSRF tokens come from the forms. Production serves HTTPS only and marks its cookies
Secure: the users act as the TLS-terminating proxy in front of it (``X-Forwarded-Proto: https``, each
user its own ``X-Forwarded-For``; the app trusts one proxy) and send the Secure cookies over the plain
connection to 127.0.0.1.
"""
from __future__ import annotations

import html.parser
import http.cookiejar
import io
import itertools
import json
import os
import random
import re
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import gevent
from locust import HttpUser, between, events, task
from locust.clients import HttpSession

PLAN = json.loads(Path(os.environ["LOADTEST_PLAN"]).read_text()) if os.environ.get("LOADTEST_PLAN") else {}
SEED = int(os.environ.get("LOADTEST_SEED", "2025"))
#: seconds of warm-up (log-ins, every worker's caches) after which the figures start from zero
WARMUP = float(os.environ.get("LOADTEST_WARMUP", "0"))
#: rows of each imported spreadsheet (small: a supplier's weekly update, committed inside the request)
IMPORT_ROWS = 8
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# The proxy's side of TLS: the app's cookies are Secure, the connection to 127.0.0.1 is plain HTTP.
http.cookiejar.DefaultCookiePolicy.return_ok_secure = lambda self, cookie, request: True

_addresses = itertools.count(1)
_environment = None
_warmup: dict = {}


@events.test_start.add_listener
def _schedule_warmup_end(environment, **_kwargs):
    if WARMUP > 0:
        gevent.spawn_later(WARMUP, _end_warmup, environment)


def _end_warmup(environment) -> None:
    """Keep the warm-up's counts (its errors are errors too), then start the figures from zero."""
    stats = environment.stats
    _warmup.update(seconds=WARMUP, requests=stats.total.num_requests, errors=stats.total.num_failures,
                   failures=[(e.method, e.name, str(e.error), e.occurrences) for e in stats.errors.values()])
    stats.reset_all()


@events.init.add_listener
def _keep_environment(environment, **_kwargs):
    global _environment
    _environment = environment


@events.quit.add_listener
def _write_result(exit_code, **_kwargs):
    """The final figures (after the last task stopped) as JSON at ``LOADTEST_RESULT`` for the orchestrator."""
    path = os.environ.get("LOADTEST_RESULT")
    if not path or _environment is None:
        return

    def entry(stats) -> dict:
        figures = {"name": stats.name, "method": stats.method, "count": stats.num_requests,
                   "errors": stats.num_failures, "rps": stats.total_rps, "max": stats.max_response_time}
        for key, fraction in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
            figures[key] = stats.get_response_time_percentile(fraction) if stats.num_requests else None
        return figures

    stats = _environment.stats
    runner = _environment.runner
    result = {
        "exit_code": exit_code,
        "pages": [entry(e) for e in stats.entries.values() if e.num_requests or e.num_failures],
        "aggregate": entry(stats.total),
        "failures": [(e.method, e.name, str(e.error), e.occurrences) for e in stats.errors.values()],
        "exceptions": [(e["count"], e["msg"], e["traceback"]) for e in (runner.exceptions.values() if runner else [])],
        "warmup": _warmup,
    }
    Path(path).write_text(json.dumps(result, ensure_ascii=False, default=str))
_accounts = {"buyer": itertools.count(), "exporter": itertools.count(), "pair": itertools.count()}


# ----------------------------------------------------------------------------- forms in HTML


class _Forms(html.parser.HTMLParser):
    """Every <form> of a page with the fields a browser would submit (no buttons, no files)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._form = None
        self._select = None
        self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._form = {"action": a.get("action") or "", "testid": a.get("data-testid"), "fields": []}
            self.forms.append(self._form)
        elif self._form is None or "disabled" in a:
            return
        elif tag == "input":
            kind = (a.get("type") or "text").lower()
            if not a.get("name") or kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self._form["fields"].append((a["name"], a.get("value") or ("on" if kind in ("checkbox", "radio") else "")))
        elif tag == "select" and a.get("name"):
            self._select = {"name": a["name"], "chosen": [], "first": None}
        elif tag == "option" and self._select is not None:
            value = a.get("value") or ""
            if self._select["first"] is None:
                self._select["first"] = value
            if "selected" in a:
                self._select["chosen"].append(value)
        elif tag == "textarea" and a.get("name"):
            self._textarea = [a["name"], []]

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1].append(data)

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select" and self._select is not None:
            if self._form is not None:
                for value in self._select["chosen"] or [self._select["first"] or ""]:
                    self._form["fields"].append((self._select["name"], value))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            text = "".join(self._textarea[1])
            if text.startswith("\r\n"):
                text = text[2:]
            elif text.startswith("\n"):
                text = text[1:]
            if self._form is not None:
                self._form["fields"].append((self._textarea[0], text))
            self._textarea = None


def forms_of(page: str) -> list[dict]:
    parser = _Forms()
    parser.feed(page)
    return parser.forms


def find_form(page: str, testid: str | None = None, action: str | None = None, field: tuple | None = None) -> dict:
    """The first form with this data-testid / action (a prefix) / hidden field value; KeyError when none."""
    for form in forms_of(page):
        if testid is not None and form["testid"] != testid:
            continue
        if action is not None and not form["action"].startswith(action):
            continue
        if field is not None and field not in form["fields"]:
            continue
        return form
    raise KeyError(f"no form {testid or ''}{action or ''}{field or ''} on the page")


def csrf_token(page: str) -> str:
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', page)
    if not found:
        raise KeyError("no CSRF token on the page")
    return found.group(1)


# ----------------------------------------------------------------------------- the spreadsheet


_IMPORT_GOODS = (
    ("不锈钢保温杯 500ml 真空双层", "厨具餐具", "个", 500, 18.5),
    ("家用电热水壶 1.7L 304不锈钢", "小家电", "台", 200, 45.0),
    ("LED吸顶灯 24W 三色调光", "LED 照明", "盏", 300, 39.9),
    ("纯棉毛巾 34×76cm 吸水", "纺织服装", "件", 1000, 6.8),
    ("儿童益智积木 120粒", "玩具", "套", 200, 35.0),
    ("锂电手电钻 12V 双速", "五金工具", "台", 100, 129.0),
    ("户外折叠露营帐篷 3-4人", "体育户外用品", "套", 100, 168.0),
    ("蓝牙耳机 真无线 降噪", "消费电子", "个", 500, 59.0),
)


def make_xlsx(account: int, round_: int) -> bytes:
    """A small catalog update in the Chinese template's columns (the same SKUs each time: rows are updated)."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("产品")
    sheet.append(["货号*", "产品名称*", "类目*", "单位*", "起订量*", "阶梯价*", "月产能"])
    for n in range(IMPORT_ROWS):
        title, category, unit, moq, price = _IMPORT_GOODS[n % len(_IMPORT_GOODS)]
        price = round(price * (1 + (round_ % 5) / 100), 2)
        sheet.append([f"LT{account:03d}-{n:02d}", f"{title} 负载测试款{n}", category, unit, moq,
                      f"{moq}:{price:.2f}; {moq * 5}:{price * 0.92:.2f}", moq * 50])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# ----------------------------------------------------------------------------- users


class Site(HttpUser):
    """What every user does: the proxy's headers, checked pages, forms posted with their CSRF token."""

    abstract = True
    wait_time = between(1, 4)

    def on_start(self):
        number = next(_addresses)
        self.rng = random.Random(SEED * 1000 + number)
        self.address = f"10.77.{number // 250}.{number % 250 + 1}"
        self._prepare(self.client)

    def _prepare(self, client) -> None:
        client.headers.update({
            "X-Forwarded-Proto": "https", "X-Forwarded-For": self.address,
            "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5", "User-Agent": "rongtong-loadtest (locust)",
        })

    def _session(self) -> HttpSession:
        client = HttpSession(base_url=self.host, request_event=self.environment.events.request, user=self)
        self._prepare(client)
        return client

    def _referer(self, path: str) -> dict:
        # Flask-WTF checks the Referer of HTTPS posts against the host (the proxy's scheme)
        return {"Referer": "https://" + urlsplit(self.host).netloc + path}

    def page(self, url: str, name: str, *markers: str, client=None) -> str | None:
        """GET a page; an error unless 200 with one of the markers. The page's text, or None."""
        with (client or self.client).get(url, name=name, catch_response=True) as response:
            return self._check(response, markers)

    def post(self, url: str, name: str, data, *markers: str, client=None, files=None, referer: str | None = None):
        """POST a form (redirects followed); an error unless 200 with one of the markers. The response, or None."""
        with (client or self.client).post(url, data=data, files=files, name=name, catch_response=True,
                                          headers=self._referer(referer or url)) as response:
            return response if self._check(response, markers) is not None else None

    @staticmethod
    def _check(response, markers) -> str | None:
        if response.status_code != 200:
            response.failure(f"HTTP {response.status_code} at {urlsplit(response.url or '').path}")
            return None
        text = response.text
        if markers and not any(marker in text for marker in markers):
            response.failure(f"not the expected page ({markers[0]!r} missing) at {urlsplit(response.url).path}")
            return None
        response.success()
        return text

    def log_in(self, account: dict, client=None) -> bool:
        page = self.page("/account/login", "login (form)", 'name="password"', client=client)
        if page is None:
            return False
        data = {"csrf_token": csrf_token(page), "email": account["email"], "password": account["password"]}
        return self.post("/account/login", "login", data, 'action="/account/logout"', client=client) is not None

    # pages every kind of user sees

    def search(self, name: str = "search", filters: bool = False) -> None:
        query = self.rng.choice(PLAN["queries"])
        params = {"q": query["q"]}
        if query["category"]:
            params["category"] = query["category"]
        if query["price_min"] is not None:
            params["price_min"] = f"{query['price_min'] / 100:.2f}"
            params["price_max"] = f"{query['price_max'] / 100:.2f}"
        if filters:
            roll = self.rng.random()
            if roll < 0.3:
                params["province"] = self.rng.choice(PLAN["provinces"])
            elif roll < 0.5:
                params["sort"] = self.rng.choice(("price_asc", "price_desc", "newest"))
            elif roll < 0.6:
                params["verified"] = "1"
            if self.rng.random() < 0.15:
                params["page"] = "2"
        self.page("/search/?" + urlencode(params), name, 'data-testid="result-count"', 'data-testid="no-results"')

    def product(self) -> None:
        self.page(f"/products/{self.rng.choice(PLAN['public_products'])}", "product", 'data-testid="product-title"')

    def board(self) -> None:
        params = {}
        if self.rng.random() < 0.7:
            params["q"] = self.rng.choice(PLAN["board_queries"])
        if self.rng.random() < 0.3:
            params["sort"] = self.rng.choice(("newest", "deadline", "quantity"))
        self.page("/sourcing/board" + ("?" + urlencode(params) if params else ""), "request board (商机大厅)",
                  'data-testid="result-count"', "empty-state")


class Visitor(Site):
    """Not logged in: browsing and searching."""

    weight = 4

    @task(2)
    def home(self):
        self.page("/", "home", 'data-testid="home-search"')

    @task(5)
    def search_products(self):
        self.search()

    @task(2)
    def category_list(self):
        query = self.rng.choice([q for q in PLAN["queries"] if q["category"]])
        self.page(f"/search/?category={query['category']}&sort=newest", "product list (category)",
                  'data-testid="result-count"', 'data-testid="no-results"')

    @task(4)
    def product_page(self):
        self.product()

    @task(1)
    def company_profile(self):
        self.page(f"/companies/{self.rng.choice(PLAN['companies'])}", "company profile",
                  'data-testid="company-name"')

    @task(1)
    def storefront(self):
        self.page(f"/companies/{self.rng.choice(PLAN['companies'])}/products", "storefront",
                  'data-testid="storefront-title"')

    @task(1)
    def exporters(self):
        self.page("/search/exporters?" + urlencode({"q": self.rng.choice(PLAN["board_queries"])}), "search exporters",
                  'data-testid="result-count"', 'data-testid="no-results"')


class Buyer(Site):
    """A buyer's user (the demo chain buyer and retailer first, then the generated buyers)."""

    weight = 3

    def on_start(self):
        super().on_start()
        self.account = PLAN["buyers"][next(_accounts["buyer"]) % len(PLAN["buyers"])]
        self.logged_in = self.log_in(self.account)

    @task(1)
    def workbench(self):
        self.page("/", "home (workbench)", 'data-testid="wb-requests"')

    @task(3)
    def search_products(self):
        self.search("search (with filters)", filters=True)

    @task(2)
    def product_page(self):
        self.product()

    @task(1)
    def my_requests(self):
        self.page("/sourcing/requests/mine", "my requests", 'data-testid="request-filters"')

    @task(4)
    def request_matches(self):
        request_id = self.rng.choice(self.account["requests"])
        self.page(f"/sourcing/requests/{request_id}", "request + matched suppliers (buyer)", 'data-testid="suppliers"')


class Exporter(Site):
    """An exporter's user (the demo exporter first, then the generated exporters)."""

    weight = 3

    def on_start(self):
        super().on_start()
        self.number = next(_accounts["exporter"])
        self.account = PLAN["exporters"][self.number % len(PLAN["exporters"])]
        self.prices: dict[int, list[str]] = {}
        self.imports = 0
        self.logged_in = self.log_in(self.account)

    @task(8)
    def opportunities(self):
        self.page("/matching/opportunities", "商机 opportunities (exporter)", 'data-testid="opportunity-list"',
                  "empty-state")

    @task(2)
    def request_board(self):
        self.board()

    @task(2)
    def my_catalog(self):
        self.page("/catalog/", "my catalog", 'data-testid="catalog-table"', 'data-testid="catalog-empty"')

    @task(2)
    def own_product(self):
        self.page(f"/products/{self.rng.choice(self.account['products'])}", "product (owner)",
                  'data-testid="product-title"')

    @task(2)
    def my_intents(self):
        self.page("/deals/", "my intents", 'data-testid="intent-filters"')

    @task(4)
    def edit_price(self):
        """Change every price break of one product by the same factor (the catalog edit path)."""
        product_id = self.rng.choice(self.account["products"])
        url = f"/catalog/{product_id}/edit"
        page = self.page(url, "catalog: edit form", 'data-testid="product-form"')
        if page is None:
            return
        form = find_form(page, testid="product-form")
        first = self.prices.setdefault(product_id, [v for k, v in form["fields"] if k == "price_tiers-price"])
        factor = 1 + self.rng.choice((-3, -2, -1, 1, 2, 3)) / 100
        prices = iter(first)
        fields = []
        for key, value in form["fields"]:
            if key == "price_tiers-price":
                original = next(prices, "")
                value = f"{float(original) * factor:.2f}" if original else value
            fields.append((key, value))
        fields.append(("save", "1"))
        self.post(url, "catalog: save price", fields, 'data-testid="product-form"', referer=url)

    @task(1)
    def import_spreadsheet(self):
        """Upload → preview → commit of a small .xlsx (its rows created the first time, updated after)."""
        page = self.page("/catalog/import", "import: upload form", 'name="file"')
        if page is None:
            return
        self.imports += 1
        data = make_xlsx(self.number, self.imports)
        preview = self.post("/catalog/import", "import: upload → preview", {"csrf_token": csrf_token(page)},
                            'data-testid="import-commit-form"', files={"file": ("目录更新.xlsx", data, XLSX_TYPE)})
        if preview is None:
            return
        form = find_form(preview.text, testid="import-commit-form")
        fields = [*form["fields"], ("publish", "y")]
        self.post(form["action"], "import: commit", fields, 'data-testid="import-done"',
                  referer=urlsplit(preview.url).path)


class IntentPair(Site):
    """A buyer records an order intent on an exporter's product; that exporter accepts it."""

    weight = 1

    def on_start(self):
        super().on_start()
        number = next(_accounts["pair"])
        # from the far ends of the account lists: rarely the same companies as the buyers and exporters above
        self.buyer = PLAN["buyers"][-1 - number % len(PLAN["buyers"])]
        self.exporter = PLAN["exporters"][-1 - number % len(PLAN["exporters"])]
        self.exporter_client = self._session()
        self.logged_in = self.log_in(self.buyer) and self.log_in(self.exporter, client=self.exporter_client)

    def on_stop(self):
        self.exporter_client.close()

    @task
    def intent_accepted(self):
        product_id = self.rng.choice(self.exporter["products"])
        url = f"/deals/new?product={product_id}"
        page = self.page(url, "intent: start form", 'data-testid="start-intent-form"')
        if page is not None and 'data-testid="start-another"' in page:
            # an open intent on this product already: the form would give it back; start another deliberately
            page = self.page(url + "&another=1", "intent: start another", 'data-testid="start-intent-form"')
        if page is None:
            return
        form = find_form(page, testid="start-intent-form")
        sent = self.post(form["action"] or url, "intent: send", [*form["fields"], ("submit_action", "send")],
                         'data-state="submitted"', referer=url)
        if sent is None:
            return
        found = re.search(r"/deals/(\d+)$", urlsplit(sent.url).path)
        if not found:
            return
        intent_url = f"/deals/{found.group(1)}"
        page = self.page(intent_url, "intent: page (exporter)", 'data-testid="action-accept"',
                         client=self.exporter_client)
        if page is None:
            return
        form = find_form(page, action=f"{intent_url}/act", field=("action", "accept"))
        self.post(form["action"], "intent: accept", form["fields"], 'data-state="accepted"',
                  client=self.exporter_client, referer=intent_url)
        self.page("/deals/", "my intents", 'data-testid="intent-filters"')
