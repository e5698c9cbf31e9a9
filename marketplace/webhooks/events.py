"""The webhook event catalogue, and ``emit``: queueing an event in the caller's transaction (the outbox).

Owns: the event names a company may subscribe to (with their labels for pages) and the payload shape::

    {"id": "<uuid4 of the delivery>", "type": "intent.created", "created_at": "2026-12-06T08:00:00Z",
     "data": {...ids and states only...}}

``emit(company_id, event, data)`` adds one pending ``WebhookDelivery`` per active endpoint of the company
subscribed to ``event`` to ``db.session`` and never commits: the rows are written with the change they
report, or not at all when that transaction rolls back. A company without endpoints costs one indexed
query per transaction (the endpoints read are cached on the session for the current transaction).
"""
from __future__ import annotations

import json
import uuid
import weakref
from datetime import UTC, datetime

import sqlalchemy as sa

from marketplace.database import utcnow
from marketplace.extensions import db
from marketplace.i18n import _l
from marketplace.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

#: every event a company may subscribe to, in the order pages list them
EVENTS = {
    "intent.created": _l("Order intent created"),
    "intent.transitioned": _l("Order intent changed state"),
    "quote.created": _l("Quote received on your request"),
    "quote.revised": _l("Quote revised"),
    "match.created": _l("New match"),
    "request.closed": _l("Procurement request closed or expired"),
    "import.finished": _l("Spreadsheet import finished"),
}
#: the test event ("send test event"); delivered whatever the endpoint subscribed to, never subscribable
PING = "ping"

_CACHE_KEY = "webhook_endpoints"


def event_label(event: str):
    """The label of an event for pages (the name itself when unknown)."""
    if event == PING:
        return _l("Test event")
    return EVENTS.get(event, event)


def isoformat(moment: datetime) -> str:
    """A UTC timestamp as the payload writes it: 2026-12-06T08:00:00Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_payload(delivery_uuid: str, event: str, data: dict, now: datetime | None = None) -> str:
    """The JSON body of an event (compact, keys sorted, UTF-8 kept as it is)."""
    body = {"id": delivery_uuid, "type": event, "created_at": isoformat(now or utcnow()), "data": data}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True, default=str)


def new_delivery(endpoint_id: int, event: str, data: dict, now: datetime | None = None) -> WebhookDelivery:
    """A pending delivery of a new event to one endpoint (added to the session, not committed)."""
    now = now or utcnow()
    delivery_uuid = str(uuid.uuid4())
    delivery = WebhookDelivery(endpoint_id=endpoint_id, uuid=delivery_uuid, event=event,
                               payload=build_payload(delivery_uuid, event, data, now),
                               status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=now, created_at=now)
    db.session.add(delivery)
    return delivery


def _endpoints_of(company_id: int) -> list[tuple[int, list]]:
    """(id, events) of the company's active endpoints, read once per transaction of the session."""
    session = db.session()
    cached = session.info.get(_CACHE_KEY)
    transaction = session.get_transaction()
    if cached is not None and transaction is not None and cached[0]() is transaction:
        found = cached[1].get(company_id)
        if found is not None:
            return found
    # no autoflush: emitting must not flush the caller's pending changes early (an intent's version bump
    # would happen before the caller computed the version its event records)
    with session.no_autoflush:
        rows = [(endpoint_id, list(events or [])) for endpoint_id, events in session.execute(
            sa.select(WebhookEndpoint.id, WebhookEndpoint.events)
            .where(WebhookEndpoint.company_id == company_id, WebhookEndpoint.active.is_(True))
            .order_by(WebhookEndpoint.id))]
    transaction = session.get_transaction()
    if transaction is not None:
        if cached is None or cached[0]() is not transaction:
            cached = (weakref.ref(transaction), {})
            session.info[_CACHE_KEY] = cached
        cached[1][company_id] = rows
    return rows


def forget_endpoints() -> None:
    """Drop the per-transaction cache (after an endpoint is added, changed or removed)."""
    db.session().info.pop(_CACHE_KEY, None)


def emit(company_id: int, event: str, data: dict) -> int:
    """Queue ``event`` for every active endpoint of the company subscribed to it; returns how many.

    Adds to ``db.session`` only (no commit): the caller's commit writes the deliveries with its change.
    ``data`` is small: ids and states, nothing private of the other company.
    """
    if event not in EVENTS:
        raise ValueError(f"unknown webhook event {event!r}")
    if company_id is None:
        return 0
    subscribed = [endpoint_id for endpoint_id, events in _endpoints_of(company_id) if event in events]
    now = utcnow()
    for endpoint_id in subscribed:
        new_delivery(endpoint_id, event, data, now)
    return len(subscribed)


def subscribed_companies(event: str) -> set[int]:
    """The companies with an active endpoint subscribed to ``event`` (batch emitters skip the rest early)."""
    rows = db.session.execute(sa.select(WebhookEndpoint.company_id, WebhookEndpoint.events)
                              .where(WebhookEndpoint.active.is_(True)))
    return {company_id for company_id, events in rows if event in (events or [])}
