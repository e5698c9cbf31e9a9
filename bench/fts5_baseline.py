"""SQLite FTS5 over the same pre-segmented text: the yardstick of the search benchmark.

Owns: building an FTS5 table (``id``, ``title``, ``text``) whose content is the space-joined
``search_index.analysis.index_terms`` of the ``TITLE`` and ``TEXT`` fields of ``to_document()``,
beside an ordinary ``products`` table holding the record's filter values (indexed), and answering the
benchmark's searches with bm25 (the title weighted like the engine's title boost), top 20, the same
category / price filters, and facet counts (category, HS chapter, province, certifications, the
three flags) when asked. Two ways of reading the query:

- ``raw``: AND of the query's coarse terms (``query_terms``, each quoted); no synonyms, no
  single-character expansion, no relaxed pass, no total. Cheaper than what the engine does, and
  worse at it: the old baseline, kept for comparison;
- ``engine`` (the fair one): the engine's own ``search_index.query.parse`` — every concept an OR of
  its synonyms (an alternative of several terms an AND of them), a lone Chinese character
  widened to the 64 commonest title words it ends (from FTS5's own vocabulary, as the engine does
  from its title lexicon), quoted title phrases, exclusions; then the total counted, and, when
  nothing matches, the relaxed pass (all concepts but one). Left out, because the query mix holds
  none of them: article numbers (the engine's SKU column), HS codes and company names.
  ``tests/search/test_search_data.py`` checks that it counts what the engine finds.
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
from search_index.query import ParsedQuery, parse
from search_index.schemas import ProductRecord, to_document

if TYPE_CHECKING:
    from bench.search_queries import MixQuery

#: bm25 column weights: id (unindexed), title, text; the title weighs like the engine's TITLE_BOOST
BM25_WEIGHTS = (0.0, 3.0, 1.0)
BATCH = 2000
#: how FTS5 reads a query (see the module docstring); ``engine`` is the fair comparison
MODES = ("raw", "engine")
#: at most this many title words stand for a lone query character (the engine's MAX_HEAD_EXPANSION)
MAX_HEAD_EXPANSION = 64


@dataclass
class Fts5Result:
    """One FTS5 search: the ids of the page, their highlighted titles, the total when counted, facets."""

    ids: list[int]
    highlights: list[str]
    total: int | None = None
    facets: dict | None = None
    relaxed: bool = False


class Fts5Index:
    """An FTS5 index in one SQLite file (created by ``build``; ``open`` reopens it)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.db = sqlite3.connect(str(self.path))
        self.db.execute("PRAGMA temp_store = MEMORY")
        self.db.execute("PRAGMA cache_size = -262144")  # up to 256 MB of page cache
        self.db.execute("CREATE TEMP TABLE IF NOT EXISTS m (id INTEGER PRIMARY KEY)")
        self._title_lexicon: dict[str, int] | None = None

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
        """The raw MATCH expression of a query: its coarse terms, quoted, all required (None: no term)."""
        terms = [term.replace('"', '""') for term in query_terms(text)]
        return " ".join(f'"{term}"' for term in terms) if terms else None

    def title_lexicon(self) -> dict[str, int]:
        """Title term → number of documents (FTS5's vocabulary, read once like the engine's per generation)."""
        if self._title_lexicon is None:
            self.db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.vocab USING fts5vocab(main, fts, 'col')")
            self._title_lexicon = dict(self.db.execute("SELECT term, doc FROM temp.vocab WHERE col = 'title'"))
        return self._title_lexicon

    def _with_heads(self, concept: tuple) -> tuple:
        """The engine's rule: a lone Chinese character also means the commonest title words it ends."""
        singles = [alt[0] for alt in concept if len(alt) == 1 and len(alt[0]) == 1 and not alt[0].isascii()]
        if not singles:
            return concept
        lexicon = self.title_lexicon()
        extra = []
        for char in singles:
            heads = sorted(((df, term) for term, df in lexicon.items() if len(term) > 1 and term.endswith(char)),
                           reverse=True)[:MAX_HEAD_EXPANSION]
            extra.extend((term,) for _df, term in heads)
        return tuple(concept) + tuple(alt for alt in dict.fromkeys(extra) if alt not in concept)

    @staticmethod
    def _all(terms) -> str:
        quoted = [f'"{term.replace(chr(34), chr(34) * 2)}"' for term in terms]
        return quoted[0] if len(quoted) == 1 else "(" + " AND ".join(quoted) + ")"

    def engine_expressions(self, parsed: ParsedQuery) -> tuple[str | None, str | None]:
        """(strict, relaxed) MATCH expressions of the engine's parsed query (None: nothing to match)."""
        concepts = ["(" + " OR ".join(self._all(alt) for alt in self._with_heads(concept) if alt) + ")"
                    for concept in parsed.concepts]
        required = [*concepts, *(f'title : "{" ".join(phrase)}"' for phrase in parsed.phrases)]
        if not required:
            return None, None
        excluded = " OR ".join(self._all(alt) for alt in parsed.excluded if alt)

        def expression(parts: list[str]) -> str:
            joined = " AND ".join(parts)
            return f"({joined}) NOT ({excluded})" if excluded else joined

        relaxed = None
        if len(concepts) > 1:
            phrases = required[len(concepts):]
            relaxed = " OR ".join("(" + expression(concepts[:i] + concepts[i + 1:] + phrases) + ")"
                                  for i in range(len(concepts)))
        return expression(required), relaxed

    def search(self, text: str, category: str | None = None, price_min_fen: int | None = None,
               price_max_fen: int | None = None, *, limit: int = 20, highlight: bool = True,
               facets: bool = False, mode: str = "raw") -> Fts5Result:
        """Top ``limit`` ids by bm25 for ``text`` within the filters, the query read as ``mode`` says."""
        if mode == "engine":
            return self._search_as_engine(text, category, price_min_fen, price_max_fen, limit=limit,
                                          highlight=highlight, facets=facets)
        expression = self.match_expression(text)
        if expression is None:
            return Fts5Result([], [], 0 if facets else None, {} if facets else None)
        return self._run(expression, category, price_min_fen, price_max_fen, limit, highlight, facets, count=False)

    def _search_as_engine(self, text, category, price_min_fen, price_max_fen, *, limit, highlight,
                          facets) -> Fts5Result:
        strict, relaxed = self.engine_expressions(parse(text))
        if strict is None:
            return Fts5Result([], [], 0, {} if facets else None)
        result = self._run(strict, category, price_min_fen, price_max_fen, limit, highlight, facets, count=True)
        if result.total == 0 and relaxed:
            result = self._run(relaxed, category, price_min_fen, price_max_fen, limit, highlight, facets,
                               count=True)
            result.relaxed = True
        return result

    def _run(self, expression, category, price_min_fen, price_max_fen, limit, highlight, facets,
             count: bool) -> Fts5Result:
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
        elif count:
            result.total = len(rows) if len(rows) < limit else self.db.execute(
                f"SELECT count(*) FROM fts f CROSS JOIN products p ON p.id = f.rowid WHERE {where}",
                [expression, *params]).fetchone()[0]
        return result

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
                 highlight: bool = True, repeat: bool = False, mode: str = "raw") -> list[float]:
    """Milliseconds of each query of the mix (``repeat``: the second of two identical runs)."""
    latencies = []
    for query in queries:
        args = (query.text, query.category, query.price_min_fen, query.price_max_fen) if filters else (query.text,)
        if repeat:
            index.search(*args, highlight=highlight, facets=facets, mode=mode)
        started = time.perf_counter()
        index.search(*args, highlight=highlight, facets=facets, mode=mode)
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies
