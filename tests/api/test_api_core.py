"""The API's shared machinery (``marketplace/api/core.py``, ``problems.py``, ``tokens.py``, the document), through
real endpoints: tokens and scopes, no cookies and no CSRF, localized problems, Idempotency-Key, ETag and If-Match,
bodies that are too deep, too large or not JSON, the rate limit, cursors, the OpenAPI document and the docs page."""
from __future__ import annotations

import base64
import json
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from marketplace.accounts.models import Company, CompanyKind, Role, User
from marketplace.api import tokens
from marketplace.api.models import ApiToken
from marketplace.database import utcnow
from marketplace.deals.models import OrderIntent
from marketplace.extensions import db
from marketplace.i18n import _
from tests.conftest import login
from tests.factories import make_product

CJK = re.compile(r"[\u4e00-\u9fff]")


def zh(app, message: str, **values) -> str:
    """A message as the API says it in Chinese."""
    with app.test_request_context("/api/v1/"), force_locale("zh_CN"):
        return _(message, **values)


@pytest.fixture
def product_id(app, exporter_api) -> int:
    """A published product of the exporter (MOQ 100)."""
    with app.app_context():
        company = db.session.get(Company, exporter_api.company_id)
        return make_product(company=company, actor=db.session.get(User, exporter_api.user_id)).id


def intent_body(product_id: int, **fields) -> dict:
    return {"product_id": product_id, "quantity": 200, "unit_price_fen": 8800, **fields}


def count_intents(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(OrderIntent))


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.headers["Content-Type"].startswith("application/problem+json")
    body = response.get_json()
    assert body["status"] == status and body["title"] and body["instance"] == response.request.path
    return body


# ----------------------------------------------------------------------------- tokens


def test_no_token_is_401_with_www_authenticate(client):
    response = client.get("/api/v1/companies/me", headers={"Accept-Language": "en"})
    body = assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert body["detail"] == "Send an API token: Authorization: Bearer rt_…"
    basic = client.get("/api/v1/companies/me", headers={"Authorization": "Basic dXNlcjpwdw==",
                                                         "Accept-Language": "en"})
    assert_problem(basic, 401)


def test_unknown_token_is_401(client):
    for raw in ("rt_" + "x" * 43, "not-ours", "rt_" + "y" * 200):
        response = client.get("/api/v1/companies/me", headers={"Authorization": f"Bearer {raw}",
                                                                "Accept-Language": "en"})
        assert assert_problem(response, 401)["detail"] == "This API token is not valid."


def test_revoked_token_is_401(app, exporter_api):
    assert exporter_api.get("/companies/me").status_code == 200
    with app.app_context():
        user = db.session.get(User, exporter_api.user_id)
        token = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == tokens.hash_token(
            exporter_api.token)))
        tokens.revoke_token(user, token.id)
    response = exporter_api.get("/companies/me")
    assert assert_problem(response, 401)["detail"] == "This API token has been revoked."


