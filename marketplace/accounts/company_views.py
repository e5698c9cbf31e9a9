"""Company pages: directory, profile, profile editing, tariff exposure, tags, verification.

Views parse input, call one service from ``company_services`` and render or redirect.
Domain errors become form errors (``ValidationFailed``) or the 403/404 pages (the error
handlers render ``PermissionDenied`` and ``NotFound``). No rule lives here.
"""
from __future__ import annotations

import logging

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from marketplace.accounts import company_services as services
from marketplace.accounts.company_forms import (
    CompanyProfileForm,
    CompanyTagForm,
    DirectoryFilterForm,
    TariffExposureForm,
    VerificationForm,
    market_name,
)
from marketplace.accounts.models import CompanyKind
from marketplace.accounts.permissions import can_manage_company, can_see_contact, organizer_required
from marketplace.errors import ValidationFailed
from marketplace.errors import show_on_form as _attach_error
from marketplace.i18n import _
from marketplace.urls import safe_next_url

logger = logging.getLogger(__name__)

bp = Blueprint("companies", __name__)


def _form_data(form) -> dict:
    return {name: field.data for name, field in form._fields.items() if name != "csrf_token"}


@bp.get("/")
def directory():
    """Every company but organizers, filtered by kind, province and name."""
    form = DirectoryFilterForm(request.args)
    filters = services.DirectoryFilter(
        kind=form.selected_kind(), province_code=form.selected_province(), q=form.q.data
    )
    page = services.search_companies(filters, page=request.args.get("page", 1))
    filtered = bool(filters.kind or filters.province_code or (filters.q or "").strip())
    return render_template("companies/directory.html", form=form, page=page, filtered=filtered)


def _render_profile(company, tag_form=None, verification_form=None, status: int = 200):
    user = current_user
    return (
        render_template(
            "companies/profile.html",
            company=company,
            show_contact=can_see_contact(user, company),
            show_reason=services.can_see_verification_reason(user, company),
            can_manage=can_manage_company(user, company),
            is_organizer=user.is_authenticated and user.is_organizer,
            tag_form=tag_form or CompanyTagForm(formdata=None),
            verification_form=verification_form or VerificationForm(formdata=None),
            market_name=market_name,
            CompanyKind=CompanyKind,
        ),
        status,
    )


@bp.get("/<int:company_id>")
def profile(company_id: int):
    """A company's public profile; contacts only for those allowed to see them."""
    return _render_profile(services.get_company(company_id))


def _render_edit(company, form=None, exposure_form=None):
    return render_template(
        "companies/edit.html",
        company=company,
        form=form or CompanyProfileForm(obj=company, company=company),
        exposure_form=exposure_form or TariffExposureForm(formdata=None),
        market_name=market_name,
        CompanyKind=CompanyKind,
    )


def _managed_company(company_id: int):
    """The company, or 404 / 403 before any form is read."""
    company = services.get_company(company_id)
    if not can_manage_company(current_user, company):
        abort(403)
    return company


@bp.route("/<int:company_id>/edit", methods=["GET", "POST"])
@login_required
def edit(company_id: int):
    """Edit the company profile (the company's own admins)."""
    company = _managed_company(company_id)
    form = CompanyProfileForm(company=company) if request.method == "POST" else None
    if form is not None and form.validate_on_submit():
        try:
            services.update_company_profile(current_user, company, _form_data(form))
        except ValidationFailed as error:
            _attach_error(form, error)
        else:
            flash(_("The company profile has been saved."), "success")
            return redirect(url_for("companies.profile", company_id=company.id))
    return _render_edit(company, form=form)


@bp.post("/<int:company_id>/exposures")
@login_required
def add_exposure(company_id: int):
    """Add a former export market to an exporter's tariff exposure."""
    company = _managed_company(company_id)
    if company.kind is not CompanyKind.EXPORTER:
        abort(404)  # only exporters have this section
    form = TariffExposureForm()
    if form.validate_on_submit():
        try:
            services.add_tariff_exposure(current_user, company, _form_data(form))
        except ValidationFailed as error:
            _attach_error(form, error)
        else:
            flash(_("The market has been added to your tariff exposure."), "success")
            return redirect(url_for("companies.edit", company_id=company.id, _anchor="exposure"))
    return _render_edit(company, exposure_form=form)


@bp.post("/<int:company_id>/exposures/<int:exposure_id>/delete")
@login_required
def delete_exposure(company_id: int, exposure_id: int):
    """Delete a row of the company's tariff exposure."""
    company = _managed_company(company_id)
    services.delete_tariff_exposure(current_user, company, exposure_id)
    flash(_("The market has been removed from your tariff exposure."), "success")
    return redirect(url_for("companies.edit", company_id=company.id, _anchor="exposure"))


@bp.post("/<int:company_id>/tags")
@organizer_required
def add_tag(company_id: int):
    """An organizer tags a company (专精特新, 小巨人, 链主) with its source document."""
    company = services.get_company(company_id)
    form = CompanyTagForm()
    if form.validate_on_submit():
        try:
            services.add_company_tag(current_user, company, _form_data(form))
        except ValidationFailed as error:
            _attach_error(form, error)
        else:
            flash(_("The tag has been added."), "success")
            return redirect(url_for("companies.profile", company_id=company.id, _anchor="tags"))
    return _render_profile(company, tag_form=form)


@bp.post("/<int:company_id>/tags/<int:tag_id>/delete")
@organizer_required
def delete_tag(company_id: int, tag_id: int):
    """An organizer removes a tag."""
    company = services.get_company(company_id)
    services.remove_company_tag(current_user, company, tag_id)
    flash(_("The tag has been removed."), "success")
    return redirect(url_for("companies.profile", company_id=company.id, _anchor="tags"))


@bp.get("/verification")
@organizer_required
def verification_queue():
    """Companies awaiting verification, oldest first."""
    page = services.pending_companies(page=request.args.get("page", 1))
    return render_template("companies/verification_queue.html", page=page)


@bp.post("/<int:company_id>/verify")
@organizer_required
def verify(company_id: int):
    """An organizer approves or rejects a company (a reason is required to reject)."""
    company = services.get_company(company_id)
    form = VerificationForm()
    if form.validate_on_submit():
        decide = services.verify_company if form.decision.data == "approve" else services.reject_company
        try:
            decide(current_user, company, form.reason.data)
        except ValidationFailed as error:
            _attach_error(form, error)
        else:
            if form.decision.data == "approve":
                flash(_("%(name)s has been verified.", name=company.display_name), "success")
            else:
                flash(_("%(name)s has been rejected.", name=company.display_name), "warning")
            target = safe_next_url(request.form.get("next")) or url_for("companies.verification_queue")
            return redirect(target)
    return _render_profile(company, verification_form=form)
