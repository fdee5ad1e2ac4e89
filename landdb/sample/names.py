"""Fictitious Chinese names: county, townships, villages, companies, projects, land uses."""

from __future__ import annotations

import random
from collections.abc import Sequence

COUNTY_NAME = "示范县"
COUNTY_CODE = "411599"  # fictitious: 信阳 prefecture (4115), unused county number 99
PROVINCE_AUTHORITY = "河南省人民政府"
STATE_AUTHORITY = "国务院"
BUREAU = "示范县自然资源局"

TOWNSHIPS = ["城关镇", "东岳镇", "南湖乡", "西河乡", "北岗镇", "桃园乡", "柳林镇", "青石乡"]

VILLAGES = [
    "张庄村", "李湾村", "王岗村", "刘楼村", "陈寨村", "杨店村", "赵集村", "黄营村", "周岭村",
    "吴洼村", "孙庙村", "马桥村", "朱堂村", "胡湾村", "郭庄村", "何寨村", "高岗村", "林楼村",
    "罗店村", "郑集村", "梁庄村", "宋湾村", "谢岗村", "韩楼村", "唐寨村", "冯店村", "于庄村",
    "董湾村", "萧岗村", "程楼村",
]

SURVEYORS = ["示范县自然资源局", "示范县宏图测绘有限公司", "河南淮源勘测规划设计有限公司"]

FIRM_WORDS = [
    "恒通", "鑫源", "华丰", "宏达", "金桥", "瑞祥", "天成", "润泽", "永盛", "嘉禾", "豫淮",
    "众鑫", "信达", "兴业", "博远", "康盛", "绿源", "昌隆", "富民", "卓越", "德隆", "合力",
    "安泰", "利民", "祥和", "宏图", "凯旋", "盛世", "锦程", "汇川",
]

INDUSTRIES = [
    ("食品", "吨食品加工"), ("纺织", "万锭纺纱"), ("服装", "万件服装"), ("机械制造", "台农机"),
    ("新型建材", "立方米加气砖"), ("电子科技", "万套电子元件"), ("农产品加工", "吨粮食加工"),
    ("木业", "立方米板材"), ("包装", "吨纸箱"), ("新材料", "吨新材料"),
    ("汽车配件", "万套汽车配件"), ("塑料制品", "吨塑料制品"),
]
ESTATES = ["花园", "名苑", "华府", "家园", "新城", "雅居", "锦苑", "御景", "学府", "康城"]
SHOPS = ["商贸城", "商业广场", "综合市场", "酒店", "商务中心", "农贸市场"]
PUBLIC_USERS = [
    ("示范县教育体育局", "第{n}实验小学建设项目", "教育用地", "0803"),
    ("示范县卫生健康委员会", "人民医院{n}号病房楼项目", "医疗卫生用地", "0805"),
    ("示范县住房和城乡建设局", "污水处理厂{n}期工程", "公用设施用地", "0809"),
    ("示范县城市管理局", "{n}号垃圾中转站项目", "公用设施用地", "0809"),
    ("示范县城市投资发展有限公司", "城区{n}号公园建设项目", "公园与绿地", "0810"),
    ("示范县交通运输局", "城区{n}号道路工程", "城镇村道路用地", "1004"),
    ("示范县民政局", "第{n}养老服务中心项目", "社会福利用地", "0806"),
    ("示范县人民政府办公室", "{n}号便民服务中心项目", "机关团体用地", "0801"),
]
BANKS = ["示范县农村商业银行股份有限公司", "示范县淮源村镇银行股份有限公司"]
INSPECTORS = ["张伟", "王芳", "李强", "刘洋", "陈静", "杨帆", "赵磊", "黄敏"]

# land use name → (GB/T 21010-2017 code, GB/T 21010-2007 code)
LAND_USE_CODES = {
    "工业用地": ("0601", "061"),
    "仓储用地": ("0604", "063"),
    "城镇住宅用地": ("0701", "071"),
    "零售商业用地": ("0501", "051"),
    "商务金融用地": ("0505", "052"),
    "教育用地": ("0803", "083"),
    "医疗卫生用地": ("0805", "084"),
    "社会福利用地": ("0806", "084"),
    "公用设施用地": ("0809", "086"),
    "公园与绿地": ("0810", "087"),
    "城镇村道路用地": ("1004", "105"),
    "机关团体用地": ("0801", "081"),
}

TERM_YEARS = {"工业用地": 50, "仓储用地": 50, "城镇住宅用地": 70, "零售商业用地": 40,
              "商务金融用地": 40}

