"""Generated product listings for the search benchmark: realistic, deterministic ``ProductRecord`` values.

Owns: the kinds of goods of every catalog category (the demo industries' kinds from
``marketplace.demo_products`` plus the kinds of the other categories, written here), the exporter
companies (Chinese names, real GB/T 2260 province and city codes, weighted toward the coastal
export provinces) and turning them into ``search_index.schemas.ProductRecord`` values drawn from
``random.Random(seed)``: same ``n`` and seed, same records. Every record carries
``extra={"kind": <kind name>}`` so that the labelled queries (``bench.search_queries``) can judge
relevance. Pure data: builds no Flask app and writes nothing.
"""
from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from itertools import accumulate
from pathlib import Path

from marketplace.demo_products import INDUSTRY_CATEGORY, KINDS, MARKET_NAMES_EN, MARKET_NAMES_ZH, ProductKind
from search_index.schemas import ProductRecord

ROOT = Path(__file__).resolve().parent.parent
PO_FILE = ROOT / "translations" / "zh_CN" / "LC_MESSAGES" / "messages.po"

#: share of listings whose exporter never wrote a Chinese title (the English title stands in)
ENGLISH_ONLY_SHARE = 0.05
TARIFF_HIT_SHARE = 0.60
DOMESTIC_READY_SHARE = 0.40
VERIFIED_SHARE = 0.20
#: one exporter per this many listings
PRODUCTS_PER_COMPANY = 50


def _k(*args) -> ProductKind:
    return ProductKind(*args)


