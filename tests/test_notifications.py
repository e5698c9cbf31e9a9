"""Notifications: creating them for a company or a user, the list, marking read, the navbar bell."""
from __future__ import annotations

import re

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.mail import OutboxEmail
from marketplace.notifications.models import Notification
from marketplace.notifications.services import notify_company, notify_user
from tests.conftest import csrf_token, login, post_form
from tests.factories import make_company, make_user

XSS = '<script>alert("x")</script>'


def _notifications(user_id=None) -> list[Notification]:
    query = sa.select(Notification).order_by(Notification.id)
    if user_id is not None:
        query = query.where(Notification.user_id == user_id)
    return list(db.session.scalars(query))


def _emails() -> list[OutboxEmail]:
    return list(db.session.scalars(sa.select(OutboxEmail).order_by(OutboxEmail.id)))


def test_notify_company_creates_one_per_active_user_and_queues_emails(app):
    with app.app_context():
        company = make_company()
        alice = make_user(company=company, email="alice@example.com")
        bob = make_user(company=company, email="bob@example.com")
        make_user(company=company, email="gone@example.com", active=False)
        other = make_user(email="other@example.com")

        created = notify_company(company.id, "order_intent", "新的意向订单", "请查看", link="/deals/7")
        db.session.commit()

        assert len(created) == 2
        rows = _notifications()
        assert {n.user_id for n in rows} == {alice.id, bob.id}
        assert other.id not in {n.user_id for n in rows}
        assert all(n.link == "/deals/7" and n.read_at is None and n.kind == "order_intent" for n in rows)
        emails = _emails()
        assert sorted(e.recipient for e in emails) == ["alice@example.com", "bob@example.com"]
        assert all(e.subject == "新的意向订单" for e in emails)
        assert all(e.body.startswith("请查看") and e.body.endswith("/deals/7") for e in emails)


def test_notify_company_does_not_commit(app):
    with app.app_context():
        company = make_company()
        make_user(company=company)
        notify_company(company.id, "k", "subject", "body")
        db.session.rollback()
        assert _notifications() == []
        assert _emails() == []


def test_notify_company_excludes_user_and_can_skip_email(app):
    with app.app_context():
        company = make_company()
        actor = make_user(company=company)
        colleague = make_user(company=company)

        notify_company(company.id, "k", "subject", "body", email=False, exclude_user_id=actor.id)
        db.session.commit()

        assert [n.user_id for n in _notifications()] == [colleague.id]
        assert _emails() == []


def test_notify_user_skips_inactive_and_drops_unsafe_link(app):
    with app.app_context():
        user = make_user(email="one@example.com")
        inactive = make_user(active=False)

        [notification] = notify_user(user.id, "k", "subject", "body", link="http://evil.example/x")
        assert notify_user(inactive.id, "k", "subject", "body") == []
        notify_user(user.id, "k", "second", "body", link="//evil.example")
        db.session.commit()

        assert notification.link is None
        assert [n.link for n in _notifications(user.id)] == [None, None]
        assert [n.user_id for n in _notifications()] == [user.id, user.id]
        assert all("evil" not in e.body for e in _emails())


def test_list_shows_only_own_notifications_escaped(app, en_client):
    with app.app_context():
        company = make_company()
        me = make_user(company=company, email="me@example.com")
        stranger = make_user(email="stranger@example.com")
        notify_user(me.id, "k", f"Mine {XSS}", f"Body {XSS}", link="/deals/1")
        notify_user(stranger.id, "k", "Not yours", "secret body")
        db.session.commit()

    login(en_client, "me@example.com")
    page = en_client.get("/notifications/").get_data(as_text=True)
    assert "Mine &lt;script&gt;" in page
    assert "Body &lt;script&gt;" in page
    assert XSS not in page
    assert "Not yours" not in page
    assert 'data-read="no"' in page
    assert "Mark all as read" in page


def test_list_empty_state_and_login_required(app, en_client):
    with app.app_context():
        make_user(email="me@example.com")
    response = en_client.get("/notifications/")
    assert response.status_code == 302
    assert "/account/login" in response.headers["Location"]

    login(en_client, "me@example.com")
    page = en_client.get("/notifications/").get_data(as_text=True)
    assert "No notifications yet" in page


