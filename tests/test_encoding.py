"""Encoding detection of shapefile DBFs: real files written by GDAL, plus hand-made DBFs."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pyogrio
import pyogrio.raw
import pytest
import shapely

from landdb import encoding
from landdb.encoding import (
    codec_names,
    decode_field_name,
    detect_encoding,
    read_dbf_header,
    recode_latin1,
)
from landdb.errors import LanddbError

# GDAL warns when it cuts field names to 10 bytes while writing the fixtures.
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning:pyogrio")

PROJECT = "某某项目地块一"
HOLDER = "镕基置业有限公司"  # 镕 is outside GB2312: only GBK/GB18030 have it


def write_shp(
    folder: Path,
    name: str,
    enc: str,
    *,
    keep_cpg: bool,
    ldid: int | None = None,
    names: tuple[str, ...] = ("项目名称", "土地使用权人"),
    rows: tuple[tuple[str, str], ...] = ((PROJECT, HOLDER), ("ABC", "xyz")),
) -> Path:
    """Write a polygon shapefile with GDAL in ``enc``; optionally drop .cpg and set byte 29."""
    path = folder / f"{name}.shp"
    geoms = shapely.to_wkb(np.array([shapely.box(0, 0, 1, 1)] * len(rows)))
    cols = [np.array([r[i] for r in rows], dtype=object) for i in range(len(names))]
    pyogrio.raw.write(str(path), geoms, cols, list(names), geometry_type="Polygon",
                      crs="EPSG:4547", encoding=enc)
    cpg = path.with_suffix(".cpg")
    if not keep_cpg and cpg.exists():
        cpg.unlink()
    if ldid is not None:
        dbf = path.with_suffix(".dbf")
        data = bytearray(dbf.read_bytes())
        data[29] = ldid
        dbf.write_bytes(bytes(data))
    return path


def write_dbf(path: Path, fields: list[tuple[bytes, str, int]], records: list[list[bytes]],
              ldid: int = 0x57) -> Path:
    """A minimal dBASE III file written byte by byte (for cases GDAL will not produce)."""
    header_len = 32 + 32 * len(fields) + 1
    record_len = 1 + sum(f[2] for f in fields)
    out = bytearray(struct.pack("<B3BIHH", 3, 124, 1, 1, len(records), header_len, record_len))
    out += b"\x00" * 17 + bytes([ldid]) + b"\x00\x00"
    for raw_name, ftype, length in fields:
        out += raw_name.ljust(11, b"\x00") + ftype.encode() + b"\x00" * 4
        out += bytes([length, 0]) + b"\x00" * 14
    out += b"\x0d"
    for rec in records:
        out += b" " + b"".join(v.ljust(f[2], b" ")[: f[2]] for v, f in zip(rec, fields))
    out += b"\x1a"
    path.write_bytes(bytes(out))
    return path


def read_values(path: Path, enc: str) -> tuple[list[str], list[list[str]]]:
    meta, _, _, cols = pyogrio.raw.read(str(path), encoding=enc, read_geometry=False)
    return list(meta["fields"]), [list(c) for c in cols]


@pytest.mark.parametrize("ldid", [0x57, 0x00])
def test_gbk_without_cpg_is_read_as_gb18030_whatever_byte_29_says(tmp_path: Path, ldid: int):
    shp = write_shp(tmp_path, "gbk", "GBK", keep_cpg=False, ldid=ldid)
    assert read_dbf_header(shp.with_suffix(".dbf")).language_driver == ldid

    choice = detect_encoding(shp)

    assert choice.reason == "gb18030-fallback"
    assert choice.encoding == "gb18030"
    assert choice.gdal_encoding == "GB18030"
    # 土地使用权人 is 12 bytes in GBK: GDAL cut it to 5 characters.
    assert choice.field_names == ("项目名称", "土地使用权")
    names, cols = read_values(shp, choice.read_encoding)
    assert names == ["项目名称", "土地使用权"]
    assert cols[0][0] == PROJECT
    assert cols[1][0] == HOLDER
    assert "GB18030" in choice.detail


def test_gbk_is_garbled_when_gdal_guesses(tmp_path: Path):
    """Why detection matters: left to itself GDAL reads this file as Latin-1."""
    shp = write_shp(tmp_path, "gbk", "GBK", keep_cpg=False, ldid=0x00)
    _, cols = read_values(shp, None)  # type: ignore[arg-type]
    assert cols[0][0] != PROJECT


@pytest.mark.parametrize("keep_cpg, reason", [(True, "cpg"), (False, "utf8-strict")])
def test_utf8_with_and_without_cpg(tmp_path: Path, keep_cpg: bool, reason: str):
    shp = write_shp(tmp_path, "utf8", "UTF-8", keep_cpg=keep_cpg, names=("XMMC", "TDSYQR"))

    choice = detect_encoding(shp)

    assert choice.reason == reason
    assert choice.encoding == "utf-8"
    assert choice.gdal_encoding == "UTF-8"
    assert not choice.needs_recode
    _, cols = read_values(shp, choice.read_encoding)
    assert cols[0][0] == PROJECT and cols[1][0] == HOLDER


def test_cpg_wins_over_content(tmp_path: Path):
    shp = write_shp(tmp_path, "gbk", "GBK", keep_cpg=True, ldid=0x57)
    choice = detect_encoding(shp)
    assert choice.reason == "cpg"
    assert choice.cpg_value == "GBK"
    assert choice.encoding == "gb18030"
    _, cols = read_values(shp, choice.read_encoding)
    assert cols[1][0] == HOLDER


def test_cpg_saying_utf8_over_gbk_text_warns(tmp_path: Path):
    shp = write_shp(tmp_path, "liar", "GBK", keep_cpg=False)
    shp.with_suffix(".cpg").write_text("UTF-8")
    choice = detect_encoding(shp)
    assert choice.reason == "cpg"
    assert any("不是有效的 UTF-8" in w for w in choice.warnings)


def test_unrecognised_cpg_falls_back_to_detection(tmp_path: Path):
    shp = write_shp(tmp_path, "odd", "GBK", keep_cpg=False)
    shp.with_suffix(".cpg").write_text("KLINGON")
    choice = detect_encoding(shp)
    assert choice.reason == "gb18030-fallback"
    assert any("KLINGON" in w for w in choice.warnings)


def test_cpg_found_whatever_its_letter_case(tmp_path: Path):
    shp = write_shp(tmp_path, "case", "GBK", keep_cpg=False)
    (tmp_path / "case.CPG").write_text("936")
    assert detect_encoding(shp).reason == "cpg"


def test_user_override_wins(tmp_path: Path):
    shp = write_shp(tmp_path, "gbk", "GBK", keep_cpg=True)
    choice = detect_encoding(shp, override="cp936")
    assert choice.reason == "user"
    assert choice.encoding == "gb18030"
    with pytest.raises(LanddbError, match="无法识别指定的编码"):
        detect_encoding(shp, override="no-such-codec")


@pytest.mark.parametrize(
    "label, py, gdal",
    [
        ("GBK", "gb18030", "GB18030"),
        ("936", "gb18030", "GB18030"),
        ("CP936", "gb18030", "GB18030"),
        ("ANSI 936", "gb18030", "GB18030"),
        ("GB2312", "gb18030", "GB18030"),
        ("GB18030", "gb18030", "GB18030"),
        ("UTF-8", "utf-8", "UTF-8"),
        ("utf8", "utf-8", "UTF-8"),
        ("65001", "utf-8", "UTF-8"),
        ("ISO-8859-1", "latin-1", "ISO-8859-1"),
        ("88591", "latin-1", "ISO-8859-1"),
        ("1252", "cp1252", "CP1252"),
        ("\ufeffGBK\r\n", "gb18030", "GB18030"),
    ],
)
def test_cpg_labels(label: str, py: str, gdal: str):
    assert codec_names(label) == (py, gdal)


def test_utf8_names_cut_mid_character_are_readable(tmp_path: Path):
    """GDAL cuts 项目名称很长 to 3 characters and a stray byte; pyogrio cannot decode that."""
    shp = write_shp(tmp_path, "cut", "UTF-8", keep_cpg=True, names=("项目名称很长", "A约定开工时间"))
    choice = detect_encoding(shp)
    assert choice.field_names == ("项目名", "A约定开")
    assert choice.lossy_names == ("项目名",)
    assert choice.needs_recode and choice.read_encoding == "ISO-8859-1"
    with pytest.raises(UnicodeDecodeError):
        read_values(shp, "UTF-8")
    names, cols = read_values(shp, choice.read_encoding)
    assert [recode_latin1(n, choice.encoding) for n in names] == ["项目名", "A约定开"]
    assert recode_latin1(cols[0][0], choice.encoding) == PROJECT


def test_gbk_name_cut_in_half_drops_the_half(tmp_path: Path):
    shp = write_shp(tmp_path, "gbkcut", "GBK", keep_cpg=False, names=("A约定开工时间", "约定开工时间"))
    choice = detect_encoding(shp)
    # 'A' + 4½ characters: the half goes; 5 characters fill 10 bytes exactly.
    assert choice.field_names == ("A约定开工", "约定开工时")
    names, _ = read_values(shp, choice.read_encoding)
    assert names == list(choice.field_names)


@pytest.mark.parametrize(
    "raw, enc, expected",
    [
        ("约定开工时间".encode("gbk")[:10], "gb18030", "约定开工时"),
        ("A约定开工时间".encode("gbk")[:10], "gb18030", "A约定开工"),
        ("约定开工时间".encode()[:10], "utf-8", "约定开"),
        ("土地使用权人".encode()[:10], "utf-8", "土地使"),
        (b"PZWH\x00\x00\x00", "utf-8", "PZWH"),
    ],
)
def test_decode_field_name(raw: bytes, enc: str, expected: str):
    assert decode_field_name(raw, enc) == expected


def test_utf8_text_cut_at_field_width_still_counts_as_utf8(tmp_path: Path):
    """A writer that cut a UTF-8 value inside a character must not turn the file into GBK."""
    cut_value = "某某项目".encode()[:10]  # 3 characters and one stray byte
    dbf = write_dbf(
        tmp_path / "cutvalue.dbf",
        [(b"XMMC", "C", 10), (b"BZ", "C", 20)],
        [[cut_value, "备注".encode()], [b"abc", b""]],
    )
    choice = detect_encoding(dbf)
    assert choice.reason == "utf8-strict"


def test_gbk_bytes_in_the_last_record_of_a_long_file(tmp_path: Path, monkeypatch):
    """Records are streamed in chunks: GBK text far into the file is still found."""
    monkeypatch.setattr(encoding, "CHUNK_BYTES", 64)  # a few records per chunk
    rows = [[b"ascii only", b"%d" % i] for i in range(500)]
    rows.append(["土地使用权人".encode("gbk"), b"x"])
    dbf = write_dbf(tmp_path / "long.dbf", [(b"NAME", "C", 20), (b"NO", "C", 5)], rows)
    assert read_dbf_header(dbf).record_count == 501
    choice = detect_encoding(dbf)
    assert choice.reason == "gb18030-fallback"

    rows[-1] = ["土地使用权人".encode(), b"x"]
    dbf = write_dbf(tmp_path / "long8.dbf", [(b"NAME", "C", 20), (b"NO", "C", 5)], rows)
    assert detect_encoding(dbf).reason == "utf8-strict"


def test_gbk_field_names_alone_decide(tmp_path: Path):
    """ASCII data but GBK field names: still GBK."""
    dbf = write_dbf(tmp_path / "names.dbf", [("批准文号".encode("gbk"), "C", 20)], [[b"X"]])
    choice = detect_encoding(dbf)
    assert choice.reason == "gb18030-fallback"
    assert choice.field_names == ("批准文号",)


def test_numeric_fields_are_not_scanned(tmp_path: Path):
    """Bytes of non-character fields do not decide (a broken N field must not force GBK)."""
    dbf = write_dbf(tmp_path / "num.dbf", [(b"NAME", "C", 10), (b"MJ", "N", 4)],
                    [["用地".encode(), b"\xd6\xd0\xce\xc4"]])
    assert detect_encoding(dbf).reason == "utf8-strict"


def test_geopackage_is_utf8(tmp_path: Path):
    path = tmp_path / "x.gpkg"
    geoms = shapely.to_wkb(np.array([shapely.box(0, 0, 1, 1)]))
    pyogrio.raw.write(str(path), geoms, [np.array([PROJECT], dtype=object)], ["项目名称"],
                      geometry_type="Polygon", crs="EPSG:4547")
    choice = detect_encoding(path)
    assert choice.reason == "format"
    assert choice.encoding == "utf-8"
    assert choice.field_names == ("项目名称",)


def test_missing_dbf_is_a_clear_error(tmp_path: Path):
    shp = tmp_path / "lonely.shp"
    shp.write_bytes(b"\x00" * 100)
    with pytest.raises(LanddbError, match=r"\.dbf"):
        detect_encoding(shp)


def test_not_a_dbf(tmp_path: Path):
    bad = tmp_path / "bad.dbf"
    bad.write_bytes(b"short")
    with pytest.raises(LanddbError, match="不是有效的 DBF"):
        detect_encoding(bad)
