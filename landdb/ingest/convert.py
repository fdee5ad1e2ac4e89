"""Turning a source record into typed column values, and geometries into valid MultiPolygons.

Every problem becomes a :class:`Problem` naming the file, the row and the field.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from dataclasses import dataclass, field

import numpy as np
import shapely

from .. import fields as F
from .kinds import ENUM_SYNONYMS

M2_PER_HA = 10_000.0


@dataclass
class Problem:
    file: str
    row: int | None
    field: str | None
    reason: str
    values: dict | None = None


def _text(v: object) -> str | None:
    if v is None:
        return None
    if isinstance(v, float):
        if math.isnan(v):
            return None
        if v.is_integer():
            return str(int(v))  # a number typed into a text column: 1234.0 → "1234"
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    s = str(v).strip()
    return s or None


def jsonable(v: object) -> object:
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, bytes):
        return v.hex()
    return v


@dataclass
class FieldPlan:
    """How one source field becomes one column."""

    source: str
    canonical: str
    column: str
    ctype: object
    unit: str | None = None  # for areas: '公顷', 'm2', '亩'; for money: '万元', '元'
    # converted values of dates, numbers and enumerations, kept across chunks (they repeat)
    memo: dict = field(default_factory=dict, repr=False, compare=False)
    # the last column converted value by value: (result, converted distinct values + None, codes)
    coded: tuple | None = field(default=None, repr=False, compare=False)


def convert_value(plan: FieldPlan, value: object) -> object:
    """One value → the column's type. Raises ValueError with a Chinese message."""
    ct = plan.ctype
    if ct == "text":
        return _text(value)
    if ct == "date":
        if isinstance(value, dt.datetime):
            return value.date()
        return F.parse_date(value)
    if ct in ("ha", "m2"):
        num = F.parse_number(value)
        if num is None:
            return None
        if num < 0:
            raise ValueError(f"面积为负数：{value} [negative area]")
        m2 = num * F.M2_PER_UNIT.get(plan.unit or "公顷", M2_PER_HA)
        return round(m2 / M2_PER_HA, 4) if ct == "ha" else m2
    if ct == "wan":
        num = F.parse_number(value)
        if num is None:
            return None
        if num < 0:
            raise ValueError(f"金额为负数：{value} [negative amount]")
        return round(num / 10_000.0, 4) if plan.unit == "元" else round(num, 4)
    if ct == "num":
        num = F.parse_number(value)
        if num is not None and num < 0:
            raise ValueError(f"数值为负数：{value} [negative value]")
        return num
    if ct == "json":
        import json

        return None if value is None else (value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
    if ct == "int":
        num = F.parse_number(value)
        if num is None:
            return None
        if not float(num).is_integer():
            raise ValueError(f"应为整数：{value} [not an integer]")
        return int(num)
    if isinstance(ct, tuple):
        s = _text(value)
        if s is None:
            return None
        s = ENUM_SYNONYMS.get(s, s)
        if s not in ct:
            raise ValueError(f"取值“{s}”不在 {'、'.join(ct)} 之中 [value not allowed]")
        return s
    raise AssertionError(ct)


def surrogate(prefix: str, *parts: object) -> str:
    """A stable key made from a record's content (the same record → the same key)."""
    h = hashlib.sha1("|".join("" if p is None else str(p) for p in parts).encode()).hexdigest()
    return f"{prefix}{h[:12].upper()}"


# ------------------------------------------------------------------------------ geometry
@dataclass
class GeomResult:
    geoms: np.ndarray  # valid MultiPolygons or None
    problems: dict[int, str]  # index in chunk → reason
    repaired: dict[int, float]  # index → relative area change of the repair


def clean_geometries(geoms: np.ndarray, required: bool, max_area_change: float,
                     multi: bool = True) -> GeomResult:
    """Missing/empty/non-polygon geometries are problems; invalid ones are repaired with
    make_valid when the area changes by at most ``max_area_change``, else problems. The good
    ones are MultiPolygons (with ``multi=False``, Polygons may stay Polygons: :func:`ewkb`
    writes them as MultiPolygons)."""
    n = len(geoms)
    out = np.empty(n, dtype=object)
    problems: dict[int, str] = {}
    repaired: dict[int, float] = {}
    missing = shapely.is_missing(geoms)
    for i in np.flatnonzero(missing):
        if required:
            problems[int(i)] = "缺少几何图形 [missing geometry]"
    present = ~missing
    geoms2 = geoms.copy()
    if present.any() and (shapely.has_z(geoms[present]).any() or _has_m(geoms[present])):
        geoms2[present] = shapely.force_2d(geoms[present])
    types = shapely.get_type_id(geoms2)
    empty = present & shapely.is_empty(geoms2)
    for i in np.flatnonzero(empty):
        problems[int(i)] = "几何图形为空 [empty geometry]"
    poly = present & ~empty & np.isin(types, (3, 6))
    for i in np.flatnonzero(present & ~empty & ~np.isin(types, (3, 6))):
        problems[int(i)] = (f"几何类型为 {shapely.get_type_id(geoms2[i]) and geoms2[i].geom_type}，"
                            "地块必须是面（Polygon/MultiPolygon） [not a polygon]")
    valid = np.zeros(n, dtype=bool)
    valid[poly] = shapely.is_valid(geoms2[poly])
    for i in np.flatnonzero(poly & ~valid):
        g = geoms2[i]
        reason = shapely.is_valid_reason(g)
        fixed = shapely.make_valid(g)
        if fixed.geom_type == "GeometryCollection":
            parts = [p for p in shapely.get_parts(fixed) if p.geom_type in ("Polygon", "MultiPolygon")]
            fixed = shapely.union_all(parts) if parts else shapely.Polygon()
        before = abs(shapely.area(g))
        after = shapely.area(fixed)
        change = abs(after - before) / before if before > 0 else math.inf
        if fixed.is_empty or fixed.geom_type not in ("Polygon", "MultiPolygon") or change > max_area_change:
            problems[int(i)] = (f"几何图形无效（{reason}），修复后面积变化 "
                                f"{'无穷' if math.isinf(change) else f'{change:.1%}'}，超过允许的 "
                                f"{max_area_change:.1%}，拒收（例如自相交的“蝴蝶结”多边形） "
                                "[invalid geometry that cannot be repaired without changing its area]")
        else:
            geoms2[i] = fixed
            repaired[int(i)] = change
            valid[i] = True
    ok = poly & valid
    if not multi:
        out[ok] = geoms2[ok]
        return GeomResult(out, problems, repaired)
    single = ok & (shapely.get_type_id(geoms2) == 3)
    several = ok & ~single
    if single.any():
        idx = np.flatnonzero(single)
        out[idx] = shapely.multipolygons(geoms2[idx], indices=np.arange(len(idx)))
    if several.any():
        out[several] = geoms2[several]
    return GeomResult(out, problems, repaired)


def _has_m(geoms: np.ndarray) -> bool:
    has_m = getattr(shapely, "has_m", None)  # shapely >= 2.1 keeps M values
    return bool(has_m is not None and has_m(geoms).any())


def ewkb(geoms: np.ndarray, srid: int):
    """Polygons and MultiPolygons (or None) → an Arrow binary array of EWKB MultiPolygons with the
    SRID, as PostGIS receives them: the WKB of each geometry from GEOS, with a Polygon wrapped as
    a MultiPolygon of one part and the SRID put in, on the bytes with numpy."""
    import struct

    import pyarrow as pa

    n = len(geoms)
    present = ~shapely.is_missing(geoms)
    wkb = np.full(n, b"", dtype=object)
    if present.any():
        wkb[present] = shapely.to_wkb(geoms[present], byte_order=1, output_dimension=2)
    arr = pa.array(wkb, pa.binary())
    offs = np.frombuffer(arr.buffers()[1], dtype=np.int32, count=n + 1).astype(np.int64)
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8, count=int(offs[-1])) if offs[-1] else \
        np.empty(0, dtype=np.uint8)
    start = offs[:-1]
    typ = np.zeros(n, dtype=np.uint8)
    typ[present] = data[start[present] + 1]
    poly = present & (typ == 3)
    if (present & ~poly & (typ != 6)).any() or (data[start[present]] != 1).any():
        raise ValueError("ewkb: only little-endian Polygons and MultiPolygons")
    # A Polygon gets 13 bytes in front: 01 | 06 00 00 20 (MultiPolygon with SRID) | srid | 01 00 00 00
    # (one part); a MultiPolygon gets the SRID flag in its type and the SRID after it.
    srid_bytes = np.frombuffer(struct.pack("<I", srid), dtype=np.uint8)
    poly_head = np.concatenate([np.frombuffer(b"\x01\x06\x00\x00\x20", dtype=np.uint8), srid_bytes,
                                np.frombuffer(b"\x01\x00\x00\x00", dtype=np.uint8)])
    data = data.copy()
    multi = present & ~poly
    data[start[multi] + 4] |= 0x20
    added = np.where(poly, 13, 0) + np.where(multi, 4, 0)
    at = np.where(poly, 0, 5)  # where in the record the added bytes go
    out_off = offs + np.concatenate([[0], np.cumsum(added)])
    out = np.empty(int(out_off[-1]), dtype=np.uint8)
    inserted = np.zeros(len(out), dtype=bool)
    pos = np.repeat(out_off[:-1] + at, added) + (np.arange(int(added.sum())) -
                                                  np.repeat(np.cumsum(added) - added, added))
    inserted[pos] = True
    out[~inserted] = data
    k_poly, k_multi = int(poly.sum()), int(multi.sum())
    # the added bytes in record order: a Polygon's 13 or a MultiPolygon's 4
    fill = np.empty(int(added.sum()), dtype=np.uint8)
    order = np.repeat(np.where(poly, 1, 2)[present & (poly | multi)], added[present & (poly | multi)])
    fill[order == 1] = np.tile(poly_head, k_poly)
    fill[order == 2] = np.tile(srid_bytes, k_multi)
    out[inserted] = fill
    valid = None if present.all() else pa.py_buffer(np.packbits(present, bitorder="little"))
    return pa.Array.from_buffers(pa.binary(), n, [valid, pa.py_buffer(out_off.astype(np.int32)), pa.py_buffer(out)],
                                 int(n - present.sum()))


