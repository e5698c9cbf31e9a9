"""SQLite FTS5 over the same pre-segmented text: the yardstick of the search benchmark.

Owns: building an FTS5 table (``id``, ``title``, ``text``) whose content is the space-joined
``search_index.analysis.index_terms`` of the ``TITLE`` and ``TEXT`` fields of ``to_document()``,
beside an ordinary ``products`` table holding the record's filter values (indexed), and answering the
benchmark's searches: AND of the query's coarse terms (``query_terms``, each quoted), bm25 with
the title weighted like the engine's title boost, top 20, the same category / price filters, and
facet counts (category, HS chapter, province, certifications, the three flags) when asked.
No synonyms and no relaxed second pass: it is a baseline for speed, not a rival for quality.
"""
from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from search_index import schemas
from search_index.analysis import index_terms, query_terms
from search_index.schemas import ProductRecord, to_document

if TYPE_CHECKING:
    from bench.search_queries import MixQuery

#: bm25 column weights: id (unindexed), title, text; the title weighs like the engine's TITLE_BOOST
BM25_WEIGHTS = (0.0, 3.0, 1.0)
BATCH = 2000


@dataclass
class Fts5Result:
    """One FTS5 search: the ids of the page, their highlighted titles, the total when counted, facets."""

    ids: list[int]
    highlights: list[str]
    total: int | None = None
    facets: dict | None = None


