"""Order-intent pages: start one from a product, the intent page and its actions, messages, lists, exports.

Views parse input, call one service from ``services`` and render or redirect. Domain errors
become form errors or flashes (``ValidationFailed``, ``Conflict``) or the 403/404 pages. No
rule lives here.
"""
from __future__ import annotations

import logging

from flask import abort, flash, make_response, redirect, render_template, request, send_file, session, url_for
from flask_login import current_user, login_required

from marketplace.deals import bp, services
from marketplace.deals.attachments import MAX_ATTACHMENT_BYTES
from marketplace.deals.forms import (
    ActionForm,
    CounterTermsForm,
    IntentFilterForm,
    MessageForm,
    StartIntentForm,
    new_token,
)
from marketplace.deals.states import STATE_COLOURS, Action, IntentState, Party
from marketplace.errors import Conflict, ValidationFailed
from marketplace.errors import show_on_form as _attach_error
from marketplace.i18n import _
from marketplace.inputs import query_id
from marketplace.spreadsheets import MIMETYPES

logger = logging.getLogger(__name__)



@bp.context_processor
def _deal_values():
    return {"IntentState": IntentState, "Action": Action, "Party": Party, "STATE_COLOURS": STATE_COLOURS}


@bp.app_template_global()
def intent_offer(product) -> str | None:
    """For the product page: 'start' (the button), 'verify_first', or None (``services.intent_offer``)."""
    return services.intent_offer(current_user, product)


# --------------------------------------------------------------------------- starting


#: how many products' start-form tokens a session keeps
KEPT_TOKENS = 20


def _start_token(product_id: int, fresh: bool) -> str:
    """The start form's token for this product, kept in the session.

    Pages of logged-in users are not cached, so Back fetches the form again: a token minted on
    every GET would make "Back, then Send" a second intent. Keeping it per product lets the
    service find the intent the first Send made (``services.start_token_reusable``).
    """
    tokens = dict(session.get("intent_tokens") or {})
    key = str(product_id)
    token = tokens.pop(key, None)
    if fresh or not services.start_token_reusable(current_user, token):
        token = new_token()
    tokens[key] = token  # re-inserted last: the oldest entries go first
    session["intent_tokens"] = dict(list(tokens.items())[-KEPT_TOKENS:])
    return token


@bp.route("/new", methods=["GET", "POST"])
@login_required
def start():
    """The order-intent form for a product (``?product=ID``); sends it, or keeps it as a draft."""
    form = StartIntentForm()
    product_id = query_id(request.args.get("product") or form.product_id.data)
    if product_id is None:
        abort(404)
    product = services.get_product_for_intent(current_user, product_id)
    if request.method == "GET":
        if request.args.get("another"):
            # a deliberate second intent: a new token, then the plain URL (so Back cannot mint another)
            _start_token(product.id, fresh=True)
            return redirect(url_for("deals.start", product=product.id))
        form.prepare(product, token=_start_token(product.id, fresh=False))
    elif form.validate_on_submit():
        recorded = record_start_form(form, product.id)
        if recorded is not None:
            return recorded
    return render_template(
        "deals/start.html", form=form, product=product,
        open_intents=services.open_intents_on_product(current_user, product.id),
    )


def record_start_form(form, product_id: int, session_id: int | None = None):
    """Record the intent a valid start form describes (at a matchmaking session when ``session_id`` is
    given): the redirect to it, or None with the refusal on the form."""
    try:
        intent, created = services.record_order_intent(
            current_user, product_id, form.to_terms(), form.token.data or "", note=form.note.data,
            submit=form.submit_action.data != "draft", below_moq_confirmed=bool(form.confirm_below_moq.data),
            session_id=session_id,
        )
    except ValidationFailed as error:
        _attach_error(form, error)
        return None
    if not created:
        flash(_("This order intent had already been recorded; here it is."), "info")
    elif intent.state is IntentState.DRAFT:
        flash(_("The order intent has been saved as a draft."), "success")
    else:
        flash(_("The order intent has been sent to the exporter."), "success")
    return redirect(url_for("deals.intent_page", intent_id=intent.id))


# --------------------------------------------------------------------------- one intent


