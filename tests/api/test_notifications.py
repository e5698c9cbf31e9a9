"""/api/v1/notifications: the token user's notifications in the caller's language, the unread count, marking
read."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from marketplace.accounts.models import Company, CompanyKind, Role, User
from marketplace.extensions import db
from marketplace.i18n import _l
from marketplace.notifications.models import Notification
from marketplace.notifications.services import notify_user
from tests.api.conftest import ApiCaller, make_token
from tests.factories import make_user


def notify(app, user_id: int, number: int, link: str | None = "/deals/7") -> int:
    """A notification to the user, stored as message ids (rendered in each reader's language)."""
    with app.app_context():
        [notification] = notify_user(
            user_id, "order_intent", _l("New message on order intent #%(id)s (%(product)s)", id=number,
                                        product="电饭煲"),
            _l("%(company)s wrote: %(text)s", company="广州测试", text="你好"), link=link, email=False)
        db.session.commit()
        return notification.id


def test_list_notifications_in_the_callers_language_newest_first(app, exporter_api):
    first = notify(app, exporter_api.user_id, 1)
    second = notify(app, exporter_api.user_id, 2, link=None)
    response = exporter_api.get("/notifications")
    assert response.status_code == 200
    body = response.get_json()
    assert [item["id"] for item in body["items"]] == [second, first]
    newest, oldest = body["items"]
    assert newest["subject"] == "New message on order intent #2 (电饭煲)"
    assert newest["body"] == "广州测试 wrote: 你好"
    assert newest["link"] is None
    assert oldest["link"] == "http://127.0.0.1:5000/deals/7"  # absolute, on the public address
    assert (oldest["kind"], oldest["read"], oldest["read_at"]) == ("order_intent", False, None)
    assert body["next_cursor"] is None

    chinese = exporter_api.get("/notifications", headers={"Accept-Language": "zh-CN"}).get_json()
    assert chinese["items"][0]["subject"] == "意向订单 #2（电饭煲）有新留言"
    assert chinese["items"][0]["body"] == "广州测试 留言：你好"


def test_list_notifications_uses_the_public_url_for_links(app_config, request):
    app_config["PUBLIC_URL"] = "https://rongtong.example.cn/"
    app = request.getfixturevalue("app")
    caller = request.getfixturevalue("exporter_api")
    notify(app, caller.user_id, 1, link="/deals/9")
    assert caller.get("/notifications").get_json()["items"][0]["link"] == "https://rongtong.example.cn/deals/9"


def test_list_notifications_pages_with_a_cursor_and_filters_unread(app, exporter_api):
    ids = [notify(app, exporter_api.user_id, n) for n in range(5)]
    page = exporter_api.get("/notifications?limit=2").get_json()
    assert [item["id"] for item in page["items"]] == [ids[4], ids[3]]
    seen = [item["id"] for item in page["items"]]
    cursor = page["next_cursor"]
    while cursor:
        page = exporter_api.get(f"/notifications?limit=2&cursor={cursor}").get_json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
    assert seen == ids[::-1]

    assert exporter_api.post(f"/notifications/{ids[1]}/read").status_code == 200
    unread = exporter_api.get("/notifications?unread=true").get_json()["items"]
    assert [item["id"] for item in unread] == [ids[4], ids[3], ids[2], ids[0]]
    read = exporter_api.get("/notifications?unread=false").get_json()["items"]
    assert [item["id"] for item in read] == [ids[1]]


def test_notifications_are_the_token_users_own(app, exporter_api, api_as):
    with app.app_context():
        colleague = make_user(company=db.session.get(Company, exporter_api.company_id), role=Role.MEMBER)
        colleague_id = colleague.id
    theirs = notify(app, colleague_id, 1)
    elsewhere = api_as(CompanyKind.RETAILER)
    other_company = notify(app, elsewhere.user_id, 2)
    assert exporter_api.get("/notifications").get_json()["items"] == []
    assert exporter_api.get("/notifications/unread-count").get_json() == {"unread": 0}
    for notification_id in (theirs, other_company, 2**31 - 1):
        response = exporter_api.post(f"/notifications/{notification_id}/read")
        assert response.status_code == 404
        assert response.get_json()["detail"] == "This notification does not exist."
    with app.app_context():
        assert db.session.get(Notification, theirs).read_at is None
        assert db.session.get(Notification, other_company).read_at is None


def test_unread_count_and_marking_read(app, exporter_api):
    ids = [notify(app, exporter_api.user_id, n) for n in range(3)]
    assert exporter_api.get("/notifications/unread-count").get_json() == {"unread": 3}
    marked = exporter_api.post(f"/notifications/{ids[0]}/read")
    assert marked.status_code == 200
    assert marked.get_json()["id"] == ids[0] and marked.get_json()["read"] is True
    assert marked.get_json()["read_at"] is not None
    again = exporter_api.post(f"/notifications/{ids[0]}/read")  # a new key: marking again changes nothing
    assert again.status_code == 200 and again.get_json()["read_at"] == marked.get_json()["read_at"]
    assert exporter_api.get("/notifications/unread-count").get_json() == {"unread": 2}

    everything = exporter_api.post("/notifications/read-all")
    assert everything.status_code == 200 and everything.get_json() == {"marked": 2}
    assert exporter_api.get("/notifications/unread-count").get_json() == {"unread": 0}
    assert exporter_api.post("/notifications/read-all").get_json() == {"marked": 0}
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification).where(
            Notification.user_id == exporter_api.user_id, Notification.read_at.is_(None))) == 0


def test_read_all_replay_returns_the_first_answer(app, exporter_api):
    notify(app, exporter_api.user_id, 1)
    first = exporter_api.post("/notifications/read-all", headers={"Idempotency-Key": "read-all-1"})
    notify(app, exporter_api.user_id, 2)
    again = exporter_api.post("/notifications/read-all", headers={"Idempotency-Key": "read-all-1"})
    assert first.get_json() == again.get_json() == {"marked": 1}
    assert again.headers["Idempotent-Replayed"] == "true"
    assert exporter_api.get("/notifications/unread-count").get_json() == {"unread": 1}


def test_unread_count_etag_gives_304(app, exporter_api):
    notify(app, exporter_api.user_id, 1)
    first = exporter_api.get("/notifications/unread-count")
    assert exporter_api.get("/notifications/unread-count",
                            headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    notify(app, exporter_api.user_id, 2)
    changed = exporter_api.get("/notifications/unread-count", headers={"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200 and changed.get_json() == {"unread": 2}


def test_notifications_need_the_read_scope(app, exporter_api):
    notification_id = notify(app, exporter_api.user_id, 1)
    with app.app_context():
        raw = make_token(db.session.get(User, exporter_api.user_id), scopes=["catalog:write"])
    writer = ApiCaller(app.test_client(), exporter_api.company_id, exporter_api.user_id, raw)
    for response in (writer.get("/notifications"), writer.get("/notifications/unread-count"),
                     writer.post(f"/notifications/{notification_id}/read"), writer.post("/notifications/read-all")):
        assert response.status_code == 403
        assert "read" in response.get_json()["detail"]
    with app.app_context():
        assert db.session.get(Notification, notification_id).read_at is None


@pytest.mark.parametrize(("query", "field"), [
    ("unread=maybe", "unread"), ("limit=0", "limit"), ("limit=101", "limit"), ("limit=ten", "limit"),
    ("cursor=abc", "cursor"), ("colour=red", "colour"),
])
def test_list_notifications_bad_query_names_the_field(exporter_api, query, field):
    response = exporter_api.get(f"/notifications?{query}")
    assert response.status_code == 422
    assert response.get_json()["field"] == field
