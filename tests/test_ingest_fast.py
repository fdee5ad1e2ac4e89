"""The fast paths of an import give what the plain paths give: the DBF read without GDAL, the EWKB
written with numpy, rows sent in binary COPY, a zone prefix removed as a shift, and an initial load
into an empty table with its indexes, unique constraints and foreign keys built afterwards."""

from __future__ import annotations

import datetime as dt
import json
import struct
from pathlib import Path

import numpy as np
import psycopg2
import psycopg2.errors
import pyarrow as pa
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import MultiPolygon, Polygon, box

from landdb import db, migrate
from landdb.ingest import pgcopy, run_import
from landdb.ingest.convert import Translation, as_translation, ewkb, transform
from landdb.ingest.sources import Dataset, read_vector, vector_info

from .conftest import new_database
from .filemaker import X0, Y0, prefixed, square, write_shp

# DBF cells (already padded to the field width) that GDAL reads in particular ways
FIELDS = [(b"TXT", "C", 8, 0), (b"NAME", "C", 6, 0), (b"INT", "N", 5, 0), (b"BIG", "N", 12, 0),
          (b"DBL", "N", 10, 3), (b"FLT", "F", 10, 2), (b"DAT", "D", 8, 0)]
PLAIN = [b"  ab c  ", "中文".encode("gbk") + b"  ", b"   12", b"123456789012", b"    1.500 ", b"      2.25",
         b"20190305"]
ODD = [  # each of these rows sends its block to GDAL
    [b"x       ", b"y     ", b" 1.5 ", b"  7.9       ", b" 12abc    ", b"-         ", b"20190230"],
    [b"ab\x00cd   ", "中文字".encode("gbk")[:5] + b" ", b"  +4 ", b"00000000001 ", b"  .5      ", b"  5.      ",
     b"2019030 "],
]
SQUARE = f"ST_Multi(ST_MakeEnvelope({X0}, {Y0}, {X0 + 100}, {Y0 + 100}, 4547))"
BLANKS = [b"        ", b"      ", b"     ", b"            ", b"          ", b"          ", b"        "]
STARS = [b"ab\x00cd   ", b"      ", b"*****", b"************", b"**********", b"**********", b"00000000"]


def _shapefile(path: Path, rows: list[list[bytes]], deleted: set[int] = frozenset()) -> Path:
    """A GBK shapefile whose .dbf holds exactly the given cells (written byte by byte)."""
    geoms = [prefixed(square(i * 150, 0)) for i in range(len(rows))]
    write_shp(path, [{"A": i} for i in range(len(rows))], geoms, encoding="GBK")
    hlen = 32 + 32 * len(FIELDS) + 1
    rlen = 1 + sum(f[2] for f in FIELDS)
    out = bytearray(struct.pack("<BBBBIHH20x", 3, 124, 1, 1, len(rows), hlen, rlen))
    for name, kind, size, dec in FIELDS:
        out += struct.pack("<11sc4xBB14x", name, kind.encode(), size, dec)
    out += b"\r"
    for i, r in enumerate(rows):
        assert [len(c) for c in r] == [f[2] for f in FIELDS]
        out += (b"*" if i in deleted else b" ") + b"".join(r)
    out += b"\x1a"
    path.with_suffix(".dbf").write_bytes(bytes(out))
    return path


def _read(path: Path, fast: bool, chunk: int) -> tuple[list[dict], list[bytes]]:
    ds = Dataset(str(path), path, "shp", members=[path])
    info = vector_info(ds, "GB18030")
    rows, geoms = [], []
    for c in read_vector(ds, "GB18030", None, chunk=chunk, info=info, codec="gb18030" if fast else None):
        for i in range(c.n):
            rows.append(c.record(i))
        geoms += [shapely.to_wkb(g) for g in c.geoms]
    return rows, geoms


