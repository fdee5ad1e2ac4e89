"""部标 coordinate TXT: reading, ring classification, encodings, errors, round trip."""

from __future__ import annotations

from pathlib import Path

import pytest
import shapely
from shapely.geometry import MultiPolygon, Polygon, box

from landdb.formats.bubiao import (
    BubiaoError,
    BubiaoParcel,
    detect_encoding,
    dumps_bubiao,
    parse_bubiao,
    read_bubiao,
    write_bubiao,
)

PREFIX = 38_000_000.0
E0, N0 = 565_000.0, 3_575_000.0  # somewhere in 示范县, zone 38


def _ring_lines(points: list[tuple[float, float]], ring_no: int, start: int, close: bool):
    """Point lines (点号,圈号,X=northing,Y=easting with zone prefix)."""
    lines = []
    for k, (e, n) in enumerate(points):
        lines.append(f"J{start + k},{ring_no},{N0 + n:.3f},{PREFIX + E0 + e:.3f}")
    if close:
        e, n = points[0]
        lines.append(f"J{start},{ring_no},{N0 + n:.3f},{PREFIX + E0 + e:.3f}")
    return lines


SQUARE_200 = [(0, 0), (200, 0), (200, 150), (0, 150)]  # 3 ha
HOLE_40 = [(50, 50), (90, 50), (90, 90), (50, 90)]  # 0.16 ha
PART_A = [(400, 0), (500, 0), (500, 100), (400, 100)]  # 1 ha
PART_B = [(520, 0), (560, 0), (560, 50), (520, 50)]  # 0.2 ha


def _sample_text() -> str:
    """Two parcels: one with a hole (closed rings, 界址点数 counts closing points), one with
    two parts (second ring not closed, 界址点数 without closing points), plus extra sections."""
    p1 = _ring_lines(SQUARE_200, 1, 1, True) + _ring_lines(HOLE_40, 2, 5, True)
    p2 = _ring_lines(PART_A, 1, 1, True) + _ring_lines(PART_B, 2, 5, False)
    lines = [
        "[属性描述]",
        "格式版本号=1.01版本",
        "数据产生单位=示范县自然资源局",
        "数据产生日期=2023-05-06",
        "坐标系=2000国家大地坐标系",
        "几度分带=3",
        "投影类型=高斯克吕格",
        "计量单位=米",
        "带号=38",
        "精度=0.001",
        "转换参数=,,,,,,",
        "[项目信息]",
        "项目名称=示范县2019年度第3批次城市建设用地",
        "批准文号=豫政土〔2019〕31号",
        "[地块坐标]",
        f"{len(p1)},2.8400,1,示范项目地块一,面,H50G012034,工业用地,0601,@",
        *p1,
        f"{len(p2) - 1},1.2000,2,示范项目地块二,面,H50G012034,城镇住宅用地,0701,"
        "豫政土〔2019〕31号,备注,@",
        *p2,
    ]
    return "\r\n".join(lines) + "\r\n"


def _expected_polygons() -> tuple[MultiPolygon, MultiPolygon]:
    def shift(coords):
        return [(PREFIX + E0 + e, N0 + n) for e, n in coords]

    one = MultiPolygon([Polygon(shift(SQUARE_200), [shift(HOLE_40)])])
    two = MultiPolygon([Polygon(shift(PART_A)), Polygon(shift(PART_B))])
    return one, two


