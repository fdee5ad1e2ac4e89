"""``landdb sample``: write the fictitious 示范县 and its answer key (manifest.json)."""

from __future__ import annotations

import json
import shutil
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.polygon import orient

from ..formats.bubiao import BubiaoParcel, write_bubiao
from . import dates as dt
from .background import Background
from .layout import AS_OF, PREFIXED_EPSG, WORKING_EPSG, ZONE, ZONE_OFFSET, Layout, round_mm
from .model import Batch, County, Supply, pzwh_style
from .names import COUNTY_CODE, COUNTY_NAME, LAND_USE_CODES, SURVEYORS, Counters
from .planted import N_SITES, RULES, build_planted
from .readme import readme_text
from .writers import (
    Dataset,
    Field,
    GeoJsonWriter,
    Ledger,
    ShapefileWriter,
    Sheet,
    sha256,
    write_xlsx,
)

DEFAULT_BACKGROUND = 30  # background batches of the default run (plus the planted ones)
N_PLANTED_BATCHES = 36
CSV_ABOVE = 1000  # more background batches than this: big ledgers as CSV, 部标 TXT only for some
TXT_BACKGROUND_LARGE = 50
CHUNK_BATCHES = 2000
MANIFEST = "manifest.json"
STAMP = datetime(AS_OF.year, AS_OF.month, AS_OF.day, 9, 0, 0)

SUPPLY_SOURCE_LONG = {"新增": "新增建设用地", "存量": "存量建设用地"}


