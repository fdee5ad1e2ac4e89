"""部标 coordinate TXT (建设用地报批 / 勘测定界界址点坐标交换文件): reader and writer.

The file (see ``domain.md``)::

    [属性描述]
    格式版本号=1.01版本
    …
    带号=38
    [地块坐标]
    12,1.2345,1,某某项目地块一,面,,工业用地,0601,@
    J1,1,3566012.345,38512345.678
    …

A parcel line holds 界址点数, 地块面积 (公顷), 地块编号, 地块名称, 图形属性, 图幅号, 地块用途,
地类编码, optional extra fields, then ``@``. A point line holds 点号, 圈号, X (northing),
Y (easting, usually with the zone prefix). Geometry is built easting-first (x = Y, y = X) and
kept in the file's coordinates, prefix included; reprojection is the importer's job (the CRS
follows from the header and the eastings: ``landdb.crs.parse_bubiao_crs``,
:attr:`BubiaoFile.zone_prefix`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon

from ..errors import LanddbError

__all__ = [
    "DEFAULT_HEADER",
    "BubiaoError",
    "BubiaoFile",
    "BubiaoParcel",
    "detect_encoding",
    "dumps_bubiao",
    "parse_bubiao",
    "read_bubiao",
    "write_bubiao",
]

HEADER_SECTION = "属性描述"
COORD_SECTION = "地块坐标"

#: Header written when the caller gives none (key order is the usual one).
DEFAULT_HEADER: dict[str, str] = {
    "格式版本号": "1.01版本",
    "数据产生单位": "",
    "数据产生日期": "",
    "坐标系": "2000国家大地坐标系",
    "几度分带": "3",
    "投影类型": "高斯克吕格",
    "计量单位": "米",
    "带号": "",
    "精度": "0.001",
    "转换参数": ",,,,,,",
}

_SECTION_RE = re.compile(r"^\s*[\[【]\s*(.+?)\s*[\]】]\s*$")
_FULLWIDTH = str.maketrans({"，": ",", "＝": "=", "＠": "@", "　": " "})

PathLike = Union[str, Path]


class BubiaoError(LanddbError):
    """A malformed 部标 TXT file; the message names the file and the line."""

    def __init__(self, source: str, line_no: int | None, zh: str, en: str) -> None:
        self.source = source
        self.line_no = line_no
        if line_no is None:
            msg = f"部标坐标文件 {source}: {zh} [{source}: {en}]"
        else:
            msg = f"部标坐标文件 {source} 第 {line_no} 行: {zh} [{source} line {line_no}: {en}]"
        super().__init__(msg)


@dataclass
class BubiaoParcel:
    """One 地块 of a 部标 file.

    ``geometry`` is a MultiPolygon in the file's coordinates (x = easting Y, y = northing X).
    ``area_ha`` is the declared 地块面积 in 公顷; ``point_count`` the declared 界址点数 (not
    trusted: ``points_read`` is what the file really holds). ``line_no`` is the 1-based line of
    the parcel line.
    """

    number: str
    geometry: MultiPolygon
    name: str = ""
    area_ha: float | None = None
    geom_type: str = "面"
    sheet: str = ""
    use: str = ""
    class_code: str = ""
    extra: list[str] = field(default_factory=list)
    point_count: int | None = None
    points_read: int = 0
    line_no: int = 0


@dataclass
class BubiaoFile:
    """A parsed 部标 file: the [属性描述] header, other key=value sections, the parcels."""

    header: dict[str, str]
    parcels: list[BubiaoParcel]
    sections: dict[str, dict[str, str]] = field(default_factory=dict)
    encoding: str = "gb18030"
    source: str = "<string>"
    warnings: list[str] = field(default_factory=list)

    @property
    def zone(self) -> int | None:
        """The 带号 of the header, or the zone prefix of the eastings, or None."""
        prefix = self.zone_prefix
        if prefix is not None:
            return prefix
        value = self.header.get("带号", "").strip()
        return int(value) if value.isdigit() else None

    @property
    def zone_prefix(self) -> int | None:
        """Zone number carried in the eastings (easting >= 10⁷), else None."""
        for p in self.parcels:
            if p.geometry.is_empty:
                continue
            x = shapely.get_coordinates(p.geometry)[0, 0]
            return int(x // 1_000_000) if x >= 10_000_000 else None
        return None


# -- reading -------------------------------------------------------------------------------


def detect_encoding(data: bytes) -> str:
    """'utf-8-sig' with a BOM, 'utf-8' if the bytes decode strictly, else 'gb18030'."""
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:
        data.decode("utf-8", errors="strict")
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8"


def read_bubiao(path: PathLike, encoding: str | None = None) -> BubiaoFile:
    """Read a 部标 TXT file (encoding detected unless given)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BubiaoError(str(path), None, f"无法读取文件: {exc}", f"cannot read: {exc}") from exc
    return parse_bubiao(data, source=str(path), encoding=encoding)


