-- Views of the latest finished analysis run: plain reads of stored results, with stable keys,
-- so QGIS opens them as layers without recomputing an overlay per render. Re-created on upgrade
-- (CREATE OR REPLACE: columns are only ever added at the end).

-- (chain: the runs whose result rows it may hold, landdb.run_chain)
CREATE OR REPLACE VIEW landdb.v_latest_run AS
SELECT l.id, l.as_of, l.finished_at, landdb.run_chain(l.id) AS chain
FROM (SELECT id, as_of, finished_at FROM landdb.analysis_run
      WHERE status = 'done' ORDER BY finished_at DESC NULLS LAST, id DESC LIMIT 1) l;
COMMENT ON VIEW landdb.v_latest_run IS '最新分析运行 | the latest finished analysis run';
COMMENT ON COLUMN landdb.v_latest_run.chain IS '其结果行所属的运行 | runs whose result rows it holds';

-- Every stored run, newest last, with what people choose runs by.
CREATE OR REPLACE VIEW landdb.v_analysis_run AS
SELECT r.id, r.as_of, r.mode, r.status, r.started_at, r.finished_at,
       (r.summary ->> 'seconds')::double precision AS seconds, r.db_user, r.kept, r.note,
       r.id = landdb.latest_run(r.as_of) AS latest_of_date,
       r.id = (SELECT l.id FROM landdb.v_latest_run l) AS shown,
       (r.summary ->> 'batches')::bigint AS batches,
       (r.summary ->> 'unsupplied_m2')::double precision AS unsupplied_m2,
       (r.summary ->> 'supply_rate')::double precision AS supply_rate,
       (SELECT sum(f.value::bigint) FROM jsonb_each_text(r.summary -> 'flags') f)::bigint AS flags,
       r.parent_run_id, r.lineage_id
FROM landdb.analysis_run r;
COMMENT ON VIEW landdb.v_analysis_run IS '已保存的分析运行 | stored analysis runs';
COMMENT ON COLUMN landdb.v_analysis_run.seconds IS '用时（秒） | seconds';
COMMENT ON COLUMN landdb.v_analysis_run.latest_of_date IS '该基准日最新的运行（按基准日读取时用它） | the latest run of its as-of date (read by as-of date)';
COMMENT ON COLUMN landdb.v_analysis_run.shown IS '最新运行（v_ 视图显示的） | the latest run (shown by the v_ views)';
COMMENT ON COLUMN landdb.v_analysis_run.batches IS '批次数 | batches';
COMMENT ON COLUMN landdb.v_analysis_run.unsupplied_m2 IS '批而未供面积（平方米） | unsupplied area (m²)';
COMMENT ON COLUMN landdb.v_analysis_run.supply_rate IS '供地率（空间） | supply rate (spatial)';
COMMENT ON COLUMN landdb.v_analysis_run.flags IS '问题线索条数 | flags';

CREATE OR REPLACE VIEW landdb.v_batch_supply AS
SELECT b.batch_id, r.id AS run_id, r.as_of, b.pzwh, b.approval_date, b.township, b.zone_code,
       b.approved_m2, b.supplied_m2, b.withdrawn_m2, b.unsupplied_m2,
       landdb.m2_to_mu(b.unsupplied_m2) AS unsupplied_mu,
       landdb.m2_to_ha(b.unsupplied_m2) AS unsupplied_ha,
       b.unacquired_m2, b.acquired_unsupplied_m2, b.supply_rate,
       b.recorded_supplied_m2, b.recorded_supply_rate, a.geom,
       b.pzwh_key, landdb.full_years(b.approval_date, r.as_of) AS age_years,
       b.nogeom_supplied_m2, b.nogeom_withdrawn_m2
FROM landdb.analysis_batch b
JOIN landdb.v_latest_run r ON b.run_id = ANY (r.chain) AND (b.until_run_id IS NULL OR b.until_run_id >= r.id)
JOIN landdb.approval_batch a ON a.id = b.batch_id;
COMMENT ON VIEW landdb.v_batch_supply IS '批次供地情况（最新分析） | per-batch supply figures of the latest run';
COMMENT ON COLUMN landdb.v_batch_supply.age_years IS '批准后满年数 | full years since approval';

CREATE OR REPLACE VIEW landdb.v_unsupplied AS
SELECT p.id, r.id AS run_id, r.as_of, p.batch_id, b.pzwh, b.approval_date, p.piece_no, p.status,
       p.township, p.zone_code, p.area_m2, landdb.m2_to_mu(p.area_m2) AS area_mu,
       landdb.m2_to_ha(p.area_m2) AS area_ha, p.geom,
       b.pzwh_key, landdb.full_years(b.approval_date, r.as_of) AS age_years
FROM landdb.analysis_piece p
JOIN landdb.v_latest_run r ON p.run_id = ANY (r.chain) AND (p.until_run_id IS NULL OR p.until_run_id >= r.id)
JOIN landdb.approval_batch b ON b.id = p.batch_id;
COMMENT ON VIEW landdb.v_unsupplied IS '批而未供图斑（最新分析） | unsupplied pieces of the latest run';
COMMENT ON COLUMN landdb.v_unsupplied.age_years IS '批准后满年数 | full years since approval';

CREATE OR REPLACE VIEW landdb.v_flag AS
SELECT f.id, r.id AS run_id, r.as_of, f.rule, f.subject, f.severity, f.area_m2, f.message, f.details,
       f.township, coalesce(s.status, '待核实') AS handling, s.note AS handling_note, f.geom,
       c.label AS rule_label, f.batch_ids, f.supply_ids
FROM landdb.flag f
JOIN landdb.v_latest_run r ON f.run_id = ANY (r.chain) AND (f.until_run_id IS NULL OR f.until_run_id >= r.id)
LEFT JOIN landdb.flag_status s ON s.rule = f.rule AND s.subject = f.subject
LEFT JOIN landdb.rule_catalog() c ON c.rule = f.rule;
COMMENT ON VIEW landdb.v_flag IS '问题线索（最新分析，含处理状态） | flags of the latest run with their handling';
COMMENT ON COLUMN landdb.v_flag.rule_label IS '规则名称 | rule name';

-- One layer per rule, with a typed geometry (QGIS wants one geometry type per layer).
DO $$
DECLARE
  r record;
  srid integer := landdb.working_srid();
BEGIN
  FOR r IN SELECT * FROM landdb.rule_catalog() LOOP
    EXECUTE format($v$
      CREATE OR REPLACE VIEW landdb.%I AS
      SELECT f.id, f.run_id, f.as_of, f.rule, f.subject, f.severity, f.area_m2,
             landdb.m2_to_mu(f.area_m2) AS area_mu, f.message, f.details, f.township, f.handling,
             f.handling_note, f.batch_ids, f.supply_ids,
             CASE WHEN GeometryType(f.geom) IN ('POLYGON', 'MULTIPOLYGON')
                  THEN ST_Multi(f.geom) END::geometry(MultiPolygon, %s) AS geom
      FROM landdb.v_flag f WHERE f.rule = %L$v$, 'v_flag_' || r.rule, srid, r.rule);
    EXECUTE format('COMMENT ON COLUMN landdb.%I.area_mu IS %L', 'v_flag_' || r.rule, '面积（亩） | area (mu)');
    EXECUTE format('COMMENT ON VIEW landdb.%I IS %L', 'v_flag_' || r.rule,
                   '问题线索：' || r.label || '（最新分析） | flags ' || r.rule || ' of the latest run');
  END LOOP;
END $$;
