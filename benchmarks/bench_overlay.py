"""The batch-remainder overlay: landdb vs QGIS native:difference vs geopandas.overlay, same inputs.

The sample county (``--batches N``) is imported (batch parcels and supply parcels); every
contender computes batches minus the supplies and must give the same total area (0.01 %):

- landdb: ``landdb.unsupplied(as_of)`` in PostGIS (snapping and sliver filtering set to 1 mm,
  no withdrawals or reclaims, as_of far ahead, so that the three compute the same thing);
- QGIS: ``processing.run("native:difference", INPUT=batches, OVERLAY=supplies)`` on GeoPackages;
- geopandas: ``geopandas.overlay(batches, supplies, how="difference")`` on the same GeoPackages.

landdb runs twice, with its parallel workers and in one process; each contender's CPU time is
printed beside its wall time, so that one core each can be compared too (QGIS and geopandas use one).

Then the whole county is loaded as ``landdb demo`` loads it (every dataset: ledgers, links,
expropriations, progress records, patches …) into another database, and timed there: the whole
``landdb.analyze`` (all rules, stored run, the sample's as-of date), and a re-analysis of the same
date after 1 % of the supplies changed.

    python benchmarks/bench_overlay.py [--batches 20000] [--skip-geopandas] [--skip-qgis] [--skip-analyze]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

from common import (
    REPO,
    VENV_BIN,
    cluster,
    ensure_county,
    fresh_database,
    machine,
    machine_cpu_seconds,
    print_table,
    run_with_peak,
)

QGIS = r"""
import json, os, sys, time
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from qgis.core import QgsApplication
app = QgsApplication([], False); app.initQgis()
sys.path.append("/usr/share/qgis/python/plugins")
import processing
from processing.core.Processing import Processing
Processing.initialize()
batches, supplies = sys.argv[1], sys.argv[2]
t, cpu = time.perf_counter(), time.process_time()
res = processing.run("native:difference", {"INPUT": batches, "OVERLAY": supplies, "OUTPUT": "TEMPORARY_OUTPUT"})
seconds, cpu = time.perf_counter() - t, time.process_time() - cpu
layer = res["OUTPUT"]
area = sum(f.geometry().area() for f in layer.getFeatures())
print(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "area": area, "features": layer.featureCount()}))
"""

GEOPANDAS = r"""
import json, sys, time, geopandas as gpd
b = gpd.read_file(sys.argv[1], engine="pyogrio")
s = gpd.read_file(sys.argv[2], engine="pyogrio")
t, cpu = time.perf_counter(), time.process_time()
out = gpd.overlay(b, s, how="difference", keep_geom_type=True)
seconds, cpu = time.perf_counter() - t, time.process_time() - cpu
print(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "area": float(out.area.sum()), "features": len(out)}))
"""


def analyze_county(c, folder, batches: int) -> dict:
    """Load the whole county as the demo does, then time a full analyze and a re-analysis."""
    from landdb import db as landdb_db
    from landdb.demo import load_sample, sample_as_of

    dsn = fresh_database(c, f"bench_analyze_{batches}", landdb_schema=True)
    t = time.perf_counter()
    for rel, _kind, res in load_sample(landdb_db.resolve(dsn=dsn), folder):
        if res.status not in ("loaded", "unchanged"):
            raise SystemExit(f"import {rel} failed: {res.status}")
    load_s = time.perf_counter() - t
    as_of = sample_as_of(folder)
    import psycopg2

    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("ANALYZE")
        t = time.perf_counter()
        cur.execute("SELECT landdb.analyze(%s, true)", (as_of,))
        run = cur.fetchone()[0]
        full = time.perf_counter() - t
        cur.execute("SELECT summary->'timings' FROM landdb.analysis_run WHERE id = %s", (run,))
        timings = cur.fetchone()[0]
        cur.execute("UPDATE landdb.supply SET geom = ST_Multi(ST_Buffer(geom, -0.5)) "
                    "WHERE id IN (SELECT id FROM landdb.supply WHERE geom IS NOT NULL ORDER BY id "
                    "LIMIT (SELECT count(*) / 100 FROM landdb.supply))")
        t = time.perf_counter()
        cur.execute("SELECT landdb.analyze(%s, false)", (as_of,))
        incremental = time.perf_counter() - t
    conn.close()
    slowest = sorted(timings.items(), key=lambda kv: -kv[1])[:6]
    return {"load_s": load_s, "as_of": str(as_of), "analyze_full_s": full, "analyze_incremental_s": incremental,
            "full_s": full, "incremental_s": incremental, "timings": timings, "slowest": slowest}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batches", type=int, default=20_000)
    ap.add_argument("--skip-geopandas", action="store_true")
    ap.add_argument("--skip-qgis", action="store_true")
    ap.add_argument("--skip-analyze", action="store_true")
    args = ap.parse_args(argv)
    folder = ensure_county(args.batches)
    c = cluster()
    dsn = fresh_database(c, f"bench_overlay_{args.batches}", landdb_schema=True)
    landdb = [str(VENV_BIN / "landdb"), "--dsn", dsn, "import"]
    inputs = (("approval", "批次/批次地块.shp"), ("supply", "供地/供地宗地.shp"), ("supply", "供地/划拨宗地.shp"))
    for kind, rel in inputs:
        r = subprocess.run([*landdb, kind, str(folder / rel), "--format", "json"], capture_output=True, text=True)
        if r.returncode:
            raise SystemExit(f"import {rel} failed: {r.stdout[-2000:]} {r.stderr}")
    import psycopg2

    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    with conn.cursor() as cur:
        # 1 mm instead of the 0.5 m / 1 m defaults: the same thing native:difference computes
        cur.execute("UPDATE landdb.setting SET value = '0.001' WHERE key IN "
                    "('snap_tolerance_m', 'sliver_width_m', 'sliver_area_m2')")
        cur.execute("UPDATE landdb.supply SET reclaimed_date = NULL, reclaim_doc = NULL "
                    "WHERE reclaimed_date IS NOT NULL")
        cur.execute("ANALYZE")
        cur.execute("SELECT count(*) FROM landdb.approval_batch WHERE geom IS NOT NULL")
        n_batches = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM landdb.supply WHERE geom IS NOT NULL")
        n_supplies = cur.fetchone()[0]
    work = REPO / "bench_data" / f"overlay{args.batches}"
    work.mkdir(parents=True, exist_ok=True)
    bg, sg = work / "batches.gpkg", work / "supplies.gpkg"
    for path, sql in ((bg, "SELECT id, pzwh_key, geom FROM landdb.approval_batch WHERE geom IS NOT NULL"),
                      (sg, "SELECT id, supply_key, geom FROM landdb.supply WHERE geom IS NOT NULL")):
        path.unlink(missing_ok=True)
        subprocess.run(["ogr2ogr", "-f", "GPKG", str(path), f"PG:{dsn}", "-sql", sql, "-nln", path.stem],
                       check=True, capture_output=True)

    results = []
    with conn.cursor() as cur:
        # as landdb runs it (parallel workers, one per core), then in one process: the CPU time one
        # core needs, to set beside QGIS's and geopandas's (each runs in one thread)
        for label, workers in (("landdb.unsupplied (PostGIS)", None), ("landdb.unsupplied, one process", 0)):
            if workers is not None:
                cur.execute("SET max_parallel_workers_per_gather = %s", (workers,))
            t, cpu = time.perf_counter(), machine_cpu_seconds()
            cur.execute("SELECT count(*), sum(ST_Area(geom)) FROM landdb.unsupplied('2100-01-01')")
            n, area = cur.fetchone()
            results.append({"contender": label, "seconds": time.perf_counter() - t,
                            "cpu_seconds": machine_cpu_seconds() - cpu, "area_m2": area, "features": n})
        cur.execute("RESET max_parallel_workers_per_gather")
    if not args.skip_qgis:
        m = run_with_peak("qgis", [sys.executable, "-c", QGIS, str(bg), str(sg)])
        if m.returncode:
            raise SystemExit(f"QGIS failed: {m.stderr[-2000:]}")
        out = json.loads(m.stdout.strip().splitlines()[-1])
        results.append({"contender": "QGIS native:difference", "seconds": out["seconds"],
                        "cpu_seconds": out["cpu_seconds"], "area_m2": out["area"], "features": out["features"],
                        "peak_mib": m.peak_mib})
    if not args.skip_geopandas:
        m = run_with_peak("geopandas", [sys.executable, "-c", GEOPANDAS, str(bg), str(sg)])
        if m.returncode:
            raise SystemExit(f"geopandas failed: {m.stderr[-2000:]}")
        out = json.loads(m.stdout.strip().splitlines()[-1])
        results.append({"contender": "geopandas.overlay difference", "seconds": out["seconds"],
                        "cpu_seconds": out["cpu_seconds"], "area_m2": out["area"], "features": out["features"],
                        "peak_mib": m.peak_mib})

    conn.close()
    analysis = {} if args.skip_analyze else analyze_county(c, folder, args.batches)

    base = results[0]
    for r in results:
        r["ratio_vs_landdb"] = r["seconds"] / base["seconds"]
        r["area_diff"] = abs(r["area_m2"] - base["area_m2"]) / base["area_m2"]
    print(f"\n叠加基准 (overlay benchmark): {n_batches:,} batches, {n_supplies:,} supplies ({folder})")
    print(f"machine: {machine()}")
    print_table([{**r, "seconds": round(r["seconds"], 2), "cpu_seconds": round(r["cpu_seconds"], 2),
                  "ratio_vs_landdb": round(r["ratio_vs_landdb"], 2), "area_diff": f"{r['area_diff']:.2e}",
                  "peak_mib": round(r.get("peak_mib", 0))}
                 for r in results],
                ["contender", "seconds", "cpu_seconds", "peak_mib", "features", "ratio_vs_landdb", "area_diff"])
    q = next((r for r in results if r["contender"].startswith("QGIS")), None)
    if q:
        one = next(r for r in results if r["contender"] == "landdb.unsupplied, one process")
        print(f"landdb / native:difference = {base['seconds'] / q['seconds']:.2f} (target <= 0.25); "
              f"one core each: {one['seconds'] / q['cpu_seconds']:.2f} "
              f"(landdb in one process {one['seconds']:.1f} s, native:difference {q['cpu_seconds']:.1f} s of CPU)")
    if analysis:
        print(f"whole county loaded in {analysis['load_s']:.0f} s; analyze as of {analysis['as_of']} "
              f"(full, all rules, stored): {analysis['full_s']:.1f} s; same-date re-analysis after 1 % of "
              f"supplies changed: {analysis['incremental_s']:.1f} s = "
              f"{analysis['incremental_s'] / analysis['full_s']:.0%} of full (target < 10 %)")
        print("slowest steps of the full run: " + ", ".join(f"{k} {v:.1f} s" for k, v in analysis["slowest"]))
    out = {"batches": n_batches, "supplies": n_supplies, "machine": machine(), "results": results, **analysis}
    (REPO / "bench_data" / f"overlay{args.batches}.json").write_text(json.dumps(out, indent=2, default=str))
    return out


if __name__ == "__main__":
    main()
