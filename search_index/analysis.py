"""Chinese and English text analysis: the one place that turns text into index and query terms.

Owns: the Whoosh tokenizer (``ChineseTokenizer``) and analyzer (``chinese_analyzer``), the domain
dictionary loaded into rjieba (``data/userdict.txt``), the synonym table (``data/synonyms.txt``,
``Synonyms``) and the helpers ``query_terms`` / ``index_terms``. Imports nothing of Flask or
``marketplace``.

How text becomes terms (both modes share every step except the last):

1. The value is split into lines (a document's parts are joined with "\\n"); each line (up to
   ``MAX_CACHED_LINE`` characters) is analysed by an LRU-cached function, so a line that appears in
   two fields of a document (the title is in TITLE and TEXT) is segmented once. Positions continue
   across lines; character offsets are offsets into the whole value.
2. The line is normalised character by character without changing its length: full-width ASCII
   and other one-to-one NFKC compatibility characters (ＫＦＲ－３５ＧＷ, ², U+3000) become their
   plain forms, and text is lowercased; a character whose NFKC would change the length stays.
   Offsets therefore always point into the original text.
3. rjieba (accurate mode) segments the line into *coarse* words. Whitespace, punctuation and
   symbols (emoji, °, ×) are dropped. ASCII runs joined by ``- / . + & _ '`` form one compound
   (model numbers ``KFR-35GW/26``, ``MB-FB40``, ``GB/T``, ``Men's``): its term is the compound
   with the separators removed (``kfr35gw26``); a dot between digits is a decimal point and stays
   (``1.5l``). A small set of English stop words (a, an, the, of, and, for, with) takes no
   position.
4. mode "query": the coarse words, positions 0, 1, 2, … That is all.
   mode "index" (anything but "query"): each coarse word, then at the *same position* its
   sub-words: rjieba's search-mode words inside it (不锈钢保温杯 → 不锈, 保温, 不锈钢, 保温杯), the
   parts of a compound and the joins of its leading parts (kfr35gw26 → kfr, 35gw, 26, kfr35gw), the
   ASCII and Chinese runs of a mixed word (led灯带 → led, 灯带). A phrase of coarse query words
   therefore matches the index, and highlights can cover sub-word spans.
5. The analyzer's filter lowercases and Porter-stems pure ASCII-letter terms (cookers → cooker).

The domain words are added to rjieba's default instance (the one ``import rjieba`` builds, behind
``rjieba.cut``/``tokenize``), keeping its dictionary: a private ``rjieba.Jieba()`` would cost another
~80 ms and ~25 MB per process (measured).
"""
from __future__ import annotations

import functools
import logging
import re
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import Path

import rjieba
from whoosh.analysis import CompositeAnalyzer, Filter, Token, Tokenizer
from whoosh.lang.porter import stem as _porter_stem

logger = logging.getLogger(__name__)

DATA_DIR = Path(__file__).with_name("data")
USERDICT_PATH = DATA_DIR / "userdict.txt"
SYNONYMS_PATH = DATA_DIR / "synonyms.txt"

#: frequency given to a user-dictionary word whose line names none. rjieba's own (``add_word(w, None)``)
#: is 1, which loses to a split where a neighbour makes a longer word (移动电源线 → 移动 电源线); a few
#: thousand makes the word win where it is written (移动电源 线).
DEFAULT_USER_FREQ = 3000
#: lines kept by each segmentation cache (index and query); a title is analysed once per document
LINE_CACHE_SIZE = 8192
#: longer lines (descriptions) skip the cache: they rarely repeat and would fill memory (measured: 8192
#: cached lines of ~33 characters hold ~15 MB)
MAX_CACHED_LINE = 160
#: English words that take no position (titles are short; only the emptiest words go)
STOP_WORDS = frozenset({"a", "an", "the", "of", "and", "for", "with"})
#: single characters that join two ASCII runs into one compound (model numbers, GB/T, Men's)
CONNECTORS = frozenset("-/.+&_'")


