"""Every rule of domain.md's table: a case that raises and a near miss that does not, with the
severity, subject key and figures the flag must carry. (The idle-land rules are in test_idle.)"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from shapely.geometry import Polygon

from .test_overlay import X0, Y0, Land, approx, open_land, rect, shape


@pytest.fixture
def land(connect) -> Iterator[Land]:
    yield from open_land(connect)


AS_OF = date(2024, 6, 30)
COLL = "集体"
STATE = "国有"


def _run(land: Land) -> int:
    return land.analyze(AS_OF, full=True)


def test_catalogue_matches_domain_table(land: Land) -> None:
    cat = {r["rule"]: r["severity"] for r in land.sql("SELECT * FROM landdb.rule_catalog()")}
    assert cat == {
        "unsupplied_over_3y": "中", "unacquired": "高", "acquired_unsupplied_over_2y": "高",
        "withdrawal_candidate": "中", "used_before_supply": "高", "remnant_parcel": "中", "start_due": "低",
        "completion_due": "低", "start_overdue": "中", "completion_overdue": "中", "idle_not_started": "高",
        "idle_reclaim": "高", "idle_stalled": "高", "supply_outside_approval": "低", "supply_overlap": "低",
        "batch_overlap": "低", "supply_no_geometry": "低", "supply_rate_mismatch": "低", "area_mismatch": "低",
        "disposal_overdue": "中",
    }
    fns = {r["proname"] for r in land.sql(
        "SELECT proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = 'landdb' AND proname LIKE 'rule\\_%%'")}
    assert fns >= {"rule_" + r for r in cat}


def test_unsupplied_over_3y(land: Land) -> None:
    land.batch("OLD", rect(0, 0, 100, 100), date(2021, 6, 29))      # 3 full years on 2024-06-29
    land.batch("EDGE", rect(200, 0, 300, 100), date(2021, 6, 30))   # complete only at the end of 2024-06-30
    full = land.batch("FULL", rect(400, 0, 500, 100), date(2015, 1, 1))
    land.link(land.supply("FULLS", rect(400, 0, 500, 100), date(2016, 1, 1)), full, 1.0)
    run = _run(land)
    f = land.flags(run, "unsupplied_over_3y")
    assert [x["subject"] for x in f] == ["OLD"]
    assert f[0]["severity"] == "中" and f[0]["area_m2"] == approx(10000)
    assert f[0]["details"]["full_years"] == 3
    assert shape(f[0]["wkt"]).area == approx(10000)


def test_unacquired(land: Land) -> None:
    b = land.batch("UNACQ", rect(0, 0, 100, 100), date(2022, 6, 29), parcels=[(rect(0, 0, 100, 100), COLL)])
    land.acquisition("UA-half", b, date(2023, 1, 1), geom=rect(0, 0, 50, 100))
    land.batch("YOUNG", rect(200, 0, 300, 100), date(2022, 6, 30), parcels=[(rect(200, 0, 300, 100), COLL)])
    land.batch("STATE", rect(400, 0, 500, 100), date(2015, 6, 30), parcels=[(rect(400, 0, 500, 100), STATE)])
    c = land.batch("DONE", rect(600, 0, 700, 100), date(2015, 6, 30), parcels=[(rect(600, 0, 700, 100), COLL)])
    land.acquisition("UA-all", c, date(2016, 1, 1), geom=rect(600, 0, 700, 100))
    run = _run(land)
    f = land.flags(run, "unacquired")
    assert [x["subject"] for x in f] == ["UNACQ"]
    assert f[0]["severity"] == "高" and f[0]["area_m2"] == approx(5000)
    assert shape(f[0]["wkt"]).equals_exact(rect(50, 0, 100, 100), 0.01) or \
        shape(f[0]["wkt"]).symmetric_difference(rect(50, 0, 100, 100)).area < 0.1


def test_acquired_unsupplied_over_2y(land: Land) -> None:
    for i, when in enumerate((date(2022, 6, 29), date(2022, 6, 30))):
        x = i * 200
        b = land.batch(f"ACQ{i}", rect(x, 0, x + 100, 100), date(2020, 1, 1),
                       parcels=[(rect(x, 0, x + 100, 100), COLL)])
        land.acquisition(f"A{i}", b, when, geom=rect(x, 0, x + 100, 100))
        land.supply(f"S{i}", rect(x, 0, x + 40, 100), date(2023, 1, 1))
    run = _run(land)
    f = land.flags(run, "acquired_unsupplied_over_2y")
    assert [x["subject"] for x in f] == ["ACQ0"]
    assert f[0]["severity"] == "高" and f[0]["area_m2"] == approx(6000)
    assert f[0]["details"]["acquisitions"][0]["acq_key"] == "A0"


def test_acquired_unsupplied_over_2y_lists_the_expropriations_holding_the_land(land: Land) -> None:
    # MIX: two old expropriations of its own (3 and 2 full years); its neighbours' older ones
    # only touch it (NB's) or overlap it by a 0.3 m strip (NB2's): neither holds its land
    mix = land.batch("MIX", rect(0, 0, 100, 100), date(2019, 1, 1), parcels=[(rect(0, 0, 100, 100), COLL)])
    land.acquisition("M-west", mix, date(2021, 3, 1), geom=rect(0, 0, 50, 100))
    land.acquisition("M-east", mix, date(2022, 6, 29), geom=rect(50, 0, 100, 100))
    land.supply("MIX-S", rect(0, 0, 20, 100), date(2023, 1, 1))
    nb = land.batch("NB", rect(100, 0, 200, 100), date(2010, 1, 1), parcels=[(rect(100, 0, 200, 100), COLL)])
    land.acquisition("N-old", nb, date(2011, 1, 1), geom=rect(100, 0, 200, 100))
    nb2 = land.batch("NB2", rect(0, 100, 100, 200), date(2010, 1, 1), parcels=[(rect(0, 100, 100, 200), COLL)])
    land.acquisition("N-strip", nb2, date(2012, 1, 1), geom=rect(0, 99.7, 100, 200))
    # SMALL: a 1.6 m wide remainder across two expropriations, a sliver of it in each: the larger
    small = land.batch("SMALL", rect(300, 0, 301.6, 10), date(2019, 1, 1),
                       parcels=[(rect(300, 0, 301.6, 10), COLL)])
    land.acquisition("S-a", small, date(2020, 1, 1), geom=rect(300, 0, 300.7, 10))
    land.acquisition("S-b", small, date(2021, 1, 1), geom=rect(300.7, 0, 301.6, 10))
    run = _run(land)
    f = {x["subject"]: x for x in land.flags(run, "acquired_unsupplied_over_2y")}
    assert set(f) == {"MIX", "NB", "NB2", "SMALL"}
    acqs = f["MIX"]["details"]["acquisitions"]
    assert [a["acq_key"] for a in acqs] == ["M-west", "M-east"]
    assert [a["full_years"] for a in acqs] == [3, 2]
    assert [a["area_m2"] for a in acqs] == [approx(3000), approx(5000)]
    assert f["MIX"]["area_m2"] == approx(8000)
    assert "征收完成已满2–3年" in f["MIX"]["message"]
    assert [a["acq_key"] for a in f["NB"]["details"]["acquisitions"]] == ["N-old"]
    assert "征收完成已满13年" in f["NB"]["message"]
    assert [a["acq_key"] for a in f["NB2"]["details"]["acquisitions"]] == ["N-strip"]
    assert [a["acq_key"] for a in f["SMALL"]["details"]["acquisitions"]] == ["S-b"]
    assert f["SMALL"]["area_m2"] == approx(16)


def test_withdrawal_candidate(land: Land) -> None:
    land.batch("QUIET", rect(0, 0, 100, 100), date(2020, 1, 1))
    b = land.batch("BUSY", rect(200, 0, 300, 100), date(2020, 1, 1))
    land.link(land.supply("BUSYS", rect(200, 0, 230, 100), date(2023, 1, 1)), b, 0.3)
    land.batch("BUILT", rect(400, 0, 500, 100), date(2020, 1, 1))
    land.rs_patch("TB-BUILT", rect(420, 20, 460, 60), detected=date(2024, 3, 1))
    land.batch("NEW", rect(600, 0, 700, 100), date(2023, 1, 1))
    c = land.batch("OLDSUP", rect(800, 0, 900, 100), date(2018, 1, 1))
    land.supply("OLDS", rect(800, 0, 830, 100), date(2022, 6, 30))   # 2 years before as_of: outside the window
    run = _run(land)
    f = {x["subject"]: x for x in land.flags(run, "withdrawal_candidate")}
    assert set(f) == {"QUIET", "OLDSUP"}
    assert f["QUIET"]["severity"] == "中" and f["QUIET"]["area_m2"] == approx(10000)
    assert f["OLDSUP"]["details"]["last_supply_date"] == "2022-06-30"
    assert c


def test_used_before_supply(land: Land) -> None:
    land.batch("UBS", rect(0, 0, 300, 100), date(2020, 1, 1))
    land.rs_patch("TB1", rect(10, 10, 30, 30), detected=date(2023, 5, 1), period="2023Q2")     # 400 m²
    land.rs_patch("TB2", rect(50, 10, 55, 20), detected=date(2023, 5, 1))                      # 50 m²: too small
    land.supply("LATE", rect(100, 0, 150, 100), date(2023, 9, 1))                              # after the patch
    land.rs_patch("TB3", rect(110, 10, 130, 30), detected=date(2023, 5, 1))
    land.supply("EARLY", rect(200, 0, 250, 100), date(2023, 1, 1))                             # before the patch
    land.rs_patch("TB4", rect(210, 10, 230, 30), detected=date(2023, 5, 1))
    land.rs_patch("TB5", rect(260, 10, 280, 30), change_type="新增农用地", detected=date(2023, 5, 1))
    land.rs_patch("TB6", rect(260, 50, 280, 70), detected=date(2024, 9, 1))                    # after as_of
    land.rs_patch("TB7", rect(500, 10, 530, 40), detected=date(2023, 5, 1))                    # not approved land
    land.survey_patch(2022, "0012", "0601", rect(60, 50, 90, 90))                              # 工业用地
    land.survey_patch(2022, "0013", "0101", rect(60, 0, 90, 40))                               # 耕地
    run = _run(land)
    f = {x["subject"]: x for x in land.flags(run, "used_before_supply")}
    assert set(f) == {"TB1", "TB3", "DLTB:2022:0012"}
    assert f["TB1"]["severity"] == "高" and f["TB1"]["area_m2"] == approx(400)
    assert f["TB3"]["area_m2"] == approx(400), "unsupplied on the patch's date"
    assert f["DLTB:2022:0012"]["area_m2"] == approx(1200)
    assert f["TB1"]["details"]["periods"] == ["2023Q2"] and f["TB1"]["details"]["pzwh"] == ["UBS"]


def test_remnant_parcel(land: Land) -> None:
    # a 20 m × 30 m corner left between two supplies, and a large remainder beside the same supplies
    land.batch("REM", rect(0, 0, 100, 100), date(2020, 1, 1))
    land.supply("NA", rect(0, 0, 80, 100), date(2021, 1, 1), land_user="甲公司")
    land.supply("NB", rect(80, 30, 100, 100), date(2021, 1, 1), land_user="乙公司")
    land.batch("BIG", rect(200, 0, 300, 100), date(2020, 1, 1))
    land.supply("NC", rect(200, 0, 210, 100), date(2021, 1, 1), land_user="丙公司")
    # a narrow strip 8 m × 400 m (3200 m², more than 3 亩) beside a supply
    land.batch("STRIP", rect(400, 0, 408, 400), date(2020, 1, 1))
    land.supply("ND", rect(408, 0, 500, 400), date(2021, 1, 1), land_user="丁公司")
    # a small batch touching no supplied land
    land.batch("ALONE", rect(700, 0, 720, 30), date(2020, 1, 1))
    # two small remainders in adjacent batches that together are large: dissolved, not a remnant
    land.batch("HALF1", rect(1000, 0, 1040, 100), date(2020, 1, 1))
    land.batch("HALF2", rect(1040, 0, 1080, 100), date(2020, 1, 1))
    land.supply("NE", rect(1000, 40, 1080, 100), date(2021, 1, 1))   # leaves 40 m × 40 m in each
    run = _run(land)
    f = land.flags(run, "remnant_parcel")
    assert len(f) == 2
    corner, strip = sorted(f, key=lambda x: x["area_m2"])
    assert corner["subject"].startswith("REM@") and corner["area_m2"] == approx(600)
    assert corner["severity"] == "中" and corner["details"]["small"] is True
    assert [n["land_user"] for n in corner["details"]["neighbours"]] == ["甲公司", "乙公司"]
    assert strip["subject"].startswith("STRIP@") and strip["details"]["narrow"] is True
    assert strip["details"]["small"] is False and strip["area_m2"] == approx(3200)
    x, y = corner["subject"].split("@")[1].split(",")
    assert (int(x), int(y)) == (565090, 3574015), "centroid rounded to the metre"


def test_start_and_completion_reminders(land: Land) -> None:
    d = AS_OF
    land.supply("DUE", rect(0, 0, 10, 10), date(2024, 1, 1), agreed_start=d + timedelta(days=10),
                agreed_completion=d + timedelta(days=400))
    land.supply("FAR", rect(20, 0, 30, 10), date(2024, 1, 1), agreed_start=d + timedelta(days=40),
                agreed_completion=d + timedelta(days=400))
    land.supply("SOON", rect(100, 0, 110, 10), date(2024, 1, 1), agreed_completion=d + timedelta(days=20))
    s = land.supply("GOING", rect(40, 0, 50, 10), date(2023, 1, 1), agreed_start=d + timedelta(days=5),
                    agreed_completion=d + timedelta(days=25))
    land.development(s, d, actual_start=d - timedelta(days=3))
    land.supply("LATE", rect(60, 0, 70, 10), date(2023, 1, 1), agreed_start=d - timedelta(days=90),
                agreed_completion=d - timedelta(days=60))
    t = land.supply("FINISHED", rect(80, 0, 90, 10), date(2020, 1, 1), agreed_start=d - timedelta(days=500),
                    agreed_completion=d - timedelta(days=60))
    land.development(t, d - timedelta(days=30), actual_start=d - timedelta(days=490),
                     actual_completion=d - timedelta(days=61))
    run = _run(land)
    assert land.subjects(run, "start_due") == {"DUE"}
    assert land.subjects(run, "completion_due") == {"SOON", "GOING"}
    assert land.subjects(run, "start_overdue") == {"LATE"}
    assert land.subjects(run, "completion_overdue") == {"LATE"}
    assert {f["severity"] for f in land.flags(run, "start_due")} == {"低"}
    assert {f["severity"] for f in land.flags(run, "completion_overdue")} == {"中"}
    assert land.flags(run, "start_due")[0]["details"]["days_left"] == 10


def test_supply_outside_approval(land: Land) -> None:
    land.batch("APP", rect(0, 0, 300, 100), date(2020, 1, 1))
    land.supply("OUT", rect(0, 0, 50, 110), date(2021, 1, 1), land_source="新增")       # 10 m beyond
    land.supply("EDGE", rect(100, 0, 150, 100.3), date(2021, 1, 1), land_source="新增")  # 0.3 m: tolerance
    land.supply("STOCK", rect(200, 0, 250, 110), date(2021, 1, 1), land_source="存量")
    land.supply("NOWHERE", rect(500, 0, 520, 20), date(2021, 1, 1), land_source="新增建设用地")
    run = _run(land)
    f = {x["subject"]: x for x in land.flags(run, "supply_outside_approval")}
    assert set(f) == {"OUT", "NOWHERE"}
    assert f["OUT"]["area_m2"] == approx(500) and f["OUT"]["severity"] == "低"
    assert f["NOWHERE"]["area_m2"] == approx(400)


def test_land_source_words_match_as_literal_words(land: Land) -> None:
    """The rules test a value against a settings list (new_land_sources, idle_supply_methods) with
    a regular expression made from the words: it must say what method_in says, special characters
    in the words taken literally."""
    cases = [("新增建设用地", ["新增"]), ("存量", ["新增"]), ("a.bc", ["a.b"]), ("axbc", ["a.b"]), ("(x)", ["(x)"]),
             ("[y]z", ["[y]"]), ("c", ["c|d"]), ("c|d", ["c|d"]), ("e\\f", ["e\\f"]), ("ef", ["e\\f"]),
             ("^$*+?{}", ["^$*+?{}"]), ("x", [""]), ("x", []), ("", ["新增"]), (None, ["新增"]),
             ("协议出让", ["划拨", "出让"])]
    for value, words in cases:
        got = land.sql("SELECT coalesce(%s::text ~ landdb.words_regex(%s::text[]), false) AS r, "
                       "landdb.method_in(%s::text, %s::text[]) AS m", (value, words, value, words))[0]
        assert got["r"] == got["m"], (value, words)
    assert [land.sql("SELECT coalesce(%s ~ landdb.words_regex(%s::text[]), false) AS r", (v, w))[0]["r"]
            for v, w in cases[:4]] == [True, False, True, False]


def test_supply_outside_approval_near_the_sliver_width(land: Land) -> None:
    """The cheap test that spares the overlay (a supply within 0.4 × the sliver width of a batch it
    meets) must not change the flags: a 0.45 m strip outside is still a sliver, found by the
    overlay; a supply close to a batch but meeting none is flagged whole, however narrow; the
    scoped call gives the same flags."""
    land.batch("APP", rect(0, 0, 300, 100), date(2020, 1, 1))
    land.supply("S045", rect(0, 0, 50, 100.45), date(2021, 1, 1), land_source="新增")
    land.supply("S035", rect(60, 0, 90, 100.35), date(2021, 1, 1), land_source="新增")
    land.supply("BESIDE", rect(100, 100.1, 150, 100.4), date(2021, 1, 1), land_source="新增")
    land.supply("WIDE", rect(200, 0, 250, 101.2), date(2021, 1, 1), land_source="新增")
    run = _run(land)
    f = {x["subject"]: x for x in land.flags(run, "supply_outside_approval")}
    assert set(f) == {"BESIDE", "WIDE"}
    assert f["BESIDE"]["area_m2"] == approx(15) and "完全不在任何批次范围内" in f["BESIDE"]["message"]
    assert f["WIDE"]["area_m2"] == approx(60)
    ids = [r["id"] for r in land.sql("SELECT id FROM landdb.supply ORDER BY id")]
    scoped = land.sql("SELECT subject, area_m2 FROM landdb.rule_supply_outside_approval(%s, %s, NULL, %s)",
                      (AS_OF, run, ids))
    assert {r["subject"]: r["area_m2"] for r in scoped} == {k: v["area_m2"] for k, v in f.items()}


def test_supply_overlap_strips_near_the_sliver_width(land: Land) -> None:
    """An overlap narrower than 0.8 × the sliver width (0.6 m) is left out by the bounding boxes; one
    that passes them (0.85 m) is a sliver all the same, left out by the overlay; a 1.2 m wide one
    is flagged. At 45° the boxes of a 0.6 m and a 1.2 m strip both pass: the overlay tells."""
    land.supply("SA", rect(0, 0, 50, 50), date(2021, 1, 1))
    land.supply("SB", rect(49.4, 0, 100, 50), date(2021, 1, 1))       # 0.6 m × 50 m
    land.supply("SE", rect(0, 200, 50, 250), date(2021, 1, 1))
    land.supply("SF", rect(49.15, 200, 100, 250), date(2021, 1, 1))   # 0.85 m × 50 m: a sliver
    land.supply("SC", rect(0, 100, 50, 150), date(2021, 1, 1))
    land.supply("SD", rect(48.8, 100, 100, 150), date(2021, 1, 1))     # 1.2 m × 50 m
    def square45(cx: float, cy: float) -> Polygon:   # a square of 40√2 m sides, at 45°
        return Polygon([(X0 + cx + dx, Y0 + cy + dy) for dx, dy in ((0, -40), (40, 0), (0, 40), (-40, 0))])

    # neighbours across an edge at 45°, overlapping by a strip 1.2 m / 0.6 m wide: their boxes
    # overlap by some 40 m both ways
    for a, b, y, width in (("SG", "SH", 300, 1.2), ("SI", "SJ", 500, 0.6)):
        d = width / 2 ** 0.5
        land.supply(a, square45(300, y), date(2021, 1, 1))
        land.supply(b, square45(340 - d, y - 40 + d), date(2021, 1, 1))
    run = _run(land)
    f = {x["subject"]: x for x in land.flags(run, "supply_overlap")}
    assert set(f) == {"SC | SD", "SG | SH"}
    assert f["SC | SD"]["area_m2"] == approx(60)
    assert f["SG | SH"]["area_m2"] == approx(1.2 * 40 * 2 ** 0.5)


def test_overlap_box_filter_never_drops_an_overlap_the_sliver_filter_keeps(land: Land) -> None:
    """landdb._may_overlap (and the supply pairs' grid, which applies the same bound) may only leave
    out pairs whose overlap is all slivers: 4 000 pairs of rectangles, half axis-aligned and half at
    random angles, overlapping by strips of 0.6–1.4 m, a third of them slightly askew."""
    rows = land.sql("""
        WITH p AS (
          SELECT i, CASE WHEN mod(i, 2) = 0 THEN 0 ELSE random() * pi() END AS ang,
                 5 + random() * 45 AS l, 2 + random() * 20 AS h, 0.6 + random() * 0.8 AS d,
                 CASE WHEN mod(i, 3) = 0 THEN (random() - 0.5) * 0.02 ELSE 0 END AS dang
          FROM (SELECT setseed(0.14)) s, generate_series(1, 4000) i),
        g AS (
          SELECT d, ST_Rotate(ST_MakeEnvelope(0, 0, l, h), ang, 0, 0) AS a,
                 ST_Rotate(ST_Translate(ST_Rotate(ST_MakeEnvelope(0, 0, l, h), dang, l / 2, h / 2), 0, h - d),
                           ang, 0, 0) AS b
          FROM p),
        r AS (SELECT d, landdb._may_overlap(a, b, 1, 1) AS may,
                     coalesce(ST_Area(landdb.drop_slivers(ST_Intersection(a, b), 1, 1)), 0) AS kept FROM g)
        SELECT count(*) FILTER (WHERE kept >= 1 AND NOT may) AS missed,
               count(*) FILTER (WHERE NOT may) AS filtered, count(*) FILTER (WHERE kept >= 1) AS kept
        FROM r""")
    assert rows[0]["missed"] == 0
    assert rows[0]["filtered"] > 300 and rows[0]["kept"] > 1000   # the bound is met on both sides


def test_supply_overlap(land: Land) -> None:
    land.supply("OVA", rect(0, 0, 50, 50), date(2021, 1, 1))
    land.supply("OVB", rect(40, 40, 90, 90), date(2021, 1, 1))             # 10 × 10 overlap
    land.supply("OVC", rect(89.7, 0, 130, 40), date(2021, 1, 1))           # 0.3 m strip with OVB? no: beside
    land.supply("OVD", rect(0, 49.7, 30, 80), date(2021, 1, 1))            # 0.3 m strip with OVA
    land.supply("OVE", rect(0, 0, 20, 20), date(2021, 1, 1), reclaimed_date=date(2022, 1, 1))
    run = _run(land)
    f = land.flags(run, "supply_overlap")
    assert [x["subject"] for x in f] == ["OVA | OVB"]
    assert f[0]["area_m2"] == approx(100) and f[0]["severity"] == "低"
    assert len(f[0]["supply_ids"]) == 2


def test_supply_overlap_in_stripes_finds_each_pair_once(land: Land) -> None:
    """analyze finds overlapping supplies in stripes of a 200 m grid on both cores: pairs across a
    stripe or cell boundary, one supply in many cells, a pair in one cell — each flagged once, as
    the whole county at once flags it."""
    land.supply("W1", rect(0, 0, 500, 60), date(2021, 1, 1))          # many cells wide
    land.supply("W2", rect(190, 50, 210, 120), date(2021, 1, 1))      # across a cell boundary of W1
    land.supply("W3", rect(395, 10, 420, 30), date(2021, 1, 1))       # inside W1
    land.supply("W4", rect(600, 0, 650, 50), date(2021, 1, 1))
    land.supply("W5", rect(640, 40, 700, 100), date(2021, 1, 1))      # 10 × 10 with W4
    land.supply("W6", rect(700, 0, 760, 40), date(2021, 1, 1))        # touches W5's corner only
    whole = {r["subject"]: r["area_m2"] for r in land.sql(
        "SELECT subject, area_m2 FROM landdb.rule_supply_overlap(%s)", (AS_OF,))}
    assert set(whole) == {"W1 | W2", "W1 | W3", "W4 | W5"}
    assert whole["W1 | W2"] == approx(200) and whole["W1 | W3"] == approx(500) and whole["W4 | W5"] == approx(100)
    c0, c1 = land.sql("SELECT floor(ST_XMin(e) / 200)::int AS c0, floor(ST_XMax(e) / 200)::int AS c1 "
                      "FROM (SELECT ST_Extent(geom) e FROM landdb.supply) x")[0].values()
    for parts in (2, 3, 7):
        got = land.sql("SELECT f.subject, f.area_m2 FROM generate_series(1, %s) k, "
                       "landdb._overlap_chunk(%s, k, %s, %s, %s) f", (parts, AS_OF, parts, c0, c1))
        assert sorted(r["subject"] for r in got) == sorted(whole), parts
        assert all(r["area_m2"] == approx(whole[r["subject"]]) for r in got)


def test_batch_overlap(land: Land) -> None:
    land.batch("BA", rect(0, 0, 100, 100), date(2020, 1, 1))
    land.batch("BB", rect(80, 0, 200, 100), date(2021, 1, 1))               # 20 m × 100 m twice approved
    land.batch("BC", rect(199.7, 0, 300, 100), date(2021, 1, 1))            # 0.3 m: tolerance
    run = _run(land)
    f = land.flags(run, "batch_overlap")
    assert [x["subject"] for x in f] == ["BA | BB"]
    assert f[0]["area_m2"] == approx(2000) and f[0]["severity"] == "低"


def test_supply_no_geometry(land: Land) -> None:
    b = land.batch("NGB", rect(0, 0, 100, 100), date(2020, 1, 1))
    land.link(land.supply("NOGEOM", None, date(2021, 1, 1), area=0.2), b, 0.2)
    land.supply("FUTURE", None, date(2025, 1, 1), area=0.2)
    land.supply("UNLINKED", None, date(2021, 1, 1), area=0.1)
    land.supply("HASGEOM", rect(0, 0, 10, 10), date(2021, 1, 1))
    run = _run(land)
    f = {x["subject"]: x for x in land.flags(run, "supply_no_geometry")}
    assert set(f) == {"NOGEOM", "UNLINKED"}
    assert f["NOGEOM"]["area_m2"] == approx(2000) and f["NOGEOM"]["details"]["links"][0]["pzwh"] == "NGB"
    assert f["NOGEOM"]["severity"] == "低" and f["NOGEOM"]["wkt"] is None
    assert "未计入" in f["UNLINKED"]["message"]


def test_supply_rate_mismatch(land: Land) -> None:
    b = land.batch("MISS", rect(0, 0, 100, 100), date(2020, 1, 1))
    land.link(land.supply("MS", rect(0, 0, 60, 100), date(2021, 1, 1)), b, 0.5)      # 6000 m² drawn, 0.5 ha recorded
    c = land.batch("MATCH", rect(200, 0, 300, 100), date(2020, 1, 1))
    land.link(land.supply("MT", rect(200, 0, 260, 100), date(2021, 1, 1)), c, 0.6)
    land.batch("NOLINK", rect(400, 0, 500, 100), date(2020, 1, 1))
    land.supply("NL", rect(400, 0, 460, 100), date(2021, 1, 1))
    run = _run(land)
    f = land.flags(run, "supply_rate_mismatch")
    assert [x["subject"] for x in f] == ["MISS"]
    assert f[0]["area_m2"] == approx(1000) and f[0]["severity"] == "低"
    assert f[0]["details"]["supplies"][0]["supply_key"] == "MS"
    assert f[0]["details"]["supplies"][0]["difference_m2"] == approx(1000)


def test_area_mismatch(land: Land) -> None:
    land.batch("AM1", rect(0, 0, 100, 100), date(2020, 1, 1), approved_area=1.1)
    land.batch("AM2", rect(200, 0, 300, 100), date(2020, 1, 1), approved_area=1.005)
    land.supply("AMS1", rect(400, 0, 450, 100), date(2021, 1, 1), area=0.45)
    land.supply("AMS2", rect(500, 0, 550, 100), date(2021, 1, 1), area=0.5001)
    run = _run(land)
    f = {x["subject"]: x for x in land.flags(run, "area_mismatch")}
    assert set(f) == {"AM1", "AMS1"}
    assert f["AM1"]["area_m2"] == approx(1000) and f["AM1"]["details"]["kind"] == "批次"
    assert f["AMS1"]["area_m2"] == approx(500) and f["AMS1"]["details"]["kind"] == "供地"
    assert {x["severity"] for x in f.values()} == {"低"}


def test_disposal_overdue(land: Land) -> None:
    b = land.batch("DISP", rect(0, 0, 100, 100), date(2020, 1, 1), township="城关镇")
    land.plan("P-LATE", "批而未供", batch_id=b, deadline=date(2024, 6, 1), status="处置中", plan_area=1.0)
    land.plan("P-CLOSED", "批而未供", batch_id=b, deadline=date(2024, 6, 1), status="已销号",
              closed_date=date(2024, 5, 1))
    land.plan("P-CLOSED-LATER", "批而未供", batch_id=b, deadline=date(2024, 6, 1), status="已销号",
              closed_date=date(2024, 7, 15))
    land.plan("P-FUTURE", "批而未供", batch_id=b, deadline=date(2024, 7, 1), status="未启动")
    run = _run(land)
    f = {x["subject"]: x for x in land.flags(run, "disposal_overdue")}
    assert set(f) == {"P-LATE", "P-CLOSED-LATER"}
    assert f["P-LATE"]["severity"] == "中" and f["P-LATE"]["area_m2"] == approx(10000)
    assert f["P-LATE"]["details"]["days_overdue"] == 29 and f["P-LATE"]["township"] == "城关镇"


def test_standalone_rules_equal_the_run(land: Land) -> None:
    b = land.batch("SA", rect(0, 0, 100, 100), date(2019, 1, 1), approved_area=1.2,
                   parcels=[(rect(0, 0, 100, 100), COLL)])
    land.link(land.supply("SAS", rect(0, 0, 30, 100), date(2020, 1, 1), agreed_start=date(2020, 6, 1),
                          supply_method="协议出让", price=100), b, 0.2)
    run = _run(land)
    stored = land.sql("SELECT rule, subject, area_m2, message FROM landdb.run_flags(%s) WHERE true ORDER BY 1, 2",
                      (run,))
    live = land.sql("SELECT rule, subject, area_m2, message FROM landdb.flags(%s) ORDER BY 1, 2", (AS_OF,))
    assert [(r["rule"], r["subject"]) for r in stored] == [(r["rule"], r["subject"]) for r in live]
    assert {r["rule"] for r in stored} >= {"unsupplied_over_3y", "unacquired", "idle_not_started",
                                          "supply_rate_mismatch", "area_mismatch", "withdrawal_candidate"}
    for s, v in zip(stored, live):
        assert s["area_m2"] == approx(v["area_m2"]) and s["message"] == v["message"]
