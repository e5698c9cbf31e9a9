"""The procurement-request kind of the search index: which rows touch it, what is public, its records.

Only open, public requests whose deadline (Asia/Shanghai) has not passed are indexed; invited-only
requests never are (their invited exporters see them from the database). Registered with
``marketplace.search.kinds`` when the sourcing package is imported (app start).
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from marketplace.catalog.search_kind import category_names, hs_names
from marketplace.i18n import today_in_china
from marketplace.search import kinds
from marketplace.search.models import KIND_COMPANY, KIND_REQUEST
from marketplace.sourcing.models import ProcurementRequest
from marketplace.sourcing.states import RequestState, Visibility
from search_index import REQUESTS, RequestRecord


def change_key(session, obj, change: str) -> tuple[str, int | None] | None:
    """A request's own flush means a change row (a company's name change is logged by the product kind)."""
    if isinstance(obj, ProcurementRequest):
        if change == "dirty" and not session.is_modified(obj, include_collections=False):
            return None
        return KIND_REQUEST, obj.id
    return None


def object_ids(session: Session, index, changes: list[tuple[int, str, int]]) -> set[int]:
    """Ids of the requests a batch of change rows touches (a company change: all its requests)."""
    request_ids = {object_id for _id, kind, object_id in changes if kind == KIND_REQUEST}
    company_ids = {object_id for _id, kind, object_id in changes if kind == KIND_COMPANY}
    if company_ids:
        request_ids.update(session.scalars(
            sa.select(ProcurementRequest.id).where(ProcurementRequest.buyer_company_id.in_(company_ids))))
        for company_id in company_ids:  # documents of requests deleted with their company
            request_ids.update(index.company_doc_ids(company_id))
    return request_ids


def is_indexed(request: ProcurementRequest, today: date | None = None) -> bool:
    """Whether a request belongs in the public index: open, public, deadline not passed."""
    return (request.state is RequestState.OPEN and request.visibility is Visibility.PUBLIC
            and request.deadline >= (today or today_in_china()))


def request_record(request: ProcurementRequest, _labels_cache: dict | None = None) -> RequestRecord:
    """The index's view of an open, public request."""
    labels_cache = _labels_cache if _labels_cache is not None else {}
    if request.category not in labels_cache:
        labels_cache[request.category] = category_names(request.category)
    company = request.buyer_company
    return RequestRecord(
        id=request.id, buyer_company_id=company.id, buyer_company_name=company.name_zh,
        buyer_company_name_en=company.name_en, title=request.title, description=request.description,
        category=request.category, category_names=labels_cache[request.category],
        hs_code=request.hs_code, hs_names=hs_names(request.hs_code),
        quantity=request.quantity, unit=request.unit,
        target_unit_price_fen=request.target_unit_price_fen, budget_fen=request.budget_fen,
        delivery_province=request.delivery_province_code, delivery_city=request.delivery_city_code,
        required_certifications=tuple(sorted(request.required_certifications or ())),
        deadline=request.deadline, state=request.state.value, visibility=request.visibility.value,
        published_at=request.published_at or request.created_at, updated_at=request.updated_at,
    )


def _load(session: Session, ids: Iterable[int]) -> list[ProcurementRequest]:
    ids = list(ids)
    found: list[ProcurementRequest] = []
    for start in range(0, len(ids), 500):
        found.extend(session.scalars(
            sa.select(ProcurementRequest).where(ProcurementRequest.id.in_(ids[start:start + 500]))
            .options(selectinload(ProcurementRequest.buyer_company))))
    return found


def records_for(session: Session, request_ids: Iterable[int]) -> tuple[list[RequestRecord], list[int]]:
    """(records of the indexed ones, ids of the rest) for the given request ids."""
    wanted = set(request_ids)
    today = today_in_china()
    labels_cache: dict = {}
    records = [request_record(r, labels_cache) for r in _load(session, wanted) if is_indexed(r, today)]
    public = {record.id for record in records}
    return records, sorted(i for i in wanted if i not in public)


def public_requests_query(today: date | None = None):
    """SELECT of the requests the public index holds."""
    return sa.select(ProcurementRequest).where(
        ProcurementRequest.state == RequestState.OPEN, ProcurementRequest.visibility == Visibility.PUBLIC,
        ProcurementRequest.deadline >= (today or today_in_china()))


def iter_public_records(session: Session, batch: int = 1000) -> Iterator[RequestRecord]:
    """Every indexed request's record, in id order, read in batches (for rebuild and check)."""
    labels_cache: dict = {}
    today = today_in_china()
    last_id = 0
    while True:
        ids = session.scalars(public_requests_query(today).with_only_columns(ProcurementRequest.id)
                              .where(ProcurementRequest.id > last_id).order_by(ProcurementRequest.id)
                              .limit(batch)).all()
        if not ids:
            return
        for request in sorted(_load(session, ids), key=lambda r: r.id):
            yield request_record(request, labels_cache)
        session.expunge_all()
        last_id = ids[-1]


kinds.register(kinds.AppKind(
    index_kind=REQUESTS, change_key=change_key, object_ids=object_ids,
    records_for=lambda session, ids: records_for(session, ids),
    iter_public_records=lambda session, batch=1000: iter_public_records(session, batch), noun="requests",
))
