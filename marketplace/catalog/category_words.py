"""Goods words typical of each product category: the category a text names when the catalog cannot tell.

Matching infers a request's category from the products its words find best (``matching.profiles``); on a
young catalog a request's goods may have no product yet (科技布沙发 when nobody sells sofas), and its words
then vote for nothing. These words say which trade such a text belongs to: the head nouns of the goods each
category covers (沙发, 刹车片, 电钻 …), in Chinese, and a few in English.

``guess_category(text)``: of the words found in the text, the longest decides (前照灯 over 汽车 in
汽车LED前照灯, 床垫 over 胶 in 乳胶床垫; a Chinese character counts as two Latin letters), then the one ending last (a Chinese compound's head comes last:
保温杯, not 不锈钢). A word belongs to one category only (tested).
"""
from __future__ import annotations

import re
from functools import cache

CATEGORY_WORDS: dict[str, tuple[str, ...]] = {
    "small_appliances": (
        "电饭煲", "电饭锅", "空气炸锅", "电水壶", "电热水壶", "热水壶", "吹风机", "电吹风", "加湿器", "除湿机",
        "电风扇", "风扇", "取暖器", "暖风机", "电暖器", "油汀", "榨汁机", "破壁机", "料理机", "豆浆机", "微波炉",
        "烤箱", "电磁炉", "电压力锅", "咖啡机", "吸尘器", "扫地机", "电熨斗", "挂烫机", "剃须刀", "电动牙刷",
        "净水器", "空调", "洗衣机", "冰箱", "电炖锅", "面包机", "绞肉机", "搅拌机", "电饼铛", "煮蛋器",
        "空气净化器", "电蒸锅", "养生壶", "rice cooker", "air fryer", "kettle", "hair dryer", "humidifier"),
    "textiles": (
        "t恤", "衬衫", "外套", "夹克", "羽绒服", "棉服", "卫衣", "毛衣", "针织衫", "裤", "牛仔裤", "裙", "连衣裙",
        "袜", "内衣", "睡衣", "运动服", "床单", "被套", "四件套", "被子", "枕头", "枕套", "毛巾", "浴巾", "窗帘",
        "围巾", "帽子", "手套", "面料", "布料", "纱线", "童装", "校服", "工作服", "西装", "马甲", "背心",
        "打底衫", "polo衫", "羽绒", "家纺", "t-shirt", "shirt", "jacket", "towel", "bedding"),
    "footwear": (
        "鞋", "运动鞋", "跑步鞋", "皮鞋", "凉鞋", "拖鞋", "靴", "雪地靴", "帆布鞋", "板鞋", "童鞋", "鞋垫",
        "高跟鞋", "休闲鞋", "雨靴", "sneaker", "shoes", "boots", "slippers"),
    "hardware": (
        "扳手", "钳", "螺丝刀", "电钻", "冲击钻", "锤", "卷尺", "钢卷尺", "合页", "铰链", "挂锁", "门锁", "螺丝",
        "螺栓", "螺母", "锯", "锉刀", "修枝剪", "工具箱", "工具套装", "角磨机", "电批", "扎带", "水平仪", "套筒",
        "钻头", "批头", "拉手", "门吸", "五金", "wrench", "pliers", "screwdriver", "drill", "hinge"),
    "furniture": (
        "沙发", "椅", "凳", "桌", "餐桌", "书桌", "茶几", "柜", "衣柜", "书柜", "鞋柜", "床垫", "床头柜", "书架",
        "置物架", "屏风", "躺椅", "转椅", "办公椅", "梳妆台", "电视柜", "双人床", "单人床", "实木床", "儿童床",
        "sofa", "chair", "table", "mattress", "wardrobe", "bookshelf"),
    "toys": (
        "玩具", "积木", "拼图", "公仔", "毛绒", "娃娃", "遥控车", "遥控赛车", "模型", "益智", "过家家", "沙滩玩具",
        "滑板车", "彩泥", "拼插", "魔方", "风筝", "水枪", "玩偶", "圣诞装饰", "圣诞树", "toy", "puzzle",
        "plush", "building blocks"),
    "lighting": (
        "灯", "灯泡", "灯管", "灯带", "吸顶灯", "台灯", "射灯", "筒灯", "投光灯", "泛光灯", "壁灯", "路灯", "吊灯",
        "落地灯", "护眼灯", "夜灯", "面板灯", "球泡灯", "灯具", "照明", "led", "lamp", "bulb", "floodlight"),
    "auto_parts": (
        "汽车", "车载", "刹车片", "刹车", "雨刮", "雨刷", "机滤", "机油滤", "空滤", "滤清器", "脚垫", "轮胎",
        "减震器", "避震器", "火花塞", "大灯", "前照灯", "车灯", "尾灯", "雾灯", "座套", "方向盘套", "后视镜",
        "保险杠", "排气管", "汽配", "行车记录仪", "点烟器", "车衣", "轮毂", "brake pad", "wiper", "spark plug"),
    "luggage": (
        "箱包", "行李箱", "拉杆箱", "旅行箱", "背包", "双肩包", "书包", "手提包", "挎包", "钱包", "腰包",
        "化妆包", "公文包", "登机箱", "旅行袋", "luggage", "suitcase", "backpack", "handbag", "wallet"),
    "electronics": (
        "耳机", "蓝牙耳机", "充电器", "数据线", "音箱", "音响", "手机壳", "移动电源", "充电宝", "键盘", "鼠标",
        "路由器", "摄像头", "平板电脑", "手机", "智能手表", "手环", "遥控器", "读卡器", "u盘", "硬盘", "显示器",
        "投影仪", "麦克风", "headphones", "earbuds", "charger", "power bank", "keyboard", "speaker"),
    "kitchenware": (
        "锅", "炒锅", "汤锅", "平底锅", "煎锅", "蒸锅", "奶锅", "碗", "盘", "碟", "杯", "保温杯", "水杯", "茶杯",
        "马克杯", "菜刀", "刀具", "砧板", "菜板", "筷", "勺", "餐具", "厨具", "保鲜盒", "饭盒", "餐盒", "茶具",
        "酒杯", "调料瓶", "锅铲", "焖烧杯", "wok", "pan", "cup", "mug", "tableware", "cookware"),
    "sports": (
        "瑜伽垫", "瑜伽", "哑铃", "帐篷", "睡袋", "登山杖", "跳绳", "篮球", "足球", "羽毛球", "乒乓球", "网球",
        "球拍", "自行车", "骑行", "泳衣", "泳镜", "健身", "拉力器", "护膝", "钓鱼", "鱼竿", "露营", "滑雪",
        "yoga", "dumbbell", "tent", "bicycle", "fitness"),
    "building_materials": (
        "瓷砖", "地板", "地砖", "涂料", "油漆", "水泥", "石膏板", "卫浴", "水龙头", "龙头", "花洒", "马桶",
        "洗手盆", "门窗", "玻璃", "管材", "水管", "墙纸", "壁纸", "防水卷材", "铝型材", "钢材", "石材", "大理石",
        "tile", "flooring", "faucet", "cement"),
    "machinery": (
        "机床", "泵", "水泵", "电机", "马达", "压缩机", "阀门", "轴承", "减速机", "发电机", "焊机", "电焊机",
        "切割机", "包装机", "注塑机", "叉车", "输送机", "风机", "空压机", "齿轮", "液压", "pump", "motor",
        "valve", "bearing", "compressor"),
    "chemicals_plastics": (
        "塑料", "胶水", "胶带", "胶", "薄膜", "树脂", "清洁剂", "洗衣液", "洗洁精", "消毒液", "塑料袋", "垃圾袋",
        "保鲜膜", "油墨", "颜料", "润滑油", "硅胶", "pvc", "resin", "detergent", "adhesive"),
    "food": (
        "茶叶", "大米", "面条", "面粉", "食用油", "酱油", "调味", "零食", "坚果", "蜂蜜", "饼干", "糖果",
        "巧克力", "咖啡豆", "饮料", "果汁", "罐头", "水果", "干果", "奶粉", "冻品", "海鲜", "茶", "rice", "tea",
        "snack", "honey", "coffee beans"),
}