# --------------------------------------------------------------------------- normalisation


def _build_table() -> dict[int, str]:
    """One-to-one character replacements: NFKC where it keeps the length, ASCII lowercase, ’ → ',
    lone surrogates → U+FFFD."""
    table: dict[int, str] = {}
    for cp in range(0x80, 0x10000):
        if 0xD800 <= cp < 0xE000:
            continue
        char = chr(cp)
        normal = unicodedata.normalize("NFKC", char)
        if normal != char and len(normal) == 1:
            table[cp] = normal.lower() if normal.isascii() else normal
    for cp in range(ord("A"), ord("Z") + 1):
        table[cp] = chr(cp + 32)
    table[0x2019] = table[0x2018] = "'"
    for cp in range(0xD800, 0xE000):  # lone surrogates (text decoded with surrogateescape): rjieba refuses them
        table[cp] = "\ufffd"
    return table


_TABLE = _build_table()


def normalise(line: str) -> str:
    """``line`` with full-width ASCII made half-width (NFKC, 1:1) and lowercased; same length."""
    if line.isascii():
        return line.lower()
    norm = line.translate(_TABLE)
    lower = norm.lower()
    return lower if len(lower) == len(norm) else norm


# --------------------------------------------------------------------------- segmentation

_WORD_CHAR = re.compile(r"[^\W_]")
_ASCII_RUN = re.compile(r"[a-z0-9]+")
_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]{2,}")
# the parts of a compound: runs of letters and digits; a dot between digits is a decimal point
_PART = re.compile(r"[a-z0-9]+(?:(?<=[0-9])\.[0-9][a-z0-9]*)*")

#: one analysed token of a line: (text, start, end, position within the line, stop word)
LineToken = tuple[str, int, int, int, bool]
#: a term with its offsets relative to the text it came from
Span = tuple[str, int, int]


@functools.lru_cache(maxsize=16384)
def _compound(text: str) -> tuple[Span | None, tuple[Span, ...]]:
    """The term of an ASCII compound and its sub-terms, with offsets into ``text``.

    ``kfr-35gw/26`` → (kfr35gw26, 0, 11) and kfr, 35gw, 26, kfr35gw (the join of the leading parts).
    """
    if text.endswith("'s"):
        text = text[:-2]
    parts = [(m.group(), m.start(), m.end()) for m in _PART.finditer(text)]
    if not parts:
        return None, ()
    whole = ("".join(part for part, _s, _e in parts), parts[0][1], parts[-1][2])
    if len(parts) == 1:
        return whole, ()
    subs = list(parts)
    for count in range(2, len(parts)):
        subs.append(("".join(part for part, _s, _e in parts[:count]), parts[0][1], parts[count - 1][2]))
    seen = {whole[0]}
    unique = []
    for sub in subs:
        if sub[0] not in seen:
            seen.add(sub[0])
            unique.append(sub)
    return whole, tuple(unique)


def _mixed_subs(word: str, start: int) -> list[tuple[str, int, int]]:
    """The ASCII and Chinese runs (two characters or more) of a mixed dictionary word (led灯带)."""
    runs = [(m.group(), start + m.start(), start + m.end()) for m in _ASCII_RUN.finditer(word)
            if m.end() - m.start() > 1]
    runs += [(m.group(), start + m.start(), start + m.end()) for m in _NON_ASCII_RUN.finditer(word)]
    return runs