@dataclass(frozen=True)
class Translation:
    """A reprojection that is a plain shift (two projections that differ only in their false
    easting or northing, such as a zone-prefixed Gauss-Krüger CRS and the same zone without the
    prefix), applied as one: half the time of PROJ's inverse and forward projections, and exact."""

    dx: float
    dy: float
    exact: object  # the pyproj transformer it stands for

    def transform(self, x, y):
        return np.asarray(x, dtype=float) + self.dx, np.asarray(y, dtype=float) + self.dy


def as_translation(transformer, bounds) -> Translation | None:
    """The shift ``transformer`` amounts to over (and well around) ``bounds``, to 1 µm; None when
    it is not a shift there."""
    if transformer is None or bounds is None or not all(np.isfinite(b) for b in bounds):
        return None
    x0, y0, x1, y1 = (float(b) for b in bounds)
    pad = max(x1 - x0, y1 - y0, 1_000.0)
    xs, ys = np.meshgrid(np.linspace(x0 - pad, x1 + pad, 9), np.linspace(y0 - pad, y1 + pad, 9))
    xs, ys = xs.ravel(), ys.ravel()
    try:
        tx, ty = transformer.transform(xs, ys)
    except Exception:
        return None
    dx, dy = np.asarray(tx) - xs, np.asarray(ty) - ys
    if not (np.isfinite(dx).all() and np.isfinite(dy).all()):
        return None
    sx, sy = round(float(np.median(dx)), 6), round(float(np.median(dy)), 6)
    if max(np.abs(dx - sx).max(), np.abs(dy - sy).max()) > 1e-6:
        return None
    return Translation(sx, sy, transformer)


