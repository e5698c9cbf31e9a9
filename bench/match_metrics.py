"""Quality metrics of request → product matching, and the loader of the hand-labelled set.

Owns: ``precision_at_k``, ``ndcg_at_k`` and ``fit_at_k`` (pure functions over a ranked list of
product keys) and ``load_labels`` (``tests/data/match_labels.json``: procurement requests written
by hand, each with the demo products a buyer would accept, judged by reading the listings).

A product key is ``(company name, sku)`` (``product_key``): an SKU is unique within one company
only. The metrics accept any hashable keys, so a benchmark may use product ids instead once it has
mapped the labels onto its database.

Conventions shared by the three metrics:

- ``k`` is the number of slots judged; a ranking shorter than ``k`` leaves empty slots that count
  as misses, so a matcher is not rewarded for returning fewer results;
- a key that appears again further down the ranking counts as a miss (a repeated product is a
  wasted slot);
- a request with no relevant product (the empty-state requests) scores 0 on every metric whatever
  the ranking: leave such requests out of averages and judge them on what the matcher returns.
"""
from __future__ import annotations

import json
import math
from collections.abc import Collection, Hashable, Iterable, Mapping
from pathlib import Path

#: the labelled set in the repository
LABELS_PATH = Path(__file__).resolve().parent.parent / "tests" / "data" / "match_labels.json"

#: the hard requirements a request may list in ``must``
MUST_KINDS = frozenset({"category", "moq", "price", "certifications", "region"})

Key = Hashable


def _check_k(k: int) -> None:
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValueError(f"k must be a positive integer, not {k!r}")


def _first_k(ranked_keys: Iterable[Key], k: int) -> list[Key | None]:
    """The first ``k`` keys, with repeats replaced by None (a miss)."""
    seen: set = set()
    top: list[Key | None] = []
    for key in ranked_keys:
        if len(top) == k:
            break
        top.append(None if key in seen else key)
        seen.add(key)
    return top


def precision_at_k(ranked_keys: Iterable[Key], relevant_keys: Collection[Key], k: int) -> float:
    """Share of the top ``k`` slots holding a relevant product (any grade).

    The denominator is always ``k``: empty slots and repeated keys are misses.

    >>> precision_at_k(["a", "x", "b"], {"a", "b"}, 2)
    0.5
    """
    _check_k(k)
    hits = sum(1 for key in _first_k(ranked_keys, k) if key is not None and key in relevant_keys)
    return hits / k


def _gain(grade: float) -> float:
    return 2.0 ** grade - 1.0


def _discount(position: int) -> float:
    """log2 discount of a 1-based position: 1 for the first slot, 1/log2(3) for the second …"""
    return 1.0 / math.log2(position + 1)


def ndcg_at_k(ranked_keys: Iterable[Key], grades: Mapping[Key, float], k: int) -> float:
    """Normalised discounted cumulative gain of the top ``k``, with graded relevance.

    Gain of a product of grade g is 2^g − 1 (grade 2 → 3, grade 1 → 1, unlisted → 0), discounted by
    log2(position + 1). The ideal ranking puts the ``k`` highest grades first; the result is in
    [0, 1], and 0.0 when no product has a positive grade.

    >>> ndcg_at_k(["a", "b"], {"a": 2, "b": 1}, 2)
    1.0
    """
    _check_k(k)
    dcg = sum(
        _gain(grades.get(key, 0)) * _discount(position)
        for position, key in enumerate(_first_k(ranked_keys, k), start=1)
        if key is not None
    )
    best = sorted((g for g in grades.values() if g > 0), reverse=True)[:k]
    ideal = sum(_gain(g) * _discount(position) for position, g in enumerate(best, start=1))
    return dcg / ideal if ideal else 0.0


def fit_at_k(ranked_keys: Iterable[Key], fits: Mapping[Key, bool], relevant: Collection[Key], k: int) -> float:
    """Share of the top ``k`` slots holding a product that is relevant AND meets every must.

    ``fits`` says, per key, whether the product meets every requirement the request lists in
    ``must`` (the caller checks them: see ``must_rules`` in the labels file); a key missing from
    ``fits`` does not fit. ``relevant`` is any collection of relevant keys (a set, or the grades
    mapping). The denominator is always ``k``.

    >>> fit_at_k(["a", "b"], {"a": True, "b": False}, {"a", "b"}, 2)
    0.5
    """
    _check_k(k)
    hits = sum(
        1 for key in _first_k(ranked_keys, k)
        if key is not None and key in relevant and fits.get(key, False)
    )
    return hits / k


# ------------------------------------------------------------------------------------ the labels


def product_key(ref: Mapping) -> tuple[str, str]:
    """The key of a labelled product reference: ``(company, sku)``."""
    return ref["company"], ref["sku"]


def grades_of(entry: Mapping) -> dict[tuple[str, str], int]:
    """``{product key: grade}`` of a request's relevant products (2 exact, 1 substitute)."""
    return {product_key(ref): ref["grade"] for ref in entry["relevant"]}


def not_relevant_of(entry: Mapping) -> set[tuple[str, str]]:
    """Keys of the products labelled as plausible confusions for a request."""
    return {product_key(ref) for ref in entry["not_relevant"]}


def _check_entry(entry: Mapping, seen_ids: set) -> None:
    """Raise ValueError when a request entry is malformed."""
    rid = entry.get("id") if isinstance(entry, Mapping) else None
    if not isinstance(rid, str) or not rid:
        raise ValueError(f"a request has no id: {entry!r}"[:200])
    if rid in seen_ids:
        raise ValueError(f"request id {rid} appears twice")
    seen_ids.add(rid)
    for field, kind in (("text", str), ("title", str), ("quantity", int), ("unit", str),
                        ("required_certifications", list), ("must", list), ("relevant", list),
                        ("not_relevant", list)):
        if not isinstance(entry.get(field), kind):
            raise ValueError(f"{rid}: {field} must be a {kind.__name__}")
    unknown = set(entry["must"]) - MUST_KINDS
    if unknown:
        raise ValueError(f"{rid}: unknown must {sorted(unknown)}")
    for ref in entry["relevant"] + entry["not_relevant"]:
        if not (isinstance(ref, Mapping) and isinstance(ref.get("sku"), str) and isinstance(ref.get("company"), str)):
            raise ValueError(f"{rid}: a product reference needs sku and company: {ref!r}")
    for ref in entry["relevant"]:
        if ref.get("grade") not in (1, 2):
            raise ValueError(f"{rid}: grade must be 1 or 2: {ref!r}")
    relevant = [product_key(ref) for ref in entry["relevant"]]
    if len(set(relevant)) != len(relevant):
        raise ValueError(f"{rid}: a product is labelled relevant twice")
    both = set(relevant) & not_relevant_of(entry)
    if both:
        raise ValueError(f"{rid}: labelled both relevant and not relevant: {sorted(both)}")


def load_labels(path: str | Path = LABELS_PATH) -> list[dict]:
    """The request entries of a labels file, checked; ValueError when the file is malformed.

    Each entry: id, text, title, category, quantity, unit, target_unit_price_fen,
    delivery_province, required_certifications, must, relevant (sku, company, grade),
    not_relevant (sku, company), and optionally notes. The file's ``about``, ``catalog``,
    ``must_rules`` and ``not_public`` fields describe the set; read them with ``json`` if needed.
    """
    with open(path, encoding="utf-8") as handle:
        document = json.load(handle)
    entries = document.get("requests") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise ValueError(f"{path}: expected an object with a list of requests")
    seen: set = set()
    for entry in entries:
        _check_entry(entry, seen)
    return entries
