"""Session pages: who may open the organizer pages (a table), every page in Chinese and English, and the main
journeys through the forms (create, register, refuse, check in by QR link, upload a demand list)."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from marketplace.database import utcnow
from marketplace.extensions import db
from marketplace.sessions import services
from marketplace.sessions.models import MatchmakingSession, RegistrationStatus, SessionRegistration
from marketplace.sessions.services import AttendeeInput, RegistrationAction
from marketplace.sourcing.models import ProcurementRequest
from tests.conftest import csrf_token, login, post_form
from tests.test_sessions import make_scene, open_session, session_input

ACTORS = ("organizer", "other_organizer", "admin", "exporter", "host", "anonymous")


@pytest.fixture
def world(app):
    """The scene, its organizer's open session (the exporter approved, the rival pending), another organizer's."""
    with app.app_context():
        scene = make_scene()
        session = open_session(scene, capacity=5)
        theirs = services.create_session(scene.other_organizer, session_input(title="别人的对接会"))
        approved = services.register_for_session(scene.exporter_user, session.id, AttendeeInput("李四"))
        services.decide_registration(scene.organizer, session.id, approved.id, RegistrationAction.APPROVE, None)
        pending = services.register_for_session(scene.rival_user, session.id, AttendeeInput("赵六"))
        return {
            "emails": {"organizer": scene.organizer.email, "other_organizer": scene.other_organizer.email,
                       "admin": scene.admin.email, "exporter": scene.exporter_user.email,
                       "host": scene.host_user.email, "rival": scene.rival_user.email,
                       "buyer": scene.buyer_user.email},
            "session": session.id, "theirs": theirs.id, "approved": approved.id, "pending": pending.id,
            "token": approved.checkin_token, "pending_token": pending.checkin_token,
        }


def client_for(app, world, actor: str, lang: str = "en"):
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = lang
    if actor != "anonymous":
        login(client, world["emails"][actor])
    return client


def text(response) -> str:
    return response.get_data(as_text=True)


ORGANIZER_PAGES = ("/sessions/{s}/edit", "/sessions/{s}/registrations", "/sessions/{s}/check-in",
                   "/sessions/{s}/check-in/{token}", "/sessions/{s}/badges")
# own session → 200 for its organizer and admins; someone else's → 404; non-organizers → 403; anonymous → login
EXPECTED = {"organizer": 200, "other_organizer": 404, "admin": 200, "exporter": 403, "host": 403, "anonymous": 302}


def test_organizer_pages_authorization_table(app, world):
    for actor in ACTORS:
        client = client_for(app, world, actor)
        for template in ORGANIZER_PAGES:
            url = template.format(s=world["session"], token=world["token"])
            response = client.get(url)
            assert response.status_code == EXPECTED[actor], (actor, url, response.status_code)
            if actor == "anonymous":
                assert "/account/login" in response.headers["Location"]
        if actor == "organizer":  # changing the id to another organizer's session
            for template in ORGANIZER_PAGES:
                url = template.format(s=world["theirs"], token=world["token"])
                assert client.get(url).status_code == 404, url
            token = csrf_token(client, f"/sessions/{world['session']}/registrations")
            assert client.post(f"/sessions/{world['theirs']}/status",
                               data={"csrf_token": token, "target": "registration"}).status_code == 404
            assert client.post(f"/sessions/{world['theirs']}/invite",
                               data={"csrf_token": token, "company_id": "1"}).status_code == 404
        if actor == "other_organizer":
            token = csrf_token(client, "/sessions/new")
            response = client.post(f"/sessions/{world['session']}/registrations/{world['pending']}",
                                   data={"csrf_token": token, "action": "approve"})
            assert response.status_code == 404
            # and the session, still preparing on the other side, is not public either
            assert client_for(app, world, "exporter").get(f"/sessions/{world['theirs']}").status_code == 404
    with app.app_context():
        assert db.session.get(SessionRegistration, world["pending"]).status is RegistrationStatus.PENDING


def test_every_page_renders_for_its_readers_in_chinese_and_english(app, world):
    s = world["session"]
    pages = {
        "anonymous": ["/sessions/", f"/sessions/{s}", "/sessions/?province=330000&industry=小家电"],
        "organizer": ["/sessions/organize", "/sessions/organize?status=registration", "/sessions/new",
                      f"/sessions/{s}", f"/sessions/{s}/edit", f"/sessions/{s}/registrations",
                      f"/sessions/{s}/registrations?status=pending&q=公司", f"/sessions/{s}/check-in",
                      f"/sessions/{s}/check-in/{world['token']}", f"/sessions/{s}/badges"],
        "exporter": ["/sessions/", "/sessions/mine", f"/sessions/{s}", f"/sessions/{s}/registration/qr.svg"],
        "host": [f"/sessions/{s}", f"/sessions/{s}/demand", f"/sessions/{s}/demand/new",
                 f"/sessions/{s}/demand/import"],
        "buyer": [f"/sessions/{s}"],
    }
    shows_title = {"/sessions/", "/sessions/organize", f"/sessions/{s}", f"/sessions/{s}/registrations",
                   f"/sessions/{s}/check-in", f"/sessions/{s}/badges", f"/sessions/{s}/demand", "/sessions/mine"}
    clients = {actor: client_for(app, world, actor) for actor in pages}
    for lang in ("zh", "en"):
        for actor, urls in pages.items():
            client = clients[actor]
            client.environ_base["HTTP_ACCEPT_LANGUAGE"] = lang
            for url in urls:
                response = client.get(url)
                assert response.status_code == 200, (lang, actor, url, response.status_code)
                if url.endswith(".svg"):
                    assert response.mimetype == "image/svg+xml" and b"<svg" in response.data
                elif url in shows_title:
                    assert "宁波小家电出口转内销专场对接会" in text(response), url
                assert ('lang="zh-CN"' if lang == "zh" else 'lang="en"') in text(response) or url.endswith(".svg")
    page = text(clients["exporter"].get(f"/sessions/{s}"))
    assert "Show this QR code at the entrance" in page and "registration/qr.svg" in page
    assert "Manage your demand list" in text(clients["host"].get(f"/sessions/{s}"))
    badges = text(clients["organizer"].get(f"/sessions/{s}/badges"))
    assert badges.count('data-testid="badge"') == 1 and "<svg" in badges and "sessions.css" in badges


def test_create_a_session_through_the_form(app, world):
    client = client_for(app, world, "organizer")
    day = (services.local_time(utcnow()) + timedelta(days=10)).date().isoformat()
    data = {"title": "慈溪家电专场", "province_code": "330000", "city_code": "330200",
            "starts_at": f"{day}T14:00", "ends_at": f"{day}T09:00", "venue": "", "online_url": "",
            "capacity": "0", "tables": "8", "slot_minutes": "20", "focus": "tariff_hit"}
    response = post_form(client, "/sessions/new", data)
    assert response.status_code == 400 and "must end after it starts" in text(response)
    response = post_form(client, "/sessions/new", {**data, "ends_at": f"{day}T18:00"})
    assert response.status_code == 400 and "venue, an online link" in text(response)
    response = post_form(client, "/sessions/new", {**data, "ends_at": f"{day}T18:00", "online_url": "www.example.cn"})
    assert response.status_code == 400 and "http:// or https://" in text(response)
    response = post_form(client, "/sessions/new", {**data, "ends_at": f"{day}T18:00", "venue": "慈溪会展中心"})
    assert response.status_code == 400 and "from 1 to" in text(response)
    response = post_form(client, "/sessions/new", {**data, "starts_at": "tomorrow", "venue": "慈溪会展中心"})
    assert response.status_code == 400 and "like 2027-03-15 09:30" in text(response)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(MatchmakingSession)) == 2
    response = post_form(client, "/sessions/new", {**data, "ends_at": f"{day}T18:00", "venue": "慈溪会展中心",
                                                  "capacity": "50"})
    assert response.status_code == 302
    with app.app_context():
        made = db.session.scalar(sa.select(MatchmakingSession).where(MatchmakingSession.title == "慈溪家电专场"))
        assert services.local_time(made.starts_at).strftime("%H:%M") == "14:00"
        assert made.starts_at.hour == 6 and made.capacity == 50 and made.focus.value == "tariff_hit"
    assert "14:00–18:00" in text(client.get(response.headers["Location"]))


def test_register_refuse_and_waitlist_through_the_pages(app, world):
    s = world["session"]
    with app.app_context():
        session = db.session.get(MatchmakingSession, s)
        session.capacity = 3
        db.session.commit()
    host = client_for(app, world, "host")
    response = post_form(host, f"/sessions/{s}/register", {"attendee_name": "钱七", "attendee_phone": "0574-1234567"},
                         form_url=f"/sessions/{s}", follow_redirects=True)
    assert "organizer will approve" in text(response)
    buyer = client_for(app, world, "buyer")
    response = post_form(buyer, f"/sessions/{s}/register", {"attendee_name": "孙八"}, form_url=f"/sessions/{s}",
                         follow_redirects=True)
    assert "waiting list" in text(response)
    response = post_form(buyer, f"/sessions/{s}/register", {"attendee_name": ""}, form_url="/sessions/")
    assert response.status_code in (302, 400)

    organizer = client_for(app, world, "organizer")
    url = f"/sessions/{s}/registrations/{world['pending']}"
    page = text(organizer.get(f"/sessions/{s}/registrations"))
    assert 'data-confirm="Refuse the registration of' in page and "count-waitlisted" in page
    response = post_form(organizer, url, {"action": "refuse", "reason": ""}, form_url=f"/sessions/{s}/registrations",
                         follow_redirects=True)
    assert "reason for refusing" in text(response)
    post_form(organizer, url, {"action": "refuse", "reason": "请先完善企业资质 <b>材料</b>"},
              form_url=f"/sessions/{s}/registrations")
    rival = client_for(app, world, "rival")
    page = text(rival.get(f"/sessions/{s}"))
    assert "请先完善企业资质 &lt;b&gt;材料&lt;/b&gt;" in page
    # the refused place went to the waiting buyer
    assert "Awaiting approval" in text(buyer.get(f"/sessions/{s}"))


def test_check_in_through_the_qr_link(app, world):
    s = world["session"]
    organizer = client_for(app, world, "organizer")
    page = text(organizer.get(f"/sessions/{s}/check-in/{world['token']}"))
    assert "data-auto-submit" in page and "sessions.js" in page
    token = csrf_token(organizer, f"/sessions/{s}/check-in/{world['token']}")
    response = organizer.post(f"/sessions/{s}/check-in/{world['token']}", data={"csrf_token": token},
                              follow_redirects=True)
    assert re.search(r"checked in at \d\d:\d\d", text(response))
    page = text(organizer.get(f"/sessions/{s}/check-in/{world['token']}"))
    assert "Already checked in at" in page and "data-auto-submit" not in page
    response = post_form(organizer, f"/sessions/{s}/check-in", {"code": world["token"]}, follow_redirects=True)
    assert re.search(r"already checked in at \d\d:\d\d", text(response))
    response = post_form(organizer, f"/sessions/{s}/check-in", {"code": world["pending_token"][:8]})
    assert response.status_code == 400 and "Only approved registrations" in text(response)
    response = post_form(organizer, f"/sessions/{s}/check-in", {"code": "abcdefgh"})
    assert response.status_code == 404 and "No registration of this session" in text(response)
    assert organizer.get(f"/sessions/{world['theirs']}/check-in/{world['token']}").status_code == 404
    # the company's own QR code; another company has none to fetch
    assert client_for(app, world, "rival").get(f"/sessions/{s}/registration/qr.svg").status_code == 404
    exporter_page = text(client_for(app, world, "exporter").get(f"/sessions/{s}"))
    assert "Checked in at" in exporter_page


def test_upload_a_demand_list_into_the_session(app, world):
    s = world["session"]
    host = client_for(app, world, "host")
    deadline = (services.local_time(utcnow()) + timedelta(days=20)).date().isoformat()
    csv = ("Title,Category,Quantity,Unit,Delivery province,Delivery city,Quotes by\n"
           f"Rice cooker 4 L,small_appliances,500,台,330000,330200,{deadline}\n"
           f"Kettle 1.7 L,small_appliances,bad,台,330000,330200,{deadline}\n").encode()
    from io import BytesIO

    response = host.post(f"/sessions/{s}/demand/import",
                         data={"csrf_token": csrf_token(host, f"/sessions/{s}/demand/import"),
                               "file": (BytesIO(csv), "list.csv")}, content_type="multipart/form-data")
    assert response.status_code == 302
    job_url = response.headers["Location"]
    preview = text(host.get(job_url))
    job_id = int(job_url.rsplit("/", 1)[1])
    assert f"/sessions/{s}/demand/import/{job_id}/commit" in preview and "session-target" in preview
    assert f"/sessions/{s}/demand/import/{job_id}/problems.csv" in preview
    assert host.get(f"/sessions/{s}/demand/import/{job_id}/problems.csv").status_code == 200
    response = post_form(host, f"/sessions/{s}/demand/import/{job_id}/commit", {"publish": "y"}, form_url=job_url)
    assert response.status_code == 302
    done = text(host.get(job_url))
    assert "Import finished" in done and f"/sessions/{s}/demand" in done
    assert host.get(f"/sessions/{s}/demand/import/{job_id}/progress").get_json()["status"] == "done"
    with app.app_context():
        rows = list(db.session.scalars(sa.select(ProcurementRequest)))
        assert [(r.title, r.session_id) for r in rows] == [("Rice cooker 4 L", s)]
    page = text(client_for(app, world, "exporter").get(f"/sessions/{s}"))
    assert "Rice cooker 4 L" in page and f"/sourcing/requests/{rows[0].id}" in page
    # a buyer that does not host the session has no upload
    assert client_for(app, world, "buyer").get(f"/sessions/{s}/demand/import").status_code == 403
