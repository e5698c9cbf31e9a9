"""Matchmaking sessions: creating and editing (bad input writes nothing), the status rule table, organizer scope,
and the hosts' demand list (attach, post, bulk upload: every line carries the session)."""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from marketplace.accounts.models import Company, CompanyKind, Role, User
from marketplace.database import utcnow
from marketplace.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from marketplace.extensions import db
from marketplace.imports import jobs
from marketplace.sessions import demand, services
from marketplace.sessions.models import MatchmakingSession, SessionHost, SessionStatus
from marketplace.sessions.services import SessionInput
from marketplace.sourcing import imports as sourcing_imports
from marketplace.sourcing import services as sourcing
from marketplace.sourcing.models import ProcurementRequest, RequestEvent
from marketplace.sourcing.states import RequestState, Visibility
from tests.factories import make_company, make_user
from tests.test_sourcing_services import request_input, token


@dataclass
class Scene:
    """Two organizers (own companies), a platform admin, a host chain leader, another buyer, two exporters."""

    organizer: User
    other_organizer: User
    admin: User
    host: Company
    host_user: User
    buyer: Company
    buyer_user: User
    exporter: Company
    exporter_user: User
    rival: Company
    rival_user: User


def make_scene() -> Scene:
    organizer = make_user(role=Role.ORGANIZER)
    other_organizer = make_user(role=Role.ORGANIZER)
    admin = make_user(company=organizer.company, role=Role.PLATFORM_ADMIN)
    host = make_company(kind=CompanyKind.CHAIN_LEADER, name_zh="链主电器集团", province_code="330000",
                        city_code="330200")
    buyer = make_company(kind=CompanyKind.RETAILER, name_zh="连锁超市公司")
    exporter = make_company(kind=CompanyKind.EXPORTER, name_zh="宁波小家电出口公司")
    rival = make_company(kind=CompanyKind.EXPORTER, name_zh="慈溪电器外贸公司")
    return Scene(organizer, other_organizer, admin, host, make_user(company=host), buyer, make_user(company=buyer),
                 exporter, make_user(company=exporter), rival, make_user(company=rival))


def session_input(**overrides) -> SessionInput:
    """A one-day session in Ningbo three days from now, ten places."""
    start = (utcnow() + timedelta(days=3)).replace(microsecond=0)
    values = {"title": "宁波小家电出口转内销专场对接会", "starts_at": start, "ends_at": start + timedelta(hours=7),
              "province_code": "330000", "city_code": "330200", "venue": "宁波国际会展中心 3 号馆",
              "capacity": 10, "industry": "小家电", "cluster": "慈溪家电产业集群"}
    values.update(overrides)
    return SessionInput(**values)


def open_session(scene: Scene, **overrides) -> MatchmakingSession:
    """A session of the scene's organizer, hosted by the chain leader, open for registration."""
    overrides.setdefault("host_company_ids", (scene.host.id,))
    session = services.create_session(scene.organizer, session_input(**overrides))
    return services.change_session_status(scene.organizer, session.id, SessionStatus.REGISTRATION, session.version)


def set_status(session_id: int, status: SessionStatus) -> None:
    db.session.execute(sa.update(MatchmakingSession).where(MatchmakingSession.id == session_id)
                       .values(status=status, version=MatchmakingSession.version + 1))
    db.session.commit()


def english(message) -> str:
    """A service's message as an English reader sees it (the default locale is Chinese)."""
    with force_locale("en"):
        return str(message)


@contextmanager
def refused(kind, words: str):
    """``pytest.raises(kind)`` whose message, in English, says ``words``."""
    with pytest.raises(kind) as caught:
        yield caught
    assert words in english(caught.value.message), english(caught.value.message)


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_create_session_refuses_bad_input_with_a_clear_message_and_writes_nothing(app):
    with app.app_context():
        scene = make_scene()
        start = utcnow() + timedelta(days=3)
        table = [
            ({"ends_at": start - timedelta(hours=1), "starts_at": start}, "ends_at", "must end after it starts"),
            ({"ends_at": start, "starts_at": start}, "ends_at", "must end after it starts"),
            ({"starts_at": utcnow() - timedelta(hours=1)}, "starts_at", "already passed"),
            ({"venue": "", "online_url": ""}, "venue", "venue, an online link"),
            ({"venue": None, "online_url": "ftp://example.com/room"}, "online_url", "http:// or https://"),
            ({"online_url": "javascript:alert(1)"}, "online_url", "http:// or https://"),
            ({"online_url": "https://"}, "online_url", "http:// or https://"),
            ({"capacity": 0}, "capacity", "from 1 to"),
            ({"capacity": None}, "capacity", "from 1 to"),
            ({"tables": 0}, "tables", "from 1 to"),
            ({"slot_minutes": 3}, "slot_minutes", "from 5 to"),
            ({"title": "   "}, "title", "title"),
            ({"title": "x" * 201}, "title", "at most 200"),
            ({"city_code": "440300"}, "city_code", "not in the province"),
            ({"category": "no_such_category"}, "category", "category"),
            ({"host_company_ids": (scene.exporter.id,)}, "hosts", "verified buyer companies"),
            ({"starts_at": datetime(2030, 1, 1, 9, 0)}, "starts_at", "time zone"),
        ]
        for overrides, field_name, words in table:
            with pytest.raises(ValidationFailed) as caught:
                services.create_session(scene.organizer, session_input(**overrides))
            assert caught.value.field == field_name, (overrides, caught.value.field)
            assert words in english(caught.value.message), (overrides, english(caught.value.message))
        assert count(MatchmakingSession) == 0 and count(SessionHost) == 0
        with pytest.raises(PermissionDenied):
            services.create_session(scene.exporter_user, session_input())
        assert count(MatchmakingSession) == 0


