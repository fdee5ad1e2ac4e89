-- Metrics (domain.md "Figures"): 供地率 by any grouping, the pooled five-year rate, 消化 and 消化率,
-- task completion, 闲置土地处置率, 尚可供应年限, and the reconciliation of spatial and recorded supply.
-- Re-created on every upgrade.
--
-- Functions that need batch figures take an optional run id: given, the stored results of that
-- run are used; NULL, the latest finished run of the date, or, if there is none, the overlay is
-- computed now. 供地率 = supplied ÷ (approved − withdrawn), pooled as Σ ÷ Σ over a group.

-- ---------------------------------------------------------------- 供地率 by group
DROP FUNCTION IF EXISTS landdb.supply_stats(date, text, bigint, jsonb);
CREATE FUNCTION landdb.supply_stats(as_of date, by text DEFAULT 'batch', run_id bigint DEFAULT NULL,
                                    cohorts jsonb DEFAULT NULL)
RETURNS TABLE (
    group_key text, group_label text, date_from date, date_to date, n_batches integer,
    approved_m2 double precision, withdrawn_m2 double precision, supplied_m2 double precision,
    unsupplied_m2 double precision, unsupplied_mu double precision, unsupplied_ha double precision,
    unacquired_m2 double precision, acquired_unsupplied_m2 double precision, supply_rate double precision,
    recorded_supplied_m2 double precision, recorded_supply_rate double precision)
LANGUAGE plpgsql STABLE AS $$
DECLARE
  run bigint := coalesce(supply_stats.run_id, landdb.latest_run(supply_stats.as_of));
  coh jsonb := supply_stats.cohorts;
BEGIN
  IF by NOT IN ('batch', 'township', 'zone', 'year', 'cohort', 'total') THEN
    RAISE EXCEPTION '未知的统计口径 % （可选 batch, township, zone, year, cohort, total） [unknown grouping]', by;
  END IF;
  IF by = 'cohort' AND coh IS NULL THEN
    -- default cohorts: those the task targets name
    SELECT jsonb_agg(jsonb_build_object('label', t.label, 'from', t.cohort_from, 'to', t.cohort_to)
                     ORDER BY t.cohort_from NULLS FIRST, t.cohort_to)
      INTO coh
    FROM (SELECT DISTINCT coalesce(tt.cohort_from::text, '') || '…' || coalesce(tt.cohort_to::text, '') AS label,
                 tt.cohort_from, tt.cohort_to
          FROM landdb.task_target tt WHERE tt.cohort_from IS NOT NULL OR tt.cohort_to IS NOT NULL) t;
  END IF;
  RETURN QUERY
  WITH b AS (SELECT * FROM landdb.run_batches(supply_stats.as_of, run)),
  g AS (
    SELECT b.pzwh_key AS k, b.pzwh AS label, b.approval_date AS d0, b.approval_date AS d1, b.*
    FROM b WHERE by = 'batch'
    UNION ALL
    SELECT coalesce(b.township, ''), coalesce(b.township, '（未知乡镇）'), NULL::date, NULL::date, b.*
    FROM b WHERE by = 'township'
    UNION ALL
    SELECT coalesce(b.zone_code, ''), coalesce(z.zone_name, '（开发区外）'), NULL, NULL, b.*
    FROM b LEFT JOIN landdb.dev_zone z ON z.zone_code = b.zone_code WHERE by = 'zone'
    UNION ALL
    SELECT coalesce(extract(year FROM b.approval_date)::text, ''),
           coalesce(extract(year FROM b.approval_date)::text || '年', '（批准日期未知）'),
           make_date(extract(year FROM b.approval_date)::int, 1, 1),
           make_date(extract(year FROM b.approval_date)::int, 12, 31), b.*
    FROM b WHERE by = 'year'
    UNION ALL
    SELECT c.value ->> 'label', c.value ->> 'label', (c.value ->> 'from')::date, (c.value ->> 'to')::date, b.*
    FROM jsonb_array_elements(coalesce(coh, '[]')) c
    JOIN b ON (c.value ->> 'from' IS NULL OR b.approval_date >= (c.value ->> 'from')::date)
          AND (c.value ->> 'to' IS NULL OR b.approval_date <= (c.value ->> 'to')::date)
    WHERE by = 'cohort'
    UNION ALL
    SELECT 'total', '合计', NULL, NULL, b.* FROM b WHERE by = 'total'
  )
  SELECT g.k, min(g.label), min(g.d0), max(g.d1), count(*)::int,
         sum(g.approved_m2), sum(g.withdrawn_m2), sum(g.supplied_m2), sum(g.unsupplied_m2),
         landdb.m2_to_mu(sum(g.unsupplied_m2)), landdb.m2_to_ha(sum(g.unsupplied_m2)),
         sum(g.unacquired_m2), sum(g.acquired_unsupplied_m2),
         sum(g.supplied_m2) / nullif(sum(g.approved_m2 - g.withdrawn_m2), 0),
         sum(coalesce(g.recorded_supplied_m2, 0)),
         sum(coalesce(g.recorded_supplied_m2, 0)) / nullif(sum(g.approved_m2 - g.withdrawn_m2), 0)
  FROM g GROUP BY g.k ORDER BY min(g.d0) NULLS LAST, g.k;
