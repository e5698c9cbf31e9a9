"""The open JSON API, ``/api/v1`` (开放数字系统接口), with its OpenAPI 3.1 document.

Owns: registering the API on the app (flask-smorest, the document at ``/api/v1/openapi.json``, the
browsable reference at ``/api/v1/docs``), its rate limits, and the company settings pages for API
tokens. Each resource module holds its marshmallow schemas and routes and calls the features'
services, as the pages do; ``core.py`` is the machinery they share. Webhooks are their own feature
(``marketplace/webhooks``).
"""
from __future__ import annotations

import hashlib
import importlib

from flask import Flask, current_app, request
from flask_limiter.util import get_remote_address

from marketplace.api.core import API_PREFIX, MAX_IF_MATCH, Api

#: the resource modules, in the order of the document
RESOURCES = (
    "companies",
    "products",
    "catalog_imports",
    "procurement",
    "quotes",
    "matches",
    "intents",
    "notifications",
)

API_DESCRIPTION = """Rongtong 融通's API for buyers' and exporters' own systems (SRM, ERP).

* **Authentication**: `Authorization: Bearer rt_…`, a token a company administrator makes on
  /developers/tokens, with scopes `read`, `catalog:write`, `sourcing:write`, `deals:write`.
* **Errors** are RFC 9457 `application/problem+json`, in the language of `Accept-Language`
  (zh-CN by default, en), naming the `field` at fault.
* **Pages**: `limit` and `cursor` (the previous page's `next_cursor`).
* **Caching**: every GET has an `ETag`; send `If-None-Match` for a 304, `If-Match` on updates (412 when stale).
* **Idempotency**: every POST needs an `Idempotency-Key`; a retry with the same key and body gets the first answer.
* **Money** is in fen (分, integers); times are UTC (ISO 8601).
"""

#: answers any operation may give (added to each operation of the document)
COMMON_RESPONSES = {
    "400": "Malformed request (not JSON, no Idempotency-Key).",
    "401": "No token, or an unknown, revoked or expired one.",
    "403": "The token lacks the scope, or the company may not do this.",
    "404": "No such object, or not the caller's to see.",
    "409": "The object changed or is in a state that refuses this.",
    "412": "If-Match names an older version of the object.",
    "413": "The body is too large.",
    "422": "Invalid input; `field` and `errors` say where.",
    "429": "Rate limit; wait `Retry-After` seconds.",
}


def _token_limit() -> str:
    return current_app.config["API_RATE_LIMIT"]


def _address_limit() -> str:
    return current_app.config["API_ADDRESS_RATE_LIMIT"]


def _token_key() -> str:
    header = request.headers.get("Authorization") or request.remote_addr or ""
    return "api-token:" + hashlib.sha256(header.encode()).hexdigest()[:32]


def _configure(app: Flask) -> None:
    app.config.setdefault("API_TITLE", "Rongtong 融通 API")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.1.0")
    app.config.setdefault("OPENAPI_URL_PREFIX", API_PREFIX)
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault("API_SPEC_OPTIONS", {
        "info": {"description": API_DESCRIPTION},
        "security": [{"bearerAuth": []}],
        "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
    })


def _problem_schema() -> dict:
    return {
        "type": "object",
        "required": ["type", "title", "status"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "instance": {"type": "string"},
            "field": {"type": ["string", "null"]},
            "errors": {"type": "array", "items": {
                "type": "object",
                "properties": {"field": {"type": ["string", "null"]}, "in": {"type": "string"},
                               "message": {"type": "string"}},
            }},
        },
    }


def _complete_document(api: Api) -> None:
    """Every operation: the problem answers, the Idempotency-Key header on POSTs, the ETag headers on GETs."""
    spec = api.spec
    spec.components.schema("Problem", _problem_schema())
    for tag in spec._tags:
        tag["name"] = tag["name"].removeprefix("api_")
    problem_ref = {"$ref": "#/components/schemas/Problem"}
    for _path, operations in spec._paths.items():
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            responses = operation.setdefault("responses", {})
            responses["default"] = {"description": "Another error.",
                                    "content": {"application/problem+json": {"schema": problem_ref}}}
            for status, description in COMMON_RESPONSES.items():
                documented = responses.get(status)
                # flask-smorest's own error answers ($ref to its JSON Error) are ours as problems
                if documented is None or "$ref" in documented:
                    responses[status] = {"description": description,
                                         "content": {"application/problem+json": {"schema": problem_ref}}}
            # blueprints are named api_<resource> (page blueprints hold the plain names); tags say <resource>
            operation["tags"] = [tag.removeprefix("api_") for tag in operation.get("tags", [])]
            parameters = operation.setdefault("parameters", [])
            if method == "post":
                parameters.append({
                    "name": "Idempotency-Key", "in": "header", "required": True,
                    "description": "A new value for each operation; a retry sends the same one.",
                    "schema": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[\\x20-\\x7e]+$"},
                })
            if method in ("put", "patch") or operation.get("x-if-match"):
                parameters.append({
                    "name": "If-Match", "in": "header", "required": False,
                    "description": "The ETag of the version you read; 412 if the object changed since.",
                    "schema": {"type": "string", "maxLength": MAX_IF_MATCH},
                })
            if method == "get":
                responses.setdefault("304", {"description": "Not modified (If-None-Match)."})


def register_api(app: Flask) -> None:
    """The API blueprints, their rate limits and CSRF exemption, the document, the docs and token pages."""
    from marketplace.api.docs import bp as docs_bp
    from marketplace.api.token_views import bp as tokens_bp
    from marketplace.extensions import csrf, limiter
    from marketplace.inputs import MAX_ID, BoundedIntegerConverter

    _configure(app)
    api = Api(app)  # one per app (tests build many apps; each has its own document)
    app.extensions["rongtong_api"] = api
    api.register_converter(BoundedIntegerConverter, lambda _converter: {
        "type": "integer", "minimum": 0, "maximum": MAX_ID})
    for name in RESOURCES:
        module = importlib.import_module(f"marketplace.api.{name}")
        blueprint = module.blp
        csrf.exempt(blueprint)  # a bearer token is not sent by a browser on its own: no CSRF to defend
        # module-level providers: applying them again (every create_app) adds no second limit
        limiter.limit(_token_limit, key_func=_token_key)(blueprint)
        limiter.limit(_address_limit, key_func=get_remote_address)(blueprint)
        api.register_blueprint(blueprint, url_prefix=f"{API_PREFIX}{module.URL_PREFIX}")
    api.on_document = _complete_document  # when the document is first asked for (core.Api.ensure_document)
    app.register_blueprint(docs_bp, url_prefix=API_PREFIX)
    app.register_blueprint(tokens_bp, url_prefix="/developers/tokens")
    from marketplace.api.core import forget_old_answers
    from marketplace.jobs import register_periodic

    register_periodic("api-idempotency-cleanup", {"minute": "40", "hour": "3"}, forget_old_answers)
