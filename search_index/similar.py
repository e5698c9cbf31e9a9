"""Matching a long text against an index: weighted keywords and a sparse OR-sum (a mixin of ``SearchIndex``).

``search()`` is for what people type in a search box: every word must match. A procurement request
("采购不锈钢保温杯 5000个, 单价 ≤ 25元, 需食品级检测报告, 送货到浙江宁波") given to it finds nothing,
because nobody's product holds all of those words. Matching instead turns the text into a small
weighted set of keywords and sums, for every document holding *any* of them, the weights it holds:

- ``select_keywords()``: the text's words (the query analyser's whole words; a Chinese compound also
  as its two halves, so 不锈钢保温杯 matches a 保温杯 titled 不锈钢 …), without a procurement stop list
  (采购, 需求, 我司 …), place names (the delivery region is scored apart) and quantities, prices and
  dates (5000个, 25元, 12月); specification words stay (304, 3l, 24 before 寸). Each word is
  weighted by TF-IDF against the *target* index's document frequencies (a word of the description no
  document holds is dropped; one of the title is kept as the rarest word: a later document may hold it, and
  it keeps a document holding only the title's modifiers from covering it), and the ``limit`` best are kept,
  each with its synonyms as alternatives.
- ``SearchIndex.similar_candidates()``: every live document holding at least one keyword (through
  any alternative) within the filters, with a presence matrix (2 = in the title, 1 = elsewhere in
  the text), read from the same per-segment postings cache as ``search()``: one postings read per
  alternative term, then array operations over the matched documents only (no dense pass per word).
- ``SearchIndex.similar()``: the best of those by the weighted coverage, each hit naming the
  keywords it matched.

The application's matching (``marketplace/matching``) scores candidates with its own canonical
function (text coverage plus structured fit); this module knows nothing of requests or products.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING

import numpy as np

from search_index import schemas
from search_index.analysis import Synonyms, index_terms, query_terms
from search_index.columns import CERT_BITS, VOCABULARY
from search_index.types import Filters

if TYPE_CHECKING:
    from search_index.columns import _Generation

#: keywords kept by default (measured on the labelled set: see bench/match_bench.py)
KEYWORD_LIMIT = 14
#: characters of a text read for keywords (a 100,000-character paste is cut here)
MAX_TEXT_CHARS = 4000
#: a keyword found in the title counts fully, elsewhere in the text this much
TEXT_ONLY_CREDIT = 0.7
#: the weight a keyword keeps when its documents spread evenly over every category (see ``select_keywords``)
FOCUS_FLOOR = 0.3
#: a word of the request's title weighs this many times one of its description
TITLE_FACTOR = 2.0
#: a compound's last half (保温杯 of 不锈钢保温杯) is a keyword of its own at this share of the whole's weight
HEAD_SHARE = 0.8
#: words a procurement text or a listing's title is full of that say nothing about the goods: procurement, units,
#: trade and sales talk (厂家直销, 外贸, 新款) (analysed forms; English stemmed)
PROCUREMENT_STOP_WORDS = frozenset("""
采购 求购 收购 采买 订购 购买 需求 需要 要求 提供 我司 我公司 本公司 公司 我方 贵司 厂家 厂商 供应商 供货商 供应
寻找 寻求 诚征 征集 长期 批量 大量 少量 合作 优先 有意 联系 欢迎 洽谈 报价 价格 单价 总价 预算 含税 含运费 运费
包邮 数量 左右 以上 以下 以内 之内 之前 日前 以前 前 送货 送货到 送到 交货 交付 到货 发货 配送 地点 地址 截止
需 要 能 可 可以 请 及 与 和 或 的 了 等 各类 各种 一批 一些 相关 产品 商品 货物 物品 材料 规格 型号 质量 品质
合格 符合 具备 具有 持有 有效 资质 证书 认证 检测 报告 检测报告 样品 现货 库存 工期 周期 付款 结算 发票 开票
项目 用于 用途 使用 满足 标准 国标 月 日 年 天 周 号 个 件 台 套 只 支 条 箱 吨 元 万元 块 批 次
千克 公斤 平方米 平米 平方 立方米 立方 毫升 公升 厘米 毫米 公里 米
支持 定制 定做 订制 工厂 方式 交期 直供 直销 厂家直销 批发 零售 外贸 出口 进口 内销 跨境 专供 一件 代发 一件代发
新款 爆款 热销 热卖 畅销 正品 品牌 源头 促销 特价 清仓 尾单 尾货 原单 速发 优惠 官方 旗舰店 授权 亚马逊 速卖通
need needs want wants buy purchas procur sourc supplier suppli vendor requir request quot quotat price
unit pcs pc piec quantiti qty deliv deliveri befor within by to for of the and or with a an our we us
pleas provid looking look order per each about around other
wholesal factori custom customiz oem odm export hot sale new free shipp ship
""".split())  # noqa: SIM905  (a word list reads best as text)
#: characters that, after a number, make it a quantity, a price or a date rather than a specification
_NOT_SPEC_UNITS = frozenset("个件台套只支条箱吨元块批次月日年天周号万千百人家")
_DIGITS = re.compile(r"^\d+$")
#: what ends a province's or a city's official name
_SUFFIXES = "省|市|自治区|壮族自治区|回族自治区|维吾尔自治区|特别行政区|地区|盟|自治州"
_PLACE_SUFFIX = re.compile(f"(?:{_SUFFIXES})$")
#: a word ending so names a certificate (CCC认证 is one word to the analyser)
_CERTIFICATE_ENDINGS = ("认证", "证书")
#: thousands separators inside numbers ("1,000 pcs", "5，000个"): one number, not "1" and "000"
_THOUSANDS = re.compile(r"(?<=\d)[,，](?=\d{3}(?!\d))")
#: English words after a number that make it a quantity
_QUANTITY_WORDS = frozenset({"pcs", "pc", "piec", "unit", "set", "carton", "ctn", "box", "pair", "dozen", "ton",
                             "kg", "yuan", "rmb", "usd", "day", "month", "week"})


@dataclass(frozen=True)
class Keyword:
    """One weighted keyword: its analysed term(s) and its alternatives (the keyword itself first)."""

    text: str
    weight: float
    alternatives: tuple[tuple[str, ...], ...]

    def terms(self) -> set[str]:
        """Every term of every alternative."""
        return {term for alternative in self.alternatives for term in alternative}

    def as_json(self) -> list:
        """A JSON-ready form (stored with a match profile)."""
        return [self.text, round(self.weight, 4), [list(alt) for alt in self.alternatives]]

    @classmethod
    def from_json(cls, value) -> Keyword:
        text, weight, alternatives = value
        return cls(text=text, weight=float(weight), alternatives=tuple(tuple(alt) for alt in alternatives))


@cache
def _place_names() -> tuple[str, ...]:
    """Province and city names as written (with and without 省/市 …), longest first."""
    import csv
    from pathlib import Path

    names: set[str] = set()
    path = Path(__file__).resolve().parents[1] / "marketplace" / "data" / "gbt2260_province_city.csv"
    try:
        with path.open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                name = row.get("name") or ""
                if row.get("is_placeholder") == "1":
                    continue  # 市辖区, 县: grouping rows, not places
                names.update(v for v in (name, _PLACE_SUFFIX.sub("", name)) if len(v) >= 2)
    except FileNotFoundError:  # pragma: no cover - the engine used without the application's data
        return ()
    return tuple(sorted(names, key=lambda n: (-len(n), n)))


@cache
def _place_words() -> frozenset[str]:
    """Province and city names as the analyser writes them (with and without 省/市 …): never goods."""
    return frozenset(term for name in _place_names() for term in query_terms(name) if len(term) >= 2)


@cache
def _place_run_pattern() -> re.Pattern:
    names = "|".join(map(re.escape, _place_names())) or "(?!)"
    return re.compile(f"(?:(?:{names})(?:{_SUFFIXES})?)+")


def _is_place(term: str) -> bool:
    """Whether a word is place names run together (福建厦门, 广东省深圳市, 新疆巴音郭楞蒙古自治州): never goods."""
    return not term.isascii() and len(term) >= 4 and _place_run_pattern().fullmatch(term) is not None


@cache
def _stop_run_pattern() -> re.Pattern:
    words = sorted((w for w in PROCUREMENT_STOP_WORDS if len(w) >= 2 and not w.isascii()), key=lambda w: (-len(w), w))
    return re.compile("(?:" + "|".join(map(re.escape, words)) + ")+")


def _is_stop_run(term: str) -> bool:
    """Whether a word is stop words run together (外贸出口, 厂家批发): the analyser keeps some such runs whole."""
    return not term.isascii() and len(term) >= 4 and _stop_run_pattern().fullmatch(term) is not None


def candidate_words(text: str, ignore: frozenset[str] = frozenset()) -> list[tuple[str, ...]]:
    """The goods words of a text, in order, as tuples of analysed terms (a compound: itself, then its halves).

    Stop words, place names, lone Chinese characters, punctuation, and numbers naming a quantity, a price
    or a date (a number followed by 个, 元, 月 …) are left out; ``ignore`` adds terms (a request's own
    quantity, for instance).
    """
    terms = query_terms(_THOUSANDS.sub("", text[:MAX_TEXT_CHARS]))
    places = _place_words()
    out: list[tuple[str, ...]] = []
    for i, term in enumerate(terms):
        if (term in PROCUREMENT_STOP_WORDS or term in places or term in ignore or _is_place(term)
                or _is_stop_run(term)):
            continue
        if _DIGITS.match(term):
            # a specification number stays (304 steel, 24 inch); quantities, prices, dates and long numbers go
            following = terms[i + 1] if i + 1 < len(terms) else ""
            if (len(term) < 2 or len(term) > 4 or term.startswith("0") or following[:1] in _NOT_SPEC_UNITS
                    or following in _QUANTITY_WORDS or (len(term) < 3 and not following)):
                continue
        elif len(term) < 2 or not term.isascii() and not any(ch.isalnum() for ch in term):
            continue
        elif term.endswith(_CERTIFICATE_ENDINGS):
            continue  # ccc认证, 3c认证: a certificate asked for (scored apart), not goods
        out.append((term,))
    return out


def _halves(term: str) -> tuple[str, ...] | None:
    """The two words a Chinese compound is made of (不锈钢保温杯 → 不锈钢, 保温杯), from the index analyser."""
    if term.isascii() or len(term) < 4:
        return None
    subs = [t for t in index_terms(term) if t != term and len(t) >= 2]
    best = None
    for head in subs:
        if term.startswith(head):
            rest = term[len(head):]
            if rest in subs and (best is None or len(head) > len(best[0])):
                best = (head, rest)
    return best


def select_keywords(text: str, doc_frequency, doc_count: int, limit: int = KEYWORD_LIMIT,
                    ignore: frozenset[str] = frozenset(), title: str = "",
                    synonyms: Synonyms | None = None, focus=None) -> list[Keyword]:
    """The ``limit`` best keywords of ``text`` and ``title`` (whose words weigh ``TITLE_FACTOR`` times more),
    by TF-IDF against a target index.

    ``doc_frequency(term)`` is the number of the target's documents holding ``term``. A word of the text none
    holds (through any alternative) is dropped; a word of the *title* none holds yet is kept, as the rarest of
    words (尖嘴钳 before anyone lists pliers): a document added later may hold it, and it counts in a document's
    coverage — one holding only the title's other words (家用, 多功能) does not cover 尖嘴钳 家用 多功能. ``focus(term)`` (optional, 0–1) is how
    much the documents holding a term keep to one category: a word that names a kind of goods (扳手)
    keeps to one, a generic one (套装, 多功能) or a spec (2000w) spreads over several; a keyword's
    weight is multiplied by ``FOCUS_FLOOR + (1 − FOCUS_FLOOR) × focus``. Deterministic for a given text
    and frequencies: ties keep the text's order.
    """
    synonyms = synonyms or Synonyms.default()
    title_words = {term for (term,) in candidate_words(title, ignore)} if title else set()
    words = candidate_words(title, ignore) + candidate_words(text, ignore) if title else \
        candidate_words(text, ignore)
    counts: dict[str, int] = {}
    first: dict[str, int] = {}
    for position, (term,) in enumerate(words):
        counts[term] = counts.get(term, 0) + 1
        first.setdefault(term, position)
    n = max(doc_count, 1)
    frequencies: dict[str, int] = {}

    def df(terms: tuple[str, ...]) -> int:
        # an alternative of several terms: at most its rarest term's frequency
        values = []
        for term in terms:
            if term not in frequencies:
                frequencies[term] = int(doc_frequency(term))
            values.append(frequencies[term])
        return min(values) if values else 0

    scored: list[tuple[float, int, Keyword]] = []
    for term, count in counts.items():
        group = synonyms.group_of((term,))
        alternatives = [(term,), *(alt for alt in (group or ()) if alt != (term,))]
        halves = _halves(term)
        if halves:
            alternatives.append(halves)
        known = max(df(alt) for alt in alternatives)
        if not known and (term not in title_words or any(ch.isdigit() for ch in term)):
            # a description's word no document holds is noise more often than goods; an unknown specification
            # (30000mah, 908g) is dropped too: another size of the same goods is still the goods
            continue
        idf = math.log(1.0 + (n - known + 0.5) / (known + 0.5))
        # the title names the goods: its words weigh TITLE_FACTOR times a description's
        weight = (1.0 + math.log(count)) * idf * (TITLE_FACTOR if term in title_words else 1.0)
        if focus is not None:
            weight *= FOCUS_FLOOR + (1.0 - FOCUS_FLOOR) * focus(term)
        scored.append((weight, first[term], Keyword(term, weight, tuple(dict.fromkeys(alternatives)))))
        if halves and halves[1] not in counts:
            head = halves[1]
            head_df = df((head,))
            if head_df:
                head_group = synonyms.group_of((head,))
                head_alts = [(head,), *(alt for alt in (head_group or ()) if alt != (head,))]
                head_idf = math.log(1.0 + (n - head_df + 0.5) / (head_df + 0.5))
                scored.append((HEAD_SHARE * weight * head_idf / max(idf, 1e-9), first[term] + 0.5,
                               Keyword(head, HEAD_SHARE * weight * head_idf / max(idf, 1e-9), tuple(head_alts))))
    scored.sort(key=lambda item: (-item[0], item[1]))
    chosen: list[Keyword] = []
    seen: set[str] = set()
    for _weight, _position, keyword in scored:
        if keyword.text in seen:
            continue
        seen.add(keyword.text)
        chosen.append(keyword)
        if len(chosen) >= limit:
            break
    return chosen


@dataclass
class Candidates:
    """Every document holding at least one keyword within the filters, as arrays (in docnum order)."""

    keywords: list[Keyword]
    #: global document numbers
    docnums: np.ndarray
    #: the objects' ids
    ids: np.ndarray
    #: (documents × keywords) int8: 2 = in the title, 1 = elsewhere in the text, 0 = not held
    presence: np.ndarray
    #: column name → values of the candidates as the index holds them (text as VOCABULARY codes: compare
    #: with ``code_of``; ``value`` decodes one)
    columns: dict = field(default_factory=dict)
    #: the index generation they were read from
    generation: tuple = ()
    #: which columns hold text (name → True)
    text_columns: frozenset = frozenset()

    @staticmethod
    def code_of(text: str) -> int:
        """The code a text value has in the columns (-1: no document has it)."""
        code = VOCABULARY.code(text)
        return -1 if code is None else code

    @staticmethod
    def text_of(code: int) -> str:
        """The text of a code."""
        return VOCABULARY.values[int(code)]

    def cert_held(self, code: str) -> np.ndarray:
        """Whether each candidate holds certification ``code`` (0/1; from the certifications column)."""
        bit = CERT_BITS.bit(code)
        if bit is None or schemas.CERTS not in self.columns:
            return np.zeros(len(self.ids))
        return ((self.columns[schemas.CERTS] & (1 << bit)) != 0).astype(float)

    def value(self, name: str, row: int):
        """One candidate's value of a column, decoded (text as str; certifications as space-separated codes)."""
        raw = self.columns[name][row]
        if name == schemas.CERTS:
            return " ".join(code for code, bit in CERT_BITS.items() if int(raw) & (1 << bit))
        if name in self.text_columns:
            return VOCABULARY.values[int(raw)]
        return int(raw)

    def coverage(self) -> np.ndarray:
        """Weighted share of the keywords each candidate holds (title full, text ``TEXT_ONLY_CREDIT``)."""
        if not len(self.ids) or not self.keywords:
            return np.zeros(len(self.ids), dtype=np.float64)
        weights = np.array([k.weight for k in self.keywords], dtype=np.float64)
        return _CREDIT[self.presence] @ weights / weights.sum()

    def matched(self, row: int) -> tuple[list[str], list[str]]:
        """(keywords in the title, keywords elsewhere in the text) of one candidate."""
        flags = self.presence[row]
        return ([k.text for k, f in zip(self.keywords, flags, strict=True) if f == 2],
                [k.text for k, f in zip(self.keywords, flags, strict=True) if f == 1])


