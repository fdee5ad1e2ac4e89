"""landdb import on files made like the ones offices send, and on broken ones."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import shapely
from shapely.geometry import Point, Polygon

from landdb import db
from landdb.ingest import run_import

from .conftest import REPO
from .filemaker import X0, Y0, prefixed, square, write_bubiao, write_shp, write_xlsx

DATA_TABLES = ["admin_area", "dev_zone", "approval_batch", "approval_parcel", "acquisition", "supply",
               "supply_batch", "supplementary_agreement", "development", "withdrawal", "rs_patch",
               "survey_patch", "idle_case", "disposal_plan", "history"]


@pytest.fixture
def target(dsn):
    return db.Target(dsn=dsn)


def snapshot(conn) -> dict:
    """A digest of every data table's full contents."""
    out = {}
    with conn.cursor() as cur:
        for t in DATA_TABLES:
            cur.execute(f"SELECT count(*), md5(coalesce(string_agg(x::text, '|' ORDER BY x.id), '')) "
                        f"FROM landdb.{t} x")
            out[t] = cur.fetchone()
    conn.rollback()
    return out


def supply_rows(prefix: str, n: int = 3) -> list[dict]:
    dates = ["2019-03-05", "2019/3/5", "2019.03.05", "2019年3月5日", "20190305"]
    return [{"电子监管号": f"{prefix}{i:05d}", "项目名称": f"示范项目{i}号厂房",
             "土地使用权": f"河南某某实业有限公司{i}",
             "供地方式": "挂牌出让", "土地用途": "工业用地", "成交价格": 350.5 + i, "约定开工时": dates[i % 5],
             "合同签订日": dates[(i + 1) % 5], "GYMJ": 1.0} for i in range(n)]


def test_gbk_shapefile_without_cpg_or_prj_loads_right(target, conn, tmp_path):
    rows = supply_rows("4115282019B1")
    geoms = [prefixed(square(i * 200, 0)) for i in range(3)]
    shp = write_shp(tmp_path / "供地.shp", rows, geoms, encoding="GBK", ldid=0x57)
    assert not shp.with_suffix(".cpg").exists() and not shp.with_suffix(".prj").exists()
    res = run_import(target, "supply", [shp])
    assert res.status == "loaded", res.rejects
    assert res.n_inserted == 3 and res.n_rejected == 0
    f = res.files[0]
    assert f.encoding == "gb18030" and f.crs == "EPSG:4526"
    with conn.cursor() as cur:
        cur.execute("SELECT project_name, land_user, agreed_start, contract_date, price, area, "
                    "ST_XMin(geom), ST_YMin(geom), area_m2, key_kind FROM landdb.supply "
                    "WHERE dzjgh = '4115282019B100001'")
        name, user, start, signed, price, area, x, y, a, kk = cur.fetchone()
    conn.rollback()
    assert name == "示范项目1号厂房" and user == "河南某某实业有限公司1"
    assert str(start) == "2019-03-05" and str(signed) == "2019-03-05"
    assert float(price) == pytest.approx(351.5)
    assert float(area) == pytest.approx(1.0)
    assert x == pytest.approx(X0 + 200, abs=1e-6) and y == pytest.approx(Y0, abs=1e-6)
    assert a == pytest.approx(10_000.0)
    assert kk == "dzjgh"


def test_utf8_with_cpg_gives_the_same_rows(target, conn, tmp_path):
    # UTF-8 cuts 土地使用权人 to 土地使, which could also be 土地使用年限: use 受让人 in both files
    rows = [{("受让人" if k == "土地使用权" else k): v for k, v in r.items()} for r in supply_rows("4115282019B2")]
    geoms = [prefixed(square(i * 200, 5000)) for i in range(3)]
    gbk = write_shp(tmp_path / "gbk.shp", rows, geoms, encoding="GBK", ldid=0x00)
    (tmp_path / "u").mkdir()
    utf = write_shp(tmp_path / "u" / "utf8.shp", rows, geoms, encoding="UTF-8", cpg=True)
    res = run_import(target, "supply", [gbk])
    assert res.status == "loaded"
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM landdb.history")
        hist = cur.fetchone()[0]
    conn.rollback()
    res2 = run_import(target, "supply", [utf])
    assert res2.files[0].encoding == "utf-8"
    assert res2.status == "unchanged" and res2.n_unchanged == 3, "UTF-8 copy = the same rows"
    assert snapshot(conn)["history"][0] == hist


