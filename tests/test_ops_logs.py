"""Logs: JSON lines with the request id (X-Request-ID in and out), carried to the index worker's batch lines."""
from __future__ import annotations

import io
import json
import logging
import re
import threading

import pytest
import sqlalchemy as sa

from marketplace import create_app
from marketplace.config import ConfigError, load_config
from marketplace.extensions import db
from marketplace.ops import logs
from marketplace.search.models import IndexChange
from tests.conftest import login, make_test_config, post_form
from tests.factories import make_user
from tests.test_catalog_products import form_data
from tests.test_ops_health import make_indexes, pending_products, run_worker_until

HEX_ID = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def json_lines():
    """A handler as ``configure("json")`` installs it, on the root logger; yields a function parsing its lines."""
    stream = io.StringIO()
    handler = logs.make_handler("json", stream)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)


@pytest.fixture
def json_app(tmp_path):
    app = create_app(make_test_config(tmp_path, f"sqlite:///{tmp_path / 'logs.db'}", LOG_FORMAT="json"))
    with app.app_context():
        db.create_all()
    return app


def test_json_line_carries_the_request_id_sent(json_app, json_lines, caplog):
    caplog.set_level(logging.INFO, logger="marketplace.requests")
    response = json_app.test_client().get("/", headers={"X-Request-ID": "lb-2f6a.9_Z"})
    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == "lb-2f6a.9_Z"
    lines = [line for line in json_lines() if line["logger"] == "marketplace.requests"]
    assert len(lines) == 1
    line = lines[0]
    assert line["request_id"] == "lb-2f6a.9_Z"
    assert line["level"] == "INFO"
    assert line["message"] == "GET / 200"
    assert (line["method"], line["path"], line["endpoint"], line["status"]) == ("GET", "/", "pages.home", 200)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["time"])
    assert line["duration_ms"] >= 0


@pytest.mark.parametrize("sent", [None, "", "x" * 65, "bad id", "semi;colon", "ünïcode", "a/b"])
def test_a_missing_or_unsafe_request_id_is_replaced(json_app, sent):
    headers = {} if sent is None else {"X-Request-ID": sent}
    response = json_app.test_client().get("/healthz", headers=headers)
    assert HEX_ID.fullmatch(response.headers["X-Request-ID"])
    assert response.headers["X-Request-ID"] != sent


def test_the_longest_sane_request_id_is_kept(json_app):
    sent = "A" * 64
    assert json_app.test_client().get("/healthz", headers={"X-Request-ID": sent}).headers["X-Request-ID"] == sent


def test_every_log_line_of_a_request_has_its_id_and_exceptions_are_kept(json_app, json_lines):
    @json_app.get("/boom-for-test")
    def boom():
        try:
            raise ValueError("kaput")
        except ValueError:
            logging.getLogger("marketplace.test").exception("it broke")
        logging.getLogger("marketplace.test").warning("after %s", "it")
        return "ok"

    json_app.test_client().get("/boom-for-test", headers={"X-Request-ID": "req-42"})
    logging.getLogger("marketplace.test").warning("outside any request")
    lines = [line for line in json_lines() if line["logger"] == "marketplace.test"]
    assert [(line["message"], line["request_id"]) for line in lines] == [
        ("it broke", "req-42"), ("after it", "req-42"), ("outside any request", None)]
    assert "ValueError: kaput" in lines[0]["exc_info"]
    assert "exc_info" not in lines[1]


def test_a_background_thread_carries_the_request_id(json_app, json_lines):
    seen = []

    def work():
        seen.append(logs.current_request_id())
        logging.getLogger("marketplace.test").warning("in the background")

    with json_app.test_request_context(headers={"X-Request-ID": "req-import-3"}):
        thread = threading.Thread(target=logs.carry_request_id(work))
    thread.start()
    thread.join(10)
    assert seen == ["req-import-3"]
    assert [line["request_id"] for line in json_lines() if line["logger"] == "marketplace.test"] == ["req-import-3"]
    assert logs.current_request_id() is None