def test_create_stores_utc_hosts_and_edit_uses_the_version(app):
    with app.app_context():
        scene = make_scene()
        day = (services.local_time(utcnow()) + timedelta(days=30)).date()
        china_nine = datetime(day.year, day.month, day.day, 9, 0)  # typed in the form, China time
        data = session_input(starts_at=services.china_time(china_nine),
                             ends_at=services.china_time(china_nine + timedelta(hours=8)),
                             venue=None, online_url="https://meeting.example.cn/room/1",
                             host_company_ids=(scene.host.id, scene.buyer.id, scene.host.id))
        session = services.create_session(scene.organizer, data)
        assert session.status is SessionStatus.PREPARING
        assert session.starts_at == datetime(day.year, day.month, day.day, 1, 0, tzinfo=UTC)
        assert services.local_time(session.starts_at) == china_nine
        assert [h.company_id for h in session.hosts] == [scene.host.id, scene.buyer.id]
        assert session.organizer_company_id == scene.organizer.company_id

        version = session.version
        edited = services.update_session(scene.organizer, session.id,
                                         replace(data, title="新标题", host_company_ids=(scene.buyer.id,)), version)
        assert edited.title == "新标题" and [h.company_id for h in edited.hosts] == [scene.buyer.id]
        with pytest.raises(Conflict):
            services.update_session(scene.organizer, session.id, replace(data, title="旧表单"), version)
        assert db.session.get(MatchmakingSession, session.id).title == "新标题"


def test_status_moves_follow_the_rule_table(app):
    with app.app_context():
        scene = make_scene()
        session = services.create_session(scene.organizer, session_input())
        allowed = {(s.value, t.value) for s, t in [
            (SessionStatus.PREPARING, SessionStatus.REGISTRATION), (SessionStatus.REGISTRATION, SessionStatus.RUNNING),
            (SessionStatus.RUNNING, SessionStatus.FINISHED), (SessionStatus.PREPARING, SessionStatus.CANCELLED),
            (SessionStatus.REGISTRATION, SessionStatus.CANCELLED)]}
        seen = set()
        for source in SessionStatus:
            for target in SessionStatus:
                set_status(session.id, source)
                try:
                    after = services.change_session_status(scene.organizer, session.id, target, None)
                except ValidationFailed as error:
                    assert "cannot become" in english(error.message)
                    assert db.session.get(MatchmakingSession, session.id, populate_existing=True).status is source
                else:
                    assert after.status is target
                    seen.add((source.value, target.value))
        assert seen == allowed


def test_organizers_only_reach_their_own_company_sessions(app):
    with app.app_context():
        scene = make_scene()
        session = open_session(scene)
        for call in (lambda user: services.get_managed_session(user, session.id),
                     lambda user: services.change_session_status(user, session.id, SessionStatus.RUNNING, None),
                     lambda user: services.update_session(user, session.id, session_input(title="改"), None),
                     lambda user: services.check_in(user, session.id, "x" * 43)):
            with pytest.raises(NotFound):
                call(scene.other_organizer)
        assert db.session.get(MatchmakingSession, session.id).status is SessionStatus.REGISTRATION
        # a platform administrator runs every session
        assert services.get_managed_session(scene.admin, session.id).id == session.id
        with pytest.raises(PermissionDenied):
            services.change_session_status(scene.host_user, session.id, SessionStatus.RUNNING, None)


def test_cancelling_a_session_tells_its_registered_companies(app):
    from marketplace.notifications.models import Notification

    with app.app_context():
        scene = make_scene()
        session = open_session(scene)
        services.register_for_session(scene.exporter_user, session.id, services.AttendeeInput("王五"))
        services.change_session_status(scene.organizer, session.id, SessionStatus.CANCELLED, None)
        subjects = list(db.session.scalars(sa.select(Notification.subject).where(
            Notification.user_id == scene.exporter_user.id)))
        assert any("宁波小家电出口转内销专场对接会" in subject for subject in subjects)


