"""CRS tables checked against PROJ, inference from coordinates, .prj, 部标 headers, 7 parameters."""

from __future__ import annotations

import math

import pytest
from pyproj import CRS, Transformer

from landdb.crs import (
    GEOGRAPHIC_EPSG,
    GK_TABLE,
    CrsError,
    check_extent,
    crs_from_bubiao_header,
    crs_from_prj,
    gk_epsg,
    infer_crs,
    parse_bubiao_crs,
    parse_helmert,
    transformer,
    working_epsg_for_lon,
    zone_for_lon,
)

DATUM_WORDS = {"CGCS2000": "CGCS2000", "Xian1980": "Xian 1980", "Beijing1954": "Beijing 1954"}

# A point in 息县 (114.7°E, 32.3°N) in CGCS2000 / 3-degree GK CM 114E (EPSG:4547).
X, Y = 565_800.0, 3_574_700.0


def params_of(epsg: int) -> dict[str, float]:
    op = CRS.from_epsg(epsg).coordinate_operation
    return {p.name: p.value for p in op.params}


@pytest.mark.parametrize("epsg", sorted(GK_TABLE))
def test_every_table_entry_is_what_proj_says(epsg: int):
    entry = GK_TABLE[epsg]
    crs = CRS.from_epsg(epsg)
    assert crs.name.startswith(DATUM_WORDS[entry.datum] + " /")
    assert ("3-degree" in crs.name) == (entry.width == 3)
    if entry.prefixed:
        assert crs.name.endswith(f"zone {entry.zone}")
    else:
        assert crs.name.endswith(f"CM {entry.central_meridian}E")
    p = params_of(epsg)
    assert p["Longitude of natural origin"] == entry.central_meridian
    assert p["False easting"] == entry.false_easting
    assert p["Scale factor at natural origin"] == 1.0


def test_table_is_complete():
    # 3 datums x (21 three-degree + 11 six-degree zones) x (with and without prefix)
    assert len(GK_TABLE) == 3 * (21 + 11) * 2
    assert gk_epsg("CGCS2000", 3, 25, True) == 4513
    assert gk_epsg("CGCS2000", 3, 45, False) == 4554
    assert gk_epsg("CGCS2000", 6, 13, True) == 4491
    assert gk_epsg("CGCS2000", 6, 23, False) == 4512
    assert gk_epsg("Xian1980", 3, 25, True) == 2349
    assert gk_epsg("Beijing1954", 3, 45, False) == 2442


@pytest.mark.parametrize("datum, epsg", sorted(GEOGRAPHIC_EPSG.items()))
def test_geographic_codes(datum: str, epsg: int):
    crs = CRS.from_epsg(epsg)
    assert crs.is_geographic
    assert DATUM_WORDS[datum].replace(" ", "").lower()[:5] in crs.name.replace(" ", "").lower() or (
        datum == "CGCS2000" and "2000" in crs.name
    )


def test_working_crs_of_the_sample_counties():
    assert zone_for_lon(114.7) == 38
    assert working_epsg_for_lon(114.7) == 4547  # 息县
    assert working_epsg_for_lon(110.9) == 4546  # 隰县, CM 111°E
    with pytest.raises(CrsError, match="不在中国范围"):
        zone_for_lon(-74.0)


# --- inference ---


def test_zone_prefix_3_degree():
    guess = infer_crs((38_512_000, 3_566_000, 38_513_500, 3_567_200))
    assert guess.epsg == 4526
    assert (guess.zone, guess.zone_width, guess.prefixed) == (38, 3, True)
    assert guess.datum_assumed
    assert "带号 38" in guess.explanation and "假定" in guess.explanation


def test_zone_prefix_6_degree():
    guess = infer_crs((20_290_000, 3_566_000, 20_300_000, 3_570_000))
    assert guess.epsg == 4498
    assert CRS.from_epsg(guess.epsg).name == "CGCS2000 / Gauss-Kruger zone 20"


def test_datum_hint_picks_xian_1980():
    guess = infer_crs((38_512_000, 3_566_000, 38_513_500, 3_567_200), datum_hint="西安80坐标系")
    assert guess.epsg == 2362
    assert not guess.datum_assumed