@dataclass
class SimilarHit:
    """One document found by ``similar()``: its id, company, title, score and matched keywords."""

    id: int
    company_id: int
    title: str
    score: float
    matched: tuple[str, ...]


def presence_in(keywords: list[Keyword], title_terms: set[str], text_terms: set[str]) -> np.ndarray:
    """The presence row of one document given its analysed terms (as the index holds them): the same
    rule ``similar_candidates`` applies to postings, for a document read from the database."""
    row = np.zeros(len(keywords), dtype=np.int8)
    for i, keyword in enumerate(keywords):
        if any(all(t in title_terms for t in alt) for alt in keyword.alternatives):
            row[i] = 2
        elif any(all(t in text_terms for t in alt) for alt in keyword.alternatives):
            row[i] = 1
    return row


#: a presence value's credit: 0 not held, 1 elsewhere in the text, 2 in the title
_CREDIT = np.array([0.0, TEXT_ONLY_CREDIT, 1.0])


def _raw_columns(names: tuple[str, ...], column_fields: dict, gen: _Generation, docnums: np.ndarray) -> dict:
    """The candidates' values of some columns as the generation holds them: integers, text as VOCABULARY codes,
    certifications as bit sets (``Candidates.value`` decodes one)."""
    return {name: gen.columns[name][docnums] for name in names if name in column_fields}


