"""The API's machinery: the flask-smorest ``Api`` and ``Blueprint``, bearer tokens and scopes, JSON
parsing that cannot be made to crash, cursor pages, ETags and ``If-Match``, ``Idempotency-Key``.

Owns: how an API call is authenticated, parsed, paged, made conditional and replayed. Resource modules
(``companies.py``, ``products.py`` …) declare their routes on a ``Blueprint`` from here and call the
features' services, as the pages do; nothing here knows a feature.

- **Tokens, not cookies.** Every call needs ``Authorization: Bearer rt_…`` (401 otherwise); the login
  cookie is never read and no CSRF token is asked for. A token acts as the company administrator who
  made it; ``@scope("catalog:write")`` refuses (403) a call its token may not make.
- **Input.** marshmallow schemas (unknown fields refused; integers and booleans strict in bodies) are
  the OpenAPI document's schemas; an error is a 422 problem naming the field. A body nested too deeply
  or larger than ``API_MAX_JSON_BYTES`` is refused before it is parsed into objects.
- **Pages** are cursors (``limit``, ``cursor`` → ``next_cursor``): opaque, stable under inserts.
- **Caching.** Every 200 GET carries a strong ``ETag`` of its body and answers ``If-None-Match`` with
  304; an update given ``If-Match`` answers 412 when the object's current representation differs.
- **Idempotency.** Every POST takes an ``Idempotency-Key``; the first 2xx answer is kept
  (``API_IDEMPOTENCY_HOURS``) and a replay with the same body gets it again (``Idempotent-Replayed:
  true``), another body under the same key a 422. Services that create rows also get a key derived from
  it, so two concurrent first calls still create one object.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json as std_json
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from functools import wraps
from urllib.parse import parse_qsl

import flask_smorest
import marshmallow as ma
import sqlalchemy as sa
from flask import Response, abort, current_app, g, jsonify, request
from webargs import core as webargs_core
from webargs.flaskparser import FlaskParser, is_json_request
from webargs.flaskparser import abort as webargs_abort
from werkzeug.datastructures import MultiDict

from marketplace.api.models import IdempotentAnswer
from marketplace.api.problems import problem
from marketplace.api.tokens import Caller, Unauthenticated, authenticate
from marketplace.database import utcnow
from marketplace.errors import ValidationFailed
from marketplace.extensions import db
from marketplace.i18n import _
from marketplace.inputs import MAX_ID, clean_text

logger = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
#: deepest JSON nesting a body may have (the largest schema nests 3 levels)
MAX_JSON_DEPTH = 32


# ----------------------------------------------------------------------------- Api and Blueprint


class Api(flask_smorest.Api):
    """flask-smorest's Api, without its app-wide JSON error handler (errors.py answers API paths with problems),
    writing the document when it is first asked for.

    Registering a blueprint's views in the document converts every schema to JSON Schema: ~80 ms per app,
    paid by every test's app (thousands) though few ask for the document. Blueprints are registered on the app
    at once; the document is written on the first GET of ``openapi.json`` (``ensure_document``), then kept.
    """

    def init_app(self, app, *, spec_kwargs=None):
        self._pending: list[tuple] = []
        self._completed = False
        self._document_lock = threading.Lock()
        self.on_document: Callable[[Api], None] | None = None
        super().init_app(app, spec_kwargs=spec_kwargs)

    def _register_error_handlers(self):
        return None

    def register_blueprint(self, blp, *, parameters=None, **options):
        name = options.get("name", blp.name)
        self._app.extensions["flask-smorest"]["blp_name_to_api"][name] = self
        self._app.register_blueprint(blp, **options)
        self._pending.append((blp, name, parameters))

    def ensure_document(self) -> None:
        """Put the registered blueprints' views in the document, once."""
        with self._document_lock:
            while self._pending:
                blp, name, parameters = self._pending.pop(0)
                blp.register_views_in_doc(self, self._app, self.spec, name=name, parameters=parameters)
                self.spec.tag({"name": name, "description": blp.description})
            if not self._completed:
                self._completed = True
                if self.on_document is not None:
                    self.on_document(self)

    def _openapi_json(self):
        self.ensure_document()
        return super()._openapi_json()


