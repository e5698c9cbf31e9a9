"""Matchmaking-session reads for pages: lists, a session's registrations and counts, badges, invitation search.

Every query is scoped: an organizer sees its own company's sessions (platform administrators all of
them), a company its own registrations, the public the sessions open for registration or running.
Another organizer's session is a NotFound (404), as if it did not exist. No writes here.
"""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from marketplace import regions
from marketplace.accounts.models import Company, CompanyKind, Role, User, Verification
from marketplace.errors import PermissionDenied
from marketplace.extensions import db
from marketplace.i18n import _l
from marketplace.inputs import page_number
from marketplace.sessions import services
from marketplace.sessions.models import (
    MatchmakingSession,
    RegistrationStatus,
    SessionHost,
    SessionRegistration,
    SessionStatus,
)

PER_PAGE = 20
#: the public list: sessions a company can still register for, and those under way
LISTED_STATUSES = (SessionStatus.REGISTRATION, SessionStatus.RUNNING)
INVITE_RESULTS = 20
MAX_QUERY = 100


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _paginate(query, page, per_page: int = PER_PAGE):
    return db.paginate(query, page=page_number(page), per_page=per_page, error_out=False, count=True)


# --------------------------------------------------------------------------- public list


@dataclass(frozen=True)
class SessionFilter:
    """The public list's filters (unknown values are dropped by ``clean``)."""

    province: str | None = None
    industry: str | None = None

    @property
    def active(self) -> bool:
        return bool(self.province or self.industry)

    @classmethod
    def clean(cls, province: str | None, industry: str | None) -> SessionFilter:
        province = province if regions.province(province or "") else None
        industry = (industry or "").strip()[:MAX_QUERY] or None
        return cls(province=province, industry=industry)


def public_sessions(filters: SessionFilter, page=1, per_page: int = PER_PAGE):
    """Sessions open for registration or running, soonest first, filtered by province and industry."""
    query = (sa.select(MatchmakingSession).where(MatchmakingSession.status.in_(LISTED_STATUSES))
             .options(selectinload(MatchmakingSession.hosts).selectinload(SessionHost.company),
                      selectinload(MatchmakingSession.organizer_company))
             .order_by(MatchmakingSession.starts_at, MatchmakingSession.id))
    if filters.province:
        query = query.where(MatchmakingSession.province_code == filters.province)
    if filters.industry:
        pattern = _like(filters.industry)
        query = query.where(sa.or_(MatchmakingSession.industry.ilike(pattern, escape="\\"),
                                   MatchmakingSession.cluster.ilike(pattern, escape="\\")))
    return _paginate(query, page, per_page)


def listed_industries() -> list[str]:
    """The industries named by listed sessions (the filter's suggestions)."""
    return list(db.session.scalars(
        sa.select(MatchmakingSession.industry).where(MatchmakingSession.status.in_(LISTED_STATUSES),
                                                     MatchmakingSession.industry.is_not(None))
        .distinct().order_by(MatchmakingSession.industry).limit(50)))


def held_counts(session_ids: list[int]) -> dict[int, int]:
    """Places held (awaiting approval or approved) per session, in one query."""
    if not session_ids:
        return {}
    rows = db.session.execute(
        sa.select(SessionRegistration.session_id, sa.func.count(SessionRegistration.id))
        .where(SessionRegistration.session_id.in_(session_ids),
               SessionRegistration.status.in_([s for s in RegistrationStatus if s.holds_place]))
        .group_by(SessionRegistration.session_id))
    return dict(rows.tuples().all())


# --------------------------------------------------------------------------- organizers


def organizer_sessions(actor: User, page=1, status: SessionStatus | None = None, per_page: int = PER_PAGE):
    """The sessions the actor's organizer company runs (every session for platform administrators), latest first."""
    company = services.require_organizer(actor)
    query = (sa.select(MatchmakingSession)
             .options(selectinload(MatchmakingSession.hosts).selectinload(SessionHost.company))
             .order_by(MatchmakingSession.starts_at.desc(), MatchmakingSession.id.desc()))
    if actor.role is not Role.PLATFORM_ADMIN:
        query = query.where(MatchmakingSession.organizer_company_id == company.id)
    if status is not None:
        query = query.where(MatchmakingSession.status == status)
    return _paginate(query, page, per_page)


def organizer_session(actor: User, session_id: int) -> MatchmakingSession:
    """A session for its organizer; another organizer's (or none) is NotFound, non-organizers PermissionDenied."""
    services.require_organizer(actor)
    return services.get_managed_session(actor, session_id)


@dataclass(frozen=True)
class RegistrationCounts:
    """How many registrations a session has in each status, and what that means for its places."""

    by_status: dict
    capacity: int
    checked_in: int

    @property
    def held(self) -> int:
        return sum(count for status, count in self.by_status.items() if status.holds_place)

    @property
    def free(self) -> int:
        return max(self.capacity - self.held, 0)

    @property
    def percent_used(self) -> int:
        return min(100, round(100 * self.held / self.capacity)) if self.capacity else 100

    def __getitem__(self, status: RegistrationStatus) -> int:
        return self.by_status.get(status, 0)


def registration_counts(session: MatchmakingSession) -> RegistrationCounts:
    """Counts by status (every status present, zero when none), and check-ins."""
    rows = db.session.execute(
        sa.select(SessionRegistration.status, sa.func.count(SessionRegistration.id),
                  sa.func.count(SessionRegistration.checked_in_at))
        .where(SessionRegistration.session_id == session.id).group_by(SessionRegistration.status))
    counts = dict.fromkeys(RegistrationStatus, 0)
    checked = 0
    for status, count, checked_in in rows:
        counts[status] = count
        checked += checked_in
    return RegistrationCounts(counts, session.capacity, checked)