def _segment(line: str, fine: bool) -> tuple[tuple[LineToken, ...], int]:
    """Analyse one line: its tokens (offsets into ``line``) and the number of positions it takes."""
    norm = normalise(line)
    words = rjieba.tokenize(norm)
    search = None
    if fine and any(len(w) > 2 and not w.isascii() for w, _s, _e in words):
        search = rjieba.tokenize(norm, "search")
    out: list[LineToken] = []
    append = out.append
    pos = 0
    k = 0  # index into ``search``
    count = len(words)
    i = 0
    while i < count:
        word, start, end = words[i]
        i += 1
        if word.isascii():
            if not (word.isalnum() or _WORD_CHAR.search(word)):
                continue  # whitespace, punctuation
            # an ASCII compound: runs joined by single connectors (KFR-35GW / 26, men ' s)
            while i + 1 < count:
                sep, sep_start, sep_end = words[i]
                nxt, nxt_start, nxt_end = words[i + 1]
                if (sep_start == end and sep in CONNECTORS and nxt_start == sep_end and nxt.isascii()
                        and (nxt.isalnum() or _WORD_CHAR.search(nxt))):
                    end = nxt_end
                    i += 2
                else:
                    break
            if word.isalnum() and end == start + len(word):
                if word in STOP_WORDS:
                    append((word, start, end, pos, True))
                    continue
                append((word, start, end, pos, False))
                pos += 1
                continue
            whole, subs = _compound(norm[start:end])
            if whole is None:
                continue
            term, rel_start, rel_end = whole
            if term in STOP_WORDS:
                append((term, start + rel_start, start + rel_end, pos, True))
                continue
            append((term, start + rel_start, start + rel_end, pos, False))
            if fine:
                for sub, sub_start, sub_end in subs:
                    append((sub, start + sub_start, start + sub_end, pos, False))
            pos += 1
            continue
        if not word.isalnum() and not _WORD_CHAR.search(word):
            continue  # Chinese punctuation, symbols, emoji, control characters
        append((word, start, end, pos, False))
        if fine:
            seen = None
            if search is not None:
                # search mode lists a word's sub-words right before the word itself
                while k < len(search):
                    sub, sub_start, sub_end = search[k]
                    if sub_start >= end:
                        break
                    k += 1
                    if sub_start == start and sub_end == end:
                        break
                    if sub_start >= start and sub_end <= end:
                        seen = seen or {word}
                        if sub not in seen:
                            seen.add(sub)
                            append((sub, sub_start, sub_end, pos, False))
            if len(word) > 4 and not word.isascii():
                # search mode only lists sub-words of 2 and 3 characters: add the longer dictionary
                # words inside a long word (笔记本电脑 in 笔记本电脑包, 产品认证 in 强制性产品认证)
                seen = seen or {word}
                for sub in rjieba.cut_all(word):
                    if len(sub) > 3 and sub not in seen:
                        seen.add(sub)
                        sub_start = start + word.find(sub)
                        append((sub, sub_start, sub_start + len(sub), pos, False))
            if min(word) < "\x80" and _ASCII_RUN.search(word):  # a mixed dictionary word (led灯带)
                seen = seen or {word}
                for sub, sub_start, sub_end in _mixed_subs(word, start):
                    if sub not in seen:
                        seen.add(sub)
                        append((sub, sub_start, sub_end, pos, False))
        pos += 1
    return tuple(out), pos


@functools.lru_cache(maxsize=LINE_CACHE_SIZE)
def _index_line(line: str) -> tuple[tuple[LineToken, ...], int]:
    return _segment(line, True)


@functools.lru_cache(maxsize=LINE_CACHE_SIZE)
def _query_line(line: str) -> tuple[tuple[LineToken, ...], int]:
    return _segment(line, False)


# --------------------------------------------------------------------------- user dictionary


def parse_userdict(text: str) -> list[tuple[str, int]]:
    """The (word, frequency) pairs of a jieba user dictionary (``word [freq] [tag]``, # comments)."""
    entries = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        freq = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else DEFAULT_USER_FREQ
        entries.append((parts[0], freq))
    return entries


def load_userdict(path: Path = USERDICT_PATH) -> int:
    """Add the words of a user dictionary to rjieba (normalised like the text); the number added."""
    entries = parse_userdict(path.read_text(encoding="utf-8"))
    for word, freq in entries:
        rjieba.add_word(normalise(word), freq, None)
    _index_line.cache_clear()
    _query_line.cache_clear()
    return len(entries)


