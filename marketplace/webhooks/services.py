"""Webhook services: every write a company makes to its endpoints, and the reads behind the pages.

Owns: creating an endpoint (its secret returned once), changing, enabling (which resets the failure
count), rolling the secret, deleting, the endpoint list with each one's last delivery, an endpoint's
delivery log, manual redelivery and the test event.

- **Who.** Only a company administrator (``User.is_company_admin``) manages the company's endpoints;
  another company's endpoint or delivery is a 404 (no hint that it exists).
- **Rules.** At most ``MAX_ENDPOINTS`` per company; the URL at most ``URL_MAX`` characters and passing
  ``ssrf.check_url`` (https, no credentials, public addresses only unless ``WEBHOOK_ALLOW_PRIVATE``);
  at least one event, all from ``events.EVENTS``.
- **Redelivery** adds a *new* pending delivery with the same body (the payload's ``id`` stays the
  event's, so receivers can recognise a repeat; the ``Rongtong-Delivery`` header is new); the old row
  stays in the log as it was. Its 24 h retry window starts again.
"""
from __future__ import annotations

import logging
import secrets
import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app

from marketplace.accounts.models import Company, User
from marketplace.database import utcnow
from marketplace.errors import NotFound, PermissionDenied, ValidationFailed
from marketplace.extensions import db
from marketplace.i18n import _l
from marketplace.inputs import page_number
from marketplace.webhooks import ssrf
from marketplace.webhooks.events import EVENTS, PING, forget_endpoints, new_delivery
from marketplace.webhooks.models import (
    DESCRIPTION_MAX,
    DISABLED_MANUALLY,
    URL_MAX,
    DeliveryStatus,
    WebhookDelivery,
    WebhookEndpoint,
)

logger = logging.getLogger(__name__)

MAX_ENDPOINTS = 10
PER_PAGE = 25
SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)


# ----------------------------------------------------------------------------- access


def require_manager(actor: User) -> int:
    """The actor's company id when the actor may manage its webhooks; PermissionDenied otherwise."""
    if not getattr(actor, "is_authenticated", False):
        raise PermissionDenied(_l("Please log in."))
    if not actor.is_company_admin:
        raise PermissionDenied(_l("Only a company administrator can manage webhooks."))
    return actor.company_id


def _endpoint_not_found() -> NotFound:
    return NotFound(_l("This webhook endpoint does not exist."))


def get_endpoint(actor: User, endpoint_id: int) -> WebhookEndpoint:
    """One of the actor's company's endpoints; NotFound for anyone else's."""
    company_id = require_manager(actor)
    endpoint = db.session.get(WebhookEndpoint, endpoint_id, populate_existing=True)
    if endpoint is None or endpoint.company_id != company_id:
        raise _endpoint_not_found()
    return endpoint


def _get_delivery(actor: User, delivery_id: int) -> WebhookDelivery:
    company_id = require_manager(actor)
    delivery = db.session.scalar(
        sa.select(WebhookDelivery).join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(WebhookDelivery.id == delivery_id, WebhookEndpoint.company_id == company_id))
    if delivery is None:
        raise NotFound(_l("This delivery does not exist."))
    return delivery


# ----------------------------------------------------------------------------- input


def _allow_private() -> bool:
    return bool(current_app.config.get("WEBHOOK_ALLOW_PRIVATE", False))


def check_url(url: str | None) -> str:
    """The URL stripped, when a webhook may be sent to it; ValidationFailed on ``url`` otherwise."""
    url = (url or "").strip()
    if not url:
        raise ValidationFailed(_l("Enter the address that receives the events."), "url")
    if len(url) > URL_MAX:
        raise ValidationFailed(_l("The address is too long (at most %(limit)s characters).", limit=URL_MAX), "url")
    ssrf.check_url(url, _allow_private())
    return url


def check_events(events) -> list[str]:
    """The chosen events in catalogue order; at least one, all known."""
    chosen = {str(event) for event in (events or [])}
    if not chosen:
        raise ValidationFailed(_l("Choose at least one event."), "events")
    unknown = chosen - set(EVENTS)
    if unknown:
        raise ValidationFailed(_l("Unknown event: %(event)s.", event=", ".join(sorted(unknown))[:100]), "events")
    return [event for event in EVENTS if event in chosen]


def _check_description(description: str | None) -> str | None:
    text = " ".join((description or "").split())
    if len(text) > DESCRIPTION_MAX:
        raise ValidationFailed(_l("The description is too long (at most %(limit)s characters).",
                                  limit=DESCRIPTION_MAX), "description")
    return text or None


def _new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


# ----------------------------------------------------------------------------- endpoints


