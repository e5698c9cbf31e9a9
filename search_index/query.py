"""The search box's language: a forgiving parser from what a user typed to a ``ParsedQuery``.

Owns: turning any string into concepts (groups of synonymous alternatives, all required),
title phrases, excluded words and notices for the user. It never raises: unbalanced quotes and
parentheses, operators alone (``AND``/``OR``/``NOT``), wildcards alone, field syntax
(``price:abc``), control characters and 10,000-character pastes all come out as a query (maybe
an empty one) plus a notice. Whoosh's own query parser is not used on user input at all, so no
Whoosh exception text can reach a user.

Syntax understood: words (Chinese or English, segmented by ``search_index.analysis``);
``"quoted phrases"`` (the words in this order in the title); ``-word`` or ``NOT word`` (exclude);
``a OR b`` (either); ``AND`` is the default and may be written. A word that is an HS code or its
prefix (``8516``, ``8516.60``, ``85166000``) also finds the products classified under it
(``hs_prefix``; the engine matches it against the HS column).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from search_index.analysis import Synonyms, query_terms

#: longer input is cut here (a notice says so)
MAX_QUERY_CHARS = 200
#: at most this many concepts are used (the rest are ignored with a notice)
MAX_CONCEPTS = 12

NOTICE_TRUNCATED = "truncated"
NOTICE_OPERATORS_IGNORED = "operators_ignored"
NOTICE_TOO_MANY_WORDS = "too_many_words"
NOTICE_ONLY_EXCLUSIONS = "only_exclusions"
NOTICE_NO_WORDS = "no_words"

#: operators, case-sensitive: lowercase "or"/"not" are words
_OPERATORS = {"AND", "OR", "NOT", "&&", "||", "与", "或", "非"}
_PIECE = re.compile(r'"[^"]*"|\S+')
# characters with a meaning in search syntaxes that we treat as spaces
_SYNTAX_CHARS = re.compile(r"[()\[\]{}<>^~*?:+!\\/|&=,;，；、。！？（）【】《》]")
#: how customs write a code: digits, maybe grouped by dots (8516.60.00)
_HS_WRITTEN = re.compile(r"[0-9]{2,10}(?:\.[0-9]{1,8}){0,4}")
#: the lengths of an HS chapter, heading, subheading and national tariff lines
HS_LENGTHS = frozenset({2, 4, 6, 8, 10})


@dataclass(frozen=True)
class ParsedQuery:
    """What a user's query asks for, in analysed terms."""

    #: each concept is a tuple of alternatives, each alternative a tuple of terms; all concepts are required
    concepts: tuple[tuple[tuple[str, ...], ...], ...] = ()
    #: phrases (tuples of terms) that must appear in this order in a title
    phrases: tuple[tuple[str, ...], ...] = ()
    #: alternatives (tuples of terms) whose documents are excluded
    excluded: tuple[tuple[str, ...], ...] = ()
    #: codes of things the user should be told (NOTICE_*)
    notices: tuple[str, ...] = ()
    #: the cleaned text (what was actually searched)
    text: str = ""
    #: the coarse terms of the user's words, in order, for "did you mean"
    words: tuple[str, ...] = field(default=())
    #: words the user quoted alone ("电热水壶"): meant exactly as written, never widened
    quoted: frozenset[str] = frozenset()

    @property
    def is_empty(self) -> bool:
        """Nothing to match on (a browse by filters, or nothing at all)."""
        return not self.concepts and not self.phrases

    def all_terms(self) -> frozenset[str]:
        """Every term that may match (alternatives included): what highlighting marks."""
        terms = {term for concept in self.concepts for alt in concept for term in alt}
        terms.update(term for phrase in self.phrases for term in phrase)
        return frozenset(terms)


def hs_prefix(term: str) -> str | None:
    """The HS code (or prefix) a query term is, as digits ("8516.60" → "851660"); None when it is none."""
    if not _HS_WRITTEN.fullmatch(term):
        return None
    digits = term.replace(".", "")
    return digits if len(digits) in HS_LENGTHS else None


def clean_text(raw: str | None) -> tuple[str, bool]:
    """Normalise, drop control characters and cut to ``MAX_QUERY_CHARS``; say whether it was cut."""
    text = unicodedata.normalize("NFKC", raw or "")
    text = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in text)
    text = " ".join(text.split())
    truncated = len(text) > MAX_QUERY_CHARS
    return text[:MAX_QUERY_CHARS].strip(), truncated


def _with_synonyms(terms: list[str], synonyms: Synonyms) -> list[tuple[str, ...]]:
    """Excluded words with their synonyms, each an alternative (excluding 空调 excludes "air conditioner" too)."""
    out: list[tuple[str, ...]] = [(term,) for term in terms]
    for concept in synonyms.expand(terms):
        out.extend(tuple(alternative) for alternative in concept)
    return out


