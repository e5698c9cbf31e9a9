"""``flask demo load``: deterministic demo data in Chinese (Faker zh_CN, seeded).

Owns: the demo companies, users, tags, tariff exposures and products (the goods themselves
are described in ``demo_products``). This loader is the one place allowed to construct rows
without the services: it writes a whole, consistent world into an empty database in one
transaction. The same seed gives the same data; only timestamps (``created_at``,
``verified_at``, ``published_at``) follow the clock.

Requests and intents come with their features.
"""
from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import click
import sqlalchemy as sa
from faker import Faker
from flask import current_app
from flask.cli import with_appcontext
from werkzeug.security import generate_password_hash

from marketplace import regions
from marketplace.accounts.cli import format_table
from marketplace.accounts.models import (
    Company,
    CompanyKind,
    CompanyTag,
    CompanyTagKind,
    Role,
    TariffExposure,
    User,
    Verification,
)
from marketplace.accounts.uscc_gen import make_uscc
from marketplace.database import utcnow
from marketplace.errors import Conflict
from marketplace.extensions import db

logger = logging.getLogger(__name__)

DEFAULT_COMPANIES = 40
DEFAULT_PRODUCTS = 200
DEFAULT_SEED = 2025
#: organizer, one exporter, one of each buyer kind
MIN_COMPANIES = 6

DEMO_DOMAIN = "demo.rongtong.cn"
DEMO_PASSWORD = "demo12345"  # noqa: S105 (published in the README on purpose)

#: the fixed logins: (key, role shown in the table, e-mail)
EXPORTER_EMAIL = f"exporter@{DEMO_DOMAIN}"
BUYER_EMAIL = f"buyer@{DEMO_DOMAIN}"
RETAILER_EMAIL = f"retailer@{DEMO_DOMAIN}"
ORGANIZER_EMAIL = f"organizer@{DEMO_DOMAIN}"
ADMIN_EMAIL = f"admin@{DEMO_DOMAIN}"
DEMO_LOGIN_ROLES = (
    ("exporter", EXPORTER_EMAIL),
    ("buyer (chain leader)", BUYER_EMAIL),
    ("retailer", RETAILER_EMAIL),
    ("organizer", ORGANIZER_EMAIL),
    ("platform admin", ADMIN_EMAIL),
)

# --- the world the data is drawn from --------------------------------------------------------

#: export industries: company-name words (zh, en), typical products, idle-capacity unit
INDUSTRIES = {
    "小家电": {
        "words": [("电器", "Electric Appliance"), ("家用电器", "Household Appliances"), ("电子电器", "Electrical Appliances")],
        "products": ["空气炸锅", "电饭煲", "电热水壶", "吹风机", "破壁料理机", "电暖器", "加湿器"],
        "unit": "万台",
    },
    "纺织服装": {
        "words": [("服饰", "Apparel"), ("针织", "Knitting"), ("纺织", "Textile")],
        "products": ["针织T恤", "羽绒服", "牛仔裤", "运动服", "床上用品", "毛巾"],
        "unit": "万件",
    },
    "五金工具": {
        "words": [("五金工具", "Hardware Tools"), ("工具", "Tools"), ("五金制品", "Hardware Products")],
        "products": ["电钻", "扳手套装", "不锈钢合页", "园林工具", "卷尺", "手动工具套装"],
        "unit": "万套",
    },
    "家具": {
        "words": [("家具", "Furniture"), ("家居", "Home Furnishing")],
        "products": ["实木餐桌", "办公椅", "布艺沙发", "户外家具", "床垫", "书柜"],
        "unit": "千套",
    },
    "玩具": {
        "words": [("玩具", "Toys"), ("玩具礼品", "Toys & Gifts")],
        "products": ["毛绒玩具", "积木", "遥控车", "益智玩具", "节日礼品", "塑胶玩具"],
        "unit": "万件",
    },
    "LED照明": {
        "words": [("照明", "Lighting"), ("光电科技", "Optoelectronic Technology"), ("灯饰", "Lighting Fixtures")],
        "products": ["LED灯泡", "LED筒灯", "LED灯带", "太阳能庭院灯", "吸顶灯", "投光灯"],
        "unit": "万只",
    },
    "汽车配件": {
        "words": [("汽车配件", "Auto Parts"), ("汽车零部件", "Auto Components"), ("车业", "Auto Accessories")],
        "products": ["刹车片", "雨刮器", "机油滤清器", "汽车灯具", "减震器", "汽车脚垫"],
        "unit": "万件",
    },
    "箱包": {
        "words": [("箱包", "Luggage & Bags"), ("皮具", "Leather Goods")],
        "products": ["拉杆箱", "双肩包", "手提包", "旅行袋", "钱包", "电脑包"],
        "unit": "万个",
    },
}


