"""The product index: a Whoosh index on disk, searched through per-segment array caches.

Owns: the index directory layout (generations and the ``CURRENT`` pointer), writing (apply a
batch of changes with one writer and a lock timeout; rebuild into a new generation and swap it
in atomically), reading (search with filters, facets, sort, highlights, pagination, "did you
mean"), ``check``, ``optimize`` and ``status``.

Why it is built this way (measured at 100k products, see docs/architecture.md):

- Whoosh stores and merges the segments, postings and columns; query *execution* does not go
  through Whoosh's matcher tree, which costs a Python call per posting. Instead each term's
  postings are read once per segment, block by block, into numpy arrays (an LRU cache keyed by
  segment id, term and field; segments are immutable, so the cache survives commits), and
  matching, BM25 scoring, filtering, facet counting and sorting are array operations.
- Filter, facet and sort values are Whoosh columns, loaded per segment into arrays once.
- Deleted documents are masked per generation. Results are cached per generation.
- The postings cache is bounded by bytes and by entries; a term missing from a segment is cached
  as an empty entry and counted at what its key and node cost (unknown words used to grow it freely).
- Title word lists (for "did you mean" and lone characters) are built once per segment and combined
  per query, so a commit costs only the new segment's list.
- Exporter search is one pass over the product documents grouped by company (``search_companies``):
  the company's names are a field of each product document.
- One process writes at a time (Whoosh's lock); ``apply`` waits at most ``timeout`` seconds and
  returns False when the lock stays busy, leaving the changes for the next drain.
"""
from __future__ import annotations

import copy
import json
import logging
import math
import os
import shutil
import sys
import threading
import time
import uuid
from collections import Counter, OrderedDict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from whoosh import index as whoosh_index
from whoosh import query as wq
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher, _lenfield
from whoosh.filedb.filestore import FileStorage
from whoosh.index import LockError
from whoosh.reading import SegmentReader
from whoosh.util.numeric import byte_to_length
from whoosh.writing import SegmentWriter

from search_index import schemas
from search_index.analysis import Synonyms, chinese_analyzer, query_terms
from search_index.highlight import highlight
from search_index.query import ParsedQuery, hs_prefix, parse
from search_index.schemas import ProductRecord

logger = logging.getLogger(__name__)

SORTS = ("relevance", "price_asc", "price_desc", "newest")
#: the facets a search can count
FACET_FIELDS = (schemas.CATEGORY, "hs_chapter", schemas.PROVINCE, schemas.CERTS, schemas.TARIFF_HIT,
                schemas.DOMESTIC_READY, schemas.VERIFIED)
MAX_PAGE = 500
MAX_PER_PAGE = 100
BM25_B = 0.75
BM25_K1 = 1.2
TITLE_BOOST = 3.0
#: documents per segment written by a rebuild
REBUILD_SEGMENT_DOCS = 10_000
#: at most this many words ending in a lone query character stand for it (灯 → 庭院灯, 吸顶灯 …)
MAX_HEAD_EXPANSION = 64
#: Chinese words shorter than this get no "did you mean"
MIN_CJK_CORRECTION = 3
#: the score of an exact article-number match (above any text match of one word)
SKU_SCORE = 50.0
#: the score of a product whose HS code starts with a query word (8516 → 851660…): below an
#: article number, about a strong title match
HS_SCORE = 20.0
#: "did you mean": candidate corrections tried per unknown word (each costs one count of the query)
MAX_CORRECTIONS = 6
#: English words at least this long may be corrected by two edits (humidifierr); shorter ones by one
TWO_EDITS_FROM = 8
#: a one-word query finding fewer than a page is widened with the word's endings of at least this
#: many characters (电热水壶 → 热水壶, 水壶): Chinese compounds put the kind of thing last
MIN_WIDEN_CHARS = 2
#: postings cache budget: bytes (arrays plus each entry's own cost) and entries
POSTINGS_CACHE_BYTES = 64 * 2**20
POSTINGS_CACHE_ENTRIES = 100_000
#: what one cached postings entry costs beyond its arrays and its term (measured with tracemalloc on
#: Python 3.11: the key tuple, the LRU's node, the value tuple and its count, ~240 bytes): all a miss costs
POSTINGS_ENTRY_BYTES = 240
CURRENT = "CURRENT"
CURSOR_FILE = "cursor.json"
#: the lock every change to the index takes (in the root: it spans generations)
CHANGE_LOCK = "CHANGE"


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


# ----------------------------------------------------------------------------- per-segment data


def _read_postings(reader, fieldname: str, term: str) -> tuple[np.ndarray, np.ndarray]:
    """All (docnum, weight) postings of a term in one segment reader, as arrays."""
    try:
        # Not reader.postings(): it hides deleted documents, which would make a cached array
        # depend on when it was read. Deletions are masked per generation instead.
        fmt = reader.schema[fieldname].format
        key = reader._text_to_bytes(fieldname, term)
        matcher = reader._terms.matcher(fieldname, key, fmt)  # pinned Whoosh 2.7.4 internals
    except Exception:  # TermNotFound
        return _EMPTY_IDS, _EMPTY_WEIGHTS
    ids_parts: list = []
    weight_parts: list = []
    if isinstance(matcher, W3LeafMatcher):
        # Read whole blocks (pinned Whoosh 2.7.4 internals): far cheaper than a call per posting.
        while matcher.is_active():
            matcher._read_ids()
            matcher._read_weights()
            ids_parts.append(np.asarray(matcher._ids, dtype=np.int32))
            weight_parts.append(np.asarray(matcher._weights, dtype=np.float32))
            if matcher._lastblock:
                break
            matcher._next_block()
    else:  # pragma: no cover - other codecs
        ids, weights = [], []
        while matcher.is_active():
            ids.append(matcher.id())
            weights.append(matcher.weight())
            matcher.next()
        ids_parts.append(np.asarray(ids, dtype=np.int32))
        weight_parts.append(np.asarray(weights, dtype=np.float32))
    if not ids_parts:
        return _EMPTY_IDS, _EMPTY_WEIGHTS
    return np.concatenate(ids_parts), np.concatenate(weight_parts)


_EMPTY_IDS = np.zeros(0, dtype=np.int32)
_EMPTY_WEIGHTS = np.zeros(0, dtype=np.float32)


HS_CHAPTER = "hs_chapter"


class _Vocabulary:
    """Text column values ↔ small integer codes, shared by every segment of the process (only grows)."""

    def __init__(self):
        self._codes: dict[str, int] = {"": 0}
        self.values: list[str] = [""]
        self._lock = threading.Lock()

    def codes(self, texts: list[str]) -> np.ndarray:
        """The codes of ``texts`` (new values get new codes)."""
        with self._lock:
            table = self._codes
            out = np.empty(len(texts), dtype=np.int32)
            for i, text in enumerate(texts):
                code = table.get(text)
                if code is None:
                    code = table[text] = len(self.values)
                    self.values.append(text)
                out[i] = code
            return out

    def code(self, text: str) -> int | None:
        """The code of one value, or None when no document has it."""
        return self._codes.get(text)

    def prefixed(self, prefix: str) -> np.ndarray:
        """Codes of every value starting with ``prefix``."""
        return np.array([code for value, code in list(self._codes.items()) if value and value.startswith(prefix)],
                        dtype=np.int32)


class _CertBits:
    """Certification codes ↔ bit numbers: a document's certifications are one integer."""

    def __init__(self):
        self._bits: dict[str, int] = {}
        self._lock = threading.Lock()

    def bits(self, text: str) -> int:
        value = 0
        for code in text.split():
            bit = self._bits.get(code)
            if bit is None:
                with self._lock:
                    bit = self._bits.setdefault(code, len(self._bits))
            if bit < 63:
                value |= 1 << bit
        return value

    def bit(self, code: str) -> int | None:
        bit = self._bits.get(code)
        return bit if bit is not None and bit < 63 else None

    def items(self) -> list[tuple[str, int]]:
        return [(code, bit) for code, bit in list(self._bits.items()) if bit < 63]