load_userdict()


# --------------------------------------------------------------------------- Whoosh analyzer


class ChineseTokenizer(Tokenizer):
    """Whoosh tokenizer for Chinese and English text: fine words when indexing, coarse when querying.

    Honours ``positions``, ``chars``, ``keeporiginal``, ``removestops`` (stop words are yielded with
    ``stopped=True`` when it is false; they take no position either way), ``start_pos``,
    ``start_char``, ``tokenize`` and ``mode`` ("query" = coarse, anything else = fine).
    """

    def __call__(self, value: str, positions: bool = False, chars: bool = False, keeporiginal: bool = False,
                 removestops: bool = True, start_pos: int = 0, start_char: int = 0, tokenize: bool = True,
                 mode: str = "", **kwargs) -> Iterator[Token]:
        """Yield one reused ``Token`` per term of ``value``."""
        return _tokens(value, None, positions, chars, keeporiginal, removestops, start_pos, start_char, tokenize,
                       mode, kwargs)


def _tokens(value: str, normal, positions: bool, chars: bool, keeporiginal: bool, removestops: bool,
            start_pos: int, start_char: int, tokenize: bool, mode: str, kwargs: dict) -> Iterator[Token]:
    """The tokenizer's tokens; with ``normal`` (a term → term function) the terms are normalised as they go."""
    assert isinstance(value, str), f"{value!r} is not a str"
    t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
    if not tokenize:
        t.original = value
        t.text = value if normal is None else normal(value)
        t.boost = 1.0
        if positions:
            t.pos = start_pos
        if chars:
            t.startchar = start_char
            t.endchar = start_char + len(value)
        yield t
        return
    fine = mode != "query"
    cached = _index_line if fine else _query_line
    pos = start_pos
    offset = start_char
    for line in value.split("\n"):
        if line:
            tokens, taken = cached(line) if len(line) <= MAX_CACHED_LINE else _segment(line, fine)
            for text, start, end, rel, stop in tokens:
                if stop and removestops:
                    continue
                t.text = text if normal is None else normal(text)
                t.boost = 1.0
                t.stopped = stop
                if keeporiginal:
                    t.original = line[start:end]
                if positions:
                    t.pos = pos + rel
                if chars:
                    t.startchar = offset + start
                    t.endchar = offset + end
                yield t
            pos += taken
        offset += len(line) + 1


_stem = functools.lru_cache(maxsize=50000)(_porter_stem)


@functools.lru_cache(maxsize=100_000)
def _normal_term(text: str) -> str:
    """A term as ``NormaliseFilter`` leaves it: lowercased; pure ASCII-letter terms Porter-stemmed."""
    if text.isascii():
        if text.isalpha():
            return _stem(text.lower())
        return text if text.islower() else text.lower()
    return text.lower()


class NormaliseFilter(Filter):
    """Lowercases every term and Porter-stems the pure ASCII-letter ones (not Chinese, not model numbers)."""

    def __call__(self, tokens: Iterable[Token]) -> Iterator[Token]:
        """Yield the tokens with their text normalised."""
        normal = _normal_term
        for t in tokens:
            t.text = normal(t.text)
            yield t


class ChineseAnalyzer(CompositeAnalyzer):
    """``ChineseTokenizer() | NormaliseFilter()`` run as one generator: the same tokens, without a
    generator step and the filter's tests per token (the index's analysis runs per token in Python:
    measured, most of a rebuild's analysis time was these steps)."""

    def __init__(self):
        super().__init__(ChineseTokenizer(), NormaliseFilter())

    def __call__(self, value: str, no_morph: bool = False, positions: bool = False, chars: bool = False,
                 keeporiginal: bool = False, removestops: bool = True, start_pos: int = 0, start_char: int = 0,
                 tokenize: bool = True, mode: str = "", **kwargs) -> Iterator[Token]:
        """Yield one reused, normalised ``Token`` per term of ``value`` (``no_morph``: nothing here is morphological)."""
        return _tokens(value, _normal_term, positions, chars, keeporiginal, removestops, start_pos, start_char,
                       tokenize, mode, kwargs)