@dataclass(frozen=True)
class Place:
    """A city with its code, the name used in company names, pinyin and real districts."""

    code: str
    short: str
    pinyin: str
    districts: tuple[str, ...]
    industries: tuple[str, ...] = ()
    weight: int = 1


#: manufacturing clusters of the exporters (GB/T 2260 city codes)
EXPORTER_PLACES = (
    Place("440300", "深圳", "Shenzhen", ("宝安区", "龙岗区", "龙华区", "光明区"), ("小家电", "LED照明", "玩具"), 4),
    Place("441900", "东莞", "Dongguan", ("长安镇", "虎门镇", "厚街镇", "大朗镇"), ("玩具", "家具", "五金工具", "纺织服装"), 3),
    Place("440600", "佛山", "Foshan", ("顺德区", "南海区", "禅城区"), ("小家电", "家具", "五金工具"), 3),
    Place("442000", "中山", "Zhongshan", ("古镇镇", "小榄镇", "南头镇"), ("LED照明", "小家电"), 2),
    Place("330200", "宁波", "Ningbo", ("慈溪市", "余姚市", "鄞州区", "北仑区"), ("小家电", "汽车配件", "五金工具"), 3),
    Place("330700", "义乌", "Yiwu", ("义乌市稠城街道", "义乌市北苑街道", "义乌市佛堂镇"), ("玩具", "箱包", "纺织服装"), 3),
    Place("330300", "温州", "Wenzhou", ("瑞安市", "乐清市", "鹿城区"), ("汽车配件", "箱包", "纺织服装"), 2),
    Place("331000", "台州", "Taizhou", ("玉环市", "温岭市", "黄岩区", "路桥区"), ("汽车配件", "五金工具"), 2),
    Place("320500", "苏州", "Suzhou", ("吴江区", "常熟市", "昆山市"), ("纺织服装", "LED照明"), 2),
    Place("320200", "无锡", "Wuxi", ("江阴市", "惠山区", "锡山区"), ("纺织服装", "五金工具"), 1),
    Place("350500", "泉州", "Quanzhou", ("晋江市", "石狮市", "南安市"), ("纺织服装", "箱包"), 2),
    Place("350200", "厦门", "Xiamen", ("集美区", "海沧区", "同安区"), ("LED照明", "五金工具"), 1),
    Place("370200", "青岛", "Qingdao", ("即墨区", "黄岛区", "城阳区"), ("纺织服装", "小家电"), 1),
)

#: where the buyers sit
BUYER_PLACES = (
    Place("310100", "上海", "Shanghai", ("浦东新区", "闵行区", "静安区")),
    Place("110100", "北京", "Beijing", ("朝阳区", "海淀区", "丰台区")),
    Place("440100", "广州", "Guangzhou", ("天河区", "白云区", "番禺区")),
    Place("330100", "杭州", "Hangzhou", ("余杭区", "萧山区", "滨江区")),
    Place("320100", "南京", "Nanjing", ("江宁区", "鼓楼区", "建邺区")),
    Place("510100", "成都", "Chengdu", ("武侯区", "高新区", "双流区")),
    Place("420100", "武汉", "Wuhan", ("江汉区", "洪山区", "东西湖区")),
    Place("500100", "重庆", "Chongqing", ("渝北区", "九龙坡区", "江北区")),
    Place("430100", "长沙", "Changsha", ("岳麓区", "雨花区", "开福区")),
    Place("410100", "郑州", "Zhengzhou", ("金水区", "郑东新区", "管城回族区")),
    Place("610100", "西安", "Xi'an", ("雁塔区", "未央区", "高新区")),
    Place("340100", "合肥", "Hefei", ("蜀山区", "包河区", "经开区")),
    Place("440300", "深圳", "Shenzhen", ("南山区", "福田区", "龙岗区")),
    Place("330200", "宁波", "Ningbo", ("鄞州区", "海曙区", "北仑区")),
)

