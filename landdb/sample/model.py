"""Records of the fictitious county, before they are written in the offices' formats."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Optional

from shapely.geometry.base import BaseGeometry

BRACKETS = {
    "〔〕": ("〔", "〕"),
    "[]": ("[", "]"),
    "（）": ("（", "）"),
    "【】": ("【", "】"),
    "()": ("(", ")"),
}


def pzwh_style(pzwh: str, style: str) -> str:
    """Re-write a 批准文号 (canonical 〔〕) with another bracket style."""
    left, right = BRACKETS[style]
    return pzwh.replace("〔", left).replace("〕", right)


@dataclass
class Parcel:
    """One 地块 of an approval batch (exact geometry, working CRS)."""

    number: str
    geom: BaseGeometry
    ownership: str  # 集体 / 国有
    use: str
    village: str = ""


@dataclass
class Batch:
    """An approval batch (批): 城市批次用地 or 单独选址."""

    pzwh: str  # canonical, with 〔〕
    name: str
    approval_date: date
    authority: str
    batch_type: str
    township: str
    parcels: list[Parcel]
    declared_ha: Optional[float] = None  # 批准面积 if it differs from the geometry
    planted: bool = False

    @property
    def area_m2(self) -> float:
        return sum(p.geom.area for p in self.parcels)

    @property
    def approved_ha(self) -> float:
        return self.declared_ha if self.declared_ha is not None else round(self.area_m2 / 1e4, 4)

    def ownership_ha(self, ownership: str) -> float:
        return round(sum(p.geom.area for p in self.parcels if p.ownership == ownership) / 1e4, 4)


@dataclass
class Acquisition:
    """An expropriation (征收) record of part of a batch."""

    notice_no: str
    pzwh: str
    geom: BaseGeometry
    date: date
    ownership: str
    township: str
    village: str

    @property
    def area_ha(self) -> float:
        return round(self.geom.area / 1e4, 4)


@dataclass
class Supply:
    """A supply (供): 出让 contract, 划拨 decision, 租赁 or 作价出资."""

    dzjgh: Optional[str]
    contract_no: Optional[str]
    allocation_no: Optional[str]
    project_name: str
    land_user: str
    method: str  # 挂牌出让 拍卖出让 招标出让 协议出让 划拨 租赁 作价出资
    land_use: str
    land_source: str  # 新增 / 存量
    contract_date: date
    agreed_handover: Optional[date]
    agreed_start: Optional[date]
    agreed_completion: Optional[date]
    township: str
    geom: Optional[BaseGeometry]  # as drawn by the supplying office (None: ledger only)
    area_ha: float = 0.0  # declared 供地面积 (公顷)
    price: Optional[float] = None  # 成交价款 (万元)
    plot_ratio: Optional[float] = None
    location: str = ""
    term_years: Optional[int] = None
    reclaimed_date: Optional[date] = None
    reclaim_doc: Optional[str] = None
    mortgagee: Optional[str] = None
    target: str = "main"  # which shapefile holds the geometry: main | huabo | none
    planted: bool = False

    @property
    def key(self) -> str:
        """电子监管号, else 合同编号 / 划拨决定书编号 (the fallback business key)."""
        return self.dzjgh or self.contract_no or self.allocation_no or ""


@dataclass
class Link:
    """A recorded supply ↔ batch link with its declared area (公顷)."""

    supply: Supply
    pzwh: str
    area_ha: float


@dataclass
class Progress:
    """A development progress record (用): one inspection of a supply."""

    supply: Supply
    observed: date
    actual_handover: Optional[date] = None
    actual_start: Optional[date] = None
    actual_completion: Optional[date] = None
    developed_ha: Optional[float] = None
    invested: Optional[float] = None
    total_investment: Optional[float] = None
    suspended_since: Optional[date] = None
    inspector: str = ""
    remark: str = ""


@dataclass
class Agreement:
    """A supplementary agreement (补充协议) re-fixing agreed start / completion."""

    number: str
    supply: Supply
    signed: date
    agreed_start: Optional[date]
    agreed_completion: Optional[date]
    remark: str = ""


@dataclass
class Withdrawal:
    """撤回 / 调整 / 核销 of (part of) a batch's approval; only 批复 counts."""

    pzwh: str
    doc_no: str
    kind: str
    status: str  # 申报 / 批复
    date: date
    parcel_numbers: list[str]
    area_ha: float
    remark: str = ""


@dataclass
class Patch:
    """A satellite change patch (卫片图斑)."""

    patch_no: str
    period: str
    change_type: str
    prior_date: date
    detected_date: date
    judgement: str
    geom: BaseGeometry
    township: str
    remark: str = ""


@dataclass
class SurveyPatch:
    """A 地类图斑 of the annual change survey (变更调查)."""

    bsm: int
    tbbh: str
    dlbm: str
    dlmc: str
    qsxz: str
    zldwmc: str
    geom: BaseGeometry
    survey_date: date


@dataclass
class IdleCase:
    """A determined idle-land case (闲置土地认定)."""

    case_no: str
    doc_no: str
    supply: Supply
    notice_date: date
    determined_date: date
    cause: str  # 政府原因 企业原因 不可抗力 涉法涉诉
    area_ha: float
    remark: str = ""


@dataclass
class DisposalAction:
    date: date
    text: str
    reporter: str


@dataclass
class DisposalPlan:
    """A disposal plan (一地一策)."""

    plan_id: str
    object_type: str  # 批而未供 / 闲置土地
    pzwh: Optional[str]
    supply: Optional[Supply]
    area_mu: float
    cause_text: str
    measure: str
    units: str
    person: str
    deadline: date
    status: str  # 未启动 / 处置中 / 已销号
    closed_date: Optional[date] = None
    actions: list[DisposalAction] = field(default_factory=list)


@dataclass
class Case:
    """A planted case of the answer key."""

    id: str
    rule: str
    subject: str
    subject_kind: str
    must_raise: list[str]
    must_not_raise: list[str]
    as_of: date
    description: str
    expected: dict[str, Any] = field(default_factory=dict)
    related: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "rule": self.rule,
            "subject": self.subject,
            "subject_kind": self.subject_kind,
            "must_raise": sorted(self.must_raise),
            "must_not_raise": sorted(self.must_not_raise),
            "as_of": self.as_of.isoformat(),
            "description": self.description,
            "expected": self.expected,
            "related": self.related,
        }


@dataclass
class County:
    """Everything generated for the planted part (the background streams separately)."""

    batches: list[Batch] = field(default_factory=list)
    acquisitions: list[Acquisition] = field(default_factory=list)
    supplies: list[Supply] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    progress: list[Progress] = field(default_factory=list)
    agreements: list[Agreement] = field(default_factory=list)
    withdrawals: list[Withdrawal] = field(default_factory=list)
    patches: list[Patch] = field(default_factory=list)
    survey: list[SurveyPatch] = field(default_factory=list)
    idle_cases: list[IdleCase] = field(default_factory=list)
    plans: list[DisposalPlan] = field(default_factory=list)
    cases: list[Case] = field(default_factory=list)
    txt_groups: list[list[Batch]] = field(default_factory=list)  # batches sharing a 部标 file
