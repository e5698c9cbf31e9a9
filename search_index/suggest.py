"""\"Did you mean\": corrections of unknown query words from the index's own title words (a mixin of
``SearchIndex``), and the edit-distance helpers."""
from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

import numpy as np

from search_index import schemas
from search_index.query import ParsedQuery, parse

if TYPE_CHECKING:
    from search_index.columns import _Generation

#: a one-word query finding fewer than a page is widened with the word's endings of at least this
#: many characters (电热水壶 → 热水壶, 水壶): Chinese compounds put the kind of thing last
MIN_WIDEN_CHARS = 2
#: Chinese words shorter than this get no "did you mean"
MIN_CJK_CORRECTION = 3
#: "did you mean": candidate corrections tried per unknown word (each costs one count of the query)
MAX_CORRECTIONS = 6
#: English words at least this long may be corrected by two edits (humidifierr); shorter ones by one
TWO_EDITS_FROM = 8


class Suggestions:
    """The "did you mean" methods of ``SearchIndex`` (a mixin): a corrected query for unknown words."""

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