class Fts5Index:
    """An FTS5 index in one SQLite file (created by ``build``; ``open`` reopens it)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.db = sqlite3.connect(str(self.path))
        self.db.execute("PRAGMA temp_store = MEMORY")
        self.db.execute("PRAGMA cache_size = -262144")  # up to 256 MB of page cache
        self.db.execute("CREATE TEMP TABLE IF NOT EXISTS m (id INTEGER PRIMARY KEY)")

    @classmethod
    def build(cls, records: Iterable[ProductRecord], path: str | os.PathLike) -> tuple[Fts5Index, dict]:
        """Segment every record and load it into a new database at ``path``; the index and its build figures."""
        wall_started = time.perf_counter()
        path = Path(path)
        if path.exists():
            path.unlink()
        db = sqlite3.connect(str(path))
        db.executescript("""
            PRAGMA journal_mode = OFF;
            PRAGMA synchronous = OFF;
            CREATE VIRTUAL TABLE fts USING fts5(
                id UNINDEXED, title, text, tokenize = "unicode61 remove_diacritics 0 tokenchars '.'");
            CREATE TABLE products (
                id INTEGER PRIMARY KEY, category TEXT, hs TEXT, province TEXT, certs TEXT, price INTEGER,
                moq INTEGER, tariff_hit INTEGER, domestic_ready INTEGER, verified INTEGER);
            CREATE TABLE product_certs (id INTEGER, cert TEXT, PRIMARY KEY (id, cert)) WITHOUT ROWID;
        """)
        segment_s = insert_s = 0.0
        docs = 0
        fts_rows: list = []
        product_rows: list = []
        cert_rows: list = []

        def flush():
            nonlocal insert_s
            started = time.perf_counter()
            db.executemany("INSERT INTO fts (rowid, id, title, text) VALUES (?, ?, ?, ?)", fts_rows)
            db.executemany("INSERT INTO products VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", product_rows)
            db.executemany("INSERT INTO product_certs VALUES (?, ?)", cert_rows)
            insert_s += time.perf_counter() - started
            fts_rows.clear()
            product_rows.clear()
            cert_rows.clear()

        for record in records:
            doc = to_document(record)
            started = time.perf_counter()
            title = " ".join(index_terms(doc[schemas.TITLE]))
            text = " ".join(index_terms(doc[schemas.TEXT]))
            segment_s += time.perf_counter() - started
            fts_rows.append((record.id, record.id, title, text))
            certs = sorted(set(record.certifications))
            product_rows.append((record.id, record.category or "other", record.hs_code or "", record.province or "",
                                 " ".join(certs), record.price_fen if record.price_fen is not None else -1,
                                 record.moq, int(record.tariff_hit), int(record.domestic_ready),
                                 int(record.verified)))
            cert_rows.extend((record.id, cert) for cert in certs)
            docs += 1
            if len(fts_rows) >= BATCH:
                flush()
        flush()
        started = time.perf_counter()
        db.executescript("""
            CREATE INDEX products_category ON products (category, price);
            CREATE INDEX products_price ON products (price);
            INSERT INTO fts (fts) VALUES ('optimize');
        """)
        db.commit()
        db.close()
        insert_s += time.perf_counter() - started
        # seconds: the whole build as the caller sees it (including producing the records it was given)
        stats = {"docs": docs, "segment_s": segment_s, "insert_s": insert_s,
                 "seconds": time.perf_counter() - wall_started,
                 "size_bytes": path.stat().st_size}
        return cls(path), stats

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    @staticmethod
    def match_expression(text: str) -> str | None:
        """The FTS5 MATCH expression of a query: its coarse terms, quoted, all required (None: no term)."""
        terms = [term.replace('"', '""') for term in query_terms(text)]
        return " ".join(f'"{term}"' for term in terms) if terms else None

    # CROSS JOIN keeps the FTS table as the outer loop: with a plain JOIN SQLite may walk the
    # products of a category and re-run the MATCH for each of them (100× slower on big categories).
    def _where(self, category: str | None, price_min_fen: int | None,
               price_max_fen: int | None) -> tuple[str, list]:
        clauses, params = ["fts MATCH ?"], []
        if category:
            clauses.append("p.category = ?")
            params.append(category)
        if price_min_fen is not None:
            clauses.append("p.price >= ?")
            params.append(price_min_fen)
        if price_max_fen is not None:
            clauses.append("p.price >= 0 AND p.price <= ?")
            params.append(price_max_fen)
        return " AND ".join(clauses), params

    def search(self, text: str, category: str | None = None, price_min_fen: int | None = None,
               price_max_fen: int | None = None, *, limit: int = 20, highlight: bool = True,
               facets: bool = False) -> Fts5Result:
        """Top ``limit`` ids by bm25 for ``text`` (all terms required) within the filters."""
        expression = self.match_expression(text)
        if expression is None:
            return Fts5Result([], [], 0 if facets else None, {} if facets else None)
        where, params = self._where(category, price_min_fen, price_max_fen)
        weights = ", ".join(str(w) for w in BM25_WEIGHTS)
        shown = "highlight(fts, 1, '<mark>', '</mark>')" if highlight else "''"
        rows = self.db.execute(
            f"SELECT f.rowid, {shown} FROM fts f CROSS JOIN products p ON p.id = f.rowid "
            f"WHERE {where} ORDER BY bm25(fts, {weights}) LIMIT ?",
            [expression, *params, limit],
        ).fetchall()
        result = Fts5Result([row[0] for row in rows], [row[1] for row in rows])
        if facets:
            result.total, result.facets = self._facets(expression, where, params)
        return result

    def _facets(self, expression: str, where: str, params: list) -> tuple[int, dict]:
        db = self.db
        db.execute("DELETE FROM m")
        db.execute(f"INSERT INTO m SELECT f.rowid FROM fts f CROSS JOIN products p ON p.id = f.rowid WHERE {where}",
                   [expression, *params])
        total = db.execute("SELECT count(*) FROM m").fetchone()[0]
        facets = {}
        for name, column in (("category", "p.category"), ("hs_chapter", "substr(p.hs, 1, 2)"),
                             ("province", "p.province")):
            facets[name] = db.execute(
                f"SELECT {column}, count(*) AS c FROM m JOIN products p ON p.id = m.id "
                f"GROUP BY 1 ORDER BY c DESC, 1").fetchall()
        facets["certs"] = db.execute(
            "SELECT c.cert, count(*) AS n FROM m JOIN product_certs c ON c.id = m.id GROUP BY 1 ORDER BY n DESC, 1"
        ).fetchall()
        flags = db.execute("SELECT sum(tariff_hit), sum(domestic_ready), sum(verified) FROM m "
                           "JOIN products p ON p.id = m.id").fetchone()
        facets.update({"tariff_hit": flags[0] or 0, "domestic_ready": flags[1] or 0, "verified": flags[2] or 0})
        return total, facets


def time_queries(index: Fts5Index, queries: Iterable[MixQuery], *, filters: bool = True, facets: bool = False,
                 highlight: bool = True, repeat: bool = False) -> list[float]:
    """Milliseconds of each query of the mix (``repeat``: the second of two identical runs)."""
    latencies = []
    for query in queries:
        args = (query.text, query.category, query.price_min_fen, query.price_max_fen) if filters else (query.text,)
        if repeat:
            index.search(*args, highlight=highlight, facets=facets)
        started = time.perf_counter()
        index.search(*args, highlight=highlight, facets=facets)
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies
