"""schemathesis over the generated OpenAPI document, in process (WSGI), on every operation.

Checks each generated call — valid and deliberately invalid (negative) input — with schemathesis'
checks: no 5xx, every status and body as documented (problem documents included), invalid input
refused, required headers enforced. Not "valid input accepted" (``positive_data_acceptance``): input that
fits the document can still break a business rule (an MOQ, a date in the past, a cursor we did not make)
and rightly get a 422. ``SCHEMATHESIS_EXAMPLES`` sets the cases per operation
(default and CI: 1,000); each operation is its own test item, so pytest-xdist spreads them over the workers. The app is built once per module on SQLite, with two
companies (an exporter and a buyer, all scopes) whose tokens the calls use by the operation's tag.
"""
from __future__ import annotations

import atexit
import json
import os
import tempfile
import uuid
from collections import Counter
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.generation.meta import negated_parameters
from schemathesis.specs.openapi.checks import positive_data_acceptance

from marketplace import create_app
from marketplace.accounts.models import CompanyKind, Role
from marketplace.extensions import db
from tests.api.conftest import make_token
from tests.conftest import make_test_config
from tests.factories import make_company, make_product, make_user

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "1000"))
#: operations under these paths are called as the buyer (requests, their quotes and matches; intents); the
#: rest as the exporter (products, imports, quotes, a product's matches)
BUYER_PATHS = ("/api/v1/requests", "/api/v1/intents")


def _build_app():
    root = Path(tempfile.mkdtemp(prefix="rt-schemathesis-"))
    # the index is applied by a worker (none runs here): a generated write costs its transaction, not an index
    # commit and a match recompute, which the fuzzer does not look at (their own tests do)
    config = make_test_config(root, f"sqlite:///{root / 'api.db'}", API_RATE_LIMIT="1000000 per minute",
                              API_ADDRESS_RATE_LIMIT="1000000 per minute", SEARCH_DRAIN="worker")
    application = create_app(config)
    with application.app_context():
        db.create_all()
        exporter = make_company(kind=CompanyKind.EXPORTER)
        buyer = make_company(kind=CompanyKind.CHAIN_LEADER)
        exporter_admin = make_user(company=exporter, role=Role.COMPANY_ADMIN)
        buyer_admin = make_user(company=buyer, role=Role.COMPANY_ADMIN)
        for _ in range(3):
            make_product(company=exporter, actor=exporter_admin)
        tokens = {"exporter": make_token(exporter_admin), "buyer": make_token(buyer_admin)}
    return application, tokens


APP, TOKENS = _build_app()
#: calls made per operation and the statuses they got, written to SCHEMATHESIS_COUNTS (JSON lines) at exit
CALLS: Counter = Counter()
STATUSES: dict[str, Counter] = {}


def _write_counts() -> None:
    target = os.environ.get("SCHEMATHESIS_COUNTS")
    if not target or not CALLS:
        return
    with open(target, "a", encoding="utf-8") as handle:
        for operation, calls in sorted(CALLS.items()):
            handle.write(json.dumps({"operation": operation, "cases": calls,
                                     "statuses": dict(sorted(STATUSES[operation].items()))}) + "\n")


atexit.register(_write_counts)
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", APP)


def _token_for(case) -> str:
    return TOKENS["buyer"] if case.operation.path.startswith(BUYER_PATHS) else TOKENS["exporter"]


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_api_operation_conforms(case):
    """Generated calls (valid and invalid) never get a 5xx and always get the documented answer."""
    negated = {name.lower() for name, _location in negated_parameters(case._meta)}
    if case.headers is None:
        case.headers = {}
    if "authorization" not in negated:
        # our company's real token; a case that negates the header itself keeps what was generated (→ 401)
        case.headers["Authorization"] = f"Bearer {_token_for(case)}"
    key = case.headers.get("Idempotency-Key")
    if isinstance(key, str) and key and key.isascii() and key.isprintable() and len(key) <= 160:
        # hypothesis repeats small keys ("0") with other bodies; a real client sends a new key per operation,
        # so a valid key is made unique (an invalid one — empty, too long, not ASCII — stays as generated)
        case.headers["Idempotency-Key"] = f"{uuid.uuid4().hex}-{key}"
    label = f"{case.operation.method.upper()} {case.operation.path}"
    try:
        response = case.call_and_validate(excluded_checks=[positive_data_acceptance])
    finally:
        CALLS[label] += 1
    STATUSES.setdefault(label, Counter())[str(response.status_code)] += 1
