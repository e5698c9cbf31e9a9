"""``/api/v1/companies``: the caller's own company, and any company's public profile.

Reads through ``accounts.company_services`` and the same contact rule as the profile page
(``permissions.can_see_contact``): contacts only for the company itself (and organizers).
"""
from __future__ import annotations

import marshmallow as ma

from marketplace.accounts import company_services
from marketplace.accounts.models import CompanyKind
from marketplace.accounts.permissions import can_see_contact
from marketplace.api.core import Blueprint, Schema, actor, scope
from marketplace.errors import NotFound
from marketplace.i18n import _

URL_PREFIX = "/companies"
blp = Blueprint("api_companies", __name__, description="Companies: your own, and public profiles.")


class CompanySchema(Schema):
    """A company's public profile."""

    id = ma.fields.Integer(required=True)
    name_zh = ma.fields.String(required=True)
    name_en = ma.fields.String(allow_none=True)
    kind = ma.fields.String(required=True, metadata={"enum": [k.value for k in CompanyKind]})
    province_code = ma.fields.String(required=True, metadata={"description": "GB/T 2260 code"})
    city_code = ma.fields.String(required=True)
    industry = ma.fields.String(allow_none=True)
    description = ma.fields.String(allow_none=True)
    website = ma.fields.String(allow_none=True)
    verification = ma.fields.String(required=True, metadata={"enum": ["pending", "verified", "rejected"]})
    tags = ma.fields.List(ma.fields.String(), required=True)
    contact = ma.fields.Dict(allow_none=True, metadata={
        "description": "name, phone, email: for the company itself only (null otherwise)."})


class OwnCompanySchema(CompanySchema):
    """The caller's company, with its registration code."""

    uscc = ma.fields.String(required=True, metadata={"description": "统一社会信用代码"})


def company_view(company) -> dict:
    """A company as the API shows it to the caller."""
    shown = can_see_contact(actor(), company)
    return {
        "id": company.id, "name_zh": company.name_zh, "name_en": company.name_en, "kind": company.kind.value,
        "province_code": company.province_code, "city_code": company.city_code, "industry": company.industry,
        "description": company.description, "website": company.website,
        "verification": company.verification.value, "tags": sorted(t.tag.value for t in company.tags),
        "contact": {"name": company.contact_name, "phone": company.contact_phone,
                    "email": company.contact_email} if shown else None,
    }


@blp.route("/me")
@scope("read")
@blp.response(200, OwnCompanySchema)
def own_company():
    """The company of the token."""
    company = actor().company
    return {**company_view(company), "uscc": company.uscc}


@blp.route("/<int:company_id>")
@scope("read")
@blp.response(200, CompanySchema)
def company(company_id: int):
    """A company's public profile (organizers' offices are not listed)."""
    found = company_services.get_company(company_id)
    if found.kind is CompanyKind.ORGANIZER and found.id != actor().company_id:
        raise NotFound(_("This company does not exist."))
    return company_view(found)
