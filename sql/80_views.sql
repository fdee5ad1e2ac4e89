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
