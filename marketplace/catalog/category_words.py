"""Goods words typical of each product category: the category a text's goods belong to.

Matching infers a request's category from the products its words find best (``matching.profiles``). Those
products may share only its modifiers (北欧, 家用, 大容量 of 吊灯北欧 or 鞋柜家用大容量), and on a young catalog its
goods may have no product at all (科技布沙发 when nobody sells sofas). These words say which trade a title belongs
to — the head nouns of the goods each category covers (沙发, 刹车片, 电钻, 吊灯 …), in Chinese and some in English —
and decide over the products' vote when a request's title holds one.

``guess_category(text)``: the category most of the text's goods words belong to, each word counting its length
(a Chinese character as two Latin letters; a word inside a longer one found there not at all: the 灯 of 台灯) —
汽车LED大灯 is auto parts (汽车, 大灯) though LED is a lighting word, 乳胶床垫 furniture (床垫 outweighs 胶); a tie goes
to the word ending last (a Chinese compound's head comes last). A word belongs to one category only (tested).
"""
from __future__ import annotations

import re
from functools import cache

from search_index.similar import MAX_TEXT_CHARS  # as much of a text as matching reads for its keywords

CATEGORY_WORDS: dict[str, tuple[str, ...]] = {
    "small_appliances": (
        "电饭煲", "电饭锅", "空气炸锅", "电水壶", "电热水壶", "热水壶", "吹风机", "电吹风", "加湿器", "除湿机", "电风扇", "风扇", "取暖器", "暖风机", "电暖器",
        "油汀", "榨汁机", "破壁机", "料理机", "豆浆机", "微波炉", "烤箱", "电磁炉", "电压力锅", "咖啡机", "吸尘器", "扫地机", "电熨斗", "挂烫机", "剃须刀",
        "电动牙刷", "净水器", "空调", "洗衣机", "冰箱", "电炖锅", "面包机", "绞肉机", "搅拌机", "电饼铛", "煮蛋器", "空气净化器", "电蒸锅", "养生壶",
        "rice cooker", "air fryer", "kettle", "hair dryer", "humidifier", "刮胡刀", "落地扇", "电扇", "电热毯", "足浴盆", "按摩器",
        "按摩仪", "美容仪", "卷发棒", "直发器", "体重秤", "洗碗机", "消毒柜", "油烟机", "抽油烟机", "燃气灶", "热水器", "制冰机", "酸奶机", "多士炉", "三明治机",
        "电火锅", "煮茶器", "冲牙器", "洁面仪", "除螨仪", "驱蚊器", "暖手宝", "电热水袋", "小太阳", "blender", "toaster", "heater",
        "vacuum cleaner", "shaver"),
    "textiles": (
        "t恤", "衬衫", "外套", "夹克", "羽绒服", "棉服", "卫衣", "毛衣", "针织衫", "裤", "牛仔裤", "裙", "连衣裙", "袜", "内衣", "睡衣", "运动服",
        "床单", "被套", "四件套", "被子", "枕头", "枕套", "毛巾", "浴巾", "窗帘", "围巾", "帽子", "手套", "面料", "布料", "纱线", "童装", "校服",
        "工作服", "西装", "马甲", "背心", "打底衫", "polo衫", "羽绒", "家纺", "t-shirt", "shirt", "jacket", "towel", "bedding", "衬衣",
        "开衫", "卫裤", "短裤", "打底裤", "睡裙", "家居服", "内裤", "文胸", "披肩", "丝巾", "领带", "浴袍", "被芯", "床笠", "床罩", "凉席", "毛毯",
        "毯子", "抱枕", "靠垫", "桌布", "地毯", "夏凉被", "空调被", "蚕丝被", "羽绒被", "婴儿服", "连体衣", "hoodie", "sweater", "jeans",
        "dress", "socks", "pajamas", "blanket", "pillow", "curtain"),
    "footwear": (
        "鞋", "运动鞋", "跑步鞋", "皮鞋", "凉鞋", "拖鞋", "靴", "雪地靴", "帆布鞋", "板鞋", "童鞋", "鞋垫", "高跟鞋", "休闲鞋", "雨靴", "sneaker",
        "shoes", "boots", "slippers", "球鞋", "老爹鞋", "马丁靴", "短靴", "棉鞋", "洞洞鞋", "人字拖", "乐福鞋", "小白鞋", "布鞋", "劳保鞋",
        "安全鞋", "鞋子", "sandals", "loafers", "sneakers"),
    "hardware": (
        "扳手", "钳", "螺丝刀", "电钻", "冲击钻", "锤", "卷尺", "钢卷尺", "合页", "铰链", "挂锁", "门锁", "螺丝", "螺栓", "螺母", "锯", "锉刀", "修枝剪",
        "工具箱", "工具套装", "角磨机", "电批", "扎带", "水平仪", "套筒", "钻头", "批头", "拉手", "门吸", "五金", "wrench", "pliers",
        "screwdriver", "drill", "hinge", "尖嘴钳", "老虎钳", "斜口钳", "钳子", "起子", "螺丝批", "内六角", "六角扳手", "活动扳手", "棘轮", "电锤",
        "电镐", "锂电钻", "手电钻", "磨光机", "电圆锯", "曲线锯", "热风枪", "热熔胶枪", "胶枪", "膨胀螺丝", "螺钉", "铆钉", "钉子", "电烙铁", "万用表", "测电笔",
        "游标卡尺", "卡尺", "美工刀", "防盗锁", "锁芯", "门把手", "滑轨", "挂钩", "hammer", "saw", "screw", "bolt", "padlock",
        "tape measure"),
    "furniture": (
        "沙发", "椅", "凳", "桌", "餐桌", "书桌", "茶几", "柜", "衣柜", "书柜", "鞋柜", "床垫", "床头柜", "书架", "置物架", "屏风", "躺椅", "转椅",
        "办公椅", "梳妆台", "电视柜", "双人床", "单人床", "实木床", "儿童床", "sofa", "chair", "table", "mattress", "wardrobe",
        "bookshelf", "餐椅", "椅子", "凳子", "沙发床", "榻榻米", "折叠床", "上下床", "高低床", "床架", "鞋架", "边几", "角几", "玄关柜", "斗柜",
        "餐边柜", "储物柜", "收纳柜", "文件柜", "办公桌", "电脑桌", "写字桌", "学习桌", "会议桌", "吧台", "吧椅", "摇椅", "花架", "desk", "stool",
        "bed frame", "cabinet", "dresser", "nightstand", "couch", "recliner"),
    "toys": (
        "玩具", "积木", "拼图", "公仔", "毛绒", "娃娃", "遥控车", "遥控赛车", "模型", "益智", "过家家", "沙滩玩具", "滑板车", "彩泥", "拼插", "魔方", "风筝",
        "水枪", "玩偶", "圣诞装饰", "圣诞树", "toy", "puzzle", "plush", "building blocks", "乐高", "磁力片", "泡泡机", "泡泡枪", "扭扭车",
        "摇摇马", "溜溜球", "陀螺", "恐龙", "芭比", "手办", "盲盒", "圣诞", "万圣节", "节日装饰", "气球", "派对", "布娃娃", "doll", "lego", "kite",
        "dinosaur", "christmas"),
    "lighting": (
        "灯", "灯泡", "灯管", "灯带", "吸顶灯", "台灯", "射灯", "筒灯", "投光灯", "泛光灯", "壁灯", "路灯", "吊灯", "落地灯", "护眼灯", "夜灯", "面板灯",
        "球泡灯", "灯具", "照明", "led", "lamp", "bulb", "floodlight", "小夜灯", "应急灯", "手电筒", "头灯", "灯串", "彩灯", "霓虹灯", "轨道灯",
        "草坪灯", "庭院灯", "太阳能灯", "工矿灯", "三防灯", "灯饰", "光源", "灯罩", "镜前灯", "flashlight", "chandelier", "downlight",
        "spotlight", "led strip", "light bulb"),
    "auto_parts": (
        "汽车", "车载", "刹车片", "刹车", "雨刮", "雨刷", "机滤", "机油滤", "空滤", "滤清器", "脚垫", "轮胎", "减震器", "避震器", "火花塞", "大灯", "前照灯",
        "车灯", "尾灯", "雾灯", "座套", "方向盘套", "后视镜", "保险杠", "排气管", "汽配", "行车记录仪", "点烟器", "车衣", "轮毂", "brake pad", "wiper",
        "spark plug", "空调滤芯", "机油滤芯", "刹车皮", "刹车盘", "离合器", "雨刮器", "雨刷器", "雨刷片", "机油", "防冻液", "玻璃水", "挡风玻璃", "遮阳挡",
        "头枕", "车载支架", "刹车灯", "转向灯", "日行灯", "氙气灯", "电瓶", "发动机", "变速箱", "水箱", "消声器", "摆臂", "正时皮带", "car", "tire",
        "tyre", "headlight", "shock absorber"),
    "luggage": (
        "箱包", "行李箱", "拉杆箱", "旅行箱", "背包", "双肩包", "书包", "手提包", "挎包", "钱包", "腰包", "化妆包", "公文包", "登机箱", "旅行袋",
        "luggage", "suitcase", "backpack", "handbag", "wallet", "密码箱", "旅行包", "行李袋", "行李包", "电脑包", "笔记本包", "内胆包",
        "斜挎包", "单肩包", "托特包", "帆布包", "钱夹", "卡包", "零钱包", "手拿包", "胸包", "洗漱包", "duffel", "tote", "briefcase", "purse"),
    "electronics": (
        "耳机", "蓝牙耳机", "充电器", "数据线", "音箱", "音响", "手机壳", "移动电源", "充电宝", "键盘", "鼠标", "路由器", "摄像头", "平板电脑", "手机",
        "智能手表", "手环", "遥控器", "读卡器", "u盘", "硬盘", "显示器", "投影仪", "麦克风", "headphones", "earbuds", "charger",
        "power bank", "keyboard", "speaker", "蓝牙音箱", "无线耳机", "耳麦", "充电线", "充电头", "摄像机", "相机", "自拍杆", "电子表", "计算器",
        "收音机", "对讲机", "电话机", "鼠标垫", "usb", "hdmi", "earphones", "cable", "mouse", "router", "webcam", "smartwatch"),
    "kitchenware": (
        "锅", "炒锅", "汤锅", "平底锅", "煎锅", "蒸锅", "奶锅", "碗", "盘", "碟", "杯", "保温杯", "水杯", "茶杯", "马克杯", "菜刀", "刀具", "砧板",
        "菜板", "筷", "勺", "餐具", "厨具", "保鲜盒", "饭盒", "餐盒", "茶具", "酒杯", "调料瓶", "锅铲", "焖烧杯", "wok", "pan", "cup", "mug",
        "tableware", "cookware", "砂锅", "高压锅", "压力锅", "铁锅", "不粘锅", "汤勺", "漏勺", "饭勺", "刀架", "锅盖", "蒸笼", "烤盘", "保温壶",
        "茶壶", "咖啡杯", "玻璃杯", "餐盘", "饭碗", "托盘", "调味罐", "油壶", "开瓶器", "削皮器", "擀面杖", "knife", "spatula", "plate", "bowl",
        "teapot", "thermos"),
    "sports": (
        "瑜伽垫", "瑜伽", "哑铃", "帐篷", "睡袋", "登山杖", "跳绳", "篮球", "足球", "羽毛球", "乒乓球", "网球", "球拍", "自行车", "骑行", "泳衣", "泳镜",
        "健身", "拉力器", "护膝", "钓鱼", "鱼竿", "露营", "滑雪", "yoga", "dumbbell", "tent", "bicycle", "fitness", "跑步机", "动感单车",
        "健身器材", "仰卧板", "杠铃", "壶铃", "弹力带", "阻力带", "护腕", "头盔", "轮滑鞋", "溜冰鞋", "钓竿", "渔具", "鱼线", "鱼钩", "飞盘", "高尔夫",
        "台球", "排球", "棒球", "游泳圈", "救生衣", "treadmill", "kettlebell", "helmet", "fishing"),
    "building_materials": (
        "瓷砖", "地板", "地砖", "涂料", "油漆", "水泥", "石膏板", "卫浴", "水龙头", "龙头", "花洒", "马桶", "洗手盆", "门窗", "玻璃", "管材", "水管",
        "墙纸", "壁纸", "防水卷材", "铝型材", "钢材", "石材", "大理石", "tile", "flooring", "faucet", "cement", "乳胶漆", "墙漆", "腻子",
        "美缝剂", "踢脚线", "吊顶", "铝扣板", "防盗门", "木门", "纱窗", "淋浴房", "浴室柜", "地漏", "角阀", "蹲便器", "坐便器", "智能马桶", "洗脸盆", "台盆",
        "浴缸", "插座", "开关面板", "电线", "电缆", "ppr管", "pvc管", "防水涂料", "保温板", "岩棉", "toilet", "sink", "shower",
        "wallpaper", "paint"),
    "machinery": (
        "机床", "泵", "水泵", "电机", "马达", "压缩机", "阀门", "轴承", "减速机", "发电机", "焊机", "电焊机", "切割机", "包装机", "注塑机", "叉车", "输送机",
        "风机", "空压机", "齿轮", "液压", "pump", "motor", "valve", "bearing", "compressor", "电动机", "变频器", "减速器", "齿轮箱",
        "数控", "车床", "铣床", "钻床", "磨床", "冲床", "折弯机", "激光切割机", "雕刻机", "打包机", "封口机", "灌装机", "贴标机", "粉碎机", "破碎机", "离心机",
        "真空泵", "潜水泵", "离心泵", "油泵", "气缸", "电磁阀", "链条", "联轴器", "起重机", "升降机", "柴油机", "生产线", "cnc", "lathe",
        "generator", "gearbox", "conveyor"),
    "chemicals_plastics": (
        "塑料", "胶水", "胶带", "胶", "薄膜", "树脂", "清洁剂", "洗衣液", "洗洁精", "消毒液", "塑料袋", "垃圾袋", "保鲜膜", "油墨", "颜料", "润滑油", "硅胶",
        "pvc", "resin", "detergent", "adhesive", "胶棒", "双面胶", "玻璃胶", "密封胶", "硅酮胶", "环氧树脂", "泡沫", "塑料瓶", "塑料桶",
        "编织袋", "包装袋", "快递袋", "气泡膜", "缠绕膜", "收缩膜", "塑料粒子", "色母", "溶剂", "酒精", "洗手液", "plastic", "glue", "tape",
        "film"),
    "food": (
        "茶叶", "大米", "面条", "面粉", "食用油", "酱油", "调味", "零食", "坚果", "蜂蜜", "饼干", "糖果", "巧克力", "咖啡豆", "饮料", "果汁", "罐头",
        "水果", "干果", "奶粉", "冻品", "海鲜", "茶", "rice", "tea", "snack", "honey", "coffee beans", "红枣", "枸杞", "核桃", "花生",
        "瓜子", "牛肉干", "辣条", "方便面", "挂面", "米粉", "螺蛳粉", "火锅底料", "调料", "白酒", "红酒", "啤酒", "葡萄酒", "矿泉水", "牛奶", "月饼", "粽子",
        "香肠", "火腿", "海参", "燕窝", "绿茶", "红茶", "普洱", "wine", "beer", "noodles", "cookies", "candy", "chocolate"),
}


