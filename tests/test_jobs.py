"""Periodic jobs (marketplace/jobs.py): each job's effect through `flask jobs run` and through its Huey task,
the registry other features add to, schedules read in Asia/Shanghai, and `flask index worker` running the
jobs beside the drain until SIGTERM."""
from __future__ import annotations

import json
import logging
import os
import signal
import threading
from datetime import datetime, timedelta

import click
import pytest
import sqlalchemy as sa
from flask import current_app
from flask.cli import run_command
from huey import RedisHuey, SqliteHuey

from marketplace import jobs
from marketplace.catalog import expiry
from marketplace.catalog import models as catalog_models
from marketplace.catalog.rows import CertificationInput
from marketplace.config import load_config
from marketplace.deals.models import OrderIntent
from marketplace.deals.states import IntentState
from marketplace.extensions import db
from marketplace.i18n import today_in_china
from marketplace.mail import OutboxEmail, queue_email
from marketplace.search import sync
from marketplace.search.models import KIND_PRODUCT, IndexChange
from marketplace.sourcing.models import ProcurementRequest
from marketplace.sourcing.states import RequestState
from tests.factories import make_company, make_product
from tests.test_deals_services import make_parties, start, terms
from tests.test_sourcing_services import make_world, post

VIAS = ["cli", "huey"]


def run_via(app, runner, via: str, name: str) -> None:
    """Run job ``name`` as an operator does (`flask jobs run`) or as the consumer does (its Huey task)."""
    if via == "cli":
        result = runner.invoke(args=["jobs", "run", name])
        assert result.exit_code == 0, result.output
        assert result.stdout.startswith(f"{name}: ")
    else:
        huey = jobs.get_huey(app)
        huey.immediate = True  # the task runs here and now, as a consumer thread would run it
        jobs.get_task(name, app)()


@pytest.fixture
def registry(monkeypatch):
    """The job registry, restored after the test (jobs registered here do not leak)."""
    monkeypatch.setattr(jobs, "_JOBS", dict(jobs._JOBS))
    return jobs._JOBS


# ----------------------------------------------------------------------------- the core jobs


@pytest.mark.parametrize("via", VIAS)
def test_expire_requests_job_closes_requests_past_their_deadline(app, runner, via):
    with app.app_context():
        world = make_world()
        lapsed, current = post(world), post(world)
        db.session.execute(sa.update(ProcurementRequest).where(ProcurementRequest.id == lapsed.id)
                           .values(deadline=today_in_china() - timedelta(days=1)))
        db.session.commit()
        ids = (lapsed.id, current.id)
    run_via(app, runner, via, "expire-requests")
    run_via(app, runner, via, "expire-requests")  # twice is harmless
    with app.app_context():
        assert db.session.get(ProcurementRequest, ids[0]).state is RequestState.EXPIRED
        assert db.session.get(ProcurementRequest, ids[1]).state is RequestState.OPEN


@pytest.mark.parametrize("via", VIAS)
def test_expire_intents_job_expires_lapsed_intents(app, runner, via):
    with app.app_context():
        parties = make_parties()
        lapsed, current = start(parties).id, start(parties).id
        db.session.execute(sa.update(OrderIntent).where(OrderIntent.id == lapsed)
                           .values(valid_until=terms(days=-2).valid_until))
        db.session.commit()
    run_via(app, runner, via, "expire-intents")
    run_via(app, runner, via, "expire-intents")
    with app.app_context():
        assert db.session.get(OrderIntent, lapsed).state is IntentState.EXPIRED
        assert db.session.get(OrderIntent, current).state is IntentState.SUBMITTED


@pytest.mark.parametrize("via", VIAS)
def test_send_mail_job_delivers_what_the_outbox_holds(app, runner, via):
    with app.app_context():
        message = queue_email("buyer@example.com", "询价", "您好")  # queued; nothing delivers it after commit
        db.session.commit()
        waiting = message.id
        assert db.session.get(OutboxEmail, waiting).sent_at is None
    run_via(app, runner, via, "send-mail")
    run_via(app, runner, via, "send-mail")
    with app.app_context():
        message = db.session.get(OutboxEmail, waiting)
        assert message.sent_at is not None and message.attempts == 1


def found_with_ccc(runner, word: str) -> list[int]:
    result = runner.invoke(args=["search", "products", word, "--cert", "CCC", "--json"])
    assert result.exit_code == 0, result.output
    return [row["id"] for row in json.loads(result.stdout)["results"]]