def test_bubiao_two_parcels_one_with_hole(target, conn, tmp_path):
    outer = [(X0, Y0 + 9000), (X0 + 300, Y0 + 9000), (X0 + 300, Y0 + 9200), (X0, Y0 + 9200)]
    hole = [(X0 + 100, Y0 + 9050), (X0 + 150, Y0 + 9050), (X0 + 150, Y0 + 9100), (X0 + 100, Y0 + 9100)]
    second = [(X0 + 400, Y0 + 9000), (X0 + 500, Y0 + 9000), (X0 + 500, Y0 + 9150), (X0 + 400, Y0 + 9150)]
    a1 = (300 * 200 - 50 * 50) / 10_000
    a2 = 100 * 150 / 10_000
    txt = write_bubiao(tmp_path / "报批.txt", [("1", "地块一", a1, [outer, hole]), ("2", "地块二", a2, [second])])
    res = run_import(target, "approval", [txt], sets={"批准文号": "豫政土[2021]88号", "批准日期": "2021-06-30"})
    assert res.status == "loaded", res.rejects
    with conn.cursor() as cur:
        cur.execute("SELECT p.parcel_no, p.declared_area, p.area_m2, ST_NumInteriorRings(ST_GeometryN(p.geom, 1)) "
                    "FROM landdb.approval_parcel p JOIN landdb.approval_batch b ON b.id = p.batch_id "
                    "WHERE b.pzwh_key = '豫政土〔2021〕88' ORDER BY 1")
        parcels = cur.fetchall()
        cur.execute("SELECT pzwh, approval_date, area_m2 FROM landdb.approval_batch "
                    "WHERE pzwh_key = '豫政土〔2021〕88'")
        pzwh, date, batch_m2 = cur.fetchone()
    conn.rollback()
    assert [p[0] for p in parcels] == ["1", "2"]
    for _no, declared, m2, _holes in parcels:
        assert m2 == pytest.approx(float(declared) * 10_000, rel=1e-3)
    assert parcels[0][3] == 1, "圈号 2 inside 圈号 1 is a hole"
    assert pzwh == "豫政土[2021]88号", "the original spelling is kept"
    assert str(date) == "2021-06-30"
    assert batch_m2 == pytest.approx((a1 + a2) * 10_000, rel=1e-6)


def test_excel_ledger_joins_supply_parcels_by_dzjgh(target, conn, tmp_path):
    rows = supply_rows("4115282019B3", 2)
    shp = write_shp(tmp_path / "s.shp", rows, [prefixed(square(i * 200, 10_000)) for i in range(2)])
    assert run_import(target, "supply", [shp]).status == "loaded"
    xlsx = write_xlsx(tmp_path / "供地台账.xlsx",
                      ["电子监管号", "成交价款(万元)", "约定竣工时间", "抵押权人", "备注说明"],
                      [["4115282019B300000", 999.0, "2022年12月31日", "某银行", "台账补录"],
                       ["4115282019B300001", 888.0, 44926, None, None]],
                      title="某县国有建设用地供应台账")
    res = run_import(target, "supply", [xlsx])
    assert res.status == "loaded", res.rejects
    assert res.n_inserted == 0 and res.n_updated == 2
    with conn.cursor() as cur:
        cur.execute("SELECT dzjgh, price, agreed_completion, mortgagee, geom IS NOT NULL, project_name, "
                    "extra ->> '备注说明' FROM landdb.supply WHERE dzjgh LIKE '4115282019B3%' ORDER BY 1")
        got = cur.fetchall()
    conn.rollback()
    assert [float(r[1]) for r in got] == [999.0, 888.0]
    assert [str(r[2]) for r in got] == ["2022-12-31", "2022-12-31"], "Excel serial 44926 = 2022-12-31"
    assert got[0][3] == "某银行"
    assert all(r[4] for r in got), "a ledger without geometry keeps the parcel's geometry"
    assert got[0][5] == "示范项目0号厂房", "fields the ledger lacks are kept"
    assert got[0][6] == "台账补录", "unmapped fields are kept in extra"


def test_reimport_changes_nothing_and_a_change_is_in_history(target, conn, tmp_path):
    rows = supply_rows("4115282019B4")
    geoms = [prefixed(square(i * 200, 15_000)) for i in range(3)]
    folder = tmp_path / "交来数据"
    folder.mkdir()
    write_shp(folder / "供地.shp", rows, geoms)
    assert run_import(target, "supply", [folder]).n_inserted == 3
    before = snapshot(conn)
    again = run_import(target, "supply", [folder])
    assert again.status == "unchanged" and again.n_unchanged == 3
    assert snapshot(conn) == before
    rows[1]["土地使用权"] = "改名后的公司"
    write_shp(folder / "供地.shp", rows, geoms)
    changed = run_import(target, "supply", [folder])
    assert changed.n_updated == 1 and changed.n_unchanged == 2
    with conn.cursor() as cur:
        cur.execute("SELECT h.old_values ->> 'land_user', h.new_values ->> 'land_user', h.import_run_id "
                    "FROM landdb.history h JOIN landdb.supply s ON s.id = h.row_id "
                    "WHERE h.table_name = 'supply' AND h.op = 'U' AND s.dzjgh = '4115282019B400001'")
        assert cur.fetchall() == [("河南某某实业有限公司1", "改名后的公司", changed.run_id)]
        cur.execute("SELECT files -> 0 ->> 'sha256', n_updated, status FROM landdb.import_run WHERE id = %s",
                    (changed.run_id,))
        sha, n_upd, status = cur.fetchone()
    conn.rollback()
    assert len(sha) == 64 and n_upd == 1 and status == "loaded"