#: trade-name words with their pinyin (ordinary words, no famous brand)
BRANDS = (
    ("鑫达", "Xinda"), ("华美", "Huamei"), ("宏盛", "Hongsheng"), ("永盛", "Yongsheng"),
    ("恒通", "Hengtong"), ("金辉", "Jinhui"), ("瑞丰", "Ruifeng"), ("德利", "Deli"),
    ("嘉禾", "Jiahe"), ("博远", "Boyuan"), ("众诚", "Zhongcheng"), ("天宇", "Tianyu"),
    ("盛世", "Shengshi"), ("海川", "Haichuan"), ("顺昌", "Shunchang"), ("利民", "Limin"),
    ("新锐", "Xinrui"), ("东升", "Dongsheng"), ("远航", "Yuanhang"), ("佳美", "Jiamei"),
    ("精工", "Jinggong"), ("卓越", "Zhuoyue"), ("联创", "Lianchuang"), ("凯达", "Kaida"),
    ("锦华", "Jinhua"), ("明辉", "Minghui"), ("昌盛", "Changsheng"), ("泰和", "Taihe"),
    ("富源", "Fuyuan"), ("荣达", "Rongda"), ("安康", "Ankang"), ("华信", "Huaxin"),
    ("骏马", "Junma"), ("天成", "Tiancheng"), ("银河", "Yinhe"), ("康达", "Kangda"),
    ("星辰", "Xingchen"), ("和润", "Herun"), ("金桥", "Jinqiao"), ("同创", "Tongchuang"),
    ("鸿运", "Hongyun"), ("聚源", "Juyuan"), ("雅达", "Yada"), ("丰泽", "Fengze"),
    ("润泽", "Runze"), ("嘉诚", "Jiacheng"), ("正扬", "Zhengyang"), ("宏图", "Hongtu"),
    ("恒丰", "Hengfeng"), ("兴旺", "Xingwang"), ("华腾", "Huateng"), ("蓝海", "Lanhai"),
    ("德胜", "Desheng"), ("广源", "Guangyuan"), ("旭日", "Xuri"), ("久盛", "Jiusheng"),
    ("百川", "Baichuan"), ("鼎盛", "Dingsheng"), ("万通", "Wantong"), ("金源", "Jinyuan"),
    ("福瑞", "Furui"), ("新宇", "Xinyu"), ("明达", "Mingda"), ("瑞祥", "Ruixiang"),
    ("汇通", "Huitong"), ("春晖", "Chunhui"),
)

#: buyer kinds: name patterns (zh, en), industries with the export categories they buy (None: any three)
BUYER_PROFILES = {
    CompanyKind.CHAIN_LEADER: {
        "names": [("集团股份有限公司", "Group Co., Ltd."), ("集团有限公司", "Group Co., Ltd.")],
        "city_in_name": False,
        "industries": {
            "家电制造": ["小家电", "LED照明", "五金工具"],
            "汽车制造": ["汽车配件", "五金工具", "LED照明"],
            "家居建材": ["家具", "LED照明", "五金工具"],
            "服装品牌": ["纺织服装", "箱包"],
            "消费电子": ["小家电", "LED照明"],
        },
        "about": "{industry}产业链链主企业，牵头带动上下游配套企业。响应“百场万企”对接活动，"
        "开放供应链，面向受关税影响的外贸企业采购{goods}。",
    },
    CompanyKind.LEADING_ENTERPRISE: {
        "names": [("实业股份有限公司", "Industrial Co., Ltd."), ("控股有限公司", "Holdings Co., Ltd.")],
        "city_in_name": True,
        "industries": {
            "家电制造": ["小家电", "五金工具"],
            "纺织服装": ["纺织服装", "箱包"],
            "家居用品": ["家具", "小家电", "LED照明"],
            "汽车后市场": ["汽车配件", "五金工具"],
            "文体用品": ["玩具", "箱包"],
        },
        "about": "{province}{industry}龙头企业，年采购额超过十亿元，现将{goods}纳入国内采购目录。",
    },
    CompanyKind.RETAILER: {
        "names": [
            ("商业连锁有限公司", "Retail Chain Co., Ltd."),
            ("超市有限公司", "Supermarket Co., Ltd."),
            ("百货股份有限公司", "Department Store Co., Ltd."),
            ("电子商务有限公司", "E-commerce Co., Ltd."),
        ],
        "city_in_name": True,
        "industries": {"连锁超市": None, "百货零售": None, "电商零售": None, "家居零售": ["家具", "LED照明", "小家电"]},
        "about": "在{province}经营{stores}家门店，开设“外贸优品”专区，长期采购{goods}。",
    },
    CompanyKind.TRADE_CIRCULATION: {
        "names": [
            ("商贸有限公司", "Trading Co., Ltd."),
            ("供应链管理有限公司", "Supply Chain Management Co., Ltd."),
            ("物资有限公司", "Commodities Co., Ltd."),
        ],
        "city_in_name": True,
        "industries": {"批发贸易": None, "供应链服务": None, "商品流通": None},
        "about": "面向全国{stores}家经销网点的批发流通企业，为出口转内销企业提供分销、仓储和结算服务，"
        "主营{goods}。",
    },
}

