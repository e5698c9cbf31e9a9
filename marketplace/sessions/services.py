"""Matchmaking-session services: every write to sessions, hosts and registrations, and who may do it.

Owns: creating and editing a session (checked input, optimistic locking on ``version``), its status
moves (``SESSION_RULES``), registration with a capacity and a waiting list (the session row is
locked: ``FOR UPDATE`` on PostgreSQL, SQLite's ``BEGIN IMMEDIATE`` serialises writers already, so
two companies taking the last place at once cannot both get it), approval, refusal with a reason,
cancellation (which promotes the oldest waitlisted registration), invitations, and check-in by the
registration's secret token. Raises marketplace.errors; a service that raises has written nothing.
Notifies the company (message ids and arguments: each reader sees them in their own language).

Who: organizers (``Role.ORGANIZER`` in an organizer company) run their own company's sessions;
platform administrators run every session; companies register themselves. Reads for pages live in
``queries``; the hosts' demand list in ``demand``.
"""
from __future__ import annotations

import enum
import logging
import re
import secrets
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

from marketplace.accounts.models import Company, CompanyKind, Role, User, Verification
from marketplace.accounts.validation import validate_region
from marketplace.catalog.categories import CATEGORY_BY_CODE
from marketplace.database import utcnow
from marketplace.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from marketplace.extensions import db
from marketplace.i18n import CHINA, _l
from marketplace.imports.cells import clean_text
from marketplace.notifications.services import notify_company
from marketplace.sessions.models import (
    MatchmakingSession,
    ParticipantRole,
    RegistrationStatus,
    SessionFocus,
    SessionHost,
    SessionRegistration,
    SessionStatus,
)
from marketplace.urls import site_path

logger = logging.getLogger(__name__)

NOTIFY_KIND = "sessions"
MAX_TITLE = 200
MAX_DESCRIPTION = 10_000
MAX_INDUSTRY = 100
MAX_CLUSTER = 100
MAX_VENUE = 200
MAX_URL = 500
MAX_CAPACITY = 10_000
MAX_TABLES = 500
MIN_SLOT_MINUTES = 5
MAX_SLOT_MINUTES = 240
MAX_HOSTS = 20
MAX_DAYS = 14
MAX_YEARS_AHEAD = 2
MAX_ATTENDEE = 100
MAX_PHONE = 30
MAX_NOTE = 2000
MAX_REASON = 1000
#: a check-in token as ``secrets.token_urlsafe(32)`` makes it (43 characters); the short code is its start
TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
SHORT_CODE_LENGTH = 8
SHORT_CODE = re.compile(r"^[A-Za-z0-9_-]{8}$")


# --------------------------------------------------------------------------- rule tables


@dataclass(frozen=True)
class StatusRule:
    """One allowed move of a session's status (the organizer's button)."""

    source: SessionStatus
    target: SessionStatus
    verb: object


_S = SessionStatus
SESSION_RULES: tuple[StatusRule, ...] = (
    StatusRule(_S.PREPARING, _S.REGISTRATION, _l("Open registration")),
    StatusRule(_S.REGISTRATION, _S.RUNNING, _l("Start the session")),
    StatusRule(_S.RUNNING, _S.FINISHED, _l("Finish the session")),
    StatusRule(_S.PREPARING, _S.CANCELLED, _l("Cancel the session")),
    StatusRule(_S.REGISTRATION, _S.CANCELLED, _l("Cancel the session")),
)
_SESSION_RULES = {(rule.source, rule.target): rule for rule in SESSION_RULES}
#: companies register themselves only while registration is open
REGISTERING_STATUSES = frozenset({_S.REGISTRATION})
#: the organizer invites while preparing and while registration is open
INVITING_STATUSES = frozenset({_S.PREPARING, _S.REGISTRATION})
#: registrations are decided, cancelled and promoted until the session is over
DECIDING_STATUSES = frozenset({_S.PREPARING, _S.REGISTRATION, _S.RUNNING})
#: the session's details may be changed until it is over
EDITABLE_STATUSES = DECIDING_STATUSES
#: companies check in on the day
CHECKIN_STATUSES = frozenset({_S.REGISTRATION, _S.RUNNING})
#: anyone may see a session in these statuses; the others only its organizer, hosts and registrants
PUBLIC_STATUSES = frozenset({_S.REGISTRATION, _S.RUNNING, _S.FINISHED})


def find_status_rule(source: SessionStatus, target: SessionStatus) -> StatusRule | None:
    """The rule moving a session from ``source`` to ``target``, or None."""
    return _SESSION_RULES.get((source, target))