# ------------------------------------------------------------------------------ bad input
def bowtie() -> Polygon:
    return prefixed(Polygon([(X0, Y0), (X0 + 100, Y0 + 100), (X0 + 100, Y0), (X0, Y0 + 100)]))


@pytest.fixture
def bad_files(tmp_path):
    """Each broken input in a folder of its own, with the message it must get."""
    out = {}

    def mk(name: str) -> object:
        d = tmp_path / name
        d.mkdir()
        return d

    d = mk("truncated")
    shp = write_shp(d / "t.shp", supply_rows("4115282019B5", 3), [prefixed(square(i * 200, 20_000)) for i in range(3)])
    shp.write_bytes(shp.read_bytes()[:180])
    out["truncated"] = (d, "无法读取")
    d = mk("nodbf")
    shp = write_shp(d / "n.shp", supply_rows("4115282019B6", 1), [prefixed(square(0, 21_000))])
    shp.with_suffix(".dbf").unlink()
    out["nodbf"] = (d, ".dbf")
    d = mk("bowtie")
    write_shp(d / "b.shp", supply_rows("4115282019B7", 2), [prefixed(square(0, 22_000)), bowtie()])
    out["bowtie"] = (d, "蝴蝶结")
    d = mk("empty")
    write_shp(d / "e.shp", supply_rows("4115282019B8", 2), [prefixed(square(0, 23_000)), None])
    out["empty"] = (d, "几何")
    d = mk("baddate")
    rows = supply_rows("4115282019B9", 2)
    rows[1]["约定开工时"] = "2019-13-45"
    write_shp(d / "d.shp", rows, [prefixed(square(i * 200, 24_000)) for i in range(2)])
    out["baddate"] = (d, "2019-13-45")
    d = mk("dupkey")
    rows = supply_rows("4115282019BA", 3)
    rows[2]["电子监管号"] = rows[0]["电子监管号"]
    write_shp(d / "k.shp", rows, [prefixed(square(i * 200, 25_000)) for i in range(3)])
    out["dupkey"] = (d, "重复")
    d = mk("points")
    write_shp(d / "p.shp", supply_rows("4115282019BB", 2), [prefixed(Point(X0, Y0 + 26_000 + i)) for i in range(2)],
              geometry_type="Point")
    out["points"] = (d, "Point")
    d = mk("faraway")
    far = [shapely.box(-74.01 + i * 0.001, 40.70, -74.0095 + i * 0.001, 40.7005) for i in range(2)]
    write_shp(d / "w.shp", supply_rows("4115282019BC", 2), far, crs="EPSG:4490")
    out["faraway"] = (d, "超出")
    return out


@pytest.mark.parametrize("case", ["truncated", "nodbf", "bowtie", "empty", "baddate", "dupkey", "points",
                                  "faraway"])
def test_bad_input_gets_its_own_message_and_changes_nothing(case, bad_files, target, conn):
    folder, words = bad_files[case]
    before = snapshot(conn)
    try:
        res = run_import(target, "supply", [folder])
        status, rejects = res.status, res.rejects
        text = " ".join(f"{p.file} {p.row} {p.field} {p.reason}" for p in rejects)
    except Exception as e:  # a file that cannot be opened at all
        status, rejects, text = "failed", [], str(e)
    assert status in ("aborted", "failed")
    assert words in text, text
    assert snapshot(conn) == before, "abort leaves the data tables byte-for-byte unchanged"
    if status == "aborted":
        with conn.cursor() as cur:
            cur.execute("SELECT file, row_no, field, reason, \"values\" FROM landdb.import_reject "
                        "WHERE run_id = %s", (res.run_id,))
            stored = cur.fetchall()
        conn.rollback()
        assert stored and any(words in r[3] for r in stored), "rejects are stored with their reason"


def test_reject_messages_name_file_row_and_field(bad_files, target, conn):
    folder, _ = bad_files["baddate"]
    res = run_import(target, "supply", [folder])
    (p,) = res.rejects
    assert p.file.endswith("d.shp") and p.row == 2 and p.field == "约定开工时"
    assert p.values["电子监管号"] == "4115282019B900001", "the original values are kept"