def test_lon_lat_in_china():
    guess = infer_crs((114.5, 32.1, 114.9, 32.5))
    assert guess.epsg == 4490
    assert "经纬度" in guess.explanation


def test_without_prefix_needs_a_zone():
    bounds = (512_000, 3_566_000, 513_500, 3_567_200)
    with pytest.raises(CrsError, match="无法确定带号"):
        infer_crs(bounds)
    assert infer_crs(bounds, declared_zone=38).epsg == 4547
    assert infer_crs(bounds, central_meridian=114).epsg == 4547
    by_county = infer_crs(bounds, county_lon=114.7)
    assert by_county.epsg == 4547
    assert "县域经度" in by_county.explanation
    assert infer_crs(bounds, declared_zone=19).epsg == 4508  # 6° zone 19 without prefix


@pytest.mark.parametrize(
    "bounds, message",
    [
        ((-74.1, 40.6, -73.9, 40.8), "不在中国范围"),  # New York in lon/lat
        ((32.1, 114.5, 32.5, 114.9), "纬度在前"),  # lat/lon swapped
        ((3_566_000, 38_512_000, 3_567_000, 38_513_000), "X/Y 顺序颠倒"),  # 部标 X/Y order
        ((50_512_000, 3_566_000, 50_513_000, 3_567_000), "不存在"),  # zone 50
        ((24_512_000, 3_566_000, 24_513_000, 3_567_000), "不存在"),  # between the two zonings
        ((38_512_000, 9_000_000, 38_513_000, 9_100_000), "北坐标"),  # north of China
        ((38_950_000, 3_566_000, 38_990_000, 3_567_000), "带内范围"),
        ((37_900_000, 3_566_000, 38_100_000, 3_567_000), "跨越"),
        ((1.0, 2.0, 3.0, 400.0), "不符合任何"),
        ((1500.0, 1500.0, 2000.0, 2000.0), "不符合任何"),  # a local CAD drawing
    ],
)
def test_refusals(bounds, message: str):
    with pytest.raises(CrsError, match=message):
        infer_crs(bounds)


def test_prefix_contradicting_declared_zone():
    with pytest.raises(CrsError, match="不符"):
        infer_crs((38_512_000, 3_566_000, 38_513_000, 3_567_000), declared_zone=39)


# --- .prj ---

ESRI_CGCS2000_CM114 = (
    'PROJCS["CGCS2000_3_Degree_GK_CM_114E",GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",'
    'DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],'
    'UNIT["Degree",0.0174532925199433]],PROJECTION["Gauss_Kruger"],'
    'PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],'
    'PARAMETER["Central_Meridian",114.0],PARAMETER["Scale_Factor",1.0],'
    'PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]'
)


def test_prj_esri_cgcs2000():
    assert crs_from_prj(ESRI_CGCS2000_CM114) == 4547
    zone = ESRI_CGCS2000_CM114.replace("CM_114E", "Zone_38").replace(
        '"False_Easting",500000.0', '"False_Easting",38500000.0'
    )
    assert crs_from_prj(zone) == 4526


def test_prj_xian_and_beijing():
    xian = (
        ESRI_CGCS2000_CM114.replace("CGCS2000_3_Degree_GK_CM_114E", "Xian_1980_3_Degree_GK_CM_114E")
        .replace("GCS_China_Geodetic_Coordinate_System_2000", "GCS_Xian_1980")
        .replace('DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]]',
                 'DATUM["D_Xian_1980",SPHEROID["Xian_1980",6378140.0,298.257]]')
    )
    assert crs_from_prj(xian) == 2383
    beijing = (
        xian.replace("Xian_1980_3_Degree", "Beijing_1954_3_Degree")
        .replace("GCS_Xian_1980", "GCS_Beijing_1954")
        .replace('DATUM["D_Xian_1980",SPHEROID["Xian_1980",6378140.0,298.257]]',
                 'DATUM["D_Beijing_1954",SPHEROID["Krasovsky_1940",6378245.0,298.3]]')
    )
    assert crs_from_prj(beijing) == 2435


