"""New-match notifications: never one message per match.

``notify_new_matches()`` (a periodic job, every minute) takes the matches nobody was told of yet that
score at least ``NOTIFY_SCORE`` and writes **one** in-app notification per request to its buyer
("3 new suppliers for …") and **one** per exporter ("5 new business opportunities"), then marks them
told. E-mail follows each user's choice (``users.match_digest``): ``immediate`` — the same message by
e-mail with that run; ``daily`` — ``send_daily_digests()`` (08:00 Asia/Shanghai) mails a summary of
the last day's new matches; ``off`` — in-app only.
"""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from marketplace.accounts.models import User
from marketplace.database import utcnow
from marketplace.extensions import db
from marketplace.i18n import _l
from marketplace.mail import deliver_outbox
from marketplace.matching.models import Match
from marketplace.notifications.services import _notify
from marketplace.sourcing.models import ProcurementRequest
from marketplace.webhooks.events import emit, subscribed_companies

#: matches scoring at least this are worth a message
NOTIFY_SCORE = 50.0
DIGEST_CHOICES = ("immediate", "daily", "off")
KIND_NEW_SUPPLIERS = "match.suppliers"
KIND_NEW_OPPORTUNITIES = "match.opportunities"


def _users(company_id: int) -> list[User]:
    return list(db.session.scalars(sa.select(User).where(User.company_id == company_id, User.active.is_(True))
                                   .order_by(User.id)))


def _tell(users: list[User], kind: str, subject, body, link: str) -> None:
    immediate = [u for u in users if (u.match_digest or "daily") == "immediate"]
    others = [u for u in users if u not in immediate]
    if immediate:
        _notify(immediate, kind, subject, body, link, email=True)
    if others:
        _notify(others, kind, subject, body, link, email=False)


def notify_new_matches() -> dict:
    """One notification per request to its buyer and one per exporter for matches not yet told of."""
    threshold = int(NOTIFY_SCORE * 10)
    # the matches told of now are those that exist now: one inserted while this runs waits for the next run
    # (the updates below would otherwise mark it told without telling anyone)
    top = db.session.scalar(sa.select(sa.func.max(Match.id))) or 0
    told = Match.id <= top
    buyer_rows = db.session.execute(
        sa.select(Match.request_id, sa.func.count(sa.distinct(Match.exporter_id)))
        .where(told, Match.buyer_notified.is_(False), Match.score_x10 >= threshold).group_by(Match.request_id)).all()
    for request_id, exporters in buyer_rows:
        request = db.session.get(ProcurementRequest, request_id)
        subject = _l("%(count)s new suppliers for your request “%(title)s”", count=exporters, title=request.title)
        body = _l("Open the request to see why each fits and invite them to quote.")
        _tell(_users(request.buyer_company_id), KIND_NEW_SUPPLIERS, subject, body,
              f"/sourcing/requests/{request_id}#suppliers")
    exporter_rows = db.session.execute(
        sa.select(Match.exporter_id, sa.func.count(sa.distinct(Match.request_id)))
        .where(told, Match.exporter_notified.is_(False), Match.score_x10 >= threshold)
        .group_by(Match.exporter_id)).all()
    for exporter_id, requests in exporter_rows:
        subject = _l("%(count)s new business opportunities for your products", count=requests)
        body = _l("Open requests your products fit are waiting for your quote.")
        _tell(_users(exporter_id), KIND_NEW_OPPORTUNITIES, subject, body, "/matching/opportunities")
    _emit_match_webhooks(threshold, told)
    db.session.execute(sa.update(Match).where(told, Match.buyer_notified.is_(False)).values(buyer_notified=True))
    db.session.execute(sa.update(Match).where(told, Match.exporter_notified.is_(False))
                       .values(exporter_notified=True))
    db.session.commit()
    deliver_outbox()
    return {"buyers": len(buyer_rows), "exporters": len(exporter_rows)}


def _emit_match_webhooks(threshold: int, told) -> None:
    """A "match.created" webhook per match not told of yet: to the buyer, and to the exporter when it may see
    the request (queried only for companies with an endpoint subscribed to it)."""
    from marketplace.matching.queries import _visible_requests_for

    hooked = subscribed_companies("match.created")
    if not hooked:
        return
    buyer_rows = db.session.execute(
        sa.select(Match.buyer_id, Match.request_id, Match.product_id, Match.score_x10)
        .where(told, Match.buyer_notified.is_(False), Match.score_x10 >= threshold, Match.buyer_id.in_(hooked))
        .order_by(Match.id))
    for buyer_id, request_id, product_id, score_x10 in buyer_rows.all():
        emit(buyer_id, "match.created", {"request_id": request_id, "product_id": product_id,
                                         "score": score_x10 / 10, "side": "buyer"})
    for company_id in sorted(hooked):
        rows = db.session.execute(
            sa.select(Match.request_id, Match.product_id, Match.score_x10).join(Match.request)
            .where(told, Match.exporter_id == company_id, Match.exporter_notified.is_(False),
                   Match.score_x10 >= threshold, _visible_requests_for())
            .order_by(Match.id), {"company": company_id})
        for request_id, product_id, score_x10 in rows.all():
            emit(company_id, "match.created", {"request_id": request_id, "product_id": product_id,
                                               "score": score_x10 / 10, "side": "exporter"})


def send_daily_digests() -> int:
    """One e-mail per user choosing ``daily``: the last day's new matches of their company (in-app already)."""
    since = utcnow() - timedelta(days=1)
    threshold = int(NOTIFY_SCORE * 10)
    sent = 0
    users = db.session.scalars(sa.select(User).where(User.active.is_(True), User.match_digest == "daily")
                               .order_by(User.id)).all()
    for user in users:
        as_buyer = db.session.scalar(sa.select(sa.func.count()).select_from(Match).where(
            Match.buyer_id == user.company_id, Match.first_seen_at >= since, Match.score_x10 >= threshold))
        as_exporter = db.session.scalar(sa.select(sa.func.count(sa.distinct(Match.request_id))).where(
            Match.exporter_id == user.company_id, Match.first_seen_at >= since, Match.score_x10 >= threshold))
        if not as_buyer and not as_exporter:
            continue
        lines = []
        if as_buyer:
            lines.append(_l("%(count)s new supplier matches for your requests", count=as_buyer))
        if as_exporter:
            lines.append(_l("%(count)s new business opportunities for your products", count=as_exporter))
        _notify([user], "match.digest", _l("Your daily matches on Rongtong"), lines, "/", email=True)
        sent += 1
    db.session.commit()
    deliver_outbox()
    return sent


