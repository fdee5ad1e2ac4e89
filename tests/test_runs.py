"""Stored analysis runs: reopened by id, kept (留存), deleted and pruned, in the library and the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date

import pytest

from landdb import analysis

from .conftest import REPO, new_database
from .test_analyze import AS_OF, _assert_same, _counts, _results, synthetic_county
from .test_overlay import Land, open_land, rect

LATER = date(2025, 6, 30)


@pytest.fixture
def land(connect) -> Iterator[Land]:
    yield from open_land(connect)


def _shrink(land: Land, supply_id: int) -> None:
    land.sql("UPDATE landdb.supply SET geom = ST_Multi(ST_Buffer(geom, -2)) WHERE id = %s", (supply_id,))


def _run_ids(land: Land) -> list[int]:
    return [r["id"] for r in analysis.runs(land.conn)]


def test_prune_keeps_the_kept_runs_and_the_latest_of_each_date(land: Land) -> None:
    """Of three runs of a date (a full run and two re-analyses sharing its rows) and two of
    another, pruning deletes the superseded ones but for the kept one, and every remaining run
    holds exactly what it held before."""
    synthetic_county(land, 3)
    ids = [r["id"] for r in land.sql("SELECT id FROM landdb.supply ORDER BY id")]
    first = land.analyze(AS_OF)
    analysis.keep_run(land.conn, first, note="2024年第二季度通报", commit=False)
    _shrink(land, ids[0])
    middle = land.analyze(AS_OF)
    _shrink(land, ids[1])
    last = land.analyze(AS_OF)
    other_old = land.analyze(LATER)
    other = land.analyze(LATER, full=True)
    listed = {r["id"]: r for r in analysis.runs(land.conn)}
    assert list(listed) == [first, middle, last, other_old, other]
    assert [listed[r]["latest_of_date"] for r in listed] == [False, False, True, False, True]
    assert [listed[r]["shown"] for r in listed] == [False, False, False, False, True]
    assert listed[first]["kept"] and listed[first]["note"] == "2024年第二季度通报"
    assert listed[middle]["flags"] == sum(analysis.run_info(land.conn, middle)["flag_counts"].values())
    assert [r["id"] for r in analysis.runs(land.conn, LATER)] == [other_old, other]
    before = {r: _results(land, r) for r in (first, last, other)}

    dry = analysis.prune_runs(land.conn, dry_run=True, commit=False)
    assert [r["run_id"] for r in dry] == [middle, other_old]
    assert _run_ids(land) == [first, middle, last, other_old, other], "a dry run deletes nothing"

    gone = analysis.prune_runs(land.conn, commit=False)
    assert [r["run_id"] for r in gone] == [middle, other_old]
    assert _run_ids(land) == [first, last, other]
    for r, res in before.items():
        _assert_same(res, _results(land, r))
    assert analysis.prune_runs(land.conn, commit=False) == []

    # the kept run reopened by id: its flags, not the latest run's of its date
    kept_flags = analysis.flags(land.conn, None, commit=False, run_id=first)
    assert {f["run_id"] for f in kept_flags} == {first}
    assert len(kept_flags) == len(before[first]["flag"])
    assert analysis.flags(land.conn, AS_OF, commit=False)[0]["run_id"] == last
    by_twp = analysis.stats(land.conn, None, by="total", commit=False, run_id=first)
    assert by_twp[0]["unsupplied_m2"] == pytest.approx(analysis.run_info(land.conn, first)["figures"]["unsupplied_m2"])
    with pytest.raises(analysis.AnalysisError, match="基准日"):
        analysis.flags(land.conn, LATER, commit=False, run_id=first)

    # a re-analysis after pruning builds on the remaining latest run, as a full run would compute it
    _shrink(land, ids[2])
    again = land.analyze(AS_OF)
    assert analysis.run_info(land.conn, again)["mode"] == "incremental"
    assert analysis.run_info(land.conn, again)["parent_run_id"] == last
    full = land.analyze(AS_OF, full=True)
    _assert_same(_results(land, again), _results(land, full))
    told, held = _counts(land, again)
    assert told == held == _counts(land, full)[0]


def test_a_kept_run_is_refused_until_unkept(land: Land) -> None:
    land.batch("KEPT", rect(0, 0, 100, 100), date(2019, 1, 1))
    run = land.analyze(AS_OF)
    analysis.keep_run(land.conn, run, note="已据以通报", commit=False)
    with pytest.raises(analysis.AnalysisError, match="已标记留存（已据以通报）"):
        analysis.delete_runs(land.conn, [run], commit=False)
    assert _run_ids(land) == [run], "the refusal changed nothing and the transaction goes on"
    with pytest.raises(analysis.AnalysisError, match="没有分析运行 999999"):
        analysis.delete_runs(land.conn, [run, 999999], commit=False)
    with pytest.raises(analysis.AnalysisError, match="没有分析运行"):
        analysis.keep_run(land.conn, 999999, commit=False)
    r = analysis.keep_run(land.conn, run, kept=False, commit=False)
    assert not r["kept"] and r["note"] == "已据以通报", "the note stays"
    assert analysis.delete_runs(land.conn, [run], commit=False) == [run]
    assert _run_ids(land) == []
    assert land.sql("SELECT count(*) AS n FROM landdb.flag")[0]["n"] == 0


def test_a_viewer_lists_runs_but_an_editor_prunes(connect, conn) -> None:
    from landdb import migrate

    migrate.grant(conn, "t_run_editor", "editor", create=True)
    migrate.grant(conn, "t_run_viewer", "viewer", create=True)
    conn.commit()
    ed = connect("t_run_editor")
    rd = connect("t_run_viewer")
    try:
        first = analysis.analyze(ed, date(2001, 1, 1), commit=False)["run_id"]
        analysis.analyze(ed, date(2001, 1, 1), full=True, commit=False)
        ed.commit()
        assert first in [r["id"] for r in analysis.runs(rd)]
        with pytest.raises(analysis.AnalysisError, match="permission denied"):
            analysis.prune_runs(rd, commit=False)
        assert [r["run_id"] for r in analysis.prune_runs(ed, commit=False)] == [first]
    finally:
        ed.rollback()
        rd.rollback()
        with conn.cursor() as cur:
            cur.execute("DELETE FROM landdb.analysis_run WHERE as_of = '2001-01-01'")
        conn.commit()


# ======================================================================================= CLI
def _cli(dsn: str, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LANDDB_")}
    env["LANDDB_HOME"] = "/nonexistent/landdb-must-not-be-used"
    return subprocess.run([sys.executable, "-m", "landdb.cli", *args, "--dsn", dsn], capture_output=True,
                          text=True, env=env, cwd=REPO, timeout=300)


def test_runs_from_the_command_line(cluster) -> None:
    name = "landdb_runs_cli_test"
    conn = new_database(cluster, name)
    land = Land(conn)
    land.batch("CLI", rect(0, 0, 100, 100), date(2019, 1, 1))
    land.supply("CLIS", rect(0, 0, 40, 100), date(2020, 1, 1))
    conn.commit()
    ci = cluster.conninfo(dbname=name)
    dsn = f"host={ci['host']} port={ci['port']} dbname={name} user={ci['user']}"
    try:
        assert _cli(dsn, "runs").stdout.startswith("尚无分析运行")
        assert _cli(dsn, "analyze", "--as-of", "2024-06-30").returncode == 0
        land.sql("UPDATE landdb.supply SET geom = ST_Multi(ST_GeomFromText(%s, ST_SRID(geom)))",
                 (rect(0, 0, 60, 100).wkt,))
        conn.commit()
        assert _cli(dsn, "analyze", "--as-of", "2024-06-30").returncode == 0
        runs = json.loads(_cli(dsn, "runs", "list", "--format", "json").stdout)
        first, second = (r["id"] for r in runs)
        assert [r["latest_of_date"] for r in runs] == [False, True]
        table = _cli(dsn, "runs").stdout
        assert "latest_of_date" in table and str(first) in table

        # the earlier run reopened: its figures, not the latest run's
        old = json.loads(_cli(dsn, "stats", "--run", str(first), "--by", "batch", "--format", "json").stdout)
        new = json.loads(_cli(dsn, "stats", "--as-of", "2024-06-30", "--by", "batch", "--format", "json").stdout)
        assert old[0]["unsupplied_m2"] == pytest.approx(6000) and new[0]["unsupplied_m2"] == pytest.approx(4000)
        fl = json.loads(_cli(dsn, "flags", "--run", str(first), "--format", "json").stdout)
        assert fl and {f["run_id"] for f in fl} == {first}
        both = _cli(dsn, "flags", "--run", str(first), "--as-of", "2024-06-30")
        assert both.returncode == 2 and "not allowed with" in both.stderr

        r = _cli(dsn, "runs", "keep", str(first), "--note", "2024年第二季度通报")
        assert r.returncode == 0 and "已标记留存：2024年第二季度通报" in r.stdout
        assert json.loads(_cli(dsn, "runs", "prune", "--dry-run", "--format", "json").stdout) == []
        r = _cli(dsn, "runs", "delete", str(first))
        assert r.returncode != 0 and "已标记留存" in r.stderr and len(r.stderr.strip().splitlines()) == 1
        assert _cli(dsn, "runs", "unkeep", str(first)).returncode == 0
        r = _cli(dsn, "runs", "prune", "--dry-run")
        assert "将删除 1 次分析运行" in r.stdout
        r = _cli(dsn, "runs", "prune")
        assert r.returncode == 0 and "已删除 1 次分析运行" in r.stdout
        assert [x["id"] for x in json.loads(_cli(dsn, "runs", "list", "--format", "json").stdout)] == [second]
        r = _cli(dsn, "flags", "--run", str(first))
        assert r.returncode != 0 and f"没有分析运行 {first}" in r.stderr
        assert "没有可清理的运行" in _cli(dsn, "runs", "prune").stdout
    finally:
        conn.close()
