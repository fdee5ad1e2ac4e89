"""Incremental re-analysis of 边角地 (remnant_parcel): only the clusters a change can reach are
recomputed, and the run still equals a full one."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from .test_analyze import AS_OF, _assert_same, _mode, _results
from .test_overlay import Land, open_land, rect


@pytest.fixture
def land(connect) -> Iterator[Land]:
    yield from open_land(connect)


def _remnants(land: Land, run: int) -> dict[str, dict]:
    return {f["subject"]: f for f in land.flags(run, "remnant_parcel")}


def test_a_cluster_left_by_a_batch_that_moved_away_is_recomputed(land: Land) -> None:
    # two adjacent remainders (40 m × 40 m and a 1 m strip each): one cluster too large to be a
    # remnant. HALF2 moves away; HALF1, out of scope (its supply is 1 m from HALF2), is left alone
    # small, beside its supply: a remnant that no old flag named
    land.batch("HALF1", rect(1000, 0, 1040, 100), date(2020, 1, 1))
    h2 = land.batch("HALF2", rect(1040, 0, 1080, 100), date(2020, 1, 1))
    land.supply("NE1", rect(1000, 40, 1039, 100), date(2021, 1, 1), land_user="甲公司")
    land.supply("NE2", rect(1041, 40, 1080, 100), date(2021, 1, 1), land_user="乙公司")
    land.batch("FAR", rect(5000, 0, 5100, 100), date(2020, 1, 1))
    first = land.analyze(AS_OF)
    assert _remnants(land, first) == {}
    land.sql("UPDATE landdb.approval_batch SET geom = ST_Translate(geom, 3000, 0) WHERE id = %s", (h2,))
    inc = land.analyze(AS_OF)
    m = _mode(land, inc)
    assert m["mode"] == "incremental" and m["n_recomputed"] == 1
    f = _remnants(land, inc)
    assert [s.split("@")[0] for s in f] == ["HALF1"]
    full = land.analyze(AS_OF, full=True)
    _assert_same(_results(land, full), _results(land, inc))


def test_a_supply_coming_near_a_remnant_is_seen(land: Land) -> None:
    # neighbours within 2 m: a supply put 1.5 m from a remnant's batch does not put the batch in
    # scope (the snapping tolerance is 0.5 m), but it is a new neighbour of the remnant
    land.setting("remnant_touch_m", "2")
    land.batch("REM", rect(0, 0, 100, 100), date(2020, 1, 1))
    land.supply("NA", rect(0, 0, 80, 100), date(2021, 1, 1), land_user="甲公司")
    land.supply("NB", rect(80, 30, 100, 100), date(2021, 1, 1), land_user="乙公司")
    first = land.analyze(AS_OF)
    (old,) = _remnants(land, first).values()
    assert [n["land_user"] for n in old["details"]["neighbours"]] == ["甲公司", "乙公司"]
    land.supply("NX", rect(80, -20, 100, -1.5), date(2022, 1, 1), land_user="丙公司")
    inc = land.analyze(AS_OF)
    assert _mode(land, inc)["mode"] == "incremental"
    (new,) = _remnants(land, inc).values()
    assert [n["land_user"] for n in new["details"]["neighbours"]] == ["甲公司", "乙公司", "丙公司"]
    full = land.analyze(AS_OF, full=True)
    _assert_same(_results(land, full), _results(land, inc))


def test_a_remnant_grown_past_the_limit_loses_its_flag(land: Land) -> None:
    land.batch("REM", rect(0, 0, 100, 100), date(2020, 1, 1))
    land.supply("NA", rect(0, 0, 80, 100), date(2021, 1, 1), land_user="甲公司")
    nb = land.supply("NB", rect(80, 30, 100, 100), date(2021, 1, 1), land_user="乙公司")
    land.batch("KEEP", rect(300, 0, 400, 100), date(2020, 1, 1))
    land.supply("NK", rect(300, 0, 380, 100), date(2021, 1, 1), land_user="丁公司")
    land.supply("NL", rect(380, 30, 400, 100), date(2021, 1, 1), land_user="戊公司")
    first = land.analyze(AS_OF)
    assert sorted(s.split("@")[0] for s in _remnants(land, first)) == ["KEEP", "REM"]
    land.sql("DELETE FROM landdb.supply WHERE id = %s", (nb,))
    inc = land.analyze(AS_OF)
    assert _mode(land, inc)["mode"] == "incremental"
    assert [s.split("@")[0] for s in _remnants(land, inc)] == ["KEEP"], "the copied one stays"
    full = land.analyze(AS_OF, full=True)
    _assert_same(_results(land, full), _results(land, inc))
