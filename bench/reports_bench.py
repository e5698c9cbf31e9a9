"""Reports: the organizer's dashboard over 100,000 intents, the summary XLSX and a session's PDF.

A throw-away app on a SQLite file; ``build_data`` writes a deterministic data set with Core ``insert()``
executemany (no ORM, no search indexing): 5,000 companies (exporters with tariff exposure and tags, buyers,
organizers), 200 sessions of one organizer over a year in eight provinces, their registrations (checked in
or not), demand lines, matches, quotes, meetings, and 100,000 order intents in every state. The organizer
logs in through the login form; then, through the Flask test client (server time: routing, queries,
templates):

- ``GET /reports/`` (every session, by month) cold (the intent sums kept per selection forgotten before each
  request, as after any change of an intent) and with the sums kept, by province (cold), and filtered to one
  province and half a year (fewer than ``figures.SCAN_FROM`` sessions: never kept);
- ``GET /reports/sessions/<id>`` of the busiest session; a page of a row list;
- the summary XLSX of the year (``xlsx.summary_xlsx``) and one session's PDF (``pdf.session_pdf``), timed
  once each after a warm-up.

``python -m bench --only reports``, or ``python -m bench.reports_bench [--intents N] [--requests N]``.
Targets: dashboard p95 ≤ 300 ms, XLSX ≤ 5 s, PDF ≤ 5 s.
"""
from __future__ import annotations

import argparse
import gc
import logging
import os
import platform
import random
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

DEFAULT_INTENTS = 100_000
DEFAULT_COMPANIES = 5_000
DEFAULT_SESSIONS = 200
DEFAULT_REQUESTS = 60
ORGANIZER_EMAIL = "organizer@bench.rongtong.cn"
PASSWORD = "bench-password-123"
START = datetime(2026, 1, 5, 1, 30, tzinfo=UTC)
PROVINCES = {  # province → cities
    "440000": ["440100", "440300", "441900", "440600"], "330000": ["330100", "330200", "330700"],
    "320000": ["320500", "320200", "320100"], "350000": ["350200", "350500"], "370000": ["370200", "370100"],
    "310000": ["310100"], "360000": ["360100"], "430000": ["430100"],
}
INDUSTRIES = {"小家电": ["佛山顺德小家电集群", "宁波慈溪小家电集群"], "纺织服装": ["绍兴柯桥纺织集群", "苏州盛泽丝绸集群"],
              "五金工具": ["永康五金集群", "金华五金集群"], "家具家居": ["东莞家具集群"], "LED照明": ["中山古镇灯饰集群"]}
CATEGORIES = ["small_appliances", "textiles", "hardware", "furniture", "lighting", "toys", "footwear"]
GOODS = ["智能电饭煲", "空气炸锅", "不锈钢保温杯", "纯棉T恤", "电动螺丝刀", "实木餐桌", "LED吸顶灯", "儿童积木",
         "运动鞋", "榨汁机", "羽绒服", "扳手套装", "布艺沙发", "台灯", "毛绒玩具"]
#: intent states and their weights (drafts too: they must not count)
STATE_WEIGHTS = {"draft": 4, "submitted": 18, "countered": 8, "accepted": 12, "signed": 14, "fulfilled": 6,
                 "withdrawn": 10, "declined": 14, "expired": 14}


def _chunks(rows: list[dict], size: int = 5000):
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


def _insert(table, rows: list[dict]) -> None:
    import sqlalchemy as sa

    from marketplace.extensions import db

    for chunk in _chunks(rows):
        db.session.execute(sa.insert(table), chunk)


