"""The request form's "Must be met" checkboxes: stored, shown, validated, edited; a demand list gets the default."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from marketplace.errors import ValidationFailed
from marketplace.extensions import db
from marketplace.matching.scoring import DEFAULT_MUSTS
from marketplace.sourcing import services
from marketplace.sourcing.models import ProcurementRequest
from marketplace.sourcing.services import today_in_china
from tests.conftest import login
from tests.test_sourcing_import import commit, csv_bytes, job_id_of, requests_of, row, upload
from tests.test_sourcing_services import make_world, request_input

CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
TOKEN_RE = re.compile(r'name="token" type="hidden" value="([^"]*)"')
VERSION_RE = re.compile(r'name="version" type="hidden" value="([^"]*)"')
CHECKED_RE = re.compile(r'<input[^>]*name="musts" value="([a-z]+)"[^>]*>')


@pytest.fixture
def world_buyer(app, en_client):
    """The sourcing world's buyer, logged in with an English browser."""
    with app.app_context():
        email = make_world().buyer_user.email
    login(en_client, email)
    return en_client


def ticked(page: str) -> list[str]:
    """The must checkboxes ticked on a form page."""
    return [m.group(1) for m in CHECKED_RE.finditer(page) if " checked" in m.group(0)]


def form_data(client, url: str, **overrides) -> dict:
    page = client.get(url).get_data(as_text=True)
    data = {
        "csrf_token": CSRF_RE.search(page).group(1), "token": TOKEN_RE.search(page).group(1),
        "version": VERSION_RE.search(page).group(1),
        "title": "采购智能电饭煲 4L", "description": "用于门店", "category": "small_appliances", "hs_code": "8516",
        "quantity": "1000", "unit": "台", "target_price": "90.00", "budget": "", "province_code": "330000",
        "city_code": "330200", "certifications": ["CCC"], "readiness": ["ccc"],
        "deadline": str(today_in_china() + timedelta(days=10)), "visibility": "public",
    }
    data.update(overrides)
    return data


def stored(app) -> list[list[str]]:
    with app.app_context():
        return [r.must_requirements for r in db.session.scalars(sa.select(ProcurementRequest)
                                                                  .order_by(ProcurementRequest.id))]


def test_a_new_request_form_ticks_the_default_musts_and_explains_them(world_buyer):
    page = world_buyer.get("/sourcing/requests/new").get_data(as_text=True)
    assert ticked(page) == ["certifications"] == list(DEFAULT_MUSTS)
    assert len(CHECKED_RE.findall(page)) == 7
    assert "Exporter in my delivery province" in page
    assert "unticked requirements only lower a supplier&#39;s score" in page


def test_posted_musts_are_stored_and_shown_on_the_request_page(app, world_buyer):
    data = form_data(world_buyer, "/sourcing/requests/new", musts=["region", "certifications", "price"])
    response = world_buyer.post("/sourcing/requests/new", data=data)
    assert response.status_code == 302
    assert stored(app) == [["price", "certifications", "region"]]
    page = world_buyer.get(response.headers["Location"]).get_data(as_text=True)
    shown = page.split('data-testid="request-musts"', 1)[1].split("</dd>", 1)[0]
    assert "Unit price within my target" in shown and "Exporter in my delivery province" in shown
    assert "Required certifications held and valid" in shown and "MOQ within my quantity" not in shown


def test_no_musts_ticked_stores_none_and_shows_a_dash(app, world_buyer):
    data = form_data(world_buyer, "/sourcing/requests/new")
    response = world_buyer.post("/sourcing/requests/new", data=data)
    assert response.status_code == 302 and stored(app) == [[]]
    page = world_buyer.get(response.headers["Location"]).get_data(as_text=True)
    assert page.split('data-testid="request-musts">', 1)[1].startswith("—</dd>")


def test_an_unknown_code_posted_by_hand_is_refused_and_nothing_is_written(app, world_buyer):
    data = form_data(world_buyer, "/sourcing/requests/new", musts=["certifications", "colour"])
    response = world_buyer.post("/sourcing/requests/new", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'data-testid="musts-error"' in page and "Choose the requirements that must be met from the list." in page
    assert stored(app) == []


def test_editing_changes_the_musts(app, world_buyer):
    response = world_buyer.post("/sourcing/requests/new", data=form_data(world_buyer, "/sourcing/requests/new",
                                                                          musts=["certifications"]))
    request_id = int(response.headers["Location"].rsplit("/", 1)[1])
    edit_url = f"/sourcing/requests/{request_id}/edit"
    assert ticked(world_buyer.get(edit_url).get_data(as_text=True)) == ["certifications"]
    response = world_buyer.post(edit_url, data=form_data(world_buyer, edit_url, musts=["moq", "capacity"]))
    assert response.status_code == 302
    assert stored(app) == [["moq", "capacity"]]
    assert ticked(world_buyer.get(edit_url).get_data(as_text=True)) == ["moq", "capacity"]
    # an unknown code on the edit form changes nothing
    response = world_buyer.post(edit_url, data=form_data(world_buyer, edit_url, musts=["moq", "<b>x</b>"]))
    assert response.status_code == 400 and "<b>x</b>" not in response.get_data(as_text=True)
    assert stored(app) == [["moq", "capacity"]]


def test_the_service_defaults_and_refuses_unknown_codes(app):
    with app.app_context():
        assert request_input().must_requirements == DEFAULT_MUSTS
        with pytest.raises(ValidationFailed) as refused:
            services.check_request_input(request_input(must_requirements=("region", "bogus")))
        assert refused.value.field == "musts"
        cleaned = services.check_request_input(request_input(must_requirements=("region", "moq", "region")))
        assert cleaned.must_requirements == ("moq", "region")


def test_a_demand_list_leaves_its_requests_with_the_default_musts(app, world_buyer):
    job_id = job_id_of(upload(world_buyer, csv_bytes([row(), row("空气炸锅 5L")])))
    commit(world_buyer, job_id)
    assert [r.must_requirements for r in requests_of(app)] == [list(DEFAULT_MUSTS)] * 2