END $$;
COMMENT ON FUNCTION landdb.supply_stats(date, text, bigint, jsonb) IS '供地率统计（按批次、乡镇、开发区、年度、批次时段或合计；空间与登记两种口径） | supply rates by batch, township, zone, year, cohort or total';

-- ---------------------------------------------------------------- five-year rate (增存挂钩)
DROP FUNCTION IF EXISTS landdb.five_year_supply_rate(date, integer, bigint);
CREATE FUNCTION landdb.five_year_supply_rate(as_of date, year integer DEFAULT NULL, run_id bigint DEFAULT NULL)
RETURNS TABLE (
    year integer, from_year integer, to_year integer, n_batches integer,
    approved_m2 double precision, withdrawn_m2 double precision, supplied_m2 double precision,
    supply_rate double precision, recorded_supplied_m2 double precision, recorded_supply_rate double precision,
    threshold double precision, below_threshold boolean)
LANGUAGE sql STABLE AS $$
  WITH p AS (
    SELECT coalesce(five_year_supply_rate.year, extract(year FROM five_year_supply_rate.as_of)::int) AS y,
           landdb.setting_num('five_year_window')::int AS n,
           landdb.setting_num('five_year_supply_threshold') AS t
  ), s AS (
    SELECT count(b.*)::int AS n_batches, coalesce(sum(b.approved_m2), 0) AS ap, coalesce(sum(b.withdrawn_m2), 0) AS wd,
           coalesce(sum(b.supplied_m2), 0) AS su, coalesce(sum(coalesce(b.recorded_supplied_m2, 0)), 0) AS rs
    FROM p, landdb.run_batches(five_year_supply_rate.as_of,
                               coalesce(five_year_supply_rate.run_id, landdb.latest_run(five_year_supply_rate.as_of))) b
    WHERE extract(year FROM b.approval_date) BETWEEN p.y - p.n AND p.y - 1
  )
  SELECT p.y, p.y - p.n, p.y - 1, s.n_batches, s.ap, s.wd, s.su, s.su / nullif(s.ap - s.wd, 0),
         s.rs, s.rs / nullif(s.ap - s.wd, 0), p.t, s.su / nullif(s.ap - s.wd, 0) < p.t
  FROM p, s
$$;
COMMENT ON FUNCTION landdb.five_year_supply_rate(date, integer, bigint) IS '近五年供地率（Y−5…Y−1 年批准批次合并计算，对照阈值） | pooled five-year supply rate against the threshold';

-- ---------------------------------------------------------------- 消化 / 消化率
-- Stock of a scope at the start minus its stock at the end, over the batches approved by the
-- start (new approvals add no stock here); only supply and approved withdrawal reduce the stock
-- and a reclaimed supply puts its land back, which the overlays at both dates already say.
DROP FUNCTION IF EXISTS landdb.digestion(date, date, text, text, date, date, bigint, bigint);
CREATE FUNCTION landdb.digestion(start_date date, end_date date, township text DEFAULT NULL,
                                 zone_code text DEFAULT NULL, cohort_from date DEFAULT NULL,
                                 cohort_to date DEFAULT NULL, start_run bigint DEFAULT NULL,
                                 end_run bigint DEFAULT NULL)
