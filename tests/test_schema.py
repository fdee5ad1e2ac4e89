"""The schema keeps its own promises: migrations, constraints, roles, history, comments."""

from __future__ import annotations

import shutil
import subprocess

import psycopg2
import psycopg2.errors
import pytest

from landdb import migrate
from landdb.errors import SchemaError
from landdb.fields import normalize_pzwh

SQUARE = "ST_Multi(ST_GeomFromText('POLYGON((500000 3570000,500100 3570000,500100 3570100,500000 3570100,500000 3570000))', 4547))"  # noqa: E501


def _dump_schema(cluster, dbname: str) -> str:
    ci = cluster.conninfo(dbname=dbname)
    out = subprocess.run(
        [str(cluster.bin / "pg_dump"), "--schema-only", "-h", ci["host"], "-p", str(ci["port"]),
         "-U", ci["user"], dbname],
        capture_output=True, text=True, check=True,
    )
    # \restrict / \unrestrict lines carry a random key per dump
    return "\n".join(x for x in out.stdout.splitlines() if not x.startswith(("\\restrict", "\\unrestrict")))


def test_upgrade_twice_changes_nothing(cluster, dbname, conn):
    before = _dump_schema(cluster, dbname)
    with conn.cursor() as cur:
        cur.execute("SELECT version, checksum, applied_at FROM landdb.schema_migration ORDER BY 1")
        applied_before = cur.fetchall()
    conn.rollback()
    report = migrate.upgrade(conn)
    assert not report.changed
    assert report.version == migrate.latest_version()
    assert _dump_schema(cluster, dbname) == before
    with conn.cursor() as cur:
        cur.execute("SELECT version, checksum, applied_at FROM landdb.schema_migration ORDER BY 1")
        assert cur.fetchall() == applied_before
        cur.execute("SELECT landdb.schema_version(), landdb.working_srid()")
        assert cur.fetchone() == (migrate.latest_version(), 4547)


def test_tampered_migration_is_refused(conn, tmp_path, monkeypatch):
    copy = tmp_path / "schema"
    shutil.copytree(migrate.SCHEMA_DIR, copy)
    first = sorted(copy.glob("*.sql"))[0]
    first.write_text(first.read_text(encoding="utf-8") + "\n-- edited\n", encoding="utf-8")
    monkeypatch.setattr(migrate, "SCHEMA_DIR", copy)
    with pytest.raises(SchemaError, match="已被修改"):
        migrate.upgrade(conn)
    with pytest.raises(SchemaError, match="已被修改"):
        migrate.require_current(conn)


def test_working_crs_is_fixed_at_creation(conn):
    with pytest.raises(SchemaError, match="EPSG:4547"):
        migrate.upgrade(conn, srid=4546)


def test_invalid_and_wrongly_typed_geometry_refused(connect):
    conn = connect(autocommit=True)
    cur = conn.cursor()
    bowtie = "ST_Multi(ST_GeomFromText('POLYGON((500000 3570000,500100 3570100,500100 3570000,500000 3570100,500000 3570000))', 4547))"  # noqa: E501
    with pytest.raises(psycopg2.errors.CheckViolation, match="approval_batch_geom_check"):
        cur.execute("INSERT INTO landdb.approval_batch (pzwh, pzwh_key, geom) "
                    f"VALUES ('豫政土〔2019〕9号', '豫政土〔2019〕9号', {bowtie})")
    with pytest.raises(psycopg2.errors.CheckViolation):
        cur.execute("INSERT INTO landdb.supply (supply_key, geom) VALUES "
                    "('E1', 'SRID=4547;MULTIPOLYGON EMPTY')")
    with pytest.raises(psycopg2.errors.InvalidParameterValue, match="MultiPolygon"):
        cur.execute("INSERT INTO landdb.supply (supply_key, geom) "
                    "VALUES ('P1', ST_SetSRID(ST_MakePoint(500000, 3570000), 4547))")
    with pytest.raises(psycopg2.errors.InvalidParameterValue, match="SRID"):
        cur.execute("INSERT INTO landdb.supply (supply_key, geom) VALUES "
                    "('S1', ST_Multi(ST_GeomFromText('POLYGON((114 32,114.1 32,114.1 32.1,114 32))', 4490)))")


def test_duplicate_business_keys_refused(connect):
    cur = connect(autocommit=True).cursor()
    cur.execute("INSERT INTO landdb.supply (supply_key, dzjgh) VALUES ('4115282019B00901', '4115282019B00901')")
    with pytest.raises(psycopg2.errors.UniqueViolation, match="supply_dzjgh_key"):
        cur.execute("INSERT INTO landdb.supply (supply_key, dzjgh) "
                    "VALUES ('合同-1', '4115282019B00901')")
    cur.execute("INSERT INTO landdb.approval_batch (pzwh, pzwh_key) "
                "VALUES ('豫政土〔2018〕5号', landdb.normalize_pzwh('豫政土〔2018〕5号'))")
    with pytest.raises(psycopg2.errors.UniqueViolation, match="pzwh_key"):
        cur.execute("INSERT INTO landdb.approval_batch (pzwh, pzwh_key) "
                    "VALUES ('豫政土[2018]5号', landdb.normalize_pzwh('豫政土[2018]5号'))")


