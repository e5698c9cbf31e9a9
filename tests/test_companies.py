"""Company pages: directory, profile, profile editing, tariff exposure and tags."""
from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from marketplace.accounts.models import (
    Company,
    CompanyKind,
    CompanyTag,
    CompanyTagKind,
    Role,
    TariffExposure,
    Verification,
)
from marketplace.accounts.uscc_gen import make_uscc
from marketplace.extensions import db
from tests.conftest import login, post_form
from tests.factories import make_company, make_user

SCRIPT = '<script>alert("x")</script>'
ESCAPED = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"


@pytest.fixture
def world(app):
    """Exporter A (admin, member), exporter B (admin), an organizer; ids and e-mails only."""
    with app.app_context():
        a = make_company(
            name_zh="甲方电器有限公司",
            contact_name="王经理",
            contact_phone="0757-86001234",
            contact_email="wang@a.example.com",
            stranded_stock_fen=123456789,
            idle_monthly_capacity="每月两万台",
        )
        a_admin = make_user(a, email="admin@a.example.com")
        a_member = make_user(a, role=Role.MEMBER, email="member@a.example.com")
        b = make_company(name_zh="乙方五金有限公司")
        b_admin = make_user(b, email="admin@b.example.com")
        organizer = make_user(role=Role.ORGANIZER, email="organizer@example.com")
        return SimpleNamespace(
            a=a.id, a_uscc=a.uscc, b=b.id, b_uscc=b.uscc, a_admin=a_admin.email, a_member=a_member.email,
            b_admin=b_admin.email, organizer=organizer.email, organizer_company=organizer.company_id,
        )


def company_row(app, company_id: int) -> dict:
    """The company's columns as plain values (for before/after comparisons)."""
    with app.app_context():
        row = db.session.execute(sa.select(Company.__table__).where(Company.id == company_id)).mappings().one()
        return dict(row)


def edit_data(app, company_id: int, **changes) -> dict:
    """A valid submission of the edit form for the company as it is, with ``changes``."""
    with app.app_context():
        c = db.session.get(Company, company_id)
        data = {
            "name_zh": c.name_zh, "name_en": c.name_en or "", "uscc": c.uscc,
            "province_code": c.province_code, "city_code": c.city_code, "industry": c.industry or "",
            "address": c.address or "", "description": c.description or "", "website": c.website or "",
            "contact_name": c.contact_name or "", "contact_phone": c.contact_phone or "",
            "contact_email": c.contact_email or "", "idle_monthly_capacity": c.idle_monthly_capacity or "",
            "stranded_stock_yuan": "" if c.stranded_stock_fen is None else str(Decimal(c.stranded_stock_fen) / 100),
        }
        if c.kind is not CompanyKind.EXPORTER:
            del data["idle_monthly_capacity"], data["stranded_stock_yuan"]
    data.update(changes)
    return data


def field_errors(html: str) -> list[str]:
    """The texts of every field error on the page."""
    return [e.strip() for e in re.findall(r'<div class="invalid-feedback d-block">(.*?)</div>', html, re.S)]


# --------------------------------------------------------------------------- profile


def test_profile_shows_fields_and_exporter_details(app, en_client, world):
    with app.app_context():
        db.session.add(TariffExposure(
            company_id=world.a, market="US", old_rate=Decimal("7.5"), new_rate=Decimal("52.5"),
            effective_on=date(2025, 4, 9), revenue_share=Decimal("60"),
        ))
        db.session.add(CompanyTag(company_id=world.a, tag=CompanyTagKind.SPECIALIZED,
                                  source_document="工信部公告2024第12号", granted_on=date(2024, 5, 1)))
        db.session.commit()
    html = en_client.get(f"/companies/{world.a}").get_data(as_text=True)
    assert "甲方电器有限公司" in html and world.a_uscc in html
    assert "广东省" in html and "深圳市" in html and "小家电" in html
    assert "Exporter (export-oriented SME)" in html
    assert "United States" in html and "7.5% → <strong>52.5%</strong>" in html and "60%" in html
    assert "Apr 9, 2025" in html
    assert "CN¥1,234,567.89" in html or "¥1,234,567.89" in html
    assert "每月两万台" in html
    assert "Specialized and innovative (专精特新)" in html and "工信部公告2024第12号" in html
    assert 'class="row profile-dl' in html


