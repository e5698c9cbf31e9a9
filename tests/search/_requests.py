"""Helpers of the request-index tests: a buyer world, posting requests through the services, searching."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from marketplace.accounts.models import Company, CompanyKind, User
from marketplace.sourcing import services
from marketplace.sourcing.models import ProcurementRequest
from marketplace.sourcing.services import RequestInput, today_in_china
from search_index import Filters, SearchQuery, SearchResults
from tests.factories import make_company, make_user


@dataclass
class Buyers:
    """A verified chain leader (and its user), an invited exporter and an outside exporter."""

    buyer: Company
    buyer_user: User
    exporter: Company
    exporter_user: User
    outsider_user: User


def make_buyers(name_zh: str | None = None) -> Buyers:
    """A buyer that may post requests and two verified exporters."""
    extra = {"name_zh": name_zh} if name_zh else {}
    buyer = make_company(kind=CompanyKind.CHAIN_LEADER, province_code="330000", city_code="330200", **extra)
    exporter = make_company(kind=CompanyKind.EXPORTER)
    outsider = make_company(kind=CompanyKind.EXPORTER)
    return Buyers(buyer, make_user(company=buyer), exporter, make_user(company=exporter), make_user(company=outsider))


def request_input(**overrides) -> RequestInput:
    """A request for rice cookers delivered to Ningbo, quotes within two weeks."""
    values = {"title": "采购智能电饭煲 4L", "category": "small_appliances", "quantity": 1000, "unit": "台",
              "delivery_province_code": "330000", "delivery_city_code": "330200",
              "deadline": today_in_china() + timedelta(days=14), "description": "用于门店销售",
              "target_unit_price_fen": 9000, "required_certifications": ("CCC",)}
    values.update(overrides)
    return RequestInput(**values)


def post(world: Buyers, publish: bool = True, **overrides) -> ProcurementRequest:
    """A request by the world's buyer, published unless asked otherwise."""
    request, created = services.create_request(world.buyer_user, request_input(**overrides),
                                               secrets.token_urlsafe(24))
    assert created
    if publish:
        request = services.publish_request(world.buyer_user, request.id, request.version)
    return request


def request_results(text: str = "", *, sort: str = "relevance", page: int = 1, per_page: int = 100,
                    facets: bool = False, **filters) -> SearchResults:
    """A search of this app's request index."""
    from marketplace.search import sync

    return sync.get_index("requests").search(SearchQuery(text=text, filters=Filters(**filters), sort=sort,
                                                         page=page, per_page=per_page, facets=facets))


def found_requests(text: str = "", **filters) -> set[int]:
    """Ids of every request the index finds."""
    return {hit.id for hit in request_results(text, **filters).hits}
