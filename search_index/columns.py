"""The numpy side of execution: per-segment column arrays and title words, one generation's global arrays
and alive mask, and the bounded postings cache."""
from __future__ import annotations

import bisect
import sys
import threading
from collections import OrderedDict
from collections.abc import Iterator

import numpy as np

from search_index import schemas
from search_index.suggest import _within_edits
from search_index.whoosh_internals import _field_lengths

#: at most this many words ending in a lone query character stand for it (灯 → 庭院灯, 吸顶灯 …)
MAX_HEAD_EXPANSION = 64
#: postings cache budget: bytes (arrays plus each entry's own cost) and entries
POSTINGS_CACHE_BYTES = 64 * 2**20
POSTINGS_CACHE_ENTRIES = 100_000
#: what one cached postings entry costs beyond its arrays and its term (measured with tracemalloc on
#: Python 3.11: the key tuple, the LRU's node, the value tuple and its count, ~240 bytes): all a miss costs
POSTINGS_ENTRY_BYTES = 240


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

    def __init__(self, reader, column_fields: dict):
        self.count = reader.doc_count_all()
        #: integer columns as they are; text columns as codes of the process-wide VOCABULARY
        self.columns: dict[str, np.ndarray] = {}
        raw_sku: list[str] = []
        for name, kind in column_fields.items():
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


#: bytes of keyword documents a generation keeps for matching (their postings stay in the postings cache too)
KEYWORD_DOCS_BYTES = 24 * 1024 * 1024


class _Generation:
    """Everything derived from one searcher: global arrays, alive mask, caches of this generation."""

    def __init__(self, searcher, segment_cache: OrderedDict, column_fields: dict):
        self.searcher = searcher
        #: (generation directory, Whoosh generation): what caches keyed by docnum name it by (set by the opener)
        self.key: tuple = ()
        reader = searcher.reader()
        leaves = reader.leaf_readers() if hasattr(reader, "leaf_readers") else [(reader, 0)]
        self.leaves = []
        names = [n for n in column_fields if n != schemas.SKU_KEY]
        if schemas.HS in column_fields:
            names.append(HS_CHAPTER)
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
                data = _SegmentData(leaf, column_fields)
                segment_cache[segid] = data
                while len(segment_cache) > 64:
                    segment_cache.popitem(last=False)
            else:
                # least recently used goes first: the big base segment, read by every generation, must not
                # be evicted by 64 small segments of later commits (its arrays took ~250 ms at 20k products)
                segment_cache.move_to_end(segid)
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
        self._hs_sorted: tuple | None = None
        #: matching's keyword documents of this generation (``Similar._keyword_docs``), least recently used out
        self.keyword_docs: OrderedDict = OrderedDict()
        self.keyword_docs_bytes = 0

    def keep_keyword_docs(self, key: tuple, docs: np.ndarray) -> None:
        """Keep one keyword's documents (bounded by ``KEYWORD_DOCS_BYTES``: the oldest go first)."""
        self.keyword_docs[key] = docs
        self.keyword_docs_bytes += docs.nbytes
        while self.keyword_docs and self.keyword_docs_bytes > KEYWORD_DOCS_BYTES:
            _key, old = self.keyword_docs.popitem(last=False)
            self.keyword_docs_bytes -= old.nbytes

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
        """Live documents whose HS code starts with ``prefix`` (sorted docnums)."""
        docs = self._hs_docs.get(prefix)
        if docs is None:
            values, starts, order = self._hs_layout()
            lo, hi = bisect.bisect_left(values, prefix), bisect.bisect_left(values, prefix + "\uffff")
            docs = np.sort(order[starts[lo]:starts[hi]]) if hi > lo else np.zeros(0, dtype=np.int64)
            docs = docs[self.alive[docs]]
            if len(self._hs_docs) > 256:
                self._hs_docs.clear()
            self._hs_docs[prefix] = docs
        return docs

    def _hs_layout(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        """The generation's documents grouped by HS code, codes in text order: (the distinct non-empty codes,
        where each code's run starts in ``order`` (one more at the end), docnums in that order) — a prefix
        is then one contiguous run, found by binary search, instead of a scan over every value."""
        if self._hs_sorted is None:
            column = self.columns[schemas.HS]
            codes = np.unique(column)
            codes = codes[codes != 0]
            names = [VOCABULARY.values[int(code)] for code in codes]
            by_name = sorted(range(len(codes)), key=names.__getitem__)
            rank = np.full(int(codes.max()) + 1 if len(codes) else 1, -1, dtype=np.int64)
            rank[codes[by_name]] = np.arange(len(by_name))
            doc_rank = rank[column] if len(column) else np.zeros(0, dtype=np.int64)
            order = np.argsort(doc_rank, kind="stable")
            counts = np.bincount(doc_rank[doc_rank >= 0], minlength=len(by_name))
            skip = int((doc_rank < 0).sum())  # documents without a code sort first
            starts = np.concatenate(([0], np.cumsum(counts))) + skip
            self._hs_sorted = ([names[i] for i in by_name], starts, order)
        return self._hs_sorted

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
