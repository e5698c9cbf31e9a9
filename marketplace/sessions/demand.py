"""The hosts' demand list (发榜) of a matchmaking session: procurement requests carrying its ``session_id``.

Owns: who may put requests on a session's list (a verified buyer company hosting the session, while
the session is not over), attaching the host's own draft or open requests and taking them off (each
change is a request event), posting a new request with the session preset, and the bulk upload
through the sourcing "requests" import kind with the session bound to its commit
(``session_import_kind``). Exporters answer (揭榜) with quotes on each request's own page; the
session page lists the lines (``demand_lines``). Requests are written through
``marketplace.sourcing`` only.
"""
from __future__ import annotations

import logging
from dataclasses import replace
from functools import partial

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from marketplace.accounts.models import Company, User
from marketplace.database import utcnow
from marketplace.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from marketplace.extensions import db
from marketplace.i18n import _, _l
from marketplace.imports import jobs
from marketplace.sessions import services
from marketplace.sessions.models import MatchmakingSession, SessionStatus
from marketplace.sourcing import imports
from marketplace.sourcing import services as sourcing
from marketplace.sourcing.models import ProcurementRequest
from marketplace.sourcing.states import RequestAction, RequestState, Visibility

logger = logging.getLogger(__name__)

#: a host's requests that may go on (or come off) a demand list
ATTACHABLE_STATES = frozenset({RequestState.DRAFT, RequestState.OPEN})
#: the demand list changes until the session is over
DEMAND_STATUSES = frozenset({SessionStatus.PREPARING, SessionStatus.REGISTRATION, SessionStatus.RUNNING})
MAX_LINES = 300
MAX_ATTACH = 200


def _not_host() -> PermissionDenied:
    return PermissionDenied(_l("Only the session's host companies publish its demand list."))


def host_session(actor: User, session_id: int) -> MatchmakingSession:
    """The session when the actor's company (a verified buyer) hosts it; NotFound / PermissionDenied otherwise."""
    if not getattr(actor, "is_authenticated", False):
        raise PermissionDenied(_l("Please log in."))
    session = services.get_visible_session(actor, session_id)
    if not services.is_host(actor.company_id, session):
        raise _not_host()
    sourcing.check_buyer_company(actor.company)
    return session


def _check_open(session: MatchmakingSession) -> None:
    if session.status not in DEMAND_STATUSES:
        raise ValidationFailed(_l("The session is “%(status)s”: its demand list can no longer change.",
                                  status=session.status.label))


def writable_host_session(actor: User, session_id: int) -> MatchmakingSession:
    """``host_session``, and the session not over yet (its list may change)."""
    session = host_session(actor, session_id)
    _check_open(session)
    return session


def _request_not_found() -> NotFound:
    return NotFound(_l("This procurement request does not exist."))


def _record(request: ProcurementRequest, actor: User, note: str) -> None:
    sourcing.record_request_event(request, RequestAction.EDIT, actor, request.state, note,
                                  version=request.version + 1)


def _commit() -> None:
    try:
        db.session.commit()
    except (StaleDataError, IntegrityError, OperationalError) as error:
        db.session.rollback()
        logger.info("demand list change lost a race (%s)", type(error).__name__)
        raise Conflict(_l("A request changed while you were choosing; reload the page and try again.")) from None
    except Exception:
        db.session.rollback()
        raise


def attach_requests(actor: User, session_id: int, request_ids) -> int:
    """Put the host's own draft or open requests on the session's demand list; returns how many were added."""
    session = writable_host_session(actor, session_id)
    ids = list(dict.fromkeys(int(i) for i in request_ids))[:MAX_ATTACH]
    if not ids:
        raise ValidationFailed(_l("Choose at least one request."), "requests")
    found = {r.id: r for r in db.session.scalars(
        sa.select(ProcurementRequest).where(ProcurementRequest.id.in_(ids))
        .execution_options(populate_existing=True))}
    added = 0
    try:
        for request_id in ids:
            request = found.get(request_id)
            if request is None or request.buyer_company_id != actor.company_id:
                raise _request_not_found()
            if request.session_id == session.id:
                continue
            if request.state not in ATTACHABLE_STATES:
                raise ValidationFailed(_l("“%(title)s” is “%(state)s”: only drafts and requests open for quotes go "
                                          "on a demand list.", title=request.title, state=request.state.label),
                                       "requests")
            if request.session_id is not None:
                raise ValidationFailed(_l("“%(title)s” is already on the demand list of another session.",
                                          title=request.title), "requests")
            _record(request, actor, _("Put on the demand list of the session “%(title)s”.", title=session.title))
            request.session_id = session.id
            request.updated_at = utcnow()
            added += 1
        db.session.flush()
    except Exception:
        db.session.rollback()
        raise
    _commit()
    logger.info("%d requests put on the demand list of session %s by user %s", added, session.id, actor.id)
    return added


