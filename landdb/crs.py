"""Chinese CRS facts and inference (domain.md, "Coordinate reference systems").

Coordinates reveal the Gauss-Krüger zone, never the datum: CGCS2000 is assumed unless a header,
a .prj or the user says otherwise, and the guess says so. All functions take and give
coordinates easting first (traditional GIS order), as PostGIS, GDAL and QGIS do.
"""

from __future__ import annotations

import math
import re
import unicodedata
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Optional

from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from landdb.errors import LanddbError

__all__ = [
    "BEIJING1954",
    "CGCS2000",
    "GEOGRAPHIC_EPSG",
    "GK_TABLE",
    "XIAN1980",
    "BubiaoCrs",
    "CrsError",
    "CrsGuess",
    "GkCrs",
    "Transform",
    "check_extent",
    "crs_from_bubiao_header",
    "crs_from_prj",
    "gk_epsg",
    "infer_crs",
    "normalize_datum",
    "parse_bubiao_crs",
    "parse_helmert",
    "transformer",
    "working_epsg_for_lon",
    "zone_for_lon",
]

CGCS2000 = "CGCS2000"
XIAN1980 = "Xian1980"
BEIJING1954 = "Beijing1954"

DATUM_LABELS = {
    CGCS2000: "2000国家大地坐标系",
    XIAN1980: "1980西安坐标系",
    BEIJING1954: "1954北京坐标系",
}
GEOGRAPHIC_EPSG = {CGCS2000: 4490, XIAN1980: 4610, BEIJING1954: 4214}

ZONES_3 = range(25, 46)  # CM 75°E … 135°E
ZONES_6 = range(13, 24)  # CM 75°E … 135°E

# (datum, width) → (EPSG of zone 'first' with prefix, EPSG without prefix), offset by zone N.
_GK_BASES: dict[tuple[str, int], tuple[int, int]] = {
    (CGCS2000, 3): (4488, 4509),
    (CGCS2000, 6): (4478, 4489),
    (XIAN1980, 3): (2324, 2345),
    (XIAN1980, 6): (2314, 2325),
    (BEIJING1954, 3): (2376, 2397),
    (BEIJING1954, 6): (21400, 21440),
}

# Plausible ranges, metres. China spans about 3°N (northing 330 km) to 54°N (5 990 km); a zone
# is at most ±170 km (3°) or ±340 km (6°) wide at these latitudes, around the false easting.
NORTHING_RANGE = (300_000.0, 6_100_000.0)
ZONE_EASTING_RANGE = (100_000.0, 900_000.0)
CHINA_LON = (73.0, 136.0)
CHINA_LAT = (3.0, 54.0)


class CrsError(LanddbError):
    """Coordinates or declarations fit no plausible Chinese CRS."""


@dataclass(frozen=True)
class GkCrs:
    """One Gauss-Krüger CRS of the Chinese tables."""

    epsg: int
    datum: str
    width: int  # 3 or 6 degrees
    zone: int
    central_meridian: int
    prefixed: bool  # easting carries the zone number in the millions

    @property
    def false_easting(self) -> float:
        return self.zone * 1_000_000 + 500_000.0 if self.prefixed else 500_000.0


def _central_meridian(width: int, zone: int) -> int:
    return 3 * zone if width == 3 else 6 * zone - 3


def _build_table() -> dict[int, GkCrs]:
    table: dict[int, GkCrs] = {}
    for (datum, width), (with_prefix, without) in _GK_BASES.items():
        for zone in ZONES_3 if width == 3 else ZONES_6:
            cm = _central_meridian(width, zone)
            table[with_prefix + zone] = GkCrs(with_prefix + zone, datum, width, zone, cm, True)
            table[without + zone] = GkCrs(without + zone, datum, width, zone, cm, False)
    return table


#: Every Gauss-Krüger EPSG code of CGCS2000, Xian 1980 and Beijing 1954 (3° and 6°).
GK_TABLE: dict[int, GkCrs] = _build_table()


