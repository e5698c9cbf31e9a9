"""Sending webhook deliveries: signing, claiming due rows, one POST each, retries with backoff, disabling.

Owns: ``deliver_due`` (the ``webhook-deliveries`` job, every minute), ``sign`` / ``verify`` (the
``Rongtong-Signature`` header, for receivers and tests) and the SSRF-guarded HTTP session.

- **Claiming.** A short transaction picks due pending rows of active endpoints (``FOR UPDATE SKIP LOCKED``
  on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` makes claims one at a time) and moves their
  ``next_attempt_at`` past the time the batch may take (a lease), then commits. No transaction is open
  during the HTTP calls; a worker that dies mid-batch leaves its rows to be claimed again when the lease ends.
  Two workers never send the same row at once.
- **One attempt.** The URL is checked again (``ssrf.check_url``: DNS may have changed; with the guard on,
  the address actually connected is checked too), then one POST: ``allow_redirects=False`` (a 3xx is a
  failure, never followed), timeouts ``WEBHOOK_TIMEOUT`` (connect, read), no proxies from the environment.
  2xx is a success and resets the endpoint's ``consecutive_failures``.
- **Failure.** ``attempts += 1``; the next attempt ``min(2 ** (attempts - 1) minutes, 6 h)`` later while
  the delivery is younger than 24 h, else it is ``failed`` (given up). After ``WEBHOOK_DISABLE_AFTER``
  consecutive failed attempts the endpoint is disabled and its company's administrators are notified.
- **Robust.** One bad endpoint never stops the loop: every error is logged and recorded on its row.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import requests
import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from marketplace.accounts.models import Role, User
from marketplace.database import utcnow
from marketplace.errors import ValidationFailed
from marketplace.extensions import db
from marketplace.i18n import _l
from marketplace.webhooks import ssrf
from marketplace.webhooks.models import (
    DISABLED_FAILURES,
    ERROR_MAX,
    DeliveryStatus,
    WebhookDelivery,
    WebhookEndpoint,
)

logger = logging.getLogger(__name__)

USER_AGENT = "Rongtong-Webhooks/1"
#: retries stop this long after the delivery was queued
RETRY_WINDOW = timedelta(hours=24)
#: the longest wait between two attempts
MAX_BACKOFF = timedelta(hours=6)
#: rows claimed per transaction (the lease covers this many slow attempts)
CLAIM_BATCH = 10
DEFAULT_TIMEOUT = (3.0, 5.0)
DEFAULT_DISABLE_AFTER = 20
NOTIFY_KIND = "webhook_disabled"
#: the roles told when an endpoint is disabled (``User.is_company_admin``)
ADMIN_ROLES = (Role.COMPANY_ADMIN, Role.ORGANIZER, Role.PLATFORM_ADMIN)


# ----------------------------------------------------------------------------- signatures


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Rongtong-Signature`` header: ``t=<unix ts>,v1=<hex HMAC-SHA256(secret, b"<ts>." + body)>``."""
    digest = hmac.new(secret.encode("utf-8"), f"{int(timestamp)}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={int(timestamp)},v1={digest}"


def verify(secret: str, header: str | None, body: bytes, tolerance: int = 300, now: float | None = None) -> bool:
    """Whether ``header`` is a valid signature of ``body`` made within ``tolerance`` seconds of now."""
    if not header:
        return False
    timestamp, signatures = None, []
    for item in header.split(","):
        key, _sep, value = item.strip().partition("=")
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                return False
        elif key == "v1":
            signatures.append(value)
    if timestamp is None or not signatures:
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return any(hmac.compare_digest(expected, candidate) for candidate in signatures)


# ----------------------------------------------------------------------------- the HTTP session


class AddressRefused(OSError):
    """The socket connected to an address the SSRF guard refuses (DNS changed after the check)."""


class _GuardedConnectionMixin:
    def _new_conn(self):
        sock = super()._new_conn()
        try:
            address = sock.getpeername()[0]
        except OSError:
            address = ""
        reason = ssrf.forbidden_address(address)
        if reason is not None:
            sock.close()
            raise AddressRefused(f"address refused: {self.host} connected to {address} ({reason})")
        return sock


class _GuardedHTTPConnection(_GuardedConnectionMixin, HTTPConnection):
    pass


class _GuardedHTTPSConnection(_GuardedConnectionMixin, HTTPSConnection):
    pass


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class _GuardedAdapter(HTTPAdapter):
    """Refuses, at connect time, a socket whose peer is not a public address."""

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _GuardedHTTPPool, "https": _GuardedHTTPSPool}


def _http_session(allow_private: bool) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no HTTP(S)_PROXY or .netrc from the environment
    if not allow_private:
        adapter = _GuardedAdapter(max_retries=0)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
    return session


# ----------------------------------------------------------------------------- settings


def _timeout() -> tuple[float, float]:
    value = current_app.config.get("WEBHOOK_TIMEOUT", DEFAULT_TIMEOUT)
    if isinstance(value, (int, float)):
        return (float(value), float(value))
    if isinstance(value, str):
        parts = [float(p) for p in value.split(",") if p.strip()]
        return (parts[0], parts[-1])
    connect, read = value
    return (float(connect), float(read))


