"""Load test: the whole deployment (gunicorn, the index worker, PostgreSQL, Redis) under a locust scenario.

``make loadtest`` or ``python -m bench.loadtest [--products 20000] [--requests 2000] [--users N|N,N,…]
[--duration 60] [--warmup 20] [--database-url URL] [--preload] [--keep]``. Everything listens on 127.0.0.1.

1. A fresh PostgreSQL database (``--database-url``, default ``postgresql://postgres@127.0.0.1:5432/rongtong_load``,
   dropped and created; when CREATE DATABASE is refused, a schema of that name in the server's ``postgres``
   database instead), ``flask db upgrade``.
2. Data: the demo (``flask demo load``: its logins exporter@/buyer@/retailer@demo.rongtong.cn), then
   ``--products`` generated products through the import path spread over 100 exporters and ``--requests`` open
   requests of 80 buyers (the pieces of ``bench.match_bench.build_scale``), both indexes rebuilt and every
   request matched (what ``flask index rebuild`` does), the first match-notify (it marks every new match), then
   ``ANALYZE`` (as after any bulk load or restore).
3. ``gunicorn -w 4 -b 127.0.0.1:<free port> wsgi:app`` (``--preload`` on request) and ``flask index worker`` with
   a production configuration (``RONGTONG_ENV=production``, ``SEARCH_DRAIN=worker``, Redis db 14 flushed first,
   temporary instance/index/upload directories). Production serves HTTPS only: locust plays the TLS-terminating
   proxy (``TRUSTED_PROXIES=1``; every request says ``X-Forwarded-Proto: https`` and its user's own
   ``X-Forwarded-For``). The log-in limit is raised for the run (printed).
4. ``locust -f bench/locustfile.py --headless`` (the scenario) for ``--warmup`` + ``--duration`` seconds, the
   figures counted after the warm-up (log-ins, the workers' caches); ``--users 10,20,30`` runs one such step per
   number against the same deployment. Then everything is stopped (process groups, bounded waits; also on
   Ctrl-C or an error).
5. Per step: requests/s, per page count, errors, p50/p95/p99 ms; the time inside the workers (gunicorn's access
   log) for the search and matches pages; the resident memory (RSS, peak, PSS) of the gunicorn workers and of
   the index worker (``/proc``); database connections; the CPU of this test and of everything else on the
   machine; whether the index caught up after the load. Error lines of the gunicorn and worker logs are shown
   (the logs are kept when anything failed).

Exit status 1 when any request failed or a task raised; 2 when the set-up failed.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import platform
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

PROJECT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/rongtong_load"
REDIS_URL = "redis://127.0.0.1:6379/14"
DEFAULT_PRODUCTS = 20_000
DEFAULT_REQUESTS = 2_000
#: virtual users: the load two shared cores sustain with the think times of bench/locustfile.py
DEFAULT_USERS = 30
DEFAULT_DURATION = 60
DEFAULT_WARMUP = 20
WORKERS = 4
SEED = 2025
#: the settings the run changes from a production deployment's defaults (printed with the results)
RELAXED_LIMITS = {
    "LOGIN_RATE_LIMIT": "100000 per minute",
    "API_RATE_LIMIT": "100000 per minute",
    "API_ADDRESS_RATE_LIMIT": "100000 per minute",
}
#: gunicorn's access log: method, path, status and the time inside the worker (microseconds)
ACCESS_FORMAT = "%(m)s %(U)s %(s)s %(D)s"
#: path groups whose time inside the worker is reported beside what the users saw
SERVER_GROUPS = (
    ("/search/ (the three product searches)", re.compile(r"GET /search/ ")),
    ("/sourcing/requests/<id> (request + suppliers, buyer)", re.compile(r"GET /sourcing/requests/\d+ ")),
    ("/matching/opportunities (商机)", re.compile(r"GET /matching/opportunities ")),
    ("/products/<id>", re.compile(r"GET /products/\d+ ")),
    ("every request", re.compile(r"")),
)
#: seconds: the app answering after gunicorn starts; each process stopping; the index catching up after the load
READY_TIMEOUT = 90
STOP_TIMEOUT = 15
CATCH_UP_TIMEOUT = 60
#: product ids per exporter account and public product ids the scenario draws from
OWN_PRODUCTS = 40
PUBLIC_PRODUCTS = 3_000


class SetupFailed(RuntimeError):
    """The deployment could not be prepared; the message says which step."""


def _say(text: str) -> None:
    print(text, flush=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ----------------------------------------------------------------------------- database


def _psycopg_url(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme.replace("+psycopg", ""), parts.netloc, f"/{database}", "", ""))


def fresh_database(url: str) -> tuple[str, callable]:
    """Drop and create the database named in ``url``; on refusal, a schema of that name. (app URL, cleanup)."""
    import psycopg
    from psycopg import sql

    name = urlsplit(url).path.lstrip("/") or "rongtong_load"
    admin = _psycopg_url(url, "postgres")
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
                         "AND pid <> pg_backend_pid()", (name,))
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.errors.InsufficientPrivilege:
        _say(f"CREATE DATABASE refused: using the schema {name} of the postgres database instead")
        with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))

        def drop_schema() -> None:
            with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
                conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))

        return f"{_psycopg_url(url, 'postgres')}?options=-csearch_path%3D{name}", drop_schema
    except psycopg.OperationalError as error:
        raise SetupFailed(f"PostgreSQL is not reachable at {admin}: {error}") from error

    def drop_database() -> None:
        with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
                         "AND pid <> pg_backend_pid()", (name,))
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))

    return _psycopg_url(url, name), drop_database


def flush_redis() -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=5).flushdb()
    except redis.RedisError as error:
        raise SetupFailed(f"Redis is not reachable at {REDIS_URL}: {error}") from error


# ----------------------------------------------------------------------------- environment and data


def run_environment(directory: Path, database_url: str, port: int) -> dict[str, str]:
    """The environment of every process of the run: production, with the run's own places and limits."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("FLASK_", "WERKZEUG_"))}
    env.update({
        "RONGTONG_ENV": "production",
        "SECRET_KEY": secrets.token_hex(32),
        "PUBLIC_URL": f"https://127.0.0.1:{port}",
        "ALLOWED_HOSTS": "127.0.0.1",
        "TRUSTED_PROXIES": "1",
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "RATELIMIT_KEY_PREFIX": "rongtong-loadtest",
        "JOBS_QUEUE_NAME": "rongtong-loadtest",
        "INSTANCE_DIR": str(directory / "instance"),
        "SEARCH_INDEX_DIR": str(directory / "search_index"),
        "UPLOAD_DIR": str(directory / "uploads"),
        "SEARCH_DRAIN": "worker",
        "MAIL_SERVER": "",
        "PYTHONUNBUFFERED": "1",
        **RELAXED_LIMITS,
    })
    return env


