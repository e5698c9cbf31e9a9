"""Sourcing: the request board's search, the requests index's rebuild, and the buyer's comparison page.

Numbers, not assertions (issue 10, "Performance"):

- **board search**: ``DEFAULT_REQUESTS`` generated open requests (``generate_requests``: deterministic
  Chinese procurement requests built from ``bench.search_data``'s kinds of goods, e.g. "采购304不锈钢
  保温杯 500ml 3000个") in a requests index (``SearchIndex`` of the ``requests`` kind, as
  ``marketplace.sourcing.queries.search_board`` searches it: relevance, top 20, facets on, highlights);
  p50/p95/p99 over a query mix (``bench.search_queries.query_mix``'s 2–4 word Chinese queries; a third
  with a category filter, a third with a delivery-province filter), warm (one untimed pass of another
  mix first), the result cache off. Beside it SQLite FTS5 over the same segmented text given the
  engine's own parsed query (``bench.fts5_baseline``'s "fair" reading: synonyms, lone-character
  expansion, total counted, relaxed pass) with the same filters and the request kind's facets
  (category, HS chapter, province, certifications), and the ratio ours/FTS5. Optionally
  (``--products N``) a product index of N listings is opened and warmed in the same process first,
  as in the application.
- **rebuild**: ``SearchIndex.rebuild`` of the requests index in a subprocess (its own peak memory,
  VmHWM), and the FTS5 build of the same records.
- **comparison page**: a throw-away app on SQLite with one request and ``DEFAULT_QUOTES`` quotes from
  as many exporters (each with a product, a CCC certificate, some expired, readiness items and tags
  varied), the buyer logged in through the login form; server time of
  ``GET /sourcing/requests/<id>/quotes?sort=price`` through the Flask test client.

``python -m bench --only sourcing``, or ``python -m bench.sourcing_bench [--requests N] [--quotes N] …``.
Absolute times depend on the machine and its load: read the ratios beside them.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate
from pathlib import Path

from bench.fts5_baseline import BATCH, BM25_WEIGHTS, Fts5Index, Fts5Result
from bench.search_bench import _mb, _peak_kb, _ratio, _rss_kb, _table, _triple, percentile
from bench.search_data import CATEGORY_WEIGHTS, PLACES, _hs_names, category_names, kinds_by_category

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REQUESTS = 20_000
DEFAULT_QUERIES = 300
DEFAULT_QUOTES = 200
PAGE_REQUESTS = 50
PAGE_WARMUP = 5
TOP = 20
#: open requests per generated buyer company
REQUESTS_PER_BUYER = 25
#: share of requests delivered to a city drawn from every province (the rest: the coastal weights)
ANYWHERE_SHARE = 0.35
#: requests are dated from here (fixed: the same records whatever the day)
START = datetime(2026, 6, 1, tzinfo=UTC)
DEADLINES_FROM = date(2026, 12, 10)

VERBS = ("采购", "求购", "批量采购", "寻找供应商：", "长期采购")
BUYER_WORDS = ("连锁超市", "百货", "便利店", "电商", "商贸", "供应链", "家居卖场")
BUYER_SENTENCES = (
    "门店铺货，需中文说明书与合格证。", "用于618电商大促，可分两批交货。", "长期合作，首单试单后按月下单。",
    "要求工厂直供，支持验厂。", "需中文标签和条形码，外箱按我司唛头。", "可接受OEM贴牌，请附产品图片和报价单。",
    "请注明交期和付款方式，优先考虑转内销外贸工厂。", "需开增值税专用发票，含运费报价。",
)


# ----------------------------------------------------------------------------- generated requests


def _region_names() -> tuple[dict[str, str], list[tuple[str, str]]]:
    """(code → short name of every province and city, every (province, city) pair)."""
    from marketplace import regions

    names, pairs = {}, []
    for province in regions.provinces():
        short = province.name
        for suffix in ("壮族自治区", "回族自治区", "维吾尔自治区", "自治区", "省", "市"):
            short = short.removesuffix(suffix)
        names[province.code] = short
        for city in regions.cities(province.code):
            names[city.code] = city.name.removesuffix("市")
            pairs.append((province.code, city.code))
    return names, pairs


def _place(rng: random.Random, everywhere: list[tuple[str, str]]) -> tuple[str, str]:
    if rng.random() < ANYWHERE_SHARE:
        return rng.choice(everywhere)
    return rng.choices([(p, c) for p, c, _w in PLACES], [w for _p, _c, w in PLACES])[0]


def generate_requests(n: int, seed: int = 2025) -> Iterator:
    """``n`` open public procurement requests (``RequestRecord``), ids 1..n; same ``n`` and seed, same records."""
    from marketplace.catalog.categories import CERTIFICATION_CODES
    from search_index import RequestRecord

    rng = random.Random(f"sourcing-requests-{seed}")
    names, everywhere = _region_names()
    labels = category_names()
    by_category = kinds_by_category()
    codes = sorted(CATEGORY_WEIGHTS)
    category_cum = list(accumulate(CATEGORY_WEIGHTS[c] for c in codes))
    buyers = []
    for number in range(max(1, n // REQUESTS_PER_BUYER)):
        _province, city = _place(rng, everywhere)
        buyers.append((number + 1, f"{names[city]}{rng.choice('华联汇佳美惠万家乐购')}{rng.choice('家福客多源联')}"
                                    f"{rng.choice(BUYER_WORDS)}有限公司"))
    for request_id in range(1, n + 1):
        category = rng.choices(codes, cum_weights=category_cum)[0]
        kind = rng.choice(by_category[category])
        values = [rng.choice(options).split("|")[0] for _key, options in kind.specs]
        goods = kind.titles_zh[rng.randrange(len(kind.titles_zh))].format(*values)
        quantity = rng.choice(kind.moq) * rng.choice((1, 2, 3, 5, 10, 20))
        province, city = _place(rng, everywhere)
        place = names[province] + ("" if names[city] == names[province] else names[city])
        certs = sorted({"OTHER" if c == "ETL" else c for c in rng.sample(kind.certs, rng.randint(0, min(2, len(kind.certs))))}
                       | ({"CCC"} if kind.ccc and rng.random() < 0.6 else set()))
        certs = [c for c in certs if c in CERTIFICATION_CODES]
        price = round(rng.uniform(*kind.price) * 100)
        verb = rng.choice(VERBS)
        title = f"{verb}{goods} {quantity}{kind.unit}"
        if certs and rng.random() < 0.5:
            title += f"，需{'/'.join(certs)}认证"
        title += f"，送货到{place}"
        deadline = DEADLINES_FROM + timedelta(days=rng.randint(7, 90))
        parts = [
            f"{verb}{goods}{quantity}{kind.unit}，要求"
            + "、".join(rng.sample(kind.features, min(len(kind.features), rng.randint(1, 3)))) + "。",
            f"需提供{'、'.join(certs)}证书及第三方检测报告。" if certs else "需提供第三方检测报告。",
            f"产品须符合{kind.gb}。" if kind.gb else "",
            f"目标单价{price / 100:.2f}元/{kind.unit}，送货到{place}，{deadline.month}月{deadline.day}日前报价。",
            *rng.sample(BUYER_SENTENCES, 2),
        ]
        published = START + timedelta(seconds=rng.randrange(180 * 86400))
        buyer_id, buyer_name = rng.choice(buyers)
        yield RequestRecord(
            id=request_id, buyer_company_id=buyer_id, buyer_company_name=buyer_name, title=title,
            deadline=deadline, quantity=quantity, unit=kind.unit, description="".join(parts),
            category=category, category_names=labels[category], hs_code=kind.hs, hs_names=_hs_names(kind.hs),
            target_unit_price_fen=price if rng.random() < 0.8 else None,
            budget_fen=price * quantity if rng.random() < 0.2 else None,
            delivery_province=province, delivery_city=city, required_certifications=tuple(certs),
            published_at=published, updated_at=published, extra={"kind": kind.name},
        )


@dataclass(frozen=True)
class BoardQuery:
    """One query of the board mix: text and at most one filter (category, or delivery province)."""

    text: str
    category: str | None = None
    province: str | None = None


def board_mix(count: int, seed: int = 2025) -> list[BoardQuery]:
    """The product benchmark's 2–4 word mix (``query_mix``) with its price ranges turned into province filters."""
    from bench.search_queries import query_mix

    rng = random.Random(f"board-mix-{seed}")
    _names, everywhere = _region_names()
    mix = []
    for query in query_mix(count, seed):
        if query.price_min_fen is not None:
            mix.append(BoardQuery(query.text, province=_place(rng, everywhere)[0]))
        else:
            mix.append(BoardQuery(query.text, category=query.category))
    return mix