# 变更调查 地类
SURVEY_CLASSES = {
    "0101": "水田", "0102": "水浇地", "0103": "旱地", "0201": "果园", "0301": "乔木林地",
    "0601": "工业用地", "0701": "城镇住宅用地", "0702": "农村宅基地", "1004": "城镇村道路用地",
    "1104": "坑塘水面",
}


def make_project(rng, use: str) -> tuple[str, str]:
    """(项目名称, 土地使用权人) for a supply of ``use``."""
    firm = FIRM_WORDS[int(rng.integers(len(FIRM_WORDS)))]
    if use in ("工业用地", "仓储用地"):
        ind, product = INDUSTRIES[int(rng.integers(len(INDUSTRIES)))]
        if use == "仓储用地":
            return f"{firm}物流园仓储中心项目", f"示范县{firm}物流有限公司"
        n = int(rng.choice([1, 2, 3, 5, 10, 20, 30, 50]))
        return f"{firm}年产{n}万{product}项目", f"示范县{firm}{ind}有限公司"
    if use == "城镇住宅用地":
        estate = ESTATES[int(rng.integers(len(ESTATES)))]
        return f"{firm}{estate}住宅小区项目", f"示范县{firm}置业有限公司"
    if use in ("零售商业用地", "商务金融用地"):
        shop = SHOPS[int(rng.integers(len(SHOPS)))]
        return f"{firm}{shop}项目", f"示范县{firm}商贸有限公司"
    for user, project, puse, _code in PUBLIC_USERS:
        if puse == use:
            return "示范县" + project.format(n=int(rng.integers(1, 9))), user
    user, project, _puse, _code = PUBLIC_USERS[int(rng.integers(len(PUBLIC_USERS)))]
    return "示范县" + project.format(n=int(rng.integers(1, 9))), user


class Counters:
    """Business keys: numbered per year, never reused, shared by planted and background data."""

    def __init__(self, rng, dense: bool = False) -> None:
        self.rng = rng
        self.dense = dense
        self._n: dict[tuple[str, int], int] = {}

    def next(self, kind: str, year: int, sparse: bool = True) -> int:
        key = (kind, year)
        if key not in self._n:
            self._n[key] = int(self.rng.integers(1, 30)) if sparse and not self.dense else 1
        elif sparse and not self.dense:
            self._n[key] += int(self.rng.integers(1, 20))
        else:
            self._n[key] += 1
        return self._n[key]

    def pzwh(self, year: int, state: bool = False) -> str:
        if state:
            prefix = "国土资函" if year < 2018 else "自然资函"
            return f"{prefix}〔{year}〕{self.next(prefix, year)}号"
        return f"豫政土〔{year}〕{self.next('豫政土', year)}号"

    def batch_seq(self, year: int) -> int:
        return self.next("批次序号", year, sparse=False)

    def dzjgh(self, year: int) -> str:
        n = self.next("电子监管号", year, sparse=False) + 100
        letter = "BCDEFGHJKLMN"[n // 100_000]
        return f"{COUNTY_CODE}{year}{letter}{n % 100_000:05d}"

    def contract_no(self, year: int) -> str:
        return f"示出让合〔{year}〕{self.next('合同', year, sparse=False)}号"

    def allocation_no(self, year: int) -> str:
        return f"示划拨〔{year}〕{self.next('划拨', year, sparse=False)}号"

    def notice_no(self, year: int) -> str:
        return f"示征公〔{year}〕{self.next('征收公告', year, sparse=False)}号"


class FastRng:
    """The scalar draws of ``numpy.random.Generator`` used here, on ``random.Random``.

    Per call it is some ten times cheaper, which matters for a million supplies.
    """

    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)

    def integers(self, lo: int, hi: int | None = None) -> int:
        if hi is None:
            lo, hi = 0, lo
        return lo + int(self.r.random() * (hi - lo))

    def random(self) -> float:
        return self.r.random()

    def uniform(self, lo: float, hi: float) -> float:
        return self.r.uniform(lo, hi)

    def choice(self, seq: Sequence, p: Sequence[float] | None = None):
        if p is None:
            return seq[self.r.randrange(len(seq))]
        return self.r.choices(seq, weights=p)[0]

    def choices(self, seq: Sequence, p: Sequence[float], k: int) -> list:
        return self.r.choices(seq, weights=p, k=k)

    def dirichlet(self, alpha: Sequence[float]) -> list[float]:
        g = [self.r.gammavariate(a, 1.0) for a in alpha]
        total = sum(g)
        return [x / total for x in g]