def test_prj_without_any_known_name_matched_by_parameters():
    """A .prj from a local tool: custom names, CGCS2000 ellipsoid, central meridian 111°."""
    custom = (
        'PROJCS["Gauss Kruger 111",GEOGCS["GCS_Custom",DATUM["D_Custom",'
        'SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],'
        'UNIT["Degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],'
        'PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],'
        'PARAMETER["Central_Meridian",111.0],PARAMETER["Scale_Factor",1.0],'
        'PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]'
    )
    assert crs_from_prj(custom) == 4546


def test_prj_other_and_garbage():
    assert crs_from_prj(CRS.from_epsg(32650).to_wkt()) == 32650
    assert crs_from_prj("not a projection") is None
    assert crs_from_prj("") is None


# --- 部标 header ---

SAMPLE_HEADER = {
    "格式版本号": "1.01版本",
    "坐标系": "2000国家大地坐标系",
    "几度分带": "3",
    "投影类型": "高斯克吕格",
    "计量单位": "米",
    "带号": "38",
    "精度": "0.0001",
    "转换参数": ",,,,,,",
}


def test_bubiao_sample_header():
    assert crs_from_bubiao_header(SAMPLE_HEADER) == 4526
    assert crs_from_bubiao_header(SAMPLE_HEADER, prefixed=False) == 4547
    info = parse_bubiao_crs(SAMPLE_HEADER)
    assert (info.datum, info.zone_width, info.zone, info.unit) == ("CGCS2000", 3, 38, "m")


@pytest.mark.parametrize(
    "label, epsg",
    [
        ("80西安坐标系", 2362),
        ("西安80坐标系", 2362),
        ("1980西安坐标系", 2362),
        ("54北京坐标系", 2414),
        ("北京54坐标系", 2414),
        ("CGCS2000", 4526),
    ],
)
def test_bubiao_datum_labels(label: str, epsg: int):
    assert crs_from_bubiao_header({**SAMPLE_HEADER, "坐标系": label}) == epsg


def test_bubiao_6_degree_and_unknown():
    six = {**SAMPLE_HEADER, "几度分带": "6", "带号": "19"}
    assert crs_from_bubiao_header(six) == 4497
    assert CRS.from_epsg(4497).name.endswith("zone 19")
    assert crs_from_bubiao_header({**SAMPLE_HEADER, "坐标系": "地方独立坐标系"}) is None
    assert crs_from_bubiao_header({**SAMPLE_HEADER, "带号": ""}) is None
    with pytest.raises(CrsError, match="没有第 38 带"):
        crs_from_bubiao_header({**SAMPLE_HEADER, "几度分带": "6", "带号": "38"})


def test_bubiao_header_with_infer_crs_for_unprefixed_coordinates():
    info = parse_bubiao_crs(SAMPLE_HEADER)
    guess = infer_crs((512_000, 3_566_000, 513_000, 3_567_000), declared_zone=info.zone,
                      datum_hint=info.datum_label, zone_width=info.zone_width)
    assert guess.epsg == 4547 and not guess.datum_assumed


# --- 7 parameters ---


def test_parse_helmert():
    assert parse_helmert(",,,,,,") is None
    assert parse_helmert("转换参数=,,,,,,") is None
    assert parse_helmert("") is None
    assert parse_helmert("0,0,0,0,0,0,0") is None
    assert parse_helmert("转换参数=-15.4，120.2,60.1,0.5,-1.2,2.3,-3.1") == (
        -15.4, 120.2, 60.1, 0.5, -1.2, 2.3, -3.1,
    )
    with pytest.raises(CrsError, match="7 个数"):
        parse_helmert("1,2,3")
    with pytest.raises(CrsError, match="非数字"):
        parse_helmert("a,b,c,d,e,f,g")


def test_ballpark_warning_for_xian_to_cgcs2000():
    tr, warning = transformer(2383, 4547)
    assert warning is not None and "近似" in warning and "七参数" in warning
    x, y = tr.transform(X, Y)
    assert abs(x - X) < 5 and abs(y - Y) < 5  # no datum shift at all: only the ellipsoid


def test_no_warning_within_cgcs2000():
    tr, warning = transformer(4526, 4547)
    assert warning is None
    x, y = tr.transform(38_000_000 + X, Y)
    assert math.isclose(x, X, abs_tol=1e-6) and math.isclose(y, Y, abs_tol=1e-6)