def chinese_analyzer():
    """The analyzer of every text field, for indexing (mode "index") and parsing queries (mode "query")."""
    return ChineseAnalyzer()


_ANALYZER = chinese_analyzer()


def query_terms(text: str) -> list[str]:
    """The coarse, normalised terms of a query, exactly as the index stores them (in order)."""
    return [t.text for t in _ANALYZER(text, mode="query")]


def index_terms(text: str) -> list[str]:
    """Every term the index stores for ``text`` (fine mode: words and their sub-words)."""
    return [t.text for t in _ANALYZER(text, mode="index")]


# --------------------------------------------------------------------------- synonyms

_ALTERNATIVE_SPLIT = re.compile(r"\s+=\s+|\|")


class Synonyms:
    """The synonym table: groups of equivalent terms (Chinese and English) over analysed terms."""

    def __init__(self, groups: Iterable[Iterable[str]]):
        """Build the table from groups of alternatives written as text (analysed here, query mode)."""
        self.groups: list[tuple[tuple[str, ...], ...]] = []
        self._lookup: dict[tuple[str, ...], int] = {}
        self.max_length = 1
        for raw_group in groups:
            group: list[tuple[str, ...]] = []
            for alternative in raw_group:
                terms = tuple(query_terms(alternative))
                if terms and terms not in group:
                    group.append(terms)
            if len(group) < 2:
                continue
            index = len(self.groups)
            self.groups.append(tuple(group))
            for terms in group:
                if terms in self._lookup and self._lookup[terms] != index:
                    logger.warning("synonym %r is in two groups; the first wins", " ".join(terms))
                    continue
                self._lookup[terms] = index
                self.max_length = max(self.max_length, len(terms))

    @classmethod
    def parse(cls, text: str) -> Synonyms:
        """The table written in ``text``: one group a line, alternatives separated by " = " or "|", # comments."""
        return cls(parse_synonym_lines(text))

    @classmethod
    def from_file(cls, path: Path) -> Synonyms:
        """The table stored in ``path`` (UTF-8)."""
        return cls.parse(path.read_text(encoding="utf-8"))

    @classmethod
    def default(cls) -> Synonyms:
        """The table of ``data/synonyms.txt`` (loaded once per process)."""
        return _default_synonyms()

    @property
    def group_count(self) -> int:
        """The number of groups in the table."""
        return len(self.groups)

    def group_of(self, terms: Iterable[str]) -> tuple[tuple[str, ...], ...] | None:
        """The group holding this analysed term sequence as one alternative, if any."""
        index = self._lookup.get(tuple(terms))
        return None if index is None else self.groups[index]

    def expand(self, terms: list[str]) -> list[list[tuple[str, ...]]]:
        """The concepts of an analysed term sequence, by greedy longest match of the table's entries.

        Each concept is the list of its alternatives (tuples of terms), the original span first.
        """
        concepts: list[list[tuple[str, ...]]] = []
        i = 0
        count = len(terms)
        while i < count:
            for length in range(min(self.max_length, count - i), 0, -1):
                span = tuple(terms[i:i + length])
                index = self._lookup.get(span)
                if index is not None:
                    concepts.append([span, *(alt for alt in self.groups[index] if alt != span)])
                    i += length
                    break
            else:
                concepts.append([(terms[i],)])
                i += 1
        return concepts


def parse_synonym_lines(text: str) -> list[list[str]]:
    """The groups written in a synonym file, as lists of raw alternatives."""
    groups = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        alternatives = [alt.strip() for alt in _ALTERNATIVE_SPLIT.split(line)]
        groups.append([alt for alt in alternatives if alt])
    return groups


@functools.cache
def _default_synonyms() -> Synonyms:
    return Synonyms.from_file(SYNONYMS_PATH)