def status_moves(status: SessionStatus) -> list[StatusRule]:
    """The status buttons the organizer has on a session in ``status``."""
    return [rule for rule in SESSION_RULES if rule.source is status]


class RegistrationAction(enum.Enum):
    """What the organizer (or the company, cancelling) does to a registration."""

    APPROVE = "approve"
    REFUSE = "refuse"
    CANCEL = "cancel"

    @property
    def label(self):
        return {RegistrationAction.APPROVE: _l("Approve"), RegistrationAction.REFUSE: _l("Refuse"),
                RegistrationAction.CANCEL: _l("Cancel the registration")}[self]


_R = RegistrationStatus
REGISTRATION_RULES: dict[tuple[RegistrationAction, RegistrationStatus], RegistrationStatus] = {
    (RegistrationAction.APPROVE, _R.PENDING): _R.APPROVED,
    (RegistrationAction.APPROVE, _R.WAITLISTED): _R.APPROVED,  # when a place is free
    (RegistrationAction.REFUSE, _R.PENDING): _R.REFUSED,
    (RegistrationAction.REFUSE, _R.WAITLISTED): _R.REFUSED,
    (RegistrationAction.CANCEL, _R.PENDING): _R.CANCELLED,
    (RegistrationAction.CANCEL, _R.APPROVED): _R.CANCELLED,
    (RegistrationAction.CANCEL, _R.WAITLISTED): _R.CANCELLED,
}
#: registrations a company may register again from (the row is reused: one per company and session)
REREGISTER_FROM = frozenset({_R.CANCELLED})


def registration_actions(status: RegistrationStatus) -> list[RegistrationAction]:
    """The organizer's buttons on a registration in ``status``."""
    return [action for action in RegistrationAction if (action, status) in REGISTRATION_RULES]


# --------------------------------------------------------------------------- who


def _authenticated(actor) -> bool:
    return bool(getattr(actor, "is_authenticated", False))


def is_organizer(actor) -> bool:
    """An organizer of an organizer company, or a platform administrator."""
    if not _authenticated(actor):
        return False
    if actor.role is Role.PLATFORM_ADMIN:
        return True
    return actor.role is Role.ORGANIZER and actor.company.kind is CompanyKind.ORGANIZER


def require_organizer(actor) -> Company:
    """The actor's (organizer) company; PermissionDenied for everyone else."""
    if not _authenticated(actor):
        raise PermissionDenied(_l("Please log in."))
    if not is_organizer(actor):
        raise PermissionDenied(_l("Only organizers run matchmaking sessions."))
    return actor.company


def manages(actor, session: MatchmakingSession) -> bool:
    """Whether the actor runs this session: its organizer company's organizers, and platform administrators."""
    if not is_organizer(actor):
        return False
    return actor.role is Role.PLATFORM_ADMIN or session.organizer_company_id == actor.company_id


def session_not_found() -> NotFound:
    return NotFound(_l("This matchmaking session does not exist."))


def registration_not_found() -> NotFound:
    return NotFound(_l("This registration does not exist."))


def get_managed_session(actor, session_id: int) -> MatchmakingSession:
    """A session the actor runs; NotFound for another organizer's session (or none), as if it did not exist."""
    session = db.session.get(MatchmakingSession, session_id, populate_existing=True)
    if session is None or not manages(actor, session):
        raise session_not_found()
    return session


def participant_role(company: Company) -> ParticipantRole | None:
    """The side a company takes at a session: exporters as exporters, buyer kinds as buyers, organizers none."""
    if company.kind is CompanyKind.EXPORTER:
        return ParticipantRole.EXPORTER
    if company.kind.is_buyer:
        return ParticipantRole.BUYER
    return None


def is_host(company_id: int | None, session: MatchmakingSession) -> bool:
    return company_id is not None and any(host.company_id == company_id for host in session.hosts)


def can_view_session(viewer, session: MatchmakingSession) -> bool:
    """Open, running and finished sessions are public; otherwise its organizer, hosts and registrants only."""
    if session.status in PUBLIC_STATUSES:
        return True
    if not _authenticated(viewer):
        return False
    if manages(viewer, session) or is_host(viewer.company_id, session):
        return True
    return db.session.scalar(sa.select(sa.exists().where(
        SessionRegistration.session_id == session.id, SessionRegistration.company_id == viewer.company_id))) or False