#: kinds of the categories the demo industries do not cover (same shape as ``demo_products.KINDS``)
EXTRA_KINDS: dict[str, tuple[ProductKind, ...]] = {
    "footwear": (
        _k("运动鞋", "SN", ("飞织透气运动鞋 {0}", "男款缓震跑步鞋 {0} {1}", "休闲运动鞋 {0}"),
           ("Flyknit breathable sneakers {0}", "Men's cushioned running shoes {0} {1}", "Casual sneakers {0}"),
           "640411", "双", ("SN-{n4}", "XT{n3}"),
           (("尺码", ("39-44", "36-40", "38-45")), ("鞋底", ("EVA发泡|EVA foam", "橡胶大底|rubber outsole", "MD鞋底|MD sole"))),
           (45, 190), (300, 600, 1200), False, "QB/T 4331-2012", ("BSCI", "ISO9001"),
           ("轻量透气", "回弹缓震", "防滑耐磨大底", "一脚蹬设计")),
        _k("皮鞋", "LS", ("头层牛皮商务皮鞋 {0}", "男士正装皮鞋 {0}", "手工缝线皮鞋 {0} {1}"),
           ("Top-grain leather business shoes {0}", "Men's dress shoes {0}", "Hand-stitched leather shoes {0} {1}"),
           "640359", "双", ("PX-{n4}", "LS{n3}"),
           (("尺码", ("38-44", "39-45")), ("鞋面", ("头层牛皮|top-grain leather", "漆皮|patent leather"))),
           (120, 480), (100, 200, 500), False, "QB/T 1002-2015", ("BSCI",),
           ("真皮内里", "橡胶耐磨底", "固特异工艺")),
        _k("拖鞋", "SL2", ("EVA浴室拖鞋 {0}", "家居防滑拖鞋 {0} {1}"),
           ("EVA bathroom slippers {0}", "Non-slip home slippers {0} {1}"),
           "640299", "双", ("TX-{n3}", "SL{n4}"),
           (("尺码", ("36-45", "40-45")), ("颜色", ("灰色|grey", "粉色|pink", "黑色|black"))),
           (4.5, 22), (1000, 3000, 5000), False, None, ("BSCI",),
           ("踩屎感软底", "防滑漏水", "静音不臭脚")),
        _k("雨靴", "RB", ("PVC中筒雨靴 {0}", "防水防滑雨鞋 {0}"),
           ("PVC mid-calf rain boots {0}", "Waterproof non-slip rain boots {0}"),
           "640192", "双", ("YX-{n3}", "RB{n4}"),
           (("尺码", ("36-41", "39-45")), ("筒高", ("中筒|mid-calf", "高筒|knee-high"))),
           (18, 75), (500, 1000, 2000), False, None, ("BSCI",),
           ("一体成型不渗水", "加厚耐磨底")),
        _k("童鞋", "KS", ("儿童魔术贴运动鞋 {0}", "宝宝学步鞋 {0}"),
           ("Kids' hook-and-loop sneakers {0}", "Baby first-walker shoes {0}"),
           "640419", "双", ("TX-{n4}", "KS{n3}"),
           (("尺码", ("21-30", "26-37")), ("鞋面", ("网布|mesh", "超纤皮|microfibre"))),
           (25, 95), (300, 500, 1000), False, "GB 30585-2014", ("BSCI", "OEKO_TEX"),
           ("软底防滑", "魔术贴穿脱方便", "透气网面")),
    ),
    "electronics": (
        _k("充电宝", "PB", ("大容量充电宝 {0} {1}", "超薄快充充电宝 {0}", "自带线充电宝 {0}"),
           ("High-capacity power bank {0} {1}", "Slim fast-charging power bank {0}", "Power bank with built-in cable {0}"),
           "850760", "个", ("PB-{n4}", "CD{n3}", "MP{n2}0"),
           (("容量", ("10000mAh", "20000mAh", "30000mAh")), ("快充", ("22.5W快充|22.5W fast charging", "65W PD|65W PD"))),
           (28, 160), (500, 1000, 3000), True, "GB 4943.1-2022", ("CE", "FCC", "ROHS", "UL"),
           ("双向快充", "数显电量", "多重电路保护", "可带上飞机")),
        _k("蓝牙耳机", "EB", ("TWS真无线蓝牙耳机 {0}", "主动降噪蓝牙耳机 {0} {1}", "运动挂耳蓝牙耳机 {0}"),
           ("TWS true wireless earbuds {0}", "ANC Bluetooth earphones {0} {1}", "Sports ear-hook Bluetooth earphones {0}"),
           "851830", "副", ("EB-{n3}", "TWS-{n2}", "BT{n4}"),
           (("蓝牙版本", ("蓝牙5.3|Bluetooth 5.3", "蓝牙5.4|Bluetooth 5.4")), ("续航", ("24小时|24 h", "36小时|36 h"))),
           (35, 220), (500, 1000, 2000), True, "GB 4943.1-2022", ("CE", "FCC", "ROHS"),
           ("低延迟游戏模式", "IPX5防水", "触控操作", "通话降噪")),
        _k("数据线", "CB", ("Type-C快充数据线 {0}", "编织快充数据线 {0} {1}", "三合一数据线 {0}"),
           ("USB-C fast charging cable {0}", "Braided fast charging cable {0} {1}", "3-in-1 charging cable {0}"),
           "854442", "条", ("CB-{n3}", "SJX{n4}"),
           (("长度", ("1m", "1.5m", "2m")), ("功率", ("60W", "100W", "240W"))),
           (3.5, 28), (1000, 3000, 5000), False, None, ("CE", "ROHS"),
           ("尼龙编织线身", "耐弯折", "支持快充协议")),
        _k("蓝牙音箱", "SPK", ("便携蓝牙音箱 {0}", "户外防水蓝牙音箱 {0} {1}"),
           ("Portable Bluetooth speaker {0}", "Waterproof outdoor Bluetooth speaker {0} {1}"),
           "851822", "台", ("SPK-{n3}", "YX{n4}"),
           (("功率", ("10W", "20W", "40W")), ("防水", ("IPX5", "IPX7"))),
           (45, 320), (200, 500, 1000), True, "GB 4943.1-2022", ("CE", "FCC", "ROHS"),
           ("重低音", "TWS串联", "长续航")),
        _k("手机壳", "PC", ("硅胶手机壳 {0}", "防摔透明手机壳 {0} {1}"),
           ("Silicone phone case {0}", "Shockproof clear phone case {0} {1}"),
           "392690", "个", ("PC-{n4}", "SJK{n3}"),
           (("适用机型", ("iPhone 15|iPhone 15", "iPhone 16|iPhone 16", "华为Mate 60|Huawei Mate 60")), ("材质", ("液态硅胶|liquid silicone", "TPU|TPU"))),
           (2.5, 25), (1000, 3000, 5000), False, None, ("ROHS",),
           ("四角气囊防摔", "精准开孔", "不发黄")),
        _k("智能手表", "SW", ("智能运动手表 {0}", "心率血氧智能手表 {0} {1}"),
           ("Smart sports watch {0}", "Heart-rate SpO2 smartwatch {0} {1}"),
           "851762", "块", ("SW-{n3}", "GT{n2}"),
           (("屏幕", ("1.43英寸AMOLED|1.43-inch AMOLED", "1.96英寸|1.96-inch")), ("续航", ("7天|7 days", "14天|14 days"))),
           (80, 480), (200, 500, 1000), True, "GB 4943.1-2022", ("CE", "FCC", "ROHS"),
           ("心率监测", "百种运动模式", "消息提醒", "IP68防水")),
    ),
    "kitchenware": (
        _k("保温杯", "VF", ("304不锈钢保温杯 {0}", "真空保温杯 {0} {1}", "大容量保温杯 {0}"),
           ("304 stainless steel vacuum cup {0}", "Vacuum insulated tumbler {0} {1}", "Large insulated cup {0}"),
           "961700", "个", ("VF-{n3}", "BW{n4}"),
           (("容量", ("350ml", "500ml", "750ml", "1L")), ("内胆", ("304不锈钢|304 stainless steel", "316不锈钢|316 stainless steel"))),
           (18, 95), (500, 1000, 3000), False, "GB/T 29606-2013", ("ROHS", "OTHER"),
           ("12小时保温", "真空双层", "食品级内胆", "防漏杯盖")),
        _k("不锈钢锅", "SP2", ("304不锈钢汤锅 {0}", "三层复底不锈钢锅 {0} {1}"),
           ("304 stainless steel stockpot {0}", "Tri-ply stainless steel pot {0} {1}"),
           "732393", "个", ("TG-{n3}", "SS{n4}"),
           (("口径", ("20cm", "24cm", "28cm")), ("材质", ("304不锈钢|304 stainless steel", "316不锈钢|316 stainless steel"))),
           (45, 260), (200, 500, 1000), False, "GB 4806.9-2016", ("ISO9001",),
           ("复合底导热均匀", "电磁炉燃气通用", "钢化玻璃盖")),
        _k("炒锅", "WK", ("铸铁炒锅 {0}", "麦饭石不粘炒锅 {0} {1}", "无涂层铁锅 {0}"),
           ("Cast iron wok {0}", "Non-stick granite wok {0} {1}", "Uncoated iron wok {0}"),
           "732391", "个", ("CG-{n3}", "WK{n4}"),
           (("口径", ("30cm", "32cm", "34cm")), ("涂层", ("麦饭石涂层|granite coating", "无涂层|uncoated"))),
           (35, 220), (200, 500, 1000), False, "GB 4806.9-2016", ("ISO9001",),
           ("少油烟", "聚热快", "木柄防烫")),
        _k("陶瓷餐具", "CT", ("骨瓷餐具套装 {0}", "釉下彩陶瓷碗盘套装 {0}"),
           ("Bone china dinner set {0}", "Underglaze ceramic tableware set {0}"),
           "691110", "套", ("CJ-{n3}", "CT{n4}"),
           (("件数", ("16头|16 pieces", "28头|28 pieces", "56头|56 pieces")),),
           (60, 480), (100, 200, 500), False, "GB 4806.4-2016", ("ISO9001", "OTHER"),
           ("高温烧制", "可进微波炉和洗碗机", "铅镉溶出合格")),
        _k("刀具套装", "KN", ("不锈钢厨房刀具套装 {0}", "大马士革钢厨师刀 {0}"),
           ("Stainless steel kitchen knife set {0}", "Damascus steel chef's knife {0}"),
           "821191", "套", ("DJ-{n3}", "KN{n4}"),
           (("件数", ("5件套|5 pieces", "7件套|7 pieces", "单刀|single knife")), ("钢材", ("5Cr15钢|5Cr15 steel", "VG10钢|VG10 steel"))),
           (40, 360), (100, 300, 500), False, "GB/T 40355-2021", ("ISO9001",),
           ("锋利耐用", "一体成型刀柄", "附赠刀座")),
        _k("玻璃保鲜盒", "GC", ("高硼硅玻璃保鲜盒 {0}", "微波炉玻璃饭盒 {0} {1}"),
           ("Borosilicate glass food containers {0}", "Microwave-safe glass lunch box {0} {1}"),
           "701349", "套", ("BX-{n3}", "GC{n4}"),
           (("规格", ("3件套|3-piece", "5件套|5-piece")), ("容量", ("640ml", "1040ml"))),
           (25, 110), (300, 500, 1000), False, "GB 4806.5-2016", ("OTHER",),
           ("密封防漏", "耐冷热冲击", "可进烤箱")),
    ),
    "sports": (
        _k("瑜伽垫", "YM", ("TPE瑜伽垫 {0}", "加厚防滑瑜伽垫 {0} {1}"),
           ("TPE yoga mat {0}", "Thick non-slip yoga mat {0} {1}"),
           "950691", "张", ("YM-{n3}", "YJ{n4}"),
           (("厚度", ("6mm", "8mm", "10mm")), ("尺寸", ("183×61cm", "185×80cm"))),
           (18, 95), (300, 500, 1000), False, None, ("ROHS", "OTHER"),
           ("双面防滑", "高回弹", "附背带")),
        _k("哑铃", "DB", ("可调节哑铃 {0}", "包胶哑铃 {0} {1}"),
           ("Adjustable dumbbells {0}", "Rubber-coated dumbbells {0} {1}"),
           "950691", "对", ("YL-{n3}", "DB{n4}"),
           (("重量", ("5kg", "10kg", "20kg", "24kg")), ("材质", ("铸铁包胶|rubber-coated cast iron", "电镀|chrome"))),
           (60, 680), (50, 100, 300), False, None, ("OTHER",),
           ("快速调节重量", "防滑握柄", "不伤地板")),
        _k("帐篷", "TT", ("户外露营帐篷 {0}", "全自动速开帐篷 {0} {1}"),
           ("Camping tent {0}", "Instant pop-up tent {0} {1}"),
           "630622", "顶", ("ZP-{n3}", "TT{n4}"),
           (("人数", ("2人|2-person", "3-4人|3–4-person", "5-8人|5–8-person")), ("面料", ("210T涤纶|210T polyester", "牛津布|Oxford cloth"))),
           (85, 680), (100, 200, 500), False, None, ("BSCI",),
           ("防雨PU3000", "通风纱窗", "铝合金杆")),
        _k("跑步机", "TM2", ("家用折叠跑步机 {0}", "静音小型跑步机 {0} {1}"),
           ("Folding home treadmill {0}", "Quiet compact treadmill {0} {1}"),
           "950691", "台", ("PBJ-{n3}", "TM{n4}"),
           (("电机", ("1.5HP|1.5 HP", "2.0HP|2.0 HP", "3.0HP|3.0 HP")), ("跑带宽度", ("40cm", "45cm", "50cm"))),
           (980, 3600), (20, 50, 100), True, "GB 17498.6-2008", ("CE", "ETL"),
           ("减震跑板", "APP互联", "免安装折叠")),
        _k("羽毛球拍", "BR", ("全碳素羽毛球拍 {0}", "超轻进攻型羽毛球拍 {0}"),
           ("Full-carbon badminton racket {0}", "Ultralight attack badminton racket {0}"),
           "950659", "支", ("YMQ-{n3}", "BR{n4}"),
           (("重量", ("4U", "5U")), ("磅数", ("22-28磅|22–28 lbs", "24-30磅|24–30 lbs"))),
           (45, 320), (100, 300, 500), False, None, ("BSCI",),
           ("高模碳纤维", "中杆偏硬")),
    ),
    "building_materials": (
        _k("瓷砖", "TL", ("客厅抛釉瓷砖 {0}", "哑光防滑瓷砖 {0} {1}", "大板岩板瓷砖 {0}"),
           ("Glazed porcelain tiles {0}", "Matt anti-slip tiles {0} {1}", "Large sintered stone slab {0}"),
           "690721", "片", ("CZ-{n4}", "TL{n3}"),
           (("规格", ("600×600mm", "800×800mm", "750×1500mm")), ("表面", ("亮光|polished", "哑光|matt", "柔光|satin"))),
           (18, 160), (200, 500, 1000), False, "GB/T 4100-2015", ("ISO9001", "OTHER"),
           ("吸水率低于0.5%", "耐磨防污", "纹理清晰")),
        _k("不锈钢水槽", "SK", ("304不锈钢手工水槽 {0}", "厨房双槽洗菜盆 {0} {1}"),
           ("304 stainless steel handmade sink {0}", "Double-bowl kitchen sink {0} {1}"),
           "732410", "个", ("SC-{n3}", "SK{n4}"),
           (("尺寸", ("68×45cm", "75×45cm", "80×46cm")), ("厚度", ("1.0mm", "1.2mm"))),
           (180, 980), (50, 100, 300), False, "QB/T 5217-2017", ("ISO9001",),
           ("纳米涂层防油", "加厚底板降噪", "配沥水篮")),
        _k("铝合金型材", "AP", ("断桥铝合金门窗型材 {0}", "工业铝型材 {0} {1}"),
           ("Thermal-break aluminium window profile {0}", "Industrial aluminium extrusion {0} {1}"),
           "760410", "吨", ("LX-{n4}", "AP{n3}"),
           (("牌号", ("6063-T5", "6061-T6")), ("表面处理", ("阳极氧化|anodized", "粉末喷涂|powder coated"))),
           (18000, 32000), (1, 3, 5), False, "GB/T 5237-2017", ("ISO9001",),
           ("壁厚达标", "按图定制开模", "表面处理均匀")),
        _k("卫浴龙头", "FC", ("全铜厨房龙头 {0}", "冷热面盆龙头 {0} {1}"),
           ("Brass kitchen faucet {0}", "Hot and cold basin mixer {0} {1}"),
           "848180", "个", ("LT-{n4}", "FC{n3}"),
           (("表面", ("镀铬|chrome", "枪灰|gunmetal", "哑光黑|matt black")), ("阀芯", ("陶瓷阀芯|ceramic cartridge",))),
           (65, 420), (100, 300, 500), False, "GB 18145-2014", ("ISO9001", "OTHER"),
           ("无铅铜体", "360°旋转", "起泡器防溅")),
        _k("岩棉板", "RW", ("外墙保温岩棉板 {0}", "防火岩棉板 {0} {1}"),
           ("Rock wool insulation board {0}", "Fire-proof rock wool panel {0} {1}"),
           "680610", "立方米", ("YM-{n3}", "RW{n4}"),
           (("容重", ("120kg/m³", "140kg/m³", "160kg/m³")), ("厚度", ("50mm", "100mm"))),
           (380, 920), (10, 30, 50), False, "GB/T 25975-2018", ("ISO9001",),
           ("A级不燃", "憎水率高", "导热系数低")),
        _k("钢化玻璃", "TG", ("建筑钢化玻璃 {0}", "中空钢化玻璃 {0} {1}"),
           ("Tempered building glass {0}", "Insulated tempered glass {0} {1}"),
           "700719", "平方米", ("GH-{n3}", "TG{n4}"),
           (("厚度", ("5mm", "8mm", "10mm", "12mm")), ("类型", ("浮法白玻|clear float", "Low-E|Low-E"))),
           (45, 260), (50, 100, 300), True, "GB 15763.2-2005", ("CCC", "ISO9001"),
           ("3C认证", "平整度高", "可来图加工")),
    ),
    "machinery": (
        _k("水泵", "WP", ("不锈钢离心泵 {0}", "家用自吸泵 {0} {1}", "潜水泵 {0}"),
           ("Stainless steel centrifugal pump {0}", "Self-priming home pump {0} {1}", "Submersible pump {0}"),
           "841370", "台", ("QB-{n3}", "WP{n4}", "QDX{n2}"),
           (("功率", ("370W", "750W", "1.5kW", "3kW")), ("扬程", ("25m", "40m", "60m"))),
           (260, 2800), (20, 50, 100), False, "GB/T 5657-2013", ("CE", "ISO9001"),
           ("纯铜电机", "过热保护", "低噪音运行")),
        _k("空压机", "CP", ("静音无油空压机 {0}", "活塞式空压机 {0} {1}"),
           ("Oil-free silent air compressor {0}", "Piston air compressor {0} {1}"),
           "841480", "台", ("KYJ-{n3}", "CP{n4}"),
           (("功率", ("750W", "1.5kW", "2.2kW")), ("储气罐", ("30L", "50L", "100L"))),
           (680, 4800), (10, 20, 50), False, "GB/T 13279-2015", ("CE", "ISO9001"),
           ("无油静音", "铜线电机", "自动启停")),
        _k("发电机组", "GS", ("汽油发电机 {0}", "静音柴油发电机组 {0} {1}"),
           ("Gasoline generator {0}", "Silent diesel generator set {0} {1}"),
           "850220", "台", ("FDJ-{n3}", "GS{n4}"),
           (("功率", ("3kW", "5kW", "8kW", "10kW")), ("启动方式", ("手拉启动|recoil start", "电启动|electric start"))),
           (1800, 16000), (5, 10, 20), False, "GB/T 2820.1-2022", ("CE", "ISO9001"),
           ("低油耗", "带AVR稳压", "静音箱体")),
        _k("包装机", "PM", ("全自动封口机 {0}", "立式颗粒包装机 {0} {1}"),
           ("Automatic sealing machine {0}", "Vertical granule packaging machine {0} {1}"),
           "842240", "台", ("BZJ-{n3}", "PM{n4}"),
           (("速度", ("20-60袋/分|20–60 bags/min", "60-120袋/分|60–120 bags/min")), ("材质", ("304不锈钢机身|304 stainless frame", "碳钢喷塑|powder-coated steel"))),
           (3800, 68000), (1, 2, 5), False, None, ("CE", "ISO9001"),
           ("PLC触摸屏控制", "自动计量", "故障报警")),
        _k("电焊机", "WM", ("逆变直流电焊机 {0}", "氩弧焊机 {0} {1}"),
           ("Inverter DC welding machine {0}", "TIG welding machine {0} {1}"),
           "851531", "台", ("ZX7-{n3}", "WS-{n3}", "WM{n4}"),
           (("电流", ("200A", "250A", "315A")), ("电压", ("220V", "380V", "220V/380V双电压|220V/380V dual voltage"))),
           (260, 1800), (20, 50, 100), True, "GB/T 15579.1-2013", ("CE", "CCC"),
           ("IGBT逆变", "引弧容易", "焊接稳定")),
    ),
    "chemicals_plastics": (
        _k("塑料收纳箱", "SB", ("PP塑料收纳箱 {0}", "加厚整理箱 {0} {1}"),
           ("PP plastic storage box {0}", "Thick storage bin {0} {1}"),
           "392490", "个", ("SNX-{n3}", "SB{n4}"),
           (("容量", ("30L", "55L", "80L", "120L")), ("颜色", ("透明|clear", "白色|white"))),
           (9, 48), (300, 500, 1000), False, None, ("ROHS",),
           ("可叠放", "带滑轮", "食品级PP")),
        _k("保鲜膜", "CF", ("PE保鲜膜 {0}", "食品级保鲜膜 {0} {1}"),
           ("PE cling film {0}", "Food-grade cling wrap {0} {1}"),
           "392010", "卷", ("BXM-{n3}", "CF{n4}"),
           (("规格", ("30cm×100m", "30cm×300m", "45cm×500m")), ("材质", ("PE", "PVC"))),
           (6, 45), (500, 1000, 3000), False, "GB 4806.7-2016", ("OTHER",),
           ("不含增塑剂", "易撕", "可微波加热")),
        _k("垃圾袋", "GB2", ("加厚垃圾袋 {0}", "抽绳式垃圾袋 {0} {1}"),
           ("Heavy-duty garbage bags {0}", "Drawstring garbage bags {0} {1}"),
           "392321", "箱", ("LJD-{n3}", "GB{n4}"),
           (("尺寸", ("45×50cm", "50×60cm", "80×100cm")), ("材质", ("HDPE", "可降解PBAT|compostable PBAT"))),
           (25, 120), (100, 300, 500), False, "GB/T 24454-2009", ("OTHER",),
           ("加厚不易破", "自动收口")),
        _k("洗衣液", "LD", ("薰衣草香洗衣液 {0}", "浓缩洗衣液 {0} {1}"),
           ("Lavender laundry detergent {0}", "Concentrated laundry detergent {0} {1}"),
           "340220", "瓶", ("XYY-{n3}", "LD{n4}"),
           (("净含量", ("2kg", "3kg", "5kg")), ("香型", ("薰衣草|lavender", "柠檬|lemon", "无香|unscented"))),
           (12, 58), (500, 1000, 2000), False, "GB/T 13171.2-2009", ("ISO9001",),
           ("低泡易漂", "深层去渍", "中性配方护衣")),
        _k("胶带", "TP", ("BOPP封箱胶带 {0}", "透明胶带 {0} {1}"),
           ("BOPP packing tape {0}", "Clear adhesive tape {0} {1}"),
           "391910", "卷", ("JD-{n3}", "TP{n4}"),
           (("宽度", ("45mm", "48mm", "60mm")), ("长度", ("100m", "150m", "200m"))),
           (2.2, 12), (1000, 3000, 5000), False, None, ("ROHS",),
           ("粘性强", "不易断裂", "低噪音")),
    ),
    "food": (
        _k("茶叶", "TEA", ("明前龙井绿茶 {0}", "福建安吉白茶 {0}", "正山小种红茶 {0} {1}"),
           ("Pre-Qingming Longjing green tea {0}", "Anji white tea {0}", "Lapsang souchong black tea {0} {1}"),
           "090210", "千克", ("CY-{n3}", "TEA{n4}"),
           (("净含量", ("250g", "500g", "1kg")), ("等级", ("特级|premium", "一级|grade 1"))),
           (80, 1200), (10, 20, 50), False, "GB/T 18650-2008", ("OTHER", "ISO9001"),
           ("高山茶园", "手工炒制", "真空锡箔包装")),
        _k("坚果", "NT", ("新疆纸皮核桃 {0}", "原味混合坚果 {0} {1}"),
           ("Xinjiang thin-shell walnuts {0}", "Unsalted mixed nuts {0} {1}"),
           "080232", "千克", ("HT-{n3}", "NT{n4}"),
           (("规格", ("500g", "1kg", "5kg")), ("等级", ("一级|grade 1", "特级|premium"))),
           (18, 90), (100, 300, 500), False, "GB 19300-2014", ("OTHER",),
           ("当季新货", "颗粒饱满", "无添加")),
        _k("罐头", "CN", ("黄桃罐头 {0}", "糖水橘子罐头 {0} {1}"),
           ("Canned yellow peaches {0}", "Canned mandarin oranges {0} {1}"),
           "200870", "箱", ("GT-{n3}", "CN{n4}"),
           (("规格", ("425g×12罐|425 g × 12 cans", "820g×6罐|820 g × 6 cans")), ("糖度", ("低糖|low sugar", "轻糖|light syrup"))),
           (28, 96), (100, 300, 500), False, "GB 7098-2015", ("OTHER", "ISO9001"),
           ("当季鲜果加工", "无防腐剂", "出口标准")),
        _k("饼干", "BS", ("苏打饼干 {0}", "丹麦风味黄油曲奇 {0} {1}"),
           ("Soda crackers {0}", "Danish-style butter cookies {0} {1}"),
           "190590", "箱", ("BG-{n3}", "BS{n4}"),
           (("规格", ("400g", "908g", "1kg")), ("口味", ("原味|original", "海盐|sea salt", "芝麻|sesame"))),
           (25, 120), (100, 300, 500), False, "GB 7100-2015", ("OTHER",),
           ("酥脆可口", "独立小包装", "保质期12个月")),
        _k("酱油", "SS", ("特级酿造酱油 {0}", "零添加酱油 {0} {1}"),
           ("Premium naturally brewed soy sauce {0}", "Additive-free soy sauce {0} {1}"),
           "210310", "箱", ("JY-{n3}", "SS{n4}"),
           (("规格", ("500ml×12瓶|500 ml × 12", "1.9L×6瓶|1.9 L × 6")), ("类型", ("头道|first-press", "老抽|dark"))),
           (36, 180), (50, 100, 300), False, "GB/T 18186-2000", ("ISO9001", "OTHER"),
           ("高盐稀态发酵", "氨基酸态氮≥1.2g/100ml", "非转基因大豆")),
    ),
}