def _flask(env: dict, *args: str, log: Path, timeout: float) -> None:
    with log.open("ab") as out:
        done = subprocess.run([str(BIN / "flask"), "--app", "wsgi", *args], cwd=PROJECT, env=env, stdout=out,
                              stderr=subprocess.STDOUT, timeout=timeout, check=False)
    if done.returncode:
        raise SetupFailed(f"`flask {' '.join(args)}` failed ({done.returncode}); see {log}")


def seed_data(products: int, requests: int, seed: int) -> dict:
    """Demo data, the generated catalog and requests, both indexes and the matches; the scenario's plan."""
    import sqlalchemy as sa
    from werkzeug.security import generate_password_hash

    from marketplace import create_app

    app = create_app()
    logging.getLogger().setLevel(logging.WARNING)
    from bench.match_bench import (
        BUYERS,
        EXPORTERS,
        PASSWORD,
        _companies,
        import_spread,
        insert_open_requests,
    )
    from bench.search_queries import LABELLED_QUERIES, query_mix
    from marketplace.accounts.models import Company, CompanyKind, User, Verification
    from marketplace.catalog.models import Product, ProductStatus
    from marketplace.database import utcnow
    from marketplace.demo import BUYER_EMAIL, DEMO_PASSWORD, EXPORTER_EMAIL, RETAILER_EMAIL, load_demo_data
    from marketplace.extensions import db
    from marketplace.matching import sync as match_sync
    from marketplace.matching.models import Match
    from marketplace.search import sync
    from marketplace.sourcing.models import ProcurementRequest
    from marketplace.sourcing.states import RequestState

    figures: dict = {}
    with app.app_context():
        started = time.perf_counter()
        load_demo_data()
        figures["demo_s"] = time.perf_counter() - started
        password_hash = generate_password_hash(PASSWORD)
        exporters = _companies(CompanyKind.EXPORTER, EXPORTERS, 100, password_hash, "exporter")
        buyers = _companies(CompanyKind.CHAIN_LEADER, BUYERS, 1000, password_hash, "buyer")
        exporter_ids = [c for c, _u, _e in exporters]
        started = time.perf_counter()
        import_spread(products, seed, exporter_ids)
        figures["import_s"] = time.perf_counter() - started
        started = time.perf_counter()
        insert_open_requests(requests, seed, buyers, utcnow().date() + timedelta(days=365), "loadtest")
        figures["requests_s"] = time.perf_counter() - started
        db.session.remove()
        started = time.perf_counter()
        sync.rebuild(kind="requests")  # first: its recompute runs against an empty product index
        sync.rebuild(kind="products")
        recomputed = match_sync.recompute_everything()  # what `flask index rebuild` does after rebuilding
        figures["index_and_match_s"] = time.perf_counter() - started
        # the first match-notify after a rebuild marks every match as told of: two UPDATEs of the whole table
        # (seen running 12 s at 20,000 products under load, holding the rows' locks, so the index worker's
        # match recompute waited on them); done here, so the load meets the steady state
        from marketplace.matching.notify import notify_new_matches

        started = time.perf_counter()
        notify_new_matches()
        figures["notify_s"] = time.perf_counter() - started
        # fresh statistics, as after any bulk load or restore: the planner's estimates of an unanalysed table
        # (autovacuum may be off or not have run yet) turned the exporter's 商机 query into a 600 ms nested loop
        started = time.perf_counter()
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()
        figures["analyze_s"] = time.perf_counter() - started
        figures["matches"] = db.session.scalar(sa.select(sa.func.count()).select_from(Match))
        figures["recomputed"] = recomputed

        # the scenario's plan: accounts, their own products and requests, public ids, queries
        rng = random.Random(seed)
        public = (sa.select(Product.id, Product.company_id).join(Company, Company.id == Product.company_id)
                  .where(Product.status == ProductStatus.PUBLISHED, Company.verification == Verification.VERIFIED))
        public_rows = db.session.execute(public.order_by(Product.id)).all()
        own: dict[int, list[int]] = {}
        for pid, company_id in public_rows:
            own.setdefault(company_id, []).append(pid)
        open_requests: dict[int, list[int]] = {}
        for rid, company_id in db.session.execute(
                sa.select(ProcurementRequest.id, ProcurementRequest.buyer_company_id)
                .where(ProcurementRequest.state == RequestState.OPEN).order_by(ProcurementRequest.id)):
            open_requests.setdefault(company_id, []).append(rid)

        def company_of(email: str) -> int:
            return db.session.scalar(sa.select(User.company_id).where(User.email == email))

        def pick(ids: list[int], count: int) -> list[int]:
            return sorted(rng.sample(ids, min(count, len(ids))))

        exporter_accounts = [{"email": EXPORTER_EMAIL, "password": DEMO_PASSWORD,
                              "products": pick(own.get(company_of(EXPORTER_EMAIL), []), OWN_PRODUCTS)}]
        exporter_accounts += [{"email": email, "password": PASSWORD, "products": pick(own.get(cid, []), OWN_PRODUCTS)}
                              for cid, _uid, email in exporters]
        demo_buyers = [(email, company_of(email)) for email in (BUYER_EMAIL, RETAILER_EMAIL)]
        buyer_accounts = [{"email": email, "password": DEMO_PASSWORD, "requests": open_requests.get(cid, [])}
                          for email, cid in demo_buyers]
        buyer_accounts += [{"email": email, "password": PASSWORD, "requests": open_requests.get(cid, [])}
                           for cid, _uid, email in buyers]
        exporter_companies = sorted({cid for _pid, cid in public_rows})
        plan = {
            "exporters": [a for a in exporter_accounts if a["products"]],
            "buyers": [a for a in buyer_accounts if a["requests"]],
            "public_products": pick([pid for pid, _cid in public_rows], PUBLIC_PRODUCTS),
            "companies": exporter_companies,
            "queries": [{"q": m.text, "category": m.category, "price_min": m.price_min_fen,
                         "price_max": m.price_max_fen} for m in query_mix(400, seed)],
            "board_queries": sorted({text for text, _kinds, _note in LABELLED_QUERIES if " " not in text}),
            "provinces": sorted({p for p in db.session.scalars(sa.select(Company.province_code).distinct()) if p}),
        }
        figures["public_products"] = len(public_rows)
        figures["open_requests"] = sum(len(ids) for ids in open_requests.values())
        db.session.remove()
        db.engine.dispose()
    return {"figures": figures, "plan": plan}