def detach_request(actor: User, session_id: int, request_id: int) -> ProcurementRequest:
    """Take one of the host's requests off the session's demand list (the request itself stays as it is)."""
    session = writable_host_session(actor, session_id)
    request = db.session.get(ProcurementRequest, request_id, populate_existing=True)
    if request is None or request.buyer_company_id != actor.company_id or request.session_id != session.id:
        raise _request_not_found()
    try:
        _record(request, actor, _("Taken off the demand list of the session “%(title)s”.", title=session.title))
        request.session_id = None
        request.updated_at = utcnow()
        db.session.flush()
    except Exception:
        db.session.rollback()
        raise
    _commit()
    logger.info("request %s taken off the demand list of session %s by user %s", request.id, session.id, actor.id)
    return request


def post_session_request(actor: User, session_id: int, data: sourcing.RequestInput, idempotency_key: str,
                         uploads=()) -> tuple[ProcurementRequest, bool]:
    """A new request (a draft, as the post form makes it) already on the session's demand list."""
    session = writable_host_session(actor, session_id)
    return sourcing.create_request(actor, data, idempotency_key, uploads, session_id=session.id)


# --------------------------------------------------------------------------- bulk upload


def _commit_import(actor: User, company: Company, result, publish: bool = False, progress=None, *,
                   session_id: int):
    """The requests kind's commit with the session bound: checked again when it runs (the session may have ended)."""
    session = db.session.get(MatchmakingSession, session_id)
    if session is None or not services.is_host(company.id, session):
        raise _not_host()
    _check_open(session)
    return imports.import_requests(actor, company, result, publish=publish, progress=progress,
                                   session_id=session_id)


def session_import_kind(session_id: int) -> jobs.ImportKind:
    """The demand-list import kind whose commit puts every line on this session's list.

    The same kind by name (its jobs, previews and reports are the sourcing ones); only the commit differs, and
    it travels with the job into a background thread, so the session is never lost on the way.
    """
    return replace(imports.KIND, commit=partial(_commit_import, session_id=session_id))


# --------------------------------------------------------------------------- reads


def demand_lines(viewer, session: MatchmakingSession) -> list[ProcurementRequest]:
    """The session's demand list as the viewer may see it: published public requests, and a host's own ones.

    Only the current hosts' requests: a company no longer hosting the session no longer has lines on its list.
    """
    hosts = [host.company_id for host in session.hosts]
    if not hosts:
        return []
    visible = sa.and_(ProcurementRequest.state != RequestState.DRAFT,
                      ProcurementRequest.visibility == Visibility.PUBLIC)
    company_id = viewer.company_id if getattr(viewer, "is_authenticated", False) else None
    if company_id is not None and services.is_host(company_id, session):
        visible = sa.or_(visible, ProcurementRequest.buyer_company_id == company_id)
    return list(db.session.scalars(
        sa.select(ProcurementRequest).where(ProcurementRequest.session_id == session.id,
                                            ProcurementRequest.buyer_company_id.in_(hosts), visible)
        .options(selectinload(ProcurementRequest.buyer_company))
        .order_by(ProcurementRequest.buyer_company_id, ProcurementRequest.deadline, ProcurementRequest.id)
        .limit(MAX_LINES)))


def attachable_requests(actor: User, session: MatchmakingSession) -> list[ProcurementRequest]:
    """The host's own drafts and open requests on no session's list yet, the newest first."""
    return list(db.session.scalars(
        sa.select(ProcurementRequest).where(ProcurementRequest.buyer_company_id == actor.company_id,
                                            ProcurementRequest.state.in_(ATTACHABLE_STATES),
                                            ProcurementRequest.session_id.is_(None))
        .order_by(ProcurementRequest.created_at.desc(), ProcurementRequest.id.desc()).limit(MAX_ATTACH)))


def own_lines(actor: User, session: MatchmakingSession) -> list[ProcurementRequest]:
    """The host's own requests on the session's list (any state)."""
    return list(db.session.scalars(
        sa.select(ProcurementRequest).where(ProcurementRequest.buyer_company_id == actor.company_id,
                                            ProcurementRequest.session_id == session.id)
        .order_by(ProcurementRequest.created_at.desc(), ProcurementRequest.id.desc()).limit(MAX_LINES)))