def generate(out_dir: Union[Path, str], seed: int = 1, batches: Optional[int] = None,
             progress: bool = False) -> dict:
    """Write the sample county into ``out_dir`` and return the manifest.

    ``batches`` is the total number of approval batches (planted + background); None gives
    the default small county (about 66 batches). 200 000 gives the benchmark county. The same
    seed gives byte-identical files.
    """
    t0 = time.time()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _remove_previous(out)
    n_bg = DEFAULT_BACKGROUND if batches is None else max(0, batches - N_PLANTED_BATCHES)
    large = n_bg > CSV_ABOVE
    rng = np.random.default_rng(seed)
    layout = Layout(n_bg, N_SITES, rng)
    counters = Counters(rng, dense=large)
    planted = build_planted(layout, rng, counters)
    if len(planted.batches) != N_PLANTED_BATCHES:
        raise RuntimeError(f"planted batches: {len(planted.batches)} != {N_PLANTED_BATCHES}")
    w = Outputs(out, layout, large)
    w.add(planted)
    bg = Background(layout, rng, counters, n_bg)
    done = 0
    for chunk in bg.chunks(CHUNK_BATCHES):
        w.add(chunk)
        done += len(chunk.batches)
        if progress:
            print(f"\r样例县：背景批次 {done}/{n_bg}，用时 {time.time() - t0:.0f} 秒",
                  end="", file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
    datasets = w.close(planted)
    manifest = _manifest(seed, batches, n_bg, large, planted, datasets, w.counts)
    (out / "README.md").write_text(readme_text(manifest), encoding="utf-8")
    manifest["files"] = _file_list(out, datasets)
    (out / MANIFEST).write_text(
        json.dumps(manifest, ensure_ascii=False, sort_keys=True, indent=1) + "\n", encoding="utf-8")
    return manifest


def _remove_previous(out: Path) -> None:
    """Delete what an earlier run wrote (as its manifest lists); never touch other files."""
    old = out / MANIFEST
    if not old.exists():
        return
    try:
        files = json.loads(old.read_text(encoding="utf-8")).get("files", [])
    except (OSError, ValueError):
        return
    root = out.resolve()
    files = [f for f in files if (out / f["path"]).resolve().is_relative_to(root)]
    for f in files:
        p = out / f["path"]
        if p.is_file():
            p.unlink()
    for sub in sorted({(out / f["path"]).parent for f in files}, key=lambda p: -len(p.parts)):
        if sub != out and sub.is_dir() and not any(sub.iterdir()):
            shutil.rmtree(sub)
    old.unlink()


def _file_list(out: Path, datasets: list[Dataset]) -> list[dict[str, Any]]:
    owner = {f: d.path for d in datasets for f in d.files}
    owner["README.md"] = "README.md"
    files = []
    for rel in sorted(owner):
        p = out / rel
        files.append({"path": rel, "bytes": p.stat().st_size, "sha256": sha256(p),
                      "dataset": owner[rel]})
    return files


# -- rows ------------------------------------------------------------------------------------


def _code(use: str, year: int) -> str:
    new, old = LAND_USE_CODES.get(use, ("", ""))
    return new if year >= 2018 else old


def _prefix(geom):
    return round_mm(shapely.transform(geom, lambda c: np.add(c, (ZONE_OFFSET, 0.0))))


class Outputs:
    """All the files of the county, open for streaming."""

    def __init__(self, out: Path, layout: Layout, large: bool) -> None:
        self.out, self.L, self.large = out, layout, large
        self.counts: dict[str, int] = {}
        self.txt_files: list[str] = []
        self.txt_groups: list[list[Batch]] = []
        self.txt_batches = 0
        self.txt_background = 0
        F = Field
        self.batch_shp = ShapefileWriter(
            out, "批次/批次地块.shp",
            [F("PZWH", "str", 40), F("PCMC", "str", 100), F("PCLX", "str", 14),
             F("PZJG", "str", 16), F("PZRQ", "str", 10), F("PZMJ", "float"),
             F("DKBH", "str", 4), F("DKMC", "str", 120),
             F("DKMJ", "float"), F("QSXZ", "str", 4), F("DKYT", "str", 16),
             F("DLBM", "str", 4), F("XZ", "str", 8), F("CUN", "str", 8)],
            kind="approval",
            description="建设用地批次地块（每个地块一条，批次属性 PZWH、PCMC、PCLX、PZJG、PZRQ、PZMJ "
                        "在每个地块上重复；PZWH 用 [] 括号，PZRQ 为 2019.03.05 式文本，PZMJ、DKMJ 单位公顷，"
                        "DLBM 2018 年前批次为 2007 版三位编码）",
            ldid=0x57, prj=True, dbf_date=date(2026, 6, 20),
            extra={"area_unit": {"DKMJ": "公顷", "PZMJ": "公顷"},
                   "date_format": {"PZRQ": "YYYY.MM.DD"},
                   "pzwh_brackets": "[]"})
        self.acq_shp = ShapefileWriter(
            out, "征收/征收地块.shp",
            [F("ZSGGWH", "str", 24), F("PZWH", "str", 40), F("ZSGGRQ", "date"),
             F("ZSMJ", "float"), F("QSXZ", "str", 4), F("XZ", "str", 8), F("CUN", "str", 8)],
            kind="acquisition",
            description="土地征收范围（ZSGGWH 征收公告文号，PZWH 批准文号用（）括号，ZSGGRQ 征收公告日期"
                        "为 DBF 日期，ZSMJ 征收面积公顷，QSXZ 权属 集体/国有）",
            ldid=0x00, prj=True, dbf_date=date(2026, 5, 31),
            extra={"area_unit": {"ZSMJ": "公顷"}, "date_format": {"ZSGGRQ": "DBF date"},
                   "pzwh_brackets": "（）"})
        self.supply_shp = ShapefileWriter(
            out, "供地/供地宗地.shp",
            [F("电子监管号", "str", 16), F("合同编号", "str", 24), F("划拨决定书编号", "str", 24),
             F("项目名称", "str", 80), F("土地使用权人", "str", 60), F("供地方式", "str", 8),
             F("土地用途", "str", 14), F("土地来源", "str", 4), F("面积", "float"),
             F("成交价格", "float"), F("合同签订日期", "str", 14), F("约定交地时间", "str", 14),
             F("约定开工时间", "str", 14), F("约定竣工时间", "str", 14), F("容积率", "float"),
             F("乡镇", "str", 8), F("坐落", "str", 30)],
            kind="supply",
            description="供地宗地（GBK、无 .cpg、无 .prj，X 坐标带 38 带号；中文字段名被截为10字节，"
                        "如 约定开工时；面积单位公顷，成交价格万元，日期为 2019年3月5日 式文本）",
            ldid=0x00, prj=False, prefixed=True, dbf_date=date(2026, 6, 28),
            extra={"area_unit": {"面积": "公顷"}, "money_unit": {"成交价格": "万元"},
                   "date_format": {"合同签订日": "YYYY年M月D日"}})
        self.huabo_shp = ShapefileWriter(
            out, "供地/划拨宗地.shp",
            [F("HBJDSBH", "str", 24), F("DZJGH", "str", 16), F("XMMC", "str", 80),
             F("YDDWMC", "str", 60), F("GDFS", "str", 8), F("TDYT", "str", 14),
             F("TDLY", "str", 4), F("MJ", "float"), F("QDRQ", "str", 8),
             F("HTYDDGSJ", "str", 8), F("HTYDJGSJ", "str", 8), F("XZ", "str", 8)],
            kind="supply",
            description="划拨宗地（无电子监管号、以划拨决定书编号为键；拼音字段；MJ 单位为平方米；"
                        "日期为 20190305 式文本）",
            ldid=0x57, prj=True, dbf_date=date(2026, 6, 15),
            extra={"area_unit": {"MJ": "平方米"}, "date_format": {"QDRQ": "YYYYMMDD"},
                   "key": "HBJDSBH"})
        self.survey_shp = ShapefileWriter(
            out, "变更调查/2025年度变更调查地类图斑.shp",
            [F("BSM", "int"), F("TBBH", "str", 8), F("DLBM", "str", 4), F("DLMC", "str", 14),
             F("QSXZ", "str", 2), F("ZLDWMC", "str", 40), F("TBMJ", "float"), F("BGND", "int")],
            kind="survey",
            description="2025年度变更调查地类图斑摘录（DLBM 地类编码；TBMJ 单位平方米；"
                        "BGND 变更年度，标准时点为该年 12 月 31 日；QSXZ 20 国有、30 集体）",
            ldid=0x57, prj=True, dbf_date=date(2026, 3, 31),
            extra={"area_unit": {"TBMJ": "平方米"}, "source": "变更调查", "patch_key": "TBBH"})
        self.patches = GeoJsonWriter(
            out, "卫片/卫片执法监测图斑.geojson", kind="rs_patch", name="卫片执法监测图斑",
            description="卫片执法监测图斑（经纬度 EPSG:4490；前时相/后时相为 20250412 式文本；"
                        "图斑面积单位平方米）")
        self.patches.dataset.extra.update({"source": "卫片", "patch_key": "图斑编号",
                                           "area_unit": {"图斑面积": "平方米"}})
        csv_dates = dt.slash
        self.batch_ledger = Ledger(
            out, "批次/批次台账", ["序号", "批准文号", "批次名称", "批次类型", "批准机关", "批准日期",
                                 "批准面积（公顷）", "集体土地面积（公顷）", "国有土地面积（公顷）",
                                 "地块数", "乡镇", "备注"],
            kind="approval", sheet="批次台账", caption="示范县建设用地批次台账",
            description="批次台账（每批次一行，无图形；批准文号〔〕括号；批准日期为 Excel 日期；面积公顷。"
                        "批次属性已在批次地块图层的每个地块上，此表供核对）",
            csv_mode=large, csv_dates=csv_dates)
        self.supply_ledger = Ledger(
            out, "供地/供地台账", ["序号", "电子监管号", "合同编号", "划拨决定书编号", "项目名称",
                                 "土地使用权人", "供地方式", "土地用途", "土地来源", "供地面积（公顷）",
                                 "成交价款（万元）", "合同签订日期", "约定交地时间", "约定开工时间",
                                 "约定竣工时间", "出让年限", "容积率", "乡镇", "坐落", "收回日期",
                                 "收回决定书文号", "抵押权人"],
            kind="supply", sheet="供地台账", caption="示范县国有建设用地供应台账（监测监管系统导出）",
            description="供地台账（全部供地，含无图形的；合同签订日期为 Excel 日期，约定时间为 "
                        "2019/3/5 式文本，收回日期为 2019年3月5日 式文本）",
            csv_mode=large, csv_dates=csv_dates)
        self.link_ledger = Ledger(
            out, "供地/供地批次关联", ["电子监管号", "合同编号", "划拨决定书编号", "项目名称", "批准文号",
                                   "关联面积（公顷）"],
            kind="supply_link", sheet="供地与批次关联",
            description="监测监管系统登记的供地与批次关联及面积（批准文号混用（）和 [] 括号）",
            csv_mode=large, csv_dates=csv_dates)
        self.progress_ledger = Ledger(
            out, "供地/开发利用巡查", ["电子监管号", "合同编号", "划拨决定书编号", "项目名称", "巡查日期",
                                   "实际交地时间", "实际开工时间", "实际竣工时间", "已开发面积（公顷）",
                                   "已投资额（万元）", "总投资额（万元）", "停工日期", "巡查人", "备注"],
            kind="use", sheet="巡查记录",
            description="开发利用巡查记录（巡查日期为 Excel 序列数，实际时间为 2019.03.05 式文本，"
                        "停工日期为 2019-03-05 式文本）",
            csv_mode=large, csv_dates=csv_dates)
        self.counts_from = {"approval_batch": 0, "batch_parcel": 0, "acquisition": 0,
                            "supply": 0, "supply_geometry": 0, "supply_batch": 0, "use": 0}

    # -- streaming part ------------------------------------------------------------------------
    def add(self, c: County) -> None:
        cnt = self.counts_from
        self.txt_groups = c.txt_groups
        bl, bshp = self.batch_ledger, self.batch_shp
        for b in c.batches:
            cnt["approval_batch"] += 1
            bl.add([cnt["approval_batch"], b.pzwh, b.name, b.batch_type, b.authority,
                    b.approval_date, b.approved_ha, b.ownership_ha("集体"), b.ownership_ha("国有"),
                    len(b.parcels), b.township, "国务院批准" if b.authority == "国务院" else ""])
            for p in b.parcels:
                cnt["batch_parcel"] += 1
                bshp.add(p.geom, (pzwh_style(b.pzwh, "[]"), b.name, b.batch_type, b.authority,
                                  dt.dotted(b.approval_date), b.approved_ha, p.number,
                                  f"{b.name}地块{p.number}",
                                  round(p.geom.area / 1e4, 4), p.ownership, p.use,
                                  _code(p.use, b.approval_date.year), b.township, p.village))
        self._txt(c.batches)
        for a in c.acquisitions:
            cnt["acquisition"] += 1
            self.acq_shp.add(a.geom, (a.notice_no, pzwh_style(a.pzwh, "（）"), a.date, a.area_ha,
                                      a.ownership, a.township, a.village))
        for s in c.supplies:
            self._supply(s)
        for lk in c.links:
            cnt["supply_batch"] += 1
            s = lk.supply
            style = "（）" if cnt["supply_batch"] % 2 else "[]"
            self.link_ledger.add([s.dzjgh, s.contract_no, s.allocation_no, s.project_name,
                                  pzwh_style(lk.pzwh, style), lk.area_ha])
        for pr in c.progress:
            cnt["use"] += 1
            s = pr.supply
            self.progress_ledger.add([
                s.dzjgh, s.contract_no, s.allocation_no, s.project_name,
                dt.excel_serial(pr.observed), dt.dotted(pr.actual_handover),
                dt.dotted(pr.actual_start), dt.dotted(pr.actual_completion), pr.developed_ha,
                pr.invested, pr.total_investment, dt.iso(pr.suspended_since), pr.inspector,
                pr.remark])
        for p in c.patches:
            self.patches.add(p.geom, {
                "图斑编号": p.patch_no, "监测批次": p.period, "变化类型": p.change_type,
                "前时相": dt.compact(p.prior_date), "后时相": dt.compact(p.detected_date),
                "判定结果": p.judgement, "图斑面积": round(p.geom.area, 2), "乡镇": p.township,
                "备注": p.remark})
        for sp in c.survey:
            self.survey_shp.add(sp.geom, (sp.bsm, sp.tbbh, sp.dlbm, sp.dlmc, sp.qsxz, sp.zldwmc,
                                          round(sp.geom.area, 2), sp.survey_date.year))

    def _supply(self, s: Supply) -> None:
        cnt = self.counts_from
        cnt["supply"] += 1
        self.supply_ledger.add([
            cnt["supply"], s.dzjgh, s.contract_no, s.allocation_no, s.project_name, s.land_user,
            s.method, s.land_use, SUPPLY_SOURCE_LONG[s.land_source], s.area_ha, s.price,
            s.contract_date, dt.slash(s.agreed_handover), dt.slash(s.agreed_start),
            dt.slash(s.agreed_completion), s.term_years, s.plot_ratio, s.township, s.location,
            dt.chinese(s.reclaimed_date), s.reclaim_doc, s.mortgagee])
        if s.geom is None:
            return
        cnt["supply_geometry"] += 1
        if s.target == "huabo":
            self.huabo_shp.add(s.geom, (
                s.allocation_no, s.dzjgh, s.project_name, s.land_user, s.method, s.land_use,
                s.land_source, round(s.geom.area, 2), dt.compact(s.contract_date),
                dt.compact(s.agreed_start), dt.compact(s.agreed_completion), s.township))
        else:
            self.supply_shp.add(s.geom, (
                s.dzjgh, s.contract_no, s.allocation_no, s.project_name, s.land_user, s.method,
                s.land_use, s.land_source, s.area_ha, s.price, dt.chinese(s.contract_date),
                dt.chinese(s.agreed_handover), dt.chinese(s.agreed_start),
                dt.chinese(s.agreed_completion), s.plot_ratio, s.township, s.location))

    # -- 部标 TXT ------------------------------------------------------------------------------
    def _txt(self, batches: list[Batch]) -> None:
        planted = [b for b in batches if b.planted]
        background = [b for b in batches if not b.planted]
        if self.large:
            room = max(0, TXT_BACKGROUND_LARGE - self.txt_background)
            background = background[:room]
        self.txt_background += len(background)
        groups: list[list[Batch]] = []
        ids = {id(b) for b in planted}
        multi = {id(b) for g in self.txt_groups for b in g}
        groups += [g for g in self.txt_groups if id(g[0]) in ids]
        groups += [[b] for b in planted if id(b) not in multi]
        i = 0
        while i < len(background):
            n = 3 if (len(self.txt_files) + i) % 9 == 4 and i + 2 < len(background) else 1
            groups.append(background[i:i + n])
            i += n
        for g in groups:
            self._write_txt(g)

    def _write_txt(self, group: list[Batch]) -> None:
        first = group[0]
        n = len(self.txt_files)
        encoding = "utf-8-sig" if n % 3 == 2 else "gbk"
        header = {
            "数据产生单位": SURVEYORS[n % len(SURVEYORS)],
            "数据产生日期": (first.approval_date - timedelta(days=90)).isoformat(),
            "带号": str(ZONE),
            "精度": "0.001",
        }
        parcels = []
        for b in group:
            for p in b.parcels:
                extra = [b.pzwh] if len(group) > 1 else []
                parcels.append(BubiaoParcel(
                    p.number, _prefix(_oriented(p.geom)), name=f"{b.name}地块{p.number}",
                    area_ha=round(p.geom.area / 1e4, 4), geom_type="面",
                    sheet=_sheet(p.geom), use=p.use,
                    class_code=_code(p.use, b.approval_date.year), extra=extra))
        if len(group) == 1:
            sections = {"项目信息": {"项目名称": first.name,
                                     "批准文号": pzwh_style(first.pzwh, "【】"),
                                     "行政区": f"{COUNTY_NAME}{first.township}"}}
            name = f"{first.name}（{first.pzwh}）.txt"
        else:
            sections = {}
            name = f"{first.name}等{len(group)}个批次.txt"
        name = name.replace("/", "-")
        rel = f"批次/部标坐标/{name}"
        path = self.out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        write_bubiao(path, parcels, header=header, sections=sections, encoding=encoding)
        self.txt_files.append(rel)
        self.txt_batches += len(group)

    # -- closing, and the small planted-only tables ----------------------------------------------
    def close(self, c: County) -> list[Dataset]:
        """Finish every file; ``c`` holds the planted records of the planted-only tables."""
        ds: list[Dataset] = []
        ds += self._admin()
        for w in (self.batch_shp, self.acq_shp, self.supply_shp, self.huabo_shp,
                  self.survey_shp):
            ds.append(w.close())
        ds.append(self.patches.close())
        for led in (self.batch_ledger, self.supply_ledger, self.link_ledger,
                    self.progress_ledger):
            ds.append(led.close(STAMP))
        ds.append(Dataset(
            "批次/部标坐标", "approval", "部标 TXT", "GBK / UTF-8 BOM",
            "建设用地报批部标坐标文件（每批次一个，少数文件含多个批次，此时每个地块行在 @ 前多一个"
            "批准文号字段；单批次文件的 [项目信息] 节有 批准文号（【】括号）；X 为北坐标，Y 为带 38 "
            "带号的东坐标；地块面积公顷）", records=self.txt_batches, epsg=PREFIXED_EPSG,
            files=list(self.txt_files),
            extra={"txt_files": len(self.txt_files), "pzwh_brackets": "【】",
                   "area_unit": {"地块面积": "公顷"}}))
        ds += self._small_tables(c)
        self.counts = {
            **self.counts_from,
            "admin_area": 1 + len(self.L.townships), "dev_zone": 1,
            "rs_patch": self.patches.count, "survey_patch": self.survey_shp.count,
            "supplementary_agreement": len(c.agreements), "withdrawal": len(c.withdrawals),
            "idle_case": len(c.idle_cases), "disposal_plan": len(c.plans),
            "disposal_action": sum(len(p.actions) for p in c.plans),
            "task_target": len(TARGETS), "bubiao_file": len(self.txt_files),
            "planted_case": len(c.cases),
        }
        return sorted(ds, key=lambda d: d.path)

    def _admin(self) -> list[Dataset]:
        F = Field
        county = ShapefileWriter(
            self.out, "行政区/县界.shp",
            [F("XZQDM", "str", 6), F("XZQMC", "str", 10), F("行政级别", "str", 4)],
            kind="admin", description="县级行政区界线", ldid=0x57, prj=True,
            dbf_date=date(2025, 12, 31))
        county.add(self.L.county, (COUNTY_CODE, COUNTY_NAME, "县"))
        towns = ShapefileWriter(
            self.out, "行政区/乡镇界.shp",
            [F("行政区代码", "str", 12), F("行政区名称", "str", 10), F("上级代码", "str", 6)],
            kind="admin", description="乡镇级行政区（无 .prj，X 坐标带 38 带号）", ldid=0x00,
            prj=False, prefixed=True, dbf_date=date(2025, 12, 31))
        for t in self.L.townships:
            towns.add(t.geom, (t.code, t.name, COUNTY_CODE))
        zone = ShapefileWriter(
            self.out, "开发区/开发区范围.shp",
            [F("KFQMC", "str", 60), F("KFQDM", "str", 10), F("规划建设用地面积", "float"),
             F("JB", "str", 10)],
            kind="zone",
            description="开发区范围（UTF-8，带 .cpg；字段 规划建设用地面积 被 GDAL 截为10字节，"
                        "成为 规划建 加半个汉字的残字节；面积公顷）",
            encoding="UTF-8", keep_cpg=True, ldid=0x00, prj=True, dbf_date=date(2024, 12, 31),
            extra={"area_unit": {"规划建设用地面积": "公顷"}})
        zone.add(self.L.dev_zone, (f"{COUNTY_NAME}产业集聚区", "S411599",
                                   round(self.L.dev_zone.area / 1e4 * 0.8, 2), "省级"))
        return [county.close(), towns.close(), zone.close()]

    def _small_tables(self, c: County) -> list[Dataset]:
        out = []

        def table(rel, kind, desc, sheets):
            n = write_xlsx(self.out, rel, sheets, STAMP)
            out.append(Dataset(rel, kind, "XLSX", "UTF-8 (xlsx)", desc, records=n, files=[rel],
                               extra={"sheets": [s.title for s in sheets],
                                      "columns": sheets[0].header}))

        table("供地/补充协议.xlsx", "agreement",
              "补充协议（重新约定开竣工时间；日期为 2019-03-05 式文本）",
              [Sheet("补充协议", ["补充协议编号", "电子监管号", "合同编号", "项目名称", "补充协议签订日期",
                                 "约定开工时间", "约定竣工时间", "备注"],
                     [[a.number, a.supply.dzjgh, a.supply.contract_no, a.supply.project_name,
                       dt.iso(a.signed), dt.iso(a.agreed_start), dt.iso(a.agreed_completion),
                       a.remark] for a in c.agreements])])
        table("批次/撤回调整核销.xlsx", "withdrawal",
              "批文撤回、调整、核销（状态 申报 或 批复，只有批复的才减少批而未供；批准文号（）括号；"
              "地块编号为部标文件中的地块编号）",
              [Sheet("撤回调整核销", ["批准文号", "撤回（调整、核销）文号", "类型", "状态", "日期",
                                   "面积（公顷）", "地块编号", "备注"],
                     [[pzwh_style(x.pzwh, "（）"), x.doc_no, x.kind, x.status, x.date, x.area_ha,
                       ",".join(x.parcel_numbers), x.remark] for x in c.withdrawals])])
        table("闲置土地/闲置土地认定.xlsx", "idle_case",
              "闲置土地认定（案件编号为键；认定日期为 2019年3月5日 式文本；闲置原因：政府原因、企业原因、"
              "不可抗力）",
              [Sheet("闲置土地认定", ["案件编号", "认定书编号", "电子监管号", "合同编号", "划拨决定书编号",
                                   "项目名称", "土地使用权人", "调查通知书日期", "闲置认定日期", "闲置原因",
                                   "闲置面积（公顷）", "抵押权人", "备注"],
                     [[i.case_no, i.doc_no, i.supply.dzjgh, i.supply.contract_no, i.supply.allocation_no,
                       i.supply.project_name, i.supply.land_user, dt.chinese(i.notice_date),
                       dt.chinese(i.determined_date), i.cause, i.area_ha, i.supply.mortgagee,
                       i.remark] for i in c.idle_cases],
                     caption="示范县闲置土地认定台账")])
        case_of = {id(i.supply): i.case_no for i in c.idle_cases}
        plans = [[p.plan_id, p.object_type, p.pzwh or "", p.supply.key if p.supply else "",
                  case_of.get(id(p.supply), "") if p.supply else "",
                  p.supply.project_name if p.supply else "", p.area_mu, p.cause_text, p.measure,
                  p.units, p.person, p.deadline, p.status, p.closed_date] for p in c.plans]
        actions = [[p.plan_id, a.date, a.text, a.reporter] for p in c.plans for a in p.actions]
        table("处置/一地一策处置方案.xlsx", "disposal",
              "一地一策处置方案（完成时限、销号日期为 Excel 日期，面积为亩）；第二张表“处置进展”为处置"
              "行动（disposal_action：方案编号、日期、进展情况、填报人）",
              [Sheet("处置方案", ["方案编号", "问题类别", "批准文号", "电子监管号", "案件编号", "项目名称",
                                 "面积（亩）",
                                 "形成原因", "处置方式", "责任单位", "责任人", "完成时限", "状态",
                                 "销号日期"], plans,
                     formats={"完成时限": 'yyyy"年"m"月"d"日"'}),
               Sheet("处置进展", ["方案编号", "日期", "进展情况", "填报人"], actions)])
        table("任务/盘活任务目标.xlsx", "target",
              "盘活任务目标（息县式两个批次形成时段目标，以及隰县式年度任务和月度累计进度节点）",
              [Sheet("盘活目标", ["目标编号", "目标名称", "批次形成起", "批次形成止", "盘活面积目标（亩）",
                                 "供地率目标", "闲置土地处置率目标", "完成期限", "基期日期", "依据文件"],
                     TARGETS, formats={"供地率目标": "0%", "闲置土地处置率目标": "0%"}),
               Sheet("年度任务", ["年度", "批而未供消化率目标", "闲置土地处置率目标", "基期日期",
                                 "依据文件"], ANNUAL,
                     formats={"批而未供消化率目标": "0%", "闲置土地处置率目标": "0%"}),
               Sheet("进度节点", ["年度", "节点日期", "累计完成比例", "备注"], MILESTONES,
                     formats={"累计完成比例": "0%"})])
        return out


TARGETS = [
    ["MB-2023-01", "2008—2018年形成的批而未供土地盘活", date(2008, 1, 1), date(2018, 12, 31), 912.0,
     0.96, 0.90, date(2025, 12, 31), date(2022, 12, 31), "参照息政文〔2023〕2号"],
    ["MB-2023-02", "2019年1月1日—2022年6月30日形成的批而未供土地盘活", date(2019, 1, 1),
     date(2022, 6, 30), 5563.70, 0.70, 0.90, date(2025, 12, 31), date(2022, 12, 31),
     "参照息政文〔2023〕2号"],
]
ANNUAL = [[2026, 0.25, 0.20, date(2025, 12, 31), "参照隰政办发〔2024〕1号"]]
MILESTONES = [
    [2026, date(2026, 3, 31), 0.25, ""], [2026, date(2026, 6, 30), 0.50, ""],
    [2026, date(2026, 7, 31), 0.75, "原文写作“6月底”，按7月底理解"],
    [2026, date(2026, 8, 31), 0.80, ""], [2026, date(2026, 9, 30), 0.90, ""],
    [2026, date(2026, 10, 31), 0.95, ""], [2026, date(2026, 11, 30), 1.00, ""],
]


def _oriented(geom):
    """Exterior rings clockwise, as surveyors write them."""
    if isinstance(geom, Polygon):
        return MultiPolygon([orient(geom, -1.0)])
    return MultiPolygon([orient(p, -1.0) for p in geom.geoms])


def _sheet(geom) -> str:
    """A 1:10 000 map sheet number (fictitious but stable) from the location."""
    x, y = geom.centroid.x, geom.centroid.y
    return f"H50G{int(y // 4600) % 1000:03d}{int(x // 5300) % 1000:03d}"


# -- manifest --------------------------------------------------------------------------------


def _manifest(seed: int, batches: Optional[int], n_bg: int, large: bool, planted: County,
              datasets: list[Dataset], counts: dict[str, int]) -> dict[str, Any]:
    cases = [c.to_json() for c in planted.cases]
    determined = list(planted.idle_cases)
    closed_ids = {p.supply.key for p in planted.plans if p.supply and p.status == "已销号"}
    total = sum(i.area_ha for i in determined)
    closed = sum(i.area_ha for i in determined if i.supply.key in closed_ids)
    return {
        "format": "landdb-sample-manifest",
        "version": 1,
        "county": {"name": COUNTY_NAME, "admin_code": COUNTY_CODE, "center_lonlat": [114.7, 32.3],
                   "fictitious": True},
        "generator": {"seed": seed, "batches_requested": batches,
                      "planted_batches": N_PLANTED_BATCHES, "background_batches": n_bg,
                      "large": large},
        "as_of": AS_OF.isoformat(),
        "working_epsg": WORKING_EPSG,
        "prefixed_epsg": PREFIXED_EPSG,
        "settings_assumed": {
            "snap_tolerance_m": 0.5, "sliver_width_m": 1.0, "sliver_area_m2": 1.0,
            "used_before_supply_min_m2": 100.0, "used_before_supply_change_types": ["新增建设"],
            "remnant_max_mu": 3.0, "remnant_min_width_m": 10.0, "remnant_touch_m": 0.5,
            "reminder_days": 30, "mismatch_ratio": 0.01, "area_mismatch_min_m2": 1.0,
            "idle_fee_ratio": 0.2, "construction_dlbm": ["05*", "06*", "07*", "08*", "09*", "1004"]},
        "conventions": {
            "pzwh": "subject of batch cases: 批准文号 with 〔〕 brackets (files also use [] （） 【】)",
            "supply": "subject of supply cases: 电子监管号, else 合同编号, else 划拨决定书编号",
            "pair_rules": "for supply_overlap and batch_overlap the subject is the later record; "
                          "'related' names the other",
            "expected_areas": "computed from the exact planted shapes; the drawn shapes differ by "
                              "the digitising noise (≤ 0.1 m), compare with 1 % tolerance",
            "as_of": "a case holds at its own as_of; most use the manifest's as_of",
        },
        "figures": {
            "idle_cases_determined": len(determined),
            "idle_area_determined_ha": round(total, 4),
            "idle_area_closed_ha": round(closed, 4),
            "idle_disposal_rate": round(closed / total, 4) if total else None,
        },
        "rules": RULES,
        "datasets": [d.to_json() for d in datasets],
        "counts": dict(sorted(counts.items())),
        "cases": cases,
    }
