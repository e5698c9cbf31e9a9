"""Fixtures: a fresh app per test on SQLite (always) and PostgreSQL (when TEST_DATABASE_URL is set).

Every test gets its own database state and ``tmp_path`` directories. Under CI (``CI=true``)
a PostgreSQL server that cannot be reached is an error, not a skip.
"""
from __future__ import annotations

import os
import re
import uuid

import pytest
import sqlalchemy as sa

from marketplace import create_app
from marketplace.extensions import db


def _share_url_builders() -> None:
    """Build each URL rule's builder once per test process instead of once per test app.

    Every test makes its own app, and Werkzeug compiles two builder functions (Python source → AST →
    code) for each of the app's ~190 rules when it is registered: 68 of create_app's 88 ms. The
    function depends only on the rule (its text, parsed parts and defaults) and reads the rule's
    converters at call time through its ``self`` argument, so the apps of one process can share it
    (create_app: 20 ms). Test-only; a Werkzeug without this private method is left alone.
    """
    from werkzeug.routing.rules import Rule

    compile_builder = getattr(Rule, "_compile_builder", None)
    if compile_builder is None or getattr(compile_builder, "shared", False):
        return
    builders: dict = {}

    def shared_builder(self, append_unknown: bool = True):
        try:
            key = (self.rule, self.subdomain, self.host, self.map.host_matching, tuple(self._trace),
                   repr(sorted((self.defaults or {}).items())), append_unknown)
        except AttributeError:
            return compile_builder(self, append_unknown)
        builder = builders.get(key)
        if builder is None:
            builder = builders[key] = compile_builder(self, append_unknown)
        return builder

    shared_builder.shared = True
    Rule._compile_builder = shared_builder


_share_url_builders()
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "").strip()
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def _backends() -> list[str]:
    backends = ["sqlite"]
    if TEST_DATABASE_URL:
        backends.append("postgresql")
    elif IN_CI:
        raise pytest.UsageError("CI requires TEST_DATABASE_URL (PostgreSQL); it is not set")
    return backends


def _pg_url(schema: str | None = None) -> str:
    url = TEST_DATABASE_URL
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix):]
    if schema:
        # a lock wait (a DROP behind a forgotten transaction) fails after a minute instead of hanging CI
        url += ("&" if "?" in url else "?") + f"options=-csearch_path%3D{schema}%20-clock_timeout%3D60000"
    return url


@pytest.fixture(scope="session")
def pg_schema():
    """One PostgreSQL schema for this test run, dropped at the end (runs never collide)."""
    if not TEST_DATABASE_URL:
        pytest.skip("PostgreSQL not configured (set TEST_DATABASE_URL)")
    schema = f"rt_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(_pg_url())
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError as error:
        message = f"PostgreSQL at {TEST_DATABASE_URL} is unreachable: {error}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    yield schema
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture(params=_backends())
def db_backend(request) -> str:
    """The database this test runs on."""
    return request.param


def make_test_config(tmp_path, database_uri: str, **overrides) -> dict:
    """The settings of a test app with everything under ``tmp_path``."""
    config = {
        "TESTING": True,
        "ENV": "testing",
        "SECRET_KEY": "test-secret-key-not-for-production",
        "INSTANCE_DIR": str(tmp_path / "instance"),
        "SQLALCHEMY_DATABASE_URI": database_uri,
        "SEARCH_INDEX_DIR": str(tmp_path / "index"),
        "UPLOAD_DIR": str(tmp_path / "uploads"),
        "RATELIMIT_STORAGE_URI": "memory://",
        "MAIL_SERVER": "",
        "SERVER_NAME": None,
    }
    config.update(overrides)
    return config


@pytest.fixture
def app_config(db_backend, tmp_path, request) -> dict:
    """Settings for the test's app; tests may update it before asking for ``app``."""
    if db_backend == "postgresql":
        schema = request.getfixturevalue("pg_schema")
        uri = _pg_url(schema)
    else:
        uri = f"sqlite:///{tmp_path / 'test.db'}"
    return make_test_config(tmp_path, uri)


#: PostgreSQL schemas known to hold exactly the app's tables, all empty (left so by the last test's teardown)
_PG_CLEAN: set[str] = set()