@pytest.fixture
def certified(app_config, request, monkeypatch):
    """An app draining in a worker, with a rice cooker whose CCC runs out today and one valid for a year,
    both indexed as CCC-certified; then the day passes (``tomorrow`` in China)."""
    app_config["SEARCH_DRAIN"] = "worker"
    app = request.getfixturevalue("app")
    runner = app.test_cli_runner()
    today = today_in_china()
    with app.app_context():
        company = make_company()
        lapsing = make_product(company, title_zh="认证电饭煲 甲",
                               certifications=[CertificationInput("CCC", "2020011234567", today)]).id
        valid = make_product(company, title_zh="认证电饭煲 乙",
                             certifications=[CertificationInput("CCC", "2020017654321", today + timedelta(days=365))]).id
        old = make_product(company, title_zh="旧证电饭煲",
                           certifications=[CertificationInput("CE", "CE-1", today - timedelta(days=60))]).id
    assert runner.invoke(args=["index", "worker", "--once"]).exit_code == 0
    assert sorted(found_with_ccc(runner, "认证电饭煲")) == sorted([lapsing, valid])
    tomorrow = today + timedelta(days=1)
    monkeypatch.setattr(catalog_models, "today_in_china", lambda: tomorrow)
    monkeypatch.setattr(expiry, "today_in_china", lambda: tomorrow)
    return app, runner, lapsing, valid, old


@pytest.mark.parametrize("via", VIAS)
def test_reindex_job_and_a_drain_drop_a_certificate_that_ran_out(certified, via):
    app, runner, lapsing, valid, old = certified
    # the database says the CCC ran out; the index still counts it until something re-indexes the product
    assert lapsing in found_with_ccc(runner, "认证电饭煲")
    with app.app_context():  # the log keeps the products' own rows until the matches have read them
        before = db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(IndexChange.id), 0)))
    run_via(app, runner, via, "reindex-expired-certificates")
    with app.app_context():
        logged = db.session.scalars(sa.select(IndexChange.object_id).where(IndexChange.kind == KIND_PRODUCT)
                                    .where(IndexChange.id > before)
                                    .where(IndexChange.object_id.in_([lapsing, valid, old]))).all()
        # only the product whose certificate just ran out (not the valid one, not one expired weeks ago)
        assert set(logged) == {lapsing}
    drained = runner.invoke(args=["index", "worker", "--once"])
    assert drained.exit_code == 0 and "applied" in drained.stdout
    assert found_with_ccc(runner, "认证电饭煲") == [valid]
    # the product itself is still found; only the certificate is gone
    result = runner.invoke(args=["search", "products", "认证电饭煲 甲", "--json"])
    assert lapsing in [row["id"] for row in json.loads(result.stdout)["results"]]


def test_reindex_drains_at_once_in_the_embedded_default(certified):
    app, runner, lapsing, valid, _old = certified
    app.config["SEARCH_DRAIN"] = "inline"
    with app.app_context():
        assert expiry.reindex_expired_certificates() == 1
        assert expiry.reindex_expired_certificates() == 1  # idempotent: the same product again
    assert found_with_ccc(runner, "认证电饭煲") == [valid]
    with app.app_context():
        # a run that finds nothing writes nothing
        assert expiry.reindex_expired_certificates(today=today_in_china() + timedelta(days=30)) == 0


# ----------------------------------------------------------------------------- registry and commands


def test_jobs_list_prints_every_job_with_its_schedule(runner):
    result = runner.invoke(args=["jobs", "list"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    for name, cron in [("expire-requests", "1 * * * *"), ("expire-intents", "2 * * * *"),
                       ("send-mail", "* * * * *"), ("reindex-expired-certificates", "5 0 * * * + start"),
                       ("analyze-database", "17 * * * * + start")]:
        line = next(line for line in lines if line.startswith(name + " "))
        assert cron in line
    assert "Asia/Shanghai" in lines[0]


def test_a_registered_job_is_listed_run_by_name_and_scheduled(app, runner, registry):
    def queue_digest() -> int:
        """E-mail each buyer the day's matches."""
        queue_email("digest@example.com", "今日匹配", "3 个新匹配")
        db.session.commit()
        return 1

    jobs.register_periodic("match-digests", {"minute": "0", "hour": "8"}, queue_digest)
    listed = runner.invoke(args=["jobs", "list"]).stdout
    assert any(line.startswith("match-digests ") and "0 8 * * *" in line and "the day's matches" in line
               for line in listed.splitlines())
    result = runner.invoke(args=["jobs", "run", "match-digests"])
    assert result.exit_code == 0 and result.stdout == "match-digests: 1\n"
    run_via(app, runner, "huey", "match-digests")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxEmail)
                                 .where(OutboxEmail.recipient == "digest@example.com")) == 2
    # the consumer enqueues it at 08:00 in China, which is 00:00 UTC (Huey's clock)
    huey = jobs.get_huey(app)
    assert "match-digests" in [type(task).__name__ for task in huey.read_periodic(datetime(2025, 3, 1, 0, 0))]
    assert "match-digests" not in [type(task).__name__ for task in huey.read_periodic(datetime(2025, 3, 1, 8, 0))]