RETURNS TABLE (
    n_batches integer,
    stock_start_m2 double precision, stock_end_m2 double precision, digested_m2 double precision,
    digested_mu double precision, digested_ha double precision,
    by_supply_m2 double precision, by_withdrawal_m2 double precision, digestion_rate double precision)
LANGUAGE sql STABLE AS $$
  WITH s AS (
    SELECT * FROM landdb.run_batches(digestion.start_date,
                                     coalesce(digestion.start_run, landdb.latest_run(digestion.start_date)))
  ), e AS (
    SELECT * FROM landdb.run_batches(digestion.end_date,
                                     coalesce(digestion.end_run, landdb.latest_run(digestion.end_date)))
  ), j AS (
    SELECT s.unsupplied_m2 AS u0, coalesce(e.unsupplied_m2, 0) AS u1,
           coalesce(e.supplied_m2, s.supplied_m2) - s.supplied_m2 AS dsup,
           coalesce(e.withdrawn_m2, s.withdrawn_m2) - s.withdrawn_m2 AS dwd
    FROM s LEFT JOIN e ON e.batch_id = s.batch_id
    WHERE coalesce(s.approval_date <= digestion.start_date, true)
      AND (digestion.township IS NULL OR s.township = digestion.township)
      AND (digestion.zone_code IS NULL OR s.zone_code = digestion.zone_code)
      AND (digestion.cohort_from IS NULL OR s.approval_date >= digestion.cohort_from)
      AND (digestion.cohort_to IS NULL OR s.approval_date <= digestion.cohort_to)
  )
  SELECT count(*)::int,
         coalesce(sum(j.u0), 0), coalesce(sum(j.u1), 0), coalesce(sum(j.u0 - j.u1), 0),
         landdb.m2_to_mu(coalesce(sum(j.u0 - j.u1), 0)), landdb.m2_to_ha(coalesce(sum(j.u0 - j.u1), 0)),
         coalesce(sum(j.dsup), 0), coalesce(sum(j.dwd), 0),
         sum(j.u0 - j.u1) / nullif(sum(j.u0), 0)
  FROM j
$$;
COMMENT ON FUNCTION landdb.digestion(date, date, text, text, date, date, bigint, bigint) IS '批而未供消化面积与消化率（两个基准日之间） | digestion and digestion rate between two dates';

-- ---------------------------------------------------------------- 闲置土地处置率
DROP FUNCTION IF EXISTS landdb.disposal_rate(date, date, text);
CREATE FUNCTION landdb.disposal_rate(as_of date, scope_start date DEFAULT NULL, township text DEFAULT NULL)
RETURNS TABLE (n_cases integer, idle_m2 double precision,
               n_closed integer, closed_m2 double precision, disposal_rate double precision)
LANGUAGE sql STABLE AS $$
  WITH c AS (
    SELECT coalesce(ic.idle_area::double precision * 10000, s.area_m2, s.area::double precision * 10000, 0) AS m2,
           EXISTS (SELECT 1 FROM landdb.disposal_plan dp
                   WHERE dp.idle_case_id = ic.id AND dp.status = '已销号'
                     AND dp.closed_date <= disposal_rate.as_of) AS closed
    FROM landdb.idle_case ic JOIN landdb.supply s ON s.id = ic.supply_id
    WHERE ic.determined_date <= disposal_rate.as_of
      AND (disposal_rate.scope_start IS NULL OR ic.determined_date >= disposal_rate.scope_start)
      AND (disposal_rate.township IS NULL OR s.township = disposal_rate.township)
  )
  SELECT count(*)::int, coalesce(sum(c.m2), 0),
         (count(*) FILTER (WHERE c.closed))::int, coalesce(sum(c.m2) FILTER (WHERE c.closed), 0),
         coalesce(sum(c.m2) FILTER (WHERE c.closed), 0) / nullif(sum(c.m2), 0)
  FROM c
$$;
COMMENT ON FUNCTION landdb.disposal_rate(date, date, text) IS '闲置土地处置率（已认定闲置土地中已销号面积占比，累计） | idle-land disposal rate (closed ÷ determined, cumulative)';

