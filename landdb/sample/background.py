"""Background data: ordinary batches, expropriations and supplies on a grid west of the centre.

The background lies apart from every planted scene and uses its own business keys, so it cannot
change a planted case's answer; it raises flags of its own (old remainders, start reminders…)
like any real county. It is generated in chunks so that the benchmark county (200 000 batches,
over a million supply parcels) streams through a few hundred megabytes of memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import numpy as np
import shapely

from .dates import add_years
from .layout import AS_OF, STOCK_EVERY, Layout, round_mm
from .model import Acquisition, Batch, County, Link, Parcel, Patch, Progress, Supply, SurveyPatch
from .names import (
    BANKS,
    INSPECTORS,
    PROVINCE_AUTHORITY,
    STATE_AUTHORITY,
    SURVEY_CLASSES,
    TERM_YEARS,
    VILLAGES,
    Counters,
    FastRng,
    make_project,
)
from .planted import unit_price

A = AS_OF
YEARS = list(range(2008, 2025))
YEAR_P = [3, 4, 5, 6, 6, 7, 7, 7, 7, 8, 8, 8, 7, 7, 6, 5, 4]

CITY_USES = ["工业用地", "城镇住宅用地", "零售商业用地", "仓储用地", "公用设施用地",
             "城镇村道路用地", "教育用地", "公园与绿地"]
CITY_P = [0.45, 0.2, 0.08, 0.05, 0.07, 0.05, 0.05, 0.05]
SINGLE_USES = ["教育用地", "医疗卫生用地", "公用设施用地", "城镇村道路用地", "社会福利用地"]
STOCK_USES = ["城镇住宅用地", "零售商业用地", "工业用地"]


def _method(use: str, r: float) -> str:
    if use in ("工业用地", "仓储用地"):
        return "挂牌出让" if r < 0.7 else "协议出让" if r < 0.8 else "租赁" if r < 0.9 else "作价出资"
    if use == "城镇住宅用地":
        return "挂牌出让" if r < 0.65 else "拍卖出让" if r < 0.95 else "招标出让"
    if use in ("零售商业用地", "商务金融用地"):
        return "挂牌出让" if r < 0.7 else "拍卖出让"
    return "划拨"


def _split(lo: float, hi: float, n: int, rng: FastRng, minw: float) -> list[float]:
    """Cut [lo, hi] into n pieces at least ``minw`` wide, at half-metre positions."""
    free = (hi - lo) - n * minw
    cuts, acc = [lo], lo
    for w in rng.dirichlet([4.0] * n)[:-1]:
        acc += minw + free * w
        cuts.append(round(acc * 2) / 2)
    cuts.append(hi)
    return cuts


class Background:
    """Yields the background county chunk by chunk (a :class:`County` per chunk)."""

    def __init__(self, layout: Layout, rng: np.random.Generator, counters: Counters,
                 n_batches: int) -> None:
        self.L = layout
        self.np_rng = rng  # vectorised draws
        self.rng = FastRng(int(rng.integers(2**62)))  # scalar draws
        self.k = counters
        self.n = n_batches
        self.max_patches = 20_000
        self.n_patches = 0
        self.n_survey = 0
        self._c = County()

    def chunks(self, size: int) -> Iterator[County]:
        made, cell = 0, 0
        while made < self.n:
            c = self._c = County()
            pending: list[tuple] = []  # (rect, supply kwargs, batch or None)
            while made < self.n and len(c.batches) < size:
                if cell % STOCK_EVERY == STOCK_EVERY - 1:
                    self._stock_cell(cell, pending)
                else:
                    self._batch_cell(cell, c, pending)
                    made += 1
                cell += 1
            self._finish(c, pending)
            yield c

    # -- one batch ------------------------------------------------------------------------
    def _batch_cell(self, cell: int, c: County, pending: list) -> None:
        rng, k = self.rng, self.k
        x0, y0, x1, y1 = self.L.cell_box(cell)
        year = int(rng.choice(YEARS, p=YEAR_P))
        approved = date(year, 1, 1) + timedelta(days=int(rng.integers(0, 365)))
        if approved > A - timedelta(days=30):
            approved = A - timedelta(days=int(rng.integers(30, 150)))
            year = approved.year
        single = rng.random() < 0.15
        state_council = single and rng.random() < 0.1
        n = int(rng.integers(3, 7))
        along_x = bool(rng.random() < 0.5)
        cuts = _split(x0 if along_x else y0, x1 if along_x else y1, n, rng, 20.0)
        if single:
            use = SINGLE_USES[int(rng.integers(len(SINGLE_USES)))]
            uses = [use] * n
            project, _user = make_project(rng, use)
            name = f"{project}建设用地"
            btype = "单独选址"
        else:
            uses = rng.choices(CITY_USES, CITY_P, n)
            name = f"示范县{year}年度第{k.batch_seq(year)}批次城市建设用地"
            btype = "城市批次用地"
        township = self.L.township_of((x0 + x1) / 2, (y0 + y1) / 2)
        pzwh = k.pzwh(year, state_council)
        rects = []
        for i in range(n):
            a, b = cuts[i], cuts[i + 1]
            rects.append((a, y0, b, y1) if along_x else (x0, a, x1, b))
        geoms = round_mm(shapely.box(*np.asarray(rects).T))
        parcels = [Parcel(str(i + 1), geoms[i], "集体" if rng.random() < 0.8 else "国有", uses[i],
                          VILLAGES[int(rng.integers(len(VILLAGES)))]) for i in range(n)]
        batch = Batch(pzwh, name, approved, STATE_AUTHORITY if state_council else PROVINCE_AUTHORITY,
                      btype, township, parcels)
        c.batches.append(batch)
        age = (A - approved).days / 365.25
        p_supply = min(0.95, 0.2 + 0.12 * age)
        for p, r in zip(parcels, rects):
            ready = approved
            if p.ownership == "集体":
                if rng.random() < 0.93:
                    acq = approved + timedelta(days=int(rng.integers(60, 500)))
                    if acq < A - timedelta(days=5):
                        c.acquisitions.append(Acquisition(k.notice_no(acq.year), pzwh, p.geom, acq,
                                                          "集体", township, p.village))
                        ready = acq
                    else:
                        continue
                else:
                    continue
            elif rng.random() < 0.15:  # state land with houses on it: 国有土地上房屋征收
                acq = approved + timedelta(days=int(rng.integers(30, 300)))
                if acq < A - timedelta(days=5):
                    c.acquisitions.append(Acquisition(k.notice_no(acq.year), pzwh, p.geom, acq,
                                                      "国有", township, p.village))
                    ready = acq
            if rng.random() >= p_supply or ready > A - timedelta(days=60):
                if rng.random() < 0.3 and self.n_survey < self.max_patches:
                    self._survey(p.geom, "0103" if rng.random() < 0.7 else "0101", "30")
                continue
            m = int(rng.choice([1, 2, 3], p=[0.45, 0.4, 0.15]))
            sub = _split(r[1] if along_x else r[0], r[3] if along_x else r[2], m, rng, 25.0)
            for j in range(m):
                a, b = sub[j], sub[j + 1]
                rect = (r[0], a, r[2], b) if along_x else (a, r[1], b, r[3])
                span = (A - timedelta(days=20) - ready).days
                contract = ready + timedelta(days=int(rng.integers(30, min(span, 1200))))
                pending.append((rect, dict(use=p.use, contract=contract, township=township,
                                           source="新增", location=p.village), batch))

    def _stock_cell(self, cell: int, pending: list) -> None:
        rng = self.rng
        x0, y0, x1, y1 = self.L.cell_box(cell)
        m = int(rng.integers(1, 4))
        cuts = _split(x0, x1, m, rng, 40.0)
        township = self.L.township_of((x0 + x1) / 2, (y0 + y1) / 2)
        for j in range(m):
            use = STOCK_USES[int(rng.integers(len(STOCK_USES)))]
            contract = date(2008, 1, 1) + timedelta(days=int(rng.integers(0, (A - date(2008, 1, 1))
                                                                         .days - 30)))
            pending.append(((cuts[j], y0, cuts[j + 1], y1),
                            dict(use=use, contract=contract, township=township, source="存量",
                                 location=f"{township}老城区"), None))

    # -- supplies of a chunk, geometry made in one go ----------------------------------------
    def _finish(self, c: County, pending: list) -> None:
        if not pending:
            return
        rng, k = self.rng, self.k
        rects = np.asarray([p[0] for p in pending])
        n = len(rects)
        x0, y0, x1, y1 = rects.T
        corners = np.stack([np.column_stack(v) for v in ((x0, y0), (x1, y0), (x1, y1), (x0, y1))],
                           axis=1)
        ang = self.np_rng.uniform(0, 2 * np.pi, (n, 4))
        mag = self.np_rng.uniform(0.05, 0.45, (n, 4))
        corners = corners + np.stack([mag * np.cos(ang), mag * np.sin(ang)], axis=2)
        corners = np.round(np.concatenate([corners, corners[:, :1]], axis=1), 3)
        geoms = shapely.polygons(corners)
        areas = np.round(shapely.area(geoms) / 1e4, 4)
        for i, (_rect, kw, batch) in enumerate(pending):
            use, contract = kw["use"], kw["contract"]
            year = contract.year
            method = _method(use, float(rng.random()))
            allocation = method == "划拨"
            missing = (year < 2010 and rng.random() < 0.5) or (allocation and rng.random() < 0.3)
            dz = None if missing else k.dzjgh(year)
            handover = contract + timedelta(days=int(rng.integers(30, 90)))
            start = handover + timedelta(days=int(rng.integers(150, 330)))
            completion = add_years(start, int(rng.integers(2, 4)))
            up = None if allocation else unit_price(use, rng)
            area = float(areas[i])
            name, user = make_project(rng, use)
            s = Supply(
                dzjgh=dz, contract_no=None if allocation else k.contract_no(year),
                allocation_no=k.allocation_no(year) if allocation else None,
                project_name=name, land_user=user, method=method, land_use=use,
                land_source=kw["source"], contract_date=contract, agreed_handover=handover,
                agreed_start=start, agreed_completion=completion, township=kw["township"],
                geom=geoms[i], area_ha=area,
                price=round(area * 15 * up, 2) if up else None,
                plot_ratio=round(float(rng.uniform(1.0, 3.0)), 1), location=kw["location"],
                term_years=None if allocation else TERM_YEARS.get(use, 50),
                mortgagee=BANKS[int(rng.integers(2))] if not allocation and rng.random() < 0.1
                else None,
                target="huabo" if allocation and dz is None else "main")
            c.supplies.append(s)
            if batch is not None:
                c.links.append(Link(s, batch.pzwh, area))
            if start <= A:
                c.progress.append(self._progress(s))
            if self.n_patches < self.max_patches and rng.random() < 0.12:
                self._patch(s)
            elif self.n_survey < self.max_patches and rng.random() < 0.1:
                code = "0701" if use == "城镇住宅用地" else "0601" if use == "工业用地" else "1004"
                self._survey(shapely.buffer(s.geom, -3.0, join_style="mitre"), code, "20")

    def _progress(self, s: Supply) -> Progress:
        rng = self.rng
        handover = s.agreed_handover - timedelta(days=int(rng.integers(0, 20)))
        handover = max(handover, s.contract_date)
        started = max(handover, s.agreed_start - timedelta(days=int(rng.integers(0, 60))))
        done = None
        if s.agreed_completion <= A:
            done = max(started, s.agreed_completion - timedelta(days=int(rng.integers(0, 90))))
        last = done or started
        observed = min(A - timedelta(days=1), last + timedelta(days=int(rng.integers(10, 200))))
        observed = max(observed, last)
        total = round(s.area_ha * 15 * float(rng.uniform(150, 400)), 0)
        share = 1.0 if done else float(rng.uniform(0.4, 0.9))
        return Progress(s, observed, handover, started, done, round(s.area_ha * share, 4),
                        round(total * min(1.0, share + 0.05), 0), total,
                        inspector=INSPECTORS[int(rng.integers(len(INSPECTORS)))])

    def _patch(self, s: Supply) -> None:
        rng = self.rng
        detected = s.contract_date + timedelta(days=int(rng.integers(200, 900)))
        if detected > A - timedelta(days=30) or detected.year < 2017:
            return
        geom = shapely.buffer(s.geom, -2.0, join_style="mitre")
        if geom.is_empty:
            return
        n = self.k.next("卫片", detected.year, sparse=False)
        q = (detected.month - 1) // 3 + 1
        self._c.patches.append(Patch(
            f"JC{detected.year}{q:02d}{n:04d}", f"{detected.year}年第{q}季度", "新增建设",
            detected - timedelta(days=int(rng.integers(90, 180))), detected,
            "合法用地（已供地）", geom, s.township))
        self.n_patches += 1

    def _survey(self, geom, dlbm: str, qsxz: str) -> None:
        if geom.is_empty:
            return
        n = self.k.next("地类图斑", 2025, sparse=False)
        c = geom.centroid
        self._c.survey.append(SurveyPatch(
            900000 + n, f"{n:05d}", dlbm, SURVEY_CLASSES[dlbm], qsxz,
            f"{self.L.township_of(c.x, c.y)}{VILLAGES[n % len(VILLAGES)]}", geom,
            date(2025, 12, 31)))
        self.n_survey += 1