def test_register_periodic_refuses_a_bad_name_or_schedule(registry):
    with pytest.raises(ValueError):
        jobs.register_periodic("no spaces", {}, lambda: None)
    with pytest.raises(ValueError):
        jobs.register_periodic("bad-hour", {"hour": "25"}, lambda: None)
    with pytest.raises(ValueError):
        jobs.register_periodic("bad-field", {"second": "1"}, lambda: None)
    assert not {"no spaces", "bad-hour", "bad-field"} & set(registry)


def test_schedules_are_read_in_china_time():
    just_after_midnight = jobs.china_crontab(minute="5", hour="0")
    assert just_after_midnight(datetime(2025, 6, 30, 16, 5))  # 00:05 on 1 July in Shanghai
    assert not just_after_midnight(datetime(2025, 7, 1, 0, 5))  # 08:05 in Shanghai


def test_jobs_run_of_an_unknown_job_is_a_usage_error(runner):
    result = runner.invoke(args=["jobs", "run", "nothing-here"])
    assert result.exit_code == 2
    assert "no job named 'nothing-here'" in result.output and "Traceback" not in result.output


def test_a_failing_job_says_so_and_the_consumer_carries_on(app, runner, registry, caplog):
    def broken():
        """Always fails."""
        raise RuntimeError("the SMTP relay is down")

    jobs.register_periodic("broken", {}, broken)
    result = runner.invoke(args=["jobs", "run", "broken"])
    assert result.exit_code == 1
    assert result.stderr == "broken failed: RuntimeError: the SMTP relay is down\n"
    assert "Traceback" not in result.output
    with caplog.at_level(logging.ERROR, logger="marketplace.jobs"):
        run_via(app, runner, "huey", "broken")  # does not raise: the worker thread lives on
    failure = next(r for r in caplog.records if r.name == "marketplace.jobs")
    assert "broken failed" in failure.getMessage() and failure.exc_info is not None


# ----------------------------------------------------------------------------- where the queue lives


def test_the_queue_is_a_sqlite_file_in_the_instance_folder_by_default(app):
    huey = jobs.get_huey(app)
    assert isinstance(huey, SqliteHuey)
    assert huey.storage.filename == app.config["JOBS_SQLITE_PATH"]
    assert app.config["JOBS_SQLITE_PATH"] == os.path.join(app.config["INSTANCE_DIR"], "jobs.db")
    assert os.path.exists(app.config["JOBS_SQLITE_PATH"])


def test_the_queue_is_redis_when_jobs_redis_url_is_set(app_config, request):
    app_config["JOBS_REDIS_URL"] = "redis://127.0.0.1:6379/15"
    app = request.getfixturevalue("app")
    assert isinstance(jobs.get_huey(app), RedisHuey)


def test_production_queues_in_redis_url_and_development_runs_jobs_in_flask_run(monkeypatch, tmp_path):
    monkeypatch.setenv("REDIS_URL", "redis://cache.internal:6379/0")
    monkeypatch.delenv("JOBS_REDIS_URL", raising=False)
    monkeypatch.delenv("JOBS_INLINE", raising=False)
    monkeypatch.delenv("SEARCH_DRAIN", raising=False)
    production = load_config({"ENV": "production", "SECRET_KEY": "k" * 32, "PUBLIC_URL": "https://rt.example.cn",
                              "INSTANCE_DIR": str(tmp_path)})
    assert production["JOBS_REDIS_URL"] == "redis://cache.internal:6379/0" and not production["JOBS_INLINE"]
    development = load_config({"ENV": "development", "INSTANCE_DIR": str(tmp_path)})
    assert development["JOBS_REDIS_URL"] == "" and development["JOBS_INLINE"]
    monkeypatch.setenv("SEARCH_DRAIN", "worker")
    assert not load_config({"ENV": "development", "INSTANCE_DIR": str(tmp_path)})["JOBS_INLINE"]