def test_profile_market_name_is_localized(app, client, world):
    with app.app_context():
        db.session.add(TariffExposure(company_id=world.a, market="US", old_rate=Decimal("7.5"),
                                      new_rate=Decimal("52.5"), effective_on=date(2025, 4, 9),
                                      revenue_share=Decimal("60")))
        db.session.commit()
    assert "美国" in client.get(f"/companies/{world.a}").get_data(as_text=True)


def test_profile_unknown_company_is_404(client, world):
    assert client.get("/companies/999999").status_code == 404


def test_profile_unverified_company_is_marked(app, en_client):
    with app.app_context():
        pending = make_company(verified=False).id
    html = en_client.get(f"/companies/{pending}").get_data(as_text=True)
    assert "badge-unverified" in html and "Unverified" in html


@pytest.mark.parametrize("viewer", [None, "b_admin"])
def test_profile_contact_hidden_from_anonymous_and_other_companies(en_client, world, viewer):
    if viewer:
        login(en_client, getattr(world, viewer))
    html = en_client.get(f"/companies/{world.a}").get_data(as_text=True)
    assert "0757-86001234" not in html and "wang@a.example.com" not in html and "王经理" not in html
    assert "Contact details are shown once both sides have shown interest." in html


@pytest.mark.parametrize("viewer", ["a_admin", "a_member", "organizer"])
def test_profile_contact_visible_to_own_users_and_organizers(en_client, world, viewer):
    login(en_client, getattr(world, viewer))
    html = en_client.get(f"/companies/{world.a}").get_data(as_text=True)
    assert "0757-86001234" in html and "wang@a.example.com" in html and "王经理" in html


def test_profile_rejection_reason_only_for_own_users_and_organizers(app, en_client, world):
    with app.app_context():
        company = db.session.get(Company, world.a)
        company.verification = Verification.REJECTED
        company.verification_reason = "营业执照照片模糊"
        db.session.commit()
    assert "营业执照照片模糊" not in en_client.get(f"/companies/{world.a}").get_data(as_text=True)
    login(en_client, world.b_admin)
    assert "营业执照照片模糊" not in en_client.get(f"/companies/{world.a}").get_data(as_text=True)
    for viewer in (world.a_member, world.organizer):
        other = en_client.application.test_client()
        login(other, viewer)
        assert "营业执照照片模糊" in other.get(f"/companies/{world.a}").get_data(as_text=True)


def test_profile_edit_escapes_html_in_every_text_field(app, client, world):
    login(client, world.a_admin)
    texts = {
        name: f"{SCRIPT}{name}"
        for name in ("name_zh", "name_en", "industry", "address", "description", "contact_name",
                     "idle_monthly_capacity")
    }
    texts["website"] = f"https://example.com/?q={SCRIPT}"
    response = post_form(client, f"/companies/{world.a}/edit", edit_data(app, world.a, **texts),
                         form_url=f"/companies/{world.a}/edit")
    assert response.status_code == 302
    for page in (f"/companies/{world.a}", f"/companies/{world.a}/edit", "/companies/"):
        html = client.get(page).get_data(as_text=True)
        assert "<script>alert" not in html, page
        assert ESCAPED in html, page
    with app.app_context():
        company = db.session.get(Company, world.a)
        assert company.description == f"{SCRIPT}description"
        assert company.website == f"https://example.com/?q={SCRIPT}"