#: a trade word per category, for company names (深圳鑫达电器有限公司)
CATEGORY_TRADE_WORDS = {
    "small_appliances": ("电器", "家用电器", "电子电器"), "textiles": ("服饰", "针织", "纺织"),
    "footwear": ("鞋业", "鞋服"), "hardware": ("五金工具", "工具", "五金制品"), "furniture": ("家具", "家居"),
    "toys": ("玩具", "玩具礼品"), "lighting": ("照明", "光电科技", "灯饰"),
    "auto_parts": ("汽车配件", "汽车零部件", "车业"), "luggage": ("箱包", "皮具"),
    "electronics": ("电子科技", "数码科技", "智能科技"), "kitchenware": ("厨具", "日用品", "不锈钢制品"),
    "sports": ("体育用品", "户外用品", "健身器材"), "building_materials": ("建材", "陶瓷", "新型材料"),
    "machinery": ("机械", "机电设备", "泵业"), "chemicals_plastics": ("塑业", "日化", "包装材料"),
    "food": ("食品", "农产品", "茶业"),
}
#: listings per category (relative weights)
CATEGORY_WEIGHTS = {
    "small_appliances": 10, "textiles": 9, "electronics": 9, "hardware": 8, "lighting": 7, "kitchenware": 7,
    "furniture": 6, "toys": 6, "auto_parts": 6, "luggage": 6, "footwear": 5, "sports": 5,
    "building_materials": 5, "machinery": 4, "chemicals_plastics": 4, "food": 3,
}
BRANDS = (
    ("鑫达", "Xinda"), ("华美", "Huamei"), ("美途", "Meitu"), ("利信", "Lixin"), ("宏盛", "Hongsheng"),
    ("金鹏", "Jinpeng"), ("恒通", "Hengtong"), ("欧瑞", "Ourui"), ("佳宝", "Jiabao"), ("德力", "Deli"),
    ("永泰", "Yongtai"), ("新光", "Xinguang"), ("凯丰", "Kaifeng"), ("海燕", "Haiyan"), ("锦程", "Jincheng"),
    ("顺发", "Shunfa"), ("天宇", "Tianyu"), ("博远", "Boyuan"), ("安科", "Anke"), ("雅居", "Yaju"),
    ("优品", "Youpin"), ("康达", "Kangda"), ("瑞丰", "Ruifeng"), ("联创", "Lianchuang"), ("星辰", "Xingchen"),
    ("富源", "Fuyuan"), ("中汇", "Zhonghui"), ("长青", "Changqing"), ("宝狮", "Baoshi"), ("达瑞", "Darui"),
)
#: (province code, city code, weight): real GB/T 2260 codes, the coastal export provinces first
PLACES = (
    ("440000", "440300", 9), ("440000", "440100", 6), ("440000", "441900", 6), ("440000", "440600", 5),
    ("440000", "442000", 3), ("440000", "445100", 2),
    ("330000", "330200", 7), ("330000", "330100", 5), ("330000", "330700", 6), ("330000", "330300", 4),
    ("330000", "331000", 4), ("330000", "330400", 2),
    ("320000", "320500", 6), ("320000", "320200", 3), ("320000", "320400", 3), ("320000", "320100", 2),
    ("320000", "320600", 2),
    ("350000", "350200", 4), ("350000", "350500", 4), ("350000", "350100", 2),
    ("370000", "370200", 5), ("370000", "370600", 2), ("370000", "370100", 2), ("370000", "371300", 2),
    ("310000", "310100", 5), ("120000", "120100", 2), ("110000", "110100", 1),
    ("130000", "130600", 2), ("130000", "130100", 1), ("210000", "210200", 2),
    ("340000", "340100", 2), ("360000", "360100", 1), ("410000", "410100", 2), ("420000", "420100", 2),
    ("430000", "430100", 1), ("500000", "500100", 1), ("510000", "510100", 1), ("450000", "450100", 1),
)
#: former export markets: code, tariff before and after, when the rise took effect
TARIFF_STEPS = (
    ("US", "7.5", "52.5", 2025, 4), ("US", "25", "70", 2025, 5), ("US", "3.4", "48.4", 2025, 4),
    ("DE", "2.7", "22.1", 2025, 7), ("FR", "4", "23.5", 2025, 7), ("NL", "3.7", "21.2", 2025, 7),
    ("CA", "6", "31", 2025, 10), ("MX", "15", "35", 2026, 1), ("IT", "2.7", "22.1", 2025, 7),
    ("GB", "4", "16", 2025, 9), ("PL", "3.7", "21.2", 2025, 7), ("AU", "5", "15", 2025, 11),
)
DOMESTIC_SENTENCES = (
    "现转内销，面向国内批发商、商超和电商平台供货，可开增值税专用发票。",
    "现寻求国内采购商，支持贴牌和小批量试单，可开增值税专用发票。",
    "工厂转型内销，已按国内标准完成标签和包装调整，欢迎国内经销商洽谈。",
    "出口订单取消后库存转内销，价格优惠，支持验厂和样品确认。",
    "现面向国内市场供货，可配合直播电商和社区团购渠道。",
)
FILLER_SENTENCES = (
    "工厂直供，品质稳定。", "支持OEM和ODM定制。", "可提供样品及第三方检测报告。", "包装可按客户要求定制。",
    "量大从优，欢迎来电洽谈。", "每件产品出厂前全检。", "拥有自营工厂和专业质检团队。", "支持一件代发。",
    "适合商超、电商和礼品渠道。", "交货准时，售后有保障。", "生产线通过ISO体系审核。", "外贸品质，内销价格。",
)
LOCATIONS = ("港口仓库", "工厂仓库", "保税仓")
START = datetime(2025, 1, 1, tzinfo=UTC)
SPAN_SECONDS = int((datetime(2027, 1, 1, tzinfo=UTC) - START).total_seconds())


