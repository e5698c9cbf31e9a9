"""Company settings pages for API tokens: list, create (the value shown once), revoke (confirmed)."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from marketplace.accounts.forms import ConfirmForm
from marketplace.api import tokens as services
from marketplace.api.token_forms import TokenForm
from marketplace.errors import PermissionDenied, ValidationFailed, show_on_form
from marketplace.i18n import _

bp = Blueprint("api_tokens", __name__)


def _admin_only() -> None:
    if not current_user.is_company_admin or not current_user.company_id:
        raise PermissionDenied(_("Only a company administrator can manage API tokens."))


@bp.route("/", methods=["GET", "POST"])
@login_required
def index():
    """The company's tokens and the form for a new one; after creating, the value once."""
    _admin_only()
    form = TokenForm()
    if form.validate_on_submit():
        days = None if form.expires.data == "never" else int(form.expires.data)
        try:
            token, raw = services.create_token(current_user._get_current_object(), form.name.data,
                                               form.scopes.data or [], days)
        except ValidationFailed as error:
            show_on_form(form, error)
        else:
            response = render_template("api/token_created.html", token=token, raw=raw)
            return response, 201, {"Cache-Control": "no-store"}
    tokens = services.list_tokens(current_user._get_current_object())
    return render_template("api/tokens.html", form=form, tokens=tokens, confirm_form=ConfirmForm())


@bp.post("/<int:token_id>/revoke")
@login_required
def revoke(token_id: int):
    """Revoke a token (the page asked for confirmation)."""
    _admin_only()
    form = ConfirmForm()
    if form.validate_on_submit():
        token = services.revoke_token(current_user._get_current_object(), token_id)
        flash(_("The token “%(name)s” is revoked; calls with it now fail.", name=token.name), "success")
    return redirect(url_for("api_tokens.index"))
