"""Files as offices send them, made for tests: GBK shapefiles without .cpg, 部标 TXT, Excel."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyogrio.raw
import shapely
from shapely.geometry import Polygon, box

# The sample county: CGCS2000 3° zone 38 (CM 114°E); working CRS 4547, prefixed 4526.
X0, Y0 = 565_000.0, 3_574_000.0
PREFIX = 38_000_000.0


def square(x: float, y: float, size: float = 100.0) -> Polygon:
    return box(X0 + x, Y0 + y, X0 + x + size, Y0 + y + size)


def prefixed(g):
    """The same geometry with the zone number in front of the easting (EPSG:4526)."""
    return shapely.transform(g, lambda xy: xy + np.array([PREFIX, 0.0]))


def write_shp(path: Path, rows: list[dict], geoms: list, *, encoding: str = "GBK",
              cpg: bool = False, crs: str | None = None, ldid: int = 0x57,
              geometry_type: str = "Polygon") -> Path:
    """A shapefile; by default GBK with no .cpg, no .prj and language byte 0x57."""
    names = list(rows[0].keys())
    data = [np.array([r.get(n) for r in rows], dtype=object) for n in names]
    wkb = np.array([None if g is None else shapely.to_wkb(g) for g in geoms], dtype=object)
    pyogrio.raw.write(path, wkb, data, names, driver="ESRI Shapefile", geometry_type=geometry_type,
                      crs=crs, encoding=encoding)
    if not cpg:
        path.with_suffix(".cpg").unlink(missing_ok=True)
    dbf = path.with_suffix(".dbf")
    raw = bytearray(dbf.read_bytes())
    raw[29] = ldid
    dbf.write_bytes(bytes(raw))
    return path


def write_bubiao(path: Path, parcels: list[tuple[str, str, float, list[list[tuple[float, float]]]]],
                 encoding: str = "gbk", zone: int = 38, extra_header: str = "") -> Path:
    """parcels: (number, name, declared 公顷, rings as (easting, northing) without prefix)."""
    lines = ["[属性描述]", "格式版本号=1.01版本", "数据产生单位=某县自然资源局",
             "数据产生日期=2023-05-06", "坐标系=2000国家大地坐标系", "几度分带=3",
             "投影类型=高斯克吕格", "计量单位=米", f"带号={zone}", "精度=0.0001", "转换参数=,,,,,,"]
    if extra_header:
        lines.append(extra_header)
    lines.append("[地块坐标]")
    for number, name, ha, rings in parcels:
        pts = []
        for ring_no, ring in enumerate(rings, start=1):
            closed = [*ring, ring[0]]
            for k, (e, n) in enumerate(closed, start=1):
                pts.append(f"J{k},{ring_no},{n:.3f},{zone * 1_000_000 + e:.3f}")
        lines.append(f"{len(pts)},{ha:.4f},{number},{name},面,,工业用地,0601,@")
        lines += pts
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


def write_xlsx(path: Path, header: list[str], rows: list[list], title: str | None = None) -> Path:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    if title:
        ws.append([title])
    ws.append(header)
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path
