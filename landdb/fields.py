"""Field names and values as offices send them: aliases, dates, numbers, areas, 批准文号, land use.

The alias table is data (``landdb/data/field_aliases.csv``: canonical, alias, kinds, unit, note);
the 10-byte DBF cut forms of every alias (GBK: 5 Chinese characters; UTF-8: 3) are generated
here. A user mapping file (CSV ``source,canonical`` or JSON ``{"source": "canonical"}``) wins
over the table.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import re
import statistics
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Optional

from landdb.errors import LanddbError

__all__ = [
    "KINDS",
    "LAND_USE_SYSTEMS",
    "Alias",
    "AliasTable",
    "FieldMatch",
    "area_to_m2",
    "cut_forms",
    "infer_area_unit",
    "load_aliases",
    "match_fields",
    "normalize_land_use_code",
    "normalize_name",
    "normalize_pzwh",
    "normalize_unit",
    "parse_date",
    "parse_number",
]

DATA_DIR = Path(__file__).resolve().parent / "data"
ALIASES_CSV = DATA_DIR / "field_aliases.csv"
LAND_USE_CSV = DATA_DIR / "land_use_codes.csv"

#: Import kinds an alias can be restricted to: the names of ``landdb import KIND``
#: (landdb/ingest/kinds.py). An alias with no kinds applies to every kind.
KINDS = (
    "admin",
    "zone",
    "approval",
    "acquisition",
    "supply",
    "supply_link",
    "agreement",
    "use",
    "withdrawal",
    "rs_patch",
    "survey",
    "idle_case",
    "disposal",
    "disposal_action",
    "target",
)

DBF_NAME_BYTES = 10

# Match ranks: lower wins.
RANK_USER = 0
RANK_EXACT = 1
RANK_UNIT_STRIPPED = 2
RANK_CUT = 3
_RANK_LABEL = {RANK_USER: "用户映射", RANK_EXACT: "别名", RANK_UNIT_STRIPPED: "别名（去掉单位）",
               RANK_CUT: "截断的别名"}

IGNORE = ""  # canonical of a user entry that says "ignore this source field"


# --- names -----------------------------------------------------------------------------------


def normalize_name(name: str) -> str:
    """Matching key of a field name: NFKC (full-width → half-width), case-folded, without
    whitespace, underscores, hyphens, dots and middle dots."""
    text = unicodedata.normalize("NFKC", str(name))
    return re.sub(r"[\s_\-.·・]+", "", text).casefold()


def _cut_bytes(name: str, encoding: str, limit: int = DBF_NAME_BYTES) -> str:
    data = name.encode(encoding)[:limit]
    for drop in range(0, 4):
        try:
            return data[: len(data) - drop].decode(encoding)
        except UnicodeDecodeError:
            continue
    return ""


def cut_forms(name: str) -> set[str]:
    """The forms ``name`` takes once cut to the 10 bytes of a DBF field name (GBK and UTF-8),
    a character cut in half being dropped. Empty when the name fits."""
    forms = set()
    for enc in ("gb18030", "utf-8"):
        try:
            if len(name.encode(enc)) <= DBF_NAME_BYTES:
                continue
        except UnicodeEncodeError:
            continue
        cut = _cut_bytes(name, enc).strip()
        if cut and cut != name and len(normalize_name(cut)) >= 2:
            forms.add(cut)
    return forms


# --- units -----------------------------------------------------------------------------------

_UNIT_WORDS = {
    "公顷": "公顷", "hm2": "公顷", "hm²": "公顷", "ha": "公顷",
    "亩": "亩", "mu": "亩",
    "平方米": "m2", "m2": "m2", "m²": "m2", "㎡": "m2", "sqm": "m2", "平米": "m2",
    "平方公里": "km2", "平方千米": "km2", "km2": "km2", "km²": "km2",
    "万元": "万元", "元": "元",
}
M2_PER_UNIT = {"公顷": 10_000.0, "亩": 10_000.0 / 15.0, "m2": 1.0, "km2": 1_000_000.0}


def normalize_unit(unit: str | None) -> str | None:
    """'公顷'|'亩'|'m2'|'km2'|'万元'|'元' for a unit label (平方米, ㎡, hm², ha …), else None."""
    if unit is None:
        return None
    key = unicodedata.normalize("NFKC", str(unit)).strip().casefold()
    key = key.strip("()[]（）【】 ")
    return _UNIT_WORDS.get(key)


_UNIT_SUFFIX = re.compile(
    r"^(?P<base>.+?)[(\[【（]?(?P<unit>公顷|hm2|hm²|ha|亩|平方米|平米|m2|m²|平方公里|平方千米|km2|万元|元)"
    r"[)\]】）]?$",
    re.IGNORECASE,
)


def _split_unit(name: str) -> tuple[str, str] | None:
    """("面积", "亩") for "面积(亩)", "面积_亩", "面积（亩）"…; None without a unit suffix."""
    text = unicodedata.normalize("NFKC", str(name)).strip()
    m = _UNIT_SUFFIX.match(text)
    if not m:
        return None
    base = m.group("base").rstrip("_-( （[【")
    unit = normalize_unit(m.group("unit"))
    if not base or unit is None:
        return None
    return base, unit


# --- alias table -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Alias:
    """One way a canonical field is named in source files."""

    canonical: str
    alias: str
    kinds: frozenset[str] = frozenset()
    unit: Optional[str] = None
    note: str = ""
    rank: int = RANK_EXACT
    origin: str = "builtin"  # "builtin", "cut" or "user"

    def applies_to(self, kind: str | None) -> bool:
        return not self.kinds or kind is None or kind in self.kinds


@dataclass
class AliasTable:
    """Aliases indexed by their matching key (:func:`normalize_name`)."""

    entries: list[Alias] = field(default_factory=list)
    index: dict[str, list[Alias]] = field(default_factory=dict)

    def add(self, entry: Alias) -> None:
        self.entries.append(entry)
        self.index.setdefault(normalize_name(entry.alias), []).append(entry)

    @property
    def canonicals(self) -> set[str]:
        return {e.canonical for e in self.entries if e.canonical != IGNORE}

    def lookup(self, name: str) -> list[Alias]:
        return list(self.index.get(normalize_name(name), ()))

    def copy(self) -> AliasTable:
        return AliasTable(list(self.entries), {k: list(v) for k, v in self.index.items()})


def _read_builtin_rows() -> list[dict[str, str]]:
    with open(ALIASES_CSV, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@lru_cache(maxsize=1)
def _builtin_table() -> AliasTable:
    table = AliasTable()
    full: list[Alias] = []
    for row in _read_builtin_rows():
        canonical = row["canonical"].strip()
        kinds = frozenset(k.strip() for k in (row.get("kinds") or "").split(";") if k.strip())
        unknown = kinds - set(KINDS)
        if unknown:
            raise LanddbError(f"别名表中有未知的导入类型 {sorted(unknown)} [unknown kinds in aliases]")
        unit = normalize_unit(row.get("unit")) if (row.get("unit") or "").strip() else None
        entry = Alias(canonical, row["alias"].strip(), kinds, unit, (row.get("note") or "").strip())
        full.append(entry)
    canonicals = {e.canonical for e in full}
    for name in sorted(canonicals):
        full.append(Alias(name, name, note="规范字段名"))
    for entry in full:
        table.add(entry)
    for entry in full:
        for cut in cut_forms(entry.alias):
            table.add(Alias(entry.canonical, cut, entry.kinds, entry.unit,
                            f"“{entry.alias}”截断到 10 字节", RANK_CUT, "cut"))
    return table


def _read_user_mapping(path: Path) -> dict[str, str]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise LanddbError(f"无法读取字段映射文件 {path}：{exc} [cannot read mapping file]") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("gb18030", errors="replace")
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise LanddbError(f"字段映射文件 {path} 不是有效的 JSON：{exc} [invalid JSON]") from exc
        if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, (str, type(None))) for k, v in data.items()
        ):
            raise LanddbError(
                f"字段映射文件 {path} 应为 {{\"源字段\": \"规范字段\"}} [expected an object of strings]"
            )
        return {k: (v or "") for k, v in data.items()}
    mapping: dict[str, str] = {}
    for lineno, row in enumerate(csv.reader(text.splitlines()), start=1):
        if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
            continue
        if lineno == 1 and [c.strip().lower() for c in row[:2]] == ["source", "canonical"]:
            continue
        if len(row) < 2:
            raise LanddbError(
                f"字段映射文件 {path} 第 {lineno} 行应为“源字段,规范字段” [expected source,canonical]"
            )
        mapping[row[0].strip()] = row[1].strip()
    return mapping


def load_aliases(extra_mapping: Path | str | None = None) -> AliasTable:
    """The built-in alias table, plus a user mapping file whose entries win.

    The mapping file is CSV (``source,canonical``, header optional) or JSON
    (``{"source": "canonical"}``); a canonical of "" or "-" means "ignore this field".
    """
    table = _builtin_table().copy()
    if extra_mapping is None:
        return table
    for source, canonical in _read_user_mapping(Path(extra_mapping)).items():
        if not source:
            continue
        target = "" if canonical in ("", "-") else canonical
        table.add(Alias(target, source, rank=RANK_USER, origin="user", note="用户映射"))
    return table


# --- matching --------------------------------------------------------------------------------


@dataclass
class FieldMatch:
    """Result of :func:`match_fields`. Unpacks as ``mapping, unmapped``."""

    mapping: dict[str, str]  # source name → canonical
    unmapped: list[str]  # sources not mapped (ambiguous ones included), in source order
    units: dict[str, str] = field(default_factory=dict)  # source → unit (from name or table)
    ambiguous: dict[str, list[str]] = field(default_factory=dict)  # source → candidates
    conflicts: dict[str, list[str]] = field(default_factory=dict)  # canonical → sources
    ignored: list[str] = field(default_factory=list)  # sources a user mapping ignores
    messages: list[str] = field(default_factory=list)  # Chinese notes for the import log

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter((self.mapping, self.unmapped))


def _candidates(name: str, kind: str | None, aliases: AliasTable) -> list[tuple[Alias, str | None]]:
    found = [(a, a.unit) for a in aliases.lookup(name)]
    split = _split_unit(name)
    if split is not None:
        base, unit = split
        for a in aliases.lookup(base):
            rank = a.rank if a.rank == RANK_USER else max(a.rank, RANK_UNIT_STRIPPED)
            found.append((Alias(a.canonical, a.alias, a.kinds, unit, a.note, rank, a.origin), unit))
    return [(a, u) for a, u in found if a.applies_to(kind)]


def _priority(entry: Alias, kind: str | None) -> tuple[int, int]:
    specific = bool(entry.kinds)
    if kind is None:
        return (entry.rank, 1 if specific else 0)
    return (entry.rank, 0 if specific else 1)


def match_fields(
    source_names: Sequence[str], kind: str | None = None, aliases: AliasTable | None = None
) -> FieldMatch:
    """Map source field names to canonical names.

    Case-, whitespace-, underscore- and full-width-insensitive; a user mapping beats an exact
    alias, which beats an alias matched after removing a unit suffix ("面积(亩)"), which beats a
    10-byte cut form. With ``kind``, aliases restricted to that kind beat general ones and
    aliases restricted to other kinds do not apply (an unknown kind gets general ones only). Two
    sources are never mapped to one canonical silently: the better-ranked one wins and the
    other is reported, or neither is mapped when they rank the same.
    """
    if aliases is None:
        aliases = load_aliases()
    result = FieldMatch({}, [])
    chosen: dict[str, tuple[tuple[int, int], str | None]] = {}
    by_canonical: dict[str, list[str]] = {}
    for source in source_names:
        cands = _candidates(source, kind, aliases)
        if not cands:
            continue
        best = min(_priority(a, kind) for a, _ in cands)
        top = [(a, u) for a, u in cands if _priority(a, kind) == best]
        targets = sorted({a.canonical for a, _ in top})
        if len(targets) > 1:
            result.ambiguous[source] = targets
            result.messages.append(
                f"字段“{source}”可对应 {'、'.join(targets)}，未自动映射，请用映射文件指定 "
                f"[ambiguous field name]"
            )
            continue
        canonical = targets[0]
        if canonical == IGNORE:
            result.ignored.append(source)
            continue
        units = {u for _, u in top if u}
        chosen[source] = (best, units.pop() if len(units) == 1 else None)
        by_canonical.setdefault(canonical, []).append(source)

    for canonical, sources in by_canonical.items():
        if len(sources) == 1:
            winners = sources
        else:
            ranks = {s: chosen[s][0] for s in sources}
            best = min(ranks.values())
            winners = [s for s in sources if ranks[s] == best]
            result.conflicts[canonical] = list(sources)
            if len(winners) == 1:
                result.messages.append(
                    f"字段 {'、'.join(sources)} 都对应 {canonical}：采用“{winners[0]}”"
                    f"（{_RANK_LABEL[best[0]]}），其余保留为未映射 [several fields match {canonical}]"
                )
            else:
                result.messages.append(
                    f"字段 {'、'.join(sources)} 都对应 {canonical}，无法确定用哪一个，均未映射；"
                    f"请用映射文件指定 [several fields match {canonical}]"
                )
                winners = []
        for s in winners:
            result.mapping[s] = canonical
            unit = chosen[s][1]
            if unit:
                result.units[s] = unit

    result.unmapped = [
        s for s in source_names if s not in result.mapping and s not in result.ignored
    ]
    return result


# --- dates -----------------------------------------------------------------------------------

EXCEL_EPOCH = dt.date(1899, 12, 30)  # serial 61 = 1900-03-01; 60 is Excel's fake 1900-02-29
EXCEL_SERIAL_RANGE = (18_264, 73_415)  # 1950-01-01 … 2100-12-31
YEAR_RANGE = (1900, 2100)

_DATE_SEP = re.compile(
    r"^(?P<y>\d{4})\s*(?:[-/.]|年)\s*(?P<m>\d{1,2})\s*(?:[-/.]|月)\s*(?P<d>\d{1,2})\s*日?"
    r"(?:[\sT]+\d{1,2}(?::\d{1,2}){1,2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)?$"
)
_DATE_COMPACT = re.compile(r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})$")
_EMPTY_DATES = {"", "00000000", "0000-00-00", "0000/00/00", "0000.00.00"}


def _date_error(value: object, reason_cn: str = "", reason_en: str = "") -> ValueError:
    text = f"无法解析日期 '{value}'"
    if reason_cn:
        text += f"：{reason_cn}"
    text += " [unparseable date" + (f": {reason_en}" if reason_en else "") + "]"
    return ValueError(text)


def _make_date(y: int, m: int, d: int, original: object) -> dt.date:
    if not YEAR_RANGE[0] <= y <= YEAR_RANGE[1]:
        raise _date_error(original, f"年份 {y} 超出 {YEAR_RANGE[0]}–{YEAR_RANGE[1]}",
                          "year out of range")
    if not 1 <= m <= 12:
        raise _date_error(original, f"月份 {m} 不在 1–12", "month must be 1..12")
    try:
        return dt.date(y, m, d)
    except ValueError:
        raise _date_error(original, f"{y} 年 {m} 月没有 {d} 日", "no such day") from None


def _from_excel_serial(serial: float, original: object) -> dt.date:
    lo, hi = EXCEL_SERIAL_RANGE
    if not lo <= serial < hi + 1:
        raise _date_error(
            original,
            "数字不是 8 位日期，也不是 1950–2100 年的 Excel 日期序号",
            "number is neither YYYYMMDD nor an Excel serial of 1950..2100",
        )
    return EXCEL_EPOCH + dt.timedelta(days=math.floor(serial))


def parse_date(value: object) -> dt.date | None:
    """Parse a date as offices write it; None for empty; ValueError (Chinese message) for
    garbage or impossible dates.

    Accepts date/datetime objects (also numpy.datetime64), 'YYYYMMDD' (DBF), 2019-03-05,
    2019/3/5, 2019.03.05, 2019年3月5日 (with an optional time), and Excel serial numbers of the
    1900 date system in the range 1950–2100 (so ordinary numbers are not taken for dates).
    """
    if value is None:
        return None
    if isinstance(value, str):
        return _parse_date_text(value, value)
    if isinstance(value, dt.datetime):
        if value != value:  # pandas NaT
            return None
        return value.date()
    if isinstance(value, dt.date):
        return value
    if type(value).__name__ == "datetime64":
        import numpy as np

        if np.isnat(value):  # type: ignore[arg-type]
            return None
        return value.astype("datetime64[D]").item()  # type: ignore[attr-defined,no-any-return]
    if isinstance(value, bool):
        raise _date_error(value, "布尔值不是日期", "boolean")
    if isinstance(value, (int, float)) or type(value).__module__ == "numpy":
        try:
            num = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise _date_error(value) from None
        if math.isnan(num):
            return None
        if num.is_integer() and 19_000_000 <= num < 21_010_000:
            return _parse_date_text(str(int(num)), value)
        return _from_excel_serial(num, value)
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value).decode("ascii", errors="replace")
    return _parse_date_text(str(value), value)


def _parse_date_text(text: str, original: object) -> dt.date | None:
    t = unicodedata.normalize("NFKC", text).strip()
    if t in _EMPTY_DATES or t.lower() in ("nat", "nan", "none", "null"):
        return None
    m = _DATE_SEP.match(t) or _DATE_COMPACT.match(t)
    if m:
        return _make_date(int(m.group("y")), int(m.group("m")), int(m.group("d")), original)
    if re.fullmatch(r"\d{5}(?:\.\d+)?", t):
        return _from_excel_serial(float(t), original)
    raise _date_error(original)


# --- numbers, areas --------------------------------------------------------------------------

_NUMBER_PLACEHOLDERS = {"", "-", "--", "—", "——", "/", "无", "null", "none", "nan", "n/a"}
_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?$", re.I)
_GROUPED = re.compile(r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?$")


def parse_number(value: object) -> float | None:
    """A number from '1,234.5', '１２３４．５', 12, 3.5…; None for empty or a placeholder ('-',
    '/', '无'); ValueError with a Chinese message for anything else."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"无法解析数字 '{value}' [unparseable number]")
    if not isinstance(value, str) and (
        isinstance(value, (int, float)) or type(value).__module__ == "numpy"
    ):
        try:
            num = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ValueError(f"无法解析数字 '{value}' [unparseable number]") from None
        return None if math.isnan(num) else num
    if hasattr(value, "is_nan") and hasattr(value, "as_tuple"):  # Decimal
        return None if value.is_nan() else float(value)  # type: ignore[arg-type]
    text = unicodedata.normalize("NFKC", str(value)).strip()
    text = text.replace("\u3000", "").replace(" ", "")
    if text.lower() in _NUMBER_PLACEHOLDERS:
        return None
    if "," in text:
        if not _GROUPED.match(text):
            raise ValueError(f"无法解析数字 '{value}'：千位分隔符位置不对 [unparseable number]")
        text = text.replace(",", "")
    if not _NUMBER.match(text):
        raise ValueError(f"无法解析数字 '{value}' [unparseable number]")
    num = float(text)
    if math.isinf(num):
        raise ValueError(f"无法解析数字 '{value}' [unparseable number]")
    return num