def _fast_blocks(path: Path, chunk: int) -> int:
    ds = Dataset(str(path), path, "shp", members=[path])
    info = vector_info(ds, "GB18030")
    return sum(pa.types.is_dictionary(c.columns["TXT"].type)
               for c in read_vector(ds, "GB18030", None, chunk=chunk, info=info, codec="gb18030"))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_dbf_read_without_gdal_gives_gdals_values(tmp_path):
    rows = [PLAIN] * 9 + [ODD[0]] + [PLAIN] * 5 + [BLANKS, STARS] + [PLAIN] * 6 + [ODD[1]] + [PLAIN] * 7
    shp = _shapefile(tmp_path / "t.shp", rows)
    assert _read(shp, True, 4) == _read(shp, False, 4)
    assert 3 <= _fast_blocks(shp, 4) < len(rows) // 4, "clean blocks are read without GDAL, odd ones by GDAL"
    values = _read(shp, True, 4)[0]
    assert values[0] == {"TXT": "ab c", "NAME": "中文", "INT": 12, "BIG": 123456789012, "DBL": 1.5,
                         "FLT": 2.25, "DAT": dt.date(2019, 3, 5)}
    assert set(values[15].values()) == {None} and values[16]["TXT"] == "ab"


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_a_deleted_record_hands_the_rest_of_the_file_to_gdal(tmp_path):
    rows = [PLAIN] * 30
    rows[5] = [b"gone    ", *PLAIN[1:]]
    shp = _shapefile(tmp_path / "d.shp", rows, deleted={5, 21})
    fast, _geoms = _read(shp, True, 4)
    assert fast == _read(shp, False, 4)[0]
    assert len(fast) == 28 and all(r["TXT"] == "ab c" for r in fast)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_a_small_first_chunk_reads_every_record_once(tmp_path, monkeypatch):
    """The first chunk is small (loading starts sooner); the records after it are read once, with or
    without deleted records, by the fast reader and by GDAL."""
    from landdb.ingest import sources

    monkeypatch.setattr(sources, "FIRST_CHUNK", 3)
    clean = _shapefile(tmp_path / "c.shp", [PLAIN] * 30)
    holes = _shapefile(tmp_path / "h.shp", [PLAIN] * 30, deleted={1, 12})
    for shp, n, first in ((clean, 30, 3), (holes, 28, 4)):
        ds = Dataset(str(shp), shp, "shp", members=[shp])
        sizes = [c.n for c in read_vector(ds, "GB18030", None, chunk=4, info=vector_info(ds, "GB18030"),
                                          codec="gb18030")]
        fast, fast_geoms = _read(shp, True, 4)
        slow, slow_geoms = _read(shp, False, 4)
        assert fast == slow and fast_geoms == slow_geoms and len(fast) == sum(sizes) == n
        # a deleted record in the first block hands the file to GDAL, which reads it in whole chunks
        assert sizes[0] == first


def test_ewkb_is_what_geos_writes():
    ring = Polygon([(0, 0), (10, 0), (10, 10), (0, 10)], [[(2, 2), (4, 2), (4, 4), (2, 2)]])
    geoms = np.array([box(0, 0, 1, 1), None, MultiPolygon([box(0, 0, 1, 1), box(2, 2, 3, 3)]), ring], dtype=object)
    got = ewkb(geoms, 4547).to_pylist()
    want = [None if g is None else shapely.to_wkb(
        shapely.set_srid(shapely.multipolygons([g]) if g.geom_type == "Polygon" else g, 4547),
        include_srid=True) for g in geoms]
    assert got == want