def test_profile_edit_rejects_html_in_phone_and_email_and_shows_it_escaped(app, en_client, world):
    login(en_client, world.a_admin)
    before = company_row(app, world.a)
    for name in ("contact_phone", "contact_email"):
        response = post_form(en_client, f"/companies/{world.a}/edit", edit_data(app, world.a, **{name: SCRIPT}),
                             form_url=f"/companies/{world.a}/edit")
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert "<script>alert" not in html and ESCAPED in html
        assert field_errors(html)
    assert company_row(app, world.a) == before


def test_profile_website_link_never_javascript(app, en_client, world):
    login(en_client, world.a_admin)
    response = post_form(en_client, f"/companies/{world.a}/edit",
                         edit_data(app, world.a, website="javascript:alert(1)"),
                         form_url=f"/companies/{world.a}/edit")
    assert response.status_code == 200
    assert "Enter a web address such as https://www.example.com." in field_errors(response.get_data(as_text=True))


# --------------------------------------------------------------------------- edit


def test_edit_by_own_admin_saves_profile(app, en_client, world):
    login(en_client, world.a_admin)
    assert en_client.get(f"/companies/{world.a}/edit").status_code == 200
    data = edit_data(
        app, world.a, name_en="Jiafang Appliances", province_code="330000", city_code="330200",
        industry="厨房小家电", description="第一行\n第二行", website="www.jiafang.example.com",
        contact_email="Sales@Jiafang.example.com", stranded_stock_yuan="1,000.50", idle_monthly_capacity="5000台",
    )
    response = post_form(en_client, f"/companies/{world.a}/edit", data, form_url=f"/companies/{world.a}/edit")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/companies/{world.a}"
    assert "The company profile has been saved." in en_client.get(response.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        company = db.session.get(Company, world.a)
        assert (company.province_code, company.city_code) == ("330000", "330200")
        assert company.name_en == "Jiafang Appliances"
        assert company.industry == "厨房小家电"
        assert company.description == "第一行\n第二行"
        assert company.website == "https://www.jiafang.example.com"
        assert company.contact_email == "sales@jiafang.example.com"
        assert company.stranded_stock_fen == 100050
        assert company.idle_monthly_capacity == "5000台"
        assert company.is_verified  # name and code unchanged: still verified


def test_edit_blank_stranded_stock_clears_it(app, client, world):
    login(client, world.a_admin)
    response = post_form(client, f"/companies/{world.a}/edit", edit_data(app, world.a, stranded_stock_yuan=""),
                         form_url=f"/companies/{world.a}/edit")
    assert response.status_code == 302
    assert company_row(app, world.a)["stranded_stock_fen"] is None


def test_edit_non_exporter_has_no_exporter_fields(app, client):
    with app.app_context():
        retailer = make_company(kind=CompanyKind.RETAILER)
        email, company_id = make_user(retailer).email, retailer.id
    login(client, email)
    html = client.get(f"/companies/{company_id}/edit").get_data(as_text=True)
    assert 'name="stranded_stock_yuan"' not in html and 'name="market"' not in html
    data = edit_data(app, company_id, stranded_stock_yuan="99", industry="百货")
    assert post_form(client, f"/companies/{company_id}/edit", data,
                     form_url=f"/companies/{company_id}/edit").status_code == 302
    row = company_row(app, company_id)
    assert row["industry"] == "百货" and row["stranded_stock_fen"] is None


def test_edit_other_company_is_403_for_get_and_post(app, client, world):
    login(client, world.b_admin)
    before = company_row(app, world.a)
    assert client.get(f"/companies/{world.a}/edit").status_code == 403
    response = post_form(client, f"/companies/{world.a}/edit", edit_data(app, world.a, name_zh="被篡改"),
                         form_url=f"/companies/{world.b}/edit")
    assert response.status_code == 403
    assert company_row(app, world.a) == before


@pytest.mark.parametrize("viewer", ["a_member", "organizer"])
def test_edit_by_member_or_organizer_is_403(app, client, world, viewer):
    login(client, getattr(world, viewer))
    before = company_row(app, world.a)
    assert client.get(f"/companies/{world.a}/edit").status_code == 403
    response = post_form(client, f"/companies/{world.a}/edit", edit_data(app, world.a, name_zh="被篡改"),
                         form_url="/")
    assert response.status_code == 403
    assert company_row(app, world.a) == before


def test_edit_anonymous_is_sent_to_login(client, world):
    response = client.get(f"/companies/{world.a}/edit")
    assert response.status_code == 302 and "/account/login" in response.headers["Location"]


def test_edit_by_platform_admin_is_allowed(app, client, world):
    with app.app_context():
        email = make_user(role=Role.PLATFORM_ADMIN).email
    login(client, email)
    assert client.get(f"/companies/{world.a}/edit").status_code == 200


def test_edit_unknown_company_is_404(client, world):
    login(client, world.a_admin)
    assert client.get("/companies/999999/edit").status_code == 404


def test_edit_missing_csrf_is_400_and_writes_nothing(app, client, world):
    login(client, world.a_admin)
    before = company_row(app, world.a)
    response = client.post(f"/companies/{world.a}/edit", data=edit_data(app, world.a, name_zh="无令牌"))
    assert response.status_code == 400
    assert company_row(app, world.a) == before


@pytest.mark.parametrize(
    "changes, field_message",
    [
        ({"uscc": "91440300MA5XXXXXX0"}, "The check digit (the last character)"),
        ({"uscc": "12345"}, "A unified social credit code has 18 characters; this one has 5."),
        ({"uscc": ""}, "This field is required."),
        ({"city_code": "330200"}, "The city you chose is not in the province you chose."),
        ({"city_code": ""}, "Choose a city."),
        ({"province_code": "990000"}, "Not a valid choice."),
        ({"name_zh": "名" * 10_000}, "Use at most 200 characters."),
        ({"name_en": "N" * 10_000}, "Use at most 200 characters."),
        ({"description": "长" * 10_000}, "Use at most 5000 characters."),
        ({"address": "址" * 301}, "Use at most 300 characters."),
        ({"name_zh": "   "}, "This field is required."),
        ({"contact_phone": "call me maybe"}, "Enter a phone number"),
        ({"contact_email": "not-an-email"}, "Enter an e-mail address such as name@example.com."),
        ({"stranded_stock_yuan": "-1"}, "Number must be between"),
        ({"stranded_stock_yuan": "1.234"}, "Use at most 2 decimal places."),
        ({"stranded_stock_yuan": "NaN"}, "Enter a number."),
        ({"stranded_stock_yuan": "sNaN"}, "Enter a number."),
        ({"stranded_stock_yuan": "lots"}, "Enter a number."),
        ({"idle_monthly_capacity": "能" * 201}, "Use at most 200 characters."),
    ],
)
def test_edit_bad_input_shows_message_and_writes_nothing(app, en_client, world, changes, field_message):
    login(en_client, world.a_admin)
    before = company_row(app, world.a)
    data = edit_data(app, world.a, **changes)
    response = post_form(en_client, f"/companies/{world.a}/edit", data, form_url=f"/companies/{world.a}/edit")
    assert response.status_code == 200
    errors = field_errors(response.get_data(as_text=True))
    assert any(field_message in e for e in errors), errors
    assert company_row(app, world.a) == before


def test_edit_duplicate_uscc_shows_message_and_writes_nothing(app, en_client, world):
    login(en_client, world.a_admin)
    before = company_row(app, world.a)
    response = post_form(en_client, f"/companies/{world.a}/edit", edit_data(app, world.a, uscc=world.b_uscc),
                         form_url=f"/companies/{world.a}/edit")
    assert response.status_code == 200
    assert "Another company is already registered with this unified social credit code." in field_errors(
        response.get_data(as_text=True)
    )
    assert company_row(app, world.a) == before


def test_edit_uscc_lowercase_and_spaces_are_normalized(app, client, world):
    new_code = make_uscc(777001, "440000")
    messy = " ".join(new_code[i:i + 4] for i in range(0, 18, 4)).lower()
    login(client, world.a_admin)
    response = post_form(client, f"/companies/{world.a}/edit", edit_data(app, world.a, uscc=f"  {messy} "),
                         form_url=f"/companies/{world.a}/edit")
    assert response.status_code == 302
    row = company_row(app, world.a)
    assert row["uscc"] == new_code
    # a new code must be verified again
    assert row["verification"] is Verification.PENDING


def test_edit_rejected_company_goes_back_to_pending(app, client, world):
    with app.app_context():
        company = db.session.get(Company, world.a)
        company.verification = Verification.REJECTED
        company.verification_reason = "资料不全"
        db.session.commit()
    login(client, world.a_admin)
    response = post_form(client, f"/companies/{world.a}/edit", edit_data(app, world.a, industry="家电"),
                         form_url=f"/companies/{world.a}/edit")
    assert response.status_code == 302
    assert company_row(app, world.a)["verification"] is Verification.PENDING


def test_update_company_profile_service_checks_permission(app, world):
    from marketplace.accounts.company_services import update_company_profile
    from marketplace.accounts.models import User
    from marketplace.errors import PermissionDenied

    data = edit_data(app, world.a, name_zh="服务层篡改")
    with app.test_request_context():
        intruder = db.session.scalar(sa.select(User).where(User.email == world.b_admin))
        with pytest.raises(PermissionDenied):
            update_company_profile(intruder, db.session.get(Company, world.a), data)
    assert company_row(app, world.a)["name_zh"] == "甲方电器有限公司"


# --------------------------------------------------------------------------- tariff exposure


def exposure_data(**changes) -> dict:
    data = {"market": "US", "old_rate": "7.5", "new_rate": "52.50", "effective_on": "2025-04-09",
            "revenue_share": "60"}
    data.update(changes)
    return data


def exposures(app, company_id: int) -> list[tuple]:
    with app.app_context():
        rows = db.session.scalars(sa.select(TariffExposure).where(TariffExposure.company_id == company_id)
                                  .order_by(TariffExposure.id))
        return [(e.market, e.old_rate, e.new_rate, e.effective_on, e.revenue_share) for e in rows]


def test_exposure_add_and_delete(app, en_client, world):
    login(en_client, world.a_admin)
    edit_page = en_client.get(f"/companies/{world.a}/edit").get_data(as_text=True)
    assert 'name="market"' in edit_page and '<option value="US">United States (US)</option>' in edit_page
    assert '<option value="CN">' not in edit_page and '<option value="ZZ">' not in edit_page
    response = post_form(en_client, f"/companies/{world.a}/exposures", exposure_data(),
                         form_url=f"/companies/{world.a}/edit")
    assert response.status_code == 302
    assert exposures(app, world.a) == [("US", Decimal("7.50"), Decimal("52.50"), date(2025, 4, 9), Decimal("60.00"))]
    html = en_client.get(f"/companies/{world.a}").get_data(as_text=True)
    assert "United States" in html
    edit_page = en_client.get(f"/companies/{world.a}/edit").get_data(as_text=True)
    match = re.search(rf'action="/companies/{world.a}/exposures/(\d+)/delete" data-confirm="', edit_page)
    assert match
    response = post_form(en_client, f"/companies/{world.a}/exposures/{match.group(1)}/delete", {},
                         form_url=f"/companies/{world.a}/edit")
    assert response.status_code == 302
    assert exposures(app, world.a) == []


def test_exposure_duplicate_market_shows_message(app, en_client, world):
    login(en_client, world.a_admin)
    url = f"/companies/{world.a}/exposures"
    assert post_form(en_client, url, exposure_data(), form_url=f"/companies/{world.a}/edit").status_code == 302
    response = post_form(en_client, url, exposure_data(old_rate="0"), form_url=f"/companies/{world.a}/edit")
    assert response.status_code == 200
    assert any("This market is already in your tariff exposure" in e
               for e in field_errors(response.get_data(as_text=True)))
    assert len(exposures(app, world.a)) == 1


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"market": "CN"}, "Not a valid choice."),
        ({"market": "ZZ"}, "Not a valid choice."),
        ({"market": "USA"}, "Not a valid choice."),
        ({"market": ""}, "Choose a market."),
        ({"old_rate": "-1"}, "Number must be between 0 and 1000."),
        ({"new_rate": "1000.01"}, "Number must be between 0 and 1000."),
        ({"new_rate": "12.345"}, "Use at most 2 decimal places."),
        ({"new_rate": "Infinity"}, "Enter a number."),
        ({"revenue_share": "100.5"}, "Number must be between 0 and 100."),
        ({"revenue_share": ""}, "This field is required."),
        ({"effective_on": "2025-13-40"}, "Not a valid date value."),
        ({"effective_on": "1900-01-01"}, "Enter a date after 1990-01-01."),
    ],
)
def test_exposure_bad_values_show_message_and_write_nothing(app, en_client, world, changes, message):
    login(en_client, world.a_admin)
    response = post_form(en_client, f"/companies/{world.a}/exposures", exposure_data(**changes),
                         form_url=f"/companies/{world.a}/edit")
    assert response.status_code == 200
    errors = field_errors(response.get_data(as_text=True))
    assert any(message in e for e in errors), errors
    assert exposures(app, world.a) == []