# ----------------------------------------------------------------------------- FTS5, requests variant


class RequestFts5Index(Fts5Index):
    """``Fts5Index`` over request documents: a ``requests`` table of filter values beside the FTS table,
    the engine's parsed query (the "fair" mode), category / province filters, the request kind's facets."""

    @classmethod
    def build_requests(cls, records: Iterable, path: str | os.PathLike) -> tuple[RequestFts5Index, dict]:
        """Segment every request document and load it into a new database at ``path``; index and figures."""
        from search_index import schemas
        from search_index.analysis import index_terms
        from search_index.requests import request_to_document

        wall_started = time.perf_counter()
        path = Path(path)
        if path.exists():
            path.unlink()
        db = sqlite3.connect(str(path))
        db.executescript("""
            PRAGMA journal_mode = OFF;
            PRAGMA synchronous = OFF;
            CREATE VIRTUAL TABLE fts USING fts5(
                id UNINDEXED, title, text, tokenize = "unicode61 remove_diacritics 0 tokenchars '.'");
            CREATE TABLE requests (
                id INTEGER PRIMARY KEY, category TEXT, hs TEXT, province TEXT, city TEXT, quantity INTEGER,
                deadline INTEGER, published INTEGER);
            CREATE TABLE request_certs (id INTEGER, cert TEXT, PRIMARY KEY (id, cert)) WITHOUT ROWID;
        """)
        segment_s = insert_s = 0.0
        docs = 0
        fts_rows: list = []
        rows: list = []
        cert_rows: list = []

        def flush():
            nonlocal insert_s
            started = time.perf_counter()
            db.executemany("INSERT INTO fts (rowid, id, title, text) VALUES (?, ?, ?, ?)", fts_rows)
            db.executemany("INSERT INTO requests VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
            db.executemany("INSERT INTO request_certs VALUES (?, ?)", cert_rows)
            insert_s += time.perf_counter() - started
            fts_rows.clear()
            rows.clear()
            cert_rows.clear()

        for record in records:
            doc = request_to_document(record)
            started = time.perf_counter()
            title = " ".join(index_terms(doc[schemas.TITLE]))
            text = " ".join(index_terms(doc[schemas.TEXT]))
            segment_s += time.perf_counter() - started
            fts_rows.append((record.id, record.id, title, text))
            rows.append((record.id, record.category or "other", record.hs_code or "", record.delivery_province or "",
                         record.delivery_city or "", record.quantity, doc[schemas.DEADLINE], doc[schemas.PUBLISHED]))
            cert_rows.extend((record.id, cert) for cert in sorted(set(record.required_certifications)))
            docs += 1
            if len(fts_rows) >= BATCH:
                flush()
        flush()
        started = time.perf_counter()
        db.executescript("""
            CREATE INDEX requests_category ON requests (category);
            CREATE INDEX requests_province ON requests (province);
            INSERT INTO fts (fts) VALUES ('optimize');
        """)
        db.commit()
        db.close()
        insert_s += time.perf_counter() - started
        stats = {"docs": docs, "segment_s": segment_s, "insert_s": insert_s,
                 "seconds": time.perf_counter() - wall_started, "size_bytes": path.stat().st_size}
        return cls(path), stats

    def search_requests(self, text: str, category: str | None = None, province: str | None = None, *,
                        limit: int = TOP, highlight: bool = True, facets: bool = True) -> Fts5Result:
        """The engine's parsed query (strict, then relaxed when nothing matches), top ``limit`` by bm25."""
        from search_index.query import parse

        strict, relaxed = self.engine_expressions(parse(text))
        if strict is None:
            return Fts5Result([], [], 0, {} if facets else None)
        result = self._request_run(strict, category, province, limit, highlight, facets)
        if result.total == 0 and relaxed:
            result = self._request_run(relaxed, category, province, limit, highlight, facets)
            result.relaxed = True
        return result

    def _request_run(self, expression, category, province, limit, highlight, facets) -> Fts5Result:
        clauses, params = ["fts MATCH ?"], []
        for column, value in (("category", category), ("province", province)):
            if value:
                clauses.append(f"r.{column} = ?")
                params.append(value)
        where = " AND ".join(clauses)
        weights = ", ".join(str(w) for w in BM25_WEIGHTS)
        shown = "highlight(fts, 1, '<mark>', '</mark>')" if highlight else "''"
        # CROSS JOIN keeps the FTS table the outer loop (see fts5_baseline)
        found = self.db.execute(
            f"SELECT f.rowid, {shown} FROM fts f CROSS JOIN requests r ON r.id = f.rowid "
            f"WHERE {where} ORDER BY bm25(fts, {weights}) LIMIT ?", [expression, *params, limit]).fetchall()
        result = Fts5Result([row[0] for row in found], [row[1] for row in found])
        db = self.db
        if not facets:
            result.total = len(found) if len(found) < limit else db.execute(
                f"SELECT count(*) FROM fts f CROSS JOIN requests r ON r.id = f.rowid WHERE {where}",
                [expression, *params]).fetchone()[0]
            return result
        db.execute("DELETE FROM m")
        db.execute(f"INSERT INTO m SELECT f.rowid FROM fts f CROSS JOIN requests r ON r.id = f.rowid WHERE {where}",
                   [expression, *params])
        result.total = db.execute("SELECT count(*) FROM m").fetchone()[0]
        result.facets = {}
        for name, column in (("category", "r.category"), ("hs_chapter", "substr(r.hs, 1, 2)"),
                             ("province", "r.province")):
            result.facets[name] = db.execute(
                f"SELECT {column}, count(*) AS c FROM m JOIN requests r ON r.id = m.id "
                f"GROUP BY 1 ORDER BY c DESC, 1").fetchall()
        result.facets["certs"] = db.execute(
            "SELECT c.cert, count(*) AS n FROM m JOIN request_certs c ON c.id = m.id GROUP BY 1 ORDER BY n DESC, 1"
        ).fetchall()
        return result


# ----------------------------------------------------------------------------- rebuild (subprocess)


def rebuild_child(root: str, size: int, seed: int) -> dict:
    """In the child: rebuild the requests index from the generated requests, then time generating them alone."""
    from search_index import REQUESTS, SearchIndex

    category_names()
    _region_names()
    baseline_kb = _peak_kb()
    index = SearchIndex(root, kind=REQUESTS)
    stats = index.rebuild(generate_requests(size, seed))
    maxrss_kb = _peak_kb()
    status = index.status()
    index.close()
    started = time.perf_counter()
    for _record in generate_requests(size, seed):
        pass
    return {"docs": stats["docs"], "seconds": stats["seconds"], "generate_s": time.perf_counter() - started,
            "maxrss_kb": maxrss_kb, "baseline_kb": baseline_kb, "segments": status["segments"],
            "size_bytes": status["size_bytes"]}


def rebuild_in_subprocess(root: Path, size: int, seed: int) -> dict:
    """Run ``rebuild_child`` in a fresh interpreter; its figures plus the wall time seen from here."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "bench.sourcing_bench", "rebuild", str(root), str(size), str(seed)],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if proc.returncode:
        raise RuntimeError(f"rebuild failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    figures = json.loads(line[len("RESULT "):])
    figures["wall_s"] = wall
    return figures


# ----------------------------------------------------------------------------- board latency


def time_engine(index, mix: list[BoardQuery]) -> tuple[list[float], dict]:
    """Milliseconds of each board search (relevance, top 20, facets, highlights, no result cache); counts."""
    from search_index import Filters, SearchQuery

    latencies, empty, relaxed, totals = [], 0, 0, []
    for query in mix:
        request = SearchQuery(text=query.text, filters=Filters(category=query.category, province=query.province),
                              per_page=TOP, facets=True, highlight=True, use_cache=False)
        started = time.perf_counter()
        result = index.search(request)
        latencies.append((time.perf_counter() - started) * 1000)
        empty += result.total == 0
        relaxed += "relaxed" in result.notices
        totals.append(result.total)
    return latencies, {"empty": empty, "relaxed": relaxed, "totals": totals}


def time_fts(fts: RequestFts5Index, mix: list[BoardQuery]) -> tuple[list[float], list[int]]:
    """Milliseconds of each query on FTS5 (fair mode, same filters, facets), and the totals it counted."""
    latencies, totals = [], []
    for query in mix:
        started = time.perf_counter()
        result = fts.search_requests(query.text, query.category, query.province)
        latencies.append((time.perf_counter() - started) * 1000)
        totals.append(result.total)
    return latencies, totals


def warm_products(root: Path, size: int, seed: int, queries: int) -> dict:
    """A product index of ``size`` listings built in a subprocess, opened here and warmed with a query pass."""
    from bench.search_bench import rebuild_in_subprocess as rebuild_products
    from bench.search_queries import query_mix
    from search_index import ProductIndex, SearchQuery

    build = rebuild_products(root, size, seed)
    index = ProductIndex(root, create=False)
    for query in query_mix(queries, seed + 2):
        index.search(SearchQuery(text=query.text, per_page=TOP, facets=True, use_cache=False))
    build["index"] = index
    return build


# ----------------------------------------------------------------------------- comparison page


def _make_company(kind, serial: int, province: str, city: str, name: str):
    from marketplace.accounts.models import Company, Verification
    from marketplace.accounts.uscc_gen import make_uscc
    from marketplace.database import utcnow

    return Company(name_zh=name, name_en=f"Bench Company {serial} Ltd.", uscc=make_uscc(7000 + serial, province),
                   kind=kind, province_code=province, city_code=city, industry="小家电",
                   verification=Verification.VERIFIED, verified_at=utcnow())


def build_comparison(app, quotes: int, seed: int, password: str) -> tuple[str, int]:
    """One published request by a buyer and ``quotes`` quotes on it from as many exporters; (buyer email, id)."""
    from werkzeug.security import generate_password_hash

    from marketplace.accounts.models import CompanyKind, CompanyTag, CompanyTagKind, Role, User
    from marketplace.catalog import services as catalog
    from marketplace.catalog.models import CccStatus, Certification
    from marketplace.catalog.rows import PriceTierInput, ProductInput
    from marketplace.extensions import db
    from marketplace.sourcing import services
    from marketplace.sourcing.services import QuoteInput, RequestInput

    rng = random.Random(f"sourcing-compare-{seed}")
    places = [(p, c) for p, c, _w in PLACES]
    with app.app_context():
        today = services.today_in_china()
        buyer = _make_company(CompanyKind.CHAIN_LEADER, 0, "330000", "330200", "宁波基准连锁超市有限公司")
        buyer_user = User(company=buyer, email="sourcing-bench-buyer@example.com", name="基准采购",
                          password_hash=generate_password_hash(password), role=Role.COMPANY_ADMIN)
        db.session.add_all([buyer, buyer_user])
        db.session.commit()
        request, _created = services.create_request(buyer_user, RequestInput(
            title="采购智能电饭煲 4L 5000台，需CCC认证，送货到浙江宁波", category="small_appliances", quantity=5000,
            unit="台", delivery_province_code="330000", delivery_city_code="330200",
            deadline=today + timedelta(days=30), description="门店铺货，需中文说明书与合格证；分两批交货。",
            target_unit_price_fen=9000, required_certifications=("CCC", "ISO9001"),
            required_readiness=("ccc", "chinese_label", "vat_invoice")), f"sourcing-bench-request-{seed}")
        request = services.publish_request(buyer_user, request.id, request.version)
        for number in range(1, quotes + 1):
            province, city = rng.choice(places)
            company = _make_company(CompanyKind.EXPORTER, number, province, city, f"基准出口企业{number:03d}有限公司")
            user = User(company=company, email=f"sourcing-bench-{number}@example.com", name="基准", password_hash="-",
                        role=Role.COMPANY_ADMIN)
            db.session.add_all([company, user])
            if rng.random() < 0.3:
                db.session.add(CompanyTag(company=company, tag=rng.choice(list(CompanyTagKind)),
                                          source_document="基准文件", granted_on=today - timedelta(days=100)))
            db.session.commit()
            moq = rng.choice((100, 200, 500, 1000, 3000, 8000))
            product = catalog.create_product(user, company, ProductInput(
                sku=f"BENCH-{number:04d}", title_zh=f"智能电饭煲 4L 第{number}款", category="small_appliances",
                unit="台", moq=moq, price_tiers=[PriceTierInput(moq, 8000 + number * 7)],
                ccc_status=rng.choice(list(CccStatus)), gb_standard_met=rng.random() < 0.5,
                chinese_label_ready=rng.random() < 0.6, vat_invoice=rng.random() < 0.7), publish=True)
            for kind in ("CCC", "ISO9001")[:rng.randint(0, 2)]:
                db.session.add(Certification(product_id=product.id, kind=kind, number=f"{kind}-{number}",
                                             expires_on=today + timedelta(days=rng.randint(-200, 600))))
            db.session.commit()
            services.submit_quote(user, request.id, QuoteInput(
                unit_price_fen=7000 + rng.randrange(4000), quantity=rng.choice((2000, 3000, 5000, 6000)), moq=moq,
                lead_time_days=rng.randint(7, 60), valid_until=today + timedelta(days=rng.randint(10, 60)),
                product_id=product.id, note="可开专票，含运费" if rng.random() < 0.5 else None),
                f"sourcing-bench-quote-{seed}-{number}")
        return buyer_user.email, request.id


def measure_comparison(quotes: int, seed: int, page_requests: int) -> dict:
    """Build the comparison, log the buyer in, GET the page; server times in ms."""
    from bench.http_pages import log_in
    from bench.import_bench import make_app
    from marketplace import freeze_startup_objects

    password = "sourcing bench password"
    with tempfile.TemporaryDirectory(prefix="rongtong-sourcing-bench-") as tmp:
        app = make_app(Path(tmp))
        freeze_startup_objects()  # as wsgi.py does in every server process
        logging.getLogger().setLevel(logging.WARNING)
        started = time.perf_counter()
        email, request_id = build_comparison(app, quotes, seed, password)
        build_s = time.perf_counter() - started
        client = app.test_client()
        if not log_in(client, email, password):
            raise RuntimeError("the buyer could not log in")
        url = f"/sourcing/requests/{request_id}/quotes?sort=price"
        rows, statuses = set(), set()
        for _ in range(PAGE_WARMUP):
            client.get(url).get_data()
        timings, cpu = [], []
        for _ in range(page_requests):
            wall0, cpu0 = time.perf_counter(), time.process_time()
            response = client.get(url)
            body = response.get_data(as_text=True)
            timings.append((time.perf_counter() - wall0) * 1000)
            cpu.append((time.process_time() - cpu0) * 1000)
            statuses.add(response.status_code)
            rows.add(body.count('data-testid="compare-row"'))
        with app.app_context():
            from marketplace.extensions import db

            db.engine.dispose()
    return {"ms": timings, "cpu_ms": cpu, "statuses": sorted(statuses), "rows": sorted(rows), "build_s": build_s,
            "url": url, "bytes": len(body)}


# ----------------------------------------------------------------------------- the run


def run(requests: int = DEFAULT_REQUESTS, queries: int = DEFAULT_QUERIES, quotes: int = DEFAULT_QUOTES,
        seed: int = 2025, products: int = 0, page_requests: int = PAGE_REQUESTS) -> dict:
    """Board search, rebuild, comparison page; prints the tables, returns the figures."""
    from search_index import REQUESTS, SearchIndex

    print(f"Sourcing benchmark: {requests:,} open requests, {queries} board queries (2–4 words, ⅓ category filter, "
          f"⅓ province filter, facets on)" + (f", {products:,} products beside them" if products else "")
          + f"; comparison of {quotes} quotes; seed {seed}")
    print(f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs, "
          f"load average {' / '.join(f'{x:.1f}' for x in os.getloadavg())} at start")
    sys.stdout.flush()
    figures: dict = {}
    tmp = Path(tempfile.mkdtemp(prefix="rongtong-sourcing-bench-"))
    try:
        product_build = warm_products(tmp / "products", products, seed, queries) if products else None
        build = rebuild_in_subprocess(tmp / "requests", requests, seed)
        fts, fts_build = RequestFts5Index.build_requests(generate_requests(requests, seed), tmp / "fts5.sqlite3")
        index = SearchIndex(tmp / "requests", kind=REQUESTS, create=False)
        mix, warm = board_mix(queries, seed), board_mix(queries, seed + 1)
        time_engine(index, warm)
        time_fts(fts, warm)
        engine_ms, counts = time_engine(index, mix)
        fts_ms, fts_totals = time_fts(fts, mix)
        rss_kb = _rss_kb()
        index.close()
        fts.close()
        if product_build:
            product_build.pop("index").close()
        figures.update(build=build, fts_build=fts_build, engine_ms=engine_ms, fts_ms=fts_ms, counts=counts,
                       fts_totals=fts_totals, products=product_build)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    index_only = max(build["seconds"] - build["generate_s"], 1e-9)
    fts_only = max(fts_build["seconds"] - build["generate_s"], 1e-9)
    print(f"\nRequests index at {requests:,} open requests — Whoosh engine (search_index, kind requests) vs SQLite "
          f"FTS5 over the same segmented text")
    rows = [
        ("full rebuild, incl. generating the requests", f"{build['seconds']:.1f} s", f"{fts_build['seconds']:.1f} s",
         f"{build['seconds'] / max(fts_build['seconds'], 1e-9):.1f}×"),
        ("  of which generating the requests", f"{build['generate_s']:.1f} s", f"{build['generate_s']:.1f} s", ""),
        ("  the rest (analysis + writing the index)", f"{index_only:.1f} s", f"{fts_only:.1f} s",
         f"{index_only / fts_only:.1f}×"),
        ("docs/s (generation excluded)", f"{build['docs'] / index_only:,.0f}", f"{fts_build['docs'] / fts_only:,.0f}",
         ""),
        ("peak memory of the rebuild process", _mb(build["maxrss_kb"] * 1024), "—", ""),
        ("  of which before the rebuild (imports only)", _mb(build["baseline_kb"] * 1024), "—", ""),
        ("index size on disk", _mb(build["size_bytes"]), _mb(fts_build["size_bytes"]),
         f"{build['size_bytes'] / max(fts_build['size_bytes'], 1):.1f}×"),
        ("segments after rebuild", str(build["segments"]), "—", ""),
    ]
    print(_table(rows, ("rebuild", "Whoosh", "FTS5", "Whoosh/FTS5")))
    print()
    lines = [("board search, all", list(range(len(mix))))]
    lines.append(("  of which category filter", [i for i, q in enumerate(mix) if q.category]))
    lines.append(("  of which province filter", [i for i, q in enumerate(mix) if q.province]))
    lines.append(("  of which no filter", [i for i, q in enumerate(mix) if not q.category and not q.province]))
    rows = []
    for label, chosen in lines:
        ours, theirs = [engine_ms[i] for i in chosen], [fts_ms[i] for i in chosen]
        rows.append((label, len(chosen), _triple(ours), _triple(theirs),
                     " / ".join(_ratio(percentile(ours, p), percentile(theirs, p)) for p in (50, 95, 99))))
    print(_table(rows, ("board query latency, ms (warm)", "n", "ours p50/p95/p99", "FTS5 fair p50/p95/p99",
                        "ours/FTS5 p50/p95/p99")))
    same = sum(1 for a, b in zip(counts["totals"], fts_totals, strict=True) if a == b)
    print("  ours = SearchIndex.search of the requests kind as search_board asks it (relevance, top 20, facets "
          "category/HS chapter/province/certifications, title highlights, result cache off); FTS5 fair = the "
          "engine's parsed query (synonyms, lone-character expansion, relaxed pass), bm25 top 20 with highlight, "
          "total and the same four facets counted. Neither includes the database re-check of the page's rows.")
    print(f"  (engine: {counts['empty']} of {len(mix)} queries found nothing, {counts['relaxed']} answered by the "
          f"relaxed pass; FTS5 counted the same total for {same} of {len(mix)}; median total "
          f"{percentile(counts['totals'], 50):,.0f} requests)")
    print(f"  searching process RSS after the queries: {_mb(rss_kb * 1024)}")
    if product_build:
        print(f"  beside a product index of {products:,} listings opened and warmed in the same process "
              f"(built in {product_build['seconds']:.0f} s, {_mb(product_build['size_bytes'])} on disk)")
    sys.stdout.flush()

    compare = measure_comparison(quotes, seed, page_requests)
    figures["compare"] = compare
    print(f"\nComparison page: {quotes} quotes on one request (data built through the services in "
          f"{compare['build_s']:.0f} s), buyer logged in, Flask test client, SQLite, start-up objects frozen as "
          f"wsgi.py does; {page_requests} requests after {PAGE_WARMUP} warm-up")
    rows = [(f"GET {compare['url']}", len(compare["ms"]), _triple(compare["ms"]), _triple(compare["cpu_ms"]),
             " ".join(map(str, compare["statuses"])), " ".join(map(str, compare["rows"])),
             f"{compare['bytes'] / 1024:,.0f} KB")]
    print(_table(rows, ("page", "n", "wall p50/p95/p99 ms", "CPU p50/p95/p99 ms", "status", "rows", "size")))
    print(f"  load average at the end: {' / '.join(f'{x:.1f}' for x in os.getloadavg())} "
          f"(shared machine: read CPU beside wall time)")
    sys.stdout.flush()
    return figures


def main(argv: list[str] | None = None) -> None:
    """``python -m bench.sourcing_bench``: the sizes as options."""
    parser = argparse.ArgumentParser(prog="python -m bench.sourcing_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=DEFAULT_REQUESTS, help="open requests (default %(default)s)")
    parser.add_argument("--queries", type=int, default=DEFAULT_QUERIES, help="board queries (default %(default)s)")
    parser.add_argument("--quotes", type=int, default=DEFAULT_QUOTES, help="quotes compared (default %(default)s)")
    parser.add_argument("--page-requests", type=int, default=PAGE_REQUESTS,
                        help="measured GETs of the comparison page (default %(default)s)")
    parser.add_argument("--products", type=int, default=0,
                        help="also open a product index of this many listings beside the requests (default none)")
    parser.add_argument("--seed", type=int, default=2025, help="data seed (default %(default)s)")
    args = parser.parse_args(argv)
    run(requests=args.requests, queries=args.queries, quotes=args.quotes, seed=args.seed, products=args.products,
        page_requests=args.page_requests)


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "rebuild":
        print("RESULT " + json.dumps(rebuild_child(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))), flush=True)
    else:
        main()
