"""The sample county generator: encodings, 部标 files, the answer key, determinism, scale.

The planted figures are checked against the files as written (read back with pyogrio,
openpyxl and the 部标 reader), so a wrong scene cannot hide behind its own bookkeeping.
"""

from __future__ import annotations

import warnings
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pyogrio
import pytest
import shapely
from pyogrio.raw import read as ogr_read

from landdb.formats.bubiao import read_bubiao
from landdb.sample import RULES, build, generate, writers

ZONE_OFFSET = 38_000_000.0


@pytest.fixture(scope="module")
def county(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("sample")
    manifest = generate(out, seed=1)
    return out, manifest


def _read(path: Path, encoding: str | None = "GB18030") -> tuple[list[str], np.ndarray, list]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        meta, _fids, geom, data = ogr_read(str(path), encoding=encoding)
    return list(meta["fields"]), shapely.from_wkb(geom), data


def _records(path: Path, encoding: str | None = "GB18030") -> tuple[list[dict], np.ndarray]:
    names, geoms, data = _read(path, encoding)
    rows = [dict(zip(names, vals)) for vals in zip(*data)]
    return rows, geoms


def _xlsx(path: Path, key: str, sheet: str | None = None) -> list[dict[str, Any]]:
    """Rows of a ledger; the header is the first row that holds ``key``."""
    wb = openpyxl.load_workbook(path, read_only=True)
    ws = wb[sheet] if sheet else wb.worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    wb.close()
    h = next(i for i, r in enumerate(rows) if key in r)
    return [dict(zip(rows[h], r)) for r in rows[h + 1:]]


def _norm(pzwh: str) -> str:
    for a, b in (("[", "〔"), ("]", "〕"), ("（", "〔"), ("）", "〕"), ("【", "〔"), ("】", "〕")):
        pzwh = pzwh.replace(a, b)
    return pzwh


def _unprefix(g):
    return shapely.transform(g, lambda c: c - [ZONE_OFFSET, 0.0])


def _d(v) -> date | None:
    if v is None or v == "":
        return None
    if isinstance(v, date):
        return v if type(v) is date else v.date()
    s = str(v)
    if "年" in s:
        y, rest = s.split("年")
        m, rest = rest.split("月")
        return date(int(y), int(m), int(rest.rstrip("日")))
    if "/" in s:
        y, m, d = s.split("/")
        return date(int(y), int(m), int(d))
    return date.fromisoformat(s.replace(".", "-"))


# -- encodings ---------------------------------------------------------------------------------


def test_gbk_shapefiles_decode_without_cpg(county) -> None:
    out, manifest = county
    shp = [d for d in manifest["datasets"] if d["format"] == "ESRI Shapefile"]
    gbk = [d for d in shp if d["encoding"] == "GBK"]
    assert {d["ldid"] for d in gbk} == {"0x57", "0x00"}
    for d in gbk:
        path = out / d["path"]
        assert not path.with_suffix(".cpg").exists()
        assert (out / d["path"]).with_suffix(".dbf").read_bytes()[29] == int(d["ldid"], 16)
        assert path.with_suffix(".prj").exists() == d["prj"]
        names, _g, _data = _read(path)
        assert names == d["fields"]
    supply, _geoms = _records(out / "供地/供地宗地.shp")
    names = list(supply[0])
    assert {"约定开工时", "土地使用权", "合同签订日", "划拨决定书", "电子监管号"} <= set(names)
    assert {r["供地方式"] for r in supply} <= {"挂牌出让", "拍卖出让", "招标出让", "协议出让", "划拨",
                                          "租赁", "作价出资"}
    assert {r["土地来源"] for r in supply} == {"新增", "存量"}
    assert all(r["合同签订日"].endswith("日") for r in supply)
    towns, _g = _records(out / "行政区/乡镇界.shp")
    assert "城关镇" in {r["行政区名称"] for r in towns}
    hb, _g = _records(out / "供地/划拨宗地.shp")
    assert all(r["HBJDSBH"].startswith("示划拨〔") and r["GDFS"] == "划拨" for r in hb)
    # the UTF-8 shapefile has a .cpg and a field name cut inside a character
    zone = out / "开发区/开发区范围.shp"
    assert zone.with_suffix(".cpg").read_text() == "UTF-8"
    raw = zone.with_suffix(".dbf").read_bytes()
    assert "规划建".encode() + b"\xe8" in raw[:200]


def test_prefixed_coordinates_and_crs(county) -> None:
    out, _manifest = county
    _r, geoms = _records(out / "供地/供地宗地.shp")
    x = shapely.get_coordinates(geoms)[:, 0]
    assert (x > 38_400_000).all() and (x < 38_700_000).all()
    _r, geoms = _records(out / "批次/批次地块.shp")
    x = shapely.get_coordinates(geoms)[:, 0]
    assert (x > 400_000).all() and (x < 700_000).all()
    info = pyogrio.read_info(out / "卫片/卫片执法监测图斑.geojson")
    assert info["crs"] == "EPSG:4490"
    _n, g, _d2 = _read(out / "卫片/卫片执法监测图斑.geojson", None)
    lon, lat = shapely.get_coordinates(g).T
    assert (abs(lon - 114.7) < 1).all() and (abs(lat - 32.3) < 1).all()


# -- 部标 ----------------------------------------------------------------------------------------


def test_bubiao_txt_equals_batch_parcels(county) -> None:
    out, manifest = county
    rows, geoms = _records(out / "批次/批次地块.shp")
    shp = {(_norm(r["PZWH"]), r["DKBH"]): (g, r["DKMJ"]) for r, g in zip(rows, geoms)}
    seen = set()
    encodings = set()
    txt = next(d for d in manifest["datasets"] if d["format"] == "部标 TXT")
    for rel in txt["files"]:
        bf = read_bubiao(out / rel)
        encodings.add(bf.encoding)
        assert bf.zone == 38 and bf.zone_prefix == 38
        for p in bf.parcels:
            pzwh = p.extra[0] if p.extra else bf.sections["项目信息"]["批准文号"]
            key = (_norm(pzwh), p.number)
            geom, area_ha = shp[key]
            mine = _unprefix(p.geometry)
            assert shapely.equals_exact(shapely.normalize(mine), shapely.normalize(
                shapely.multipolygons([geom]) if geom.geom_type == "Polygon" else geom), 1e-6), key
            assert p.area_ha == pytest.approx(area_ha, abs=1e-4)
            assert p.geometry.area / 1e4 == pytest.approx(p.area_ha, abs=1e-4)
            seen.add(key)
    assert seen == set(shp)
    assert encodings == {"gb18030", "utf-8-sig"}
    assert txt["records"] == len({k[0] for k in shp})


# -- the answer key ------------------------------------------------------------------------------


def test_manifest_covers_every_rule(county) -> None:
    _out, manifest = county
    assert set(manifest["rules"]) == set(RULES) and len(RULES) == 20
    cases = manifest["cases"]
    for rule in RULES:
        assert any(rule in c["must_raise"] for c in cases), rule
        assert any(rule in c["must_not_raise"] for c in cases), rule
    ids = [c["id"] for c in cases]
    assert len(ids) == len(set(ids))
    for c in cases:
        assert not set(c["must_raise"]) & set(c["must_not_raise"]), c["id"]
        assert set(c["must_raise"]) | set(c["must_not_raise"]) <= set(RULES)
        assert c["description"] and c["as_of"]
    assert manifest["as_of"] == "2026-06-30" and manifest["working_epsg"] == 4547


def test_manifest_files_and_subjects(county) -> None:
    out, manifest = county
    import hashlib

    listed = {f["path"] for f in manifest["files"]}
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert on_disk - listed == {"manifest.json"}
    for f in manifest["files"]:
        assert hashlib.sha256((out / f["path"]).read_bytes()).hexdigest() == f["sha256"]
    total = sum(f["bytes"] for f in manifest["files"])
    assert total < 5_000_000
    batches = {_norm(r["批准文号"]) for r in _xlsx(out / "批次/批次台账.xlsx", "批准文号")}
    ledger = _xlsx(out / "供地/供地台账.xlsx", "电子监管号")
    supplies = {r["电子监管号"] or r["合同编号"] or r["划拨决定书编号"] for r in ledger}
    patches = {r["图斑编号"] for r, in zip(_records(out / "卫片/卫片执法监测图斑.geojson", None)[0])}
    survey = {r["TBBH"] for r in _records(out / "变更调查/2025年度变更调查地类图斑.shp")[0]}
    plans = {r["方案编号"] for r in _xlsx(out / "处置/一地一策处置方案.xlsx", "方案编号")}
    pool = {"batch": batches, "supply": supplies, "rs_patch": patches, "survey_patch": survey,
            "disposal_plan": plans}
    for c in manifest["cases"]:
        assert c["subject"] in pool[c["subject_kind"]], c["id"]
    assert manifest["counts"]["approval_batch"] == len(batches)
    assert manifest["counts"]["supply"] == len(supplies) == len(ledger)


class World:
    """The county as read back from its files, for checking planted figures."""

    def __init__(self, out: Path) -> None:
        rows, geoms = _records(out / "批次/批次地块.shp")
        self.parcels: dict[str, dict[str, Any]] = {}
        for r, g in zip(rows, geoms):
            self.parcels.setdefault(_norm(r["PZWH"]), {})[r["DKBH"]] = g
        self.batches = {k: shapely.union_all(list(v.values())) for k, v in self.parcels.items()}
        ledger = {}
        for r in _xlsx(out / "供地/供地台账.xlsx", "电子监管号"):
            ledger[r["电子监管号"] or r["合同编号"] or r["划拨决定书编号"]] = r
        self.ledger = ledger
        self.supplies: dict[str, Any] = {}
        rows, geoms = _records(out / "供地/供地宗地.shp")
        for r, g in zip(rows, geoms):
            self.supplies[r["电子监管号"] or r["合同编号"] or r["划拨决定书"]] = _unprefix(g)
        rows, geoms = _records(out / "供地/划拨宗地.shp")
        for r, g in zip(rows, geoms):
            self.supplies[r["HBJDSBH"]] = g
        self.withdrawals = _xlsx(out / "批次/撤回调整核销.xlsx", "类型")
        rows, geoms = _records(out / "卫片/卫片执法监测图斑.geojson", None)
        import pyproj

        tr = pyproj.Transformer.from_crs(4490, 4547, always_xy=True)
        self.patches = {
            r["图斑编号"]: (shapely.transform(g, lambda c: np.column_stack(tr.transform(*c.T))),
                        _d(r["后时相"][:4] + "-" + r["后时相"][4:6] + "-" + r["后时相"][6:]),
                        r["变化类型"]) for r, g in zip(rows, geoms)}
        rows, geoms = _records(out / "变更调查/2025年度变更调查地类图斑.shp")
        self.survey = {r["TBBH"]: (g, date(2025, 12, 31), r["DLBM"]) for r, g in zip(rows, geoms)}
        self._unsupplied: dict[date, Any] = {}

    def in_force(self, key: str, as_of: date) -> bool:
        r = self.ledger[key]
        reclaimed = _d(r["收回日期"])
        return _d(r["合同签订日期"]) <= as_of and (reclaimed is None or reclaimed > as_of)

    def remainder(self, pzwh: str, as_of: date):
        """批而未供 land of a batch: minus supplies in force, minus approved withdrawals;
        pieces narrower than 1 m dropped."""
        rest = self.batches[pzwh]
        sup = [g for k, g in self.supplies.items() if self.in_force(k, as_of)]
        rest = rest.difference(shapely.union_all(sup))
        for w in self.withdrawals:
            if _norm(w["批准文号"]) == pzwh and w["状态"] == "批复" and _d(w["日期"]) <= as_of:
                for n in str(w["地块编号"]).split(","):
                    rest = rest.difference(self.parcels[pzwh][n].buffer(0.5))
        return shapely.buffer(shapely.buffer(rest, -0.5, join_style="mitre"), 0.5,
                              join_style="mitre")

    def unsupplied_on(self, when: date):
        if when not in self._unsupplied:
            self._unsupplied[when] = shapely.union_all(
                [self.remainder(p, when) for p in self.batches])
        return self._unsupplied[when]


def _close(actual: float, expected: float) -> bool:
    return abs(actual - expected) <= max(2.0, 0.01 * expected)


def test_planted_figures_match_the_files(county) -> None:
    out, manifest = county
    w = World(out)
    checked = 0
    for c in manifest["cases"]:
        e, s, as_of = c["expected"], c["subject"], date.fromisoformat(c["as_of"])
        if c["subject_kind"] == "batch" and "unsupplied_m2" in e:
            assert _close(w.remainder(s, as_of).area, e["unsupplied_m2"]), c["id"]
            checked += 1
        if c["rule"] == "supply_overlap" and "overlap_m2" in e:
            other = w.supplies[c["related"][0]]
            assert w.supplies[s].intersection(other).area == pytest.approx(e["overlap_m2"],
                                                                           rel=0.01), c["id"]
            checked += 1
        if c["rule"] == "batch_overlap":
            inter = w.batches[s].intersection(w.batches[_norm(c["related"][0])]).area
            assert inter == pytest.approx(e["overlap_m2"], rel=0.01), c["id"]
            checked += 1
        if c["subject_kind"] == "supply" and "outside_m2" in e:
            outside = w.supplies[s].difference(shapely.union_all(list(w.batches.values()))).area
            assert outside == pytest.approx(e["outside_m2"], rel=0.02), c["id"]
            checked += 1
        if c["rule"] == "used_before_supply":
            g, when, kind = w.patches.get(s) or w.survey[s]
            overlap = g.intersection(w.unsupplied_on(when)).area
            if "used_before_supply" in c["must_raise"]:
                assert overlap >= 100 and _close(overlap, e["overlap_m2"]), c["id"]
            elif kind in ("新增建设", "0601", "0701"):
                assert overlap < 100, c["id"]
            checked += 1
        if c["rule"] == "area_mismatch" and c["subject_kind"] == "supply":
            assert w.supplies[s].area == pytest.approx(e["geometry_m2"], rel=0.005), c["id"]
            assert w.ledger[s]["供地面积（公顷）"] * 1e4 == pytest.approx(e["declared_m2"]), c["id"]
            checked += 1
        if c["rule"] == "remnant_parcel" and "area_m2" in e:
            pieces = shapely.get_parts(w.remainder(s, as_of))
            assert any(_close(p.area, e["area_m2"]) for p in pieces), c["id"]
            checked += 1
    assert checked >= 30


def test_idle_dates(county) -> None:
    """Date claims of idle cases hold under 民法典 counting with the agreed start in force."""
    from landdb.sample.dates import full_years_done

    out, manifest = county
    w = World(out)
    agreements = {r["电子监管号"] or r["合同编号"]: _d(r["约定开工时间"])
                  for r in _xlsx(out / "供地/补充协议.xlsx", "补充协议编号")}
    started = set()
    for r in _xlsx(out / "供地/开发利用巡查.xlsx", "巡查日期"):
        if r["实际开工时间"]:
            started.add(r["电子监管号"] or r["合同编号"] or r["划拨决定书编号"])
    n = 0
    for c in manifest["cases"]:
        if c["subject_kind"] != "supply" or not ({"idle_not_started", "idle_reclaim"}
                                                 & set(c["must_raise"] + c["must_not_raise"])):
            continue
        s, as_of = c["subject"], date.fromisoformat(c["as_of"])
        if not w.in_force(s, as_of):
            assert "idle_not_started" in c["must_not_raise"]
            continue
        assert s not in started, c["id"]
        start = agreements.get(s) or _d(w.ledger[s]["约定开工时间"])
        one = full_years_done(start, 1, as_of)
        assert ("idle_not_started" in c["must_raise"]) == one, c["id"]
        if "idle_reclaim" in c["must_raise"]:
            assert full_years_done(start, 2, as_of)
        n += 1
    assert n >= 12


# -- determinism and scale -----------------------------------------------------------------------


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_same_seed_same_bytes(tmp_path: Path, county) -> None:
    out, _m = county
    again = tmp_path / "again"
    generate(again, seed=1)
    assert _tree(again) == _tree(out)
    # re-generating in place removes and rewrites only what the manifest lists
    (again / "自己的笔记.txt").write_text("keep", encoding="utf-8")
    generate(again, seed=1)
    assert (again / "自己的笔记.txt").read_text(encoding="utf-8") == "keep"
    other = tmp_path / "other"
    generate(other, seed=2)
    a, b = _tree(out), _tree(other)
    assert a["供地/供地宗地.shp"] != b["供地/供地宗地.shp"]
    assert a["manifest.json"] != b["manifest.json"]


@pytest.mark.slow
def test_large_path_streams(tmp_path: Path, monkeypatch) -> None:
    """The benchmark layout at a small size: chunked appends, CSV ledgers, few 部标 files."""
    monkeypatch.setattr(build, "CHUNK_BATCHES", 300)
    monkeypatch.setattr(writers, "SHP_CHUNK", 4000)
    out = tmp_path / "big"
    m = generate(out, seed=3, batches=2000)
    assert m["generator"]["large"] and m["counts"]["approval_batch"] == 2000
    kinds = {d["path"]: d for d in m["datasets"]}
    assert "供地/供地台账.csv" in kinds and "供地/供地批次关联.csv" in kinds
    supply = kinds["供地/供地宗地.shp"]
    info = pyogrio.read_info(out / supply["path"], encoding="GB18030")
    assert info["features"] == supply["records"] > 10_000
    assert not (out / "供地/供地宗地.prj").exists() and not (out / "供地/供地宗地.cpg").exists()
    lines = (out / "供地/供地台账.csv").read_bytes().decode("gbk").splitlines()
    assert len(lines) - 1 == m["counts"]["supply"]
    assert lines[0].startswith("序号,电子监管号,合同编号")
    txt = kinds["批次/部标坐标"]
    assert txt["records"] <= 36 + 50 + 2
    rows, _g = _records(out / "批次/批次地块.shp")
    assert len({r["PZWH"] for r in rows}) == 2000
    keys = [r["电子监管号"] for r, in zip(_records(out / supply["path"])[0]) if r["电子监管号"]]
    assert len(keys) == len(set(keys))