def transform(geoms: np.ndarray, transformer) -> np.ndarray:
    """Reproject shapely geometries with a pyproj Transformer (always_xy), vectorised."""
    if transformer is None:
        return geoms

    mask = ~shapely.is_missing(geoms)
    if isinstance(transformer, Translation) and mask.any():
        # a shift is a shift everywhere, but check this chunk's first points against PROJ
        xy = shapely.get_coordinates(geoms[mask][:8])
        if len(xy):
            ex, ey = transformer.exact.transform(xy[:, 0], xy[:, 1])
            sx, sy = transformer.transform(xy[:, 0], xy[:, 1])
            if not (np.abs(np.asarray(ex) - sx).max() <= 1e-6 and np.abs(np.asarray(ey) - sy).max() <= 1e-6):
                transformer = transformer.exact

    out = geoms.copy()
    if mask.any():
        # all coordinates at once; set_coordinates puts new geometries into ``sub`` (a fifth of
        # the time of shapely.transform, which copies every geometry first)
        sub = geoms[mask]
        xy = shapely.get_coordinates(sub)
        if isinstance(transformer, Translation):
            xy += np.array([transformer.dx, transformer.dy])
        else:
            x, y = transformer.transform(xy[:, 0], xy[:, 1])
            xy = np.column_stack([x, y])
        out[mask] = shapely.set_coordinates(sub, xy)
    return out


