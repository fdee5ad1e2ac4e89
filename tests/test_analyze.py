"""Analysis runs: the Python API, stored runs, incremental re-analysis giving exactly the results of
a full one, and the time a synthetic county of ~5 000 batches / 30 000 supplies takes."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import date

import pytest

from landdb import analysis

from .test_overlay import X0, Y0, Land, approx, open_land, rect


@pytest.fixture
def land(connect) -> Iterator[Land]:
    yield from open_land(connect)


AS_OF = date(2024, 6, 30)


def synthetic_county(land: Land, n: int, x0: float = X0, y0: float = Y0, seed: float = 0.42) -> None:
    """n × n batches of 180 m on a 200 m grid, with parcels (collective south, state north),
    expropriations of most collective land, ~6 supplies per batch on a 60 m grid jittered by up to
    0.4 m (every 7th straddling 10 m into the road), links with an occasional wrong area, a few
    withdrawals (approved or applied for), progress records, satellite patches and townships."""
    q = land.sql
    q("SELECT setseed(%s)", (seed,))
    p = {"n": n, "x0": x0, "y0": y0}
    q("""INSERT INTO landdb.admin_area (admin_code, admin_name, level, geom)
         SELECT 'SYN' || t, '合成乡' || t, '乡镇',
                ST_Multi(ST_MakeEnvelope(%(x0)s + (t %% 2) * %(n)s * 100, %(y0)s + (t / 2) * %(n)s * 100,
                                         %(x0)s + (t %% 2 + 1) * %(n)s * 100, %(y0)s + (t / 2 + 1) * %(n)s * 100, 4547))
         FROM generate_series(0, 3) t""", p)
    q("""INSERT INTO landdb.dev_zone (zone_code, zone_name, planned_construction_m2, geom)
         VALUES ('SYNZ', '合成开发区', 5e6, ST_Multi(ST_MakeEnvelope(%(x0)s, %(y0)s, %(x0)s + %(n)s * 100,
                                                                  %(y0)s + %(n)s * 100, 4547)))""", p)
    q("""INSERT INTO landdb.approval_batch (pzwh, pzwh_key, approval_date, approved_area, geom)
         SELECT 'SYN〔' || i || '〕', 'SYN〔' || i || '〕', date '2008-01-01' + (random() * 5800)::int,
                round((3.24 * (0.995 + random() * 0.01))::numeric, 4),
                ST_Multi(ST_MakeEnvelope(%(x0)s + (i %% %(n)s) * 200, %(y0)s + (i / %(n)s) * 200,
                                         %(x0)s + 180 + (i %% %(n)s) * 200, %(y0)s + 180 + (i / %(n)s) * 200, 4547))
         FROM generate_series(0, %(n)s * %(n)s - 1) i""", p)
    q("""INSERT INTO landdb.approval_parcel (batch_id, parcel_no, land_ownership, geom)
         SELECT b.id, '1', '集体', ST_Multi(ST_MakeEnvelope(ST_XMin(b.geom), ST_YMin(b.geom), ST_XMax(b.geom),
                                                         ST_YMin(b.geom) + 120, 4547))
         FROM landdb.approval_batch b
         UNION ALL
         SELECT b.id, '2', '国有', ST_Multi(ST_MakeEnvelope(ST_XMin(b.geom), ST_YMin(b.geom) + 120, ST_XMax(b.geom),
                                                         ST_YMax(b.geom), 4547))
         FROM landdb.approval_batch b""")
    q("""INSERT INTO landdb.acquisition (acq_key, batch_id, acquisition_date, land_ownership, geom)
         SELECT 'SYNA' || b.id, b.id, b.approval_date + 300, '集体',
                ST_Multi(ST_MakeEnvelope(ST_XMin(b.geom) - 0.2, ST_YMin(b.geom) - 0.2, ST_XMax(b.geom) + 0.3,
                                         ST_YMin(b.geom) + 120.3, 4547))
         FROM landdb.approval_batch b WHERE random() < 0.8""")
    q("""INSERT INTO landdb.supply (supply_key, dzjgh, land_user, supply_method, land_source, area, price,
                                    contract_date, agreed_start, agreed_completion, reclaimed_date, geom)
         SELECT 'SYNS' || b.id || '-' || c, 'SYNS' || b.id || '-' || c, '用地单位' || (b.id %% 97),
                (ARRAY['挂牌出让', '划拨', '协议出让', '拍卖出让'])[1 + (c %% 4)], '新增', 0.36,
                CASE WHEN c %% 5 = 0 THEN NULL ELSE 100 + c * 10 END, cd, cd + 180, cd + 900,
                CASE WHEN random() < 0.03 THEN cd + 700 END,
                ST_Multi(ST_MakeEnvelope(
                  ST_XMin(b.geom) + (c %% 3) * 60 + (random() - 0.5) * 0.8,
                  ST_YMin(b.geom) + (c / 3) * 60 + (random() - 0.5) * 0.8,
                  ST_XMin(b.geom) + (c %% 3 + 1) * 60 + (random() - 0.5) * 0.8
                    + CASE WHEN c %% 7 = 2 THEN 10 ELSE 0 END,
                  ST_YMin(b.geom) + (c / 3 + 1) * 60 + (random() - 0.5) * 0.8, 4547))
         FROM landdb.approval_batch b
         CROSS JOIN LATERAL (SELECT c FROM generate_series(0, 8) c ORDER BY random() LIMIT 6) cc
         CROSS JOIN LATERAL (SELECT b.approval_date + (random() * 3000)::int AS cd) d
         ORDER BY b.id, c""")
    q("""INSERT INTO landdb.supply_batch (supply_id, batch_id, area)
         SELECT s.id, b.id, round((ST_Area(ST_Intersection(s.geom, b.geom)) / 10000
                                   * (CASE WHEN random() < 0.05 THEN 0.9 ELSE 1 END))::numeric, 4)
         FROM landdb.supply s JOIN landdb.approval_batch b ON b.geom && s.geom AND ST_Intersects(b.geom, s.geom)
         WHERE ST_Area(ST_Intersection(s.geom, b.geom)) > 1 ORDER BY s.id, b.id""")
    q("""INSERT INTO landdb.withdrawal (batch_id, doc_no, withdrawal_date, withdrawal_status, geom)
         SELECT b.id, 'SYNW' || b.id, date '2023-01-01', CASE WHEN b.id %% 2 = 0 THEN '批复' ELSE '申报' END,
                ST_Multi(ST_MakeEnvelope(ST_XMax(b.geom) - 30, ST_YMax(b.geom) - 30, ST_XMax(b.geom),
                                         ST_YMax(b.geom), 4547))
         FROM landdb.approval_batch b WHERE random() < 0.03""")
    q("""INSERT INTO landdb.development (supply_id, observed_date, actual_start, developed_area, invested,
                                         total_investment, suspended_since)
         SELECT s.id, s.contract_date + 400, CASE WHEN random() < 0.6 THEN s.contract_date + 200 END, 0.05, 10, 100,
                CASE WHEN random() < 0.3 THEN s.contract_date + 300 END
         FROM landdb.supply s WHERE random() < 0.4""")
    q("""INSERT INTO landdb.rs_patch (patch_no, period, change_type, detected_date, geom)
         SELECT 'SYNP' || i, '2023', '新增建设', date '2023-06-30',
                ST_Multi(ST_Buffer(ST_MakePoint(%(x0)s + random() * %(n)s * 200, %(y0)s + random() * %(n)s * 200),
                                   15 + random() * 20, 4))
         FROM generate_series(1, greatest(%(n)s * %(n)s / 10, 3)) i""", p)
    for t in ("approval_batch", "approval_parcel", "acquisition", "supply", "supply_batch", "withdrawal",
              "development", "rs_patch"):
        q(f"ANALYZE landdb.{t}")


# a flag's columns in a comparable form
FLAG_COLS = ("rule, subject, severity, round(area_m2::numeric, 6), message, details::text, township, "
             "encode(ST_AsBinary(geom), 'hex'), batch_ids::text, supply_ids::text")


def _results(land: Land, run: int) -> dict[str, list[tuple]]:
    """Everything a run stored, in a comparable form."""
    q = land.sql
    return {
        "batch": [tuple(r.values()) for r in q(
            "SELECT batch_id, pzwh, pzwh_key, approval_date, township, zone_code, round(approved_m2::numeric, 6), "
            "round(supplied_m2::numeric, 6), round(withdrawn_m2::numeric, 6), round(unsupplied_m2::numeric, 6), "
            "round(unacquired_m2::numeric, 6), round(acquired_unsupplied_m2::numeric, 6), "
            "round(supply_rate::numeric, 9), round(recorded_supplied_m2::numeric, 6), "
            "round(recorded_supply_rate::numeric, 9), round(nogeom_supplied_m2::numeric, 6), "
            "round(nogeom_withdrawn_m2::numeric, 6) FROM landdb.run_batch_rows(%s) WHERE true ORDER BY 1", (run,))],
        "piece": [tuple(r.values()) for r in q(
            "SELECT batch_id, piece_no, status, township, zone_code, encode(ST_AsBinary(geom), 'hex') "
            "FROM landdb.run_piece_rows(%s) WHERE true ORDER BY 1, 2", (run,))],
        "flag": [tuple(r.values()) for r in q(
            f"SELECT {FLAG_COLS} FROM landdb.run_flags(%s) WHERE true ORDER BY 1, 2", (run,))],
    }


def _assert_same(a: dict, b: dict) -> None:
    for k in a:
        only_a = sorted(set(a[k]) - set(b[k]), key=str)
        only_b = sorted(set(b[k]) - set(a[k]), key=str)
        assert not only_a and not only_b, (k, [x[:2] for x in only_a[:5]], [x[:2] for x in only_b[:5]])
        assert a[k] == b[k], k


def _counts(land: Land, run: int) -> tuple[dict, dict]:
    """(pieces and flags by rule as the run's summary gives them, as its stored rows count them)."""
    summary = land.sql("SELECT summary FROM landdb.analysis_run WHERE id = %s", (run,))[0]["summary"]
    held_flags = {r["rule"]: r["n"] for r in land.sql(
        "SELECT rule, count(*) AS n FROM landdb.run_flags(%s) WHERE true GROUP BY rule", (run,))}
    held_pieces = land.sql("SELECT count(*) AS n FROM landdb.run_piece_rows(%s) WHERE true", (run,))[0]["n"]
    return ({"pieces": summary["pieces"], "flags": summary["flags"]},
            {"pieces": held_pieces, "flags": held_flags})


def _mode(land: Land, run: int) -> dict:
    return land.sql("SELECT mode, n_recomputed, n_copied, parent_run_id FROM landdb.analysis_run WHERE id = %s",
                    (run,))[0]


# ======================================================================================= API
def test_analyze_returns_the_run(land: Land) -> None:
    b = land.batch("API", rect(0, 0, 100, 100), date(2019, 1, 1))
    land.link(land.supply("APIS", rect(0, 0, 40, 100), date(2020, 1, 1)), b, 0.3)
    res = analysis.analyze(land.conn, AS_OF, commit=False)
    assert set(res) >= {"run_id", "as_of", "mode", "seconds", "figures", "flag_counts"}
    assert res["mode"] == "full" and res["as_of"] == AS_OF and res["seconds"] >= 0
    f = res["figures"]
    assert f["batches"] == 1 and f["unsupplied_m2"] == approx(6000) and f["supply_rate"] == approx(0.4)
    assert f["recorded_supply_rate"] == approx(0.3)
    assert res["flag_counts"] == {"unsupplied_over_3y": 1, "supply_rate_mismatch": 1, "withdrawal_candidate": 1}
    run = land.sql("SELECT * FROM landdb.analysis_run WHERE id = %s", (res["run_id"],))[0]
    assert run["status"] == "done" and run["settings"]["snap_tolerance_m"] == 0.5
    assert run["rules_checksum"] and run["history_id"] is not None
    # the stored run is what get_or_run returns; flags come with GeoJSON
    assert analysis.get_or_run(land.conn, AS_OF, commit=False)["run_id"] == res["run_id"]
    fl = analysis.flags(land.conn, AS_OF, rule="unsupplied_over_3y", commit=False)
    assert len(fl) == 1 and fl[0]["geometry"]["type"] == "MultiPolygon"
    assert fl[0]["rule_label"] == "三年以上批而未供" and fl[0]["handling"] == "待核实"
    assert analysis.flags(land.conn, AS_OF, township="没有这个乡", commit=False) == []
    with pytest.raises(analysis.AnalysisError):
        analysis.flags(land.conn, AS_OF, rule="no_such_rule", commit=False)


def test_get_or_run_runs_once(land: Land) -> None:
    land.batch("ONCE", rect(0, 0, 100, 100), date(2019, 1, 1))
    first = analysis.get_or_run(land.conn, AS_OF, commit=False)
    again = analysis.get_or_run(land.conn, AS_OF, commit=False)
    assert first["run_id"] == again["run_id"]
    assert land.sql("SELECT count(*) AS n FROM landdb.analysis_run")[0]["n"] == 1


def test_deleting_a_run_deletes_its_results(land: Land) -> None:
    b = land.batch("GONE", rect(0, 0, 100, 100), date(2019, 1, 1))
    land.supply("GONES", rect(0, 0, 40, 100), date(2020, 1, 1))
    old = land.analyze(AS_OF)
    land.sql("UPDATE landdb.approval_batch SET batch_name = '改名' WHERE id = %s", (b,))
    kept = land.analyze(AS_OF, full=True)
    stored = ("SELECT (SELECT count(*) FROM landdb.analysis_batch WHERE run_id = %(r)s) AS b, "
              "(SELECT count(*) FROM landdb.analysis_piece WHERE run_id = %(r)s) AS p, "
              "(SELECT count(*) FROM landdb.flag WHERE run_id = %(r)s) AS f")
    held = ("SELECT (SELECT count(*) FROM landdb.run_batch_rows(%(r)s)) AS b, "
            "(SELECT count(*) FROM landdb.run_piece_rows(%(r)s)) AS p, "
            "(SELECT count(*) FROM landdb.run_flags(%(r)s)) AS f")
    assert all(v > 0 for v in land.sql(stored, {"r": old})[0].values())
    land.sql("DELETE FROM landdb.analysis_run WHERE id = %s", (old,))
    assert land.sql(stored, {"r": old})[0] == {"b": 0, "p": 0, "f": 0}
    assert all(v > 0 for v in land.sql(held, {"r": kept})[0].values()), "other runs keep theirs"


def test_deleting_runs_of_a_lineage_keeps_what_the_others_hold(land: Land) -> None:
    """A re-analysis shares its parent's unchanged rows: deleting the parent, or the child, or a
    run between, leaves every remaining run with exactly what it held."""
    synthetic_county(land, 4)
    ids = [r["id"] for r in land.sql("SELECT id FROM landdb.supply ORDER BY id")]
    runs = [land.analyze(AS_OF)]
    for sid in ids[:3]:
        land.sql("UPDATE landdb.supply SET geom = ST_Multi(ST_Buffer(geom, -2)) WHERE id = %s", (sid,))
        runs.append(land.analyze(AS_OF))
    assert [_mode(land, r)["mode"] for r in runs] == ["full", "incremental", "incremental", "incremental"]
    for r in runs:
        told, held = _counts(land, r)
        assert told == held, ("each re-analysis of a line counts what it holds", r)
    before = {r: _results(land, r) for r in runs}
    assert before[runs[0]] != before[runs[3]]
    shared = land.sql("SELECT count(*) AS n FROM landdb.run_flags(%s) WHERE run_id <> %s", (runs[3], runs[3]))
    assert shared[0]["n"] > 0, "the last run holds rows its ancestors computed"
    # a run in the middle, then the first (the lineage's full run), then the newest
    for gone in (runs[1], runs[0], runs[3]):
        land.sql("DELETE FROM landdb.analysis_run WHERE id = %s", (gone,))
        for r in runs:
            if land.sql("SELECT 1 FROM landdb.analysis_run WHERE id = %s", (r,)):
                _assert_same(before[r], _results(land, r))
    # the one left is the newest of its lineage again: a re-analysis extends it correctly
    land.sql("UPDATE landdb.supply SET geom = ST_Multi(ST_Buffer(geom, -2)) WHERE id = %s", (ids[3],))
    inc = land.analyze(AS_OF)
    assert _mode(land, inc)["mode"] == "incremental"
    _assert_same(_results(land, land.analyze(AS_OF, full=True)), _results(land, inc))


def test_flag_handling_survives_reanalysis(land: Land) -> None:
    land.batch("KEEP", rect(0, 0, 100, 100), date(2019, 1, 1))
    land.analyze(AS_OF)
    land.sql("INSERT INTO landdb.flag_status (rule, subject, status, note) "
             "VALUES ('unsupplied_over_3y', 'KEEP', '已核实', '已列入处置')")
    land.sql("UPDATE landdb.approval_batch SET batch_name = '改名' WHERE pzwh_key = 'KEEP'")
    land.analyze(AS_OF)
    v = land.sql("SELECT handling, handling_note FROM landdb.v_flag WHERE rule = 'unsupplied_over_3y'")
    assert v == [{"handling": "已核实", "handling_note": "已列入处置"}]


# ======================================================================================= incremental
@pytest.fixture
def small_county(land: Land) -> Land:
    synthetic_county(land, 8)
    return land


def test_no_change_copies_everything(small_county: Land) -> None:
    land = small_county
    r1 = land.analyze(AS_OF)
    r2 = land.analyze(AS_OF)
    m = _mode(land, r2)
    assert m["mode"] == "incremental" and m["n_recomputed"] == 0 and m["n_copied"] == 64
    assert m["parent_run_id"] == r1
    _assert_same(_results(land, r1), _results(land, r2))
    told, held = _counts(land, r2)
    assert told == held == _counts(land, r1)[0], "the headline counts are carried over"


def test_incremental_equals_full_after_every_kind_of_change(small_county: Land) -> None:
    land = small_county
    q = land.sql
    land.analyze(AS_OF)
    ids = [r["id"] for r in q("SELECT id FROM landdb.supply ORDER BY id")]
    bids = [r["id"] for r in q("SELECT id FROM landdb.approval_batch ORDER BY id")]
    # supplies: moved (the old geometry matters), deleted, inserted across two batches, dated after
    # as_of, reclaimed, attributes only, and one without geometry
    q("UPDATE landdb.supply SET geom = ST_Translate(geom, 35, 0) WHERE id = %s", (ids[0],))
    q("DELETE FROM landdb.supply WHERE id = %s", (ids[5],))
    land.supply("NEW-STRADDLE", rect(170, 20, 230, 60), date(2023, 1, 1), land_source="新增")
    q("UPDATE landdb.supply SET contract_date = '2025-01-01' WHERE id = %s", (ids[10],))
    q("UPDATE landdb.supply SET reclaimed_date = '2024-01-01' WHERE id = %s", (ids[15],))
    q("UPDATE landdb.supply SET land_user = '改名公司' WHERE id = %s", (ids[20],))
    q("UPDATE landdb.supply SET geom = NULL WHERE id = %s", (ids[25],))
    # withdrawals, links, expropriations, parcels, batches
    land.withdrawal(bids[3], "INC-W", date(2024, 1, 1), "批复", geom=rect(600, 0, 640, 40))
    q("UPDATE landdb.withdrawal SET withdrawal_status = '批复' WHERE withdrawal_status = '申报'")
    q("UPDATE landdb.supply_batch SET area = area * 0.5 WHERE id = (SELECT min(id) FROM landdb.supply_batch)")
    q("DELETE FROM landdb.supply_batch WHERE id = (SELECT max(id) FROM landdb.supply_batch)")
    q("DELETE FROM landdb.acquisition WHERE id = (SELECT min(id) FROM landdb.acquisition)")
    land.acquisition("INC-A", bids[9], date(2024, 1, 1), geom=rect(1000, 200, 1100, 320))
    q("UPDATE landdb.approval_parcel SET land_ownership = '国有' WHERE batch_id = %s AND parcel_no = '1'", (bids[12],))
    q("UPDATE landdb.approval_batch SET geom = ST_Multi(ST_Buffer(geom, -20, 'join=mitre')) WHERE id = %s",
      (bids[20],))
    q("UPDATE landdb.approval_batch SET approval_date = '2023-06-01' WHERE id = %s", (bids[21],))
    q("DELETE FROM landdb.approval_batch WHERE id = %s", (bids[30],))
    land.batch("INC-NEW", rect(-300, 0, -120, 180), date(2020, 1, 1))
    # progress, agreements, idle cases, patches
    land.development(ids[40], date(2024, 1, 1), actual_start=date(2023, 12, 1))
    land.agreement(ids[41], "INC-补", date(2023, 1, 1), start=date(2024, 6, 1))
    land.idle_case(ids[42], "INC-案", determined_date=date(2024, 1, 1), idle_cause="政府原因")
    land.rs_patch("INC-TB", rect(1210, 410, 1260, 460), detected=date(2024, 1, 1))
    q("DELETE FROM landdb.rs_patch WHERE id = (SELECT min(id) FROM landdb.rs_patch WHERE patch_no LIKE 'SYNP%%')")
    inc = land.analyze(AS_OF)
    full = land.analyze(AS_OF, full=True)
    m = _mode(land, inc)
    assert m["mode"] == "incremental"
    assert 0 < m["n_recomputed"] < 64 and m["n_copied"] > 0
    _assert_same(_results(land, full), _results(land, inc))
    told, held = _counts(land, inc)
    assert told == held == _counts(land, full)[0], "a re-analysis counts its pieces and flags as a full run does"


def test_a_full_run_stores_what_each_rule_gives(land: Land) -> None:
    """A full run of a county of 441 batches computes its rules by chunks of batches and supplies,
    and its solo rules side by side, in parallel scans; what it stores is, rule by rule, what the
    rule's own function gives in psql."""
    synthetic_county(land, 21)
    run = land.analyze(AS_OF, full=True)
    timings = land.sql("SELECT summary->'timings' AS t FROM landdb.analysis_run WHERE id = %s", (run,))[0]["t"]
    assert any(k.startswith("remnant_parcel+") for k in timings), "the solo rules did not run side by side"
    seen = 0
    for r in land.sql("SELECT rule FROM landdb.rule_catalog() ORDER BY sort"):
        stored = [tuple(x.values()) for x in land.sql(
            f"SELECT {FLAG_COLS} FROM landdb.run_flags(%s) WHERE rule = %s ORDER BY 2", (run, r["rule"]))]
        direct = [tuple(x.values()) for x in land.sql(
            f"SELECT {FLAG_COLS} FROM landdb.rule_{r['rule']}(%s, %s) ORDER BY 2", (AS_OF, run))]
        assert stored == direct, r["rule"]
        seen += len(stored)
    assert seen == land.sql("SELECT count(*) AS n FROM landdb.run_flags(%s)", (run,))[0]["n"] > 500


def test_a_patch_on_two_batches_keeps_its_flag_when_one_moves_away(land: Land) -> None:
    a = land.batch("TWO-A", rect(0, 0, 100, 100), date(2019, 1, 1))
    land.batch("TWO-B", rect(100, 0, 200, 100), date(2019, 1, 1))
    land.batch("FAR", rect(5000, 0, 5100, 100), date(2019, 1, 1))
    land.rs_patch("TWO-TB", rect(60, 20, 140, 80), detected=date(2024, 1, 1))
    land.analyze(AS_OF)
    land.sql("UPDATE landdb.approval_batch SET geom = ST_Translate(geom, 3000, 0) WHERE id = %s", (a,))
    inc = land.analyze(AS_OF)
    assert _mode(land, inc)["mode"] == "incremental"
    flags = land.sql("SELECT subject, area_m2, batch_ids FROM landdb.run_flags(%s) WHERE true "
                     "AND rule = 'used_before_supply'", (inc,))
    assert len(flags) == 1 and flags[0]["subject"] == "TWO-TB"
    assert flags[0]["area_m2"] == approx(40 * 60), "only the part on TWO-B is left"
    full = land.analyze(AS_OF, full=True)
    _assert_same(_results(land, full), _results(land, inc))


def test_changes_after_a_run_in_the_same_transaction_are_seen(small_county: Land) -> None:
    land = small_county
    land.analyze(AS_OF)
    land.sql("UPDATE landdb.supply SET reclaimed_date = '2020-01-01' "
             "WHERE id IN (SELECT id FROM landdb.supply ORDER BY id LIMIT 12)")
    inc = land.analyze(AS_OF)
    full = land.analyze(AS_OF, full=True)
    assert _mode(land, inc)["mode"] == "incremental"
    _assert_same(_results(land, full), _results(land, inc))


def test_settings_or_townships_changed_make_a_full_run(small_county: Land) -> None:
    land = small_county
    land.analyze(AS_OF)
    land.setting("remnant_max_mu", "5")
    assert _mode(land, land.analyze(AS_OF))["mode"] == "full"
    land.sql("UPDATE landdb.admin_area SET admin_name = '改名乡' WHERE admin_code = 'SYN0'")
    r = land.analyze(AS_OF)
    assert _mode(land, r)["mode"] == "full"
    assert land.sql("SELECT count(*) AS n FROM landdb.run_batch_rows(%s) WHERE true AND township = '改名乡'",
                    (r,))[0]["n"] > 0
    # another date has no previous run: full
    assert _mode(land, land.analyze(date(2023, 12, 31)))["mode"] == "full"


def test_a_bulk_load_into_an_empty_table_makes_a_full_run(small_county: Land) -> None:
    land = small_county
    patches = land.sql("SELECT patch_no, period, change_type, detected_date, geom FROM landdb.rs_patch")
    land.sql("DELETE FROM landdb.rs_patch")
    land.analyze(AS_OF)
    before = land.sql("SELECT max(id) AS m FROM landdb.history")[0]["m"]
    # what an initial import does: one history row for the whole load, not one per patch
    land.sql("SELECT landdb.bulk_index_off('rs_patch')")
    for p in patches:
        land.sql("INSERT INTO landdb.rs_patch (patch_no, period, change_type, detected_date, geom) "
                 "VALUES (%(patch_no)s, %(period)s, %(change_type)s, %(detected_date)s, %(geom)s)", p)
    land.sql("SELECT landdb.bulk_index_on('rs_patch')")
    assert land.sql("SELECT op, count(*) AS n FROM landdb.history WHERE table_name = 'rs_patch' AND id > %s "
                    "GROUP BY op", (before,)) == [{"op": "L", "n": 1}]
    r = land.analyze(AS_OF)
    assert _mode(land, r)["mode"] == "full", "the rows of a bulk load have no history rows of their own"
    assert land.sql("SELECT count(*) AS n FROM landdb.run_flags(%s) WHERE true AND rule = 'used_before_supply'",
                    (r,))[0]["n"] > 0


# ======================================================================================= timing
@pytest.mark.slow
def test_synthetic_county_timing(land: Land, capsys: pytest.CaptureFixture) -> None:
    """~5 000 batches / 30 000 supplies (LANDDB_BENCH_N × LANDDB_BENCH_N batches, default 71)."""
    n = int(os.environ.get("LANDDB_BENCH_N", "71"))
    t0 = time.perf_counter()
    synthetic_county(land, n)
    t_gen = time.perf_counter() - t0
    counts = land.sql("SELECT (SELECT count(*) FROM landdb.approval_batch) AS batches, "
                      "(SELECT count(*) FROM landdb.supply) AS supplies")[0]
    full = analysis.analyze(land.conn, AS_OF, commit=False)
    land.sql("UPDATE landdb.supply SET reclaimed_date = '2024-01-01' "
             "WHERE id IN (SELECT id FROM landdb.supply ORDER BY id LIMIT 20)")
    land.supply("BENCH-NEW", rect(170, 20, 230, 60), date(2023, 1, 1))
    inc = analysis.analyze(land.conn, AS_OF, commit=False)
    again = analysis.analyze(land.conn, AS_OF, full=True, commit=False)
    with capsys.disabled():
        print(f"\nsynthetic county {counts['batches']} batches / {counts['supplies']} supplies "
              f"(generated in {t_gen:.1f} s): full analyze {full['seconds']:.1f} s, "
              f"incremental after 21 changes {inc['seconds']:.1f} s "
              f"({inc['recomputed']} batches recomputed), full again {again['seconds']:.1f} s")
        slow = sorted(full["timings"].items(), key=lambda kv: -float(kv[1]))[:6]
        print("  slowest steps: " + ", ".join(f"{k} {float(v):.2f} s" for k, v in slow))
    assert inc["mode"] == "incremental" and inc["recomputed"] < counts["batches"] / 10
    _assert_same(_results(land, again["run_id"]), _results(land, inc["run_id"]))
    assert full["seconds"] < 10 * 60


def test_rules_can_be_recreated_over_themselves(connect) -> None:
    """Every upgrade re-runs sql/: the files must run again over the objects they created."""
    from landdb import migrate

    conn = connect()
    with conn.cursor() as cur:
        cur.execute("SET LOCAL ROLE landdb_admin")
        for p in sorted(migrate.SQL_DIR.glob("*.sql")):
            cur.execute(p.read_text(encoding="utf-8"))
    conn.rollback()


def test_an_editor_can_analyze_and_a_viewer_can_read(connect, conn) -> None:
    from landdb import migrate

    migrate.grant(conn, "t_analyst", "editor", create=True)
    migrate.grant(conn, "t_reader", "viewer", create=True)
    ed = connect("t_analyst")
    try:
        res = analysis.analyze(ed, date(2001, 1, 1), commit=False)
        assert res["mode"] == "full"
        with ed.cursor() as cur:
            cur.execute("SELECT db_user FROM landdb.analysis_run WHERE id = %s", (res["run_id"],))
            assert cur.fetchone()[0] == "t_analyst"
    finally:
        ed.rollback()
    rd = connect("t_reader")
    with rd.cursor() as cur:
        cur.execute("SELECT count(*) FROM landdb.v_flag")
        cur.execute("SELECT count(*) FROM landdb.batch_supply('2001-01-01')")
    rd.rollback()