@pytest.mark.parametrize("encoding", ["gbk", "utf-8-sig"])
def test_read_two_parcels(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / f"批次_{encoding}.txt"
    path.write_bytes(_sample_text().encode(encoding))
    bf = read_bubiao(path)
    assert bf.encoding == ("gb18030" if encoding == "gbk" else "utf-8-sig")
    assert bf.header["带号"] == "38"
    assert bf.header["转换参数"] == ",,,,,,"
    assert bf.sections["项目信息"]["批准文号"] == "豫政土〔2019〕31号"
    assert bf.zone == 38 and bf.zone_prefix == 38

    one, two = bf.parcels
    exp_one, exp_two = _expected_polygons()
    assert one.number == "1" and one.name == "示范项目地块一"
    assert (one.geom_type, one.sheet, one.use, one.class_code) == (
        "面", "H50G012034", "工业用地", "0601")
    assert one.extra == []
    assert two.extra == ["豫政土〔2019〕31号", "备注"]
    assert one.line_no == 16
    assert two.line_no == 16 + 1 + one.points_read

    # a ring inside another ring is a hole; a ring outside is a further part
    assert len(one.geometry.geoms) == 1 and len(one.geometry.geoms[0].interiors) == 1
    assert len(two.geometry.geoms) == 2
    assert one.geometry.equals_exact(exp_one, 1e-6)
    assert two.geometry.equals_exact(exp_two, 1e-6)
    # easting is x (prefix kept), northing is y
    minx, miny, _, _ = one.geometry.bounds
    assert minx == pytest.approx(PREFIX + E0) and miny == pytest.approx(N0)

    # declared 公顷 equal to the area within 0.1 %
    for p in bf.parcels:
        assert p.geometry.area / 10_000 == pytest.approx(p.area_ha, rel=1e-3)
        assert p.geometry.is_valid
    # 界址点数 is recounted, never trusted (both conventions accepted without warning)
    assert one.point_count == one.points_read
    assert two.point_count == two.points_read - 1
    assert bf.warnings == []


def test_detect_encoding() -> None:
    text = "地块名称"
    assert detect_encoding(text.encode("utf-8-sig")) == "utf-8-sig"
    assert detect_encoding(text.encode("utf-8")) == "utf-8"
    assert detect_encoding(text.encode("gbk")) == "gb18030"
    assert detect_encoding(b"[abc]") == "utf-8"


def test_malformed_coordinate_names_line(tmp_path: Path) -> None:
    lines = _sample_text().split("\r\n")
    bad = 19  # 1-based line number of a point line of parcel 1
    parts = lines[bad - 1].split(",")
    parts[2] = "35750l2.345"
    lines[bad - 1] = ",".join(parts)
    path = tmp_path / "坏文件.txt"
    path.write_bytes("\r\n".join(lines).encode("gbk"))
    with pytest.raises(BubiaoError) as err:
        read_bubiao(path)
    msg = str(err.value)
    assert err.value.line_no == bad
    assert f"第 {bad} 行" in msg and f"line {bad}" in msg and "坏文件.txt" in msg
    assert "X 坐标不是数字" in msg


def test_ring_with_too_few_points() -> None:
    text = "\n".join([
        "[属性描述]", "带号=38", "[地块坐标]", "3,0.1,1,甲,面,,,,@",
        "J1,1,3575000,38565000", "J2,1,3575100,38565000", "J1,1,3575000,38565000",
    ])
    with pytest.raises(BubiaoError) as err:
        parse_bubiao(text, source="少点.txt")
    assert err.value.line_no == 5
    assert "少于 3 个不同的点" in str(err.value)


def test_point_before_parcel_and_missing_section() -> None:
    with pytest.raises(BubiaoError) as err:
        parse_bubiao("[地块坐标]\nJ1,1,1,2\n", source="x.txt")
    assert err.value.line_no == 2
    with pytest.raises(BubiaoError):
        parse_bubiao("[属性描述]\n带号=38\n", source="x.txt")


def test_unclosed_ring_is_closed_and_nested_island() -> None:
    # outer ring, a hole, and an island inside the hole: the island is a further part
    outer = [(0, 0), (300, 0), (300, 300), (0, 300)]
    hole = [(50, 50), (250, 50), (250, 250), (50, 250)]
    island = [(100, 100), (200, 100), (200, 200), (100, 200)]
    body = (_ring_lines(outer, 1, 1, False) + _ring_lines(hole, 2, 5, False)
            + _ring_lines(island, 3, 9, False))
    text = "\n".join(["[属性描述]", "带号=38", "[地块坐标]", "12,6.0,1,甲,面,,,,@", *body])
    (p,) = parse_bubiao(text).parcels
    assert len(p.geometry.geoms) == 2
    assert p.geometry.area == pytest.approx(300 * 300 - 200 * 200 + 100 * 100)


def test_round_trip(tmp_path: Path) -> None:
    one, two = _expected_polygons()
    # a non-prefixed polygon with a hole on a third parcel
    three = MultiPolygon([box(565_000, 3_575_000, 565_100.125, 3_575_080.5).difference(
        box(565_010, 3_575_010, 565_020, 3_575_020))])
    parcels = [
        BubiaoParcel("1", one, name="地块一", use="工业用地", class_code="0601"),
        BubiaoParcel("2", two, name="地块二", extra=["豫政土〔2019〕31号"]),
        BubiaoParcel("3", three, name="地块三"),
    ]
    for encoding in ("gbk", "utf-8-sig"):
        path = write_bubiao(tmp_path / f"rt_{encoding}.txt", parcels, header={"带号": "38"},
                            sections={"项目信息": {"批准文号": "豫政土〔2019〕31号"}},
                            encoding=encoding)
        raw = path.read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf") == (encoding == "utf-8-sig")
        bf = read_bubiao(path)
        assert [p.number for p in bf.parcels] == ["1", "2", "3"]
        for orig, back in zip(parcels, bf.parcels):
            assert shapely.equals_exact(orig.geometry, back.geometry, 1e-9)
            assert back.area_ha == pytest.approx(orig.geometry.area / 10_000, abs=5e-5)
            assert back.point_count == back.points_read
        assert bf.parcels[1].extra == ["豫政土〔2019〕31号"]
        assert bf.sections["项目信息"]["批准文号"] == "豫政土〔2019〕31号"
        # deterministic: writing the parsed parcels again gives the same text
        again = dumps_bubiao(bf.parcels, bf.header, bf.sections)
        assert again.encode(encoding) == raw


def test_writer_rejects_other_encodings(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        write_bubiao(tmp_path / "x.txt", [], encoding="latin-1")