def create_endpoint(actor: User, url: str | None, events, description: str | None = None
                    ) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint for the actor's company; returns it and its secret (shown this once)."""
    company_id = require_manager(actor)
    url = check_url(url)
    chosen = check_events(events)
    text = _check_description(description)
    try:
        # one company's creations one at a time (PostgreSQL; SQLite's writers already are), so the cap holds
        db.session.execute(sa.select(Company.id).where(Company.id == company_id).with_for_update())
        count = db.session.scalar(sa.select(sa.func.count()).select_from(WebhookEndpoint)
                                  .where(WebhookEndpoint.company_id == company_id)) or 0
        if count >= MAX_ENDPOINTS:
            raise ValidationFailed(_l("A company can have at most %(limit)s webhook endpoints. Delete one you no "
                                      "longer use first.", limit=MAX_ENDPOINTS))
        secret = _new_secret()
        endpoint = WebhookEndpoint(company_id=company_id, url=url, description=text, events=chosen, secret=secret,
                                   active=True, consecutive_failures=0, created_by_id=actor.id, created_at=utcnow())
        db.session.add(endpoint)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    forget_endpoints()
    logger.info("webhook endpoint %s created by user %s (company %s)", endpoint.id, actor.id, company_id)
    return endpoint, secret


def update_endpoint(actor: User, endpoint_id: int, url: str | None, events, description: str | None,
                    active: bool) -> WebhookEndpoint:
    """Change an endpoint's address, events, description, or switch it on or off (on again: failures reset)."""
    endpoint = get_endpoint(actor, endpoint_id)
    url = check_url(url)
    chosen = check_events(events)
    text = _check_description(description)
    endpoint.url, endpoint.events, endpoint.description = url, chosen, text
    if active and not endpoint.active:
        endpoint.active = True
        endpoint.consecutive_failures = 0
        endpoint.disabled_at = None
        endpoint.disabled_reason = None
    elif not active and endpoint.active:
        endpoint.active = False
        endpoint.disabled_at = utcnow()
        endpoint.disabled_reason = DISABLED_MANUALLY
    db.session.commit()
    forget_endpoints()
    logger.info("webhook endpoint %s changed by user %s (active: %s)", endpoint.id, actor.id, endpoint.active)
    return endpoint


def roll_secret(actor: User, endpoint_id: int) -> tuple[WebhookEndpoint, str]:
    """Replace the endpoint's signing secret; returns the new one (shown this once). The old one stops at once."""
    endpoint = get_endpoint(actor, endpoint_id)
    secret = _new_secret()
    endpoint.secret = secret
    db.session.commit()
    logger.info("webhook endpoint %s: secret rolled by user %s", endpoint.id, actor.id)
    return endpoint, secret


def delete_endpoint(actor: User, endpoint_id: int) -> None:
    """Delete the endpoint and its delivery log."""
    endpoint = get_endpoint(actor, endpoint_id)
    db.session.execute(sa.delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id))
    db.session.delete(endpoint)
    db.session.commit()
    forget_endpoints()
    logger.info("webhook endpoint %s deleted by user %s", endpoint_id, actor.id)


@dataclass
class EndpointRow:
    """An endpoint on the list page, with its latest delivery (None before the first)."""

    endpoint: WebhookEndpoint
    last_delivery: WebhookDelivery | None


def list_endpoints(actor: User) -> list[EndpointRow]:
    """The company's endpoints, oldest first, each with its latest delivery."""
    company_id = require_manager(actor)
    endpoints = list(db.session.scalars(sa.select(WebhookEndpoint).where(WebhookEndpoint.company_id == company_id)
                                        .order_by(WebhookEndpoint.id)))
    latest = {}
    if endpoints:
        newest = (sa.select(sa.func.max(WebhookDelivery.id))
                  .where(WebhookDelivery.endpoint_id.in_([e.id for e in endpoints]))
                  .group_by(WebhookDelivery.endpoint_id))
        latest = {d.endpoint_id: d for d in db.session.scalars(
            sa.select(WebhookDelivery).where(WebhookDelivery.id.in_(newest)))}
    return [EndpointRow(endpoint, latest.get(endpoint.id)) for endpoint in endpoints]


def list_deliveries(actor: User, endpoint_id: int, page=1):
    """(endpoint, a page of its deliveries newest first)."""
    endpoint = get_endpoint(actor, endpoint_id)
    query = (sa.select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
             .order_by(WebhookDelivery.id.desc()))
    return endpoint, db.paginate(query, page=page_number(page), per_page=PER_PAGE, error_out=False, count=True)


# ----------------------------------------------------------------------------- deliveries


def redeliver(actor: User, delivery_id: int) -> WebhookDelivery:
    """Queue the delivery's body again as a new pending delivery (the old one stays in the log)."""
    original = _get_delivery(actor, delivery_id)
    now = utcnow()
    copy = WebhookDelivery(endpoint_id=original.endpoint_id, uuid=str(uuid.uuid4()), event=original.event,
                           payload=original.payload, status=DeliveryStatus.PENDING, attempts=0,
                           next_attempt_at=now, created_at=now, redelivery_of_id=original.id)
    db.session.add(copy)
    db.session.commit()
    logger.info("webhook delivery %s queued again as %s by user %s", original.id, copy.id, actor.id)
    return copy


def send_test(actor: User, endpoint_id: int) -> WebhookDelivery:
    """Queue a ``ping`` event for the endpoint (whatever it subscribed to)."""
    endpoint = get_endpoint(actor, endpoint_id)
    delivery = new_delivery(endpoint.id, PING, {"endpoint_id": endpoint.id,
                                                "message": "Test event from Rongtong: your endpoint is reachable."})
    db.session.commit()
    logger.info("webhook endpoint %s: test event queued by user %s", endpoint.id, actor.id)
    return delivery