def test_read_marks_read_and_follows_link(app, client):
    with app.app_context():
        me = make_user(email="me@example.com")
        [with_link] = notify_user(me.id, "k", "a", "b", link="/deals/3?tab=messages")
        [without_link] = notify_user(me.id, "k", "c", "d")
        db.session.commit()
        with_link_id, without_link_id = with_link.id, without_link.id

    login(client, "me@example.com")
    response = post_form(client, f"/notifications/{with_link_id}/read", {}, form_url="/notifications/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/deals/3?tab=messages"
    response = post_form(client, f"/notifications/{without_link_id}/read", {}, form_url="/notifications/")
    assert response.headers["Location"].endswith("/notifications/")
    with app.app_context():
        assert all(n.read_at is not None for n in _notifications())


def test_read_requires_csrf(app, client):
    with app.app_context():
        me = make_user(email="me@example.com")
        [notification] = notify_user(me.id, "k", "a", "b")
        db.session.commit()
        notification_id = notification.id
    login(client, "me@example.com")
    assert client.post(f"/notifications/{notification_id}/read").status_code == 400
    with app.app_context():
        assert _notifications()[0].read_at is None


def test_read_another_users_notification_is_404(app, client):
    with app.app_context():
        make_user(email="me@example.com")
        stranger = make_user(email="stranger@example.com")
        [theirs] = notify_user(stranger.id, "k", "a", "b", link="/deals/1")
        db.session.commit()
        theirs_id, stranger_id = theirs.id, stranger.id

    login(client, "me@example.com")
    assert post_form(client, f"/notifications/{theirs_id}/read", {}, form_url="/notifications/").status_code == 404
    assert post_form(client, "/notifications/999999/read", {}, form_url="/notifications/").status_code == 404
    with app.app_context():
        assert _notifications(stranger_id)[0].read_at is None


def test_read_all_marks_only_own(app, en_client):
    with app.app_context():
        me = make_user(email="me@example.com")
        stranger = make_user(email="stranger@example.com")
        for index in range(3):
            notify_user(me.id, "k", f"n{index}", "b")
        notify_user(stranger.id, "k", "theirs", "b")
        db.session.commit()
        me_id, stranger_id = me.id, stranger.id

    login(en_client, "me@example.com")
    response = post_form(en_client, "/notifications/read-all", {}, form_url="/notifications/", follow_redirects=True)
    assert response.status_code == 200
    assert "All notifications have been marked as read." in response.get_data(as_text=True)
    with app.app_context():
        assert all(n.read_at is not None for n in _notifications(me_id))
        assert _notifications(stranger_id)[0].read_at is None


def test_list_paginates_newest_first(app, client):
    with app.app_context():
        me = make_user(email="me@example.com")
        for index in range(25):
            notify_user(me.id, "k", f"Subject number {index:02d}", "b", email=False)
        db.session.commit()

    login(client, "me@example.com")
    first = client.get("/notifications/").get_data(as_text=True)
    second = client.get("/notifications/?page=2").get_data(as_text=True)
    assert first.count('data-testid="notification"') == 20
    assert "Subject number 24" in first and "Subject number 04" not in first
    assert second.count('data-testid="notification"') == 5
    assert "Subject number 00" in second
    assert client.get("/notifications/?page=abc").status_code == 200


def test_navbar_shows_unread_count(app, client):
    with app.app_context():
        me = make_user(email="me@example.com")
        for _index in range(2):
            notify_user(me.id, "k", "a", "b")
        notify_user(make_user().id, "k", "not mine", "b")
        db.session.commit()

    anonymous = client.get("/").get_data(as_text=True)
    assert 'data-testid="notification-bell"' not in anonymous

    login(client, "me@example.com")
    page = client.get("/").get_data(as_text=True)
    assert re.search(r'data-testid="unread-count">2<', page)

    token = csrf_token(client, "/notifications/")
    client.post("/notifications/read-all", data={"csrf_token": token})
    page = client.get("/").get_data(as_text=True)
    assert 'data-testid="notification-bell"' in page
    assert 'data-testid="unread-count"' not in page


# --------------------------------------------------------------------------- the reader's language


def _subjects(client) -> list[str]:
    html = client.get("/notifications/").get_data(as_text=True)
    return [re.sub(r"\s+", " ", m).strip() for m in re.findall(r'<p class="mb-1[^"]*">(.*?)</p>', html, re.S)]


def _intent_world(actor_locale: str):
    """A buyer whose user writes in ``actor_locale`` and an exporter with a Chinese and an English reader."""
    from tests.test_deals_services import make_parties

    parties = make_parties()
    parties.buyer_user.locale = actor_locale
    english_reader = make_user(company=parties.exporter, email="en-reader@example.com", locale="en")
    parties.exporter_user.locale = "zh_CN"
    db.session.commit()
    return parties, english_reader


def test_notification_written_in_english_reads_in_chinese_and_english(app, client, en_client):
    from flask_babel import force_locale

    from tests.test_deals_services import start

    with app.app_context():
        parties, _reader = _intent_world("en")
        with force_locale("en"):  # the buyer's request ran in English
            intent = start(parties)
        zh_email, intent_id = parties.exporter_user.email, intent.id
    login(client, zh_email)
    [zh_subject] = [s for s in _subjects(client) if f"#{intent_id}" in s]
    assert "意向订单" in zh_subject and "待出口企业答复" in zh_subject
    login(en_client, "en-reader@example.com")
    [en_subject] = [s for s in _subjects(en_client) if f"#{intent_id}" in s]
    assert "Order intent" in en_subject and "Awaiting the exporter" in en_subject


def test_notification_written_in_chinese_reads_in_english(app, en_client):
    from tests.test_deals_services import start

    with app.app_context():
        parties, _reader = _intent_world("zh_CN")
        intent_id = start(parties).id  # no request: the default language, Chinese
        stored = _notifications(parties.exporter_user.id)
        assert "待出口企业答复" in stored[0].subject  # the text kept for the Chinese recipient
    login(en_client, "en-reader@example.com")
    html = en_client.get("/notifications/").get_data(as_text=True)
    assert f"Order intent #{intent_id}" in html and "Awaiting the exporter" in html
    assert "意向订单" not in html


def test_emails_go_out_in_the_recipients_language_with_the_configured_address(app_config, request):
    app_config["PUBLIC_URL"] = "https://rongtong.example"
    app = request.getfixturevalue("app")
    from marketplace.i18n import _l

    with app.app_context():
        company = make_company()
        zh_user = make_user(company, email="zh@example.com", locale="zh_CN")
        en_user = make_user(company, email="en@example.com", locale="en")
        with app.test_request_context("/", headers={"Host": "evil.example"}):
            notify_company(company.id, "k", _l("Order intents"), _l("Order intent #%(id)s", id=7), link="/deals/7")
            db.session.commit()
        by_user = {email.recipient: email for email in _emails()}
        assert by_user[zh_user.email].subject == "意向订单"
        assert by_user[en_user.email].subject == "Order intents"
        assert by_user[en_user.email].body.startswith("Order intent #7")
        for email in by_user.values():
            assert email.body.endswith("\n\nhttps://rongtong.example/deals/7")
            assert "evil.example" not in email.body


def test_translatable_arguments_and_lines_render_in_the_readers_language(app, client, en_client):
    from marketplace.deals.states import IntentState
    from marketplace.i18n import _l, lazy_money

    with app.app_context():
        user = make_user(email="reader@example.com")
        notify_user(user.id, "k", _l("Order intent #%(id)s (%(product)s): %(state)s", id=3, product="电饭煲",
                                     state=IntentState.DECLINED.label),
                    [_l("%(product)s — %(quantity)s %(unit)s at %(price)s, amount %(amount)s. Now: %(state)s.",
                        product="电饭煲", quantity=300, unit="台", price=lazy_money(8850),
                        amount=lazy_money(2_655_000), state=IntentState.DECLINED.label), "价格太低"])
        db.session.commit()
    login(en_client, "reader@example.com")
    english = en_client.get("/notifications/").get_data(as_text=True)
    assert "Order intent #3 (电饭煲): Declined" in english
    assert "CN¥88.50" in english and "CN¥26,550.00" in english and "价格太低" in english
    login(client, "reader@example.com")
    chinese = client.get("/notifications/").get_data(as_text=True)
    assert "意向订单 #3（电饭煲）：已拒绝" in chinese and "¥26,550.00" in chinese


def test_old_notifications_without_message_ids_show_their_text(app, en_client):
    with app.app_context():
        user = make_user(email="old@example.com")
        db.session.add(Notification(user_id=user.id, kind="k", subject="旧的通知", body="旧正文"))
        db.session.commit()
    login(en_client, "old@example.com")
    html = en_client.get("/notifications/").get_data(as_text=True)
    assert "旧的通知" in html and "旧正文" in html
