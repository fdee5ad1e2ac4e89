"""Every import kind and format: GeoJSON, GeoPackage, zip, CSV, 部标 in Xian 1980, ledgers."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pyogrio.raw
import pytest
import shapely
from pyproj import Transformer

from landdb import db
from landdb.ingest import run_import

from .filemaker import X0, Y0, prefixed, square, write_bubiao, write_shp, write_xlsx


@pytest.fixture
def target(dsn):
    return db.Target(dsn=dsn)


def q(conn, sql, args=()):
    with conn.cursor() as cur:
        cur.execute(sql, args)
        rows = cur.fetchall()
    conn.rollback()
    return rows


def test_geojson_in_lon_lat_lands_where_it_belongs(target, conn, tmp_path):
    to_ll = Transformer.from_crs(4547, 4490, always_xy=True)
    lon, lat = to_ll.transform(X0 + 50, Y0 + 40_050)
    d = 0.0005
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"图斑编号": "WP-0001", "监测批次": "2024年第1季度", "变化类型": "新增建设",
                                           "后时相": "2024-02-10", "判定结果": "疑似违法"},
         "geometry": {"type": "Polygon", "coordinates": [[[lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d],
                                                          [lon - d, lat + d], [lon - d, lat - d]]]}}]}
    path = tmp_path / "卫片.geojson"
    path.write_text(json.dumps(fc, ensure_ascii=False), encoding="utf-8")
    res = run_import(target, "rs_patch", [path])
    assert res.status == "loaded", res.rejects
    assert res.files[0].crs == "EPSG:4326" or res.files[0].crs == "EPSG:4490"
    (cx, cy, period, ctype, date), = q(
        conn, "SELECT ST_X(ST_Centroid(geom)), ST_Y(ST_Centroid(geom)), period, change_type, detected_date "
              "FROM landdb.rs_patch WHERE patch_no = 'WP-0001'")
    assert cx == pytest.approx(X0 + 50, abs=0.5) and cy == pytest.approx(Y0 + 40_050, abs=0.5)
    assert (period, ctype, str(date)) == ("2024年第1季度", "新增建设", "2024-02-10")


def test_geopackage_layers_and_zip_archives(target, conn, tmp_path):
    gpkg = tmp_path / "开发区.gpkg"
    for layer, code, x in (("zones_a", "KFQ-A", 0), ("zones_b", "KFQ-B", 3000)):
        g = square(x, 50_000, 1000)
        pyogrio.raw.write(gpkg, np.array([shapely.to_wkb(g)], dtype=object),
                          [np.array([code], dtype=object), np.array([f"{code}产业园"], dtype=object)],
                          ["开发区代码", "开发区名称"], layer=layer, driver="GPKG", geometry_type="Polygon",
                          crs="EPSG:4547", append=gpkg.exists())
    res = run_import(target, "zone", [gpkg])
    assert res.status == "loaded" and res.n_inserted == 2
    assert {f.file.rsplit(":", 1)[1] for f in res.files} == {"zones_a", "zones_b"}

    inner = tmp_path / "z"
    inner.mkdir()
    write_shp(inner / "乡镇.shp", [{"XZQDM": "411528100", "XZQMC": "城关镇"}], [prefixed(square(0, 60_000, 2000))])
    archive = tmp_path / "行政区.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for f in inner.iterdir():
            z.write(f, f"交来/{f.name}")
    res = run_import(target, "admin", [archive])
    assert res.status == "loaded", res.rejects
    assert res.files[0].file.startswith(str(archive) + "!")
    assert q(conn, "SELECT admin_name FROM landdb.admin_area WHERE admin_code = '411528100'") == [("城关镇",)]


def test_gbk_csv_ledger(target, conn, tmp_path):
    shp = write_shp(tmp_path / "s.shp", [{"DZJGH": "4115282020B77001", "XMMC": "CSV项目"}],
                    [prefixed(square(0, 70_000))])
    assert run_import(target, "supply", [shp]).status == "loaded"
    csv = tmp_path / "进度.csv"
    csv.write_bytes("电子监管号,巡查日期,实际开工时间,已开发面积（公顷）,停工日期\n"
                    "4115282020B77001,2024/6/30,2023年1月5日,0.2,2024.01.01\n".encode("gbk"))
    res = run_import(target, "use", [csv])
    assert res.status == "loaded", res.rejects
    assert q(conn, "SELECT observed_date::text, actual_start::text, developed_area::float, suspended_since::text "
                   "FROM landdb.development d JOIN landdb.supply s ON s.id = d.supply_id "
                   "WHERE s.dzjgh = '4115282020B77001'") == [("2024-06-30", "2023-01-05", 0.2, "2024-01-01")]


def _xian80_square(e: float, n: float, size: float = 200.0):
    return [(e, n), (e + size, n), (e + size, n + size), (e, n + size)]


def test_bubiao_xian80_uses_the_files_parameters_or_warns(target, conn, tmp_path):
    e, n = 565_000.0 - 500_000 + 500_000, Y0 + 80_000  # coordinates as the survey office gives them
    ring = _xian80_square(e, n)
    area = 200 * 200 / 10_000
    ballpark = write_bubiao(tmp_path / "西安80无参数.txt", [("1", "地块", area, [ring])])
    text = ballpark.read_bytes().decode("gbk").replace("2000国家大地坐标系", "80西安坐标系")
    ballpark.write_bytes(text.encode("gbk"))
    res = run_import(target, "approval", [ballpark], sets={"pzwh": "豫政土〔2015〕801号"})
    assert res.status == "loaded", res.rejects
    assert res.files[0].crs == "EPSG:2362", "Xian 1980 3° zone 38 with prefix"
    assert any("ballpark" in n.lower() or "近似" in n for n in res.files[0].notes + res.notes)

    params = tmp_path / "西安80七参数.txt"
    params.write_bytes(text.replace("转换参数=,,,,,,", "转换参数=15.8,-101.3,-55.2,0.5,-1.2,2.4,3.1").encode("gbk"))
    res2 = run_import(target, "approval", [params], sets={"pzwh": "豫政土〔2015〕802号"})
    assert any("七参数" in n for n in res2.files[0].notes)
    (shift,), = q(conn, "SELECT ST_Distance(ST_Centroid(a.geom), ST_Centroid(b.geom)) "
                        "FROM landdb.approval_batch a, landdb.approval_batch b "
                        "WHERE a.pzwh_key = '豫政土〔2015〕801' AND b.pzwh_key = '豫政土〔2015〕802'")
    assert 1.0 < shift < 500.0, "7 parameters move the parcel from the ballpark position by metres, not km"


def test_ledger_kinds_resolve_their_parents(target, conn, tmp_path):
    # a batch and two supplies, one of them known only by its contract number
    txt = write_bubiao(tmp_path / "b.txt", [("1", "一", 4.0, [[(X0, Y0 + 90_000), (X0 + 400, Y0 + 90_000),
                                                                 (X0 + 400, Y0 + 90_100), (X0, Y0 + 90_100)]])])
    assert run_import(target, "approval", [txt], sets={"批准文号": "豫政土〔2016〕9号", "批准日期": "2016-05-01"}
                      ).status == "loaded"
    shp = write_shp(tmp_path / "s.shp", [{"电子监管号": "4115282017B90001", "合同编号": "HT-2017-1"},
                                         {"电子监管号": None, "合同编号": "HT-2017-2"}],
                    [prefixed(square(0, 90_000)), prefixed(square(200, 90_000))])
    assert run_import(target, "supply", [shp]).status == "loaded"
    assert q(conn, "SELECT key_kind FROM landdb.supply WHERE contract_no = 'HT-2017-2'") == [("contract_no",)]

    links = write_xlsx(tmp_path / "关联.xlsx", ["电子监管号", "合同编号", "批准文号", "面积"],
                       [["4115282017B90001", None, "豫政土[2016]9号", 1.0],
                        [None, "HT-2017-2", "豫政土(2016)9号", 1.0]])
    assert run_import(target, "supply_link", [links]).n_inserted == 2
    agree = write_xlsx(tmp_path / "补充协议.xlsx", ["电子监管号", "签订日期", "约定开工时间"],
                       [["4115282017B90001", "2018-06-01", "2019-06-01"]])
    assert run_import(target, "agreement", [agree]).n_inserted == 1
    idle = write_xlsx(tmp_path / "认定.xlsx", ["案件编号", "合同编号", "闲置认定日期", "闲置原因"],
                      [["XZ-2020-1", "HT-2017-2", "2020-08-01", "企业原因"]])
    assert run_import(target, "idle_case", [idle]).n_inserted == 1
    plan = write_xlsx(tmp_path / "方案.xlsx", ["方案编号", "类别", "案件编号", "处置措施", "处置期限", "状态"],
                      [["FA-1", "闲置土地", "XZ-2020-1", "征缴土地闲置费", "2021-12-31", "处置中"]])
    res = run_import(target, "disposal", [plan])
    assert res.status == "loaded", res.rejects
    wd = write_xlsx(tmp_path / "撤回.xlsx", ["批准文号", "撤回文号", "撤回日期", "状态", "面积"],
                    [["豫政土〔2016〕9号", "豫政土撤〔2020〕1号", "2020-03-01", "已批复", 0.5],
                     ["豫政土〔2099〕1号", "豫政土撤〔2020〕2号", "2020-03-01", "申报", 0.5]])
    bad = run_import(target, "withdrawal", [wd])
    assert bad.status == "aborted"
    assert [(p.row, "豫政土〔2099〕1号" in p.reason) for p in bad.rejects] == [(3, True)]
    ok = run_import(target, "withdrawal", [wd], on_error="skip")
    assert ok.n_inserted == 1
    assert q(conn, "SELECT withdrawal_status, withdrawn_area::float FROM landdb.withdrawal WHERE doc_no = "
                   "'豫政土撤〔2020〕1号'") == [("批复", 0.5)]
    assert q(conn, "SELECT count(*) FROM landdb.supply_batch sb JOIN landdb.approval_batch b ON b.id = sb.batch_id "
                   "WHERE b.pzwh_key = '豫政土〔2016〕9'") == [(2,)]
    assert q(conn, "SELECT p.measure, i.case_no FROM landdb.disposal_plan p JOIN landdb.idle_case i "
                   "ON i.id = p.idle_case_id WHERE p.plan_no = 'FA-1'") == [("征缴土地闲置费", "XZ-2020-1")]
    # re-importing every ledger changes nothing
    for kind, f in (("supply_link", links), ("agreement", agree), ("idle_case", idle), ("disposal", plan)):
        assert run_import(target, kind, [f]).status == "unchanged", kind