# ----------------------------------------------------------------------------- processes


class Processes:
    """The run's child processes, each in its own process group; ``stop_all`` is bounded and idempotent."""

    def __init__(self):
        self.started: dict[str, subprocess.Popen] = {}

    def start(self, name: str, argv: list[str], env: dict, log: Path) -> subprocess.Popen:
        out = log.open("ab")
        try:
            proc = subprocess.Popen(argv, cwd=PROJECT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        finally:
            out.close()
        self.started[name] = proc
        return proc

    def stop(self, name: str) -> int | None:
        proc = self.started.pop(name, None)
        if proc is None:
            return None
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(STOP_TIMEOUT)
        # whatever the group left behind (a gunicorn worker, a locust greenlet's child)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        return proc.returncode

    def stop_all(self) -> None:
        for name in list(self.started)[::-1]:
            self.stop(name)


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    try:
        return [int(x) for x in path.read_text().split()]
    except OSError:
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(stat.parent.name))
        return found


def memory_of(pid: int) -> dict[str, int]:
    """VmRSS, VmHWM (peak resident) and Pss (resident, shared pages divided among their sharers) in KiB."""
    values = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _sep, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0])
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                values["Pss"] = int(line.split()[1])
    return values


def _descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        for child in _children(todo.pop()):
            out.append(child)
            todo.append(child)
    return out