def parse_bubiao(
    data: bytes | str, source: str = "<string>", encoding: str | None = None
) -> BubiaoFile:
    """Parse the text (or bytes) of a 部标 file; ``source`` names it in error messages."""
    if isinstance(data, bytes):
        enc = encoding or detect_encoding(data)
        try:
            text = data.decode(enc)
        except UnicodeDecodeError as exc:
            line_no = data[: exc.start].count(b"\n") + 1
            raise BubiaoError(
                source, line_no, f"无法按 {enc} 解码", f"cannot decode as {enc}"
            ) from exc
    else:
        enc = encoding or "str"
        text = data
    if text.startswith("\ufeff"):
        text = text[1:]

    header: dict[str, str] = {}
    sections: dict[str, dict[str, str]] = {}
    parcels: list[BubiaoParcel] = []
    warnings: list[str] = []
    section: str | None = None
    current: _ParcelBuilder | None = None
    seen_coord = False

    # split on \n only (CRLF and LF alike), so line numbers match what an editor shows
    lines = text.split("\n") if "\n" in text else text.split("\r")
    for line_no, raw in enumerate(lines, start=1):
        line = raw.strip().strip("\x1a").translate(_FULLWIDTH)
        if not line:
            continue
        m = _SECTION_RE.match(line)
        if m and "," not in line:
            if current is not None:
                parcels.append(current.build(source, warnings))
                current = None
            section = m.group(1)
            if section == COORD_SECTION:
                seen_coord = True
            elif section != HEADER_SECTION:
                sections.setdefault(section, {})
            continue
        if section != COORD_SECTION:
            if "=" not in line:
                warnings.append(f"第 {line_no} 行不是 键=值，已忽略 [line {line_no} ignored]")
                continue
            key, value = line.split("=", 1)
            target = header if section in (None, HEADER_SECTION) else sections[section]
            target[key.strip()] = value.strip()
            continue
        fields = [f.strip() for f in line.split(",")]
        while fields and fields[-1] == "":
            fields.pop()
        if fields and fields[-1] == "@":
            if current is not None:
                parcels.append(current.build(source, warnings))
            current = _ParcelBuilder.from_fields(fields[:-1], line_no, source)
            continue
        if current is None:
            raise BubiaoError(
                source, line_no, "坐标行之前没有地块行 (以 @ 结尾)",
                "point line before any parcel line (ending with @)",
            )
        current.add_point(fields, line_no, source)

    if current is not None:
        parcels.append(current.build(source, warnings))
    if not seen_coord:
        raise BubiaoError(source, None, "缺少 [地块坐标] 节", "no [地块坐标] section")
    return BubiaoFile(header, parcels, sections, enc, source, warnings)


def _num(value: str, source: str, line_no: int, what_zh: str, what_en: str) -> float:
    try:
        v = float(value)
    except ValueError:
        v = float("nan")
    if not np.isfinite(v):
        raise BubiaoError(
            source, line_no, f"{what_zh}不是数字: {value!r}", f"{what_en} is not a number: {value!r}"
        )
    return v