def test_exposure_other_company_is_403(app, client, world):
    login(client, world.b_admin)
    response = post_form(client, f"/companies/{world.a}/exposures", exposure_data(), form_url="/")
    assert response.status_code == 403
    assert exposures(app, world.a) == []


def test_exposure_delete_of_another_companys_row_is_404(app, client, world):
    with app.app_context():
        theirs = TariffExposure(company_id=world.b, market="US", old_rate=1, new_rate=2,
                                effective_on=date(2025, 1, 1), revenue_share=3)
        db.session.add(theirs)
        db.session.commit()
        theirs_id = theirs.id
    login(client, world.a_admin)
    response = post_form(client, f"/companies/{world.a}/exposures/{theirs_id}/delete", {}, form_url="/")
    assert response.status_code == 404
    # and through B's own URL, A's admin is refused
    response = post_form(client, f"/companies/{world.b}/exposures/{theirs_id}/delete", {}, form_url="/")
    assert response.status_code == 403
    assert len(exposures(app, world.b)) == 1


def test_exposure_for_non_exporter_is_404(app, client):
    with app.app_context():
        retailer = make_company(kind=CompanyKind.RETAILER)
        email, company_id = make_user(retailer).email, retailer.id
    login(client, email)
    response = post_form(client, f"/companies/{company_id}/exposures", exposure_data(), form_url="/")
    assert response.status_code == 404


