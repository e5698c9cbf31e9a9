"""Queries of the search benchmark: a labelled set for quality and a query mix for latency.

Owns: ``LABELLED_QUERIES`` (query text, the kinds of goods that answer it, a note), judged on the
listings of ``bench.search_data``: a product is relevant iff ``record.extra["kind"]`` is one of the
query's kinds; and ``query_mix()`` / ``QUERY_MIX``, the deterministic latency mix of 2–4 word Chinese
queries drawn from the generator's vocabulary (a third with a category filter, a third with a price
range, like the measured baseline in /work/shared/SEARCH-BASELINE.md).

Several labelled queries need the synonym table (``search_index/data/synonyms.txt``): their note
says "synonym", and ``SYNONYM_PAIRS`` lists the equivalences they rely on (``missing_synonyms``
names those the table lacks; the benchmark prints them).
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from bench.search_data import kinds_by_category

# ---------------------------------------------------------------------------- the labelled set

_LIGHTING = frozenset({"LED灯泡", "LED筒灯", "LED灯带", "太阳能庭院灯", "吸顶灯", "投光灯"})


def _q(text: str, kinds: str | frozenset[str], note: str) -> tuple[str, frozenset[str], str]:
    return text, (frozenset({kinds}) if isinstance(kinds, str) else frozenset(kinds)), note


#: (query text, kinds of goods that answer it, what it tests)
LABELLED_QUERIES: tuple[tuple[str, frozenset[str], str], ...] = (
    # -- the kind's own name, as written in titles
    _q("电饭煲", "电饭煲", "exact kind name"),
    _q("空气炸锅", "空气炸锅", "exact kind name"),
    _q("电热水壶", "电热水壶", "exact kind name"),
    _q("吹风机", "吹风机", "exact kind name"),
    _q("加湿器", "加湿器", "exact kind name"),
    _q("空调", "空调", "exact kind name"),
    _q("羽绒服", "羽绒服", "exact kind name"),
    _q("牛仔裤", "牛仔裤", "exact kind name"),
    _q("毛巾", "毛巾", "exact kind name"),
    _q("电钻", "电钻", "exact kind name"),
    _q("卷尺", "卷尺", "exact kind name"),
    _q("办公椅", "办公椅", "exact kind name"),
    _q("床垫", "床垫", "exact kind name"),
    _q("积木", "积木", "exact kind name"),
    _q("吸顶灯", "吸顶灯", "exact kind name"),
    _q("刹车片", "刹车片", "exact kind name"),
    _q("减震器", "减震器", "exact kind name"),
    _q("拉杆箱", "拉杆箱", "exact kind name"),
    _q("双肩包", "双肩包", "exact kind name"),
    _q("充电宝", "充电宝", "exact kind name"),
    _q("蓝牙耳机", "蓝牙耳机", "exact kind name"),
    _q("保温杯", "保温杯", "exact kind name"),
    _q("瑜伽垫", "瑜伽垫", "exact kind name"),
    _q("帐篷", "帐篷", "exact kind name"),
    _q("瓷砖", "瓷砖", "exact kind name"),
    _q("空压机", "空压机", "exact kind name"),
    _q("电焊机", "电焊机", "exact kind name"),
    _q("洗衣液", "洗衣液", "exact kind name"),
    _q("酱油", "酱油", "exact kind name"),
    _q("哑铃", "哑铃", "exact kind name"),
    _q("跑步机", "跑步机", "exact kind name"),
    _q("拖鞋", "拖鞋", "exact kind name"),
    _q("垃圾袋", "垃圾袋", "exact kind name"),
    _q("取暖器", "电暖器", "synonym (one title pattern of three uses it)"),
    # -- synonyms the titles do not use (or use only in some titles)
    _q("电饭锅", "电饭煲", "synonym (one title pattern of three uses it)"),
    _q("移动电源", "充电宝", "synonym"),
    _q("烧水壶", "电热水壶", "synonym"),
    _q("电吹风", "吹风机", "synonym (one title pattern of three uses it)"),
    _q("旅行箱", "拉杆箱", "synonym"),
    _q("背包", "双肩包", "synonym"),
    _q("皮夹", "钱包", "synonym"),
    _q("铰链", "不锈钢合页", "synonym"),
    _q("电脑椅", "办公椅", "synonym"),
    _q("席梦思", "床垫", "synonym"),
    _q("刹车皮", "刹车片", "synonym"),
    _q("雨刷", "雨刮器", "synonym"),
    _q("避震器", "减震器", "synonym"),
    _q("水龙头", "卫浴龙头", "synonym"),
    _q("蓝牙音响", "蓝牙音箱", "synonym"),
    _q("充电线", "数据线", "synonym"),
    _q("手机套", "手机壳", "synonym"),
    _q("球鞋", "运动鞋", "synonym"),
    _q("thermos cup", "保温杯", "English (synonym; titles say 'vacuum cup' or 'insulated cup')"),
    _q("空气压缩机", "空压机", "synonym"),
    _q("手电钻", "电钻", "synonym"),
    _q("stuffed animal", "毛绒玩具", "English (synonym for Chinese-only listings)"),
    _q("收纳盒", "塑料收纳箱", "synonym"),
    _q("封箱带", "胶带", "synonym"),
    # -- English queries for products mostly titled in Chinese (30 % have no English at all)
    _q("rice cooker", "电饭煲", "English (synonym for Chinese-only listings)"),
    _q("power bank", "充电宝", "English (synonym for Chinese-only listings)"),
    _q("stainless steel kettle", "电热水壶", "English, multi-word"),
    _q("air fryer", "空气炸锅", "English (synonym for Chinese-only listings)"),
    _q("hair dryer", "吹风机", "English (synonym for Chinese-only listings)"),
    _q("office chair", "办公椅", "English (synonym for Chinese-only listings)"),
    _q("brake pads", "刹车片", "English, plural (stemming)"),
    _q("yoga mat", "瑜伽垫", "English (synonym for Chinese-only listings)"),
    _q("camping tent", "帐篷", "English (synonym for Chinese-only listings)"),
    _q("laptop bag", "电脑包", "English (synonym for Chinese-only listings)"),
    _q("soy sauce", "酱油", "English (synonym for Chinese-only listings)"),
    _q("water pump", "水泵", "English (synonym; no title says 'water pump')"),
    _q("welding machine", "电焊机", "English (synonym for Chinese-only listings)"),
    _q("air conditioner", "空调", "English (synonym for Chinese-only listings)"),
    _q("down jacket", "羽绒服", "English (synonym for Chinese-only listings)"),
    _q("wireless earbuds", "蓝牙耳机", "English (synonym; titles say 'earbuds' or 'earphones')"),
    _q("shock absorber", "减震器", "English (synonym for Chinese-only listings)"),
    _q("garbage bags", "垃圾袋", "English, plural"),
    _q("cling film", "保鲜膜", "English (synonym for Chinese-only listings)"),
    _q("dumbbells", "哑铃", "English, plural"),
    _q("ceramic tiles", "瓷砖", "English (synonym; titles say 'porcelain tiles')"),
    _q("faucet", "卫浴龙头", "English (synonym for Chinese-only listings)"),
    _q("wallet", "钱包", "English (synonym for Chinese-only listings)"),
    _q("mattress", "床垫", "English (synonym for Chinese-only listings)"),
    _q("treadmill", "跑步机", "English (synonym for Chinese-only listings)"),
    # -- Chinese and English mixed, materials and attributes
    _q("304不锈钢 保温杯", "保温杯", "mixed material + kind"),
    _q("LED 灯带", "LED灯带", "mixed, split"),
    _q("LED灯带", "LED灯带", "mixed, one word"),
    _q("TPE 瑜伽垫", "瑜伽垫", "mixed material + kind"),
    _q("PC 拉杆箱", "拉杆箱", "mixed material + kind"),
    _q("Type-C 数据线", "数据线", "mixed compound + kind"),
    _q("IH 电饭煲", "电饭煲", "mixed; IH is in one title pattern"),
    _q("TWS 耳机", "蓝牙耳机", "mixed; TWS in one title pattern"),
    _q("20000mAh 充电宝", "充电宝", "attribute value + kind"),
    _q("LED 汽车大灯", "汽车灯具", "mixed"),
    _q("2.4G 遥控", "遥控车", "decimal compound + title word"),
    _q("RFID 钱包", "钱包", "mixed; RFID in one title pattern"),
    _q("1.5匹 空调", "空调", "attribute value + kind"),
    _q("一级能效 空调", "空调", "attribute value + kind"),
    _q("90%白鹅绒 羽绒服", "羽绒服", "attribute value with a percent sign"),
    _q("头层牛皮", frozenset({"手提包", "钱包", "皮鞋"}), "material shared by three kinds"),
    _q("铬钒钢 扳手", "扳手套装", "material + part of the kind"),
    _q("橡木 餐桌", "实木餐桌", "material + part of the kind"),
    _q("乳胶床垫", "床垫", "compound word of one title pattern"),
    _q("全铜 龙头", "卫浴龙头", "material + part of the kind"),
    _q("骨瓷 餐具", "陶瓷餐具", "material + part of the kind"),
    _q("高硼硅玻璃", frozenset({"电热水壶", "玻璃保鲜盒"}), "material shared by two kinds"),
    _q("无刷电机 电钻", "电钻", "feature + kind"),
    # -- model numbers and codes
    _q("KFR-35GW", "空调", "model-number prefix"),
    _q("SK5 修枝剪", "园林工具", "steel grade + title word"),
    _q("6063-T5 铝型材", "铝合金型材", "alloy grade + title word"),
    _q("ZX7", "电焊机", "model-number series"),
    _q("E27 球泡灯", "LED灯泡", "lamp base code + title word"),
    _q("IP65 太阳能", "太阳能庭院灯", "protection rating + title word"),
    _q("H7 LED", "汽车灯具", "bulb code + LED"),
    # -- several words
    _q("家用 电饭煲 预约", "电饭煲", "three words"),
    _q("户外 防水 泛光灯", "投光灯", "three words"),
    _q("早教 益智玩具", "益智玩具", "two words"),
    _q("纯棉 毛巾", "毛巾", "two words"),
    _q("不锈钢 水槽", "不锈钢水槽", "two words"),
    _q("静音 无油 空压机", "空压机", "three words"),
    _q("露营 帐篷", "帐篷", "two words"),
    _q("圣诞 装饰球", "节日礼品", "two words"),
    _q("汽车 脚垫", "汽车脚垫", "two words forming the kind"),
    _q("男士 皮鞋", "皮鞋", "two words"),
    _q("儿童 运动鞋", "童鞋", "two words; adult sneakers are not relevant"),
    _q("照明", _LIGHTING, "category name (indexed through the category names)"),
    # -- harder: words that other kinds also carry (HS heading names, features, shared materials)
    _q("耳机", "蓝牙耳机", "the speakers' HS heading also names 耳机"),
    _q("音箱", "蓝牙音箱", "the earphones' HS heading also names 音箱"),
    _q("钱包", "钱包", "HS heading 4202 names 钱包 for every bag"),
    _q("手提包", "手提包", "HS heading 4202 names 手提包 for every bag"),
    _q("旅行包", "旅行袋", "one title pattern of two; 双肩包 and 拉杆箱 are near"),
    _q("不锈钢锅", "不锈钢锅", "不锈钢 and 锅 are in many kinds"),
    _q("电脑包", "电脑包", "双肩包 has a laptop compartment"),
    _q("玻璃 保鲜盒", "玻璃保鲜盒", "glass: kettles, tempered glass"),
    _q("灯泡", "LED灯泡", "titles say LED灯泡 or 球泡灯"),
    _q("户外 灯", frozenset({"太阳能庭院灯", "投光灯"}), "single-character word"),
    _q("汽车 灯", "汽车灯具", "single-character word"),
    _q("桌椅", "户外家具", "title word; office chairs and dining tables are near"),
    _q("鞋", frozenset({"运动鞋", "皮鞋", "拖鞋", "雨靴", "童鞋"}), "single character, part of every title word"),
    _q("家纺", frozenset({"床上用品", "毛巾"}), "trade word used in no listing"),
    _q("厨房电器", frozenset({"电饭煲", "空气炸锅", "电热水壶", "破壁料理机"}), "trade word used in no listing"),
    _q("电动工具", "电钻", "trade word; the HS heading of drills is about tools"),
    _q("床上用品", "床上用品", "kind name that titles do not use (纯棉四件套)"),
)

#: what the labelled set needs from the synonym table: (a word of the query, the word the listings use);
#: each pair must be alternatives of one group of ``search_index/data/synonyms.txt``
SYNONYM_PAIRS: tuple[tuple[str, str], ...] = (
    ("电饭锅", "电饭煲"), ("移动电源", "充电宝"), ("烧水壶", "电热水壶"), ("电吹风", "吹风机"), ("旅行箱", "拉杆箱"),
    ("背包", "双肩包"), ("皮夹", "钱包"), ("铰链", "合页"), ("电脑椅", "办公椅"), ("席梦思", "床垫"),
    ("刹车皮", "刹车片"), ("雨刷", "雨刮器"), ("避震器", "减震器"), ("水龙头", "龙头"), ("音响", "音箱"),
    ("充电线", "数据线"), ("手机套", "手机壳"), ("球鞋", "运动鞋"), ("空气压缩机", "空压机"), ("手电钻", "电钻"),
    ("收纳盒", "收纳箱"), ("封箱带", "胶带"), ("取暖器", "电暖器"), ("泛光灯", "投光灯"),
    ("rice cooker", "电饭煲"), ("power bank", "充电宝"), ("stainless steel", "不锈钢"), ("air fryer", "空气炸锅"),
    ("hair dryer", "吹风机"), ("office chair", "办公椅"), ("brake pads", "刹车片"), ("yoga mat", "瑜伽垫"),
    ("tent", "帐篷"), ("laptop bag", "电脑包"), ("soy sauce", "酱油"), ("water pump", "水泵"),
    ("welding machine", "电焊机"), ("air conditioner", "空调"), ("down jacket", "羽绒服"),
    ("wireless earbuds", "蓝牙耳机"), ("shock absorber", "减震器"), ("garbage bags", "垃圾袋"),
    ("cling film", "保鲜膜"), ("dumbbells", "哑铃"), ("ceramic tiles", "瓷砖"), ("faucet", "龙头"),
    ("wallet", "钱包"), ("mattress", "床垫"), ("treadmill", "跑步机"), ("thermos cup", "保温杯"),
    ("stuffed animal", "毛绒玩具"),
)


def missing_synonyms(table) -> list[tuple[str, str]]:
    """The pairs of ``SYNONYM_PAIRS`` that ``table`` (an ``analysis.Synonyms``) does not put in one group."""
    from search_index.analysis import query_terms

    missing = []
    for query_word, listing_word in SYNONYM_PAIRS:
        group = table.group_of(query_terms(query_word))
        if group is None or group != table.group_of(query_terms(listing_word)):
            missing.append((query_word, listing_word))
    return missing


# ---------------------------------------------------------------------------- the latency mix


@dataclass(frozen=True)
class MixQuery:
    """One query of the latency mix: text and at most one filter (category, or a price range in fen)."""

    text: str
    category: str | None = None
    price_min_fen: int | None = None
    price_max_fen: int | None = None


def _vocabulary() -> list[tuple[str, object, tuple[str, ...], tuple[tuple[str, ...], ...]]]:
    """Per kind: category, the kind, its head words (name and title words) and its groups of attribute words."""
    out = []
    for category, kinds in sorted(kinds_by_category().items()):
        for kind in kinds:
            heads = {kind.name} if any(kind.name in title for title in kind.titles_zh) else set()
            for title in kind.titles_zh:
                for piece in title.replace("{0}", " ").replace("{1}", " ").split():
                    if any("\u4e00" <= ch <= "\u9fff" for ch in piece):
                        heads.add(piece)
            # attribute groups: the values of one specification exclude each other; features are one group
            groups = [tuple(value.split("|")[0] for value in options if " " not in value.split("|")[0])
                      for _key, options in kind.specs if len(options) > 1]
            groups = [group for group in groups if group] + [kind.features]
            out.append((category, kind, tuple(sorted(heads)), tuple(groups)))
    return out


def query_mix(count: int = 500, seed: int = 2025) -> list[MixQuery]:
    """``count`` queries of 2–4 words of one kind's vocabulary (at most one value per specification);
    every third has a category filter, every third a price range."""
    rng = random.Random(f"search-mix-{seed}")
    vocabulary = _vocabulary()
    queries = []
    for index in range(count):
        category, kind, heads, groups = rng.choice(vocabulary)
        words = rng.choice((2, 2, 3, 3, 4))
        head = kind.name if kind.name in heads and rng.random() < 0.5 else rng.choice(heads)
        chosen = [head, *(rng.choice(group) for group in rng.sample(groups, min(len(groups), words - 1)))]
        text = " ".join(chosen)
        if index % 3 == 0:
            queries.append(MixQuery(text, category=category))
        elif index % 3 == 1:
            low, high = kind.price
            lo_yuan = rng.uniform(low, (low + high) / 2)
            queries.append(MixQuery(text, price_min_fen=int(lo_yuan * 100),
                                    price_max_fen=int(lo_yuan * rng.uniform(1.5, 3.0) * 100)))
        else:
            queries.append(MixQuery(text))
    return queries


#: the default mix: 500 queries, seed 2025
QUERY_MIX: tuple[MixQuery, ...] = tuple(query_mix(500))