def area_to_m2(value: object, unit: str | None) -> float | None:
    """Convert an area in ``unit`` (公顷, 亩, m2/平方米, km2) to m²; None for an empty value."""
    num = parse_number(value)
    if num is None:
        return None
    u = normalize_unit(unit)
    if u not in M2_PER_UNIT:
        raise ValueError(f"未知的面积单位 '{unit}'，应为 公顷、亩 或 平方米 [unknown area unit]")
    return num * M2_PER_UNIT[u]


AREA_UNIT_TOLERANCE = 0.15  # the median ratio may differ this much from the unit's factor


def infer_area_unit(
    declared_values: Iterable[object], geometry_areas_m2: Iterable[float | None]
) -> tuple[str, float, str] | None:
    """Infer the unit of declared areas from their ratio to the geometries' areas (m²).

    Returns (unit, median ratio geometry ÷ declared, Chinese explanation), unit being
    '公顷' (ratio ≈ 10 000), '亩' (≈ 666.67) or 'm2' (≈ 1); None when no unit fits or no pair
    has both a positive declared value and a positive geometry area.
    """
    ratios: list[float] = []
    for declared, geom in zip(declared_values, geometry_areas_m2):
        try:
            d = parse_number(declared)
        except ValueError:
            continue
        if d is None or geom is None or d <= 0 or not geom > 0:
            continue
        ratios.append(float(geom) / d)
    if not ratios:
        return None
    median = statistics.median(ratios)
    for unit in ("m2", "亩", "公顷"):
        factor = M2_PER_UNIT[unit]
        if abs(median / factor - 1.0) <= AREA_UNIT_TOLERANCE:
            within = sum(1 for r in ratios if abs(r / factor - 1.0) <= AREA_UNIT_TOLERANCE)
            label = {"m2": "平方米", "亩": "亩", "公顷": "公顷"}[unit]
            english = {"m2": "square metres", "亩": "mu", "公顷": "hectares"}[unit]
            explanation = (
                f"图形面积 ÷ 申报面积 的中位数为 {median:.6g}（{len(ratios)} 宗，"
                f"{within * 100 // len(ratios)}% 接近 {factor:.6g}），申报面积按{label}理解 "
                f"[declared areas read as {english}: median ratio {median:.6g}]"
            )
            return unit, median, explanation
    return None


