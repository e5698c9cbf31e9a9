"""The engine's request and result types: ``Filters``, ``SearchQuery``, ``Hit``, ``SearchResults``, company results."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date

import numpy as np


class IndexBusy(Exception):
    """Another process holds the index's write lock past the timeout."""


# ----------------------------------------------------------------------------- requests and results


@dataclass(frozen=True)
class Filters:
    """Structured filters; ``None`` means "any"."""

    category: str | None = None
    hs_prefix: str | None = None
    province: str | None = None
    city: str | None = None
    certification: str | None = None
    price_min_fen: int | None = None
    price_max_fen: int | None = None
    moq_max: int | None = None
    tariff_hit: bool | None = None
    domestic_ready: bool | None = None
    verified: bool | None = None
    company_id: int | None = None
    #: requests: quantity range and deadline range (``datetime.date``, inclusive)
    quantity_min: int | None = None
    quantity_max: int | None = None
    deadline_from: date | None = None
    deadline_to: date | None = None

    def is_empty(self) -> bool:
        """No filter is set."""
        return all(getattr(self, name) is None for name in self.__dataclass_fields__)


@dataclass(frozen=True)
class SearchQuery:
    """One search: free text, filters, sort and page."""

    text: str = ""
    filters: Filters = field(default_factory=Filters)
    sort: str = "relevance"
    page: int = 1
    per_page: int = 20
    facets: bool = False
    highlight: bool = True
    use_cache: bool = True


@dataclass
class Hit:
    """One found product."""

    id: int
    score: float
    sku: str
    company_id: int
    title: str
    #: field → safe HTML with <mark> around the matched words
    highlights: dict = field(default_factory=dict)


@dataclass
class SearchResults:
    """A page of results with everything a results page shows."""

    total: int
    hits: list[Hit]
    page: int
    per_page: int
    #: facet field → [(value, count)] in descending count (only when asked for)
    facets: dict = field(default_factory=dict)
    #: a corrected query to offer ("did you mean"), or None
    suggestion: str | None = None
    #: every term that matched (for highlighting text the caller holds)
    terms: frozenset = frozenset()
    #: notices about the query (query.NOTICE_* codes, and "relaxed" when not every word matched)
    notices: tuple = ()
    #: the query as actually searched
    query_text: str = ""
    took_ms: float = 0.0
    from_cache: bool = False
    #: the endings of a one-word query that also were searched (电热水壶 → 热水壶), listed after the exact matches
    widened: tuple[str, ...] = ()

    @property
    def pages(self) -> int:
        """Number of pages (at least 1)."""
        return max(1, math.ceil(self.total / self.per_page)) if self.per_page else 1


@dataclass
class CompanyHit:
    """One company found by ``search_companies``: how many of its documents match, and the best of them."""

    company_id: int
    matches: int
    #: the company's own name matches every word of the query
    name_match: bool
    hits: list[Hit] = field(default_factory=list)


@dataclass
class CompanyResults:
    """A page of companies (``SearchIndex.search_companies``)."""

    total: int
    companies: list[CompanyHit]
    page: int
    per_page: int
    suggestion: str | None = None
    terms: frozenset = frozenset()
    notices: tuple = ()
    query_text: str = ""
    took_ms: float = 0.0
    from_cache: bool = False

    @property
    def pages(self) -> int:
        """Number of pages (at least 1)."""
        return max(1, math.ceil(self.total / self.per_page)) if self.per_page else 1


@dataclass
class _Matched:
    """What a query found before ordering: documents, scores, and how it got there."""

    mask: np.ndarray
    #: None: no words, nothing to score
    score: np.ndarray | None
    #: per document, 0 for an exact match and 1, 2 … for the endings a one-word query was widened with
    tier: np.ndarray | None = None
    notices: tuple = ()
    widened: tuple[str, ...] = ()
    #: terms searched beyond the query's own (the endings' words, for highlighting)
    terms: frozenset = frozenset()
    #: documents matching every word (before relaxing or widening): "did you mean" only when none do
    exact: int = 0


NOTICE_RELAXED = "relaxed"
NOTICE_PAGE_CLAMPED = "page_clamped"
#: a one-word query was widened with its endings (``SearchResults.widened`` names them)
NOTICE_WIDENED = "widened"