def test_area_is_computed_from_geometry(connect):
    cur = connect(autocommit=True).cursor()
    cur.execute("INSERT INTO landdb.approval_batch (pzwh, pzwh_key, approved_area, geom) "
                f"VALUES ('豫政土〔2017〕3号', '豫政土〔2017〕3号', 1.0, {SQUARE}) RETURNING area_m2")
    assert cur.fetchone()[0] == pytest.approx(10000.0)
    cur.execute("SELECT landdb.m2_to_mu(10000), landdb.m2_to_ha(10000)")
    assert cur.fetchone() == (pytest.approx(15.0), pytest.approx(1.0))


def test_pzwh_normalisation_matches_bracket_styles(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT DISTINCT landdb.normalize_pzwh(x) FROM unnest(ARRAY["
                    "'豫政土〔2019〕123号','豫政土[2019]123号','豫政土（2019）123号',"
                    "'豫政土【2019】123号',' 豫政土 (2019) １２３号']) x")
        assert cur.fetchall() == [("豫政土〔2019〕123",)]
        cur.execute("SELECT landdb.normalize_pzwh(x) FROM unnest(%s) x",
                    (samples := ["豫政土（２０１９）第123号", "xj[2020] 7号", "国土资函〔2008〕1 号"],))
        assert [r[0] for r in cur.fetchall()] == [normalize_pzwh(x) for x in samples]


@pytest.fixture
def people(conn):
    """Three login roles, one per level."""
    for role, level in (("t_viewer", "viewer"), ("t_editor", "editor"), ("t_admin", "admin")):
        migrate.grant(conn, role, level, create=True)
    return {"viewer": "t_viewer", "editor": "t_editor", "admin": "t_admin"}


def test_viewer_reads_but_cannot_write(connect, people):
    cur = connect(people["viewer"], autocommit=True).cursor()
    cur.execute("SELECT count(*) FROM landdb.supply")
    cur.execute("SELECT count(*) FROM landdb.history")
    with pytest.raises(psycopg2.errors.InsufficientPrivilege):
        cur.execute("INSERT INTO landdb.supply (supply_key) VALUES ('V1')")
    with pytest.raises(psycopg2.errors.InsufficientPrivilege):
        cur.execute("UPDATE landdb.approval_batch SET batch_name = 'x'")


def test_editor_writes_data_but_not_schema_settings_or_history(connect, people):
    cur = connect(people["editor"], autocommit=True).cursor()
    cur.execute("INSERT INTO landdb.supply (supply_key, dzjgh, project_name) "
                "VALUES ('4115282020B00001', '4115282020B00001', '编辑测试项目') RETURNING id")
    cur.execute("UPDATE landdb.supply SET land_user = '某公司' WHERE supply_key = '4115282020B00001'")
    with pytest.raises(psycopg2.errors.InsufficientPrivilege, match="owner"):
        cur.execute("ALTER TABLE landdb.supply ADD COLUMN hacked int")
    with pytest.raises(psycopg2.errors.InsufficientPrivilege, match="owner"):
        cur.execute("DROP TRIGGER history_u ON landdb.supply")
    with pytest.raises(psycopg2.errors.InsufficientPrivilege):
        cur.execute("UPDATE landdb.setting SET value = '5' WHERE key = 'due_days'")
    with pytest.raises(psycopg2.errors.InsufficientPrivilege):
        cur.execute("DELETE FROM landdb.history")


def test_admin_changes_settings_and_schema(connect, people):
    conn = connect(people["admin"])
    with conn.cursor() as cur:
        cur.execute("UPDATE landdb.setting SET value = '60' WHERE key = 'due_days'")
        assert cur.rowcount == 1
        cur.execute("ALTER TABLE landdb.supply ADD COLUMN admin_may int")
    conn.rollback()


def test_plain_sql_edit_is_in_history_with_the_role(connect, people):
    conn = connect(people["editor"])
    with conn.cursor() as cur:
        cur.execute(f"INSERT INTO landdb.supply (supply_key, dzjgh, land_user, price, geom) VALUES "
                    f"('4115282021B00077', '4115282021B00077', '甲公司', 500, {SQUARE}) RETURNING id")
        sid = cur.fetchone()[0]
        cur.execute("UPDATE landdb.supply SET land_user = '乙公司', price = 520 WHERE id = %s",
                    (sid,))
        cur.execute("UPDATE landdb.supply SET land_user = '乙公司' WHERE id = %s", (sid,))
    conn.commit()
    with conn.cursor() as cur:
        cur.execute("DELETE FROM landdb.supply WHERE id = %s", (sid,))
    conn.commit()
    with connect(people["viewer"]).cursor() as cur:
        cur.execute("SELECT op, changed_by, old_values, new_values FROM landdb.history "
                    "WHERE table_name = 'supply' AND row_id = %s ORDER BY id", (sid,))
        rows = cur.fetchall()
    assert [r[0] for r in rows] == ["I", "U", "D"], "a no-op update must not be recorded"
    assert {r[1] for r in rows} == {"t_editor"}
    ins, upd, dele = rows
    assert ins[3] is None, "an insert's values are the row itself"
    assert upd[2] == {"land_user": "甲公司", "price": 500}
    assert upd[3] == {"land_user": "乙公司", "price": 520}
    assert dele[2]["land_user"] == "乙公司"
    with connect(people["viewer"]).cursor() as cur:
        cur.execute("SELECT ST_Area(ST_GeomFromEWKB(decode(%s, 'hex')))", (dele[2]["geom"],))
        assert cur.fetchone()[0] == pytest.approx(10_000.0), "a deleted row keeps its geometry"


def test_row_as_of_rebuilds_a_past_state(connect):
    conn = connect()
    with conn.cursor() as cur:
        cur.execute("INSERT INTO landdb.supply (supply_key, land_user) VALUES ('ASOF-1', '初始') "
                    "RETURNING id")
        sid = cur.fetchone()[0]
    conn.commit()
    with conn.cursor() as cur:
        cur.execute("SELECT clock_timestamp()")
        t1 = cur.fetchone()[0]
    conn.commit()
    with conn.cursor() as cur:
        cur.execute("UPDATE landdb.supply SET land_user = '变更后' WHERE id = %s", (sid,))
    conn.commit()
    with conn.cursor() as cur:
        cur.execute("SELECT landdb.row_as_of('supply', %s, %s) ->> 'land_user'", (sid, t1))
        assert cur.fetchone()[0] == "初始"
        cur.execute("SELECT landdb.row_as_of('supply', %s, '2000-01-01')", (sid,))
        assert cur.fetchone()[0] is None, "before its insert the row did not exist"
        cur.execute("SELECT landdb.row_as_of('supply', %s, now()) ->> 'land_user'", (sid,))
        assert cur.fetchone()[0] == "变更后"
    conn.rollback()


def test_bulk_insert_history_is_one_row_per_record(connect):
    conn = connect()
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM landdb.history WHERE table_name = 'rs_patch'")
        before = cur.fetchone()[0]
        cur.execute(f"INSERT INTO landdb.rs_patch (patch_no, period, geom) "
                    f"SELECT 'TB' || g, '2024Q1', ST_Translate({SQUARE}, g * 200, 0) "
                    f"FROM generate_series(1, 500) g")
        cur.execute("SELECT count(*) FROM landdb.history WHERE table_name = 'rs_patch'")
        assert cur.fetchone()[0] - before == 500
    conn.rollback()


def test_every_table_and_column_has_a_chinese_comment(conn):
    with conn.cursor() as cur:
        cur.execute("""
            SELECT c.relname, a.attname, col_description(c.oid, a.attnum), obj_description(c.oid)
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
            WHERE n.nspname = 'landdb' AND c.relkind IN ('r', 'v')
              AND c.relname <> 'schema_migration'""")
        rows = cur.fetchall()
    conn.rollback()
    assert len({r[0] for r in rows}) >= 25
    has_cjk = lambda s: s is not None and any("\u4e00" <= ch <= "\u9fff" for ch in s)  # noqa: E731
    missing_cols = [f"{t}.{c}" for t, c, d, _ in rows if not has_cjk(d)]
    missing_tables = sorted({t for t, _, _, d in rows if not has_cjk(d)})
    assert not missing_tables, missing_tables
    assert not missing_cols, missing_cols


def test_contract_tables_exist(conn):
    contract = {"admin_area", "dev_zone", "approval_batch", "acquisition", "supply",
                "supply_batch", "supplementary_agreement", "development", "withdrawal",
                "rs_patch", "idle_case", "disposal_plan", "disposal_action", "task_target",
                "import_run", "import_reject", "analysis_run", "flag", "history"}
    with conn.cursor() as cur:
        cur.execute("SELECT table_name FROM information_schema.tables WHERE table_schema='landdb'")
        have = {r[0] for r in cur.fetchall()}
        cur.execute("SELECT f_table_name, type, srid FROM geometry_columns "
                    "WHERE f_table_schema = 'landdb' AND f_table_name NOT LIKE 'v\\_%%' "
                    "AND f_table_name <> 'flag'")
        geoms = cur.fetchall()
        cur.execute("SELECT tablename FROM pg_indexes WHERE schemaname = 'landdb' "
                    "AND indexdef ILIKE '%%USING gist%%'")
        indexed = {r[0] for r in cur.fetchall()}
    conn.rollback()
    assert contract <= have
    assert {"v_batch_supply", "v_unsupplied"} <= have
    assert geoms and all(t == "MULTIPOLYGON" and s == 4547 for _, t, s in geoms)
    assert {t for t, _, _ in geoms} <= indexed, "every geometry column has a spatial index"