# --- 批准文号 ---------------------------------------------------------------------------------

_OPEN_BRACKETS = "〔[(（【〖［｛{〈<《⦅⟦﹝"
_CLOSE_BRACKETS = "〕])）】〗］｝}〉>》⦆⟧﹞"
_BRACKET_MAP = str.maketrans({**{c: "〔" for c in _OPEN_BRACKETS},
                              **{c: "〕" for c in _CLOSE_BRACKETS}})


def normalize_pzwh(text: object) -> str:
    """Matching key of a document number (批准文号 and the like); keep the original elsewhere.

    Full-width letters and digits become half-width, spaces go, all brackets 〔〕[]（）()【】…
    become 〔〕, "第" after the year and a trailing "号" are dropped, letters are upper-cased:
    "豫政土[2019]123号", "豫政土（２０１９）第123号" and "豫政土【2019】123" give one key.
    """
    if text is None:
        return ""
    t = unicodedata.normalize("NFKC", str(text))
    t = t.translate(_BRACKET_MAP)
    t = re.sub(r"\s+", "", t)
    t = re.sub(r"〕第(?=\d)", "〕", t)
    t = re.sub(r"号$", "", t)
    return t.upper()


# --- land-use codes --------------------------------------------------------------------------

GB2017 = "GB/T 21010-2017"
GB2007 = "GB/T 21010-2007"
SANDIAO = "三调"
YDYH = "用地用海"
LAND_USE_SYSTEMS = (GB2017, GB2007, SANDIAO, YDYH)