# --------------------------------------------------------------------------- the demand list


def test_hosts_attach_and_post_requests_onto_the_demand_list(app):
    with app.app_context():
        scene = make_scene()
        session = open_session(scene)
        draft, _created = sourcing.create_request(scene.host_user, request_input(title="草稿需求"), token())
        public, _created = sourcing.create_request(scene.host_user, request_input(title="公开需求"), token())
        public = sourcing.publish_request(scene.host_user, public.id, public.version)
        invited, _created = sourcing.create_request(scene.host_user, request_input(
            title="邀请需求", visibility=Visibility.INVITED, invited_company_ids=(scene.exporter.id,)), token())
        closed, _created = sourcing.create_request(scene.host_user, request_input(title="已关闭"), token())
        sourcing.close_request(scene.host_user, closed.id, closed.version)
        others, _created = sourcing.create_request(scene.buyer_user, request_input(title="别家需求"), token())

        assert demand.attach_requests(scene.host_user, session.id, [draft.id, public.id, invited.id]) == 3
        assert demand.attach_requests(scene.host_user, session.id, [public.id]) == 0  # already there
        for request_id in (draft.id, public.id, invited.id):
            request = db.session.get(ProcurementRequest, request_id)
            assert request.session_id == session.id
            note = db.session.scalars(sa.select(RequestEvent.note).where(RequestEvent.request_id == request_id)
                                      .order_by(RequestEvent.id.desc())).first()
            assert "宁波小家电出口转内销专场对接会" in note
        with refused(ValidationFailed, "drafts and requests open"):
            demand.attach_requests(scene.host_user, session.id, [closed.id])
        with pytest.raises(NotFound):
            demand.attach_requests(scene.host_user, session.id, [others.id])
        with pytest.raises(PermissionDenied):  # a buyer that does not host the session
            demand.attach_requests(scene.buyer_user, session.id, [others.id])
        assert db.session.get(ProcurementRequest, others.id).session_id is None

        posted, created = demand.post_session_request(scene.host_user, session.id, request_input(title="新需求"),
                                                      token())
        assert created and posted.session_id == session.id and posted.state is RequestState.DRAFT

        # exporters see the published public lines; the host also its drafts and invited-only ones
        exporter_view = {r.title for r in demand.demand_lines(scene.exporter_user, session)}
        assert exporter_view == {"公开需求"}
        assert {r.title for r in demand.demand_lines(scene.host_user, session)} == {"草稿需求", "公开需求", "邀请需求",
                                                                                   "新需求"}
        demand.detach_request(scene.host_user, session.id, public.id)
        assert db.session.get(ProcurementRequest, public.id).session_id is None
        assert demand.demand_lines(scene.exporter_user, session) == []

        set_status(session.id, SessionStatus.FINISHED)
        with refused(ValidationFailed, "can no longer change"):
            demand.attach_requests(scene.host_user, session.id, [public.id])


def test_bulk_upload_lands_every_line_on_the_session(app):
    with app.app_context():
        scene = make_scene()
        session = open_session(scene)
        deadline = (services.local_time(utcnow()) + timedelta(days=20)).date().isoformat()
        csv = ("需求标题,类目,采购数量,单位,交货省份,交货城市,报价截止日期\n"
               f"电饭煲 4L,小家电,500,台,浙江省,宁波市,{deadline}\n"
               f"电水壶 1.7L,小家电,800,台,浙江省,宁波市,{deadline}\n").encode()
        job = jobs.create_import_job(sourcing_imports.KIND, scene.host_user, "榜单.csv", csv)
        jobs.start_import_job(demand.session_import_kind(session.id), scene.host_user, job.id, publish=True)
        rows = list(db.session.scalars(sa.select(ProcurementRequest).where(
            ProcurementRequest.buyer_company_id == scene.host.id).order_by(ProcurementRequest.id)))
        assert [r.title for r in rows] == ["电饭煲 4L", "电水壶 1.7L"]
        assert {r.session_id for r in rows} == {session.id} and {r.state for r in rows} == {RequestState.OPEN}
        assert {r.title for r in demand.demand_lines(scene.exporter_user, session)} == {"电饭煲 4L", "电水壶 1.7L"}

        # a session that ended between the preview and the confirmation takes nothing
        job = jobs.create_import_job(sourcing_imports.KIND, scene.host_user, "第二批.csv", csv)
        set_status(session.id, SessionStatus.FINISHED)
        with force_locale("en"):
            done = jobs.start_import_job(demand.session_import_kind(session.id), scene.host_user, job.id)
        assert done.status.value == "failed" and "can no longer change" in done.error_message
        assert count(ProcurementRequest) == 2
