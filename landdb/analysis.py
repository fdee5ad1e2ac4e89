"""Running the analysis and reading its results.

The overlay, the metrics and the rules are SQL (``sql/40_overlay.sql`` … ``sql/70_analyze.sql``);
this module only calls them, so the CLI, the plugin and a ``psql`` session get the same answers.

* :func:`analyze` runs ``landdb.analyze(as_of, full)`` and stores a run (incremental unless
  ``full``); :func:`get_or_run` returns the stored run of a date, running one if there is none.
* :func:`flags`, :func:`stats` and :func:`reconcile` read a stored run (of a date, or by id);
  :func:`runs`, :func:`keep_run`, :func:`delete_runs` and :func:`prune_runs` manage the stored runs.
* :func:`five_year`, :func:`digestion`, :func:`task_progress`, :func:`disposal_rate` and
  :func:`years_of_supply` are the metrics of domain.md ("Figures").

Areas are m² (亩 and 公顷 beside them where people read them); rates are fractions (0.5 = 50 %).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

import psycopg2
import psycopg2.extensions
import psycopg2.extras

from .errors import LanddbError

Connection = psycopg2.extensions.connection

GROUPINGS = ("batch", "township", "zone", "cohort", "year", "total")

# Headline figures of a run, in the order people read them.
FIGURES = ("batches", "pieces", "approved_m2", "supplied_m2", "withdrawn_m2", "unsupplied_m2", "unsupplied_mu",
           "unacquired_m2", "acquired_unsupplied_m2", "supply_rate", "recorded_supplied_m2",
           "recorded_supply_rate")


class AnalysisError(LanddbError):
    """A request the analysis cannot answer (unknown grouping, rule or target)."""


def _rows(conn: Connection, sql: str, args: Sequence[Any] | Mapping[str, Any] = ()) -> list[dict]:
    with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
        cur.execute(sql, args)
        return [dict(r) for r in cur.fetchall()]


def _one(conn: Connection, sql: str, args: Sequence[Any] = ()) -> dict:
    rows = _rows(conn, sql, args)
    return rows[0] if rows else {}


# ---------------------------------------------------------------------------------- runs
def run_info(conn: Connection, run_id: int) -> dict:
    """A stored run as the dict :func:`analyze` returns."""
    r = _one(conn, "SELECT id, as_of, mode, status, started_at, finished_at, summary, parent_run_id, "
                   "n_recomputed, n_copied FROM landdb.analysis_run WHERE id = %s", (run_id,))
    if not r:
        raise AnalysisError(f"没有分析运行 {run_id} [no such run]")
    summary = r["summary"] or {}
    five = summary.get("five_year") or {}
    figures = {k: summary.get(k) for k in FIGURES}
    figures.update({
        "five_year_rate": five.get("supply_rate"),
        "five_year_threshold": five.get("threshold"),
        "five_year_below_threshold": five.get("below_threshold"),
    })
    return {
        "run_id": r["id"],
        "as_of": r["as_of"],
        "mode": r["mode"],
        "status": r["status"],
        "seconds": summary.get("seconds"),
        "recomputed": r["n_recomputed"],
        "copied": r["n_copied"],
        "parent_run_id": r["parent_run_id"],
        "figures": figures,
        "flag_counts": dict(summary.get("flags") or {}),
        "five_year": five,
        "timings": summary.get("timings") or {},
    }


def analyze(conn: Connection, as_of: date, full: bool = False, commit: bool = True) -> dict:
    """Analyse as of a date and store the run; incremental against the previous run of the same
    date unless ``full``. Commits unless ``commit`` is false (then the caller's transaction holds
    the run). Returns the run id, mode, seconds, headline figures and flag counts by rule."""
    t0 = time.perf_counter()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT landdb.analyze(%s, %s)", (as_of, full))
            run_id = cur.fetchone()[0]
        info = run_info(conn, run_id)
        if commit:
            conn.commit()
    except BaseException:
        if commit:
            conn.rollback()
        raise
    info["seconds"] = round(time.perf_counter() - t0, 3)
    return info


def latest_run(conn: Connection, as_of: date) -> int | None:
    """Id of the latest finished run of a date, or None."""
    with conn.cursor() as cur:
        cur.execute("SELECT landdb.latest_run(%s)", (as_of,))
        return cur.fetchone()[0]


def get_or_run(conn: Connection, as_of: date, commit: bool = True) -> dict:
    """The stored run of that date (the latest), running one if there is none."""
    run_id = latest_run(conn, as_of)
    if run_id is None:
        return analyze(conn, as_of, commit=commit)
    return run_info(conn, run_id)


def _the_run(conn: Connection, as_of: date | None, run_id: int | None, commit: bool) -> dict:
    """The stored run ``run_id`` when given (an earlier run reopened), else that of ``as_of``."""
    if run_id is None:
        return get_or_run(conn, as_of, commit=commit)
    info = run_info(conn, run_id)
    if as_of is not None and info["as_of"] != as_of:
        raise AnalysisError(f"分析运行 {run_id} 的基准日是 {info['as_of']}，不是 {as_of} "
                            "[the run is of another date]")
    return info


def runs(conn: Connection, as_of: date | None = None) -> list[dict]:
    """The stored runs (of one as-of date, or all), oldest first: landdb.v_analysis_run."""
    return _rows(conn, "SELECT * FROM landdb.v_analysis_run WHERE %(d)s::date IS NULL OR as_of = %(d)s ORDER BY id",
                 {"d": as_of})


def _change_runs(conn: Connection, fn, commit: bool):
    """Run fn(cursor) in the caller's transaction, within a savepoint: a refusal (a kept run, an
    unknown id) changes nothing and leaves the transaction usable, the database's refusal becoming
    an AnalysisError with its message. Commits unless ``commit`` is false."""
    with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
        cur.execute("SAVEPOINT landdb_runs")
        try:
            out = fn(cur)
        except psycopg2.Error as e:  # a kept run, or no permission
            cur.execute("ROLLBACK TO SAVEPOINT landdb_runs")
            raise AnalysisError(e.diag.message_primary or str(e)) from None
        except AnalysisError:
            cur.execute("ROLLBACK TO SAVEPOINT landdb_runs")
            raise
        cur.execute("RELEASE SAVEPOINT landdb_runs")
    if commit:
        conn.commit()
    return out


def keep_run(conn: Connection, run_id: int, kept: bool = True, note: str | None = None,
             commit: bool = True) -> dict:
    """Mark a run kept (留存: never pruned nor deleted), with a note saying why, or unmark it."""
    def fn(cur):
        cur.execute("UPDATE landdb.analysis_run SET kept = %s, note = coalesce(%s, note) WHERE id = %s RETURNING id",
                    (kept, note, run_id))
        if cur.fetchone() is None:
            raise AnalysisError(f"没有分析运行 {run_id} [no such run]")
        cur.execute("SELECT * FROM landdb.v_analysis_run WHERE id = %s", (run_id,))
        return dict(cur.fetchone())
    return _change_runs(conn, fn, commit)


def delete_runs(conn: Connection, run_ids: Sequence[int], commit: bool = True) -> list[int]:
    """Delete stored runs with their results (what other runs of their lineage share stays with
    those); a kept run is refused, and so is an unknown id. Returns the ids deleted."""
    def fn(cur):
        cur.execute("SELECT array_agg(x ORDER BY x) AS missing FROM unnest(%s::bigint[]) x "
                    "WHERE NOT EXISTS (SELECT FROM landdb.analysis_run r WHERE r.id = x)", (list(run_ids),))
        missing = cur.fetchone()["missing"]
        if missing:
            raise AnalysisError(f"没有分析运行 {', '.join(map(str, missing))} [no such run]")
        cur.execute("DELETE FROM landdb.analysis_run WHERE id = ANY (%s::bigint[]) RETURNING id", (list(run_ids),))
        return sorted(r["id"] for r in cur.fetchall())
    return _change_runs(conn, fn, commit)


def prune_runs(conn: Connection, dry_run: bool = False, commit: bool = True) -> list[dict]:
    """Delete the runs neither kept nor the latest of their as-of date (landdb.prune_runs);
    with ``dry_run`` only list them. Returns them."""
    def fn(cur):
        cur.execute("SELECT * FROM landdb.prune_runs(%s)", (dry_run,))
        return [dict(r) for r in cur.fetchall()]
    return _change_runs(conn, fn, commit)


# ---------------------------------------------------------------------------------- rules and flags
def rules(conn: Connection) -> list[dict]:
    """The rule catalogue: id, severity, Chinese and English names, subject kind."""
    return _rows(conn, "SELECT rule, severity, label, label_en, subject_kind FROM landdb.rule_catalog() ORDER BY sort")


def flags(conn: Connection, as_of: date | None, rule: str | None = None, township: str | None = None,
          severity: str | None = None, commit: bool = True, run_id: int | None = None) -> list[dict]:
    """Flags of the stored run of a date (running one if none), or of the stored run ``run_id``,
    with their handling status and the geometry as GeoJSON (``geometry``)."""
    if rule is not None and rule not in {r["rule"] for r in rules(conn)}:
        raise AnalysisError(f"未知规则 {rule} [unknown rule]")
    run = _the_run(conn, as_of, run_id, commit)
    rows = _rows(conn, """
        SELECT f.rule, c.label AS rule_label, f.subject, f.severity, f.area_m2, landdb.m2_to_mu(f.area_m2) AS area_mu,
               f.message, f.details, f.township, coalesce(s.status, '待核实') AS handling,
               ST_AsGeoJSON(f.geom, 3)::json AS geometry, f.batch_ids, f.supply_ids, %(run)s::bigint AS run_id
        FROM landdb.run_flags(%(run)s) f
        JOIN landdb.rule_catalog() c ON c.rule = f.rule
        LEFT JOIN landdb.flag_status s ON s.rule = f.rule AND s.subject = f.subject
        WHERE (%(rule)s::text IS NULL OR f.rule = %(rule)s) AND (%(twp)s::text IS NULL OR f.township = %(twp)s)
          AND (%(sev)s::text IS NULL OR f.severity = %(sev)s)
        ORDER BY c.sort, f.subject""", {"run": run["run_id"], "rule": rule, "twp": township, "sev": severity})
    return rows


# ---------------------------------------------------------------------------------- figures
def _cohorts_json(cohorts: Iterable[Any] | None) -> str | None:
    """Cohorts as (from, to), (label, from, to) or {"label", "from", "to"} → the JSON the SQL takes."""
    if cohorts is None:
        return None
    out = []
    for c in cohorts:
        if isinstance(c, dict):
            lo, hi, label = c.get("from"), c.get("to"), c.get("label")
        elif len(c) == 3:
            label, lo, hi = c
        else:
            lo, hi = c
            label = None
        lo_s = lo.isoformat() if isinstance(lo, date) else lo
        hi_s = hi.isoformat() if isinstance(hi, date) else hi
        out.append({"label": label or f"{lo_s or ''}…{hi_s or ''}", "from": lo_s, "to": hi_s})
    return json.dumps(out, ensure_ascii=False)


def stats(conn: Connection, as_of: date | None, by: str = "batch", cohorts: Iterable[Any] | None = None,
          commit: bool = True, run_id: int | None = None) -> list[dict]:
    """供地率 and 批而未供 figures of the stored run of a date (or of the run ``run_id``), grouped
    ``by`` batch, township, zone, year (of approval), cohort (approval-date ranges; default: the
    task targets' cohorts) or total.
    Both rates are given: ``supply_rate`` (spatial) and ``recorded_supply_rate`` (recorded links)."""
    if by not in GROUPINGS:
        raise AnalysisError(f"未知的统计口径 {by}（可选 {', '.join(GROUPINGS)}） [unknown grouping]")
    run = _the_run(conn, as_of, run_id, commit)
    rows = _rows(conn, "SELECT * FROM landdb.supply_stats(%s, %s, %s, %s::jsonb)",
                 (run["as_of"], by, run["run_id"], _cohorts_json(cohorts)))
    return rows


def reconcile(conn: Connection, as_of: date | None, commit: bool = True, run_id: int | None = None) -> list[dict]:
    """Batches whose spatial and recorded supplied areas differ (beyond supply_rate_mismatch_share),
    each with the supplies responsible (area in the batch against the recorded link); of the
    stored run of a date, or of the run ``run_id``."""
    run = _the_run(conn, as_of, run_id, commit)
    rows = _rows(conn, "SELECT * FROM landdb.reconcile(%s, %s)", (run["as_of"], run["run_id"]))
    out: dict[int, dict] = {}
    for r in rows:
        b = out.setdefault(r["batch_id"], {
            "batch_id": r["batch_id"], "pzwh": r["pzwh"], "pzwh_key": r["pzwh_key"], "township": r["township"],
            "supplied_m2": r["supplied_m2"], "recorded_supplied_m2": r["recorded_supplied_m2"],
            "difference_m2": r["difference_m2"], "supplies": [],
        })
        b["supplies"].append({k: r[k] for k in ("supply_id", "supply_key", "dzjgh", "land_user", "contract_date",
                                                "spatial_m2", "recorded_m2", "supply_difference_m2", "note")})
    return list(out.values())


def five_year(conn: Connection, as_of: date, year: int | None = None, commit: bool = True) -> dict:
    """The pooled five-year 供地率 (batches approved in Y−5 … Y−1) against five_year_supply_threshold."""
    run = get_or_run(conn, as_of, commit=commit)
    row = _one(conn, "SELECT * FROM landdb.five_year_supply_rate(%s, %s, %s)", (as_of, year, run["run_id"]))
    return row


def digestion(conn: Connection, start: date, end: date, scope: dict | None = None, commit: bool = True) -> dict:
    """消化 between two dates: stock at ``start`` − stock at ``end`` over the batches approved by
    ``start`` (only supply and approved withdrawal reduce it), and 消化率 = digested ÷ stock at start.
    ``scope``: township, zone_code, cohort_from, cohort_to. Runs the analysis of either date if
    it has no stored run."""
    scope = dict(scope or {})
    unknown = set(scope) - {"township", "zone_code", "cohort_from", "cohort_to"}
    if unknown:
        raise AnalysisError(f"未知的范围条件 {sorted(unknown)} [unknown scope keys]")
    r0 = get_or_run(conn, start, commit=commit)
    r1 = get_or_run(conn, end, commit=commit)
    row = _one(conn, "SELECT * FROM landdb.digestion(%s, %s, %s, %s, %s, %s, %s, %s)",
               (start, end, scope.get("township"), scope.get("zone_code"), scope.get("cohort_from"),
                scope.get("cohort_to"), r0["run_id"], r1["run_id"]))
    row.update({"start_date": start, "end_date": end, "scope": scope})
    return row


def task_progress(conn: Connection, target_code: str, as_of: date, commit: bool = True) -> dict:
    """Progress of a task target: achieved value in its unit, completion (achieved ÷ target) and
    the share its schedule expects by ``as_of``. Separate from 消化率, which is also given."""
    t = _one(conn, "SELECT baseline_date FROM landdb.task_target WHERE target_code = %s", (target_code,))
    if not t:
        raise AnalysisError(f"未找到任务目标 {target_code} [unknown task target]")
    r0 = get_or_run(conn, t["baseline_date"], commit=commit)
    r1 = get_or_run(conn, as_of, commit=commit)
    row = _one(conn, "SELECT * FROM landdb.task_progress(%s, %s, %s, %s)",
               (target_code, as_of, r0["run_id"], r1["run_id"]))
    row["as_of"] = as_of
    return row


def disposal_rate(conn: Connection, as_of: date, scope_start: date | None = None,
                  township: str | None = None) -> dict:
    """闲置土地处置率: area of determined idle cases whose plan is closed (销号) by ``as_of`` ÷ area of
    all cases determined by then (from ``scope_start``, if given), cumulative."""
    row = _one(conn, "SELECT * FROM landdb.disposal_rate(%s, %s, %s)", (as_of, scope_start, township))
    row.update({"as_of": as_of, "scope_start": scope_start, "township": township})
    return row


def years_of_supply(conn: Connection, zone_code: str, as_of: date) -> dict:
    """尚可供应年限 of a development zone: (planned construction land − supplied) ÷ average annual
    supply of the last supply_years_window years."""
    row = _one(conn, "SELECT * FROM landdb.years_of_supply(%s, %s)", (zone_code, as_of))
    if not row:
        raise AnalysisError(f"未找到开发区 {zone_code} [unknown development zone]")
    return row
