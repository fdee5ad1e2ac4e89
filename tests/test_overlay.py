"""The 批而未供 overlay against answers worked out by hand and with shapely.

Also home of the helpers the other analysis tests import: ``land`` (a fixture: one connection,
inside a transaction that starts by emptying the data tables — so other tests' rows never get in
the way — and is rolled back at the end) and :class:`Land`, which writes records tersely.
Coordinates: working CRS EPSG:4547, around x = 565000, y = 3574000.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

import psycopg2.extras
import pytest
import shapely
from shapely.geometry import Polygon, box
from shapely.ops import unary_union

from landdb import analysis

SRID = 4547
X0, Y0 = 565000.0, 3574000.0
REL = 1e-4  # areas agree to 0.01 %

DATA_TABLES = (
    "admin_area", "dev_zone", "approval_batch", "approval_parcel", "acquisition", "supply", "supply_batch",
    "supplementary_agreement", "development", "withdrawal", "rs_patch", "survey_patch", "idle_case",
    "disposal_plan", "disposal_action", "task_target", "analysis_run", "flag_status",
)


def rect(x0: float, y0: float, x1: float, y1: float) -> Polygon:
    """A rectangle in metres from the test origin."""
    return box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def drop_slivers(g, width: float = 1.0, min_area: float = 1.0):
    """The polygons of g that are not slivers (shapely, for expected answers)."""
    keep = [p for p in shapely.get_parts(g)
            if p.geom_type == "Polygon" and p.area >= min_area and not p.buffer(-width / 2).is_empty]
    return unary_union(keep) if keep else Polygon()


def remainder(batch, cutters: Iterable, width: float = 1.0, min_area: float = 1.0):
    """batch − ∪cutters, slivers dropped."""
    cutters = list(cutters)
    d = batch.difference(unary_union(cutters)) if cutters else batch
    return drop_slivers(d, width, min_area)


class Land:
    """Writes test records through one cursor; geometries are shapely, in EPSG:4547."""

    def __init__(self, conn) -> None:
        self.conn = conn
        self.cur = conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor)

    # -- writing -------------------------------------------------------------------------
    def _insert(self, table: str, cols: dict[str, Any]) -> int:
        names, marks, vals = [], [], []
        for k, v in cols.items():
            names.append(k)
            if k == "geom":
                marks.append(f"ST_Multi(ST_GeomFromText(%s, {SRID}))")
                vals.append(None if v is None else v.wkt)
            else:
                marks.append("%s")
                vals.append(v)
        self.cur.execute(f"INSERT INTO landdb.{table} ({', '.join(names)}) VALUES ({', '.join(marks)}) RETURNING id",
                         vals)
        return self.cur.fetchone()["id"]

    def batch(self, key: str, geom, approval_date: date | None, parcels: Iterable[tuple] = (), **cols) -> int:
        bid = self._insert("approval_batch", {"pzwh": key, "pzwh_key": key, "approval_date": approval_date,
                                              "geom": geom, **cols})
        for i, (g, ownership) in enumerate(parcels, 1):
            self._insert("approval_parcel", {"batch_id": bid, "parcel_no": str(i), "geom": g,
                                             "land_ownership": ownership})
        return bid

    def supply(self, key: str, geom, contract_date: date | None = None, **cols) -> int:
        return self._insert("supply", {"supply_key": key, "dzjgh": key, "geom": geom,
                                       "contract_date": contract_date, **cols})

    def link(self, supply_id: int, batch_id: int, area_ha: float | None) -> int:
        return self._insert("supply_batch", {"supply_id": supply_id, "batch_id": batch_id, "area": area_ha})

    def withdrawal(self, batch_id: int, doc: str, when: date | None, status: str = "批复", geom=None,
                   area_ha: float | None = None) -> int:
        return self._insert("withdrawal", {"batch_id": batch_id, "doc_no": doc, "withdrawal_date": when,
                                           "withdrawal_status": status, "geom": geom, "withdrawn_area": area_ha})

    def acquisition(self, key: str, batch_id: int | None, when: date | None, geom=None,
                    area_ha: float | None = None) -> int:
        return self._insert("acquisition", {"acq_key": key, "batch_id": batch_id, "acquisition_date": when,
                                            "geom": geom, "acquired_area": area_ha, "land_ownership": "集体"})

    def agreement(self, supply_id: int, no: str, when: date, start: date | None = None,
                  completion: date | None = None) -> int:
        return self._insert("supplementary_agreement", {"supply_id": supply_id, "agreement_no": no,
                                                        "agreement_date": when, "agreed_start": start,
                                                        "agreed_completion": completion})

    def development(self, supply_id: int, observed: date, **cols) -> int:
        return self._insert("development", {"supply_id": supply_id, "observed_date": observed, **cols})

    def idle_case(self, supply_id: int, case_no: str, **cols) -> int:
        return self._insert("idle_case", {"supply_id": supply_id, "case_no": case_no, **cols})

    def plan(self, plan_no: str, category: str, **cols) -> int:
        return self._insert("disposal_plan", {"plan_no": plan_no, "category": category, **cols})

    def rs_patch(self, no: str, geom, change_type: str = "新增建设", detected: date | None = None,
                 period: str = "") -> int:
        return self._insert("rs_patch", {"patch_no": no, "geom": geom, "change_type": change_type,
                                         "detected_date": detected, "period": period})

    def survey_patch(self, year: int, no: str, dlbm: str, geom) -> int:
        return self._insert("survey_patch", {"survey_year": year, "patch_no": no, "dlbm": dlbm, "geom": geom})

    def admin(self, code: str, name: str, geom, level: str = "乡镇") -> int:
        return self._insert("admin_area", {"admin_code": code, "admin_name": name, "geom": geom, "level": level})

    def zone(self, code: str, name: str, geom, planned_m2: float | None = None) -> int:
        return self._insert("dev_zone", {"zone_code": code, "zone_name": name, "geom": geom,
                                         "planned_construction_m2": planned_m2})

    def setting(self, key: str, value: str) -> None:
        self.cur.execute("UPDATE landdb.setting SET value = %s::jsonb WHERE key = %s", (value, key))
        assert self.cur.rowcount == 1, key

    def sql(self, query: str, args: tuple = ()) -> list[dict]:
        self.cur.execute(query, args)
        return [dict(r) for r in self.cur.fetchall()] if self.cur.description else []

    # -- analysing and reading -----------------------------------------------------------
    def analyze(self, as_of: date, full: bool = False) -> int:
        return analysis.analyze(self.conn, as_of, full=full, commit=False)["run_id"]

    def batch_row(self, run: int, key: str) -> dict:
        rows = self.sql("SELECT * FROM landdb.run_batch_rows(%s) WHERE true AND pzwh_key = %s", (run, key))
        assert len(rows) == 1, key
        return rows[0]

    def pieces(self, run: int, key: str) -> list[dict]:
        return self.sql("SELECT p.piece_no, p.status, p.area_m2, p.township, p.zone_code, ST_AsText(p.geom) AS wkt "
                        "FROM landdb.run_piece_rows(%s) p JOIN landdb.approval_batch b ON b.id = p.batch_id "
                        "WHERE b.pzwh_key = %s ORDER BY p.piece_no", (run, key))

    def flags(self, run: int, rule: str | None = None, subject: str | None = None) -> list[dict]:
        return self.sql("SELECT rule, subject, severity, area_m2, message, details, township, "
                        "ST_AsText(geom) AS wkt, batch_ids, supply_ids FROM landdb.run_flags(%s) "
                        "WHERE true AND (%s::text IS NULL OR rule = %s) "
                        "AND (%s::text IS NULL OR subject = %s) ORDER BY rule, subject",
                        (run, rule, rule, subject, subject))

    def subjects(self, run: int, rule: str) -> set[str]:
        return {f["subject"] for f in self.flags(run, rule)}

    def rule(self, rule: str, as_of: date) -> list[dict]:
        """A rule function called on its own (computing the overlay now)."""
        return self.sql(f"SELECT * FROM landdb.rule_{rule}(%s)", (as_of,))


def open_land(connect) -> Iterator[Land]:
    """A :class:`Land` on a new connection whose transaction starts by emptying the data tables and
    is rolled back afterwards (for a fixture: ``yield from open_land(connect)``)."""
    conn = connect()
    with conn.cursor() as cur:
        cur.execute("TRUNCATE " + ", ".join(f"landdb.{t}" for t in DATA_TABLES) + " CASCADE")
    try:
        yield Land(conn)
    finally:
        conn.rollback()


@pytest.fixture
def land(connect) -> Iterator[Land]:
    yield from open_land(connect)


def shape(wkt: str):
    return shapely.from_wkt(wkt)


def approx(x: float):
    return pytest.approx(x, rel=REL, abs=1e-6)


# ======================================================================================= tests
AS_OF = date(2024, 6, 30)


@pytest.fixture
def county(land: Land) -> dict:
    """Two adjacent batches with every kind of record that changes the figures.

    B1 = [0,200]×[0,100]: collective [0,200]×[0,60] (expropriated for x ≤ 100), state above.
    B2 = [200,300]×[0,100]: all collective, none expropriated.
    """
    g = {
        "B1": rect(0, 0, 200, 100), "B2": rect(200, 0, 300, 100),
        "S1": rect(0, 0, 50, 100),                 # partial supply
        "S2": rect(40, 0, 90, 50),                 # overlaps S1
        "S3": rect(180, 0, 220, 40),               # straddles B1 and B2
        "S4": rect(100, 0, 130, 100),              # contracted after the as-of date
        "S5": rect(130, 60, 160, 100),             # reclaimed in 2023
        "S6": rect(50.3, 50, 100, 100.3),          # 0.3 m off S1 and 0.3 m beyond the batch
        "W1": rect(160, 60, 200, 100),             # withdrawal 批复
        "W2": rect(130, 0, 160, 60),               # withdrawal only applied for (申报)
        "A1": rect(0, 0, 100, 60),                 # expropriation of B1's western collective land
    }
    ids = {
        "B1": land.batch("B1", g["B1"], date(2018, 5, 1), approved_area=2.0,
                         parcels=[(rect(0, 0, 200, 60), "集体"), (rect(0, 60, 200, 100), "国有")]),
        "B2": land.batch("B2", g["B2"], date(2019, 3, 1), approved_area=1.0,
                         parcels=[(g["B2"], "集体")]),
    }
    ids["S1"] = land.supply("S1", g["S1"], date(2020, 1, 1))
    ids["S2"] = land.supply("S2", g["S2"], date(2021, 1, 1))
    ids["S3"] = land.supply("S3", g["S3"], date(2021, 6, 1))
    ids["S4"] = land.supply("S4", g["S4"], date(2025, 1, 1))
    ids["S5"] = land.supply("S5", g["S5"], date(2019, 1, 1), reclaimed_date=date(2023, 1, 1))
    ids["S6"] = land.supply("S6", g["S6"], date(2020, 5, 1))
    ids["SNG"] = land.supply("SNG", None, date(2022, 1, 1), area=0.05)   # no geometry
    land.link(ids["S1"], ids["B1"], 0.5)
    land.link(ids["S2"], ids["B1"], 0.25)
    land.link(ids["S3"], ids["B1"], 0.08)
    land.link(ids["S3"], ids["B2"], 0.08)
    land.link(ids["SNG"], ids["B2"], 0.05)
    land.withdrawal(ids["B1"], "W1", date(2023, 1, 1), "批复", geom=g["W1"])
    land.withdrawal(ids["B1"], "W2", date(2023, 1, 1), "申报", geom=g["W2"])
    land.withdrawal(ids["B2"], "W3", date(2023, 1, 1), "批复", area_ha=0.01)   # no geometry: figures only
    land.acquisition("A1", ids["B1"], date(2019, 6, 1), geom=g["A1"])
    return {"geoms": g, "ids": ids}


def test_remainder_figures_by_hand(land: Land, county: dict) -> None:
    run = land.analyze(AS_OF, full=True)
    b1 = land.batch_row(run, "B1")
    # supplied: S1 5000 + S2 beyond S1 2000 + S6 with its 0.3 m gap 2500 + S3 in B1 800
    assert b1["approved_m2"] == approx(20000)
    assert b1["supplied_m2"] == approx(10300)
    assert b1["withdrawn_m2"] == approx(1600), "only the 批复 withdrawal counts"
    assert b1["unsupplied_m2"] == approx(8100)
    assert b1["supply_rate"] == approx(10300 / (20000 - 1600))
    # 批而未征: [100,180]×[0,60] + [180,200]×[40,60]; 征而未供: [90,100]×[0,50] + [100,160]×[60,100]
    assert b1["unacquired_m2"] == approx(5200)
    assert b1["acquired_unsupplied_m2"] == approx(2900)
    assert b1["recorded_supplied_m2"] == approx(8300)
    b2 = land.batch_row(run, "B2")
    # S3 in B2 800, plus the supply without geometry by its link 500; withdrawn 100 by area
    assert b2["supplied_m2"] == approx(1300)
    assert b2["withdrawn_m2"] == approx(100)
    assert b2["unsupplied_m2"] == approx(10000 - 800 - 500 - 100)
    assert b2["nogeom_supplied_m2"] == approx(500)
    assert b2["nogeom_withdrawn_m2"] == approx(100)
    assert b2["unacquired_m2"] == approx(8600) and b2["acquired_unsupplied_m2"] == approx(0)
    assert b2["supply_rate"] == approx(1300 / 9900)
    assert b2["recorded_supplied_m2"] == approx(1300)
    assert b2["recorded_supply_rate"] == approx(1300 / 9900)


def test_pieces_match_shapely(land: Land, county: dict) -> None:
    g = county["geoms"]
    run = land.analyze(AS_OF, full=True)
    in_force = [g[k] for k in ("S1", "S2", "S3", "S6")]
    expected = remainder(remainder(g["B1"], in_force), [g["W1"]])
    pieces = land.pieces(run, "B1")
    got = unary_union([shape(p["wkt"]) for p in pieces])
    assert got.area == approx(expected.area)
    assert got.symmetric_difference(expected).area < expected.area * REL
    by_status = {}
    for p in pieces:
        by_status[p["status"]] = by_status.get(p["status"], 0) + p["area_m2"]
    collective_left = drop_slivers(expected.intersection(rect(100, 0, 200, 60)))
    assert by_status["批而未征"] == approx(collective_left.area)
    assert by_status["征而未供"] == approx(expected.area - collective_left.area)
    assert set(by_status) == {"批而未征", "征而未供"}


def test_boundaries_0_3_m_apart_leave_no_slivers(land: Land, county: dict) -> None:
    run = land.analyze(AS_OF, full=True)
    rows = land.sql("SELECT ST_Area(geom) AS a, ST_IsEmpty(ST_Buffer(geom, -0.5)) AS thin "
                    "FROM landdb.run_piece_rows(%s) WHERE true", (run,))
    assert rows and all(r["a"] >= 1 and not r["thin"] for r in rows)
    # the 0.3 m strip between S1 and S6 is supplied land, not a piece of its own
    strip = rect(50, 50, 50.3, 100)
    assert not any(shape(p["wkt"]).intersection(strip).area > 0.01 for p in land.pieces(run, "B1"))


def test_supply_dates_and_reclaim(land: Land, county: dict) -> None:
    # before the reclaim, S5 is in force; W1 is not yet approved
    run = land.analyze(date(2022, 6, 30), full=True)
    b1 = land.batch_row(run, "B1")
    assert b1["supplied_m2"] == approx(10300 + 1200)
    assert b1["withdrawn_m2"] == approx(0)
    assert b1["unsupplied_m2"] == approx(20000 - 11500)
    # after S4's contract date it counts; S5 stays reclaimed
    run = land.analyze(date(2025, 6, 30), full=True)
    b1 = land.batch_row(run, "B1")
    assert b1["supplied_m2"] == approx(10300 + 3000)
    assert b1["unsupplied_m2"] == approx(8100 - 3000)


def test_live_functions_equal_the_stored_run(land: Land, county: dict) -> None:
    run = land.analyze(AS_OF, full=True)
    live = {r["pzwh_key"]: r for r in land.sql("SELECT * FROM landdb.batch_supply(%s)", (AS_OF,))}
    for key in ("B1", "B2"):
        stored = land.batch_row(run, key)
        for col in ("approved_m2", "supplied_m2", "withdrawn_m2", "unsupplied_m2", "unacquired_m2",
                    "acquired_unsupplied_m2", "supply_rate", "recorded_supplied_m2", "recorded_supply_rate"):
            assert live[key][col] == approx(stored[col]), (key, col)
    assert live["B1"]["unsupplied_mu"] == approx(8100 * 15 / 10000)
    assert live["B1"]["unsupplied_ha"] == approx(0.81)
    assert live["B1"]["age_years"] == 6
    pieces = land.sql("SELECT * FROM landdb.unsupplied(%s) WHERE pzwh_key = 'B1'", (AS_OF,))
    assert sum(p["area_m2"] for p in pieces) == approx(8100)
    assert all(p["area_mu"] == approx(p["area_m2"] * 15 / 10000) for p in pieces)
    assert {p["status"] for p in pieces} == {"批而未征", "征而未供"}


def test_views_read_the_latest_run(land: Land, county: dict) -> None:
    land.analyze(date(2022, 6, 30), full=True)
    run = land.analyze(AS_OF, full=True)
    rows = land.sql("SELECT * FROM landdb.v_batch_supply ORDER BY pzwh_key")
    assert [r["pzwh_key"] for r in rows] == ["B1", "B2"]
    assert all(r["run_id"] == run and r["as_of"] == AS_OF for r in rows)
    assert rows[0]["unsupplied_m2"] == approx(8100) and rows[0]["age_years"] == 6
    pieces = land.sql("SELECT * FROM landdb.v_unsupplied WHERE pzwh_key = 'B1'")
    assert sum(p["area_m2"] for p in pieces) == approx(8100)
    assert land.sql("SELECT count(*) AS n FROM landdb.v_flag WHERE run_id <> %s", (run,))[0]["n"] == 0
    typed = land.sql("SELECT type, srid FROM geometry_columns WHERE f_table_schema = 'landdb' "
                     "AND f_table_name = 'v_flag_unsupplied_over_3y'")
    assert typed == [{"type": "MULTIPOLYGON", "srid": SRID}]


def test_township_and_zone_by_overlay(land: Land) -> None:
    land.admin("T1", "东乡", rect(-1000, -1000, 150, 1000))
    land.admin("T2", "西乡", rect(150, -1000, 2000, 1000))
    land.zone("Z1", "产业园", rect(120, -1000, 2000, 1000), planned_m2=1e6)
    land.batch("B9", rect(0, 0, 200, 100), date(2020, 1, 1))     # township from the overlay
    land.batch("B8", rect(300, 0, 400, 100), date(2020, 1, 1), township="自填乡")
    land.supply("S9", rect(100, 0, 140, 100), date(2021, 1, 1))   # leaves two pieces in B9
    run = land.analyze(AS_OF, full=True)
    b9 = land.batch_row(run, "B9")
    assert b9["township"] == "东乡" and b9["zone_code"] is None   # its point on surface lies west
    assert land.batch_row(run, "B8")["township"] == "自填乡", "a recorded township is kept"
    assert land.batch_row(run, "B8")["zone_code"] == "Z1"
    pieces = land.pieces(run, "B9")
    assert sorted((p["township"], p["zone_code"]) for p in pieces) == [("东乡", None), ("西乡", "Z1")]
    live = land.sql("SELECT township, zone_code FROM landdb.unsupplied(%s) WHERE pzwh_key = 'B9'", (AS_OF,))
    assert sorted((p["township"], p["zone_code"]) for p in live) == [("东乡", None), ("西乡", "Z1")]


def test_records_without_geometry(land: Land) -> None:
    # a batch without geometry counts from its records only
    b = land.batch("NG", None, date(2019, 1, 1), approved_area=1.0)
    s = land.supply("NGS", None, date(2020, 1, 1))
    land.link(s, b, 0.4)
    # a withdrawal without geometry or area withdraws the whole batch
    w = land.batch("WALL", rect(1000, 0, 1100, 100), date(2019, 1, 1))
    land.withdrawal(w, "撤回全部", date(2021, 1, 1))
    # an expropriation without geometry: by area (figures), or with no area the whole batch
    a1 = land.batch("ACQAREA", rect(2000, 0, 2100, 100), date(2019, 1, 1),
                    parcels=[(rect(2000, 0, 2100, 100), "集体")])
    land.acquisition("按面积", a1, date(2020, 1, 1), area_ha=0.3)
    a2 = land.batch("ACQALL", rect(3000, 0, 3100, 100), date(2019, 1, 1),
                    parcels=[(rect(3000, 0, 3100, 100), "集体")])
    land.acquisition("整批", a2, date(2020, 1, 1))
    # ownership unknown: no parcels
    land.batch("NOPARCEL", rect(4000, 0, 4100, 100), date(2019, 1, 1))
    run = land.analyze(AS_OF, full=True)
    ng = land.batch_row(run, "NG")
    assert (ng["approved_m2"], ng["supplied_m2"], ng["unsupplied_m2"]) == (approx(10000), approx(4000), approx(6000))
    assert land.pieces(run, "NG") == []
    wall = land.batch_row(run, "WALL")
    assert wall["withdrawn_m2"] == approx(10000) and wall["unsupplied_m2"] == approx(0)
    assert wall["supply_rate"] is None
    aa = land.batch_row(run, "ACQAREA")
    assert (aa["unacquired_m2"], aa["acquired_unsupplied_m2"]) == (approx(7000), approx(3000))
    assert {p["status"] for p in land.pieces(run, "ACQAREA")} == {"批而未征"}, "pieces follow geometry only"
    al = land.batch_row(run, "ACQALL")
    assert (al["unacquired_m2"], al["acquired_unsupplied_m2"]) == (approx(0), approx(10000))
    npc = land.batch_row(run, "NOPARCEL")
    assert npc["unsupplied_m2"] == approx(10000)
    assert npc["unacquired_m2"] == approx(0) and npc["acquired_unsupplied_m2"] == approx(0)
    assert [p["status"] for p in land.pieces(run, "NOPARCEL")] == ["未供"]


def test_acquisition_sliver_joins_the_neighbouring_class(land: Land) -> None:
    # the expropriation boundary is 0.3 m off the parcel boundary: no 0.3 m 批而未征 strip
    b = land.batch("SLV", rect(0, 0, 100, 100), date(2019, 1, 1),
                   parcels=[(rect(0, 0, 100, 100), "集体")])
    land.acquisition("A-SLV", b, date(2020, 1, 1), geom=rect(0, 0, 99.7, 100))
    run = land.analyze(AS_OF, full=True)
    pieces = land.pieces(run, "SLV")
    assert [p["status"] for p in pieces] == ["征而未供"]
    assert pieces[0]["area_m2"] == approx(10000)


def test_same_data_and_date_give_the_same_results(land: Land, county: dict) -> None:
    r1 = land.analyze(AS_OF, full=True)
    r2 = land.analyze(AS_OF, full=True)
    q = ("SELECT p.batch_id, p.piece_no, p.status, ST_AsBinary(p.geom) AS g FROM landdb.run_piece_rows(%s) p "
         "ORDER BY 1, 2")
    assert [tuple(r.values()) for r in land.sql(q, (r1,))] == [tuple(r.values()) for r in land.sql(q, (r2,))]
    f = "SELECT rule, subject, severity, area_m2, message, details FROM landdb.run_flags(%s) WHERE true ORDER BY 1, 2"
    assert [tuple(r.values()) for r in land.sql(f, (r1,))] == [tuple(r.values()) for r in land.sql(f, (r2,))]


def test_period_end_follows_the_civil_code(land: Land) -> None:
    rows = land.sql("SELECT landdb.period_end('2020-02-29', 1) AS a, landdb.period_end('2022-03-01', 1) AS b, "
                    "landdb.period_end('2020-02-29', 2) AS c, landdb.full_years('2022-03-01', '2023-03-01') AS d, "
                    "landdb.full_years('2022-03-01', '2023-03-02') AS e, "
                    "landdb.full_years('2020-02-29', '2021-02-28') AS f, "
                    "landdb.full_years('2020-02-29', '2021-03-01') AS g")
    assert rows[0] == {"a": date(2021, 2, 28), "b": date(2023, 3, 1), "c": date(2022, 2, 28),
                       "d": 0, "e": 1, "f": 0, "g": 1}