def test_binary_copy_loads_what_a_text_copy_loads(conn):
    """Every type an import sends, NULLs among them, in binary COPY and in CSV: the same rows. The
    numbers include halves at the column's scale (1.23455 → 1.2346, as the decimal is rounded, not
    the float), more places than a float's 15, and values beyond 2^52."""
    n = 400
    nums = [0.1, -0.0, 1e-20, 123456789.12345, 2.0**53, 1e22, 0.12345678901234567, 1.23455, -1.23455, 2.675,
            99999.99995, 5e-5, 1 / 3, -2 / 3, 1e10 / 3, 7.0, 54.85, 0.2101]
    floats = np.array([nums[i % len(nums)] * (1 + i // len(nums)) for i in range(n)])
    floats[::11] = np.nan  # NULL
    ha = np.where(np.abs(floats) < 1e9, floats, 1.0)
    geoms = np.array([None if i % 6 == 0 else MultiPolygon([box(i, i, i + 1.5, i + 2)]) for i in range(n)])
    cols = {
        "r": ("integer", pa.array(np.arange(n))),
        "t": ("text", pa.array([None if i % 7 == 0 else f"文本{i},\"引号\"\n换行" for i in range(n)])),
        "j": ("jsonb", pa.array([None if i % 5 == 0 else json.dumps({"a": i, "乡镇": "城关镇"}, ensure_ascii=False)
                                 for i in range(n)])),
        "ha": ("numeric(14,4)", pa.array(ha, from_pandas=True)),
        "num": ("numeric", pa.array(floats, from_pandas=True)),
        "ratio": ("numeric(8,3)", pa.array(np.where(np.abs(floats) < 1e4, floats, 2.5), from_pandas=True)),
        "i4": ("integer", pa.array([None if i % 9 == 0 else i * 1000 for i in range(n)], pa.int64())),
        "i8": ("bigint", pa.array([None if i % 4 == 0 else i * 2**40 for i in range(n)], pa.int64())),
        "f": ("double precision", pa.array(floats, from_pandas=True)),
        "d": ("date", pa.array([None if i % 4 == 0 else dt.date(1950, 1, 1) + dt.timedelta(days=97 * i)
                                for i in range(n)], pa.date32())),
        "b": ("boolean", pa.array([None if i % 3 == 0 else bool(i % 2) for i in range(n)])),
        "empty": ("text", pa.nulls(n, pa.string())),
    }
    ddl = ", ".join(f"{c} {t}" for c, (t, _) in cols.items())
    with conn.cursor() as cur:
        cur.execute(f"CREATE TEMP TABLE by_text ({ddl}, g geometry(MultiPolygon, 4547))")
        cur.execute(f"CREATE TEMP TABLE by_binary ({ddl}, g geometry(MultiPolygon, 4547))")
        names = [*cols, "g"]
        hexed = pa.array([None if g is None else shapely.to_wkb(shapely.set_srid(g, 4547), hex=True, include_srid=True)
                          for g in geoms])
        text = pa.table([a for _, a in cols.values()] + [hexed], names=names)
        buf = pa.BufferOutputStream()
        import pyarrow.csv as pacsv

        pacsv.write_csv(text, buf, pacsv.WriteOptions(include_header=False))
        cur.execute("SET LOCAL client_min_messages = warning")
        cur.copy_expert("COPY by_text FROM STDIN (FORMAT csv)", pa.BufferReader(buf.getvalue()))
        binary = pa.table([a for _, a in cols.values()] + [ewkb(geoms, 4547)], names=names)
        body = b"".join(b.to_pybytes() for b in pgcopy.encode(binary, pgcopy.columns_of(cur, "by_binary", names)))
        cur.copy_expert("COPY by_binary FROM STDIN (FORMAT binary)", pa.BufferReader(body))
        cur.execute("SELECT count(*) FROM by_binary")
        assert cur.fetchone()[0] == n
        # row by row, compared as text (so a numeric's scale counts too)
        cur.execute("SELECT x::text, y::text FROM by_text x JOIN by_binary y USING (r) WHERE x::text <> y::text")
        assert cur.fetchall() == []
        cur.execute("SELECT ha::text, ratio::text FROM by_binary WHERE num = 1.23455")
        assert cur.fetchone() == ("1.2346", "1.235")
        cur.execute("SELECT count(*) FILTER (WHERE empty IS NULL), count(*) FILTER (WHERE g IS NULL) FROM by_binary")
        assert cur.fetchone() == (n, n // 6 + 1)


def test_a_zone_prefix_is_removed_as_a_shift():
    bounds = (X0 + 38e6, Y0, X0 + 38e6 + 20_000, Y0 + 20_000)
    proj = Transformer.from_crs(4526, 4547, always_xy=True)
    shift = as_translation(proj, bounds)
    assert isinstance(shift, Translation) and (shift.dx, shift.dy) == (-38e6, 0.0)
    assert as_translation(Transformer.from_crs(4490, 4547, always_xy=True), (114.0, 32.0, 114.2, 32.2)) is None
    assert as_translation(Transformer.from_crs(4527, 4547, always_xy=True), bounds) is None  # another zone
    geoms = np.array([prefixed(square(i * 300, i * 70)) for i in range(20)] + [None], dtype=object)
    a, b = transform(geoms, shift), transform(geoms, proj)
    assert np.abs(shapely.get_coordinates(a) - shapely.get_coordinates(b)).max() < 1e-6
    assert a[-1] is None


@pytest.fixture(scope="module")
def empty_db(cluster):
    """A database of its own whose supply table is empty."""
    name = "landdb_fast_test"
    conn = new_database(cluster, name)
    migrate.grant(conn, "t_fast_editor", "editor", create=True)
    conn.close()
    return cluster.conninfo(dbname=name)


def _definitions(cur, table: str) -> list[tuple]:
    cur.execute("SELECT 'i', indexname, indexdef FROM pg_indexes WHERE schemaname = 'landdb' AND tablename = %s "
                "UNION ALL SELECT 'c', conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = %s::regclass ORDER BY 1, 2", (table, f"landdb.{table}"))
    return cur.fetchall()


def test_initial_load_builds_every_index_and_constraint_again(empty_db, tmp_path):
    conn = psycopg2.connect(**empty_db)
    with conn.cursor() as cur:
        before = _definitions(cur, "supply")
    conn.rollback()
    rows = [{"电子监管号": f"4115282019B3{i:05d}", "项目名称": f"项目{i}", "供地方式": "挂牌出让", "GYMJ": 1.0}
            for i in range(40)]
    shp = write_shp(tmp_path / "供地.shp", rows, [prefixed(square(i * 150, 0)) for i in range(40)])
    target = db.Target(dsn=" ".join(f"{k}={v}" for k, v in empty_db.items()))
    res = run_import(target, "supply", [shp])
    assert res.status == "loaded" and res.n_inserted == 40
    assert any("首次导入" in n for n in res.notes)
    with conn.cursor() as cur:
        assert _definitions(cur, "supply") == before
        cur.execute("SELECT h.op, h.row_id, h.import_run_id, h.new_values FROM landdb.history h "
                    "WHERE h.table_name = 'supply'")
        (op, row_id, run, values), = cur.fetchall()
        cur.execute("SELECT min(id), max(id) FROM landdb.supply")
        lo, hi = cur.fetchone()
        assert (op, row_id, run) == ("L", None, res.run_id), "the load is one history row, with its run"
        assert values == {"rows": 40, "first_id": lo, "last_id": hi}
        cur.execute("SELECT tgenabled FROM pg_trigger WHERE tgrelid = 'landdb.supply'::regclass "
                    "AND tgname = 'history_i'")
        assert cur.fetchone() == ("O",), "per-row history is on again for later edits"
        cur.execute("SELECT landdb.row_as_of('supply', %s, now() - interval '1 hour'), "
                    "landdb.row_as_of('supply', %s, now() + interval '1 hour') ->> 'dzjgh'", (lo, hi))
        assert cur.fetchone() == (None, "4115282019B300039"), "before the load the rows did not exist"
        with pytest.raises(psycopg2.errors.UniqueViolation):
            cur.execute("INSERT INTO landdb.supply (supply_key, dzjgh) VALUES ('X1', '4115282019B300001')")
    conn.rollback()
    with conn.cursor() as cur, pytest.raises(psycopg2.errors.ForeignKeyViolation):
        cur.execute("INSERT INTO landdb.supply (supply_key, import_run_id) VALUES ('X2', -1)")
    conn.rollback()
    again = run_import(target, "supply", [shp])
    assert again.status == "unchanged" and again.n_unchanged == 40
    conn.close()


@pytest.mark.parametrize("bad", ["duplicate", "dangling"])
def test_bulk_index_on_still_refuses_what_the_constraints_refuse(empty_db, bad):
    conn = psycopg2.connect(**{**empty_db, "user": "t_fast_editor"})
    with conn.cursor() as cur:
        cur.execute("SELECT landdb.bulk_index_off('rs_patch')")
        assert cur.fetchone()[0] is True, "an editor may suspend an empty table's indexes"
        cur.execute("SELECT count(*) FROM pg_indexes WHERE schemaname = 'landdb' AND tablename = 'rs_patch'")
        assert cur.fetchone()[0] == 1, "only the primary key is left"
        run = "-1" if bad == "dangling" else "NULL"
        cur.execute(f"INSERT INTO landdb.rs_patch (patch_no, period, import_run_id, geom) "
                    f"VALUES ('TB1', '2024Q1', {run}, {SQUARE}), "
                    f"('TB{1 if bad == 'duplicate' else 2}', '2024Q1', NULL, {SQUARE})")
        err = psycopg2.errors.UniqueViolation if bad == "duplicate" else psycopg2.errors.ForeignKeyViolation
        with pytest.raises(err):
            cur.execute("SELECT landdb.bulk_index_on('rs_patch')")
    conn.rollback()
    with conn.cursor() as cur, pytest.raises(psycopg2.errors.RaiseException, match="not a landdb table"):
        cur.execute("SELECT landdb.bulk_index_off('history')")
    conn.rollback()
    with conn.cursor() as cur:
        cur.execute(f"INSERT INTO landdb.rs_patch (patch_no, period, geom) VALUES ('TB9', '2024Q1', {SQUARE})")
        cur.execute("SELECT landdb.bulk_index_off('rs_patch')")
        assert cur.fetchone()[0] is False, "not for a table that has rows"
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cur.execute("DROP INDEX landdb.rs_patch_geom_gist")
    conn.rollback()
    conn.close()


def test_a_bulk_load_cannot_commit_without_bulk_index_on(empty_db):
    conn = psycopg2.connect(**{**empty_db, "user": "t_fast_editor"})
    with conn.cursor() as cur:
        cur.execute("SELECT landdb.bulk_index_off('rs_patch')")
        cur.execute(f"INSERT INTO landdb.rs_patch (patch_no, period, geom) VALUES ('TB1', '2024Q1', {SQUARE})")
    with pytest.raises(psycopg2.errors.RaiseException, match="bulk load of rs_patch not finished"):
        conn.commit()
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_indexes WHERE schemaname = 'landdb' AND tablename = 'rs_patch'")
        assert cur.fetchone()[0] > 1, "the indexes are back: nothing was committed"
        cur.execute("SELECT tgenabled FROM pg_trigger WHERE tgrelid = 'landdb.rs_patch'::regclass "
                    "AND tgname = 'history_i'")
        assert cur.fetchone()[0] == "O", "the per-row history is on"
        cur.execute("SELECT count(*) FROM landdb.rs_patch")
        assert cur.fetchone()[0] == 0
        # done properly, in one transaction, it commits
        cur.execute("SELECT landdb.bulk_index_off('rs_patch')")
        cur.execute(f"INSERT INTO landdb.rs_patch (patch_no, period, geom) VALUES ('TB1', '2024Q1', {SQUARE})")
        cur.execute("SELECT landdb.bulk_index_on('rs_patch')")
    conn.commit()
    with conn.cursor() as cur:
        cur.execute("DELETE FROM landdb.rs_patch")
    conn.commit()
    conn.close()


def test_a_busy_import_run_table_keeps_the_foreign_key(empty_db):
    other = psycopg2.connect(**empty_db)
    conn = psycopg2.connect(**empty_db)
    with other.cursor() as cur:
        cur.execute("SELECT count(*) FROM landdb.import_run")  # holds a lock until rollback
    with conn.cursor() as cur:
        cur.execute("SELECT landdb.bulk_index_off('rs_patch')")
        assert cur.fetchone()[0] is True
        cur.execute("SELECT conname FROM pg_constraint WHERE conrelid = 'landdb.rs_patch'::regclass AND contype = 'f'")
        assert cur.fetchall() == [("rs_patch_import_run_id_fkey",)], "kept, not waited for"
        cur.execute("SHOW lock_timeout")
        assert cur.fetchone()[0] == "0"
        cur.execute("SELECT landdb.bulk_index_on('rs_patch')")
    conn.rollback()
    other.rollback()
    conn.close()
    other.close()


def test_a_large_import_rebuilds_the_spatial_index(empty_db):
    """After an import that wrote a tenth of a table's rows or more, its spatial index is built
    afresh (sorted: a box query reads a few pages, not the dozens of an index grown row by row);
    after a small one it is left alone. Editors may ask for it."""
    conn = psycopg2.connect(**{**empty_db, "user": "t_fast_editor"})
    with conn.cursor() as cur:
        cur.execute("INSERT INTO landdb.rs_patch (patch_no, period, geom) "
                    "SELECT 'P' || i, '2025', ST_Multi(ST_MakeEnvelope(38500000 + i * 10, 3560000, "
                    "38500000 + i * 10 + 8, 3560008, landdb.working_srid())) FROM generate_series(1, 2000) i")
        cur.execute("SELECT landdb.bulk_analyze('rs_patch')")

        def node() -> int:
            cur.execute("SELECT pg_relation_filenode('landdb.rs_patch_geom_gist')")
            return cur.fetchone()[0]

        first = node()
        cur.execute("SELECT landdb.bulk_reindex_geom('rs_patch', 100)")
        assert cur.fetchone()[0] is False and node() == first, "5 % of the rows: left alone"
        cur.execute("SELECT landdb.bulk_reindex_geom('rs_patch', 200)")
        assert cur.fetchone()[0] is True and node() != first, "10 %: rebuilt"
        cur.execute("SELECT count(*) FROM landdb.rs_patch "
                    "WHERE geom && ST_MakeEnvelope(38500000, 3560000, 38500100, 3560010, landdb.working_srid())")
        assert cur.fetchone()[0] == 10
        with pytest.raises(psycopg2.errors.RaiseException):
            cur.execute("SELECT landdb.bulk_reindex_geom('analysis_run', 1000)")
    conn.rollback()
    conn.close()