def _pg_tables_as_defined(schema: str) -> bool:
    """Whether the schema holds exactly the app's tables with their columns (no test dropped, migrated or added
    one): then emptying them is as good as creating them again, and much cheaper."""
    found = set(db.session.execute(sa.text(
        "SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = :schema AND c.relkind IN ('r', 'p') "
        "AND a.attnum > 0 AND NOT a.attisdropped"), {"schema": schema}).all())
    wanted = {(table.name, column.name) for table in db.metadata.sorted_tables for column in table.columns}
    return found == wanted


def _empty_pg_tables(schema: str) -> None:
    """Delete every row of the app's tables and restart their sequences (ids start at 1 again, as on a new
    SQLite file). DELETE of a test's few rows with the foreign-key triggers off (session_replication_role,
    a superuser's setting, as the test server's postgres is) takes ~0.02 s; TRUNCATE … RESTART IDENTITY,
    which gives each of the ~40 tables and their indexes new files, took 0.15 s a test. Without the right to
    turn the triggers off, TRUNCATE it is."""
    try:
        db.session.execute(sa.text("SET LOCAL session_replication_role = replica"))
    except sa.exc.DBAPIError:
        db.session.rollback()
        names = ", ".join(f'"{table.name}"' for table in db.metadata.sorted_tables)
        db.session.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        db.session.commit()
        return
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(table.delete())
    db.session.execute(sa.text(
        "SELECT setval(c.oid, 1, false) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind = 'S' AND n.nspname = :schema"), {"schema": schema})
    db.session.commit()


@pytest.fixture
def app(app_config, db_backend, request):
    """A fresh app with empty tables. On PostgreSQL the schema's tables are created once and emptied after
    each test (``_empty_pg_tables``: 0.02 s; dropping and creating them was 0.6 s a test); a test that
    changed them (a migration, a restore, a drop) leaves the schema to be made again for the next one."""
    schema = request.getfixturevalue("pg_schema") if db_backend == "postgresql" else None
    application = create_app(app_config)
    with application.app_context():
        if schema is None:
            db.create_all()
        elif schema not in _PG_CLEAN:
            db.session.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            db.session.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
            db.session.commit()
            db.create_all()
        _PG_CLEAN.discard(schema)
    yield application
    with application.app_context():
        db.session.remove()
        if schema is not None and _pg_tables_as_defined(schema):
            _empty_pg_tables(schema)
            _PG_CLEAN.add(schema)
        db.session.remove()
        db.engine.dispose()


def fresh_app(app_config: dict, db_backend: str, tmp_path, name: str):
    """Another app on an empty database (a new SQLite file, or the emptied PostgreSQL schema) and its own index."""
    config = dict(app_config)
    if db_backend == "sqlite":
        config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / (name + '.db')}"
    config["SEARCH_INDEX_DIR"] = str(tmp_path / f"{name}-index")
    application = create_app(config)
    with application.app_context():
        if db_backend == "postgresql":
            db.drop_all()
        db.create_all()
    return application


@pytest.fixture
def client(app):
    """A test client (cookies kept between requests)."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """A CLI runner for ``flask`` commands."""
    return app.test_cli_runner()


def csrf_token(client, url: str) -> str:
    """GET ``url`` and return the CSRF token of its first form."""
    response = client.get(url)
    match = CSRF_RE.search(response.get_data(as_text=True))
    assert match, f"no CSRF token on {url} (status {response.status_code})"
    return match.group(1)


def post_form(client, url: str, data: dict, form_url: str | None = None, **kwargs):
    """Submit a form as a browser would: fetch its page for the CSRF token, then POST."""
    payload = dict(data)
    payload.setdefault("csrf_token", csrf_token(client, form_url or url))
    return client.post(url, data=payload, **kwargs)


@pytest.fixture
def en_client(app):
    """A test client whose browser asks for English."""
    test_client = app.test_client()
    test_client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return test_client


def login(client, email: str, password: str | None = None, remember: bool = False):
    """Log in through the login form; returns the response after redirects."""
    from tests.factories import PASSWORD

    data = {"email": email, "password": password or PASSWORD}
    if remember:
        data["remember_me"] = "y"
    return post_form(client, "/account/login", data, follow_redirects=True)
