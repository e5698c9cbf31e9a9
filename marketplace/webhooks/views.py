"""Webhook pages under /developers/webhooks: the endpoint list, add / edit / delete, the secret shown once,
rolling it, the delivery log with redelivery, and the test event.

Each view parses its form, calls one service in ``services`` and renders or redirects. ``NotFound`` and
``PermissionDenied`` from the services become the localized 404 / 403 pages (another company's ids are
404; a colleague who is not an administrator gets 403). The secret is never in a URL, a flash or the
session: it is rendered once, in the answer to the POST that made it.
"""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from marketplace.errors import ValidationFailed, show_on_form
from marketplace.i18n import _
from marketplace.webhooks import delivery, services
from marketplace.webhooks.events import EVENTS, event_label
from marketplace.webhooks.forms import EndpointForm, WebhookConfirmForm

bp = Blueprint("webhooks", __name__, url_prefix="/developers/webhooks")


def _me():
    """The logged-in user itself, not the proxy."""
    return current_user._get_current_object()


def _secret_page(endpoint, secret: str, created: bool):
    response = render_template("webhooks/secret.html", endpoint=endpoint, secret=secret, created=created)
    return response, 200, {"Cache-Control": "no-store"}


@bp.app_template_global("webhook_event_label")
def _event_label(event: str):
    return event_label(event)


@bp.get("/")
@login_required
def index():
    """The company's endpoints with their status and last delivery."""
    rows = services.list_endpoints(_me())
    return render_template("webhooks/index.html", rows=rows, confirm_form=WebhookConfirmForm(),
                           limit=services.MAX_ENDPOINTS, read_timeout=f"{delivery.read_timeout():g}",
                           disable_after=delivery.disable_after())


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    """Add an endpoint; the answer shows its secret, once."""
    services.require_manager(_me())
    form = EndpointForm()
    if request.method == "GET":
        form.events.data = list(EVENTS)
    if form.validate_on_submit():
        try:
            endpoint, secret = services.create_endpoint(_me(), form.url.data, form.events.data,
                                                        form.description.data)
        except ValidationFailed as error:
            show_on_form(form, error)
        else:
            return _secret_page(endpoint, secret, created=True)
    return render_template("webhooks/form.html", form=form, endpoint=None)


@bp.route("/<int:endpoint_id>/edit", methods=["GET", "POST"])
@login_required
def edit(endpoint_id: int):
    """Change the address, events or description, or switch the endpoint off and on."""
    endpoint = services.get_endpoint(_me(), endpoint_id)
    form = EndpointForm(obj=None if request.method == "POST" else endpoint)
    if form.validate_on_submit():
        try:
            services.update_endpoint(_me(), endpoint_id, form.url.data, form.events.data, form.description.data,
                                     bool(form.active.data))
        except ValidationFailed as error:
            show_on_form(form, error)
        else:
            flash(_("The webhook endpoint is saved."), "success")
            return redirect(url_for("webhooks.index"))
    return render_template("webhooks/form.html", form=form, endpoint=endpoint)


@bp.route("/<int:endpoint_id>/delete", methods=["GET", "POST"])
@login_required
def delete(endpoint_id: int):
    """Ask, then delete the endpoint and its delivery log."""
    endpoint = services.get_endpoint(_me(), endpoint_id)
    form = WebhookConfirmForm()
    if form.validate_on_submit():
        services.delete_endpoint(_me(), endpoint_id)
        flash(_("The webhook endpoint is deleted."), "success")
        return redirect(url_for("webhooks.index"))
    return render_template("webhooks/confirm.html", endpoint=endpoint, form=form, action="delete")


@bp.route("/<int:endpoint_id>/secret", methods=["GET", "POST"])
@login_required
def roll_secret(endpoint_id: int):
    """Ask, then replace the signing secret; the answer shows the new one, once."""
    endpoint = services.get_endpoint(_me(), endpoint_id)
    form = WebhookConfirmForm()
    if form.validate_on_submit():
        endpoint, secret = services.roll_secret(_me(), endpoint_id)
        return _secret_page(endpoint, secret, created=False)
    return render_template("webhooks/confirm.html", endpoint=endpoint, form=form, action="roll")


@bp.get("/<int:endpoint_id>/deliveries")
@login_required
def deliveries(endpoint_id: int):
    """The endpoint's delivery log, newest first."""
    endpoint, page = services.list_deliveries(_me(), endpoint_id, request.args.get("page"))
    return render_template("webhooks/deliveries.html", endpoint=endpoint, page=page,
                           confirm_form=WebhookConfirmForm())


@bp.post("/<int:endpoint_id>/test")
@login_required
def send_test(endpoint_id: int):
    """Queue a test event for the endpoint."""
    form = WebhookConfirmForm()
    endpoint = services.get_endpoint(_me(), endpoint_id)
    if form.validate_on_submit():
        services.send_test(_me(), endpoint_id)
        if endpoint.active:
            flash(_("A test event is queued: it is sent within a minute."), "success")
        else:
            flash(_("A test event is queued. It is sent once you enable the endpoint."), "warning")
    return redirect(url_for("webhooks.deliveries", endpoint_id=endpoint_id))


@bp.post("/deliveries/<int:delivery_id>/redeliver")
@login_required
def redeliver(delivery_id: int):
    """Queue a delivery's event again."""
    form = WebhookConfirmForm()
    if not form.validate_on_submit():
        return redirect(url_for("webhooks.index"))
    copy = services.redeliver(_me(), delivery_id)
    flash(_("The event is queued again: it is sent within a minute."), "success")
    return redirect(url_for("webhooks.deliveries", endpoint_id=copy.endpoint_id))
