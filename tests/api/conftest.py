"""API test helpers: companies with tokens, and a client that sends the bearer and an Idempotency-Key.

``api_as(company_kind, scopes)`` makes a verified company, its administrator and a token; the returned
``ApiCaller`` (holding ``company_id`` and ``user_id``: load them in an app context) calls the API with it (``.get/.post/.patch/.delete``), adding a fresh ``Idempotency-Key``
to each POST unless one is given, and ``Accept-Language: en`` unless another is given.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import pytest

from marketplace.accounts.models import Company, CompanyKind, Role, User
from marketplace.api import tokens
from marketplace.api.models import SCOPES
from tests.factories import make_company, make_user

ALL_SCOPES = tuple(SCOPES)


@dataclass
class ApiCaller:
    """A company's token and a client calling the API with it."""

    client: object
    company_id: int
    user_id: int
    token: str
    headers: dict = field(default_factory=dict)

    def _headers(self, method: str, headers: dict | None) -> dict:
        merged = {"Authorization": f"Bearer {self.token}", "Accept-Language": "en", **self.headers, **(headers or {})}
        if method == "POST" and "Idempotency-Key" not in merged:
            merged["Idempotency-Key"] = uuid.uuid4().hex
        return {name: value for name, value in merged.items() if value is not None}

    def call(self, method: str, path: str, headers: dict | None = None, **kwargs):
        url = path if path.startswith("/api/") else f"/api/v1{path}"
        return self.client.open(url, method=method, headers=self._headers(method, headers), **kwargs)

    def get(self, path: str, **kwargs):
        return self.call("GET", path, **kwargs)

    def post(self, path: str, **kwargs):
        return self.call("POST", path, **kwargs)

    def patch(self, path: str, **kwargs):
        return self.call("PATCH", path, **kwargs)

    def put(self, path: str, **kwargs):
        return self.call("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs):
        return self.call("DELETE", path, **kwargs)


def make_token(user: User, scopes=ALL_SCOPES, days: int | None = 90) -> str:
    """A token of ``user``'s company (the user must be its administrator)."""
    _token, raw = tokens.create_token(user, "test", list(scopes), days)
    return raw


@pytest.fixture
def api_as(app):
    """``api_as(kind=CompanyKind.EXPORTER, scopes=ALL_SCOPES, company=None)`` → an ``ApiCaller``."""
    made = []

    def factory(kind: CompanyKind = CompanyKind.EXPORTER, scopes=ALL_SCOPES, company: Company | None = None,
                verified: bool = True, **company_fields) -> ApiCaller:
        with app.app_context():
            company = company or make_company(kind=kind, verified=verified, **company_fields)
            user = make_user(company=company, role=Role.COMPANY_ADMIN)
            raw = make_token(user, scopes)
            caller = ApiCaller(app.test_client(), company.id, user.id, raw)
        made.append(caller)
        return caller

    return factory


@pytest.fixture
def exporter_api(api_as) -> ApiCaller:
    """A verified exporter with an all-scopes token."""
    return api_as(CompanyKind.EXPORTER)


@pytest.fixture
def buyer_api(api_as) -> ApiCaller:
    """A verified buyer (a chain leader, 链主) with an all-scopes token."""
    return api_as(CompanyKind.CHAIN_LEADER)


#: API modules whose tests run on both databases; the others (resources whose rules are the services', which
#: have their own PostgreSQL tests) run on SQLite only, to keep CI within its 30 minutes
BOTH_DATABASES = {"test_api_core", "test_authorization_matrix", "test_intents", "test_requests"}


def pytest_collection_modifyitems(config, items):
    """Deselect the PostgreSQL runs of the API modules not in ``BOTH_DATABASES``."""
    kept, dropped = [], []
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1] if getattr(item, "module", None) else ""
        in_api = "/tests/api/" in str(item.fspath)
        if in_api and "[postgresql" in item.nodeid and module not in BOTH_DATABASES:
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