def gk_epsg(datum: str, width: int, zone: int, prefixed: bool) -> int:
    """EPSG code of a Gauss-Krüger CRS, e.g. gk_epsg("CGCS2000", 3, 38, False) == 4547."""
    key = (normalize_datum(datum) or datum, width)
    if key not in _GK_BASES:
        raise CrsError(f"不支持的基准或分带：{datum} {width}° [unsupported datum or zone width]")
    zones = ZONES_3 if width == 3 else ZONES_6
    if zone not in zones:
        raise CrsError(
            f"{width}° 分带中国范围内没有第 {zone} 带（应为 {zones[0]}–{zones[-1]}）"
            f" [no {width}-degree zone {zone} in China]"
        )
    with_prefix, without = _GK_BASES[key]
    return (with_prefix if prefixed else without) + zone


def normalize_datum(text: str | None) -> str | None:
    """Map a datum label ("2000国家大地坐标系", "西安80", "Beijing 1954"…) to a datum id."""
    if not text:
        return None
    t = re.sub(r"[\s_\-]", "", str(text)).lower()
    if t in {CGCS2000.lower(), XIAN1980.lower(), BEIJING1954.lower()}:
        return {c.lower(): c for c in (CGCS2000, XIAN1980, BEIJING1954)}[t]
    if "2000" in t or "cgcs" in t:
        return CGCS2000
    if "西安" in t or "xian" in t or "xi'an" in t or re.search(r"(^|[^0-9])(19)?80", t):
        return XIAN1980
    if "北京" in t or "beijing" in t or "krass" in t or re.search(r"(^|[^0-9])(19)?54", t):
        return BEIJING1954
    return None


# --- zones -----------------------------------------------------------------------------------


def zone_for_lon(lon: float) -> int:
    """3° zone number of a longitude: round(lon / 3), halves rounded up (114.7°E → 38)."""
    if not CHINA_LON[0] <= lon <= CHINA_LON[1]:
        raise CrsError(f"经度 {lon} 不在中国范围（73°–136°E）[longitude outside China]")
    return math.floor(lon / 3.0 + 0.5)


def working_epsg_for_lon(lon: float) -> int:
    """The working CRS for a county at ``lon``: CGCS2000 3° GK without prefix (114.7 → 4547)."""
    return 4509 + zone_for_lon(lon)


# --- inference -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CrsGuess:
    """An inferred CRS with a Chinese explanation."""

    epsg: int
    explanation: str
    datum_assumed: bool  # True when CGCS2000 is only assumed (coordinates prove no datum)
    zone: Optional[int] = None
    zone_width: Optional[int] = None
    prefixed: Optional[bool] = None

    @property
    def name(self) -> str:
        return CRS.from_epsg(self.epsg).name


def _fmt_bounds(bounds: Sequence[float]) -> str:
    return "(" + ", ".join(f"{v:.0f}" if abs(v) >= 1e4 else f"{v:.6g}" for v in bounds) + ")"


def _width_for_zone(zone: int, declared_width: int | None, source: str) -> int:
    width = 3 if zone in ZONES_3 else 6 if zone in ZONES_6 else None
    if width is None:
        raise CrsError(
            f"{source}带号 {zone} 在中国不存在（3° 带 25–45，6° 带 13–23）[no such zone: {zone}]"
        )
    if declared_width is not None and declared_width != width:
        raise CrsError(
            f"{source}带号 {zone} 与 {declared_width}° 分带不符 "
            f"[zone {zone} does not exist in {declared_width}-degree zoning]"
        )
    return width