# --------------------------------------------------------------------------- tags


def tag_data(**changes) -> dict:
    data = {"tag": "specialized", "source_document": "工信部企业函〔2024〕123号", "granted_on": "2024-07-01"}
    data.update(changes)
    return data


def tags(app, company_id: int) -> list[tuple]:
    with app.app_context():
        rows = db.session.scalars(sa.select(CompanyTag).where(CompanyTag.company_id == company_id))
        return [(t.tag.value, t.source_document, t.granted_on) for t in rows]


def test_tags_added_and_removed_by_organizer(app, en_client, world):
    login(en_client, world.organizer)
    profile = en_client.get(f"/companies/{world.a}").get_data(as_text=True)
    assert 'name="source_document"' in profile
    response = post_form(en_client, f"/companies/{world.a}/tags", tag_data(), form_url=f"/companies/{world.a}")
    assert response.status_code == 302
    assert tags(app, world.a) == [("specialized", "工信部企业函〔2024〕123号", date(2024, 7, 1))]
    with app.app_context():
        tag = db.session.scalar(sa.select(CompanyTag).where(CompanyTag.company_id == world.a))
        tag_id, set_by = tag.id, tag.set_by_id
    assert set_by is not None
    html = en_client.get(f"/companies/{world.a}").get_data(as_text=True)
    assert "Specialized and innovative (专精特新)" in html and "工信部企业函〔2024〕123号" in html
    assert "/companies/" in en_client.get("/companies/").get_data(as_text=True)
    response = post_form(en_client, f"/companies/{world.a}/tags/{tag_id}/delete", {}, form_url=f"/companies/{world.a}")
    assert response.status_code == 302
    assert tags(app, world.a) == []