def wait_ready(port: int, proc: subprocess.Popen, log: Path) -> float:
    """Seconds until the home page answers 200 (as through the TLS proxy)."""
    started = time.perf_counter()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/", headers={"X-Forwarded-Proto": "https"})
    while time.perf_counter() - started < READY_TIMEOUT:
        if proc.poll() is not None:
            raise SetupFailed(f"gunicorn exited ({proc.returncode}); see {log}")
        with contextlib.suppress(OSError, urllib.error.URLError), \
                urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 (127.0.0.1)
            if response.status == 200:
                return time.perf_counter() - started
        time.sleep(0.3)
    raise SetupFailed(f"the app did not answer within {READY_TIMEOUT} s; see {log}")


def cpu_snapshot() -> dict[int, tuple[float, str]]:
    """CPU seconds used so far and the command line of every process of the machine (``/proc``)."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
            out[int(stat.parent.name)] = ((int(fields[11]) + int(fields[12])) / tick, command)
    return out


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, every CPU (``/proc/stat``)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    tick = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + fields[4]
    return (sum(fields) - idle) / tick, sum(fields) / tick


def database_connections(database: str) -> int:
    """PostgreSQL backends serving ``database`` right now (their process titles)."""
    count = 0
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            title = cmdline.read_bytes()
            if title.startswith(b"postgres: ") and f" {database} ".encode() in title:
                count += 1
    return count


def busiest(before: dict, after: dict, seconds: float, ours: set[int], limit: int = 8) -> list[str]:
    """The processes that used the most CPU between two snapshots: '% of one CPU, ours/other, command'."""
    used = []
    for pid, (cpu, command) in after.items():
        spent = cpu - before.get(pid, (0.0, ""))[0]
        if spent > 0.05 * seconds:
            used.append((spent, pid, command))
    used.sort(reverse=True)
    return [f"{100 * spent / seconds:5.0f}%  {'run ' if pid in ours else 'other'}  {command[:100]}"
            for spent, pid, command in used[:limit]]


def _cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


# ----------------------------------------------------------------------------- results


def read_stats(path: Path) -> dict:
    """The final figures the locustfile wrote (pages, the aggregate, failures and task exceptions)."""
    try:
        result = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise SetupFailed(f"locust left no result at {path} ({error}); see its log") from error
    for entry in [*result["pages"], result["aggregate"]]:
        for key in ("p50", "p95", "p99", "max"):
            entry[key] = "" if entry[key] is None else str(entry[key])
    return result


def _table(rows: list[tuple], header: tuple) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "  " + "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w)  # noqa: E731
                                      for i, (c, w) in enumerate(zip(r, widths, strict=True)))
    return "\n".join([line(header), "  " + "  ".join("-" * w for w in widths), *(line(r) for r in rows)])


def log_problems(log: Path) -> list[str]:
    """Lines of a process log that report an error (tracebacks and ERROR records)."""
    with contextlib.suppress(OSError):
        return [line for line in log.read_text(errors="replace").splitlines()
                if any(mark in line for mark in ("Traceback", " ERROR ", '"ERROR"', "CRITICAL"))]
    return []


def wait_caught_up(timeout: float) -> dict:
    """Seconds until both indexes hold every logged change (the worker caught up), or None; from a fresh app."""
    from marketplace import create_app

    app = create_app()
    logging.getLogger().setLevel(logging.WARNING)
    from marketplace.extensions import db
    from marketplace.search import kinds, sync

    started = time.perf_counter()
    pending = {}
    with app.app_context():
        while True:
            pending = {name: sync.pending_changes(sync.get_index(name)) for name in kinds.names()}
            if not any(pending.values()) or time.perf_counter() - started > timeout:
                break
            time.sleep(0.5)
        db.engine.dispose()
    return {"seconds": time.perf_counter() - started if not any(pending.values()) else None, "pending": pending}


# ----------------------------------------------------------------------------- the run


def run(args) -> int:
    directory = Path(tempfile.mkdtemp(prefix="rongtong-loadtest-"))
    logs = directory / "logs"
    logs.mkdir()
    processes = Processes()
    cleanup_db = None
    port = _free_port()
    load_start = os.getloadavg()
    _say(f"Load test: {args.products:,} products, {args.requests:,} open requests, "
         f"{'/'.join(map(str, args.users))} users for {args.duration} s after a {args.warmup} s warm-up; "
         f"gunicorn -w {WORKERS}"
         f"{' --preload' if args.preload else ''} + flask index worker + PostgreSQL + Redis on 127.0.0.1:{port}; "
         f"Python {platform.python_version()}, {os.cpu_count()} CPUs, load average "
         f"{' / '.join(f'{x:.1f}' for x in load_start)} at start; files in {directory}")
    before = cpu_snapshot()
    time.sleep(2)
    others = busiest(before, cpu_snapshot(), 2.0, {os.getpid()})
    _say("  busiest processes at start (% of one CPU over 2 s):" + "".join(f"\n    {p}" for p in others or ["none"]))
    try:
        started = time.perf_counter()
        app_url, cleanup_db = fresh_database(args.database_url)
        flush_redis()
        env = run_environment(directory, app_url, port)
        os.environ.update(env)  # the seeding below runs create_app() in this process
        _flask(env, "db", "upgrade", log=logs / "setup.log", timeout=300)
        _say(f"  database {urlsplit(app_url).path.lstrip('/')} created and migrated in "
             f"{time.perf_counter() - started:.1f} s; seeding…")
        seeded = seed_data(args.products, args.requests, SEED)
        figures = seeded["figures"]
        plan_path = directory / "plan.json"
        plan_path.write_text(json.dumps(seeded["plan"], ensure_ascii=False))
        _say(f"  seeded: demo {figures['demo_s']:.0f} s, import {figures['import_s']:.0f} s, requests "
             f"{figures['requests_s']:.0f} s, both indexes + every match {figures['index_and_match_s']:.0f} s, first "
             f"match-notify {figures['notify_s']:.0f} s, ANALYZE {figures['analyze_s']:.0f} s → "
             f"{figures['public_products']:,} public products, {figures['open_requests']:,} open requests, "
             f"{figures['matches']:,} matches")

        gunicorn_log, worker_log = logs / "gunicorn.log", logs / "worker.log"
        gunicorn = processes.start("gunicorn", [
            str(BIN / "gunicorn"), "-w", str(WORKERS), "-b", f"127.0.0.1:{port}", "--timeout", "60",
            "--graceful-timeout", "10", *(["--preload"] if args.preload else []),
            "--access-logfile", str(logs / "access.log"), "--access-logformat", ACCESS_FORMAT, "wsgi:app"],
            env, gunicorn_log)
        worker = processes.start("worker", [str(BIN / "flask"), "--app", "wsgi", "index", "worker"], env, worker_log)
        ready = wait_ready(port, gunicorn, gunicorn_log)
        if worker.poll() is not None:
            raise SetupFailed(f"the index worker exited ({worker.returncode}); see {worker_log}")
        workers = _children(gunicorn.pid)
        rss_idle = {pid: memory_of(pid).get("VmRSS", 0) for pid in workers}
        _say(f"  gunicorn answered after {ready:.1f} s; workers {workers}; the limits raised for this run: "
             + ", ".join(f"{k}={v!r}" for k, v in RELAXED_LIMITS.items())
             + " (the production defaults would refuse the users' log-ins from one address); every other setting "
             "is production's")

        database = urlsplit(app_url).path.lstrip("/")
        locust_env = {**env, "LOADTEST_PLAN": str(plan_path), "LOADTEST_SEED": str(SEED)}
        steps, failed = [], 0
        for number, users in enumerate(args.users):
            step = load_step(users, args.duration, args.warmup, port, directory / f"locust-{number + 1}", locust_env,
                             logs, processes, gunicorn, worker, database)
            steps.append(step)
            report(users, step, rss_idle)
            failed += step["failed"]
        processes.stop_all()
        if len(steps) > 1:
            _say("\nSteps (ms; search = the three product searches, matches = the buyer's request page and the "
                 "exporter's 商机):")
            _say(_table([(s["users"], f"{s['rps']:.1f}", s["errors"], *s["goal"], s["p95"]) for s in steps],
                        ("users", "req/s", "errors", "search p95", "matches p95", "all p95")))
        gunicorn_problems, worker_problems = log_problems(gunicorn_log), log_problems(worker_log)
        if gunicorn_problems or worker_problems:
            _say(f"  log lines reporting errors: gunicorn {len(gunicorn_problems)}, index worker "
                 f"{len(worker_problems)}; the first:")
            for line in (gunicorn_problems + worker_problems)[:2]:
                _say(f"    {line[:3000]}")
        else:
            _say("  no error or traceback in the gunicorn and index worker logs")
        if args.keep:
            _say(f"  kept: the database ({app_url}) and {directory}")
        elif failed or gunicorn_problems or worker_problems:
            kept = Path(tempfile.mkdtemp(prefix="rongtong-loadtest-logs-"))
            shutil.copytree(logs, kept, dirs_exist_ok=True)
            _say(f"  the logs are kept in {kept}")
        _say(f"RESULT: {'FAILED' if failed else 'OK'}: {failed} error(s)")
        return 1 if failed else 0
    except SetupFailed as error:
        _say(f"set-up failed: {error}")
        return 2
    except KeyboardInterrupt:
        _say("interrupted: stopping everything")
        return 130
    finally:
        processes.stop_all()
        if not args.keep:
            if cleanup_db is not None:
                with contextlib.suppress(Exception):
                    cleanup_db()
            shutil.rmtree(directory, ignore_errors=True)


def _ms(value: str) -> str:
    try:
        return f"{float(value):.0f}"
    except ValueError:
        return "—"


#: the pages of the goal (p95 ≤ 100 ms): the product searches, and the two pages of matches
SEARCH_PAGES = ("search", "search (with filters)", "product list (category)")
MATCH_PAGES = ("request + matched suppliers (buyer)", "商机 opportunities (exporter)")


def load_step(users: int, duration: int, warmup: int, port: int, prefix: Path, env: dict, logs: Path,
              processes: Processes, gunicorn: subprocess.Popen, worker: subprocess.Popen, database: str) -> dict:
    """One locust run of ``users`` for ``duration`` seconds against the running deployment; its figures."""
    workers = _children(gunicorn.pid)
    access = logs / "access.log"
    offset = access.stat().st_size if access.exists() else 0
    cpu_before = _cpu_seconds([gunicorn.pid, *workers, worker.pid, *_descendants(worker.pid)])
    machine_before, busy_before = cpu_snapshot(), machine_cpu()
    clock = time.perf_counter()
    locust = processes.start("locust", [
        str(BIN / "locust"), "-f", str(PROJECT / "bench" / "locustfile.py"), "--headless",
        "-u", str(users), "-r", str(max(1, users // 4)), "-t", f"{warmup + duration}s",
        "--host", f"http://127.0.0.1:{port}", "--csv", str(prefix), "--only-summary", "--stop-timeout", "15",
        "--loglevel", "WARNING", "--exit-code-on-error", "1"], {**env, "LOADTEST_RESULT": f"{prefix}.json",
                                                               "LOADTEST_WARMUP": str(warmup)},
        logs / f"{prefix.name}.log")
    deadline = time.perf_counter() + warmup + duration + 120
    connections, locust_cpu, measuring = 0, 0.0, False
    while locust.poll() is None:
        if time.perf_counter() > deadline:
            raise SetupFailed("locust did not finish in time; stopped")
        if gunicorn.poll() is not None or worker.poll() is not None:
            raise SetupFailed(f"gunicorn or the index worker exited during the load; see the logs in {logs}")
        connections = max(connections, database_connections(database))
        if not measuring and time.perf_counter() - clock >= warmup:
            measuring, offset = True, access.stat().st_size if access.exists() else 0
        locust_cpu = _cpu_seconds([locust.pid]) or locust_cpu
        time.sleep(1)
    wall = time.perf_counter() - clock
    machine_after, busy_after = cpu_snapshot(), machine_cpu()
    processes.started.pop("locust", None)
    workers_now = _children(gunicorn.pid)
    server = [gunicorn.pid, *workers_now, worker.pid, *_descendants(worker.pid)]
    cpu_used = _cpu_seconds(server) - cpu_before
    ours = {os.getpid(), locust.pid, *workers, *server}
    ours |= {pid for pid, (_cpu, command) in machine_after.items()
             if command.startswith("postgres:") and f" {database} " in command}
    postgres = sum(cpu - machine_before.get(pid, (0.0, ""))[0] for pid, (cpu, command) in machine_after.items()
                   if pid in ours and command.startswith("postgres:"))
    step = {"users": users, "wall": wall, "connections": connections, "postgres_cpu": postgres,
            "machine_busy": busy_after[0] - busy_before[0], "machine_total": busy_after[1] - busy_before[1],
            "cpu_used": cpu_used, "load_end": os.getloadavg(),
            "rss": {pid: memory_of(pid) for pid in workers_now}, "worker_rss": memory_of(worker.pid),
            "others": busiest(machine_before, machine_after, wall, ours, limit=10),
            "locust_cpu": locust_cpu,
            "caught": wait_caught_up(CATCH_UP_TIMEOUT), **read_stats(prefix.parent / f"{prefix.name}.json")}
    aggregate = step["aggregate"] or {"count": 0, "errors": 1, "rps": 0.0, "p95": ""}
    step["rps"], step["errors"], step["p95"] = aggregate["rps"], aggregate["errors"], _ms(aggregate["p95"])
    step["server"] = server_times(access, offset)
    warm = step.get("warmup") or {}
    step["failed"] = step["errors"] + warm.get("errors", 0) + sum(count for count, _m, _t in step["exceptions"])
    step["goal"] = tuple(_worst_p95(step["pages"], names) for names in (SEARCH_PAGES, MATCH_PAGES))
    return step


def _percentile(values: list[float], fraction: float) -> float:
    return values[min(len(values) - 1, int(fraction * len(values)))]


def server_times(access: Path, offset: int) -> list[tuple]:
    """p50/p95/p99 ms inside the workers per path group, from the access log lines past ``offset``."""
    try:
        with access.open("rb") as handle:
            handle.seek(offset)
            lines = handle.read().decode(errors="replace").splitlines()
    except OSError:
        return []
    timed = []
    for line in lines:
        parts = line.split()
        if len(parts) == 4 and parts[3].isdigit():
            timed.append((f"{parts[0]} {parts[1]} ", int(parts[3]) / 1000))
    out = []
    for label, pattern in SERVER_GROUPS:
        values = sorted(ms for request, ms in timed if pattern.match(request))
        if values:
            out.append((label, len(values), *(f"{_percentile(values, q):.0f}" for q in (0.5, 0.95, 0.99))))
    return out


def _worst_p95(pages: list[dict], names: tuple[str, ...]) -> str:
    values = [float(p["p95"]) for p in pages if p["name"] in names and p["p95"] not in ("", "N/A")]
    return f"{max(values):.0f}" if values else "—"


def report(users: int, step: dict, rss_idle: dict) -> None:
    aggregate = step["aggregate"] or {"count": 0, "errors": 0, "rps": 0.0, "p50": "", "p95": "", "p99": "", "max": ""}
    rows = [(p["name"], p["count"], p["errors"], f"{p['rps']:.1f}", _ms(p["p50"]), _ms(p["p95"]), _ms(p["p99"]),
             _ms(p["max"])) for p in sorted(step["pages"], key=lambda p: p["name"])]
    rows.append(("TOTAL", aggregate["count"], aggregate["errors"], f"{aggregate['rps']:.1f}", _ms(aggregate["p50"]),
                 _ms(aggregate["p95"]), _ms(aggregate["p99"]), _ms(aggregate["max"])))
    wall = step["wall"]
    _say(f"\nResults, {users} users: {aggregate['count']:,} requests in {wall:.0f} s, {aggregate['rps']:.1f} "
         "requests/s (ms; a page's time includes the redirect it answers with)")
    _say(_table(rows, ("page", "requests", "errors", "req/s", "p50", "p95", "p99", "max")))
    if step.get("server"):
        _say("  time inside the gunicorn workers (access log; the rest of what users saw is waiting for a free worker "
             "or a CPU, and the network):")
        _say(_table(step["server"], ("path", "requests", "p50", "p95", "p99")))
    search, matches = step["goal"]
    met = all(v != "—" and float(v) <= 100 for v in step["goal"])
    _say(f"  goal (search and matches pages p95 ≤ 100 ms): {'met' if met else 'NOT met'} (search p95 {search} ms, "
         f"matches p95 {matches} ms)")
    exceptions = sum(count for count, _m, _t in step["exceptions"])
    warm = step.get("warmup") or {}
    _say(f"  errors: {aggregate['errors']} failed requests, {exceptions} task exceptions"
         + (f"; before that, the {warm['seconds']:.0f} s warm-up (log-ins, caches; not in the figures): "
            f"{warm['requests']} requests, {warm['errors']} failed" if warm else ""))
    for method, name, error, count in [*warm.get("failures", []), *step["failures"]][:15]:
        _say(f"    {count}× {method} {name}: {error[:300]}")
    for count, message, traceback in step["exceptions"][:5]:
        last = traceback.strip().splitlines()[-1][:200] if traceback else ""
        _say(f"    {count}× exception {message[:200]}\n      {last}")
    mib = lambda kib: f"{kib / 1024:.0f} MiB"  # noqa: E731
    worker_rss = step["worker_rss"]
    _say("  memory after the load: gunicorn workers RSS " + ", ".join(
        f"{mib(m.get('VmRSS', 0))} (peak {mib(m.get('VmHWM', 0))}, PSS {mib(m.get('Pss', 0))})"
        for m in step["rss"].values())
        + (f"; at start {', '.join(mib(v) for v in rss_idle.values())}" if rss_idle else "")
        + f"; index worker {mib(worker_rss.get('VmRSS', 0))} (peak {mib(worker_rss.get('VmHWM', 0))})")
    _say(f"  database connections (PostgreSQL backends of the run's database, most seen at once): "
         f"{step['connections']}")
    cpus = os.cpu_count() or 1
    ours = step["cpu_used"] + step["locust_cpu"] + step["postgres_cpu"]
    _say(f"  CPU during the run (warm-up included): the machine was busy {step['machine_busy']:.0f} s of "
         f"{step['machine_total']:.0f} s ({cpus} CPUs): this test {ours:.0f} s (gunicorn + index worker "
         f"{step['cpu_used']:.0f} s, PostgreSQL {step['postgres_cpu']:.0f} s, locust {step['locust_cpu']:.0f} s), "
         f"everything else {max(0.0, step['machine_busy'] - ours):.0f} s; load average at the end "
         f"{' / '.join(f'{x:.1f}' for x in step['load_end'])}")
    _say("  busiest processes during the load (% of one CPU; run = this load test's, other = the rest of the "
         "machine):" + "".join(f"\n    {p}" for p in step["others"] or ["none"]))
    caught = step["caught"]
    if caught["seconds"] is not None:
        _say(f"  the index worker had applied every change {caught['seconds']:.1f} s after the load")
    else:
        _say(f"  the index worker had NOT caught up {CATCH_UP_TIMEOUT} s after the load: pending {caught['pending']}")


def _user_steps(value: str) -> list[int]:
    try:
        steps = [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        steps = []
    if not steps or min(steps) < 1:
        raise argparse.ArgumentTypeError("a number of users, or several separated by commas (10,20,40)")
    return steps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.loadtest", description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=DEFAULT_PRODUCTS, help="generated products (%(default)s)")
    parser.add_argument("--requests", type=int, default=DEFAULT_REQUESTS, help="open requests (%(default)s)")
    parser.add_argument("--users", type=_user_steps, default=[DEFAULT_USERS],
                        help=f"locust users, or steps run one after another such as 10,20,40 ({DEFAULT_USERS})")
    parser.add_argument("--duration", type=int, default=DEFAULT_DURATION,
                        help="seconds of measured load (%(default)s)")
    parser.add_argument("--warmup", type=int, default=DEFAULT_WARMUP,
                        help="seconds of load before the measurement: log-ins, the workers' caches (%(default)s)")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL,
                        help="PostgreSQL database to drop and create (%(default)s)")
    parser.add_argument("--keep", action="store_true", help="keep the database and the run's files")
    parser.add_argument("--preload", action="store_true",
                        help="gunicorn --preload: the app loaded once and shared by the workers (copy on write)")
    args = parser.parse_args(argv)
    if args.products < 0 or args.requests < 0 or args.duration < 1 or args.warmup < 0:
        parser.error("sizes must be positive")

    def interrupted(_signum, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, interrupted)  # also when started in the background (SIGINT ignored there)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