@dataclass(frozen=True)
class Company:
    """A generated exporter."""

    id: int
    name: str
    category: str
    brand: tuple[str, str]
    province: str
    city: str
    verified: bool
    iso9001: bool


@cache
def kinds_by_category() -> dict[str, tuple[ProductKind, ...]]:
    """Every category code but "other" → its kinds of goods (the demo industries' and ``EXTRA_KINDS``)."""
    result = {INDUSTRY_CATEGORY[industry]: kinds for industry, kinds in KINDS.items()}
    for code, kinds in EXTRA_KINDS.items():
        result[code] = result.get(code, ()) + kinds
    return result


@cache
def kind_categories() -> dict[str, str]:
    """Kind name → category code (kind names are unique across categories)."""
    result: dict[str, str] = {}
    for code, kinds in kinds_by_category().items():
        for kind in kinds:
            if kind.name in result:
                raise ValueError(f"kind {kind.name!r} appears twice")
            result[kind.name] = code
    return result


@cache
def category_names() -> dict[str, tuple[str, str]]:
    """Category code → (Chinese name from the zh_CN catalog, English name = the msgid)."""
    from babel.messages.pofile import read_po

    from marketplace.catalog.categories import CATEGORIES

    with PO_FILE.open("rb") as handle:
        catalog = read_po(handle)
    names = {}
    for category in CATEGORIES:
        english = category.label._args[0]  # the lazy string's msgid: no app or request needed
        message = catalog.get(english)
        names[category.code] = ((message.string if message and message.string else english), english)
    return names