def test_tags_form_hidden_from_non_organizers(en_client, world):
    assert 'name="source_document"' not in en_client.get(f"/companies/{world.a}").get_data(as_text=True)
    login(en_client, world.a_admin)
    assert 'name="source_document"' not in en_client.get(f"/companies/{world.a}").get_data(as_text=True)


@pytest.mark.parametrize("viewer", ["a_admin", "a_member", "b_admin"])
def test_tags_by_non_organizer_is_403(app, client, world, viewer):
    with app.app_context():
        existing = CompanyTag(company_id=world.a, tag=CompanyTagKind.LITTLE_GIANT, source_document="文件",
                              granted_on=date(2024, 1, 1))
        db.session.add(existing)
        db.session.commit()
        existing_id = existing.id
    login(client, getattr(world, viewer))
    assert post_form(client, f"/companies/{world.a}/tags", tag_data(), form_url="/").status_code == 403
    assert post_form(client, f"/companies/{world.a}/tags/{existing_id}/delete", {}, form_url="/").status_code == 403
    assert tags(app, world.a) == [("little_giant", "文件", date(2024, 1, 1))]


def test_tags_anonymous_is_sent_to_login(app, client, world):
    response = post_form(client, f"/companies/{world.a}/tags", tag_data(), form_url="/")
    assert response.status_code == 302 and "/account/login" in response.headers["Location"]
    assert tags(app, world.a) == []


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"source_document": ""}, "This field is required."),
        ({"source_document": "文" * 301}, "Use at most 300 characters."),
        ({"granted_on": (date.today() + timedelta(days=3)).isoformat()}, "The date cannot be in the future."),
        ({"granted_on": ""}, "This field is required."),
        ({"tag": "self_declared"}, "Not a valid choice."),
    ],
)
def test_tags_bad_values_show_message_and_write_nothing(app, en_client, world, changes, message):
    login(en_client, world.organizer)
    response = post_form(en_client, f"/companies/{world.a}/tags", tag_data(**changes), form_url=f"/companies/{world.a}")
    assert response.status_code == 200
    errors = field_errors(response.get_data(as_text=True))
    assert any(message in e for e in errors), errors
    assert tags(app, world.a) == []