def test_text_lines_show_the_request_id_in_brackets():
    record = logging.LogRecord("marketplace.x", logging.INFO, __file__, 1, "hello %s", ("you",), None)
    record.request_id = "abc"
    assert logs.TextFormatter().format(record).endswith(" INFO marketplace.x [abc]: hello you")
    record.request_id = None
    assert logs.TextFormatter().format(record).endswith(" INFO marketplace.x: hello you")


def test_configure_installs_one_handler_and_switches_its_format():
    logger = logging.Logger("ops-test-root")
    handler = logs.configure("text", logger)
    assert isinstance(handler.formatter, logs.TextFormatter)
    assert logger.level == logging.INFO
    assert logs.configure("json", logger) is handler  # a second app in the process: the same handler
    assert logger.handlers == [handler]
    assert type(handler.formatter).__name__ != "TextFormatter"
    foreign = logging.Logger("ops-test-foreign")
    foreign.addHandler(logging.NullHandler())
    assert logs.configure("json", foreign) is None  # someone else's output: left alone


def test_log_format_defaults_json_in_production_and_text_otherwise(tmp_path, monkeypatch):
    monkeypatch.delenv("LOG_FORMAT", raising=False)
    production = {"ENV": "production", "SECRET_KEY": "a-production-secret-key-of-32-chars!",
                  "PUBLIC_URL": "https://rongtong.example.cn", "INSTANCE_DIR": str(tmp_path)}
    assert load_config(production)["LOG_FORMAT"] == "json"
    assert load_config({"ENV": "development", "INSTANCE_DIR": str(tmp_path)})["LOG_FORMAT"] == "text"
    monkeypatch.setenv("LOG_FORMAT", "TEXT")
    assert load_config(production)["LOG_FORMAT"] == "text"
    monkeypatch.setenv("LOG_FORMAT", "xml")
    with pytest.raises(ConfigError, match="LOG_FORMAT"):
        load_config(production)
    monkeypatch.delenv("LOG_FORMAT")
    monkeypatch.setenv("METRICS_TOKEN", "short")
    with pytest.raises(ConfigError, match="METRICS_TOKEN"):
        load_config(production)


@pytest.fixture
def worker_mode(app_config):
    app_config["SEARCH_DRAIN"] = "worker"


def test_the_worker_batch_line_names_the_request_that_created_the_product(worker_mode, app, client, caplog):
    make_indexes(app)
    with app.app_context():
        email = make_user().email
    login(client, email)
    response = post_form(client, "/catalog/new", form_data(), headers={"X-Request-ID": "req-new-product-7"})
    assert response.status_code == 302
    assert response.headers["X-Request-ID"] == "req-new-product-7"
    with app.app_context():
        logged = set(db.session.scalars(sa.select(IndexChange.request_id).where(IndexChange.kind == "product")))
    assert logged == {"req-new-product-7"}

    caplog.set_level(logging.INFO, logger="marketplace.search.sync")
    run_worker_until(app, lambda: pending_products(app) == 0)
    batches = [r for r in caplog.records if r.name == "marketplace.search.sync" and hasattr(r, "request_ids")
               and r.index_kind == "products"]
    assert batches, "no batch line"
    line = next(r for r in batches if "req-new-product-7" in r.request_ids)
    assert line.levelno == logging.INFO
    # the page POST is the batch's only request (the user and company came from factories, outside requests)
    assert line.request_ids == ["req-new-product-7"]
    assert line.request_id == "req-new-product-7"
    assert line.changes >= 1
    # rendered as JSON, the line keeps both fields
    rendered = json.loads(logs.json_formatter().format(line))
    assert rendered["request_id"] == "req-new-product-7" and rendered["request_ids"] == ["req-new-product-7"]