VOCABULARY = _Vocabulary()
CERT_BITS = _CertBits()

_LENGTH_TABLE = np.array([byte_to_length(i) for i in range(256)], dtype=np.float32)


def _field_lengths(reader, fieldname: str, count: int) -> np.ndarray:
    """Per-document lengths of a field, from Whoosh's one-byte length column."""
    try:
        column = reader._perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)  # pinned 2.7.4 internals
    except AttributeError:  # pragma: no cover - another codec
        column = None
    if column is None:
        return np.array([reader.doc_field_length(d, fieldname, 0) or 0 for d in range(count)], dtype=np.float32)
    raw = np.fromiter((b or 0 for b in column), dtype=np.uint8, count=count)
    return _LENGTH_TABLE[raw]


class SegmentWords:
    """The title words of one segment with their document counts, arranged for "did you mean" (by
    length) and for a lone query character (by last character).

    Built once per segment and kept with its arrays: segments never change, so a commit, which adds a
    segment (and may merge small ones), builds only the lists of the segments it wrote. Counts include
    deleted documents (Whoosh's document frequency); callers check candidates against live documents.
    """

    #: lists built in this process (tests check that a new generation reuses the old segments' lists)
    builds = 0

    def __init__(self, reader):
        SegmentWords.builds += 1
        df: dict[str, int] = {}
        for term, info in reader.iter_field(schemas.TITLE):
            df[term.decode("utf-8") if isinstance(term, bytes) else term] = info.doc_frequency()
        self.df = df
        self.by_length: dict[int, list[str]] = {}
        #: last character → (count, word) of the words of two characters or more ending in it
        self.by_last: dict[str, list[tuple[int, str]]] = {}
        for term, count in df.items():
            self.by_length.setdefault(len(term), []).append(term)
            if len(term) > 1 and not term[-1].isascii():
                self.by_last.setdefault(term[-1], []).append((count, term))


class _SegmentData:
    """Arrays of one immutable segment: columns, field lengths and its title words."""

    def __init__(self, reader):
        self.count = reader.doc_count_all()
        #: integer columns as they are; text columns as codes of the process-wide VOCABULARY
        self.columns: dict[str, np.ndarray] = {}
        raw_sku: list[str] = []
        for name, kind in schemas.COLUMN_FIELDS.items():
            values = list(reader.column_reader(name, translate=True)) if reader.has_column(name) else []
            if len(values) != self.count:
                values = ([b""] if kind is str else [0]) * self.count
            if kind is not str:
                self.columns[name] = np.array([int(v or 0) for v in values], dtype=np.int64)
                continue
            texts = [v.decode("utf-8") if isinstance(v, bytes) else (v or "") for v in values]
            if name == schemas.SKU_KEY:
                raw_sku = texts
            elif name == schemas.CERTS:
                self.columns[name] = np.array([CERT_BITS.bits(t) for t in texts], dtype=np.int64)
            else:
                self.columns[name] = VOCABULARY.codes(texts)
                if name == schemas.HS:
                    self.columns[HS_CHAPTER] = VOCABULARY.codes([t[:2] for t in texts])
        self._sku_texts = raw_sku
        self.lengths = {name: _field_lengths(reader, name, self.count) for name in (schemas.TITLE, schemas.TEXT)}
        self.field_totals = {name: float(reader.field_length(name)) for name in (schemas.TITLE, schemas.TEXT)}
        self._words: SegmentWords | None = None
        self._skus: dict[str, list[int]] | None = None

    def sku_docs(self, key: str) -> list[int]:
        """Local document numbers whose article number key is ``key``."""
        if self._skus is None:
            skus: dict[str, list[int]] = {}
            for docnum, value in enumerate(self._sku_texts):
                if value:
                    skus.setdefault(value, []).append(docnum)
            self._skus = skus
        return self._skus.get(key, [])

    def words(self, reader) -> SegmentWords:
        """The title words of this segment (built on first use, then kept as long as the segment)."""
        if self._words is None:
            self._words = SegmentWords(reader)
        return self._words


class _Generation:
    """Everything derived from one searcher: global arrays, alive mask, caches of this generation."""

    def __init__(self, searcher, segment_cache: OrderedDict):
        self.searcher = searcher
        reader = searcher.reader()
        leaves = reader.leaf_readers() if hasattr(reader, "leaf_readers") else [(reader, 0)]
        self.leaves = []
        names = [n for n in schemas.COLUMN_FIELDS if n != schemas.SKU_KEY] + [HS_CHAPTER]
        parts: dict[str, list] = {name: [] for name in names}
        lengths = {schemas.TITLE: [], schemas.TEXT: []}
        alive_parts = []
        totals = {schemas.TITLE: 0.0, schemas.TEXT: 0.0}
        for leaf, offset in leaves:
            if leaf.doc_count_all() == 0:
                continue
            segid = leaf.segment().segment_id() if hasattr(leaf, "segment") else f"leaf{id(leaf)}"
            data = segment_cache.get(segid)
            if data is None:
                data = _SegmentData(leaf)
                segment_cache[segid] = data
                while len(segment_cache) > 64:
                    segment_cache.popitem(last=False)
            self.leaves.append((leaf, offset, segid, data))
            for name in names:
                parts[name].append(data.columns[name])
            for name in lengths:
                lengths[name].append(data.lengths[name])
                totals[name] += data.field_totals[name]
            alive = np.ones(data.count, dtype=bool)
            if leaf.has_deletions():
                deleted = np.fromiter(leaf.segment().deleted_docs(), dtype=np.int64)
                alive[deleted] = False
            alive_parts.append(alive)
        self.size = sum(d.count for *_, d in self.leaves)
        self.columns = {name: (np.concatenate(arrays) if arrays else np.zeros(0, dtype=np.int64))
                        for name, arrays in parts.items()}
        self.lengths = {name: (np.concatenate(arrays) if arrays else np.zeros(0, np.float32))
                        for name, arrays in lengths.items()}
        self.alive = np.concatenate(alive_parts) if alive_parts else np.zeros(0, dtype=bool)
        self.doc_count = int(self.alive.sum())
        self.avg_length = {name: float(self.lengths[name][self.alive].mean()) if self.doc_count else 1.0
                           for name in totals}
        self.avg_length = {name: value or 1.0 for name, value in self.avg_length.items()}
        self.filter_cache: OrderedDict = OrderedDict()
        self._heads: dict[str, list[str]] = {}
        self._hs_docs: dict[str, np.ndarray] = {}

    def _segment_words(self) -> Iterator[SegmentWords]:
        for leaf, _offset, _segid, data in self.leaves:
            yield data.words(leaf)

    def word_count(self, term: str) -> int:
        """Titles (deleted ones included) that hold ``term``, over every segment."""
        return sum(words.df.get(term, 0) for words in self._segment_words())

    def head_words(self, char: str) -> list[str]:
        """The commonest title words of two characters or more ending in ``char`` (灯 → 庭院灯, 吸顶灯 …)."""
        heads = self._heads.get(char)
        if heads is None:
            counts: dict[str, int] = {}
            for words in self._segment_words():
                for count, term in words.by_last.get(char, ()):
                    counts[term] = counts.get(term, 0) + count
            ranked = sorted(((count, term) for term, count in counts.items()), reverse=True)
            heads = self._heads[char] = [term for _count, term in ranked[:MAX_HEAD_EXPANSION]]
        return heads

    def near_words(self, word: str, max_edits: int) -> list[str]:
        """Title words at most ``max_edits`` edits from ``word`` (English ones sharing its first letter),
        commonest first."""
        found: dict[str, int] = {}
        english = word.isascii()
        for words in self._segment_words():
            for length in range(len(word) - max_edits, len(word) + max_edits + 1):
                for term in words.by_length.get(length, ()):
                    if term == word or (english and term[:1] != word[:1]):
                        continue
                    if term in found or _within_edits(word, term, max_edits):
                        found[term] = found.get(term, 0) + words.df[term]
        return [term for term, _count in sorted(found.items(), key=lambda pair: (-pair[1], pair[0]))]

    def hs_docs(self, prefix: str) -> np.ndarray:
        """Live documents whose HS code starts with ``prefix``."""
        docs = self._hs_docs.get(prefix)
        if docs is None:
            codes = VOCABULARY.prefixed(prefix)
            docs = np.flatnonzero(np.isin(self.columns[schemas.HS], codes) & self.alive) if len(codes) \
                else np.zeros(0, dtype=np.int64)
            if len(self._hs_docs) > 256:
                self._hs_docs.clear()
            self._hs_docs[prefix] = docs
        return docs

    def cert_mask(self, code: str) -> np.ndarray:
        """Documents holding certification ``code``."""
        bit = CERT_BITS.bit(code)
        if bit is None:
            return np.zeros(self.size, dtype=bool)
        return (self.columns[schemas.CERTS] & (1 << bit)) != 0


