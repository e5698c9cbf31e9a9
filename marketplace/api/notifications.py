"""``/api/v1/notifications``: the token user's notifications (the company administrator who made the token),
rendered in the caller's language (``Accept-Language``), and marking them read.

Reads and writes through ``notifications.services``; messages are stored as ids and arguments and shown in
the reader's language (``Notification.display_subject`` / ``display_body``).
"""
from __future__ import annotations

import marshmallow as ma
import sqlalchemy as sa

from marketplace.api import core
from marketplace.api.core import Blueprint, actor, scope
from marketplace.notifications import services
from marketplace.notifications.models import Notification
from marketplace.urls import public_base_url

URL_PREFIX = "/notifications"
blp = Blueprint("api_notifications", __name__, description="Notifications: read and mark read.")


class NotificationListArgs(core.PageArgs):
    """Filters of the list."""

    unread = ma.fields.Boolean(load_default=None, metadata={
        "description": "true: only unread ones; false: only read ones."})


class NotificationSchema(ma.Schema):
    """A notification, in the caller's language."""

    id = ma.fields.Integer(required=True)
    kind = ma.fields.String(required=True, metadata={"description": "order_intent, quote, match …"})
    subject = ma.fields.String(required=True)
    body = ma.fields.String(required=True)
    link = ma.fields.String(required=True, allow_none=True, metadata={
        "description": "The page on the site it is about (an absolute URL), or null."})
    read = ma.fields.Boolean(required=True)
    read_at = ma.fields.DateTime(required=True, allow_none=True)
    created_at = ma.fields.DateTime(required=True)


class UnreadCountSchema(ma.Schema):
    """How many notifications are unread."""

    unread = ma.fields.Integer(required=True)


class MarkedSchema(ma.Schema):
    """How many notifications were marked read."""

    marked = ma.fields.Integer(required=True)


def notification_view(notification: Notification) -> dict:
    """A notification as the API shows it to its reader."""
    return {
        "id": notification.id, "kind": notification.kind, "subject": notification.display_subject,
        "body": notification.display_body,
        "link": public_base_url() + notification.link if notification.link else None,
        "read": notification.is_read, "read_at": notification.read_at, "created_at": notification.created_at,
    }


NotificationPage = core.page_schema(NotificationSchema, "NotificationPage")


@blp.route("", methods=["GET"])
@scope("read")
@blp.arguments(NotificationListArgs, location="query", unknown=ma.RAISE)
@blp.response(200, NotificationPage)
def list_notifications(args: dict):
    """The token user's notifications, newest first."""
    statement = sa.select(Notification).where(Notification.user_id == actor().id)
    if args["unread"] is True:
        statement = statement.where(Notification.read_at.is_(None))
    elif args["unread"] is False:
        statement = statement.where(Notification.read_at.is_not(None))
    items, next_cursor = core.keyset_page(statement, Notification.id, args)
    return {"items": [notification_view(item) for item in items], "next_cursor": next_cursor}


@blp.route("/unread-count", methods=["GET"])
@scope("read")
@blp.response(200, UnreadCountSchema)
def unread_count():
    """How many of the token user's notifications are unread."""
    return {"unread": services.count_unread(actor())}


@blp.route("/<int:notification_id>/read", methods=["POST"])
@scope("read")
@blp.response(200, NotificationSchema)
def mark_read(notification_id: int):
    """Mark one notification read (again: no change)."""
    return notification_view(services.mark_notification_read(actor(), notification_id))


@blp.route("/read-all", methods=["POST"])
@scope("read")
@blp.response(200, MarkedSchema)
def mark_all_read():
    """Mark every unread notification of the token user read."""
    return {"marked": services.mark_all_notifications_read(actor())}
