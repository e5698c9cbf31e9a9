"""The index of one kind: a Whoosh index on disk, searched through per-segment array caches.

Owns: generations (create, swap in atomically, keep the previous one), writing (apply a batch of
changes with one writer and a lock timeout; rebuild into a new generation), reading (search with
the kind's filters, facets and sorts, highlights, pagination), ``check``, ``optimize`` and ``status``.
Split along its seams: ``types`` (requests and results), ``store`` (the directory: ``CURRENT``,
cursor and schema files, locks), ``whoosh_internals`` (postings, lengths and the segment writer
through pinned Whoosh 2.7.4 internals), ``columns`` (per-segment arrays, one generation's arrays,
the postings cache) and ``suggest`` ("did you mean").

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
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from whoosh import index as whoosh_index
from whoosh import query as wq
from whoosh.filedb.filestore import FileStorage
from whoosh.index import LockError
from whoosh.reading import SegmentReader

from search_index import schemas
from search_index.analysis import Synonyms, chinese_analyzer, query_terms
from search_index.columns import (  # noqa: F401  (re-exported: tests and benchmarks use them)
    CERT_BITS,
    HS_CHAPTER,
    MAX_HEAD_EXPANSION,
    POSTINGS_CACHE_BYTES,
    POSTINGS_CACHE_ENTRIES,
    POSTINGS_ENTRY_BYTES,
    VOCABULARY,
    PostingsCache,
    SegmentWords,
    _Generation,
    _SegmentData,
)
from search_index.highlight import highlight
from search_index.query import ParsedQuery, hs_prefix, parse
from search_index.schemas import ProductRecord
from search_index.similar import Similar
from search_index.store import (  # noqa: F401
    CHANGE_LOCK,
    CURRENT,
    CURSOR_FILE,
    SCHEMA_FILE,
    _is_locked,
    _read_cursor,
    _replace_file,
    _write_cursor,
)
from search_index.suggest import MIN_WIDEN_CHARS, Suggestions, _compound_of  # noqa: F401
from search_index.types import (  # noqa: F401
    NOTICE_PAGE_CLAMPED,
    NOTICE_RELAXED,
    NOTICE_WIDENED,
    CompanyHit,
    CompanyResults,
    Filters,
    Hit,
    IndexBusy,
    SearchQuery,
    SearchResults,
    _Matched,
)
from search_index.whoosh_internals import _EMPTY_WEIGHTS, _read_postings, _SegmentWriter, release_writer  # noqa: F401

logger = logging.getLogger(__name__)

#: the product kind's sorts and the facets a product search can count (each kind declares its own)
SORTS = schemas.PRODUCT_SORTS
FACET_FIELDS = tuple(name for name in schemas.PRODUCT_FACETS if name != schemas.COMPANY)
MAX_PAGE = 500
MAX_PER_PAGE = 100
BM25_B = 0.75
BM25_K1 = 1.2
TITLE_BOOST = 3.0
#: documents per segment written by a rebuild
REBUILD_SEGMENT_DOCS = 10_000
#: the score of an exact article-number match (above any text match of one word)
SKU_SCORE = 50.0
#: the score of a product whose HS code starts with a query word (8516 → 851660…): below an
#: article number, about a strong title match
HS_SCORE = 20.0


# ----------------------------------------------------------------------------- per-segment data





# ----------------------------------------------------------------------------- the index


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


class SearchIndex(Suggestions, Similar):
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
        (path / SCHEMA_FILE).write_text(json.dumps({"kind": self.kind.name, "version": self.kind.version}),
                                        encoding="utf-8")
        return path

    def _swap_in(self, path: Path) -> None:
        """Make ``path`` the current generation, atomically for every process; keep the previous one
        (searchers in other processes may still read it) and delete older ones."""
        previous = self._current_name()
        _replace_file(self.root / CURRENT, path.name)
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
        if not upserts and not deletes:  # changes of another kind: only the cursor moves
            if cursor is not None:
                _write_cursor(gen_path, max(cursor, _read_cursor(gen_path)))
            return
        try:
            writer = _SegmentWriter(ix, timeout=timeout, delay=0.05)
        except LockError as error:
            raise IndexBusy(str(error)) from error
        latest = {record.id: record for record in upserts}  # the last version of each wins
        gone = set(latest) | {int(i) for i in deletes}
        try:
            with writer:
                for docnum in self._docnums_for(writer, gone):
                    writer.delete_document(docnum)
                for record in latest.values():
                    writer.add_document(**self.kind.to_document(record))
        except BaseException:
            release_writer(writer)  # a failed commit must not keep the index locked for every later drain
            raise
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
                if data is not None:
                    self._segment_cache.move_to_end(segid)  # recently used (the cache evicts the oldest)
            if data is None:
                reader = SegmentReader(writer.storage, writer.schema, segment)
                try:
                    data = _SegmentData(reader, self.kind.columns)
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
            self._generation = _Generation(self._searcher, self._segment_cache, self.kind.columns)
            # named once, with the searcher it reads: a later call may already see a newer commit
            self._generation.key = (self._gen_dir, self._searcher.reader().generation())
        return self._generation

    def generation_key(self) -> tuple:
        """Identifies what a search would read: the current directory and its Whoosh generation."""
        with self._lock:
            return self._current().key

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
        prefix = hs_prefix(term) if schemas.HS in gen.columns else None
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
        if schemas.SKU_KEY not in self.kind.columns:
            return np.zeros(0, dtype=np.int64)
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
        unknown = sorted(name for name in Filters.__dataclass_fields__
                         if getattr(filters, name) is not None and name not in self.kind.filters)
        if unknown:
            raise ValueError(f"{self.kind.name} cannot be filtered by {', '.join(unknown)}")
        cols = gen.columns
        mask = gen.alive.copy()
        for name, wanted in ((schemas.CATEGORY, filters.category), (schemas.PROVINCE, filters.province),
                             (schemas.CITY, filters.city)):
            if wanted:
                code = VOCABULARY.code(wanted)
                mask &= cols[name] == (code if code is not None else -1)
        if filters.hs_prefix:
            classified = np.zeros(gen.size, dtype=bool)
            classified[gen.hs_docs(filters.hs_prefix)] = True
            mask &= classified
        if filters.certification:
            mask &= gen.cert_mask(filters.certification)
        if filters.price_min_fen is not None:
            mask &= (cols[schemas.PRICE] >= filters.price_min_fen)
        if filters.price_max_fen is not None:
            mask &= (cols[schemas.PRICE] >= 0) & (cols[schemas.PRICE] <= filters.price_max_fen)
        if filters.quantity_min is not None:
            mask &= cols[schemas.QUANTITY] >= filters.quantity_min
        if filters.quantity_max is not None:
            mask &= cols[schemas.QUANTITY] <= filters.quantity_max
        if filters.deadline_from is not None:
            mask &= cols[schemas.DEADLINE] >= schemas.date_key(filters.deadline_from)
        if filters.deadline_to is not None:
            mask &= cols[schemas.DEADLINE] <= schemas.date_key(filters.deadline_to)
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
        wanted = self.kind.facets
        for name in (n for n in (schemas.CATEGORY, HS_CHAPTER, schemas.PROVINCE) if n in wanted):
            counts = np.bincount(gen.columns[name][docs], minlength=1) if len(docs) else np.zeros(1, dtype=np.int64)
            pairs = [(values[code], int(counts[code])) for code in np.flatnonzero(counts) if values[code]]
            facets[name] = sorted(pairs, key=lambda p: (-p[1], p[0]))
        if schemas.CERTS in wanted:
            facets[schemas.CERTS] = self._cert_facet(gen, docs)
        for name in (n for n in (schemas.TARIFF_HIT, schemas.DOMESTIC_READY, schemas.VERIFIED) if n in wanted):
            facets[name] = [("1", int(gen.columns[name][docs].sum()))]
        if schemas.COMPANY in wanted:
            companies, counts = np.unique(gen.columns[schemas.COMPANY][docs], return_counts=True)
            order = np.lexsort((companies, -counts))
            facets[schemas.COMPANY] = [(str(int(companies[i])), int(counts[i])) for i in order]
        return facets

    def _cert_facet(self, gen: _Generation, docs: np.ndarray) -> list:
        certs = gen.columns[schemas.CERTS][docs]
        cert_counts = []
        for code, bit in CERT_BITS.items():
            count = int(np.count_nonzero(certs & (1 << bit)))
            if count:
                cert_counts.append((code, count))
        return sorted(cert_counts, key=lambda p: (-p[1], p[0]))

    def search(self, request: SearchQuery) -> SearchResults:
        """Run a search. Never raises on user input: odd text and odd pages come back as notices."""
        started = time.perf_counter()
        per_page = min(max(int(request.per_page or 20), 1), MAX_PER_PAGE)
        page = max(int(request.page or 1), 1)
        sort = request.sort if request.sort in self.kind.sorts else "relevance"
        with self._lock:
            gen = self._current()
            key = (*gen.key, request.text, request.filters, sort, page,
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
        company = gen.columns.get(schemas.COMPANY)
        return Hit(id=int(fields_[schemas.ID]), score=float(score[docnum]) if score is not None else 0.0,
                   sku=fields_.get(schemas.SKU, ""), company_id=int(company[docnum]) if company is not None else 0,
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
            key = ("companies", *gen.key, request.text, request.filters,
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
        elif sort == "deadline":  # soonest first
            keys = (-published, gen.columns[schemas.DEADLINE][docs])
        elif sort == "quantity":  # largest first
            keys = (-published, -gen.columns[schemas.QUANTITY][docs])
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
                "cursor": _read_cursor(path), "locked": self.is_locked(), "kind": self.kind.name,
                "schema_version": self.schema_version(), "current_version": self.kind.version,
            }

    def schema_version(self) -> str | None:
        """The schema version the current generation was built with (None: built before versions were kept)."""
        path = self.path
        try:
            return json.loads((path / SCHEMA_FILE).read_text(encoding="utf-8"))["version"] if path else None
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            return None

    def is_stale(self) -> bool:
        """The current generation was built with another schema version than this code's."""
        return self.schema_version() != self.kind.version

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