def _render_intent(intent, action_form=None, counter_form=None, message_form=None, status=200):
    view = services.intent_view(current_user, intent)
    if counter_form is None:
        counter_form = CounterTermsForm(formdata=None)
        counter_form.fill_from(services.current_terms(intent))
    return render_template(
        "deals/intent.html", intent=intent, view=view,
        action_form=action_form or ActionForm(formdata=None),
        counter_form=counter_form, message_form=message_form or MessageForm(formdata=None),
        max_attachment_mb=MAX_ATTACHMENT_BYTES // 1024 // 1024,
    ), status


@bp.get("/<int:intent_id>")
@login_required
def intent_page(intent_id: int):
    """The intent: terms, state, history, actions and messages (404 for other companies)."""
    intent = services.get_intent(current_user, intent_id)
    return _render_intent(intent)


@bp.post("/<int:intent_id>/act")
@login_required
def act(intent_id: int):
    """Apply one action (accept, counter, decline, withdraw, sign, fulfil, submit) to the intent."""
    intent = services.get_intent(current_user, intent_id)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    action = form.chosen
    terms = None
    counter_form = None
    if action is Action.COUNTER:
        counter_form = CounterTermsForm()
        if not counter_form.validate():
            return _render_intent(intent, action_form=form, counter_form=counter_form, status=400)
        terms = counter_form.to_terms()
    try:
        services.advance_order_intent(current_user, intent_id, action, form.version.data, terms=terms,
                                      note=form.note.data)
    except Conflict as error:
        flash(str(error.message), "warning")
        return redirect(url_for("deals.intent_page", intent_id=intent_id))
    except ValidationFailed as error:
        if counter_form is not None and error.field in counter_form._fields:
            _attach_error(counter_form, error)
            return _render_intent(intent, action_form=form, counter_form=counter_form, status=400)
        flash(str(error.message), "danger")
        return redirect(url_for("deals.intent_page", intent_id=intent_id))
    flash(_("Done: %(action)s.", action=action.label), "success")
    return redirect(url_for("deals.intent_page", intent_id=intent_id))


@bp.post("/<int:intent_id>/messages")
@login_required
def post_message(intent_id: int):
    """Write to the other company, with an optional attachment."""
    intent = services.get_intent(current_user, intent_id)
    form = MessageForm()
    if form.validate_on_submit():
        upload = form.attachment.data
        attachment = None
        if upload is not None and getattr(upload, "filename", ""):
            attachment = (upload.read(MAX_ATTACHMENT_BYTES + 1), upload.filename)
        try:
            services.post_intent_message(current_user, intent.id, form.body.data, attachment)
        except ValidationFailed as error:
            _attach_error(form, error)
        else:
            flash(_("Your message has been sent."), "success")
            return redirect(url_for("deals.intent_page", intent_id=intent.id, _anchor="messages"))
    return _render_intent(intent, message_form=form, status=400)


@bp.get("/attachments/<int:message_id>")
@login_required
def attachment(message_id: int):
    """A message's attachment, for the intent's two companies only, always as a download."""
    message, path = services.get_attachment(current_user, message_id)
    response = send_file(path, mimetype=message.attachment_type, as_attachment=True,
                         download_name=message.attachment_original or path.name, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


# --------------------------------------------------------------------------- lists


@bp.get("/")
@login_required
def index():
    """The company's intents as buyer and as exporter, filtered, with totals by state."""
    form = IntentFilterForm(request.args, counterparts=services.counterpart_choices(current_user))
    filters = form.filters()
    page, totals = services.list_intents(current_user, filters, page=request.args.get("page", 1))
    return render_template("deals/list.html", form=form, page=page, totals=totals, filtered=filters.active)


@bp.get("/export.<fmt>")
@login_required
def export(fmt: str):
    """The filtered list as CSV or XLSX."""
    if fmt not in MIMETYPES:
        abort(404)
    form = IntentFilterForm(request.args)
    data = services.export_intents(current_user, form.filters(), fmt)
    response = make_response(data)
    response.headers["Content-Type"] = MIMETYPES[fmt]
    response.headers["Content-Disposition"] = f'attachment; filename="order-intents.{fmt}"'
    return response