@cache
def _hs_names(code: str) -> tuple[str, ...]:
    from marketplace.catalog import hs

    names = []
    for prefix in (code[:2], code[:4]):
        entry = hs.lookup(prefix)
        if entry:
            names.append(entry.name_zh or entry.name_en)
    return tuple(names)


@cache
def _city_short_names() -> dict[str, str]:
    """City code → short name for company names (深圳市 → 深圳; a municipality's district row → 上海)."""
    import csv

    path = ROOT / "marketplace" / "data" / "gbt2260_province_city.csv"
    names = {}
    with path.open(encoding="utf-8-sig") as handle:
        for row in csv.DictReader(handle):
            name = row["province_name"] if row["is_placeholder"] == "1" else row["name"]
            names[row["code6"]] = name.removesuffix("市").removesuffix("省")
    return names


def make_companies(count: int, rng: random.Random) -> list[Company]:
    """``count`` exporters: the first 16 cover every category once, the rest follow the category weights."""
    codes = sorted(CATEGORY_WEIGHTS)
    weights = [CATEGORY_WEIGHTS[c] for c in codes]
    places = [(p, c) for p, c, _w in PLACES]
    place_weights = [w for _p, _c, w in PLACES]
    short = _city_short_names()
    companies, seen = [], set()
    for index in range(count):
        category = codes[index] if index < len(codes) else rng.choices(codes, weights)[0]
        province, city = rng.choices(places, place_weights)[0]
        brand = rng.choice(BRANDS)
        name = f"{short[city]}{brand[0]}{rng.choice(CATEGORY_TRADE_WORDS[category])}有限公司"
        while name in seen:
            name = name.replace("有限公司", f"{rng.choice('一二三四五六七八九')}厂有限公司", 1)
        seen.add(name)
        companies.append(Company(index + 1, name, category, brand, province, city,
                                 verified=rng.random() < VERIFIED_SHARE, iso9001=rng.random() < 0.3))
    return companies