#: former export markets and tariff steps (old → new percent, effective date): realistic demo values
MARKET_NAMES = {
    "US": "美国", "DE": "德国", "FR": "法国", "NL": "荷兰", "IT": "意大利",
    "ES": "西班牙", "PL": "波兰", "CA": "加拿大", "MX": "墨西哥",
}
TARIFF_STEPS = {
    "US": [
        (Decimal("7.50"), Decimal("52.50"), date(2025, 4, 10)),
        (Decimal("25.00"), Decimal("55.00"), date(2025, 5, 14)),
        (Decimal("0.00"), Decimal("30.00"), date(2025, 5, 14)),
        (Decimal("7.50"), Decimal("37.50"), date(2025, 3, 4)),
    ],
    "EU": [
        (Decimal("2.70"), Decimal("22.10"), date(2025, 7, 1)),
        (Decimal("4.00"), Decimal("28.50"), date(2025, 9, 15)),
        (Decimal("3.70"), Decimal("17.40"), date(2025, 6, 1)),
    ],
    "CA": [
        (Decimal("6.50"), Decimal("31.50"), date(2025, 10, 1)),
        (Decimal("8.00"), Decimal("33.00"), date(2025, 3, 20)),
    ],
    "MX": [
        (Decimal("15.00"), Decimal("35.00"), date(2025, 11, 1)),
        (Decimal("10.00"), Decimal("30.00"), date(2025, 8, 1)),
    ],
}
EU_MEMBERS = ("DE", "FR", "NL", "IT", "ES", "PL")

ORGANIZER_PLACE = Place("330200", "宁波", "Ningbo", ("鄞州区",))
REJECTION_REASON = "企业名称与统一社会信用代码登记信息不一致，请核对营业执照后重新提交。"
LITTLE_GIANT_SOURCE = "工信部第五批专精特新“小巨人”企业名单"
LITTLE_GIANT_DATE = date(2023, 7, 14)


def _percent(value: Decimal) -> str:
    """7.50 → '7.5', 30.00 → '30'."""
    return format(value.normalize(), "f")


# --- results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoLogin:
    """One row of the demo logins table."""

    role: str
    company: str
    email: str
    password: str = DEMO_PASSWORD


@dataclass
class DemoSummary:
    """What a load created."""

    companies: dict[CompanyKind, int] = field(default_factory=dict)
    users: int = 0
    pending: int = 0
    rejected: int = 0
    products_requested: int = 0
    products_created: int = 0
    products_published: int = 0
    logins: list[DemoLogin] = field(default_factory=list)


class DemoDataPresent(Conflict):
    """The database already holds companies; demo data goes only into an empty one."""


