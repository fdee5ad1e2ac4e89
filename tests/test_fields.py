"""Field aliases, dates, numbers, areas, 批准文号 keys and land-use codes."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest

from landdb.fields import (
    KINDS,
    area_to_m2,
    cut_forms,
    infer_area_unit,
    load_aliases,
    match_fields,
    normalize_land_use_code,
    normalize_pzwh,
    normalize_unit,
    parse_date,
    parse_number,
)

D = dt.date(2019, 3, 5)

# --- dates ---


@pytest.mark.parametrize(
    "value",
    [
        "2019-03-05",
        "2019/3/5",
        "2019/03/05",
        "2019.03.05",
        "2019.3.5",
        "2019年3月5日",
        "2019年03月05日",
        "２０１９年３月５日",
        "20190305",
        " 2019-03-05 ",
        "2019-03-05 00:00:00",
        "2019-03-05T08:30:00",
        "2019/3/5 8:30",
        20190305,
        20190305.0,
        43529,  # Excel serial
        43529.75,  # Excel serial with a time of day
        "43529",
        np.int64(43529),
        D,
        dt.datetime(2019, 3, 5, 14, 0),
        np.datetime64("2019-03-05"),
        np.str_("2019-03-05"),
    ],
)
def test_date_forms(value: object):
    assert parse_date(value) == D


@pytest.mark.parametrize(
    "value", [None, "", "   ", "00000000", "0000-00-00", float("nan"), np.datetime64("NaT")]
)
def test_empty_dates(value: object):
    assert parse_date(value) is None


def test_impossible_date_is_an_error_with_its_reason():
    with pytest.raises(ValueError) as err:
        parse_date("2019-13-45")
    assert "无法解析日期 '2019-13-45'" in str(err.value)
    assert "月份 13" in str(err.value)
    assert "[unparseable date" in str(err.value)


@pytest.mark.parametrize(
    "value, reason",
    [
        ("2019-02-29", "没有 29 日"),
        ("20190230", "没有 30 日"),
        ("2019年3月", ""),
        ("3/5/2019", ""),  # month/day order unknown
        ("19-03-05", ""),  # two-digit year
        ("明天", ""),
        ("1800-01-01", "年份"),
        (12345, "Excel"),  # 1933: a number, not a date
        (60, "Excel"),  # Excel's fake 1900-02-29
        (999999, "Excel"),
        (True, "布尔"),
    ],
)
def test_garbage_dates(value: object, reason: str):
    with pytest.raises(ValueError, match="无法解析日期") as err:
        parse_date(value)
    assert reason in str(err.value)


def test_leap_day_and_excel_serials():
    assert parse_date("2020-02-29") == dt.date(2020, 2, 29)
    assert parse_date(43831) == dt.date(2020, 1, 1)
    assert parse_date(18264) == dt.date(1950, 1, 1)  # first accepted serial
    assert parse_date(73415) == dt.date(2100, 12, 31)  # last accepted serial
    with pytest.raises(ValueError):
        parse_date(18263)  # 1949-12-31: outside the plausible range


# --- 批准文号 ---


def test_pzwh_forms_share_one_key():
    forms = [
        "豫政土〔2019〕123号",
        "豫政土[2019]123号",
        "豫政土（2019）123号",
        "豫政土(2019)123号",
        "豫政土【2019】123号",
        "豫政土［２０１９］１２３号",
        " 豫政土 〔2019〕 123 号",
        "豫政土﹝2019﹞第123号",
        "豫政土〔2019〕123",
    ]
    keys = {normalize_pzwh(f) for f in forms}
    assert keys == {"豫政土〔2019〕123"}
    assert normalize_pzwh("豫政土〔2019〕124号") != normalize_pzwh("豫政土〔2019〕123号")
    assert normalize_pzwh("豫政土〔2018〕123号") != normalize_pzwh("豫政土〔2019〕123号")
    assert normalize_pzwh(None) == ""


# --- numbers and areas ---


@pytest.mark.parametrize(
    "value, expected",
    [
        ("1,234.5", 1234.5),
        ("１，２３４．５", 1234.5),
        ("１２３４．５", 1234.5),
        (" 12 ", 12.0),
        ("-3.5", -3.5),
        ("1e3", 1000.0),
        (7, 7.0),
        (2.5, 2.5),
        (np.float64(2.5), 2.5),
        ("", None),
        ("  ", None),
        ("-", None),
        ("—", None),
        ("/", None),
        ("无", None),
        (None, None),
        (float("nan"), None),
    ],
)
def test_parse_number(value: object, expected: float | None):
    assert parse_number(value) == expected


@pytest.mark.parametrize("value", ["abc", "12,34", "1.2.3", "12亩", True])
def test_parse_number_garbage(value: object):
    with pytest.raises(ValueError, match="无法解析数字"):
        parse_number(value)


def test_area_to_m2():
    assert area_to_m2(1.5, "公顷") == 15_000
    assert area_to_m2("15", "亩") == pytest.approx(10_000)
    assert area_to_m2("1,000", "平方米") == 1_000
    assert area_to_m2(2, "㎡") == 2
    assert area_to_m2(1, "hm²") == 10_000
    assert area_to_m2("", "公顷") is None
    with pytest.raises(ValueError, match="未知的面积单位"):
        area_to_m2(1, "英亩")


def test_normalize_unit():
    assert normalize_unit("（公顷）") == "公顷"
    assert normalize_unit("平方米") == "m2"
    assert normalize_unit("万元") == "万元"
    assert normalize_unit("furlong") is None


GEOM = [12_000.0, 30_500.0, 6_650.0, 100_400.0]


def test_infer_area_unit_hectares():
    unit, ratio, text = infer_area_unit([1.2, 3.05, 0.6667, 10.03], GEOM)
    assert unit == "公顷"
    assert ratio == pytest.approx(10_000, rel=0.01)
    assert "公顷" in text and "hectares" in text


def test_infer_area_unit_mu_and_m2():
    mu = [g / 666.67 for g in GEOM]
    assert infer_area_unit(mu, GEOM)[0] == "亩"  # type: ignore[index]
    assert infer_area_unit([f"{g * 1.003:,.1f}" for g in GEOM], GEOM)[0] == "m2"  # type: ignore[index]


def test_infer_area_unit_cannot_tell():
    assert infer_area_unit([1, 2, 3, 4], GEOM) is None  # ratios all over the place
    assert infer_area_unit([None, "", "-"], [1.0, 2.0, 3.0]) is None
    assert infer_area_unit([], []) is None


def test_infer_area_unit_ignores_a_few_bad_rows():
    declared = [1.2, 3.05, 0.6667, 10.03, 0.01, 99, None]
    geoms = [*GEOM, 50_000.0, 100.0, 5.0]
    unit, _, text = infer_area_unit(declared, geoms)  # type: ignore[misc]
    assert unit == "公顷"
    assert "6 宗" in text


# --- field aliases ---

# From domain.md's field table: (name, canonical, kind)
DOMAIN_NAMES = [
    ("批准文号", "pzwh", None), ("批复文号", "pzwh", None), ("PZWH", "pzwh", None),
    ("PZ_WH", "pzwh", None),
    ("批准日期", "approval_date", None), ("批复日期", "approval_date", None),
    ("PZRQ", "approval_date", None), ("PZ_RQ", "approval_date", None),
    ("批准机关", "authority", None), ("批准单位", "authority", None), ("PZJG", "authority", None),
    ("ZZPZJG", "authority", None),
    ("批准面积", "approved_area", None), ("批准总面积", "approved_area", None),
    ("用地总面积", "approved_area", None), ("PZMJ", "approved_area", None),
    ("PZZMJ", "approved_area", None), ("YDZMJ", "approved_area", None),
    ("批次类型", "batch_type", None), ("PCLX", "batch_type", None),
    ("电子监管号", "dzjgh", None), ("DZJGH", "dzjgh", None), ("dzBaBh", "dzjgh", None),
    ("项目名称", "project_name", None), ("XMMC", "project_name", None),
    ("YDXMMC", "project_name", None),
    ("土地使用权人", "land_user", None), ("用地单位", "land_user", None),
    ("受让人", "land_user", None), ("TDSYQR", "land_user", None), ("YDDWMC", "land_user", None),
    ("供地方式", "supply_method", None), ("供应方式", "supply_method", None),
    ("GDFS", "supply_method", None), ("GYFS", "supply_method", None),
    ("土地用途", "land_use", None), ("TDYT", "land_use", None),
    ("土地来源", "land_source", None), ("TDLY", "land_source", None),
    ("面积", "area", None), ("供地面积", "area", None), ("地块面积", "area", None),
    ("MJ", "area", None), ("GYMJ", "area", None), ("DKMJ", "area", None),
    ("成交价格", "price", None), ("成交价款", "price", None), ("成交金额", "price", None),
    ("CJJG", "price", None), ("CJJE", "price", None),
    ("合同签订日期", "contract_date", None), ("QDRQ", "contract_date", None),
    ("HTQDRQ", "contract_date", None),
    ("约定交地时间", "agreed_handover", None), ("HTYDJDSJ", "agreed_handover", None),
    ("约定开工时间", "agreed_start", None), ("约定动工时间", "agreed_start", None),
    ("HTYDDGSJ", "agreed_start", None),
    ("约定竣工时间", "agreed_completion", None), ("HTYDJGSJ", "agreed_completion", None),
    ("实际交地时间", "actual_handover", None), ("SJJDSJ", "actual_handover", None),
    ("实际开工时间", "actual_start", None), ("SJKGSJ", "actual_start", None),
    ("实际竣工时间", "actual_completion", None), ("SJJGSJ", "actual_completion", None),
    ("容积率", "plot_ratio", None), ("约定容积率", "plot_ratio", None), ("RJL", "plot_ratio", None),
    ("乡镇", "township", None), ("XZ", "township", None), ("村", "village", None),
    ("CUN", "village", None),
    ("行政区代码", "admin_code", None), ("XZQDM", "admin_code", None),
    ("行政区名称", "admin_name", None), ("XZQMC", "admin_name", None),
    ("已开发面积", "developed_area", None), ("YKFMJ", "developed_area", None),
    ("已投资额", "invested", None), ("YTZE", "invested", None),
    ("总投资额", "total_investment", None), ("ZTZE", "total_investment", None),
    ("停工日期", "suspended_since", None), ("TGRQ", "suspended_since", None),
    ("图斑编号", "patch_no", None), ("TBBH", "patch_no", None), ("JCBH", "patch_no", None),
    ("监测批次", "period", None), ("JCPC", "period", None),
    ("变化类型", "change_type", None), ("BHLX", "change_type", None),
    ("后时相", "detected_date", None), ("发现日期", "detected_date", None),
    ("HSX", "detected_date", None),
    ("撤回文号", "doc_no", "withdrawal"), ("调整文号", "doc_no", "withdrawal"),
    ("核销文号", "doc_no", "withdrawal"), ("撤回日期", "withdrawal_date", "withdrawal"),
    ("撤回类型", "withdrawal_kind", "withdrawal"), ("撤回状态", "withdrawal_status", "withdrawal"),
    ("征收公告日期", "acquisition_date", None), ("补偿安置到位日期", "acquisition_date", None),
    ("ZSGGRQ", "acquisition_date", None),
    ("征收面积", "acquired_area", None), ("ZSMJ", "acquired_area", None),
    ("权属", "land_ownership", None), ("QSXZ", "land_ownership", None),
    ("收回日期", "reclaimed_date", None), ("收回决定书文号", "reclaim_doc", None),
    ("抵押权人", "mortgagee", None),
    ("巡查日期", "observed_date", None), ("XCRQ", "observed_date", None),
    ("判定结果", "judgement", None), ("举证", "judgement", None), ("PDJG", "judgement", None),
    ("地类编码", "dlbm", None), ("DLBM", "dlbm", None),
    ("闲置认定日期", "determined_date", None), ("RDRQ", "determined_date", None),
    ("闲置原因", "idle_cause", None), ("XZYY", "idle_cause", None),
    # 部标 地块 fields and the fallback keys
    ("地块编号", "parcel_no", None), ("地块名称", "parcel_name", None),
    ("地块用途", "land_use", None), ("图幅号", "sheet_no", None),
    ("合同编号", "contract_no", None), ("划拨决定书编号", "allocation_no", None),
    ("备注", "remark", None),
]


@pytest.fixture(scope="module")
def aliases():
    return load_aliases()


@pytest.mark.parametrize("name, canonical, kind", DOMAIN_NAMES)
def test_every_domain_name_matches(aliases, name: str, canonical: str, kind: str | None):
    assert match_fields([name], kind, aliases).mapping == {name: canonical}


@pytest.mark.parametrize(
    "name, canonical, kind", [n for n in DOMAIN_NAMES if len(n[0].encode("gbk")) > 10]
)
def test_gbk_cut_forms_match(aliases, name: str, canonical: str, kind: str | None):
    cut = name.encode("gbk")[:10].decode("gbk", errors="ignore")
    assert match_fields([cut], kind, aliases).mapping == {cut: canonical}


@pytest.mark.parametrize(
    "name, canonical, kind", [n for n in DOMAIN_NAMES if len(n[0].encode()) > 10]
)
def test_utf8_cut_forms_match_or_are_reported(aliases, name: str, canonical: str,
                                              kind: str | None):
    """UTF-8 keeps 3 characters: unique cuts map, shared ones (行政区…) are reported."""
    cut = name.encode()[:10].decode("utf-8", errors="ignore")
    m = match_fields([cut], kind, aliases)
    assert m.mapping == {cut: canonical} or canonical in m.ambiguous[cut]


def test_domain_examples_of_cut_names(aliases):
    m = match_fields(["约定开工时", "土地使用权", "合同签订日", "项目名"], "supply", aliases)
    assert m.mapping == {
        "约定开工时": "agreed_start",
        "土地使用权": "land_user",
        "合同签订日": "contract_date",
        "项目名": "project_name",
    }
    assert m.unmapped == []


def test_cut_forms_are_generated():
    assert cut_forms("约定开工时间") == {"约定开工时", "约定开"}
    assert cut_forms("PZWH") == set()
    assert "agreed_sta" in cut_forms("agreed_start")


def test_case_space_underscore_and_full_width_tolerant(aliases):
    names = ["pz_wh", "ＤＺＪＧＨ", " 项目 名称 ", "Tdsyqr", "HT_QD_RQ"]
    m = match_fields(names, "supply", aliases)
    assert m.mapping == {
        "pz_wh": "pzwh",
        "ＤＺＪＧＨ": "dzjgh",
        " 项目 名称 ": "project_name",
        "Tdsyqr": "land_user",
        "HT_QD_RQ": "contract_date",
    }


def test_canonical_names_match_themselves(aliases):
    m = match_fields(["agreed_start", "AGREED_STA"], None, aliases)
    assert m.mapping == {"agreed_start": "agreed_start"}
    assert "AGREED_STA" in m.conflicts["agreed_start"]


def test_unit_in_the_name(aliases):
    m = match_fields(["面积(亩)", "成交价款（元）", "批准面积_公顷"], None, aliases)
    assert m.mapping == {"面积(亩)": "area", "成交价款（元）": "price", "批准面积_公顷": "approved_area"}
    assert m.units == {"面积(亩)": "亩", "成交价款（元）": "元", "批准面积_公顷": "公顷"}


def test_table_units(aliases):
    m = match_fields(["供地面积", "成交价款", "已投资额"], None, aliases)
    assert m.units == {"供地面积": "公顷", "成交价款": "万元", "已投资额": "万元"}
    assert match_fields(["TBMJ"], "rs_patch", aliases).units == {"TBMJ": "m2"}
    assert match_fields(["MJ"], "supply", aliases).units == {}  # to be inferred from geometry


def test_exact_beats_cut_and_the_loser_is_reported(aliases):
    m = match_fields(["约定开工时", "HTYDDGSJ"], "supply", aliases)
    assert m.mapping == {"HTYDDGSJ": "agreed_start"}
    assert m.unmapped == ["约定开工时"]
    assert m.conflicts == {"agreed_start": ["约定开工时", "HTYDDGSJ"]}
    assert any("采用“HTYDDGSJ”" in msg for msg in m.messages)


def test_two_equal_sources_for_one_canonical_map_neither(aliases):
    m = match_fields(["批准文号", "批复文号", "XMMC"], None, aliases)
    assert m.mapping == {"XMMC": "project_name"}
    assert m.unmapped == ["批准文号", "批复文号"]
    assert m.conflicts == {"pzwh": ["批准文号", "批复文号"]}
    assert any("无法确定" in msg for msg in m.messages)


def test_kind_decides_what_a_plain_name_means(aliases):
    assert match_fields(["开工时间"], "use", aliases).mapping == {"开工时间": "actual_start"}
    assert match_fields(["开工时间"], "supply", aliases).mapping == {"开工时间": "agreed_start"}
    unknown = match_fields(["开工时间"], None, aliases)
    assert unknown.mapping == {}
    assert unknown.ambiguous == {"开工时间": ["actual_start", "agreed_start"]}
    assert match_fields(["状态"], "withdrawal", aliases).mapping == {"状态": "withdrawal_status"}
    assert match_fields(["状态"], "disposal", aliases).mapping == {"状态": "status"}
    assert match_fields(["状态"], "supply", aliases).unmapped == ["状态"]


def test_unmapped_keeps_source_order(aliases):
    m = match_fields(["FOO", "PZWH", "Shape_Area", "BAR"], None, aliases)
    assert m.unmapped == ["FOO", "Shape_Area", "BAR"]
    mapping, unmapped = m  # unpacks as the pair
    assert mapping == {"PZWH": "pzwh"} and unmapped == m.unmapped


def test_user_csv_mapping_wins(tmp_path: Path):
    path = tmp_path / "map.csv"
    path.write_text("source,canonical\n面积,approved_area\nXMBH,contract_no\nOBJECTID,-\n",
                    encoding="utf-8")
    aliases = load_aliases(path)
    m = match_fields(["面积", "XMBH", "OBJECTID", "PZWH"], "approval", aliases)
    assert m.mapping == {"面积": "approved_area", "XMBH": "contract_no", "PZWH": "pzwh"}
    assert m.ignored == ["OBJECTID"]
    assert m.unmapped == []


def test_user_json_mapping_wins_even_over_exact_aliases(tmp_path: Path):
    path = tmp_path / "map.json"
    path.write_text(json.dumps({"批复文号": "doc_no", "项目编号": "contract_no"}), encoding="utf-8")
    aliases = load_aliases(path)
    m = match_fields(["批复文号", "项目编号", "批准文号"], "withdrawal", aliases)
    assert m.mapping == {"批复文号": "doc_no", "项目编号": "contract_no", "批准文号": "pzwh"}


def test_user_gbk_csv_mapping(tmp_path: Path):
    path = tmp_path / "map.csv"
    path.write_bytes("宗地号码,parcel_no\n".encode("gbk"))
    assert match_fields(["宗地号码"], None, load_aliases(path)).mapping == {"宗地号码": "parcel_no"}


def test_bad_user_mapping(tmp_path: Path):
    from landdb.errors import LanddbError

    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(LanddbError, match="应为"):
        load_aliases(bad)


def test_alias_kinds_are_import_kinds():
    """The kinds in field_aliases.csv are the names of `landdb import KIND`."""
    aliases = load_aliases()
    used = set().union(*(e.kinds for e in aliases.entries))
    assert used <= set(KINDS)
    try:
        from landdb.ingest.kinds import KINDS as INGEST_KINDS
    except ImportError:  # pragma: no cover - ingest not in this tree yet
        return
    assert set(KINDS) == set(INGEST_KINDS)


# --- land-use codes ---


@pytest.mark.parametrize(
    "value, expected",
    [
        ("0601", ("0601", "GB/T 21010-2017")),
        ("0701", ("0701", "GB/T 21010-2017")),
        ("061", ("0601", "GB/T 21010-2007")),
        ("063", ("0604", "GB/T 21010-2007")),  # 仓储: not 0603 盐田
        ("102", ("1003", "GB/T 21010-2007")),  # 公路
        ("083", ("08", "GB/T 21010-2007")),  # 科教: split in 2017
        ("0601工业用地", ("0601", "GB/T 21010-2017")),
        ("1001 工业用地", ("1001", "用地用海")),  # the name says which system
        ("1001", ("1001", "GB/T 21010-2017")),  # 铁路用地 unless told
        ("100101", ("100101", "用地用海")),
        ("05H1", ("05H1", "三调")),
        ("1104a", ("1104A", "三调")),
        ("工业用地", ("0601", "GB/T 21010-2017")),
        ("城镇住宅", ("0701", "GB/T 21010-2017")),
        (601, ("0601", "GB/T 21010-2017")),  # a number that lost its leading zero
        (61, ("0601", "GB/T 21010-2007")),
        ("０６０１", ("0601", "GB/T 21010-2017")),
    ],
)
def test_land_use_codes(value: object, expected: tuple[str, str]):
    assert normalize_land_use_code(value) == expected


def test_land_use_code_with_system_hint():
    assert normalize_land_use_code("1001", system="用地用海") == ("1001", "用地用海")
    assert normalize_land_use_code("0901", system="国土空间用地用海") == ("0901", "用地用海")


@pytest.mark.parametrize("value", ["9999", "abc", "0613"])
def test_unknown_land_use_codes(value: str):
    with pytest.raises(ValueError, match="无法识别的地类编码"):
        normalize_land_use_code(value)


def test_empty_land_use_code():
    assert normalize_land_use_code(None) is None
    assert normalize_land_use_code("  ") is None