def _model(rng: random.Random, pattern: str) -> str:
    for count in (2, 3, 4):
        while f"{{n{count}}}" in pattern:
            pattern = pattern.replace(f"{{n{count}}}", str(rng.randint(10 ** (count - 1), 10**count - 1)), 1)
    return pattern


def _price_fen(rng: random.Random, low: float, high: float) -> int:
    yuan = rng.uniform(low, high)
    if yuan >= 100:
        return int(round(yuan)) * 100
    return (int(yuan) * 10 + rng.choice((0, 5, 8, 9))) * 10


def _description(rng: random.Random, kind: ProductKind, title: str, specs: list[tuple[str, str]], model: str,
                 brand: str | None, moq: int) -> str:
    """~150–250 characters: features, materials and spec values, the former market, domestic sale."""
    code, old, new, year, month = rng.choice(TARIFF_STEPS)
    market = MARKET_NAMES_ZH.get(code, code)
    features = "，".join(rng.sample(kind.features, min(len(kind.features), rng.randint(2, 4))))
    parts = [
        f"{title}。", f"{features}。",
        "产品参数：" + "，".join(f"{key}{value}" for key, value in specs) + "。",
        f"型号{model}" + (f"，品牌{brand}" if brand else "") + f"，起订量{moq}{kind.unit}。",
        f"产品原出口{market}，{year}年{month}月起{market}关税由{old}%升至{new}%，订单大幅减少。",
        rng.choice(DOMESTIC_SENTENCES),
    ]
    if rng.random() < 0.6:
        parts.append(f"现货约{moq * rng.randint(2, 40)}{kind.unit}，存放于{rng.choice(LOCATIONS)}。")
    else:
        parts.append(f"按单生产，交期约{rng.randint(15, 45)}天。")
    target = rng.randint(150, 240)
    text = "".join(parts)
    fillers = list(FILLER_SENTENCES)
    rng.shuffle(fillers)
    while len(text) < target and fillers:
        text += fillers.pop()
    if len(text) > 250:  # cut at the last full stop that keeps it within 250 characters
        cut = text.rfind("。", 0, 250)
        text = text[:cut + 1] if cut >= 150 else text[:250]
    return text


