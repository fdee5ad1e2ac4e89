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


def clean_geometries(geoms: np.ndarray, required: bool, max_area_change: float) -> GeomResult:
    """Missing/empty/non-polygon geometries are problems; invalid ones are repaired with
    make_valid when the area changes by at most ``max_area_change``, else problems."""
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
    if present.any():
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
    single = ok & (shapely.get_type_id(geoms2) == 3)
    multi = ok & ~single
    if single.any():
        idx = np.flatnonzero(single)
        out[idx] = shapely.multipolygons(geoms2[idx], indices=np.arange(len(idx)))
    if multi.any():
        out[multi] = geoms2[multi]
    return GeomResult(out, problems, repaired)


def transform(geoms: np.ndarray, transformer) -> np.ndarray:
    """Reproject shapely geometries with a pyproj Transformer (always_xy), vectorised."""
    if transformer is None:
        return geoms

    def fn(xy: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    mask = ~shapely.is_missing(geoms)
    out = geoms.copy()
    if mask.any():
        out[mask] = shapely.transform(geoms[mask], fn)
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

        if (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)) and recode is None:
            t = pc.utf8_trim_whitespace(values)
            t = pc.if_else(pc.equal(t, ""), pa.scalar(None, t.type), t)
            return t.to_numpy(zero_copy_only=False).astype(object)
        if recode is not None:  # decode each distinct value once
            uniq, codes = distinct(values, recode)
            conv = np.array([_text(u) for u in uniq] + [None], dtype=object)
            return conv[codes]
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
    """Per row, a JSON object of the given columns' non-empty values (the ``extra`` column)."""
    import json

    out = np.full(n, "{}", dtype=object)
    if not columns or n == 0:
        return out
    conv = {}
    for name, col in columns.items():
        uniq, codes = distinct(col, recode)
        enc = np.array([json.dumps(jsonable(u), ensure_ascii=False, default=str) for u in uniq] + [""], dtype=object)
        conv[json.dumps(name, ensure_ascii=False)] = (enc, codes)
    for i in range(n):
        parts = [f"{k}:{enc[codes[i]]}" for k, (enc, codes) in conv.items()
                 if codes[i] >= 0 and enc[codes[i]] not in ('""', "null")]
        if parts:
            out[i] = "{" + ",".join(parts) + "}"
    return out