def parse(raw: str | None, synonyms: Synonyms | None = None) -> ParsedQuery:
    """Parse what a user typed. Never raises."""
    synonyms = synonyms or Synonyms.default()
    text, truncated = clean_text(raw)
    notices: list[str] = [NOTICE_TRUNCATED] if truncated else []
    # Balance quotes: a lone quote is just a character.
    if text.count('"') % 2:
        last = text.rfind('"')
        text = text[:last] + " " + text[last + 1:]

    phrases: list[tuple[str, ...]] = []
    excluded: list[tuple[str, ...]] = []
    words: list[str] = []
    quoted: set[str] = set()
    pending_or = False
    pending_not = False
    operators_seen = 0
    plain_runs: list[tuple[str, bool]] = []  # (text, joined_with_previous_by_or)

    for piece in _PIECE.findall(text):
        if piece.startswith('"') and piece.endswith('"') and len(piece) >= 2:
            terms = tuple(query_terms(_SYNTAX_CHARS.sub(" ", piece[1:-1])))
            if not terms:
                continue
            if pending_not:
                excluded.extend([terms] if len(terms) > 1 else _with_synonyms(list(terms), synonyms))
            elif len(terms) == 1:
                plain_runs.append((terms[0], pending_or))
                quoted.add(terms[0])
            else:
                phrases.append(terms)
                words.extend(terms)
            pending_or = pending_not = False
            continue
        upper = piece
        if upper in _OPERATORS:
            operators_seen += 1
            if upper in ("OR", "||", "或"):
                pending_or = bool(plain_runs)
            elif upper in ("NOT", "非"):
                pending_not = True
            continue
        if piece.startswith("-") and len(piece) > 1:
            terms = query_terms(_SYNTAX_CHARS.sub(" ", piece[1:]))
            excluded.extend(_with_synonyms(terms, synonyms))
            pending_or = pending_not = False
            continue
        cleaned = _SYNTAX_CHARS.sub(" ", piece).strip(" -")
        if not cleaned:
            continue
        if pending_not:
            excluded.extend(_with_synonyms(query_terms(cleaned), synonyms))
        else:
            plain_runs.append((cleaned, pending_or))
        pending_or = pending_not = False

    # Runs joined by OR become one concept of alternatives; the others are segmented and
    # expanded with synonyms.
    concepts: list[tuple[tuple[str, ...], ...]] = []
    buffer: list[str] = []

    def flush_buffer() -> None:
        if not buffer:
            return
        terms = query_terms(" ".join(buffer))
        words.extend(terms)
        for concept in synonyms.expand(terms):
            concepts.append(tuple(tuple(alt) for alt in concept))
        buffer.clear()

    index = 0
    while index < len(plain_runs):
        run_text, _ = plain_runs[index]
        # collect "a OR b OR c"
        alternatives = [run_text]
        while index + 1 < len(plain_runs) and plain_runs[index + 1][1]:
            index += 1
            alternatives.append(plain_runs[index][0])
        if len(alternatives) == 1:
            buffer.append(run_text)
        else:
            flush_buffer()
            merged: list[tuple[str, ...]] = []
            for alt_text in alternatives:
                alt_terms = query_terms(alt_text)
                words.extend(alt_terms)
                for concept in synonyms.expand(alt_terms) if len(alt_terms) == 1 else [[tuple(alt_terms)]]:
                    for alt in concept:
                        if alt and tuple(alt) not in merged:
                            merged.append(tuple(alt))
            if merged:
                concepts.append(tuple(merged))
        index += 1
    flush_buffer()

    if not concepts and not phrases and not excluded:
        if operators_seen:
            notices.append(NOTICE_OPERATORS_IGNORED)
        elif text.strip():
            notices.append(NOTICE_NO_WORDS)  # only wildcards, punctuation or syntax
    # de-duplicate concepts (the same word typed twice counts once), then cap their number
    unique: list[tuple[tuple[str, ...], ...]] = []
    seen: set[frozenset] = set()
    for concept in concepts:
        key = frozenset(concept)
        if key not in seen:
            seen.add(key)
            unique.append(concept)
    if len(unique) > MAX_CONCEPTS:
        unique = unique[:MAX_CONCEPTS]
        notices.append(NOTICE_TOO_MANY_WORDS)
    if excluded and not unique and not phrases:
        notices.append(NOTICE_ONLY_EXCLUSIONS)
    return ParsedQuery(
        concepts=tuple(unique), phrases=tuple(phrases), excluded=tuple(dict.fromkeys(excluded)),
        notices=tuple(notices), text=text, words=tuple(dict.fromkeys(words)), quoted=frozenset(quoted),
    )