def _union(arrays: list[np.ndarray], size: int) -> np.ndarray:
    """The sorted union of docnum arrays (< ``size``): a dense mark when they are long (linear, no hashing
    or sorting of the concatenation), ``np.unique`` when they are short."""
    total = sum(len(a) for a in arrays)
    if total * 16 < size:
        return np.unique(np.concatenate(arrays))
    mark = np.zeros(size, dtype=bool)
    for docs in arrays:
        mark[docs] = True
    return np.flatnonzero(mark)


@dataclass
class KeywordPostings:
    """Each keyword's documents in one generation (``SearchIndex.keyword_postings``), to draw candidates from:
    all of them (``similar_candidates``) or, for a ranking that can prove the others cannot make its list,
    only those holding its weightiest keywords (MaxScore-style pruning: see ``marketplace.matching.ranking``)."""

    keywords: list[Keyword]
    gen: object
    key: tuple
    #: live documents within the filters (a mask over the generation)
    allowed: np.ndarray
    #: per keyword, sorted docnums holding it in the text / in the title
    text_docs: list[np.ndarray]
    title_docs: list[np.ndarray]
    #: documents classified under the HS prefix (always candidates)
    classified: np.ndarray
    fields: dict
    text_columns: frozenset

    def share_order(self) -> list[int]:
        """Keyword positions, the weightiest first (ties: the text's order)."""
        return sorted(range(len(self.keywords)), key=lambda i: (-self.keywords[i].weight, i))

    def value_mask(self, column: str, text: str) -> np.ndarray:
        """Documents whose text column ``column`` holds exactly ``text`` (a mask over the generation)."""
        code = VOCABULARY.code(text)
        if code is None or column not in self.gen.columns:
            return np.zeros(len(self.allowed), dtype=bool)
        return self.gen.columns[column] == code

    def hs_mask(self, prefix: str) -> np.ndarray:
        """Documents classified under an HS prefix (2 digits or more; a mask over the generation)."""
        mask = np.zeros(len(self.allowed), dtype=bool)
        if prefix and schemas.HS in self.gen.columns:
            mask[self.gen.hs_docs(prefix)] = True
        return mask

    def candidates(self, among, seen: np.ndarray | None = None, columns: tuple[str, ...] = (),
                   classified: bool = True, restrict=None) -> tuple[Candidates, np.ndarray]:
        """The allowed documents holding any keyword at the positions ``among`` (plus the HS-classified ones
        when ``classified``), leaving out those marked in ``seen``, each with its presence row over *every*
        keyword; and ``seen`` with them marked (a new mask when None).

        ``restrict(position)`` (optional) gives a mask (or None) that the documents *first* met at that position
        of ``among`` must also be in: they are marked seen either way (a caller that knows such documents
        cannot qualify — they hold none of the keywords before — reads them no more)."""
        size = len(self.allowed)
        mark = np.zeros(size, dtype=bool) if seen is None else seen
        parts = [self.classified] if classified and len(self.classified) else []
        if restrict is None:
            parts += [d for i in among for d in (self.text_docs[i], self.title_docs[i]) if len(d)]
            docnums = _union(parts, size) if parts else np.zeros(0, dtype=np.int64)
            docnums = docnums[self.allowed[docnums] & ~mark[docnums]]
            mark[docnums] = True
        else:
            chosen = []
            if parts:
                first = parts[0][self.allowed[parts[0]] & ~mark[parts[0]]]
                mark[first] = True
                chosen.append(first)
            for i in among:
                held = [d for d in (self.text_docs[i], self.title_docs[i]) if len(d)]
                if not held:
                    continue
                docs = held[0] if len(held) == 1 else _union(held, size)
                docs = docs[self.allowed[docs] & ~mark[docs]]
                mark[docs] = True
                mask = restrict(i)
                chosen.append(docs if mask is None else docs[mask[docs]])
            chosen = [d for d in chosen if len(d)]
            docnums = np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, dtype=np.int64)
        return self._found(docnums, columns), mark

    def candidates_in(self, mask: np.ndarray, leave_out: np.ndarray | None = None,
                      columns: tuple[str, ...] = ()) -> Candidates:
        """The allowed documents in ``mask`` (a mask over the generation: ``value_mask``, ``hs_mask``), whether they
        hold a keyword or not, minus those marked in ``leave_out``, with their presence rows (a class's
        products, for a list the keywords alone cannot fill)."""
        keep = self.allowed & mask
        if leave_out is not None:
            keep &= ~leave_out
        return self._found(np.flatnonzero(keep), columns)

    def _found(self, docnums: np.ndarray, columns: tuple[str, ...]) -> Candidates:
        """``docnums`` (sorted) as candidates: each one's presence row over every keyword and ``columns``."""
        gen, keywords, size = self.gen, self.keywords, len(self.allowed)
        presence = np.zeros((len(docnums), len(keywords)), dtype=np.int8)
        if len(docnums):
            position = np.full(size, -1, dtype=np.int64)
            position[docnums] = np.arange(len(docnums))
            for i, (in_text, in_title) in enumerate(zip(self.text_docs, self.title_docs, strict=True)):
                for docs, value in ((in_text, 1), (in_title, 2)):
                    if len(docs):
                        rows = position[docs]
                        presence[rows[rows >= 0], i] = value
        ids = gen.columns[schemas.ID][docnums]
        return Candidates(keywords, docnums, ids, presence, _raw_columns(columns, self.fields, gen, docnums),
                          self.key, self.text_columns)