def test_skip_loads_the_good_records(bad_files, target, conn):
    folder, _ = bad_files["bowtie"]
    res = run_import(target, "supply", [folder], on_error="skip")
    assert res.status == "loaded" and res.n_inserted == 1 and res.n_rejected == 1
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM landdb.supply WHERE dzjgh LIKE '4115282019B7%'")
        assert cur.fetchone()[0] == 1
    conn.rollback()


def test_dry_run_writes_nothing(target, conn, tmp_path):
    shp = write_shp(tmp_path / "dry.shp", supply_rows("4115282019BD"), [prefixed(square(i * 200, 27_000))
                                                                        for i in range(3)])
    before = snapshot(conn)
    res = run_import(target, "supply", [shp], dry_run=True)
    assert res.status == "dry_run" and res.n_inserted == 3
    assert snapshot(conn) == before


def test_cli_import_json_and_exit_codes(dsn, tmp_path, bad_files):
    shp = write_shp(tmp_path / "cli.shp", supply_rows("4115282019BE"), [prefixed(square(i * 200, 28_000))
                                                                        for i in range(3)])
    cmd = [sys.executable, "-m", "landdb.cli", "--dsn", dsn, "import"]
    r = subprocess.run([*cmd, "supply", str(shp), "--format", "json"], capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["status"] == "loaded" and out["n_inserted"] == 3
    r = subprocess.run([*cmd, "supply", str(bad_files["baddate"][0])], capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 2
    assert "第 2 行" in r.stdout and "2019-13-45" in r.stdout


def test_a_ledger_is_read_in_chunks_with_excel_row_numbers(target, conn, tmp_path, monkeypatch):
    from landdb.ingest import sources

    monkeypatch.setattr(sources, "CHUNK", 2)  # every chunk boundary is crossed
    rows = supply_rows("4115282019B7", 5)
    shp = write_shp(tmp_path / "s.shp", rows, [prefixed(square(i * 200, 30_000)) for i in range(5)])
    assert run_import(target, "supply", [shp]).status == "loaded"
    # a GBK CSV with a title row and a blank line: rows as Excel shows them are 3, 4, 6, 7, 8, 9
    lines = ["某县供地台账,,", "电子监管号,成交价款(万元),约定竣工时间",
             "4115282019B700000,101,2023-01-01", "4115282019B700001,102,2023-01-02", ",,",
             "4115282019B700002,103,2023-13-45", "4115282019B700003,104,2023-01-04",
             "4115282019B700004,105,2023-01-05", "4115282019B700001,106,2023-01-06"]
    csv = tmp_path / "台账.csv"
    csv.write_bytes("\r\n".join(lines).encode("gbk"))
    names, enc, chunks = sources.read_table(sources.Dataset(str(csv), csv, "csv"), {"电子监管号"})
    got = list(chunks)
    assert enc == "gb18030" and names == ["电子监管号", "成交价款(万元)", "约定竣工时间"]
    assert [c.n for c in got] == [2, 2, 2]
    assert [int(r) for c in got for r in c.rownos] == [3, 4, 6, 7, 8, 9]
    before = snapshot(conn)
    res = run_import(target, "supply", [csv])
    assert res.status == "aborted" and snapshot(conn) == before
    msgs = sorted(f"{r.row} {r.field} {r.reason}" for r in res.rejects)
    assert len(msgs) == 2
    assert msgs[0].startswith("6 ") and "2023-13-45" in msgs[0]
    assert msgs[1].startswith("9 ") and "第 4 行重复" in msgs[1], "a duplicate across chunks is found"
    res = run_import(target, "supply", [csv], on_error="skip")
    assert res.n_updated == 4 and res.n_rejected == 2
    with conn.cursor() as cur:
        cur.execute("SELECT dzjgh, price FROM landdb.supply WHERE dzjgh LIKE '4115282019B7%' ORDER BY 1")
        assert [float(p) for _k, p in cur.fetchall()] == [101, 102, 350.5 + 2, 104, 105]
    conn.rollback()


def test_location_has_its_own_column(target, conn, tmp_path):
    rows = [dict(r, 坐落=f"示范镇{i}号路北") for i, r in enumerate(supply_rows("4115282019B8", 2))]
    shp = write_shp(tmp_path / "s.shp", rows, [prefixed(square(i * 200, 40_000)) for i in range(2)])
    assert run_import(target, "supply", [shp]).status == "loaded"
    with conn.cursor() as cur:
        cur.execute("SELECT location, extra ? '坐落' FROM landdb.supply WHERE dzjgh LIKE '4115282019B8%' ORDER BY 1")
        assert cur.fetchall() == [("示范镇0号路北", False), ("示范镇1号路北", False)]
    conn.rollback()
