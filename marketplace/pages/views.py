"""Views of the public pages."""
from __future__ import annotations

from flask import (
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    send_from_directory,
    session,
    url_for,
)
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField

from marketplace import regions
from marketplace.accounts.auth_services import set_user_locale
from marketplace.accounts.company_services import count_companies_by_kind
from marketplace.i18n import SUPPORTED_LOCALES
from marketplace.pages import bp
from marketplace.pages.workbench import build_workbench
from marketplace.urls import safe_next_url


class LanguageForm(FlaskForm):
    """The language switch on every page (a POST with a CSRF token)."""

    next = HiddenField()


@bp.get("/")
def home():
    """A logged-in user's workbench (what waits for their company); for everyone else, the platform explained."""
    bench = build_workbench(current_user) if current_user.is_authenticated else None
    if bench is not None:
        return render_template("pages/workbench.html", bench=bench)
    return render_template("pages/home.html", counts=count_companies_by_kind())


@bp.post("/language/<locale>")
def switch_language(locale: str):
    """Remember the chosen language (in the session, and on the account when logged in)."""
    if locale not in SUPPORTED_LOCALES:
        abort(404)
    form = LanguageForm()
    if not form.validate_on_submit():
        abort(400)
    session["locale"] = locale
    if current_user.is_authenticated:
        set_user_locale(current_user, locale)
    return redirect(safe_next_url(form.next.data) or url_for("pages.home"))


@bp.get("/regions.json")
def region_data():
    """Province code → cities, for the province/city picker script."""
    response = jsonify(regions.picker_data())
    response.cache_control.public = True
    response.cache_control.max_age = 86400
    return response


@bp.get("/favicon.ico")
def favicon():
    """The site icon (融 on the brand red), where browsers look for it without a <link>."""
    return send_from_directory(current_app.static_folder, "favicon.ico", mimetype="image/vnd.microsoft.icon",
                               max_age=86400)


@bp.app_context_processor
def inject_language_form():
    # formdata=None: never bind to (nor read) the body of the request being answered
    return {"language_form": LanguageForm(formdata=None, next=request.full_path.rstrip("?") if request else "/")}