def build_data(intents: int = DEFAULT_INTENTS, companies: int = DEFAULT_COMPANIES, sessions: int = DEFAULT_SESSIONS,
               seed: int = 2025) -> dict:
    """Write the data set into the app's empty database (inside an app context); returns what it made."""
    from werkzeug.security import generate_password_hash

    from marketplace.accounts.models import Company, CompanyTag, Role, TariffExposure, User
    from marketplace.accounts.uscc_gen import make_uscc
    from marketplace.catalog.models import Product
    from marketplace.deals.models import OrderIntent
    from marketplace.extensions import db
    from marketplace.matching.models import Match
    from marketplace.sessions.models import MatchmakingSession, Meeting, SessionRegistration
    from marketplace.sourcing.models import ProcurementRequest, Quote

    rng = random.Random(seed)
    now = datetime.now(UTC)
    places = [(p, c) for p, cities in PROVINCES.items() for c in cities]
    n_organizers = 5
    n_buyers = max(20, companies // 6)
    company_rows, kinds = [], {}
    for number in range(1, companies + 1):
        if number <= n_organizers:
            kind = "organizer"
        elif number <= n_organizers + n_buyers:
            kind = rng.choice(["chain_leader", "leading_enterprise", "retailer", "trade_circulation"])
        else:
            kind = "exporter"
        province, city = rng.choice(places)
        kinds[number] = kind
        company_rows.append({
            "id": number, "name_zh": f"{'组织' if kind == 'organizer' else '采购' if kind != 'exporter' else '出口'}企业"
                                      f"{number:05d}有限公司", "name_en": f"Company {number:05d} Ltd.",
            "uscc": make_uscc(10_000 + number, province[:2] + "0000"), "kind": kind, "province_code": province,
            "city_code": city, "industry": rng.choice(list(INDUSTRIES)), "verification": "verified",
            "verified_at": now, "created_at": now, "updated_at": now})
    _insert(Company.__table__, company_rows)
    exporters = [n for n, k in kinds.items() if k == "exporter"]
    buyers = [n for n, k in kinds.items() if k not in ("exporter", "organizer")]
    password_hash = generate_password_hash(PASSWORD)
    _insert(User.__table__, [{"id": 1, "company_id": 1, "email": ORGANIZER_EMAIL, "name": "主办方", "role": Role.ORGANIZER.value,
                              "password_hash": password_hash, "active": True, "created_at": now,
                              "match_digest": "off"}])
    _insert(TariffExposure.__table__, [
        {"company_id": n, "market": "US", "old_rate": 7.5, "new_rate": 52.5, "effective_on": date(2025, 4, 9),
         "revenue_share": 40} for n in exporters if rng.random() < 0.3])
    _insert(CompanyTag.__table__, [
        {"company_id": n, "tag": "specialized", "source_document": "省工信厅公告", "granted_on": date(2024, 6, 1),
         "created_at": now} for n in exporters if rng.random() < 0.15])
    product_rows, products_of = [], {}
    for n in exporters:
        for k in range(2):
            pid = len(product_rows) + 1
            product_rows.append({
                "id": pid, "company_id": n, "sku": f"SKU-{n}-{k}", "title_zh": f"{rng.choice(GOODS)}{pid}",
                "category": rng.choice(CATEGORIES), "unit": "台", "moq": 100, "status": "published",
                "former_export_market": "US" if rng.random() < 0.1 else None, "specs": [],
                "created_at": now, "updated_at": now, "published_at": now})
            products_of.setdefault(n, []).append(pid)
    _insert(Product.__table__, product_rows)

    session_rows = []
    for sid in range(1, sessions + 1):
        province = list(PROVINCES)[sid % len(PROVINCES)]
        industry = rng.choice(list(INDUSTRIES))
        starts = START + timedelta(days=int(sid * 360 / sessions), hours=rng.randint(0, 3))
        session_rows.append({
            "id": sid, "organizer_company_id": 1 if sid % 10 else 2, "title": f"{industry}专场对接会（第{sid}场）",
            "industry": industry, "cluster": rng.choice(INDUSTRIES[industry]), "category": rng.choice(CATEGORIES),
            "province_code": province, "city_code": rng.choice(PROVINCES[province]), "starts_at": starts,
            "ends_at": starts + timedelta(hours=6), "venue": "会展中心", "capacity": 200, "tables": 20,
            "slot_minutes": 20, "focus": "none", "status": "finished" if starts < now else "registration",
            "version": 1, "created_at": now, "updated_at": now})
    _insert(MatchmakingSession.__table__, session_rows)

    registrations, requests, matches, quotes, meetings = [], [], [], [], []
    statuses = ["approved"] * 8 + ["pending", "waitlisted", "refused", "cancelled"]
    for info in session_rows:
        sid = info["id"]
        these_exporters = rng.sample(exporters, 50)
        these_buyers = rng.sample(buyers, 12)
        for role, members in (("exporter", these_exporters), ("buyer", these_buyers)):
            for n in members:
                status = rng.choice(statuses)
                registrations.append({
                    "session_id": sid, "company_id": n, "role": role, "status": status, "invited": False,
                    "checkin_token": f"t{sid}-{n}", "created_at": now, "version": 1,
                    "checked_in_at": info["starts_at"] if status == "approved" and rng.random() < 0.8 else None})
        for k in range(15):
            rid = len(requests) + 1
            buyer = rng.choice(these_buyers)
            requests.append({
                "id": rid, "buyer_company_id": buyer, "title": f"采购{rng.choice(GOODS)}{rid}",
                "category": rng.choice(CATEGORIES), "quantity": 1000, "unit": "台",
                "delivery_province_code": info["province_code"], "delivery_city_code": info["city_code"],
                "deadline": date(2026, 12, 31), "visibility": "public", "state": "draft" if k == 0 else "open",
                "session_id": sid, "version": 1, "idempotency_key": f"r{rid}", "required_certifications": [],
                "required_readiness": [], "must_requirements": [], "created_at": now, "updated_at": now})
            for n in rng.sample(these_exporters, 10):
                matches.append({"request_id": rid, "product_id": products_of[n][0], "exporter_id": n, "buyer_id": buyer,
                                "score": rng.randint(400, 950), "parts": {}, "gaps": [], "computed_at": now,
                                "first_seen_at": now})
            for n in rng.sample(these_exporters, 4):
                quotes.append({"request_id": rid, "exporter_company_id": n, "unit_price_fen": rng.randint(1000, 90000),
                               "quantity": 1000, "moq": 100, "lead_time_days": 20, "valid_until": date(2026, 12, 31),
                               "state": rng.choice(["submitted", "shortlisted", "declined", "withdrawn"]),
                               "idempotency_key": f"q{len(quotes)}", "version": 1, "created_at": now, "updated_at": now})
        for slot in range(4):
            slot_start = info["starts_at"] + timedelta(minutes=20 * slot)
            pairs_b = rng.sample(these_buyers, 10)
            pairs_e = rng.sample(these_exporters, 10)
            for table in range(10):
                meetings.append({
                    "session_id": sid, "slot_start": slot_start, "slot_end": slot_start + timedelta(minutes=20),
                    "table_no": table + 1, "buyer_company_id": pairs_b[table], "exporter_company_id": pairs_e[table],
                    "booked_by_company_id": pairs_b[table], "created_at": now,
                    "cancelled_at": now if rng.random() < 0.08 else None})
    _insert(SessionRegistration.__table__, registrations)
    _insert(ProcurementRequest.__table__, requests)
    _insert(Match.__table__, matches)
    _insert(Quote.__table__, quotes)
    _insert(Meeting.__table__, meetings)

    states = list(STATE_WEIGHTS)
    weights = list(STATE_WEIGHTS.values())
    intent_rows = []
    for number in range(1, intents + 1):
        info = session_rows[number % len(session_rows)]
        exporter = rng.choice(exporters)
        quantity, price = rng.randint(10, 5000), rng.randint(500, 200_000)
        state = rng.choices(states, weights)[0]
        intent_rows.append({
            "id": number, "buyer_company_id": rng.choice(buyers), "exporter_company_id": exporter,
            "product_id": products_of[exporter][0], "session_id": info["id"],
            "product_title": f"{rng.choice(GOODS)}", "unit": "台", "quantity": quantity, "unit_price_fen": price,
            "amount_fen": quantity * price, "valid_until": date(2026, 12, 31), "state": state, "version": 1,
            "idempotency_key": f"i{number}", "created_at": info["starts_at"] + timedelta(hours=2),
            "updated_at": now})
    _insert(OrderIntent.__table__, intent_rows)
    db.session.commit()
    busiest = max(range(1, sessions + 1), key=lambda sid: (sid % 10 != 0, -sid))
    return {"companies": companies, "sessions": sessions, "intents": intents, "registrations": len(registrations),
            "requests": len(requests), "matches": len(matches), "quotes": len(quotes), "meetings": len(meetings),
            "products": len(product_rows), "session_id": busiest}


def _measure(client, url: str, requests: int, warmup: int = 3, before=None) -> tuple[list[float], int]:
    for _ in range(warmup):
        client.get(url).get_data()
    timings, status = [], 0
    for _ in range(requests):
        if before is not None:
            before()
        started = time.perf_counter()
        response = client.get(url)
        response.get_data()
        timings.append((time.perf_counter() - started) * 1000)
        status = response.status_code
    return timings, status


def run(intents: int = DEFAULT_INTENTS, companies: int = DEFAULT_COMPANIES, sessions: int = DEFAULT_SESSIONS,
        requests: int = DEFAULT_REQUESTS, seed: int = 2025) -> dict:
    """Build the data, measure, print the table; returns the numbers."""
    from bench.http_pages import log_in, make_app
    from bench.search_bench import percentile
    from marketplace.extensions import db
    from marketplace.reports import figures, pdf, xlsx

    with tempfile.TemporaryDirectory(prefix="rongtong-reports-bench-") as tmp:
        app = make_app(Path(tmp))
        logging.getLogger().setLevel(logging.WARNING)
        with app.app_context():
            started = time.perf_counter()
            made = build_data(intents=intents, companies=companies, sessions=sessions, seed=seed)
            build_s = time.perf_counter() - started
            db.session.remove()
        print(f"Reports: {made['intents']:,} intents, {made['companies']:,} companies, {made['sessions']} sessions, "
              f"{made['registrations']:,} registrations, {made['requests']:,} demand lines, {made['matches']:,} "
              f"matches, {made['quotes']:,} quotes, {made['meetings']:,} meetings (built in {build_s:.1f} s); "
              f"SQLite, Flask test client, {requests} requests per page")
        print(f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs, load average "
              f"{os.getloadavg()[0]:.1f} (other work on the machine slows every figure below)")
        client = app.test_client()
        if not log_in(client, ORGANIZER_EMAIL, PASSWORD):
            raise SystemExit("could not log in as the bench organizer")
        def forget():  # the intent sums kept per selection (figures.intent_tallies): as after any intent changed
            app.extensions.get("reports.intent_tallies", {}).clear()

        pages = [
            ("GET /reports/ (all, by month), cold", "/reports/", forget),
            ("GET /reports/ (all, by month), kept sums", "/reports/", None),
            ("GET /reports/?by=province, cold", "/reports/?by=province", forget),
            ("GET /reports/ one province, half a year", "/reports/?from=2026-01-01&to=2026-06-30&province=440000", None),
            ("GET /reports/sessions/<id>", f"/reports/sessions/{made['session_id']}", None),
            ("GET /reports/rows/intents?group=signed", "/reports/rows/intents?group=signed&page=3", None),
        ]
        results = {}
        lines = [("page", "status", "p50 ms", "p95 ms", "max ms")]

        def measure_pages(chosen, suffix=""):
            for label, url, before in chosen:
                timings, status = _measure(client, url, requests, before=before)
                results[label + suffix] = (percentile(timings, 50), percentile(timings, 95))
                lines.append((label + suffix, str(status), f"{percentile(timings, 50):.1f}",
                              f"{percentile(timings, 95):.1f}", f"{max(timings):.1f}"))

        measure_pages(pages)
        # A full collection of this process's ~220,000 objects takes ~110 ms and comes every ~10 dashboard views
        # (they allocate a row per intent): that is the gap between p50 and p95 above. gc.freeze() after start-up
        # (a gunicorn post_fork hook) leaves the start-up objects out of every collection:
        gc.collect()
        gc.freeze()
        measure_pages(pages[:2], ", gc.freeze()")
        gc.unfreeze()
        with app.test_request_context():
            from marketplace.accounts.models import Company

            scope = figures.Scope.of_company(db.session.get(Company, 1))
            filt = figures.ReportFilter(date_from=date(2026, 1, 1), date_to=date(2026, 12, 31))
            xlsx.summary_xlsx(figures.dashboard(scope, figures.ReportFilter(date_from=date(2026, 1, 1),
                                                                            date_to=date(2026, 1, 31))))
            started = time.perf_counter()
            board = figures.dashboard(scope, filt)
            data = xlsx.summary_xlsx(board)
            xlsx_s = time.perf_counter() - started
            pdf.session_pdf(figures.session_report(scope, made["session_id"]))
            started = time.perf_counter()
            document = pdf.session_pdf(figures.session_report(scope, made["session_id"]))
            pdf_s = time.perf_counter() - started
            started = time.perf_counter()
            session_book = xlsx.session_xlsx(figures.session_report(scope, made["session_id"]))
            session_xlsx_s = time.perf_counter() - started
        widths = [max(len(row[i]) for row in lines) for i in range(len(lines[0]))]
        for number, row in enumerate(lines):
            print("  ".join([row[0].ljust(widths[0]), row[1].ljust(widths[1])]
                            + [cell.rjust(w) for cell, w in zip(row[2:], widths[2:], strict=True)]))
            if number == 0:
                print("  ".join("-" * w for w in widths))
        print(f"summary XLSX of the year ({len(board.sessions)} sessions, {board.total.signed:,} signed intents "
              f"listed): {xlsx_s:.2f} s, {len(data) / 1024:.0f} KiB")
        print(f"session XLSX: {session_xlsx_s:.2f} s, {len(session_book) / 1024:.0f} KiB; "
              f"session PDF: {pdf_s:.2f} s, {len(document) / 1024:.0f} KiB")
        results.update({"xlsx_s": xlsx_s, "pdf_s": pdf_s, "session_xlsx_s": session_xlsx_s})
        return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.reports_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--intents", type=int, default=DEFAULT_INTENTS)
    parser.add_argument("--companies", type=int, default=DEFAULT_COMPANIES)
    parser.add_argument("--sessions", type=int, default=DEFAULT_SESSIONS)
    parser.add_argument("--requests", type=int, default=DEFAULT_REQUESTS, help="measured requests per page")
    parser.add_argument("--seed", type=int, default=2025)
    args = parser.parse_args(argv)
    run(intents=args.intents, companies=args.companies, sessions=args.sessions, requests=args.requests,
        seed=args.seed)


if __name__ == "__main__":
    main()