def test_tags_duplicate_shows_message(app, en_client, world):
    login(en_client, world.organizer)
    url = f"/companies/{world.a}/tags"
    assert post_form(en_client, url, tag_data(), form_url=f"/companies/{world.a}").status_code == 302
    response = post_form(en_client, url, tag_data(source_document="另一份文件"), form_url=f"/companies/{world.a}")
    assert "This company already has this tag" in " ".join(field_errors(response.get_data(as_text=True)))
    assert len(tags(app, world.a)) == 1


def test_tags_delete_of_another_companys_tag_is_404(app, client, world):
    with app.app_context():
        theirs = CompanyTag(company_id=world.b, tag=CompanyTagKind.CHAIN_LEADER, source_document="文件",
                            granted_on=date(2024, 1, 1))
        db.session.add(theirs)
        db.session.commit()
        theirs_id = theirs.id
    login(client, world.organizer)
    response = post_form(client, f"/companies/{world.a}/tags/{theirs_id}/delete", {}, form_url="/")
    assert response.status_code == 404
    assert len(tags(app, world.b)) == 1


# --------------------------------------------------------------------------- directory


def directory_names(client, query: str = "") -> list[str]:
    html = client.get(f"/companies/{query}").get_data(as_text=True)
    return re.findall(r'<a href="/companies/\d+" class="fw-semibold">(.*?)</a>', html)