def read_timeout() -> float:
    """Seconds a receiver has to answer (for pages)."""
    return _timeout()[1]


def disable_after() -> int:
    """Consecutive failed attempts after which an endpoint is disabled (``WEBHOOK_DISABLE_AFTER``)."""
    return max(1, int(current_app.config.get("WEBHOOK_DISABLE_AFTER", DEFAULT_DISABLE_AFTER)))


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: 1, 2, 4 … minutes, at most 6 h."""
    exponent = min(max(attempts - 1, 0), 20)
    return min(timedelta(minutes=2 ** exponent), MAX_BACKOFF)


# ----------------------------------------------------------------------------- claiming


@dataclass(frozen=True)
class _Claimed:
    id: int
    uuid: str
    event: str
    payload: str
    endpoint_id: int
    url: str
    secret: str


def _claim(limit: int, now: datetime, lease: timedelta) -> list[_Claimed]:
    """Take up to ``limit`` due rows for this worker (their next attempt moved to ``now + lease``); commits."""
    try:
        ids = list(db.session.scalars(
            sa.select(WebhookDelivery.id)
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .where(WebhookDelivery.status == DeliveryStatus.PENDING, WebhookDelivery.next_attempt_at <= now,
                   WebhookEndpoint.active.is_(True))
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=WebhookDelivery)))
        if not ids:
            db.session.rollback()
            return []
        db.session.execute(sa.update(WebhookDelivery).where(WebhookDelivery.id.in_(ids))
                           .values(next_attempt_at=now + lease))
        rows = db.session.execute(
            sa.select(WebhookDelivery.id, WebhookDelivery.uuid, WebhookDelivery.event, WebhookDelivery.payload,
                      WebhookEndpoint.id, WebhookEndpoint.url, WebhookEndpoint.secret)
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .where(WebhookDelivery.id.in_(ids)).order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)).all()
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    order = {delivery_id: position for position, delivery_id in enumerate(ids)}
    return sorted((_Claimed(*row) for row in rows), key=lambda c: order[c.id])


# ----------------------------------------------------------------------------- one attempt


@dataclass(frozen=True)
class _Outcome:
    ok: bool
    status_code: int | None = None
    error: str | None = None


def _find(error: BaseException, cls: type) -> BaseException | None:
    """``error`` or one of its causes (exception chain, urllib3's ``reason``) of type ``cls``."""
    seen = set()
    stack = [error]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, cls):
            return current
        stack.extend([current.__cause__, current.__context__, getattr(current, "reason", None),
                      *(arg for arg in getattr(current, "args", ()) if isinstance(arg, BaseException))])
    return None


def _post(session: requests.Session, claimed: _Claimed, timeout: tuple[float, float]) -> _Outcome:
    body = claimed.payload.encode("utf-8")
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Rongtong-Event": claimed.event,
        "Rongtong-Delivery": claimed.uuid,
        "Rongtong-Signature": sign(claimed.secret, int(time.time()), body),
    }
    try:
        response = session.post(claimed.url, data=body, headers=headers, timeout=timeout, allow_redirects=False,
                                stream=True)
    except requests.Timeout as error:
        kind = "connect" if isinstance(error, requests.ConnectTimeout) else "read"
        return _Outcome(False, None, f"timed out ({kind} timeout {timeout[0 if kind == 'connect' else 1]:g} s)")
    except requests.RequestException as error:
        refused = _find(error, AddressRefused)
        if refused is not None:
            return _Outcome(False, None, str(refused))
        return _Outcome(False, None, f"{type(error).__name__}: {error}")
    try:
        code = response.status_code
    finally:
        response.close()  # the answer's body is never read
    if 200 <= code < 300:
        return _Outcome(True, code)
    if 300 <= code < 400:
        return _Outcome(False, code, f"HTTP {code}: redirect not followed")
    return _Outcome(False, code, f"HTTP {code}")


def _attempt(session: requests.Session, claimed: _Claimed, allow_private: bool,
             timeout: tuple[float, float]) -> _Outcome:
    try:
        ssrf.check_url(claimed.url, allow_private)
    except ValidationFailed as error:
        with force_locale("en"):
            return _Outcome(False, None, f"address refused: {error.message}")
    return _post(session, claimed, timeout)