-- ---------------------------------------------------------------- 尚可供应年限
DROP FUNCTION IF EXISTS landdb.years_of_supply(text, date);
CREATE FUNCTION landdb.years_of_supply(zone text, as_of date)
RETURNS TABLE (zone_code text, zone_name text, planned_m2 double precision, supplied_m2 double precision,
               remaining_m2 double precision, window_years integer, supplied_in_window_m2 double precision,
               annual_supply_m2 double precision, years double precision)
LANGUAGE sql STABLE AS $$
  WITH z AS (SELECT * FROM landdb.dev_zone d WHERE d.zone_code = years_of_supply.zone),
  n AS (SELECT landdb.setting_num('supply_years_window')::int AS n),
  sup AS (
    SELECT coalesce(ST_Area(ST_Intersection(z.geom, ST_Union(s.geom ORDER BY s.id))), 0) AS m2
    FROM z, landdb.supply s
    WHERE s.geom && z.geom AND ST_Intersects(s.geom, z.geom)
      AND landdb.in_force(s.contract_date, s.reclaimed_date, years_of_supply.as_of)
    GROUP BY z.geom
  ),
  win AS (
    SELECT coalesce(sum(ST_Area(ST_Intersection(z.geom, s.geom))), 0) AS m2
    FROM z, n, landdb.supply s
    WHERE s.geom && z.geom AND ST_Intersects(s.geom, z.geom)
      AND s.contract_date <= years_of_supply.as_of
      AND s.contract_date > (years_of_supply.as_of - make_interval(years => n.n))::date
  )
  SELECT z.zone_code, z.zone_name, z.planned_construction_m2, coalesce(sup.m2, 0),
         z.planned_construction_m2 - coalesce(sup.m2, 0), n.n, win.m2, win.m2 / n.n,
         (z.planned_construction_m2 - coalesce(sup.m2, 0)) / nullif(win.m2 / n.n, 0)
  FROM z CROSS JOIN n CROSS JOIN win LEFT JOIN sup ON true
$$;
COMMENT ON FUNCTION landdb.years_of_supply(text, date) IS '开发区尚可供应年限（（规划建设用地 − 已供）÷ 近五年年均供地） | years of supply left in a zone';

-- ---------------------------------------------------------------- reconciliation
-- Batches whose spatial and recorded supplied areas differ by more than supply_rate_mismatch_share
-- of the larger (a batch with no recorded link counts as recorded 0), or the batches named, with
-- every supply that makes a difference: its area inside the batch against its recorded link.
-- _reconcile reads the run given (NULL: computes now); reconcile defaults to the latest run.
DROP FUNCTION IF EXISTS landdb._reconcile(date, bigint, bigint[]);
CREATE FUNCTION landdb._reconcile(as_of date, run_id bigint, batches bigint[] DEFAULT NULL)
RETURNS TABLE (
    batch_id bigint, pzwh text, pzwh_key text, township text,
    supplied_m2 double precision, recorded_supplied_m2 double precision, difference_m2 double precision,
    supply_id bigint, supply_key text, dzjgh text, land_user text, contract_date date,
    spatial_m2 double precision, recorded_m2 double precision, supply_difference_m2 double precision, note text)