def test_directory_lists_companies_and_marks_unverified(app, en_client, world):
    with app.app_context():
        pending = make_company(name_zh="待审核贸易有限公司", kind=CompanyKind.TRADE_CIRCULATION, verified=False).id
    html = en_client.get("/companies/").get_data(as_text=True)
    assert "甲方电器有限公司" in html and "乙方五金有限公司" in html
    row = re.search(rf'data-company-id="{pending}">(.*?)</tr>', html, re.S).group(1)
    assert "badge-unverified" in row and "Unverified" in row
    verified_row = re.search(rf'data-company-id="{world.a}">(.*?)</tr>', html, re.S).group(1)
    assert "badge-unverified" not in verified_row
    # organizers are not listed
    with app.app_context():
        organizer_name = db.session.get(Company, world.organizer_company).name_zh
    assert organizer_name not in html
    assert 'class="table-responsive"' in html


def test_directory_filters_by_kind_province_and_name(app, client, world):
    with app.app_context():
        make_company(name_zh="浙江链主集团", kind=CompanyKind.CHAIN_LEADER, province_code="330000",
                     city_code="330100", name_en="Zhejiang Chain Leader Group")
        make_company(name_zh="江苏零售有限公司", kind=CompanyKind.RETAILER, province_code="320000", city_code="320100")
    assert directory_names(client, "?kind=chain_leader") == ["浙江链主集团"]
    assert directory_names(client, "?province=320000") == ["江苏零售有限公司"]
    assert directory_names(client, "?q=甲方") == ["甲方电器有限公司"]
    assert directory_names(client, "?q=chain+LEADER") == ["浙江链主集团"]
    assert directory_names(client, "?kind=exporter&province=330000") == []
    assert sorted(directory_names(client, "?kind=nonsense&province=bogus&page=abc")) == sorted(
        ["浙江链主集团", "江苏零售有限公司", "甲方电器有限公司", "乙方五金有限公司"]
    )


def test_directory_name_filter_treats_wildcards_literally(client, world):
    assert directory_names(client, "?q=%25") == []
    assert directory_names(client, "?q=_") == []


def test_directory_empty_states(en_client, world):
    html = en_client.get("/companies/?q=不存在的公司").get_data(as_text=True)
    assert "No company matches these filters." in html


def test_directory_empty_when_no_companies(en_client, app):
    assert "No companies yet." in en_client.get("/companies/").get_data(as_text=True)


def test_directory_paginates_twenty_per_page(app, en_client):
    with app.app_context():
        for i in range(45):
            make_company(name_zh=f"分页测试{i:02d}有限公司")
    first = en_client.get("/companies/").get_data(as_text=True)
    assert len(directory_names(en_client)) == 20
    assert "Page 1 of 3 · 45 in all" in first
    assert len(directory_names(en_client, "?page=3")) == 5
    all_names = set()
    for page in (1, 2, 3):
        all_names.update(directory_names(en_client, f"?page={page}"))
    assert len(all_names) == 45
    assert directory_names(en_client, "?page=99") == []
    assert en_client.get("/companies/?page=99999999999999999999").status_code == 200
    assert en_client.get("/companies/?page=-5").status_code == 200


def test_directory_odd_input_never_errors(client, world):
    for query in ("?q=%00", "?q=" + "x" * 5000, "?kind=%00&province=%00", "?q=<script>"):
        response = client.get(f"/companies/{query}")
        assert response.status_code == 200
        assert "<script>" not in response.get_data(as_text=True).split("<main", 1)[1].replace(
            '<script src=', '')