@dataclass(frozen=True)
class _LandUse:
    code: str
    system: str
    name: str
    code_2017: str


@lru_cache(maxsize=1)
def _land_use_table() -> tuple[dict[tuple[str, str], _LandUse], dict[str, list[_LandUse]]]:
    by_code: dict[tuple[str, str], _LandUse] = {}
    by_name: dict[str, list[_LandUse]] = {}
    with open(LAND_USE_CSV, encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            entry = _LandUse(row["code"], row["system"], row["name"], row["code_2017"])
            by_code[(entry.system, entry.code)] = entry
            by_name.setdefault(entry.name, []).append(entry)
    order = {s: i for i, s in enumerate(LAND_USE_SYSTEMS)}
    for entries in by_name.values():
        entries.sort(key=lambda e: order[e.system])
    return by_code, by_name


def _system_of(hint: str | None) -> str | None:
    if not hint:
        return None
    h = hint.replace(" ", "").lower()
    if "2007" in h:
        return GB2007
    if "2017" in h or h in ("gb", "21010"):
        return GB2017
    if "三调" in h or "sandiao" in h:
        return SANDIAO
    if "用地用海" in h or "国土空间" in h or "ydyh" in h:
        return YDYH
    raise ValueError(f"未知的地类分类体系 '{hint}' [unknown land-use classification]")


def _result(entry: _LandUse) -> tuple[str, str]:
    if entry.system == GB2007:
        return entry.code_2017, GB2007
    return entry.code, entry.system


def normalize_land_use_code(
    code: object, system: str | None = None
) -> tuple[str, str] | None:
    """Normalise a land-use code (with or without its name) to (code, system).

    - GB/T 21010-2017 4-digit codes ("0601") stay; 2007 3-digit codes ("061") become their 2017
      code ("0601"; a class the 2017 standard split becomes its first-level code, e.g. 083 →
      08), with system "GB/T 21010-2007" telling where they came from;
    - 三调 work codes ("05H1", "1104A", "0201K") and 用地用海 codes (6-digit, or 4-digit with
      ``system="用地用海"``) are kept in their system;
    - a 4-digit code is read as GB/T 21010-2017 unless ``system`` says otherwise or a name next
      to it only fits 用地用海 ("1001 工业用地");
    - a name alone ("工业用地") is looked up, 2017 first;
    - numbers that lost a leading zero (601 → "0601", 61 → "061") are padded.

    Returns None for an empty value; raises ValueError (Chinese message) for an unknown code.
    """
    if code is None:
        return None
    wanted = _system_of(system)
    if isinstance(code, bool):
        raise ValueError(f"无法识别的地类编码 '{code}' [unknown land-use code]")
    if isinstance(code, (int, float)):
        if isinstance(code, float) and (math.isnan(code) or not code.is_integer()):
            if math.isnan(code):
                return None
            raise ValueError(f"无法识别的地类编码 '{code}' [unknown land-use code]")
        digits = str(int(code))
        text = "0" + digits if len(digits) in (2, 3) or len(digits) == 5 else digits
    else:
        text = unicodedata.normalize("NFKC", str(code)).strip()
    if not text:
        return None
    m = re.match(r"^(?P<code>\d{2,6}[A-Za-z]?\d?[A-Za-z]?)?\s*[-_:：]?\s*(?P<name>.*?)\s*$", text)
    assert m is not None
    raw_code = (m.group("code") or "").upper()
    name = m.group("name").strip("()（）[]【】 ")
    by_code, by_name = _land_use_table()

    if raw_code:
        if wanted:
            systems: Sequence[str] = (wanted,)
        elif len(raw_code) == 3 and raw_code.isdigit():
            systems = (GB2007,)
        elif len(raw_code) == 6 and raw_code.isdigit():
            systems = (YDYH,)
        elif not raw_code.isdigit():
            systems = (SANDIAO,)
        else:
            systems = (GB2017, SANDIAO, YDYH)
        hits = [by_code[(s, raw_code)] for s in systems if (s, raw_code) in by_code]
        if name and hits:
            named = [h for h in hits if h.name == name]
            if not named:
                named = [
                    by_code[(s, raw_code)] for s in LAND_USE_SYSTEMS
                    if (s, raw_code) in by_code and by_code[(s, raw_code)].name == name
                    and (wanted is None or s == wanted)
                ]
            if named:
                hits = named
        if hits:
            return _result(hits[0])
        raise ValueError(
            f"无法识别的地类编码 '{code}'"
            + (f"（{wanted}）" if wanted else "")
            + " [unknown land-use code]"
        )
    for candidate in (name, name + "用地") if name else ():
        entries = [e for e in by_name.get(candidate, []) if wanted is None or e.system == wanted]
        if entries:
            return _result(entries[0])
    raise ValueError(f"无法识别的地类编码或名称 '{code}' [unknown land-use code]")
