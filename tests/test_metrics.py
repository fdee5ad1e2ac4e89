"""Metrics of domain.md ("Figures"), against figures worked out by hand: 供地率 by batch, township,
zone, year and cohort (spatial and recorded), the pooled five-year rate, 消化 and 消化率, task
completion, 闲置土地处置率, 尚可供应年限, and the reconciliation of spatial and recorded supply."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date

import pytest

from landdb import analysis

from .test_overlay import Land, approx, open_land, rect


@pytest.fixture
def land(connect) -> Iterator[Land]:
    yield from open_land(connect)


START, END = date(2023, 12, 31), date(2024, 12, 31)


@pytest.fixture
def metric_county(land: Land) -> Land:
    """Five 1 ha batches (x in metres from the origin):

    M1 2019 [0,100]    S1 0.3 ha (2020, recorded 0.3) + S5 0.2 ha (2024-03, not recorded)
    M2 2020 [200,300]  S2 0.5 ha (2021, recorded 0.4); withdrawal 0.1 ha 批复 2024-05, one 申报
    M3 2018 [1200,1300] S3 1 ha (2019, recorded 1.0)
    M4 2023 [1400,1500] withdrawal 0.2 ha 批复 2023-06; S6 0.2 ha (2023-08) reclaimed 2024-09
    M5 2024 [1600,1700] nothing
    Townships: 东乡 x < 1000, 西乡 beyond; zone Z1 x in [0, 500].
    """
    land.admin("E", "东乡", rect(-100, -100, 1000, 200))
    land.admin("W", "西乡", rect(1000, -100, 2000, 200))
    land.zone("Z1", "一号园区", rect(0, -100, 500, 200))
    m1 = land.batch("M1", rect(0, 0, 100, 100), date(2019, 5, 1))
    m2 = land.batch("M2", rect(200, 0, 300, 100), date(2020, 7, 1))
    m3 = land.batch("M3", rect(1200, 0, 1300, 100), date(2018, 3, 1))
    m4 = land.batch("M4", rect(1400, 0, 1500, 100), date(2023, 2, 1))
    land.batch("M5", rect(1600, 0, 1700, 100), date(2024, 6, 1))
    land.link(land.supply("S1", rect(0, 0, 30, 100), date(2020, 1, 1)), m1, 0.3)
    land.supply("S5", rect(30, 0, 50, 100), date(2024, 3, 1))
    land.link(land.supply("S2", rect(200, 0, 250, 100), date(2021, 1, 1)), m2, 0.4)
    land.withdrawal(m2, "W-M2", date(2024, 5, 1), "批复", geom=rect(290, 0, 300, 100))
    land.withdrawal(m2, "W-M2-申报", date(2024, 5, 1), "申报", geom=rect(280, 0, 290, 100))
    land.link(land.supply("S3", rect(1200, 0, 1300, 100), date(2019, 1, 1)), m3, 1.0)
    land.withdrawal(m4, "W-M4", date(2023, 6, 1), "批复", geom=rect(1480, 0, 1500, 100))
    land.supply("S6", rect(1400, 0, 1420, 100), date(2023, 8, 1), reclaimed_date=date(2024, 9, 1))
    return land


def _by(rows: list[dict], key: str = "group_key") -> dict:
    return {r[key]: r for r in rows}


def test_supply_rate_by_batch_township_zone_year_total(metric_county: Land) -> None:
    conn = metric_county.conn
    b = _by(analysis.stats(conn, END, by="batch", commit=False))
    assert b["M1"]["supply_rate"] == approx(0.5) and b["M1"]["recorded_supply_rate"] == approx(0.3)
    assert b["M2"]["supply_rate"] == approx(5000 / 9000) and b["M2"]["recorded_supply_rate"] == approx(4000 / 9000)
    assert b["M3"]["supply_rate"] == approx(1.0)
    assert b["M4"]["supply_rate"] == approx(0) and b["M4"]["withdrawn_m2"] == approx(2000)
    t = _by(analysis.stats(conn, END, by="township", commit=False))
    assert t["东乡"]["supply_rate"] == approx(10000 / 19000) and t["东乡"]["n_batches"] == 2
    assert t["西乡"]["supply_rate"] == approx(10000 / 28000)
    assert t["西乡"]["unsupplied_mu"] == approx((30000 - 2000 - 10000) * 15 / 10000)
    z = _by(analysis.stats(conn, END, by="zone", commit=False))
    assert z["Z1"]["group_label"] == "一号园区" and z["Z1"]["supply_rate"] == approx(10000 / 19000)
    assert z[""]["n_batches"] == 3
    y = _by(analysis.stats(conn, END, by="year", commit=False))
    assert {k: round(v["supply_rate"], 6) for k, v in y.items()} == {
        "2018": 1.0, "2019": 0.5, "2020": round(5000 / 9000, 6), "2023": 0.0, "2024": 0.0}
    total = analysis.stats(conn, END, by="total", commit=False)
    assert len(total) == 1 and total[0]["supply_rate"] == approx(20000 / 47000)
    assert total[0]["recorded_supply_rate"] == approx(17000 / 47000)


def test_supply_rate_by_cohort(metric_county: Land) -> None:
    conn = metric_county.conn
    rows = analysis.stats(conn, END, by="cohort", commit=False,
                          cohorts=[(date(2018, 1, 1), date(2019, 12, 31)),
                                   ("2020–2023", date(2020, 1, 1), date(2023, 12, 31))])
    assert [r["group_label"] for r in rows] == ["2018-01-01…2019-12-31", "2020–2023"]
    assert rows[0]["supply_rate"] == approx(15000 / 20000)
    assert rows[1]["supply_rate"] == approx(5000 / 17000)
    # without ranges: the cohorts of the task targets
    metric_county.sql("INSERT INTO landdb.task_target (target_code, target_name, metric, target_value, unit, "
                      "cohort_from, cohort_to, baseline_date, due_date) VALUES "
                      "('C1', '2008–2018 批次', '供地率', 96, '%%', '2008-01-01', '2018-12-31', "
                      "'2022-12-31', '2025-12-31')")
    rows = analysis.stats(conn, END, by="cohort", commit=False)
    assert [(r["date_from"], r["date_to"], r["n_batches"]) for r in rows] == [(date(2008, 1, 1), date(2018, 12, 31), 1)]


def test_five_year_rate(metric_county: Land) -> None:
    f = analysis.five_year(metric_county.conn, END, commit=False)
    assert (f["year"], f["from_year"], f["to_year"], f["n_batches"]) == (2024, 2019, 2023, 3)
    assert f["supply_rate"] == approx(10000 / 27000)
    assert f["recorded_supply_rate"] == approx(7000 / 27000)
    assert f["threshold"] == approx(0.6) and f["below_threshold"] is True
    metric_county.setting("five_year_supply_threshold", "0.3")
    f = analysis.five_year(metric_county.conn, END, commit=False)
    assert f["below_threshold"] is False
    # the run's summary carries it too
    run = analysis.get_or_run(metric_county.conn, END, commit=False)
    assert run["figures"]["five_year_rate"] == approx(10000 / 27000)


def test_digestion_between_two_dates(metric_county: Land) -> None:
    d = analysis.digestion(metric_county.conn, START, END, commit=False)
    # stock 2023-12-31: M1 7000 + M2 5000 + M3 0 + M4 6000 (S6 in force) = 18000 (M5 not yet approved)
    # stock 2024-12-31: M1 5000 + M2 4000 + M4 8000 (S6 reclaimed: land back) = 17000
    assert d["stock_start_m2"] == approx(18000)
    assert d["stock_end_m2"] == approx(17000)
    assert d["digested_m2"] == approx(1000) and d["digested_mu"] == approx(1.5)
    assert d["digestion_rate"] == approx(1000 / 18000)
    assert d["by_supply_m2"] == approx(0), "S5 supplied 2000, S6 reclaimed 2000"
    assert d["by_withdrawal_m2"] == approx(1000), "only the 批复 withdrawal"
    assert d["n_batches"] == 4
    east = analysis.digestion(metric_county.conn, START, END, {"township": "东乡"}, commit=False)
    assert east["stock_start_m2"] == approx(12000) and east["digested_m2"] == approx(3000)
    cohort = analysis.digestion(metric_county.conn, START, END, {"cohort_from": date(2023, 1, 1)}, commit=False)
    assert cohort["digested_m2"] == approx(-2000) and cohort["digestion_rate"] == approx(-2000 / 6000)


def test_task_completion_is_not_digestion_rate(metric_county: Land) -> None:
    land = metric_county
    sched = json.dumps([{"date": "2024-06-30", "share": 0.25}, {"date": "2024-12-31", "share": 0.5}])
    land.sql("INSERT INTO landdb.task_target (target_code, target_name, metric, target_value, unit, baseline_date, "
             "due_date, schedule) VALUES ('T-AREA', '消化任务', '消化面积', 3, '亩', %s, '2025-12-31', %s), "
             "('T-RATE', '消化率', '消化率', 25, '%%', %s, '2024-12-31', '[]'), "
             "('T-SUP', '供地率', '供地率', 70, '%%', %s, '2025-12-31', '[]')", (START, sched, START, START))
    land.sql("UPDATE landdb.task_target SET cohort_from = '2020-01-01', cohort_to = '2023-12-31' "
             "WHERE target_code = 'T-SUP'")
    a = analysis.task_progress(land.conn, "T-AREA", END, commit=False)
    assert a["achieved"] == approx(1.5) and a["completion"] == approx(0.5)
    assert a["expected_share"] == approx(0.5) and a["on_track"] is True
    assert a["digestion_rate"] == approx(1000 / 18000), "消化率 is reported beside, not mixed in"
    r = analysis.task_progress(land.conn, "T-RATE", END, commit=False)
    assert r["achieved"] == approx(100 * 1000 / 18000) and r["completion"] == approx(1000 / 18000 * 100 / 25)
    s = analysis.task_progress(land.conn, "T-SUP", END, commit=False)
    assert s["achieved"] == approx(100 * 5000 / 17000)
    h = analysis.task_progress(land.conn, "T-AREA", date(2024, 7, 1), commit=False)
    assert h["expected_share"] == approx(0.25)


def test_disposal_rate(land: Land) -> None:
    s = [land.supply(f"IDL{i}", None, date(2020, 1, 1)) for i in range(4)]
    c1 = land.idle_case(s[0], "C1", determined_date=date(2022, 1, 1), idle_area=1.0)
    c2 = land.idle_case(s[1], "C2", determined_date=date(2023, 1, 1), idle_area=2.0)
    land.idle_case(s[2], "C3", notice_date=date(2023, 1, 1), idle_area=5.0)   # no 认定
    c4 = land.idle_case(s[3], "C4", determined_date=date(2024, 2, 1), idle_area=1.0)
    land.plan("DP1", "闲置土地", idle_case_id=c1, status="已销号", closed_date=date(2023, 6, 1))
    land.plan("DP2", "闲置土地", idle_case_id=c2, status="处置中")
    land.plan("DP4", "闲置土地", idle_case_id=c4, status="已销号", closed_date=date(2025, 1, 15))
    r = analysis.disposal_rate(land.conn, END)
    assert (r["n_cases"], r["n_closed"]) == (3, 1)
    assert r["idle_m2"] == approx(40000) and r["closed_m2"] == approx(10000)
    assert r["disposal_rate"] == approx(0.25)
    assert analysis.disposal_rate(land.conn, END, scope_start=date(2023, 1, 1))["disposal_rate"] == approx(0)
    assert analysis.disposal_rate(land.conn, date(2025, 2, 1))["disposal_rate"] == approx(0.5)


def test_years_of_supply(land: Land) -> None:
    land.zone("Z2", "二号园区", rect(5000, 0, 6000, 1000), planned_m2=500000)
    land.supply("Z2a", rect(5000, 0, 5100, 100), date(2015, 1, 1))
    land.supply("Z2b", rect(5200, 0, 5300, 200), date(2021, 1, 1))
    land.supply("Z2c", rect(5400, 0, 5500, 100), date(2023, 1, 1))
    land.supply("Z2x", rect(6500, 0, 6600, 100), date(2023, 1, 1))      # outside the zone
    y = analysis.years_of_supply(land.conn, "Z2", END)
    assert y["supplied_m2"] == approx(40000) and y["supplied_in_window_m2"] == approx(30000)
    assert y["annual_supply_m2"] == approx(6000)
    assert y["years"] == approx((500000 - 40000) / 6000)
    with pytest.raises(analysis.AnalysisError):
        analysis.years_of_supply(land.conn, "NOPE", END)


def test_reconcile_lists_the_supplies_responsible(metric_county: Land) -> None:
    rows = {r["pzwh_key"]: r for r in analysis.reconcile(metric_county.conn, END, commit=False)}
    assert set(rows) == {"M1", "M2"}
    m1 = rows["M1"]
    assert m1["supplied_m2"] == approx(5000) and m1["recorded_supplied_m2"] == approx(3000)
    assert [(s["supply_key"], s["note"]) for s in m1["supplies"]] == [("S5", "位于批次内但未登记关联")]
    m2 = rows["M2"]["supplies"]
    assert [(s["supply_key"], round(s["supply_difference_m2"])) for s in m2] == [("S2", 1000)]


def test_unknown_grouping_is_refused(land: Land) -> None:
    with pytest.raises(analysis.AnalysisError):
        analysis.stats(land.conn, END, by="village", commit=False)