def get_visible_session(viewer, session_id: int) -> MatchmakingSession:
    """The session as its detail page shows it; NotFound when the viewer may not see it."""
    session = db.session.get(MatchmakingSession, session_id)
    if session is None or not can_view_session(viewer, session):
        raise session_not_found()
    return session


# --------------------------------------------------------------------------- input


@dataclass(frozen=True)
class SessionInput:
    """What an organizer writes about a session; times are timezone-aware (the form reads them in Asia/Shanghai)."""

    title: str
    starts_at: datetime | None
    ends_at: datetime | None
    province_code: str
    city_code: str | None
    venue: str | None = None
    online_url: str | None = None
    description: str | None = None
    industry: str | None = None
    cluster: str | None = None
    category: str | None = None
    capacity: int | None = 100
    tables: int | None = 10
    slot_minutes: int | None = 20
    focus: SessionFocus = SessionFocus.NONE
    host_company_ids: tuple[int, ...] = ()


def china_time(naive: datetime | None) -> datetime | None:
    """A wall-clock time typed in Asia/Shanghai as an aware UTC datetime (None stays None)."""
    if naive is None:
        return None
    return naive.replace(tzinfo=CHINA).astimezone(UTC)


def local_time(value: datetime | None) -> datetime | None:
    """A stored UTC time as the naive Asia/Shanghai wall-clock time a form shows."""
    return None if value is None else value.astimezone(CHINA).replace(tzinfo=None)


def _text(value: str | None, limit: int, field_name: str, multiline: bool = False) -> str | None:
    text = clean_text(value or "", multiline)
    if len(text) > limit:
        raise ValidationFailed(_l("Use at most %(max)d characters (this has %(n)d).", max=limit, n=len(text)),
                               field_name)
    return text or None