class PostingsCache:
    """Per-segment postings of terms, least recently used out first, bounded by bytes and by entries.

    An entry costs its two arrays plus its own keeping (``POSTINGS_ENTRY_BYTES`` and the term): a term
    a segment lacks is cached as an empty entry too, so a stream of distinct unknown words fills the
    cache with entries that cost only their keeping; they are counted at that cost and their number
    is capped, so they cannot grow memory past the budget.
    """

    def __init__(self, max_bytes: int = POSTINGS_CACHE_BYTES, max_entries: int = POSTINGS_CACHE_ENTRIES):
        self.max_bytes = max_bytes
        self.max_entries = max_entries
        #: bytes held by the cached entries, as counted
        self.bytes = 0
        self._entries: OrderedDict = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: tuple) -> tuple[np.ndarray, np.ndarray] | None:
        """The cached (docnums, weights) of ``key``, or None."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        self._entries.move_to_end(key)
        return entry[0], entry[1]

    def put(self, key: tuple, ids: np.ndarray, weights: np.ndarray) -> None:
        """Keep (docnums, weights) under ``key`` (segment id, field, term), evicting the oldest beyond the bounds."""
        cost = ids.nbytes + weights.nbytes + POSTINGS_ENTRY_BYTES + sys.getsizeof(key[-1])
        old = self._entries.pop(key, None)
        if old is not None:
            self.bytes -= old[2]
        self._entries[key] = (ids, weights, cost)
        self.bytes += cost
        while self._entries and (self.bytes > self.max_bytes or len(self._entries) > self.max_entries):
            _key, (_ids, _weights, old_cost) = self._entries.popitem(last=False)
            self.bytes -= old_cost


# ----------------------------------------------------------------------------- the index


class _LengthsOnce:
    """A new segment's field lengths for ``add_postings``, read once per field instead of once per posting.

    Whoosh's ``FieldWriter.add_postings`` asks the per-document reader for the document's field
    length for every posting, each a seek and a read of the length column: measured, a fifth of a
    rebuild's time. The values are the same, read in bulk.
    """

    def __init__(self, perdoc):
        self._perdoc = perdoc
        self._lengths: dict[str, list] = {}

    def doc_field_length(self, docnum: int, fieldname: str, default=0):
        """What ``PerDocumentReader.doc_field_length`` answers (None for an empty field)."""
        lengths = self._lengths.get(fieldname)
        if lengths is None:
            column = self._perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)  # pinned 2.7.4 internals
            if column is None:
                return default
            lengths = self._lengths[fieldname] = [byte_to_length(b) if b else None for b in column]
        return lengths[docnum]

    def close(self) -> None:
        """Close the per-document reader."""
        self._perdoc.close()


class _SegmentWriter(SegmentWriter):
    """Whoosh's ``SegmentWriter``, writing a segment's postings with its lengths read in bulk."""

    def _flush_segment(self):
        self.perdocwriter.close()
        lengths = _LengthsOnce(self.per_document_reader()) if self.codec.length_stats else None
        self.fieldwriter.add_postings(self.schema, lengths, self.pool.iter_postings())
        self.fieldwriter.close()
        if lengths:
            lengths.close()


class Batch:
    """The change lock held (see ``ProductIndex.batch``): the cursor, and one commit of changes."""

    def __init__(self, index: SearchIndex, ix, gen_path: Path, timeout: float):
        self._index = index
        self.ix = ix
        self._gen_path = gen_path
        self._timeout = timeout

    @property
    def cursor(self) -> int:
        """The id of the last change applied to this generation."""
        return _read_cursor(self._gen_path)

    def apply(self, upserts: Iterable[ProductRecord] = (), deletes: Iterable[int] = (),
              cursor: int | None = None) -> None:
        """Write the changes in one Whoosh commit, then move the cursor (still under the lock)."""
        self._index._write(self.ix, self._gen_path, list(upserts), list(deletes), cursor, self._timeout)


class SearchIndex:
    """The index of one kind under ``root``: open it, apply changes, search it, rebuild it."""

    def __init__(self, root: str | os.PathLike, *, kind: schemas.IndexKind = schemas.PRODUCTS, create: bool = True,
                 result_cache_size: int = 512, postings_cache_bytes: int = POSTINGS_CACHE_BYTES,
                 postings_cache_entries: int = POSTINGS_CACHE_ENTRIES):
        self.root = Path(root)
        self.kind = kind
        self.schema = kind.schema()
        self._lock = threading.RLock()
        self._ix = None
        self._gen_dir: str | None = None
        self._searcher = None
        self._generation: _Generation | None = None
        self._segment_cache: OrderedDict = OrderedDict()
        #: postings per (segment id, field, term); segments never change, so it outlives generations
        self.postings_cache = PostingsCache(postings_cache_bytes, postings_cache_entries)
        self._results: OrderedDict = OrderedDict()
        self._results_limit = result_cache_size
        self._analyzer = chinese_analyzer()
        if create:
            self.root.mkdir(parents=True, exist_ok=True)
            if self._current_name() is None:
                self._swap_in(self._new_generation(cursor=0))

    # -- layout -------------------------------------------------------------------------------

    def _current_name(self) -> str | None:
        try:
            name = (self.root / CURRENT).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return name if name and (self.root / name).is_dir() else None

    def _new_generation(self, cursor: int) -> Path:
        """An empty Whoosh index in a fresh directory (not yet current)."""
        name = f"gen-{time.time_ns():020d}-{uuid.uuid4().hex[:6]}"  # names sort by creation
        path = self.root / name
        path.mkdir(parents=True)
        whoosh_index.create_in(str(path), self.schema)
        _write_cursor(path, cursor)
        return path

    def _swap_in(self, path: Path) -> None:
        """Make ``path`` the current generation, atomically for every process; keep the previous one
        (searchers in other processes may still read it) and delete older ones."""
        previous = self._current_name()
        tmp = self.root / f".{CURRENT}.{uuid.uuid4().hex}"
        tmp.write_text(path.name, encoding="utf-8")
        os.replace(tmp, self.root / CURRENT)
        keep = {path.name, previous}
        for old in self.root.glob("gen-*"):
            if old.is_dir() and old.name not in keep and old.name < path.name:
                shutil.rmtree(old, ignore_errors=True)

    @property
    def path(self) -> Path | None:
        """The directory of the current generation."""
        name = self._current_name()
        return self.root / name if name else None

    def exists(self) -> bool:
        """Whether there is a current generation."""
        return self._current_name() is not None

    def _open_ix(self):
        name = self._current_name()
        if name is None:
            raise FileNotFoundError(f"no search index under {self.root}")
        if self._ix is None or name != self._gen_dir:
            self._ix = whoosh_index.open_dir(str(self.root / name), schema=self.schema)
            self._gen_dir = name
            self._close_searcher()
        return self._ix

    def _close_searcher(self) -> None:
        if self._searcher is not None:
            try:
                self._searcher.close()
            except Exception:  # pragma: no cover - best effort: its files may already be gone
                logger.debug("closing a searcher failed", exc_info=True)
        self._searcher = None
        self._generation = None

    # -- cursor -------------------------------------------------------------------------------

    @property
    def cursor(self) -> int:
        """The id of the last change log row applied to the current generation."""
        path = self.path
        return _read_cursor(path) if path else 0

    # -- writing ------------------------------------------------------------------------------

    @contextmanager
    def batch(self, timeout: float = 5.0) -> Iterator[Batch]:
        """Hold the index's change lock: read the cursor, read the database, apply, move the cursor.

        Raises ``IndexBusy`` when another process keeps the lock past ``timeout`` seconds. Everything
        a drain reads must be read *inside*: a drain that read before a newer drain applied would
        otherwise write an older state over a newer one (and its cursor would hide the damage).
        """
        lock = FileStorage(str(self.root)).lock(CHANGE_LOCK)
        deadline = time.monotonic() + max(timeout, 0.0)
        while not lock.acquire(blocking=False):
            if time.monotonic() >= deadline:
                raise IndexBusy(f"the index under {self.root} is being changed by another process")
            time.sleep(0.02)
        try:
            with self._lock:
                ix = self._open_ix()
                gen_path = self.root / self._gen_dir
            yield Batch(self, ix, gen_path, timeout)
        finally:
            lock.release()

    def apply(self, upserts: Iterable[ProductRecord] = (), deletes: Iterable[int] = (), cursor: int | None = None,
              timeout: float = 5.0) -> bool:
        """Apply a batch in one commit: add or replace ``upserts``, remove ``deletes``.

        Waits up to ``timeout`` seconds for the change lock; returns False (nothing applied) when
        another process keeps it. Idempotent: applying the same batch twice gives the same index.
        """
        try:
            with self.batch(timeout) as batch:
                batch.apply(upserts, deletes, cursor)
        except IndexBusy:
            return False
        return True

    def _write(self, ix, gen_path: Path, upserts, deletes, cursor: int | None, timeout: float) -> None:
        try:
            writer = _SegmentWriter(ix, timeout=timeout, delay=0.05)
        except LockError as error:
            raise IndexBusy(str(error)) from error
        latest = {record.id: record for record in upserts}  # the last version of each wins
        gone = set(latest) | {int(i) for i in deletes}
        with writer:
            for docnum in self._docnums_for(writer, gone):
                writer.delete_document(docnum)
            for record in latest.values():
                writer.add_document(**self.kind.to_document(record))
        if cursor is not None:
            _write_cursor(gen_path, max(cursor, _read_cursor(gen_path)))

    def _docnums_for(self, writer, product_ids: set[int]) -> list[int]:
        """The writer's document numbers of these product ids (ids are a column, not a term)."""
        if not product_ids:
            return []
        wanted = np.fromiter(product_ids, dtype=np.int64, count=len(product_ids))
        found: list[int] = []
        offset = 0
        for segment in writer.segments:
            segid = segment.segment_id()
            with self._lock:
                data = self._segment_cache.get(segid)
            if data is None:
                reader = SegmentReader(writer.storage, writer.schema, segment)
                try:
                    data = _SegmentData(reader)
                finally:
                    reader.close()
                with self._lock:
                    self._segment_cache[segid] = data
            hits = np.flatnonzero(np.isin(data.columns[schemas.ID], wanted))
            found.extend(int(offset + d) for d in hits if not segment.is_deleted(int(d)))
            offset += segment.doc_count_all()
        return found

    def rebuild(self, records: Iterable[ProductRecord], cursor: int = 0, *, progress=None,
                limitmb: int = 256) -> dict:
        """Build a complete new generation from ``records`` and swap it in; searches keep working meanwhile."""
        started = time.perf_counter()
        path = self._new_generation(cursor=cursor)
        ix = whoosh_index.open_dir(str(path), schema=self.schema)
        count = 0
        writer = None
        try:
            for record in records:
                if writer is None:
                    writer = _SegmentWriter(ix, limitmb=limitmb)
                writer.add_document(**self.kind.to_document(record))
                count += 1
                if progress and count % 1000 == 0:
                    progress(count)
                if count % REBUILD_SEGMENT_DOCS == 0:
                    # One segment per chunk, built in memory: Whoosh's external sort (pickled runs
                    # merged through heapq) made a single 100k segment take 250 s instead of ~100.
                    # The engine reads segments side by side, so several segments cost queries nothing.
                    writer.commit(merge=False)
                    writer = None
            if writer is not None:
                writer.commit(merge=False)
                writer = None
        except BaseException:
            if writer is not None:
                writer.cancel()
            shutil.rmtree(path, ignore_errors=True)
            raise
        _write_cursor(path, cursor)
        self._swap_in(path)
        with self._lock:
            self._open_ix()
        return {"docs": count, "seconds": time.perf_counter() - started, "path": str(path)}

    def optimize(self, timeout: float = 60.0) -> bool:
        """Merge every segment into one (command line only: it takes a while on a large index)."""
        try:
            with self.batch(timeout) as batch:
                try:
                    writer = _SegmentWriter(batch.ix, timeout=timeout, delay=0.1)
                except LockError:
                    return False
                writer.commit(optimize=True)
        except IndexBusy:
            return False
        return True

    # -- reading ------------------------------------------------------------------------------

    def _current(self) -> _Generation:
        """The generation to search: reopened when another process committed or swapped."""
        ix = self._open_ix()
        if self._searcher is None:
            self._searcher = ix.searcher()
            self._generation = None
        elif not self._searcher.up_to_date():
            self._searcher = self._searcher.refresh()
            self._generation = None
        if self._generation is None:
            self._generation = _Generation(self._searcher, self._segment_cache)
        return self._generation

    def generation_key(self) -> tuple:
        """Identifies what a search would read: the current directory and its Whoosh generation."""
        with self._lock:
            gen = self._current()
            return (self._gen_dir, gen.searcher.reader().generation())

    def _postings_for(self, gen: _Generation, fieldname: str, term: str) -> tuple[np.ndarray, np.ndarray]:
        """Global (docnum, weight) arrays of a term over every segment of the generation."""
        ids_parts, weight_parts = [], []
        cache = self.postings_cache
        for leaf, offset, segid, _data in gen.leaves:
            key = (segid, fieldname, term)
            cached = cache.get(key)
            if cached is None:
                cached = _read_postings(leaf, fieldname, term)
                cache.put(key, *cached)
            ids, weights = cached
            if len(ids):
                ids_parts.append(ids.astype(np.int64) + offset)
                weight_parts.append(weights)
        if not ids_parts:
            return np.zeros(0, dtype=np.int64), _EMPTY_WEIGHTS
        if len(ids_parts) == 1:
            return ids_parts[0], weight_parts[0]
        return np.concatenate(ids_parts), np.concatenate(weight_parts)

    def _term_scores(self, gen: _Generation, term: str, names: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """(mask, score) dense arrays of one term: present in TEXT (``names``: or in the company's
        names, which add no score); BM25 on TEXT plus boosted TITLE."""
        size = gen.size
        mask = self._presence(gen, schemas.COMPANY_NAME, term) if names else np.zeros(size, dtype=bool)
        score = np.zeros(size, dtype=np.float32)
        n = max(gen.doc_count, 1)
        for fieldname, boost in ((schemas.TEXT, 1.0), (schemas.TITLE, TITLE_BOOST)):
            ids, weights = self._postings_for(gen, fieldname, term)
            if len(ids):
                live = gen.alive[ids]  # deleted documents count for nothing, so scores never depend on merges
                ids, weights = ids[live], weights[live]
            if not len(ids):
                continue
            if fieldname == schemas.TEXT:
                mask[ids] = True
            df = len(ids)
            idf = math.log(1.0 + (n - df + 0.5) / (df + 0.5))
            lengths = gen.lengths[fieldname][ids]
            norm = BM25_K1 * ((1 - BM25_B) + BM25_B * lengths / gen.avg_length[fieldname])
            score[ids] += (boost * idf * (weights * (BM25_K1 + 1)) / (weights + norm)).astype(np.float32)
        return mask, score

    def _presence(self, gen: _Generation, fieldname: str, term: str) -> np.ndarray:
        """Live documents whose ``fieldname`` holds ``term``, as a dense mask."""
        mask = np.zeros(gen.size, dtype=bool)
        ids, _weights = self._postings_for(gen, fieldname, term)
        if len(ids):
            mask[ids] = True
            mask &= gen.alive
        return mask

    def _match(self, gen: _Generation, parsed: ParsedQuery, relaxed: bool = False, names: bool = False):
        """(mask, score) of the parsed query; ``relaxed``: documents matching all but one concept;
        ``names``: a word may also match the company's names."""
        size = gen.size
        concept_masks = []
        total_score = np.zeros(size, dtype=np.float32)
        for concept in parsed.concepts:
            c_mask = np.zeros(size, dtype=bool)
            c_score = np.zeros(size, dtype=np.float32)
            concept = self._with_heads(gen, concept)
            for alternative in concept:
                if len(alternative) == 1 and any(ch.isdigit() for ch in alternative[0]):
                    for docs, value in ((self._sku_docs(gen, alternative[0]), SKU_SCORE),
                                        (self._hs_docs(gen, alternative[0]), HS_SCORE)):
                        if len(docs):
                            c_mask[docs] = True
                            c_score[docs] = np.maximum(c_score[docs], value)
                a_mask = np.ones(size, dtype=bool)
                a_score = np.zeros(size, dtype=np.float32)
                for term in alternative:
                    t_mask, t_score = self._term_scores(gen, term, names=names)
                    a_mask &= t_mask
                    a_score += t_score
                a_score[~a_mask] = 0
                c_mask |= a_mask
                np.maximum(c_score, a_score, out=c_score)
            concept_masks.append(c_mask)
            total_score += c_score
        if concept_masks:
            if relaxed and len(concept_masks) > 1:
                counts = np.sum(concept_masks, axis=0)
                mask = counts >= len(concept_masks) - 1
            else:
                mask = np.logical_and.reduce(concept_masks)
        else:
            mask = np.ones(size, dtype=bool)
        for phrase in parsed.phrases:
            phrase_docs = self._phrase_docs(gen, phrase)
            p_mask = np.zeros(size, dtype=bool)
            if len(phrase_docs):
                p_mask[phrase_docs] = True
            mask &= p_mask
            for term in phrase:
                total_score += self._term_scores(gen, term)[1]
        if parsed.excluded:
            mask &= ~self._excluded(gen, parsed)
        return mask, total_score

    def _excluded(self, gen: _Generation, parsed: ParsedQuery) -> np.ndarray:
        """Documents holding a word the query excludes (``-word``, ``NOT word``, with synonyms)."""
        excluded = np.zeros(gen.size, dtype=bool)
        for alternative in parsed.excluded:
            unwanted = np.ones(gen.size, dtype=bool)
            for term in alternative:
                unwanted &= self._term_scores(gen, term)[0]
            excluded |= unwanted
        return excluded

    def _with_heads(self, gen: _Generation, concept: tuple) -> tuple:
        """A lone Chinese character (灯, 鞋, 锅) also means the indexed words it ends:

        the segmenter keeps 庭院灯 or 运动鞋 whole, so the character itself is rarely a term and
        "汽车 灯" would otherwise match no lamp at all.
        """
        singles = [alt[0] for alt in concept if len(alt) == 1 and len(alt[0]) == 1 and not alt[0].isascii()]
        if not singles:
            return concept
        extra = [(term,) for char in singles for term in gen.head_words(char)]
        return tuple(concept) + tuple(alt for alt in dict.fromkeys(extra) if alt not in concept)

    def _hs_docs(self, gen: _Generation, term: str) -> np.ndarray:
        """Documents classified under the HS code a query word is (8516, 8516.60), if it is one."""
        prefix = hs_prefix(term)
        return gen.hs_docs(prefix) if prefix else np.zeros(0, dtype=np.int64)

    def _name_mask(self, gen: _Generation, parsed: ParsedQuery) -> np.ndarray:
        """Documents whose company's names hold every concept of the query (through any synonym)."""
        mask = gen.alive.copy() if parsed.concepts else np.zeros(gen.size, dtype=bool)
        for concept in parsed.concepts:
            c_mask = np.zeros(gen.size, dtype=bool)
            for alternative in concept:
                a_mask = gen.alive.copy()
                for term in alternative:
                    a_mask &= self._presence(gen, schemas.COMPANY_NAME, term)
                c_mask |= a_mask
            mask &= c_mask
        return mask

    def _sku_docs(self, gen: _Generation, term: str) -> np.ndarray:
        key = schemas.sku_key(term)
        docs = [offset + d for _leaf, offset, _segid, data in gen.leaves for d in data.sku_docs(key)]
        return np.asarray(docs, dtype=np.int64)

    def _phrase_docs(self, gen: _Generation, terms: tuple[str, ...]) -> np.ndarray:
        """Documents whose title has the terms in this order (or as one compound word: the
        analyzer indexes 不锈钢保温杯 at one position, so the phrase 不锈钢 保温杯 is that word)."""
        query = wq.Phrase(schemas.TITLE, list(terms))
        docs = set(gen.searcher.docs_for_query(query))
        if all(not term.isascii() for term in terms):
            ids, _weights = self._postings_for(gen, schemas.TITLE, "".join(terms))
            docs.update(int(d) for d in ids)
        arr = np.fromiter(docs, dtype=np.int64, count=len(docs))
        return arr[gen.alive[arr]] if len(arr) else arr

    def _filter_mask(self, gen: _Generation, filters: Filters) -> np.ndarray:
        cached = gen.filter_cache.get(filters)
        if cached is not None:
            return cached
        cols = gen.columns
        mask = gen.alive.copy()
        for name, wanted in ((schemas.CATEGORY, filters.category), (schemas.PROVINCE, filters.province),
                             (schemas.CITY, filters.city)):
            if wanted:
                code = VOCABULARY.code(wanted)
                mask &= cols[name] == (code if code is not None else -1)
        if filters.hs_prefix:
            mask &= np.isin(cols[schemas.HS], VOCABULARY.prefixed(filters.hs_prefix))
        if filters.certification:
            mask &= gen.cert_mask(filters.certification)
        price = cols[schemas.PRICE]
        if filters.price_min_fen is not None:
            mask &= (price >= filters.price_min_fen)
        if filters.price_max_fen is not None:
            mask &= (price >= 0) & (price <= filters.price_max_fen)
        if filters.moq_max is not None:
            mask &= cols[schemas.MOQ] <= filters.moq_max
        for name, wanted in ((schemas.TARIFF_HIT, filters.tariff_hit), (schemas.DOMESTIC_READY, filters.domestic_ready),
                             (schemas.VERIFIED, filters.verified)):
            if wanted is not None:
                mask &= cols[name] == int(wanted)
        if filters.company_id is not None:
            mask &= cols[schemas.COMPANY] == filters.company_id
        gen.filter_cache[filters] = mask
        while len(gen.filter_cache) > 256:
            gen.filter_cache.popitem(last=False)
        return mask

    def _facets(self, gen: _Generation, docs: np.ndarray) -> dict:
        facets: dict[str, list] = {}
        values = VOCABULARY.values
        for name in (schemas.CATEGORY, HS_CHAPTER, schemas.PROVINCE):
            counts = np.bincount(gen.columns[name][docs], minlength=1) if len(docs) else np.zeros(1, dtype=np.int64)
            pairs = [(values[code], int(counts[code])) for code in np.flatnonzero(counts) if values[code]]
            facets[name] = sorted(pairs, key=lambda p: (-p[1], p[0]))
        certs = gen.columns[schemas.CERTS][docs]
        cert_counts = []
        for code, bit in CERT_BITS.items():
            count = int(np.count_nonzero(certs & (1 << bit)))
            if count:
                cert_counts.append((code, count))
        facets[schemas.CERTS] = sorted(cert_counts, key=lambda p: (-p[1], p[0]))
        for name in (schemas.TARIFF_HIT, schemas.DOMESTIC_READY, schemas.VERIFIED):
            facets[name] = [("1", int(gen.columns[name][docs].sum()))]
        companies, counts = np.unique(gen.columns[schemas.COMPANY][docs], return_counts=True)
        order = np.lexsort((companies, -counts))
        facets[schemas.COMPANY] = [(str(int(companies[i])), int(counts[i])) for i in order]
        return facets

    def search(self, request: SearchQuery) -> SearchResults:
        """Run a search. Never raises on user input: odd text and odd pages come back as notices."""
        started = time.perf_counter()
        per_page = min(max(int(request.per_page or 20), 1), MAX_PER_PAGE)
        page = max(int(request.page or 1), 1)
        sort = request.sort if request.sort in SORTS else "relevance"
        with self._lock:
            gen = self._current()
            key = (self._gen_dir, gen.searcher.reader().generation(), request.text, request.filters, sort, page,
                   per_page, request.facets, request.highlight)
            if request.use_cache:
                cached = self._results.get(key)
                if cached is not None:
                    self._results.move_to_end(key)
                    hit = _copy_results(cached)
                    hit.from_cache = True
                    hit.took_ms = (time.perf_counter() - started) * 1000
                    return hit
            results = self._search(gen, request, page, per_page, sort)
            results.took_ms = (time.perf_counter() - started) * 1000
            if request.use_cache:
                self._remember(key, _copy_results(results))
            return results

    def _remember(self, key: tuple, results) -> None:
        self._results[key] = results
        while len(self._results) > self._results_limit:
            self._results.popitem(last=False)

    def _search(self, gen: _Generation, request: SearchQuery, page: int, per_page: int, sort: str) -> SearchResults:
        parsed = parse(request.text)
        notices = list(parsed.notices)
        filter_mask = self._filter_mask(gen, request.filters)
        matched = self._matched(gen, parsed, filter_mask, widen_below=per_page)
        notices.extend(matched.notices)
        score = matched.score
        if score is None and sort == "relevance":
            sort = "newest"
        docs = np.flatnonzero(matched.mask)
        total = len(docs)
        pages = max(1, math.ceil(total / per_page))
        if page > pages:
            if page > 1 and total:
                notices.append(NOTICE_PAGE_CLAMPED)
            page = pages
        start = (page - 1) * per_page
        order = self._order(gen, docs, score, sort, start + per_page, tier=matched.tier)
        page_docs = order[start:start + per_page]
        terms = parsed.all_terms() | matched.terms
        hits = []
        for docnum in page_docs:
            hit = self._hit(gen, int(docnum), score)
            if request.highlight and terms:
                marked = highlight(hit.title, terms, analyzer=self._analyzer)
                if marked:
                    hit.highlights[schemas.TITLE] = marked
            hits.append(hit)
        facets = self._facets(gen, docs) if request.facets else {}
        suggestion = self._suggest(gen, parsed, filter_mask) if parsed.concepts and not matched.exact else None
        return SearchResults(total=total, hits=hits, page=page, per_page=per_page, facets=facets,
                             suggestion=suggestion, terms=terms, notices=tuple(notices), query_text=parsed.text,
                             widened=matched.widened)

    def _hit(self, gen: _Generation, docnum: int, score) -> Hit:
        fields_ = gen.searcher.stored_fields(docnum)
        return Hit(id=int(fields_[schemas.ID]), score=float(score[docnum]) if score is not None else 0.0,
                   sku=fields_.get(schemas.SKU, ""), company_id=int(gen.columns[schemas.COMPANY][docnum]),
                   title=fields_.get(schemas.TITLE, ""))

    def _matched(self, gen: _Generation, parsed: ParsedQuery, filter_mask: np.ndarray, *, widen_below: int = 0,
                 names: bool = False) -> _Matched:
        """The documents a query finds within ``filter_mask``: every word; else all but one (relaxed);
        a one-word query finding fewer than ``widen_below`` is widened with the word's endings."""
        if parsed.is_empty and not parsed.excluded:
            return _Matched(filter_mask, None)
        text_mask, score = self._match(gen, parsed, names=names)
        mask = text_mask & filter_mask
        exact = int(np.count_nonzero(mask))
        if not exact and len(parsed.concepts) > 1:
            relaxed_mask, relaxed_score = self._match(gen, parsed, relaxed=True, names=names)
            if (relaxed_mask & filter_mask).any():
                return _Matched(relaxed_mask & filter_mask, relaxed_score, notices=(NOTICE_RELAXED,))
        if exact < widen_below:
            widened = self._widen(gen, parsed, mask, score, filter_mask, widen_below)
            if widened is not None:
                widened.exact = exact
                return widened
        return _Matched(mask, score, exact=exact)

    def _widen(self, gen: _Generation, parsed: ParsedQuery, mask: np.ndarray, score: np.ndarray,
               filter_mask: np.ndarray, wanted: int) -> _Matched | None:
        """A one-word Chinese query (电热水壶) widened with its endings, longest first (热水壶, then 水壶),
        each with its synonyms, until a page is full; each ending's documents rank below the ones before."""
        word = _compound_of(parsed)
        if word is None:
            return None
        synonyms = Synonyms.default()
        allowed = filter_mask & ~self._excluded(gen, parsed) if parsed.excluded else filter_mask
        mask, score = mask.copy(), score.copy()
        tier = np.zeros(gen.size, dtype=np.int8)
        found = int(np.count_nonzero(mask))
        used: list[str] = []
        terms: set[str] = set()
        for ending in (word[i:] for i in range(1, len(word) - MIN_WIDEN_CHARS + 1)):
            spelled = tuple(query_terms(ending))
            if not spelled:
                continue
            group = synonyms.group_of(spelled) or (spelled,)
            alternatives = [spelled, *(alt for alt in group if alt != spelled)]
            e_mask, e_score = self._alternatives(gen, alternatives, phrase_first=len(spelled) > 1)
            new = e_mask & allowed & ~mask
            if not new.any():
                continue
            tier[new] = len(used) + 1
            mask |= new
            score[new] = e_score[new]
            used.append(ending)
            terms.update(term for alt in alternatives for term in alt)
            found += int(np.count_nonzero(new))
            if found >= wanted:
                break
        if not used:
            return None
        return _Matched(mask, score, tier=tier, notices=(NOTICE_WIDENED,), widened=tuple(used),
                        terms=frozenset(terms))

    def _alternatives(self, gen: _Generation, alternatives: list[tuple[str, ...]],
                      phrase_first: bool) -> tuple[np.ndarray, np.ndarray]:
        """(mask, score) of either alternative; the first is a title phrase when ``phrase_first`` (热水壶 is
        segmented 热 水壶: the two words together, not anywhere in the text)."""
        mask = np.zeros(gen.size, dtype=bool)
        score = np.zeros(gen.size, dtype=np.float32)
        for number, alternative in enumerate(alternatives):
            a_mask = np.ones(gen.size, dtype=bool)
            a_score = np.zeros(gen.size, dtype=np.float32)
            if number == 0 and phrase_first:
                a_mask[:] = False
                docs = self._phrase_docs(gen, alternative)
                if len(docs):
                    a_mask[docs] = True
            for term in alternative:
                t_mask, t_score = self._term_scores(gen, term)
                if not (number == 0 and phrase_first):
                    a_mask &= t_mask
                a_score += t_score
            a_score[~a_mask] = 0
            mask |= a_mask
            np.maximum(score, a_score, out=score)
        return mask, score

    # -- companies ----------------------------------------------------------------------------

    def search_companies(self, request: SearchQuery, per_company: int = 3) -> CompanyResults:
        """Companies whose documents match, in one pass: companies whose names match every word first,
        then by their number of matching documents; each with its best ``per_company`` documents.

        A word matches a document's text or its company's names. ``request.sort`` and ``facets`` are
        not used; pages count companies.
        """
        started = time.perf_counter()
        per_page = min(max(int(request.per_page or 20), 1), MAX_PER_PAGE)
        page = max(int(request.page or 1), 1)
        per_company = min(max(int(per_company), 0), MAX_PER_PAGE)
        with self._lock:
            gen = self._current()
            key = ("companies", self._gen_dir, gen.searcher.reader().generation(), request.text, request.filters,
                   page, per_page, per_company)
            if request.use_cache:
                cached = self._results.get(key)
                if cached is not None:
                    self._results.move_to_end(key)
                    found = copy.deepcopy(cached)
                    found.from_cache = True
                    found.took_ms = (time.perf_counter() - started) * 1000
                    return found
            found = self._search_companies(gen, request, page, per_page, per_company)
            found.took_ms = (time.perf_counter() - started) * 1000
            if request.use_cache:
                self._remember(key, copy.deepcopy(found))
            return found

    def _search_companies(self, gen: _Generation, request: SearchQuery, page: int, per_page: int,
                          per_company: int) -> CompanyResults:
        parsed = parse(request.text)
        notices = list(parsed.notices)
        filter_mask = self._filter_mask(gen, request.filters)
        matched = self._matched(gen, parsed, filter_mask, names=True)
        notices.extend(matched.notices)
        docs = np.flatnonzero(matched.mask)
        company_of = gen.columns[schemas.COMPANY]
        companies, counts = np.unique(company_of[docs], return_counts=True)
        named = np.zeros(len(companies), dtype=bool)
        if parsed.concepts:
            named_docs = self._name_mask(gen, parsed) & matched.mask
            named = np.isin(companies, company_of[named_docs])
        total = len(companies)
        pages = max(1, math.ceil(total / per_page))
        if page > pages:
            if total:
                notices.append(NOTICE_PAGE_CLAMPED)
            page = pages
        ranked = np.lexsort((companies, -counts, ~named))[(page - 1) * per_page: page * per_page]
        chosen = companies[ranked]
        # the best documents of the page's companies: one sort by company, then as a results page orders
        best: dict[int, list[Hit]] = {int(c): [] for c in chosen}
        mine = docs[np.isin(company_of[docs], chosen)]
        if per_company and len(mine):
            score = matched.score
            keys = [gen.columns[schemas.ID][mine], -gen.columns[schemas.PUBLISHED][mine]]
            if score is not None:
                keys.append(-score[mine])
            keys.append(company_of[mine])
            for docnum in mine[np.lexsort(keys)]:
                hits = best[int(company_of[docnum])]
                if len(hits) < per_company:
                    hits.append(self._hit(gen, int(docnum), score))
        found = [CompanyHit(company_id=int(companies[i]), matches=int(counts[i]), name_match=bool(named[i]),
                            hits=best[int(companies[i])]) for i in ranked]
        suggestion = self._suggest(gen, parsed, filter_mask, names=True) \
            if parsed.concepts and not matched.exact else None
        return CompanyResults(total=total, companies=found, page=page, per_page=per_page, suggestion=suggestion,
                              terms=parsed.all_terms(), notices=tuple(notices), query_text=parsed.text)

    def _order(self, gen: _Generation, docs: np.ndarray, score, sort: str, needed: int,
               tier: np.ndarray | None = None) -> np.ndarray:
        """The first ``needed`` of ``docs`` in the requested order (ties broken by newest, then id);
        a ``tier`` (widened matches) comes before any of that."""
        if not len(docs):
            return docs
        published = gen.columns[schemas.PUBLISHED][docs]
        if sort == "relevance" and score is not None:
            keys = (-published, -score[docs])
        elif sort in ("price_asc", "price_desc"):
            price = gen.columns[schemas.PRICE][docs].astype(np.float64)
            price[price < 0] = np.inf  # unpriced last either way
            keys = (-published, price if sort == "price_asc" else np.where(np.isinf(price), np.inf, -price))
        else:
            keys = (-published,)
        if tier is not None:
            keys = (*keys, tier[docs])
        elif len(docs) > 4 * needed and needed < 1000 and sort == "relevance" and score is not None:
            # Partial selection first: only documents scoring at least the needed-th best score
            # (ties included, so pages never overlap) need the full sort.
            scores = score[docs]
            cutoff = -np.partition(-scores, needed - 1)[needed - 1]
            sub = docs[scores >= cutoff]
            sub_keys = (gen.columns[schemas.ID][sub], -gen.columns[schemas.PUBLISHED][sub], -score[sub])
            return sub[np.lexsort(sub_keys)]
        # the product id breaks every tie: a document's number changes when it is rewritten, its id never
        return docs[np.lexsort((gen.columns[schemas.ID][docs],) + keys)]

    # -- did you mean -------------------------------------------------------------------------

    def _suggest(self, gen: _Generation, parsed: ParsedQuery, filter_mask: np.ndarray,
                 names: bool = False) -> str | None:
        """A corrected query when some of the user's words (and all their synonyms) are unknown to the index.

        Corrections are words of the titles as written (not stems), one edit away (two for long English
        words); of those, the one with which the whole query finds something wins, then the closest to
        what was typed (for Chinese, of the same length), then the one finding most.
        """
        dead: list[str] = []
        for concept in parsed.concepts:
            known = any(all(len(self._postings_for(gen, schemas.TEXT, t)[0]) for t in alt) for alt in concept)
            if not known and names:
                known = any(all(len(self._postings_for(gen, schemas.COMPANY_NAME, t)[0]) for t in alt)
                            for alt in concept)
            if not known:
                dead.extend(concept[0])
        if not dead:
            return None
        text = parsed.text
        # the spans of the text to correct, with their candidates (surface words, commonest first)
        spans: list[tuple[int, int, list[str]]] = []
        covered: set[str] = set()
        # whole runs of Chinese first: the segmenter splits a misspelled word (电饭褒 → 电饭 褒)
        for start, run in _cjk_runs(text):
            # one edit in a word of one or two characters changes its meaning (家纺 → 家用): not offered
            if len(run) < MIN_CJK_CORRECTION or gen.word_count(run) or not any(word in run for word in dead):
                continue
            candidates = self._alive(gen, gen.near_words(run, 1))
            if candidates:
                spans.append((start, start + len(run), candidates))
                covered.update(word for word in dead if word in run)
        for token in self._analyzer(text, mode="query", chars=True, keeporiginal=True):
            word, typed = token.text, token.original.lower()
            if word not in dead or word in covered or any(ch.isdigit() for ch in word):
                continue  # known, already corrected, or a number or model (nothing to guess from)
            if len(typed) < (4 if word.isascii() else MIN_CJK_CORRECTION):
                continue  # too short to guess from
            covered.add(word)
            edits = 2 if word.isascii() and len(typed) >= TWO_EDITS_FROM else 1
            candidates = self._alive(gen, gen.near_words(word, edits))
            if word.isascii():
                candidates = list(dict.fromkeys(self._surface(gen, stem, typed) for stem in candidates))
            if candidates:
                spans.append((token.startchar, token.endchar, candidates))
        if not spans:
            return None
        spans.sort()
        chosen: dict[int, str] = {}
        for number, (start, end, candidates) in enumerate(spans):
            typed = text[start:end].lower()

            def rank(candidate: str, number=number, typed=typed) -> tuple:
                found = self._count(gen, _replaced(text, spans, {**chosen, number: candidate}), filter_mask, names)
                # a Chinese typo is mostly a wrong character of the same sound (庭院等 → 庭院灯, not 庭院)
                resized = len(candidate) != len(typed) and not typed.isascii()
                return (found == 0, _edits(typed, candidate), resized, -found)

            chosen[number] = min(candidates, key=rank)
        suggestion = _replaced(text, spans, chosen, keep_unchosen=True)
        return suggestion if suggestion != text else None

    def _alive(self, gen: _Generation, candidates: list[str]) -> list[str]:
        """The first few candidates some live document has in its title (word counts include deleted ones)."""
        alive = []
        for term in candidates:
            ids, _weights = self._postings_for(gen, schemas.TITLE, term)
            if len(ids) and gen.alive[ids].any():
                alive.append(term)
                if len(alive) >= MAX_CORRECTIONS:
                    break
        return alive

    def _count(self, gen: _Generation, text: str, filter_mask: np.ndarray, names: bool) -> int:
        """How many documents ``text`` finds within ``filter_mask`` (every word, no relaxing)."""
        parsed = parse(text)
        if parsed.is_empty:
            return 0
        mask, _score = self._match(gen, parsed, names=names)
        return int(np.count_nonzero(mask & filter_mask))

    def _surface(self, gen: _Generation, stem: str, typed: str) -> str:
        """A stemmed term as titles write it, the spelling closest to ``typed`` ("humidifi" → "humidifier")."""
        ids, _weights = self._postings_for(gen, schemas.TITLE, stem)
        docs = ids[gen.alive[ids]][:20] if len(ids) else ids
        spellings: Counter = Counter()
        for docnum in docs:
            title = gen.searcher.stored_fields(int(docnum)).get(schemas.TITLE, "")
            for token in self._analyzer(title, keeporiginal=True, mode="query"):
                if token.text == stem and getattr(token, "original", None):
                    spellings[token.original.lower()] += 1
        if not spellings:
            return stem
        return min(spellings, key=lambda spelling: (_edits(typed, spelling), -spellings[spelling], spelling))

    # -- maintenance --------------------------------------------------------------------------

    def stored(self) -> dict[int, str]:
        """Every indexed product id with its fingerprint (for ``check``)."""
        with self._lock:
            gen = self._current()
            out = {}
            for _docnum, fields_ in gen.searcher.reader().iter_docs():
                out[int(fields_[schemas.ID])] = fields_.get(schemas.FINGERPRINT, "")
            return out

    def check(self, expected: dict[int, str]) -> dict:
        """Compare the index with ``expected`` (id → fingerprint): missing, extra and stale ids."""
        actual = self.stored()
        missing = sorted(set(expected) - set(actual))
        extra = sorted(set(actual) - set(expected))
        stale = sorted(i for i in set(expected) & set(actual) if expected[i] != actual[i])
        return {"missing": missing, "extra": extra, "stale": stale, "indexed": len(actual), "expected": len(expected)}

    def status(self) -> dict:
        """Documents, segments, size on disk, generation and cursor of the current index."""
        with self._lock:
            gen = self._current()
            path = self.root / self._gen_dir
            size = sum(p.stat().st_size for p in path.iterdir() if p.is_file())
            reader = gen.searcher.reader()
            segments = len(gen.leaves)
            return {
                "path": str(path), "doc_count": gen.doc_count, "deleted": gen.size - gen.doc_count,
                "segments": segments, "size_bytes": size, "generation": reader.generation() or 0,
                "cursor": _read_cursor(path), "locked": self.is_locked(),
            }

    def company_doc_ids(self, company_id: int) -> list[int]:
        """Ids of the indexed products of one company (to drop them when the company is gone)."""
        with self._lock:
            gen = self._current()
            docs = np.flatnonzero(gen.alive & (gen.columns[schemas.COMPANY] == company_id))
            return [int(i) for i in gen.columns[schemas.ID][docs]]

    def is_locked(self) -> bool:
        """Whether a process is changing the index now (holds the change lock or Whoosh's writer lock)."""
        path = self.path
        return _is_locked(self.root, CHANGE_LOCK) or bool(path and _is_locked(path, "MAIN_WRITELOCK"))

    def close(self) -> None:
        """Release the searcher and files."""
        with self._lock:
            self._close_searcher()
            self._ix = None
            self._gen_dir = None


class ProductIndex(SearchIndex):
    """The product index (the one kind there is so far)."""

    def __init__(self, root: str | os.PathLike, **options):
        super().__init__(root, kind=schemas.PRODUCTS, **options)


# ----------------------------------------------------------------------------- helpers


def _copy_results(results: SearchResults) -> SearchResults:
    return SearchResults(
        total=results.total, hits=[Hit(h.id, h.score, h.sku, h.company_id, h.title, dict(h.highlights))
                                   for h in results.hits],
        page=results.page, per_page=results.per_page, facets={k: list(v) for k, v in results.facets.items()},
        suggestion=results.suggestion, terms=results.terms, notices=results.notices, query_text=results.query_text,
        took_ms=results.took_ms, widened=results.widened,
    )


def _write_cursor(path: Path, cursor: int) -> None:
    tmp = path / f".{CURSOR_FILE}.{uuid.uuid4().hex}"
    tmp.write_text(json.dumps({"cursor": int(cursor)}), encoding="utf-8")
    os.replace(tmp, path / CURSOR_FILE)


def _read_cursor(path: Path) -> int:
    try:
        return int(json.loads((path / CURSOR_FILE).read_text(encoding="utf-8"))["cursor"])
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return 0


def _is_locked(path: Path, name: str) -> bool:
    storage = FileStorage(str(path))
    lock = storage.lock(name)
    if lock.acquire(blocking=False):
        lock.release()
        return False
    return True


def _cjk_runs(text: str) -> list[tuple[int, str]]:
    """The runs of Chinese characters of ``text`` with where each starts."""
    runs, start = [], None
    for at, ch in enumerate(text + " "):
        if "\u4e00" <= ch <= "\u9fff":
            start = at if start is None else start
        elif start is not None:
            runs.append((start, text[start:at]))
            start = None
    return runs


def _edits(a: str, b: str) -> int:
    """Edits (insert, delete, replace, swap two neighbours) that turn ``a`` into ``b``."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


def _within_edits(a: str, b: str, limit: int) -> bool:
    """Whether ``b`` is at most ``limit`` edits from ``a`` (cheap checks first: most words are far)."""
    if abs(len(a) - len(b)) > limit:
        return False
    if limit == 1:
        return _one_edit(a, b)
    return _edits(a, b) <= limit


def _one_edit(a: str, b: str) -> bool:
    if a == b:
        return True
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    if len(a) < len(b):  # one insertion
        return a[i:] == b[i + 1:]
    if a[i + 1:] == b[i + 1:]:  # one replacement
        return True
    # two neighbours swapped
    return i + 1 < len(a) and a[i] == b[i + 1] and a[i + 1] == b[i] and a[i + 2:] == b[i + 2:]


def _compound_of(parsed: ParsedQuery) -> str | None:
    """The one Chinese word of a one-word query (longer than ``MIN_WIDEN_CHARS``, not quoted), else None."""
    if len(parsed.concepts) != 1 or parsed.phrases or len(parsed.concepts[0][0]) != 1:
        return None
    word = parsed.concepts[0][0][0]
    if len(word) <= MIN_WIDEN_CHARS or any(ch.isascii() for ch in word) or word in parsed.quoted:
        return None
    return word


def _replaced(text: str, spans: list[tuple[int, int, list[str]]], chosen: dict[int, str],
              keep_unchosen: bool = False) -> str:
    """``text`` with the chosen correction in each span; spans with none are dropped (or kept as typed)."""
    parts, last = [], 0
    for number, (start, end, _candidates) in enumerate(spans):
        parts.append(text[last:start])
        if number in chosen:
            parts.append(chosen[number])
        elif keep_unchosen:
            parts.append(text[start:end])
        last = end
    parts.append(text[last:])
    return " ".join("".join(parts).split())