@cache
def _pattern() -> tuple[re.Pattern, dict[str, str]]:
    owner = {word: code for code, words in CATEGORY_WORDS.items() for word in words}
    # longest first, so that at one position the regex prefers the longer word; overlaps are found below
    words = sorted(owner, key=lambda w: (-len(w), w))
    return re.compile("(?=(" + "|".join(re.escape(w) for w in words) + "))"), owner


def guess_category(text: str) -> str | None:
    """The category whose typical goods word the text holds: the longest word found, then the one ending last;
    None when it holds none."""
    if not text:
        return None
    pattern, owner = _pattern()
    lowered = text.lower()
    best: tuple[int, int, str] | None = None
    for found in pattern.finditer(lowered):
        word = found.group(1)
        if word.isascii() and not _ascii_word_at(lowered, found.start(), len(word)):
            continue  # "led" inside "sled", "pan" inside "japan": English words count whole only
        key = (_length(word), found.start() + len(word), word)
        if best is None or key[:2] > best[:2]:
            best = key
    return owner[best[2]] if best else None


def _length(word: str) -> int:
    """A word's length for the longest-first rule: a Chinese character says as much as two Latin letters (大灯
    over led in LED汽车大灯)."""
    return sum(1 if ch.isascii() else 2 for ch in word)


def _ascii_word_at(text: str, start: int, length: int) -> bool:
    before = text[start - 1] if start > 0 else " "
    after = text[start + length] if start + length < len(text) else " "
    return not (before.isascii() and before.isalpha()) and not (after.isascii() and after.isalpha())