def _whole(value, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def check_online_url(value: str | None) -> str | None:
    """An http(s) address with a host, or None when empty; ValidationFailed otherwise."""
    text = (value or "").strip()
    if not text:
        return None
    if len(text) > MAX_URL:
        raise ValidationFailed(_l("The online link is too long (at most %(limit)s characters).", limit=MAX_URL),
                               "online_url")
    try:
        parts = urlsplit(text)
    except ValueError:
        parts = None
    if (parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname
            or any(ch.isspace() for ch in text)):
        raise ValidationFailed(_l("The online link must be a web address starting with http:// or https://."),
                               "online_url")
    return text


def check_session_input(data: SessionInput, creating: bool = True, now: datetime | None = None) -> SessionInput:
    """Refuse a session out of range (the field named); returns it cleaned (hosts deduplicated)."""
    now = now or utcnow()
    title = _text(data.title, MAX_TITLE, "title")
    if not title:
        raise ValidationFailed(_l("Give the session a title."), "title")
    description = _text(data.description, MAX_DESCRIPTION, "description", multiline=True)
    industry = _text(data.industry, MAX_INDUSTRY, "industry")
    cluster = _text(data.cluster, MAX_CLUSTER, "cluster")
    category = data.category or None
    if category is not None and category not in CATEGORY_BY_CODE:
        raise ValidationFailed(_l("Choose a category from the list."), "category")
    validate_region(data.province_code, data.city_code)
    for name, value in (("starts_at", data.starts_at), ("ends_at", data.ends_at)):
        if value is None:
            raise ValidationFailed(_l("Give the date and time."), name)
        if value.tzinfo is None:
            raise ValidationFailed(_l("The time has no time zone."), name)
    starts_at, ends_at = data.starts_at.astimezone(UTC), data.ends_at.astimezone(UTC)
    if ends_at <= starts_at:
        raise ValidationFailed(_l("The session must end after it starts."), "ends_at")
    if ends_at - starts_at > timedelta(days=MAX_DAYS):
        raise ValidationFailed(_l("A session can last at most %(days)s days.", days=MAX_DAYS), "ends_at")
    if creating and starts_at < now:
        raise ValidationFailed(_l("The start has already passed: choose a later time."), "starts_at")
    if starts_at > now + timedelta(days=366 * MAX_YEARS_AHEAD):
        raise ValidationFailed(_l("The session can start at most two years from now."), "starts_at")
    venue = _text(data.venue, MAX_VENUE, "venue")
    online_url = check_online_url(data.online_url)
    if not venue and not online_url:
        raise ValidationFailed(_l("Give a venue, an online link, or both."), "venue")
    if not _whole(data.capacity, 1, MAX_CAPACITY):
        raise ValidationFailed(_l("The capacity must be a whole number from 1 to %(limit)s.", limit=MAX_CAPACITY),
                               "capacity")
    if not _whole(data.tables, 1, MAX_TABLES):
        raise ValidationFailed(_l("The number of tables must be a whole number from 1 to %(limit)s.",
                                  limit=MAX_TABLES), "tables")
    if not _whole(data.slot_minutes, MIN_SLOT_MINUTES, MAX_SLOT_MINUTES):
        raise ValidationFailed(_l("A meeting slot lasts from %(low)s to %(high)s minutes.", low=MIN_SLOT_MINUTES,
                                  high=MAX_SLOT_MINUTES), "slot_minutes")
    if not isinstance(data.focus, SessionFocus):
        raise ValidationFailed(_l("Choose a focus from the list."), "focus")
    hosts = tuple(dict.fromkeys(data.host_company_ids))
    if len(hosts) > MAX_HOSTS:
        raise ValidationFailed(_l("Choose at most %(limit)s host companies.", limit=MAX_HOSTS), "hosts")
    if hosts:
        found = set(db.session.scalars(sa.select(Company.id).where(
            Company.id.in_(hosts), Company.kind.in_([kind for kind in CompanyKind if kind.is_buyer]),
            Company.verification == Verification.VERIFIED)))
        if found != set(hosts):
            raise ValidationFailed(_l("Hosts must be verified buyer companies (chain leaders, leading enterprises, "
                                      "retailers, trade-circulation firms)."), "hosts")
    return replace(data, title=title, description=description, industry=industry, cluster=cluster,
                   category=category, starts_at=starts_at, ends_at=ends_at, venue=venue, online_url=online_url,
                   host_company_ids=hosts)


def _apply(session: MatchmakingSession, data: SessionInput) -> None:
    session.title = data.title
    session.description = data.description
    session.industry = data.industry
    session.cluster = data.cluster
    session.category = data.category
    session.province_code = data.province_code
    session.city_code = data.city_code
    session.starts_at = data.starts_at
    session.ends_at = data.ends_at
    session.venue = data.venue
    session.online_url = data.online_url
    session.capacity = data.capacity
    session.tables = data.tables
    session.slot_minutes = data.slot_minutes
    session.focus = data.focus
    wanted = list(data.host_company_ids)
    for host in list(session.hosts):
        if host.company_id not in wanted:
            session.hosts.remove(host)
    present = {host.company_id for host in session.hosts}
    for company_id in wanted:
        if company_id not in present:
            session.hosts.append(SessionHost(company_id=company_id, created_at=utcnow()))


# --------------------------------------------------------------------------- sessions


def _changed(session: MatchmakingSession | None) -> Conflict:
    status = session.status.label if session is not None else ""
    return Conflict(_l("This session has changed since you opened it (it is now “%(status)s”). Here is its new "
                       "state; check it and try again.", status=status))


def _commit(session_id: int | None = None) -> None:
    """Commit; a lost race (stale version, duplicate) becomes a Conflict with nothing written."""
    try:
        db.session.commit()
    except (StaleDataError, IntegrityError, OperationalError) as error:
        db.session.rollback()
        logger.info("session %s: a change lost a race (%s)", session_id, type(error).__name__)
        fresh = db.session.get(MatchmakingSession, session_id, populate_existing=True) if session_id else None
        raise _changed(fresh) from None
    except Exception:
        db.session.rollback()
        raise


def _deliver() -> None:
    from marketplace.deals.services import _deliver as deliver

    deliver()


def _session_link(session: MatchmakingSession) -> str:
    return site_path("sessions.detail", session_id=session.id)


def create_session(actor: User, data: SessionInput) -> MatchmakingSession:
    """An organizer's new session, in preparation; its hosts are verified buyer companies."""
    company = require_organizer(actor)
    data = check_session_input(data, creating=True)
    now = utcnow()
    try:
        session = MatchmakingSession(organizer_company_id=company.id, created_by_id=actor.id,
                                     status=SessionStatus.PREPARING, created_at=now, updated_at=now)
        _apply(session, data)
        db.session.add(session)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    logger.info("matchmaking session %s created by user %s", session.id, actor.id)
    return session


def _lock_session(session_id: int) -> MatchmakingSession | None:
    """The session row, locked until the commit (PostgreSQL ``FOR UPDATE``; SQLite already holds the write lock)."""
    return db.session.execute(
        sa.select(MatchmakingSession).where(MatchmakingSession.id == session_id).with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()


def _managed_locked(actor, session_id: int) -> MatchmakingSession:
    require_organizer(actor)
    session = _lock_session(session_id)
    if session is None or not manages(actor, session):
        db.session.rollback()
        raise session_not_found()
    return session


def _check_version(session: MatchmakingSession, expected_version: int | None) -> None:
    if expected_version is not None and session.version != expected_version:
        db.session.rollback()
        raise _changed(session)


def update_session(actor: User, session_id: int, data: SessionInput, expected_version: int | None
                   ) -> MatchmakingSession:
    """Change a session until it is over; a raised capacity promotes waitlisted companies, a lower one may not
    drop below the places already held."""
    data = check_session_input(data, creating=False)
    session = _managed_locked(actor, session_id)
    try:
        _check_version(session, expected_version)
        if session.status not in EDITABLE_STATUSES:
            raise ValidationFailed(_l("A session that is “%(status)s” can no longer be changed.",
                                      status=session.status.label))
        held = held_places(session.id)
        if data.capacity < held:
            raise ValidationFailed(_l("%(held)s companies already hold a place: the capacity cannot be lower.",
                                      held=held), "capacity")
        _apply(session, data)
        session.updated_at = utcnow()
        db.session.flush()
        _fill_free_places(session)
    except Exception:
        db.session.rollback()
        raise
    _commit(session_id)
    _deliver()
    logger.info("matchmaking session %s edited by user %s", session.id, actor.id)
    return session


def change_session_status(actor: User, session_id: int, target: SessionStatus, expected_version: int | None
                          ) -> MatchmakingSession:
    """Move a session along ``SESSION_RULES``; cancelling tells every registered company."""
    session = _managed_locked(actor, session_id)
    try:
        _check_version(session, expected_version)
        if find_status_rule(session.status, target) is None:
            raise ValidationFailed(_l("A session that is “%(status)s” cannot become “%(target)s”.",
                                      status=session.status.label, target=target.label))
        session.status = target
        session.updated_at = utcnow()
        if target is SessionStatus.CANCELLED:
            live = db.session.scalars(sa.select(SessionRegistration.company_id).where(
                SessionRegistration.session_id == session.id,
                SessionRegistration.status.in_([_R.PENDING, _R.APPROVED, _R.WAITLISTED]),
            ).order_by(SessionRegistration.id))
            for company_id in live:
                _notify(company_id, session, _l("Session cancelled: “%(title)s”", title=session.title),
                        _l("The organizer has cancelled the matchmaking session “%(title)s”.", title=session.title))
    except Exception:
        db.session.rollback()
        raise
    _commit(session_id)
    _deliver()
    logger.info("matchmaking session %s → %s by user %s", session.id, target.value, actor.id)
    return session


# --------------------------------------------------------------------------- registrations


@dataclass(frozen=True)
class AttendeeInput:
    """Who attends for the company, and a note to the organizer."""

    attendee_name: str | None = None
    attendee_phone: str | None = None
    note: str | None = None


def check_attendee(data: AttendeeInput) -> AttendeeInput:
    name = _text(data.attendee_name, MAX_ATTENDEE, "attendee_name")
    if not name:
        raise ValidationFailed(_l("Give the name of who attends."), "attendee_name")
    phone = _text(data.attendee_phone, MAX_PHONE, "attendee_phone")
    if phone and not re.fullmatch(r"[0-9+\-() ]{5,30}", phone):
        raise ValidationFailed(_l("Write the phone number with digits only (+, -, spaces and brackets allowed)."),
                               "attendee_phone")
    note = _text(data.note, MAX_NOTE, "note", multiline=True)
    return AttendeeInput(name, phone, note)


def held_places(session_id: int) -> int:
    """Registrations holding a place (awaiting approval or approved)."""
    return db.session.scalar(sa.select(sa.func.count(SessionRegistration.id)).where(
        SessionRegistration.session_id == session_id,
        SessionRegistration.status.in_([s for s in RegistrationStatus if s.holds_place]))) or 0


def _notify(company_id: int, session: MatchmakingSession, subject, body) -> None:
    notify_company(company_id, NOTIFY_KIND, subject, body, link=_session_link(session))


def _new_token() -> str:
    return secrets.token_urlsafe(32)


def _already_registered(registration: SessionRegistration) -> ValidationFailed:
    return ValidationFailed(_l("Your company has already registered for this session (“%(status)s”).",
                               status=registration.status.label))


def register_for_session(actor: User, session_id: int, data: AttendeeInput) -> SessionRegistration:
    """The actor's company registers (once): awaiting approval while places are left, else on the waiting list."""
    if not _authenticated(actor):
        raise PermissionDenied(_l("Please log in."))
    company = actor.company
    role = participant_role(company)
    if role is None:
        raise PermissionDenied(_l("Exporters and buyer companies register for sessions; organizers run them."))
    if not company.is_verified:
        raise PermissionDenied(_l("Your company must be verified before it can register for a session."))
    data = check_attendee(data)
    session = _lock_session(session_id)
    try:
        if session is None or not can_view_session(actor, session):
            raise session_not_found()
        if session.status not in REGISTERING_STATUSES:
            raise ValidationFailed(_l("Registration is not open: the session is “%(status)s”.",
                                      status=session.status.label))
        existing = db.session.scalar(sa.select(SessionRegistration).where(
            SessionRegistration.session_id == session.id, SessionRegistration.company_id == company.id))
        if existing is not None and existing.status not in REREGISTER_FROM:
            raise _already_registered(existing)
        status = _R.PENDING if held_places(session.id) < session.capacity else _R.WAITLISTED
        now = utcnow()
        registration = existing or SessionRegistration(session_id=session.id, company_id=company.id,
                                                       checkin_token=_new_token())
        registration.role = role
        registration.status = status
        registration.invited = False
        registration.attendee_name, registration.attendee_phone = data.attendee_name, data.attendee_phone
        registration.note = data.note
        registration.refusal_reason = None
        registration.created_by_id = actor.id
        registration.created_at = now  # a returning company queues again from now
        registration.decided_by_id = registration.decided_at = None
        db.session.add(registration)
        db.session.flush()
    except IntegrityError:
        # the same company registering twice at once: the other request made the row
        db.session.rollback()
        raise Conflict(_l("Your company has already registered for this session.")) from None
    except Exception:
        db.session.rollback()
        raise
    _commit(session_id)
    logger.info("company %s registered for session %s: %s", company.id, session_id, status.value)
    return registration


def invite_company(actor: User, session_id: int, company_id: int) -> SessionRegistration:
    """The organizer gives a company an approved place (marked invited), while places are left."""
    session = _managed_locked(actor, session_id)
    try:
        if session.status not in INVITING_STATUSES:
            raise ValidationFailed(_l("Invitations are sent while the session is being prepared or open for "
                                      "registration; it is “%(status)s”.", status=session.status.label))
        company = db.session.get(Company, company_id)
        role = participant_role(company) if company is not None else None
        if company is None or role is None or not company.is_verified:
            raise ValidationFailed(_l("Only verified exporters and buyer companies can be invited."), "company")
        existing = db.session.scalar(sa.select(SessionRegistration).where(
            SessionRegistration.session_id == session.id, SessionRegistration.company_id == company.id))
        if existing is not None and existing.status not in (_R.CANCELLED, _R.REFUSED):
            raise ValidationFailed(_l("%(company)s has already registered (“%(status)s”): decide on its registration "
                                      "instead.", company=company.name_zh, status=existing.status.label), "company")
        if held_places(session.id) >= session.capacity:
            raise ValidationFailed(_l("The session is full (%(capacity)s places): raise the capacity or cancel a "
                                      "registration first.", capacity=session.capacity), "company")
        now = utcnow()
        registration = existing or SessionRegistration(session_id=session.id, company_id=company.id,
                                                       checkin_token=_new_token())
        registration.role = role
        registration.status = _R.APPROVED
        registration.invited = True
        registration.refusal_reason = None
        registration.created_by_id = actor.id
        registration.created_at = now
        registration.decided_by_id, registration.decided_at = actor.id, now
        db.session.add(registration)
        db.session.flush()
        _notify(company.id, session, _l("You are invited: “%(title)s”", title=session.title),
                _l("The organizer has invited your company to the matchmaking session “%(title)s” (%(when)s); your "
                   "place is confirmed.", title=session.title, when=_when(session)))
    except Exception:
        db.session.rollback()
        raise
    _commit(session_id)
    _deliver()
    logger.info("company %s invited to session %s by user %s", company_id, session_id, actor.id)
    return registration


def _when(session: MatchmakingSession) -> str:
    return session.starts_at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


def _fill_free_places(session: MatchmakingSession) -> list[SessionRegistration]:
    """Promote the oldest waitlisted registrations to "awaiting approval" while places are free (no commit)."""
    if session.status not in DECIDING_STATUSES:
        return []
    free = session.capacity - held_places(session.id)
    if free <= 0:
        return []
    waiting = list(db.session.scalars(sa.select(SessionRegistration).where(
        SessionRegistration.session_id == session.id, SessionRegistration.status == _R.WAITLISTED,
    ).order_by(SessionRegistration.created_at, SessionRegistration.id).limit(free)))
    for registration in waiting:
        registration.status = _R.PENDING
        _notify(registration.company_id, session,
                _l("A place is free for you: “%(title)s”", title=session.title),
                _l("A place has come free at the matchmaking session “%(title)s”: your company is off the waiting "
                   "list and awaits the organizer's approval.", title=session.title))
        logger.info("registration %s promoted from the waiting list of session %s", registration.id, session.id)
    return waiting


def _load_registration(session: MatchmakingSession, registration_id: int) -> SessionRegistration:
    registration = db.session.get(SessionRegistration, registration_id, populate_existing=True)
    if registration is None or registration.session_id != session.id:
        raise registration_not_found()
    return registration


def decide_registration(actor: User, session_id: int, registration_id: int, action: RegistrationAction,
                        expected_version: int | None, reason: str | None = None) -> SessionRegistration:
    """The organizer approves, refuses (with a reason the company sees) or cancels a registration; a freed place
    goes to the oldest waitlisted registration."""
    session = _managed_locked(actor, session_id)
    try:
        registration = _load_registration(session, registration_id)
        if expected_version is not None and registration.version != expected_version:
            raise _registration_changed(registration)
        reason = _text(reason, MAX_REASON, "reason", multiline=True)
        target = _step(session, registration, action)
        if action is RegistrationAction.REFUSE and not reason:
            raise ValidationFailed(_l("Give the reason for refusing; the company will see it."), "reason")
        if action is RegistrationAction.APPROVE and not registration.status.holds_place \
                and held_places(session.id) >= session.capacity:
            raise ValidationFailed(_l("The session is full (%(capacity)s places): raise the capacity or cancel a "
                                      "registration first.", capacity=session.capacity))
        now = utcnow()
        registration.status = target
        registration.decided_by_id, registration.decided_at = actor.id, now
        if action is RegistrationAction.APPROVE:
            _notify(registration.company_id, session,
                    _l("Registration approved: “%(title)s”", title=session.title),
                    _l("Your company's place at the matchmaking session “%(title)s” (%(when)s) is confirmed. Show "
                       "the QR code of your registration at the entrance.", title=session.title, when=_when(session)))
        elif action is RegistrationAction.REFUSE:
            registration.refusal_reason = reason
            _notify(registration.company_id, session,
                    _l("Registration refused: “%(title)s”", title=session.title),
                    _l("The organizer refused your company's registration for “%(title)s”. Reason: %(reason)s",
                       title=session.title, reason=reason[:500]))
        else:
            _notify(registration.company_id, session,
                    _l("Registration cancelled: “%(title)s”", title=session.title),
                    _l("The organizer cancelled your company's registration for the matchmaking session "
                       "“%(title)s”.", title=session.title))
        db.session.flush()
        _fill_free_places(session)
    except Exception:
        db.session.rollback()
        raise
    _commit_registration(registration_id)
    _deliver()
    logger.info("registration %s of session %s: %s by user %s", registration_id, session_id, action.value, actor.id)
    return registration


def _step(session: MatchmakingSession, registration: SessionRegistration, action: RegistrationAction
          ) -> RegistrationStatus:
    if session.status not in DECIDING_STATUSES:
        raise ValidationFailed(_l("The session is “%(status)s”: its registrations can no longer change.",
                                  status=session.status.label))
    target = REGISTRATION_RULES.get((action, registration.status))
    if target is None:
        raise ValidationFailed(_l("“%(action)s” is not possible while the registration is “%(status)s”.",
                                  action=action.label, status=registration.status.label))
    if action is RegistrationAction.CANCEL and registration.checked_in_at is not None:
        raise ValidationFailed(_l("This company has already checked in: its registration can no longer be "
                                  "cancelled."))
    return target


def _registration_changed(registration: SessionRegistration | None) -> Conflict:
    status = registration.status.label if registration is not None else ""
    return Conflict(_l("This registration has changed since you opened the page (it is now “%(status)s”). Check it "
                       "and try again.", status=status))


def _commit_registration(registration_id: int) -> None:
    try:
        db.session.commit()
    except (StaleDataError, IntegrityError, OperationalError) as error:
        db.session.rollback()
        logger.info("registration %s: a change lost a race (%s)", registration_id, type(error).__name__)
        raise _registration_changed(db.session.get(SessionRegistration, registration_id,
                                                   populate_existing=True)) from None
    except Exception:
        db.session.rollback()
        raise


def cancel_own_registration(actor: User, session_id: int, expected_version: int | None = None
                            ) -> SessionRegistration:
    """The company withdraws its registration; a freed place goes to the oldest waitlisted registration."""
    if not _authenticated(actor):
        raise PermissionDenied(_l("Please log in."))
    session = _lock_session(session_id)
    try:
        registration = db.session.scalar(sa.select(SessionRegistration).where(
            SessionRegistration.session_id == session_id, SessionRegistration.company_id == actor.company_id
        ).execution_options(populate_existing=True)) if session is not None else None
        if registration is None:
            raise registration_not_found()
        if expected_version is not None and registration.version != expected_version:
            raise _registration_changed(registration)
        registration.status = _step(session, registration, RegistrationAction.CANCEL)
        registration.decided_by_id, registration.decided_at = actor.id, utcnow()
        db.session.flush()
        _fill_free_places(session)
    except Exception:
        db.session.rollback()
        raise
    _commit_registration(registration.id)
    _deliver()
    logger.info("company %s cancelled its registration for session %s", actor.company_id, session_id)
    return registration


# --------------------------------------------------------------------------- check-in


@dataclass(frozen=True)
class CheckIn:
    """The outcome of a scan: the registration, and whether it had checked in before (at ``checked_in_at``)."""

    registration: SessionRegistration
    already: bool


def short_code(token: str) -> str:
    """The first characters of a check-in token: what a badge prints for typing in by hand."""
    return token[:SHORT_CODE_LENGTH]


def parse_checkin_code(text: str | None) -> str | None:
    """A token, or a short code, from what was typed or scanned (a whole check-in URL too); None if neither."""
    value = (text or "").strip()
    if "/check-in/" in value:
        value = value.rsplit("/check-in/", 1)[1].split("?")[0].split("#")[0].strip("/")
    value = re.sub(r"\s+", "", value)  # a short code is printed in two groups: "AbCd EfGh"
    return value if TOKEN.fullmatch(value) or SHORT_CODE.fullmatch(value) else None


def _find_by_code(session: MatchmakingSession, code: str) -> SessionRegistration | None:
    query = sa.select(SessionRegistration).where(SessionRegistration.session_id == session.id)
    if len(code) > SHORT_CODE_LENGTH:
        return db.session.scalar(query.where(SessionRegistration.checkin_token == code))
    found = list(db.session.scalars(query.where(
        sa.func.substr(SessionRegistration.checkin_token, 1, SHORT_CODE_LENGTH) == code).limit(2)))
    return found[0] if len(found) == 1 else None


def find_registration_by_code(actor: User, session_id: int, code: str | None
                              ) -> tuple[MatchmakingSession, SessionRegistration]:
    """The organizer's session and its registration with this code; NotFound for a code of another session."""
    session = get_managed_session(actor, session_id)
    token = parse_checkin_code(code)
    registration = _find_by_code(session, token) if token else None
    if registration is None:
        raise NotFound(_l("No registration of this session has this code."))
    return session, registration


def check_in(actor: User, session_id: int, code: str | None) -> CheckIn:
    """Mark the registration with this code (token, short code or check-in URL) checked in, once.

    Only the session's organizers; only approved registrations; a code of another session is not found.
    A second scan changes nothing and says when the first one was.
    """
    session, registration = find_registration_by_code(actor, session_id, code)
    if registration.status is not _R.APPROVED:
        raise ValidationFailed(_l("Only approved registrations can check in: this one is “%(status)s”.",
                                  status=registration.status.label))
    if session.status not in CHECKIN_STATUSES:
        raise ValidationFailed(_l("Check-in is open while the session is open for registration or in progress; it is "
                                  "“%(status)s”.", status=session.status.label))
    if registration.checked_in_at is not None:
        return CheckIn(registration, True)
    # one UPDATE guarded by "not yet": of two scans at once, exactly one sets the time
    result = db.session.execute(
        sa.update(SessionRegistration)
        .where(SessionRegistration.id == registration.id, SessionRegistration.checked_in_at.is_(None))
        .values(checked_in_at=utcnow(), version=SessionRegistration.version + 1),
        execution_options={"synchronize_session": False},
    )
    won = bool(result.rowcount)
    try:
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    registration = db.session.get(SessionRegistration, registration.id, populate_existing=True)
    if not won:
        return CheckIn(registration, True)
    logger.info("registration %s checked in at session %s by user %s", registration.id, session.id, actor.id)
    return CheckIn(registration, False)