@cache
def _pattern() -> tuple[re.Pattern, dict[str, str]]:
    owner = {word: code for code, words in CATEGORY_WORDS.items() for word in words}
    # longest first, so that at one position the regex prefers the longer word; overlaps are found below
    words = sorted(owner, key=lambda w: (-len(w), w))
    return re.compile("(?=(" + "|".join(re.escape(w) for w in words) + "))"), owner


def guess_category(text: str) -> str | None:
    """The category whose typical goods words the text holds most of: each word found counts its length (a word
    inside a longer one found there does not count: the 灯 of 台灯), summed per category; a tie goes to the
    category whose word ends last (the head of a Chinese compound comes last). None when it holds none."""
    if not text:
        return None
    pattern, owner = _pattern()
    lowered = text[:MAX_TEXT_CHARS].lower()
    totals: dict[str, int] = {}
    last_end: dict[str, int] = {}
    reach = 0  # the furthest end of the words found so far (found in order of their start)
    for found in pattern.finditer(lowered):
        word = found.group(1)  # at one position the longest word (the pattern tries the longest first)
        start, end = found.start(), found.start() + len(word)
        if word.isascii() and not _ascii_word_at(lowered, start, len(word)):
            continue  # "led" inside "sled", "pan" inside "japan": English words count whole only
        if end <= reach:
            continue  # inside a longer word found before it: 灯 of 台灯, 胶 of 玻璃胶
        reach = end
        code = owner[word]
        totals[code] = totals.get(code, 0) + _length(word)
        last_end[code] = end
    if not totals:
        return None
    return max(totals, key=lambda code: (totals[code], last_end[code]))


def _length(word: str) -> int:
    """A word's length for the longest-first rule: a Chinese character says as much as two Latin letters (大灯
    over led in LED汽车大灯)."""
    return sum(1 if ch.isascii() else 2 for ch in word)


def _ascii_word_at(text: str, start: int, length: int) -> bool:
    before = text[start - 1] if start > 0 else " "
    after = text[start + length] if start + length < len(text) else " "
    return not (before.isascii() and before.isalpha()) and not (after.isascii() and after.isalpha())
