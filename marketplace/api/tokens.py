"""API tokens: create (shown once), list, revoke, and the bearer check of every API call.

Owns: every write to ``api_tokens``. Only a company administrator manages its company's tokens; a
token acts as the administrator who made it, narrowed to its scopes, and stops working when that
person leaves the company, is deactivated or loses the administrator role.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from marketplace.accounts.models import User
from marketplace.api.models import SCOPES, ApiToken
from marketplace.database import utcnow
from marketplace.errors import NotFound, PermissionDenied, ValidationFailed
from marketplace.extensions import db
from marketplace.i18n import _

TOKEN_PREFIX = "rt_"  # noqa: S105 (what every token starts with, not a secret)
MAX_TOKENS = 20
#: expiry choices of the form, in days (None: never)
EXPIRY_DAYS = (30, 90, 365, None)
#: "last used" is written at most this often per token (a GET stays a read-only transaction otherwise)
TOUCH_EVERY = timedelta(minutes=5)


def hash_token(raw: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _require_admin(actor: User) -> None:
    if not (actor.is_authenticated and actor.is_company_admin and actor.company_id):
        raise PermissionDenied(_("Only a company administrator can manage API tokens."))


def list_tokens(actor: User) -> list[ApiToken]:
    """The company's tokens, newest first (revoked ones too, marked)."""
    _require_admin(actor)
    return list(db.session.scalars(
        sa.select(ApiToken).where(ApiToken.company_id == actor.company_id).order_by(ApiToken.id.desc())
    ))


def create_token(actor: User, name: str | None, scopes: list[str], expires_in_days: int | None,
                 now: datetime | None = None) -> tuple[ApiToken, str]:
    """Make a token; returns it and the secret value, which is never shown again."""
    _require_admin(actor)
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("Give the token a name (which system uses it)."), field="name")
    if len(name) > 80:
        raise ValidationFailed(_("The name is at most %(num)d characters.", num=80), field="name")
    chosen = [scope for scope in SCOPES if scope in set(scopes or [])]
    if not chosen or len(chosen) != len(set(scopes)):
        raise ValidationFailed(_("Choose at least one permission."), field="scopes")
    if expires_in_days not in EXPIRY_DAYS:
        raise ValidationFailed(_("Choose when the token expires."), field="expires_in_days")
    live = db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken).where(
        ApiToken.company_id == actor.company_id, ApiToken.revoked_at.is_(None)))
    if live >= MAX_TOKENS:
        raise ValidationFailed(_("A company has at most %(num)d tokens; revoke one first.", num=MAX_TOKENS))
    now = now or utcnow()
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        company_id=actor.company_id, created_by_id=actor.id, name=name, prefix=raw[:10],
        token_hash=hash_token(raw), scopes=chosen, created_at=now,
        expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    db.session.add(token)
    db.session.commit()
    return token, raw


def revoke_token(actor: User, token_id: int, now: datetime | None = None) -> ApiToken:
    """Stop a token at once (its calls answer 401 from now on)."""
    _require_admin(actor)
    token = db.session.get(ApiToken, token_id)
    if token is None or token.company_id != actor.company_id:
        raise NotFound(_("This token does not exist."))
    if token.revoked_at is None:
        token.revoked_at = now or utcnow()
        db.session.commit()
    return token


@dataclass(frozen=True)
class Caller:
    """Who makes an API call: the token and the person it acts as."""

    token_id: int
    company_id: int
    user: User
    scopes: frozenset[str]


class Unauthenticated(Exception):
    """No usable token: ``reason`` says which way it failed (missing, unknown, revoked, expired)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def authenticate(header: str | None, now: datetime | None = None) -> Caller:
    """The caller of an ``Authorization: Bearer …`` header, or ``Unauthenticated``."""
    scheme, _sep, raw = (header or "").strip().partition(" ")
    raw = raw.strip()
    if scheme.lower() != "bearer" or not raw:
        raise Unauthenticated("missing")
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 100:
        raise Unauthenticated("unknown")
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == hash_token(raw)))
    if token is None:
        raise Unauthenticated("unknown")
    now = now or utcnow()
    if token.revoked_at is not None:
        raise Unauthenticated("revoked")
    if token.expires_at is not None and token.expires_at <= now:
        raise Unauthenticated("expired")
    user = token.created_by
    if not (user.is_active and user.company_id == token.company_id and user.is_company_admin):
        raise Unauthenticated("revoked")
    caller = Caller(token.id, token.company_id, user, frozenset(token.scopes or ()))
    if token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY:
        _touch(token.id, now)
    return caller


def _touch(token_id: int, now: datetime) -> None:
    """Record "last used" in its own short transaction (best effort: a busy database skips it)."""
    db.session.commit()  # end the read so the UPDATE starts a transaction of its own
    try:
        db.session.execute(sa.update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))
        db.session.commit()
    except sa.exc.OperationalError:
        db.session.rollback()