def _json_problem(value, path: str = "", depth: int = 0) -> tuple[str, object] | None:
    """(path, message) of the first thing wrong in a parsed body that no schema sees: nesting deeper than
    ``MAX_JSON_DEPTH``, or text JSON escapes made into invalid Unicode (a lone surrogate, which the
    database cannot store). One walk over the parsed value."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path, _("The text holds an unpaired surrogate (\\ud800-\\udfff): not valid Unicode.")
        return None
    if isinstance(value, (dict, list)):
        if depth >= MAX_JSON_DEPTH:
            return "", _("The JSON body nests deeper than %(num)d levels.", num=MAX_JSON_DEPTH)
        pairs = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in pairs:
            if isinstance(key, str):
                found = _json_problem(key, path, depth + 1)
                name = f"{path}.{key}" if path else key
            else:
                found, name = None, f"{path}[{key}]"
            found = found or _json_problem(item, name, depth + 1)
            if found is not None:
                return found
    return None


class Parser(FlaskParser):
    """webargs' Flask parser: 422 for invalid input, 400 for a body that is not JSON, no recursion errors."""

    DEFAULT_VALIDATION_STATUS = 422
    #: an unknown query parameter is refused too (webargs' default lets the query string's pass: a typo
    #: like ``?catgory=`` would silently search everything)
    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "query": None, "querystring": None}

    def _raw_load_json(self, req):
        if not is_json_request(req):
            return webargs_core.missing
        data = req.get_data(cache=True)
        if len(data) > current_app.config["API_MAX_JSON_BYTES"]:
            abort(413)
        try:
            parsed = webargs_core.parse_json(data)
        except RecursionError:  # deeper than the parser goes (~1,000 levels)
            webargs_abort(422, messages={"json": {"_schema": [
                _("The JSON body nests deeper than %(num)d levels.", num=MAX_JSON_DEPTH)]}})
        problem = _json_problem(parsed)
        if problem is not None:
            webargs_abort(422, messages={"json": {problem[0] or "_schema": [problem[1]]}})
        return parsed

    def load_querystring(self, req, schema):
        """The query string as sent (``request.args`` is already cleaned, which would hide a value that breaks
        a limit: 300 spaces are "" there); the schema validates it, then cleans it."""
        pairs = parse_qsl(req.query_string.decode("utf-8", "replace"), keep_blank_values=True)
        return self._makeproxy(MultiDict(pairs), schema)

    def _handle_invalid_json_error(self, error, req, *args, **kwargs):
        webargs_abort(400, messages={"json": {"_schema": ["Invalid JSON body."]}})


class Blueprint(flask_smorest.Blueprint):
    """A resource's blueprint: every route needs a token."""

    ARGUMENTS_PARSER = Parser()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.before_request(_authenticate)
        self.after_request(_after)


# ----------------------------------------------------------------------------- who calls


MAX_IF_MATCH = 200


def _authenticate():
    try:
        g.api_caller = authenticate(request.headers.get("Authorization"))
    except Unauthenticated as refused:
        detail = {
            "missing": _("Send an API token: Authorization: Bearer rt_…"),
            "unknown": _("This API token is not valid."),
            "revoked": _("This API token has been revoked."),
            "expired": _("This API token has expired."),
        }[refused.reason]
        return problem(401, detail, headers={"WWW-Authenticate": 'Bearer realm="rongtong"'})
    if len(request.headers.get("If-Match", "")) > MAX_IF_MATCH:  # as documented: an ETag is 66 characters
        return problem(400, _("If-Match is too long: send the ETag you read (at most %(limit)s characters).",
                              limit=MAX_IF_MATCH), field="If-Match")
    if request.method == "POST":
        return _replay_or_claim()
    return None


def _after(response: Response) -> Response:
    return keep_answer(conditional_get(response))


def caller() -> Caller:
    """The token and person of this call."""
    return g.api_caller


def actor():
    """The user the call acts as (the token's administrator)."""
    return g.api_caller.user


def scope(name: str) -> Callable:
    """Refuse (403) a call whose token lacks ``name``; the scope is written into the operation's document."""

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if name not in g.api_caller.scopes:
                return problem(403, _("This token lacks the permission %(scope)s.", scope=name), kind="scope")
            return view(*args, **kwargs)

        doc = getattr(wrapper, "_apidoc", {})
        manual = doc.setdefault("manual_doc", {})
        manual["security"] = [{"bearerAuth": []}]
        manual["x-required-scope"] = name
        wrapper._apidoc = doc
        return wrapper

    return decorate


# ----------------------------------------------------------------------------- fields