def session_registrations(actor: User, session_id: int, status: RegistrationStatus | None = None, page=1,
                          per_page: int = 50):
    """The organizer's view of a session's registrations: (session, page of registrations, counts)."""
    session = organizer_session(actor, session_id)
    query = (sa.select(SessionRegistration).where(SessionRegistration.session_id == session.id)
             .options(selectinload(SessionRegistration.company))
             .order_by(SessionRegistration.created_at, SessionRegistration.id))
    if status is not None:
        query = query.where(SessionRegistration.status == status)
    return session, _paginate(query, page, per_page), registration_counts(session)


def badge_registrations(actor: User, session_id: int) -> tuple[MatchmakingSession, list[SessionRegistration]]:
    """The approved registrations of the organizer's session, buyers first, then by company name."""
    session = organizer_session(actor, session_id)
    rows = list(db.session.scalars(
        sa.select(SessionRegistration).join(Company, Company.id == SessionRegistration.company_id)
        .where(SessionRegistration.session_id == session.id,
               SessionRegistration.status == RegistrationStatus.APPROVED)
        .options(selectinload(SessionRegistration.company))
        .order_by(SessionRegistration.role, Company.name_zh, SessionRegistration.id)))
    return session, rows


def invitable_companies(actor: User, session: MatchmakingSession, text: str | None) -> list[Company]:
    """Verified exporters and buyer companies matching a name, USCC or id, not registered to the session yet."""
    if not services.manages(actor, session):
        raise services.session_not_found()
    text = (text or "").strip()[:MAX_QUERY]
    if not text:
        return []
    taken = sa.select(SessionRegistration.company_id).where(
        SessionRegistration.session_id == session.id,
        SessionRegistration.status.not_in([RegistrationStatus.CANCELLED, RegistrationStatus.REFUSED]))
    pattern = _like(text)
    matches = [Company.name_zh.ilike(pattern, escape="\\"), Company.name_en.ilike(pattern, escape="\\"),
               Company.uscc == text.upper()]
    if text.isdigit() and len(text) < 10:
        matches.append(Company.id == int(text))
    return list(db.session.scalars(
        sa.select(Company).where(sa.or_(*matches), Company.verification == Verification.VERIFIED,
                                 Company.kind != CompanyKind.ORGANIZER, Company.id.not_in(taken))
        .order_by(Company.name_zh, Company.id).limit(INVITE_RESULTS)))


def host_choices() -> list[tuple[int, str]]:
    """Every verified buyer company as (id, "中文名 · English name") for the hosts picker."""
    rows = db.session.execute(
        sa.select(Company.id, Company.name_zh, Company.name_en, Company.kind)
        .where(Company.kind.in_([kind for kind in CompanyKind if kind.is_buyer]),
               Company.verification == Verification.VERIFIED)
        .order_by(Company.name_zh, Company.id))
    return [(company_id, f"{name_zh} · {name_en}" if name_en else name_zh)
            for company_id, name_zh, name_en, _kind in rows]


# --------------------------------------------------------------------------- companies


def company_registrations(actor: User, page=1, per_page: int = PER_PAGE):
    """The actor's company's registrations, the latest sessions first."""
    if not getattr(actor, "is_authenticated", False):
        raise PermissionDenied(_l("Please log in."))
    query = (sa.select(SessionRegistration).join(MatchmakingSession)
             .where(SessionRegistration.company_id == actor.company_id)
             .options(selectinload(SessionRegistration.session))
             .order_by(MatchmakingSession.starts_at.desc(), SessionRegistration.id.desc()))
    return _paginate(query, page, per_page)


def own_registration(viewer, session: MatchmakingSession) -> SessionRegistration | None:
    """The viewer's company's registration for the session, if any."""
    if not getattr(viewer, "is_authenticated", False):
        return None
    return db.session.scalar(sa.select(SessionRegistration).where(
        SessionRegistration.session_id == session.id, SessionRegistration.company_id == viewer.company_id))


def approved_own_registration(viewer, session_id: int) -> SessionRegistration:
    """The viewer's company's approved registration (its QR code); NotFound otherwise."""
    session = services.get_visible_session(viewer, session_id)
    registration = own_registration(viewer, session)
    if registration is None or registration.status is not RegistrationStatus.APPROVED:
        raise services.registration_not_found()
    return registration


def session_view(viewer, session: MatchmakingSession) -> dict:
    """What the detail page needs beyond the session: the viewer's side, registration, places, demand list."""
    from marketplace.sessions import demand

    registration = own_registration(viewer, session)
    manages = services.manages(viewer, session)
    company = viewer.company if getattr(viewer, "is_authenticated", False) else None
    role = services.participant_role(company) if company is not None else None
    held = services.held_places(session.id)
    return {
        "manages": manages,
        "is_host": company is not None and services.is_host(company.id, session),
        "registration": registration,
        "can_register": (role is not None and session.status in services.REGISTERING_STATUSES
                         and (registration is None or registration.status in services.REREGISTER_FROM)),
        "role": role,
        "verified": company is not None and company.is_verified,
        "held": held,
        "free": max(session.capacity - held, 0),
        "demand": demand.demand_lines(viewer, session),
        "moves": services.status_moves(session.status) if manages else [],
    }


def recent_check_ins(session: MatchmakingSession, limit: int = 10) -> list[SessionRegistration]:
    """The latest check-ins of the session (the check-in desk's list), newest first."""
    return list(db.session.scalars(
        sa.select(SessionRegistration).where(SessionRegistration.session_id == session.id,
                                             SessionRegistration.checked_in_at.is_not(None))
        .options(selectinload(SessionRegistration.company))
        .order_by(SessionRegistration.checked_in_at.desc(), SessionRegistration.id.desc()).limit(limit)))