def kind_counts(total: int) -> dict[CompanyKind, int]:
    """How many companies of each kind a load of ``total`` creates (about half exporters)."""
    if total < MIN_COMPANIES:
        raise ValueError(f"at least {MIN_COMPANIES} companies are needed, got {total}")
    exporters = min(total // 2, total - MIN_COMPANIES + 1)  # leave one company for each buyer kind
    rest = total - 1 - exporters
    chain = max(1, round(rest * 0.25))
    leading = max(1, round(rest * 0.2))
    retail = max(1, round(rest * 0.3))
    trade = rest - chain - leading - retail
    if trade < 1:  # small loads: take the missing one from the largest buyer group
        retail -= 1 - trade
        trade = 1
    return {
        CompanyKind.ORGANIZER: 1,
        CompanyKind.EXPORTER: exporters,
        CompanyKind.CHAIN_LEADER: chain,
        CompanyKind.LEADING_ENTERPRISE: leading,
        CompanyKind.RETAILER: retail,
        CompanyKind.TRADE_CIRCULATION: trade,
    }


def demo_tables_exist() -> bool:
    """Whether the database has been upgraded (the accounts tables exist)."""
    inspector = sa.inspect(db.engine)
    return all(inspector.has_table(name) for name in ("companies", "users", "company_tags", "tariff_exposures"))


def count_companies() -> int:
    """How many companies the database holds."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(Company)) or 0


def demo_logins() -> list[DemoLogin]:
    """The fixed demo logins present in the database, in table order."""
    emails = [email for _role, email in DEMO_LOGIN_ROLES]
    users = {u.email: u for u in db.session.scalars(sa.select(User).where(User.email.in_(emails)))}
    return [
        DemoLogin(role, users[email].company.name_zh, email)
        for role, email in DEMO_LOGIN_ROLES
        if email in users
    ]


# --- the loader ---------------------------------------------------------------------------------


class _Builder:
    """Draws every value from one seeded Random and one seeded Faker, in a fixed order."""

    def __init__(self, seed: int, total: int):
        self.rng = random.Random(seed)
        self.fake = Faker("zh_CN")
        self.fake.seed_instance(seed)
        self.names: set[str] = set()
        self.serials = iter(self.rng.sample(range(10**7, 10**8), total))
        self.password_hash = generate_password_hash(DEMO_PASSWORD)  # once: scrypt is slow
        self.kind_index: dict[CompanyKind, int] = {}

    def unique_name(self, make) -> tuple[str, str]:
        """Call ``make()`` (→ zh, en) until the Chinese name is new."""
        for _attempt in range(1000):
            zh, en = make()
            if zh not in self.names:
                self.names.add(zh)
                return zh, en
        raise RuntimeError("could not find a new company name")  # pragma: no cover

    def address(self, place: Place) -> str:
        city = regions.city(place.code)
        province = regions.province(city.province_code)
        prefix = province.name if province.name == city.name else province.name + city.name
        district = self.rng.choice(place.districts)
        return f"{prefix}{district}{self.fake.street_name()}{self.rng.randint(1, 999)}号"

    def company(self, kind: CompanyKind, place: Place, name_zh: str, name_en: str, **fields) -> Company:
        city = regions.city(place.code)
        return Company(
            kind=kind,
            name_zh=name_zh,
            name_en=name_en,
            uscc=make_uscc(next(self.serials), place.code),
            province_code=city.province_code,
            city_code=city.code,
            address=self.address(place),
            contact_phone=self.fake.phone_number(),
            verification=Verification.VERIFIED,
            **fields,
        )

    def admin_user(self, company: Company, email: str | None = None, role: Role = Role.COMPANY_ADMIN,
                   name: str | None = None) -> User:
        index = self.kind_index[company.kind] = self.kind_index.get(company.kind, 0) + 1
        if email is None:
            email = f"{company.kind.value.replace('_', '-')}-{index:03d}@{DEMO_DOMAIN}"
        user = User(company=company, email=email, name=name or self.fake.name(),
                    password_hash=self.password_hash, role=role)
        if company.contact_email is None:
            company.contact_name, company.contact_email = user.name, email
        return user

    # -- exporters --

    def exporter(self, place: Place | None = None, industry: str | None = None, showcase: bool = False) -> Company:
        rng = self.rng
        place = place or rng.choices(EXPORTER_PLACES, weights=[p.weight for p in EXPORTER_PLACES])[0]
        industry = industry or rng.choice(place.industries)
        spec = INDUSTRIES[industry]

        def make():
            (zh_brand, en_brand), (zh_word, en_word) = rng.choice(BRANDS), rng.choice(spec["words"])
            return f"{place.short}{zh_brand}{zh_word}有限公司", f"{place.pinyin} {en_brand} {en_word} Co., Ltd."

        name_zh, name_en = self.unique_name(make)
        products = rng.sample(spec["products"], 3)
        exposures = [self.exposure(market, share) for market, share in self.markets()]
        if showcase:  # the demo exporter's story: the US market, 7.5 % → 52.5 %
            exposures[0] = TariffExposure(market="US", old_rate=Decimal("7.50"), new_rate=Decimal("52.50"),
                                          effective_on=date(2025, 4, 10), revenue_share=Decimal("68.00"))
            exposures = [exposures[0], *(e for e in exposures[1:] if e.market != "US")]
        hit = exposures[0]
        description = (
            f"{rng.randint(1998, 2018)}年成立，专业生产{'、'.join(products)}，产品原主要销往"
            f"{'、'.join(MARKET_NAMES[e.market] for e in exposures)}。2025年{MARKET_NAMES[hit.market]}"
            f"关税由{_percent(hit.old_rate)}%提高到{_percent(hit.new_rate)}%，订单大幅下滑，现有库存和产能寻求国内采购商。"
        )
        return self.company(
            CompanyKind.EXPORTER, place, name_zh, name_en,
            industry=industry,
            description=description,
            stranded_stock_fen=rng.randint(30, 2500) * 10_000 * 100,
            idle_monthly_capacity=f"约{rng.randint(2, 50)}{spec['unit']}/月（{products[0]}）",
            exposures=exposures,
        )

    def markets(self) -> list[tuple[str, Decimal]]:
        """1–3 former markets, the United States most often, with revenue shares."""
        rng = self.rng
        if rng.random() < 0.8:
            chosen = ["US", *rng.sample([*EU_MEMBERS, "CA", "MX"], rng.randint(0, 2))]
        else:
            chosen = rng.sample([*EU_MEMBERS, "CA", "MX"], rng.randint(1, 2))
        shares = [Decimal(rng.randint(60, 140)) / 2]  # 30.0–70.0 %
        shares += [Decimal(rng.randint(10, 25)) / 2 for _ in chosen[1:]]  # 5.0–12.5 %: at most 95 in all
        return list(zip(chosen, shares, strict=True))

    def exposure(self, market: str, share: Decimal) -> TariffExposure:
        old, new, effective = self.rng.choice(TARIFF_STEPS["EU" if market in EU_MEMBERS else market])
        return TariffExposure(market=market, old_rate=old, new_rate=new, effective_on=effective,
                              revenue_share=share.quantize(Decimal("0.01")))

    # -- buyers --

    def buyer(self, kind: CompanyKind) -> Company:
        rng = self.rng
        profile = BUYER_PROFILES[kind]
        place = rng.choice(BUYER_PLACES)

        def make():
            (zh_brand, en_brand), (zh_suffix, en_suffix) = rng.choice(BRANDS), rng.choice(profile["names"])
            if profile["city_in_name"] or rng.random() < 0.2:
                return f"{place.short}{zh_brand}{zh_suffix}", f"{place.pinyin} {en_brand} {en_suffix}"
            return f"{zh_brand}{zh_suffix}", f"{en_brand} {en_suffix}"

        name_zh, name_en = self.unique_name(make)
        industry = rng.choice(sorted(profile["industries"]))
        goods = "、".join(profile["industries"][industry] or rng.sample(sorted(INDUSTRIES), 3))
        city = regions.city(place.code)
        description = profile["about"].format(
            industry=industry, goods=goods, stores=rng.randint(30, 600),
            province=regions.province(city.province_code).name,
        )
        return self.company(kind, place, name_zh, name_en, industry=industry, description=description)


def load_demo_data(companies: int = DEFAULT_COMPANIES, products: int = DEFAULT_PRODUCTS,
                   seed: int = DEFAULT_SEED) -> DemoSummary:
    """Write the demo companies and users into an empty database in one transaction."""
    counts = kind_counts(companies)
    if count_companies():
        raise DemoDataPresent("the database already has companies")
    build = _Builder(seed, companies)
    rng = build.rng
    session = db.session
    try:
        organizer_company = build.company(
            CompanyKind.ORGANIZER, ORGANIZER_PLACE, "宁波市中小企业服务中心", "Ningbo SME Service Center",
            industry="中小企业公共服务",
            description="宁波市中小企业公共服务平台，组织“百场万企”出口转内销专场对接会，"
            "审核平台企业资质并统计对接成效。",
        )
        organizer = build.admin_user(organizer_company, ORGANIZER_EMAIL, Role.ORGANIZER)
        admin = build.admin_user(organizer_company, ADMIN_EMAIL, Role.PLATFORM_ADMIN, name="平台管理员")
        session.add(organizer_company)
        session.flush()  # the organizer's id signs verifications and tags

        # the first exporter is the showcase: small appliances from Ningbo, hit by US tariffs
        exporters = [build.exporter(EXPORTER_PLACES[4], "小家电", showcase=True)]
        exporters += [build.exporter() for _ in range(counts[CompanyKind.EXPORTER] - 1)]
        buyers = {kind: [build.buyer(kind) for _ in range(counts[kind])] for kind in BUYER_PROFILES}

        users = [organizer, admin]
        fixed = {
            id(exporters[0]): EXPORTER_EMAIL,
            id(buyers[CompanyKind.CHAIN_LEADER][0]): BUYER_EMAIL,
            id(buyers[CompanyKind.RETAILER][0]): RETAILER_EMAIL,
        }
        everyone = exporters + [c for kind in BUYER_PROFILES for c in buyers[kind]]
        for company in everyone:
            users.append(build.admin_user(company, fixed.get(id(company))))

        _tag_companies(build, exporters, buyers[CompanyKind.CHAIN_LEADER], organizer)
        pending, rejected = _review_companies(rng, [c for c in everyone if id(c) not in fixed], organizer)
        now = utcnow()
        for company in [organizer_company, *everyone]:
            if company.verification is Verification.VERIFIED:
                company.verified_at, company.verified_by_id = now, organizer.id
        session.add_all(everyone)
        session.flush()
        created, published = _add_products(seed, products, exporters)
        from marketplace.deals.demo import add_demo_intents

        add_demo_intents(seed, exporters[0], [buyers[CompanyKind.CHAIN_LEADER][0], buyers[CompanyKind.RETAILER][0]])
        from marketplace.sourcing.demo import add_demo_requests

        add_demo_requests(seed, exporters, buyers[CompanyKind.CHAIN_LEADER] + buyers[CompanyKind.RETAILER])
        from marketplace.sessions.demo import add_demo_sessions

        add_demo_sessions(seed, organizer, exporters, buyers[CompanyKind.CHAIN_LEADER] + buyers[CompanyKind.RETAILER])
        session.commit()
    except Exception:
        session.rollback()
        raise
    summary = DemoSummary(
        companies=counts, users=len(users), pending=pending, rejected=rejected,
        products_requested=products, products_created=created, products_published=published,
        logins=demo_logins(),
    )
    logger.info("demo data loaded: %d companies, %d users, %d products (seed %d)", companies, len(users),
                created, seed)
    return summary


def _company_brand(company: Company) -> tuple[str, str] | None:
    """The trade name inside the exporter's name (宁波鑫达电器 → 鑫达 / Xinda)."""
    for zh, en in BRANDS:
        if zh in company.name_zh:
            return zh, en
    return None


def _add_products(seed: int, count: int, exporters: list[Company]) -> tuple[int, int]:
    """Add ``count`` products of their industries to the exporters (the showcase gets a larger share).

    Drawn from their own seeded Random, so the companies are the same whatever ``count`` is.
    """
    from marketplace.catalog.models import Product, ProductStatus
    from marketplace.catalog.services import apply_input
    from marketplace.demo_products import Market, make_product

    if not count or not exporters:
        return 0, 0
    rng = random.Random(f"demo-products-{seed}")
    weights = [3] + [1] * (len(exporters) - 1)
    owners = rng.choices(range(len(exporters)), weights=weights, k=count)
    owners.sort()  # each company's products together, in SKU order
    sequence: dict[int, int] = {}
    now = utcnow()
    published = 0
    for index in owners:
        company = exporters[index]
        sequence[index] = sequence.get(index, 0) + 1
        markets = [Market(e.market, _percent(e.old_rate), _percent(e.new_rate), e.effective_on)
                   for e in company.exposures]
        item = make_product(rng, company.industry, sequence[index], _company_brand(company), markets)
        product = Product(company=company, sku=item.values.sku, status=item.status)
        apply_input(product, item.values)
        if item.status is not ProductStatus.DRAFT:
            product.published_at = now
        if item.status is ProductStatus.PUBLISHED:
            published += 1
        db.session.add(product)
    db.session.flush()
    return count, published


def _tag_companies(build: _Builder, exporters: list[Company], chain_leaders: list[Company],
                   organizer: User) -> None:
    """Designations recorded by the organizer: 链主 for chain leaders, 专精特新 / 小巨人 for some exporters."""
    rng = build.rng
    for company in chain_leaders:
        province = regions.province(company.province_code).name
        company.tags.append(CompanyTag(
            tag=CompanyTagKind.CHAIN_LEADER, set_by_id=organizer.id,
            source_document=f"{province}工业和信息化厅 2025年重点产业链链主企业名单",
            granted_on=date(2025, 3, 1) + timedelta(days=rng.randint(0, 120)),
        ))
    for index, company in enumerate(exporters):
        if index == 0 or rng.random() < 0.3:
            province = regions.province(company.province_code).name
            company.tags.append(CompanyTag(
                tag=CompanyTagKind.SPECIALIZED, set_by_id=organizer.id,
                source_document=f"{province}工业和信息化厅 2024年度专精特新中小企业名单",
                granted_on=date(2024, 6, 1) + timedelta(days=rng.randint(0, 150)),
            ))
            if rng.random() < 0.35:
                company.tags.append(CompanyTag(
                    tag=CompanyTagKind.LITTLE_GIANT, set_by_id=organizer.id,
                    source_document=LITTLE_GIANT_SOURCE, granted_on=LITTLE_GIANT_DATE,
                ))


def _review_companies(rng: random.Random, candidates: list[Company], organizer: User) -> tuple[int, int]:
    """Leave a few companies pending (work for the verification queue) and reject one."""
    pending_count = max(1, round(len(candidates) * 0.1))
    chosen = rng.sample(candidates, pending_count + 1)
    for company in chosen[:-1]:
        company.verification = Verification.PENDING
    rejected = chosen[-1]
    rejected.verification = Verification.REJECTED
    rejected.verification_reason = REJECTION_REASON
    rejected.verified_by_id = organizer.id
    return pending_count, 1


# --- command line -------------------------------------------------------------------------------


def format_logins(logins: list[DemoLogin]) -> str:
    """The demo logins as an aligned text table."""
    rows = [{"role": x.role, "company": x.company, "e-mail": x.email, "password": x.password} for x in logins]
    return format_table(rows, columns=("role", "company", "e-mail", "password"))


@click.group()
def demo():
    """Deterministic demo data."""


@demo.command("load")
@click.option("--companies", "companies_count", type=click.IntRange(min=MIN_COMPANIES), default=DEFAULT_COMPANIES,
              show_default=True, help="Companies to create, about half of them exporters.")
@click.option("--products", "products_count", type=click.IntRange(min=0), default=DEFAULT_PRODUCTS,
              show_default=True, help="Products, spread over the demo exporters by industry.")
@click.option("--seed", type=int, default=DEFAULT_SEED, show_default=True, help="Same seed, same data.")
@click.option("--if-empty", is_flag=True, help="Do nothing (and succeed) when the database already has companies.")
@with_appcontext
def demo_load(companies_count: int, products_count: int, seed: int, if_empty: bool):
    """Load deterministic demo data (Chinese) into an empty database and print the demo logins."""
    if current_app.config.get("PRODUCTION"):
        raise click.ClickException(
            "demo data is not loaded in production: it creates a platform administrator whose password "
            "(demo12345) is published in the README")
    if not demo_tables_exist():
        raise click.ClickException("the database has no tables yet: run `flask --app wsgi db upgrade` first")
    if count_companies():
        if not if_empty:
            raise click.ClickException(
                "the database already has companies; demo data is loaded only into an empty database "
                "(use --if-empty to skip quietly)"
            )
        click.echo("demo data already present")
        logins = demo_logins()
        if logins:
            click.echo(format_logins(logins))
        return
    summary = load_demo_data(companies_count, products_count, seed)
    click.echo(f"companies: {sum(summary.companies.values())} (seed {seed})")
    for kind, number in summary.companies.items():
        click.echo(f"  {kind.value}: {number}")
    click.echo(f"verification: {summary.pending} pending, {summary.rejected} rejected, the rest verified")
    click.echo(f"users: {summary.users}")
    click.echo(f"products: {summary.products_created} ({summary.products_published} published)")
    click.echo("")
    click.echo("Demo logins:")
    click.echo(format_logins(summary.logins))