class Int(ma.fields.Integer):
    """An integer that is really one: no strings, booleans or fractions in a JSON body (``5.0`` is 5, as JSON
    Schema's integer says)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("strict", True)
        super().__init__(**kwargs)

    def _validated(self, value):
        if isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        if isinstance(value, float):
            if not value.is_integer():
                raise self.make_error("invalid", input=value)
            value = int(value)
        return super()._validated(value)


class Bool(ma.fields.Boolean):
    """true or false, nothing else (not 0 or 1, which equal False and True in Python's sets)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if value is True or value is False:
            return value
        raise self.make_error("invalid", input=value)


class QueryInt(ma.fields.Integer):
    """An integer in the query string (given as text there)."""

    def _validated(self, value):
        if isinstance(value, str) and not value.strip().lstrip("-").isdigit():
            raise self.make_error("invalid", input=value)
        return super()._validated(value)


class Schema(ma.Schema):
    """Our schemas refuse unknown fields (a typo is an error, never silently dropped), and the text they
    load loses the characters no one types on purpose (``inputs.clean_text``: NUL, other controls, bidi
    overrides) — after validation, so a limit applies to what the caller sent."""

    class Meta:
        unknown = ma.RAISE

    @ma.post_load
    def _clean_text(self, data, **_kwargs):
        return _cleaned(data)


def _cleaned(value):
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {key: _cleaned(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_cleaned(item) for item in value]
    return value


def version_field(what: str) -> Int:
    """An optional ``version`` for optimistic locking: the object's version the caller read (409 when stale)."""
    return Int(load_default=None, allow_none=True, validate=ma.validate.Range(min=1, max=MAX_ID),
               metadata={"description": f"The {what}'s version you read; 409 when it changed since."})


@contextmanager
def renamed_fields(names: dict[str, str]) -> Iterator[None]:
    """Say a service's refusal with the API's field names (the services name the pages' form fields:
    ``unit_price`` → ``unit_price_fen`` …)."""
    try:
        yield
    except ValidationFailed as error:
        if error.field in names:
            error.field = names[error.field]
        raise


# ----------------------------------------------------------------------------- cursor pages


class PageArgs(Schema):
    """``limit`` (1–100, default 20) and the ``cursor`` of the previous page's ``next_cursor``."""

    limit = QueryInt(load_default=20, validate=ma.validate.Range(min=1, max=100),
                     metadata={"description": "How many items (1-100)."})
    cursor = ma.fields.String(load_default=None, validate=ma.validate.Length(min=1, max=200),
                              metadata={"description": "next_cursor of the previous page."})


def encode_cursor(position: dict) -> str:
    """An opaque cursor for ``position``."""
    raw = std_json.dumps(position, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, keys: tuple[str, ...]) -> dict | None:
    """The position in ``cursor`` (None for the first page); a cursor we did not make is a 422."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        position = std_json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        if isinstance(position, dict) and set(position) == set(keys) and all(
                isinstance(position[k], int) and not isinstance(position[k], bool) and 0 <= position[k] < 2**62
                for k in keys):
            return position
    except (ValueError, UnicodeError, binascii.Error):
        pass
    webargs_abort(422, messages={"query": {"cursor": [_("This cursor is not valid; start from the first page.")]}})


def keyset_page(statement, id_column, args: dict, descending: bool = True) -> tuple[list, str | None]:
    """One page of ``statement`` ordered by ``id_column`` (newest first by default) and the next cursor."""
    position = decode_cursor(args.get("cursor"), ("after",))
    limit = args["limit"]
    if position:
        statement = statement.where(id_column < position["after"] if descending else id_column > position["after"])
    statement = statement.order_by(id_column.desc() if descending else id_column.asc()).limit(limit + 1)
    rows = list(db.session.scalars(statement).unique())
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor({"after": rows[-1].id}) if more and rows else None
    return rows, next_cursor


def offset_page(args: dict) -> tuple[int, int]:
    """(offset, limit) for ranked lists (search), whose cursor is a position in the ranking."""
    position = decode_cursor(args.get("cursor"), ("offset",))
    return (position["offset"] if position else 0), args["limit"]


def page_schema(item_schema: type[ma.Schema], name: str) -> type[ma.Schema]:
    """The schema of a page of ``item_schema``: ``{"items": [...], "next_cursor": "…" | null}``."""
    return type(name, (ma.Schema,), {
        "items": ma.fields.List(ma.fields.Nested(item_schema), required=True),
        "next_cursor": ma.fields.String(allow_none=True, required=True,
                                        metadata={"description": "Pass as cursor for the next page; null on the last."}),
    })


# ----------------------------------------------------------------------------- ETag and If-Match


def etag_of(payload) -> str:
    """The ETag a GET of ``payload`` carries (the same bytes as the response body)."""
    response = jsonify(payload)
    response.add_etag()
    return response.get_etag()[0]


def check_if_match(current_payload, schema: ma.Schema | type[ma.Schema] | None = None) -> None:
    """412 when the caller's ``If-Match`` names another version of the object than ``current_payload``.

    Pass the response ``schema`` of the object's GET (or a payload already dumped by it): the ETag is of the
    body the GET sends, and only the schema writes dates and times as that body does.
    """
    if not request.headers.get("If-Match"):
        return
    if request.if_match.star_tag:
        return
    if schema is not None:
        current_payload = (schema() if isinstance(schema, type) else schema).dump(current_payload)
    if not request.if_match.contains(etag_of(current_payload)):
        abort(412)


def conditional_get(response: Response) -> Response:
    """ETag every successful GET of the API and answer ``If-None-Match`` with 304."""
    if request.method in ("GET", "HEAD") and response.status_code == 200 and response.is_json:
        response.add_etag()
        response.headers["Cache-Control"] = "private, no-cache"
        response.vary.update(("Authorization", "Accept-Language"))  # what the body depends on besides the URL
        response.make_conditional(request)
    return response


# ----------------------------------------------------------------------------- Idempotency-Key


def _fingerprint() -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode() + b" " + request.path.encode() + b"?" + request.query_string + b"\n")
    digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def idempotency_key() -> str | None:
    """This POST's key as the services' 64-character idempotency key (namespaced by the company)."""
    key = getattr(g, "api_idempotency_key", None)
    if key is None:
        return None
    return hashlib.sha256(f"api:{g.api_caller.company_id}:{key}".encode()).hexdigest()


def _replay_or_claim():
    key = (request.headers.get("Idempotency-Key") or "").strip()
    if not key or len(key) > 200 or not key.isprintable() or not key.isascii():
        return problem(400, _("Every POST needs an Idempotency-Key header: 1-200 printable ASCII characters, "
                              "new for each operation."), field="Idempotency-Key", kind="idempotency")
    g.api_idempotency_key = key
    g.api_fingerprint = _fingerprint()
    since = utcnow() - timedelta(hours=current_app.config["API_IDEMPOTENCY_HOURS"])
    kept = db.session.scalar(sa.select(IdempotentAnswer).where(
        IdempotentAnswer.company_id == g.api_caller.company_id, IdempotentAnswer.key == key,
        IdempotentAnswer.created_at >= since))
    db.session.commit()  # end the read: the service begins its own transaction
    if kept is None:
        return None
    if kept.fingerprint != g.api_fingerprint:
        return problem(422, _("This Idempotency-Key was used for another request; use a new key."),
                       field="Idempotency-Key", kind="idempotency")
    response = current_app.response_class(kept.body, status=kept.status_code, headers=kept.headers)
    response.headers["Idempotent-Replayed"] = "true"
    g.api_replayed = True
    return response


def keep_answer(response: Response) -> Response:
    """Keep a POST's first 2xx answer for its key (a failed call may be retried with the same key)."""
    if (request.method != "POST" or getattr(g, "api_replayed", False) or not 200 <= response.status_code < 300
            or getattr(g, "api_idempotency_key", None) is None or response.is_streamed):
        return response
    headers = {name: value for name, value in response.headers.items()
               if name in ("Content-Type", "Location", "ETag")}
    try:
        db.session.rollback()
        since = utcnow() - timedelta(hours=current_app.config["API_IDEMPOTENCY_HOURS"])
        db.session.query(IdempotentAnswer).filter(  # an expired answer under the same key makes way
            IdempotentAnswer.company_id == g.api_caller.company_id, IdempotentAnswer.key == g.api_idempotency_key,
            IdempotentAnswer.created_at < since,
        ).delete(synchronize_session=False)
        db.session.add(IdempotentAnswer(
            company_id=g.api_caller.company_id, key=g.api_idempotency_key, fingerprint=g.api_fingerprint,
            status_code=response.status_code, body=response.get_data(as_text=True), headers=headers))
        db.session.commit()
    except sa.exc.SQLAlchemyError:
        # another call with the same key kept its answer first; ours stands as it is
        db.session.rollback()
        logger.info("idempotent answer not kept (a concurrent call kept one)")
    return response


def forget_old_answers(now=None) -> int:
    """Delete kept answers older than the replay window (a periodic job)."""
    since = (now or utcnow()) - timedelta(hours=current_app.config["API_IDEMPOTENCY_HOURS"])
    deleted = db.session.query(IdempotentAnswer).filter(IdempotentAnswer.created_at < since).delete(
        synchronize_session=False)
    db.session.commit()
    return deleted
