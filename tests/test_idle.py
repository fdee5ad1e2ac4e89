"""闲置土地 rules (国土资源部令第53号 Art. 2, 8, 12, 14) and the period rule of 民法典 Art. 201–202:
"one full year after D" is complete at the end of D + 1 year, so a rule raises when
as_of > D + 1 year (a 29 February start ends on 28 February)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from .test_overlay import Land, approx, open_land, rect


@pytest.fixture
def land(connect) -> Iterator[Land]:
    yield from open_land(connect)


def _idle(land: Land, as_of: date) -> dict[str, set[str]]:
    """Subjects of the idle and start rules as of a date (standalone rule functions)."""
    out = {}
    for rule in ("idle_not_started", "idle_reclaim", "idle_stalled", "start_overdue"):
        out[rule] = {r["subject"] for r in land.rule(rule, as_of)}
    return out


def _supply(land: Land, key: str, start: date, x: float = 0, **cols) -> int:
    cols.setdefault("supply_method", "挂牌出让")
    cols.setdefault("price", 1000)
    cols.setdefault("area", 1.0)
    return land.supply(key, rect(x, 0, x + 100, 100), date(start.year - 1, 1, 1), agreed_start=start, **cols)


@pytest.mark.parametrize("start, before, on, after", [
    (date(2022, 3, 1), date(2023, 2, 28), date(2023, 3, 1), date(2023, 3, 2)),
    (date(2020, 2, 29), date(2021, 2, 27), date(2021, 2, 28), date(2021, 3, 1)),
])
def test_not_started_one_full_year(land: Land, start: date, before: date, on: date, after: date) -> None:
    _supply(land, "IDLE1", start)
    for as_of, idle in ((before, False), (on, False), (after, True)):
        got = _idle(land, as_of)
        assert ("IDLE1" in got["idle_not_started"]) is idle, as_of
        assert ("IDLE1" in got["start_overdue"]) is (not idle), "overdue until the idle rule takes over"
        assert "IDLE1" not in got["idle_reclaim"]


@pytest.mark.parametrize("start, before, on, after", [
    (date(2022, 3, 1), date(2024, 2, 29), date(2024, 3, 1), date(2024, 3, 2)),
    (date(2020, 2, 29), date(2022, 2, 27), date(2022, 2, 28), date(2022, 3, 1)),
])
def test_reclaim_after_two_full_years(land: Land, start: date, before: date, on: date, after: date) -> None:
    _supply(land, "IDLE2", start)
    for as_of, reclaim in ((before, False), (on, False), (after, True)):
        got = _idle(land, as_of)
        assert "IDLE2" in got["idle_not_started"]
        assert ("IDLE2" in got["idle_reclaim"]) is reclaim, as_of


def test_fee_estimate_cause_and_determination(land: Land) -> None:
    as_of = date(2024, 6, 30)
    _supply(land, "FEE", date(2022, 1, 1), x=0, price=1000)
    _supply(land, "NOPRICE", date(2022, 1, 1), x=200, price=None, supply_method="划拨")
    gov = _supply(land, "GOV", date(2021, 1, 1), x=400, price=800)
    land.idle_case(gov, "案-政府", notice_date=date(2023, 1, 1), idle_cause="政府原因")
    det = _supply(land, "DET", date(2021, 1, 1), x=600, price=500, mortgagee="某银行")
    land.idle_case(det, "案-认定", notice_date=date(2023, 1, 1), determined_date=date(2023, 6, 1),
                   idle_cause="企业原因")
    late = _supply(land, "LATE", date(2021, 1, 1), x=800, price=500)
    land.idle_case(late, "案-以后", determined_date=date(2025, 1, 1), idle_cause="企业原因")
    flags = {r["subject"]: r for r in land.rule("idle_not_started", as_of)}
    assert set(flags) == {"FEE", "NOPRICE", "GOV", "DET", "LATE"}
    assert all(f["severity"] == "高" for f in flags.values())
    assert flags["FEE"]["details"]["estimated_fee_wan"] == approx(200)
    assert "估算土地闲置费200万元" in flags["FEE"]["message"]
    assert flags["FEE"]["area_m2"] == approx(10000)
    assert flags["NOPRICE"]["details"]["estimated_fee_wan"] == "基数未知 (price unknown)", "never 0"
    assert "基数未知" in flags["NOPRICE"]["message"]
    g = flags["GOV"]["details"]
    assert g["estimated_fee_wan"] is None and g["government_cause"] is True and g["idle_cause"] == "政府原因"
    assert "不征收土地闲置费" in flags["GOV"]["message"]
    assert g["determined"] is False
    d = flags["DET"]["details"]
    assert d["determined"] is True and d["case_no"] == "案-认定" and d["determined_date"] == "2023-06-01"
    assert flags["LATE"]["details"]["determined"] is False, "a 认定 after the as-of date does not count yet"
    reclaim = {r["subject"]: r for r in land.rule("idle_reclaim", as_of)}
    assert set(reclaim) == {"FEE", "NOPRICE", "DET", "LATE"}, "no 无偿收回 for a government cause"
    assert "某银行" in reclaim["DET"]["message"], "the mortgagee is to be informed"


def test_supplementary_agreement_moves_the_start(land: Land) -> None:
    s = _supply(land, "AGR", date(2021, 1, 1))
    land.agreement(s, "补-1", date(2021, 12, 1), start=date(2022, 6, 1))
    land.agreement(s, "补-2", date(2023, 5, 1), start=date(2024, 1, 1))
    # the first agreement is in force: idle from 2023-06-02 instead of 2022-01-02
    assert "AGR" not in _idle(land, date(2022, 6, 30))["idle_not_started"]
    got = _idle(land, date(2023, 4, 30))
    assert "AGR" not in got["idle_not_started"] and "AGR" in got["start_overdue"]
    # the second is signed on 2023-05-01: from then on the start is 2024-01-01
    assert "AGR" not in _idle(land, date(2023, 6, 2))["idle_not_started"]
    got = _idle(land, date(2025, 1, 2))
    assert "AGR" in got["idle_not_started"]
    f = {r["subject"]: r for r in land.rule("idle_not_started", date(2025, 1, 2))}["AGR"]
    assert f["details"]["agreed_start"] == "2024-01-01" and "补-2" in f["details"]["agreed_start_source"]
    assert f["details"]["contract_agreed_start"] == "2021-01-01"


def test_started_is_read_from_the_latest_record(land: Land) -> None:
    s = _supply(land, "STARTED", date(2021, 1, 1))
    land.development(s, date(2021, 6, 1), actual_start=date(2021, 5, 1))
    t = _supply(land, "LATER", date(2021, 1, 1), x=200)
    land.development(t, date(2024, 1, 1), actual_start=date(2023, 12, 1))
    got = _idle(land, date(2023, 6, 30))
    assert "STARTED" not in got["idle_not_started"]
    assert "LATER" in got["idle_not_started"], "a record observed after the as-of date is not known yet"
    assert "LATER" not in _idle(land, date(2024, 6, 30))["idle_not_started"]


def test_methods_in_scope_by_containment(land: Land) -> None:
    _supply(land, "GUAPAI", date(2021, 1, 1), supply_method="挂牌出让")
    _supply(land, "HUABO", date(2021, 1, 1), x=200, supply_method="划拨")
    _supply(land, "ZULIN", date(2021, 1, 1), x=400, supply_method="租赁")
    _supply(land, "OTHER", date(2021, 1, 1), x=600, supply_method="其他")
    got = _idle(land, date(2024, 6, 30))
    assert got["idle_not_started"] == {"GUAPAI", "HUABO", "ZULIN"}
    land.setting("idle_supply_methods", '["出让"]')
    assert _idle(land, date(2024, 6, 30))["idle_not_started"] == {"GUAPAI"}


def test_reclaimed_supply_is_not_idle(land: Land) -> None:
    _supply(land, "GONE", date(2021, 1, 1), reclaimed_date=date(2024, 1, 1))
    assert "GONE" not in _idle(land, date(2024, 6, 30))["idle_not_started"]
    assert "GONE" in _idle(land, date(2023, 6, 30))["idle_not_started"]


def test_stalled_developed_area_under_a_third(land: Land) -> None:
    s = _supply(land, "STALL", date(2021, 1, 1), area=1.0)
    land.development(s, date(2021, 6, 1), actual_start=date(2021, 5, 1), developed_area=0.1)
    land.development(s, date(2023, 1, 1), actual_start=date(2021, 5, 1), developed_area=0.2,
                     invested=500, total_investment=1000, suspended_since=date(2022, 6, 1))
    assert "STALL" not in _idle(land, date(2023, 6, 1))["idle_stalled"], "suspended one full year only after 06-01"
    got = _idle(land, date(2023, 6, 2))
    assert "STALL" in got["idle_stalled"] and "STALL" not in got["idle_not_started"]
    f = {r["subject"]: r for r in land.rule("idle_stalled", date(2023, 6, 2))}["STALL"]
    assert f["severity"] == "高"
    assert f["details"]["developed_share"] == approx(0.2)
    assert "三分之一" in f["message"]
    # a third developed and half invested: not idle
    t = _supply(land, "ENOUGH", date(2021, 1, 1), x=200, area=1.0)
    land.development(t, date(2023, 1, 1), actual_start=date(2021, 5, 1), developed_area=0.34,
                     invested=500, total_investment=1000, suspended_since=date(2022, 1, 1))
    assert "ENOUGH" not in _idle(land, date(2023, 6, 2))["idle_stalled"]


def test_stalled_investment_under_a_quarter(land: Land) -> None:
    s = _supply(land, "POOR", date(2021, 1, 1), area=1.0)
    land.development(s, date(2023, 1, 1), actual_start=date(2021, 5, 1), developed_area=0.5,
                     invested=20, total_investment=100, suspended_since=date(2022, 1, 1))
    t = _supply(land, "RICH", date(2021, 1, 1), x=200, area=1.0)
    land.development(t, date(2023, 1, 1), actual_start=date(2021, 5, 1), developed_area=0.5,
                     invested=25, total_investment=100, suspended_since=date(2022, 1, 1))
    u = _supply(land, "DONE", date(2021, 1, 1), x=400, area=1.0)
    land.development(u, date(2023, 1, 1), actual_start=date(2021, 5, 1), actual_completion=date(2022, 12, 1),
                     developed_area=0.1, invested=5, total_investment=100, suspended_since=date(2022, 1, 1))
    v = _supply(land, "RUNNING", date(2021, 1, 1), x=600, area=1.0)
    land.development(v, date(2023, 1, 1), actual_start=date(2021, 5, 1), developed_area=0.1,
                     invested=5, total_investment=100)
    got = _idle(land, date(2023, 6, 30))
    assert got["idle_stalled"] == {"POOR"}
    f = land.rule("idle_stalled", date(2023, 6, 30))[0]
    assert f["details"]["invested_share"] == approx(0.2) and "25%" in f["message"]


def test_idle_flags_in_a_stored_run(land: Land) -> None:
    _supply(land, "RUN1", date(2022, 3, 1))
    run = land.analyze(date(2023, 3, 2), full=True)
    f = land.flags(run, "idle_not_started")
    assert [x["subject"] for x in f] == ["RUN1"]
    assert f[0]["supply_ids"] and f[0]["wkt"].startswith("MULTIPOLYGON")
    assert land.flags(run, "start_overdue") == []