class Similar:
    """The matching methods of ``SearchIndex`` (a mixin)."""

    def _text_columns(self) -> frozenset:
        return frozenset(name for name, kind in self.kind.columns.items() if kind is str)

    def doc_frequency(self, term: str) -> int:
        """Live documents whose text holds ``term`` (from the postings cache)."""
        with self._lock:
            gen = self._current()
            ids, _weights = self._postings_for(gen, schemas.TEXT, term)
            return int(np.count_nonzero(gen.alive[ids])) if len(ids) else 0

    def keywords(self, text: str, limit: int = KEYWORD_LIMIT, ignore: frozenset[str] = frozenset(),
                 title: str = "") -> list[Keyword]:
        """The best keywords of ``text`` against this index's document frequencies (``select_keywords``)."""
        with self._lock:
            gen = self._current()
            doc_count = gen.doc_count

            def df(term: str) -> int:
                ids, _weights = self._postings_for(gen, schemas.TEXT, term)
                return int(np.count_nonzero(gen.alive[ids])) if len(ids) else 0

            focus = None
            if schemas.CATEGORY in self.kind.columns:
                categories = gen.columns[schemas.CATEGORY]

                def focus(term: str) -> float:
                    # the largest share of the term's live documents in one category
                    ids, _weights = self._postings_for(gen, schemas.TEXT, term)
                    ids = ids[gen.alive[ids]] if len(ids) else ids
                    if not len(ids):
                        return 1.0
                    counts = np.bincount(categories[ids])
                    return float(counts.max()) / len(ids)

            return select_keywords(text, df, doc_count, limit=limit, ignore=ignore, title=title, focus=focus)

    def _keyword_docs(self, gen: _Generation, keyword: Keyword, fieldname: str) -> np.ndarray:
        """Sorted global docnums whose ``fieldname`` holds the keyword through any alternative (kept per
        generation: requests share their words)."""
        key = (fieldname, keyword.alternatives)
        cached = gen.keyword_docs.get(key)
        if cached is not None:
            gen.keyword_docs.move_to_end(key)
            return cached
        docs = self._read_keyword_docs(gen, keyword, fieldname)
        docs.flags.writeable = False
        gen.keep_keyword_docs(key, docs)
        return docs

    def _read_keyword_docs(self, gen: _Generation, keyword: Keyword, fieldname: str) -> np.ndarray:
        parts = []
        for alternative in keyword.alternatives:
            docs = None
            for term in alternative:
                ids, _weights = self._postings_for(gen, fieldname, term)
                docs = ids if docs is None else np.intersect1d(docs, ids, assume_unique=True)
                if not len(docs):
                    break
            if docs is not None and len(docs):
                parts.append(docs)
        if not parts:
            return np.zeros(0, dtype=np.int64)
        return parts[0] if len(parts) == 1 else _union(parts, gen.size)  # fresh arrays: frozen by the caller

    def keyword_postings(self, keywords: list[Keyword], filters: Filters | None = None,
                         hs_prefix: str | None = None) -> KeywordPostings:
        """Which live documents within ``filters`` hold each keyword (title and text), and — with ``hs_prefix``
        (4 digits or more) — which are classified under it, read once from the current generation: the caller
        then asks for the candidates holding some of the keywords (``KeywordPostings.candidates``)."""
        with self._lock:
            gen = self._current()
            allowed = gen.alive
            if filters is not None and not filters.is_empty():
                allowed = allowed & self._filter_mask(gen, filters)
            classified = np.zeros(0, dtype=np.int64)
            if hs_prefix and len(hs_prefix) >= 4 and schemas.HS in self.kind.columns:
                classified = gen.hs_docs(hs_prefix)
            return KeywordPostings(
                keywords=keywords, gen=gen, key=gen.key, allowed=allowed,
                text_docs=[self._keyword_docs(gen, k, schemas.TEXT) for k in keywords],
                title_docs=[self._keyword_docs(gen, k, schemas.TITLE) for k in keywords],
                classified=classified, fields=self.kind.columns, text_columns=self._text_columns())

    def similar_candidates(self, keywords: list[Keyword], filters: Filters | None = None,
                           columns: tuple[str, ...] = (), hs_prefix: str | None = None) -> Candidates:
        """Every live document within ``filters`` holding at least one keyword — or, with ``hs_prefix`` (4 digits
        or more), classified under it — with its presence row and the values of ``columns``."""
        postings = self.keyword_postings(keywords, filters, hs_prefix)
        return postings.candidates(range(len(keywords)), columns=columns)[0]

    def similar(self, keywords: list[Keyword], filters: Filters | None = None, limit: int = 20) -> list[SimilarHit]:
        """The ``limit`` documents holding the largest weighted share of ``keywords`` (ties: lower id first)."""
        found = self.similar_candidates(keywords, filters, columns=(schemas.COMPANY,))
        if not len(found.ids):
            return []
        coverage = found.coverage()
        order = np.lexsort((found.ids, -coverage))[:max(int(limit), 0)]
        hits = []
        with self._lock:
            gen = self._current()
            for row in order:
                stored = gen.searcher.stored_fields(int(found.docnums[row]))
                in_title, in_text = found.matched(int(row))
                hits.append(SimilarHit(id=int(found.ids[row]), company_id=found.value(schemas.COMPANY, int(row)),
                                       title=stored.get(schemas.TITLE, ""), score=float(coverage[row]),
                                       matched=tuple(in_title + in_text)))
        return hits