def _record(claimed: _Claimed, outcome: _Outcome, now: datetime, failures_allowed: int) -> bool:
    """Write the attempt's result on its row and its endpoint (one transaction); True when it disabled the endpoint."""
    delivery = db.session.get(WebhookDelivery, claimed.id, populate_existing=True)
    if delivery is None:  # the endpoint was deleted meanwhile
        db.session.rollback()
        return False
    delivery.attempts = (delivery.attempts or 0) + 1
    delivery.last_attempt_at = now
    delivery.last_status_code = outcome.status_code
    if outcome.ok:
        delivery.status = DeliveryStatus.SUCCEEDED
        delivery.delivered_at = now
        delivery.next_attempt_at = None
        delivery.last_error = None
        db.session.execute(sa.update(WebhookEndpoint).where(WebhookEndpoint.id == claimed.endpoint_id,
                                                            WebhookEndpoint.consecutive_failures != 0)
                           .values(consecutive_failures=0))
        db.session.commit()
        return False
    delivery.last_error = (outcome.error or "failed")[:ERROR_MAX]
    if now - delivery.created_at < RETRY_WINDOW:
        delivery.next_attempt_at = now + backoff(delivery.attempts)
    else:
        delivery.status = DeliveryStatus.FAILED
        delivery.next_attempt_at = None
    # an atomic increment: two workers failing on one endpoint count twice
    db.session.execute(sa.update(WebhookEndpoint).where(WebhookEndpoint.id == claimed.endpoint_id)
                       .values(consecutive_failures=WebhookEndpoint.consecutive_failures + 1))
    failures = db.session.scalar(sa.select(WebhookEndpoint.consecutive_failures)
                                 .where(WebhookEndpoint.id == claimed.endpoint_id)) or 0
    disabled = failures >= failures_allowed and _disable(claimed.endpoint_id, failures, now)
    db.session.commit()
    return disabled


def _release(delivery_id: int, now: datetime) -> None:
    """Give back a claimed row without an attempt (its endpoint was just disabled): due again when enabled."""
    db.session.execute(sa.update(WebhookDelivery).where(WebhookDelivery.id == delivery_id,
                                                        WebhookDelivery.status == DeliveryStatus.PENDING)
                       .values(next_attempt_at=now))
    db.session.commit()


def _disable(endpoint_id: int, failures: int, now: datetime) -> bool:
    """Disable the endpoint (once: True then) and tell its company's administrators; in the caller's transaction."""
    disabled = db.session.execute(
        sa.update(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.active.is_(True))
        .values(active=False, disabled_at=now, disabled_reason=DISABLED_FAILURES)).rowcount
    if not disabled:
        return False
    endpoint = db.session.get(WebhookEndpoint, endpoint_id, populate_existing=True)
    logger.warning("webhook endpoint %s of company %s disabled after %s failed attempts", endpoint_id,
                   endpoint.company_id, failures)
    from marketplace.notifications.services import notify_company, notify_user

    subject = _l("Webhook disabled: %(url)s", url=endpoint.url)
    body = _l("Rongtong stopped sending events to %(url)s after %(count)s failed attempts in a row. Check the "
              "delivery log, fix the receiver, then enable the endpoint again; failed events can be delivered "
              "again from the log.", url=endpoint.url, count=failures)
    link = f"/developers/webhooks/{endpoint_id}/deliveries"
    admins = list(db.session.scalars(sa.select(User.id).where(
        User.company_id == endpoint.company_id, User.active.is_(True), User.role.in_(ADMIN_ROLES))
        .order_by(User.id)))
    if not admins:
        notify_company(endpoint.company_id, NOTIFY_KIND, subject, body, link=link)
    for user_id in admins:
        notify_user(user_id, NOTIFY_KIND, subject, body, link=link)
    return True


# ----------------------------------------------------------------------------- the loop


def deliver_due(limit: int = 100, now: datetime | None = None) -> int:
    """Send up to ``limit`` due webhook deliveries (one attempt each); returns how many were attempted."""
    clock = (lambda: now) if now is not None else utcnow
    allow_private = bool(current_app.config.get("WEBHOOK_ALLOW_PRIVATE", False))
    timeout = _timeout()
    failures_allowed = disable_after()
    lease = timedelta(seconds=CLAIM_BATCH * (timeout[0] + timeout[1] + 2) + 60)
    attempted = 0
    disabled: set[int] = set()
    session = _http_session(allow_private)
    try:
        while attempted < limit:
            batch = _claim(min(CLAIM_BATCH, limit - attempted), clock(), lease)
            if not batch:
                break
            for claimed in batch:
                if claimed.endpoint_id in disabled:
                    try:
                        _release(claimed.id, clock())
                    except Exception:  # the lease ends anyway
                        db.session.rollback()
                        logger.exception("could not give back webhook delivery %s", claimed.id)
                    continue
                attempted += 1
                try:
                    outcome = _attempt(session, claimed, allow_private, timeout)
                except Exception as error:  # a bug or an odd URL: recorded, the loop carries on
                    logger.exception("webhook delivery %s to endpoint %s failed unexpectedly", claimed.id,
                                     claimed.endpoint_id)
                    outcome = _Outcome(False, None, f"error: {type(error).__name__}")
                try:
                    if _record(claimed, outcome, clock(), failures_allowed):
                        disabled.add(claimed.endpoint_id)
                except Exception:
                    db.session.rollback()
                    logger.exception("could not record webhook delivery %s; it is retried after its lease",
                                     claimed.id)
                if not outcome.ok:
                    logger.info("webhook delivery %s (%s) to endpoint %s failed: %s", claimed.id, claimed.event,
                                claimed.endpoint_id, outcome.error)
    finally:
        session.close()
    if attempted:
        logger.debug("webhook deliveries: %s attempted", attempted)
    return attempted