class _ParcelBuilder:
    """Collects the point lines of one parcel and builds its MultiPolygon."""

    def __init__(self, attrs: dict, line_no: int) -> None:
        self.attrs = attrs
        self.line_no = line_no
        # each ring: [ring_no, [(x, y)], first_line]
        self.rings: list[list] = []
        self.points_read = 0

    @classmethod
    def from_fields(cls, fields: list[str], line_no: int, source: str) -> _ParcelBuilder:
        f = [*fields, *[""] * max(0, 8 - len(fields))]
        count: int | None = None
        if f[0]:
            try:
                count = int(float(f[0]))
            except ValueError:
                raise BubiaoError(
                    source, line_no, f"界址点数不是数字: {f[0]!r}",
                    f"point count is not a number: {f[0]!r}",
                ) from None
        area = _num(f[1], source, line_no, "地块面积", "parcel area") if f[1] else None
        attrs = {
            "point_count": count, "area_ha": area, "number": f[2], "name": f[3],
            "geom_type": f[4], "sheet": f[5], "use": f[6], "class_code": f[7],
            "extra": list(f[8:]),
        }
        return cls(attrs, line_no)

    def add_point(self, fields: list[str], line_no: int, source: str) -> None:
        if len(fields) < 4:
            raise BubiaoError(
                source, line_no,
                f"坐标行应为 点号,圈号,X,Y，只有 {len(fields)} 项",
                f"point line needs 点号,圈号,X,Y; got {len(fields)} fields",
            )
        try:
            ring_no = int(float(fields[1]))
        except ValueError:
            raise BubiaoError(
                source, line_no, f"圈号不是整数: {fields[1]!r}",
                f"ring number is not an integer: {fields[1]!r}",
            ) from None
        northing = _num(fields[2], source, line_no, "X 坐标", "X coordinate")
        easting = _num(fields[3], source, line_no, "Y 坐标", "Y coordinate")
        self.points_read += 1
        pt = (easting, northing)
        if self.rings:
            last = self.rings[-1]
            closed = len(last[1]) >= 4 and last[1][-1] == last[1][0]
            if last[0] == ring_no and not closed:
                last[1].append(pt)
                return
        self.rings.append([ring_no, [pt], line_no])

    def build(self, source: str, warnings: list[str]) -> BubiaoParcel:
        if not self.rings:
            raise BubiaoError(
                source, self.line_no, "地块没有坐标行", "parcel has no point lines"
            )
        rings: list[np.ndarray] = []
        closing_lines = 0
        for _ring_no, pts, first_line in self.rings:
            if len(pts) > 1 and pts[-1] == pts[0]:
                closing_lines += 1
            else:
                pts = [*pts, pts[0]]
            if len(set(pts)) < 3:
                raise BubiaoError(
                    source, first_line,
                    f"地块 {self.attrs['number']} 的圈少于 3 个不同的点",
                    f"ring of parcel {self.attrs['number']} has fewer than 3 distinct points",
                )
            rings.append(np.asarray(pts, dtype=float))
        geometry = _assemble(rings)
        n = self.attrs["point_count"]
        if n is not None and n not in (self.points_read, self.points_read - closing_lines):
            warnings.append(
                f"第 {self.line_no} 行 地块 {self.attrs['number']}: 界址点数 {n} 与坐标行数 "
                f"{self.points_read} 不符 [line {self.line_no}: declared {n} points, "
                f"read {self.points_read}]"
            )
        return BubiaoParcel(
            geometry=geometry, points_read=self.points_read, line_no=self.line_no, **self.attrs
        )