LANGUAGE sql STABLE AS $$
  WITH cfg AS (
    SELECT landdb.setting_num('supply_rate_mismatch_share') AS share,
           landdb.setting_num('area_mismatch_min_m2') AS min_m2
  ), b AS (
    -- (the batches given: read through the index, not picked out of every batch of the run)
    SELECT r.* FROM landdb._run_batches($1, $2, $3) r WHERE $3 IS NOT NULL
    UNION ALL
    SELECT r.* FROM cfg, landdb.run_batches($1, $2) r
    WHERE $3 IS NULL
      AND abs(r.supplied_m2 - coalesce(r.recorded_supplied_m2, 0))
            > greatest(cfg.share * greatest(r.supplied_m2, coalesce(r.recorded_supplied_m2, 0)), cfg.min_m2)
  ), pairs AS MATERIALIZED (
    -- supplies in force lying in the batch, and supplies in force linked to it; each batch's looked
    -- up through the indexes (a lateral subquery planned for one batch, OFFSET 0: pulled up and
    -- joined as sets, the planner hashed the whole supply and batch tables even for a few batches;
    -- MATERIALIZED: each pair's areas computed once, not again in every test that uses them)
    SELECT b.batch_id, x.*
    FROM b CROSS JOIN LATERAL (
      SELECT s.id AS supply_id, s.geom IS NULL AS no_geom, s.supply_key, s.dzjgh, s.land_user, s.contract_date,
             CASE WHEN s.geom IS NOT NULL AND ab.geom IS NOT NULL THEN ST_Area(ST_Intersection(s.geom, ab.geom)) END
               AS spatial_m2,
             (SELECT coalesce(sb.area, CASE WHEN NOT EXISTS (SELECT 1 FROM landdb.supply_batch o2
                                                             WHERE o2.supply_id = sb.supply_id AND o2.id <> sb.id)
                                            THEN s.area END, 0)::double precision * 10000
              FROM landdb.supply_batch sb WHERE sb.supply_id = s.id AND sb.batch_id = ab.id) AS recorded_m2
      FROM landdb.approval_batch ab
      CROSS JOIN LATERAL (SELECT t.id FROM landdb.supply t
                          WHERE t.geom && ab.geom AND ST_Intersects(t.geom, ab.geom)
                          UNION
                          SELECT sb.supply_id FROM landdb.supply_batch sb WHERE sb.batch_id = ab.id) u
      CROSS JOIN LATERAL (SELECT * FROM landdb.supply t WHERE t.id = u.id) s
      WHERE ab.id = b.batch_id AND landdb.in_force(s.contract_date, s.reclaimed_date, $1) OFFSET 0) x
  )
  SELECT b.batch_id, b.pzwh, b.pzwh_key, b.township, b.supplied_m2, b.recorded_supplied_m2,
         b.supplied_m2 - coalesce(b.recorded_supplied_m2, 0),
         p.supply_id, p.supply_key, p.dzjgh, p.land_user, p.contract_date,
         p.spatial_m2, p.recorded_m2,
         CASE WHEN p.no_geom THEN 0 ELSE coalesce(p.spatial_m2, 0) - coalesce(p.recorded_m2, 0) END,
         CASE WHEN p.no_geom THEN '无宗地图形，按登记面积计入'
              WHEN p.recorded_m2 IS NULL THEN '位于批次内但未登记关联'
              WHEN coalesce(p.spatial_m2, 0) <= cfg.min_m2 THEN '登记关联但图形不在批次内'
              ELSE '图形面积与登记面积不符' END
  FROM cfg, b JOIN pairs p ON p.batch_id = b.batch_id
  WHERE p.no_geom OR p.recorded_m2 IS NULL
     OR abs(coalesce(p.spatial_m2, 0) - p.recorded_m2) > cfg.min_m2
  ORDER BY b.pzwh_key, p.supply_key
$$;
COMMENT ON FUNCTION landdb._reconcile(date, bigint, bigint[]) IS '空间与登记已供面积核对（内部：给定运行或现算） | reconciliation of a run or computed now (internal)';

DROP FUNCTION IF EXISTS landdb.reconcile(date, bigint);
CREATE FUNCTION landdb.reconcile(as_of date, run_id bigint DEFAULT NULL)
RETURNS TABLE (
    batch_id bigint, pzwh text, pzwh_key text, township text,
    supplied_m2 double precision, recorded_supplied_m2 double precision, difference_m2 double precision,
    supply_id bigint, supply_key text, dzjgh text, land_user text, contract_date date,
    spatial_m2 double precision, recorded_m2 double precision, supply_difference_m2 double precision, note text)
LANGUAGE sql STABLE AS $$
  SELECT * FROM landdb._reconcile($1, coalesce($2, landdb.latest_run($1)))
$$;
COMMENT ON FUNCTION landdb.reconcile(date, bigint) IS '空间与登记已供面积核对（差异批次及涉及的供地） | batches whose spatial and recorded supplied areas differ, with the supplies responsible';

-- ---------------------------------------------------------------- task completion
-- Progress of a task target as of a date: the achieved value in the target's unit, the share of
-- the target done, and the share the schedule expects by then. 消化率 is a rate of the stock at the
-- baseline; task completion is achieved ÷ target: two separate figures, never mixed.
DROP FUNCTION IF EXISTS landdb.task_progress(text, date, bigint, bigint);
CREATE FUNCTION landdb.task_progress(code text, as_of date, baseline_run bigint DEFAULT NULL,
                                     run_id bigint DEFAULT NULL)
RETURNS TABLE (
    target_code text, target_name text, metric text, unit text, target_value double precision,
    baseline_date date, due_date date, achieved double precision, completion double precision,
    expected_share double precision, on_track boolean, stock_baseline_m2 double precision,
    digested_m2 double precision, digestion_rate double precision, supply_rate double precision,
    disposal_rate double precision)
LANGUAGE plpgsql STABLE AS $$
DECLARE
  t landdb.task_target;
  twp text;
  d record;
  sr double precision;
  dr double precision;
  got double precision;
  exp_share double precision;
  per_unit double precision;
BEGIN
  SELECT * INTO t FROM landdb.task_target tt WHERE tt.target_code = task_progress.code;
  IF NOT FOUND THEN
    RAISE EXCEPTION '未找到任务目标 % [unknown task target]', task_progress.code;
  END IF;
  IF t.admin_code IS NOT NULL THEN
    SELECT a.admin_name INTO twp FROM landdb.admin_area a WHERE a.admin_code = t.admin_code;
    twp := coalesce(twp, t.admin_code);
    IF EXISTS (SELECT 1 FROM landdb.admin_area a WHERE a.admin_code = t.admin_code AND a.level IN ('县', '市', '省')) THEN
      twp := NULL;  -- a whole county is no narrower than the database
    END IF;
  END IF;
  per_unit := CASE t.unit WHEN '亩' THEN 10000.0 / 15 WHEN '公顷' THEN 10000 WHEN '平方米' THEN 1 ELSE NULL END;
  SELECT * INTO d FROM landdb.digestion(t.baseline_date, task_progress.as_of, twp, t.zone_code, t.cohort_from,
                                        t.cohort_to, baseline_run, task_progress.run_id);
  SELECT sum(b.supplied_m2) / nullif(sum(b.approved_m2 - b.withdrawn_m2), 0) INTO sr
  FROM landdb.run_batches(task_progress.as_of, coalesce(task_progress.run_id, landdb.latest_run(task_progress.as_of))) b
  WHERE (t.cohort_from IS NULL OR b.approval_date >= t.cohort_from)
    AND (t.cohort_to IS NULL OR b.approval_date <= t.cohort_to)
    AND (twp IS NULL OR b.township = twp) AND (t.zone_code IS NULL OR b.zone_code = t.zone_code);
  SELECT r.disposal_rate INTO dr FROM landdb.disposal_rate(task_progress.as_of, t.cohort_from, twp) r;
  got := CASE t.metric
    WHEN '消化面积' THEN d.digested_m2 / per_unit
    WHEN '盘活面积' THEN d.digested_m2 / per_unit
    WHEN '消化率' THEN d.digestion_rate * 100
    WHEN '供地率' THEN sr * 100
    WHEN '闲置土地处置率' THEN dr * 100 END;
  SELECT (m.value ->> 'share')::double precision INTO exp_share
  FROM jsonb_array_elements(CASE jsonb_typeof(t.schedule) WHEN 'array' THEN t.schedule ELSE '[]' END) m
  WHERE (m.value ->> 'date')::date <= task_progress.as_of
  ORDER BY (m.value ->> 'date')::date DESC LIMIT 1;
  RETURN QUERY SELECT t.target_code, t.target_name, t.metric, t.unit, t.target_value::double precision,
    t.baseline_date, t.due_date, got, got / nullif(t.target_value::double precision, 0),
    coalesce(exp_share, 0::double precision),
    got / nullif(t.target_value::double precision, 0) >= coalesce(exp_share, 0),
    d.stock_start_m2, d.digested_m2, d.digestion_rate, sr, dr;
END $$;
COMMENT ON FUNCTION landdb.task_progress(text, date, bigint, bigint) IS '任务目标完成情况（完成值、完成比例、进度节点要求） | progress of a task target';