# ------------------------------------------------------------------------------ columns
def _is_arrow(values: object) -> bool:
    return hasattr(values, "dictionary_encode")


def distinct(values: object, recode=None) -> tuple[list, np.ndarray]:
    """The distinct values of a column and, per row, the index of its value (-1 for null)."""
    if _is_arrow(values):
        import pyarrow as pa

        if pa.types.is_dictionary(values.type):
            enc = values
        else:
            enc = values.dictionary_encode()
        uniq = enc.dictionary.to_pylist()
        codes = enc.indices.to_numpy(zero_copy_only=False)
        codes = np.where(enc.indices.is_null().to_numpy(zero_copy_only=False), -1, codes).astype(np.int64)
    else:
        memo: dict = {}
        uniq = []
        codes = np.empty(len(values), dtype=np.int64)
        for i, v in enumerate(values):
            if v is None:
                codes[i] = -1
                continue
            k = (type(v), v)
            j = memo.get(k)
            if j is None:
                j = memo[k] = len(uniq)
                uniq.append(v)
            codes[i] = j
    if recode is not None:
        uniq = [recode(u) if isinstance(u, str) else u for u in uniq]
    return uniq, codes


def convert_column(plan: FieldPlan, values: object, recode=None) -> tuple[np.ndarray, dict[int, str]]:
    """A whole column → converted values (object array) and errors by row index.

    Text is decoded and trimmed in one pass; numbers read as numbers are scaled with numpy; other
    values (dates, numbers in text, enumerations) are converted once per distinct value, with a
    memo kept across chunks because they repeat.
    """
    plan.coded = None
    if plan.ctype == "text":
        return text_column(values, recode), {}
    if _is_arrow(values) and plan.ctype in ("ha", "m2", "wan", "num", "int"):
        import pyarrow as pa

        if pa.types.is_integer(values.type) or pa.types.is_floating(values.type):
            return _numeric_column(plan, values)
    uniq, codes = distinct(values, recode)
    conv = np.empty(len(uniq) + 1, dtype=object)
    bad: dict[int, str] = {}
    memo = plan.memo
    for j, u in enumerate(uniq):
        key = (type(u), u)
        hit = memo.get(key)
        if hit is None:
            try:
                hit = memo[key] = (convert_value(plan, u), None)
            except ValueError as e:
                hit = memo[key] = (None, str(e))
        conv[j] = hit[0]
        if hit[1] is not None:
            bad[j] = hit[1]
    conv[-1] = None
    out = conv[codes]  # code -1 picks the trailing None
    plan.coded = (out, conv, codes)
    errors: dict[int, str] = {}
    if bad:
        for i in np.flatnonzero(np.isin(codes, list(bad))):
            errors[int(i)] = bad[int(codes[i])]
    return out, errors