def generate_products(n: int, seed: int = 2025) -> Iterator[ProductRecord]:
    """``n`` realistic Chinese product listings, ids 1..n; the same ``n`` and ``seed`` give the same records."""
    rng = random.Random(seed)
    companies = make_companies(max(len(CATEGORY_WEIGHTS), round(n / PRODUCTS_PER_COMPANY)), rng)
    # the category first (stable shares even in small sets), then one of its exporters: a few large, many small
    codes = sorted(CATEGORY_WEIGHTS)
    category_cum = list(accumulate(CATEGORY_WEIGHTS[c] for c in codes))
    members: dict[str, list[Company]] = {code: [] for code in codes}
    for company in companies:
        members[company.category].append(company)
    member_cum = {code: list(accumulate(min(rng.paretovariate(1.2), 25.0) for _ in group))
                  for code, group in members.items()}
    by_category = kinds_by_category()
    names = category_names()
    for product_id in range(1, n + 1):
        if product_id <= len(companies):  # every company lists at least one product
            company = companies[product_id - 1]
        else:
            code = rng.choices(codes, cum_weights=category_cum)[0]
            company = rng.choices(members[code], cum_weights=member_cum[code])[0]
        kind = rng.choice(by_category[company.category])
        chosen = [rng.choice(options) for _key, options in kind.specs]
        values_zh = [value.split("|")[0] for value in chosen]
        values_en = [value.split("|")[-1] for value in chosen]
        specs = [(key, value) for (key, _options), value in zip(kind.specs, values_zh, strict=True)]
        pattern = rng.randrange(len(kind.titles_zh))
        title_zh = kind.titles_zh[pattern].format(*values_zh)
        title_en = kind.titles_en[pattern].format(*values_en)
        brand_zh, brand_en = company.brand
        if rng.random() < 0.5:
            title_zh, title_en = f"{brand_zh}{title_zh}", f"{brand_en} {title_en}"
        brand = brand_zh if rng.random() < 0.85 else None
        model = _model(rng, rng.choice(kind.models))
        moq = rng.choice(kind.moq)
        certs = {"OTHER" if cert == "ETL" else cert
                 for cert in rng.sample(kind.certs, rng.randint(0, len(kind.certs)))}
        if kind.ccc and rng.random() < 0.7:
            certs.add("CCC")
        if company.iso9001:
            certs.add("ISO9001")
        description_zh: str | None = _description(rng, kind, title_zh, specs, model, brand, moq)
        market_en = MARKET_NAMES_EN.get(rng.choice(TARIFF_STEPS)[0], "US")
        description_en: str | None = (f"{title_en}. Model {model}. Made for the {market_en} market, now offered to "
                                      f"buyers in China; MOQ {moq}.")
        english_only = rng.random() < ENGLISH_ONLY_SHARE
        if english_only:
            title_zh, title_en, description_zh = title_en, None, None
        elif rng.random() < 0.3:
            title_en, description_en = None, None
        elif rng.random() < 0.6:
            description_en = None
        yield ProductRecord(
            id=product_id,
            sku=f"{kind.sku}-{product_id:06d}",
            company_id=company.id,
            company_name=company.name,
            title_zh=title_zh,
            title_en=title_en,
            description_zh=description_zh,
            description_en=description_en,
            category=company.category,
            category_names=names[company.category],
            hs_code=kind.hs,
            hs_names=_hs_names(kind.hs),
            brand=brand,
            model=model,
            specs=tuple(specs),
            province=company.province,
            city=company.city,
            certifications=tuple(sorted(certs)),
            price_fen=_price_fen(rng, *kind.price),
            moq=moq,
            tariff_hit=rng.random() < TARIFF_HIT_SHARE,
            domestic_ready=rng.random() < DOMESTIC_READY_SHARE,
            verified=company.verified,
            published_at=START + timedelta(seconds=rng.randrange(SPAN_SECONDS)),
            extra={"kind": kind.name},
        )