def test_identity_parameters_move_less_than_a_millimetre():
    tr, warning = transformer(4547, 4547, helmert7=(0, 0, 0, 0, 0, 0, 0))
    assert warning is None
    x, y = tr.transform(X, Y)
    assert math.hypot(x - X, y - Y) < 1e-3
    tr, _ = transformer(4526, 4547, helmert7=(0, 0, 0, 0, 0, 0, 0))
    x, y = tr.transform(38_000_000 + X, Y)
    assert math.hypot(x - X, y - Y) < 1e-3


def test_translation_moves_the_point_by_the_geocentric_shift():
    shift = (30.0, -40.0, 20.0)
    tr, _ = transformer(4547, 4547, helmert7=(*shift, 0, 0, 0, 0))
    got = tr.transform(X, Y)
    # Independently: to geocentric CGCS2000 (EPSG:4479), add the shift, come back.
    to_geo = Transformer.from_crs(4547, 4479, always_xy=True)
    gx, gy, gz = to_geo.transform(X, Y, 0.0)
    ex, ey, _ = to_geo.transform(gx + shift[0], gy + shift[1], gz + shift[2],
                                 direction="INVERSE")
    assert math.hypot(got[0] - ex, got[1] - ey) < 1e-3
    moved = math.hypot(got[0] - X, got[1] - Y)
    assert 10 < moved < math.hypot(*shift)  # part of the shift is vertical


XIAN_PARAMS = (-20.3, 105.6, 62.4, 0.85, -1.32, 2.41, -3.2)


def test_seven_parameters_match_proj_towgs84_position_vector():
    """+towgs84 is PROJ's position-vector Helmert: the pipeline must agree with it."""
    tr, warning = transformer(2383, 4547, helmert7=XIAN_PARAMS)
    assert warning is None
    got = tr.transform(X, Y)
    towgs = ",".join(repr(v) for v in XIAN_PARAMS)
    src = CRS.from_proj4(
        "+proj=tmerc +lat_0=0 +lon_0=114 +k=1 +x_0=500000 +y_0=0 +a=6378140 +rf=298.257 "
        f"+towgs84={towgs} +units=m +type=crs"
    )
    dst = CRS.from_proj4(
        "+proj=tmerc +lat_0=0 +lon_0=114 +k=1 +x_0=500000 +y_0=0 +ellps=GRS80 "
        "+towgs84=0,0,0,0,0,0,0 +units=m +type=crs"
    )
    expected = Transformer.from_crs(src, dst, always_xy=True).transform(X, Y)
    assert math.hypot(got[0] - expected[0], got[1] - expected[1]) < 1e-3
    ballpark, _ = transformer(2383, 4547)
    bx, by = ballpark.transform(X, Y)
    assert math.hypot(got[0] - bx, got[1] - by) > 50  # the parameters matter


def test_coordinate_frame_is_position_vector_with_rotations_negated():
    dx, dy, dz, rx, ry, rz, ds = XIAN_PARAMS
    cf, _ = transformer(2383, 4547, helmert7=XIAN_PARAMS, convention="coordinate_frame")
    pv, _ = transformer(2383, 4547, helmert7=(dx, dy, dz, -rx, -ry, -rz, ds))
    a, b = cf.transform(X, Y), pv.transform(X, Y)
    assert math.hypot(a[0] - b[0], a[1] - b[1]) < 1e-3


def test_seven_parameters_to_geographic():
    tr, _ = transformer(2383, 4490, helmert7=XIAN_PARAMS)
    lon, lat = tr.transform(X, Y)
    assert 114.6 < lon < 114.8 and 32.2 < lat < 32.4


# --- extent ---


def test_check_extent():
    county = (540_000.0, 3_540_000.0, 600_000.0, 3_600_000.0)
    assert check_extent((550_000, 3_550_000, 560_000, 3_560_000), county) == 0.0
    assert check_extent((530_000, 3_550_000, 560_000, 3_560_000), county) == 10_000.0
    with pytest.raises(CrsError, match="超出县域范围"):
        check_extent((38_550_000, 3_550_000, 38_560_000, 3_560_000), county)
    with pytest.raises(CrsError, match=r"60\.0 公里"):
        check_extent((550_000, 3_600_000, 560_000, 3_660_000), county)