def _assemble(rings: list[np.ndarray]) -> MultiPolygon:
    """Classify rings by containment: odd depth = hole of its nearest container."""
    polys = [Polygon(r) for r in rings]
    areas = [abs(p.area) for p in polys]
    n = len(rings)
    containers: list[list[int]] = [[] for _ in range(n)]
    for i in range(n):
        xs, ys = rings[i][:-1, 0], rings[i][:-1, 1]
        for j in range(n):
            if i == j or areas[j] <= areas[i]:
                continue
            if shapely.intersects_xy(polys[j], xs, ys).all() and shapely.contains_xy(
                polys[j], xs, ys
            ).any():
                containers[i].append(j)
    depth = [len(c) for c in containers]
    holes: dict[int, list[int]] = {i: [] for i in range(n) if depth[i] % 2 == 0}
    for i in range(n):
        if depth[i] % 2 == 1:
            parent = min(
                (j for j in containers[i] if depth[j] == depth[i] - 1), key=lambda j: areas[j]
            )
            holes[parent].append(i)
    parts = [Polygon(rings[s], [rings[h] for h in holes[s]]) for s in sorted(holes)]
    return MultiPolygon(parts)


# -- writing -------------------------------------------------------------------------------


def dumps_bubiao(
    parcels: Iterable[BubiaoParcel],
    header: dict[str, str] | None = None,
    sections: dict[str, dict[str, str]] | None = None,
    decimals: int = 3,
    newline: str = "\r\n",
) -> str:
    """Text of a 部标 file for ``parcels`` (deterministic).

    ``header`` is merged over :data:`DEFAULT_HEADER`; ``sections`` (e.g. ``{"项目信息": {…}}``)
    are written between [属性描述] and [地块坐标]. Each polygon part is written as its exterior
    ring then its holes, 圈号 counting from 1 across the parcel, points J1… numbered across the
    parcel, every ring closed by repeating its first point; 界址点数 counts the closing points.
    """
    head = dict(DEFAULT_HEADER)
    head["精度"] = f"{10.0 ** -decimals:.{decimals}f}" if decimals > 0 else "1"
    if header:
        head.update(header)
    lines = [f"[{HEADER_SECTION}]"]
    lines += [f"{k}={v}" for k, v in head.items()]
    for name, values in (sections or {}).items():
        lines.append(f"[{name}]")
        lines += [f"{k}={v}" for k, v in values.items()]
    lines.append(f"[{COORD_SECTION}]")
    fmt = f"{{:.{decimals}f}}"
    for p in parcels:
        geom = p.geometry
        polys: Sequence[Polygon]
        if isinstance(geom, Polygon):
            polys = [geom]
        elif isinstance(geom, MultiPolygon):
            polys = list(geom.geoms)
        else:
            raise TypeError(f"parcel {p.number}: geometry must be a (Multi)Polygon")
        rings = []
        for poly in polys:
            rings.append(np.asarray(poly.exterior.coords))
            rings += [np.asarray(r.coords) for r in poly.interiors]
        point_lines = []
        k = 0
        for ring_no, coords in enumerate(rings, start=1):
            first_k = k + 1
            for idx, (x, y) in enumerate(coords[:, :2]):
                last = idx == len(coords) - 1
                if not last:
                    k += 1
                name = f"J{first_k if last else k}"
                point_lines.append(f"{name},{ring_no},{fmt.format(y)},{fmt.format(x)}")
        area = p.area_ha if p.area_ha is not None else geom.area / 10_000
        fields = [
            str(len(point_lines)), f"{area:.4f}", p.number, p.name, p.geom_type or "面",
            p.sheet, p.use, p.class_code, *p.extra, "@",
        ]
        lines.append(",".join(fields))
        lines += point_lines
    return newline.join(lines) + newline


def write_bubiao(
    path: PathLike,
    parcels: Iterable[BubiaoParcel],
    header: dict[str, str] | None = None,
    sections: dict[str, dict[str, str]] | None = None,
    encoding: str = "gbk",
    decimals: int = 3,
    newline: str = "\r\n",
) -> Path:
    """Write a 部标 file; ``encoding`` is 'gbk' (default) or 'utf-8-sig'."""
    if encoding.lower().replace("_", "-") not in ("gbk", "cp936", "gb18030", "utf-8-sig"):
        raise ValueError(f"unsupported 部标 encoding {encoding!r}: use 'gbk' or 'utf-8-sig'")
    text = dumps_bubiao(parcels, header, sections, decimals, newline)
    path = Path(path)
    path.write_bytes(text.encode(encoding))
    return path
