"""Demand lists (发榜): a generated 5,000-line request list checked (dry run) and imported, drafts and published.

The rows are realistic procurement requests (goods of the demo industries from
``marketplace.demo_products``, categories, units, delivery cities of every province, target
prices, certifications, readiness items, deadlines), written as the Chinese template's columns in
an XLSX (openpyxl write-only). Each figure is the whole path of ``flask sourcing import`` and of
the web commit: bytes → ``read_table`` → ``validate_rows`` (every row through the post form's
``check_request_input``) → plan (the dry run), then ``import_requests`` in one transaction.
The issue's target: a 5,000-line demand list imported in at most 15 s (check and write together).

Beside each wall-clock time, the CPU time of this process (on a shared machine the steadier
figure; PostgreSQL's own work is not in it). A throw-away app on SQLite in a temporary directory
(the catalog import benchmark's ``make_app``); ``--postgres URL`` measures PostgreSQL too, in a
schema of its own that is dropped afterwards. The search drain runs inline after the commit, as
with ``make run``; it is timed apart.
"""
from __future__ import annotations

import io
import logging
import os
import platform
import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from bench.import_bench import make_app, postgres_schema

DEFAULT_ROWS = 5_000
TARGET_S = 15.0

_GOODS = ("智能电饭煲", "空气炸锅", "电热水壶", "不锈钢保温杯", "LED 吸顶灯", "纯棉四件套", "儿童运动鞋", "蓝牙耳机",
          "实木餐椅", "陶瓷餐具套装", "电动牙刷", "户外折叠椅", "羽绒服", "厨房收纳架", "扫地机器人")
_SPECS = ("4L", "5L 大容量", "1.7L 304 不锈钢", "500ml", "36W 三色调光", "1.8m 床", "32 码", "降噪款", "橡木", "18 件套")


def make_file(rows: int, seed: int = 2025) -> bytes:
    """An XLSX of ``rows`` realistic requests in the Chinese template's columns."""
    from openpyxl import Workbook

    from marketplace import regions
    from marketplace.catalog.categories import CATEGORIES, UNITS, category_name
    from marketplace.i18n import today_in_china
    from marketplace.sourcing.imports import COLUMNS, template_header

    rng = random.Random(f"demand-list-{seed}")
    places = [(province.name, city.name) for province in regions.provinces() for city in regions.cities(province.code)]
    today = today_in_china()
    keys = [column.key for column in COLUMNS]
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("采购需求")
    sheet.append(template_header("zh"))
    for number in range(rows):
        province, city = rng.choice(places)
        values = {
            "title": f"{rng.choice(_GOODS)} {rng.choice(_SPECS)} 第{number + 1}批",
            "description": "门店铺货，需中文说明书与合格证；分两批交货。" * rng.randint(1, 4),
            "category": category_name(rng.choice(CATEGORIES).code, "zh"),
            "hs_code": "",
            "quantity": rng.randint(50, 200_000),
            "unit": rng.choice(UNITS),
            "target_price": f"{rng.randint(100, 500_000) / 100:.2f}",
            "budget": "",
            "province": province,
            "city": city,
            "certifications": ", ".join(rng.sample(["CCC", "CQC", "CE", "ISO9001"], rng.randint(0, 2))),
            "readiness": ", ".join(rng.sample(["CCC", "国标", "中文标签", "专票"], rng.randint(0, 3))),
            "deadline": (today + timedelta(days=rng.randint(7, 90))).isoformat(),
            "note": rng.choice(["", "请附产品图片", "可接受 OEM"]),
        }
        sheet.append([values[key] for key in keys])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _buyer():
    from marketplace.accounts.models import Company, CompanyKind, Role, User, Verification
    from marketplace.accounts.uscc_gen import make_uscc
    from marketplace.extensions import db

    company = Company(name_zh="基准连锁超市有限公司", uscc=make_uscc(5151, "440300"), kind=CompanyKind.CHAIN_LEADER,
                      province_code="440000", city_code="440300", verification=Verification.VERIFIED)
    user = User(company=company, email="bench-buyer@example.com", name="基准", password_hash="-",
                role=Role.COMPANY_ADMIN)
    db.session.add_all([company, user])
    db.session.commit()
    return company, user


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def measure(app, data: bytes) -> list[tuple[str, float, float, str]]:
    """(step, wall s, CPU s, outcome) of the dry run, the import as drafts and the import published."""
    import sqlalchemy as sa

    from marketplace.extensions import db
    from marketplace.sourcing import imports
    from marketplace.sourcing.models import ProcurementRequest

    logging.getLogger().setLevel(logging.WARNING)
    figures = []
    with app.app_context():
        company, user = _buyer()
        for step, publish in (("drafts", False), ("published", True)):
            wall, cpu = _clock()
            analysis = imports.analyse_file(company, "demand.xlsx", data)
            checked_wall, checked_cpu = _clock()
            if analysis.result.has_errors:
                raise SystemExit(f"the generated file has problems: {analysis.problems[:3]}")
            outcome = imports.import_requests(user, company, analysis.result, publish=publish)
            done_wall, done_cpu = _clock()
            if step == "drafts":
                figures.append(("check (dry run)", checked_wall - wall, checked_cpu - cpu,
                                f"{analysis.plan.total:,} valid rows"))
            figures.append((f"check + import as {step}", done_wall - wall, done_cpu - cpu,
                            f"{outcome.created:,} created, {outcome.published:,} published"))
        count = db.session.scalar(sa.select(sa.func.count()).select_from(ProcurementRequest))
        figures.append(("requests in the database", 0.0, 0.0, f"{count:,}"))
    return figures


def _print(database: str, figures) -> None:
    for step, wall, cpu, outcome in figures:
        head = f"  {database:<11} {step:<32}"
        if not wall:
            print(f"{head} {outcome}")
            continue
        verdict = "" if step.startswith("check (") else ("ok" if wall <= TARGET_S else "SLOW")
        print(f"{head} {wall:7.2f} s  (CPU {cpu:6.2f} s)  {verdict:<4} {outcome}")
    sys.stdout.flush()


def run(rows: int = DEFAULT_ROWS, seed: int = 2025, postgres: str | None = None) -> dict:
    """Generate the file, time the steps on SQLite (and PostgreSQL), print them; the figures."""
    started = time.perf_counter()
    data = make_file(rows, seed)
    print(f"Demand list: {rows:,} generated requests, XLSX of {len(data) / 1024 / 1024:.1f} MB "
          f"(written in {time.perf_counter() - started:.2f} s); target ≤ {TARGET_S:.0f} s to check and import")
    print(f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs")
    figures = {}
    with tempfile.TemporaryDirectory(prefix="rongtong-demand-bench-") as tmp:
        for database, url in [("SQLite", None)] + ([("PostgreSQL", postgres)] if postgres else []):
            directory = Path(tmp) / database.lower()
            directory.mkdir()
            if url:
                with postgres_schema(url) as uri:
                    figures[database] = measure(make_app(directory, uri), data)
            else:
                figures[database] = measure(make_app(directory), data)
            _print(database, figures[database])
    return figures


if __name__ == "__main__":
    run(postgres=os.environ.get("BENCH_DATABASE_URL") or None)
