"""The search engine: Whoosh and Chinese analysis. Imports nothing of Flask or ``marketplace``.

The interface is small on purpose (a second engine could stand behind it):

- ``IndexKind`` (``PRODUCTS``, ``REQUESTS``): a kind's record, schema, ``to_document``, columns,
  filters, facets and sorts (``schemas``, ``requests``); ``KINDS`` maps names to kinds;
- ``SearchIndex(root, kind=…)`` / ``ProductIndex(root)``: ``apply``, ``rebuild``, ``search``,
  ``check``, ``optimize``, ``status`` (``engine``);
- ``SearchQuery``, ``Filters``, ``SearchResults``, ``Hit``: a search and its answer;
- ``Keyword``, ``Candidates``, ``SimilarHit``: matching a long text (``similar``): weighted keywords
  against the index's document frequencies, every document holding any of them;
- ``analysis`` (segmentation, synonyms) and ``highlight`` for callers that mark their own text.
"""
import warnings

# Whoosh 2.7.4 (the pinned, last release) uses escape sequences Python 3.12 warns about.
warnings.filterwarnings("ignore", category=SyntaxWarning, module=r"whoosh(\..*)?")
warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"whoosh(\..*)?")

from search_index.engine import (  # noqa: E402
    FACET_FIELDS,
    SORTS,
    Filters,
    Hit,
    IndexBusy,
    ProductIndex,
    SearchIndex,
    SearchQuery,
    SearchResults,
)
from search_index.requests import REQUESTS, RequestRecord, request_to_document  # noqa: E402
from search_index.schemas import KINDS, PRODUCTS, IndexKind, ProductRecord, to_document  # noqa: E402
from search_index.similar import Candidates, Keyword, SimilarHit, presence_in, select_keywords  # noqa: E402

__all__ = [
    "Candidates", "Keyword", "SimilarHit", "presence_in", "select_keywords",
    "FACET_FIELDS", "KINDS", "PRODUCTS", "SORTS", "Filters", "Hit", "IndexBusy", "IndexKind", "ProductIndex",
    "ProductRecord", "REQUESTS", "RequestRecord", "SearchIndex", "SearchQuery", "SearchResults", "request_to_document",
    "to_document",
]