def infer_crs(
    bounds: Sequence[float],
    *,
    declared_zone: int | None = None,
    datum_hint: str | None = None,
    county_lon: float | None = None,
    central_meridian: float | None = None,
    zone_width: int | None = None,
) -> CrsGuess:
    """Infer the CRS of coordinates from their bounds (minx, miny, maxx, maxy), easting first.

    - easting ≥ 10⁷: the zone is in the millions (25–45 → 3°, 13–23 → 6°);
    - longitude/latitude within China (73–136°E, 3–54°N): geographic (EPSG:4490 for CGCS2000);
    - projected without prefix: the zone comes from ``declared_zone`` (部标 带号), else
      ``central_meridian`` (from a .prj), else ``county_lon`` (3° zone = round(lon / 3)).

    ``datum_hint`` ("CGCS2000", "西安80"…) picks the datum; without it CGCS2000 is assumed and
    ``datum_assumed`` is set. Raises CrsError when the coordinates fit no plausible CRS.
    """
    if len(bounds) != 4:
        raise CrsError("坐标范围应为 (minx, miny, maxx, maxy) [bounds must have 4 values]")
    minx, miny, maxx, maxy = (float(v) for v in bounds)
    if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)):
        raise CrsError(f"坐标范围无效 {_fmt_bounds(bounds)} [non-finite bounds]")
    if minx > maxx or miny > maxy:
        raise CrsError(f"坐标范围无效 {_fmt_bounds(bounds)} [min greater than max]")
    if datum_hint:
        datum = normalize_datum(datum_hint)
        if datum is None:
            raise CrsError(f"无法识别的坐标系/基准 '{datum_hint}' [unknown datum]")
        datum_assumed = False
        datum_note = f"基准按声明为{DATUM_LABELS[datum]}"
    else:
        datum = CGCS2000
        datum_assumed = True
        datum_note = (
            "坐标只能说明分带，不能说明基准：未声明基准，假定为 2000国家大地坐标系 [datum assumed]"
        )
    if zone_width is not None and zone_width not in (3, 6):
        raise CrsError(f"分带宽度应为 3 或 6，而不是 {zone_width} [zone width must be 3 or 6]")
    where = _fmt_bounds(bounds)

    # Geographic?
    lon_ok = CHINA_LON[0] <= minx and maxx <= CHINA_LON[1]
    lat_ok = CHINA_LAT[0] <= miny and maxy <= CHINA_LAT[1]
    swapped_ok = (
        CHINA_LAT[0] <= minx and maxx <= CHINA_LAT[1]
        and CHINA_LON[0] <= miny and maxy <= CHINA_LON[1]
    )
    if swapped_ok:
        raise CrsError(
            f"坐标 {where} 像是纬度在前、经度在后的经纬度，请交换 X/Y 顺序 "
            f"[lon/lat axes swapped: latitude first]"
        )
    if -180 <= minx and maxx <= 180 and -90 <= miny and maxy <= 90:
        if lon_ok and lat_ok:
            epsg = GEOGRAPHIC_EPSG[datum]
            return CrsGuess(
                epsg,
                f"坐标 {where} 为中国范围内的经纬度，判定为地理坐标 EPSG:{epsg}；{datum_note}",
                datum_assumed,
            )
        raise CrsError(
            f"坐标 {where} 像是经纬度，但不在中国范围（73°–136°E，3°–54°N）"
            f" [longitude/latitude outside China]"
        )

    def check_northing() -> None:
        if not (NORTHING_RANGE[0] <= miny and maxy <= NORTHING_RANGE[1]):
            raise CrsError(
                f"北坐标 {miny:.0f}–{maxy:.0f} 超出中国范围（{NORTHING_RANGE[0]:.0f}–"
                f"{NORTHING_RANGE[1]:.0f} 米）[northing out of range]"
            )

    # X/Y swapped (部标 order: X = northing, Y = easting)?
    y_is_easting = miny >= 1e7 or (
        ZONE_EASTING_RANGE[0] <= miny and maxy <= ZONE_EASTING_RANGE[1]
    )
    x_is_northing = 1e6 <= minx and maxx <= NORTHING_RANGE[1]
    if minx < 1e7 and y_is_easting and x_is_northing:
        raise CrsError(
            f"坐标 {where} 的 X 值像北坐标、Y 值像东坐标：X/Y 顺序颠倒（部标文件中 X 为北坐标）"
            f" [axes swapped: northing first]"
        )

    # Zone prefix in the easting.
    if maxx >= 1e7:
        zone = int(minx // 1_000_000)
        if int(maxx // 1_000_000) != zone:
            raise CrsError(
                f"东坐标 {minx:.0f}–{maxx:.0f} 跨越不同带号，不是同一投影 "
                "[eastings span several zones]"
            )
        width = _width_for_zone(zone, zone_width, f"东坐标 {minx:.0f} 所含")
        if declared_zone is not None and declared_zone != zone:
            raise CrsError(
                f"东坐标所含带号 {zone} 与声明的带号 {declared_zone} 不符 "
                f"[zone prefix {zone} contradicts declared zone {declared_zone}]"
            )
        local_min, local_max = minx - zone * 1e6, maxx - zone * 1e6
        if not (ZONE_EASTING_RANGE[0] <= local_min and local_max <= ZONE_EASTING_RANGE[1]):
            raise CrsError(
                f"东坐标 {minx:.0f}–{maxx:.0f} 去掉带号后超出带内范围 [easting outside the zone]"
            )
        check_northing()
        epsg = gk_epsg(datum, width, zone, True)
        cm = _central_meridian(width, zone)
        return CrsGuess(
            epsg,
            f"东坐标 {minx:.0f} 含带号 {zone}（{width}° 分带，中央经线 {cm}°E），"
            f"判定为 EPSG:{epsg}；{datum_note}",
            datum_assumed,
            zone,
            width,
            True,
        )

    # Projected without prefix.
    if ZONE_EASTING_RANGE[0] <= minx and maxx <= ZONE_EASTING_RANGE[1]:
        check_northing()
        if declared_zone is not None:
            zone = int(declared_zone)
            width = _width_for_zone(zone, zone_width, "声明的")
            how = f"按声明的带号 {zone}"
        elif central_meridian is not None:
            cm_f = float(central_meridian)
            if zone_width == 6:
                zone_f = (cm_f + 3) / 6
                width = 6
            else:
                zone_f = cm_f / 3
                width = 3
            if abs(zone_f - round(zone_f)) > 1e-6:
                raise CrsError(
                    f"中央经线 {cm_f}° 不是 {width}° 分带的中央经线 "
                    f"[{cm_f} is not a {width}-degree central meridian]"
                )
            zone = round(zone_f)
            _width_for_zone(zone, width, "中央经线对应的")
            how = f"按中央经线 {cm_f:g}°E"
        elif county_lon is not None:
            zone = zone_for_lon(county_lon)
            width = 3
            how = f"按县域经度 {county_lon:g}°E 推定 3° 带 {zone}"
        else:
            raise CrsError(
                f"坐标 {where} 为不含带号的投影坐标，无法确定带号：请提供带号、.prj 或中央经线 "
                f"[projected coordinates without zone prefix: zone unknown]"
            )
        epsg = gk_epsg(datum, width, zone, False)
        cm = _central_meridian(width, zone)
        return CrsGuess(
            epsg,
            f"{how}（{width}° 分带，中央经线 {cm}°E），东坐标不含带号，"
            f"判定为 EPSG:{epsg}；{datum_note}",
            datum_assumed,
            zone,
            width,
            False,
        )

    raise CrsError(
        f"坐标 {where} 不符合任何可能的坐标系（经纬度、带号坐标或不含带号的高斯投影）"
        f" [coordinates fit no plausible CRS]"
    )


# --- .prj ------------------------------------------------------------------------------------


def _datum_of(crs: CRS) -> str | None:
    """Datum id of a CRS from its datum name, else its ellipsoid."""
    geod = crs.geodetic_crs or crs
    names = " ".join(
        n for n in (
            geod.datum.name if geod.datum else "",
            geod.name,
            geod.ellipsoid.name if geod.ellipsoid else "",
        ) if n
    )
    low = names.lower()
    if "wgs" in low and "84" in low:
        return None
    if re.search(r"china|cgcs|xian|xi'an|beijing|西安|北京|2000", low):
        by_name = normalize_datum(names)
        if by_name:
            return by_name
    ell = geod.ellipsoid
    if ell is None:
        return None
    a, rf = ell.semi_major_metre, ell.inverse_flattening
    if abs(a - 6378137.0) < 0.01 and abs(rf - 298.257222101) < 1e-6:
        return CGCS2000
    if abs(a - 6378140.0) < 0.01:
        return XIAN1980
    if abs(a - 6378245.0) < 0.01:
        return BEIJING1954
    return None


def crs_from_prj(prj_text: str) -> int | None:
    """EPSG code of a .prj (WKT, ESRI WKT or PROJ string), or None when it matches none.

    Uses PROJ's identification first; for Gauss-Krüger .prj files without an authority code
    (ArcGIS writes CGCS2000 ones so) it matches central meridian, false easting and datum.
    """
    text = (prj_text or "").strip().lstrip("\ufeff")
    if not text:
        return None
    try:
        crs = CRS.from_user_input(text)
    except CRSError:
        return None
    try:
        epsg = crs.to_epsg(min_confidence=70)
    except CRSError:
        epsg = None
    if epsg is not None:
        return epsg
    datum = _datum_of(crs)
    if datum is None:
        return None
    if crs.is_geographic:
        return GEOGRAPHIC_EPSG[datum]
    op = crs.coordinate_operation
    if not crs.is_projected or op is None:
        return None
    method = (op.method_name or "").lower()
    if "transverse mercator" not in method and "gauss" not in method:
        return None
    params = {p.name.lower(): p.value for p in op.params}

    def param(*names: str, default: float = 0.0) -> float:
        for n in names:
            if n in params:
                return float(params[n])
        return default

    cm = param("longitude of natural origin", "central_meridian", "central meridian")
    fe = param("false easting")
    fn = param("false northing")
    k = param("scale factor at natural origin", default=1.0)
    lat0 = param("latitude of natural origin")
    unit = crs.axis_info[0].unit_conversion_factor if crs.axis_info else 1.0
    if abs(k - 1.0) > 1e-9 or abs(fn) > 1e-6 or abs(lat0) > 1e-9 or abs(unit - 1.0) > 1e-9:
        return None
    zone_prefix = round((fe - 500_000.0) / 1_000_000)
    if abs(fe - (zone_prefix * 1_000_000 + 500_000.0)) > 1e-3:
        return None
    candidates: list[tuple[int, int, bool]] = []
    if zone_prefix == 0:
        if abs(cm / 3 - round(cm / 3)) < 1e-9:
            candidates.append((3, round(cm / 3), False))
        if abs((cm + 3) / 6 - round((cm + 3) / 6)) < 1e-9:
            candidates.append((6, round((cm + 3) / 6), False))
    else:
        candidates.append((3 if zone_prefix in ZONES_3 else 6, zone_prefix, True))
    # 3° first: a 6° CRS without prefix is the same projection as the 3° one of its CM.
    for width, zone, prefixed in candidates:
        zones = ZONES_3 if width == 3 else ZONES_6
        if zone in zones and abs(_central_meridian(width, zone) - cm) < 1e-9:
            return gk_epsg(datum, width, zone, prefixed)
    return None


# --- 部标 header -----------------------------------------------------------------------------


@dataclass(frozen=True)
class BubiaoCrs:
    """CRS facts from a 部标 TXT header."""

    datum: Optional[str]  # datum id or None (unknown, 地方/独立坐标系)
    zone_width: Optional[int]
    zone: Optional[int]
    unit: Optional[str]  # "m" or "degree"
    datum_label: str = ""


def _header_value(header: Mapping[str, object], *keys: str) -> str:
    for k in keys:
        for hk, hv in header.items():
            if str(hk).strip() == k and hv is not None and str(hv).strip():
                return str(hv).strip()
    return ""


def _int_in(text: str) -> int | None:
    m = re.search(r"\d+", unicodedata.normalize("NFKC", text))
    return int(m.group()) if m else None


def parse_bubiao_crs(header: Mapping[str, object]) -> BubiaoCrs:
    """Read 坐标系, 几度分带, 带号 and 计量单位 from a 部标 header dict."""
    label = _header_value(header, "坐标系", "坐标系统")
    datum = normalize_datum(label)  # None for 地方/独立坐标系 and anything unknown
    width = _int_in(_header_value(header, "几度分带", "分带"))
    if width not in (None, 3, 6):
        raise CrsError(
            f"部标文件的几度分带 '{width}' 无效，应为 3 或 6 [zone width must be 3 or 6]"
        )
    zone = _int_in(_header_value(header, "带号"))
    unit_text = _header_value(header, "计量单位", "单位").lower()
    unit: str | None
    if not unit_text:
        unit = None
    elif unit_text in ("米", "m", "meter", "metre", "公尺"):
        unit = "m"
    elif unit_text in ("度", "degree", "deg", "°"):
        unit = "degree"
    else:
        raise CrsError(f"部标文件的计量单位 '{unit_text}' 不受支持 [unsupported unit]")
    return BubiaoCrs(datum, width, zone, unit, label)


def crs_from_bubiao_header(header: Mapping[str, object], *, prefixed: bool = True) -> int | None:
    """EPSG code from a 部标 TXT header (坐标系, 几度分带, 带号, 计量单位), or None.

    The header does not say whether Y values carry the zone prefix; it usually does
    (``prefixed=True``). To decide from the coordinates, call
    ``infer_crs(bounds, declared_zone=…, datum_hint=…, zone_width=…)`` with
    :func:`parse_bubiao_crs`'s result instead. Returns None for an unknown or local system or
    a header without 带号.
    """
    info = parse_bubiao_crs(header)
    if info.datum is None:
        return None
    if info.unit == "degree":
        return GEOGRAPHIC_EPSG[info.datum]
    if info.zone is None:
        return None
    width = info.zone_width or (3 if info.zone in ZONES_3 else 6 if info.zone in ZONES_6 else None)
    if width is None:
        raise CrsError(f"部标文件的带号 {info.zone} 在中国不存在 [no such zone]")
    return gk_epsg(info.datum, width, info.zone, prefixed)


# --- transformations -------------------------------------------------------------------------


class Transform(NamedTuple):
    """A transformer (always_xy) and a warning for the user, or None."""

    transformer: Transformer
    warning: Optional[str]


HELMERT_CONVENTIONS = ("position_vector", "coordinate_frame")


def parse_helmert(line_value: str | None) -> tuple[float, ...] | None:
    """Parse a 部标 ``转换参数=`` value: dx,dy,dz (m), rx,ry,rz (″), ds (ppm).

    "转换参数=,,,,,," or an empty value → None; all zeros → None (no transformation given).
    """
    if line_value is None:
        return None
    text = unicodedata.normalize("NFKC", str(line_value)).strip()
    if "=" in text:
        text = text.split("=", 1)[1]
    parts = [p.strip() for p in re.split(r"[,;]", text)] if text.strip() else []
    if not any(parts):
        return None
    if len(parts) != 7 or not all(parts):
        raise CrsError(
            f"转换参数应为 7 个数（dx,dy,dz,rx,ry,rz,ds），而不是 '{line_value}' "
            f"[7-parameter set must have 7 values]"
        )
    try:
        values = tuple(float(p) for p in parts)
    except ValueError as exc:
        raise CrsError(f"转换参数含非数字：'{line_value}' [non-numeric parameter]") from exc
    if all(v == 0 for v in values):
        return None
    return values


def _datum_of_epsg(epsg: int) -> str | None:
    if epsg in GK_TABLE:
        return GK_TABLE[epsg].datum
    for d, g in GEOGRAPHIC_EPSG.items():
        if g == epsg:
            return d
    try:
        return _datum_of(CRS.from_epsg(epsg))
    except CRSError:
        return None


def _proj_steps(crs: CRS) -> tuple[str, str]:
    """(step from the CRS's coordinates to geodetic radians, ellipsoid args) for a pipeline."""
    ell = crs.ellipsoid
    if ell is None:
        raise CrsError(f"坐标系 {crs.name} 没有椭球，无法构造七参数转换 [no ellipsoid]")
    ell_args = f"+a={ell.semi_major_metre!r} +rf={ell.inverse_flattening!r}"
    if crs.is_geographic:
        return "+proj=unitconvert +xy_in=deg +xy_out=rad", ell_args
    if not crs.is_projected:
        raise CrsError(f"坐标系 {crs.name} 不是投影或地理坐标系 [unsupported CRS]")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        proj4 = crs.to_proj4()
    keep = [
        t for t in proj4.split()
        if not t.startswith(("+no_defs", "+type=", "+towgs84=", "+nadgrids=", "+ellps=",
                             "+a=", "+b=", "+rf=", "+f=", "+datum=", "+units="))
    ]
    return "+inv " + " ".join(keep) + " " + ell_args + " +units=m", ell_args


def transformer(
    src_epsg: int,
    dst_epsg: int,
    *,
    helmert7: Sequence[float] | None = None,
    convention: str = "position_vector",
) -> Transform:
    """A Transformer (always_xy=True) from ``src_epsg`` to ``dst_epsg``, with a warning text.

    Without ``helmert7``, PROJ's own operation is used; between Xian 1980 / Beijing 1954 and
    CGCS2000 that is only a "ballpark" (no shift, errors of tens of metres) and a warning says
    so. With ``helmert7`` = (dx, dy, dz in metres, rx, ry, rz in arc-seconds, ds in ppm), as the
    部标 ``转换参数`` line gives them, a PROJ pipeline is built: inverse projection of the source →
    geocentric (cart) on the source ellipsoid → 7-parameter Helmert → geodetic on the target
    ellipsoid → projection of the target. The rotation convention is position vector (EPSG
    method 9606, the one of PROJ's +towgs84); pass ``convention="coordinate_frame"`` (EPSG 9607,
    rotations of opposite sign) for parameter sets published in that convention.
    """
    src, dst = CRS.from_epsg(src_epsg), CRS.from_epsg(dst_epsg)
    if helmert7 is None:
        tr = Transformer.from_crs(src, dst, always_xy=True)
        src_d, dst_d = _datum_of_epsg(src_epsg), _datum_of_epsg(dst_epsg)
        old = {XIAN1980, BEIJING1954}
        warning = None
        ballpark = "ballpark" in (tr.description or "").lower()
        if ballpark and src_d != dst_d and (src_d in old or dst_d in old):
            warning = (
                f"从 {src.name} 到 {dst.name} 没有转换参数，只做了近似转换"
                "（不改变经纬度，误差可达数十米）；"
                f"请提供七参数（部标文件的“转换参数”）[ballpark transformation: no parameters]"
            )
        return Transform(tr, warning)

    params = tuple(float(v) for v in helmert7)
    if len(params) != 7:
        raise CrsError("七参数应为 7 个数 [7-parameter set must have 7 values]")
    if convention not in HELMERT_CONVENTIONS:
        raise CrsError(f"未知的旋转约定 '{convention}' [unknown rotation convention]")
    src_step, src_ell = _proj_steps(src)
    dst_inv_step, dst_ell = _proj_steps(dst)
    # dst step is inverted ("+inv ..."): strip it to get the forward projection.
    if dst_inv_step.startswith("+inv "):
        dst_step = dst_inv_step[len("+inv "):]
    else:  # geographic: radians → degrees
        dst_step = "+proj=unitconvert +xy_in=rad +xy_out=deg"
    dx, dy, dz, rx, ry, rz, ds = params
    pipeline = (
        "+proj=pipeline "
        f"+step {src_step} "
        f"+step +proj=cart {src_ell} "
        f"+step +proj=helmert +x={dx!r} +y={dy!r} +z={dz!r} +rx={rx!r} +ry={ry!r} +rz={rz!r} "
        f"+s={ds!r} +convention={convention} "
        f"+step +inv +proj=cart {dst_ell} "
        f"+step {dst_step}"
    )
    try:
        tr = Transformer.from_pipeline(pipeline)
    except Exception as exc:  # pyproj raises ProjError
        raise CrsError(f"无法构造七参数转换：{exc} [cannot build 7-parameter pipeline]") from exc
    return Transform(tr, None)


# --- extent check ----------------------------------------------------------------------------


def check_extent(
    bounds_in_working_crs: Sequence[float],
    county_extent: Sequence[float],
    margin_m: float = 50_000,
) -> float:
    """Raise CrsError when data lies more than ``margin_m`` outside the county's extent.

    Both extents are (minx, miny, maxx, maxy) in the working CRS. Returns how far (m) the data
    reaches outside the county extent (0 when inside).
    """
    minx, miny, maxx, maxy = (float(v) for v in bounds_in_working_crs)
    cminx, cminy, cmaxx, cmaxy = (float(v) for v in county_extent)
    excess = max(cminx - minx, maxx - cmaxx, cminy - miny, maxy - cmaxy, 0.0)
    if excess > margin_m:
        raise CrsError(
            f"数据范围 {_fmt_bounds((minx, miny, maxx, maxy))} 超出县域范围 "
            f"{_fmt_bounds((cminx, cminy, cmaxx, cmaxy))} 达 {excess / 1000:.1f} 公里"
            f"（允许 {margin_m / 1000:g} 公里）：坐标系、带号或 X/Y 顺序可能有误 "
            f"[data lies {excess / 1000:.1f} km outside the county extent]"
        )
    return excess
