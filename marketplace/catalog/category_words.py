"""Goods words typical of each product category: the category a text's goods belong to.

Matching infers a request's category from the products its words find best (``matching.profiles``). Those
products may share only its modifiers (北欧, 家用, 大容量 of 吊灯北欧 or 鞋柜家用大容量), and on a young catalog its
goods may have no product at all (科技布沙发 when nobody sells sofas). These words say which trade a title belongs
to — the head nouns of the goods each category covers (沙发, 刹车片, 电钻, 吊灯 …), in Chinese and some in English —
and decide over the products' vote when a request's title holds one.

``guess_category(text)``: the category most of the text's goods words belong to, each word counting its length
(a Chinese character as two Latin letters; a word inside a longer one found there not at all: the 灯 of 台灯) —
汽车LED大灯 is auto parts (汽车, 大灯) though LED is a lighting word, 乳胶床垫 furniture (床垫 outweighs 胶); a tie goes
to the category named first: a listing title names its goods before the places, furniture and devices they are
for (保鲜膜…微波炉专用, 凉席…空调软席, 护眼台灯…儿童书桌宿舍, 腰包…手机包). Three readings of compounds: a word right
before another category's word that ends a run of Chinese characters is its modifier (轴承合页 5寸 is a hinge,
书桌台灯 a lamp); words right before 机 or 器 name what a machine makes (米酒纳豆机 is no food); scenes holding a
goods character (桌面, 床上) count for nothing. A word belongs to one category only (tested).
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
        "vacuum cleaner", "shaver",
        "榨汁杯", "果汁机", "原汁机", "电动打蛋器", "厨师机", "和面机", "电烤炉", "电烤盘", "电炸锅", "电煮锅", "电热锅", "电炒锅", "料理锅", "多功能锅", "电蒸箱",
        "蒸烤箱", "温奶器", "暖奶器", "辅食机", "理发器", "电推剪", "脱毛仪", "拖地机", "洗地机", "蒸汽拖把", "电动拖把", "熨斗", "干衣机", "烘干机", "电暖气",
        "循环扇", "塔扇", "冷风扇", "空调扇", "除湿器", "香薰机", "磨豆机", "饮水机", "电陶炉", "电热杯", "电热饭盒", "加热饭盒", "暖脚宝", "泡脚桶", "按摩椅",
        "筋膜枪", "煎蛋器", "juicer", "microwave", "dehumidifier"),
    "textiles": (
        "t恤", "衬衫", "外套", "夹克", "羽绒服", "棉服", "卫衣", "毛衣", "针织衫", "裤", "牛仔裤", "裙", "连衣裙", "袜", "内衣", "睡衣", "运动服",
        "床单", "被套", "四件套", "被子", "枕头", "枕套", "毛巾", "浴巾", "窗帘", "围巾", "帽子", "手套", "面料", "布料", "纱线", "童装", "校服",
        "工作服", "西装", "马甲", "背心", "打底衫", "polo衫", "羽绒", "家纺", "t-shirt", "shirt", "jacket", "towel", "bedding", "衬衣",
        "开衫", "卫裤", "短裤", "打底裤", "睡裙", "家居服", "内裤", "文胸", "披肩", "丝巾", "领带", "浴袍", "被芯", "床笠", "床罩", "凉席", "毛毯",
        "毯子", "抱枕", "靠垫", "桌布", "地毯", "夏凉被", "空调被", "蚕丝被", "羽绒被", "婴儿服", "连体衣", "hoodie", "sweater", "jeans",
        "dress", "socks", "pajamas", "blanket", "pillow", "curtain",
        "盖毯", "午睡毯", "毯", "床上用品", "床品", "短袖", "长袖", "体恤", "半袖", "羊毛衫", "羊绒衫", "大衣", "风衣", "皮衣", "棉衣", "棉袄", "汉服",
        "旗袍", "秋衣", "秋裤", "丝袜", "围裙", "头巾", "帽", "蚊帐", "枕芯", "枕", "凉被", "毛巾被", "面巾", "方巾", "沙发套", "沙发垫", "椅垫", "桌旗",
        "门帘", "爬服", "哈衣", "围兜", "口水巾", "coat", "scarf", "hat"),
    "footwear": (
        "鞋", "运动鞋", "跑步鞋", "皮鞋", "凉鞋", "拖鞋", "靴", "雪地靴", "帆布鞋", "板鞋", "童鞋", "鞋垫", "高跟鞋", "休闲鞋", "雨靴", "sneaker",
        "shoes", "boots", "slippers", "球鞋", "老爹鞋", "马丁靴", "短靴", "棉鞋", "洞洞鞋", "人字拖", "乐福鞋", "小白鞋", "布鞋", "劳保鞋",
        "安全鞋", "鞋子", "sandals", "loafers", "sneakers",
        "单鞋", "妈妈鞋", "豆豆鞋", "雨鞋", "水鞋", "网鞋", "溯溪鞋"),
    "hardware": (
        "扳手", "钳", "螺丝刀", "电钻", "冲击钻", "锤", "卷尺", "钢卷尺", "合页", "铰链", "挂锁", "门锁", "螺丝", "螺栓", "螺母", "锯", "锉刀", "修枝剪",
        "工具箱", "工具套装", "角磨机", "电批", "扎带", "水平仪", "套筒", "钻头", "批头", "拉手", "门吸", "五金", "wrench", "pliers",
        "screwdriver", "drill", "hinge", "尖嘴钳", "老虎钳", "斜口钳", "钳子", "起子", "螺丝批", "内六角", "六角扳手", "活动扳手", "棘轮", "电锤",
        "电镐", "锂电钻", "手电钻", "磨光机", "电圆锯", "曲线锯", "热风枪", "热熔胶枪", "胶枪", "膨胀螺丝", "螺钉", "铆钉", "钉子", "电烙铁", "万用表", "测电笔",
        "游标卡尺", "卡尺", "美工刀", "防盗锁", "锁芯", "门把手", "滑轨", "挂钩", "hammer", "saw", "screw", "bolt", "padlock",
        "tape measure",
        "电动螺丝刀", "手枪钻", "打磨机", "抛光机", "砂轮", "砂纸", "钢丝钳", "管钳", "工具包", "梯子", "人字梯", "折叠梯", "伸缩梯", "门阻", "地吸", "园林工具",
        "园艺剪", "枝剪", "高枝剪", "锄头", "铁锹", "焊锡", "激光水平仪", "测距仪", "角尺", "指纹锁", "粘钩", "ladder", "sandpaper"),
    "furniture": (
        "沙发", "椅", "凳", "桌", "餐桌", "书桌", "茶几", "柜", "衣柜", "书柜", "鞋柜", "床垫", "床头柜", "书架", "置物架", "屏风", "躺椅", "转椅",
        "办公椅", "梳妆台", "电视柜", "双人床", "单人床", "实木床", "儿童床", "sofa", "chair", "table", "mattress", "wardrobe",
        "bookshelf", "餐椅", "椅子", "凳子", "沙发床", "榻榻米", "折叠床", "上下床", "高低床", "床架", "鞋架", "边几", "角几", "玄关柜", "斗柜",
        "餐边柜", "储物柜", "收纳柜", "文件柜", "办公桌", "电脑桌", "写字桌", "学习桌", "会议桌", "吧台", "吧椅", "摇椅", "花架", "desk", "stool",
        "bed frame", "cabinet", "dresser", "nightstand", "couch", "recliner",
        "床", "电脑椅", "饭桌", "地柜", "收纳架", "衣帽架", "豆袋", "席梦思", "化妆台", "秋千", "吊椅", "家具", "furniture"),
    "toys": (
        "玩具", "积木", "拼图", "公仔", "毛绒", "娃娃", "遥控车", "遥控赛车", "模型", "益智", "过家家", "沙滩玩具", "滑板车", "彩泥", "拼插", "魔方", "风筝",
        "水枪", "玩偶", "圣诞装饰", "圣诞树", "toy", "puzzle", "plush", "building blocks", "乐高", "磁力片", "泡泡机", "泡泡枪", "扭扭车",
        "摇摇马", "溜溜球", "陀螺", "恐龙", "芭比", "手办", "盲盒", "圣诞", "万圣节", "节日装饰", "气球", "派对", "布娃娃", "doll", "lego", "kite",
        "dinosaur", "christmas",
        "遥控汽车", "玩具车", "遥控飞机", "玩具枪", "拼装", "早教", "手偶", "橡皮泥", "粘土", "黏土", "滑梯", "学步车", "摇铃", "玩具熊"),
    "lighting": (
        "灯", "灯泡", "灯管", "灯带", "吸顶灯", "台灯", "射灯", "筒灯", "投光灯", "泛光灯", "壁灯", "路灯", "吊灯", "落地灯", "护眼灯", "夜灯", "面板灯",
        "球泡灯", "灯具", "照明", "led", "lamp", "bulb", "floodlight", "小夜灯", "应急灯", "手电筒", "头灯", "灯串", "彩灯", "霓虹灯", "轨道灯",
        "草坪灯", "庭院灯", "太阳能灯", "工矿灯", "三防灯", "灯饰", "光源", "灯罩", "镜前灯", "flashlight", "chandelier", "downlight",
        "spotlight", "led strip", "light bulb",
        "天花灯", "氛围灯", "灯条", "探照灯", "节能灯"),
    "auto_parts": (
        "汽车", "车载", "刹车片", "刹车", "雨刮", "雨刷", "机滤", "机油滤", "空滤", "滤清器", "脚垫", "轮胎", "减震器", "避震器", "火花塞", "大灯", "前照灯",
        "车灯", "尾灯", "雾灯", "座套", "方向盘套", "后视镜", "保险杠", "排气管", "汽配", "行车记录仪", "点烟器", "车衣", "轮毂", "brake pad", "wiper",
        "spark plug", "空调滤芯", "机油滤芯", "刹车皮", "刹车盘", "离合器", "雨刮器", "雨刷器", "雨刷片", "机油", "防冻液", "玻璃水", "挡风玻璃", "遮阳挡",
        "头枕", "车载支架", "刹车灯", "转向灯", "日行灯", "氙气灯", "电瓶", "发动机", "变速箱", "水箱", "消声器", "摆臂", "正时皮带", "car", "tire",
        "tyre", "headlight", "shock absorber",
        "座椅套", "车用"),
    "luggage": (
        "箱包", "行李箱", "拉杆箱", "旅行箱", "背包", "双肩包", "书包", "手提包", "挎包", "钱包", "腰包", "化妆包", "公文包", "登机箱", "旅行袋",
        "luggage", "suitcase", "backpack", "handbag", "wallet", "密码箱", "旅行包", "行李袋", "行李包", "电脑包", "笔记本包", "内胆包",
        "斜挎包", "单肩包", "托特包", "帆布包", "钱夹", "卡包", "零钱包", "手拿包", "胸包", "洗漱包", "duffel", "tote", "briefcase", "purse",
        "女包", "男包", "包包", "手机包", "收纳包", "收纳袋", "整理袋", "整理包", "分装袋", "健身包", "运动包", "皮夹", "名片夹", "证件包", "证件套", "护照包",
        "卡套", "钥匙包", "相机包", "摄影包", "bag"),
    "electronics": (
        "耳机", "蓝牙耳机", "充电器", "数据线", "音箱", "音响", "手机壳", "移动电源", "充电宝", "键盘", "鼠标", "路由器", "摄像头", "平板电脑", "手机",
        "智能手表", "手环", "遥控器", "读卡器", "u盘", "硬盘", "显示器", "投影仪", "麦克风", "headphones", "earbuds", "charger",
        "power bank", "keyboard", "speaker", "蓝牙音箱", "无线耳机", "耳麦", "充电线", "充电头", "摄像机", "相机", "自拍杆", "电子表", "计算器",
        "收音机", "对讲机", "电话机", "鼠标垫", "usb", "hdmi", "earphones", "cable", "mouse", "router", "webcam", "smartwatch",
        "钢化膜", "手机膜", "贴膜", "快充头", "笔记本电脑", "电脑", "手写板", "监控", "电池", "充电电池", "适配器", "转换器", "转接头", "网线", "交换机", "机顶盒",
        "打印机", "扫描仪", "laptop", "tablet", "battery", "printer"),
    "kitchenware": (
        "锅", "炒锅", "汤锅", "平底锅", "煎锅", "蒸锅", "奶锅", "碗", "盘", "碟", "杯", "保温杯", "水杯", "茶杯", "马克杯", "菜刀", "刀具", "砧板",
        "菜板", "筷", "勺", "餐具", "厨具", "保鲜盒", "饭盒", "餐盒", "茶具", "酒杯", "调料瓶", "锅铲", "焖烧杯", "wok", "pan", "cup", "mug",
        "tableware", "cookware", "砂锅", "高压锅", "压力锅", "铁锅", "不粘锅", "汤勺", "漏勺", "饭勺", "刀架", "锅盖", "蒸笼", "烤盘", "保温壶",
        "茶壶", "咖啡杯", "玻璃杯", "餐盘", "饭碗", "托盘", "调味罐", "油壶", "开瓶器", "削皮器", "擀面杖", "knife", "spatula", "plate", "bowl",
        "teapot", "thermos",
        "随行杯", "吸管杯", "保温饭盒", "焖烧壶", "炒菜锅", "锅具", "碗碟", "密封罐", "储物罐", "沥水篮", "洗菜篮", "烧烤架", "烤架", "水壶", "冷水壶", "茶盘",
        "公道杯", "咖啡壶", "手冲壶", "量杯", "打蛋器", "厨房秤", "kitchenware"),
    "sports": (
        "瑜伽垫", "瑜伽", "哑铃", "帐篷", "睡袋", "登山杖", "跳绳", "篮球", "足球", "羽毛球", "乒乓球", "网球", "球拍", "自行车", "骑行", "泳衣", "泳镜",
        "健身", "拉力器", "护膝", "钓鱼", "鱼竿", "露营", "滑雪", "yoga", "dumbbell", "tent", "bicycle", "fitness", "跑步机", "动感单车",
        "健身器材", "仰卧板", "杠铃", "壶铃", "弹力带", "阻力带", "护腕", "头盔", "轮滑鞋", "溜冰鞋", "钓竿", "渔具", "鱼线", "鱼钩", "飞盘", "高尔夫",
        "台球", "排球", "棒球", "游泳圈", "救生衣", "treadmill", "kettlebell", "helmet", "fishing",
        "健身垫", "天幕", "野营", "手竿", "台钓", "路亚", "健腹轮", "单杠", "拉力绳", "护具", "泳帽", "泳裤", "滑板", "平衡车", "山地车", "公路车", "骑行服",
        "冲锋衣", "登山鞋", "sports"),
    "building_materials": (
        "瓷砖", "地板", "地砖", "涂料", "油漆", "水泥", "石膏板", "卫浴", "水龙头", "龙头", "花洒", "马桶", "洗手盆", "门窗", "玻璃", "管材", "水管",
        "墙纸", "壁纸", "防水卷材", "铝型材", "钢材", "石材", "大理石", "tile", "flooring", "faucet", "cement", "乳胶漆", "墙漆", "腻子",
        "美缝剂", "踢脚线", "吊顶", "铝扣板", "防盗门", "木门", "纱窗", "淋浴房", "浴室柜", "地漏", "角阀", "蹲便器", "坐便器", "智能马桶", "洗脸盆", "台盆",
        "浴缸", "插座", "开关面板", "电线", "电缆", "ppr管", "pvc管", "防水涂料", "保温板", "岩棉", "toilet", "sink", "shower",
        "wallpaper", "paint",
        "洗菜盆", "水槽", "淋浴", "喷头", "墙贴", "墙布", "浴霸", "暖气片", "瓷砖胶"),
    "machinery": (
        "机床", "泵", "水泵", "电机", "马达", "压缩机", "阀门", "轴承", "减速机", "发电机", "焊机", "电焊机", "切割机", "包装机", "注塑机", "叉车", "输送机",
        "风机", "空压机", "齿轮", "液压", "pump", "motor", "valve", "bearing", "compressor", "电动机", "变频器", "减速器", "齿轮箱",
        "数控", "车床", "铣床", "钻床", "磨床", "冲床", "折弯机", "激光切割机", "雕刻机", "打包机", "封口机", "灌装机", "贴标机", "粉碎机", "破碎机", "离心机",
        "真空泵", "潜水泵", "离心泵", "油泵", "气缸", "电磁阀", "链条", "联轴器", "起重机", "升降机", "柴油机", "生产线", "cnc", "lathe",
        "generator", "gearbox", "conveyor",
        "捆扎机", "封箱机", "增压泵", "抽水泵"),
    "chemicals_plastics": (
        "塑料", "胶水", "胶带", "胶", "薄膜", "树脂", "清洁剂", "洗衣液", "洗洁精", "消毒液", "塑料袋", "垃圾袋", "保鲜膜", "油墨", "颜料", "润滑油", "硅胶",
        "pvc", "resin", "detergent", "adhesive", "胶棒", "双面胶", "玻璃胶", "密封胶", "硅酮胶", "环氧树脂", "泡沫", "塑料瓶", "塑料桶",
        "编织袋", "包装袋", "快递袋", "气泡膜", "缠绕膜", "收缩膜", "塑料粒子", "色母", "溶剂", "酒精", "洗手液", "plastic", "glue", "tape",
        "film",
        "洗衣粉", "洗衣凝珠", "柔顺剂", "漂白剂", "除垢剂", "洁厕灵", "保鲜袋", "自封袋", "密封袋"),
    "food": (
        "茶叶", "大米", "面条", "面粉", "食用油", "酱油", "调味", "零食", "坚果", "蜂蜜", "饼干", "糖果", "巧克力", "咖啡豆", "饮料", "果汁", "罐头",
        "水果", "干果", "奶粉", "冻品", "海鲜", "茶", "rice", "tea", "snack", "honey", "coffee beans", "红枣", "枸杞", "核桃", "花生",
        "瓜子", "牛肉干", "辣条", "方便面", "挂面", "米粉", "螺蛳粉", "火锅底料", "调料", "白酒", "红酒", "啤酒", "葡萄酒", "矿泉水", "牛奶", "月饼", "粽子",
        "香肠", "火腿", "海参", "燕窝", "绿茶", "红茶", "普洱", "wine", "beer", "noodles", "cookies", "candy", "chocolate",
        "普洱茶", "熟茶", "茶饼", "灰枣", "龙须面", "速食", "自热火锅", "辣酱", "香菇", "木耳", "腊肉", "腊肠", "黄酒", "米酒", "纳豆", "酸奶", "奶酪",
        "面包"),
}


#: where goods are used, holding a goods character (the 桌 of 桌面, the 床 of 床上): found like a word and counting for
#: no category, so that 桌面小风扇…宿舍床上 is not furniture
SCENES = ("桌面", "桌上", "床上", "床头", "床边", "床前", "车内", "车上")
#: a machine's last character: a goods word right before it (no other word starting there) names what the machine
#: makes or works on, not the goods (米酒纳豆机, 冰淇淋机, 茶叶机), unless it is itself a machine's word (空调机)
MACHINE_HEADS = ("机", "器")
_MACHINE_CATEGORIES = frozenset({"small_appliances", "electronics", "machinery"})


@cache
def _pattern() -> tuple[re.Pattern, dict[str, str | None]]:
    owner: dict[str, str | None] = {word: code for code, words in CATEGORY_WORDS.items() for word in words}
    owner.update(dict.fromkeys(SCENES))
    # longest first, so that at one position the regex prefers the longer word; overlaps are found below
    words = sorted(owner, key=lambda w: (-len(w), w))
    return re.compile("(?=(" + "|".join(re.escape(w) for w in words) + "))"), owner


def guess_category(text: str) -> str | None:
    """The category whose typical goods words the text holds most of: each word found counts its length (a word
    inside a longer one found there does not count: the 灯 of 台灯), summed per category; a word directly before
    another category's word that ends a run of Chinese characters modifies it and does not count (轴承合页 5寸,
    书桌台灯); a tie goes to the category named first (a title's goods come before what they are for). None when
    it holds none."""
    if not text:
        return None
    pattern, owner = _pattern()
    lowered = text[:MAX_TEXT_CHARS].lower()
    words: list[tuple[int, int, str, str]] = []  # (start, end, word, category) of the words that count
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
        if code is None:
            continue  # a scene: 桌面, 床上
        words.append((start, end, word, code))
    made = None  # where the words a machine makes begin (米酒纳豆机: at 米酒), read from the last word back
    for number in range(len(words) - 1, -1, -1):
        start, end, _word, code = words[number]
        if code not in _MACHINE_CATEGORIES and (
                end == made or lowered[end:end + 1] in MACHINE_HEADS and not pattern.match(lowered, end)):
            made = start
            del words[number]  # what a machine makes: the 米酒 and 纳豆 of 米酒纳豆机
    totals: dict[str, int] = {}
    first_start: dict[str, int] = {}
    for number, (start, end, word, code) in enumerate(words):
        if number + 1 < len(words):
            head_start, head_end, _head, head_code = words[number + 1]
            if head_start == end and head_code != code and not _cjk(lowered[head_end:head_end + 1]):
                continue  # the modifier of the compound's head: the 轴承 of 轴承合页
        totals[code] = totals.get(code, 0) + _length(word)
        first_start.setdefault(code, start)
    if not totals:
        return None
    return max(totals, key=lambda code: (totals[code], -first_start[code]))


def _cjk(char: str) -> bool:
    return bool(char) and "\u4e00" <= char <= "\u9fff"


def _length(word: str) -> int:
    """A word's length for the longest-first rule: a Chinese character says as much as two Latin letters (大灯
    over led in LED汽车大灯)."""
    return sum(1 if ch.isascii() else 2 for ch in word)


def _ascii_word_at(text: str, start: int, length: int) -> bool:
    before = text[start - 1] if start > 0 else " "
    after = text[start + length] if start + length < len(text) else " "
    return not (before.isascii() and before.isalpha()) and not (after.isascii() and after.isalpha())
