"""Loading the county's supply shapefile: landdb import vs ogr2ogr vs geopandas, same data, one run.

Each contender loads the same GBK shapefile (zone-prefixed coordinates, no .prj, no .cpg) into a
fresh PostGIS database, reprojected to the working CRS (EPSG:4547) as valid MultiPolygons with a
spatial index. landdb does all its checks on top (encoding and CRS inference, field mapping,
dates, keys, validity, history). Wall time and peak memory of the client process are measured;
the outputs are compared (row count, total area).

    python benchmarks/bench_ingest.py [--batches 200000] [--file SHP] [--skip-geopandas]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from common import REPO, VENV_BIN, cluster, ensure_county, fresh_database, machine, print_table, query, run_with_peak

GEOPANDAS = r"""
import sys, geopandas as gpd, sqlalchemy
path, url, src = sys.argv[1], sys.argv[2], int(sys.argv[3])
gdf = gpd.read_file(path, engine="pyogrio", encoding="GB18030")
gdf = gdf.set_crs(src, allow_override=True).to_crs(4547)
gdf.geometry = gdf.geometry.make_valid()
gdf = gdf.rename_geometry("geom")
engine = sqlalchemy.create_engine(url)
gdf.to_postgis("supply", engine, index=False, chunksize=50000)
with engine.begin() as c:
    c.execute(sqlalchemy.text("CREATE INDEX ON supply USING gist (geom)"))
"""


def find_supply_shp(folder: Path) -> Path:
    """The sample county's supply shapefile (the largest .shp whose name says 供地 or supply)."""
    cands = [p for p in folder.rglob("*.shp") if any(w in p.name.lower() for w in ("供地", "supply", "gd"))]
    if not cands:
        raise SystemExit(f"no supply shapefile under {folder}")
    return max(cands, key=lambda p: p.stat().st_size)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batches", type=int, default=200_000)
    ap.add_argument("--file", type=Path, help="a supply shapefile instead of the sample county's")
    ap.add_argument("--src-epsg", type=int, default=4526, help="the file's CRS, for ogr2ogr and geopandas")
    ap.add_argument("--skip-geopandas", action="store_true")
    args = ap.parse_args(argv)

    shp = args.file or find_supply_shp(ensure_county(args.batches))
    size = sum(p.stat().st_size for p in shp.parent.glob(shp.stem + ".*"))
    c = cluster()
    results = []

    dsn = fresh_database(c, "bench_landdb", landdb_schema=True)
    m = run_with_peak("landdb import", [str(VENV_BIN / "landdb"), "--dsn", dsn, "import", "supply", str(shp),
                                        "--format", "json"])
    if m.returncode:
        raise SystemExit(f"landdb import failed: {m.stderr}\n{m.stdout[-2000:]}")
    rep = json.loads(m.stdout)
    n, area = query(dsn, "SELECT count(*), sum(ST_Area(geom)) FROM landdb.supply")[0]
    results.append({"contender": m.name, "seconds": m.seconds, "peak_mib": m.peak_mib, "rows": n, "area_m2": area,
                    "rejected": rep["n_rejected"]})

    dsn = fresh_database(c, "bench_ogr", landdb_schema=False)
    m = run_with_peak("ogr2ogr", [
        "ogr2ogr", "-f", "PostgreSQL", f"PG:{dsn}", str(shp), "-nln", "supply", "-lco", "GEOMETRY_NAME=geom",
        "-lco", "SPATIAL_INDEX=GIST", "-s_srs", f"EPSG:{args.src_epsg}", "-t_srs", "EPSG:4547",
        "-nlt", "MULTIPOLYGON", "-makevalid", "--config", "SHAPE_ENCODING", "GB18030",
        "--config", "PG_USE_COPY", "YES"])
    if m.returncode:
        raise SystemExit(f"ogr2ogr failed: {m.stderr}")
    n, area = query(dsn, "SELECT count(*), sum(ST_Area(geom)) FROM supply")[0]
    results.append({"contender": m.name, "seconds": m.seconds, "peak_mib": m.peak_mib, "rows": n, "area_m2": area})

    if not args.skip_geopandas:
        dsn = fresh_database(c, "bench_gpd", landdb_schema=False)
        ci = dict(kv.split("=", 1) for kv in dsn.split())
        url = f"postgresql+psycopg2://{ci['user']}@/{ci['dbname']}?host={ci['host']}&port={ci['port']}"
        m = run_with_peak("geopandas", [sys.executable, "-c", GEOPANDAS, str(shp), url, str(args.src_epsg)])
        if m.returncode:
            raise SystemExit(f"geopandas failed: {m.stderr[-2000:]}")
        n, area = query(dsn, "SELECT count(*), sum(ST_Area(geom)) FROM supply")[0]
        results.append({"contender": m.name, "seconds": m.seconds, "peak_mib": m.peak_mib, "rows": n,
                        "area_m2": area})

    base = results[0]
    for r in results:
        r["ratio_vs_landdb"] = r["seconds"] / base["seconds"]
        r["area_diff"] = abs(r["area_m2"] - base["area_m2"]) / base["area_m2"]
    print(f"\n导入基准 (ingest benchmark): {shp} ({size / 2**20:.0f} MiB, {base['rows']:,} parcels)")
    print(f"machine: {machine()}")
    print_table([{**r, "seconds": round(r["seconds"], 1), "peak_mib": round(r["peak_mib"]),
                  "ratio_vs_landdb": round(r["ratio_vs_landdb"], 2), "area_diff": f"{r['area_diff']:.2e}"}
                 for r in results], ["contender", "seconds", "peak_mib", "rows", "ratio_vs_landdb", "area_diff"])
    ogr = next(r for r in results if r["contender"] == "ogr2ogr")
    print(f"landdb / ogr2ogr = {base['seconds'] / ogr['seconds']:.2f} (target <= 1.0)")
    gpd = next((r for r in results if r["contender"] == "geopandas"), None)
    if gpd:
        print(f"geopandas / landdb = {gpd['seconds'] / base['seconds']:.2f} (target >= 3)")
    out = {"file": str(shp), "bytes": size, "machine": machine(), "results": results}
    (REPO / "bench_data").mkdir(exist_ok=True)
    (REPO / "bench_data" / "ingest.json").write_text(json.dumps(out, indent=2, default=str))
    return out


if __name__ == "__main__":
    main()