def test_expired_token_is_401(app, exporter_api):
    assert exporter_api.get("/companies/me").status_code == 200
    with app.app_context():
        db.session.execute(sa.update(ApiToken).where(ApiToken.token_hash == tokens.hash_token(exporter_api.token))
                           .values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    response = exporter_api.get("/companies/me")
    assert assert_problem(response, 401)["detail"] == "This API token has expired."


@pytest.mark.parametrize("change", ["deactivated", "demoted", "left"])
def test_token_of_a_former_administrator_is_401(app, exporter_api, change):
    assert exporter_api.get("/companies/me").status_code == 200
    with app.app_context():
        user = db.session.get(User, exporter_api.user_id)
        if change == "deactivated":
            user.active = False
        elif change == "demoted":
            user.role = Role.MEMBER
        else:
            from tests.factories import make_company

            user.company = make_company()
        db.session.commit()
    assert_problem(exporter_api.get("/companies/me"), 401)


def test_token_lacking_a_scope_is_403_naming_it(api_as, product_id):
    reader = api_as(CompanyKind.CHAIN_LEADER, scopes=["read", "catalog:write"])
    body = assert_problem(reader.post("/intents", json=intent_body(product_id)), 403)
    assert body["detail"] == "This token lacks the permission deals:write."
    assert reader.get("/companies/me").status_code == 200
    writer = api_as(CompanyKind.CHAIN_LEADER, scopes=["deals:write"])
    assert "read" in assert_problem(writer.get("/companies/me"), 403)["detail"]


def test_api_ignores_the_login_cookie_and_needs_no_csrf_token(app, client, buyer_api, product_id):
    with app.app_context():
        email = db.session.get(User, buyer_api.user_id).email
    login(client, email)
    assert client.get("/notifications/").status_code == 200  # logged in on the site
    assert client.post("/notifications/read-all").status_code == 400  # pages want their CSRF token
    assert_problem(client.get("/api/v1/companies/me"), 401)
    assert_problem(client.post("/api/v1/intents", json=intent_body(product_id),
                               headers={"Idempotency-Key": "cookie-only"}), 401)
    assert count_intents(app) == 0
    # a bearer token needs no CSRF token
    response = client.post("/api/v1/intents", json=intent_body(product_id),
                           headers={"Authorization": f"Bearer {buyer_api.token}", "Idempotency-Key": "k-1"})
    assert response.status_code == 201
    assert count_intents(app) == 1


def test_a_token_sees_its_own_company_and_public_profiles(api_as, exporter_api):
    own = exporter_api.get("/companies/me").get_json()
    assert own["id"] == exporter_api.company_id and own["uscc"]
    other = api_as(CompanyKind.RETAILER)
    profile = other.get(f"/companies/{exporter_api.company_id}").get_json()
    assert profile["id"] == exporter_api.company_id and "uscc" not in profile
    assert profile["contact"] is None


# ----------------------------------------------------------------------------- localized problems


def test_errors_are_chinese_by_default_and_english_on_request(app, buyer_api):
    chinese = buyer_api.get("/intents?limit=101", headers={"Accept-Language": None})
    body = assert_problem(chinese, 422)
    assert chinese.headers["Content-Language"] == "zh-CN"
    assert body["field"] == "limit"
    assert body["title"] == zh(app, "Invalid input") and CJK.search(body["title"])
    assert body["detail"] == zh(app, "Must be between %(min)s and %(max)s.", min=1, max=100)
    assert CJK.search(body["detail"]) and "1" in body["detail"] and "100" in body["detail"]

    english = buyer_api.get("/intents?limit=101", headers={"Accept-Language": "en-GB,en;q=0.9"})
    body = assert_problem(english, 422)
    assert english.headers["Content-Language"] == "en"
    assert (body["title"], body["detail"], body["field"]) == ("Invalid input", "Must be between 1 and 100.", "limit")
    assert body["errors"] == [{"field": "limit", "in": "query", "message": "Must be between 1 and 100."}]


def test_domain_errors_and_401_are_localized_too(app, client, buyer_api):
    missing = buyer_api.get("/intents/424242", headers={"Accept-Language": "zh-CN"})
    body = assert_problem(missing, 404)
    assert body["detail"] == "该意向订单不存在。"
    assert body["title"] == zh(app, "Not found") and CJK.search(body["title"])
    anonymous = client.get("/api/v1/companies/me")
    body = assert_problem(anonymous, 401)
    assert anonymous.headers["Content-Language"] == "zh-CN"
    assert CJK.search(body["title"]) and CJK.search(body["detail"])


# ----------------------------------------------------------------------------- Idempotency-Key


def test_post_without_idempotency_key_is_400(app, buyer_api, product_id):
    response = buyer_api.post("/intents", json=intent_body(product_id), headers={"Idempotency-Key": None})
    assert assert_problem(response, 400)["field"] == "Idempotency-Key"
    for bad in ("x" * 201, "schlüssel", "   "):
        refused = buyer_api.post("/intents", json=intent_body(product_id), headers={"Idempotency-Key": bad})
        assert assert_problem(refused, 400)["field"] == "Idempotency-Key"
    assert count_intents(app) == 0


def test_same_key_same_body_replays_the_first_answer(app, buyer_api, product_id):
    first = buyer_api.post("/intents", json=intent_body(product_id), headers={"Idempotency-Key": "order-1"})
    again = buyer_api.post("/intents", json=intent_body(product_id), headers={"Idempotency-Key": "order-1"})
    assert first.status_code == again.status_code == 201
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert again.headers["Location"] == first.headers["Location"]
    assert count_intents(app) == 1


def test_same_key_other_body_is_422(app, buyer_api, product_id):
    buyer_api.post("/intents", json=intent_body(product_id), headers={"Idempotency-Key": "order-2"})
    other = buyer_api.post("/intents", json=intent_body(product_id, quantity=300),
                           headers={"Idempotency-Key": "order-2"})
    assert assert_problem(other, 422)["field"] == "Idempotency-Key"
    assert count_intents(app) == 1


def test_keys_are_per_company(app, api_as, buyer_api, product_id):
    other_buyer = api_as(CompanyKind.RETAILER)
    first = buyer_api.post("/intents", json=intent_body(product_id), headers={"Idempotency-Key": "shared"})
    second = other_buyer.post("/intents", json=intent_body(product_id), headers={"Idempotency-Key": "shared"})
    assert first.status_code == second.status_code == 201
    assert "Idempotent-Replayed" not in second.headers
    assert first.get_json()["id"] != second.get_json()["id"]
    assert count_intents(app) == 2


# ----------------------------------------------------------------------------- ETag and If-Match


def test_etag_and_if_none_match_give_304(exporter_api):
    first = exporter_api.get("/companies/me")
    etag = first.headers["ETag"]
    assert etag and first.headers["Cache-Control"] == "private, no-cache"
    assert exporter_api.get("/companies/me", headers={"If-None-Match": etag}).status_code == 304
    assert exporter_api.get("/companies/me", headers={"If-None-Match": '"other"'}).status_code == 200


def test_stale_if_match_is_412(exporter_api, buyer_api, product_id):
    intent = buyer_api.post("/intents", json=intent_body(product_id)).get_json()
    path = f"/intents/{intent['id']}"
    etag = exporter_api.get(path).headers["ETag"]
    assert buyer_api.post(f"{path}/messages", json={"body": "hi"}).status_code == 201  # not part of the intent
    assert buyer_api.post(f"{path}/transitions", json={"action": "withdraw", "version": 1}).status_code == 200
    stale = exporter_api.post(f"{path}/transitions", json={"action": "accept", "version": 2},
                              headers={"If-Match": etag})
    assert_problem(stale, 412)
    fresh = exporter_api.get(path).headers["ETag"]
    assert fresh != etag


def test_overlong_if_match_is_400_and_changes_nothing(buyer_api, product_id):
    intent = buyer_api.post("/intents", json=intent_body(product_id)).get_json()
    path = f"/intents/{intent['id']}"
    etag = buyer_api.get(path).headers["ETag"]
    refused = buyer_api.post(f"{path}/transitions", json={"action": "withdraw", "version": 1},
                             headers={"If-Match": etag + ", " + "x" * 300})
    body = assert_problem(refused, 400)
    assert body["field"] == "If-Match"
    after = buyer_api.get(path).get_json()
    assert (after["state"], after["version"]) == (intent["state"], intent["version"])


# ----------------------------------------------------------------------------- bodies


def test_body_nested_10000_deep_is_422(app, buyer_api, product_id):
    for raw in ("[" * 10_000 + "]" * 10_000,
                json.dumps(intent_body(product_id))[:-1] + ', "note": ' + "[" * 10_000 + "]" * 10_000 + "}",
                '{"a":' * 10_000 + "1" + "}" * 10_000):
        response = buyer_api.post("/intents", data=raw, content_type="application/json")
        assert_problem(response, 422)
    assert count_intents(app) == 0


def test_ten_megabyte_string_is_422_naming_the_field(app_config, request):
    app_config["API_MAX_JSON_BYTES"] = 16 * 1024 * 1024
    app = request.getfixturevalue("app")
    buyer = request.getfixturevalue("buyer_api")
    product = request.getfixturevalue("product_id")
    body = json.dumps(intent_body(product, note="意" * (10 * 1024 * 1024 // 3)), ensure_ascii=False)
    assert len(body.encode()) > 10_000_000
    response = buyer.post("/intents", data=body, content_type="application/json")
    problem = assert_problem(response, 422)
    assert problem["field"] == "note"
    assert count_intents(app) == 0


def test_body_over_the_limit_is_413(app_config, request):
    app_config["API_MAX_JSON_BYTES"] = 2048
    app = request.getfixturevalue("app")
    buyer = request.getfixturevalue("buyer_api")
    product = request.getfixturevalue("product_id")
    assert buyer.post("/intents", json=intent_body(product, note="n" * 1000)).status_code == 201
    response = buyer.post("/intents", json=intent_body(product, note="n" * 1900, delivery_place="p" * 200))
    assert_problem(response, 413)
    assert count_intents(app) == 1


def test_malformed_json_is_400(app, buyer_api):
    for raw in ('{"product_id": 1,', "{'product_id': 1}", "\xff\xfe", "NaN"):
        response = buyer_api.post("/intents", data=raw, content_type="application/json")
        assert response.status_code in (400, 422), raw
        assert response.headers["Content-Type"].startswith("application/problem+json")
    broken = buyer_api.post("/intents", data='{"product_id": 1,', content_type="application/json")
    assert assert_problem(broken, 400)["detail"] == "The body is not valid JSON."
    assert count_intents(app) == 0


# ----------------------------------------------------------------------------- rate limit and cursors


def test_rate_limit_is_429_with_retry_after(app_config, request):
    app_config["API_RATE_LIMIT"] = "3 per minute"
    request.getfixturevalue("app")
    caller = request.getfixturevalue("exporter_api")
    for _call in range(3):
        assert caller.get("/companies/me").status_code == 200
    refused = caller.get("/companies/me")
    body = assert_problem(refused, 429)
    assert int(refused.headers["Retry-After"]) >= 1
    assert body["detail"] == "Too many requests for this token; wait and try again."


def _cursor(position) -> str:
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")


def test_cursor_we_did_not_make_is_422(buyer_api):
    for cursor in ("Zm9v", "not base64!", _cursor({"after": -1}), _cursor({"after": "1"}), _cursor({"offset": 0}),
                   _cursor({"after": True}), _cursor([1]), _cursor({"after": 2**63})):
        response = buyer_api.get("/intents", query_string={"cursor": cursor})
        body = assert_problem(response, 422)
        assert body["field"] == "cursor"
        assert body["detail"] == "This cursor is not valid; start from the first page."


# ----------------------------------------------------------------------------- the document and the docs


def _operations(document: dict):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield path, method, operation


def test_openapi_document_is_3_1_and_documents_errors_and_keys(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"] == "3.1.0"
    operations = list(_operations(document))
    assert {path for path, _method, _op in operations} >= {"/api/v1/companies/me", "/api/v1/intents",
                                                            "/api/v1/notifications"}
    for path, method, operation in operations:
        for status in ("401", "404", "422"):
            assert status in operation["responses"], (method, path, status)
        headers = {p["name"]: p for p in operation.get("parameters", []) if p.get("in") == "header"}
        if method == "post":
            assert headers["Idempotency-Key"]["required"] is True, (method, path)
    transitions = document["paths"]["/api/v1/intents/{intent_id}/transitions"]["post"]
    assert "If-Match" in {p["name"] for p in transitions["parameters"]}


def test_openapi_documents_every_error_as_a_problem(client):
    """Every documented 4xx answer is application/problem+json, as the answers are (422 included)."""
    document = client.get("/api/v1/openapi.json").get_json()
    components = document.get("components", {}).get("responses", {})
    wrong = []
    for path, method, operation in _operations(document):
        for status, answer in operation["responses"].items():
            if not str(status).startswith("4"):
                continue
            if "$ref" in answer:
                answer = components[answer["$ref"].rsplit("/", 1)[-1]]
            if "application/problem+json" not in answer.get("content", {}):
                wrong.append(f"{method.upper()} {path} {status}")
    assert wrong == []


def test_docs_page_loads_only_local_scripts_and_styles(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    sources = re.findall(r'<script[^>]*\ssrc="([^"]+)"', html) + re.findall(r'<link[^>]*\shref="([^"]+)"', html)
    assert sources
    for source in sources:
        assert source.startswith("/static/") or source.startswith("/api/"), source
    assert not re.search(r"https?://(?!localhost)", html.replace(response.request.host_url, "/"))
    for source in sources:
        assert client.get(source).status_code == 200, source


# ----------------------------------------------------------------------------- transport


def test_plain_http_api_call_in_production_is_refused_not_redirected(tmp_path):
    """A redirect would come after the token crossed in clear (and re-send a POST): the call is refused."""
    from marketplace import create_app
    from tests.conftest import make_test_config

    config = make_test_config(tmp_path, f"sqlite:///{tmp_path / 'prod.db'}", TESTING=False, ENV="production",
                              SECRET_KEY="a-production-secret-key-of-32-chars!",
                              PUBLIC_URL="https://rongtong.example.cn")
    app = create_app(config)
    with app.app_context():
        db.create_all()
    client = app.test_client()
    headers = {"Authorization": "Bearer rt_whatever", "Accept-Language": "en", "Idempotency-Key": "k1"}
    for method in ("get", "post"):
        refused = getattr(client, method)("/api/v1/companies/me", base_url="http://rongtong.example.cn",
                                          headers=headers)
        assert refused.status_code == 403
        assert refused.headers["Content-Type"].startswith("application/problem+json")
        assert "HTTPS" in refused.get_json()["detail"] and "Location" not in refused.headers
    secure = client.get("/api/v1/companies/me", base_url="https://rongtong.example.cn", headers=headers)
    assert secure.status_code == 401  # over TLS the token is read (and this one is unknown)
    behind_proxy = client.get("/api/v1/companies/me", base_url="http://rongtong.example.cn",
                              headers={**headers, "X-Forwarded-Proto": "https"})
    assert behind_proxy.status_code == 401
    assert client.get("/", base_url="http://rongtong.example.cn").status_code == 302  # pages still move to HTTPS