def _numeric_column(plan: FieldPlan, values) -> tuple[np.ndarray, dict[int, str]]:
    """A DBF numeric column: scale to the stored unit, refuse negatives (vectorised)."""
    nulls = values.is_null().to_numpy(zero_copy_only=False)
    x = values.to_numpy(zero_copy_only=False).astype(float)
    nulls |= np.isnan(x)
    errors: dict[int, str] = {}
    what = "面积" if plan.ctype in ("ha", "m2") else "金额" if plan.ctype == "wan" else "数值"
    for i in np.flatnonzero(~nulls & (x < 0)):
        errors[int(i)] = f"{what}为负数：{x[i]:g} [negative {'area' if what == '面积' else 'value'}]"
    if plan.ctype in ("ha", "m2"):
        m2 = x * F.M2_PER_UNIT.get(plan.unit or "公顷", M2_PER_HA)
        x = np.round(m2 / M2_PER_HA, 4) if plan.ctype == "ha" else m2
    elif plan.ctype == "wan":
        x = np.round(x / 10_000.0 if plan.unit == "元" else x, 4)
    elif plan.ctype == "int":
        for i in np.flatnonzero(~nulls & (x != np.round(x))):
            errors[int(i)] = f"应为整数：{x[i]:g} [not an integer]"
    out = x.astype(object)
    out[nulls] = None
    for i in errors:
        out[i] = None
    if plan.ctype == "int":
        out[~nulls] = [int(v) if v is not None else None for v in out[~nulls]]
    return out, errors


def text_column(values: object, recode=None) -> np.ndarray:
    """Text: decoded (see encoding.recode_latin1), trimmed, empty → None; numbers as text."""
    if _is_arrow(values):
        import pyarrow as pa
        import pyarrow.compute as pc

        if recode is None and pa.types.is_dictionary(values.type) and pa.types.is_string(values.type.value_type):
            t = pc.utf8_trim_whitespace(values.dictionary)  # each distinct value once
            t = pc.if_else(pc.equal(t, ""), pa.scalar(None, t.type), t)
            conv = np.append(t.to_numpy(zero_copy_only=False).astype(object), None)
            idx = values.indices
            codes = idx.to_numpy(zero_copy_only=False)
            if idx.null_count:
                codes = np.where(idx.is_null().to_numpy(zero_copy_only=False), -1, codes)
            return conv[codes.astype(np.int64)]
        if recode is not None or pa.types.is_dictionary(values.type):  # each distinct value once
            uniq, codes = distinct(values, recode)
            conv = np.array([_text(u) for u in uniq] + [None], dtype=object)
            return conv[codes]
        if (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)) and recode is None:
            t = pc.utf8_trim_whitespace(values)
            t = pc.if_else(pc.equal(t, ""), pa.scalar(None, t.type), t)
            return t.to_numpy(zero_copy_only=False).astype(object)
        raw = values.to_pylist()
    else:
        raw = values
    out = np.empty(len(raw), dtype=object)
    for i, v in enumerate(raw):
        if v is None:
            out[i] = None
        elif isinstance(v, str):
            if recode is not None:
                v = recode(v)
            v = v.strip()
            out[i] = v or None
        else:
            out[i] = _text(v)
    return out


def json_objects(columns: dict[str, object], n: int, recode=None) -> np.ndarray:
    """Per row, a JSON object of the given columns' non-empty values (the ``extra`` column);
    each distinct value of a column is written once."""
    import json

    out = np.full(n, "{}", dtype=object)
    if not columns or n == 0:
        return out
    acc = np.full(n, None, dtype=object)  # "key":value pairs so far, joined by commas
    for name, col in columns.items():
        uniq, codes = distinct(col, recode)
        key = json.dumps(name, ensure_ascii=False)
        enc = (json.dumps(jsonable(u), ensure_ascii=False, default=str) for u in uniq)
        piece = np.array([None if e in ('""', "null") else f"{key}:{e}" for e in enc] + [None],
                         dtype=object)[codes]
        has_p, has_a = ~np.equal(piece, None), ~np.equal(acc, None)
        both = has_p & has_a
        acc[both] = acc[both] + "," + piece[both]
        only = has_p & ~has_a
        acc[only] = piece[only]
    has = ~np.equal(acc, None)
    out[has] = "{" + acc[has] + "}"
    return out
