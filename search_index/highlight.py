"""Highlighting: the matched words of a text wrapped in ``<mark>``, everything else HTML-escaped.

Owns: turning a text and a set of analysed query terms into safe HTML (a whole text or a
fragment around the best cluster of matches). The text is tokenised with the same analyzer as
the index (mode "index", so sub-words count: 保温杯 inside 不锈钢保温杯 marks just that span) and
the character offsets of the matching tokens are marked in the ORIGINAL text. Imports nothing of
Flask or ``marketplace``.
"""
from __future__ import annotations

import html
from collections.abc import Collection

from search_index.analysis import chinese_analyzer

ELLIPSIS = "…"
MARK_OPEN = "<mark>"
MARK_CLOSE = "</mark>"

_DEFAULT_ANALYZER = chinese_analyzer()


def match_spans(text: str, terms: Collection[str], analyzer=None) -> list[tuple[int, int]]:
    """The character spans of ``text`` whose tokens are in ``terms``, sorted, overlapping or adjacent ones merged."""
    return [(start, end) for start, end, _terms in _matches(text, terms, analyzer)]


def _matches(text: str, terms: Collection[str], analyzer=None) -> list[tuple[int, int, set[str]]]:
    """Merged match spans with the terms each holds."""
    if not text or not terms:
        return []
    analyzer = analyzer or _DEFAULT_ANALYZER
    found = sorted(
        (t.startchar, t.endchar, t.text)
        for t in analyzer(text, mode="index", chars=True, removestops=False)
        if t.text in terms and t.endchar > t.startchar
    )
    merged: list[tuple[int, int, set[str]]] = []
    for start, end, term in found:
        if merged and start <= merged[-1][1]:
            last_start, last_end, last_terms = merged[-1]
            last_terms.add(term)
            merged[-1] = (last_start, max(last_end, end), last_terms)
        else:
            merged.append((start, end, {term}))
    return merged


def _best_window(matches: list[tuple[int, int, set[str]]], width: int) -> tuple[int, int]:
    """Indices [i, j) of the run of matches fitting in ``width`` characters with the most distinct
    terms, then the most matches (the earliest such run wins)."""
    best, best_score = (0, 1), (0, 0)
    for i in range(len(matches)):
        j = i + 1
        seen = set(matches[i][2])
        while j < len(matches) and matches[j][1] - matches[i][0] <= width:
            seen |= matches[j][2]
            j += 1
        score = (len(seen), j - i)
        if score > best_score:
            best, best_score = (i, j), score
    return best


def _render(text: str, spans: list[tuple[int, int]], start: int, end: int) -> str:
    """``text[start:end]`` escaped, with the spans inside it marked."""
    out = []
    cursor = start
    for span_start, span_end in spans:
        span_start, span_end = max(span_start, start), min(span_end, end)
        if span_end <= span_start:
            continue
        out.append(html.escape(text[cursor:span_start], quote=True))
        out.append(MARK_OPEN + html.escape(text[span_start:span_end], quote=True) + MARK_CLOSE)
        cursor = span_end
    out.append(html.escape(text[cursor:end], quote=True))
    return "".join(out)


def highlight(text: str, terms: Collection[str], *, analyzer=None, maxchars: int | None = None,
              surround: int = 40) -> str | None:
    """``text`` as safe HTML with the tokens in ``terms`` (analysed terms) wrapped in ``<mark>``.

    With ``maxchars``, only a fragment of about that many characters around the best cluster of
    matches, with "…" where the text was cut; None if nothing matched (the caller shows a plain
    excerpt). Without it, the whole text (escaped, unmarked when nothing matched).
    """
    text = text or ""
    matches = _matches(text, terms, analyzer)
    spans = [(start, end) for start, end, _terms in matches]
    if maxchars is None:
        return _render(text, spans, 0, len(text))
    if not spans:
        return None
    maxchars = max(1, maxchars)
    surround = max(0, surround)
    # the cluster: as many matches as fit in the fragment, leaving some room for context
    first, last = _best_window(matches, max(maxchars - 2 * min(surround, maxchars // 4), 1))
    cluster_start, cluster_end = spans[first][0], spans[last - 1][1]
    # context: up to ``surround`` characters before the cluster, the rest after it (the text reads
    # on), and before it again when the text ends first
    context = max(0, maxchars - (cluster_end - cluster_start))
    before = min(cluster_start, surround, context // 2)
    after = min(len(text) - cluster_end, context - before)
    before = min(cluster_start, context - after)
    start, end = cluster_start - before, cluster_end + after
    start, end = _snap(text, start, end, cluster_start, cluster_end)
    body = _render(text, spans, start, end)
    return (ELLIPSIS if start > 0 else "") + body + (ELLIPSIS if end < len(text) else "")


def _snap(text: str, start: int, end: int, keep_start: int, keep_end: int) -> tuple[int, int]:
    """Move the cut points off the middle of a Latin word and over surrounding white space."""
    if (0 < start < keep_start and text[start - 1].isascii() and text[start - 1].isalnum()
            and text[start].isascii() and text[start].isalnum()):
        cut = start
        while cut < keep_start and text[cut].isascii() and text[cut].isalnum():
            cut += 1
        start = cut
    if (keep_end < end < len(text) and text[end - 1].isascii() and text[end - 1].isalnum()
            and text[end].isascii() and text[end].isalnum()):
        cut = end
        while cut > keep_end and text[cut - 1].isascii() and text[cut - 1].isalnum():
            cut -= 1
        end = cut
    while start < keep_start and text[start].isspace():
        start += 1
    while end > keep_end and text[end - 1].isspace():
        end -= 1
    return start, end