# ----------------------------------------------------------------------------- where the consumer runs


def test_only_the_process_flask_run_serves_from_runs_jobs_inline(app, monkeypatch):
    monkeypatch.delenv("WERKZEUG_RUN_MAIN", raising=False)
    assert not jobs.served_by_flask_run()  # tests, gunicorn: no `flask run`
    with click.Context(click.Command("shell")):
        assert not jobs.served_by_flask_run()
    with click.Context(run_command) as context:
        context.params = {"reload": False}
        assert jobs.served_by_flask_run()
        context.params = {"reload": True}
        assert not jobs.served_by_flask_run()  # the reloader's parent serves nothing
        monkeypatch.setenv("WERKZEUG_RUN_MAIN", "true")
        assert jobs.served_by_flask_run()  # its child does
        app.config["JOBS_INLINE"] = True
        assert not jobs.start_inline(app)  # never in tests
    assert "jobs" not in app.extensions  # nothing was started (or even built) for this app


@pytest.fixture
def one_job(app, registry):
    """Only a job that runs at start and records, from the consumer's thread, what its app context sees."""
    registry.clear()
    seen = {}
    ran = threading.Event()

    def probe() -> int:
        """Count the outbox."""
        seen["thread"] = threading.current_thread().name
        seen["app"] = current_app._get_current_object()
        seen["outbox"] = db.session.scalar(sa.select(sa.func.count()).select_from(OutboxEmail))
        ran.set()
        return seen["outbox"]

    jobs.register_periodic("probe", {"month": "2", "day": "30"}, probe, at_start=True)  # never by schedule
    return seen, ran


def test_the_consumer_runs_at_start_jobs_in_an_app_context_and_stops(app, one_job):
    seen, ran = one_job
    with app.app_context():
        consumer = jobs.start_consumer(app)
    try:
        assert ran.wait(30)
    finally:
        assert jobs.stop_consumer(consumer, timeout=30)
    assert seen == {"thread": "Worker-1", "app": app, "outbox": 0}
    assert not consumer.scheduler.is_alive()
    assert not any(thread.is_alive() for _worker, thread in consumer.worker_threads)


@pytest.mark.parametrize("no_jobs", [False, True])
def test_index_worker_runs_jobs_beside_the_drain_until_sigterm(app, runner, one_job, monkeypatch, no_jobs):
    seen, ran = one_job
    loop = {}

    def run_worker(poll_seconds, stop):
        """The drain loop, cut short: drain once, see the jobs run, then get SIGTERM as systemd sends it."""
        loop["applied"] = sync.drain(timeout=30).applied
        loop["jobs_ran"] = ran.wait(30 if not no_jobs else 0.5)
        os.kill(os.getpid(), signal.SIGTERM)
        loop["stopped"] = stop.wait(30)

    monkeypatch.setattr(sync, "run_worker", run_worker)
    previous = signal.getsignal(signal.SIGTERM)
    app.config["SEARCH_DRAIN"] = "worker"  # commits only log the change: the worker applies it
    with app.app_context():
        make_product(make_company(), title_zh="电饭煲")
    args = ["index", "worker"] + (["--no-jobs"] if no_jobs else [])
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith("stopped\n")
    assert loop["applied"] >= 1 and loop["jobs_ran"] is not no_jobs and loop["stopped"]
    assert ("running 1 periodic jobs" in result.stdout) is not no_jobs
    assert signal.getsignal(signal.SIGTERM) is previous
    assert not [t.name for t in threading.enumerate() if t.name in ("Scheduler", "Worker-1")]


def test_analyze_job_gives_sqlite_planner_statistics(app):
    """SQLite plans a product's open requests from statistics (else it walked every open request); PostgreSQL
    keeps its own."""
    import sqlalchemy as sa

    from marketplace.extensions import db
    from marketplace.jobs import run_job
    from tests.factories import make_product

    with app.app_context():
        make_product()
        db.session.commit()
        ran = run_job("analyze-database")
        assert ran == (db.engine.dialect.name == "sqlite")
        if ran:
            tables = set(db.session.scalars(sa.text("SELECT tbl FROM sqlite_stat1")))
            assert {"products", "companies", "users"} <= tables
