"""The planted cases: small scenes built so that each rule must, or must not, raise a flag.

Every scene lies on its own site (a 700 m × 600 m slot in the development zone), far from the
background data and from the other scenes, so nothing else can touch it. Dates are written for
the reference date 2026-06-30 (:data:`~landdb.sample.layout.AS_OF`); :func:`D` shifts them with
it by whole years, and the boundary dates are computed from it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Optional, Union

import numpy as np
import shapely
from shapely import affinity
from shapely.geometry import MultiPolygon, Polygon, box
from shapely.geometry.base import BaseGeometry

from .dates import add_years
from .layout import AS_OF, Layout, round_mm
from .model import (
    Acquisition,
    Agreement,
    Batch,
    Case,
    County,
    DisposalAction,
    DisposalPlan,
    IdleCase,
    Link,
    Parcel,
    Patch,
    Progress,
    Supply,
    SurveyPatch,
    Withdrawal,
)
from .names import (
    BANKS,
    INSPECTORS,
    PROVINCE_AUTHORITY,
    STATE_AUTHORITY,
    SURVEY_CLASSES,
    TERM_YEARS,
    VILLAGES,
    Counters,
    make_project,
)

RULES = [
    "unsupplied_over_3y", "unacquired", "acquired_unsupplied_over_2y", "withdrawal_candidate",
    "used_before_supply", "remnant_parcel", "start_due", "completion_due", "start_overdue",
    "completion_overdue", "idle_not_started", "idle_reclaim", "idle_stalled",
    "supply_outside_approval", "supply_overlap", "batch_overlap", "supply_no_geometry",
    "supply_rate_mismatch", "area_mismatch", "disposal_overdue",
]

REF = date(2026, 6, 30)  # the date the scenes are written for
A = AS_OF
NEXT_DAY = A + timedelta(days=1)
MU = 10_000 / 15


def D(text: str) -> date:
    """A scene date (written for as_of 2026-06-30), shifted with AS_OF by whole years."""
    return add_years(date.fromisoformat(text), A.year - REF.year)


def unit_price(use: str, rng: np.random.Generator) -> Optional[float]:
    """成交价 per 亩 (万元) of a use, or None for 划拨-type public uses."""
    if use in ("工业用地", "仓储用地"):
        return float(rng.uniform(16, 26))
    if use == "城镇住宅用地":
        return float(rng.uniform(160, 280))
    if use in ("零售商业用地", "商务金融用地"):
        return float(rng.uniform(120, 220))
    return None


def default_method(use: str) -> str:
    if use in ("工业用地", "仓储用地"):
        return "挂牌出让"
    if use in ("城镇住宅用地", "零售商业用地", "商务金融用地"):
        return "拍卖出让"
    return "划拨"


def jitter(geom: BaseGeometry, rng: np.random.Generator, hi: float, lo: float = 0.0):
    """Move every vertex by lo…hi metres in a random direction (another office's drawing)."""
    if hi <= 0:
        return geom

    def ring(coords) -> np.ndarray:
        c = np.asarray(coords)[:-1, :2]
        ang = rng.uniform(0, 2 * np.pi, len(c))
        mag = rng.uniform(lo, hi, len(c))
        c = c + np.column_stack([mag * np.cos(ang), mag * np.sin(ang)])
        return np.vstack([c, c[:1]])

    def poly(p: Polygon) -> Polygon:
        return Polygon(ring(p.exterior.coords), [ring(r.coords) for r in p.interiors])

    if isinstance(geom, MultiPolygon):
        return round_mm(MultiPolygon([poly(p) for p in geom.geoms]))
    return round_mm(poly(geom))


LinkSpec = Union[Batch, tuple]


class Planted:
    """Builds the planted scenes and their cases."""

    def __init__(self, layout: Layout, rng: np.random.Generator, counters: Counters) -> None:
        self.L = layout
        self.rng = rng
        self.k = counters
        self.c = County()
        self._site = 0
        self._case_no: dict[str, int] = {}
        self.disposal_subjects: dict[str, Batch] = {}
        self.idle_subjects: dict[str, Supply] = {}
        self.multi_txt = self.c.txt_groups  # batches written together in one 部标 file

    # -- geometry -----------------------------------------------------------------------------
    def site(self) -> tuple[float, float]:
        o = self.L.site_origin(self._site)
        self._site += 1
        return o

    @staticmethod
    def at(o: tuple[float, float], g: BaseGeometry) -> BaseGeometry:
        return round_mm(affinity.translate(g, o[0], o[1]))

    # -- records ------------------------------------------------------------------------------
    def batch(self, o, approved: date, parcels: Sequence[tuple], *, btype: str = "城市批次用地",
              declared_ha: Optional[float] = None, state: bool = False,
              project: Optional[str] = None) -> Batch:
        """A batch of parcels given as (local geometry, 权属, 用途)."""
        year = approved.year
        ps = [Parcel(str(i), self.at(o, g), own, use, VILLAGES[int(self.rng.integers(len(VILLAGES)))])
              for i, (g, own, use) in enumerate(parcels, start=1)]
        c = ps[0].geom.centroid
        if btype == "城市批次用地":
            name = f"示范县{year}年度第{self.k.batch_seq(year)}批次城市建设用地"
        else:
            name = f"{project}建设用地"
        b = Batch(self.k.pzwh(year, state), name, approved,
                  STATE_AUTHORITY if state else PROVINCE_AUTHORITY, btype,
                  self.L.township_of(c.x, c.y), ps, declared_ha, planted=True)
        self.c.batches.append(b)
        return b

    def acquire(self, b: Batch, numbers: Sequence[str], when: date, ownership: str = "集体") -> None:
        for p in b.parcels:
            if p.number in numbers:
                self.c.acquisitions.append(Acquisition(
                    self.k.notice_no(when.year), b.pzwh, p.geom, when, ownership, b.township,
                    p.village))

    def supply(self, o, exact: Optional[BaseGeometry], contract: date, *, use: str = "工业用地",
               method: Optional[str] = None, source: str = "新增", jit: float = 0.1,
               drawn: Optional[BaseGeometry] = None, links: Sequence[LinkSpec] = (),
               handover: Optional[date] = None, start: Optional[date] = None,
               completion: Optional[date] = None, progress: bool = True,
               price: Union[float, str, None] = "auto", dzjgh: bool = True,
               declared_ha: Optional[float] = None, reclaimed: Optional[date] = None,
               reclaim_doc: Optional[str] = None, mortgagee: Optional[str] = None,
               project: Optional[tuple[str, str]] = None) -> Supply:
        """A planted supply. ``exact`` is the intended land (local coordinates), ``drawn`` what
        the supplying office drew (default: ``exact`` jittered by up to ``jit`` metres)."""
        year = contract.year
        method = method or default_method(use)
        g_exact = self.at(o, exact) if exact is not None else None
        if drawn is not None:
            geom = self.at(o, drawn)
        elif g_exact is not None:
            geom = jitter(g_exact, self.rng, jit, min(0.02, jit))
        else:
            geom = None
        area_ha = declared_ha if declared_ha is not None else round(geom.area / 1e4, 4)
        if price == "auto":
            up = unit_price(use, self.rng) if method != "划拨" else None
            price = round(area_ha * 15 * up, 2) if up else None
        handover = handover or contract + timedelta(days=60)
        if start is None:
            start = contract + timedelta(days=180)
            if A < start <= A + timedelta(days=45):
                start += timedelta(days=60)
        if completion is None:
            completion = add_years(start, 2)
            if A - timedelta(days=5) < completion <= A + timedelta(days=45):
                completion += timedelta(days=60)
        name, user = project or make_project(self.rng, use)
        allocation = method == "划拨"
        dz = self.k.dzjgh(year) if dzjgh else None
        target = "none" if geom is None else ("huabo" if allocation and not dz else "main")
        s = Supply(
            dzjgh=dz,
            contract_no=None if allocation else self.k.contract_no(year),
            allocation_no=self.k.allocation_no(year) if allocation else None,
            project_name=name, land_user=user, method=method, land_use=use,
            land_source=source, contract_date=contract, agreed_handover=handover,
            agreed_start=start, agreed_completion=completion,
            township=self.L.township_of(*self._xy(geom, o)), geom=geom, area_ha=area_ha,
            price=price, plot_ratio=self._plot_ratio(use), location="示范县产业集聚区",
            term_years=None if allocation else TERM_YEARS.get(use, 50),
            reclaimed_date=reclaimed, reclaim_doc=reclaim_doc, mortgagee=mortgagee,
            target=target, planted=True)
        self.c.supplies.append(s)
        for spec in links:
            b, area = (spec if isinstance(spec, tuple) else (spec, None))
            if area is None:
                inside = shapely.union_all([p.geom for p in b.parcels]).intersection(geom)
                area = round(inside.area / 1e4, 4)
            self.c.links.append(Link(s, b.pzwh, area))
        if progress and start <= A:
            self.normal_progress(s)
        return s

    @staticmethod
    def _xy(geom, o) -> tuple[float, float]:
        if geom is None:
            return o
        c = geom.centroid
        return c.x, c.y

    def _plot_ratio(self, use: str) -> float:
        lo, hi = {"城镇住宅用地": (2.0, 3.0), "零售商业用地": (2.5, 4.0)}.get(use, (1.0, 1.6))
        return round(float(self.rng.uniform(lo, hi)), 1)

    def normal_progress(self, s: Supply) -> None:
        """Started 15 days early; completed on time if due."""
        a_start = s.agreed_start - timedelta(days=15)
        a_done = None
        if s.agreed_completion <= A:
            a_done = s.agreed_completion - timedelta(days=30)
        last = a_done or a_start
        observed = min(A - timedelta(days=5), last + timedelta(days=30))
        total = round(s.area_ha * 15 * 300, 0)
        self.c.progress.append(Progress(
            s, observed, s.agreed_handover, a_start, a_done,
            round(s.area_ha if a_done else s.area_ha * 0.6, 4),
            total if a_done else round(total * 0.55, 0), total,
            inspector=INSPECTORS[int(self.rng.integers(len(INSPECTORS)))]))

    def record(self, s: Supply, observed: date, *, started: Optional[date] = None,
               completed: Optional[date] = None, developed: Optional[float] = None,
               invested: Optional[float] = None, total: float = 6000.0,
               suspended: Optional[date] = None, remark: str = "") -> None:
        """An explicit progress record; ``developed`` and ``invested`` are ratios."""
        self.c.progress.append(Progress(
            s, observed, s.agreed_handover, started, completed,
            None if developed is None else round(s.area_ha * developed, 4),
            None if invested is None else round(total * invested, 1), total, suspended,
            INSPECTORS[int(self.rng.integers(len(INSPECTORS)))], remark))

    def patch(self, o, g, detected: date, change: str = "新增建设",
              judgement: str = "待核查", prior: Optional[date] = None) -> Patch:
        geom = self.at(o, g)
        n = self.k.next("卫片", detected.year, sparse=False)
        quarter = (detected.month - 1) // 3 + 1
        p = Patch(f"JC{detected.year}{quarter:02d}{n:04d}", f"{detected.year}年第{quarter}季度",
                  change, prior or detected - timedelta(days=120), detected, judgement, geom,
                  self.L.township_of(geom.centroid.x, geom.centroid.y))
        self.c.patches.append(p)
        return p

    def survey(self, o, g, dlbm: str, when: date, qsxz: str = "20") -> SurveyPatch:
        geom = self.at(o, g)
        n = self.k.next("地类图斑", when.year, sparse=False)
        sp = SurveyPatch(900000 + n, f"{n:05d}", dlbm, SURVEY_CLASSES[dlbm], qsxz,
                         f"{self.L.township_of(geom.centroid.x, geom.centroid.y)}"
                         f"{VILLAGES[n % len(VILLAGES)]}", geom, when)
        self.c.survey.append(sp)
        return sp

    def case(self, rule: str, subject: str, kind: str, must: Sequence[str] = (),
             must_not: Sequence[str] = (), desc: str = "", as_of: date = A,
             expected: Optional[dict] = None, related: Sequence[str] = ()) -> None:
        n = self._case_no[rule] = self._case_no.get(rule, 0) + 1
        self.c.cases.append(Case(f"{rule}-{n:02d}", rule, subject, kind, list(must),
                                 list(must_not), as_of, desc, expected or {}, list(related)))

    def bcase(self, rule, b: Batch, must=(), must_not=(), desc="", **kw) -> None:
        self.case(rule, b.pzwh, "batch", must, must_not, desc, **kw)

    def scase(self, rule, s: Supply, must=(), must_not=(), desc="", **kw) -> None:
        self.case(rule, s.key, "supply", must, must_not, desc, **kw)


def R(x0: float, y0: float, x1: float, y1: float) -> Polygon:
    return box(x0, y0, x1, y1)


def m2(g: BaseGeometry) -> float:
    return round(g.area, 1)


def build_planted(layout: Layout, rng: np.random.Generator, counters: Counters) -> County:
    """All planted scenes, records and cases."""
    P = Planted(layout, rng, counters)
    _batch_scenes(P)
    _patch_scenes(P)
    _remnant_scenes(P)
    _date_scenes(P)
    _idle_scenes(P)
    _overlap_scenes(P)
    _ledger_scenes(P)
    _plans(P)
    return P.c


N_SITES = 33


# -- batches: 3-year stock, expropriation, withdrawal ----------------------------------------


def _batch_scenes(P: Planted) -> None:
    col, st = "集体", "国有"

    # A: old batch, one of three parcels supplied; parcel 2 has two parts, parcel 3 a hole
    o = P.site()
    p2 = MultiPolygon([R(100, 0, 200, 95), R(100, 105, 200, 200)])
    p3 = R(200, 0, 300, 200).difference(R(240, 90, 260, 110))
    a = P.batch(o, D("2019-05-10"), [(R(0, 0, 100, 200), col, "工业用地"), (p2, col, "工业用地"),
                                     (p3, col, "城镇住宅用地")])
    P.acquire(a, ["1", "2", "3"], D("2019-10-12"))
    P.supply(o, R(0, 0, 100, 200), D("2020-06-18"), links=[a])
    P.bcase("unsupplied_over_3y", a,
            ["unsupplied_over_3y", "acquired_unsupplied_over_2y", "withdrawal_candidate"],
            ["unacquired", "remnant_parcel", "batch_overlap", "supply_rate_mismatch",
             "area_mismatch"],
            "2019年批准、已全部征收，仅地块1于2020年供地；地块2（两块）和地块3（含一处保留用地的洞）"
            "未供，三年以上批而未供，两年内无供地、无建设，可列为撤回候选",
            expected={"unsupplied_m2": m2(p2) + m2(p3), "approved_m2": m2(a.parcels[0].geom)
                      + m2(p2) + m2(p3), "acquired_unsupplied_m2": m2(p2) + m2(p3)})
    P.disposal_subjects["A"] = a

    # B: approved exactly three years before as_of: not yet "more than 3 full years"
    o = P.site()
    b = P.batch(o, add_years(A, -3), [(R(0, 0, 100, 150), col, "工业用地"),
                                      (R(100, 0, 200, 150), col, "工业用地")])
    P.acquire(b, ["1", "2"], D("2023-11-20"))
    P.supply(o, R(0, 0, 100, 150), D("2024-09-10"), links=[b])
    P.bcase("unsupplied_over_3y", b, ["acquired_unsupplied_over_2y"],
            ["unsupplied_over_3y", "withdrawal_candidate", "unacquired"],
            "批准日恰为三年前：三个整年到 as_of 当日终了才届满，当日不列入三年以上批而未供；"
            "两年内有供地，不是撤回候选",
            expected={"unsupplied_m2": 15000.0})
    P.bcase("unsupplied_over_3y", b, ["unsupplied_over_3y"], [],
            "同一批次次日即满三个整年", as_of=NEXT_DAY, expected={"unsupplied_m2": 15000.0})

    # C: old batch fully supplied, supplies drawn 0.3 m inside the boundary (gap = noise)
    o = P.site()
    c = P.batch(o, D("2012-08-15"), [(R(0, 0, 120, 150), col, "工业用地"),
                                     (R(120, 0, 240, 150), col, "工业用地")])
    P.acquire(c, ["1", "2"], D("2012-12-01"))
    P.supply(o, R(0, 0, 120, 150), D("2013-05-20"), drawn=R(0.3, 0, 120, 150), links=[c],
             dzjgh=False)
    P.supply(o, R(120, 0, 240, 150), D("2014-03-15"), drawn=R(120, 0, 240, 149.7), links=[c])
    P.bcase("remnant_parcel", c, [],
            ["unsupplied_over_3y", "remnant_parcel", "withdrawal_candidate",
             "acquired_unsupplied_over_2y", "supply_rate_mismatch", "unacquired"],
            "已全部供地；两宗供地图形沿批次边界内缩0.3米，留下的0.3米缝隙是数字化误差"
            "（窄于1米），不得成为边角地或剩余批而未供面积",
            expected={"unsupplied_m2": 0.0, "gap_m2": 45.0 + 36.0})

    # D1: remainder withdrawn (撤回) and written off (核销), both 批复
    o = P.site()
    d1 = P.batch(o, D("2016-03-18"), [(R(0, 0, 100, 150), st, "工业用地"),
                                      (R(100, 0, 200, 150), st, "工业用地"),
                                      (R(200, 0, 300, 150), st, "工业用地")])
    P.supply(o, R(0, 0, 100, 150), D("2017-04-10"), links=[d1])
    P.c.withdrawals += [
        Withdrawal(d1.pzwh, "豫自然资函〔2024〕56号", "撤回", "批复", D("2024-11-05"), ["2"], 1.5,
                   "撤回未实施部分农转用和征收批文"),
        Withdrawal(d1.pzwh, "豫自然资函〔2025〕18号", "核销", "批复", D("2025-04-22"), ["3"], 1.5,
                   "核销未供部分"),
    ]
    P.bcase("withdrawal_candidate", d1, [],
            ["unsupplied_over_3y", "withdrawal_candidate", "unacquired"],
            "未供部分已撤回（批复）和核销（批复），批而未供为零",
            expected={"unsupplied_m2": 0.0, "withdrawn_m2": 30000.0})

    # D2: the same, but the withdrawal is only applied for (申报)
    o = P.site()
    d2 = P.batch(o, D("2016-05-20"), [(R(0, 0, 100, 150), st, "工业用地"),
                                      (R(100, 0, 200, 150), st, "工业用地"),
                                      (R(200, 0, 300, 150), st, "工业用地")])
    P.supply(o, R(0, 0, 100, 150), D("2017-06-15"), links=[d2])
    P.c.withdrawals.append(Withdrawal(d2.pzwh, "示政文〔2026〕15号", "撤回", "申报", D("2026-03-10"),
                                      ["2", "3"], 3.0, "县政府已申报，省厅尚未批复"))
    P.bcase("withdrawal_candidate", d2, ["unsupplied_over_3y", "withdrawal_candidate"], [],
            "撤回仅在申报阶段（未批复），不减少批而未供面积",
            expected={"unsupplied_m2": 30000.0})

    # D3: remainder adjusted (调整) with approval
    o = P.site()
    d3 = P.batch(o, D("2010-09-09"), [(R(0, 0, 120, 150), st, "工业用地"),
                                      (R(120, 0, 240, 150), st, "工业用地")])
    P.supply(o, R(0, 0, 120, 150), D("2011-05-05"), method="协议出让", links=[d3], dzjgh=False)
    P.c.withdrawals.append(Withdrawal(d3.pzwh, "豫自然资函〔2025〕77号", "调整", "批复",
                                      D("2025-06-15"), ["2"], 1.8, "调整使用到开发区"))
    P.bcase("unsupplied_over_3y", d3, [], ["unsupplied_over_3y"],
            "未供部分已调整（批复），批而未供为零", expected={"unsupplied_m2": 0.0})

    # E: collective land never expropriated two years after approval
    o = P.site()
    e = P.batch(o, D("2022-04-10"), [(R(0, 0, 100, 150), col, "工业用地"),
                                     (R(100, 0, 200, 150), col, "工业用地"),
                                     (R(200, 0, 300, 150), col, "工业用地")])
    P.acquire(e, ["1", "2"], D("2022-09-01"))
    P.supply(o, R(0, 0, 100, 150), D("2023-05-16"), links=[e])
    P.bcase("unacquired", e, ["unacquired", "unsupplied_over_3y", "acquired_unsupplied_over_2y"],
            [], "集体土地地块3批准两年后仍未征收（批准文件失效）；地块2已征未供超过两年",
            expected={"unacquired_m2": 15000.0, "unsupplied_m2": 30000.0,
                      "acquired_unsupplied_m2": 15000.0})
    P.disposal_subjects["E"] = e

    # F: state-owned land needs no expropriation
    o = P.site()
    f = P.batch(o, D("2021-01-20"), [(R(0, 0, 100, 150), st, "工业用地"),
                                     (R(100, 0, 200, 150), st, "工业用地")])
    P.supply(o, R(0, 0, 100, 150), D("2022-03-15"), links=[f])
    P.bcase("unacquired", f, ["unsupplied_over_3y"], ["unacquired", "acquired_unsupplied_over_2y"],
            "批次全部为国有土地，无需征收，没有征收记录", expected={"unsupplied_m2": 15000.0})

    # G: approved exactly two years before as_of, nothing expropriated yet
    o = P.site()
    g = P.batch(o, add_years(A, -2), [(R(0, 0, 100, 150), col, "工业用地"),
                                      (R(100, 0, 200, 150), col, "工业用地")])
    P.bcase("unacquired", g, [], ["unacquired", "remnant_parcel", "withdrawal_candidate"],
            "批准日恰为两年前，两个整年到 as_of 当日终了才届满；整批未供且不邻接已供地",
            expected={"unacquired_m2": 30000.0})
    P.bcase("unacquired", g, ["unacquired"], [], "同一批次次日批准文件失效",
            as_of=NEXT_DAY, expected={"unacquired_m2": 30000.0})
    sp = P.survey(o, R(110, 20, 190, 130), "0103", D("2025-12-31"), qsxz="30")
    P.case("used_before_supply", sp.tbbh, "survey_patch", [], ["used_before_supply"],
           "变更调查地类为旱地（非建设地类）的图斑位于批而未供土地上", expected={"dlbm": "0103"})

    # H: expropriated exactly two years before as_of, not supplied
    o = P.site()
    h = P.batch(o, D("2023-01-10"), [(R(0, 0, 100, 150), col, "工业用地"),
                                     (R(100, 0, 200, 150), col, "工业用地")])
    P.acquire(h, ["1", "2"], add_years(A, -2))
    P.bcase("acquired_unsupplied_over_2y", h, [], ["acquired_unsupplied_over_2y", "unacquired"],
            "征收完成日恰为两年前，当日不满两个整年", expected={"acquired_unsupplied_m2": 30000.0})
    P.bcase("acquired_unsupplied_over_2y", h, ["acquired_unsupplied_over_2y"], [],
            "同一批次次日已征未供满两年", as_of=NEXT_DAY,
            expected={"acquired_unsupplied_m2": 30000.0})

    # I: supplied within the last two years: not a withdrawal candidate
    o = P.site()
    i = P.batch(o, D("2018-03-20"), [(R(0, 0, 100, 150), st, "工业用地"),
                                     (R(100, 0, 200, 150), st, "工业用地"),
                                     (R(200, 0, 300, 150), st, "工业用地")])
    P.supply(o, R(0, 0, 100, 150), D("2019-04-22"), links=[i])
    P.supply(o, R(100, 0, 200, 150), D("2025-03-15"), links=[i])
    P.bcase("withdrawal_candidate", i, ["unsupplied_over_3y"], ["withdrawal_candidate"],
            "近两年内（2025年）仍有供地，不列为撤回候选", expected={"unsupplied_m2": 15000.0})
    P.disposal_subjects["I"] = i


# -- 未供即用 ----------------------------------------------------------------------------------


def _patch_scenes(P: Planted) -> None:
    st = "国有"
    # J: construction on the remainder (a 卫片 patch and a 变更调查 construction class)
    o = P.site()
    j = P.batch(o, D("2017-09-01"), [(R(0, 0, 100, 200), st, "工业用地"),
                                     (R(100, 0, 200, 200), st, "工业用地"),
                                     (R(200, 0, 300, 200), st, "工业用地")])
    P.supply(o, R(0, 0, 100, 200), D("2018-05-08"), links=[j])
    pt = P.patch(o, R(230, 70, 270, 130), D("2025-10-15"), judgement="违法用地（未供即用）")
    sv = P.survey(o, R(130, 50, 160, 110), "0601", D("2025-12-31"))
    P.bcase("withdrawal_candidate", j, ["unsupplied_over_3y"], ["withdrawal_candidate"],
            "剩余未供土地上已有建设（卫片新增建设、变更调查工业用地），不列为撤回候选",
            expected={"unsupplied_m2": 40000.0})
    P.case("used_before_supply", pt.patch_no, "rs_patch", ["used_before_supply"], [],
           "卫片新增建设图斑2400平方米全部位于批而未供土地上（未供即用）",
           expected={"overlap_m2": 2400.0}, related=[j.pzwh])
    P.case("used_before_supply", sv.tbbh, "survey_patch", ["used_before_supply"], [],
           "变更调查工业用地（0601）图斑1800平方米位于批而未供土地上",
           expected={"overlap_m2": 1800.0, "dlbm": "0601"}, related=[j.pzwh])

    # K: near misses: 80 m² (< 100 m²), on supplied land, change type not in the list
    o = P.site()
    k = P.batch(o, D("2019-08-08"), [(R(0, 0, 150, 150), st, "工业用地"),
                                     (R(150, 0, 300, 150), st, "工业用地")])
    P.supply(o, R(0, 0, 150, 150), D("2020-05-11"), links=[k])
    small = P.patch(o, R(200, 20, 208, 30), D("2025-09-20"))
    onsup = P.patch(o, R(20, 20, 70, 60), D("2025-04-20"), judgement="合法用地（已供地）")
    earth = P.patch(o, R(220, 60, 270, 120), D("2025-09-20"), change="推填土")
    P.case("used_before_supply", small.patch_no, "rs_patch", [], ["used_before_supply"],
           "新增建设图斑仅80平方米，小于100平方米阈值", expected={"overlap_m2": 80.0})
    P.case("used_before_supply", onsup.patch_no, "rs_patch", [], ["used_before_supply"],
           "新增建设图斑位于2020年已供土地上（后时相时已供地）", expected={"overlap_m2": 0.0})
    P.case("used_before_supply", earth.patch_no, "rs_patch", [], ["used_before_supply"],
           "变化类型为推填土，不在新增建设类型清单内", expected={"overlap_m2": 3000.0})

    # K': the patch predates the supply: unsupplied on the patch's date
    o = P.site()
    k2 = P.batch(o, D("2020-10-10"), [(R(0, 0, 150, 150), st, "工业用地"),
                                      (R(150, 0, 300, 150), st, "工业用地")])
    P.supply(o, R(150, 0, 300, 150), D("2021-06-01"), links=[k2])
    P.supply(o, R(0, 0, 150, 150), D("2025-02-20"), links=[k2])
    early = P.patch(o, R(40, 40, 70, 90), D("2024-05-12"))
    P.case("used_before_supply", early.patch_no, "rs_patch", ["used_before_supply"], [],
           "图斑后时相2024-05-12时该地尚未供应（2025-02-20才签合同），属未供即用",
           expected={"overlap_m2": 1500.0}, related=[k2.pzwh])


# -- 边角地 ------------------------------------------------------------------------------------


def _remnant_scenes(P: Planted) -> None:
    col, st = "集体", "国有"
    for label, height in (("small", 41.667), ("big", 58.334)):
        o = P.site()
        b = P.batch(o, D("2015-05-05"), [(R(0, 0, 150, 120), col, "工业用地"),
                                         (R(150, 0, 190, height), col, "工业用地")])
        P.acquire(b, ["1", "2"], D("2015-09-09"))
        s = P.supply(o, R(0, 0, 150, 120), D("2016-04-18"), links=[b])
        area = round(40 * height, 1)
        if label == "small":
            P.bcase("remnant_parcel", b, ["remnant_parcel", "unsupplied_over_3y"], [],
                    "剩余未供地块约2.5亩（<3亩），紧邻已供宗地，属边角地，可协议出让给相邻权利人",
                    expected={"area_m2": area, "area_mu": round(area / MU, 2),
                              "neighbours": [s.key], "neighbour_users": [s.land_user]})
            P.disposal_subjects["L"] = b
        else:
            P.bcase("remnant_parcel", b, ["unsupplied_over_3y"], ["remnant_parcel"],
                    "剩余未供地块约3.5亩（≥3亩）、宽40米，可单独供应，不是边角地",
                    expected={"area_m2": area, "area_mu": round(area / MU, 2)})

    # N: a strip 8 m wide and 300 m long (3.6 亩): narrow
    o = P.site()
    n = P.batch(o, D("2016-04-04"), [(R(0, 0, 300, 100), st, "工业用地"),
                                     (R(0, 100, 300, 108), st, "城镇村道路用地")])
    na = P.supply(o, R(0, 0, 150, 100), D("2017-03-03"), links=[n])
    nb = P.supply(o, R(150, 0, 300, 100), D("2017-08-08"), links=[n])
    P.bcase("remnant_parcel", n, ["remnant_parcel"], [],
            "剩余未供为宽8米、长300米的条带（3.6亩，但窄于10米），紧邻两宗已供地",
            expected={"area_m2": 2400.0, "area_mu": 3.6, "width_m": 8.0,
                      "neighbours": sorted([na.key, nb.key])})

    # O: two 2-亩 remainders of two batches, adjacent: dissolved 4 亩, not a remnant
    o = P.site()
    h = 33.333
    o1 = P.batch(o, D("2016-08-08"), [(R(0, 0, 100, 120), st, "工业用地"),
                                      (R(100, 0, 140, h), st, "工业用地")])
    o2 = P.batch(o, D("2018-10-10"), [(R(180, 0, 280, 120), st, "工业用地"),
                                      (R(140, 0, 180, h), st, "工业用地")])
    P.supply(o, R(0, 0, 100, 120), D("2017-05-05"), links=[o1])
    P.supply(o, R(180, 0, 280, 120), D("2019-06-06"), links=[o2])
    for b, other in ((o1, o2), (o2, o1)):
        P.bcase("remnant_parcel", b, ["unsupplied_over_3y"], ["remnant_parcel", "batch_overlap"],
                "两个相邻批次各剩约2亩未供，跨批次合并后约4亩（≥3亩）、宽33米，不是边角地",
                expected={"own_remainder_m2": round(40 * h, 1),
                          "dissolved_m2": round(80 * h, 1), "dissolved_mu": 4.0},
                related=[other.pzwh])
    P.multi_txt.append([o1, o2])

    # P: a small batch never supplied, touching no supplied land
    o = P.site()
    name, _user = make_project(P.rng, "公用设施用地")
    p = P.batch(o, D("2018-07-07"), [(R(0, 0, 45, 40), st, "公用设施用地")], btype="单独选址",
                project=name)
    P.bcase("remnant_parcel", p, ["unsupplied_over_3y"], ["remnant_parcel"],
            "2.7亩的单独选址批次整体未供，但不邻接任何已供土地，不是边角地",
            expected={"unsupplied_m2": 1800.0, "area_mu": 2.7})


# -- 开竣工提醒 -------------------------------------------------------------------------------


def _grid(i: int, cols: int, w: float = 80.0, hgt: float = 100.0) -> Polygon:
    r, c = divmod(i, cols)
    return R(c * w, r * hgt, (c + 1) * w, (r + 1) * hgt)


def _date_scenes(P: Planted) -> None:
    o = P.site()
    q = P.batch(o, D("2024-01-20"), [(_grid(i, 4), "国有", "工业用地") for i in range(8)])
    day = timedelta(days=1)

    def sup(i, contract, **kw) -> Supply:
        return P.supply(o, _grid(i, 4), contract, links=[q], progress=False, jit=0.05, **kw)

    s1 = sup(0, D("2026-02-10"), start=A + 20 * day)
    P.scase("start_due", s1, ["start_due"], ["start_overdue", "idle_not_started"],
            "约定开工日在20天后，尚未开工（开工提醒）", expected={"agreed_start": (A + 20 * day).isoformat()})
    s2 = sup(1, D("2026-03-01"), start=A + 45 * day)
    P.scase("start_due", s2, [], ["start_due"], "约定开工日在45天后，超出30天提醒期")
    s3 = sup(2, D("2026-01-15"), start=A + 10 * day)
    P.record(s3, A - 10 * day, started=A - 15 * day, developed=0.05, invested=0.05)
    P.scase("start_due", s3, [], ["start_due", "start_overdue"], "约定开工日在10天后，但已提前开工")
    s4 = sup(3, D("2024-03-01"), start=D("2024-09-01"), completion=A + 15 * day)
    P.record(s4, D("2026-05-20"), started=D("2024-08-20"), developed=0.8, invested=0.75)
    P.scase("completion_due", s4, ["completion_due"], ["completion_overdue", "idle_stalled"],
            "约定竣工日在15天后，尚未竣工（竣工提醒）",
            expected={"agreed_completion": (A + 15 * day).isoformat()})
    s5 = sup(4, D("2024-02-25"), start=D("2024-08-25"), completion=A + 25 * day)
    P.record(s5, D("2026-06-10"), started=D("2024-08-10"), completed=D("2026-06-01"),
             developed=1.0, invested=1.0)
    P.scase("completion_due", s5, [], ["completion_due"], "约定竣工日在25天后，但已于2026-06-01竣工")
    s6 = sup(5, D("2024-02-20"), start=D("2024-05-01"), completion=D("2026-01-15"))
    P.record(s6, D("2026-04-10"), started=D("2024-04-25"), developed=0.7, invested=0.65)
    P.scase("completion_overdue", s6, ["completion_overdue"], ["completion_due", "idle_stalled"],
            "约定竣工日2026-01-15已过、尚未竣工，未满一年", expected={"agreed_completion": "2026-01-15"})
    s7 = sup(6, D("2024-02-26"), start=D("2024-06-01"), completion=D("2026-01-20"))
    P.record(s7, D("2026-04-15"), started=D("2024-05-20"), developed=0.55, invested=0.5)
    P.c.agreements.append(Agreement("示补协〔2025〕12号", s7, D("2025-12-10"), D("2024-06-01"),
                                    D("2027-01-20"), "因规划调整，经批准重新约定竣工时间"))
    P.scase("completion_overdue", s7, [], ["completion_overdue", "completion_due"],
            "原约定竣工日已过，但补充协议把竣工日改为2027-01-20",
            expected={"agreed_completion_in_force": D("2027-01-20").isoformat()})
    s8 = sup(7, D("2025-06-10"), start=D("2026-03-01"))
    P.scase("start_overdue", s8, ["start_overdue"], ["idle_not_started", "start_due"],
            "约定开工日2026-03-01已过、未开工，未满一年", expected={"agreed_start": "2026-03-01"})


# -- 闲置土地 ---------------------------------------------------------------------------------


def _idle_scenes(P: Planted) -> None:
    o = P.site()
    host = P.batch(o, D("2021-02-10"), [(_grid(i, 7), "国有", "工业用地") for i in range(14)])
    day = timedelta(days=1)

    def sup(i, contract, start, price, **kw) -> Supply:
        return P.supply(o, _grid(i, 7), contract, start=start, price=price, links=[host],
                        progress=False, jit=0.05, **kw)

    def fee(price):
        return {"price_wan": price, "fee_wan": round(price * 0.2, 2)}

    r1 = sup(0, D("2024-11-05"), D("2025-03-10"), 1250.0)
    P.scase("idle_not_started", r1, ["idle_not_started"], ["idle_reclaim", "start_overdue"],
            "约定2025-03-10开工，满一年未动工：疑似闲置，估算闲置费为价款的20%", expected=fee(1250.0))
    r2 = sup(1, D("2024-12-01"), add_years(A, -1) - day, 800.0)
    P.scase("idle_not_started", r2, ["idle_not_started"], ["start_overdue", "idle_reclaim"],
            "约定开工日为一年前的前一天：一个整年已于昨日终了", expected=fee(800.0))
    r3 = sup(2, D("2024-12-20"), add_years(A, -1), 900.0)
    P.scase("idle_not_started", r3, ["start_overdue"], ["idle_not_started"],
            "约定开工日恰为一年前：一个整年到 as_of 当日终了才届满，仍是逾期未开工")
    r4 = sup(3, D("2022-12-01"), D("2023-05-01"), 1100.0)
    P.c.agreements.append(Agreement("示补协〔2024〕3号", r4, D("2024-03-01"), D("2025-09-01"),
                                    D("2027-09-01"), "因规划条件调整（政府原因），重新约定开竣工时间"))
    P.scase("idle_not_started", r4, ["start_overdue"], ["idle_not_started", "idle_reclaim"],
            "原约定开工日早已超过两年，但补充协议把开工日改为2025-09-01，自新约定日重新计算",
            expected={"agreed_start_in_force": D("2025-09-01").isoformat()})
    r5 = sup(4, D("2023-10-10"), D("2024-05-01"), 960.0, mortgagee=BANKS[0])
    P.c.idle_cases.append(IdleCase("XZAJ-2025-02", "示闲认〔2025〕2号", r5,
                                   D("2025-07-01"), D("2025-09-15"),
                                   "企业原因", r5.area_ha, "企业资金链断裂"))
    P.scase("idle_reclaim", r5, ["idle_not_started", "idle_reclaim"], [],
            "满两年未动工、企业原因，已认定：无偿收回候选（有抵押权人须告知）",
            expected={**fee(960.0), "determined": True, "mortgagee": BANKS[0]})
    r6 = sup(5, D("2022-09-01"), D("2023-04-01"), 1500.0)
    P.c.idle_cases.append(IdleCase("XZAJ-2024-05", "示闲认〔2024〕5号", r6,
                                   D("2024-06-10"), D("2024-08-20"),
                                   "政府原因", r6.area_ha, "政府未按合同约定交付土地（拆迁未完成）"))
    P.scase("idle_reclaim", r6, ["idle_not_started"], ["idle_reclaim"],
            "满两年未动工，但认定为政府原因：不征闲置费、不无偿收回，按第十二条处置",
            expected={"price_wan": 1500.0, "fee_wan": None, "fee_applicable": False,
                      "cause": "政府原因"})
    r7 = sup(6, D("2022-10-01"), D("2023-06-01"), 700.0)
    P.c.idle_cases.append(IdleCase("XZAJ-2024-07", "示闲认〔2024〕7号", r7,
                                   D("2024-09-10"), D("2024-11-05"),
                                   "不可抗力", r7.area_ha, "2023年夏季特大暴雨洪涝灾害"))
    P.scase("idle_reclaim", r7, ["idle_not_started"], ["idle_reclaim"],
            "满两年未动工，认定为不可抗力：与政府原因同样处理，不无偿收回",
            expected={"price_wan": 700.0, "fee_wan": None, "fee_applicable": False,
                      "cause": "不可抗力"})
    r8 = sup(7, D("2023-12-01"), add_years(A, -2), 600.0)
    P.scase("idle_reclaim", r8, ["idle_not_started"], ["idle_reclaim"],
            "约定开工日恰为两年前：两个整年到 as_of 当日终了才届满", expected=fee(600.0))
    P.scase("idle_reclaim", r8, ["idle_not_started", "idle_reclaim"], [],
            "同一宗地次日满两年", as_of=NEXT_DAY, expected=fee(600.0))
    r9 = sup(8, D("2024-07-15"), D("2025-01-10"), None, use="教育用地", method="划拨",
             dzjgh=False)
    P.scase("idle_not_started", r9, ["idle_not_started"], ["idle_reclaim", "supply_no_geometry"],
            "划拨宗地（无电子监管号，以划拨决定书编号为键，图形在划拨宗地图层）满一年未动工；"
            "无划拨价款，闲置费基数未知（不得按0计）",
            expected={"price_wan": None, "fee_wan": None, "fee_base_known": False})
    r10 = sup(9, D("2021-08-01"), D("2022-03-01"), 880.0, reclaimed=D("2025-08-20"),
              reclaim_doc="示政收〔2025〕3号")
    P.c.idle_cases.append(IdleCase("XZAJ-2023-01", "示闲认〔2023〕1号", r10,
                                   D("2023-04-20"), D("2023-06-10"),
                                   "企业原因", r10.area_ha, "企业未按期动工"))
    P.scase("idle_reclaim", r10, [], ["idle_not_started", "idle_reclaim"],
            "已于2025-08-20无偿收回（收回决定书），不再是有效供地")
    P.bcase("unsupplied_over_3y", host, ["unsupplied_over_3y"], [],
            "收回的宗地回到批而未供（2021年批准）",
            expected={"unsupplied_m2": 8000.0, "reclaimed": [r10.key]})
    sup(10, D("2022-05-05"), D("2022-11-01"), 650.0, method="作价出资")
    P.normal_progress(P.c.supplies[-1])
    r12 = sup(11, D("2021-11-20"), D("2022-03-01"), 500.0)
    P.scase("idle_not_started", r12, ["idle_not_started"], [],
            "约定2022-03-01开工：一个整年在2023-03-01终了，2023-03-02起疑似闲置",
            as_of=D("2023-03-02"), expected=fee(500.0))
    P.scase("idle_not_started", r12, ["start_overdue"], ["idle_not_started"],
            "同一宗地 as_of 2023-03-01 时一个整年尚未届满", as_of=D("2023-03-01"))
    P.scase("idle_reclaim", r12, ["idle_not_started", "idle_reclaim"], [],
            "同一宗地至今未动工，已满两年", expected=fee(500.0))
    r13 = sup(12, D("2023-11-15"), date(2024, 2, 29), 720.0)
    P.scase("idle_not_started", r13, [], ["idle_not_started"],
            "约定开工日2024-02-29：次年无对应日，一年期至2025-02-28终了", as_of=date(2025, 2, 28))
    P.scase("idle_not_started", r13, ["idle_not_started"], [],
            "同一宗地2025-03-01起疑似闲置", as_of=date(2025, 3, 1), expected=fee(720.0))
    P.scase("idle_reclaim", r13, ["idle_not_started"], ["idle_reclaim"],
            "两年期至2026-02-28终了，当日不是无偿收回候选", as_of=date(2026, 2, 28))
    P.scase("idle_reclaim", r13, ["idle_not_started", "idle_reclaim"], [],
            "2026-03-01起满两年", as_of=date(2026, 3, 1), expected=fee(720.0))
    sup(13, D("2022-07-07"), D("2023-01-05"), 300.0, method="租赁")
    P.normal_progress(P.c.supplies[-1])
    P.idle_subjects.update({"R5": r5, "R6": r6, "R10": r10})

    # S: started, then stalled
    o = P.site()
    s_host = P.batch(o, D("2020-06-15"), [(_grid(i, 5), "国有", "工业用地") for i in range(5)])

    def ssup(i, contract, start, completion) -> Supply:
        return P.supply(o, _grid(i, 5), contract, start=start, completion=completion,
                        links=[s_host], progress=False, jit=0.05)

    s1 = ssup(0, D("2021-05-01"), D("2021-10-01"), D("2026-12-31"))
    P.record(s1, D("2023-06-10"), started=D("2021-09-20"), developed=0.15, invested=800 / 6000)
    P.record(s1, D("2025-12-15"), started=D("2021-09-20"), developed=0.2, invested=900 / 6000,
             suspended=D("2024-12-01"), remark="停工")
    P.scase("idle_stalled", s1, ["idle_stalled"], [],
            "已开工，已开发面积20%（<1/3）、投资15%（<25%），2024-12-01停工满一年",
            expected={"developed_ratio": 0.2, "invested_ratio": 0.15,
                      "suspended_since": D("2024-12-01").isoformat()})
    s2 = ssup(1, D("2021-05-10"), D("2021-10-10"), D("2027-06-30"))
    P.record(s2, D("2026-05-10"), started=D("2021-10-01"), developed=0.1, invested=0.1,
             suspended=add_years(A, -1), remark="停工")
    P.scase("idle_stalled", s2, [], ["idle_stalled"],
            "停工日恰为一年前：停工一个整年到 as_of 当日终了才届满")
    P.scase("idle_stalled", s2, ["idle_stalled"], [], "同一宗地次日停工满一年", as_of=NEXT_DAY)
    s3 = ssup(2, D("2021-06-01"), D("2021-11-01"), D("2027-06-30"))
    P.record(s3, D("2026-03-20"), started=D("2021-10-25"), developed=0.5, invested=0.3,
             suspended=D("2024-03-01"), remark="停工")
    P.scase("idle_stalled", s3, [], ["idle_stalled"],
            "停工满一年，但已开发50%（≥1/3）且投资30%（≥25%）")
    s4 = ssup(3, D("2021-06-15"), D("2021-12-01"), D("2027-06-30"))
    P.record(s4, D("2024-05-01"), started=D("2021-11-20"), developed=0.1, invested=0.08,
             suspended=D("2023-12-01"), remark="停工")
    P.record(s4, D("2025-10-01"), started=D("2021-11-20"), developed=0.6, invested=0.55,
             remark="已复工")
    P.scase("idle_stalled", s4, [], ["idle_stalled"],
            "早先的巡查记录为停工，但最新巡查记录已复工、开发60%")
    s5 = ssup(4, D("2021-07-01"), D("2021-12-15"), D("2027-06-30"))
    P.record(s5, D("2026-02-15"), started=D("2021-12-10"), developed=0.4, invested=0.2,
             suspended=D("2024-08-01"), remark="停工")
    P.scase("idle_stalled", s5, ["idle_stalled"], [],
            "已开发40%（≥1/3），但投资仅20%（<25%），停工满一年",
            expected={"developed_ratio": 0.4, "invested_ratio": 0.2})


# -- 重叠、超出批次 -----------------------------------------------------------------------------


def _overlap_scenes(P: Planted) -> None:
    st = "国有"
    # T: two supplies overlapping by 5 m × 200 m; a 新增 supply 20 m beyond its batch
    o = P.site()
    t = P.batch(o, D("2020-03-03"), [(R(0, 0, 100, 200), st, "工业用地"),
                                     (R(100, 0, 200, 200), st, "工业用地"),
                                     (R(200, 0, 300, 100), st, "工业用地")])
    t1 = P.supply(o, R(0, 0, 100, 200), D("2020-09-09"), jit=0.05, links=[t])
    t2 = P.supply(o, R(100, 0, 200, 200), D("2021-03-03"), drawn=R(95, 0, 200, 200), links=[t])
    P.scase("supply_overlap", t2, ["supply_overlap"], [],
            "两宗有效供地重叠5米×200米（1000平方米）", expected={"overlap_m2": 1000.0},
            related=[t1.key])
    t9 = P.supply(o, R(200, 0, 300, 100), D("2021-07-07"), drawn=R(200, 0, 320, 100), links=[t])
    P.scase("supply_outside_approval", t9, ["supply_outside_approval"], [],
            "新增建设用地供地向东超出批次范围20米（2000平方米）",
            expected={"outside_m2": 2000.0}, related=[t.pzwh])

    # T': overlaps below tolerance: a 0.3 m strip and a 0.81 m² corner
    o = P.site()
    t_ = P.batch(o, D("2020-03-10"), [(R(0, 0, 100, 200), st, "工业用地"),
                                      (R(100, 0, 200, 200), st, "工业用地"),
                                      (R(200, 0, 300, 200), st, "工业用地")])
    t3 = P.supply(o, R(0, 0, 100, 200), D("2020-10-10"), drawn=R(0, 0, 100.3, 200), links=[t_])
    t4 = P.supply(o, R(100, 0, 200, 200), D("2020-11-11"), drawn=R(100, 0, 200, 200), links=[t_])
    nub = shapely.union(R(200, 0, 300.4, 200), R(199.1, 199.1, 200, 200))
    t5 = P.supply(o, R(200, 0, 300, 200), D("2021-01-05"), drawn=nub, links=[t_])
    P.scase("supply_overlap", t3, [], ["supply_overlap"],
            "与相邻供地重叠0.3米宽的条带（窄于1米，属数字化误差）", related=[t4.key])
    P.scase("supply_overlap", t4, [], ["supply_overlap"],
            "两侧邻宗分别有0.3米条带和0.81平方米角部重叠，均低于容差", related=[t3.key, t5.key])
    P.scase("supply_overlap", t5, [], ["supply_overlap", "supply_outside_approval"],
            "角部重叠0.81平方米（<1平方米）；东边界超出批次0.4米（容差内）",
            expected={"overlap_m2": 0.81, "outside_m2": 80.0}, related=[t4.key])

    # T'': a reclaimed supply and the new supply of the same land
    o = P.site()
    t__ = P.batch(o, D("2019-11-11"), [(R(0, 0, 150, 150), st, "工业用地")])
    t7 = P.supply(o, R(0, 0, 150, 150), D("2020-04-10"), start=D("2020-10-10"), jit=0.05,
                  links=[t__], progress=False, price=680.0, reclaimed=D("2023-09-20"),
                  reclaim_doc="示政收〔2023〕2号")
    P.c.idle_cases.append(IdleCase("XZAJ-2022-01", "示闲认〔2022〕1号", t7,
                                   D("2022-01-20"), D("2022-03-15"),
                                   "企业原因", t7.area_ha, "企业未按期动工"))
    t8 = P.supply(o, R(0, 0, 150, 150), D("2025-03-01"), jit=0.08, links=[t__])
    P.scase("supply_overlap", t8, [], ["supply_overlap"],
            "与已收回（失效）的原供地完全重叠，不算供地重叠", related=[t7.key])
    P.scase("supply_overlap", t7, [], ["supply_overlap", "idle_not_started", "idle_reclaim"],
            "2023-09-20已无偿收回，不再是有效供地", related=[t8.key])
    P.idle_subjects["T7"] = t7

    # U: one supply straddling two adjacent batches
    o = P.site()
    col = "集体"
    u1 = P.batch(o, D("2017-06-12"), [(R(0, 0, 100, 150), col, "工业用地"),
                                      (R(100, 0, 200, 150), col, "工业用地")])
    u2 = P.batch(o, D("2018-09-05"), [(R(200, 0, 300, 150), col, "工业用地"),
                                      (R(300, 0, 400, 150), col, "工业用地")])
    P.acquire(u1, ["1", "2"], D("2017-09-01"))
    P.acquire(u2, ["1", "2"], D("2018-12-01"))
    P.supply(o, R(0, 0, 100, 150), D("2018-03-03"), jit=0.05, links=[u1])
    us = P.supply(o, R(100, 0, 300, 150), D("2019-04-04"), jit=0.05,
                  links=[(u1, 1.5), (u2, 1.5)])
    P.supply(o, R(300, 0, 400, 150), D("2019-05-05"), jit=0.05, links=[u2])
    P.scase("supply_outside_approval", us, [], ["supply_outside_approval"],
            "一宗供地跨两个相邻批次（各1.5公顷），整体仍在批次范围内",
            expected={"links": {u1.pzwh: 1.5, u2.pzwh: 1.5}}, related=[u1.pzwh, u2.pzwh])
    for b, other in ((u1, u2), (u2, u1)):
        P.bcase("supply_rate_mismatch", b, [],
                ["unsupplied_over_3y", "supply_rate_mismatch", "batch_overlap"],
                "批次已全部供应（含跨批次供地的1.5公顷），登记面积与图形一致",
                expected={"unsupplied_m2": 0.0, "recorded_m2": 30000.0, "spatial_m2": 30000.0},
                related=[other.pzwh])
    P.multi_txt.append([u1, u2])

    # W: the same land approved twice (30 m × 150 m); near miss with a 0.3 m sliver
    o = P.site()
    w1 = P.batch(o, D("2014-12-12"), [(R(0, 0, 200, 150), st, "工业用地")])
    w2 = P.batch(o, D("2021-04-04"), [(R(170, 0, 370, 150), st, "工业用地")])
    P.supply(o, R(0, 0, 200, 150), D("2015-08-08"), jit=0.05, links=[w1])
    P.supply(o, R(200, 0, 370, 150), D("2022-05-05"), jit=0.05, links=[w2])
    P.bcase("batch_overlap", w2, ["batch_overlap"], [],
            "两个批次重叠30米×150米（4500平方米），同一土地重复报批",
            expected={"overlap_m2": 4500.0}, related=[w1.pzwh])
    o = P.site()
    w3 = P.batch(o, D("2016-05-05"), [(R(0, 0, 150, 150), st, "工业用地")])
    w4 = P.batch(o, D("2019-03-03"), [(R(149.7, 0, 300, 150), st, "工业用地")])
    P.supply(o, R(0, 0, 150, 150), D("2017-02-02"), jit=0.05, links=[w3])
    P.supply(o, R(150, 0, 300, 150), D("2019-12-12"), jit=0.05, links=[w4])
    for b, other in ((w3, w4), (w4, w3)):
        P.bcase("batch_overlap", b, [], ["batch_overlap"],
                "相邻批次沿边界重叠0.3米宽（窄于1米，属数字化误差）",
                expected={"overlap_m2": 45.0}, related=[other.pzwh])
    P.multi_txt.append([w3, w4])


# -- 登记与图形核对 -----------------------------------------------------------------------------


def _ledger_scenes(P: Planted) -> None:
    st = "国有"
    # V1: the recorded link says 2.8 ha where the geometry holds 2.0 ha
    o = P.site()
    v1 = P.batch(o, D("2019-07-07"), [(R(0, 0, 100, 200), st, "工业用地"),
                                      (R(100, 0, 200, 200), st, "工业用地"),
                                      (R(200, 0, 300, 200), st, "工业用地")])
    v1a = P.supply(o, R(0, 0, 100, 200), D("2020-02-02"), jit=0.05, links=[v1])
    P.supply(o, R(100, 0, 200, 200), D("2020-08-08"), jit=0.05, links=[(v1, 2.8)])
    P.bcase("supply_rate_mismatch", v1, ["supply_rate_mismatch"], [],
            "监测监管系统登记的供地面积4.8公顷，图形叠加只有4.0公顷",
            expected={"recorded_m2": 48000.0, "spatial_m2": 40000.0})
    P.scase("supply_no_geometry", v1a, [], ["supply_no_geometry"], "有图形的普通供地")
    # V2: 0.25 % apart: within 1 %
    o = P.site()
    v2 = P.batch(o, D("2019-07-20"), [(R(0, 0, 100, 200), st, "工业用地"),
                                      (R(100, 0, 200, 200), st, "工业用地")])
    P.supply(o, R(0, 0, 100, 200), D("2020-03-03"), jit=0.02, links=[(v2, 2.005)])
    P.bcase("supply_rate_mismatch", v2, [], ["supply_rate_mismatch"],
            "登记2.005公顷与图形2.0公顷相差0.25%（≤1%）",
            expected={"recorded_m2": 20050.0, "spatial_m2": 20000.0})
    # V3: a supply known only from the ledger and its link
    o = P.site()
    v3 = P.batch(o, D("2020-11-11"), [(R(0, 0, 100, 150), st, "工业用地"),
                                      (R(100, 0, 200, 150), st, "工业用地")])
    P.supply(o, R(0, 0, 100, 150), D("2021-05-05"), jit=0.05, links=[v3])
    v3n = P.supply(o, None, D("2021-09-09"), declared_ha=1.5, links=[(v3, 1.5)])
    P.scase("supply_no_geometry", v3n, ["supply_no_geometry"], [],
            "供地台账和关联表中有记录（1.5公顷），但没有任何宗地图形",
            expected={"recorded_m2": 15000.0}, related=[v3.pzwh])

    # X: declared areas against geometry
    o = P.site()
    x = P.batch(o, D("2020-08-18"), [(R(0, 0, 100, 200), st, "工业用地"),
                                     (R(100, 0, 200, 200), st, "工业用地"),
                                     (R(200, 0, 300, 200), st, "公用设施用地")], declared_ha=6.5)
    x1 = P.supply(o, R(0, 0, 100, 200), D("2021-04-12"), drawn=R(0, 0, 100, 180),
                  declared_ha=2.0, links=[(x, 2.0)])
    x2 = P.supply(o, R(100, 0, 200, 200), D("2021-06-06"), jit=0.02, declared_ha=2.01,
                  links=[(x, 2.01)])
    x4 = P.supply(o, R(200, 0, 300, 200), D("2021-10-10"), jit=0.02, use="公用设施用地",
                  method="划拨", dzjgh=False, links=[x])
    P.bcase("area_mismatch", x, ["area_mismatch"], [],
            "批次台账批准面积6.5公顷，图形面积6.0公顷", expected={"declared_m2": 65000.0,
                                                        "geometry_m2": 60000.0})
    P.scase("area_mismatch", x1, ["area_mismatch"], [],
            "供地面积登记2.0公顷，宗地图形只有1.8公顷",
            expected={"declared_m2": 20000.0, "geometry_m2": 18000.0})
    P.scase("area_mismatch", x2, [], ["area_mismatch"], "登记2.01公顷与图形2.0公顷相差0.5%（≤1%）",
            expected={"declared_m2": 20100.0, "geometry_m2": 20000.0})
    P.scase("area_mismatch", x4, [], ["area_mismatch"],
            "划拨宗地图层的 MJ 字段单位为平方米（20000），须按与图形面积之比推断单位",
            expected={"declared_m2": round(x4.area_ha * 1e4, 1), "geometry_m2": round(x4.geom.area, 1),
                      "unit": "m2"})

    # Z: old construction land (存量), outside every batch
    o = P.site()
    z = P.supply(o, R(0, 0, 120, 100), D("2022-06-06"), use="零售商业用地", source="存量",
                 jit=0.05)
    P.scase("supply_outside_approval", z, [], ["supply_outside_approval"],
            "存量建设用地供应，本就不在任何批次内")
    tiny = P.supply(o, R(200, 0, 207.1, 7.1), D("2023-03-03"), use="公用设施用地",
                    method="划拨", source="存量", jit=0.0, declared_ha=0.0051,
                    project=("城区5G通信基站建设项目", "示范县通信发展有限公司"))
    P.scase("area_mismatch", tiny, [], ["area_mismatch"],
            "通信基站用地：登记51平方米，图形50.41平方米，相差1.2%但不足1平方米",
            expected={"declared_m2": 51.0, "geometry_m2": 50.41})


# -- 一地一策 ---------------------------------------------------------------------------------


def _plans(P: Planted) -> None:
    ds, idle = P.disposal_subjects, P.idle_subjects
    units_b = "县自然资源局、县土地储备中心、开发区管委会"
    mu = round(38600.0 / MU, 2)
    plans = [
        DisposalPlan("YDYC-2025-001", "批而未供", ds["A"].pzwh, None, mu,
                     "项目招商未落地", "加快供应", units_b, "王芳", D("2026-03-31"), "处置中",
                     actions=[DisposalAction(D("2025-09-10"), "已完成前期开发，具备供地条件", "王芳")]),
        DisposalPlan("YDYC-2025-002", "批而未供", ds["I"].pzwh, None, 22.5, "企业投资意向变化",
                     "加快供应", units_b, "李强", D("2026-03-31"), "已销号", D("2026-03-20")),
        DisposalPlan("YDYC-2025-003", "批而未供", ds["E"].pzwh, None, 45.0, "征地补偿未到位",
                     "推进土地征收", "县自然资源局、所在乡镇", "赵磊", A, "处置中"),
        DisposalPlan("YDYC-2025-004", "闲置土地", None, idle["R5"], round(idle["R5"].area_ha * 15, 2),
                     "企业资金链断裂", "征缴土地闲置费；无偿收回", "县自然资源局、县法院", "陈静",
                     D("2026-12-31"), "处置中"),
        DisposalPlan("YDYC-2024-005", "闲置土地", None, idle["R6"], round(idle["R6"].area_ha * 15, 2),
                     "政府未按约定交地", "消除开工障碍", "县自然资源局、县住房城乡建设局、所在乡镇",
                     "刘洋", D("2025-12-31"), "处置中",
                     actions=[DisposalAction(D("2025-06-30"), "拆迁补偿协议已签订80%", "刘洋")]),
        DisposalPlan("YDYC-2022-006", "闲置土地", None, idle["T7"], round(idle["T7"].area_ha * 15, 2),
                     "企业未按期动工", "无偿收回", "县自然资源局", "黄敏", D("2023-12-31"), "已销号",
                     D("2023-09-20")),
        DisposalPlan("YDYC-2023-007", "闲置土地", None, idle["R10"],
                     round(idle["R10"].area_ha * 15, 2), "企业未按期动工", "无偿收回", "县自然资源局",
                     "黄敏", D("2025-12-31"), "已销号", D("2025-08-20")),
        DisposalPlan("YDYC-2025-008", "批而未供", ds["L"].pzwh, None, 2.5, "边角地无法单独供应",
                     "边角地协议出让给相邻权利人", "县自然资源局", "杨帆", D("2026-09-30"), "处置中"),
    ]
    P.c.plans += plans
    p = {x.plan_id: x for x in plans}
    P.case("disposal_overdue", "YDYC-2025-001", "disposal_plan", ["disposal_overdue"], [],
           "处置期限2026-03-31已过、未销号", expected={"deadline": plans[0].deadline.isoformat()})
    P.case("disposal_overdue", "YDYC-2024-005", "disposal_plan", ["disposal_overdue"], [],
           "闲置土地（政府原因）处置期限2025-12-31已过、未销号")
    P.case("disposal_overdue", "YDYC-2025-002", "disposal_plan", [], ["disposal_overdue"],
           "期限已过，但已于期限前销号")
    P.case("disposal_overdue", "YDYC-2025-003", "disposal_plan", [], ["disposal_overdue"],
           "处置期限恰为 as_of 当日，尚未逾期", expected={"deadline": p["YDYC-2025-003"].deadline
                                                 .isoformat()})
    P.case("disposal_overdue", "YDYC-2025-003", "disposal_plan", ["disposal_overdue"], [],
           "同一方案次日逾期", as_of=NEXT_DAY)
    P.case("disposal_overdue", "YDYC-2025-004", "disposal_plan", [], ["disposal_overdue"],
           "处置期限2026-12-31未到")
    P.case("disposal_overdue", "YDYC-2025-008", "disposal_plan", [], ["disposal_overdue"],
           "处置期限2026-09-30未到")
