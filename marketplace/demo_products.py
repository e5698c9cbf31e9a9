"""Demo products: realistic export goods for the demo exporters (used by ``flask demo load`` and bench/).

Owns: the kinds of goods each demo industry makes (Chinese and English titles, real HS
subheadings, model-number patterns, specifications, wholesale price ranges in yuan, MOQs, the
GB standard that applies, whether CCC is compulsory, the certificates kept from export days)
and turning them into ``ProductInput`` values drawn from a seeded ``random.Random``. Same seed,
same products. Pure data: writes nothing (``demo.load_demo_data`` adds the products).
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date

from marketplace.catalog.models import CccStatus, ProductStatus, StockLocation
from marketplace.catalog.rows import CertificationInput, PriceTierInput, ProductInput

#: share of products whose exporter never wrote a Chinese title (English only)
ENGLISH_ONLY_SHARE = 0.05
#: product states: mostly published, some drafts, a few archived
STATUS_WEIGHTS = ((ProductStatus.PUBLISHED, 85), (ProductStatus.DRAFT, 12), (ProductStatus.ARCHIVED, 3))

#: demo industry (demo.INDUSTRIES) → catalog category code
INDUSTRY_CATEGORY = {
    "小家电": "small_appliances", "纺织服装": "textiles", "五金工具": "hardware", "家具": "furniture",
    "玩具": "toys", "LED照明": "lighting", "汽车配件": "auto_parts", "箱包": "luggage",
}
MARKET_NAMES_ZH = {"US": "美国", "DE": "德国", "FR": "法国", "NL": "荷兰", "IT": "意大利", "ES": "西班牙",
                   "PL": "波兰", "CA": "加拿大", "MX": "墨西哥", "GB": "英国", "JP": "日本", "AU": "澳大利亚"}
LOCATION_ZH = {StockLocation.PORT: "港口", StockLocation.FACTORY: "工厂", StockLocation.BONDED: "保税仓"}
MARKET_NAMES_EN = {"US": "US", "DE": "German", "FR": "French", "NL": "Dutch", "IT": "Italian", "ES": "Spanish",
                   "PL": "Polish", "CA": "Canadian", "MX": "Mexican", "GB": "UK", "JP": "Japanese",
                   "AU": "Australian"}


@dataclass(frozen=True)
class ProductKind:
    """A kind of export product and what a listing of it looks like."""

    name: str  # as in demo.INDUSTRIES[...]["products"]
    sku: str  # SKU prefix
    titles_zh: tuple[str, ...]  # {0} {1} … are the chosen values of the first specifications
    titles_en: tuple[str, ...]
    hs: str  # a real HS 2022 subheading
    unit: str
    models: tuple[str, ...]  # {n2} {n3} {n4}: that many digits
    #: (key, options); an option "中文|English" gives the English title its own words
    specs: tuple[tuple[str, tuple[str, ...]], ...]
    price: tuple[float, float]  # unit price in yuan at the MOQ, low and high
    moq: tuple[int, ...]
    ccc: bool  # China Compulsory Certification needed to sell it in China
    gb: str | None  # the national standard it must meet
    certs: tuple[str, ...]  # certificates from the export days
    features: tuple[str, ...]  # selling points for the Chinese description


def _k(*args) -> ProductKind:
    return ProductKind(*args)


KINDS: dict[str, tuple[ProductKind, ...]] = {
    "小家电": (
        _k("电饭煲", "RC", ("智能电饭煲 {0} 预约定时", "{0}家用电饭锅 {1}", "IH电磁加热电饭煲 {0}"),
           ("Smart rice cooker {0} with timer", "Rice cooker {0} {1}", "IH induction rice cooker {0}"),
           "851660", "台", ("MB-FB{n2}", "RC-{n4}", "FD{n2}A"),
           (("容量", ("2L", "3L", "4L", "5L")), ("功率", ("500W", "700W", "860W", "1000W")),
            ("内胆", ("不粘涂层|non-stick", "陶晶内胆|ceramic", "304不锈钢|304 stainless")), ("电压", ("220V~ 50Hz",))),
           (58, 260), (100, 200, 300, 500), True, "GB 4706.19-2008", ("CE", "UL", "ROHS"),
           ("24小时预约", "不粘内胆易清洗", "多种烹饪模式", "保温功能")),
        _k("空气炸锅", "AF", ("{0}大容量空气炸锅 可视窗", "无油空气炸锅 {0} {1}", "家用多功能空气炸锅 {0}"),
           ("Air fryer {0} with window", "Oil-free air fryer {0} {1}", "Multi-function air fryer {0}"),
           "851660", "台", ("KZ-D{n4}", "AF-{n3}", "KL{n2}-J{n2}"),
           (("容量", ("3.5L", "4.5L", "5L", "6L", "8L")), ("功率", ("1300W", "1500W", "1700W")),
            ("控制方式", ("触控屏|touch screen", "旋钮|knobs"))),
           (89, 320), (100, 200, 500), True, "GB 4706.14-2008", ("CE", "ETL", "FCC", "ROHS"),
           ("360°热风循环", "可视窗口", "免翻面", "炸篮可拆洗")),
        _k("电热水壶", "KT", ("304不锈钢电热水壶 {0}", "恒温电水壶 {0} {1}", "玻璃电热水壶 {0}"),
           ("Stainless steel electric kettle {0}", "Temperature-control kettle {0} {1}", "Glass kettle {0}"),
           "851679", "台", ("SH-{n4}", "ZDH-{n3}", "K{n2}-S"),
           (("容量", ("1.5L", "1.7L", "1.8L")), ("功率", ("1500W", "1800W", "2200W")), ("材质", ("304不锈钢|304 stainless", "高硼硅玻璃|borosilicate glass"))),
           (26, 95), (300, 500, 1000), True, "GB 4706.19-2008", ("CE", "GS", "ROHS"),
           ("防干烧", "自动断电", "一体无缝内胆")),
        _k("吹风机", "HD", ("负离子吹风机 {0}", "大功率家用电吹风 {0}", "高速吹风机 {0} {1}"),
           ("Ionic hair dryer {0}", "Hair dryer {0}", "High-speed hair dryer {0} {1}"),
           "851631", "台", ("HD-{n4}", "RCY-{n3}", "FH{n3}"),
           (("功率", ("1200W", "1600W", "1800W", "2000W")), ("转速", ("11万转|110,000 rpm", "13万转|130,000 rpm")), ("档位", ("3档|3 speeds", "6档|6 speeds"))),
           (35, 180), (200, 500, 1000), True, "GB 4706.15-2008", ("CE", "UL", "ROHS"),
           ("负离子护发", "冷热风切换", "静音设计")),
        _k("破壁料理机", "BL", ("加热破壁料理机 {0}", "家用破壁机 {0} {1}"),
           ("Heating blender {0}", "High-speed blender {0} {1}"),
           "850940", "台", ("PB-{n3}", "JYL-Y{n2}", "BL-{n4}"),
           (("容量", ("1.2L", "1.5L", "1.75L")), ("功率", ("800W", "1200W", "1500W"))),
           (120, 480), (100, 200), True, "GB 4706.30-2008", ("CE", "ETL"),
           ("8叶304刀头", "预约加热", "一键清洗")),
        _k("电暖器", "HT", ("家用取暖器 {0}", "油汀电暖器 {0} {1}", "暖风机 {0}"),
           ("Space heater {0}", "Oil-filled radiator {0} {1}", "Fan heater {0}"),
           "851629", "台", ("NSB-{n3}", "HT-{n4}", "DS{n4}"),
           (("功率", ("1000W", "2000W", "2200W")), ("片数", ("9片|9 fins", "11片|11 fins", "13片|13 fins"))),
           (80, 360), (100, 300), True, "GB 4706.23-2007", ("CE", "GS"),
           ("倾倒断电", "过热保护", "三档调温")),
        _k("加湿器", "HU", ("超声波加湿器 {0}", "大雾量加湿器 {0} {1}"),
           ("Ultrasonic humidifier {0}", "Cool mist humidifier {0} {1}"),
           "850980", "台", ("JS-{n3}", "HU-{n2}A", "SC-{n4}"),
           (("容量", ("3L", "4L", "5L")), ("雾量", ("300ml/h", "350ml/h", "400ml/h"))),
           (35, 160), (200, 500, 1000), True, "GB 4706.48-2009", ("CE", "FCC", "ROHS"),
           ("上加水设计", "静音运行", "缺水自动断电")),
        _k("空调", "AC", ("{0}挂壁式空调 {1}", "变频冷暖空调 {0}"),
           ("Wall-mounted air conditioner {0} {1}", "Inverter heat-pump air conditioner {0}"),
           "841512", "台", ("KFR-26GW/{n2}", "KFR-35GW/{n2}", "KFR-35GW/BP3DN8Y", "KFR-50GW/{n2}"),
           (("匹数", ("1匹|1 HP", "1.5匹|1.5 HP", "2匹|2 HP")), ("能效", ("一级能效|grade 1 efficiency", "三级能效|grade 3 efficiency")), ("制冷量", ("2600W", "3500W", "5000W"))),
           (1180, 2600), (50, 100), True, "GB 4706.32-2012", ("CE", "ETL"),
           ("变频节能", "冷暖两用", "自清洁")),
    ),
    "纺织服装": (
        _k("针织T恤", "TS", ("纯棉圆领短袖T恤 {0}", "男士纯棉T恤 {0} {1}"),
           ("Cotton crew-neck T-shirt {0}", "Men's cotton T-shirt {0} {1}"),
           "610910", "件", ("T{n4}", "TS-{n3}"),
           (("克重", ("160g", "180g", "200g", "220g")), ("面料", ("100%棉|100% cotton", "精梳棉|combed cotton")), ("尺码", ("S-XXL",))),
           (9, 35), (500, 1000, 3000), False, "GB 18401-2010", ("OEKO_TEX", "BSCI"),
           ("亲肤透气", "不易变形", "支持定制印花")),
        _k("羽绒服", "DJ", ("男士连帽羽绒服 {0}", "轻薄羽绒服 {0}"),
           ("Men's hooded down jacket {0}", "Lightweight down jacket {0}"),
           "620140", "件", ("YR-{n4}", "DJ{n3}"),
           (("充绒量", ("90%白鸭绒|90% white duck down", "90%白鹅绒|90% white goose down", "80%白鸭绒|80% white duck down")), ("尺码", ("M-4XL",))),
           (120, 420), (200, 300, 500), False, "GB/T 14272-2021", ("OEKO_TEX", "BSCI"),
           ("防风防泼水", "可拆卸帽", "轻盈保暖")),
        _k("牛仔裤", "JN", ("男士直筒牛仔裤 {0}", "弹力修身牛仔裤 {0}"),
           ("Men's straight-leg jeans {0}", "Stretch slim-fit jeans {0}"),
           "620342", "件", ("JN-{n4}", "D{n3}"),
           (("面料", ("98%棉2%氨纶|98% cotton 2% spandex", "100%棉|100% cotton")), ("尺码", ("28-38",))),
           (35, 110), (300, 500, 1000), False, "GB 18401-2010", ("BSCI",),
           ("水洗不褪色", "立体剪裁")),
        _k("运动服", "SP", ("运动套装 {0}", "速干运动服两件套 {0}"),
           ("Tracksuit {0}", "Quick-dry sportswear set {0}"),
           "611212", "套", ("SP-{n4}", "YD{n3}"),
           (("面料", ("聚酯纤维|polyester", "锦纶氨纶|nylon-spandex")), ("尺码", ("S-3XL",))),
           (45, 160), (200, 500), False, "GB 18401-2010", ("OEKO_TEX", "BSCI"),
           ("速干排汗", "四面弹力")),
        _k("床上用品", "BD", ("纯棉四件套 {0}", "全棉床单被套四件套 {0}"),
           ("Cotton bedding set of four {0}", "Cotton duvet cover set {0}"),
           "630221", "套", ("BD-{n4}", "JF{n3}"),
           (("规格", ("1.5m床|for 1.5 m beds", "1.8m床|for 1.8 m beds", "2.0m床|for 2.0 m beds")), ("支数", ("40支", "60支"))),
           (65, 260), (100, 200, 500), False, "GB 18401-2010", ("OEKO_TEX",),
           ("活性印染", "不起球", "A类婴幼儿标准")),
        _k("毛巾", "TW", ("纯棉毛巾 {0}", "酒店毛巾 {0} {1}"),
           ("Cotton towel {0}", "Hotel towel {0} {1}"),
           "630260", "件", ("MJ-{n3}", "TW{n4}"),
           (("尺寸", ("34×76cm", "35×75cm", "70×140cm")), ("克重", ("100g", "120g", "400g"))),
           (6.5, 25), (1000, 2000, 5000), False, "GB/T 22864-2009", ("OEKO_TEX", "BSCI"),
           ("强吸水", "柔软不掉毛")),
    ),
    "五金工具": (
        _k("电钻", "DR", ("锂电充电电钻 {0}", "冲击电钻 {0} {1}"),
           ("Cordless drill {0}", "Impact drill {0} {1}"),
           "846721", "台", ("DR-{n4}", "Z1J-{n2}", "ZC{n3}"),
           (("电压", ("12V", "18V", "21V")), ("扭矩", ("35N·m", "45N·m", "60N·m"))),
           (85, 360), (100, 200, 500), True, "GB/T 3883.1-2014", ("CE", "GS", "ETL"),
           ("无刷电机", "双速调节", "含两块电池")),
        _k("扳手套装", "WR", ("铬钒钢两用扳手套装 {0}", "棘轮扳手套装 {0}"),
           ("Chrome vanadium combination spanner set {0}", "Ratchet spanner set {0}"),
           "820411", "套", ("WR-{n3}", "BS{n4}"),
           (("件数", ("8件套|8 pcs", "12件套|12 pcs", "14件套|14 pcs")), ("材质", ("铬钒钢",))),
           (25, 180), (200, 500, 1000), False, "GB/T 4388-2008", ("GS", "ISO9001"),
           ("热处理高硬度", "镜面抛光")),
        _k("不锈钢合页", "HG", ("304不锈钢合页 {0}", "静音轴承合页 {0}"),
           ("304 stainless steel hinge {0}", "Ball-bearing hinge {0}"),
           "830210", "个", ("HG-{n3}", "H{n4}"),
           (("尺寸", ("3寸|3 inch", "4寸|4 inch", "5寸|5 inch")), ("厚度", ("2.5mm", "3mm"))),
           (2.5, 12), (1000, 3000, 5000), False, None, ("ISO9001",),
           ("防锈耐腐蚀", "开合顺滑")),
        _k("园林工具", "GT", ("园艺修枝剪 {0}", "SK5修枝剪 {0}"),
           ("Garden pruning shears {0}", "SK5 pruner {0}"),
           "820150", "把", ("GT-{n3}", "YL{n4}"),
           (("长度", ("20cm", "21cm", "23cm")), ("刀片", ("SK5钢|SK5 steel", "65锰钢|65Mn steel"))),
           (12, 60), (500, 1000, 2000), False, None, ("GS", "BSCI"),
           ("省力设计", "安全锁扣")),
        _k("卷尺", "TM", ("钢卷尺 {0}", "自锁钢卷尺 {0} {1}"),
           ("Steel tape measure {0}", "Self-locking tape measure {0} {1}"),
           "901780", "个", ("TM-{n3}", "JC{n4}"),
           (("长度", ("3m", "5m", "7.5m", "10m")), ("尺带宽度", ("16mm", "19mm", "25mm"))),
           (3.5, 18), (1000, 2000, 5000), False, "QB/T 2443-2011", ("CE",),
           ("二级精度", "防摔外壳")),
        _k("手动工具套装", "TK", ("家用五金工具箱 {0}", "多功能手动工具套装 {0}"),
           ("Household tool kit {0}", "Hand tool set {0}"),
           "820600", "套", ("TK-{n3}", "GJ{n4}"),
           (("件数", ("46件套|46 pcs", "82件套|82 pcs", "108件套|108 pcs")),),
           (60, 380), (100, 200, 500), False, None, ("GS", "CE", "BSCI"),
           ("收纳箱包装", "常用工具齐全")),
    ),
    "家具": (
        _k("实木餐桌", "DT", ("北欧实木餐桌 {0}", "橡木餐桌 {0} {1}"),
           ("Solid wood dining table {0}", "Oak dining table {0} {1}"),
           "940360", "张", ("DT-{n3}", "CZ{n4}"),
           (("尺寸", ("1.2m", "1.4m", "1.6m")), ("木材", ("橡木|oak", "白蜡木|ash", "橡胶木|rubberwood"))),
           (680, 2800), (20, 50, 100), False, "GB 18584-2001", ("ISO9001",),
           ("榫卯结构", "环保木蜡油", "可拆装运输")),
        _k("办公椅", "OC", ("人体工学办公椅 {0}", "网布转椅 {0}"),
           ("Ergonomic office chair {0}", "Mesh swivel chair {0}"),
           "940139", "把", ("OC-{n4}", "BG{n3}"),
           (("扶手", ("3D扶手|3D armrests", "固定扶手|fixed armrests")), ("气杆", ("三级气杆", "四级气杆"))),
           (160, 880), (50, 100, 200), False, "QB/T 2280-2016", ("BSCI", "ISO9001"),
           ("腰背支撑", "升降可调", "通过BIFMA测试")),
        _k("布艺沙发", "SF", ("科技布沙发 {0}", "布艺沙发 {0} {1}"),
           ("Tech-fabric sofa {0}", "Fabric sofa {0} {1}"),
           "940161", "套", ("SF-{n3}", "S{n4}"),
           (("座位", ("双人位|2-seater", "三人位|3-seater", "L型转角|L-shaped")), ("面料", ("科技布|tech fabric", "棉麻|cotton-linen"))),
           (1800, 6800), (10, 20, 50), False, "QB/T 1952.1-2012", ("ISO9001",),
           ("高密度海绵", "可拆洗")),
        _k("户外家具", "OD", ("铝合金户外桌椅 {0}", "庭院藤编桌椅 {0}"),
           ("Aluminium garden furniture set {0}", "Rattan patio set {0}"),
           "940320", "套", ("OD-{n3}", "HW{n4}"),
           (("件数", ("3件套|3-piece", "5件套|5-piece", "7件套|7-piece")),),
           (900, 3800), (20, 50), False, None, ("BSCI", "ISO9001"),
           ("防晒防雨", "可叠放")),
        _k("床垫", "MT", ("独立袋装弹簧床垫 {0}", "乳胶床垫 {0} {1}"),
           ("Pocket spring mattress {0}", "Latex mattress {0} {1}"),
           "940429", "张", ("MT-{n3}", "CD{n4}"),
           (("尺寸", ("1.5×2.0m", "1.8×2.0m")), ("厚度", ("20cm", "25cm", "28cm"))),
           (600, 2600), (20, 50, 100), False, "QB/T 1952.2-2011", ("OEKO_TEX", "ISO9001"),
           ("压缩卷包发货", "静音独立弹簧")),
        _k("书柜", "BC", ("实木书柜 {0}", "简约书架 {0}"),
           ("Solid wood bookcase {0}", "Bookshelf {0}"),
           "940360", "个", ("BC-{n3}", "SG{n4}"),
           (("层数", ("4层|4 tiers", "5层|5 tiers", "6层|6 tiers")), ("材质", ("松木|pine", "颗粒板|particleboard"))),
           (380, 1600), (30, 50, 100), False, "GB 18584-2001", ("ISO9001",),
           ("E0级板材", "免工具安装")),
    ),
    "玩具": (
        _k("毛绒玩具", "PL", ("毛绒公仔 {0}", "安抚毛绒玩具 {0}"),
           ("Plush toy {0}", "Soft cuddly toy {0}"),
           "950300", "个", ("PL-{n4}", "MR{n3}"),
           (("尺寸", ("25cm", "35cm", "45cm")), ("适用年龄", ("0岁以上|0+", "3岁以上|3+"))),
           (8, 60), (500, 1000, 3000), True, "GB 6675.1-2014", ("CE", "BSCI"),
           ("PP棉填充", "可机洗")),
        _k("积木", "BK", ("拼装积木 {0}", "益智拼插积木 {0}"),
           ("Building blocks {0}", "Construction block set {0}"),
           "950300", "套", ("BK-{n4}", "JM{n3}"),
           (("颗粒数", ("300颗粒|300 pcs", "500颗粒|500 pcs", "1000颗粒|1000 pcs")), ("适用年龄", ("6岁以上",))),
           (25, 180), (200, 500, 1000), True, "GB 6675.1-2014", ("CE", "BSCI"),
           ("ABS材质", "兼容主流品牌")),
        _k("遥控车", "RCC", ("2.4G遥控越野车 {0}", "高速遥控赛车 {0}"),
           ("2.4 GHz RC off-road car {0}", "High-speed RC racing car {0}"),
           "950300", "台", ("RC-{n4}", "YK{n3}"),
           (("比例", ("1:16", "1:18", "1:24")), ("续航", ("20分钟|20 min", "30分钟|30 min"))),
           (45, 260), (100, 300, 500), True, "GB 19865-2005", ("CE", "FCC"),
           ("USB充电", "四驱防撞")),
        _k("益智玩具", "EDU", ("木制益智拼图 {0}", "早教益智玩具 {0}"),
           ("Wooden puzzle {0}", "Early learning toy {0}"),
           "950300", "套", ("EDU-{n3}", "YZ{n4}"),
           (("片数", ("24片|24 pcs", "48片|48 pcs", "100片|100 pcs")), ("适用年龄", ("3岁以上",))),
           (12, 80), (300, 500, 1000), True, "GB 6675.1-2014", ("CE",),
           ("水性漆", "圆角打磨")),
        _k("节日礼品", "XM", ("圣诞装饰球套装 {0}", "圣诞树挂饰 {0}"),
           ("Christmas bauble set {0}", "Christmas tree ornaments {0}"),
           "950510", "套", ("XM-{n4}", "SD{n3}"),
           (("数量", ("24个装|pack of 24", "36个装|pack of 36", "50个装|pack of 50")), ("直径", ("6cm", "8cm"))),
           (3, 30), (1000, 3000, 5000), False, None, ("BSCI",),
           ("防摔材质", "多色可选")),
        _k("塑胶玩具", "PT", ("儿童沙滩玩具套装 {0}", "仿真厨房过家家玩具 {0}"),
           ("Beach toy set {0}", "Play kitchen set {0}"),
           "950300", "套", ("PT-{n3}", "SJ{n4}"),
           (("件数", ("8件套|8 pcs", "12件套|12 pcs", "20件套|20 pcs")), ("适用年龄", ("3岁以上",))),
           (5, 40), (500, 1000, 3000), True, "GB 6675.1-2014", ("CE", "BSCI"),
           ("PP环保材质", "无毒无味")),
    ),
    "LED照明": (
        _k("LED灯泡", "LB", ("LED球泡灯 {0} E27", "节能LED灯泡 {0} {1}"),
           ("LED bulb {0} E27", "Energy-saving LED bulb {0} {1}"),
           "853952", "只", ("LB-{n3}", "A60-{n2}W"),
           (("功率", ("5W", "9W", "12W", "15W")), ("色温", ("3000K", "4000K", "6500K"))),
           (2.8, 12), (1000, 3000, 5000), False, "GB 24906-2010", ("CE", "ROHS"),
           ("高显指Ra>80", "无频闪")),
        _k("LED筒灯", "DL", ("LED筒灯 {0} 开孔{1}", "防眩LED筒灯 {0}"),
           ("LED downlight {0} cut-out {1}", "Anti-glare LED downlight {0}"),
           "940511", "个", ("DL-{n3}", "TD{n4}"),
           (("功率", ("5W", "7W", "12W")), ("开孔", ("75mm", "90mm", "110mm"))),
           (9, 45), (500, 1000, 2000), True, "GB 7000.1-2015", ("CE", "ROHS", "UL"),
           ("铝合金散热", "防眩深杯")),
        _k("LED灯带", "ST", ("LED灯带 {0} 5米", "低压LED软灯带 {0}"),
           ("LED strip {0} 5 m", "Low-voltage flexible LED strip {0}"),
           "940542", "卷", ("ST-{n4}", "2835-{n2}"),
           (("电压", ("12V", "24V")), ("灯珠", ("60珠/米", "120珠/米"))),
           (25, 120), (100, 300, 500), True, "GB 7000.1-2015", ("CE", "ROHS"),
           ("可剪切", "3M背胶")),
        _k("太阳能庭院灯", "SL", ("太阳能庭院灯 {0}", "太阳能感应壁灯 {0}"),
           ("Solar garden light {0}", "Solar motion-sensor wall light {0}"),
           "940541", "个", ("SL-{n3}", "TY{n4}"),
           (("亮度", ("300lm", "600lm", "1000lm")), ("防水", ("IP65",))),
           (15, 80), (300, 500, 1000), False, None, ("CE", "ROHS"),
           ("人体感应", "免布线安装")),
        _k("吸顶灯", "CL", ("LED吸顶灯 {0}", "超薄LED吸顶灯 {0} {1}"),
           ("LED ceiling light {0}", "Slim LED ceiling light {0} {1}"),
           "940511", "盏", ("CL-{n3}", "XD{n4}"),
           (("功率", ("24W", "36W", "48W")), ("直径", ("40cm", "50cm", "60cm"))),
           (60, 380), (100, 200, 500), True, "GB 7000.1-2015", ("CE", "ROHS"),
           ("三色调光", "护眼无蓝光危害")),
        _k("投光灯", "FL", ("LED投光灯 {0}", "户外防水泛光灯 {0} {1}"),
           ("LED floodlight {0}", "Outdoor floodlight {0} {1}"),
           "940542", "个", ("FL-{n3}", "TG{n4}"),
           (("功率", ("50W", "100W", "200W")), ("防水", ("IP66",))),
           (45, 260), (100, 200, 500), True, "GB 7000.1-2015", ("CE", "ROHS", "ETL"),
           ("压铸铝灯体", "钢化玻璃面罩")),
    ),
    "汽车配件": (
        _k("刹车片", "BP", ("陶瓷刹车片 {0}", "前轮刹车片 {0}"),
           ("Ceramic brake pads {0}", "Front brake pads {0}"),
           "870830", "套", ("BP-{n4}", "D{n4}"),
           (("适用车型", ("大众朗逸|for VW Lavida", "丰田卡罗拉|for Toyota Corolla", "本田雅阁|for Honda Accord", "日产轩逸|for Nissan Sylphy")), ("材质", ("陶瓷配方|ceramic", "低金属|low-metallic"))),
           (38, 160), (100, 200, 500), False, "GB 5763-2018", ("ISO9001", "OTHER"),
           ("低噪音低粉尘", "原厂尺寸")),
        _k("雨刮器", "WB", ("无骨雨刮器 {0}", "三段式雨刮片 {0}"),
           ("Frameless wiper blades {0}", "Hybrid wiper blades {0}"),
           "851240", "双", ("WB-{n3}", "YG{n4}"),
           (("尺寸", ("16+24寸|16\"+24\"", "18+26寸|18\"+26\"", "14+26寸|14\"+26\"")),),
           (12, 45), (500, 1000, 2000), False, "QC/T 44-2009", ("ISO9001",),
           ("天然橡胶胶条", "静音刮拭")),
        _k("机油滤清器", "OF", ("机油滤清器 {0}", "高效机滤 {0}"),
           ("Oil filter {0}", "High-efficiency oil filter {0}"),
           "842123", "个", ("OF-{n4}", "W{n3}"),
           (("适用车型", ("大众|for VW", "丰田|for Toyota", "本田|for Honda", "现代|for Hyundai")),),
           (6, 28), (1000, 2000, 5000), False, None, ("ISO9001", "OTHER"),
           ("过滤精度高", "防回流阀")),
        _k("汽车灯具", "HL", ("LED汽车大灯 {0}", "汽车LED前照灯 {0} {1}"),
           ("LED headlight bulbs {0}", "Car LED headlamp {0} {1}"),
           "851220", "套", ("HL-{n3}", "H{n2}-LED"),
           (("灯头", ("H1", "H4", "H7", "9005")), ("功率", ("30W", "50W", "60W"))),
           (45, 380), (100, 300, 500), True, "GB 25991-2010", ("CE", "OTHER"),
           ("风扇散热", "即插即用")),
        _k("减震器", "SA", ("汽车减震器 {0}", "前减震器总成 {0}"),
           ("Shock absorber {0}", "Front strut assembly {0}"),
           "870880", "只", ("SA-{n4}", "JZ{n3}"),
           (("适用车型", ("丰田凯美瑞|for Toyota Camry", "本田思域|for Honda Civic", "大众速腾|for VW Sagitar")), ("位置", ("前|front", "后|rear"))),
           (120, 480), (50, 100, 200), False, "QC/T 491-2018", ("ISO9001", "OTHER"),
           ("充气式", "耐久测试100万次")),
        _k("汽车脚垫", "FM", ("全包围汽车脚垫 {0}", "TPE汽车脚垫 {0}"),
           ("Full-surround car floor mats {0}", "TPE car floor mats {0}"),
           "401691", "套", ("FM-{n3}", "JD{n4}"),
           (("材质", ("TPE", "皮革|leather", "丝圈|coil")), ("适用", ("专车专用",))),
           (80, 380), (50, 100, 300), False, None, ("ISO9001",),
           ("防水易清洗", "无异味")),
    ),
    "箱包": (
        _k("拉杆箱", "TC", ("PC拉杆箱 {0}", "万向轮行李箱 {0} {1}"),
           ("PC trolley case {0}", "Spinner luggage {0} {1}"),
           "420212", "个", ("TC-{n4}", "LG{n3}"),
           (("尺寸", ("20寸|20\"", "24寸|24\"", "28寸|28\"")), ("材质", ("PC", "ABS+PC"))),
           (95, 420), (100, 200, 500), False, "QB/T 2155-2018", ("BSCI", "ISO9001"),
           ("TSA海关锁", "静音万向轮")),
        _k("双肩包", "BPK", ("商务双肩包 {0}", "防泼水通勤双肩包 {0}"),
           ("Business backpack {0}", "Water-repellent commuter backpack {0}"),
           "420292", "个", ("BP-{n4}", "SJ{n3}"),
           (("容量", ("20L", "25L", "30L")), ("面料", ("牛津布|Oxford cloth", "涤纶|polyester"))),
           (28, 160), (200, 500, 1000), False, "QB/T 1333-2018", ("BSCI",),
           ("USB充电口", "15.6寸电脑仓")),
        _k("手提包", "HB", ("真皮女士手提包 {0}", "托特包 {0}"),
           ("Leather handbag {0}", "Tote bag {0}"),
           "420221", "个", ("HB-{n4}", "NB{n3}"),
           (("材质", ("头层牛皮|top-grain leather", "超纤皮|microfibre leather")), ("颜色", ("黑色|black", "棕色|brown", "米白|ivory"))),
           (45, 320), (100, 200, 500), False, "QB/T 1333-2018", ("BSCI",),
           ("五金件防氧化", "内置拉链袋")),
        _k("旅行袋", "TB", ("大容量旅行袋 {0}", "折叠旅行包 {0}"),
           ("Large travel bag {0}", "Foldable travel bag {0}"),
           "420292", "个", ("TB-{n3}", "LX{n4}"),
           (("容量", ("35L", "45L", "55L")),),
           (25, 120), (300, 500, 1000), False, "QB/T 1333-2018", ("BSCI",),
           ("干湿分离", "可套拉杆")),
        _k("钱包", "WL", ("男士真皮钱包 {0}", "RFID防盗刷卡包 {0}"),
           ("Men's leather wallet {0}", "RFID-blocking card wallet {0}"),
           "420231", "个", ("WL-{n4}", "QB{n3}"),
           (("款式", ("短款|bifold", "长款|long", "卡包|card holder")), ("材质", ("头层牛皮|top-grain leather", "疯马皮|crazy-horse leather"))),
           (12, 90), (300, 500, 1000), False, "QB/T 1619-2018", ("BSCI",),
           ("RFID屏蔽", "多卡位")),
        _k("电脑包", "LB", ("笔记本电脑包 {0}", "防震电脑内胆包 {0}"),
           ("Laptop bag {0}", "Shockproof laptop sleeve {0}"),
           "420212", "个", ("CB-{n3}", "DN{n4}"),
           (("尺寸", ("13.3寸|13.3\"", "14寸|14\"", "15.6寸|15.6\"")),),
           (30, 150), (200, 500, 1000), False, "QB/T 1333-2018", ("BSCI",),
           ("加厚防震棉", "防泼水面料")),
    ),
}

def _digits(rng: random.Random, count: int) -> str:
    return str(rng.randint(10 ** (count - 1), 10**count - 1))


def _model(rng: random.Random, pattern: str) -> str:
    for count in (2, 3, 4):
        while f"{{n{count}}}" in pattern:
            pattern = pattern.replace(f"{{n{count}}}", _digits(rng, count), 1)
    return pattern


def _price_fen(rng: random.Random, low: float, high: float) -> int:
    """A wholesale price as price lists write it: whole yuan from ¥100, else ending in .0, .5, .8 or .9."""
    yuan = rng.uniform(low, high)
    if yuan >= 100:
        return int(round(yuan)) * 100
    return (int(yuan) * 10 + rng.choice((0, 5, 8, 9))) * 10


def _tiers(rng: random.Random, moq: int, first_fen: int) -> list[PriceTierInput]:
    tiers = [PriceTierInput(moq, first_fen)]
    steps = rng.choices((0, 1, 2), weights=(20, 40, 40))[0]
    factors = rng.choice(((5, 20), (3, 10), (10, 50)))
    price = first_fen
    for factor in factors[:steps]:
        price = max(1, int(price * rng.uniform(0.90, 0.96) // 10 * 10))
        if price >= tiers[-1].unit_price_fen:
            break
        tiers.append(PriceTierInput(moq * factor, price))
    return tiers


def _certificate(rng: random.Random, kind: str) -> CertificationInput:
    year = rng.randint(2019, 2024)
    # a few certificates ran out during the export slump: the catalog flags them
    expires = date(rng.choice((2024, 2026, 2027, 2028, 2029)), rng.randint(1, 12), rng.randint(1, 28))
    if kind == "CCC":
        return CertificationInput("CCC", f"{year}01{rng.randint(1, 16):02d}{_digits(rng, 8)}", expires)
    if kind == "ISO9001":
        return CertificationInput("ISO9001", f"{_digits(rng, 5)}{year % 100}Q{_digits(rng, 5)}R{rng.randint(0, 3)}M",
                                  expires)
    if kind == "UL":
        return CertificationInput("UL", f"E{_digits(rng, 6)}", None)
    if kind == "OEKO_TEX":
        return CertificationInput("OEKO_TEX", f"{year}OK{_digits(rng, 4)}", expires)
    if kind == "BSCI":
        return CertificationInput("BSCI", f"DBID {_digits(rng, 6)}", expires)
    if kind in ("OTHER", "ETL"):  # kinds outside the catalog's vocabulary: OTHER, with their name
        name = "ETL" if kind == "ETL" else rng.choice(("IATF 16949", "E-mark", "EN71", "ASTM F963"))
        return CertificationInput("OTHER", f"{name} {_digits(rng, 7)}", expires)
    lab = rng.choice(("SGS", "TUV", "BV", "ITS", "CTI"))
    return CertificationInput(kind, f"{lab}{year}{_digits(rng, 6)}", expires if kind in ("CE", "GS") else None)


@dataclass(frozen=True)
class DemoProduct:
    """A product to create: its values and the state it is listed in."""

    values: ProductInput
    status: ProductStatus


@dataclass(frozen=True)
class Market:
    """A former export market of the exporter, with the tariff step that closed it."""

    code: str
    old_rate: str
    new_rate: str
    effective_on: date


def make_product(rng: random.Random, industry: str, number: int, brand: tuple[str, str] | None,
                 markets: list[Market]) -> DemoProduct:
    """The exporter's ``number``-th product (SKU unique by it), of its industry, brand and former markets."""
    kind = rng.choice(KINDS[industry])
    sku = f"{kind.sku}-{number:04d}"
    chosen = [rng.choice(options) for _key, options in kind.specs]
    values_zh = [value.split("|")[0] for value in chosen]
    values_en = [value.split("|")[-1] for value in chosen]
    specs = [[key, value] for (key, _options), value in zip(kind.specs, values_zh, strict=True)]
    pattern = rng.randrange(len(kind.titles_zh))
    title_zh = kind.titles_zh[pattern].format(*values_zh)
    title_en = kind.titles_en[pattern].format(*values_en)
    if brand and rng.random() < 0.5:
        title_zh = f"{brand[0]}{title_zh}"
        title_en = f"{brand[1]} {title_en}"
    moq = rng.choice(kind.moq)
    tiers = _tiers(rng, moq, _price_fen(rng, *kind.price))
    market = rng.choice(markets)
    in_stock = rng.random() < 0.65
    stock = moq * rng.randint(2, 60) if in_stock else None
    location = rng.choices((StockLocation.PORT, StockLocation.FACTORY, StockLocation.BONDED), (40, 50, 10))[0]
    lead_time = rng.randint(3, 7) if in_stock else rng.randint(15, 45)
    capacity = moq * rng.randint(10, 200)
    certifications = []
    if kind.ccc:
        ccc = CccStatus.HELD if rng.random() < 0.7 else CccStatus.MISSING
        if ccc is CccStatus.HELD:
            certifications.append(_certificate(rng, "CCC"))
    else:
        ccc = CccStatus.NOT_NEEDED
    for cert in rng.sample(kind.certs, rng.randint(1, len(kind.certs))):
        certifications.append(_certificate(rng, cert))
    english_only = rng.random() < ENGLISH_ONLY_SHARE
    market_zh = MARKET_NAMES_ZH.get(market.code, market.code)
    tariff_note = (f"{market.effective_on.year}年{market.effective_on.month}月起{market_zh}关税由{market.old_rate}%"
                   f"升至{market.new_rate}%，原出口订单取消，转内销")
    stock_zh = f"现货{stock}{kind.unit}，存放于{LOCATION_ZH[location]}" if stock else f"按单生产，交期约{lead_time}天"
    features = "，".join(rng.sample(kind.features, min(2, len(kind.features))))
    description_zh = f"{title_zh}。{features}。原出口{market_zh}，{stock_zh}。"
    description_en = (f"{title_en}. Made for the {MARKET_NAMES_EN.get(market.code, market.code)} market; "
                      + (f"{stock} units in stock." if stock else f"made to order in about {lead_time} days."))
    if english_only:
        # The exporter listed it as it was sold abroad and never translated it; the catalog needs a
        # Chinese title, so the English one stands in for it (as an import of such a sheet would do).
        title_zh, description_zh = title_en, None
    elif rng.random() < 0.3:
        title_en, description_en = None, None
    elif rng.random() < 0.6:
        description_en = None
    product = ProductInput(
        sku=sku, title_zh=title_zh[:200], title_en=title_en, description_zh=description_zh,
        description_en=description_en,
        hs_code=kind.hs, category=INDUSTRY_CATEGORY[industry],
        brand=brand[0] if brand and rng.random() < 0.85 else None, model=_model(rng, rng.choice(kind.models)),
        specs=specs, unit=kind.unit, moq=moq, price_tiers=tiers, monthly_capacity=capacity,
        stock_quantity=stock, stock_location=location if stock else None, lead_time_days=lead_time,
        former_export_market=market.code, tariff_note=tariff_note, ccc_status=ccc,
        gb_standard=kind.gb, gb_standard_met=bool(kind.gb) and rng.random() < 0.85,
        chinese_label_ready=not english_only and rng.random() < 0.6, vat_invoice=rng.random() < 0.85,
        certifications=certifications,
    )
    status = rng.choices([s for s, _w in STATUS_WEIGHTS], [w for _s, w in STATUS_WEIGHTS])[0]
    return DemoProduct(product, status)


def bench_products(count: int, seed: int = 2025) -> list[ProductInput]:
    """``count`` realistic products of every industry with unique SKUs (for benchmarks and tests)."""
    rng = random.Random(f"bench-products-{seed}")
    industries = sorted(KINDS)
    markets = [Market("US", "7.5", "52.5", date(2025, 4, 10)), Market("DE", "2.7", "22.1", date(2025, 7, 1))]
    brands = [("鑫达", "Xinda"), ("华美", "Huamei"), None]
    return [
        make_product(rng, industries[index % len(industries)], index + 1,
                     brands[index % len(brands)], markets).values
        for index in range(count)
    ]
